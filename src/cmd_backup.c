/*
 * hallmark backup, restore, import: encrypted archives of a CA directory
 * (docs/PROTOCOL.md, section 3).  `hallmark export` (cmd_export.c) makes
 * the signers archive that import takes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const struct cmd backup_cmd = { "backup", NULL,
    "backup --recipient CERT [--recipient CERT ...] -o FILE [--force]",
    "Write every file of the CA directory, the root's key included, and a\n"
    "consistent snapshot of the inventory to FILE (mode 0600) as CMS\n"
    "AuthEnvelopedData (AES-256-GCM) that each recipient's key opens.\n\n"
    "  --recipient CERT       a certificate (PEM or DER) whose key may open "
    "it:\n"
    "                         RSA (OAEP) or EC P-256/P-384; up to 16\n"
    "  -o, --out FILE         where to write it (never standard output)\n"
    "  --force                replace FILE atomically if it exists\n" };

static const struct cmd restore_cmd = { "restore", NULL,
    "restore FILE -d NEWDIR --key KEY [--cert CERT] [options]",
    "Rebuild a CA directory from a backup with one recipient's key.\n"
    "NEWDIR must not exist or be empty; on failure nothing is left in it.\n\n"
    "  -d, --dir NEWDIR       the directory to rebuild (default: the -d "
    "before\n"
    "                         the verb)\n"
    "  --key KEY              a recipient's private key (PEM)\n"
    "  --cert CERT            its certificate: picks the recipient\n"
    KEY_PASS_HELP };

static const struct cmd import_cmd = { "import", NULL,
    "import FILE --key KEY [--cert CERT] [--root ROOT] [options]",
    "Take the intermediate CAs of an archive that `hallmark export` wrote\n"
    "into DIR: each must chain to DIR's root certificate, which must be\n"
    "the archive's.  With --root, a DIR without a CA first becomes an\n"
    "online CA that holds the root's certificate only.  A CA that DIR has\n"
    "already with the same certificate is left as it is.\n\n"
    "  --key KEY              a recipient's private key (PEM)\n"
    "  --cert CERT            its certificate: picks the recipient\n"
    "  --root ROOT            the root certificate you trust, got apart "
    "from\n"
    "                         the archive: DIR's, or DIR is created with it\n"
    "  --passphrase-env VAR   encrypt the imported keys with the passphrase "
    "in $VAR\n"
    "  --passphrase-file F    ... with the first line of file F\n"
    "  --passphrase-prompt    ... with one typed at the terminal (no echo)\n"
    KEY_PASS_HELP };

/* The recipient's key (and certificate), as import and restore take it. */
static int
recipient_load(const char *keyf, const char *certf,
    const struct passsrc *kps, hm_key **k, hm_cert **c)
{
	hm_err	err;

	*c = NULL;
	if (certf != NULL && hm_cert_load(certf, c, &err) != HM_OK)
		return fail(&err);
	if (load_key(keyf, kps, k) != 0) {
		hm_cert_free(*c);
		*c = NULL;
		return EXIT_FAILURE;
	}
	return 0;
}

static int
archive_read(const char *path, unsigned char **buf, size_t *len)
{
	hm_err	err;

	if (hm_file_read(path, HM_ARCHIVE_MAX, buf, len, &err) != HM_OK)
		return fail(&err);
	return 0;
}

int
recipients_load(char *const *files, size_t n, hm_cert **out)
{
	hm_err	err;
	size_t	i;

	for (i = 0; i < n; i++)
		if (hm_cert_load(files[i], &out[i], &err) != HM_OK) {
			recipients_free(out, i);
			return failx("--recipient %s: %s", files[i], err.msg);
		}
	return 0;
}

void
recipients_free(hm_cert **v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		hm_cert_free(v[i]);
}

int
archive_write(const char *out, const unsigned char *der, size_t len,
    int flags, const char *what, const char *dir, size_t nr)
{
	if (write_out(out, der, len, 0600, flags) != 0)
		return EXIT_FAILURE;
	printf("wrote %s of %s to %s for %zu recipient%s\n", what, dir, out,
	    nr, nr == 1 ? "" : "s");
	return 0;
}

