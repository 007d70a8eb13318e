/*
 * Lint: the rules issuance enforces, checked on any certificate.  The
 * rules read a view of the certificate (what its extensions, key, serial
 * and dates say), so that issuance runs the very same rules on what it is
 * about to sign, and `hallmark lint` on what it reads.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "internal.h"

struct lint {
	hm_lint_cb	 cb;
	void		*arg;
	int		 n;
	char		 first[HM_ERR_MSG_MAX];	/* the first finding */
};

static void
finding(struct lint *l, const char *rule, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
finding(struct lint *l, const char *rule, const char *fmt, ...)
{
	char	msg[HM_ERR_MSG_MAX - 32];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (l->n++ == 0)
		snprintf(l->first, sizeof(l->first), "%.24s: %s", rule, msg);
	if (l->cb != NULL)
		l->cb(rule, msg, l->arg);
}

int
hm_lint_rules(const struct hm_lint_view *v, hm_lint_cb cb, void *arg,
    char *first, size_t firstlen)
{
	struct lint	l = { cb, arg, 0, "" };
	unsigned	ca_ku = HM_KU_KEY_CERT_SIGN | HM_KU_CRL_SIGN;

	if (!v->bc_present || !v->bc_critical)
		finding(&l, "basic-constraints", "basicConstraints %s",
		    v->bc_present ? "is not critical" : "is missing");
	if (!v->ku_present || !v->ku_critical)
		finding(&l, "key-usage", "keyUsage %s", v->ku_present ?
		    "is not critical" : "is missing");
	if (v->is_ca) {
		if (!(v->ku & HM_KU_KEY_CERT_SIGN))
			finding(&l, "key-usage", "a CA without keyCertSign");
		if (v->eku_present)
			finding(&l, "ext-key-usage", "a CA with an extended "
			    "key usage");
	} else {
		if (v->ku & ca_ku)
			finding(&l, "key-usage", "an end entity with "
			    "keyCertSign or cRLSign");
		if (!v->eku_present || v->eku == 0)
			finding(&l, "ext-key-usage", "an end entity without an "
			    "extended key usage");
		if ((v->eku & HM_EKU_SERVER) && v->nsans == 0)
			finding(&l, "san-required", "a TLS server certificate "
			    "without a subject alternative name");
	}
	if ((v->ku & HM_KU_KEY_ENCIPHERMENT) && v->kt != HM_KEY_RSA2048 &&
	    v->kt != HM_KEY_RSA3072 && v->kt != HM_KEY_RSA4096)
		finding(&l, "key-usage", "keyEncipherment with a %s key",
		    v->kt == HM_KEY_NONE ? "non-RSA" : hm_keytype_name(v->kt));
	if ((v->ku & HM_KU_KEY_AGREEMENT) && v->kt != HM_KEY_P256 &&
	    v->kt != HM_KEY_P384)
		finding(&l, "key-usage", "keyAgreement with a %s key",
		    v->kt == HM_KEY_NONE ? "non-EC" : hm_keytype_name(v->kt));
	if (v->kt == HM_KEY_NONE)
		finding(&l, "key", "%s", v->key_problem[0] != '\0' ?
		    v->key_problem : "key type not allowed");
	if (!v->serial_positive || v->serial_len > 20)
		finding(&l, "serial", "serial is not a positive number of at "
		    "most 20 bytes");
	else if (v->serial_len < 16)
		finding(&l, "serial", "serial of %zu bytes: fewer than the 16 "
		    "random bytes hallmark issues", v->serial_len);
	if (v->not_after <= v->not_before)
		finding(&l, "validity", "notAfter is not after notBefore");
	if (v->issuer_known && (v->not_before < v->issuer_not_before ||
	    v->not_after > v->issuer_not_after))
		finding(&l, "validity", "valid outside its issuer's validity");
	if (first != NULL && firstlen > 0)
		snprintf(first, firstlen, "%s", l.first);
	return l.n;
}

/* The view of a certificate read from outside. */
static void
view_of(X509 *x, hm_names *sans, struct hm_lint_view *v)
{
	static const struct { uint32_t x; unsigned hm; } ku[] = {
		{ KU_DIGITAL_SIGNATURE, HM_KU_DIGITAL_SIGNATURE },
		{ KU_KEY_ENCIPHERMENT, HM_KU_KEY_ENCIPHERMENT },
		{ KU_KEY_AGREEMENT, HM_KU_KEY_AGREEMENT },
		{ KU_KEY_CERT_SIGN, HM_KU_KEY_CERT_SIGN },
		{ KU_CRL_SIGN, HM_KU_CRL_SIGN },
	}, eku[] = {
		{ XKU_SSL_SERVER, HM_EKU_SERVER },
		{ XKU_SSL_CLIENT, HM_EKU_CLIENT },
		{ XKU_CODE_SIGN, HM_EKU_CODE_SIGNING },
		{ XKU_SMIME, HM_EKU_EMAIL },
		{ XKU_TIMESTAMP, HM_EKU_TIME_STAMPING },
		{ XKU_OCSP_SIGN, HM_EKU_OCSP_SIGNING },
	};
	const ASN1_INTEGER	*sn = X509_get0_serialNumber(x);
	GENERAL_NAMES		*g;
	hm_err			 e;
	uint32_t		 xf = X509_get_extension_flags(x);
	uint32_t		 xku = X509_get_key_usage(x);
	uint32_t		 xeku = X509_get_extended_key_usage(x);
	size_t			 i;
	int			 idx;

	memset(v, 0, sizeof(*v));
	v->is_ca = X509_check_ca(x) != 0;
	if ((idx = X509_get_ext_by_NID(x, NID_basic_constraints, -1)) >= 0) {
		v->bc_present = 1;
		v->bc_critical = X509_EXTENSION_get_critical(X509_get_ext(x,
		    idx));
	}
	if ((idx = X509_get_ext_by_NID(x, NID_key_usage, -1)) >= 0) {
		v->ku_present = 1;
		v->ku_critical = X509_EXTENSION_get_critical(X509_get_ext(x,
		    idx));
		for (i = 0; i < sizeof(ku) / sizeof(ku[0]); i++)
			if (xku & ku[i].x)
				v->ku |= ku[i].hm;
	}
	if (xf & EXFLAG_XKUSAGE) {
		v->eku_present = 1;
		for (i = 0; i < sizeof(eku) / sizeof(eku[0]); i++)
			if (xeku & eku[i].x)
				v->eku |= eku[i].hm;
	}
	if ((g = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL)) !=
	    NULL) {
		if (hm_names_from_gens(sans, g, NULL) >= 0)
			v->sans = sans;
		v->nsans = (size_t)sk_GENERAL_NAME_num(g);
		GENERAL_NAMES_free(g);
	}
	e.msg[0] = '\0';
	if (X509_get0_pubkey(x) == NULL ||
	    (v->kt = hm_pkey_type(X509_get0_pubkey(x), &e)) == HM_KEY_NONE)
		snprintf(v->key_problem, sizeof(v->key_problem), "%.120s",
		    e.msg[0] != '\0' ? e.msg : "key type not allowed (want "
		    "Ed25519, P-256, P-384 or RSA >= 2048)");
	v->serial_positive = ASN1_STRING_type(sn) == V_ASN1_INTEGER &&
	    ASN1_STRING_length(sn) > 0;
	v->serial_len = (size_t)ASN1_STRING_length(sn);
	v->not_before = hm_asn1_time_to_time(X509_get0_notBefore(x));
	v->not_after = hm_asn1_time_to_time(X509_get0_notAfter(x));
}

