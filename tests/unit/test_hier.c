/*
 * lib/hier.c: plan and apply a hierarchy file.  A fresh directory plans
 * everything as new; after applying, everything is kept; a lost file, a
 * key that no longer matches, a changed subject are each found; the
 * passphrase callback is asked what the file says, confirming new keys.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

static const char yaml[] =
    "defaults: {subject: {O: Test Org}}\n"
    "root:\n"
    "  subject: {CN: Hier Root}\n"
    "  pathlen: 1\n"
    "  passphrase_env: HIER_ROOT_PASS\n"
    "intermediates:\n"
    "  - {name: mid, parent: root, passphrase_env: HIER_MID_PASS}\n"
    "nodes:\n"
    "  - {name: web, profile: server, issuer: mid, sans: [dns:web.test]}\n"
    "  - {name: bot, profile: client, issuer: root, key_type: ed25519}\n";

struct asked {
	int	n, confirmed;
	char	last[96];
};

static int
pass_cb(const char *what, hm_pass_kind kind, const char *value, int confirm,
    char **pass, hm_err *err, void *arg)
{
	struct asked	*a = arg;

	(void)err;
	assert_int_equal(kind, HM_PASS_ENV);
	a->n++;
	a->confirmed += confirm;
	snprintf(a->last, sizeof(a->last), "%s", what);
	*pass = strdup(strcmp(value, "HIER_ROOT_PASS") == 0 ?
	    "root passphrase" : "mid passphrase");
	assert_non_null(*pass);
	return HM_OK;
}

/* Plan dir; assert the actions, in order, as a string like "CCCC". */
static void
plan_is(hm_hier *h, const char *dir, const char *want)
{
	const hm_step	*st;
	char		 got[16];
	size_t		 i, n;
	hm_err		 err;

	HM_CHECK(hm_hier_plan(h, dir, &st, &n, &err), &err);
	assert_true(n < sizeof(got));
	for (i = 0; i < n; i++)
		got[i] = " KCRU"[st[i].action];
	got[n] = '\0';
	if (strcmp(got, want) != 0)
		fail_msg("plan %s, want %s", got, want);
}

static hm_hier *
load(const char *text)
{
	hm_hier	*h = NULL;
	hm_err	 err;

	tu_write(tu_path("hier.yaml"), text, strlen(text));
	HM_CHECK(hm_hier_load(tu_path("hier.yaml"), &h, &err), &err);
	return h;
}

static void
test_build_keep_mend(void **state)
{
	struct asked	 a = { 0, 0, "" };
	hm_hier		*h;
	hm_err		 err;
	char		 dir[512], web[512], webkey[512];
	const hm_step	*st;
	size_t		 n;

	(void)state;
	snprintf(dir, sizeof(dir), "%s", tu_path("ca"));
	snprintf(web, sizeof(web), "%s", tu_path("nodes/web/cert.pem"));
	snprintf(webkey, sizeof(webkey), "%s", tu_path("nodes/web/key.pem"));
	h = load(yaml);
	/* Apply needs a plan for the same directory. */
	assert_int_equal(hm_hier_apply(h, dir, pass_cb, &a, &err),
	    HM_E_INVALID);
	plan_is(h, dir, "CCCC");
	assert_int_equal(access(dir, F_OK), -1);	/* planning reads only */
	HM_CHECK(hm_hier_apply(h, dir, pass_cb, &a, &err), &err);
	/* Root and mid: a new key each (confirmed), then mid unlocked. */
	assert_true(a.n >= 3);
	assert_int_equal(a.confirmed, 2);
	plan_is(h, dir, "KKKK");
	assert_int_equal(tu_sh("openssl verify -x509_strict -purpose sslserver "
	    "-CAfile '%s' -untrusted '%s' '%s' >/dev/null",
	    tu_path("nodes/web/ca.pem"), tu_path("nodes/web/chain.pem"), web),
	    0);
	assert_int_equal(tu_sh("openssl verify -x509_strict -purpose sslclient "
	    "-CAfile '%s' '%s' >/dev/null", tu_path("nodes/bot/ca.pem"),
	    tu_path("nodes/bot/cert.pem")), 0);

	/* A lost certificate is made again, with the key that is there. */
	assert_int_equal(unlink(web), 0);
	plan_is(h, dir, "KKCK");
	HM_CHECK(hm_hier_apply(h, dir, pass_cb, &a, &err), &err);
	assert_int_equal(tu_sh("openssl x509 -in '%s' -noout -pubkey > '%s' && "
	    "openssl pkey -in '%s' -pubout | cmp -s - '%s'", web,
	    tu_path("pub1"), webkey, tu_path("pub1")), 0);
	plan_is(h, dir, "KKKK");

	/* A key that no longer matches its certificate: re-issued. */
	assert_int_equal(tu_sh("openssl genpkey -algorithm ec -pkeyopt "
	    "ec_paramgen_curve:P-256 -out '%s.new' && mv '%s.new' '%s'",
	    webkey, webkey, webkey), 0);
	HM_CHECK(hm_hier_plan(h, dir, &st, &n, &err), &err);
	assert_int_equal(st[2].action, HM_STEP_REISSUE);
	assert_string_equal(st[2].why, "key and certificate differ");
	HM_CHECK(hm_hier_apply(h, dir, pass_cb, &a, &err), &err);
	plan_is(h, dir, "KKKK");
	hm_hier_free(h);

	/* Another organisation for everything, the root included. */
	{
		char	*y = strdup(yaml), *p;

		assert_non_null(y);
		p = strstr(y, "Test Org");
		memcpy(p, "Test Orh", 8);
		h = load(y);
		free(y);
	}
	/* The root's subject changed too: that is refused, never replaced. */
	assert_int_equal(hm_hier_plan(h, dir, &st, &n, &err), HM_E_POLICY);
	assert_non_null(strstr(err.msg, "hier.yaml:3:3: the root"));
	assert_non_null(strstr(err.msg, "never replaces a root"));
	hm_hier_free(h);
}

