/*
 * lib/schedule.c: the signer timeline covers the whole lead window with
 * the overlap left at every instant, over years of simulated dates; a
 * second plan finds nothing to do; a validity too short, or a window
 * past the root's life, is refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "testutil.h"

#define DAY	86400LL

struct signers {
	hm_ca_info	v[256];
	size_t		n;
};

static int
collect(const hm_ca_info *ci, void *arg)
{
	struct signers	*s = arg;

	if (strncmp(ci->name, "signer-", 7) == 0 && s->n < 256)
		s->v[s->n++] = *ci;
	return 0;
}

/* The signers of the store, from their certificates' dates. */
static void
store_signers(hm_ca *ca, struct signers *s)
{
	hm_err	err;

	s->n = 0;
	HM_CHECK(hm_ca_list(ca, collect, s, &err), &err);
}

/* Some signer of s is valid at t with at least overlap left. */
static int
covers(const struct signers *s, time_t t, int64_t overlap)
{
	size_t	i;

	for (i = 0; i < s->n; i++)
		if (s->v[i].not_before <= t && s->v[i].not_after - t >= overlap)
			return 1;
	return 0;
}

static void
assert_covers(const struct signers *s, time_t t, int64_t overlap,
    time_t now)
{
	if (!covers(s, t, overlap))
		fail_msg("now %lld: no signer at %lld (now + %lld s) with "
		    "%lld s left (%zu signers)", (long long)now, (long long)t,
		    (long long)(t - now), (long long)overlap, s->n);
}

/*
 * Coverage of [now, now + lead] by what the store holds: every 6 hours,
 * the edges, and both sides of every signer's start and of every
 * instant where one runs short of the overlap.
 */
static void
check_window(hm_ca *ca, time_t now, const hm_sched_params *p)
{
	struct signers	s;
	time_t		t, end = now + p->lead, e;
	size_t		i;
	int		d;

	store_signers(ca, &s);
	for (t = now; t < end; t += 6 * 3600)
		assert_covers(&s, t, p->overlap, now);
	assert_covers(&s, now, p->overlap, now);
	assert_covers(&s, end, p->overlap, now);
	for (i = 0; i < s.n; i++)
		for (d = -1; d <= 1; d++) {
			e = s.v[i].not_before + d;
			if (e >= now && e <= end)
				assert_covers(&s, e, p->overlap, now);
			e = s.v[i].not_after - p->overlap + d;
			if (e >= now && e <= end)
				assert_covers(&s, e, p->overlap, now);
		}
	/* Never past the root. */
	for (i = 0; i < s.n; i++) {
		hm_ca_info	r;
		hm_err		err;

		HM_CHECK(hm_ca_get_info(ca, NULL, &r, &err), &err);
		assert_true(s.v[i].not_after <= r.not_after);
		assert_true(s.v[i].not_before >= r.not_before);
	}
}

static hm_ca *
new_ca(const char *name, int64_t validity, hm_signer **root)
{
	hm_ca_params	 p;
	hm_ca		*ca;
	hm_err		 err;

	memset(&p, 0, sizeof(p));
	p.cn = name;
	p.pathlen = -1;
	p.validity = validity;
	HM_CHECK(hm_ca_init(tu_path(name), &p, &ca, &err), &err);
	HM_CHECK(hm_ca_signer(ca, NULL, NULL, root, &err), &err);
	return ca;
}

/* Plan and apply at now; then a plan at the same now has nothing to do. */
static size_t
run_at(hm_ca *ca, hm_signer *root, const hm_sched_params *p, time_t now)
{
	hm_sched	*s;
	hm_err		 err;
	size_t		 made = 0, i, todo;

	HM_CHECK(hm_sched_plan(ca, p, now, &s, &err), &err);
	todo = hm_sched_todo(s);
	for (i = 0; i < hm_sched_count(s); i++)
		if (i > 0)
			assert_true(hm_sched_get(s, i - 1)->not_before <=
			    hm_sched_get(s, i)->not_before);
	assert_null(hm_sched_get(s, hm_sched_count(s)));
	HM_CHECK(hm_sched_apply(ca, root, s, NULL, &made, &err), &err);
	assert_int_equal(made, todo);
	hm_sched_free(s);
	HM_CHECK(hm_sched_plan(ca, p, now, &s, &err), &err);
	assert_int_equal(hm_sched_todo(s), 0);
	hm_sched_free(s);
	return made;
}

