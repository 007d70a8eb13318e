/* Profiles: the only source of a certificate's extensions. */
#include <string.h>

#include <openssl/x509v3.h>

#include "internal.h"

#define KU_CA	(HM_KU_DIGITAL_SIGNATURE | HM_KU_KEY_CERT_SIGN | HM_KU_CRL_SIGN)

static const struct hm_profile profiles[] = {
	{ HM_PROFILE_ROOT, "root", 1, 0, 0, 10 * HM_YEAR, KU_CA, 0, 0 },
	{ HM_PROFILE_INTERMEDIATE, "intermediate", 1, 0, 0, 5 * HM_YEAR,
	  KU_CA, 0, 0 },
	{ HM_PROFILE_SERVER, "server", 0, 1, 1, 90 * 86400, 0,
	  HM_EKU_SERVER, 0 },
	{ HM_PROFILE_CLIENT, "client", 0, 0, 0, 90 * 86400, 0,
	  HM_EKU_CLIENT, 0 },
	{ HM_PROFILE_BOTH, "both", 0, 1, 1, 90 * 86400, 0,
	  HM_EKU_SERVER | HM_EKU_CLIENT, 0 },
	/*
	 * Short-lived, so that it needs no revocation checking of its own
	 * (RFC 6960 4.2.2.2.1): the responder makes a new one at half life.
	 */
	{ HM_PROFILE_OCSP, "ocsp", 0, 0, 0, 2 * 86400, HM_KU_DIGITAL_SIGNATURE,
	  HM_EKU_OCSP_SIGNING, 1 },
};

static const char *const names[] = {
	[HM_PROFILE_ROOT] = "root",
	[HM_PROFILE_INTERMEDIATE] = "intermediate",
	[HM_PROFILE_SERVER] = "server",
	[HM_PROFILE_CLIENT] = "client",
	[HM_PROFILE_BOTH] = "both",
	[HM_PROFILE_CUSTOM] = "custom",
	[HM_PROFILE_OCSP] = "ocsp",
};

const struct hm_profile *
hm_profile_get(hm_profile_id id)
{
	size_t	i;

	for (i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++)
		if (profiles[i].id == id)
			return &profiles[i];
	return NULL;
}

int
hm_profile_parse(const char *s, hm_profile_id *out, hm_err *err)
{
	int	i;

	for (i = HM_PROFILE_SERVER; s != NULL && i <= HM_PROFILE_BOTH; i++)
		if (strcmp(s, names[i]) == 0) {
			*out = (hm_profile_id)i;
			return HM_OK;
		}
	return hm_seterr(err, HM_E_INVALID, "unknown profile '%s' (want "
	    "server, client or both)", s == NULL ? "" : s);
}

const char *
hm_profile_name(hm_profile_id p)
{
	if (p < HM_PROFILE_ROOT || p > HM_PROFILE_OCSP)
		return "none";
	return names[p];
}

static int
is_rsa(hm_keytype kt)
{
	return kt == HM_KEY_RSA2048 || kt == HM_KEY_RSA3072 ||
	    kt == HM_KEY_RSA4096;
}

/* SKI per RFC 7093 method 1: SHA-256 of subjectPublicKey, first 160 bits. */
int
hm_ski_set(X509 *x, hm_err *err)
{
	const unsigned char	*pk;
	unsigned char		 md[32];
	unsigned int		 mdlen = sizeof(md);
	int			 pklen, ok;
	ASN1_OCTET_STRING	*ski;

	if (!X509_PUBKEY_get0_param(NULL, &pk, &pklen, NULL,
	    X509_get_X509_PUBKEY(x)) ||
	    !EVP_Digest(pk, (size_t)pklen, md, &mdlen, EVP_sha256(), NULL))
		return hm_seterr_ssl(err, HM_E_INTERNAL, "key identifier");
	if ((ski = ASN1_OCTET_STRING_new()) == NULL)
		return hm_seterr(err, HM_E_NOMEM, "out of memory");
	ok = ASN1_OCTET_STRING_set(ski, md, 20) &&
	    X509_add1_ext_i2d(x, NID_subject_key_identifier, ski, 0,
	    X509V3_ADD_REPLACE) == 1;
	ASN1_OCTET_STRING_free(ski);
	if (!ok)
		return hm_seterr_ssl(err, HM_E_INTERNAL, "adding the SKI");
	return HM_OK;
}

