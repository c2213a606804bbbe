#include "cmd/kl_submit.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "cmd/kl_crm.h"
#include "kommo/kl_payload.h"
#include "kommo/kl_reply.h"
#include "kommo/kl_report.h"
#include "shared/kl_session.h"
#include "util/kl_time.h"

#define UNSORTED_FORMS "/api/v4/leads/unsorted/forms"

static char *payload_origin(const void *payload, const char *request_id, const char *path)
{
	return kl_payload_origin(payload, request_id, path);
}

static int parse_created(void *ctx, const char *body, size_t len, struct kl_err *err)
{
	return kl_reply_parse_unsorted(body, len, ctx, err);
}

/* Sends the payload and reports what came back. */
static int send_payload(const struct kl_opts *o, const struct kl_io *io, struct kl_api *api,
			const struct kl_payload *payload, const char *body, const char *source_uid,
			struct kl_err *err)
{
	struct kl_created_list created = {0};
	struct kl_api_res res;
	struct kl_buf text = {0};
	struct kl_api_req rq = {.method = "POST", .path = UNSORTED_FORMS, .body = body, .what = "the lead",
				.origin = payload_origin, .origin_ctx = payload,
				/* a 429 means Kommo did nothing: the same lead goes again after the wait it asks for */
				.resend = "sending the lead again",
				.parse = parse_created, .parse_ctx = &created};
	int rc = kl_api_send(api, &rq, &res, err);
	if (res.outcome == KL_API_UNKNOWN) {
		char first[sizeof err->msg];
		snprintf(first, sizeof first, "%s", err->msg);
		if (res.status >= 200 && res.status < 300) /* the status came, a readable reply did not */
			kl_err_set(err, rc, "%s\nKommo answered %ld, so the lead was probably created (source_uid %s), but its ids cannot be read",
				   first, res.status, source_uid);
		else
			kl_err_set(err, rc, "%s\nthe lead may or may not have been created (source_uid %s): look in Kommo's Incoming leads before sending it again",
				   first, source_uid);
	}
	if (rc)
		goto out;
	const struct kl_created *c = &created.items[0];
	if ((rc = kl_report_created(c, source_uid, o->json, &text))) {
		rc = kl_err_oom(err);
		goto out;
	}
	if ((rc = kl_io_write(io, text.data, text.len, err)))
		kl_err_set(err, rc,
			   "the lead was created (lead_id=%lld contact_id=%lld, source_uid %s), but the result could not be written to standard output: do not send it again",
			   c->lead_id, c->contact_id, source_uid);
out:
	kl_buf_free(&text);
	kl_created_list_free(&created);
	kl_api_res_free(&res);
	return rc;
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
	char *body = NULL;
	int rc;

	/* a working copy: checking normalises values in place */
	if ((rc = kl_lead_copy(&lead, &o->lead, &err)))
		goto out;
	bool own_uid = lead.v[KL_ATTR_SOURCE_UID] == NULL;
	/* the lead first: what the user typed is the likelier mistake */
	if ((rc = kl_lead_check(&lead, NULL, NULL, &err)) ||
	    (rc = kl_session_load_config(o, io, &cfg, &err)) ||
	    (rc = kl_config_resolve(&cfg, !o->dry_run, &acct, &err)) ||
	    (rc = kl_lead_fits_account(&lead, &acct, NULL, NULL, &err)))
		goto out;
	if (own_uid && (rc = kl_lead_default_uid(&lead, kl_now_ms(), NULL, &err)))
		goto out;
	if (!(payload = kl_payload_new())) {
		rc = kl_err_oom(&err);
		goto out;
	}
	if ((rc = kl_payload_add(payload, &lead, &acct, "0", (long long)time(NULL), NULL, NULL, &err)))
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
	if ((rc = kl_session_open(o, io, &cfg, &acct, 7, 2, &api, &err)))
		goto out;
	if (o->skip_existing && (rc = skip_existing(o, io, &api, &acct, &lead, &err)) != KL_OK) {
		if (rc == SKIPPED)
			rc = KL_OK;
		goto out;
	}
	rc = send_payload(o, io, &api, payload, body, lead.v[KL_ATTR_SOURCE_UID], &err);
out:
	kl_api_close(&api);
	if (rc)
		kl_io_say_lines(io, err.msg);
	free(body);
	kl_payload_free(payload);
	kl_account_free(&acct);
	kl_config_free(&cfg);
	kl_lead_free(&lead);
	return rc;
}
