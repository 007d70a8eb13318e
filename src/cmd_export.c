/*
 * hallmark export: the signers of the CA (intermediates and their keys,
 * the root's certificate) as an encrypted archive for an online machine;
 * hallmark export p12: a key and its certificate for other software.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#define CERT_MAX	(64 * 1024)
#define CA_NAMES_MAX	64

static int	export_p12(struct cli *, int, char **);

static const struct cmd archive_cmd = { "export", NULL,
    "export --recipient CERT [--recipient CERT ...] -o FILE [--ca NAME ...] "
    "[options]",
    "Write the signers of the CA, every intermediate (or those of --ca)\n"
    "with its key, and the root's certificate (never its key), to FILE\n"
    "(mode 0600) as CMS AuthEnvelopedData (AES-256-GCM) that each\n"
    "recipient's key opens; `hallmark import` takes it in.\n\n"
    "  --recipient CERT       a certificate (PEM or DER) whose key may open "
    "it:\n"
    "                         RSA (OAEP) or EC P-256/P-384; up to 16\n"
    "  -o, --out FILE         where to write it (never standard output)\n"
    "  --ca NAME              export this intermediate (repeatable; "
    "default: all)\n"
    "  --force                replace FILE atomically if it exists\n"
    "  --passphrase-env VAR   passphrase of the encrypted CA keys, in $VAR\n"
    "  --passphrase-file F    ... in the first line of file F\n"
    "  --passphrase-prompt    ... typed at the terminal (the default when a\n"
    "                         key is encrypted and stdin is a terminal)\n" };

static const struct cmd sub[] = {
	{ "p12", export_p12, "export p12 --cert CERT --key KEY [--chain] "
	  "-o FILE (--passphrase-env VAR | --passphrase-file F | "
	  "--passphrase-prompt) [--legacy] [--name NAME]",
	  "Write a key, its certificate and, with --chain, the CAs above it\n"
	  "as a PKCS#12 file, mode 0600: AES-256-CBC with PBKDF2-HMAC-SHA256\n"
	  "and an HMAC-SHA256 MAC, or with --legacy 3DES and a SHA-1 MAC.\n\n"
	  "  --cert CERT            the certificate (PEM or DER)\n"
	  "  --key KEY              its private key (PEM)\n"
	  "  --chain                add the CAs of DIR above CERT, root "
	  "included\n"
	  "  -o, --out FILE         where to write it (never replaced without "
	  "--force;\n"
	  "                         never standard output)\n"
	  "  --force                replace FILE atomically if it exists\n"
	  "  --legacy               PBE-SHA1-3DES and a SHA-1 MAC, for old "
	  "importers\n"
	  "  --name NAME            the friendly name (default: CERT's common "
	  "name)\n"
	  "  --passphrase-env VAR   protect the file with the passphrase in "
	  "$VAR\n"
	  "  --passphrase-file F    ... with the first line of file F\n"
	  "  --passphrase-prompt    ... with one typed at the terminal (no "
	  "echo)\n"
	  "  --key-passphrase-env VAR  passphrase of KEY, in $VAR\n"
	  "  --key-passphrase-file F   ... in the first line of file F\n"
	  "  --key-passphrase-prompt   ... typed at the terminal (the default "
	  "when\n"
	  "                            KEY is encrypted and stdin is a "
	  "terminal)\n" },
};

/* Any encrypted key among the signers: then a terminal may ask. */
static int
any_encrypted(const hm_ca_info *ci, void *arg)
{
	if (ci->depth > 0 && ci->encrypted)
		*(int *)arg = 1;
	return 0;
}

