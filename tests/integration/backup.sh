# An operator moves the signers of an offline CA to an online machine and
# backs the whole CA up: `hallmark export` writes the intermediates and
# their keys, never the root's, for two recipients (RSA and EC) that
# `openssl cms -decrypt` opens and a third key does not; `hallmark import`
# takes them into an online CA that has the root's certificate only, which
# then issues certificates that verify to the root; a backup restores into
# a CA with the same inventory that still issues; a damaged archive is
# refused with nothing written.
. "$HM_TESTS/lib.sh"

for t in openssl sqlite3 certtool; do
	command -v "$t" >/dev/null || die "$t is not installed"
done

export CAPASS=ca-passphrase-1 NEWPASS=online-passphrase-1

# fails CMD...: CMD exits non-zero (a plain `!` does not trip set -e).
fails() {
	if "$@"; then
		return 1
	fi
}

# The offline CA: root, mid (key encrypted) under it, sub under mid.
hm -d ca init --cn "Backup Root" >/dev/null
hm -d ca ca new --name mid --cn "Backup Mid" --pathlen 1 \
    --passphrase-env CAPASS >/dev/null
hm -d ca ca new --name sub --parent mid --cn "Backup Sub" \
    --ca-passphrase-env CAPASS >/dev/null 2>&1
hm -d ca issue --profile server --ca sub --new-key web.key \
    --cn web.example --san dns:web.example -o web.pem >/dev/null
hm -d ca issue --profile client --new-key alice.key --cn alice \
    -o alice.pem >/dev/null
hm -d ca revoke "$(openssl x509 -in alice.pem -noout -serial |
    sed 's/serial=//')" >/dev/null

# Recipients: RSA and EC P-256, and an unrelated key.
openssl req -x509 -newkey rsa:2048 -nodes -keyout rsa.key -out rsa.pem \
    -subj /CN=rsa-recipient -days 2 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout ec.key -out ec.pem -subj /CN=ec-recipient -days 2 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout other.key -out other.pem -subj /CN=other -days 2 2>/dev/null
openssl req -x509 -newkey ed25519 -nodes -keyout ed.key -out ed.pem \
    -subj /CN=ed -days 2 2>/dev/null

pub() { openssl pkey -in "$1" -pubout; }
certpub() { openssl x509 -in "$1" -noout -pubkey; }

# 1. Export.
hm -d ca export --recipient rsa.pem --recipient ec.pem -o signers.cms \
    --passphrase-env CAPASS >/dev/null
check test "$(stat -c %a signers.cms)" = 600
refuse 'exists' hm -d ca export --recipient rsa.pem -o signers.cms \
    --passphrase-env CAPASS
refuse "no passphrase for CA 'mid'" hm -d ca export \
    --recipient rsa.pem -o nopass.cms
refuse "root's key never leaves" hm -d ca export --recipient rsa.pem \
    -o root.cms --ca root
refuse 'ED25519 key can not receive' hm -d ca export --recipient ed.pem \
    -o ed.cms --passphrase-env CAPASS
check test ! -e nopass.cms
check test ! -e ed.cms

decrypt() {
	openssl cms -decrypt -inform DER -in "$1" -recip "$2.pem" \
	    -inkey "$2.key" -out "$3" 2>"$T/.cms"
}
check decrypt signers.cms rsa a-rsa.der
check decrypt signers.cms ec a-ec.der
check cmp -s a-rsa.der a-ec.der
check fails decrypt signers.cms other a-other.der
check fails openssl cms -decrypt -inform DER -in signers.cms \
    -inkey other.key -out a-other2.der
check test ! -s a-other.der

# Its names: the root's certificate, the intermediates' certificates and
# keys, and nothing else.
names() {
	openssl asn1parse -inform DER -in "$1" |
	    sed -n 's/.*UTF8STRING *://p' | sort
}
names a-rsa.der >names.txt
printf '%s\n' ca/mid/cert.pem ca/mid/key.pem ca/root/cert.pem \
    ca/sub/cert.pem ca/sub/key.pem | sort >names.want
