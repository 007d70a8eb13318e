#!/bin/sh
# Build the libFuzzer harnesses with clang (ASan + UBSan) and run each for
# FUZZ_SECONDS (default 60), seeded with CSRs made by openssl and the
# committed corpora of hierarchy files, enrollment and pairing messages
# and archives.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
out=${FUZZ_DIR:-$top/build/fuzz}
secs=${FUZZ_SECONDS:-60}
command -v clang >/dev/null || { echo "fuzz: needs clang" >&2; exit 1; }
cmake -S "$top" -B "$out" -G Ninja -DCMAKE_C_COMPILER=clang \
    -DCMAKE_BUILD_TYPE=Debug -DHM_FUZZ=ON >/dev/null
cmake --build "$out" --target fuzz_csr fuzz_names fuzz_config fuzz_enroll \
    fuzz_pair fuzz_archive
mkdir -p "$out/corpus/csr" "$out/corpus/names" "$out/corpus/config" \
    "$out/corpus/enroll" "$out/corpus/pair" "$out/corpus/archive"
for t in "ec -pkeyopt ec_paramgen_curve:P-256" "ed25519" "rsa -pkeyopt rsa_keygen_bits:2048"; do
	k="$out/seed.key"
	# shellcheck disable=SC2086
	openssl genpkey -algorithm $t -out "$k" 2>/dev/null
	n=$(echo "$t" | cut -d' ' -f1)
	openssl req -new -key "$k" -subj "/CN=seed-$n" \
	    -addext "subjectAltName=DNS:a.example,IP:10.0.0.1" \
	    -addext "basicConstraints=critical,CA:TRUE" \
	    -out "$out/corpus/csr/$n.pem"
	openssl req -in "$out/corpus/csr/$n.pem" -outform DER \
	    -out "$out/corpus/csr/$n.der"
done
printf 'dns:a.example.com' > "$out/corpus/names/1"
printf 'ip:2001:db8::1' > "$out/corpus/names/2"
printf 'uri:spiffe://x/y' > "$out/corpus/names/3"
printf '90d' > "$out/corpus/names/4"
"$out/fuzz_csr" -max_total_time="$secs" -max_len=70000 "$out/corpus/csr"
"$out/fuzz_names" -max_total_time="$secs" "$out/corpus/names"
# The hierarchy loader, seeded with the committed corpus (read only: new
# inputs go to the build directory).
"$out/fuzz_config" -max_total_time="$secs" -max_len=65536 \
    "$out/corpus/config" "$top/fuzz/corpus/config"
# Enrollment requests, replies and their plaintexts, seeded the same way.
"$out/fuzz_enroll" -max_total_time="$secs" -max_len=17408 \
    "$out/corpus/enroll" "$top/fuzz/corpus/enroll"
# Pairing messages: whatever decodes must encode back to the same bytes.
"$out/fuzz_pair" -max_total_time="$secs" -max_len=5120 \
    "$out/corpus/pair" "$top/fuzz/corpus/pair"
# Archives (export, backup): the inner Archive of each kind and the CMS
# envelope around it, seeded with archives made by the CLI.
"$out/fuzz_archive" -max_total_time="$secs" -max_len=65536 \
    "$out/corpus/archive" "$top/fuzz/corpus/archive"
