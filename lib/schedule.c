/*
 * The signer schedule: intermediate signers under the root, one a slot
 * of a grid of calendar slots of the UTC year, pre-created so that every
 * instant of the lead window has a signer with at least the overlap left.
 * Slots are calendar-aligned so that a plan depends on the date only,
 * names say when a signer starts, and a second run finds them all.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define SCHED_QUANTUM	4
#define SCHED_LEAD	(2 * HM_YEAR)
#define SCHED_VALIDITY	HM_YEAR
/* The default lifetime of a leaf: one issued at any time gets it all. */
#define SCHED_OVERLAP	(90 * 86400LL)
#define SCHED_PREFIX	"signer"
#define PREFIX_MAX	32
/* Slots planned at most: a lead of 100 years, monthly. */
#define SLOTS_MAX	(100 * 12 + 2)

struct hm_sched {
	hm_ca		*ca;		/* planned for; borrowed */
	hm_sched_params	 p;		/* defaults applied */
	char		 prefix[PREFIX_MAX + 1];
	hm_keytype	 key_type;
	hm_sched_entry	*v;
	size_t		 n, cap, todo;
};

/* A signer as coverage sees it: valid from nb, usable until na - overlap. */
struct span {
	time_t	nb, na;
};

static const char *
dur(int64_t s, char *buf, size_t len)
{
	if (s % HM_YEAR == 0)
		snprintf(buf, len, "%lldy", (long long)(s / HM_YEAR));
	else if (s % 86400 == 0)
		snprintf(buf, len, "%lldd", (long long)(s / 86400));
	else
		snprintf(buf, len, "%llds", (long long)s);
	return buf;
}

static const char *
date(time_t t, char *buf, size_t len)
{
	struct tm	tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "%lld", (long long)t);
	return buf;
}

/* Slot k (year * quantum + index) starts on the first of its month. */
static time_t
slot_start(int q, long k)
{
	struct tm	tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = (int)(k / q) - 1900;
	tm.tm_mon = (int)(k % q) * (12 / q);
	tm.tm_mday = 1;
	return timegm(&tm);
}

static long
slot_of(int q, time_t t)
{
	struct tm	tm;
	long		k;

	if (gmtime_r(&t, &tm) == NULL)
		return -1;
	k = (long)(tm.tm_year + 1900) * q + tm.tm_mon / (12 / q);
	/* timegm and gmtime agree, but a slot must hold t whatever. */
	while (k > 0 && slot_start(q, k) > t)
		k--;
	while (slot_start(q, k + 1) <= t)
		k++;
	return k;
}

/* The longest slot of the grid, over a leap year and a common one. */
static int64_t
slot_max(int q)
{
	int64_t	m = 0, d;
	long	k;

	for (k = 2024L * q; k < 2026L * q; k++)
		if ((d = slot_start(q, k + 1) - slot_start(q, k)) > m)
			m = d;
	return m;
}

static void
slot_name(const char *prefix, int q, long k, char *buf, size_t len)
{
	long	y = k / q, i = k % q + 1;

	switch (q) {
	case 1:
		snprintf(buf, len, "%s-%ld", prefix, y);
		break;
	case 12:
		snprintf(buf, len, "%s-%ldm%02ld", prefix, y, i);
		break;
	default:
		snprintf(buf, len, "%s-%ld%c%ld", prefix, y,
		    q == 2 ? 'h' : q == 3 ? 't' : q == 4 ? 'q' : 'b', i);
		break;
	}
}

static void
defaults(const hm_sched_params *in, hm_sched_params *out)
{
	*out = *in;
	if (out->quantum == 0)
		out->quantum = SCHED_QUANTUM;
	if (out->lead == 0)
		out->lead = SCHED_LEAD;
	if (out->validity == 0)
		out->validity = SCHED_VALIDITY;
	if (out->overlap == 0)
		out->overlap = SCHED_OVERLAP;
	if (out->key_type == HM_KEY_NONE)
		out->key_type = HM_KEY_DEFAULT;
	if (out->prefix == NULL)
		out->prefix = SCHED_PREFIX;
}

