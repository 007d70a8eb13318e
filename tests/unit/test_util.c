/* lib/util.c: durations, atomic file writes, capped file reads. */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "testutil.h"

static void
dur_ok(const char *s, int64_t want)
{
	int64_t	secs = -1;
	hm_err	err = { 0, "" };

	HM_CHECK(hm_duration_parse(s, &secs, &err), &err);
	if (secs != want)
		fail_msg("'%s' gave %lld seconds, want %lld", s,
		    (long long)secs, (long long)want);
}

static void
dur_bad(const char *s)
{
	int64_t	secs = 4242;
	hm_err	err = { 0, "" };
	int	rc;

	rc = hm_duration_parse(s, &secs, &err);
	if (rc == HM_OK)
		fail_msg("accepted duration '%s'", s == NULL ? "(null)" : s);
	assert_int_equal(rc, HM_E_INVALID);
	assert_int_equal(err.code, HM_E_INVALID);
	assert_true(strlen(err.msg) > 0);
	/* Out-parameters are written only on success. */
	assert_int_equal(secs, 4242);
}

static void
test_duration_valid(void **state)
{
	(void)state;
	dur_ok("12h", 12 * 3600);
	dur_ok("90d", 90 * 86400);
	dur_ok("10y", 10 * 365LL * 86400);
	dur_ok("15m", 15 * 60);
	dur_ok("30s", 30);
	dur_ok("1s", 1);
	dur_ok("100y", 100 * 365LL * 86400);	/* the limit itself */
	dur_ok("36500d", 100 * 365LL * 86400);
}

static void
test_duration_invalid(void **state)
{
	(void)state;
	dur_bad("");
	dur_bad("0d");
	dur_bad("0s");
	dur_bad("10");
	dur_bad("d");
	dur_bad("5w");
	dur_bad("-1d");
	dur_bad("+1d");
	dur_bad(" 1d");
	dur_bad("1d ");
	dur_bad("1 d");
	dur_bad("101y");
	dur_bad("36501d");
	dur_bad("3153600001s");		/* 100 years + 1 second */
	dur_bad("1d2");
	dur_bad("1dd");
	dur_bad("1D");
	dur_bad("1.5d");
	dur_bad("99999999999999999999999d");	/* would overflow */
	dur_bad(NULL);
}

/*
 * The library is linked statically, so this fchmod(2) replaces libc's for
 * it: it records the mode of the temporary file just before it is set to
 * the final one.  A secret must never exist with wider rights, not even
 * for the moment between the write and the fchmod.
 */
static int	before_fchmod = -1;

int
fchmod(int fd, mode_t mode)
{
	struct stat	st;

	if (fstat(fd, &st) == 0)
		before_fchmod = (int)(st.st_mode & 07777);
	return (int)syscall(SYS_fchmod, fd, mode);
}

/* A fresh, empty directory under the test's temporary directory. */
static const char *
fresh_dir(const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s", tu_path(name));
	if (mkdir(buf, 0700) == -1)
		fail_msg("mkdir %s: %s", buf, strerror(errno));
	return buf;
}

/* Number of entries in dir other than . and .., names copied into list. */
static int
dir_entries(const char *dir, char *list, size_t len)
{
	DIR		*d;
	struct dirent	*e;
	int		 n = 0;

	list[0] = '\0';
	if ((d = opendir(dir)) == NULL)
		fail_msg("opendir %s: %s", dir, strerror(errno));
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		n++;
		if (strlen(list) + strlen(e->d_name) + 2 < len) {
			strncat(list, e->d_name, len - strlen(list) - 1);
			strncat(list, " ", len - strlen(list) - 1);
		}
	}
	closedir(d);
	return n;
}

static void
assert_only_entry(const char *dir, const char *name)
{
	char	list[1024];
	int	n;

	n = dir_entries(dir, list, sizeof(list));
	if (n != 1 || strncmp(list, name, strlen(name)) != 0 ||
	    list[strlen(name)] != ' ')
		fail_msg("%s holds '%s', want only '%s'", dir, list, name);
}

static void
assert_content(const char *path, const char *want)
{
	char	 buf[4096];
	size_t	 n;
	FILE	*f;

	if ((f = fopen(path, "rb")) == NULL)
		fail_msg("fopen %s: %s", path, strerror(errno));
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	assert_int_equal(n, strlen(want));
	assert_memory_equal(buf, want, n);
}

static unsigned
file_mode(const char *path)
{
	struct stat	st;

	if (lstat(path, &st) == -1)
		fail_msg("stat %s: %s", path, strerror(errno));
	assert_true(S_ISREG(st.st_mode));
	return st.st_mode & 07777;
}

