/*
 * TLS contexts for the programs that use hallmark's certificates, and for
 * hallmark serve itself: OpenSSL's, set up so that the safe thing is the
 * only thing (TLS 1.2 at least, no renegotiation, the key checked against
 * the certificate, a certificate valid now).
 */
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "internal.h"

int
hm_tls_server_ctx_new(const hm_tls_params *p, SSL_CTX **out, hm_err *err)
{
	SSL_CTX		*ctx = NULL;
	hm_key		*k = NULL;
	X509		*x;
	int		 rc;

	if (p == NULL || p->cert == NULL || p->key == NULL)
		return hm_seterr(err, HM_E_INVALID, "a TLS server needs a "
		    "certificate and its key");
	if ((rc = hm_key_load(p->key, p->key_pass, &k, err)) != HM_OK)
		return rc;
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		rc = hm_seterr_ssl(err, HM_E_NOMEM, "TLS context");
		goto out;
	}
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION)) {
		rc = hm_seterr_ssl(err, HM_E_INTERNAL, "TLS versions");
		goto out;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE);
	/* The file: the leaf, then the CAs a client needs to reach a root. */
	if (SSL_CTX_use_certificate_chain_file(ctx, p->cert) != 1) {
		rc = hm_seterr_ssl(err, HM_E_INVALID, "%.128s: not a PEM "
		    "certificate chain", p->cert);
		goto out;
	}
	if (SSL_CTX_use_PrivateKey(ctx, k->pkey) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		ERR_clear_error();
		rc = hm_seterr(err, HM_E_INVALID, "%.100s is not the key of "
		    "%.100s", p->key, p->cert);
		goto out;
	}
	x = SSL_CTX_get0_certificate(ctx);
	if (X509_cmp_current_time(X509_get0_notAfter(x)) <= 0) {
		rc = hm_seterr(err, HM_E_POLICY, "%.128s has expired; renew "
		    "it", p->cert);
		goto out;
	}
	if (X509_cmp_current_time(X509_get0_notBefore(x)) > 0) {
		rc = hm_seterr(err, HM_E_POLICY, "%.128s is not valid yet",
		    p->cert);
		goto out;
	}
	*out = ctx;
	ctx = NULL;
	rc = HM_OK;
 out:
	SSL_CTX_free(ctx);
	hm_key_free(k);
	return rc;
}

struct trust_arg {
	hm_ca		*ca;
	X509_STORE	*store;
	hm_err		*err;
	int		 rc;
};

static int
trust_one(const hm_ca_info *ci, void *arg)
{
	struct trust_arg	*a = arg;
	hm_signer		*s = NULL;

	if ((a->rc = hm_ca_certs(a->ca, ci->name, &s, a->err)) != HM_OK)
		return 1;
	if (!X509_STORE_add_cert(a->store, s->cert)) {
		a->rc = hm_seterr_ssl(a->err, HM_E_INTERNAL, "X.509 store");
		hm_signer_free(s);
		return 1;
	}
	hm_signer_free(s);
	return 0;
}

int
hm_tls_server_trust_ca(SSL_CTX *ctx, hm_ca *ca, hm_err *err)
{
	static const unsigned char	 sid[] = "hallmark serve";
	struct trust_arg		 a;
	X509_VERIFY_PARAM		*vp = SSL_CTX_get0_param(ctx);
	int				 rc;

	a.ca = ca;
	a.store = SSL_CTX_get_cert_store(ctx);
	a.err = err;
	a.rc = HM_OK;
	if ((rc = hm_ca_list(ca, trust_one, &a, err)) != HM_OK)
		return rc;
	if (a.rc != HM_OK)
		return a.rc;
	if (!X509_VERIFY_PARAM_set_purpose(vp, X509_PURPOSE_SSL_CLIENT) ||
	    !X509_VERIFY_PARAM_set_flags(vp, X509_V_FLAG_X509_STRICT) ||
	    !SSL_CTX_set_session_id_context(ctx, sid, sizeof(sid) - 1))
		return hm_seterr_ssl(err, HM_E_INTERNAL, "TLS verification");
	/* Asked, not required: CRL and OCSP clients have no certificate. */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	return HM_OK;
}
