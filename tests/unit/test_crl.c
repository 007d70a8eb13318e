/*
 * lib/crl.c: revocation in the store and CRLs that say it: numbers that
 * grow, entries with dates and reasons, signatures that verify, for CAs
 * of every key type; the DER is what OpenSSL's own encoder makes of the
 * CRL it decodes, to the byte.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
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

/*
 * der is DER as OpenSSL writes it: the to-be-signed part that was signed,
 * and the whole, are what its encoder makes of what d2i_X509_CRL read.
 */
static void
check_der(X509_CRL *crl, const unsigned char *der, size_t len)
{
	const unsigned char	*p = der, *tbs;
	unsigned char		*re = NULL;
	long			 n;
	int			 tag, cls;

	assert_int_equal(ASN1_get_object(&p, &n, &tag, &cls, (long)len),
	    V_ASN1_CONSTRUCTED);
	tbs = p;
	assert_int_equal(ASN1_get_object(&p, &n, &tag, &cls, n),
	    V_ASN1_CONSTRUCTED);
	n += p - tbs;
	assert_int_equal(i2d_re_X509_CRL_tbs(crl, &re), n);
	assert_memory_equal(re, tbs, (size_t)n);
	OPENSSL_free(re);
	re = NULL;
	assert_int_equal(i2d_X509_CRL(crl, &re), (int)len);
	assert_memory_equal(re, der, len);
	OPENSSL_free(re);
}

/*
 * The signature algorithm is the one X509_CRL_sign_ctx states for the
 * CA's key, and the signature a BIT STRING with no unused bits.
 */
static void
check_sigalg(hm_signer *s, X509_CRL *crl)
{
	X509_CRL		*ref;
	ASN1_TIME		*t;
	EVP_MD_CTX		*ctx = NULL;
	const X509_ALGOR	*alg, *ref_alg;
	const ASN1_BIT_STRING	*sig;
	hm_err			 err;

	HM_CHECK(hm_sign_ctx_copy(s->sign_tmpl, s->pkey, &ctx, &err), &err);
	assert_non_null(ref = X509_CRL_new());
	assert_non_null(t = ASN1_TIME_set(NULL, 1000000000));
	assert_true(X509_CRL_set_issuer_name(ref,
	    X509_get_subject_name(s->cert)));
	assert_true(X509_CRL_set1_lastUpdate(ref, t));
	assert_true(X509_CRL_sign_ctx(ref, ctx) > 0);
	X509_CRL_get0_signature(ref, NULL, &ref_alg);
	X509_CRL_get0_signature(crl, &sig, &alg);
	assert_int_equal(X509_ALGOR_cmp(alg, ref_alg), 0);
	assert_int_equal(X509_CRL_get_signature_nid(crl),
	    X509_CRL_get_signature_nid(ref));
	assert_true(sig->flags & ASN1_STRING_FLAG_BITS_LEFT);
	assert_int_equal(sig->flags & 0x07, 0);
	ASN1_TIME_free(t);
	EVP_MD_CTX_free(ctx);
	X509_CRL_free(ref);
}

/* A CRL of s, parsed; its signature, issuer, AKI and DER checked. */
static X509_CRL *
crl_of(hm_signer *s, int64_t next)
{
	unsigned char		*der = NULL;
	const unsigned char	*p;
	size_t			 len;
	X509_CRL		*crl;
	AUTHORITY_KEYID		*aki;
	hm_err			 err;

	HM_CHECK(hm_crl_build(s, next, 0, &der, &len, &err), &err);
	p = der;
	crl = d2i_X509_CRL(NULL, &p, (long)len);
	assert_non_null(crl);
	assert_ptr_equal(p, der + len);
	assert_int_equal(X509_CRL_verify(crl, X509_get0_pubkey(s->cert)), 1);
	assert_int_equal(X509_CRL_get_version(crl), X509_CRL_VERSION_2);
	assert_int_equal(X509_NAME_cmp(X509_CRL_get_issuer(crl),
	    X509_get_subject_name(s->cert)), 0);
	aki = X509_CRL_get_ext_d2i(crl, NID_authority_key_identifier, NULL,
	    NULL);
	assert_non_null(aki);
	assert_non_null(aki->keyid);
	assert_null(aki->issuer);
	assert_null(aki->serial);
	assert_int_equal(ASN1_OCTET_STRING_cmp(aki->keyid,
	    X509_get0_subject_key_id(s->cert)), 0);
	AUTHORITY_KEYID_free(aki);
	check_sigalg(s, crl);
	check_der(crl, der, len);
	free(der);
	return crl;
}

