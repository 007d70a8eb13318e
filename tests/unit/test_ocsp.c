/*
 * lib/ocsp.c: OCSP answers built by OpenSSL's own client side, checked
 * with OCSP_basic_verify against the root; good, revoked with time and
 * reason, unknown; the nonce echoed; malformed and foreign requests get
 * the right error status; a store that fails gives tryLater, never
 * unknown; CRLs cached until a revocation; a CA with no key file (an
 * online CA's root) is not unlocked, its CRL refused, OCSP about what it
 * issued unauthorized.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ocsp.h>

#include "internal.h"	/* the store's operations, to break one */
#include "testutil.h"

static hm_ca		*ca;
static hm_signer	*root;
static hm_cert		*leaf_a, *leaf_b;

static hm_cert *
leaf(const char *cn)
{
	hm_issue_req	 req;
	hm_key		*k = NULL;
	hm_csr		*csr = NULL;
	hm_cert		*c = NULL;
	hm_err		 err;

	HM_CHECK(hm_key_generate(HM_KEY_P256, &k, &err), &err);
	HM_CHECK(hm_csr_new(k, cn, NULL, &csr, &err), &err);
	memset(&req, 0, sizeof(req));
	req.profile = HM_PROFILE_CLIENT;
	req.csr = csr;
	HM_CHECK(hm_issue(root, &req, &c, NULL, &err), &err);
	hm_csr_free(csr);
	hm_key_free(k);
	return c;
}

static int
setup(void **state)
{
	(void)state;
	tu_root_ca("ca", "OCSP Root", &ca, &root);
	leaf_a = leaf("a");
	leaf_b = leaf("b");
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	hm_cert_free(leaf_a);
	hm_cert_free(leaf_b);
	hm_signer_free(root);
	hm_ca_close(ca);
	return 0;
}

/* Ask r about x (or, with x NULL, about serial 0x1234) with a nonce. */
static OCSP_BASICRESP *
ask(hm_responder *r, X509 *x, int want_status)
{
	OCSP_REQUEST	*q = OCSP_REQUEST_new();
	OCSP_RESPONSE	*o;
	OCSP_BASICRESP	*bs;
	OCSP_CERTID	*id;
	ASN1_INTEGER	*sn = ASN1_INTEGER_new();
	X509_STORE	*store = X509_STORE_new();
	STACK_OF(X509)	*issuer;
	unsigned char	*der = NULL, *resp = NULL;
	const unsigned char *p;
	size_t		 rlen;
	hm_err		 err;
	int		 n;

	assert_non_null(q);
	ASN1_INTEGER_set(sn, 0x1234);
	id = x != NULL ? OCSP_cert_to_id(NULL, x, root->cert) :
	    OCSP_cert_id_new(EVP_sha1(), X509_get_subject_name(root->cert),
	    X509_get0_pubkey_bitstr(root->cert), sn);
	assert_non_null(id);
	assert_non_null(OCSP_request_add0_id(q, id));
	assert_true(OCSP_request_add1_nonce(q, NULL, 16));
	n = i2d_OCSP_REQUEST(q, &der);
	assert_true(n > 0);
	HM_CHECK(hm_ocsp_respond(r, der, (size_t)n, &resp, &rlen, &err),
	    &err);
	p = resp;
	o = d2i_OCSP_RESPONSE(NULL, &p, (long)rlen);
	assert_non_null(o);
	assert_int_equal(OCSP_response_status(o),
	    OCSP_RESPONSE_STATUS_SUCCESSFUL);
	bs = OCSP_response_get1_basic(o);
	assert_non_null(bs);
	assert_int_equal(OCSP_check_nonce(q, bs), 1);
	assert_true(X509_STORE_add_cert(store, root->cert));
	/* Signed by the CA itself, sent without certificates: the client
	 * holds the issuer (openssl ocsp -issuer), as here. */
	assert_non_null(issuer = sk_X509_new_null());
	assert_true(sk_X509_push(issuer, root->cert));
	assert_int_equal(OCSP_basic_verify(bs, issuer, store, 0), 1);
	sk_X509_free(issuer);
	{
		int			 st, reason;
		ASN1_GENERALIZEDTIME	*rev, *tu, *nu;

		assert_int_equal(OCSP_resp_find_status(bs, id, &st, &reason,
		    &rev, &tu, &nu), 1);
		assert_int_equal(st, want_status);
		assert_int_equal(OCSP_check_validity(tu, nu, 300, -1), 1);
		if (st == V_OCSP_CERTSTATUS_REVOKED) {
			assert_int_equal(reason, HM_REASON_KEY_COMPROMISE);
			assert_non_null(rev);
		}
	}
	X509_STORE_free(store);
	ASN1_INTEGER_free(sn);
	OCSP_RESPONSE_free(o);
	OPENSSL_free(der);
	free(resp);
	OCSP_REQUEST_free(q);
	return bs;
}

