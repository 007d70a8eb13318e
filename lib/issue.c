/* The issuance pipeline: policy checks, build, sign, commit, return. */
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "internal.h"

#define SERIAL_TRIES	4	/* a collision of 134-bit serials: retry */

int
hm_sign_ctx_new(EVP_PKEY *key, EVP_MD_CTX **out, hm_err *err)
{
	EVP_MD_CTX	*ctx;
	const char	*md = "SHA256";

	if (EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519)
		md = NULL;
	else if (EVP_PKEY_get_base_id(key) == EVP_PKEY_EC &&
	    EVP_PKEY_get_bits(key) > 256)
		md = "SHA384";
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return hm_seterr(err, HM_E_NOMEM, "out of memory");
	if (EVP_DigestSignInit_ex(ctx, NULL, md, NULL, NULL, key, NULL) != 1) {
		EVP_MD_CTX_free(ctx);
		return hm_seterr_ssl(err, HM_E_INTERNAL, "signing context");
	}
	*out = ctx;
	return HM_OK;
}

int
hm_tbs_spki(struct hm_tbs *t, const X509_PUBKEY *xpk, hm_err *err)
{
	X509_ALGOR	*alg;

	if (!X509_PUBKEY_get0_param(NULL, &t->spki_pub, &t->spki_publen, &alg,
	    xpk))
		return hm_seterr_ssl(err, HM_E_INTERNAL, "public key");
	t->spki_alg = alg;
	return HM_OK;
}

/*
 * Copy the subject's SPKI into x field by field: X509_set_pubkey() would
 * re-encode a decoded key through the provider's encoder, which costs
 * more than the signature itself.
 */
static int
spki_set(X509 *x, const struct hm_tbs *t, hm_err *err)
{
	const ASN1_OBJECT	*obj;
	const void		*pval;
	ASN1_OBJECT		*o = NULL;
	void			*pv = NULL;
	unsigned char		*pub = NULL;
	int			 ptype;

	X509_ALGOR_get0(&obj, &ptype, &pval, t->spki_alg);
	switch (ptype) {
	case V_ASN1_UNDEF:
	case V_ASN1_NULL:
		break;
	case V_ASN1_OBJECT:
		if ((pv = OBJ_dup(pval)) == NULL)
			goto nomem;
		break;
	case V_ASN1_SEQUENCE:
		if ((pv = ASN1_STRING_dup(pval)) == NULL)
			goto nomem;
		break;
	default:
		return hm_seterr(err, HM_E_INVALID, "unexpected public key "
		    "parameters");
	}
	if ((o = OBJ_dup(obj)) == NULL ||
	    (pub = OPENSSL_memdup(t->spki_pub, (size_t)t->spki_publen)) == NULL)
		goto nomem;
	if (!X509_PUBKEY_set0_param(X509_get_X509_PUBKEY(x), o, ptype, pv, pub,
	    t->spki_publen))
		goto nomem;
	return HM_OK;
 nomem:
	ASN1_OBJECT_free(o);
	if (ptype == V_ASN1_OBJECT)
		ASN1_OBJECT_free(pv);
	else if (ptype == V_ASN1_SEQUENCE)
		ASN1_STRING_free(pv);
	OPENSSL_free(pub);
	return hm_seterr(err, HM_E_NOMEM, "out of memory");
}

/* A copy of the prepared context tmpl (no fetch), or a fresh one. */
int
hm_sign_ctx_copy(EVP_MD_CTX *tmpl, EVP_PKEY *key, EVP_MD_CTX **out,
    hm_err *err)
{
	EVP_MD_CTX	*ctx;

	if (tmpl != NULL) {
		if ((ctx = EVP_MD_CTX_new()) == NULL)
			return hm_seterr(err, HM_E_NOMEM, "out of memory");
		if (EVP_MD_CTX_copy_ex(ctx, tmpl) == 1) {
			*out = ctx;
			return HM_OK;
		}
		/* Some providers can't duplicate: start afresh. */
		EVP_MD_CTX_free(ctx);
		ERR_clear_error();
	}
	return hm_sign_ctx_new(key, out, err);
}