static void
test_file_write_mode(void **state)
{
	char		 dirbuf[512];
	const char	*dir = fresh_dir("mode", dirbuf, sizeof(dirbuf));
	char		 path[600];
	hm_err		 err = { 0, "" };
	mode_t		 old;

	(void)state;
	/* A permissive umask must not widen a key file... */
	old = umask(0);
	snprintf(path, sizeof(path), "%s/key.pem", dir);
	before_fchmod = -1;
	HM_CHECK(hm_file_write(path, "secret\n", 7, 0600, 0, &err), &err);
	assert_int_equal(file_mode(path), 0600);
	assert_content(path, "secret\n");
	/* ...not even while the temporary file is being written. */
	if (before_fchmod != -1 && (before_fchmod & 077) != 0)
		fail_msg("temporary file had mode %04o", before_fchmod);
	before_fchmod = -1;
	snprintf(path, sizeof(path), "%s/pub.pem", dir);
	HM_CHECK(hm_file_write(path, "public\n", 7, 0644, 0, &err), &err);
	assert_int_equal(file_mode(path), 0644);
	if (before_fchmod != -1 && (before_fchmod & 077) != 0)
		fail_msg("temporary file had mode %04o", before_fchmod);
	/* ...and a strict one must not narrow a public file. */
	umask(077);
	snprintf(path, sizeof(path), "%s/cert.pem", dir);
	HM_CHECK(hm_file_write(path, "public\n", 7, 0644, 0, &err), &err);
	assert_int_equal(file_mode(path), 0644);
	umask(022);
	snprintf(path, sizeof(path), "%s/empty", dir);
	HM_CHECK(hm_file_write(path, "", 0, 0400, 0, &err), &err);
	assert_int_equal(file_mode(path), 0400);
	assert_content(path, "");
	umask(old);
}

static void
test_file_write_no_force(void **state)
{
	char		 dirbuf[512];
	const char	*dir = fresh_dir("noforce", dirbuf, sizeof(dirbuf));
	char		 path[600];
	hm_err		 err = { 0, "" };

	(void)state;
	snprintf(path, sizeof(path), "%s/f", dir);
	HM_CHECK(hm_file_write(path, "first\n", 6, 0600, 0, &err), &err);
	assert_only_entry(dir, "f");
	assert_content(path, "first\n");

	assert_int_equal(hm_file_write(path, "second\n", 7, 0644, 0, &err),
	    HM_E_EXISTS);
	assert_int_equal(err.code, HM_E_EXISTS);
	assert_true(strlen(err.msg) > 0);
	assert_content(path, "first\n");
	assert_int_equal(file_mode(path), 0600);
	assert_only_entry(dir, "f");
}

/*
 * A dangling symlink passes an access(2) check but must still not be
 * replaced: this reaches the link(2) path that guards against races.
 */
static void
test_file_write_dangling_symlink(void **state)
{
	char		 dirbuf[512];
	const char	*dir = fresh_dir("symlink", dirbuf, sizeof(dirbuf));
	char		 path[600], target[600], got[600];
	hm_err		 err = { 0, "" };
	ssize_t		 n;

	(void)state;
	snprintf(path, sizeof(path), "%s/link", dir);
	snprintf(target, sizeof(target), "%s/nowhere", tu_tmpdir());
	assert_int_equal(symlink(target, path), 0);
	assert_int_equal(hm_file_write(path, "x", 1, 0600, 0, &err),
	    HM_E_EXISTS);
	assert_int_equal(err.code, HM_E_EXISTS);
	assert_true(strlen(err.msg) > 0);
	n = readlink(path, got, sizeof(got) - 1);
	assert_true(n > 0);
	got[n] = '\0';
	assert_string_equal(got, target);
	assert_int_equal(access(target, F_OK), -1);
	/* Only the symlink: no temporary file left behind. */
	{
		char	list[1024];

		assert_int_equal(dir_entries(dir, list, sizeof(list)), 1);
		assert_string_equal(list, "link ");
	}
}

static void
test_file_write_force(void **state)
{
	char		 dirbuf[512];
	const char	*dir = fresh_dir("force", dirbuf, sizeof(dirbuf));
	char		 path[600];
	hm_err		 err = { 0, "" };

	(void)state;
	snprintf(path, sizeof(path), "%s/f", dir);
	/* HM_F_FORCE on a path that does not exist yet creates it. */
	HM_CHECK(hm_file_write(path, "first\n", 6, 0644, HM_F_FORCE, &err),
	    &err);
	assert_content(path, "first\n");
	assert_int_equal(file_mode(path), 0644);
	assert_only_entry(dir, "f");

	HM_CHECK(hm_file_write(path, "second, longer\n", 15, 0600, HM_F_FORCE,
	    &err), &err);
	assert_content(path, "second, longer\n");
	assert_int_equal(file_mode(path), 0600);
	assert_only_entry(dir, "f");

	HM_CHECK(hm_file_write(path, "3\n", 2, 0600, HM_F_FORCE, &err), &err);
	assert_content(path, "3\n");
	assert_only_entry(dir, "f");
}

