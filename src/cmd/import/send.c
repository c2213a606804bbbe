/* A batch of rows goes to Kommo: the payload, the request, its retries and
 * halvings, and the journal's record of what was sent and what came of it.
 * Every request of the import's leads is made here. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "import_int.h"
#include "kommo/kl_payload.h"
#include "kommo/kl_reply.h"
#include "kommo/kl_report.h"

#define UNSORTED_FORMS "/api/v4/leads/unsorted/forms"

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
	kl_io_say(r->io, "stopping the import after %d %s: %s", r->o->max_retries,
		  r->o->max_retries == 1 ? "retry" : "retries", why);
	r->stop = KL_ETEMPFAIL;
}

static void fail_rows(struct row **rows, size_t n, const char *msg)
{
	for (size_t i = 0; i < n; i++)
		imp_row_set_error(rows[i], ROW_FAILED, msg);
}

/* The rows' request never left (msg says why): not sent, unless an earlier
 * request carrying the row may have reached Kommo: that one stays failed,
 * flagged possibly duplicated, so that nobody imports it again blindly. */
static void unsent_rows(struct row **rows, size_t n, const char *msg)
{
	for (size_t i = 0; i < n; i++)
		imp_row_set_error(rows[i], rows[i]->maybe_dup ? ROW_FAILED : ROW_NOT_SENT, msg);
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
		unsent_rows(rows, n, "not sent: the state file could not be written");
		r->stop = rc;
	}
	return rc;
}

/* 2xx: every row is created, item i of the reply being rows[at[i]] (the
 * reply was matched to the rows sent: kl_reply_match). */
static void took_leads(struct run *r, struct row **rows, const struct kl_created_list *cl, const size_t *at)
{
	struct kl_err err = {0};
	for (size_t i = 0; i < cl->n; i++) {
		struct row *w = rows[at[i]];
		w->status = ROW_CREATED;
		w->lead_id = cl->items[i].lead_id;
		w->contact_id = cl->items[i].contact_id;
		if (r->journal && kl_journal_created(r->journal, w->key, w->lead_id, w->contact_id, &err))
			r->stop = KL_EOSERR;
	}
	if (r->journal && kl_journal_sync(r->journal, &err)) {
		kl_io_say(r->io, "%s: stopping", err.msg);
		r->stop = KL_EIO;
	}
}

/* 400 with validation errors: the rows Kommo named are rejected; returns
 * true when the others go again. */
static bool reject_named(struct run *r, struct row **rows, size_t n, struct kl_payload *p,
			 const struct kl_problem *pr, struct kl_buf *text)
{
	size_t named = 0;
	for (size_t i = 0; i < pr->nerrors; i++)
		if (kl_payload_error_item(p, &pr->errors[i]) >= 0)
			named++;
	for (size_t i = 0; named && i < pr->nerrors; i++) {
		/* the payload's items are the rows, in order (make_payload) */
		long k = kl_payload_error_item(p, &pr->errors[i]);
		char *line = kl_report_verror(&pr->errors[i], kl_payload_origin, p);
		if (k < 0) {
			/* the named rows go to the rejects, the others again: this
			 * error is about none of them, but it is Kommo's word */
			kl_io_say(r->io, "Kommo: %s (about no row of this request)", line ? line : "?");
			free(line);
			continue;
		}
		char *msg = line ? kl_str_printf("Kommo: %s", line) : NULL;
		if (msg)
			imp_row_add_error(rows[k], msg);
		free(msg);
		free(line);
	}
	if (!named) {
		one_line(text, pr, p);
		for (size_t i = 0; i < n; i++)
			imp_row_set_error(rows[i], ROW_REJECTED, text->data ? text->data : "HTTP 400");
	}
	return named > 0;
}

