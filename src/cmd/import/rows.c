/* A CSV record becomes a row: the defaults, the row's own values, checked. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/kl_check.h"
#include "import_int.h"
#include "util/kl_time.h"

/* The input's column that holds a's values, or NULL. */
static const char *column_of(const struct kl_columns *cols, enum kl_attr a)
{
	for (size_t i = 0; i < cols->n; i++)
		if (cols->col[i].kind == KL_COL_ATTR && cols->col[i].attr == a)
			return cols->col[i].name;
	return NULL;
}

/* How messages name a row's values by where they came from: "row 12,
 * column "phone"", a default given on the command line, a value
 * kommo-lead made, or one that nothing gives. */
void imp_row_label(void *ctx, enum kl_attr a, char *buf, size_t size)
{
	const struct label_ctx *l = ctx;
	const struct kl_attr_info *ai = kl_attr_info(a);
	const char *col = column_of(l->cols, a), *name = column_of(l->cols, KL_ATTR_NAME);
	if (col)
		snprintf(buf, size, "row %ld, column \"%s\"", l->row, col);
	else if (l->defaults->v[a])
		snprintf(buf, size, "row %ld, %s (the default given on the command line)", l->row, ai->flag);
	else if (a == KL_ATTR_LEAD_NAME && name) /* the payload makes it of the contact's name */
		snprintf(buf, size, "row %ld, the lead's name (made from column \"%s\")", l->row, name);
	else if (a == KL_ATTR_LEAD_NAME)
		snprintf(buf, size, "row %ld, the lead's name (made from --name)", l->row);
	else if (a == KL_ATTR_SOURCE_UID)
		snprintf(buf, size, "row %ld, the source_uid kommo-lead made for it", l->row);
	else
		snprintf(buf, size, "row %ld, %s (the input has no such column, and %s was not given)", l->row,
			 ai->name, ai->flag);
}

void imp_row_free(struct row *w)
{
	kl_lead_free(&w->lead);
	free(w->raw); /* one block: the pointers and the fields after them */
	free(w->error);
	memset(w, 0, sizeof *w);
}

void imp_row_set_error(struct row *w, enum row_status st, const char *msg)
{
	char *e = strdup(msg);
	if (e) { /* out of memory here only loses the reason, not the row's status */
		free(w->error);
		w->error = e;
	}
	w->status = st;
}

