#!/bin/sh
# hallmark's main job end to end on the embedded store (SQLite): a root and
# an intermediate CA in a fresh directory, a server and a client
# certificate, both verified by openssl, then the inventory.
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
printf '\ndemo: OK (files in %s)\n' "$out"
