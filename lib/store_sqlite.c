/*
 * The embedded store: SQLite in WAL mode with synchronous=FULL, so that a
 * committed certificate survives a crash, and BEGIN IMMEDIATE, so that
 * writers queue instead of failing half-way.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <sqlite3.h>

#include "internal.h"

#define BUSY_TIMEOUT_MS	10000
/*
 * Pages of log after which a commit copies the log into the database
 * when another connection is to do it (hm_ca_checkpoint); SQLite's
 * default otherwise, 1000.
 */
#define CHECKPOINT_BACKSTOP	16000

enum { ST_BEGIN, ST_COMMIT, ST_ROLLBACK, ST_SAVEPOINT, ST_RELEASE,
    ST_ROLLBACK_TO, ST_CERT_INSERT, ST_CERT_GET,
    ST_CA_INSERT, ST_CA_GET, ST_CA_UPDATE, ST_REVOKE, ST_REVOKED,
    ST_CRL_NEXT, ST_CA_URL, ST_TOKEN_INSERT, ST_TOKEN_PENDING, ST_TOKEN_GET,
    ST_TOKEN_REVOKE, ST_TOKEN_USE, ST_REPLY_INSERT, ST_REPLY_DELETE,
    ST_TOKEN_PURGE, ST_PAIR_INSERT,
    ST_PAIR_GET, ST_PAIR_OPEN, ST_PAIR_REVEAL, ST_PAIR_MOVE, ST_PAIR_PURGE,
    ST_SUPERSEDE, ST_SETTING_GET, ST_SETTING_SET, ST_MAX };

#define CA_COLS "name, parent, serial, subject, pathlen, depth, " \
	"not_before, not_after, key_type, base_url"
#define TOKEN_COLS "id, ca, name, profile, sans, state, created_at, " \
	"expires_at, used_at, serial"
#define PAIR_COLS "id, name, profile, source, state, created_at, " \
	"expires_at, token"

static const char *const stmt_sql[ST_MAX] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_SAVEPOINT] = "SAVEPOINT hm_one",
	[ST_RELEASE] = "RELEASE hm_one",
	/* ROLLBACK TO keeps the savepoint: release it too. */
	[ST_ROLLBACK_TO] = "ROLLBACK TO hm_one",
	[ST_CERT_INSERT] = ("INSERT INTO certs (serial, ca, subject, issuer, "
	    "sans, not_before, not_after, profile, status, spki_sha256, "
	    "issued_at, der) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"),
	[ST_CERT_GET] = ("SELECT serial, ca, subject, issuer, sans, "
	    "not_before, not_after, profile, status, spki_sha256, issued_at, "
	    "revoked_at, reason, der FROM certs WHERE serial = ?"),
	[ST_CA_INSERT] = ("INSERT INTO cas (name, parent, serial, subject, "
	    "pathlen, depth, not_before, not_after, key_type, created_at) "
	    "VALUES (?,?,?,?,?,?,?,?,?,?)"),
	[ST_CA_GET] = ("SELECT " CA_COLS " FROM cas WHERE name = ?"),
	[ST_CA_UPDATE] = ("UPDATE cas SET serial = ?, subject = ?, pathlen = ?, "
	    "not_before = ?, not_after = ? WHERE name = ?"),
	[ST_REVOKE] = ("UPDATE certs SET status = 'revoked', revoked_at = ?, "
	    "reason = ? WHERE serial = ? AND revoked_at IS NULL"),
	[ST_REVOKED] = ("SELECT serial, revoked_at, reason FROM certs "
	    "WHERE ca = ? AND revoked_at IS NOT NULL ORDER BY serial"),
	[ST_CRL_NEXT] = ("INSERT INTO crls (ca, number, this_update) "
	    "VALUES (?, 1, ?) ON CONFLICT (ca) DO UPDATE SET "
	    "number = number + 1, this_update = excluded.this_update "
	    "RETURNING number"),
	[ST_CA_URL] = "UPDATE cas SET base_url = ? WHERE name = ?",
	[ST_TOKEN_INSERT] = ("INSERT INTO tokens (id, psk, ca, name, "
	    "profile, sans, created_at, expires_at, state) "
	    "VALUES (?,?,?,?,?,?,?,?,0)"),
	[ST_TOKEN_PENDING] = ("SELECT count(*) FROM tokens WHERE state = 0 "
	    "AND expires_at > ?"),
	[ST_TOKEN_GET] = ("SELECT " TOKEN_COLS ", psk, req_hash, "
	    "(SELECT reply FROM replies WHERE replies.id = tokens.reply_id) "
	    "FROM tokens WHERE id = ?"),
	[ST_TOKEN_REVOKE] = ("UPDATE tokens SET state = 2 WHERE id = ? AND "
	    "state = 0"),
	[ST_TOKEN_USE] = ("UPDATE tokens SET state = 1, used_at = ?, "
	    "serial = ?, req_hash = ?, reply_id = ? WHERE id = ? AND "
	    "state = 0"),
	[ST_REPLY_INSERT] = "INSERT INTO replies (token, reply) VALUES (?, ?)",
	[ST_REPLY_DELETE] = "DELETE FROM replies WHERE id = ?",
	[ST_TOKEN_PURGE] = ("UPDATE tokens SET psk = NULL WHERE expires_at < ? "
	    "AND psk IS NOT NULL"),
	[ST_PAIR_INSERT] = ("INSERT INTO pairings (id, name, profile, source, "
	    "created_at, expires_at, state, sk, commit_msg, accept_msg) "
	    "VALUES (?,?,?,?,?,?,0,?,?,?)"),
	[ST_PAIR_GET] = ("SELECT " PAIR_COLS ", sk, commit_msg, accept_msg, "
	    "reveal_msg, psk, psk_id, sas FROM pairings WHERE id = ?"),
	[ST_PAIR_OPEN] = ("SELECT count(*), coalesce(sum(source = ?), 0) "
	    "FROM pairings WHERE state < 2 AND expires_at > ?"),
	[ST_PAIR_REVEAL] = ("UPDATE pairings SET state = 1, sk = NULL, "
	    "reveal_msg = ?, psk = ?, psk_id = ?, sas = ? WHERE id = ? AND "
	    "state = 0"),
	[ST_PAIR_MOVE] = ("UPDATE pairings SET state = ?, sk = NULL, "
	    "psk = NULL, psk_id = NULL, sas = NULL, token = ? WHERE id = ? "
	    "AND state = ?"),
	[ST_PAIR_PURGE] = "DELETE FROM pairings WHERE expires_at < ?",
	[ST_SUPERSEDE] = ("UPDATE certs SET status = 'superseded', "
	    "superseded_by = ? WHERE serial = ? AND status = 'valid'"),
	[ST_SETTING_GET] = "SELECT value FROM settings WHERE key = ?",
	/* A setting is written once: changing one is not an update. */
	[ST_SETTING_SET] = "INSERT INTO settings (key, value) VALUES (?, ?)",
};

#define CERT_COLS "serial, ca, subject, issuer, sans, not_before, " \
	"not_after, profile, status, spki_sha256, issued_at, revoked_at, " \
	"reason"

