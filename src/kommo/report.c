#include "kommo/kl_report.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>

#include "util/kl_err.h"

bool kl_report_add_text(cJSON *o, const char *key, const char *v)
{
	return (v ? cJSON_AddStringToObject(o, key, v) : cJSON_AddNullToObject(o, key)) != NULL;
}

bool kl_report_add_id(cJSON *o, const char *key, long long id)
{
	return (id ? cJSON_AddNumberToObject(o, key, (double)id) : cJSON_AddNullToObject(o, key)) != NULL;
}

int kl_report_status_exit(long s)
{
	if (s >= 200 && s < 300)
		return KL_OK;
	if (s == 400 || s == 422)
		return KL_EDATA;
	if (s == 401 || s == 402 || s == 403)
		return KL_ENOPERM;
	if (s == 404 || s == 405)
		return KL_ECONFIG;
	if (s == 429)
		return KL_ETEMPFAIL;
	if (s >= 500 && s < 600)
		return KL_EUNAVAILABLE;
	return KL_EPROTOCOL;
}

/* An id as its digits, never through a double; null when id is 0. */
static bool add_digits_id(cJSON *o, const char *key, long long id)
{
	char d[24];
	if (!id)
		return cJSON_AddNullToObject(o, key) != NULL;
	snprintf(d, sizeof d, "%lld", id);
	return cJSON_AddRawToObject(o, key, d) != NULL;
}

/* Appends o's compact text and a newline, and frees o. */
static int print_line(cJSON *o, bool ok, struct kl_buf *out)
{
	char *text = ok && o ? cJSON_PrintUnformatted(o) : NULL;
	int rc = text && kl_buf_appendf(out, "%s\n", text) == 0 ? KL_OK : KL_EOSERR;
	free(text);
	cJSON_Delete(o);
	return rc;
}

int kl_report_created(const struct kl_created *c, const char *source_uid, bool maybe_dup, bool json,
		      struct kl_buf *out)
{
	if (!json) {
		if (kl_buf_appendf(out, "lead_id=%lld contact_id=%lld%s\n", c->lead_id, c->contact_id,
				   maybe_dup ? " possibly_duplicated" : ""))
			return KL_EOSERR;
		return KL_OK;
	}
	cJSON *o = cJSON_CreateObject();
	bool ok = o && cJSON_AddStringToObject(o, "status", "created") && add_digits_id(o, "lead_id", c->lead_id) &&
		  add_digits_id(o, "contact_id", c->contact_id) && kl_report_add_text(o, "uid", c->uid) &&
		  kl_report_add_text(o, "source_uid", source_uid) &&
		  cJSON_AddBoolToObject(o, "possibly_duplicated", maybe_dup);
	return print_line(o, ok, out);
}

static const char *advice(long s, const struct kl_problem *p)
{
	switch (s) {
	case 401:
		return "Kommo refused the API token: it is wrong, revoked or expired; make a new long-lived token in the integration's settings (KOMMO_API_TOKEN or --token-file)";
	case 402:
		return "Kommo says the account's paid period is over: renew the subscription";
	case 403:
		return "blocked by Kommo: the IP address or account is blocked for API abuse; stop sending and contact Kommo support";
	case 404:
		return "Kommo knows no such address: check KOMMO_SUBDOMAIN, KOMMO_DOMAIN or KOMMO_BASE_URL";
	case 405:
		return "Kommo does not accept this method at this address: check KOMMO_BASE_URL";
	case 422:
		return "Kommo refused the request's size";
	case 429:
		return "Kommo's rate limit was hit (at most 7 requests a second)";
	default:
		if (s >= 500)
			return p->html ? "Kommo's servers failed and answered with an HTML page" : "Kommo's servers failed";
		return "Kommo answered with an unexpected status";
	}
}

int kl_report_problem(const struct kl_problem *p, const struct kl_payload *payload,
		      const char *url, struct kl_buf *out)
{
	return kl_report_problem_in(p, "the lead", payload ? kl_payload_origin : NULL, payload, url, out);
}

char *kl_report_verror(const struct kl_verror *e, kl_origin_fn origin, const void *origin_ctx)
{
	char *from = e->path && origin ? origin(origin_ctx, e) : NULL;
	char *line = kl_str_printf("%s at %s%s%s%s%s%s", e->code ? e->code : "error",
				   e->path && *e->path ? e->path : "(the item)", from ? " (" : "", from ? from : "",
				   from ? ")" : "", e->detail ? ": " : "", e->detail ? e->detail : "");
	free(from);
	return line;
}

int kl_report_problem_in(const struct kl_problem *p, const char *what, kl_origin_fn origin,
			 const void *origin_ctx, const char *url, struct kl_buf *out)
{
	int fail = 0;
	if (p->status == 400)
		fail |= kl_buf_appendf(out, "Kommo refused %s (HTTP %ld", what, p->status);
	else
		fail |= kl_buf_appendf(out, "%s (HTTP %ld", advice(p->status, p), p->status);
	if (p->title)
		fail |= kl_buf_appendf(out, " %s", p->title);
	fail |= kl_buf_appendf(out, ")");
	if (p->detail)
		fail |= kl_buf_appendf(out, ": %s", p->detail);
	if (p->status == 404 || p->status == 405)
		fail |= kl_buf_appendf(out, " [%s]", url);
	if (p->trace_id)
		fail |= kl_buf_appendf(out, " (trace_id %s)", p->trace_id);
	fail |= kl_buf_appendf(out, "\n");
	for (size_t i = 0; i < p->nerrors; i++) {
		char *line = kl_report_verror(&p->errors[i], origin, origin_ctx);
		fail |= !line || kl_buf_appendf(out, "  %s\n", line);
		free(line);
	}
	if (p->status == 429) {
		if (p->retry_after >= 0)
			fail |= kl_buf_appendf(out, "try again in %ld s\n", p->retry_after);
		else
			fail |= kl_buf_appendf(out, "try again in a few seconds\n");
	}
	if (p->status >= 300 && !p->json && !p->html && p->status != 403)
		fail |= kl_buf_appendf(out, "the reply carried no readable error body\n");
	return fail ? KL_EOSERR : kl_report_status_exit(p->status);
}
