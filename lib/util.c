/* Small helpers: durations, hex, time, files written atomically. */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "internal.h"

int
hm_duration_parse(const char *s, int64_t *secs, hm_err *err)
{
	int64_t		 n = 0, unit;
	const char	*p = s;

	if (s == NULL || !isdigit((unsigned char)*p))
		goto bad;
	while (isdigit((unsigned char)*p)) {
		if (n > 1000000000)
			goto bad;
		n = n * 10 + (*p++ - '0');
	}
	switch (*p++) {
	case 's': unit = 1; break;
	case 'm': unit = 60; break;
	case 'h': unit = 3600; break;
	case 'd': unit = 86400; break;
	case 'y': unit = HM_YEAR; break;
	default: goto bad;
	}
	if (*p != '\0' || n == 0)
		goto bad;
	if (n > 100 * HM_YEAR / unit)
		return hm_seterr(err, HM_E_INVALID,
		    "duration '%s' is over 100 years", s);
	*secs = n * unit;
	return HM_OK;
 bad:
	return hm_seterr(err, HM_E_INVALID, "bad duration '%s' "
	    "(want a positive number and a unit s, m, h, d or y: 90d)",
	    s == NULL ? "" : s);
}

int
hm_mkdir_p(const char *path, unsigned mode, hm_err *err)
{
	char	 buf[HM_PATH_MAX], *p;

	if (strlen(path) >= sizeof(buf))
		return hm_seterr(err, HM_E_INVALID, "path too long");
	memcpy(buf, path, strlen(path) + 1);
	for (p = buf + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		int end = *p == '\0';
		*p = '\0';
		if (mkdir(buf, mode) == -1 && errno != EEXIST)
			return hm_seterr(err, HM_E_IO, "mkdir %s: %s", buf,
			    strerror(errno));
		if (end)
			break;
		*p = '/';
	}
	return HM_OK;
}

int
hm_hex(const unsigned char *b, size_t n, char *out, size_t outlen)
{
	static const char	 digits[] = "0123456789abcdef";
	size_t			 i;

	if (outlen < 2 * n + 1)
		return -1;
	for (i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 0xf];
	}
	out[2 * n] = '\0';
	return 0;
}

int
hm_sha256_hex(const unsigned char *b, size_t n, char out[65])
{
	unsigned char	md[32];
	unsigned int	mdlen = sizeof(md);

	if (!EVP_Digest(b, n, md, &mdlen, EVP_sha256(), NULL))
		return -1;
	return hm_hex(md, sizeof(md), out, 65);
}

time_t
hm_asn1_time_to_time(const ASN1_TIME *t)
{
	struct tm	tm;

	if (t == NULL || !ASN1_TIME_to_tm(t, &tm))
		return 0;
	return timegm(&tm);
}

/* Lower-case hex without leading zeros; -1 if not hex or too long. */
int
hm_serial_normalize(const char *in, char *out, size_t outlen)
{
	size_t	i, n;

	if (in[0] == '0' && (in[1] == 'x' || in[1] == 'X'))
		in += 2;
	for (i = 0; in[i] != '\0'; i++)
		if (!isxdigit((unsigned char)in[i]) && in[i] != ':')
			return -1;
	while (*in == '0' || *in == ':')
		in++;
	for (n = 0; *in != '\0'; in++) {
		if (*in == ':')
			continue;
		if (n + 1 >= outlen)
			return -1;
		out[n++] = (char)tolower((unsigned char)*in);
	}
	if (n == 0)
		return -1;
	out[n] = '\0';
	return 0;
}

int
hm_hexid_norm(const char *in, size_t digits, char *out)
{
	size_t	i;

	for (i = 0; i < digits; i++) {
		if (!isxdigit((unsigned char)in[i]))
			return -1;
		out[i] = (char)tolower((unsigned char)in[i]);
	}
	if (in[i] != '\0')
		return -1;
	out[i] = '\0';
	return 0;
}

void
hm_name_oneline(const X509_NAME *n, char *buf, size_t len)
{
	BIO	*b;
	int	 r;

	buf[0] = '\0';
	if ((b = BIO_new(BIO_s_mem())) == NULL)
		return;
	if (X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253 &
	    ~ASN1_STRFLGS_ESC_MSB) >= 0 &&
	    (r = BIO_read(b, buf, (int)len - 1)) > 0)
		buf[r] = '\0';
	BIO_free(b);
}

static int
fsync_dir(const char *path)
{
	char	 buf[HM_PATH_MAX];
	int	 fd, r;

	if (strlen(path) >= sizeof(buf))
		return -1;
	memcpy(buf, path, strlen(path) + 1);
	if ((fd = open(dirname(buf), O_RDONLY | O_DIRECTORY)) == -1)
		return -1;
	r = fsync(fd);
	close(fd);
	return r;
}

