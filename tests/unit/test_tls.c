/*
 * lib/tls.c: a server context holds the chain and the key, speaks TLS 1.2
 * at least and refuses renegotiation; a key that is not the
 * certificate's, an expired certificate, a wrong passphrase, a file that
 * is no PEM chain are refused with a message that says which.
 *
 * Mutual TLS, in memory (a BIO pair between a server and a client
 * context): a valid client gets in; a client with no certificate, one of
 * another CA, a revoked one (CRL given), an expired one, a server
 * certificate as a client's, one not on the allow-list, and a server
 * whose name is not the one asked for are refused during the handshake,
 * each with its reason on the side that refused and the peer's alert on
 * the other.  The CAs trusted come from a PEM bundle or a CA directory,
 * through the same checks.  A context rebuilt from renewed files serves
 * the new certificate.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <openssl/pem.h>

#include "testutil.h"

static hm_ca		*ca, *oca;
static hm_signer	*root, *oroot;

/*
 * A certificate of signer s and its key in NAME.pem and NAME.key: profile,
 * CN, SANs (NULL-terminated, may be NULL), validity (0: the profile's).
 */
static void
issue(hm_signer *s, const char *name, hm_profile_id profile, const char *cn,
    const char *const *san, int64_t validity, const char *pass)
{
	hm_issue_req	 req;
	hm_names	*sans = hm_names_new();
	hm_key		*k = NULL;
	hm_csr		*csr = NULL;
	hm_cert		*c = NULL;
	hm_err		 err;
	char		 f[64], *pem = NULL;
	size_t		 len;

	for (; san != NULL && *san != NULL; san++)
		HM_CHECK(hm_names_add(sans, *san, &err), &err);
	HM_CHECK(hm_key_generate(HM_KEY_P256, &k, &err), &err);
	HM_CHECK(hm_csr_new(k, cn, sans, &csr, &err), &err);
	memset(&req, 0, sizeof(req));
	req.profile = profile;
	req.csr = csr;
	req.validity = validity;
	HM_CHECK(hm_issue(s, &req, &c, NULL, &err), &err);
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

static const char *const srvsan[] = { "dns:localhost", "ip:127.0.0.1", NULL };

/* A server certificate and its key in NAME.pem and NAME.key. */
static void
server(const char *name, int64_t validity, const char *pass)
{
	issue(root, name, HM_PROFILE_SERVER, "localhost", srvsan, validity,
	    pass);
}

/* The PEM of s's root in file name. */
static void
root_pem(hm_signer *s, const char *name)
{
	hm_err	 err;
	char	*pem;
	size_t	 len;

	HM_CHECK(hm_signer_root_pem(s, &pem, &len, &err), &err);
	tu_write(tu_path(name), pem, len);
	free(pem);
}

/* s's CRL in file name, PEM or DER. */
static void
crl_file(hm_signer *s, const char *name, int pem)
{
	unsigned char	*crl;
	size_t		 len;
	hm_err		 err;

	HM_CHECK(hm_crl_build(s, 0, pem, &crl, &len, &err), &err);
	tu_write(tu_path(name), crl, len);
	free(crl);
}

static void
revoke_file(const char *pem)
{
	hm_err	 err;
	X509	*x;
	BIO	*b;
	char	 serial[64];
	BIGNUM	*bn;
	char	*hex;

	assert_non_null(b = BIO_new_file(tu_path(pem), "r"));
	assert_non_null(x = PEM_read_bio_X509(b, NULL, NULL, NULL));
	assert_non_null(bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x),
	    NULL));
	assert_non_null(hex = BN_bn2hex(bn));
	snprintf(serial, sizeof(serial), "%s", hex);
	HM_CHECK(hm_revoke(ca, serial, HM_REASON_KEY_COMPROMISE, 0, NULL,
	    &err), &err);
	OPENSSL_free(hex);
	BN_free(bn);
	X509_free(x);
	BIO_free(b);
}

