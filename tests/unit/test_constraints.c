/*
 * lib/constraints.c, and what goes with it at issuance: name constraints
 * on intermediates (built, put in the certificate, enforced before
 * signing the way `openssl verify` enforces them), full subjects, custom
 * profiles, and re-issuing an intermediate with its key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static hm_ca		*ca;
static hm_signer	*root, *edge;
static hm_key		*eckey;

static const char *const permitted[] = { "dns:example.com", "ip:10.0.0.0/8" };
static const char *const excluded[] = { "dns:bad.example.com" };

static int
setup(void **state)
{
	hm_ca_params	 p;
	hm_cert		*c = NULL;
	hm_err		 err;

	(void)state;
	tu_root_ca("ca", "NC Root", &ca, &root);
	memset(&p, 0, sizeof(p));
	p.name = "edge";
	p.cn = "NC Edge";
	p.pathlen = 0;
	p.permitted = permitted;
	p.npermitted = 2;
	p.excluded = excluded;
	p.nexcluded = 1;
	HM_CHECK(hm_ca_new_intermediate(ca, root, &p, &c, NULL, &err), &err);
	hm_cert_free(c);
	HM_CHECK(hm_ca_signer(ca, "edge", NULL, &edge, &err), &err);
	HM_CHECK(hm_key_generate(HM_KEY_P256, &eckey, &err), &err);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	hm_key_free(eckey);
	hm_signer_free(edge);
	hm_signer_free(root);
	hm_ca_close(ca);
	return 0;
}

static void
test_syntax(void **state)
{
	static const char *const good[] = {
		"dns:example.com", "DNS:Example.COM", "ip:10.0.0.0/8",
		"ip:192.0.2.7/32", "ip:0.0.0.0/0", "ip:fd00::/8",
		"ip:2001:db8::/32",
	};
	static const char *const bad[] = {
		"dns:*.example.com", "dns:.example.com", "dns:", "dns:a b",
		"ip:10.0.0.1/8", "ip:10.0.0.0", "ip:10.0.0.0/33", "ip:10.0.0.0/",
		"ip:10.0.0.0/-1", "ip:10.0.0.0/8x", "ip:fd00::/129",
		"ip:nonsense/8", "email:example.com", "uri:x", "example.com", "",
	};
	hm_err	err;
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		HM_CHECK(hm_constraint_check(good[i], &err), &err);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err.msg[0] = '\0';
		if (hm_constraint_check(bad[i], &err) != HM_E_INVALID)
			fail_msg("constraint '%s' accepted", bad[i]);
		assert_true(strlen(err.msg) > 0);
	}
}

/* Issue a server (or client) certificate under edge for the names. */
static int
issue(hm_profile_id prof, const char *cn, const char *a, const char *b,
    hm_cert **out, hm_err *err)
{
	hm_issue_req	 req;
	hm_names	*n = hm_names_new();
	hm_csr		*csr = NULL;
	int		 rc;

	assert_non_null(n);
	if (a != NULL)
		HM_CHECK(hm_names_add(n, a, err), err);
	if (b != NULL)
		HM_CHECK(hm_names_add(n, b, err), err);
	HM_CHECK(hm_csr_new(eckey, cn, n, &csr, err), err);
	memset(&req, 0, sizeof(req));
	req.profile = prof;
	req.csr = csr;
	rc = hm_issue(edge, &req, out, NULL, err);
	hm_csr_free(csr);
	hm_names_free(n);
	return rc;
}

static void
test_in_the_certificate(void **state)
{
	X509			*x;
	NAME_CONSTRAINTS	*nc;
	int			 crit;

	(void)state;
	x = edge->cert;
	nc = X509_get_ext_d2i(x, NID_name_constraints, &crit, NULL);
	assert_non_null(nc);
	assert_int_equal(crit, 1);
	assert_int_equal(sk_GENERAL_SUBTREE_num(nc->permittedSubtrees), 2);
	assert_int_equal(sk_GENERAL_SUBTREE_num(nc->excludedSubtrees), 1);
	NAME_CONSTRAINTS_free(nc);
}

static void
test_inside_is_issued(void **state)
{
	hm_cert	*c = NULL;
	hm_err	 err;

	(void)state;
	HM_CHECK(issue(HM_PROFILE_SERVER, "web", "dns:web.example.com",
	    "ip:10.1.2.3", &c, &err), &err);
	assert_int_equal(tu_verify(edge, c, "sslserver"), 0);
	hm_cert_free(c);
	/* The domain itself, and a client with a host-like CN inside. */
	HM_CHECK(issue(HM_PROFILE_SERVER, "apex", "dns:example.com", NULL, &c,
	    &err), &err);
	assert_int_equal(tu_verify(edge, c, "sslserver"), 0);
	hm_cert_free(c);
	HM_CHECK(issue(HM_PROFILE_CLIENT, "robot.example.com", NULL, NULL, &c,
	    &err), &err);
	assert_int_equal(tu_verify(edge, c, "sslclient"), 0);
	hm_cert_free(c);
	/* A CN that is no host name is not a DNS name to constrain. */
	HM_CHECK(issue(HM_PROFILE_CLIENT, "robot 7", NULL, NULL, &c, &err),
	    &err);
	assert_int_equal(tu_verify(edge, c, "sslclient"), 0);
	hm_cert_free(c);
}

