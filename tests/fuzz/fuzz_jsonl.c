/* libFuzzer target: the JSON Lines reader and the JSON Lines rejects file on
 * any bytes. The records read must keep the reader's promises (the header
 * first, then rows of its width, line numbers going forward, a line that is
 * no row named by its error), and writing them back as the import's
 * --rejects does (kl_jsonl_put_text, kl_jsonl_write) must give a file that
 * reads back as the same rows, with the error as one more column: a rejects
 * file always imports again. Built with -DKL_FUZZ=ON and clang;
 * tests/fuzz/replay.c replays the corpus. */
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/kl_csv.h"
#include "core/kl_jsonl.h"
#include "util/kl_str.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct table {
	size_t ncols, nrows;
	char **cell; /* nrows rows of ncols cells, then each row's error (NULL: none) */
	char **error;
};

static void *must(void *p)
{
	if (!p)
		abort();
	return p;
}

static void table_free(struct table *t)
{
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cell[i]);
	for (size_t i = 0; i < t->nrows; i++)
		free(t->error[i]);
	free(t->cell);
	free(t->error);
}

/* The file written to: in memory, reached by a name, so nothing is left behind. */
static const char *tmp_path(void)
{
	static char path[64];
	if (!path[0]) {
		int fd = memfd_create("kl-fuzz-jsonl", 0);
		if (fd < 0)
			abort();
		snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	}
	return path;
}

/* Reads in, checking the reader's promises, into t (the header in names). */
static void read_all(FILE *in, size_t size, struct table *t, char ***names)
{
	struct kl_jsonl *r = NULL;
	struct kl_err err = {0};
	if (kl_jsonl_open(&r, in, "fuzz", &err) != KL_OK)
		abort();
	const struct kl_csv_record *rec;
	long last = 0;
	int rc;
	while ((rc = kl_jsonl_next(r, &rec, &err)) == 1) {
		bool header = !*names;
		/* the header and the first row are one line; after that lines go forward */
		if (rec->row < last || (rec->row == last && !(t->nrows == 0 && !header)))
			abort();
		last = rec->row;
		if (header) {
			if (rec->nfields == 0 || rec->error)
				abort();
			*names = must(calloc(rec->nfields, sizeof **names));
			t->ncols = rec->nfields;
			for (size_t i = 0; i < rec->nfields; i++) {
				for (size_t j = 0; j < i; j++)
					if (strcmp(rec->field[i], (*names)[j]) == 0)
						abort(); /* a key given twice is refused */
				(*names)[i] = must(strdup(rec->field[i]));
			}
			continue;
		}
		if (rec->nfields != t->ncols)
			abort();
		char prefix[32];
		snprintf(prefix, sizeof prefix, "line %ld", rec->row);
		if (rec->error && strncmp(rec->error, prefix, strlen(prefix)) != 0)
			abort(); /* the error names the line */
		t->cell = must(realloc(t->cell, (t->nrows + 1) * t->ncols * sizeof *t->cell));
		t->error = must(realloc(t->error, (t->nrows + 1) * sizeof *t->error));
		for (size_t i = 0; i < t->ncols; i++) {
			const char *v = rec->field[i];
			if (v[rec->len[i]] != '\0')
				abort();
			/* a row's values are text: UTF-8 without a NUL (a bad line is kept as it was) */
			if (!rec->error && (strlen(v) != rec->len[i] || !kl_str_utf8_valid(v, rec->len[i])))
				abort();
			t->cell[t->nrows * t->ncols + i] = must(strdup(v));
		}
		t->error[t->nrows++] = rec->error ? must(strdup(rec->error)) : NULL;
	}
	if (rc < 0 && (strncmp(err.msg, "fuzz: ", 6) != 0 || (rc != KL_EDATA && rc != KL_EIO)))
		abort();
	if (kl_jsonl_offset(r) > size)
		abort();
	kl_jsonl_free(r);
}

/* What a value reads back as: the writer's text of it (a C string, made UTF-8). */
static char *expected(const char *v)
{
	return must(kl_str_utf8_valid(v, strlen(v)) ? strdup(v) : kl_str_printable(v));
}

/* Writes the rows as --rejects does and reads them back. */
static void round_trip(const struct table *t, char **names)
{
	const char *path = tmp_path();
	struct kl_err err = {0};
	struct kl_csv_writer *w = NULL;
	if (kl_csv_writer_open(&w, path, ',', KL_CSV_UTF8, &err) != KL_OK)
		abort();
	for (size_t i = 0; i < t->nrows; i++) {
		cJSON *o = must(cJSON_CreateObject());
		for (size_t j = 0; j < t->ncols; j++)
			if (!kl_jsonl_put_text(o, names[j], t->cell[i * t->ncols + j]))
				abort();
		if (!kl_jsonl_put_text(o, "error", t->error[i] ? t->error[i] : "") || kl_jsonl_write(w, o) != 0)
			abort();
		cJSON_Delete(o);
	}
	if (kl_csv_writer_close(w) != 0)
		abort();

	FILE *f = must(fopen(path, "rb"));
	struct table back = {0};
	char **keys = NULL;
	read_all(f, SIZE_MAX, &back, &keys);
	fclose(f);
	/* the error is one more column, or the input's own "error" column */
	size_t at = t->ncols;
	for (size_t j = 0; j < t->ncols; j++)
		if (strcmp(names[j], "error") == 0)
			at = j;
	size_t width = t->ncols + (at == t->ncols);
	if (back.nrows != t->nrows || (t->nrows && back.ncols != width))
		abort();
	for (size_t j = 0; t->nrows && j < width; j++)
		if (strcmp(keys[j], j == t->ncols ? "error" : names[j]) != 0)
			abort();
	for (size_t i = 0; i < t->nrows; i++) {
		if (back.error[i]) /* every line written is a row */
			abort();
		for (size_t j = 0; j < width; j++) {
			const char *v = j == at ? (t->error[i] ? t->error[i] : "") : t->cell[i * t->ncols + j];
			char *want = expected(v);
			if (strcmp(back.cell[i * width + j], want) != 0)
				abort();
			free(want);
		}
	}
	for (size_t j = 0; keys && j < width; j++)
		free(keys[j]);
	free(keys);
	table_free(&back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char none[1];
	/* an empty file: glibc before 2.22 refuses a 0-byte fmemopen */
	FILE *f = size ? fmemopen((void *)data, size, "r") : fmemopen(none, 0, "r");
	if (!f && !(f = fopen("/dev/null", "r")))
		return 0;
	struct table t = {0};
	char **names = NULL;
	read_all(f, size, &t, &names);
	fclose(f);
	if (t.nrows > 0)
		round_trip(&t, names);
	for (size_t j = 0; names && j < t.ncols; j++)
		free(names[j]);
	free(names);
	table_free(&t);
	return 0;
}
