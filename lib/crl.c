/*
 * Revocation: the store records it (time, reason), and a CRL v2 says it,
 * signed by the CA that issued the certificate, with a CRL number that
 * only grows.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

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

/* Collect one entry: the serial decoded from the store's hex. */
static int
collect(const char *serial, time_t when, int reason, void *arg)
{
	struct revs	*rs = arg;
	struct rev	*r;
	void		*t;
	size_t		 i, n = strlen(serial);
	int		 hi, lo;

	if (n == 0 || n > 40 || reason < 0 || reason > 10)
		return HM_E_STORE;
	if (rs->n == rs->cap) {
		rs->cap = rs->cap ? 2 * rs->cap : 1024;
		if ((t = reallocarray(rs->v, rs->cap, sizeof(*rs->v))) == NULL)
			return HM_E_NOMEM;
		rs->v = t;
	}
	r = &rs->v[rs->n];
	for (i = 0; i < (n + 1) / 2; i++) {
		hi = i == 0 && n % 2 ? 0 : OPENSSL_hexchar2int(*serial++);
		lo = OPENSSL_hexchar2int(*serial++);
		if (hi < 0 || lo < 0)
			return HM_E_STORE;
		r->sn[i] = (unsigned char)(hi << 4 | lo);
	}
	r->snlen = (unsigned char)i;
	r->reason = (unsigned char)reason;
	r->when = when;
	rs->n++;
	return HM_OK;
}

/*
 * Build the X509_REVOKED of v[0..n) into out[0..n): a million of them is
 * the bulk of a large CRL's work (allocation mostly), so it is split over
 * two threads; each reuses its own serial, time and reason values.
 */
struct build {
	const struct rev	*v;
	X509_REVOKED		**out;
	size_t			 n;
	int			 ok;
};

static void *
build_part(void *arg)
{
	struct build	*b = arg;
	ASN1_INTEGER	*sn = ASN1_INTEGER_new();
	ASN1_TIME	*t = ASN1_TIME_new();
	ASN1_ENUMERATED	*why[11] = { NULL };
	X509_REVOKED	*r;
	time_t		 when = 0;
	size_t		 i;
	int		 code;

	b->ok = sn != NULL && t != NULL;
	for (i = 0; b->ok && i < b->n; i++) {
		code = b->v[i].reason;
		if (code != HM_REASON_UNSPECIFIED && why[code] == NULL &&
		    ((why[code] = ASN1_ENUMERATED_new()) == NULL ||
		    !ASN1_ENUMERATED_set(why[code], code))) {
			b->ok = 0;
			break;
		}
		/* Revocations come in bursts: format a time once a second. */
		if ((i == 0 || b->v[i].when != when) &&
		    ASN1_TIME_set(t, b->v[i].when) == NULL) {
			b->ok = 0;
			break;
		}
		when = b->v[i].when;
		/* RFC 5280 5.3.1: leave out the reason "unspecified". */
		if ((r = X509_REVOKED_new()) == NULL ||
		    !ASN1_STRING_set(sn, b->v[i].sn, b->v[i].snlen) ||
		    !X509_REVOKED_set_serialNumber(r, sn) ||
		    !X509_REVOKED_set_revocationDate(r, t) ||
		    (code != HM_REASON_UNSPECIFIED &&
		    !X509_REVOKED_add1_ext_i2d(r, NID_crl_reason, why[code], 0,
		    X509V3_ADD_APPEND))) {
			X509_REVOKED_free(r);
			b->ok = 0;
			break;
		}
		b->out[i] = r;
	}
	for (code = 0; code < 11; code++)
		ASN1_ENUMERATED_free(why[code]);
	ASN1_INTEGER_free(sn);
	ASN1_TIME_free(t);
	return NULL;
}

/* The entries of rs into crl, in their order. */
static int
add_entries(X509_CRL *crl, const struct revs *rs)
{
	struct build	 b[2];
	X509_REVOKED	**out;
	pthread_t	 th;
	size_t		 i, half = rs->n >= 20000 ? rs->n / 2 : 0;
	int		 threaded = 0, ok;

	if (rs->n == 0)
		return HM_OK;
	if ((out = calloc(rs->n, sizeof(*out))) == NULL)
		return HM_E_NOMEM;
	b[0].v = rs->v;
	b[0].out = out;
	b[0].n = half;
	b[1].v = rs->v + half;
	b[1].out = out + half;
	b[1].n = rs->n - half;
	if (half > 0)
		threaded = pthread_create(&th, NULL, build_part, &b[0]) == 0;
	if (half > 0 && !threaded)
		build_part(&b[0]);
	build_part(&b[1]);
	if (threaded)
		pthread_join(th, NULL);
	ok = (half == 0 || b[0].ok) && b[1].ok;
	for (i = 0; i < rs->n; i++) {
		if (ok && !X509_CRL_add0_revoked(crl, out[i]))
			ok = 0;
		else if (ok)
			continue;
		X509_REVOKED_free(out[i]);
	}
	free(out);
	return ok ? HM_OK : HM_E_NOMEM;
}

