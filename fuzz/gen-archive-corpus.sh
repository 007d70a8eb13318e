#!/bin/sh
# Regenerate fuzz/corpus/archive: the seeds of fuzz/archive.c, made by
# the CLI of a built tree: a signers export and a backup of a small CA,
# each as its CMS envelope and as the Archive inside (openssl cms
# -decrypt), and broken ones.  Keys are throwaway, made here.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build/debug}
hm=$build/hallmark
out=$top/fuzz/corpus/archive
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rm -rf "$out"
mkdir -p "$out"
cd "$tmp"
"$hm" -d ca init --cn "Fuzz Root" >/dev/null
"$hm" -d ca ca new --name mid --cn "Fuzz Mid" >/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout r.key -out r.pem -subj /CN=recipient -days 30 2>/dev/null
"$hm" -d ca export --recipient r.pem -o signers.cms >/dev/null
"$hm" -d ca backup --recipient r.pem -o backup.cms >/dev/null
for a in signers backup; do
	cp "$a.cms" "$out/$a.cms"
	openssl cms -decrypt -inform DER -in "$a.cms" -recip r.pem \
	    -inkey r.key -out "$out/$a.der"
done
# The same, cut short and with one byte flipped in the middle.
for f in signers.cms signers.der; do
	n=$(wc -c < "$out/$f")
	head -c $((n / 2)) "$out/$f" > "$out/$f.short"
	python3 - "$out/$f" "$out/$f.flipped" <<'PYEOF'
import sys
b = bytearray(open(sys.argv[1], 'rb').read())
b[len(b) // 2] ^= 0x01
open(sys.argv[2], 'wb').write(b)
PYEOF
done
ls -l "$out"
