/*
 * Enrollment tokens: a one-time pre-shared key bound to a scope (the CA,
 * the profile, the names), stored pending until one enrollment uses it
 * (docs/PROTOCOL.md, section 1.1).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "internal.h"

#define ID_TRIES	4

void
hm_token_rec_clear(struct hm_token_rec *r)
{
	OPENSSL_cleanse(r->psk, sizeof(r->psk));
	r->has_psk = 0;
	free(r->reply);
	r->reply = NULL;
	r->replylen = 0;
}

/* Every CA from s up to the root lets these names through. */
static int
within_constraints(const hm_signer *s, const hm_names *sans, const char *cn,
    hm_err *err)
{
	int	i, rc;

	if ((rc = hm_nc_check_ca(s->cert, s->info.name, sans, cn, err)) !=
	    HM_OK)
		return rc;
	for (i = 0; s->chain != NULL && i < sk_X509_num(s->chain); i++)
		if ((rc = hm_nc_check_ca(sk_X509_value(s->chain, i),
		    "above it", sans, cn, err)) != HM_OK)
			return rc;
	return HM_OK;
}

int
hm_token_scope(hm_ca *ca, const hm_token_params *p, hm_token_info *ti,
    hm_err *err)
{
	const struct hm_profile	*pr;
	hm_signer		*s = NULL;
	const char		*caname = p->ca != NULL ? p->ca : HM_ROOT_NAME;
	time_t			 now = time(NULL);
	int			 rc;

	if (p->name == NULL)
		return hm_seterr(err, HM_E_INVALID, "a token needs the name "
		    "of the machine (its certificate's CN)");
	if ((rc = hm_cn_check(p->name, err)) != HM_OK)
		return rc;
	if (p->profile < HM_PROFILE_SERVER || p->profile > HM_PROFILE_BOTH ||
	    (pr = hm_profile_get(p->profile)) == NULL)
		return hm_seterr(err, HM_E_INVALID, "a token's profile is "
		    "server, client or both");
	if (pr->need_san && hm_names_count(p->sans) == 0)
		return hm_seterr(err, HM_E_POLICY, "a %s certificate needs at "
		    "least one subject alternative name (--san dns:NAME)",
		    pr->name);
	if (!pr->wildcard_ok && hm_names_has_wildcard(p->sans))
		return hm_seterr(err, HM_E_POLICY, "wildcard names are not "
		    "issued in %s certificates", pr->name);
	if (p->ttl < 0 || p->ttl > HM_TOKEN_TTL_MAX)
		return hm_seterr(err, HM_E_INVALID, "a token lives at most "
		    "%d days", HM_TOKEN_TTL_MAX / 86400);
	if ((rc = hm_ca_certs(ca, caname, &s, err)) != HM_OK)
		return rc;
	/* hallmark serve signs only with the keys it has. */
	if (!hm_ca_has_key(ca, caname)) {
		rc = hm_seterr(err, HM_E_POLICY, "CA '%s' has no key in %s "
		    "(offline): no token for it; give --ca with a CA that "
		    "has its key here", caname, ca->dir);
		goto out;
	}
	if (s->info.not_after <= now) {
		rc = hm_seterr(err, HM_E_POLICY, "CA '%s' expired; it can not "
		    "issue", caname);
		goto out;
	}
	if ((rc = within_constraints(s, p->sans, p->name, err)) != HM_OK)
		goto out;
	memset(ti, 0, sizeof(*ti));
	snprintf(ti->ca, sizeof(ti->ca), "%s", caname);
	snprintf(ti->name, sizeof(ti->name), "%s", p->name);
	snprintf(ti->profile, sizeof(ti->profile), "%s", pr->name);
	if (hm_names_count(p->sans) > 0 &&
	    hm_names_join(p->sans, ti->sans, sizeof(ti->sans)) == -1) {
		rc = hm_seterr(err, HM_E_INVALID, "too many names for one "
		    "token");
		goto out;
	}
	snprintf(ti->state, sizeof(ti->state), "pending");
	ti->created_at = now;
	ti->expires_at = now + (p->ttl > 0 ? p->ttl : HM_TOKEN_TTL);
 out:
	hm_signer_free(s);
	return rc;
}