static int
crl_extensions(X509_CRL *crl, const hm_signer *s, int64_t number,
    hm_err *err)
{
	AUTHORITY_KEYID		*aki = NULL;
	ASN1_INTEGER		*n = NULL;
	const ASN1_OCTET_STRING	*ski;
	int			 rc = HM_OK;

	if ((ski = X509_get0_subject_key_id(s->cert)) == NULL)
		return hm_seterr(err, HM_E_INTERNAL, "CA '%s' has no subject "
		    "key identifier", s->info.name);
	if ((aki = AUTHORITY_KEYID_new()) == NULL ||
	    (aki->keyid = ASN1_OCTET_STRING_dup(ski)) == NULL ||
	    (n = ASN1_INTEGER_new()) == NULL ||
	    !ASN1_INTEGER_set_int64(n, number) ||
	    !X509_CRL_add1_ext_i2d(crl, NID_authority_key_identifier, aki, 0,
	    0) || !X509_CRL_add1_ext_i2d(crl, NID_crl_number, n, 0, 0))
		rc = hm_seterr_ssl(err, HM_E_INTERNAL, "CRL extensions");
	AUTHORITY_KEYID_free(aki);
	ASN1_INTEGER_free(n);
	return rc;
}

int
hm_crl_build(hm_signer *s, int64_t next_update, int pem, unsigned char **out,
    size_t *len, hm_err *err)
{
	hm_store	*st = s->ca->store;
	X509_CRL	*crl = NULL;
	ASN1_TIME	*t = NULL;
	EVP_MD_CTX	*ctx = NULL;
	BIO		*b = NULL;
	BUF_MEM		*mem;
	struct revs	 rs = { NULL, 0, 0 };
	unsigned char	*der = NULL;
	int		 n;
	time_t		 now = time(NULL), nu;
	int64_t		 number;
	int		 rc;

	if (s->pkey == NULL)
		return hm_seterr(err, HM_E_INVALID, "CA '%s' is not unlocked",
		    s->info.name);
	nu = now + (next_update > 0 ? next_update : CRL_NEXT_UPDATE);
	if (nu > s->info.not_after)
		nu = s->info.not_after;
	if ((crl = X509_CRL_new()) == NULL)
		goto nomem;
	if (!X509_CRL_set_version(crl, X509_CRL_VERSION_2) ||
	    !X509_CRL_set_issuer_name(crl, X509_get_subject_name(s->cert)) ||
	    (t = ASN1_TIME_set(NULL, now)) == NULL ||
	    !X509_CRL_set1_lastUpdate(crl, t) ||
	    ASN1_TIME_set(t, nu) == NULL || !X509_CRL_set1_nextUpdate(crl, t))
		goto ssl;
	/*
	 * In serial order, as the store lists them (X509_CRL_sort would
	 * compare them all again; RFC 5280 asks for no order anyway).
	 */
	if ((rc = st->ops->revoked_list(st, s->info.name, collect, &rs,
	    err)) != HM_OK) {
		if (rc == HM_E_NOMEM)
			goto nomem;
		if (rc == HM_E_STORE)
			rc = hm_seterr(err, rc, "store: a revoked entry of CA "
			    "'%s' does not read", s->info.name);
		goto out;
	}
	if (add_entries(crl, &rs) != HM_OK)
		goto nomem;
	/* The number is taken (and kept) only when the CRL can be made. */
	if ((rc = st->ops->begin(st, err)) != HM_OK)
		goto out;
	if ((rc = st->ops->crl_next(st, s->info.name, now, &number, err)) !=
	    HM_OK || (rc = crl_extensions(crl, s, number, err)) != HM_OK) {
		st->ops->rollback(st);
		goto out;
	}
	if ((rc = hm_sign_ctx_copy(s->sign_tmpl, s->pkey, &ctx, err)) !=
	    HM_OK) {
		st->ops->rollback(st);
		goto out;
	}
	if (X509_CRL_sign_ctx(crl, ctx) <= 0) {
		st->ops->rollback(st);
		goto ssl;
	}
	if ((rc = st->ops->commit(st, err)) != HM_OK) {
		st->ops->rollback(st);
		goto out;
	}
	if ((n = i2d_X509_CRL(crl, &der)) <= 0)
		goto ssl;
	if (!pem) {
		if ((*out = malloc((size_t)n)) == NULL)
			goto nomem;
		memcpy(*out, der, (size_t)n);
		*len = (size_t)n;
	} else {
		if ((b = BIO_new(BIO_s_mem())) == NULL)
			goto nomem;
		if (!PEM_write_bio(b, PEM_STRING_X509_CRL, "", der, n))
			goto ssl;
		BIO_get_mem_ptr(b, &mem);
		if ((*out = malloc(mem->length)) == NULL)
			goto nomem;
		memcpy(*out, mem->data, mem->length);
		*len = mem->length;
	}
	rc = HM_OK;
	goto out;
 nomem:
	rc = hm_seterr(err, HM_E_NOMEM, "out of memory");
	goto out;
 ssl:
	rc = hm_seterr_ssl(err, HM_E_INTERNAL, "building the CRL");
 out:
	free(rs.v);
	OPENSSL_free(der);
	BIO_free(b);
	EVP_MD_CTX_free(ctx);
	ASN1_TIME_free(t);
	X509_CRL_free(crl);
	return rc;
}
