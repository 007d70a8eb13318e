# The manual documents the program: man/hallmark.1 passes mandoc's lint,
# and every verb that `hallmark --help` lists and every option in the
# CLI's option tables has its place in the page, so that an option added
# without documentation fails this test.
. "$HM_TESTS/lib.sh"

SRC=$(cd "$HM_TESTS/.." && pwd)
PAGE=${HM_MANPAGE:-$SRC/man/hallmark.1}
[ -f "$PAGE" ] || die "no manual page at $PAGE"
command -v mandoc >/dev/null ||
    die "mandoc is not installed (it is in scripts/debian-packages)"

# 1. Lint: nothing at level warning or above.
if ! mandoc -Tlint -Wwarning "$PAGE" >"$T/lint" 2>&1 || [ -s "$T/lint" ]; then
	die "mandoc -Tlint -Wwarning $PAGE: $(cat "$T/lint")"
fi
pass

# The source of one section (.Sh) or subsection (.Ss) of the page.
section() {
	awk -v want="$1" '
	    /^\.S[hs] / { on = ($0 == want); next }
	    on' "$PAGE"
}

# 2. Verbs: those of `hallmark --help`, and for each the full command
# words of its usage lines ("ca new", "ca list", ...).
hm --help >"$T/help" || die "hallmark --help failed"
verbs=$(awk '/^verbs:/ { on = 1; next } on && /^  [a-z]/ { print $1 }' \
    "$T/help")
[ -n "$verbs" ] || die "hallmark --help lists no verbs"
: >"$T/phrases"
for v in $verbs; do
	hm "$v" --help >"$T/vhelp" 2>&1 || die "hallmark $v --help failed"
	# "usage: hallmark [-d DIR] ca new --name ..." -> "ca new"
	sed -n 's/.*hallmark \[-d DIR\] //p' "$T/vhelp" | awk '{
		p = ""
		for (i = 1; i <= NF && $i ~ /^[a-z][a-z0-9]*$/; i++)
			p = p (p == "" ? "" : " ") $i
		print p
	}' >>"$T/phrases"
	grep -q "^$v\( \|$\)" "$T/phrases" ||
	    die "cannot read the usage of 'hallmark $v --help'"
done
section ".Sh SYNOPSIS" >"$T/synopsis"
while IFS= read -r ph; do
	grep -qx ".Ss $ph" "$PAGE" || die "no subsection '.Ss $ph' in the page"
	grep -qx ".Cm $ph" "$T/synopsis" ||
	    die "'hallmark $ph' is missing from the SYNOPSIS"
	pass
done <"$T/phrases"

