# A user exports a key and its certificate, with and without the CAs above
# it, as modern and legacy PKCS#12 files, and OpenSSL, NSS (pk12util,
# certutil) and GnuTLS (certtool) import them: the key pairs with its
# certificate, the algorithms are the ones promised, and what would make a
# bad file is refused.
. "$HM_TESTS/lib.sh"

for t in openssl certutil pk12util certtool; do
	command -v "$t" >/dev/null ||
	    die "$t is not installed (libnss3-tools, gnutls-bin and openssl" \
	    "are in scripts/debian-packages)"
done

export KP=key-passphrase-1 P12=p12-passphrase-1 OTHER=another-one-2
export SHORT=short

# fails CMD...: CMD exits non-zero (a plain `!` does not trip set -e).
fails() {
	if "$@"; then
		return 1
	fi
}

hm -d ca init --cn "P12 Root" >/dev/null
hm -d ca ca new --name mid --cn "P12 Mid" >/dev/null
# alice: under mid, her key encrypted; bob: under the root, RSA, plain.
hm -d ca issue --profile client --ca mid --new-key alice.key --cn alice \
    --passphrase-env KP -o alice.pem >/dev/null
hm -d ca issue --profile both --new-key bob.key --key-type rsa2048 \
    --cn bob --san dns:bob.example.net -o bob.pem >/dev/null
printf '%s\n' "$KP" >kp.txt
printf '%s\n' "$OTHER" >p12.txt

p12() { hm -d ca export p12 "$@"; }
p12 --cert alice.pem --key alice.key --key-passphrase-env KP --chain \
    -o alice-modern.p12 --passphrase-env P12 >/dev/null
p12 --cert alice.pem --key alice.key --key-passphrase-file kp.txt --chain \
    --legacy -o alice-legacy.p12 --passphrase-env P12 >/dev/null
p12 --cert bob.pem --key bob.key -o bob-modern.p12 --passphrase-env P12 \
    --name "Bob's laptop" >/dev/null
p12 --cert bob.pem --key bob.key --legacy -o bob-legacy.p12 \
    --passphrase-env P12 >/dev/null
# Another passphrase source, and the key's passphrase differs from it.
p12 --cert alice.pem --key alice.key --key-passphrase-env KP \
    -o alice-file.p12 --passphrase-file p12.txt >/dev/null

# The file holds a key: 0600.
for f in alice-modern alice-legacy bob-modern bob-legacy alice-file; do
	check test "$(stat -c %a "$f.p12")" = 600
done

# OpenSSL reads FILE with PASS: the leaf is CERT, the key is its key (the
# public keys compare), key and leaf share a localKeyID and friendlyName
# NAME, and NCAS CA certificates follow.
openssl_reads() {
	f=$1 pass=$2 cert=$3 name=$4 ncas=$5
	openssl pkcs12 -in "$f" -passin "pass:$pass" -nodes -out "$f.all"
	openssl pkcs12 -in "$f" -passin "pass:$pass" -clcerts -nokeys \
	    -out "$f.leaf"
	openssl pkcs12 -in "$f" -passin "pass:$pass" -nocerts -nodes \
	    -out "$f.key"
	openssl x509 -in "$f.leaf" -outform DER -out "$f.leaf.der"
	openssl x509 -in "$cert" -outform DER -out "$f.want.der"
	cmp -s "$f.leaf.der" "$f.want.der"
	openssl pkey -in "$f.key" -pubout -out "$f.kpub"
	openssl x509 -in "$f.leaf" -pubkey -noout >"$f.cpub"
	cmp -s "$f.kpub" "$f.cpub"
	[ "$(grep -c 'localKeyID:' "$f.all")" -eq 2 ]
	[ "$(grep 'localKeyID:' "$f.all" | sort -u | wc -l)" -eq 1 ]
	[ "$(grep -c "friendlyName: $name\$" "$f.all")" -eq 2 ]
	n=$(openssl pkcs12 -in "$f" -passin "pass:$pass" -cacerts -nokeys |
	    grep -c 'BEGIN CERTIFICATE' || true)
	[ "$n" -eq "$ncas" ]
	# Not with another passphrase.
	fails openssl pkcs12 -in "$f" -passin pass:wrong-passphrase -noout \
	    2>/dev/null
}

