/*
 * The CA's side of enrollment (docs/PROTOCOL.md, section 1.6): open a
 * request under the PSK of its token, check the CSR against the token's
 * scope, and in one store transaction issue the certificate and use the
 * token up, keeping the sealed reply for an identical retry.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "internal.h"

/* Opens nothing: an unknown id costs what a wrong key costs. */
static const unsigned char dummy_psk[HM_PSK_LEN];

struct answer {
	hm_responder		*r;
	struct hm_enroll_req	 h;
	struct hm_token_rec	 rec;
	unsigned char		 hash[HM_ENROLL_HASH_LEN];
	unsigned char		*reply;
	size_t			 replylen;
	/* A batch: steps 4 to 7 to do, what they gave, what is answered. */
	unsigned char		*csrder;	/* opened, to vet */
	size_t			 csrlen;
	hm_csr			*csr;
	hm_names		*scope;
	hm_cert			*cert;		/* signed, to record */
	hm_cert_rec		 crec;
	int			 cand, wait, redo, done, irc;
	hm_err			 ierr;
};

/* A sealed reply of status with plaintext pt into a->reply. */
static int
seal(struct answer *a, int status, const unsigned char *pt, size_t ptlen,
    hm_err *err)
{
	unsigned char	nonce_s[HM_ENROLL_NONCE_LEN];

	if (RAND_bytes(nonce_s, sizeof(nonce_s)) != 1)
		return hm_seterr_ssl(err, HM_E_INTERNAL, "random nonce");
	return hm_enroll_rep_seal(a->rec.psk, a->h.id, a->h.nonce_c, nonce_s,
	    a->hash, status, pt, ptlen, &a->reply, &a->replylen, err);
}

/*
 * A sealed refusal.  err gets the log line; the client gets msg, or the
 * reason's name when msg can not go in a reply (it may quote the request:
 * a CSR parser's message).  Returns HM_OK when there is a reply to send.
 */
static int
refuse(struct answer *a, unsigned code, const char *msg, hm_err *err)
{
	unsigned char	*pt = NULL;
	size_t		 ptlen;
	int		 rc;

	if ((rc = hm_enroll_refused_pt(code, msg, &pt, &ptlen, err)) ==
	    HM_E_INVALID) {
		msg = hm_enroll_reason_name(code);
		rc = hm_enroll_refused_pt(code, msg, &pt, &ptlen, err);
	}
	if (rc == HM_OK)
		rc = seal(a, HM_ENROLL_REFUSED, pt, ptlen, err);
	free(pt);
	if (rc == HM_OK)
		hm_seterr(err, HM_E_REFUSED, "token %s: refused (%s): %.120s",
		    a->rec.info.id, hm_enroll_reason_name(code), msg);
	return rc;
}

/* A token already used: the stored reply for the same request, else no. */
static int
used(struct answer *a, hm_err *err)
{
	if (a->rec.has_hash && a->rec.reply != NULL &&
	    CRYPTO_memcmp(a->rec.req_hash, a->hash, sizeof(a->hash)) == 0) {
		if ((a->reply = malloc(a->rec.replylen)) == NULL)
			return hm_seterr(err, HM_E_NOMEM, "out of memory");
		memcpy(a->reply, a->rec.reply, a->rec.replylen);
		a->replylen = a->rec.replylen;
		hm_seterr(err, HM_OK, "token %s: the same request again: the "
		    "same reply", a->rec.info.id);
		return HM_OK;
	}
	return refuse(a, HM_ENROLL_R_USED, "this token was used by another "
	    "request", err);
}