static int
setup(void **state)
{
	(void)state;
	static const char *const alicesan[] = { "dns:alice.example",
	    "ip:10.1.2.3", NULL };
	static const char *const othersan[] = { "dns:other.example", NULL };

	tu_root_ca("ca", "TLS Root", &ca, &root);
	tu_root_ca("other", "TLS Root", &oca, &oroot);
	server("a", 0, NULL);
	server("b", 0, "correct horse");
	server("old", 1, NULL);
	issue(root, "elsewhere", HM_PROFILE_SERVER, "other.example",
	    othersan, 0, NULL);
	issue(root, "alice", HM_PROFILE_CLIENT, "alice", alicesan, 0,
	    "alice pass");
	issue(root, "bob", HM_PROFILE_CLIENT, "bob", NULL, 0, NULL);
	issue(root, "oldc", HM_PROFILE_CLIENT, "oldc", NULL, 1, NULL);
	issue(oroot, "eve", HM_PROFILE_CLIENT, "alice", alicesan, 0, NULL);
	root_pem(root, "root.pem");
	root_pem(oroot, "oroot.pem");
	crl_file(root, "empty.crl", 1);
	server("revsrv", 0, NULL);
	revoke_file("bob.pem");
	revoke_file("revsrv.pem");
	crl_file(root, "root.crl", 1);
	crl_file(root, "root.der", 0);
	crl_file(oroot, "other.crl", 1);
	tu_write(tu_path("junk.crl"), "not a CRL\n", 10);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	hm_signer_free(root);
	hm_signer_free(oroot);
	hm_ca_close(ca);
	hm_ca_close(oca);
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

/* ---- Mutual TLS in memory ---------------------------------------------- */

/* Paths of the fixtures, as params want them. */
struct files {
	char		 cert[HM_PATH_MAX], key[HM_PATH_MAX], ca[HM_PATH_MAX];
	char		 crl[2][HM_PATH_MAX];
	const char	*crls[3];
};

/*
 * Params for NAME.pem/NAME.key (name NULL: no certificate), the CA bundle
 * ca and up to two CRL files (NULL: none).
 */
static void
params(hm_tls_params *p, struct files *f, const char *name, const char *pass,
    const char *cafile, const char *crl1, const char *crl2)
{
	char	 b[64];
	size_t	 n = 0;

	memset(p, 0, sizeof(*p));
	memset(f, 0, sizeof(*f));
	if (name != NULL) {
		snprintf(b, sizeof(b), "%s.pem", name);
		snprintf(f->cert, sizeof(f->cert), "%s", tu_path(b));
		snprintf(b, sizeof(b), "%s.key", name);
		snprintf(f->key, sizeof(f->key), "%s", tu_path(b));
		p->cert = f->cert;
		p->key = f->key;
		p->key_pass = pass;
	}
	if (cafile != NULL) {
		snprintf(f->ca, sizeof(f->ca), "%s", tu_path(cafile));
		p->ca = f->ca;
	}
	if (crl1 != NULL) {
		snprintf(f->crl[n], sizeof(f->crl[n]), "%s", tu_path(crl1));
		f->crls[n] = f->crl[n];
		n++;
	}
	if (crl2 != NULL) {
		snprintf(f->crl[n], sizeof(f->crl[n]), "%s", tu_path(crl2));
		f->crls[n] = f->crl[n];
		n++;
	}
	if (n > 0)
		p->crls = f->crls;
}

struct side {
	SSL	*ssl;
	int	 done, failed;
	char	 why[128];
};

/*
 * One step of a side: the handshake, then reading (which is where a TLS
 * 1.3 client learns that the server refused its certificate).  A failure
 * is explained at once, while OpenSSL's error queue is this side's.
 */
static void
step(struct side *sd)
{
	char	b[16];
	int	r, e;

	if (sd->failed)
		return;
	if (!sd->done) {
		if ((r = SSL_do_handshake(sd->ssl)) == 1) {
			sd->done = 1;
			return;
		}
	} else if ((r = SSL_read(sd->ssl, b, sizeof(b))) > 0)
		return;
	e = SSL_get_error(sd->ssl, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		ERR_clear_error();
		return;
	}
	sd->failed = 1;
	hm_tls_strerror(sd->ssl, r, sd->why, sizeof(sd->why));
}

/*
 * A handshake between contexts sctx and cctx over a BIO pair.  Returns 0
 * when both sides finished, the server saw the client's "7" and the client
 * its "8"; else -1 with the reasons in swhy and cwhy ("" on a side that
 * did not fail).  The server's verdict on the client in *speer.
 */
static int
handshake(SSL_CTX *sctx, SSL_CTX *cctx, char *swhy, char *cwhy,
    const char **speer, char *sserial)
{
	struct side	 s, c;
	BIO		*sb, *cb;
	hm_err		 err;
	char		 b[4];
	int		 i, rc = -1;

	memset(&s, 0, sizeof(s));
	memset(&c, 0, sizeof(c));
	HM_CHECK(hm_tls_ssl_new(sctx, &s.ssl, &err), &err);
	/* A context of OpenSSL's own (the expired client) is no hm_tls one. */
	if (hm_tls_ssl_new(cctx, &c.ssl, &err) != HM_OK)
		assert_non_null(c.ssl = SSL_new(cctx));
	assert_int_equal(BIO_new_bio_pair(&sb, 0, &cb, 0), 1);
	SSL_set_bio(s.ssl, sb, sb);
	SSL_set_bio(c.ssl, cb, cb);
	SSL_set_accept_state(s.ssl);
	SSL_set_connect_state(c.ssl);
	for (i = 0; i < 20 && !(s.done && c.done) && !s.failed &&
	    !c.failed; i++) {
		step(&c);
		step(&s);
	}
	/* Data both ways; a refused TLS 1.3 client learns it here. */
	if (s.done && c.done && SSL_write(c.ssl, "7", 1) == 1) {
		for (i = 0; i < 20 && !s.failed; i++)
			if (SSL_read(s.ssl, b, 1) == 1 && b[0] == '7' &&
			    SSL_write(s.ssl, "8", 1) == 1)
				break;
		for (i = 0; i < 20 && !s.failed && !c.failed; i++) {
			step(&s);
			if (SSL_read(c.ssl, b, 1) == 1) {
				rc = b[0] == '8' ? 0 : -1;
				break;
			}
			step(&c);
		}
	} else {
		for (i = 0; i < 20 && !c.failed; i++)
			step(&c);
	}
	ERR_clear_error();
	snprintf(swhy, 128, "%s", s.failed ? s.why : "");
	snprintf(cwhy, 128, "%s", c.failed ? c.why : "");
	if (speer != NULL)
		*speer = hm_tls_peer_error(s.ssl);
	if (sserial != NULL && hm_tls_peer_serial(c.ssl, sserial, 41) !=
	    HM_OK)
		sserial[0] = '\0';
	SSL_free(s.ssl);
	SSL_free(c.ssl);
	return rc;
}

/*
 * An mTLS server context with a.pem, trusting the CA bundle cafile or the
 * CA directory dir; optional CRLs and allow-list.
 */
static SSL_CTX *
tserver(const char *cafile, hm_ca *dir, const char *crl1, const char *crl2,
    const char *const *allow, unsigned flags)
{
	hm_tls_params	 p;
	struct files	 f;
	SSL_CTX		*ctx;
	hm_err		 err;

	params(&p, &f, "a", NULL, cafile, crl1, crl2);
	p.ca_dir = dir;
	p.peer_names = allow;
	p.flags = flags;
	HM_CHECK(hm_tls_server_ctx_new(&p, &ctx, &err), &err);
	return ctx;
}

/* An mTLS server context: a.pem, root.pem, optional CRLs and allow-list. */
static SSL_CTX *
mserver(const char *crl1, const char *crl2, const char *const *allow,
    unsigned flags)
{
	return tserver("root.pem", NULL, crl1, crl2, allow, flags);
}

/* A client context for host with NAME's certificate (NULL: none). */
static SSL_CTX *
mclient(const char *name, const char *pass, const char *host,
    const char *crl1)
{
	hm_tls_params	 p;
	struct files	 f;
	SSL_CTX		*ctx;
	hm_err		 err;

	params(&p, &f, name, pass, "root.pem", crl1, NULL);
	p.host = host;
	HM_CHECK(hm_tls_client_ctx_new(&p, &ctx, &err), &err);
	return ctx;
}

/*
 * One client against sctx: want 0 (served) or -1 (refused), with the
 * server's and the client's reasons (NULL: don't care).
 */
static void
expect(SSL_CTX *sctx, const char *name, const char *pass, const char *host,
    int want, const char *swant, const char *cwant)
{
	SSL_CTX	*cctx = mclient(name, pass, host, NULL);
	char	 swhy[128], cwhy[128];
	int	 r;

	r = handshake(sctx, cctx, swhy, cwhy, NULL, NULL);
	if (r != want || (swant != NULL && strcmp(swhy, swant) != 0) ||
	    (cwant != NULL && strcmp(cwhy, cwant) != 0))
		fail_msg("client %s to %s: got %d, server '%s', client '%s'; "
		    "want %d, '%s', '%s'", name ? name : "(none)", host, r,
		    swhy, cwhy, want, swant ? swant : "*",
		    cwant ? cwant : "*");
	SSL_CTX_free(cctx);
}

static void
test_mtls_settings(void **state)
{
	static const char *const allow[] = { "alice", NULL };
	SSL_CTX		*ctx;
	unsigned long	 fl;

	(void)state;
	ctx = mserver(NULL, NULL, NULL, 0);
	assert_int_equal(SSL_CTX_get_min_proto_version(ctx), TLS1_2_VERSION);
	assert_int_equal(SSL_CTX_get_verify_mode(ctx), SSL_VERIFY_PEER |
	    SSL_VERIFY_FAIL_IF_NO_PEER_CERT | SSL_VERIFY_CLIENT_ONCE);
	fl = X509_VERIFY_PARAM_get_flags(SSL_CTX_get0_param(ctx));
	assert_true(fl & X509_V_FLAG_X509_STRICT);
	assert_false(fl & X509_V_FLAG_CRL_CHECK);
	assert_int_equal(sk_X509_NAME_num(SSL_CTX_get_client_CA_list(ctx)), 1);
	SSL_CTX_free(ctx);
	ctx = mserver("root.crl", NULL, allow, HM_TLS_REQUEST_CLIENT_CERT);
	assert_int_equal(SSL_CTX_get_verify_mode(ctx), SSL_VERIFY_PEER |
	    SSL_VERIFY_CLIENT_ONCE);
	fl = X509_VERIFY_PARAM_get_flags(SSL_CTX_get0_param(ctx));
	assert_true(fl & X509_V_FLAG_CRL_CHECK);
	assert_true(fl & X509_V_FLAG_CRL_CHECK_ALL);
	SSL_CTX_free(ctx);
	ctx = mclient("bob", NULL, "localhost", "root.der");
	assert_int_equal(SSL_CTX_get_min_proto_version(ctx), TLS1_2_VERSION);
	assert_int_equal(SSL_CTX_get_verify_mode(ctx), SSL_VERIFY_PEER);
	assert_true(SSL_CTX_get_options(ctx) & SSL_OP_NO_RENEGOTIATION);
	fl = X509_VERIFY_PARAM_get_flags(SSL_CTX_get0_param(ctx));
	assert_true(fl & X509_V_FLAG_X509_STRICT);
	assert_true(fl & X509_V_FLAG_CRL_CHECK_ALL);
	SSL_CTX_free(ctx);
	/* No CA bundle or directory: no client certificates asked for. */
	assert_int_equal(try("a.pem", "a.key", NULL, &ctx, &(hm_err){ 0 }),
	    HM_OK);
	assert_int_equal(SSL_CTX_get_verify_mode(ctx), SSL_VERIFY_NONE);
	SSL_CTX_free(ctx);
}

/* Params that make no sense are refused before anything is read. */
static void
test_mtls_params_refused(void **state)
{
	static const char *const allow[] = { "alice", NULL };
	static const char *const wild[] = { "*.example", NULL };
	hm_tls_params	 p;
	struct files	 f;
	SSL_CTX		*ctx = NULL;
	hm_err		 err;

	(void)state;
	params(&p, &f, "a", NULL, NULL, "root.crl", NULL);
	assert_int_equal(hm_tls_server_ctx_new(&p, &ctx, &err), HM_E_INVALID);
	assert_non_null(strstr(err.msg, "need a CA bundle"));
	/* A CA bundle or a CA directory, not both. */
	params(&p, &f, "a", NULL, "root.pem", NULL, NULL);
	p.ca_dir = ca;
	assert_int_equal(hm_tls_server_ctx_new(&p, &ctx, &err), HM_E_INVALID);
	assert_non_null(strstr(err.msg, "not both"));
	p.ca_dir = NULL;
	p.flags = HM_TLS_REQUEST_CLIENT_CERT | HM_TLS_REQUIRE_CLIENT_CERT;
	assert_int_equal(hm_tls_server_ctx_new(&p, &ctx, &err), HM_E_INVALID);
	p.flags = 0x80;
	assert_int_equal(hm_tls_server_ctx_new(&p, &ctx, &err), HM_E_INVALID);
	p.flags = 0;
	p.peer_names = wild;
	assert_int_equal(hm_tls_server_ctx_new(&p, &ctx, &err), HM_E_INVALID);
	assert_non_null(strstr(err.msg, "without wildcards"));
	p.peer_names = NULL;
	p.host = "localhost";
	assert_int_equal(hm_tls_server_ctx_new(&p, &ctx, &err), HM_E_INVALID);
	/* The client: a CA, a host, certificate and key together. */
	params(&p, &f, "bob", NULL, NULL, NULL, NULL);
	p.host = "localhost";
	assert_int_equal(hm_tls_client_ctx_new(&p, &ctx, &err), HM_E_INVALID);
	assert_non_null(strstr(err.msg, "CA bundle"));
	params(&p, &f, "bob", NULL, "root.pem", NULL, NULL);
	assert_int_equal(hm_tls_client_ctx_new(&p, &ctx, &err), HM_E_INVALID);
	assert_non_null(strstr(err.msg, "name or address of its server"));
	p.host = "localhost";
	p.key = NULL;
	assert_int_equal(hm_tls_client_ctx_new(&p, &ctx, &err), HM_E_INVALID);
	p.key = f.key;
	p.ca_dir = ca;
	assert_int_equal(hm_tls_client_ctx_new(&p, &ctx, &err), HM_E_INVALID);
	assert_non_null(strstr(err.msg, "not both"));
	p.ca_dir = NULL;
	p.peer_names = allow;
	assert_int_equal(hm_tls_client_ctx_new(&p, &ctx, &err), HM_E_INVALID);
	/* Files that are not what they should be. */
	params(&p, &f, "a", NULL, "junk.crl", NULL, NULL);
	assert_int_equal(hm_tls_server_ctx_new(&p, &ctx, &err), HM_E_INVALID);
	assert_non_null(strstr(err.msg, "no PEM CA certificate"));
	params(&p, &f, "a", NULL, "root.pem", "junk.crl", NULL);
	assert_int_equal(hm_tls_server_ctx_new(&p, &ctx, &err), HM_E_INVALID);
	assert_non_null(strstr(err.msg, "no CRL in it"));
	params(&p, &f, "a", NULL, "root.pem", "nosuch.crl", NULL);
	assert_int_not_equal(hm_tls_server_ctx_new(&p, &ctx, &err), HM_OK);
	params(&p, &f, "alice", "wrong", "root.pem", NULL, NULL);
	p.host = "localhost";
	assert_int_equal(hm_tls_client_ctx_new(&p, &ctx, &err),
	    HM_E_PASSPHRASE);
	assert_null(ctx);
}

static void
test_mtls_refusals(void **state)
{
	SSL_CTX	*sctx, *cctx;
	char	 swhy[128], cwhy[128];

	(void)state;
	sctx = mserver(NULL, NULL, NULL, 0);
	expect(sctx, "alice", "alice pass", "localhost", 0, "", "");
	expect(sctx, "bob", NULL, "127.0.0.1", 0, "", "");
	expect(sctx, NULL, NULL, "localhost", -1, "no certificate",
	    "refused by the peer: no certificate");
	expect(sctx, "eve", NULL, "localhost", -1, "unknown CA",
	    "refused by the peer: unknown CA");
	/* A server's certificate is no client's. */
	expect(sctx, "a", NULL, "localhost", -1, "wrong purpose", NULL);
	/* The server's certificate names localhost and 127.0.0.1 only. */
	expect(sctx, "alice", "alice pass", "www.example", -1, NULL,
	    "name mismatch");
	expect(sctx, "alice", "alice pass", "127.0.0.2", -1, NULL,
	    "name mismatch");
	/*
	 * Expired: oldc lived one second (test_refused slept two).  The
	 * library makes no context of an expired certificate, so OpenSSL's
	 * own client sends it.
	 */
	cctx = SSL_CTX_new(TLS_client_method());
	assert_int_equal(SSL_CTX_use_certificate_file(cctx,
	    tu_path("oldc.pem"), SSL_FILETYPE_PEM), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey_file(cctx,
	    tu_path("oldc.key"), SSL_FILETYPE_PEM), 1);
	assert_int_equal(handshake(sctx, cctx, swhy, cwhy, NULL, NULL), -1);
	assert_string_equal(swhy, "expired");
	assert_string_equal(cwhy, "refused by the peer: expired");
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);

	/* Revoked, once the CRL says so; DER works as well as PEM. */
	sctx = mserver("empty.crl", NULL, NULL, 0);
	expect(sctx, "bob", NULL, "localhost", 0, "", "");
	SSL_CTX_free(sctx);
	sctx = mserver("root.crl", NULL, NULL, 0);
	expect(sctx, "bob", NULL, "localhost", -1, "revoked",
	    "refused by the peer: revoked");
	expect(sctx, "alice", "alice pass", "localhost", 0, "", "");
	SSL_CTX_free(sctx);
	sctx = mserver("root.der", NULL, NULL, 0);
	expect(sctx, "bob", NULL, "localhost", -1, "revoked", NULL);
	SSL_CTX_free(sctx);
	/* CRLs given but none of the client's CA: refused, not let in. */
	sctx = mserver("other.crl", NULL, NULL, 0);
	expect(sctx, "alice", "alice pass", "localhost", -1, "no CRL", NULL);
	SSL_CTX_free(sctx);
}

