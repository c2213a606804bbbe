/* kl_import_run: the run that ties rows, sending and output together:
 * set-up, the read loop, signals, and the end. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/kl_check.h"
#include "import_int.h"
#include "kommo/kl_payload.h"

/* A value the lead needs a field id for that is not configured stops the run
 * before anything is sent, rather than at the first row that has one. */
static int check_field_ids(struct run *r, struct kl_err *err)
{
	for (int a = 0; a < KL_ATTR_COUNT; a++) {
		const struct kl_attr_info *ai = kl_attr_info(a);
		if (!kl_attr_needs_id(&r->acct, a))
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
		if (!((*names)[(*n)++] = strndup(s, len)))
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
		rc = imp_input_next(r, &rec, err);
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
			if (!(names[n] = strndup(rec->field[n], rec->len[n]))) {
				rc = KL_EOSERR;
				goto out;
			}
	}
	rc = kl_columns_map(&r->cols, (const char *const *)names, n, r->o->maps, r->o->nmaps,
			    r->o->ignore_unknown, err);
	if (rc == KL_OK && r->o->rejects)
		rc = imp_rejects_open(r, names, n, err);
	if (rc == KL_OK)
		rc = imp_results_open(r, err);
out:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (rc == KL_EOSERR)
		kl_err_oom(err);
	return rc;
}

static bool reads_stdin(const struct kl_opts *o)
{
	return !o->input || strcmp(o->input, "-") == 0;
}

/* The input: a file, or standard input for none or "-". */
static int open_input(struct run *r, struct kl_err *err)
{
	const char *path = r->o->input;
	r->in_name = reads_stdin(r->o) ? "standard input" : path;
	if (reads_stdin(r->o)) {
		r->in = stdin;
		/* a person may not know that the import waits for them */
		if (isatty(fileno(stdin)))
			kl_io_say(r->io, "reading rows from standard input (end with Ctrl-D)");
		return KL_OK;
	}
	if (!(r->in = fopen(path, "rb")))
		return kl_err_set(err, KL_ENOINPUT, "%s: cannot open: %s", path, strerror(errno));
	struct stat st;
	if (fstat(fileno(r->in), &st) == 0 && S_ISREG(st.st_mode))
		r->in_size = (unsigned long long)st.st_size;
	return KL_OK;
}

/* The client every request goes through: the batches and --skip-existing's searches. */
static int open_api(struct run *r, const struct kl_config *cfg, struct kl_err *err)
{
	int rc = kl_session_open(r->o, r->io, cfg, &r->acct, r->o->rate, r->o->max_retries, &r->api, err);
	if (rc)
		return rc;
	r->api.stop = &kl_interrupted;
	r->api.in_flight = &kl_in_flight;
	r->online = true;
	return KL_OK;
}

/* What opening the state file found that a person should know. */
static void say_journal_health(struct run *r)
{
	struct kl_journal_health h;
	kl_journal_health(r->journal, &h);
	if (h.converted)
		kl_io_say(r->io, "--state %s: converted from the earlier text format%s", r->o->state,
			  h.legacy_bad_lines ? "" : " (every line read)");
	if (h.legacy_bad_lines)
		kl_io_say(r->io, "--state %s: %zu %s of the earlier format could not be read (the first is line %ld) and %s left out: a row recorded only there is sent as new",
			  r->o->state, h.legacy_bad_lines, h.legacy_bad_lines == 1 ? "line" : "lines", h.first_bad_line,
			  h.legacy_bad_lines == 1 ? "was" : "were");
	if (h.damaged)
		kl_io_say(r->io, "--state %s: %zu damaged %s (the first with key %s) %s not trusted: %s taken as possibly sent, and flagged possibly_duplicated if sent again",
			  r->o->state, h.damaged, h.damaged == 1 ? "record" : "records", h.first_damaged,
			  h.damaged == 1 ? "is" : "are", h.damaged == 1 ? "its row is" : "their rows are");
}

/* Everything before the first row: the configuration, the input and its
 * header, the journal, the transport, and room for a batch. */
