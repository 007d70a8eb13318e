#!/bin/sh
# Regenerate fuzz/corpus/enroll: the seeds of fuzz/enroll.c, written by
# test_corpus of tests/unit/test_enroll.c (valid and broken requests and
# replies under the vectors' PSK, and plaintexts).  Needs a built tree.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build/debug}
out=$top/fuzz/corpus/enroll
rm -rf "$out"
mkdir -p "$out"
HM_ENROLL_CORPUS=$out "$build/tests/test_enroll" >/dev/null
ls "$out"