static int
sign_x509(X509 *x, EVP_MD_CTX *tmpl, EVP_PKEY *key, hm_err *err)
{
	EVP_MD_CTX	*ctx;
	int		 rc;

	if ((rc = hm_sign_ctx_copy(tmpl, key, &ctx, err)) != HM_OK)
		return rc;
	rc = X509_sign_ctx(x, ctx) > 0 ? HM_OK :
	    hm_seterr_ssl(err, HM_E_INTERNAL, "signing the certificate");
	EVP_MD_CTX_free(ctx);
	return rc;
}

/* The names of t against the name constraints of every CA above it. */
static int
chain_constraints(const struct hm_tbs *t, hm_err *err)
{
	const struct hm_signer	*s = t->signer;
	X509			*ca;
	char			 name[256];
	int			 i, n, rc;

	if (!s->constrained)
		return HM_OK;
	/* chain: the signer and the CAs above it, but the root. */
	n = sk_X509_num(s->chain);
	for (i = 0; i <= n; i++) {
		ca = i < n ? sk_X509_value(s->chain, i) : s->root;
		hm_name_oneline(X509_get_subject_name(ca), name, sizeof(name));
		if ((rc = hm_nc_check_ca(ca, name, t->sans, t->subject->cn,
		    err)) != HM_OK)
			return rc;
	}
	return HM_OK;
}

/* The URI GENERAL_NAME base + path + name. */
static GENERAL_NAME *
uri_name(const char *base, const char *path, const char *name)
{
	GENERAL_NAME	*g;
	ASN1_IA5STRING	*s;
	char		 buf[HM_URL_MAX + HM_CA_NAME_MAX + 16];

	snprintf(buf, sizeof(buf), "%s%s%s", base, path, name);
	if ((s = ASN1_IA5STRING_new()) == NULL ||
	    !ASN1_STRING_set(s, buf, -1) || (g = GENERAL_NAME_new()) == NULL) {
		ASN1_IA5STRING_free(s);
		return NULL;
	}
	GENERAL_NAME_set0_value(g, GEN_URI, s);
	return g;
}

/*
 * Where the issuer publishes: a CRL distribution point URL/crl/NAME and
 * an OCSP responder URL/ocsp (the paths `hallmark serve` answers).
 */
static int
publish_urls(X509 *x, const hm_ca_info *ci, hm_err *err)
{
	CRL_DIST_POINTS		*cdp = NULL;
	DIST_POINT		*dp = NULL;
	AUTHORITY_INFO_ACCESS	*aia = NULL;
	ACCESS_DESCRIPTION	*ad = NULL;
	GENERAL_NAME		*g = NULL;
	int			 rc = HM_E_NOMEM;

	if ((cdp = sk_DIST_POINT_new_null()) == NULL ||
	    (dp = DIST_POINT_new()) == NULL ||
	    (dp->distpoint = DIST_POINT_NAME_new()) == NULL ||
	    (dp->distpoint->name.fullname = GENERAL_NAMES_new()) == NULL ||
	    (g = uri_name(ci->base_url, "/crl/", ci->name)) == NULL ||
	    !sk_GENERAL_NAME_push(dp->distpoint->name.fullname, g))
		goto out;
	g = NULL;
	dp->distpoint->type = 0;	/* fullName */
	if (!sk_DIST_POINT_push(cdp, dp))
		goto out;
	dp = NULL;
	if ((aia = sk_ACCESS_DESCRIPTION_new_null()) == NULL ||
	    (ad = ACCESS_DESCRIPTION_new()) == NULL ||
	    (g = uri_name(ci->base_url, "/ocsp", "")) == NULL)
		goto out;
	ASN1_OBJECT_free(ad->method);
	ad->method = OBJ_nid2obj(NID_ad_OCSP);
	GENERAL_NAME_free(ad->location);
	ad->location = g;
	g = NULL;
	if (!sk_ACCESS_DESCRIPTION_push(aia, ad))
		goto out;
	ad = NULL;
	if (X509_add1_ext_i2d(x, NID_crl_distribution_points, cdp, 0, 0) != 1 ||
	    X509_add1_ext_i2d(x, NID_info_access, aia, 0, 0) != 1) {
		rc = hm_seterr_ssl(err, HM_E_INTERNAL, "CRL and OCSP URLs");
		goto out;
	}
	rc = HM_OK;
 out:
	if (rc == HM_E_NOMEM)
		hm_seterr(err, rc, "out of memory");
	GENERAL_NAME_free(g);
	DIST_POINT_free(dp);
	ACCESS_DESCRIPTION_free(ad);
	sk_DIST_POINT_pop_free(cdp, DIST_POINT_free);
	AUTHORITY_INFO_ACCESS_free(aia);
	return rc;
}

