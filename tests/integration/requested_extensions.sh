# Policy, not requests: a CSR asking for CA:TRUE, code-signing and e-mail
# key usages, name constraints and its own SAN gets exactly what the
# profile gives, checked in the issued certificate with openssl.
. "$HM_TESTS/lib.sh"
unset HALLMARK_DIR

sh "$HM_TESTS/data/gen-hostile.sh" "$T/h" >/dev/null ||
    die "gen-hostile.sh failed"
CSR=$T/h/requests.csr
hm -d ca init --cn "Policy Root" >/dev/null
hm -d ca ca new --name mid --cn "Policy Mid" >/dev/null
ROOT=ca/ca/root/cert.pem

# The fixture really asks for all of it (else this test proves nothing).
openssl req -in "$CSR" -noout -text > req.txt
for want in "CA:TRUE" "Code Signing" "E-mail Protection" \
    "Name Constraints" "DNS:evil.test" "DNS:requested.example"; do
	grep -qF "$want" req.txt || die "requests.csr does not ask for $want"
done

# ext CERT NAME: the lines of one extension, header included.
ext() { openssl x509 -in "$1" -noout -ext "$2" 2>/dev/null; }

# exts_only CERT: the extensions present are exactly the profile's.
exts_only() {
	got=$(openssl x509 -in "$1" -noout -text |
	    sed -n 's/^ *X509v3 \([^:]*\):.*/\1/p' | grep -v '^extensions$' |
	    sort | tr '\n' ',')
	want="Authority Key Identifier,Basic Constraints,Extended Key Usage,"
	want="${want}Key Usage,Subject Alternative Name,Subject Key Identifier,"
	[ "$got" = "$want" ] || die "$1 has extensions {$got}, want {$want}"
}

# leaf_ok CERT SAN EKU: a leaf of the profile, whatever the CSR asked.
leaf_ok() {
	cert=$1 san=$2 eku=$3
	openssl x509 -in "$cert" -noout -text > "$cert.txt"
	ext "$cert" basicConstraints | grep -q "critical" ||
	    die "$cert: basicConstraints not critical"
	[ "$(ext "$cert" basicConstraints | sed 1d | tr -d ' ')" = \
	    "CA:FALSE" ] || die "$cert: basicConstraints is not CA:FALSE:" \
	    "$(ext "$cert" basicConstraints)"
	[ "$(ext "$cert" extendedKeyUsage | sed 1d | sed 's/^ *//')" = \
	    "$eku" ] || die "$cert: EKU is not only '$eku':" \
	    "$(ext "$cert" extendedKeyUsage)"
	[ "$(ext "$cert" subjectAltName | sed 1d | sed 's/^ *//')" = \
	    "DNS:$san" ] || die "$cert: SAN is not only DNS:$san:" \
	    "$(ext "$cert" subjectAltName)"
	ku=$(ext "$cert" keyUsage | sed 1d)
	case $ku in
	*"Certificate Sign"*|*"CRL Sign"*) die "$cert: CA key usage: $ku" ;;
	esac
	[ -z "$(ext "$cert" nameConstraints | grep -v 'No extensions')" ] ||
	    die "$cert has name constraints"
	for bad in "Name Constraints" "evil.test" "CA:TRUE" "Code Signing" \
	    "E-mail Protection"; do
		! grep -qF "$bad" "$cert.txt" || die "$cert holds '$bad'"
	done
	exts_only "$cert"
	# The certificate is for the CSR's key, not some other.
	[ "$(openssl x509 -in "$cert" -noout -pubkey)" = \
	    "$(openssl req -in "$CSR" -noout -pubkey)" ] ||
	    die "$cert is not for the CSR's public key"
}

# Not a CA: a certificate its key signs must not verify.  The leaf's key
# is the fixtures' p256.key, so we can sign with it as a rogue CA would.
not_a_ca() {	# not_a_ca CERT CHAIN
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout sub.key -subj /CN=sub.example -out sub.csr 2>/dev/null
	openssl x509 -req -in sub.csr -CA "$1" -CAkey "$T/h/p256.key" \
	    -set_serial 7 -days 1 -out forged.pem 2>/dev/null ||
	    die "could not sign a certificate with the key of $1"
	if openssl verify -x509_strict -CAfile "$ROOT" -untrusted "$2" \
	    forged.pem >/dev/null 2>&1; then
		die "a certificate signed by $1 verifies: it acts as a CA"
	fi
	# ...and only for that reason: the same chain check passes for $1.
	openssl verify -x509_strict -CAfile "$ROOT" -untrusted "$2" "$1" \
	    >/dev/null 2>&1 || die "$1 itself does not verify"
}

# 1. With --san: only the granted name, only the profile's extensions.
granted() {
	hm -d ca issue --profile server --csr "$CSR" \
	    --san dns:granted.example -o granted.pem \
	    --chain-out granted.chain >/dev/null
	leaf_ok granted.pem granted.example "TLS Web Server Authentication"
	! grep -q "requested.example" granted.pem.txt ||
	    die "granted.pem holds requested.example"
	openssl x509 -in granted.pem -noout -subject |
	    grep -q "CN *= *requests.example" || die "granted.pem: CN wrong:" \
	    "$(openssl x509 -in granted.pem -noout -subject)"
	verify_chain "$ROOT" granted.chain sslserver
	if openssl verify -x509_strict -purpose smimesign -CAfile "$ROOT" \
	    -untrusted granted.chain granted.pem >/dev/null 2>&1; then
		die "granted.pem verifies for S/MIME signing"
	fi
	not_a_ca granted.pem granted.chain
}
check granted

# 2. Without --san: the CSR's own SAN is taken, nothing else of it.
own_san() {
	hm -d ca issue --profile server --csr "$CSR" -o own.pem \
	    --chain-out own.chain >/dev/null
	leaf_ok own.pem requested.example "TLS Web Server Authentication"
	verify_chain "$ROOT" own.chain sslserver
}
check own_san

# 3. Other profiles and an intermediate: the same, with their own EKUs.
other_profiles() {
	hm -d ca issue --profile client --ca mid --csr "$CSR" \
	    --san dns:client.example -o client.pem \
	    --chain-out client.chain >/dev/null
	leaf_ok client.pem client.example "TLS Web Client Authentication"
	verify_chain "$ROOT" client.chain sslclient
	hm -d ca issue --profile both --ca mid --csr "$CSR" -o both.pem \
	    --chain-out both.chain >/dev/null
	leaf_ok both.pem requested.example \
	    "TLS Web Server Authentication, TLS Web Client Authentication"
	verify_chain "$ROOT" both.chain sslserver
	verify_chain "$ROOT" both.chain sslclient
}
check other_profiles

# 4. The inventory records what was issued, not what was asked.
recorded() {
	s=$(openssl x509 -in granted.pem -noout -serial | sed 's/.*=//' |
	    tr 'A-F' 'a-f')
	hm -d ca show "$s" --json | python3 -c '
import json, sys
r = json.load(sys.stdin)
assert "requested" not in r["sans"] and "granted.example" in r["sans"], r
assert r["profile"] == "server", r
' || die "the record of $s is not what was issued"
}
check recorded

done_ok
