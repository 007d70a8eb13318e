/*
 * lib/pair.c: the test vectors of docs/PROTOCOL.md section 2.5 (made with
 * an independent implementation and checked here byte for byte); the
 * codec's round trips and every rule of its strictness; bit flips; both
 * sides deriving the same PSK and code; a man in the middle ending with
 * two different codes; commitments that do not match; keys of small
 * order; and the enrollment a pairing allows.
 *
 * With HM_PAIR_CORPUS=DIR set, test_corpus writes the seed corpus of
 * fuzz/pair.c to DIR.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include "testutil.h"

/* ---- The vectors of docs/PROTOCOL.md section 2.5 ----------------------- */

/* sk_i 00..1f, sk_r 20..3f, nonce_i 40..5f, nonce_r 60..7f, id a0..af. */
static unsigned char	v_sk_i[32], v_sk_r[32], v_ni[32], v_nr[32], v_id[16];

#define V_NAME		"node-1"
#define V_PK_I \
	"8f40c5adb68f25624ae5b214ea767a6ec94d829d3d7b5e1ad1ba6f3e2138285f"
#define V_PK_R \
	"358072d6365880d1aeea329adf9121383851ed21a28e3b75e965d0d2cd166254"
#define V_COMMITMENT \
	"48cb1160822725b04aa7331d79e5fd3a0bdc8aa806e5338bf5aa2ba4aa915b55"
#define V_COMMIT \
	"484d5043011000066e6f64652d31110006636c69656e7412002048cb11608227" \
	"25b04aa7331d79e5fd3a0bdc8aa806e5338bf5aa2ba4aa915b55"
#define V_ACCEPT \
	"484d504101130010a0a1a2a3a4a5a6a7a8a9aaabacadaeaf140020358072d636" \
	"5880d1aeea329adf9121383851ed21a28e3b75e965d0d2cd1662541500206061" \
	"62636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
#define V_REVEAL \
	"484d505601130010a0a1a2a3a4a5a6a7a8a9aaabacadaeaf1600208f40c5adb6" \
	"8f25624ae5b214ea767a6ec94d829d3d7b5e1ad1ba6f3e2138285f1700204041" \
	"42434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
#define V_REVEALED	"484d504401130010a0a1a2a3a4a5a6a7a8a9aaabacadaeaf"
#define V_STATUS	"484d505301130010a0a1a2a3a4a5a6a7a8a9aaabacadaeaf"
#define V_STATE		"484d50540118000101"
#define V_Z \
	"9663aa1da97e848a914a436d04163dfbb89178f107f1b5b77ed3854203382854"
#define V_TH \
	"b6eb13d704ddb426b83a9e0ec8d967d3fdccc57d1a7e70a71578ccd247b798cd"
#define V_PSK \
	"74076a54afe3445670c93b4cbff29c23f87afc36a2c0b6230dcfdd9341e238b8"
#define V_PSK_ID	"062ee7bd25ceb6438391"
#define V_SAS		"817647"

/* ---- helpers ------------------------------------------------------------ */

static void
unhex_to(const char *hex, unsigned char *out, size_t n)
{
	unsigned char	*b;
	size_t		 len;

	b = tu_unhex(hex, &len);
	assert_int_equal(len, n);
	memcpy(out, b, n);
	free(b);
}

/* The X25519 public key of sk, computed by OpenSSL directly. */
static void
pk_of(const unsigned char sk[32], unsigned char pk[32])
{
	EVP_PKEY	*k;
	size_t		 len = 32;

	assert_non_null(k = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519,
	    NULL, sk, 32));
	assert_int_equal(EVP_PKEY_get_raw_public_key(k, pk, &len), 1);
	assert_int_equal(len, 32);
	EVP_PKEY_free(k);
}

/* 32 bytes that are a function of label and i: reproducible "fresh" keys. */
static void
det(const char *label, unsigned long i, unsigned char out[32])
{
	char	buf[64];
	int	n;

	n = snprintf(buf, sizeof(buf), "%s %lu", label, i);
	assert_true(n > 0 && (size_t)n < sizeof(buf));
	assert_int_equal(EVP_Digest(buf, (size_t)n, out, NULL, EVP_sha256(),
	    NULL), 1);
}

/* The six kinds of message and their one decoder each. */
enum kind { COMMIT, ACCEPT, REVEAL, REVEALED, STATUS, STATE, NKINDS };

union msg {
	struct hm_pair_commit	 c;
	struct hm_pair_accept	 a;
	struct hm_pair_reveal	 r;
	unsigned char		 id[HM_PAIR_ID_LEN];
	int			 state;
};

static int
decode(enum kind k, const unsigned char *b, size_t len, union msg *m)
{
	hm_err	err;
	int	rc = HM_E_INTERNAL;

	memset(m, 0, sizeof(*m));
	switch (k) {
	case COMMIT:
		rc = hm_pair_commit_decode(b, len, &m->c, &err);
		break;
	case ACCEPT:
		rc = hm_pair_accept_decode(b, len, &m->a, &err);
		break;
	case REVEAL:
		rc = hm_pair_reveal_decode(b, len, &m->r, &err);
		break;
	case REVEALED:
		rc = hm_pair_id_decode("HMPD", b, len, m->id, &err);
		break;
	case STATUS:
		rc = hm_pair_id_decode("HMPS", b, len, m->id, &err);
		break;
	case STATE:
		rc = hm_pair_state_decode(b, len, &m->state, &err);
		break;
	default:
		fail();
	}
	if (rc != HM_OK)
		assert_true(strlen(err.msg) > 0);
	return rc;
}

/* Decode a heap copy of exactly len bytes. */
static int
decode_copy(enum kind k, const unsigned char *b, size_t len, union msg *m)
{
	unsigned char	*c = tu_copy(b, len);
	int		 rc;

	rc = decode(k, c, len, m);
	free(c);
	return rc;
}

static int
msg_equal(enum kind k, const union msg *x, const union msg *y)
{
	switch (k) {
	case COMMIT:
		return strcmp(x->c.name, y->c.name) == 0 &&
		    x->c.profile == y->c.profile &&
		    memcmp(x->c.commitment, y->c.commitment, 32) == 0;
	case ACCEPT:
		return memcmp(&x->a, &y->a, sizeof(x->a)) == 0;
	case REVEAL:
		return memcmp(&x->r, &y->r, sizeof(x->r)) == 0;
	case REVEALED:
	case STATUS:
		return memcmp(x->id, y->id, HM_PAIR_ID_LEN) == 0;
	case STATE:
		return x->state == y->state;
	default:
		fail();
	}
	return 0;
}

/* Encode m as a message of kind k. */
static unsigned char *
encode(enum kind k, const union msg *m, size_t *len)
{
	unsigned char	*b = NULL;
	hm_err		 err;

	switch (k) {
	case COMMIT:
		HM_CHECK(hm_pair_commit_encode(&m->c, &b, len, &err), &err);
		break;
	case ACCEPT:
		HM_CHECK(hm_pair_accept_encode(&m->a, &b, len, &err), &err);
		break;
	case REVEAL:
		HM_CHECK(hm_pair_reveal_encode(&m->r, &b, len, &err), &err);
		break;
	case REVEALED:
		HM_CHECK(hm_pair_id_encode("HMPD", m->id, &b, len, &err), &err);
		break;
	case STATUS:
		HM_CHECK(hm_pair_id_encode("HMPS", m->id, &b, len, &err), &err);
		break;
	case STATE:
		HM_CHECK(hm_pair_state_encode(m->state, &b, len, &err), &err);
		break;
	default:
		fail();
	}
	return b;
}

