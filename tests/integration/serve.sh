# hallmark serve: CRLs and OCSP over HTTP that curl and openssl accept,
# fresh after a revocation, and a server that outlives garbage, huge
# bodies and idle connections, stays small, and stops cleanly on SIGTERM.
. "$HM_TESTS/lib.sh"

hm -d ca init --cn "Serve Root" >/dev/null
hm -d ca ca new --name mid --cn "Serve Mid" >/dev/null
hm -d ca issue --profile server --ca mid --new-key leaf.key \
    --san dns:leaf.example -o leaf.pem --chain-out leaf.chain >/dev/null
ROOT=ca/ca/root/cert.pem
MID=ca/ca/mid/cert.pem
serial() { openssl x509 -in "$1" -noout -serial | cut -d= -f2; }

# Start the server on a free port; always stop it.
SPID=
stop() { [ -z "$SPID" ] || kill "$SPID" 2>/dev/null || true; }
# HM_KEEP=1: the server logs are left in /tmp.
keep() { [ -z "${HM_KEEP:-}" ] || cp serve.err s2.err /tmp/ 2>/dev/null; }
trap 'stop; keep; rm -rf "$T"' EXIT
serve_start serve --listen 127.0.0.1:0
PORT=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' serve.out)
[ -n "$PORT" ] && [ "$PORT" -gt 0 ] || die "bad port in: $(cat serve.out)"
URL=http://127.0.0.1:$PORT
pass

code() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@"; }

# CRLs: verified by openssl, fresh after a revocation.
crl_ok() {
	[ "$(curl -s -o "$1" -w '%{http_code} %{content_type}' --max-time 5 \
	    "$URL/crl/$2")" = "200 application/pkix-crl" ]
	openssl crl -inform DER -in "$1" -noout -verify -CAfile "$3" 2>&1 |
	    grep -q 'verify OK'
}
check crl_ok root.crl root $ROOT
check crl_ok mid1.crl mid $MID
check test "$(code "$URL/crl/nope")" = 404
check test "$(code "$URL/crl/../root")" = 404
check test "$(code -X POST "$URL/crl/root")" = 405
check test "$(code "$URL/")" = 404
check test "$(code "$URL/ocsp")" = 405

# OCSP by POST: good, then revoked, and unknown for a serial never issued.
ocsp() {
	openssl ocsp -issuer $MID -url "$URL/ocsp" -CAfile $ROOT \
	    -timeout 5 -resp_text "$@" 2>&1
}
check_ocsp() {
	want=$1; shift
	ocsp "$@" >ocsp.txt
	grep -q 'Response verify OK' ocsp.txt
	grep -q "^[^:]*: $want\$" ocsp.txt
}
check check_ocsp good -cert leaf.pem
check check_ocsp unknown -serial 0x1234

# OCSP by GET: the request base64'd and URL-encoded.
openssl ocsp -issuer $MID -cert leaf.pem -no_nonce -reqout req.der
B64=$(base64 -w0 req.der | sed 's|+|%2B|g; s|/|%2F|g; s|=|%3D|g')
ocsp_get() {
	[ "$(curl -s -o get.der -w '%{http_code} %{content_type}' \
	    --max-time 5 "$URL/ocsp/$B64")" = \
	    "200 application/ocsp-response" ]
	openssl ocsp -respin get.der -issuer $MID -CAfile $ROOT \
	    -resp_text 2>&1 | grep -q "Cert Status: $1"
}
check ocsp_get good
check test "$(code "$URL/ocsp/@@@@")" = 400
check test "$(code -H 'Content-Type: text/plain' --data-binary @req.der \
    "$URL/ocsp")" = 415

# Revoke: the next CRL lists the serial, OCSP says revoked.
hm -d ca revoke "$(serial leaf.pem)" --reason keyCompromise >/dev/null
lists() {
	crl_ok mid2.crl mid $MID
	openssl crl -inform DER -in mid2.crl -noout -text |
	    grep -q "Serial Number: $(serial leaf.pem)"
}
check lists
check check_ocsp revoked -cert leaf.pem
check ocsp_get revoked
alive() { check_ocsp revoked -cert leaf.pem; }

# Garbage over TCP, a malformed OCSP body, then still answering.
garbage() {
	trap '' PIPE	# the server may close first: that is fine
	exec 3<>"/dev/tcp/127.0.0.1/$PORT"
	head -c 4096 /dev/urandom >&3 2>/dev/null || true
	exec 3>&-
	exec 3<>"/dev/tcp/127.0.0.1/$PORT"
	printf 'GET /%s HTTP/1.1\r\nHost: x\r\n\r\n' \
	    "$(head -c 20000 /dev/zero | tr '\0' a)" >&3 2>/dev/null || true
	exec 3>&-
	head -c 300 /dev/urandom | curl -s -o junk.der --max-time 5 \
	    -H 'Content-Type: application/ocsp-request' --data-binary @- \
	    "$URL/ocsp"
	# malformedRequest (1), in a 200 as RFC 6960 says.
	openssl ocsp -respin junk.der -resp_text 2>&1 |
	    grep -q 'malformedrequest'
}
check garbage
check alive

# A 10 MiB body: 413, and the server goes on.
head -c $((10 * 1024 * 1024)) /dev/zero >big.bin
check test "$(code -H 'Content-Type: application/ocsp-request' \
    --data-binary @big.bin "$URL/ocsp")" = 413
check alive

# 500 idle connections held open, answering all the while.
idle() {
	python3 - "$PORT" <<'EOF'
import socket, subprocess, sys
port = int(sys.argv[1])
socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(500)]
r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
    "--max-time", "5", "http://127.0.0.1:%d/crl/root" % port],
    capture_output=True, text=True)