static void
test_reissue_ca_updates_chains(void **state)
{
	struct asked	 a = { 0, 0, "" };
	hm_hier		*h;
	hm_err		 err;
	const hm_step	*st;
	size_t		 n;
	char		 dir[512], *y, *p;

	(void)state;
	snprintf(dir, sizeof(dir), "%s", tu_path("ca2"));
	h = load(yaml);
	plan_is(h, dir, "CCCC");
	HM_CHECK(hm_hier_apply(h, dir, pass_cb, &a, &err), &err);
	hm_hier_free(h);
	/* mid gets an OU of its own. */
	y = malloc(sizeof(yaml) + 64);
	assert_non_null(y);
	p = strstr(yaml, "{name: mid, parent: root,");
	snprintf(y, sizeof(yaml) + 64, "%.*s{name: mid, subject: {OU: mids}, "
	    "parent: root,%s", (int)(p - yaml), yaml,
	    p + strlen("{name: mid, parent: root,"));
	h = load(y);
	free(y);
	HM_CHECK(hm_hier_plan(h, dir, &st, &n, &err), &err);
	assert_int_equal(n, 4);
	assert_int_equal(st[1].action, HM_STEP_REISSUE);
	assert_string_equal(st[1].why, "subject changed");
	/* web's certificate names mid's old subject as its issuer. */
	assert_int_equal(st[2].action, HM_STEP_REISSUE);
	assert_string_equal(st[2].why, "its issuer's subject changed");
	assert_int_equal(st[3].action, HM_STEP_KEEP);		/* bot, root */
	HM_CHECK(hm_hier_apply(h, dir, pass_cb, &a, &err), &err);
	plan_is(h, dir, "KKKK");
	assert_int_equal(tu_sh("openssl verify -x509_strict -purpose sslserver "
	    "-CAfile '%s' -untrusted '%s' '%s' >/dev/null",
	    tu_path("nodes/web/ca.pem"), tu_path("nodes/web/chain.pem"),
	    tu_path("nodes/web/cert.pem")), 0);
	assert_int_equal(tu_sh("openssl x509 -in '%s' -noout -subject | "
	    "grep -q 'OU = mids'", tu_path("ca2/ca/mid/cert.pem")), 0);
	hm_hier_free(h);
}

/* Another key type for a node: a new key of that type, not the old. */
static void
test_key_type_changed(void **state)
{
	struct asked	 a = { 0, 0, "" };
	hm_hier		*h;
	hm_key		*k = NULL;
	hm_err		 err;
	const hm_step	*st;
	size_t		 n;
	char		 dir[512], *y, *p;

	(void)state;
	snprintf(dir, sizeof(dir), "%s", tu_path("ca4"));
	h = load(yaml);
	plan_is(h, dir, "CCCC");
	HM_CHECK(hm_hier_apply(h, dir, pass_cb, &a, &err), &err);
	hm_hier_free(h);
	assert_non_null(y = strdup(yaml));
	p = strstr(y, "key_type: ed25519");
	assert_non_null(p);
	memcpy(p, "key_type: p384   ", 17);
	h = load(y);
	free(y);
	HM_CHECK(hm_hier_plan(h, dir, &st, &n, &err), &err);
	assert_int_equal(st[3].action, HM_STEP_REISSUE);
	assert_string_equal(st[3].why, "key type changed");
	HM_CHECK(hm_hier_apply(h, dir, pass_cb, &a, &err), &err);
	HM_CHECK(hm_key_load(tu_path("nodes/bot/key.pem"), NULL, &k, &err),
	    &err);
	assert_int_equal(hm_key_type(k), HM_KEY_P384);
	hm_key_free(k);
	plan_is(h, dir, "KKKK");
	hm_hier_free(h);
}

/* Without a way to the passphrase the file names, nothing is made. */
static void
test_no_passphrase(void **state)
{
	hm_hier	*h;
	hm_err	 err;
	char	 dir[512];

	(void)state;
	snprintf(dir, sizeof(dir), "%s", tu_path("ca3"));
	h = load(yaml);
	plan_is(h, dir, "CCCC");
	assert_int_equal(hm_hier_apply(h, dir, NULL, NULL, &err),
	    HM_E_PASSPHRASE);
	assert_int_equal(access(dir, F_OK), -1);
	hm_hier_free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_keep_mend),
		cmocka_unit_test(test_reissue_ca_updates_chains),
		cmocka_unit_test(test_key_type_changed),
		cmocka_unit_test(test_no_passphrase),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
