#include "cmd/kl_submit.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "cmd/kl_crm.h"
#include "kommo/kl_http.h"
#include "kommo/kl_payload.h"
#include "kommo/kl_reply.h"
#include "kommo/kl_report.h"

#define UNSORTED_FORMS "/api/v4/leads/unsorted/forms"

void kl_io_say(const struct kl_io *io, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("kommo-lead: ", io->msg);
	vfprintf(io->msg, fmt, ap);
	fputc('\n', io->msg);
	va_end(ap);
}

void kl_io_warn(void *ctx, const char *message)
{
	kl_io_say(ctx, "warning: %s", message);
}

void kl_io_log(void *ctx, const char *line)
{
	kl_io_say(ctx, "%s", line);
}

void kl_io_say_lines(const struct kl_io *io, const char *text)
{
	while (text && *text) {
		size_t n = strcspn(text, "\n");
		kl_io_say(io, "%.*s", (int)n, text);
		text += n + (text[n] == '\n');
	}
}

int kl_submit_load_config(const struct kl_opts *o, const struct kl_io *io, struct kl_config *cfg,
			  struct kl_err *err)
{
	struct kl_config env = {0}, tok = {0};
	char *path = NULL;
	int rc = KL_OK;

	memset(cfg, 0, sizeof *cfg);
	if (!o->no_config) {
		bool required = true;
		path = o->config_path ? strdup(o->config_path) : kl_config_default_path(io->getenv, &required);
		if (path && (rc = kl_config_load_file(cfg, path, required, kl_io_warn, (void *)io, err))) {
			if (!o->config_path && required) {
				char msg[sizeof err->msg];
				memcpy(msg, err->msg, sizeof msg);
				kl_err_set(err, rc, "KOMMO_LEAD_CONFIG (from the environment): %.900s", msg);
			}
			goto out;
		}
	}
	if ((rc = kl_config_load_env(&env, io->getenv, err)) || (rc = kl_config_merge(cfg, &env, err)))
		goto out;
	if (o->token_file &&
	    ((rc = kl_config_load_token_file(&tok, o->token_file, kl_io_warn, (void *)io, err)) ||
	     (rc = kl_config_merge(cfg, &tok, err))))
		goto out;
	rc = kl_config_merge(cfg, &o->flags, err);
out:
	free(path);
	kl_config_free(&env);
	kl_config_free(&tok);
	if (rc)
		kl_config_free(cfg);
	return rc;
}

long long kl_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int kl_io_write(const struct kl_io *io, const char *text, size_t len, struct kl_err *err)
{
	if (fwrite(text, 1, len, io->out) != len || fflush(io->out) != 0)
		return kl_err_set(err, KL_EIO, "cannot write the result to standard output");
	return KL_OK;
}

int kl_io_json(const struct kl_io *io, const cJSON *v, struct kl_err *err)
{
	char *text = cJSON_PrintUnformatted(v);
	if (!text)
		return kl_err_oom(err);
	int rc = kl_io_write(io, text, strlen(text), err);
	free(text);
	return rc ? rc : kl_io_write(io, "\n", 1, err);
}

int kl_submit_connect(const struct kl_opts *o, const struct kl_io *io, struct kl_config *cfg,
		      struct kl_account *acct, struct kl_api *api, struct kl_err *err)
{
	int rc;
	if ((rc = kl_submit_load_config(o, io, cfg, err)) || (rc = kl_config_resolve(cfg, true, acct, err)))
		return rc;
	return kl_submit_open_api(o, io, cfg, acct, api, err);
}

int kl_submit_open_api(const struct kl_opts *o, const struct kl_io *io, const struct kl_config *cfg,
		       const struct kl_account *acct, struct kl_api *api, struct kl_err *err)
{
	int rc;
	struct kl_http_opts ho = {
		.base_url = acct->base_url,
		.token = acct->token,
		.timeout_ms = o->timeout_ms,
		.ca_bundle = acct->ca_bundle,
		.log = o->verbose ? kl_io_log : NULL,
		.log_ctx = (void *)io,
	};
	if ((rc = kl_api_open(api, &ho, 7, 2, err)))
		return rc;
	api->token_origin = cfg->origin[KL_CFG_API_TOKEN];
	return KL_OK;
}

