/* hallmark serve: publish CRLs and answer OCSP over HTTP. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>

#include "cli.h"
#include "serve.h"

/* What serve does with each CA, said once on stderr before it listens. */
static int
say_cb(const hm_ca_info *ci, void *arg)
{
	hm_responder	*r = arg;

	if (hm_responder_online(r, ci->name))
		fprintf(stderr, "CA '%s': online\n", ci->name);
	else
		fprintf(stderr, "CA '%s': offline (no key here): no CRL, OCSP "
		    "unauthorized, no enrollment\n", ci->name);
	return 0;
}

static const struct cmd cmd = { "serve", NULL,
    "serve [--listen ADDR:PORT] [--tls-listen ADDR:PORT --tls-cert FILE\n"
    "    --tls-key FILE] [--max-conns N] [--ocsp-delegated]\n"
    "    [--ca-passphrase-env VAR]",
    "Serve, in the foreground, the CRL of every CA of DIR at\n"
    "GET /crl/NAME, OCSP (RFC 6960, RFC 5019) at POST /ocsp and\n"
    "GET /ocsp/BASE64, and enrollment with tokens (hallmark token new) at\n"
    "POST /enroll, over HTTP (and HTTPS).  Prints \"listening on\n"
    "ADDR:PORT\" once bound and one line a request on stderr; SIGTERM or\n"
    "SIGINT stop it.  A CA whose key is not in DIR (an online CA's root,\n"
    "see import) is offline: not unlocked, no CRL, OCSP about what it\n"
    "issued unauthorized.  Says on stderr, first, which CAs are online.\n\n"
    "  --listen ADDR:PORT     IPv4 ADDR:PORT or [IPv6]:PORT, numeric\n"
    "                         (default 127.0.0.1:8080; port 0: any free)\n"
    "  --tls-listen ADDR:PORT  serve the same over TLS there too\n"
    "  --tls-cert FILE        its certificate chain (PEM, leaf first)\n"
    "  --tls-key FILE         its key\n"
    "  --passphrase-env VAR   passphrase of --tls-key, in $VAR\n"
    "  --passphrase-file F    ... in the first line of file F\n"
    "  --passphrase-prompt    ... typed at the terminal\n"
    "  --max-conns N          connections at once (default 1000)\n"
    "  --ocsp-delegated       sign OCSP answers with responder certificates\n"
    "                         each CA issues (OCSPSigning, ocsp-nocheck, 2\n"
    "                         days, renewed at half life; keys in memory\n"
    "                         only), not with the CA keys\n"
    "  --ca-passphrase-env VAR  passphrase of the CA keys, in $VAR\n"
    "  --ca-passphrase-file F   ... in the first line of file F\n"
    "  --ca-passphrase-prompt   ... typed at the terminal, once a CA (the\n"
    "                           default when stdin is a terminal)\n" };