check cmp -s names.txt names.want
# Its keys (PEM inside the DER) are exactly mid's and sub's: the root's
# is not among them, in any form.
strings a-rsa.der | awk '/BEGIN PRIVATE KEY/ { n++; f = "k" n ".pem" }
    f { print > f } /END PRIVATE KEY/ { f = "" }'
check test -f k1.pem -a -f k2.pem -a ! -f k3.pem
for k in k1 k2; do pub $k.pem; done | sort >keys.pub
for c in mid sub; do certpub ca/ca/$c/cert.pem; done | sort >want.pub
check cmp -s keys.pub want.pub
certpub ca/ca/root/cert.pem >root.pub
check fails grep -qFf <(grep -v -- ----- root.pub) keys.pub
openssl pkey -in ca/ca/root/key.pem -outform DER -out root.key.der
openssl pkey -in ca/ca/root/key.pem | grep -v -- ----- >root.key.b64
check fails grep -qFf root.key.b64 a-rsa.der
check python3 -c 'import sys
k = open("root.key.der", "rb").read()
a = open("a-rsa.der", "rb").read()
sys.exit(1 if k in a or k[-32:] in a else 0)'

# 2. Import on an online CA that has the root's certificate only.
cp ca/ca/root/cert.pem root.pem
hm -d online import signers.cms --key ec.key --cert ec.pem \
    --root root.pem --passphrase-env NEWPASS >import.out
check grep -q "imported CA 'mid'" import.out
check grep -q "imported CA 'sub'" import.out
check grep -q "no CRL or OCSP URL until .* ca url --ca NAME URL" import.out
check test ! -e online/ca/root/key.pem
for c in mid sub; do
	check test "$(stat -c %a online/ca/$c/key.pem)" = 600
	check grep -q 'BEGIN ENCRYPTED PRIVATE KEY' online/ca/$c/key.pem
	check cmp -s online/ca/$c/cert.pem ca/ca/$c/cert.pem
done
# The same CAs, but for where their keys are and how they are kept.
hm -d ca ca list --json |
    sed 's/"has_key": [a-z]*, "encrypted": [a-z]*//' >ca-list.ca
hm -d online ca list --json |
    sed 's/"has_key": [a-z]*, "encrypted": [a-z]*//' >ca-list.online
check cmp -s ca-list.ca ca-list.online
hm -d online ca list --json >online.json
check grep -q '"name": "root", [^}]*"has_key": false' online.json
check grep -q '"name": "mid", [^}]*"has_key": true' online.json
# Twice: nothing changes.
hm -d online import signers.cms --key rsa.key >import2.out
check grep -q "already had CA 'mid'" import2.out
check grep -q "already had CA 'sub'" import2.out
check test "$(grep -c "ca url" import2.out)" = 0
# The imported signer issues; the chain verifies to the root.
hm -d online issue --profile server --ca sub --new-key on.key \
    --cn on.example --san dns:on.example --chain-out on-chain.pem \
    -o on.pem --ca-passphrase-env NEWPASS >/dev/null
check openssl verify -x509_strict -purpose sslserver -CAfile root.pem \
    -untrusted on-chain.pem on.pem
verify_chain root.pem on-chain.pem sslserver
refuse 'no key in online' hm -d online issue --profile server \
    --new-key r.key --cn r.example --san dns:r.example -o r.pem
# Another root's CA refuses the archive, and takes in nothing.
hm -d other init --cn "Other Root" >/dev/null
refuse "not this CA's root" hm -d other import signers.cms --key ec.key
refuse 'is not the root certificate of this CA' hm -d other import \
    signers.cms --key ec.key --root root.pem
check test ! -e other/ca/mid
refuse 'damaged or not for this key' hm -d online2 import signers.cms \
    --key other.key --root root.pem
check test ! -e online2
hm -d other ca list >/dev/null
refuse "not this CA's root" hm -d online4 import signers.cms --key ec.key \
    --root other/ca/root/cert.pem
