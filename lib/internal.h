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
/*
 * The names of a list as hm_names_join writes it ("dns:a,ip:10.0.0.1",
 * empty for none), each checked by hm_names_add; *out the caller's.
 */
int		 hm_names_split(const char *list, hm_names **out, hm_err *err);
/* util.c: exactly digits hex digits, in any case, lower-cased into out. */
int		 hm_hexid_norm(const char *in, size_t digits, char *out);

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
	int		 ocsp_nocheck;	/* id-pkix-ocsp-nocheck, no URLs */
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
/*
 * The first PEM certificate of buf, or NULL; never asks for a passphrase
 * (a PEM header asking for one fails instead).
 */
X509	*hm_x509_from_pem(const void *buf, size_t len);
/* A PEM passphrase callback that gives none: the library never asks. */
int	 hm_pem_no_pass(char *buf, int size, int rwflag, void *u);
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

/* A token as the store keeps it (token.c, enroll server side). */
#define HM_PSK_LEN		32
#define HM_PSK_ID_LEN		10
#define HM_TOKEN_PENDING	0
#define HM_TOKEN_USED		1
#define HM_TOKEN_REVOKED	2
/* The PSK is kept this long past expiry to seal late refusals. */
#define HM_TOKEN_KEEP		86400

struct hm_token_rec {
	hm_token_info	 info;
	int		 state;		/* HM_TOKEN_* */
	unsigned char	 psk[HM_PSK_LEN];
	int		 has_psk;	/* 0 once wiped */
	unsigned char	 req_hash[32];	/* of the request that used it */
	int		 has_hash;
	unsigned char	*reply;		/* the reply sent to it, or NULL */
	size_t		 replylen;
};
/* Wipe r's secrets and free its reply. */
void	 hm_token_rec_clear(struct hm_token_rec *r);
/*
 * token.c: the scope p checked as issuance will check it, into ti (ca,
 * name, profile, sans, times, state "pending"; no id).
 */
int	 hm_token_scope(hm_ca *ca, const hm_token_params *p,
	    hm_token_info *ti, hm_err *err);
/* In a transaction: old PSKs wiped; HM_E_POLICY if too many pending. */
int	 hm_token_room(hm_store *st, time_t now, hm_err *err);


/* A pairing as the store keeps it (pair_srv.c). */
#define HM_PAIR_COMMITTED	0	/* accept sent, reveal awaited */
#define HM_PAIR_REVEALED	1	/* code known, approval awaited */
#define HM_PAIR_DONE		2	/* approved: a token holds its PSK */
#define HM_PAIR_DROPPED		3	/* rejected, or a wrong code */

struct hm_pair_rec {
	hm_pair_info	 info;
	int		 state;		/* HM_PAIR_* above */
	unsigned char	 sk[32];	/* the responder's X25519 key */
	int		 has_sk;	/* until the reveal */
	unsigned char	*commit, *accept, *reveal;	/* bodies, or NULL */
	size_t		 commitlen, acceptlen, reveallen;
	unsigned char	 psk[HM_PSK_LEN];
	unsigned char	 psk_id[HM_PSK_ID_LEN];
	char		 sas[8];
	int		 has_psk;	/* after the reveal, until the end */
};
/* Wipe r's secrets and free its bodies. */
void	 hm_pair_rec_clear(struct hm_pair_rec *r);

