/*
 * lib/enroll.c: the test vectors of docs/PROTOCOL.md section 1.8 (made
 * with an independent implementation and checked here byte for byte);
 * tokens; requests and replies refused after any bit flip, truncation,
 * swap or reflection; the items codec's edge cases; and the client's
 * hm_enroll_finish against certificates issued by a real CA.
 *
 * With HM_ENROLL_CORPUS=DIR set, test_corpus writes the seed corpus of
 * fuzz/enroll.c to DIR (fuzz/gen-enroll-corpus.sh).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "testutil.h"

/* ---- The vectors of docs/PROTOCOL.md section 1.8 ----------------------- */

/* psk 00..1f, psk_id f0..f9, nonce_c 40..5f, nonce_s 60..7f. */
static unsigned char	v_psk[32], v_id[10], v_nc[32], v_ns[32];

#define V_TOKEN	"hm1-6dy7f47u6x3pp6hz-" \
	"aaaqeayeaudaocajbifqydiob4ibceqtcqkrmfyydenbwha5dyprtmza"

/* An Ed25519 CSR for CN=host.example, made once by hm_csr_new. */
#define V_CSR \
	"308196304a02010030173115301306035504030c0c686f73742e6578616d706c" \
	"65302a300506032b65700321005cef09fba482cb5094e2ecbc3517a78fdbb395" \
	"5392a4c41dcd52139ed2d3151fa000300506032b65700341007c4fdf5bbd9606" \
	"fe5e4ae675784008e223e7f04825297349641ffdcebe0310202fcbdf1a53050a" \
	"54243e875d49005017e3271a3e36a9e0e8d6c2af3701ef9301"

#define V_REQUEST \
	"484d525101010000f0f1f2f3f4f5f6f7f8f9404142434445464748494a4b4c4d" \
	"4e4f505152535455565758595a5b5c5d5e5f000000ace1e6a366d6dbe082d24b" \
	"e8cf05e235f21be45593b56df9009ec6d1098ceb9bc4f489a0bfd98f9b1915aa" \
	"0a7bece320a7afe02d57078ad5a0c3628a4be62f2545bb755af7baf69e7cd092" \
	"f031e50ca2d69cb18f36be7acbbd0caaba113b3f32728d4b74ca9a04c7f21ff4" \
	"12475f9834632f45db19c2977d97d75d31d67dd75e25de1addc75802fcfda66b" \
	"c4303ab1be89a3e1f84c801359f43296fe416af792a888baaa34e31ed70df5f1" \
	"a05c"

#define V_REQ_HASH \
	"33ebd5a2d5778dae5c0a7824c56574ff41a5050f9008a773ab4b0ca839fc9dc4"

/* k || iv of each direction. */
#define V_REQ_KEYS \
	"a57e3f9420a2c5a2e62a9c941e814bd473d565811e5b6703359dd28a9ac8332e" \
	"69733e362d3b09c6bc759a8f"
#define V_REP_KEYS \
	"572e703db6356dd477d18f749521ece8921ab25d1ecf9f312b9e797cf5b9e79c" \
	"26f0a46002c88d29aa173cf9"

#define V_REPLY_PT \
	"050002000106001174686520746f6b656e2065787069726564"

#define V_REPLY \
	"484d525001010100606162636465666768696a6b6c6d6e6f7071727374757677" \
	"78797a7b7c7d7e7f00000029cfd70f12d612e9a333493aa64c9ff9a227d16fed" \
	"997eeb2ed6bf1d60bccff59b291ceafcf1e611bd94"

/* ---- The CAs of the end-to-end tests ----------------------------------- */

static hm_ca		*ca, *other;
static hm_signer	*root, *mid, *issuing, *other_root;

/* ---- helpers ------------------------------------------------------------ */

/* HKDF-SHA256 called directly, not through lib/enroll.c. */
static void
raw_okm(const char *label, const unsigned char *salt, size_t saltlen,
    unsigned char okm[44])
{
	EVP_KDF		*kdf;
	EVP_KDF_CTX	*kctx;
	OSSL_PARAM	 p[5];
	unsigned char	 info[64];
	size_t		 llen = strlen(label);

	memcpy(info, label, llen);
	memcpy(info + llen, v_id, sizeof(v_id));
	p[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
	    (char *)"SHA256", 0);
	p[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, v_psk,
	    sizeof(v_psk));
	p[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
	    (void *)salt, saltlen);
	p[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info,
	    llen + sizeof(v_id));
	p[4] = OSSL_PARAM_construct_end();
	assert_non_null(kdf = EVP_KDF_fetch(NULL, "HKDF", NULL));
	assert_non_null(kctx = EVP_KDF_CTX_new(kdf));
	assert_int_equal(EVP_KDF_derive(kctx, okm, 44, p), 1);
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
}

/*
 * ChaCha20-Poly1305 called directly too: seal pt with the keys of label
 * and salt under aad.
 */
static void
raw_seal(const char *label, const unsigned char *salt, size_t saltlen,
    const unsigned char *aad, size_t aadlen, const unsigned char *pt,
    size_t ptlen, unsigned char *out)
{
	EVP_CIPHER_CTX	*c;
	unsigned char	 okm[44];
	int		 n;

	raw_okm(label, salt, saltlen, okm);
	assert_non_null(c = EVP_CIPHER_CTX_new());
	assert_true(EVP_EncryptInit_ex(c, EVP_chacha20_poly1305(), NULL, okm,
	    okm + 32));
	assert_true(EVP_EncryptUpdate(c, NULL, &n, aad, (int)aadlen));
	assert_true(EVP_EncryptUpdate(c, out, &n, pt, (int)ptlen));
	assert_true(EVP_EncryptFinal_ex(c, out + ptlen, &n));
	assert_true(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, 16,
	    out + ptlen));
	EVP_CIPHER_CTX_free(c);
}

/* The vector request, sealed by the library. */
static unsigned char *
vector_request(size_t *len)
{
	unsigned char	*csr, *body;
	size_t		 csrlen;
	hm_err		 err;

	csr = tu_unhex(V_CSR, &csrlen);
	HM_CHECK(hm_enroll_req_seal(v_psk, v_id, v_nc, csr, csrlen, &body,
	    len, &err), &err);
	free(csr);
	return body;
}

/* Header parse, then open: HM_OK only if both accept. */
static int
req_open(const unsigned char *body, size_t len, const unsigned char *psk)
{
	struct hm_enroll_req	 h;
	unsigned char		*csr;
	size_t			 csrlen;
	hm_err			 err;
	int			 rc;

	if ((rc = hm_enroll_req_parse(body, len, &h, &err)) != HM_OK)
		return rc;
	if ((rc = hm_enroll_req_open(&h, body, len, psk, &csr, &csrlen,
	    &err)) == HM_OK)
		free(csr);
	else
		assert_true(strlen(err.msg) > 0);
	return rc;
}

static int
rep_open(const unsigned char *nc, const unsigned char *hash,
    const unsigned char *body, size_t len)
{
	struct hm_enroll_reply	 r;
	hm_err			 err;
	int			 rc;

	memset(&r, 0x55, sizeof(r));
	if ((rc = hm_enroll_rep_open(v_psk, v_id, nc, hash, body, len, &r,
	    &err)) == HM_OK)
		hm_enroll_reply_clear(&r);
	else
		assert_int_equal(r.status, 0x55555555);	/* untouched */
	return rc;
}

/* ---- setup ------------------------------------------------------------- */

