/*
 * Name constraints (RFC 5280 4.2.1.10) for intermediates: built from
 * "dns:example.com" and "ip:10.0.0.0/8" specs, and checked with OpenSSL's
 * own NAME_CONSTRAINTS_check(), the code `openssl verify` runs, so that
 * what issuance refuses is exactly what verifiers would refuse.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509v3.h>

#include "internal.h"

/* The DER of an IP constraint: address then mask, 8 or 32 bytes. */
static int
ip_subtree(const char *v, unsigned char out[32], int *outlen, hm_err *err)
{
	char		 addr[64], *slash, *end;
	unsigned char	*mask;
	long		 bits;
	int		 alen, i;

	if (strlen(v) >= sizeof(addr) || (slash = strchr(v, '/')) == NULL)
		return hm_seterr(err, HM_E_INVALID, "IP constraint '%.64s' is "
		    "not ADDRESS/PREFIX", v);
	memcpy(addr, v, (size_t)(slash - v));
	addr[slash - v] = '\0';
	if (inet_pton(AF_INET, addr, out) == 1)
		alen = 4;
	else if (inet_pton(AF_INET6, addr, out) == 1)
		alen = 16;
	else
		return hm_seterr(err, HM_E_INVALID, "bad address in IP "
		    "constraint '%.64s'", v);
	bits = strtol(slash + 1, &end, 10);
	if (slash[1] < '0' || slash[1] > '9' || *end != '\0' || bits < 0 ||
	    bits > alen * 8)
		return hm_seterr(err, HM_E_INVALID, "bad prefix length in IP "
		    "constraint '%.64s' (want 0 to %d)", v, alen * 8);
	mask = out + alen;
	for (i = 0; i < alen; i++) {
		if (bits >= 8)
			mask[i] = 0xff;
		else if (bits > 0)
			mask[i] = (unsigned char)(0xff << (8 - bits));
		else
			mask[i] = 0;
		bits = bits >= 8 ? bits - 8 : 0;
		if ((out[i] & ~mask[i]) != 0)
			return hm_seterr(err, HM_E_INVALID, "IP constraint "
			    "'%.64s' has bits set beyond its prefix", v);
	}
	*outlen = 2 * alen;
	return HM_OK;
}

/* One spec as a GENERAL_SUBTREE. */
static int
subtree(const char *spec, GENERAL_SUBTREE **out, hm_err *err)
{
	GENERAL_SUBTREE		*st = NULL;
	ASN1_OCTET_STRING	*os = NULL;
	ASN1_IA5STRING		*s = NULL;
	hm_names		*n = NULL;
	hm_name_type		 t;
	const char		*dns;
	unsigned char		 ip[32];
	int			 iplen = 0, rc;

	if (strncasecmp(spec, "dns:", 4) == 0) {
		if (strchr(spec, '*') != NULL || spec[4] == '.')
			return hm_seterr(err, HM_E_INVALID, "DNS constraint "
			    "'%.64s': give a domain, without '*' or a leading "
			    "'.' (it covers the domain and every name below)",
			    spec);
		if ((n = hm_names_new()) == NULL)
			return hm_seterr(err, HM_E_NOMEM, "out of memory");
		if ((rc = hm_names_add_typed(n, HM_NAME_DNS, spec + 4, err)) !=
		    HM_OK)
			goto out;
		hm_names_get(n, 0, &t, &dns);
		if ((s = ASN1_IA5STRING_new()) == NULL ||
		    !ASN1_STRING_set(s, dns, -1))
			goto nomem;
	} else if (strncasecmp(spec, "ip:", 3) == 0) {
		if ((rc = ip_subtree(spec + 3, ip, &iplen, err)) != HM_OK)
			goto out;
		if ((os = ASN1_OCTET_STRING_new()) == NULL ||
		    !ASN1_OCTET_STRING_set(os, ip, iplen))
			goto nomem;
	} else {
		rc = hm_seterr(err, HM_E_INVALID, "bad constraint '%.64s' "
		    "(want dns:DOMAIN or ip:ADDRESS/PREFIX)", spec);
		goto out;
	}
	if ((st = GENERAL_SUBTREE_new()) == NULL)
		goto nomem;
	if (s != NULL)
		GENERAL_NAME_set0_value(st->base, GEN_DNS, s);
	else
		GENERAL_NAME_set0_value(st->base, GEN_IPADD, os);
	s = NULL;
	os = NULL;
	*out = st;
	rc = HM_OK;
	goto out;
 nomem:
	rc = hm_seterr(err, HM_E_NOMEM, "out of memory");
 out:
	ASN1_IA5STRING_free(s);
	ASN1_OCTET_STRING_free(os);
	hm_names_free(n);
	return rc;
}

int
hm_constraint_check(const char *spec, hm_err *err)
{
	GENERAL_SUBTREE	*st;
	int		 rc;

	if ((rc = subtree(spec, &st, err)) == HM_OK)
		GENERAL_SUBTREE_free(st);
	return rc;
}

static int
subtrees(char *const *specs, size_t n, STACK_OF(GENERAL_SUBTREE) **out,
    hm_err *err)
{
	GENERAL_SUBTREE	*st;
	size_t		 i;
	int		 rc;

	if (n == 0)
		return HM_OK;
	if ((*out = sk_GENERAL_SUBTREE_new_null()) == NULL)
		return hm_seterr(err, HM_E_NOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		if ((rc = subtree(specs[i], &st, err)) != HM_OK)
			return rc;
		if (!sk_GENERAL_SUBTREE_push(*out, st)) {
			GENERAL_SUBTREE_free(st);
			return hm_seterr(err, HM_E_NOMEM, "out of memory");
		}
	}
	return HM_OK;
}