int
hm_file_write(const char *path, const void *data, size_t len, unsigned mode,
    int flags, hm_err *err)
{
	char			 tmp[HM_PATH_MAX];
	unsigned char		 rnd[6];
	const unsigned char	*p = data;
	ssize_t			 w;
	int			 fd = -1, rc = HM_E_IO, linked = 0;

	if (!(flags & HM_F_FORCE) && access(path, F_OK) == 0)
		return hm_seterr(err, HM_E_EXISTS, "%s exists; refusing to "
		    "overwrite it (use --force to replace)", path);
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return hm_seterr_ssl(err, HM_E_INTERNAL, "random");
	if (snprintf(tmp, sizeof(tmp), "%s.tmp-%02x%02x%02x%02x%02x%02x",
	    path, rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5]) >=
	    (int)sizeof(tmp))
		return hm_seterr(err, HM_E_INVALID, "path too long: %s", path);
	/* O_EXCL + explicit mode: a secret never exists with wider rights. */
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
	    O_NOFOLLOW, mode & 0600)) == -1) {
		hm_seterr(err, HM_E_IO, "create %s: %s", tmp, strerror(errno));
		return HM_E_IO;
	}
	while (len > 0) {
		if ((w = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			hm_seterr(err, HM_E_IO, "write %s: %s", tmp,
			    strerror(errno));
			goto out;
		}
		p += w;
		len -= (size_t)w;
	}
	if (fchmod(fd, mode) == -1 || fsync(fd) == -1) {
		hm_seterr(err, HM_E_IO, "sync %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (close(fd) == -1) {
		fd = -1;
		hm_seterr(err, HM_E_IO, "close %s: %s", tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	if (flags & HM_F_FORCE) {
		if (rename(tmp, path) == -1) {
			hm_seterr(err, HM_E_IO, "rename to %s: %s", path,
			    strerror(errno));
			goto out;
		}
	} else {
		/* link(2) never replaces: no window for a race to clobber. */
		if (link(tmp, path) == -1) {
			rc = errno == EEXIST ? HM_E_EXISTS : HM_E_IO;
			hm_seterr(err, rc, "create %s: %s", path,
			    strerror(errno));
			goto out;
		}
		linked = 1;
	}
	if (fsync_dir(path) == -1) {
		hm_seterr(err, HM_E_IO, "sync directory of %s: %s", path,
		    strerror(errno));
		goto out;
	}
	rc = HM_OK;
 out:
	if (fd != -1)
		close(fd);
	if (rc != HM_OK || linked)
		unlink(tmp);
	return rc;
}

int
hm_file_read(const char *path, size_t max, unsigned char **out, size_t *len,
    hm_err *err)
{
	struct stat	 st;
	unsigned char	*buf = NULL;
	size_t		 n = 0;
	ssize_t		 r;
	int		 fd, rc = HM_E_IO;

	/* O_NONBLOCK: a FIFO must not hang the open; it is refused below. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)) ==
	    -1)
		return hm_seterr(err, errno == ENOENT ? HM_E_NOTFOUND : HM_E_IO,
		    "open %s: %s", path, strerror(errno));
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		hm_seterr(err, HM_E_IO, "%s: not a regular file", path);
		goto out;
	}
	if ((size_t)st.st_size > max) {
		rc = hm_seterr(err, HM_E_TOOBIG, "%s: over %zu bytes", path,
		    max);
		goto out;
	}
	/* Read up to max + 1 so that a file that grew is still caught. */
	if ((buf = malloc(max + 1)) == NULL) {
		rc = hm_seterr(err, HM_E_NOMEM, "out of memory");
		goto out;
	}
	while (n <= max) {
		if ((r = read(fd, buf + n, max + 1 - n)) == -1) {
			if (errno == EINTR)
				continue;
			hm_seterr(err, HM_E_IO, "read %s: %s", path,
			    strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > max) {
		rc = hm_seterr(err, HM_E_TOOBIG, "%s: over %zu bytes", path,
		    max);
		goto out;
	}
	*out = buf;
	*len = n;
	buf = NULL;
	rc = HM_OK;
 out:
	if (buf != NULL) {
		OPENSSL_cleanse(buf, max + 1);
		free(buf);
	}
	close(fd);
	return rc;
}

void
hm_secret_free(char *s)
{
	if (s == NULL)
		return;
	OPENSSL_cleanse(s, strlen(s));
	free(s);
}
