# hallmark lint: what hallmark issues passes; certificates made by hand
# that break the issuance rules are reported, rule by rule, with exit 1.
. "$HM_TESTS/lib.sh"

hm -d ca init --cn "Lint Root" >/dev/null
hm -d ca ca new --name mid --cn "Lint Mid" --validity 1y >/dev/null
hm -d ca issue --profile server --ca mid --new-key s.key \
    --san dns:s.example -o s.pem --chain-out s.chain >/dev/null
hm -d ca issue --profile client --ca mid --new-key c.key --key-type rsa2048 \
    --cn robot -o c.pem >/dev/null
verify_chain ca/ca/root/cert.pem s.chain sslserver

# lint_to OUT ARGS...: hallmark lint into OUT, its exit status in $r.
lint_to() {
	out=$1
	shift
	set +e
	hm -d ca lint "$@" > "$out"
	r=$?
	set -e
}

hm -d ca lint --all > all.txt
check grep -q '^4 certificates checked, 0 findings$' all.txt
hm -d ca lint s.pem c.pem > ok.txt
check test ! -s ok.txt

# Not ours, self-signed, weak key, no keyUsage.
openssl req -x509 -newkey rsa:1024 -nodes -keyout w.key -subj /CN=w \
    -days 1 -out w.pem 2>/dev/null
lint_to w.txt w.pem
check test "$r" -eq 1
check grep -q '^w.pem: key: RSA key of 1024 bits' w.txt
check grep -q '^w.pem: key-usage: keyUsage is missing' w.txt
check grep -q '^w.pem: issuer: not issued' w.txt

# Signed by mid's key, by hand: no basicConstraints or keyUsage, a server
# without a SAN, longer-lived than mid, a short serial.
openssl pkey -in ca/ca/mid/key.pem -out mid.key
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout e.key -subj /CN=e -out e.csr 2>/dev/null
printf 'extendedKeyUsage=serverAuth\n' > e.ext
openssl x509 -req -in e.csr -CA ca/ca/mid/cert.pem -CAkey mid.key \
    -set_serial 7 -days 3650 -extfile e.ext -out e.pem 2>/dev/null
lint_to e.txt e.pem
check test "$r" -eq 1
check grep -q '^e.pem: basic-constraints: basicConstraints is missing' e.txt
check grep -q '^e.pem: san-required: ' e.txt
check grep -q '^e.pem: validity: valid outside its issuer' e.txt
check grep -q '^e.pem: serial: ' e.txt
check test "$(grep -c issuer: e.txt)" -eq 0

# A usage error and an unreadable file.
refuse 'usage' hm -d ca lint
refuse 'usage' hm -d ca lint --all s.pem
echo junk > junk.pem
lint_to j.txt junk.pem
check test "$r" -eq 1
check grep -q '^junk.pem: unreadable: not a certificate' j.txt

done_ok