static void
test_file_write_bad_dir(void **state)
{
	hm_err	err = { 0, "" };
	int	rc;

	(void)state;
	rc = hm_file_write(tu_path("no/such/dir/f"), "x", 1, 0600, 0, &err);
	assert_int_equal(rc, HM_E_IO);
	assert_int_equal(err.code, HM_E_IO);
	assert_true(strlen(err.msg) > 0);
	rc = hm_file_write(tu_path("no/such/dir/f"), "x", 1, 0600,
	    HM_F_FORCE, &err);
	assert_int_equal(rc, HM_E_IO);
}

static void
test_file_read(void **state)
{
	char		 dirbuf[512];
	const char	*dir = fresh_dir("read", dirbuf, sizeof(dirbuf));
	char		 path[600], data[100];
	unsigned char	*buf = NULL;
	unsigned char	*sentinel = (unsigned char *)"untouched";
	size_t		 len = 0;
	hm_err		 err = { 0, "" };

	(void)state;
	memset(data, 'A', sizeof(data));
	snprintf(path, sizeof(path), "%s/f", dir);
	HM_CHECK(hm_file_write(path, data, sizeof(data), 0600, 0, &err), &err);

	/* Exactly max bytes: fine. */
	HM_CHECK(hm_file_read(path, sizeof(data), &buf, &len, &err), &err);
	assert_int_equal(len, sizeof(data));
	assert_memory_equal(buf, data, sizeof(data));
	free(buf);
	HM_CHECK(hm_file_read(path, 1 << 20, &buf, &len, &err), &err);
	assert_int_equal(len, sizeof(data));
	free(buf);

	/* One over: refused, out-parameters untouched. */
	buf = sentinel;
	len = 777;
	assert_int_equal(hm_file_read(path, sizeof(data) - 1, &buf, &len,
	    &err), HM_E_TOOBIG);
	assert_int_equal(err.code, HM_E_TOOBIG);
	assert_true(strlen(err.msg) > 0);
	assert_ptr_equal(buf, sentinel);
	assert_int_equal(len, 777);
	assert_int_equal(hm_file_read(path, 0, &buf, &len, &err),
	    HM_E_TOOBIG);
	assert_ptr_equal(buf, sentinel);

	/* Missing file. */
	err.code = 0;
	err.msg[0] = '\0';
	assert_int_equal(hm_file_read(tu_path("read/missing"), 100, &buf,
	    &len, &err), HM_E_NOTFOUND);
	assert_int_equal(err.code, HM_E_NOTFOUND);
	assert_true(strlen(err.msg) > 0);
	assert_ptr_equal(buf, sentinel);
	assert_int_equal(len, 777);

	/* A directory is not a file. */
	err.msg[0] = '\0';
	assert_int_equal(hm_file_read(dir, 100, &buf, &len, &err), HM_E_IO);
	assert_true(strlen(err.msg) > 0);
	assert_ptr_equal(buf, sentinel);

	/* Nor is a FIFO, and opening one without a writer must not hang. */
	assert_int_equal(mkfifo(tu_path("read/fifo"), 0600), 0);
	err.msg[0] = '\0';
	assert_int_equal(hm_file_read(tu_path("read/fifo"), 100, &buf, &len,
	    &err), HM_E_IO);
	assert_non_null(strstr(err.msg, "not a regular file"));
	assert_ptr_equal(buf, sentinel);

	/*
	 * A file whose size says one thing and whose content another, as
	 * one that grows while being read: procfs files claim 0 bytes.
	 */
	buf = sentinel;
	len = 777;
	assert_int_equal(hm_file_read("/proc/self/status", 100, &buf, &len,
	    &err), HM_E_TOOBIG);
	assert_ptr_equal(buf, sentinel);
	assert_int_equal(len, 777);

	/* Empty file: zero bytes, fine. */
	snprintf(path, sizeof(path), "%s/empty", dir);
	HM_CHECK(hm_file_write(path, "", 0, 0600, 0, &err), &err);
	HM_CHECK(hm_file_read(path, 10, &buf, &len, &err), &err);
	assert_int_equal(len, 0);
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_duration_valid),
		cmocka_unit_test(test_duration_invalid),
		cmocka_unit_test(test_file_write_mode),
		cmocka_unit_test(test_file_write_no_force),
		cmocka_unit_test(test_file_write_dangling_symlink),
		cmocka_unit_test(test_file_write_force),
		cmocka_unit_test(test_file_write_bad_dir),
		cmocka_unit_test(test_file_read),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
