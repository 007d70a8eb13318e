/*
 * The hierarchy file (hallmark.yaml(5)): YAML read by libfyaml, checked
 * against the schema, cross-references resolved, and the rules that need
 * no CA directory applied.  Everything in the file is hostile input: its
 * size, the number of its items, its nesting and what its aliases expand
 * to are all bounded, and every error says where, as FILE:LINE:COL.
 *
 * Positions: libfyaml 0.7.12 has no start mark for mappings and sequences
 * and copies aliased nodes when it resolves a document, so the position
 * of every collection (its first key or item) is noted before resolution
 * in the node's meta pointer, which resolution keeps.
 */
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libfyaml.h>

#include "config.h"

#define NEST_MAX	64		/* levels, aliases expanded */
#define ANCHORS_MAX	256		/* libfyaml's look-ups are linear */
#define ALIASES_MAX	(4 * HM_CFG_ITEMS_MAX)
#define COPIES_MAX	(256 * 1024)	/* nodes that aliases expand to */
#define LIST_MAX	HM_CFG_ITEMS_MAX /* constraints of one CA */
#define STR_MAX		1024		/* bytes of a subject field */
#define WORD_MAX	64		/* bytes of a keyword, duration ... */

#define ROOT_VALIDITY	(10 * HM_YEAR)
#define CA_VALIDITY	(5 * HM_YEAR)
#define NODE_VALIDITY	(90 * 86400LL)
#define RENEW_BEFORE	(30 * 86400LL)

/* What the file says about a collection before aliases are expanded. */
struct ninfo {
	struct hm_cfg_pos	 pos;
	size_t			 size;		/* nodes once expanded */
	int			 height;
	int			 state;		/* 1: being expanded, 2: done */
};

struct ctx {
	const char		*file;
	hm_err			*err;
	struct hm_cfg		*c;
	struct ninfo		*ni;
	size_t			 nni, capni;
	size_t			 copies;
	/* defaults: */
	struct hm_cfg_subject	 dsubj;
	hm_keytype		 dkey;
	int64_t			 dvalidity;
	char			*dout;
	NAME_CONSTRAINTS	**nc;	/* by intermediate, built once */
	size_t			 nnc;
};

static const struct hm_cfg_pos nopos = { 1, 1 };

static int	perr(struct ctx *, struct hm_cfg_pos, int, const char *, ...)
		    __attribute__((format(printf, 4, 5)));

/* "FILE:LINE:COL: message" in x->err. */
static int
perr(struct ctx *x, struct hm_cfg_pos pos, int code, const char *fmt, ...)
{
	char	msg[HM_ERR_MSG_MAX], all[HM_ERR_MSG_MAX];
	va_list	ap;
	size_t	i;
	int	n;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Cut to the size of hm_err.msg: the start matters most. */
	n = snprintf(all, sizeof(all), "%s:%d:%d: %s", x->file, pos.line,
	    pos.col, msg);
	/* What the file says goes to terminals: no control characters. */
	for (i = 0; n > 0 && all[i] != '\0'; i++)
		if ((unsigned char)all[i] < 0x20 || all[i] == 0x7f)
			all[i] = '?';
	return hm_seterr(x->err, code, "%s", all);
}

/* A library helper's error, at pos. */
static int
perr_from(struct ctx *x, struct hm_cfg_pos pos, const hm_err *e)
{
	return perr(x, pos, e->code, "%s", e->msg);
}

static int
nomem(struct ctx *x, struct hm_cfg_pos pos)
{
	return perr(x, pos, HM_E_NOMEM, "out of memory");
}

/* "90d", "10y": what hm_duration_parse reads, for messages. */
static const char *
dur_str(int64_t s, char *buf, size_t len)
{
	if (s % HM_YEAR == 0)
		snprintf(buf, len, "%lldy", (long long)(s / HM_YEAR));
	else if (s % 86400 == 0)
		snprintf(buf, len, "%lldd", (long long)(s / 86400));
	else if (s % 3600 == 0)
		snprintf(buf, len, "%lldh", (long long)(s / 3600));
	else if (s % 60 == 0)
		snprintf(buf, len, "%lldm", (long long)(s / 60));
	else
		snprintf(buf, len, "%llds", (long long)s);
	return buf;
}

/* ---- Positions ---------------------------------------------------------- */

static size_t
meta_index(struct fy_node *n)
{
	return (size_t)(uintptr_t)fy_node_get_meta(n);
}

static struct hm_cfg_pos
token_pos(struct fy_node *n, struct hm_cfg_pos fb)
{
	const struct fy_mark	*m;
	struct fy_token		*t;
	struct hm_cfg_pos	 p;

	if ((t = fy_node_get_scalar_token(n)) == NULL ||
	    (m = fy_token_start_mark(t)) == NULL || m->line < 0 ||
	    m->column < 0)
		return fb;
	p.line = m->line + 1;
	p.col = m->column + 1;
	/* The mark is past the opening quote or the '*'. */
	if (p.col > 1 && (fy_node_get_style(n) == FYNS_SINGLE_QUOTED ||
	    fy_node_get_style(n) == FYNS_DOUBLE_QUOTED ||
	    fy_node_get_style(n) == FYNS_ALIAS))
		p.col--;
	return p;
}

/*
 * Where n starts: noted before resolution, else its token, else its first
 * child's; fb for what has none (an empty collection copied by an alias).
 */
static struct hm_cfg_pos
npos(struct ctx *x, struct fy_node *n, struct hm_cfg_pos fb)
{
	struct fy_node_pair	*p;
	void			*it;
	size_t			 i;
	int			 depth;

	for (depth = 0; n != NULL && depth <= NEST_MAX; depth++) {
		if ((i = meta_index(n)) != 0 && i <= x->nni)
			return x->ni[i - 1].pos;
		it = NULL;
		switch (fy_node_get_type(n)) {
		case FYNT_SCALAR:
			return token_pos(n, fb);
		case FYNT_SEQUENCE:
			n = fy_node_sequence_iterate(n, &it);
			break;
		case FYNT_MAPPING:
			p = fy_node_mapping_iterate(n, &it);
			n = p != NULL ? fy_node_pair_key(p) : NULL;
			break;
		default:
			return fb;
		}
	}
	return fb;
}

/* ---- Before resolution: positions and what aliases expand to --------- */

static int
ni_new(struct ctx *x, struct fy_node *n, struct hm_cfg_pos pos)
{
	struct ninfo	*v;
	size_t		 cap;

	if (x->nni == x->capni) {
		cap = x->capni == 0 ? 256 : x->capni * 2;
		if ((v = reallocarray(x->ni, cap, sizeof(*v))) == NULL)
			return nomem(x, pos);
		x->ni = v;
		x->capni = cap;
	}
	memset(&x->ni[x->nni], 0, sizeof(x->ni[x->nni]));
	x->ni[x->nni].pos = pos;
	x->nni++;
	if (fy_node_set_meta(n, (void *)(uintptr_t)x->nni) != 0)
		x->nni--;	/* then npos() finds the position itself */
	return HM_OK;
}

/*
 * Note the position of every collection and alias of the tree as parsed
 * (*pos: where n starts).
 */
static int
index_tree(struct ctx *x, struct fy_node *n, struct hm_cfg_pos fb,
    int depth, struct hm_cfg_pos *pos)
{
	struct fy_node_pair	*p;
	struct fy_node		*c;
	struct hm_cfg_pos	 first = fb, kp, vp;
	void			*it = NULL;
	int			 rc, any = 0;

	*pos = fb;
	if (n == NULL)
		return HM_OK;
	if (depth > NEST_MAX)
		return perr(x, fb, HM_E_INVALID, "nested deeper than %d "
		    "levels", NEST_MAX);
	switch (fy_node_get_type(n)) {
	case FYNT_SCALAR:
		first = token_pos(n, fb);
		if (fy_node_is_alias(n) &&
		    (rc = ni_new(x, n, first)) != HM_OK)
			return rc;
		break;
	case FYNT_SEQUENCE:
		while ((c = fy_node_sequence_iterate(n, &it)) != NULL) {
			if ((rc = index_tree(x, c, fb, depth + 1, &vp)) !=
			    HM_OK)
				return rc;
			if (!any++)
				first = vp;
		}
		if ((rc = ni_new(x, n, first)) != HM_OK)
			return rc;
		break;
	case FYNT_MAPPING:
		while ((p = fy_node_mapping_iterate(n, &it)) != NULL) {
			if ((rc = index_tree(x, fy_node_pair_key(p), fb,
			    depth + 1, &kp)) != HM_OK ||
			    (rc = index_tree(x, fy_node_pair_value(p), kp,
			    depth + 1, &vp)) != HM_OK)
				return rc;
			if (!any++)
				first = kp;
		}
		if ((rc = ni_new(x, n, first)) != HM_OK)
			return rc;
		break;
	}
	*pos = first;
	return HM_OK;
}

/* Alias n resolves to t, which does not hold n. */
static int
alias_check(struct ctx *x, struct fy_node *n, struct fy_node *t)
{
	const char	*name;
	size_t		 i, l;

	if ((name = fy_node_get_scalar(n, &l)) == NULL) {
		name = "";
		l = 0;
	}
	if (t == NULL || t == n)
		return perr(x, npos(x, n, nopos), HM_E_INVALID, "alias "
		    "*%.*s: no anchor &%.*s before it", (int)(l > 32 ? 32 : l),
		    name, (int)(l > 32 ? 32 : l), name);
	if ((i = meta_index(t)) != 0 && i <= x->nni && x->ni[i - 1].state == 1)
		return perr(x, npos(x, n, nopos), HM_E_INVALID, "alias "
		    "*%.*s is inside the node it names", (int)(l > 32 ? 32 : l),
		    name);
	return HM_OK;
}

/*
 * The size and height n will have once fy_document_resolve() has copied
 * every alias, memoised on the collections: an alias bomb is refused here,
 * before it is built.
 */
static int
expand(struct ctx *x, struct fy_node *n, int depth, size_t *size,
    int *height)
{
	struct fy_node_pair	*p;
	struct fy_node		*c, *t;
	struct ninfo		*ni = NULL;
	void			*it = NULL;
	size_t			 i, sum = 1, s, ks;
	int			 h, kh, maxh = 0, rc;

	*size = 0;
	*height = 0;
	if (n == NULL)
		return HM_OK;
	if (depth > NEST_MAX)
		return perr(x, npos(x, n, nopos), HM_E_INVALID, "nested "
		    "deeper than %d levels once aliases are expanded",
		    NEST_MAX);
	if ((i = meta_index(n)) != 0 && i <= x->nni) {
		ni = &x->ni[i - 1];
		if (ni->state != 0) {
			/* Being expanded: a cycle, which resolution reports. */
			*size = ni->state == 2 ? ni->size : 1;
			*height = ni->state == 2 ? ni->height : 1;
			return HM_OK;
		}
		ni->state = 1;
	}
	if (fy_node_is_alias(n)) {
		s = 1;
		h = 1;
		t = fy_node_resolve_alias(n);
		if ((rc = alias_check(x, n, t)) != HM_OK)
			return rc;
		if (fy_node_get_type(t) != FYNT_SCALAR &&
		    (rc = expand(x, t, depth + 1, &s, &h)) != HM_OK)
			return rc;
		x->copies += s;
		if (x->copies > COPIES_MAX)
			return perr(x, npos(x, n, nopos), HM_E_TOOBIG,
			    "aliases expand to more than %d nodes", COPIES_MAX);
		if (depth + h > NEST_MAX)
			return perr(x, npos(x, n, nopos), HM_E_INVALID,
			    "nested deeper than %d levels once aliases are "
			    "expanded", NEST_MAX);
		sum = s;
		maxh = h - 1;
	} else if (fy_node_get_type(n) == FYNT_SEQUENCE) {
		while ((c = fy_node_sequence_iterate(n, &it)) != NULL) {
			if ((rc = expand(x, c, depth + 1, &s, &h)) != HM_OK)
				return rc;
			sum += s;
			if (h > maxh)
				maxh = h;
		}
	} else if (fy_node_get_type(n) == FYNT_MAPPING) {
		while ((p = fy_node_mapping_iterate(n, &it)) != NULL) {
			if ((rc = expand(x, fy_node_pair_key(p), depth + 1,
			    &ks, &kh)) != HM_OK ||
			    (rc = expand(x, fy_node_pair_value(p), depth + 1,
			    &s, &h)) != HM_OK)
				return rc;
			sum += ks + s;
			if (kh > maxh)
				maxh = kh;
			if (h > maxh)
				maxh = h;
		}
	}
	*size = sum;
	*height = maxh + 1;
	if (ni != NULL) {
		ni->size = sum;
		ni->height = maxh + 1;
		ni->state = 2;
	}
	return HM_OK;
}