/* Schema migrations: entry i takes user_version i to i + 1. */
static const char *const migrations[] = {
	/* 1: the first schema */
	("CREATE TABLE cas ("
	"  name TEXT PRIMARY KEY,"
	"  parent TEXT REFERENCES cas(name),"
	"  serial TEXT NOT NULL UNIQUE,"
	"  subject TEXT NOT NULL,"
	"  pathlen INTEGER NOT NULL,"
	"  depth INTEGER NOT NULL,"
	"  not_before INTEGER NOT NULL,"
	"  not_after INTEGER NOT NULL,"
	"  key_type TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL);"
	"CREATE TABLE certs ("
	"  serial TEXT PRIMARY KEY,"
	"  ca TEXT NOT NULL,"
	"  subject TEXT NOT NULL,"
	"  issuer TEXT NOT NULL,"
	"  sans TEXT NOT NULL,"
	"  not_before INTEGER NOT NULL,"
	"  not_after INTEGER NOT NULL,"
	"  profile TEXT NOT NULL,"
	"  status TEXT NOT NULL,"
	"  spki_sha256 TEXT NOT NULL,"
	"  issued_at INTEGER NOT NULL,"
	"  der BLOB NOT NULL) WITHOUT ROWID;"
	"CREATE INDEX certs_not_after ON certs (not_after);"
	"CREATE INDEX certs_ca_not_after ON certs (ca, not_after);"
	"CREATE INDEX certs_spki ON certs (spki_sha256);"),
	/* 2: revocation and CRL numbers */
	("ALTER TABLE certs ADD COLUMN revoked_at INTEGER;"
	"ALTER TABLE certs ADD COLUMN reason INTEGER;"
	"CREATE INDEX certs_revoked ON certs (ca, serial) "
	"  WHERE revoked_at IS NOT NULL;"
	"CREATE TABLE crls ("
	"  ca TEXT PRIMARY KEY REFERENCES cas(name),"
	"  number INTEGER NOT NULL,"
	"  this_update INTEGER NOT NULL) WITHOUT ROWID;"),
	/* 3: where a CA publishes its CRL and OCSP */
	"ALTER TABLE cas ADD COLUMN base_url TEXT;",
	/* 4: a CRL read from the index alone */
	("DROP INDEX certs_revoked;"
	"CREATE INDEX certs_revoked ON certs (ca, serial, revoked_at, reason) "
	"  WHERE revoked_at IS NOT NULL;"),
	/* 5: enrollment tokens (docs/PROTOCOL.md); state 0 pending, 1 used,
	 * 2 revoked; psk NULL once wiped */
	("CREATE TABLE tokens ("
	"  id TEXT PRIMARY KEY,"
	"  psk BLOB,"
	"  ca TEXT NOT NULL REFERENCES cas(name),"
	"  name TEXT NOT NULL,"
	"  profile TEXT NOT NULL,"
	"  sans TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  expires_at INTEGER NOT NULL,"
	"  state INTEGER NOT NULL,"
	"  used_at INTEGER,"
	"  serial TEXT,"
	"  req_hash BLOB,"
	"  reply BLOB) WITHOUT ROWID;"
	"CREATE INDEX tokens_pending ON tokens (expires_at) WHERE state = 0;"),
	/* 6: pairings (docs/PROTOCOL.md section 2); state 0 committed,
	 * 1 revealed, 2 approved, 3 dropped; secrets NULL once done */
	("CREATE TABLE pairings ("
	"  id TEXT PRIMARY KEY,"
	"  name TEXT NOT NULL,"
	"  profile TEXT NOT NULL,"
	"  source TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  expires_at INTEGER NOT NULL,"
	"  state INTEGER NOT NULL,"
	"  sk BLOB,"
	"  commit_msg BLOB NOT NULL,"
	"  accept_msg BLOB NOT NULL,"
	"  reveal_msg BLOB,"
	"  psk BLOB,"
	"  psk_id BLOB,"
	"  sas TEXT,"
	"  token TEXT) WITHOUT ROWID;"
	"CREATE INDEX pairings_open ON pairings (expires_at) WHERE state < 2;"
	/* A commit message replayed is refused: it can't be inserted. */
	"CREATE UNIQUE INDEX pairings_commit ON pairings (commit_msg);"),
	/* 7: renewal: what replaced a certificate (status 'superseded') */
	"ALTER TABLE certs ADD COLUMN superseded_by TEXT;",
	/*
	 * 8: fewer pages written an enrollment (bench/README.md).  certs
	 * gets rowids, so a new row is appended instead of landing in a
	 * random leaf among rows of 700 bytes; a used token's sealed reply
	 * moves to a table of its own, appended too, instead of spilling
	 * the token's row to an overflow page.
	 */
	("CREATE TABLE certs_new ("
	"  serial TEXT NOT NULL PRIMARY KEY,"
	"  ca TEXT NOT NULL,"
	"  subject TEXT NOT NULL,"
	"  issuer TEXT NOT NULL,"
	"  sans TEXT NOT NULL,"
	"  not_before INTEGER NOT NULL,"
	"  not_after INTEGER NOT NULL,"
	"  profile TEXT NOT NULL,"
	"  status TEXT NOT NULL,"
	"  spki_sha256 TEXT NOT NULL,"
	"  issued_at INTEGER NOT NULL,"
	"  der BLOB NOT NULL,"
	"  revoked_at INTEGER,"
	"  reason INTEGER,"
	"  superseded_by TEXT);"
	"INSERT INTO certs_new SELECT serial, ca, subject, issuer, sans, "
	"  not_before, not_after, profile, status, spki_sha256, issued_at, "
	"  der, revoked_at, reason, superseded_by FROM certs "
	"  ORDER BY issued_at;"
	"DROP TABLE certs;"
	"ALTER TABLE certs_new RENAME TO certs;"
	/* serial in the indexes: what the rows were ordered by before */
	"CREATE INDEX certs_not_after ON certs (not_after, serial);"
	"CREATE INDEX certs_ca_not_after ON certs (ca, not_after, serial);"
	"CREATE INDEX certs_spki ON certs (spki_sha256);"
	"CREATE INDEX certs_revoked ON certs (ca, serial, revoked_at, reason) "
	"  WHERE revoked_at IS NOT NULL;"
	"CREATE TABLE replies ("
	"  id INTEGER PRIMARY KEY,"
	"  token TEXT NOT NULL,"
	"  reply BLOB NOT NULL);"
	"ALTER TABLE tokens ADD COLUMN reply_id INTEGER;"
	"INSERT INTO replies (token, reply) SELECT id, reply FROM tokens "
	"  WHERE reply IS NOT NULL;"
	"UPDATE tokens SET reply_id = r.id, reply = NULL FROM replies AS r "
	"  WHERE r.token = tokens.id;"),
	/* 9: settings of the whole directory ("offline": every key under
	 * the root's one passphrase) */
	("CREATE TABLE settings ("
	"  key TEXT PRIMARY KEY,"
	"  value TEXT NOT NULL) WITHOUT ROWID;"),
};
#define SCHEMA_VERSION	((int)(sizeof(migrations) / sizeof(migrations[0])))

struct sqlite_store {
	hm_store	 base;
	sqlite3		*db;
	sqlite3_stmt	*st[ST_MAX];
	int		 in_tx;
};

