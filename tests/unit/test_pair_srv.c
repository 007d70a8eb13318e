/*
 * lib/pair_srv.c, the operator's side: a waiting pairing approved with
 * its code becomes a pending token holding its PSK under its id; a wrong
 * code drops it (one guess); expired, committed, approved and dropped
 * pairings can't be approved; reject drops; the list never shows a code.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static hm_ca		*ca;
static hm_signer	*root;

static int
setup(void **state)
{
	(void)state;
	tu_root_ca("ca", "Pair Root", &ca, &root);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	hm_signer_free(root);
	hm_ca_close(ca);
	return 0;
}

/* A pairing in state st, its id "000...0n", code "123456". */
static void
put(int n, int st, const char *profile, time_t expires)
{
	struct hm_pair_rec	 r;
	/* Bodies differ: a replayed commit is refused by the store. */
	unsigned char		 b[5] = { 'H', 'M', 'P', 'C', (unsigned char)n };
	hm_store		*s = ca->store;
	hm_err			 err;

	memset(&r, 0, sizeof(r));
	snprintf(r.info.id, sizeof(r.info.id), "%032d", n);
	snprintf(r.info.name, sizeof(r.info.name), "node-%d", n);
	snprintf(r.info.profile, sizeof(r.info.profile), "%s", profile);
	snprintf(r.info.source, sizeof(r.info.source), "192.0.2.%d", n);
	r.info.created_at = time(NULL);
	r.info.expires_at = expires;
	memset(r.sk, 9, sizeof(r.sk));
	r.commit = r.accept = b;
	r.commitlen = r.acceptlen = sizeof(b);
	HM_CHECK(s->ops->begin(s, &err), &err);
	HM_CHECK(s->ops->pair_insert(s, &r, &err), &err);
	if (st >= HM_PAIR_REVEALED) {
		r.reveal = b;
		r.reveallen = sizeof(b);
		memset(r.psk, n, sizeof(r.psk));
		memset(r.psk_id, n, sizeof(r.psk_id));
		snprintf(r.sas, sizeof(r.sas), "123456");
		HM_CHECK(s->ops->pair_reveal(s, &r, &err), &err);
	}
	if (st > HM_PAIR_REVEALED)
		HM_CHECK(s->ops->pair_move(s, r.info.id, HM_PAIR_REVEALED, st,
		    NULL, &err), &err);
	HM_CHECK(s->ops->commit(s, &err), &err);
}

static const char *
id_of(int n)
{
	static char	buf[33];

	snprintf(buf, sizeof(buf), "%032d", n);
	return buf;
}

static int
find_cb(const hm_pair_info *pi, void *arg)
{
	hm_pair_info	*want = arg;

	if (strcmp(pi->id, want->id) == 0) {
		*want = *pi;
		return 1;
	}
	return 0;
}

static const char *
state_of(int n)
{
	static hm_pair_info	pi;
	hm_err			err;

	memset(&pi, 0, sizeof(pi));
	snprintf(pi.id, sizeof(pi.id), "%s", id_of(n));
	assert_int_equal(hm_pair_list(ca, find_cb, &pi, &err), 1);
	return pi.state;
}

static void
test_approve(void **state)
{
	struct hm_token_rec	 tr;
	hm_token_info		 ti;
	hm_err			 err;
	time_t			 later = time(NULL) + 300;

	(void)state;
	put(1, HM_PAIR_REVEALED, "client", later);
	assert_string_equal(state_of(1), "waiting");
	HM_CHECK(hm_pair_approve(ca, id_of(1), "123456", NULL, NULL, &ti,
	    &err), &err);
	assert_string_equal(state_of(1), "approved");
	assert_string_equal(ti.name, "node-1");
	assert_string_equal(ti.profile, "client");
	assert_string_equal(ti.id, "01010101010101010101");
	HM_CHECK(ca->store->ops->token_get(ca->store, ti.id, &tr, &err),
	    &err);
	assert_int_equal(tr.state, HM_TOKEN_PENDING);
	assert_true(tr.has_psk);
	assert_int_equal(tr.psk[0], 1);
	assert_int_equal(tr.psk[31], 1);
	hm_token_rec_clear(&tr);
	/* The pairing keeps no secret once done. */
	{
		struct hm_pair_rec	pr;

		HM_CHECK(ca->store->ops->pair_get(ca->store, id_of(1), &pr,
		    &err), &err);
		assert_false(pr.has_psk);
		assert_false(pr.has_sk);
		assert_string_equal(pr.sas, "");
		assert_string_equal(pr.info.token, ti.id);
		hm_pair_rec_clear(&pr);
	}
	/* Once. */
	assert_int_equal(hm_pair_approve(ca, id_of(1), "123456", NULL, NULL,
	    NULL, &err), HM_E_POLICY);
	/* A server pairing gets its name as a DNS SAN by default. */
	put(2, HM_PAIR_REVEALED, "server", later);
	HM_CHECK(hm_pair_approve(ca, id_of(2), "123456", NULL, NULL, &ti,
	    &err), &err);
	assert_string_equal(ti.sans, "dns:node-2");
}

