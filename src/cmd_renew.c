/*
 * hallmark renew: prove the current certificate over mutual TLS to the
 * CA's hallmark serve and replace it (and, by default, its key) with a
 * new one with the same names and profile.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cli.h"

static const struct cmd cmd = { "renew", NULL,
    "renew --server https://HOST:PORT --cert CERT --key KEY [--chain FILE]\n"
    "    [--cacert FILE] [--reuse-key] [--key-type T] [--passphrase-env VAR]",
    "Renew this machine's certificate: present it (and its key) over\n"
    "mutual TLS to the --tls-listen address of the CA's hallmark serve,\n"
    "send a request for a new key (or the same one with --reuse-key), and\n"
    "replace KEY, CERT and the chain file with the answer once it verifies\n"
    "up to the CA.  The old certificate is marked superseded at the CA.\n\n"
    "  --server URL           https://HOST:PORT of hallmark serve --tls-listen\n"
    "  --cert CERT            the current certificate (PEM); replaced\n"
    "  --key KEY              its key; replaced by the new key\n"
    "  --chain FILE           the certificate and its CAs (what enroll\n"
    "                         writes as chain.pem): presented, and replaced\n"
    "                         (default: chain.pem beside CERT, if there)\n"
    "  --cacert FILE          the CA to trust (default: ca.pem beside CERT)\n"
    "  --reuse-key            keep the key; only the certificate changes\n"
    "  --key-type T           the new key's type (default: the old one's)\n"
    "  --passphrase-env VAR   passphrase of KEY (and of the new key), in $VAR\n"
    "  --passphrase-file F    ... in the first line of file F\n"
    "  --passphrase-prompt    ... typed at the terminal\n" };

/* dir(of) + "/" + name into buf, if that file exists (want_exists). */
static int
beside(const char *of, const char *name, char *buf, size_t len,
    int want_exists)
{
	const char	*slash = strrchr(of, '/');
	int		 n;

	n = slash == NULL ? snprintf(buf, len, "%s", name) :
	    snprintf(buf, len, "%.*s/%s", (int)(slash - of), of, name);
	if (n < 0 || (size_t)n >= len)
		return -1;
	return want_exists && access(buf, R_OK) != 0 ? -1 : 0;
}

