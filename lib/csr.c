/*
 * CSRs: build, parse under caps, verify, describe.
 *
 * Parsing uses OpenSSL's ASN.1 template engine with a template of our own
 * (as rpki-client does) rather than d2i_X509_REQ(): the latter decodes
 * the public key through the generic decoder chain, which costs twice the
 * signature check.  The template keeps the SPKI as its two fields, and
 * the key is built from them directly for the algorithms policy allows:
 * an EC point goes into a copy of a prepared key of its curve (building
 * the curve afresh for every request costs a fifth of the signature
 * check).  The info part keeps its received encoding, so the signature is
 * checked over exactly the bytes that were signed.
 */
#include <pthread.h>
#include <string.h>

#include <openssl/asn1t.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "internal.h"

typedef struct {
	X509_ALGOR		*algor;
	ASN1_BIT_STRING		*public_key;
} HM_SPKI;

typedef struct {
	ASN1_ENCODING		 enc;
	ASN1_INTEGER		*version;
	X509_NAME		*subject;
	HM_SPKI			*spki;
	STACK_OF(X509_ATTRIBUTE) *attributes;
} HM_REQ_INFO;

typedef struct hm_req_st {
	HM_REQ_INFO		*info;
	X509_ALGOR		*sig_alg;
	ASN1_BIT_STRING		*signature;
} HM_REQ;

ASN1_SEQUENCE(HM_SPKI) = {
	ASN1_SIMPLE(HM_SPKI, algor, X509_ALGOR),
	ASN1_SIMPLE(HM_SPKI, public_key, ASN1_BIT_STRING),
} static_ASN1_SEQUENCE_END(HM_SPKI)

ASN1_SEQUENCE_enc(HM_REQ_INFO, enc, NULL) = {
	ASN1_SIMPLE(HM_REQ_INFO, version, ASN1_INTEGER),
	ASN1_SIMPLE(HM_REQ_INFO, subject, X509_NAME),
	ASN1_SIMPLE(HM_REQ_INFO, spki, HM_SPKI),
	ASN1_IMP_SET_OF_OPT(HM_REQ_INFO, attributes, X509_ATTRIBUTE, 0),
} static_ASN1_SEQUENCE_END_ref(HM_REQ_INFO, HM_REQ_INFO)

ASN1_SEQUENCE(HM_REQ) = {
	ASN1_SIMPLE(HM_REQ, info, HM_REQ_INFO),
	ASN1_SIMPLE(HM_REQ, sig_alg, X509_ALGOR),
	ASN1_SIMPLE(HM_REQ, signature, ASN1_BIT_STRING),
} static_ASN1_SEQUENCE_END(HM_REQ)

void
hm_csr_free(hm_csr *c)
{
	if (c == NULL)
		return;
	ASN1_item_free((ASN1_VALUE *)c->r, ASN1_ITEM_rptr(HM_REQ));
	OPENSSL_free(c->der);
	EVP_PKEY_free(c->pkey);
	free(c->cn);
	hm_names_free(c->names);
	free(c);
}

/* The single CN of a name, NULL if none; two CNs are refused. */
static int
subject_cn(const X509_NAME *nm, char **out, hm_err *err)
{
	const X509_NAME_ENTRY	*e;
	unsigned char		*utf8 = NULL;
	int			 i, len, rc;

	*out = NULL;
	i = X509_NAME_get_index_by_NID(nm, NID_commonName, -1);
	if (i < 0)
		return HM_OK;
	if (X509_NAME_get_index_by_NID(nm, NID_commonName, i) >= 0)
		return hm_seterr(err, HM_E_INVALID, "subject has more than "
		    "one common name");
	e = X509_NAME_get_entry(nm, i);
	if ((len = ASN1_STRING_to_UTF8(&utf8,
	    X509_NAME_ENTRY_get_data(e))) < 0)
		return hm_seterr_ssl(err, HM_E_INVALID, "bad common name");
	if (memchr(utf8, '\0', (size_t)len) != NULL) {
		OPENSSL_free(utf8);
		return hm_seterr(err, HM_E_INVALID, "common name holds a NUL");
	}
	if ((rc = hm_cn_check((char *)utf8, err)) == HM_OK &&
	    (*out = strdup((char *)utf8)) == NULL)
		rc = hm_seterr(err, HM_E_NOMEM, "out of memory");
	OPENSSL_free(utf8);
	return rc;
}

