/* Key generation, loading and saving (PKCS#8, scrypt when encrypted). */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "internal.h"

#define KEY_FILE_MAX	(64 * 1024)
/*
 * scrypt cost for encrypted keys: N = 2^14, r = 8 (16 MiB), the most that
 * OpenSSL decrypts without a raised memory limit, so openssl pkcs8 reads it.
 */
#define SCRYPT_N	16384
#define SCRYPT_R	8
#define SCRYPT_P	1

static const struct {
	hm_keytype	 t;
	const char	*name;
} keytypes[] = {
	{ HM_KEY_ED25519,	"ed25519" },
	{ HM_KEY_P256,		"p256" },
	{ HM_KEY_P384,		"p384" },
	{ HM_KEY_RSA2048,	"rsa2048" },
	{ HM_KEY_RSA3072,	"rsa3072" },
	{ HM_KEY_RSA4096,	"rsa4096" },
};

int
hm_keytype_parse(const char *s, hm_keytype *out, hm_err *err)
{
	size_t	i;

	for (i = 0; s != NULL && i < sizeof(keytypes) / sizeof(keytypes[0]);
	    i++)
		if (strcmp(s, keytypes[i].name) == 0) {
			*out = keytypes[i].t;
			return HM_OK;
		}
	return hm_seterr(err, HM_E_INVALID, "unknown key type '%s' (want "
	    "ed25519, p256, p384, rsa2048, rsa3072 or rsa4096)",
	    s == NULL ? "" : s);
}

const char *
hm_keytype_name(hm_keytype t)
{
	size_t	i;

	for (i = 0; i < sizeof(keytypes) / sizeof(keytypes[0]); i++)
		if (keytypes[i].t == t)
			return keytypes[i].name;
	return "none";
}

/* Classify a key, refusing anything policy does not allow. */
hm_keytype
hm_pkey_type(const EVP_PKEY *pk, hm_err *err)
{
	char	group[64];
	int	bits;

	switch (EVP_PKEY_get_base_id(pk)) {
	case EVP_PKEY_ED25519:
		return HM_KEY_ED25519;
	case EVP_PKEY_EC:
		if (!EVP_PKEY_get_group_name(pk, group, sizeof(group), NULL))
			break;
		if (strcmp(group, "prime256v1") == 0 ||
		    strcmp(group, "P-256") == 0)
			return HM_KEY_P256;
		if (strcmp(group, "secp384r1") == 0 ||
		    strcmp(group, "P-384") == 0)
			return HM_KEY_P384;
		hm_seterr(err, HM_E_POLICY, "EC curve %s is not allowed "
		    "(want P-256 or P-384)", group);
		return HM_KEY_NONE;
	case EVP_PKEY_RSA:
		bits = EVP_PKEY_get_bits(pk);
		if (bits < 2048) {
			hm_seterr(err, HM_E_POLICY, "RSA key of %d bits is too "
			    "weak (want at least 2048)", bits);
			return HM_KEY_NONE;
		}
		if (bits > 16384) {
			hm_seterr(err, HM_E_POLICY, "RSA key of %d bits is too "
			    "large (at most 16384)", bits);
			return HM_KEY_NONE;
		}
		if (bits >= 4096)
			return HM_KEY_RSA4096;
		return bits >= 3072 ? HM_KEY_RSA3072 : HM_KEY_RSA2048;
	default:
		break;
	}
	hm_seterr(err, HM_E_POLICY, "key algorithm %s is not allowed (want "
	    "Ed25519, P-256, P-384 or RSA >= 2048)",
	    OBJ_nid2sn(EVP_PKEY_get_base_id(pk)));
	return HM_KEY_NONE;
}

hm_key *
hm_key_wrap(EVP_PKEY *pk, hm_keytype t)
{
	hm_key	*k;

	if ((k = calloc(1, sizeof(*k))) == NULL)
		return NULL;
	k->pkey = pk;
	k->type = t;
	return k;
}

int
hm_key_generate(hm_keytype t, hm_key **out, hm_err *err)
{
	EVP_PKEY	*pk = NULL;
	hm_key		*k;

	switch (t) {
	case HM_KEY_ED25519:
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		break;
	case HM_KEY_P256:
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		break;
	case HM_KEY_P384:
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
		break;
	case HM_KEY_RSA2048:
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
		break;
	case HM_KEY_RSA3072:
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
		break;
	case HM_KEY_RSA4096:
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)4096);
		break;
	default:
		return hm_seterr(err, HM_E_INVALID, "no key type given");
	}
	if (pk == NULL)
		return hm_seterr_ssl(err, HM_E_INTERNAL, "generating a %s key",
		    hm_keytype_name(t));
	if ((k = hm_key_wrap(pk, t)) == NULL) {
		EVP_PKEY_free(pk);
		return hm_seterr(err, HM_E_NOMEM, "out of memory");
	}
	*out = k;
	return HM_OK;
}

struct passcb {
	const char	*pass;
	int		 asked;
};

/* Never prompt: the caller supplies the passphrase or there is none. */
static int
pass_cb(char *buf, int size, int rwflag, void *u)
{
	struct passcb	*pc = u;
	size_t		 n;

	(void)rwflag;
	pc->asked = 1;
	if (pc->pass == NULL)
		return -1;
	n = strlen(pc->pass);
	if (n > (size_t)size)
		return -1;
	memcpy(buf, pc->pass, n);
	return (int)n;
}

