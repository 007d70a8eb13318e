/*
 * hallmark enroll: a new machine gets its certificate with a token, over
 * any network (docs/PROTOCOL.md, section 1.7).  The key is made here and
 * never leaves; nothing is written before the reply is authentic and its
 * chain verifies.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cli.h"


static const struct cmd cmd = { "enroll", NULL,
    "enroll --server URL (--token TOKEN|- | --pair --name CN [--profile P]\n"
    "    [--words])\n"
    "    [--key-type T] [--out-dir DIR] [--name CN] [--san TYPE:VALUE]...\n"
    "    [--cacert FILE] [--force] [--passphrase-env VAR]",
    "Get a certificate for this machine from a hallmark serve that gave\n"
    "out TOKEN (hallmark token new).  The key is generated here; the\n"
    "request and the reply travel sealed under the token's one-time key,\n"
    "so plain HTTP over any network will do.  Writes DIR/key.pem (0600),\n"
    "DIR/cert.pem, DIR/chain.pem (the certificate and the CAs above it)\n"
    "and DIR/ca.pem (the root), once the chain verifies.\n\n"
    "  --server URL           the CA's hallmark serve (http:// or https://)\n"
    "  --token TOKEN          the token; - reads it from standard input\n"
    "  --pair                 no token: pair with the CA instead; prints a\n"
    "                         code for its operator to compare and waits\n"
    "                         (5 minutes at most) for approval\n"
    "  --profile P            with --pair: server, client (default), both\n"
    "  --words                with --pair: show the code as words too\n"
    "  --key-type T           ed25519, p256 (default), p384, rsa2048, ...\n"
    "  --out-dir DIR          where to write (default: .)\n"
    "  --name CN              ask for this CN (default: the token's)\n"
    "  --san TYPE:VALUE       ask for these names only (default: the\n"
    "                         token's); all must be the token's\n"
    "  --cacert FILE          for an https:// server: the CA to trust\n"
    "  --force                replace files that exist\n"
    PASS_HELP };

/* A refusal by HTTP status, said. */
static int
http_refused(const char *server, long status, const struct http_body *b)
{
	size_t	n;

	switch (status) {
	case 403:
		return failx("%s refused the request: a wrong or unknown token, "
		    "or the request was altered on the way", server);
	case 429:
		return failx("%s: too many failed requests from here, or too "
		    "many pairings open; wait a minute", server);
	case 404:
		return failx("%s: no such pairing (it expired?)", server);
	default:
		/* The first line of the body, at most 80 bytes. */
		n = strcspn((const char *)b->buf, "\r\n");
		return failx("%s answered HTTP %ld: %.*s", server, status,
		    (int)(n > 80 ? 80 : n), (const char *)b->buf);
	}
}

#define PAIR_CTYPE	"application/x-hallmark-pair"
#define POLL_SECS	2

/*
 * Pair with the CA: commit, reveal, show the code, wait for approval.
 * On success *e is the enrollment the agreed key allows.
 */
static int
pair(const char *server, const char *cacert, const char *name,
    hm_profile_id profile, int words, const hm_csr *csr, struct http_body *b,
    hm_enroll **e)
{
	const unsigned char	*msg;
	hm_pair			*p = NULL;
	hm_err			 err;
	size_t			 len;
	long			 status = 0;
	int			 polls, state = HM_PAIR_WAITING, rc = -1;
	const char		*code;
	char			 w[64];
	struct http_opts	 ho = { cacert, NULL, NULL, NULL };

	if (hm_pair_new(name, profile, &p, &err) != HM_OK) {
		fail(&err);
		goto out;
	}
	msg = hm_pair_commit_msg(p, &len);
	if (http_post(server, "/pair", &ho, PAIR_CTYPE, msg, len, b,
	    &status) != 0)
		goto out;
	if (status != 200) {
		http_refused(server, status, b);
		goto out;
	}
	if (hm_pair_accepted(p, b->buf, b->len, &err) != HM_OK) {
		fail(&err);
		goto out;
	}
	msg = hm_pair_reveal_msg(p, &len);
	if (http_post(server, "/pair/reveal", &ho, PAIR_CTYPE, msg, len, b,
	    &status) != 0)
		goto out;
	if (status != 200) {
		http_refused(server, status, b);
		goto out;
	}
	code = hm_pair_code(p);
	printf("pairing code: %.3s %.3s\n", code, code + 3);
	if (words && hm_pair_code_words(code, w, sizeof(w)) == HM_OK)
		printf("in words:     %s\n", w);
	printf("On the CA: hallmark pair list, check the name and address, "
	    "then\n  hallmark pair approve ID --code %s\nwith the code "
	    "read here, not copied from anywhere else.  Waiting...\n",
	    code);
	fflush(stdout);
	msg = hm_pair_status_msg(p, &len);
	for (polls = 0; polls < (HM_PAIR_TTL + 30) / POLL_SECS; polls++) {
		if (http_post(server, "/pair/status", &ho, PAIR_CTYPE, msg,
		    len, b, &status) != 0)
			goto out;
		if (status != 200) {
			http_refused(server, status, b);
			goto out;
		}
		if (hm_pair_state(b->buf, b->len, &state, &err) != HM_OK) {
			fail(&err);
			goto out;
		}
		if (state != HM_PAIR_WAITING)
			break;
		sleep(POLL_SECS);
	}
	if (state != HM_PAIR_APPROVED) {
		failx("the pairing was not approved: rejected, expired, or the "
		    "code typed on the CA did not match this one");
		goto out;
	}
	if (hm_pair_enroll_new(p, csr, e, &err) != HM_OK) {
		fail(&err);
		goto out;
	}
	rc = 0;
 out:
	hm_pair_free(p);
	return rc;
}