/* ---- Reading the YAML ---------------------------------------------------- */

static void
diag_quiet(struct fy_diag *d, void *user, const char *buf, size_t len)
{
	(void)d;
	(void)user;
	(void)buf;
	(void)len;
}

/* The first error libfyaml collected (1-based positions), else what. */
static int
yaml_error(struct ctx *x, struct fy_diag *diag, const char *what)
{
	struct fy_diag_error	*e;
	struct hm_cfg_pos	 pos = nopos;
	void			*it = NULL;

	while ((e = fy_diag_errors_iterate(diag, &it)) != NULL) {
		if (e->type < FYET_ERROR)
			continue;
		pos.line = e->line > 0 ? e->line : 1;
		pos.col = e->column > 0 ? e->column : 1;
		return perr(x, pos, HM_E_INVALID, "%s", e->msg != NULL &&
		    e->msg[0] != '\0' ? e->msg : what);
	}
	return perr(x, pos, HM_E_INVALID, "%s", what);
}

/*
 * YAML's printable characters in UTF-8 (YAML 1.2, 5.1), and nothing else:
 * libfyaml 0.7.12 can loop forever on invalid UTF-8 in a directive.  Nor
 * four apostrophes in a row: it misreads two escaped quotes in a row in a
 * single-quoted string (wrong text, a leak, reads of stale memory).
 */
static int
text_check(struct ctx *x, const char *buf, size_t len)
{
	const unsigned char	*p = (const unsigned char *)buf;
	struct hm_cfg_pos	 pos = nopos, qpos = nopos;
	unsigned long		 cp;
	size_t			 i = 0, n, k, quotes = 0;

	while (i < len) {
		if (p[i] < 0x80) {
			cp = p[i];
			n = 1;
		} else if (p[i] >= 0xc2 && p[i] <= 0xdf) {
			cp = p[i] & 0x1f;
			n = 2;
		} else if (p[i] >= 0xe0 && p[i] <= 0xef) {
			cp = p[i] & 0x0f;
			n = 3;
		} else if (p[i] >= 0xf0 && p[i] <= 0xf4) {
			cp = p[i] & 0x07;
			n = 4;
		} else
			goto bad;
		if (n > len - i)
			goto bad;
		for (k = 1; k < n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				goto bad;
			cp = cp << 6 | (p[i + k] & 0x3f);
		}
		/* Overlong forms, surrogates, beyond U+10FFFF. */
		if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			goto bad;
		if ((cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r') ||
		    (cp >= 0x7f && cp <= 0x9f && cp != 0x85) ||
		    cp == 0xfffe || cp == 0xffff)
			return perr(x, pos, HM_E_INVALID, "character U+%04lX "
			    "is not allowed in YAML", cp);
		if (cp != '\'')
			quotes = 0;
		else if (quotes++ == 0)
			qpos = pos;
		else if (quotes == 4)
			return perr(x, qpos, HM_E_INVALID, "four ' in a row: "
			    "write this string in double quotes");
		i += n;
		if (cp == '\n') {
			pos.line++;
			pos.col = 1;
		} else
			pos.col++;
	}
	return HM_OK;
 bad:
	return perr(x, pos, HM_E_INVALID, "not UTF-8 (byte 0x%02x): the "
	    "file must be UTF-8 text", p[i]);
}

/* A fresh parser of buf reporting to diag. */
static struct fy_parser *
parser_new(struct fy_diag *diag, const char *buf, size_t len)
{
	struct fy_parse_cfg	 pcfg;
	struct fy_parser	*fyp;

	memset(&pcfg, 0, sizeof(pcfg));
	/* Duplicate keys are errors unless FYPCF_ALLOW_DUPLICATE_KEYS. */
	pcfg.flags = FYPCF_QUIET | FYPCF_JSON_NONE;
	pcfg.diag = diag;
	if ((fyp = fy_parser_create(&pcfg)) == NULL)
		return NULL;
	if (fy_parser_set_string(fyp, len > 0 ? buf : "", len) != 0) {
		fy_parser_destroy(fyp);
		return NULL;
	}
	return fyp;
}

static struct hm_cfg_pos
event_pos(struct fy_event *fye)
{
	const struct fy_mark	*m = fy_event_start_mark(fye);
	struct hm_cfg_pos	 p = nopos;

	if (m != NULL && m->line >= 0 && m->column >= 0) {
		p.line = m->line + 1;
		p.col = m->column + 1;
	}
	return p;
}

/*
 * The stream as events, before any document is built: one document, and
 * few enough anchors and aliases.  libfyaml searches the list of anchors
 * for every alias it resolves and for every node it frees.
 */
static int
yaml_precheck(struct ctx *x, struct fy_diag *diag, const char *buf,
    size_t len)
{
	struct fy_parser	*fyp;
	struct fy_event		*fye;
	size_t			 anchors = 0, aliases = 0, docs = 0;
	int			 rc = HM_OK;

	if ((fyp = parser_new(diag, buf, len)) == NULL)
		return nomem(x, nopos);
	while (rc == HM_OK && (fye = fy_parser_parse(fyp)) != NULL) {
		if (fye->type == FYET_DOCUMENT_START && ++docs > 1)
			rc = perr(x, event_pos(fye), HM_E_INVALID, "a second "
			    "YAML document; the file must hold one");
		else if (fy_event_get_anchor_token(fye) != NULL &&
		    ++anchors > ANCHORS_MAX)
			rc = perr(x, event_pos(fye), HM_E_TOOBIG, "more than "
			    "%d anchors", ANCHORS_MAX);
		else if (fye->type == FYET_ALIAS && ++aliases > ALIASES_MAX)
			rc = perr(x, event_pos(fye), HM_E_TOOBIG, "more than "
			    "%d aliases", ALIASES_MAX);
		fy_parser_event_free(fyp, fye);
	}
	fy_parser_destroy(fyp);
	if (rc != HM_OK)
		return rc;
	if (fy_diag_got_error(diag))
		return yaml_error(x, diag, "YAML error");
	if (docs == 0)
		return perr(x, nopos, HM_E_INVALID, "no YAML document: the "
		    "file must be a mapping with a 'root' key");
	return HM_OK;
}

/*
 * Parse buf into one resolved document (*out), with the diag and the
 * parser it needs until it is destroyed (*diagp, *fypp).
 */
static int
yaml_load(struct ctx *x, const char *buf, size_t len, struct fy_diag **diagp,
    struct fy_parser **fypp, struct fy_document **out)
{
	struct fy_diag_cfg	 dcfg;
	struct fy_diag		*diag;
	struct fy_parser	*fyp;
	struct fy_document	*fyd;
	struct hm_cfg_pos	 pos;
	size_t			 size;
	int			 height, rc;

	fy_diag_cfg_default(&dcfg);
	dcfg.fp = NULL;		/* the library never prints */
	dcfg.output_fn = diag_quiet;
	dcfg.user = NULL;
	dcfg.level = FYET_ERROR;
	dcfg.colorize = false;
	if ((diag = fy_diag_create(&dcfg)) == NULL)
		return nomem(x, nopos);
	fy_diag_set_collect_errors(diag, true);
	*diagp = diag;
	if ((rc = text_check(x, buf, len)) != HM_OK ||
	    (rc = yaml_precheck(x, diag, buf, len)) != HM_OK)
		return rc;
	if ((fyp = parser_new(diag, buf, len)) == NULL)
		return nomem(x, nopos);
	*fypp = fyp;
	if ((fyd = fy_parse_load_document(fyp)) == NULL)
		return yaml_error(x, diag, "no YAML document");
	if (fy_diag_got_error(diag)) {
		fy_parse_document_destroy(fyp, fyd);
		return yaml_error(x, diag, "YAML error");
	}
	if ((rc = index_tree(x, fy_document_root(fyd), nopos, 0, &pos)) !=
	    HM_OK ||
	    (rc = expand(x, fy_document_root(fyd), 0, &size, &height)) !=
	    HM_OK) {
		fy_parse_document_destroy(fyp, fyd);
		return rc;
	}
	if (fy_document_resolve(fyd) != 0 || fy_diag_got_error(diag)) {
		fy_parse_document_destroy(fyp, fyd);
		return yaml_error(x, diag, "bad alias or merge key");
	}
	*out = fyd;
	return HM_OK;
}

/* ---- Values -------------------------------------------------------------- */

static const char *
kind(struct fy_node *n)
{
	if (n == NULL)
		return "nothing";
	switch (fy_node_get_type(n)) {
	case FYNT_SEQUENCE:
		return "a sequence";
	case FYNT_MAPPING:
		return "a mapping";
	default:
		return "a string";
	}
}

/* Plain "", "~" and "null": YAML's null. */
static int
is_null(struct fy_node *n, const char *t, size_t l)
{
	if (fy_node_get_style(n) != FYNS_PLAIN)
		return 0;
	return l == 0 || (l == 1 && t[0] == '~') || (l == 4 &&
	    (memcmp(t, "null", 4) == 0 || memcmp(t, "Null", 4) == 0 ||
	    memcmp(t, "NULL", 4) == 0));
}

static int
untagged(struct ctx *x, struct fy_node *n, struct hm_cfg_pos pos,
    const char *key)
{
	const struct fy_mark	*m;
	struct fy_token		*t;
	size_t			 l;

	if (n == NULL || fy_node_get_tag(n, &l) == NULL)
		return HM_OK;
	if ((t = fy_node_get_tag_token(n)) != NULL &&
	    (m = fy_token_start_mark(t)) != NULL && m->line >= 0 &&
	    m->column >= 0) {
		pos.line = m->line + 1;
		pos.col = m->column + 1;
	}
	return perr(x, pos, HM_E_INVALID, "%s: YAML tags are not supported "
	    "here", key);
}

/* The text of scalar v (not NUL-terminated), want saying what it must be. */
static int
scalar(struct ctx *x, struct fy_node *v, struct hm_cfg_pos pos,
    const char *key, const char *want, const char **s, size_t *len)
{
	const char	*t;
	size_t		 l = 0;
	int		 rc;

	if (v == NULL || fy_node_get_type(v) != FYNT_SCALAR)
		return perr(x, pos, HM_E_INVALID, "%s: expected %s, not %s",
		    key, want, kind(v));
	if ((rc = untagged(x, v, pos, key)) != HM_OK)
		return rc;
	if ((t = fy_node_get_scalar(v, &l)) == NULL) {
		t = "";
		l = 0;
	}
	if (is_null(v, t, l))
		return perr(x, pos, HM_E_INVALID, "%s: no value (expected %s)",
		    key, want);
	if (memchr(t, '\0', l) != NULL)
		return perr(x, pos, HM_E_INVALID, "%s: holds a NUL character",
		    key);
	*s = t;
	*len = l;
	return HM_OK;
}

/* A malloc'd copy of string v, at most max bytes. */
static int
get_str(struct ctx *x, struct fy_node *v, struct hm_cfg_pos pos,
    const char *key, size_t max, char **out)
{
	const char	*t = "";
	size_t		 l = 0;
	char		*s;
	int		 rc;

	if ((rc = scalar(x, v, pos, key, "a string", &t, &l)) != HM_OK)
		return rc;
	if (l > max)
		return perr(x, pos, HM_E_INVALID, "%s: longer than %zu bytes",
		    key, max);
	if ((s = strndup(t, l)) == NULL)
		return nomem(x, pos);
	free(*out);
	*out = s;
	return HM_OK;
}

/* A short scalar (keyword, number, duration) into buf. */
static int
get_word(struct ctx *x, struct fy_node *v, struct hm_cfg_pos pos,
    const char *key, const char *want, char buf[WORD_MAX])
{
	const char	*t = "";
	size_t		 l = 0;
	int		 rc;

	if ((rc = scalar(x, v, pos, key, want, &t, &l)) != HM_OK)
		return rc;
	if (l >= WORD_MAX)
		return perr(x, pos, HM_E_INVALID, "%s: expected %s", key,
		    want);
	memcpy(buf, t, l);
	buf[l] = '\0';
	return HM_OK;
}

static int
get_bool(struct ctx *x, struct fy_node *v, struct hm_cfg_pos pos,
    const char *key, int *out)
{
	char	w[WORD_MAX];
	int	rc;

	if ((rc = get_word(x, v, pos, key, "true or false", w)) != HM_OK)
		return rc;
	if (fy_node_get_style(v) != FYNS_PLAIN)
		return perr(x, pos, HM_E_INVALID, "%s: expected true or "
		    "false, unquoted", key);
	if (strcmp(w, "true") == 0)
		*out = 1;
	else if (strcmp(w, "false") == 0)
		*out = 0;
	else
		return perr(x, pos, HM_E_INVALID, "%s: expected true or "
		    "false, not '%.32s'", key, w);
	return HM_OK;
}

static int
get_int(struct ctx *x, struct fy_node *v, struct hm_cfg_pos pos,
    const char *key, int min, int max, int *out)
{
	char	w[WORD_MAX];
	long	n = 0;
	size_t	i;
	int	rc;

	if ((rc = get_word(x, v, pos, key, "an integer", w)) != HM_OK)
		return rc;
	if (fy_node_get_style(v) != FYNS_PLAIN)
		return perr(x, pos, HM_E_INVALID, "%s: expected an integer "
		    "from %d to %d, unquoted", key, min, max);
	for (i = 0; w[i] >= '0' && w[i] <= '9' && i < 9; i++)
		n = n * 10 + (w[i] - '0');
	if (i == 0 || w[i] != '\0' || n < min || n > max)
		return perr(x, pos, HM_E_INVALID, "%s: expected an integer "
		    "from %d to %d, not '%.32s'", key, min, max, w);
	*out = (int)n;
	return HM_OK;
}

static int
get_duration(struct ctx *x, struct fy_node *v, struct hm_cfg_pos pos,
    const char *key, int64_t *out)
{
	char	w[WORD_MAX];
	hm_err	e;
	int	rc;

	if ((rc = get_word(x, v, pos, key, "a duration (90d, 1y)", w)) !=
	    HM_OK)
		return rc;
	if (hm_duration_parse(w, out, &e) != HM_OK)
		return perr_from(x, pos, &e);
	return HM_OK;
}

static int
get_keytype(struct ctx *x, struct fy_node *v, struct hm_cfg_pos pos,
    hm_keytype *out)
{
	char	w[WORD_MAX];
	hm_err	e;
	int	rc;

	if ((rc = get_word(x, v, pos, "key_type", "a key type (p256)", w)) !=
	    HM_OK)
		return rc;
	if (hm_keytype_parse(w, out, &e) != HM_OK)
		return perr_from(x, pos, &e);
	return HM_OK;
}

/* base/p, or p when it is absolute or base is "." */
static int
path_join(struct ctx *x, struct hm_cfg_pos pos, const char *base,
    const char *p, char **out)
{
	char	*s;
	int	 n;

	if (p[0] == '\0')
		return perr(x, pos, HM_E_INVALID, "empty path");
	if (p[0] == '/' || base == NULL || base[0] == '\0' ||
	    strcmp(base, ".") == 0)
		n = asprintf(&s, "%s", p);
	else
		n = asprintf(&s, "%s%s%s", base,
		    base[strlen(base) - 1] == '/' ? "" : "/", p);
	if (n < 0)
		return nomem(x, pos);
	if ((size_t)n >= HM_PATH_MAX) {
		free(s);
		return perr(x, pos, HM_E_INVALID, "path longer than %d bytes",
		    HM_PATH_MAX - 1);
	}
	free(*out);
	*out = s;
	return HM_OK;
}

/* A path, resolved against the file's directory. */
static int
get_path(struct ctx *x, struct fy_node *v, struct hm_cfg_pos pos,
    const char *key, char **out)
{
	char	*s = NULL;
	int	 rc;

	if ((rc = get_str(x, v, pos, key, HM_PATH_MAX, &s)) == HM_OK)
		rc = path_join(x, pos, x->c->dir, s, out);
	free(s);
	return rc;
}

/* ---- Mappings ------------------------------------------------------------ */

/* The key of p as a C string (made unlike every key when it is odd). */
static int
pair_key(struct ctx *x, struct fy_node_pair *p, struct hm_cfg_pos fb,
    char *buf, size_t len, struct hm_cfg_pos *pos)
{
	struct fy_node	*k = fy_node_pair_key(p);
	const char	*t;
	size_t		 l, i;

	*pos = npos(x, k, fb);
	if (k == NULL || fy_node_get_type(k) != FYNT_SCALAR ||
	    fy_node_get_tag(k, &l) != NULL)
		return perr(x, *pos, HM_E_INVALID, "keys must be plain "
		    "strings");
	if ((t = fy_node_get_scalar(k, &l)) == NULL)
		l = 0;
	if (l == 0)
		return perr(x, *pos, HM_E_INVALID, "empty key");
	for (i = 0; i < l && i < len - 1; i++)
		buf[i] = (unsigned char)t[i] < 0x20 ? '?' : t[i];
	buf[i] = '\0';
	return HM_OK;
}

static int
key_known(struct ctx *x, const char *key, struct hm_cfg_pos pos,
    const char *const *keys, const char *list, const char *where)
{
	size_t	i;

	for (i = 0; keys[i] != NULL; i++)
		if (strcmp(key, keys[i]) == 0)
			return HM_OK;
	return perr(x, pos, HM_E_INVALID, "unknown key '%.24s' in %s "
	    "(expected one of: %s)", key, where, list);
}

/* The value of key in mapping m, and where the key is, or NULL. */
static struct fy_node *
find_key(struct ctx *x, struct fy_node *m, const char *key,
    struct hm_cfg_pos fb, struct hm_cfg_pos *pos)
{
	struct fy_node_pair	*p;
	struct fy_node		*k;
	const char		*t;
	void			*it = NULL;
	size_t			 l, kl = strlen(key);

	while ((p = fy_node_mapping_iterate(m, &it)) != NULL) {
		k = fy_node_pair_key(p);
		if (k == NULL || fy_node_get_type(k) != FYNT_SCALAR ||
		    (t = fy_node_get_scalar(k, &l)) == NULL || l != kl ||
		    memcmp(t, key, l) != 0)
			continue;
		*pos = npos(x, k, fb);
		return fy_node_pair_value(p);
	}
	return NULL;
}

static int
want_map(struct ctx *x, struct fy_node *v, struct hm_cfg_pos pos,
    const char *what)
{
	if (v == NULL || fy_node_get_type(v) != FYNT_MAPPING)
		return perr(x, pos, HM_E_INVALID, "%s: expected a mapping, "
		    "not %s", what, kind(v));
	return untagged(x, v, pos, what);
}

static int
want_seq(struct ctx *x, struct fy_node *v, struct hm_cfg_pos pos,
    const char *what)
{
	if (v == NULL || fy_node_get_type(v) != FYNT_SEQUENCE)
		return perr(x, pos, HM_E_INVALID, "%s: expected a sequence, "
		    "not %s", what, kind(v));
	return untagged(x, v, pos, what);
}

/* Names of CAs, profiles and nodes: 1-64 of [a-z0-9._-], [a-z0-9] first. */
static int
name_ok(const char *s)
{
	size_t	i;

	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') ||
		    (i > 0 && (s[i] == '.' || s[i] == '_' || s[i] == '-'))))
			return 0;
	return i >= 1 && i <= HM_CA_NAME_MAX;
}

