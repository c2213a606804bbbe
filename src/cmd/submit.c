#include "cmd/kl_submit.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "cmd/kl_crm.h"
#include "kommo/kl_payload.h"
#include "kommo/kl_reply.h"
#include "kommo/kl_report.h"
#include "kommo/kl_unsorted.h"
#include "shared/kl_interrupt.h"
#include "shared/kl_session.h"
#include "util/kl_time.h"

#define UNSORTED_FORMS "/api/v4/leads/unsorted/forms"

/* One lead was sent, as request_id "0": a reply that answers anything else
 * is an unknown outcome (kl_reply_match). */
static int parse_created(void *ctx, const char *body, size_t len, struct kl_err *err)
{
	static const char *const sent[] = {"0"};
	size_t at;
	int rc = kl_reply_parse_unsorted(body, len, ctx, err);
	return rc ? rc : kl_reply_match(ctx, sent, 1, &at, err);
}

/* Prints the created lead's ids (flagged when a request carrying it may
 * have landed before). */
static int print_created(const struct kl_opts *o, const struct kl_io *io, const struct kl_created *c,
			 const char *source_uid, bool maybe_dup, struct kl_err *err)
{
	struct kl_buf text = {0};
	int rc = kl_report_created(c, source_uid, maybe_dup, o->json, &text) ? kl_err_oom(err)
									       : kl_io_write(io, text.data, text.len, err);
	if (rc == KL_EIO)
		kl_err_set(err, rc,
			   "the lead was created (lead_id=%lld contact_id=%lld, source_uid %s), but the result could not be written to standard output: do not send it again",
			   c->lead_id, c->contact_id, source_uid);
	kl_buf_free(&text);
	return rc;
}

/* Seconds a request whose answer was lost is given to land before the lead
 * is looked for again: as long again as the timeout. */
static double grace_of(const struct kl_opts *o)
{
	return (o->timeout_ms > 0 ? (double)o->timeout_ms : 30000.0) / 1000.0;
}

/* The answer to the lead's request was lost (err says how): the lead is
 * looked for among Incoming leads. KL_OK with *found set when it is there;
 * else the outcome stays unknown and err says so. */
static int look_for(const struct kl_opts *o, const struct kl_io *io, struct kl_api *api,
		    const struct kl_account *acct, const char *source_uid, long long since, long status,
		    struct kl_unsorted_hit *hit, struct kl_err *err)
{
	struct kl_err lerr = {0};
	char first[sizeof err->msg];
	snprintf(first, sizeof first, "%s", err->msg);
	kl_io_say_lines(io, first);
	if (kl_unsorted_resolve(api, (long long)acct->pipeline_id, since, grace_of(o), hit, 1, &lerr) == KL_OK)
		return KL_OK;
	kl_io_say(io, "looking for the lead in Kommo's Incoming leads failed: %s", lerr.msg);
	if (status >= 200 && status < 300)
		return kl_err_set(err, err->status ? err->status : KL_EPROTOCOL,
				  "Kommo answered %ld, so the lead was probably created (source_uid %s), but its ids cannot be read",
				  status, source_uid);
	return kl_err_set(err, err->status ? err->status : KL_ETEMPFAIL,
			  "the lead may or may not have been created (source_uid %s): look in Kommo's Incoming leads before sending it again",
			  source_uid);
}

/* Sends the payload and reports what came back. An answer that is lost is
 * not a guess: the lead is looked for among Incoming leads, and sent again
 * (flagged possibly_duplicated) only when it is not there. */
