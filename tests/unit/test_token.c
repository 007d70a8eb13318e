/*
 * lib/token.c: a token is 77 characters of the documented form, stored
 * pending with its scope and a PSK; the scope is checked as issuance
 * will check it; revoked and expired tokens say so; pending tokens are
 * bounded; PSKs are wiped a day after expiry; the store refuses a second
 * use of one token.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

static hm_ca		*ca;
static hm_signer	*root;

static int
setup(void **state)
{
	(void)state;
	tu_root_ca("ca", "Token Root", &ca, &root);
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

static int
find_cb(const hm_token_info *ti, void *arg)
{
	hm_token_info	*want = arg;

	if (strcmp(ti->id, want->id) == 0) {
		*want = *ti;
		return 1;
	}
	return 0;
}

/* The listed state of token id. */
static const char *
state_of(const char *id)
{
	static hm_token_info	ti;
	hm_err			err;

	memset(&ti, 0, sizeof(ti));
	snprintf(ti.id, sizeof(ti.id), "%s", id);
	assert_int_equal(hm_token_list(ca, find_cb, &ti, &err), 1);
	return ti.state;
}

static void
test_new(void **state)
{
	hm_token_params		 p;
	hm_token_info		 ti;
	struct hm_token_rec	 r;
	hm_names		*sans = hm_names_new();
	char			 tok[HM_TOKEN_LEN + 1], tok2[HM_TOKEN_LEN + 1];
	hm_err			 err;
	size_t			 i;

	(void)state;
	HM_CHECK(hm_names_add(sans, "dns:web1.example", &err), &err);
	memset(&p, 0, sizeof(p));
	p.name = "web1";
	p.profile = HM_PROFILE_SERVER;
	p.sans = sans;
	HM_CHECK(hm_token_new(ca, &p, tok, &ti, &err), &err);
	assert_int_equal(strlen(tok), HM_TOKEN_LEN);
	assert_memory_equal(tok, "hm1-", 4);
	assert_int_equal(tok[20], '-');
	for (i = 4; i < HM_TOKEN_LEN; i++)
		assert_true(i == 20 || (tok[i] >= 'a' && tok[i] <= 'z') ||
		    (tok[i] >= '2' && tok[i] <= '7'));
	assert_int_equal(strlen(ti.id), HM_TOKEN_ID_LEN);
	assert_string_equal(ti.ca, "root");
	assert_string_equal(ti.profile, "server");
	assert_string_equal(ti.sans, "dns:web1.example");
	assert_true(ti.expires_at - ti.created_at == HM_TOKEN_TTL);
	assert_string_equal(state_of(ti.id), "pending");
	/* The store keeps the PSK that the token carries, and no reply. */
	HM_CHECK(ca->store->ops->token_get(ca->store, ti.id, &r, &err), &err);
	assert_true(r.has_psk);
	assert_int_equal(r.state, HM_TOKEN_PENDING);
	assert_null(r.reply);
	{
		unsigned char	id[HM_PSK_ID_LEN];

		for (i = 0; i < HM_PSK_ID_LEN; i++) {
			unsigned	b;

			assert_int_equal(sscanf(ti.id + 2 * i, "%2x", &b), 1);
			id[i] = (unsigned char)b;
		}
		hm_token_format(id, r.psk, tok2);
		assert_string_equal(tok, tok2);
	}
	hm_token_rec_clear(&r);
	/* Two tokens never share a PSK or an id. */
	HM_CHECK(hm_token_new(ca, &p, tok2, NULL, &err), &err);
	assert_string_not_equal(tok, tok2);
	assert_memory_not_equal(tok, tok2, 20);
	hm_names_free(sans);
}

