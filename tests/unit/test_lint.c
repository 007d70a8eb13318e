/*
 * lib/lint.c: each rule fires on the view that breaks it and on nothing
 * else; what hallmark issues has no finding; issuance refuses what the
 * rules refuse.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

/* A clean end-entity view: a P-256 TLS server with one SAN. */
static void
good_view(struct hm_lint_view *v, const hm_names *sans)
{
	memset(v, 0, sizeof(*v));
	v->bc_present = v->bc_critical = 1;
	v->ku_present = v->ku_critical = 1;
	v->ku = HM_KU_DIGITAL_SIGNATURE;
	v->eku_present = 1;
	v->eku = HM_EKU_SERVER;
	v->sans = sans;
	v->nsans = 1;
	v->kt = HM_KEY_P256;
	v->serial_positive = 1;
	v->serial_len = 17;
	v->not_before = 1000;
	v->not_after = 2000;
	v->issuer_known = 1;
	v->issuer_not_before = 500;
	v->issuer_not_after = 3000;
}

/* The rules on v give exactly one finding, of rule want. */
static void
one(const struct hm_lint_view *v, const char *want)
{
	char	first[HM_ERR_MSG_MAX];
	int	n;

	n = hm_lint_rules(v, NULL, NULL, first, sizeof(first));
	if (n != 1 || strncmp(first, want, strlen(want)) != 0 ||
	    first[strlen(want)] != ':')
		fail_msg("want one '%s' finding, got %d: '%s'", want, n, first);
}

static void
test_rules(void **state)
{
	struct hm_lint_view	v;
	hm_names		*sans = hm_names_new();
	hm_err			 err;
	char			 first[HM_ERR_MSG_MAX];

	(void)state;
	HM_CHECK(hm_names_add(sans, "dns:a.example", &err), &err);
	good_view(&v, sans);
	assert_int_equal(hm_lint_rules(&v, NULL, NULL, first,
	    sizeof(first)), 0);
	assert_string_equal(first, "");

	good_view(&v, sans); v.bc_present = 0; one(&v, "basic-constraints");
	good_view(&v, sans); v.bc_critical = 0; one(&v, "basic-constraints");
	good_view(&v, sans); v.ku_critical = 0; one(&v, "key-usage");
	good_view(&v, sans); v.ku |= HM_KU_KEY_CERT_SIGN; one(&v, "key-usage");
	good_view(&v, sans); v.ku |= HM_KU_KEY_ENCIPHERMENT;
	one(&v, "key-usage");
	good_view(&v, sans); v.kt = HM_KEY_ED25519; v.ku |= HM_KU_KEY_AGREEMENT;
	one(&v, "key-usage");
	good_view(&v, sans); v.eku_present = 0; v.eku = 0;
	one(&v, "ext-key-usage");
	good_view(&v, sans); v.nsans = 0; v.sans = NULL; one(&v, "san-required");
	good_view(&v, sans); v.kt = HM_KEY_NONE; one(&v, "key");
	good_view(&v, sans); v.serial_len = 8; one(&v, "serial");
	good_view(&v, sans); v.serial_len = 21; one(&v, "serial");
	good_view(&v, sans); v.serial_positive = 0; one(&v, "serial");
	good_view(&v, sans); v.not_after = 3001; one(&v, "validity");
	good_view(&v, sans); v.not_before = 499; one(&v, "validity");
	good_view(&v, sans); v.not_after = v.not_before; v.issuer_known = 0;
	one(&v, "validity");
	/* RSA servers may have keyEncipherment; a client needs no SAN. */
	good_view(&v, sans); v.kt = HM_KEY_RSA2048;
	v.ku |= HM_KU_KEY_ENCIPHERMENT;
	assert_int_equal(hm_lint_rules(&v, NULL, NULL, NULL, 0), 0);
	good_view(&v, sans); v.eku = HM_EKU_CLIENT; v.nsans = 0;
	assert_int_equal(hm_lint_rules(&v, NULL, NULL, NULL, 0), 0);
	/* A CA: keyCertSign, no EKU. */
	good_view(&v, sans); v.is_ca = 1; v.eku_present = 0; v.eku = 0;
	v.ku = HM_KU_DIGITAL_SIGNATURE | HM_KU_KEY_CERT_SIGN | HM_KU_CRL_SIGN;
	assert_int_equal(hm_lint_rules(&v, NULL, NULL, NULL, 0), 0);
	v.ku = HM_KU_DIGITAL_SIGNATURE; one(&v, "key-usage");
	v.ku |= HM_KU_KEY_CERT_SIGN; v.eku_present = 1; one(&v, "ext-key-usage");
	hm_names_free(sans);
}

static int
count(const char *rule, const char *msg, void *arg)
{
	(void)rule;
	(void)msg;
	(*(int *)arg)++;
	return 0;
}

/* What hallmark issues lints clean; a custom profile the rules refuse is
 * refused before signing. */
static void
test_issued_is_clean(void **state)
{
	hm_profile_def	 def = { "agree", HM_KU_KEY_AGREEMENT, HM_EKU_CLIENT,
	    0, 0, 0 };
	hm_issue_req	 req;
	hm_ca		*ca = NULL;
	hm_signer	*s = NULL;
	hm_key		*k = NULL;
	hm_csr		*csr = NULL;
	hm_cert		*c = NULL;
	hm_names	*sans = hm_names_new();
	const unsigned char *der;
	size_t		 len;
	hm_err		 err;
	int		 n = -1, calls = 0;

	(void)state;
	tu_root_ca("ca", "Lint Root", &ca, &s);
	HM_CHECK(hm_names_add(sans, "dns:lint.example", &err), &err);
	HM_CHECK(hm_key_generate(HM_KEY_ED25519, &k, &err), &err);
	HM_CHECK(hm_csr_new(k, "lint", sans, &csr, &err), &err);
	memset(&req, 0, sizeof(req));
	req.profile = HM_PROFILE_BOTH;
	req.csr = csr;
	HM_CHECK(hm_issue(s, &req, &c, NULL, &err), &err);
	der = hm_cert_der(c, &len);
	HM_CHECK(hm_lint(ca, der, len, count, &calls, &n, &err), &err);
	assert_int_equal(n, 0);
	assert_int_equal(calls, 0);
	assert_int_equal(tu_verify(s, c, "sslserver"), 0);
	hm_cert_free(c);
	/* keyAgreement with an Ed25519 key: refused before signing. */
	req.profile = HM_PROFILE_CUSTOM;
	req.custom = &def;
	assert_int_equal(hm_issue(s, &req, &c, NULL, &err), HM_E_POLICY);
	assert_non_null(strstr(err.msg, "refused before signing: key-usage"));
	/* Garbage is an error, not a finding. */
	assert_int_equal(hm_lint(ca, (const unsigned char *)"junk", 4, count,
	    &calls, &n, &err), HM_E_INVALID);
	hm_csr_free(csr);
	hm_key_free(k);
	hm_names_free(sans);
	hm_signer_free(s);
	hm_ca_close(ca);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rules),
		cmocka_unit_test(test_issued_is_clean),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
