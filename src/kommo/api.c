#include "kommo/kl_api.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kommo/kl_reply.h"
#include "util/kl_str.h"

int kl_api_open(struct kl_api *a, const struct kl_http_opts *ho, double rate, int max_retries,
		struct kl_err *err)
{
	int rc;
	memset(a, 0, sizeof *a);
	if ((rc = kl_rate_init(&a->own_rate, rate, err)) || (rc = kl_http_new(&a->own_http, ho, err))) {
		kl_api_close(a);
		return rc;
	}
	a->http = a->own_http;
	a->rate = &a->own_rate;
	a->base_url = ho->base_url;
	a->max_retries = max_retries;
	a->log = ho->log;
	a->log_ctx = ho->log_ctx;
	a->seed = (unsigned)time(NULL) ^ (unsigned)getpid();
	return KL_OK;
}

void kl_api_close(struct kl_api *a)
{
	kl_http_free(a->own_http);
	kl_rate_free(&a->own_rate);
	a->own_http = a->http = NULL;
	a->rate = NULL;
}

static bool stopped(const struct kl_api *a)
{
	return a->stop && *a->stop;
}

static void say(struct kl_api *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct kl_api *a, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	if (!a->log)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	a->log(a->log_ctx, line);
}

/* err gets Kommo's explanation of an error reply; returns the exit status. */
static int explain(struct kl_api *a, const char *path, const struct kl_http_reply *reply,
		   const char *what, kl_origin_fn origin, const void *octx, struct kl_err *err)
{
	struct kl_problem pr = {0};
	struct kl_buf text = {0};
	int rc = kl_reply_parse_problem(reply->status, reply->content_type, reply->body.data,
					reply->body.len, reply->retry_after, &pr, err);
	if (rc)
		return rc;
	char *url = kl_str_printf("%s%s", a->base_url ? a->base_url : "", path);
	rc = kl_report_problem_in(&pr, what, origin, octx, url ? url : path, &text);
	free(url);
	if (pr.status == 401 && a->token_origin)
		kl_buf_appendf(&text, "the refused token came from %s\n", a->token_origin);
	while (text.len && text.data[text.len - 1] == '\n')
		text.data[--text.len] = '\0';
	if (rc == KL_EOSERR || !text.data)
		rc = kl_err_oom(err);
	else
		kl_err_set(err, rc, "%s", text.data);
	kl_buf_free(&text);
	kl_problem_free(&pr);
	return rc;
}

bool kl_api_pace(struct kl_api *a)
{
	if (a->rate) {
		kl_rate_sleep(kl_rate_wait(a->rate, kl_rate_now()), a->stop);
		if (stopped(a))
			return false;
		kl_rate_started(a->rate, kl_rate_now());
	}
	a->requests++;
	return true;
}

double kl_api_retry_wait(struct kl_api *a, int attempt, const struct kl_http_reply *reply)
{
	if (reply->status != 429)
		return kl_rate_backoff(&a->seed, attempt, -1, false);
	/* Retry-After, from the header or Kommo's body; an unreadable body only loses it */
	struct kl_problem pr = {0};
	struct kl_err ignored = {0};
	long ra = reply->retry_after;
	if (kl_reply_parse_problem(429, reply->content_type, reply->body.data, reply->body.len,
				   reply->retry_after, &pr, &ignored) == KL_OK)
		ra = pr.retry_after;
	kl_problem_free(&pr);
	return kl_rate_backoff(&a->seed, attempt, ra, true);
}

static bool retryable(long status)
{
	return status == 429 || status == 502 || status == 503 || status == 504;
}

