/* What the import tells: a line per row on stdout (text or JSON), the
 * rejects file, the progress line, and the summary at the end. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <libgen.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "import_int.h"
#include "kommo/kl_report.h"

#define MAYBE_DUP " (possibly duplicated: a request carrying it may have reached Kommo)"

/* What a flagged row's line adds to its error: the reason, unless the error
 * says it already (an answer lost in flight), so that it is not said twice. */
static const char *dup_note(const struct row *w)
{
	if (!w->maybe_dup)
		return "";
	return w->error && strstr(w->error, "may have reached Kommo") ? " (possibly duplicated)" : MAYBE_DUP;
}

/* The row as read, its source_uid when the input has no such column, and why. */
static int reject_fields(struct run *r, const struct row *w, const char *uid, const char *why)
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
		char d = imp_input_delimiter(r);
		int fail = kl_buf_append(&b, w->raw[r->cols.n - 1], strlen(w->raw[r->cols.n - 1]));
		for (size_t i = r->cols.n; i < w->nraw; i++)
			fail |= kl_buf_append(&b, &d, 1) | kl_buf_append(&b, w->raw[i], strlen(w->raw[i]));
		if (!fail)
			f[r->cols.n - 1] = tail = b.data;
		else
			kl_buf_free(&b);
	}
	if (r->add_uid)
		f[k++] = uid ? uid : "";
	f[k++] = why;
	int rc = kl_csv_write_row(r->rejects, f, k);
	free(tail);
	free(f);
	return rc;
}

/* The same for JSON Lines: the row's own object, its keys with a value
 * (a key not given, or given empty, says the same), as the import read
 * them; a line that was no object is whole under the first key (or "line"
 * before any). The uid goes under the row's own source_uid key, if any: two
 * keys for one field would refuse the line imported again. */
static int reject_object(struct run *r, const struct row *w, const char *uid, const char *why)
{
	cJSON *o = cJSON_CreateObject();
	bool ok = o != NULL, uid_key = false;
	for (size_t i = 0; ok && i < w->nraw; i++) {
		const struct kl_column *c = i < r->cols.n ? &r->cols.col[i] : NULL;
		bool is_uid = c && c->kind == KL_COL_ATTR && c->attr == KL_ATTR_SOURCE_UID;
		if (*w->raw[i] || (is_uid && !uid_key)) /* a second uid key stays as it was */
			ok = kl_jsonl_put_text(o, c ? c->name : "line", is_uid && !uid_key && uid ? uid : w->raw[i]);
		uid_key = uid_key || is_uid;
	}
	if (ok && r->add_uid && !uid_key)
		ok = kl_jsonl_put_text(o, "source_uid", uid ? uid : "");
	if (!(ok && kl_jsonl_put_text(o, "error", why))) {
		cJSON_Delete(o);
		o = NULL;
	}
	int rc = kl_jsonl_write(r->rejects, o);
	cJSON_Delete(o);
	return rc;
}

/* A rejects file's line: the row, in the input's format. */
static int reject_line(struct run *r, const struct row *w)
{
	/* a row skipped for an existing contact sent nothing under its uid */
	const char *uid = w->existing ? NULL : w->lead.v[KL_ATTR_SOURCE_UID];
	char *why = kl_str_printf("%s%s", w->error ? w->error : "",
				  dup_note(w));
	const char *reason = why ? why : (w->error ? w->error : "");
	int rc = r->jsonl ? reject_object(r, w, uid, reason) : reject_fields(r, w, uid, reason);
	free(why);
	return rc;
}

const char *imp_status_name(enum row_status s)
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
	case ROW_NOT_SENT:
		return "not_sent";
	default:
		return "failed";
	}
}