static int
dberr(hm_err *err, struct sqlite_store *s, const char *what)
{
	return hm_seterr(err, HM_E_STORE, "store: %s: %s", what,
	    sqlite3_errmsg(s->db));
}

/*
 * Step st, prepared by the caller, through its rows, each to row(st,
 * arg), until row returns non-zero, which is then returned; st is
 * finalized here.  What every list of the store does.
 */
static int
each_row(struct sqlite_store *s, sqlite3_stmt *st, const char *what,
    int (*row)(sqlite3_stmt *, void *), void *arg, hm_err *err)
{
	int	r, rc = HM_OK;

	while ((r = sqlite3_step(st)) == SQLITE_ROW)
		if ((rc = row(st, arg)) != 0)
			goto out;
	if (r != SQLITE_DONE)
		rc = dberr(err, s, what);
 out:
	sqlite3_finalize(st);
	return rc;
}

static int
step_done(struct sqlite_store *s, int i, hm_err *err)
{
	int	r = sqlite3_step(s->st[i]);

	sqlite3_reset(s->st[i]);
	sqlite3_clear_bindings(s->st[i]);
	if (r != SQLITE_DONE)
		return hm_seterr(err, HM_E_STORE, "store: %s: %s",
		    stmt_sql[i], sqlite3_errstr(r));
	return HM_OK;
}

static int
s_begin(hm_store *hs, hm_err *err)
{
	struct sqlite_store	*s = (struct sqlite_store *)hs;
	int			 rc;

	if (s->in_tx)
		return hm_seterr(err, HM_E_INTERNAL, "store: nested "
		    "transaction");
	if ((rc = step_done(s, ST_BEGIN, err)) == HM_OK)
		s->in_tx = 1;
	return rc;
}

static int
s_commit(hm_store *hs, hm_err *err)
{
	struct sqlite_store	*s = (struct sqlite_store *)hs;
	int			 rc;

	if ((rc = step_done(s, ST_COMMIT, err)) == HM_OK)
		s->in_tx = 0;
	return rc;
}

static void
s_rollback(hm_store *hs)
{
	struct sqlite_store	*s = (struct sqlite_store *)hs;

	if (s->in_tx && sqlite3_get_autocommit(s->db) == 0)
		step_done(s, ST_ROLLBACK, NULL);
	s->in_tx = 0;
}

static int
s_savepoint(hm_store *hs, hm_err *err)
{
	struct sqlite_store	*s = (struct sqlite_store *)hs;

	if (!s->in_tx)
		return hm_seterr(err, HM_E_INTERNAL, "store: a savepoint "
		    "outside a transaction");
	return step_done(s, ST_SAVEPOINT, err);
}

static int
s_release(hm_store *hs, hm_err *err)
{
	return step_done((struct sqlite_store *)hs, ST_RELEASE, err);
}

static void
s_rollback_to(hm_store *hs)
{
	struct sqlite_store	*s = (struct sqlite_store *)hs;

	if (s->in_tx && sqlite3_get_autocommit(s->db) == 0 &&
	    step_done(s, ST_ROLLBACK_TO, NULL) == HM_OK)
		step_done(s, ST_RELEASE, NULL);
}

static void
s_close(hm_store *hs)
{
	struct sqlite_store	*s = (struct sqlite_store *)hs;
	int			 i;

	s_rollback(hs);
	for (i = 0; i < ST_MAX; i++)
		sqlite3_finalize(s->st[i]);
	sqlite3_close(s->db);
	free(s);
}

static int
s_cert_insert(hm_store *hs, const hm_cert_rec *r, hm_err *err)
{
	struct sqlite_store	*s = (struct sqlite_store *)hs;
	sqlite3_stmt		*st = s->st[ST_CERT_INSERT];
	int			 rc;

	sqlite3_bind_text(st, 1, r->info.serial, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->info.ca, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, r->info.subject, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, r->info.issuer, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, r->info.sans, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, r->info.not_before);
	sqlite3_bind_int64(st, 7, r->info.not_after);
	sqlite3_bind_text(st, 8, r->info.profile, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 9, r->info.status, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 10, r->info.spki_sha256, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 11, r->info.issued_at);
	sqlite3_bind_blob(st, 12, r->der, (int)r->derlen, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc == SQLITE_CONSTRAINT)
		return hm_seterr(err, HM_E_EXISTS, "store: serial %s is "
		    "taken", r->info.serial);
	if (rc != SQLITE_DONE)
		return hm_seterr(err, HM_E_STORE, "store: recording the "
		    "certificate: %s", sqlite3_errstr(rc));
	return HM_OK;
}

static void
col_text(sqlite3_stmt *st, int i, char *buf, size_t len)
{
	const unsigned char	*t = sqlite3_column_text(st, i);

	snprintf(buf, len, "%s", t != NULL ? (const char *)t : "");
}

static void
row_to_info(sqlite3_stmt *st, hm_cert_info *ci)
{
	memset(ci, 0, sizeof(*ci));
	col_text(st, 0, ci->serial, sizeof(ci->serial));
	col_text(st, 1, ci->ca, sizeof(ci->ca));
	col_text(st, 2, ci->subject, sizeof(ci->subject));
	col_text(st, 3, ci->issuer, sizeof(ci->issuer));
	col_text(st, 4, ci->sans, sizeof(ci->sans));
	ci->not_before = (time_t)sqlite3_column_int64(st, 5);
	ci->not_after = (time_t)sqlite3_column_int64(st, 6);
	col_text(st, 7, ci->profile, sizeof(ci->profile));
	col_text(st, 8, ci->status, sizeof(ci->status));
	col_text(st, 9, ci->spki_sha256, sizeof(ci->spki_sha256));
	ci->issued_at = (time_t)sqlite3_column_int64(st, 10);
	ci->revoked_at = (time_t)sqlite3_column_int64(st, 11);
	ci->reason = sqlite3_column_int(st, 12);
}

static int
s_cert_get(hm_store *hs, const char *serial, hm_cert_info *ci,
    unsigned char **derp, size_t *derlen, hm_err *err)
{
	struct sqlite_store	*s = (struct sqlite_store *)hs;
	sqlite3_stmt		*st = s->st[ST_CERT_GET];
	const void		*blob;
	int			 r, rc = HM_OK, n;

	sqlite3_bind_text(st, 1, serial, -1, SQLITE_STATIC);
	r = sqlite3_step(st);
	if (r == SQLITE_DONE) {
		rc = hm_seterr(err, HM_E_NOTFOUND, "no certificate with "
		    "serial %s", serial);
		goto out;
	}
	if (r != SQLITE_ROW) {
		rc = dberr(err, s, "looking up a certificate");
		goto out;
	}
	if (ci != NULL)
		row_to_info(st, ci);
	if (derp != NULL) {
		blob = sqlite3_column_blob(st, 13);
		n = sqlite3_column_bytes(st, 13);
		if (n <= 0 || (*derp = malloc((size_t)n)) == NULL) {
			rc = hm_seterr(err, HM_E_NOMEM, "out of memory");
			goto out;
		}
		memcpy(*derp, blob, (size_t)n);
		*derlen = (size_t)n;
	}
 out:
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc;
}

struct cert_rows {
	hm_cert_cb	 cb;
	void		*arg;
};

