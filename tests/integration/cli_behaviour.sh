# The CLI as an operator meets it: help, errors, files and their modes,
# passphrases, the inventory views, HALLMARK_DIR and validity clamping.
. "$HM_TESTS/lib.sh"
unset HALLMARK_DIR

# Passphrases live in the environment only; none may ever be printed.
PW='Corr3ct-h0rse-battery'
PW2='2nd-Staple-passphrase'
BADPW='Wr0ng-guess-passphrase'
export PW PW2 BADPW
PLOG=$T/passlog		# everything printed by passphrase commands

# Run hallmark with no controlling terminal and no stdin, so that a missing
# passphrase can't turn into a prompt that waits for ever.
hm_notty() { setsid -w "$HM" "$@" </dev/null; }
# refuse, and keep what was printed for the passphrase check.
prefuse() {
	refuse "$@"
	cat "$T/.out" "$T/.err" >> "$PLOG"
}
count() {	# count DIR: certificates in the inventory
	hm -d "$1" list --json |
	    python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'
}
isjson() { python3 -c 'import json,sys; json.load(sys.stdin)'; }
serial_of() {	# serial_of CERT: lower-case hex, as hallmark prints it
	openssl x509 -in "$1" -noout -serial | sed 's/.*=//' | tr 'A-F' 'a-f'
}
tree_sum() {	# tree_sum DIR: a digest of every file and mode under DIR
	(cd "$1" && find . -type f -exec stat -c '%n %a' {} + | sort &&
	    find . -type f -exec sha256sum {} + | sort) | sha256sum
}

hm -d ca init --cn "CLI Root" >/dev/null
ROOT=ca/ca/root/cert.pem

# --- help: exit 0, usage on stdout, nothing on stderr, no CA needed -------
help_ok() {
	"$HM" -d "$T/nowhere" "$@" > help.out 2> help.err ||
	    die "hallmark $* exits non-zero"
	grep -qi "usage" help.out || die "hallmark $* prints no usage"
	[ ! -s help.err ] || die "hallmark $* writes to stderr: $(cat help.err)"
	[ ! -e "$T/nowhere" ] || die "hallmark $* created the CA directory"
}
while read -r args; do
	check help_ok $args
done <<'LIST'
--help
-h
init --help
ca --help
ca new --help
ca new -h
ca list --help
key --help
key new --help
csr --help
csr new --help
csr show --help
issue --help
list --help
show --help
LIST

# --- unknown verbs and options: non-zero, one line naming it ------------
while read -r pat args; do
	check refuse "$pat" hm -d ca $args
done <<'LIST'
frob	frob
frob	ca frob
frob	key frob
frob	csr frob
bogus	--bogus
bogus	init --cn x --bogus
bogus	ca new --name m --cn m --bogus
bogus	ca list --bogus
bogus	key new -o k.pem --bogus
bogus	csr new --bogus
bogus	csr show --bogus x.csr
bogus	issue --profile server --bogus
bogus	list --bogus
bogus	show --bogus 01
LIST
nothing_made() {
	[ ! -e k.pem ] || die "key new --bogus wrote k.pem"
}
check nothing_made

# --- init refuses a directory that holds a CA, and leaves it intact -------
init_twice() {
	before=$(tree_sum ca)
	refuse "already holds a CA" hm -d ca init --cn "Second Root"
	refuse "already holds a CA" hm -d ca init --cn "Second Root" \
	    --key-type rsa2048
	[ "$(tree_sum ca)" = "$before" ] || die "init changed ca/"
	hm -d ca list >/dev/null || die "the CA does not open after init"
	# The inventory alone also counts as a CA.
	mkdir dbonly
	cp ca/hallmark.db dbonly/
	before=$(tree_sum dbonly)
	refuse "already holds a CA|exists" hm -d dbonly init --cn "Third Root"
	[ "$(tree_sum dbonly)" = "$before" ] || die "init changed dbonly/"
}
check init_twice

