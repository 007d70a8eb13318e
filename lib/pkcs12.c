/*
 * PKCS#12 export: a key, its certificate and the CAs above it in one
 * passphrase-protected file, for browsers, NSS, Java and Windows.
 */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/x509v3.h>

#include "internal.h"

#define P12_CERT_MAX	(64 * 1024)	/* the leaf, PEM or DER */
#define P12_CHAIN_MAX	(1024 * 1024)	/* the chain's PEM */
#define P12_CHAIN_CERTS	32
#define P12_PASS_MAX	1024
#define P12_NAME_MAX	64		/* friendly name, in characters */
/*
 * Iterations of PBKDF2 (key and certificates) and of the MAC's key
 * derivation.  Modern: 100000, not OpenSSL's default of 2048, because the
 * MAC and the key bag each let a stolen file test guessed passphrases
 * offline; the three derivations together stay under the strictest limit
 * of an importer we know (.NET: 600000 over a file).  Legacy: 2048, the
 * OpenSSL default that old importers were built against.
 */
#define P12_ITER	100000
#define P12_ITER_LEGACY	2048

/* One certificate, DER or PEM, and nothing else. */
static int
cert_parse(const unsigned char *buf, size_t len, X509 **out, hm_err *err)
{
	const unsigned char	*p = buf;
	X509			*x = NULL, *more;
	BIO			*b;

	if (buf == NULL || len == 0)
		return hm_seterr(err, HM_E_INVALID, "no certificate given");
	if (len > P12_CERT_MAX)
		return hm_seterr(err, HM_E_TOOBIG, "certificate over %d KiB",
		    P12_CERT_MAX / 1024);
	/* DER begins with a SEQUENCE; anything else must be PEM. */
	if (buf[0] == 0x30) {
		if ((x = d2i_X509(NULL, &p, (long)len)) == NULL)
			return hm_seterr_ssl(err, HM_E_INVALID, "certificate: "
			    "bad DER");
		if (p != buf + len) {
			X509_free(x);
			return hm_seterr(err, HM_E_INVALID, "certificate: "
			    "data after the DER");
		}
		*out = x;
		return HM_OK;
	}
	if ((b = BIO_new_mem_buf(buf, (int)len)) == NULL)
		return hm_seterr(err, HM_E_NOMEM, "out of memory");
	if ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) == NULL) {
		BIO_free(b);
		return hm_seterr_ssl(err, HM_E_INVALID, "certificate: "
		    "not PEM or DER");
	}
	/* A chain file here would silently lose its CAs: refuse it. */
	more = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	ERR_clear_error();
	if (more != NULL) {
		X509_free(more);
		X509_free(x);
		return hm_seterr(err, HM_E_INVALID, "certificate: more than "
		    "one given where the leaf alone belongs");
	}
	*out = x;
	return HM_OK;
}

