/*
 * addone-client: sends n to addone-server over mutual TLS and prints the
 * n+1 it answers, or why the connection was refused (exit 1).
 *
 *	addone-client [--cert C --key K] --ca CA [--crl F]...
 *	    [--passphrase-env VAR] [--show-peer] --connect HOST:PORT N
 *
 * HOST is the name (or address) the server's certificate must have.
 * Without --cert and --key the client has no certificate (to show that
 * the server refuses it).
 * --show-peer first prints the server's CN and serial.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include <hallmark/hallmark.h>

#include "addone.h"

#define IO_TIMEOUT	5	/* seconds for connecting, each read, write */
#define N_MAX		30	/* bytes of N */

static int
usage(void)
{
	fprintf(stderr, "usage: addone-client [--cert C --key K] --ca CA "
	    "[--crl F]...\n"
	    "           [--passphrase-env VAR] [--show-peer] "
	    "--connect HOST:PORT N\n");
	return 2;
}

/* A TCP connection to host:port, bounded in time; -1 with a message. */
static int
connect_to(const char *host, const char *port)
{
	struct addrinfo	 hints, *res = NULL, *ai;
	int		 fd = -1, e, saved = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if ((e = getaddrinfo(host, port, &hints, &res)) != 0) {
		fprintf(stderr, "addone-client: %s: %s\n", host,
		    gai_strerror(e));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC,
		    0)) == -1)
			continue;
		/* SO_SNDTIMEO bounds connect() too (Linux). */
		addone_timeouts(fd, IO_TIMEOUT);
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1)
		fprintf(stderr, "addone-client: %s:%s: %s\n", host, port,
		    strerror(saved));
	return fd;
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		ADDONE_TLS_OPTIONS,
		{ "connect", required_argument, NULL, 'C' },
		{ "show-peer", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct addone_opts o;
	hm_tls_params	 p;
	hm_err		 err;
	SSL_CTX		*ctx = NULL;
	SSL		*ssl = NULL;
	const char	*connect_spec = NULL, *n;
	char		 hp[256], *host, *port, req[N_MAX + 2], reply[64];
	char		 why[160], name[128], serial[41];
	size_t		 len;
	int		 ch, fd = -1, r, show = 0, rc = 1;

	memset(&p, 0, sizeof(p));
	memset(&o, 0, sizeof(o));
	o.prog = "addone-client";
	o.p = &p;
	while ((ch = addone_getopt(argc, argv, lo, &o)) != -1) {
		switch (ch) {
		case ADDONE_OPT_FAILED:
			return 1;
		case 'C': connect_spec = optarg; break;
		case 's': show = 1; break;
		case 'h':
		default:
			return usage();
		}
	}
	if (optind + 1 != argc || connect_spec == NULL || p.ca == NULL)
		return usage();
	n = argv[optind];
	if (strlen(n) > N_MAX || strchr(n, '\n') != NULL) {
		fprintf(stderr, "addone-client: N: at most %d characters, "
		    "one line\n", N_MAX);
		return 2;
	}
	/* HOST:PORT, or [ADDR]:PORT for IPv6. */
	if (strlen(connect_spec) >= sizeof(hp) ||
	    (port = strrchr(memcpy(hp, connect_spec, strlen(connect_spec) +
	    1), ':')) == NULL || port == hp) {
		fprintf(stderr, "addone-client: --connect: want HOST:PORT\n");
		return 2;
	}
	*port++ = '\0';
	host = hp;
	if (host[0] == '[' && port - hp > 2 && port[-2] == ']') {
		port[-2] = '\0';
		host++;
	}
	p.host = host;
	p.crls = o.ncrl > 0 ? o.crls : NULL;
	signal(SIGPIPE, SIG_IGN);

	if (hm_tls_client_ctx_new(&p, &ctx, &err) != HM_OK) {
		fprintf(stderr, "addone-client: %s\n", err.msg);
		goto out;
	}
	if ((fd = connect_to(host, port)) == -1)
		goto out;
	if (hm_tls_ssl_new(ctx, &ssl, &err) != HM_OK) {
		fprintf(stderr, "addone-client: %s\n", err.msg);
		goto out;
	}
	SSL_set_fd(ssl, fd);
	if ((r = SSL_connect(ssl)) != 1)
		goto refused;
	if (show) {
		addone_peer_name(ssl, name, sizeof(name));
		if (hm_tls_peer_serial(ssl, serial, sizeof(serial)) != HM_OK)
			snprintf(serial, sizeof(serial), "?");
		printf("server %s serial %s\n", name, serial);
	}
	snprintf(req, sizeof(req), "%s\n", n);
	/*
	 * With TLS 1.3 the server checks our certificate after our side of
	 * the handshake is done: its refusal arrives here, as an alert.
	 */
	if ((r = SSL_write(ssl, req, (int)strlen(req))) <= 0)
		goto refused;
	len = addone_read_line(ssl, reply, sizeof(reply) - 1, &r);
	if (len == 0)
		goto refused;
	reply[len] = '\0';
	if (strncmp(reply, "error:", 6) == 0) {
		fprintf(stderr, "addone-client: the server says %s", reply);
		goto out;
	}
	fputs(reply, stdout);
	SSL_shutdown(ssl);
	rc = 0;
	goto out;
 refused:
	fprintf(stderr, "addone-client: %s:%s: %s\n", host, port,
	    hm_tls_strerror(ssl, r, why, sizeof(why)));
 out:
	SSL_free(ssl);
	if (fd != -1)
		close(fd);
	SSL_CTX_free(ctx);
	return rc;
}