static const char *const vector_hex[NKINDS] = {
	V_COMMIT, V_ACCEPT, V_REVEAL, V_REVEALED, V_STATUS, V_STATE,
};

/* The messages of the vectors, as values. */
static void
vector_msg(enum kind k, union msg *m)
{
	memset(m, 0, sizeof(*m));
	switch (k) {
	case COMMIT:
		memcpy(m->c.name, V_NAME, sizeof(V_NAME));
		m->c.profile = HM_PROFILE_CLIENT;
		unhex_to(V_COMMITMENT, m->c.commitment, 32);
		break;
	case ACCEPT:
		memcpy(m->a.id, v_id, 16);
		unhex_to(V_PK_R, m->a.pk_r, 32);
		memcpy(m->a.nonce_r, v_nr, 32);
		break;
	case REVEAL:
		memcpy(m->r.id, v_id, 16);
		unhex_to(V_PK_I, m->r.pk_i, 32);
		memcpy(m->r.nonce_i, v_ni, 32);
		break;
	case REVEALED:
	case STATUS:
		memcpy(m->id, v_id, 16);
		break;
	case STATE:
		m->state = HM_PAIR_APPROVED;
		break;
	default:
		fail();
	}
}

static int
setup(void **state)
{
	size_t	i;

	(void)state;
	for (i = 0; i < 32; i++) {
		v_sk_i[i] = (unsigned char)i;
		v_sk_r[i] = (unsigned char)(0x20 + i);
		v_ni[i] = (unsigned char)(0x40 + i);
		v_nr[i] = (unsigned char)(0x60 + i);
	}
	for (i = 0; i < 16; i++)
		v_id[i] = (unsigned char)(0xa0 + i);
	return 0;
}

/* ---- Vectors ------------------------------------------------------------ */

static void
test_vectors(void **state)
{
	struct hm_pair_out	 oi, or;
	union msg		 m, d;
	unsigned char		 pk_i[32], pk_r[32], cm[32], *b[NKINDS];
	size_t			 len[NKINDS];
	hm_err			 err;
	int			 k;

	(void)state;
	pk_of(v_sk_i, pk_i);
	pk_of(v_sk_r, pk_r);
	tu_assert_hex(pk_i, 32, V_PK_I);
	tu_assert_hex(pk_r, 32, V_PK_R);
	HM_CHECK(hm_pair_commitment(pk_i, v_ni, cm, &err), &err);
	tu_assert_hex(cm, 32, V_COMMITMENT);
	for (k = 0; k < NKINDS; k++) {
		vector_msg(k, &m);
		b[k] = encode(k, &m, &len[k]);
		tu_assert_hex(b[k], len[k], vector_hex[k]);
		assert_int_equal(decode_copy(k, b[k], len[k], &d), HM_OK);
		assert_true(msg_equal(k, &m, &d));
	}
	/* Each side with its own key and the other's public key. */
	HM_CHECK(hm_pair_derive(v_sk_i, pk_r, b[COMMIT], len[COMMIT],
	    b[ACCEPT], len[ACCEPT], b[REVEAL], len[REVEAL], &oi, &err), &err);
	HM_CHECK(hm_pair_derive(v_sk_r, pk_i, b[COMMIT], len[COMMIT],
	    b[ACCEPT], len[ACCEPT], b[REVEAL], len[REVEAL], &or, &err), &err);
	tu_assert_hex(oi.psk, HM_PSK_LEN, V_PSK);
	tu_assert_hex(oi.psk_id, HM_PSK_ID_LEN, V_PSK_ID);
	assert_string_equal(oi.sas, V_SAS);
	assert_memory_equal(&oi, &or, sizeof(oi));
	for (k = 0; k < NKINDS; k++)
		free(b[k]);
}

/* z, th and okm again with OpenSSL called directly, not lib/pair.c. */
static void
test_vectors_raw(void **state)
{
	EVP_PKEY	*a, *p;
	EVP_PKEY_CTX	*ctx;
	EVP_MD_CTX	*md;
	EVP_KDF		*kdf;
	EVP_KDF_CTX	*kctx;
	OSSL_PARAM	 params[5];
	unsigned char	 pk_r[32], z[32], th[32], okm[50], *b;
	size_t		 zlen = 32, len;
	unsigned long long v = 0;
	char		 sas[7];
	int		 i;

	(void)state;
	pk_of(v_sk_r, pk_r);
	assert_non_null(a = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519,
	    NULL, v_sk_i, 32));
	assert_non_null(p = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519,
	    NULL, pk_r, 32));
	assert_non_null(ctx = EVP_PKEY_CTX_new(a, NULL));
	assert_int_equal(EVP_PKEY_derive_init(ctx), 1);
	assert_int_equal(EVP_PKEY_derive_set_peer(ctx, p), 1);
	assert_int_equal(EVP_PKEY_derive(ctx, z, &zlen), 1);
	tu_assert_hex(z, 32, V_Z);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(a);
	EVP_PKEY_free(p);

	assert_non_null(md = EVP_MD_CTX_new());
	assert_int_equal(EVP_DigestInit_ex(md, EVP_sha256(), NULL), 1);
	b = tu_unhex(V_COMMIT, &len);
	assert_int_equal(EVP_DigestUpdate(md, b, len), 1);
	free(b);
	b = tu_unhex(V_ACCEPT, &len);
	assert_int_equal(EVP_DigestUpdate(md, b, len), 1);
	free(b);
	b = tu_unhex(V_REVEAL, &len);
	assert_int_equal(EVP_DigestUpdate(md, b, len), 1);
	free(b);
	assert_int_equal(EVP_DigestFinal_ex(md, th, NULL), 1);
	EVP_MD_CTX_free(md);
	tu_assert_hex(th, 32, V_TH);

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
	    (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, z,
	    32);
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, th,
	    32);
	params[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
	    (char *)"hallmark pair v1", 16);
	params[4] = OSSL_PARAM_construct_end();
	assert_non_null(kdf = EVP_KDF_fetch(NULL, "HKDF", NULL));
	assert_non_null(kctx = EVP_KDF_CTX_new(kdf));
	assert_int_equal(EVP_KDF_derive(kctx, okm, sizeof(okm), params), 1);
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
	tu_assert_hex(okm, 32, V_PSK);
	tu_assert_hex(okm + 32, 10, V_PSK_ID);
	for (i = 42; i < 50; i++)
		v = v << 8 | okm[i];
	snprintf(sas, sizeof(sas), "%06llu", v % 1000000);
	assert_string_equal(sas, V_SAS);
}

/* ---- The codec ---------------------------------------------------------- */