/* Every name the CSR asks for is one of the token's. */
static int
in_scope(const hm_csr *csr, const hm_token_info *ti, const hm_names *scope)
{
	const hm_names	*asked = hm_csr_names(csr);
	const char	*cn = hm_csr_cn(csr), *v, *w;
	hm_name_type	 t, u;
	size_t		 i, j;
	int		 found;

	if (cn != NULL && strcmp(cn, ti->name) != 0)
		return 0;
	for (i = 0; hm_names_get(asked, i, &t, &v) == HM_OK; i++) {
		found = 0;
		for (j = 0; !found && hm_names_get(scope, j, &u, &w) == HM_OK;
		    j++)
			found = t == u && strcmp(v, w) == 0;
		if (!found)
			return 0;
	}
	return 1;
}

/* The issued reply's plaintext: cert, the CAs above it, the root. */
static int
issued_pt(const hm_signer *s, const hm_cert *c, unsigned char **pt,
    size_t *ptlen, hm_err *err)
{
	struct hm_enroll_item	 cert, root, chain[HM_ENROLL_CHAIN_MAX];
	unsigned char		*der[HM_ENROLL_CHAIN_MAX + 1] = { NULL };
	int			 i, n = sk_X509_num(s->chain), len, rc;

	if (n < 0)
		n = 0;
	if (n > HM_ENROLL_CHAIN_MAX)
		return hm_seterr(err, HM_E_INTERNAL, "chain too long");
	cert.v = hm_cert_der(c, &cert.len);
	for (i = 0; i < n; i++) {
		if ((len = i2d_X509(sk_X509_value(s->chain, i), &der[i])) <=
		    0) {
			rc = hm_seterr_ssl(err, HM_E_INTERNAL, "chain");
			goto out;
		}
		chain[i].v = der[i];
		chain[i].len = (size_t)len;
	}
	if ((len = i2d_X509(s->root, &der[n])) <= 0) {
		rc = hm_seterr_ssl(err, HM_E_INTERNAL, "root");
		goto out;
	}
	root.v = der[n];
	root.len = (size_t)len;
	rc = hm_enroll_issued_pt(&cert, chain, (size_t)n, &root, pt, ptlen,
	    err);
 out:
	for (i = 0; i <= n; i++)
		OPENSSL_free(der[i]);
	return rc;
}

/*
 * Step 7 up to the store: sign the certificate for csr under the token's
 * scope and seal the reply; a->cert, a->crec and a->rec (the token's use)
 * are then what batch_commit records.  On failure nothing is kept.
 */
static int
sign_and_seal(struct answer *a, hm_err *err)
{
	hm_signer		*s;
	hm_issue_req		 req;
	hm_profile_id		 prof;
	unsigned char		*pt = NULL;
	size_t			 ptlen;
	int			 rc;

	if ((s = hm_responder_signer(a->r, a->rec.info.ca)) == NULL)
		return hm_seterr(err, HM_E_NOTFOUND, "CA '%s' is not online",
		    a->rec.info.ca);
	if ((rc = hm_profile_parse(a->rec.info.profile, &prof, err)) != HM_OK)
		return rc;
	memset(&req, 0, sizeof(req));
	req.profile = prof;
	req.csr = a->csr;
	req.cn = a->rec.info.name;
	req.sans = a->scope;
	if ((rc = hm_issue_sign(s, &req, &a->cert, &a->crec, err)) != HM_OK ||
	    (rc = issued_pt(s, a->cert, &pt, &ptlen, err)) != HM_OK ||
	    (rc = seal(a, HM_ENROLL_ISSUED, pt, ptlen, err)) != HM_OK) {
		hm_cert_free(a->cert);
		a->cert = NULL;
		goto out;
	}
	a->rec.info.used_at = time(NULL);
	snprintf(a->rec.info.serial, sizeof(a->rec.info.serial), "%s",
	    hm_cert_serial(a->cert));
	memcpy(a->rec.req_hash, a->hash, sizeof(a->hash));
	hm_seterr(err, HM_OK, "token %s: issued %s to CN=%s", a->rec.info.id,
	    hm_cert_serial(a->cert), a->rec.info.name);
 out:
	free(pt);
	return rc;
}