struct hm_store_ops {
	const char	*name;
	void	(*close)(hm_store *);
	int	(*begin)(hm_store *, hm_err *);
	int	(*commit)(hm_store *, hm_err *);
	void	(*rollback)(hm_store *);
	/*
	 * Inside a transaction: mark, then either keep what was done since
	 * (release) or undo it (rollback_to, which releases too).
	 */
	int	(*savepoint)(hm_store *, hm_err *);
	int	(*release)(hm_store *, hm_err *);
	void	(*rollback_to)(hm_store *);
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
	/* Tokens.  HM_E_EXISTS when the id is taken. */
	int	(*token_insert)(hm_store *, const struct hm_token_rec *,
		    hm_err *);
	/* Pending and unexpired at now. */
	int	(*token_pending)(hm_store *, time_t now, int64_t *n, hm_err *);
	/* HM_E_NOTFOUND; r->reply malloc'd (hm_token_rec_clear frees). */
	int	(*token_get)(hm_store *, const char *id,
		    struct hm_token_rec *r, hm_err *);
	/* Newest first; info.state as stored ("pending" even if expired). */
	int	(*token_list)(hm_store *, hm_token_cb, void *, hm_err *);
	/* Pending to revoked: HM_E_NOTFOUND, or HM_E_POLICY if not pending. */
	int	(*token_revoke)(hm_store *, const char *id, hm_err *);
	/*
	 * Pending to used (r: id, used_at, serial, req_hash, reply) in the
	 * caller's transaction; HM_E_EXISTS if it is pending no more.
	 */
	int	(*token_use)(hm_store *, const struct hm_token_rec *r,
		    hm_err *);
	/* Wipe the PSKs of tokens that expired before `before`. */
	int	(*token_purge)(hm_store *, time_t before, hm_err *);
	/* Pairings.  HM_E_EXISTS when the id is taken. */
	int	(*pair_insert)(hm_store *, const struct hm_pair_rec *, hm_err *);
	/* HM_E_NOTFOUND; bodies malloc'd (hm_pair_rec_clear frees). */
	int	(*pair_get)(hm_store *, const char *id, struct hm_pair_rec *,
		    hm_err *);
	/* Open (committed or revealed, unexpired at now): all, from source. */
	int	(*pair_open)(hm_store *, time_t now, const char *source,
		    int64_t *all, int64_t *from, hm_err *);
	/* Committed to revealed (r: reveal, psk, psk_id, sas; sk wiped). */
	int	(*pair_reveal)(hm_store *, const struct hm_pair_rec *r,
		    hm_err *);
	/*
	 * From state `from` to `to`, wiping the secrets; HM_E_EXISTS if it
	 * was not in `from`.  token: the id of the token made, or NULL.
	 */
	int	(*pair_move)(hm_store *, const char *id, int from, int to,
		    const char *token, hm_err *);
	/* Newest first, with the state as stored. */
	int	(*pair_list)(hm_store *, hm_pair_cb, void *, hm_err *);
	/* Forget pairings that expired before `before`. */
	int	(*pair_purge)(hm_store *, time_t before, hm_err *);
	/*
	 * A valid certificate replaced by `by` (status "superseded"), in
	 * the caller's transaction; HM_E_EXISTS if it was valid no more.
	 */
	int	(*cert_supersede)(hm_store *, const char *old, const char *by,
		    hm_err *);
	/*
	 * Settings of the directory, written once (HM_E_EXISTS after): the
	 * value of key into buf (HM_E_NOTFOUND when unset).
	 */
	int	(*setting_get)(hm_store *, const char *key, char *buf,
		    size_t len, hm_err *);
	int	(*setting_set)(hm_store *, const char *key, const char *value,
		    hm_err *);
	/*
	 * Write-ahead logs (NULL where there is none): copy what commits
	 * logged into the database, as far as readers allow; and leave
	 * that to such calls on another connection, the commits on this
	 * one doing it only past a backstop.
	 */
	int	(*checkpoint)(hm_store *, hm_err *);
	void	(*defer_checkpoints)(hm_store *);
	/*
	 * A consistent copy of the whole store as a database file's bytes
	 * (malloc'd), outside any transaction; NULL: the backend has none.
	 */
	int	(*snapshot)(hm_store *, unsigned char **out, size_t *len,
		    hm_err *);
};

struct hm_store {
	const struct hm_store_ops	*ops;
};

int	 hm_store_open(const char *uri, int create, hm_store **out,
	    hm_err *err);
int	 hm_store_sqlite_open(const char *path, int create, hm_store **out,
	    hm_err *err);