static hm_signer *
intermediate(hm_signer *parent, const char *name, int pathlen)
{
	hm_ca_params	 p;
	hm_signer	*s;
	hm_cert		*c;
	hm_err		 err;

	memset(&p, 0, sizeof(p));
	p.name = name;
	p.parent = parent->info.name;
	p.cn = name;
	p.key_type = HM_KEY_P256;
	p.pathlen = pathlen;
	HM_CHECK(hm_ca_new_intermediate(ca, parent, &p, &c, NULL, &err), &err);
	hm_cert_free(c);
	HM_CHECK(hm_ca_signer(ca, name, NULL, &s, &err), &err);
	return s;
}

static int
setup(void **state)
{
	size_t	i;

	(void)state;
	for (i = 0; i < 32; i++) {
		v_psk[i] = (unsigned char)i;
		v_nc[i] = (unsigned char)(0x40 + i);
		v_ns[i] = (unsigned char)(0x60 + i);
	}
	for (i = 0; i < 10; i++)
		v_id[i] = (unsigned char)(0xf0 + i);
	tu_root_ca("ca", "Enroll Root", &ca, &root);
	mid = intermediate(root, "mid", 1);
	issuing = intermediate(mid, "issuing", 0);
	tu_root_ca("other", "Other Root", &other, &other_root);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	hm_signer_free(issuing);
	hm_signer_free(mid);
	hm_signer_free(root);
	hm_signer_free(other_root);
	hm_ca_close(ca);
	hm_ca_close(other);
	return 0;
}

/* ---- Tokens ------------------------------------------------------------ */

static void
test_token(void **state)
{
	unsigned char	 id[10], psk[32];
	char		 t[HM_TOKEN_LEN + 1], u[HM_TOKEN_LEN + 2], hex[21];
	size_t		 i, j;
	hm_err		 err;

	(void)state;
	HM_CHECK(hm_token_format(v_id, v_psk, t), &err);
	assert_string_equal(t, V_TOKEN);
	assert_int_equal(strlen(t), HM_TOKEN_LEN);
	HM_CHECK(hm_token_parse(t, id, psk, &err), &err);
	assert_memory_equal(id, v_id, sizeof(id));
	assert_memory_equal(psk, v_psk, sizeof(psk));
	hm_token_id_hex(v_id, hex);
	assert_string_equal(hex, "f0f1f2f3f4f5f6f7f8f9");

	/* Upper case, or mixed, reads the same. */
	for (i = 0; i < HM_TOKEN_LEN; i++)
		u[i] = (char)(i % 2 ? t[i] : toupper((unsigned char)t[i]));
	u[HM_TOKEN_LEN] = '\0';
	memset(psk, 0, sizeof(psk));
	HM_CHECK(hm_token_parse(u, id, psk, &err), &err);
	assert_memory_equal(psk, v_psk, sizeof(psk));

	/* Any one digit changed for another: the check catches it. */
	for (i = 4; i < HM_TOKEN_LEN; i++) {
		if (i == 20)
			continue;
		memcpy(u, t, sizeof(t));
		u[i] = u[i] == 'a' ? 'b' : 'a';
		memset(id, 0x55, sizeof(id));
		assert_int_equal(hm_token_parse(u, id, psk, &err),
		    HM_E_INVALID);
		assert_non_null(strstr(err.msg, "mistyped?"));
		for (j = 0; j < sizeof(id); j++)
			assert_int_equal(id[j], 0x55);	/* untouched */
	}
	/* Two adjacent digits swapped. */
	memcpy(u, t, sizeof(t));
	u[30] = t[31];
	u[31] = t[30];
	assert_int_equal(hm_token_parse(u, id, psk, &err), HM_E_INVALID);

	/* Wrong length, prefix, separator, digits. */
	memcpy(u, t, sizeof(t));
	u[HM_TOKEN_LEN - 1] = '\0';
	assert_int_equal(hm_token_parse(u, id, psk, &err), HM_E_INVALID);
	assert_non_null(strstr(err.msg, "77 characters"));
	memcpy(u, t, sizeof(t));
	u[HM_TOKEN_LEN] = 'a';
	u[HM_TOKEN_LEN + 1] = '\0';
	assert_int_equal(hm_token_parse(u, id, psk, &err), HM_E_INVALID);
	assert_non_null(strstr(err.msg, "more than 77"));
	assert_int_equal(hm_token_parse("", id, psk, &err), HM_E_INVALID);
	assert_int_equal(hm_token_parse(NULL, id, psk, &err), HM_E_INVALID);
	memcpy(u, t, sizeof(t));
	u[2] = '2';
	assert_int_equal(hm_token_parse(u, id, psk, &err), HM_E_INVALID);
	assert_non_null(strstr(err.msg, "hm1-"));
	memcpy(u, t, sizeof(t));
	u[20] = '_';
	assert_int_equal(hm_token_parse(u, id, psk, &err), HM_E_INVALID);
	assert_non_null(strstr(err.msg, "'-'"));
	for (i = 0; i < 6; i++) {
		static const char bad[] = "018=  ";

		memcpy(u, t, sizeof(t));
		u[i < 3 ? 10 : 60] = bad[i];
		if (i == 5)
			u[HM_TOKEN_LEN - 1] = '\n';
		assert_int_equal(hm_token_parse(u, id, psk, &err),
		    HM_E_INVALID);
		assert_non_null(strstr(err.msg, "not one of a-z and 2-7"));
	}
	/* The message never quotes the token. */
	assert_null(strstr(err.msg, t + 21));
}

/* ---- Vectors ----------------------------------------------------------- */

static void
test_vectors(void **state)
{
	struct hm_enroll_req	 h;
	struct hm_enroll_reply	 r;
	unsigned char		*req, *csr, *want, *pt, *rep, *opened;
	unsigned char		 hash[32];
	size_t			 reqlen, csrlen, wantlen, ptlen, replen, n;
	hm_err			 err;

	(void)state;
	csr = tu_unhex(V_CSR, &csrlen);
	req = vector_request(&reqlen);
	want = tu_unhex(V_REQUEST, &wantlen);
	assert_int_equal(reqlen, wantlen);
	assert_memory_equal(req, want, reqlen);
	free(want);
	HM_CHECK(hm_enroll_hash(req, reqlen, hash, &err), &err);
	tu_assert_hex(hash, sizeof(hash), V_REQ_HASH);

	/* The server's side reads it back. */
	HM_CHECK(hm_enroll_req_parse(req, reqlen, &h, &err), &err);
	assert_memory_equal(h.id, v_id, sizeof(v_id));
	assert_memory_equal(h.nonce_c, v_nc, sizeof(v_nc));
	assert_ptr_equal(h.ct, req + HM_ENROLL_REQ_HDR);
	assert_int_equal(h.ctlen, reqlen - HM_ENROLL_REQ_HDR);
	HM_CHECK(hm_enroll_req_open(&h, req, reqlen, v_psk, &opened, &n,
	    &err), &err);
	assert_int_equal(n, csrlen);
	assert_memory_equal(opened, csr, csrlen);
	free(opened);

	/* The refusal. */
	HM_CHECK(hm_enroll_refused_pt(HM_ENROLL_R_EXPIRED,
	    "the token expired", &pt, &ptlen, &err), &err);
	tu_assert_hex(pt, ptlen, V_REPLY_PT);
	HM_CHECK(hm_enroll_rep_seal(v_psk, v_id, v_nc, v_ns, hash,
	    HM_ENROLL_REFUSED, pt, ptlen, &rep, &replen, &err), &err);
	tu_assert_hex(rep, replen, V_REPLY);
	HM_CHECK(hm_enroll_rep_open(v_psk, v_id, v_nc, hash, rep, replen, &r,
	    &err), &err);
	assert_int_equal(r.status, HM_ENROLL_REFUSED);
	assert_int_equal(r.code, 1);
	assert_string_equal(r.msg, "the token expired");
	assert_memory_equal(r.nonce_s, v_ns, sizeof(v_ns));
	hm_enroll_reply_clear(&r);
	free(pt);
	free(rep);
	free(req);
	free(csr);
}