void imp_row_add_error(struct row *w, const char *msg)
{
	char *e = w->error ? kl_str_printf("%s; %s", w->error, msg) : strdup(msg);
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

/* The fields as read, for --rejects. */
/* The fields as read, for --rejects, in one block (a row of many tiny
 * fields costs its bytes and a pointer each, not an allocation each); the
 * run counts what it holds. */
static int keep_raw(struct run *r, struct row *w, const struct kl_csv_record *rec)
{
	size_t n = rec->nfields, bytes = n * sizeof *w->raw;
	for (size_t i = 0; i < n; i++)
		bytes += rec->len[i] + 1;
	if (!(w->raw = malloc(bytes ? bytes : 1)))
		return KL_EOSERR;
	char *p = (char *)(w->raw + n);
	for (size_t i = 0; i < n; i++) {
		w->raw[i] = p;
		memcpy(p, rec->field[i], rec->len[i]);
		p[rec->len[i]] = '\0';
		/* a NUL read in a field would end it early in the rejects file and
		 * lose what follows: it is written as '?' (as a byte JSON cannot hold is) */
		for (char *z = memchr(p, '\0', rec->len[i]); z; z = memchr(z, '\0', (size_t)(p + rec->len[i] - z)))
			*z = '?';
		p += rec->len[i] + 1;
	}
	w->nraw = n;
	r->held += bytes;
	return KL_OK;
}

/* The row's own values over the defaults. *reject (with err) when a value
 * is refused; the status is for what must stop the run. */
static int take_values(struct run *r, struct row *w, const struct kl_csv_record *rec, bool *reject,
		       struct kl_err *err)
{
	char what[300];
	int rc;

	for (size_t i = 0; i < rec->nfields; i++) {
		const struct kl_column *c = &r->cols.col[i];
		const char *v = rec->field[i];
		if (c->kind == KL_COL_IGNORED)
			continue;
		if (c->kind != KL_COL_ATTR)
			snprintf(what, sizeof what, "row %ld, column \"%s\"", rec->row, c->name);
		if (strlen(v) != rec->len[i]) {
			snprintf(what, sizeof what, "row %ld, column \"%s\"", rec->row, c->name);
			kl_err_set(err, KL_EDATA, "%s: contains a NUL byte", what);
			*reject = true;
			return KL_OK;
		}
		if (v[strspn(v, " \t")] == '\0')
			continue; /* an empty cell: the default, if any, stands */
		switch (c->kind) {
		case KL_COL_ATTR: {
			if (kl_attr_info(c->attr)->kind == KL_KIND_TAGS) {
				/* a row's tags add to --tag's: those mark the whole import */
				snprintf(what, sizeof what, "row %ld, column \"%s\"", rec->row, c->name);
				rc = kl_lead_set(&w->lead, c->attr, v, what, err);
				if (rc == KL_EOSERR)
					return rc;
				*reject = rc != KL_OK;
				break;
			}
			char *copy = strdup(v);
			if (!copy)
				return KL_EOSERR;
			free(w->lead.v[c->attr]);
			w->lead.v[c->attr] = copy;
			break;
		}
		case KL_COL_CUSTOM: {
			char *spec = kl_str_printf("%s=%s", c->spec, v);
			drop_default_field(&w->lead, c->spec);
			rc = spec ? kl_lead_add_field_spec(&w->lead, spec, what, err) : KL_EOSERR;
			free(spec);
			if (rc == KL_EOSERR)
				return rc;
			*reject = rc != KL_OK;
			break;
		}
		case KL_COL_CREATED_AT:
			*reject = kl_check_time(what, v, &w->lead.created_at, err) != KL_OK;
			break;
		case KL_COL_IGNORED:
			break;
		}
		if (*reject)
			return KL_OK;
	}
	return KL_OK;
}

/* Fills a row from a record: defaults, then the row's own values, checked. */
static int fill_row(struct run *r, struct row *w, const struct kl_csv_record *rec)
{
	struct kl_err err = {0};
	bool reject = false;
	int rc;

	w->n = rec->row;
	w->label = (struct label_ctx){&r->cols, &r->o->lead, rec->row};
	if (r->rejects && (rc = keep_raw(r, w, rec)))
		return rc;
	if (rec->error) {
		imp_row_set_error(w, ROW_REJECTED, rec->error);
		return KL_OK;
	}
	if (rec->nfields > r->cols.n) {
		char what[300];
		snprintf(what, sizeof what, "row %ld has %zu fields, the header has %zu: a delimiter inside a value that is not quoted?",
			 rec->row, rec->nfields, r->cols.n);
		imp_row_set_error(w, ROW_REJECTED, what);
		return KL_OK;
	}
	const struct kl_journal_entry *done = NULL;
	if (r->journal) {
		if ((rc = imp_input_row_key(r, rec, w->key, &err)))
			return rc;
		done = kl_journal_find(r->journal, w->key);
	}
	if ((rc = kl_lead_copy(&w->lead, &r->o->lead, &err)))
		return rc;
	if (done && done->created) { /* an earlier run created it: nothing to send */
		w->status = ROW_SKIPPED;
		w->lead_id = done->lead_id;
		w->contact_id = done->contact_id;
		w->maybe_dup = done->maybe_dup; /* a flag once set is shown on every rerun */
		free(w->lead.v[KL_ATTR_SOURCE_UID]);
		w->lead.v[KL_ATTR_SOURCE_UID] = done->uid ? strdup(done->uid) : NULL;
		return KL_OK;
	}
	if ((rc = take_values(r, w, rec, &reject, &err)))
		return rc;
	if (reject)
		goto reject;
	if ((rc = kl_lead_check_account(&w->lead, &r->acct, imp_row_label, &w->label, &err)) == KL_EOSERR)
		return rc;
	if (rc)
		goto reject;
	/* fixed now, so a retried request carries the very same body */
	if (!w->lead.created_at)
		w->lead.created_at = (long long)time(NULL);
	if (done && done->uid && !w->lead.v[KL_ATTR_SOURCE_UID]) {
		/* sent before, outcome lost: the same source_uid goes again */
		if (!(w->lead.v[KL_ATTR_SOURCE_UID] = strdup(done->uid)))
			return KL_EOSERR;
	}
	/* sent before without an answer, or its record is damaged (its uid
	 * unknown: a new one goes): either way it may be in Kommo already */
	if (done)
		w->maybe_dup = true;
	char salt[32];
	snprintf(salt, sizeof salt, "row-%ld", rec->row);
	/* two rows with the same phone in one millisecond still differ */
	if ((rc = kl_lead_default_uid(&w->lead, kl_now_ms(), salt, &err)))
		return rc;
	w->status = ROW_PENDING;
	return KL_OK;
reject:
	imp_row_set_error(w, ROW_REJECTED, err.msg);
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
	imp_row_set_error(w, ROW_NOT_SENT, msg ? msg : err.msg);
	free(msg);
	if (!r->stop && !kl_interrupted) {
		/* every row needs the search: without it nothing more can go */
		kl_io_say(r->io, "stopping the import: searching Kommo's contacts failed: %s", err.msg);
		r->stop = rc;
	}
}

int imp_take_row(struct run *r, const struct kl_csv_record *rec, struct kl_err *err)
{
	struct row *w = &r->rows[r->nrows++];
	memset(w, 0, sizeof *w); /* a slot reported before is ROW_DONE, not empty */
	r->read++;
	r->last_row = rec->row;
	int rc = fill_row(r, w, rec);
	if (rc == KL_OK && w->status == ROW_PENDING && r->o->skip_existing && r->online && !kl_interrupted && !r->stop)
		skip_if_existing(r, w);
	if (rc == KL_OK)
		return KL_OK;
	imp_row_set_error(w, ROW_FAILED, rc == KL_EOSERR ? "out of memory" : "internal error");
	if (rc == KL_EOSERR)
		return kl_err_oom(err);
	return kl_err_set(err, rc, "row %ld could not be prepared; stopping", rec->row);
}