static int send_payload(const struct kl_opts *o, const struct kl_io *io, struct kl_api *api,
			const struct kl_account *acct, const struct kl_payload *payload, const char *body,
			const char *source_uid, long long created_at, long long since, struct kl_err *err)
{
	bool maybe_dup = false;
	for (int tries = 0;; tries++) {
		struct kl_created_list created = {0};
		struct kl_api_res res;
		struct kl_api_req rq = {.method = "POST", .path = UNSORTED_FORMS, .body = body, .what = "the lead",
					.origin = kl_payload_origin, .origin_ctx = payload,
					/* a 429 means Kommo did nothing: the same lead goes again after the wait it asks for */
					.resend = "sending the lead again",
					.parse = parse_created, .parse_ctx = &created};
		int rc = kl_api_send(api, &rq, &res, err);
		long status = res.status;
		enum kl_api_outcome outcome = res.outcome;
		kl_api_res_free(&res);
		if (outcome == KL_API_DONE)
			rc = print_created(o, io, &created.items[0], source_uid, maybe_dup, err);
		kl_created_list_free(&created);
		if (kl_interrupted && outcome == KL_API_NOT_SENT)
			return kl_err_set(err, KL_ETEMPFAIL, "interrupted: the lead was not sent");
		if (kl_interrupted >= KL_HTTP_STOP_NOW && outcome == KL_API_UNKNOWN)
			/* no lookup now: the person stopped the wait */
			return kl_err_set(err, KL_ETEMPFAIL,
					  "interrupted while waiting for Kommo's answer: the lead may or may not have been created (source_uid %s): look for it in Kommo's Incoming leads before sending it again",
					  source_uid);
		if (outcome != KL_API_UNKNOWN)
			return rc;
		struct kl_unsorted_hit hit = {.source_uid = source_uid, .created_at = created_at};
		err->status = rc;
		if ((rc = look_for(o, io, api, acct, source_uid, since, status, &hit, err)))
			return rc;
		if (hit.found && !hit.lead_id)
			return kl_err_set(err, err->status ? err->status : KL_EPROTOCOL,
					  "the lead is in Kommo's Incoming leads, so it was created (source_uid %s), but its ids cannot be read there either",
					  source_uid);
		if (hit.found) {
			struct kl_created c = {.uid = hit.uid[0] ? hit.uid : NULL, .lead_id = hit.lead_id,
					       .contact_id = hit.contact_id};
			kl_io_say(io, "the lead is in Kommo's Incoming leads (source_uid %s): it was created", source_uid);
			return print_created(o, io, &c, source_uid, maybe_dup, err);
		}
		if (status >= 200 && status < 300) /* Kommo acted: sending again would make a second */
			return kl_err_set(err, err->status ? err->status : KL_EPROTOCOL,
					  "Kommo answered %ld, so the lead was probably created (source_uid %s), but its ids cannot be read, and it is not in Incoming leads (a manager may have sorted it already): do not send it again",
					  status, source_uid);
		if (tries >= api->max_retries)
			return kl_err_set(err, KL_ETEMPFAIL,
					  "the lead is not in Kommo's Incoming leads, and sending it again %d times lost every answer (source_uid %s): look in Incoming leads before sending it again",
					  tries, source_uid);
		kl_io_say(io, "the lead is not in Kommo's Incoming leads: sending it again with the same source_uid, flagged possibly_duplicated");
		maybe_dup = true;
	}
}

/* With --json, a failure as one object: {"status": "failed", "error",
 * "exit_code"}. The message is told on stderr already: a failed write here
 * changes nothing. */
static void print_failed(const struct kl_io *io, int rc, const char *msg)
{
	struct kl_err err = {0};
	cJSON *obj = cJSON_CreateObject();
	if (obj && cJSON_AddStringToObject(obj, "status", "failed") && cJSON_AddStringToObject(obj, "error", msg) &&
	    cJSON_AddNumberToObject(obj, "exit_code", rc))
		kl_io_json(io, obj, &err);
	cJSON_Delete(obj);
}

/* skip_existing's result when a contact matched (not an exit status). */
#define SKIPPED (-1)

/* --skip-existing: is the person already among Kommo's contacts? */
static int skip_existing(const struct kl_opts *o, const struct kl_io *io, struct kl_api *api,
			 const struct kl_account *acct, const struct kl_lead *lead, struct kl_err *err)
{
	long long id = 0;
	const char *by = NULL;
	int rc = kl_crm_find_contact(api, acct, lead->v[KL_ATTR_PHONE], lead->v[KL_ATTR_EMAIL], &id, &by, err);
	if (rc) {
		kl_io_say(io, "searching Kommo's contacts for this lead failed, so nothing was sent (--skip-existing):");
		return rc;
	}
	if (!id)
		return KL_OK;
	const char *value = lead->v[strcmp(by, "phone") == 0 ? KL_ATTR_PHONE : KL_ATTR_EMAIL];
	kl_io_say(io, "contact %lld already has the %s %s: nothing sent (--skip-existing)", id, by, value);
	if (o->json) {
		char digits[24];
		cJSON *obj = cJSON_CreateObject();
		snprintf(digits, sizeof digits, "%lld", id); /* an id never goes through a double */
		rc = obj && cJSON_AddStringToObject(obj, "status", "skipped") && cJSON_AddNullToObject(obj, "lead_id") &&
				     cJSON_AddRawToObject(obj, "contact_id", digits) &&
				     cJSON_AddStringToObject(obj, "existing", by) && cJSON_AddNullToObject(obj, "source_uid")
			     ? kl_io_json(io, obj, err)
			     : kl_err_oom(err);
		cJSON_Delete(obj);
	} else {
		char text[64];
		int n = snprintf(text, sizeof text, "skipped contact_id=%lld\n", id);
		rc = kl_io_write(io, text, (size_t)n, err);
	}
	return rc ? rc : SKIPPED;
}

