# Sourced by the integration tests: $1 is the hallmark binary.
set -eu
HM=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
T=$(mktemp -d /tmp/hm-it-XXXXXX)
trap 'rm -rf "$T"' EXIT
cd "$T"
NFAIL=0
NPASS=0

hm() { "$HM" "$@"; }
die() { echo "FAIL: $*" >&2; exit 1; }
pass() { NPASS=$((NPASS + 1)); }

# Expect a command to fail, with stderr matching a pattern (grep -E).
refuse() {
	pat=$1; shift
	if "$@" >"$T/.out" 2>"$T/.err"; then
		die "accepted: $* ($(cat "$T/.out"))"
	fi
	grep -Eq -- "$pat" "$T/.err" ||
	    die "wrong error for: $* (want /$pat/, got: $(cat "$T/.err"))"
	[ "$(wc -l < "$T/.err")" -eq 1 ] ||
	    die "error is not one line: $* ($(cat "$T/.err"))"
	pass
}

# Verify a leaf with openssl -x509_strict and GnuTLS certtool.
# verify_chain ROOT CHAIN(leaf first, root excluded) PURPOSE
verify_chain() {
	root=$1 chain=$2 purpose=$3
	openssl verify -x509_strict -purpose "$purpose" -CAfile "$root" \
	    -untrusted "$chain" "$chain" >"$T/.v" 2>&1 ||
	    die "openssl verify $chain: $(cat "$T/.v")"
	cat "$chain" "$root" > "$T/.full"
	certtool --verify-chain --infile "$T/.full" >"$T/.v" 2>&1 ||
	    die "certtool --verify-chain $chain: $(cat "$T/.v")"
	certtool --verify --load-ca-certificate "$root" --infile "$chain" \
	    >"$T/.v" 2>&1 || die "certtool --verify $chain: $(cat "$T/.v")"
	pass
}

# check CMD...: one assertion in a subshell; a failure is reported and
# counted, and the other checks still run, so one bug hides no other.
check() {
	set +e
	(set -e; "$@")
	r=$?
	set -e
	if [ "$r" -eq 0 ]; then
		pass
	else
		NFAIL=$((NFAIL + 1))
		echo "FAIL: (exit $r) in:" \
		    "$(printf '%s ' "$@" | cut -c1-100)" >&2
	fi
}

# serve_start NAME [serve options]: `hallmark -d ca serve` in the
# background, waiting (10 s at most) for its "listening on ADDR:PORT" line;
# its pid in SPID, its http:// URL in NAME.url, its output in NAME.out and
# NAME.err.  The caller stops it.
serve_start() {
	sn=$1; shift
	"$HM" -d ca serve "$@" >"$sn.out" 2>"$sn.err" &
	SPID=$!
	si=0
	while ! grep -q '^listening on [0-9[]' "$sn.out" 2>/dev/null; do
		si=$((si + 1))
		[ "$si" -lt 100 ] ||
		    die "no 'listening on' after 10 s: $(cat "$sn.err")"
		kill -0 "$SPID" 2>/dev/null ||
		    die "serve exited: $(cat "$sn.err")"
		sleep 0.1
	done
	echo "http://$(sed -n 's/^listening on \([0-9[]\)/\1/p' "$sn.out")" \
	    >"$sn.url"
}

done_ok() {
	[ "$NFAIL" -eq 0 ] ||
	    die "$NFAIL of $((NPASS + NFAIL)) checks failed (FAIL lines above)"
	echo "$NPASS passed, 0 failed"
}
