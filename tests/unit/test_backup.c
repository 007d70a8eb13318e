/*
 * lib/backup.c: the Archive codec round-trips and refuses what section 3
 * does not allow (too many entries, names outside the set, bad modes,
 * another kind or version, trailing bytes); the CMS envelope opens with
 * each recipient's key (RSA by OAEP, EC by ECDH) and no other, and every
 * single byte flipped in it is refused; signers go from a CA to an online
 * CA that holds only the root certificate, and a backup restores.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "testutil.h"

/* A self-signed certificate for a new key of alg ("RSA", "EC", ...). */
static X509 *
recip_cert(const char *alg, const char *cn, EVP_PKEY **keyp)
{
	EVP_PKEY	*pk;
	X509		*x;

	if (strcmp(alg, "RSA") == 0)
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	else if (strcmp(alg, "EC") == 0)
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	else
		pk = EVP_PKEY_Q_keygen(NULL, NULL, alg);
	assert_non_null(pk);
	assert_non_null(x = X509_new());
	assert_int_equal(X509_set_version(x, 2), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), 7), 1);
	assert_int_equal(X509_NAME_add_entry_by_txt(X509_get_subject_name(x),
	    "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0), 1);
	assert_int_equal(X509_set_issuer_name(x, X509_get_subject_name(x)),
	    1);
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), -60));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 3600));
	assert_int_equal(X509_set_pubkey(x, pk), 1);
	assert_true(X509_sign(x, pk, strcmp(alg, "ED25519") == 0 ? NULL :
	    EVP_sha256()) > 0);
	*keyp = pk;
	return x;
}

static hm_cert *
as_cert(X509 *x)
{
	hm_err	 err;
	hm_cert	*c;

	assert_int_equal(X509_up_ref(x), 1);
	if ((c = hm_cert_from_x509(x, &err)) == NULL)
		fail_msg("%s", err.msg);
	return c;
}

static hm_key *
as_key(EVP_PKEY *pk)
{
	hm_err	err;
	hm_key	*k;

	assert_int_equal(EVP_PKEY_up_ref(pk), 1);
	assert_non_null(k = hm_key_wrap(pk, hm_pkey_type(pk, &err)));
	return k;
}

static void
arc_sample(struct hm_arc *a, int kind)
{
	hm_err	err;

	memset(a, 0, sizeof(*a));
	a->kind = kind;
	a->created = 1700000000;
	HM_CHECK(hm_arc_add(a, "ca/root/cert.pem", 0644, "root-cert", 9, &err),
	    &err);
	HM_CHECK(hm_arc_add(a, "ca/mid-1/cert.pem", 0644, "mid-cert", 8, &err),
	    &err);
	HM_CHECK(hm_arc_add(a, "ca/mid-1/key.pem", 0600, "mid\0key", 7, &err),
	    &err);
}

/* The length of the outer SEQUENCE's header. */
static size_t
hdr_len(const unsigned char *der)
{
	return der[1] & 0x80 ? 2 + (der[1] & 0x7f) : 2;
}

static void
test_codec_roundtrip(void **state)
{
	struct hm_arc	 a, b;
	unsigned char	*der;
	size_t		 len, i;
	hm_err		 err;

	(void)state;
	arc_sample(&a, HM_ARC_SIGNERS);
	HM_CHECK(hm_arc_encode(&a, &der, &len, &err), &err);
	HM_CHECK(hm_arc_decode(der, len, HM_ARC_SIGNERS, &b, &err), &err);
	assert_int_equal(b.kind, HM_ARC_SIGNERS);
	assert_int_equal(b.created, a.created);
	assert_int_equal(b.n, a.n);
	for (i = 0; i < a.n; i++) {
		assert_string_equal(b.v[i].name, a.v[i].name);
		assert_int_equal(b.v[i].mode, a.v[i].mode);
		assert_int_equal(b.v[i].len, a.v[i].len);
		assert_memory_equal(b.v[i].data, a.v[i].data, a.v[i].len);
	}
	/* DER as section 3.1 says: SEQUENCE { INTEGER 1, INTEGER 1, ... */
	assert_int_equal(der[0], 0x30);
	assert_memory_equal(der + hdr_len(der), "\x02\x01\x01\x02\x01\x01"
	    "\x18", 7);
	/* The same bytes are not a backup. */
	assert_int_equal(hm_arc_decode(der, len, HM_ARC_BACKUP, &b, &err),
	    HM_E_INVALID);
	hm_arc_clear(&b);
	hm_arc_clear(&a);
	OPENSSL_free(der);
}