/* Tests of migrations: a new store at an older schema version. */
int	 hm_store_sqlite_create_at(const char *path, int version,
	    hm_err *err);
void	 hm_store_close(hm_store *s);

/* ca.c */
struct hm_ca {
	char		 dir[HM_PATH_MAX];
	hm_store	*store;
	int		 offline;	/* the store's setting, read at open */
};

#define HM_SETTING_OFFLINE	"offline"


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
/*
 * 0 when the named CA (NULL: root) has no key file at all in the directory
 * (an online CA's root, kept offline: hm_ca_init_from_root), else 1: a
 * key that is there but can not be read is for hm_ca_signer to report.
 */
int	 hm_ca_has_key(hm_ca *ca, const char *name);
/* A signer without its key: the CA's certificates only. */
int	 hm_ca_certs(hm_ca *ca, const char *name, hm_signer **out,
	    hm_err *err);
/*
 * The CA of ca whose certificate issued and signed x (not x itself, with
 * not_self), as a signer without its key; HM_E_NOTFOUND if none.
 */
int	 hm_ca_find_issuer(hm_ca *ca, X509 *x, int not_self, hm_signer **out,
	    hm_err *err);
/*
 * An intermediate p->name signed by parent for exactly [nb, na] (which
 * must lie inside the parent's validity), as hm_ca_new_intermediate
 * makes one: what the signer schedule pre-creates.
 */
int	 hm_ca_new_at(hm_ca *ca, hm_signer *parent, const hm_ca_params *p,
	    time_t nb, time_t na, hm_cert **out, hm_err *err);

/*
 * Record the CA name under parent (a CA of ca) with certificate x and key
 * (a copy is written, encrypted when pass is set), as hm_ca_new_intermediate
 * does for a CA it made: what an import takes in.  x and key are borrowed.
 */
int	 hm_ca_adopt(hm_ca *ca, const char *name, const char *parent, X509 *x,
	    hm_key *key, const char *pass, hm_err *err);

/* backup.c: the archive of docs/PROTOCOL.md, section 3 */
#define HM_ARC_VERSION		1
#define HM_ARC_SIGNERS		1	/* kind: intermediates, root cert */
#define HM_ARC_BACKUP		2	/* kind: a whole CA directory */
#define HM_ARC_NAME_MAX		128	/* bytes of an entry's name */

struct hm_arc_entry {
	char		 name[HM_ARC_NAME_MAX + 1];
	unsigned	 mode;		/* 0600 or 0644 */
	unsigned char	*data;		/* owned, wiped when cleared */
	size_t		 len;
};
struct hm_arc {
	int			 kind;	/* HM_ARC_* */
	time_t			 created;
	struct hm_arc_entry	*v;
	size_t			 n, cap;
};
/* Append a copy of data as entry name (unchecked: the reader checks). */
int	 hm_arc_add(struct hm_arc *a, const char *name, unsigned mode,
	    const void *data, size_t len, hm_err *err);
/* Wipe every entry and free them; a is empty after. */
void	 hm_arc_clear(struct hm_arc *a);
/* The Archive's DER (malloc'd; wipe it, it may hold keys). */
int	 hm_arc_encode(const struct hm_arc *a, unsigned char **der,
	    size_t *len, hm_err *err);
/*
 * Read an Archive of the given kind: HM_E_TOOBIG over HM_ARCHIVE_MAX or
 * HM_ARCHIVE_ENTRIES_MAX entries; HM_E_INVALID for bad DER, trailing
 * bytes, another version or kind, an empty archive, a bad mode, a
 * duplicate name, or a name outside the kind's set (section 3.2).
 * out is written only on success.
 */
int	 hm_arc_decode(const unsigned char *der, size_t len, int kind,
	    struct hm_arc *out, hm_err *err);
/*
 * CMS AuthEnvelopedData (DER, malloc'd) of pt under AES-256-GCM for
 * each recipient: RSA by OAEP (SHA-256), P-256 and P-384 by ECDH.
 */
