/*
 * lib/enroll_srv.c: a batch of requests is answered as if they came one
 * after the other, with one transaction for its issuances: of two
 * requests with one token in a batch exactly one issues and the other
 * finds the token used; the same request twice gets the same reply,
 * byte for byte; malformed and unknown requests in a batch get their own
 * answers; a commit that fails issues nothing and refuses every one
 * "later", and the tokens stay pending; pipelined batches (the next
 * signed before the last is committed) and batches signed by several
 * threads at once keep all of that.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static hm_ca		*ca;
static hm_signer	*root;
static hm_responder	*resp;

static int
setup(void **state)
{
	hm_err	err;

	(void)state;
	tu_root_ca("ca", "Enroll Srv Root", &ca, &root);
	HM_CHECK(hm_responder_new(ca, NULL, NULL, &resp, &err), &err);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	hm_responder_free(resp);
	hm_signer_free(root);
	hm_ca_close(ca);
	return 0;
}

/* A client's request: its key, its sealed bytes. */
struct cli {
	hm_key		*key;
	hm_enroll	*e;
	char		 tok[HM_TOKEN_LEN + 1];
};

static void
token(const char *name, char tok[HM_TOKEN_LEN + 1])
{
	hm_token_params	p;
	hm_err		err;

	memset(&p, 0, sizeof(p));
	p.name = name;
	p.profile = HM_PROFILE_CLIENT;
	HM_CHECK(hm_token_new(ca, &p, tok, NULL, &err), &err);
}

static void
cli_new(struct cli *c, const char *tok)
{
	hm_csr	*csr;
	hm_err	 err;

	memset(c, 0, sizeof(*c));
	snprintf(c->tok, sizeof(c->tok), "%s", tok);
	HM_CHECK(hm_key_generate(HM_KEY_P256, &c->key, &err), &err);
	HM_CHECK(hm_csr_new_any(c->key, NULL, NULL, &csr, &err), &err);
	HM_CHECK(hm_enroll_new(tok, csr, &c->e, &err), &err);
	hm_csr_free(csr);
}

static void
cli_free(struct cli *c)
{
	hm_enroll_free(c->e);
	hm_key_free(c->key);
}

static void
job_of(const struct cli *c, hm_enroll_job *j)
{
	memset(j, 0, sizeof(*j));
	j->req = hm_enroll_request(c->e, &j->len);
}

/* The status of j's reply to c: -1 issued, else the refusal's code. */
static int
outcome(const struct cli *c, const hm_enroll_job *j)
{
	struct hm_enroll_req	 h;
	struct hm_enroll_reply	 r;
	unsigned char		 id[HM_PSK_ID_LEN], psk[HM_PSK_LEN];
	unsigned char		 hash[HM_ENROLL_HASH_LEN];
	hm_err			 err;
	int			 rc;

	assert_int_equal(j->rc, HM_OK);
	assert_int_equal(j->http, 200);
	HM_CHECK(hm_token_parse(c->tok, id, psk, &err), &err);
	HM_CHECK(hm_enroll_req_parse(j->req, j->len, &h, &err), &err);
	HM_CHECK(hm_enroll_hash(j->req, j->len, hash, &err), &err);
	HM_CHECK(hm_enroll_rep_open(psk, id, h.nonce_c, hash, j->reply,
	    j->replylen, &r, &err), &err);
	rc = r.status == HM_ENROLL_ISSUED ? -1 : (int)r.code;
	hm_enroll_reply_clear(&r);
	return rc;
}

static int
count_cb(const hm_cert_info *ci, void *arg)
{
	(void)ci;
	(*(long *)arg)++;
	return 0;
}

static long
certs(void)
{
	hm_list_filter	f;
	hm_err		err;
	long		n = 0;

	memset(&f, 0, sizeof(f));
	HM_CHECK(hm_cert_list(ca, &f, count_cb, &n, &err), &err);
	return n;
}

static void
jobs_free(hm_enroll_job *j, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(j[i].reply);
}