/* The required name of an item (what: "node") into *out. */
static int
item_name(struct ctx *x, struct fy_node *m, struct hm_cfg_pos pos,
    const char *what, char **out)
{
	struct fy_node		*v;
	struct hm_cfg_pos	 kp, vp;
	int			 rc;

	if ((v = find_key(x, m, "name", pos, &kp)) == NULL)
		return perr(x, pos, HM_E_INVALID, "%s without a name (name: "
		    "is required)", what);
	vp = npos(x, v, kp);
	if ((rc = get_str(x, v, vp, "name", STR_MAX, out)) != HM_OK)
		return rc;
	if (!name_ok(*out))
		return perr(x, vp, HM_E_INVALID, "bad %s name '%.64s' (want 1 "
		    "to 64 of a-z, 0-9, '.', '_', '-', starting with a letter "
		    "or digit)", what, *out);
	return HM_OK;
}

/* ---- Sections ------------------------------------------------------------ */

static int
parse_subject(struct ctx *x, struct fy_node *m, struct hm_cfg_pos kpos,
    struct hm_cfg_subject *s, int allow_cn)
{
	static const char *const keys[] = {
		"C", "ST", "L", "O", "OU", "CN", NULL
	};
	struct fy_node_pair	*p;
	struct fy_node		*v;
	struct hm_cfg_pos	 kp, vp;
	hm_err			 e;
	char			 key[WORD_MAX], **dst;
	void			*it = NULL;
	int			 rc;

	if ((rc = want_map(x, m, npos(x, m, kpos), "subject")) != HM_OK)
		return rc;
	while ((p = fy_node_mapping_iterate(m, &it)) != NULL) {
		if ((rc = pair_key(x, p, kpos, key, sizeof(key), &kp)) !=
		    HM_OK || (rc = key_known(x, key, kp, keys,
		    "C, ST, L, O, OU, CN", "subject")) != HM_OK)
			return rc;
		v = fy_node_pair_value(p);
		vp = npos(x, v, kp);
		if (strcmp(key, "CN") == 0 && !allow_cn)
			return perr(x, kp, HM_E_INVALID, "CN can not be a "
			    "default: each CA and node has its own (its name "
			    "unless it sets one)");
		dst = strcmp(key, "C") == 0 ? &s->c :
		    strcmp(key, "ST") == 0 ? &s->st :
		    strcmp(key, "L") == 0 ? &s->l :
		    strcmp(key, "O") == 0 ? &s->o :
		    strcmp(key, "OU") == 0 ? &s->ou : &s->cn;
		if ((rc = get_str(x, v, vp, key, STR_MAX, dst)) != HM_OK)
			return rc;
		if (dst == &s->c) {
			if (strlen(s->c) != 2 || s->c[0] < 'A' ||
			    s->c[0] > 'Z' || s->c[1] < 'A' || s->c[1] > 'Z')
				return perr(x, vp, HM_E_INVALID, "country "
				    "'%.8s' is not two capital letters (ISO "
				    "3166: US, DE, ...)", s->c);
		} else if (hm_cn_check(*dst, &e) != HM_OK) {
			if (dst == &s->cn)
				return perr_from(x, vp, &e);
			return perr(x, vp, HM_E_INVALID, "subject %s must be 1 "
			    "to 64 characters of printable UTF-8, not "
			    "starting or ending with a space", key);
		}
	}
	return HM_OK;
}

