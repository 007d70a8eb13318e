/* hallmark revoke / crl: take trust back, and say so in a CRL. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const struct cmd revoke_cmd = { "revoke", NULL,
    "revoke SERIAL [--reason R]",
    "Mark a certificate of the inventory revoked, now.  Revoking it again\n"
    "changes nothing.  An intermediate CA may be revoked too: its parent's\n"
    "CRL then lists it, and every chain through it fails.\n\n"
    "  --reason R             unspecified (default), keyCompromise,\n"
    "                         cACompromise, affiliationChanged, superseded,\n"
    "                         cessationOfOperation, privilegeWithdrawn\n" };

static const struct cmd crl_cmd = { "crl", NULL,
    "crl [--ca NAME] -o FILE [--der] [--next-update D] [--force]",
    "Write a CRL v2 of every revoked certificate CA NAME issued, signed\n"
    "by it, with the next CRL number.\n\n"
    "  --ca NAME              the CA (default: root)\n"
    "  -o, --out FILE         where to write it (\"-\": standard output)\n"
    "  --der                  DER instead of PEM\n"
    "  --next-update D        nextUpdate after D (default 7d), never past\n"
    "                         the CA's expiry\n"
    "  --force                replace FILE if it exists\n"
    CA_PASS_HELP };

int
cmd_revoke(struct cli *g, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "reason", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	hm_ca		*ca;
	hm_err		 err;
	char		 t[32];
	int		 ch, reason = HM_REASON_UNSPECIFIED, flags = 0, rc;

	while ((ch = cmd_getopt(&revoke_cmd, argc, argv, "h", lo)) != -1) {
		switch (ch) {
		case 'r':
			if (hm_reason_parse(optarg, &reason, &err) != HM_OK)
				return fail(&err);
			break;
		case 'h': return usage(&revoke_cmd, 0);
		default: return usage(&revoke_cmd, EXIT_USAGE);
		}
	}
	if (optind != argc - 1)
		return usage(&revoke_cmd, EXIT_USAGE);
	if (open_ca(g, &ca) != 0)
		return EXIT_FAILURE;
	rc = hm_revoke(ca, argv[optind], reason, 0, &flags, &err);
	hm_ca_close(ca);
	if (rc != HM_OK)
		return fail(&err);
	if (flags & HM_REVOKED_ALREADY)
		printf("%s was already revoked; nothing changed\n",
		    argv[optind]);
	else
		printf("revoked %s (%s) at %s\n", argv[optind],
		    hm_reason_name(reason), fmt_time(time(NULL), t));
	return 0;
}

int
cmd_crl(struct cli *g, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "ca", required_argument, NULL, 'c' },
		{ "out", required_argument, NULL, 'o' },
		{ "der", no_argument, NULL, 'D' },
		{ "next-update", required_argument, NULL, 'n' },
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		CA_PASS_OPTIONS,
		{ NULL, 0, NULL, 0 }
	};
	struct passsrc	 cps = { 0 };
	const char	*caname = NULL, *out = NULL;
	unsigned char	*crl = NULL;
	size_t		 len;
	int64_t		 next = 0;
	hm_ca		*ca = NULL;
	hm_signer	*s = NULL;
	hm_err		 err;
	int		 ch, der = 0, flags = 0, rc = EXIT_FAILURE;

	while ((ch = cmd_getopt(&crl_cmd, argc, argv, "ho:", lo)) != -1) {
		if (pass_opt(&cps, ch, optarg))
			continue;
		switch (ch) {
		case 'c': caname = optarg; break;
		case 'o': out = optarg; break;
		case 'D': der = 1; break;
		case 'n':
			if (duration_opt(optarg, &next) != 0)
				return EXIT_FAILURE;
			break;
		case 'f': flags |= HM_F_FORCE; break;
		case 'h': return usage(&crl_cmd, 0);
		default: return usage(&crl_cmd, EXIT_USAGE);
		}
	}
	if (optind != argc || out == NULL)
		return usage(&crl_cmd, EXIT_USAGE);
	/* Before a CRL number is spent. */
	if (out_free(out, flags) != 0)
		return EXIT_FAILURE;
	if (open_ca(g, &ca) != 0 || unlock_ca(ca, caname, &cps, &s) != 0)
		goto out;
	if (hm_crl_build(s, next, !der, &crl, &len, &err) != HM_OK) {
		fail(&err);
		goto out;
	}
	if (write_out(out, crl, len, 0644, flags) != 0)
		goto out;
	rc = 0;
 out:
	free(crl);
	hm_signer_free(s);
	hm_ca_close(ca);
	return rc;
}
