# The mutual TLS demo with certificates from the hallmark CLI: a valid
# client is served n+1; a client with no certificate, with one of another
# CA, with a revoked one (the CRL given), with an expired one, or not on
# the allow-list, and a server whose certificate does not name the host,
# are refused at the handshake with the reason printed; the server keeps
# serving after each.  It speaks with openssl s_client and s_server, picks
# up a renewed certificate when its files change and on SIGHUP, and exits
# 0 on SIGTERM.
. "$HM_TESTS/lib.sh"

SRV=${HM_ADDONE_SERVER:?}
CLI=${HM_ADDONE_CLIENT:?}

hm -d ca init --cn "Addone Root" >/dev/null
hm -d ca ca new --name mid --cn "Addone Mid" >/dev/null
hm -d ca issue --profile server --ca mid --new-key srv.key \
    --san dns:localhost --san ip:127.0.0.1 -o srv.pem \
    --chain-out srv.chain >/dev/null
hm -d ca issue --profile server --ca mid --new-key elsewhere.key \
    --san dns:other.example -o elsewhere.pem \
    --chain-out elsewhere.chain >/dev/null
for n in alice bob; do
	hm -d ca issue --profile client --ca mid --new-key $n.key --cn $n \
	    -o $n.pem >/dev/null
done
hm -d ca issue --profile client --ca mid --new-key old.key --cn old \
    --validity 1s -o old.pem >/dev/null
# Another CA, the same names.
hm -d other init --cn "Addone Root" >/dev/null
hm -d other issue --profile client --new-key eve.key --cn alice \
    -o eve.pem >/dev/null
cat ca/ca/mid/cert.pem ca/ca/root/cert.pem > bundle.pem
crls() {
	hm -d ca crl -o root.crl --force
	hm -d ca crl --ca mid -o mid.crl --force
	cat root.crl mid.crl > crls.new
	mv crls.new crls.pem
}
crls

# Every server started here is stopped at the end, whatever happens.
PIDS=
trap 'for p in $PIDS; do kill "$p" 2>/dev/null || true; done
    for p in $PIDS; do wait "$p" 2>/dev/null || true; done
    rm -rf "$T"' EXIT

# start NAME [addone-server options]: in the background, waiting (10 s at
# most) for "listening on 127.0.0.1:PORT"; the pid in LAST, the port in
# NAME.port, the log in NAME.out.
start() {
	n=$1; shift
	"$SRV" --listen 127.0.0.1:0 "$@" >"$n.out" 2>"$n.err" &
	LAST=$!
	PIDS="$PIDS $LAST"
	i=0
	while ! grep -q '^listening on 127\.0\.0\.1:[0-9]' "$n.out" 2>/dev/null
	do
		i=$((i + 1))
		[ "$i" -lt 100 ] || die "$n: no 'listening on' in 10 s:" \
		    "$(cat "$n.err")"
		kill -0 "$LAST" 2>/dev/null || die "$n exited: $(cat "$n.err")"
		sleep 0.1
	done
	sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$n.out" \
	    >"$n.port"
}

# ask NAME HOST PORT N [client options]: addone-client as NAME (NAME.pem,
# NAME.key; "none": no certificate); its stdout in ask.out, stderr in
# ask.err, its exit status returned.
ask() {
	who=$1 host=$2 port=$3 num=$4; shift 4
	set -- --ca bundle.pem --connect "$host:$port" "$@" -- "$num"
	[ "$who" = none ] || set -- --cert "$who.pem" --key "$who.key" "$@"
	timeout 20 "$CLI" "$@" >ask.out 2>ask.err
}

# served NAME HOST PORT N WANT: the answer is WANT.
served() {
	ask "$1" "$2" "$3" "$4" ||
	    { echo "refused: $(cat ask.err)" >&2; return 1; }
	[ "$(tail -1 ask.out)" = "$5" ] ||
	    { echo "answer: $(cat ask.out)" >&2; return 1; }
}