/* The keys, and the bodies sealed with OpenSSL called directly. */
static void
test_vectors_raw(void **state)
{
	unsigned char	*csr, *pt, *body, *want, hash[32];
	unsigned char	 aad[44 + 32], salt[64], okm[44];
	size_t		 csrlen, wantlen, ptlen;

	(void)state;
	raw_okm("hallmark enroll v1 request", v_nc, 32, okm);
	tu_assert_hex(okm, sizeof(okm), V_REQ_KEYS);
	memcpy(salt, v_nc, 32);
	memcpy(salt + 32, v_ns, 32);
	raw_okm("hallmark enroll v1 reply", salt, 64, okm);
	tu_assert_hex(okm, sizeof(okm), V_REP_KEYS);

	csr = tu_unhex(V_CSR, &csrlen);
	want = tu_unhex(V_REQUEST, &wantlen);
	ptlen = 3 + csrlen;
	assert_non_null(pt = malloc(ptlen));
	assert_non_null(body = malloc(54 + ptlen + 16));
	pt[0] = 0x01;
	pt[1] = (unsigned char)(csrlen >> 8);
	pt[2] = (unsigned char)csrlen;
	memcpy(pt + 3, csr, csrlen);
	memcpy(body, want, 54);
	raw_seal("hallmark enroll v1 request", v_nc, 32, body, 54, pt, ptlen,
	    body + 54);
	assert_memory_equal(body, want, wantlen);
	free(pt);
	free(body);
	free(want);
	free(csr);

	want = tu_unhex(V_REPLY, &wantlen);
	pt = tu_unhex(V_REPLY_PT, &ptlen);
	assert_non_null(body = malloc(wantlen));
	memcpy(body, want, 44);
	csr = tu_unhex(V_REQ_HASH, &csrlen);
	memcpy(hash, csr, 32);
	free(csr);
	memcpy(aad, want, 44);
	memcpy(aad + 44, hash, 32);
	raw_seal("hallmark enroll v1 reply", salt, 64, aad, sizeof(aad), pt,
	    ptlen, body + 44);
	assert_memory_equal(body, want, wantlen);
	free(body);
	free(pt);
	free(want);
}

/* ---- Requests ---------------------------------------------------------- */

static void
test_request_bitflips(void **state)
{
	unsigned char	*req, *b, psk2[32];
	size_t		 len, i, opened = 0;
	int		 rc;

	(void)state;
	req = vector_request(&len);
	assert_int_equal(req_open(req, len, v_psk), HM_OK);
	for (i = 0; i < 8 * len; i++) {
		b = tu_copy(req, len);
		b[i / 8] ^= (unsigned char)(1 << (i % 8));
		rc = req_open(b, len, v_psk);
		assert_int_not_equal(rc, HM_OK);
		if (rc == HM_E_SIGNATURE)
			opened++;
		free(b);
	}
	/* Only the magic, version, suite, reserved and n stop early. */
	assert_int_equal(opened, 8 * len - 8 * 12);

	/* Another PSK: the same refusal as a bad tag. */
	memcpy(psk2, v_psk, sizeof(psk2));
	psk2[31] ^= 1;
	assert_int_equal(req_open(req, len, psk2), HM_E_SIGNATURE);
	free(req);
}

static void
test_request_truncated(void **state)
{
	unsigned char	*req, *b;
	size_t		 len, i;
	hm_err		 err;
	struct hm_enroll_req h;

	(void)state;
	req = vector_request(&len);
	for (i = 0; i < len; i++) {
		b = tu_copy(req, i);
		assert_int_equal(hm_enroll_req_parse(b, i, &h, &err),
		    HM_E_INVALID);
		free(b);
	}
	/* One byte more than n says. */
	assert_non_null(b = malloc(len + 1));
	memcpy(b, req, len);
	b[len] = 0;
	assert_int_equal(hm_enroll_req_parse(b, len + 1, &h, &err),
	    HM_E_INVALID);
	free(b);
	/* A header parsed from another body is refused by open. */
	HM_CHECK(hm_enroll_req_parse(req, len, &h, &err), &err);
	b = tu_copy(req, len);
	{
		unsigned char	*csr;
		size_t		 csrlen;

		assert_int_equal(hm_enroll_req_open(&h, b, len, v_psk, &csr,
		    &csrlen, &err), HM_E_INVALID);
		assert_int_equal(hm_enroll_req_open(&h, req, len - 1, v_psk,
		    &csr, &csrlen, &err), HM_E_INVALID);
	}
	free(b);
	free(req);
}

static void
test_request_oversize(void **state)
{
	struct hm_enroll_req	 h;
	unsigned char		*b, *csr, *body;
	size_t			 len = HM_ENROLL_MAX + 1, n;
	hm_err			 err;

	(void)state;
	b = vector_request(&n);
	assert_non_null(body = calloc(1, len));
	memcpy(body, b, HM_ENROLL_REQ_HDR);
	body[50] = (unsigned char)((len - 54) >> 24);
	body[51] = (unsigned char)((len - 54) >> 16);
	body[52] = (unsigned char)((len - 54) >> 8);
	body[53] = (unsigned char)(len - 54);
	assert_int_equal(hm_enroll_req_parse(body, len, &h, &err),
	    HM_E_TOOBIG);
	/* n = 2^32 - 1 in a small body. */
	memset(b + 50, 0xff, 4);
	assert_int_equal(hm_enroll_req_parse(b, n, &h, &err), HM_E_INVALID);
	free(b);

	/* The CSR cap, on both sides. */
	assert_non_null(csr = calloc(1, HM_ENROLL_CSR_MAX + 1));
	assert_int_equal(hm_enroll_req_seal(v_psk, v_id, v_nc, csr,
	    HM_ENROLL_CSR_MAX + 1, &b, &n, &err), HM_E_TOOBIG);
	assert_int_equal(hm_enroll_req_seal(v_psk, v_id, v_nc, csr, 0, &b,
	    &n, &err), HM_E_INVALID);
	HM_CHECK(hm_enroll_req_seal(v_psk, v_id, v_nc, csr, HM_ENROLL_CSR_MAX,
	    &b, &n, &err), &err);
	assert_int_equal(req_open(b, n, v_psk), HM_OK);
	free(b);
	/* Sealed by hand: one byte over the cap, a valid tag. */
	n = 54 + 3 + HM_ENROLL_CSR_MAX + 1 + 16;
	assert_non_null(b = malloc(n));
	assert_non_null(body = realloc(body, 3 + HM_ENROLL_CSR_MAX + 1));
	memset(body, 0, 3 + HM_ENROLL_CSR_MAX + 1);
	body[0] = 0x01;
	body[1] = (HM_ENROLL_CSR_MAX + 1) >> 8;
	body[2] = (HM_ENROLL_CSR_MAX + 1) & 0xff;
	memcpy(b, "HMRQ\1\1\0\0", 8);
	memcpy(b + 8, v_id, 10);
	memcpy(b + 18, v_nc, 32);
	b[50] = 0;
	b[51] = 0;
	b[52] = (unsigned char)((n - 54) >> 8);
	b[53] = (unsigned char)(n - 54);
	raw_seal("hallmark enroll v1 request", v_nc, 32, b, 54, body,
	    3 + HM_ENROLL_CSR_MAX + 1, b + 54);
	assert_int_equal(req_open(b, n, v_psk), HM_E_INVALID);
	free(b);
	free(body);
	free(csr);
}

/* ---- Replies ----------------------------------------------------------- */

