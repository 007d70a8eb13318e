/*
 * The responder behind hallmark serve: every CA of a directory that has
 * its key there unlocked once (one without, an online CA's offline root,
 * is only named); OCSP answers (RFC 6960) from the store; CRLs made again
 * only when a revocation happened.
 */
#include <string.h>

#include <openssl/err.h>
#include <openssl/ocsp.h>

#include "internal.h"

#define OCSP_REQ_MAX	(16 * 1024)
#define OCSP_VALID	86400		/* nextUpdate of an answer */

struct rca {
	char		 name[HM_CA_NAME_MAX + 1];
	hm_signer	*s;
	unsigned char	*crl;		/* the last CRL made, DER */
	size_t		 crllen;
	time_t		 crl_until;	/* make a new one from then on */
	int64_t		 stamp[2];	/* revoked count and time sum */
	/* The delegated responder (hm_responder_delegate), or NULL. */
	X509		*dcert;
	EVP_PKEY	*dkey;
	EVP_MD_CTX	*dtmpl;
	time_t		 drenew;	/* make a new one from then on */
	time_t		 dexpire;
};

struct hm_responder {
	hm_ca		*ca;
	struct rca	*v;
	size_t		 n;
	int		 delegate;
	/* The CAs whose key is not in the directory: never signers here. */
	char		(*off)[HM_CA_NAME_MAX + 1];
	size_t		 noff;
};

struct open_arg {
	hm_responder	*r;
	hm_pass_cb	 cb;
	void		*arg;
	hm_err		*err;
	int		 rc;
};

static int
open_cb(const hm_ca_info *ci, void *arg)
{
	struct open_arg	*a = arg;
	struct rca	*c;
	char		 what[96], *pass = NULL;
	void		*t;

	if (!hm_ca_has_key(a->r->ca, ci->name)) {
		if ((t = reallocarray(a->r->off, a->r->noff + 1,
		    sizeof(*a->r->off))) == NULL) {
			a->rc = hm_seterr(a->err, HM_E_NOMEM, "out of memory");
			return 1;
		}
		a->r->off = t;
		snprintf(a->r->off[a->r->noff++], sizeof(*a->r->off), "%s",
		    ci->name);
		return 0;
	}
	if ((t = reallocarray(a->r->v, a->r->n + 1, sizeof(*a->r->v))) ==
	    NULL) {
		a->rc = hm_seterr(a->err, HM_E_NOMEM, "out of memory");
		return 1;
	}
	a->r->v = t;
	c = &a->r->v[a->r->n];
	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "%s", ci->name);
	snprintf(what, sizeof(what), "CA '%s'", ci->name);
	if (hm_ca_key_encrypted(a->r->ca, ci->name)) {
		if (a->cb == NULL) {
			a->rc = hm_seterr(a->err, HM_E_PASSPHRASE, "the key of "
			    "%s is encrypted: a passphrase is needed", what);
			return 1;
		}
		if ((a->rc = a->cb(what, HM_PASS_NONE, NULL, 0, &pass,
		    a->err, a->arg)) != HM_OK)
			return 1;
	}
	a->rc = hm_ca_signer(a->r->ca, ci->name, pass, &c->s, a->err);
	hm_secret_free(pass);
	if (a->rc != HM_OK)
		return 1;
	a->r->n++;
	return 0;
}

int
hm_responder_new(hm_ca *ca, hm_pass_cb cb, void *arg, hm_responder **out,
    hm_err *err)
{
	struct open_arg	 a;
	hm_responder	*r;
	int		 rc;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return hm_seterr(err, HM_E_NOMEM, "out of memory");
	r->ca = ca;
	a.r = r;
	a.cb = cb;
	a.arg = arg;
	a.err = err;
	a.rc = HM_OK;
	if ((rc = hm_ca_list(ca, open_cb, &a, err)) == HM_OK)
		rc = a.rc;
	if (rc == HM_OK && r->n == 0)
		rc = hm_seterr(err, HM_E_NOTFOUND, "no CA of %s has its key "
		    "there: nothing to serve", ca->dir);
	if (rc != HM_OK) {
		hm_responder_free(r);
		return rc;
	}
	*out = r;
	return HM_OK;
}

