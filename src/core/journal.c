/* The --state journal in SQLite (the only file that includes sqlite3.h); why
 * SQLite, and how damage is treated, is in include/core/kl_journal.h. */
#include "core/kl_journal.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "journal_int.h"
#include "util/kl_str.h"

#define APP_ID 0x4b4c4a31 /* "KLJ1": tells our state file from another SQLite file */
#define SQLITE_MAGIC "SQLite format 3"
#define CACHE_KIB 4096

#define SCHEMA(table)                                                                     \
	"CREATE TABLE " table "(key BLOB PRIMARY KEY NOT NULL, state INTEGER NOT NULL,"    \
	" lead_id INTEGER NOT NULL, contact_id INTEGER NOT NULL, dup INTEGER NOT NULL,"   \
	" uid TEXT, key2 BLOB NOT NULL, sum_uid INTEGER NOT NULL, sum INTEGER NOT NULL)" \
	" WITHOUT ROWID"
#define COLUMNS "key, state, lead_id, contact_id, dup, uid, key2, sum_uid, sum"

/* A database and the two statements every change goes through. */
struct store {
	sqlite3 *db;
	sqlite3_stmt *get, *put;
};

struct kl_journal {
	int fd; /* holds the lock; closed only after the database */
	char *path;
	struct store st;
	sqlite3_stmt *next_unanswered;
	bool in_tx;
	struct kl_journal_counts *counts;
	struct kl_journal_health health;
	struct kl_journal_entry found; /* what kl_journal_find hands out */
	struct kl_buf uid;             /* found.uid */
};

/* --- records ------------------------------------------------------------- */

enum verdict {
	REC_GOOD,      /* every checksum holds: r is the record */
	REC_UID_KEPT,  /* damaged, but key and uid check out: r is UNANSWERED */
	REC_UID_LOST,  /* damaged, key known: r is DAMAGED (alt too, if alt_ok) */
	REC_KEY_LOST   /* damaged, no key to be had (more than one byte hit) */
};

static bool blob16(sqlite3_stmt *s, int col, unsigned char out[16])
{
	if (sqlite3_column_type(s, col) != SQLITE_BLOB || sqlite3_column_bytes(s, col) != 16)
		return false;
	memcpy(out, sqlite3_column_blob(s, col), 16);
	return true;
}

/* Reads the row s stands on (columns as COLUMNS) and says what it can be
 * taken for. The key is held twice so that one damaged byte never leaves
 * the row unknown: the copy whose checksums hold is the key. */
static enum verdict classify(sqlite3_stmt *s, struct kl_journal_rec *r, unsigned char alt[16], bool *alt_ok)
{
	unsigned char k[2][16];
	bool have[2] = {blob16(s, 0, k[0]), blob16(s, 6, k[1])};
	const char *uid = sqlite3_column_type(s, 5) == SQLITE_TEXT ? (const char *)sqlite3_column_text(s, 5) : NULL;
	uint64_t want_uid = (uint64_t)sqlite3_column_int64(s, 7), want = (uint64_t)sqlite3_column_int64(s, 8);
	long long state = sqlite3_column_int64(s, 1), dup = sqlite3_column_int64(s, 4);

	*alt_ok = false;
	r->lead = sqlite3_column_int64(s, 2);
	r->contact = sqlite3_column_int64(s, 3);
	r->uid = uid;
	r->state = state >= KL_JOURNAL_UNANSWERED && state <= KL_JOURNAL_DAMAGED ? (enum kl_journal_state)state
										 : KL_JOURNAL_DAMAGED;
	r->dup = dup != 0;
	for (int i = 0; i < 2; i++) {
		if (!have[i])
			continue;
		memcpy(r->key, k[i], 16);
		if (r->state == state && (dup == 0 || dup == 1) && kl_journal_sum_rec(r) == want)
			return REC_GOOD;
	}
	r->lead = r->contact = 0;
	r->dup = true; /* whatever it was, a resend may be a second request */
	for (int i = 0; i < 2; i++) {
		if (have[i] && uid && kl_journal_sum_uid(k[i], uid) == want_uid) {
			memcpy(r->key, k[i], 16);
			r->state = KL_JOURNAL_UNANSWERED;
			return REC_UID_KEPT;
		}
	}
	r->state = KL_JOURNAL_DAMAGED;
	r->uid = NULL;
	if (!have[0] && !have[1])
		return REC_KEY_LOST;
	memcpy(r->key, k[have[0] ? 0 : 1], 16);
	if (have[0] && have[1] && memcmp(k[0], k[1], 16) != 0) {
		memcpy(alt, k[1], 16);
		*alt_ok = true;
	}
	return REC_UID_LOST;
}