int
cmd_backup(struct cli *g, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "recipient", required_argument, NULL, 'r' },
		{ "out", required_argument, NULL, 'o' },
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	char		*rfiles[HM_ARCHIVE_RECIPIENTS_MAX];
	hm_cert		*recips[HM_ARCHIVE_RECIPIENTS_MAX];
	const char	*out = NULL;
	unsigned char	*der = NULL;
	size_t		 nr = 0, len = 0;
	hm_ca		*ca = NULL;
	hm_err		 err;
	int		 ch, flags = 0, rc = EXIT_FAILURE;

	while ((ch = cmd_getopt(&backup_cmd, argc, argv, "ho:", lo)) != -1) {
		switch (ch) {
		case 'r':
			if (nr == HM_ARCHIVE_RECIPIENTS_MAX)
				return failx("at most %d recipients",
				    HM_ARCHIVE_RECIPIENTS_MAX);
			rfiles[nr++] = optarg;
			break;
		case 'o': out = optarg; break;
		case 'f': flags |= HM_F_FORCE; break;
		case 'h': return usage(&backup_cmd, 0);
		default: return usage(&backup_cmd, EXIT_USAGE);
		}
	}
	if (optind != argc || out == NULL || nr == 0)
		return usage(&backup_cmd, EXIT_USAGE);
	if (strcmp(out, "-") == 0)
		return failx("refusing to write a backup to standard output: "
		    "give a file");
	if (out_free(out, flags) != 0 || recipients_load(rfiles, nr,
	    recips) != 0)
		return EXIT_FAILURE;
	if (open_ca(g, &ca) != 0)
		goto out;
	if (hm_archive_backup(ca, (const hm_cert *const *)recips, nr, &der,
	    &len, &err) != HM_OK) {
		fail(&err);
		goto out;
	}
	rc = archive_write(out, der, len, flags, "a backup", g->dir, nr);
 out:
	free(der);
	recipients_free(recips, nr);
	hm_ca_close(ca);
	return rc;
}

int
cmd_restore(struct cli *g, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "key", required_argument, NULL, 'k' },
		{ "cert", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		KEY_PASS_OPTIONS,
		{ NULL, 0, NULL, 0 }
	};
	struct passsrc	 kps = { 0 };
	const char	*dir = g->dir, *keyf = NULL, *certf = NULL;
	unsigned char	*buf = NULL;
	size_t		 len = 0;
	hm_key		*k = NULL;
	hm_cert		*c = NULL;
	hm_err		 err;
	int		 ch, rc = EXIT_FAILURE;

	while ((ch = cmd_getopt(&restore_cmd, argc, argv, "hd:", lo)) != -1) {
		if (key_pass_opt(&kps, ch, optarg))
			continue;
		switch (ch) {
		case 'd': dir = optarg; break;
		case 'k': keyf = optarg; break;
		case 'c': certf = optarg; break;
		case 'h': return usage(&restore_cmd, 0);
		default: return usage(&restore_cmd, EXIT_USAGE);
		}
	}
	if (optind != argc - 1 || keyf == NULL || *dir == '\0')
		return usage(&restore_cmd, EXIT_USAGE);
	if (archive_read(argv[optind], &buf, &len) != 0 ||
	    recipient_load(keyf, certf, &kps, &k, &c) != 0)
		goto out;
	if (hm_archive_restore(dir, buf, len, k, c, &err) != HM_OK) {
		failx("%s: %s", argv[optind], err.msg);
		goto out;
	}
	printf("restored %s into %s\n", argv[optind], dir);
	rc = 0;
 out:
	free(buf);
	hm_key_free(k);
	hm_cert_free(c);
	return rc;
}

/* arg: how many were new. */
static int
import_said(const char *name, int already, void *arg)
{
	printf("%s CA '%s'\n", already ? "already had" : "imported", name);
	if (!already)
		(*(int *)arg)++;
	return 0;
}

