/* hallmark ca new|list|url: intermediate CAs, and where CAs publish. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int	ca_new(struct cli *, int, char **);
static int	ca_list(struct cli *, int, char **);
static int	ca_url(struct cli *, int, char **);

static const struct cmd sub[] = {
	{ "new", ca_new, "ca new --name NAME --cn CN [--parent NAME] "
	  "[--pathlen N] [--validity 5y] [--key-type T] [--passphrase-env VAR]",
	  "Create an intermediate CA under the root or another intermediate.\n"
	  "Its validity is cut to its parent's, and said so.  In an offline\n"
	  "directory its key takes the root's passphrase: by default the one\n"
	  "given for the signing CA; another one is refused.\n\n"
	  "  --name NAME            short name: a-z 0-9 . _ - (required)\n"
	  "  --cn CN                its common name (required)\n"
	  "  --parent NAME          the signing CA (default: root)\n"
	  "  --pathlen N            intermediates allowed below it (default "
	  "0)\n"
	  "  --validity D           lifetime (default 5y)\n"
	  "  --key-type T           ed25519, p256 (default), p384, rsa2048, "
	  "rsa3072, rsa4096\n"
	  PASS_HELP CA_PASS_HELP },
	{ "list", ca_list, "ca list [--json]",
	  "List the CAs of DIR, the root first.\n\n"
	  "  --json                 one JSON array\n" },
	{ "url", ca_url, "ca url [--ca NAME] (URL | --none)",
	  "Set the base URL where a CA publishes: what it issues from now on\n"
	  "carries a CRL distribution point URL/crl/NAME and an OCSP responder\n"
	  "URL/ocsp, the paths hallmark serve answers.\n\n"
	  "  --ca NAME              the CA (default: root)\n"
	  "  --none                 publish nowhere: no such extensions\n" },
};

int
cmd_ca(struct cli *g, int argc, char **argv)
{
	return dispatch(g, sub, sizeof(sub) / sizeof(sub[0]), argc - 1,
	    argv + 1, "ca");
}

static int
ca_new(struct cli *g, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "cn", required_argument, NULL, 'c' },
		{ "parent", required_argument, NULL, 'P' },
		{ "pathlen", required_argument, NULL, 'p' },
		{ "validity", required_argument, NULL, 'v' },
		{ "key-type", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		PASS_OPTIONS, CA_PASS_OPTIONS,
		{ NULL, 0, NULL, 0 }
	};
	struct passsrc	 ps = { 0 }, cps = { 0 };
	hm_ca_params	 p = { 0 };
	hm_ca		*ca = NULL;
	hm_signer	*parent = NULL;
	hm_cert		*c = NULL;
	hm_err		 err;
	char		*pass = NULL, *end, buf[32], path[4096];
	long		 l;
	int		 ch, rc = EXIT_FAILURE, flags = 0;

	p.pathlen = -1;
	while ((ch = cmd_getopt(&sub[0], argc, argv, "h", lo)) != -1) {
		if (IS_CA_PASS_OPT(ch)) {
			pass_opt(&cps, ch, optarg);
			continue;
		}
		if (pass_opt(&ps, ch, optarg))
			continue;
		switch (ch) {
		case 'n': p.name = optarg; break;
		case 'c': p.cn = optarg; break;
		case 'P': p.parent = optarg; break;
		case 'p':
			l = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || l < 0 || l > 16)
				return failx("--pathlen: want 0 to 16");
			p.pathlen = (int)l;
			break;
		case 'v':
			if (duration_opt(optarg, &p.validity) != 0)
				return EXIT_FAILURE;
			break;
		case 'k':
			if (keytype_opt(optarg, &p.key_type) != 0)
				return EXIT_FAILURE;
			break;
		case 'h': return usage(&sub[0], 0);
		default: return usage(&sub[0], EXIT_USAGE);
		}
	}
	if (optind != argc || p.name == NULL || p.cn == NULL)
		return usage(&sub[0], EXIT_USAGE);
	if (open_ca(g, &ca) != 0)
		return EXIT_FAILURE;
	if (unlock_ca(ca, p.parent, &cps, &parent) != 0)
		goto out;
	/* Offline: one passphrase, the one that unlocked the parent. */
	if (hm_ca_offline(ca) && ps.env == NULL && ps.file == NULL &&
	    !ps.prompt) {
		ps = cps;
		pass_auto_prompt(&ps, 1);
	}
	if (pass_get(&ps, "the new CA's key", 1, &pass) != 0)
		goto out;
	p.pass = pass;
	if (hm_ca_new_intermediate(ca, parent, &p, &c, &flags, &err) != HM_OK) {
		fail(&err);
		goto out;
	}
	if (flags & HM_ISSUED_CLAMPED)
		fprintf(stderr, "hallmark: note: validity cut to that of CA "
		    "'%s': until %s\n", p.parent != NULL ? p.parent :
		    HM_ROOT_NAME, fmt_time(hm_cert_not_after(c), buf));
	hm_ca_cert_path(ca, p.name, path, sizeof(path));
	printf("created CA '%s' under '%s': serial %s, valid until %s\n"
	    "certificate: %s\n", p.name, p.parent != NULL ? p.parent :
	    HM_ROOT_NAME, hm_cert_serial(c), fmt_time(hm_cert_not_after(c),
	    buf), path);
	rc = 0;
 out:
	hm_secret_free(pass);
	hm_cert_free(c);
	hm_signer_free(parent);
	hm_ca_close(ca);
	return rc;
}