static int db_fail(struct kl_journal *j, sqlite3 *db, int rc, struct kl_err *err)
{
	int code = rc & 0xff;
	if (code == SQLITE_CORRUPT || code == SQLITE_NOTADB)
		return kl_err_set(err, KL_EDATA,
				  "--state %s: the state file is damaged beyond reading (%s): the rows it recorded cannot be told from new ones; keep it, and look in Incoming leads before importing with a new state file",
				  j->path, sqlite3_errmsg(db));
	if (code == SQLITE_NOMEM)
		return kl_err_oom(err);
	if (code == SQLITE_FULL)
		return kl_err_set(err, KL_EIO, "--state %s: cannot write: the disk is full", j->path);
	return kl_err_set(err, KL_EIO, "--state %s: %s", j->path, sqlite3_errmsg(db));
}

/* Writes r (OR REPLACE: it is the record now; OR IGNORE: only if there is none). */
static int put(struct kl_journal *j, struct store *st, const struct kl_journal_rec *r, bool replace,
	       struct kl_err *err)
{
	sqlite3_stmt *s = st->put;
	sqlite3_bind_int(s, 1, replace);
	sqlite3_bind_blob(s, 2, r->key, 16, SQLITE_STATIC);
	sqlite3_bind_int(s, 3, (int)r->state);
	sqlite3_bind_int64(s, 4, r->lead);
	sqlite3_bind_int64(s, 5, r->contact);
	sqlite3_bind_int(s, 6, r->dup);
	if (r->uid)
		sqlite3_bind_text(s, 7, r->uid, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(s, 7);
	sqlite3_bind_int64(s, 8, (sqlite3_int64)kl_journal_sum_uid(r->key, r->uid));
	sqlite3_bind_int64(s, 9, (sqlite3_int64)kl_journal_sum_rec(r));
	int rc = sqlite3_step(s);
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? KL_OK : db_fail(j, st->db, rc, err);
}

/* The record of key into r, its uid copied to j->uid; *found false if none.
 * A record damaged since opening is taken for what classify says. */
static int get(struct kl_journal *j, struct store *st, const unsigned char key[16], struct kl_journal_rec *r,
	       bool *found, struct kl_err *err)
{
	sqlite3_stmt *s = st->get;
	unsigned char alt[16];
	bool alt_ok;
	sqlite3_bind_blob(s, 1, key, 16, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	*found = rc == SQLITE_ROW;
	if (rc == SQLITE_ROW) {
		enum verdict v = classify(s, r, alt, &alt_ok);
		if (v == REC_KEY_LOST || memcmp(r->key, key, 16) != 0) {
			*r = (struct kl_journal_rec){.state = KL_JOURNAL_DAMAGED, .dup = true};
			memcpy(r->key, key, 16);
		}
		j->uid.len = 0;
		if (r->uid && kl_buf_append(&j->uid, r->uid, strlen(r->uid) + 1)) {
			sqlite3_reset(s);
			return kl_err_oom(err);
		}
		r->uid = r->uid ? j->uid.data : NULL;
		rc = SQLITE_DONE;
	}
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? KL_OK : db_fail(j, st->db, rc, err);
}

static int exec(struct kl_journal *j, sqlite3 *db, const char *sql, struct kl_err *err)
{
	int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	return rc == SQLITE_OK ? KL_OK : db_fail(j, db, rc, err);
}

static int prepare(struct kl_journal *j, sqlite3 *db, const char *sql, sqlite3_stmt **s,
		   struct kl_err *err)
{
	int rc = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, s, NULL);
	return rc == SQLITE_OK ? KL_OK : db_fail(j, db, rc, err);
}

static int store_prepare(struct kl_journal *j, struct store *st, struct kl_err *err)
{
	int rc = prepare(j, st->db, "SELECT " COLUMNS " FROM row WHERE key = ?1", &st->get, err);
	if (!rc)
		rc = prepare(j, st->db,
			     "INSERT OR REPLACE INTO row SELECT ?2, ?3, ?4, ?5, ?6, ?7, ?2, ?8, ?9"
			     " WHERE ?1 OR NOT EXISTS (SELECT 1 FROM row WHERE key = ?2)",
			     &st->put, err);
	return rc;
}

static void store_close(struct store *st)
{
	sqlite3_finalize(st->get);
	sqlite3_finalize(st->put);
	sqlite3_close(st->db);
	*st = (struct store){0};
}

/* Opens path as a database: ours, or new (then made ours). */
static int store_open(struct kl_journal *j, struct store *st, const char *path, bool durable,
		      struct kl_err *err)
{
	int rc = sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK)
		return db_fail(j, st->db, rc, err);
	sqlite3_extended_result_codes(st->db, 1);
	/* exclusive before WAL: no shared-memory file; the lock is ours anyway */
	char pragmas[300];
	snprintf(pragmas, sizeof pragmas,
		 "PRAGMA locking_mode=EXCLUSIVE; PRAGMA journal_mode=%s; PRAGMA synchronous=%s;"
		 " PRAGMA cache_size=-%d; PRAGMA cell_size_check=ON;",
		 durable ? "WAL" : "OFF", durable ? "FULL" : "OFF", CACHE_KIB);
	if ((rc = exec(j, st->db, pragmas, err)))
		return rc;
	sqlite3_stmt *s;
	if ((rc = prepare(j, st->db, "SELECT (SELECT count(*) FROM sqlite_master), application_id FROM pragma_application_id", &s, err)))
		return rc;
	int step = sqlite3_step(s);
	bool empty = step == SQLITE_ROW && sqlite3_column_int(s, 0) == 0;
	bool ours = step == SQLITE_ROW && sqlite3_column_int(s, 1) == APP_ID;
	sqlite3_finalize(s);
	if (step != SQLITE_ROW)
		return db_fail(j, st->db, step, err);
	if (empty) {
		char sql[600];
		snprintf(sql, sizeof sql, "BEGIN; %s; PRAGMA application_id=%d; COMMIT;", SCHEMA("row"), APP_ID);
		if ((rc = exec(j, st->db, sql, err)))
			return rc;
	} else if (!ours) {
		return kl_err_set(err, KL_EDATA, "--state %s: an SQLite file, but not a kommo-lead state file; give a new file name or the one an earlier import made",
				  j->path);
	}
	return store_prepare(j, st, err);
}