/* The token: the argument, or a line of standard input for "-". */
static int
read_token(const char *arg, char *tok, size_t len)
{
	size_t	n;

	if (strcmp(arg, "-") != 0) {
		if (strlen(arg) >= len)
			return failx("--token: too long for a token");
		snprintf(tok, len, "%s", arg);
		return 0;
	}
	if (fgets(tok, (int)len, stdin) == NULL)
		return failx("--token -: nothing on standard input");
	n = strcspn(tok, "\r\n");
	if (tok[n] == '\0' && n == len - 1)
		return failx("--token -: too long for a token");
	tok[n] = '\0';
	return 0;
}

int
cmd_enroll(struct cli *g, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "server", required_argument, NULL, 's' },
		{ "token", required_argument, NULL, 't' },
		{ "key-type", required_argument, NULL, 'k' },
		{ "out-dir", required_argument, NULL, 'o' },
		{ "name", required_argument, NULL, 'n' },
		{ "san", required_argument, NULL, 'S' },
		{ "cacert", required_argument, NULL, 'c' },
		{ "pair", no_argument, NULL, 'P' },
		{ "words", no_argument, NULL, 'w' },
		{ "profile", required_argument, NULL, 'p' },
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		PASS_OPTIONS,
		{ NULL, 0, NULL, 0 }
	};
	static const char *const files[] = { "key.pem", "cert.pem",
	    "chain.pem", "ca.pem" };
	struct passsrc	 ps = { 0 };
	struct http_body	*b = NULL;
	struct http_opts	 ho = { NULL, NULL, NULL, NULL };
	hm_keytype	 kt = HM_KEY_P256;
	hm_profile_id	 profile = HM_PROFILE_CLIENT;
	hm_names	*sans = NULL;
	hm_key		*key = NULL;
	hm_csr		*csr = NULL;
	hm_enroll	*e = NULL;
	hm_err		 err;
	const unsigned char *req;
	const char	*server = NULL, *tokarg = NULL, *dir = ".";
	const char	*cn = NULL, *cacert = NULL;
	char		 tok[128], base[1024], path[4][4096], *pass = NULL;
	char		*chain = NULL;
	size_t		 reqlen, i, n;
	long		 status = 0;
	int		 ch, flags = 0, pairing = 0, words = 0;
	int		 rc = EXIT_FAILURE;

	(void)g;
	memset(tok, 0, sizeof(tok));
	if ((sans = hm_names_new()) == NULL)
		return failx("out of memory");
	while ((ch = cmd_getopt(&cmd, argc, argv, "h", lo)) != -1) {
		if (pass_opt(&ps, ch, optarg))
			continue;
		switch (ch) {
		case 's': server = optarg; break;
		case 't': tokarg = optarg; break;
		case 'k':
			if (keytype_opt(optarg, &kt) != 0)
				goto out;
			break;
		case 'o': dir = optarg; break;
		case 'n': cn = optarg; break;
		case 'S':
			if (hm_names_add(sans, optarg, &err) != HM_OK) {
				fail(&err);
				goto out;
			}
			break;
		case 'c': cacert = optarg; break;
		case 'P': pairing = 1; break;
		case 'w': words = 1; break;
		case 'p':
			if (hm_profile_parse(optarg, &profile, &err) != HM_OK) {
				fail(&err);
				goto out;
			}
			break;
		case 'f': flags |= HM_F_FORCE; break;
		case 'h': rc = usage(&cmd, 0); goto out;
		default: rc = usage(&cmd, EXIT_USAGE); goto out;
		}
	}
	if (optind != argc || server == NULL ||
	    (tokarg == NULL) == (pairing == 0)) {
		rc = usage(&cmd, EXIT_USAGE);
		goto out;
	}
	if (pairing && cn == NULL) {
		failx("--pair: give the --name to ask for");
		goto out;
	}
	if (strncmp(server, "http://", 7) != 0 &&
	    strncmp(server, "https://", 8) != 0) {
		failx("--server: want http://HOST:PORT or https://HOST:PORT");
		goto out;
	}
	n = strlen(server);
	if (snprintf(base, sizeof(base), "%.*s", (int)(n > 0 &&
	    server[n - 1] == '/' ? n - 1 : n), server) >= (int)sizeof(base)) {
		failx("--server: too long a URL");
		goto out;
	}
	for (i = 0; i < 4; i++) {
		if ((size_t)snprintf(path[i], sizeof(path[i]), "%s/%s", dir,
		    files[i]) >= sizeof(path[i])) {
			failx("--out-dir: too long a path");
			goto out;
		}
		if (out_free(path[i], flags) != 0)
			goto out;
	}
	if ((tokarg != NULL && read_token(tokarg, tok, sizeof(tok)) != 0) ||
	    pass_get(&ps, "the new key", 1, &pass) != 0)
		goto out;
	if ((b = calloc(1, sizeof(*b))) == NULL) {
		failx("out of memory");
		goto out;
	}
	if (hm_key_generate(kt, &key, &err) != HM_OK ||
	    hm_csr_new_any(key, cn, sans, &csr, &err) != HM_OK ||
	    (!pairing && hm_enroll_new(tok, csr, &e, &err) != HM_OK)) {
		fail(&err);
		goto out;
	}
	OPENSSL_cleanse(tok, sizeof(tok));
	if (pairing && pair(base, cacert, cn, profile, words, csr, b,
	    &e) != 0)
		goto out;
	req = hm_enroll_request(e, &reqlen);
	ho.cacert = cacert;
	if (http_post(base, "/enroll", &ho, "application/x-hallmark-enroll",
	    req, reqlen, b, &status) != 0)
		goto out;
	if (status != 200) {
		http_refused(server, status, b);
		goto out;
	}
	if (hm_enroll_finish(e, key, b->buf, b->len, &err) != HM_OK) {
		fail(&err);
		goto out;
	}
	n = strlen(hm_enroll_cert_pem(e)) + strlen(hm_enroll_chain_pem(e));
	if ((chain = malloc(n + 1)) == NULL) {
		failx("out of memory");
		goto out;
	}
	snprintf(chain, n + 1, "%s%s", hm_enroll_cert_pem(e),
	    hm_enroll_chain_pem(e));
	/* The directory, made if missing (one level, 0755). */
	if (mkdir(dir, 0755) == -1 && errno != EEXIST) {
		failx("--out-dir %s: %s", dir, strerror(errno));
		goto out;
	}
	if (hm_key_save(key, path[0], pass, flags, &err) != HM_OK) {
		fail(&err);
		goto out;
	}
	if (write_out(path[1], hm_enroll_cert_pem(e),
	    strlen(hm_enroll_cert_pem(e)), 0644, flags) != 0 ||
	    write_out(path[2], chain, n, 0644, flags) != 0 ||
	    write_out(path[3], hm_enroll_ca_pem(e),
	    strlen(hm_enroll_ca_pem(e)), 0644, flags) != 0)
		goto out;
	printf("enrolled: %s (key), %s, %s, %s\n", path[0], path[1], path[2],
	    path[3]);
	rc = 0;
 out:
	OPENSSL_cleanse(tok, sizeof(tok));
	hm_secret_free(pass);
	free(chain);
	free(b);
	hm_enroll_free(e);
	hm_csr_free(csr);
	hm_key_free(key);
	hm_names_free(sans);
	return rc;
}
