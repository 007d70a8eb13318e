#!/bin/sh
# hallmark's main job end to end on the embedded store (SQLite): a root and
# an intermediate CA in a fresh directory, a server and a client
# certificate, both verified by openssl, the inventory, then revocation
# seen through hallmark serve (OCSP and CRL), a new machine enrolled with
# a token over plain HTTP that then talks mutual TLS to a demo server and
# renews its certificate, and a PKCS#12 export.
set -eu
hm=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
out=${DEMO_DIR:-demo-out}
rm -rf "$out"
mkdir -p "$out"
cd "$out"
say() { printf '\n== %s\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

say "a root CA, its key encrypted under a passphrase from the environment"
export DEMO_ROOT_PASS="demo root passphrase (change me)"
run "$hm" -d ca init --cn "Demo Root CA" --passphrase-env DEMO_ROOT_PASS

say "an intermediate CA under it"
run "$hm" -d ca ca new --name fleet --cn "Demo Fleet CA" \
    --ca-passphrase-env DEMO_ROOT_PASS
run "$hm" -d ca ca list

say "a server certificate from a CSR made on the server"
run "$hm" key new --type p256 -o server.key
run "$hm" csr new --key server.key --cn web1.demo.internal \
    --san dns:web1.demo.internal --san ip:127.0.0.1 -o server.csr
run "$hm" csr show server.csr
run "$hm" -d ca issue --profile server --ca fleet --csr server.csr \
    -o server.pem --chain-out server-chain.pem

say "a client certificate, key generated in one go"
run "$hm" -d ca issue --profile client --ca fleet --new-key client.key \
    --key-type ed25519 --cn robot-7 --san dns:robot-7.demo.internal \
    -o client.pem --chain-out client-chain.pem

say "both verified by openssl against the root"
run openssl verify -x509_strict -purpose sslserver -CAfile ca/ca/root/cert.pem \
    -untrusted server-chain.pem server.pem
run openssl verify -x509_strict -purpose sslclient -CAfile ca/ca/root/cert.pem \
    -untrusted client-chain.pem client.pem

say "the inventory"
run "$hm" -d ca list
run "$hm" -d ca list --expiring 100d --ca fleet

say "hallmark serve: CRLs, OCSP and enrollment on 127.0.0.1 (HTTP and HTTPS)"
run "$hm" -d ca issue --profile server --ca fleet --new-key tls.key \
    --san ip:127.0.0.1 --san dns:localhost -o tls.pem --chain-out tls-chain.pem
"$hm" -d ca serve --listen 127.0.0.1:0 --tls-listen 127.0.0.1:0 \
    --tls-cert tls-chain.pem --tls-key tls.key \
    --ca-passphrase-env DEMO_ROOT_PASS >serve.out 2>serve.log &
spid=$!
apid=
trap 'kill $spid $apid 2>/dev/null || true' EXIT
i=0
until grep -q '^listening on [0-9]' serve.out 2>/dev/null; do
	i=$((i + 1))
	[ $i -lt 100 ] || { cat serve.log; exit 1; }
	sleep 0.1
done
url=http://$(sed -n 's/^listening on \([0-9]\)/\1/p' serve.out)
turl=$(sed -n 's/^listening on \(https:\)/\1/p' serve.out)
echo "serving at $url"

say "the fleet CA publishes there: what it issues now carries the URLs"
run "$hm" -d ca ca url --ca fleet "$url"
run "$hm" -d ca issue --profile client --ca fleet --new-key robot-8.key \
    --cn robot-8 -o robot-8.pem --chain-out robot-8-chain.pem
run openssl x509 -in robot-8.pem -noout -ext crlDistributionPoints,authorityInfoAccess
# ocsp STATUS: ask, show the answer, and stop unless it says STATUS.
ocsp() {
	run openssl ocsp -issuer ca/ca/fleet/cert.pem -cert robot-8.pem \
	    -url "$(openssl x509 -in robot-8.pem -noout -ocsp_uri)" \
	    -CAfile ca/ca/root/cert.pem -timeout 5 >ocsp.txt 2>&1 || true
	cat ocsp.txt
	grep -q "^robot-8.pem: $1\$" ocsp.txt && grep -q 'verify OK' ocsp.txt
}
ocsp good

say "robot-8 is lost: revoke it; OCSP and the CRL say so at once"
serial=$(openssl x509 -in robot-8.pem -noout -serial | cut -d= -f2)
run "$hm" -d ca revoke "$serial" --reason keyCompromise
ocsp revoked
run curl -s -o fleet.crl --max-time 5 "$url/crl/fleet"
run openssl crl -inform DER -in fleet.crl -noout -verify -CAfile ca/ca/fleet/cert.pem
openssl crl -inform DER -in fleet.crl -noout -text | grep -A2 "Serial Number: $serial"

say "a new machine enrolls over plain HTTP with a one-time token"
echo "\$ $hm -d ca token new --name pi-12 --profile both --san dns:pi-12.demo.internal --ca fleet"
token=$("$hm" -d ca token new --name pi-12 --profile both \
    --san dns:pi-12.demo.internal --ca fleet)
echo "(the token, shown once: ${token%-*}-...)"
echo "\$ hallmark enroll --server $url --token - --out-dir new-machine  # on the new machine"
echo "$token" | "$hm" enroll --server "$url" --token - --out-dir new-machine
run ls -l new-machine
run openssl verify -x509_strict -purpose sslclient -CAfile new-machine/ca.pem \
    -untrusted new-machine/chain.pem new-machine/cert.pem
run "$hm" -d ca token list

say "the new machine talks to a demo server over mutual TLS (examples/)"
bin=$(dirname "$hm")
"$bin/addone-server" --cert tls-chain.pem --key tls.key \
    --ca ca/ca/root/cert.pem --listen 127.0.0.1:0 >addone.out 2>addone.log &
apid=$!
i=0
until grep -q '^listening on ' addone.out 2>/dev/null; do
	i=$((i + 1))
	[ $i -lt 100 ] || { cat addone.log; exit 1; }
	sleep 0.1
done
aport=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' addone.out)
add() {
	run "$bin/addone-client" --cert new-machine/chain.pem \
	    --key new-machine/key.pem --ca new-machine/ca.pem \
	    --connect 127.0.0.1:"$aport" 41
}
add
echo "(a client without a certificate is turned away:)"
"$bin/addone-client" --ca new-machine/ca.pem --connect 127.0.0.1:"$aport" \
    41 || true

say "it renews its certificate over mutual TLS (a new key, the same names)"
run openssl x509 -in new-machine/cert.pem -noout -serial
run "$hm" renew --server "$turl" --cert new-machine/cert.pem \
    --key new-machine/key.pem
run openssl x509 -in new-machine/cert.pem -noout -serial
add
kill $apid
wait $apid || true
apid=
kill $spid
wait $spid || true
trap - EXIT
echo "serve's log:"
cat serve.log

say "the client's key and chain as PKCS#12, for a browser or Java"
export DEMO_P12_PASS="demo p12 passphrase"
run "$hm" -d ca export p12 --cert client.pem --key client.key --chain \
    -o client.p12 --passphrase-env DEMO_P12_PASS
run openssl pkcs12 -in client.p12 -noout -info -passin env:DEMO_P12_PASS
printf '\ndemo: OK (files in %s)\n' "$out"