static int
prefix_check(const char *s, hm_err *err)
{
	size_t	i, n = strlen(s);

	if (n == 0 || n > PREFIX_MAX || !isalnum((unsigned char)s[0]))
		goto bad;
	for (i = 0; i < n; i++)
		if (!islower((unsigned char)s[i]) &&
		    !isdigit((unsigned char)s[i]) && s[i] != '-' &&
		    s[i] != '_' && s[i] != '.')
			goto bad;
	return HM_OK;
 bad:
	return hm_seterr(err, HM_E_INVALID, "bad signer prefix '%.40s' (want "
	    "1 to %d of a-z 0-9 . _ -, starting with a letter or digit)", s,
	    PREFIX_MAX);
}

int
hm_sched_check(const hm_sched_params *in, hm_err *err)
{
	hm_sched_params	p;
	char		a[32], b[32], c[32], d[32];
	int64_t		m;

	defaults(in, &p);
	if (p.quantum < 1 || p.quantum > 12 || 12 % p.quantum != 0)
		return hm_seterr(err, HM_E_INVALID, "quantum %d: want 1, 2, 3, "
		    "4, 6 or 12 signers a year (slots of whole months)",
		    p.quantum);
	if (p.lead < 0 || p.lead > 100 * HM_YEAR || p.validity < 0 ||
	    p.validity > 100 * HM_YEAR || p.overlap < 0 ||
	    p.overlap > 100 * HM_YEAR)
		return hm_seterr(err, HM_E_INVALID, "lead, validity and overlap "
		    "are 1s to 100y");
	m = slot_max(p.quantum);
	if (p.validity < m + p.overlap)
		return hm_seterr(err, HM_E_INVALID, "validity %s is too short: "
		    "with %d signers a year a slot lasts up to %s and a signer "
		    "must outlast its slot by the overlap %s; give at least %s",
		    dur(p.validity, a, sizeof(a)), p.quantum,
		    dur(m, b, sizeof(b)), dur(p.overlap, c, sizeof(c)),
		    dur(m + p.overlap, d, sizeof(d)));
	return prefix_check(p.prefix, err);
}

/*
 * 1 when [from, to] is covered: each instant t inside some span with
 * nb <= t <= na - overlap; else 0 and the first instant not in *gap.
 */
static int
covered(const struct span *v, size_t n, int64_t overlap, time_t from,
    time_t to, time_t *gap)
{
	time_t	t = from, best;
	size_t	i;
	int	found;

	for (;;) {
		found = 0;
		best = 0;
		for (i = 0; i < n; i++)
			if (v[i].nb <= t && t <= v[i].na - overlap &&
			    (!found || v[i].na - overlap > best)) {
				best = v[i].na - overlap;
				found = 1;
			}
		if (!found) {
			if (gap != NULL)
				*gap = t;
			return 0;
		}
		if (best >= to)
			return 1;
		t = best + 1;
	}
}

static int
entry_add(hm_sched *s, const char *name, time_t nb, time_t na, int exists,
    hm_err *err)
{
	hm_sched_entry	*e;
	size_t		 cap;

	if (s->n == s->cap) {
		cap = s->cap == 0 ? 16 : s->cap * 2;
		if ((e = reallocarray(s->v, cap, sizeof(*e))) == NULL)
			return hm_seterr(err, HM_E_NOMEM, "out of memory");
		s->v = e;
		s->cap = cap;
	}
	e = &s->v[s->n++];
	memset(e, 0, sizeof(*e));
	snprintf(e->name, sizeof(e->name), "%s", name);
	e->not_before = nb;
	e->not_after = na;
	e->exists = exists;
	if (!exists)
		s->todo++;
	return HM_OK;
}

struct existing {
	hm_ca		*ca;
	const char	*prefix;
	hm_sched_entry	*v;
	size_t		 n, cap;
	int		 rc;
	hm_err		*err;
};

