/*
 * lib/renew.c: a valid certificate of the store renews into one with the
 * same names and profile from the same CA, for the CSR's key, and is
 * superseded in the same transaction; superseded, revoked, expired,
 * foreign, altered and non-TLS-profile certificates don't renew.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/pem.h>

#include "testutil.h"

static hm_ca		*ca;
static hm_signer	*root, *mid;
static hm_responder	*resp;

static int
setup(void **state)
{
	hm_ca_params	 p;
	hm_cert		*c = NULL;
	hm_err		 err;

	(void)state;
	tu_root_ca("ca", "Renew Root", &ca, &root);
	memset(&p, 0, sizeof(p));
	p.name = "mid";
	p.cn = "Renew Mid";
	p.pathlen = -1;
	HM_CHECK(hm_ca_new_intermediate(ca, root, &p, &c, NULL, &err),
	    &err);
	hm_cert_free(c);
	HM_CHECK(hm_ca_signer(ca, "mid", NULL, &mid, &err), &err);
	HM_CHECK(hm_responder_new(ca, NULL, NULL, &resp, &err), &err);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	hm_responder_free(resp);
	hm_signer_free(mid);
	hm_signer_free(root);
	hm_ca_close(ca);
	return 0;
}

/* A certificate of profile prof from s, and its CSR's DER for a new key. */
static hm_cert *
leaf(hm_signer *s, hm_profile_id prof, int64_t validity)
{
	hm_issue_req	 req;
	hm_names	*sans = hm_names_new();
	hm_key		*k = NULL;
	hm_csr		*csr = NULL;
	hm_cert		*c = NULL;
	hm_err		 err;

	HM_CHECK(hm_names_add(sans, "dns:a.example", &err), &err);
	HM_CHECK(hm_names_add(sans, "ip:10.1.2.3", &err), &err);
	HM_CHECK(hm_key_generate(HM_KEY_P256, &k, &err), &err);
	HM_CHECK(hm_csr_new(k, "node-a", sans, &csr, &err), &err);
	memset(&req, 0, sizeof(req));
	req.profile = prof;
	req.csr = csr;
	req.validity = validity;
	HM_CHECK(hm_issue(s, &req, &c, NULL, &err), &err);
	hm_csr_free(csr);
	hm_key_free(k);
	hm_names_free(sans);
	return c;
}

/* A CSR (PEM) for a new key, asking for nothing. */
static char *
new_csr(size_t *len)
{
	hm_key	*k = NULL;
	hm_csr	*csr = NULL;
	char	*pem = NULL;
	hm_err	 err;

	HM_CHECK(hm_key_generate(HM_KEY_ED25519, &k, &err), &err);
	HM_CHECK(hm_csr_new_any(k, NULL, NULL, &csr, &err), &err);
	HM_CHECK(hm_csr_pem(csr, &pem, len, &err), &err);
	hm_csr_free(csr);
	hm_key_free(k);
	return pem;
}

static int
renew(const hm_cert *c, char **pem, hm_err *err)
{
	const unsigned char	*der;
	size_t			 derlen, csrlen, pemlen;
	char			*csr = new_csr(&csrlen);
	int			 rc;

	der = hm_cert_der(c, &derlen);
	rc = hm_renew(resp, der, derlen, (unsigned char *)csr, csrlen, pem,
	    &pemlen, err);
	free(csr);
	return rc;
}

static void
test_renew(void **state)
{
	hm_cert		*c = leaf(mid, HM_PROFILE_BOTH, 0);
	hm_cert_info	 old, nci;
	hm_err		 err;
	char		*pem = NULL, serial[41];
	X509		*x;
	BIO		*b;

	(void)state;
	HM_CHECK(renew(c, &pem, &err), &err);
	/* The new certificate first, then mid; same names, profile, CA. */
	assert_non_null(b = BIO_new_mem_buf(pem, -1));
	assert_non_null(x = PEM_read_bio_X509(b, NULL, NULL, NULL));
	assert_int_equal(hm_x509_serial_hex(x, serial), 0);
	HM_CHECK(hm_cert_lookup(ca, serial, &nci, NULL, &err), &err);
	assert_string_equal(nci.ca, "mid");
	assert_string_equal(nci.profile, "both");
	assert_string_equal(nci.sans, "dns:a.example,ip:10.1.2.3");
	assert_string_equal(nci.subject, "CN=node-a");
	assert_string_equal(nci.status, "valid");
	X509_free(x);
	assert_non_null(x = PEM_read_bio_X509(b, NULL, NULL, NULL));
	assert_int_equal(X509_cmp(x, mid->cert), 0);
	X509_free(x);
	BIO_free(b);
	HM_CHECK(hm_cert_lookup(ca, hm_cert_serial(c), &old, NULL, &err),
	    &err);
	assert_string_equal(old.status, "superseded");
	assert_int_equal(old.revoked_at, 0);
	free(pem);
	/* Once: the superseded one renews no more. */
	assert_int_equal(renew(c, &pem, &err), HM_E_POLICY);
	assert_non_null(strstr(err.msg, "superseded"));
	hm_cert_free(c);
}

