# The renewal agent: with 20-second certificates renewed at half their
# life, it renews twice in bounded time, runs the hook after each, and a
# reader never sees a half-written file; SIGTERM stops it.
. "$HM_TESTS/lib.sh"

hm -d ca init --cn "Agent Root" >/dev/null
hm -d ca ca new --name mid --cn "Agent Mid" >/dev/null
hm -d ca issue --profile server --ca mid --new-key srv.key \
    --san dns:localhost --san ip:127.0.0.1 -o srv.pem \
    --chain-out srv.chain >/dev/null
serve_start s1 --listen 127.0.0.1:0 --tls-listen 127.0.0.1:0 \
    --tls-cert srv.chain --tls-key srv.key
APID=
RPID=
trap 'kill "$SPID" $APID $RPID 2>/dev/null || true; rm -rf "$T"' EXIT
TURL=$(sed -n 's|^listening on \(https://.*\)$|\1|p' s1.out)
mkdir a
hm -d ca issue --profile client --ca mid --new-key a/key.pem --cn robot \
    --validity 20s -o a/cert.pem --chain-out a/chain.pem >/dev/null
cp ca/ca/root/cert.pem a/ca.pem
s0=$(openssl x509 -in a/cert.pem -noout -serial)

# A reader that reads the files all the while: each read whole.
cat >reader.py <<'PYEOF'
import os, sys, time
d = sys.argv[1]
bad = reads = 0
end = time.time() + 120
while time.time() < end and not os.path.exists("stop"):
	for f in ("cert.pem", "key.pem", "chain.pem"):
		b = open(os.path.join(d, f), "rb").read()
		reads += 1
		if not (b.startswith(b"-----BEGIN ") and
		    b.rstrip().endswith(b"-----") and
		    b.count(b"-----BEGIN") == b.count(b"-----END")):
			bad += 1
print("reads %d bad %d" % (reads, bad))
PYEOF
python3 reader.py a >reader.txt 2>&1 &
RPID=$!
"$HM" agent --server "$TURL" --cert a/cert.pem --key a/key.pem \
    --renew-at 1/2 --exec 'echo renewed >>hook.log' 2>agent.log &
APID=$!
i=0
while [ "$(cat hook.log 2>/dev/null | wc -l)" -lt 2 ]; do
	i=$((i + 1))
	[ "$i" -lt 600 ] || die "not two renewals in 60 s: $(cat agent.log)"
	kill -0 "$APID" 2>/dev/null || die "the agent died: $(cat agent.log)"
	sleep 0.1
done
pass
kill -TERM "$APID"
rc=0
wait "$APID" || rc=$?
APID=
check test "$rc" -eq 0
touch stop
wait "$RPID" || true
RPID=
check grep -q ' bad 0$' reader.txt
check test "$(grep -c 'agent: renewed: a/cert.pem now holds serial' \
    agent.log)" -eq 2
check test "$(grep -c 'agent: --exec: done' agent.log)" -eq 2
check grep -q 'agent: next renewal of a/cert.pem at ' agent.log
check grep -q 'agent: stopping' agent.log
# What it holds now: a new certificate, for its key, verified; two
# superseded before it.
check test "$(openssl x509 -in a/cert.pem -noout -serial)" != "$s0"
check test "$(openssl pkey -in a/key.pem -pubout)" = \
    "$(openssl x509 -in a/cert.pem -noout -pubkey)"
verify_chain a/ca.pem a/chain.pem sslclient
check test "$(hm -d ca list | grep -c 'superseded.*CN=robot')" -eq 2
# Options checked first.
refuse 'renew-at' hm agent --server "$TURL" --cert a/cert.pem \
    --key a/key.pem --renew-at 3/2
refuse 'https://' hm agent --server http://127.0.0.1:1 --cert a/cert.pem \
    --key a/key.pem
done_ok
