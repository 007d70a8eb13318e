/*
 * lib/pkcs12.c: modern and legacy files parse back with OpenSSL under the
 * passphrase and not without it, with the algorithms promised (read from
 * the structure and from `openssl pkcs12 -info`), the key paired with its
 * certificate by localKeyID, and the chain when given; what does not
 * belong in a file is refused; the issuer chain comes from the CA.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/pkcs7.h>

#include "testutil.h"

#define PASS	"correct horse"

/* A root, an intermediate "mid", and a leaf of each with its key. */
static struct {
	hm_ca		*ca;
	hm_signer	*root, *mid;
	hm_key		*key, *key2;	/* of leaf (under mid), leaf2 (root) */
	hm_cert		*leaf, *leaf2;
	char		*leaf_pem, *chain_pem;	/* chain: mid, root */
	size_t		 leaf_len, chain_len;
} fx;

static hm_cert *
issue(hm_signer *s, hm_keytype kt, const char *cn, hm_key **key)
{
	hm_issue_req	 req;
	hm_csr		*csr;
	hm_cert		*c;
	hm_err		 err;

	HM_CHECK(hm_key_generate(kt, key, &err), &err);
	HM_CHECK(hm_csr_new(*key, cn, NULL, &csr, &err), &err);
	memset(&req, 0, sizeof(req));
	req.profile = HM_PROFILE_CLIENT;
	req.csr = csr;
	HM_CHECK(hm_issue(s, &req, &c, NULL, &err), &err);
	hm_csr_free(csr);
	return c;
}

static int
setup(void **state)
{
	hm_ca_params	 p;
	hm_cert		*c;
	char		*mid, *root;
	size_t		 midlen, rootlen;
	hm_err		 err;

	(void)state;
	tu_root_ca("ca", "P12 Root", &fx.ca, &fx.root);
	memset(&p, 0, sizeof(p));
	p.name = "mid";
	p.cn = "P12 Mid";
	p.pathlen = -1;
	HM_CHECK(hm_ca_new_intermediate(fx.ca, fx.root, &p, &c, NULL, &err),
	    &err);
	hm_cert_free(c);
	HM_CHECK(hm_ca_signer(fx.ca, "mid", NULL, &fx.mid, &err), &err);
	fx.leaf = issue(fx.mid, HM_KEY_P256, "alice", &fx.key);
	fx.leaf2 = issue(fx.root, HM_KEY_ED25519, "bob", &fx.key2);
	HM_CHECK(hm_cert_pem(fx.leaf, &fx.leaf_pem, &fx.leaf_len, &err),
	    &err);
	HM_CHECK(hm_signer_chain_pem(fx.mid, &mid, &midlen, &err), &err);
	HM_CHECK(hm_signer_root_pem(fx.mid, &root, &rootlen, &err), &err);
	if ((fx.chain_pem = malloc(midlen + rootlen + 1)) == NULL)
		fail_msg("out of memory");
	memcpy(fx.chain_pem, mid, midlen);
	memcpy(fx.chain_pem + midlen, root, rootlen + 1);
	fx.chain_len = midlen + rootlen;
	free(mid);
	free(root);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	free(fx.leaf_pem);
	free(fx.chain_pem);
	hm_cert_free(fx.leaf);
	hm_cert_free(fx.leaf2);
	hm_key_free(fx.key);
	hm_key_free(fx.key2);
	hm_signer_free(fx.mid);
	hm_signer_free(fx.root);
	hm_ca_close(fx.ca);
	return 0;
}

/* What a file says about itself, read from its structure. */
struct view {
	int		 mac_md, mac_iter;
	int		 cert_enc, cert_prf, cert_iter;	/* the encrypted safe */
	int		 key_enc, key_prf, key_iter;	/* the shrouded key */
	int		 ncerts, nkeys;
	char		 cert_name[128], key_name[128];	/* of the paired bags */
	unsigned char	 cert_id[64], key_id[64];
	int		 cert_idlen, key_idlen;
};