/* The requested extensions, or NULL (with *bad set if unparsable). */
static STACK_OF(X509_EXTENSION) *
csr_exts(const hm_csr *c, int *bad)
{
	const STACK_OF(X509_ATTRIBUTE)	*attrs = c->r->info->attributes;
	STACK_OF(X509_EXTENSION)	*exts;
	X509_ATTRIBUTE			*a;
	ASN1_TYPE			*t;
	int				 i;

	*bad = 0;
	if ((i = X509at_get_attr_by_NID(attrs, NID_ext_req, -1)) < 0)
		return NULL;
	*bad = 1;
	if (X509at_get_attr_by_NID(attrs, NID_ext_req, i) >= 0)
		return NULL;	/* two extension requests */
	a = X509at_get_attr(attrs, i);
	if (X509_ATTRIBUTE_count(a) != 1 ||
	    (t = X509_ATTRIBUTE_get0_type(a, 0)) == NULL ||
	    t->type != V_ASN1_SEQUENCE)
		return NULL;
	if ((exts = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(X509_EXTENSIONS),
	    t)) != NULL)
		*bad = 0;
	return exts;
}

/*
 * Parameters-only keys of the allowed curves, made once a process: a CSR's
 * point goes into a copy (EVP_PKEY_dup), which is cheap, where
 * EVP_PKEY_fromdata() would build the curve's group again each time.
 * The library's one piece of process-wide state, and a deliberate one:
 * written once under pthread_once, read-only after, and a function of
 * constants only (no configuration lives here).
 */
static struct {
	const char	*group;
	int		 nid;
	int		 publen;	/* 0x04 || X || Y */
	EVP_PKEY	*params;
} curves[] = {
	{ "P-256", NID_X9_62_prime256v1, 65, NULL },
	{ "P-384", NID_secp384r1, 97, NULL },
};
static pthread_once_t	curves_once = PTHREAD_ONCE_INIT;

static void
curves_init(void)
{
	EVP_PKEY_CTX	*ctx;
	OSSL_PARAM	 params[2];
	size_t		 i;

	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL)
		return;
	for (i = 0; i < sizeof(curves) / sizeof(curves[0]); i++) {
		params[0] = OSSL_PARAM_construct_utf8_string(
		    OSSL_PKEY_PARAM_GROUP_NAME, (char *)curves[i].group, 0);
		params[1] = OSSL_PARAM_construct_end();
		if (EVP_PKEY_fromdata_init(ctx) != 1 ||
		    EVP_PKEY_fromdata(ctx, &curves[i].params,
		    EVP_PKEY_KEY_PARAMETERS, params) != 1)
			curves[i].params = NULL;
	}
	EVP_PKEY_CTX_free(ctx);
}

/*
 * An EC public key of an allowed named curve.  Only the uncompressed form
 * is taken (RFC 5480 makes it the one every verifier supports); that also
 * keeps out the point at infinity, which OpenSSL would import and whose
 * "signatures" anyone can make.
 */