static void
test_roundtrip(void **state)
{
	static const hm_profile_id	 profiles[] = {
		HM_PROFILE_SERVER, HM_PROFILE_CLIENT, HM_PROFILE_BOTH,
	};
	static const char *const	 names[] = {
		"a", "node-1", "n\xc5\x93ud.example",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	};
	union msg	 m, d;
	unsigned char	*b;
	size_t		 len, i, j;
	int		 k, s;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		for (j = 0; j < 3; j++) {
			memset(&m, 0, sizeof(m));
			assert_true(strlen(names[i]) < sizeof(m.c.name));
			memcpy(m.c.name, names[i], strlen(names[i]) + 1);
			m.c.profile = profiles[j];
			det("commitment", i * 3 + j, m.c.commitment);
			b = encode(COMMIT, &m, &len);
			assert_int_equal(len, 5 + 3 + strlen(names[i]) + 3 +
			    strlen(hm_profile_name(profiles[j])) + 3 + 32);
			assert_int_equal(decode_copy(COMMIT, b, len, &d),
			    HM_OK);
			assert_true(msg_equal(COMMIT, &m, &d));
			free(b);
		}
	for (k = ACCEPT; k <= STATUS; k++)
		for (i = 0; i < 8; i++) {
			unsigned char	r[96];

			det("values", i, r);
			det("values more", i, r + 32);
			det("values most", i, r + 64);
			memset(&m, 0, sizeof(m));
			if (k == ACCEPT) {
				memcpy(m.a.id, r, 16);
				memcpy(m.a.pk_r, r + 16, 32);
				memcpy(m.a.nonce_r, r + 48, 32);
			} else if (k == REVEAL) {
				memcpy(m.r.id, r, 16);
				memcpy(m.r.pk_i, r + 16, 32);
				memcpy(m.r.nonce_i, r + 48, 32);
			} else
				memcpy(m.id, r, 16);
			b = encode(k, &m, &len);
			assert_int_equal(len, k == ACCEPT || k == REVEAL ? 94 :
			    24);
			assert_int_equal(decode_copy(k, b, len, &d), HM_OK);
			assert_true(msg_equal(k, &m, &d));
			free(b);
		}
	for (s = HM_PAIR_WAITING; s <= HM_PAIR_ENDED; s++) {
		m.state = s;
		b = encode(STATE, &m, &len);
		assert_int_equal(len, 9);
		assert_int_equal(decode_copy(STATE, b, len, &d), HM_OK);
		assert_int_equal(d.state, s);
		free(b);
	}
}

/* One item of a hand-made body: a string value, or len bytes of fill. */
struct bitem {
	unsigned	 tag;
	const char	*s;
	size_t		 len;
};

#define MAXITEMS	8

/* magic, version, then the items: a heap buffer of exactly *len bytes. */
static unsigned char *
mk(const char *magic, unsigned version, const struct bitem *v, size_t n,
    size_t *len)
{
	unsigned char	*b, *p;
	size_t		 i, blen = 5, vlen;

	for (i = 0; i < n; i++)
		blen += 3 + (v[i].s != NULL ? strlen(v[i].s) : v[i].len);
	assert_non_null(b = malloc(blen));
	memcpy(b, magic, 4);
	b[4] = (unsigned char)version;
	p = b + 5;
	for (i = 0; i < n; i++) {
		vlen = v[i].s != NULL ? strlen(v[i].s) : v[i].len;
		p[0] = (unsigned char)v[i].tag;
		p[1] = (unsigned char)(vlen >> 8);
		p[2] = (unsigned char)vlen;
		if (v[i].s != NULL)
			memcpy(p + 3, v[i].s, vlen);
		else
			memset(p + 3, 0xa5, vlen);
		p += 3 + vlen;
	}
	*len = blen;
	return b;
}

static int
try(enum kind k, const char *magic, unsigned version, const struct bitem *v,
    size_t n)
{
	union msg	 m;
	unsigned char	*b;
	size_t		 len;
	int		 rc;

	b = mk(magic, version, v, n, &len);
	rc = decode(k, b, len, &m);
	free(b);
	return rc;
}

static const char *const magics[NKINDS] = {
	"HMPC", "HMPA", "HMPV", "HMPD", "HMPS", "HMPT",
};

/* The valid items of each kind. */
static size_t
valid_items(enum kind k, struct bitem *v)
{
	switch (k) {
	case COMMIT:
		v[0] = (struct bitem){ 0x10, "node-1", 0 };
		v[1] = (struct bitem){ 0x11, "both", 0 };
		v[2] = (struct bitem){ 0x12, NULL, 32 };
		return 3;
	case ACCEPT:
		v[0] = (struct bitem){ 0x13, NULL, 16 };
		v[1] = (struct bitem){ 0x14, NULL, 32 };
		v[2] = (struct bitem){ 0x15, NULL, 32 };
		return 3;
	case REVEAL:
		v[0] = (struct bitem){ 0x13, NULL, 16 };
		v[1] = (struct bitem){ 0x16, NULL, 32 };
		v[2] = (struct bitem){ 0x17, NULL, 32 };
		return 3;
	case REVEALED:
	case STATUS:
		v[0] = (struct bitem){ 0x13, NULL, 16 };
		return 1;
	case STATE:
		v[0] = (struct bitem){ 0x18, "\x02", 0 };
		return 1;
	default:
		fail();
	}
	return 0;
}