/* The lint rules on what t is about to become: a finding refuses it. */
static int
lint_tbs(const struct hm_tbs *t, hm_err *err)
{
	struct hm_lint_view	v;
	char			first[HM_ERR_MSG_MAX];

	memset(&v, 0, sizeof(v));
	v.is_ca = t->profile->is_ca;
	v.bc_present = v.bc_critical = 1;
	v.ku_present = v.ku_critical = 1;
	v.ku = hm_profile_ku(t->profile, t->key_type);
	v.eku_present = !t->profile->is_ca;
	v.eku = t->profile->eku;
	v.sans = t->sans;
	v.nsans = hm_names_count(t->sans);
	v.kt = t->key_type;
	v.serial_positive = 1;
	v.serial_len = HM_SERIAL_LEN;
	v.not_before = t->not_before;
	v.not_after = t->not_after;
	if (t->signer != NULL) {
		v.issuer_known = 1;
		v.issuer_not_before = t->signer->info.not_before;
		v.issuer_not_after = t->signer->info.not_after;
	}
	if (hm_lint_rules(&v, NULL, NULL, first, sizeof(first)) > 0)
		return hm_seterr(err, HM_E_POLICY, "refused before signing: "
		    "%.200s", first);
	return HM_OK;
}

int
hm_sign_cert(const struct hm_tbs *t, X509 *issuer_cert, EVP_PKEY *issuer_key,
    EVP_MD_CTX *tmpl, X509 **out, hm_err *err)
{
	X509		*x = NULL;
	X509_NAME	*subj;
	ASN1_INTEGER	*sn = NULL;
	ASN1_TIME	*tm = NULL;
	GENERAL_NAMES	*gens = NULL;
	unsigned char	 serial[HM_SERIAL_LEN];
	int		 rc;

	if ((rc = hm_serial_random(serial, err)) != HM_OK)
		return rc;
	if ((x = X509_new()) == NULL || (sn = ASN1_INTEGER_new()) == NULL)
		goto nomem;
	if (!X509_set_version(x, X509_VERSION_3) ||
	    !ASN1_STRING_set(sn, serial, sizeof(serial)) ||
	    !X509_set_serialNumber(x, sn))
		goto ssl;
	/* The subject is built in place: X509_set_subject_name() copies. */
	subj = X509_get_subject_name(x);
	if ((rc = hm_subject_to_name(t->subject, subj, err)) != HM_OK)
		goto out;
	if (!X509_set_issuer_name(x, issuer_cert != NULL ?
	    X509_get_subject_name(issuer_cert) : subj))
		goto ssl;
	if ((tm = ASN1_TIME_set(NULL, t->not_before)) == NULL ||
	    !X509_set1_notBefore(x, tm) ||
	    ASN1_TIME_set(tm, t->not_after) == NULL ||
	    !X509_set1_notAfter(x, tm))
		goto ssl;
	if ((rc = spki_set(x, t, err)) != HM_OK)
		goto out;
	if ((rc = hm_profile_apply(t->profile, x, issuer_cert, t->key_type,
	    t->pathlen, t->nc, err)) != HM_OK)
		goto out;
	if (hm_names_count(t->sans) > 0) {
		if ((gens = hm_names_to_gens(t->sans, err)) == NULL) {
			rc = err != NULL ? err->code : HM_E_NOMEM;
			goto out;
		}
		if (X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, 0) != 1)
			goto ssl;
	}
	/* A responder's certificate is not checked: no URLs to check it. */
	if (t->issuer_info != NULL && t->issuer_info->base_url[0] != '\0' &&
	    !t->profile->ocsp_nocheck && (rc = publish_urls(x, t->issuer_info, err)) != HM_OK)
		goto out;
	/* What lint and the chain's verifiers check, before signing. */
	if ((rc = lint_tbs(t, err)) != HM_OK ||
	    (t->signer != NULL && (rc = chain_constraints(t, err)) != HM_OK))
		goto out;
	if ((rc = sign_x509(x, tmpl, issuer_key, err)) != HM_OK)
		goto out;
	*out = x;
	x = NULL;
	rc = HM_OK;
	goto out;
 nomem:
	rc = hm_seterr(err, HM_E_NOMEM, "out of memory");
	goto out;
 ssl:
	rc = hm_seterr_ssl(err, HM_E_INTERNAL, "building the certificate");
 out:
	GENERAL_NAMES_free(gens);
	ASN1_TIME_free(tm);
	ASN1_INTEGER_free(sn);
	X509_free(x);
	return rc;
}

