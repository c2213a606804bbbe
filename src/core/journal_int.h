/* What the journal's own files share (src/core/journal*.c); nothing else
 * includes this. */
#ifndef KL_JOURNAL_INT_H
#define KL_JOURNAL_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/kl_journal.h"

/* journal_keys.c: row keys, and the count of identical rows they need */
struct kl_journal_counts;
int kl_journal_keys_make(struct kl_journal_counts **c, const char *const *fields,
			 const size_t *lens, size_t n, char key[KL_JOURNAL_KEY], struct kl_err *err);
void kl_journal_keys_free(struct kl_journal_counts *c); /* accepts NULL */
/* A key as written (32 lower-case hex digits) as bytes; false if s is none. */
bool kl_journal_key_parse(const char *s, unsigned char key[16]);
void kl_journal_key_hex(const unsigned char key[16], char hex[KL_JOURNAL_KEY]);

/* journal_rec.c: a record, apart from where it is kept */
struct kl_journal_rec {
	unsigned char key[16];
	enum kl_journal_state state; /* never NEVER_SENT */
	long long lead, contact;
	bool dup;
	const char *uid; /* NULL when DAMAGED */
};
/* Two checksums: of key and uid (which stays right when only the outcome is
 * damaged), and of the whole record. */
uint64_t kl_journal_sum_uid(const unsigned char key[16], const char *uid);
uint64_t kl_journal_sum_rec(const struct kl_journal_rec *r);
/* The row is about to be sent with uid (found: r is its record). */
void kl_journal_on_sending(struct kl_journal_rec *r, bool found, const char *uid);
/* A request carrying it surely created nothing; false: nothing changes. */
bool kl_journal_on_not_created(struct kl_journal_rec *r, bool found);

/* journal_legacy.c: state files of the text format ("kommo-lead-state 1") */
#define KL_JOURNAL_LEGACY_MAGIC "kommo-lead-state 1\n"

/* One record of a text-format file: op 'S' (sent with uid), 'C' (created,
 * lead and contact), 'N' (surely not created). */
typedef int kl_journal_legacy_fn(void *ctx, char op, const unsigned char key[16], const char *uid,
				 long long lead, long long contact, struct kl_err *err);
struct kl_journal_legacy_stats {
	size_t bad_lines; /* whole lines that did not parse (a torn last one is not counted) */
	long first_bad;   /* its line number, 0 if none */
};
/* Reads fd (positioned after the magic line) a chunk at a time, calling fn
 * for each record in order. */
int kl_journal_legacy_read(int fd, const char *path, kl_journal_legacy_fn *fn, void *ctx,
			   struct kl_journal_legacy_stats *st, struct kl_err *err);

#endif