int
cmd_serve(struct cli *g, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "max-conns", required_argument, NULL, 'm' },
		{ "ocsp-delegated", no_argument, NULL, 'D' },
		{ "tls-listen", required_argument, NULL, 'L' },
		{ "tls-cert", required_argument, NULL, 'C' },
		{ "tls-key", required_argument, NULL, 'K' },
		PASS_OPTIONS,
		{ "help", no_argument, NULL, 'h' },
		CA_PASS_OPTIONS,
		{ NULL, 0, NULL, 0 }
	};
	struct serve_opts	 o;
	struct passsrc		 ps = { 0 }, tps = { 0 };
	hm_tls_params		 tp = { 0 };
	SSL_CTX			*tls = NULL;
	hm_responder		*r = NULL;
	hm_ca			*ca = NULL;
	hm_err			 err;
	const char		*listen = "127.0.0.1:8080", *tlisten = NULL;
	char			 why[128], *end, *tpass = NULL;
	unsigned long		 l;
	int			 ch, delegated = 0, rc = EXIT_FAILURE;

	memset(&o, 0, sizeof(o));
	o.max_conns = SERVE_MAX_CONNS;
	o.timeout = SERVE_TIMEOUT;
	while ((ch = cmd_getopt(&cmd, argc, argv, "h", lo)) != -1) {
		if (pass_opt(IS_CA_PASS_OPT(ch) ? &ps : &tps, ch, optarg))
			continue;
		switch (ch) {
		case 'l': listen = optarg; break;
		case 'm':
			errno = 0;
			l = strtoul(optarg, &end, 10);
			if (*optarg < '0' || *optarg > '9' || *end != '\0' ||
			    errno != 0 || l < 1 || l > SERVE_MAX_CONNS_MAX)
				return failx("--max-conns: want 1 to %d",
				    SERVE_MAX_CONNS_MAX);
			o.max_conns = l;
			break;
		case 'D': delegated = 1; break;
		case 'L': tlisten = optarg; break;
		case 'C': tp.cert = optarg; break;
		case 'K': tp.key = optarg; break;
		case 'h': return usage(&cmd, 0);
		default: return usage(&cmd, EXIT_USAGE);
		}
	}
	if (optind != argc)
		return usage(&cmd, EXIT_USAGE);
	if (serve_listen_parse(listen, &o.listen, why, sizeof(why)) != 0)
		return failx("--listen '%.64s': %s", listen, why);
	if (tlisten != NULL && serve_listen_parse(tlisten, &o.tls_listen, why,
	    sizeof(why)) != 0)
		return failx("--tls-listen '%.64s': %s", tlisten, why);
	if ((tlisten != NULL) != (tp.cert != NULL) ||
	    (tlisten != NULL) != (tp.key != NULL))
		return failx("--tls-listen, --tls-cert and --tls-key go "
		    "together");
	if ((tps.env != NULL) + (tps.file != NULL) + tps.prompt > 1)
		return failx("give one of --passphrase-env, --passphrase-file "
		    "and --passphrase-prompt");
	if (tlisten == NULL && (tps.env != NULL || tps.file != NULL ||
	    tps.prompt))
		return failx("a --passphrase option is for --tls-key");
	if ((ps.env != NULL) + (ps.file != NULL) + ps.prompt > 1)
		return failx("give one of --ca-passphrase-env, "
		    "--ca-passphrase-file and --ca-passphrase-prompt");
	ps.opt = "--ca-passphrase";
	pass_auto_prompt(&ps, 1);
	if (open_ca(g, &ca) != 0)
		goto out;
	/* The TLS key first: a wrong passphrase costs no CA unlocking. */
	if (tp.key != NULL) {
		tps.opt = "--passphrase";
		pass_auto_prompt(&tps, hm_key_file_is_encrypted(tp.key));
		if ((tps.env != NULL || tps.file != NULL || tps.prompt) &&
		    pass_get(&tps, "the --tls-key", 0, &tpass) != 0)
			goto out;
		tp.key_pass = tpass;
		/*
		 * Clients verified up to the directory's CAs, for POST /renew;
		 * asked, not required: CRL and OCSP clients have none.
		 */
		tp.ca_dir = ca;
		tp.flags = HM_TLS_REQUEST_CLIENT_CERT;
		rc = hm_tls_server_ctx_new(&tp, &tls, &err);
		hm_secret_free(tpass);
		tpass = NULL;
		if (rc != HM_OK) {
			rc = EXIT_FAILURE;
			fail(&err);
			goto out;
		}
		rc = EXIT_FAILURE;
		o.tls = tls;
	}
	if (hm_responder_new(ca, lib_pass, &ps, &r, &err) != HM_OK ||
	    (delegated && hm_responder_delegate(r, &err) != HM_OK)) {
		fail(&err);
		goto out;
	}
	if (hm_ca_list(ca, say_cb, r, &err) != HM_OK) {
		fail(&err);
		goto out;
	}
	rc = serve_run(r, &o) == 0 ? 0 : EXIT_FAILURE;
 out:
	SSL_CTX_free(tls);
	hm_responder_free(r);
	hm_ca_close(ca);
	return rc;
}
