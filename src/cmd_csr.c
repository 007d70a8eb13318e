/* hallmark csr new|show. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int	csr_new(struct cli *, int, char **);
static int	csr_show(struct cli *, int, char **);

static const struct cmd sub[] = {
	{ "new", csr_new, "csr new --key FILE (--cn CN | --san TYPE:VALUE)... "
	  "-o FILE",
	  "Build and sign a certificate signing request with a key.\n\n"
	  "  --key FILE             the private key (PEM)\n"
	  "  --cn CN                the common name\n"
	  "  --san TYPE:VALUE       dns:NAME, ip:ADDR, email:ADDR or uri:URI "
	  "(repeatable)\n"
	  "  -o, --out FILE         where to write the CSR (PEM; - for standard "
	  "output)\n"
	  "  --force                replace FILE if it exists\n"
	  "  --passphrase-env VAR   the key's passphrase, in $VAR\n"
	  "  --passphrase-file F    ... in the first line of file F\n"
	  "  --passphrase-prompt    ... typed at the terminal (the default when "
	  "the key\n"
	  "                         is encrypted and stdin is a terminal)\n" },
	{ "show", csr_show, "csr show FILE",
	  "Check a CSR (size, syntax, signature, key policy, names) and show\n"
	  "what it asks for.\n" },
};

int
cmd_csr(struct cli *g, int argc, char **argv)
{
	return dispatch(g, sub, sizeof(sub) / sizeof(sub[0]), argc - 1,
	    argv + 1, "csr");
}

static int
csr_new(struct cli *g, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "cn", required_argument, NULL, 'c' },
		{ "san", required_argument, NULL, 's' },
		{ "out", required_argument, NULL, 'o' },
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		PASS_OPTIONS,
		{ NULL, 0, NULL, 0 }
	};
	struct passsrc	 ps = { 0 };
	const char	*keyf = NULL, *cn = NULL, *out = NULL;
	char		*pass = NULL;
	hm_names	*sans;
	hm_key		*k = NULL;
	hm_csr		*c = NULL;
	hm_err		 err;
	int		 ch, flags = 0, rc = EXIT_FAILURE;

	(void)g;
	if ((sans = hm_names_new()) == NULL)
		return failx("out of memory");
	while ((ch = cmd_getopt(&sub[0], argc, argv, "ho:", lo)) != -1) {
		if (pass_opt(&ps, ch, optarg))
			continue;
		switch (ch) {
		case 'k': keyf = optarg; break;
		case 'c': cn = optarg; break;
		case 's':
			if (hm_names_add(sans, optarg, &err) != HM_OK) {
				fail(&err);
				goto out;
			}
			break;
		case 'o': out = optarg; break;
		case 'f': flags |= HM_F_FORCE; break;
		case 'h': rc = usage(&sub[0], 0); goto out;
		default: rc = usage(&sub[0], EXIT_USAGE); goto out;
		}
	}
	if (optind != argc || keyf == NULL || out == NULL ||
	    (cn == NULL && hm_names_count(sans) == 0)) {
		rc = usage(&sub[0], EXIT_USAGE);
		goto out;
	}
	pass_auto_prompt(&ps, hm_key_file_is_encrypted(keyf));
	if (pass_get(&ps, keyf, 0, &pass) != 0)
		goto out;
	if (hm_key_load(keyf, pass, &k, &err) != HM_OK ||
	    hm_csr_new(k, cn, sans, &c, &err) != HM_OK) {
		fail(&err);
		goto out;
	}
	if (strcmp(out, "-") == 0) {
		char	*pem;
		size_t	 len;

		if (hm_csr_pem(c, &pem, &len, &err) != HM_OK) {
			fail(&err);
			goto out;
		}
		rc = write_out(out, pem, len, 0644, flags);
		free(pem);
		goto out;
	}
	if (hm_csr_save(c, out, flags, &err) != HM_OK) {
		fail(&err);
		goto out;
	}
	printf("wrote CSR to %s\n", out);
	rc = 0;
 out:
	hm_secret_free(pass);
	hm_csr_free(c);
	hm_key_free(k);
	hm_names_free(sans);
	return rc;
}

static int
csr_show(struct cli *g, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	hm_csr	*c;
	hm_err	 err;
	char	*text;
	int	 ch;

	(void)g;
	while ((ch = cmd_getopt(&sub[1], argc, argv, "h", lo)) != -1) {
		if (ch == 'h')
			return usage(&sub[1], 0);
		return usage(&sub[1], EXIT_USAGE);
	}
	if (optind + 1 != argc)
		return usage(&sub[1], EXIT_USAGE);
	if (hm_csr_load(argv[optind], &c, &err) != HM_OK)
		return fail(&err);
	if (hm_csr_describe(c, &text, &err) != HM_OK) {
		hm_csr_free(c);
		return fail(&err);
	}
	fputs(text, stdout);
	free(text);
	hm_csr_free(c);
	return 0;
}
