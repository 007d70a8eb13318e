/*
 * A whole hierarchy from one file: compare what the file describes with
 * what the CA directory and the node files hold, decide a step for each
 * CA and node (keep, create, re-issue, update), then carry the steps out,
 * each one complete before the next.  Running it again finds everything
 * kept.
 */
#include <sys/stat.h>

#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/pem.h>

#include "config.h"

struct hm_hier {
	struct hm_cfg	*cfg;
	hm_step		*steps;		/* root, CAs (parents first), nodes */
	size_t		 nsteps;
	struct hm_cfg_ca **order;	/* the CAs of steps[1..ncas] */
	int		*moved;		/* by step: a CA above gets a new cert */
	int		*renamed;	/* by step: a CA whose subject changes */
	int		*newkey;	/* by step: a node's key is replaced */
	char		 dir[HM_PATH_MAX];	/* planned for */
	int		 planned;
};

int
hm_hier_load(const char *path, hm_hier **out, hm_err *err)
{
	hm_hier	*h;
	int	 rc;

	if ((h = calloc(1, sizeof(*h))) == NULL)
		return hm_seterr(err, HM_E_NOMEM, "out of memory");
	if ((rc = hm_cfg_load(path, &h->cfg, err)) != HM_OK) {
		free(h);
		return rc;
	}
	*out = h;
	return HM_OK;
}

void
hm_hier_free(hm_hier *h)
{
	if (h == NULL)
		return;
	hm_cfg_free(h->cfg);
	free(h->steps);
	free(h->order);
	free(h->moved);
	free(h->renamed);
	free(h->newkey);
	free(h);
}

/* "FILE:LINE:COL: " for messages about pos. */
static const char *
at(const hm_hier *h, struct hm_cfg_pos pos, char *buf, size_t len)
{
	snprintf(buf, len, "%s:%d:%d: ", h->cfg->path, pos.line, pos.col);
	return buf;
}

/* The subject the file gives c or n, with the CN defaulting to the name. */
static void
subject_of(const struct hm_cfg_subject *cs, const char *name, hm_subject *s)
{
	s->c = cs->c;
	s->st = cs->st;
	s->l = cs->l;
	s->o = cs->o;
	s->ou = cs->ou;
	s->cn = cs->cn != NULL ? cs->cn : name;
}

static int
subject_differs(X509 *x, const hm_subject *s, hm_err *err)
{
	X509_NAME	*want;
	int		 d;

	if ((want = X509_NAME_new()) == NULL)
		return hm_seterr(err, HM_E_NOMEM, "out of memory");
	if (hm_subject_to_name(s, want, err) != HM_OK) {
		X509_NAME_free(want);
		return err != NULL ? err->code : HM_E_INVALID;
	}
	d = X509_NAME_cmp(want, X509_get_subject_name(x)) != 0;
	X509_NAME_free(want);
	return d;
}

/* The constraints the file wants on c: NULL when none. */
static int
wanted_nc(const struct hm_cfg_ca *c, NAME_CONSTRAINTS **nc, hm_err *err)
{
	*nc = NULL;
	if (c->nc.npermitted + c->nc.nexcluded == 0)
		return HM_OK;
	return hm_nc_new(c->nc.permitted, c->nc.npermitted, c->nc.excluded,
	    c->nc.nexcluded, nc, err);
}

/* 1 when x's name constraints are not the ones c wants. */
static int
nc_differs(X509 *x, const struct hm_cfg_ca *c, hm_err *err)
{
	NAME_CONSTRAINTS	*nc;
	const ASN1_OCTET_STRING	*have;
	unsigned char		*der = NULL;
	int			 i, len, d;

	if (wanted_nc(c, &nc, err) != HM_OK)
		return err != NULL ? err->code : HM_E_INVALID;
	i = X509_get_ext_by_NID(x, NID_name_constraints, -1);
	if (nc == NULL || i < 0) {
		NAME_CONSTRAINTS_free(nc);
		return (nc == NULL) != (i < 0);
	}
	have = X509_EXTENSION_get_data(X509_get_ext(x, i));
	len = ASN1_item_i2d((ASN1_VALUE *)nc, &der,
	    ASN1_ITEM_rptr(NAME_CONSTRAINTS));
	NAME_CONSTRAINTS_free(nc);
	if (len <= 0)
		return hm_seterr_ssl(err, HM_E_INTERNAL, "name constraints");
	d = ASN1_STRING_length(have) != len ||
	    memcmp(ASN1_STRING_get0_data(have), der, (size_t)len) != 0;
	OPENSSL_free(der);
	return d;
}

