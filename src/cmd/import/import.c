#include "cmd/kl_import.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/kl_check.h"
#include "core/kl_columns.h"
#include "cmd/kl_crm.h"
#include "core/kl_csv.h"
#include "kommo/kl_http.h"
#include "core/kl_journal.h"
#include "kommo/kl_payload.h"
#include "kommo/kl_rate.h"
#include "kommo/kl_reply.h"
#include "kommo/kl_report.h"
#include "shared/kl_session.h"
#include "util/kl_time.h"

#define UNSORTED_FORMS "/api/v4/leads/unsorted/forms"

enum row_status { ROW_PENDING, ROW_CREATED, ROW_REJECTED, ROW_FAILED, ROW_CHECKED, ROW_SKIPPED };

/* --- a row and a run ---------------------------------------------------------- */

struct label_ctx {
	const struct kl_columns *cols;
	long row;
};

struct row {
	long n;
	struct kl_lead lead;
	struct label_ctx label; /* how messages name its values; the payload reads it too */
	char **raw; /* the fields as read, kept for --rejects */
	size_t nraw;
	enum row_status status;
	long long lead_id, contact_id;
	char *error;
	bool maybe_dup; /* a request carrying it may have reached Kommo before */
	const char *existing; /* --skip-existing matched a contact by "phone" or "email" */
	char key[KL_JOURNAL_KEY]; /* with --state: the row's key in the journal */
};

struct run {
	const struct kl_opts *o;
	const struct kl_io *io;
	struct kl_account acct;
	struct kl_http *http;
	struct kl_rate *rate;
	struct kl_api api; /* over http and rate: the searches of --skip-existing */
	struct kl_columns cols;
	struct kl_csv *csv;
	FILE *in;
	const char *in_name;
	unsigned long long in_size; /* 0 when unknown (a pipe) */
	struct kl_csv_writer *rejects;
	struct kl_journal *journal;
	bool add_uid; /* the rejects file gets a source_uid column: retries keep their uid */

	struct row *rows; /* the current batch, in input order */
	size_t nrows, cap, nvalid;

	unsigned long long read, created, rejected, failed, skipped, requests, retries, dups;
	long last_row; /* the last row read */
	int stop;             /* an exit status that ends the run early, or 0 */
	bool progress;
	double t0;
	unsigned seed;
};

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

/* How messages name a row's values: "row 12, column "phone"". */
static void row_label(void *ctx, enum kl_attr a, char *buf, size_t size)
{
	const struct label_ctx *l = ctx;
	for (size_t i = 0; i < l->cols->n; i++) {
		const struct kl_column *c = &l->cols->col[i];
		if (c->kind == KL_COL_ATTR && c->attr == a) {
			snprintf(buf, size, "row %ld, column \"%s\"", l->row, c->name);
			return;
		}
	}
	snprintf(buf, size, "row %ld, %s (the default given on the command line)", l->row,
		 kl_attr_info(a)->flag);
}

/* --- rows --------------------------------------------------------------------- */

static void row_free(struct row *w)
{
	kl_lead_free(&w->lead);
	for (size_t i = 0; i < w->nraw; i++)
		free(w->raw[i]);
	free(w->raw);
	free(w->error);
	memset(w, 0, sizeof *w);
}

static void row_set_error(struct row *w, enum row_status st, const char *msg)
{
	char *e = kl_str_dup(msg);
	if (e) { /* out of memory here only loses the reason, not the row's status */
		free(w->error);
		w->error = e;
	}
	w->status = st;
}

static void row_add_error(struct row *w, const char *msg)
{
	char *e = w->error ? kl_str_printf("%s; %s", w->error, msg) : kl_str_dup(msg);
	if (e) {
		free(w->error);
		w->error = e;
	}
	w->status = ROW_REJECTED;
}

/* A row's lead:ID cell wins over --field lead:ID=... given as a default. */
static void drop_default_field(struct kl_lead *l, const char *spec)
{
	bool lead = strncmp(spec, "lead:", 5) == 0;
	unsigned long long id = strtoull(spec + (lead ? 5 : 8), NULL, 10);
	for (size_t i = 0; i < l->ncustom; i++) {
		struct kl_custom *c = &l->custom[i];
		if (c->id == id && (c->entity == KL_ENTITY_LEAD) == lead) {
			free(c->value);
			free(c->label);
			l->custom[i] = l->custom[--l->ncustom];
			return;
		}
	}
}

