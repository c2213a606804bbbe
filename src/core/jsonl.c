/* kl_jsonl: JSON Lines in, as the records kl_csv hands out. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/kl_encoding.h"
#include "core/kl_jsonl.h"
#include "util/kl_str.h"

struct kl_jsonl {
	FILE *in;
	char *name;
	char *line; /* the line being read, NUL-terminated */
	size_t cap;
	unsigned long long offset;
	long lineno;
	/* the columns: --map's keys, then every other key in the order first
	 * read, each with the field it fills ("" none) or why it is refused */
	char **names;
	char **fills;
	char **refused;
	long *seen_on; /* the line a key was last given on: one key given twice */
	size_t nnames, ncap, nseed;
	kl_jsonl_key_fn *check;
	void *check_ctx;
	bool started;       /* the header was handed out */
	bool first_pending; /* the first object's values are still to hand out */
	struct kl_csv_record head; /* --map's keys, handed out as a CSV header line is */
	size_t *head_len;
	struct kl_csv_record rec;
	char *error;
};

/* A large integer loses digits in a double: past this, refused. */
#define EXACT_LIMIT 9007199254740992.0

int kl_jsonl_open(struct kl_jsonl **out, FILE *in, const char *name, struct kl_err *err)
{
	struct kl_jsonl *r = calloc(1, sizeof *r);
	if (!r || !(r->name = strdup(name))) {
		free(r);
		return kl_err_oom(err);
	}
	r->in = in;
	*out = r;
	return KL_OK;
}

static void clear_record(struct kl_jsonl *r)
{
	for (size_t i = 0; i < r->rec.nfields; i++) {
		free(r->rec.field[i]);
		r->rec.field[i] = NULL;
		r->rec.len[i] = 0;
	}
	r->rec.nfields = 0;
	free(r->error);
	r->error = NULL;
	r->rec.error = NULL;
}

void kl_jsonl_free(struct kl_jsonl *r)
{
	if (!r)
		return;
	clear_record(r);
	for (size_t i = 0; i < r->nnames; i++) {
		free(r->names[i]);
		free(r->fills[i]);
		free(r->refused[i]);
	}
	free(r->names);
	free(r->fills);
	free(r->refused);
	free(r->seen_on);
	free(r->head_len);
	free(r->rec.field);
	free(r->rec.len);
	free(r->line);
	free(r->name);
	free(r);
}

/* Room for one more column, in every array that has one a column. */
static int grow(struct kl_jsonl *r)
{
	if (r->nnames < r->ncap)
		return KL_OK;
	size_t n = r->ncap ? r->ncap * 2 : 16;
	void *p;
#define GROW(a)                                             \
	if (!(p = realloc(a, n * sizeof *(a))))             \
		return KL_EOSERR;                           \
	a = p;                                              \
	memset(a + r->ncap, 0, (n - r->ncap) * sizeof *(a));
	GROW(r->names) GROW(r->fills) GROW(r->refused) GROW(r->seen_on) GROW(r->rec.field) GROW(r->rec.len)
#undef GROW
	r->ncap = n;
	return KL_OK;
}

/* A new key becomes a column, asking check what it fills. */
static int add_key(struct kl_jsonl *r, const char *key, struct kl_err *err)
{
	char fills[128] = "";
	struct kl_err why = {0};
	if (grow(r) || !(r->names[r->nnames] = strdup(key)))
		return kl_err_oom(err);
	int rc = r->check ? r->check(r->check_ctx, key, fills, sizeof fills, &why) : KL_OK;
	if (rc == KL_EDATA && !(r->refused[r->nnames] = strdup(why.msg)))
		rc = KL_EOSERR;
	else if (rc == KL_OK && !(r->fills[r->nnames] = strdup(fills)))
		rc = KL_EOSERR;
	if (rc != KL_OK && rc != KL_EDATA) {
		free(r->names[r->nnames]);
		r->names[r->nnames] = NULL;
		return rc == KL_EOSERR ? kl_err_oom(err) : kl_err_set(err, rc, "%s", why.msg);
	}
	r->seen_on[r->nnames] = 0;
	r->nnames++;
	return KL_OK;
}