static int
list_one(const hm_ca_info *ci, void *arg)
{
	struct list_state	*ls = arg;
	char			 nb[32], na[32], pl[16];

	if (ls->json) {
		printf("%s\n  {\"name\": ", ls->n ? "," : "");
		json_str(ci->name);
		printf(", \"parent\": ");
		if (ci->parent[0] != '\0')
			json_str(ci->parent);
		else
			printf("null");
		printf(", \"serial\": \"%s\", \"subject\": ", ci->serial);
		json_str(ci->subject);
		printf(", \"depth\": %d, \"pathlen\": ", ci->depth);
		if (ci->pathlen < 0)
			printf("null");
		else
			printf("%d", ci->pathlen);
		printf(", \"key_type\": \"%s\", \"has_key\": %s, "
		    "\"encrypted\": %s, \"not_before\": \"%s\", "
		    "\"not_after\": \"%s\", \"base_url\": ",
		    hm_keytype_name(ci->key_type),
		    ci->has_key ? "true" : "false",
		    ci->encrypted ? "true" : "false",
		    fmt_time(ci->not_before, nb), fmt_time(ci->not_after, na));
		if (ci->base_url[0] != '\0')
			json_str(ci->base_url);
		else
			printf("null");
		printf("}");
	} else {
		if (ls->n == 0)
			printf("%-16s %-16s %-7s %-8s %-13s %-20s %s\n", "NAME",
			    "PARENT", "PATHLEN", "KEY", "ENCRYPTED",
			    "NOT_AFTER", "SUBJECT");
		if (ci->pathlen < 0)
			snprintf(pl, sizeof(pl), "-");
		else
			snprintf(pl, sizeof(pl), "%d", ci->pathlen);
		printf("%-16s %-16s %-7s %-8s %-13s %-20s %s\n", ci->name,
		    ci->parent[0] ? ci->parent : "-", pl,
		    hm_keytype_name(ci->key_type), !ci->has_key ? "no key here" :
		    ci->encrypted ? "yes" : "no",
		    fmt_time(ci->not_after, na), ci->subject);
	}
	ls->n++;
	return 0;
}

static int
ca_list_run(hm_ca *ca, struct list_state *ls, hm_err *err)
{
	return hm_ca_list(ca, list_one, ls, err);
}

static int
ca_list(struct cli *g, int argc, char **argv)
{
	return list_verb(g, &sub[1], argc, argv, ca_list_run);
}

static int
ca_url(struct cli *g, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "ca", required_argument, NULL, 'c' },
		{ "none", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char	*name = NULL, *url = NULL;
	hm_ca		*ca;
	hm_err		 err;
	int		 ch, none = 0, rc;

	while ((ch = cmd_getopt(&sub[2], argc, argv, "h", lo)) != -1) {
		switch (ch) {
		case 'c': name = optarg; break;
		case 'n': none = 1; break;
		case 'h': return usage(&sub[2], 0);
		default: return usage(&sub[2], EXIT_USAGE);
		}
	}
	if (optind == argc - 1 && !none)
		url = argv[optind];
	else if (!(optind == argc && none))
		return usage(&sub[2], EXIT_USAGE);
	if (open_ca(g, &ca) != 0)
		return EXIT_FAILURE;
	rc = hm_ca_set_url(ca, name, url, &err);
	hm_ca_close(ca);
	if (rc != HM_OK)
		return fail(&err);
	if (url != NULL)
		printf("CA '%s' publishes at %s/crl/%s and %s/ocsp\n",
		    name != NULL ? name : HM_ROOT_NAME, url,
		    name != NULL ? name : HM_ROOT_NAME, url);
	else
		printf("CA '%s' publishes nowhere\n", name != NULL ? name :
		    HM_ROOT_NAME);
	return 0;
}