/* Sends the payload and reports what came back. */
static int send_payload(const struct kl_opts *o, const struct kl_io *io, struct kl_api *api,
			const struct kl_account *acct, const struct kl_payload *payload,
			const char *body, const char *source_uid, const char *token_origin,
			struct kl_err *err)
{
	struct kl_http_reply reply = {0};
	struct kl_created_list created = {0};
	struct kl_problem problem = {0};
	struct kl_buf text = {0};
	int rc;
	for (int attempt = 0;; attempt++) {
		/* after the searches of --skip-existing the limit may matter */
		kl_api_pace(api); /* submit sets no stop flag: the wait always ends in sending */
		rc = kl_http_request(api->http, "POST", UNSORTED_FORMS, body, strlen(body), &reply, err);
		if (rc || reply.status != 429 || attempt >= api->max_retries)
			break;
		/* a 429 means Kommo did nothing: the same lead goes again after the wait it asks for */
		double wait = kl_api_retry_wait(api, attempt, &reply);
		api->retries++;
		if (o->verbose)
			kl_io_say(io, "HTTP 429: sending the lead again in %.1f s", wait);
		kl_http_reply_free(&reply);
		memset(&reply, 0, sizeof reply);
		kl_rate_sleep(wait, NULL);
	}
	if (rc) {
		if (reply.status >= 200 && reply.status < 300) {
			/* the status came, the rest of the reply did not (too large, too slow, cut short) */
			kl_io_say(io, "%s", err->msg);
			kl_err_set(err, rc, "Kommo answered %ld, so the lead was probably created (source_uid %s), but its ids cannot be read",
				   reply.status, source_uid);
		} else if (reply.maybe_sent) {
			kl_io_say(io, "%s", err->msg);
			kl_err_set(err, rc, "the lead may or may not have been created (source_uid %s): look in Kommo's Incoming leads before sending it again",
				   source_uid);
		}
		goto out;
	}
	if (reply.status >= 200 && reply.status < 300) {
		rc = kl_reply_parse_unsorted(reply.body.data, reply.body.len, &created, err);
		if (rc) {
			kl_io_say(io, "%s", err->msg);
			rc = kl_err_set(err, rc,
					"Kommo answered 200, so the lead was probably created (source_uid %s), but its ids cannot be read",
					source_uid);
			goto out;
		}
		const struct kl_created *c = &created.items[0];
		if ((rc = kl_report_created(c, source_uid, o->json, &text)))
			goto oom;
		if ((rc = kl_io_write(io, text.data, text.len, err)))
			kl_err_set(err, rc,
				   "the lead was created (lead_id=%lld contact_id=%lld, source_uid %s), but the result could not be written to standard output: do not send it again",
				   c->lead_id, c->contact_id, source_uid);
		goto out;
	}
	if ((rc = kl_reply_parse_problem(reply.status, reply.content_type, reply.body.data,
					 reply.body.len, reply.retry_after, &problem, err)))
		goto out;
	char *url = kl_str_printf("%s%s", acct->base_url, UNSORTED_FORMS);
	rc = kl_report_problem(&problem, payload, url ? url : UNSORTED_FORMS, &text);
	free(url);
	if (rc == KL_EOSERR)
		goto oom;
	if (problem.status == 401 && token_origin)
		kl_buf_appendf(&text, "the refused token came from %s\n", token_origin);
	if (problem.status >= 500 && problem.status != 501)
		kl_buf_appendf(&text,
			       "the lead may or may not have been created (source_uid %s): look in Kommo's Incoming leads before sending it again\n",
			       source_uid);
	/* the explanation is the whole message: say it line by line */
	kl_io_say_lines(io, text.data);
	err->msg[0] = '\0';
	err->status = rc;
	goto out;
oom:
	rc = kl_err_oom(err);
out:
	kl_buf_free(&text);
	kl_problem_free(&problem);
	kl_created_list_free(&created);
	kl_http_reply_free(&reply);
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
	char *text = o->json ? kl_str_printf("{\"status\":\"skipped\",\"lead_id\":null,\"contact_id\":%lld,\"existing\":\"%s\",\"source_uid\":null}\n",
					     id, by)
			     : kl_str_printf("skipped contact_id=%lld\n", id);
	if (!text)
		return kl_err_oom(err);
	rc = kl_io_write(io, text, strlen(text), err);
	free(text);
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
	    (rc = kl_submit_load_config(o, io, &cfg, &err)) ||
	    (rc = kl_config_resolve(&cfg, !o->dry_run, &acct, &err)))
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
	if ((rc = kl_submit_open_api(o, io, &cfg, &acct, &api, &err)))
		goto out;
	if (o->skip_existing && (rc = skip_existing(o, io, &api, &acct, &lead, &err)) != KL_OK) {
		if (rc == SKIPPED)
			rc = KL_OK;
		goto out;
	}
	rc = send_payload(o, io, &api, &acct, payload, body, lead.v[KL_ATTR_SOURCE_UID],
			  cfg.origin[KL_CFG_API_TOKEN], &err);
out:
	kl_api_close(&api);
	if (rc && err.msg[0])
		kl_io_say(io, "%s", err.msg);
	free(body);
	kl_payload_free(payload);
	kl_account_free(&acct);
	kl_config_free(&cfg);
	kl_lead_free(&lead);
	return rc;
}
