/* lib/key.c: key generation, PKCS#8 files, scrypt encryption, policy. */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "testutil.h"

#define PASS		"hallmark-test-pass"
#define WRONG_PASS	"hallmark-test-pasS"

static const struct {
	hm_keytype	 t;
	const char	*name;
	int		 base_id;
	int		 bits;
} types[] = {
	{ HM_KEY_ED25519, "ed25519", EVP_PKEY_ED25519, 256 },
	{ HM_KEY_P256, "p256", EVP_PKEY_EC, 256 },
	{ HM_KEY_P384, "p384", EVP_PKEY_EC, 384 },
	{ HM_KEY_RSA2048, "rsa2048", EVP_PKEY_RSA, 2048 },
	{ HM_KEY_RSA3072, "rsa3072", EVP_PKEY_RSA, 3072 },
	{ HM_KEY_RSA4096, "rsa4096", EVP_PKEY_RSA, 4096 },
};
#define NTYPES	(sizeof(types) / sizeof(types[0]))
enum { I_ED25519, I_P256, I_P384, I_RSA2048 };	/* indices into types */

/* One key of each type, generated once: RSA 3072 and 4096 are slow. */
static hm_key	*keys[NTYPES];

static unsigned
file_mode(const char *path)
{
	struct stat	st;

	if (stat(path, &st) == -1)
		fail_msg("stat %s: %s", path, strerror(errno));
	return st.st_mode & 07777;
}

static int
group_setup(void **state)
{
	hm_err	err = { 0, "" };
	size_t	i;

	(void)state;
	for (i = 0; i < NTYPES; i++)
		if (hm_key_generate(types[i].t, &keys[i], &err) != HM_OK) {
			fprintf(stderr, "generating %s: %s\n", types[i].name,
			    err.msg);
			return -1;
		}
	return 0;
}

static int
group_teardown(void **state)
{
	size_t	i;

	(void)state;
	for (i = 0; i < NTYPES; i++) {
		hm_key_free(keys[i]);
		keys[i] = NULL;
	}
	return 0;
}

static void
test_keytype_parse(void **state)
{
	static const char	*bad[] = {
		"", "P256", "p-256", "P-256", "p256 ", " p256", "p521",
		"ed448", "Ed25519", "rsa", "rsa1024", "rsa2047", "rsa8192",
		"RSA2048", "secp256k1", "none", "ec", "p256\n",
	};
	hm_keytype		 t;
	hm_err			 err;
	size_t			 i;

	(void)state;
	for (i = 0; i < NTYPES; i++) {
		t = HM_KEY_NONE;
		HM_CHECK(hm_keytype_parse(types[i].name, &t, &err), &err);
		assert_int_equal(t, types[i].t);
		assert_string_equal(hm_keytype_name(types[i].t),
		    types[i].name);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		t = (hm_keytype)77;
		err.code = 0;
		err.msg[0] = '\0';
		if (hm_keytype_parse(bad[i], &t, &err) != HM_E_INVALID)
			fail_msg("key type '%s' not refused", bad[i]);
		assert_int_equal(err.code, HM_E_INVALID);
		assert_true(strlen(err.msg) > 0);
		assert_int_equal(t, 77);
	}
	err.msg[0] = '\0';
	assert_int_equal(hm_keytype_parse(NULL, &t, &err), HM_E_INVALID);
	assert_true(strlen(err.msg) > 0);
	assert_string_equal(hm_keytype_name(HM_KEY_NONE), "none");
}