/* One token, two requests in one batch: the first issues, not the other. */
static void
test_same_token(void **state)
{
	struct cli	a, b;
	hm_enroll_job	j[2];
	hm_err		err;
	char		tok[HM_TOKEN_LEN + 1];
	long		n = certs();

	(void)state;
	token("same", tok);
	cli_new(&a, tok);
	cli_new(&b, tok);
	job_of(&a, &j[0]);
	job_of(&b, &j[1]);
	HM_CHECK(hm_enroll_answer_batch(resp, j, 2, &err), &err);
	assert_int_equal(outcome(&a, &j[0]), -1);
	assert_int_equal(outcome(&b, &j[1]), HM_ENROLL_R_USED);
	assert_int_equal(certs(), n + 1);
	/* The winner's reply is the real thing. */
	HM_CHECK(hm_enroll_finish(a.e, a.key, j[0].reply, j[0].replylen,
	    &err), &err);
	jobs_free(j, 2);
	cli_free(&a);
	cli_free(&b);
}

/* The same request twice in one batch, and once more: one reply. */
static void
test_identical(void **state)
{
	struct cli	 a;
	hm_enroll_job	 j[3];
	unsigned char	*again;
	size_t		 len;
	hm_err		 err;
	char		 tok[HM_TOKEN_LEN + 1];
	long		 n = certs();
	int		 http;

	(void)state;
	token("twice", tok);
	cli_new(&a, tok);
	job_of(&a, &j[0]);
	job_of(&a, &j[1]);
	job_of(&a, &j[2]);
	HM_CHECK(hm_enroll_answer_batch(resp, j, 3, &err), &err);
	assert_int_equal(outcome(&a, &j[0]), -1);
	assert_int_equal(j[1].replylen, j[0].replylen);
	assert_memory_equal(j[1].reply, j[0].reply, j[0].replylen);
	assert_int_equal(j[2].replylen, j[0].replylen);
	assert_memory_equal(j[2].reply, j[0].reply, j[0].replylen);
	assert_int_equal(certs(), n + 1);
	HM_CHECK(hm_enroll_answer(resp, j[0].req, j[0].len, &again, &len,
	    &http, &err), &err);
	assert_int_equal(http, 200);
	assert_int_equal(len, j[0].replylen);
	assert_memory_equal(again, j[0].reply, len);
	free(again);
	jobs_free(j, 3);
	cli_free(&a);
}

/* Every kind of request in one batch, each with its own answer. */
static void
test_mixed(void **state)
{
	struct cli	 a, a2, b, c;
	hm_enroll_job	 j[7];
	unsigned char	 junk[300], flipped[HM_ENROLL_MAX];
	hm_err		 err;
	char		 ta[HM_TOKEN_LEN + 1], tb[HM_TOKEN_LEN + 1];
	char		 tc[HM_TOKEN_LEN + 1];
	long		 n = certs();

	(void)state;
	token("mix-a", ta);
	token("mix-b", tb);
	token("mix-c", tc);
	cli_new(&a, ta);
	cli_new(&a2, ta);
	cli_new(&b, tb);
	cli_new(&c, tc);
	memset(junk, 0x41, sizeof(junk));
	job_of(&a, &j[0]);
	memset(&j[1], 0, sizeof(j[1]));
	j[1].req = junk;
	j[1].len = sizeof(junk);
	job_of(&a2, &j[2]);
	job_of(&b, &j[3]);
	job_of(&a, &j[4]);
	/* c's request with its last byte (the tag's) flipped: 403. */
	job_of(&c, &j[5]);
	memcpy(flipped, j[5].req, j[5].len);
	flipped[j[5].len - 1] ^= 1;
	j[5].req = flipped;
	job_of(&c, &j[6]);
	HM_CHECK(hm_enroll_answer_batch(resp, j, 7, &err), &err);
	assert_int_equal(outcome(&a, &j[0]), -1);
	assert_int_equal(j[1].http, 400);
	assert_null(j[1].reply);
	assert_int_equal(outcome(&a2, &j[2]), HM_ENROLL_R_USED);
	assert_int_equal(outcome(&b, &j[3]), -1);
	assert_int_equal(j[4].replylen, j[0].replylen);
	assert_memory_equal(j[4].reply, j[0].reply, j[0].replylen);
	assert_int_equal(j[5].http, 403);
	assert_null(j[5].reply);
	/* The altered copy did not use c's token up. */
	assert_int_equal(outcome(&c, &j[6]), -1);
	assert_int_equal(certs(), n + 3);
	jobs_free(j, 7);
	cli_free(&a);
	cli_free(&a2);
	cli_free(&b);
	cli_free(&c);
}

