/*
 * Pairing (docs/PROTOCOL.md, section 2): the messages, the commitment,
 * X25519 and the key schedule with its code, and the initiator's side.
 *
 * The codec is strict so that every message has exactly one encoding:
 * the code is derived from the bodies as sent, and a body that could be
 * spelled another way would give a man in the middle something to vary
 * after it has seen the other side's values.  Private keys, shared
 * secrets and PSKs are wiped.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "internal.h"

#define VERSION		1
#define HDRLEN		5		/* magic, version */
#define SAS_OFF		(HM_PSK_LEN + HM_PSK_ID_LEN)
#define OKMLEN		(SAS_OFF + 8)
#define SAS_MOD		1000000
#define NAME_MAX_LEN	64
#define WORD_MAX_LEN	6		/* "server", "client" */

#define TAG_NAME	0x10
#define TAG_PROFILE	0x11
#define TAG_COMMITMENT	0x12
#define TAG_ID		0x13
#define TAG_PK_R	0x14
#define TAG_NONCE_R	0x15
#define TAG_PK_I	0x16
#define TAG_NONCE_I	0x17
#define TAG_STATE	0x18

static const char	 commit_label[] = "hallmark pair v1 commit";
static const char	 okm_label[] = "hallmark pair v1";

struct hm_pair {
	unsigned char		 sk[HM_X25519_LEN];	/* wiped once used */
	unsigned char		 pk[HM_X25519_LEN];
	unsigned char		 nonce[HM_PAIR_NONCE_LEN];
	unsigned char		*commit, *reveal, *status;
	size_t			 commitlen, reveallen, statuslen;
	int			 accepted;
	struct hm_pair_out	 out;
};

/* One item of a message to encode. */
struct field {
	unsigned		 tag;
	const unsigned char	*v;
	size_t			 len;
};

/* ---- The codec ---------------------------------------------------------- */

/* magic, the version, then the items of f in order: a malloc'd body. */
static int
msg_encode(const char magic[4], const struct field *f, size_t n,
    unsigned char **body, size_t *len, hm_err *err)
{
	unsigned char	*b, *p;
	size_t		 i, blen = HDRLEN;

	for (i = 0; i < n; i++)
		blen += 3 + f[i].len;
	if (blen > HM_PAIR_MAX)
		return hm_seterr(err, HM_E_TOOBIG, "a pairing message of %zu "
		    "bytes is over %d", blen, HM_PAIR_MAX);
	if ((b = malloc(blen)) == NULL)
		return hm_seterr(err, HM_E_NOMEM, "out of memory");
	memcpy(b, magic, 4);
	b[4] = VERSION;
	p = b + HDRLEN;
	for (i = 0; i < n; i++)
		p = hm_item_put(p, f[i].tag, f[i].v, f[i].len);
	*body = b;
	*len = blen;
	return HM_OK;
}

/*
 * Check a body's size, magic and version, and read its items: exactly
 * one of each that spec lists, in its order, into it.
 */
static int
msg_decode(const char magic[4], const char *what, const unsigned char *body,
    size_t len, const struct hm_item_spec *spec, size_t n,
    struct hm_enroll_item *it, hm_err *err)
{
	size_t	nout;
	int	rc;

	if (len > HM_PAIR_MAX)
		return hm_seterr(err, HM_E_TOOBIG, "pairing %s of %zu bytes is "
		    "over %d", what, len, HM_PAIR_MAX);
	if (body == NULL || len < HDRLEN)
		return hm_seterr(err, HM_E_INVALID, "pairing %s of %zu bytes "
		    "is too short", what, len);
	if (memcmp(body, magic, 4) != 0)
		return hm_seterr(err, HM_E_INVALID, "not a pairing %s (magic)",
		    what);
	if (body[4] != VERSION)
		return hm_seterr(err, HM_E_INVALID, "pairing %s of version %u "
		    "(want %d)", what, body[4], VERSION);
	if ((rc = hm_items_parse(body + HDRLEN, len - HDRLEN, spec, n, it, n,
	    &nout, err)) != HM_OK)
		return rc;
	if (nout != n)
		return hm_seterr(err, HM_E_INTERNAL, "pairing %s: %zu items "
		    "of %zu", what, nout, n);
	return HM_OK;
}