# `openssl pkcs12 -info` names the algorithms of the MAC, the certificates
# and the key.
AES='PBES2, PBKDF2, AES-256-CBC, .*PRF hmacWithSHA256'
DES3='pbeWithSHA1And3-KeyTripleDES-CBC'
modern_algorithms() {
	openssl pkcs12 -info -noout -in "$1" -passin "pass:$2" >"$1.info" 2>&1
	grep -q '^MAC: sha256' "$1.info"
	grep -q "^PKCS7 Encrypted data: $AES" "$1.info"
	grep -q "^Shrouded Keybag: $AES" "$1.info"
	fails grep -Eq 'TripleDES|RC2|sha1' "$1.info"
}
legacy_algorithms() {
	openssl pkcs12 -info -noout -in "$1" -passin "pass:$2" >"$1.info" 2>&1
	grep -q '^MAC: sha1' "$1.info"
	grep -q "^PKCS7 Encrypted data: $DES3" "$1.info"
	grep -q "^Shrouded Keybag: $DES3" "$1.info"
	fails grep -Eq 'PBES2|RC2' "$1.info"
}

# NSS imports FILE into a new database; certutil lists the certificate
# with its key (u,u,u), the key, and exactly the CAs given.
nss_imports() {
	f=$1 pass=$2 name=$3
	shift 3
	db=$T/nss-${f%.p12}
	rm -rf "$db"
	mkdir "$db"
	certutil -N -d "sql:$db" --empty-password
	fails pk12util -i "$f" -d "sql:$db" -W wrong-passphrase >/dev/null 2>&1
	pk12util -i "$f" -d "sql:$db" -W "$pass" >"$db.out" 2>&1
	certutil -L -d "sql:$db" >"$db.certs"
	grep -q "^$name  *u,u,u\$" "$db.certs"
	certutil -K -d "sql:$db" >"$db.keys" 2>&1
	grep -q "$name\$" "$db.keys"
	[ "$(grep -c '^< *[0-9]*>' "$db.keys")" -eq 1 ]
	# One line a certificate after the header.
	n=$(grep -cvE '^$|Certificate Nickname|SSL,S/MIME' "$db.certs")
	[ "$n" -eq $((1 + $#)) ]
	for ca in "$@"; do
		grep -q "^$ca  *,," "$db.certs"
	done
}

# GnuTLS reads FILE (the MAC checks) and names the algorithms.
gnutls_reads() {
	f=$1 pass=$2 mac=$3 schema=$4 ncerts=$5
	fails certtool --p12-info --inder --infile "$f" \
	    --password wrong-passphrase >/dev/null 2>&1
	certtool --p12-info --inder --infile "$f" --password "$pass" \
	    >"$f.gnutls" 2>&1
	grep -q "MAC: $mac " "$f.gnutls"
	[ "$(grep -c "Schema: $schema " "$f.gnutls")" -eq 2 ]
	[ "$(grep -c 'BEGIN CERTIFICATE' "$f.gnutls")" -eq "$ncerts" ]
	grep -q 'BEGIN ENCRYPTED PRIVATE KEY' "$f.gnutls"
}

check openssl_reads alice-modern.p12 "$P12" alice.pem alice 2
check openssl_reads alice-legacy.p12 "$P12" alice.pem alice 2
check openssl_reads bob-modern.p12 "$P12" bob.pem "Bob's laptop" 0
check openssl_reads bob-legacy.p12 "$P12" bob.pem bob 0
check openssl_reads alice-file.p12 "$OTHER" alice.pem alice 0
# With --chain the CAs are the directory's mid and root, in that order, and
# the leaf and mid taken from the file verify up to the root.
openssl pkcs12 -in alice-modern.p12 -passin env:P12 -cacerts -nokeys \
    -out cas.pem
awk '/BEGIN CERTIFICATE/ { n++ } n { print > ("ca-" n ".pem") }' cas.pem
fpr() { openssl x509 -in "$1" -noout -fingerprint -sha256; }
check test "$(fpr ca-1.pem)" = "$(fpr ca/ca/mid/cert.pem)"
check test "$(fpr ca-2.pem)" = "$(fpr ca/ca/root/cert.pem)"
check test ! -e ca-3.pem
openssl x509 -in alice-modern.p12.leaf >alice-chain.pem
openssl x509 -in ca-1.pem >>alice-chain.pem
verify_chain ca/ca/root/cert.pem alice-chain.pem sslclient

check modern_algorithms alice-modern.p12 "$P12"
check modern_algorithms bob-modern.p12 "$P12"
check modern_algorithms alice-file.p12 "$OTHER"
check legacy_algorithms alice-legacy.p12 "$P12"
check legacy_algorithms bob-legacy.p12 "$P12"

check nss_imports alice-modern.p12 "$P12" alice "P12 Mid" "P12 Root"
check nss_imports alice-legacy.p12 "$P12" alice "P12 Mid" "P12 Root"
check nss_imports bob-modern.p12 "$P12" "Bob's laptop"
check nss_imports bob-legacy.p12 "$P12" bob

check gnutls_reads alice-modern.p12 "$P12" SHA256 PBES2-AES256-CBC 3
check gnutls_reads alice-legacy.p12 "$P12" SHA1 PKCS12-3DES-SHA1 3
check gnutls_reads bob-modern.p12 "$P12" SHA256 PBES2-AES256-CBC 1
check gnutls_reads bob-legacy.p12 "$P12" SHA1 PKCS12-3DES-SHA1 1

# Refusals, each on one line; nothing is written.
refuse 'does not match the certificate' \
    p12 --cert alice.pem --key bob.key -o x.p12 --passphrase-env P12
refuse 'exists; refusing to overwrite' \
    p12 --cert bob.pem --key bob.key -o bob-modern.p12 --passphrase-env P12
refuse 'shorter than 8' \
    p12 --cert bob.pem --key bob.key -o x.p12 --passphrase-env SHORT
refuse 'needs a passphrase: give --passphrase-env' \
    p12 --cert bob.pem --key bob.key -o x.p12
refuse 'unset or empty' \
    p12 --cert bob.pem --key bob.key -o x.p12 --passphrase-env NO_SUCH_VAR
refuse 'encrypted.*--key-passphrase-env' \
    p12 --cert alice.pem --key alice.key -o x.p12 --passphrase-env P12 \
    </dev/null
refuse 'wrong passphrase' \
    p12 --cert alice.pem --key alice.key --key-passphrase-env P12 -o x.p12 \
    --passphrase-env P12
refuse 'standard output' \
    p12 --cert bob.pem --key bob.key -o - --passphrase-env P12
refuse 'more than one' \
    p12 --cert cas.pem --key bob.key -o x.p12 --passphrase-env P12
refuse 'friendly name' \
    p12 --cert bob.pem --key bob.key -o x.p12 --passphrase-env P12 \
    --name ''
# --chain: CERT must come from a CA of DIR.
hm -d other init --cn "P12 Root" >/dev/null
refuse 'not issued \(signed\) by a CA of other' \
    hm -d other export p12 --cert bob.pem --key bob.key --chain -o x.p12 \
    --passphrase-env P12
refuse 'usage: hallmark' p12 --cert bob.pem -o x.p12 --passphrase-env P12
check test ! -e x.p12

# Usage errors exit 2; the passphrase source is part of the usage.
set +e
p12 --cert bob.pem --key bob.key -o x.p12 2>/dev/null; r1=$?
p12 --key bob.key -o x.p12 --passphrase-env P12 2>/dev/null; r2=$?
p12 --cert bob.pem --key bob.key -o x.p12 --passphrase-env P12 --bogus \
    2>/dev/null; r3=$?
set -e
check test "$r1$r2$r3" = 222

# --force replaces the file atomically, still 0600, with the new content.
cp bob-modern.p12 before.p12
p12 --cert bob.pem --key bob.key -o bob-modern.p12 --passphrase-env OTHER \
    --force >/dev/null
check test "$(stat -c %a bob-modern.p12)" = 600
check openssl_reads bob-modern.p12 "$OTHER" bob.pem bob 0
check fails cmp -s before.p12 bob-modern.p12
done_ok
