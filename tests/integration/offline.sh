# An offline root: every key of its directory encrypted under the root's
# one passphrase (none in clear, a missing, wrong or different passphrase
# refused), and its scheduled signers: a dry run makes nothing, a run
# makes them all (encrypted, verifying under the root with -x509_strict
# at a time inside each one's life), a second run makes nothing.
. "$HM_TESTS/lib.sh"

export ROOTPASS=offline-root-pass OTHERPASS=another-passphrase

# 0 when every key file under DIR/ca is encrypted and none is in clear.
all_encrypted() {
	ls "$1"/ca/*/key.pem >/dev/null &&
	    ! grep -L 'BEGIN ENCRYPTED PRIVATE KEY' "$1"/ca/*/key.pem |
	    grep -q . &&
	    ! grep -Eq 'BEGIN (RSA |EC |OPENSSH )?PRIVATE KEY' "$1"/ca/*/key.pem
}

# No passphrase, no offline root; nothing left behind.
refuse 'offline.*passphrase' hm -d ca init --cn 'Offline Root' --offline
check test ! -e ca/hallmark.db
hm -d ca init --cn 'Offline Root' --offline --passphrase-env ROOTPASS \
    > init.txt
check grep -q '^created offline root CA' init.txt
check all_encrypted ca

# A new CA: the root's passphrase by default, another one refused, a
# wrong one for the root refused, none refused.
hm -d ca ca new --name mid --cn Mid --ca-passphrase-env ROOTPASS > mid.txt
refuse 'does not unlock the root key' hm -d ca ca new --name mid2 --cn M2 \
    --ca-passphrase-env ROOTPASS --passphrase-env OTHERPASS
refuse 'wrong passphrase' hm -d ca ca new --name mid3 --cn M3 \
    --ca-passphrase-env OTHERPASS
refuse 'passphrase is needed' hm -d ca ca new --name mid4 --cn M4 </dev/null
check test ! -e ca/ca/mid2
check test ! -e ca/ca/mid3
check test ! -e ca/ca/mid4
check all_encrypted ca
openssl verify -x509_strict -CAfile ca/ca/root/cert.pem ca/ca/mid/cert.pem \
    > v.txt 2>&1
check grep -q ': OK$' v.txt
# The keys open with the one passphrase, and with no other.
check openssl pkey -in ca/ca/mid/key.pem -passin env:ROOTPASS -noout
check sh -c '! openssl pkey -in ca/ca/mid/key.pem -passin env:OTHERPASS \
    -noout 2>/dev/null'

# A key written in clear by issue is refused; an encrypted one is not.
refuse 'offline CA directory' hm -d ca issue --profile client --cn c1 \
    --new-key c1.key -o c1.pem --ca mid --ca-passphrase-env ROOTPASS
check test ! -e c1.key
hm -d ca issue --profile client --cn c1 --new-key c1.key -o c1.pem \
    --ca mid --ca-passphrase-env ROOTPASS --passphrase-env OTHERPASS >/dev/null
check grep -q 'BEGIN ENCRYPTED PRIVATE KEY' c1.key

# A hierarchy file: offline: true wants passphrases everywhere.
cat > bad.yaml <<'YAML'
root:
  offline: true
YAML
refuse 'bad.yaml:2:12: an offline root needs a passphrase' \
    hm -d ca2 init --config bad.yaml
check test ! -e ca2

# The schedule, in an offline directory made from a file.
cat > sched.yaml <<'YAML'
root:
  subject: { CN: Offline Root }
  offline: true
  passphrase_env: ROOTPASS
schedule:
  quantum: 4
  lead: 2y
  validity: 1y
  overlap: 90d
YAML
hm -d off init --config sched.yaml > off-init.txt
hm -d off schedule --config sched.yaml --dry-run > dry.txt
check grep -q 'dry run: nothing done' dry.txt
check test "$(grep -c ' create$' dry.txt)" -ge 8
check test "$(ls off/ca)" = root
hm -d off schedule --config sched.yaml > run1.txt
n=$(grep -c ' create$' run1.txt)
check grep -q "^done: $n signers created" run1.txt
check test "$(ls off/ca | grep -c '^signer-[0-9]*q[1-4]$')" -eq "$n"
check all_encrypted off
# Each signer verifies under the root, strictly, inside its own life.
for d in off/ca/signer-*; do
	nb=$(date -d "$(openssl x509 -in "$d/cert.pem" -noout -startdate |
	    cut -d= -f2)" +%s)
	na=$(date -d "$(openssl x509 -in "$d/cert.pem" -noout -enddate |
	    cut -d= -f2)" +%s)
	check test "$nb" -lt "$na"
	openssl verify -x509_strict -attime $(((nb + na) / 2)) \
	    -CAfile off/ca/root/cert.pem "$d/cert.pem" > v.txt 2>&1
	check grep -q ': OK$' v.txt
	check openssl pkey -in "$d/key.pem" -passin env:ROOTPASS -noout
done
# The same set of timelines line by line, now all existing.
hm -d off schedule --config sched.yaml > run2.txt
check grep -q '^nothing to do' run2.txt
check test "$(grep -c ' exists$' run2.txt)" -eq "$n"
check test "$(grep -c ' create$' run2.txt)" -eq 0
# A schedule whose signers could not cover their slots is refused.
sed 's/validity: 1y/validity: 100d/' sched.yaml > short.yaml
refuse 'short.yaml:[0-9]+:[0-9]+: validity 100d is too short.*at least 182d' \
    hm -d off schedule --config short.yaml
# The signers' keys take the root's passphrase: another one is refused.
sed 's/^  overlap: 90d/  overlap: 90d\n  lead: 3y\n  passphrase_env: OTHERPASS/; s/^  lead: 2y//' \
    sched.yaml > other.yaml
refuse 'does not unlock the root key' hm -d off schedule --config other.yaml

done_ok
