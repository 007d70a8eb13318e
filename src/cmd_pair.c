/* hallmark pair list|approve|reject: the operator's side of pairing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int	pair_list(struct cli *, int, char **);
static int	pair_approve(struct cli *, int, char **);
static int	pair_reject(struct cli *, int, char **);

static const struct cmd sub[] = {
	{ "list", pair_list, "pair list [--json]",
	  "List pairings, newest first: id, state (committed, waiting,\n"
	  "approved, dropped, expired), the name and profile asked for, the\n"
	  "source address and age.  Never the code: read it on the new\n"
	  "machine's screen.\n\n"
	  "  --json                 one JSON array\n" },
	{ "approve", pair_approve, "pair approve ID --code CODE [--ca NAME] "
	  "[--san TYPE:VALUE]...",
	  "Approve a waiting pairing with the 6-digit code the new machine\n"
	  "shows.  A match lets it enroll (its key becomes a token for the\n"
	  "name and profile it asked for); a mismatch drops the pairing.\n\n"
	  "  --code CODE            the code shown on the new machine: 6\n"
	  "                         digits, or its 3 words\n"
	  "  --ca NAME              the issuing CA (default: root)\n"
	  "  --san TYPE:VALUE       the certificate's names (default, for\n"
	  "                         server and both: dns:NAME)\n" },
	{ "reject", pair_reject, "pair reject ID",
	  "Drop a pairing that is not approved.\n" },
};

int
cmd_pair(struct cli *g, int argc, char **argv)
{
	return dispatch(g, sub, sizeof(sub) / sizeof(sub[0]), argc - 1,
	    argv + 1, "pair");
}

static int
list_one(const hm_pair_info *pi, void *arg)
{
	struct list_state	*ls = arg;
	char			 c[32], e[32];
	long			 age = (long)(time(NULL) - pi->created_at);

	if (ls->json) {
		printf("%s\n  {\"id\": \"%s\", \"state\": \"%s\", \"name\": ",
		    ls->n ? "," : "", pi->id, pi->state);
		json_str(pi->name);
		printf(", \"profile\": \"%s\", \"source\": ", pi->profile);
		json_str(pi->source);
		printf(", \"created_at\": \"%s\", \"expires_at\": \"%s\", "
		    "\"token\": ", fmt_time(pi->created_at, c),
		    fmt_time(pi->expires_at, e));
		if (pi->token[0] != '\0')
			printf("\"%s\"}", pi->token);
		else
			printf("null}");
	} else {
		if (ls->n == 0)
			printf("%-32s %-9s %-7s %-15s %6s %s\n", "ID", "STATE",
			    "PROFILE", "SOURCE", "AGE", "NAME");
		printf("%-32s %-9s %-7s %-15s %5lds %s\n", pi->id, pi->state,
		    pi->profile, pi->source, age < 0 ? 0 : age, pi->name);
	}
	ls->n++;
	return 0;
}

static int
pair_list_run(hm_ca *ca, struct list_state *ls, hm_err *err)
{
	return hm_pair_list(ca, list_one, ls, err);
}

static int
pair_list(struct cli *g, int argc, char **argv)
{
	return list_verb(g, &sub[0], argc, argv, pair_list_run);
}

static int
pair_approve(struct cli *g, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "code", required_argument, NULL, 'c' },
		{ "ca", required_argument, NULL, 'a' },
		{ "san", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	hm_token_info	 ti;
	hm_names	*sans;
	hm_ca		*ca = NULL;
	hm_err		 err;
	const char	*code = NULL, *caname = NULL;
	char		 when[32];
	int		 ch, rc = EXIT_FAILURE;

	if ((sans = hm_names_new()) == NULL)
		return failx("out of memory");
	while ((ch = cmd_getopt(&sub[1], argc, argv, "h", lo)) != -1) {
		switch (ch) {
		case 'c': code = optarg; break;
		case 'a': caname = optarg; break;
		case 's':
			if (hm_names_add(sans, optarg, &err) != HM_OK) {
				rc = fail(&err);
				goto out;
			}
			break;
		case 'h': rc = usage(&sub[1], 0); goto out;
		default: rc = usage(&sub[1], EXIT_USAGE); goto out;
		}
	}
	if (optind != argc - 1 || code == NULL) {
		rc = usage(&sub[1], EXIT_USAGE);
		goto out;
	}
	if (open_ca(g, &ca) != 0)
		goto out;
	if (hm_pair_approve(ca, argv[optind], code, caname, sans, &ti,
	    &err) != HM_OK) {
		rc = fail(&err);
		goto out;
	}
	printf("approved: the new machine enrolls now with token %s (%s "
	    "certificate for CN=%s%s%s from CA '%s', until %s)\n", ti.id,
	    ti.profile, ti.name, ti.sans[0] != '\0' ? " " : "", ti.sans,
	    ti.ca, fmt_time(ti.expires_at, when));
	rc = 0;
 out:
	hm_names_free(sans);
	hm_ca_close(ca);
	return rc;
}

static int
pair_reject(struct cli *g, int argc, char **argv)
{
	return id_verb(g, &sub[2], argc, argv, hm_pair_reject,
	    "dropped pairing");
}