/* TLS 1.2 clients: the same refusals, the alerts of TLS 1.2. */
static void
test_mtls_tls12(void **state)
{
	static const char *const names[] = { NULL, "bob", "eve", "alice" };
	static const char *const swant[] = { "no certificate", "revoked",
	    "unknown CA", "" };
	static const char *const cwant[] = {
	    "refused by the peer: handshake failure",
	    "refused by the peer: revoked", "refused by the peer: unknown CA",
	    "" };
	SSL_CTX	*sctx, *cctx;
	char	 swhy[128], cwhy[128];
	size_t	 i;

	(void)state;
	sctx = mserver("root.crl", NULL, NULL, 0);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		cctx = mclient(names[i], i == 3 ? "alice pass" : NULL,
		    "localhost", NULL);
		assert_int_equal(SSL_CTX_set_max_proto_version(cctx,
		    TLS1_2_VERSION), 1);
		assert_int_equal(handshake(sctx, cctx, swhy, cwhy, NULL, NULL),
		    i == 3 ? 0 : -1);
		assert_string_equal(swhy, swant[i]);
		assert_string_equal(cwhy, cwant[i]);
		SSL_CTX_free(cctx);
	}
	SSL_CTX_free(sctx);
}

/* The client checks the server's name, CA and revocation. */
static void
test_mtls_client_checks(void **state)
{
	hm_tls_params	 p;
	struct files	 f;
	SSL_CTX		*sctx, *cctx;
	hm_err		 err;
	char		 swhy[128], cwhy[128];

	(void)state;
	params(&p, &f, "elsewhere", NULL, "root.pem", NULL, NULL);
	HM_CHECK(hm_tls_server_ctx_new(&p, &sctx, &err), &err);
	expect(sctx, "bob", NULL, "localhost", -1, NULL, "name mismatch");
	expect(sctx, "bob", NULL, "OTHER.example", 0, "", "");
	SSL_CTX_free(sctx);
	/* A revoked server, when the client has the CRL. */
	params(&p, &f, "revsrv", NULL, "root.pem", NULL, NULL);
	HM_CHECK(hm_tls_server_ctx_new(&p, &sctx, &err), &err);
	expect(sctx, "bob", NULL, "localhost", 0, "", "");
	cctx = mclient("bob", NULL, "localhost", "root.crl");
	assert_int_equal(handshake(sctx, cctx, swhy, cwhy, NULL, NULL), -1);
	assert_string_equal(cwhy, "revoked");
	assert_string_equal(swhy, "refused by the peer: revoked");
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
	/* A server known by another CA. */
	params(&p, &f, "a", NULL, "oroot.pem", NULL, NULL);
	HM_CHECK(hm_tls_server_ctx_new(&p, &sctx, &err), &err);
	params(&p, &f, "bob", NULL, "oroot.pem", NULL, NULL);
	p.host = "localhost";
	HM_CHECK(hm_tls_client_ctx_new(&p, &cctx, &err), &err);
	assert_int_equal(handshake(sctx, cctx, swhy, cwhy, NULL, NULL), -1);
	assert_string_equal(cwhy, "unknown CA");
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
}