/* Fills a row from a record: defaults, then the row's own values, checked. */
static int fill_row(struct run *r, struct row *w, const struct kl_csv_record *rec)
{
	struct kl_err err = {0};
	char what[300];
	int rc;

	w->n = rec->row;
	w->label = (struct label_ctx){&r->cols, rec->row};
	if (r->rejects) {
		if (!(w->raw = calloc(rec->nfields ? rec->nfields : 1, sizeof *w->raw)))
			return kl_err_oom(NULL);
		for (size_t i = 0; i < rec->nfields; i++, w->nraw++)
			if (!(w->raw[i] = kl_str_ndup(rec->field[i], rec->len[i])))
				return KL_EOSERR;
	}
	if (rec->nfields > r->cols.n) {
		snprintf(what, sizeof what, "row %ld has %zu fields, the header has %zu: a delimiter inside a value that is not quoted?",
			 rec->row, rec->nfields, r->cols.n);
		row_set_error(w, ROW_REJECTED, what);
		return KL_OK;
	}
	const struct kl_journal_entry *done = NULL;
	if (r->journal) {
		if ((rc = kl_journal_row_key(r->journal, (const char *const *)rec->field, rec->len,
					     rec->nfields, w->key, &err)))
			return rc;
		done = kl_journal_find(r->journal, w->key);
	}
	if ((rc = kl_lead_copy(&w->lead, &r->o->lead, &err)))
		return rc;
	if (done && done->created) { /* an earlier run created it: nothing to send */
		w->status = ROW_SKIPPED;
		w->lead_id = done->lead_id;
		w->contact_id = done->contact_id;
		free(w->lead.v[KL_ATTR_SOURCE_UID]);
		w->lead.v[KL_ATTR_SOURCE_UID] = kl_str_dup(done->uid);
		return KL_OK;
	}
	for (size_t i = 0; i < rec->nfields; i++) {
		const struct kl_column *c = &r->cols.col[i];
		const char *v = rec->field[i];
		if (c->kind == KL_COL_IGNORED)
			continue;
		if (c->kind != KL_COL_ATTR)
			snprintf(what, sizeof what, "row %ld, column \"%s\"", rec->row, c->name);
		if (strlen(v) != rec->len[i]) {
			snprintf(what, sizeof what, "row %ld, column \"%s\"", rec->row, c->name);
			kl_err_set(&err, KL_EDATA, "%s: contains a NUL byte", what);
			goto reject;
		}
		if (v[strspn(v, " \t")] == '\0')
			continue; /* an empty cell: the default, if any, stands */
		switch (c->kind) {
		case KL_COL_ATTR: {
			char *copy = kl_str_dup(v);
			if (!copy)
				return KL_EOSERR;
			free(w->lead.v[c->attr]);
			w->lead.v[c->attr] = copy;
			break;
		}
		case KL_COL_CUSTOM: {
			char *spec = kl_str_printf("%s=%s", c->spec, v);
			drop_default_field(&w->lead, c->spec);
			rc = spec ? kl_lead_add_field_spec(&w->lead, spec, what, &err) : KL_EOSERR;
			free(spec);
			if (rc == KL_EOSERR)
				return rc;
			if (rc)
				goto reject;
			break;
		}
		case KL_COL_CREATED_AT:
			if (kl_check_time(what, v, &w->lead.created_at, &err))
				goto reject;
			break;
		case KL_COL_IGNORED:
			break;
		}
	}
	if ((rc = kl_lead_check(&w->lead, row_label, &w->label, &err)) == KL_EOSERR)
		return rc;
	if (rc)
		goto reject;
	/* fixed now, so a retried request carries the very same body */
	if (!w->lead.created_at)
		w->lead.created_at = (long long)time(NULL);
	if (done && !w->lead.v[KL_ATTR_SOURCE_UID]) {
		/* sent before, outcome lost: the same source_uid goes again */
		if (!(w->lead.v[KL_ATTR_SOURCE_UID] = kl_str_dup(done->uid)))
			return KL_EOSERR;
		w->maybe_dup = true;
	} else if (done) {
		w->maybe_dup = true;
	}
	char salt[32];
	snprintf(salt, sizeof salt, "row-%ld", rec->row);
	/* two rows with the same phone in one millisecond still differ */
	if ((rc = kl_lead_default_uid(&w->lead, kl_now_ms(), salt, &err)))
		return rc;
	w->status = ROW_PENDING;
	return KL_OK;
reject:
	row_set_error(w, ROW_REJECTED, err.msg);
	return KL_OK;
}

/* --skip-existing: a row whose phone or email a contact already has is not sent. */
static void skip_if_existing(struct run *r, struct row *w)
{
	struct kl_err err = {0};
	long long id = 0;
	const char *by = NULL;
	int rc = kl_crm_find_contact(&r->api, &r->acct, w->lead.v[KL_ATTR_PHONE], w->lead.v[KL_ATTR_EMAIL], &id,
				     &by, &err);
	if (rc == KL_OK && id) {
		w->status = ROW_SKIPPED;
		w->contact_id = id;
		w->existing = by;
		return;
	}
	if (rc == KL_OK)
		return;
	for (char *c = err.msg; *c; c++)
		if (*c == '\n')
			*c = ';';
	char *msg = kl_str_printf("not sent: the search for an existing contact failed: %s", err.msg);
	row_set_error(w, ROW_FAILED, msg ? msg : err.msg);
	free(msg);
	if (!r->stop && !interrupted) {
		/* every row needs the search: without it nothing more can go */
		kl_io_say(r->io, "stopping the import: searching Kommo's contacts failed: %s", err.msg);
		r->stop = rc;
	}
}