static int
cert_row(sqlite3_stmt *st, void *arg)
{
	struct cert_rows	*x = arg;
	hm_cert_info		 ci;

	row_to_info(st, &ci);
	return x->cb(&ci, x->arg);
}

static int
s_cert_list(hm_store *hs, const hm_list_filter *f, hm_cert_cb cb, void *arg,
    hm_err *err)
{
	struct sqlite_store	*s = (struct sqlite_store *)hs;
	struct cert_rows	 x = { cb, arg };
	sqlite3_stmt		*st = NULL;
	char			 sql[512];
	int			 i = 1;

	/* Fixed SQL per filter shape, so each can use its index. */
	snprintf(sql, sizeof(sql), "SELECT " CERT_COLS " FROM certs%s%s%s "
	    "ORDER BY not_after, serial",
	    f->ca != NULL || f->expiring_before != 0 ? " WHERE" : "",
	    f->ca != NULL ? " ca = ?" : "",
	    f->expiring_before == 0 ? "" : f->ca != NULL ?
	    " AND not_after > ? AND not_after <= ?" :
	    " not_after > ? AND not_after <= ?");
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return dberr(err, s, "listing");
	if (f->ca != NULL)
		sqlite3_bind_text(st, i++, f->ca, -1, SQLITE_STATIC);
	if (f->expiring_before != 0) {
		sqlite3_bind_int64(st, i++, f->now);
		sqlite3_bind_int64(st, i++, f->expiring_before);
	}
	return each_row(s, st, "listing", cert_row, &x, err);
}

static int
s_ca_insert(hm_store *hs, const hm_ca_info *ci, hm_err *err)
{
	struct sqlite_store	*s = (struct sqlite_store *)hs;
	sqlite3_stmt		*st = s->st[ST_CA_INSERT];
	int			 r;

	sqlite3_bind_text(st, 1, ci->name, -1, SQLITE_STATIC);
	if (ci->parent[0] != '\0')
		sqlite3_bind_text(st, 2, ci->parent, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 2);
	sqlite3_bind_text(st, 3, ci->serial, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, ci->subject, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 5, ci->pathlen);
	sqlite3_bind_int(st, 6, ci->depth);
	sqlite3_bind_int64(st, 7, ci->not_before);
	sqlite3_bind_int64(st, 8, ci->not_after);
	sqlite3_bind_text(st, 9, hm_keytype_name(ci->key_type), -1,
	    SQLITE_STATIC);
	sqlite3_bind_int64(st, 10, time(NULL));
	r = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (r == SQLITE_CONSTRAINT)
		return hm_seterr(err, HM_E_EXISTS, "a CA named '%s' exists",
		    ci->name);
	if (r != SQLITE_DONE)
		return hm_seterr(err, HM_E_STORE, "store: recording the CA: "
		    "%s", sqlite3_errstr(r));
	return HM_OK;
}

/* A re-issued CA: same name, parent, key; a new certificate. */
static int
s_ca_update(hm_store *hs, const hm_ca_info *ci, hm_err *err)
{
	struct sqlite_store	*s = (struct sqlite_store *)hs;
	sqlite3_stmt		*st = s->st[ST_CA_UPDATE];
	int			 rc;

	sqlite3_bind_text(st, 1, ci->serial, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ci->subject, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, ci->pathlen);
	sqlite3_bind_int64(st, 4, ci->not_before);
	sqlite3_bind_int64(st, 5, ci->not_after);
	sqlite3_bind_text(st, 6, ci->name, -1, SQLITE_STATIC);
	if ((rc = step_done(s, ST_CA_UPDATE, err)) != HM_OK)
		return rc;
	if (sqlite3_changes(s->db) != 1)
		return hm_seterr(err, HM_E_NOTFOUND, "no CA named '%s'",
		    ci->name);
	return HM_OK;
}

static int
s_cert_revoke(hm_store *hs, const char *serial, time_t when, int reason,
    int *already, hm_err *err)
{
	struct sqlite_store	*s = (struct sqlite_store *)hs;
	sqlite3_stmt		*st = s->st[ST_REVOKE];
	int			 rc;

	sqlite3_bind_int64(st, 1, when);
	sqlite3_bind_int(st, 2, reason);
	sqlite3_bind_text(st, 3, serial, -1, SQLITE_STATIC);
	if ((rc = step_done(s, ST_REVOKE, err)) != HM_OK)
		return rc;
	*already = 0;
	if (sqlite3_changes(s->db) == 1)
		return HM_OK;
	/* Nothing changed: revoked before, or no such certificate. */
	if ((rc = s_cert_get(hs, serial, NULL, NULL, NULL, err)) != HM_OK)
		return rc;
	*already = 1;
	return HM_OK;
}

static int
s_revoked_list(hm_store *hs, const char *ca,
    int (*cb)(const char *, time_t, int, void *), void *arg, hm_err *err)
{
	struct sqlite_store	*s = (struct sqlite_store *)hs;
	sqlite3_stmt		*st = s->st[ST_REVOKED];
	const unsigned char	*serial;
	int			 r, rc = HM_OK;

	sqlite3_bind_text(st, 1, ca, -1, SQLITE_STATIC);
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		/*
		 * Not copied: a CRL reads a million of them, and a copy into
		 * a fixed buffer would cut a bad one short unseen.
		 */
		serial = sqlite3_column_text(st, 0);
		if ((rc = cb(serial != NULL ? (const char *)serial : "",
		    (time_t)sqlite3_column_int64(st, 1),
		    sqlite3_column_int(st, 2), arg)) != HM_OK)
			goto out;
	}
	if (r != SQLITE_DONE)
		rc = dberr(err, s, "listing revoked certificates");
 out:
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc;
}

