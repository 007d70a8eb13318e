/* What addone-client and addone-server share (addone.h). */
#include <sys/socket.h>
#include <sys/time.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addone.h"

int
addone_tls_option(int ch, char *arg, hm_tls_params *p, const char **crls,
    size_t *ncrl, const char *prog)
{
	switch (ch) {
	case 'c':
		p->cert = arg;
		return 1;
	case 'k':
		p->key = arg;
		return 1;
	case 'a':
		p->ca = arg;
		return 1;
	case 'r':
		if (*ncrl == ADDONE_LIST_MAX)
			return -1;
		crls[(*ncrl)++] = arg;
		return 1;
	case 'p':
		if ((p->key_pass = getenv(arg)) == NULL) {
			fprintf(stderr, "%s: $%s is not set\n", prog, arg);
			return -2;
		}
		return 1;
	default:
		return 0;
	}
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