static void
test_generate(void **state)
{
	hm_key	*k, *sentinel = (hm_key *)&k;
	hm_err	 err = { 0, "" };
	size_t	 i, j;

	(void)state;
	for (i = 0; i < NTYPES; i++) {
		assert_non_null(keys[i]);
		assert_int_equal(hm_key_type(keys[i]), types[i].t);
		assert_int_equal(EVP_PKEY_get_base_id(keys[i]->pkey),
		    types[i].base_id);
		assert_int_equal(EVP_PKEY_get_bits(keys[i]->pkey),
		    types[i].bits);
		/* The policy check agrees with what was generated. */
		assert_int_equal(hm_pkey_type(keys[i]->pkey, &err),
		    types[i].t);
		for (j = 0; j < i; j++)
			assert_int_not_equal(EVP_PKEY_eq(keys[i]->pkey,
			    keys[j]->pkey), 1);
	}
	/* Two keys of one type differ. */
	HM_CHECK(hm_key_generate(HM_KEY_P256, &k, &err), &err);
	assert_int_not_equal(EVP_PKEY_eq(k->pkey, keys[I_P256]->pkey), 1);
	hm_key_free(k);

	k = sentinel;
	err.msg[0] = '\0';
	assert_int_equal(hm_key_generate(HM_KEY_NONE, &k, &err), HM_E_INVALID);
	assert_int_equal(err.code, HM_E_INVALID);
	assert_true(strlen(err.msg) > 0);
	assert_ptr_equal(k, sentinel);
	assert_int_equal(hm_key_generate((hm_keytype)99, &k, &err),
	    HM_E_INVALID);
	assert_ptr_equal(k, sentinel);
}

static void
test_save_load_all(void **state)
{
	char	 path[64], *pem;
	hm_key	*k;
	hm_err	 err = { 0, "" };
	size_t	 i;

	(void)state;
	for (i = 0; i < NTYPES; i++) {
		snprintf(path, sizeof(path), "plain-%s.pem", types[i].name);
		HM_CHECK(hm_key_save(keys[i], tu_path(path), NULL, 0, &err),
		    &err);
		assert_int_equal(file_mode(tu_path(path)), 0600);
		pem = (char *)tu_slurp(tu_path(path), NULL);
		assert_non_null(strstr(pem, "-----BEGIN PRIVATE KEY-----\n"));
		assert_null(strstr(pem, "ENCRYPTED"));
		free(pem);
		assert_int_equal(hm_key_file_is_encrypted(tu_path(path)), 0);
		/* Real OpenSSL reads it without a passphrase. */
		assert_int_equal(tu_sh("openssl pkey -in '%s' -noout "
		    "-passin pass: 2>/dev/null", tu_path(path)), 0);

		HM_CHECK(hm_key_load(tu_path(path), NULL, &k, &err), &err);
		assert_int_equal(hm_key_type(k), types[i].t);
		assert_int_equal(EVP_PKEY_eq(k->pkey, keys[i]->pkey), 1);
		hm_key_free(k);
		/* A passphrase given for a plain key does no harm. */
		HM_CHECK(hm_key_load(tu_path(path), PASS, &k, &err), &err);
		assert_int_equal(EVP_PKEY_eq(k->pkey, keys[i]->pkey), 1);
		hm_key_free(k);
	}
}

static void
test_save_refuses_overwrite(void **state)
{
	const char	*path = tu_path("overwrite.pem");
	char		*before, *after;
	hm_key		*k;
	hm_err		 err = { 0, "" };

	(void)state;
	HM_CHECK(hm_key_save(keys[I_P256], path, NULL, 0, &err), &err);
	before = (char *)tu_slurp(path, NULL);
	err.msg[0] = '\0';
	assert_int_equal(hm_key_save(keys[I_ED25519], path, NULL, 0, &err),
	    HM_E_EXISTS);
	assert_int_equal(err.code, HM_E_EXISTS);
	assert_true(strlen(err.msg) > 0);
	after = (char *)tu_slurp(path, NULL);
	assert_string_equal(before, after);
	free(after);

	HM_CHECK(hm_key_save(keys[I_ED25519], path, NULL, HM_F_FORCE, &err),
	    &err);
	assert_int_equal(file_mode(path), 0600);
	HM_CHECK(hm_key_load(path, NULL, &k, &err), &err);
	assert_int_equal(hm_key_type(k), HM_KEY_ED25519);
	assert_int_equal(EVP_PKEY_eq(k->pkey, keys[I_ED25519]->pkey), 1);
	hm_key_free(k);
	free(before);
}