int kl_submit_run(const struct kl_opts *o, const struct kl_io *io)
{
	struct kl_err err = {0};
	struct kl_config cfg = {0};
	struct kl_account acct = {0};
	struct kl_lead lead = {0};
	struct kl_payload *payload = NULL;
	struct kl_api api = {0};
	struct kl_interrupt sig;
	bool handling = false; /* SIGINT and SIGTERM are ours */
	char *body = NULL;
	int rc;

	/* a working copy: checking normalises values in place */
	if ((rc = kl_lead_copy(&lead, &o->lead, &err)))
		goto out;
	bool own_uid = lead.v[KL_ATTR_SOURCE_UID] == NULL;
	/* the lead before the account: what the user typed is the likelier
	 * mistake; only the phone region, which reading a phone needs, first */
	if ((rc = kl_session_load_config(o, io, &cfg, &err)) ||
	    (rc = kl_config_phone_region(&cfg, lead.region, &err)) ||
	    (rc = kl_lead_check(&lead, NULL, NULL, &err)) ||
	    (rc = kl_config_resolve(&cfg, !o->dry_run, &acct, &err)) ||
	    (rc = kl_lead_fits_account(&lead, &acct, NULL, NULL, &err)))
		goto out;
	if (own_uid && (rc = kl_lead_default_uid(&lead, kl_now_ms(), NULL, &err)))
		goto out;
	if (!(payload = kl_payload_new())) {
		rc = kl_err_oom(&err);
		goto out;
	}
	long long sent_at = (long long)time(NULL);
	if ((rc = kl_payload_add(payload, &lead, &acct, "0", sent_at, NULL, NULL, &err)))
		goto out;
	if (!(body = kl_payload_render(payload))) {
		rc = kl_err_oom(&err);
		goto out;
	}
	if (o->dry_run) {
		if ((rc = kl_io_write(io, body, strlen(body), &err)) == KL_OK)
			rc = kl_io_write(io, "\n", 1, &err);
		goto out;
	}
	/* Ctrl-C lets the request in flight finish (its ids are printed); a
	 * second stops without waiting */
	kl_interrupt_begin(&sig, true);
	handling = true;
	if ((rc = kl_session_open(o, io, &cfg, &acct, 7, 2, &api, &err)))
		goto out;
	api.stop = &kl_interrupted;
	api.in_flight = &kl_in_flight;
	if (o->skip_existing && (rc = skip_existing(o, io, &api, &acct, &lead, &err)) != KL_OK) {
		if (rc == SKIPPED)
			rc = KL_OK;
		goto out;
	}
	/* Kommo lists Incoming leads newest first by the created_at they were sent
	 * with, and the lead is matched by its own: nothing older need be read */
	long long since = lead.created_at ? lead.created_at : sent_at;
	rc = send_payload(o, io, &api, &acct, payload, body, lead.v[KL_ATTR_SOURCE_UID],
			  lead.created_at ? lead.created_at : sent_at, since, &err);
out:
	kl_api_close(&api);
	if (handling)
		kl_interrupt_end(&sig);
	if (rc)
		kl_io_say_lines(io, err.msg);
	/* a script reading --json gets one object whatever happened; not after a
	 * failed write to stdout, which holds at most a part of one */
	if (rc && o->json && rc != KL_EIO)
		print_failed(io, rc, err.msg);
	free(body);
	kl_payload_free(payload);
	kl_account_free(&acct);
	kl_config_free(&cfg);
	kl_lead_free(&lead);
	return rc;
}