/* Every rule of section 1.5 and 2.1, for every kind of message. */
static void
test_strict(void **state)
{
	struct bitem	 v[MAXITEMS], w[MAXITEMS];
	union msg	 m;
	unsigned char	*b, *big;
	size_t		 n, i, j, len;
	unsigned	 t;
	int		 k, o;

	(void)state;
	for (k = 0; k < NKINDS; k++) {
		n = valid_items(k, v);
		assert_int_equal(try(k, magics[k], 1, v, n), HM_OK);
		/* The magic of every other kind, and none. */
		for (o = 0; o < NKINDS; o++)
			if (o != k)
				assert_int_equal(try(k, magics[o], 1, v, n),
				    HM_E_INVALID);
		assert_int_equal(try(k, "HMRQ", 1, v, n), HM_E_INVALID);
		assert_int_equal(try(k, "hmpc", 1, v, n), HM_E_INVALID);
		/* Versions. */
		assert_int_equal(try(k, magics[k], 0, v, n), HM_E_INVALID);
		assert_int_equal(try(k, magics[k], 2, v, n), HM_E_INVALID);
		assert_int_equal(try(k, magics[k], 0x81, v, n), HM_E_INVALID);
		/* No items. */
		assert_int_equal(try(k, magics[k], 1, v, 0), HM_E_INVALID);
		for (i = 0; i < n; i++) {
			/* Missing. */
			for (j = 0; j < n - 1; j++)
				w[j] = v[j < i ? j : j + 1];
			assert_int_equal(try(k, magics[k], 1, w, n - 1),
			    HM_E_INVALID);
			/* Repeated. */
			for (j = 0; j <= n; j++)
				w[j] = v[j <= i ? j : j - 1];
			assert_int_equal(try(k, magics[k], 1, w, n + 1),
			    HM_E_INVALID);
			/* Empty. */
			memcpy(w, v, n * sizeof(*v));
			w[i] = (struct bitem){ v[i].tag, NULL, 0 };
			assert_int_equal(try(k, magics[k], 1, w, n),
			    HM_E_INVALID);
			/* One byte short, one byte long. */
			len = v[i].s != NULL ? strlen(v[i].s) : v[i].len;
			if (k != COMMIT || i == 2) {
				w[i] = (struct bitem){ v[i].tag, NULL,
				    len - 1 };
				assert_int_equal(try(k, magics[k], 1, w, n),
				    HM_E_INVALID);
				w[i] = (struct bitem){ v[i].tag, NULL,
				    len + 1 };
				assert_int_equal(try(k, magics[k], 1, w, n),
				    HM_E_INVALID);
			}
			/* Another tag in its place. */
			for (t = 0; t < 256; t++) {
				memcpy(w, v, n * sizeof(*v));
				w[i].tag = t;
				if (t == v[i].tag)
					continue;
				assert_int_equal(try(k, magics[k], 1, w, n),
				    HM_E_INVALID);
			}
		}
		/* Out of order: every swap of two. */
		for (i = 0; i < n; i++)
			for (j = i + 1; j < n; j++) {
				memcpy(w, v, n * sizeof(*v));
				w[i] = v[j];
				w[j] = v[i];
				assert_int_equal(try(k, magics[k], 1, w, n),
				    HM_E_INVALID);
			}
		/* Any item more, known to another message or not. */
		for (t = 0; t < 256; t++) {
			memcpy(w, v, n * sizeof(*v));
			w[n] = (struct bitem){ t, NULL, 4 };
			assert_int_equal(try(k, magics[k], 1, w, n + 1),
			    HM_E_INVALID);
			w[0] = (struct bitem){ t, NULL, 4 };
			memcpy(w + 1, v, n * sizeof(*v));
			assert_int_equal(try(k, magics[k], 1, w, n + 1),
			    HM_E_INVALID);
		}
		/* Trailing bytes, and every truncation. */
		b = mk(magics[k], 1, v, n, &len);
		assert_non_null(big = malloc(HM_PAIR_MAX + 1));
		memcpy(big, b, len);
		for (i = 1; i <= 3; i++) {
			memset(big + len, 0, i);
			assert_int_equal(decode_copy(k, big, len + i, &m),
			    HM_E_INVALID);
		}
		for (i = 0; i < len; i++)
			assert_int_equal(decode_copy(k, b, i, &m),
			    HM_E_INVALID);
		/* At the cap: malformed; over it: too big. */
		memset(big + len, 0, HM_PAIR_MAX + 1 - len);
		assert_int_equal(decode(k, big, HM_PAIR_MAX, &m),
		    HM_E_INVALID);
		assert_int_equal(decode(k, big, HM_PAIR_MAX + 1, &m),
		    HM_E_TOOBIG);
		assert_int_equal(decode(k, big, (size_t)-1, &m), HM_E_TOOBIG);
		free(big);
		free(b);
		assert_int_equal(decode(k, NULL, 0, &m), HM_E_INVALID);
	}
}

static void
test_strict_values(void **state)
{
	static const char *const bad_words[] = {
		"Client", "CLIENT", "clien", "clientx", "root", "ocsp",
		"custom", "none", "intermediate", "bot", "both ", " both",
		"server\xff",
	};
	static const char *const bad_names[] = {
		"\x01node", "no\x7f" "de", " node", "node ", "\xff\xfe",
		"\xc0\xaf", "\xed\xa0\x80", "\xc2\x85",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	};
	struct bitem	 v[MAXITEMS];
	union msg	 m;
	unsigned char	*b;
	size_t		 i, len;

	(void)state;
	valid_items(COMMIT, v);
	for (i = 0; i < sizeof(bad_words) / sizeof(bad_words[0]); i++) {
		v[1].s = bad_words[i];
		assert_int_equal(try(COMMIT, "HMPC", 1, v, 3), HM_E_INVALID);
	}
	v[1].s = "server";
	assert_int_equal(try(COMMIT, "HMPC", 1, v, 3), HM_OK);
	v[1].s = "client";
	assert_int_equal(try(COMMIT, "HMPC", 1, v, 3), HM_OK);
	for (i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		v[0].s = bad_names[i];
		assert_int_equal(try(COMMIT, "HMPC", 1, v, 3), HM_E_INVALID);
	}
	/* A NUL inside the name, which a C string would cut short. */
	valid_items(COMMIT, v);
	b = mk("HMPC", 1, v, 3, &len);
	b[5 + 3 + 2] = '\0';
	assert_int_equal(decode_copy(COMMIT, b, len, &m), HM_E_INVALID);
	b[5 + 3 + 2] = 'x';
	assert_int_equal(decode_copy(COMMIT, b, len, &m), HM_OK);
	assert_string_equal(m.c.name, "noxe-1");
	free(b);
	/* The profile word with a NUL. */
	b = mk("HMPC", 1, v, 3, &len);
	b[5 + 3 + 6 + 3 + 3] = '\0';		/* "bot\0" */
	assert_int_equal(decode_copy(COMMIT, b, len, &m), HM_E_INVALID);
	free(b);
	/* State values. */
	valid_items(STATE, v);
	for (i = 0; i < 256; i++) {
		b = mk("HMPT", 1, v, 1, &len);
		b[8] = (unsigned char)i;
		assert_int_equal(decode_copy(STATE, b, len, &m),
		    i <= 2 ? HM_OK : HM_E_INVALID);
		if (i <= 2)
			assert_int_equal(m.state, (int)i);
		free(b);
	}
}

/* Encoders refuse what decoders would. */
static void
test_encode_refusals(void **state)
{
	static const hm_profile_id	 bad[] = {
		HM_PROFILE_NONE, HM_PROFILE_ROOT, HM_PROFILE_INTERMEDIATE,
		HM_PROFILE_CUSTOM, HM_PROFILE_OCSP, (hm_profile_id)99,
	};
	struct hm_pair_commit	 c;
	unsigned char		*b = NULL, id[16] = { 0 };
	size_t			 len = 0, i;
	hm_err			 err;
	int			 s;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.profile = HM_PROFILE_SERVER;
	assert_int_equal(hm_pair_commit_encode(&c, &b, &len, &err),
	    HM_E_INVALID);
	memset(c.name, 'a', sizeof(c.name));		/* no NUL */
	assert_int_equal(hm_pair_commit_encode(&c, &b, &len, &err),
	    HM_E_INVALID);
	c.name[64] = '\0';
	HM_CHECK(hm_pair_commit_encode(&c, &b, &len, &err), &err);
	assert_int_equal(len, 5 + 3 + 64 + 3 + 6 + 3 + 32);
	free(b);
	b = NULL;
	len = 0;
	memcpy(c.name, " x", 3);
	assert_int_equal(hm_pair_commit_encode(&c, &b, &len, &err),
	    HM_E_INVALID);
	memcpy(c.name, "x", 2);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		c.profile = bad[i];
		assert_int_equal(hm_pair_commit_encode(&c, &b, &len, &err),
		    HM_E_INVALID);
	}
	for (s = -2; s < 6; s++)
		if (s < 0 || s > 2)
			assert_int_equal(hm_pair_state_encode(s, &b, &len,
			    &err), HM_E_INVALID);
	assert_int_equal(hm_pair_id_encode("HMPC", id, &b, &len, &err),
	    HM_E_INVALID);
	assert_int_equal(hm_pair_id_encode("HMPT", id, &b, &len, &err),
	    HM_E_INVALID);
	assert_int_equal(hm_pair_id_decode("HMPA", (const unsigned char *)
	    "HMPA", 4, id, &err), HM_E_INVALID);
	/* Nothing was written by a refusal. */
	assert_null(b);
	assert_int_equal(len, 0);
}