/* The cipher (or PBE), PRF and iterations of a PBE AlgorithmIdentifier. */
static void
pbe_of(const X509_ALGOR *alg, int *enc, int *prf, int *iter)
{
	const ASN1_OBJECT	*obj;
	const void		*pval;
	PBE2PARAM		*pbe2;
	PBKDF2PARAM		*kdf;
	PBEPARAM		*pbe;
	int			 ptype;

	X509_ALGOR_get0(&obj, &ptype, &pval, alg);
	assert_int_equal(ptype, V_ASN1_SEQUENCE);
	if (OBJ_obj2nid(obj) != NID_pbes2) {
		pbe = ASN1_item_unpack(pval, ASN1_ITEM_rptr(PBEPARAM));
		assert_non_null(pbe);
		*enc = OBJ_obj2nid(obj);
		*prf = NID_undef;
		*iter = (int)ASN1_INTEGER_get(pbe->iter);
		PBEPARAM_free(pbe);
		return;
	}
	pbe2 = ASN1_item_unpack(pval, ASN1_ITEM_rptr(PBE2PARAM));
	assert_non_null(pbe2);
	*enc = OBJ_obj2nid(pbe2->encryption->algorithm);
	assert_int_equal(OBJ_obj2nid(pbe2->keyfunc->algorithm), NID_id_pbkdf2);
	kdf = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBKDF2PARAM),
	    pbe2->keyfunc->parameter);
	assert_non_null(kdf);
	/* An absent PRF means HMAC-SHA1 (RFC 8018). */
	*prf = kdf->prf != NULL ? OBJ_obj2nid(kdf->prf->algorithm) :
	    NID_hmacWithSHA1;
	*iter = (int)ASN1_INTEGER_get(kdf->iter);
	PBKDF2PARAM_free(kdf);
	PBE2PARAM_free(pbe2);
}

/* friendlyName and localKeyID of a bag. */
static void
attrs_of(const PKCS12_SAFEBAG *bag, char *name, size_t namelen,
    unsigned char *id, int *idlen)
{
	const ASN1_TYPE	*t;
	char		*fn;

	name[0] = '\0';
	*idlen = 0;
	if ((fn = PKCS12_get_friendlyname((PKCS12_SAFEBAG *)bag)) != NULL) {
		snprintf(name, namelen, "%s", fn);
		OPENSSL_free(fn);
	}
	t = PKCS12_SAFEBAG_get0_attr(bag, NID_localKeyID);
	if (t != NULL && t->type == V_ASN1_OCTET_STRING &&
	    ASN1_STRING_length(t->value.octet_string) <= 64) {
		*idlen = ASN1_STRING_length(t->value.octet_string);
		memcpy(id, ASN1_STRING_get0_data(t->value.octet_string),
		    (size_t)*idlen);
	}
}

static void
bags_of(const STACK_OF(PKCS12_SAFEBAG) *bags, struct view *v)
{
	const PKCS12_SAFEBAG	*bag;
	const X509_ALGOR	*alg;
	const X509_SIG		*sig;
	char			 name[128];
	unsigned char		 id[64];
	int			 i, idlen;

	for (i = 0; i < sk_PKCS12_SAFEBAG_num(bags); i++) {
		bag = sk_PKCS12_SAFEBAG_value(bags, i);
		attrs_of(bag, name, sizeof(name), id, &idlen);
		switch (PKCS12_SAFEBAG_get_nid(bag)) {
		case NID_pkcs8ShroudedKeyBag:
			v->nkeys++;
			sig = PKCS12_SAFEBAG_get0_pkcs8(bag);
			X509_SIG_get0(sig, &alg, NULL);
			pbe_of(alg, &v->key_enc, &v->key_prf, &v->key_iter);
			snprintf(v->key_name, sizeof(v->key_name), "%s", name);
			memcpy(v->key_id, id, (size_t)idlen);
			v->key_idlen = idlen;
			break;
		case NID_certBag:
			v->ncerts++;
			if (idlen == 0)
				break;
			snprintf(v->cert_name, sizeof(v->cert_name), "%s",
			    name);
			memcpy(v->cert_id, id, (size_t)idlen);
			v->cert_idlen = idlen;
			break;
		default:
			fail_msg("unexpected bag %d", PKCS12_SAFEBAG_get_nid(bag));
		}
	}
}