static void *
sign_thread(void *arg)
{
	hm_enroll_batch_sign(arg);
	return NULL;
}

/*
 * hm_enroll_batch_open, then hm_enroll_batch_sign on three threads at
 * once: every request answered once and as if alone (a token's second
 * request waits for a later batch and finds it used; the same request
 * again gets the same reply), one certificate an issued reply.
 */
static void
test_cosigned(void **state)
{
	enum { NTOK = 12, NJOB = NTOK + 3 };
	struct cli	 c[NTOK + 1];
	hm_enroll_job	 j[NJOB];
	hm_enroll_batch	*b;
	pthread_t	 th[3];
	hm_err		 err;
	char		 tok[HM_TOKEN_LEN + 1], name[32];
	size_t		 i, left = NJOB, round;
	long		 n = certs();

	(void)state;
	for (i = 0; i < NTOK; i++) {
		snprintf(name, sizeof(name), "co-%zu", i);
		token(name, tok);
		cli_new(&c[i], tok);
		job_of(&c[i], &j[i]);
	}
	cli_new(&c[NTOK], c[0].tok);		/* token 0, another CSR */
	job_of(&c[NTOK], &j[NTOK]);
	job_of(&c[1], &j[NTOK + 1]);		/* request 1 again */
	job_of(&c[2], &j[NTOK + 2]);		/* request 2 again */
	for (round = 0; left > 0 && round < 4; round++) {
		HM_CHECK(hm_enroll_batch_open(resp, j, NJOB, &b, &err), &err);
		for (i = 0; i < 3; i++)
			assert_int_equal(pthread_create(&th[i], NULL,
			    sign_thread, b), 0);
		for (i = 0; i < 3; i++)
			assert_int_equal(pthread_join(th[i], NULL), 0);
		hm_enroll_batch_commit(b, NULL);
		HM_CHECK(hm_enroll_batch_finish(b, &left, &err), &err);
	}
	assert_int_equal(left, 0);
	for (i = 0; i < NTOK; i++)
		assert_int_equal(outcome(&c[i], &j[i]), -1);
	assert_int_equal(outcome(&c[NTOK], &j[NTOK]), HM_ENROLL_R_USED);
	for (i = 1; i <= 2; i++) {
		assert_int_equal(j[NTOK + i].replylen, j[i].replylen);
		assert_memory_equal(j[NTOK + i].reply, j[i].reply,
		    j[i].replylen);
	}
	assert_int_equal(certs(), n + NTOK);
	jobs_free(j, NJOB);
	for (i = 0; i <= NTOK; i++)
		cli_free(&c[i]);
}

static int
broken_commit(hm_store *st, hm_err *err)
{
	(void)st;
	return hm_seterr(err, HM_E_STORE, "store: disk I/O error");
}

/* A commit that fails: nothing issued, every one "later", still pending. */
static void
test_commit_fails(void **state)
{
	const struct hm_store_ops	*ops = ca->store->ops;
	struct hm_store_ops		 broken = *ops;
	struct cli			 a, b;
	hm_enroll_job			 j[2];
	hm_err				 err;
	char				 ta[HM_TOKEN_LEN + 1];
	char				 tb[HM_TOKEN_LEN + 1];
	long				 n = certs();

	(void)state;
	broken.commit = broken_commit;
	token("fail-a", ta);
	token("fail-b", tb);
	cli_new(&a, ta);
	cli_new(&b, tb);
	job_of(&a, &j[0]);
	job_of(&b, &j[1]);
	ca->store->ops = &broken;
	err.code = HM_OK;
	assert_int_equal(hm_enroll_answer_batch(resp, j, 2, &err), HM_OK);
	ca->store->ops = ops;
	assert_int_equal(outcome(&a, &j[0]), HM_ENROLL_R_LATER);
	assert_int_equal(outcome(&b, &j[1]), HM_ENROLL_R_LATER);
	assert_int_equal(certs(), n);
	jobs_free(j, 2);
	/* The same requests again, the store working: issued. */
	job_of(&a, &j[0]);
	job_of(&b, &j[1]);
	HM_CHECK(hm_enroll_answer_batch(resp, j, 2, &err), &err);
	assert_int_equal(outcome(&a, &j[0]), -1);
	assert_int_equal(outcome(&b, &j[1]), -1);
	assert_int_equal(certs(), n + 2);
	jobs_free(j, 2);
	cli_free(&a);
	cli_free(&b);
}