static unsigned char *
vector_reply(size_t *len, unsigned char hash[32])
{
	unsigned char	*req, *pt, *rep;
	size_t		 reqlen, ptlen;
	hm_err		 err;

	req = vector_request(&reqlen);
	HM_CHECK(hm_enroll_hash(req, reqlen, hash, &err), &err);
	HM_CHECK(hm_enroll_refused_pt(1, "the token expired", &pt, &ptlen,
	    &err), &err);
	HM_CHECK(hm_enroll_rep_seal(v_psk, v_id, v_nc, v_ns, hash,
	    HM_ENROLL_REFUSED, pt, ptlen, &rep, len, &err), &err);
	free(pt);
	free(req);
	return rep;
}

static void
test_reply_bitflips(void **state)
{
	unsigned char	*rep, *b, hash[32];
	size_t		 len, i;

	(void)state;
	rep = vector_reply(&len, hash);
	assert_int_equal(rep_open(v_nc, hash, rep, len), HM_OK);
	for (i = 0; i < 8 * len; i++) {
		b = tu_copy(rep, len);
		b[i / 8] ^= (unsigned char)(1 << (i % 8));
		assert_int_not_equal(rep_open(v_nc, hash, b, len), HM_OK);
		free(b);
	}
	/* Flipped bits in what the AAD binds: the request's hash. */
	for (i = 0; i < 8 * sizeof(hash); i++) {
		hash[i / 8] ^= (unsigned char)(1 << (i % 8));
		assert_int_equal(rep_open(v_nc, hash, rep, len),
		    HM_E_SIGNATURE);
		hash[i / 8] ^= (unsigned char)(1 << (i % 8));
	}
	for (i = 0; i < len; i++) {
		b = tu_copy(rep, i);
		assert_int_equal(rep_open(v_nc, hash, b, i), HM_E_INVALID);
		free(b);
	}
	assert_non_null(b = calloc(1, HM_ENROLL_MAX + 1));
	memcpy(b, rep, len);
	assert_int_equal(rep_open(v_nc, hash, b, HM_ENROLL_MAX + 1),
	    HM_E_TOOBIG);
	free(b);
	free(rep);
}

/* A reply made for request A does not open for request B. */
static void
test_reply_swap(void **state)
{
	unsigned char	*a, *b, *pt, *rep, ha[32], hb[32], nb[32];
	size_t		 alen, blen, ptlen, replen;
	hm_err		 err;

	(void)state;
	memcpy(nb, v_nc, sizeof(nb));
	nb[0] ^= 0x80;
	pt = tu_unhex(V_CSR, &ptlen);
	HM_CHECK(hm_enroll_req_seal(v_psk, v_id, v_nc, pt, ptlen, &a, &alen,
	    &err), &err);
	HM_CHECK(hm_enroll_req_seal(v_psk, v_id, nb, pt, ptlen, &b, &blen,
	    &err), &err);
	free(pt);
	HM_CHECK(hm_enroll_hash(a, alen, ha, &err), &err);
	HM_CHECK(hm_enroll_hash(b, blen, hb, &err), &err);
	HM_CHECK(hm_enroll_refused_pt(2, "used", &pt, &ptlen, &err), &err);
	HM_CHECK(hm_enroll_rep_seal(v_psk, v_id, v_nc, v_ns, ha,
	    HM_ENROLL_REFUSED, pt, ptlen, &rep, &replen, &err), &err);
	assert_int_equal(rep_open(v_nc, ha, rep, replen), HM_OK);
	assert_int_equal(rep_open(nb, hb, rep, replen), HM_E_SIGNATURE);
	assert_int_equal(rep_open(v_nc, hb, rep, replen), HM_E_SIGNATURE);
	assert_int_equal(rep_open(nb, ha, rep, replen), HM_E_SIGNATURE);
	free(rep);
	free(pt);
	free(a);
	free(b);
}

static void
test_reflection(void **state)
{
	unsigned char	*req, *rep, *b, hash[32], aad[76], salt[64];
	size_t		 reqlen, replen, ptlen;

	(void)state;
	req = vector_request(&reqlen);
	rep = vector_reply(&replen, hash);
	/* A request handed back to the client; a reply to the server. */
	assert_int_equal(rep_open(v_nc, hash, req, reqlen), HM_E_INVALID);
	assert_int_equal(req_open(rep, replen, v_psk), HM_E_INVALID);

	/* A reply sealed with the request direction's key and nonce. */
	assert_non_null(b = malloc(replen));
	memcpy(b, rep, 44);
	memcpy(aad, b, 44);
	memcpy(aad + 44, hash, 32);
	{
		unsigned char *p = tu_unhex(V_REPLY_PT, &ptlen);

		raw_seal("hallmark enroll v1 request", v_nc, 32, aad,
		    sizeof(aad), p, ptlen, b + 44);
		free(p);
	}
	assert_int_equal(rep_open(v_nc, hash, b, replen), HM_E_SIGNATURE);
	/* And with the reply key but the request's salt: refused too. */
	{
		unsigned char *p = tu_unhex(V_REPLY_PT, &ptlen);

		raw_seal("hallmark enroll v1 reply", v_nc, 32, aad,
		    sizeof(aad), p, ptlen, b + 44);
		assert_int_equal(rep_open(v_nc, hash, b, replen),
		    HM_E_SIGNATURE);
		/* The right salt: accepted (the helper is faithful). */
		memcpy(salt, v_nc, 32);
		memcpy(salt + 32, v_ns, 32);
		raw_seal("hallmark enroll v1 reply", salt, 64, aad,
		    sizeof(aad), p, ptlen, b + 44);
		assert_int_equal(rep_open(v_nc, hash, b, replen), HM_OK);
		free(p);
	}
	free(b);

	/* A request sealed under the reply direction's key. */
	b = tu_copy(req, reqlen);
	{
		unsigned char	*p = tu_unhex(V_CSR, &ptlen), *q;

		assert_non_null(q = malloc(3 + ptlen));
		q[0] = 1;
		q[1] = (unsigned char)(ptlen >> 8);
		q[2] = (unsigned char)ptlen;
		memcpy(q + 3, p, ptlen);
		memcpy(salt, v_nc, 32);
		memcpy(salt + 32, v_ns, 32);
		raw_seal("hallmark enroll v1 reply", salt, 64, b, 54, q,
		    3 + ptlen, b + 54);
		assert_int_equal(req_open(b, reqlen, v_psk), HM_E_SIGNATURE);
		raw_seal("hallmark enroll v1 reply", v_nc, 32, b, 54, q,
		    3 + ptlen, b + 54);
		assert_int_equal(req_open(b, reqlen, v_psk), HM_E_SIGNATURE);
		raw_seal("hallmark enroll v1 request", v_nc, 32, b, 54, q,
		    3 + ptlen, b + 54);
		assert_int_equal(req_open(b, reqlen, v_psk), HM_OK);
		free(q);
		free(p);
	}
	free(b);
	free(rep);
	free(req);
}

/* ---- Items ------------------------------------------------------------- */

static int
req_items(const char *hex)
{
	struct hm_enroll_item	 it;
	unsigned char		*b;
	size_t			 n;
	hm_err			 err;
	int			 rc;

	b = tu_unhex(hex, &n);
	b = realloc(b, n > 0 ? n : 1);	/* exactly n: overreads show */
	it.v = NULL;
	rc = hm_enroll_req_items(b, n, &it, &err);
	if (rc == HM_OK) {
		assert_true(it.v >= b && it.v + it.len <= b + n);
	} else {
		assert_null(it.v);
		assert_true(strlen(err.msg) > 0);
	}
	free(b);
	return rc;
}