static void
view_of(PKCS12 *p12, const char *pass, struct view *v)
{
	STACK_OF(PKCS7)			*safes;
	STACK_OF(PKCS12_SAFEBAG)	*bags;
	const ASN1_INTEGER		*iter;
	const X509_ALGOR		*macalg;
	const ASN1_OBJECT		*obj;
	PKCS7				*p7;
	int				 i;

	memset(v, 0, sizeof(*v));
	PKCS12_get0_mac(NULL, &macalg, NULL, &iter, p12);
	assert_non_null(macalg);
	X509_ALGOR_get0(&obj, NULL, NULL, macalg);
	v->mac_md = OBJ_obj2nid(obj);
	v->mac_iter = iter != NULL ? (int)ASN1_INTEGER_get(iter) : 1;
	assert_non_null(safes = PKCS12_unpack_authsafes(p12));
	for (i = 0; i < sk_PKCS7_num(safes); i++) {
		p7 = sk_PKCS7_value(safes, i);
		switch (OBJ_obj2nid(p7->type)) {
		case NID_pkcs7_data:
			bags = PKCS12_unpack_p7data(p7);
			break;
		case NID_pkcs7_encrypted:
			pbe_of(p7->d.encrypted->enc_data->algorithm,
			    &v->cert_enc, &v->cert_prf, &v->cert_iter);
			bags = PKCS12_unpack_p7encdata(p7, pass, -1);
			break;
		default:
			fail_msg("unexpected safe %d", OBJ_obj2nid(p7->type));
		}
		assert_non_null(bags);
		bags_of(bags, v);
		sk_PKCS12_SAFEBAG_pop_free(bags, PKCS12_SAFEBAG_free);
	}
	sk_PKCS7_pop_free(safes, PKCS7_free);
}

static PKCS12 *
export(const hm_p12_params *p, unsigned char **der, size_t *len)
{
	const unsigned char	*q;
	PKCS12			*p12;
	hm_err			 err;

	HM_CHECK(hm_p12_export(p, der, len, &err), &err);
	q = *der;
	p12 = d2i_PKCS12(NULL, &q, (long)*len);
	assert_non_null(p12);
	assert_ptr_equal(q, *der + *len);
	return p12;
}

/* Parse with OpenSSL: the key is c's key, the CAs are ncas in number. */
static void
parse_back(PKCS12 *p12, const hm_key *k, const hm_cert *c, int ncas)
{
	STACK_OF(X509)	*cas = NULL;
	EVP_PKEY	*pk = NULL;
	X509		*x = NULL, *want;

	assert_int_equal(PKCS12_verify_mac(p12, PASS, -1), 1);
	assert_int_equal(PKCS12_verify_mac(p12, "wrong horse", -1), 0);
	assert_int_equal(PKCS12_parse(p12, "wrong horse", &pk, &x, &cas), 0);
	assert_null(pk);
	ERR_clear_error();
	assert_int_equal(PKCS12_parse(p12, PASS, &pk, &x, &cas), 1);
	assert_non_null(pk);
	assert_non_null(x);
	want = tu_x509(c);
	assert_int_equal(X509_cmp(x, want), 0);
	assert_int_equal(EVP_PKEY_eq(pk, k->pkey), 1);
	assert_int_equal(X509_check_private_key(x, pk), 1);
	assert_int_equal(cas != NULL ? sk_X509_num(cas) : 0, ncas);
	X509_free(want);
	X509_free(x);
	EVP_PKEY_free(pk);
	sk_X509_pop_free(cas, X509_free);
}