static int set_up(struct run *r, struct kl_config *cfg, struct kl_err *err)
{
	const struct kl_opts *o = r->o;
	int rc;

	if ((rc = kl_session_load_config(o, r->io, cfg, err)) ||
	    (rc = kl_config_resolve(cfg, !o->dry_run, &r->acct, err)))
		return rc;
	/* 7.x still starts 7 requests a window (floor), as the default does */
	if (!o->dry_run && o->rate == 0 && !kl_check_url_is_loopback(r->acct.base_url))
		kl_io_say(r->io, "warning: --rate 0 sends without a limit, above Kommo's limit of 7 requests a second: expect 429s, and an account that keeps sending through them can be blocked (403)");
	else if (!o->dry_run && o->rate >= 8 && !kl_check_url_is_loopback(r->acct.base_url))
		kl_io_say(r->io, "warning: --rate %g is above Kommo's limit of 7 requests a second for an account: kommo-lead keeps to 7", o->rate);
	if ((rc = open_input(r, err)) || (rc = imp_rejects_check(r, err)))
		return rc;
	if (o->state && (rc = kl_journal_open(&r->journal, o->state, err)))
		return rc;
	if (r->journal)
		say_journal_health(r);
	if ((rc = imp_input_open(r, err)))
		return rc;
	if ((rc = read_header(r, err)) || (rc = check_field_ids(r, err)))
		return rc;
	if (!o->dry_run && (rc = open_api(r, cfg, err)))
		return rc;
	/* what an earlier run sent without an answer is looked for before anything goes */
	if (r->journal && r->online && (rc = imp_resolve_unanswered(r)))
		return kl_err_oom(err);
	r->progress = o->progress == 1 || (o->progress == -1 && isatty(fileno(r->io->msg)));
	/* auto starts at Kommo's recommended 50 and grows up to its limit of 250 */
	r->batch = o->batch_size ? o->batch_size : 50;
	r->cap = (size_t)(o->batch_size ? o->batch_size : 250) * 4;
	if (!(r->rows = calloc(r->cap, sizeof *r->rows)))
		return kl_err_oom(err);
	return KL_OK;
}

/* Sends the batch, then reports every row of it in input order. Once the
 * run must end, nothing more is sent: the rows still pending are not sent. */
static int flush(struct run *r)
{
	int rc = r->stop || kl_interrupted ? KL_OK : imp_send_batch(r);
	return rc ? rc : imp_report_batch(r);
}

/* Takes a record into the batch, reports at once the rows decided at its
 * head (so that rows rejected as they are read are not held), and sends
 * the batch when it is full. */
static int take(struct run *r, const struct kl_csv_record *rec, struct kl_err *err)
{
	int rc;
	if (!rec->line_end) {
		if (r->journal) {
			/* a file still being written: the rerun reads the whole line */
			r->partial_row = rec->row;
			return KL_OK;
		}
		kl_io_say(r->io, "warning: row %ld has no line end: if another program is still writing %s, it is imported incomplete",
			  rec->row, r->in_name);
	}
	if ((rc = imp_take_row(r, rec, err)))
		return rc;
	if (r->rows[r->nrows - 1].status == ROW_PENDING)
		r->nvalid++;
	/* --dry-run prints the batch before the rows rejected in it */
	if (!r->o->dry_run)
		imp_report_decided(r);
	/* a batch is sent when full, or when the rows it holds for --rejects
	 * grow large (rows rejected behind a pending one wait for it) */
	if (r->nvalid >= r->batch || r->nrows == r->cap || r->held > IMP_MAX_HELD) {
		if ((rc = flush(r)) && rc != KL_EIO)
			return rc;
		imp_show_progress(r, false);
	}
	if (r->out_failed && !r->stop)
		r->stop = KL_EIO; /* said where it failed; the rest still goes to --rejects */
	return KL_OK;
}

/* The run stopped: the rows not taken still end somewhere. With --state the
 * rerun reads the input again, so only the rows already taken from it (a
 * pipe cannot give them again) are reported; otherwise the rest of the
 * input is read, a row at a time, each printed not sent and written to
 * --rejects (a terminal is not waited on, nor a pipe after a second signal:
 * a file never makes anyone wait). *at_end: the whole input was read. */