static int
status_of(hm_responder *r, const unsigned char *req, size_t len)
{
	unsigned char		*resp = NULL;
	const unsigned char	*p;
	OCSP_RESPONSE		*o;
	size_t			 rlen;
	hm_err			 err;
	int			 st;

	HM_CHECK(hm_ocsp_respond(r, req, len, &resp, &rlen, &err), &err);
	p = resp;
	o = d2i_OCSP_RESPONSE(NULL, &p, (long)rlen);
	assert_non_null(o);
	st = OCSP_response_status(o);
	OCSP_RESPONSE_free(o);
	free(resp);
	return st;
}

static void
test_good_revoked_unknown(void **state)
{
	hm_responder	*r = NULL;
	hm_err		 err;

	(void)state;
	HM_CHECK(hm_responder_new(ca, NULL, NULL, &r, &err), &err);
	OCSP_BASICRESP_free(ask(r, leaf_a->x509, V_OCSP_CERTSTATUS_GOOD));
	OCSP_BASICRESP_free(ask(r, NULL, V_OCSP_CERTSTATUS_UNKNOWN));
	HM_CHECK(hm_revoke(ca, hm_cert_serial(leaf_a),
	    HM_REASON_KEY_COMPROMISE, 0, NULL, &err), &err);
	OCSP_BASICRESP_free(ask(r, leaf_a->x509, V_OCSP_CERTSTATUS_REVOKED));
	OCSP_BASICRESP_free(ask(r, leaf_b->x509, V_OCSP_CERTSTATUS_GOOD));
	hm_responder_free(r);
}