static int
csr_key_ec(hm_csr *c, int ptype, const void *pval, hm_err *err)
{
	size_t	i;
	int	cnid;

	if (ptype != V_ASN1_OBJECT)
		return hm_seterr(err, HM_E_POLICY, "EC key without a named "
		    "curve is not allowed");
	cnid = OBJ_obj2nid(pval);
	for (i = 0; i < sizeof(curves) / sizeof(curves[0]); i++)
		if (curves[i].nid == cnid)
			break;
	if (i == sizeof(curves) / sizeof(curves[0]))
		return hm_seterr(err, HM_E_POLICY, "EC curve %s is not allowed "
		    "(want P-256 or P-384)", cnid != NID_undef ?
		    OBJ_nid2sn(cnid) : "(unknown)");
	if (c->spki_publen != curves[i].publen || c->spki_pub[0] != 0x04)
		return hm_seterr(err, HM_E_INVALID, "CSR public key is not an "
		    "uncompressed %s point", curves[i].group);
	if (pthread_once(&curves_once, curves_init) != 0 ||
	    curves[i].params == NULL)
		return hm_seterr_ssl(err, HM_E_INTERNAL, "%s parameters",
		    curves[i].group);
	if ((c->pkey = EVP_PKEY_dup(curves[i].params)) == NULL)
		return hm_seterr_ssl(err, HM_E_NOMEM, "out of memory");
	if (EVP_PKEY_set1_encoded_public_key(c->pkey, c->spki_pub,
	    (size_t)c->spki_publen) != 1)
		return hm_seterr_ssl(err, HM_E_INVALID, "CSR public key is not "
		    "a valid %s key", curves[i].group);
	return HM_OK;
}

/*
 * The public key, from the SPKI's fields: P-256/P-384 and Ed25519 keys
 * are imported directly; anything else goes through the generic decoder
 * and then policy.
 */
static int
csr_key(hm_csr *c, hm_err *err)
{
	const HM_SPKI		*spki = c->r->info->spki;
	const ASN1_OBJECT	*obj;
	const void		*pval;
	unsigned char		*der = NULL;
	const unsigned char	*p;
	int			 ptype, len, rc;

	X509_ALGOR_get0(&obj, &ptype, &pval, spki->algor);
	if (spki->public_key->flags & 0x07)
		return hm_seterr(err, HM_E_INVALID, "CSR public key has "
		    "unused bits");
	c->spki_alg = spki->algor;
	c->spki_pub = ASN1_STRING_get0_data(spki->public_key);
	c->spki_publen = ASN1_STRING_length(spki->public_key);
	switch (OBJ_obj2nid(obj)) {
	case NID_X9_62_id_ecPublicKey:
		if ((rc = csr_key_ec(c, ptype, pval, err)) != HM_OK)
			return rc;
		break;
	case NID_ED25519:
		if (ptype != V_ASN1_UNDEF)
			return hm_seterr(err, HM_E_INVALID, "Ed25519 key with "
			    "parameters");
		if ((c->pkey = EVP_PKEY_new_raw_public_key_ex(NULL, "ED25519",
		    NULL, c->spki_pub, (size_t)c->spki_publen)) == NULL)
			return hm_seterr_ssl(err, HM_E_INVALID, "CSR public key "
			    "is not a valid Ed25519 key");
		break;
	default:
		if ((len = ASN1_item_i2d((ASN1_VALUE *)spki, &der,
		    ASN1_ITEM_rptr(HM_SPKI))) <= 0)
			return hm_seterr_ssl(err, HM_E_INTERNAL, "CSR key");
		p = der;
		c->pkey = d2i_PUBKEY(NULL, &p, len);
		OPENSSL_free(der);
		if (c->pkey == NULL)
			return hm_seterr_ssl(err, HM_E_POLICY, "CSR public key "
			    "algorithm %s is not allowed (want Ed25519, P-256, "
			    "P-384 or RSA >= 2048)", OBJ_nid2sn(OBJ_obj2nid(obj)));
		break;
	}
	if ((c->type = hm_pkey_type(c->pkey, err)) == HM_KEY_NONE)
		return err != NULL ? err->code : HM_E_POLICY;
	return HM_OK;
}

