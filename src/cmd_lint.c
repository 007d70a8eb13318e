/* hallmark lint: certificates against the rules issuance enforces. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const struct cmd cmd = { "lint", NULL,
    "lint CERT... | lint --all",
    "Check certificates against the rules issuance enforces: profile\n"
    "extensions, key type and size, serial, validity inside the issuer's,\n"
    "a SAN on servers, the name constraints of the chain, and that a CA\n"
    "of DIR issued it.  Prints one line a finding; exits 1 when there\n"
    "is one.\n\n"
    "  --all                  every certificate of the inventory\n" };

struct lint_state {
	const char	*what;
};

static int
print_finding(const char *rule, const char *msg, void *arg)
{
	const struct lint_state	*ls = arg;

	printf("%s: %s: %s\n", ls->what, rule, msg);
	return 0;
}

static int
lint_buf(hm_ca *ca, const char *what, const unsigned char *buf, size_t len,
    int *total)
{
	struct lint_state	ls = { what };
	hm_err			err;
	int			n = 0;

	if (hm_lint(ca, buf, len, print_finding, &ls, &n, &err) != HM_OK) {
		printf("%s: unreadable: %s\n", what, err.msg);
		n = 1;
	}
	*total += n;
	return 0;
}

struct serials {
	char	(*v)[41];
	size_t	 n, cap;
};

static int
collect(const hm_cert_info *ci, void *arg)
{
	struct serials	*s = arg;
	void		*t;

	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 256;
		if ((t = reallocarray(s->v, s->cap, sizeof(*s->v))) == NULL)
			return -1;
		s->v = t;
	}
	memcpy(s->v[s->n++], ci->serial, sizeof(ci->serial));
	return 0;
}

static int
lint_all(hm_ca *ca, int *total, hm_err *err)
{
	struct serials	 s = { NULL, 0, 0 };
	hm_list_filter	 f;
	hm_cert		*c;
	const unsigned char *der;
	size_t		 i, len;
	int		 rc;

	memset(&f, 0, sizeof(f));
	if ((rc = hm_cert_list(ca, &f, collect, &s, err)) != HM_OK)
		goto out;
	for (i = 0; i < s.n; i++) {
		if ((rc = hm_cert_lookup(ca, s.v[i], NULL, &c, err)) != HM_OK)
			goto out;
		der = hm_cert_der(c, &len);
		lint_buf(ca, s.v[i], der, len, total);
		hm_cert_free(c);
	}
	printf("%zu certificate%s checked, %d finding%s\n", s.n,
	    s.n == 1 ? "" : "s", *total, *total == 1 ? "" : "s");
 out:
	free(s.v);
	return rc;
}

int
cmd_lint(struct cli *g, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	unsigned char	*buf;
	size_t		 len;
	hm_ca		*ca;
	hm_err		 err;
	int		 ch, all = 0, total = 0, i, rc = 0;

	while ((ch = cmd_getopt(&cmd, argc, argv, "h", lo)) != -1) {
		switch (ch) {
		case 'a': all = 1; break;
		case 'h': return usage(&cmd, 0);
		default: return usage(&cmd, EXIT_USAGE);
		}
	}
	if (all == (optind < argc))
		return usage(&cmd, EXIT_USAGE);
	if (open_ca(g, &ca) != 0)
		return EXIT_FAILURE;
	if (all)
		rc = lint_all(ca, &total, &err);
	for (i = optind; rc == HM_OK && i < argc; i++) {
		if ((rc = hm_file_read(argv[i], 1024 * 1024, &buf, &len,
		    &err)) != HM_OK)
			break;
		lint_buf(ca, argv[i], buf, len, &total);
		free(buf);
	}
	hm_ca_close(ca);
	if (rc != HM_OK)
		return fail(&err);
	return total > 0 ? 1 : 0;
}