/* The first CN of x as UTF-8, or "". */
static void
cn_of(X509 *x, char *buf, size_t len)
{
	const X509_NAME	*nm = X509_get_subject_name(x);
	unsigned char	*utf8 = NULL;
	int		 i, n;

	buf[0] = '\0';
	if ((i = X509_NAME_get_index_by_NID(nm, NID_commonName, -1)) < 0)
		return;
	n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(
	    X509_NAME_get_entry(nm, i)));
	if (n > 0 && (size_t)n < len && memchr(utf8, '\0', (size_t)n) == NULL)
		snprintf(buf, len, "%s", (char *)utf8);
	OPENSSL_free(utf8);
}

int
hm_lint(hm_ca *ca, const unsigned char *buf, size_t len, hm_lint_cb cb,
    void *arg, int *nfound, hm_err *err)
{
	struct hm_lint_view	 v;
	hm_signer		*found = NULL;
	X509			*x = NULL;
	struct lint		 l = { cb, arg, 0, "" };
	const unsigned char	*p = buf;
	hm_names		*sans = NULL;
	X509			*ca_x;
	char			 name[256], cn[256];
	hm_err			 e;
	int			 i, n, rc;

	if (len > 1024 * 1024)
		return hm_seterr(err, HM_E_TOOBIG, "certificate over 1 MiB");
	if (len > 10 && memcmp(buf, "-----BEGIN", 10) == 0)
		x = hm_x509_from_pem(buf, len);
	else
		x = d2i_X509(NULL, &p, (long)len);
	if (x == NULL)
		return hm_seterr_ssl(err, HM_E_INVALID, "not a certificate");
	if ((sans = hm_names_new()) == NULL) {
		rc = hm_seterr(err, HM_E_NOMEM, "out of memory");
		goto out;
	}
	view_of(x, sans, &v);
	if ((rc = hm_ca_find_issuer(ca, x, 0, &found, err)) != HM_OK &&
	    rc != HM_E_NOTFOUND)
		goto out;
	if (found != NULL) {
		v.issuer_known = 1;
		v.issuer_not_before = found->info.not_before;
		v.issuer_not_after = found->info.not_after;
	}
	n = hm_lint_rules(&v, cb, arg, NULL, 0);
	if (found == NULL)
		finding(&l, "issuer", "not issued (signed) by a CA of this "
		    "directory");
	else {
		/* The issuer, every CA above it, then the root. */
		cn_of(x, cn, sizeof(cn));
		for (i = 0; i <= sk_X509_num(found->chain); i++) {
			ca_x = i < sk_X509_num(found->chain) ?
			    sk_X509_value(found->chain, i) : found->root;
			hm_name_oneline(X509_get_subject_name(ca_x), name,
			    sizeof(name));
			if (hm_nc_check_ca(ca_x, name, sans, cn[0] != '\0' ?
			    cn : NULL, &e) != HM_OK)
				finding(&l, "name-constraints", "%s", e.msg);
		}
	}
	*nfound = n + l.n;
	rc = HM_OK;
 out:
	hm_signer_free(found);
	hm_names_free(sans);
	X509_free(x);
	return rc;
}
