/* Shared helpers for the unit tests. */
#ifndef HM_TESTUTIL_H
#define HM_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "internal.h"

/* A fresh temporary directory for this test process (removed at exit). */
const char	*tu_tmpdir(void);
/* tu_tmpdir()/name in a static rotating buffer. */
const char	*tu_path(const char *name);
/* Run a shell command; returns its exit status. */
int		 tu_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Write len bytes of data to path, replacing it; fails the test on error. */
void		 tu_write(const char *path, const void *data, size_t len);
/*
 * The whole of path (at most 2 MiB), NUL-terminated; its length in *len
 * when len is not NULL.  The caller frees.
 */
unsigned char	*tu_slurp(const char *path, size_t *len);
/*
 * A new CA directory tu_path(name) with a P-256 root named cn (no path
 * length constraint, key not encrypted), and the root's signer.
 */
void		 tu_root_ca(const char *name, const char *cn, hm_ca **ca,
		    hm_signer **root);
/* c decoded by OpenSSL's own d2i_X509 (caller frees). */
X509		*tu_x509(const hm_cert *c);
/*
 * Check c, issued by s, with `openssl verify -x509_strict` against s's root
 * and (when not empty) s's chain as untrusted certificates; purpose is
 * "sslserver", "sslclient" or NULL for none.  Returns openssl's exit
 * status: 0 when the certificate verifies.
 */
int		 tu_verify(const hm_signer *s, const hm_cert *c,
		    const char *purpose);

/* Bytes from hex (malloc'd, the test fails on bad hex). */
unsigned char	*tu_unhex(const char *hex, size_t *len);
/* Assert that the n bytes at b are, in lower-case hex, hex. */
void		 tu_assert_hex(const unsigned char *b, size_t n,
		    const char *hex);
/* A heap copy of exactly len bytes, so that ASan sees any overread. */
unsigned char	*tu_copy(const unsigned char *b, size_t len);

/* Assert an hm_* call succeeded, with the library's message if not. */
#define HM_CHECK(expr, errp) do {					\
	int hm_rc_ = (expr);						\
	if (hm_rc_ != HM_OK)						\
		fail_msg("%s -> %d: %s", #expr, hm_rc_, (errp)->msg);	\
} while (0)

#endif