static int
profile_ok(hm_profile_id p)
{
	return p == HM_PROFILE_SERVER || p == HM_PROFILE_CLIENT ||
	    p == HM_PROFILE_BOTH;
}

/* The profile whose name is exactly the len bytes of w, or NONE. */
static hm_profile_id
profile_word(const unsigned char *w, size_t len)
{
	static const hm_profile_id	 ids[] = {
		HM_PROFILE_SERVER, HM_PROFILE_CLIENT, HM_PROFILE_BOTH,
	};
	const char			*s;
	size_t				 i;

	for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		s = hm_profile_name(ids[i]);
		if (strlen(s) == len && memcmp(s, w, len) == 0)
			return ids[i];
	}
	return HM_PROFILE_NONE;
}

int
hm_pair_commit_encode(const struct hm_pair_commit *m, unsigned char **body,
    size_t *len, hm_err *err)
{
	struct field	 f[3];
	const char	*word;
	size_t		 nlen;
	int		 rc;

	nlen = strnlen(m->name, sizeof(m->name));
	if (nlen == 0 || nlen > NAME_MAX_LEN)
		return hm_seterr(err, HM_E_INVALID, "a pairing's name is 1 to "
		    "%d bytes", NAME_MAX_LEN);
	if ((rc = hm_cn_check(m->name, err)) != HM_OK)
		return rc;
	if (!profile_ok(m->profile))
		return hm_seterr(err, HM_E_INVALID, "a pairing's profile is "
		    "server, client or both, not %s",
		    hm_profile_name(m->profile));
	word = hm_profile_name(m->profile);
	f[0] = (struct field){ TAG_NAME, (const unsigned char *)m->name,
	    nlen };
	f[1] = (struct field){ TAG_PROFILE, (const unsigned char *)word,
	    strlen(word) };
	f[2] = (struct field){ TAG_COMMITMENT, m->commitment,
	    sizeof(m->commitment) };
	return msg_encode("HMPC", f, 3, body, len, err);
}

int
hm_pair_commit_decode(const unsigned char *body, size_t len,
    struct hm_pair_commit *m, hm_err *err)
{
	static const struct hm_item_spec spec[] = {
		{ TAG_NAME, 1, 1, 1, NAME_MAX_LEN },
		{ TAG_PROFILE, 1, 1, 1, WORD_MAX_LEN },
		{ TAG_COMMITMENT, 1, 1, 32, 32 },
	};
	struct hm_enroll_item	 it[3];
	struct hm_pair_commit	 c;
	int			 rc;

	if ((rc = msg_decode("HMPC", "commit", body, len, spec, 3, it, err)) !=
	    HM_OK)
		return rc;
	memset(&c, 0, sizeof(c));
	if (memchr(it[0].v, '\0', it[0].len) != NULL)
		return hm_seterr(err, HM_E_INVALID, "the name of a pairing "
		    "holds a NUL byte");
	memcpy(c.name, it[0].v, it[0].len);
	if ((rc = hm_cn_check(c.name, err)) != HM_OK)
		return rc;
	if ((c.profile = profile_word(it[1].v, it[1].len)) ==
	    HM_PROFILE_NONE)
		return hm_seterr(err, HM_E_INVALID, "the profile of a pairing "
		    "is \"server\", \"client\" or \"both\"");
	memcpy(c.commitment, it[2].v, sizeof(c.commitment));
	*m = c;
	return HM_OK;
}

int
hm_pair_accept_encode(const struct hm_pair_accept *m, unsigned char **body,
    size_t *len, hm_err *err)
{
	const struct field	 f[] = {
		{ TAG_ID, m->id, sizeof(m->id) },
		{ TAG_PK_R, m->pk_r, sizeof(m->pk_r) },
		{ TAG_NONCE_R, m->nonce_r, sizeof(m->nonce_r) },
	};

	return msg_encode("HMPA", f, 3, body, len, err);
}

