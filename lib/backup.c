/*
 * Encrypted archives (docs/PROTOCOL.md, section 3): the signers of a CA
 * (intermediates with their keys, the root's certificate) for an online
 * machine, and full backups of a CA directory.  The container is CMS
 * AuthEnvelopedData with AES-256-GCM, so that `openssl cms -decrypt`
 * opens it; inside is a DER Archive made and read with OpenSSL's ASN.1
 * templates, every size bounded and every name checked against the set
 * of files a CA directory holds.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/asn1t.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "internal.h"

#define STORE_FILE	"hallmark.db"
#define CERT_FILE_MAX	(1024 * 1024)
#define KEY_FILE_MAX	(64 * 1024)
#define DAMAGED		"archive is damaged or not for this key"

/* The ASN.1 module of section 3.1, as OpenSSL templates. */
typedef struct {
	ASN1_UTF8STRING		*name;
	ASN1_INTEGER		*mode;
	ASN1_OCTET_STRING	*content;
} HM_ARC_ENTRY;

DEFINE_STACK_OF(HM_ARC_ENTRY)

typedef struct {
	ASN1_INTEGER		*version;
	ASN1_INTEGER		*kind;
	ASN1_GENERALIZEDTIME	*created;
	STACK_OF(HM_ARC_ENTRY)	*entries;
} HM_ARC;

ASN1_SEQUENCE(HM_ARC_ENTRY) = {
	ASN1_SIMPLE(HM_ARC_ENTRY, name, ASN1_UTF8STRING),
	ASN1_SIMPLE(HM_ARC_ENTRY, mode, ASN1_INTEGER),
	ASN1_SIMPLE(HM_ARC_ENTRY, content, ASN1_OCTET_STRING),
} static_ASN1_SEQUENCE_END(HM_ARC_ENTRY)

ASN1_SEQUENCE(HM_ARC) = {
	ASN1_SIMPLE(HM_ARC, version, ASN1_INTEGER),
	ASN1_SIMPLE(HM_ARC, kind, ASN1_INTEGER),
	ASN1_SIMPLE(HM_ARC, created, ASN1_GENERALIZEDTIME),
	ASN1_SEQUENCE_OF(HM_ARC, entries, HM_ARC_ENTRY),
} static_ASN1_SEQUENCE_END(HM_ARC)

/* Wipe the contents (keys) of a decoded or built HM_ARC, then free it. */
static void
arc_asn1_free(HM_ARC *x)
{
	HM_ARC_ENTRY	*e;
	int		 i;

	if (x == NULL)
		return;
	for (i = 0; i < sk_HM_ARC_ENTRY_num(x->entries); i++) {
		e = sk_HM_ARC_ENTRY_value(x->entries, i);
		if (e->content != NULL && e->content->data != NULL)
			OPENSSL_cleanse(e->content->data,
			    (size_t)e->content->length);
	}
	ASN1_item_free((ASN1_VALUE *)x, ASN1_ITEM_rptr(HM_ARC));
}

int
hm_arc_add(struct hm_arc *a, const char *name, unsigned mode,
    const void *data, size_t len, hm_err *err)
{
	struct hm_arc_entry	*v, *e;
	size_t			 cap;

	if (strlen(name) > HM_ARC_NAME_MAX)
		return hm_seterr(err, HM_E_INVALID, "archive entry name too "
		    "long");
	/* A bound on memory; the reader holds archives to the real one. */
	if (a->n >= 2 * HM_ARCHIVE_ENTRIES_MAX)
		return hm_seterr(err, HM_E_TOOBIG, "archive: over %d entries",
		    HM_ARCHIVE_ENTRIES_MAX);
	if (a->n == a->cap) {
		cap = a->cap == 0 ? 16 : a->cap * 2;
		if ((v = reallocarray(a->v, cap, sizeof(*v))) == NULL)
			return hm_seterr(err, HM_E_NOMEM, "out of memory");
		a->v = v;
		a->cap = cap;
	}
	e = &a->v[a->n];
	memset(e, 0, sizeof(*e));
	if ((e->data = malloc(len > 0 ? len : 1)) == NULL)
		return hm_seterr(err, HM_E_NOMEM, "out of memory");
	memcpy(e->data, data, len);
	e->len = len;
	e->mode = mode;
	snprintf(e->name, sizeof(e->name), "%s", name);
	a->n++;
	return HM_OK;
}

void
hm_arc_clear(struct hm_arc *a)
{
	size_t	i;

	for (i = 0; i < a->n; i++) {
		OPENSSL_cleanse(a->v[i].data, a->v[i].len);
		free(a->v[i].data);
	}
	free(a->v);
	a->v = NULL;
	a->n = a->cap = 0;
}

int
hm_arc_encode(const struct hm_arc *a, unsigned char **der, size_t *len,
    hm_err *err)
{
	HM_ARC		*x;
	HM_ARC_ENTRY	*e = NULL;
	unsigned char	*out = NULL;
	size_t		 i;
	int		 n, rc = HM_E_NOMEM;

	if ((x = (HM_ARC *)ASN1_item_new(ASN1_ITEM_rptr(HM_ARC))) == NULL)
		return hm_seterr(err, HM_E_NOMEM, "out of memory");
	if (!ASN1_INTEGER_set(x->version, HM_ARC_VERSION) ||
	    !ASN1_INTEGER_set(x->kind, a->kind) ||
	    ASN1_GENERALIZEDTIME_set(x->created, a->created) == NULL)
		goto out;
	for (i = 0; i < a->n; i++) {
		if ((e = (HM_ARC_ENTRY *)ASN1_item_new(
		    ASN1_ITEM_rptr(HM_ARC_ENTRY))) == NULL ||
		    !ASN1_STRING_set(e->name, a->v[i].name, -1) ||
		    !ASN1_INTEGER_set(e->mode, (long)a->v[i].mode) ||
		    a->v[i].len > INT32_MAX ||
		    !ASN1_OCTET_STRING_set(e->content, a->v[i].data,
		    (int)a->v[i].len) ||
		    !sk_HM_ARC_ENTRY_push(x->entries, e))
			goto out;
		e = NULL;
	}
	if ((n = ASN1_item_i2d((ASN1_VALUE *)x, &out, ASN1_ITEM_rptr(HM_ARC)))
	    <= 0)
		goto out;
	*der = out;
	*len = (size_t)n;
	rc = HM_OK;
 out:
	if (e != NULL) {
		if (e->content != NULL && e->content->data != NULL)
			OPENSSL_cleanse(e->content->data,
			    (size_t)e->content->length);
		ASN1_item_free((ASN1_VALUE *)e, ASN1_ITEM_rptr(HM_ARC_ENTRY));
	}
	arc_asn1_free(x);
	if (rc != HM_OK)
		hm_seterr_ssl(err, rc, "encoding the archive");
	return rc;
}

/* The CA name of the file "ca/NAME/cert.pem" rule: as ca.c checks it. */
static int
ca_name_ok(const char *s, size_t n)
{
	size_t	i;

	if (n == 0 || n > HM_CA_NAME_MAX || !isalnum((unsigned char)s[0]))
		return 0;
	for (i = 0; i < n; i++)
		if (!islower((unsigned char)s[i]) &&
		    !isdigit((unsigned char)s[i]) && s[i] != '-' &&
		    s[i] != '_' && s[i] != '.')
			return 0;
	return 1;
}

/*
 * Is name, with mode, one of the files an archive of kind may hold?
 * Signers: ca/root/cert.pem, ca/NAME/cert.pem and ca/NAME/key.pem for
 * NAME not root.  Backup: hallmark.db and ca/NAME/{cert,key}.pem for any
 * NAME.  Anything else (a "..", a "/" at either end, another file) is not.
 */