/* Every bit flipped: refused, or a different message; never the same. */
static void
test_bitflips(void **state)
{
	union msg	 orig, m;
	unsigned char	*b;
	size_t		 len, i, refused, other;
	int		 k, o, bit, rc;

	(void)state;
	for (k = 0; k < NKINDS; k++) {
		b = tu_unhex(vector_hex[k], &len);
		assert_int_equal(decode_copy(k, b, len, &orig), HM_OK);
		refused = other = 0;
		for (i = 0; i < len; i++)
			for (bit = 0; bit < 8; bit++) {
				b[i] ^= (unsigned char)(1 << bit);
				rc = decode_copy(k, b, len, &m);
				if (rc == HM_OK) {
					assert_false(msg_equal(k, &orig, &m));
					other++;
				} else {
					assert_int_equal(rc, HM_E_INVALID);
					refused++;
				}
				/* Never read as a message of another kind. */
				for (o = 0; o < NKINDS; o++)
					if (o != k)
						assert_int_equal(decode_copy(o,
						    b, len, &m), HM_E_INVALID);
				b[i] ^= (unsigned char)(1 << bit);
			}
		assert_int_equal(refused + other, 8 * len);
		/* The header and item headers are all refused. */
		assert_true(refused >= 8 * 5);
		free(b);
	}
}

/* ---- Both sides --------------------------------------------------------- */

/* The responder: a fresh key and nonce, and the accept body. */
struct responder {
	unsigned char		 sk[32], pk[32], nonce[32], id[16];
	struct hm_pair_commit	 commit;
	unsigned char		*commit_body, *accept;
	size_t			 commitlen, acceptlen;
};

static void
responder_accept(struct responder *r, const unsigned char *commit,
    size_t len)
{
	struct hm_pair_accept	 a;
	hm_err			 err;

	HM_CHECK(hm_pair_commit_decode(commit, len, &r->commit, &err), &err);
	r->commit_body = tu_copy(commit, len);
	r->commitlen = len;
	HM_CHECK(hm_pair_keygen(r->sk, r->pk, &err), &err);
	assert_int_equal(RAND_bytes(r->nonce, 32), 1);
	assert_int_equal(RAND_bytes(r->id, 16), 1);
	memcpy(a.id, r->id, 16);
	memcpy(a.pk_r, r->pk, 32);
	memcpy(a.nonce_r, r->nonce, 32);
	HM_CHECK(hm_pair_accept_encode(&a, &r->accept, &r->acceptlen, &err),
	    &err);
}

/* The responder on reveal: the commitment checked, then derive. */
static int
responder_reveal(struct responder *r, const unsigned char *reveal,
    size_t len, struct hm_pair_out *out)
{
	struct hm_pair_reveal	 v;
	unsigned char		 cm[32];
	hm_err			 err;
	int			 rc;

	if ((rc = hm_pair_reveal_decode(reveal, len, &v, &err)) != HM_OK)
		return rc;
	if (memcmp(v.id, r->id, 16) != 0)
		return HM_E_NOTFOUND;
	HM_CHECK(hm_pair_commitment(v.pk_i, v.nonce_i, cm, &err), &err);
	if (CRYPTO_memcmp(cm, r->commit.commitment, 32) != 0)
		return HM_E_SIGNATURE;
	return hm_pair_derive(r->sk, v.pk_i, r->commit_body, r->commitlen,
	    r->accept, r->acceptlen, reveal, len, out, &err);
}

static void
responder_free(struct responder *r)
{
	free(r->commit_body);
	free(r->accept);
	memset(r, 0, sizeof(*r));
}

static void
test_both_sides(void **state)
{
	struct responder	 r;
	struct hm_pair_out	 out;
	const unsigned char	*c, *v, *s;
	unsigned char		 id[16];
	size_t			 clen, vlen, slen;
	hm_pair			*p;
	hm_err			 err;
	int			 i;

	(void)state;
	for (i = 0; i < 20; i++) {
		memset(&r, 0, sizeof(r));
		HM_CHECK(hm_pair_new("node-1", HM_PROFILE_SERVER, &p, &err),
		    &err);
		assert_string_equal(hm_pair_code(p), "");
		assert_null(hm_pair_reveal_msg(p, &vlen));
		assert_int_equal(vlen, 0);
		assert_null(hm_pair_status_msg(p, &slen));
		c = hm_pair_commit_msg(p, &clen);
		responder_accept(&r, c, clen);
		assert_string_equal(r.commit.name, "node-1");
		assert_int_equal(r.commit.profile, HM_PROFILE_SERVER);
		HM_CHECK(hm_pair_accepted(p, r.accept, r.acceptlen, &err),
		    &err);
		v = hm_pair_reveal_msg(p, &vlen);
		assert_non_null(v);
		assert_int_equal(responder_reveal(&r, v, vlen, &out), HM_OK);
		assert_string_equal(hm_pair_code(p), out.sas);
		assert_int_equal(strlen(out.sas), 6);
		s = hm_pair_status_msg(p, &slen);
		HM_CHECK(hm_pair_id_decode("HMPS", s, slen, id, &err), &err);
		assert_memory_equal(id, r.id, 16);
		/* A second accept is refused; the code stays. */
		assert_int_equal(hm_pair_accepted(p, r.accept, r.acceptlen,
		    &err), HM_E_INVALID);
		assert_string_equal(hm_pair_code(p), out.sas);
		hm_pair_free(p);
		responder_free(&r);
	}
}

/*
 * One attempt of a man in the middle that runs a pairing with each side
 * under keys of its own: the code each side ends with.  Keys and nonces
 * are functions of i, so that a run of many attempts is reproducible.
 */
