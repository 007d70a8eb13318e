/*
 * addone-server: a mutual TLS server that answers n+1 to a client's n.
 *
 * It shows how a program uses hallmark's certificates: a server context
 * from libhallmark (client certificates required, verified against the CA
 * bundle and CRLs, optionally an allow-list of names), one connection at a
 * time, each refusal logged with its reason, the certificate reloaded on
 * SIGHUP or when its files change (renewal without a restart).
 *
 *	addone-server --cert C --key K --ca CA [--crl F]... [--allow NAME]...
 *	    [--listen ADDR:PORT] [--passphrase-env VAR]
 *
 * Protocol: the client sends one line with a decimal integer (32 bytes at
 * most, newline included); the server answers one line: n+1, or
 * "error: ..." for anything else.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <hallmark/hallmark.h>

#include "addone.h"

#define LINE_MAX_BYTES	32	/* a request, newline included */
#define IO_TIMEOUT	5	/* seconds a client may take to speak */

static volatile sig_atomic_t	got_hup, got_term;

static void
on_signal(int sig)
{
	if (sig == SIGHUP)
		got_hup = 1;
	else
		got_term = 1;
}

static int
usage(void)
{
	fprintf(stderr, "usage: addone-server --cert C --key K --ca CA "
	    "[--crl F]... [--allow NAME]...\n"
	    "           [--listen ADDR:PORT] [--passphrase-env VAR]\n");
	return 2;
}

/* "ADDR:PORT" or "[ADDR]:PORT" into host and port (pointers into buf). */
static int
split_hostport(const char *s, char *buf, size_t len, char **host,
    char **port)
{
	char	*c;

	if (strlen(s) >= len)
		return -1;
	memcpy(buf, s, strlen(s) + 1);
	if ((c = strrchr(buf, ':')) == NULL || c[1] == '\0')
		return -1;
	*c = '\0';
	*port = c + 1;
	*host = buf;
	if (buf[0] == '[') {
		if (c == buf + 1 || c[-1] != ']')
			return -1;
		c[-1] = '\0';
		*host = buf + 1;
	}
	return **host == '\0' ? -1 : 0;
}