static int
arc_name_ok(int kind, const char *name, unsigned mode)
{
	const char	*n, *slash;
	int		 is_root, is_key;

	if (kind == HM_ARC_BACKUP && strcmp(name, STORE_FILE) == 0)
		return mode == 0600;
	if (strncmp(name, "ca/", 3) != 0)
		return 0;
	n = name + 3;
	if ((slash = strchr(n, '/')) == NULL ||
	    !ca_name_ok(n, (size_t)(slash - n)))
		return 0;
	is_root = (size_t)(slash - n) == strlen(HM_ROOT_NAME) &&
	    strncmp(n, HM_ROOT_NAME, strlen(HM_ROOT_NAME)) == 0;
	if (strcmp(slash + 1, "cert.pem") == 0)
		is_key = 0;
	else if (strcmp(slash + 1, "key.pem") == 0)
		is_key = 1;
	else
		return 0;
	if (kind == HM_ARC_SIGNERS && is_root && is_key)
		return 0;	/* the root's key never leaves in an export */
	return mode == (is_key ? 0600u : 0644u);
}

int
hm_arc_decode(const unsigned char *der, size_t len, int kind,
    struct hm_arc *out, hm_err *err)
{
	const unsigned char	*p = der;
	struct hm_arc		 a;
	struct tm		 tm;
	HM_ARC			*x = NULL;
	HM_ARC_ENTRY		*e;
	int64_t			 v;
	size_t			 i, j;
	int			 n, rc = HM_E_INVALID;

	memset(&a, 0, sizeof(a));
	if (len > HM_ARCHIVE_MAX)
		return hm_seterr(err, HM_E_TOOBIG, "archive: over %d bytes",
		    HM_ARCHIVE_MAX);
	if ((x = (HM_ARC *)ASN1_item_d2i(NULL, &p, (long)len,
	    ASN1_ITEM_rptr(HM_ARC))) == NULL || p != der + len) {
		ERR_clear_error();
		hm_seterr(err, rc, "archive: not a DER Archive (section 3.1)");
		goto out;
	}
	if (!ASN1_INTEGER_get_int64(&v, x->version) || v != HM_ARC_VERSION) {
		hm_seterr(err, rc, "archive: version is not %d",
		    HM_ARC_VERSION);
		goto out;
	}
	if (!ASN1_INTEGER_get_int64(&v, x->kind) || v != kind) {
		hm_seterr(err, rc, "archive: %s", kind == HM_ARC_SIGNERS ?
		    "a backup, not signers (use hallmark restore)" :
		    "signers, not a backup (use hallmark import)");
		goto out;
	}
	if (!ASN1_TIME_to_tm(x->created, &tm)) {
		hm_seterr(err, rc, "archive: bad creation time");
		goto out;
	}
	n = sk_HM_ARC_ENTRY_num(x->entries);
	if (n <= 0) {
		hm_seterr(err, rc, "archive: empty");
		goto out;
	}
	if (n > HM_ARCHIVE_ENTRIES_MAX) {
		rc = hm_seterr(err, HM_E_TOOBIG, "archive: over %d entries",
		    HM_ARCHIVE_ENTRIES_MAX);
		goto out;
	}
	a.kind = kind;
	a.created = timegm(&tm);
	for (i = 0; i < (size_t)n; i++) {
		e = sk_HM_ARC_ENTRY_value(x->entries, (int)i);
		if (e->name->length <= 0 ||
		    e->name->length > HM_ARC_NAME_MAX ||
		    memchr(e->name->data, '\0', (size_t)e->name->length) !=
		    NULL) {
			hm_seterr(err, rc, "archive: entry %zu: bad name", i);
			goto out;
		}
		if (!ASN1_INTEGER_get_int64(&v, e->mode) || v < 0 ||
		    v > 07777) {
			hm_seterr(err, rc, "archive: entry %zu: bad mode", i);
			goto out;
		}
		if ((rc = hm_arc_add(&a, (const char *)e->name->data, 0,
		    e->content->data, (size_t)e->content->length, err)) !=
		    HM_OK)
			goto out;
		rc = HM_E_INVALID;
		a.v[i].name[e->name->length] = '\0';
		a.v[i].mode = (unsigned)v;
		if (!arc_name_ok(kind, a.v[i].name, a.v[i].mode)) {
			for (j = 0; a.v[i].name[j] != '\0'; j++)
				if (!isprint((unsigned char)a.v[i].name[j]))
					a.v[i].name[j] = '?';
			hm_seterr(err, rc, "archive: entry %zu: '%.64s' (mode "
			    "%o) is not a file this archive may hold", i,
			    a.v[i].name, a.v[i].mode);
			goto out;
		}
		if (a.v[i].len == 0) {
			hm_seterr(err, rc, "archive: %s is empty",
			    a.v[i].name);
			goto out;
		}
		for (j = 0; j < i; j++)
			if (strcmp(a.v[j].name, a.v[i].name) == 0) {
				hm_seterr(err, rc, "archive: %s twice",
				    a.v[i].name);
				goto out;
			}
	}
	*out = a;
	memset(&a, 0, sizeof(a));
	rc = HM_OK;
 out:
	hm_arc_clear(&a);
	arc_asn1_free(x);
	return rc;
}

/*
 * A view of the envelope's outer fields, to check what GCM does not
 * authenticate and OpenSSL does not check: the versions (RFC 5083 2.1,
 * RFC 5652 6.2), and that it holds nothing hallmark does not write (no
 * originatorInfo, attributes, or recipients other than ktri and kari).
 * The fields inside are left to OpenSSL's own CMS parser.
 */
typedef struct {
	ASN1_INTEGER	*version;
	ASN1_TYPE	*rid, *alg, *ek;
} HM_KTRI_V;

/* The kari's originator: OpenSSL writes an ephemeral key, [1]. */
typedef struct {
	X509_ALGOR	*alg;
	ASN1_BIT_STRING	*pub;
} HM_OPK_V;

typedef struct {
	int	type;
	union {
		HM_OPK_V	*key;
	} d;
} HM_ORIG_V;

typedef struct {
	ASN1_INTEGER		*version;
	HM_ORIG_V		*originator;
	ASN1_OCTET_STRING	*ukm;
	ASN1_TYPE		*alg, *reks;
} HM_KARI_V;

typedef struct {
	int	type;
	union {
		HM_KTRI_V	*ktri;
		HM_KARI_V	*kari;
	} d;
} HM_RI_V;

DEFINE_STACK_OF(HM_RI_V)

/* AES-GCM's parameters (RFC 5084): a nonce, the tag's length. */
typedef struct {
	ASN1_OCTET_STRING	*nonce;
	ASN1_INTEGER		*icvlen;
} HM_GCMP_V;

typedef struct {
	ASN1_OBJECT	*alg;
	HM_GCMP_V	*params;
} HM_GCMALG_V;

typedef struct {
	ASN1_OBJECT		*type;
	HM_GCMALG_V		*alg;
	ASN1_OCTET_STRING	*ct;
} HM_AECI_V;

typedef struct {
	ASN1_INTEGER		*version;
	STACK_OF(HM_RI_V)	*ris;
	HM_AECI_V		*content;
	ASN1_OCTET_STRING	*mac;
} HM_AUTHENV_V;

typedef struct {
	ASN1_OBJECT	*type;
	HM_AUTHENV_V	*env;
} HM_CMS_V;

