/*
 * libFuzzer harness: hm_cfg_parse on arbitrary bytes (the hierarchy file).
 *
 * Built with -DHM_FUZZ_RUNNER it is a plain program instead, for CTest and
 * builds without libFuzzer: it runs every file of the directories named on
 * its command line through LLVMFuzzerTestOneInput, so that the corpus is a
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
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Beyond HM_CFG_MAX, so that the cap itself is exercised. */
#define RUNNER_MAX	(HM_CFG_MAX + 1024)

static int
run_file(const char *path, unsigned char *buf)
{
	FILE	*f;
	size_t	 n;

	if ((f = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	n = fread(buf, 1, RUNNER_MAX, f);
	if (ferror(f)) {
		fprintf(stderr, "%s: read error\n", path);
		fclose(f);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, n);
	return 0;
}

int
main(int argc, char *argv[])
{
	struct dirent	*de;
	struct stat	 st;
	unsigned char	*buf;
	char		 path[4096];
	DIR		*d;
	int		 i, n = 0, bad = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s corpus-dir ...\n", argv[0]);
		return 2;
	}
	if ((buf = malloc(RUNNER_MAX)) == NULL) {
		fprintf(stderr, "out of memory\n");
		return 1;
	}
	for (i = 1; i < argc; i++) {
		if ((d = opendir(argv[i])) == NULL) {
			fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
			bad++;
			continue;
		}
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			if (snprintf(path, sizeof(path), "%s/%s", argv[i],
			    de->d_name) >= (int)sizeof(path) ||
			    stat(path, &st) == -1 || !S_ISREG(st.st_mode))
				continue;
			if (run_file(path, buf) == -1)
				bad++;
			else
				n++;
		}
		closedir(d);
	}
	free(buf);
	printf("%d inputs run\n", n);
	if (n == 0) {
		fprintf(stderr, "no inputs found\n");
		return 1;
	}
	return bad != 0;
}
#endif /* HM_FUZZ_RUNNER */
