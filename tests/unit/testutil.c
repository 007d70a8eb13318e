/* Shared helpers for the unit tests. */
#include <sys/wait.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static char	tmpdir[256];

static void
cleanup(void)
{
	char	cmd[300];

	if (tmpdir[0] != '\0' && getenv("HM_KEEP_TMP") == NULL) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", tmpdir);
	}
}

const char *
tu_tmpdir(void)
{
	if (tmpdir[0] == '\0') {
		snprintf(tmpdir, sizeof(tmpdir), "/tmp/hm-unit-XXXXXX");
		if (mkdtemp(tmpdir) == NULL)
			abort();
		atexit(cleanup);
	}
	return tmpdir;
}

const char *
tu_path(const char *name)
{
	static char	buf[8][512];
	static int	i;

	i = (i + 1) % 8;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", tu_tmpdir(), name);
	return buf[i];
}

int
tu_sh(const char *fmt, ...)
{
	char	cmd[4096];
	va_list	ap;
	int	r;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	r = system(cmd);
	return r == -1 ? -1 : WEXITSTATUS(r);
}

void
tu_write(const char *path, const void *data, size_t len)
{
	FILE	*f;

	if ((f = fopen(path, "w")) == NULL)
		fail_msg("create %s", path);
	if (len > 0 && fwrite(data, 1, len, f) != len)
		fail_msg("write %s", path);
	if (fclose(f) != 0)
		fail_msg("close %s", path);
}

unsigned char *
tu_slurp(const char *path, size_t *len)
{
	unsigned char	*buf;
	size_t		 n;
	FILE		*f;

	if ((f = fopen(path, "rb")) == NULL)
		fail_msg("fopen %s: %s", path, strerror(errno));
	if ((buf = malloc(2 * 1024 * 1024 + 1)) == NULL)
		fail_msg("out of memory");
	n = fread(buf, 1, 2 * 1024 * 1024, f);
	fclose(f);
	buf[n] = '\0';
	if (len != NULL)
		*len = n;
	return buf;
}

void
tu_root_ca(const char *name, const char *cn, hm_ca **ca, hm_signer **root)
{
	hm_ca_params	p;
	hm_err		err;

	memset(&p, 0, sizeof(p));
	p.cn = cn;
	p.key_type = HM_KEY_P256;
	p.pathlen = -1;
	HM_CHECK(hm_ca_init(tu_path(name), &p, ca, &err), &err);
	HM_CHECK(hm_ca_signer(*ca, NULL, NULL, root, &err), &err);
}

X509 *
tu_x509(const hm_cert *c)
{
	const unsigned char	*p;
	size_t			 len;
	X509			*x;

	p = hm_cert_der(c, &len);
	x = d2i_X509(NULL, &p, (long)len);
	assert_non_null(x);
	return x;
}

int
tu_verify(const hm_signer *s, const hm_cert *c, const char *purpose)
{
	static int	 n;
	char		 name[64], rp[512], cp[512], lp[512];
	char		*root = NULL, *chain = NULL, *leaf = NULL;
	size_t		 rlen, clen, llen;
	hm_err		 err;
	int		 r;

	n++;
	HM_CHECK(hm_signer_root_pem(s, &root, &rlen, &err), &err);
	HM_CHECK(hm_signer_chain_pem(s, &chain, &clen, &err), &err);
	HM_CHECK(hm_cert_pem(c, &leaf, &llen, &err), &err);
	snprintf(name, sizeof(name), "verify-%d-root.pem", n);
	snprintf(rp, sizeof(rp), "%s", tu_path(name));
	snprintf(name, sizeof(name), "verify-%d-chain.pem", n);
	snprintf(cp, sizeof(cp), "%s", tu_path(name));
	snprintf(name, sizeof(name), "verify-%d-cert.pem", n);
	snprintf(lp, sizeof(lp), "%s", tu_path(name));
	tu_write(rp, root, rlen);
	tu_write(cp, chain, clen);
	tu_write(lp, leaf, llen);
	/* openssl refuses an -untrusted file without certificates. */
	r = tu_sh("openssl verify -x509_strict%s%s -CAfile '%s'%s%s%s '%s' "
	    ">/dev/null", purpose != NULL ? " -purpose " : "",
	    purpose != NULL ? purpose : "", rp, clen > 0 ? " -untrusted '" : "",
	    clen > 0 ? cp : "", clen > 0 ? "'" : "", lp);
	free(root);
	free(chain);
	free(leaf);
	return r;
}

unsigned char *
tu_unhex(const char *hex, size_t *len)
{
	unsigned char	*b;
	size_t		 i, n = strlen(hex) / 2;
	unsigned int	 v;

	assert_int_equal(strlen(hex) % 2, 0);
	assert_non_null(b = malloc(n + 1));
	for (i = 0; i < n; i++) {
		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		b[i] = (unsigned char)v;
	}
	*len = n;
	return b;
}

void
tu_assert_hex(const unsigned char *b, size_t n, const char *hex)
{
	char	*s;

	assert_non_null(s = malloc(2 * n + 1));
	assert_int_equal(hm_hex(b, n, s, 2 * n + 1), 0);
	assert_string_equal(s, hex);
	free(s);
}

unsigned char *
tu_copy(const unsigned char *b, size_t len)
{
	unsigned char	*c;

	assert_non_null(c = malloc(len > 0 ? len : 1));
	if (len > 0)
		memcpy(c, b, len);
	return c;
}