/* Fill the derived fields of c from c->r, verifying as we go. */
static int
csr_check(hm_csr *c, hm_err *err)
{
	STACK_OF(X509_EXTENSION) *exts = NULL;
	GENERAL_NAMES		*gens = NULL;
	int			 rc, crit, bad;

	if (ASN1_INTEGER_get(c->r->info->version) != 0)
		return hm_seterr(err, HM_E_INVALID, "CSR version is not 1");
	if ((rc = csr_key(c, err)) != HM_OK)
		return rc;
	if (ASN1_item_verify_ex(ASN1_ITEM_rptr(HM_REQ_INFO), c->r->sig_alg,
	    c->r->signature, c->r->info, NULL, c->pkey, NULL, NULL) != 1)
		return hm_seterr_ssl(err, HM_E_SIGNATURE, "CSR signature does "
		    "not verify");
	if ((rc = subject_cn(c->r->info->subject, &c->cn, err)) != HM_OK)
		return rc;
	if ((c->names = hm_names_new()) == NULL)
		return hm_seterr(err, HM_E_NOMEM, "out of memory");
	if ((exts = csr_exts(c, &bad)) == NULL) {
		if (bad)
			return hm_seterr_ssl(err, HM_E_INVALID, "CSR extension "
			    "request does not parse");
		ERR_clear_error();
		return HM_OK;
	}
	gens = X509V3_get_d2i(exts, NID_subject_alt_name, &crit, NULL);
	if (gens == NULL && crit != -1) {
		rc = hm_seterr_ssl(err, HM_E_INVALID, "CSR subjectAltName "
		    "does not parse");
		goto out;
	}
	if (gens != NULL) {
		if ((rc = hm_names_from_gens(c->names, gens, err)) < 0)
			goto out;
		c->names_unsupported = rc;
	}
	rc = HM_OK;
 out:
	GENERAL_NAMES_free(gens);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return rc;
}

static int
has_prefix(const unsigned char *buf, size_t len, const char *s)
{
	size_t	n = strlen(s);

	while (len > 0 && (*buf == ' ' || *buf == '\t' || *buf == '\r' ||
	    *buf == '\n')) {
		buf++;
		len--;
	}
	return len >= n && memcmp(buf, s, n) == 0;
}

int
hm_csr_parse(const unsigned char *buf, size_t len, hm_csr **out, hm_err *err)
{
	const unsigned char	*p;
	unsigned char		*der = NULL;
	char			*name = NULL, *hdr = NULL;
	long			 derlen = 0;
	BIO			*b = NULL;
	hm_csr			*c = NULL;
	int			 rc;

	if (len > HM_CSR_MAX)
		return hm_seterr(err, HM_E_TOOBIG, "CSR of %zu bytes is over "
		    "the %d byte limit", len, HM_CSR_MAX);
	if (len == 0)
		return hm_seterr(err, HM_E_INVALID, "empty CSR");
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return hm_seterr(err, HM_E_NOMEM, "out of memory");
	if (has_prefix(buf, len, "-----BEGIN ")) {
		if ((b = BIO_new_mem_buf(buf, (int)len)) == NULL) {
			rc = hm_seterr(err, HM_E_NOMEM, "out of memory");
			goto out;
		}
		if (!PEM_read_bio(b, &name, &hdr, &der, &derlen)) {
			rc = hm_seterr_ssl(err, HM_E_INVALID, "CSR is not "
			    "valid PEM");
			goto out;
		}
		if (strcmp(name, PEM_STRING_X509_REQ) != 0 &&
		    strcmp(name, PEM_STRING_X509_REQ_OLD) != 0) {
			rc = hm_seterr(err, HM_E_INVALID, "PEM holds a '%.40s', "
			    "not a CERTIFICATE REQUEST", name);
			goto out;
		}
		/* One request a file: a second block would be ignored. */
		if (memmem(buf + (len - (size_t)BIO_pending(b)),
		    (size_t)BIO_pending(b), "-----BEGIN ", 11) != NULL) {
			rc = hm_seterr(err, HM_E_INVALID, "more than one PEM "
			    "block; give one CSR a file");
			goto out;
		}
		p = der;
	} else {
		p = buf;
		derlen = (long)len;
	}
	{
		const unsigned char *q = p;

		c->r = (HM_REQ *)ASN1_item_d2i(NULL, &q, derlen,
		    ASN1_ITEM_rptr(HM_REQ));
		if (c->r == NULL) {
			rc = hm_seterr_ssl(err, HM_E_INVALID, "CSR does not "
			    "parse as DER");
			goto out;
		}
		if (q != p + derlen) {
			rc = hm_seterr(err, HM_E_INVALID, "CSR has %ld bytes "
			    "of trailing data", (long)(p + derlen - q));
			goto out;
		}
		if ((c->der = OPENSSL_memdup(p, (size_t)derlen)) == NULL) {
			rc = hm_seterr(err, HM_E_NOMEM, "out of memory");
			goto out;
		}
		c->derlen = (size_t)derlen;
	}
	if ((rc = csr_check(c, err)) != HM_OK)
		goto out;
	*out = c;
	c = NULL;
 out:
	hm_csr_free(c);
	OPENSSL_free(name);
	OPENSSL_free(hdr);
	OPENSSL_free(der);
	BIO_free(b);
	return rc;
}

