/* hallmark schedule: pre-create the root's intermediate signers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static const struct cmd cmd = { "schedule", NULL,
    "schedule --config FILE [--dry-run] [--ca-passphrase-env VAR]",
    "Create the intermediate signers the schedule section of FILE asks\n"
    "for (see hallmark.yaml(5)): one a slot of the UTC year, made ahead so\n"
    "that every instant of the lead window has a signer with the overlap\n"
    "left.  Prints the timeline; a second run creates nothing.\n\n"
    "  --config FILE          the hierarchy file with a schedule section\n"
    "  --dry-run              print the timeline only\n"
    CA_PASS_HELP
    "                         (used when FILE names no passphrase for the "
    "root;\n"
    "                         the new keys take the same one unless the\n"
    "                         schedule names its own)\n" };

int
cmd_schedule(struct cli *g, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "config", required_argument, NULL, 'C' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		CA_PASS_OPTIONS,
		{ NULL, 0, NULL, 0 }
	};
	struct passsrc		 cps = { 0 };
	const hm_sched_entry	*e;
	hm_sched_params		 p;
	const char		*config = NULL;
	hm_hier			*h = NULL;
	hm_sched		*s = NULL;
	hm_ca			*ca = NULL;
	hm_err			 err;
	char			 nb[32], na[32];
	size_t			 i, made = 0;
	int			 ch, dry = 0, rc = EXIT_FAILURE;

	while ((ch = cmd_getopt(&cmd, argc, argv, "h", lo)) != -1) {
		if (pass_opt(&cps, ch, optarg))
			continue;
		switch (ch) {
		case 'C': config = optarg; break;
		case 'n': dry = 1; break;
		case 'h': return usage(&cmd, 0);
		default: return usage(&cmd, EXIT_USAGE);
		}
	}
	if (optind != argc || config == NULL)
		return usage(&cmd, EXIT_USAGE);
	if (hm_hier_load(config, &h, &err) != HM_OK ||
	    hm_hier_sched_params(h, &p, &err) != HM_OK) {
		fail(&err);
		goto out;
	}
	if (open_ca(g, &ca) != 0)
		goto out;
	if (hm_sched_plan(ca, &p, time(NULL), &s, &err) != HM_OK) {
		fail(&err);
		goto out;
	}
	printf("signers of %s:\n", g->dir);
	for (i = 0; (e = hm_sched_get(s, i)) != NULL; i++)
		printf("  %-24s %s  %s  %s\n", e->name,
		    fmt_time(e->not_before, nb), fmt_time(e->not_after, na),
		    e->exists ? "exists" : "create");
	if (hm_sched_todo(s) == 0 || dry) {
		printf(hm_sched_todo(s) == 0 ? "nothing to do\n" : "dry run: "
		    "nothing done\n");
		rc = 0;
		goto out;
	}
	cps.opt = "--ca-passphrase";
	pass_auto_prompt(&cps, hm_ca_key_encrypted(ca, NULL));
	if (hm_hier_sched_apply(h, ca, s, lib_pass, &cps, &made, &err) !=
	    HM_OK) {
		fail(&err);
		goto out;
	}
	printf("done: %zu signer%s created\n", made, made == 1 ? "" : "s");
	rc = 0;
 out:
	hm_sched_free(s);
	hm_ca_close(ca);
	hm_hier_free(h);
	return rc;
}
