/*
 * lib/store_sqlite.c: schema and its version, durability settings, file
 * mode, uniqueness, list filters and order, and the query plans.
 */
#include <sys/stat.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "testutil.h"

/*
 * Migrations in store_sqlite.c.  Adding one must bump this: the test then
 * proves a fresh store gets every one of them.
 */
#define MIGRATIONS	9

/* The connection the library opened last, seen through auto_extension. */
static sqlite3	*lib_db;

/*
 * Runs as each connection opens, before the library's own settings: start
 * every connection from the unsafe values, so that what the tests read
 * afterwards is what the library set, not SQLite's compiled-in defaults
 * (Debian's are synchronous=FULL already).
 */
static int
capture_db(sqlite3 *db, const char **errmsg, const void *api)
{
	(void)errmsg;
	(void)api;
	lib_db = db;
	return sqlite3_exec(db, "PRAGMA synchronous = OFF; "
	    "PRAGMA foreign_keys = OFF; PRAGMA trusted_schema = ON", NULL,
	    NULL, NULL);
}

static int
setup(void **state)
{
	(void)state;
	/* Called for every connection opened in this process. */
	assert_int_equal(sqlite3_auto_extension((void (*)(void))capture_db),
	    SQLITE_OK);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	sqlite3_reset_auto_extension();
	return 0;
}

static hm_store *
store_new(const char *name)
{
	hm_store	*st;
	hm_err		 err;

	HM_CHECK(hm_store_sqlite_open(tu_path(name), 1, &st, &err), &err);
	return st;
}