int
hm_pair_accept_decode(const unsigned char *body, size_t len,
    struct hm_pair_accept *m, hm_err *err)
{
	static const struct hm_item_spec spec[] = {
		{ TAG_ID, 1, 1, HM_PAIR_ID_LEN, HM_PAIR_ID_LEN },
		{ TAG_PK_R, 1, 1, HM_X25519_LEN, HM_X25519_LEN },
		{ TAG_NONCE_R, 1, 1, HM_PAIR_NONCE_LEN, HM_PAIR_NONCE_LEN },
	};
	struct hm_enroll_item	 it[3];
	int			 rc;

	if ((rc = msg_decode("HMPA", "accept", body, len, spec, 3, it, err)) !=
	    HM_OK)
		return rc;
	memcpy(m->id, it[0].v, HM_PAIR_ID_LEN);
	memcpy(m->pk_r, it[1].v, HM_X25519_LEN);
	memcpy(m->nonce_r, it[2].v, HM_PAIR_NONCE_LEN);
	return HM_OK;
}

int
hm_pair_reveal_encode(const struct hm_pair_reveal *m, unsigned char **body,
    size_t *len, hm_err *err)
{
	const struct field	 f[] = {
		{ TAG_ID, m->id, sizeof(m->id) },
		{ TAG_PK_I, m->pk_i, sizeof(m->pk_i) },
		{ TAG_NONCE_I, m->nonce_i, sizeof(m->nonce_i) },
	};

	return msg_encode("HMPV", f, 3, body, len, err);
}

int
hm_pair_reveal_decode(const unsigned char *body, size_t len,
    struct hm_pair_reveal *m, hm_err *err)
{
	static const struct hm_item_spec spec[] = {
		{ TAG_ID, 1, 1, HM_PAIR_ID_LEN, HM_PAIR_ID_LEN },
		{ TAG_PK_I, 1, 1, HM_X25519_LEN, HM_X25519_LEN },
		{ TAG_NONCE_I, 1, 1, HM_PAIR_NONCE_LEN, HM_PAIR_NONCE_LEN },
	};
	struct hm_enroll_item	 it[3];
	int			 rc;

	if ((rc = msg_decode("HMPV", "reveal", body, len, spec, 3, it, err)) !=
	    HM_OK)
		return rc;
	memcpy(m->id, it[0].v, HM_PAIR_ID_LEN);
	memcpy(m->pk_i, it[1].v, HM_X25519_LEN);
	memcpy(m->nonce_i, it[2].v, HM_PAIR_NONCE_LEN);
	return HM_OK;
}

/* The name of a message that carries only the pairing id, or NULL. */
static const char *
id_msg_name(const char magic[4])
{
	if (memcmp(magic, "HMPD", 4) == 0)
		return "revealed";
	if (memcmp(magic, "HMPS", 4) == 0)
		return "status";
	return NULL;
}

int
hm_pair_id_encode(const char magic[4], const unsigned char id[HM_PAIR_ID_LEN],
    unsigned char **body, size_t *len, hm_err *err)
{
	const struct field	 f = { TAG_ID, id, HM_PAIR_ID_LEN };

	if (id_msg_name(magic) == NULL)
		return hm_seterr(err, HM_E_INVALID, "only HMPD and HMPS carry "
		    "just a pairing id");
	return msg_encode(magic, &f, 1, body, len, err);
}

int
hm_pair_id_decode(const char magic[4], const unsigned char *body, size_t len,
    unsigned char id[HM_PAIR_ID_LEN], hm_err *err)
{
	static const struct hm_item_spec spec[] = {
		{ TAG_ID, 1, 1, HM_PAIR_ID_LEN, HM_PAIR_ID_LEN },
	};
	struct hm_enroll_item	 it;
	const char		*what;
	int			 rc;

	if ((what = id_msg_name(magic)) == NULL)
		return hm_seterr(err, HM_E_INVALID, "only HMPD and HMPS carry "
		    "just a pairing id");
	if ((rc = msg_decode(magic, what, body, len, spec, 1, &it, err)) !=
	    HM_OK)
		return rc;
	memcpy(id, it.v, HM_PAIR_ID_LEN);
	return HM_OK;
}

static int
state_ok(int state)
{
	return state == HM_PAIR_WAITING || state == HM_PAIR_APPROVED ||
	    state == HM_PAIR_ENDED;
}