# --- key new: 0600, no overwrite without --force ------------------------
key_files() {
	hm key new -o k1.pem >/dev/null
	[ "$(stat -c %a k1.pem)" = 600 ] || die "k1.pem is $(stat -c %a k1.pem)"
	openssl pkey -in k1.pem -noout || die "k1.pem is not a key"
	sum=$(sha256sum < k1.pem)
	refuse "exists" hm key new -o k1.pem
	[ "$(sha256sum < k1.pem)" = "$sum" ] || die "refused key new changed k1"
	hm key new --force -o k1.pem >/dev/null
	[ "$(sha256sum < k1.pem)" != "$sum" ] || die "--force did not replace"
	[ "$(stat -c %a k1.pem)" = 600 ] || die "replaced k1.pem not 0600"
	# 0600 whatever the umask, and whatever mode the replaced file had.
	(umask 000 && hm key new -o k2.pem >/dev/null)
	[ "$(stat -c %a k2.pem)" = 600 ] || die "umask 000: k2.pem is" \
	    "$(stat -c %a k2.pem)"
	chmod 644 k2.pem
	hm key new --force -o k2.pem >/dev/null
	[ "$(stat -c %a k2.pem)" = 600 ] || die "--force over a 0644 file:" \
	    "$(stat -c %a k2.pem)"
	for t in ed25519 p384 rsa2048; do
		hm key new --type "$t" -o "k-$t.pem" >/dev/null
		[ "$(stat -c %a "k-$t.pem")" = 600 ] || die "k-$t.pem mode"
	done
	refuse "key type|unknown|want" hm key new --type rsa1024 -o k3.pem
	[ ! -e k3.pem ] || die "key new --type rsa1024 wrote k3.pem"
}
check key_files

# --- encrypted keys -----------------------------------------------------
enc_key() {
	hm key new --passphrase-env PW -o ek.pem >> "$PLOG" 2>&1
	[ "$(stat -c %a ek.pem)" = 600 ] || die "ek.pem mode"
	head -1 ek.pem | grep -q "ENCRYPTED PRIVATE KEY" ||
	    die "ek.pem is not encrypted"
	openssl pkey -in ek.pem -passin env:PW -noout ||
	    die "openssl can't open ek.pem with the passphrase"
	prefuse "passphrase" hm_notty csr new --key ek.pem --cn e.example \
	    -o e.csr
	prefuse "wrong passphrase" hm csr new --key ek.pem --cn e.example \
	    --passphrase-env BADPW -o e.csr
	prefuse "NOPE_UNSET" hm csr new --key ek.pem --cn e.example \
	    --passphrase-env NOPE_UNSET -o e.csr
	[ ! -e e.csr ] || die "a refused csr new wrote e.csr"
	hm csr new --key ek.pem --cn e.example --passphrase-env PW \
	    -o e.csr >> "$PLOG" 2>&1 || die "csr new with the passphrase"
	hm csr show e.csr > e.show || die "csr show e.csr"
	grep -q "e.example" e.show || die "e.csr lacks its CN"
	# --passphrase-file: the first line of the file.
	printf '%s\nignored second line\n' "$PW2" > pw2.txt
	chmod 600 pw2.txt
	hm key new --passphrase-file pw2.txt -o ek2.pem >> "$PLOG" 2>&1
	openssl pkey -in ek2.pem -passin env:PW2 -noout ||
	    die "ek2.pem is not under the first line of pw2.txt"
	hm csr new --key ek2.pem --cn f.example --passphrase-file pw2.txt \
	    -o f.csr >> "$PLOG" 2>&1 || die "csr new --passphrase-file"
	printf '%s\n' "$BADPW" > bad.txt
	prefuse "wrong passphrase" hm csr new --key ek2.pem --cn f.example \
	    --passphrase-file bad.txt -o f2.csr
	# A new key's passphrase must be of some length.
	SHORT=abc prefuse "8 characters|short" env SHORT=abc "$HM" key new \
	    --passphrase-env SHORT -o short.pem
	[ ! -e short.pem ] || die "a key under a short passphrase was written"
	# No option takes a passphrase itself (it would show in ps), and
	# the error for one given anyway names the option, not the secret.
	for opt in --passphrase --pass "--passphrase=$PW" "--pass=$PW"; do
		if hm key new $opt "$PW" -o argv.pem >> "$PLOG" 2>&1; then
			die "key new ${opt%%=*} SECRET accepted"
		fi
		[ ! -e argv.pem ] || die "key new ${opt%%=*} SECRET wrote a key"
	done
}
check enc_key

