/* The HTTP front-end of hallmark serve: CRLs and OCSP over libevent. */
#ifndef HM_SERVE_H
#define HM_SERVE_H

#include <stddef.h>

#include <openssl/types.h>

#include "hallmark/hallmark.h"

#define SERVE_MAX_CONNS		1000	/* default of --max-conns */
#define SERVE_MAX_CONNS_MAX	100000
#define SERVE_TIMEOUT		10	/* seconds without a byte read */

struct serve_addr {
	char		 addr[64];	/* numeric IPv4 or IPv6, no [] */
	unsigned	 port;		/* 0: the kernel picks one */
};

struct serve_opts {
	struct serve_addr listen;	/* HTTP */
	struct serve_addr tls_listen;	/* HTTPS, when tls is set */
	SSL_CTX		*tls;		/* borrowed */
	size_t		 max_conns;	/* both listeners together */
	int		 timeout;	/* seconds */
};

/*
 * Parse ADDR:PORT (IPv4) or [ADDR]:PORT (IPv6), numeric only, into a:
 * 0, or -1 with a one-line reason in why.
 */
int	 serve_listen_parse(const char *s, struct serve_addr *a, char *why,
	    size_t whylen);

/*
 * Serve r (borrowed) on o until SIGTERM or SIGINT.  Prints "listening on
 * https://ADDR:PORT" (with TLS) then "listening on ADDR:PORT" on stdout
 * once bound, one line a request on stderr.  0 after a clean shutdown;
 * else 1, the reason said on stderr.
 */
int	 serve_run(hm_responder *r, const struct serve_opts *o);

#endif