int
hm_profile_from_def(const hm_profile_def *d, struct hm_profile *out,
    hm_err *err)
{
	hm_profile_id	id;

	if (d == NULL || d->name == NULL || d->name[0] == '\0' ||
	    strlen(d->name) > HM_CA_NAME_MAX)
		return hm_seterr(err, HM_E_INVALID, "a custom profile needs "
		    "a name of 1 to %d characters", HM_CA_NAME_MAX);
	if (hm_profile_parse(d->name, &id, NULL) == HM_OK ||
	    strcmp(d->name, "root") == 0 ||
	    strcmp(d->name, "intermediate") == 0)
		return hm_seterr(err, HM_E_INVALID, "'%s' is a built-in "
		    "profile's name", d->name);
	if (d->key_usage & ~(unsigned)(HM_KU_DIGITAL_SIGNATURE |
	    HM_KU_KEY_ENCIPHERMENT | HM_KU_KEY_AGREEMENT))
		return hm_seterr(err, HM_E_POLICY, "profile '%s': keyCertSign "
		    "and cRLSign are for CAs only", d->name);
	if (d->eku == 0 || (d->eku & ~(unsigned)(HM_EKU_SERVER |
	    HM_EKU_CLIENT | HM_EKU_CODE_SIGNING | HM_EKU_EMAIL |
	    HM_EKU_TIME_STAMPING | HM_EKU_OCSP_SIGNING)))
		return hm_seterr(err, HM_E_POLICY, "profile '%s' needs at "
		    "least one known extended key usage", d->name);
	memset(out, 0, sizeof(*out));
	out->id = HM_PROFILE_CUSTOM;
	out->name = d->name;
	out->wildcard_ok = d->wildcards != 0;
	out->need_san = d->san_required != 0 || (d->eku & HM_EKU_SERVER);
	out->default_validity = d->validity > 0 ? d->validity : 90 * 86400;
	out->ku = d->key_usage;
	out->eku = d->eku;
	return HM_OK;
}

unsigned
hm_profile_ku(const struct hm_profile *p, hm_keytype kt)
{
	if (p->ku != 0)
		return p->ku;
	/* RSA key transport for TLS 1.2 servers. */
	if ((p->eku & HM_EKU_SERVER) && is_rsa(kt))
		return HM_KU_DIGITAL_SIGNATURE | HM_KU_KEY_ENCIPHERMENT;
	return HM_KU_DIGITAL_SIGNATURE;
}

static const struct {
	unsigned	bit;
	int		asn1bit;	/* RFC 5280 KeyUsage bit number */
} kubits[] = {
	{ HM_KU_DIGITAL_SIGNATURE, 0 },
	{ HM_KU_KEY_ENCIPHERMENT, 2 },
	{ HM_KU_KEY_AGREEMENT, 4 },
	{ HM_KU_KEY_CERT_SIGN, 5 },
	{ HM_KU_CRL_SIGN, 6 },
};

static const struct {
	unsigned	bit;
	int		nid;
} ekus[] = {
	{ HM_EKU_SERVER, NID_server_auth },
	{ HM_EKU_CLIENT, NID_client_auth },
	{ HM_EKU_CODE_SIGNING, NID_code_sign },
	{ HM_EKU_EMAIL, NID_email_protect },
	{ HM_EKU_TIME_STAMPING, NID_time_stamp },
	{ HM_EKU_OCSP_SIGNING, NID_OCSP_sign },
};

