/*
 * Revocation: the store records it (time, reason), and a CRL v2 says it,
 * signed by the CA that issued the certificate, with a CRL number that
 * only grows.
 */
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1t.h>
#include <openssl/core_names.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "internal.h"

#define CRL_NEXT_UPDATE	(7 * 86400)

static const struct {
	int		 code;
	const char	*name;
} reasons[] = {
	{ HM_REASON_UNSPECIFIED, "unspecified" },
	{ HM_REASON_KEY_COMPROMISE, "keyCompromise" },
	{ HM_REASON_CA_COMPROMISE, "cACompromise" },
	{ HM_REASON_AFFILIATION_CHANGED, "affiliationChanged" },
	{ HM_REASON_SUPERSEDED, "superseded" },
	{ HM_REASON_CESSATION, "cessationOfOperation" },
	{ HM_REASON_PRIVILEGE_WITHDRAWN, "privilegeWithdrawn" },
};

int
hm_reason_parse(const char *s, int *reason, hm_err *err)
{
	size_t	i;

	for (i = 0; s != NULL && i < sizeof(reasons) / sizeof(reasons[0]);
	    i++)
		if (strcasecmp(s, reasons[i].name) == 0) {
			*reason = reasons[i].code;
			return HM_OK;
		}
	return hm_seterr(err, HM_E_INVALID, "unknown reason '%.32s' (want "
	    "unspecified, keyCompromise, cACompromise, affiliationChanged, "
	    "superseded, cessationOfOperation or privilegeWithdrawn)",
	    s == NULL ? "" : s);
}

const char *
hm_reason_name(int reason)
{
	size_t	i;

	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (reasons[i].code == reason)
			return reasons[i].name;
	return "unknown";
}

int
hm_revoke(hm_ca *ca, const char *serial, int reason, time_t when,
    int *flags, hm_err *err)
{
	hm_store	*st = ca->store;
	char		 norm[41];
	int		 rc, already = 0;

	if (strcmp(hm_reason_name(reason), "unknown") == 0)
		return hm_seterr(err, HM_E_INVALID, "unknown reason code %d",
		    reason);
	if (hm_serial_normalize(serial, norm, sizeof(norm)) == -1)
		return hm_seterr(err, HM_E_INVALID, "bad serial '%.64s' (want "
		    "hex)", serial);
	if ((rc = st->ops->begin(st, err)) != HM_OK)
		return rc;
	if ((rc = st->ops->cert_revoke(st, norm, when != 0 ? when :
	    time(NULL), reason, &already, err)) != HM_OK ||
	    (rc = st->ops->commit(st, err)) != HM_OK) {
		st->ops->rollback(st);
		return rc;
	}
	if (flags != NULL)
		*flags = already ? HM_REVOKED_ALREADY : 0;
	return HM_OK;
}

/* A revoked certificate as the store lists it. */
struct rev {
	unsigned char	 sn[20];
	unsigned char	 snlen;
	unsigned char	 reason;
	time_t		 when;
};

struct revs {
	struct rev	*v;
	size_t		 n, cap;
};

/*
 * Collect one entry: the serial decoded from the store's hex (checked
 * first, then decoded without a branch a digit: a CRL has millions).
 */
static int
collect(const char *serial, time_t when, int reason, void *arg)
{
	struct revs	*rs = arg;
	struct rev	*r;
	void		*t;
	size_t		 i, n = strlen(serial);
	unsigned	 hi, lo;

	if (n == 0 || n > 40 || reason < 0 || reason > 10 ||
	    strspn(serial, "0123456789abcdefABCDEF") != n)
		return HM_E_STORE;
	if (rs->n == rs->cap) {
		rs->cap = rs->cap ? 2 * rs->cap : 1024;
		if ((t = reallocarray(rs->v, rs->cap, sizeof(*rs->v))) == NULL)
			return HM_E_NOMEM;
		rs->v = t;
	}
	r = &rs->v[rs->n];
	for (i = 0; i < (n + 1) / 2; i++) {
		/* '0'-'9' are 0x3N, 'a'-'f' and 'A'-'F' 0x6N and 0x4N. */
		hi = i == 0 && n % 2 ? '0' : (unsigned char)*serial++;
		lo = (unsigned char)*serial++;
		r->sn[i] = (unsigned char)(((hi & 0xf) + 9 * (hi >> 6)) << 4 |
		    ((lo & 0xf) + 9 * (lo >> 6)));
	}
	r->snlen = (unsigned char)i;
	r->reason = (unsigned char)reason;
	r->when = when;
	rs->n++;
	return HM_OK;
}