ASN1_SEQUENCE(HM_KTRI_V) = {
	ASN1_SIMPLE(HM_KTRI_V, version, ASN1_INTEGER),
	ASN1_SIMPLE(HM_KTRI_V, rid, ASN1_ANY),
	ASN1_SIMPLE(HM_KTRI_V, alg, ASN1_ANY),
	ASN1_SIMPLE(HM_KTRI_V, ek, ASN1_ANY),
} static_ASN1_SEQUENCE_END(HM_KTRI_V)

ASN1_SEQUENCE(HM_OPK_V) = {
	ASN1_SIMPLE(HM_OPK_V, alg, X509_ALGOR),
	ASN1_SIMPLE(HM_OPK_V, pub, ASN1_BIT_STRING),
} static_ASN1_SEQUENCE_END(HM_OPK_V)

ASN1_CHOICE(HM_ORIG_V) = {
	ASN1_IMP(HM_ORIG_V, d.key, HM_OPK_V, 1),
} static_ASN1_CHOICE_END(HM_ORIG_V)

ASN1_SEQUENCE(HM_KARI_V) = {
	ASN1_SIMPLE(HM_KARI_V, version, ASN1_INTEGER),
	ASN1_EXP(HM_KARI_V, originator, HM_ORIG_V, 0),
	ASN1_EXP_OPT(HM_KARI_V, ukm, ASN1_OCTET_STRING, 1),
	ASN1_SIMPLE(HM_KARI_V, alg, ASN1_ANY),
	ASN1_SIMPLE(HM_KARI_V, reks, ASN1_ANY),
} static_ASN1_SEQUENCE_END(HM_KARI_V)

#define RI_KTRI	0
#define RI_KARI	1
ASN1_CHOICE(HM_RI_V) = {
	ASN1_SIMPLE(HM_RI_V, d.ktri, HM_KTRI_V),
	ASN1_IMP(HM_RI_V, d.kari, HM_KARI_V, 1),
} static_ASN1_CHOICE_END(HM_RI_V)

ASN1_SEQUENCE(HM_GCMP_V) = {
	ASN1_SIMPLE(HM_GCMP_V, nonce, ASN1_OCTET_STRING),
	ASN1_OPT(HM_GCMP_V, icvlen, ASN1_INTEGER),
} static_ASN1_SEQUENCE_END(HM_GCMP_V)

ASN1_SEQUENCE(HM_GCMALG_V) = {
	ASN1_SIMPLE(HM_GCMALG_V, alg, ASN1_OBJECT),
	ASN1_SIMPLE(HM_GCMALG_V, params, HM_GCMP_V),
} static_ASN1_SEQUENCE_END(HM_GCMALG_V)

ASN1_SEQUENCE(HM_AECI_V) = {
	ASN1_SIMPLE(HM_AECI_V, type, ASN1_OBJECT),
	ASN1_SIMPLE(HM_AECI_V, alg, HM_GCMALG_V),
	ASN1_IMP_OPT(HM_AECI_V, ct, ASN1_OCTET_STRING, 0),
} static_ASN1_SEQUENCE_END(HM_AECI_V)

ASN1_SEQUENCE(HM_AUTHENV_V) = {
	ASN1_SIMPLE(HM_AUTHENV_V, version, ASN1_INTEGER),
	ASN1_SET_OF(HM_AUTHENV_V, ris, HM_RI_V),
	ASN1_SIMPLE(HM_AUTHENV_V, content, HM_AECI_V),
	ASN1_SIMPLE(HM_AUTHENV_V, mac, ASN1_OCTET_STRING),
} static_ASN1_SEQUENCE_END(HM_AUTHENV_V)

ASN1_SEQUENCE(HM_CMS_V) = {
	ASN1_SIMPLE(HM_CMS_V, type, ASN1_OBJECT),
	ASN1_EXP(HM_CMS_V, env, HM_AUTHENV_V, 0),
} static_ASN1_SEQUENCE_END(HM_CMS_V)

static int
int_is(const ASN1_INTEGER *a, int64_t want)
{
	int64_t	v;

	return ASN1_INTEGER_get_int64(&v, a) && v == want;
}

/* A BIT STRING of whole bytes, as every key in DER is. */
static int
whole_bytes(const ASN1_BIT_STRING *b)
{
	return !(b->flags & ASN1_STRING_FLAG_BITS_LEFT) || (b->flags & 7) == 0;
}

/* 1 when the envelope's versions and shape are what hallmark writes. */
static int
envelope_shape_ok(const unsigned char *in, size_t len)
{
	const unsigned char	*p = in;
	const HM_GCMP_V		*gcm;
	HM_CMS_V		*v;
	HM_RI_V			*ri;
	int			 i, n, ok;

	if ((v = (HM_CMS_V *)ASN1_item_d2i(NULL, &p, (long)len,
	    ASN1_ITEM_rptr(HM_CMS_V))) == NULL)
		return 0;
	gcm = v->env->content->alg->params;
	/* A 96-bit nonce, a 128-bit tag: what hm_arc_seal writes. */
	ok = p == in + len && int_is(v->env->version, 0) &&
	    OBJ_obj2nid(v->env->content->alg->alg) == NID_aes_256_gcm &&
	    ASN1_STRING_length(gcm->nonce) == 12 &&
	    gcm->icvlen != NULL && int_is(gcm->icvlen, 16) &&
	    ASN1_STRING_length(v->env->mac) == 16;
	n = sk_HM_RI_V_num(v->env->ris);
	for (i = 0; ok && i < n; i++) {
		ri = sk_HM_RI_V_value(v->env->ris, i);
		if (ri->type == RI_KTRI)
			/* 0: issuerAndSerialNumber; 2: subjectKeyIdentifier */
			ok = int_is(ri->d.ktri->version, 0) ||
			    int_is(ri->d.ktri->version, 2);
		else
			ok = int_is(ri->d.kari->version, 3) &&
			    whole_bytes(ri->d.kari->originator->d.key->pub);
	}
	ASN1_item_free((ASN1_VALUE *)v, ASN1_ITEM_rptr(HM_CMS_V));
	return ok && n > 0;
}

/* Only RSA (OAEP) and EC (ECDH) keys can take an archive's key. */
static int
recip_key_ok(EVP_PKEY *pk, const char *what, hm_err *err)
{
	hm_err	e2;

	if (pk == NULL)
		return hm_seterr_ssl(err, HM_E_INVALID, "%s: its key does not "
		    "decode", what);
	switch (EVP_PKEY_get_base_id(pk)) {
	case EVP_PKEY_RSA:
	case EVP_PKEY_EC:
		if (hm_pkey_type(pk, &e2) == HM_KEY_NONE)
			return hm_seterr(err, e2.code, "%s: %s", what,
			    e2.msg);
		return HM_OK;
	default:
		return hm_seterr(err, HM_E_POLICY, "%s: a %s key can not "
		    "receive an archive (want RSA or EC P-256/P-384)", what,
		    OBJ_nid2sn(EVP_PKEY_get_base_id(pk)));
	}
}