static void
mitm_attempt(unsigned long i, char sas_i[7], char sas_r[7])
{
	struct hm_pair_commit	 c;
	struct hm_pair_accept	 a;
	struct hm_pair_reveal	 v;
	struct hm_pair_out	 oi, or, om;
	unsigned char		 sk_i[32], sk_m1[32], sk_m2[32], sk_r[32];
	unsigned char		 pk_i[32], pk_m1[32], pk_m2[32], pk_r[32];
	unsigned char		 n_i[32], n_m1[32], n_m2[32], n_r[32], cm[32];
	unsigned char		 id_r[32], id_m[32];
	unsigned char		*ci, *cm1, *ar, *am, *vi, *vm;
	size_t			 cil, cm1l, arl, aml, vil, vml;
	hm_err			 err;

	det("sk_i", i, sk_i);
	det("sk_m1", i, sk_m1);
	det("sk_m2", i, sk_m2);
	det("sk_r", i, sk_r);
	det("n_i", i, n_i);
	det("n_m1", i, n_m1);
	det("n_m2", i, n_m2);
	det("n_r", i, n_r);
	det("id_r", i, id_r);
	det("id_m", i, id_m);
	pk_of(sk_i, pk_i);
	pk_of(sk_m1, pk_m1);
	pk_of(sk_m2, pk_m2);
	pk_of(sk_r, pk_r);
	memset(&c, 0, sizeof(c));
	memcpy(c.name, "node-1", 7);
	c.profile = HM_PROFILE_CLIENT;

	/* The initiator commits; the man in the middle does so too. */
	HM_CHECK(hm_pair_commitment(pk_i, n_i, c.commitment, &err), &err);
	HM_CHECK(hm_pair_commit_encode(&c, &ci, &cil, &err), &err);
	HM_CHECK(hm_pair_commitment(pk_m1, n_m1, c.commitment, &err), &err);
	HM_CHECK(hm_pair_commit_encode(&c, &cm1, &cm1l, &err), &err);
	/* The responder accepts its commit. */
	memcpy(a.id, id_r, 16);
	memcpy(a.pk_r, pk_r, 32);
	memcpy(a.nonce_r, n_r, 32);
	HM_CHECK(hm_pair_accept_encode(&a, &ar, &arl, &err), &err);
	/* It accepts the initiator's commit in the responder's place. */
	memcpy(a.id, id_m, 16);
	memcpy(a.pk_r, pk_m2, 32);
	memcpy(a.nonce_r, n_m2, 32);
	HM_CHECK(hm_pair_accept_encode(&a, &am, &aml, &err), &err);
	/* Reveals: the initiator's to it, its own to the responder. */
	memcpy(v.id, id_m, 16);
	memcpy(v.pk_i, pk_i, 32);
	memcpy(v.nonce_i, n_i, 32);
	HM_CHECK(hm_pair_reveal_encode(&v, &vi, &vil, &err), &err);
	memcpy(v.id, id_r, 16);
	memcpy(v.pk_i, pk_m1, 32);
	memcpy(v.nonce_i, n_m1, 32);
	HM_CHECK(hm_pair_reveal_encode(&v, &vm, &vml, &err), &err);
	/* The responder's commitment check passes: it is the attacker's. */
	HM_CHECK(hm_pair_commitment(pk_m1, n_m1, cm, &err), &err);
	HM_CHECK(hm_pair_commit_decode(cm1, cm1l, &c, &err), &err);
	assert_memory_equal(cm, c.commitment, 32);

	HM_CHECK(hm_pair_derive(sk_i, pk_m2, ci, cil, am, aml, vi, vil, &oi,
	    &err), &err);
	HM_CHECK(hm_pair_derive(sk_r, pk_m1, cm1, cm1l, ar, arl, vm, vml, &or,
	    &err), &err);
	/* The attacker shares a PSK with each side... */
	HM_CHECK(hm_pair_derive(sk_m2, pk_i, ci, cil, am, aml, vi, vil, &om,
	    &err), &err);
	assert_memory_equal(&om, &oi, sizeof(om));
	HM_CHECK(hm_pair_derive(sk_m1, pk_r, cm1, cm1l, ar, arl, vm, vml, &om,
	    &err), &err);
	assert_memory_equal(&om, &or, sizeof(om));
	/* ...but two PSKs, and the two codes are independent. */
	assert_memory_not_equal(oi.psk, or.psk, HM_PSK_LEN);
	memcpy(sas_i, oi.sas, 7);
	memcpy(sas_r, or.sas, 7);
	free(ci);
	free(cm1);
	free(ar);
	free(am);
	free(vi);
	free(vm);
}

/*
 * A man in the middle ends with two codes that agree with probability
 * 10^-6 per attempt (section 2.4): over 2000 reproducible attempts the
 * expected number of agreements is 0.002, and there is none.
 */
static void
test_mitm(void **state)
{
	struct responder	 r;
	struct hm_pair_out	 out;
	struct hm_pair_accept	 a;
	struct hm_pair_reveal	 v;
	unsigned char		 sk_m[32], pk_m[32], *am, *vm;
	const unsigned char	*c, *vi;
	char			 si[7], sr[7];
	size_t			 clen, aml, vml, vil;
	unsigned long		 i, same = 0;
	hm_pair			*p;
	hm_err			 err;

	(void)state;
	/* Once with the real initiator and fresh random keys everywhere. */
	memset(&r, 0, sizeof(r));
	HM_CHECK(hm_pair_new("node-1", HM_PROFILE_CLIENT, &p, &err), &err);
	c = hm_pair_commit_msg(p, &clen);
	/*
	 * Toward the responder: the initiator's name and profile, but a
	 * commitment to the attacker's own key and nonce.
	 */
	{
		struct hm_pair_commit	 mc;
		unsigned char		 nm[32], *cmb;
		size_t			 cml;

		HM_CHECK(hm_pair_commit_decode(c, clen, &mc, &err), &err);
		HM_CHECK(hm_pair_keygen(sk_m, pk_m, &err), &err);
		assert_int_equal(RAND_bytes(nm, 32), 1);
		HM_CHECK(hm_pair_commitment(pk_m, nm, mc.commitment, &err),
		    &err);
		HM_CHECK(hm_pair_commit_encode(&mc, &cmb, &cml, &err), &err);
		responder_accept(&r, cmb, cml);
		free(cmb);
		memcpy(v.id, r.id, 16);
		memcpy(v.pk_i, pk_m, 32);
		memcpy(v.nonce_i, nm, 32);
		HM_CHECK(hm_pair_reveal_encode(&v, &vm, &vml, &err), &err);
		assert_int_equal(responder_reveal(&r, vm, vml, &out), HM_OK);
		free(vm);
	}
	/* Toward the initiator: an accept with another key of its own. */
	HM_CHECK(hm_pair_keygen(sk_m, pk_m, &err), &err);
	assert_int_equal(RAND_bytes(a.id, 16), 1);
	memcpy(a.pk_r, pk_m, 32);
	assert_int_equal(RAND_bytes(a.nonce_r, 32), 1);
	HM_CHECK(hm_pair_accept_encode(&a, &am, &aml, &err), &err);
	HM_CHECK(hm_pair_accepted(p, am, aml, &err), &err);
	vi = hm_pair_reveal_msg(p, &vil);
	assert_non_null(vi);
	assert_int_equal(strlen(hm_pair_code(p)), 6);
	assert_string_not_equal(hm_pair_code(p), out.sas);
	free(am);
	hm_pair_free(p);
	responder_free(&r);

	for (i = 0; i < 2000; i++) {
		mitm_attempt(i, si, sr);
		if (strcmp(si, sr) == 0)
			same++;
	}
	assert_int_equal(same, 0);
}