int
cmd_renew(struct cli *g, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "server", required_argument, NULL, 's' },
		{ "cert", required_argument, NULL, 'c' },
		{ "key", required_argument, NULL, 'k' },
		{ "chain", required_argument, NULL, 'C' },
		{ "cacert", required_argument, NULL, 'a' },
		{ "reuse-key", no_argument, NULL, 'r' },
		{ "key-type", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		PASS_OPTIONS,
		{ NULL, 0, NULL, 0 }
	};
	struct passsrc	 ps = { 0 };
	struct http_opts ho = { NULL, NULL, NULL, NULL };
	struct http_body *b = NULL;
	hm_keytype	 kt = HM_KEY_NONE;
	hm_key		*old = NULL, *key = NULL;
	hm_csr		*csr = NULL;
	hm_err		 err;
	const char	*server = NULL, *cert = NULL, *keyf = NULL;
	const char	*chainf = NULL, *cacert = NULL;
	char		 base[1024], cab[4096], chb[4096], *pass = NULL;
	char		*csrpem = NULL, *ncert = NULL, *nchain = NULL;
	size_t		 n, csrlen;
	long		 status = 0;
	int		 ch, reuse = 0, rc = EXIT_FAILURE;

	(void)g;
	while ((ch = cmd_getopt(&cmd, argc, argv, "h", lo)) != -1) {
		if (pass_opt(&ps, ch, optarg))
			continue;
		switch (ch) {
		case 's': server = optarg; break;
		case 'c': cert = optarg; break;
		case 'k': keyf = optarg; break;
		case 'C': chainf = optarg; break;
		case 'a': cacert = optarg; break;
		case 'r': reuse = 1; break;
		case 't':
			if (keytype_opt(optarg, &kt) != 0)
				return EXIT_FAILURE;
			break;
		case 'h': return usage(&cmd, 0);
		default: return usage(&cmd, EXIT_USAGE);
		}
	}
	if (optind != argc || server == NULL || cert == NULL || keyf == NULL)
		return usage(&cmd, EXIT_USAGE);
	if (strncmp(server, "https://", 8) != 0)
		return failx("--server: renewal is over mutual TLS: want "
		    "https://HOST:PORT (hallmark serve --tls-listen)");
	if (reuse && kt != HM_KEY_NONE)
		return failx("--reuse-key keeps the key: no --key-type");
	n = strlen(server);
	if (snprintf(base, sizeof(base), "%.*s", (int)(n > 0 &&
	    server[n - 1] == '/' ? n - 1 : n), server) >= (int)sizeof(base))
		return failx("--server: too long a URL");
	if (cacert == NULL) {
		if (beside(cert, "ca.pem", cab, sizeof(cab), 1) != 0)
			return failx("no ca.pem beside %s: give --cacert", cert);
		cacert = cab;
	}
	if (chainf == NULL && beside(cert, "chain.pem", chb, sizeof(chb), 1) ==
	    0)
		chainf = chb;
	pass_auto_prompt(&ps, hm_key_file_is_encrypted(keyf));
	if (pass_get(&ps, keyf, 0, &pass) != 0)
		goto out;
	if (hm_key_load(keyf, pass, &old, &err) != HM_OK) {
		fail(&err);
		goto out;
	}
	if (reuse)
		key = old;
	else if (hm_key_generate(kt != HM_KEY_NONE ? kt : hm_key_type(old),
	    &key, &err) != HM_OK) {
		fail(&err);
		goto out;
	}
	if (hm_csr_new_any(key, NULL, NULL, &csr, &err) != HM_OK ||
	    hm_csr_pem(csr, &csrpem, &csrlen, &err) != HM_OK) {
		fail(&err);
		goto out;
	}
	if ((b = calloc(1, sizeof(*b))) == NULL) {
		failx("out of memory");
		goto out;
	}
	ho.cacert = cacert;
	ho.cert = chainf != NULL ? chainf : cert;
	ho.key = keyf;
	ho.keypass = pass;
	if (http_post(base, "/renew", &ho, "application/pkcs10",
	    (unsigned char *)csrpem, csrlen, b, &status) != 0)
		goto out;
	if (status != 200) {
		n = strcspn((const char *)b->buf, "\r\n");
		failx("%s refused the renewal (HTTP %ld): %.*s", server, status,
		    (int)(n > 160 ? 160 : n), (const char *)b->buf);
		goto out;
	}
	if (hm_renewed_check((const char *)b->buf, b->len, key, cacert,
	    &ncert, &nchain, &err) != HM_OK) {
		fail(&err);
		goto out;
	}
	/*
	 * The key first, then the certificate and the chain; each replaced
	 * atomically.  A reader that reloads after all three sees a pair.
	 */
	if (!reuse && hm_key_save(key, keyf, pass, HM_F_FORCE, &err) != HM_OK) {
		fail(&err);
		goto out;
	}
	if (write_out(cert, ncert, strlen(ncert), 0644, HM_F_FORCE) != 0 ||
	    (chainf != NULL && write_out(chainf, nchain, strlen(nchain),
	    0644, HM_F_FORCE) != 0))
		goto out;
	printf("renewed: %s%s%s%s%s\n", reuse ? "" : keyf, reuse ? "" : ", ",
	    cert, chainf != NULL ? ", " : "", chainf != NULL ? chainf : "");
	rc = 0;
 out:
	hm_secret_free(pass);
	free(csrpem);
	free(ncert);
	free(nchain);
	free(b);
	hm_csr_free(csr);
	if (key != old)
		hm_key_free(key);
	hm_key_free(old);
	return rc;
}
