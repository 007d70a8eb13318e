/*
 * lib/profile.c: profile names, and for every profile and key family the
 * exact set of extensions of an issued certificate, read back from its DER.
 */
#include <arpa/inet.h>

#include <stdio.h>
#include <string.h>

#include "testutil.h"

/* keyUsage bit numbers (RFC 5280 4.2.1.3) */
#define KU_DS	0	/* digitalSignature */
#define KU_KE	2	/* keyEncipherment */
#define KU_KCS	5	/* keyCertSign */
#define KU_CRL	6	/* cRLSign */
#define BIT(n)	(1u << (n))

struct want {
	int		 is_ca;
	int		 pathlen;	/* -1: absent */
	unsigned	 ku;		/* BIT(KU_*) */
	int		 server, client;	/* EKU purposes */
	const char	*sans[4];	/* "dns:..", "ip:.."; NULL-terminated */
};

/* A CA directory with an EC root, an EC and an RSA intermediate. */
struct fx {
	hm_ca		*ca;
	hm_signer	*root, *mid, *rsamid;
	hm_key		*rsa;		/* one RSA leaf key for every test */
};

static struct fx	fx;

static X509 *
signer_x509(const hm_signer *s)
{
	return s->cert;
}

/* The extension nid occurs exactly once, with the given criticality. */
static void
ext_once(X509 *x, int nid, int critical)
{
	int	i = X509_get_ext_by_NID(x, nid, -1);

	if (i < 0)
		fail_msg("no %s extension", OBJ_nid2sn(nid));
	if (X509_get_ext_by_NID(x, nid, i) >= 0)
		fail_msg("%s extension twice", OBJ_nid2sn(nid));
	if (X509_EXTENSION_get_critical(X509_get_ext(x, i)) != critical)
		fail_msg("%s extension critical=%d, want %d", OBJ_nid2sn(nid),
		    !critical, critical);
}

static void
gen_str(const GENERAL_NAME *gn, char *buf, size_t len)
{
	const ASN1_STRING	*s;
	char			 ip[64];

	switch (gn->type) {
	case GEN_DNS:
		s = gn->d.dNSName;
		snprintf(buf, len, "dns:%.*s", ASN1_STRING_length(s),
		    (const char *)ASN1_STRING_get0_data(s));
		break;
	case GEN_IPADD:
		s = gn->d.iPAddress;
		assert_non_null(inet_ntop(ASN1_STRING_length(s) == 4 ?
		    AF_INET : AF_INET6, ASN1_STRING_get0_data(s), ip,
		    sizeof(ip)));
		snprintf(buf, len, "ip:%s", ip);
		break;
	default:
		snprintf(buf, len, "type%d", gn->type);
	}
}

/* RFC 7093 method 1, as profile.c promises. */
static void
check_ski(X509 *x)
{
	const ASN1_BIT_STRING	*pk = X509_get0_pubkey_bitstr(x);
	const ASN1_OCTET_STRING	*ski;
	unsigned char		 md[32];
	unsigned int		 mdlen = sizeof(md);

	ext_once(x, NID_subject_key_identifier, 0);
	assert_non_null(ski = X509_get0_subject_key_id(x));
	assert_true(EVP_Digest(ASN1_STRING_get0_data(pk),
	    (size_t)ASN1_STRING_length(pk), md, &mdlen, EVP_sha256(), NULL));
	assert_int_equal(ASN1_STRING_length(ski), 20);
	assert_memory_equal(ASN1_STRING_get0_data(ski), md, 20);
}

