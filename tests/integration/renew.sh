# Renewal over mutual TLS: an enrolled machine renews through serve's
# TLS listener (new key, or the same with --reuse-key); the old
# certificate is superseded; revoked, expired, superseded and foreign
# certificates, and clients without one, can't renew.
. "$HM_TESTS/lib.sh"

hm -d ca init --cn "Renew Root" >/dev/null
hm -d ca ca new --name mid --cn "Renew Mid" >/dev/null
hm -d ca issue --profile server --ca mid --new-key srv.key \
    --san dns:localhost --san ip:127.0.0.1 -o srv.pem \
    --chain-out srv.chain >/dev/null
serve_start s1 --listen 127.0.0.1:0 --tls-listen 127.0.0.1:0 \
    --tls-cert srv.chain --tls-key srv.key
trap 'kill "$SPID" 2>/dev/null || true; rm -rf "$T"' EXIT
URL=$(cat s1.url)
TURL=$(sed -n 's|^listening on \(https://.*\)$|\1|p' s1.out)
serial() { openssl x509 -in "$1" -noout -serial | cut -d= -f2 |
    tr 'A-F' 'a-f'; }
status() { hm -d ca show "$1" --json | sed -n 's/.*"status": "\([a-z]*\)".*/\1/p'; }
enroll() {
	tok=$(hm -d ca token new --name "$1" --profile "$2" --ca mid \
	    --san "dns:$1.example" 2>/dev/null)
	hm enroll --server "$URL" --token "$tok" --out-dir "$1" >/dev/null
}

# A new key: same names, profile, CA; the old one superseded.
enroll web both
s0=$(serial web/cert.pem)
k0=$(openssl pkey -in web/key.pem -pubout)
hm renew --server "$TURL" --cert web/cert.pem --key web/key.pem >r.txt
check grep -q '^renewed: web/key.pem, web/cert.pem, web/chain.pem$' r.txt
s1=$(serial web/cert.pem)
check test "$s1" != "$s0"
check test "$(openssl pkey -in web/key.pem -pubout)" != "$k0"
check test "$(openssl pkey -in web/key.pem -pubout)" = \
    "$(openssl x509 -in web/cert.pem -noout -pubkey)"
verify_chain web/ca.pem web/chain.pem sslserver
check test "$(openssl x509 -in web/cert.pem -noout -subject)" = \
    "subject=CN = web"
check test "$(openssl x509 -in web/cert.pem -noout -ext subjectAltName |
    tail -1 | tr -d ' ')" = DNS:web.example
check test "$(status "$s0")" = superseded
check test "$(status "$s1")" = valid
check test "$(stat -c %a web/key.pem)" = 600
# The superseded certificate is not revoked: not on the CRL.
hm -d ca crl --ca mid -o mid.crl
if openssl crl -in mid.crl -noout -text | grep -qi "$s0"; then
	die "a superseded certificate is on the CRL"
fi
pass
# A superseded certificate (kept aside) can't renew again.
cp web/cert.pem web1.pem
cp web/key.pem web1.key
cp web/chain.pem web1.chain
hm renew --server "$TURL" --cert web/cert.pem --key web/key.pem \
    --reuse-key >/dev/null
check test "$(openssl pkey -in web/key.pem -pubout)" = \
    "$(openssl pkey -in web1.key -pubout)"
refuse 'superseded' hm renew --server "$TURL" --cert web1.pem \
    --key web1.key --chain web1.chain --cacert web/ca.pem

# Revoked: refused, the files untouched.
enroll bad client
hm -d ca revoke "$(serial bad/cert.pem)" >/dev/null
cp bad/cert.pem bad.before
refuse 'revoked' hm renew --server "$TURL" --cert bad/cert.pem \
    --key bad/key.pem
check cmp -s bad/cert.pem bad.before
# Expired: the handshake itself refuses it.
hm -d ca issue --profile client --ca mid --new-key old.key --cn old \
    --validity 1s -o old.pem --chain-out old.chain >/dev/null
sleep 2
refuse 'does not take old.chain' hm renew --server "$TURL" --cert old.pem \
    --key old.key --chain old.chain --cacert web/ca.pem
# Another CA's certificate: the handshake refuses it too.
hm -d other init --cn "Renew Root" >/dev/null
hm -d other issue --profile client --new-key eve.key --cn web \
    -o eve.pem >/dev/null
refuse 'does not take eve.pem' hm renew --server "$TURL" --cert eve.pem \
    --key eve.key --cacert web/ca.pem
# No client certificate at all; plain HTTP; the CRL still served over TLS.
check test "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
    --cacert web/ca.pem -H 'Content-Type: application/pkcs10' \
    --data-binary x "$TURL/renew")" = 403
check test "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
    -H 'Content-Type: application/pkcs10' --data-binary x \
    "$URL/renew")" = 403
check test "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
    --cacert web/ca.pem "$TURL/crl/mid")" = 200
refuse 'https://' hm renew --server "$URL" --cert web/cert.pem \
    --key web/key.pem
check grep -q 'POST "/renew" 200 .* renewed for 127\.0\.0\.1' s1.err
done_ok