/* Fill what s lacks from the defaults; the CN from name. */
static int
subject_defaults(struct ctx *x, struct hm_cfg_subject *s, const char *name,
    struct hm_cfg_pos pos)
{
	const struct {
		char		**dst;
		const char	*src;
	} f[] = {
		{ &s->c, x->dsubj.c }, { &s->st, x->dsubj.st },
		{ &s->l, x->dsubj.l }, { &s->o, x->dsubj.o },
		{ &s->ou, x->dsubj.ou }, { &s->cn, name },
	};
	size_t	i;

	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (*f[i].dst == NULL && f[i].src != NULL &&
		    (*f[i].dst = strdup(f[i].src)) == NULL)
			return nomem(x, pos);
	return HM_OK;
}

static int
is_pass_key(const char *key)
{
	return strcmp(key, "passphrase_env") == 0 ||
	    strcmp(key, "passphrase_file") == 0 ||
	    strcmp(key, "passphrase_prompt") == 0;
}

static int
parse_pass(struct ctx *x, const char *key, struct fy_node *v,
    struct hm_cfg_pos kp, struct hm_cfg_pass *ps)
{
	static const char *const names[] = {
		NULL, "passphrase_env", "passphrase_file", "passphrase_prompt"
	};
	struct hm_cfg_pos	 vp = npos(x, v, kp);
	char			*s = NULL;
	size_t			 i;
	int			 rc, yes;

	if (strcmp(key, "passphrase_prompt") == 0) {
		if ((rc = get_bool(x, v, vp, key, &yes)) != HM_OK)
			return rc;
		if (!yes)
			return HM_OK;
	}
	if (ps->kind != HM_CFG_PASS_NONE)
		return perr(x, kp, HM_E_INVALID, "%s: give one passphrase "
		    "source only (%s is at line %d)", key, names[ps->kind],
		    ps->pos.line);
	if (strcmp(key, "passphrase_prompt") == 0) {
		ps->kind = HM_CFG_PASS_PROMPT;
		ps->pos = kp;
		return HM_OK;
	}
	if (strcmp(key, "passphrase_file") == 0) {
		if ((rc = get_path(x, v, vp, key, &ps->value)) != HM_OK)
			return rc;
		ps->kind = HM_CFG_PASS_FILE;
		ps->pos = kp;
		return HM_OK;
	}
	if ((rc = get_str(x, v, vp, key, WORD_MAX, &s)) != HM_OK)
		return rc;
	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= 'a' && s[i] <= 'z') || s[i] == '_' ||
		    (i > 0 && s[i] >= '0' && s[i] <= '9')))
			break;
	if (i == 0 || s[i] != '\0') {
		rc = perr(x, vp, HM_E_INVALID, "passphrase_env: bad variable "
		    "name '%.32s' (want [A-Za-z_][A-Za-z0-9_]*)", s);
		free(s);
		return rc;
	}
	ps->kind = HM_CFG_PASS_ENV;
	ps->value = s;
	ps->pos = kp;
	return HM_OK;
}

/* A sequence of constraint specs into *out, *n. */
static int
parse_nc_list(struct ctx *x, struct fy_node *v, struct hm_cfg_pos kp,
    const char *key, char ***out, size_t *n)
{
	struct fy_node		*c;
	struct hm_cfg_pos	 vp = npos(x, v, kp), ip;
	hm_err			 e;
	void			*it = NULL;
	int			 count, rc;

	if ((rc = want_seq(x, v, vp, key)) != HM_OK)
		return rc;
	if ((count = fy_node_sequence_item_count(v)) <= 0)
		return perr(x, kp, HM_E_INVALID, "%s: empty list", key);
	if (count > LIST_MAX)
		return perr(x, kp, HM_E_TOOBIG, "%s: more than %d names", key,
		    LIST_MAX);
	if ((*out = calloc((size_t)count, sizeof(**out))) == NULL)
		return nomem(x, kp);
	while ((c = fy_node_sequence_iterate(v, &it)) != NULL &&
	    *n < (size_t)count) {
		ip = npos(x, c, vp);
		if ((rc = get_str(x, c, ip, key, STR_MAX, &(*out)[*n])) !=
		    HM_OK)
			return rc;
		(*n)++;
		if (hm_constraint_check((*out)[*n - 1], &e) != HM_OK)
			return perr_from(x, ip, &e);
	}
	return HM_OK;
}

/* constraints: auto, or a mapping of permitted and excluded lists. */
static int
parse_nc(struct ctx *x, struct fy_node *v, struct hm_cfg_pos kp,
    struct hm_cfg_constraints *nc)
{
	static const char *const keys[] = { "permitted", "excluded", NULL };
	struct fy_node_pair	*p;
	struct hm_cfg_pos	 vp = npos(x, v, kp), pkp;
	char			 key[WORD_MAX];
	void			*it = NULL;
	int			 rc;

	nc->set = 1;
	nc->pos = kp;
	if (v != NULL && fy_node_get_type(v) == FYNT_SCALAR) {
		if ((rc = get_word(x, v, vp, "constraints", "auto or a "
		    "mapping", key)) != HM_OK)
			return rc;
		if (strcmp(key, "auto") != 0)
			return perr(x, vp, HM_E_INVALID, "constraints: "
			    "expected auto or a mapping with permitted and/or "
			    "excluded, not '%.32s'", key);
		nc->automatic = 1;
		return HM_OK;
	}
	if ((rc = want_map(x, v, vp, "constraints")) != HM_OK)
		return rc;
	if (fy_node_mapping_item_count(v) <= 0)
		return perr(x, kp, HM_E_INVALID, "constraints: give permitted "
		    "and/or excluded names, or auto");
	while ((p = fy_node_mapping_iterate(v, &it)) != NULL) {
		if ((rc = pair_key(x, p, vp, key, sizeof(key), &pkp)) !=
		    HM_OK || (rc = key_known(x, key, pkp, keys,
		    "permitted, excluded", "constraints")) != HM_OK)
			return rc;
		if (strcmp(key, "permitted") == 0)
			rc = parse_nc_list(x, fy_node_pair_value(p), pkp, key,
			    &nc->permitted, &nc->npermitted);
		else
			rc = parse_nc_list(x, fy_node_pair_value(p), pkp, key,
			    &nc->excluded, &nc->nexcluded);
		if (rc != HM_OK)
			return rc;
	}
	return HM_OK;
}

static int
strv_copy(char **src, size_t n, char ***dst, size_t *dn)
{
	size_t	i;

	if (n == 0)
		return HM_OK;
	if ((*dst = calloc(n, sizeof(**dst))) == NULL)
		return HM_E_NOMEM;
	for (i = 0; i < n; i++) {
		if (((*dst)[i] = strdup(src[i])) == NULL)
			return HM_E_NOMEM;
		(*dn)++;
	}
	return HM_OK;
}

static int
nc_copy(struct ctx *x, const struct hm_cfg_constraints *src,
    struct hm_cfg_constraints *dst, struct hm_cfg_pos pos)
{
	dst->set = src->set;
	dst->automatic = src->automatic;
	dst->pos = src->pos;
	if (strv_copy(src->permitted, src->npermitted, &dst->permitted,
	    &dst->npermitted) != HM_OK || strv_copy(src->excluded,
	    src->nexcluded, &dst->excluded, &dst->nexcluded) != HM_OK)
		return nomem(x, pos);
	return HM_OK;
}

static int
parse_defaults(struct ctx *x, struct fy_node *m, struct hm_cfg_pos kpos)
{
	static const char *const keys[] = {
		"subject", "key_type", "validity", "renew_before", "out_dir",
		NULL
	};
	struct fy_node_pair	*p;
	struct fy_node		*v;
	struct hm_cfg_pos	 kp, vp;
	char			 key[WORD_MAX];
	void			*it = NULL;
	int			 rc;

	if ((rc = want_map(x, m, npos(x, m, kpos), "defaults")) != HM_OK)
		return rc;
	while ((p = fy_node_mapping_iterate(m, &it)) != NULL) {
		if ((rc = pair_key(x, p, kpos, key, sizeof(key), &kp)) !=
		    HM_OK || (rc = key_known(x, key, kp, keys, "subject, "
		    "key_type, validity, renew_before, out_dir", "defaults")) !=
		    HM_OK)
			return rc;
		v = fy_node_pair_value(p);
		vp = npos(x, v, kp);
		if (strcmp(key, "subject") == 0)
			rc = parse_subject(x, v, kp, &x->dsubj, 0);
		else if (strcmp(key, "key_type") == 0)
			rc = get_keytype(x, v, vp, &x->dkey);
		else if (strcmp(key, "validity") == 0)
			rc = get_duration(x, v, vp, key, &x->dvalidity);
		else if (strcmp(key, "renew_before") == 0)
			rc = get_duration(x, v, vp, key, &x->c->renew_before);
		else
			rc = get_path(x, v, vp, key, &x->dout);
		if (rc != HM_OK)
			return rc;
	}
	return HM_OK;
}

static const char *const profile_keys[] = {
	"name", "ca", "key_usage", "extended_key_usage", "validity",
	"pathlen", "constraints", "san_required", "wildcards", NULL
};

static const struct {
	const char	*name;
	unsigned	 bit;
} ku_names[] = {
	{ "digitalSignature", HM_KU_DIGITAL_SIGNATURE },
	{ "keyEncipherment", HM_KU_KEY_ENCIPHERMENT },
	{ "keyAgreement", HM_KU_KEY_AGREEMENT },
	{ "keyCertSign", HM_KU_KEY_CERT_SIGN },
	{ "cRLSign", HM_KU_CRL_SIGN },
}, eku_names[] = {
	{ "serverAuth", HM_EKU_SERVER },
	{ "clientAuth", HM_EKU_CLIENT },
	{ "codeSigning", HM_EKU_CODE_SIGNING },
	{ "emailProtection", HM_EKU_EMAIL },
	{ "timeStamping", HM_EKU_TIME_STAMPING },
	{ "OCSPSigning", HM_EKU_OCSP_SIGNING },
};

/* key_usage or extended_key_usage of profile pr into *bits. */
static int
parse_usage(struct ctx *x, struct fy_node *v, struct hm_cfg_pos kp,
    const char *key, const struct hm_cfg_profile *pr, unsigned *bits)
{
	struct fy_node		*c;
	struct hm_cfg_pos	 vp = npos(x, v, kp), ip;
	char			 w[WORD_MAX];
	void			*it = NULL;
	size_t			 i;
	int			 eku = key[0] == 'e', rc;

	if ((rc = want_seq(x, v, vp, key)) != HM_OK)
		return rc;
	if (fy_node_sequence_item_count(v) <= 0)
		return perr(x, kp, HM_E_INVALID, "%s: empty list", key);
	while ((c = fy_node_sequence_iterate(v, &it)) != NULL) {
		ip = npos(x, c, vp);
		if ((rc = get_word(x, c, ip, key, "a usage name", w)) != HM_OK)
			return rc;
		for (i = 0; !eku && i < sizeof(ku_names) / sizeof(ku_names[0]);
		    i++)
			if (strcmp(w, ku_names[i].name) == 0)
				break;
		if (!eku && i == sizeof(ku_names) / sizeof(ku_names[0]))
			return perr(x, ip, HM_E_INVALID, "unknown key usage "
			    "'%.32s' (want digitalSignature, keyEncipherment, "
			    "keyAgreement, keyCertSign or cRLSign)", w);
		if (!eku && (ku_names[i].bit & (HM_KU_KEY_CERT_SIGN |
		    HM_KU_CRL_SIGN)) && !pr->ca)
			return perr(x, ip, HM_E_INVALID, "%s is for CA "
			    "certificates only, which always have it", w);
		if (!eku) {
			*bits |= ku_names[i].bit;
			continue;
		}
		for (i = 0; i < sizeof(eku_names) / sizeof(eku_names[0]); i++)
			if (strcmp(w, eku_names[i].name) == 0)
				break;
		if (i == sizeof(eku_names) / sizeof(eku_names[0]))
			return perr(x, ip, HM_E_INVALID, "unknown extended key "
			    "usage '%.32s' (want serverAuth, clientAuth, "
			    "codeSigning, emailProtection, timeStamping or "
			    "OCSPSigning)", w);
		*bits |= eku_names[i].bit;
	}
	return HM_OK;
}