static void
check_encrypted(size_t i)
{
	char	 path[64], plain[64], asn1[64], *pem, *txt;
	hm_key	*k, *sentinel = (hm_key *)&k;
	hm_err	 err = { 0, "" };

	snprintf(path, sizeof(path), "enc-%s.pem", types[i].name);
	HM_CHECK(hm_key_save(keys[i], tu_path(path), PASS, 0, &err), &err);
	assert_int_equal(file_mode(tu_path(path)), 0600);
	pem = (char *)tu_slurp(tu_path(path), NULL);
	assert_non_null(strstr(pem,
	    "-----BEGIN ENCRYPTED PRIVATE KEY-----\n"));
	assert_null(strstr(pem, "BEGIN PRIVATE KEY"));
	free(pem);
	assert_int_equal(hm_key_file_is_encrypted(tu_path(path)), 1);

	/* No passphrase, then a wrong one: refused, nothing returned. */
	k = sentinel;
	err.code = 0;
	err.msg[0] = '\0';
	assert_int_equal(hm_key_load(tu_path(path), NULL, &k, &err),
	    HM_E_PASSPHRASE);
	assert_int_equal(err.code, HM_E_PASSPHRASE);
	assert_true(strlen(err.msg) > 0);
	assert_ptr_equal(k, sentinel);
	err.code = 0;
	err.msg[0] = '\0';
	assert_int_equal(hm_key_load(tu_path(path), WRONG_PASS, &k, &err),
	    HM_E_PASSPHRASE);
	assert_int_equal(err.code, HM_E_PASSPHRASE);
	assert_true(strlen(err.msg) > 0);
	assert_ptr_equal(k, sentinel);
	assert_int_equal(hm_key_load(tu_path(path), "", &k, &err),
	    HM_E_PASSPHRASE);
	assert_ptr_equal(k, sentinel);

	HM_CHECK(hm_key_load(tu_path(path), PASS, &k, &err), &err);
	assert_int_equal(hm_key_type(k), types[i].t);
	assert_int_equal(EVP_PKEY_eq(k->pkey, keys[i]->pkey), 1);
	hm_key_free(k);

	/* Real OpenSSL decrypts it with the passphrase, and only with it. */
	snprintf(plain, sizeof(plain), "dec-%s.pem", types[i].name);
	assert_int_equal(tu_sh("openssl pkey -in '%s' -passin pass:" PASS
	    " -out '%s'", tu_path(path), tu_path(plain)), 0);
	HM_CHECK(hm_key_load(tu_path(plain), NULL, &k, &err), &err);
	assert_int_equal(EVP_PKEY_eq(k->pkey, keys[i]->pkey), 1);
	hm_key_free(k);
	assert_int_not_equal(tu_sh("openssl pkey -in '%s' -passin pass:"
	    WRONG_PASS " -noout 2>/dev/null", tu_path(path)), 0);

	/* PBES2 with scrypt as the key derivation, AES-256-CBC. */
	snprintf(asn1, sizeof(asn1), "asn1-%s.txt", types[i].name);
	assert_int_equal(tu_sh("openssl asn1parse -in '%s' > '%s'",
	    tu_path(path), tu_path(asn1)), 0);
	txt = (char *)tu_slurp(tu_path(asn1), NULL);
	/*
	 * OpenSSL 3.0 prints id-scrypt (1.3.6.1.4.1.11591.4.11) by its long
	 * name "scrypt"; accept either.
	 */
	if ((strstr(txt, "OBJECT            :scrypt\n") == NULL &&
	    strstr(txt, ":id-scrypt") == NULL) ||
	    strstr(txt, ":PBES2") == NULL ||
	    strstr(txt, ":aes-256-cbc") == NULL)
		fail_msg("asn1parse of %s:\n%s", path, txt);
	free(txt);
}

static void
test_encrypted(void **state)
{
	size_t	i;

	(void)state;
	/* One of each family; the RSA sizes differ only in length. */
	for (i = 0; i < NTYPES; i++)
		if (types[i].t != HM_KEY_RSA3072 &&
		    types[i].t != HM_KEY_RSA4096)
			check_encrypted(i);
}

