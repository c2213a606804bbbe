/*
 * The import command's own parts, shared by its files and by nothing else:
 *
 *   rows.c    a CSV record becomes a row (a lead, or the reason it is not one)
 *   send.c    a batch of rows goes to Kommo: requests, retries, halving, the journal
 *   output.c  what is printed per row, the rejects file, progress, the summary
 *   run.c     kl_import_run: set-up, the read loop, signals, the end
 *   input.c   the input, CSV or JSON Lines, as kl_csv records
 *
 * A row lives in run.rows from the moment it is read until it is reported:
 * imp_report_decided prints and frees the rows at the head of the batch as
 * soon as each is decided, imp_report_batch the rest. Every row read ends
 * in exactly one place: created (stdout, the journal), or the rejects file
 * (with --state, only the rejected rows: the rerun sends the others). Names here start with
 * imp_ so that they cannot clash with any module's exports.
 */
#ifndef KL_IMPORT_INT_H
#define KL_IMPORT_INT_H

#include <stdbool.h>
#include <stdio.h>

#include "cmd/kl_crm.h"
#include "cmd/kl_import.h"
#include "core/kl_columns.h"
#include "core/kl_csv.h"
#include "core/kl_journal.h"
#include "core/kl_jsonl.h"
#include "kommo/kl_api.h"
#include "shared/kl_interrupt.h"
#include "shared/kl_session.h"

/* ROW_NOT_SENT: the run stopped before the row's request; ROW_DONE: the
 * row was reported and its slot freed (never pending again for send.c). */
enum row_status { ROW_PENDING, ROW_CREATED, ROW_REJECTED, ROW_FAILED, ROW_CHECKED, ROW_SKIPPED,
		  ROW_NOT_SENT, ROW_DONE };

struct label_ctx {
	const struct kl_columns *cols;
	const struct kl_lead *defaults; /* the values given on the command line */
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
	struct kl_api api;   /* every request: the batches and --skip-existing's searches */
	bool online;         /* api is open (not --dry-run) */
	unsigned batch;      /* rows a batch holds now: --batch-size, or auto's current size */
	size_t held;         /* bytes of raw fields the batch holds for --rejects */
	bool shrunk;         /* auto: Kommo once found a batch too heavy; grow slowly since */
	struct kl_columns cols;
	struct kl_csv *csv;     /* the input: csv or jsonl */
	struct kl_jsonl *jsonl;
	FILE *in;
	const char *in_name;
	unsigned long long in_size; /* 0 when unknown (a pipe) */
	struct kl_csv_writer *rejects;
	struct kl_csv_writer *results; /* --results */
	unsigned long long res_rows;   /* rows meant for --results, the first of them, why writing failed */
	long res_first;
	int res_errno;
	struct kl_journal *journal;
	bool add_uid; /* the rejects file gets a source_uid column: retries keep their uid */

	struct row *rows; /* the current batch, in input order */
	size_t nrows, cap, nvalid;
	size_t reported; /* rows[0..reported) are reported and freed (ROW_DONE) */

	unsigned long long read, created, rejected, failed, skipped, dups, not_sent, checked;
	unsigned long long unsure; /* failed rows that may be in Kommo all the same (possibly duplicated) */
	unsigned long long flagged; /* rows printed possibly_duplicated, whatever their status */
	long last_row; /* the last row read (taken into a batch or only drained) */
	long first_not_sent; /* 0: none */
	unsigned long long drained; /* not sent, read only to be accounted for */
	long partial_row; /* with --state: the last row, left without its line end */
	bool out_failed; /* writing stdout failed: nothing more goes there */
	/* rows meant for --rejects, the first of them, and why writing failed (0: it did not) */
	unsigned long long rej_rows;
	long rej_first;
	int rej_errno;
	int stop;             /* an exit status that ends the run early, or 0 */
	bool progress;
	double t0;
};

/* The most bytes of raw fields a batch holds before it is sent early. */
#define IMP_MAX_HELD (8u * 1024u * 1024u)

/* SIGINT and SIGTERM during kl_import_run count in kl_interrupted (1: the
 * request in flight is finished, nothing new is sent; 2: stop now). */

/* --- input.c --- */

/* Opens r->in as --format says (auto: by FILE's extension), CSV with its
 * delimiter guessed. */
int imp_input_open(struct run *r, struct kl_err *err);
bool imp_input_opened(const struct run *r);
/* As kl_csv_next and kl_csv_next_buffered, whichever the input is. */
int imp_input_next(struct run *r, const struct kl_csv_record **rec, struct kl_err *err);
int imp_input_next_buffered(struct run *r, const struct kl_csv_record **rec);
/* The row's key in the journal (kl_journal_row_key): for JSON Lines, made
 * from its keys and values, whatever the columns other lines brought. */
int imp_input_row_key(struct run *r, const struct kl_csv_record *rec, char key[KL_JOURNAL_KEY], struct kl_err *err);
/* The dialect of the rejects and results files of a CSV input. */
char imp_input_delimiter(const struct run *r);
enum kl_csv_encoding imp_input_encoding(const struct run *r);
unsigned long long imp_input_offset(const struct run *r); /* for progress */
size_t imp_input_buffered(const struct run *r);           /* records read ahead, in that offset */
void imp_input_free(struct run *r);

