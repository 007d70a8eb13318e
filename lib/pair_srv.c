/*
 * The CA's side of pairing (docs/PROTOCOL.md, section 2): the operator
 * lists pairings, approves one with the code the new machine shows (its
 * PSK then becomes a pending token) or rejects it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "internal.h"

void
hm_pair_rec_clear(struct hm_pair_rec *r)
{
	OPENSSL_cleanse(r->sk, sizeof(r->sk));
	OPENSSL_cleanse(r->psk, sizeof(r->psk));
	OPENSSL_cleanse(r->sas, sizeof(r->sas));
	r->has_sk = r->has_psk = 0;
	free(r->commit);
	free(r->accept);
	free(r->reveal);
	r->commit = r->accept = r->reveal = NULL;
	r->commitlen = r->acceptlen = r->reveallen = 0;
}

struct list_arg {
	hm_pair_cb	 cb;
	void		*arg;
	time_t		 now;
};

/* An open pairing past its expiry is listed as expired. */
static int
list_cb(const hm_pair_info *pi, void *arg)
{
	struct list_arg	*a = arg;
	hm_pair_info	 p = *pi;

	if ((strcmp(p.state, "committed") == 0 ||
	    strcmp(p.state, "waiting") == 0) && p.expires_at <= a->now)
		snprintf(p.state, sizeof(p.state), "expired");
	return a->cb(&p, a->arg);
}

int
hm_pair_list(hm_ca *ca, hm_pair_cb cb, void *arg, hm_err *err)
{
	struct list_arg	a = { cb, arg, time(NULL) };

	return ca->store->ops->pair_list(ca->store, list_cb, &a, err);
}

/* A pairing id as the operator types it: 32 hex digits, either case. */
static int
norm_id(const char *id, char out[33], hm_err *err)
{
	size_t	i;

	for (i = 0; id != NULL && id[i] != '\0' && i < 32; i++) {
		if (!((id[i] >= '0' && id[i] <= '9') ||
		    (id[i] >= 'a' && id[i] <= 'f') ||
		    (id[i] >= 'A' && id[i] <= 'F')))
			break;
		out[i] = (char)(id[i] | 0x20);
	}
	if (id == NULL || i != 32 || id[i] != '\0')
		return hm_seterr(err, HM_E_INVALID, "a pairing id is 32 hex "
		    "digits (see hallmark pair list)");
	out[i] = '\0';
	return HM_OK;
}

/* The scope the pairing asked for, as a token's. */
static int
pair_scope(hm_ca *ca, const hm_pair_info *pi, const char *ca_name,
    const hm_names *sans, hm_token_info *ti, hm_err *err)
{
	hm_token_params	 p;
	hm_names	*own = NULL;
	int		 rc;

	memset(&p, 0, sizeof(p));
	p.ca = ca_name;
	p.name = pi->name;
	if ((rc = hm_profile_parse(pi->profile, &p.profile, err)) != HM_OK)
		return rc;
	p.sans = sans;
	/* A server needs a SAN: by default its name, if it is a DNS one. */
	if (hm_names_count(sans) == 0 && p.profile != HM_PROFILE_CLIENT) {
		if ((own = hm_names_new()) == NULL)
			return hm_seterr(err, HM_E_NOMEM, "out of memory");
		if (hm_names_add_typed(own, HM_NAME_DNS, pi->name, NULL) !=
		    HM_OK) {
			rc = hm_seterr(err, HM_E_POLICY, "'%s' is no DNS name: "
			    "give the %s certificate's names with --san",
			    pi->name, pi->profile);
			goto out;
		}
		p.sans = own;
	}
	p.ttl = HM_TOKEN_TTL;
	rc = hm_token_scope(ca, &p, ti, err);
 out:
	hm_names_free(own);
	return rc;
}