static void
test_scope(void **state)
{
	hm_token_params	 p;
	hm_names	*sans = hm_names_new(), *wild = hm_names_new();
	char		 tok[HM_TOKEN_LEN + 1];
	hm_err		 err;

	(void)state;
	HM_CHECK(hm_names_add(wild, "dns:*.example", &err), &err);
	memset(&p, 0, sizeof(p));
	p.name = "web1";
	p.profile = HM_PROFILE_SERVER;
	p.sans = sans;
	assert_int_equal(hm_token_new(ca, &p, tok, NULL, &err), HM_E_POLICY);
	assert_non_null(strstr(err.msg, "subject alternative name"));
	p.profile = HM_PROFILE_CLIENT;
	HM_CHECK(hm_token_new(ca, &p, tok, NULL, &err), &err);
	p.sans = wild;
	assert_int_equal(hm_token_new(ca, &p, tok, NULL, &err), HM_E_POLICY);
	p.sans = sans;
	p.profile = HM_PROFILE_ROOT;
	assert_int_equal(hm_token_new(ca, &p, tok, NULL, &err),
	    HM_E_INVALID);
	p.profile = HM_PROFILE_CLIENT;
	p.ca = "nosuch";
	assert_int_equal(hm_token_new(ca, &p, tok, NULL, &err),
	    HM_E_NOTFOUND);
	p.ca = NULL;
	p.name = NULL;
	assert_int_equal(hm_token_new(ca, &p, tok, NULL, &err),
	    HM_E_INVALID);
	p.name = "web1";
	p.ttl = HM_TOKEN_TTL_MAX + 1;
	assert_int_equal(hm_token_new(ca, &p, tok, NULL, &err),
	    HM_E_INVALID);
	hm_names_free(sans);
	hm_names_free(wild);
}

static void
test_revoke_expire(void **state)
{
	hm_token_params		 p;
	hm_token_info		 a, b;
	char			 tok[HM_TOKEN_LEN + 1], upper[32];
	hm_err			 err;
	size_t			 i;

	(void)state;
	memset(&p, 0, sizeof(p));
	p.name = "robot";
	p.profile = HM_PROFILE_CLIENT;
	HM_CHECK(hm_token_new(ca, &p, tok, &a, &err), &err);
	p.ttl = 1;
	HM_CHECK(hm_token_new(ca, &p, tok, &b, &err), &err);
	for (i = 0; a.id[i] != '\0'; i++)
		upper[i] = (char)(a.id[i] >= 'a' ? a.id[i] - 32 : a.id[i]);
	upper[i] = '\0';
	HM_CHECK(hm_token_revoke(ca, upper, &err), &err);
	assert_string_equal(state_of(a.id), "revoked");
	assert_int_equal(hm_token_revoke(ca, a.id, &err), HM_E_POLICY);
	assert_non_null(strstr(err.msg, "revoked, not pending"));
	assert_int_equal(hm_token_revoke(ca, "00000000000000000000", &err),
	    HM_E_NOTFOUND);
	assert_int_equal(hm_token_revoke(ca, "0000", &err), HM_E_INVALID);
	assert_int_equal(hm_token_revoke(ca, "0000000000000000000g", &err),
	    HM_E_INVALID);
	sleep(2);
	assert_string_equal(state_of(b.id), "expired");
}