static void
test_mtls_allow_list(void **state)
{
	static const char *const bob[] = { "bob", NULL };
	static const char *const dns[] = { "nobody", "ALICE.Example", NULL };
	static const char *const ip[] = { "10.1.2.3", NULL };
	static const char *const ip6[] = { "::ffff:10.1.2.3", "alice.ex",
	    "10.1.2.30", NULL };
	SSL_CTX	*sctx;

	(void)state;
	sctx = mserver(NULL, NULL, bob, 0);
	expect(sctx, "bob", NULL, "localhost", 0, "", "");
	expect(sctx, "alice", "alice pass", "localhost", -1, "not allowed",
	    NULL);
	/* Another CA's "alice" is still another CA's. */
	expect(sctx, "eve", NULL, "localhost", -1, "unknown CA", NULL);
	SSL_CTX_free(sctx);
	sctx = mserver(NULL, NULL, dns, 0);
	expect(sctx, "alice", "alice pass", "localhost", 0, "", "");
	expect(sctx, "bob", NULL, "localhost", -1, "not allowed", NULL);
	SSL_CTX_free(sctx);
	sctx = mserver(NULL, NULL, ip, 0);
	expect(sctx, "alice", "alice pass", "localhost", 0, "", "");
	SSL_CTX_free(sctx);
	sctx = mserver(NULL, NULL, ip6, 0);
	expect(sctx, "alice", "alice pass", "localhost", -1, "not allowed",
	    NULL);
	SSL_CTX_free(sctx);
}