int
hm_pair_approve(hm_ca *ca, const char *id, const char *code,
    const char *ca_name, const hm_names *sans, hm_token_info *info,
    hm_err *err)
{
	struct hm_pair_rec	 pr;
	struct hm_token_rec	 tr;
	hm_store		*st = ca->store;
	char			 nid[33], typed[8];
	time_t			 now = time(NULL);
	size_t			 i;
	int			 rc, match;

	memset(&pr, 0, sizeof(pr));
	memset(&tr, 0, sizeof(tr));
	memset(typed, 0, sizeof(typed));
	if ((rc = norm_id(id, nid, err)) != HM_OK)
		return rc;
	for (i = 0; code != NULL && code[i] >= '0' && code[i] <= '9' &&
	    i < 6; i++)
		typed[i] = code[i];
	if (code == NULL || i != 6 || code[i] != '\0')
		return hm_seterr(err, HM_E_INVALID, "the code is the 6 digits "
		    "the new machine shows");
	if ((rc = st->ops->pair_get(st, nid, &pr, err)) != HM_OK)
		return rc;
	if (pr.state != HM_PAIR_REVEALED || pr.info.expires_at <= now ||
	    !pr.has_psk) {
		rc = hm_seterr(err, HM_E_POLICY, "pairing %s is %s, not "
		    "waiting for approval", nid, pr.info.expires_at <= now &&
		    pr.state < HM_PAIR_DONE ? "expired" : pr.info.state);
		goto out;
	}
	if ((rc = pair_scope(ca, &pr.info, ca_name, sans, &tr.info, err)) !=
	    HM_OK)
		goto out;
	match = strlen(pr.sas) == 6 && CRYPTO_memcmp(pr.sas, typed, 6) == 0;
	if ((rc = st->ops->begin(st, err)) != HM_OK)
		goto out;
	if (!match) {
		/* One guess only: a wrong code ends the pairing. */
		if ((rc = st->ops->pair_move(st, nid, HM_PAIR_REVEALED,
		    HM_PAIR_DROPPED, NULL, err)) != HM_OK ||
		    (rc = st->ops->commit(st, err)) != HM_OK)
			goto rollback;
		rc = hm_seterr(err, HM_E_POLICY, "the code does not match: "
		    "pairing %s is dropped; the new machine must start again "
		    "(and if it showed that code, someone is in between)", nid);
		goto out;
	}
	memcpy(tr.psk, pr.psk, sizeof(tr.psk));
	tr.has_psk = 1;
	hm_token_id_hex(pr.psk_id, tr.info.id);
	if ((rc = hm_token_room(st, now, err)) != HM_OK ||
	    (rc = st->ops->token_insert(st, &tr, err)) != HM_OK ||
	    (rc = st->ops->pair_move(st, nid, HM_PAIR_REVEALED, HM_PAIR_DONE,
	    tr.info.id, err)) != HM_OK ||
	    (rc = st->ops->commit(st, err)) != HM_OK)
		goto rollback;
	if (info != NULL)
		*info = tr.info;
	rc = HM_OK;
	goto out;
 rollback:
	st->ops->rollback(st);
 out:
	OPENSSL_cleanse(typed, sizeof(typed));
	hm_token_rec_clear(&tr);
	hm_pair_rec_clear(&pr);
	return rc;
}

int
hm_pair_reject(hm_ca *ca, const char *id, hm_err *err)
{
	struct hm_pair_rec	 pr;
	hm_store		*st = ca->store;
	char			 nid[33];
	int			 rc;

	if ((rc = norm_id(id, nid, err)) != HM_OK ||
	    (rc = st->ops->pair_get(st, nid, &pr, err)) != HM_OK)
		return rc;
	hm_pair_rec_clear(&pr);
	if (pr.state >= HM_PAIR_DONE)
		return hm_seterr(err, HM_E_POLICY, "pairing %s is %s already",
		    nid, pr.info.state);
	if ((rc = st->ops->begin(st, err)) != HM_OK)
		return rc;
	if ((rc = st->ops->pair_move(st, nid, pr.state, HM_PAIR_DROPPED, NULL,
	    err)) != HM_OK || (rc = st->ops->commit(st, err)) != HM_OK)
		st->ops->rollback(st);
	return rc;
}