/*
 * A CRL is written as it was signed.  OpenSSL's X509_CRL keeps no
 * encoding of what it signed: X509_CRL_sign_ctx and i2d_X509_CRL encoded
 * a large list twice, after an X509_REVOKED had been allocated for every
 * entry.  Here templates of our own, with the fields of OpenSSL's
 * X509_REVOKED, X509_CRL_INFO and X509_CRL (so the same DER), encode each
 * entry once from the store's values; a field of type ASN1_SEQUENCE holds
 * DER that the encoder copies as it is, which carries the entries into
 * the to-be-signed list, and that list, signed, into the CertificateList.
 */
typedef struct {
	ASN1_INTEGER	*serial;
	ASN1_TIME	*date;
	ASN1_STRING	*exts;		/* the Extensions' DER, or NULL */
} HM_CRL_ENTRY;

typedef struct {
	ASN1_INTEGER		*version;
	X509_ALGOR		*sig_alg;
	X509_NAME		*issuer;
	ASN1_TIME		*this_update;
	ASN1_TIME		*next_update;
	ASN1_STRING		*revoked;	/* the entries' DER, or NULL */
	STACK_OF(X509_EXTENSION) *exts;
} HM_CRL_TBS;

typedef struct {
	ASN1_STRING	*tbs;		/* HM_CRL_TBS's DER, as signed */
	X509_ALGOR	*sig_alg;
	ASN1_BIT_STRING	*signature;
} HM_CRL;

ASN1_SEQUENCE(HM_CRL_ENTRY) = {
	ASN1_SIMPLE(HM_CRL_ENTRY, serial, ASN1_INTEGER),
	ASN1_SIMPLE(HM_CRL_ENTRY, date, ASN1_TIME),
	ASN1_OPT(HM_CRL_ENTRY, exts, ASN1_SEQUENCE),
} static_ASN1_SEQUENCE_END(HM_CRL_ENTRY)

ASN1_SEQUENCE(HM_CRL_TBS) = {
	ASN1_OPT(HM_CRL_TBS, version, ASN1_INTEGER),
	ASN1_SIMPLE(HM_CRL_TBS, sig_alg, X509_ALGOR),
	ASN1_SIMPLE(HM_CRL_TBS, issuer, X509_NAME),
	ASN1_SIMPLE(HM_CRL_TBS, this_update, ASN1_TIME),
	ASN1_OPT(HM_CRL_TBS, next_update, ASN1_TIME),
	ASN1_OPT(HM_CRL_TBS, revoked, ASN1_SEQUENCE),
	ASN1_EXP_SEQUENCE_OF_OPT(HM_CRL_TBS, exts, X509_EXTENSION, 0),
} static_ASN1_SEQUENCE_END(HM_CRL_TBS)

ASN1_SEQUENCE(HM_CRL) = {
	ASN1_SIMPLE(HM_CRL, tbs, ASN1_SEQUENCE),
	ASN1_SIMPLE(HM_CRL, sig_alg, X509_ALGOR),
	ASN1_SIMPLE(HM_CRL, signature, ASN1_BIT_STRING),
} static_ASN1_SEQUENCE_END(HM_CRL)

/*
 * The most an entry takes: a SEQUENCE header (2), an INTEGER of at most 20
 * bytes and a sign byte (23), a GeneralizedTime (17) and one reason's
 * Extensions (at most REASON_MAX): 58.  Each entry is encoded straight
 * into room of ENTRY_MAX bytes, so these bounds are checked on the inputs.
 */
#define ENTRY_MAX	64
#define REASON_MAX	16
#define TIME_MAX	15	/* YYYYMMDDHHMMSSZ */
#define HDR_MAX		6	/* a tag and a length below 2^31 */

/*
 * why[code]: the Extensions of an entry revoked for code (1 to 10), one
 * reasonCode; why[0] stays NULL, since RFC 5280 5.3.1 has "unspecified"
 * left out.
 */