int
hm_pair_state_encode(int state, unsigned char **body, size_t *len,
    hm_err *err)
{
	unsigned char	 v = (unsigned char)state;
	struct field	 f = { TAG_STATE, &v, 1 };

	if (!state_ok(state))
		return hm_seterr(err, HM_E_INVALID, "pairing state %d is none "
		    "of 0, 1, 2", state);
	return msg_encode("HMPT", &f, 1, body, len, err);
}

int
hm_pair_state_decode(const unsigned char *body, size_t len, int *state,
    hm_err *err)
{
	static const struct hm_item_spec spec[] = {
		{ TAG_STATE, 1, 1, 1, 1 },
	};
	struct hm_enroll_item	 it;
	int			 rc;

	if ((rc = msg_decode("HMPT", "state", body, len, spec, 1, &it, err)) !=
	    HM_OK)
		return rc;
	if (!state_ok(it.v[0]))
		return hm_seterr(err, HM_E_INVALID, "pairing state %u is none "
		    "of 0 (waiting), 1 (approved), 2 (ended)", it.v[0]);
	*state = it.v[0];
	return HM_OK;
}

/* ---- Cryptography ------------------------------------------------------- */

int
hm_pair_commitment(const unsigned char pk[HM_X25519_LEN],
    const unsigned char nonce[HM_PAIR_NONCE_LEN], unsigned char out[32],
    hm_err *err)
{
	EVP_MD_CTX	*ctx;
	unsigned char	 md[32];
	int		 ok;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return hm_seterr(err, HM_E_NOMEM, "out of memory");
	ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) &&
	    EVP_DigestUpdate(ctx, commit_label, sizeof(commit_label) - 1) &&
	    EVP_DigestUpdate(ctx, pk, HM_X25519_LEN) &&
	    EVP_DigestUpdate(ctx, nonce, HM_PAIR_NONCE_LEN) &&
	    EVP_DigestFinal_ex(ctx, md, NULL);
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return hm_seterr_ssl(err, HM_E_INTERNAL, "SHA-256");
	memcpy(out, md, sizeof(md));
	return HM_OK;
}

int
hm_pair_keygen(unsigned char sk[HM_X25519_LEN],
    unsigned char pk[HM_X25519_LEN], hm_err *err)
{
	EVP_PKEY	*key;
	unsigned char	 s[HM_X25519_LEN], p[HM_X25519_LEN];
	size_t		 slen = sizeof(s), plen = sizeof(p);
	int		 rc = HM_E_INTERNAL;

	if ((key = EVP_PKEY_Q_keygen(NULL, NULL, "X25519")) == NULL)
		return hm_seterr_ssl(err, HM_E_INTERNAL, "X25519 key "
		    "generation");
	if (EVP_PKEY_get_raw_private_key(key, s, &slen) != 1 ||
	    EVP_PKEY_get_raw_public_key(key, p, &plen) != 1 ||
	    slen != sizeof(s) || plen != sizeof(p)) {
		rc = hm_seterr_ssl(err, HM_E_INTERNAL, "X25519 raw key");
		goto out;
	}
	memcpy(sk, s, sizeof(s));
	memcpy(pk, p, sizeof(p));
	rc = HM_OK;
 out:
	OPENSSL_cleanse(s, sizeof(s));
	EVP_PKEY_free(key);
	return rc;
}

/* SHA-256 of the three bodies as sent. */
static int
transcript(const unsigned char *commit, size_t commitlen,
    const unsigned char *accept, size_t acceptlen, const unsigned char *reveal,
    size_t reveallen, unsigned char th[32], hm_err *err)
{
	EVP_MD_CTX	*ctx;
	int		 ok;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return hm_seterr(err, HM_E_NOMEM, "out of memory");
	ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) &&
	    EVP_DigestUpdate(ctx, commit, commitlen) &&
	    EVP_DigestUpdate(ctx, accept, acceptlen) &&
	    EVP_DigestUpdate(ctx, reveal, reveallen) &&
	    EVP_DigestFinal_ex(ctx, th, NULL);
	EVP_MD_CTX_free(ctx);
	return ok ? HM_OK : hm_seterr_ssl(err, HM_E_INTERNAL, "SHA-256");
}