# refused NAME HOST PORT CLIENT-WHY: the client says why (grep -E).
refused() {
	if ask "$1" "$2" "$3" 41; then
		echo "served: $(cat ask.out)" >&2
		return 1
	fi
	grep -Eq -- "$4" ask.err ||
	    { echo "client said: $(cat ask.err)" >&2; return 1; }
	[ "$(wc -l < ask.err)" -eq 1 ]
}

# logged NAME PATTERN: the server's log has a line matching (10 s).
logged() {
	i=0
	while ! grep -Eq -- "$2" "$1.out"; do
		i=$((i + 1))
		[ "$i" -lt 100 ] ||
		    { echo "$1.out lacks /$2/: $(cat "$1.out")" >&2; return 1; }
		sleep 0.1
	done
}

start s --cert srv.chain --key srv.key --ca bundle.pem --crl crls.pem
SPID=$LAST
P=$(cat s.port)
pass

# Served: by name and by address; n+1 for small, negative, large n.
check served alice localhost "$P" 41 42
check logged s ': alice: 42$'
check served bob 127.0.0.1 "$P" -5 -4
check served alice localhost "$P" 9223372036854775806 9223372036854775807
# Not integers, too large, too long: an error line, exit 1.
ask alice localhost "$P" abc && die "abc was answered: $(cat ask.out)"
check grep -q 'the server says error: not an integer' ask.err
ask alice localhost "$P" 9223372036854775807 && die "LLONG_MAX + 1"
check grep -q 'error: n+1 is out of range' ask.err
ask alice localhost "$P" 12a && die "12a was answered"
check grep -q 'not an integer' ask.err
ask alice localhost "$P" 123456789012345678901234567890 && die "30 digits"
check grep -q 'out of range' ask.err

# Refused at the handshake, the reason on both sides.
check refused none localhost "$P" 'refused by the peer: no certificate$'
check logged s 'refused: no certificate$'
check refused eve localhost "$P" 'refused by the peer: unknown CA$'
check logged s 'refused: unknown CA$'
# A server's certificate is no client's.
check refused srv localhost "$P" 'refused by the peer: unsupported cert'
check logged s 'refused: wrong purpose$'
while [ "$(date +%s)" -le "$(date -d "$(openssl x509 -in old.pem -noout \
    -enddate | cut -d= -f2)" +%s)" ]; do
	sleep 0.2
done
# The library makes no context of an expired certificate: s_client sends
# it.
expired() {
	echo 41 | timeout 20 openssl s_client -connect "127.0.0.1:$P" \
	    -cert old.pem -key old.key -CAfile bundle.pem -quiet \
	    >exp.out 2>&1 || true
	grep -q 'alert certificate expired' exp.out ||
	    { cat exp.out >&2; return 1; }
}
check expired
check logged s 'refused: expired$'
check sh -c "'$CLI' --cert old.pem --key old.key --ca bundle.pem \
    --connect localhost:$P 41 2>&1 | grep -q 'has expired; renew it'"

# Revoked: served until the CRLs say so; new CRL files are picked up
# without a signal.
check served bob localhost "$P" 1 2
hm -d ca revoke "$(openssl x509 -in bob.pem -noout -serial | cut -d= -f2)" \
    --reason keyCompromise >/dev/null
sleep 1	# a new mtime, even on file systems with coarse times
crls
check refused bob localhost "$P" 'refused by the peer: revoked$'
check logged s 'refused: revoked$'
check logged s '^reloaded '
# The client checks the server against CRLs too (alice is not revoked).
check served alice localhost "$P" 1 2
ask alice localhost "$P" 1 --crl crls.pem || die "client --crl: $(cat ask.err)"
pass

# A server whose certificate does not name the host asked for.
start e --cert elsewhere.chain --key elsewhere.key --ca bundle.pem
check refused alice localhost "$(cat e.port)" ': name mismatch$'
check logged e 'refused: refused by the peer: bad certificate$'
check refused alice 127.0.0.1 "$(cat e.port)" ': name mismatch$'
# Another CA's server.
check sh -c "'$CLI' --cert eve.pem --key eve.key --ca other/ca/root/cert.pem \
    --connect localhost:$P 41 2>&1 | grep -q ': unknown CA$'"