/* Takes a record into the batch. A row that cannot be prepared is failed
 * with its reason, and the status says why the run must stop. */
static int take_row(struct run *r, const struct kl_csv_record *rec, struct kl_err *err)
{
	struct row *w = &r->rows[r->nrows++];
	r->read++;
	r->last_row = rec->row;
	int rc = fill_row(r, w, rec);
	if (rc == KL_OK && w->status == ROW_PENDING && r->o->skip_existing && r->http && !interrupted && !r->stop)
		skip_if_existing(r, w);
	if (rc == KL_OK)
		return KL_OK;
	row_set_error(w, ROW_FAILED, rc == KL_EOSERR ? "out of memory" : "internal error");
	if (rc == KL_EOSERR)
		return kl_err_oom(err);
	return kl_err_set(err, rc, "row %ld could not be prepared; stopping", rec->row);
}

/* --- output ------------------------------------------------------------------- */

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
				  w->maybe_dup ? " (possibly duplicated: a request carrying it may have reached Kommo)" : "");
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

static int print_row(struct run *r, const struct row *w, struct kl_err *err)
{
	struct kl_buf b = {0};
	int fail = 0;
	if (r->o->json) {
		/* one object per row; strings go through the reply's printer rules */
		fail |= kl_buf_appendf(&b, "{\"row\":%ld,\"status\":\"%s\"", w->n, status_name(w->status));
		if (w->existing)
			fail |= kl_buf_appendf(&b, ",\"lead_id\":null,\"contact_id\":%lld", w->contact_id);
		else if (w->status == ROW_CREATED || w->status == ROW_SKIPPED)
			fail |= kl_buf_appendf(&b, ",\"lead_id\":%lld,\"contact_id\":%lld", w->lead_id,
					       w->contact_id);
		else
			fail |= kl_buf_appendf(&b, ",\"lead_id\":null,\"contact_id\":null");
		/* a row skipped for an existing contact sent nothing under its uid */
		const char *uid = w->existing ? NULL : w->lead.v[KL_ATTR_SOURCE_UID];
		fail |= kl_buf_appendf(&b, ",\"source_uid\":");
		fail |= uid ? kl_report_json_string(&b, uid) : kl_buf_appendf(&b, "null");
		fail |= kl_buf_appendf(&b, ",\"error\":");
		fail |= w->error ? kl_report_json_string(&b, w->error) : kl_buf_appendf(&b, "null");
		fail |= kl_buf_appendf(&b, ",\"possibly_duplicated\":%s,\"existing\":", w->maybe_dup ? "true" : "false");
		fail |= w->existing ? kl_buf_appendf(&b, "\"%s\"}\n", w->existing) : kl_buf_appendf(&b, "null}\n");
	} else if (w->status == ROW_CREATED) {
		fail |= kl_buf_appendf(&b, "row=%ld lead_id=%lld contact_id=%lld%s\n", w->n, w->lead_id,
				       w->contact_id, w->maybe_dup ? " possibly_duplicated" : "");
	} else if (w->existing) {
		fail |= kl_buf_appendf(&b, "row=%ld skipped contact_id=%lld (a contact with this %s exists)\n", w->n,
				       w->contact_id, w->existing);
	} else if (w->status == ROW_SKIPPED) {
		fail |= kl_buf_appendf(&b, "row=%ld skipped lead_id=%lld contact_id=%lld\n", w->n, w->lead_id,
				       w->contact_id);
	} else if (w->status == ROW_CHECKED) {
		fail |= kl_buf_appendf(&b, "row=%ld checked\n", w->n);
	} else {
		fail |= kl_buf_appendf(&b, "row=%ld %s: %s%s\n", w->n, status_name(w->status),
				       w->error ? w->error : "unknown error",
				       w->maybe_dup ? " (possibly duplicated: a request carrying it may have reached Kommo)" : "");
	}
	int rc = fail ? kl_err_oom(err) : kl_io_write(r->io, b.data, b.len, err);
	kl_buf_free(&b);
	return rc;
}

/* --- sending ------------------------------------------------------------------ */

static void nap(double secs)
{
	kl_rate_sleep(secs, &interrupted);
}

/* Kommo's answer explained on one line, for a row's reason. */
static void one_line(struct kl_buf *text, const struct kl_problem *pr, const struct kl_payload *p)
{
	kl_report_problem(pr, p, UNSORTED_FORMS, text);
	while (text->len && (text->data[text->len - 1] == '\n' || text->data[text->len - 1] == ' '))
		text->data[--text->len] = '\0';
	for (char *c = text->data; c && *c; c++)
		if (*c == '\n')
			*c = ';';
}

/* Kommo keeps failing: sending more would only earn a block. */
static void give_up(struct run *r, const char *why)
{
	if (r->stop)
		return;
	kl_io_say(r->io, "stopping the import after %d retries: %s", r->o->max_retries, why);
	r->stop = KL_ETEMPFAIL;
}

static void fail_rows(struct row **rows, size_t n, const char *msg)
{
	for (size_t i = 0; i < n; i++)
		row_set_error(rows[i], ROW_FAILED, msg);
}