/* One object per row, its keys always in the same order. */
cJSON *imp_row_json(const struct row *w)
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
		  cJSON_AddStringToObject(o, "status", imp_status_name(w->status)) &&
		  (ids ? cJSON_AddRawToObject(o, "lead_id", lead) : cJSON_AddNullToObject(o, "lead_id")) &&
		  (ids || w->existing ? cJSON_AddRawToObject(o, "contact_id", contact)
				      : cJSON_AddNullToObject(o, "contact_id")) &&
		  kl_report_add_text(o, "source_uid", uid) && kl_jsonl_put_text(o, "error", w->error) &&
		  cJSON_AddBoolToObject(o, "possibly_duplicated", w->maybe_dup) &&
		  kl_report_add_text(o, "existing", w->existing);
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static int print_json(struct run *r, const struct row *w, struct kl_err *err)
{
	cJSON *o = imp_row_json(w);
	int rc = o ? kl_io_json(r->io, o, err) : kl_err_oom(err);
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
	} else if (w->status == ROW_NOT_SENT) {
		fail |= kl_buf_appendf(&b, "row=%ld %s\n", w->n, w->error ? w->error : "not sent");
	} else {
		fail |= kl_buf_appendf(&b, "row=%ld %s: %s%s\n", w->n, imp_status_name(w->status),
				       w->error ? w->error : "unknown error", dup_note(w));
	}
	int rc = KL_OK;
	if (fail) {
		rc = kl_err_oom(err);
	} else if (r->o->dry_run) {
		/* stdout carries only the payloads, one JSON array a line, for a pipe */
		b.data[--b.len] = '\0';
		kl_io_say(r->io, "%s", b.data);
	} else {
		rc = kl_io_write(r->io, b.data, b.len, err);
	}
	kl_buf_free(&b);
	return rc;
}

static void count_row(struct run *r, const struct row *w)
{
	r->flagged += w->maybe_dup; /* as the rows print it, whatever their status */
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
		r->unsure += w->maybe_dup;
		break;
	case ROW_SKIPPED:
		r->skipped++;
		break;
	case ROW_CHECKED:
		r->checked++;
		break;
	case ROW_NOT_SENT:
		r->not_sent++;
		if (!r->first_not_sent || w->n < r->first_not_sent)
			r->first_not_sent = w->n;
		break;
	default:
		break;
	}
}

/* With --state the rerun sends what failed or was not sent (the journal
 * knows which): the rejects file gets only what needs fixing, so that
 * importing it and rerunning cannot both send a row. */
static bool goes_to_rejects(const struct run *r, const struct row *w)
{
	if (!r->rejects)
		return false;
	return w->status == ROW_REJECTED ||
	       (!r->journal && (w->status == ROW_FAILED || w->status == ROW_NOT_SENT));
}

/* After a write fails nothing more is tried, but the rows meant for the file
 * are still counted: the end names what the file does not hold. */
static void to_rejects(struct run *r, const struct row *w)
{
	if (!goes_to_rejects(r, w))
		return;
	if (!r->rej_rows++)
		r->rej_first = w->n;
	if (!r->rej_errno && reject_line(r, w) != 0)
		r->rej_errno = errno ? errno : EIO;
}

/* Counts, prints and records one decided row. */
static void report_row(struct run *r, struct row *w, bool print)
{
	struct kl_err err = {0};
	count_row(r, w);
	/* --dry-run --json: every row's object follows its batch's array */
	bool quiet = r->o->dry_run && w->status == ROW_CHECKED && !r->o->json;
	if (print && !r->out_failed && !quiet && print_row(r, w, &err)) {
		kl_io_say(r->io, "%s", err.msg);
		r->out_failed = true;
	}
	to_rejects(r, w);
	imp_results_row(r, w);
}

void imp_report_unsent(struct run *r, const struct kl_csv_record *rec, const char *why)
{
	struct row w = {.n = rec->row, .raw = rec->field, .nraw = rec->nfields, .status = ROW_NOT_SENT};
	w.error = (char *)why; /* only read: the row is not freed */
	report_row(r, &w, true);
}

int imp_report_decided(struct run *r)
{
	while (r->reported < r->nrows && r->rows[r->reported].status != ROW_PENDING) {
		struct row *w = &r->rows[r->reported++];
		report_row(r, w, true);
		imp_row_free(w);
		w->status = ROW_DONE; /* send.c may still hold it: it must not look pending */
	}
	if (r->reported == r->nrows) /* nothing held: the slots are free again */
		r->nrows = r->nvalid = r->reported = r->held = 0;
	return r->out_failed ? KL_EIO : KL_OK;
}

int imp_report_batch(struct run *r)
{
	const char *why = kl_interrupted ? "not sent: the import was interrupted"
					  : "not sent: the import stopped before this row";
	for (size_t i = r->reported; i < r->nrows; i++)
		if (r->rows[i].status == ROW_PENDING)
			imp_row_set_error(&r->rows[i], ROW_NOT_SENT, why);
	int rc = imp_report_decided(r);
	r->nrows = r->nvalid = r->reported = r->held = 0;
	return rc;
}

