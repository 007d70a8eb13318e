/*
 * lib/crl.c: revocation in the store and CRLs that say it: numbers that
 * grow, entries with dates and reasons, signatures that verify, for EC
 * and Ed25519 CAs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "testutil.h"

static hm_cert *
leaf(hm_signer *s, const char *cn)
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
	HM_CHECK(hm_issue(s, &req, &c, NULL, &err), &err);
	hm_csr_free(csr);
	hm_key_free(k);
	return c;
}

static X509_CRL *
crl_of(hm_signer *s, int64_t next)
{
	unsigned char		*der = NULL;
	const unsigned char	*p;
	size_t			 len;
	X509_CRL		*crl;
	hm_err			 err;

	HM_CHECK(hm_crl_build(s, next, 0, &der, &len, &err), &err);
	p = der;
	crl = d2i_X509_CRL(NULL, &p, (long)len);
	assert_non_null(crl);
	assert_ptr_equal(p, der + len);
	free(der);
	assert_int_equal(X509_CRL_verify(crl, X509_get0_pubkey(s->cert)), 1);
	return crl;
}

static long
crl_number(X509_CRL *crl)
{
	ASN1_INTEGER	*n;
	long		 v;

	n = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
	assert_non_null(n);
	v = ASN1_INTEGER_get(n);
	ASN1_INTEGER_free(n);
	return v;
}

static void
test_reasons(void **state)
{
	hm_err	err;
	int	r = -1;

	(void)state;
	HM_CHECK(hm_reason_parse("keyCompromise", &r, &err), &err);
	assert_int_equal(r, HM_REASON_KEY_COMPROMISE);
	HM_CHECK(hm_reason_parse("SUPERSEDED", &r, &err), &err);
	assert_int_equal(r, HM_REASON_SUPERSEDED);
	assert_string_equal(hm_reason_name(HM_REASON_CESSATION),
	    "cessationOfOperation");
	r = 77;
	assert_int_equal(hm_reason_parse("certificateHold", &r, &err),
	    HM_E_INVALID);
	assert_int_equal(hm_reason_parse(NULL, &r, &err), HM_E_INVALID);
	assert_int_equal(r, 77);
	assert_string_equal(hm_reason_name(6), "unknown");
}

static void
crl_for(hm_keytype kt)
{
	hm_ca_params		 p;
	hm_ca			*ca;
	hm_signer		*s;
	hm_cert			*a, *b;
	hm_cert_info		 ci;
	X509_CRL		*crl;
	X509_REVOKED		*rv;
	ASN1_ENUMERATED		*reason;
	hm_err			 err;
	char			 dir[64];
	int			 flags = -1;

	snprintf(dir, sizeof(dir), "ca-%s", hm_keytype_name(kt));
	memset(&p, 0, sizeof(p));
	p.cn = "CRL Root";
	p.key_type = kt;
	p.pathlen = -1;
	HM_CHECK(hm_ca_init(tu_path(dir), &p, &ca, &err), &err);
	HM_CHECK(hm_ca_signer(ca, NULL, NULL, &s, &err), &err);
	a = leaf(s, "a");
	b = leaf(s, "b");

	/* Empty at first; numbers 1, 2. */
	crl = crl_of(s, 0);
	assert_int_equal(crl_number(crl), 1);
	/* No entries: the optional list is left out altogether. */
	assert_null(X509_CRL_get_REVOKED(crl));
	assert_int_equal(X509_CRL_get_version(crl), X509_CRL_VERSION_2);
	assert_true(ASN1_TIME_diff(&flags, NULL, X509_CRL_get0_lastUpdate(crl),
	    X509_CRL_get0_nextUpdate(crl)));
	assert_int_equal(flags, 7);	/* days */
	X509_CRL_free(crl);

	HM_CHECK(hm_revoke(ca, hm_cert_serial(a), HM_REASON_KEY_COMPROMISE,
	    1000000000, &flags, &err), &err);
	assert_int_equal(flags, 0);
	HM_CHECK(hm_revoke(ca, hm_cert_serial(a), HM_REASON_SUPERSEDED, 0,
	    &flags, &err), &err);
	assert_int_equal(flags, HM_REVOKED_ALREADY);
	HM_CHECK(hm_cert_lookup(ca, hm_cert_serial(a), &ci, NULL, &err), &err);
	assert_string_equal(ci.status, "revoked");
	assert_int_equal(ci.revoked_at, 1000000000);
	assert_int_equal(ci.reason, HM_REASON_KEY_COMPROMISE);
	HM_CHECK(hm_revoke(ca, hm_cert_serial(b), HM_REASON_UNSPECIFIED, 0,
	    NULL, &err), &err);
	assert_int_equal(hm_revoke(ca, "00ff", HM_REASON_UNSPECIFIED, 0, NULL,
	    &err), HM_E_NOTFOUND);
	assert_int_equal(hm_revoke(ca, "zz", HM_REASON_UNSPECIFIED, 0, NULL,
	    &err), HM_E_INVALID);
	assert_int_equal(hm_revoke(ca, hm_cert_serial(b), 6, 0, NULL, &err),
	    HM_E_INVALID);

	crl = crl_of(s, 3600);
	assert_int_equal(crl_number(crl), 2);
	assert_int_equal(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), 2);
	assert_int_equal(X509_CRL_get0_by_cert(crl, &rv, a->x509), 1);
	reason = X509_REVOKED_get_ext_d2i(rv, NID_crl_reason, NULL, NULL);
	assert_non_null(reason);
	assert_int_equal(ASN1_ENUMERATED_get(reason),
	    HM_REASON_KEY_COMPROMISE);
	ASN1_ENUMERATED_free(reason);
	assert_int_equal(ASN1_TIME_cmp_time_t(X509_REVOKED_get0_revocationDate(
	    rv), 1000000000), 0);
	/* "unspecified" is left out (RFC 5280 5.3.1). */
	assert_int_equal(X509_CRL_get0_by_cert(crl, &rv, b->x509), 1);
	assert_null(X509_REVOKED_get_ext_d2i(rv, NID_crl_reason, NULL, NULL));
	assert_true(X509_CRL_get_ext_by_NID(crl, NID_authority_key_identifier,
	    -1) >= 0);
	X509_CRL_free(crl);

	hm_cert_free(a);
	hm_cert_free(b);
	hm_signer_free(s);
	hm_ca_close(ca);
}