/* The same CRL as PEM parses and verifies. */
static void
check_pem(hm_signer *s)
{
	unsigned char	*pem = NULL;
	size_t		 len;
	BIO		*b;
	X509_CRL	*crl;
	hm_err		 err;

	HM_CHECK(hm_crl_build(s, 0, 1, &pem, &len, &err), &err);
	assert_true(len > 30 && memcmp(pem, "-----BEGIN X509 CRL-----\n",
	    25) == 0);
	assert_non_null(b = BIO_new_mem_buf(pem, (int)len));
	assert_non_null(crl = PEM_read_bio_X509_CRL(b, NULL, NULL, NULL));
	assert_int_equal(X509_CRL_verify(crl, X509_get0_pubkey(s->cert)), 1);
	X509_CRL_free(crl);
	BIO_free(b);
	free(pem);
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
	int			 flags = -1, secs = -1;

	snprintf(dir, sizeof(dir), "ca-%s", hm_keytype_name(kt));
	memset(&p, 0, sizeof(p));
	p.cn = "CRL Root";
	p.key_type = kt;
	p.pathlen = -1;
	HM_CHECK(hm_ca_init(tu_path(dir), &p, &ca, &err), &err);
	HM_CHECK(hm_ca_signer(ca, NULL, NULL, &s, &err), &err);
	a = leaf(s, "a");
	b = leaf(s, "b");

	/* Empty at first; numbers 1, 2, 3. */
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

	/* One entry. */
	crl = crl_of(s, 3600);
	assert_int_equal(crl_number(crl), 2);
	assert_int_equal(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), 1);
	assert_int_equal(X509_CRL_get0_by_cert(crl, &rv, a->x509), 1);
	assert_int_equal(X509_CRL_get0_by_cert(crl, &rv, b->x509), 0);
	X509_CRL_free(crl);

	HM_CHECK(hm_revoke(ca, hm_cert_serial(b), HM_REASON_UNSPECIFIED, 0,
	    NULL, &err), &err);
	assert_int_equal(hm_revoke(ca, "00ff", HM_REASON_UNSPECIFIED, 0, NULL,
	    &err), HM_E_NOTFOUND);
	assert_int_equal(hm_revoke(ca, "zz", HM_REASON_UNSPECIFIED, 0, NULL,
	    &err), HM_E_INVALID);
	assert_int_equal(hm_revoke(ca, hm_cert_serial(b), 6, 0, NULL, &err),
	    HM_E_INVALID);

	/* Two: one with a reason, one without. */
	crl = crl_of(s, 3600);
	assert_int_equal(crl_number(crl), 3);
	assert_int_equal(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), 2);
	assert_true(ASN1_TIME_diff(&flags, &secs,
	    X509_CRL_get0_lastUpdate(crl), X509_CRL_get0_nextUpdate(crl)));
	assert_int_equal(flags * 86400 + secs, 3600);
	assert_int_equal(X509_CRL_get0_by_cert(crl, &rv, a->x509), 1);
	assert_int_equal(ASN1_INTEGER_cmp(X509_REVOKED_get0_serialNumber(rv),
	    X509_get0_serialNumber(a->x509)), 0);
	reason = X509_REVOKED_get_ext_d2i(rv, NID_crl_reason, NULL, NULL);
	assert_non_null(reason);
	assert_int_equal(ASN1_ENUMERATED_get(reason),
	    HM_REASON_KEY_COMPROMISE);
	ASN1_ENUMERATED_free(reason);
	assert_int_equal(X509_REVOKED_get_ext_count(rv), 1);
	assert_int_equal(ASN1_TIME_cmp_time_t(X509_REVOKED_get0_revocationDate(
	    rv), 1000000000), 0);
	/* "unspecified" is left out (RFC 5280 5.3.1). */
	assert_int_equal(X509_CRL_get0_by_cert(crl, &rv, b->x509), 1);
	assert_null(X509_REVOKED_get_ext_d2i(rv, NID_crl_reason, NULL, NULL));
	assert_int_equal(X509_REVOKED_get_ext_count(rv), 0);
	assert_int_equal(X509_CRL_get_ext_count(crl), 2);
	X509_CRL_free(crl);
	check_pem(s);

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
test_crl_p384(void **state)
{
	(void)state;
	crl_for(HM_KEY_P384);
}

static void
test_crl_ed25519(void **state)
{
	(void)state;
	crl_for(HM_KEY_ED25519);
}

static void
test_crl_rsa(void **state)
{
	(void)state;
	crl_for(HM_KEY_RSA2048);
}

/*
 * n revoked rows of CA "root" straight into the store at dir: serials
 * 40 00..01 to 40 00..n (17 bytes, top bits 01, as hallmark issues), in
 * order; the i-th revoked at when(i) for why(i).
 */