/* Everything about one request that policy decides, before signing. */
struct prepared {
	struct hm_tbs	 tbs;
	struct hm_profile custom;	/* tbs.profile, for custom profiles */
	hm_subject	 subject;	/* tbs.subject */
	int		 clamped;
};

static int
prepare(hm_signer *s, const hm_issue_req *req, time_t now,
    struct prepared *pr, hm_err *err)
{
	const struct hm_profile	*p;
	const hm_names		*sans;
	const char		*cn, *v;
	hm_name_type		 nt;
	int64_t			 validity;
	int			 rc;

	memset(pr, 0, sizeof(*pr));
	if (req->profile == HM_PROFILE_CUSTOM) {
		if ((rc = hm_profile_from_def(req->custom, &pr->custom,
		    err)) != HM_OK)
			return rc;
		p = &pr->custom;
	} else if (req->profile < HM_PROFILE_SERVER ||
	    (p = hm_profile_get(req->profile)) == NULL)
		return hm_seterr(err, HM_E_INVALID, "profile must be server, "
		    "client, both or a custom one");
	if (req->csr == NULL)
		return hm_seterr(err, HM_E_INVALID, "no CSR");
	sans = hm_names_count(req->sans) > 0 ? req->sans : req->csr->names;
	if (sans == req->csr->names && req->csr->names_unsupported)
		return hm_seterr(err, HM_E_POLICY, "the CSR asks for names of "
		    "types hallmark does not issue; choose the names with "
		    "--san");
	if (p->need_san && hm_names_count(sans) == 0)
		return hm_seterr(err, HM_E_POLICY, "a %s certificate needs at "
		    "least one subject alternative name (--san dns:NAME)",
		    p->name);
	if (!p->wildcard_ok && hm_names_has_wildcard(sans))
		return hm_seterr(err, HM_E_POLICY, "wildcard names are not "
		    "issued in %s certificates", p->name);
	if (req->subject != NULL)
		pr->subject = *req->subject;
	cn = req->subject != NULL && req->subject->cn != NULL ?
	    req->subject->cn : req->cn != NULL ? req->cn : req->csr->cn;
	if (cn == NULL && hm_names_get(sans, 0, &nt, &v) == HM_OK)
		cn = v;
	if (cn == NULL)
		return hm_seterr(err, HM_E_INVALID, "no common name: the CSR "
		    "has none and no --cn was given");
	pr->subject.cn = cn;
	if ((rc = hm_subject_check(&pr->subject, err)) != HM_OK)
		return rc;
	if (s->info.not_after <= now)
		return hm_seterr(err, HM_E_POLICY, "CA '%s' expired; it can "
		    "not issue", s->info.name);
	validity = req->validity > 0 ? req->validity : p->default_validity;
	pr->tbs.profile = p;
	pr->tbs.spki_alg = req->csr->spki_alg;
	pr->tbs.spki_pub = req->csr->spki_pub;
	pr->tbs.spki_publen = req->csr->spki_publen;
	pr->tbs.key_type = req->csr->type;
	pr->tbs.subject = &pr->subject;
	pr->tbs.sans = sans;
	pr->tbs.pathlen = -1;
	pr->tbs.signer = s;
	pr->tbs.issuer_info = &s->info;
	/*
	 * Backdated for clock skew, but by no more than a tenth of the
	 * lifetime: a 60-second certificate is not 6 minutes long.
	 */
	pr->tbs.not_before = now - (validity / 10 < HM_BACKDATE ?
	    (time_t)(validity / 10) : HM_BACKDATE);
	if (pr->tbs.not_before < s->info.not_before)
		pr->tbs.not_before = s->info.not_before;
	pr->tbs.not_after = now + validity;
	if (pr->tbs.not_after > s->info.not_after) {
		pr->tbs.not_after = s->info.not_after;
		pr->clamped = 1;
	}
	return HM_OK;
}