static int
rep_items(int status, const char *hex, struct hm_enroll_reply *out)
{
	struct hm_enroll_reply	 r;
	unsigned char		*b;
	size_t			 n;
	hm_err			 err;
	int			 rc;

	b = tu_unhex(hex, &n);
	b = realloc(b, n > 0 ? n : 1);
	memset(&r, 0, sizeof(r));
	rc = hm_enroll_rep_items(status, b, n, &r, &err);
	if (rc == HM_OK && out != NULL) {
		*out = r;	/* pointers into b: only counts stay valid */
		out->cert.v = out->root.v = NULL;
	}
	if (rc != HM_OK)
		assert_int_equal(r.status, 0);
	free(b);
	return rc;
}

static void
test_items_request(void **state)
{
	char	*big;
	size_t	 i;

	(void)state;
	assert_int_equal(req_items("010001aa"), HM_OK);
	assert_int_equal(req_items(""), HM_E_INVALID);		/* missing */
	assert_int_equal(req_items("010000"), HM_E_INVALID);	/* empty */
	assert_int_equal(req_items("010002aa"), HM_E_INVALID);	/* overrun */
	assert_int_equal(req_items("01ffffaa"), HM_E_INVALID);
	assert_int_equal(req_items("0100"), HM_E_INVALID);	/* header */
	assert_int_equal(req_items("01"), HM_E_INVALID);
	assert_int_equal(req_items("010001aa00"), HM_E_INVALID);
	assert_int_equal(req_items("010001aa010001bb"), HM_E_INVALID);
	assert_int_equal(req_items("020001aa"), HM_E_INVALID);	/* unknown */
	assert_int_equal(req_items("010001aa020001aa"), HM_E_INVALID);
	assert_int_equal(req_items("000001aa010001aa"), HM_E_INVALID);
	assert_int_equal(req_items("ff0001aa"), HM_E_INVALID);
	/* 8192 bytes of CSR, then 8193. */
	assert_non_null(big = malloc(2 * (3 + 8193) + 1));
	memcpy(big, "012000", 6);
	for (i = 0; i < 8192; i++)
		memcpy(big + 6 + 2 * i, "30", 2);
	big[6 + 2 * 8192] = '\0';
	assert_int_equal(req_items(big), HM_OK);
	memcpy(big, "012001", 6);
	memcpy(big + 6 + 2 * 8192, "30", 3);
	assert_int_equal(req_items(big), HM_E_INVALID);
	free(big);
}

static void
test_items_issued(void **state)
{
	struct hm_enroll_reply	 r;
	char			 hex[200];
	size_t			 i;

	(void)state;
	assert_int_equal(rep_items(0, "020001aa040001bb", &r), HM_OK);
	assert_int_equal(r.nchain, 0);
	assert_int_equal(r.status, HM_ENROLL_ISSUED);
	assert_int_equal(rep_items(0, "020001aa030001cc030002dddd040001bb",
	    &r), HM_OK);
	assert_int_equal(r.nchain, 2);
	assert_int_equal(r.chain[1].len, 2);
	/* Missing, out of order, repeated, unknown, empty, overrun. */
	assert_int_equal(rep_items(0, "", NULL), HM_E_INVALID);
	assert_int_equal(rep_items(0, "020001aa", NULL), HM_E_INVALID);
	assert_int_equal(rep_items(0, "040001bb", NULL), HM_E_INVALID);
	assert_int_equal(rep_items(0, "040001bb020001aa", NULL), HM_E_INVALID);
	assert_int_equal(rep_items(0, "020001aa040001bb030001cc", NULL),
	    HM_E_INVALID);
	assert_int_equal(rep_items(0, "030001cc020001aa040001bb", NULL),
	    HM_E_INVALID);
	assert_int_equal(rep_items(0, "020001aa020001aa040001bb", NULL),
	    HM_E_INVALID);
	assert_int_equal(rep_items(0, "020001aa040001bb040001bb", NULL),
	    HM_E_INVALID);
	assert_int_equal(rep_items(0, "020001aa050001bb040001bb", NULL),
	    HM_E_INVALID);
	assert_int_equal(rep_items(0, "010001aa040001bb", NULL), HM_E_INVALID);
	assert_int_equal(rep_items(0, "020001aa030000040001bb", NULL),
	    HM_E_INVALID);
	assert_int_equal(rep_items(0, "020001aa040002bb", NULL), HM_E_INVALID);
	assert_int_equal(rep_items(0, "020001aa040001bb00", NULL),
	    HM_E_INVALID);
	/* The refusal's items under status 0, and the other way round. */
	assert_int_equal(rep_items(0, "0500020001060001aa", NULL),
	    HM_E_INVALID);
	assert_int_equal(rep_items(1, "020001aa040001bb", NULL), HM_E_INVALID);
	assert_int_equal(rep_items(2, "020001aa040001bb", NULL), HM_E_INVALID);
	assert_int_equal(rep_items(-1, "020001aa040001bb", NULL),
	    HM_E_INVALID);
	/* 16 CA certificates, then 17. */
	memcpy(hex, "020001aa", 8);
	for (i = 0; i < 17; i++)
		memcpy(hex + 8 + 8 * i, "030001cc", 8);
	memcpy(hex + 8 + 8 * 16, "040001bb", 9);
	assert_int_equal(rep_items(0, hex, &r), HM_OK);
	assert_int_equal(r.nchain, 16);
	memcpy(hex + 8 + 8 * 16, "030001cc040001bb", 17);
	assert_int_equal(rep_items(0, hex, NULL), HM_E_INVALID);
}