# --- an encrypted root --------------------------------------------------
enc_root() {
	hm -d eca init --cn "Locked Root" --passphrase-env PW >> "$PLOG" 2>&1
	[ "$(stat -c %a eca/ca/root/key.pem)" = 600 ] || die "root key mode"
	head -1 eca/ca/root/key.pem | grep -q "ENCRYPTED" ||
	    die "the root key is not encrypted"
	n=$(count eca)
	prefuse "passphrase" hm_notty -d eca ca new --name mid --cn Mid
	prefuse "wrong passphrase" hm -d eca ca new --name mid --cn Mid \
	    --ca-passphrase-env BADPW
	[ ! -e eca/ca/mid ] || die "a refused ca new left eca/ca/mid"
	prefuse "passphrase" hm_notty -d eca issue --profile server \
	    --new-key l.key --cn l.example --san dns:l.example -o l.pem
	prefuse "wrong passphrase" hm -d eca issue --profile server \
	    --new-key l.key --cn l.example --san dns:l.example -o l.pem \
	    --ca-passphrase-env BADPW
	[ ! -e l.pem ] && [ ! -e l.key ] || die "a refused issue wrote files"
	[ "$(count eca)" -eq "$n" ] || die "refused issues changed eca"
	hm -d eca ca new --name mid --cn Mid --ca-passphrase-env PW \
	    >> "$PLOG" 2>&1 || die "ca new with the root's passphrase"
	hm -d eca issue --profile server --new-key l.key --cn l.example \
	    --san dns:l.example -o l.pem --chain-out l.chain \
	    --ca-passphrase-env PW >> "$PLOG" 2>&1 ||
	    die "issue with the root's passphrase"
	verify_chain eca/ca/root/cert.pem l.chain sslserver
	printf '%s\n' "$PW" > rootpw.txt
	hm -d eca issue --profile client --new-key c.key --cn c.example \
	    -o c.pem --ca-passphrase-file rootpw.txt >> "$PLOG" 2>&1 ||
	    die "issue --ca-passphrase-file"
	[ "$(count eca)" -eq $((n + 3)) ] || die "eca: want $((n + 3))" \
	    "certificates, have $(count eca)"
	hm -d eca ca list --json | python3 -c '
import json, sys
cas = {c["name"]: c for c in json.load(sys.stdin)}
assert cas["root"]["encrypted"] is True, cas
assert cas["mid"]["encrypted"] is False, cas
' || die "ca list --json: wrong encrypted flags"
}
check enc_root

no_secret_shown() {
	[ -s "$PLOG" ] || die "nothing was logged from passphrase commands"
	for v in "$PW" "$PW2" "$BADPW"; do
		! grep -qF -- "$v" "$PLOG" || die "a passphrase was printed:" \
		    "$(grep -F -- "$v" "$PLOG" | head -3)"
		for f in ek.pem ek2.pem eca/ca/root/key.pem eca/hallmark.db; do
			! grep -qaF -- "$v" "$f" || die "$f holds a passphrase"
		done
	done
}
check no_secret_shown

# --- issue never overwrites, and refuses before it issues ---------------
hm key new -o leaf.key >/dev/null
hm csr new --key leaf.key --cn leaf.example --san dns:leaf.example \
    -o leaf.csr >/dev/null
no_overwrite() {
	n=$(count ca)
	echo keep > taken.pem
	refuse "taken.pem exists" hm -d ca issue --profile server \
	    --csr leaf.csr -o taken.pem
	refuse "taken.pem exists" hm -d ca issue --profile server \
	    --csr leaf.csr -o fresh.pem --chain-out taken.pem
	refuse "taken.pem exists" hm -d ca issue --profile server \
	    --new-key taken.pem --cn x.example --san dns:x.example -o fresh.pem
	[ "$(cat taken.pem)" = keep ] || die "taken.pem was changed"
	[ ! -e fresh.pem ] || die "a refused issue wrote fresh.pem"
	[ "$(count ca)" -eq "$n" ] || die "a refused issue was recorded"
	hm -d ca issue --profile server --csr leaf.csr -o taken.pem \
	    --force >/dev/null || die "issue --force"
	openssl x509 -in taken.pem -noout || die "--force wrote no certificate"
	[ "$(count ca)" -eq $((n + 1)) ] || die "issue --force not recorded"
}
check no_overwrite

