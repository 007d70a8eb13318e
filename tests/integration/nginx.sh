# A website that asks for client certificates (nginx, ssl_verify_client
# on, hallmark's CA bundle and CRLs): curl with a valid client certificate
# gets in; with none, with one of another CA, with an expired one, or with
# one revoked (after the CRL is made again and nginx reloaded), it is
# turned away.
. "$HM_TESTS/lib.sh"

NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || die "nginx is not installed (scripts/debian-packages)"

hm -d ca init --cn "Web Root" >/dev/null
hm -d ca ca new --name mid --cn "Web Mid" >/dev/null
hm -d ca issue --profile server --ca mid --new-key srv.key \
    --san dns:localhost --san ip:127.0.0.1 -o srv.pem \
    --chain-out srv.chain >/dev/null
for n in alice bob; do
	hm -d ca issue --profile client --ca mid --new-key $n.key --cn $n \
	    -o $n.pem >/dev/null
done
# Expires a second after it is issued.
hm -d ca issue --profile client --ca mid --new-key old.key --cn old \
    --validity 1s -o old.pem >/dev/null
# A client of a CA nginx does not know, with the same names.
hm -d other init --cn "Web Root" >/dev/null
hm -d other issue --profile client --new-key eve.key --cn alice \
    -o eve.pem >/dev/null
ROOT=ca/ca/root/cert.pem
cat ca/ca/mid/cert.pem $ROOT > bundle.pem
crls() {
	hm -d ca crl -o root.crl --force
	hm -d ca crl --ca mid -o mid.crl --force
	cat root.crl mid.crl > crls.pem
}
crls
verify_chain "$ROOT" srv.chain sslserver
for n in alice bob; do
	cat $n.pem ca/ca/mid/cert.pem > $n.chain
	verify_chain "$ROOT" $n.chain sslclient
done

PORT=$(python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p ng/logs ng/tmp
cat > ng/nginx.conf <<EOF
worker_processes 1;
pid $T/ng/nginx.pid;
error_log $T/ng/logs/error.log info;
events { worker_connections 64; }
http {
	access_log $T/ng/logs/access.log;
	client_body_temp_path $T/ng/tmp/body;
	proxy_temp_path $T/ng/tmp/proxy;
	fastcgi_temp_path $T/ng/tmp/fastcgi;
	uwsgi_temp_path $T/ng/tmp/uwsgi;
	scgi_temp_path $T/ng/tmp/scgi;
	server {
		listen 127.0.0.1:$PORT ssl;
		server_name localhost;
		ssl_certificate $T/srv.chain;
		ssl_certificate_key $T/srv.key;
		ssl_client_certificate $T/bundle.pem;
		ssl_verify_client on;
		ssl_verify_depth 2;
		ssl_crl $T/crls.pem;
		location / {
			default_type text/plain;
			return 200 "hello \$ssl_client_s_dn\n";
		}
	}
}
EOF
"$NGINX" -t -p "$T/ng" -e "$T/ng/logs/error.log" -c "$T/ng/nginx.conf" \
    >ng/t.txt 2>&1 || die "nginx -t: $(cat ng/t.txt)"
"$NGINX" -p "$T/ng" -e "$T/ng/logs/error.log" -c "$T/ng/nginx.conf" \
    -g 'daemon off;' 2>>ng/logs/error.log &
NPID=$!
trap 'kill "$NPID" 2>/dev/null || true; wait "$NPID" 2>/dev/null || true;
    rm -rf "$T"' EXIT

# code NAME [curl options]: the HTTP status nginx gives (000: none).
get() {
	curl -s -o body.txt -w '%{http_code}' --max-time 5 \
	    --resolve "localhost:$PORT:127.0.0.1" --cacert "$ROOT" \
	    "$@" "https://localhost:$PORT/" || true
}
i=0
while [ "$(get --cert alice.pem --key alice.key)" != 200 ]; do
	i=$((i + 1))
	[ "$i" -lt 100 ] || die "nginx did not answer 200 in 10 s:" \
	    "$(tail -5 ng/logs/error.log)"
	kill -0 "$NPID" 2>/dev/null ||
	    die "nginx exited: $(tail -5 ng/logs/error.log)"
	sleep 0.1
done
pass
check grep -q '^hello CN=alice$' body.txt
check test "$(get --cert bob.pem --key bob.key)" = 200

# Turned away: no certificate, another CA's, an expired one.
check test "$(get)" = 400
check grep -q 'No required SSL certificate was sent' body.txt
check test "$(get --cert eve.pem --key eve.key)" = 400
check grep -q 'The SSL certificate error' body.txt
while [ "$(date +%s)" -le "$(date -d "$(openssl x509 -in old.pem -noout \
    -enddate | cut -d= -f2)" +%s)" ]; do
	sleep 0.2
done
check test "$(get --cert old.pem --key old.key)" = 400
check grep -q 'certificate has expired' ng/logs/error.log

# Revoke bob: still in until the CRL is made again and nginx reloads it,
# then turned away; alice is still in.
hm -d ca revoke "$(openssl x509 -in bob.pem -noout -serial | cut -d= -f2)" \
    --reason keyCompromise >/dev/null
check test "$(get --cert bob.pem --key bob.key)" = 200
crls
kill -HUP "$NPID"
i=0
while [ "$(get --cert bob.pem --key bob.key)" != 400 ]; do
	i=$((i + 1))
	[ "$i" -lt 100 ] || die "bob still let in 10 s after the reload"
	sleep 0.1
done
pass
check grep -q 'certificate revoked' ng/logs/error.log
check test "$(get --cert alice.pem --key alice.key)" = 200
check grep -q '^hello CN=alice$' body.txt

# The curl side of the server's certificate: a client that does not
# trust the CA refuses the server.
check test "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
    --resolve "localhost:$PORT:127.0.0.1" --cert alice.pem --key alice.key \
    "https://localhost:$PORT/" || true)" = 000
done_ok