/* The signers archive: hallmark export with options and no sub-verb. */
static int
export_archive(struct cli *g, const char *out, int flags, char *const *rfiles,
    size_t nr, const char *const *names, size_t nn, struct passsrc *ps)
{
	hm_cert		*recips[HM_ARCHIVE_RECIPIENTS_MAX];
	unsigned char	*der = NULL;
	size_t		 len = 0;
	hm_ca		*ca = NULL;
	hm_err		 err;
	int		 rc = EXIT_FAILURE, enc = 0;

	if (strcmp(out, "-") == 0)
		return failx("refusing to write CA keys to standard output: "
		    "give a file");
	if (out_free(out, flags) != 0 ||
	    recipients_load(rfiles, nr, recips) != 0)
		return EXIT_FAILURE;
	if (open_ca(g, &ca) != 0)
		goto out;
	ps->opt = "--passphrase";
	if (hm_ca_list(ca, any_encrypted, &enc, &err) != HM_OK) {
		fail(&err);
		goto out;
	}
	pass_auto_prompt(ps, enc);
	if (hm_archive_signers(ca, names, nn, lib_pass, ps,
	    (const hm_cert *const *)recips, nr, &der, &len, &err) != HM_OK) {
		fail(&err);
		goto out;
	}
	rc = archive_write(out, der, len, flags, "the signers", g->dir, nr);
 out:
	free(der);
	recipients_free(recips, nr);
	hm_ca_close(ca);
	return rc;
}

int
cmd_export(struct cli *g, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "recipient", required_argument, NULL, 'r' },
		{ "out", required_argument, NULL, 'o' },
		{ "ca", required_argument, NULL, 'n' },
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		PASS_OPTIONS,
		{ NULL, 0, NULL, 0 }
	};
	struct passsrc	 ps = { 0 };
	char		*rfiles[HM_ARCHIVE_RECIPIENTS_MAX];
	const char	*names[CA_NAMES_MAX], *out = NULL;
	size_t		 nr = 0, nn = 0;
	int		 ch, flags = 0;

	/* A sub-verb (p12) first; otherwise options: the signers archive. */
	if (argc < 2) {
		fprintf(stderr, "usage: hallmark [-d DIR] %s\n"
		    "       hallmark [-d DIR] %s\n", archive_cmd.usage,
		    sub[0].usage);
		return EXIT_USAGE;
	}
	if (argv[1][0] != '-')
		return dispatch(g, sub, sizeof(sub) / sizeof(sub[0]),
		    argc - 1, argv + 1, "export");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		printf("usage:\n  hallmark [-d DIR] %s\n  hallmark [-d DIR] "
		    "%s\n\n%s\n'hallmark export p12 --help' tells of PKCS#12."
		    "\n", archive_cmd.usage, sub[0].usage, archive_cmd.help);
		return 0;
	}
	while ((ch = cmd_getopt(&archive_cmd, argc, argv, "ho:", lo)) != -1) {
		if (pass_opt(&ps, ch, optarg))
			continue;
		switch (ch) {
		case 'r':
			if (nr == HM_ARCHIVE_RECIPIENTS_MAX)
				return failx("at most %d recipients",
				    HM_ARCHIVE_RECIPIENTS_MAX);
			rfiles[nr++] = optarg;
			break;
		case 'n':
			if (nn == CA_NAMES_MAX)
				return failx("at most %d --ca", CA_NAMES_MAX);
			names[nn++] = optarg;
			break;
		case 'o': out = optarg; break;
		case 'f': flags |= HM_F_FORCE; break;
		case 'h': return usage(&archive_cmd, 0);
		default: return usage(&archive_cmd, EXIT_USAGE);
		}
	}
	if (optind != argc || out == NULL || nr == 0)
		return usage(&archive_cmd, EXIT_USAGE);
	return export_archive(g, out, flags, rfiles, nr, names, nn, &ps);
}

int
key_pass_opt(struct passsrc *src, int ch, const char *arg)
{
	switch (ch) {
	case OPT_KEY_PASS_ENV: src->env = arg; return 1;
	case OPT_KEY_PASS_FILE: src->file = arg; return 1;
	case OPT_KEY_PASS_PROMPT: src->prompt = 1; return 1;
	}
	return 0;
}

/* Load the key, asking for its passphrase on a terminal if need be. */
int
load_key(const char *path, const struct passsrc *src, hm_key **k)
{
	struct passsrc	 ps = *src;
	char		*pass = NULL;
	hm_err		 err;
	int		 rc;

	ps.opt = "--key-passphrase";
	pass_auto_prompt(&ps, hm_key_file_is_encrypted(path));
	if (pass_get(&ps, path, 0, &pass) != 0)
		return EXIT_FAILURE;
	rc = hm_key_load(path, pass, k, &err);
	if (rc == HM_E_PASSPHRASE && pass == NULL)
		failx("%s (give --key-passphrase-env VAR, "
		    "--key-passphrase-file F or --key-passphrase-prompt)",
		    err.msg);
	else if (rc != HM_OK)
		fail(&err);
	hm_secret_free(pass);
	return rc == HM_OK ? 0 : EXIT_FAILURE;
}