static void
refused(hm_profile_id prof, const char *cn, const char *a, const char *b,
    const char *want)
{
	hm_cert	*c = NULL;
	hm_err	 err;
	int	 rc;

	err.msg[0] = '\0';
	rc = issue(prof, cn, a, b, &c, &err);
	if (rc == HM_OK) {
		hm_cert_free(c);
		fail_msg("issued: %s %s %s", cn, a ? a : "", b ? b : "");
	}
	assert_int_equal(rc, HM_E_POLICY);
	if (strstr(err.msg, want) == NULL)
		fail_msg("message '%s' lacks '%s'", err.msg, want);
}

static void
test_outside_is_refused(void **state)
{
	(void)state;
	refused(HM_PROFILE_SERVER, "web", "dns:web.example.net", NULL,
	    "dns:web.example.net is outside the names it permits");
	refused(HM_PROFILE_SERVER, "web", "dns:web.example.com",
	    "dns:notexample.com", "dns:notexample.com");
	refused(HM_PROFILE_SERVER, "web", "ip:192.0.2.1", NULL,
	    "ip:192.0.2.1 is outside");
	refused(HM_PROFILE_SERVER, "web", "dns:x.bad.example.com", NULL,
	    "is among the names it excludes");
	/* A host-like CN is checked as OpenSSL's verifier checks it. */
	refused(HM_PROFILE_CLIENT, "robot.example.net", NULL, NULL,
	    "common name 'robot.example.net'");
}

static void
test_subject_fields(void **state)
{
	static const hm_subject	 full = { "DE", "Berlin", "Berlin",
	    "Example GmbH", "Robots", "arm-1" };
	hm_subject		 s = full;
	hm_issue_req		 req;
	hm_csr			*csr = NULL;
	hm_cert			*c = NULL;
	hm_names		*n = hm_names_new();
	hm_err			 err;
	char			 buf[256];

	(void)state;
	HM_CHECK(hm_names_add(n, "dns:arm-1.example.com", &err), &err);
	HM_CHECK(hm_csr_new(eckey, "ignored", n, &csr, &err), &err);
	memset(&req, 0, sizeof(req));
	req.profile = HM_PROFILE_BOTH;
	req.csr = csr;
	req.subject = &s;
	HM_CHECK(hm_issue(edge, &req, &c, NULL, &err), &err);
	hm_cert_subject(c, buf, sizeof(buf));
	assert_string_equal(buf, "CN=arm-1,OU=Robots,O=Example GmbH,L=Berlin,"
	    "ST=Berlin,C=DE");
	assert_int_equal(tu_verify(edge, c, "sslserver"), 0);
	hm_cert_free(c);
	/* Bad fields are refused with what is wrong. */
	s.c = "de";
	assert_int_equal(hm_issue(edge, &req, &c, NULL, &err), HM_E_INVALID);
	assert_non_null(strstr(err.msg, "country"));
	s.c = "DEU";
	assert_int_equal(hm_issue(edge, &req, &c, NULL, &err), HM_E_INVALID);
	s = full;
	s.ou = "";
	assert_int_equal(hm_issue(edge, &req, &c, NULL, &err), HM_E_INVALID);
	assert_non_null(strstr(err.msg, "organizational unit"));
	s = full;
	s.o = "tab\there";
	assert_int_equal(hm_issue(edge, &req, &c, NULL, &err), HM_E_INVALID);
	hm_csr_free(csr);
	hm_names_free(n);
}