/* What became of an issuance (rc, e): the answer to send. */
static int
issued_or_refused(struct answer *a, int rc, const hm_err *e, hm_err *err)
{
	hm_store	*st = hm_responder_ca(a->r)->store;
	char		 id[HM_TOKEN_ID_LEN + 1];

	if (rc == HM_E_EXISTS) {
		/*
		 * Another request won the race (it is used now), or the
		 * token was revoked meanwhile.  token_get clears the record
		 * first, so the id is looked up from a copy.
		 */
		snprintf(id, sizeof(id), "%s", a->rec.info.id);
		hm_token_rec_clear(&a->rec);
		if ((rc = st->ops->token_get(st, id, &a->rec, err)) != HM_OK)
			return rc;
		if (a->rec.state == HM_TOKEN_REVOKED)
			rc = refuse(a, HM_ENROLL_R_REVOKED, "this token was "
			    "revoked", err);
		else
			rc = used(a, err);
	} else if (rc == HM_E_POLICY || rc == HM_E_INVALID)
		rc = refuse(a, HM_ENROLL_R_SCOPE, e->msg, err);
	else if (rc != HM_OK)
		rc = refuse(a, HM_ENROLL_R_LATER, "the CA could not issue now",
		    err) == HM_OK ? HM_OK : rc;
	else if (err != NULL)
		*err = *e;
	return rc;
}

/*
 * Steps 4 to 6 for a request that opened under its token's PSK: HM_OK
 * with a->reply set (a refusal, or the stored reply to the same request
 * again), or ISSUE with a->csr and a->scope set: step 7 is the caller's.
 */
#define ISSUE	1
#define VET	2	/* open_job: opened, steps 4 to 7 next */

static int
vet(struct answer *a, const unsigned char *der, size_t derlen, hm_err *err)
{
	hm_err	e;
	int	rc;

	if (a->rec.state == HM_TOKEN_USED)
		return used(a, err);
	if (a->rec.state == HM_TOKEN_REVOKED)
		return refuse(a, HM_ENROLL_R_REVOKED, "this token was revoked",
		    err);
	if (a->rec.info.expires_at <= time(NULL))
		return refuse(a, HM_ENROLL_R_EXPIRED, "this token expired",
		    err);
	if (hm_csr_parse(der, derlen, &a->csr, &e) != HM_OK)
		return refuse(a, HM_ENROLL_R_CSR, e.msg, err);
	/* The token's names, as issuance takes them. */
	if ((rc = hm_names_split(a->rec.info.sans, &a->scope, err)) != HM_OK)
		return rc;
	if (!in_scope(a->csr, &a->rec.info, a->scope))
		return refuse(a, HM_ENROLL_R_SCOPE, "the CSR asks for a name "
		    "this token does not cover", err);
	return ISSUE;
}

/*
 * Steps 1 to 3 for job j: HM_OK with the answer in j (j->http, and
 * a->reply for a 200), VET with the CSR in a->csrder when steps 4 to 7
 * are next (batch_sign_one), or an error.
 */