static void
test_crl_p256(void **state)
{
	(void)state;
	crl_for(HM_KEY_P256);
}

static void
test_crl_ed25519(void **state)
{
	(void)state;
	crl_for(HM_KEY_ED25519);
}

/*
 * A CRL large enough to be built on two threads: every entry there once,
 * in the store's order, with its reason; the signature verifies.
 */
static void
test_large_crl(void **state)
{
	hm_ca_params		 p;
	hm_ca			*ca;
	hm_signer		*s;
	sqlite3			*db;
	sqlite3_stmt		*st;
	X509_CRL		*crl;
	STACK_OF(X509_REVOKED)	*rv;
	const ASN1_INTEGER	*sn;
	ASN1_ENUMERATED		*why;
	char			 serial[41];
	hm_err			 err;
	long			 i, n = 25001;

	(void)state;
	memset(&p, 0, sizeof(p));
	p.cn = "Large CRL Root";
	p.pathlen = -1;
	HM_CHECK(hm_ca_init(tu_path("large"), &p, &ca, &err), &err);
	HM_CHECK(hm_ca_signer(ca, NULL, NULL, &s, &err), &err);
	assert_int_equal(sqlite3_open(tu_path("large/hallmark.db"), &db),
	    SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO certs (serial, "
	    "ca, subject, issuer, sans, not_before, not_after, profile, "
	    "status, spki_sha256, issued_at, der, revoked_at, reason) VALUES "
	    "(?, 'root', 'CN=x', 'CN=r', '', 0, 2000000000, 'client', "
	    "'revoked', '', 0, x'00', ?, ?)", -1, &st, NULL), SQLITE_OK);
	for (i = 0; i < n; i++) {
		/* 17 bytes, top bits 01, as hallmark issues; in order. */
		snprintf(serial, sizeof(serial), "40%032lx", i + 1);
		sqlite3_bind_text(st, 1, serial, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 2, 1700000000 + i / 3);
		sqlite3_bind_int(st, 3, i % 2 ? HM_REASON_KEY_COMPROMISE :
		    HM_REASON_UNSPECIFIED);
		assert_int_equal(sqlite3_step(st), SQLITE_DONE);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);

	crl = crl_of(s, 0);
	rv = X509_CRL_get_REVOKED(crl);
	assert_int_equal(sk_X509_REVOKED_num(rv), n);
	for (i = 0; i < n; i += 997) {
		sn = X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(rv,
		    (int)i));
		assert_int_equal(ASN1_STRING_length(sn), 17);
		assert_int_equal(ASN1_STRING_get0_data(sn)[16],
		    (unsigned char)((i + 1) & 0xff));
		assert_int_equal(ASN1_TIME_cmp_time_t(
		    X509_REVOKED_get0_revocationDate(sk_X509_REVOKED_value(rv,
		    (int)i)), 1700000000 + i / 3), 0);
		why = X509_REVOKED_get_ext_d2i(sk_X509_REVOKED_value(rv,
		    (int)i), NID_crl_reason, NULL, NULL);
		if (i % 2) {
			assert_non_null(why);
			assert_int_equal(ASN1_ENUMERATED_get(why),
			    HM_REASON_KEY_COMPROMISE);
		} else
			assert_null(why);
		ASN1_ENUMERATED_free(why);
	}
	X509_CRL_free(crl);
	hm_signer_free(s);
	hm_ca_close(ca);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reasons),
		cmocka_unit_test(test_crl_p256),
		cmocka_unit_test(test_crl_ed25519),
		cmocka_unit_test(test_large_crl),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