int
hm_arc_seal(const unsigned char *pt, size_t len, X509 *const *recips,
    size_t n, unsigned char **out, size_t *outlen, hm_err *err)
{
	CMS_ContentInfo		*cms = NULL;
	CMS_RecipientInfo	*ri;
	EVP_PKEY_CTX		*pctx;
	EVP_PKEY		*pk;
	BIO			*in = NULL;
	unsigned char		*der = NULL;
	char			 what[64];
	size_t			 i;
	int			 dlen, rc = HM_E_INTERNAL, ok;

	if (n == 0)
		return hm_seterr(err, HM_E_INVALID, "an archive needs at least "
		    "one recipient");
	if (n > HM_ARCHIVE_RECIPIENTS_MAX)
		return hm_seterr(err, HM_E_TOOBIG, "over %d recipients",
		    HM_ARCHIVE_RECIPIENTS_MAX);
	if (len > HM_ARCHIVE_MAX)
		return hm_seterr(err, HM_E_TOOBIG, "archive: over %d bytes",
		    HM_ARCHIVE_MAX);
	for (i = 0; i < n; i++) {
		snprintf(what, sizeof(what), "recipient %zu", i + 1);
		if ((rc = recip_key_ok(X509_get0_pubkey(recips[i]), what,
		    err)) != HM_OK)
			return rc;
	}
	rc = HM_E_INTERNAL;
	if ((in = BIO_new_mem_buf(pt, (int)len)) == NULL) {
		rc = hm_seterr(err, HM_E_NOMEM, "out of memory");
		goto out;
	}
	/* An AEAD cipher makes CMS_encrypt build AuthEnvelopedData. */
	if ((cms = CMS_encrypt_ex(NULL, in, EVP_aes_256_gcm(), CMS_BINARY |
	    CMS_PARTIAL, NULL, NULL)) == NULL ||
	    OBJ_obj2nid(CMS_get0_type(cms)) !=
	    NID_id_smime_ct_authEnvelopedData) {
		hm_seterr_ssl(err, rc, "setting up CMS");
		goto out;
	}
	for (i = 0; i < n; i++) {
		pk = X509_get0_pubkey(recips[i]);
		/* CMS_KEY_PARAM: the key's context is ours to set first. */
		if ((ri = CMS_add1_recipient_cert(cms, recips[i],
		    CMS_KEY_PARAM)) == NULL ||
		    (pctx = CMS_RecipientInfo_get0_pkey_ctx(ri)) == NULL) {
			hm_seterr_ssl(err, rc, "adding recipient %zu", i + 1);
			goto out;
		}
		if (EVP_PKEY_get_base_id(pk) == EVP_PKEY_RSA)
			ok = EVP_PKEY_CTX_set_rsa_padding(pctx,
			    RSA_PKCS1_OAEP_PADDING) > 0 &&
			    EVP_PKEY_CTX_set_rsa_oaep_md(pctx,
			    EVP_sha256()) > 0 &&
			    EVP_PKEY_CTX_set_rsa_mgf1_md(pctx,
			    EVP_sha256()) > 0;
		else
			ok = EVP_PKEY_CTX_set_ecdh_kdf_md(pctx,
			    EVP_sha256()) > 0;
		if (!ok) {
			hm_seterr_ssl(err, rc, "recipient %zu: key parameters",
			    i + 1);
			goto out;
		}
	}
	if (!CMS_final(cms, in, NULL, CMS_BINARY)) {
		hm_seterr_ssl(err, rc, "encrypting the archive");
		goto out;
	}
	if ((dlen = i2d_CMS_ContentInfo(cms, &der)) <= 0) {
		hm_seterr_ssl(err, rc, "encoding the archive");
		goto out;
	}
	*out = der;
	*outlen = (size_t)dlen;
	rc = HM_OK;
 out:
	CMS_ContentInfo_free(cms);
	BIO_free(in);
	return rc;
}

int
hm_arc_open(const unsigned char *in, size_t len, EVP_PKEY *key, X509 *cert,
    unsigned char **pt, size_t *ptlen, hm_err *err)
{
	const unsigned char	*p = in;
	CMS_ContentInfo		*cms = NULL;
	BIO			*out = NULL;
	BUF_MEM			*mem;
	unsigned char		*re = NULL, *buf;
	int			 relen, rc;

	if (len > HM_ARCHIVE_MAX)
		return hm_seterr(err, HM_E_TOOBIG, "archive: over %d bytes",
		    HM_ARCHIVE_MAX);
	if ((rc = recip_key_ok(key, "the recipient key", err)) != HM_OK)
		return rc;
	if (cert != NULL && X509_check_private_key(cert, key) != 1) {
		ERR_clear_error();
		return hm_seterr(err, HM_E_INVALID, "the recipient key is not "
		    "the key of the recipient certificate");
	}
	rc = HM_E_SIGNATURE;
	/*
	 * Strict DER, then the types: an AuthEnvelopedData of id-data, so
	 * that GCM authenticates what is opened (an EnvelopedData would
	 * not be).  Re-encoding catches a BER form that parses the same;
	 * envelope_shape_ok the fields no one else checks.
	 */
	if ((cms = d2i_CMS_ContentInfo(NULL, &p, (long)len)) == NULL ||
	    p != in + len ||
	    OBJ_obj2nid(CMS_get0_type(cms)) !=
	    NID_id_smime_ct_authEnvelopedData ||
	    OBJ_obj2nid(CMS_get0_eContentType(cms)) != NID_pkcs7_data ||
	    (relen = i2d_CMS_ContentInfo(cms, &re)) <= 0 ||
	    (size_t)relen != len || memcmp(re, in, len) != 0 ||
	    !envelope_shape_ok(in, len)) {
		hm_seterr(err, rc, DAMAGED " (not a DER CMS AuthEnvelopedData "
		    "of data)");
		goto out;
	}
	if ((out = BIO_new(BIO_s_secmem())) == NULL) {
		rc = hm_seterr(err, HM_E_NOMEM, "out of memory");
		goto out;
	}
	/* GCM: nothing is used before the tag is checked, at the end. */
	if (CMS_decrypt(cms, key, cert, NULL, out, CMS_BINARY) != 1) {
		hm_seterr(err, rc, DAMAGED);
		goto out;
	}
	BIO_get_mem_ptr(out, &mem);
	if (mem->length > HM_ARCHIVE_MAX) {
		rc = hm_seterr(err, HM_E_TOOBIG, "archive: over %d bytes",
		    HM_ARCHIVE_MAX);
		goto out;
	}
	if ((buf = malloc(mem->length > 0 ? mem->length : 1)) == NULL) {
		rc = hm_seterr(err, HM_E_NOMEM, "out of memory");
		goto out;
	}
	memcpy(buf, mem->data, mem->length);
	*pt = buf;
	*ptlen = mem->length;
	rc = HM_OK;
 out:
	ERR_clear_error();
	OPENSSL_free(re);
	BIO_free(out);
	CMS_ContentInfo_free(cms);
	return rc;
}

/* Open and decode an archive of kind into a. */
static int
arc_read(const unsigned char *buf, size_t len, int kind, const hm_key *key,
    const hm_cert *cert, struct hm_arc *a, hm_err *err)
{
	unsigned char	*pt = NULL;
	size_t		 ptlen = 0;
	int		 rc;

	if ((rc = hm_arc_open(buf, len, key->pkey, cert != NULL ? cert->x509 :
	    NULL, &pt, &ptlen, err)) != HM_OK)
		return rc;
	rc = hm_arc_decode(pt, ptlen, kind, a, err);
	OPENSSL_cleanse(pt, ptlen);
	free(pt);
	return rc;
}