/* Everything profile.c puts in x, and nothing else. */
static void
check_exts(X509 *x, X509 *issuer, const struct want *w)
{
	BASIC_CONSTRAINTS	*bc;
	ASN1_BIT_STRING		*ku;
	EXTENDED_KEY_USAGE	*eku;
	AUTHORITY_KEYID		*aki;
	GENERAL_NAMES		*gens;
	char			 buf[300];
	int			 i, nsans = 0, want_exts;

	while (w->sans[nsans] != NULL)
		nsans++;
	assert_int_equal(X509_get_version(x), X509_VERSION_3);
	want_exts = 4 + (w->is_ca ? 0 : 1) + (nsans > 0 ? 1 : 0);
	if (X509_get_ext_count(x) != want_exts) {
		for (i = 0; i < X509_get_ext_count(x); i++)
			fprintf(stderr, "  extension %s\n", OBJ_nid2sn(
			    OBJ_obj2nid(X509_EXTENSION_get_object(
			    X509_get_ext(x, i)))));
		fail_msg("%d extensions, want %d", X509_get_ext_count(x),
		    want_exts);
	}

	ext_once(x, NID_basic_constraints, 1);
	assert_non_null(bc = X509_get_ext_d2i(x, NID_basic_constraints, NULL,
	    NULL));
	assert_int_equal(bc->ca != 0, w->is_ca);
	if (w->pathlen < 0)
		assert_null(bc->pathlen);
	else {
		assert_non_null(bc->pathlen);
		assert_int_equal(ASN1_INTEGER_get(bc->pathlen), w->pathlen);
	}
	BASIC_CONSTRAINTS_free(bc);

	ext_once(x, NID_key_usage, 1);
	assert_non_null(ku = X509_get_ext_d2i(x, NID_key_usage, NULL, NULL));
	for (i = 0; i < 9; i++)
		if (ASN1_BIT_STRING_get_bit(ku, i) != !!(w->ku & BIT(i)))
			fail_msg("keyUsage bit %d is %d", i,
			    ASN1_BIT_STRING_get_bit(ku, i));
	ASN1_BIT_STRING_free(ku);

	if (w->is_ca)
		assert_true(X509_get_ext_by_NID(x, NID_ext_key_usage, -1) < 0);
	else {
		ext_once(x, NID_ext_key_usage, 0);
		assert_non_null(eku = X509_get_ext_d2i(x, NID_ext_key_usage,
		    NULL, NULL));
		assert_int_equal(sk_ASN1_OBJECT_num(eku),
		    w->server + w->client);
		i = 0;
		if (w->server)
			assert_int_equal(OBJ_obj2nid(sk_ASN1_OBJECT_value(eku,
			    i++)), NID_server_auth);
		if (w->client)
			assert_int_equal(OBJ_obj2nid(sk_ASN1_OBJECT_value(eku,
			    i++)), NID_client_auth);
		sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
	}

	check_ski(x);

	ext_once(x, NID_authority_key_identifier, 0);
	assert_non_null(aki = X509_get_ext_d2i(x, NID_authority_key_identifier,
	    NULL, NULL));
	assert_non_null(aki->keyid);
	assert_non_null(X509_get0_subject_key_id(issuer));
	assert_int_equal(ASN1_OCTET_STRING_cmp(aki->keyid,
	    X509_get0_subject_key_id(issuer)), 0);
	assert_null(aki->issuer);
	assert_null(aki->serial);
	AUTHORITY_KEYID_free(aki);

	if (nsans == 0)
		assert_true(X509_get_ext_by_NID(x, NID_subject_alt_name,
		    -1) < 0);
	else {
		ext_once(x, NID_subject_alt_name, 0);
		assert_non_null(gens = X509_get_ext_d2i(x, NID_subject_alt_name,
		    NULL, NULL));
		assert_int_equal(sk_GENERAL_NAME_num(gens), nsans);
		for (i = 0; i < nsans; i++) {
			gen_str(sk_GENERAL_NAME_value(gens, i), buf,
			    sizeof(buf));
			assert_string_equal(buf, w->sans[i]);
		}
		GENERAL_NAMES_free(gens);
	}

	assert_int_equal(X509_check_issued(issuer, x), X509_V_OK);
	assert_int_equal(X509_verify(x, X509_get0_pubkey(issuer)), 1);
}