int
hm_csr_load(const char *path, hm_csr **out, hm_err *err)
{
	unsigned char	*buf;
	size_t		 len;
	int		 rc;

	if ((rc = hm_file_read(path, HM_CSR_MAX, &buf, &len, err)) != HM_OK)
		return rc;
	rc = hm_csr_parse(buf, len, out, err);
	free(buf);
	return rc;
}

int
hm_csr_new(const hm_key *key, const char *cn, const hm_names *sans,
    hm_csr **out, hm_err *err)
{
	if (cn == NULL && hm_names_count(sans) == 0)
		return hm_seterr(err, HM_E_INVALID, "a CSR needs a common "
		    "name or at least one SAN");
	return hm_csr_new_any(key, cn, sans, out, err);
}

int
hm_csr_new_any(const hm_key *key, const char *cn, const hm_names *sans,
    hm_csr **out, hm_err *err)
{
	X509_REQ			*req = NULL;
	X509_NAME			*nm = NULL;
	STACK_OF(X509_EXTENSION)	*exts = NULL;
	GENERAL_NAMES			*gens = NULL;
	unsigned char			*der = NULL;
	int				 derlen, rc = HM_E_INTERNAL;

	if (cn != NULL && (rc = hm_cn_check(cn, err)) != HM_OK)
		return rc;
	if ((req = X509_REQ_new()) == NULL || (nm = X509_NAME_new()) == NULL)
		goto ssl;
	if (!X509_REQ_set_version(req, X509_REQ_VERSION_1))
		goto ssl;
	if (cn != NULL && !X509_NAME_add_entry_by_NID(nm, NID_commonName,
	    MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0))
		goto ssl;
	if (!X509_REQ_set_subject_name(req, nm) ||
	    !X509_REQ_set_pubkey(req, key->pkey))
		goto ssl;
	if (hm_names_count(sans) > 0) {
		if ((gens = hm_names_to_gens(sans, err)) == NULL) {
			rc = err != NULL ? err->code : HM_E_NOMEM;
			goto out;
		}
		if ((exts = sk_X509_EXTENSION_new_null()) == NULL ||
		    !X509V3_add1_i2d(&exts, NID_subject_alt_name, gens,
		    cn == NULL, X509V3_ADD_DEFAULT) ||
		    !X509_REQ_add_extensions(req, exts))
			goto ssl;
	}
	if (!X509_REQ_sign(req, key->pkey, key->type == HM_KEY_ED25519 ?
	    NULL : key->type == HM_KEY_P384 ? EVP_sha384() : EVP_sha256()))
		goto ssl;
	/* Round-trip through the parser: what we return is what we'd accept. */
	if ((derlen = i2d_X509_REQ(req, &der)) <= 0)
		goto ssl;
	rc = hm_csr_parse(der, (size_t)derlen, out, err);
	goto out;
 ssl:
	rc = hm_seterr_ssl(err, HM_E_INTERNAL, "building the CSR");
 out:
	OPENSSL_free(der);
	GENERAL_NAMES_free(gens);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_NAME_free(nm);
	X509_REQ_free(req);
	return rc;
}