/* --- opening: the check of every record ------------------------------------ */

/* Reads every record (in the table's own order, which needs no key to be
 * right); with fresh, writes each as what it is taken for into fresh. */
static int scan(struct kl_journal *j, sqlite3_stmt *fresh, bool *rebuild, struct kl_err *err)
{
	sqlite3_stmt *s;
	struct kl_journal_health *h = &j->health;
	unsigned char prev[16], alt[16];
	bool alt_ok, first = true;
	int rc = prepare(j, j->st.db, "SELECT " COLUMNS " FROM row", &s, err), step;
	while (!rc && (step = sqlite3_step(s)) == SQLITE_ROW) {
		struct kl_journal_rec r;
		enum verdict v = classify(s, &r, alt, &alt_ok);
		if (fresh) {
			struct store st = {j->st.db, NULL, fresh};
			if (v != REC_KEY_LOST)
				rc = put(j, &st, &r, v == REC_GOOD, err);
			if (!rc && alt_ok) {
				memcpy(r.key, alt, 16);
				rc = put(j, &st, &r, false, err);
			}
			continue;
		}
		/* a key out of order is a damaged one: lookups near it would miss */
		unsigned char cur[16];
		if (!blob16(s, 0, cur) || (!first && memcmp(prev, cur, 16) >= 0))
			*rebuild = true;
		if (blob16(s, 0, cur)) {
			memcpy(prev, cur, 16);
			first = false;
		}
		h->records++;
		h->unanswered += r.state == KL_JOURNAL_UNANSWERED || r.state == KL_JOURNAL_DAMAGED;
		if (v == REC_GOOD)
			continue;
		*rebuild = true;
		h->damaged_uid_lost += v != REC_UID_KEPT;
		if (!h->damaged++ && v != REC_KEY_LOST)
			kl_journal_key_hex(r.key, h->first_damaged);
	}
	if (!rc && step != SQLITE_DONE)
		rc = db_fail(j, j->st.db, step, err);
	sqlite3_finalize(s);
	return rc;
}

