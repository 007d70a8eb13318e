/* Subject and SAN names: strict syntax, canonical form. */
#include <arpa/inet.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509v3.h>

#include "internal.h"

#define DNS_MAX		253
#define LABEL_MAX	63
#define EMAIL_MAX	254
#define URI_MAX		1024
#define CN_MAX		64
#define NAMES_MAX	100

const char *
hm_name_type_str(hm_name_type t)
{
	switch (t) {
	case HM_NAME_DNS:	return "dns";
	case HM_NAME_IP:	return "ip";
	case HM_NAME_EMAIL:	return "email";
	case HM_NAME_URI:	return "uri";
	}
	return "?";
}

/* Length of one valid UTF-8 sequence at s (no controls), or 0. */
static size_t
utf8_char(const unsigned char *s)
{
	size_t	n, i;

	if (s[0] < 0x20 || s[0] == 0x7f)
		return 0;
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	for (i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	/* Overlong, surrogate and out-of-range forms. */
	if ((n == 3 && s[0] == 0xe0 && s[1] < 0xa0) ||
	    (n == 3 && s[0] == 0xed && s[1] >= 0xa0) ||
	    (n == 4 && s[0] == 0xf0 && s[1] < 0x90) ||
	    (n == 4 && s[0] == 0xf4 && s[1] >= 0x90))
		return 0;
	/* C1 controls U+0080..U+009F. */
	if (n == 2 && s[0] == 0xc2 && s[1] < 0xa0)
		return 0;
	return n;
}

/* A subject attribute: 1 to 64 characters of printable UTF-8. */
static int
attr_check(const char *what, const char *v, hm_err *err)
{
	const unsigned char	*p = (const unsigned char *)v;
	size_t			 chars = 0, n;

	if (v == NULL || *v == '\0')
		return hm_seterr(err, HM_E_INVALID, "empty %s", what);
	while (*p != '\0') {
		if ((n = utf8_char(p)) == 0)
			return hm_seterr(err, HM_E_INVALID, "%s holds a "
			    "control character or invalid UTF-8", what);
		p += n;
		chars++;
	}
	if (chars > CN_MAX)
		return hm_seterr(err, HM_E_INVALID, "%s is %zu characters long "
		    "(at most %d)", what, chars, CN_MAX);
	if (v[0] == ' ' || p[-1] == ' ')
		return hm_seterr(err, HM_E_INVALID, "%s starts or ends with a "
		    "space", what);
	return HM_OK;
}

int
hm_cn_check(const char *cn, hm_err *err)
{
	return attr_check("common name", cn, err);
}

int
hm_subject_check(const hm_subject *s, hm_err *err)
{
	int	rc;

	if (s->c != NULL && (strlen(s->c) != 2 ||
	    !isupper((unsigned char)s->c[0]) ||
	    !isupper((unsigned char)s->c[1])))
		return hm_seterr(err, HM_E_INVALID, "country '%.8s' is not "
		    "two capital letters (ISO 3166)", s->c);
	if ((s->st != NULL && (rc = attr_check("state", s->st, err)) !=
	    HM_OK) ||
	    (s->l != NULL && (rc = attr_check("locality", s->l, err)) !=
	    HM_OK) ||
	    (s->o != NULL && (rc = attr_check("organization", s->o, err)) !=
	    HM_OK) ||
	    (s->ou != NULL && (rc = attr_check("organizational unit", s->ou,
	    err)) != HM_OK))
		return rc;
	return hm_cn_check(s->cn, err);
}

int
hm_subject_to_name(const hm_subject *s, X509_NAME *nm, hm_err *err)
{
	const struct {
		int		 nid;
		const char	*v;
	} a[] = {
		{ NID_countryName, s->c },
		{ NID_stateOrProvinceName, s->st },
		{ NID_localityName, s->l },
		{ NID_organizationName, s->o },
		{ NID_organizationalUnitName, s->ou },
		{ NID_commonName, s->cn },
	};
	size_t	i;

	for (i = 0; i < sizeof(a) / sizeof(a[0]); i++)
		if (a[i].v != NULL && !X509_NAME_add_entry_by_NID(nm, a[i].nid,
		    MBSTRING_UTF8, (const unsigned char *)a[i].v, -1, -1, 0))
			return hm_seterr_ssl(err, HM_E_INVALID, "subject "
			    "attribute '%.64s'", a[i].v);
	return HM_OK;
}

/* DNS name: LDH labels, optional leading "*." label; lower-cases v. */
static int
dns_check(char *v, hm_err *err)
{
	char	*p = v, *label;
	size_t	 len = strlen(v), n;

	unsigned char	 a[4];

	if (len == 0 || len > DNS_MAX)
		return hm_seterr(err, HM_E_INVALID, "DNS name of %zu "
		    "characters (want 1 to %d)", len, DNS_MAX);
	if (inet_pton(AF_INET, v, a) == 1)
		return hm_seterr(err, HM_E_INVALID, "'%s' is an IP address, "
		    "not a DNS name (use ip:%s)", v, v);
	if (p[0] == '*' && p[1] == '.')
		p += 2;
	for (;;) {
		label = p;
		while (*p != '\0' && *p != '.') {
			if (!isalnum((unsigned char)*p) && *p != '-')
				return hm_seterr(err, HM_E_INVALID, "DNS name "
				    "'%.64s' holds a character that is not a "
				    "letter, digit or hyphen", v);
			*p = (char)tolower((unsigned char)*p);
			p++;
		}
		n = (size_t)(p - label);
		if (n == 0 || n > LABEL_MAX)
			return hm_seterr(err, HM_E_INVALID, "DNS name "
			    "'%.64s' has a label of %zu characters (want 1 "
			    "to %d)", v, n, LABEL_MAX);
		if (label[0] == '-' || p[-1] == '-')
			return hm_seterr(err, HM_E_INVALID, "DNS name '%.64s' "
			    "has a label that starts or ends with '-'", v);
		if (*p == '\0')
			break;
		p++;
	}
	return HM_OK;
}

static int
email_check(char *v, hm_err *err)
{
	char	*at = strrchr(v, '@'), *p;

	if (strlen(v) > EMAIL_MAX || at == NULL || at == v)
		return hm_seterr(err, HM_E_INVALID, "bad email address "
		    "'%.64s'", v);
	for (p = v; p < at; p++)
		if (*p <= 0x20 || *p >= 0x7f || *p == '@' || *p == '"' ||
		    *p == '\\' || *p == '(' || *p == ')' || *p == ',' ||
		    *p == ';' || *p == ':' || *p == '<' || *p == '>' ||
		    *p == '[' || *p == ']')
			return hm_seterr(err, HM_E_INVALID, "bad character in "
			    "email address '%.64s'", v);
	if (at[1] == '*')
		return hm_seterr(err, HM_E_INVALID, "wildcard in email "
		    "address '%.64s'", v);
	return dns_check(at + 1, err);
}

static int
uri_check(const char *v, hm_err *err)
{
	const char	*p;

	if (strlen(v) > URI_MAX)
		return hm_seterr(err, HM_E_INVALID, "URI over %d characters",
		    URI_MAX);
	/* scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":" */
	if (!isalpha((unsigned char)v[0]))
		goto bad;
	for (p = v; *p != ':'; p++)
		if (!isalnum((unsigned char)*p) && *p != '+' && *p != '-' &&
		    *p != '.')
			goto bad;
	if (p[1] == '\0')
		goto bad;
	for (; *p != '\0'; p++)
		if (*p <= 0x20 || *p >= 0x7f || *p == '"' || *p == '<' ||
		    *p == '>' || *p == '\\' || *p == '^' || *p == '`' ||
		    *p == '{' || *p == '|' || *p == '}')
			goto bad;
	return HM_OK;
 bad:
	return hm_seterr(err, HM_E_INVALID, "bad URI '%.64s' (want "
	    "scheme:rest, printable ASCII, no spaces)", v);
}

/* Canonical text form of an IPv4 or IPv6 address. */
static int
ip_canon(const char *v, char *out, size_t outlen, hm_err *err)
{
	unsigned char	a[16];

	if (inet_pton(AF_INET, v, a) == 1) {
		if (inet_ntop(AF_INET, a, out, (socklen_t)outlen) == NULL)
			return hm_seterr(err, HM_E_INTERNAL, "inet_ntop");
		return HM_OK;
	}
	if (inet_pton(AF_INET6, v, a) == 1) {
		if (inet_ntop(AF_INET6, a, out, (socklen_t)outlen) == NULL)
			return hm_seterr(err, HM_E_INTERNAL, "inet_ntop");
		return HM_OK;
	}
	return hm_seterr(err, HM_E_INVALID, "bad IP address '%.64s'", v);
}

hm_names *
hm_names_new(void)
{
	return calloc(1, sizeof(hm_names));
}

void
hm_names_free(hm_names *n)
{
	size_t	i;

	if (n == NULL)
		return;
	for (i = 0; i < n->n; i++)
		free(n->v[i].value);
	free(n->v);
	free(n);
}

int
hm_names_add_typed(hm_names *n, hm_name_type t, const char *v, hm_err *err)
{
	char		 ipbuf[INET6_ADDRSTRLEN], *val = NULL;
	struct hm_name	*nv;
	size_t		 i;
	int		 rc;

	if (v == NULL || strlen(v) > URI_MAX)
		return hm_seterr(err, HM_E_INVALID, "name too long");
	for (i = 0; v[i] != '\0'; i++)
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
			return hm_seterr(err, HM_E_INVALID, "name holds a "
			    "control character");
	if (t == HM_NAME_IP) {
		if ((rc = ip_canon(v, ipbuf, sizeof(ipbuf), err)) != HM_OK)
			return rc;
		v = ipbuf;
	}
	if ((val = strdup(v)) == NULL)
		return hm_seterr(err, HM_E_NOMEM, "out of memory");
	switch (t) {
	case HM_NAME_DNS:
		rc = dns_check(val, err);
		break;
	case HM_NAME_EMAIL:
		rc = email_check(val, err);
		break;
	case HM_NAME_URI:
		rc = uri_check(val, err);
		break;
	case HM_NAME_IP:
		rc = HM_OK;
		break;
	default:
		rc = hm_seterr(err, HM_E_INVALID, "unknown name type");
	}
	if (rc != HM_OK)
		goto out;
	for (i = 0; i < n->n; i++)
		if (n->v[i].type == t && strcmp(n->v[i].value, val) == 0)
			goto out;	/* duplicate: already there */
	if (n->n >= NAMES_MAX) {
		rc = hm_seterr(err, HM_E_POLICY, "more than %d names",
		    NAMES_MAX);
		goto out;
	}
	if (n->n == n->cap) {
		size_t cap = n->cap == 0 ? 4 : n->cap * 2;
		if ((nv = reallocarray(n->v, cap, sizeof(*nv))) == NULL) {
			rc = hm_seterr(err, HM_E_NOMEM, "out of memory");
			goto out;
		}
		n->v = nv;
		n->cap = cap;
	}
	n->v[n->n].type = t;
	n->v[n->n].value = val;
	n->n++;
	val = NULL;
 out:
	free(val);
	return rc;
}

int
hm_names_add(hm_names *n, const char *spec, hm_err *err)
{
	static const struct {
		const char	*prefix;
		hm_name_type	 t;
	} pfx[] = {
		{ "dns:", HM_NAME_DNS }, { "ip:", HM_NAME_IP },
		{ "email:", HM_NAME_EMAIL }, { "uri:", HM_NAME_URI },
	};
	size_t	i, l;

	for (i = 0; i < sizeof(pfx) / sizeof(pfx[0]); i++) {
		l = strlen(pfx[i].prefix);
		if (strncasecmp(spec, pfx[i].prefix, l) == 0)
			return hm_names_add_typed(n, pfx[i].t, spec + l, err);
	}
	return hm_seterr(err, HM_E_INVALID, "bad name '%.64s' (want "
	    "dns:NAME, ip:ADDR, email:ADDR or uri:URI)", spec);
}

size_t
hm_names_count(const hm_names *n)
{
	return n == NULL ? 0 : n->n;
}

int
hm_names_get(const hm_names *n, size_t i, hm_name_type *t, const char **v)
{
	if (n == NULL || i >= n->n)
		return HM_E_NOTFOUND;
	*t = n->v[i].type;
	*v = n->v[i].value;
	return HM_OK;
}

int
hm_names_has_wildcard(const hm_names *n)
{
	size_t	i;

	for (i = 0; i < hm_names_count(n); i++)
		if (n->v[i].type == HM_NAME_DNS && n->v[i].value[0] == '*')
			return 1;
	return 0;
}

int
hm_names_join(const hm_names *n, char *buf, size_t len)
{
	size_t	i, off = 0;
	int	r;

	buf[0] = '\0';
	for (i = 0; i < hm_names_count(n); i++) {
		r = snprintf(buf + off, len - off, "%s%s:%s", i ? "," : "",
		    hm_name_type_str(n->v[i].type), n->v[i].value);
		if (r < 0 || (size_t)r >= len - off)
			return -1;
		off += (size_t)r;
	}
	return 0;
}

GENERAL_NAMES *
hm_names_to_gens(const hm_names *n, hm_err *err)
{
	GENERAL_NAMES	*gens;
	GENERAL_NAME	*g = NULL;
	ASN1_IA5STRING	*s = NULL;
	ASN1_OCTET_STRING *ip = NULL;
	unsigned char	 a[16];
	size_t		 i;
	int		 type, alen;

	if ((gens = GENERAL_NAMES_new()) == NULL)
		goto nomem;
	for (i = 0; i < n->n; i++) {
		if ((g = GENERAL_NAME_new()) == NULL)
			goto nomem;
		if (n->v[i].type == HM_NAME_IP) {
			if (inet_pton(AF_INET, n->v[i].value, a) == 1)
				alen = 4;
			else if (inet_pton(AF_INET6, n->v[i].value, a) == 1)
				alen = 16;
			else
				goto nomem;
			if ((ip = ASN1_OCTET_STRING_new()) == NULL ||
			    !ASN1_OCTET_STRING_set(ip, a, alen))
				goto nomem;
			GENERAL_NAME_set0_value(g, GEN_IPADD, ip);
			ip = NULL;
		} else {
			type = n->v[i].type == HM_NAME_DNS ? GEN_DNS :
			    n->v[i].type == HM_NAME_EMAIL ? GEN_EMAIL : GEN_URI;
			if ((s = ASN1_IA5STRING_new()) == NULL ||
			    !ASN1_STRING_set(s, n->v[i].value, -1))
				goto nomem;
			GENERAL_NAME_set0_value(g, type, s);
			s = NULL;
		}
		if (!sk_GENERAL_NAME_push(gens, g))
			goto nomem;
		g = NULL;
	}
	return gens;
 nomem:
	ASN1_IA5STRING_free(s);
	ASN1_OCTET_STRING_free(ip);
	GENERAL_NAME_free(g);
	GENERAL_NAMES_free(gens);
	hm_seterr(err, HM_E_NOMEM, "out of memory");
	return NULL;
}

/*
 * Take the names of a CSR's SAN extension through the same validation as
 * names typed by an operator.  Returns 1 when a name of a type hallmark
 * never issues (otherName, directoryName, ...) was skipped.
 */
int
hm_names_from_gens(hm_names *n, const GENERAL_NAMES *g, hm_err *err)
{
	const GENERAL_NAME	*gn;
	const ASN1_STRING	*s;
	char			 buf[URI_MAX + 1], ip[INET6_ADDRSTRLEN];
	int			 i, rc, skipped = 0, len;
	hm_name_type		 t;

	for (i = 0; i < sk_GENERAL_NAME_num(g); i++) {
		gn = sk_GENERAL_NAME_value(g, i);
		switch (gn->type) {
		case GEN_DNS:	t = HM_NAME_DNS; s = gn->d.ia5; break;
		case GEN_EMAIL:	t = HM_NAME_EMAIL; s = gn->d.ia5; break;
		case GEN_URI:	t = HM_NAME_URI; s = gn->d.ia5; break;
		case GEN_IPADD:	t = HM_NAME_IP; s = gn->d.ip; break;
		default:
			skipped = 1;
			continue;
		}
		len = ASN1_STRING_length(s);
		if (t == HM_NAME_IP) {
			if (len != 4 && len != 16)
				return hm_seterr(err, HM_E_INVALID, "CSR holds "
				    "an IP address of %d bytes", len);
			inet_ntop(len == 4 ? AF_INET : AF_INET6,
			    ASN1_STRING_get0_data(s), ip, sizeof(ip));
			rc = hm_names_add_typed(n, t, ip, err);
		} else {
			if (len < 0 || (size_t)len >= sizeof(buf))
				return hm_seterr(err, HM_E_INVALID, "CSR holds "
				    "a name over %d bytes", URI_MAX);
			if (memchr(ASN1_STRING_get0_data(s), '\0',
			    (size_t)len) != NULL)
				return hm_seterr(err, HM_E_INVALID, "CSR holds "
				    "a name with a NUL byte");
			memcpy(buf, ASN1_STRING_get0_data(s), (size_t)len);
			buf[len] = '\0';
			rc = hm_names_add_typed(n, t, buf, err);
		}
		if (rc != HM_OK)
			return rc;
	}
	return skipped;
}

int
hm_names_split(const char *list, hm_names **out, hm_err *err)
{
	hm_names	*n;
	char		*buf, *p, *save = NULL;
	int		 rc = HM_OK;

	if ((n = hm_names_new()) == NULL || (buf = strdup(list)) == NULL) {
		hm_names_free(n);
		return hm_seterr(err, HM_E_NOMEM, "out of memory");
	}
	for (p = strtok_r(buf, ",", &save); p != NULL && rc == HM_OK;
	    p = strtok_r(NULL, ",", &save))
		rc = hm_names_add(n, p, err);
	free(buf);
	if (rc != HM_OK) {
		hm_names_free(n);
		return rc;
	}
	*out = n;
	return HM_OK;
}