for s in socks:
	s.close()
sys.exit(0 if r.stdout == "200" else 1)
EOF
}
check idle
check alive

# Small, whatever it went through.
RSS=$(awk '/^VmRSS:/ { print $2 }' "/proc/$SPID/status")
echo "server RSS: ${RSS} kB" >&2
check test "$RSS" -lt $((64 * 1024))

# One log line a request, the path escaped.
check grep -q ' 127\.0\.0\.1 GET "/crl/root" 200 [0-9]* [0-9]*ms$' serve.err

# SIGTERM: exit 0 within 5 s.
kill -TERM "$SPID"
i=0
while kill -0 "$SPID" 2>/dev/null; do
	i=$((i + 1))
	[ "$i" -lt 50 ] || die "still running 5 s after SIGTERM"
	sleep 0.1
done
rc=0
wait "$SPID" || rc=$?
SPID=
check test "$rc" -eq 0

# --max-conns: beyond it connections wait in the backlog, and are
# served once the others are gone.
serve_start s2 --listen 127.0.0.1:0 --max-conns 20
P2=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' s2.out)
limit() {
	python3 - "$P2" <<'EOF'
import socket, subprocess, sys
port = int(sys.argv[1])
url = "http://127.0.0.1:%d/crl/root" % port
def get(t):
	return subprocess.run(["curl", "-s", "-o", "/dev/null", "-w",
	    "%{http_code}", "--max-time", str(t), url],
	    capture_output=True, text=True).stdout
socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(60)]
busy = get(2)
for s in socks:
	s.close()
ok = get(10)
sys.exit(0 if busy != "200" and ok == "200" else 1)
EOF
}
check limit
check grep -q 'connections at most' s2.err
kill -TERM "$SPID"
wait "$SPID" || die "serve --max-conns 20 did not exit 0 on SIGTERM"
SPID=

# --ocsp-delegated: answers signed by a responder certificate mid
# issued (OCSPSigning, ocsp-nocheck), which openssl ocsp checks.
serve_start s3 --listen 127.0.0.1:0 --ocsp-delegated
URL=$(cat s3.url)
check check_ocsp revoked -cert leaf.pem
check grep -q 'Responder Id: CN = OCSP responder of mid' ocsp.txt
check grep -q 'OCSP No Check' ocsp.txt
check check_ocsp unknown -serial 0x1234
hm -d ca list --json > inv.json
check test "$(grep -c '"profile": "ocsp"' inv.json)" -eq 2
kill -TERM "$SPID"
wait "$SPID" || die "serve --ocsp-delegated did not exit 0 on SIGTERM"
SPID=

# --tls-listen: the same over HTTPS with a certificate mid issued.
hm -d ca issue --profile server --ca mid --new-key srv.key \
    --san dns:localhost --san ip:127.0.0.1 -o srv.pem \
    --chain-out srv.chain >/dev/null
serve_start s4 --listen 127.0.0.1:0 --tls-listen 127.0.0.1:0 \
    --tls-cert srv.chain --tls-key srv.key
TURL=https://$(sed -n 's|^listening on https://\(127\.0\.0\.1:[0-9]*\)$|\1|p' \
    s4.out)
[ "$TURL" != https:// ] || die "no https line in: $(cat s4.out)"
# An idle TLS connection is closed by the read timeout (10 s), in the
# handshake already; checked at the end.
python3 - "${TURL##*:}" >idle.txt 2>&1 <<'EOF' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(30)
t = time.time()
d = s.recv(100)
print("closed" if d == b"" and time.time() - t < 20 else "open")
EOF
IDLE=$!
tls_crl() {
	[ "$(curl -s -o tls.crl -w '%{http_code}' --max-time 5 \
	    --cacert $ROOT "$TURL/crl/mid")" = 200 ]
	openssl crl -inform DER -in tls.crl -noout -verify -CAfile $MID 2>&1 |
	    grep -q 'verify OK'
}
check tls_crl
URL=$TURL
check check_ocsp revoked -cert leaf.pem
check check_ocsp unknown -serial 0x1234
# A client that does not trust the CA gets nothing; plain HTTP on the TLS
# port gets nothing; the server goes on.
check test "$(code "$TURL/crl/mid" || true)" = 000
check test "$(code "http://${TURL#https://}/crl/mid" || true)" = 000
check tls_crl
wait "$IDLE" || true
check grep -q '^closed$' idle.txt
kill -TERM "$SPID"
wait "$SPID" || die "serve --tls-listen did not exit 0 on SIGTERM"
SPID=

# Options are checked before anything starts.
refuse 'want ADDR:PORT' hm -d ca serve --listen 8080
refuse 'brackets' hm -d ca serve --listen ::1:8080
refuse 'bad port' hm -d ca serve --listen 127.0.0.1:65536
refuse 'not a numeric IPv4' hm -d ca serve --listen localhost:80
refuse 'max-conns' hm -d ca serve --max-conns 0
refuse 'go together' hm -d ca serve --tls-listen 127.0.0.1:0
refuse 'go together' hm -d ca serve --tls-cert srv.pem --tls-key srv.key
refuse 'tls-listen' hm -d ca serve --tls-listen 8443 --tls-cert srv.pem \
    --tls-key srv.key
refuse 'is not the key of' hm -d ca serve --tls-listen 127.0.0.1:0 \
    --tls-cert srv.pem --tls-key leaf.key
refuse 'for --tls-key' hm -d ca serve --passphrase-env X
done_ok