int kl_jsonl_keys(struct kl_jsonl *r, const char *const *seed, size_t n, kl_jsonl_key_fn *check, void *ctx,
		  struct kl_err *err)
{
	r->check = check;
	r->check_ctx = ctx;
	if (n && !(r->head_len = calloc(n, sizeof *r->head_len)))
		return kl_err_oom(err);
	for (size_t i = 0; i < n; i++) {
		bool again = false;
		for (size_t j = 0; j < r->nnames && !again; j++)
			again = strcmp(r->names[j], seed[i]) == 0;
		if (again)
			continue;
		int rc = add_key(r, seed[i], err);
		if (rc)
			return rc;
		r->head_len[r->nnames - 1] = strlen(seed[i]);
	}
	r->nseed = r->nnames;
	return KL_OK;
}

const char *const *kl_jsonl_columns(const struct kl_jsonl *r, size_t *n)
{
	*n = r->nnames;
	return (const char *const *)r->names;
}

/* One line without its line end into r->line. 1: a line; 0: end of input. */
static int read_line(struct kl_jsonl *r, size_t *len, bool *line_end, struct kl_err *err)
{
	size_t n = 0;
	int c;
	*line_end = false;
	while ((c = getc(r->in)) != EOF) {
		r->offset++;
		if (c == '\n') {
			*line_end = true;
			break;
		}
		if (n >= KL_JSONL_MAX_LINE)
			return kl_err_set(err, KL_EDATA, "%s: line %ld is longer than %d bytes", r->name,
					  r->lineno + 1, KL_JSONL_MAX_LINE);
		if (n + 2 > r->cap) {
			size_t cap = r->cap ? r->cap * 2 : 4096;
			char *p = realloc(r->line, cap);
			if (!p)
				return kl_err_oom(err);
			r->line = p;
			r->cap = cap;
		}
		r->line[n++] = (char)c;
	}
	if (ferror(r->in))
		return kl_err_set(err, KL_EIO, "%s: cannot read: line %ld", r->name, r->lineno + 1);
	if (n == 0 && !*line_end)
		return 0;
	r->lineno++;
	if (*line_end && n > 0 && r->line[n - 1] == '\r')
		n--;
	if (!r->line && !(r->line = malloc(r->cap = 1)))
		return kl_err_oom(err);
	r->line[n] = '\0';
	*len = n;
	return 1;
}

/* A value as a cell, or NULL with *why set (why is a static phrase). */
static char *cell(const cJSON *v, const char **why)
{
	char buf[64];
	*why = NULL;
	if (cJSON_IsString(v))
		return strdup(v->valuestring);
	if (cJSON_IsNull(v))
		return strdup("");
	if (cJSON_IsNumber(v)) {
		double d = v->valuedouble;
		if (d == floor(d)) {
			if (fabs(d) >= EXACT_LIMIT) {
				*why = "is too long a number to be read exactly: give it as a string";
				return NULL;
			}
			snprintf(buf, sizeof buf, "%.0f", d);
		} else {
			snprintf(buf, sizeof buf, "%.15g", d);
			if (strtod(buf, NULL) != d)
				snprintf(buf, sizeof buf, "%.17g", d);
		}
		return strdup(buf);
	}
	if (cJSON_IsBool(v))
		*why = "is true or false, which is no cell value: give it as a string";
	else if (cJSON_IsArray(v))
		*why = "is an array: values are strings or numbers";
	else
		*why = "is an object: values are strings or numbers";
	return NULL;
}

/* Where key is among the columns, added when new; *i == r->nnames past
 * the most columns (the line is refused). */
static int find_key(struct kl_jsonl *r, const char *key, size_t *i, struct kl_err *err)
{
	for (*i = 0; *i < r->nnames; (*i)++)
		if (strcmp(r->names[*i], key) == 0)
			return KL_OK;
	if (r->nnames >= KL_JSONL_MAX_KEYS)
		return KL_OK;
	int rc = add_key(r, key, err);
	r->rec.nfields = r->nnames; /* the new column's cell is freed with the record */
	return rc;
}

/* Two keys of one line that fill one field: the index of the second, or
 * *second == r->nnames. */
