/* What the import tells: a line per row on stdout (text or JSON), the
 * rejects file, the progress line, and the summary at the end. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "import_int.h"
#include "kommo/kl_report.h"

#define MAYBE_DUP " (possibly duplicated: a request carrying it may have reached Kommo)"

/* The row as read, its source_uid when the input has no such column, and why. */
static int reject_line(struct run *r, const struct row *w)
{
	size_t n = r->cols.n + 2, k = 0;
	const char **f = calloc(n, sizeof *f);
	if (!f)
		return -1;
	char *tail = NULL;
	for (size_t i = 0; i < r->cols.n; i++)
		f[k++] = i < w->nraw ? w->raw[i] : "";
	if (w->nraw > r->cols.n && r->cols.n > 0) {
		/* more fields than the header: the extra ones go back into the last
		 * column, joined by the delimiter, so nothing of the row is lost */
		struct kl_buf b = {0};
		char d = kl_csv_delimiter(r->csv);
		int fail = kl_buf_append(&b, w->raw[r->cols.n - 1], strlen(w->raw[r->cols.n - 1]));
		for (size_t i = r->cols.n; i < w->nraw; i++)
			fail |= kl_buf_append(&b, &d, 1) | kl_buf_append(&b, w->raw[i], strlen(w->raw[i]));
		if (!fail)
			f[r->cols.n - 1] = tail = b.data;
		else
			kl_buf_free(&b);
	}
	if (r->add_uid) {
		/* a row skipped for an existing contact sent nothing under its uid */
		const char *uid = w->existing ? NULL : w->lead.v[KL_ATTR_SOURCE_UID];
		f[k++] = uid ? uid : "";
	}
	char *why = kl_str_printf("%s%s", w->error ? w->error : "",
				  w->maybe_dup ? MAYBE_DUP : "");
	f[k++] = why ? why : (w->error ? w->error : "");
	int rc = kl_csv_write_row(r->rejects, f, k);
	free(tail);
	free(why);
	free(f);
	return rc;
}

static const char *status_name(enum row_status s)
{
	switch (s) {
	case ROW_CREATED:
		return "created";
	case ROW_REJECTED:
		return "rejected";
	case ROW_CHECKED:
		return "checked";
	case ROW_SKIPPED:
		return "skipped";
	default:
		return "failed";
	}
}

/* One object per row, its keys always in the same order. */
static int print_json(struct run *r, const struct row *w, struct kl_err *err)
{
	cJSON *o = cJSON_CreateObject();
	char lead[24], contact[24];
	/* raw digits: an id never goes through a double */
	snprintf(lead, sizeof lead, "%lld", w->lead_id);
	snprintf(contact, sizeof contact, "%lld", w->contact_id);
	/* a row skipped for an existing contact sent nothing under its uid */
	bool ids = !w->existing && (w->status == ROW_CREATED || w->status == ROW_SKIPPED);
	const char *uid = w->existing ? NULL : w->lead.v[KL_ATTR_SOURCE_UID];
	bool ok = o && cJSON_AddNumberToObject(o, "row", (double)w->n) &&
		  cJSON_AddStringToObject(o, "status", status_name(w->status)) &&
		  (ids ? cJSON_AddRawToObject(o, "lead_id", lead) : cJSON_AddNullToObject(o, "lead_id")) &&
		  (ids || w->existing ? cJSON_AddRawToObject(o, "contact_id", contact)
				      : cJSON_AddNullToObject(o, "contact_id")) &&
		  kl_report_add_text(o, "source_uid", uid) && kl_report_add_text(o, "error", w->error) &&
		  cJSON_AddBoolToObject(o, "possibly_duplicated", w->maybe_dup) &&
		  kl_report_add_text(o, "existing", w->existing);
	int rc = ok ? kl_io_json(r->io, o, err) : kl_err_oom(err);
	cJSON_Delete(o);
	return rc;
}

static int print_row(struct run *r, const struct row *w, struct kl_err *err)
{
	if (r->o->json)
		return print_json(r, w, err);
	struct kl_buf b = {0};
	int fail = 0;
	if (w->status == ROW_CREATED) {
		fail |= kl_buf_appendf(&b, "row=%ld lead_id=%lld contact_id=%lld%s\n", w->n, w->lead_id,
				       w->contact_id, w->maybe_dup ? " possibly_duplicated" : "");
	} else if (w->existing) {
		fail |= kl_buf_appendf(&b, "row=%ld skipped contact_id=%lld (a contact with this %s exists)\n", w->n,
				       w->contact_id, w->existing);
	} else if (w->status == ROW_SKIPPED) {
		fail |= kl_buf_appendf(&b, "row=%ld skipped lead_id=%lld contact_id=%lld%s\n", w->n, w->lead_id,
				       w->contact_id, w->maybe_dup ? " possibly_duplicated" : "");
	} else if (w->status == ROW_CHECKED) {
		fail |= kl_buf_appendf(&b, "row=%ld checked\n", w->n);
	} else {
		fail |= kl_buf_appendf(&b, "row=%ld %s: %s%s\n", w->n, status_name(w->status),
				       w->error ? w->error : "unknown error", w->maybe_dup ? MAYBE_DUP : "");
	}
	int rc = fail ? kl_err_oom(err) : kl_io_write(r->io, b.data, b.len, err);
	kl_buf_free(&b);
	return rc;
}