static int
parse_profile(struct ctx *x, struct fy_node *m, struct hm_cfg_pos fb,
    size_t idx)
{
	struct hm_cfg_profile	*pr = &x->c->profiles[idx];
	struct fy_node_pair	*p;
	struct fy_node		*v;
	struct hm_cfg_pos	 kp, vp;
	hm_profile_id		 id;
	char			 key[WORD_MAX], where[96];
	void			*it = NULL;
	size_t			 i;
	int			 rc;

	pr->pathlen = pr->san_required = pr->wildcards = -1;
	pr->pos = npos(x, m, fb);
	if ((rc = want_map(x, m, pr->pos, "profiles entry")) != HM_OK ||
	    (rc = item_name(x, m, pr->pos, "profile", &pr->name)) != HM_OK)
		return rc;
	v = find_key(x, m, "name", pr->pos, &kp);
	vp = npos(x, v, kp);
	if (hm_profile_parse(pr->name, &id, NULL) == HM_OK ||
	    strcmp(pr->name, "root") == 0 ||
	    strcmp(pr->name, "intermediate") == 0)
		return perr(x, vp, HM_E_INVALID, "'%s' is a built-in "
		    "profile's name; choose another", pr->name);
	for (i = 0; i < idx; i++)
		if (strcmp(x->c->profiles[i].name, pr->name) == 0)
			return perr(x, vp, HM_E_INVALID, "profile '%s' is "
			    "already defined at line %d", pr->name,
			    x->c->profiles[i].pos.line);
	/* ca: first, for what it allows. */
	if ((v = find_key(x, m, "ca", pr->pos, &kp)) != NULL &&
	    (rc = get_bool(x, v, npos(x, v, kp), "ca", &pr->ca)) != HM_OK)
		return rc;
	snprintf(where, sizeof(where), "profile '%s'", pr->name);
	while ((p = fy_node_mapping_iterate(m, &it)) != NULL) {
		if ((rc = pair_key(x, p, pr->pos, key, sizeof(key), &kp)) !=
		    HM_OK || (rc = key_known(x, key, kp, profile_keys, "name, "
		    "ca, key_usage, extended_key_usage, validity, pathlen, "
		    "constraints, san_required, wildcards", where)) != HM_OK)
			return rc;
		v = fy_node_pair_value(p);
		vp = npos(x, v, kp);
		/* CAs always get digitalSignature, keyCertSign, cRLSign. */
		if (pr->ca && (strcmp(key, "key_usage") == 0 ||
		    strcmp(key, "extended_key_usage") == 0 ||
		    strcmp(key, "san_required") == 0 ||
		    strcmp(key, "wildcards") == 0))
			return perr(x, kp, HM_E_INVALID, "%s is for end-entity "
			    "profiles only (not with ca: true)", key);
		if (!pr->ca && (strcmp(key, "pathlen") == 0 ||
		    strcmp(key, "constraints") == 0))
			return perr(x, kp, HM_E_INVALID, "%s is for CA "
			    "profiles only (ca: true)", key);
		if (strcmp(key, "name") == 0 || strcmp(key, "ca") == 0)
			rc = HM_OK;
		else if (strcmp(key, "key_usage") == 0 ||
		    strcmp(key, "extended_key_usage") == 0)
			rc = parse_usage(x, v, kp, key, pr, key[0] == 'k' ?
			    &pr->key_usage : &pr->eku);
		else if (strcmp(key, "validity") == 0)
			rc = get_duration(x, v, vp, key, &pr->validity);
		else if (strcmp(key, "pathlen") == 0)
			rc = get_int(x, v, vp, key, 0, 16, &pr->pathlen);
		else if (strcmp(key, "constraints") == 0)
			rc = parse_nc(x, v, kp, &pr->nc);
		else if (strcmp(key, "san_required") == 0)
			rc = get_bool(x, v, vp, key, &pr->san_required);
		else
			rc = get_bool(x, v, vp, key, &pr->wildcards);
		if (rc != HM_OK)
			return rc;
	}
	/* What the library needs to issue under it: hm_profile_from_def. */
	if (!pr->ca && pr->eku == 0)
		return perr(x, pr->pos, HM_E_INVALID, "profile '%s' needs "
		    "extended_key_usage (serverAuth, clientAuth, ...)",
		    pr->name);
	return HM_OK;
}

static const struct hm_cfg_profile *
profile_find(const struct hm_cfg *c, const char *name)
{
	size_t	i;

	for (i = 0; i < c->nprofiles; i++)
		if (strcmp(c->profiles[i].name, name) == 0)
			return &c->profiles[i];
	return NULL;
}

static const char *const root_keys[] = {
	"subject", "key_type", "validity", "pathlen", "offline",
	"passphrase_env", "passphrase_file", "passphrase_prompt", NULL
};

static const char *const ca_keys[] = {
	"name", "parent", "subject", "key_type", "validity", "pathlen",
	"profile", "constraints", "passphrase_env", "passphrase_file",
	"passphrase_prompt", NULL
};

/* The root, or the idx-th intermediate. */
static int
parse_ca(struct ctx *x, struct fy_node *m, struct hm_cfg_pos fb,
    struct hm_cfg_ca *ca, size_t idx, int root)
{
	struct fy_node_pair	*p;
	struct fy_node		*v;
	struct hm_cfg_pos	 kp, vp;
	char			 key[WORD_MAX], where[96], *prof = NULL;
	void			*it = NULL;
	size_t			 i;
	int			 rc = HM_OK;

	ca->pathlen = -1;
	ca->pos = npos(x, m, fb);
	if ((rc = want_map(x, m, ca->pos, root ? "root" :
	    "intermediates entry")) != HM_OK)
		return rc;
	if (root) {
		if ((ca->name = strdup(HM_ROOT_NAME)) == NULL)
			return nomem(x, ca->pos);
		snprintf(where, sizeof(where), "root");
	} else {
		if ((rc = item_name(x, m, ca->pos, "intermediate",
		    &ca->name)) != HM_OK)
			return rc;
		v = find_key(x, m, "name", ca->pos, &kp);
		vp = npos(x, v, kp);
		if (strcmp(ca->name, HM_ROOT_NAME) == 0)
			return perr(x, vp, HM_E_INVALID, "an intermediate "
			    "can not be named 'root'");
		for (i = 0; i < idx; i++)
			if (strcmp(x->c->cas[i].name, ca->name) == 0)
				return perr(x, vp, HM_E_INVALID, "intermediate "
				    "'%s' is already defined at line %d",
				    ca->name, x->c->cas[i].pos.line);
		snprintf(where, sizeof(where), "intermediate '%s'", ca->name);
	}
	while ((p = fy_node_mapping_iterate(m, &it)) != NULL) {
		if ((rc = pair_key(x, p, ca->pos, key, sizeof(key), &kp)) !=
		    HM_OK)
			goto out;
		if (root)
			rc = key_known(x, key, kp, root_keys, "subject, "
			    "key_type, validity, pathlen, offline, "
			    "passphrase_env, passphrase_file, "
			    "passphrase_prompt", where);
		else
			rc = key_known(x, key, kp, ca_keys, "name, parent, "
			    "subject, key_type, validity, pathlen, profile, "
			    "constraints, passphrase_env, passphrase_file, "
			    "passphrase_prompt", where);
		if (rc != HM_OK)
			goto out;
		v = fy_node_pair_value(p);
		vp = npos(x, v, kp);
		if (strcmp(key, "name") == 0)
			rc = HM_OK;
		else if (strcmp(key, "parent") == 0) {
			rc = get_str(x, v, vp, key, STR_MAX, &ca->parent_name);
			ca->pos_parent = vp;
		} else if (strcmp(key, "subject") == 0)
			rc = parse_subject(x, v, kp, &ca->subject, 1);
		else if (strcmp(key, "key_type") == 0)
			rc = get_keytype(x, v, vp, &ca->key_type);
		else if (strcmp(key, "validity") == 0) {
			rc = get_duration(x, v, vp, key, &ca->validity);
			ca->pos_validity = vp;
		} else if (strcmp(key, "pathlen") == 0) {
			rc = get_int(x, v, vp, key, 0, 16, &ca->pathlen);
			ca->pos_pathlen = vp;
		} else if (strcmp(key, "profile") == 0) {
			if ((rc = get_str(x, v, vp, key, STR_MAX, &prof)) !=
			    HM_OK)
				goto out;
			if ((ca->profile = profile_find(x->c, prof)) == NULL)
				rc = perr(x, vp, HM_E_INVALID, "no profile "
				    "'%.64s' under profiles", prof);
			else if (!ca->profile->ca)
				rc = perr(x, vp, HM_E_INVALID, "profile '%s' "
				    "is not a CA profile (ca: true)", prof);
		} else if (strcmp(key, "constraints") == 0)
			rc = parse_nc(x, v, kp, &ca->nc);
		else if (strcmp(key, "offline") == 0) {
			rc = get_bool(x, v, vp, key, &ca->offline);
			ca->pos_offline = vp;
		} else
			rc = parse_pass(x, key, v, kp, &ca->pass);
		if (rc != HM_OK)
			goto out;
	}
	if (!root && ca->parent_name == NULL) {
		rc = perr(x, ca->pos, HM_E_INVALID, "intermediate '%s' without "
		    "a parent (parent: root or an intermediate's name)",
		    ca->name);
		goto out;
	}
	if ((rc = subject_defaults(x, &ca->subject, ca->name, ca->pos)) !=
	    HM_OK)
		goto out;
	if (ca->key_type == HM_KEY_NONE)
		ca->key_type = x->dkey != HM_KEY_NONE ? x->dkey :
		    HM_KEY_DEFAULT;
	if (ca->validity == 0)
		ca->validity = ca->profile != NULL &&
		    ca->profile->validity > 0 ? ca->profile->validity :
		    root ? ROOT_VALIDITY : CA_VALIDITY;
	if (!root && ca->pos_pathlen.line == 0)
		ca->pathlen = ca->profile != NULL &&
		    ca->profile->pathlen >= 0 ? ca->profile->pathlen : 0;
	if (!ca->nc.set && ca->profile != NULL && ca->profile->nc.set)
		rc = nc_copy(x, &ca->profile->nc, &ca->nc, ca->pos);
 out:
	free(prof);
	return rc;
}

static struct hm_cfg_ca *
ca_lookup(struct hm_cfg *c, const char *name)
{
	size_t	i;

	if (strcmp(name, HM_ROOT_NAME) == 0)
		return &c->root;
	for (i = 0; i < c->ncas; i++)
		if (c->cas[i].name != NULL && strcmp(c->cas[i].name, name) == 0)
			return &c->cas[i];
	return NULL;
}

/* "a -> b -> a": the parent cycle through intermediate i, bounded. */
static void
cycle_str(const struct hm_cfg *c, size_t i, char *buf, size_t len)
{
	const struct hm_cfg_ca	*ca = &c->cas[i];
	size_t			 n, off;

	snprintf(buf, len, "%s", ca->name);
	for (n = 0; n < c->ncas; n++) {
		ca = ca->parent;
		off = strlen(buf);
		if (off + 8 >= len) {
			snprintf(buf + off, len - off, " ...");
			return;
		}
		snprintf(buf + off, len - off, " -> %s", ca->name);
		if (ca == &c->cas[i])
			return;
	}
}

