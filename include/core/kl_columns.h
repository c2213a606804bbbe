/*
 * kl_columns: which lead field each CSV column fills.
 *
 * Column names are matched case-insensitively, ignoring everything but
 * letters and digits ('_', '-', spaces, dashes before a flag name), against
 * one list of spellings: the attribute names, the flag names, the
 * integration guide's names (lastName, surname, source, ...) and Russian
 * ones (Телефон, Почта, ...); "lead:ID", "contact:ID" and "lead:ID:number"
 * name other custom fields. --map renames
 * a column before matching. A struct kl_columns owns its strings.
 */
#ifndef KL_COLUMNS_H
#define KL_COLUMNS_H

#include <stdbool.h>
#include <stddef.h>

#include "util/kl_err.h"
#include "core/kl_lead.h"

enum kl_col_kind {
	KL_COL_ATTR,       /* a lead attribute */
	KL_COL_CUSTOM,     /* lead:ID or contact:ID */
	KL_COL_CREATED_AT, /* ISO 8601 or Unix seconds */
	KL_COL_IGNORED     /* unknown, with --ignore-unknown-columns */
};

struct kl_column {
	char *name; /* as in the header (or --columns) */
	enum kl_col_kind kind;
	enum kl_attr attr;
	char *spec; /* for KL_COL_CUSTOM: "lead:1709500" or "lead:1709444:number" */
};

struct kl_columns {
	struct kl_column *col;
	size_t n;
};

/* One --map COLUMN=FIELD. */
struct kl_colmap {
	const char *column;
	const char *field;
};

/* Maps a header. Unknown columns stop with KL_EDATA naming them all, unless
 * ignore_unknown; a field filled by two columns is an error too. */
int kl_columns_map(struct kl_columns *c, const char *const *names, size_t n,
		   const struct kl_colmap *maps, size_t nmaps, bool ignore_unknown, struct kl_err *err);
void kl_columns_free(struct kl_columns *c); /* accepts NULL */

/* For input that names its values on every line (JSON Lines), where any
 * line may give any known key: the field a key fills, into field ("phone",
 * "created_at", "lead:1709500"; "" for a key read as nothing: "error", or
 * any unknown key with ignore_unknown). Two keys fill one field when their
 * fields are equal. KL_EDATA, with a message naming the key (and the
 * nearest known name), for an unknown key or a custom field key refused. */
int kl_columns_field(const char *name, const struct kl_colmap *maps, size_t nmaps, bool ignore_unknown,
		     char *field, size_t size, struct kl_err *err);

/* Adds a column for such a key, as kl_columns_map maps one, without the
 * checks a header gets (an unused --map, two columns for one field): the
 * lines that give a key refused by kl_columns_field are refused by their
 * reader, so here it is an ignored column. Only memory can fail. */
int kl_columns_add(struct kl_columns *c, const char *name, const struct kl_colmap *maps, size_t nmaps,
		   struct kl_err *err);

/* The lead field a column name means: >= 0 an attribute, or -1 (unknown),
 * -2 (created_at), -3 (a custom field spec), -4 (the "error" column that
 * --rejects adds, skipped so the file imports again). */
int kl_columns_lookup(const char *name);

/* The i-th spelling (from 0) of attribute a in that list, folded as
 * kl_str_fold folds ("lastname", "фамилия"); NULL past the last. fields --env
 * looks for the same names among an account's custom fields. */
const char *kl_columns_spelling(enum kl_attr a, size_t i);

#endif