int
hm_nc_new(char *const *permitted, size_t np, char *const *excluded,
    size_t ne, NAME_CONSTRAINTS **out, hm_err *err)
{
	NAME_CONSTRAINTS	*nc;
	int			 rc;

	if (np == 0 && ne == 0)
		return hm_seterr(err, HM_E_INVALID, "name constraints with "
		    "neither permitted nor excluded names");
	if ((nc = NAME_CONSTRAINTS_new()) == NULL)
		return hm_seterr(err, HM_E_NOMEM, "out of memory");
	if ((rc = subtrees(permitted, np, &nc->permittedSubtrees, err)) !=
	    HM_OK || (rc = subtrees(excluded, ne, &nc->excludedSubtrees,
	    err)) != HM_OK) {
		NAME_CONSTRAINTS_free(nc);
		return rc;
	}
	*out = nc;
	return HM_OK;
}

/*
 * OpenSSL's verdict on probe certificate x under nc.  NAME_CONSTRAINTS_check
 * reads the names from x's extension cache, which a certificate built in
 * memory only gets when something asks: ask first.  (An unsigned probe
 * has no fingerprint, which the cache notes; its names are all it needs.)
 */
static int
nc_verdict(X509 *x, NAME_CONSTRAINTS *nc)
{
	int	r;

	if ((X509_get_extension_flags(x) & (EXFLAG_SET | EXFLAG_INVALID)) !=
	    EXFLAG_SET)
		return X509_V_ERR_UNSPECIFIED;
	if ((r = NAME_CONSTRAINTS_check(x, nc)) != X509_V_OK)
		return r;
	return NAME_CONSTRAINTS_check_CN(x, nc);
}

static const char *
verdict_str(int r)
{
	switch (r) {
	case X509_V_ERR_PERMITTED_VIOLATION:
		return "is outside the names it permits";
	case X509_V_ERR_EXCLUDED_VIOLATION:
		return "is among the names it excludes";
	default:
		return "can not be checked against its name constraints";
	}
}

/* A certificate holding only the i-th name of sans, or only the CN. */
static X509 *
probe(const hm_names *sans, size_t i, const char *cn)
{
	hm_names	*one = NULL;
	GENERAL_NAMES	*g = NULL;
	hm_name_type	 t;
	const char	*v;
	X509		*x;

	if ((x = X509_new()) == NULL)
		return NULL;
	if (!X509_set_version(x, X509_VERSION_3))
		goto fail;
	if (cn != NULL) {
		if (!X509_NAME_add_entry_by_NID(X509_get_subject_name(x),
		    NID_commonName, MBSTRING_UTF8, (const unsigned char *)cn,
		    -1, -1, 0))
			goto fail;
		return x;
	}
	hm_names_get(sans, i, &t, &v);
	if ((one = hm_names_new()) == NULL ||
	    hm_names_add_typed(one, t, v, NULL) != HM_OK ||
	    (g = hm_names_to_gens(one, NULL)) == NULL ||
	    X509_add1_ext_i2d(x, NID_subject_alt_name, g, 0, 0) != 1)
		goto fail;
	GENERAL_NAMES_free(g);
	hm_names_free(one);
	return x;
 fail:
	GENERAL_NAMES_free(g);
	hm_names_free(one);
	X509_free(x);
	return NULL;
}

/*
 * Each name on a certificate of its own, so that a refusal names the name;
 * the CN as OpenSSL treats it: checked as a host name only when there is
 * no DNS name among the SANs.
 */
int
hm_nc_allows(NAME_CONSTRAINTS *nc, const hm_names *sans, const char *cn,
    const char *ca, hm_err *err)
{
	hm_name_type	 t;
	const char	*v;
	X509		*x;
	size_t		 i, n = hm_names_count(sans);
	int		 r;

	for (i = 0; i < n; i++) {
		hm_names_get(sans, i, &t, &v);
		if (t == HM_NAME_DNS)
			cn = NULL;
	}
	for (i = 0; i <= n; i++) {
		if (i == n && cn == NULL)
			break;
		if ((x = probe(sans, i, i == n ? cn : NULL)) == NULL)
			return hm_seterr(err, HM_E_NOMEM, "out of memory");
		r = nc_verdict(x, nc);
		X509_free(x);
		if (r == X509_V_OK)
			continue;
		if (i == n)
			return hm_seterr(err, HM_E_POLICY, "common name '%.64s' "
			    "%s of CA '%s'", cn, verdict_str(r), ca);
		hm_names_get(sans, i, &t, &v);
		return hm_seterr(err, HM_E_POLICY, "name %s:%.64s %s of CA "
		    "'%s'", hm_name_type_str(t), v, verdict_str(r), ca);
	}
	return HM_OK;
}

int
hm_nc_check_ca(X509 *ca, const char *caname, const hm_names *sans,
    const char *cn, hm_err *err)
{
	NAME_CONSTRAINTS	*nc;
	int			 crit, rc;

	if ((nc = X509_get_ext_d2i(ca, NID_name_constraints, &crit,
	    NULL)) == NULL)
		return crit == -1 ? HM_OK : hm_seterr(err, HM_E_INVALID,
		    "CA '%s' has a name constraints extension that does not "
		    "parse", caname);
	rc = hm_nc_allows(nc, sans, cn, caname, err);
	NAME_CONSTRAINTS_free(nc);
	return rc;
}
