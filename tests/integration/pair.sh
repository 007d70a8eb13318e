# Pairing: a new machine without a token pairs with a real hallmark
# serve, the operator approves it with the code it shows, it enrolls.  A
# wrong code, a rejection, a man in the middle (the two codes differ), a
# replayed commit, a reveal that does not match, a second approval: no
# certificate.  10,000 pairing requests from one address stay bounded.
. "$HM_TESTS/lib.sh"
TOOL=${HM_PAIR_TOOL:?HM_PAIR_TOOL: the pair-tool program}

hm -d ca init --cn "Pair Root" >/dev/null
serve_start s1 --listen 127.0.0.1:0
SPIDS=$SPID
CPIDS=
trap 'for p in $SPIDS $CPIDS; do kill "$p" 2>/dev/null || true; done;
    rm -rf "$T"' EXIT
URL=$(cat s1.url)
ROOT=ca/ca/root/cert.pem
certs() { hm -d ca list --json | grep -c '"serial"'; }

# client NAME DIR [options]: hallmark enroll --pair in the background,
# waiting for its code (10 s at most): the code in DIR.code, its pid in
# CPID, its output in DIR.out and DIR.err.
client() {
	cn=$1 dir=$2; shift 2
	"$HM" enroll --pair --server "$URL" --name "$cn" --out-dir "$dir" \
	    "$@" >"$dir.out" 2>"$dir.err" &
	CPID=$!
	CPIDS="$CPIDS $CPID"
	ci=0
	while ! grep -q '^pairing code: ' "$dir.out" 2>/dev/null; do
		ci=$((ci + 1))
		[ "$ci" -lt 100 ] || die "no code after 10 s: $(cat "$dir.err")"
		sleep 0.1
	done
	sed -n 's/^pairing code: \([0-9]\{3\}\) \([0-9]\{3\}\)$/\1\2/p' \
	    "$dir.out" >"$dir.code"
}
# The id of the newest pairing asking for name $1.
pid_of() {
	hm -d ca pair list --json |
	    sed -n "s/.*\"id\": \"\\([0-9a-f]*\\)\".*\"name\": \"$1\".*/\\1/p" |
	    head -1
}
# ends PID: the client's exit status in ER, waiting 15 s at most (not in
# a subshell: only this shell can wait for its child).
ends() {
	ei=0
	while kill -0 "$1" 2>/dev/null; do
		ei=$((ei + 1))
		[ "$ei" -lt 150 ] || { ER=timeout; return; }
		sleep 0.1
	done
	ER=0
	wait "$1" || ER=$?
}

# Happy path: the code on the machine, typed on the CA, a certificate.
client web-7 m1 --profile both --words
code=$(cat m1.code)
words=$(sed -n 's/^in words: *//p' m1.out)
check test -n "$words"
[ -n "$code" ] || die "no code printed: $(cat m1.out)"
id=$(pid_of web-7)
hm -d ca pair list >list.txt
check grep -q "^$id waiting  *both  *127\\.0\\.0\\.1 .* web-7\$" list.txt
# The list never shows the code.
if grep -q "$code" list.txt; then die "the code is in pair list"; fi
pass
# The words typed (in capitals, with spaces) are the code too.
hm -d ca pair approve "$id" --code "$(echo "$words" | tr 'a-z-' 'A-Z ')" \
    >ap.txt
check grep -q '^approved: ' ap.txt
ends "$CPID"
check test "$ER" = 0
verify_chain "$ROOT" m1/chain.pem sslserver
check test "$(openssl x509 -in m1/cert.pem -noout -ext subjectAltName |
    tail -1 | tr -d ' ')" = DNS:web-7
check test "$(stat -c %a m1/key.pem)" = 600
# Approved once: not again.
refuse 'approved, not waiting' hm -d ca pair approve "$id" --code "$code"