void
hm_responder_free(hm_responder *r)
{
	size_t	i;

	if (r == NULL)
		return;
	for (i = 0; i < r->n; i++) {
		hm_signer_free(r->v[i].s);
		free(r->v[i].crl);
		X509_free(r->v[i].dcert);
		EVP_PKEY_free(r->v[i].dkey);
		EVP_MD_CTX_free(r->v[i].dtmpl);
	}
	free(r->v);
	free(r->off);
	free(r);
}

/*
 * A new responder certificate for c, issued by c through the ordinary
 * pipeline (so it is in the inventory), for a key that lives in memory
 * only.  c's old one stays in use unless this succeeds.
 */
static int
delegate_one(struct rca *c, time_t now, hm_err *err)
{
	hm_issue_req	 req;
	hm_key		*k = NULL;
	hm_csr		*csr = NULL;
	hm_cert		*cert = NULL;
	X509		*x = NULL;
	EVP_MD_CTX	*tmpl = NULL;
	const unsigned char *p;
	char		 cn[HM_CA_NAME_MAX + 32];
	time_t		 until;
	int		 rc;

	snprintf(cn, sizeof(cn), "OCSP responder of %.44s", c->name);
	if ((rc = hm_key_generate(HM_KEY_P256, &k, err)) != HM_OK ||
	    (rc = hm_csr_new(k, cn, NULL, &csr, err)) != HM_OK)
		goto out;
	memset(&req, 0, sizeof(req));
	req.profile = HM_PROFILE_OCSP;
	req.csr = csr;
	if ((rc = hm_issue(c->s, &req, &cert, NULL, err)) != HM_OK ||
	    (rc = hm_sign_ctx_new(k->pkey, &tmpl, err)) != HM_OK)
		goto out;
	/*
	 * Parsed again: a certificate built in memory has no decoded public
	 * key, which OCSP_basic_sign_ctx compares with the signing key.
	 */
	p = cert->der;
	if ((x = d2i_X509(NULL, &p, (long)cert->derlen)) == NULL) {
		rc = hm_seterr_ssl(err, HM_E_INTERNAL, "responder certificate");
		goto out;
	}
	until = hm_asn1_time_to_time(X509_get0_notAfter(x));
	if (until <= now) {
		rc = hm_seterr(err, HM_E_POLICY, "CA '%s' expires now; it can "
		    "not delegate OCSP", c->name);
		goto out;
	}
	X509_free(c->dcert);
	EVP_PKEY_free(c->dkey);
	EVP_MD_CTX_free(c->dtmpl);
	c->dcert = x;
	x = NULL;
	c->dkey = k->pkey;
	EVP_PKEY_up_ref(c->dkey);
	c->dtmpl = tmpl;
	tmpl = NULL;
	c->dexpire = until;
	c->drenew = now + (until - now) / 2;
	rc = HM_OK;
 out:
	EVP_MD_CTX_free(tmpl);
	X509_free(x);
	hm_cert_free(cert);
	hm_csr_free(csr);
	hm_key_free(k);
	return rc;
}

int
hm_responder_delegate(hm_responder *r, hm_err *err)
{
	time_t	now = time(NULL);
	size_t	i;
	int	rc;

	for (i = 0; i < r->n; i++)
		if ((rc = delegate_one(&r->v[i], now, err)) != HM_OK)
			return rc;
	r->delegate = 1;
	return HM_OK;
}

/*
 * RFC 8954 2.1: a nonce of 0 or more than 32 bytes is a malformed
 * request; so is a nonce extension that does not hold an OCTET STRING,
 * or two of them.
 */