/* Signers: CAs under the root named PREFIX-..., not revoked. */
static int
existing_cb(const hm_ca_info *ci, void *arg)
{
	struct existing	*x = arg;
	hm_cert_info	 info;
	hm_sched_entry	*e;
	size_t		 n = strlen(x->prefix), cap;

	if (strcmp(ci->parent, HM_ROOT_NAME) != 0 ||
	    strncmp(ci->name, x->prefix, n) != 0 || ci->name[n] != '-')
		return 0;
	if ((x->rc = hm_cert_lookup(x->ca, ci->serial, &info, NULL,
	    x->err)) != HM_OK)
		return 1;
	if (x->n == x->cap) {
		cap = x->cap == 0 ? 16 : x->cap * 2;
		if ((e = reallocarray(x->v, cap, sizeof(*e))) == NULL) {
			x->rc = hm_seterr(x->err, HM_E_NOMEM, "out of memory");
			return 1;
		}
		x->v = e;
		x->cap = cap;
	}
	e = &x->v[x->n++];
	memset(e, 0, sizeof(*e));
	snprintf(e->name, sizeof(e->name), "%s", ci->name);
	e->not_before = ci->not_before;
	e->not_after = ci->not_after;
	/* A revoked signer covers nothing but keeps its name. */
	e->exists = strcmp(info.status, "revoked") == 0 ? 2 : 1;
	return 0;
}