static int
setup(void **state)
{
	char		 dir[600];
	hm_ca_params	 p;
	hm_cert		*c = NULL;
	hm_err		 err;

	(void)state;
	memset(&fx, 0, sizeof(fx));
	snprintf(dir, sizeof(dir), "%s", tu_path("ca"));
	memset(&p, 0, sizeof(p));
	p.cn = "Profile Root";
	p.key_type = HM_KEY_P256;
	p.pathlen = -1;
	HM_CHECK(hm_ca_init(dir, &p, &fx.ca, &err), &err);
	HM_CHECK(hm_ca_signer(fx.ca, NULL, NULL, &fx.root, &err), &err);

	memset(&p, 0, sizeof(p));
	p.name = "mid";
	p.cn = "Profile Mid";
	p.key_type = HM_KEY_P256;
	p.pathlen = 1;
	HM_CHECK(hm_ca_new_intermediate(fx.ca, fx.root, &p, &c, NULL, &err),
	    &err);
	hm_cert_free(c);
	HM_CHECK(hm_ca_signer(fx.ca, "mid", NULL, &fx.mid, &err), &err);

	p.name = "rsamid";
	p.cn = "Profile RSA Mid";
	p.key_type = HM_KEY_RSA2048;
	p.pathlen = 0;
	HM_CHECK(hm_ca_new_intermediate(fx.ca, fx.root, &p, &c, NULL, &err),
	    &err);
	hm_cert_free(c);
	HM_CHECK(hm_ca_signer(fx.ca, "rsamid", NULL, &fx.rsamid, &err), &err);

	HM_CHECK(hm_key_generate(HM_KEY_RSA2048, &fx.rsa, &err), &err);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	hm_key_free(fx.rsa);
	hm_signer_free(fx.rsamid);
	hm_signer_free(fx.mid);
	hm_signer_free(fx.root);
	hm_ca_close(fx.ca);
	return 0;
}

static void
test_parse_and_name(void **state)
{
	static const char *const bad[] = { "root", "intermediate", "none",
	    "Server", "SERVER", "server ", " client", "serverx", "clien",
	    "server\n", "", "both,server" };
	hm_profile_id	 id;
	hm_err		 err;
	size_t		 i;

	(void)state;
	HM_CHECK(hm_profile_parse("server", &id, &err), &err);
	assert_int_equal(id, HM_PROFILE_SERVER);
	HM_CHECK(hm_profile_parse("client", &id, &err), &err);
	assert_int_equal(id, HM_PROFILE_CLIENT);
	HM_CHECK(hm_profile_parse("both", &id, &err), &err);
	assert_int_equal(id, HM_PROFILE_BOTH);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		id = (hm_profile_id)77;
		memset(&err, 0, sizeof(err));
		if (hm_profile_parse(bad[i], &id, &err) != HM_E_INVALID)
			fail_msg("profile '%s' not refused", bad[i]);
		assert_int_equal(err.code, HM_E_INVALID);
		assert_true(strlen(err.msg) > 0);
		assert_int_equal(id, 77);		/* untouched */
	}
	id = (hm_profile_id)77;
	assert_int_equal(hm_profile_parse(NULL, &id, &err), HM_E_INVALID);
	assert_int_equal(id, 77);
	/* A NULL hm_err is allowed everywhere. */
	assert_int_equal(hm_profile_parse("root", &id, NULL), HM_E_INVALID);

	assert_string_equal(hm_profile_name(HM_PROFILE_ROOT), "root");
	assert_string_equal(hm_profile_name(HM_PROFILE_INTERMEDIATE),
	    "intermediate");
	assert_string_equal(hm_profile_name(HM_PROFILE_SERVER), "server");
	assert_string_equal(hm_profile_name(HM_PROFILE_CLIENT), "client");
	assert_string_equal(hm_profile_name(HM_PROFILE_BOTH), "both");
	assert_string_equal(hm_profile_name(HM_PROFILE_NONE), "none");
	assert_string_equal(hm_profile_name(HM_PROFILE_CUSTOM), "custom");
	assert_string_equal(hm_profile_name(HM_PROFILE_OCSP), "ocsp");
	assert_string_equal(hm_profile_name((hm_profile_id)8), "none");
	/* Issued by the responder itself, never typed. */
	assert_int_equal(hm_profile_parse("ocsp", &id, NULL), HM_E_INVALID);
	assert_string_equal(hm_profile_name((hm_profile_id)-1), "none");

	/* Round trip of the names users may type. */
	for (i = HM_PROFILE_SERVER; i <= HM_PROFILE_BOTH; i++) {
		HM_CHECK(hm_profile_parse(hm_profile_name((hm_profile_id)i),
		    &id, &err), &err);
		assert_int_equal(id, i);
	}
}