int
hm_profile_apply(const struct hm_profile *p, X509 *x, X509 *issuer,
    hm_keytype kt, int pathlen, NAME_CONSTRAINTS *nc, hm_err *err)
{
	BASIC_CONSTRAINTS		*bc = NULL;
	ASN1_BIT_STRING			*ku = NULL;
	EXTENDED_KEY_USAGE		*eku = NULL;
	AUTHORITY_KEYID			*aki = NULL;
	ASN1_NULL			*null = NULL;
	const ASN1_OCTET_STRING		*iski;
	unsigned			 kubits_set;
	size_t				 i;
	int				 rc;

	if ((bc = BASIC_CONSTRAINTS_new()) == NULL ||
	    (ku = ASN1_BIT_STRING_new()) == NULL ||
	    (aki = AUTHORITY_KEYID_new()) == NULL)
		goto nomem;
	bc->ca = p->is_ca ? 0xff : 0;
	if (p->is_ca && pathlen >= 0) {
		if ((bc->pathlen = ASN1_INTEGER_new()) == NULL ||
		    !ASN1_INTEGER_set(bc->pathlen, pathlen))
			goto nomem;
	}
	if (X509_add1_ext_i2d(x, NID_basic_constraints, bc, 1, 0) != 1)
		goto ssl;

	kubits_set = hm_profile_ku(p, kt);
	for (i = 0; i < sizeof(kubits) / sizeof(kubits[0]); i++)
		if ((kubits_set & kubits[i].bit) &&
		    !ASN1_BIT_STRING_set_bit(ku, kubits[i].asn1bit, 1))
			goto nomem;
	if (X509_add1_ext_i2d(x, NID_key_usage, ku, 1, 0) != 1)
		goto ssl;

	if (!p->is_ca) {
		if ((eku = sk_ASN1_OBJECT_new_null()) == NULL)
			goto nomem;
		for (i = 0; i < sizeof(ekus) / sizeof(ekus[0]); i++)
			if ((p->eku & ekus[i].bit) &&
			    !sk_ASN1_OBJECT_push(eku, OBJ_nid2obj(ekus[i].nid)))
				goto nomem;
		if (X509_add1_ext_i2d(x, NID_ext_key_usage, eku, 0, 0) != 1)
			goto ssl;
	}
	if (p->ocsp_nocheck) {
		if ((null = ASN1_NULL_new()) == NULL)
			goto nomem;
		if (X509_add1_ext_i2d(x, NID_id_pkix_OCSP_noCheck, null, 0,
		    0) != 1)
			goto ssl;
	}
	/* RFC 5280 4.2.1.10: conforming CAs mark it critical. */
	if (nc != NULL && p->is_ca &&
	    X509_add1_ext_i2d(x, NID_name_constraints, nc, 1, 0) != 1)
		goto ssl;

	if ((rc = hm_ski_set(x, err)) != HM_OK)
		goto out;
	if (issuer == NULL) {
		/* Self-signed: x's extension cache predates its own SKI. */
		aki->keyid = X509_get_ext_d2i(x, NID_subject_key_identifier,
		    NULL, NULL);
	} else if ((iski = X509_get0_subject_key_id(issuer)) != NULL)
		aki->keyid = ASN1_OCTET_STRING_dup(iski);
	if (aki->keyid == NULL) {
		rc = hm_seterr(err, HM_E_INTERNAL, "issuer has no subject key "
		    "identifier");
		goto out;
	}
	if (X509_add1_ext_i2d(x, NID_authority_key_identifier, aki, 0, 0) != 1)
		goto ssl;
	rc = HM_OK;
	goto out;
 nomem:
	rc = hm_seterr(err, HM_E_NOMEM, "out of memory");
	goto out;
 ssl:
	rc = hm_seterr_ssl(err, HM_E_INTERNAL, "adding extensions");
 out:
	BASIC_CONSTRAINTS_free(bc);
	ASN1_BIT_STRING_free(ku);
	sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
	AUTHORITY_KEYID_free(aki);
	ASN1_NULL_free(null);
	return rc;
}
