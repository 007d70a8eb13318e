/* lib/name.c: SAN and CN syntax, canonical forms. */
#include <string.h>

#include "testutil.h"

static void
add_ok(hm_names *n, const char *spec)
{
	hm_err	err;

	HM_CHECK(hm_names_add(n, spec, &err), &err);
}

static void
add_bad(const char *spec)
{
	hm_names	*n = hm_names_new();
	hm_err		 err = { 0, "" };

	assert_non_null(n);
	if (hm_names_add(n, spec, &err) == HM_OK)
		fail_msg("accepted '%s'", spec);
	assert_int_equal(err.code, HM_E_INVALID);
	assert_true(strlen(err.msg) > 0);
	assert_int_equal(hm_names_count(n), 0);
	hm_names_free(n);
}

static void
test_valid_names(void **state)
{
	hm_names	*n = hm_names_new();
	hm_name_type	 t;
	const char	*v;

	(void)state;
	add_ok(n, "dns:Web1.Example.COM");
	add_ok(n, "dns:*.example.com");
	add_ok(n, "ip:10.0.0.1");
	add_ok(n, "ip:2001:DB8:0:0:0:0:0:1");
	add_ok(n, "email:ops@example.com");
	add_ok(n, "uri:spiffe://example.com/robot/7");
	add_ok(n, "dns:web1.example.com");	/* duplicate: ignored */
	assert_int_equal(hm_names_count(n), 6);
	assert_int_equal(hm_names_get(n, 0, &t, &v), HM_OK);
	assert_int_equal(t, HM_NAME_DNS);
	assert_string_equal(v, "web1.example.com");
	assert_int_equal(hm_names_get(n, 3, &t, &v), HM_OK);
	assert_int_equal(t, HM_NAME_IP);
	assert_string_equal(v, "2001:db8::1");
	assert_int_equal(hm_names_has_wildcard(n), 1);
	hm_names_free(n);
}

static void
test_invalid_names(void **state)
{
	char	long_label[80], long_name[300];
	size_t	i;

	(void)state;
	memset(long_label, 'a', 64);
	memcpy(long_label, "dns:", 4);
	long_label[68] = '\0';
	add_bad(long_label);
	strcpy(long_name, "dns:");
	for (i = 0; i < 26; i++)
		strcat(long_name, "abcdefghi.");
	strcat(long_name, "com");
	add_bad(long_name);			/* 263 characters */
	add_bad("dns:has space.example.com");
	add_bad("dns:under_score.example.com");
	add_bad("dns:-lead.example.com");
	add_bad("dns:trail-.example.com");
	add_bad("dns:a..b");
	add_bad("dns:");
	add_bad("dns:example.com.");
	add_bad("dns:foo.*.example.com");
	add_bad("dns:*");
	add_bad("dns:10.0.0.1");
	add_bad("dns:tab\there.com");
	add_bad("ip:256.0.0.1");
	add_bad("ip:10.0.0");
	add_bad("ip:1::2::3");
	add_bad("ip:example.com");
	add_bad("email:no-at-sign");
	add_bad("email:@example.com");
	add_bad("email:a b@example.com");
	add_bad("email:x@*.example.com");
	add_bad("uri:no-scheme");
	add_bad("uri:http://a b");
	add_bad("uri:1http://x");
	add_bad("other:x");
	add_bad("x");
}

static void
test_nul_is_refused(void **state)
{
	hm_names		*n = hm_names_new();
	GENERAL_NAMES		*g = GENERAL_NAMES_new();
	GENERAL_NAME		*gn = GENERAL_NAME_new();
	ASN1_IA5STRING		*s = ASN1_IA5STRING_new();
	hm_err			 err = { 0, "" };

	(void)state;
	/* "evil.com\0.example.com", as a hostile CSR would carry it. */
	assert_true(ASN1_STRING_set(s, "evil.com\0.example.com", 21));
	GENERAL_NAME_set0_value(gn, GEN_DNS, s);
	assert_true(sk_GENERAL_NAME_push(g, gn));
	assert_true(hm_names_from_gens(n, g, &err) < 0);
	assert_int_equal(hm_names_count(n), 0);
	GENERAL_NAMES_free(g);
	hm_names_free(n);
}

static void
test_cn(void **state)
{
	char	cn[80];
	hm_err	err;

	(void)state;
	assert_int_equal(hm_cn_check("Demo Root CA", &err), HM_OK);
	assert_int_equal(hm_cn_check("Überwald Gerät", &err), HM_OK);
	memset(cn, 'x', 64);
	cn[64] = '\0';
	assert_int_equal(hm_cn_check(cn, &err), HM_OK);
	cn[64] = 'x';
	cn[65] = '\0';
	assert_int_equal(hm_cn_check(cn, &err), HM_E_INVALID);
	assert_int_equal(hm_cn_check("", &err), HM_E_INVALID);
	assert_int_equal(hm_cn_check("bad\x01" "char", &err), HM_E_INVALID);
	assert_int_equal(hm_cn_check("bad\xc3", &err), HM_E_INVALID);
	assert_int_equal(hm_cn_check("\xc0\xaf", &err), HM_E_INVALID);
	assert_int_equal(hm_cn_check(" lead", &err), HM_E_INVALID);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_names),
		cmocka_unit_test(test_invalid_names),
		cmocka_unit_test(test_nul_is_refused),
		cmocka_unit_test(test_cn),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