static struct row *row_by_request_id(struct row **rows, size_t n, const char *rid)
{
	if (!rid)
		return NULL;
	char *end;
	long v = strtol(rid, &end, 10);
	for (size_t i = 0; *end == '\0' && i < n; i++)
		if (rows[i]->n == v)
			return rows[i];
	return NULL;
}

/* Drops rows that are no longer pending from the array; returns the new count. */
static size_t keep_pending(struct row **rows, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (rows[i]->status == ROW_PENDING)
			rows[k++] = rows[i];
	return k;
}

static void send_rows(struct run *r, struct row **rows, size_t n);

/* Kommo refused the whole request: these rows were surely not created. */
static void journal_not_created(struct run *r, struct row **rows, size_t n)
{
	struct kl_err err = {0};
	int rc = KL_OK;
	for (size_t i = 0; i < n && rc == KL_OK; i++)
		/* an earlier send of it may have reached Kommo: that stays on record */
		if (!rows[i]->maybe_dup)
			rc = kl_journal_not_created(r->journal, rows[i]->key, &err);
	if (rc == KL_OK)
		rc = kl_journal_sync(r->journal, &err);
	if (rc) {
		kl_io_say(r->io, "%s: stopping", err.msg);
		r->stop = rc;
	}
}

/* On disk before the request goes: these rows, with these source_uids. */
static int journal_sending(struct run *r, struct row **rows, size_t n)
{
	struct kl_err err = {0};
	const char **keys = calloc(n, sizeof *keys), **uids = calloc(n, sizeof *uids);
	int rc = KL_EOSERR;
	if (keys && uids) {
		for (size_t i = 0; i < n; i++) {
			keys[i] = rows[i]->key;
			uids[i] = rows[i]->lead.v[KL_ATTR_SOURCE_UID];
		}
		rc = kl_journal_sending(r->journal, keys, uids, n, &err);
	}
	free(keys);
	free(uids);
	if (rc) {
		kl_io_say(r->io, "%s: stopping before the next request", rc == KL_EOSERR ? "out of memory" : err.msg);
		fail_rows(rows, n, "not sent: the state file could not be written");
		r->stop = rc;
	}
	return rc;
}

