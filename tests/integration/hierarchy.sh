# A whole hierarchy from one file (examples/hierarchy.yaml): built, every
# chain verified by openssl -x509_strict and GnuTLS, a second run a no-op,
# a changed SAN re-issues that node only; constraints: auto and explicit
# constraints hold at issuance and in openssl verify.
. "$HM_TESTS/lib.sh"

EX=$HM_TESTS/../examples/hierarchy.yaml
export HALLMARK_ROOT_PASSPHRASE=root-secret-1 HALLMARK_PASSPHRASE=ca-secret-22
mkdir h
cp "$EX" h/hier.yaml

# A dry run plans everything and writes nothing.
hm -d ca init --config h/hier.yaml --dry-run > plan.txt
check grep -Eq '^  create +root ' plan.txt
check grep -Eq '^  create +ca +master ' plan.txt
check grep -Eq '^  create +node +server ' plan.txt
check grep -Eq '^  create +node +client ' plan.txt
check test ! -e ca
check test ! -e h/nodes

hm -d ca init --config h/hier.yaml > run1.txt
ROOT=ca/ca/root/cert.pem
for n in server client; do
	check test -f "h/nodes/$n/key.pem"
	check test "$(stat -c %a "h/nodes/$n/key.pem")" = 600
	check cmp -s "h/nodes/$n/ca.pem" "$ROOT"
	check test "$(grep -c 'BEGIN CERTIFICATE' "h/nodes/$n/chain.pem")" = 2
done
verify_chain h/nodes/server/ca.pem h/nodes/server/chain.pem sslserver
verify_chain h/nodes/client/ca.pem h/nodes/client/chain.pem sslclient
# The CA keys are encrypted under the file's passphrases.
check grep -q 'ENCRYPTED PRIVATE KEY' ca/ca/root/key.pem
check grep -q 'ENCRYPTED PRIVATE KEY' ca/ca/master/key.pem
openssl x509 -in h/nodes/server/cert.pem -noout -subject -ext \
    subjectAltName > srv.txt
check grep -q 'C = US, O = Example Robotics, OU = servers, CN = server' \
    srv.txt
check grep -q 'DNS:server.fleet.example, IP Address:10.20.0.1' srv.txt
openssl x509 -in ca/ca/master/cert.pem -noout -ext nameConstraints > nc.txt
check grep -q 'critical' nc.txt
check grep -q 'DNS:fleet.example' nc.txt
check grep -q 'IP:10.20.0.0/255.255.0.0' nc.txt
openssl pkey -in h/nodes/client/key.pem -noout -text > ck.txt
check grep -q 'ED25519' ck.txt

# Second run: nothing to do, nothing touched.
find ca h -type f -exec sha256sum {} + | sort > before.txt
hm -d ca init --config h/hier.yaml > run2.txt
check grep -q '^nothing to do' run2.txt
check test "$(grep -c '^  keep ' run2.txt)" -eq 4
find ca h -type f -exec sha256sum {} + | sort > after.txt
# The store's WAL may be checkpointed; compare everything but the store.
grep -v hallmark.db before.txt > b2.txt
grep -v hallmark.db after.txt > a2.txt
check cmp -s b2.txt a2.txt

# A changed SAN re-issues that node only, with its key kept.
sed -i 's/dns:server.fleet.example/dns:web.fleet.example/' h/hier.yaml
hm -d ca init --config h/hier.yaml --dry-run > plan3.txt
check grep -Eq '^  re-issue +node +server +names changed' plan3.txt
check test "$(grep -c '^  keep ' plan3.txt)" -eq 3
key_before=$(sha256sum < h/nodes/server/key.pem)
cli_before=$(sha256sum < h/nodes/client/cert.pem)
hm -d ca init --config h/hier.yaml > run3.txt
check test "$(sha256sum < h/nodes/server/key.pem)" = "$key_before"
check test "$(sha256sum < h/nodes/client/cert.pem)" = "$cli_before"
openssl x509 -in h/nodes/server/cert.pem -noout -ext subjectAltName > s3.txt
check grep -q 'DNS:web.fleet.example' s3.txt
verify_chain h/nodes/server/ca.pem h/nodes/server/chain.pem sslserver
hm -d ca init --config h/hier.yaml > run4.txt
check grep -q '^nothing to do' run4.txt