/* A traditional ("Proc-Type: 4,ENCRYPTED") PEM counts as encrypted too. */
static void
test_traditional_encrypted(void **state)
{
	const char	*plain = tu_path("trad-plain.pem");
	const char	*enc = tu_path("trad-enc.pem");
	char		*pem;
	hm_key		*k;
	hm_err		 err = { 0, "" };

	(void)state;
	HM_CHECK(hm_key_save(keys[I_RSA2048], plain, NULL, 0, &err), &err);
	assert_int_equal(tu_sh("openssl rsa -traditional -in '%s' -aes256 "
	    "-passout pass:" PASS " -out '%s' 2>/dev/null", plain, enc), 0);
	pem = (char *)tu_slurp(enc, NULL);
	assert_non_null(strstr(pem, "Proc-Type: 4,ENCRYPTED"));
	free(pem);
	assert_int_equal(hm_key_file_is_encrypted(enc), 1);
	assert_int_equal(hm_key_load(enc, NULL, &k, &err), HM_E_PASSPHRASE);
	assert_int_equal(hm_key_load(enc, WRONG_PASS, &k, &err),
	    HM_E_PASSPHRASE);
	HM_CHECK(hm_key_load(enc, PASS, &k, &err), &err);
	assert_int_equal(EVP_PKEY_eq(k->pkey, keys[I_RSA2048]->pkey), 1);
	hm_key_free(k);
}

static void
load_refused(const char *path, int want)
{
	hm_key	*k, *sentinel = (hm_key *)&k;
	hm_err	 err = { 0, "" };
	int	 rc;

	k = sentinel;
	rc = hm_key_load(path, NULL, &k, &err);
	if (rc != want)
		fail_msg("loading %s gave %d (%s), want %d", path, rc, err.msg,
		    want);
	assert_int_equal(err.code, want);
	assert_true(strlen(err.msg) > 0);
	assert_ptr_equal(k, sentinel);
}

static void
test_garbage(void **state)
{
	static const char	 fake[] = "-----BEGIN PRIVATE KEY-----\n"
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n"
	    "-----END PRIVATE KEY-----\n";
	unsigned char		 rnd[2048];
	hm_err			 err = { 0, "" };
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(rnd); i++)
		rnd[i] = (unsigned char)(i * 7919 + (i >> 3) * 31);
	tu_write(tu_path("garbage.bin"), rnd, sizeof(rnd));
	load_refused(tu_path("garbage.bin"), HM_E_INVALID);
	assert_int_equal(hm_key_file_is_encrypted(tu_path("garbage.bin")), 0);
	tu_write(tu_path("garbage.txt"), "hello, I am not a key\n", 22);
	load_refused(tu_path("garbage.txt"), HM_E_INVALID);
	tu_write(tu_path("fake.pem"), fake, sizeof(fake) - 1);
	load_refused(tu_path("fake.pem"), HM_E_INVALID);
	tu_write(tu_path("empty.pem"), "", 0);
	load_refused(tu_path("empty.pem"), HM_E_INVALID);
	/* A public key is not a private key. */
	HM_CHECK(hm_key_save(keys[I_P256], tu_path("pubsrc.pem"), NULL, 0,
	    &err), &err);
	assert_int_equal(tu_sh("openssl pkey -in '%s' -pubout -out '%s'",
	    tu_path("pubsrc.pem"), tu_path("pub.pem")), 0);
	load_refused(tu_path("pub.pem"), HM_E_INVALID);

	load_refused(tu_path("missing.pem"), HM_E_NOTFOUND);
	assert_int_equal(hm_key_file_is_encrypted(tu_path("missing.pem")), 0);
}

static void
test_policy(void **state)
{
	(void)state;
	assert_int_equal(tu_sh("openssl genpkey -algorithm RSA -pkeyopt "
	    "rsa_keygen_bits:1024 -out '%s' 2>/dev/null",
	    tu_path("rsa1024.pem")), 0);
	load_refused(tu_path("rsa1024.pem"), HM_E_POLICY);
	assert_int_equal(tu_sh("openssl genpkey -algorithm EC -pkeyopt "
	    "ec_paramgen_curve:secp256k1 -out '%s' 2>/dev/null",
	    tu_path("k1.pem")), 0);
	load_refused(tu_path("k1.pem"), HM_E_POLICY);
	assert_int_equal(tu_sh("openssl genpkey -algorithm ED448 -out '%s' "
	    "2>/dev/null", tu_path("ed448.pem")), 0);
	load_refused(tu_path("ed448.pem"), HM_E_POLICY);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keytype_parse),
		cmocka_unit_test(test_generate),
		cmocka_unit_test(test_save_load_all),
		cmocka_unit_test(test_save_refuses_overwrite),
		cmocka_unit_test(test_encrypted),
		cmocka_unit_test(test_traditional_encrypted),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_policy),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