/* Kommo's retries are spent (429, 503, 5xx): the rows fail and the run stops. */
static void give_up_rows(struct run *r, struct row **rows, size_t n, struct kl_payload *p,
			 const struct kl_problem *pr, struct kl_buf *text)
{
	one_line(text, pr, p);
	fail_rows(rows, n, text->data ? text->data : "Kommo failed");
	if (!kl_interrupted)
		give_up(r, text->data ? text->data : "Kommo failed");
}

/* 401, 402, 403, 404, 405 and the unexpected: nothing more can go through. */
static void stop_on(struct run *r, struct row **rows, size_t n, struct kl_payload *p,
		    const struct kl_problem *pr, long st, struct kl_buf *text)
{
	int code = kl_report_problem(pr, p, UNSORTED_FORMS, text);
	if (st == 401 && r->api.token_origin)
		kl_buf_appendf(text, "the refused token came from %s\n", r->api.token_origin);
	while (text->len && text->data[text->len - 1] == '\n')
		text->data[--text->len] = '\0';
	char *m = kl_str_printf("stopping the import: %s", text->data ? text->data : "");
	kl_io_say_lines(r->io, m ? m : "stopping the import");
	free(m);
	r->stop = code ? code : KL_EPROTOCOL;
	if (text->data) {
		char *nl = strchr(text->data, '\n');
		if (nl)
			*nl = '\0';
	}
	fail_rows(rows, n, text->data ? text->data : "the import stopped");
}

/* Kommo refused the request (nothing was created); returns true to send
 * the rows still pending again. */
static bool refused(struct run *r, struct row **rows, size_t n, struct kl_payload *p, const struct kl_problem *pr)
{
	struct kl_buf text = {0};
	long st = pr->status;
	bool again = false;
	if (r->journal)
		journal_not_created(r, rows, n);
	if (st == 400 && pr->nerrors > 0) {
		again = reject_named(r, rows, n, p, pr, &text);
	} else if ((st == 422 || st == 413) && n == 1) {
		/* even alone the row is too much for Kommo: it is the row, not the run */
		one_line(&text, pr, p);
		imp_row_set_error(rows[0], ROW_REJECTED, text.data ? text.data : "HTTP 422");
	} else if ((st == 422 || st == 413) && n > 1) {
		/* too much at once for Kommo: halve the batch */
		send_rows(r, rows, n / 2);
		send_rows(r, rows + n / 2, n - n / 2);
	} else if (st == 429 || st == 503) {
		give_up_rows(r, rows, n, p, pr, &text);
	} else {
		stop_on(r, rows, n, p, pr, st, &text);
	}
	kl_buf_free(&text);
	return again;
}

/* The request never left (err says why). journaled: the journal holds the
 * rows as sent (before_send ran), which it must no longer. */
static void not_sent(struct run *r, struct row **rows, size_t n, int rc, const struct kl_api_res *res,
		     const struct kl_err *err, bool journaled)
{
	if (rc == KL_ETLS || rc == KL_ECONFIG) {
		/* every request would meet the same certificate, or the same
		 * non-loopback address behind a plain http URL */
		if (r->journal)
			journal_not_created(r, rows, n);
		unsent_rows(rows, n, rc == KL_ETLS ? "not sent: Kommo's certificate could not be verified"
						   : "not sent: plain http led away from this machine");
		if (!r->stop) {
			kl_io_say(r->io, "stopping the import: %s", err->msg);
			r->stop = rc;
		}
	} else if (res->interrupted || kl_interrupted) {
		/* before it left, or aborted before a byte of it had */
		if (r->journal && journaled)
			journal_not_created(r, rows, n);
		unsent_rows(rows, n, "not sent: the import was interrupted");
	} else if (!r->stop) { /* no connection, after the retries */
		if (r->journal)
			journal_not_created(r, rows, n);
		fail_rows(rows, n, err->msg);
		give_up(r, err->msg);
	}
}

/* Sends rows again after an unknown outcome, or gives up when the retries
 * are spent; returns true to send them again. */
