#!/bin/sh
# Make the hostile CSRs and keys the integration tests feed to hallmark.
# usage: gen-hostile.sh OUTDIR
#
# Everything is built at test time with the openssl command; nothing here is
# committed.  Each CSR that should be refused is broken in exactly one way
# and is otherwise well-formed and correctly self-signed (unless the break
# is the signature or the encoding), so that a refusal can only be for that
# reason.  Files:
#
#   valid.csr valid.der          P-256, CN + SAN dns:valid.example (control)
#   badsig.der badsig.pem        valid.der with one signature byte flipped
#   trunc.der                    valid.der cut in half
#   trunc.pem                    valid PEM cut in half (no END line)
#   trunc-body.pem               PEM armour intact, half of the body gone
#   garbage.bin                  4 KiB from /dev/urandom
#   junk-1m.pem                  1 MiB of base64 junk between CSR armour
#   big-ok.csr                   a well-signed CSR just under 64 KiB
#   big-valid.csr                a well-signed CSR over 64 KiB
#   empty.csr                    0 bytes
#   wrong-label.pem              valid DER armoured as a CERTIFICATE
#   trailing.der                 valid.der followed by garbage bytes
#   rsa1024.csr                  RSA key of 1024 bits
#   secp256k1.csr                EC key on secp256k1
#   ed448.csr                    Ed448 key (algorithm not allowed)
#   requests.csr                 asks for critical CA:TRUE, EKU codeSigning
#                                and emailProtection, nameConstraints
#                                permitted;DNS:evil.test, SAN
#                                DNS:requested.example (policy must ignore)
#   san-space.csr                SAN DNS "has space.example"
#   san-label300.csr             SAN DNS with a 300-character label
#   san-label64.csr              SAN DNS with a 64-character label (short
#                                enough overall: only the label is wrong)
#   san-nul.csr                  SAN DNS "bad\0.example" (raw DER SAN)
#   san-ip5.csr                  SAN iPAddress of 5 bytes (raw DER SAN)
#   san-notsan.csr               subjectAltName extension whose value is
#                                not a GeneralNames (a DER NULL)
#   two-cn.csr                   subject CN=a, CN=b
#   rsa1024.key                  an RSA-1024 private key (PKCS#8 PEM)
#   p256.key                     the P-256 key behind most of the CSRs
set -eu