/* Encode a, seal it for recips, wipe the plaintext. */
static int
arc_write(const struct hm_arc *a, const hm_cert *const *recips, size_t n,
    unsigned char **out, size_t *len, hm_err *err)
{
	X509		*xs[HM_ARCHIVE_RECIPIENTS_MAX];
	unsigned char	*der = NULL;
	size_t		 derlen = 0, i;
	int		 rc;

	if (n > HM_ARCHIVE_RECIPIENTS_MAX)
		return hm_seterr(err, HM_E_TOOBIG, "over %d recipients",
		    HM_ARCHIVE_RECIPIENTS_MAX);
	for (i = 0; i < n; i++)
		xs[i] = recips[i]->x509;
	if ((rc = hm_arc_encode(a, &der, &derlen, err)) != HM_OK)
		return rc;
	rc = hm_arc_seal(der, derlen, xs, n, out, len, err);
	OPENSSL_cleanse(der, derlen);
	OPENSSL_free(der);
	return rc;
}

/* The CAs of a directory, parents before children. */
struct ca_set {
	hm_ca_info	*v;
	size_t		 n, cap;
};

static int
ca_set_cb(const hm_ca_info *ci, void *arg)
{
	struct ca_set	*s = arg;
	hm_ca_info	*v;

	if (s->n == HM_ARCHIVE_ENTRIES_MAX)
		return HM_E_TOOBIG;
	if (s->n == s->cap) {
		if ((v = reallocarray(s->v, s->cap ? s->cap * 2 : 8,
		    sizeof(*v))) == NULL)
			return HM_E_NOMEM;
		s->v = v;
		s->cap = s->cap ? s->cap * 2 : 8;
	}
	s->v[s->n++] = *ci;
	return 0;
}

static int
ca_info_cmp(const void *a, const void *b)
{
	const hm_ca_info	*x = a, *y = b;

	if (x->depth != y->depth)
		return x->depth < y->depth ? -1 : 1;
	return strcmp(x->name, y->name);
}

static int
ca_set_load(hm_ca *ca, struct ca_set *s, hm_err *err)
{
	int	rc;

	memset(s, 0, sizeof(*s));
	if ((rc = hm_ca_list(ca, ca_set_cb, s, err)) != HM_OK) {
		if (rc == HM_E_TOOBIG)
			hm_seterr(err, rc, "over %d CAs",
			    HM_ARCHIVE_ENTRIES_MAX);
		else if (rc == HM_E_NOMEM)
			hm_seterr(err, rc, "out of memory");
		free(s->v);
		return rc;
	}
	if (s->n > 1)
		qsort(s->v, s->n, sizeof(*s->v), ca_info_cmp);
	return HM_OK;
}

static int
add_cert(struct hm_arc *a, const char *name, X509 *x, hm_err *err)
{
	char	path[HM_ARC_NAME_MAX + 1], *pem = NULL;
	size_t	len;
	int	rc;

	snprintf(path, sizeof(path), "ca/%s/cert.pem", name);
	if ((rc = hm_x509_pem(&x, 1, &pem, &len, err)) != HM_OK)
		return rc;
	rc = hm_arc_add(a, path, 0644, pem, len, err);
	free(pem);
	return rc;
}

/* The unlocked key of CA name as PKCS#8 PEM, into the archive. */
static int
add_key(hm_ca *ca, struct hm_arc *a, const char *name, hm_pass_cb cb,
    void *arg, hm_err *err)
{
	char		 path[HM_ARC_NAME_MAX + 1], what[HM_CA_NAME_MAX + 8];
	char		*pass = NULL;
	hm_signer	*s = NULL;
	BIO		*b = NULL;
	BUF_MEM		*mem;
	int		 rc;

	if (hm_ca_key_encrypted(ca, name)) {
		snprintf(what, sizeof(what), "CA '%s'", name);
		if (cb == NULL)
			return hm_seterr(err, HM_E_PASSPHRASE, "the key of CA "
			    "'%s' is encrypted: a passphrase is needed", name);
		if ((rc = cb(what, HM_PASS_NONE, NULL, 0, &pass, err, arg)) !=
		    HM_OK)
			return rc;
	}
	rc = hm_ca_signer(ca, name, pass, &s, err);
	hm_secret_free(pass);
	if (rc != HM_OK)
		return rc;
	if ((b = BIO_new(BIO_s_secmem())) == NULL) {
		rc = hm_seterr(err, HM_E_NOMEM, "out of memory");
		goto out;
	}
	if (!PEM_write_bio_PKCS8PrivateKey(b, s->pkey, NULL, NULL, 0, NULL,
	    NULL)) {
		rc = hm_seterr_ssl(err, HM_E_INTERNAL, "encoding the key of "
		    "CA '%s'", name);
		goto out;
	}
	BIO_get_mem_ptr(b, &mem);
	snprintf(path, sizeof(path), "ca/%s/key.pem", name);
	rc = hm_arc_add(a, path, 0600, mem->data, mem->length, err);
 out:
	BIO_free(b);
	hm_signer_free(s);
	return rc;
}

int
hm_archive_signers(hm_ca *ca, const char *const *names, size_t n,
    hm_pass_cb cb, void *arg, const hm_cert *const *recips, size_t nrecips,
    unsigned char **out, size_t *len, hm_err *err)
{
	struct ca_set	 set;
	struct hm_arc	 a;
	hm_signer	*s = NULL;
	size_t		 i, j, taken = 0;
	int		 rc;

	memset(&a, 0, sizeof(a));
	a.kind = HM_ARC_SIGNERS;
	a.created = time(NULL);
	if ((rc = ca_set_load(ca, &set, err)) != HM_OK)
		return rc;
	for (j = 0; j < n; j++) {
		if (strcmp(names[j], HM_ROOT_NAME) == 0) {
			rc = hm_seterr(err, HM_E_POLICY, "the root's key never "
			    "leaves in an export (a backup carries it)");
			goto out;
		}
		for (i = 0; i < set.n; i++)
			if (strcmp(set.v[i].name, names[j]) == 0)
				break;
		if (i == set.n) {
			rc = hm_seterr(err, HM_E_NOTFOUND, "no CA named "
			    "'%.64s'", names[j]);
			goto out;
		}
	}
	if ((rc = hm_ca_certs(ca, NULL, &s, err)) != HM_OK ||
	    (rc = add_cert(&a, HM_ROOT_NAME, s->cert, err)) != HM_OK)
		goto out;
	hm_signer_free(s);
	s = NULL;
	for (i = 0; i < set.n; i++) {
		if (set.v[i].depth == 0)
			continue;
		for (j = 0; j < n; j++)
			if (strcmp(set.v[i].name, names[j]) == 0)
				break;
		if (n > 0 && j == n)
			continue;
		if ((rc = hm_ca_certs(ca, set.v[i].name, &s, err)) != HM_OK ||
		    (rc = add_cert(&a, set.v[i].name, s->cert, err)) !=
		    HM_OK ||
		    (rc = add_key(ca, &a, set.v[i].name, cb, arg, err)) !=
		    HM_OK)
			goto out;
		hm_signer_free(s);
		s = NULL;
		taken++;
	}
	if (taken == 0) {
		rc = hm_seterr(err, HM_E_NOTFOUND, "no intermediate CA to "
		    "export (create one with hallmark ca new)");
		goto out;
	}
	rc = arc_write(&a, recips, nrecips, out, len, err);
 out:
	hm_signer_free(s);
	hm_arc_clear(&a);
	free(set.v);
	return rc;
}

/* A file of the CA directory, as it is, into the archive. */
static int
add_file(hm_ca *ca, struct hm_arc *a, const char *name, const char *file,
    unsigned mode, size_t max, hm_err *err)
{
	char		 path[HM_PATH_MAX], aname[HM_ARC_NAME_MAX + 1];
	unsigned char	*buf = NULL;
	size_t		 len = 0;
	int		 rc;

	if (hm_ca_file(ca, name, file, path, sizeof(path)) == -1)
		return hm_seterr(err, HM_E_INVALID, "path too long");
	if ((rc = hm_file_read(path, max, &buf, &len, err)) != HM_OK)
		return rc;
	snprintf(aname, sizeof(aname), "ca/%s/%s", name, file);
	rc = hm_arc_add(a, aname, mode, buf, len, err);
	OPENSSL_cleanse(buf, len);
	free(buf);
	return rc;
}