/*
 * Pipelined, as serve does it: the second batch is signed before the
 * first is committed, through a writer (a connection of its own), with
 * the first's token again.  The second batch's copy of the request gets
 * the first's reply; another request with that token finds it used.
 */
static void
test_pipelined(void **state)
{
	struct cli		 a, a2, b;
	hm_enroll_job		 j1[1], j2[3];
	hm_enroll_batch		*b1, *b2;
	hm_enroll_writer	*w;
	hm_err			 err;
	char			 ta[HM_TOKEN_LEN + 1], tb[HM_TOKEN_LEN + 1];
	size_t			 left;
	long			 n = certs();

	(void)state;
	HM_CHECK(hm_enroll_writer_new(resp, &w, &err), &err);
	token("pipe-a", ta);
	token("pipe-b", tb);
	cli_new(&a, ta);
	cli_new(&a2, ta);
	cli_new(&b, tb);
	job_of(&a, &j1[0]);
	job_of(&a, &j2[0]);
	job_of(&a2, &j2[1]);
	job_of(&b, &j2[2]);
	HM_CHECK(hm_enroll_batch_prepare(resp, j1, 1, &b1, &err), &err);
	HM_CHECK(hm_enroll_batch_prepare(resp, j2, 3, &b2, &err), &err);
	hm_enroll_batch_commit(b1, w);
	hm_enroll_batch_commit(b2, w);
	HM_CHECK(hm_enroll_batch_finish(b1, &left, &err), &err);
	assert_int_equal(left, 0);
	HM_CHECK(hm_enroll_batch_finish(b2, &left, &err), &err);
	/* a2's waits for a's of its batch: answered in the next. */
	assert_int_equal(left, 1);
	assert_int_equal(j2[1].http, 0);
	HM_CHECK(hm_enroll_batch_prepare(resp, j2, 3, &b2, &err), &err);
	hm_enroll_batch_commit(b2, w);
	HM_CHECK(hm_enroll_batch_finish(b2, &left, &err), &err);
	assert_int_equal(left, 0);
	assert_int_equal(outcome(&a, &j1[0]), -1);
	assert_int_equal(j2[0].replylen, j1[0].replylen);
	assert_memory_equal(j2[0].reply, j1[0].reply, j1[0].replylen);
	assert_int_equal(outcome(&a2, &j2[1]), HM_ENROLL_R_USED);
	assert_int_equal(outcome(&b, &j2[2]), -1);
	assert_int_equal(certs(), n + 2);
	jobs_free(j2, 3);
	/* The same request twice in one batch: the copy waits, then gets
	 * the first's reply. */
	token("pipe-c", tb);
	cli_free(&b);
	cli_new(&b, tb);
	job_of(&b, &j2[0]);
	job_of(&b, &j2[1]);
	HM_CHECK(hm_enroll_batch_prepare(resp, j2, 2, &b2, &err), &err);
	hm_enroll_batch_commit(b2, w);
	HM_CHECK(hm_enroll_batch_finish(b2, &left, &err), &err);
	assert_int_equal(left, 1);
	assert_int_equal(outcome(&b, &j2[0]), -1);
	assert_int_equal(j2[1].http, 0);
	assert_null(j2[1].reply);
	HM_CHECK(hm_enroll_batch_prepare(resp, j2, 2, &b2, &err), &err);
	hm_enroll_batch_commit(b2, w);
	HM_CHECK(hm_enroll_batch_finish(b2, &left, &err), &err);
	assert_int_equal(left, 0);
	assert_int_equal(j2[1].replylen, j2[0].replylen);
	assert_memory_equal(j2[1].reply, j2[0].reply, j2[0].replylen);
	assert_int_equal(certs(), n + 3);
	jobs_free(j1, 1);
	jobs_free(j2, 2);
	cli_free(&a);
	cli_free(&a2);
	cli_free(&b);
	hm_enroll_writer_free(w);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_token),
		cmocka_unit_test(test_identical),
		cmocka_unit_test(test_mixed),
		cmocka_unit_test(test_commit_fails),
		cmocka_unit_test(test_pipelined),
		cmocka_unit_test(test_cosigned),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