/* Zero or more PEM CA certificates, at most P12_CHAIN_CERTS. */
static int
chain_parse(const unsigned char *buf, size_t len, STACK_OF(X509) **out,
    hm_err *err)
{
	STACK_OF(X509)	*sk;
	X509		*x;
	BIO		*b = NULL;
	unsigned long	 e;
	int		 rc;

	if (len > P12_CHAIN_MAX)
		return hm_seterr(err, HM_E_TOOBIG, "chain over %d KiB",
		    P12_CHAIN_MAX / 1024);
	if ((sk = sk_X509_new_null()) == NULL)
		return hm_seterr(err, HM_E_NOMEM, "out of memory");
	if (buf == NULL || len == 0) {
		*out = sk;
		return HM_OK;
	}
	if ((b = BIO_new_mem_buf(buf, (int)len)) == NULL) {
		rc = hm_seterr(err, HM_E_NOMEM, "out of memory");
		goto out;
	}
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
		if (sk_X509_num(sk) == P12_CHAIN_CERTS) {
			X509_free(x);
			rc = hm_seterr(err, HM_E_TOOBIG, "chain of more than "
			    "%d certificates", P12_CHAIN_CERTS);
			goto out;
		}
		if (X509_check_ca(x) == 0) {
			X509_free(x);
			rc = hm_seterr(err, HM_E_INVALID, "certificate %d of "
			    "the chain is not a CA certificate",
			    sk_X509_num(sk) + 1);
			goto out;
		}
		if (!sk_X509_push(sk, x)) {
			X509_free(x);
			rc = hm_seterr(err, HM_E_NOMEM, "out of memory");
			goto out;
		}
	}
	/* The loop ends at the end of the input, or at bad PEM. */
	e = ERR_peek_last_error();
	if (sk_X509_num(sk) == 0 || ERR_GET_LIB(e) != ERR_LIB_PEM ||
	    ERR_GET_REASON(e) != PEM_R_NO_START_LINE) {
		rc = hm_seterr_ssl(err, HM_E_INVALID, "chain: not PEM "
		    "certificates");
		goto out;
	}
	ERR_clear_error();
	*out = sk;
	sk = NULL;
	rc = HM_OK;
 out:
	sk_X509_pop_free(sk, X509_free);
	BIO_free(b);
	return rc;
}