# The allow-list.
start a --cert srv.chain --key srv.key --ca bundle.pem --allow alice
check served alice localhost "$(cat a.port)" 1 2
hm -d ca issue --profile client --ca mid --new-key carol.key --cn carol \
    -o carol.pem >/dev/null
check refused carol localhost "$(cat a.port)" 'refused by the peer'
check logged a 'refused: not allowed$'

# Still serving after all that.
check served alice localhost "$P" 99 100
grep -q ': alice: 100$' s.out || { sleep 1; grep -q ': alice: 100$' s.out; } ||
    die "s did not log the last answer: $(cat s.out)"
pass

# Interop: openssl s_client with a client certificate gets n+1.
sclient() {
	echo 41 | timeout 20 openssl s_client -connect "127.0.0.1:$P" \
	    -servername localhost -verify_hostname localhost \
	    -verify_return_error -cert alice.pem -key alice.key \
	    -CAfile bundle.pem -quiet >sc.out 2>sc.err ||
	    { cat sc.err >&2; return 1; }
	[ "$(tr -d '\r' < sc.out)" = 42 ] || { cat sc.out >&2; return 1; }
}
check sclient

# Interop: addone-client against openssl s_server -Verify.  s_server can't
# add one: with -rev it sends each line back reversed, so "41" comes back
# "14" over a handshake in which both sides verified the other.
SP=$(python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
openssl s_server -accept "127.0.0.1:$SP" -Verify 2 -verify_return_error \
    -CAfile bundle.pem -cert srv.pem -cert_chain ca/ca/mid/cert.pem \
    -key srv.key -rev >ss.out 2>ss.err </dev/null &
PIDS="$PIDS $!"
i=0
until ask alice localhost "$SP" 41 2>/dev/null; do
	i=$((i + 1))
	[ "$i" -lt 50 ] || die "s_server: $(cat ask.err) $(cat ss.err)"
	sleep 0.2
done
check test "$(tail -1 ask.out)" = 14
check refused eve localhost "$SP" 'refused by the peer: unknown CA$'
check refused none localhost "$SP" 'refused by the peer: no certificate$'

# Renewal: new files moved into place are served to the next client
# without a signal; SIGHUP reloads too.
ask alice localhost "$P" 1 --show-peer || die "show-peer: $(cat ask.err)"
old=$(sed -n 's/^server localhost serial //p' ask.out)
check test "$old" = "$(openssl x509 -in srv.pem -noout -serial |
    cut -d= -f2 | tr A-F a-f | sed 's/^0*//')"
hm -d ca issue --profile server --ca mid --new-key srv2.key \
    --san dns:localhost --san ip:127.0.0.1 -o srv2.pem \
    --chain-out srv2.chain >/dev/null
new=$(openssl x509 -in srv2.pem -noout -serial | cut -d= -f2 |
    tr A-F a-f | sed 's/^0*//')
nrel=$(grep -c '^reloaded ' s.out)
mv srv2.key srv.key
mv srv2.chain srv.chain
ask alice localhost "$P" 1 --show-peer || die "after renewal: $(cat ask.err)"
check grep -q "^server localhost serial $new\$" ask.out
check test "$(grep -c '^reloaded ' s.out)" -gt "$nrel"
# reloads_over N: more than N "reloaded" lines in s.out (10 s).
reloads_over() {
	i=0
	while [ "$(grep -c '^reloaded srv.chain$' s.out)" -le "$1" ]; do
		i=$((i + 1))
		[ "$i" -lt 100 ] || { cat s.out >&2; return 1; }
		sleep 0.1
	done
}
nrel=$(grep -c '^reloaded ' s.out)
kill -HUP "$SPID"
check reloads_over "$nrel"
check served alice localhost "$P" 5 6

# SIGTERM: exit 0.
kill -TERM "$SPID"
wait "$SPID" || die "addone-server did not exit 0 on SIGTERM"
check grep -q '^exiting$' s.out
done_ok