/* Handles the reply to one request; returns true to send the remaining rows again. */
static bool handle_reply(struct run *r, struct row **rows, size_t n, struct kl_payload *p,
			 const struct kl_http_reply *reply, int *attempt)
{
	struct kl_err err = {0};
	long st = reply->status;

	if (st >= 200 && st < 300) {
		struct kl_created_list cl = {0};
		if (kl_reply_parse_unsorted(reply->body.data, reply->body.len, &cl, &err)) {
			char msg[1200];
			snprintf(msg, sizeof msg, "%s; Kommo answered %ld, so the leads were probably created: look in Incoming leads before importing these rows again",
				 err.msg, st);
			for (size_t i = 0; i < n; i++)
				rows[i]->maybe_dup = true;
			fail_rows(rows, n, msg);
			return false;
		}
		for (size_t i = 0; i < cl.n; i++) {
			struct row *w = row_by_request_id(rows, n, cl.items[i].request_id);
			if (!w && cl.n == n)
				w = rows[i]; /* no request_id echoed: Kommo keeps the order */
			if (w && w->status == ROW_PENDING) {
				w->status = ROW_CREATED;
				w->lead_id = cl.items[i].lead_id;
				w->contact_id = cl.items[i].contact_id;
				if (r->journal && kl_journal_created(r->journal, w->key, w->lead_id, w->contact_id, &err))
					r->stop = KL_EOSERR;
			}
		}
		kl_created_list_free(&cl);
		if (r->journal && kl_journal_sync(r->journal, &err)) {
			kl_io_say(r->io, "%s: stopping", err.msg);
			r->stop = KL_EIO;
		}
		for (size_t i = 0; i < n; i++)
			if (rows[i]->status == ROW_PENDING)
				row_set_error(rows[i], ROW_FAILED,
					      "Kommo's reply did not mention this row; look in Incoming leads before importing it again");
		return false;
	}

	struct kl_problem pr = {0};
	struct kl_buf text = {0};
	if (kl_reply_parse_problem(st, reply->content_type, reply->body.data, reply->body.len,
				   reply->retry_after, &pr, &err)) {
		r->stop = KL_EOSERR;
		return false;
	}
	bool again = false;
	if (st == 400 && pr.nerrors > 0) {
		/* the rows Kommo named are rejected; the others go again */
		size_t named = 0;
		for (size_t i = 0; i < pr.nerrors; i++) {
			const struct kl_verror *e = &pr.errors[i];
			struct row *w = row_by_request_id(rows, n, e->request_id);
			if (!w)
				continue;
			char *from = e->path ? kl_payload_origin(p, e->request_id, e->path) : NULL;
			char *msg = kl_str_printf("Kommo: %s at %s%s%s%s: %s", e->code ? e->code : "error",
						  e->path && *e->path ? e->path : "(the item)", from ? " (" : "",
						  from ? from : "", from ? ")" : "", e->detail ? e->detail : "");
			if (msg)
				row_add_error(w, msg);
			free(msg);
			free(from);
			named++;
		}
		again = named > 0;
		if (!named) {
			one_line(&text, &pr, p);
			for (size_t i = 0; i < n; i++)
				row_set_error(rows[i], ROW_REJECTED, text.data ? text.data : "HTTP 400");
		}
	} else if ((st == 422 || st == 413) && n == 1) {
		/* even alone the row is too much for Kommo: it is the row, not the run */
		one_line(&text, &pr, p);
		row_set_error(rows[0], ROW_REJECTED, text.data ? text.data : "HTTP 422");
	} else if ((st == 422 || st == 413 || st == 504) && n > 1) {
		/* too much at once for Kommo: halve the batch (Kommo's advice for 504) */
		size_t half = n / 2;
		if (st == 504)
			for (size_t i = 0; i < n; i++)
				rows[i]->maybe_dup = true;
		send_rows(r, rows, half);
		send_rows(r, rows + half, n - half);
	} else if (st == 429 || st == 500 || st == 502 || st == 503 || st == 504) {
		/* 500, 502 and 504 may come after Kommo stored the leads: the same source_uids go again */
		if (st == 500 || st == 502 || st == 504)
			for (size_t i = 0; i < n; i++)
				rows[i]->maybe_dup = true;
		if (*attempt < r->o->max_retries && !interrupted) {
			double wait = kl_rate_backoff(&r->seed, *attempt, st == 429 ? pr.retry_after : -1, st == 429);
			if (r->o->verbose)
				kl_io_say(r->io, "HTTP %ld: retrying rows %ld-%ld in %.1f s", st, rows[0]->n,
					  rows[n - 1]->n, wait);
			(*attempt)++;
			nap(wait);
			again = !interrupted;
			r->retries += again;
		}
		if (!again) {
			one_line(&text, &pr, p);
			fail_rows(rows, n, text.data ? text.data : "Kommo failed");
			if (!interrupted)
				give_up(r, text.data ? text.data : "Kommo failed");
		}
	} else {
		/* 401, 402, 403, 404, 405 and the unexpected: nothing more can go through */
		int code = kl_report_problem(&pr, p, UNSORTED_FORMS, &text);
		if (st == 401 && r->api.token_origin)
			kl_buf_appendf(&text, "the refused token came from %s\n", r->api.token_origin);
		while (text.len && text.data[text.len - 1] == '\n')
			text.data[--text.len] = '\0';
		char *m = kl_str_printf("stopping the import: %s", text.data ? text.data : "");
		kl_io_say_lines(r->io, m ? m : "stopping the import");
		free(m);
		r->stop = code ? code : KL_EPROTOCOL;
		if (text.data) {
			char *nl = strchr(text.data, '\n');
			if (nl)
				*nl = '\0';
		}
		fail_rows(rows, n, text.data ? text.data : "the import stopped");
	}
	kl_buf_free(&text);
	kl_problem_free(&pr);
	return again;
}