static void same_field(const struct kl_jsonl *r, size_t *first, size_t *second)
{
	for (*second = 0; *second < r->nnames; (*second)++) {
		const char *f = r->fills[*second];
		if (r->seen_on[*second] != r->lineno || !f || !*f)
			continue;
		for (*first = 0; *first < *second; (*first)++)
			if (r->seen_on[*first] == r->lineno && r->fills[*first] && strcmp(r->fills[*first], f) == 0)
				return;
	}
}

/* The object's values under their columns. A line that is no row gets
 * r->error, and *whole when the line goes whole into the first cell (a key
 * given twice, a value refused): else its keys say what they said. */
static int fill_values(struct kl_jsonl *r, const cJSON *obj, bool *whole, struct kl_err *err)
{
	const cJSON *k;
	const char *refused = NULL;
	char q[256];
	*whole = true;
	r->rec.nfields = r->nnames;
	cJSON_ArrayForEach(k, obj)
	{
		size_t i;
		const char *why = NULL;
		if (find_key(r, k->string, &i, err))
			return err->status;
		if (i == r->nnames)
			r->error = kl_str_printf("line %ld: key %s: more than %d different keys in the input", r->lineno,
						 kl_str_quote(k->string, q, sizeof q), KL_JSONL_MAX_KEYS);
		else if (r->seen_on[i] == r->lineno)
			r->error = kl_str_printf("line %ld: key \"%s\" given twice", r->lineno, k->string);
		else if (!(r->rec.field[i] = cell(k, &why)) && why)
			r->error = kl_str_printf("line %ld, key \"%s\": the value %s", r->lineno, k->string, why);
		else if (!r->rec.field[i])
			return kl_err_oom(err);
		if (r->error || why)
			return r->error ? KL_OK : kl_err_oom(err);
		r->seen_on[i] = r->lineno;
		r->rec.len[i] = strlen(r->rec.field[i]);
		if (!refused)
			refused = r->refused[i];
	}
	*whole = false;
	for (size_t i = 0; i < r->nnames; i++) {
		if (!r->rec.field[i] && !(r->rec.field[i] = strdup("")))
			return kl_err_oom(err);
	}
	size_t a, b;
	same_field(r, &a, &b);
	if (refused)
		r->error = kl_str_printf("line %ld: %s", r->lineno, refused);
	else if (b < r->nnames)
		r->error = kl_str_printf("line %ld: keys \"%s\" and \"%s\" fill the same field (%s): keep one",
					 r->lineno, r->names[a], r->names[b], r->fills[b]);
	else
		return KL_OK;
	r->rec.error = r->error;
	return r->error ? KL_OK : kl_err_oom(err);
}

/* A line that is no row: the whole line in the first field, the rest empty. */
static int bad_line(struct kl_jsonl *r, const char *line, size_t len)
{
	for (size_t i = 0; i < r->rec.nfields; i++) {
		free(r->rec.field[i]);
		r->rec.field[i] = NULL;
	}
	if (!r->nnames && grow(r)) /* no column yet: the line is still kept */
		return KL_EOSERR;
	r->rec.nfields = r->nnames ? r->nnames : 1;
	for (size_t i = 0; i < r->rec.nfields; i++) {
		/* the whole line, NUL bytes too: len says where it ends (not strndup's first NUL) */
		size_t n = i == 0 ? len : 0;
		if (!(r->rec.field[i] = malloc(n + 1)))
			return KL_EOSERR;
		memcpy(r->rec.field[i], line, n);
		r->rec.field[i][n] = '\0';
		r->rec.len[i] = n;
	}
	r->rec.error = r->error;
	return KL_OK;
}

/* A \u0000 escape: cJSON would end the string there, silently. */
static bool has_escaped_nul(const char *p, size_t len)
{
	size_t slashes = 0;
	for (size_t i = 0; i < len; i++) {
		if (p[i] == '\\') {
			slashes++;
			continue;
		}
		if (slashes % 2 == 1 && p[i] == 'u' && len - i > 4 && strncmp(p + i + 1, "0000", 4) == 0)
			return true;
		slashes = 0;
	}
	return false;
}

