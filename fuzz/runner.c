/*
 * The corpus runner: with a harness built with -DHM_FUZZ_RUNNER, a plain
 * program that runs every file of the directories named on its command
 * line through LLVMFuzzerTestOneInput, each in a buffer of exactly its
 * size, so that a sanitizer sees any overread.  Inputs are read up to the
 * harness's hm_fuzz_runner_max bytes.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const size_t hm_fuzz_runner_max;
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
run_file(const char *path, unsigned char *buf)
{
	unsigned char	*exact;
	FILE		*f;
	size_t		 n;

	if ((f = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	n = fread(buf, 1, hm_fuzz_runner_max, f);
	if (ferror(f)) {
		fprintf(stderr, "%s: read error\n", path);
		fclose(f);
		return -1;
	}
	fclose(f);
	if ((exact = malloc(n > 0 ? n : 1)) == NULL) {
		fprintf(stderr, "out of memory\n");
		return -1;
	}
	if (n > 0)
		memcpy(exact, buf, n);
	LLVMFuzzerTestOneInput(exact, n);
	free(exact);
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
	if ((buf = malloc(hm_fuzz_runner_max)) == NULL) {
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
