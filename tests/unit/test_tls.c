/*
 * lib/tls.c: a server context holds the chain and the key, speaks TLS 1.2
 * at least and refuses renegotiation; a key that is not the
 * certificate's, an expired certificate, a wrong passphrase, a file that
 * is no PEM chain are refused with a message that says which.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "testutil.h"

static hm_ca		*ca;
static hm_signer	*root;

/* A server certificate and its key in NAME.pem and NAME.key. */
static void
server(const char *name, int64_t validity, const char *pass)
{
	hm_issue_req	 req;
	hm_names	*sans = hm_names_new();
	hm_key		*k = NULL;
	hm_csr		*csr = NULL;
	hm_cert		*c = NULL;
	hm_err		 err;
	char		 f[64], *pem = NULL;
	size_t		 len;

	HM_CHECK(hm_names_add(sans, "dns:localhost", &err), &err);
	HM_CHECK(hm_key_generate(HM_KEY_P256, &k, &err), &err);
	HM_CHECK(hm_csr_new(k, "localhost", sans, &csr, &err), &err);
	memset(&req, 0, sizeof(req));
	req.profile = HM_PROFILE_SERVER;
	req.csr = csr;
	req.validity = validity;
	HM_CHECK(hm_issue(root, &req, &c, NULL, &err), &err);
	HM_CHECK(hm_cert_pem(c, &pem, &len, &err), &err);
	snprintf(f, sizeof(f), "%s.pem", name);
	tu_write(tu_path(f), pem, len);
	snprintf(f, sizeof(f), "%s.key", name);
	HM_CHECK(hm_key_save(k, tu_path(f), pass, HM_F_FORCE, &err), &err);
	free(pem);
	hm_cert_free(c);
	hm_csr_free(csr);
	hm_key_free(k);
	hm_names_free(sans);
}

static int
setup(void **state)
{
	(void)state;
	tu_root_ca("ca", "TLS Root", &ca, &root);
	server("a", 0, NULL);
	server("b", 0, "correct horse");
	server("old", 1, NULL);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	hm_signer_free(root);
	hm_ca_close(ca);
	return 0;
}

/* hm_tls_server_ctx_new(cert, key, pass): its code, the message in err. */
static int
try(const char *cert, const char *key, const char *pass, SSL_CTX **ctx,
    hm_err *err)
{
	hm_tls_params	p;
	char		c[HM_PATH_MAX], k[HM_PATH_MAX];

	snprintf(c, sizeof(c), "%s", tu_path(cert));
	snprintf(k, sizeof(k), "%s", tu_path(key));
	memset(&p, 0, sizeof(p));
	p.cert = c;
	p.key = k;
	p.key_pass = pass;
	*ctx = NULL;
	return hm_tls_server_ctx_new(&p, ctx, err);
}

static void
test_server_ctx(void **state)
{
	SSL_CTX		*ctx;
	hm_err		 err;

	(void)state;
	HM_CHECK(try("a.pem", "a.key", NULL, &ctx, &err), &err);
	assert_non_null(ctx);
	assert_int_equal(SSL_CTX_get_min_proto_version(ctx), TLS1_2_VERSION);
	assert_true(SSL_CTX_get_options(ctx) & SSL_OP_NO_RENEGOTIATION);
	assert_non_null(SSL_CTX_get0_certificate(ctx));
	SSL_CTX_free(ctx);
	HM_CHECK(try("b.pem", "b.key", "correct horse", &ctx, &err), &err);
	SSL_CTX_free(ctx);
}

static void
test_refused(void **state)
{
	SSL_CTX		*ctx;
	hm_err		 err;

	(void)state;
	assert_int_equal(try("a.pem", "b.key", "correct horse", &ctx, &err),
	    HM_E_INVALID);
	assert_non_null(strstr(err.msg, "is not the key of"));
	assert_null(ctx);
	assert_int_equal(try("b.pem", "b.key", "wrong horse", &ctx, &err),
	    HM_E_PASSPHRASE);
	assert_int_equal(try("b.pem", "b.key", NULL, &ctx, &err),
	    HM_E_PASSPHRASE);
	assert_int_equal(try("a.key", "a.key", NULL, &ctx, &err),
	    HM_E_INVALID);
	assert_non_null(strstr(err.msg, "not a PEM certificate chain"));
	assert_int_equal(try("nosuch.pem", "a.key", NULL, &ctx, &err),
	    HM_E_INVALID);
	sleep(2);
	assert_int_equal(try("old.pem", "old.key", NULL, &ctx, &err),
	    HM_E_POLICY);
	assert_non_null(strstr(err.msg, "has expired"));
	assert_null(ctx);
	assert_int_equal(hm_tls_server_ctx_new(NULL, &ctx, &err),
	    HM_E_INVALID);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_server_ctx),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
