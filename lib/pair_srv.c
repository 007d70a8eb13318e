/*
 * The CA's side of pairing (docs/PROTOCOL.md, section 2): the operator
 * lists pairings, approves one with the code the new machine shows (its
 * PSK then becomes a pending token) or rejects it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stdint.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

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
	if (id == NULL || hm_hexid_norm(id, 32, out) == -1)
		return hm_seterr(err, HM_E_INVALID, "a pairing id is 32 hex "
		    "digits (see hallmark pair list)");
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
	int			 rc, match;

	memset(&pr, 0, sizeof(pr));
	memset(&tr, 0, sizeof(tr));
	memset(typed, 0, sizeof(typed));
	if ((rc = norm_id(id, nid, err)) != HM_OK)
		return rc;
	if (hm_pair_code_parse(code, typed) != HM_OK)
		return hm_seterr(err, HM_E_INVALID, "the code is the 6 digits "
		    "(or the 3 words) the new machine shows");
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

/* ---- The messages: what hallmark serve answers ------------------------ */

static int
reply_body(unsigned char *body, size_t len, unsigned char **reply,
    size_t *replylen, int *http)
{
	*reply = body;
	*replylen = len;
	*http = 200;
	return HM_OK;
}

/* A new pairing: its accept message, or 400 / 403 (replay) / 429. */
static int
answer_commit(hm_responder *r, const unsigned char *body, size_t len,
    const char *source, unsigned char **reply, size_t *replylen, int *http,
    hm_err *err)
{
	struct hm_pair_commit	 m;
	struct hm_pair_accept	 a;
	struct hm_pair_rec	 pr;
	hm_store		*st = hm_responder_ca(r)->store;
	unsigned char		*acc = NULL, pk[HM_X25519_LEN];
	size_t			 acclen;
	int64_t			 all, from;
	time_t			 now = time(NULL);
	int			 rc;

	memset(&pr, 0, sizeof(pr));
	if (hm_pair_commit_decode(body, len, &m, err) != HM_OK) {
		*http = len > HM_PAIR_MAX ? 413 : 400;
		return HM_OK;
	}
	if ((rc = hm_pair_keygen(pr.sk, pk, err)) != HM_OK)
		goto out;
	memcpy(a.pk_r, pk, sizeof(pk));
	if (RAND_bytes(a.id, sizeof(a.id)) != 1 ||
	    RAND_bytes(a.nonce_r, sizeof(a.nonce_r)) != 1) {
		rc = hm_seterr_ssl(err, HM_E_INTERNAL, "random");
		goto out;
	}
	if ((rc = hm_pair_accept_encode(&a, &acc, &acclen, err)) != HM_OK)
		goto out;
	hm_hex(a.id, sizeof(a.id), pr.info.id, sizeof(pr.info.id));
	snprintf(pr.info.name, sizeof(pr.info.name), "%s", m.name);
	snprintf(pr.info.profile, sizeof(pr.info.profile), "%s",
	    hm_profile_name(m.profile));
	snprintf(pr.info.source, sizeof(pr.info.source), "%s", source);
	pr.info.created_at = now;
	pr.info.expires_at = now + HM_PAIR_TTL;
	pr.commit = (unsigned char *)(uintptr_t)body;
	pr.commitlen = len;
	pr.accept = acc;
	pr.acceptlen = acclen;
	if ((rc = st->ops->begin(st, err)) != HM_OK)
		goto out;
	if ((rc = st->ops->pair_purge(st, now - HM_PAIR_TTL, err)) != HM_OK ||
	    (rc = st->ops->pair_open(st, now, source, &all, &from, err)) !=
	    HM_OK)
		goto rollback;
	if (all >= HM_PAIRS_OPEN_MAX || from >= HM_PAIRS_SOURCE_MAX) {
		st->ops->rollback(st);
		*http = 429;
		hm_seterr(err, HM_E_POLICY, "pairing: %s open", all >=
		    HM_PAIRS_OPEN_MAX ? "too many pairings" : "too many from "
		    "this address");
		rc = HM_OK;
		goto out;
	}
	if ((rc = st->ops->pair_insert(st, &pr, err)) == HM_E_EXISTS) {
		st->ops->rollback(st);
		*http = 403;
		hm_seterr(err, HM_E_REFUSED, "pairing: a commit message "
		    "replayed");
		rc = HM_OK;
		goto out;
	}
	if (rc != HM_OK || (rc = st->ops->commit(st, err)) != HM_OK)
		goto rollback;
	hm_seterr(err, HM_OK, "pairing %s: %s (%s) committed", pr.info.id,
	    pr.info.name, pr.info.profile);
	rc = reply_body(acc, acclen, reply, replylen, http);
	acc = NULL;
	goto out;
 rollback:
	st->ops->rollback(st);
 out:
	pr.commit = NULL;
	pr.accept = NULL;
	free(acc);
	OPENSSL_cleanse(pr.sk, sizeof(pr.sk));
	return rc;
}