static void
test_custom_profile(void **state)
{
	hm_profile_def		 def = { "signer", HM_KU_DIGITAL_SIGNATURE,
	    HM_EKU_CODE_SIGNING | HM_EKU_CLIENT, 30 * 86400, 0, 0 };
	hm_issue_req		 req;
	hm_cert_info		 ci;
	hm_csr			*csr = NULL;
	hm_cert			*c = NULL, *got = NULL;
	hm_err			 err;
	X509			*x;
	time_t			 life;

	(void)state;
	HM_CHECK(hm_csr_new(eckey, "builder", NULL, &csr, &err), &err);
	memset(&req, 0, sizeof(req));
	req.profile = HM_PROFILE_CUSTOM;
	req.custom = &def;
	req.csr = csr;
	HM_CHECK(hm_issue(edge, &req, &c, NULL, &err), &err);
	x = tu_x509(c);
	assert_int_equal(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE);
	assert_int_equal(X509_get_extended_key_usage(x),
	    XKU_CODE_SIGN | XKU_SSL_CLIENT);
	assert_int_equal(X509_check_ca(x), 0);
	life = hm_cert_not_after(c) - time(NULL);
	assert_true(life > 29 * 86400 && life <= 30 * 86400);
	X509_free(x);
	assert_int_equal(tu_verify(edge, c, "sslclient"), 0);
	assert_int_not_equal(tu_verify(edge, c, "sslserver"), 0);
	HM_CHECK(hm_cert_lookup(ca, hm_cert_serial(c), &ci, &got, &err),
	    &err);
	assert_string_equal(ci.profile, "signer");
	hm_cert_free(got);
	hm_cert_free(c);
	/* Rules of a custom profile. */
	def.key_usage |= HM_KU_KEY_CERT_SIGN;
	assert_int_equal(hm_issue(edge, &req, &c, NULL, &err), HM_E_POLICY);
	def.key_usage = 0;
	def.eku = 0;
	assert_int_equal(hm_issue(edge, &req, &c, NULL, &err), HM_E_POLICY);
	def.eku = HM_EKU_SERVER;	/* a server profile needs a SAN */
	assert_int_equal(hm_issue(edge, &req, &c, NULL, &err), HM_E_POLICY);
	def.name = "server";		/* built-in names are taken */
	assert_int_equal(hm_issue(edge, &req, &c, NULL, &err), HM_E_INVALID);
	hm_csr_free(csr);
}

/* Re-issuing keeps the key: what the CA issued before still verifies. */
static void
test_reissue(void **state)
{
	static const char *const wider[] = { "dns:example.com",
	    "dns:example.org" };
	hm_ca_params	 p;
	hm_ca_info	 before, after;
	hm_signer	*s2 = NULL;
	hm_cert		*old = NULL, *c = NULL;
	hm_err		 err;

	(void)state;
	HM_CHECK(issue(HM_PROFILE_SERVER, "keep", "dns:keep.example.com",
	    NULL, &old, &err), &err);
	HM_CHECK(hm_ca_get_info(ca, "edge", &before, &err), &err);
	memset(&p, 0, sizeof(p));
	p.name = "edge";
	p.cn = "NC Edge";
	p.permitted = wider;
	p.npermitted = 2;
	HM_CHECK(hm_ca_reissue(ca, root, &p, &c, NULL, &err), &err);
	hm_cert_free(c);
	HM_CHECK(hm_ca_get_info(ca, "edge", &after, &err), &err);
	assert_string_not_equal(before.serial, after.serial);
	assert_int_equal(before.key_type, after.key_type);
	HM_CHECK(hm_ca_signer(ca, "edge", NULL, &s2, &err), &err);
	assert_int_equal(X509_cmp(s2->cert, edge->cert) != 0, 1);
	assert_int_equal(tu_verify(s2, old, "sslserver"), 0);
	hm_cert_free(old);
	/* The new constraints hold: example.org now, bad.example.com too. */
	hm_signer_free(edge);
	edge = s2;
	HM_CHECK(issue(HM_PROFILE_SERVER, "org", "dns:www.example.org", NULL,
	    &c, &err), &err);
	assert_int_equal(tu_verify(edge, c, "sslserver"), 0);
	hm_cert_free(c);
	/* Re-issuing the root, or under another parent, is refused. */
	p.name = "root";
	assert_int_not_equal(hm_ca_reissue(ca, root, &p, &c, NULL, &err),
	    HM_OK);
	p.name = "edge";
	assert_int_equal(hm_ca_reissue(ca, edge, &p, &c, NULL, &err),
	    HM_E_POLICY);
	p.name = "nosuch";
	assert_int_equal(hm_ca_reissue(ca, root, &p, &c, NULL, &err),
	    HM_E_NOTFOUND);
}

static void
test_nc_on_root_refused(void **state)
{
	hm_ca_params	 p;
	hm_ca		*c2 = NULL;
	hm_err		 err;

	(void)state;
	memset(&p, 0, sizeof(p));
	p.cn = "Constrained Root";
	p.pathlen = -1;
	p.permitted = permitted;
	p.npermitted = 1;
	assert_int_equal(hm_ca_init(tu_path("ca2"), &p, &c2, &err),
	    HM_E_INVALID);
	assert_null(c2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_syntax),
		cmocka_unit_test(test_in_the_certificate),
		cmocka_unit_test(test_inside_is_issued),
		cmocka_unit_test(test_outside_is_refused),
		cmocka_unit_test(test_subject_fields),
		cmocka_unit_test(test_custom_profile),
		cmocka_unit_test(test_reissue),
		cmocka_unit_test(test_nc_on_root_refused),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
