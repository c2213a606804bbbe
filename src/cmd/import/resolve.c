/* What became of rows whose request's outcome is unknown (no answer, a 5xx
 * but 503, an answer that cannot be read): they are looked for among
 * Kommo's Incoming leads by their source_uids (kl_unsorted), never guessed.
 * Found: created, with Kommo's ids. Not found after the grace: the caller
 * sends them again, flagged possibly_duplicated. The same lookup settles,
 * before a --state rerun sends anything, the rows an earlier run sent
 * without recording an answer. */
#include <stdlib.h>
#include <string.h>

#include "import_int.h"
#include "kommo/kl_unsorted.h"

/* As long again as the timeout: a request Kommo was still carrying out when
 * its answer was lost has that long to land. */
static double grace(const struct run *r)
{
	return (r->o->timeout_ms > 0 ? (double)r->o->timeout_ms : 30000.0) / 1000.0;
}

/* The oldest created_at the rows were sent with: Kommo lists Incoming leads
 * newest first by the created_at each was sent with, and a row is matched
 * by its own, so nothing older need be read. */
static long long since(struct row **rows, size_t n)
{
	long long oldest = 0;
	for (size_t i = 0; i < n; i++)
		if (!oldest || rows[i]->lead.created_at < oldest)
			oldest = rows[i]->lead.created_at;
	return oldest > 0 ? oldest : 1;
}

/* A row found among Incoming leads: created (why: how its answer was lost). */
static void found(struct run *r, struct row *w, const struct kl_unsorted_hit *h, const char *why)
{
	struct kl_err err = {0};
	if (!h->lead_id) {
		char msg[1300];
		snprintf(msg, sizeof msg,
			 "%s; it is in Kommo's Incoming leads, so it was created, but its ids cannot be read there either: do not import it again",
			 why);
		imp_row_set_error(w, ROW_FAILED, msg);
		return;
	}
	w->status = ROW_CREATED;
	w->lead_id = h->lead_id;
	w->contact_id = h->contact_id;
	if (r->journal && kl_journal_created(r->journal, w->key, w->lead_id, w->contact_id, &err))
		r->stop = KL_EOSERR;
}

int imp_resolve(struct run *r, struct row **rows, size_t n, const char *why, bool *looked)
{
	struct kl_err err = {0};
	struct kl_unsorted_hit *hits = calloc(n ? n : 1, sizeof *hits);
	*looked = false;
	if (!hits)
		return KL_EOSERR;
	for (size_t i = 0; i < n; i++) {
		hits[i].source_uid = rows[i]->lead.v[KL_ATTR_SOURCE_UID];
		hits[i].created_at = rows[i]->lead.created_at;
	}
	int rc = kl_unsorted_resolve(&r->api, (long long)r->acct.pipeline_id, since(rows, n), grace(r), hits, n, &err);
	if (rc == KL_OK) {
		*looked = true;
		size_t got = 0;
		for (size_t i = 0; i < n; i++)
			if (hits[i].found) {
				found(r, rows[i], &hits[i], why);
				got++;
			}
		if (got && r->journal && kl_journal_sync(r->journal, &err) && !r->stop)
			r->stop = KL_EIO;
		if (r->o->verbose)
			kl_io_say(r->io, "rows %ld-%ld: %zu of %zu found in Incoming leads", rows[0]->n, rows[n - 1]->n,
				  got, n);
	} else if (!kl_interrupted) {
		kl_io_say(r->io, "looking for rows %ld-%ld in Kommo's Incoming leads failed: %s", rows[0]->n,
			  rows[n - 1]->n, err.msg);
	}
	free(hits);
	return rc == KL_EOSERR ? rc : KL_OK;
}

/* --- a --state rerun ----------------------------------------------------------- */

struct pending {
	char (*keys)[KL_JOURNAL_KEY];
	char **uids;
	size_t n, cap;
};

static int collect(void *ctx, const char *key, const char *uid, bool maybe_dup, struct kl_err *err)
{
	struct pending *p = ctx;
	(void)maybe_dup;
	if (!uid) /* damaged: its uid is lost, nothing to look for */
		return KL_OK;
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 64;
		void *k = realloc(p->keys, cap * sizeof *p->keys), *u = k ? realloc(p->uids, cap * sizeof *p->uids) : NULL;
		if (k)
			p->keys = k;
		if (!u)
			return kl_err_oom(err);
		p->uids = u;
		p->cap = cap;
	}
	if (!(p->uids[p->n] = strdup(uid)))
		return kl_err_oom(err);
	memcpy(p->keys[p->n++], key, KL_JOURNAL_KEY);
	return KL_OK;
}

/* Records as created the unanswered rows that Incoming leads holds. */
static int settle(struct run *r, struct pending *p, struct kl_err *err)
{
	struct kl_unsorted_hit *hits = calloc(p->n, sizeof *hits);
	size_t got = 0;
	if (!hits)
		return kl_err_oom(err);
	for (size_t i = 0; i < p->n; i++)
		hits[i].source_uid = p->uids[i];
	/* sent by an earlier run, when is not on record: the whole list is read */
	int rc = kl_unsorted_find(&r->api, (long long)r->acct.pipeline_id, 0, hits, p->n, err);
	for (size_t i = 0; rc == KL_OK && i < p->n; i++)
		if (hits[i].found && hits[i].lead_id) {
			rc = kl_journal_created(r->journal, p->keys[i], hits[i].lead_id, hits[i].contact_id, err);
			got++;
		}
	if (rc == KL_OK && got)
		rc = kl_journal_sync(r->journal, err);
	if (rc == KL_OK)
		kl_io_say(r->io, "--state %s: %zu of %zu %s sent without a recorded answer %s in Incoming leads: created; the rest go again, flagged possibly_duplicated",
			  r->o->state, got, p->n, p->n == 1 ? "row" : "rows", got == 1 ? "is" : "are");
	free(hits);
	return rc;
}

int imp_resolve_unanswered(struct run *r)
{
	struct kl_err err = {0};
	struct pending p = {0};
	int rc = kl_journal_unanswered(r->journal, collect, &p, &err);
	if (rc == KL_OK && p.n)
		rc = settle(r, &p, &err);
	if (rc && rc != KL_EOSERR)
		kl_io_say(r->io, "--state %s: looking for the rows sent without a recorded answer in Kommo's Incoming leads failed: %s; they go again, flagged possibly_duplicated",
			  r->o->state, err.msg);
	for (size_t i = 0; i < p.n; i++)
		free(p.uids[i]);
	free(p.uids);
	free(p.keys);
	return rc == KL_EOSERR ? rc : KL_OK;
}