/* Sends rows (all pending) until each is created, rejected or failed. */
static void send_rows(struct run *r, struct row **rows, size_t n)
{
	int attempt = 0;
	while ((n = keep_pending(rows, n)) > 0 && !r->stop) {
		struct kl_err err = {0};
		struct kl_payload *p = kl_payload_new();
		struct kl_http_reply reply = {0};
		char *body = NULL;
		if (!p) {
			r->stop = KL_EOSERR;
			return;
		}
		long long now = (long long)time(NULL);
		for (size_t i = 0; i < n; i++) {
			char rid[24];
			snprintf(rid, sizeof rid, "%ld", rows[i]->n);
			int rc = kl_payload_add(p, &rows[i]->lead, &r->acct, rid, now, row_label,
						&rows[i]->label, &err);
			if (rc == KL_EOSERR) {
				r->stop = rc;
			} else if (rc) {
				row_set_error(rows[i], ROW_REJECTED, err.msg);
			}
		}
		if (r->stop || kl_payload_count(p) != n) {
			kl_payload_free(p);
			continue; /* rejected rows drop out above */
		}
		if (!(body = kl_payload_render(p))) {
			kl_payload_free(p);
			r->stop = KL_EOSERR;
			return;
		}
		if (r->o->dry_run) {
			if (kl_io_write(r->io, body, strlen(body), &err) || kl_io_write(r->io, "\n", 1, &err))
				r->stop = KL_EIO;
			for (size_t i = 0; i < n; i++)
				rows[i]->status = ROW_CHECKED;
			free(body);
			kl_payload_free(p);
			return;
		}
		nap(kl_rate_wait(r->rate, kl_rate_now()));
		if (interrupted) {
			free(body);
			kl_payload_free(p);
			fail_rows(rows, n, "not sent: the import was interrupted");
			return;
		}
		if (r->journal && journal_sending(r, rows, n)) {
			free(body);
			kl_payload_free(p);
			return;
		}
		kl_rate_started(r->rate, kl_rate_now());
		r->requests++;
		int rc = kl_http_request(r->http, "POST", UNSORTED_FORMS, body, strlen(body), &reply, &err);
		free(body);
		bool again;
		if (rc == KL_OK) {
			long st = reply.status;
			bool refused = st == 400 || st == 413 || st == 422 || st == 429 || st == 503 ||
				       (st >= 401 && st <= 405);
			if (r->journal && refused)
				journal_not_created(r, rows, n);
			again = handle_reply(r, rows, n, p, &reply, &attempt);
		} else if (rc == KL_ETLS || rc == KL_ECONFIG) {
			/* nothing was sent, and every request would meet the same certificate,
			 * or the same non-loopback address behind a plain http URL */
			if (r->journal)
				journal_not_created(r, rows, n);
			fail_rows(rows, n, rc == KL_ETLS ? "not sent: Kommo's certificate could not be verified"
							 : "not sent: plain http led away from this machine");
			if (!r->stop) {
				kl_io_say(r->io, "stopping the import: %s", err.msg);
				r->stop = rc;
			}
			again = false;
		} else if (reply.status >= 200 && reply.status < 300) {
			/* answered 2xx, but the reply was too large, too slow or cut short:
			 * the leads were probably created, so they are not sent again */
			char msg[1200];
			snprintf(msg, sizeof msg, "%s; Kommo answered %ld, so the leads were probably created: look in Incoming leads before importing these rows again",
				 err.msg, reply.status);
			for (size_t i = 0; i < n; i++)
				rows[i]->maybe_dup = true;
			fail_rows(rows, n, msg);
			again = false;
		} else if (rc == KL_EOSERR || rc == KL_EPROTOCOL) {
			for (size_t i = 0; rc == KL_EPROTOCOL && i < n; i++)
				rows[i]->maybe_dup = true; /* answered, too long to read: sent all the same */
			fail_rows(rows, n, err.msg);
			again = false;
		} else {
			/* no reply: the same rows, with the same source_uids, go again */
			if (reply.maybe_sent)
				for (size_t i = 0; i < n; i++)
					rows[i]->maybe_dup = true;
			again = attempt < r->o->max_retries && !interrupted;
			if (again) {
				double wait = kl_rate_backoff(&r->seed, attempt, -1, false);
				if (r->o->verbose)
					kl_io_say(r->io, "%s: retrying in %.1f s", err.msg, wait);
				attempt++;
				nap(wait);
				r->retries += !interrupted;
			} else {
				fail_rows(rows, n, err.msg);
				if (!interrupted)
					give_up(r, err.msg);
			}
		}
		kl_http_reply_free(&reply);
		kl_payload_free(p);
		if (!again)
			return;
	}
}

/* Sends the batch's pending rows, then prints every row of it in input order. */
static int flush(struct run *r)
{
	struct kl_err err = {0};
	struct row **pending = calloc(r->nrows ? r->nrows : 1, sizeof *pending);
	size_t n = 0;
	int rc = KL_OK;
	if (!pending)
		return KL_EOSERR;
	for (size_t i = 0; i < r->nrows; i++)
		if (r->rows[i].status == ROW_PENDING)
			pending[n++] = &r->rows[i];
	if (n && !r->stop)
		send_rows(r, pending, n);
	free(pending);
	for (size_t i = 0; i < r->nrows; i++) {
		struct row *w = &r->rows[i];
		if (w->status == ROW_PENDING)
			row_set_error(w, ROW_FAILED, "not sent: the import stopped before this row");
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
		if (!(r->o->dry_run && w->status == ROW_CHECKED) && rc == KL_OK &&
		    (rc = print_row(r, w, &err)))
			kl_io_say(r->io, "%s", err.msg);
		if (r->rejects && (w->status == ROW_REJECTED || w->status == ROW_FAILED) &&
		    reject_line(r, w) != 0 && rc == KL_OK) {
			kl_io_say(r->io, "--rejects %s: cannot write: %s", r->o->rejects, strerror(errno));
			rc = KL_EIO;
		}
		row_free(w);
	}
	r->nrows = r->nvalid = 0;
	return rc;
}

static void show_progress(struct run *r, bool last)
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

/* --- set-up ------------------------------------------------------------------- */

/* A value the lead needs a field id for that is not configured stops the run
 * before anything is sent, rather than at the first row that has one. */
static int check_field_ids(struct run *r, struct kl_err *err)
{
	for (int a = 0; a < KL_ATTR_COUNT; a++) {
		const struct kl_attr_info *ai = kl_attr_info(a);
		if (!kl_payload_needs_id(&r->acct, a))
			continue;
		const char *col = NULL;
		for (size_t i = 0; i < r->cols.n && !col; i++)
			if (r->cols.col[i].kind == KL_COL_ATTR && r->cols.col[i].attr == (enum kl_attr)a)
				col = r->cols.col[i].name;
		if (col)
			return kl_err_set(err, KL_ECONFIG,
					  "column \"%s\" needs the id of its Kommo field: set %s in the config file or the environment (or drop the column with --ignore-unknown-columns and --map %s=ignore)",
					  col, kl_config_key_name(ai->cfg_key), col);
		if (r->o->lead.v[a])
			return kl_err_set(err, KL_ECONFIG, "%s needs the id of its Kommo field: set %s",
					  ai->flag, kl_config_key_name(ai->cfg_key));
	}
	return KL_OK;
}

