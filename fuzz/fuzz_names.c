/* libFuzzer harness: SAN specs, common names and durations from text. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hallmark/hallmark.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	hm_names	*n;
	hm_err		 err;
	int64_t		 secs;
	char		*s;

	if ((s = malloc(len + 1)) == NULL)
		return 0;
	memcpy(s, data, len);
	s[len] = '\0';
	if ((n = hm_names_new()) != NULL) {
		hm_names_add(n, s, &err);
		hm_names_free(n);
	}
	hm_cn_check(s, &err);
	hm_duration_parse(s, &secs, &err);
	free(s);
	return 0;
}