static bool again_or_give_up(struct run *r, struct row **rows, size_t n, struct kl_payload *p,
			     const struct kl_api_res *res, const struct kl_err *err, bool looked, int *attempt)
{
	long st = res->status;
	if (*attempt < r->o->max_retries && !kl_interrupted) {
		char why[1200];
		if (looked) { /* the grace was waited: no backoff on top of it */
			(*attempt)++;
			r->api.retries++;
			if (r->o->verbose)
				kl_io_say(r->io, "rows %ld-%ld are not in Incoming leads: sending them again, flagged possibly_duplicated",
					  rows[0]->n, rows[n - 1]->n);
			return true;
		}
		if (st)
			snprintf(why, sizeof why, "HTTP %ld: retrying rows %ld-%ld", st, rows[0]->n, rows[n - 1]->n);
		else
			snprintf(why, sizeof why, "%s: retrying", err->msg);
		if (kl_api_backoff(&r->api, (*attempt)++, r->o->verbose ? why : NULL))
			return true;
		/* the request before may have reached Kommo: maybe_dup says so */
		snprintf(why, sizeof why, "%s; the import was interrupted before sending it again", err->msg);
		fail_rows(rows, n, why);
		return false;
	}
	if (st) {
		struct kl_buf text = {0};
		give_up_rows(r, rows, n, p, &res->problem, &text);
		kl_buf_free(&text);
	} else {
		fail_rows(rows, n, err->msg);
		if (!kl_interrupted)
			give_up(r, err->msg);
	}
	return false;
}

/* Nobody can tell from the answer whether Kommo acted on the request: the
 * rows are looked for among Incoming leads (imp_resolve); those found are
 * created, the others are marked possibly duplicated and go again with the
 * same source_uids, or fail. Returns true to send the rows still pending
 * again. */
static bool unknown(struct run *r, struct row **rows, size_t n, struct kl_payload *p, int rc,
		    const struct kl_api_res *res, const struct kl_err *err, int *attempt)
{
	long st = res->status;
	bool looked = false;
	if (kl_interrupted >= KL_HTTP_STOP_NOW) {
		/* no lookup now: the journal (--state) holds them as sent without
		 * an answer, and the rerun looks for them */
		for (size_t i = 0; i < n; i++)
			rows[i]->maybe_dup = true;
		fail_rows(rows, n, err->msg);
		return false;
	}
	if (r->o->verbose)
		kl_io_say(r->io, "rows %ld-%ld: %s: looking for them in Kommo's Incoming leads", rows[0]->n,
			  rows[n - 1]->n, err->msg);
	if (imp_resolve(r, rows, n, err->msg, &looked)) {
		r->stop = KL_EOSERR;
		return false;
	}
	/* the rows still pending, in a copy: the caller's loop goes on over rows
	 * as they are (compacting them here would leave a row in it twice) */
	struct row **rest = malloc(n * sizeof *rest);
	size_t left = 0;
	if (!rest) {
		r->stop = KL_EOSERR;
		return false;
	}
	for (size_t i = 0; i < n; i++)
		if (rows[i]->status == ROW_PENDING) {
			rows[i]->maybe_dup = true;
			rest[left++] = rows[i];
		}
	bool again = false;
	if (left == 0 || r->stop) {
		/* every row found, or the run stops */
	} else if (st >= 200 && st < 300) {
		/* Kommo answered 2xx, so it acted: not sent again, found or not */
		char msg[1200];
		snprintf(msg, sizeof msg, "%s; Kommo answered %ld, so the leads were probably created: look in Incoming leads before importing these rows again",
			 err->msg, st);
		fail_rows(rest, left, msg);
	} else if (!looked && (rc == KL_EOSERR || rc == KL_EPROTOCOL)) {
		fail_rows(rest, left, err->msg); /* answered, too long or strange to read */
	} else if (left < n) {
		send_rows(r, rest, left); /* some were found: the rest go on as a batch of their own */
	} else if (st == 504 && n > 1) {
		/* too much at once for Kommo: halve the batch (Kommo's advice for 504) */
		send_rows(r, rest, n / 2);
		send_rows(r, rest + n / 2, n - n / 2);
	} else {
		again = again_or_give_up(r, rest, n, p, res, err, looked, attempt);
	}
	free(rest);
	return again;
}

