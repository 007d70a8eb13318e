/* hallmark init: create the root CA and the inventory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const struct cmd cmd = { "init", NULL,
    "init --cn NAME [--key-type T] [--validity 10y] [--pathlen N] "
    "[--passphrase-env VAR]",
    "Create DIR, a self-signed root CA and the inventory store.\n"
    "Refuses to touch a directory that already holds a CA.\n\n"
    "  --cn NAME              the root's common name (required)\n"
    "  --key-type T           ed25519, p256 (default), p384, rsa2048, "
    "rsa3072, rsa4096\n"
    "  --validity D           lifetime, e.g. 10y (default), 3650d\n"
    "  --pathlen N            limit the depth of intermediates below the "
    "root\n"
    PASS_HELP };

int
cmd_init(struct cli *g, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "cn", required_argument, NULL, 'c' },
		{ "key-type", required_argument, NULL, 'k' },
		{ "validity", required_argument, NULL, 'v' },
		{ "pathlen", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		PASS_OPTIONS,
		{ NULL, 0, NULL, 0 }
	};
	struct passsrc	 ps = { 0 };
	hm_ca_params	 p = { 0 };
	hm_ca		*ca = NULL;
	hm_err		 err;
	hm_ca_info	 ci;
	char		*pass = NULL, *end, buf[32], path[4096];
	long		 l;
	int		 ch, rc;

	p.pathlen = -1;
	while ((ch = cmd_getopt(&cmd, argc, argv, "h", lo)) != -1) {
		if (pass_opt(&ps, ch, optarg))
			continue;
		switch (ch) {
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
	if (optind != argc || p.cn == NULL)
		return usage(&cmd, EXIT_USAGE);
	if (pass_get(&ps, "the root key", 1, &pass) != 0)
		return EXIT_FAILURE;
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
	printf("created root CA '%s' in %s: %s key%s, valid until %s\n"
	    "certificate: %s\n", p.cn, g->dir, hm_keytype_name(ci.key_type),
	    p.pass != NULL ? " (encrypted)" : "", fmt_time(ci.not_after, buf),
	    path);
	hm_ca_close(ca);
	return 0;
}