static int
open_job(struct answer *a, hm_enroll_job *j, hm_err *err)
{
	hm_store	*st = hm_responder_ca(a->r)->store;
	unsigned char	*csr = NULL;
	size_t		 csrlen;
	char		 id[HM_TOKEN_ID_LEN + 1];
	int		 rc, known, opened;

	if ((rc = hm_enroll_req_parse(j->req, j->len, &a->h, err)) != HM_OK) {
		j->http = rc == HM_E_TOOBIG ? 413 : 400;
		return HM_OK;
	}
	hm_token_id_hex(a->h.id, id);
	rc = st->ops->token_get(st, id, &a->rec, err);
	if (rc != HM_OK && rc != HM_E_NOTFOUND)
		return rc;
	known = rc == HM_OK && a->rec.has_psk;
	/* Unknown or wiped: the same work, with a key that opens nothing. */
	rc = hm_enroll_req_open(&a->h, j->req, j->len, known ? a->rec.psk :
	    dummy_psk, &csr, &csrlen, err);
	if (!known || rc == HM_E_SIGNATURE) {
		j->http = 403;
		hm_seterr(err, HM_E_REFUSED, "token %s: %s", id, known ?
		    "bad tag" : "unknown");
		rc = HM_OK;
		goto out;
	}
	if (rc != HM_OK && rc != HM_E_INVALID)
		goto out;
	opened = rc;
	if ((rc = hm_enroll_hash(j->req, j->len, a->hash, err)) != HM_OK)
		goto out;
	j->http = 200;
	/* Authentic, but not as section 1.5 says: a sealed refusal. */
	if (opened == HM_E_INVALID)
		rc = refuse(a, HM_ENROLL_R_MALFORMED, "the request's "
		    "plaintext does not follow the protocol", err);
	else {
		a->csrder = csr;
		a->csrlen = csrlen;
		csr = NULL;
		rc = VET;
	}
 out:
	free(csr);
	return rc;
}

static void
answer_clear(struct answer *a)
{
	free(a->reply);
	a->reply = NULL;
	free(a->csrder);
	a->csrder = NULL;
	hm_cert_free(a->cert);
	a->cert = NULL;
	hm_names_free(a->scope);
	a->scope = NULL;
	hm_csr_free(a->csr);
	a->csr = NULL;
	hm_token_rec_clear(&a->rec);
	OPENSSL_cleanse(&a->h, sizeof(a->h));
}

/* Job j is answered: rc, the log line e, the reply taken from a. */
static void
job_done(hm_enroll_job *j, struct answer *a, int rc, const hm_err *e)
{
	j->rc = rc;
	j->err = *e;
	if (rc == HM_OK && j->http == 200) {
		j->reply = a->reply;
		j->replylen = a->replylen;
		a->reply = NULL;
	} else if (rc != HM_OK)
		j->http = 500;
	answer_clear(a);
}

struct hm_enroll_batch {
	hm_responder	*r;
	hm_enroll_job	*jobs;
	size_t		 n;
	struct answer	*as;
	atomic_size_t	 next;		/* the next job hm_enroll_batch_sign takes */
};

struct hm_enroll_writer {
	hm_ca		*ca;		/* a store connection of its own */
	hm_ca		*ck;		/* another, for checkpoints */
};

int
hm_enroll_writer_new(hm_responder *r, hm_enroll_writer **out, hm_err *err)
{
	hm_enroll_writer	*w;
	int			 rc;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return hm_seterr(err, HM_E_NOMEM, "out of memory");
	if ((rc = hm_ca_open(hm_responder_ca(r)->dir, &w->ca, err)) != HM_OK ||
	    (rc = hm_ca_open(hm_responder_ca(r)->dir, &w->ck, err)) != HM_OK) {
		hm_enroll_writer_free(w);
		return rc;
	}
	if (w->ca->store->ops->defer_checkpoints != NULL)
		w->ca->store->ops->defer_checkpoints(w->ca->store);
	*out = w;
	return HM_OK;
}

void
hm_enroll_writer_free(hm_enroll_writer *w)
{
	if (w == NULL)
		return;
	hm_ca_close(w->ca);
	hm_ca_close(w->ck);
	free(w);
}

int
hm_enroll_writer_checkpoint(hm_enroll_writer *w, hm_err *err)
{
	hm_store	*st = w->ck->store;

	return st->ops->checkpoint != NULL ? st->ops->checkpoint(st, err) :
	    HM_OK;
}