struct post_ctx {
	struct run *r;
	struct row **rows;
	size_t n;
	const char *const *rids; /* the request_ids sent: the rows' numbers */
	struct kl_created_list created;
	size_t *at;              /* created.items[i] is rows[at[i]] */
	bool journal_failed;
	bool journaled;          /* the journal holds the rows as sent */
};

/* A reply whose items cannot be matched to the rows sent, each to one, is
 * an unknown outcome: ids are never guessed. */
static int parse_created(void *ctx, const char *body, size_t len, struct kl_err *err)
{
	struct post_ctx *pc = ctx;
	kl_created_list_free(&pc->created);
	int rc = kl_reply_parse_unsorted(body, len, &pc->created, err);
	return rc ? rc : kl_reply_match(&pc->created, pc->rids, pc->n, pc->at, err);
}

/* On disk before the request goes: these rows, with these source_uids. */
static int before_send(void *ctx, bool resend, struct kl_err *err)
{
	struct post_ctx *pc = ctx;
	if (!pc->r->journal)
		return KL_OK;
	/* the try before was refused or never left: on record, so that this one is
	 * not taken for a second request that may land */
	if (resend)
		journal_not_created(pc->r, pc->rows, pc->n);
	int rc = pc->r->stop ? pc->r->stop : journal_sending(pc->r, pc->rows, pc->n);
	pc->journal_failed = rc != KL_OK;
	pc->journaled = rc == KL_OK;
	return rc ? kl_err_set(err, rc, "the state file could not be written") : KL_OK;
}

/* How long an answer may take to count as quick for --batch-size auto. */
#define QUICK_SECONDS 2.0

/* --batch-size auto: the next batches grow while Kommo takes this size
 * quickly and without error (by half, or by a tenth once a batch was too
 * heavy), and halve when it was too heavy (504, 413, 422, a timeout). */
static void adapt(struct run *r, size_t n, const struct kl_api_res *res, int rc)
{
	long st = res->status;
	double quick = QUICK_SECONDS;
	if (r->o->timeout_ms > 0 && (double)r->o->timeout_ms / 4000.0 < quick)
		quick = (double)r->o->timeout_ms / 4000.0;
	if (r->o->batch_size)
		return;
	if (st == 504 || st == 413 || st == 422 || (rc == KL_ETEMPFAIL && st == 0 && !res->interrupted)) {
		unsigned half = (unsigned)(n / 2 ? n / 2 : 1);
		if (half < r->batch)
			r->batch = half;
		r->shrunk = true;
	} else if (res->outcome == KL_API_DONE && res->seconds < quick && n >= r->batch && r->batch < 250) {
		unsigned step = r->shrunk ? r->batch / 10 : r->batch / 2;
		r->batch += step ? step : 1;
		if (r->batch > 250)
			r->batch = 250;
	} else {
		return;
	}
	if (r->o->verbose)
		kl_io_say(r->io, "batches of %u %s from now on", r->batch, r->batch == 1 ? "row" : "rows");
}

/* One request of rows, on the journal's record. Returns true to send the
 * rows still pending again. */