# A wrong code drops the pairing: the machine gives up, nothing issued.
N=$(certs)
client robot-1 m2
code=$(cat m2.code)
id=$(pid_of robot-1)
wrong=$(printf '%06d' $(((10#$code + 1) % 1000000)))
refuse 'does not match' hm -d ca pair approve "$id" --code "$wrong"
refuse 'dropped, not waiting' hm -d ca pair approve "$id" --code "$code"
ends "$CPID"
check test "$ER" = 1
check grep -q 'not approved' m2.err
check test ! -e m2/cert.pem
# Rejected: the same.
client robot-2 m3
code=$(cat m3.code)
hm -d ca pair reject "$(pid_of robot-2)" >/dev/null
ends "$CPID"
check test "$ER" = 1
check test "$(certs)" -eq "$N"
refuse 'code is the 6 digits' hm -d ca pair approve "$id" --code 12345
refuse '32 hex digits' hm -d ca pair approve abc --code 123456

# The messages themselves, built here; pair-tool does the cryptography.
cat >msg.py <<'EOF'
import http.client, os, subprocess, sys, urllib.parse
TOOL = os.environ["PAIR_TOOL"]
def items(magic, *its):
	return magic + b"\x01" + b"".join(bytes([t]) +
	    len(v).to_bytes(2, "big") + v for t, v in its)
def parse(body):
	out, i = {}, 5
	while i < len(body):
		t, n = body[i], int.from_bytes(body[i + 1:i + 3], "big")
		out[t] = body[i + 3:i + 3 + n]
		i += 3 + n
	return out
def tool(*args):
	return subprocess.run([TOOL] + list(args), check=True,
	    capture_output=True, text=True).stdout.strip()
class Conn:
	def __init__(self, url, src="127.0.0.1"):
		u = urllib.parse.urlsplit(url)
		self.c = http.client.HTTPConnection(u.hostname, u.port,
		    timeout=10, source_address=(src, 0))
	def post(self, path, body):
		self.c.request("POST", path, body,
		    {"Content-Type": "application/x-hallmark-pair"})
		r = self.c.getresponse()
		return r.status, r.read()
def initiator(name, profile, skfile):
	"""A commit of our own: (body, pk, nonce)."""
	pk = bytes.fromhex(tool("keygen", skfile))
	nonce = os.urandom(32)
	cm = bytes.fromhex(tool("commitment", pk.hex(), nonce.hex()))
	return items(b"HMPC", (0x10, name.encode()), (0x11, profile.encode()),
	    (0x12, cm)), pk, nonce
EOF
export PAIR_TOOL="$TOOL"

# A replayed commit, a reveal that does not match its commitment, a
# second reveal: refused.
replays() {
	python3 - "$URL" <<'EOF'
import sys; sys.path.insert(0, ".")
from msg import *
s = Conn(sys.argv[1], "127.0.6.1")
commit, pk, nonce = initiator("replay", "client", "r.sk")
st, acc = s.post("/pair", commit)
assert st == 200, st
st, _ = s.post("/pair", commit)
assert st == 403, ("replayed commit", st)
a = parse(acc)
# Another nonce than the one committed to: refused, and dropped.
bad = items(b"HMPV", (0x13, a[0x13]), (0x16, pk), (0x17, os.urandom(32)))
st, _ = s.post("/pair/reveal", bad)
assert st == 403, ("mismatched reveal", st)
good = items(b"HMPV", (0x13, a[0x13]), (0x16, pk), (0x17, nonce))
st, _ = s.post("/pair/reveal", good)
assert st == 403, ("reveal after a mismatch", st)
# A fresh one: revealed once, not twice.
commit, pk, nonce = initiator("twice", "client", "t.sk")
st, acc = s.post("/pair", commit)
a = parse(acc)
good = items(b"HMPV", (0x13, a[0x13]), (0x16, pk), (0x17, nonce))
st, rep = s.post("/pair/reveal", good)
assert st == 200 and parse(rep)[0x13] == a[0x13], st
st, _ = s.post("/pair/reveal", good)
assert st == 403, ("second reveal", st)
st, _ = s.post("/pair/reveal", good[:-1])
assert st == 400, ("truncated reveal", st)
st, _ = s.post("/pair/status", items(b"HMPS", (0x13, os.urandom(16))))
assert st == 404, ("unknown pairing", st)
EOF
}
check replays
hm -d ca pair list >list.txt
check grep -q ' dropped .* replay$' list.txt
check grep -q ' waiting .* twice$' list.txt

# A man in the middle: it pairs with the machine as the CA and with the
# CA as the machine, each with its own keys.  The two codes differ, so
# the operator's approval with the machine's code fails: nothing issued.
cat >mitm.py <<'EOF'
import http.server, sys, threading
sys.path.insert(0, ".")
from msg import *
up = sys.argv[1]
st = {}
class H(http.server.BaseHTTPRequestHandler):
	def log_message(self, *a):
		pass
	def reply(self, code, body):
		self.send_response(code)
		self.send_header("Content-Type", "application/x-hallmark-pair")
		self.send_header("Content-Length", str(len(body)))
		self.end_headers()
		self.wfile.write(body)
	def do_POST(self):
		body = self.rfile.read(int(self.headers["Content-Length"]))
		s = Conn(up)
		if self.path == "/pair":
			m = parse(body)
			# Toward the CA: a commit of its own.
			st["commit_m"], st["pk_m"], st["nonce_m"] = initiator(
			    m[0x10].decode(), m[0x11].decode(), "mitm-up.sk")
			code, st["accept_s"] = s.post("/pair", st["commit_m"])
			# Toward the machine: an accept of its own.
			st["commit_c"] = body
			st["id_c"] = os.urandom(16)
			pk = bytes.fromhex(tool("keygen", "mitm-down.sk"))
			st["accept_c"] = items(b"HMPA", (0x13, st["id_c"]),
			    (0x14, pk), (0x15, os.urandom(32)))
			self.reply(200, st["accept_c"])
		elif self.path == "/pair/reveal":
			m = parse(body)
			open("commit_c", "wb").write(st["commit_c"])
			open("accept_c", "wb").write(st["accept_c"])
			open("reveal_c", "wb").write(body)
			open("code.down", "w").write(tool("derive",
			    "mitm-down.sk", m[0x16].hex(), "commit_c",
			    "accept_c", "reveal_c"))
			a = parse(st["accept_s"])
			st["id_s"] = a[0x13]
			rev = items(b"HMPV", (0x13, a[0x13]),
			    (0x16, st["pk_m"]), (0x17, st["nonce_m"]))
			code, _ = s.post("/pair/reveal", rev)
			open("commit_m", "wb").write(st["commit_m"])
			open("accept_s", "wb").write(st["accept_s"])
			open("reveal_m", "wb").write(rev)
			open("code.up", "w").write(tool("derive", "mitm-up.sk",
			    a[0x14].hex(), "commit_m", "accept_s", "reveal_m"))
			self.reply(200, items(b"HMPD", (0x13, st["id_c"])))
		elif self.path == "/pair/status":
			code, rep = s.post("/pair/status", items(b"HMPS",
			    (0x13, st["id_s"])))
			self.reply(code, rep)
		else:
			self.reply(404, b"")
srv = http.server.HTTPServer(("127.0.0.1", 0), H)
open("mitm.port", "w").write(str(srv.server_address[1]))
srv.serve_forever()
EOF
python3 mitm.py "$URL" 2>mitm.err &
SPIDS="$SPIDS $!"
i=0
while [ ! -s mitm.port ]; do
	i=$((i + 1))
	[ "$i" -lt 100 ] || die "the test's man in the middle did not start"
	sleep 0.1
done
N=$(certs)
URL_CA=$URL
URL=http://127.0.0.1:$(cat mitm.port)
client victim m4
code=$(cat m4.code)
URL=$URL_CA
i=0
while [ ! -s code.up ]; do
	i=$((i + 1))
	[ "$i" -lt 100 ] || die "no code from the man in the middle"
	sleep 0.1
done
# It sits in between: its code with the machine is the machine's...
check test "$(cat code.down)" = "$code"
# ... and the CA's code is another (a chance of 1 in 10^6 to agree).
check test "$(cat code.up)" != "$code"
refuse 'does not match' hm -d ca pair approve "$(pid_of victim)" \
    --code "$code"
ends "$CPID"
check test "$ER" = 1
check test "$(certs)" -eq "$N"
check test ! -e m4/cert.pem

# 10,000 pairing requests from one address: 5 open, the rest 429, the
# store bounded, the server answering others all the while.
flood() {
	python3 - "$URL" <<'EOF'
import os, sys; sys.path.insert(0, ".")
from msg import *
s = Conn(sys.argv[1], "127.0.7.1")
codes = {}
for i in range(10000):
	body = items(b"HMPC", (0x10, b"flood"), (0x11, b"client"),
	    (0x12, os.urandom(32)))
	st, _ = s.post("/pair", body)
	codes[st] = codes.get(st, 0) + 1
print(codes, file=sys.stderr)
sys.exit(0 if codes == {200: 5, 429: 9995} else 1)
EOF
}
check flood
check test "$(hm -d ca pair list | grep -c ' flood$')" -eq 5
check test "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
    "$URL/crl/root")" = 200
# Another address still pairs.
client other m5
code=$(cat m5.code)
check test -n "$code"
kill "$CPID" 2>/dev/null || true
done_ok