static void
add_revoked(const char *dir, long n, time_t (*when)(long), int (*why)(long))
{
	sqlite3		*db;
	sqlite3_stmt	*st;
	char		 path[512], serial[41];
	long		 i;

	snprintf(path, sizeof(path), "%s/hallmark.db", dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO certs (serial, "
	    "ca, subject, issuer, sans, not_before, not_after, profile, "
	    "status, spki_sha256, issued_at, der, revoked_at, reason) VALUES "
	    "(?, 'root', 'CN=x', 'CN=r', '', 0, 2000000000, 'client', "
	    "'revoked', '', 0, x'00', ?, ?)", -1, &st, NULL), SQLITE_OK);
	for (i = 0; i < n; i++) {
		snprintf(serial, sizeof(serial), "40%032lx", i + 1);
		sqlite3_bind_text(st, 1, serial, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 2, when(i));
		sqlite3_bind_int(st, 3, why(i));
		assert_int_equal(sqlite3_step(st), SQLITE_DONE);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
}

/* The i-th entry of crl is serial 40 00..i+1, when, why. */
static void
check_entry(X509_CRL *crl, long i, time_t when, int why)
{
	X509_REVOKED		*rv;
	const ASN1_INTEGER	*sn;
	ASN1_ENUMERATED		*e;
	ASN1_TIME		*t;
	char			 hex[41], want[41];

	rv = sk_X509_REVOKED_value(X509_CRL_get_REVOKED(crl), (int)i);
	assert_non_null(rv);
	sn = X509_REVOKED_get0_serialNumber(rv);
	assert_int_equal(ASN1_STRING_type(sn), V_ASN1_INTEGER);
	assert_int_equal(ASN1_STRING_length(sn), 17);
	assert_int_equal(hm_hex(ASN1_STRING_get0_data(sn), 17, hex,
	    sizeof(hex)), 0);
	snprintf(want, sizeof(want), "40%032lx", i + 1);
	assert_string_equal(hex, want);
	/* The date as ASN1_TIME_set writes it: same type, same string. */
	assert_non_null(t = ASN1_TIME_set(NULL, when));
	if (ASN1_STRING_cmp(X509_REVOKED_get0_revocationDate(rv), t) != 0)
		fail_msg("entry %ld: date %.*s, want %.*s", i,
		    ASN1_STRING_length(X509_REVOKED_get0_revocationDate(rv)),
		    ASN1_STRING_get0_data(X509_REVOKED_get0_revocationDate(
		    rv)), ASN1_STRING_length(t), ASN1_STRING_get0_data(t));
	ASN1_TIME_free(t);
	e = X509_REVOKED_get_ext_d2i(rv, NID_crl_reason, NULL, NULL);
	if (why == HM_REASON_UNSPECIFIED) {
		assert_null(e);
		assert_int_equal(X509_REVOKED_get_ext_count(rv), 0);
	} else {
		assert_non_null(e);
		assert_int_equal(ASN1_ENUMERATED_get(e), why);
		assert_int_equal(X509_REVOKED_get_ext_count(rv), 1);
	}
	ASN1_ENUMERATED_free(e);
}

static time_t
large_when(long i)
{
	return 1700000000 + i / 3;
}

static int
large_why(long i)
{
	return i % 2 ? HM_REASON_KEY_COMPROMISE : HM_REASON_UNSPECIFIED;
}

/*
 * A CRL large enough to be built on two threads: every entry there once,
 * in the store's order, with its reason; the signature verifies.
 */
static void
test_large_crl(void **state)
{
	hm_ca		*ca;
	hm_signer	*s;
	X509_CRL	*crl;
	long		 i, n = 25001;

	(void)state;
	tu_root_ca("large", "Large CRL Root", &ca, &s);
	add_revoked(tu_path("large"), n, large_when, large_why);
	crl = crl_of(s, 0);
	assert_int_equal(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), n);
	for (i = 0; i < n; i++)
		check_entry(crl, i, large_when(i), large_why(i));
	X509_CRL_free(crl);
	hm_signer_free(s);
	hm_ca_close(ca);
}

/*
 * Dates at the edges: midnight and the second before, a leap day, before
 * 1970, UTCTime through 2049 and GeneralizedTime before 1950 and from
 * 2050; then thousands of days in no order, as serials order them, some
 * entries sharing a time.
 */
static const time_t edges[] = {
	0, 59, 60, 3599, 3600, 86399, 86400, -1, -86400, -86401,
	-631152001, -631152000, 951782400, 951868799, 951868800,
	1700006399, 1700006400, 2524607999, 2524608000, 2524608001,
	4102444799, 4102444800,
};
#define NEDGES	((long)(sizeof(edges) / sizeof(edges[0])))

static time_t
dates_when(long i)
{
	if (i < NEDGES)
		return edges[i];
	i -= NEDGES;
	/* Pairs share a time; days 0 to 4999 after 2023-11-14, shuffled. */
	i /= 2;
	return 1699920000 + (i * 7919 % 5000) * 86400 + i * 3571 % 86400;
}

static int
dates_why(long i)
{
	return i % 11;
}

static void
test_crl_dates(void **state)
{
	hm_ca		*ca;
	hm_signer	*s;
	X509_CRL	*crl;
	long		 i, n = NEDGES + 6000;

	(void)state;
	tu_root_ca("dates", "Dates CRL Root", &ca, &s);
	add_revoked(tu_path("dates"), n, dates_when, dates_why);
	crl = crl_of(s, 0);
	assert_int_equal(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), n);
	for (i = 0; i < n; i++)
		check_entry(crl, i, dates_when(i), dates_why(i));
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
		cmocka_unit_test(test_crl_p384),
		cmocka_unit_test(test_crl_ed25519),
		cmocka_unit_test(test_crl_rsa),
		cmocka_unit_test(test_large_crl),
		cmocka_unit_test(test_crl_dates),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