static void
test_profile_table(void **state)
{
	const struct hm_profile	*p;

	(void)state;
	assert_null(hm_profile_get(HM_PROFILE_NONE));
	assert_null(hm_profile_get((hm_profile_id)6));
	assert_non_null(p = hm_profile_get(HM_PROFILE_ROOT));
	assert_true(p->is_ca);
	assert_int_equal(p->default_validity, 10 * HM_YEAR);
	assert_non_null(p = hm_profile_get(HM_PROFILE_INTERMEDIATE));
	assert_true(p->is_ca);
	assert_int_equal(p->default_validity, 5 * HM_YEAR);
	assert_non_null(p = hm_profile_get(HM_PROFILE_SERVER));
	assert_false(p->is_ca);
	assert_true(p->need_san);
	assert_true(p->wildcard_ok);
	assert_non_null(p = hm_profile_get(HM_PROFILE_CLIENT));
	assert_false(p->is_ca);
	assert_false(p->need_san);
	assert_false(p->wildcard_ok);
	assert_non_null(p = hm_profile_get(HM_PROFILE_BOTH));
	assert_false(p->is_ca);
	assert_true(p->need_san);
}

static int
is_rsa(hm_keytype t)
{
	return t == HM_KEY_RSA2048 || t == HM_KEY_RSA3072 ||
	    t == HM_KEY_RSA4096;
}

/* Issue one leaf for key under s with profile id and check it fully. */
static void
leaf_case(hm_signer *s, const hm_key *key, hm_profile_id id)
{
	struct want	 w;
	hm_names	*n = hm_names_new();
	hm_csr		*csr = NULL;
	hm_cert		*c = NULL;
	hm_issue_req	 req;
	hm_err		 err;
	X509		*x;
	char		 cn[64];

	snprintf(cn, sizeof(cn), "%s-%s", hm_profile_name(id),
	    hm_keytype_name(hm_key_type(key)));
	assert_non_null(n);
	HM_CHECK(hm_names_add(n, "dns:leaf.example.test", &err), &err);
	HM_CHECK(hm_names_add(n, "ip:192.0.2.7", &err), &err);
	HM_CHECK(hm_csr_new(key, cn, n, &csr, &err), &err);
	memset(&req, 0, sizeof(req));
	req.profile = id;
	req.csr = csr;
	HM_CHECK(hm_issue(s, &req, &c, NULL, &err), &err);

	memset(&w, 0, sizeof(w));
	w.pathlen = -1;
	w.ku = BIT(KU_DS);
	if (is_rsa(hm_key_type(key)) && id != HM_PROFILE_CLIENT)
		w.ku |= BIT(KU_KE);
	w.server = id != HM_PROFILE_CLIENT;
	w.client = id != HM_PROFILE_SERVER;
	w.sans[0] = "dns:leaf.example.test";
	w.sans[1] = "ip:192.0.2.7";
	x = tu_x509(c);
	check_exts(x, signer_x509(s), &w);
	X509_free(x);

	/* The real verifier agrees, and each EKU excludes the other use. */
	assert_int_equal(tu_verify(s, c, "sslserver"), w.server ? 0 : 2);
	assert_int_equal(tu_verify(s, c, "sslclient"), w.client ? 0 : 2);

	hm_cert_free(c);
	hm_csr_free(csr);
	hm_names_free(n);
}