static int split_columns(const char *list, char ***names, size_t *n)
{
	*n = 0;
	*names = NULL;
	size_t cap = 1;
	for (const char *c = list; *c; c++)
		cap += *c == ',';
	if (!(*names = calloc(cap, sizeof **names)))
		return KL_EOSERR;
	for (const char *s = list;; s++) {
		size_t len = strcspn(s, ",");
		if (!((*names)[(*n)++] = kl_str_ndup(s, len)))
			return KL_EOSERR;
		s += len;
		if (!*s)
			break;
	}
	return KL_OK;
}

static int read_header(struct run *r, struct kl_err *err)
{
	char **names = NULL;
	size_t n = 0;
	int rc;
	if (r->o->columns) {
		if ((rc = split_columns(r->o->columns, &names, &n)))
			goto out;
	} else {
		const struct kl_csv_record *rec;
		rc = kl_csv_next(r->csv, &rec, err);
		if (rc == 0) {
			rc = kl_err_set(err, KL_EDATA, "%s: empty input: expected a header line (or give --columns)",
					r->in_name);
			goto out;
		}
		if (rc != 1)
			goto out;
		if (!(names = calloc(rec->nfields, sizeof *names))) {
			rc = KL_EOSERR;
			goto out;
		}
		for (; n < rec->nfields; n++)
			if (!(names[n] = kl_str_ndup(rec->field[n], rec->len[n]))) {
				rc = KL_EOSERR;
				goto out;
			}
	}
	rc = kl_columns_map(&r->cols, (const char *const *)names, n, r->o->maps, r->o->nmaps,
			    r->o->ignore_unknown, err);
	if (rc == KL_OK && r->o->rejects) {
		struct kl_csv_opts co = {kl_csv_delimiter(r->csv), r->o->cp1251 ? KL_CSV_CP1251 : KL_CSV_UTF8};
		if ((rc = kl_csv_writer_open(&r->rejects, r->o->rejects, co.delimiter, co.encoding, err)))
			goto out;
		r->add_uid = true;
		for (size_t i = 0; i < r->cols.n; i++)
			if (r->cols.col[i].kind == KL_COL_ATTR && r->cols.col[i].attr == KL_ATTR_SOURCE_UID)
				r->add_uid = false;
		const char **h = calloc(n + 2, sizeof *h);
		if (!h) {
			rc = KL_EOSERR;
			goto out;
		}
		size_t k = 0;
		for (; k < n; k++)
			h[k] = names[k];
		if (r->add_uid)
			h[k++] = "source_uid";
		h[k++] = "error";
		if (kl_csv_write_row(r->rejects, h, k) != 0)
			rc = kl_err_set(err, KL_EIO, "--rejects %s: cannot write: %s", r->o->rejects, strerror(errno));
		free(h);
	}
out:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (rc == KL_EOSERR)
		kl_err_oom(err);
	return rc;
}

static void summary(struct run *r)
{
	double secs = kl_rate_now() - r->t0;
	kl_io_say(r->io,
		  "%llu rows read: %llu created, %llu rejected, %llu failed, %llu skipped; %llu requests, %llu retries; %.1f s",
		  r->read, r->created, r->rejected, r->failed, r->skipped, r->requests + r->api.requests,
		  r->retries + r->api.retries, secs);
	if (r->dups)
		kl_io_say(r->io, "%llu created rows are possibly duplicated: a request carrying them was retried after its outcome was lost",
			  r->dups);
}