/* dec(a) for kind is refused with code. */
static void
refused(struct hm_arc *a, int kind, int code, const char *why)
{
	struct hm_arc	 b;
	unsigned char	*der;
	size_t		 len;
	hm_err		 err;

	HM_CHECK(hm_arc_encode(a, &der, &len, &err), &err);
	memset(&b, 0x5a, sizeof(b));
	if (hm_arc_decode(der, len, kind, &b, &err) != code)
		fail_msg("accepted or wrong code: %s", why);
	assert_int_equal(b.n, (size_t)0x5a5a5a5a5a5a5a5aULL);	/* untouched */
	OPENSSL_free(der);
	hm_arc_clear(a);
}

static void
test_codec_bounds(void **state)
{
	static const char *const bad_signers[] = {
		"../ca/mid/key.pem", "/etc/passwd", "ca/../key.pem",
		"ca/mid/../../x", "ca/root/key.pem", "ca/Mid/cert.pem",
		"ca/.mid/cert.pem", "ca/mid/other.pem", "ca/mid/cert.pem/x",
		"ca//cert.pem", "ca/mid/", "hallmark.db", "ca/mid\n/cert.pem",
		"x", "ca/mid/cert.pem ", "./ca/mid/cert.pem",
	};
	static const char *const bad_backup[] = {
		"../hallmark.db", "hallmark.db-wal", "/hallmark.db",
		"ca/root/cert.pem/../../../etc", "ca/root/secret",
	};
	struct hm_arc	 a, b;
	unsigned char	*der;
	char		 name[64];
	size_t		 i, len;
	hm_err		 err;

	(void)state;
	for (i = 0; i < sizeof(bad_signers) / sizeof(bad_signers[0]); i++) {
		arc_sample(&a, HM_ARC_SIGNERS);
		HM_CHECK(hm_arc_add(&a, bad_signers[i], strstr(bad_signers[i],
		    "key") ? 0600 : 0644, "x", 1, &err), &err);
		refused(&a, HM_ARC_SIGNERS, HM_E_INVALID, bad_signers[i]);
	}
	for (i = 0; i < sizeof(bad_backup) / sizeof(bad_backup[0]); i++) {
		memset(&a, 0, sizeof(a));
		a.kind = HM_ARC_BACKUP;
		HM_CHECK(hm_arc_add(&a, "hallmark.db", 0600, "db", 2, &err),
		    &err);
		HM_CHECK(hm_arc_add(&a, bad_backup[i], 0600, "x", 1, &err),
		    &err);
		refused(&a, HM_ARC_BACKUP, HM_E_INVALID, bad_backup[i]);
	}
	/* The root's key is allowed in a backup, not in an export. */
	memset(&a, 0, sizeof(a));
	a.kind = HM_ARC_BACKUP;
	HM_CHECK(hm_arc_add(&a, "hallmark.db", 0600, "db", 2, &err), &err);
	HM_CHECK(hm_arc_add(&a, "ca/root/key.pem", 0600, "k", 1, &err), &err);
	HM_CHECK(hm_arc_encode(&a, &der, &len, &err), &err);
	HM_CHECK(hm_arc_decode(der, len, HM_ARC_BACKUP, &b, &err), &err);
	hm_arc_clear(&b);
	hm_arc_clear(&a);
	/* Trailing bytes, a version of 2. */
	der = OPENSSL_realloc(der, len + 1);
	der[len] = 0;
	assert_int_equal(hm_arc_decode(der, len + 1, HM_ARC_BACKUP, &b, &err),
	    HM_E_INVALID);
	der[hdr_len(der) + 2] = 2;
	assert_int_equal(hm_arc_decode(der, len, HM_ARC_BACKUP, &b, &err),
	    HM_E_INVALID);
	assert_non_null(strstr(err.msg, "version"));
	OPENSSL_free(der);
	/* Modes: a key readable by others, a certificate executable. */
	arc_sample(&a, HM_ARC_SIGNERS);
	a.v[2].mode = 0644;
	refused(&a, HM_ARC_SIGNERS, HM_E_INVALID, "key 0644");
	arc_sample(&a, HM_ARC_SIGNERS);
	a.v[0].mode = 0755;
	refused(&a, HM_ARC_SIGNERS, HM_E_INVALID, "cert 0755");
	/* A name twice, an empty file, an empty archive. */
	arc_sample(&a, HM_ARC_SIGNERS);
	HM_CHECK(hm_arc_add(&a, "ca/mid-1/cert.pem", 0644, "x", 1, &err),
	    &err);
	refused(&a, HM_ARC_SIGNERS, HM_E_INVALID, "twice");
	arc_sample(&a, HM_ARC_SIGNERS);
	a.v[1].len = 0;
	refused(&a, HM_ARC_SIGNERS, HM_E_INVALID, "empty file");
	memset(&a, 0, sizeof(a));
	a.kind = HM_ARC_SIGNERS;
	refused(&a, HM_ARC_SIGNERS, HM_E_INVALID, "empty archive");
	/* Too many entries: HM_ARCHIVE_ENTRIES_MAX is the most. */
	memset(&a, 0, sizeof(a));
	a.kind = HM_ARC_SIGNERS;
	for (i = 0; i < HM_ARCHIVE_ENTRIES_MAX; i++) {
		snprintf(name, sizeof(name), "ca/c%zu/cert.pem", i);
		HM_CHECK(hm_arc_add(&a, name, 0644, "c", 1, &err), &err);
	}
	HM_CHECK(hm_arc_encode(&a, &der, &len, &err), &err);
	HM_CHECK(hm_arc_decode(der, len, HM_ARC_SIGNERS, &b, &err), &err);
	hm_arc_clear(&b);
	OPENSSL_free(der);
	HM_CHECK(hm_arc_add(&a, "ca/one-more/cert.pem", 0644, "c", 1, &err),
	    &err);
	refused(&a, HM_ARC_SIGNERS, HM_E_TOOBIG, "too many entries");
	/* Over the size cap, before any parsing. */
	assert_int_equal(hm_arc_decode((const unsigned char *)"", (size_t)
	    HM_ARCHIVE_MAX + 1, HM_ARC_SIGNERS, &b, &err), HM_E_TOOBIG);
}