int	 hm_arc_seal(const unsigned char *pt, size_t len, X509 *const *recips,
	    size_t n, unsigned char **out, size_t *outlen, hm_err *err);
/*
 * Open what hm_arc_seal made with a recipient's key (and, when not NULL,
 * its certificate, which then picks the recipient).  HM_E_SIGNATURE,
 * "damaged or not for this key", when it fails; *pt malloc'd.
 */
int	 hm_arc_open(const unsigned char *in, size_t len, EVP_PKEY *key,
	    X509 *cert, unsigned char **pt, size_t *ptlen, hm_err *err);

/* ocsp.c: the unlocked CA named name (borrowed), or NULL. */
hm_signer	*hm_responder_signer(hm_responder *r, const char *name);
hm_ca		*hm_responder_ca(hm_responder *r);

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
/*
 * Check, sign and record as hm_issue does, inside the caller's store
 * transaction: durable only when the caller commits it.
 */
int	 hm_issue_in_tx(hm_signer *s, const hm_issue_req *req, hm_cert **out,
	    hm_err *err);
/* Check and sign as hm_issue does, but store nothing (benchmarks). */
int	 hm_issue_build(hm_signer *s, const hm_issue_req *req, hm_cert **out,
	    hm_err *err);
/*
 * Check and sign as hm_issue does; *rec (pointing into *out) is what the
 * caller records with cert_insert (HM_E_EXISTS: sign again).
 */
int	 hm_issue_sign(hm_signer *s, const hm_issue_req *req, hm_cert **out,
	    hm_cert_rec *rec, hm_err *err);
int	 hm_cert_rec_fill(hm_cert_rec *r, const hm_cert *c, const char *ca,
	    const char *profile, const hm_names *sans, hm_err *err);
/* The X509_NAME of s (C, ST, L, O, OU, CN), added to nm. */
int	 hm_subject_to_name(const hm_subject *s, X509_NAME *nm, hm_err *err);

/*
 * enroll.c: leaf is for key, and verifies (X.509 strict, the purpose its
 * EKU names) up to one of roots through untrusted, which is exactly the
 * path between them, issuer first.
 */
int	 hm_leaf_verify(X509 *leaf, STACK_OF(X509) *untrusted,
	    X509 *const *roots, size_t nroots, const hm_key *key,
	    hm_err *err);

/* enroll.c: the codec and cryptography of docs/PROTOCOL.md, section 1 */
#define HM_ENROLL_NONCE_LEN	32
#define HM_ENROLL_HASH_LEN	32	/* SHA-256 of a request body */
#define HM_ENROLL_REQ_HDR	54	/* bytes before the ciphertext */
#define HM_ENROLL_REP_HDR	44
#define HM_ENROLL_TAG_LEN	16
#define HM_ENROLL_CSR_MAX	8192
#define HM_ENROLL_MSG_MAX	200	/* bytes of a refusal's message */
#define HM_ENROLL_CHAIN_MAX	16	/* CA certificates between leaf, root */

#define HM_ENROLL_ISSUED	0	/* a reply's status */
#define HM_ENROLL_REFUSED	1

/* Reason codes of a refusal (section 1.4). */
#define HM_ENROLL_R_EXPIRED	1
#define HM_ENROLL_R_USED	2
#define HM_ENROLL_R_REVOKED	3
#define HM_ENROLL_R_SCOPE	4
#define HM_ENROLL_R_CSR		5
#define HM_ENROLL_R_MALFORMED	6
#define HM_ENROLL_R_LATER	7

/* The token "hm1-ID-SECRET" of id and psk; out is NUL-terminated. */
int	 hm_token_format(const unsigned char id[HM_PSK_ID_LEN],
	    const unsigned char psk[HM_PSK_LEN], char out[HM_TOKEN_LEN + 1]);
/*
 * Read a token: form, base 32 (either case) and check value.  HM_E_INVALID
 * with a message for a person; the message never quotes the secret.
 */