static int
nonce_ok(OCSP_REQUEST *q)
{
	X509_EXTENSION		*ext;
	ASN1_OCTET_STRING	*v = NULL;
	const unsigned char	*p;
	const ASN1_OCTET_STRING	*d;
	int			 i, ok;

	if ((i = OCSP_REQUEST_get_ext_by_NID(q, NID_id_pkix_OCSP_Nonce,
	    -1)) < 0)
		return 1;
	if (OCSP_REQUEST_get_ext_by_NID(q, NID_id_pkix_OCSP_Nonce, i) >= 0 ||
	    (ext = OCSP_REQUEST_get_ext(q, i)) == NULL)
		return 0;
	d = X509_EXTENSION_get_data(ext);
	p = ASN1_STRING_get0_data(d);
	ok = (v = d2i_ASN1_OCTET_STRING(NULL, &p, ASN1_STRING_length(d))) !=
	    NULL && p == ASN1_STRING_get0_data(d) + ASN1_STRING_length(d) &&
	    ASN1_STRING_length(v) >= 1 && ASN1_STRING_length(v) <= 32;
	ASN1_OCTET_STRING_free(v);
	return ok;
}

static struct rca *
rca_find(hm_responder *r, const char *name)
{
	size_t	i;

	for (i = 0; i < r->n; i++)
		if (strcmp(r->v[i].name, name) == 0)
			return &r->v[i];
	return NULL;
}

hm_signer *
hm_responder_signer(hm_responder *r, const char *name)
{
	struct rca	*c = rca_find(r, name);

	return c != NULL ? c->s : NULL;
}

int
hm_responder_online(hm_responder *r, const char *name)
{
	return rca_find(r, name) != NULL;
}

hm_ca *
hm_responder_ca(hm_responder *r)
{
	return r->ca;
}

/* What changes when a certificate of c is revoked. */
struct stamp_arg {
	int64_t	count, sum;
};

static int
stamp_cb(const char *serial, time_t when, int reason, void *arg)
{
	struct stamp_arg	*a = arg;

	(void)serial;
	(void)reason;
	a->count++;
	a->sum += (int64_t)when;
	return HM_OK;
}

int
hm_responder_crl(hm_responder *r, const char *name, const unsigned char **crl,
    size_t *len, hm_err *err)
{
	struct stamp_arg	 a = { 0, 0 };
	struct rca		*c;
	hm_store		*st = r->ca->store;
	unsigned char		*der;
	size_t			 i, n;
	time_t			 now = time(NULL);
	int			 rc;

	if ((c = rca_find(r, name)) == NULL) {
		for (i = 0; i < r->noff; i++)
			if (strcmp(r->off[i], name) == 0)
				return hm_seterr(err, HM_E_POLICY, "CA '%s' is "
				    "offline: its CRL is made where its key "
				    "is", r->off[i]);
		return hm_seterr(err, HM_E_NOTFOUND, "no CA named '%.64s'",
		    name);
	}
	if ((rc = st->ops->revoked_list(st, c->name, stamp_cb, &a, err)) !=
	    HM_OK)
		return rc;
	if (c->crl == NULL || now >= c->crl_until || a.count != c->stamp[0] ||
	    a.sum != c->stamp[1]) {
		if ((rc = hm_crl_build(c->s, 0, 0, &der, &n, err)) != HM_OK)
			return rc;
		free(c->crl);
		c->crl = der;
		c->crllen = n;
		/* Half of the CRL's 7 days: clients never see a stale one. */
		c->crl_until = now + 7 * 86400 / 2;
		c->stamp[0] = a.count;
		c->stamp[1] = a.sum;
	}
	*crl = c->crl;
	*len = c->crllen;
	return HM_OK;
}

/* The response with status st and no body. */
static int
bare(int status, unsigned char **resp, size_t *resplen, hm_err *err)
{
	OCSP_RESPONSE	*o;
	unsigned char	*der = NULL;
	int		 n;

	if ((o = OCSP_response_create(status, NULL)) == NULL ||
	    (n = i2d_OCSP_RESPONSE(o, &der)) <= 0) {
		OCSP_RESPONSE_free(o);
		return hm_seterr_ssl(err, HM_E_NOMEM, "OCSP response");
	}
	OCSP_RESPONSE_free(o);
	if ((*resp = malloc((size_t)n)) == NULL) {
		OPENSSL_free(der);
		return hm_seterr(err, HM_E_NOMEM, "out of memory");
	}
	memcpy(*resp, der, (size_t)n);
	*resplen = (size_t)n;
	OPENSSL_free(der);
	return HM_OK;
}