/* Parents, cycles, depth, pathlen and validity of the intermediates. */
static int
check_cas(struct ctx *x)
{
	struct hm_cfg		*c = x->c;
	struct hm_cfg_ca	*ca, *a;
	unsigned char		*state = NULL;
	char			 cyc[96], d1[32], d2[32];
	size_t			 i, j;
	int			 d, rc = HM_OK, loop;

	for (i = 0; i < c->ncas; i++) {
		ca = &c->cas[i];
		if ((ca->parent = ca_lookup(c, ca->parent_name)) == NULL)
			return perr(x, ca->pos_parent, HM_E_INVALID, "parent "
			    "'%.64s' of intermediate '%s' is not defined (want "
			    "root or an intermediate's name)", ca->parent_name,
			    ca->name);
	}
	if (c->ncas > 0 && (state = calloc(c->ncas, 1)) == NULL)
		return nomem(x, nopos);
	/* 0: not seen, 1: on the path being followed, 2: leads to root. */
	for (i = 0; i < c->ncas; i++) {
		for (j = i, loop = 0;;) {
			if (state[j] != 0) {
				loop = state[j] == 1;
				break;
			}
			state[j] = 1;
			if (c->cas[j].parent == &c->root)
				break;
			j = (size_t)(c->cas[j].parent - c->cas);
		}
		if (loop) {
			cycle_str(c, j, cyc, sizeof(cyc));
			rc = perr(x, c->cas[j].pos_parent, HM_E_INVALID,
			    "intermediates in a parent cycle: %s (each must "
			    "lead up to root)", cyc);
			goto out;
		}
		for (j = i; state[j] == 1;) {
			state[j] = 2;
			if (c->cas[j].parent == &c->root)
				break;
			j = (size_t)(c->cas[j].parent - c->cas);
		}
	}
	for (i = 0; i < c->ncas; i++) {
		for (d = 0, a = &c->cas[i]; a != &c->root; a = a->parent)
			d++;
		c->cas[i].depth = d;
	}
	/*
	 * RFC 5280 6.1.4 (l), (m): pathlen p on A allows at most p
	 * intermediates below A in a path, the one issuing the leaf
	 * included.  X is depth(X) - depth(A) intermediates below A.
	 */
	for (i = 0; i < c->ncas; i++) {
		ca = &c->cas[i];
		for (a = ca->parent; a != NULL; a = a->parent) {
			d = ca->depth - a->depth;
			if (a->pathlen < 0 || d <= a->pathlen)
				continue;
			if (a->pathlen == 0)
				rc = perr(x, ca->pos_parent, HM_E_POLICY,
				    "intermediate '%s' is %d level%s below "
				    "'%s', whose pathlen 0 allows no "
				    "intermediate below it", ca->name, d,
				    d == 1 ? "" : "s", a->name);
			else
				rc = perr(x, ca->pos_parent, HM_E_POLICY,
				    "intermediate '%s' is %d levels below "
				    "'%s', whose pathlen %d allows at most %d "
				    "level%s of intermediates below it",
				    ca->name, d, a->name, a->pathlen,
				    a->pathlen, a->pathlen == 1 ? "" : "s");
			goto out;
		}
	}
	for (i = 0; i < c->ncas; i++) {
		ca = &c->cas[i];
		if (ca->validity <= ca->parent->validity)
			continue;
		rc = perr(x, ca->pos_validity.line != 0 ? ca->pos_validity :
		    ca->pos, HM_E_POLICY, "intermediate '%s' would outlive "
		    "its parent '%s' (%s > %s)", ca->name, ca->parent->name,
		    dur_str(ca->validity, d1, sizeof(d1)),
		    dur_str(ca->parent->validity, d2, sizeof(d2)));
		goto out;
	}
 out:
	free(state);
	return rc;
}

/* The NAME_CONSTRAINTS of ca's explicit constraints, built once; NULL
 * when it has none. */
static int
ca_nc(struct ctx *x, struct hm_cfg_ca *ca, NAME_CONSTRAINTS **out)
{
	size_t	i;
	hm_err	e;

	*out = NULL;
	if (ca == &x->c->root || !ca->nc.set || ca->nc.automatic ||
	    ca->nc.npermitted + ca->nc.nexcluded == 0)
		return HM_OK;
	i = (size_t)(ca - x->c->cas);
	if (x->nc[i] == NULL && hm_nc_new(ca->nc.permitted,
	    ca->nc.npermitted, ca->nc.excluded, ca->nc.nexcluded, &x->nc[i],
	    &e) != HM_OK)
		return perr_from(x, ca->nc.pos, &e);
	*out = x->nc[i];
	return HM_OK;
}

static const char *const node_keys[] = {
	"name", "profile", "issuer", "subject", "key_type", "sans",
	"validity", "out_dir", "key", "cert", "chain", "ca_bundle",
	"passphrase_env", "passphrase_file", "passphrase_prompt", NULL
};

/* The rules a node must pass once parsed. */
static int
check_node(struct ctx *x, struct hm_cfg_node *n)
{
	struct hm_cfg_ca	*a;
	const struct hm_profile	*bi;
	NAME_CONSTRAINTS	*nc;
	struct hm_cfg_pos	 sp = n->pos_sans.line != 0 ? n->pos_sans :
				    n->pos;
	hm_err			 e;
	char			 d1[32], d2[32];
	int			 need_san, wild_ok, rc;

	if (n->custom != NULL) {
		need_san = n->custom->san_required > 0 ||
		    (n->custom->eku & HM_EKU_SERVER);
		wild_ok = n->custom->wildcards > 0;
	} else {
		bi = hm_profile_get(n->profile);
		need_san = bi != NULL && bi->need_san;
		wild_ok = bi != NULL && bi->wildcard_ok;
	}
	if (need_san && hm_names_count(n->sans) == 0)
		return perr(x, n->pos, HM_E_POLICY, "node '%s' needs at least "
		    "one name under sans (its profile is for servers)",
		    n->name);
	if (!wild_ok && hm_names_has_wildcard(n->sans))
		return perr(x, sp, HM_E_POLICY, "node '%s': wildcard names "
		    "need profile server or both, or wildcards: true",
		    n->name);
	if (n->validity > n->issuer->validity)
		return perr(x, n->pos_validity.line != 0 ? n->pos_validity :
		    n->pos, HM_E_POLICY, "node '%s' would outlive its issuer "
		    "'%s' (%s > %s)", n->name, n->issuer->name,
		    dur_str(n->validity, d1, sizeof(d1)),
		    dur_str(n->issuer->validity, d2, sizeof(d2)));
	for (a = n->issuer; a != NULL; a = a->parent) {
		if ((rc = ca_nc(x, a, &nc)) != HM_OK)
			return rc;
		if (nc != NULL && hm_nc_allows(nc, n->sans, n->subject.cn,
		    a->name, &e) != HM_OK)
			return perr_from(x, sp, &e);
	}
	return HM_OK;
}

/*
 * No two output files of n, or of n and an earlier node, are one path:
 * one would overwrite the other on every run.  (Paths are compared as
 * written, after joining; links are not followed.)
 */
static int
paths_unique(struct ctx *x, const struct hm_cfg_node *n, size_t idx)
{
	const struct hm_cfg_node	*o;
	const char			*a[4] = { n->key, n->cert, n->chain,
					    n->ca_bundle };
	const char			*b[4];
	size_t				 i, j, k;

	for (i = 0; i < 4; i++)
		for (j = i + 1; j < 4; j++)
			if (strcmp(a[i], a[j]) == 0)
				return perr(x, n->pos, HM_E_INVALID, "node '%s' "
				    "writes two of its files to %.80s",
				    n->name, a[i]);
	for (k = 0; k < idx; k++) {
		o = &x->c->nodes[k];
		b[0] = o->key;
		b[1] = o->cert;
		b[2] = o->chain;
		b[3] = o->ca_bundle;
		for (i = 0; i < 4; i++)
			for (j = 0; j < 4; j++)
				if (strcmp(a[i], b[j]) == 0)
					return perr(x, n->pos, HM_E_INVALID,
					    "node '%s' writes %.80s, as node "
					    "'%s' (line %d) does", n->name,
					    a[i], o->name, o->pos.line);
	}
	return HM_OK;
}

static int
parse_sans(struct ctx *x, struct fy_node *v, struct hm_cfg_pos kp,
    hm_names *sans)
{
	struct fy_node		*c;
	struct hm_cfg_pos	 vp = npos(x, v, kp), ip;
	hm_err			 e;
	char			*s = NULL;
	void			*it = NULL;
	int			 rc;

	if ((rc = want_seq(x, v, vp, "sans")) != HM_OK)
		return rc;
	while ((c = fy_node_sequence_iterate(v, &it)) != NULL) {
		ip = npos(x, c, vp);
		if ((rc = get_str(x, c, ip, "sans", STR_MAX, &s)) != HM_OK)
			break;
		if ((rc = hm_names_add(sans, s, &e)) != HM_OK) {
			rc = perr_from(x, ip, &e);
			break;
		}
	}
	free(s);
	return rc;
}