check test ! -e online4
refuse 'give --root' hm -d online3 import signers.cms --key ec.key

# 3. Backup and restore.  A reader holding a snapshot keeps the last
# issuance in the WAL (no checkpoint): a copy of hallmark.db would miss it.
( sqlite3 ca/hallmark.db 'BEGIN; SELECT count(*) FROM certs;' \
    '.shell sleep 5' 'COMMIT;' >/dev/null 2>&1 & )
sleep 0.5
hm -d ca issue --profile client --new-key late.key --cn late \
    -o late.pem >/dev/null
late=$(openssl x509 -in late.pem -noout -serial | sed 's/serial=//' |
    tr A-F a-f | sed 's/^0*//')
hm -d ca list --json >before.json
check grep -q "\"$late\"" before.json
hm -d ca backup --recipient rsa.pem --recipient ec.pem -o full.cms \
    >/dev/null
check test "$(stat -c %a full.cms)" = 600
check decrypt full.cms rsa b.der
check grep -qa 'SQLite format 3' b.der
check grep -qF "$(sed -n 2p ca/ca/root/key.pem)" b.der
hm restore full.cms -d restored --key ec.key --cert ec.pem >/dev/null
hm -d restored list --json >after.json
check cmp -s before.json after.json
hm -d ca ca list --json >cas.before
hm -d restored ca list --json >cas.after
check cmp -s cas.before cas.after
check cmp -s ca/ca/root/key.pem restored/ca/root/key.pem
check test "$(stat -c %a restored/ca/root/key.pem)" = 600
check test "$(stat -c %a restored/hallmark.db)" = 600
# The restored CA issues, from the root and from sub, to the same root.
hm -d restored issue --profile server --ca sub --new-key rs.key \
    --cn rs.example --san dns:rs.example --chain-out rs-chain.pem \
    -o rs.pem --ca-passphrase-env CAPASS >/dev/null
verify_chain root.pem rs-chain.pem sslserver
hm -d restored issue --profile server --new-key rr.key --cn rr.example \
    --san dns:rr.example -o rr.pem >/dev/null
check openssl verify -x509_strict -CAfile root.pem rr.pem
# Refused: a directory that is not empty; an empty one is fine.
refuse 'not an empty directory' hm restore full.cms -d restored \
    --key ec.key
mkdir empty
hm restore full.cms -d empty --key rsa.key >/dev/null
check test -f empty/ca/root/key.pem
refuse 'a backup, not signers' hm -d online import full.cms --key ec.key
refuse 'signers, not a backup' hm restore signers.cms -d r2 --key ec.key
check test ! -e r2

# 4. Damaged archives: a byte flipped near the start, in the middle, near
# the end, is refused with nothing written.
flip() {
	python3 - "$1" "$2" "$3" <<'EOF'
import sys
src, dst, where = sys.argv[1], sys.argv[2], sys.argv[3]
b = bytearray(open(src, "rb").read())
n = len(b)
i = {"start": 40, "middle": n // 2, "end": n - 3, "tag": n - 20,
     "body": n * 3 // 4}[where]
b[i] ^= 0x01
open(dst, "wb").write(bytes(b))
EOF
}
hm -d online ca list --json >online.before
for where in start middle body tag end; do
	flip full.cms bad-full.cms "$where"
	check fails cmp -s full.cms bad-full.cms
	refuse 'archive is damaged' hm restore bad-full.cms -d bad-$where \
	    --key ec.key --cert ec.pem
	check test ! -e bad-$where
	flip signers.cms bad-signers.cms "$where"
	refuse 'archive is damaged' hm -d online import bad-signers.cms \
	    --key rsa.key --cert rsa.pem
	refuse 'archive is damaged' hm -d new-$where import bad-signers.cms \
	    --key ec.key --root root.pem
	check test ! -e new-$where
	rm -f bad-full.cms bad-signers.cms
done
hm -d online ca list --json >online.after
check cmp -s online.before online.after
done_ok