/*
 * Sweep: quarterly signers, lead 2y, runs every 9 days (and an odd
 * number of seconds) for 3 years from now; after each run the whole
 * window is covered.
 */
static void
sweep(const char *name, const hm_sched_params *p, int days, int step)
{
	hm_signer	*root;
	hm_ca		*ca = new_ca(name, 10 * 365 * DAY, &root);
	struct signers	 s;
	time_t		 start = time(NULL), now;
	size_t		 total = 0;
	int		 i;

	for (i = 0; i <= days; i += step) {
		now = start + (time_t)i * DAY + i * 37;
		total += run_at(ca, root, p, now);
		check_window(ca, now, p);
	}
	/* One a quarter over the lead plus the sweep, give or take one. */
	store_signers(ca, &s);
	assert_int_equal(s.n, total);
	assert_in_range(total, (size_t)((days + 730) / 92),
	    (size_t)((days + 730) / 89 + 2));
	hm_signer_free(root);
	hm_ca_close(ca);
}

static void
test_covers_quarterly(void **state)
{
	hm_sched_params	p;

	(void)state;
	memset(&p, 0, sizeof(p));
	p.quantum = 4;
	p.lead = 2 * 365 * DAY;
	p.validity = 365 * DAY;
	p.overlap = 90 * DAY;
	sweep("quarterly", &p, 3 * 365, 9);
}

/*
 * The tightest validity allowed: the longest quarter (92 days) plus the
 * overlap.  A check on a year's quarter (91.25 days) would leave gaps.
 */
static void
test_covers_tight(void **state)
{
	hm_sched_params	p;

	(void)state;
	memset(&p, 0, sizeof(p));
	p.quantum = 4;
	p.lead = 2 * 365 * DAY;
	p.validity = 122 * DAY;
	p.overlap = 30 * DAY;
	sweep("tight", &p, 2 * 365, 5);
}

static void
test_covers_monthly(void **state)
{
	hm_sched_params	p;
	hm_signer	*root;
	hm_ca		*ca;
	time_t		 now = time(NULL);
	int		 i;

	(void)state;
	memset(&p, 0, sizeof(p));
	p.quantum = 12;
	p.lead = 365 * DAY;
	p.validity = 61 * DAY;
	p.overlap = 30 * DAY;
	ca = new_ca("monthly", 10 * 365 * DAY, &root);
	for (i = 0; i < 400; i += 11) {
		run_at(ca, root, &p, now + i * DAY);
		check_window(ca, now + i * DAY, &p);
	}
	hm_signer_free(root);
	hm_ca_close(ca);
}

/* Names from the slot's start, dates on the grid: a plan for a date. */
static void
test_names_and_grid(void **state)
{
	hm_sched_params	 p;
	hm_signer	*root;
	hm_ca		*ca = new_ca("grid", 10 * 365 * DAY, &root);
	hm_sched	*s;
	const hm_sched_entry *e;
	hm_err		 err;
	struct tm	 tm;
	time_t		 now = time(NULL);
	char		 want[64];
	size_t		 i;

	(void)state;
	memset(&p, 0, sizeof(p));
	HM_CHECK(hm_sched_plan(ca, &p, now, &s, &err), &err);
	/* Defaults: 4 a year over 2 years: 9 signers (8 and the current). */
	assert_in_range(hm_sched_count(s), 8, 9);
	for (i = 0; (e = hm_sched_get(s, i)) != NULL; i++) {
		assert_false(e->exists);
		gmtime_r(&e->not_before, &tm);
		if (i > 0 || e->not_before > now) {
			/* Future signers start at 00:00 on a quarter's 1st. */
			assert_int_equal(tm.tm_mday, 1);
			assert_int_equal(tm.tm_mon % 3, 0);
			assert_int_equal(tm.tm_hour + tm.tm_min + tm.tm_sec, 0);
		} else
			/* The current one starts now, not months back. */
			assert_true(e->not_before >= now - 300);
		if (i > 0) {
			snprintf(want, sizeof(want), "signer-%dq%d",
			    tm.tm_year + 1900, tm.tm_mon / 3 + 1);
			assert_string_equal(e->name, want);
		}
		/* Default validity 1y from the slot's start. */
		assert_true(e->not_after - e->not_before <= 365 * DAY);
	}
	hm_sched_free(s);
	hm_signer_free(root);
	hm_ca_close(ca);
}