int
hm_pair_derive(const unsigned char sk[HM_X25519_LEN],
    const unsigned char peer_pk[HM_X25519_LEN], const unsigned char *commit,
    size_t commitlen, const unsigned char *accept, size_t acceptlen,
    const unsigned char *reveal, size_t reveallen, struct hm_pair_out *out,
    hm_err *err)
{
	static const unsigned char	 zero[HM_X25519_LEN];
	EVP_PKEY			*priv = NULL, *peer = NULL;
	EVP_PKEY_CTX			*ctx = NULL;
	struct hm_pair_out		 o;
	unsigned char			 z[HM_X25519_LEN], th[32];
	unsigned char			 okm[OKMLEN];
	uint64_t			 v = 0;
	size_t				 zlen = sizeof(z), i;
	int				 rc = HM_E_INTERNAL;

	memset(z, 0, sizeof(z));
	memset(okm, 0, sizeof(okm));
	memset(&o, 0, sizeof(o));
	if (commit == NULL || accept == NULL || reveal == NULL)
		return hm_seterr(err, HM_E_INVALID, "a pairing message is "
		    "missing");
	if (commitlen > HM_PAIR_MAX || acceptlen > HM_PAIR_MAX ||
	    reveallen > HM_PAIR_MAX)
		return hm_seterr(err, HM_E_TOOBIG, "a pairing message is over "
		    "%d bytes", HM_PAIR_MAX);
	if ((priv = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, sk,
	    HM_X25519_LEN)) == NULL ||
	    (peer = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, peer_pk,
	    HM_X25519_LEN)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_pkey(NULL, priv, NULL)) == NULL ||
	    EVP_PKEY_derive_init(ctx) != 1) {
		rc = hm_seterr_ssl(err, HM_E_INTERNAL, "X25519");
		goto out;
	}
	/*
	 * OpenSSL refuses a shared secret of all zeros (a peer key of small
	 * order) itself; the check below says so whatever the version.
	 */
	if (EVP_PKEY_derive_set_peer(ctx, peer) != 1 ||
	    EVP_PKEY_derive(ctx, z, &zlen) != 1) {
		rc = hm_seterr_ssl(err, HM_E_INVALID, "X25519 with the other "
		    "side's key gives no shared secret (a key of small "
		    "order?)");
		goto out;
	}
	if (zlen != sizeof(z)) {
		rc = hm_seterr(err, HM_E_INTERNAL, "X25519 gave %zu bytes",
		    zlen);
		goto out;
	}
	if (CRYPTO_memcmp(z, zero, sizeof(z)) == 0) {
		rc = hm_seterr(err, HM_E_INVALID, "X25519 with the other "
		    "side's key gives all zeros (a key of small order)");
		goto out;
	}
	if ((rc = transcript(commit, commitlen, accept, acceptlen, reveal,
	    reveallen, th, err)) != HM_OK)
		goto out;
	if ((rc = hm_hkdf_sha256(z, sizeof(z), th, sizeof(th),
	    (const unsigned char *)okm_label, sizeof(okm_label) - 1, okm,
	    sizeof(okm), err)) != HM_OK)
		goto out;
	memcpy(o.psk, okm, HM_PSK_LEN);
	memcpy(o.psk_id, okm + HM_PSK_LEN, HM_PSK_ID_LEN);
	for (i = 0; i < 8; i++)
		v = v << 8 | okm[SAS_OFF + i];
	/* 2^64 mod 10^6 is small: the bias is under 10^-13. */
	snprintf(o.sas, sizeof(o.sas), "%06u", (unsigned)(v % SAS_MOD));
	*out = o;
	rc = HM_OK;
 out:
	OPENSSL_cleanse(z, sizeof(z));
	OPENSSL_cleanse(okm, sizeof(okm));
	OPENSSL_cleanse(&o, sizeof(o));
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(peer);
	EVP_PKEY_free(priv);
	return rc;
}

/* ---- The initiator ------------------------------------------------------ */

