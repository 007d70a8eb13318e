/*
 * Enrollment with a pre-shared key (docs/PROTOCOL.md, section 1): tokens,
 * the key schedule, sealing and opening requests and replies, the items
 * codec, and the client's side of one enrollment.
 *
 * Everything here is deterministic given its nonces, so that the server
 * (which draws nonce_s) and the tests (fixed vectors) use the same code.
 * Every length is checked before it is used; keys and PSKs are wiped.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "internal.h"

#define KEYLEN		32		/* ChaCha20-Poly1305 key */
#define IVLEN		12
#define OKMLEN		(KEYLEN + IVLEN)
#define CHECKLEN	3
#define ID32LEN		16		/* base32 of psk_id */
#define SECRET32LEN	56		/* base32 of psk || check */

#define TAG_CSR		0x01
#define TAG_CERT	0x02
#define TAG_CHAIN	0x03
#define TAG_ROOT	0x04
#define TAG_CODE	0x05
#define TAG_MSG		0x06

static const char	 b32[] = "abcdefghijklmnopqrstuvwxyz234567";
static const char	 token_label[] = "hallmark token v1";
static const char	 req_label[] = "hallmark enroll v1 request";
static const char	 rep_label[] = "hallmark enroll v1 reply";

struct hm_enroll {
	unsigned char	 psk[HM_PSK_LEN];
	unsigned char	 id[HM_PSK_ID_LEN];
	unsigned char	 nonce_c[HM_ENROLL_NONCE_LEN];
	unsigned char	*req;
	size_t		 reqlen;
	unsigned char	 req_hash[HM_ENROLL_HASH_LEN];
	char		*cert_pem, *chain_pem, *ca_pem;
};

static void
put16(unsigned char *p, size_t v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
}

static void
put32(unsigned char *p, size_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static size_t
get16(const unsigned char *p)
{
	return (size_t)p[0] << 8 | p[1];
}

static size_t
get32(const unsigned char *p)
{
	return (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 |
	    p[3];
}

/* ---- Tokens ------------------------------------------------------------ */

/* RFC 4648 base 32 of n bytes (n a multiple of 5: no padding). */
static void
b32_encode(const unsigned char *in, size_t n, char *out)
{
	unsigned	 acc = 0;
	int		 bits = 0;
	size_t		 i, o = 0;

	for (i = 0; i < n; i++) {
		acc = (acc << 8 | in[i]) & 0xfff;
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			out[o++] = b32[(acc >> bits) & 0x1f];
		}
	}
}

/* A base 32 digit of either case, or -1. */
static int
b32_value(char c)
{
	if (c >= 'a' && c <= 'z')
		return c - 'a';
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= '2' && c <= '7')
		return c - '2' + 26;
	return -1;
}

/*
 * Decode 8 * n / 5 digits into n bytes (n a multiple of 5); the index of
 * the first bad digit, or -1.
 */
static long
b32_decode(const char *in, unsigned char *out, size_t n)
{
	unsigned	 acc = 0;
	int		 bits = 0, v;
	size_t		 i, o = 0;

	for (i = 0; i < n / 5 * 8; i++) {
		if ((v = b32_value(in[i])) < 0)
			return (long)i;
		acc = (acc << 5 | (unsigned)v) & 0x1fff;
		bits += 5;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	return -1;
}

static int
token_check(const unsigned char id[HM_PSK_ID_LEN],
    const unsigned char psk[HM_PSK_LEN], unsigned char check[CHECKLEN])
{
	EVP_MD_CTX	*ctx;
	unsigned char	 md[32];
	int		 ok;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return -1;
	ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) &&
	    EVP_DigestUpdate(ctx, token_label, sizeof(token_label) - 1) &&
	    EVP_DigestUpdate(ctx, id, HM_PSK_ID_LEN) &&
	    EVP_DigestUpdate(ctx, psk, HM_PSK_LEN) &&
	    EVP_DigestFinal_ex(ctx, md, NULL);
	EVP_MD_CTX_free(ctx);
	if (ok)
		memcpy(check, md, CHECKLEN);
	OPENSSL_cleanse(md, sizeof(md));
	return ok ? 0 : -1;
}

int
hm_token_format(const unsigned char id[HM_PSK_ID_LEN],
    const unsigned char psk[HM_PSK_LEN], char out[HM_TOKEN_LEN + 1])
{
	unsigned char	 secret[HM_PSK_LEN + CHECKLEN];
	char		 t[HM_TOKEN_LEN + 1];
	int		 rc = HM_E_INTERNAL;

	memcpy(secret, psk, HM_PSK_LEN);
	if (token_check(id, psk, secret + HM_PSK_LEN) == -1)
		goto out;
	memcpy(t, "hm1-", 4);
	b32_encode(id, HM_PSK_ID_LEN, t + 4);
	t[4 + ID32LEN] = '-';
	b32_encode(secret, sizeof(secret), t + 5 + ID32LEN);
	t[HM_TOKEN_LEN] = '\0';
	memcpy(out, t, sizeof(t));
	rc = HM_OK;
 out:
	OPENSSL_cleanse(secret, sizeof(secret));
	OPENSSL_cleanse(t, sizeof(t));
	return rc;
}

