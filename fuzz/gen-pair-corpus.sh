#!/bin/sh
# Regenerate fuzz/corpus/pair: the seeds of fuzz/pair.c, written by
# test_corpus of tests/unit/test_pair.c (the messages of the vectors of
# docs/PROTOCOL.md section 2.5, and broken ones).  Needs a built tree.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build/debug}
out=$top/fuzz/corpus/pair
rm -rf "$out"
mkdir -p "$out"
HM_PAIR_CORPUS=$out "$build/tests/test_pair" >/dev/null
ls "$out"