static struct {
	EVP_PKEY	*rsa, *ec, *other, *ed;
	X509		*rsa_x, *ec_x, *other_x, *ed_x;
} rx;

static int
setup(void **state)
{
	(void)state;
	rx.rsa_x = recip_cert("RSA", "rsa recipient", &rx.rsa);
	rx.ec_x = recip_cert("EC", "ec recipient", &rx.ec);
	rx.other_x = recip_cert("EC", "someone else", &rx.other);
	rx.ed_x = recip_cert("ED25519", "ed recipient", &rx.ed);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(rx.rsa);
	EVP_PKEY_free(rx.ec);
	EVP_PKEY_free(rx.other);
	EVP_PKEY_free(rx.ed);
	X509_free(rx.rsa_x);
	X509_free(rx.ec_x);
	X509_free(rx.other_x);
	X509_free(rx.ed_x);
	return 0;
}

static void
opens(const unsigned char *env, size_t len, EVP_PKEY *k, X509 *x,
    const char *want)
{
	unsigned char	*pt;
	size_t		 ptlen;
	hm_err		 err;

	HM_CHECK(hm_arc_open(env, len, k, x, &pt, &ptlen, &err), &err);
	assert_int_equal(ptlen, strlen(want));
	assert_memory_equal(pt, want, ptlen);
	free(pt);
}