/* A friendly name: 1 to P12_NAME_MAX characters of printable UTF-8. */
static int
name_check(const char *name, hm_err *err)
{
	const unsigned char	*p = (const unsigned char *)name;
	unsigned long		 c;
	size_t			 left = strlen(name), chars = 0;
	int			 n;

	if (left == 0)
		return hm_seterr(err, HM_E_INVALID, "empty friendly name");
	while (left > 0) {
		n = UTF8_getc(p, left > 8 ? 8 : (int)left, &c);
		if (n <= 0 || c < 0x20 || (c >= 0x7f && c <= 0x9f) ||
		    (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
			return hm_seterr(err, HM_E_INVALID, "friendly name "
			    "holds a control character or invalid UTF-8");
		p += n;
		left -= (size_t)n;
		if (++chars > P12_NAME_MAX)
			return hm_seterr(err, HM_E_INVALID, "friendly name is "
			    "longer than %d characters", P12_NAME_MAX);
	}
	return HM_OK;
}

/* The first CN of x as UTF-8 (OPENSSL_free), or NULL when there is none. */
static char *
cn_of(X509 *x)
{
	const X509_NAME	*nm = X509_get_subject_name(x);
	unsigned char	*utf8 = NULL;
	int		 i, n;

	if ((i = X509_NAME_get_index_by_NID(nm, NID_commonName, -1)) < 0)
		return NULL;
	n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(
	    X509_NAME_get_entry(nm, i)));
	if (n <= 0 || memchr(utf8, '\0', (size_t)n) != NULL) {
		OPENSSL_free(utf8);
		ERR_clear_error();
		return NULL;
	}
	return (char *)utf8;
}

int
hm_p12_export(const hm_p12_params *p, unsigned char **der, size_t *len,
    hm_err *err)
{
	STACK_OF(X509)	*chain = NULL;
	X509		*x = NULL;
	PKCS12		*p12 = NULL;
	const EVP_MD	*md;
	unsigned char	*d = NULL, *buf;
	const char	*name;
	char		*cn = NULL;
	int		 rc, n, nid, iter;

	if (p == NULL || p->key == NULL)
		return hm_seterr(err, HM_E_INVALID, "no key given");
	if (p->pass == NULL)
		return hm_seterr(err, HM_E_PASSPHRASE, "a PKCS#12 file needs "
		    "a passphrase");
	if ((rc = hm_passphrase_check(p->pass, err)) != HM_OK)
		return rc;
	if (strlen(p->pass) > P12_PASS_MAX)
		return hm_seterr(err, HM_E_POLICY, "passphrase is longer "
		    "than %d characters", P12_PASS_MAX);
	if (p->name != NULL && (rc = name_check(p->name, err)) != HM_OK)
		return rc;
	if ((rc = cert_parse(p->cert_pem, p->cert_len, &x, err)) != HM_OK)
		return rc;
	if ((rc = chain_parse(p->chain_pem, p->chain_len, &chain, err)) !=
	    HM_OK)
		goto out;
	if (X509_check_private_key(x, p->key->pkey) != 1) {
		rc = hm_seterr(err, HM_E_POLICY, "the key does not match the "
		    "certificate");
		goto out;
	}
	if ((name = p->name) == NULL)
		name = cn = cn_of(x);
	if (p->legacy) {
		nid = NID_pbe_WithSHA1And3_Key_TripleDES_CBC;
		iter = P12_ITER_LEGACY;
		md = EVP_sha1();
	} else {
		/* PBES2: OpenSSL 3 gives PBKDF2 HMAC-SHA256 as its PRF. */
		nid = NID_aes_256_cbc;
		iter = P12_ITER;
		md = EVP_sha256();
	}
	/*
	 * Key and certificate match, so PKCS12_create_ex gives both bags
	 * the same localKeyID (the certificate's SHA-1) for importers to
	 * pair them.  mac_iter -1: no MAC yet; PKCS12_set_mac then adds
	 * one with our digest instead of the default SHA-1.
	 */
	if ((p12 = PKCS12_create_ex(p->pass, name, p->key->pkey, x, chain,
	    nid, nid, iter, -1, 0, NULL, NULL)) == NULL) {
		rc = hm_seterr_ssl(err, HM_E_INTERNAL, "building the PKCS#12 "
		    "file");
		goto out;
	}
	if (!PKCS12_set_mac(p12, p->pass, -1, NULL, 0, iter, md)) {
		rc = hm_seterr_ssl(err, HM_E_INTERNAL, "adding the PKCS#12 "
		    "MAC");
		goto out;
	}
	if ((n = i2d_PKCS12(p12, &d)) <= 0) {
		rc = hm_seterr_ssl(err, HM_E_INTERNAL, "encoding the PKCS#12 "
		    "file");
		goto out;
	}
	if ((buf = malloc((size_t)n)) == NULL) {
		rc = hm_seterr(err, HM_E_NOMEM, "out of memory");
		goto out;
	}
	memcpy(buf, d, (size_t)n);
	*der = buf;
	*len = (size_t)n;
	rc = HM_OK;
 out:
	OPENSSL_free(d);
	OPENSSL_free(cn);
	PKCS12_free(p12);
	sk_X509_pop_free(chain, X509_free);
	X509_free(x);
	return rc;
}

int
hm_ca_issuer_chain_pem(hm_ca *ca, const unsigned char *buf, size_t len,
    char **pem, size_t *pemlen, hm_err *err)
{
	X509			*x, *v[P12_CHAIN_CERTS + 1];
	hm_signer		*found = NULL;
	size_t			 n = 0;
	int			 i, rc;

	if ((rc = cert_parse(buf, len, &x, err)) != HM_OK)
		return rc;
	/* A CA's own certificate is not its issuer, even self-signed. */
	if ((rc = hm_ca_find_issuer(ca, x, 1, &found, err)) != HM_OK) {
		if (rc == HM_E_NOTFOUND)
			hm_seterr(err, rc, "the certificate was not issued "
			    "(signed) by a CA of %s", ca->dir);
		goto out;
	}
	/* The issuer and the CAs above it, then the root. */
	for (i = 0; i < sk_X509_num(found->chain); i++) {
		if (n == P12_CHAIN_CERTS) {
			rc = hm_seterr(err, HM_E_STORE, "store: CA chain too "
			    "long");
			goto out;
		}
		v[n++] = sk_X509_value(found->chain, i);
	}
	v[n++] = found->root;
	rc = hm_x509_pem(v, n, pem, pemlen, err);
 out:
	hm_signer_free(found);
	X509_free(x);
	return rc;
}