/* --- rows.c --- */

/* How messages name a row's values: "row 12, column "phone"" (ctx: a label_ctx). */
void imp_row_label(void *ctx, enum kl_attr a, char *buf, size_t size);

/* Sets the row's status and its reason (replacing any earlier one). */
void imp_row_set_error(struct row *w, enum row_status st, const char *msg);

/* Rejects the row, adding msg to the reasons it already has. */
void imp_row_add_error(struct row *w, const char *msg);

void imp_row_free(struct row *w);

/* Takes a record into the batch. A row that cannot be prepared is failed
 * with its reason, and the status says why the run must stop. */
int imp_take_row(struct run *r, const struct kl_csv_record *rec, struct kl_err *err);

/* --- send.c --- */

/* Sends the batch's pending rows (or prints their payload with --dry-run)
 * until each is created, rejected or failed; r->stop says when the run
 * must end. Only KL_EOSERR is returned. */
int imp_send_batch(struct run *r);

/* --- resolve.c --- */

/* Looks for rows (pending, their request's outcome unknown: why says how)
 * among Kommo's Incoming leads, now and after a grace; those found are
 * created, with ids and on the journal. *looked: the lookup worked (the
 * rows still pending are surely not there). Only KL_EOSERR is returned. */
int imp_resolve(struct run *r, struct row **rows, size_t n, const char *why, bool *looked);

/* Before a --state rerun sends anything: the rows the journal holds as
 * sent without an answer that Incoming leads holds are recorded created.
 * A failed lookup is told, and leaves them to be sent again, flagged. Only
 * KL_EOSERR is returned. */
int imp_resolve_unanswered(struct run *r);

/* --- output.c --- */

/* Opens --rejects with the input's header (names) and the columns it adds. */
int imp_rejects_open(struct run *r, char **names, size_t n, struct kl_err *err);

/* Refuses (KL_EUSAGE) a --rejects or --results naming the input (also as
 * standard input) or the --state file, or both naming one file: each is
 * replaced at the end. Call before any of them is written to. */
int imp_rejects_check(struct run *r, struct kl_err *err);

/* Closes an output file (--rejects, --results) the run writes: kept when
 * commit, else discarded; a failed write (e, or the close's) is said,
 * naming how many rows (the first one) it does not hold, and turns a
 * status that claims success or a known outcome into KL_EIO. */
int imp_file_close(struct run *r, struct kl_csv_writer **w, const char *flag, const char *path, int e,
		   unsigned long long rows, long first, const char *meant, bool commit, int rc);

/* Puts --rejects in place when the run got to its rows (commit), else
 * leaves an existing file as it was. A failed write is said, naming the
 * rows it leaves unrecorded, and makes rc KL_EIO. Returns the run's rc. */
int imp_rejects_close(struct run *r, bool commit, int rc);

/* Reports a record never taken into a batch as not sent (why): counted,
 * printed, and written to --rejects (not with --state). */
void imp_report_unsent(struct run *r, const struct kl_csv_record *rec, const char *why);

/* Counts and prints every row of the batch in input order, writes the
 * rejected, failed and not sent ones to --rejects, and empties the batch;
 * a row still pending is not sent. */
int imp_report_batch(struct run *r);

/* Reports, as imp_report_batch does, the rows at the head of the batch
 * whose outcome is known (up to the first still pending), so that a row is
 * printed as soon as its outcome is: called after every request. */
int imp_report_decided(struct run *r);

/* "created", "rejected", ...: a row's status as printed. */
const char *imp_status_name(enum row_status s);

/* A row's outcome as --json prints it, and --results writes it for JSON
 * Lines: {"row", "status", "lead_id", ...}. NULL when memory ran out. */
struct cJSON *imp_row_json(const struct row *w);

/* --- results.c --- */

/* Opens --results, in the input's dialect, with its header. */
int imp_results_open(struct run *r, struct kl_err *err);

/* Writes a decided row's outcome to --results (when given). After a failed
 * write nothing more is tried; the rows are still counted for the end. */
void imp_results_row(struct run *r, const struct row *w);

/* As imp_rejects_close, for --results. */
int imp_results_close(struct run *r, bool commit, int rc);

/* The progress line on a terminal; last ends it. */
void imp_show_progress(struct run *r, bool last);

/* What a person is told when the run ends with rc: the progress line's
 * end, where reading stopped (unless at_end), why (when rc is not 0), the
 * summary, and how to import what failed. */
void imp_say_end(struct run *r, int rc, bool at_end, const char *why);

/* With --json, the run's last line on stdout: {"summary": true, the counts,
 * requests, retries, seconds, exit_code} (rc: the run's exit status). A
 * failed write makes an otherwise clean rc KL_EIO. Returns the run's rc. */
int imp_print_summary(struct run *r, int rc);

#endif