/* A reveal that does not open the commitment is seen as such. */
static void
test_commitment_mismatch(void **state)
{
	struct hm_pair_commit	 c;
	struct hm_pair_reveal	 v;
	struct responder	 r;
	struct hm_pair_out	 out;
	unsigned char		 pk[32], sk[32], cm[32], *b;
	size_t			 len, i;
	hm_err			 err;
	hm_pair			*p;
	const unsigned char	*body;
	int			 bit;

	(void)state;
	b = tu_unhex(V_COMMIT, &len);
	HM_CHECK(hm_pair_commit_decode(b, len, &c, &err), &err);
	free(b);
	b = tu_unhex(V_REVEAL, &len);
	HM_CHECK(hm_pair_reveal_decode(b, len, &v, &err), &err);
	free(b);
	HM_CHECK(hm_pair_commitment(v.pk_i, v.nonce_i, cm, &err), &err);
	assert_memory_equal(cm, c.commitment, 32);
	/* Any bit of pk_i or nonce_i changed. */
	for (i = 0; i < 32; i++)
		for (bit = 0; bit < 8; bit++) {
			v.pk_i[i] ^= (unsigned char)(1 << bit);
			HM_CHECK(hm_pair_commitment(v.pk_i, v.nonce_i, cm,
			    &err), &err);
			assert_memory_not_equal(cm, c.commitment, 32);
			v.pk_i[i] ^= (unsigned char)(1 << bit);
			v.nonce_i[i] ^= (unsigned char)(1 << bit);
			HM_CHECK(hm_pair_commitment(v.pk_i, v.nonce_i, cm,
			    &err), &err);
			assert_memory_not_equal(cm, c.commitment, 32);
			v.nonce_i[i] ^= (unsigned char)(1 << bit);
		}
	/* Another key entirely. */
	HM_CHECK(hm_pair_keygen(sk, pk, &err), &err);
	HM_CHECK(hm_pair_commitment(pk, v.nonce_i, cm, &err), &err);
	assert_memory_not_equal(cm, c.commitment, 32);

	/* In a run: a relayed commit, then the attacker's own reveal. */
	memset(&r, 0, sizeof(r));
	HM_CHECK(hm_pair_new("node-1", HM_PROFILE_BOTH, &p, &err), &err);
	body = hm_pair_commit_msg(p, &len);
	responder_accept(&r, body, len);
	memcpy(v.id, r.id, 16);
	memcpy(v.pk_i, pk, 32);
	assert_int_equal(RAND_bytes(v.nonce_i, 32), 1);
	HM_CHECK(hm_pair_reveal_encode(&v, &b, &len, &err), &err);
	assert_int_equal(responder_reveal(&r, b, len, &out), HM_E_SIGNATURE);
	free(b);
	/* The initiator's own reveal passes. */
	HM_CHECK(hm_pair_accepted(p, r.accept, r.acceptlen, &err), &err);
	body = hm_pair_reveal_msg(p, &len);
	assert_int_equal(responder_reveal(&r, body, len, &out), HM_OK);
	assert_string_equal(out.sas, hm_pair_code(p));
	hm_pair_free(p);
	responder_free(&r);
}

/* Public keys of small order (and their other spellings) are refused. */
static void
test_small_order(void **state)
{
	static const char *const bad[] = {
	    "0000000000000000000000000000000000000000000000000000000000000000",
	    "0100000000000000000000000000000000000000000000000000000000000000",
	    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	    "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
	    "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
	    "0000000000000000000000000000000000000000000000000000000000000080",
	};
	struct hm_pair_out	 out;
	struct hm_pair_accept	 a;
	struct responder	 r;
	unsigned char		 pk[32], *c, *acc, *v, *am;
	const unsigned char	*body;
	size_t			 cl, al, vl, aml, len, i;
	hm_pair			*p;
	hm_err			 err;

	(void)state;
	c = tu_unhex(V_COMMIT, &cl);
	acc = tu_unhex(V_ACCEPT, &al);
	v = tu_unhex(V_REVEAL, &vl);
	memset(&out, 0x5a, sizeof(out));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		unhex_to(bad[i], pk, 32);
		assert_int_equal(hm_pair_derive(v_sk_i, pk, c, cl, acc, al, v,
		    vl, &out, &err), HM_E_INVALID);
		assert_true(strlen(err.msg) > 0);
		assert_int_equal(hm_pair_derive(v_sk_r, pk, c, cl, acc, al, v,
		    vl, &out, &err), HM_E_INVALID);
	}
	/* out was not written. */
	for (i = 0; i < sizeof(out); i++)
		assert_int_equal(((unsigned char *)&out)[i], 0x5a);

	/* An accept with the zero key: refused, and the pairing goes on. */
	memset(&r, 0, sizeof(r));
	HM_CHECK(hm_pair_new("node-1", HM_PROFILE_CLIENT, &p, &err), &err);
	body = hm_pair_commit_msg(p, &len);
	responder_accept(&r, body, len);
	memset(&a, 0, sizeof(a));
	memcpy(a.id, r.id, 16);
	memcpy(a.nonce_r, r.nonce, 32);
	HM_CHECK(hm_pair_accept_encode(&a, &am, &aml, &err), &err);
	assert_int_equal(hm_pair_accepted(p, am, aml, &err), HM_E_INVALID);
	free(am);
	assert_string_equal(hm_pair_code(p), "");
	assert_null(hm_pair_reveal_msg(p, &len));
	HM_CHECK(hm_pair_accepted(p, r.accept, r.acceptlen, &err), &err);
	body = hm_pair_reveal_msg(p, &len);
	assert_int_equal(responder_reveal(&r, body, len, &out), HM_OK);
	assert_string_equal(out.sas, hm_pair_code(p));
	hm_pair_free(p);
	responder_free(&r);
	free(c);
	free(acc);
	free(v);
}

/* ---- The initiator's API ------------------------------------------------ */

static void
test_initiator(void **state)
{
	static const hm_profile_id	 bad[] = {
		HM_PROFILE_NONE, HM_PROFILE_ROOT, HM_PROFILE_INTERMEDIATE,
		HM_PROFILE_CUSTOM, HM_PROFILE_OCSP,
	};
	struct hm_pair_commit	 c;
	unsigned char		*b;
	const unsigned char	*body;
	size_t			 len, i;
	hm_pair			*p = NULL, *q;
	hm_enroll		*e = NULL;
	hm_err			 err;
	int			 s;

	(void)state;
	assert_int_equal(hm_pair_new(NULL, HM_PROFILE_CLIENT, &p, &err),
	    HM_E_INVALID);
	assert_int_equal(hm_pair_new("", HM_PROFILE_CLIENT, &p, &err),
	    HM_E_INVALID);
	assert_int_equal(hm_pair_new("\tx", HM_PROFILE_CLIENT, &p, &err),
	    HM_E_INVALID);
	assert_int_equal(hm_pair_new("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaa", HM_PROFILE_CLIENT, &p, &err),
	    HM_E_INVALID);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(hm_pair_new("x", bad[i], &p, &err),
		    HM_E_INVALID);
	assert_null(p);

	/* Two pairings commit to different keys and nonces. */
	HM_CHECK(hm_pair_new("node-1", HM_PROFILE_BOTH, &p, &err), &err);
	HM_CHECK(hm_pair_new("node-1", HM_PROFILE_BOTH, &q, &err), &err);
	body = hm_pair_commit_msg(p, &len);
	HM_CHECK(hm_pair_commit_decode(body, len, &c, &err), &err);
	assert_string_equal(c.name, "node-1");
	assert_int_equal(c.profile, HM_PROFILE_BOTH);
	{
		struct hm_pair_commit	 d;
		size_t			 qlen;

		body = hm_pair_commit_msg(q, &qlen);
		HM_CHECK(hm_pair_commit_decode(body, qlen, &d, &err), &err);
		assert_memory_not_equal(c.commitment, d.commitment, 32);
	}
	hm_pair_free(q);
	/* Before an accept: no code, no enrollment. */
	assert_string_equal(hm_pair_code(p), "");
	assert_int_equal(hm_pair_enroll_new(p, NULL, &e, &err), HM_E_INVALID);
	assert_null(e);
	/* Not an accept: refused, p as it was. */
	b = tu_unhex(V_REVEAL, &len);
	assert_int_equal(hm_pair_accepted(p, b, len, &err), HM_E_INVALID);
	free(b);
	assert_int_equal(hm_pair_accepted(p, NULL, 0, &err), HM_E_INVALID);
	assert_string_equal(hm_pair_code(p), "");
	hm_pair_free(p);
	hm_pair_free(NULL);

	/* State replies. */
	for (s = HM_PAIR_WAITING; s <= HM_PAIR_ENDED; s++) {
		int	got = -1;

		HM_CHECK(hm_pair_state_encode(s, &b, &len, &err), &err);
		HM_CHECK(hm_pair_state(b, len, &got, &err), &err);
		assert_int_equal(got, s);
		free(b);
	}
	b = tu_unhex(V_STATE, &len);
	HM_CHECK(hm_pair_state(b, len, &s, &err), &err);
	assert_int_equal(s, HM_PAIR_APPROVED);
	b[len - 1] = 3;
	assert_int_equal(hm_pair_state(b, len, &s, &err), HM_E_INVALID);
	assert_int_equal(s, HM_PAIR_APPROVED);
	free(b);
}