static int
s_crl_next(hm_store *hs, const char *ca, time_t now, int64_t *number,
    hm_err *err)
{
	struct sqlite_store	*s = (struct sqlite_store *)hs;
	sqlite3_stmt		*st = s->st[ST_CRL_NEXT];
	int			 r, rc = HM_OK;

	sqlite3_bind_text(st, 1, ca, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
	if ((r = sqlite3_step(st)) == SQLITE_ROW)
		*number = sqlite3_column_int64(st, 0);
	else
		rc = dberr(err, s, "numbering the CRL");
	/* RETURNING: the statement is done only when stepped to the end. */
	while (r == SQLITE_ROW)
		r = sqlite3_step(st);
	if (rc == HM_OK && r != SQLITE_DONE)
		rc = dberr(err, s, "numbering the CRL");
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc;
}

static void
row_to_ca(sqlite3_stmt *st, hm_ca_info *ci)
{
	char	kt[16];

	memset(ci, 0, sizeof(*ci));
	col_text(st, 0, ci->name, sizeof(ci->name));
	col_text(st, 1, ci->parent, sizeof(ci->parent));
	col_text(st, 2, ci->serial, sizeof(ci->serial));
	col_text(st, 3, ci->subject, sizeof(ci->subject));
	ci->pathlen = sqlite3_column_int(st, 4);
	ci->depth = sqlite3_column_int(st, 5);
	ci->not_before = (time_t)sqlite3_column_int64(st, 6);
	ci->not_after = (time_t)sqlite3_column_int64(st, 7);
	col_text(st, 8, kt, sizeof(kt));
	if (hm_keytype_parse(kt, &ci->key_type, NULL) != HM_OK)
		ci->key_type = HM_KEY_NONE;
	col_text(st, 9, ci->base_url, sizeof(ci->base_url));
}

static int
s_ca_set_url(hm_store *hs, const char *name, const char *url, hm_err *err)
{
	struct sqlite_store	*s = (struct sqlite_store *)hs;
	sqlite3_stmt		*st = s->st[ST_CA_URL];
	int			 rc;

	if (url != NULL && url[0] != '\0')
		sqlite3_bind_text(st, 1, url, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 1);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	if ((rc = step_done(s, ST_CA_URL, err)) != HM_OK)
		return rc;
	if (sqlite3_changes(s->db) != 1)
		return hm_seterr(err, HM_E_NOTFOUND, "no CA named '%s' (see "
		    "hallmark ca list)", name);
	return HM_OK;
}

static int
s_ca_get(hm_store *hs, const char *name, hm_ca_info *ci, hm_err *err)
{
	struct sqlite_store	*s = (struct sqlite_store *)hs;
	sqlite3_stmt		*st = s->st[ST_CA_GET];
	int			 r, rc = HM_OK;

	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	r = sqlite3_step(st);
	if (r == SQLITE_ROW)
		row_to_ca(st, ci);
	else if (r == SQLITE_DONE)
		rc = hm_seterr(err, HM_E_NOTFOUND, "no CA named '%s' (see "
		    "hallmark ca list)", name);
	else
		rc = dberr(err, s, "looking up a CA");
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc;
}

struct ca_rows {
	hm_ca_cb	 cb;
	void		*arg;
};

static int
ca_row(sqlite3_stmt *st, void *arg)
{
	struct ca_rows	*x = arg;
	hm_ca_info	 ci;

	row_to_ca(st, &ci);
	return x->cb(&ci, x->arg);
}

static int
s_ca_list(hm_store *hs, hm_ca_cb cb, void *arg, hm_err *err)
{
	struct sqlite_store	*s = (struct sqlite_store *)hs;
	struct ca_rows		 x = { cb, arg };
	sqlite3_stmt		*st = NULL;

	if (sqlite3_prepare_v2(s->db, "SELECT " CA_COLS " FROM cas "
	    "ORDER BY depth, name", -1, &st, NULL) != SQLITE_OK)
		return dberr(err, s, "listing CAs");
	return each_row(s, st, "listing CAs", ca_row, &x, err);
}

static void
row_to_token(sqlite3_stmt *st, hm_token_info *ti, int *state)
{
	static const char *const states[] = { "pending", "used", "revoked" };
	int	s;

	memset(ti, 0, sizeof(*ti));
	col_text(st, 0, ti->id, sizeof(ti->id));
	col_text(st, 1, ti->ca, sizeof(ti->ca));
	col_text(st, 2, ti->name, sizeof(ti->name));
	col_text(st, 3, ti->profile, sizeof(ti->profile));
	col_text(st, 4, ti->sans, sizeof(ti->sans));
	s = sqlite3_column_int(st, 5);
	snprintf(ti->state, sizeof(ti->state), "%s", s >= 0 && s <= 2 ?
	    states[s] : "unknown");
	ti->created_at = (time_t)sqlite3_column_int64(st, 6);
	ti->expires_at = (time_t)sqlite3_column_int64(st, 7);
	ti->used_at = (time_t)sqlite3_column_int64(st, 8);
	col_text(st, 9, ti->serial, sizeof(ti->serial));
	if (state != NULL)
		*state = s;
}

static int
s_token_insert(hm_store *hs, const struct hm_token_rec *r, hm_err *err)
{
	struct sqlite_store	*s = (struct sqlite_store *)hs;
	sqlite3_stmt		*st = s->st[ST_TOKEN_INSERT];
	int			 rc;

	sqlite3_bind_text(st, 1, r->info.id, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, r->psk, HM_PSK_LEN, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, r->info.ca, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, r->info.name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, r->info.profile, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, r->info.sans, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, r->info.created_at);
	sqlite3_bind_int64(st, 8, r->info.expires_at);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc == SQLITE_CONSTRAINT)
		return hm_seterr(err, HM_E_EXISTS, "store: token id taken");
	if (rc != SQLITE_DONE)
		return hm_seterr(err, HM_E_STORE, "store: recording the "
		    "token: %s", sqlite3_errstr(rc));
	return HM_OK;
}

static int
s_token_pending(hm_store *hs, time_t now, int64_t *n, hm_err *err)
{
	struct sqlite_store	*s = (struct sqlite_store *)hs;
	sqlite3_stmt		*st = s->st[ST_TOKEN_PENDING];
	int			 rc = HM_OK;

	sqlite3_bind_int64(st, 1, now);
	if (sqlite3_step(st) == SQLITE_ROW)
		*n = sqlite3_column_int64(st, 0);
	else
		rc = dberr(err, s, "counting tokens");
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc;
}

static int
s_token_get(hm_store *hs, const char *id, struct hm_token_rec *r,
    hm_err *err)
{
	struct sqlite_store	*s = (struct sqlite_store *)hs;
	sqlite3_stmt		*st = s->st[ST_TOKEN_GET];
	const void		*b;
	int			 n, rc = HM_OK, step;

	memset(r, 0, sizeof(*r));
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if ((step = sqlite3_step(st)) == SQLITE_DONE) {
		rc = hm_seterr(err, HM_E_NOTFOUND, "no token with id %.20s",
		    id);
		goto out;
	}
	if (step != SQLITE_ROW) {
		rc = dberr(err, s, "looking up a token");
		goto out;
	}
	row_to_token(st, &r->info, &r->state);
	if ((b = sqlite3_column_blob(st, 10)) != NULL &&
	    sqlite3_column_bytes(st, 10) == HM_PSK_LEN) {
		memcpy(r->psk, b, HM_PSK_LEN);
		r->has_psk = 1;
	}
	if ((b = sqlite3_column_blob(st, 11)) != NULL &&
	    sqlite3_column_bytes(st, 11) == 32) {
		memcpy(r->req_hash, b, 32);
		r->has_hash = 1;
	}
	if ((b = sqlite3_column_blob(st, 12)) != NULL &&
	    (n = sqlite3_column_bytes(st, 12)) > 0) {
		if ((r->reply = malloc((size_t)n)) == NULL) {
			rc = hm_seterr(err, HM_E_NOMEM, "out of memory");
			goto out;
		}
		memcpy(r->reply, b, (size_t)n);
		r->replylen = (size_t)n;
	}
 out:
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != HM_OK)
		hm_token_rec_clear(r);
	return rc;
}

struct token_rows {
	hm_token_cb	 cb;
	void		*arg;
};

static int
token_row(sqlite3_stmt *st, void *arg)
{
	struct token_rows	*x = arg;
	hm_token_info		 ti;

	row_to_token(st, &ti, NULL);
	return x->cb(&ti, x->arg);
}

