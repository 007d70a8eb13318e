/* hallmark token new|list|revoke: one-time keys for enrollment. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "cli.h"

static int	token_new(struct cli *, int, char **);
static int	token_list(struct cli *, int, char **);
static int	token_revoke(struct cli *, int, char **);

static const struct cmd sub[] = {
	{ "new", token_new, "token new --name NODE --profile server|client|both "
	  "[--san TYPE:VALUE]... [--ttl 15m] [--ca NAME]",
	  "Create a one-time enrollment token for a new machine: a 256-bit\n"
	  "pre-shared key bound to the names and profile of the certificate it\n"
	  "will get.  The token is printed once, alone on standard output; it\n"
	  "is never stored or shown again.  Give it to `hallmark enroll` on\n"
	  "the new machine.\n\n"
	  "  --name NODE            the certificate's common name (required)\n"
	  "  --profile P            server, client or both (required)\n"
	  "  --san TYPE:VALUE       dns:, ip:, email:, uri: (repeatable; server\n"
	  "                         and both need one)\n"
	  "  --ttl D                how long it may be used (default 15m, at\n"
	  "                         most 30d)\n"
	  "  --ca NAME              the issuing CA (default: root)\n" },
	{ "list", token_list, "token list [--json]",
	  "List the tokens, newest first: id, state (pending, used, revoked,\n"
	  "expired), scope, expiry and the certificate a used one got.\n\n"
	  "  --json                 one JSON array\n" },
	{ "revoke", token_revoke, "token revoke ID",
	  "Revoke a pending token: it can no longer be used.\n" },
};

int
cmd_token(struct cli *g, int argc, char **argv)
{
	return dispatch(g, sub, sizeof(sub) / sizeof(sub[0]), argc - 1,
	    argv + 1, "token");
}

static int
token_new(struct cli *g, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "profile", required_argument, NULL, 'p' },
		{ "san", required_argument, NULL, 's' },
		{ "ttl", required_argument, NULL, 't' },
		{ "ca", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	hm_token_params	 p;
	hm_token_info	 ti;
	hm_names	*sans = NULL;
	hm_ca		*ca = NULL;
	hm_err		 err;
	char		 token[HM_TOKEN_LEN + 1], when[32];
	int		 ch, rc = EXIT_FAILURE;

	memset(&p, 0, sizeof(p));
	if ((sans = hm_names_new()) == NULL)
		return failx("out of memory");
	while ((ch = cmd_getopt(&sub[0], argc, argv, "h", lo)) != -1) {
		switch (ch) {
		case 'n': p.name = optarg; break;
		case 'p':
			if (hm_profile_parse(optarg, &p.profile, &err) != HM_OK) {
				rc = fail(&err);
				goto out;
			}
			break;
		case 's':
			if (hm_names_add(sans, optarg, &err) != HM_OK) {
				rc = fail(&err);
				goto out;
			}
			break;
		case 't':
			if (duration_opt(optarg, &p.ttl) != 0)
				goto out;
			break;
		case 'c': p.ca = optarg; break;
		case 'h': rc = usage(&sub[0], 0); goto out;
		default: rc = usage(&sub[0], EXIT_USAGE); goto out;
		}
	}
	if (optind != argc || p.name == NULL || p.profile == HM_PROFILE_NONE) {
		rc = usage(&sub[0], EXIT_USAGE);
		goto out;
	}
	p.sans = sans;
	if (open_ca(g, &ca) != 0)
		goto out;
	if (hm_token_new(ca, &p, token, &ti, &err) != HM_OK) {
		rc = fail(&err);
		goto out;
	}
	fprintf(stderr, "token %s: %s certificate for CN=%s%s%s from CA "
	    "'%s', usable once until %s; it is shown only now\n", ti.id,
	    ti.profile, ti.name, ti.sans[0] != '\0' ? " " : "", ti.sans,
	    ti.ca, fmt_time(ti.expires_at, when));
	printf("%s\n", token);
	fflush(stdout);
	OPENSSL_cleanse(token, sizeof(token));
	rc = 0;
 out:
	hm_names_free(sans);
	hm_ca_close(ca);
	return rc;
}

static int
list_one(const hm_token_info *ti, void *arg)
{
	struct list_state	*ls = arg;
	char			 ex[32], used[32];

	if (ls->json) {
		printf("%s\n  {\"id\": \"%s\", \"state\": \"%s\", \"ca\": ",
		    ls->n ? "," : "", ti->id, ti->state);
		json_str(ti->ca);
		printf(", \"name\": ");
		json_str(ti->name);
		printf(", \"profile\": \"%s\", \"sans\": ", ti->profile);
		json_str(ti->sans);
		printf(", \"created_at\": \"%s\", \"expires_at\": \"%s\", "
		    "\"used_at\": ", fmt_time(ti->created_at, used),
		    fmt_time(ti->expires_at, ex));
		if (ti->used_at != 0)
			printf("\"%s\"", fmt_time(ti->used_at, used));
		else
			printf("null");
		printf(", \"serial\": ");
		if (ti->serial[0] != '\0')
			printf("\"%s\"}", ti->serial);
		else
			printf("null}");
	} else {
		if (ls->n == 0)
			printf("%-20s %-8s %-7s %-12s %-20s %s\n", "ID", "STATE",
			    "PROFILE", "CA", "EXPIRES", "NAME / SANS / SERIAL");
		printf("%-20s %-8s %-7s %-12s %-20s %s%s%s%s%s\n", ti->id,
		    ti->state, ti->profile, ti->ca,
		    fmt_time(ti->expires_at, ex), ti->name,
		    ti->sans[0] != '\0' ? " " : "", ti->sans,
		    ti->serial[0] != '\0' ? " -> " : "", ti->serial);
	}
	ls->n++;
	return 0;
}

static int
token_list_run(hm_ca *ca, struct list_state *ls, hm_err *err)
{
	return hm_token_list(ca, list_one, ls, err);
}

static int
token_list(struct cli *g, int argc, char **argv)
{
	return list_verb(g, &sub[1], argc, argv, token_list_run);
}

static int
token_revoke(struct cli *g, int argc, char **argv)
{
	return id_verb(g, &sub[2], argc, argv, hm_token_revoke,
	    "revoked token");
}