static void
test_leaf_ec(void **state)
{
	hm_key	*k;
	hm_err	 err;

	(void)state;
	HM_CHECK(hm_key_generate(HM_KEY_P256, &k, &err), &err);
	leaf_case(fx.mid, k, HM_PROFILE_SERVER);
	leaf_case(fx.mid, k, HM_PROFILE_CLIENT);
	leaf_case(fx.mid, k, HM_PROFILE_BOTH);
	/* Under the RSA intermediate too: the AKI follows the issuer. */
	leaf_case(fx.rsamid, k, HM_PROFILE_SERVER);
	hm_key_free(k);
}

static void
test_leaf_rsa(void **state)
{
	(void)state;
	leaf_case(fx.mid, fx.rsa, HM_PROFILE_SERVER);
	leaf_case(fx.mid, fx.rsa, HM_PROFILE_CLIENT);
	leaf_case(fx.mid, fx.rsa, HM_PROFILE_BOTH);
	leaf_case(fx.rsamid, fx.rsa, HM_PROFILE_BOTH);
}

static void
test_leaf_other_keys(void **state)
{
	hm_key	*k;
	hm_err	 err;

	(void)state;
	HM_CHECK(hm_key_generate(HM_KEY_ED25519, &k, &err), &err);
	leaf_case(fx.mid, k, HM_PROFILE_SERVER);
	leaf_case(fx.mid, k, HM_PROFILE_BOTH);
	hm_key_free(k);
	HM_CHECK(hm_key_generate(HM_KEY_P384, &k, &err), &err);
	leaf_case(fx.root, k, HM_PROFILE_BOTH);
	hm_key_free(k);
}

static void
ca_case(X509 *x, X509 *issuer, int pathlen)
{
	struct want	w;

	memset(&w, 0, sizeof(w));
	w.is_ca = 1;
	w.pathlen = pathlen;
	w.ku = BIT(KU_DS) | BIT(KU_KCS) | BIT(KU_CRL);
	check_exts(x, issuer, &w);
	assert_int_equal(X509_check_ca(x), 1);
}

static void
test_ca_ec(void **state)
{
	hm_cert	*c;
	X509	*x;
	hm_err	 err;
	char	 path[512];

	(void)state;
	/* Root: self-issued, AKI = its own SKI, no pathlen. */
	HM_CHECK(hm_cert_lookup(fx.ca, fx.root->info.serial, NULL, &c, &err),
	    &err);
	x = tu_x509(c);
	ca_case(x, x, -1);
	X509_free(x);
	assert_int_equal(tu_verify(fx.root, c, NULL), 0);
	hm_cert_free(c);

	/* Intermediate with pathlen 1: AKI = the root's SKI. */
	HM_CHECK(hm_cert_lookup(fx.ca, fx.mid->info.serial, NULL, &c, &err),
	    &err);
	x = tu_x509(c);
	ca_case(x, signer_x509(fx.root), 1);
	X509_free(x);
	assert_int_equal(tu_verify(fx.mid, c, NULL), 0);
	hm_cert_free(c);

	/* The file next to the key says the same. */
	assert_int_equal(hm_ca_cert_path(fx.ca, "mid", path, sizeof(path)), 0);
	assert_int_equal(tu_sh("openssl x509 -in '%s' -noout -ext "
	    "basicConstraints | grep -q 'critical' && openssl x509 -in '%s' "
	    "-noout -ext basicConstraints | grep -q 'CA:TRUE, pathlen:1'",
	    path, path), 0);
}

static void
test_ca_rsa(void **state)
{
	hm_ca_params	 p;
	hm_ca		*ca;
	hm_signer	*root;
	hm_cert		*c;
	X509		*x;
	hm_err		 err;

	(void)state;
	/* Intermediate with an RSA key and pathlen 0. */
	HM_CHECK(hm_cert_lookup(fx.ca, fx.rsamid->info.serial, NULL, &c,
	    &err), &err);
	x = tu_x509(c);
	ca_case(x, signer_x509(fx.root), 0);
	X509_free(x);
	assert_int_equal(tu_verify(fx.rsamid, c, NULL), 0);
	hm_cert_free(c);

	/* An RSA root with an explicit pathlen. */
	memset(&p, 0, sizeof(p));
	p.cn = "Profile RSA Root";
	p.key_type = HM_KEY_RSA2048;
	p.pathlen = 3;
	HM_CHECK(hm_ca_init(tu_path("rsaca"), &p, &ca, &err), &err);
	HM_CHECK(hm_ca_signer(ca, NULL, NULL, &root, &err), &err);
	HM_CHECK(hm_cert_lookup(ca, root->info.serial, NULL, &c, &err), &err);
	x = tu_x509(c);
	ca_case(x, x, 3);
	X509_free(x);
	assert_int_equal(tu_verify(root, c, NULL), 0);
	hm_cert_free(c);
	hm_signer_free(root);
	hm_ca_close(ca);
}