static void
test_items_refused(void **state)
{
	struct hm_enroll_reply	 r;
	unsigned char		*pt;
	char			 hex[2 * (8 + 201) + 1], msg[202];
	size_t			 i, n;
	hm_err			 err;

	(void)state;
	assert_int_equal(rep_items(1, "050002ffff060002c3a9", &r), HM_OK);
	assert_int_equal(r.code, 0xffff);
	assert_string_equal(r.msg, "\xc3\xa9");
	assert_string_equal(hm_enroll_reason_name(0xffff), "refused");
	assert_string_equal(hm_enroll_reason_name(0), "refused");
	assert_string_equal(hm_enroll_reason_name(1), "token expired");
	assert_string_equal(hm_enroll_reason_name(7), "try again later");
	assert_string_equal(hm_enroll_reason_name(8), "refused");
	/* Euro sign, a four-byte emoji. */
	assert_int_equal(rep_items(1, "0500020001060008e282ac20f09f9880", &r),
	    HM_OK);
	assert_int_equal(rep_items(1, "05000200010600046f6b2121", &r), HM_OK);
	assert_string_equal(r.msg, "ok!!");
	/* The code is two bytes, no fewer, no more. */
	assert_int_equal(rep_items(1, "050001010600016f", NULL), HM_E_INVALID);
	assert_int_equal(rep_items(1, "05000300000106000161", NULL),
	    HM_E_INVALID);
	assert_int_equal(rep_items(1, "060001610500020001", NULL),
	    HM_E_INVALID);
	assert_int_equal(rep_items(1, "0500020001", NULL), HM_E_INVALID);
	assert_int_equal(rep_items(1, "06000161", NULL), HM_E_INVALID);
	assert_int_equal(rep_items(1, "050002000106000161060001", NULL),
	    HM_E_INVALID);
	assert_int_equal(rep_items(1, "050002000106000161060001", NULL),
	    HM_E_INVALID);
	assert_int_equal(rep_items(1, "050002000106000161020001aa", NULL),
	    HM_E_INVALID);
	assert_int_equal(rep_items(1, "050002000106000161040001aa", NULL),
	    HM_E_INVALID);
	assert_int_equal(rep_items(1, "0500020001060000", NULL), HM_E_INVALID);
	/* Control characters, bad UTF-8. */
	{
		static const char *const bad[] = {
			"0a", "00", "1b", "7f", "c285", "c29f",	/* controls */
			"c0af", "e080af", "f08080af",	/* overlong */
			"eda080", "edbfbf",		/* surrogates */
			"f4908080", "f8888080a0",	/* > U+10FFFF */
			"ff", "80", "c3", "e282", "c328", "61e2",
		};
		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			snprintf(hex, sizeof(hex), "0500020001060%03zx%s",
			    strlen(bad[i]) / 2, bad[i]);
			assert_int_equal(rep_items(1, hex, NULL),
			    HM_E_INVALID);
		}
	}
	assert_int_equal(rep_items(1, "0500020001060002c2a0", NULL), HM_OK);

	/* 200 bytes, then 201. */
	memcpy(hex, "05000200010600c8", 16);
	for (i = 0; i < 201; i++)
		memcpy(hex + 16 + 2 * i, "61", 2);
	hex[16 + 2 * 200] = '\0';
	assert_int_equal(rep_items(1, hex, NULL), HM_OK);
	memcpy(hex, "05000200010600c9", 16);
	hex[16 + 2 * 201] = '\0';
	assert_int_equal(rep_items(1, hex, NULL), HM_E_INVALID);

	/* The builder refuses what the reader would. */
	memset(msg, 'a', sizeof(msg));
	msg[200] = '\0';
	HM_CHECK(hm_enroll_refused_pt(7, msg, &pt, &n, &err), &err);
	assert_int_equal(n, 8 + 200);
	free(pt);
	msg[200] = 'a';
	msg[201] = '\0';
	assert_int_equal(hm_enroll_refused_pt(7, msg, &pt, &n, &err),
	    HM_E_INVALID);
	assert_int_equal(hm_enroll_refused_pt(7, "", &pt, &n, &err),
	    HM_E_INVALID);
	assert_int_equal(hm_enroll_refused_pt(7, NULL, &pt, &n, &err),
	    HM_E_INVALID);
	assert_int_equal(hm_enroll_refused_pt(7, "two\nlines", &pt, &n, &err),
	    HM_E_INVALID);
	assert_int_equal(hm_enroll_refused_pt(7, "\xc3", &pt, &n, &err),
	    HM_E_INVALID);
	assert_int_equal(hm_enroll_refused_pt(0x10000, "x", &pt, &n, &err),
	    HM_E_INVALID);
}

/* What rep_seal is given is checked before it is sealed. */
static void
test_seal_checks(void **state)
{
	struct hm_enroll_item	 c = { (const unsigned char *)"c", 1 };
	struct hm_enroll_item	 big, chain[17];
	unsigned char		*pt, *body, hash[32] = { 0 };
	size_t			 n, len, i;
	hm_err			 err;

	(void)state;
	assert_int_equal(hm_enroll_rep_seal(v_psk, v_id, v_nc, v_ns, hash,
	    HM_ENROLL_ISSUED, (const unsigned char *)"\x05\x00\x02\x00\x01"
	    "\x06\x00\x01x", 9, &body, &len, &err), HM_E_INVALID);
	assert_int_equal(hm_enroll_rep_seal(v_psk, v_id, v_nc, v_ns, hash, 2,
	    (const unsigned char *)"\x05\x00\x02\x00\x01\x06\x00\x01x", 9,
	    &body, &len, &err), HM_E_INVALID);
	HM_CHECK(hm_enroll_rep_seal(v_psk, v_id, v_nc, v_ns, hash,
	    HM_ENROLL_REFUSED, (const unsigned char *)"\x05\x00\x02\x00\x01"
	    "\x06\x00\x01x", 9, &body, &len, &err), &err);
	assert_int_equal(len, 44 + 9 + 16);
	free(body);

	for (i = 0; i < 17; i++)
		chain[i] = c;
	HM_CHECK(hm_enroll_issued_pt(&c, chain, 16, &c, &pt, &n, &err), &err);
	assert_int_equal(n, 18 * 4);
	free(pt);
	assert_int_equal(hm_enroll_issued_pt(&c, chain, 17, &c, &pt, &n,
	    &err), HM_E_INVALID);
	/* The largest plaintext a reply holds, and one byte more. */
	n = HM_ENROLL_MAX - 44 - 16 - 3 - 4;
	assert_non_null(big.v = calloc(1, n + 1));
	big.len = n;
	HM_CHECK(hm_enroll_issued_pt(&big, NULL, 0, &c, &pt, &n, &err), &err);
	HM_CHECK(hm_enroll_rep_seal(v_psk, v_id, v_nc, v_ns, hash,
	    HM_ENROLL_ISSUED, pt, n, &body, &len, &err), &err);
	assert_int_equal(len, HM_ENROLL_MAX);
	assert_int_equal(rep_open(v_nc, hash, body, len), HM_OK);
	free(body);
	free(pt);
	big.len++;
	assert_int_equal(hm_enroll_issued_pt(&big, NULL, 0, &c, &pt, &n,
	    &err), HM_E_TOOBIG);
	big.len = 0;
	assert_int_equal(hm_enroll_issued_pt(&big, NULL, 0, &c, &pt, &n,
	    &err), HM_E_TOOBIG);
	free((void *)big.v);
}

/* ---- The client --------------------------------------------------------- */

/* A server in a few lines: what lib/enroll.c gives it to do its part. */
struct server {
	unsigned char	psk[32];
	char		token[HM_TOKEN_LEN + 1];
};

static void
server_new(struct server *s)
{
	unsigned char	id[10];

	assert_int_equal(RAND_bytes(s->psk, sizeof(s->psk)), 1);
	assert_int_equal(RAND_bytes(id, sizeof(id)), 1);
	assert_int_equal(hm_token_format(id, s->psk, s->token), HM_OK);
}

static hm_cert *
issue_for(hm_signer *s, const hm_key *key, hm_profile_id profile)
{
	hm_issue_req	 req;
	hm_names	*sans;
	hm_csr		*csr;
	hm_cert		*c;
	hm_err		 err;

	assert_non_null(sans = hm_names_new());
	HM_CHECK(hm_names_add(sans, "dns:host.example", &err), &err);
	HM_CHECK(hm_csr_new(key, "host.example", sans, &csr, &err), &err);
	memset(&req, 0, sizeof(req));
	req.profile = profile;
	req.csr = csr;
	HM_CHECK(hm_issue(s, &req, &c, NULL, &err), &err);
	hm_csr_free(csr);
	hm_names_free(sans);
	return c;
}

static void
item_x509(struct hm_enroll_item *it, X509 *x, unsigned char **der)
{
	int	len;

	*der = NULL;
	assert_true((len = i2d_X509(x, der)) > 0);
	it->v = *der;
	it->len = (size_t)len;
}

/*
 * Open req as the server would, check the CSR it carries, and seal a
 * reply holding c, the CA certificates v[0..n) and root.
 */