/* Where the new CAs publish is this server's to say, not the archive's. */
static void
import_hint(const char *dir, int imported)
{
	if (imported > 0)
		printf("what they issue carries no CRL or OCSP URL until you say "
		    "where this server publishes: hallmark -d %s ca url --ca "
		    "NAME URL\n", dir);
}

/* --root given for a CA that exists: it must be that CA's root. */
static int
same_root(hm_ca *ca, const hm_cert *root, const char *rootf)
{
	char			 path[4096];
	const unsigned char	*a, *b;
	size_t			 alen, blen;
	hm_cert			*mine;
	hm_err			 err;
	int			 same;

	if (hm_ca_cert_path(ca, NULL, path, sizeof(path)) == -1)
		return failx("CA directory path too long");
	if (hm_cert_load(path, &mine, &err) != HM_OK)
		return fail(&err);
	a = hm_cert_der(root, &alen);
	b = hm_cert_der(mine, &blen);
	same = alen == blen && memcmp(a, b, alen) == 0;
	hm_cert_free(mine);
	if (!same)
		return failx("--root %s is not the root certificate of this "
		    "CA", rootf);
	return 0;
}

int
cmd_import(struct cli *g, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "cert", required_argument, NULL, 'c' },
		{ "root", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		PASS_OPTIONS,
		KEY_PASS_OPTIONS,
		{ NULL, 0, NULL, 0 }
	};
	struct passsrc	 ps = { 0 }, kps = { 0 };
	const char	*keyf = NULL, *certf = NULL, *rootf = NULL;
	unsigned char	*buf = NULL;
	char		*pass = NULL;
	size_t		 len = 0;
	hm_key		*k = NULL;
	hm_cert		*c = NULL, *root = NULL;
	hm_ca		*ca = NULL;
	hm_err		 err;
	int		 ch, rc = EXIT_FAILURE, r, imported = 0;

	while ((ch = cmd_getopt(&import_cmd, argc, argv, "h", lo)) != -1) {
		if (pass_opt(&ps, ch, optarg) || key_pass_opt(&kps, ch, optarg))
			continue;
		switch (ch) {
		case 'k': keyf = optarg; break;
		case 'c': certf = optarg; break;
		case 'r': rootf = optarg; break;
		case 'h': return usage(&import_cmd, 0);
		default: return usage(&import_cmd, EXIT_USAGE);
		}
	}
	if (optind != argc - 1 || keyf == NULL)
		return usage(&import_cmd, EXIT_USAGE);
	if (rootf != NULL && hm_cert_load(rootf, &root, &err) != HM_OK) {
		failx("--root %s: %s", rootf, err.msg);
		goto out;
	}
	if (archive_read(argv[optind], &buf, &len) != 0 ||
	    recipient_load(keyf, certf, &kps, &k, &c) != 0)
		goto out;
	if (pass_get(&ps, "the imported CA keys", 1, &pass) != 0)
		goto out;
	r = hm_ca_open(g->dir, &ca, &err);
	if (r == HM_E_NOTFOUND && root != NULL) {
		if (hm_archive_import_new(g->dir, root, buf, len, k, c, pass,
		    import_said, &imported, &ca, &err) != HM_OK) {
			failx("%s: %s", argv[optind], err.msg);
			goto out;
		}
		printf("made %s an online CA: the root certificate of %s, no "
		    "root key\n", g->dir, rootf);
		import_hint(g->dir, imported);
		rc = 0;
		goto out;
	} else if (r != HM_OK) {
		if (r == HM_E_NOTFOUND)
			failx("%s (give --root ROOT to create an online CA "
			    "from the root certificate)", err.msg);
		else
			fail(&err);
		goto out;
	} else if (root != NULL && same_root(ca, root, rootf) != 0)
		goto out;
	if (hm_archive_import(ca, buf, len, k, c, pass, import_said,
	    &imported, &err) != HM_OK) {
		failx("%s: %s", argv[optind], err.msg);
		goto out;
	}
	import_hint(g->dir, imported);
	rc = 0;
 out:
	hm_secret_free(pass);
	free(buf);
	hm_key_free(k);
	hm_cert_free(c);
	hm_cert_free(root);
	hm_ca_close(ca);
	return rc;
}