static int
is_encrypted_pem(const unsigned char *buf, size_t len)
{
	static const char	 tag[] = "-----BEGIN ENCRYPTED PRIVATE KEY-----";
	static const char	 proc[] = "Proc-Type: 4,ENCRYPTED";
	size_t			 i;

	for (i = 0; i + sizeof(tag) - 1 <= len; i++)
		if (memcmp(buf + i, tag, sizeof(tag) - 1) == 0 ||
		    (i + sizeof(proc) - 1 <= len &&
		    memcmp(buf + i, proc, sizeof(proc) - 1) == 0))
			return 1;
	return 0;
}

int
hm_key_file_is_encrypted(const char *path)
{
	unsigned char	*buf;
	size_t		 len;
	int		 r;

	if (hm_file_read(path, KEY_FILE_MAX, &buf, &len, NULL) != HM_OK)
		return 0;
	r = is_encrypted_pem(buf, len);
	OPENSSL_cleanse(buf, len);
	free(buf);
	return r;
}

int
hm_key_load(const char *path, const char *pass, hm_key **out, hm_err *err)
{
	unsigned char	*buf = NULL;
	size_t		 len = 0;
	BIO		*b = NULL;
	EVP_PKEY	*pk = NULL;
	struct passcb	 pc = { pass, 0 };
	hm_keytype	 t;
	hm_key		*k;
	int		 rc, enc;

	if ((rc = hm_file_read(path, KEY_FILE_MAX, &buf, &len, err)) != HM_OK)
		return rc;
	enc = is_encrypted_pem(buf, len);
	if (enc && pass == NULL) {
		rc = hm_seterr(err, HM_E_PASSPHRASE, "%s is encrypted: a "
		    "passphrase is needed", path);
		goto out;
	}
	if ((b = BIO_new_mem_buf(buf, (int)len)) == NULL) {
		rc = hm_seterr(err, HM_E_NOMEM, "out of memory");
		goto out;
	}
	if ((pk = PEM_read_bio_PrivateKey(b, NULL, pass_cb, &pc)) == NULL) {
		if (enc)
			rc = hm_seterr(err, HM_E_PASSPHRASE, "%s: wrong "
			    "passphrase", path);
		else
			rc = hm_seterr_ssl(err, HM_E_INVALID, "%s: not a PEM "
			    "private key", path);
		goto out;
	}
	if ((t = hm_pkey_type(pk, err)) == HM_KEY_NONE) {
		rc = err != NULL ? err->code : HM_E_POLICY;
		goto out;
	}
	if ((k = hm_key_wrap(pk, t)) == NULL) {
		rc = hm_seterr(err, HM_E_NOMEM, "out of memory");
		goto out;
	}
	pk = NULL;
	*out = k;
	rc = HM_OK;
 out:
	EVP_PKEY_free(pk);
	BIO_free(b);
	OPENSSL_cleanse(buf, len);
	free(buf);
	return rc;
}

int
hm_passphrase_check(const char *pass, hm_err *err)
{
	if (pass == NULL || strlen(pass) < HM_PASS_MIN)
		return hm_seterr(err, HM_E_POLICY, "passphrase is shorter "
		    "than %d characters", HM_PASS_MIN);
	return HM_OK;
}

int
hm_key_save(const hm_key *k, const char *path, const char *pass, int flags,
    hm_err *err)
{
	PKCS8_PRIV_KEY_INFO	*p8 = NULL;
	X509_ALGOR		*pbe = NULL;
	X509_SIG		*sig = NULL;
	BIO			*b = NULL;
	BUF_MEM			*mem;
	unsigned char		 salt[16];
	int			 rc = HM_E_INTERNAL;

	if (pass != NULL && (rc = hm_passphrase_check(pass, err)) != HM_OK)
		return rc;
	rc = HM_E_INTERNAL;
	if ((b = BIO_new(BIO_s_secmem())) == NULL)
		return hm_seterr(err, HM_E_NOMEM, "out of memory");
	if ((p8 = EVP_PKEY2PKCS8(k->pkey)) == NULL) {
		hm_seterr_ssl(err, rc, "encoding the key");
		goto out;
	}
	if (pass == NULL) {
		if (!PEM_write_bio_PKCS8_PRIV_KEY_INFO(b, p8)) {
			hm_seterr_ssl(err, rc, "encoding the key");
			goto out;
		}
	} else {
		if (RAND_bytes(salt, sizeof(salt)) != 1 ||
		    (pbe = PKCS5_pbe2_set_scrypt(EVP_aes_256_cbc(), salt,
		    sizeof(salt), NULL, SCRYPT_N, SCRYPT_R, SCRYPT_P)) ==
		    NULL) {
			hm_seterr_ssl(err, rc, "setting up scrypt");
			goto out;
		}
		if ((sig = PKCS8_set0_pbe(pass, (int)strlen(pass), p8,
		    pbe)) == NULL) {
			hm_seterr_ssl(err, rc, "encrypting the key");
			goto out;
		}
		pbe = NULL;
		if (!PEM_write_bio_PKCS8(b, sig)) {
			hm_seterr_ssl(err, rc, "encoding the key");
			goto out;
		}
	}
	BIO_get_mem_ptr(b, &mem);
	rc = hm_file_write(path, mem->data, mem->length, 0600, flags, err);
 out:
	X509_ALGOR_free(pbe);
	X509_SIG_free(sig);
	PKCS8_PRIV_KEY_INFO_free(p8);
	BIO_free(b);
	return rc;
}

hm_keytype
hm_key_type(const hm_key *k)
{
	return k->type;
}

void
hm_key_free(hm_key *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->pkey);
	free(k);
}