static void
test_envelope(void **state)
{
	static const char	 msg[] = "the archive's DER";
	X509			*both[2] = { rx.rsa_x, rx.ec_x };
	X509			*ed[1] = { rx.ed_x };
	const unsigned char	*p;
	unsigned char		*env, *pt = NULL;
	size_t			 len, ptlen;
	CMS_ContentInfo		*cms;
	STACK_OF(CMS_RecipientInfo) *ris;
	X509_ALGOR		*alg;
	hm_err			 err;

	(void)state;
	HM_CHECK(hm_arc_seal((const unsigned char *)msg, strlen(msg), both, 2,
	    &env, &len, &err), &err);
	opens(env, len, rx.rsa, rx.rsa_x, msg);
	opens(env, len, rx.rsa, NULL, msg);
	opens(env, len, rx.ec, rx.ec_x, msg);
	opens(env, len, rx.ec, NULL, msg);
	/* Not for another key, with or without its certificate. */
	assert_int_equal(hm_arc_open(env, len, rx.other, NULL, &pt, &ptlen,
	    &err), HM_E_SIGNATURE);
	assert_string_equal(err.msg, "archive is damaged or not for this key");
	assert_int_equal(hm_arc_open(env, len, rx.other, rx.other_x, &pt,
	    &ptlen, &err), HM_E_SIGNATURE);
	assert_null(pt);
	/* A key that is not the certificate's. */
	assert_int_equal(hm_arc_open(env, len, rx.rsa, rx.ec_x, &pt, &ptlen,
	    &err), HM_E_INVALID);
	/* The structure: AuthEnvelopedData, RSA by OAEP, EC by agreement. */
	p = env;
	assert_non_null(cms = d2i_CMS_ContentInfo(NULL, &p, (long)len));
	assert_int_equal(OBJ_obj2nid(CMS_get0_type(cms)),
	    NID_id_smime_ct_authEnvelopedData);
	assert_non_null(ris = CMS_get0_RecipientInfos(cms));
	assert_int_equal(sk_CMS_RecipientInfo_num(ris), 2);
	assert_int_equal(CMS_RecipientInfo_type(
	    sk_CMS_RecipientInfo_value(ris, 0)), CMS_RECIPINFO_TRANS);
	assert_int_equal(CMS_RecipientInfo_ktri_get0_algs(
	    sk_CMS_RecipientInfo_value(ris, 0), NULL, NULL, &alg), 1);
	assert_int_equal(OBJ_obj2nid(alg->algorithm), NID_rsaesOaep);
	assert_int_equal(CMS_RecipientInfo_type(
	    sk_CMS_RecipientInfo_value(ris, 1)), CMS_RECIPINFO_AGREE);
	CMS_ContentInfo_free(cms);
	OPENSSL_free(env);
	/* Ed25519 can not receive one; no recipient at all is refused. */
	assert_int_equal(hm_arc_seal((const unsigned char *)msg, strlen(msg),
	    ed, 1, &env, &len, &err), HM_E_POLICY);
	assert_int_equal(hm_arc_seal((const unsigned char *)msg, strlen(msg),
	    both, 0, &env, &len, &err), HM_E_INVALID);
}