# --- show ---------------------------------------------------------------
hm -d ca issue --profile server --csr leaf.csr -o s.pem > s.out
S=$(serial_of s.pem)
show_views() {
	grep -q "$S" s.out || die "issue did not print the serial $S"
	hm -d ca show "$S" > show.txt
	grep -q "$S" show.txt && grep -q "leaf.example" show.txt ||
	    die "show $S: $(cat show.txt)"
	hm -d ca show "$S" --pem > show.pem
	cmp -s show.pem s.pem || die "show --pem differs from s.pem"
	hm -d ca show --pem "$S" | cmp -s - s.pem ||
	    die "show --pem SERIAL differs from s.pem"
	hm -d ca show "$S" --json > show.json
	isjson < show.json || die "show --json is not JSON: $(cat show.json)"
	S="$S" python3 -c '
import json, os, sys
r = json.load(open("show.json"))
assert r["serial"] == os.environ["S"], r
assert r["profile"] == "server" and r["ca"] == "root", r
assert "leaf.example" in r["subject"] and "dns:leaf.example" in r["sans"], r
' || die "show --json: wrong record: $(cat show.json)"
	hm -d ca show "$S" --json --pem | python3 -c '
import json, sys
assert json.load(sys.stdin)["pem"] == open("s.pem").read()
' || die "show --json --pem: pem differs from s.pem"
	refuse "no certificate|not found|unknown" hm -d ca show 0123456789abcdef
	refuse "serial" hm -d ca show not-hex
}
check show_views

# --- list / ca list as JSON, even with awkward names ---------------------
json_views() {
	hm -d ca issue --profile client --new-key q.key \
	    --cn 'quote " back \ slash' -o q.pem >/dev/null
	hm -d ca list --json > list.json
	isjson < list.json ||
	    die "list --json is not JSON: $(head -c 500 list.json)"
	# The subject is an RFC 4514 string: undo its escapes to compare.
	python3 -c '
import json, re
l = json.load(open("list.json"))
want = "CN=quote \" back \\ slash"
assert any(re.sub(r"\\(.)", r"\1", c["subject"]) == want for c in l), l
' || die "list --json lost the awkward subject"
	hm -d ca ca list --json > calist.json
	isjson < calist.json || die "ca list --json is not JSON"
	hm -d eca list --json | isjson || die "eca list --json is not JSON"
	hm -d eca ca list --json | isjson || die "eca ca list --json"
	hm -d ca list --expiring 1s --json | isjson ||
	    die "an empty list --json is not JSON"
}
check json_views

# --- list --expiring, list --ca -----------------------------------------
hm -d ca ca new --name mid --cn "CLI Mid" >/dev/null
hm -d ca issue --profile server --csr leaf.csr --validity 10d -o d10.pem \
    >/dev/null
hm -d ca issue --profile server --csr leaf.csr --validity 90d -o d90.pem \
    >/dev/null
hm -d ca issue --profile server --csr leaf.csr --ca mid -o m1.pem >/dev/null
D10=$(serial_of d10.pem)
D90=$(serial_of d90.pem)
M1=$(serial_of m1.pem)
expiring() {
	hm -d ca list --expiring 30d > exp.txt
	grep -q "$D10" exp.txt || die "--expiring 30d misses the 10d one"
	! grep -q "$D90" exp.txt || die "--expiring 30d shows the 90d one"
	hm -d ca list --expiring 30d --json > exp.json
	D10=$D10 python3 -c '
import json, os
l = json.load(open("exp.json"))
assert [c["serial"] for c in l] == [os.environ["D10"]], l
' || die "--expiring 30d --json: $(cat exp.json)"
	hm -d ca list --expiring 100d | grep -q "$D90" ||
	    die "--expiring 100d misses the 90d one"
	refuse "duration" hm -d ca list --expiring soon
}
check expiring
by_ca() {
	hm -d ca list --ca mid --json > mid.json
	M1=$M1 python3 -c '
import json, os
l = json.load(open("mid.json"))
assert [c["serial"] for c in l] == [os.environ["M1"]], l
' || die "list --ca mid: $(cat mid.json)"
	hm -d ca list --ca root > root.txt
	grep -q "$D10" root.txt || die "list --ca root misses $D10"
	! grep -q "$M1" root.txt || die "list --ca root shows mid's $M1"
	refuse "nope" hm -d ca list --ca nope
}
check by_ca

