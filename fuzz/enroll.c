/*
 * libFuzzer harness: the enrollment codec of lib/enroll.c on arbitrary
 * bytes, read as a request (header, then opened with a fixed PSK), as a
 * reply (opened with the same PSK and a fixed request), and as the
 * plaintext items of each.  The PSK and binding are the test vectors of
 * docs/PROTOCOL.md section 1.8, so that the valid bodies of the corpus
 * (fuzz/gen-enroll-corpus.sh) open and reach the items codec.
 *
 * Built with -DHM_FUZZ_RUNNER and fuzz/runner.c it is a plain program
 * instead, for CTest and builds without libFuzzer: the corpus is a
 * regression test under any compiler and sanitizer.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* psk 00..1f, psk_id f0..f9, nonce_c 40..5f (section 1.8). */
static const unsigned char psk[HM_PSK_LEN] = {
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
	0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
	0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
	0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
};
static const unsigned char id[HM_PSK_ID_LEN] = {
	0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9,
};
static const unsigned char nonce_c[HM_ENROLL_NONCE_LEN] = {
	0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47,
	0x48, 0x49, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x4f,
	0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57,
	0x58, 0x59, 0x5a, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f,
};
/* SHA-256 of the vector request. */
static const unsigned char req_hash[HM_ENROLL_HASH_LEN] = {
	0x33, 0xeb, 0xd5, 0xa2, 0xd5, 0x77, 0x8d, 0xae,
	0x5c, 0x0a, 0x78, 0x24, 0xc5, 0x65, 0x74, 0xff,
	0x41, 0xa5, 0x05, 0x0f, 0x90, 0x08, 0xa7, 0x73,
	0xab, 0x4b, 0x0c, 0xa8, 0x39, 0xfc, 0x9d, 0xc4,
};

/* An item must lie inside [b, b + len) and hold something. */
static void
inside(const struct hm_enroll_item *it, const unsigned char *b, size_t len)
{
	if (it->len == 0 || it->v < b || it->len > len ||
	    it->v + it->len > b + len)
		abort();
}

static void
reply_check(const struct hm_enroll_reply *r, const unsigned char *b,
    size_t len)
{
	size_t	i;

	if (r->status == HM_ENROLL_ISSUED) {
		if (r->nchain > HM_ENROLL_CHAIN_MAX)
			abort();
		inside(&r->cert, b, len);
		inside(&r->root, b, len);
		for (i = 0; i < r->nchain; i++)
			inside(&r->chain[i], b, len);
	} else if (r->status == HM_ENROLL_REFUSED) {
		if (r->code > 0xffff || strlen(r->msg) == 0 ||
		    strlen(r->msg) > HM_ENROLL_MSG_MAX)
			abort();
		(void)hm_enroll_reason_name(r->code);
	} else
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct hm_enroll_req	 h;
	struct hm_enroll_reply	 r;
	struct hm_enroll_item	 it;
	unsigned char		*csr;
	size_t			 csrlen;
	hm_err			 err;
	int			 status;

	if (hm_enroll_req_parse(data, len, &h, &err) == HM_OK) {
		if (h.ct != data + HM_ENROLL_REQ_HDR ||
		    h.ctlen != len - HM_ENROLL_REQ_HDR)
			abort();
		if (hm_enroll_req_open(&h, data, len, psk, &csr, &csrlen,
		    &err) == HM_OK) {
			if (csrlen == 0 || csrlen > HM_ENROLL_CSR_MAX)
				abort();
			free(csr);
		}
	}
	memset(&r, 0, sizeof(r));
	if (hm_enroll_rep_open(psk, id, nonce_c, req_hash, data, len, &r,
	    &err) == HM_OK) {
		reply_check(&r, r.pt, r.ptlen);
		hm_enroll_reply_clear(&r);
	}
	if (hm_enroll_req_items(data, len, &it, &err) == HM_OK)
		inside(&it, data, len);
	for (status = 0; status < 2; status++) {
		memset(&r, 0, sizeof(r));
		if (hm_enroll_rep_items(status, data, len, &r, &err) == HM_OK)
			reply_check(&r, data, len);
	}
	return 0;
}

#ifdef HM_FUZZ_RUNNER
/* Beyond HM_ENROLL_MAX, so that the cap itself is exercised (runner.c). */
const size_t hm_fuzz_runner_max = HM_ENROLL_MAX + 1024;
#endif