static void drain(struct run *r, bool *at_end)
{
	const char *why = kl_interrupted ? "not sent: the import was interrupted"
					  : "not sent: the import stopped before this row";
	bool all = !r->journal && !isatty(fileno(r->in)), file = r->in_size > 0;
	const struct kl_csv_record *rec;
	struct kl_err err = {0};
	int got;
	for (;;) {
		/* after a second signal nothing more is waited for: what was read is reported */
		all = all && (file || kl_interrupted < KL_HTTP_STOP_NOW);
		if ((got = all ? imp_input_next(r, &rec, &err) : imp_input_next_buffered(r, &rec)) != 1)
			break;
		if (!rec->line_end && r->journal) {
			r->partial_row = rec->row;
			continue;
		}
		r->read++;
		r->drained++;
		r->last_row = rec->row;
		imp_report_unsent(r, rec, why);
	}
	/* the reader met the input's end before the rows it holds ran out */
	*at_end = got == 0 && (all || feof(r->in));
	if (all && got != 0)
		kl_io_say(r->io, "%s: the rows after it are neither sent nor in a rejects file", err.msg);
}

/* Reads the input in batches, each sent and reported before the next is
 * read, until it ends, a signal comes or the run must stop. *at_end: the
 * whole input was read. Returns the run's exit status. */
static int read_rows(struct run *r, bool *at_end, struct kl_err *err)
{
	const struct kl_csv_record *rec;
	int got = 1, rc;
	while (!r->stop && !kl_interrupted && (got = imp_input_next(r, &rec, err)) == 1)
		if ((rc = take(r, rec, err)))
			return rc;
	*at_end = got == 0;
	if (!r->stop && !kl_interrupted && got != 0) {
		/* the input broke off: what was read is sent, then the reason is told */
		flush(r);
		return got;
	}
	if ((rc = flush(r)) && rc != KL_EIO)
		return rc;
	if (r->out_failed && !r->stop)
		r->stop = KL_EIO;
	if (r->stop || kl_interrupted)
		drain(r, at_end);
	/* a signal during the last request, which then did all there was to do,
	 * leaves nothing to run again: the exit status is the rows' */
	bool all_done = *at_end && !r->stop && !r->failed && !r->not_sent;
	if (kl_interrupted && !all_done)
		return kl_err_set(err, KL_ETEMPFAIL, "interrupted: every row read is reported above");
	return r->stop ? r->stop : r->failed || r->not_sent ? KL_ETEMPFAIL : r->rejected ? KL_EDATA : KL_OK;
}

int kl_import_run(const struct kl_opts *o, const struct kl_io *io)
{
	struct kl_err err = {0};
	struct kl_config cfg = {0};
	struct run r = {.o = o, .io = io};
	struct kl_interrupt sig;
	bool at_end = false; /* the whole input was read */
	int rc;

	r.t0 = kl_rate_now();
	/* a read from a terminal is not restarted: Ctrl-C ends the wait for rows */
	kl_interrupt_begin(&sig, !(reads_stdin(o) && isatty(STDIN_FILENO)));

	bool reading = (rc = set_up(&r, &cfg, &err)) == KL_OK;
	if (!reading && kl_interrupted) /* a read from a terminal, cut short: no failure of its own */
		rc = kl_err_set(&err, KL_ETEMPFAIL, "interrupted before the first row: nothing was sent");
	if (reading)
		rc = read_rows(&r, &at_end, &err);
	if (r.nrows)
		imp_report_batch(&r); /* an error stopped the run: what is held is not sent */
	imp_say_end(&r, rc, at_end, err.msg);
	free(r.rows);
	/* a run that never got to its rows leaves the last run's file as it was */
	rc = imp_rejects_close(&r, reading, rc);
	rc = imp_results_close(&r, reading, rc);
	rc = imp_print_summary(&r, rc);
	imp_input_free(&r);
	if (r.in && r.in != stdin)
		fclose(r.in);
	kl_columns_free(&r.cols);
	kl_journal_close(r.journal);
	kl_api_close(&r.api);
	kl_account_free(&r.acct);
	kl_config_free(&cfg);
	kl_interrupt_end(&sig);
	return rc;
}