/* hm_profile_apply on bare certificates: the parts issue.c never shows. */
static X509 *
bare_cert(const hm_key *k, const char *cn)
{
	X509		*x;

	assert_non_null(x = X509_new());
	assert_true(X509_set_version(x, X509_VERSION_3));
	assert_true(X509_set_pubkey(x, k->pkey));
	assert_true(X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN",
	    MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0));
	assert_true(X509_set_issuer_name(x, X509_get_subject_name(x)));
	assert_true(ASN1_INTEGER_set(X509_get_serialNumber(x), 1));
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), 0));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 3600));
	return x;
}

/* x as a parser sees it (x is freed). */
static X509 *
reparse(X509 *x)
{
	unsigned char		*der = NULL;
	const unsigned char	*p;
	X509			*y;
	int			 len;

	assert_true((len = i2d_X509(x, &der)) > 0);
	p = der;
	assert_non_null(y = d2i_X509(NULL, &p, len));
	OPENSSL_free(der);
	X509_free(x);
	return y;
}

static void
test_apply_direct(void **state)
{
	hm_key		*k;
	X509		*issuer, *x;
	BASIC_CONSTRAINTS *bc;
	hm_err		 err = { 0, "" };

	(void)state;
	HM_CHECK(hm_key_generate(HM_KEY_P256, &k, &err), &err);

	/* A leaf profile ignores any pathlen it is given. */
	x = bare_cert(k, "leaf");
	HM_CHECK(hm_profile_apply(hm_profile_get(HM_PROFILE_SERVER), x,
	    signer_x509(fx.root), HM_KEY_P256, 3, NULL, &err), &err);
	assert_non_null(bc = X509_get_ext_d2i(x, NID_basic_constraints, NULL,
	    NULL));
	assert_false(bc->ca);
	assert_null(bc->pathlen);
	BASIC_CONSTRAINTS_free(bc);
	assert_int_equal(X509_get_ext_count(x), 5);	/* no SAN here */
	X509_free(x);

	/* An issuer without an SKI can not give an AKI: refused. */
	issuer = bare_cert(k, "no ski");
	x = bare_cert(k, "leaf");
	assert_int_equal(hm_profile_apply(hm_profile_get(HM_PROFILE_CLIENT),
	    x, issuer, HM_KEY_P256, -1, NULL, &err), HM_E_INTERNAL);
	assert_int_equal(err.code, HM_E_INTERNAL);
	assert_non_null(strstr(err.msg, "subject key identifier"));
	X509_free(x);
	X509_free(issuer);

	/* Self-issued CA: AKI from its own new SKI, pathlen 0 kept. */
	x = bare_cert(k, "self");
	HM_CHECK(hm_profile_apply(hm_profile_get(HM_PROFILE_ROOT), x, NULL,
	    HM_KEY_P256, 0, NULL, &err), &err);
	assert_true(X509_sign(x, k->pkey, EVP_sha256()) > 0);
	x = reparse(x);
	ca_case(x, x, 0);
	X509_free(x);
	hm_key_free(k);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_and_name),
		cmocka_unit_test(test_profile_table),
		cmocka_unit_test(test_leaf_ec),
		cmocka_unit_test(test_leaf_rsa),
		cmocka_unit_test(test_leaf_other_keys),
		cmocka_unit_test(test_ca_ec),
		cmocka_unit_test(test_ca_rsa),
		cmocka_unit_test(test_apply_direct),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