/*
 * The CA of r that cid names as issuer, or NULL: for a CA of another
 * directory, and for one whose key is not here (it can not sign, so it
 * is answered like a stranger: unauthorized).
 */
static struct rca *
issuer_of(hm_responder *r, OCSP_CERTID *cid)
{
	ASN1_OBJECT	*mdobj = NULL;
	OCSP_CERTID	*mine;
	const EVP_MD	*md;
	size_t		 i;
	int		 cmp;

	if (!OCSP_id_get0_info(NULL, &mdobj, NULL, NULL, cid) ||
	    (md = EVP_get_digestbyobj(mdobj)) == NULL)
		return NULL;
	for (i = 0; i < r->n; i++) {
		if ((mine = OCSP_cert_to_id(md, NULL, r->v[i].s->cert)) ==
		    NULL)
			return NULL;
		cmp = OCSP_id_issuer_cmp(mine, cid);
		OCSP_CERTID_free(mine);
		if (cmp == 0)
			return &r->v[i];
	}
	return NULL;
}

/*
 * The status of one certificate, added to bs.  Only a certificate the
 * store does not hold is unknown: a store that fails is an error
 * (HM_E_STORE), never an answer.
 */
static int
add_status(hm_responder *r, OCSP_BASICRESP *bs, OCSP_CERTID *cid,
    const struct rca *c, ASN1_TIME *thisupd, ASN1_TIME *nextupd,
    hm_err *err)
{
	ASN1_INTEGER	*serial = NULL;
	hm_cert_info	 ci;
	ASN1_TIME	*rt = NULL;
	BIGNUM		*bn = NULL;
	char		*hex = NULL;
	int		 status = V_OCSP_CERTSTATUS_UNKNOWN, reason = -1, rc;

	if (OCSP_id_get0_info(NULL, NULL, NULL, &serial, cid) &&
	    (bn = ASN1_INTEGER_to_BN(serial, NULL)) != NULL &&
	    !BN_is_negative(bn) && BN_num_bytes(bn) <= 20 &&
	    (hex = BN_bn2hex(bn)) != NULL) {
		rc = hm_cert_lookup(r->ca, hex, &ci, NULL, err);
		if (rc != HM_OK && rc != HM_E_NOTFOUND)
			goto out;
		if (rc == HM_OK && strcmp(ci.ca, c->name) == 0) {
			if (ci.revoked_at != 0) {
				status = V_OCSP_CERTSTATUS_REVOKED;
				reason = ci.reason;
				rt = ASN1_TIME_set(NULL, ci.revoked_at);
			} else
				status = V_OCSP_CERTSTATUS_GOOD;
		}
	}
	rc = (status != V_OCSP_CERTSTATUS_REVOKED || rt != NULL) &&
	    OCSP_basic_add1_status(bs, cid, status, reason, rt, thisupd,
	    nextupd) != NULL ? HM_OK : hm_seterr(err, HM_E_NOMEM,
	    "out of memory");
 out:
	ASN1_TIME_free(rt);
	OPENSSL_free(hex);
	BN_free(bn);
	return rc;
}