/* Writes every record again as what it was taken for, so that the damage is
 * settled on disk and the keys are in order. */
static int rebuild(struct kl_journal *j, struct kl_err *err)
{
	sqlite3_stmt *fresh = NULL;
	bool unused;
	int rc = exec(j, j->st.db, "BEGIN IMMEDIATE; DROP TABLE IF EXISTS fresh; " SCHEMA("fresh"), err);
	if (!rc)
		rc = prepare(j, j->st.db,
			     "INSERT OR REPLACE INTO fresh SELECT ?2, ?3, ?4, ?5, ?6, ?7, ?2, ?8, ?9"
			     " WHERE ?1 OR NOT EXISTS (SELECT 1 FROM fresh WHERE key = ?2)",
			     &fresh, err);
	if (!rc)
		rc = scan(j, fresh, &unused, err);
	sqlite3_finalize(fresh);
	if (!rc)
		rc = exec(j, j->st.db, "DROP TABLE row; ALTER TABLE fresh RENAME TO row; COMMIT", err);
	if (rc)
		sqlite3_exec(j->st.db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

/* --- the text format, converted ------------------------------------------ */

struct convert {
	struct kl_journal *j;
	struct store st;
};

static int legacy_record(void *ctx, char op, const unsigned char key[16], const char *uid,
			 long long lead, long long contact, struct kl_err *err)
{
	struct convert *c = ctx;
	struct kl_journal_rec r;
	bool found;
	int rc = get(c->j, &c->st, key, &r, &found, err);
	if (rc)
		return rc;
	memcpy(r.key, key, 16);
	if (op == 'S') {
		kl_journal_on_sending(&r, found, uid);
		memcpy(r.key, key, 16);
	} else if (op == 'N') {
		if (!kl_journal_on_not_created(&r, found))
			return KL_OK;
	} else {
		if (!found) /* a C without its S: torn, as it always was */
			return KL_OK;
		r.state = KL_JOURNAL_CREATED;
		r.lead = lead;
		r.contact = contact;
	}
	return put(c->j, &c->st, &r, true, err);
}

static int sync_dir(const char *path)
{
	char *copy = strdup(path);
	int fd = copy ? open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	int rc = fd >= 0 && fsync(fd) == 0 ? 0 : -1;
	if (fd >= 0)
		close(fd);
	free(copy);
	return rc;
}

/* Writes the text-format file j->fd holds as a database beside it, locked
 * before it takes the file's name, and puts it in the file's place. A crash
 * before the rename leaves the text file as it was. */
static int convert(struct kl_journal *j, struct kl_err *err)
{
	struct convert c = {j, {0}};
	struct kl_journal_legacy_stats stats;
	char *tmp = kl_str_printf("%s.kl-new", j->path);
	int fd = tmp ? open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600) : -1, rc;
	if (!tmp)
		return kl_err_oom(err);
	if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) != 0) {
		rc = kl_err_set(err, KL_EIO, "--state %s: cannot convert it (%s): %s", j->path, tmp, strerror(errno));
		goto out;
	}
	if ((rc = store_open(j, &c.st, tmp, false, err)) || (rc = exec(j, c.st.db, "BEGIN", err)))
		goto out;
	if (lseek(j->fd, (off_t)strlen(KL_JOURNAL_LEGACY_MAGIC), SEEK_SET) < 0) {
		rc = kl_err_set(err, KL_EIO, "--state %s: cannot read: %s", j->path, strerror(errno));
		goto out;
	}
	if ((rc = kl_journal_legacy_read(j->fd, j->path, legacy_record, &c, &stats, err)) ||
	    (rc = exec(j, c.st.db, "COMMIT", err)))
		goto out;
	store_close(&c.st);
	if (fsync(fd) != 0 || rename(tmp, j->path) != 0 || sync_dir(j->path) != 0) {
		rc = kl_err_set(err, KL_EIO, "--state %s: cannot convert it (%s): %s", j->path, tmp, strerror(errno));
		goto out;
	}
	close(j->fd); /* the text file's lock: the new file's is held */
	j->fd = fd;
	fd = -1;
	j->health.converted = true;
	j->health.legacy_bad_lines = stats.bad_lines;
	j->health.first_bad_line = stats.first_bad;