/* Parses a non-blank line into the record. */
static int parse_line(struct kl_jsonl *r, const char *line, size_t len, struct kl_err *err)
{
	size_t bad;
	const char *end = NULL;
	cJSON *obj = NULL;
	const char *why = NULL;
	bool whole = true;
	int rc = KL_OK;
	if (kl_encoding_guess((const unsigned char *)line, len, &bad) == KL_ENCODING_UNKNOWN || bad != len)
		r->error = kl_str_printf("line %ld: not UTF-8 (byte %zu)", r->lineno, bad + 1), why = "";
	else if (memchr(line, '\0', len) || has_escaped_nul(line, len))
		why = "contains a NUL byte"; /* a C string would end there, silently */
	else if (!(obj = cJSON_ParseWithLengthOpts(line, len, &end, false)) || !cJSON_IsObject(obj) ||
		 (size_t)(end - line) + strspn(end, " \t\r") != len)
		why = "not a JSON object";
	if (why && *why)
		r->error = kl_str_printf("line %ld: %s", r->lineno, why);
	if (why && !r->error)
		rc = kl_err_oom(err);
	else if (!why)
		rc = fill_values(r, obj, &whole, err);
	cJSON_Delete(obj);
	if (rc == KL_OK && r->error && whole && bad_line(r, line, len))
		rc = kl_err_oom(err);
	return rc;
}

int kl_jsonl_next(struct kl_jsonl *r, const struct kl_csv_record **rec, struct kl_err *err)
{
	if (r->first_pending) {
		r->first_pending = false;
		*rec = &r->rec;
		return 1;
	}
	clear_record(r);
	for (;;) {
		size_t len = 0;
		bool line_end;
		int rc = read_line(r, &len, &line_end, err);
		if (rc != 1)
			return rc;
		const char *p = r->line;
		if (r->lineno == 1 && len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
			p += 3, len -= 3;
		if (p[strspn(p, " \t\r")] == '\0' && strlen(p) == len)
			continue;
		if ((rc = parse_line(r, p, len, err)))
			return rc;
		r->rec.row = r->lineno;
		r->rec.line_end = line_end;
		*rec = &r->rec;
		if (!r->started) {
			/* the header: --map's keys (any line may give any known key) */
			r->started = r->first_pending = true;
			r->head = (struct kl_csv_record){.row = r->lineno, .nfields = r->nseed, .field = r->names,
							 .len = r->head_len, .line_end = line_end};
			*rec = &r->head;
		}
		return 1;
	}
}

int kl_jsonl_next_buffered(struct kl_jsonl *r, const struct kl_csv_record **rec)
{
	if (!r->first_pending) {
		clear_record(r);
		return 0;
	}
	r->first_pending = false;
	*rec = &r->rec;
	return 1;
}

unsigned long long kl_jsonl_offset(const struct kl_jsonl *r)
{
	return r->offset;
}

bool kl_jsonl_put_text(cJSON *o, const char *key, const char *v)
{
	bool bad = v && !kl_str_utf8_valid(v, strlen(v));
	char *fixed = bad ? kl_str_printable(v) : NULL;
	if (bad && !fixed)
		return false;
	cJSON *item = v ? cJSON_CreateString(fixed ? fixed : v) : cJSON_CreateNull();
	free(fixed);
	if (!item)
		return false;
	bool ok = cJSON_GetObjectItemCaseSensitive(o, key) ? cJSON_ReplaceItemInObjectCaseSensitive(o, key, item)
							   : cJSON_AddItemToObject(o, key, item);
	if (!ok) /* not attached: still the caller's */
		cJSON_Delete(item);
	return ok;
}

int kl_jsonl_write(struct kl_csv_writer *w, const cJSON *o)
{
	char *text = o ? cJSON_PrintUnformatted(o) : NULL;
	if (!text) {
		errno = ENOMEM;
		return -1;
	}
	int rc = kl_csv_write_text(w, text);
	cJSON_free(text);
	return rc;
}

size_t kl_jsonl_buffered(const struct kl_jsonl *r)
{
	return r->first_pending ? 1 : 0;
}