int
hm_pair_new(const char *name, hm_profile_id profile, hm_pair **out,
    hm_err *err)
{
	struct hm_pair_commit	 c;
	hm_pair			*p;
	size_t			 nlen;
	int			 rc;

	memset(&c, 0, sizeof(c));
	if (name == NULL || (nlen = strnlen(name, sizeof(c.name))) == 0 ||
	    nlen > NAME_MAX_LEN)
		return hm_seterr(err, HM_E_INVALID, "a pairing's name is 1 to "
		    "%d bytes", NAME_MAX_LEN);
	memcpy(c.name, name, nlen);
	c.profile = profile;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return hm_seterr(err, HM_E_NOMEM, "out of memory");
	if ((rc = hm_pair_keygen(p->sk, p->pk, err)) != HM_OK)
		goto out;
	if (RAND_bytes(p->nonce, sizeof(p->nonce)) != 1) {
		rc = hm_seterr_ssl(err, HM_E_INTERNAL, "random");
		goto out;
	}
	if ((rc = hm_pair_commitment(p->pk, p->nonce, c.commitment, err)) !=
	    HM_OK)
		goto out;
	if ((rc = hm_pair_commit_encode(&c, &p->commit, &p->commitlen,
	    err)) != HM_OK)
		goto out;
	*out = p;
	p = NULL;
 out:
	hm_pair_free(p);
	return rc;
}

const unsigned char *
hm_pair_commit_msg(const hm_pair *p, size_t *len)
{
	*len = p->commitlen;
	return p->commit;
}

int
hm_pair_accepted(hm_pair *p, const unsigned char *accept, size_t len,
    hm_err *err)
{
	struct hm_pair_accept	 a;
	struct hm_pair_reveal	 r;
	struct hm_pair_out	 o;
	unsigned char		*reveal = NULL, *status = NULL;
	size_t			 reveallen, statuslen;
	int			 rc;

	if (p->accepted)
		return hm_seterr(err, HM_E_INVALID, "this pairing took an "
		    "accept already");
	if ((rc = hm_pair_accept_decode(accept, len, &a, err)) != HM_OK)
		return rc;
	memcpy(r.id, a.id, sizeof(r.id));
	memcpy(r.pk_i, p->pk, sizeof(r.pk_i));
	memcpy(r.nonce_i, p->nonce, sizeof(r.nonce_i));
	if ((rc = hm_pair_reveal_encode(&r, &reveal, &reveallen, err)) !=
	    HM_OK ||
	    (rc = hm_pair_id_encode("HMPS", a.id, &status, &statuslen,
	    err)) != HM_OK)
		goto out;
	if ((rc = hm_pair_derive(p->sk, a.pk_r, p->commit, p->commitlen,
	    accept, len, reveal, reveallen, &o, err)) != HM_OK)
		goto out;
	p->reveal = reveal;
	p->reveallen = reveallen;
	p->status = status;
	p->statuslen = statuslen;
	reveal = status = NULL;
	p->out = o;
	p->accepted = 1;
	/* The private key has done its work: forget it now. */
	OPENSSL_cleanse(p->sk, sizeof(p->sk));
 out:
	OPENSSL_cleanse(&o, sizeof(o));
	free(reveal);
	free(status);
	return rc;
}

const unsigned char *
hm_pair_reveal_msg(const hm_pair *p, size_t *len)
{
	*len = p->reveallen;
	return p->reveal;
}

const unsigned char *
hm_pair_status_msg(const hm_pair *p, size_t *len)
{
	*len = p->statuslen;
	return p->status;
}

const char *
hm_pair_code(const hm_pair *p)
{
	return p->accepted ? p->out.sas : "";
}

int
hm_pair_state(const unsigned char *body, size_t len, int *state,
    hm_err *err)
{
	return hm_pair_state_decode(body, len, state, err);
}

int
hm_pair_enroll_new(const hm_pair *p, const hm_csr *csr, hm_enroll **out,
    hm_err *err)
{
	char	token[HM_TOKEN_LEN + 1];
	int	rc;

	if (!p->accepted)
		return hm_seterr(err, HM_E_INVALID, "the pairing has no key "
		    "yet (no accept taken)");
	if (hm_token_format(p->out.psk_id, p->out.psk, token) != HM_OK)
		return hm_seterr_ssl(err, HM_E_INTERNAL, "token");
	rc = hm_enroll_new(token, csr, out, err);
	OPENSSL_cleanse(token, sizeof(token));
	return rc;
}