/* `openssl pkcs12 -info` prints each pattern (grep -F) n times. */
static void
info_says(const unsigned char *der, size_t len, const char *pat, int n)
{
	static int	k;
	char		name[64], path[512];

	snprintf(name, sizeof(name), "info-%d.p12", ++k);
	snprintf(path, sizeof(path), "%s", tu_path(name));
	tu_write(path, der, len);
	if (tu_sh("test \"$(openssl pkcs12 -info -noout -in '%s' "
	    "-passin 'pass:%s' 2>&1 | grep -cF '%s')\" -eq %d", path, PASS,
	    pat, n) != 0)
		fail_msg("openssl pkcs12 -info does not print '%s' %d times",
		    pat, n);
}

static void
test_modern(void **state)
{
	hm_p12_params	 p;
	struct view	 v;
	unsigned char	*der;
	size_t		 len;
	PKCS12		*p12;

	(void)state;
	memset(&p, 0, sizeof(p));
	p.key = fx.key;
	p.cert_pem = (const unsigned char *)fx.leaf_pem;
	p.cert_len = fx.leaf_len;
	p.chain_pem = (const unsigned char *)fx.chain_pem;
	p.chain_len = fx.chain_len;
	p.pass = PASS;
	p12 = export(&p, &der, &len);
	parse_back(p12, fx.key, fx.leaf, 2);
	view_of(p12, PASS, &v);
	assert_int_equal(v.mac_md, NID_sha256);
	assert_true(v.mac_iter >= 2048);
	assert_int_equal(v.cert_enc, NID_aes_256_cbc);
	assert_int_equal(v.cert_prf, NID_hmacWithSHA256);
	assert_true(v.cert_iter >= 2048);
	assert_int_equal(v.key_enc, NID_aes_256_cbc);
	assert_int_equal(v.key_prf, NID_hmacWithSHA256);
	assert_true(v.key_iter >= 2048);
	assert_int_equal(v.ncerts, 3);
	assert_int_equal(v.nkeys, 1);
	/* Paired: one localKeyID on the key and on the leaf. */
	assert_true(v.key_idlen > 0);
	assert_int_equal(v.key_idlen, v.cert_idlen);
	assert_memory_equal(v.key_id, v.cert_id, (size_t)v.key_idlen);
	/* The friendly name defaults to the CN. */
	assert_string_equal(v.key_name, "alice");
	assert_string_equal(v.cert_name, "alice");
	info_says(der, len, "MAC: sha256", 1);
	info_says(der, len, "PBES2, PBKDF2, AES-256-CBC", 2);
	info_says(der, len, "PRF hmacWithSHA256", 2);
	info_says(der, len, "TripleDES", 0);
	PKCS12_free(p12);
	free(der);
}

static void
test_legacy(void **state)
{
	hm_p12_params		 p;
	struct view		 v;
	const unsigned char	*cder;
	unsigned char		*der;
	size_t			 len, clen;
	PKCS12			*p12;

	(void)state;
	/* The leaf as DER, no chain, a name of our own. */
	cder = hm_cert_der(fx.leaf2, &clen);
	memset(&p, 0, sizeof(p));
	p.key = fx.key2;
	p.cert_pem = cder;
	p.cert_len = clen;
	p.name = "Bob's laptop \xc3\xa9";
	p.pass = PASS;
	p.legacy = 1;
	p12 = export(&p, &der, &len);
	parse_back(p12, fx.key2, fx.leaf2, 0);
	view_of(p12, PASS, &v);
	assert_int_equal(v.mac_md, NID_sha1);
	assert_true(v.mac_iter >= 2048);
	assert_int_equal(v.cert_enc, NID_pbe_WithSHA1And3_Key_TripleDES_CBC);
	assert_int_equal(v.key_enc, NID_pbe_WithSHA1And3_Key_TripleDES_CBC);
	assert_true(v.cert_iter >= 2048 && v.key_iter >= 2048);
	assert_int_equal(v.ncerts, 1);
	assert_int_equal(v.nkeys, 1);
	assert_true(v.key_idlen > 0);
	assert_int_equal(v.key_idlen, v.cert_idlen);
	assert_memory_equal(v.key_id, v.cert_id, (size_t)v.key_idlen);
	assert_string_equal(v.key_name, p.name);
	assert_string_equal(v.cert_name, p.name);
	info_says(der, len, "MAC: sha1", 1);
	info_says(der, len, "pbeWithSHA1And3-KeyTripleDES-CBC", 2);
	info_says(der, len, "PBES2", 0);
	PKCS12_free(p12);
	free(der);
}