static void
refused(hm_ca *ca, const hm_sched_params *p, time_t now, int code,
    const char *msg)
{
	hm_sched	*s = (hm_sched *)&s;
	hm_err		 err = { 0, "" };

	assert_int_equal(hm_sched_plan(ca, p, now, &s, &err), code);
	assert_ptr_equal(s, (hm_sched *)&s);
	if (strstr(err.msg, msg) == NULL)
		fail_msg("want '%s' in: %s", msg, err.msg);
}

static void
test_refused(void **state)
{
	hm_sched_params	 p;
	hm_signer	*root;
	hm_ca		*ca = new_ca("short", 3 * 365 * DAY, &root);
	hm_err		 err;
	time_t		 now = time(NULL);

	(void)state;
	memset(&p, 0, sizeof(p));
	p.quantum = 4;
	p.overlap = 30 * DAY;
	p.lead = 365 * DAY;
	/* Shorter than a quarter plus the overlap. */
	p.validity = 100 * DAY;
	refused(ca, &p, now, HM_E_INVALID, "give at least 122d");
	assert_int_equal(hm_sched_check(&p, &err), HM_E_INVALID);
	/* 1y/4 + overlap is not enough: quarters of 92 days exist. */
	p.validity = 122 * DAY - 1;
	assert_int_equal(hm_sched_check(&p, &err), HM_E_INVALID);
	p.validity = 122 * DAY;
	HM_CHECK(hm_sched_check(&p, &err), &err);
	p.quantum = 5;
	refused(ca, &p, now, HM_E_INVALID, "quantum 5");
	p.quantum = 4;
	p.prefix = "Bad Prefix";
	refused(ca, &p, now, HM_E_INVALID, "prefix");
	p.prefix = NULL;
	/* A window the 3-year root can not hold: signers never outlive it. */
	p.lead = 3 * 365 * DAY;
	refused(ca, &p, now, HM_E_POLICY, "no signer may outlive it");
	p.lead = 365 * DAY;
	refused(ca, &p, now + 2 * 365 * DAY, HM_E_POLICY, "outlive");
	/* Nothing was made by any of it. */
	{
		struct signers	s;

		store_signers(ca, &s);
		assert_int_equal(s.n, 0);
	}
	hm_signer_free(root);
	hm_ca_close(ca);
}

/* A revoked signer covers nothing: its slot's gap is reported. */
static void
test_revoked_gap(void **state)
{
	hm_sched_params	 p;
	hm_signer	*root;
	hm_ca		*ca = new_ca("revoked", 10 * 365 * DAY, &root);
	hm_sched	*s;
	hm_ca_info	 ci;
	hm_err		 err;
	struct tm	 tm;
	time_t		 now = time(NULL), later;
	char		 name[64];

	(void)state;
	memset(&p, 0, sizeof(p));
	p.validity = 122 * DAY;
	p.overlap = 30 * DAY;
	run_at(ca, root, &p, now);
	/*
	 * Next year's first quarter's signer revoked: with the tightest
	 * validity nothing else covers its quarter, and its name is taken.
	 */
	gmtime_r(&now, &tm);
	snprintf(name, sizeof(name), "signer-%dq1", tm.tm_year + 1901);
	HM_CHECK(hm_ca_get_info(ca, name, &ci, &err), &err);
	HM_CHECK(hm_revoke(ca, ci.serial, HM_REASON_KEY_COMPROMISE, 0, NULL,
	    &err), &err);
	refused(ca, &p, now, HM_E_POLICY, "is revoked");
	/* Past that quarter, the plan goes on. */
	later = ci.not_before + 100 * DAY;
	HM_CHECK(hm_sched_plan(ca, &p, later, &s, &err), &err);
	hm_sched_free(s);
	hm_signer_free(root);
	hm_ca_close(ca);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_and_grid),
		cmocka_unit_test(test_covers_quarterly),
		cmocka_unit_test(test_covers_tight),
		cmocka_unit_test(test_covers_monthly),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_revoked_gap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