int
hm_token_parse(const char *token, unsigned char id[HM_PSK_ID_LEN],
    unsigned char psk[HM_PSK_LEN], hm_err *err)
{
	unsigned char	 i[HM_PSK_ID_LEN], secret[HM_PSK_LEN + CHECKLEN];
	unsigned char	 check[CHECKLEN];
	size_t		 len;
	long		 bad;
	int		 rc = HM_E_INVALID;

	if (token == NULL)
		return hm_seterr(err, HM_E_INVALID, "no token");
	/* Bounded: a token is short, whatever the caller passes. */
	if ((len = strnlen(token, HM_TOKEN_LEN + 1)) != HM_TOKEN_LEN)
		return hm_seterr(err, HM_E_INVALID, "a token has %d "
		    "characters, this one %s%zu", HM_TOKEN_LEN,
		    len > HM_TOKEN_LEN ? "more than " : "",
		    len > HM_TOKEN_LEN ? (size_t)HM_TOKEN_LEN : len);
	if (strncasecmp(token, "hm1-", 4) != 0)
		return hm_seterr(err, HM_E_INVALID, "a token begins with "
		    "'hm1-'");
	if (token[4 + ID32LEN] != '-')
		return hm_seterr(err, HM_E_INVALID, "a token has a '-' after "
		    "its %dth character", 4 + ID32LEN);
	if ((bad = b32_decode(token + 4, i, sizeof(i))) >= 0)
		bad += 4;
	else if ((bad = b32_decode(token + 5 + ID32LEN, secret,
	    sizeof(secret))) >= 0)
		bad += 5 + ID32LEN;
	if (bad >= 0) {
		hm_seterr(err, HM_E_INVALID, "character %ld of the token is "
		    "not one of a-z and 2-7", bad + 1);
		goto out;
	}
	if (token_check(i, secret, check) == -1) {
		rc = hm_seterr_ssl(err, HM_E_INTERNAL, "SHA-256");
		goto out;
	}
	if (CRYPTO_memcmp(check, secret + HM_PSK_LEN, CHECKLEN) != 0) {
		hm_seterr(err, HM_E_INVALID, "the token's check value does "
		    "not match (mistyped?)");
		goto out;
	}
	memcpy(id, i, sizeof(i));
	memcpy(psk, secret, HM_PSK_LEN);
	rc = HM_OK;
 out:
	OPENSSL_cleanse(secret, sizeof(secret));
	OPENSSL_cleanse(check, sizeof(check));
	return rc;
}

void
hm_token_id_hex(const unsigned char id[HM_PSK_ID_LEN],
    char out[HM_TOKEN_ID_LEN + 1])
{
	hm_hex(id, HM_PSK_ID_LEN, out, HM_TOKEN_ID_LEN + 1);
}

int
hm_enroll_hash(const unsigned char *body, size_t len,
    unsigned char out[HM_ENROLL_HASH_LEN], hm_err *err)
{
	if (!EVP_Digest(body, len, out, NULL, EVP_sha256(), NULL))
		return hm_seterr_ssl(err, HM_E_INTERNAL, "SHA-256");
	return HM_OK;
}

static const char *const reasons[] = {
	[HM_ENROLL_R_EXPIRED] = "token expired",
	[HM_ENROLL_R_USED] = "token already used",
	[HM_ENROLL_R_REVOKED] = "token revoked",
	[HM_ENROLL_R_SCOPE] = "name outside the token's scope",
	[HM_ENROLL_R_CSR] = "CSR not acceptable",
	[HM_ENROLL_R_MALFORMED] = "malformed request",
	[HM_ENROLL_R_LATER] = "try again later",
};

const char *
hm_enroll_reason_name(unsigned code)
{
	if (code < sizeof(reasons) / sizeof(reasons[0]) &&
	    reasons[code] != NULL)
		return reasons[code];
	return "refused";
}

/* ---- Keys and the AEAD ------------------------------------------------- */

int
hm_hkdf_sha256(const unsigned char *key, size_t keylen,
    const unsigned char *salt, size_t saltlen, const unsigned char *info,
    size_t infolen, unsigned char *out, size_t outlen, hm_err *err)
{
	EVP_KDF		*kdf = NULL;
	EVP_KDF_CTX	*ctx = NULL;
	OSSL_PARAM	 p[5];
	int		 rc = HM_E_INTERNAL;

	p[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
	    (char *)"SHA256", 0);
	p[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
	    (void *)key, keylen);
	p[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
	    (void *)salt, saltlen);
	p[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
	    (void *)info, infolen);
	p[4] = OSSL_PARAM_construct_end();
	if ((kdf = EVP_KDF_fetch(NULL, "HKDF", NULL)) == NULL ||
	    (ctx = EVP_KDF_CTX_new(kdf)) == NULL ||
	    EVP_KDF_derive(ctx, out, outlen, p) != 1) {
		rc = hm_seterr_ssl(err, HM_E_INTERNAL, "HKDF");
		goto out;
	}
	rc = HM_OK;
 out:
	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
	return rc;
}

/*
 * HKDF-SHA256(psk, salt, info = label || id, 44): a key, then a nonce
 * (section 1.2).
 */
static int
derive(const unsigned char psk[HM_PSK_LEN], const unsigned char *salt,
    size_t saltlen, const char *label, const unsigned char id[HM_PSK_ID_LEN],
    unsigned char okm[OKMLEN], hm_err *err)
{
	unsigned char	 info[64];
	size_t		 llen = strlen(label);

	if (llen + HM_PSK_ID_LEN > sizeof(info))
		return hm_seterr(err, HM_E_INTERNAL, "HKDF info too long");
	memcpy(info, label, llen);
	memcpy(info + llen, id, HM_PSK_ID_LEN);
	return hm_hkdf_sha256(psk, HM_PSK_LEN, salt, saltlen, info,
	    llen + HM_PSK_ID_LEN, okm, OKMLEN, err);
}