static void
test_refused(void **state)
{
	hm_cert		*c, *o;
	hm_ca		*other = NULL;
	hm_signer	*oroot = NULL;
	hm_err		 err;
	char		*pem = NULL;
	unsigned char	*der;
	size_t		 len, csrlen;
	char		*csr;

	(void)state;
	/* Revoked. */
	c = leaf(mid, HM_PROFILE_CLIENT, 0);
	HM_CHECK(hm_revoke(ca, hm_cert_serial(c), HM_REASON_KEY_COMPROMISE,
	    0, NULL, &err), &err);
	assert_int_equal(renew(c, &pem, &err), HM_E_POLICY);
	assert_non_null(strstr(err.msg, "revoked"));
	hm_cert_free(c);
	/* Another CA's. */
	tu_root_ca("other", "Other Root", &other, &oroot);
	o = leaf(oroot, HM_PROFILE_CLIENT, 0);
	assert_int_equal(renew(o, &pem, &err), HM_E_POLICY);
	assert_non_null(strstr(err.msg, "not one this CA issued"));
	hm_cert_free(o);
	hm_signer_free(oroot);
	hm_ca_close(other);
	/* Ours, altered: the store's bytes differ. */
	c = leaf(mid, HM_PROFILE_CLIENT, 0);
	{
		const unsigned char	*d = hm_cert_der(c, &len);

		assert_non_null(der = malloc(len));
		memcpy(der, d, len);
		der[len - 1] ^= 1;
		csr = new_csr(&csrlen);
		assert_int_equal(hm_renew(resp, der, len, (unsigned char *)csr,
		    csrlen, &pem, &len, &err), HM_E_POLICY);
		/* A CSR that is not one. */
		d = hm_cert_der(c, &len);
		assert_int_equal(hm_renew(resp, d, len, (unsigned char *)"x",
		    1, &pem, &len, &err), HM_E_INVALID);
		free(csr);
		free(der);
	}
	hm_cert_free(c);
	/* Expired. */
	c = leaf(mid, HM_PROFILE_CLIENT, 1);
	sleep(2);
	assert_int_equal(renew(c, &pem, &err), HM_E_POLICY);
	assert_non_null(strstr(err.msg, "expired"));
	hm_cert_free(c);
}

/*
 * Names that no longer fit: mid is re-issued with name constraints that
 * leave a.example out; a certificate issued before can't renew.
 */
static void
test_names_no_longer_fit(void **state)
{
	static const char *const permitted[] = { "dns:b.example" };
	hm_ca_params	 p;
	hm_responder	*r2 = NULL;
	hm_cert		*c = leaf(mid, HM_PROFILE_SERVER, 0), *nc = NULL;
	const unsigned char *der;
	size_t		 derlen, csrlen, pemlen;
	char		*csr, *pem = NULL;
	hm_err		 err;

	(void)state;
	memset(&p, 0, sizeof(p));
	p.name = "mid";
	p.cn = "Renew Mid";
	p.pathlen = -1;
	p.permitted = permitted;
	p.npermitted = 1;
	HM_CHECK(hm_ca_reissue(ca, root, &p, &nc, NULL, &err), &err);
	hm_cert_free(nc);
	HM_CHECK(hm_responder_new(ca, NULL, NULL, &r2, &err), &err);
	der = hm_cert_der(c, &derlen);
	csr = new_csr(&csrlen);
	assert_int_equal(hm_renew(r2, der, derlen, (unsigned char *)csr,
	    csrlen, &pem, &pemlen, &err), HM_E_POLICY);
	assert_non_null(strstr(err.msg, "a.example"));
	free(csr);
	hm_responder_free(r2);
	hm_cert_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_renew),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_names_no_longer_fit),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