static int
s_token_list(hm_store *hs, hm_token_cb cb, void *arg, hm_err *err)
{
	struct sqlite_store	*s = (struct sqlite_store *)hs;
	struct token_rows	 x = { cb, arg };
	sqlite3_stmt		*st = NULL;

	if (sqlite3_prepare_v2(s->db, "SELECT " TOKEN_COLS " FROM tokens "
	    "ORDER BY created_at DESC, id", -1, &st, NULL) != SQLITE_OK)
		return dberr(err, s, "listing tokens");
	return each_row(s, st, "listing tokens", token_row, &x, err);
}

static int
s_token_revoke(hm_store *hs, const char *id, hm_err *err)
{
	struct sqlite_store	*s = (struct sqlite_store *)hs;
	struct hm_token_rec	 r;
	int			 rc;

	sqlite3_bind_text(s->st[ST_TOKEN_REVOKE], 1, id, -1, SQLITE_STATIC);
	if ((rc = step_done(s, ST_TOKEN_REVOKE, err)) != HM_OK)
		return rc;
	if (sqlite3_changes(s->db) == 1)
		return HM_OK;
	if ((rc = s_token_get(hs, id, &r, err)) != HM_OK)
		return rc;
	hm_token_rec_clear(&r);
	return hm_seterr(err, HM_E_POLICY, "token %.20s is %s, not pending",
	    id, r.info.state);
}

static int
s_token_use(hm_store *hs, const struct hm_token_rec *r, hm_err *err)
{
	struct sqlite_store	*s = (struct sqlite_store *)hs;
	sqlite3_stmt		*st = s->st[ST_TOKEN_USE];
	sqlite3_stmt		*rp = s->st[ST_REPLY_INSERT];
	sqlite3_int64		 reply_id;
	int			 rc;

	sqlite3_bind_text(rp, 1, r->info.id, -1, SQLITE_STATIC);
	sqlite3_bind_blob(rp, 2, r->reply, (int)r->replylen, SQLITE_STATIC);
	if ((rc = step_done(s, ST_REPLY_INSERT, err)) != HM_OK)
		return rc;
	reply_id = sqlite3_last_insert_rowid(s->db);
	sqlite3_bind_int64(st, 1, r->info.used_at);
	sqlite3_bind_text(st, 2, r->info.serial, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 3, r->req_hash, 32, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, reply_id);
	sqlite3_bind_text(st, 5, r->info.id, -1, SQLITE_STATIC);
	if ((rc = step_done(s, ST_TOKEN_USE, err)) == HM_OK &&
	    sqlite3_changes(s->db) != 1)
		rc = hm_seterr(err, HM_E_EXISTS, "token %.20s is pending no "
		    "more", r->info.id);
	if (rc != HM_OK) {
		/* No reply without its token. */
		sqlite3_bind_int64(s->st[ST_REPLY_DELETE], 1, reply_id);
		(void)step_done(s, ST_REPLY_DELETE, NULL);
	}
	return rc;
}

/* Passive: never waits for readers or the writer, copies what it can. */
static int
s_checkpoint(hm_store *hs, hm_err *err)
{
	struct sqlite_store	*s = (struct sqlite_store *)hs;
	int			 r;

	r = sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_PASSIVE,
	    NULL, NULL);
	if (r != SQLITE_OK && r != SQLITE_BUSY)
		return dberr(err, s, "checkpoint");
	return HM_OK;
}

static void
s_defer_checkpoints(hm_store *hs)
{
	struct sqlite_store	*s = (struct sqlite_store *)hs;

	sqlite3_wal_autocheckpoint(s->db, CHECKPOINT_BACKSTOP);
}

static int
s_token_purge(hm_store *hs, time_t before, hm_err *err)
{
	struct sqlite_store	*s = (struct sqlite_store *)hs;

	sqlite3_bind_int64(s->st[ST_TOKEN_PURGE], 1, before);
	return step_done(s, ST_TOKEN_PURGE, err);
}

static void
row_to_pair(sqlite3_stmt *st, hm_pair_info *pi, int *state)
{
	static const char *const states[] = { "committed", "waiting",
	    "approved", "dropped" };
	int	s;

	memset(pi, 0, sizeof(*pi));
	col_text(st, 0, pi->id, sizeof(pi->id));
	col_text(st, 1, pi->name, sizeof(pi->name));
	col_text(st, 2, pi->profile, sizeof(pi->profile));
	col_text(st, 3, pi->source, sizeof(pi->source));
	s = sqlite3_column_int(st, 4);
	snprintf(pi->state, sizeof(pi->state), "%s", s >= 0 && s <= 3 ?
	    states[s] : "unknown");
	pi->created_at = (time_t)sqlite3_column_int64(st, 5);
	pi->expires_at = (time_t)sqlite3_column_int64(st, 6);
	col_text(st, 7, pi->token, sizeof(pi->token));
	if (state != NULL)
		*state = s;
}

static int
s_pair_insert(hm_store *hs, const struct hm_pair_rec *r, hm_err *err)
{
	struct sqlite_store	*s = (struct sqlite_store *)hs;
	sqlite3_stmt		*st = s->st[ST_PAIR_INSERT];
	int			 rc;

	sqlite3_bind_text(st, 1, r->info.id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->info.name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, r->info.profile, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, r->info.source, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, r->info.created_at);
	sqlite3_bind_int64(st, 6, r->info.expires_at);
	sqlite3_bind_blob(st, 7, r->sk, sizeof(r->sk), SQLITE_STATIC);
	sqlite3_bind_blob(st, 8, r->commit, (int)r->commitlen, SQLITE_STATIC);
	sqlite3_bind_blob(st, 9, r->accept, (int)r->acceptlen, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc == SQLITE_CONSTRAINT)
		return hm_seterr(err, HM_E_EXISTS, "store: pairing id taken");
	if (rc != SQLITE_DONE)
		return hm_seterr(err, HM_E_STORE, "store: recording the "
		    "pairing: %s", sqlite3_errstr(rc));
	return HM_OK;
}

/* A copy of blob column i into *out (NULL when the column is). */
static int
col_blob(sqlite3_stmt *st, int i, unsigned char **out, size_t *len,
    hm_err *err)
{
	const void	*b = sqlite3_column_blob(st, i);
	int		 n = sqlite3_column_bytes(st, i);

	*out = NULL;
	*len = 0;
	if (b == NULL || n <= 0)
		return HM_OK;
	if ((*out = malloc((size_t)n)) == NULL)
		return hm_seterr(err, HM_E_NOMEM, "out of memory");
	memcpy(*out, b, (size_t)n);
	*len = (size_t)n;
	return HM_OK;
}

/* Blob column i into the fixed buffer out of exactly len bytes. */
static int
col_fixed(sqlite3_stmt *st, int i, unsigned char *out, size_t len)
{
	const void	*b = sqlite3_column_blob(st, i);

	if (b == NULL || sqlite3_column_bytes(st, i) != (int)len)
		return 0;
	memcpy(out, b, len);
	return 1;
}