[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
OUT=$1
mkdir -p "$OUT"
cd "$OUT"

# Fail loudly rather than leave a fixture missing.
ossl() { openssl "$@" 2>.ossl.err || { cat .ossl.err >&2; exit 1; }; }

# A DER TLV: tlv TAG(hex) HEX -> hex, for short and long lengths.
tlv() {
	n=$((${#2} / 2))
	if [ "$n" -lt 128 ]; then
		printf '%s%02x%s' "$1" "$n" "$2"
	elif [ "$n" -lt 256 ]; then
		printf '%s81%02x%s' "$1" "$n" "$2"
	else
		printf '%s82%04x%s' "$1" "$n" "$2"
	fi
}
hexof() { od -An -v -tx1 | tr -d ' \n'; }
# Flip the low bit of the byte at OFFSET of FILE, in place.
flip() {
	b=$(od -An -j "$2" -N1 -tu1 "$1" | tr -d ' ')
	printf "$(printf '\\%03o' $((b ^ 1)))" |
	    dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}
pem() {	# pem LABEL < DER > PEM
	echo "-----BEGIN $1-----"
	base64 -w 64
	echo "-----END $1-----"
}
req() {	# req OUT KEY SUBJ [openssl req options]
	o=$1 k=$2 s=$3
	shift 3
	ossl req -new -key "$k" -subj "$s" -out "$o" "$@"
}

ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out p256.key
ossl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out rsa1024.key
ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:secp256k1 \
    -out secp256k1.key
ossl genpkey -algorithm ED448 -out ed448.key

# The control: hallmark must accept this one.
req valid.csr p256.key /CN=valid.example \
    -addext "subjectAltName=DNS:valid.example"
ossl req -in valid.csr -outform DER -out valid.der

# Signature: the last byte of the DER is the last byte of ECDSA's s.
cp valid.der badsig.der
flip badsig.der $(($(wc -c < valid.der) - 1))
pem "CERTIFICATE REQUEST" < badsig.der > badsig.pem
ossl req -in badsig.der -inform DER -noout	# still parses...
# ...but must not verify (openssl 3.0 req -verify exits 0 either way).
if openssl req -in badsig.der -inform DER -verify -noout 2>&1 |
    grep -q 'verify OK'; then
	echo "$0: badsig.der still verifies" >&2
	exit 1
fi

# Encodings.
head -c $(($(wc -c < valid.der) / 2)) valid.der > trunc.der
head -c $(($(wc -c < valid.csr) / 2)) valid.csr > trunc.pem
{ head -n 3 valid.csr; tail -n 1 valid.csr; } > trunc-body.pem
head -c 4096 /dev/urandom > garbage.bin
: > empty.csr
pem CERTIFICATE < valid.der > wrong-label.pem
{ cat valid.der; printf 'trailing junk'; } > trailing.der
# 1 MiB exactly: CSR armour around base64 of random bytes.
hdr="-----BEGIN CERTIFICATE REQUEST-----"
ftr="-----END CERTIFICATE REQUEST-----"
{
	echo "$hdr"
	head -c 800000 /dev/urandom | base64 -w 64 |
	    head -c $((1048576 - ${#hdr} - ${#ftr} - 3))
	echo
	echo "$ftr"
} > junk-1m.pem

# Correctly signed CSRs whose only fault is size: one name and a long
# nsComment, one just under the 64 KiB limit (accepted) and one over it.
bigcsr() {	# bigcsr OUT COMMENT-LENGTH
	{
		printf '[req]\ndistinguished_name = dn\nprompt = no\n'
		printf 'req_extensions = ext\n[dn]\nCN = big.example\n'
		printf '[ext]\nsubjectAltName = DNS:big.example\nnsComment = '
		head -c "$2" /dev/zero | tr '\0' x
		echo
	} > .big.cnf
	ossl req -new -key p256.key -config .big.cnf -out "$1"
	rm -f .big.cnf
}
bigcsr big-ok.csr 40000
bigcsr big-valid.csr 70000
if [ "$(wc -c < big-ok.csr)" -ge 65536 ] ||
    [ "$(wc -c < big-valid.csr)" -le 65536 ]; then
	echo "$0: the big CSRs are not on either side of 64 KiB" >&2
	exit 1
fi

# Keys hallmark's policy refuses.
req rsa1024.csr rsa1024.key /CN=rsa1024.example
req secp256k1.csr secp256k1.key /CN=k1.example
req ed448.csr ed448.key /CN=ed448.example

# Requests for extensions a profile must never copy.
req requests.csr p256.key /CN=requests.example \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "extendedKeyUsage=codeSigning,emailProtection" \
    -addext "nameConstraints=permitted;DNS:evil.test" \
    -addext "subjectAltName=DNS:requested.example"

# Names.
req san-space.csr p256.key /CN=space.example \
    -addext "subjectAltName=DNS:has space.example"
l300=$(head -c 300 /dev/zero | tr '\0' a)
req san-label300.csr p256.key /CN=label.example \
    -addext "subjectAltName=DNS:$l300.example"
l64=$(head -c 64 /dev/zero | tr '\0' b)
req san-label64.csr p256.key /CN=label64.example \
    -addext "subjectAltName=DNS:$l64.example"
# The SAN extension value is given as raw DER: openssl's text syntax can't
# carry a NUL, and the point is a well-signed CSR whose name holds one.
nul=$(tlv 30 "$(tlv 82 "$(printf 'bad\000.example' | hexof)")")
req san-nul.csr p256.key /CN=nul.example -addext "subjectAltName=DER:$nul"
ip5=$(tlv 30 "$(tlv 87 c000020701)")
req san-ip5.csr p256.key /CN=ip5.example -addext "subjectAltName=DER:$ip5"
req san-notsan.csr p256.key /CN=notsan.example \
    -addext "subjectAltName=DER:0500"
req two-cn.csr p256.key "/CN=a.example/CN=b.example"

# Every CSR meant to be broken in some other way is correctly self-signed,
# so that a refusal can't be for its signature.
for f in valid.csr big-ok.csr big-valid.csr rsa1024.csr secp256k1.csr \
    ed448.csr requests.csr san-space.csr san-label300.csr san-label64.csr \
    san-nul.csr san-ip5.csr san-notsan.csr two-cn.csr; do
	if ! openssl req -in "$f" -verify -noout 2>&1 | grep -q 'verify OK'
	then
		echo "$0: $f does not verify" >&2
		exit 1
	fi
done

rm -f .ossl.err secp256k1.key ed448.key