# --- HALLMARK_DIR, -d and the default -----------------------------------
env_dir() {
	mkdir wd && cd wd
	HALLMARK_DIR=envca hm init --cn "Env Root" >/dev/null
	[ -e envca/hallmark.db ] && [ ! -e hallmark-ca ] ||
	    die "init did not honour HALLMARK_DIR"
	HALLMARK_DIR=envca hm issue --profile server --csr ../leaf.csr \
	    -o env.pem >/dev/null
	E=$(serial_of env.pem)
	HALLMARK_DIR=envca hm list --json | grep -q "$E" ||
	    die "list did not honour HALLMARK_DIR"
	HALLMARK_DIR=envca hm show "$E" >/dev/null ||
	    die "show did not honour HALLMARK_DIR"
	# -d wins over the environment.
	HALLMARK_DIR=envca hm -d ../ca list --json > d.json
	! grep -q "$E" d.json && grep -q "$D10" d.json ||
	    die "-d did not override HALLMARK_DIR"
	refuse "no certificate|not found" env HALLMARK_DIR=envca "$HM" \
	    -d ../ca show "$E"
	# Neither: ./hallmark-ca.
	refuse "hallmark-ca" hm list
	mv envca hallmark-ca
	hm list --json | grep -q "$E" || die "./hallmark-ca is not the default"
	HALLMARK_DIR= hm list --json | grep -q "$E" ||
	    die "an empty HALLMARK_DIR is not the default"
}
check env_dir

# --- validity never outlives the issuer ---------------------------------
clamp() {
	hm -d ca ca new --name five --cn "Five Years" --validity 5y >/dev/null
	hm -d ca issue --profile server --csr leaf.csr --ca five \
	    --validity 20y -o long.pem > long.out 2> long.err ||
	    die "issue --validity 20y under a 5y CA: $(cat long.err)"
	grep -qi "note.*validity\|validity.*cut\|clamp" long.err ||
	    die "no note of the clamping on stderr: '$(cat long.err)'"
	[ "$(wc -l < long.err)" -eq 1 ] || die "note is not one line"
	[ "$(openssl x509 -in long.pem -noout -enddate)" = \
	    "$(openssl x509 -in ca/ca/five/cert.pem -noout -enddate)" ] ||
	    die "notAfter $(openssl x509 -in long.pem -noout -enddate)" \
	    "is not the CA's $(openssl x509 -in ca/ca/five/cert.pem \
	    -noout -enddate)"
	openssl verify -x509_strict -CAfile "$ROOT" -untrusted \
	    ca/ca/five/cert.pem long.pem >/dev/null || die "long.pem verify"
	# Not clamped: no note.
	hm -d ca issue --profile server --csr leaf.csr --ca five \
	    --validity 30d -o short.pem >/dev/null 2> short.err
	[ ! -s short.err ] || die "a note without clamping: $(cat short.err)"
	# An intermediate asked to outlive the root is cut too.
	hm -d ca ca new --name long --cn "Long Mid" --validity 20y \
	    >/dev/null 2> mid.err
	grep -qi "note.*validity\|validity.*cut\|clamp" mid.err ||
	    die "no note for the intermediate: '$(cat mid.err)'"
	[ "$(openssl x509 -in ca/ca/long/cert.pem -noout -enddate)" = \
	    "$(openssl x509 -in "$ROOT" -noout -enddate)" ] ||
	    die "the 20y intermediate outlives the root"
}
check clamp

# --- standard output, and options that do not fit together -------------
stdout_rules() {
	refuse "standard output" hm key new -o -
	[ ! -e ./- ] || die "key new -o - wrote a file named -"
	hm key new -o so.key >/dev/null
	hm csr new --key so.key --cn so.example -o - > so.csr
	openssl req -in so.csr -verify -noout 2>/dev/null ||
	    die "csr new -o - did not print a valid CSR"
	[ ! -e ./- ] || die "csr new -o - wrote a file named -"
	refuse "new-key" hm -d ca issue --profile client --csr so.csr \
	    --key-type rsa2048 -o so.pem
	refuse "new-key" hm -d ca issue --profile client --csr so.csr \
	    --passphrase-env HOME -o so.pem
	[ ! -e so.pem ] || die "issue wrote so.pem"
	# Usage errors, unknown verbs included, exit 2.
	set +e
	hm frob 2>/dev/null; r1=$?
	hm --bogus 2>/dev/null; r2=$?
	hm issue --bogus 2>/dev/null; r3=$?
	set -e
	[ "$r1$r2$r3" = 222 ] || die "usage errors exit $r1 $r2 $r3, want 2"
}
check stdout_rules

done_ok
