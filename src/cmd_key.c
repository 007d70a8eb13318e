/* hallmark key new: generate a key into a 0600 file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int	key_new(struct cli *, int, char **);

static const struct cmd sub[] = {
	{ "new", key_new, "key new [--type T] [--passphrase-env VAR] "
	  "[--force] -o FILE",
	  "Generate a private key and write it as PKCS#8 PEM, mode 0600.\n\n"
	  "  --type T               ed25519, p256 (default), p384, rsa2048, "
	  "rsa3072, rsa4096\n"
	  "  --key-type T           the same as --type\n"
	  "  -o, --out FILE         where to write it (never replaced without "
	  "--force;\n"
	  "                         never standard output)\n"
	  "  --force                replace FILE atomically if it exists\n"
	  PASS_HELP },
};

int
cmd_key(struct cli *g, int argc, char **argv)
{
	return dispatch(g, sub, sizeof(sub) / sizeof(sub[0]), argc - 1,
	    argv + 1, "key");
}

static int
key_new(struct cli *g, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "type", required_argument, NULL, 't' },
		{ "key-type", required_argument, NULL, 't' },
		{ "out", required_argument, NULL, 'o' },
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		PASS_OPTIONS,
		{ NULL, 0, NULL, 0 }
	};
	struct passsrc	 ps = { 0 };
	hm_keytype	 t = HM_KEY_DEFAULT;
	const char	*out = NULL;
	char		*pass = NULL;
	hm_key		*k = NULL;
	hm_err		 err;
	int		 ch, flags = 0, rc;

	(void)g;
	while ((ch = cmd_getopt(&sub[0], argc, argv, "ho:", lo)) != -1) {
		if (pass_opt(&ps, ch, optarg))
			continue;
		switch (ch) {
		case 't':
			if (keytype_opt(optarg, &t) != 0)
				return EXIT_FAILURE;
			break;
		case 'o': out = optarg; break;
		case 'f': flags |= HM_F_FORCE; break;
		case 'h': return usage(&sub[0], 0);
		default: return usage(&sub[0], EXIT_USAGE);
		}
	}
	if (optind != argc || out == NULL)
		return usage(&sub[0], EXIT_USAGE);
	if (strcmp(out, "-") == 0)
		return failx("refusing to write a private key to standard "
		    "output: give a file");
	if (pass_get(&ps, "the new key", 1, &pass) != 0)
		return EXIT_FAILURE;
	if ((rc = hm_key_generate(t, &k, &err)) == HM_OK)
		rc = hm_key_save(k, out, pass, flags, &err);
	hm_secret_free(pass);
	hm_key_free(k);
	if (rc != HM_OK)
		return fail(&err);
	printf("wrote %s key to %s%s\n", hm_keytype_name(t), out,
	    ps.env || ps.file || ps.prompt ? " (encrypted)" : "");
	return 0;
}