/* Sign pr: the certificate and the store's record of it. */
static int
build(hm_signer *s, const struct prepared *pr, hm_cert **out,
    hm_cert_rec *rec, hm_err *err)
{
	hm_cert	*c;
	X509	*x = NULL;
	int	 rc;

	if ((rc = hm_sign_cert(&pr->tbs, s->cert, s->pkey, s->sign_tmpl, &x,
	    err)) != HM_OK)
		return rc;
	if ((c = hm_cert_from_x509(x, err)) == NULL)
		return err != NULL ? err->code : HM_E_NOMEM;
	if ((rc = hm_cert_rec_fill(rec, c, s->info.name, pr->tbs.profile->name,
	    pr->tbs.sans, err)) != HM_OK) {
		hm_cert_free(c);
		return rc;
	}
	*out = c;
	return HM_OK;
}

int
hm_issue_build(hm_signer *s, const hm_issue_req *req, hm_cert **out,
    hm_err *err)
{
	struct prepared	 pr;
	hm_cert_rec	 rec;
	int		 rc;

	if ((rc = prepare(s, req, time(NULL), &pr, err)) != HM_OK)
		return rc;
	return build(s, &pr, out, &rec, err);
}

int
hm_issue_sign(hm_signer *s, const hm_issue_req *req, hm_cert **out,
    hm_cert_rec *rec, hm_err *err)
{
	struct prepared	 pr;
	int		 rc;

	if ((rc = prepare(s, req, time(NULL), &pr, err)) != HM_OK)
		return rc;
	return build(s, &pr, out, rec, err);
}

/* Sign pr and insert it inside the caller's transaction. */
static int
sign_and_insert(hm_signer *s, const struct prepared *pr, hm_cert **out,
    hm_err *err)
{
	hm_cert_rec	 rec;
	hm_cert		*c = NULL;
	int		 rc = HM_E_INTERNAL, try;

	for (try = 0; try < SERIAL_TRIES; try++) {
		if ((rc = build(s, pr, &c, &rec, err)) != HM_OK)
			return rc;
		rc = s->ca->store->ops->cert_insert(s->ca->store, &rec, err);
		if (rc != HM_E_EXISTS)
			break;
		hm_cert_free(c);
		c = NULL;
	}
	if (rc != HM_OK) {
		hm_cert_free(c);
		return rc;
	}
	*out = c;
	return HM_OK;
}

int
hm_issue_in_tx(hm_signer *s, const hm_issue_req *req, hm_cert **out,
    hm_err *err)
{
	struct prepared	pr;
	int		rc;

	if ((rc = prepare(s, req, time(NULL), &pr, err)) != HM_OK)
		return rc;
	return sign_and_insert(s, &pr, out, err);
}

int
hm_issue_batch(hm_signer *s, const hm_issue_req *reqs, size_t n,
    hm_cert **out, hm_err *err)
{
	struct prepared	 pr;
	hm_store	*st = s->ca->store;
	hm_cert		**tmp = NULL;
	time_t		 now = time(NULL);
	size_t		 i, done = 0;
	int		 rc;

	if (n == 0)
		return HM_OK;
	if ((tmp = calloc(n, sizeof(*tmp))) == NULL)
		return hm_seterr(err, HM_E_NOMEM, "out of memory");
	if ((rc = st->ops->begin(st, err)) != HM_OK)
		goto out;
	for (i = 0; i < n; i++) {
		if ((rc = prepare(s, &reqs[i], now, &pr, err)) != HM_OK ||
		    (rc = sign_and_insert(s, &pr, &tmp[i], err)) != HM_OK) {
			st->ops->rollback(st);
			goto out;
		}
		done++;
	}
	/* Durable before anything is handed back. */
	if ((rc = st->ops->commit(st, err)) != HM_OK) {
		st->ops->rollback(st);
		goto out;
	}
	memcpy(out, tmp, n * sizeof(*tmp));
	done = 0;
 out:
	for (i = 0; i < done; i++)
		hm_cert_free(tmp[i]);
	free(tmp);
	return rc;
}

int
hm_issue(hm_signer *s, const hm_issue_req *req, hm_cert **out, int *flags,
    hm_err *err)
{
	struct prepared	 pr;
	int		 rc, fl = 0;

	if (flags != NULL) {
		if ((rc = prepare(s, req, time(NULL), &pr, err)) != HM_OK)
			return rc;
		fl = pr.clamped ? HM_ISSUED_CLAMPED : 0;
	}
	if ((rc = hm_issue_batch(s, req, 1, out, err)) == HM_OK &&
	    flags != NULL)
		*flags = fl;
	return rc;
}
