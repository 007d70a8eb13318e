/* What addone-client and addone-server share (addone.h). */
#include <sys/socket.h>
#include <sys/time.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addone.h"

/* 1: ch was one of ADDONE_TLS_OPTIONS, 0: not, or the error to return. */
static int
tls_option(int ch, char *arg, struct addone_opts *o)
{
	switch (ch) {
	case 'c':
		o->p->cert = arg;
		return 1;
	case 'k':
		o->p->key = arg;
		return 1;
	case 'a':
		o->p->ca = arg;
		return 1;
	case 'r':
		if (o->ncrl == ADDONE_LIST_MAX)
			return '?';
		o->crls[o->ncrl++] = arg;
		return 1;
	case 'p':
		if ((o->p->key_pass = getenv(arg)) == NULL) {
			fprintf(stderr, "%s: $%s is not set\n", o->prog, arg);
			return ADDONE_OPT_FAILED;
		}
		return 1;
	default:
		return 0;
	}
}

int
addone_getopt(int argc, char **argv, const struct option *lo,
    struct addone_opts *o)
{
	int	ch, r;

	while ((ch = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		if ((r = tls_option(ch, optarg, o)) == 0)
			return ch;
		if (r != 1)
			return r;
	}
	return -1;
}

void
addone_timeouts(int fd, int secs)
{
	struct timeval	tv = { secs, 0 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

void
addone_peer_name(SSL *ssl, char *name, size_t len)
{
	if (hm_tls_peer_name(ssl, name, len) != HM_OK)
		snprintf(name, len, "(no name)");
}

size_t
addone_read_line(SSL *ssl, char *buf, size_t len, int *r)
{
	size_t	have = 0;

	while (have < len && memchr(buf, '\n', have) == NULL) {
		if ((*r = SSL_read(ssl, buf + have, (int)(len - have))) <= 0)
			break;
		have += (size_t)*r;
	}
	return have;
}
