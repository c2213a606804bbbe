/*
 * kl_journal: the --state file of an import, so that a rerun never sends a
 * row twice and never loses one.
 *
 * The file is append-only text, one record a line, written and fsynced
 * before each request ("S key uid": these rows are about to be sent with
 * these source_uids) and after its reply ("C key lead_id contact_id"
 * created, or "N key" surely not created). A
 * row is known by a key made from its content (see kl_journal_row_key), so
 * the journal follows the input, not line numbers. The file is locked for
 * the life of the run: a second import on it is refused at once. A line
 * torn by a crash is ignored when the file is read again.
 */
#ifndef KL_JOURNAL_H
#define KL_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "util/kl_err.h"

#define KL_JOURNAL_KEY 33 /* 32 hex digits and a NUL */

struct kl_journal;

struct kl_journal_entry {
	const char *uid;       /* the source_uid it was sent with */
	bool created;          /* Kommo confirmed it */
	long long lead_id, contact_id;
};

/* Opens (creating, mode 600) and locks path, and reads what it holds.
 * KL_ETEMPFAIL when another run holds the lock. */
int kl_journal_open(struct kl_journal **out, const char *path, struct kl_err *err);
void kl_journal_close(struct kl_journal *j); /* accepts NULL */

/* The key of a row: its fields, and how many identical rows came before it
 * in this run (so two identical rows stay two rows). The count goes by 63
 * bits of the content's MD5: should two different contents share them (odds
 * of about 1 in 18,000,000 in a million rows), their keys still differ, but
 * a rerun over an input that reorders the two, or drops one, may not find
 * the other in the journal and send it again. It never skips a row not sent. */
int kl_journal_row_key(struct kl_journal *j, const char *const *fields, const size_t *lens,
		       size_t n, char key[KL_JOURNAL_KEY], struct kl_err *err);

/* What an earlier run recorded for key, or NULL; valid until kl_journal_close. */
const struct kl_journal_entry *kl_journal_find(const struct kl_journal *j, const char *key);

/* Records, durably, that these rows are about to be sent with these uids. */
int kl_journal_sending(struct kl_journal *j, const char *const *keys, const char *const *uids,
		       size_t n, struct kl_err *err);

/* Records, durably, what Kommo created; call kl_journal_sync after a batch. */
int kl_journal_created(struct kl_journal *j, const char *key, long long lead_id,
		       long long contact_id, struct kl_err *err);
/* Records that a request surely created nothing for key (Kommo refused the
 * whole request: 400, 422, 429, 401-405, 502, 503). */
int kl_journal_not_created(struct kl_journal *j, const char *key, struct kl_err *err);
int kl_journal_sync(struct kl_journal *j, struct kl_err *err);

#endif