/* A listening socket on ADDR:PORT; its address printed in *name. */
static int
listen_on(const char *spec, char *name, size_t len)
{
	struct addrinfo		 hints, *res = NULL;
	struct sockaddr_storage	 ss;
	socklen_t		 sl = sizeof(ss);
	char			 buf[256], *host, *port, h[64], p[16];
	int			 fd = -1, one = 1, e;

	if (split_hostport(spec, buf, sizeof(buf), &host, &port) == -1) {
		fprintf(stderr, "addone-server: --listen '%s': want "
		    "ADDR:PORT\n", spec);
		return -1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
	if ((e = getaddrinfo(host, port, &hints, &res)) != 0) {
		fprintf(stderr, "addone-server: --listen '%s': %s\n", spec,
		    gai_strerror(e));
		return -1;
	}
	if ((fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) ==
	    -1 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
	    sizeof(one)) == -1 || bind(fd, res->ai_addr, res->ai_addrlen) ==
	    -1 || listen(fd, 16) == -1 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl) == -1 ||
	    getnameinfo((struct sockaddr *)&ss, sl, h, sizeof(h), p,
	    sizeof(p), NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		fprintf(stderr, "addone-server: %s: %s\n", spec,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		fd = -1;
	} else
		snprintf(name, len, strchr(h, ':') ? "[%s]:%s" : "%s:%s", h,
		    p);
	freeaddrinfo(res);
	return fd;
}

/*
 * The answer to a request of len bytes (its newline excluded): n+1, or why
 * not.  Strict: an optional '-', decimal digits, an optional CR.
 */
static void
answer(const char *line, size_t len, char *out, size_t outlen)
{
	char		 num[LINE_MAX_BYTES + 1], *end;
	long long	 n;
	size_t		 i = 0;

	if (len > 0 && line[len - 1] == '\r')
		len--;
	memcpy(num, line, len);
	num[len] = '\0';
	if (num[0] == '-')
		i = 1;
	if (num[i] < '0' || num[i] > '9') {
		snprintf(out, outlen, "error: not an integer\n");
		return;
	}
	errno = 0;
	n = strtoll(num, &end, 10);
	if (*end != '\0')
		snprintf(out, outlen, "error: not an integer\n");
	else if (errno == ERANGE || n == LLONG_MAX)
		snprintf(out, outlen, "error: n+1 is out of range\n");
	else
		snprintf(out, outlen, "%lld\n", n + 1);
}

/*
 * After a refusal: stop sending, then read what the client still sends
 * (briefly) so that closing does not reset the connection before the
 * client has read our alert.
 */
static void
drain_close(int fd)
{
	struct timeval	tv = { 1, 0 };
	char		b[512];
	int		i;

	shutdown(fd, SHUT_WR);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	for (i = 0; i < 64 && read(fd, b, sizeof(b)) > 0; i++)
		;
	close(fd);
}

/* One client: handshake, one request, one answer. */
static void
serve(SSL_CTX *ctx, int fd, const char *from)
{
	SSL		*ssl = NULL;
	hm_err		 err;
	char		 line[LINE_MAX_BYTES], reply[64], who[128], why[160];
	char		*nl;
	size_t		 len;
	int		 r = 0;

	addone_timeouts(fd, IO_TIMEOUT);
	if (hm_tls_ssl_new(ctx, &ssl, &err) != HM_OK) {
		printf("%s: %s\n", from, err.msg);
		close(fd);
		return;
	}
	SSL_set_fd(ssl, fd);
	if ((r = SSL_accept(ssl)) != 1) {
		printf("%s: refused: %s\n", from,
		    hm_tls_strerror(ssl, r, why, sizeof(why)));
		SSL_free(ssl);
		drain_close(fd);
		return;
	}
	addone_peer_name(ssl, who, sizeof(who));
	/* A line: up to the newline, LINE_MAX_BYTES at most. */
	len = addone_read_line(ssl, line, sizeof(line), &r);
	if ((nl = memchr(line, '\n', len)) != NULL)
		answer(line, (size_t)(nl - line), reply, sizeof(reply));
	else if (len == sizeof(line))
		snprintf(reply, sizeof(reply), "error: line too long\n");
	else if (len > 0)
		answer(line, len, reply, sizeof(reply));
	else {
		printf("%s: %s: %s\n", from, who,
		    hm_tls_strerror(ssl, r, why, sizeof(why)));
		goto out;
	}
	printf("%s: %s: %s", from, who, reply);
	if ((r = SSL_write(ssl, reply, (int)strlen(reply))) <= 0)
		printf("%s: %s: %s\n", from, who,
		    hm_tls_strerror(ssl, r, why, sizeof(why)));
	else
		SSL_shutdown(ssl);
 out:
	ERR_clear_error();
	SSL_free(ssl);
	close(fd);
}

/* Rebuild the context when asked to or when its files changed. */
static void
maybe_reload(SSL_CTX **ctx, const hm_tls_params *p, int *failing)
{
	hm_err	err;
	int	hup = got_hup;

	got_hup = 0;
	if (!hup && !hm_tls_ctx_changed(*ctx, p))
		return;
	if (hm_tls_ctx_reload(p, ctx, &err) == HM_OK) {
		printf("reloaded %s\n", p->cert);
		*failing = 0;
	} else if (hup || !*failing) {
		/* Half-renewed files, say: try again, serve the old one. */
		printf("reload failed, still serving the old certificate: "
		    "%s\n", err.msg);
		*failing = 1;
	}
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		ADDONE_TLS_OPTIONS,
		{ "allow", required_argument, NULL, 'A' },
		{ "listen", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct sigaction	 sa;
	struct pollfd		 pfd;
	struct sockaddr_storage	 ss;
	socklen_t		 sl;
	struct addone_opts	 o;
	hm_tls_params		 p;
	hm_err			 err;
	SSL_CTX			*ctx = NULL;
	const char		*allow[ADDONE_LIST_MAX + 1] = { NULL };
	const char		*listen_spec = "127.0.0.1:4433";
	char			 name[96], from[96], h[64], port[16];
	size_t			 nallow = 0;
	int			 ch, lfd, fd, failing = 0;

	memset(&p, 0, sizeof(p));
	memset(&o, 0, sizeof(o));
	o.prog = "addone-server";
	o.p = &p;
	while ((ch = addone_getopt(argc, argv, lo, &o)) != -1) {
		switch (ch) {
		case ADDONE_OPT_FAILED:
			return 1;
		case 'l': listen_spec = optarg; break;
		case 'A':
			if (nallow == ADDONE_LIST_MAX)
				return usage();
			allow[nallow++] = optarg;
			break;
		case 'h':
		default:
			return usage();
		}
	}
	if (optind != argc || p.cert == NULL || p.key == NULL || p.ca == NULL)
		return usage();
	p.crls = o.ncrl > 0 ? o.crls : NULL;
	p.peer_names = nallow > 0 ? allow : NULL;
	p.flags = HM_TLS_REQUIRE_CLIENT_CERT;
	setvbuf(stdout, NULL, _IOLBF, 0);

	if (hm_tls_server_ctx_new(&p, &ctx, &err) != HM_OK) {
		fprintf(stderr, "addone-server: %s\n", err.msg);
		return 1;
	}
	if ((lfd = listen_on(listen_spec, name, sizeof(name))) == -1) {
		SSL_CTX_free(ctx);
		return 1;
	}
	/* No SA_RESTART: a signal wakes poll() up. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	printf("listening on %s\n", name);

	while (!got_term) {
		pfd.fd = lfd;
		pfd.events = POLLIN;
		/* A second at most: SIGTERM is seen even between checks. */
		if (poll(&pfd, 1, 1000) == -1 && errno != EINTR) {
			perror("addone-server: poll");
			break;
		}
		maybe_reload(&ctx, &p, &failing);
		if (got_term || !(pfd.revents & POLLIN))
			continue;
		sl = sizeof(ss);
		if ((fd = accept4(lfd, (struct sockaddr *)&ss, &sl,
		    SOCK_CLOEXEC)) == -1)
			continue;
		/* Files renewed while we waited: the new client sees them. */
		maybe_reload(&ctx, &p, &failing);
		if (getnameinfo((struct sockaddr *)&ss, sl, h, sizeof(h), port,
		    sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV) != 0)
			snprintf(from, sizeof(from), "?");
		else
			snprintf(from, sizeof(from), "%s:%s", h, port);
		serve(ctx, fd, from);
	}
	printf("exiting\n");
	close(lfd);
	SSL_CTX_free(ctx);
	return 0;
}