/* The enrollment a pairing allows: a request under psk_id and psk. */
static void
test_enroll_new(void **state)
{
	struct hm_enroll_req	 h;
	struct hm_pair_out	 out;
	struct responder	 r;
	const unsigned char	*body, *req;
	unsigned char		*csrder;
	size_t			 len, reqlen, csrlen;
	hm_key			*key;
	hm_csr			*csr;
	hm_pair			*p;
	hm_enroll		*e;
	hm_err			 err;

	(void)state;
	HM_CHECK(hm_key_generate(HM_KEY_ED25519, &key, &err), &err);
	HM_CHECK(hm_csr_new(key, "node-1", NULL, &csr, &err), &err);
	memset(&r, 0, sizeof(r));
	HM_CHECK(hm_pair_new("node-1", HM_PROFILE_CLIENT, &p, &err), &err);
	body = hm_pair_commit_msg(p, &len);
	responder_accept(&r, body, len);
	HM_CHECK(hm_pair_accepted(p, r.accept, r.acceptlen, &err), &err);
	body = hm_pair_reveal_msg(p, &len);
	assert_int_equal(responder_reveal(&r, body, len, &out), HM_OK);

	HM_CHECK(hm_pair_enroll_new(p, csr, &e, &err), &err);
	req = hm_enroll_request(e, &reqlen);
	HM_CHECK(hm_enroll_req_parse(req, reqlen, &h, &err), &err);
	assert_memory_equal(h.id, out.psk_id, HM_PSK_ID_LEN);
	/* The responder's PSK opens it: the CSR as sent. */
	HM_CHECK(hm_enroll_req_open(&h, req, reqlen, out.psk, &csrder,
	    &csrlen, &err), &err);
	assert_int_equal(csrlen, csr->derlen);
	assert_memory_equal(csrder, csr->der, csrlen);
	free(csrder);
	hm_enroll_free(e);
	/* Without a CSR: hm_enroll_new's own refusal. */
	assert_int_equal(hm_pair_enroll_new(p, NULL, &e, &err), HM_E_INVALID);
	hm_pair_free(p);
	responder_free(&r);
	hm_csr_free(csr);
	hm_key_free(key);
}

/* ---- The fuzzing corpus ------------------------------------------------ */

static void
corpus_file(const char *dir, const char *name, const unsigned char *b,
    size_t len)
{
	char	path[1024];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	tu_write(path, b, len);
}

/* Seeds for fuzz/pair.c: the vectors, and a few broken ones. */
static void
test_corpus(void **state)
{
	static const char *const names[NKINDS] = {
		"commit", "accept", "reveal", "revealed", "status", "state",
	};
	const char	*dir = getenv("HM_PAIR_CORPUS");
	unsigned char	*b;
	size_t		 len;
	char		 name[64];
	int		 k;

	(void)state;
	if (dir == NULL)
		skip();
	for (k = 0; k < NKINDS; k++) {
		b = tu_unhex(vector_hex[k], &len);
		corpus_file(dir, names[k], b, len);
		snprintf(name, sizeof(name), "%s-short", names[k]);
		corpus_file(dir, name, b, len - 1);
		b[len - 1] ^= 0x80;
		snprintf(name, sizeof(name), "%s-flipped", names[k]);
		corpus_file(dir, name, b, len);
		b[4] = 2;
		snprintf(name, sizeof(name), "%s-version", names[k]);
		corpus_file(dir, name, b, len);
		free(b);
	}
	b = tu_unhex("484d50430110000561206e6f6411000473657276120020"
	    "0000000000000000000000000000000000000000000000000000000000000000",
	    &len);
	corpus_file(dir, "commit-bad-profile", b, len);
	free(b);
	corpus_file(dir, "empty", (const unsigned char *)"", 0);
}

/* The code as words: 100 words, each pair of digits one; both ways. */
static void
test_code_words(void **state)
{
	char	 words[64], back[7], code[7], seen[100][4];
	int	 i, j;

	(void)state;
	for (i = 0; i < 100; i++) {
		snprintf(code, sizeof(code), "%02d%02d%02d", i, (i * 7) % 100,
		    99 - i);
		assert_int_equal(hm_pair_code_words(code, words,
		    sizeof(words)), HM_OK);
		assert_int_equal(hm_pair_code_parse(words, back), HM_OK);
		assert_string_equal(back, code);
		/* No two words share their first three letters. */
		memcpy(seen[i], words, 3);
		seen[i][3] = '\0';
		for (j = 0; j < i; j++)
			assert_string_not_equal(seen[i], seen[j]);
	}
	assert_int_equal(hm_pair_code_parse("123 456", back), HM_OK);
	assert_string_equal(back, "123456");
	assert_int_equal(hm_pair_code_parse(" Maple  OTTER-river ", back),
	    HM_OK);
	assert_int_equal(hm_pair_code_parse("12345", back), HM_E_INVALID);
	assert_int_equal(hm_pair_code_parse("1234567", back), HM_E_INVALID);
	assert_int_equal(hm_pair_code_parse("maple otter", back),
	    HM_E_INVALID);
	assert_int_equal(hm_pair_code_parse("maple otter river apple",
	    back), HM_E_INVALID);
	assert_int_equal(hm_pair_code_parse("maple otter rivers", back),
	    HM_E_INVALID);
	assert_int_equal(hm_pair_code_parse("", back), HM_E_INVALID);
	assert_int_equal(hm_pair_code_words("12345x", words, sizeof(words)),
	    HM_E_INVALID);
	assert_int_equal(hm_pair_code_words("123456", words, 4), HM_E_TOOBIG);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_code_words),
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_vectors_raw),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_strict),
		cmocka_unit_test(test_strict_values),
		cmocka_unit_test(test_encode_refusals),
		cmocka_unit_test(test_bitflips),
		cmocka_unit_test(test_both_sides),
		cmocka_unit_test(test_mitm),
		cmocka_unit_test(test_commitment_mismatch),
		cmocka_unit_test(test_small_order),
		cmocka_unit_test(test_initiator),
		cmocka_unit_test(test_enroll_new),
		cmocka_unit_test(test_corpus),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