# A name outside master's constraints: refused when the file is loaded,
# with its position, before anything is written.
sed -i 's/dns:web.fleet.example/dns:web.elsewhere.example/' h/hier.yaml
refuse '^hallmark: .*hier.yaml:[0-9]+:[0-9]+: .*web.elsewhere.example' \
    hm -d ca init --config h/hier.yaml

# ... and when forced through the library's issue verb, refused there too.
refuse 'outside the names it permits' hm -d ca issue --profile server \
    --ca master --ca-passphrase-env HALLMARK_PASSPHRASE \
    --new-key out.key --san dns:web.elsewhere.example -o out.pem
check test ! -e out.pem

# A certificate made by hand under master's key, with such a name, fails
# openssl verify: the constraints are in the chain, not only in hallmark.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout evil.key -subj /CN=evil -addext \
    subjectAltName=DNS:evil.elsewhere.example -out evil.csr 2>/dev/null
openssl pkey -in ca/ca/master/key.pem -passin env:HALLMARK_PASSPHRASE \
    -out master.key
printf 'subjectAltName=DNS:evil.elsewhere.example\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nauthorityKeyIdentifier=keyid\n' > evil.ext
openssl x509 -req -in evil.csr -CA ca/ca/master/cert.pem -CAkey master.key \
    -CAcreateserial -days 1 -extfile evil.ext -out evil.pem 2>/dev/null
cat evil.pem ca/ca/master/cert.pem > evil.chain
if openssl verify -x509_strict -CAfile "$ROOT" -untrusted evil.chain \
    evil.pem > evil.txt 2>&1; then
	die "a name outside master's constraints verifies"
fi
check grep -q 'permitted subtree violation' evil.txt

# constraints: auto derives the nodes' names, and adding a node re-issues
# the intermediate (same key: the certificates it issued stay valid).
cat > h/auto.yaml <<'EOF'
root:
  subject: { CN: Auto Root }
  pathlen: 1
intermediates:
  - name: edge
    parent: root
    constraints: auto
nodes:
  - name: a
    profile: server
    issuer: edge
    sans: [dns:a.auto.example, ip:192.0.2.10]
EOF
hm -d auto init --config h/auto.yaml > a1.txt
openssl x509 -in auto/ca/edge/cert.pem -noout -ext nameConstraints > anc.txt
check grep -q 'DNS:a.auto.example' anc.txt
check grep -q 'IP:192.0.2.10/255.255.255.255' anc.txt
verify_chain h/nodes/a/ca.pem h/nodes/a/chain.pem sslserver
cat >> h/auto.yaml <<'EOF'
  - name: b
    profile: client
    issuer: edge
    sans: [dns:b.auto.example]
EOF
hm -d auto init --config h/auto.yaml --dry-run > a2.txt
check grep -Eq '^  re-issue +ca +edge +name constraints changed' a2.txt
check grep -Eq '^  update +node +a ' a2.txt
check grep -Eq '^  create +node +b ' a2.txt
hm -d auto init --config h/auto.yaml > a3.txt
verify_chain h/nodes/a/ca.pem h/nodes/a/chain.pem sslserver
verify_chain h/nodes/b/ca.pem h/nodes/b/chain.pem sslclient
hm -d auto init --config h/auto.yaml > a4.txt
check grep -q '^nothing to do' a4.txt

# A name outside edge's auto constraints: refused at issue time, and a
# certificate made by hand with edge's key fails openssl verify.
refuse 'dns:c.auto.example is outside the names it permits' \
    hm -d auto issue --profile server --ca edge --new-key c.key \
    --san dns:c.auto.example -o c.pem
check test ! -e c.pem
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout c2.key -subj /CN=c -out c2.csr 2>/dev/null
printf 'subjectAltName=DNS:c.auto.example\nextendedKeyUsage=serverAuth\n' \
    > c2.ext
openssl x509 -req -in c2.csr -CA auto/ca/edge/cert.pem \
    -CAkey auto/ca/edge/key.pem -CAcreateserial -days 1 -extfile c2.ext \
    -out c2.pem 2>/dev/null
cat c2.pem auto/ca/edge/cert.pem > c2.chain
if openssl verify -x509_strict -CAfile auto/ca/root/cert.pem \
    -untrusted c2.chain c2.pem > c2.txt 2>&1; then
	die "a name outside edge's auto constraints verifies"
fi
check grep -q 'permitted subtree violation' c2.txt

done_ok