/* hm_p12_export refuses p with code want and leaves der alone. */
static void
refused(const hm_p12_params *p, int want, const char *msg)
{
	unsigned char	*der = (unsigned char *)"untouched";
	size_t		 len = 42;
	hm_err		 err;
	int		 rc;

	rc = hm_p12_export(p, &der, &len, &err);
	if (rc != want || strstr(err.msg, msg) == NULL)
		fail_msg("want %d '%s', got %d '%s'", want, msg, rc,
		    rc == HM_OK ? "" : err.msg);
	assert_string_equal((char *)der, "untouched");
	assert_int_equal(len, 42);
}

static void
test_refusals(void **state)
{
	hm_p12_params		 p, q;
	const unsigned char	*d;
	unsigned char		*bad;
	char			 two[8192];
	size_t			 dlen;

	(void)state;
	memset(&p, 0, sizeof(p));
	p.key = fx.key;
	p.cert_pem = (const unsigned char *)fx.leaf_pem;
	p.cert_len = fx.leaf_len;
	p.pass = PASS;

	q = p; q.key = fx.key2;
	refused(&q, HM_E_POLICY, "does not match");
	q = p; q.key = NULL;
	refused(&q, HM_E_INVALID, "no key");
	q = p; q.pass = "short";
	refused(&q, HM_E_POLICY, "shorter than 8");
	q = p; q.pass = NULL;
	refused(&q, HM_E_PASSPHRASE, "needs a passphrase");
	q = p; q.name = "tab\there";
	refused(&q, HM_E_INVALID, "friendly name");
	q = p; q.name = "";
	refused(&q, HM_E_INVALID, "friendly name");
	q = p; q.name = "bad \xc3";
	refused(&q, HM_E_INVALID, "friendly name");
	q = p; q.cert_pem = (const unsigned char *)"junk"; q.cert_len = 4;
	refused(&q, HM_E_INVALID, "certificate");
	q = p; q.cert_len = 0;
	refused(&q, HM_E_INVALID, "no certificate");
	q = p; q.cert_len = fx.leaf_len - 40;
	refused(&q, HM_E_INVALID, "certificate");
	/* A chain file where the leaf belongs. */
	snprintf(two, sizeof(two), "%s%s", fx.leaf_pem, fx.chain_pem);
	q = p; q.cert_pem = (unsigned char *)two; q.cert_len = strlen(two);
	refused(&q, HM_E_INVALID, "more than one");
	/* The leaf is not a CA certificate, so not part of a chain. */
	q = p; q.chain_pem = (unsigned char *)two; q.chain_len = strlen(two);
	refused(&q, HM_E_INVALID, "not a CA certificate");
	q = p; q.chain_pem = (const unsigned char *)"junk"; q.chain_len = 4;
	refused(&q, HM_E_INVALID, "chain");
	/* DER with something after it. */
	d = hm_cert_der(fx.leaf, &dlen);
	if ((bad = malloc(dlen + 1)) == NULL)
		fail_msg("out of memory");
	memcpy(bad, d, dlen);
	bad[dlen] = 0;
	q = p; q.cert_pem = bad; q.cert_len = dlen + 1;
	refused(&q, HM_E_INVALID, "after the DER");
	free(bad);
}