static int
parse_node(struct ctx *x, struct fy_node *m, struct hm_cfg_pos fb,
    size_t idx)
{
	static const char *const files[] = {
		"key.pem", "cert.pem", "chain.pem", "ca.pem"
	};
	struct hm_cfg_node	*n = &x->c->nodes[idx];
	struct fy_node_pair	*p;
	struct fy_node		*v;
	struct hm_cfg_pos	 kp, vp, prof_pos = nopos;
	hm_profile_id		 id;
	char			 key[WORD_MAX], where[96];
	char			*prof = NULL, *issuer = NULL, *out_dir = NULL;
	char			**paths[4];
	void			*it = NULL;
	size_t			 i;
	int			 rc = HM_OK;

	paths[0] = &n->key;
	paths[1] = &n->cert;
	paths[2] = &n->chain;
	paths[3] = &n->ca_bundle;
	n->pos = npos(x, m, fb);
	if ((rc = want_map(x, m, n->pos, "nodes entry")) != HM_OK ||
	    (rc = item_name(x, m, n->pos, "node", &n->name)) != HM_OK)
		return rc;
	if ((n->sans = hm_names_new()) == NULL)
		return nomem(x, n->pos);
	for (i = 0; i < idx; i++)
		if (strcmp(x->c->nodes[i].name, n->name) == 0) {
			v = find_key(x, m, "name", n->pos, &kp);
			return perr(x, npos(x, v, kp), HM_E_INVALID, "node "
			    "'%s' is already defined at line %d", n->name,
			    x->c->nodes[i].pos.line);
		}
	snprintf(where, sizeof(where), "node '%s'", n->name);
	while ((p = fy_node_mapping_iterate(m, &it)) != NULL) {
		if ((rc = pair_key(x, p, n->pos, key, sizeof(key), &kp)) !=
		    HM_OK || (rc = key_known(x, key, kp, node_keys, "name, "
		    "profile, issuer, subject, key_type, sans, validity, "
		    "out_dir, key, cert, chain, ca_bundle, passphrase_env, "
		    "passphrase_file, passphrase_prompt", where)) != HM_OK)
			goto out;
		v = fy_node_pair_value(p);
		vp = npos(x, v, kp);
		if (strcmp(key, "name") == 0)
			rc = HM_OK;
		else if (strcmp(key, "profile") == 0) {
			rc = get_str(x, v, vp, key, STR_MAX, &prof);
			prof_pos = vp;
		} else if (strcmp(key, "issuer") == 0) {
			rc = get_str(x, v, vp, key, STR_MAX, &issuer);
			n->pos_issuer = vp;
		} else if (strcmp(key, "subject") == 0)
			rc = parse_subject(x, v, kp, &n->subject, 1);
		else if (strcmp(key, "key_type") == 0)
			rc = get_keytype(x, v, vp, &n->key_type);
		else if (strcmp(key, "sans") == 0) {
			rc = parse_sans(x, v, kp, n->sans);
			n->pos_sans = kp;
		} else if (strcmp(key, "validity") == 0) {
			rc = get_duration(x, v, vp, key, &n->validity);
			n->pos_validity = vp;
		} else if (strcmp(key, "out_dir") == 0)
			rc = get_path(x, v, vp, key, &out_dir);
		else if (is_pass_key(key))
			rc = parse_pass(x, key, v, kp, &n->pass);
		else if (strcmp(key, "key") == 0)
			rc = get_path(x, v, vp, key, &n->key);
		else if (strcmp(key, "cert") == 0)
			rc = get_path(x, v, vp, key, &n->cert);
		else if (strcmp(key, "chain") == 0)
			rc = get_path(x, v, vp, key, &n->chain);
		else
			rc = get_path(x, v, vp, key, &n->ca_bundle);
		if (rc != HM_OK)
			goto out;
	}
	if (prof == NULL || issuer == NULL) {
		rc = perr(x, n->pos, HM_E_INVALID, "node '%s' without %s "
		    "(it is required)", n->name, prof == NULL ? "a profile" :
		    "an issuer");
		goto out;
	}
	if (hm_profile_parse(prof, &id, NULL) == HM_OK)
		n->profile = id;
	else if ((n->custom = profile_find(x->c, prof)) == NULL) {
		rc = perr(x, prof_pos, HM_E_INVALID, "node '%s': no profile "
		    "'%.64s' (want server, client, both or one under "
		    "profiles)", n->name, prof);
		goto out;
	} else if (n->custom->ca) {
		rc = perr(x, prof_pos, HM_E_INVALID, "node '%s': profile '%s' "
		    "is a CA profile (ca: true)", n->name, prof);
		goto out;
	}
	if ((n->issuer = ca_lookup(x->c, issuer)) == NULL) {
		rc = perr(x, n->pos_issuer, HM_E_INVALID, "issuer '%.64s' of "
		    "node '%s' is not defined (want root or an "
		    "intermediate's name)", issuer, n->name);
		goto out;
	}
	if ((rc = subject_defaults(x, &n->subject, n->name, n->pos)) !=
	    HM_OK)
		goto out;
	if (n->key_type == HM_KEY_NONE)
		n->key_type = x->dkey != HM_KEY_NONE ? x->dkey :
		    HM_KEY_DEFAULT;
	/* The profile's own validity is the more specific default. */
	if (n->validity == 0)
		n->validity = n->custom != NULL && n->custom->validity > 0 ?
		    n->custom->validity : x->dvalidity > 0 ? x->dvalidity :
		    NODE_VALIDITY;
	if (out_dir == NULL &&
	    (rc = path_join(x, n->pos, x->dout, n->name, &out_dir)) != HM_OK)
		goto out;
	for (i = 0; i < 4; i++)
		if (*paths[i] == NULL && (rc = path_join(x, n->pos, out_dir,
		    files[i], paths[i])) != HM_OK)
			goto out;
	if ((rc = paths_unique(x, n, idx)) != HM_OK)
		goto out;
	rc = check_node(x, n);
 out:
	free(prof);
	free(issuer);
	free(out_dir);
	return rc;
}

/* ---- constraints: auto --------------------------------------------------- */

struct autoset {
	char	**sorted;	/* nc.permitted's strings, sorted */
	size_t	 cap;
};