int
hm_csr_pem(const hm_csr *c, char **pem, size_t *len, hm_err *err)
{
	BIO	*b;
	BUF_MEM	*mem;
	int	 rc = HM_OK;

	if ((b = BIO_new(BIO_s_mem())) == NULL)
		return hm_seterr(err, HM_E_NOMEM, "out of memory");
	if (!PEM_write_bio(b, PEM_STRING_X509_REQ, "", c->der,
	    (long)c->derlen)) {
		rc = hm_seterr_ssl(err, HM_E_INTERNAL, "encoding the CSR");
		goto out;
	}
	BIO_get_mem_ptr(b, &mem);
	if ((*pem = strndup(mem->data, mem->length)) == NULL) {
		rc = hm_seterr(err, HM_E_NOMEM, "out of memory");
		goto out;
	}
	*len = mem->length;
 out:
	BIO_free(b);
	return rc;
}

int
hm_csr_save(const hm_csr *c, const char *path, int flags, hm_err *err)
{
	char	*pem = NULL;
	size_t	 len = 0;
	int	 rc;

	if ((rc = hm_csr_pem(c, &pem, &len, err)) != HM_OK)
		return rc;
	rc = hm_file_write(path, pem, len, 0644, flags, err);
	free(pem);
	return rc;
}

const char *
hm_csr_cn(const hm_csr *c)
{
	return c->cn;
}

const hm_names *
hm_csr_names(const hm_csr *c)
{
	return c->names;
}

hm_keytype
hm_csr_keytype(const hm_csr *c)
{
	return c->type;
}

int
hm_csr_describe(const hm_csr *c, char **out, hm_err *err)
{
	STACK_OF(X509_EXTENSION)	*exts;
	char				 subj[256], *sans;
	BIO				*b;
	BUF_MEM				*mem;
	int				 i, bits, bad;

	if ((sans = malloc(8192)) == NULL)
		return hm_seterr(err, HM_E_NOMEM, "out of memory");
	if (hm_names_join(c->names, sans, 8192) == -1)
		strcpy(sans, "(too many to show)");
	hm_name_oneline(c->r->info->subject, subj, sizeof(subj));
	if ((b = BIO_new(BIO_s_mem())) == NULL) {
		free(sans);
		return hm_seterr(err, HM_E_NOMEM, "out of memory");
	}
	bits = EVP_PKEY_get_bits(c->pkey);
	BIO_printf(b, "subject:    %s\n", subj);
	BIO_printf(b, "common name: %s\n", c->cn != NULL ? c->cn : "(none)");
	BIO_printf(b, "key:        %s (%d bits)\n", hm_keytype_name(c->type),
	    bits);
	BIO_printf(b, "names:      %s\n", *sans ? sans : "(none)");
	if (c->names_unsupported)
		BIO_printf(b, "            (plus names of types hallmark never "
		    "issues)\n");
	BIO_printf(b, "signature:  verified\n");
	exts = csr_exts(c, &bad);
	for (i = 0; i < sk_X509_EXTENSION_num(exts); i++) {
		X509_EXTENSION *e = sk_X509_EXTENSION_value(exts, i);
		const ASN1_OBJECT *o = X509_EXTENSION_get_object(e);
		char oid[80];

		OBJ_obj2txt(oid, sizeof(oid), o, 0);
		BIO_printf(b, "requests:   %s%s (extensions come from the "
		    "profile; only names are taken)\n", oid,
		    X509_EXTENSION_get_critical(e) ? ", critical" : "");
	}
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	free(sans);
	BIO_get_mem_ptr(b, &mem);
	if ((*out = strndup(mem->data, mem->length)) == NULL) {
		BIO_free(b);
		return hm_seterr(err, HM_E_NOMEM, "out of memory");
	}
	BIO_free(b);
	return HM_OK;
}
