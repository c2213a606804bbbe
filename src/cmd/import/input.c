/* The import's input, CSV or JSON Lines: both hand out kl_csv records, so
 * the rest of the import does not ask which. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/kl_jsonl.h"
#include "import_int.h"

static bool ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), t = strlen(tail);
	return n >= t && strcasecmp(s + n - t, tail) == 0;
}

/* auto: by the file's extension; standard input is CSV unless told. */
static bool is_jsonl(const struct kl_opts *o)
{
	if (o->format != KL_FORMAT_AUTO)
		return o->format == KL_FORMAT_JSONL;
	return o->input && (ends_with(o->input, ".jsonl") || ends_with(o->input, ".ndjson"));
}

/* A JSON Lines key: any column name the import knows, on any line. */
static int check_key(void *ctx, const char *key, char *field, size_t size, struct kl_err *err)
{
	const struct kl_opts *o = ctx;
	return kl_columns_field(key, o->maps, o->nmaps, o->ignore_unknown, field, size, err);
}

/* The columns start as --map's keys (so that each names a column, as in a
 * CSV header); every other key is taken on the line that first gives it. */
static int open_jsonl(struct run *r, struct kl_err *err)
{
	const struct kl_opts *o = r->o;
	const char **seed = calloc(o->nmaps + 1, sizeof *seed);
	if (!seed)
		return kl_err_oom(err);
	for (size_t i = 0; i < o->nmaps; i++)
		seed[i] = o->maps[i].column;
	int rc = kl_jsonl_open(&r->jsonl, r->in, r->in_name, err);
	if (rc == KL_OK)
		rc = kl_jsonl_keys(r->jsonl, seed, o->nmaps, check_key, (void *)o, err);
	free(seed);
	return rc;
}

int imp_input_open(struct run *r, struct kl_err *err)
{
	const struct kl_opts *o = r->o;
	int rc;
	if (is_jsonl(o)) {
		/* JSON names its keys, and is UTF-8 */
		if (o->columns)
			return kl_err_set(err, KL_EUSAGE, "--columns is for CSV without a header: JSON Lines name their keys");
		if (o->encoding == KL_CSV_CP1251)
			return kl_err_set(err, KL_EUSAGE, "--encoding cp1251: JSON Lines are UTF-8");
		return open_jsonl(r, err);
	}
	struct kl_csv_opts co = {o->delimiter, (enum kl_csv_encoding)o->encoding};
	if ((rc = kl_csv_open(&r->csv, r->in, r->in_name, &co, err)))
		return rc;
	/* the rejects and results files speak the input's dialect: guess it first */
	if (!o->delimiter && (rc = kl_csv_peek(r->csv, err)))
		return rc;
	return KL_OK;
}

bool imp_input_opened(const struct run *r)
{
	return r->csv || r->jsonl;
}

/* A JSON Lines record may come with keys new to the columns: they join
 * them (once the header made them: r->cols.col is set). */
static int sync_columns(struct run *r, int got, struct kl_err *err)
{
	size_t n;
	const char *const *names = kl_jsonl_columns(r->jsonl, &n);
	for (size_t i = r->cols.n; got == 1 && r->cols.col && i < n; i++) {
		int rc = kl_columns_add(&r->cols, names[i], r->o->maps, r->o->nmaps, err);
		if (rc)
			return rc;
	}
	return got;
}

int imp_input_next(struct run *r, const struct kl_csv_record **rec, struct kl_err *err)
{
	if (!r->jsonl)
		return kl_csv_next(r->csv, rec, err);
	return sync_columns(r, kl_jsonl_next(r->jsonl, rec, err), err);
}

int imp_input_next_buffered(struct run *r, const struct kl_csv_record **rec)
{
	struct kl_err err = {0};
	if (!r->jsonl)
		return kl_csv_next_buffered(r->csv, rec);
	int got = sync_columns(r, kl_jsonl_next_buffered(r->jsonl, rec), &err);
	return got == 1 || got == 0 ? got : 0; /* out of memory: nothing more is counted */
}

/* The field a column fills, as the journal knows it: the attribute's own
 * name ("email", whether the key was "Email", "почта" or --map'ed), the
 * custom field's spec, "created_at"; NULL for a key that fills nothing. */
static const char *field_of(const struct kl_column *c)
{
	switch (c->kind) {
	case KL_COL_ATTR:
		return kl_attr_info(c->attr)->name;
	case KL_COL_CUSTOM:
		return c->spec;
	case KL_COL_CREATED_AT:
		return "created_at";
	default:
		return NULL;
	}
}

static int by_field(const void *a, const void *b, void *cols)
{
	const struct kl_column *c = ((const struct kl_columns *)cols)->col;
	return strcmp(field_of(&c[*(const size_t *)a]), field_of(&c[*(const size_t *)b]));
}

/* A JSON Lines row is known by the fields it fills and their values, not
 * by where its cells are (the columns grow as keys first appear, so the key
 * of a row must not depend on what other lines give) nor by how its keys
 * are spelled (a rerun may spell "email" as "Email" or "почта"): its
 * non-empty cells, as field and value, in the order of their fields. */
int imp_input_row_key(struct run *r, const struct kl_csv_record *rec, char key[KL_JOURNAL_KEY], struct kl_err *err)
{
	if (!r->jsonl)
		return kl_journal_row_key(r->journal, (const char *const *)rec->field, rec->len, rec->nfields, key, err);
	size_t *at = calloc(rec->nfields + 1, sizeof *at), n = 0;
	const char **f = calloc(2 * rec->nfields + 1, sizeof *f);
	size_t *len = calloc(2 * rec->nfields + 1, sizeof *len);
	int rc = at && f && len ? KL_OK : kl_err_oom(err);
	for (size_t i = 0; rc == KL_OK && i < rec->nfields && i < r->cols.n; i++)
		if (rec->len[i] && field_of(&r->cols.col[i]))
			at[n++] = i;
	if (rc == KL_OK)
		qsort_r(at, n, sizeof *at, by_field, &r->cols);
	for (size_t i = 0; rc == KL_OK && i < n; i++) {
		f[2 * i] = field_of(&r->cols.col[at[i]]);
		len[2 * i] = strlen(f[2 * i]);
		f[2 * i + 1] = rec->field[at[i]];
		len[2 * i + 1] = rec->len[at[i]];
	}
	if (rc == KL_OK)
		rc = kl_journal_row_key(r->journal, f, len, 2 * n, key, err);
	free(at);
	free(f);
	free(len);
	return rc;
}

/* For JSON Lines, the rejects and results files are JSON Lines too: no delimiter is used. */
char imp_input_delimiter(const struct run *r)
{
	if (r->jsonl)
		return r->o->delimiter ? r->o->delimiter : ',';
	return kl_csv_delimiter(r->csv);
}

enum kl_csv_encoding imp_input_encoding(const struct run *r)
{
	return r->jsonl ? KL_CSV_UTF8 : kl_csv_encoding(r->csv);
}

unsigned long long imp_input_offset(const struct run *r)
{
	return r->jsonl ? kl_jsonl_offset(r->jsonl) : kl_csv_offset(r->csv);
}

size_t imp_input_buffered(const struct run *r)
{
	return r->jsonl ? kl_jsonl_buffered(r->jsonl) : kl_csv_buffered(r->csv);
}

void imp_input_free(struct run *r)
{
	kl_csv_free(r->csv);
	kl_jsonl_free(r->jsonl);
	r->csv = NULL;
	r->jsonl = NULL;
}
