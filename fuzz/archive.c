/*
 * libFuzzer harness: the archives of lib/backup.c (docs/PROTOCOL.md,
 * section 3) on arbitrary bytes.  Read as each kind of Archive, what
 * decodes must hold only names of its kind's set, within the bounds,
 * and must encode to DER that decodes to the very same entries.  Read
 * as a CMS envelope, nothing may open under a key the bytes were not
 * sealed for (one made at start, that no input can know).
 *
 * Built with -DHM_FUZZ_RUNNER and fuzz/runner.c it is a plain program
 * instead, for CTest and builds without libFuzzer: the corpus
 * (fuzz/corpus/archive, from fuzz/gen-archive-corpus.sh) is a regression
 * test under any compiler and sanitizer.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "internal.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static EVP_PKEY	*stranger;

/* An entry as the reader must leave it. */
static void
entry_check(const struct hm_arc_entry *e)
{
	size_t	n = strnlen(e->name, sizeof(e->name));

	if (n == 0 || n > HM_ARC_NAME_MAX || e->name[0] == '/' ||
	    strstr(e->name, "..") != NULL || e->mode > 07777 ||
	    (e->len > 0 && e->data == NULL))
		abort();
}

static void
same(const struct hm_arc *a, const struct hm_arc *b)
{
	size_t	i;

	if (a->n != b->n || a->kind != b->kind || a->created != b->created)
		abort();
	for (i = 0; i < a->n; i++)
		if (strcmp(a->v[i].name, b->v[i].name) != 0 ||
		    a->v[i].mode != b->v[i].mode ||
		    a->v[i].len != b->v[i].len || (a->v[i].len > 0 &&
		    memcmp(a->v[i].data, b->v[i].data, a->v[i].len) != 0))
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct hm_arc	 a, b;
	unsigned char	*der = NULL, *pt = NULL;
	size_t		 dlen = 0, ptlen = 0, i;
	hm_err		 err;
	int		 kind;

	for (kind = HM_ARC_SIGNERS; kind <= HM_ARC_BACKUP; kind++) {
		memset(&a, 0, sizeof(a));
		memset(&b, 0, sizeof(b));
		if (hm_arc_decode(data, len, kind, &a, &err) != HM_OK)
			continue;
		if (a.n == 0 || a.n > HM_ARCHIVE_ENTRIES_MAX || a.kind != kind)
			abort();
		for (i = 0; i < a.n; i++)
			entry_check(&a.v[i]);
		if (hm_arc_encode(&a, &der, &dlen, &err) != HM_OK ||
		    hm_arc_decode(der, dlen, kind, &b, &err) != HM_OK)
			abort();
		same(&a, &b);
		OPENSSL_clear_free(der, dlen);
		hm_arc_clear(&a);
		hm_arc_clear(&b);
	}
	if (stranger == NULL && (stranger = EVP_EC_gen("P-256")) == NULL)
		abort();
	if (hm_arc_open(data, len, stranger, NULL, &pt, &ptlen, &err) ==
	    HM_OK)
		abort();
	return 0;
}

#ifdef HM_FUZZ_RUNNER
/* Beyond HM_ARCHIVE_MAX, so that the cap itself is exercised (runner.c). */
const size_t hm_fuzz_runner_max = HM_ARCHIVE_MAX + 1024;
#endif
