/*
 * kl_csv: a streaming CSV reader (the only user of libcsv).
 *
 * RFC 4180 as spreadsheets write it: quoted fields, doubled quotes, line
 * breaks inside quotes, CRLF or LF, a UTF-8 byte order mark. Lines that are
 * empty or hold only delimiters are skipped. Records are read a chunk at a
 * time, so memory stays flat however long the input. Fields are handed back
 * as they are: checking them (UTF-8, emptiness) is the caller's business.
 */
#ifndef KL_CSV_H
#define KL_CSV_H

#include <stddef.h>
#include <stdio.h>

#include "kl_err.h"

enum kl_csv_encoding { KL_CSV_UTF8, KL_CSV_CP1251 };

struct kl_csv_opts {
	char delimiter; /* ',', ';' or '\t'; 0: guessed from the first line */
	enum kl_csv_encoding encoding;
};

struct kl_csv_record {
	long row;       /* 1-based, counting the header and delimiter-only lines */
	size_t nfields;
	char **field;   /* NUL-terminated; a field may hold a NUL byte: see len */
	size_t *len;
};

/* The longest record read, in bytes; a longer one is most often a quote
 * that was never closed. */
#define KL_CSV_MAX_RECORD (1024 * 1024)

struct kl_csv;

/* name is used in messages ("leads.csv", "standard input"). The stream stays
 * the caller's to close. */
int kl_csv_open(struct kl_csv **out, FILE *in, const char *name, const struct kl_csv_opts *opts,
		struct kl_err *err);
void kl_csv_free(struct kl_csv *r); /* accepts NULL */

/* Reads the next record into *rec, valid until the next call. Returns 1 for
 * a record, 0 at the end of input, or an error status (KL_EDATA for input
 * that is not CSV, KL_EIO for a read error). */
int kl_csv_next(struct kl_csv *r, const struct kl_csv_record **rec, struct kl_err *err);

/* The delimiter in use (after guessing). */
char kl_csv_delimiter(const struct kl_csv *r);

/* Bytes of input consumed so far (for progress). */
unsigned long long kl_csv_offset(const struct kl_csv *r);

#endif