static void
test_bad_requests(void **state)
{
	static const unsigned char	 junk[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };
	hm_responder			*r = NULL;
	hm_ca				*other = NULL;
	hm_signer			*oroot = NULL;
	OCSP_REQUEST			*q;
	unsigned char			*der = NULL, big[20000];
	hm_err				 err;
	int				 n;

	(void)state;
	HM_CHECK(hm_responder_new(ca, NULL, NULL, &r, &err), &err);
	assert_int_equal(status_of(r, junk, sizeof(junk)),
	    OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
	memset(big, 0x30, sizeof(big));
	assert_int_equal(status_of(r, big, sizeof(big)),
	    OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
	/* About a certificate of another CA: not ours to answer. */
	tu_root_ca("other", "Other Root", &other, &oroot);
	q = OCSP_REQUEST_new();
	assert_non_null(OCSP_request_add0_id(q, OCSP_cert_to_id(NULL,
	    oroot->cert, oroot->cert)));
	n = i2d_OCSP_REQUEST(q, &der);
	assert_int_equal(status_of(r, der, (size_t)n),
	    OCSP_RESPONSE_STATUS_UNAUTHORIZED);
	OPENSSL_free(der);
	OCSP_REQUEST_free(q);
	hm_signer_free(oroot);
	hm_ca_close(other);
	/* RFC 8954: nonces of 1 to 32 bytes; 33 is malformed, as are two. */
	{
		static const int	 lens[] = { 32, 33, 1, -2 };
		size_t			 i;

		for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
			q = OCSP_REQUEST_new();
			assert_non_null(OCSP_request_add0_id(q,
			    OCSP_cert_to_id(NULL, leaf_b->x509, root->cert)));
			assert_true(OCSP_request_add1_nonce(q, NULL,
			    lens[i] > 0 ? lens[i] : 16));
			/* add1_nonce replaces: a copy makes the second. */
			if (lens[i] < 0)
				assert_true(OCSP_REQUEST_add_ext(q,
				    OCSP_REQUEST_get_ext(q, 0), -1));
			assert_int_equal(OCSP_REQUEST_get_ext_count(q),
			    lens[i] < 0 ? 2 : 1);
			der = NULL;
			n = i2d_OCSP_REQUEST(q, &der);
			assert_int_equal(status_of(r, der, (size_t)n),
			    lens[i] == 32 || lens[i] == 1 ?
			    OCSP_RESPONSE_STATUS_SUCCESSFUL :
			    OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
			OPENSSL_free(der);
			OCSP_REQUEST_free(q);
		}
	}
	hm_responder_free(r);
}

/*
 * Delegated: answers signed by a responder certificate the CA issued
 * (OCSPSigning, ocsp-nocheck, at most 2 days, in the inventory), sent
 * with the answer; OCSP_basic_verify checks that delegation (it refuses
 * a signer without the EKU or from another issuer).
 */
static void
test_delegated(void **state)
{
	hm_responder	*r = NULL;
	OCSP_BASICRESP	*bs;
	X509		*signer = NULL;
	char		 serial[41], cn[128];
	hm_cert_info	 ci;
	hm_err		 err;
	int		 days, secs;

	(void)state;
	HM_CHECK(hm_responder_new(ca, NULL, NULL, &r, &err), &err);
	HM_CHECK(hm_responder_delegate(r, &err), &err);
	bs = ask(r, leaf_a->x509, V_OCSP_CERTSTATUS_REVOKED);
	assert_int_equal(sk_X509_num(OCSP_resp_get0_certs(bs)), 1);
	assert_int_equal(OCSP_resp_get0_signer(bs, &signer, NULL), 1);
	assert_int_not_equal(X509_cmp(signer, root->cert), 0);
	X509_NAME_get_text_by_NID(X509_get_subject_name(signer),
	    NID_commonName, cn, sizeof(cn));
	assert_string_equal(cn, "OCSP responder of root");
	assert_int_equal(X509_check_issued(root->cert, signer), X509_V_OK);
	assert_int_equal(X509_get_extended_key_usage(signer), XKU_OCSP_SIGN);
	assert_true(X509_get_ext_by_NID(signer, NID_id_pkix_OCSP_noCheck, -1) >=
	    0);
	assert_int_equal(X509_get_ext_by_NID(signer, NID_info_access, -1), -1);
	assert_int_equal(ASN1_TIME_diff(&days, &secs,
	    X509_get0_notBefore(signer), X509_get0_notAfter(signer)), 1);
	assert_true(days * 86400 + secs <= 2 * 86400 + 600);
	assert_true(X509_get_ext_by_NID(signer, NID_basic_constraints, -1) >=
	    0);
	assert_int_equal(X509_check_ca(signer), 0);
	{
		const ASN1_INTEGER	*sn = X509_get0_serialNumber(signer);
		BIGNUM			*bn = ASN1_INTEGER_to_BN(sn, NULL);
		char			*hex = BN_bn2hex(bn);

		snprintf(serial, sizeof(serial), "%s", hex);
		OPENSSL_free(hex);
		BN_free(bn);
	}
	HM_CHECK(hm_cert_lookup(ca, serial, &ci, NULL, NULL), &err);
	assert_string_equal(ci.profile, "ocsp");
	OCSP_BASICRESP_free(bs);
	OCSP_BASICRESP_free(ask(r, NULL, V_OCSP_CERTSTATUS_UNKNOWN));
	hm_responder_free(r);
}

static int
broken_get(hm_store *st, const char *serial, hm_cert_info *ci,
    unsigned char **derp, size_t *derlen, hm_err *err)
{
	(void)st;
	(void)serial;
	(void)ci;
	(void)derp;
	(void)derlen;
	return hm_seterr(err, HM_E_STORE, "store: disk I/O error");
}

/* A store that fails is no answer: tryLater, not "unknown". */
static void
test_store_error(void **state)
{
	const struct hm_store_ops	*ops = ca->store->ops;
	struct hm_store_ops		 broken = *ops;
	hm_responder			*r = NULL;
	OCSP_REQUEST			*q;
	unsigned char			*der = NULL;
	hm_err				 err;
	int				 n, st;

	(void)state;
	broken.cert_get = broken_get;
	HM_CHECK(hm_responder_new(ca, NULL, NULL, &r, &err), &err);
	assert_non_null(q = OCSP_REQUEST_new());
	assert_non_null(OCSP_request_add0_id(q, OCSP_cert_to_id(NULL,
	    leaf_b->x509, root->cert)));
	n = i2d_OCSP_REQUEST(q, &der);
	assert_true(n > 0);
	ca->store->ops = &broken;
	st = status_of(r, der, (size_t)n);
	ca->store->ops = ops;
	assert_int_equal(st, OCSP_RESPONSE_STATUS_TRYLATER);
	/* And answers again once the store does. */
	assert_int_equal(status_of(r, der, (size_t)n),
	    OCSP_RESPONSE_STATUS_SUCCESSFUL);
	OPENSSL_free(der);
	OCSP_REQUEST_free(q);
	hm_responder_free(r);
}

static void
test_crl_cache(void **state)
{
	hm_responder		*r = NULL;
	const unsigned char	*c1, *c2, *c3;
	size_t			 l1, l2, l3;
	hm_err			 err;

	(void)state;
	HM_CHECK(hm_responder_new(ca, NULL, NULL, &r, &err), &err);
	HM_CHECK(hm_responder_crl(r, "root", &c1, &l1, &err), &err);
	HM_CHECK(hm_responder_crl(r, "root", &c2, &l2, &err), &err);
	assert_ptr_equal(c1, c2);		/* cached */
	HM_CHECK(hm_revoke(ca, hm_cert_serial(leaf_b), HM_REASON_SUPERSEDED,
	    0, NULL, &err), &err);
	HM_CHECK(hm_responder_crl(r, "root", &c3, &l3, &err), &err);
	assert_true(l3 > l2);			/* one entry more */
	assert_int_equal(hm_responder_crl(r, "nosuch", &c3, &l3, &err),
	    HM_E_NOTFOUND);
	hm_responder_free(r);
}

/* The response status to a request about x, whose issuer is iss. */
static int
status_about(hm_responder *r, X509 *x, X509 *iss)
{
	OCSP_REQUEST	*q = OCSP_REQUEST_new();
	OCSP_CERTID	*id;
	unsigned char	*der = NULL;
	int		 n, st;

	assert_non_null(q);
	assert_non_null(id = OCSP_cert_to_id(NULL, x, iss));
	assert_non_null(OCSP_request_add0_id(q, id));
	assert_true((n = i2d_OCSP_REQUEST(q, &der)) > 0);
	st = status_of(r, der, (size_t)n);
	OPENSSL_free(der);
	OCSP_REQUEST_free(q);
	return st;
}

static void
test_offline_root(void **state)
{
	hm_ca_params	 p;
	hm_issue_req	 req;
	hm_key		*k = NULL;
	hm_csr		*csr = NULL;
	hm_cert		*c = NULL;
	hm_responder	*r = NULL;
	hm_signer	*oroot = NULL, *mid = NULL;
	hm_cert		*midc = NULL;
	hm_ca		*oca = NULL;
	const unsigned char *crl;
	size_t		 len;
	hm_err		 err;

	(void)state;
	tu_root_ca("online", "Online Root", &oca, &oroot);
	memset(&p, 0, sizeof(p));
	p.name = "mid";
	p.cn = "Online Mid";
	HM_CHECK(hm_ca_new_intermediate(oca, oroot, &p, &midc, NULL, &err),
	    &err);
	/* The root's key goes away, as on an online CA (import --root). */
	assert_int_equal(tu_sh("rm %s/ca/root/key.pem", tu_path("online")),
	    0);
	/* No passphrase callback: it would fail if the root were tried. */
	HM_CHECK(hm_responder_new(oca, NULL, NULL, &r, &err), &err);
	assert_int_equal(hm_responder_online(r, "mid"), 1);
	assert_int_equal(hm_responder_online(r, "root"), 0);
	assert_int_equal(hm_responder_crl(r, "root", &crl, &len, &err),
	    HM_E_POLICY);
	assert_string_equal(err.msg, "CA 'root' is offline: its CRL is made "
	    "where its key is");
	HM_CHECK(hm_responder_crl(r, "mid", &crl, &len, &err), &err);
	assert_int_equal(hm_responder_crl(r, "nosuch", &crl, &len, &err),
	    HM_E_NOTFOUND);
	/* mid was issued by the offline root: unauthorized, as a stranger. */
	assert_int_equal(status_about(r, midc->x509, oroot->cert),
	    OCSP_RESPONSE_STATUS_UNAUTHORIZED);
	/* What mid issued is answered. */
	HM_CHECK(hm_ca_signer(oca, "mid", NULL, &mid, &err), &err);
	HM_CHECK(hm_key_generate(HM_KEY_P256, &k, &err), &err);
	HM_CHECK(hm_csr_new(k, "n1", NULL, &csr, &err), &err);
	memset(&req, 0, sizeof(req));
	req.profile = HM_PROFILE_CLIENT;
	req.csr = csr;
	HM_CHECK(hm_issue(mid, &req, &c, NULL, &err), &err);
	assert_int_equal(status_about(r, c->x509, midc->x509),
	    OCSP_RESPONSE_STATUS_SUCCESSFUL);
	hm_responder_free(r);
	/* With no CA's key there, nothing to serve. */
	assert_int_equal(tu_sh("rm %s/ca/mid/key.pem", tu_path("online")), 0);
	assert_int_equal(hm_responder_new(oca, NULL, NULL, &r, &err),
	    HM_E_NOTFOUND);
	assert_non_null(strstr(err.msg, "nothing to serve"));
	hm_cert_free(c);
	hm_csr_free(csr);
	hm_key_free(k);
	hm_signer_free(mid);
	hm_cert_free(midc);
	hm_signer_free(oroot);
	hm_ca_close(oca);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_revoked_unknown),
		cmocka_unit_test(test_bad_requests),
		cmocka_unit_test(test_delegated),
		cmocka_unit_test(test_store_error),
		cmocka_unit_test(test_crl_cache),
		cmocka_unit_test(test_offline_root),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