int
hm_archive_backup(hm_ca *ca, const hm_cert *const *recips, size_t nrecips,
    unsigned char **out, size_t *len, hm_err *err)
{
	char		 path[HM_PATH_MAX];
	struct ca_set	 set;
	struct hm_arc	 a;
	unsigned char	*db = NULL;
	size_t		 dblen = 0, i;
	int		 rc;

	memset(&a, 0, sizeof(a));
	a.kind = HM_ARC_BACKUP;
	a.created = time(NULL);
	if (ca->store->ops->snapshot == NULL)
		return hm_seterr(err, HM_E_INVALID, "the %s store has no "
		    "snapshot: back it up with its own tools",
		    ca->store->ops->name);
	if ((rc = ca_set_load(ca, &set, err)) != HM_OK)
		return rc;
	if ((rc = ca->store->ops->snapshot(ca->store, &db, &dblen, err)) !=
	    HM_OK ||
	    (rc = hm_arc_add(&a, STORE_FILE, 0600, db, dblen, err)) != HM_OK)
		goto out;
	for (i = 0; i < set.n; i++) {
		if ((rc = add_file(ca, &a, set.v[i].name, "cert.pem", 0644,
		    CERT_FILE_MAX, err)) != HM_OK)
			goto out;
		/* An online CA has no root key: what is there is kept. */
		if (hm_ca_file(ca, set.v[i].name, "key.pem", path,
		    sizeof(path)) == 0 && access(path, F_OK) == -1 &&
		    errno == ENOENT)
			continue;
		if ((rc = add_file(ca, &a, set.v[i].name, "key.pem", 0600,
		    KEY_FILE_MAX, err)) != HM_OK)
			goto out;
	}
	rc = arc_write(&a, recips, nrecips, out, len, err);
 out:
	if (db != NULL) {
		OPENSSL_cleanse(db, dblen);
		free(db);
	}
	hm_arc_clear(&a);
	free(set.v);
	return rc;
}

static X509 *
pem_cert(const struct hm_arc_entry *e)
{
	if (e->len > CERT_FILE_MAX)
		return NULL;
	return hm_x509_from_pem(e->data, e->len);
}

static EVP_PKEY *
pem_key(const struct hm_arc_entry *e)
{
	BIO		*b;
	EVP_PKEY	*pk;

	if (e->len > KEY_FILE_MAX ||
	    (b = BIO_new_mem_buf(e->data, (int)e->len)) == NULL)
		return NULL;
	/* Never prompt: a key in an archive is not encrypted. */
	pk = PEM_read_bio_PrivateKey(b, NULL, hm_pem_no_pass, NULL);
	BIO_free(b);
	return pk;
}

static const struct hm_arc_entry *
arc_find(const struct hm_arc *a, const char *name)
{
	size_t	i;

	for (i = 0; i < a->n; i++)
		if (strcmp(a->v[i].name, name) == 0)
			return &a->v[i];
	return NULL;
}

/* One intermediate of a signers archive, checked. */
struct in_ca {
	char		 name[HM_CA_NAME_MAX + 1];
	char		 parent[HM_CA_NAME_MAX + 1];
	X509		*x;
	hm_key		*key;
	int		 depth;
	int		 already;
};

/* The CAs ca has already: names and certificates. */
struct have {
	char		 name[HM_CA_NAME_MAX + 1];
	X509		*x;
};

static int
in_ca_cmp(const void *a, const void *b)
{
	const struct in_ca	*x = a, *y = b;

	if (x->depth != y->depth)
		return x->depth < y->depth ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Read the intermediates of a into v (at most max), keys paired. */
static int
in_cas_read(const struct hm_arc *a, struct in_ca *v, size_t max, size_t *nv,
    hm_err *err)
{
	const struct hm_arc_entry	*ke;
	char				 kname[HM_ARC_NAME_MAX + 1];
	const char			*nm;
	EVP_PKEY			*pk;
	hm_keytype			 kt;
	size_t				 i, n = 0, len;
	int				 rc;

	for (i = 0; i < a->n; i++) {
		nm = a->v[i].name + 3;
		len = strcspn(nm, "/");
		if (strcmp(nm + len, "/key.pem") == 0) {
			/* Each key goes with its certificate. */
			snprintf(kname, sizeof(kname), "ca/%.*s/cert.pem",
			    (int)len, nm);
			if (arc_find(a, kname) == NULL)
				return hm_seterr(err, HM_E_INVALID, "archive: "
				    "%s without its certificate",
				    a->v[i].name);
			continue;
		}
		if (strncmp(nm, HM_ROOT_NAME "/", strlen(HM_ROOT_NAME) + 1) ==
		    0)
			continue;
		if (n == max)
			return hm_seterr(err, HM_E_TOOBIG, "archive: too many "
			    "CAs");
		snprintf(v[n].name, sizeof(v[n].name), "%.*s", (int)len, nm);
		snprintf(kname, sizeof(kname), "ca/%s/key.pem", v[n].name);
		if ((ke = arc_find(a, kname)) == NULL)
			return hm_seterr(err, HM_E_INVALID, "archive: CA '%s' "
			    "comes without its key", v[n].name);
		if ((v[n].x = pem_cert(&a->v[i])) == NULL) {
			ERR_clear_error();
			return hm_seterr(err, HM_E_INVALID, "archive: the "
			    "certificate of CA '%s' does not parse",
			    v[n].name);
		}
		n++;
		*nv = n;
		if ((pk = pem_key(ke)) == NULL) {
			ERR_clear_error();
			return hm_seterr(err, HM_E_INVALID, "archive: the key "
			    "of CA '%s' does not parse", v[n - 1].name);
		}
		if ((kt = hm_pkey_type(pk, err)) == HM_KEY_NONE ||
		    X509_check_private_key(v[n - 1].x, pk) != 1) {
			EVP_PKEY_free(pk);
			ERR_clear_error();
			rc = kt == HM_KEY_NONE && err != NULL ? err->code :
			    HM_E_INVALID;
			return hm_seterr(err, rc, "archive: the key of CA '%s' "
			    "is not its certificate's, or not allowed",
			    v[n - 1].name);
		}
		if ((v[n - 1].key = hm_key_wrap(pk, kt)) == NULL) {
			EVP_PKEY_free(pk);
			return hm_seterr(err, HM_E_NOMEM, "out of memory");
		}
	}
	if (n == 0)
		return hm_seterr(err, HM_E_INVALID, "archive: no intermediate "
		    "CA in it");
	*nv = n;
	return HM_OK;
}

/*
 * Verify each intermediate up to root (X.509 strict) through the others
 * and those ca has, now or, for one that starts later (a scheduled
 * signer), at its start; and name its parent.
 */
static int
in_cas_verify(struct in_ca *v, size_t n, X509 *root, struct have *h,
    size_t nh, hm_err *err)
{
	STACK_OF(X509)	*untrusted = NULL, *chain;
	X509_STORE	*st = NULL;
	X509_STORE_CTX	*ctx = NULL;
	X509		*issuer;
	size_t		 i, j;
	time_t		 nb, now = time(NULL);
	int		 rc = HM_E_NOMEM;

	if ((untrusted = sk_X509_new_null()) == NULL ||
	    (st = X509_STORE_new()) == NULL ||
	    (ctx = X509_STORE_CTX_new()) == NULL ||
	    !X509_STORE_add_cert(st, root))
		goto nomem;
	for (i = 0; i < n; i++)
		if (!sk_X509_push(untrusted, v[i].x))
			goto nomem;
	for (i = 0; i < nh; i++)
		if (!sk_X509_push(untrusted, h[i].x))
			goto nomem;
	X509_STORE_set_flags(st, X509_V_FLAG_X509_STRICT);
	for (i = 0; i < n; i++) {
		if (!X509_STORE_CTX_init(ctx, st, v[i].x, untrusted))
			goto nomem;
		/* A scheduled signer, not valid yet: checked at its start. */
		if ((nb = hm_asn1_time_to_time(X509_get0_notBefore(v[i].x))) >
		    now)
			X509_STORE_CTX_set_time(ctx, 0, nb);
		if (X509_check_ca(v[i].x) < 1 || X509_verify_cert(ctx) != 1) {
			rc = hm_seterr(err, HM_E_POLICY, "CA '%s' of the "
			    "archive does not chain to this CA's root: %s",
			    v[i].name, X509_check_ca(v[i].x) < 1 ? "not a CA" :
			    X509_verify_cert_error_string(
			    X509_STORE_CTX_get_error(ctx)));
			goto out;
		}
		chain = X509_STORE_CTX_get0_chain(ctx);
		v[i].depth = sk_X509_num(chain) - 1;
		issuer = sk_X509_value(chain, 1);
		if (X509_cmp(issuer, root) == 0)
			snprintf(v[i].parent, sizeof(v[i].parent), "%s",
			    HM_ROOT_NAME);
		for (j = 0; j < n && v[i].parent[0] == '\0'; j++)
			if (X509_cmp(issuer, v[j].x) == 0)
				snprintf(v[i].parent, sizeof(v[i].parent),
				    "%s", v[j].name);
		for (j = 0; j < nh && v[i].parent[0] == '\0'; j++)
			if (X509_cmp(issuer, h[j].x) == 0)
				snprintf(v[i].parent, sizeof(v[i].parent),
				    "%s", h[j].name);
		if (v[i].parent[0] == '\0') {
			rc = hm_seterr(err, HM_E_INTERNAL, "CA '%s': issuer "
			    "not found", v[i].name);
			goto out;
		}
		X509_STORE_CTX_cleanup(ctx);
	}
	rc = HM_OK;
	goto out;
 nomem:
	rc = hm_seterr(err, HM_E_NOMEM, "out of memory");
 out:
	ERR_clear_error();
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);
	sk_X509_free(untrusted);
	return rc;
}