int	 hm_token_parse(const char *token, unsigned char id[HM_PSK_ID_LEN],
	    unsigned char psk[HM_PSK_LEN], hm_err *err);
/* The id as the store and hm_token_info show it: lower-case hex. */
void	 hm_token_id_hex(const unsigned char id[HM_PSK_ID_LEN],
	    char out[HM_TOKEN_ID_LEN + 1]);
/* SHA-256 of a request body: what a reply is bound to. */
int	 hm_enroll_hash(const unsigned char *body, size_t len,
	    unsigned char out[HM_ENROLL_HASH_LEN], hm_err *err);
/* "token expired", ...; "refused" for a code section 1.4 does not list. */
const char *hm_enroll_reason_name(unsigned code);

/* A value inside a plaintext (borrowed). */
struct hm_enroll_item {
	const unsigned char	*v;
	size_t			 len;
};

/* HKDF-SHA256 (RFC 5869, extract then expand) of key into out. */
int	 hm_hkdf_sha256(const unsigned char *key, size_t keylen,
	    const unsigned char *salt, size_t saltlen,
	    const unsigned char *info, size_t infolen, unsigned char *out,
	    size_t outlen, hm_err *err);

/* The items codec of section 1.5, which pairing (section 2) uses too. */
struct hm_item_spec {
	unsigned	 tag;
	size_t		 min, max;	/* occurrences */
	size_t		 minlen, maxlen;	/* bytes of a value */
};
/*
 * Read pt as the items spec lists, in its order (section 1.5): each item
 * found goes to out (at most maxout), borrowing pt.  HM_E_INVALID for an
 * unknown tag, a missing, repeated or out-of-order item, an empty value,
 * a value of a length spec does not allow, or one running past the end.
 */
int	 hm_items_parse(const unsigned char *pt, size_t len,
	    const struct hm_item_spec *spec, size_t nspec,
	    struct hm_enroll_item *out, size_t maxout, size_t *nout,
	    hm_err *err);
/* Write tag, len (at most 0xffff) and v at p; the byte after them. */
unsigned char	*hm_item_put(unsigned char *p, unsigned tag,
		    const unsigned char *v, size_t len);

/* A request's header, read without any secret. */
struct hm_enroll_req {
	unsigned char		 id[HM_PSK_ID_LEN];
	unsigned char		 nonce_c[HM_ENROLL_NONCE_LEN];
	const unsigned char	*ct;		/* borrowed from the body */
	size_t			 ctlen;		/* tag included */
};

/*
 * The request body carrying csr (DER, at most HM_ENROLL_CSR_MAX bytes:
 * HM_E_TOOBIG), sealed under psk for nonce_c; *body is malloc'd.
 */
int	 hm_enroll_req_seal(const unsigned char psk[HM_PSK_LEN],
	    const unsigned char id[HM_PSK_ID_LEN],
	    const unsigned char nonce_c[HM_ENROLL_NONCE_LEN],
	    const unsigned char *csr, size_t csrlen, unsigned char **body,
	    size_t *len, hm_err *err);
/*
 * Check a request's header: HM_E_TOOBIG over HM_ENROLL_MAX, HM_E_INVALID
 * for a bad magic, version, suite, reserved field or length.  Depends on
 * no secret: the server calls it before it looks the id up.
 */
int	 hm_enroll_req_parse(const unsigned char *body, size_t len,
	    struct hm_enroll_req *out, hm_err *err);
/*
 * Open the request h was parsed from (body, len) with psk and return its
 * CSR (DER, malloc'd; not parsed).  HM_E_SIGNATURE for a bad tag,
 * HM_E_INVALID for a plaintext that breaks section 1.5.  A wrong psk (the
 * server's dummy for an unknown id) costs the same work as the right one
 * up to the tag check.
 */
int	 hm_enroll_req_open(const struct hm_enroll_req *h,
	    const unsigned char *body, size_t len,
	    const unsigned char psk[HM_PSK_LEN], unsigned char **csr,
	    size_t *csrlen, hm_err *err);
