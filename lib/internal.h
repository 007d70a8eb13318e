/* Private declarations shared by the files of libhallmark. */
#ifndef HM_INTERNAL_H
#define HM_INTERNAL_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "hallmark/hallmark.h"

#define HM_PATH_MAX	4096
#define HM_SERIAL_LEN	17	/* bytes: 134 random bits, always positive */
#define HM_BACKDATE	300	/* seconds of notBefore slack for skew */
#define HM_YEAR		(365LL * 86400)

/* err.c */
int	 hm_seterr(hm_err *err, int code, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/* As hm_seterr, appending the reason of OpenSSL's newest queued error. */
int	 hm_seterr_ssl(hm_err *err, int code, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/* util.c */
int	 hm_mkdir_p(const char *path, unsigned mode, hm_err *err);
int	 hm_hex(const unsigned char *b, size_t n, char *out, size_t outlen);
int	 hm_sha256_hex(const unsigned char *b, size_t n, char out[65]);
time_t	 hm_asn1_time_to_time(const ASN1_TIME *t);
int	 hm_serial_normalize(const char *in, char *out, size_t outlen);
void	 hm_name_oneline(const X509_NAME *n, char *buf, size_t len);

/* key.c */
struct hm_key {
	EVP_PKEY	*pkey;
	hm_keytype	 type;
};
hm_keytype	 hm_pkey_type(const EVP_PKEY *pk, hm_err *err);
hm_key		*hm_key_wrap(EVP_PKEY *pk, hm_keytype t);

/* name.c */
struct hm_name {
	hm_name_type	 type;
	char		*value;
};
struct hm_names {
	struct hm_name	*v;
	size_t		 n, cap;
};
GENERAL_NAMES	*hm_names_to_gens(const hm_names *n, hm_err *err);
int		 hm_names_from_gens(hm_names *n, const GENERAL_NAMES *g,
		    hm_err *err);
int		 hm_names_has_wildcard(const hm_names *n);
int		 hm_names_join(const hm_names *n, char *buf, size_t len);

/* csr.c */
struct hm_req_st;	/* the CSR as OpenSSL's ASN.1 templates decode it */
struct hm_csr {
	struct hm_req_st	*r;
	unsigned char		*der;		/* the CSR as received */
	size_t			 derlen;
	EVP_PKEY		*pkey;
	hm_keytype		 type;
	char			*cn;
	hm_names		*names;
	int			 names_unsupported; /* SAN types never issued */
	/* The SubjectPublicKeyInfo fields, borrowed from r. */
	const X509_ALGOR	*spki_alg;
	const unsigned char	*spki_pub;
	int			 spki_publen;
};

/* serial.c */
int	 hm_serial_random(unsigned char out[HM_SERIAL_LEN], hm_err *err);

/* profile.c */
struct hm_profile {
	hm_profile_id	 id;
	const char	*name;
	int		 is_ca;
	int		 wildcard_ok;
	int		 need_san;
	int64_t		 default_validity;
	unsigned	 ku;		/* HM_KU_*; 0: by key type and EKU */
	unsigned	 eku;		/* HM_EKU_* */
};
const struct hm_profile *hm_profile_get(hm_profile_id id);
/* A custom profile as a struct hm_profile (borrowing d's name). */
int	 hm_profile_from_def(const hm_profile_def *d, struct hm_profile *out,
	    hm_err *err);
/* The keyUsage bits p grants a key of type kt. */
unsigned hm_profile_ku(const struct hm_profile *p, hm_keytype kt);
/*
 * Add the profile's extensions (basicConstraints, keyUsage, EKU, SKI, AKI,
 * and nc when not NULL) to x, whose public key must already be set.
 * pathlen < 0: none.
 */
int	 hm_profile_apply(const struct hm_profile *p, X509 *x, X509 *issuer,
	    hm_keytype kt, int pathlen, NAME_CONSTRAINTS *nc, hm_err *err);
int	 hm_ski_set(X509 *x, hm_err *err);

/* constraints.c */
/* Syntax of one constraint: "dns:DOMAIN" or "ip:ADDRESS/PREFIX". */
int	 hm_constraint_check(const char *spec, hm_err *err);
int	 hm_nc_new(char *const *permitted, size_t np, char *const *excluded,
	    size_t ne, NAME_CONSTRAINTS **out, hm_err *err);
/*
 * HM_OK when every name of sans, and cn when it looks like a host name and
 * sans hold no DNS name, passes nc as OpenSSL's verifier checks it; else
 * HM_E_POLICY naming the first name that does not, and the CA ca.
 */
int	 hm_nc_allows(NAME_CONSTRAINTS *nc, const hm_names *sans,
	    const char *cn, const char *ca, hm_err *err);
/* The same against the name constraints of CA certificate ca, if any. */
int	 hm_nc_check_ca(X509 *ca, const char *caname, const hm_names *sans,
	    const char *cn, hm_err *err);

/* lint.c: what a certificate says, as the rules read it. */
struct hm_lint_view {
	int		 is_ca;
	int		 bc_present, bc_critical;
	int		 ku_present, ku_critical;
	unsigned	 ku;			/* HM_KU_* */
	int		 eku_present;
	unsigned	 eku;			/* HM_EKU_* */
	const hm_names	*sans;
	size_t		 nsans;
	hm_keytype	 kt;			/* NONE: not allowed */
	char		 key_problem[128];
	int		 serial_positive;
	size_t		 serial_len;
	time_t		 not_before, not_after;
	int		 issuer_known;
	time_t		 issuer_not_before, issuer_not_after;
};
/*
 * Run the rules on v: cb (may be NULL) gets each finding; the first goes
 * to first as "rule: message".  Returns the number of findings.
 */
int	 hm_lint_rules(const struct hm_lint_view *v, hm_lint_cb cb, void *arg,
	    char *first, size_t firstlen);

/* cert.c */
struct hm_cert {
	X509		*x509;
	unsigned char	*der;
	size_t		 derlen;
	char		 serial[41];
};
hm_cert	*hm_cert_from_x509(X509 *x, hm_err *err);	/* takes x */
int	 hm_x509_serial_hex(const X509 *x, char out[41]);
int	 hm_x509_pem(X509 *const *v, size_t n, char **pem, size_t *len,
	    hm_err *err);

/* store.c: the inventory behind an interface, one backend a file */
typedef struct hm_store hm_store;

typedef struct hm_cert_rec {
	hm_cert_info		 info;
	const unsigned char	*der;
	size_t			 derlen;
} hm_cert_rec;

typedef struct hm_ca_rec {
	hm_ca_info	 info;
} hm_ca_rec;

struct hm_store_ops {
	const char	*name;
	void	(*close)(hm_store *);
	int	(*begin)(hm_store *, hm_err *);
	int	(*commit)(hm_store *, hm_err *);
	void	(*rollback)(hm_store *);
	/* HM_E_EXISTS when the serial is taken. */
	int	(*cert_insert)(hm_store *, const hm_cert_rec *, hm_err *);
	/* der: malloc'd copy, or NULL when derp is NULL */
	int	(*cert_get)(hm_store *, const char *serial, hm_cert_info *,
		    unsigned char **derp, size_t *derlen, hm_err *);
	int	(*cert_list)(hm_store *, const hm_list_filter *, hm_cert_cb,
		    void *, hm_err *);
	int	(*ca_insert)(hm_store *, const hm_ca_info *, hm_err *);
	int	(*ca_get)(hm_store *, const char *name, hm_ca_info *,
		    hm_err *);
	/* New certificate of an existing CA (serial, subject, dates). */
	int	(*ca_update)(hm_store *, const hm_ca_info *, hm_err *);
	/* Revoke; *already set (and nothing changed) if it was. */
	int	(*cert_revoke)(hm_store *, const char *serial, time_t when,
		    int reason, int *already, hm_err *);
	/*
	 * The revoked certificates CA ca issued, by serial; the serial
	 * passed to cb lasts until cb returns.
	 */
	int	(*revoked_list)(hm_store *, const char *ca,
		    int (*cb)(const char *serial, time_t when, int reason,
		    void *), void *, hm_err *);
	/* The next CRL number of ca (1, 2, ...), kept. */
	int	(*crl_next)(hm_store *, const char *ca, time_t now,
		    int64_t *number, hm_err *);
	/* Set (or with NULL or "", clear) a CA's base URL. */
	int	(*ca_set_url)(hm_store *, const char *name, const char *url,
		    hm_err *);
	int	(*ca_list)(hm_store *, hm_ca_cb, void *, hm_err *);
};

struct hm_store {
	const struct hm_store_ops	*ops;
};

int	 hm_store_open(const char *uri, int create, hm_store **out,
	    hm_err *err);
int	 hm_store_sqlite_open(const char *path, int create, hm_store **out,
	    hm_err *err);
void	 hm_store_close(hm_store *s);

/* ca.c */
struct hm_ca {
	char		 dir[HM_PATH_MAX];
	hm_store	*store;
};

struct hm_signer {
	hm_ca		*ca;
	hm_ca_info	 info;
	X509		*cert;
	EVP_PKEY	*pkey;
	EVP_MD_CTX	*sign_tmpl;	/* initialised once, copied per cert */
	STACK_OF(X509)	*chain;		/* up to, excluding, the root */
	X509		*root;
	int		 constrained;	/* a CA of the chain has NCs */
};
int	 hm_ca_file(const hm_ca *ca, const char *name, const char *file,
	    char *buf, size_t len);
/* A signer without its key: the CA's certificates only. */
int	 hm_ca_certs(hm_ca *ca, const char *name, hm_signer **out,
	    hm_err *err);
/*
 * The CA of ca whose certificate issued and signed x (not x itself, with
 * not_self), as a signer without its key; HM_E_NOTFOUND if none.
 */
int	 hm_ca_find_issuer(hm_ca *ca, X509 *x, int not_self, hm_signer **out,
	    hm_err *err);

/* issue.c */
/*
 * Build and sign a certificate for pubkey under issuer (NULL with self
 * set: self-signed).  Used for CAs and end entities alike.
 */
struct hm_tbs {
	const struct hm_profile	*profile;
	/* The subject's SubjectPublicKeyInfo, copied as it came. */
	const X509_ALGOR	*spki_alg;
	const unsigned char	*spki_pub;
	int			 spki_publen;
	hm_keytype		 key_type;
	const hm_subject	*subject;
	const hm_names		*sans;
	time_t			 not_before, not_after;
	int			 pathlen;
	NAME_CONSTRAINTS	*nc;		/* CAs: or NULL */
	/* The issuer's record (its name and base URL); NULL: self-signed. */
	const hm_ca_info	*issuer_info;
	/* End entities: the signer whose chain's constraints must hold. */
	const struct hm_signer	*signer;
};
int	 hm_sign_cert(const struct hm_tbs *t, X509 *issuer_cert,
	    EVP_PKEY *issuer_key, EVP_MD_CTX *tmpl, X509 **out, hm_err *err);
int	 hm_sign_ctx_new(EVP_PKEY *key, EVP_MD_CTX **out, hm_err *err);
/* A copy of tmpl (prepared once), or a new context for key. */
int	 hm_sign_ctx_copy(EVP_MD_CTX *tmpl, EVP_PKEY *key, EVP_MD_CTX **out,
	    hm_err *err);
/* Point t's SPKI fields into xpk (borrowed). */
int	 hm_tbs_spki(struct hm_tbs *t, const X509_PUBKEY *xpk, hm_err *err);
/* Check and sign as hm_issue does, but store nothing (benchmarks). */
int	 hm_issue_build(hm_signer *s, const hm_issue_req *req, hm_cert **out,
	    hm_err *err);
int	 hm_cert_rec_fill(hm_cert_rec *r, const hm_cert *c, const char *ca,
	    const char *profile, const hm_names *sans, hm_err *err);
/* The X509_NAME of s (C, ST, L, O, OU, CN), added to nm. */
int	 hm_subject_to_name(const hm_subject *s, X509_NAME *nm, hm_err *err);

#endif /* HM_INTERNAL_H */
