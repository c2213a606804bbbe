/* libFuzzer target: the JSON Lines reader and the JSON Lines rejects file on
 * any bytes. The records read must keep the reader's promises (the header
 * first, then rows as wide as the columns known when each was read, line
 * numbers going forward, a line that is no row named by its error), and
 * writing them back as the import's --rejects does (each row's own keys
 * with a value, the error, through kl_jsonl_put_text and kl_jsonl_write)
 * must give a file that reads back as the same rows: a rejects file always
 * imports again. Built with -DKL_FUZZ=ON and clang; tests/fuzz/replay.c
 * replays the corpus. */
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
	size_t nrows, ncols; /* ncols: the columns at the end */
	char **names;
	size_t *width;   /* each row's cells */
	char ***cell;
	char **error;    /* NULL: none */
};

static void *must(void *p)
{
	if (!p)
		abort();
	return p;
}

static void table_free(struct table *t)
{
	for (size_t i = 0; i < t->nrows; i++) {
		for (size_t j = 0; j < t->width[i]; j++)
			free(t->cell[i][j]);
		free(t->cell[i]);
		free(t->error[i]);
	}
	for (size_t j = 0; j < t->ncols; j++)
		free(t->names[j]);
	free(t->names);
	free(t->width);
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

/* One row's record, checked, into t. */
static void take(const struct kl_jsonl *r, const struct kl_csv_record *rec, struct table *t)
{
	size_t n;
	const char *const *names = kl_jsonl_columns(r, &n);
	/* as wide as the columns, at least one cell (a bad line before any key) */
	if (rec->nfields != n && !(n == 0 && rec->nfields == 1 && rec->error))
		abort();
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < i; j++)
			if (strcmp(names[i], names[j]) == 0)
				abort(); /* a key is one column */
	char prefix[32];
	snprintf(prefix, sizeof prefix, "line %ld", rec->row);
	if (rec->error && strncmp(rec->error, prefix, strlen(prefix)) != 0)
		abort(); /* the error names the line */
	t->width = must(realloc(t->width, (t->nrows + 1) * sizeof *t->width));
	t->cell = must(realloc(t->cell, (t->nrows + 1) * sizeof *t->cell));
	t->error = must(realloc(t->error, (t->nrows + 1) * sizeof *t->error));
	t->cell[t->nrows] = must(calloc(rec->nfields, sizeof **t->cell));
	for (size_t i = 0; i < rec->nfields; i++) {
		const char *v = rec->field[i];
		if (v[rec->len[i]] != '\0')
			abort();
		/* a row's values are text: UTF-8 without a NUL (a bad line is kept as it was) */
		if (!rec->error && (strlen(v) != rec->len[i] || !kl_str_utf8_valid(v, rec->len[i])))
			abort();
		t->cell[t->nrows][i] = must(strdup(v));
	}
	t->width[t->nrows] = rec->nfields;
	t->error[t->nrows++] = rec->error ? must(strdup(rec->error)) : NULL;
}

/* Reads in, checking the reader's promises, into t. */
static void read_all(FILE *in, size_t size, struct table *t)
{
	struct kl_jsonl *r = NULL;
	struct kl_err err = {0};
	if (kl_jsonl_open(&r, in, "fuzz", &err) != KL_OK)
		abort();
	const struct kl_csv_record *rec;
	long last = 0;
	bool header = true;
	int rc;
	while ((rc = kl_jsonl_next(r, &rec, &err)) == 1) {
		/* the header and the first row are one line; after that lines go forward */
		if (rec->row < last || (rec->row == last && !(t->nrows == 0 && !header)))
			abort();
		last = rec->row;
		if (header && (rec->nfields != 0 || rec->error))
			abort(); /* no --map: no key is a column before a line gives it */
		if (!header)
			take(r, rec, t);
		header = false;
	}
	if (rc < 0 && (strncmp(err.msg, "fuzz: ", 6) != 0 || (rc != KL_EDATA && rc != KL_EIO)))
		abort();
	if (kl_jsonl_offset(r) > size)
		abort();
	const char *const *names = kl_jsonl_columns(r, &t->ncols);
	t->names = must(calloc(t->ncols + 1, sizeof *t->names));
	for (size_t j = 0; j < t->ncols; j++)
		t->names[j] = must(strdup(names[j]));
	kl_jsonl_free(r);
}

/* What a value reads back as: the writer's text of it (a C string, made UTF-8). */
static char *expected(const char *v)
{
	return must(kl_str_utf8_valid(v, strlen(v)) ? strdup(v) : kl_str_printable(v));
}

/* Row i as --rejects writes it: its cells with a value, then the error. */
static cJSON *reject_of(const struct table *t, size_t i)
{
	cJSON *o = must(cJSON_CreateObject());
	for (size_t j = 0; j < t->width[i]; j++)
		if (*t->cell[i][j] && !kl_jsonl_put_text(o, j < t->ncols ? t->names[j] : "line", t->cell[i][j]))
			abort();
	if (!kl_jsonl_put_text(o, "error", t->error[i] ? t->error[i] : ""))
		abort();
	return o;
}

/* What row i of the file written reads back as under key: the text written. */
static const char *written(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return v ? v->valuestring : "";
}

/* Writes the rows as --rejects does and reads them back. */
static void round_trip(const struct table *t)
{
	const char *path = tmp_path();
	struct kl_err err = {0};
	struct kl_csv_writer *w = NULL;
	cJSON **sent = must(calloc(t->nrows, sizeof *sent));
	if (kl_csv_writer_open(&w, path, ',', KL_CSV_UTF8, &err) != KL_OK)
		abort();
	for (size_t i = 0; i < t->nrows; i++)
		if (kl_jsonl_write(w, sent[i] = reject_of(t, i)) != 0)
			abort();
	if (kl_csv_writer_close(w) != 0)
		abort();

	FILE *f = must(fopen(path, "rb"));
	struct table back = {0};
	read_all(f, SIZE_MAX, &back);
	fclose(f);
	if (back.nrows != t->nrows)
		abort();
	for (size_t i = 0; i < t->nrows; i++) {
		if (back.error[i]) /* every line written is a row */
			abort();
		for (size_t j = 0; j < back.width[i]; j++) {
			char *want = expected(written(sent[i], back.names[j]));
			if (strcmp(back.cell[i][j], want) != 0)
				abort();
			free(want);
		}
		/* and every key written is read back */
		const cJSON *k;
		cJSON_ArrayForEach(k, sent[i])
		{
			size_t j = 0;
			while (j < back.width[i] && strcmp(back.names[j], k->string) != 0)
				j++;
			if (j == back.width[i])
				abort();
		}
		cJSON_Delete(sent[i]);
	}
	free(sent);
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
	read_all(f, size, &t);
	fclose(f);
	if (t.nrows > 0)
		round_trip(&t);
	table_free(&t);
	return 0;
}
