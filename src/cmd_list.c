/* hallmark list / show: the inventory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const struct cmd list_cmd = { "list", NULL,
    "list [--expiring D] [--ca NAME] [--json]",
    "List the certificates of the inventory, soonest expiry first.\n\n"
    "  --expiring D           only those that expire within D (e.g. 30d)\n"
    "  --ca NAME              only those issued by CA NAME\n"
    "  --json                 one JSON array\n" };

static const struct cmd show_cmd = { "show", NULL,
    "show SERIAL [--pem] [--json]",
    "Show one certificate of the inventory by its hex serial.\n\n"
    "  --pem                  print the certificate as PEM\n"
    "  --json                 print its record as JSON\n" };

static void
json_info(const hm_cert_info *ci, const char *pem)
{
	char	t1[32], t2[32], t3[32];

	printf("{\"serial\": \"%s\", \"ca\": ", ci->serial);
	json_str(ci->ca);
	printf(", \"subject\": ");
	json_str(ci->subject);
	printf(", \"issuer\": ");
	json_str(ci->issuer);
	printf(", \"sans\": ");
	json_str(ci->sans);
	printf(", \"profile\": \"%s\", \"status\": \"%s\", "
	    "\"not_before\": \"%s\", \"not_after\": \"%s\", "
	    "\"issued_at\": \"%s\", \"spki_sha256\": \"%s\"",
	    ci->profile, ci->status, fmt_time(ci->not_before, t1),
	    fmt_time(ci->not_after, t2), fmt_time(ci->issued_at, t3),
	    ci->spki_sha256);
	if (ci->revoked_at != 0)
		printf(", \"revoked_at\": \"%s\", \"reason\": \"%s\"",
		    fmt_time(ci->revoked_at, t1), hm_reason_name(ci->reason));
	if (pem != NULL) {
		printf(", \"pem\": ");
		json_str(pem);
	}
	printf("}");
}

static int
list_one(const hm_cert_info *ci, void *arg)
{
	struct list_state	*ls = arg;
	char			 t[32];

	if (ls->json) {
		printf("%s\n  ", ls->n ? "," : "");
		json_info(ci, NULL);
	} else {
		if (ls->n == 0)
			printf("%-34s %-12s %-12s %-20s %-7s %s\n", "SERIAL",
			    "PROFILE", "CA", "NOT_AFTER", "STATUS",
			    "SUBJECT / NAMES");
		printf("%-34s %-12s %-12s %-20s %-7s %s%s%s\n", ci->serial,
		    ci->profile, ci->ca, fmt_time(ci->not_after, t),
		    ci->status, ci->subject, ci->sans[0] ? " " : "", ci->sans);
	}
	ls->n++;
	return 0;
}

int
cmd_list(struct cli *g, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "expiring", required_argument, NULL, 'e' },
		{ "ca", required_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct list_state	 ls = { 0, 0 };
	hm_list_filter		 f;
	hm_ca			*ca;
	hm_err			 err;
	int64_t			 within;
	int			 ch, rc;

	memset(&f, 0, sizeof(f));
	f.now = time(NULL);
	while ((ch = cmd_getopt(&list_cmd, argc, argv, "h", lo)) != -1) {
		switch (ch) {
		case 'e':
			if (duration_opt(optarg, &within) != 0)
				return EXIT_FAILURE;
			f.expiring_before = f.now + within;
			break;
		case 'a': f.ca = optarg; break;
		case 'j': ls.json = 1; break;
		case 'h': return usage(&list_cmd, 0);
		default: return usage(&list_cmd, EXIT_USAGE);
		}
	}
	if (optind != argc)
		return usage(&list_cmd, EXIT_USAGE);
	if (open_ca(g, &ca) != 0)
		return EXIT_FAILURE;
	if (f.ca != NULL) {
		hm_ca_info ci;
		if (hm_ca_get_info(ca, f.ca, &ci, &err) != HM_OK) {
			hm_ca_close(ca);
			return fail(&err);
		}
	}
	if (ls.json)
		printf("[");
	rc = hm_cert_list(ca, &f, list_one, &ls, &err);
	if (ls.json)
		printf("%s]\n", ls.n ? "\n" : "");
	else if (ls.n == 0 && rc == HM_OK)
		printf("no certificates%s\n", f.expiring_before ?
		    " expiring in that window" : "");
	hm_ca_close(ca);
	return rc == HM_OK ? 0 : fail(&err);
}

int
cmd_show(struct cli *g, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "pem", no_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	hm_cert_info	 ci;
	hm_ca		*ca;
	hm_cert		*c = NULL;
	hm_err		 err;
	char		*pem = NULL, t1[32], t2[32], t3[32];
	size_t		 len;
	int		 ch, aspem = 0, json = 0;

	while ((ch = cmd_getopt(&show_cmd, argc, argv, "h", lo)) != -1) {
		switch (ch) {
		case 'p': aspem = 1; break;
		case 'j': json = 1; break;
		case 'h': return usage(&show_cmd, 0);
		default: return usage(&show_cmd, EXIT_USAGE);
		}
	}
	if (optind + 1 != argc)
		return usage(&show_cmd, EXIT_USAGE);
	if (open_ca(g, &ca) != 0)
		return EXIT_FAILURE;
	if (hm_cert_lookup(ca, argv[optind], &ci, &c, &err) != HM_OK ||
	    hm_cert_pem(c, &pem, &len, &err) != HM_OK) {
		hm_cert_free(c);
		hm_ca_close(ca);
		return fail(&err);
	}
	if (json) {
		json_info(&ci, aspem ? pem : NULL);
		printf("\n");
	} else if (aspem)
		fputs(pem, stdout);
	else
		printf("serial:      %s\nprofile:     %s\nca:          %s\n"
		    "subject:     %s\nissuer:      %s\nnames:       %s\n"
		    "not before:  %s\nnot after:   %s\nstatus:      %s\n"
		    "issued at:   %s\nspki sha256: %s\n", ci.serial, ci.profile,
		    ci.ca, ci.subject, ci.issuer, ci.sans[0] ? ci.sans : "-",
		    fmt_time(ci.not_before, t1), fmt_time(ci.not_after, t2),
		    ci.status, fmt_time(ci.issued_at, t3), ci.spki_sha256);
	if (!json && !aspem && ci.revoked_at != 0)
		printf("revoked at:  %s\nreason:      %s\n",
		    fmt_time(ci.revoked_at, t1), hm_reason_name(ci.reason));
	free(pem);
	hm_cert_free(c);
	hm_ca_close(ca);
	return 0;
}
