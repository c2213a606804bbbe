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

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "util/kl_err.h"

/* KL_CSV_AUTO: UTF-8 when the input is valid UTF-8, else Windows-1251 when
 * it reads as Cyrillic text (kl_encoding.h), else an error naming the line;
 * decided by the first chunk that holds more than ASCII. */
enum kl_csv_encoding { KL_CSV_AUTO, KL_CSV_UTF8, KL_CSV_CP1251 };

struct kl_csv_opts {
	char delimiter; /* ',', ';' or '\t'; 0: guessed from the first line */
	enum kl_csv_encoding encoding; /* KL_CSV_CP1251 refuses input that is UTF-8 Cyrillic */
};

struct kl_csv_record {
	long row;       /* 1-based as in a spreadsheet: the header and blank lines
			 * count, a quoted value spanning lines counts once */
	size_t nfields;
	char **field;   /* NUL-terminated; a field may hold a NUL byte: see len */
	size_t *len;
	/* false only for the last record of an input that ends without a line
	 * end: a file another program may still be writing */
	bool line_end;
	/* NULL, or why the record is no row (kl_jsonl: a line that is not an
	 * object of the header's keys): the caller rejects it with this */
	const char *error;
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

/* Like kl_csv_next, but only records already read: 1 or 0, never reads more.
 * For an interrupted run, to account for every row taken from a pipe. */
int kl_csv_next_buffered(struct kl_csv *r, const struct kl_csv_record **rec);

/* Reads ahead so that the delimiter is guessed (before any record is taken). */
int kl_csv_peek(struct kl_csv *r, struct kl_err *err);

/* The encoding found (KL_CSV_AUTO: nothing past ASCII read yet). */
enum kl_csv_encoding kl_csv_encoding(const struct kl_csv *r);

/* The delimiter in use (after guessing). */
char kl_csv_delimiter(const struct kl_csv *r);

/* Bytes of input consumed so far (for progress). */
unsigned long long kl_csv_offset(const struct kl_csv *r);

/* Records those bytes hold that were not handed out yet: the offset is a
 * chunk's end, and progress counts only the records handed out. */
size_t kl_csv_buffered(const struct kl_csv *r);

/* A CSV writer in the same dialect: the delimiter given, CRLF line ends,
 * quotes only where needed, and the encoding of the input (CP1251 output
 * replaces what CP1251 cannot hold with '?').
 *
 * The rows hold names, phones and emails, and the path may name a file
 * that matters: the rows go to a new file beside path (mode 600), which
 * kl_csv_writer_close renames over path once every row is on disk, so an
 * existing file is replaced only then, and a symlink at path is replaced,
 * not followed. A path that is not a regular file or symlink (a device, a
 * FIFO), or whose directory takes no new file, is written in place. */
struct kl_csv_writer;

/* err names the path, not the option that gave it: the caller adds that. */
int kl_csv_writer_open(struct kl_csv_writer **out, const char *path, char delimiter,
		       enum kl_csv_encoding encoding, struct kl_err *err);
/* 0, or -1 with errno set. */
int kl_csv_write_row(struct kl_csv_writer *w, const char *const *fields, size_t n);
/* Writes text and a LF as they are: a line of another format (JSON Lines)
 * in a file made as the CSV one is. Not converted: for a UTF-8 writer.
 * 0, or -1 with errno set. */
int kl_csv_write_text(struct kl_csv_writer *w, const char *text);
/* Flushes, syncs, closes and renames into place; 0, or -1 with errno set
 * (the new file is then removed: path is as it was). Accepts NULL. */
int kl_csv_writer_close(struct kl_csv_writer *w);
/* Closes and removes the new file: path is left as it was. Accepts NULL. */
void kl_csv_writer_discard(struct kl_csv_writer *w);

#endif
