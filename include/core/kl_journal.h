/*
 * kl_journal: the --state file of an import, so that a rerun never sends a
 * row twice unflagged and never loses one.
 *
 * A row is known by a key made from its content (see kl_journal_row_key), so
 * the journal follows the input, not line numbers. Before a request goes, its
 * rows are recorded durably as sent with their source_uids; after the reply,
 * what Kommo created (or surely did not). The file is locked for the life of
 * the run: a second import on it is refused at once (KL_ETEMPFAIL).
 *
 * Why SQLite rather than the hand-made text file of earlier versions: that
 * file was read into memory whole (121 MiB at a million rows, growing with
 * every run over a growing export); bounding it means an on-disk index, and
 * an on-disk index that survives kill -9 at any moment is what SQLite is, in
 * WAL mode with one transaction a batch: a commit is one fsync, a torn WAL
 * tail is discarded by its frame checksums, memory is its page cache (4 MiB)
 * whatever the row count, a row's record is updated in place (so its
 * possibly_duplicated flag is set once and stays), and listing the rows sent
 * without an answer is a query. It is in every Debian (libsqlite3-0) and far
 * better tested than a format of our own. What it does not give is a check
 * of the bytes of a record, so every record carries two checksums of its own
 * (below). State files of the text format are still read: the first open
 * converts one into the new format, its created rows kept.
 *
 * Damage. Every record holds its key twice, a checksum of key and uid and one
 * of the whole record. Opening reads every record: one whose checksums do not
 * hold is never trusted. If its uid still checks out it becomes "sent, no
 * answer" (so its outcome is looked up in Kommo by that uid); if not, "damaged"
 * (may have been sent, uid unknown). A single damaged byte always leaves the
 * row's key known. Damaged records are counted (kl_journal_health) and
 * rewritten as what they are taken for, so a later run sees the same.
 */
#ifndef KL_JOURNAL_H
#define KL_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "util/kl_err.h"

#define KL_JOURNAL_KEY 33 /* 32 hex digits and a NUL */

struct kl_journal;

enum kl_journal_state {
	KL_JOURNAL_NEVER_SENT = 0, /* no record of the row */
	KL_JOURNAL_UNANSWERED,     /* sent with uid, no answer recorded: outcome unknown */
	KL_JOURNAL_CREATED,        /* Kommo created it: lead_id, contact_id */
	KL_JOURNAL_NOT_CREATED,    /* every request carrying it surely created nothing */
	KL_JOURNAL_DAMAGED         /* its record is damaged: may have been sent, uid unknown */
};

struct kl_journal_entry {
	const char *uid; /* the source_uid it was last sent with; NULL when damaged */
	bool created;    /* state == KL_JOURNAL_CREATED */
	long long lead_id, contact_id;
	enum kl_journal_state state;
	/* more than one request carrying the row may have reached Kommo: once
	 * set it stays set, created or not */
	bool maybe_dup;
};

/* Opens (creating, mode 600) and locks path, converts a state file of the
 * text format, and checks every record. KL_ETEMPFAIL when another run holds
 * the lock; KL_EDATA when path is not a state file or SQLite finds it
 * damaged beyond reading. */
int kl_journal_open(struct kl_journal **out, const char *path, struct kl_err *err);
/* Commits what is pending, and unlocks. Accepts NULL. */
void kl_journal_close(struct kl_journal *j);

/* What opening found. */
struct kl_journal_health {
	size_t records;            /* rows on record */
	size_t unanswered;         /* UNANSWERED or DAMAGED: to look up before resending */
	size_t damaged;            /* records whose checksums did not hold */
	size_t damaged_uid_lost;   /* of them, those whose uid is lost too (DAMAGED) */
	char first_damaged[KL_JOURNAL_KEY]; /* the key of the first, "" if none */
	size_t legacy_bad_lines;   /* a converted text file: lines that did not parse */
	long first_bad_line;       /* the first of them (1 = the header), 0 if none */
	bool converted;            /* this open converted a text-format file */
};
void kl_journal_health(const struct kl_journal *j, struct kl_journal_health *out);

/* The key of a row: its fields, and how many identical rows came before it
 * in this run (so two identical rows stay two rows). The count goes by 63
 * bits of the content's MD5: should two different contents share them (odds
 * of about 1 in 18,000,000 in a million rows), their keys still differ, but
 * a rerun over an input that reorders the two, or drops one, may not find
 * the other in the journal and send it again. It never skips a row not sent. */
int kl_journal_row_key(struct kl_journal *j, const char *const *fields, const size_t *lens,
		       size_t n, char key[KL_JOURNAL_KEY], struct kl_err *err);

/* What is on record for key. out->uid stays valid until the next call on j. */
int kl_journal_lookup(struct kl_journal *j, const char *key, struct kl_journal_entry *out,
		      struct kl_err *err);

/* The earlier interface: NULL when the row is to be sent as new (never sent,
 * or surely not created), else its entry (valid until the next call on j).
 * A failed read answers DAMAGED, never NULL. */
const struct kl_journal_entry *kl_journal_find(struct kl_journal *j, const char *key);

/* Calls fn for every row sent without a recorded answer, in key order: uid is
 * NULL for a DAMAGED one. fn may record outcomes for the rows it is given;
 * a non-zero return stops the walk and is returned. */
typedef int kl_journal_each_fn(void *ctx, const char *key, const char *uid, bool maybe_dup,
			       struct kl_err *err);
int kl_journal_unanswered(struct kl_journal *j, kl_journal_each_fn *fn, void *ctx,
			  struct kl_err *err);

/* Records, durably (committed and fsynced on return), that these rows are
 * about to be sent with these uids. A row already sent without a recorded
 * answer, or damaged, is flagged maybe_dup: two requests may both land. */
int kl_journal_sending(struct kl_journal *j, const char *const *keys, const char *const *uids,
		       size_t n, struct kl_err *err);

/* Records what Kommo created; durable at the next kl_journal_sync. A flag
 * already set stays set. */
int kl_journal_created(struct kl_journal *j, const char *key, long long lead_id,
		       long long contact_id, struct kl_err *err);
/* Flags key maybe_dup (a request carrying it may have reached Kommo before);
 * durable at the next kl_journal_sync. */
int kl_journal_mark_dup(struct kl_journal *j, const char *key, struct kl_err *err);
/* Records that a request surely created nothing for key (Kommo refused the
 * whole request: 400, 422, 429, 401-405, 502, 503). A row flagged maybe_dup
 * stays UNANSWERED: an earlier request carrying it may still have landed. A
 * created row stays created. */
int kl_journal_not_created(struct kl_journal *j, const char *key, struct kl_err *err);
/* Commits and fsyncs what was recorded since the last commit. */
int kl_journal_sync(struct kl_journal *j, struct kl_err *err);

#endif