int
hm_enroll_batch_open(hm_responder *r, hm_enroll_job *jobs, size_t n,
    hm_enroll_batch **out, hm_err *err)
{
	hm_enroll_batch	*b = NULL;
	struct answer	*a;
	hm_err		 e;
	size_t		 i, k;
	int		 rc;

	if ((b = calloc(1, sizeof(*b))) == NULL ||
	    (b->as = calloc(n > 0 ? n : 1, sizeof(*b->as))) == NULL) {
		free(b);
		return hm_seterr(err, HM_E_NOMEM, "out of memory");
	}
	b->r = r;
	b->jobs = jobs;
	b->n = n;
	for (i = 0; i < n; i++) {
		a = &b->as[i];
		a->r = r;
		if (jobs[i].http != 0) {
			a->done = 1;	/* answered in an earlier batch */
			continue;
		}
		jobs[i].reply = NULL;
		jobs[i].replylen = 0;
		/*
		 * A request whose token an earlier one of this batch is about
		 * to use waits for a later batch, where it finds the token
		 * used: as if the two came one after the other.
		 */
		if (hm_enroll_req_parse(jobs[i].req, jobs[i].len, &a->h,
		    NULL) == HM_OK)
			for (k = 0; k < i && !a->wait; k++)
				a->wait = (b->as[k].cand || b->as[k].wait) &&
				    memcmp(b->as[k].h.id, a->h.id,
				    sizeof(a->h.id)) == 0;
		if (a->wait)
			continue;
		memset(&e, 0, sizeof(e));
		if ((rc = open_job(a, &jobs[i], &e)) != VET) {
			job_done(&jobs[i], a, rc, &e);
			a->done = 1;
			continue;
		}
		/* Until vetted: a later request for its token waits. */
		a->cand = 1;
	}
	atomic_init(&b->next, 0);
	*out = b;
	return HM_OK;
}

/* Steps 4 to 7 for the opened job i of b, up to the store. */
static void
batch_sign_one(hm_enroll_batch *b, size_t i)
{
	struct answer	*a = &b->as[i];
	hm_err		 e;
	int		 rc;

	memset(&e, 0, sizeof(e));
	rc = vet(a, a->csrder, a->csrlen, &e);
	free(a->csrder);
	a->csrder = NULL;
	if (rc != ISSUE) {
		job_done(&b->jobs[i], a, rc, &e);
		a->done = 1;
		a->cand = 0;
		return;
	}
	memset(&a->ierr, 0, sizeof(a->ierr));
	a->irc = sign_and_seal(a, &a->ierr);
}

void
hm_enroll_batch_sign(hm_enroll_batch *b)
{
	size_t	i;

	while ((i = atomic_fetch_add(&b->next, 1)) < b->n)
		if (b->as[i].cand)
			batch_sign_one(b, i);
}

int
hm_enroll_batch_prepare(hm_responder *r, hm_enroll_job *jobs, size_t n,
    hm_enroll_batch **out, hm_err *err)
{
	int	rc;

	if ((rc = hm_enroll_batch_open(r, jobs, n, out, err)) == HM_OK)
		hm_enroll_batch_sign(*out);
	return rc;
}

/*
 * Step 7 for the signed requests of b in one transaction, each in a
 * savepoint of its own, so that one that fails leaves nothing and the
 * others stand.  When the commit fails, no issued reply may leave.
 */