out:
	store_close(&c.st);
	if (fd >= 0) {
		unlink(tmp);
		close(fd);
	}
	free(tmp);
	return rc;
}

/* --- the interface --------------------------------------------------------- */

enum kind { KIND_NEW, KIND_SQLITE, KIND_TEXT };

static int file_kind(struct kl_journal *j, enum kind *kind, struct kl_err *err)
{
	const char *magic = KL_JOURNAL_LEGACY_MAGIC;
	size_t mlen = strlen(magic);
	char head[32];
	struct stat st;
	ssize_t n = pread(j->fd, head, sizeof head, 0);
	if (n < 0 || fstat(j->fd, &st) != 0)
		return kl_err_set(err, KL_EIO, "--state %s: cannot read: %s", j->path, strerror(errno));
	*kind = KIND_NEW; /* empty, or made by SQLite whose first commit is still in the WAL */
	if (n == 0)
		return KL_OK;
	if ((size_t)n >= sizeof SQLITE_MAGIC && memcmp(head, SQLITE_MAGIC, sizeof SQLITE_MAGIC) == 0)
		return *kind = KIND_SQLITE, KL_OK;
	if ((size_t)n >= mlen && memcmp(head, magic, mlen) == 0)
		return *kind = KIND_TEXT, KL_OK;
	if ((size_t)n < mlen && st.st_size == n && memcmp(head, magic, (size_t)n) == 0) {
		/* the text format's very first write cut short: nothing was recorded */
		if (ftruncate(j->fd, 0) != 0)
			return kl_err_set(err, KL_EIO, "--state %s: cannot repair: %s", j->path, strerror(errno));
		return KL_OK;
	}
	return kl_err_set(err, KL_EDATA, "--state %s: not a kommo-lead state file; give a new file name or the one an earlier import made",
			  j->path);
}

