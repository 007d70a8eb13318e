# The whole story of an offline root: it is made with init --offline and
# a schedule of quarterly signers from a small file; they are exported to
# an online server's recipient certificate and imported there with the
# root's certificate only (no root key in the online directory); hallmark
# serve runs there without asking for or unlocking the root; a machine
# enrolls with a token against the signer valid now, its chain verifies
# to the root alone, OCSP says good; the root's CRL is refused clearly,
# OCSP about what the root issued is unauthorized, and no token is made
# for the root.
. "$HM_TESTS/lib.sh"

for t in openssl curl certtool; do
	command -v "$t" >/dev/null || die "$t is not installed"
done

export ROOTPASS=offline-root-pass-1 NEWPASS=online-pass-1

# 1. The offline side: root and signers, every key under ROOTPASS.
cat >sched.yaml <<'YAML'
root:
  subject: { CN: Offline Story Root }
  offline: true
  passphrase_env: ROOTPASS
schedule:
  quantum: 4
  lead: 1y
  validity: 1y
  overlap: 90d
YAML
hm -d off init --config sched.yaml >/dev/null
hm -d off schedule --config sched.yaml >sched.out
check grep -q '^done: [0-9]* signers created' sched.out

# 2. The online server's recipient key and certificate; the export.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout srv.key -out srv.pem -subj /CN=online-server -days 2 \
    2>/dev/null
hm -d off export --recipient srv.pem -o signers.cms \
    --passphrase-env ROOTPASS >/dev/null
cp off/ca/root/cert.pem root.pem

# 3. The online side (named ca, for serve_start): every signer, the
# root's certificate, and no root key.
hm -d ca import signers.cms --key srv.key --root root.pem \
    --passphrase-env NEWPASS >import.out
check grep -q 'no root key' import.out
check test -f ca/ca/root/cert.pem
check test ! -e ca/ca/root/key.pem
for d in off/ca/signer-*; do
	n=${d##*/}
	check grep -q "imported CA '$n'" import.out
	check cmp -s "$d/cert.pem" "ca/ca/$n/cert.pem"
	check grep -q 'BEGIN ENCRYPTED PRIVATE KEY' "ca/ca/$n/key.pem"
done
# The signer valid now (the schedule starts one now), and a later one.
SIG= LATER=
for d in ca/ca/signer-*; do
	if openssl verify -x509_strict -CAfile root.pem "$d/cert.pem" \
	    >/dev/null 2>&1; then
		[ -n "$SIG" ] || SIG=${d##*/}
	else
		LATER=${d##*/}
	fi
done
[ -n "$SIG" ] || die "no signer valid now in: $(ls ca/ca)"
[ -n "$LATER" ] || die "no signer that starts later in: $(ls ca/ca)"
# No token for the root, whose key is not here.
refuse "CA 'root' has no key in ca" hm -d ca token new --name r1 \
    --profile server --san dns:r1.example

# 4. serve on the online CA, stdin not a terminal, the signers'
# passphrase only: it starts, and says which CAs are online.
SPID=
trap '[ -z "$SPID" ] || kill "$SPID" 2>/dev/null || true; rm -rf "$T"' EXIT
serve_start s --listen 127.0.0.1:0 --ca-passphrase-env NEWPASS </dev/null
URL=$(cat s.url)
check grep -q "^CA 'root': offline" s.err
check grep -q "^CA '$SIG': online" s.err
check grep -q "^CA '$LATER': online" s.err
# Nothing asked or tried for the root's key.
check sh -c '! grep -qi "passphrase\|hallmark:\|no key in" s.err'

# 5. A machine enrolls against the signer valid now; its chain verifies
# to the offline root's certificate alone.
tok=$(hm -d ca token new --name n1 --profile server --ca "$SIG" \
    --san dns:n1.example 2>/dev/null)
hm enroll --server "$URL" --token "$tok" --out-dir n1 >/dev/null
check openssl verify -x509_strict -purpose sslserver -CAfile root.pem \
    -untrusted n1/chain.pem n1/cert.pem
verify_chain root.pem n1/chain.pem sslserver
check cmp -s n1/ca.pem root.pem
check test "$(openssl x509 -in n1/cert.pem -noout -issuer)" = \
    "issuer=CN = $SIG"

# 6. OCSP: good for the enrolled certificate, signed by its signer;
# unauthorized for the signer itself, which the offline root issued.
openssl ocsp -issuer "ca/ca/$SIG/cert.pem" -cert n1/cert.pem \
    -url "$URL/ocsp" -CAfile root.pem -timeout 5 >ocsp.txt 2>&1
check grep -q 'Response verify OK' ocsp.txt
check grep -q '^n1/cert.pem: good$' ocsp.txt
openssl ocsp -issuer root.pem -cert "ca/ca/$SIG/cert.pem" \
    -url "$URL/ocsp" -CAfile root.pem -timeout 5 >ocsp2.txt 2>&1 || true
check grep -q 'Responder Error: unauthorized' ocsp2.txt

# 7. CRLs: the signer's is served and verifies; the root's is refused
# in one clear line.
code() { curl -s -o "$1" -w '%{http_code}' --max-time 5 "$URL/crl/$2"; }
check test "$(code sig.crl "$SIG")" = 200
openssl crl -inform DER -in sig.crl -noout -verify \
    -CAfile "ca/ca/$SIG/cert.pem" >crl.txt 2>&1 || true
check grep -q 'verify OK' crl.txt
check test "$(code root.body root)" = 404
check test "$(cat root.body)" = \
    "CA 'root' is offline: its CRL is made where its key is"
check test "$(code none.body nope)" = 404
check test "$(cat none.body)" = "no such CA"
check grep -q 'GET "/crl/root" 404' s.err

kill "$SPID"
wait "$SPID" || die "serve did not stop cleanly: $(cat s.err)"
SPID=
done_ok