/* The items of a request's plaintext: its CSR, borrowed from pt. */
int	 hm_enroll_req_items(const unsigned char *pt, size_t len,
	    struct hm_enroll_item *csr, hm_err *err);

/*
 * Plaintexts of a reply (malloc'd): issued (the certificate, nchain CA
 * certificates from its issuer up, the root excluded, and the root; all
 * DER, none parsed) or refused (code, and msg: 1 to HM_ENROLL_MSG_MAX
 * bytes of UTF-8 without control characters).
 */
int	 hm_enroll_issued_pt(const struct hm_enroll_item *cert,
	    const struct hm_enroll_item *chain, size_t nchain,
	    const struct hm_enroll_item *root, unsigned char **pt,
	    size_t *len, hm_err *err);
int	 hm_enroll_refused_pt(unsigned code, const char *msg,
	    unsigned char **pt, size_t *len, hm_err *err);
/*
 * The reply body (malloc'd) to the request whose SHA-256 is req_hash,
 * from psk, id and nonce_c of that request and a fresh nonce_s.  pt is
 * checked against status first (HM_E_INVALID); HM_E_TOOBIG when the body
 * would be over HM_ENROLL_MAX.
 */
int	 hm_enroll_rep_seal(const unsigned char psk[HM_PSK_LEN],
	    const unsigned char id[HM_PSK_ID_LEN],
	    const unsigned char nonce_c[HM_ENROLL_NONCE_LEN],
	    const unsigned char nonce_s[HM_ENROLL_NONCE_LEN],
	    const unsigned char req_hash[HM_ENROLL_HASH_LEN], int status,
	    const unsigned char *pt, size_t ptlen, unsigned char **body,
	    size_t *len, hm_err *err);

/* An opened reply; the items point into pt. */
struct hm_enroll_reply {
	int			 status;	/* HM_ENROLL_ISSUED, _REFUSED */
	unsigned char		 nonce_s[HM_ENROLL_NONCE_LEN];
	unsigned char		*pt;		/* owned */
	size_t			 ptlen;
	/* Issued. */
	struct hm_enroll_item	 cert, root;
	struct hm_enroll_item	 chain[HM_ENROLL_CHAIN_MAX];
	size_t			 nchain;
	/* Refused. */
	unsigned		 code;
	char			 msg[HM_ENROLL_MSG_MAX + 1];
};
/* Read the items of a plaintext of status into out (borrowing pt). */
int	 hm_enroll_rep_items(int status, const unsigned char *pt, size_t len,
	    struct hm_enroll_reply *out, hm_err *err);
/*
 * Open a reply body: HM_E_TOOBIG, HM_E_INVALID for its header,
 * HM_E_SIGNATURE when it was not sealed under psk for this request
 * (req_hash), HM_E_INVALID for items that break section 1.5.  Free with
 * hm_enroll_reply_clear.
 */
int	 hm_enroll_rep_open(const unsigned char psk[HM_PSK_LEN],
	    const unsigned char id[HM_PSK_ID_LEN],
	    const unsigned char nonce_c[HM_ENROLL_NONCE_LEN],
	    const unsigned char req_hash[HM_ENROLL_HASH_LEN],
	    const unsigned char *body, size_t len, struct hm_enroll_reply *out,
	    hm_err *err);
void	 hm_enroll_reply_clear(struct hm_enroll_reply *r);

/*
 * pair.c: the codec and cryptography of docs/PROTOCOL.md, section 2.
 * HM_PAIR_MAX and the state values (HM_PAIR_WAITING, _APPROVED, _ENDED)
 * are in hallmark.h.
 */
#define HM_PAIR_ID_LEN		16
#define HM_X25519_LEN		32
#define HM_PAIR_NONCE_LEN	32