static int
reason_exts(ASN1_STRING *why[11])
{
	STACK_OF(X509_EXTENSION)	*exts;
	ASN1_ENUMERATED			*e;
	unsigned char			*der;
	int				 code, n, ok = 1;

	for (code = 1; ok && code < 11; code++) {
		exts = NULL;
		der = NULL;
		n = 0;
		ok = (e = ASN1_ENUMERATED_new()) != NULL &&
		    ASN1_ENUMERATED_set(e, code) &&
		    X509V3_add1_i2d(&exts, NID_crl_reason, e, 0,
		    X509V3_ADD_APPEND) == 1 &&
		    (n = i2d_X509_EXTENSIONS(exts, &der)) > 0 &&
		    n <= REASON_MAX &&
		    (why[code] = ASN1_STRING_type_new(V_ASN1_SEQUENCE)) != NULL;
		if (ok) {
			ASN1_STRING_set0(why[code], der, n);
			der = NULL;
		}
		OPENSSL_free(der);
		sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
		ASN1_ENUMERATED_free(e);
	}
	return ok;
}

/*
 * ASN1_TIME_set formats with BIO_snprintf, which costs more than all the
 * rest of an entry.  So OpenSSL formats a day once, at midnight (and so
 * picks UTCTime or GeneralizedTime for it), and an entry's time of day
 * goes into the six digits before that day's "Z": Unix time counts no
 * leap seconds, so the time of day is when modulo 86400.  Entries come
 * by serial, their dates in any order: a thread keeps the last day it met
 * in each of DAYS slots.
 */
#define DAYS	1024

struct days {
	time_t		 start[DAYS];
	ASN1_TIME	*t[DAYS];
	ASN1_TIME	*other;		/* a time before 1970 */
};

static ASN1_TIME *
day_time(struct days *d, time_t when)
{
	const unsigned char	*f;
	unsigned char		 s[TIME_MAX];
	ASN1_TIME		*t;
	time_t			 sec = when % 86400;
	size_t			 i;
	int			 n;

	if (when < 0) {
		if ((t = ASN1_TIME_set(d->other, when)) != NULL)
			d->other = t;
		return t;
	}
	i = (size_t)(when / 86400 % DAYS);
	if (d->t[i] == NULL || d->start[i] != when - sec) {
		if ((t = ASN1_TIME_set(d->t[i], when - sec)) == NULL)
			return NULL;
		d->t[i] = t;
		f = ASN1_STRING_get0_data(t);
		n = ASN1_STRING_length(t);
		if (n < 13 || n > TIME_MAX ||
		    memcmp(f + n - 7, "000000Z", 7) != 0)
			return NULL;
		d->start[i] = when - sec;
	}
	t = d->t[i];
	n = ASN1_STRING_length(t);
	memcpy(s, ASN1_STRING_get0_data(t), (size_t)n);
	s[n - 7] = (unsigned char)('0' + sec / 36000);
	s[n - 6] = (unsigned char)('0' + sec / 3600 % 10);
	s[n - 5] = (unsigned char)('0' + sec % 3600 / 600);
	s[n - 4] = (unsigned char)('0' + sec % 600 / 60);
	s[n - 3] = (unsigned char)('0' + sec % 60 / 10);
	s[n - 2] = (unsigned char)('0' + sec % 10);
	return ASN1_STRING_set(t, s, n) ? t : NULL;
}

/*
 * Encode v[0..n) one after the other at out, which has room for n entries
 * of ENTRY_MAX; a large CRL has two parts, on two threads.
 */
struct part {
	const struct rev	*v;
	size_t			 n;
	ASN1_STRING *const	*why;
	unsigned char		*out;
	size_t			 len;
	int			 ok;
};

static void *
encode_part(void *arg)
{
	struct part	*p = arg;
	struct days	*d;
	HM_CRL_ENTRY	 e;
	unsigned char	*o = p->out;
	size_t		 i;
	int		 n;

	e.serial = ASN1_INTEGER_new();
	e.date = NULL;
	d = calloc(1, sizeof(*d));
	p->ok = e.serial != NULL && d != NULL;
	for (i = 0; p->ok && i < p->n; i++) {
		/* Revocations come in bursts: a time is set once a second. */
		if ((i == 0 || p->v[i].when != p->v[i - 1].when) &&
		    ((e.date = day_time(d, p->v[i].when)) == NULL ||
		    ASN1_STRING_length(e.date) > TIME_MAX)) {
			p->ok = 0;
			break;
		}
		e.exts = p->why[p->v[i].reason];
		if (!ASN1_STRING_set(e.serial, p->v[i].sn, p->v[i].snlen) ||
		    (n = ASN1_item_i2d((ASN1_VALUE *)&e, &o,
		    ASN1_ITEM_rptr(HM_CRL_ENTRY))) <= 0 || n > ENTRY_MAX)
			p->ok = 0;
	}
	p->len = (size_t)(o - p->out);
	for (i = 0; d != NULL && i < DAYS; i++)
		ASN1_TIME_free(d->t[i]);
	if (d != NULL)
		ASN1_TIME_free(d->other);
	free(d);
	ASN1_INTEGER_free(e.serial);
	return NULL;
}

