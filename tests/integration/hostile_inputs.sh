# Hostile CSRs and names are refused at the edge: a one-line error on
# stderr that names the problem, a non-zero exit, no certificate written
# and nothing recorded in the inventory.  Fixtures: tests/data/gen-hostile.sh.
. "$HM_TESTS/lib.sh"
unset HALLMARK_DIR

sh "$HM_TESTS/data/gen-hostile.sh" "$T/h" >/dev/null ||
    die "gen-hostile.sh failed"
H=$T/h
hm -d ca init --cn "Hostile Root" >/dev/null
ROOT=ca/ca/root/cert.pem

count() {
	hm -d ca list --json |
	    python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'
}

# refuse_issue PATTERN ARGS...: issue -o out.pem ARGS is refused with
# PATTERN, writes nothing and leaves the inventory as it was.
refuse_issue() {
	pat=$1
	shift
	before=$(count)
	rm -f out.pem*
	refuse "$pat" hm -d ca issue --profile server -o out.pem "$@"
	[ ! -s "$T/.out" ] || die "refused issue $* printed: $(cat "$T/.out")"
	if ls -A | grep -q '^out\.pem'; then
		die "refused issue $* left $(ls -A | grep '^out\.pem')"
	fi
	after=$(count)
	[ "$after" -eq "$before" ] ||
	    die "refused issue $* changed the inventory ($before -> $after)"
}

# refuse_show PATTERN FILE: csr show fails cleanly, printing nothing.
refuse_show() {
	refuse "$1" hm csr show "$2"
	[ ! -s "$T/.out" ] || die "csr show $2 printed: $(cat "$T/.out")"
}

# Controls: the fixtures' well-formed CSRs are accepted, so the refusals
# below are for what each hostile file breaks and not for the set-up.
issue_ok() {	# issue_ok CSR
	before=$(count)
	rm -f ok.pem ok.chain
	hm -d ca issue --profile server --csr "$1" --san dns:ok.example \
	    -o ok.pem --chain-out ok.chain >/dev/null ||
	    die "control CSR $1 not issued"
	[ "$(count)" -eq $((before + 1)) ] || die "$1: inventory not +1"
	verify_chain "$ROOT" ok.chain sslserver
	hm csr show "$1" >/dev/null || die "csr show $1 failed"
}
check issue_ok "$H/valid.csr"
check issue_ok "$H/valid.der"
check issue_ok "$H/big-ok.csr"	# just under 64 KiB

# Each hostile file and the problem its error must name.
while read -r f pat; do
	[ -n "$f" ] || continue
	check refuse_issue "$pat" --csr "$H/$f" --san dns:ok.example
	check refuse_show "$pat" "$H/$f"
done <<'LIST'
badsig.der	signature
badsig.pem	signature
trunc.der	DER|parse|truncat
trunc.pem	PEM
trunc-body.pem	DER|PEM|parse
garbage.bin	DER|parse
empty.csr	empty
junk-1m.pem	65536|64 KiB|too (big|large)|limit
big-valid.csr	65536|64 KiB|too (big|large)|limit
wrong-label.pem	CERTIFICATE REQUEST
trailing.der	trailing
p256.key	CERTIFICATE REQUEST
rsa1024.key	CERTIFICATE REQUEST
rsa1024.csr	RSA.*1024|1024.*RSA
secp256k1.csr	secp256k1
ed448.csr	[Ee][Dd]448
san-space.csr	has space
san-label300.csr	DNS name.*(30[0-9]|label)
san-label64.csr	label of 64
san-nul.csr	NUL
san-ip5.csr	IP address of 5 bytes
san-notsan.csr	subjectAltName
two-cn.csr	(more than one|two) common names?
LIST

# Not files at all.
check refuse_issue "regular file" --csr /dev/zero --san dns:ok.example
check refuse_issue "regular file|directory" --csr "$H" --san dns:ok.example
check refuse_issue "No such file|not found|does not exist" \
    --csr "$H/missing.csr" --san dns:ok.example
check refuse_show "regular file" /dev/zero

# Names typed on the command line are held to the same rules, and refused
# before anything is issued (a NUL can't be passed in argv).
l300=$(head -c 300 /dev/zero | tr '\0' a)
l64=$(head -c 64 /dev/zero | tr '\0' b)
while read -r san pat; do
	[ -n "$san" ] || continue
	san=$(printf '%s' "$san" | sed "s/L300/$l300/; s/L64/$l64/; s/_/ /")
	check refuse_issue "$pat" --csr "$H/valid.csr" --san "$san"
	# The same name next to a good one: still refused.
	check refuse_issue "$pat" --csr "$H/valid.csr" --san dns:ok.example \
	    --san "$san"
done <<'LIST'
dns:has_space	has space
dns:L300.example	DNS name.*(30[0-9]|label)
dns:L64.example	label of 64
dns:	DNS name
dns:a..example	label of 0
dns:-a.example	'-'
dns:a.*.example	letter, digit or hyphen
dns:192.0.2.1	IP address
ip:300.1.1.1	300\.1\.1\.1
ip:1::2::3	1::2::3
ip:	IP address
email:nope	email.*nope
email:a@b@c.example	email
uri:has_space	URI
x400:whatever	bad name
LIST

# The common name: at most 64 characters, no controls.
cn65=$(head -c 65 /dev/zero | tr '\0' c)
cn64=$(head -c 64 /dev/zero | tr '\0' c)
check refuse_issue "65 characters|too long|at most 64" --csr "$H/valid.csr" \
    --cn "$cn65"
check refuse_issue "control" --csr "$H/valid.csr" --cn "$(printf 'a\tb')"
new_key_cn65() {
	refuse_issue "65 characters|too long|at most 64" --new-key nk.pem \
	    --cn "$cn65" --san dns:ok.example
	[ ! -e nk.pem ] || die "refused issue --new-key left nk.pem"
}
check new_key_cn65
cn64_ok() {
	rm -f ok.pem
	hm -d ca issue --profile server --csr "$H/valid.csr" --cn "$cn64" \
	    -o ok.pem >/dev/null || die "a 64-character --cn was refused"
	openssl x509 -in ok.pem -noout -subject | grep -q "$cn64" ||
	    die "the 64-character CN is not in the certificate"
}
check cn64_ok

done_ok
