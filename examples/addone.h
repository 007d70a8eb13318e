/*
 * What addone-client and addone-server share: their TLS options, socket
 * timeouts, the peer's name and reading one line over TLS.  Public
 * hallmark API and OpenSSL only, as the programs themselves.
 */
#ifndef ADDONE_H
#define ADDONE_H

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

/*
 * Option ch of getopt_long with its argument arg, into p (and crls, of
 * ADDONE_LIST_MAX + 1, NULL-terminated, *ncrl used): 1 it was one of
 * ADDONE_TLS_OPTIONS; 0 it was not; -1 too many --crl (a usage error);
 * -2 the passphrase's variable is not set (said on stderr as prog).
 */
int	addone_tls_option(int ch, char *arg, hm_tls_params *p,
	    const char **crls, size_t *ncrl, const char *prog);

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