static int
export_p12(struct cli *g, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "cert", required_argument, NULL, 'c' },
		{ "key", required_argument, NULL, 'k' },
		{ "chain", no_argument, NULL, 'C' },
		{ "out", required_argument, NULL, 'o' },
		{ "force", no_argument, NULL, 'f' },
		{ "legacy", no_argument, NULL, 'l' },
		{ "name", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		PASS_OPTIONS,
		KEY_PASS_OPTIONS,
		{ NULL, 0, NULL, 0 }
	};
	struct passsrc	 ps = { 0 }, kps = { 0 };
	hm_p12_params	 p;
	const char	*certf = NULL, *keyf = NULL, *out = NULL;
	unsigned char	*cert = NULL, *der = NULL;
	char		*pass = NULL, *chain = NULL;
	size_t		 certlen = 0, chainlen = 0, derlen = 0;
	hm_ca		*ca = NULL;
	hm_key		*k = NULL;
	hm_err		 err;
	int		 ch, flags = 0, with_chain = 0, rc = EXIT_FAILURE;

	memset(&p, 0, sizeof(p));
	while ((ch = cmd_getopt(&sub[0], argc, argv, "ho:", lo)) != -1) {
		if (pass_opt(&ps, ch, optarg) || key_pass_opt(&kps, ch, optarg))
			continue;
		switch (ch) {
		case 'c': certf = optarg; break;
		case 'k': keyf = optarg; break;
		case 'C': with_chain = 1; break;
		case 'o': out = optarg; break;
		case 'f': flags |= HM_F_FORCE; break;
		case 'l': p.legacy = 1; break;
		case 'n': p.name = optarg; break;
		case 'h': return usage(&sub[0], 0);
		default: return usage(&sub[0], EXIT_USAGE);
		}
	}
	if (optind != argc || certf == NULL || keyf == NULL || out == NULL)
		return usage(&sub[0], EXIT_USAGE);
	if (ps.env == NULL && ps.file == NULL && !ps.prompt) {
		failx("a PKCS#12 file needs a passphrase: give "
		    "--passphrase-env VAR, --passphrase-file F or "
		    "--passphrase-prompt");
		return EXIT_USAGE;
	}
	if (strcmp(out, "-") == 0)
		return failx("refusing to write a private key to standard "
		    "output: give a file");
	/* Refuse before asking for any passphrase. */
	if (!(flags & HM_F_FORCE) && access(out, F_OK) == 0)
		return failx("%s exists; refusing to overwrite it (use --force "
		    "to replace)", out);
	if (hm_file_read(certf, CERT_MAX, &cert, &certlen, &err) != HM_OK)
		return fail(&err);
	if (with_chain) {
		if (open_ca(g, &ca) != 0)
			goto out;
		if (hm_ca_issuer_chain_pem(ca, cert, certlen, &chain,
		    &chainlen, &err) != HM_OK) {
			failx("%s: %s", certf, err.msg);
			goto out;
		}
	}
	if (load_key(keyf, &kps, &k) != 0)
		goto out;
	if (pass_get(&ps, "the PKCS#12 file", 1, &pass) != 0)
		goto out;
	p.key = k;
	p.cert_pem = cert;
	p.cert_len = certlen;
	p.chain_pem = (unsigned char *)chain;
	p.chain_len = chainlen;
	p.pass = pass;
	if (hm_p12_export(&p, &der, &derlen, &err) != HM_OK) {
		failx("%s, %s: %s", certf, keyf, err.msg);
		goto out;
	}
	if (write_out(out, der, derlen, 0600, flags) != 0)
		goto out;
	printf("wrote key, certificate%s to %s (%s)\n", with_chain ?
	    " and CA chain" : "", out, p.legacy ? "legacy: 3DES, SHA-1 MAC" :
	    "AES-256-CBC, SHA-256 MAC");
	rc = 0;
 out:
	hm_secret_free(pass);
	free(der);
	free(chain);
	free(cert);
	hm_key_free(k);
	hm_ca_close(ca);
	return rc;
}