struct hm_pair_commit {
	char		 name[65];	/* 1..64 bytes and NUL, hm_cn_check */
	hm_profile_id	 profile;	/* server, client or both */
	unsigned char	 commitment[32];
};
struct hm_pair_accept {
	unsigned char	 id[HM_PAIR_ID_LEN];
	unsigned char	 pk_r[HM_X25519_LEN];
	unsigned char	 nonce_r[HM_PAIR_NONCE_LEN];
};
struct hm_pair_reveal {
	unsigned char	 id[HM_PAIR_ID_LEN];
	unsigned char	 pk_i[HM_X25519_LEN];
	unsigned char	 nonce_i[HM_PAIR_NONCE_LEN];
};
/*
 * Encode (a malloc'd body) and decode each message.  Decoding is strict:
 * the magic, version 1, then exactly the items of section 2.1 in order,
 * each of its length, and nothing after them; a name must pass
 * hm_cn_check, a profile be one of the three words.  HM_E_TOOBIG over
 * HM_PAIR_MAX, HM_E_INVALID otherwise; *m written only on success.
 * Encoding refuses what decoding would (HM_E_INVALID).
 */
int	 hm_pair_commit_encode(const struct hm_pair_commit *m,
	    unsigned char **body, size_t *len, hm_err *err);
int	 hm_pair_commit_decode(const unsigned char *body, size_t len,
	    struct hm_pair_commit *m, hm_err *err);
int	 hm_pair_accept_encode(const struct hm_pair_accept *m,
	    unsigned char **body, size_t *len, hm_err *err);
int	 hm_pair_accept_decode(const unsigned char *body, size_t len,
	    struct hm_pair_accept *m, hm_err *err);
int	 hm_pair_reveal_encode(const struct hm_pair_reveal *m,
	    unsigned char **body, size_t *len, hm_err *err);
int	 hm_pair_reveal_decode(const unsigned char *body, size_t len,
	    struct hm_pair_reveal *m, hm_err *err);
/*
 * "revealed" (magic "HMPD") and "status" ("HMPS") carry only the id;
 * any other magic is HM_E_INVALID.  "state" ("HMPT") carries one byte,
 * HM_PAIR_WAITING, _APPROVED or _ENDED.
 */
int	 hm_pair_id_encode(const char magic[4],
	    const unsigned char id[HM_PAIR_ID_LEN], unsigned char **body,
	    size_t *len, hm_err *err);
int	 hm_pair_id_decode(const char magic[4], const unsigned char *body,
	    size_t len, unsigned char id[HM_PAIR_ID_LEN], hm_err *err);
int	 hm_pair_state_encode(int state, unsigned char **body, size_t *len,
	    hm_err *err);
int	 hm_pair_state_decode(const unsigned char *body, size_t len,
	    int *state, hm_err *err);
/* SHA-256("hallmark pair v1 commit" || pk || nonce) */
int	 hm_pair_commitment(const unsigned char pk[HM_X25519_LEN],
	    const unsigned char nonce[HM_PAIR_NONCE_LEN], unsigned char out[32],
	    hm_err *err);
/* A fresh X25519 key: the private key's raw 32 bytes and the public key's. */
int	 hm_pair_keygen(unsigned char sk[HM_X25519_LEN],
	    unsigned char pk[HM_X25519_LEN], hm_err *err);
/* What both sides derive (section 2.2). */
struct hm_pair_out {
	unsigned char	psk[HM_PSK_LEN];
	unsigned char	psk_id[HM_PSK_ID_LEN];
	char		sas[7];		/* 6 digits and NUL */
};
/*
 * z = X25519(sk, peer_pk) (HM_E_INVALID for an all-zero z: a peer key of
 * small order), th over the three bodies as sent, then okm as in 2.2.
 * Wipes z and okm.  The bodies are not parsed: the caller has.
 */
int	 hm_pair_derive(const unsigned char sk[HM_X25519_LEN],
	    const unsigned char peer_pk[HM_X25519_LEN],
	    const unsigned char *commit, size_t commitlen,
	    const unsigned char *accept, size_t acceptlen,
	    const unsigned char *reveal, size_t reveallen,
	    struct hm_pair_out *out, hm_err *err);

#endif /* HM_INTERNAL_H */
