/*
 * hallmark renew: prove the current certificate over mutual TLS to the
 * CA's hallmark serve and replace it (and, by default, its key) with a
 * new one with the same names and profile.
 */
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

extern char	**environ;

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

/* What one renewal needs. */
struct renew_opts {
	const char	*server;	/* https://HOST:PORT, no trailing / */
	const char	*cert, *key, *chain, *cacert;
	const char	*pass;		/* of key, or NULL */
	int		 reuse;
	hm_keytype	 kt;		/* HM_KEY_NONE: the old key's */
};

/* One renewal: 0 with the files replaced, or -1 (said). */
static int
renew_once(const struct renew_opts *ro, char serial[41])
{
	struct http_opts ho = { NULL, NULL, NULL, NULL };
	struct http_body *b = NULL;
	hm_key		*old = NULL, *key = NULL;
	hm_csr		*csr = NULL;
	hm_cert		*nc = NULL;
	hm_err		 err;
	char		*csrpem = NULL, *ncert = NULL, *nchain = NULL;
	size_t		 n, csrlen;
	long		 status = 0;
	int		 rc = -1;

	if (hm_key_load(ro->key, ro->pass, &old, &err) != HM_OK) {
		fail(&err);
		goto out;
	}
	if (ro->reuse)
		key = old;
	else if (hm_key_generate(ro->kt != HM_KEY_NONE ? ro->kt :
	    hm_key_type(old), &key, &err) != HM_OK) {
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
	ho.cacert = ro->cacert;
	ho.cert = ro->chain != NULL ? ro->chain : ro->cert;
	ho.key = ro->key;
	ho.keypass = ro->pass;
	if (http_post(ro->server, "/renew", &ho, "application/pkcs10",
	    (unsigned char *)csrpem, csrlen, b, &status) != 0)
		goto out;
	if (status != 200) {
		n = strcspn((const char *)b->buf, "\r\n");
		failx("%s refused the renewal (HTTP %ld): %.*s", ro->server,
		    status, (int)(n > 160 ? 160 : n), (const char *)b->buf);
		goto out;
	}
	if (hm_renewed_check((const char *)b->buf, b->len, key, ro->cacert,
	    &ncert, &nchain, &err) != HM_OK) {
		fail(&err);
		goto out;
	}
	/*
	 * The key first, then the certificate and the chain; each replaced
	 * atomically.  A reader that reloads after all three sees a pair.
	 */
	if (!ro->reuse && hm_key_save(key, ro->key, ro->pass, HM_F_FORCE,
	    &err) != HM_OK) {
		fail(&err);
		goto out;
	}
	if (write_out(ro->cert, ncert, strlen(ncert), 0644, HM_F_FORCE) !=
	    0 || (ro->chain != NULL && write_out(ro->chain, nchain,
	    strlen(nchain), 0644, HM_F_FORCE) != 0))
		goto out;
	if (serial != NULL) {
		if (hm_cert_load(ro->cert, &nc, &err) != HM_OK) {
			fail(&err);
			goto out;
		}
		snprintf(serial, 41, "%s", hm_cert_serial(nc));
	}
	rc = 0;
 out:
	free(csrpem);
	free(ncert);
	free(nchain);
	free(b);
	hm_cert_free(nc);
	hm_csr_free(csr);
	if (key != old)
		hm_key_free(key);
	hm_key_free(old);
	return rc;
}

/*
 * The options renew and agent share, checked, and the key's passphrase
 * asked (ro->pass = *pass, the caller frees); 0 or -1 (said).
 */
static int
renew_setup(struct renew_opts *ro, struct passsrc *ps, char **pass,
    char *base, size_t baselen, char *cab, char *chb, size_t blen)
{
	size_t	n = strlen(ro->server);

	if (strncmp(ro->server, "https://", 8) != 0) {
		(void)failx("--server: renewal is over mutual TLS: want "
		    "https://HOST:PORT (hallmark serve --tls-listen)");
		return -1;
	}
	if (ro->reuse && ro->kt != HM_KEY_NONE) {
		(void)failx("--reuse-key keeps the key: no --key-type");
		return -1;
	}
	if (snprintf(base, baselen, "%.*s", (int)(n > 0 &&
	    ro->server[n - 1] == '/' ? n - 1 : n), ro->server) >=
	    (int)baselen) {
		(void)failx("--server: too long a URL");
		return -1;
	}
	ro->server = base;
	if (ro->cacert == NULL) {
		if (beside(ro->cert, "ca.pem", cab, blen, 1) != 0) {
			(void)failx("no ca.pem beside %s: give --cacert",
			    ro->cert);
			return -1;
		}
		ro->cacert = cab;
	}
	if (ro->chain == NULL &&
	    beside(ro->cert, "chain.pem", chb, blen, 1) == 0)
		ro->chain = chb;
	pass_auto_prompt(ps, hm_key_file_is_encrypted(ro->key));
	if (pass_get(ps, ro->key, 0, pass) != 0)
		return -1;
	ro->pass = *pass;
	return 0;
}

/* One of RENEW_OPTIONS into ro or ps: 1 if it was, -1 if bad, else 0. */
static int
renew_opt(struct renew_opts *ro, struct passsrc *ps, int ch,
    const char *arg)
{
	if (pass_opt(ps, ch, arg))
		return 1;
	switch (ch) {
	case 's': ro->server = arg; return 1;
	case 'c': ro->cert = arg; return 1;
	case 'k': ro->key = arg; return 1;
	case 'C': ro->chain = arg; return 1;
	case 'a': ro->cacert = arg; return 1;
	case 'r': ro->reuse = 1; return 1;
	case 't': return keytype_opt(arg, &ro->kt) == 0 ? 1 : -1;
	}
	return 0;
}

int
cmd_renew(struct cli *g, int argc, char **argv)
{
	static const struct option lo[] = {
		RENEW_OPTIONS,
		{ NULL, 0, NULL, 0 }
	};
	struct renew_opts ro;
	struct passsrc	 ps = { 0 };
	char		 base[1024], cab[4096], chb[4096], *pass = NULL;
	int		 ch, n, rc = EXIT_FAILURE;

	(void)g;
	memset(&ro, 0, sizeof(ro));
	while ((ch = cmd_getopt(&cmd, argc, argv, "h", lo)) != -1) {
		if ((n = renew_opt(&ro, &ps, ch, optarg)) == 1)
			continue;
		if (n == -1)
			return EXIT_FAILURE;
		switch (ch) {
		case 'h': return usage(&cmd, 0);
		default: return usage(&cmd, EXIT_USAGE);
		}
	}
	if (optind != argc || ro.server == NULL || ro.cert == NULL ||
	    ro.key == NULL)
		return usage(&cmd, EXIT_USAGE);
	if (renew_setup(&ro, &ps, &pass, base, sizeof(base), cab, chb,
	    sizeof(cab)) != 0)
		return EXIT_FAILURE;
	if (renew_once(&ro, NULL) == 0) {
		printf("renewed: %s%s%s%s%s\n", ro.reuse ? "" : ro.key,
		    ro.reuse ? "" : ", ", ro.cert, ro.chain != NULL ? ", " : "",
		    ro.chain != NULL ? ro.chain : "");
		rc = 0;
	}
	hm_secret_free(pass);
	return rc;
}

static const struct cmd agent_cmd = { "agent", NULL,
    "agent --server https://HOST:PORT --cert CERT --key KEY [--chain FILE]\n"
    "    [--cacert FILE] [--renew-at 2/3] [--exec COMMAND] [--reuse-key]\n"
    "    [--passphrase-env VAR]",
    "Keep this machine's certificate fresh: in the foreground, renew it\n"
    "(as hallmark renew does) each time the given fraction of its lifetime\n"
    "has passed, give or take 2 % of it at random, retrying with backoff,\n"
    "and run COMMAND after each renewal.  One log line a step on stderr;\n"
    "SIGTERM or SIGINT stop it.\n\n"
    "  --renew-at F           fraction of the lifetime: A/B or 0.NN\n"
    "                         (default 2/3)\n"
    "  --exec COMMAND         run by /bin/sh -c after each renewal\n"
    "  (--chain, --cacert, --reuse-key, --key-type and the passphrase\n"
    "  options as for hallmark renew)\n" };

static volatile sig_atomic_t	agent_stop;

static void
agent_signal(int sig)
{
	(void)sig;
	agent_stop = 1;
}

static void
logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* One line on stderr: time, "agent:", the message. */
static void
logf_(const char *fmt, ...)
{
	va_list	ap;
	char	when[32];

	fprintf(stderr, "%s agent: ", fmt_time(time(NULL), when));
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
}

/* Sleep until t, or until told to stop; 0, or -1 when stopped. */
static int
sleep_until(time_t t)
{
	while (!agent_stop && time(NULL) < t)
		sleep(1);
	return agent_stop ? -1 : 0;
}

/* A/B or 0.NN, strictly between 0 and 1. */
static int
fraction(const char *s, double *f)
{
	unsigned long	a, b;
	char		*end;
	double		 v;

	if (strchr(s, '/') != NULL) {
		a = strtoul(s, &end, 10);
		if (*end != '/' || end == s)
			return -1;
		b = strtoul(end + 1, &end, 10);
		if (*end != '\0' || b == 0 || a == 0 || a >= b)
			return -1;
		*f = (double)a / (double)b;
		return 0;
	}
	v = strtod(s, &end);
	if (*end != '\0' || end == s || !(v > 0.0 && v < 1.0))
		return -1;
	*f = v;
	return 0;
}

/* Run the hook, waiting for it; its status logged. */
static void
run_hook(const char *cmdline)
{
	char	*argv[] = { "sh", "-c", NULL, NULL };
	pid_t	 pid;
	int	 st;

	argv[2] = (char *)(uintptr_t)cmdline;
	if (posix_spawn(&pid, "/bin/sh", NULL, NULL, argv, environ) != 0) {
		logf_("--exec: can't run /bin/sh: %s", strerror(errno));
		return;
	}
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR) {
			logf_("--exec: waitpid: %s", strerror(errno));
			return;
		}
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		logf_("--exec: done");
	else
		logf_("--exec: failed (%s %d)", WIFEXITED(st) ? "exit" :
		    "signal", WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
}

int
cmd_agent(struct cli *g, int argc, char **argv)
{
	static const struct option lo[] = {
		RENEW_OPTIONS,
		{ "renew-at", required_argument, NULL, 'R' },
		{ "exec", required_argument, NULL, 'x' },
		{ NULL, 0, NULL, 0 }
	};
	struct renew_opts ro;
	struct passsrc	 ps = { 0 };
	struct sigaction sa;
	hm_cert		*c = NULL;
	hm_err		 err;
	const char	*hook = NULL;
	char		 base[1024], cab[4096], chb[4096], *pass = NULL;
	char		 serial[41], when[32];
	double		 frac = 2.0 / 3.0;
	time_t		 nb, na, at, now, backoff = 0, cap;
	int64_t		 life, jitter;
	unsigned int	 r;
	int		 ch, n, rc = EXIT_FAILURE;

	(void)g;
	memset(&ro, 0, sizeof(ro));
	while ((ch = cmd_getopt(&agent_cmd, argc, argv, "h", lo)) != -1) {
		if ((n = renew_opt(&ro, &ps, ch, optarg)) == 1)
			continue;
		if (n == -1)
			return EXIT_FAILURE;
		switch (ch) {
		case 'R':
			if (fraction(optarg, &frac) != 0)
				return failx("--renew-at: want A/B or 0.NN, "
				    "between 0 and 1");
			break;
		case 'x': hook = optarg; break;
		case 'h': return usage(&agent_cmd, 0);
		default: return usage(&agent_cmd, EXIT_USAGE);
		}
	}
	if (optind != argc || ro.server == NULL || ro.cert == NULL ||
	    ro.key == NULL)
		return usage(&agent_cmd, EXIT_USAGE);
	if (renew_setup(&ro, &ps, &pass, base, sizeof(base), cab, chb,
	    sizeof(cab)) != 0)
		return EXIT_FAILURE;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = agent_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	logf_("watching %s (renewal at %.0f %% of its life)", ro.cert,
	    frac * 100);
	while (!agent_stop) {
		if (hm_cert_load(ro.cert, &c, &err) != HM_OK) {
			logf_("%s", err.msg);
			goto out;
		}
		nb = hm_cert_not_before(c);
		na = hm_cert_not_after(c);
		hm_cert_free(c);
		c = NULL;
		now = time(NULL);
		if (na <= now) {
			logf_("%s expired at %s: it can't be renewed; enroll "
			    "again", ro.cert, fmt_time(na, when));
			goto out;
		}
		life = (int64_t)(na - nb);
		/* Some randomness: a fleet does not renew all at once. */
		if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
			r = (unsigned int)now;
		jitter = life / 50 > 0 ? (int64_t)(r % (unsigned)(2 * (life /
		    50) + 1)) - life / 50 : 0;
		at = nb + (time_t)((double)life * frac) + (time_t)jitter;
		if (backoff > 0 && at < now + backoff)
			at = now + backoff;
		if (at > now) {
			logf_("next renewal of %s at %s", ro.cert,
			    fmt_time(at, when));
			if (sleep_until(at) != 0)
				break;
		}
		logf_("renewing %s", ro.cert);
		if (renew_once(&ro, serial) != 0) {
			/* Up to a tenth of the life, at least 1 s, at most 10 min. */
			cap = (time_t)(life / 10 > 600 ? 600 : life / 10 > 1 ?
			    life / 10 : 1);
			backoff = backoff == 0 ? 1 : backoff * 2;
			if (backoff > cap)
				backoff = cap;
			logf_("renewal failed (the line above says why); "
			    "trying again in %lld s", (long long)backoff);
			continue;
		}
		backoff = 0;
		logf_("renewed: %s now holds serial %s", ro.cert, serial);
		if (hook != NULL)
			run_hook(hook);
	}
	logf_("stopping");
	rc = 0;
 out:
	hm_cert_free(c);
	hm_secret_free(pass);
	return rc;
}