/*
 * Import into ca, or, when ca is NULL, into a new online CA at dir made
 * from root once everything has been checked: a damaged or foreign
 * archive leaves no directory behind.
 */
static int
import_run(hm_ca *ca, const char *dir, const hm_cert *root_given,
    const unsigned char *buf, size_t len, const hm_key *key,
    const hm_cert *cert, const char *pass, hm_import_cb cb, void *arg,
    hm_ca **made, hm_err *err)
{
	const struct hm_arc_entry	*re;
	struct hm_arc			 a;
	struct ca_set			 set;
	struct in_ca			*v = NULL;
	struct have			*h = NULL;
	hm_signer			*s = NULL, *mine = NULL;
	X509				*root = NULL, *trusted;
	size_t				 n = 0, nh = 0, i, j;
	int				 rc;

	memset(&a, 0, sizeof(a));
	memset(&set, 0, sizeof(set));
	if (pass != NULL && (rc = hm_passphrase_check(pass, err)) != HM_OK)
		return rc;
	if ((rc = arc_read(buf, len, HM_ARC_SIGNERS, key, cert, &a, err)) !=
	    HM_OK)
		return rc;
	if ((re = arc_find(&a, "ca/" HM_ROOT_NAME "/cert.pem")) == NULL) {
		rc = hm_seterr(err, HM_E_INVALID, "archive: no root "
		    "certificate in it");
		goto out;
	}
	if ((root = pem_cert(re)) == NULL) {
		ERR_clear_error();
		rc = hm_seterr(err, HM_E_INVALID, "archive: the root "
		    "certificate does not parse");
		goto out;
	}
	if (ca != NULL) {
		if ((rc = hm_ca_certs(ca, NULL, &mine, err)) != HM_OK)
			goto out;
		trusted = mine->cert;
	} else
		trusted = root_given->x509;
	if (X509_cmp(root, trusted) != 0) {
		char	subj[256];

		hm_name_oneline(X509_get_subject_name(root), subj,
		    sizeof(subj));
		rc = hm_seterr(err, HM_E_POLICY, "the archive's root (%.80s) "
		    "is not this CA's root: refusing its signers", subj);
		goto out;
	}
	if ((v = calloc(a.n, sizeof(*v))) == NULL) {
		rc = hm_seterr(err, HM_E_NOMEM, "out of memory");
		goto out;
	}
	if ((rc = in_cas_read(&a, v, a.n, &n, err)) != HM_OK)
		goto out;
	/* What this CA has already, and conflicts, before any write. */
	if (ca != NULL && (rc = ca_set_load(ca, &set, err)) != HM_OK)
		goto out;
	if ((h = calloc(set.n + 1, sizeof(*h))) == NULL) {
		rc = hm_seterr(err, HM_E_NOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < set.n; i++) {
		if (set.v[i].depth == 0)
			continue;
		if ((rc = hm_ca_certs(ca, set.v[i].name, &s, err)) != HM_OK)
			goto out;
		snprintf(h[nh].name, sizeof(h[nh].name), "%s", set.v[i].name);
		h[nh++].x = s->cert;
		s->cert = NULL;
		hm_signer_free(s);
		s = NULL;
	}
	for (i = 0; i < n; i++)
		for (j = 0; j < nh; j++) {
			if (strcmp(v[i].name, h[j].name) != 0)
				continue;
			if (X509_cmp(v[i].x, h[j].x) != 0) {
				rc = hm_seterr(err, HM_E_EXISTS, "CA '%s' "
				    "exists here with another certificate: "
				    "refusing to replace it", v[i].name);
				goto out;
			}
			v[i].already = 1;
		}
	if ((rc = in_cas_verify(v, n, trusted, h, nh, err)) != HM_OK)
		goto out;
	if (ca == NULL) {
		if ((rc = hm_ca_init_from_root(dir, root_given, made, err)) !=
		    HM_OK)
			goto out;
		ca = *made;
	}
	qsort(v, n, sizeof(*v), in_ca_cmp);
	for (i = 0; i < n; i++) {
		if (!v[i].already && (rc = hm_ca_adopt(ca, v[i].name,
		    v[i].parent, v[i].x, v[i].key, pass, err)) != HM_OK)
			goto out;
		if (cb != NULL && (rc = cb(v[i].name, v[i].already, arg)) !=
		    HM_OK) {
			rc = hm_seterr(err, rc, "import stopped at CA '%s'",
			    v[i].name);
			goto out;
		}
	}
	rc = HM_OK;
 out:
	for (i = 0; v != NULL && i < a.n; i++) {
		X509_free(v[i].x);
		hm_key_free(v[i].key);
	}
	for (i = 0; i < nh; i++)
		X509_free(h[i].x);
	free(h);
	free(v);
	free(set.v);
	X509_free(root);
	hm_signer_free(s);
	hm_signer_free(mine);
	hm_arc_clear(&a);
	return rc;
}

int
hm_archive_import(hm_ca *ca, const unsigned char *buf, size_t len,
    const hm_key *key, const hm_cert *cert, const char *pass,
    hm_import_cb cb, void *arg, hm_err *err)
{
	return import_run(ca, NULL, NULL, buf, len, key, cert, pass, cb, arg,
	    NULL, err);
}

int
hm_archive_import_new(const char *dir, const hm_cert *root,
    const unsigned char *buf, size_t len, const hm_key *key,
    const hm_cert *cert, const char *pass, hm_import_cb cb, void *arg,
    hm_ca **out, hm_err *err)
{
	hm_ca	*ca = NULL;
	int	 rc;

	rc = import_run(NULL, dir, root, buf, len, key, cert, pass, cb, arg,
	    &ca, err);
	/* Once made, the online CA stays: a new import resumes in it. */
	if (rc == HM_OK)
		*out = ca;
	else
		hm_ca_close(ca);
	return rc;
}

/* What restore wrote, to take back on failure. */
struct written {
	char	(*paths)[HM_PATH_MAX];
	int	*is_dir;
	size_t	 n, cap;
};

static int
written_add(struct written *w, const char *path, int is_dir, hm_err *err)
{
	void	*p, *d;
	size_t	 cap;

	if (w->n == w->cap) {
		cap = w->cap ? w->cap * 2 : 16;
		if ((p = reallocarray(w->paths, cap, sizeof(*w->paths))) ==
		    NULL)
			return hm_seterr(err, HM_E_NOMEM, "out of memory");
		w->paths = p;
		if ((d = reallocarray(w->is_dir, cap, sizeof(*w->is_dir))) ==
		    NULL)
			return hm_seterr(err, HM_E_NOMEM, "out of memory");
		w->is_dir = d;
		w->cap = cap;
	}
	snprintf(w->paths[w->n], HM_PATH_MAX, "%s", path);
	w->is_dir[w->n++] = is_dir;
	return HM_OK;
}

/* Take back what was written, newest first. */
static void
written_undo(struct written *w)
{
	char	aux[HM_PATH_MAX + 8];
	size_t	i;

	for (i = w->n; i-- > 0;) {
		if (w->is_dir[i]) {
			rmdir(w->paths[i]);
			continue;
		}
		/* The store may have grown its WAL once opened. */
		snprintf(aux, sizeof(aux), "%s-wal", w->paths[i]);
		unlink(aux);
		snprintf(aux, sizeof(aux), "%s-shm", w->paths[i]);
		unlink(aux);
		unlink(w->paths[i]);
	}
}

/* 1 when dir is an empty directory, 0 when it does not exist, else -1. */
static int
dir_state(const char *dir)
{
	struct dirent	*d;
	DIR		*dp;
	int		 empty = 1;

	if ((dp = opendir(dir)) == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((d = readdir(dp)) != NULL)
		if (strcmp(d->d_name, ".") != 0 && strcmp(d->d_name, "..") != 0)
			empty = 0;
	closedir(dp);
	return empty ? 1 : -1;
}

static int
mkdir_once(struct written *w, const char *path, hm_err *err)
{
	struct stat	st;

	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return HM_OK;
	if (mkdir(path, 0700) == -1)
		return hm_seterr(err, HM_E_IO, "mkdir %s: %s", path,
		    strerror(errno));
	return written_add(w, path, 1, err);
}

/* The restored directory opens and its store's CAs have their files. */
static int
restore_check(const char *dir, hm_err *err)
{
	char		 path[HM_PATH_MAX];
	struct ca_set	 set;
	hm_ca		*ca = NULL;
	hm_signer	*s = NULL;
	size_t		 i;
	int		 rc;

	memset(&set, 0, sizeof(set));
	if ((rc = hm_ca_open(dir, &ca, err)) != HM_OK ||
	    (rc = ca_set_load(ca, &set, err)) != HM_OK)
		goto out;
	if (set.n == 0 || set.v[0].depth != 0) {
		rc = hm_seterr(err, HM_E_INVALID, "backup: its store holds no "
		    "root CA");
		goto out;
	}
	for (i = 0; i < set.n; i++) {
		if ((rc = hm_ca_certs(ca, set.v[i].name, &s, err)) != HM_OK)
			goto out;
		hm_signer_free(s);
		s = NULL;
		if (hm_ca_cert_path(ca, set.v[i].name, path, sizeof(path)) ==
		    -1 || access(path, F_OK) == -1) {
			rc = hm_seterr(err, HM_E_INVALID, "backup: CA '%s' of "
			    "its store has no certificate file",
			    set.v[i].name);
			goto out;
		}
	}
	rc = HM_OK;
 out:
	free(set.v);
	hm_ca_close(ca);
	return rc;
}

int
hm_archive_restore(const char *dir, const unsigned char *buf, size_t len,
    const hm_key *key, const hm_cert *cert, hm_err *err)
{
	static const char	 sqlite_magic[16] = "SQLite format 3";
	const struct hm_arc_entry *db;
	char			 path[HM_PATH_MAX];
	struct written		 w;
	struct hm_arc		 a;
	size_t			 i, dlen = strlen(dir);
	int			 rc, st;

	memset(&w, 0, sizeof(w));
	memset(&a, 0, sizeof(a));
	if (dlen == 0 || dlen + HM_ARC_NAME_MAX + 64 >= HM_PATH_MAX)
		return hm_seterr(err, HM_E_INVALID, "directory path too long");
	if ((st = dir_state(dir)) == -1)
		return hm_seterr(err, HM_E_EXISTS, "%s exists and is not an "
		    "empty directory: refusing to restore into it", dir);
	if ((rc = arc_read(buf, len, HM_ARC_BACKUP, key, cert, &a, err)) !=
	    HM_OK)
		return rc;
	if ((db = arc_find(&a, STORE_FILE)) == NULL ||
	    db->len < sizeof(sqlite_magic) ||
	    memcmp(db->data, sqlite_magic, sizeof(sqlite_magic)) != 0 ||
	    arc_find(&a, "ca/" HM_ROOT_NAME "/cert.pem") == NULL) {
		rc = hm_seterr(err, HM_E_INVALID, "backup: no store or no root "
		    "certificate in it");
		goto out;
	}
	if (st == 0) {
		if ((rc = hm_mkdir_p(dir, 0700, err)) != HM_OK ||
		    (rc = written_add(&w, dir, 1, err)) != HM_OK)
			goto out;
	}
	snprintf(path, sizeof(path), "%s/ca", dir);
	if ((rc = mkdir_once(&w, path, err)) != HM_OK)
		goto out;
	for (i = 0; i < a.n; i++) {
		if (strncmp(a.v[i].name, "ca/", 3) == 0) {
			snprintf(path, sizeof(path), "%s/ca/%.*s", dir,
			    (int)strcspn(a.v[i].name + 3, "/"),
			    a.v[i].name + 3);
			if ((rc = mkdir_once(&w, path, err)) != HM_OK)
				goto out;
		}
		snprintf(path, sizeof(path), "%s/%s", dir, a.v[i].name);
		if ((rc = hm_file_write(path, a.v[i].data, a.v[i].len,
		    a.v[i].mode, 0, err)) != HM_OK ||
		    (rc = written_add(&w, path, 0, err)) != HM_OK)
			goto out;
	}
	rc = restore_check(dir, err);
 out:
	if (rc != HM_OK)
		written_undo(&w);
	free(w.paths);
	free(w.is_dir);
	hm_arc_clear(&a);
	return rc;
}