static int
s_pair_get(hm_store *hs, const char *id, struct hm_pair_rec *r, hm_err *err)
{
	struct sqlite_store	*s = (struct sqlite_store *)hs;
	sqlite3_stmt		*st = s->st[ST_PAIR_GET];
	int			 step, rc = HM_OK;

	memset(r, 0, sizeof(*r));
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if ((step = sqlite3_step(st)) == SQLITE_DONE) {
		rc = hm_seterr(err, HM_E_NOTFOUND, "no pairing with id %.32s",
		    id);
		goto out;
	}
	if (step != SQLITE_ROW) {
		rc = dberr(err, s, "looking up a pairing");
		goto out;
	}
	row_to_pair(st, &r->info, &r->state);
	r->has_sk = col_fixed(st, 8, r->sk, sizeof(r->sk));
	if ((rc = col_blob(st, 9, &r->commit, &r->commitlen, err)) != HM_OK ||
	    (rc = col_blob(st, 10, &r->accept, &r->acceptlen, err)) != HM_OK ||
	    (rc = col_blob(st, 11, &r->reveal, &r->reveallen, err)) != HM_OK)
		goto out;
	r->has_psk = col_fixed(st, 12, r->psk, sizeof(r->psk)) &&
	    col_fixed(st, 13, r->psk_id, sizeof(r->psk_id));
	col_text(st, 14, r->sas, sizeof(r->sas));
 out:
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != HM_OK)
		hm_pair_rec_clear(r);
	return rc;
}

static int
s_pair_open(hm_store *hs, time_t now, const char *source, int64_t *all,
    int64_t *from, hm_err *err)
{
	struct sqlite_store	*s = (struct sqlite_store *)hs;
	sqlite3_stmt		*st = s->st[ST_PAIR_OPEN];
	int			 rc = HM_OK;

	sqlite3_bind_text(st, 1, source, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
	if (sqlite3_step(st) == SQLITE_ROW) {
		*all = sqlite3_column_int64(st, 0);
		*from = sqlite3_column_int64(st, 1);
	} else
		rc = dberr(err, s, "counting pairings");
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc;
}

static int
s_pair_reveal(hm_store *hs, const struct hm_pair_rec *r, hm_err *err)
{
	struct sqlite_store	*s = (struct sqlite_store *)hs;
	sqlite3_stmt		*st = s->st[ST_PAIR_REVEAL];
	int			 rc;

	sqlite3_bind_blob(st, 1, r->reveal, (int)r->reveallen, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, r->psk, sizeof(r->psk), SQLITE_STATIC);
	sqlite3_bind_blob(st, 3, r->psk_id, sizeof(r->psk_id), SQLITE_STATIC);
	sqlite3_bind_text(st, 4, r->sas, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, r->info.id, -1, SQLITE_STATIC);
	if ((rc = step_done(s, ST_PAIR_REVEAL, err)) != HM_OK)
		return rc;
	if (sqlite3_changes(s->db) != 1)
		return hm_seterr(err, HM_E_EXISTS, "pairing %.32s was revealed "
		    "already", r->info.id);
	return HM_OK;
}

static int
s_pair_move(hm_store *hs, const char *id, int from, int to,
    const char *token, hm_err *err)
{
	struct sqlite_store	*s = (struct sqlite_store *)hs;
	sqlite3_stmt		*st = s->st[ST_PAIR_MOVE];
	int			 rc;

	sqlite3_bind_int(st, 1, to);
	if (token != NULL)
		sqlite3_bind_text(st, 2, token, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 2);
	sqlite3_bind_text(st, 3, id, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, from);
	if ((rc = step_done(s, ST_PAIR_MOVE, err)) != HM_OK)
		return rc;
	if (sqlite3_changes(s->db) != 1)
		return hm_seterr(err, HM_E_EXISTS, "pairing %.32s moved on "
		    "meanwhile", id);
	return HM_OK;
}

struct pair_rows {
	hm_pair_cb	 cb;
	void		*arg;
};

static int
pair_row(sqlite3_stmt *st, void *arg)
{
	struct pair_rows	*x = arg;
	hm_pair_info		 pi;

	row_to_pair(st, &pi, NULL);
	return x->cb(&pi, x->arg);
}

static int
s_pair_list(hm_store *hs, hm_pair_cb cb, void *arg, hm_err *err)
{
	struct sqlite_store	*s = (struct sqlite_store *)hs;
	struct pair_rows	 x = { cb, arg };
	sqlite3_stmt		*st = NULL;

	if (sqlite3_prepare_v2(s->db, "SELECT " PAIR_COLS " FROM pairings "
	    "ORDER BY created_at DESC, id", -1, &st, NULL) != SQLITE_OK)
		return dberr(err, s, "listing pairings");
	return each_row(s, st, "listing pairings", pair_row, &x, err);
}

static int
s_pair_purge(hm_store *hs, time_t before, hm_err *err)
{
	struct sqlite_store	*s = (struct sqlite_store *)hs;

	sqlite3_bind_int64(s->st[ST_PAIR_PURGE], 1, before);
	return step_done(s, ST_PAIR_PURGE, err);
}

static int
s_cert_supersede(hm_store *hs, const char *old, const char *by, hm_err *err)
{
	struct sqlite_store	*s = (struct sqlite_store *)hs;
	sqlite3_stmt		*st = s->st[ST_SUPERSEDE];
	int			 rc;

	sqlite3_bind_text(st, 1, by, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, old, -1, SQLITE_STATIC);
	if ((rc = step_done(s, ST_SUPERSEDE, err)) != HM_OK)
		return rc;
	if (sqlite3_changes(s->db) != 1)
		return hm_seterr(err, HM_E_EXISTS, "certificate %s is valid no "
		    "more (renewed or revoked meanwhile)", old);
	return HM_OK;
}

static int
s_setting_get(hm_store *hs, const char *key, char *buf, size_t len,
    hm_err *err)
{
	struct sqlite_store	*s = (struct sqlite_store *)hs;
	sqlite3_stmt		*st = s->st[ST_SETTING_GET];
	int			 r, rc = HM_OK;

	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if ((r = sqlite3_step(st)) == SQLITE_ROW)
		col_text(st, 0, buf, len);
	else if (r == SQLITE_DONE)
		rc = hm_seterr(err, HM_E_NOTFOUND, "no setting '%s'", key);
	else
		rc = dberr(err, s, "reading a setting");
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc;
}

static int
s_setting_set(hm_store *hs, const char *key, const char *value,
    hm_err *err)
{
	struct sqlite_store	*s = (struct sqlite_store *)hs;
	sqlite3_stmt		*st = s->st[ST_SETTING_SET];
	int			 r;

	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	r = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (r == SQLITE_CONSTRAINT)
		return hm_seterr(err, HM_E_EXISTS, "setting '%s' is set "
		    "already", key);
	if (r != SQLITE_DONE)
		return hm_seterr(err, HM_E_STORE, "store: recording setting "
		    "'%s': %s", key, sqlite3_errstr(r));
	return HM_OK;
}

/*
 * A consistent copy of the whole database, in memory: SQLite's online
 * backup API copies every page in one step under a read transaction (so
 * a writer in the WAL does not tear it), into an in-memory database that
 * is then serialized.  Nothing of the store is written to a temp file:
 * it holds token PSKs.
 */
static int
s_snapshot(hm_store *hs, unsigned char **out, size_t *len, hm_err *err)
{
	struct sqlite_store	*s = (struct sqlite_store *)hs;
	sqlite3			*mem = NULL;
	sqlite3_backup		*b;
	sqlite3_int64		 n = 0;
	unsigned char		*ser = NULL, *buf;
	int			 rc;

	if (s->in_tx)
		return hm_seterr(err, HM_E_INTERNAL, "store: snapshot inside "
		    "a transaction");
	if (sqlite3_open_v2(":memory:", &mem, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		rc = hm_seterr(err, HM_E_NOMEM, "store: snapshot: out of "
		    "memory");
		goto out;
	}
	if ((b = sqlite3_backup_init(mem, "main", s->db, "main")) == NULL) {
		rc = hm_seterr(err, HM_E_STORE, "store: snapshot: %s",
		    sqlite3_errmsg(mem));
		goto out;
	}
	rc = sqlite3_backup_step(b, -1);
	if (sqlite3_backup_finish(b) != SQLITE_OK || rc != SQLITE_DONE) {
		rc = hm_seterr(err, HM_E_STORE, "store: snapshot: %s",
		    sqlite3_errmsg(mem));
		goto out;
	}
	if ((ser = sqlite3_serialize(mem, "main", &n, 0)) == NULL || n <= 0) {
		rc = hm_seterr(err, HM_E_STORE, "store: snapshot: serializing "
		    "failed");
		goto out;
	}
	if ((buf = malloc((size_t)n)) == NULL) {
		rc = hm_seterr(err, HM_E_NOMEM, "out of memory");
		goto out;
	}
	memcpy(buf, ser, (size_t)n);
	*out = buf;
	*len = (size_t)n;
	rc = HM_OK;
 out:
	if (ser != NULL) {
		OPENSSL_cleanse(ser, (size_t)n);
		sqlite3_free(ser);
	}
	sqlite3_close(mem);
	return rc;
}

static const struct hm_store_ops sqlite_ops = {
	.name = "sqlite",
	.close = s_close,
	.begin = s_begin,
	.commit = s_commit,
	.rollback = s_rollback,
	.savepoint = s_savepoint,
	.release = s_release,
	.rollback_to = s_rollback_to,
	.cert_insert = s_cert_insert,
	.cert_get = s_cert_get,
	.cert_list = s_cert_list,
	.ca_insert = s_ca_insert,
	.ca_get = s_ca_get,
	.ca_update = s_ca_update,
	.cert_revoke = s_cert_revoke,
	.revoked_list = s_revoked_list,
	.crl_next = s_crl_next,
	.ca_set_url = s_ca_set_url,
	.ca_list = s_ca_list,
	.token_insert = s_token_insert,
	.token_pending = s_token_pending,
	.token_get = s_token_get,
	.token_list = s_token_list,
	.token_revoke = s_token_revoke,
	.token_use = s_token_use,
	.token_purge = s_token_purge,
	.pair_insert = s_pair_insert,
	.pair_get = s_pair_get,
	.pair_open = s_pair_open,
	.pair_reveal = s_pair_reveal,
	.pair_move = s_pair_move,
	.pair_list = s_pair_list,
	.pair_purge = s_pair_purge,
	.cert_supersede = s_cert_supersede,
	.setting_get = s_setting_get,
	.setting_set = s_setting_set,
	.checkpoint = s_checkpoint,
	.defer_checkpoints = s_defer_checkpoints,
	.snapshot = s_snapshot,
};

static int
exec(struct sqlite_store *s, const char *sql, hm_err *err)
{
	char	*msg = NULL;
	int	 rc = HM_OK;

	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK)
		rc = hm_seterr(err, HM_E_STORE, "store: %s", msg != NULL ?
		    msg : sqlite3_errmsg(s->db));
	sqlite3_free(msg);
	return rc;
}

/* Take the schema up to version upto. */
static int
migrate(struct sqlite_store *s, int upto, hm_err *err)
{
	sqlite3_stmt	*st = NULL;
	char		 sql[64];
	int		 v, rc;

	if ((rc = exec(s, "BEGIN IMMEDIATE", err)) != HM_OK)
		return rc;
	if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st,
	    NULL) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW) {
		rc = dberr(err, s, "reading the schema version");
		goto out;
	}
	v = sqlite3_column_int(st, 0);
	/* No statement may be pending while a migration drops things. */
	sqlite3_finalize(st);
	st = NULL;
	if (v > SCHEMA_VERSION) {
		rc = hm_seterr(err, HM_E_STORE, "store schema version %d is "
		    "newer than this hallmark knows (%d): upgrade hallmark",
		    v, SCHEMA_VERSION);
		goto out;
	}
	for (; v < upto; v++) {
		if ((rc = exec(s, migrations[v], err)) != HM_OK)
			goto out;
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v + 1);
		if ((rc = exec(s, sql, err)) != HM_OK)
			goto out;
	}
	return exec(s, "COMMIT", err);
 out:
	sqlite3_finalize(st);
	exec(s, "ROLLBACK", NULL);
	return rc;
}