static bool post(struct run *r, struct row **rows, size_t n, struct kl_payload *p, const char *body, int *attempt)
{
	struct kl_err err = {0};
	struct kl_api_res res;
	char (*rid)[24] = calloc(n, sizeof *rid);
	const char **rids = calloc(n, sizeof *rids);
	size_t *at = calloc(n, sizeof *at);
	if (!rid || !rids || !at) {
		free(rid);
		free(rids);
		free(at);
		r->stop = KL_EOSERR;
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		snprintf(rid[i], sizeof rid[i], "%ld", rows[i]->n);
		rids[i] = rid[i];
	}
	struct post_ctx pc = {.r = r, .rows = rows, .n = n, .rids = rids, .at = at};
	char resend[64];
	snprintf(resend, sizeof resend, "retrying rows %ld-%ld", rows[0]->n, rows[n - 1]->n);
	struct kl_api_req rq = {.method = "POST", .path = UNSORTED_FORMS, .body = body, .what = "the lead",
				.retry = KL_API_RETRY_BATCH, .resend = resend,
				.parse = parse_created, .parse_ctx = &pc,
				.before_send = before_send, .before_ctx = &pc, .attempt = attempt};
	int rc = kl_api_send(&r->api, &rq, &res, &err);
	bool again = false;
	adapt(r, n, &res, rc);
	if (rc == KL_EOSERR && res.outcome != KL_API_UNKNOWN)
		r->stop = KL_EOSERR;
	else if (pc.journal_failed)
		; /* the rows failed, and the run stops, in journal_sending */
	else if (res.outcome == KL_API_DONE)
		took_leads(r, rows, &pc.created, at);
	else if (res.outcome == KL_API_REFUSED)
		again = refused(r, rows, n, p, &res.problem);
	else if (res.outcome == KL_API_NOT_SENT)
		not_sent(r, rows, n, rc, &res, &err, pc.journaled);
	else
		again = unknown(r, rows, n, p, rc, &res, &err, attempt);
	kl_created_list_free(&pc.created);
	kl_api_res_free(&res);
	free(rid);
	free(rids);
	free(at);
	return again;
}

/* The payload of rows; NULL when it cannot go as it is: a row it refused is
 * rejected (the others go without it), or r->stop is set. */
static struct kl_payload *make_payload(struct run *r, struct row **rows, size_t n)
{
	struct kl_err err = {0};
	struct kl_payload *p = kl_payload_new();
	if (!p) {
		r->stop = KL_EOSERR;
		return NULL;
	}
	long long now = (long long)time(NULL);
	for (size_t i = 0; i < n; i++) {
		char rid[24];
		snprintf(rid, sizeof rid, "%ld", rows[i]->n);
		int rc = kl_payload_add(p, &rows[i]->lead, &r->acct, rid, now, imp_row_label, &rows[i]->label,
					&err);
		if (rc == KL_EOSERR) {
			r->stop = rc;
		} else if (rc) {
			imp_row_set_error(rows[i], ROW_REJECTED, err.msg);
		}
	}
	if (r->stop || kl_payload_count(p) != n) {
		kl_payload_free(p);
		return NULL;
	}
	return p;
}

/* Sends rows (all pending) until each is created, rejected or failed. */
static void send_rows(struct run *r, struct row **rows, size_t n)
{
	int attempt = 0;
	while ((n = keep_pending(rows, n)) > 0 && !r->stop) {
		struct kl_err err = {0};
		struct kl_payload *p = make_payload(r, rows, n);
		char *body = NULL;
		if (!p)
			continue; /* rejected rows drop out above; a stop ends the loop */
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
		bool again = post(r, rows, n, p, body, &attempt);
		free(body);
		kl_payload_free(p);
		if (imp_report_decided(r) && !r->stop)
			r->stop = KL_EIO;
		if (!again)
			return;
	}
}

int imp_send_batch(struct run *r)
{
	struct row **pending = calloc(r->nrows ? r->nrows : 1, sizeof *pending);
	size_t n = 0;
	if (!pending)
		return KL_EOSERR;
	for (size_t i = 0; i < r->nrows; i++)
		if (r->rows[i].status == ROW_PENDING)
			pending[n++] = &r->rows[i];
	if (n && !r->stop)
		send_rows(r, pending, n);
	free(pending);
	return KL_OK;
}