/* Asked, not required: in without a certificate, and the server knows. */
static void
test_mtls_request(void **state)
{
	SSL_CTX		*sctx, *cctx;
	const char	*peer;
	char		 swhy[128], cwhy[128];

	(void)state;
	sctx = mserver("root.crl", NULL, NULL, HM_TLS_REQUEST_CLIENT_CERT);
	cctx = mclient(NULL, NULL, "localhost", NULL);
	assert_int_equal(handshake(sctx, cctx, swhy, cwhy, &peer, NULL), 0);
	assert_string_equal(peer, "no certificate");
	SSL_CTX_free(cctx);
	cctx = mclient("alice", "alice pass", "localhost", NULL);
	assert_int_equal(handshake(sctx, cctx, swhy, cwhy, &peer, NULL), 0);
	assert_null(peer);
	SSL_CTX_free(cctx);
	/* A certificate that is sent is checked all the same. */
	expect(sctx, "bob", NULL, "localhost", -1, "revoked", NULL);
	expect(sctx, "eve", NULL, "localhost", -1, "unknown CA", NULL);
	SSL_CTX_free(sctx);
}

/*
 * Both sources of trust, one path: the bundle root.pem and the directory
 * of that root verify clients alike (required, then only requested, as
 * hallmark serve asks); the other CA's directory trusts only its own.
 */