int kl_import_run(const struct kl_opts *o, const struct kl_io *io)
{
	struct kl_err err = {0};
	struct kl_config cfg = {0};
	struct run r = {.o = o, .io = io};
	struct sigaction sa = {0}, old_int, old_term;
	bool at_end = false; /* the whole input was read */
	int rc;

	r.t0 = kl_rate_now();
	r.seed = (unsigned)time(NULL) ^ (unsigned)getpid();
	interrupted = 0;
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART | SA_RESETHAND; /* a second signal ends us at once */
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);

	if ((rc = kl_session_load_config(o, io, &cfg, &err)) ||
	    (rc = kl_config_resolve(&cfg, !o->dry_run, &r.acct, &err)))
		goto out;
	/* 7.x still starts 7 requests a window (floor), as the default does */
	if (!o->dry_run && (o->rate == 0 || o->rate >= 8) && !kl_check_url_is_loopback(r.acct.base_url))
		kl_io_say(io, "warning: %s Kommo's limit of 7 requests a second: expect 429s, and an account that keeps sending through them can be blocked (403)",
			  o->rate == 0 ? "--rate 0 sends without a limit, above" : "--rate is above");

	r.in_name = o->input && strcmp(o->input, "-") != 0 ? o->input : "standard input";
	if (o->input && strcmp(o->input, "-") != 0) {
		if (!(r.in = fopen(o->input, "rb"))) {
			rc = kl_err_set(&err, KL_ENOINPUT, "%s: cannot open: %s", o->input, strerror(errno));
			goto out;
		}
		struct stat st;
		if (fstat(fileno(r.in), &st) == 0 && S_ISREG(st.st_mode))
			r.in_size = (unsigned long long)st.st_size;
	} else {
		r.in = stdin;
	}
	if (o->state && (rc = kl_journal_open(&r.journal, o->state, &err)))
		goto out;
	struct kl_csv_opts co = {o->delimiter, o->cp1251 ? KL_CSV_CP1251 : KL_CSV_UTF8};
	if ((rc = kl_csv_open(&r.csv, r.in, r.in_name, &co, &err)))
		goto out;
	/* the rejects file speaks the input's dialect: guess it first */
	if (!o->delimiter && (rc = kl_csv_peek(r.csv, &err)))
		goto out;
	if ((rc = read_header(&r, &err)))
		goto out;
	if ((rc = check_field_ids(&r, &err)))
		goto out;
	if (!o->dry_run) {
		if ((rc = kl_session_open(o, io, &cfg, &r.acct, o->rate, o->max_retries, &r.api, &err)))
			goto out;
		r.api.stop = &interrupted;
		r.http = r.api.http;
		r.rate = &r.api.rate;
	}
	r.progress = o->progress == 1 || (o->progress == -1 && isatty(fileno(io->msg)));
	r.cap = (size_t)o->batch_size * 4;
	if (!(r.rows = calloc(r.cap, sizeof *r.rows))) {
		rc = kl_err_oom(&err);
		goto out;
	}

	int got = 1;
	const struct kl_csv_record *rec;
	while (!r.stop && !interrupted && (got = kl_csv_next(r.csv, &rec, &err)) == 1) {
		if ((rc = take_row(&r, rec, &err)))
			goto out;
		if (r.rows[r.nrows - 1].status == ROW_PENDING)
			r.nvalid++;
		if (r.nvalid == o->batch_size || r.nrows == r.cap) {
			if ((rc = flush(&r)))
				goto out;
			show_progress(&r, false);
		}
	}
	at_end = got == 0;
	if (interrupted && !r.stop) {
		/* rows already taken from the input (a pipe cannot give them again) are
		 * reported, not dropped */
		while (kl_csv_next_buffered(r.csv, &rec) == 1) {
			if (r.nrows == r.cap && (rc = flush(&r)))
				goto out;
			if ((rc = take_row(&r, rec, &err)))
				goto out;
			struct row *w = &r.rows[r.nrows - 1];
			if (w->status == ROW_PENDING)
				row_set_error(w, ROW_FAILED, "not sent: the import was interrupted");
		}
	}
	if (!r.stop && !interrupted && got != 0) {
		/* the input broke off: what was read is sent, then the reason is told */
		rc = got;
		flush(&r);
		goto out;
	}
	if ((rc = flush(&r)))
		goto out;
	if (interrupted) {
		rc = kl_err_set(&err, KL_ETEMPFAIL, "interrupted: every row read is reported above");
		goto out;
	}
	rc = r.stop ? r.stop : r.failed ? KL_ETEMPFAIL : r.rejected ? KL_EDATA : KL_OK;
out:
	if (r.nrows)
		flush(&r);
	if (r.progress && r.read)
		show_progress(&r, true);
	if (r.csv && r.read && !at_end && (r.stop || interrupted || rc))
		kl_io_say(io, "reading stopped after row %ld: run the import again%s", r.last_row,
			  o->state ? " with the same --state to do the rest" : " on the rows after it");
	if (rc && err.msg[0])
		kl_io_say(io, "%s", err.msg);
	if (r.csv && (r.read || r.requests))
		summary(&r);
	if (r.failed && !r.stop && rc == KL_ETEMPFAIL) {
		if (o->rejects)
			kl_io_say(io, "%llu rows failed: import them again later from %s", r.failed, o->rejects);
		else if (o->state)
			kl_io_say(io, "%llu rows failed: run the same import again later with the same --state: it sends only what was not created",
				  r.failed);
		else
			kl_io_say(io, "%llu rows failed: import them again later (they are listed above; --rejects FILE writes them to a file)",
				  r.failed);
	}
	free(r.rows);
	if (kl_csv_writer_close(r.rejects) != 0 && rc == KL_OK) {
		kl_io_say(io, "--rejects %s: cannot write: %s", o->rejects, strerror(errno));
		rc = KL_EIO;
	}
	kl_csv_free(r.csv);
	if (r.in && r.in != stdin)
		fclose(r.in);
	kl_columns_free(&r.cols);
	kl_journal_close(r.journal);
	kl_api_close(&r.api);
	kl_account_free(&r.acct);
	kl_config_free(&cfg);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	return rc;
}
