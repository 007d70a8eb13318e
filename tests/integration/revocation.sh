# Revocation: hallmark revoke marks a certificate revoked (once), hallmark
# crl writes CRLs that openssl and GnuTLS accept, with growing numbers,
# and verifiers that check CRLs refuse what was revoked, down to every
# chain through a revoked intermediate.
. "$HM_TESTS/lib.sh"

hm -d ca init --cn "Rev Root" >/dev/null
hm -d ca ca new --name mid --cn "Rev Mid" >/dev/null
hm -d ca ca new --name other --cn "Rev Other" >/dev/null
for n in a b; do
	hm -d ca issue --profile client --ca mid --new-key $n.key --cn $n \
	    -o $n.pem --chain-out $n.chain >/dev/null
done
hm -d ca issue --profile server --ca other --new-key c.key \
    --san dns:c.example -o c.pem --chain-out c.chain >/dev/null
ROOT=ca/ca/root/cert.pem
serial() { openssl x509 -in "$1" -noout -serial | cut -d= -f2; }

# Revoke a, twice: the second time changes nothing.
hm -d ca revoke "$(serial a.pem)" --reason keyCompromise > r1.txt
check grep -q '^revoked .* (keyCompromise)' r1.txt
hm -d ca revoke "$(serial a.pem)" --reason superseded > r2.txt
check grep -q 'already revoked; nothing changed' r2.txt
hm -d ca show "$(serial a.pem)" --json > a.json
check grep -q '"status": "revoked"' a.json
check grep -q '"reason": "keyCompromise"' a.json
refuse 'no certificate with serial' hm -d ca revoke 0123abcd
refuse 'unknown reason' hm -d ca revoke "$(serial b.pem)" --reason nope
refuse 'usage' hm -d ca revoke

# CRLs: verified by openssl and certtool, numbers 1, 2, ...
hm -d ca crl --ca mid -o mid1.crl
hm -d ca crl --ca mid -o mid2.crl --der
openssl crl -in mid2.crl -inform DER -out mid2.pem
for f in mid1.crl mid2.pem; do
	check openssl crl -in $f -CAfile ca/ca/mid/cert.pem -noout -verify
	certtool --verify-crl --load-ca-certificate ca/ca/mid/cert.pem \
	    --infile $f > ct.txt 2>&1 || die "certtool --verify-crl $f"
	pass
done
check test "$(openssl crl -in mid1.crl -noout -crlnumber)" = crlNumber=0x01
check test "$(openssl crl -in mid2.pem -noout -crlnumber)" = crlNumber=0x02
openssl crl -in mid2.pem -noout -text > mid2.txt
check grep -q 'Version 2' mid2.txt
check grep -q 'Key Compromise' mid2.txt
check grep -q 'Authority Key Identifier' mid2.txt
check grep -q "$(serial a.pem)" mid2.txt
if grep -q "$(serial b.pem)" mid2.txt; then die "b is on the CRL"; fi
pass
refuse 'exists' hm -d ca crl --ca mid -o mid1.crl
hm -d ca crl --ca mid -o mid1.crl --force
check test "$(openssl crl -in mid1.crl -noout -crlnumber)" = crlNumber=0x03

# A verifier with the CRLs refuses a, accepts b.
hm -d ca crl -o root.crl
cat mid1.crl root.crl > crls.pem
if openssl verify -x509_strict -crl_check_all -CRLfile crls.pem \
    -CAfile $ROOT -untrusted a.chain a.pem > va.txt 2>&1; then
	die "a revoked certificate verifies"
fi
check grep -q 'certificate revoked' va.txt
check openssl verify -x509_strict -crl_check_all -CRLfile crls.pem \
    -CAfile $ROOT -untrusted b.chain b.pem

# Revoke the intermediate mid: its parent's CRL lists it, and b, which
# was fine, fails through it; c, under another intermediate, does not.
hm -d ca revoke "$(serial ca/ca/mid/cert.pem)" --reason cACompromise \
    >/dev/null
hm -d ca crl -o root.crl --force
hm -d ca crl --ca other -o other.crl
cat mid1.crl other.crl root.crl > crls.pem
if openssl verify -x509_strict -crl_check_all -CRLfile crls.pem \
    -CAfile $ROOT -untrusted b.chain b.pem > vb.txt 2>&1; then
	die "a chain through a revoked intermediate verifies"
fi
check grep -q 'certificate revoked' vb.txt
check openssl verify -x509_strict -crl_check_all -CRLfile crls.pem \
    -CAfile $ROOT -untrusted c.chain c.pem
openssl crl -in root.crl -noout -text > root.txt
check grep -q 'CA Compromise' root.txt

# Base URLs: what a CA issues after `ca url` says where its CRL and OCSP
# are; before, and after --none, nothing.
refuse 'not http' hm -d ca ca url --ca other ftp://x.example
refuse 'trailing' hm -d ca ca url --ca other http://x.example/
refuse 'no spaces' hm -d ca ca url --ca other 'http://x.example/a b'
refuse 'no CA named' hm -d ca ca url --ca nosuch http://x.example
refuse 'usage' hm -d ca ca url --ca other
hm -d ca ca url --ca other http://127.0.0.1:8080 > url.txt
check grep -q "publishes at http://127.0.0.1:8080/crl/other" url.txt
hm -d ca ca list --json > cas.json
check grep -q '"base_url": "http://127.0.0.1:8080"' cas.json
hm -d ca issue --profile server --ca other --new-key d.key \
    --san dns:d.example -o d.pem --chain-out d.chain >/dev/null
openssl x509 -in d.pem -noout -ext crlDistributionPoints,authorityInfoAccess \
    > d.txt
check grep -q 'URI:http://127.0.0.1:8080/crl/other' d.txt
check grep -q 'OCSP - URI:http://127.0.0.1:8080/ocsp' d.txt
verify_chain "$ROOT" d.chain sslserver
check test "$(openssl x509 -in d.pem -noout -ocsp_uri)" = \
    http://127.0.0.1:8080/ocsp
if openssl x509 -in c.pem -noout -text | grep -q 'CRL Distribution'; then
	die "issued before the URL, c carries one"
fi
pass
hm -d ca ca url --ca other --none >/dev/null
hm -d ca issue --profile server --ca other --new-key e.key \
    --san dns:e.example -o e.pem >/dev/null
if openssl x509 -in e.pem -noout -text | grep -q 'CRL Distribution'; then
	die "issued after --none, e carries a CRL URL"
fi
pass

done_ok
