# Enrollment over an untrusted network: a new machine with a token gets
# a certificate (every key type) from a real hallmark serve, its chain
# verified; every way a request can be wrong, altered, replayed, swapped
# or raced gets nothing issued; the limits hold.
. "$HM_TESTS/lib.sh"
TOOL=${HM_ENROLL_TOOL:?HM_ENROLL_TOOL: the enroll-tool program}

hm -d ca init --cn "Enroll Root" >/dev/null
hm -d ca ca new --name mid --cn "Enroll Mid" >/dev/null
ROOT=ca/ca/root/cert.pem

SPIDS=
trap 'for p in $SPIDS; do kill "$p" 2>/dev/null || true; done;
    rm -rf "$T"' EXIT
serve_start s1 --listen 127.0.0.1:0
SPIDS=$SPID
serve_start s2 --listen 127.0.0.1:0
SPIDS="$SPIDS $SPID"
URL=$(cat s1.url)
certs() { hm -d ca list --json | grep -c '"serial"'; }
token() { hm -d ca token new "$@" 2>/dev/null; }

# Happy path, every key type; the chain verified by openssl and GnuTLS.
for kt in ed25519 p256 p384 rsa2048 rsa3072 rsa4096; do
	mkdir "m-$kt"
	tok=$(token --name "node-$kt" --profile both --ca mid \
	    --san "dns:node-$kt.example" --san ip:10.0.0.7)
	hm enroll --server "$URL" --token "$tok" --key-type "$kt" \
	    --out-dir "m-$kt" >/dev/null
	verify_chain "$ROOT" "m-$kt/chain.pem" sslserver
	verify_chain "m-$kt/ca.pem" "m-$kt/chain.pem" sslclient
	check cmp -s "m-$kt/ca.pem" "$ROOT"
	check test "$(stat -c %a "m-$kt/key.pem")" = 600
	check test "$(openssl x509 -in "m-$kt/cert.pem" -noout -subject)" = \
	    "subject=CN = node-$kt"
	openssl x509 -in "m-$kt/cert.pem" -noout -ext subjectAltName \
	    >"m-$kt/san.txt"
	check grep -q "DNS:node-$kt.example, IP Address:10.0.0.7" \
	    "m-$kt/san.txt"
	# The key is the certificate's.
	check test "$(openssl pkey -in "m-$kt/key.pem" -pubout)" = \
	    "$(openssl x509 -in "m-$kt/cert.pem" -noout -pubkey)"
done
hm -d ca token list --json >tl.json
check test "$(grep -c '"state": "used"' tl.json)" -eq 6

# The token from standard input; a client profile, the root's.
mkdir m-stdin
token --name robot --profile client | hm enroll --server "$URL" \
    --token - --out-dir m-stdin >/dev/null
verify_chain "$ROOT" m-stdin/chain.pem sslclient

# Refused, nothing issued, nothing written.
N=$(certs)
mkdir r
nothing() { check test "$(certs)" -eq "$N"; check test -z "$(ls r)"; }
tok=$(token --name web --profile server --san dns:web.example)
# The last character is all check bits: any change is caught.
case $tok in
*a) bad=${tok%?}b ;;
*) bad=${tok%?}a ;;
esac
refuse 'mistyped' hm enroll --server "$URL" --token "$bad" --out-dir r
refuse 'a token has 77 characters' hm enroll --server "$URL" --token nonsense \
    --out-dir r
# A well-formed token the server never made, and one with a known id but
# another key: the same bare refusal.
forge() {
	python3 - "$1" "$2" <<'EOF'
import base64, hashlib, os, sys
tok, mode = sys.argv[1], sys.argv[2]
def b32d(s):
	return base64.b32decode(s.upper() + "=" * (-len(s) % 8))
def b32e(b):
	return base64.b32encode(b).decode().rstrip("=").lower()
_, i, s = tok.split("-")
pid = os.urandom(10) if mode == "id" else b32d(i)
psk = os.urandom(32)
chk = hashlib.sha256(b"hallmark token v1" + pid + psk).digest()[:3]
print("hm1-" + b32e(pid) + "-" + b32e(psk + chk))
EOF
}
refuse 'refused the request' hm enroll --server "$URL" \
    --token "$(forge "$tok" id)" --out-dir r
refuse 'refused the request' hm enroll --server "$URL" \
    --token "$(forge "$tok" psk)" --out-dir r
refuse 'does not cover' hm enroll --server "$URL" --token "$tok" \
    --san dns:evil.example --out-dir r
refuse 'does not cover' hm enroll --server "$URL" --token "$tok" \
    --name other --out-dir r
nothing
# The token survived those: still pending.
check test "$(hm -d ca token list | grep -c ' pending ')" -eq 1
old=$(token --name late --profile client --ttl 1s)
rev=$(token --name gone --profile client)
hm -d ca token revoke "$(hm -d ca token list --json |
    sed -n 's/.*"id": "\([0-9a-f]*\)", "state": "pending".*"name": "gone".*/\1/p')" \
    >/dev/null
