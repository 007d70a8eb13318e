/*
 * What addone-client and addone-server share: their TLS options, socket
 * timeouts, the peer's name and reading one line over TLS.  Public
 * hallmark API and OpenSSL only, as the programs themselves.
 */
#ifndef ADDONE_H
#define ADDONE_H

#include <getopt.h>
#include <stddef.h>

#include <openssl/ssl.h>

#include <hallmark/hallmark.h>

#define ADDONE_LIST_MAX	64	/* --crl (and --allow) options */

/* The long options addone_tls_option() takes, for an option table. */
#define ADDONE_TLS_OPTIONS						\
	{ "cert", required_argument, NULL, 'c' },			\
	{ "key", required_argument, NULL, 'k' },			\
	{ "ca", required_argument, NULL, 'a' },				\
	{ "crl", required_argument, NULL, 'r' },			\
	{ "passphrase-env", required_argument, NULL, 'p' }

/* The TLS options as read: p->crls is to point at crls (if ncrl > 0). */
struct addone_opts {
	const char	*prog;		/* for messages */
	hm_tls_params	*p;
	const char	*crls[ADDONE_LIST_MAX + 1];
	size_t		 ncrl;
};

#define ADDONE_OPT_FAILED	(-2)	/* said on stderr: exit 1 */

/*
 * getopt_long with lo, which holds ADDONE_TLS_OPTIONS: those go into o;
 * returns the next of the caller's options, '?' for a usage error (too
 * many --crl too), ADDONE_OPT_FAILED (the passphrase's variable is not
 * set) or -1 at the end.
 */
int	addone_getopt(int argc, char **argv, const struct option *lo,
	    struct addone_opts *o);

/* Reads and writes on fd time out after secs seconds. */
void	addone_timeouts(int fd, int secs);

/* The peer's certificate's name, or "(no name)". */
void	addone_peer_name(SSL *ssl, char *name, size_t len);

/*
 * Read from ssl into buf until a newline or len bytes: the bytes read;
 * *r gets the last SSL_read's return (for hm_tls_strerror).
 */
size_t	addone_read_line(SSL *ssl, char *buf, size_t len, int *r);

#endif
