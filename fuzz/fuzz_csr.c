/* libFuzzer harness: hm_csr_parse on arbitrary bytes (PEM or DER). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "hallmark/hallmark.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	hm_csr	*c = NULL;
	hm_err	 err;
	char	*text;

	if (hm_csr_parse(data, len, &c, &err) == HM_OK) {
		if (hm_csr_describe(c, &text, &err) == HM_OK)
			free(text);
		hm_csr_free(c);
	}
	return 0;
}
