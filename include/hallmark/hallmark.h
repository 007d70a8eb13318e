/*
 * hallmark: a private certificate authority for the machines you control.
 *
 * Public API of libhallmark.  Every type is opaque except hm_err and the
 * plain-data records (hm_cert_info, hm_issue_req).  Functions return 0 on
 * success or a negative HM_E_* code; on failure the hm_err (when not NULL)
 * holds the code and a one-line message, and out-parameters are untouched.
 * The library never prints and never exits.
 */
#ifndef HALLMARK_H
#define HALLMARK_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/types.h>	/* SSL_CTX, for the TLS helpers only */

#ifdef __cplusplus
extern "C" {
#endif

/* Error codes: 0 is success, every failure is negative. */
#define HM_OK			 0
#define HM_E_INTERNAL		-1	/* a bug or an OpenSSL failure */
#define HM_E_NOMEM		-2
#define HM_E_INVALID		-3	/* bad argument or malformed input */
#define HM_E_POLICY		-4	/* well-formed but refused by policy */
#define HM_E_IO			-5	/* file system */
#define HM_E_EXISTS		-6	/* refusing to overwrite */
#define HM_E_NOTFOUND		-7
#define HM_E_PASSPHRASE		-8	/* missing or wrong passphrase */
#define HM_E_SIGNATURE		-9	/* a signature does not verify */
#define HM_E_STORE		-10	/* the inventory store failed */
#define HM_E_TOOBIG		-11	/* input over its size cap */
#define HM_E_REFUSED		-12	/* the other side said no */

#define HM_ERR_MSG_MAX		256

typedef struct hm_err {
	int	code;
	char	msg[HM_ERR_MSG_MAX];
} hm_err;

/* The name of a code ("invalid input"), never NULL. */
const char	*hm_strerror(int code);

/* Flags for functions that write files. */
#define HM_F_FORCE	0x01	/* replace an existing file (atomically) */

/* ---- Durations --------------------------------------------------------- */

/*
 * Parse "12h", "90d", "10y", "15m", "30s" (one unsigned number, one unit;
 * y = 365 days) into seconds.  Refuses zero and anything over 100 years.
 */
int	 hm_duration_parse(const char *s, int64_t *secs, hm_err *err);

/* ---- Keys -------------------------------------------------------------- */

typedef enum hm_keytype {
	HM_KEY_NONE = 0,
	HM_KEY_ED25519,
	HM_KEY_P256,
	HM_KEY_P384,
	HM_KEY_RSA2048,
	HM_KEY_RSA3072,
	HM_KEY_RSA4096,
} hm_keytype;

#define HM_KEY_DEFAULT	HM_KEY_P256

typedef struct hm_key hm_key;

/* "ed25519", "p256", "p384", "rsa2048", "rsa3072", "rsa4096". */
int		 hm_keytype_parse(const char *s, hm_keytype *out, hm_err *err);
const char	*hm_keytype_name(hm_keytype t);

int		 hm_key_generate(hm_keytype t, hm_key **out, hm_err *err);
/*
 * Load a PEM private key.  An encrypted key needs pass (NUL-terminated);
 * a missing or wrong one gives HM_E_PASSPHRASE.
 */
int		 hm_key_load(const char *path, const char *pass, hm_key **out,
		    hm_err *err);
/* True when the PEM file at path holds an encrypted private key. */
int		 hm_key_file_is_encrypted(const char *path);
/*
 * Write the key as PKCS#8 PEM, mode 0600, atomically; encrypted with
 * AES-256-CBC under scrypt when pass is not NULL.  Refuses to replace an
 * existing file unless flags has HM_F_FORCE.
 */
int		 hm_key_save(const hm_key *k, const char *path, const char *pass,
		    int flags, hm_err *err);
/*
 * Policy for a passphrase that will protect a new key: at least
 * HM_PASS_MIN characters (HM_E_POLICY otherwise).  hm_key_save and the CA
 * functions apply it; callers may check first to fail before any work.
 */
#define HM_PASS_MIN	8
int		 hm_passphrase_check(const char *pass, hm_err *err);
hm_keytype	 hm_key_type(const hm_key *k);
void		 hm_key_free(hm_key *k);

/* ---- Names ------------------------------------------------------------- */

typedef enum hm_name_type {
	HM_NAME_DNS = 1,
	HM_NAME_IP,
	HM_NAME_EMAIL,
	HM_NAME_URI,
} hm_name_type;

typedef struct hm_names hm_names;	/* an ordered list of SAN entries */

hm_names	*hm_names_new(void);
void		 hm_names_free(hm_names *n);
/*
 * Add "dns:NAME", "ip:ADDR", "email:ADDR" or "uri:URI" after validating it
 * (DNS: LDH labels of 1-63, at most 253 characters, an optional leading
 * "*." only; IP: IPv4 or IPv6; no control characters anywhere).  DNS names
 * are stored in lower case, IPs in canonical form; duplicates are ignored.
 */
int		 hm_names_add(hm_names *n, const char *spec, hm_err *err);
int		 hm_names_add_typed(hm_names *n, hm_name_type t, const char *v,
		    hm_err *err);
size_t		 hm_names_count(const hm_names *n);
/* The i-th entry; the value is borrowed from n. */
int		 hm_names_get(const hm_names *n, size_t i, hm_name_type *t,
		    const char **value);
const char	*hm_name_type_str(hm_name_type t);	/* "dns", "ip", ... */

/* Common name: 1 to 64 characters of printable UTF-8. */
int		 hm_cn_check(const char *cn, hm_err *err);

/*
 * A distinguished name, written C, ST, L, O, OU, CN in that order; NULL
 * fields are left out.  C is two letters (ISO 3166), the others 1 to 64
 * characters of printable UTF-8.  CN is required.
 */
typedef struct hm_subject {
	const char	*c, *st, *l, *o, *ou, *cn;
} hm_subject;

int		 hm_subject_check(const hm_subject *s, hm_err *err);

/* ---- CSRs -------------------------------------------------------------- */

#define HM_CSR_MAX	(64 * 1024)	/* bytes, PEM or DER */

typedef struct hm_csr hm_csr;

/* Build and sign a CSR with key; sans may be NULL. */
int		 hm_csr_new(const hm_key *key, const char *cn,
		    const hm_names *sans, hm_csr **out, hm_err *err);
/*
 * As hm_csr_new, but a CSR without any name is allowed: what an enrolling
 * machine sends when its token's scope decides the names.
 */
int		 hm_csr_new_any(const hm_key *key, const char *cn,
		    const hm_names *sans, hm_csr **out, hm_err *err);
/*
 * Parse a CSR (PEM or DER, at most HM_CSR_MAX bytes), verify its
 * self-signature and its key against policy (RSA >= 2048 bits, P-256,
 * P-384, Ed25519) and extract its CN and SAN names.
 */
int		 hm_csr_parse(const unsigned char *buf, size_t len,
		    hm_csr **out, hm_err *err);
int		 hm_csr_load(const char *path, hm_csr **out, hm_err *err);
int		 hm_csr_save(const hm_csr *c, const char *path, int flags,
		    hm_err *err);
/* The CSR as PEM, NUL-terminated (caller frees). */
int		 hm_csr_pem(const hm_csr *c, char **pem, size_t *len,
		    hm_err *err);
/* Borrowed from c; the CN is NULL when the CSR carries none. */
const char	*hm_csr_cn(const hm_csr *c);
const hm_names	*hm_csr_names(const hm_csr *c);
hm_keytype	 hm_csr_keytype(const hm_csr *c);
/* Human-readable description of what the CSR asks for (caller frees). */
int		 hm_csr_describe(const hm_csr *c, char **out, hm_err *err);
void		 hm_csr_free(hm_csr *c);

/* ---- Certificates ------------------------------------------------------ */

typedef struct hm_cert hm_cert;

int		 hm_cert_pem(const hm_cert *c, char **pem, size_t *len,
		    hm_err *err);
const unsigned char *hm_cert_der(const hm_cert *c, size_t *len);
/* Lower-case hex serial, borrowed from c. */
const char	*hm_cert_serial(const hm_cert *c);
/* The subject, RFC 4514 form, into buf. */
void		 hm_cert_subject(const hm_cert *c, char *buf, size_t len);
time_t		 hm_cert_not_after(const hm_cert *c);
time_t		 hm_cert_not_before(const hm_cert *c);
/* The (first) certificate of a PEM or DER file of at most 1 MiB. */
int		 hm_cert_load(const char *path, hm_cert **out, hm_err *err);
void		 hm_cert_free(hm_cert *c);

/* ---- The CA ------------------------------------------------------------ */

typedef struct hm_ca hm_ca;		/* a CA directory and its store */
typedef struct hm_signer hm_signer;	/* one CA, unlocked, ready to sign */

#define HM_ROOT_NAME	"root"
#define HM_CA_NAME_MAX	64
#define HM_URL_MAX	200

typedef struct hm_ca_params {
	const char	*name;		/* intermediates only */
	const char	*parent;	/* intermediates only; NULL: root */
	const char	*cn;		/* the subject when subject is NULL */
	const hm_subject *subject;	/* or NULL: CN=cn */
	hm_keytype	 key_type;	/* HM_KEY_NONE: default */
	int64_t		 validity;	/* seconds; 0: 10y root, 5y inter. */
	int		 pathlen;	/* -1: none (root) / 0 (intermediate) */
	const char	*pass;		/* new key's passphrase, or NULL */
	/*
	 * hm_ca_init only: mark the directory offline (pass required).  In
	 * an offline directory every CA key is encrypted under the root's
	 * one passphrase: new CAs must give it (checked by unlocking the
	 * root's key) and no key is ever written in clear.
	 */
	int		 offline;
	/*
	 * Name constraints of an intermediate, "dns:DOMAIN" and
	 * "ip:ADDRESS/PREFIX": what it and the CAs below it may certify.
	 */
	const char *const *permitted;
	size_t		 npermitted;
	const char *const *excluded;
	size_t		 nexcluded;
} hm_ca_params;

/* Create DIR, the store and a self-signed root; refuses an existing CA. */
int		 hm_ca_init(const char *dir, const hm_ca_params *p,
		    hm_ca **out, hm_err *err);
int		 hm_ca_open(const char *dir, hm_ca **out, hm_err *err);
void		 hm_ca_close(hm_ca *ca);

/* Load a CA of ca by name (NULL: root) and unlock its key with pass. */
int		 hm_ca_signer(hm_ca *ca, const char *name, const char *pass,
		    hm_signer **out, hm_err *err);
/* True when the key of the named CA is encrypted. */
int		 hm_ca_key_encrypted(hm_ca *ca, const char *name);
/* True when ca is an offline directory (hm_ca_params.offline). */
int		 hm_ca_offline(const hm_ca *ca);
/*
 * In an offline directory: HM_OK when pass unlocks the root's key, else
 * HM_E_PASSPHRASE (none given, or another one).  HM_OK elsewhere.  What
 * every new CA key of ca is checked with before anything is made.
 */
int		 hm_ca_offline_pass(hm_ca *ca, const char *pass, hm_err *err);
void		 hm_signer_free(hm_signer *s);

/*
 * Create an intermediate signed by parent (an unlocked signer); flags
 * receives HM_ISSUED_CLAMPED when its validity was cut to the parent's.
 */
int		 hm_ca_new_intermediate(hm_ca *ca, hm_signer *parent,
		    const hm_ca_params *p, hm_cert **out, int *flags,
		    hm_err *err);
/*
 * A new certificate for the existing intermediate p->name, signed by its
 * parent, with the same key (unlocked with p->pass): certificates it has
 * issued stay valid.  Subject, validity, pathlen and name constraints come
 * from p; p->key_type is ignored.
 */
int		 hm_ca_reissue(hm_ca *ca, hm_signer *parent,
		    const hm_ca_params *p, hm_cert **out, int *flags,
		    hm_err *err);

typedef struct hm_ca_info {
	char		 name[HM_CA_NAME_MAX + 1];
	char		 parent[HM_CA_NAME_MAX + 1];	/* "" for the root */
	char		 serial[41];
	char		 subject[256];
	int		 pathlen;			/* -1: unlimited */
	int		 depth;				/* root: 0 */
	time_t		 not_before, not_after;
	hm_keytype	 key_type;
	int		 encrypted;
	int		 has_key;	/* 0: its key is not here (offline) */
	char		 base_url[HM_URL_MAX + 1];	/* "" if none */
} hm_ca_info;

/*
 * Where the named CA (NULL: root) publishes: an http or https URL without
 * a query, at most HM_URL_MAX characters (NULL or "": none).  What it then
 * issues carries a CRL distribution point URL/crl/NAME and an OCSP
 * responder URL/ocsp, as `hallmark serve` answers them.
 */
int		 hm_ca_set_url(hm_ca *ca, const char *name, const char *url,
		    hm_err *err);

/* What the store knows of the named CA (NULL: root). */
int		 hm_ca_get_info(hm_ca *ca, const char *name, hm_ca_info *out,
		    hm_err *err);

typedef int (*hm_ca_cb)(const hm_ca_info *ci, void *arg);
int		 hm_ca_list(hm_ca *ca, hm_ca_cb cb, void *arg, hm_err *err);

/* Path of the named CA's certificate file (NULL: root); -1 if too long. */
int		 hm_ca_cert_path(hm_ca *ca, const char *name, char *buf,
		    size_t len);

/* ---- Issuance ---------------------------------------------------------- */

typedef enum hm_profile_id {
	HM_PROFILE_NONE = 0,
	HM_PROFILE_ROOT,
	HM_PROFILE_INTERMEDIATE,
	HM_PROFILE_SERVER,
	HM_PROFILE_CLIENT,
	HM_PROFILE_BOTH,
	HM_PROFILE_CUSTOM,		/* an hm_profile_def */
	/*
	 * A delegated OCSP responder (OCSPSigning, id-pkix-ocsp-nocheck, 2
	 * days): what hm_responder_delegate issues for itself.
	 */
	HM_PROFILE_OCSP,
} hm_profile_id;

int		 hm_profile_parse(const char *s, hm_profile_id *out,
		    hm_err *err);
const char	*hm_profile_name(hm_profile_id p);

/* Key usages and extended key usages an end-entity profile may grant. */
#define HM_KU_DIGITAL_SIGNATURE	0x01
#define HM_KU_KEY_ENCIPHERMENT	0x02
#define HM_KU_KEY_AGREEMENT	0x04
#define HM_KU_KEY_CERT_SIGN	0x08	/* CAs only */
#define HM_KU_CRL_SIGN		0x10	/* CAs only */

#define HM_EKU_SERVER		0x01	/* serverAuth */
#define HM_EKU_CLIENT		0x02	/* clientAuth */
#define HM_EKU_CODE_SIGNING	0x04	/* codeSigning */
#define HM_EKU_EMAIL		0x08	/* emailProtection */
#define HM_EKU_TIME_STAMPING	0x10	/* timeStamping */
#define HM_EKU_OCSP_SIGNING	0x20	/* OCSPSigning */

/*
 * An end-entity profile defined by the operator (a hierarchy file's
 * `profiles`).  key_usage 0: digitalSignature, plus keyEncipherment for
 * RSA keys of TLS servers.
 */
typedef struct hm_profile_def {
	const char	*name;		/* recorded in the inventory */
	unsigned	 key_usage;	/* HM_KU_*, not the CA-only ones */
	unsigned	 eku;		/* HM_EKU_*; at least one */
	int64_t		 validity;	/* default; 0: 90 days */
	int		 san_required;
	int		 wildcards;	/* "*.x" names allowed */
} hm_profile_def;

typedef struct hm_issue_req {
	hm_profile_id	 profile;	/* server, client, both or custom */
	const hm_profile_def *custom;	/* for HM_PROFILE_CUSTOM */
	const hm_csr	*csr;		/* public key, default CN and SANs */
	const char	*cn;		/* overrides the CSR's CN if set */
	const hm_subject *subject;	/* overrides cn and the CSR's CN */
	const hm_names	*sans;		/* override the CSR's SANs if set */
	int64_t		 validity;	/* seconds; 0: the profile's default */
} hm_issue_req;

#define HM_ISSUED_CLAMPED	0x01	/* validity cut to the issuer's */

/*
 * Issue an end-entity certificate: check the request against the profile,
 * sign, and commit it to the store before returning it.  flags receives
 * HM_ISSUED_* bits (may be NULL).
 */
int		 hm_issue(hm_signer *s, const hm_issue_req *req, hm_cert **out,
		    int *flags, hm_err *err);
/*
 * Issue n certificates and commit them in one store transaction (group
 * commit); nothing is returned before all of them are durable.  On failure
 * none is stored and out is untouched.
 */
int		 hm_issue_batch(hm_signer *s, const hm_issue_req *reqs,
		    size_t n, hm_cert **out, hm_err *err);

/*
 * PEM of the certificates between the signer and the root (the signer's
 * own certificate first, the root excluded): what follows a leaf in a
 * chain file.  Caller frees.
 */
int		 hm_signer_chain_pem(const hm_signer *s, char **pem,
		    size_t *len, hm_err *err);
int		 hm_signer_root_pem(const hm_signer *s, char **pem,
		    size_t *len, hm_err *err);

/* ---- Inventory --------------------------------------------------------- */

typedef struct hm_cert_info {
	char		 serial[41];	/* lower-case hex */
	char		 ca[HM_CA_NAME_MAX + 1];
	char		 subject[256];
	char		 issuer[256];
	char		 sans[1024];	/* "dns:a,ip:10.0.0.1" */
	char		 profile[HM_CA_NAME_MAX + 1];
	char		 status[16];	/* "valid" or "revoked" */
	char		 spki_sha256[65];
	time_t		 not_before, not_after, issued_at;
	time_t		 revoked_at;	/* 0: not revoked */
	int		 reason;	/* HM_REASON_* when revoked */
} hm_cert_info;

typedef struct hm_list_filter {
	const char	*ca;		/* NULL: every CA */
	time_t		 expiring_before; /* 0: no bound; else now..this */
	time_t		 now;
} hm_list_filter;

typedef int (*hm_cert_cb)(const hm_cert_info *ci, void *arg);

/* Call cb for each certificate matching f, soonest expiry first. */
int		 hm_cert_list(hm_ca *ca, const hm_list_filter *f, hm_cert_cb cb,
		    void *arg, hm_err *err);
/* Look up by hex serial (case-insensitive, leading zeros ignored). */
int		 hm_cert_lookup(hm_ca *ca, const char *serial,
		    hm_cert_info *info, hm_cert **cert, hm_err *err);

/* ---- Revocation -------------------------------------------------------- */

/* CRLReason codes (RFC 5280 5.3.1); certificateHold is not offered. */
#define HM_REASON_UNSPECIFIED		0
#define HM_REASON_KEY_COMPROMISE	1
#define HM_REASON_CA_COMPROMISE		2
#define HM_REASON_AFFILIATION_CHANGED	3
#define HM_REASON_SUPERSEDED		4
#define HM_REASON_CESSATION		5
#define HM_REASON_PRIVILEGE_WITHDRAWN	9

/* "keyCompromise", "superseded", ... (RFC 5280's names). */
int		 hm_reason_parse(const char *s, int *reason, hm_err *err);
const char	*hm_reason_name(int reason);

#define HM_REVOKED_ALREADY	0x01	/* it was; nothing changed */

/*
 * Mark the certificate with this serial revoked at when (0: now) for
 * reason, in the store.  Revoking it again changes nothing (the first
 * time and reason stay) and sets HM_REVOKED_ALREADY in *flags.
 */
int		 hm_revoke(hm_ca *ca, const char *serial, int reason,
		    time_t when, int *flags, hm_err *err);

/*
 * A CRL v2 of every certificate s has issued and that is revoked: signed
 * by s, the next CRL number of s (kept in the store), thisUpdate now,
 * nextUpdate after next_update seconds (0: 7 days; never past the CA's
 * notAfter), AKI, reason codes.  PEM when pem is set, else DER.
 */
int		 hm_crl_build(hm_signer *s, int64_t next_update, int pem,
		    unsigned char **out, size_t *len, hm_err *err);

/* ---- PKCS#12 ---- */

typedef struct hm_p12_params {
	const hm_key		*key;
	const unsigned char	*cert_pem;	/* the leaf, PEM or DER */
	size_t			 cert_len;
	const unsigned char	*chain_pem;	/* CA certificates, or NULL */
	size_t			 chain_len;
	const char		*name;		/* friendly name; NULL: CN */
	const char		*pass;		/* the file's passphrase */
	int			 legacy;	/* PBE-SHA1-3DES, SHA-1 MAC */
} hm_p12_params;

/*
 * A PKCS#12 file (DER, caller frees) holding p's key, certificate and
 * chain: AES-256-CBC with PBKDF2-HMAC-SHA256 and an HMAC-SHA256 MAC, or
 * the legacy algorithms for old importers.  The key must match the
 * certificate and pass must meet hm_passphrase_check (HM_E_POLICY
 * otherwise; a NULL pass: HM_E_PASSPHRASE).  Key and certificate get one
 * localKeyID and the friendly name.  cert_pem holds the leaf alone, never
 * a chain file; chain_pem at most 32 CA certificates.
 */
int		 hm_p12_export(const hm_p12_params *p, unsigned char **der,
		    size_t *len, hm_err *err);
/*
 * The PEM (caller frees) of the CAs of ca above the certificate in buf
 * (PEM or DER): the CA whose certificate issued it (names and signature
 * checked), each CA above that one, and the root, in that order; the
 * chain_pem of an hm_p12_params.  HM_E_NOTFOUND when no CA of ca issued it.
 */
int		 hm_ca_issuer_chain_pem(hm_ca *ca, const unsigned char *buf,
		    size_t len, char **pem, size_t *pemlen, hm_err *err);

/* ---- Lint ------------------------------------------------------------- */

/* One finding: rule ("key-usage", "validity", ...) and what is wrong. */
typedef int (*hm_lint_cb)(const char *rule, const char *msg, void *arg);

/*
 * Check the certificate in buf (PEM or DER) against the rules issuance
 * enforces (profile extensions, key, serial, validity inside its issuer,
 * SAN for servers, name constraints of its chain, issued by a CA of ca).
 * cb gets each finding and *nfound their number; HM_OK unless the
 * certificate could not be read at all.
 */
int		 hm_lint(hm_ca *ca, const unsigned char *buf, size_t len,
		    hm_lint_cb cb, void *arg, int *nfound, hm_err *err);

/* ---- Hierarchy files (hallmark.yaml(5)) -------------------------------- */

typedef struct hm_hier hm_hier;

typedef enum hm_step_kind {
	HM_STEP_ROOT = 1,
	HM_STEP_CA,		/* an intermediate */
	HM_STEP_NODE,
} hm_step_kind;

typedef enum hm_step_action {
	HM_STEP_KEEP = 1,	/* exists, matches the file, not expiring */
	HM_STEP_CREATE,
	HM_STEP_REISSUE,	/* changed or expiring: a new certificate */
	HM_STEP_UPDATE,		/* node: only its chain or CA bundle file */
} hm_step_action;

typedef struct hm_step {
	hm_step_kind	 kind;
	hm_step_action	 action;
	const char	*name;		/* borrowed from the hm_hier */
	char		 why[160];	/* "new", "names changed", ... */
} hm_step;

/* Where a passphrase comes from, as the file says. */
typedef enum hm_pass_kind {
	HM_PASS_NONE = 0,
	HM_PASS_ENV,		/* value: the variable */
	HM_PASS_FILE,		/* value: the path */
	HM_PASS_PROMPT,
} hm_pass_kind;

/*
 * The caller's way to a passphrase for what ("CA 'master'", "the key of
 * node 'web1'"); confirm is set for a new key.  Returns HM_OK with a
 * malloc'd string in *pass (hallmark wipes and frees it), or an error.
 */
typedef int (*hm_pass_cb)(const char *what, hm_pass_kind kind,
    const char *value, int confirm, char **pass, hm_err *err, void *arg);

/* Load and check a hierarchy file; errors read "FILE:LINE:COL: ...". */
int		 hm_hier_load(const char *path, hm_hier **out, hm_err *err);
void		 hm_hier_free(hm_hier *h);
/*
 * Compare the file with the CA directory dir (which need not exist) and
 * decide a step for the root, every intermediate and every node, in the
 * order they will be taken.  The steps are borrowed from h.  Reads only.
 */
int		 hm_hier_plan(hm_hier *h, const char *dir,
		    const hm_step **steps, size_t *n, hm_err *err);
/*
 * Carry out the plan hm_hier_plan made for dir.  Each step is complete
 * (store committed, files replaced atomically) before the next begins; on
 * an error the steps before it stay done and a new plan resumes.
 */
int		 hm_hier_apply(hm_hier *h, const char *dir, hm_pass_cb cb,
		    void *arg, hm_err *err);

/* ---- Signer schedule (hallmark.yaml(5), schedule) --------------------- */

/*
 * Intermediate signers under the root, one for each slot of a grid of
 * `quantum` equal calendar slots of the UTC year (quarters for 4), named
 * PREFIX-YYYY plus the slot ("signer-2027q1"), each starting at its slot
 * (or now, for a slot under way) and valid for `validity`, created ahead
 * so that at every instant t of [now, now + lead] some signer is valid at
 * t with at least `overlap` left.  Zero fields take the defaults.
 */
typedef struct hm_sched_params {
	int		 quantum;	/* 1, 2, 3, 4, 6 or 12 a year; 0: 4 */
	int64_t		 lead;		/* seconds; 0: 2y */
	int64_t		 validity;	/* of each signer; 0: 1y */
	int64_t		 overlap;	/* seconds; 0: 90d */
	hm_keytype	 key_type;	/* HM_KEY_NONE: p256 */
	const char	*prefix;	/* a CA name prefix; NULL: "signer" */
} hm_sched_params;

/*
 * HM_E_INVALID unless p (defaults applied) is a schedule that covers:
 * quantum divides 12 and validity is at least the longest slot (92 days
 * for quarters) plus the overlap.  The message says what to give.
 */
int		 hm_sched_check(const hm_sched_params *p, hm_err *err);

typedef struct hm_sched hm_sched;	/* a plan, for one hm_ca */

typedef struct hm_sched_entry {
	char		 name[HM_CA_NAME_MAX + 1];
	time_t		 not_before, not_after;
	int		 exists;	/* 1: in the store; 0: to create */
} hm_sched_entry;

/*
 * Plan the signers of ca as of now: the existing ones (CAs under the
 * root named PREFIX-..., not revoked, still valid) and the ones to
 * create, sorted by start.  Reads only.  HM_E_INVALID for bad params;
 * HM_E_POLICY when the window can not be covered: it would need a
 * signer to outlive the root, or an existing signer of a slot leaves a
 * gap.  *out (free with hm_sched_free) is written only on success.
 */
int		 hm_sched_plan(hm_ca *ca, const hm_sched_params *p, time_t now,
		    hm_sched **out, hm_err *err);
size_t		 hm_sched_count(const hm_sched *s);
/* Signers the plan would create. */
size_t		 hm_sched_todo(const hm_sched *s);
/* The i-th entry, borrowed from s; NULL past the end. */
const hm_sched_entry *hm_sched_get(const hm_sched *s, size_t i);
/*
 * Create the signers s plans, each signed by root (the unlocked root of
 * the ca s was planned for) with a new key under pass (NULL: in clear,
 * refused in an offline directory), each committed before the next; on
 * failure the ones made stay, and a new plan resumes.  *created (may be
 * NULL) gets how many were made, on success.
 */
int		 hm_sched_apply(hm_ca *ca, hm_signer *root, const hm_sched *s,
		    const char *pass, size_t *created, hm_err *err);
void		 hm_sched_free(hm_sched *s);

/*
 * The schedule section of a hierarchy file (HM_E_NOTFOUND without one),
 * borrowed from h.
 */
int		 hm_hier_sched_params(const hm_hier *h, hm_sched_params *out,
		    hm_err *err);
/*
 * Carry out s with the file's passphrases: the root's (from the root's
 * passphrase keys) unlocks the root, the schedule's, else the root's,
 * encrypts the new keys; cb and arg as for hm_hier_apply.
 */
int		 hm_hier_sched_apply(hm_hier *h, hm_ca *ca, const hm_sched *s,
		    hm_pass_cb cb, void *arg, size_t *created, hm_err *err);

/* ---- Encrypted archives: signers and backups (docs/PROTOCOL.md, 3) ---- */

/*
 * An archive is a CMS AuthEnvelopedData (RFC 5083), AES-256-GCM, its key
 * wrapped to each recipient certificate: RSA (>= 2048 bits) by RSA-OAEP
 * with SHA-256, P-256 and P-384 by ECDH (RFC 5753); other keys are
 * refused (HM_E_POLICY).  `openssl cms -decrypt -inform DER` opens it;
 * inside is the DER Archive of docs/PROTOCOL.md, section 3.
 */
#define HM_ARCHIVE_MAX		(64 * 1024 * 1024)	/* bytes, either form */
#define HM_ARCHIVE_ENTRIES_MAX	1024
#define HM_ARCHIVE_RECIPIENTS_MAX 16

/*
 * The signers of ca: the certificate and key (PKCS#8, decrypted) of
 * each intermediate named in names (n 0: every intermediate), and the
 * root's certificate, never its key, sealed for the nrecips certificates
 * of recips (borrowed).  cb gives the passphrase of an encrypted key
 * (what: "CA 'NAME'").  *out (DER) is the caller's.  HM_E_POLICY for the
 * root in names or a recipient key of another type; HM_E_NOTFOUND for
 * an unknown name.
 */
int		 hm_archive_signers(hm_ca *ca, const char *const *names,
		    size_t n, hm_pass_cb cb, void *arg,
		    const hm_cert *const *recips, size_t nrecips,
		    unsigned char **out, size_t *len, hm_err *err);
/*
 * A backup of ca: every file of its directory as it is (every CA's
 * cert.pem and key.pem, the root's included) and a consistent snapshot
 * of the store, sealed for recips.  *out (DER) is the caller's.
 */
int		 hm_archive_backup(hm_ca *ca, const hm_cert *const *recips,
		    size_t nrecips, unsigned char **out, size_t *len,
		    hm_err *err);

/* Told of each CA an import takes: already set when ca had it as is. */
typedef int (*hm_import_cb)(const char *name, int already, void *arg);

/*
 * Take the signers of an archive (hm_archive_signers) into ca: opened
 * with key (and cert, which picks the recipient, when not NULL), its
 * root must be ca's root certificate (HM_E_POLICY otherwise) and each
 * intermediate must verify up to it (X.509 strict) and hold the key of
 * its certificate.  Each CA is recorded as hm_ca_new_intermediate would,
 * its key written 0600 (encrypted when pass is set); one ca has already
 * with the same certificate is left as it is, one it has with another
 * certificate refuses the import (HM_E_EXISTS) before anything is
 * written.  HM_E_SIGNATURE when the archive is damaged or not for key.
 */
int		 hm_archive_import(hm_ca *ca, const unsigned char *buf,
		    size_t len, const hm_key *key, const hm_cert *cert,
		    const char *pass, hm_import_cb cb, void *arg, hm_err *err);
/*
 * hm_archive_import into a new online CA at dir (hm_ca_init_from_root
 * with root, the root certificate the caller trusts, got apart from the
 * archive), made only once the archive has opened and every check has
 * passed: a damaged or foreign archive leaves nothing.  *out is the CA.
 */
int		 hm_archive_import_new(const char *dir, const hm_cert *root,
		    const unsigned char *buf, size_t len, const hm_key *key,
		    const hm_cert *cert, const char *pass, hm_import_cb cb,
		    void *arg, hm_ca **out, hm_err *err);
/*
 * Rebuild the CA directory dir (which must not exist or be empty:
 * HM_E_EXISTS) from a backup (hm_archive_backup), opened with key (and
 * cert).  On failure nothing is left in dir.
 */
int		 hm_archive_restore(const char *dir, const unsigned char *buf,
		    size_t len, const hm_key *key, const hm_cert *cert,
		    hm_err *err);

/*
 * An online CA: DIR with a store that knows the root from its
 * certificate alone (self-signed, a CA), without its key, which stays
 * offline; the intermediates come by hm_archive_import.  Refuses an
 * existing CA as hm_ca_init does.
 */
int		 hm_ca_init_from_root(const char *dir, const hm_cert *root,
		    hm_ca **out, hm_err *err);

/* ---- Responder: CRLs and OCSP for hallmark serve ---------------------- */

/*
 * Every CA of a directory that has its key there unlocked once, answering
 * OCSP requests (RFC 6960) and handing out CRLs.  Not thread-safe: one per
 * thread.
 */
typedef struct hm_responder hm_responder;

/*
 * Open the CAs of ca (borrowed, must outlive r); cb gives the passphrase
 * of an encrypted CA key (what: "CA 'NAME'"; kind HM_PASS_NONE: the
 * caller knows where it comes from).  A CA with no key file in the
 * directory (an online CA's root, hm_ca_init_from_root) is not opened and
 * cb is not asked for it: it is offline (hm_responder_online), nothing
 * is enrolled or renewed with it, OCSP requests about what it issued get
 * unauthorized and hm_responder_crl refuses it (HM_E_POLICY).
 * HM_E_NOTFOUND when no CA has its key there.
 */
int		 hm_responder_new(hm_ca *ca, hm_pass_cb cb, void *arg,
		    hm_responder **out, hm_err *err);
void		 hm_responder_free(hm_responder *r);
/* 1 when r signs with CA name (its key unlocked), else 0. */
int		 hm_responder_online(hm_responder *r, const char *name);
/*
 * From now on sign OCSP answers not with the CA keys but with delegated
 * responder certificates: each CA issues one (profile HM_PROFILE_OCSP,
 * recorded in the inventory) for a P-256 key that never leaves memory,
 * and a new one when the last is past half its life.
 */
int		 hm_responder_delegate(hm_responder *r, hm_err *err);

/*
 * The DER CRL of CA name, made fresh when a revocation happened since the
 * last one (or it is past half its life), else the one made before.
 * *crl is borrowed from r, valid until the next call.  HM_E_NOTFOUND for
 * no such CA, HM_E_POLICY for an offline one (no key here).
 */
int		 hm_responder_crl(hm_responder *r, const char *name,
		    const unsigned char **crl, size_t *len, hm_err *err);

/*
 * The DER OCSP response to the DER request req: for each certificate
 * asked about (by a CA of the directory), good, revoked (time, reason) or
 * unknown; the nonce echoed; signed by the CA that issued it (or its
 * delegated responder).  A request that does not parse gets a
 * malformedRequest response, one about several CAs, an offline one or
 * none of ours unauthorized, one the store fails to answer tryLater (never
 * "unknown"): there is always a response to send (HM_OK) unless memory
 * runs out.  *resp is the caller's to free.
 */
int		 hm_ocsp_respond(hm_responder *r, const unsigned char *req,
		    size_t len, unsigned char **resp, size_t *resplen,
		    hm_err *err);

/* ---- Enrollment with a pre-shared key (docs/PROTOCOL.md, section 1) ---- */

#define HM_ENROLL_MAX		16384	/* bytes of a request or a reply */
#define HM_TOKEN_LEN		77	/* "hm1-" + 16 + "-" + 56 */
#define HM_TOKEN_ID_LEN		20	/* hex of the 10-byte PSK id */
#define HM_TOKEN_TTL		(15 * 60)
#define HM_TOKEN_TTL_MAX	(30 * 86400)
#define HM_TOKENS_PENDING_MAX	10000	/* unused, unexpired, at once */

/* What a token lets its holder have: the scope. */
typedef struct hm_token_params {
	const char	*ca;		/* the issuing CA; NULL: the root */
	const char	*name;		/* the certificate's CN */
	hm_profile_id	 profile;	/* server, client or both */
	const hm_names	*sans;		/* its SANs (server, both: >= 1) */
	int64_t		 ttl;		/* seconds; 0: HM_TOKEN_TTL */
} hm_token_params;

typedef struct hm_token_info {
	char		 id[HM_TOKEN_ID_LEN + 1];	/* lower-case hex */
	char		 ca[HM_CA_NAME_MAX + 1];
	char		 name[65];
	char		 profile[HM_CA_NAME_MAX + 1];
	char		 sans[1024];	/* "dns:a,ip:10.0.0.1" */
	char		 state[16];	/* pending, used, revoked, expired */
	time_t		 created_at, expires_at;
	time_t		 used_at;	/* 0: not used */
	char		 serial[41];	/* what it was used for, or "" */
} hm_token_info;

typedef int (*hm_token_cb)(const hm_token_info *ti, void *arg);

/*
 * A new PSK for the scope p, stored as pending: the token (NUL-terminated,
 * HM_TOKEN_LEN characters) in token, which is the only copy of the
 * secret the caller gets; info (may be NULL) describes it.  HM_E_POLICY
 * when HM_TOKENS_PENDING_MAX are pending, and for a CA with no key in the
 * directory (an online CA's root), which no responder could sign with.
 */
int		 hm_token_new(hm_ca *ca, const hm_token_params *p,
		    char token[HM_TOKEN_LEN + 1], hm_token_info *info,
		    hm_err *err);
/* Every token the store keeps, newest first. */
int		 hm_token_list(hm_ca *ca, hm_token_cb cb, void *arg,
		    hm_err *err);
/* Revoke a pending token by id (HM_E_NOTFOUND, HM_E_POLICY if used). */
int		 hm_token_revoke(hm_ca *ca, const char *id, hm_err *err);

/* The client's side of one enrollment. */
typedef struct hm_enroll hm_enroll;

/*
 * Check token's form and check value (HM_E_INVALID: mistyped) and seal a
 * request carrying csr.  The request's bytes stay the same for retries.
 */
int		 hm_enroll_new(const char *token, const hm_csr *csr,
		    hm_enroll **out, hm_err *err);
const unsigned char *hm_enroll_request(const hm_enroll *e, size_t *len);
/*
 * Open the server's reply body: HM_OK when it holds a certificate for
 * key's public key whose chain verifies up to the root it carries, for
 * the purpose its EKU names; HM_E_REFUSED with the server's reason in
 * err for a sealed refusal; HM_E_SIGNATURE when the reply was not made
 * for this request by the holder of the PSK, or its chain does not verify
 * up to its root; HM_E_INVALID if malformed, if the certificate is for
 * another key, or if the chain items are not exactly the path in order.
 */
int		 hm_enroll_finish(hm_enroll *e, const hm_key *key,
		    const unsigned char *reply, size_t len, hm_err *err);
/* After hm_enroll_finish: PEM, borrowed from e. */
const char	*hm_enroll_cert_pem(const hm_enroll *e);
const char	*hm_enroll_chain_pem(const hm_enroll *e);  /* may be "" */
const char	*hm_enroll_ca_pem(const hm_enroll *e);
void		 hm_enroll_free(hm_enroll *e);

/*
 * The server's side: the answer to one request body.  *http is the HTTP
 * status to send: 200 with a reply body in *reply (the caller frees; a
 * certificate or a sealed refusal), else 400 (malformed header), 403
 * (unknown token or bad tag: the one generic refusal), 413 (too big),
 * with *reply NULL.  HM_OK unless memory or the store fails; err holds a
 * line for the log either way (never a secret).
 */
int		 hm_enroll_answer(hm_responder *r, const unsigned char *req,
		    size_t len, unsigned char **reply, size_t *replylen,
		    int *http, hm_err *err);

/* ---- Pairing (docs/PROTOCOL.md, section 2) ----------------------------- */

#define HM_PAIR_MAX		4096	/* bytes of any pairing message */
#define HM_PAIR_WAITING		0	/* what a state reply says */
#define HM_PAIR_APPROVED	1
#define HM_PAIR_ENDED		2	/* rejected or expired */

/*
 * The new machine's side of one pairing: it agrees a PSK with the CA by
 * X25519, committing to its key before it sees the CA's, and shows a
 * 6-digit code that the operator types on the CA's side; once approved,
 * it enrolls with that PSK as with a token (section 1).  The messages
 * are bodies to POST, none of them secret.
 */
typedef struct hm_pair hm_pair;

/*
 * Start a pairing for a certificate named name (1 to 64 bytes that pass
 * hm_cn_check) of profile (server, client or both): a fresh X25519 key
 * and nonce, and the commit body.  HM_E_INVALID for a bad name or
 * profile.
 */
int		 hm_pair_new(const char *name, hm_profile_id profile,
		    hm_pair **out, hm_err *err);
/* The commit body, to POST to /pair; borrowed from p. */
const unsigned char *hm_pair_commit_msg(const hm_pair *p, size_t *len);
/*
 * Take the reply to the commit (accept): checks it, builds the reveal and
 * status bodies, derives the PSK, its id and the code, and wipes p's
 * private key.  HM_E_TOOBIG over HM_PAIR_MAX; HM_E_INVALID when it is
 * malformed, when its key is of small order, or when p took an accept
 * already.  On failure p is as it was.
 */
int		 hm_pair_accepted(hm_pair *p, const unsigned char *accept,
		    size_t len, hm_err *err);
/*
 * After hm_pair_accepted (before: NULL, *len 0), borrowed from p: the
 * reveal body, to POST to /pair/reveal, and the status body, to POST to
 * /pair/status until the state is no longer waiting.
 */
const unsigned char *hm_pair_reveal_msg(const hm_pair *p, size_t *len);
const unsigned char *hm_pair_status_msg(const hm_pair *p, size_t *len);
/*
 * The code to show for the operator to type on the CA's side: 6 digits
 * after hm_pair_accepted, "" before; borrowed from p.
 */
const char	*hm_pair_code(const hm_pair *p);
/*
 * The 6-digit code as three words ("maple-otter-river": each pair of
 * digits one of 100 words), into out; HM_E_INVALID for another code.
 */
int		 hm_pair_code_words(const char *code, char *out, size_t len);
/*
 * What an operator typed, as the 6 digits: the digits (spaces allowed)
 * or the three words (any case, apart by spaces or hyphens).
 */
int		 hm_pair_code_parse(const char *typed, char code[7]);
/*
 * Read a reply to status: *state is HM_PAIR_WAITING, HM_PAIR_APPROVED or
 * HM_PAIR_ENDED.  HM_E_TOOBIG over HM_PAIR_MAX, HM_E_INVALID if malformed.
 */
int		 hm_pair_state(const unsigned char *body, size_t len,
		    int *state, hm_err *err);
/*
 * Once approved: the enrollment this pairing allows, exactly as
 * hm_enroll_new with a token of the agreed PSK and its id (the caller
 * frees it with hm_enroll_free).  HM_E_INVALID before hm_pair_accepted.
 */
int		 hm_pair_enroll_new(const hm_pair *p, const hm_csr *csr,
		    hm_enroll **out, hm_err *err);
/* Wipes p's keys and frees it; NULL is allowed. */
void		 hm_pair_free(hm_pair *p);

/* ---- Pairings: the CA's side (docs/PROTOCOL.md, section 2) ----------- */

#define HM_PAIR_TTL		(5 * 60)
#define HM_PAIRS_OPEN_MAX	100	/* open pairings at once */
#define HM_PAIRS_SOURCE_MAX	5	/* ... from one source address */

typedef struct hm_pair_info {
	char		 id[33];	/* lower-case hex of 16 bytes */
	char		 name[65];	/* the CN asked for */
	char		 profile[HM_CA_NAME_MAX + 1];
	char		 source[64];	/* the address it came from */
	/* committed, waiting (for approval), approved, dropped, expired */
	char		 state[16];
	time_t		 created_at, expires_at;
	char		 token[HM_TOKEN_ID_LEN + 1];	/* when approved */
} hm_pair_info;

typedef int (*hm_pair_cb)(const hm_pair_info *pi, void *arg);

/* Every pairing the store keeps, newest first; never a code or key. */
int		 hm_pair_list(hm_ca *ca, hm_pair_cb cb, void *arg, hm_err *err);
/*
 * Approve the waiting pairing id with the code the new machine shows,
 * compared in constant time: on a match its PSK becomes a pending token
 * for the name and profile it asked for, from CA ca_name (NULL: root)
 * with sans (NULL: for server and both, dns:NAME); info (may be NULL)
 * describes the token.  On a mismatch the pairing is dropped and
 * HM_E_POLICY returned.  HM_E_NOTFOUND, or HM_E_POLICY for a pairing
 * not waiting (committed, expired, approved or dropped).
 */
int		 hm_pair_approve(hm_ca *ca, const char *id, const char *code,
		    const char *ca_name, const hm_names *sans,
		    hm_token_info *info, hm_err *err);
/* Drop a pairing that is not approved yet. */
int		 hm_pair_reject(hm_ca *ca, const char *id, hm_err *err);

#define HM_PAIR_MSG_COMMIT	1	/* POST /pair */
#define HM_PAIR_MSG_REVEAL	2	/* POST /pair/reveal */
#define HM_PAIR_MSG_STATUS	3	/* POST /pair/status */
/*
 * hallmark serve's answer to a pairing message body from the address
 * source: *http 200 with *reply (the caller frees), else 400 (malformed),
 * 403 (a replayed commit, a reveal that does not match, or a second
 * one), 404 (no such pairing), 413, 429 (too many open); err holds a log
 * line, never a secret.  HM_OK unless memory or the store fails.
 */
int		 hm_pair_answer(hm_responder *r, int what,
		    const unsigned char *body, size_t len, const char *source,
		    unsigned char **reply, size_t *replylen, int *http,
		    hm_err *err);

/* ---- Renewal (the mTLS listener's POST /renew) ------------------------ */

/*
 * Renew the certificate peer (DER, as the client presented it over mTLS)
 * for the key of csr (DER or PEM; a new key, or the same one): a new
 * certificate from the same CA, with the same names, profile and
 * lifetime (from its issue to its expiry), recorded
 * in the transaction that marks peer "superseded".  *pem gets the new
 * certificate and the CAs above it (root excluded), the caller frees.
 * HM_E_POLICY when peer is not a valid certificate of the store (revoked,
 * expired, superseded, another CA's), its profile is not server, client
 * or both, or its names no longer pass the CA's policy; HM_E_INVALID for
 * a bad CSR.
 */
int		 hm_renew(hm_responder *r, const unsigned char *peer,
		    size_t peerlen, const unsigned char *csr, size_t csrlen,
		    char **pem, size_t *pemlen, hm_err *err);
/*
 * The client's check of a renewal reply (PEM: the certificate, then the
 * CAs above it, root excluded): the certificate is for key and verifies
 * up to a root of ca_file (PEM), through exactly the CAs given.  *cert
 * (the certificate) and *chain (it and its CAs), PEM, the caller frees.
 */
int		 hm_renewed_check(const char *pem, size_t len,
		    const hm_key *key, const char *ca_file, char **cert,
		    char **chain, hm_err *err);


/* One request of a batch and, once answered, what hm_enroll_answer says. */
typedef struct hm_enroll_job {
	const unsigned char	*req;		/* the body, borrowed */
	size_t			 len;
	unsigned char		*reply;		/* 200: the caller frees */
	size_t			 replylen;
	int			 http;		/* 0: not answered yet */
	int			 rc;		/* HM_OK, or memory, store */
	hm_err			 err;		/* a line for the log */
} hm_enroll_job;

/*
 * The answers to n requests, each what hm_enroll_answer would give had
 * they come one after the other in this order, with every certificate
 * they issue and every token they use up recorded in one store
 * transaction a round (group commit): no reply is made before its
 * commit, and a commit that fails turns every issuance of its round into
 * a refusal "try again later".  Of two requests with one token the first
 * is answered first; the second then finds the token used (the first's
 * very reply if it is the same request).  HM_OK unless memory fails;
 * every job has its answer then, else none has.
 */
int		 hm_enroll_answer_batch(hm_responder *r, hm_enroll_job *jobs,
		    size_t n, hm_err *err);

/*
 * The same in three steps, so that a server can sign the next batch
 * while the last one's transaction waits for the disk:
 * hm_enroll_batch_prepare opens, checks, signs and seals on r's thread
 * (reading r's store); hm_enroll_batch_commit records on another thread,
 * through a writer (its own connection to r's store; NULL: r's, on r's
 * thread), touching nothing of r; hm_enroll_batch_finish, back on r's
 * thread, answers every job of the batch but *left of them (http still
 * 0: a request that waits for an earlier one's token, or must be signed
 * again), which go into a later batch, in order.  jobs with http not 0
 * are skipped; jobs stay borrowed until finish, which frees b.
 * A writer's commits leave copying the store's log into the database to
 * hm_enroll_writer_checkpoint, which the server should call every
 * fraction of a second from a third thread (it uses a connection of its
 * own, and never waits for readers or the writer): no commit then stalls
 * doing it, but past a backstop of 64 MiB of log.
 */
typedef struct hm_enroll_batch hm_enroll_batch;
typedef struct hm_enroll_writer hm_enroll_writer;

int		 hm_enroll_writer_new(hm_responder *r, hm_enroll_writer **out,
		    hm_err *err);
void		 hm_enroll_writer_free(hm_enroll_writer *w);
int		 hm_enroll_writer_checkpoint(hm_enroll_writer *w,
		    hm_err *err);
int		 hm_enroll_batch_prepare(hm_responder *r, hm_enroll_job *jobs,
		    size_t n, hm_enroll_batch **out, hm_err *err);
/*
 * hm_enroll_batch_prepare in two steps, so that the signing can use
 * more than one core: hm_enroll_batch_open reads the tokens and opens
 * the requests on r's thread; hm_enroll_batch_sign checks the CSRs,
 * signs and seals, and may run on several threads at once, each taking
 * the next request not yet taken: it returns when none is left to take,
 * and b goes to hm_enroll_batch_commit only once every such call has.
 */
int		 hm_enroll_batch_open(hm_responder *r, hm_enroll_job *jobs,
		    size_t n, hm_enroll_batch **out, hm_err *err);
void		 hm_enroll_batch_sign(hm_enroll_batch *b);
void		 hm_enroll_batch_commit(hm_enroll_batch *b,
		    hm_enroll_writer *w);
int		 hm_enroll_batch_finish(hm_enroll_batch *b, size_t *left,
		    hm_err *err);

/* ---- TLS --------------------------------------------------------------- */

/*
 * Contexts for mutual TLS between the machines hallmark certifies: TLS 1.2
 * at least (1.3 preferred), no renegotiation, the key checked against its
 * certificate, which must be valid now.  The library reads CRL files only
 * (it fetches nothing); a program that refreshes them rebuilds its context
 * (hm_tls_ctx_reload).
 */

/* Server, with ca set: refuse a client without a certificate (default). */
#define HM_TLS_REQUIRE_CLIENT_CERT	0x01
/*
 * Server, with ca set: ask for a certificate and verify one that is sent,
 * but let a client without one in (it can tell with hm_tls_peer_error,
 * "no certificate"): anonymous CRL/OCSP clients and mTLS clients on one
 * port.
 */
#define HM_TLS_REQUEST_CLIENT_CERT	0x02

typedef struct hm_tls_params {
	const char	*cert;		/* PEM: the leaf, then its CAs */
	const char	*key;		/* PEM private key */
	const char	*key_pass;	/* for an encrypted key, or NULL */
	/*
	 * PEM bundle of the CAs peers are verified against, the roots
	 * included.  Server: NULL (and ca_dir NULL) asks clients for
	 * nothing (then crls, peer_names and flags must be unset).  Client:
	 * required, or ca_dir.
	 */
	const char	*ca;
	/*
	 * Instead of ca: a CA directory (borrowed), whose every CA's
	 * certificate, from its store, peers are verified against; read
	 * when the context is made or rebuilt, not watched by
	 * hm_tls_ctx_changed.  hallmark serve's listener trusts its own.
	 */
	hm_ca		*ca_dir;
	/*
	 * NULL-terminated list of CRL files, each PEM (one or several CRLs)
	 * or DER (one); NULL or empty: no revocation check.  When given,
	 * every certificate of the peer's chain is checked, so give the CRL
	 * of every CA in it (the root's too): a missing or expired CRL
	 * refuses the peer ("no CRL", "CRL expired").
	 */
	const char *const *crls;
	/*
	 * Server: NULL-terminated allow-list; a client is let in when one of
	 * its certificate's CNs, DNS or IP SANs equals an entry (names
	 * without regard to case, IPs as addresses; no wildcards).  NULL:
	 * any client the CA vouches for.
	 */
	const char *const *peer_names;
	/* Client, required: the DNS name or IP address the server must have. */
	const char	*host;
	unsigned	 flags;		/* server: HM_TLS_*_CLIENT_CERT */
} hm_tls_params;

/*
 * A server context (caller frees with SSL_CTX_free): p's chain and key;
 * with p->ca or p->ca_dir, clients asked for a certificate (their CAs'
 * names sent) and verified for TLS client use (purpose sslclient, X.509
 * strict, p->crls, p->peer_names), required unless p->flags has
 * HM_TLS_REQUEST_CLIENT_CERT.  Refused: a key that is not the
 * certificate's, a certificate not valid now, an unreadable CA bundle or
 * CRL, contradictory params (HM_E_INVALID); a failing CA directory's
 * error.
 */
int		 hm_tls_server_ctx_new(const hm_tls_params *p, SSL_CTX **out,
		    hm_err *err);
/*
 * A client context (caller frees with SSL_CTX_free) for the server
 * p->host: its certificate verified against p->ca (or p->ca_dir) for TLS
 * server use, with p->crls, and its name or address checked, on every SSL
 * made from it (SSL_new does; hm_tls_ssl_new also sends the name as
 * SNI).  p->cert and p->key: the client's own (both or neither; servers
 * of mutual TLS refuse a client without one).  p->peer_names and p->flags
 * must be unset.
 */
int		 hm_tls_client_ctx_new(const hm_tls_params *p, SSL_CTX **out,
		    hm_err *err);
/*
 * Rebuild *ctx (made by either function above) from p, which may name the
 * same files with new contents: a renewed certificate, new CRLs.  On
 * success the old context is released (connections that hold it keep it
 * until they end) and *ctx is the new one; on failure *ctx is untouched
 * and still works.
 */
int		 hm_tls_ctx_reload(const hm_tls_params *p, SSL_CTX **ctx,
		    hm_err *err);
/*
 * 1 when one of p's files (cert, key, ca, crls) has changed (modified,
 * replaced, appeared, gone) since ctx was made from p; else 0.
 */
int		 hm_tls_ctx_changed(const SSL_CTX *ctx, const hm_tls_params *p);
/* A connection of ctx (SSL_free): a client's sends the server's name. */
int		 hm_tls_ssl_new(SSL_CTX *ctx, SSL **out, hm_err *err);

/*
 * Why this side refused (or would refuse) the peer's certificate, or NULL
 * when it sent one that verified (or ssl verifies no peer): "no
 * certificate", "unknown CA", "revoked", "expired", "not yet valid",
 * "name mismatch", "not allowed", "wrong purpose", "no CRL", "CRL
 * expired", or OpenSSL's text for the rarer ones.  Static strings.
 */
const char	*hm_tls_peer_error(const SSL *ssl);
/*
 * One line for a failed SSL_accept, SSL_connect, SSL_read or SSL_write
 * that returned ret: this side's refusal of the peer (as above), else the
 * peer's refusal of us ("refused by the peer: revoked"), else OpenSSL's
 * reason, else "connection closed".  Written to buf, which is returned;
 * clears OpenSSL's error queue.
 */
const char	*hm_tls_strerror(SSL *ssl, int ret, char *buf, size_t len);
/*
 * The peer certificate's first CN (else first DNS SAN), printable ASCII,
 * into buf; HM_E_NOTFOUND without a peer certificate or name.
 */
int		 hm_tls_peer_name(const SSL *ssl, char *buf, size_t len);
/* The peer certificate's serial, lower-case hex as hallmark shows it. */
int		 hm_tls_peer_serial(const SSL *ssl, char *buf, size_t len);

/* ---- Files ------------------------------------------------------------- */

/*
 * Write data to path atomically (temp file created O_EXCL, fsync, rename
 * or link, fsync of the directory) with the given mode.  Without
 * HM_F_FORCE an existing path is never replaced (HM_E_EXISTS).
 */
int		 hm_file_write(const char *path, const void *data, size_t len,
		    unsigned mode, int flags, hm_err *err);
/* Read at most max bytes; larger files give HM_E_TOOBIG. */
int		 hm_file_read(const char *path, size_t max, unsigned char **out,
		    size_t *len, hm_err *err);

/* Wipe and free a secret string. */
void		 hm_secret_free(char *s);

#ifdef __cplusplus
}
#endif
#endif /* HALLMARK_H */