sleep 2
refuse 'expired' hm enroll --server "$URL" --token "$old" --out-dir r
refuse 'revoked' hm enroll --server "$URL" --token "$rev" --out-dir r
nothing
# Used by one request; another with it is refused, whatever it asks.
# (--out-dir is made if missing.)
hm enroll --server "$URL" --token "$tok" --out-dir m-web >/dev/null
verify_chain "$ROOT" m-web/chain.pem sslserver
N=$(certs)
refuse 'used' hm enroll --server "$URL" --token "$tok" --out-dir r
nothing

# The bytes themselves, from several source addresses (127.0.0.x) so the
# per-source limit does not hide a case; the limit itself at the end.
post() {
	python3 "$T/post.py" "$@"
}
cat >post.py <<'EOF'
# post.py URL SRC BODY OUT: POST BODY from source address SRC, write the
# reply's body to OUT, print the status.
import http.client, sys, urllib.parse
u = urllib.parse.urlsplit(sys.argv[1])
body = open(sys.argv[3], "rb").read()
c = http.client.HTTPConnection(u.hostname, u.port, timeout=10,
    source_address=(sys.argv[2], 0))
c.request("POST", "/enroll", body,
    {"Content-Type": "application/x-hallmark-enroll"})
r = c.getresponse()
open(sys.argv[4], "wb").write(r.read())
print(r.status)
EOF
tok=$(token --name flip --profile client)
"$TOOL" request "$tok" req.bin key.pem
# Every bit of the request flipped, one at a time: never a 200.
flips() {
	python3 - "$URL" req.bin <<'EOF'
import http.client, sys, urllib.parse
u = urllib.parse.urlsplit(sys.argv[1])
req = open(sys.argv[2], "rb").read()
bad = 0
for i in range(len(req) * 8):
	b = bytearray(req)
	b[i // 8] ^= 1 << (i % 8)
	src = "127.0.%d.%d" % (1 + (i // 19) // 250, 2 + (i // 19) % 250)
	c = http.client.HTTPConnection(u.hostname, u.port, timeout=10,
	    source_address=(src, 0))
	c.request("POST", "/enroll", bytes(b),
	    {"Content-Type": "application/x-hallmark-enroll"})
	r = c.getresponse()
	r.read()
	c.close()
	if r.status not in (400, 403):
		print("bit %d: HTTP %d" % (i, r.status))
		bad += 1
print("%d flips" % (len(req) * 8), file=sys.stderr)
sys.exit(1 if bad else 0)
EOF
}
N=$(certs)
check flips
check test "$(certs)" -eq "$N"
# The request itself still works after all that; its exact bytes again
# get the very same reply (a client retrying after a lost reply).
check test "$(post "$URL" 127.0.0.1 req.bin rep1.bin)" = 200
check test "$(post "$(cat s2.url)" 127.0.0.1 req.bin rep2.bin)" = 200
check cmp -s rep1.bin rep2.bin
"$TOOL" open "$tok" req.bin rep1.bin >open.txt
check grep -q '^issued ' open.txt
check test "$(certs)" -eq $((N + 1))

# Truncated, oversized and garbage bodies.
head -c 60 req.bin >short.bin
check test "$(post "$URL" 127.0.1.250 short.bin x)" = 400
head -c $(($(wc -c <req.bin) - 1)) req.bin >short.bin
check test "$(post "$URL" 127.0.1.250 short.bin x)" = 400
head -c $((17 * 1024)) /dev/urandom >big.bin
check test "$(post "$URL" 127.0.1.251 big.bin x)" = 413
head -c 300 /dev/urandom >junk.bin
check test "$(post "$URL" 127.0.1.251 junk.bin x)" = 400

# Swap: the reply to request A does not open as the reply to B; a request
# sent back as its own reply (reflection) does not open either.
ta=$(token --name swap-a --profile client)
tb=$(token --name swap-b --profile client)
"$TOOL" request "$ta" a.bin ka.pem
"$TOOL" request "$tb" b.bin kb.pem
check test "$(post "$URL" 127.0.1.1 a.bin ra.bin)" = 200
check test "$(post "$URL" 127.0.1.1 b.bin rb.bin)" = 200
opens() {
	rc=0
	"$TOOL" open "$@" >/dev/null || rc=$?
	echo "$rc"
}
check test "$(opens "$ta" a.bin ra.bin)" = 0
check test "$(opens "$tb" b.bin ra.bin)" = 2
check test "$(opens "$ta" b.bin rb.bin)" = 2
check test "$(opens "$ta" a.bin a.bin)" -ge 2
# Replayed after success with another CSR: refused, sealed ("used": 2).
"$TOOL" request "$ta" a2.bin ka2.pem
check test "$(post "$URL" 127.0.1.1 a2.bin ra2.bin)" = 200
"$TOOL" open "$ta" a2.bin ra2.bin >o.txt || true
check grep -q '^refused 2 ' o.txt

# 32 requests with one token at once, on two servers sharing the store:
# exactly one certificate; a retry of the winner's bytes gets its reply.
tok=$(token --name race --profile client)
i=0
while [ "$i" -lt 32 ]; do
	"$TOOL" request "$tok" "race$i.bin" "race$i.pem"
	i=$((i + 1))
done
N=$(certs)
race() {
	python3 - "$URL" "$(cat s2.url)" <<'EOF'
import http.client, sys, threading, urllib.parse
urls = [urllib.parse.urlsplit(u) for u in sys.argv[1:3]]
go = threading.Barrier(32)
out = [None] * 32
def one(i):
	u = urls[i % 2]
	body = open("race%d.bin" % i, "rb").read()
	c = http.client.HTTPConnection(u.hostname, u.port, timeout=20,
	    source_address=("127.0.2.%d" % (1 + i), 0))
	go.wait()
	c.request("POST", "/enroll", body,
	    {"Content-Type": "application/x-hallmark-enroll"})
	r = c.getresponse()
	open("race%d.rep" % i, "wb").write(r.read())
	out[i] = r.status
ts = [threading.Thread(target=one, args=(i,)) for i in range(32)]
for t in ts: t.start()
for t in ts: t.join(30)
sys.exit(0 if out == [200] * 32 else 1)
EOF
}
check race
won=
i=0
while [ "$i" -lt 32 ]; do
	rc=0
	"$TOOL" open "$tok" "race$i.bin" "race$i.rep" >o.txt || rc=$?
	if [ "$rc" -eq 0 ]; then
		[ -z "$won" ] || die "race: $won and $i both issued"
		won=$i
	else
		grep -q "^refused 2 " o.txt || die "race $i: $(cat o.txt);" \
		    "$(grep -hv ' 200 ' s1.err s2.err)"
	fi
	i=$((i + 1))
done
[ -n "$won" ] || die "race: nothing issued"
pass
check test "$(certs)" -eq $((N + 1))
check test "$(post "$URL" 127.0.2.200 "race$won.bin" again.rep)" = 200
check cmp -s "race$won.rep" again.rep

# One server groups the requests that arrive together into one
# transaction: 8 copies of one request and 8 other requests with the same
# token, all at once: one certificate.  If a copy won, every copy has its
# reply byte for byte; the others, whoever won, are refused as used.
tok=$(token --name batch --profile client)
"$TOOL" request "$tok" batch0.bin batch0.pem
i=0
while [ "$i" -lt 8 ]; do
	[ "$i" -eq 0 ] || cp batch0.bin "batch$i.bin"
	"$TOOL" request "$tok" "batch$((i + 8)).bin" "batch$((i + 8)).pem"
	i=$((i + 1))
done
N=$(certs)
batch() {
	python3 - "$URL" <<'EOF'
import http.client, sys, threading, urllib.parse
u = urllib.parse.urlsplit(sys.argv[1])
go = threading.Barrier(16)
out = [None] * 16
def one(i):
	body = open("batch%d.bin" % i, "rb").read()
	c = http.client.HTTPConnection(u.hostname, u.port, timeout=20,
	    source_address=("127.0.4.%d" % (1 + i), 0))
	c.connect()
	go.wait()
	c.request("POST", "/enroll", body,
	    {"Content-Type": "application/x-hallmark-enroll"})
	r = c.getresponse()
	open("batch%d.rep" % i, "wb").write(r.read())
	out[i] = r.status
ts = [threading.Thread(target=one, args=(i,)) for i in range(16)]
for t in ts: t.start()
for t in ts: t.join(30)
sys.exit(0 if out == [200] * 16 else 1)
EOF
}
check batch
check test "$(certs)" -eq $((N + 1))
won=
i=0
while [ "$i" -lt 16 ]; do
	rc=0
	"$TOOL" open "$tok" "batch$i.bin" "batch$i.rep" >o.txt || rc=$?
	if [ "$rc" -eq 0 ]; then
		w=$i
		[ "$i" -ge 8 ] || w=copy
		[ -z "$won" ] || [ "$won" = "$w" ] ||
		    die "batch: $won and $w both issued"
		won=$w
	else
		grep -q "^refused 2 " o.txt || die "batch $i: $(cat o.txt)"
	fi
	i=$((i + 1))
done
[ -n "$won" ] || die "batch: nothing issued"
if [ "$won" = copy ]; then
	i=1
	while [ "$i" -lt 8 ]; do
		cmp -s batch0.rep "batch$i.rep" || die "batch $i: another reply"
		i=$((i + 1))
	done
fi
pass

# The limit: 20 failures a minute from one address, then 429.
limit() {
	i=0
	while [ "$i" -lt 20 ]; do
		[ "$(post "$URL" 127.0.3.1 junk.bin x)" = 400 ] || return 1
		i=$((i + 1))
	done
	[ "$(post "$URL" 127.0.3.1 req.bin x)" = 429 ] &&
	    [ "$(post "$URL" 127.0.3.2 req.bin x)" = 200 ]
}
check limit

# One log line a request, with what was done and never a secret.
check grep -q 'POST "/enroll" 200 [0-9]* [0-9]*ms token [0-9a-f]*: issued' \
    s1.err
check grep -q 'POST "/enroll" 403 .* unknown' s1.err
if grep -q 'hm1-' s1.err s2.err; then die "a token in the log"; fi
pass
done_ok
