/*
 * libFuzzer harness: hm_cfg_parse on arbitrary bytes (the hierarchy file).
 *
 * Built with -DHM_FUZZ_RUNNER and fuzz/runner.c it is a plain program
 * instead, for CTest and builds without libFuzzer: the corpus is a
 * regression test under any compiler and sanitizer.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "hallmark/hallmark.h"
#include "config.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct hm_cfg	*c = NULL;
	hm_err		 err;

	if (hm_cfg_parse((const char *)data, len, "fuzz.yaml", "/nonexistent",
	    &c, &err) == HM_OK) {
		/* What a caller would touch. */
		if (hm_cfg_ca_find(c, "root") != &c->root)
			abort();
		hm_cfg_free(c);
	}
	return 0;
}

#ifdef HM_FUZZ_RUNNER
/* Beyond HM_CFG_MAX, so that the cap itself is exercised (runner.c). */
const size_t hm_fuzz_runner_max = HM_CFG_MAX + 1024;
#endif