static void count_row(struct run *r, const struct row *w)
{
	switch (w->status) {
	case ROW_CREATED:
		r->created++;
		r->dups += w->maybe_dup;
		break;
	case ROW_REJECTED:
		r->rejected++;
		break;
	case ROW_FAILED:
		r->failed++;
		break;
	case ROW_SKIPPED:
		r->skipped++;
		break;
	default:
		break;
	}
}

int imp_report_batch(struct run *r)
{
	struct kl_err err = {0};
	int rc = KL_OK;
	for (size_t i = 0; i < r->nrows; i++) {
		struct row *w = &r->rows[i];
		if (w->status == ROW_PENDING)
			imp_row_set_error(w, ROW_FAILED, "not sent: the import stopped before this row");
		count_row(r, w);
		/* after a write fails, nothing more goes to stdout, but every row is counted */
		if (!(r->o->dry_run && w->status == ROW_CHECKED) && rc == KL_OK &&
		    (rc = print_row(r, w, &err)))
			kl_io_say(r->io, "%s", err.msg);
		if (r->rejects && (w->status == ROW_REJECTED || w->status == ROW_FAILED) &&
		    reject_line(r, w) != 0 && rc == KL_OK) {
			kl_io_say(r->io, "--rejects %s: cannot write: %s", r->o->rejects, strerror(errno));
			rc = KL_EIO;
		}
		imp_row_free(w);
	}
	r->nrows = r->nvalid = 0;
	return rc;
}

int imp_report_decided(struct run *r)
{
	(void)r; /* for now every row is reported with its batch */
	return KL_OK;
}

int imp_rejects_open(struct run *r, char **names, size_t n, struct kl_err *err)
{
	struct kl_csv_opts co = {kl_csv_delimiter(r->csv), r->o->cp1251 ? KL_CSV_CP1251 : KL_CSV_UTF8};
	int rc = kl_csv_writer_open(&r->rejects, r->o->rejects, co.delimiter, co.encoding, err);
	if (rc)
		return rc;
	r->add_uid = true;
	for (size_t i = 0; i < r->cols.n; i++)
		if (r->cols.col[i].kind == KL_COL_ATTR && r->cols.col[i].attr == KL_ATTR_SOURCE_UID)
			r->add_uid = false;
	const char **h = calloc(n + 2, sizeof *h);
	if (!h)
		return KL_EOSERR;
	size_t k = 0;
	for (; k < n; k++)
		h[k] = names[k];
	if (r->add_uid)
		h[k++] = "source_uid";
	h[k++] = "error";
	if (kl_csv_write_row(r->rejects, h, k) != 0)
		rc = kl_err_set(err, KL_EIO, "--rejects %s: cannot write: %s", r->o->rejects, strerror(errno));
	free(h);
	return rc;
}

void imp_show_progress(struct run *r, bool last)
{
	if (!r->progress)
		return;
	double secs = kl_rate_now() - r->t0;
	double rate = secs > 0 ? (double)r->read / secs : 0;
	fprintf(r->io->msg, "\rkommo-lead: %llu rows, %.0f rows/s", r->read, rate);
	if (r->in_size > 0) {
		double done = (double)kl_csv_offset(r->csv) / (double)r->in_size;
		if (done > 0 && done <= 1)
			fprintf(r->io->msg, ", %.0f%%, about %.0f s left", done * 100, secs / done - secs);
	}
	fputs(last ? "\n" : "   ", r->io->msg);
	fflush(r->io->msg);
}

static void summary(struct run *r)
{
	double secs = kl_rate_now() - r->t0;
	kl_io_say(r->io,
		  "%llu rows read: %llu created, %llu rejected, %llu failed, %llu skipped; %llu requests, %llu retries; %.1f s",
		  r->read, r->created, r->rejected, r->failed, r->skipped, r->api.requests,
		  r->api.retries, secs);
	if (r->dups)
		kl_io_say(r->io, "%llu created rows are possibly duplicated: a request carrying them was retried after its outcome was lost",
			  r->dups);
}

void imp_say_end(struct run *r, int rc, bool at_end, const char *why)
{
	const struct kl_opts *o = r->o;
	if (r->progress && r->read)
		imp_show_progress(r, true);
	if (r->csv && r->read && !at_end && (r->stop || imp_interrupted || rc))
		kl_io_say(r->io, "reading stopped after row %ld: run the import again%s", r->last_row,
			  o->state ? " with the same --state to do the rest" : " on the rows after it");
	if (rc && why[0])
		kl_io_say(r->io, "%s", why);
	if (r->csv && (r->read || r->api.requests))
		summary(r);
	if (r->failed && !r->stop && rc == KL_ETEMPFAIL) {
		if (o->rejects)
			kl_io_say(r->io, "%llu rows failed: import them again later from %s", r->failed, o->rejects);
		else if (o->state)
			kl_io_say(r->io, "%llu rows failed: run the same import again later with the same --state: it sends only what was not created",
				  r->failed);
		else
			kl_io_say(r->io, "%llu rows failed: import them again later (they are listed above; --rejects FILE writes them to a file)",
				  r->failed);
	}
}
