/*
 * kl_jsonl: a reader of JSON Lines (one JSON object a line) that hands out
 * the records kl_csv does, so that the import treats both alike.
 *
 * Every line stands on its own: any line may give any key the import
 * knows, and a key a line lacks is an empty cell. The columns are the keys
 * given to kl_jsonl_keys (--map's), then every other key in the order it
 * is first read: a record holds a cell for each column known when it was
 * read (kl_jsonl_columns), so a later record may hold more. The first call
 * to kl_jsonl_next returns the first columns as a record (as a CSV header
 * line is), the next one the first line's values. Values: strings as they
 * are; numbers as their value (1e3 as 1000, 0.10 as 0.1: a value that must
 * stay as written goes as a string); null is an empty cell; true, false,
 * arrays and objects are refused, as is an integer past 2^53, which a
 * double cannot hold exactly.
 *
 * A line that is no row is a record all the same, with error set: the
 * caller rejects it and goes on. One with a key refused (by the check
 * kl_jsonl_keys was given) or two keys that fill one field keeps its cells;
 * one that is not such an object (not JSON, not an object, a key given
 * twice, a value refused, not UTF-8) has the whole line as its first field.
 * Only an over-long line or a read error ends the input. Blank lines are
 * skipped; a UTF-8 byte order mark and CR line ends are accepted. Records'
 * row is the line number.
 */
#ifndef KL_JSONL_H
#define KL_JSONL_H

#include <stdbool.h>
#include <stdio.h>

#include "core/kl_csv.h"
#include "util/kl_err.h"

/* The longest line read, in bytes. */
#define KL_JSONL_MAX_LINE KL_CSV_MAX_RECORD

/* The most different keys an input may use: a line bringing more is refused. */
#define KL_JSONL_MAX_KEYS 1000

struct kl_jsonl;

/* Whether a key may be given, and the field it fills into field ("" none:
 * two keys of one line that fill one field refuse the line). KL_OK; or
 * KL_EDATA with a message naming the key, which refuses every line that
 * gives it; any other status ends the input. */
typedef int kl_jsonl_key_fn(void *ctx, const char *key, char *field, size_t size, struct kl_err *err);

/* name is used in messages. The stream stays the caller's to close. */
int kl_jsonl_open(struct kl_jsonl **out, FILE *in, const char *name, struct kl_err *err);
void kl_jsonl_free(struct kl_jsonl *r); /* accepts NULL */

/* Before the first record: the first columns (seed, in order: --map's
 * keys) and the check of every key (NULL: any key, filling nothing). */
int kl_jsonl_keys(struct kl_jsonl *r, const char *const *seed, size_t n, kl_jsonl_key_fn *check, void *ctx,
		  struct kl_err *err);

/* The columns so far, for the fields of the records read so far. */
const char *const *kl_jsonl_columns(const struct kl_jsonl *r, size_t *n);

/* Reads the next record into *rec, valid until the next call. Returns 1
 * for a record, 0 at the end of input, or an error status (KL_EDATA, KL_EIO). */
int kl_jsonl_next(struct kl_jsonl *r, const struct kl_csv_record **rec, struct kl_err *err);

/* Records already read, never reading more: only the first object's values
 * once its keys were taken (lines are read one at a time). */
int kl_jsonl_next_buffered(struct kl_jsonl *r, const struct kl_csv_record **rec);

/* Bytes of input consumed so far (for progress). */
unsigned long long kl_jsonl_offset(const struct kl_jsonl *r);

/* Writing JSON Lines (the rejects and results files of a JSON Lines input):
 * the objects are made with cJSON, and written through a kl_csv_writer
 * opened for UTF-8, so that the file is made as the CSV one is (beside its
 * path, mode 600, renamed into place). */
struct cJSON;

/* Sets key in o to v as a string (NULL: null), replacing a key of that name
 * o already has: a rejects file imported again has an "error" key of its
 * own, and a key given twice would refuse the whole file. Bytes of v that
 * are not UTF-8 (a line kept whole because it was not UTF-8) become '?':
 * JSON holds only text. false when memory ran out. */
bool kl_jsonl_put_text(struct cJSON *o, const char *key, const char *v);

/* Writes o as one line. 0, or -1 with errno set (ENOMEM for an o of NULL:
 * memory ran out while it was made). */
int kl_jsonl_write(struct kl_csv_writer *w, const struct cJSON *o);

/* As kl_csv_buffered: the first object, read with the keys, until handed out. */
size_t kl_jsonl_buffered(const struct kl_jsonl *r);

#endif