/*
 * The entries of rs, in their order, as the DER of a SEQUENCE OF into
 * *out; NULL when there are none (the optional list is left out).
 */
static int
encode_entries(const struct revs *rs, ASN1_STRING **out, hm_err *err)
{
	ASN1_STRING	*why[11] = { NULL }, *seq = NULL;
	struct part	 p[2];
	pthread_t	 th;
	unsigned char	*buf = NULL, *h;
	size_t		 i, half = rs->n >= 20000 ? rs->n / 2 : 0, len;
	int		 threaded = 0, hdr, rc;

	if (rs->n == 0) {
		*out = NULL;
		return HM_OK;
	}
	if (rs->n > (INT_MAX - HDR_MAX) / ENTRY_MAX)
		return hm_seterr(err, HM_E_INVALID, "%zu revoked certificates "
		    "are more than one CRL can hold", rs->n);
	if (!reason_exts(why) ||
	    (buf = OPENSSL_malloc(HDR_MAX + rs->n * ENTRY_MAX)) == NULL) {
		rc = hm_seterr(err, HM_E_NOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < 2; i++) {
		p[i].v = rs->v + (i == 0 ? 0 : half);
		p[i].n = i == 0 ? half : rs->n - half;
		p[i].why = why;
		p[i].out = buf + HDR_MAX + (i == 0 ? 0 : half * ENTRY_MAX);
		p[i].len = 0;
		p[i].ok = 0;
	}
	if (half > 0)
		threaded = pthread_create(&th, NULL, encode_part, &p[0]) == 0;
	if (!threaded)
		encode_part(&p[0]);
	encode_part(&p[1]);
	if (threaded)
		pthread_join(th, NULL);
	if (!p[0].ok || !p[1].ok) {
		rc = hm_seterr(err, HM_E_INTERNAL, "a revoked entry does not "
		    "encode (out of memory, or a date past 9999)");
		goto out;
	}
	/* The parts end to end, after the SEQUENCE's tag and length. */
	len = p[0].len + p[1].len;
	hdr = ASN1_object_size(1, (int)len, V_ASN1_SEQUENCE) - (int)len;
	memmove(buf + hdr, p[0].out, p[0].len);
	memmove(buf + hdr + p[0].len, p[1].out, p[1].len);
	h = buf;
	ASN1_put_object(&h, 1, (int)len, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL);
	if ((seq = ASN1_STRING_type_new(V_ASN1_SEQUENCE)) == NULL) {
		rc = hm_seterr(err, HM_E_NOMEM, "out of memory");
		goto out;
	}
	ASN1_STRING_set0(seq, buf, hdr + (int)len);
	buf = NULL;
	*out = seq;
	rc = HM_OK;
 out:
	OPENSSL_free(buf);
	for (i = 0; i < 11; i++)
		ASN1_STRING_free(why[i]);
	return rc;
}

/* The CRL's extensions: AKI (the CA's key identifier), CRL number. */
static int
crl_extensions(STACK_OF(X509_EXTENSION) **out, const hm_signer *s,
    int64_t number, hm_err *err)
{
	STACK_OF(X509_EXTENSION)	*exts = NULL;
	AUTHORITY_KEYID			*aki = NULL;
	ASN1_INTEGER			*n = NULL;
	const ASN1_OCTET_STRING		*ski;
	int				 rc = HM_OK;

	if ((ski = X509_get0_subject_key_id(s->cert)) == NULL)
		return hm_seterr(err, HM_E_INTERNAL, "CA '%s' has no subject "
		    "key identifier", s->info.name);
	if ((aki = AUTHORITY_KEYID_new()) == NULL ||
	    (aki->keyid = ASN1_OCTET_STRING_dup(ski)) == NULL ||
	    (n = ASN1_INTEGER_new()) == NULL ||
	    !ASN1_INTEGER_set_int64(n, number) ||
	    X509V3_add1_i2d(&exts, NID_authority_key_identifier, aki, 0, 0) !=
	    1 || X509V3_add1_i2d(&exts, NID_crl_number, n, 0, 0) != 1) {
		rc = hm_seterr_ssl(err, HM_E_INTERNAL, "CRL extensions");
		sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	} else
		*out = exts;
	AUTHORITY_KEYID_free(aki);
	ASN1_INTEGER_free(n);
	return rc;
}

/*
 * The AlgorithmIdentifier of what ctx signs, as its provider states it
 * (what X509_CRL_sign_ctx puts in a CRL of a provider's key).
 */
static int
sig_alg(EVP_MD_CTX *ctx, X509_ALGOR **out, hm_err *err)
{
	EVP_PKEY_CTX		*pctx = EVP_MD_CTX_get_pkey_ctx(ctx);
	OSSL_PARAM		 params[2];
	unsigned char		 aid[128];
	const unsigned char	*p = aid;
	X509_ALGOR		*a = NULL;

	params[0] = OSSL_PARAM_construct_octet_string(
	    OSSL_SIGNATURE_PARAM_ALGORITHM_ID, aid, sizeof(aid));
	params[1] = OSSL_PARAM_construct_end();
	if (pctx == NULL || EVP_PKEY_CTX_get_params(pctx, params) <= 0 ||
	    params[0].return_size == 0 ||
	    params[0].return_size > sizeof(aid) ||
	    (a = d2i_X509_ALGOR(NULL, &p, (long)params[0].return_size)) ==
	    NULL || p != aid + params[0].return_size) {
		X509_ALGOR_free(a);
		return hm_seterr_ssl(err, HM_E_INTERNAL, "the signature "
		    "algorithm of the CA's key");
	}
	*out = a;
	return HM_OK;
}

/* ctx's signature over tbs[0..n), as a BIT STRING. */
static int
sign_tbs(EVP_MD_CTX *ctx, const unsigned char *tbs, size_t n,
    ASN1_BIT_STRING **out, hm_err *err)
{
	ASN1_BIT_STRING	*bs = NULL;
	unsigned char	*sig = NULL;
	size_t		 len;

	if (EVP_DigestSign(ctx, NULL, &len, tbs, n) != 1 || len > INT_MAX ||
	    (sig = OPENSSL_malloc(len)) == NULL ||
	    EVP_DigestSign(ctx, sig, &len, tbs, n) != 1 ||
	    (bs = ASN1_BIT_STRING_new()) == NULL) {
		OPENSSL_free(sig);
		return hm_seterr_ssl(err, HM_E_INTERNAL, "signing the CRL");
	}
	ASN1_STRING_set0(bs, sig, (int)len);
	/*
	 * No unused bits, as ASN1_item_sign_ctx has it: left unset, the
	 * encoder would count the trailing zero bits of the last byte.
	 */
	bs->flags &= ~0x07L;
	bs->flags |= ASN1_STRING_FLAG_BITS_LEFT;
	*out = bs;
	return HM_OK;
}

int
hm_crl_build(hm_signer *s, int64_t next_update, int pem, unsigned char **out,
    size_t *len, hm_err *err)
{
	hm_store	*st = s->ca->store;
	HM_CRL_TBS	 tbs;
	HM_CRL		 crl;
	struct revs	 rs = { NULL, 0, 0 };
	EVP_MD_CTX	*ctx = NULL;
	BIO		*b = NULL;
	BUF_MEM		*mem;
	unsigned char	*tder = NULL, *der = NULL, *p, *res;
	time_t		 now = time(NULL), nu;
	int64_t		 number;
	size_t		 reslen;
	int		 n, rc, intx = 0;

	memset(&tbs, 0, sizeof(tbs));
	memset(&crl, 0, sizeof(crl));
	if (s->pkey == NULL)
		return hm_seterr(err, HM_E_INVALID, "CA '%s' is not unlocked",
		    s->info.name);
	nu = now + (next_update > 0 ? next_update : CRL_NEXT_UPDATE);
	if (nu > s->info.not_after)
		nu = s->info.not_after;
	/*
	 * In serial order, as the store lists them (X509_CRL_sort would
	 * compare them all again; RFC 5280 asks for no order anyway).
	 */
	if ((rc = st->ops->revoked_list(st, s->info.name, collect, &rs,
	    err)) != HM_OK) {
		if (rc == HM_E_NOMEM)
			rc = hm_seterr(err, rc, "out of memory");
		else if (rc == HM_E_STORE)
			rc = hm_seterr(err, rc, "store: a revoked entry of CA "
			    "'%s' does not read", s->info.name);
		goto out;
	}
	rc = encode_entries(&rs, &tbs.revoked, err);
	free(rs.v);
	rs.v = NULL;
	if (rc != HM_OK)
		goto out;
	tbs.issuer = X509_get_subject_name(s->cert);
	if ((tbs.version = ASN1_INTEGER_new()) == NULL ||
	    !ASN1_INTEGER_set(tbs.version, X509_CRL_VERSION_2) ||
	    (tbs.this_update = ASN1_TIME_set(NULL, now)) == NULL ||
	    (tbs.next_update = ASN1_TIME_set(NULL, nu)) == NULL) {
		rc = hm_seterr_ssl(err, HM_E_INTERNAL, "building the CRL");
		goto out;
	}
	/* The number is taken (and kept) only when the CRL can be made. */
	if ((rc = st->ops->begin(st, err)) != HM_OK)
		goto out;
	intx = 1;
	if ((rc = st->ops->crl_next(st, s->info.name, now, &number, err)) !=
	    HM_OK || (rc = crl_extensions(&tbs.exts, s, number, err)) !=
	    HM_OK || (rc = hm_sign_ctx_copy(s->sign_tmpl, s->pkey, &ctx,
	    err)) != HM_OK || (rc = sig_alg(ctx, &tbs.sig_alg, err)) != HM_OK)
		goto out;
	/* Encoded once: these bytes are signed, then written as they are. */
	if ((n = ASN1_item_i2d((ASN1_VALUE *)&tbs, &tder,
	    ASN1_ITEM_rptr(HM_CRL_TBS))) <= 0 ||
	    (crl.tbs = ASN1_STRING_type_new(V_ASN1_SEQUENCE)) == NULL) {
		rc = hm_seterr_ssl(err, HM_E_INTERNAL, "encoding the CRL");
		goto out;
	}
	ASN1_STRING_set0(crl.tbs, tder, n);
	tder = NULL;
	ASN1_STRING_free(tbs.revoked);	/* a copy is in crl.tbs */
	tbs.revoked = NULL;
	crl.sig_alg = tbs.sig_alg;
	if ((rc = sign_tbs(ctx, ASN1_STRING_get0_data(crl.tbs), (size_t)n,
	    &crl.signature, err)) != HM_OK)
		goto out;
	if ((n = ASN1_item_i2d((ASN1_VALUE *)&crl, NULL,
	    ASN1_ITEM_rptr(HM_CRL))) <= 0) {
		rc = hm_seterr_ssl(err, HM_E_INTERNAL, "encoding the CRL");
		goto out;
	}
	if ((der = malloc((size_t)n)) == NULL) {
		rc = hm_seterr(err, HM_E_NOMEM, "out of memory");
		goto out;
	}
	p = der;
	if (ASN1_item_i2d((ASN1_VALUE *)&crl, &p, ASN1_ITEM_rptr(HM_CRL)) !=
	    n) {
		rc = hm_seterr_ssl(err, HM_E_INTERNAL, "encoding the CRL");
		goto out;
	}
	if ((rc = st->ops->commit(st, err)) != HM_OK)
		goto out;
	intx = 0;
	if (!pem) {
		res = der;
		reslen = (size_t)n;
		der = NULL;
	} else {
		if ((b = BIO_new(BIO_s_mem())) == NULL ||
		    !PEM_write_bio(b, PEM_STRING_X509_CRL, "", der, n)) {
			rc = hm_seterr_ssl(err, HM_E_NOMEM, "writing the CRL "
			    "as PEM");
			goto out;
		}
		BIO_get_mem_ptr(b, &mem);
		if ((res = malloc(mem->length)) == NULL) {
			rc = hm_seterr(err, HM_E_NOMEM, "out of memory");
			goto out;
		}
		memcpy(res, mem->data, mem->length);
		reslen = mem->length;
	}
	*out = res;
	*len = reslen;
	rc = HM_OK;
 out:
	if (intx)
		st->ops->rollback(st);
	free(rs.v);
	free(der);
	OPENSSL_free(tder);
	BIO_free(b);
	EVP_MD_CTX_free(ctx);
	ASN1_INTEGER_free(tbs.version);
	X509_ALGOR_free(tbs.sig_alg);
	ASN1_TIME_free(tbs.this_update);
	ASN1_TIME_free(tbs.next_update);
	ASN1_STRING_free(tbs.revoked);
	sk_X509_EXTENSION_pop_free(tbs.exts, X509_EXTENSION_free);
	ASN1_STRING_free(crl.tbs);
	ASN1_BIT_STRING_free(crl.signature);
	return rc;
}