int kl_api_call(struct kl_api *a, const char *method, const char *path, const char *body,
		const char *what, kl_origin_fn origin, const void *origin_ctx, cJSON **out,
		long *status, struct kl_err *err)
{
	bool idempotent = strcmp(method, "GET") == 0;
	int attempt = 0;
	*out = NULL;
	for (;;) {
		struct kl_http_reply reply = {0};
		if (!kl_api_pace(a))
			return kl_err_set(err, KL_ETEMPFAIL, "interrupted before %s %s", method, path);
		int rc = kl_http_request(a->http, method, path, body, body ? strlen(body) : 0, &reply, err);
		if (status)
			*status = reply.status;
		a->maybe_sent = reply.maybe_sent;
		long st = reply.status;
		double wait = -1;
		if (rc == KL_ETEMPFAIL || rc == KL_EUNAVAILABLE) {
			if (idempotent && attempt < a->max_retries && !stopped(a))
				wait = kl_rate_backoff(&a->seed, attempt, -1, false);
		} else if (rc == KL_OK && retryable(st) && (idempotent || st == 429) && attempt < a->max_retries) {
			wait = kl_api_retry_wait(a, attempt, &reply);
		} else if (rc == KL_OK && st >= 200 && st < 300) {
			if (st != 204 && reply.body.len > 0 && !(*out = kl_reply_json(reply.body.data, reply.body.len)))
				rc = kl_err_set(err, KL_EPROTOCOL, "Kommo answered %s %s with %ld, but the reply %s (%zu bytes)",
						method, path, st, kl_reply_json_problem(reply.body.data, reply.body.len),
						reply.body.len);
		} else if (rc == KL_OK) {
			rc = explain(a, path, &reply, what, origin, origin_ctx, err);
			if (rc == KL_OK) /* a status kl_report calls fine, e.g. 1xx or 3xx */
				rc = kl_err_set(err, KL_EPROTOCOL, "Kommo answered %s %s with HTTP %ld", method, path, st);
		}
		kl_http_reply_free(&reply);
		if (wait < 0 || stopped(a))
			return rc;
		if (st)
			say(a, "HTTP %ld on %s %s: retrying in %.1f s", st, method, path, wait);
		else
			say(a, "%s: retrying in %.1f s", err->msg, wait);
		kl_rate_sleep(wait, a->stop);
		if (stopped(a))
			return kl_err_set(err, KL_ETEMPFAIL, "interrupted while waiting to retry %s %s", method, path);
		attempt++;
		a->retries++;
	}
}

int kl_api_list(struct kl_api *a, const char *path, const char *key, size_t max, cJSON **items,
		bool *more_out, struct kl_err *err)
{
	size_t limit = max > 0 && max < 250 ? max : 250;
	size_t n = 0; /* items so far (cJSON counts by walking the list) */
	int rc = KL_OK;
	if (more_out)
		*more_out = false;
	if (!(*items = cJSON_CreateArray()))
		return kl_err_oom(err);
	for (int page = 1;; page++) {
		cJSON *reply = NULL;
		char *p = kl_str_printf("%s%cpage=%d&limit=%zu", path, strchr(path, '?') ? '&' : '?', page, limit);
		if (!p)
			return kl_err_oom(err);
		rc = kl_api_call(a, "GET", p, NULL, "the request", NULL, NULL, &reply, NULL, err);
		if (rc || !reply) {
			free(p);
			break;
		}
		cJSON *emb = cJSON_GetObjectItemCaseSensitive(reply, "_embedded");
		cJSON *list = cJSON_GetObjectItemCaseSensitive(emb, key);
		if (!cJSON_IsArray(list)) {
			rc = kl_err_set(err, KL_EPROTOCOL, "Kommo's reply to GET %s has no _embedded.%s list", p, key);
		} else {
			cJSON *item;
			bool got = false;
			for (size_t i = 0; (max == 0 || n < max) && (item = cJSON_DetachItemFromArray(list, 0)); i++) {
				if (!cJSON_IsObject(item)) { /* not an entity: not Kommo's, skipped */
					cJSON_Delete(item);
					continue;
				}
				/* an entity without its id cannot be shown, matched or named in a config */
				const char *bad = kl_reply_id_problem(cJSON_GetObjectItemCaseSensitive(item, "id"));
				if (bad) {
					cJSON_Delete(item);
					rc = kl_err_set(err, KL_EPROTOCOL, "Kommo's reply to GET %s has an entry without a usable id: _embedded.%s[%zu].id is %s",
							p, key, i, bad);
					break;
				}
				cJSON_AddItemToArray(*items, item);
				n++;
				got = true;
			}
			const cJSON *next = cJSON_GetObjectItemCaseSensitive(
				cJSON_GetObjectItemCaseSensitive(reply, "_links"), "next");
			if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(next, "href")))
				next = NULL; /* "next": null, or no address: the last page */
			bool full = max > 0 && n >= max;
			if (full && more_out)
				*more_out = cJSON_GetArraySize(list) > 0 || next != NULL;
			bool more = got && next && !full;
			if (rc == KL_OK && more && page >= KL_API_MAX_PAGES)
				rc = kl_err_set(err, KL_EPROTOCOL, "Kommo's list at %s goes on past %d pages; stopping",
						path, KL_API_MAX_PAGES);
			else if (!more)
				page = -1;
		}
		cJSON_Delete(reply);
		free(p);
		if (rc || page < 0)
			break;
	}
	if (rc) {
		cJSON_Delete(*items);
		*items = NULL;
	}
	return rc;
}
