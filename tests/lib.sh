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

done_ok() {
	[ "$NFAIL" -eq 0 ] ||
	    die "$NFAIL of $((NPASS + NFAIL)) checks failed (FAIL lines above)"
	echo "$NPASS passed, 0 failed"
}