/* Add spec to the permitted names of ca unless it is there. */
static int
auto_add(struct ctx *x, struct hm_cfg_ca *ca, struct autoset *as,
    const char *spec)
{
	struct hm_cfg_constraints	*nc = &ca->nc;
	char				**v, *s;
	size_t				 lo = 0, hi = nc->npermitted, mid, cap;
	int				 cmp;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if ((cmp = strcmp(spec, as->sorted[mid])) == 0)
			return HM_OK;
		if (cmp < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	if (nc->npermitted >= LIST_MAX)
		return perr(x, nc->pos, HM_E_TOOBIG, "constraints: auto of CA "
		    "'%s' would permit more than %d names", ca->name,
		    LIST_MAX);
	if (nc->npermitted == as->cap) {
		cap = as->cap == 0 ? 16 : as->cap * 2;
		if ((v = reallocarray(nc->permitted, cap, sizeof(*v))) == NULL)
			return nomem(x, nc->pos);
		nc->permitted = v;
		if ((v = reallocarray(as->sorted, cap, sizeof(*v))) == NULL)
			return nomem(x, nc->pos);
		as->sorted = v;
		as->cap = cap;
	}
	if ((s = strdup(spec)) == NULL)
		return nomem(x, nc->pos);
	memmove(&as->sorted[lo + 1], &as->sorted[lo],
	    (nc->npermitted - lo) * sizeof(*as->sorted));
	as->sorted[lo] = s;
	nc->permitted[nc->npermitted++] = s;
	return HM_OK;
}

/* What node n adds to the automatic constraints above it. */
static int
auto_node(struct ctx *x, const struct hm_cfg_node *n, struct autoset *sets)
{
	struct hm_cfg_ca	*a;
	hm_names		*cn = NULL;
	hm_name_type		 t;
	const char		*v;
	char			 spec[320];
	size_t			 i, count = hm_names_count(n->sans);
	int			 rc = HM_OK, dns = 0;

	for (i = 0; i <= count && rc == HM_OK; i++) {
		if (i < count) {
			hm_names_get(n->sans, i, &t, &v);
			if (t == HM_NAME_DNS)
				dns = 1;
		} else {
			/* The CN, when it is what a verifier checks. */
			if (dns || n->subject.cn == NULL ||
			    strchr(n->subject.cn, '.') == NULL ||
			    (cn = hm_names_new()) == NULL)
				break;
			snprintf(spec, sizeof(spec), "dns:%s", n->subject.cn);
			if (hm_names_add(cn, spec, NULL) != HM_OK ||
			    hm_names_get(cn, 0, &t, &v) != HM_OK)
				break;
		}
		if (t == HM_NAME_DNS)
			snprintf(spec, sizeof(spec), "dns:%s",
			    strncmp(v, "*.", 2) == 0 ? v + 2 : v);
		else if (t == HM_NAME_IP)
			snprintf(spec, sizeof(spec), "ip:%s/%d", v,
			    strchr(v, ':') != NULL ? 128 : 32);
		else
			continue;
		for (a = n->issuer; a != NULL && rc == HM_OK; a = a->parent)
			if (a != &x->c->root && a->nc.automatic)
				rc = auto_add(x, a, &sets[a - x->c->cas], spec);
	}
	hm_names_free(cn);
	return rc;
}

static int
auto_constraints(struct ctx *x)
{
	struct autoset	*sets;
	size_t		 i;
	int		 rc = HM_OK;

	if (x->c->ncas == 0)
		return HM_OK;
	if ((sets = calloc(x->c->ncas, sizeof(*sets))) == NULL)
		return nomem(x, nopos);
	for (i = 0; i < x->c->nnodes && rc == HM_OK; i++)
		rc = auto_node(x, &x->c->nodes[i], sets);
	for (i = 0; i < x->c->ncas; i++)
		free(sets[i].sorted);
	free(sets);
	return rc;
}

/* ---- The file ------------------------------------------------------------ */

/* A sequence of at most HM_CFG_ITEMS_MAX entries: how many in *n. */
static int
section(struct ctx *x, struct fy_node *v, struct hm_cfg_pos kp,
    const char *key, size_t *n)
{
	int	count, rc;

	if ((rc = want_seq(x, v, npos(x, v, kp), key)) != HM_OK)
		return rc;
	if ((count = fy_node_sequence_item_count(v)) < 0)
		count = 0;
	if (count > HM_CFG_ITEMS_MAX)
		return perr(x, kp, HM_E_TOOBIG, "%s: more than %d entries",
		    key, HM_CFG_ITEMS_MAX);
	*n = (size_t)count;
	return HM_OK;
}

enum { S_VERSION, S_DEFAULTS, S_ROOT, S_INTERMEDIATES, S_PROFILES, S_NODES,
	S_SCHEDULE, S_MAX };

static const char *const sched_keys[] = {
	"quantum", "lead", "validity", "overlap", "key_type", "prefix",
	"passphrase_env", "passphrase_file", "passphrase_prompt", NULL
};

/* schedule: checked as hm_sched_plan will, and against the root's life. */
static int
parse_schedule(struct ctx *x, struct fy_node *m, struct hm_cfg_pos kpos)
{
	struct hm_cfg_sched	*sc = &x->c->sched;
	struct fy_node_pair	*p;
	struct fy_node		*v;
	struct hm_cfg_pos	 kp, vp;
	char			 key[WORD_MAX], a[32], b[32], c[32];
	void			*it = NULL;
	hm_err			 e;
	int			 rc;

	sc->set = 1;
	sc->pos = npos(x, m, kpos);
	if ((rc = want_map(x, m, sc->pos, "schedule")) != HM_OK)
		return rc;
	while ((p = fy_node_mapping_iterate(m, &it)) != NULL) {
		if ((rc = pair_key(x, p, sc->pos, key, sizeof(key), &kp)) !=
		    HM_OK || (rc = key_known(x, key, kp, sched_keys, "quantum, "
		    "lead, validity, overlap, key_type, prefix, "
		    "passphrase_env, passphrase_file, passphrase_prompt",
		    "schedule")) != HM_OK)
			return rc;
		v = fy_node_pair_value(p);
		vp = npos(x, v, kp);
		if (strcmp(key, "quantum") == 0)
			rc = get_int(x, v, vp, key, 1, 12, &sc->p.quantum);
		else if (strcmp(key, "lead") == 0) {
			rc = get_duration(x, v, vp, key, &sc->p.lead);
			sc->pos_lead = vp;
		} else if (strcmp(key, "validity") == 0) {
			rc = get_duration(x, v, vp, key, &sc->p.validity);
			sc->pos_validity = vp;
		} else if (strcmp(key, "overlap") == 0)
			rc = get_duration(x, v, vp, key, &sc->p.overlap);
		else if (strcmp(key, "key_type") == 0)
			rc = get_keytype(x, v, vp, &sc->p.key_type);
		else if (strcmp(key, "prefix") == 0) {
			if ((rc = get_str(x, v, vp, key, STR_MAX,
			    &sc->prefix)) == HM_OK)
				sc->p.prefix = sc->prefix;
		} else
			rc = parse_pass(x, key, v, kp, &sc->pass);
		if (rc != HM_OK)
			return rc;
	}
	if (sc->p.key_type == HM_KEY_NONE)
		sc->p.key_type = x->dkey;
	if (hm_sched_check(&sc->p, &e) != HM_OK)
		return perr_from(x, sc->pos_validity.line != 0 ?
		    sc->pos_validity : sc->pos, &e);
	/* Signers never outlive the root: the window must fit in its life. */
	if ((sc->p.lead != 0 ? sc->p.lead : 2 * HM_YEAR) + (sc->p.overlap !=
	    0 ? sc->p.overlap : 90 * 86400LL) > x->c->root.validity)
		return perr(x, sc->pos_lead.line != 0 ? sc->pos_lead : sc->pos,
		    HM_E_INVALID, "lead %s and overlap %s do not fit in the "
		    "root's validity %s: signers never outlive the root",
		    dur_str(sc->p.lead != 0 ? sc->p.lead : 2 * HM_YEAR, a,
		    sizeof(a)), dur_str(sc->p.overlap != 0 ? sc->p.overlap :
		    90 * 86400LL, b, sizeof(b)), dur_str(x->c->root.validity, c,
		    sizeof(c)));
	return HM_OK;
}

/*
 * An offline root: every key the file makes is encrypted, the CAs' under
 * the root's passphrase (the library checks it is the same one).
 */
static int
check_offline(struct ctx *x)
{
	struct hm_cfg	*c = x->c;
	size_t		 i;

	if (!c->root.offline)
		return HM_OK;
	if (c->root.pass.kind == HM_CFG_PASS_NONE)
		return perr(x, c->root.pos_offline, HM_E_INVALID, "an offline "
		    "root needs a passphrase (passphrase_env, passphrase_file "
		    "or passphrase_prompt): every key is encrypted under it");
	for (i = 0; i < c->ncas; i++)
		if (c->cas[i].pass.kind == HM_CFG_PASS_NONE)
			return perr(x, c->cas[i].pos, HM_E_INVALID,
			    "intermediate '%s' needs the root's passphrase: "
			    "the root is offline", c->cas[i].name);
	for (i = 0; i < c->nnodes; i++)
		if (c->nodes[i].pass.kind == HM_CFG_PASS_NONE)
			return perr(x, c->nodes[i].pos, HM_E_INVALID, "node "
			    "'%s' needs a passphrase: an offline root writes "
			    "no key in clear", c->nodes[i].name);
	return HM_OK;
}

static int
parse_top(struct ctx *x, struct fy_node *top)
{
	static const char *const keys[] = {
		"version", "defaults", "root", "intermediates", "profiles",
		"nodes", "schedule", NULL
	};
	struct hm_cfg		*c = x->c;
	struct fy_node		*sec[S_MAX], *item;
	struct fy_node_pair	*p;
	struct hm_cfg_pos	 kpos[S_MAX], tp = npos(x, top, nopos), kp;
	char			 key[WORD_MAX];
	void			*it = NULL;
	size_t			 i, k, n;
	int			 rc, version;

	if (top == NULL || fy_node_get_type(top) != FYNT_MAPPING)
		return perr(x, tp, HM_E_INVALID, "the file must be a mapping "
		    "with a 'root' key, not %s", kind(top));
	if ((rc = untagged(x, top, tp, "the file")) != HM_OK)
		return rc;
	memset(sec, 0, sizeof(sec));
	memset(kpos, 0, sizeof(kpos));
	while ((p = fy_node_mapping_iterate(top, &it)) != NULL) {
		if ((rc = pair_key(x, p, tp, key, sizeof(key), &kp)) != HM_OK)
			return rc;
		if (strncmp(key, "x-", 2) == 0)
			continue;
		if ((rc = key_known(x, key, kp, keys, "version, defaults, "
		    "root, intermediates, profiles, nodes, schedule, x-*",
		    "the file")) != HM_OK)
			return rc;
		for (k = 0; strcmp(keys[k], key) != 0; k++)
			;
		sec[k] = fy_node_pair_value(p);
		kpos[k] = kp;
	}
	if (kpos[S_VERSION].line != 0) {
		if ((rc = get_int(x, sec[S_VERSION], npos(x, sec[S_VERSION],
		    kpos[S_VERSION]), "version", 0, 999999, &version)) != HM_OK)
			return rc;
		if (version != 1)
			return perr(x, npos(x, sec[S_VERSION],
			    kpos[S_VERSION]), HM_E_INVALID, "version %d: this "
			    "hallmark reads version 1", version);
	}
	if (kpos[S_ROOT].line == 0)
		return perr(x, tp, HM_E_INVALID, "no root: the file must "
		    "describe the root CA under 'root'");
	if (kpos[S_DEFAULTS].line != 0 &&
	    (rc = parse_defaults(x, sec[S_DEFAULTS], kpos[S_DEFAULTS])) !=
	    HM_OK)
		return rc;
	if (x->dout == NULL &&
	    (rc = path_join(x, tp, c->dir, "nodes", &x->dout)) != HM_OK)
		return rc;
	if (kpos[S_PROFILES].line != 0) {
		if ((rc = section(x, sec[S_PROFILES], kpos[S_PROFILES],
		    "profiles", &n)) != HM_OK)
			return rc;
		if (n > 0 && (c->profiles = calloc(n,
		    sizeof(*c->profiles))) == NULL)
			return nomem(x, kpos[S_PROFILES]);
		c->nprofiles = n;
		for (i = 0, it = NULL; (item = fy_node_sequence_iterate(
		    sec[S_PROFILES], &it)) != NULL && i < c->nprofiles; i++)
			if ((rc = parse_profile(x, item, kpos[S_PROFILES],
			    i)) != HM_OK)
				return rc;
	}
	if ((rc = parse_ca(x, sec[S_ROOT], kpos[S_ROOT], &c->root, 0, 1)) !=
	    HM_OK)
		return rc;
	if (kpos[S_INTERMEDIATES].line != 0) {
		if ((rc = section(x, sec[S_INTERMEDIATES],
		    kpos[S_INTERMEDIATES], "intermediates", &n)) != HM_OK)
			return rc;
		if (n > 0 && (c->cas = calloc(n, sizeof(*c->cas))) == NULL)
			return nomem(x, kpos[S_INTERMEDIATES]);
		c->ncas = n;
		for (i = 0, it = NULL; (item = fy_node_sequence_iterate(
		    sec[S_INTERMEDIATES], &it)) != NULL && i < c->ncas; i++)
			if ((rc = parse_ca(x, item, kpos[S_INTERMEDIATES],
			    &c->cas[i], i, 0)) != HM_OK)
				return rc;
	}
	if ((rc = check_cas(x)) != HM_OK)
		return rc;
	if (c->ncas > 0 &&
	    (x->nc = calloc(c->ncas, sizeof(*x->nc))) == NULL)
		return nomem(x, tp);
	x->nnc = c->ncas;
	if (kpos[S_NODES].line != 0) {
		if ((rc = section(x, sec[S_NODES], kpos[S_NODES], "nodes",
		    &n)) != HM_OK)
			return rc;
		if (n > 0 && (c->nodes = calloc(n, sizeof(*c->nodes))) ==
		    NULL)
			return nomem(x, kpos[S_NODES]);
		c->nnodes = n;
		for (i = 0, it = NULL; (item = fy_node_sequence_iterate(
		    sec[S_NODES], &it)) != NULL && i < c->nnodes; i++)
			if ((rc = parse_node(x, item, kpos[S_NODES], i)) !=
			    HM_OK)
				return rc;
	}
	if (kpos[S_SCHEDULE].line != 0 && (rc = parse_schedule(x,
	    sec[S_SCHEDULE], kpos[S_SCHEDULE])) != HM_OK)
		return rc;
	if ((rc = check_offline(x)) != HM_OK)
		return rc;
	return auto_constraints(x);
}

static void
subject_free(struct hm_cfg_subject *s)
{
	free(s->c);
	free(s->st);
	free(s->l);
	free(s->o);
	free(s->ou);
	free(s->cn);
}

static void
nc_free(struct hm_cfg_constraints *nc)
{
	size_t	i;

	for (i = 0; i < nc->npermitted; i++)
		free(nc->permitted[i]);
	for (i = 0; i < nc->nexcluded; i++)
		free(nc->excluded[i]);
	free(nc->permitted);
	free(nc->excluded);
}

static void
ca_free(struct hm_cfg_ca *ca)
{
	free(ca->name);
	free(ca->parent_name);
	subject_free(&ca->subject);
	nc_free(&ca->nc);
	free(ca->pass.value);
}

void
hm_cfg_free(struct hm_cfg *c)
{
	struct hm_cfg_node	*n;
	size_t			 i;

	if (c == NULL)
		return;
	free(c->path);
	free(c->dir);
	ca_free(&c->root);
	free(c->sched.prefix);
	free(c->sched.pass.value);
	for (i = 0; i < c->ncas; i++)
		ca_free(&c->cas[i]);
	free(c->cas);
	for (i = 0; i < c->nprofiles; i++) {
		free(c->profiles[i].name);
		nc_free(&c->profiles[i].nc);
	}
	free(c->profiles);
	for (i = 0; i < c->nnodes; i++) {
		n = &c->nodes[i];
		free(n->name);
		subject_free(&n->subject);
		hm_names_free(n->sans);
		free(n->key);
		free(n->cert);
		free(n->chain);
		free(n->ca_bundle);
		free(n->pass.value);
	}
	free(c->nodes);
	free(c);
}

struct hm_cfg_ca *
hm_cfg_ca_find(struct hm_cfg *c, const char *name)
{
	if (c == NULL || name == NULL)
		return NULL;
	return ca_lookup(c, name);
}

int
hm_cfg_parse(const char *buf, size_t len, const char *name, const char *dir,
    struct hm_cfg **out, hm_err *err)
{
	struct ctx		 x;
	struct fy_diag		*diag = NULL;
	struct fy_parser	*fyp = NULL;
	struct fy_document	*fyd = NULL;
	struct hm_cfg		*c = NULL;
	size_t			 i;
	int			 rc;

	memset(&x, 0, sizeof(x));
	x.file = name != NULL ? name : "(config)";
	x.err = err;
	if (len > HM_CFG_MAX)
		return perr(&x, nopos, HM_E_TOOBIG, "over %d bytes",
		    HM_CFG_MAX);
	if (buf == NULL && len > 0)
		return perr(&x, nopos, HM_E_INVALID, "no data");
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->path = strdup(x.file)) == NULL ||
	    (c->dir = strdup(dir != NULL && dir[0] != '\0' ? dir : ".")) ==
	    NULL) {
		rc = nomem(&x, nopos);
		goto out;
	}
	c->renew_before = RENEW_BEFORE;
	c->root.pathlen = -1;
	x.c = c;
	if ((rc = yaml_load(&x, buf, len, &diag, &fyp, &fyd)) != HM_OK ||
	    (rc = parse_top(&x, fy_document_root(fyd))) != HM_OK)
		goto out;
	*out = c;
	c = NULL;
 out:
	if (fyd != NULL)
		fy_parse_document_destroy(fyp, fyd);
	if (fyp != NULL)
		fy_parser_destroy(fyp);
	if (diag != NULL)
		fy_diag_destroy(diag);
	for (i = 0; i < x.nnc; i++)
		NAME_CONSTRAINTS_free(x.nc[i]);
	free(x.nc);
	free(x.ni);
	subject_free(&x.dsubj);
	free(x.dout);
	hm_cfg_free(c);
	return rc;
}

/* Read path, a regular file of at most HM_CFG_MAX bytes. */
static int
read_file(struct ctx *x, const char *path, char **out, size_t *len)
{
	unsigned char	*buf;
	const char	*msg;
	size_t		 plen = strlen(path);
	hm_err		 e;
	int		 rc;

	if ((rc = hm_file_read(path, HM_CFG_MAX, &buf, len, &e)) != HM_OK) {
		/* "PATH: what" becomes "PATH:1:1: what". */
		msg = e.msg;
		if (strncmp(msg, path, plen) == 0 && msg[plen] == ':' &&
		    msg[plen + 1] == ' ')
			msg += plen + 2;
		return perr(x, nopos, rc, "%s", msg);
	}
	*out = (char *)buf;
	return HM_OK;
}

int
hm_cfg_load(const char *path, struct hm_cfg **out, hm_err *err)
{
	struct ctx	 x;
	char		*buf = NULL, *dcopy = NULL;
	size_t		 len = 0;
	int		 rc;

	memset(&x, 0, sizeof(x));
	x.file = path;
	x.err = err;
	if (path == NULL || path[0] == '\0')
		return hm_seterr(err, HM_E_INVALID, "no hierarchy file given");
	if ((rc = read_file(&x, path, &buf, &len)) != HM_OK)
		return rc;
	if ((dcopy = strdup(path)) == NULL) {
		rc = nomem(&x, nopos);
		goto out;
	}
	rc = hm_cfg_parse(buf, len, path, dirname(dcopy), out, err);
 out:
	free(dcopy);
	free(buf);
	return rc;
}