/* The PEM holds n certificates, the first with subject CN=first. */
static void
chain_is(const char *pem, size_t len, int n, const char *first)
{
	STACK_OF(X509_INFO)	*sk;
	BIO			*b;
	char			 cn[128];

	b = BIO_new_mem_buf(pem, (int)len);
	assert_non_null(b);
	sk = PEM_X509_INFO_read_bio(b, NULL, NULL, NULL);
	assert_non_null(sk);
	assert_int_equal(sk_X509_INFO_num(sk), n);
	X509_NAME_get_text_by_NID(X509_get_subject_name(
	    sk_X509_INFO_value(sk, 0)->x509), NID_commonName, cn, sizeof(cn));
	assert_string_equal(cn, first);
	sk_X509_INFO_pop_free(sk, X509_INFO_free);
	BIO_free(b);
}

static void
test_issuer_chain(void **state)
{
	const unsigned char	*der;
	hm_ca			*other;
	hm_signer		*oroot;
	hm_cert			*stranger;
	hm_key			*k;
	char			*pem = NULL, *none = (char *)"untouched";
	char			 path[512];
	unsigned char		*buf;
	size_t			 len, plen = 42;
	hm_err			 err;

	(void)state;
	/* Issued by mid: mid, then the root. */
	HM_CHECK(hm_ca_issuer_chain_pem(fx.ca, (unsigned char *)fx.leaf_pem,
	    fx.leaf_len, &pem, &len, &err), &err);
	chain_is(pem, len, 2, "P12 Mid");
	assert_true(len == fx.chain_len &&
	    memcmp(pem, fx.chain_pem, len) == 0);
	free(pem);
	/* Issued by the root (given as DER): the root alone. */
	der = hm_cert_der(fx.leaf2, &len);
	HM_CHECK(hm_ca_issuer_chain_pem(fx.ca, der, len, &pem, &len, &err),
	    &err);
	chain_is(pem, len, 1, "P12 Root");
	free(pem);
	/* mid's own certificate: the root issued it. */
	assert_int_equal(hm_ca_cert_path(fx.ca, "mid", path, sizeof(path)),
	    0);
	buf = tu_slurp(path, &len);
	HM_CHECK(hm_ca_issuer_chain_pem(fx.ca, buf, len, &pem, &len, &err),
	    &err);
	chain_is(pem, len, 1, "P12 Root");
	free(pem);
	free(buf);
	/* The root is not its own issuer. */
	assert_int_equal(hm_ca_cert_path(fx.ca, NULL, path, sizeof(path)), 0);
	buf = tu_slurp(path, &len);
	assert_int_equal(hm_ca_issuer_chain_pem(fx.ca, buf, len, &none, &plen,
	    &err), HM_E_NOTFOUND);
	free(buf);
	/* A certificate of another CA with the same names. */
	tu_root_ca("other", "P12 Root", &other, &oroot);
	stranger = issue(oroot, HM_KEY_P256, "alice", &k);
	der = hm_cert_der(stranger, &len);
	assert_int_equal(hm_ca_issuer_chain_pem(fx.ca, der, len, &none, &plen,
	    &err), HM_E_NOTFOUND);
	assert_non_null(strstr(err.msg, "not issued"));
	assert_string_equal(none, "untouched");
	assert_int_equal(plen, 42);
	assert_int_equal(hm_ca_issuer_chain_pem(fx.ca,
	    (const unsigned char *)"junk", 4, &none, &plen, &err),
	    HM_E_INVALID);
	hm_cert_free(stranger);
	hm_key_free(k);
	hm_signer_free(oroot);
	hm_ca_close(other);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_modern),
		cmocka_unit_test(test_legacy),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_issuer_chain),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