/* Every byte of a one-recipient envelope, flipped, is refused. */
static void
flips(X509 *x, EVP_PKEY *k)
{
	static const unsigned char	 masks[] = { 0x01, 0x80, 0xff };
	static const char		 msg[] = "a small archive";
	unsigned char			*env, *pt, *copy;
	size_t				 len, ptlen, i, m;
	hm_err				 err;
	int				 rc;

	HM_CHECK(hm_arc_seal((const unsigned char *)msg, strlen(msg), &x, 1,
	    &env, &len, &err), &err);
	opens(env, len, k, x, msg);
	for (i = 0; i < len; i++)
		for (m = 0; m < sizeof(masks); m++) {
			copy = tu_copy(env, len);
			copy[i] ^= masks[m];
			pt = NULL;
			rc = hm_arc_open(copy, len, k, x, &pt, &ptlen, &err);
			if (rc != HM_E_SIGNATURE)
				fail_msg("byte %zu of %zu ^ %02x: %d", i, len,
				    masks[m], rc);
			assert_null(pt);
			assert_non_null(strstr(err.msg, "damaged"));
			free(copy);
		}
	/* Cut short anywhere, or grown by a byte. */
	for (i = 0; i < len; i++)
		assert_int_equal(hm_arc_open(env, i, k, x, &pt, &ptlen, &err),
		    HM_E_SIGNATURE);
	copy = malloc(len + 1);
	memcpy(copy, env, len);
	copy[len] = 0;
	assert_int_equal(hm_arc_open(copy, len + 1, k, x, &pt, &ptlen, &err),
	    HM_E_SIGNATURE);
	free(copy);
	OPENSSL_free(env);
}

static void
test_flips_rsa(void **state)
{
	(void)state;
	flips(rx.rsa_x, rx.rsa);
}

static void
test_flips_ec(void **state)
{
	(void)state;
	flips(rx.ec_x, rx.ec);
}

static int
give_pass(const char *what, hm_pass_kind kind, const char *value,
    int confirm, char **pass, hm_err *err, void *arg)
{
	(void)kind;
	(void)value;
	(void)confirm;
	(void)err;
	assert_string_equal(what, "CA 'mid2'");
	*pass = strdup(arg);
	return HM_OK;
}

static int
count_import(const char *name, int already, void *arg)
{
	int	*n = arg;

	(void)name;
	n[already ? 1 : 0]++;
	return 0;
}

/* A server certificate from CA name of ca, verified by openssl. */
static void
issues(hm_ca *ca, const char *name, const char *pass)
{
	hm_issue_req	 req;
	hm_signer	*s;
	hm_key		*k;
	hm_csr		*csr;
	hm_names	*sans;
	hm_cert		*c;
	hm_err		 err;

	HM_CHECK(hm_ca_signer(ca, name, pass, &s, &err), &err);
	HM_CHECK(hm_key_generate(HM_KEY_P256, &k, &err), &err);
	assert_non_null(sans = hm_names_new());
	HM_CHECK(hm_names_add(sans, "dns:web.example", &err), &err);
	HM_CHECK(hm_csr_new(k, "web.example", sans, &csr, &err), &err);
	memset(&req, 0, sizeof(req));
	req.profile = HM_PROFILE_SERVER;
	req.csr = csr;
	HM_CHECK(hm_issue(s, &req, &c, NULL, &err), &err);
	assert_int_equal(tu_verify(s, c, "sslserver"), 0);
	hm_cert_free(c);
	hm_csr_free(csr);
	hm_names_free(sans);
	hm_key_free(k);
	hm_signer_free(s);
}