void
hm_pair_free(hm_pair *p)
{
	if (p == NULL)
		return;
	free(p->commit);
	free(p->reveal);
	free(p->status);
	OPENSSL_cleanse(p, sizeof(*p));
	free(p);
}

/*
 * The code as words: each pair of digits names one of 100 short, common
 * words that do not share their first three letters, so that a code read
 * aloud or typed from a screen is hard to get wrong.
 */
static const char *const code_words[100] = {
	"acorn", "anchor", "apple", "arrow", "badge", "bamboo", "banjo",
	"barrel", "beacon", "bicycle", "blanket", "bottle", "bridge",
	"bucket", "button", "cabin", "camel", "cactus", "candle", "carpet",
	"castle", "cedar", "cherry", "circle", "cliff", "clover", "cobra",
	"comet", "copper", "coral", "cotton", "crayon", "cricket", "crystal",
	"dolphin", "dragon", "drum", "eagle", "ember", "engine", "falcon",
	"feather", "fiddle", "forest", "fossil", "fountain", "garden",
	"ginger", "glacier", "globe", "granite", "guitar", "hammer", "harbor",
	"hazel", "helmet", "honey", "horizon", "island", "ivory", "jacket",
	"jaguar", "jungle", "kettle", "kiwi", "ladder", "lantern", "lemon",
	"lizard", "magnet", "maple", "marble", "meadow", "mirror", "monkey",
	"mountain", "napkin", "needle", "nutmeg", "ocean", "olive", "orange",
	"otter", "paddle", "panda", "pebble", "pepper", "pilot", "planet",
	"pocket", "puzzle", "quartz", "rabbit", "raven", "river", "rocket",
	"saddle", "salmon", "thunder", "violin",
};

int
hm_pair_code_words(const char *code, char *out, size_t len)
{
	size_t	i;
	int	n;

	for (i = 0; i < 6; i++)
		if (code[i] < '0' || code[i] > '9')
			return HM_E_INVALID;
	if (code[6] != '\0')
		return HM_E_INVALID;
	n = snprintf(out, len, "%s-%s-%s",
	    code_words[(code[0] - '0') * 10 + (code[1] - '0')],
	    code_words[(code[2] - '0') * 10 + (code[3] - '0')],
	    code_words[(code[4] - '0') * 10 + (code[5] - '0')]);
	return n < 0 || (size_t)n >= len ? HM_E_TOOBIG : HM_OK;
}

int
hm_pair_code_parse(const char *typed, char code[7])
{
	char	 w[16];
	size_t	 i, k, n = 0, d = 0;
	int	 j;

	if (typed == NULL)
		return HM_E_INVALID;
	/* Six digits, with spaces anywhere. */
	for (i = 0; typed[i] != '\0'; i++) {
		if (typed[i] == ' ')
			continue;
		if (typed[i] < '0' || typed[i] > '9' || d >= 6)
			break;
		code[d++] = typed[i];
	}
	if (typed[i] == '\0' && d == 6) {
		code[6] = '\0';
		return HM_OK;
	}
	/* Three words, apart by spaces or hyphens, in any case. */
	for (i = 0, d = 0; d < 6; ) {
		while (typed[i] == ' ' || typed[i] == '-')
			i++;
		for (k = 0; typed[i] != '\0' && typed[i] != ' ' &&
		    typed[i] != '-'; i++) {
			if (k + 1 >= sizeof(w))
				return HM_E_INVALID;
			w[k++] = (char)(typed[i] >= 'A' && typed[i] <= 'Z' ?
			    typed[i] + ('a' - 'A') : typed[i]);
		}
		w[k] = '\0';
		if (k == 0)
			return HM_E_INVALID;
		for (j = 0; j < 100 && strcmp(w, code_words[j]) != 0; j++)
			;
		if (j == 100)
			return HM_E_INVALID;
		code[d++] = (char)('0' + j / 10);
		code[d++] = (char)('0' + j % 10);
		n++;
	}
	while (typed[i] == ' ' || typed[i] == '-')
		i++;
	if (typed[i] != '\0' || n != 3)
		return HM_E_INVALID;
	code[6] = '\0';
	return HM_OK;
}