void
hm_enroll_batch_commit(hm_enroll_batch *b, hm_enroll_writer *w)
{
	hm_store	*st = w != NULL ? w->ca->store :
			    hm_responder_ca(b->r)->store;
	struct answer	*a;
	hm_err		 e;
	size_t		 i, todo = 0;
	int		 rc, txrc;

	for (i = 0; i < b->n; i++)
		if (b->as[i].cand && b->as[i].irc == HM_OK)
			todo++;
	if (todo == 0)
		return;
	memset(&e, 0, sizeof(e));
	txrc = st->ops->begin(st, &e);
	for (i = 0; i < b->n; i++) {
		a = &b->as[i];
		if (!a->cand || a->irc != HM_OK)
			continue;
		if (txrc != HM_OK) {
			a->irc = txrc;
			a->ierr = e;
			continue;
		}
		if ((rc = st->ops->savepoint(st, &a->ierr)) != HM_OK) {
			a->irc = rc;
			continue;
		}
		rc = st->ops->cert_insert(st, &a->crec, &a->ierr);
		/* A serial taken (2^-134): signed again in a later batch. */
		if (rc == HM_E_EXISTS)
			a->redo = 1;
		if (rc == HM_OK) {
			a->rec.reply = a->reply;
			a->rec.replylen = a->replylen;
			rc = st->ops->token_use(st, &a->rec, &a->ierr);
			a->rec.reply = NULL;
		}
		if (rc == HM_OK)
			rc = st->ops->release(st, &a->ierr);
		else
			st->ops->rollback_to(st);
		if (rc != HM_OK)
			a->irc = rc;
	}
	if (txrc != HM_OK)
		return;
	if ((txrc = st->ops->commit(st, &e)) != HM_OK) {
		st->ops->rollback(st);
		for (i = 0; i < b->n; i++)
			if (b->as[i].cand && b->as[i].irc == HM_OK) {
				b->as[i].irc = txrc;
				b->as[i].ierr = e;
			}
	}
}

int
hm_enroll_batch_finish(hm_enroll_batch *b, size_t *left, hm_err *err)
{
	struct answer	*a;
	hm_err		 e;
	size_t		 i, n = 0;
	int		 rc;

	for (i = 0; i < b->n; i++) {
		a = &b->as[i];
		if (a->done)
			continue;
		if (a->wait || a->redo) {
			answer_clear(a);
			n++;
			continue;
		}
		/* Not recorded: the issued reply must not leave. */
		if (a->irc != HM_OK) {
			free(a->reply);
			a->reply = NULL;
		}
		memset(&e, 0, sizeof(e));
		rc = issued_or_refused(a, a->irc, &a->ierr, &e);
		job_done(&b->jobs[i], a, rc, &e);
	}
	for (i = 0; i < b->n; i++)
		answer_clear(&b->as[i]);
	free(b->as);
	free(b);
	*left = n;
	(void)err;
	return HM_OK;
}

int
hm_enroll_answer_batch(hm_responder *r, hm_enroll_job *jobs, size_t n,
    hm_err *err)
{
	hm_enroll_batch	*b = NULL;
	size_t		 i, left = n, round;
	int		 rc;

	for (i = 0; i < n; i++)
		jobs[i].http = 0;
	/*
	 * The first request left is answered in each round, unless its
	 * serial was taken (2^-134 a time): n + 4 rounds at most.
	 */
	for (round = 0; left > 0 && round < n + 4; round++) {
		if ((rc = hm_enroll_batch_prepare(r, jobs, n, &b, err)) !=
		    HM_OK)
			goto out;
		hm_enroll_batch_commit(b, NULL);
		if ((rc = hm_enroll_batch_finish(b, &left, err)) != HM_OK)
			goto out;
	}
	if (left == 0)
		return HM_OK;
	rc = hm_seterr(err, HM_E_INTERNAL, "enrollment: requests left "
	    "unanswered");
 out:
	/* None has an answer then. */
	for (i = 0; i < n; i++) {
		free(jobs[i].reply);
		jobs[i].reply = NULL;
		jobs[i].http = 0;
	}
	return rc;
}

int
hm_enroll_answer(hm_responder *r, const unsigned char *req, size_t len,
    unsigned char **reply, size_t *replylen, int *http, hm_err *err)
{
	hm_enroll_job	j;
	int		rc;

	*reply = NULL;
	*replylen = 0;
	memset(&j, 0, sizeof(j));
	j.req = req;
	j.len = len;
	if ((rc = hm_enroll_answer_batch(r, &j, 1, err)) != HM_OK)
		return rc;
	if (err != NULL)
		*err = j.err;
	if (j.rc != HM_OK)
		return j.rc;
	*reply = j.reply;
	*replylen = j.replylen;
	*http = j.http;
	return HM_OK;
}