int imp_rejects_open(struct run *r, char **names, size_t n, struct kl_err *err)
{
	struct kl_csv_opts co = {imp_input_delimiter(r), imp_input_encoding(r) == KL_CSV_CP1251 ? KL_CSV_CP1251 : KL_CSV_UTF8};
	int rc = kl_csv_writer_open(&r->rejects, r->o->rejects, co.delimiter, co.encoding, err);
	if (rc)
		return kl_err_set(err, rc, "--rejects %.*s", (int)sizeof err->msg - 16, err->msg);
	r->add_uid = true;
	for (size_t i = 0; i < r->cols.n; i++)
		if (r->cols.col[i].kind == KL_COL_ATTR && r->cols.col[i].attr == KL_ATTR_SOURCE_UID)
			r->add_uid = false;
	if (r->jsonl)
		return KL_OK; /* JSON Lines name their keys on every line */
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

/* Whether two paths name one file: the same device and inode when both
 * exist (through symlinks), else the same name in the same directory. */
static bool same_file(const char *a, const struct stat *sa, const char *b)
{
	struct stat sb;
	if (sa)
		return stat(b, &sb) == 0 && sa->st_dev == sb.st_dev && sa->st_ino == sb.st_ino;
	if (stat(b, &sb) == 0)
		return false; /* b exists, a does not */
	char *ca = strdup(a), *cb = strdup(b), *na = strdup(a), *nb = strdup(b);
	bool same = false;
	struct stat da, db;
	if (ca && cb && na && nb && strcmp(basename(na), basename(nb)) == 0 &&
	    stat(dirname(ca), &da) == 0 && stat(dirname(cb), &db) == 0)
		same = da.st_dev == db.st_dev && da.st_ino == db.st_ino;
	free(ca);
	free(cb);
	free(na);
	free(nb);
	return same;
}

/* A file the run writes (flag: its option) must be neither the input nor
 * the journal: it is replaced at the end. */
static int check_output(struct run *r, const char *flag, const char *path, struct kl_err *err)
{
	struct stat rs, in;
	if (!path)
		return KL_OK;
	bool exists = stat(path, &rs) == 0;
	/* stdin too: `--rejects x.csv < x.csv` would empty what is being read */
	if (exists && fstat(fileno(r->in), &in) == 0 && in.st_dev == rs.st_dev && in.st_ino == rs.st_ino)
		return kl_err_set(err, KL_EUSAGE,
				  "%s %s is the file being imported (%s): it would be replaced while it is read; give the %s file another name",
				  flag, path, r->in_name, flag + 2);
	if (r->o->state && same_file(path, exists ? &rs : NULL, r->o->state))
		return kl_err_set(err, KL_EUSAGE,
				  "%s %s is the --state file: it would destroy the journal; give the %s file another name",
				  flag, path, flag + 2);
	return KL_OK;
}

int imp_rejects_check(struct run *r, struct kl_err *err)
{
	const struct kl_opts *o = r->o;
	int rc = check_output(r, "--rejects", o->rejects, err);
	if (rc || (rc = check_output(r, "--results", o->results, err)))
		return rc;
	if (o->rejects && o->results) {
		struct stat rs;
		bool exists = stat(o->rejects, &rs) == 0;
		if (same_file(o->rejects, exists ? &rs : NULL, o->results))
			return kl_err_set(err, KL_EUSAGE, "--results %s is the --rejects file: give each its own name",
					  o->results);
	}
	return KL_OK;
}

int imp_file_close(struct run *r, struct kl_csv_writer **w, const char *flag, const char *path, int e,
		   unsigned long long rows, long first, const char *meant, bool commit, int rc)
{
	if (!*w)
		return rc;
	if (!commit) {
		kl_csv_writer_discard(*w);
		*w = NULL;
		return rc;
	}
	if (kl_csv_writer_close(*w) != 0 && !e)
		e = errno ? errno : EIO;
	*w = NULL;
	if (!e)
		return rc;
	if (rows)
		kl_io_say(r->io, "%s %s: cannot write: %s: %llu %s%s (the first is row %ld) %s not recorded there", flag,
			  path, strerror(e), rows, rows == 1 ? "row" : "rows", meant, first, rows == 1 ? "is" : "are");
	else
		kl_io_say(r->io, "%s %s: cannot write: %s", flag, path, strerror(e));
	/* a row not recorded where it was asked for: the run did not do what was asked */
	return rc == KL_OK || rc == KL_EDATA || rc == KL_ETEMPFAIL ? KL_EIO : rc;
}

int imp_rejects_close(struct run *r, bool commit, int rc)
{
	return imp_file_close(r, &r->rejects, "--rejects", r->o->rejects, r->rej_errno, r->rej_rows, r->rej_first,
			      " meant for it", commit, rc);
}

/* "1 row", "2 rows": a count read aloud takes the noun's number */
static const char *nouns(unsigned long long n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

/* Rows whose outcome is known: printed, counted, recorded. */
static unsigned long long decided(const struct run *r)
{
	return r->created + r->rejected + r->failed + r->not_sent + r->skipped + r->checked;
}

void imp_show_progress(struct run *r, bool last)
{
	if (!r->progress)
		return;
	unsigned long long done = decided(r);
	double secs = kl_rate_now() - r->t0;
	double rate = secs > 0 ? (double)done / secs : 0;
	fprintf(r->io->msg, "\rkommo-lead: %llu %s, %.0f rows/s", done, nouns(done, "row", "rows"), rate);
	unsigned long long seen = r->read + (imp_input_opened(r) ? imp_input_buffered(r) : 0);
	if (r->in_size > 0 && seen > 0) {
		/* the reader's offset is the end of what it read ahead: its bytes are
		 * shared out over the rows they hold, and only the rows done count */
		double done_share = (double)done / (double)seen * (double)imp_input_offset(r) / (double)r->in_size;
		if (done_share > 0 && done_share <= 1)
			fprintf(r->io->msg, ", %.0f%%, about %.0f s left", done_share * 100, secs / done_share - secs);
	}
	fputs(last ? "\n" : "   ", r->io->msg);
	fflush(r->io->msg);
	kl_interrupt_midline(!last); /* a signal's message then starts a line of its own */
}

static void summary(struct run *r)
{
	double secs = kl_rate_now() - r->t0;
	char unsent[48] = "";
	/* only when there are some: the line reads as it always did otherwise */
	if (r->not_sent)
		snprintf(unsent, sizeof unsent, ", %llu not sent", r->not_sent);
	kl_io_say(r->io,
		  "%llu %s read: %llu created, %llu rejected, %llu failed%s, %llu skipped; %llu %s, %llu %s; %.1f s",
		  r->read, nouns(r->read, "row", "rows"), r->created, r->rejected, r->failed, unsent, r->skipped,
		  r->api.requests, nouns(r->api.requests, "request", "requests"), r->api.retries,
		  nouns(r->api.retries, "retry", "retries"), secs);
	if (r->dups)
		kl_io_say(r->io, "%llu created %s possibly duplicated: a request carrying %s was retried after its outcome was lost",
			  r->dups, nouns(r->dups, "row is", "rows are"), nouns(r->dups, "it", "them"));
	if (r->partial_row)
		kl_io_say(r->io, "row %ld has no line end yet (another program may still be writing %s): left for the next run",
			  r->partial_row, r->in_name);
}

/* "3 rows failed or were not sent", "1 row failed", "2 rows were not sent":
 * only what happened. */
static void todo_words(const struct run *r, char *buf, size_t size)
{
	unsigned long long todo = r->failed + r->not_sent;
	const char *what = !r->not_sent ? nouns(todo, "row failed", "rows failed")
			 : !r->failed	? nouns(todo, "row was not sent", "rows were not sent")
					: "rows failed or were not sent";
	snprintf(buf, size, "%llu %s", todo, what);
}

/* The one way to finish the job, so that no two instructions together send
 * a row twice: with --state the rerun (the rejects file then holds only rows
 * to fix), else the rejects file, else the rows from the first not sent.
 * last_row is the last row read: every row up to it is printed above. */
/* Importing the rows that may be in Kommo already again would send each a
 * second time, unflagged: said after any instruction to import rows again. */
static void say_unsure(const struct run *r)
{
	if (r->unsure)
		kl_io_say(r->io, "but %llu of the failed rows may be in Kommo already (flagged possibly duplicated: a request carrying each may have reached Kommo): look each up in Incoming leads by its source_uid and leave out those found%s; --state FILE does this by itself",
			  r->unsure, r->o->rejects ? ", before importing the rejects file" : "");
}

static void say_how_to_finish(struct run *r, int rc, bool at_end)
{
	const struct kl_opts *o = r->o;
	char todo[64];
	todo_words(r, todo, sizeof todo);
	/* a terminal has no rows after the last one typed: Ctrl-C ended it */
	bool stopped = !at_end && (r->stop || kl_interrupted || rc) && !isatty(fileno(r->in));
	if (o->state) {
		if (stopped)
			kl_io_say(r->io, "reading stopped after row %ld: run the import again with the same --state to do the rest%s",
				  r->last_row, o->rejects ? " (the rejects file holds only the rows to fix)" : "");
		else if (r->failed + r->not_sent)
			kl_io_say(r->io, "%s: run the same import again later with the same --state: it sends only what was not created%s",
				  todo, o->rejects ? " (the rejects file holds only the rows to fix; do not import it for these)" : "");
		return;
	}
	if (r->not_sent && !o->rejects) {
		char where[64] = "";
		if (stopped)
			snprintf(where, sizeof where, "reading stopped after row %ld: ", r->last_row);
		kl_io_say(r->io, "%s%llu %s not sent, the first of them row %ld%s: to finish, import the input's rows from row %ld on again; next time, --rejects FILE writes every row not created to a file, or --state FILE lets the same command finish the job",
			  where, r->not_sent, r->not_sent == 1 ? "row was" : "rows were", r->first_not_sent,
			  r->failed ? " (and the failed rows listed above)" : "", r->first_not_sent);
		say_unsure(r);
		return;
	}
	if (r->failed + r->not_sent && o->rejects)
		kl_io_say(r->io, "%s: %s in %s with the rejected ones: import it again later to finish (fix the rejected rows first)",
			  todo, nouns(r->failed + r->not_sent, "it is", "they are"), o->rejects);
	else if (r->failed)
		kl_io_say(r->io, "%llu %s failed: import %s again later (%s listed above; --rejects FILE writes %s to a file)",
			  r->failed, nouns(r->failed, "row", "rows"), nouns(r->failed, "it", "them"),
			  nouns(r->failed, "it is", "they are"), nouns(r->failed, "it", "them"));
	if (stopped && o->rejects)
		kl_io_say(r->io, "reading stopped after row %ld: the input's rows after it were not read, and are not in %s: import them too",
			  r->last_row, o->rejects);
	else if (stopped)
		kl_io_say(r->io, "reading stopped after row %ld: import the input's rows after it too", r->last_row);
	say_unsure(r);
}

int imp_print_summary(struct run *r, int rc)
{
	struct kl_err err = {0};
	if (!r->o->json || r->out_failed)
		return rc;
	cJSON *o = cJSON_CreateObject();
	bool ok = o && cJSON_AddBoolToObject(o, "summary", true) &&
		  cJSON_AddNumberToObject(o, "read", (double)r->read) &&
		  cJSON_AddNumberToObject(o, "created", (double)r->created) &&
		  cJSON_AddNumberToObject(o, "rejected", (double)r->rejected) &&
		  cJSON_AddNumberToObject(o, "failed", (double)r->failed) &&
		  cJSON_AddNumberToObject(o, "not_sent", (double)r->not_sent) &&
		  cJSON_AddNumberToObject(o, "skipped", (double)r->skipped) &&
		  cJSON_AddNumberToObject(o, "checked", (double)r->checked) &&
		  cJSON_AddNumberToObject(o, "possibly_duplicated", (double)r->flagged) &&
		  cJSON_AddNumberToObject(o, "requests", (double)r->api.requests) &&
		  cJSON_AddNumberToObject(o, "retries", (double)r->api.retries) &&
		  cJSON_AddNumberToObject(o, "seconds", (double)(long long)((kl_rate_now() - r->t0) * 1000) / 1000) &&
		  cJSON_AddNumberToObject(o, "exit_code", rc);
	int wrc = ok ? kl_io_json(r->io, o, &err) : kl_err_oom(&err);
	cJSON_Delete(o);
	if (wrc)
		kl_io_say(r->io, "%s", err.msg);
	return rc == KL_OK && wrc ? wrc : rc;
}

void imp_say_end(struct run *r, int rc, bool at_end, const char *why)
{
	if (r->progress && r->read)
		imp_show_progress(r, true);
	if (rc && why[0])
		kl_io_say(r->io, "%s", why);
	if (imp_input_opened(r) && (r->read || r->api.requests))
		summary(r);
	else if (imp_input_opened(r) && rc == KL_OK && at_end)
		/* a header alone, or an empty file: a run that did nothing says so */
		kl_io_say(r->io, "%s has no rows: nothing to send", r->o->input && strcmp(r->o->input, "-") != 0
								     ? r->o->input : "the input");
	if (imp_input_opened(r) && r->read)
		say_how_to_finish(r, rc, at_end);
}