static void
test_mtls_trust(void **state)
{
	SSL_CTX		*sctx, *cctx;
	hm_tls_params	 p;
	struct files	 f;
	hm_err		 err;
	const char	*peer;
	char		 swhy[128], cwhy[128];
	int		 i;

	(void)state;
	for (i = 0; i < 2; i++) {
		sctx = i == 0 ? tserver("root.pem", NULL, NULL, NULL, NULL, 0) :
		    tserver(NULL, ca, NULL, NULL, NULL, 0);
		assert_int_equal(SSL_CTX_get_verify_mode(sctx),
		    SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT |
		    SSL_VERIFY_CLIENT_ONCE);
		assert_true(X509_VERIFY_PARAM_get_flags(SSL_CTX_get0_param(
		    sctx)) & X509_V_FLAG_X509_STRICT);
		assert_int_equal(sk_X509_NAME_num(
		    SSL_CTX_get_client_CA_list(sctx)), 1);
		expect(sctx, "alice", "alice pass", "localhost", 0, "", "");
		expect(sctx, "eve", NULL, "localhost", -1, "unknown CA",
		    "refused by the peer: unknown CA");
		expect(sctx, NULL, NULL, "localhost", -1, "no certificate",
		    "refused by the peer: no certificate");
		expect(sctx, "a", NULL, "localhost", -1, "wrong purpose", NULL);
		SSL_CTX_free(sctx);

		sctx = i == 0 ? tserver("root.pem", NULL, NULL, NULL, NULL,
		    HM_TLS_REQUEST_CLIENT_CERT) : tserver(NULL, ca, NULL, NULL,
		    NULL, HM_TLS_REQUEST_CLIENT_CERT);
		assert_int_equal(SSL_CTX_get_verify_mode(sctx),
		    SSL_VERIFY_PEER | SSL_VERIFY_CLIENT_ONCE);
		cctx = mclient(NULL, NULL, "localhost", NULL);
		assert_int_equal(handshake(sctx, cctx, swhy, cwhy, &peer,
		    NULL), 0);
		assert_string_equal(peer, "no certificate");
		SSL_CTX_free(cctx);
		expect(sctx, "alice", "alice pass", "localhost", 0, "", "");
		expect(sctx, "eve", NULL, "localhost", -1, "unknown CA",
		    "refused by the peer: unknown CA");
		SSL_CTX_free(sctx);
	}
	/* The other CA's directory, with our CRL: its client in, ours out. */
	sctx = tserver(NULL, oca, "other.crl", NULL, NULL, 0);
	expect(sctx, "eve", NULL, "localhost", 0, "", "");
	expect(sctx, "alice", "alice pass", "localhost", -1, "unknown CA",
	    NULL);
	SSL_CTX_free(sctx);
	/* A client trusting a directory checks its server the same way. */
	sctx = mserver(NULL, NULL, NULL, 0);
	params(&p, &f, "bob", NULL, NULL, NULL, NULL);
	p.host = "localhost";
	p.ca_dir = ca;
	HM_CHECK(hm_tls_client_ctx_new(&p, &cctx, &err), &err);
	assert_int_equal(handshake(sctx, cctx, swhy, cwhy, NULL, NULL), 0);
	SSL_CTX_free(cctx);
	p.ca_dir = oca;
	HM_CHECK(hm_tls_client_ctx_new(&p, &cctx, &err), &err);
	assert_int_equal(handshake(sctx, cctx, swhy, cwhy, NULL, NULL), -1);
	assert_string_equal(cwhy, "unknown CA");
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
}

