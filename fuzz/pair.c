/*
 * libFuzzer harness: the pairing codec of lib/pair.c on arbitrary bytes,
 * read as each of its six messages.  Whatever decodes must encode back to
 * exactly the bytes it came from: every message has one spelling, which
 * the code of section 2.2 relies on (it hashes the bodies as sent).
 * The initiator reads the bytes as an accept too.
 *
 * Built with -DHM_FUZZ_RUNNER and fuzz/runner.c it is a plain program
 * instead, for CTest and builds without libFuzzer: the corpus
 * (fuzz/corpus/pair, from test_corpus of tests/unit/test_pair.c) is a
 * regression test under any compiler and sanitizer.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Encoded again, b must be the input exactly. */
static void
same(int rc, unsigned char *b, size_t blen, const uint8_t *data, size_t len)
{
	if (rc != HM_OK || blen != len || memcmp(b, data, len) != 0)
		abort();
	free(b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct hm_pair_commit	 c;
	struct hm_pair_accept	 a;
	struct hm_pair_reveal	 r;
	unsigned char		 id[HM_PAIR_ID_LEN], *b = NULL;
	size_t			 blen = 0, n;
	hm_pair			*p;
	hm_err			 err;
	int			 rc, state;

	if (hm_pair_commit_decode(data, len, &c, &err) == HM_OK) {
		n = strnlen(c.name, sizeof(c.name));
		if (n == 0 || n > 64 || (c.profile != HM_PROFILE_SERVER &&
		    c.profile != HM_PROFILE_CLIENT &&
		    c.profile != HM_PROFILE_BOTH))
			abort();
		rc = hm_pair_commit_encode(&c, &b, &blen, &err);
		same(rc, b, blen, data, len);
	}
	if (hm_pair_accept_decode(data, len, &a, &err) == HM_OK) {
		rc = hm_pair_accept_encode(&a, &b, &blen, &err);
		same(rc, b, blen, data, len);
	}
	if (hm_pair_reveal_decode(data, len, &r, &err) == HM_OK) {
		rc = hm_pair_reveal_encode(&r, &b, &blen, &err);
		same(rc, b, blen, data, len);
	}
	if (hm_pair_id_decode("HMPD", data, len, id, &err) == HM_OK) {
		rc = hm_pair_id_encode("HMPD", id, &b, &blen, &err);
		same(rc, b, blen, data, len);
	}
	if (hm_pair_id_decode("HMPS", data, len, id, &err) == HM_OK) {
		rc = hm_pair_id_encode("HMPS", id, &b, &blen, &err);
		same(rc, b, blen, data, len);
	}
	if (hm_pair_state_decode(data, len, &state, &err) == HM_OK) {
		if (state != HM_PAIR_WAITING && state != HM_PAIR_APPROVED &&
		    state != HM_PAIR_ENDED)
			abort();
		rc = hm_pair_state_encode(state, &b, &blen, &err);
		same(rc, b, blen, data, len);
	}
	/* The initiator: a code of 6 digits exactly when it took it. */
	if (hm_pair_new("node-1", HM_PROFILE_CLIENT, &p, &err) != HM_OK)
		abort();
	rc = hm_pair_accepted(p, data, len, &err);
	if (strlen(hm_pair_code(p)) != (rc == HM_OK ? 6 : 0))
		abort();
	hm_pair_free(p);
	return 0;
}

#ifdef HM_FUZZ_RUNNER
/* Beyond HM_PAIR_MAX, so that the cap itself is exercised (runner.c). */
const size_t hm_fuzz_runner_max = HM_PAIR_MAX + 1024;
#endif