/* A direct connection to the file, not through the library. */
static sqlite3 *
db_open(const char *name)
{
	sqlite3	*db;

	assert_int_equal(sqlite3_open_v2(tu_path(name), &db,
	    SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	return db;
}

static sqlite3_int64
pragma_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt	*st;
	sqlite3_int64	 v;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static void
pragma_text(sqlite3 *db, const char *sql, char *buf, size_t len)
{
	sqlite3_stmt	*st;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	snprintf(buf, len, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
}

static const unsigned char	der[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };

static void
rec_init(hm_cert_rec *r, const char *serial, const char *ca, time_t na)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->info.serial, sizeof(r->info.serial), "%s", serial);
	snprintf(r->info.ca, sizeof(r->info.ca), "%s", ca);
	snprintf(r->info.subject, sizeof(r->info.subject), "CN=%s", serial);
	snprintf(r->info.issuer, sizeof(r->info.issuer), "CN=%s CA", ca);
	snprintf(r->info.sans, sizeof(r->info.sans), "dns:%s.test", serial);
	snprintf(r->info.profile, sizeof(r->info.profile), "server");
	snprintf(r->info.status, sizeof(r->info.status), "valid");
	memset(r->info.spki_sha256, 'a', 64);
	r->info.not_before = na - 1000;
	r->info.not_after = na;
	r->info.issued_at = na - 900;
	r->der = der;
	r->derlen = sizeof(der);
}

static void
insert(hm_store *st, const char *serial, const char *ca, time_t na)
{
	hm_cert_rec	r;
	hm_err		err;

	rec_init(&r, serial, ca, na);
	HM_CHECK(st->ops->cert_insert(st, &r, &err), &err);
}

struct rows {
	char	v[16][41];
	size_t	n;
};

static int
rows_cb(const hm_cert_info *ci, void *arg)
{
	struct rows	*r = arg;

	assert_true(r->n < 16);
	snprintf(r->v[r->n++], sizeof(r->v[0]), "%s", ci->serial);
	return 0;
}

/* The serials list() returns for the filter, joined with spaces. */
static void
list(hm_store *st, const char *ca, time_t now, time_t before, char *buf,
    size_t len)
{
	hm_list_filter	f;
	struct rows	r;
	hm_err		err;
	size_t		i, o = 0;

	memset(&f, 0, sizeof(f));
	memset(&r, 0, sizeof(r));
	f.ca = ca;
	f.now = now;
	f.expiring_before = before;
	HM_CHECK(st->ops->cert_list(st, &f, rows_cb, &r, &err), &err);
	buf[0] = '\0';
	for (i = 0; i < r.n; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? " " : "",
		    r.v[i]);
	assert_true(o < len);
}

static void
test_fresh_store(void **state)
{
	hm_store	*st;
	sqlite3		*db;
	char		 buf[32];

	(void)state;
	lib_db = NULL;
	st = store_new("fresh.db");
	/* The library's own connection: per-connection settings. */
	assert_non_null(lib_db);
	assert_int_equal(pragma_int(lib_db, "PRAGMA synchronous"), 2);
	assert_int_equal(pragma_int(lib_db, "PRAGMA foreign_keys"), 1);
	assert_int_equal(pragma_int(lib_db, "PRAGMA trusted_schema"), 0);
	pragma_text(lib_db, "PRAGMA journal_mode", buf, sizeof(buf));
	assert_string_equal(buf, "wal");
	hm_store_close(st);

	/* The file itself: persistent settings. */
	db = db_open("fresh.db");
	/* (capture_db's starting value, so the 2 above is the library's) */
	assert_int_equal(pragma_int(db, "PRAGMA synchronous"), 0);
	assert_int_equal(pragma_int(db, "PRAGMA user_version"), MIGRATIONS);
	pragma_text(db, "PRAGMA journal_mode", buf, sizeof(buf));
	assert_string_equal(buf, "wal");
	assert_int_equal(pragma_int(db, "SELECT count(*) FROM sqlite_master "
	    "WHERE type = 'table' AND name IN ('cas', 'certs', 'crls', "
	    "'tokens', 'pairings', 'settings')"), 6);
	/* Wiped PSKs and replaced rows leave no copy in free pages. */
	assert_int_equal(pragma_int(db, "PRAGMA secure_delete"), 1);
	sqlite3_close(db);

	/* The sqlite3 program reads the same. */
	assert_int_equal(tu_sh("test \"$(sqlite3 '%s' 'PRAGMA user_version; "
	    "PRAGMA journal_mode')\" = \"$(printf '%d\\nwal')\"",
	    tu_path("fresh.db"), MIGRATIONS), 0);
}

static void
test_file_mode(void **state)
{
	struct stat	 sb;
	hm_store	*st;
	mode_t		 old;

	(void)state;
	/* Even with a permissive umask. */
	old = umask(0);
	st = store_new("mode.db");
	umask(old);
	assert_int_equal(stat(tu_path("mode.db"), &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	insert(st, "41", "root", 1000);
	/* The WAL holds the same data: it must be as private. */
	if (stat(tu_path("mode.db-wal"), &sb) == 0)
		assert_int_equal(sb.st_mode & 0077, 0);
	hm_store_close(st);
	assert_int_equal(stat(tu_path("mode.db"), &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
}

static void
test_duplicate_serial(void **state)
{
	hm_store	*st = store_new("dup.db");
	hm_cert_rec	 r;
	hm_cert_info	 ci;
	unsigned char	*d = NULL;
	size_t		 dlen = 0;
	hm_err		 err = { 0, "" };
	char		 buf[256];

	(void)state;
	insert(st, "4a01", "root", 5000);
	rec_init(&r, "4a01", "other", 6000);
	assert_int_equal(st->ops->cert_insert(st, &r, &err), HM_E_EXISTS);
	assert_int_equal(err.code, HM_E_EXISTS);
	assert_non_null(strstr(err.msg, "4a01"));
	list(st, NULL, 0, 0, buf, sizeof(buf));
	assert_string_equal(buf, "4a01");

	/* The first one is intact, every field round-trips. */
	HM_CHECK(st->ops->cert_get(st, "4a01", &ci, &d, &dlen, &err), &err);
	assert_string_equal(ci.serial, "4a01");
	assert_string_equal(ci.ca, "root");
	assert_string_equal(ci.subject, "CN=4a01");
	assert_string_equal(ci.issuer, "CN=root CA");
	assert_string_equal(ci.sans, "dns:4a01.test");
	assert_string_equal(ci.profile, "server");
	assert_string_equal(ci.status, "valid");
	assert_int_equal(strlen(ci.spki_sha256), 64);
	assert_int_equal(ci.not_before, 4000);
	assert_int_equal(ci.not_after, 5000);
	assert_int_equal(ci.issued_at, 4100);
	assert_int_equal(dlen, sizeof(der));
	assert_memory_equal(d, der, sizeof(der));
	free(d);
	assert_int_equal(st->ops->cert_get(st, "4a02", &ci, NULL, NULL, &err),
	    HM_E_NOTFOUND);

	/* Inside a transaction too; the transaction survives it. */
	HM_CHECK(st->ops->begin(st, &err), &err);
	insert(st, "4a03", "root", 7000);
	assert_int_equal(st->ops->cert_insert(st, &r, &err), HM_E_EXISTS);
	HM_CHECK(st->ops->commit(st, &err), &err);
	list(st, NULL, 0, 0, buf, sizeof(buf));
	assert_string_equal(buf, "4a01 4a03");
	hm_store_close(st);
}

static void
test_transactions(void **state)
{
	hm_store	*st = store_new("tx.db");
	hm_err		 err;
	char		 buf[256];

	(void)state;
	HM_CHECK(st->ops->begin(st, &err), &err);
	insert(st, "51", "root", 100);
	assert_int_equal(st->ops->begin(st, &err), HM_E_INTERNAL);
	st->ops->rollback(st);
	list(st, NULL, 0, 0, buf, sizeof(buf));
	assert_string_equal(buf, "");
	HM_CHECK(st->ops->begin(st, &err), &err);
	insert(st, "52", "root", 100);
	HM_CHECK(st->ops->commit(st, &err), &err);
	st->ops->rollback(st);		/* nothing open: no effect */
	list(st, NULL, 0, 0, buf, sizeof(buf));
	assert_string_equal(buf, "52");
	hm_store_close(st);
}

static void
test_list_filters(void **state)
{
	hm_store	*st = store_new("list.db");
	const time_t	 now = 1700000000;
	char		 buf[256];

	(void)state;
	/* Inserted out of order on purpose. */
	insert(st, "a1", "mid", now + 500);
	insert(st, "a2", "root", now + 50);
	insert(st, "a3", "mid", now - 10);		/* expired */
	insert(st, "a4", "root", now + 5000);
	insert(st, "a5", "mid", now + 40);
	insert(st, "a6", "root", now + 100);		/* on the bound */
	insert(st, "a0", "mid", now + 500);		/* tie with a1 */
	insert(st, "a7", "other", now + 60);
	insert(st, "a8", "mid", now);			/* ends now */

	list(st, NULL, 0, 0, buf, sizeof(buf));
	assert_string_equal(buf, "a3 a8 a5 a2 a7 a6 a0 a1 a4");
	list(st, "mid", 0, 0, buf, sizeof(buf));
	assert_string_equal(buf, "a3 a8 a5 a0 a1");
	list(st, "root", 0, 0, buf, sizeof(buf));
	assert_string_equal(buf, "a2 a6 a4");
	list(st, "nosuch", 0, 0, buf, sizeof(buf));
	assert_string_equal(buf, "");
	/* Expiring: after now, at or before the bound. */
	list(st, NULL, now, now + 100, buf, sizeof(buf));
	assert_string_equal(buf, "a5 a2 a7 a6");
	list(st, NULL, now, now + 1000, buf, sizeof(buf));
	assert_string_equal(buf, "a5 a2 a7 a6 a0 a1");
	list(st, "mid", now, now + 1000, buf, sizeof(buf));
	assert_string_equal(buf, "a5 a0 a1");
	list(st, "root", now, now + 99, buf, sizeof(buf));
	assert_string_equal(buf, "a2");
	list(st, NULL, now + 5000, now + 9000, buf, sizeof(buf));
	assert_string_equal(buf, "");
	hm_store_close(st);
}

static int
stop_cb(const hm_cert_info *ci, void *arg)
{
	(void)ci;
	return ++*(int *)arg == 2 ? 42 : 0;
}

static void
test_list_stops(void **state)
{
	hm_store	*st = store_new("stop.db");
	hm_list_filter	 f;
	hm_err		 err;
	int		 n = 0;

	(void)state;
	insert(st, "61", "root", 1);
	insert(st, "62", "root", 2);
	insert(st, "63", "root", 3);
	memset(&f, 0, sizeof(f));
	/* A callback's non-zero return stops the walk and is returned. */
	assert_int_equal(st->ops->cert_list(st, &f, stop_cb, &n, &err), 42);
	assert_int_equal(n, 2);
	hm_store_close(st);
}

/* Settings: written once, kept across opens, absent until written. */
static void
test_settings(void **state)
{
	hm_store	*st = store_new("settings.db");
	hm_err		 err = { 0, "" };
	char		 buf[16] = "untouched";

	(void)state;
	assert_int_equal(st->ops->setting_get(st, "offline", buf,
	    sizeof(buf), &err), HM_E_NOTFOUND);
	assert_string_equal(buf, "untouched");
	HM_CHECK(st->ops->setting_set(st, "offline", "1", &err), &err);
	assert_int_equal(st->ops->setting_set(st, "offline", "0", &err),
	    HM_E_EXISTS);
	hm_store_close(st);
	HM_CHECK(hm_store_sqlite_open(tu_path("settings.db"), 0, &st, &err),
	    &err);
	HM_CHECK(st->ops->setting_get(st, "offline", buf, sizeof(buf), &err),
	    &err);
	assert_string_equal(buf, "1");
	hm_store_close(st);
}

static void
test_reopen(void **state)
{
	hm_store	*st = store_new("reopen.db");
	hm_store	*st2 = (hm_store *)&st2;
	hm_ca_info	 ca, back;
	hm_err		 err = { 0, "" };
	char		 buf[256];
	sqlite3		*db;

	(void)state;
	insert(st, "71", "root", 10);
	insert(st, "72", "root", 20);
	memset(&ca, 0, sizeof(ca));
	snprintf(ca.name, sizeof(ca.name), "root");
	snprintf(ca.serial, sizeof(ca.serial), "7f");
	snprintf(ca.subject, sizeof(ca.subject), "CN=R");
	ca.pathlen = -1;
	ca.not_before = 1;
	ca.not_after = 99;
	ca.key_type = HM_KEY_P384;
	HM_CHECK(st->ops->ca_insert(st, &ca, &err), &err);
	hm_store_close(st);

	/* Creating over it is refused; opening keeps everything. */
	assert_int_equal(hm_store_sqlite_open(tu_path("reopen.db"), 1, &st2,
	    &err), HM_E_EXISTS);
	assert_ptr_equal(st2, (hm_store *)&st2);
	HM_CHECK(hm_store_sqlite_open(tu_path("reopen.db"), 0, &st, &err),
	    &err);
	list(st, NULL, 0, 0, buf, sizeof(buf));
	assert_string_equal(buf, "71 72");
	HM_CHECK(st->ops->ca_get(st, "root", &back, &err), &err);
	assert_string_equal(back.serial, "7f");
	assert_string_equal(back.parent, "");
	assert_int_equal(back.pathlen, -1);
	assert_int_equal(back.key_type, HM_KEY_P384);
	assert_int_equal(back.not_after, 99);
	insert(st, "73", "root", 30);
	hm_store_close(st);

	/* No migration ran twice. */
	db = db_open("reopen.db");
	assert_int_equal(pragma_int(db, "PRAGMA user_version"), MIGRATIONS);
	assert_int_equal(pragma_int(db, "SELECT count(*) FROM certs"), 3);
	sqlite3_close(db);

	/* Opening what is not there. */
	assert_int_equal(hm_store_sqlite_open(tu_path("nosuch.db"), 0, &st2,
	    &err), HM_E_NOTFOUND);
	assert_int_equal(access(tu_path("nosuch.db"), F_OK), -1);
	assert_int_equal(hm_store_sqlite_open(tu_path("nodir/x.db"), 1, &st2,
	    &err), HM_E_IO);
	assert_ptr_equal(st2, (hm_store *)&st2);
}

static void
test_future_version(void **state)
{
	hm_store	*st = store_new("future.db");
	hm_store	*st2 = (hm_store *)&st2;
	hm_err		 err = { 0, "" };
	sqlite3		*db;
	char		 sql[64];

	(void)state;
	insert(st, "81", "root", 10);
	hm_store_close(st);
	db = db_open("future.db");
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", MIGRATIONS + 1);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	assert_int_equal(hm_store_sqlite_open(tu_path("future.db"), 0, &st2,
	    &err), HM_E_STORE);
	assert_int_equal(err.code, HM_E_STORE);
	assert_non_null(strstr(err.msg, "newer"));
	assert_ptr_equal(st2, (hm_store *)&st2);

	/* Refused without touching it. */
	db = db_open("future.db");
	assert_int_equal(pragma_int(db, "PRAGMA user_version"),
	    MIGRATIONS + 1);
	assert_int_equal(pragma_int(db, "SELECT count(*) FROM certs"), 1);
	sqlite3_close(db);
}

static void
test_not_a_store(void **state)
{
	hm_store	*st = (hm_store *)&st;
	hm_err		 err = { 0, "" };
	char		 junk[4096];

	(void)state;
	memset(junk, 'x', sizeof(junk));
	tu_write(tu_path("junk.db"), junk, sizeof(junk));
	assert_int_equal(hm_store_sqlite_open(tu_path("junk.db"), 0, &st,
	    &err), HM_E_STORE);
	assert_ptr_equal(st, (hm_store *)&st);

	/* A symbolic link is not followed. */
	hm_store_close(store_new("real.db"));
	assert_int_equal(symlink(tu_path("real.db"), tu_path("link.db")), 0);
	assert_int_equal(hm_store_sqlite_open(tu_path("link.db"), 0, &st,
	    &err), HM_E_STORE);
	assert_ptr_equal(st, (hm_store *)&st);
}

/*
 * Migration 8 (certs with rowids, replies in their own table) keeps
 * every row: a store written at version 7 with a certificate, a revoked
 * one and a used token reads the same after.
 */
static void
test_migration_8(void **state)
{
	static const unsigned char	 reply[] = "sealed reply bytes";
	hm_store			*st;
	hm_cert_info			 back;
	unsigned char			*d;
	size_t				 dlen;
	struct hm_token_rec		 tr;
	hm_err				 err;
	sqlite3				*db;
	sqlite3_stmt			*q;

	(void)state;
	HM_CHECK(hm_store_sqlite_create_at(tu_path("v7.db"), 7, &err), &err);
	db = db_open("v7.db");
	assert_int_equal(pragma_int(db, "PRAGMA user_version"), 7);
	assert_int_equal(sqlite3_exec(db,
	    "INSERT INTO cas (name, serial, subject, pathlen, depth, "
	    "  not_before, not_after, key_type, created_at) "
	    "  VALUES ('root', '01', 'CN=r', -1, 0, 0, 99, 'p256', 0);"
	    "INSERT INTO certs (serial, ca, subject, issuer, sans, "
	    "  not_before, not_after, profile, status, spki_sha256, "
	    "  issued_at, der) VALUES ('0a', 'root', 'CN=a', 'CN=r', '', "
	    "  1, 50, 'server', 'valid', 'ab', 1, x'3003020101');"
	    "INSERT INTO certs (serial, ca, subject, issuer, sans, "
	    "  not_before, not_after, profile, status, spki_sha256, "
	    "  issued_at, der, revoked_at, reason) VALUES ('0b', 'root', "
	    "  'CN=b', 'CN=r', '', 1, 60, 'server', 'revoked', 'cd', 2, "
	    "  x'3003020102', 7, 1);"
	    "INSERT INTO tokens (id, psk, ca, name, profile, sans, "
	    "  created_at, expires_at, state, used_at, serial, req_hash, "
	    "  reply) VALUES ('t1', NULL, 'root', 'a', 'server', '', 0, 9, 1, "
	    "  3, '0a', zeroblob(32), CAST('sealed reply bytes' AS BLOB));"
	    "INSERT INTO tokens (id, psk, ca, name, profile, sans, "
	    "  created_at, expires_at, state) VALUES ('t2', zeroblob(32), "
	    "  'root', 'b', 'client', '', 0, 9, 0);", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);

	HM_CHECK(hm_store_sqlite_open(tu_path("v7.db"), 0, &st, &err), &err);
	HM_CHECK(st->ops->cert_get(st, "0a", &back, &d, &dlen, &err), &err);
	assert_string_equal(back.subject, "CN=a");
	assert_int_equal(dlen, 5);
	assert_int_equal(d[4], 1);
	free(d);
	HM_CHECK(st->ops->cert_get(st, "0b", &back, NULL, NULL, &err), &err);
	assert_string_equal(back.status, "revoked");
	HM_CHECK(st->ops->token_get(st, "t1", &tr, &err), &err);
	assert_int_equal(tr.replylen, sizeof(reply) - 1);
	assert_memory_equal(tr.reply, reply, sizeof(reply) - 1);
	hm_token_rec_clear(&tr);
	HM_CHECK(st->ops->token_get(st, "t2", &tr, &err), &err);
	assert_null(tr.reply);
	assert_true(tr.has_psk);
	hm_token_rec_clear(&tr);
	hm_store_close(st);

	db = db_open("v7.db");
	assert_int_equal(pragma_int(db, "PRAGMA user_version"), MIGRATIONS);
	assert_int_equal(pragma_int(db, "SELECT count(*) FROM certs"), 2);
	/* The old column is emptied, its bytes in replies only. */
	assert_int_equal(pragma_int(db, "SELECT count(*) FROM tokens "
	    "WHERE reply IS NOT NULL"), 0);
	assert_int_equal(pragma_int(db, "SELECT count(*) FROM replies"), 1);
	/* A certs table with rowids: no WITHOUT ROWID left in its SQL. */
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT sql FROM "
	    "sqlite_master WHERE name = 'certs'", -1, &q, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_null(strstr((const char *)sqlite3_column_text(q, 0),
	    "WITHOUT ROWID"));
	sqlite3_finalize(q);
	sqlite3_close(db);
}

/* The plan of sql on the store's schema, one detail line after another. */
static void
query_plan(sqlite3 *db, const char *sql, char *buf, size_t len)
{
	sqlite3_stmt	*st;
	char		 q[512];
	size_t		 o = 0;

	snprintf(q, sizeof(q), "EXPLAIN QUERY PLAN %s", sql);
	assert_int_equal(sqlite3_prepare_v2(db, q, -1, &st, NULL), SQLITE_OK);
	buf[0] = '\0';
	while (sqlite3_step(st) == SQLITE_ROW)
		o += (size_t)snprintf(buf + o, len - o, "%s\n",
		    (const char *)sqlite3_column_text(st, 3));
	assert_true(o < len);
	sqlite3_finalize(st);
}

/* A search (not a scan) with index, in index order (no sort step). */
static int
searches(const char *plan, const char *index)
{
	char	want[128];

	snprintf(want, sizeof(want), "INDEX %s (", index);
	return strncmp(plan, "SEARCH certs USING ", 19) == 0 &&
	    strstr(plan, want) != NULL && strstr(plan, "SCAN") == NULL &&
	    strstr(plan, "TEMP B-TREE") == NULL;
}

#define COLS "SELECT serial, ca, subject, issuer, sans, not_before, " \
	"not_after, profile, status, spki_sha256, issued_at FROM certs"

static void
test_query_plans(void **state)
{
	hm_store	*st = store_new("plan.db");
	sqlite3		*db;
	char		 plan[1024], s[8];
	int		 i;

	(void)state;
	for (i = 0; i < 200; i++) {
		snprintf(s, sizeof(s), "%x", 0x100 + i);
		insert(st, s, i % 3 ? "root" : "mid", 1000 + i);
	}
	hm_store_close(st);
	db = db_open("plan.db");

	/* The expiring query: a range search on not_after, no sort. */
	query_plan(db, COLS " WHERE not_after > ? AND not_after <= ? "
	    "ORDER BY not_after, serial", plan, sizeof(plan));
	if (!searches(plan, "certs_not_after"))
		fail_msg("expiring query plan:\n%s", plan);

	/* Per CA, with and without the window. */
	query_plan(db, COLS " WHERE ca = ? AND not_after > ? AND "
	    "not_after <= ? ORDER BY not_after, serial", plan, sizeof(plan));
	if (!searches(plan, "certs_ca_not_after"))
		fail_msg("expiring-per-CA query plan:\n%s", plan);
	query_plan(db, COLS " WHERE ca = ? ORDER BY not_after, serial", plan,
	    sizeof(plan));
	if (!searches(plan, "certs_ca_not_after"))
		fail_msg("per-CA query plan:\n%s", plan);

	/* Look-up by serial: the primary key's index. */
	query_plan(db, "SELECT der FROM certs WHERE serial = ?", plan,
	    sizeof(plan));
	if (strstr(plan, "SEARCH certs USING INDEX sqlite_autoindex_certs_1 "
	    "(serial=?)") == NULL)
		fail_msg("serial look-up plan:\n%s", plan);
	sqlite3_close(db);
}

static int
ca_name_cb(const hm_ca_info *ci, void *arg)
{
	char	*buf = arg;

	snprintf(buf + strlen(buf), 256 - strlen(buf), "%s%s",
	    buf[0] ? " " : "", ci->name);
	return 0;
}

static void
test_cas(void **state)
{
	hm_store	*st = store_new("cas.db");
	hm_ca_info	 ci, back;
	hm_err		 err = { 0, "" };
	char		 buf[256] = "";

	(void)state;
	memset(&ci, 0, sizeof(ci));
	snprintf(ci.name, sizeof(ci.name), "root");
	snprintf(ci.serial, sizeof(ci.serial), "91");
	snprintf(ci.subject, sizeof(ci.subject), "CN=Root");
	ci.pathlen = -1;
	ci.key_type = HM_KEY_P256;
	HM_CHECK(st->ops->ca_insert(st, &ci, &err), &err);
	snprintf(ci.name, sizeof(ci.name), "zeta");
	snprintf(ci.parent, sizeof(ci.parent), "root");
	snprintf(ci.serial, sizeof(ci.serial), "92");
	ci.pathlen = 1;
	ci.depth = 1;
	HM_CHECK(st->ops->ca_insert(st, &ci, &err), &err);
	snprintf(ci.name, sizeof(ci.name), "alpha");
	snprintf(ci.parent, sizeof(ci.parent), "zeta");
	snprintf(ci.serial, sizeof(ci.serial), "93");
	ci.pathlen = 0;
	ci.depth = 2;
	ci.key_type = HM_KEY_ED25519;
	HM_CHECK(st->ops->ca_insert(st, &ci, &err), &err);

	/* Same name again. */
	snprintf(ci.serial, sizeof(ci.serial), "94");
	assert_int_equal(st->ops->ca_insert(st, &ci, &err), HM_E_EXISTS);

	HM_CHECK(st->ops->ca_get(st, "alpha", &back, &err), &err);
	assert_string_equal(back.parent, "zeta");
	assert_string_equal(back.serial, "93");
	assert_int_equal(back.depth, 2);
	assert_int_equal(back.pathlen, 0);
	assert_int_equal(back.key_type, HM_KEY_ED25519);
	assert_int_equal(st->ops->ca_get(st, "beta", &back, &err),
	    HM_E_NOTFOUND);

	/* Root first, then by depth. */
	HM_CHECK(st->ops->ca_list(st, ca_name_cb, buf, &err), &err);
	assert_string_equal(buf, "root zeta alpha");
	hm_store_close(st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fresh_store),
		cmocka_unit_test(test_file_mode),
		cmocka_unit_test(test_duplicate_serial),
		cmocka_unit_test(test_transactions),
		cmocka_unit_test(test_list_filters),
		cmocka_unit_test(test_list_stops),
		cmocka_unit_test(test_reopen),
		cmocka_unit_test(test_settings),
		cmocka_unit_test(test_future_version),
		cmocka_unit_test(test_migration_8),
		cmocka_unit_test(test_not_a_store),
		cmocka_unit_test(test_query_plans),
		cmocka_unit_test(test_cas),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