static void
test_wrong_code(void **state)
{
	hm_err	err;
	time_t	later = time(NULL) + 300;

	(void)state;
	put(3, HM_PAIR_REVEALED, "client", later);
	assert_int_equal(hm_pair_approve(ca, id_of(3), "123457", NULL, NULL,
	    NULL, &err), HM_E_POLICY);
	assert_non_null(strstr(err.msg, "does not match"));
	assert_string_equal(state_of(3), "dropped");
	/* One guess: the right code afterwards does nothing. */
	assert_int_equal(hm_pair_approve(ca, id_of(3), "123456", NULL, NULL,
	    NULL, &err), HM_E_POLICY);
	/* Malformed codes and ids are refused before any lookup. */
	put(4, HM_PAIR_REVEALED, "client", later);
	assert_int_equal(hm_pair_approve(ca, id_of(4), "12345", NULL, NULL,
	    NULL, &err), HM_E_INVALID);
	assert_int_equal(hm_pair_approve(ca, id_of(4), "1234567", NULL, NULL,
	    NULL, &err), HM_E_INVALID);
	assert_int_equal(hm_pair_approve(ca, id_of(4), "12a456", NULL, NULL,
	    NULL, &err), HM_E_INVALID);
	assert_int_equal(hm_pair_approve(ca, "xyz", "123456", NULL, NULL,
	    NULL, &err), HM_E_INVALID);
	assert_string_equal(state_of(4), "waiting");
	assert_int_equal(hm_pair_approve(ca, id_of(99), "123456", NULL, NULL,
	    NULL, &err), HM_E_NOTFOUND);
}

static void
test_not_waiting(void **state)
{
	hm_names	*sans = hm_names_new();
	hm_err		 err;
	time_t		 later = time(NULL) + 300;

	(void)state;
	put(5, HM_PAIR_COMMITTED, "client", later);
	assert_int_equal(hm_pair_approve(ca, id_of(5), "123456", NULL, NULL,
	    NULL, &err), HM_E_POLICY);
	assert_string_equal(state_of(5), "committed");
	put(6, HM_PAIR_REVEALED, "client", time(NULL) - 1);
	assert_int_equal(hm_pair_approve(ca, id_of(6), "123456", NULL, NULL,
	    NULL, &err), HM_E_POLICY);
	assert_non_null(strstr(err.msg, "expired"));
	assert_string_equal(state_of(6), "expired");
	/* A server name that is no DNS name needs --san. */
	put(7, HM_PAIR_REVEALED, "server", later);
	snprintf(err.msg, sizeof(err.msg), "%s", "");
	HM_CHECK(hm_names_add(sans, "dns:seven.example", &err), &err);
	HM_CHECK(hm_pair_approve(ca, id_of(7), "123456", NULL, sans, NULL,
	    &err), &err);
	hm_names_free(sans);
}

static void
test_reject(void **state)
{
	hm_err	err;
	time_t	later = time(NULL) + 300;

	(void)state;
	put(8, HM_PAIR_COMMITTED, "client", later);
	HM_CHECK(hm_pair_reject(ca, id_of(8), &err), &err);
	assert_string_equal(state_of(8), "dropped");
	assert_int_equal(hm_pair_reject(ca, id_of(8), &err), HM_E_POLICY);
	put(9, HM_PAIR_REVEALED, "client", later);
	HM_CHECK(hm_pair_reject(ca, id_of(9), &err), &err);
	assert_int_equal(hm_pair_approve(ca, id_of(9), "123456", NULL, NULL,
	    NULL, &err), HM_E_POLICY);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_approve),
		cmocka_unit_test(test_wrong_code),
		cmocka_unit_test(test_not_waiting),
		cmocka_unit_test(test_reject),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