static int
days_left(X509 *x, time_t now)
{
	return (int)((hm_asn1_time_to_time(X509_get0_notAfter(x)) - now) /
	    86400);
}

static hm_step *
step_add(hm_hier *h, hm_step_kind k, const char *name)
{
	hm_step	*st = &h->steps[h->nsteps++];

	memset(st, 0, sizeof(*st));
	st->kind = k;
	st->name = name;
	return st;
}

static void
step_set(hm_step *st, hm_step_action a, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
step_set(hm_step *st, hm_step_action a, const char *fmt, ...)
{
	va_list	ap;

	st->action = a;
	va_start(ap, fmt);
	vsnprintf(st->why, sizeof(st->why), fmt, ap);
	va_end(ap);
}

/* The CAs parents first: the file guarantees a tree below the root. */
static int
order_cas(hm_hier *h, hm_err *err)
{
	struct hm_cfg	*c = h->cfg;
	size_t		 n = 0, i;
	int		 depth;

	free(h->order);
	if ((h->order = calloc(c->ncas + 1, sizeof(*h->order))) == NULL)
		return hm_seterr(err, HM_E_NOMEM, "out of memory");
	for (depth = 1; n < c->ncas && depth <= (int)c->ncas; depth++)
		for (i = 0; i < c->ncas; i++)
			if (c->cas[i].depth == depth)
				h->order[n++] = &c->cas[i];
	if (n != c->ncas)
		return hm_seterr(err, HM_E_INTERNAL, "CA tree");
	return HM_OK;
}

static int
plan_root(hm_hier *h, hm_ca *ca, hm_step *st, time_t now, hm_err *err)
{
	struct hm_cfg_ca	*r = &h->cfg->root;
	hm_signer		*s;
	hm_subject		 subj;
	char			 pos[HM_PATH_MAX + 32];
	int			 rc, d;

	if (ca == NULL) {
		step_set(st, HM_STEP_CREATE, "new");
		return HM_OK;
	}
	if (r->offline && !hm_ca_offline(ca))
		return hm_seterr(err, HM_E_POLICY, "%sthe root in %s is not "
		    "offline; hallmark does not make an existing directory "
		    "offline (its keys may be in clear): use a new directory",
		    at(h, r->pos_offline, pos, sizeof(pos)), h->dir);
	if ((rc = hm_ca_certs(ca, HM_ROOT_NAME, &s, err)) != HM_OK)
		return rc;
	subject_of(&r->subject, r->name, &subj);
	d = subject_differs(s->cert, &subj, err);
	if (d == 0 && s->info.key_type != r->key_type)
		d = 2;
	if (d == 0 && s->info.pathlen != r->pathlen)
		d = 3;
	if (d == 0) {
		if (days_left(s->cert, now) < h->cfg->renew_before / 86400)
			step_set(st, HM_STEP_KEEP, "expires in %d days: a "
			    "root is never replaced; plan a new one",
			    days_left(s->cert, now));
		else
			step_set(st, HM_STEP_KEEP, "unchanged");
	}
	hm_signer_free(s);
	if (d < 0)
		return d;
	if (d > 0)
		return hm_seterr(err, HM_E_POLICY, "%sthe root in %s has "
		    "another %s than the file says; hallmark never replaces a "
		    "root (use a new directory)", at(h, r->pos, pos,
		    sizeof(pos)), h->dir, d == 1 ? "subject" : d == 2 ?
		    "key type" : "pathlen");
	return HM_OK;
}

static int
plan_ca(hm_hier *h, hm_ca *ca, const struct hm_cfg_ca *c, hm_step *st,
    const hm_step *parent, time_t now, int *renamed, hm_err *err)
{
	hm_signer	*s;
	hm_subject	 subj;
	char		 pos[HM_PATH_MAX + 32];
	int		 rc, d;

	if (ca == NULL || parent->action == HM_STEP_CREATE) {
		step_set(st, HM_STEP_CREATE, "new");
		return HM_OK;
	}
	if ((rc = hm_ca_certs(ca, c->name, &s, NULL)) == HM_E_NOTFOUND) {
		step_set(st, HM_STEP_CREATE, "new");
		return HM_OK;
	}
	if (rc != HM_OK)
		return hm_ca_certs(ca, c->name, &s, err);
	rc = HM_OK;
	if (strcmp(s->info.parent, c->parent->name) != 0)
		rc = hm_seterr(err, HM_E_POLICY, "%sCA '%s' exists under '%s'; "
		    "hallmark does not move a CA to another parent",
		    at(h, c->pos_parent, pos, sizeof(pos)), c->name,
		    s->info.parent);
	else if (s->info.key_type != c->key_type)
		rc = hm_seterr(err, HM_E_POLICY, "%sCA '%s' has a %s key, not "
		    "%s; hallmark does not re-key a CA", at(h, c->pos, pos,
		    sizeof(pos)), c->name, hm_keytype_name(s->info.key_type),
		    hm_keytype_name(c->key_type));
	if (rc != HM_OK)
		goto out;
	subject_of(&c->subject, c->name, &subj);
	if ((d = subject_differs(s->cert, &subj, err)) < 0) {
		rc = d;
		goto out;
	}
	*renamed = d;
	if (d)
		step_set(st, HM_STEP_REISSUE, "subject changed");
	else if (s->info.pathlen != (c->pathlen < 0 ? 0 : c->pathlen))
		step_set(st, HM_STEP_REISSUE, "pathlen changed");
	else if ((d = nc_differs(s->cert, c, err)) < 0)
		rc = d;
	else if (d)
		step_set(st, HM_STEP_REISSUE, "name constraints changed");
	else if (days_left(s->cert, now) < h->cfg->renew_before / 86400)
		step_set(st, HM_STEP_REISSUE, "expires in %d days",
		    days_left(s->cert, now));
	else
		step_set(st, HM_STEP_KEEP, "unchanged");
 out:
	hm_signer_free(s);
	return rc;
}

/* The whole file, NUL-terminated, or NULL when it can not be read. */
static char *
slurp(const char *path, size_t max, size_t *len)
{
	unsigned char	*buf, *t;
	size_t		 n;

	if (hm_file_read(path, max, &buf, &n, NULL) != HM_OK)
		return NULL;
	if ((t = realloc(buf, n + 1)) == NULL) {
		free(buf);
		return NULL;
	}
	t[n] = '\0';
	if (len != NULL)
		*len = n;
	return (char *)t;
}

static X509 *
cert_file(const char *path)
{
	X509	*x;
	char	*pem;
	size_t	 len;

	if ((pem = slurp(path, 1024 * 1024, &len)) == NULL)
		return NULL;
	x = hm_x509_from_pem(pem, len);
	free(pem);
	return x;
}

/* The node's profile as the library knows it. */
static int
node_profile(const struct hm_cfg_node *n, hm_profile_def *def,
    struct hm_profile *p, hm_err *err)
{
	const struct hm_profile	*bi;

	memset(def, 0, sizeof(*def));
	if (n->profile != HM_PROFILE_NONE) {
		if ((bi = hm_profile_get(n->profile)) == NULL)
			return hm_seterr(err, HM_E_INTERNAL, "profile");
		*p = *bi;
		return HM_OK;
	}
	def->name = n->custom->name;
	def->key_usage = n->custom->key_usage;
	def->eku = n->custom->eku;
	def->validity = n->custom->validity;
	def->san_required = n->custom->san_required > 0;
	def->wildcards = n->custom->wildcards > 0;
	return hm_profile_from_def(def, p, err);
}

/* 1 when x's keyUsage and EKU are not what profile p gives a kt key. */
static int
usage_differs(X509 *x, const struct hm_profile *p, hm_keytype kt)
{
	static const struct { unsigned hm; uint32_t x; } ku[] = {
		{ HM_KU_DIGITAL_SIGNATURE, KU_DIGITAL_SIGNATURE },
		{ HM_KU_KEY_ENCIPHERMENT, KU_KEY_ENCIPHERMENT },
		{ HM_KU_KEY_AGREEMENT, KU_KEY_AGREEMENT },
		{ HM_KU_KEY_CERT_SIGN, KU_KEY_CERT_SIGN },
		{ HM_KU_CRL_SIGN, KU_CRL_SIGN },
	}, eku[] = {
		{ HM_EKU_SERVER, XKU_SSL_SERVER },
		{ HM_EKU_CLIENT, XKU_SSL_CLIENT },
		{ HM_EKU_CODE_SIGNING, XKU_CODE_SIGN },
		{ HM_EKU_EMAIL, XKU_SMIME },
		{ HM_EKU_TIME_STAMPING, XKU_TIMESTAMP },
		{ HM_EKU_OCSP_SIGNING, XKU_OCSP_SIGN },
	};
	unsigned	want = hm_profile_ku(p, kt);
	uint32_t	wku = 0, weku = 0;
	size_t		i;

	for (i = 0; i < sizeof(ku) / sizeof(ku[0]); i++)
		if (want & ku[i].hm)
			wku |= ku[i].x;
	for (i = 0; i < sizeof(eku) / sizeof(eku[0]); i++)
		if (p->eku & eku[i].hm)
			weku |= eku[i].x;
	return X509_get_key_usage(x) != wku ||
	    X509_get_extended_key_usage(x) != weku;
}

static int
sans_differ(X509 *x, const hm_names *want)
{
	GENERAL_NAMES	*g;
	hm_names	*have;
	char		 a[1024], b[1024];
	int		 d = 1;

	g = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	if ((have = hm_names_new()) == NULL)
		goto out;
	if (g != NULL && hm_names_from_gens(have, g, NULL) != 0)
		goto out;
	if (hm_names_join(have, a, sizeof(a)) == -1 ||
	    hm_names_join(want, b, sizeof(b)) == -1)
		goto out;
	d = strcmp(a, b) != 0;
 out:
	hm_names_free(have);
	GENERAL_NAMES_free(g);
	return d;
}

/* The PEM of certificates v[0..n), concatenated. */
static char *
pem_of(X509 *const *v, size_t n)
{
	char	*pem;
	size_t	 len;

	if (hm_x509_pem(v, n, &pem, &len, NULL) != HM_OK)
		return NULL;
	return pem;
}

/* What the chain file of leaf under s holds: leaf, then s's chain. */
static char *
chain_pem(X509 *leaf, const hm_signer *s)
{
	X509	*v[34];
	int	 i, n = sk_X509_num(s->chain);

	if (n > 32)
		return NULL;
	v[0] = leaf;
	for (i = 0; i < n; i++)
		v[i + 1] = sk_X509_value(s->chain, i);
	return pem_of(v, (size_t)n + 1);
}

/* 1 when path does not hold exactly want. */
static int
file_differs(const char *path, const char *want)
{
	char	*have;
	int	 d;

	if (want == NULL || (have = slurp(path, 1024 * 1024, NULL)) == NULL)
		return 1;
	d = strcmp(have, want) != 0;
	free(have);
	return d;
}

/* 1 when the key file holds a key other than x's (unencrypted keys). */
static int
key_differs(const char *path, X509 *x)
{
	hm_key	*k;
	int	 d;

	if (hm_key_file_is_encrypted(path))
		return 0;	/* checked when it is unlocked */
	if (hm_key_load(path, NULL, &k, NULL) != HM_OK)
		return 1;
	d = X509_check_private_key(x, k->pkey) != 1;
	hm_key_free(k);
	return d;
}

static int
plan_node(hm_hier *h, hm_ca *ca, const struct hm_cfg_node *n, hm_step *st,
    const hm_step *issuer, time_t now, int *newkey, hm_err *err)
{
	struct hm_profile	 p;
	hm_profile_def		 def;
	hm_signer		*s = NULL;
	hm_subject		 subj;
	X509			*x = NULL;
	EVP_PKEY		*ipk;
	char			*pem = NULL;
	hm_keytype		 kt;
	int			 rc = HM_OK, d;

	if ((rc = node_profile(n, &def, &p, err)) != HM_OK)
		return rc;
	if (ca == NULL || issuer->action == HM_STEP_CREATE) {
		step_set(st, HM_STEP_CREATE, access(n->cert, F_OK) == 0 ?
		    "its issuer is new" : "new");
		return HM_OK;
	}
	if ((x = cert_file(n->cert)) == NULL) {
		step_set(st, access(n->cert, F_OK) == 0 ? HM_STEP_REISSUE :
		    HM_STEP_CREATE, access(n->cert, F_OK) == 0 ?
		    "certificate unreadable" : "new");
		return HM_OK;
	}
	if ((rc = hm_ca_certs(ca, n->issuer->name, &s, err)) != HM_OK)
		goto out;
	subject_of(&n->subject, n->name, &subj);
	kt = hm_pkey_type(X509_get0_pubkey(x), NULL);
	ipk = X509_get0_pubkey(s->cert);
	if (access(n->key, F_OK) != 0)
		step_set(st, HM_STEP_REISSUE, "key missing");
	else if (kt != n->key_type) {
		step_set(st, HM_STEP_REISSUE, "key type changed");
		*newkey = 1;
	} else if (key_differs(n->key, x)) {
		step_set(st, HM_STEP_REISSUE, "key and certificate differ");
		*newkey = 1;
	}
	else if (ipk == NULL || X509_verify(x, ipk) != 1 ||
	    X509_NAME_cmp(X509_get_issuer_name(x),
	    X509_get_subject_name(s->cert)) != 0)
		step_set(st, HM_STEP_REISSUE, "issuer changed");
	else if ((d = subject_differs(x, &subj, err)) != 0) {
		if (d < 0) {
			rc = d;
			goto out;
		}
		step_set(st, HM_STEP_REISSUE, "subject changed");
	} else if (sans_differ(x, n->sans))
		step_set(st, HM_STEP_REISSUE, "names changed");
	else if (usage_differs(x, &p, kt))
		step_set(st, HM_STEP_REISSUE, "profile changed");
	else if (days_left(x, now) < h->cfg->renew_before / 86400)
		step_set(st, HM_STEP_REISSUE, "expires in %d days",
		    days_left(x, now));
	else if (file_differs(n->chain, pem = chain_pem(x, s)) ||
	    (free(pem), pem = pem_of(&s->root, 1),
	    file_differs(n->ca_bundle, pem)))
		step_set(st, HM_STEP_UPDATE, "chain or CA bundle out of date");
	else
		step_set(st, HM_STEP_KEEP, "unchanged");
 out:
	free(pem);
	X509_free(x);
	hm_signer_free(s);
	return rc;
}

int
hm_hier_plan(hm_hier *h, const char *dir, const hm_step **steps, size_t *n,
    hm_err *err)
{
	struct hm_cfg	*c = h->cfg;
	hm_ca		*ca = NULL;
	hm_step		*parent, *st;
	time_t		 now = time(NULL);
	size_t		 i, j, total = 1 + c->ncas + c->nnodes;
	int		 rc;

	h->planned = 0;
	h->nsteps = 0;
	if (strlen(dir) >= sizeof(h->dir))
		return hm_seterr(err, HM_E_INVALID, "directory path too long");
	snprintf(h->dir, sizeof(h->dir), "%s", dir);
	free(h->steps);
	free(h->moved);
	free(h->renamed);
	free(h->newkey);
	h->moved = calloc(total, sizeof(*h->moved));
	h->renamed = calloc(total, sizeof(*h->renamed));
	h->newkey = calloc(total, sizeof(*h->newkey));
	if ((h->steps = calloc(total, sizeof(*h->steps))) == NULL ||
	    h->moved == NULL || h->renamed == NULL || h->newkey == NULL)
		return hm_seterr(err, HM_E_NOMEM, "out of memory");
	if ((rc = order_cas(h, err)) != HM_OK)
		return rc;
	if ((rc = hm_ca_open(dir, &ca, NULL)) != HM_OK) {
		if (rc != HM_E_NOTFOUND)
			return hm_ca_open(dir, &ca, err);
		ca = NULL;
	}
	if ((rc = plan_root(h, ca, step_add(h, HM_STEP_ROOT, c->root.name),
	    now, err)) != HM_OK)
		goto out;
	for (i = 0; i < c->ncas; i++) {
		/* Parents come first: find the parent's step. */
		parent = &h->steps[0];
		for (j = 0; j < i; j++)
			if (h->order[j] == h->order[i]->parent)
				parent = &h->steps[1 + j];
		st = step_add(h, HM_STEP_CA, h->order[i]->name);
		if ((rc = plan_ca(h, ca, h->order[i], st, parent, now,
		    &h->renamed[1 + i], err)) != HM_OK)
			goto out;
		/* Its certificate names its parent's subject as its issuer. */
		if (st->action == HM_STEP_KEEP &&
		    h->renamed[parent - h->steps])
			step_set(st, HM_STEP_REISSUE, "its parent's subject "
			    "changed");
		/* Chains through this CA change with any CA above it. */
		h->moved[1 + i] = h->moved[parent - h->steps] ||
		    st->action != HM_STEP_KEEP;
	}
	for (i = 0; i < c->nnodes; i++) {
		parent = &h->steps[0];
		for (j = 0; j < c->ncas; j++)
			if (h->order[j] == c->nodes[i].issuer)
				parent = &h->steps[1 + j];
		st = step_add(h, HM_STEP_NODE, c->nodes[i].name);
		if ((rc = plan_node(h, ca, &c->nodes[i], st, parent, now,
		    &h->newkey[st - h->steps], err)) != HM_OK)
			goto out;
		if ((st->action == HM_STEP_KEEP ||
		    st->action == HM_STEP_UPDATE) &&
		    h->renamed[parent - h->steps])
			step_set(st, HM_STEP_REISSUE, "its issuer's subject "
			    "changed");
		else if (st->action == HM_STEP_KEEP &&
		    h->moved[parent - h->steps])
			step_set(st, HM_STEP_UPDATE, "a CA above it gets a "
			    "new certificate");
	}
	h->planned = 1;
	*steps = h->steps;
	*n = h->nsteps;
 out:
	hm_ca_close(ca);
	return rc;
}

/* ---- Carrying out the plan -------------------------------------------- */

struct run {
	hm_hier		*h;
	hm_ca		*ca;
	hm_pass_cb	 cb;
	void		*arg;
	hm_signer	**signers;	/* by CA: [0] root, [1 + i] order[i] */
};

/* A passphrase as the file says, or NULL when it names none. */
static int
pass_for(struct run *r, const struct hm_cfg_pass *ps, const char *what,
    int confirm, char **pass, hm_err *err)
{
	*pass = NULL;
	if (ps->kind == HM_CFG_PASS_NONE)
		return HM_OK;
	if (r->cb == NULL)
		return hm_seterr(err, HM_E_PASSPHRASE, "no way to get the "
		    "passphrase for %s", what);
	return r->cb(what, (hm_pass_kind)ps->kind, ps->value, confirm, pass,
	    err, r->arg);
}

static size_t
ca_index(const struct run *r, const struct hm_cfg_ca *c)
{
	size_t	i;

	for (i = 0; i < r->h->cfg->ncas; i++)
		if (r->h->order[i] == c)
			return 1 + i;
	return 0;
}

/* The unlocked signer of c, unlocking it the first time. */
static int
signer_of(struct run *r, const struct hm_cfg_ca *c, hm_signer **out,
    hm_err *err)
{
	size_t	 i = ca_index(r, c);
	char	 what[96], *pass = NULL;
	int	 rc;

	if (r->signers[i] == NULL) {
		snprintf(what, sizeof(what), "CA '%s'", c->name);
		if ((rc = pass_for(r, &c->pass, what, 0, &pass, err)) !=
		    HM_OK)
			return rc;
		rc = hm_ca_signer(r->ca, c->name, pass, &r->signers[i], err);
		hm_secret_free(pass);
		if (rc != HM_OK)
			return rc;
	}
	*out = r->signers[i];
	return HM_OK;
}

static void
ca_params(const struct hm_cfg_ca *c, hm_subject *subj, hm_ca_params *p)
{
	memset(p, 0, sizeof(*p));
	subject_of(&c->subject, c->name, subj);
	p->name = c->name;
	p->parent = c->parent != NULL ? c->parent->name : NULL;
	p->subject = subj;
	p->cn = subj->cn;
	p->key_type = c->key_type;
	p->validity = c->validity;
	p->pathlen = c->pathlen;
	p->permitted = (const char *const *)c->nc.permitted;
	p->npermitted = c->nc.npermitted;
	p->excluded = (const char *const *)c->nc.excluded;
	p->nexcluded = c->nc.nexcluded;
}

static int
apply_root(struct run *r, hm_err *err)
{
	const struct hm_cfg_ca	*c = &r->h->cfg->root;
	hm_ca_params		 p;
	hm_subject		 subj;
	char			*pass = NULL;
	int			 rc;

	ca_params(c, &subj, &p);
	p.offline = c->offline;
	if ((rc = pass_for(r, &c->pass, "the root CA's new key", 1, &pass,
	    err)) != HM_OK)
		return rc;
	p.pass = pass;
	rc = hm_ca_init(r->h->dir, &p, &r->ca, err);
	hm_secret_free(pass);
	return rc;
}

static int
apply_ca(struct run *r, const struct hm_cfg_ca *c, hm_step_action a,
    hm_err *err)
{
	hm_ca_params	 p;
	hm_subject	 subj;
	hm_signer	*parent;
	hm_cert		*cert = NULL;
	char		 what[96], *pass = NULL;
	size_t		 i = ca_index(r, c);
	int		 rc;

	ca_params(c, &subj, &p);
	if ((rc = signer_of(r, c->parent, &parent, err)) != HM_OK)
		return rc;
	snprintf(what, sizeof(what), a == HM_STEP_CREATE ?
	    "the new key of CA '%s'" : "CA '%s'", c->name);
	if ((rc = pass_for(r, &c->pass, what, a == HM_STEP_CREATE, &pass,
	    err)) != HM_OK)
		return rc;
	p.pass = pass;
	if (a == HM_STEP_CREATE)
		rc = hm_ca_new_intermediate(r->ca, parent, &p, &cert, NULL,
		    err);
	else
		rc = hm_ca_reissue(r->ca, parent, &p, &cert, NULL, err);
	hm_cert_free(cert);
	/* Unlock it now, with the passphrase in hand, for its nodes. */
	hm_signer_free(r->signers[i]);
	r->signers[i] = NULL;
	if (rc == HM_OK)
		rc = hm_ca_signer(r->ca, c->name, pass, &r->signers[i], err);
	hm_secret_free(pass);
	return rc;
}

/* mkdir -p the directory of path. */
static int
parent_dir(const char *path, hm_err *err)
{
	char	buf[HM_PATH_MAX];

	if (strlen(path) >= sizeof(buf))
		return hm_seterr(err, HM_E_INVALID, "path too long");
	snprintf(buf, sizeof(buf), "%s", path);
	return hm_mkdir_p(dirname(buf), 0755, err);
}

static int
write_pem(const char *path, const char *pem, unsigned mode, hm_err *err)
{
	int	rc;

	if (pem == NULL)
		return hm_seterr(err, HM_E_NOMEM, "out of memory");
	if ((rc = parent_dir(path, err)) != HM_OK)
		return rc;
	return hm_file_write(path, pem, strlen(pem), mode, HM_F_FORCE, err);
}

/* The chain file and the CA bundle of leaf x issued by s. */
static int
write_chain(const struct hm_cfg_node *n, X509 *x, const hm_signer *s,
    hm_err *err)
{
	char	*pem;
	int	 rc;

	pem = chain_pem(x, s);
	rc = write_pem(n->chain, pem, 0644, err);
	free(pem);
	if (rc != HM_OK)
		return rc;
	pem = pem_of(&s->root, 1);
	rc = write_pem(n->ca_bundle, pem, 0644, err);
	free(pem);
	return rc;
}

/* The node's key: the one on disk if it still fits, else a new one. */
static int
node_key(struct run *r, const struct hm_cfg_node *n, int newkey,
    hm_key **key, int *fresh, hm_err *err)
{
	char	 what[96], *pass = NULL;
	int	 rc;

	*fresh = 0;
	if (access(n->key, F_OK) == 0 && !newkey) {
		snprintf(what, sizeof(what), "the key of node '%s'", n->name);
		if (hm_key_file_is_encrypted(n->key) &&
		    (rc = pass_for(r, &n->pass, what, 0, &pass, err)) != HM_OK)
			return rc;
		rc = hm_key_load(n->key, pass, key, err);
		hm_secret_free(pass);
		if (rc != HM_OK || hm_key_type(*key) == n->key_type)
			return rc;
		hm_key_free(*key);
	}
	*fresh = 1;
	return hm_key_generate(n->key_type, key, err);
}

static int
apply_node(struct run *r, const struct hm_cfg_node *n, const hm_step *st,
    hm_err *err)
{
	struct hm_profile	 p;
	hm_profile_def		 def;
	hm_issue_req		 req;
	hm_subject		 subj;
	hm_signer		*s;
	hm_key			*key = NULL;
	hm_csr			*csr = NULL;
	hm_cert			*c = NULL;
	X509			*x = NULL;
	char			 what[96], *pass = NULL, *pem = NULL;
	size_t			 len;
	int			 rc, fresh;

	if ((rc = signer_of(r, n->issuer, &s, err)) != HM_OK)
		return rc;
	if (st->action == HM_STEP_UPDATE) {
		if ((x = cert_file(n->cert)) == NULL)
			return hm_seterr(err, HM_E_IO, "%s: no certificate",
			    n->cert);
		rc = write_chain(n, x, s, err);
		X509_free(x);
		return rc;
	}
	if ((rc = node_profile(n, &def, &p, err)) != HM_OK ||
	    (rc = node_key(r, n, r->h->newkey[st - r->h->steps], &key, &fresh,
	    err)) != HM_OK)
		goto out;
	subject_of(&n->subject, n->name, &subj);
	if ((rc = hm_csr_new(key, subj.cn, n->sans, &csr, err)) != HM_OK)
		goto out;
	memset(&req, 0, sizeof(req));
	req.profile = n->profile != HM_PROFILE_NONE ? n->profile :
	    HM_PROFILE_CUSTOM;
	req.custom = n->profile != HM_PROFILE_NONE ? NULL : &def;
	req.csr = csr;
	req.subject = &subj;
	req.sans = n->sans;
	req.validity = n->validity;
	if ((rc = hm_issue(s, &req, &c, NULL, err)) != HM_OK)
		goto out;
	/* The key first: a crash before the certificate is found later. */
	if (fresh) {
		snprintf(what, sizeof(what), "the new key of node '%s'",
		    n->name);
		if ((rc = pass_for(r, &n->pass, what, 1, &pass, err)) !=
		    HM_OK)
			goto out;
		if (pass == NULL && hm_ca_offline(r->ca)) {
			rc = hm_seterr(err, HM_E_PASSPHRASE, "%s is an offline "
			    "CA directory: %s needs a passphrase (it writes no "
			    "key in clear)", r->h->dir, what);
			goto out;
		}
		if ((rc = parent_dir(n->key, err)) != HM_OK ||
		    (rc = hm_key_save(key, n->key, pass, HM_F_FORCE, err)) !=
		    HM_OK)
			goto out;
	}
	if ((rc = hm_cert_pem(c, &pem, &len, err)) != HM_OK ||
	    (rc = write_pem(n->cert, pem, 0644, err)) != HM_OK)
		goto out;
	rc = write_chain(n, c->x509, s, err);
 out:
	hm_secret_free(pass);
	free(pem);
	hm_cert_free(c);
	hm_csr_free(csr);
	hm_key_free(key);
	return rc;
}

int
hm_hier_apply(hm_hier *h, const char *dir, hm_pass_cb cb, void *arg,
    hm_err *err)
{
	struct hm_cfg	*c = h->cfg;
	struct run	 r;
	size_t		 i;
	int		 rc = HM_OK;

	if (!h->planned || strcmp(dir, h->dir) != 0)
		return hm_seterr(err, HM_E_INVALID, "plan before applying");
	memset(&r, 0, sizeof(r));
	r.h = h;
	r.cb = cb;
	r.arg = arg;
	if ((r.signers = calloc(c->ncas + 1, sizeof(*r.signers))) == NULL)
		return hm_seterr(err, HM_E_NOMEM, "out of memory");
	if (h->steps[0].action == HM_STEP_CREATE)
		rc = apply_root(&r, err);
	else
		rc = hm_ca_open(dir, &r.ca, err);
	for (i = 0; rc == HM_OK && i < c->ncas; i++)
		if (h->steps[1 + i].action == HM_STEP_CREATE ||
		    h->steps[1 + i].action == HM_STEP_REISSUE)
			rc = apply_ca(&r, h->order[i], h->steps[1 + i].action,
			    err);
	for (i = 0; rc == HM_OK && i < c->nnodes; i++)
		if (h->steps[1 + c->ncas + i].action != HM_STEP_KEEP)
			rc = apply_node(&r, &c->nodes[i],
			    &h->steps[1 + c->ncas + i], err);
	for (i = 0; i <= c->ncas; i++)
		hm_signer_free(r.signers[i]);
	free(r.signers);
	hm_ca_close(r.ca);
	h->planned = 0;
	return rc;
}

/* ---- The signer schedule of the file ---------------------------------- */

int
hm_hier_sched_params(const hm_hier *h, hm_sched_params *out, hm_err *err)
{
	if (!h->cfg->sched.set)
		return hm_seterr(err, HM_E_NOTFOUND, "%s has no schedule "
		    "section (see hallmark.yaml(5))", h->cfg->path);
	*out = h->cfg->sched.p;
	return HM_OK;
}

int
hm_hier_sched_apply(hm_hier *h, hm_ca *ca, const hm_sched *s,
    hm_pass_cb cb, void *arg, size_t *created, hm_err *err)
{
	struct hm_cfg	*c = h->cfg;
	struct run	 r;
	hm_signer	*root = NULL;
	char		*rpass = NULL, *pass = NULL;
	int		 rc;

	memset(&r, 0, sizeof(r));
	r.h = h;
	r.cb = cb;
	r.arg = arg;
	r.ca = ca;
	/* A file that names no source leaves it to the caller. */
	if (c->root.pass.kind == HM_CFG_PASS_NONE && cb != NULL &&
	    hm_ca_key_encrypted(ca, HM_ROOT_NAME))
		rc = cb("CA 'root'", HM_PASS_NONE, NULL, 0, &rpass, err, arg);
	else
		rc = pass_for(&r, &c->root.pass, "CA 'root'", 0, &rpass, err);
	if (rc != HM_OK ||
	    (rc = hm_ca_signer(ca, HM_ROOT_NAME, rpass, &root, err)) != HM_OK)
		goto out;
	/* The signers' keys: the schedule's passphrase, else the root's. */
	if (c->sched.pass.kind != HM_CFG_PASS_NONE) {
		if ((rc = pass_for(&r, &c->sched.pass, "the new signers' keys",
		    1, &pass, err)) != HM_OK)
			goto out;
	} else if (rpass != NULL && (pass = strdup(rpass)) == NULL) {
		rc = hm_seterr(err, HM_E_NOMEM, "out of memory");
		goto out;
	}
	rc = hm_sched_apply(ca, root, s, pass, created, err);
 out:
	hm_secret_free(rpass);
	hm_secret_free(pass);
	hm_signer_free(root);
	return rc;
}