static unsigned char *
reply_issued(const struct server *s, const unsigned char *req, size_t reqlen,
    const hm_cert *c, X509 *const *v, size_t n, X509 *rootx, size_t *len)
{
	struct hm_enroll_req	 h;
	struct hm_enroll_item	 cert, chain[4], ri;
	unsigned char		*csrder, *der[5], *pt, *rep, hash[32], ns[32];
	size_t			 csrlen, ptlen, i;
	hm_csr			*csr;
	hm_err			 err;

	HM_CHECK(hm_enroll_req_parse(req, reqlen, &h, &err), &err);
	HM_CHECK(hm_enroll_req_open(&h, req, reqlen, s->psk, &csrder, &csrlen,
	    &err), &err);
	HM_CHECK(hm_csr_parse(csrder, csrlen, &csr, &err), &err);
	hm_csr_free(csr);
	free(csrder);
	HM_CHECK(hm_enroll_hash(req, reqlen, hash, &err), &err);
	cert.v = hm_cert_der(c, &cert.len);
	for (i = 0; i < n; i++)
		item_x509(&chain[i], v[i], &der[i]);
	item_x509(&ri, rootx, &der[4]);
	HM_CHECK(hm_enroll_issued_pt(&cert, chain, n, &ri, &pt, &ptlen,
	    &err), &err);
	assert_int_equal(RAND_bytes(ns, sizeof(ns)), 1);
	HM_CHECK(hm_enroll_rep_seal(s->psk, h.id, h.nonce_c, ns, hash,
	    HM_ENROLL_ISSUED, pt, ptlen, &rep, len, &err), &err);
	for (i = 0; i < n; i++)
		OPENSSL_free(der[i]);
	OPENSSL_free(der[4]);
	free(pt);
	return rep;
}

static hm_enroll *
client_new(const struct server *s, const hm_key *key)
{
	hm_enroll	*e;
	hm_csr		*csr;
	hm_err		 err;

	HM_CHECK(hm_csr_new(key, "host.example", NULL, &csr, &err), &err);
	HM_CHECK(hm_enroll_new(s->token, csr, &e, &err), &err);
	hm_csr_free(csr);
	return e;
}

static int
count_pem(const char *pem)
{
	int	n = 0;

	while ((pem = strstr(pem, "-----BEGIN CERTIFICATE-----")) != NULL) {
		n++;
		pem++;
	}
	return n;
}

static void
test_finish(void **state)
{
	struct server		 s;
	hm_enroll		*e;
	hm_key			*key;
	hm_cert			*c;
	const unsigned char	*req, *p;
	const unsigned char	*req2;
	unsigned char		*rep;
	X509			*v[2], *x;
	size_t			 reqlen, replen, req2len;
	hm_err			 err;
	BIO			*b;

	(void)state;
	server_new(&s);
	HM_CHECK(hm_key_generate(HM_KEY_P256, &key, &err), &err);
	e = client_new(&s, key);
	req = hm_enroll_request(e, &reqlen);
	assert_true(reqlen > HM_ENROLL_REQ_HDR);
	/* Retries send the same bytes. */
	p = hm_enroll_request(e, &req2len);
	assert_ptr_equal(p, req);
	assert_int_equal(req2len, reqlen);

	c = issue_for(issuing, key, HM_PROFILE_SERVER);
	v[0] = sk_X509_value(issuing->chain, 0);
	v[1] = sk_X509_value(issuing->chain, 1);
	assert_int_equal(sk_X509_num(issuing->chain), 2);
	rep = reply_issued(&s, req, reqlen, c, v, 2, issuing->root, &replen);
	HM_CHECK(hm_enroll_finish(e, key, rep, replen, &err), &err);
	assert_int_equal(count_pem(hm_enroll_cert_pem(e)), 1);
	assert_int_equal(count_pem(hm_enroll_chain_pem(e)), 2);
	assert_int_equal(count_pem(hm_enroll_ca_pem(e)), 1);
	/* The certificate written is the one issued. */
	assert_non_null(b = BIO_new_mem_buf(hm_enroll_cert_pem(e), -1));
	assert_non_null(x = PEM_read_bio_X509(b, NULL, NULL, NULL));
	assert_int_equal(X509_cmp(x, c->x509), 0);
	X509_free(x);
	BIO_free(b);
	/* A chain file, issuer first. */
	assert_non_null(b = BIO_new_mem_buf(hm_enroll_chain_pem(e), -1));
	assert_non_null(x = PEM_read_bio_X509(b, NULL, NULL, NULL));
	assert_int_equal(X509_cmp(x, issuing->cert), 0);
	X509_free(x);
	BIO_free(b);
	free(rep);
	hm_cert_free(c);

	/* A client certificate: verified for clientAuth, no chain. */
	c = issue_for(root, key, HM_PROFILE_CLIENT);
	rep = reply_issued(&s, req, reqlen, c, NULL, 0, root->root, &replen);
	HM_CHECK(hm_enroll_finish(e, key, rep, replen, &err), &err);
	assert_string_equal(hm_enroll_chain_pem(e), "");
	free(rep);
	hm_cert_free(c);

	/* The reply to another request (same token) does not open. */
	{
		hm_enroll	*e2 = client_new(&s, key);

		req2 = hm_enroll_request(e2, &req2len);
		c = issue_for(root, key, HM_PROFILE_CLIENT);
		rep = reply_issued(&s, req2, req2len, c, NULL, 0, root->root,
		    &replen);
		assert_int_equal(hm_enroll_finish(e, key, rep, replen, &err),
		    HM_E_SIGNATURE);
		assert_string_equal(err.msg, "the reply was not made for this "
		    "request (wrong token, or altered on the way)");
		HM_CHECK(hm_enroll_finish(e2, key, rep, replen, &err), &err);
		free(rep);
		hm_cert_free(c);
		hm_enroll_free(e2);
	}
	hm_enroll_free(e);
	hm_key_free(key);
}