int
hm_ocsp_respond(hm_responder *r, const unsigned char *req, size_t len,
    unsigned char **resp, size_t *resplen, hm_err *err)
{
	const unsigned char	*p = req;
	OCSP_REQUEST		*q = NULL;
	OCSP_BASICRESP		*bs = NULL;
	OCSP_RESPONSE		*o = NULL;
	OCSP_CERTID		*cid;
	ASN1_TIME		*thisupd = NULL, *nextupd = NULL;
	EVP_MD_CTX		*ctx = NULL;
	struct rca		*c = NULL, *ci;
	unsigned char		*der = NULL;
	time_t			 now = time(NULL);
	int			 i, n, status = OCSP_RESPONSE_STATUS_SUCCESSFUL;
	int			 rc;

	if (len == 0 || len > OCSP_REQ_MAX ||
	    (q = d2i_OCSP_REQUEST(NULL, &p, (long)len)) == NULL ||
	    p != req + len || (n = OCSP_request_onereq_count(q)) <= 0 ||
	    !nonce_ok(q)) {
		ERR_clear_error();
		OCSP_REQUEST_free(q);
		return bare(OCSP_RESPONSE_STATUS_MALFORMEDREQUEST, resp,
		    resplen, err);
	}
	/* One answer signed by one CA: every question about that CA. */
	for (i = 0; i < n && status == OCSP_RESPONSE_STATUS_SUCCESSFUL; i++) {
		cid = OCSP_onereq_get0_id(OCSP_request_onereq_get0(q, i));
		if ((ci = issuer_of(r, cid)) == NULL || (c != NULL && ci != c))
			status = OCSP_RESPONSE_STATUS_UNAUTHORIZED;
		c = ci;
	}
	/*
	 * A responder certificate past half its life is replaced; if that
	 * fails, the old one serves until it expires, then tryLater.
	 */
	if (status == OCSP_RESPONSE_STATUS_SUCCESSFUL && r->delegate &&
	    now >= c->drenew && delegate_one(c, now, NULL) != HM_OK &&
	    now >= c->dexpire)
		status = OCSP_RESPONSE_STATUS_TRYLATER;
	if (status != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
		OCSP_REQUEST_free(q);
		return bare(status, resp, resplen, err);
	}
	if ((bs = OCSP_BASICRESP_new()) == NULL ||
	    (thisupd = ASN1_TIME_set(NULL, now)) == NULL ||
	    (nextupd = ASN1_TIME_set(NULL, now + OCSP_VALID)) == NULL)
		goto nomem;
	for (i = 0; i < n; i++) {
		rc = add_status(r, bs, OCSP_onereq_get0_id(
		    OCSP_request_onereq_get0(q, i)), c, thisupd, nextupd, err);
		if (rc == HM_E_NOMEM)
			goto out;
		/* The store failed: no status to give now, ask again. */
		if (rc != HM_OK) {
			rc = bare(OCSP_RESPONSE_STATUS_TRYLATER, resp, resplen,
			    err);
			goto out;
		}
	}
	/* The nonce, if asked with one (1 to 32 bytes: nonce_ok). */
	if (OCSP_copy_nonce(bs, q) < 0)
		goto nomem;
	/* Delegated: the responder's certificate goes with the answer. */
	if (r->delegate)
		rc = hm_sign_ctx_copy(c->dtmpl, c->dkey, &ctx, err);
	else
		rc = hm_sign_ctx_copy(c->s->sign_tmpl, c->s->pkey, &ctx, err);
	if (rc != HM_OK)
		goto out;
	if (!OCSP_basic_sign_ctx(bs, r->delegate ? c->dcert : c->s->cert, ctx,
	    NULL, r->delegate ? 0 : OCSP_NOCERTS) ||
	    (o = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs)) ==
	    NULL || (n = i2d_OCSP_RESPONSE(o, &der)) <= 0) {
		rc = hm_seterr_ssl(err, HM_E_INTERNAL, "signing the OCSP "
		    "response");
		goto out;
	}
	if ((*resp = malloc((size_t)n)) == NULL)
		goto nomem;
	memcpy(*resp, der, (size_t)n);
	*resplen = (size_t)n;
	rc = HM_OK;
	goto out;
 nomem:
	rc = hm_seterr(err, HM_E_NOMEM, "out of memory");
 out:
	OPENSSL_free(der);
	OCSP_RESPONSE_free(o);
	EVP_MD_CTX_free(ctx);
	ASN1_TIME_free(thisupd);
	ASN1_TIME_free(nextupd);
	OCSP_BASICRESP_free(bs);
	OCSP_REQUEST_free(q);
	return rc;
}