/* A store at schema version upto; statements prepared at the latest. */
static int
store_open(const char *path, int create, int upto, hm_store **out,
    hm_err *err)
{
	struct sqlite_store	*s;
	int			 i, rc, fd;

	if (create) {
		/* Created here, not by SQLite, to get 0600 and O_EXCL. */
		if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
		    0600)) == -1)
			return hm_seterr(err, errno == EEXIST ? HM_E_EXISTS :
			    HM_E_IO, "create %s: %s", path, strerror(errno));
		close(fd);
	} else if (access(path, F_OK) == -1)
		return hm_seterr(err, HM_E_NOTFOUND, "no store at %s", path);
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return hm_seterr(err, HM_E_NOMEM, "out of memory");
	s->base.ops = &sqlite_ops;
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW, NULL) != SQLITE_OK) {
		rc = hm_seterr(err, HM_E_STORE, "store %s: %s", path,
		    s->db != NULL ? sqlite3_errmsg(s->db) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
	sqlite3_extended_result_codes(s->db, 0);
	if ((rc = exec(s, "PRAGMA journal_mode = WAL; "
	    "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; "
	    "PRAGMA secure_delete = ON; "
	    /* 16 MiB, not 2: a commit seldom reads a page back */
	    "PRAGMA cache_size = -16384; "
	    "PRAGMA trusted_schema = OFF", err)) != HM_OK ||
	    (rc = migrate(s, upto, err)) != HM_OK)
		goto fail;
	for (i = 0; i < ST_MAX && upto == SCHEMA_VERSION; i++)
		if (sqlite3_prepare_v3(s->db, stmt_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL) != SQLITE_OK) {
			rc = dberr(err, s, "preparing statements");
			goto fail;
		}
	*out = &s->base;
	return HM_OK;
 fail:
	for (i = 0; i < ST_MAX; i++)
		sqlite3_finalize(s->st[i]);
	sqlite3_close(s->db);
	free(s);
	return rc;
}

int
hm_store_sqlite_open(const char *path, int create, hm_store **out,
    hm_err *err)
{
	return store_open(path, create, SCHEMA_VERSION, out, err);
}

int
hm_store_sqlite_create_at(const char *path, int version, hm_err *err)
{
	hm_store	*st;
	int		 rc;

	if (version < 0 || version > SCHEMA_VERSION)
		return hm_seterr(err, HM_E_INVALID, "no schema version %d",
		    version);
	if ((rc = store_open(path, 1, version, &st, err)) == HM_OK)
		hm_store_close(st);
	return rc;
}
