/* --results: every row's outcome, created ones too, as `sf data import`
 * writes its success and error files, in one file a script can join back to
 * the input by row number. It is written as the rejects file is: beside
 * FILE, mode 600, renamed over it once complete; in the input's format (for
 * JSON Lines, each row's --json object). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "import_int.h"

static const char *const header[] = {"row", "status", "lead_id", "contact_id", "source_uid",
				     "possibly_duplicated", "error"};
#define NCOLS (sizeof header / sizeof header[0])

int imp_results_open(struct run *r, struct kl_err *err)
{
	if (!r->o->results)
		return KL_OK;
	enum kl_csv_encoding enc = imp_input_encoding(r) == KL_CSV_CP1251 ? KL_CSV_CP1251 : KL_CSV_UTF8;
	int rc = kl_csv_writer_open(&r->results, r->o->results, imp_input_delimiter(r), enc, err);
	if (rc)
		return kl_err_set(err, rc, "--results %.*s", (int)sizeof err->msg - 16, err->msg);
	if (r->jsonl)
		return KL_OK; /* each line names its keys */
	if (kl_csv_write_row(r->results, header, NCOLS) != 0)
		return kl_err_set(err, KL_EIO, "--results %s: cannot write: %s", r->o->results, strerror(errno));
	return KL_OK;
}

static int write_row(struct run *r, const struct row *w)
{
	if (r->jsonl) {
		cJSON *o = imp_row_json(w);
		int rc = kl_jsonl_write(r->results, o);
		cJSON_Delete(o);
		return rc;
	}
	char n[24], lead[24] = "", contact[24] = "";
	snprintf(n, sizeof n, "%ld", w->n);
	/* ids only where Kommo gave them: a skipped row's contact is the one it matched */
	bool ids = !w->existing && (w->status == ROW_CREATED || w->status == ROW_SKIPPED);
	if (ids)
		snprintf(lead, sizeof lead, "%lld", w->lead_id);
	if (ids || w->existing)
		snprintf(contact, sizeof contact, "%lld", w->contact_id);
	/* a row skipped for an existing contact sent nothing under its uid */
	const char *uid = w->existing ? NULL : w->lead.v[KL_ATTR_SOURCE_UID];
	const char *f[NCOLS] = {n, imp_status_name(w->status), lead, contact, uid ? uid : "",
				w->maybe_dup ? "true" : "false", w->error ? w->error : ""};
	return kl_csv_write_row(r->results, f, NCOLS);
}

void imp_results_row(struct run *r, const struct row *w)
{
	if (!r->results)
		return;
	if (!r->res_rows++)
		r->res_first = w->n;
	if (!r->res_errno && write_row(r, w) != 0)
		r->res_errno = errno ? errno : EIO;
}

int imp_results_close(struct run *r, bool commit, int rc)
{
	return imp_file_close(r, &r->results, "--results", r->o->results, r->res_errno, r->res_rows, r->res_first, "",
			      commit, rc);
}