/* The reveal: checked against the commitment, the code derived. */
static int
answer_reveal(hm_responder *r, const unsigned char *body, size_t len,
    unsigned char **reply, size_t *replylen, int *http, hm_err *err)
{
	struct hm_pair_reveal	 m;
	struct hm_pair_commit	 c;
	struct hm_pair_out	 o;
	struct hm_pair_rec	 pr;
	hm_store		*st = hm_responder_ca(r)->store;
	unsigned char		 want[32];
	char			 id[33];
	int			 rc;

	memset(&pr, 0, sizeof(pr));
	memset(&o, 0, sizeof(o));
	if (hm_pair_reveal_decode(body, len, &m, err) != HM_OK) {
		*http = len > HM_PAIR_MAX ? 413 : 400;
		return HM_OK;
	}
	hm_hex(m.id, sizeof(m.id), id, sizeof(id));
	if ((rc = st->ops->pair_get(st, id, &pr, err)) == HM_E_NOTFOUND) {
		*http = 404;
		return HM_OK;
	}
	if (rc != HM_OK)
		return rc;
	if (pr.state != HM_PAIR_COMMITTED || !pr.has_sk ||
	    pr.info.expires_at <= time(NULL)) {
		*http = 403;
		hm_seterr(err, HM_E_REFUSED, "pairing %s: revealed already, "
		    "or %s", id, pr.info.state);
		rc = HM_OK;
		goto out;
	}
	if ((rc = hm_pair_commit_decode(pr.commit, pr.commitlen, &c, err)) !=
	    HM_OK || (rc = hm_pair_commitment(m.pk_i, m.nonce_i, want, err)) !=
	    HM_OK)
		goto out;
	if (CRYPTO_memcmp(want, c.commitment, sizeof(want)) != 0 ||
	    hm_pair_derive(pr.sk, m.pk_i, pr.commit, pr.commitlen, pr.accept,
	    pr.acceptlen, body, len, &o, NULL) != HM_OK) {
		/* Not what was committed to: this pairing is over. */
		if ((rc = st->ops->begin(st, err)) == HM_OK &&
		    ((rc = st->ops->pair_move(st, id, HM_PAIR_COMMITTED,
		    HM_PAIR_DROPPED, NULL, err)) != HM_OK ||
		    (rc = st->ops->commit(st, err)) != HM_OK))
			st->ops->rollback(st);
		*http = 403;
		hm_seterr(err, HM_E_REFUSED, "pairing %s: the reveal does not "
		    "match the commitment; dropped", id);
		rc = HM_OK;
		goto out;
	}
	pr.reveal = (unsigned char *)(uintptr_t)body;
	pr.reveallen = len;
	memcpy(pr.psk, o.psk, sizeof(pr.psk));
	memcpy(pr.psk_id, o.psk_id, sizeof(pr.psk_id));
	snprintf(pr.sas, sizeof(pr.sas), "%s", o.sas);
	if ((rc = st->ops->begin(st, err)) != HM_OK)
		goto out;
	if ((rc = st->ops->pair_reveal(st, &pr, err)) == HM_E_EXISTS) {
		st->ops->rollback(st);
		*http = 403;
		hm_seterr(err, HM_E_REFUSED, "pairing %s: revealed already",
		    id);
		rc = HM_OK;
		goto out;
	}
	if (rc != HM_OK || (rc = st->ops->commit(st, err)) != HM_OK) {
		st->ops->rollback(st);
		goto out;
	}
	if ((rc = hm_pair_id_encode("HMPD", m.id, reply, replylen, err)) !=
	    HM_OK)
		goto out;
	*http = 200;
	hm_seterr(err, HM_OK, "pairing %s: revealed; waiting for approval",
	    id);
 out:
	pr.reveal = NULL;
	OPENSSL_cleanse(&o, sizeof(o));
	hm_pair_rec_clear(&pr);
	return rc;
}

/* Where a pairing stands, for the new machine that polls. */
static int
answer_status(hm_responder *r, const unsigned char *body, size_t len,
    unsigned char **reply, size_t *replylen, int *http, hm_err *err)
{
	struct hm_pair_rec	 pr;
	hm_store		*st = hm_responder_ca(r)->store;
	unsigned char		 pid[HM_PAIR_ID_LEN];
	char			 id[33];
	int			 rc, state;

	if (hm_pair_id_decode("HMPS", body, len, pid, err) != HM_OK) {
		*http = len > HM_PAIR_MAX ? 413 : 400;
		return HM_OK;
	}
	hm_hex(pid, sizeof(pid), id, sizeof(id));
	if ((rc = st->ops->pair_get(st, id, &pr, err)) == HM_E_NOTFOUND) {
		*http = 404;
		return HM_OK;
	}
	if (rc != HM_OK)
		return rc;
	if (pr.state == HM_PAIR_DONE)
		state = HM_PAIR_APPROVED;
	else if (pr.state == HM_PAIR_DROPPED || pr.info.expires_at <=
	    time(NULL))
		state = HM_PAIR_ENDED;
	else
		state = HM_PAIR_WAITING;
	hm_pair_rec_clear(&pr);
	if ((rc = hm_pair_state_encode(state, reply, replylen, err)) != HM_OK)
		return rc;
	*http = 200;
	hm_seterr(err, HM_OK, "pairing %s: %s", id, state ==
	    HM_PAIR_APPROVED ? "approved" : state == HM_PAIR_ENDED ? "ended" :
	    "waiting");
	return HM_OK;
}

int
hm_pair_answer(hm_responder *r, int what, const unsigned char *body,
    size_t len, const char *source, unsigned char **reply, size_t *replylen,
    int *http, hm_err *err)
{
	*reply = NULL;
	*replylen = 0;
	*http = 500;
	switch (what) {
	case HM_PAIR_MSG_COMMIT:
		return answer_commit(r, body, len, source, reply, replylen,
		    http, err);
	case HM_PAIR_MSG_REVEAL:
		return answer_reveal(r, body, len, reply, replylen, http, err);
	case HM_PAIR_MSG_STATUS:
		return answer_status(r, body, len, reply, replylen, http, err);
	}
	return hm_seterr(err, HM_E_INVALID, "no such pairing message");
}