/* Renewed files: noticed, reloaded, served; a bad reload keeps the old. */
static void
test_mtls_reload(void **state)
{
	hm_tls_params	 p;
	struct files	 f;
	SSL_CTX		*sctx, *cctx, *keep;
	hm_err		 err;
	char		 swhy[128], cwhy[128], s1[41], s2[41];

	(void)state;
	server("r", 0, NULL);
	params(&p, &f, "r", NULL, "root.pem", NULL, NULL);
	HM_CHECK(hm_tls_server_ctx_new(&p, &sctx, &err), &err);
	cctx = mclient("bob", NULL, "localhost", NULL);
	assert_int_equal(handshake(sctx, cctx, swhy, cwhy, NULL, s1), 0);
	assert_int_equal(hm_tls_ctx_changed(sctx, &p), 0);
	server("r", 0, NULL);
	assert_int_equal(hm_tls_ctx_changed(sctx, &p), 1);
	HM_CHECK(hm_tls_ctx_reload(&p, &sctx, &err), &err);
	assert_int_equal(hm_tls_ctx_changed(sctx, &p), 0);
	assert_int_equal(handshake(sctx, cctx, swhy, cwhy, NULL, s2), 0);
	assert_string_not_equal(s1, s2);
	/* A key that does not match: the old context stays. */
	tu_sh("cp %s %s", tu_path("bob.key"), tu_path("r.key"));
	assert_int_equal(hm_tls_ctx_changed(sctx, &p), 1);
	keep = sctx;
	assert_int_equal(hm_tls_ctx_reload(&p, &sctx, &err), HM_E_INVALID);
	assert_ptr_equal(sctx, keep);
	assert_int_equal(handshake(sctx, cctx, swhy, cwhy, NULL, s1), 0);
	assert_string_equal(s1, s2);
	/* The client reloads the same way. */
	params(&p, &f, "bob", NULL, "root.pem", NULL, NULL);
	p.host = "localhost";
	HM_CHECK(hm_tls_ctx_reload(&p, &cctx, &err), &err);
	assert_int_equal(handshake(sctx, cctx, swhy, cwhy, NULL, s1), 0);
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
	assert_int_equal(hm_tls_ctx_reload(&p, NULL, &err), HM_E_INVALID);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_server_ctx),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_mtls_settings),
		cmocka_unit_test(test_mtls_params_refused),
		cmocka_unit_test(test_mtls_refusals),
		cmocka_unit_test(test_mtls_tls12),
		cmocka_unit_test(test_mtls_client_checks),
		cmocka_unit_test(test_mtls_allow_list),
		cmocka_unit_test(test_mtls_request),
		cmocka_unit_test(test_mtls_trust),
		cmocka_unit_test(test_mtls_reload),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