/* Used once: the store refuses a second use, and keeps the first. */
static void
test_use_once(void **state)
{
	hm_token_params		 p;
	hm_token_info		 a;
	struct hm_token_rec	 r, got;
	hm_store		*st = ca->store;
	unsigned char		 reply[] = { 1, 2, 3 };
	char			 tok[HM_TOKEN_LEN + 1];
	hm_err			 err;

	(void)state;
	memset(&p, 0, sizeof(p));
	p.name = "robot";
	p.profile = HM_PROFILE_CLIENT;
	HM_CHECK(hm_token_new(ca, &p, tok, &a, &err), &err);
	memset(&r, 0, sizeof(r));
	r.info = a;
	r.info.used_at = a.created_at + 1;
	snprintf(r.info.serial, sizeof(r.info.serial), "0abc");
	memset(r.req_hash, 0x5a, sizeof(r.req_hash));
	r.reply = reply;
	r.replylen = sizeof(reply);
	HM_CHECK(st->ops->begin(st, &err), &err);
	HM_CHECK(st->ops->token_use(st, &r, &err), &err);
	HM_CHECK(st->ops->commit(st, &err), &err);
	HM_CHECK(st->ops->begin(st, &err), &err);
	assert_int_equal(st->ops->token_use(st, &r, &err), HM_E_EXISTS);
	st->ops->rollback(st);
	HM_CHECK(st->ops->token_get(st, a.id, &got, &err), &err);
	assert_int_equal(got.state, HM_TOKEN_USED);
	assert_true(got.has_hash);
	assert_memory_equal(got.req_hash, r.req_hash, 32);
	assert_int_equal(got.replylen, sizeof(reply));
	assert_memory_equal(got.reply, reply, sizeof(reply));
	assert_string_equal(got.info.serial, "0abc");
	hm_token_rec_clear(&got);
	assert_string_equal(state_of(a.id), "used");
	assert_int_equal(hm_token_revoke(ca, a.id, &err), HM_E_POLICY);
}

/* At most HM_TOKENS_PENDING_MAX pending; old PSKs wiped. */
static void
test_bounds(void **state)
{
	hm_token_params		 p;
	struct hm_token_rec	 r, got;
	hm_store		*st = ca->store;
	int64_t			 n;
	char			 tok[HM_TOKEN_LEN + 1];
	hm_err			 err;
	time_t			 now = time(NULL);
	int			 i;

	(void)state;
	/* An old token, expired two days ago: its PSK goes. */
	memset(&r, 0, sizeof(r));
	snprintf(r.info.id, sizeof(r.info.id), "%020d", 1);
	snprintf(r.info.ca, sizeof(r.info.ca), "root");
	snprintf(r.info.name, sizeof(r.info.name), "old");
	snprintf(r.info.profile, sizeof(r.info.profile), "client");
	r.info.created_at = now - 3 * 86400;
	r.info.expires_at = now - 2 * 86400;
	memset(r.psk, 7, sizeof(r.psk));
	HM_CHECK(st->ops->begin(st, &err), &err);
	HM_CHECK(st->ops->token_insert(st, &r, &err), &err);
	assert_int_equal(st->ops->token_insert(st, &r, &err), HM_E_EXISTS);
	HM_CHECK(st->ops->token_pending(st, now, &n, &err), &err);
	r.info.expires_at = now + 3600;
	for (i = (int)n; i < HM_TOKENS_PENDING_MAX; i++) {
		snprintf(r.info.id, sizeof(r.info.id), "%020d", 100 + i);
		HM_CHECK(st->ops->token_insert(st, &r, &err), &err);
	}
	HM_CHECK(st->ops->commit(st, &err), &err);
	memset(&p, 0, sizeof(p));
	p.name = "robot";
	p.profile = HM_PROFILE_CLIENT;
	assert_int_equal(hm_token_new(ca, &p, tok, NULL, &err), HM_E_POLICY);
	assert_non_null(strstr(err.msg, "pending already"));
	/* Refused and rolled back; a revocation makes room, and the next
	 * token wipes the old PSK on its way in. */
	snprintf(r.info.id, sizeof(r.info.id), "%020d", 100 +
	    HM_TOKENS_PENDING_MAX - 1);
	HM_CHECK(hm_token_revoke(ca, r.info.id, &err), &err);
	HM_CHECK(hm_token_new(ca, &p, tok, NULL, &err), &err);
	snprintf(r.info.id, sizeof(r.info.id), "%020d", 1);
	HM_CHECK(st->ops->token_get(st, r.info.id, &got, &err), &err);
	assert_false(got.has_psk);
	hm_token_rec_clear(&got);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new),
		cmocka_unit_test(test_scope),
		cmocka_unit_test(test_revoke_expire),
		cmocka_unit_test(test_use_once),
		cmocka_unit_test(test_bounds),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