int
hm_token_room(hm_store *st, time_t now, hm_err *err)
{
	int64_t	pending;
	int	rc;

	/* Old PSKs go first: nothing is kept longer than it can serve. */
	if ((rc = st->ops->token_purge(st, now - HM_TOKEN_KEEP, err)) !=
	    HM_OK ||
	    (rc = st->ops->token_pending(st, now, &pending, err)) != HM_OK)
		return rc;
	if (pending >= HM_TOKENS_PENDING_MAX)
		return hm_seterr(err, HM_E_POLICY, "%d tokens are pending "
		    "already: revoke some (hallmark token list) or let them "
		    "expire", HM_TOKENS_PENDING_MAX);
	return HM_OK;
}

int
hm_token_new(hm_ca *ca, const hm_token_params *p,
    char token[HM_TOKEN_LEN + 1], hm_token_info *info, hm_err *err)
{
	struct hm_token_rec	 r;
	hm_store		*st = ca->store;
	unsigned char		 id[HM_PSK_ID_LEN];
	int			 rc, try;

	memset(&r, 0, sizeof(r));
	if ((rc = hm_token_scope(ca, p, &r.info, err)) != HM_OK)
		return rc;
	if (RAND_priv_bytes(r.psk, sizeof(r.psk)) != 1)
		return hm_seterr_ssl(err, HM_E_INTERNAL, "random PSK");
	if ((rc = st->ops->begin(st, err)) != HM_OK)
		goto out;
	if ((rc = hm_token_room(st, r.info.created_at, err)) != HM_OK)
		goto rollback;
	for (try = 0, rc = HM_E_EXISTS; try < ID_TRIES && rc == HM_E_EXISTS;
	    try++) {
		if (RAND_bytes(id, sizeof(id)) != 1) {
			rc = hm_seterr_ssl(err, HM_E_INTERNAL, "random id");
			goto rollback;
		}
		hm_token_id_hex(id, r.info.id);
		rc = st->ops->token_insert(st, &r, err);
	}
	if (rc != HM_OK)
		goto rollback;
	if (hm_token_format(id, r.psk, token) != HM_OK) {
		rc = hm_seterr_ssl(err, HM_E_INTERNAL, "making the token");
		goto rollback;
	}
	if ((rc = st->ops->commit(st, err)) != HM_OK)
		goto rollback;
	if (info != NULL)
		*info = r.info;
	rc = HM_OK;
	goto out;
 rollback:
	st->ops->rollback(st);
 out:
	hm_token_rec_clear(&r);
	return rc;
}

struct list_arg {
	hm_token_cb	 cb;
	void		*arg;
	time_t		 now;
};

/* A pending token past its expiry is listed as expired. */
static int
list_cb(const hm_token_info *ti, void *arg)
{
	struct list_arg	*a = arg;
	hm_token_info	 t = *ti;

	if (strcmp(t.state, "pending") == 0 && t.expires_at <= a->now)
		snprintf(t.state, sizeof(t.state), "expired");
	return a->cb(&t, a->arg);
}

int
hm_token_list(hm_ca *ca, hm_token_cb cb, void *arg, hm_err *err)
{
	struct list_arg	a = { cb, arg, time(NULL) };

	return ca->store->ops->token_list(ca->store, list_cb, &a, err);
}

int
hm_token_revoke(hm_ca *ca, const char *id, hm_err *err)
{
	hm_store	*st = ca->store;
	char		 norm[HM_TOKEN_ID_LEN + 1];
	int		 rc;

	if (id == NULL || hm_hexid_norm(id, HM_TOKEN_ID_LEN, norm) == -1)
		return hm_seterr(err, HM_E_INVALID, "a token id is %d hex "
		    "digits (see hallmark token list)", HM_TOKEN_ID_LEN);
	if ((rc = st->ops->begin(st, err)) != HM_OK)
		return rc;
	if ((rc = st->ops->token_revoke(st, norm, err)) != HM_OK ||
	    (rc = st->ops->commit(st, err)) != HM_OK)
		st->ops->rollback(st);
	return rc;
}

