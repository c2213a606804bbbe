/* The import's input, CSV or JSON Lines: both hand out kl_csv records, so
 * the rest of the import does not ask which. */
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
		return kl_jsonl_open(&r->jsonl, r->in, r->in_name, err);
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

int imp_input_next(struct run *r, const struct kl_csv_record **rec, struct kl_err *err)
{
	return r->jsonl ? kl_jsonl_next(r->jsonl, rec, err) : kl_csv_next(r->csv, rec, err);
}

int imp_input_next_buffered(struct run *r, const struct kl_csv_record **rec)
{
	return r->jsonl ? kl_jsonl_next_buffered(r->jsonl, rec) : kl_csv_next_buffered(r->csv, rec);
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