static void
test_finish_refused(void **state)
{
	struct server	 s;
	hm_enroll	*e;
	hm_key		*key, *key2;
	hm_cert		*c;
	const unsigned char *req;
	unsigned char	*rep, *pt, hash[32], ns[32];
	struct hm_enroll_req h;
	X509		*v[2];
	size_t		 reqlen, replen, ptlen;
	hm_err		 err;

	(void)state;
	server_new(&s);
	HM_CHECK(hm_key_generate(HM_KEY_ED25519, &key, &err), &err);
	HM_CHECK(hm_key_generate(HM_KEY_ED25519, &key2, &err), &err);
	e = client_new(&s, key);
	req = hm_enroll_request(e, &reqlen);
	v[0] = sk_X509_value(issuing->chain, 0);
	v[1] = sk_X509_value(issuing->chain, 1);

	/* A certificate for another key. */
	c = issue_for(issuing, key2, HM_PROFILE_SERVER);
	rep = reply_issued(&s, req, reqlen, c, v, 2, issuing->root, &replen);
	assert_int_equal(hm_enroll_finish(e, key, rep, replen, &err),
	    HM_E_INVALID);
	assert_non_null(strstr(err.msg, "another key"));
	assert_null(hm_enroll_cert_pem(e));
	/* key2 would take it: the check is the key's, nothing else. */
	HM_CHECK(hm_enroll_finish(e, key2, rep, replen, &err), &err);
	free(rep);
	hm_cert_free(c);

	c = issue_for(issuing, key, HM_PROFILE_SERVER);
	/* Another CA's root. */
	rep = reply_issued(&s, req, reqlen, c, v, 2, other_root->root,
	    &replen);
	assert_int_equal(hm_enroll_finish(e, key, rep, replen, &err),
	    HM_E_SIGNATURE);
	assert_non_null(strstr(err.msg, "does not verify"));
	free(rep);
	/* The chain without one of its CAs. */
	rep = reply_issued(&s, req, reqlen, c, v, 1, issuing->root, &replen);
	assert_int_equal(hm_enroll_finish(e, key, rep, replen, &err),
	    HM_E_SIGNATURE);
	free(rep);
	/* The chain in the wrong order. */
	{
		X509	*w[3] = { v[1], v[0], NULL };

		rep = reply_issued(&s, req, reqlen, c, w, 2, issuing->root,
		    &replen);
		assert_int_equal(hm_enroll_finish(e, key, rep, replen, &err),
		    HM_E_INVALID);
		assert_non_null(strstr(err.msg, "order"));
		free(rep);
		/* A certificate that is not on the path. */
		w[0] = v[0];
		w[1] = v[1];
		w[2] = other_root->root;
		rep = reply_issued(&s, req, reqlen, c, w, 3, issuing->root,
		    &replen);
		assert_int_equal(hm_enroll_finish(e, key, rep, replen, &err),
		    HM_E_INVALID);
		free(rep);
	}
	/* An intermediate given as the root. */
	rep = reply_issued(&s, req, reqlen, c, v, 1, v[1], &replen);
	assert_int_equal(hm_enroll_finish(e, key, rep, replen, &err),
	    HM_E_SIGNATURE);
	free(rep);
	/* Every bit of an issued reply matters. */
	rep = reply_issued(&s, req, reqlen, c, v, 2, issuing->root, &replen);
	{
		size_t	 i;

		for (i = 44; i < replen; i += 37) {
			rep[i] ^= 0x10;
			assert_int_equal(hm_enroll_finish(e, key, rep, replen,
			    &err), HM_E_SIGNATURE);
			rep[i] ^= 0x10;
		}
	}
	HM_CHECK(hm_enroll_finish(e, key, rep, replen, &err), &err);
	free(rep);
	hm_cert_free(c);

	/* A sealed refusal. */
	HM_CHECK(hm_enroll_req_parse(req, reqlen, &h, &err), &err);
	HM_CHECK(hm_enroll_hash(req, reqlen, hash, &err), &err);
	HM_CHECK(hm_enroll_refused_pt(HM_ENROLL_R_SCOPE,
	    "dns:evil.example is not in the token's names", &pt, &ptlen,
	    &err), &err);
	memset(ns, 7, sizeof(ns));
	HM_CHECK(hm_enroll_rep_seal(s.psk, h.id, h.nonce_c, ns, hash,
	    HM_ENROLL_REFUSED, pt, ptlen, &rep, &replen, &err), &err);
	assert_int_equal(hm_enroll_finish(e, key, rep, replen, &err),
	    HM_E_REFUSED);
	assert_string_equal(err.msg, "the CA refused: dns:evil.example is not "
	    "in the token's names (name outside the token's scope)");
	free(rep);
	free(pt);

	/* The same refusal under another PSK (a wrong token). */
	{
		struct server	t;

		server_new(&t);
		HM_CHECK(hm_enroll_refused_pt(1, "expired", &pt, &ptlen,
		    &err), &err);
		HM_CHECK(hm_enroll_rep_seal(t.psk, h.id, h.nonce_c, ns, hash,
		    HM_ENROLL_REFUSED, pt, ptlen, &rep, &replen, &err), &err);
		assert_int_equal(hm_enroll_finish(e, key, rep, replen, &err),
		    HM_E_SIGNATURE);
		free(rep);
		free(pt);
	}
	/* Garbage. */
	assert_int_equal(hm_enroll_finish(e, key, (const unsigned char *)
	    "refused", 7, &err), HM_E_INVALID);
	hm_enroll_free(e);

	/* A mistyped token. */
	{
		hm_csr	*csr;
		char	 t[HM_TOKEN_LEN + 1];

		memcpy(t, s.token, sizeof(t));
		t[40] = t[40] == 'a' ? 'b' : 'a';
		HM_CHECK(hm_csr_new(key, "host.example", NULL, &csr, &err),
		    &err);
		e = (hm_enroll *)&err;
		assert_int_equal(hm_enroll_new(t, csr, &e, &err),
		    HM_E_INVALID);
		assert_ptr_equal(e, (hm_enroll *)&err);
		assert_non_null(strstr(err.msg, "mistyped?"));
		hm_csr_free(csr);
	}
	hm_key_free(key);
	hm_key_free(key2);
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

/*
 * Seeds for fuzz/enroll.c, which opens requests and replies with the
 * vectors' PSK and binding: valid bodies reach the items codec.
 */
static void
test_corpus(void **state)
{
	static const unsigned char issued_pt[] =
	    "\x02\x00\x05\x30\x03\x02\x01\x01"
	    "\x03\x00\x05\x30\x03\x02\x01\x02"
	    "\x04\x00\x05\x30\x03\x02\x01\x03";
	static const unsigned char refused_pt[] =
	    "\x05\x00\x02\x00\x07\x06\x00\x0ctry \xc3\xa0 later";
	static const unsigned char bad_pt[] =
	    "\x04\x00\x01\x01\x02\x00\x01\x01";
	const char	*dir = getenv("HM_ENROLL_CORPUS");
	unsigned char	*req, *rep, hash[32], *b;
	size_t		 reqlen, replen, len;
	hm_err		 err;

	(void)state;
	if (dir == NULL)
		skip();
	req = vector_request(&reqlen);
	HM_CHECK(hm_enroll_hash(req, reqlen, hash, &err), &err);
	corpus_file(dir, "req-valid", req, reqlen);
	b = tu_copy(req, reqlen);
	b[reqlen - 1] ^= 1;
	corpus_file(dir, "req-bad-tag", b, reqlen);
	b[0] = 'X';
	corpus_file(dir, "req-bad-magic", b, reqlen);
	free(b);
	corpus_file(dir, "req-short", req, 60);
	b = tu_copy(req, reqlen);
	b[53]++;
	corpus_file(dir, "req-bad-length", b, reqlen);
	free(b);

	rep = vector_reply(&replen, hash);
	corpus_file(dir, "rep-refused", rep, replen);
	b = tu_copy(rep, replen);
	b[6] = 2;
	corpus_file(dir, "rep-bad-status", b, replen);
	free(b);
	corpus_file(dir, "rep-short", rep, 50);
	free(rep);
	HM_CHECK(hm_enroll_rep_seal(v_psk, v_id, v_nc, v_ns, hash,
	    HM_ENROLL_ISSUED, issued_pt, sizeof(issued_pt) - 1, &rep, &replen,
	    &err), &err);
	corpus_file(dir, "rep-issued", rep, replen);
	free(rep);
	HM_CHECK(hm_enroll_rep_seal(v_psk, v_id, v_nc, v_ns, hash,
	    HM_ENROLL_REFUSED, refused_pt, sizeof(refused_pt) - 1, &rep,
	    &replen, &err), &err);
	corpus_file(dir, "rep-refused-utf8", rep, replen);
	free(rep);

	{
		unsigned char pt[3 + 200];

		b = tu_unhex(V_CSR, &len);
		pt[0] = 1;
		pt[1] = 0;
		pt[2] = (unsigned char)len;
		memcpy(pt + 3, b, len);
		corpus_file(dir, "pt-request", pt, 3 + len);
		free(b);
	}
	corpus_file(dir, "pt-issued", issued_pt, sizeof(issued_pt) - 1);
	corpus_file(dir, "pt-refused", refused_pt, sizeof(refused_pt) - 1);
	corpus_file(dir, "pt-bad-order", bad_pt, sizeof(bad_pt) - 1);
	corpus_file(dir, "empty", (const unsigned char *)"", 0);
	free(req);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_token),
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_vectors_raw),
		cmocka_unit_test(test_request_bitflips),
		cmocka_unit_test(test_request_truncated),
		cmocka_unit_test(test_request_oversize),
		cmocka_unit_test(test_reply_bitflips),
		cmocka_unit_test(test_reply_swap),
		cmocka_unit_test(test_reflection),
		cmocka_unit_test(test_items_request),
		cmocka_unit_test(test_items_issued),
		cmocka_unit_test(test_items_refused),
		cmocka_unit_test(test_seal_checks),
		cmocka_unit_test(test_finish),
		cmocka_unit_test(test_finish_refused),
		cmocka_unit_test(test_corpus),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