static int
entry_cmp(const void *a, const void *b)
{
	const hm_sched_entry	*x = a, *y = b;

	if (x->not_before != y->not_before)
		return x->not_before < y->not_before ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* The spans of the signers in v[0..n) that count (*m of them). */
static struct span *
spans(const hm_sched_entry *v, size_t n, size_t *m)
{
	struct span	*sp;
	size_t		 i;

	if ((sp = calloc(n + 1, sizeof(*sp))) == NULL)
		return NULL;
	for (*m = 0, i = 0; i < n; i++)
		if (v[i].exists != 2) {
			sp[*m].nb = v[i].not_before;
			sp[*m].na = v[i].not_after;
			(*m)++;
		}
	return sp;
}

static const hm_sched_entry *
find(const struct existing *x, const char *name)
{
	size_t	i;

	for (i = 0; i < x->n; i++)
		if (strcmp(x->v[i].name, name) == 0)
			return &x->v[i];
	return NULL;
}

int
hm_sched_plan(hm_ca *ca, const hm_sched_params *in, time_t now,
    hm_sched **out, hm_err *err)
{
	struct existing		 x;
	const hm_sched_entry	*e;
	struct span		*sp = NULL;
	hm_ca_info		 root;
	hm_sched		*s = NULL;
	char			 name[HM_CA_NAME_MAX + 1], d1[32], d2[32], o[32];
	time_t			 end, nb, na, gap, start, next;
	long			 k, k0, k1;
	size_t			 i, nsp;
	int			 rc;

	memset(&x, 0, sizeof(x));
	if ((rc = hm_sched_check(in, err)) != HM_OK)
		return rc;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return hm_seterr(err, HM_E_NOMEM, "out of memory");
	s->ca = ca;
	defaults(in, &s->p);
	snprintf(s->prefix, sizeof(s->prefix), "%s", s->p.prefix);
	s->p.prefix = s->prefix;
	if ((rc = hm_ca_get_info(ca, NULL, &root, err)) != HM_OK)
		goto out;
	end = now + s->p.lead;
	/* Signers never outlive the root: the window must fit inside it. */
	if (end > root.not_after - s->p.overlap) {
		rc = hm_seterr(err, HM_E_POLICY, "the root expires %s: no "
		    "signer may outlive it, so none can cover %s (now + lead) "
		    "with %s left; shorten lead or plan a new root",
		    date(root.not_after, d1, sizeof(d1)),
		    date(end, d2, sizeof(d2)), dur(s->p.overlap, o, sizeof(o)));
		goto out;
	}
	if (now < root.not_before) {
		rc = hm_seterr(err, HM_E_POLICY, "the root is not valid yet "
		    "at %s", date(now, d1, sizeof(d1)));
		goto out;
	}
	x.ca = ca;
	x.prefix = s->prefix;
	x.err = err;
	if ((rc = hm_ca_list(ca, existing_cb, &x, err)) != HM_OK)
		goto out;
	if ((rc = x.rc) != HM_OK)
		goto out;
	/* The timeline: the signers still valid, ... */
	for (i = 0; i < x.n; i++)
		if (x.v[i].exists == 1 && x.v[i].not_after > now &&
		    (rc = entry_add(s, x.v[i].name,
		    x.v[i].not_before, x.v[i].not_after, 1, err)) != HM_OK)
			goto out;
	if ((sp = spans(x.v, x.n, &nsp)) == NULL) {
		rc = hm_seterr(err, HM_E_NOMEM, "out of memory");
		goto out;
	}
	/* ... and one for each slot of the window that has none. */
	k0 = slot_of(s->p.quantum, now);
	k1 = slot_of(s->p.quantum, end);
	if (k0 < 0 || k1 < k0 || k1 - k0 > SLOTS_MAX) {
		rc = hm_seterr(err, HM_E_INVALID, "dates out of range");
		goto out;
	}
	for (k = k0; k <= k1; k++) {
		slot_name(s->prefix, s->p.quantum, k, name, sizeof(name));
		if (find(&x, name) != NULL)
			continue;
		start = slot_start(s->p.quantum, k);
		next = slot_start(s->p.quantum, k + 1);
		/*
		 * A slot under way starts now, not months back; and needs no
		 * signer of its own when the ones there cover the rest of it.
		 */
		if (start <= now) {
			if (covered(sp, nsp, s->p.overlap, now, next - 1 < end ?
			    next - 1 : end, NULL))
				continue;
			nb = now - HM_BACKDATE;
		} else
			nb = start;
		if (nb < root.not_before)
			nb = root.not_before;
		na = start + s->p.validity;
		if (na > root.not_after)
			na = root.not_after;
		if ((rc = entry_add(s, name, nb, na, 0, err)) != HM_OK)
			goto out;
	}
	free(sp);
	if ((sp = spans(s->v, s->n, &nsp)) == NULL) {
		rc = hm_seterr(err, HM_E_NOMEM, "out of memory");
		goto out;
	}
	if (!covered(sp, nsp, s->p.overlap, now, end, &gap)) {
		k = slot_of(s->p.quantum, gap);
		slot_name(s->prefix, s->p.quantum, k, name, sizeof(name));
		e = find(&x, name);
		rc = hm_seterr(err, HM_E_POLICY, "no signer covers %s with %s "
		    "left%s%s%s", date(gap, d1, sizeof(d1)),
		    dur(s->p.overlap, o, sizeof(o)), e != NULL ?
		    ": signer '" : "", e != NULL ? name : "", e != NULL ?
		    "' exists but is revoked or has a shorter life (give "
		    "another prefix)" : "");
		goto out;
	}
	qsort(s->v, s->n, sizeof(*s->v), entry_cmp);
	*out = s;
	s = NULL;
 out:
	free(sp);
	free(x.v);
	hm_sched_free(s);
	return rc;
}

size_t
hm_sched_count(const hm_sched *s)
{
	return s->n;
}

size_t
hm_sched_todo(const hm_sched *s)
{
	return s->todo;
}

const hm_sched_entry *
hm_sched_get(const hm_sched *s, size_t i)
{
	return i < s->n ? &s->v[i] : NULL;
}

int
hm_sched_apply(hm_ca *ca, hm_signer *root, const hm_sched *s,
    const char *pass, size_t *created, hm_err *err)
{
	hm_ca_params	 p;
	hm_cert		*c;
	size_t		 i, n = 0;
	int		 rc = HM_OK;

	if (s->ca != ca || root->ca != ca ||
	    strcmp(root->info.name, HM_ROOT_NAME) != 0 || root->pkey == NULL)
		return hm_seterr(err, HM_E_INVALID, "apply a plan with the "
		    "unlocked root of the directory it was made for");
	for (i = 0; i < s->n; i++) {
		if (s->v[i].exists)
			continue;
		memset(&p, 0, sizeof(p));
		p.name = s->v[i].name;
		p.parent = HM_ROOT_NAME;
		p.cn = s->v[i].name;
		p.key_type = s->p.key_type;
		p.pathlen = 0;
		p.pass = pass;
		if ((rc = hm_ca_new_at(ca, root, &p, s->v[i].not_before,
		    s->v[i].not_after, &c, err)) != HM_OK)
			break;
		hm_cert_free(c);
		n++;
	}
	if (rc == HM_OK && created != NULL)
		*created = n;
	return rc;
}

void
hm_sched_free(hm_sched *s)
{
	if (s == NULL)
		return;
	free(s->v);
	free(s);
}
