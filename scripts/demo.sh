#!/bin/sh
# hallmark's main job end to end on the embedded store (SQLite): a root and
# an intermediate CA in a fresh directory, a server and a client
# certificate, both verified by openssl, the inventory, then revocation
# seen through hallmark serve (OCSP and CRL), a new machine enrolled with
# a token over plain HTTP that then talks mutual TLS to a demo server and
# renews its certificate, and a PKCS#12 export; then an offline root that
# makes its signers a year ahead and hands them to an online CA in an
# encrypted archive, and a backup restored elsewhere.
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
say "an offline root: every key under one passphrase, signers made ahead"
export DEMO_OFFLINE_PASS="demo offline passphrase (change me)"
cat > offline.yaml <<'YAML'
root:
  subject: { CN: Demo Offline Root }
  offline: true
  passphrase_env: DEMO_OFFLINE_PASS
schedule:
  quantum: 4
  lead: 1y
  validity: 1y
  overlap: 90d
YAML
run "$hm" -d offline init --config offline.yaml
run "$hm" -d offline schedule --config offline.yaml
echo "(no key in clear:)"
run grep -c "BEGIN ENCRYPTED PRIVATE KEY" offline/ca/root/key.pem

say "the signers, never the root key, to an online CA that only its key opens"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout online.key -out online.pem -subj /CN=online.demo.internal \
    -days 365 2>/dev/null
run "$hm" -d offline export --recipient online.pem -o signers.cms \
    --passphrase-env DEMO_OFFLINE_PASS
run openssl cms -decrypt -inform DER -in signers.cms -recip online.pem \
    -inkey online.key -out signers.der
cp offline/ca/root/cert.pem offline-root.pem
export DEMO_ONLINE_PASS="demo online passphrase (change me)"
run "$hm" -d online import signers.cms --key online.key \
    --root offline-root.pem --passphrase-env DEMO_ONLINE_PASS
run "$hm" -d online ca list
echo "(the online CA issues with the signer of now; the root key is not there:)"
signer=signer-$(date -u +%Y)q$(( ($(date -u +%m | sed 's/^0//') + 2) / 3 ))
run "$hm" -d online issue --profile server --ca "$signer" \
    --new-key web2.key --san dns:web2.demo.internal -o web2.pem \
    --chain-out web2-chain.pem --ca-passphrase-env DEMO_ONLINE_PASS
run openssl verify -x509_strict -purpose sslserver -CAfile offline-root.pem \
    -untrusted web2-chain.pem web2.pem

say "a full backup, and the drill: restored elsewhere, it issues again"
openssl req -x509 -newkey rsa:3072 -nodes -keyout backup.key \
    -out backup.pem -subj /CN=backup-holder -days 365 2>/dev/null
run "$hm" -d ca backup --recipient backup.pem -o ca-backup.cms
run "$hm" restore ca-backup.cms -d ca-restored --key backup.key
run "$hm" -d ca-restored list
run "$hm" -d ca-restored issue --profile client --ca fleet \
    --new-key drill.key --cn drill -o drill.pem \
    --ca-passphrase-env DEMO_ROOT_PASS
run openssl verify -x509_strict -CAfile ca/ca/root/cert.pem \
    -untrusted ca/ca/fleet/cert.pem drill.pem
printf '\ndemo: OK (files in %s)\n' "$out"