/*
 * ChaCha20-Poly1305 under okm (key || nonce).  Sealing writes inlen bytes
 * and the tag to out; opening reads inlen bytes, the tag included, writes
 * inlen - 16 bytes and fails with HM_E_SIGNATURE on a bad tag, after the
 * same work as a good one (all of the ciphertext is processed first).
 */
static int
aead(int seal, const unsigned char okm[OKMLEN], const unsigned char *aad,
    size_t aadlen, const unsigned char *in, size_t inlen, unsigned char *out,
    hm_err *err)
{
	EVP_CIPHER	*c = NULL;
	EVP_CIPHER_CTX	*ctx = NULL;
	OSSL_PARAM	 p[2];
	unsigned char	 tag[HM_ENROLL_TAG_LEN];
	size_t		 n = inlen;
	int		 outl, rc = HM_E_INTERNAL;

	if (!seal) {
		if (inlen < HM_ENROLL_TAG_LEN)
			return hm_seterr(err, HM_E_INVALID, "ciphertext "
			    "shorter than its tag");
		n = inlen - HM_ENROLL_TAG_LEN;
		memcpy(tag, in + n, HM_ENROLL_TAG_LEN);
	}
	if (n > HM_ENROLL_MAX || aadlen > HM_ENROLL_MAX)
		return hm_seterr(err, HM_E_TOOBIG, "message too big");
	if ((c = EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305", NULL)) == NULL ||
	    (ctx = EVP_CIPHER_CTX_new()) == NULL ||
	    !EVP_CipherInit_ex2(ctx, c, okm, okm + KEYLEN, seal, NULL) ||
	    !EVP_CipherUpdate(ctx, NULL, &outl, aad, (int)aadlen) ||
	    (n > 0 && !EVP_CipherUpdate(ctx, out, &outl, in, (int)n)))
		goto ssl;
	if (seal) {
		if (!EVP_CipherFinal_ex(ctx, out + n, &outl))
			goto ssl;
		p[0] = OSSL_PARAM_construct_octet_string(
		    OSSL_CIPHER_PARAM_AEAD_TAG, out + n, HM_ENROLL_TAG_LEN);
		p[1] = OSSL_PARAM_construct_end();
		if (!EVP_CIPHER_CTX_get_params(ctx, p))
			goto ssl;
	} else {
		p[0] = OSSL_PARAM_construct_octet_string(
		    OSSL_CIPHER_PARAM_AEAD_TAG, tag, HM_ENROLL_TAG_LEN);
		p[1] = OSSL_PARAM_construct_end();
		if (!EVP_CIPHER_CTX_set_params(ctx, p))
			goto ssl;
		/* The tag comparison is OpenSSL's, in constant time. */
		if (EVP_CipherFinal_ex(ctx, out + n, &outl) != 1) {
			OPENSSL_cleanse(out, n);
			rc = hm_seterr(err, HM_E_SIGNATURE, "bad tag");
			goto out;
		}
	}
	rc = HM_OK;
	goto out;
 ssl:
	rc = hm_seterr_ssl(err, HM_E_INTERNAL, "ChaCha20-Poly1305");
 out:
	EVP_CIPHER_CTX_free(ctx);
	EVP_CIPHER_free(c);
	return rc;
}

/* ---- Items ------------------------------------------------------------- */

int
hm_items_parse(const unsigned char *pt, size_t len,
    const struct hm_item_spec *spec, size_t nspec, struct hm_enroll_item *out,
    size_t maxout, size_t *nout, hm_err *err)
{
	size_t		 off = 0, s = 0, j, count = 0, n = 0, vlen;
	unsigned	 tag;

	while (off < len) {
		if (len - off < 3)
			return hm_seterr(err, HM_E_INVALID, "item header runs "
			    "past the end");
		tag = pt[off];
		vlen = get16(pt + off + 1);
		off += 3;
		if (vlen > len - off)
			return hm_seterr(err, HM_E_INVALID, "item 0x%02x of "
			    "%zu bytes runs past the end", tag, vlen);
		if (vlen == 0)
			return hm_seterr(err, HM_E_INVALID, "item 0x%02x is "
			    "empty", tag);
		for (j = 0; j < nspec; j++)
			if (spec[j].tag == tag)
				break;
		if (j == nspec)
			return hm_seterr(err, HM_E_INVALID, "unknown item tag "
			    "0x%02x", tag);
		if (j < s)
			return hm_seterr(err, HM_E_INVALID, "item 0x%02x out "
			    "of order", tag);
		for (; s < j; s++, count = 0)
			if (count < spec[s].min)
				return hm_seterr(err, HM_E_INVALID, "item "
				    "0x%02x missing", spec[s].tag);
		if (++count > spec[s].max)
			return hm_seterr(err, HM_E_INVALID, "item 0x%02x "
			    "repeated", tag);
		if (vlen < spec[s].minlen || vlen > spec[s].maxlen)
			return hm_seterr(err, HM_E_INVALID, "item 0x%02x of "
			    "%zu bytes (want %zu to %zu)", tag, vlen,
			    spec[s].minlen, spec[s].maxlen);
		if (n == maxout)
			return hm_seterr(err, HM_E_INVALID, "too many items");
		out[n].v = pt + off;
		out[n++].len = vlen;
		off += vlen;
	}
	for (; s < nspec; s++, count = 0)
		if (count < spec[s].min)
			return hm_seterr(err, HM_E_INVALID, "item 0x%02x "
			    "missing", spec[s].tag);
	*nout = n;
	return HM_OK;
}

unsigned char *
hm_item_put(unsigned char *p, unsigned tag, const unsigned char *v, size_t len)
{
	p[0] = (unsigned char)tag;
	put16(p + 1, len);
	if (len > 0)
		memcpy(p + 3, v, len);
	return p + 3 + len;
}

/*
 * Strict UTF-8 (no overlong forms, surrogates or code points over
 * U+10FFFF) without control characters (U+0000-U+001F, U+007F-U+009F).
 */
static int
msg_ok(const unsigned char *s, size_t len)
{
	size_t		 i = 0, k, n;
	unsigned long	 cp, min;

	while (i < len) {
		if (s[i] < 0x80) {
			cp = s[i];
			n = 1;
			min = 0;
		} else if ((s[i] & 0xe0) == 0xc0) {
			cp = s[i] & 0x1f;
			n = 2;
			min = 0x80;
		} else if ((s[i] & 0xf0) == 0xe0) {
			cp = s[i] & 0x0f;
			n = 3;
			min = 0x800;
		} else if ((s[i] & 0xf8) == 0xf0) {
			cp = s[i] & 0x07;
			n = 4;
			min = 0x10000;
		} else
			return 0;
		if (n > len - i)
			return 0;
		for (k = 1; k < n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 &&
		    cp <= 0xdfff) || cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
			return 0;
		i += n;
	}
	return 1;
}

int
hm_enroll_req_items(const unsigned char *pt, size_t len,
    struct hm_enroll_item *csr, hm_err *err)
{
	static const struct hm_item_spec spec[] = {
		{ TAG_CSR, 1, 1, 1, HM_ENROLL_CSR_MAX },
	};
	struct hm_enroll_item	 it;
	size_t			 n;
	int			 rc;

	if ((rc = hm_items_parse(pt, len, spec, 1, &it, 1, &n, err)) != HM_OK)
		return rc;
	*csr = it;
	return HM_OK;
}

int
hm_enroll_rep_items(int status, const unsigned char *pt, size_t len,
    struct hm_enroll_reply *out, hm_err *err)
{
	static const struct hm_item_spec issued[] = {
		{ TAG_CERT, 1, 1, 1, HM_ENROLL_MAX },
		{ TAG_CHAIN, 0, HM_ENROLL_CHAIN_MAX, 1, HM_ENROLL_MAX },
		{ TAG_ROOT, 1, 1, 1, HM_ENROLL_MAX },
	};
	static const struct hm_item_spec refused[] = {
		{ TAG_CODE, 1, 1, 2, 2 },
		{ TAG_MSG, 1, 1, 1, HM_ENROLL_MSG_MAX },
	};
	struct hm_enroll_item	 it[HM_ENROLL_CHAIN_MAX + 2];
	size_t			 i, n = 0;	/* gcc -O3 can't see it set */
	int			 rc;

	switch (status) {
	case HM_ENROLL_ISSUED:
		if ((rc = hm_items_parse(pt, len, issued, 3, it,
		    HM_ENROLL_CHAIN_MAX + 2, &n, err)) != HM_OK)
			return rc;
		/* hm_items_parse made it cert, chain..., root. */
		out->cert = it[0];
		out->root = it[n - 1];
		out->nchain = n - 2;
		for (i = 0; i < out->nchain; i++)
			out->chain[i] = it[i + 1];
		break;
	case HM_ENROLL_REFUSED:
		if ((rc = hm_items_parse(pt, len, refused, 2, it, 2, &n,
		    err)) != HM_OK)
			return rc;
		if (!msg_ok(it[1].v, it[1].len))
			return hm_seterr(err, HM_E_INVALID, "the refusal's "
			    "message is not UTF-8 without control "
			    "characters");
		out->code = (unsigned)get16(it[0].v);
		memcpy(out->msg, it[1].v, it[1].len);
		out->msg[it[1].len] = '\0';
		break;
	default:
		return hm_seterr(err, HM_E_INVALID, "reply status %d is "
		    "neither issued (0) nor refused (1)", status);
	}
	out->status = status;
	return HM_OK;
}

int
hm_enroll_issued_pt(const struct hm_enroll_item *cert,
    const struct hm_enroll_item *chain, size_t nchain,
    const struct hm_enroll_item *root, unsigned char **pt, size_t *len,
    hm_err *err)
{
	unsigned char	*buf, *p;
	size_t		 i, n;

	if (nchain > HM_ENROLL_CHAIN_MAX)
		return hm_seterr(err, HM_E_INVALID, "a chain of %zu CA "
		    "certificates is over %d", nchain, HM_ENROLL_CHAIN_MAX);
	n = 3 + cert->len + 3 + root->len;
	if (cert->len == 0 || root->len == 0 || cert->len > HM_ENROLL_MAX ||
	    root->len > HM_ENROLL_MAX)
		goto toobig;
	for (i = 0; i < nchain; i++) {
		if (chain[i].len == 0 || chain[i].len > HM_ENROLL_MAX)
			goto toobig;
		n += 3 + chain[i].len;
	}
	/* Sealed, the header and the tag come on top. */
	if (n > HM_ENROLL_MAX - HM_ENROLL_REP_HDR - HM_ENROLL_TAG_LEN)
		goto toobig;
	if ((buf = malloc(n)) == NULL)
		return hm_seterr(err, HM_E_NOMEM, "out of memory");
	p = hm_item_put(buf, TAG_CERT, cert->v, cert->len);
	for (i = 0; i < nchain; i++)
		p = hm_item_put(p, TAG_CHAIN, chain[i].v, chain[i].len);
	hm_item_put(p, TAG_ROOT, root->v, root->len);
	*pt = buf;
	*len = n;
	return HM_OK;
 toobig:
	return hm_seterr(err, HM_E_TOOBIG, "certificates empty or too big "
	    "for a reply of at most %d bytes", HM_ENROLL_MAX);
}

int
hm_enroll_refused_pt(unsigned code, const char *msg, unsigned char **pt,
    size_t *len, hm_err *err)
{
	unsigned char	*buf, c[2], *p;
	size_t		 mlen;

	if (code > 0xffff)
		return hm_seterr(err, HM_E_INVALID, "reason code %u is over "
		    "two bytes", code);
	if (msg == NULL || (mlen = strnlen(msg, HM_ENROLL_MSG_MAX + 1)) == 0 ||
	    mlen > HM_ENROLL_MSG_MAX || !msg_ok((const unsigned char *)msg,
	    mlen))
		return hm_seterr(err, HM_E_INVALID, "a refusal's message is 1 "
		    "to %d bytes of UTF-8 without control characters",
		    HM_ENROLL_MSG_MAX);
	if ((buf = malloc(3 + 2 + 3 + mlen)) == NULL)
		return hm_seterr(err, HM_E_NOMEM, "out of memory");
	put16(c, code);
	p = hm_item_put(buf, TAG_CODE, c, 2);
	hm_item_put(p, TAG_MSG, (const unsigned char *)msg, mlen);
	*pt = buf;
	*len = 3 + 2 + 3 + mlen;
	return HM_OK;
}

/* ---- Requests ---------------------------------------------------------- */

static void
req_header(unsigned char *h, const unsigned char id[HM_PSK_ID_LEN],
    const unsigned char nonce_c[HM_ENROLL_NONCE_LEN], size_t ctlen)
{
	memcpy(h, "HMRQ", 4);
	h[4] = 1;		/* version */
	h[5] = 1;		/* suite */
	h[6] = h[7] = 0;
	memcpy(h + 8, id, HM_PSK_ID_LEN);
	memcpy(h + 18, nonce_c, HM_ENROLL_NONCE_LEN);
	put32(h + 50, ctlen);
}

int
hm_enroll_req_seal(const unsigned char psk[HM_PSK_LEN],
    const unsigned char id[HM_PSK_ID_LEN],
    const unsigned char nonce_c[HM_ENROLL_NONCE_LEN],
    const unsigned char *csr, size_t csrlen, unsigned char **body,
    size_t *len, hm_err *err)
{
	unsigned char	 okm[OKMLEN], *pt = NULL, *b = NULL;
	size_t		 ptlen, blen;
	int		 rc;

	if (csrlen == 0)
		return hm_seterr(err, HM_E_INVALID, "empty CSR");
	if (csrlen > HM_ENROLL_CSR_MAX)
		return hm_seterr(err, HM_E_TOOBIG, "a CSR of %zu bytes is over "
		    "the %d bytes a request carries", csrlen,
		    HM_ENROLL_CSR_MAX);
	ptlen = 3 + csrlen;
	blen = HM_ENROLL_REQ_HDR + ptlen + HM_ENROLL_TAG_LEN;
	if ((pt = malloc(ptlen)) == NULL || (b = malloc(blen)) == NULL) {
		rc = hm_seterr(err, HM_E_NOMEM, "out of memory");
		goto out;
	}
	hm_item_put(pt, TAG_CSR, csr, csrlen);
	req_header(b, id, nonce_c, ptlen + HM_ENROLL_TAG_LEN);
	if ((rc = derive(psk, nonce_c, HM_ENROLL_NONCE_LEN, req_label, id, okm,
	    err)) != HM_OK)
		goto out;
	if ((rc = aead(1, okm, b, HM_ENROLL_REQ_HDR, pt, ptlen,
	    b + HM_ENROLL_REQ_HDR, err)) != HM_OK)
		goto out;
	*body = b;
	*len = blen;
	b = NULL;
 out:
	OPENSSL_cleanse(okm, sizeof(okm));
	free(pt);
	free(b);
	return rc;
}

int
hm_enroll_req_parse(const unsigned char *body, size_t len,
    struct hm_enroll_req *out, hm_err *err)
{
	size_t	n;

	if (len > HM_ENROLL_MAX)
		return hm_seterr(err, HM_E_TOOBIG, "request of %zu bytes is "
		    "over %d", len, HM_ENROLL_MAX);
	if (len < HM_ENROLL_REQ_HDR + HM_ENROLL_TAG_LEN)
		return hm_seterr(err, HM_E_INVALID, "request of %zu bytes is "
		    "too short", len);
	if (memcmp(body, "HMRQ", 4) != 0)
		return hm_seterr(err, HM_E_INVALID, "not an enrollment request "
		    "(magic)");
	if (body[4] != 1 || body[5] != 1)
		return hm_seterr(err, HM_E_INVALID, "request of version %u, "
		    "suite %u (want 1, 1)", body[4], body[5]);
	if (body[6] != 0 || body[7] != 0)
		return hm_seterr(err, HM_E_INVALID, "request's reserved bytes "
		    "are not zero");
	if ((n = get32(body + 50)) != len - HM_ENROLL_REQ_HDR)
		return hm_seterr(err, HM_E_INVALID, "request says %zu bytes of "
		    "ciphertext and has %zu", n, len - HM_ENROLL_REQ_HDR);
	memcpy(out->id, body + 8, HM_PSK_ID_LEN);
	memcpy(out->nonce_c, body + 18, HM_ENROLL_NONCE_LEN);
	out->ct = body + HM_ENROLL_REQ_HDR;
	out->ctlen = n;
	return HM_OK;
}

int
hm_enroll_req_open(const struct hm_enroll_req *h, const unsigned char *body,
    size_t len, const unsigned char psk[HM_PSK_LEN], unsigned char **csr,
    size_t *csrlen, hm_err *err)
{
	struct hm_enroll_item	 it;
	unsigned char		 okm[OKMLEN], *pt = NULL, *c;
	size_t			 ptlen;
	int			 rc;

	if (len < HM_ENROLL_REQ_HDR + HM_ENROLL_TAG_LEN ||
	    h->ct != body + HM_ENROLL_REQ_HDR ||
	    h->ctlen != len - HM_ENROLL_REQ_HDR)
		return hm_seterr(err, HM_E_INVALID, "request header not "
		    "parsed from this body");
	ptlen = h->ctlen - HM_ENROLL_TAG_LEN;
	if ((pt = malloc(ptlen + 1)) == NULL)
		return hm_seterr(err, HM_E_NOMEM, "out of memory");
	if ((rc = derive(psk, h->nonce_c, HM_ENROLL_NONCE_LEN, req_label, h->id,
	    okm, err)) != HM_OK)
		goto out;
	if ((rc = aead(0, okm, body, HM_ENROLL_REQ_HDR, h->ct, h->ctlen, pt,
	    err)) != HM_OK)
		goto out;
	if ((rc = hm_enroll_req_items(pt, ptlen, &it, err)) != HM_OK)
		goto out;
	if ((c = malloc(it.len)) == NULL) {
		rc = hm_seterr(err, HM_E_NOMEM, "out of memory");
		goto out;
	}
	memcpy(c, it.v, it.len);
	*csr = c;
	*csrlen = it.len;
 out:
	OPENSSL_cleanse(okm, sizeof(okm));
	free(pt);
	return rc;
}

/* ---- Replies ----------------------------------------------------------- */

/* The reply's AAD: its header, then the hash of the request. */
static void
rep_aad(unsigned char aad[HM_ENROLL_REP_HDR + HM_ENROLL_HASH_LEN],
    const unsigned char *hdr, const unsigned char req_hash[HM_ENROLL_HASH_LEN])
{
	memcpy(aad, hdr, HM_ENROLL_REP_HDR);
	memcpy(aad + HM_ENROLL_REP_HDR, req_hash, HM_ENROLL_HASH_LEN);
}

static int
rep_keys(const unsigned char psk[HM_PSK_LEN],
    const unsigned char id[HM_PSK_ID_LEN],
    const unsigned char nonce_c[HM_ENROLL_NONCE_LEN],
    const unsigned char nonce_s[HM_ENROLL_NONCE_LEN],
    unsigned char okm[OKMLEN], hm_err *err)
{
	unsigned char	salt[2 * HM_ENROLL_NONCE_LEN];

	memcpy(salt, nonce_c, HM_ENROLL_NONCE_LEN);
	memcpy(salt + HM_ENROLL_NONCE_LEN, nonce_s, HM_ENROLL_NONCE_LEN);
	return derive(psk, salt, sizeof(salt), rep_label, id, okm, err);
}

int
hm_enroll_rep_seal(const unsigned char psk[HM_PSK_LEN],
    const unsigned char id[HM_PSK_ID_LEN],
    const unsigned char nonce_c[HM_ENROLL_NONCE_LEN],
    const unsigned char nonce_s[HM_ENROLL_NONCE_LEN],
    const unsigned char req_hash[HM_ENROLL_HASH_LEN], int status,
    const unsigned char *pt, size_t ptlen, unsigned char **body,
    size_t *len, hm_err *err)
{
	struct hm_enroll_reply	 r;
	unsigned char		 okm[OKMLEN], *b = NULL;
	unsigned char		 aad[HM_ENROLL_REP_HDR + HM_ENROLL_HASH_LEN];
	size_t			 blen;
	int			 rc;

	if (ptlen > HM_ENROLL_MAX - HM_ENROLL_REP_HDR - HM_ENROLL_TAG_LEN)
		return hm_seterr(err, HM_E_TOOBIG, "reply of %zu bytes of "
		    "plaintext is over the %d byte limit", ptlen,
		    HM_ENROLL_MAX);
	/* Seal only what the other side will accept. */
	memset(&r, 0, sizeof(r));
	if ((rc = hm_enroll_rep_items(status, pt, ptlen, &r, err)) != HM_OK)
		return rc;
	blen = HM_ENROLL_REP_HDR + ptlen + HM_ENROLL_TAG_LEN;
	if ((b = malloc(blen)) == NULL)
		return hm_seterr(err, HM_E_NOMEM, "out of memory");
	memcpy(b, "HMRP", 4);
	b[4] = 1;
	b[5] = 1;
	b[6] = (unsigned char)status;
	b[7] = 0;
	memcpy(b + 8, nonce_s, HM_ENROLL_NONCE_LEN);
	put32(b + 40, ptlen + HM_ENROLL_TAG_LEN);
	rep_aad(aad, b, req_hash);
	if ((rc = rep_keys(psk, id, nonce_c, nonce_s, okm, err)) != HM_OK)
		goto out;
	if ((rc = aead(1, okm, aad, sizeof(aad), pt, ptlen,
	    b + HM_ENROLL_REP_HDR, err)) != HM_OK)
		goto out;
	*body = b;
	*len = blen;
	b = NULL;
 out:
	OPENSSL_cleanse(okm, sizeof(okm));
	free(b);
	return rc;
}

int
hm_enroll_rep_open(const unsigned char psk[HM_PSK_LEN],
    const unsigned char id[HM_PSK_ID_LEN],
    const unsigned char nonce_c[HM_ENROLL_NONCE_LEN],
    const unsigned char req_hash[HM_ENROLL_HASH_LEN],
    const unsigned char *body, size_t len, struct hm_enroll_reply *out,
    hm_err *err)
{
	struct hm_enroll_reply	 r;
	unsigned char		 okm[OKMLEN], *pt = NULL;
	unsigned char		 aad[HM_ENROLL_REP_HDR + HM_ENROLL_HASH_LEN];
	size_t			 n;
	int			 rc;

	memset(&r, 0, sizeof(r));
	if (len > HM_ENROLL_MAX)
		return hm_seterr(err, HM_E_TOOBIG, "reply of %zu bytes is over "
		    "%d", len, HM_ENROLL_MAX);
	if (len < HM_ENROLL_REP_HDR + HM_ENROLL_TAG_LEN)
		return hm_seterr(err, HM_E_INVALID, "reply of %zu bytes is too "
		    "short", len);
	if (memcmp(body, "HMRP", 4) != 0)
		return hm_seterr(err, HM_E_INVALID, "not an enrollment reply "
		    "(magic)");
	if (body[4] != 1 || body[5] != 1)
		return hm_seterr(err, HM_E_INVALID, "reply of version %u, "
		    "suite %u (want 1, 1)", body[4], body[5]);
	if (body[6] != HM_ENROLL_ISSUED && body[6] != HM_ENROLL_REFUSED)
		return hm_seterr(err, HM_E_INVALID, "reply status %u is "
		    "neither 0 nor 1", body[6]);
	if (body[7] != 0)
		return hm_seterr(err, HM_E_INVALID, "reply's reserved byte is "
		    "not zero");
	if ((n = get32(body + 40)) != len - HM_ENROLL_REP_HDR)
		return hm_seterr(err, HM_E_INVALID, "reply says %zu bytes of "
		    "ciphertext and has %zu", n, len - HM_ENROLL_REP_HDR);
	memcpy(r.nonce_s, body + 8, HM_ENROLL_NONCE_LEN);
	r.ptlen = n - HM_ENROLL_TAG_LEN;
	if ((pt = malloc(r.ptlen + 1)) == NULL)
		return hm_seterr(err, HM_E_NOMEM, "out of memory");
	rep_aad(aad, body, req_hash);
	if ((rc = rep_keys(psk, id, nonce_c, r.nonce_s, okm, err)) != HM_OK)
		goto out;
	if ((rc = aead(0, okm, aad, sizeof(aad), body + HM_ENROLL_REP_HDR, n,
	    pt, err)) != HM_OK)
		goto out;
	if ((rc = hm_enroll_rep_items(body[6], pt, r.ptlen, &r, err)) !=
	    HM_OK)
		goto out;
	r.pt = pt;
	pt = NULL;
	*out = r;
 out:
	OPENSSL_cleanse(okm, sizeof(okm));
	free(pt);
	return rc;
}

void
hm_enroll_reply_clear(struct hm_enroll_reply *r)
{
	if (r == NULL)
		return;
	free(r->pt);
	memset(r, 0, sizeof(*r));
}

/* ---- The client -------------------------------------------------------- */

int
hm_enroll_new(const char *token, const hm_csr *csr, hm_enroll **out,
    hm_err *err)
{
	hm_enroll	*e;
	int		 rc;

	if (csr == NULL || csr->der == NULL)
		return hm_seterr(err, HM_E_INVALID, "no CSR");
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return hm_seterr(err, HM_E_NOMEM, "out of memory");
	if ((rc = hm_token_parse(token, e->id, e->psk, err)) != HM_OK)
		goto out;
	if (RAND_bytes(e->nonce_c, sizeof(e->nonce_c)) != 1) {
		rc = hm_seterr_ssl(err, HM_E_INTERNAL, "random");
		goto out;
	}
	if ((rc = hm_enroll_req_seal(e->psk, e->id, e->nonce_c, csr->der,
	    csr->derlen, &e->req, &e->reqlen, err)) != HM_OK)
		goto out;
	if ((rc = hm_enroll_hash(e->req, e->reqlen, e->req_hash, err)) !=
	    HM_OK)
		goto out;
	*out = e;
	e = NULL;
 out:
	hm_enroll_free(e);
	return rc;
}

const unsigned char *
hm_enroll_request(const hm_enroll *e, size_t *len)
{
	*len = e->reqlen;
	return e->req;
}

/* DER of one certificate, all of it. */
static X509 *
cert_d2i(const struct hm_enroll_item *it)
{
	const unsigned char	*p = it->v;
	X509			*x;

	if ((x = d2i_X509(NULL, &p, (long)it->len)) == NULL)
		return NULL;
	if (p != it->v + it->len) {
		X509_free(x);
		return NULL;
	}
	return x;
}

int
hm_leaf_verify(X509 *leaf, STACK_OF(X509) *untrusted, X509 *const *roots,
    size_t nroots, const hm_key *key, hm_err *err)
{
	STACK_OF(X509)	*built;
	X509_STORE	*store = NULL;
	X509_STORE_CTX	*ctx = NULL;
	size_t		 i;
	int		 purpose, vr, rc;

	if (X509_get0_pubkey(leaf) == NULL ||
	    EVP_PKEY_eq(X509_get0_pubkey(leaf), key->pkey) != 1)
		return hm_seterr(err, HM_E_INVALID, "the certificate is for "
		    "another key than this one");
	purpose = X509_get_extended_key_usage(leaf) & XKU_SSL_SERVER ?
	    X509_PURPOSE_SSL_SERVER : X509_PURPOSE_SSL_CLIENT;
	if ((store = X509_STORE_new()) == NULL ||
	    (ctx = X509_STORE_CTX_new()) == NULL) {
		rc = hm_seterr(err, HM_E_NOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < nroots; i++)
		if (!X509_STORE_add_cert(store, roots[i])) {
			rc = hm_seterr_ssl(err, HM_E_INTERNAL, "X.509 store");
			goto out;
		}
	if (!X509_STORE_CTX_init(ctx, store, leaf, untrusted) ||
	    !X509_STORE_CTX_set_purpose(ctx, purpose)) {
		rc = hm_seterr_ssl(err, HM_E_INTERNAL, "X.509 store");
		goto out;
	}
	X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_X509_STRICT);
	if (X509_verify_cert(ctx) != 1) {
		vr = X509_STORE_CTX_get_error(ctx);
		rc = hm_seterr(err, HM_E_SIGNATURE, "the certificate does not "
		    "verify up to a trusted root: %s",
		    X509_verify_cert_error_string(vr));
		goto out;
	}
	/* What gets written is the path itself: nothing else, in order. */
	built = X509_STORE_CTX_get0_chain(ctx);
	if (sk_X509_num(built) != sk_X509_num(untrusted) + 2) {
		rc = hm_seterr(err, HM_E_INVALID, "the chain holds "
		    "certificates that are not on the certificate's path");
		goto out;
	}
	for (i = 0; i < (size_t)sk_X509_num(untrusted); i++)
		if (X509_cmp(sk_X509_value(built, (int)i + 1),
		    sk_X509_value(untrusted, (int)i)) != 0) {
			rc = hm_seterr(err, HM_E_INVALID, "the chain is not in "
			    "order, issuer first");
			goto out;
		}
	rc = HM_OK;
 out:
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return rc;
}

/*
 * The issued certificate must be for key, and the chain of the reply must
 * verify from it to the root of the reply (and be that path, in order).
 */
static int
finish_issued(hm_enroll *e, const hm_key *key,
    const struct hm_enroll_reply *r, hm_err *err)
{
	X509		*leaf = NULL, *root = NULL, *v[HM_ENROLL_CHAIN_MAX];
	STACK_OF(X509)	*untrusted = NULL;
	char		*cert_pem = NULL, *chain_pem = NULL, *ca_pem = NULL;
	size_t		 n = 0, len;
	int		 rc = HM_E_INVALID;

	if ((leaf = cert_d2i(&r->cert)) == NULL ||
	    (root = cert_d2i(&r->root)) == NULL) {
		rc = hm_seterr_ssl(err, HM_E_INVALID, "a certificate of the "
		    "reply does not parse");
		goto out;
	}
	if ((untrusted = sk_X509_new_null()) == NULL)
		goto nomem;
	for (n = 0; n < r->nchain; n++) {
		if ((v[n] = cert_d2i(&r->chain[n])) == NULL) {
			rc = hm_seterr_ssl(err, HM_E_INVALID, "CA certificate "
			    "%zu of the reply does not parse", n + 1);
			goto out;
		}
		if (!sk_X509_push(untrusted, v[n])) {
			X509_free(v[n]);
			goto nomem;
		}
	}
	if ((rc = hm_leaf_verify(leaf, untrusted, &root, 1, key, err)) !=
	    HM_OK)
		goto out;
	if ((rc = hm_x509_pem(&leaf, 1, &cert_pem, &len, err)) != HM_OK ||
	    (rc = hm_x509_pem(v, r->nchain, &chain_pem, &len, err)) != HM_OK ||
	    (rc = hm_x509_pem(&root, 1, &ca_pem, &len, err)) != HM_OK)
		goto out;
	free(e->cert_pem);
	free(e->chain_pem);
	free(e->ca_pem);
	e->cert_pem = cert_pem;
	e->chain_pem = chain_pem;
	e->ca_pem = ca_pem;
	cert_pem = chain_pem = ca_pem = NULL;
	rc = HM_OK;
	goto out;
 nomem:
	rc = hm_seterr(err, HM_E_NOMEM, "out of memory");
 out:
	free(cert_pem);
	free(chain_pem);
	free(ca_pem);
	sk_X509_pop_free(untrusted, X509_free);
	X509_free(leaf);
	X509_free(root);
	return rc;
}

int
hm_enroll_finish(hm_enroll *e, const hm_key *key, const unsigned char *reply,
    size_t len, hm_err *err)
{
	struct hm_enroll_reply	 r;
	int			 rc;

	if (key == NULL || reply == NULL)
		return hm_seterr(err, HM_E_INVALID, "no key or no reply");
	rc = hm_enroll_rep_open(e->psk, e->id, e->nonce_c, e->req_hash, reply,
	    len, &r, err);
	if (rc == HM_E_SIGNATURE)
		return hm_seterr(err, rc, "the reply was not made for this "
		    "request (wrong token, or altered on the way)");
	if (rc != HM_OK)
		return rc;
	if (r.status == HM_ENROLL_REFUSED)
		rc = hm_seterr(err, HM_E_REFUSED, "the CA refused: %s (%s)",
		    r.msg, hm_enroll_reason_name(r.code));
	else
		rc = finish_issued(e, key, &r, err);
	hm_enroll_reply_clear(&r);
	return rc;
}

const char *
hm_enroll_cert_pem(const hm_enroll *e)
{
	return e->cert_pem;
}

const char *
hm_enroll_chain_pem(const hm_enroll *e)
{
	return e->chain_pem;
}

const char *
hm_enroll_ca_pem(const hm_enroll *e)
{
	return e->ca_pem;
}

void
hm_enroll_free(hm_enroll *e)
{
	if (e == NULL)
		return;
	OPENSSL_cleanse(e->psk, sizeof(e->psk));
	free(e->req);
	free(e->cert_pem);
	free(e->chain_pem);
	free(e->ca_pem);
	OPENSSL_cleanse(e, sizeof(*e));
	free(e);
}