# 3. Options.  Each verb's function (cmd_init -> init, ca_new -> ca new)
# has a `struct option` table; PASS_OPTIONS and CA_PASS_OPTIONS come from
# src/cli.h.  Short options come from the cmd_getopt() call.
awk '
    /^#define [A-Z_]+_OPTIONS[ \t]*\\?$/ { m = $2; inmac = 1 }
    inmac {
	line = $0
	while (match(line, /[{][ \t]*"[a-z0-9-]+"/)) {
		o = substr(line, RSTART, RLENGTH)
		sub(/^[{][ \t]*"/, "", o); sub(/"$/, "", o)
		print m, o
		line = substr(line, RSTART + RLENGTH)
	}
	if ($0 !~ /\\$/) inmac = 0
    }' "$SRC/src/cli.h" >"$T/macros"
[ -s "$T/macros" ] || die "no option macros found in src/cli.h"

# A function named *_verb (list_verb in util.c) parses options for the
# verbs that call it: its options count as theirs.
awk '
    /^[a-z_][a-z0-9_]*\(struct cli \*/ { fn = $0; sub(/\(.*/, "", fn) }
    /[a-z_]+_verb\(g, / && fn !~ /_verb$/ {
	h = $0; sub(/\(g, .*/, "", h); sub(/.*[ \t]/, "", h)
	callers[h] = callers[h] " " fn
    }
    /struct option [a-z_]+\[\] = [{]/ { intab = 1; next }
    intab && /^[ \t]*[}];/ { intab = 0; next }
    intab {
	line = $0
	while (match(line, /[{][ \t]*"[a-z0-9-]+"/)) {
		o = substr(line, RSTART, RLENGTH)
		sub(/^[{][ \t]*"/, "", o); sub(/"$/, "", o)
		if (fn ~ /_verb$/)
			shared[fn] = shared[fn] " --" o
		else
			print fn, "--" o
		line = substr(line, RSTART + RLENGTH)
	}
	n = split($0, w, /[ \t,]+/)
	for (i = 1; i <= n; i++)
		if (w[i] ~ /^[A-Z_]+_OPTIONS$/)
			print fn, "@" w[i]
    }
    /cmd_getopt\(/ && match($0, /"[^"]*"/) && fn !~ /_verb$/ {
	s = substr($0, RSTART + 1, RLENGTH - 2)
	for (i = 1; i <= length(s); i++) {
		c = substr(s, i, 1)
		if (c != ":")
			print fn, "-" c
	}
    }
    END {
	for (h in callers) {
		nc = split(callers[h], cs, " ")
		no = split(shared[h], os, " ")
		if (no == 0)
			print "??? " h " has no option table"
		for (i = 1; i <= nc; i++)
			for (j = 1; j <= no; j++)
				print cs[i], os[j]
	}
    }' "$SRC"/src/*.c >"$T/options"
! grep -q '^???' "$T/options" || die "$(grep '^???' "$T/options")"
[ -s "$T/options" ] || die "no option tables found in src/*.c"

# Expand the macros.
: >"$T/all"
while read -r fn opt; do
	case $opt in
	@*)
		grep -q "^${opt#@} " "$T/macros" ||
		    die "$fn uses ${opt#@}, not found in src/cli.h"
		awk -v m="${opt#@}" -v fn="$fn" '$1 == m { print fn, "--" $2 }' \
		    "$T/macros" >>"$T/all"
		;;
	*)	echo "$fn $opt" >>"$T/all" ;;
	esac
done <"$T/options"
sort -u "$T/all" >"$T/expanded"

# -h and --help are documented once for all verbs.
for o in -h --help; do
	grep -Eq "Fl \\\\?${o#-}([^A-Za-z0-9-]|$)" "$PAGE" ||
	    die "$o is not documented"
done
# The global options parsed by main.c.
for o in $(grep -o 'strcmp(argv\[i\], "-[^"]*")' "$SRC/src/main.c" |
    sed 's/.*"\(.*\)")/\1/' | sort -u); do
	grep -Eq "Fl \\\\?${o#-}([^A-Za-z0-9-]|$)" "$PAGE" ||
	    die "global option $o is not documented"
	pass
done

checked=0
while read -r fn opt; do
	case $fn in
	cmd_*) verb=${fn#cmd_} ;;
	*_*) verb="${fn%%_*} ${fn#*_}" ;;
	*) die "cannot tell which verb function $fn serves" ;;
	esac
	grep -qx "$verb" "$T/phrases" ||
	    die "function $fn has options but 'hallmark $verb' is not a verb"
	case $opt in -h|--help) continue ;; esac
	section ".Ss $verb" >"$T/sub"
	# An item of the verb's option list: ".It Fl -force",
	# ".It Fl o Ar file , Fl -out Ar file", ".It Fl \-cn Ar cn" ...
	grep -Eq "^\.It .*Fl \\\\?${opt#-}([^A-Za-z0-9-]|$)" "$T/sub" ||
	    die "option $opt of 'hallmark $verb' has no .It entry in" \
	    "subsection '$verb' of $PAGE"
	checked=$((checked + 1))
	pass
done <"$T/expanded"
[ "$checked" -ge 40 ] || die "only $checked options found: is the parser broken?"

# 3. hallmark.yaml(5): lint, and every key of the loader's key tables
# (lib/config.c: root_keys, ca_keys, ...) is an item of the page.
YPAGE=$SRC/man/hallmark.yaml.5
if ! mandoc -Tlint -Wwarning "$YPAGE" >"$T/lint" 2>&1 || [ -s "$T/lint" ]; then
	die "mandoc -Tlint -Wwarning $YPAGE: $(cat "$T/lint")"
fi
pass
awk '/^[ \t]*static const char \*const [a-z_]*keys\[\] = [{]/ {
	sub(/.*= [{]/, ""); on = 1 }
    on { print } on && /};/ { on = 0 }' "$SRC/lib/config.c" |
    grep -o '"[A-Za-z_]*"' | tr -d '"' | sort -u >"$T/ykeys"
[ "$(wc -l <"$T/ykeys")" -ge 30 ] || die "few keys found in lib/config.c"
while read -r k; do
	grep -Eq "^\.It .*(Ic|,) $k( |$)" "$YPAGE" ||
	    die "key '$k' of lib/config.c has no .It entry in $YPAGE"
	pass
done <"$T/ykeys"
done_ok