static int lock(struct kl_journal *j, struct kl_err *err)
{
	j->fd = open(j->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (j->fd < 0)
		return kl_err_set(err, KL_EIO, "--state %s: cannot open: %s", j->path, strerror(errno));
	if (flock(j->fd, LOCK_EX | LOCK_NB) == 0)
		return KL_OK;
	if (errno == EWOULDBLOCK)
		return kl_err_set(err, KL_ETEMPFAIL,
				  "--state %s: another kommo-lead import is using this state file (an overlapping cron run?); try again when it has finished",
				  j->path);
	return kl_err_set(err, KL_EIO, "--state %s: cannot lock: %s", j->path, strerror(errno));
}

int kl_journal_open(struct kl_journal **out, const char *path, struct kl_err *err)
{
	struct kl_journal *j = calloc(1, sizeof *j);
	enum kind kind;
	bool damaged = false;
	int rc;
	if (!j || !(j->path = strdup(path))) {
		free(j);
		return kl_err_oom(err);
	}
	j->fd = -1;
	if ((rc = lock(j, err)) || (rc = file_kind(j, &kind, err)))
		goto fail;
	if (kind == KIND_TEXT && (rc = convert(j, err)))
		goto fail;
	if ((rc = store_open(j, &j->st, path, true, err)) || (rc = scan(j, NULL, &damaged, err)))
		goto fail;
	if (damaged && (rc = rebuild(j, err)))
		goto fail;
	/* the statements again: the rebuild replaced their table */
	sqlite3_finalize(j->st.get);
	sqlite3_finalize(j->st.put);
	j->st.get = j->st.put = NULL;
	if ((rc = store_prepare(j, &j->st, err)) ||
	    (rc = prepare(j, j->st.db,
			  "SELECT " COLUMNS " FROM row WHERE key > ?1 AND state IN (1, 4) ORDER BY key LIMIT 1",
			  &j->next_unanswered, err)))
		goto fail;
	*out = j;
	return KL_OK;
fail:
	kl_journal_close(j);
	return rc;
}

void kl_journal_close(struct kl_journal *j)
{
	if (!j)
		return;
	if (j->in_tx) /* what was recorded is true: keep it */
		sqlite3_exec(j->st.db, "COMMIT", NULL, NULL, NULL);
	sqlite3_finalize(j->next_unanswered);
	store_close(&j->st);
	if (j->fd >= 0)
		close(j->fd); /* after SQLite's own descriptor: releases the lock */
	kl_journal_keys_free(j->counts);
	kl_buf_free(&j->uid);
	free(j->path);
	free(j);
}

void kl_journal_health(const struct kl_journal *j, struct kl_journal_health *out)
{
	*out = j->health;
}

int kl_journal_row_key(struct kl_journal *j, const char *const *fields, const size_t *lens,
		       size_t n, char key[KL_JOURNAL_KEY], struct kl_err *err)
{
	return kl_journal_keys_make(&j->counts, fields, lens, n, key, err);
}

int kl_journal_lookup(struct kl_journal *j, const char *key, struct kl_journal_entry *out,
		      struct kl_err *err)
{
	unsigned char k[16];
	struct kl_journal_rec r;
	bool found = false;
	int rc = KL_OK;
	*out = (struct kl_journal_entry){.state = KL_JOURNAL_NEVER_SENT};
	if (!kl_journal_key_parse(key, k) || (rc = get(j, &j->st, k, &r, &found, err)) || !found)
		return rc;
	*out = (struct kl_journal_entry){r.uid, r.state == KL_JOURNAL_CREATED, r.lead, r.contact, r.state, r.dup};
	return KL_OK;
}

const struct kl_journal_entry *kl_journal_find(struct kl_journal *j, const char *key)
{
	struct kl_err err = {0};
	if (kl_journal_lookup(j, key, &j->found, &err))
		j->found = (struct kl_journal_entry){.state = KL_JOURNAL_DAMAGED, .maybe_dup = true};
	if (j->found.state == KL_JOURNAL_NEVER_SENT || j->found.state == KL_JOURNAL_NOT_CREATED)
		return NULL;
	return &j->found;
}

int kl_journal_unanswered(struct kl_journal *j, kl_journal_each_fn *fn, void *ctx,
			  struct kl_err *err)
{
	sqlite3_stmt *s = j->next_unanswered;
	unsigned char last[16] = {0}, alt[16];
	bool alt_ok;
	int rc = KL_OK, step;
	char hex[KL_JOURNAL_KEY];
	struct kl_buf uid = {0};
	/* a query a row, from the last key on: fn may change the table between */
	sqlite3_bind_blob(s, 1, last, 0, SQLITE_STATIC);
	while (!rc && (step = sqlite3_step(s)) == SQLITE_ROW) {
		struct kl_journal_rec r;
		classify(s, &r, alt, &alt_ok);
		bool has_key = blob16(s, 0, last);
		uid.len = 0;
		if (r.uid && kl_buf_append(&uid, r.uid, strlen(r.uid) + 1))
			rc = kl_err_oom(err);
		kl_journal_key_hex(r.key, hex);
		sqlite3_reset(s);
		if (!has_key)
			break; /* cannot go on from a key that is not one: settled at the next open */
		if (!rc && (r.state == KL_JOURNAL_UNANSWERED || r.state == KL_JOURNAL_DAMAGED))
			rc = fn(ctx, hex, r.uid ? uid.data : NULL, r.dup, err);
		sqlite3_bind_blob(s, 1, last, 16, SQLITE_STATIC);
	}
	if (!rc && step != SQLITE_DONE && step != SQLITE_ROW)
		rc = db_fail(j, j->st.db, step, err);
	sqlite3_reset(s);
	kl_buf_free(&uid);
	return rc;
}

static int begin(struct kl_journal *j, struct kl_err *err)
{
	if (j->in_tx)
		return KL_OK;
	int rc = exec(j, j->st.db, "BEGIN IMMEDIATE", err);
	j->in_tx = rc == KL_OK;
	return rc;
}

/* Reads key's record, lets change alter it, and writes it back if it says so. */
static int update(struct kl_journal *j, const char *key,
		  bool (*change)(struct kl_journal_rec *r, bool found, const void *arg), const void *arg,
		  struct kl_err *err)
{
	unsigned char k[16];
	struct kl_journal_rec r;
	bool found;
	if (!kl_journal_key_parse(key, k))
		return kl_err_set(err, KL_ESOFTWARE, "--state %s: \"%.40s\" is not a row key", j->path, key);
	int rc = begin(j, err);
	if (!rc)
		rc = get(j, &j->st, k, &r, &found, err);
	if (rc || !change(&r, found, arg))
		return rc;
	memcpy(r.key, k, 16);
	return put(j, &j->st, &r, true, err);
}

static bool change_sending(struct kl_journal_rec *r, bool found, const void *uid)
{
	kl_journal_on_sending(r, found, uid);
	return true;
}

int kl_journal_sending(struct kl_journal *j, const char *const *keys, const char *const *uids,
		       size_t n, struct kl_err *err)
{
	int rc = KL_OK;
	for (size_t i = 0; i < n && !rc; i++)
		rc = update(j, keys[i], change_sending, uids[i], err);
	return rc ? rc : kl_journal_sync(j, err);
}

struct ids {
	long long lead, contact;
};

static bool change_created(struct kl_journal_rec *r, bool found, const void *arg)
{
	const struct ids *ids = arg;
	if (!found)
		*r = (struct kl_journal_rec){0};
	r->state = KL_JOURNAL_CREATED;
	r->lead = ids->lead;
	r->contact = ids->contact;
	return true;
}

int kl_journal_created(struct kl_journal *j, const char *key, long long lead_id,
		       long long contact_id, struct kl_err *err)
{
	struct ids ids = {lead_id, contact_id};
	return update(j, key, change_created, &ids, err);
}

static bool change_dup(struct kl_journal_rec *r, bool found, const void *arg)
{
	(void)arg;
	if (!found || r->dup)
		return false;
	r->dup = true;
	return true;
}

int kl_journal_mark_dup(struct kl_journal *j, const char *key, struct kl_err *err)
{
	return update(j, key, change_dup, NULL, err);
}

static bool change_not_created(struct kl_journal_rec *r, bool found, const void *arg)
{
	(void)arg;
	return kl_journal_on_not_created(r, found);
}

int kl_journal_not_created(struct kl_journal *j, const char *key, struct kl_err *err)
{
	return update(j, key, change_not_created, NULL, err);
}

int kl_journal_sync(struct kl_journal *j, struct kl_err *err)
{
	if (!j->in_tx)
		return KL_OK;
	/* WAL with synchronous=FULL: on disk when COMMIT returns */
	int rc = exec(j, j->st.db, "COMMIT", err);
	j->in_tx = rc != KL_OK && sqlite3_get_autocommit(j->st.db) == 0;
	return rc;
}
