/* hallmark init: create the root CA and the inventory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const struct cmd cmd = { "init", NULL,
    "init --cn NAME [--key-type T] [--validity 10y] [--pathlen N] "
    "[--offline] [--passphrase-env VAR] | init --config FILE [--dry-run]",
    "Create DIR, a self-signed root CA and the inventory store.\n"
    "Refuses to touch a directory that already holds a CA.\n"
    "With --config, build the whole hierarchy FILE describes (see\n"
    "hallmark.yaml(5)): print a plan, then create what is missing and\n"
    "re-issue what changed or expires soon; a second run changes nothing.\n\n"
    "  --config FILE          the hierarchy file\n"
    "  --dry-run              with --config: print the plan only\n"
    "  --cn NAME              the root's common name (required without "
    "--config)\n"
    "  --key-type T           ed25519, p256 (default), p384, rsa2048, "
    "rsa3072, rsa4096\n"
    "  --validity D           lifetime, e.g. 10y (default), 3650d\n"
    "  --pathlen N            limit the depth of intermediates below the "
    "root\n"
    "  --offline              an offline root: every key of DIR encrypted "
    "under\n"
    "                         the root's one passphrase (required)\n"
    PASS_HELP };

static int
init_config(struct cli *g, const char *config, int dry)
{
	static const char *const kinds[] = {
		[HM_STEP_ROOT] = "root", [HM_STEP_CA] = "ca",
		[HM_STEP_NODE] = "node",
	};
	static const char *const acts[] = {
		[HM_STEP_KEEP] = "keep", [HM_STEP_CREATE] = "create",
		[HM_STEP_REISSUE] = "re-issue", [HM_STEP_UPDATE] = "update",
	};
	const hm_step	*st;
	hm_hier		*h;
	hm_err		 err;
	size_t		 i, n, todo = 0;
	int		 rc;

	if (hm_hier_load(config, &h, &err) != HM_OK)
		return fail(&err);
	if (hm_hier_plan(h, g->dir, &st, &n, &err) != HM_OK) {
		hm_hier_free(h);
		return fail(&err);
	}
	printf("plan for %s from %s:\n", g->dir, config);
	for (i = 0; i < n; i++) {
		printf("  %-9s %-5s %-24s %s\n", acts[st[i].action],
		    kinds[st[i].kind], st[i].name, st[i].why);
		if (st[i].action != HM_STEP_KEEP)
			todo++;
	}
	if (todo == 0 || dry) {
		printf(todo == 0 ? "nothing to do\n" : "dry run: nothing "
		    "done\n");
		hm_hier_free(h);
		return 0;
	}
	rc = hm_hier_apply(h, g->dir, lib_pass, NULL, &err);
	hm_hier_free(h);
	if (rc != HM_OK)
		return fail(&err);
	printf("done: %zu step%s carried out\n", todo, todo == 1 ? "" : "s");
	return 0;
}

int
cmd_init(struct cli *g, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "cn", required_argument, NULL, 'c' },
		{ "key-type", required_argument, NULL, 'k' },
		{ "validity", required_argument, NULL, 'v' },
		{ "pathlen", required_argument, NULL, 'p' },
		{ "config", required_argument, NULL, 'C' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "offline", no_argument, NULL, 'O' },
		{ "help", no_argument, NULL, 'h' },
		PASS_OPTIONS,
		{ NULL, 0, NULL, 0 }
	};
	struct passsrc	 ps = { 0 };
	hm_ca_params	 p = { 0 };
	hm_ca		*ca = NULL;
	hm_err		 err;
	hm_ca_info	 ci;
	const char	*config = NULL;
	char		*pass = NULL, *end, buf[32], path[4096];
	long		 l;
	int		 ch, rc, dry = 0, other = 0;

	p.pathlen = -1;
	while ((ch = cmd_getopt(&cmd, argc, argv, "h", lo)) != -1) {
		if (pass_opt(&ps, ch, optarg)) {
			other = 1;
			continue;
		}
		if (ch != 'C' && ch != 'n' && ch != 'h')
			other = 1;
		switch (ch) {
		case 'C': config = optarg; break;
		case 'n': dry = 1; break;
		case 'O': p.offline = 1; break;
		case 'c': p.cn = optarg; break;
		case 'k':
			if (keytype_opt(optarg, &p.key_type) != 0)
				return EXIT_FAILURE;
			break;
		case 'v':
			if (duration_opt(optarg, &p.validity) != 0)
				return EXIT_FAILURE;
			break;
		case 'p':
			l = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || l < 0 || l > 16)
				return failx("--pathlen: want 0 to 16");
			p.pathlen = (int)l;
			break;
		case 'h': return usage(&cmd, 0);
		default: return usage(&cmd, EXIT_USAGE);
		}
	}
	if (config != NULL) {
		if (optind != argc || other)
			return failx("--config takes no other option but "
			    "--dry-run: the file says the rest");
		return init_config(g, config, dry);
	}
	if (dry)
		return failx("--dry-run goes with --config");
	if (optind != argc || p.cn == NULL)
		return usage(&cmd, EXIT_USAGE);
	if (pass_get(&ps, "the root key", 1, &pass) != 0)
		return EXIT_FAILURE;
	if (p.offline && pass == NULL)
		return failx("--offline: every key of an offline directory is "
		    "encrypted under the root's passphrase (give "
		    "--passphrase-env VAR, --passphrase-file F or "
		    "--passphrase-prompt)");
	p.pass = pass;
	rc = hm_ca_init(g->dir, &p, &ca, &err);
	hm_secret_free(pass);
	if (rc != HM_OK)
		return fail(&err);
	if (hm_ca_get_info(ca, NULL, &ci, &err) != HM_OK) {
		hm_ca_close(ca);
		return fail(&err);
	}
	hm_ca_cert_path(ca, NULL, path, sizeof(path));
	printf("created %sroot CA '%s' in %s: %s key%s, valid until %s\n"
	    "certificate: %s\n", p.offline ? "offline " : "", p.cn, g->dir,
	    hm_keytype_name(ci.key_type), p.pass != NULL ? " (encrypted)" :
	    "", fmt_time(ci.not_after, buf), path);
	hm_ca_close(ca);
	return 0;
}