static void
test_signers_and_backup(void **state)
{
	const char *const	 root_only[] = { HM_ROOT_NAME };
	const char *const	 nope[] = { "nope" };
	const char *const	 just_mid[] = { "mid" };
	hm_ca_params		 p;
	hm_ca_info		 info;
	hm_ca			*ca, *online, *other, *back;
	hm_signer		*root, *oroot, *s;
	hm_cert			*recips[2], *rootc, *c;
	hm_key			*eck, *rsak;
	struct hm_arc		 a;
	unsigned char		*out, *pt, *bk;
	size_t			 len, ptlen, bklen, i;
	int			 counts[2] = { 0, 0 };
	hm_err			 err;

	(void)state;
	tu_root_ca("src", "Backup Root", &ca, &root);
	memset(&p, 0, sizeof(p));
	p.name = "mid";
	p.cn = "Backup Mid";
	p.pathlen = -1;
	HM_CHECK(hm_ca_new_intermediate(ca, root, &p, &c, NULL, &err), &err);
	hm_cert_free(c);
	p.name = "mid2";
	p.cn = "Backup Mid 2";
	p.pass = "mid2-passphrase";
	HM_CHECK(hm_ca_new_intermediate(ca, root, &p, &c, NULL, &err), &err);
	hm_cert_free(c);
	recips[0] = as_cert(rx.rsa_x);
	recips[1] = as_cert(rx.ec_x);
	eck = as_key(rx.ec);
	rsak = as_key(rx.rsa);

	/* Export: refusals first. */
	assert_int_equal(hm_archive_signers(ca, root_only, 1, give_pass,
	    "mid2-passphrase", (const hm_cert *const *)recips, 2, &out, &len,
	    &err), HM_E_POLICY);
	assert_int_equal(hm_archive_signers(ca, nope, 1, give_pass,
	    "mid2-passphrase", (const hm_cert *const *)recips, 2, &out, &len,
	    &err), HM_E_NOTFOUND);
	assert_int_equal(hm_archive_signers(ca, NULL, 0, NULL, NULL,
	    (const hm_cert *const *)recips, 2, &out, &len, &err),
	    HM_E_PASSPHRASE);
	/* Only mid: no passphrase needed. */
	HM_CHECK(hm_archive_signers(ca, just_mid, 1, NULL, NULL,
	    (const hm_cert *const *)recips, 2, &out, &len, &err), &err);
	OPENSSL_free(out);
	HM_CHECK(hm_archive_signers(ca, NULL, 0, give_pass, "mid2-passphrase",
	    (const hm_cert *const *)recips, 2, &out, &len, &err), &err);
	/* Inside: the root's certificate and both intermediates, keys too. */
	HM_CHECK(hm_arc_open(out, len, rx.ec, NULL, &pt, &ptlen, &err), &err);
	HM_CHECK(hm_arc_decode(pt, ptlen, HM_ARC_SIGNERS, &a, &err), &err);
	assert_int_equal(a.n, 5);
	assert_string_equal(a.v[0].name, "ca/root/cert.pem");
	for (i = 1; i < a.n; i++) {
		assert_null(strstr(a.v[i].name, "root"));
		if (strstr(a.v[i].name, "key.pem") != NULL)
			assert_non_null(strstr((char *)a.v[i].data,
			    "-----BEGIN PRIVATE KEY-----"));
	}
	hm_arc_clear(&a);
	free(pt);

	/* An online CA from the root certificate alone takes them in. */
	assert_int_equal(X509_up_ref(root->root), 1);
	assert_non_null(rootc = hm_cert_from_x509(root->root, &err));
	/* Made only by an archive that opens and checks out. */
	pt = tu_copy(out, len);
	pt[len - 30] ^= 0x04;
	assert_int_equal(hm_archive_import_new(tu_path("online0"), rootc, pt,
	    len, eck, NULL, NULL, NULL, NULL, &back, &err), HM_E_SIGNATURE);
	free(pt);
	assert_int_equal(tu_sh("test -e %s", tu_path("online0")), 1);
	HM_CHECK(hm_archive_import_new(tu_path("online0"), rootc, out, len,
	    eck, NULL, NULL, count_import, counts, &back, &err), &err);
	assert_int_equal(counts[0], 2);
	counts[0] = 0;
	issues(back, "mid", NULL);
	hm_ca_close(back);
	HM_CHECK(hm_ca_init_from_root(tu_path("online"), rootc, &online,
	    &err), &err);
	assert_int_equal(hm_ca_signer(online, NULL, NULL, &s, &err),
	    HM_E_NOTFOUND);
	assert_int_equal(hm_archive_import(online, out, len, eck, NULL,
	    "short", NULL, NULL, &err), HM_E_POLICY);
	HM_CHECK(hm_archive_import(online, out, len, eck, recips[1],
	    "online-passphrase", count_import, counts, &err), &err);
	assert_int_equal(counts[0], 2);
	assert_int_equal(counts[1], 0);
	assert_true(hm_ca_key_encrypted(online, "mid"));
	/* The root is known there, its key is not. */
	HM_CHECK(hm_ca_get_info(online, NULL, &info, &err), &err);
	assert_false(info.has_key);
	assert_false(info.encrypted);
	HM_CHECK(hm_ca_get_info(online, "mid", &info, &err), &err);
	assert_true(info.has_key);
	assert_true(info.encrypted);
	issues(online, "mid", "online-passphrase");
	issues(online, "mid2", "online-passphrase");
	/* Twice: nothing changes. */
	HM_CHECK(hm_archive_import(online, out, len, rsak, NULL, NULL,
	    count_import, counts, &err), &err);
	assert_int_equal(counts[0], 2);
	assert_int_equal(counts[1], 2);
	/* Another root's CA refuses them, and keeps nothing. */
	tu_root_ca("other", "Other Root", &other, &oroot);
	assert_int_equal(hm_archive_import(other, out, len, eck, NULL, NULL,
	    NULL, NULL, &err), HM_E_POLICY);
	assert_non_null(strstr(err.msg, "not this CA's root"));
	assert_int_equal(hm_ca_get_info(other, "mid", NULL, &err),
	    HM_E_NOTFOUND);
	/* A backup is not signers, nor the other way round. */
	assert_int_equal(hm_archive_restore(tu_path("nope"), out, len, eck,
	    NULL, &err), HM_E_INVALID);
	OPENSSL_free(out);

	/* Backup and restore: the root's key comes back too. */
	HM_CHECK(hm_archive_backup(ca, (const hm_cert *const *)recips, 2, &bk,
	    &bklen, &err), &err);
	assert_int_equal(hm_archive_import(online, bk, bklen, eck, NULL, NULL,
	    NULL, NULL, &err), HM_E_INVALID);
	/* Tampered: refused, and no directory made. */
	out = tu_copy(bk, bklen);
	out[bklen / 2] ^= 0x10;
	assert_int_equal(hm_archive_restore(tu_path("restored"), out, bklen,
	    rsak, NULL, &err), HM_E_SIGNATURE);
	assert_int_equal(tu_sh("test -e %s", tu_path("restored")), 1);
	free(out);
	HM_CHECK(hm_archive_restore(tu_path("restored"), bk, bklen, rsak,
	    recips[0], &err), &err);
	HM_CHECK(hm_ca_open(tu_path("restored"), &back, &err), &err);
	issues(back, NULL, NULL);
	issues(back, "mid2", "mid2-passphrase");
	hm_ca_close(back);
	assert_int_equal(hm_archive_restore(tu_path("restored"), bk, bklen,
	    rsak, NULL, &err), HM_E_EXISTS);
	OPENSSL_free(bk);

	hm_cert_free(rootc);
	hm_cert_free(recips[0]);
	hm_cert_free(recips[1]);
	hm_key_free(eck);
	hm_key_free(rsak);
	hm_signer_free(root);
	hm_signer_free(oroot);
	hm_ca_close(ca);
	hm_ca_close(online);
	hm_ca_close(other);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_codec_roundtrip),
		cmocka_unit_test(test_codec_bounds),
		cmocka_unit_test(test_envelope),
		cmocka_unit_test(test_flips_rsa),
		cmocka_unit_test(test_flips_ec),
		cmocka_unit_test(test_signers_and_backup),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
