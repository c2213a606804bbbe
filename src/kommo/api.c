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
#include "util/kl_url.h"

int kl_api_open(struct kl_api *a, const struct kl_http_opts *ho, double rate, int max_retries,
		kl_getenv_fn get, kl_log_fn warn, void *warn_ctx, struct kl_err *err)
{
	int rc;
	memset(a, 0, sizeof *a);
	if ((rc = kl_limiter_open(&a->limit, ho->base_url, rate, get, warn, warn_ctx, err)) ||
	    (rc = kl_http_new(&a->http, ho, err))) {
		kl_api_close(a);
		return rc;
	}
	a->base_url = ho->base_url;
	a->max_retries = max_retries;
	a->log = ho->log;
	a->log_ctx = ho->log_ctx;
	a->seed = (unsigned)time(NULL) ^ (unsigned)getpid();
	return KL_OK;
}

void kl_api_close(struct kl_api *a)
{
	kl_http_free(a->http);
	kl_limiter_close(&a->limit);
	a->http = NULL;
}

void kl_api_res_free(struct kl_api_res *r)
{
	if (!r)
		return;
	cJSON_Delete(r->json);
	kl_problem_free(&r->problem);
	memset(r, 0, sizeof *r);
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

/* err gets Kommo's explanation of the error reply read into pr; returns the exit status. */
static int explain(struct kl_api *a, const struct kl_api_req *rq, const struct kl_problem *pr,
		   struct kl_err *err)
{
	struct kl_buf text = {0};
	char *url = kl_str_printf("%s%s", a->base_url ? a->base_url : "", rq->path);
	int rc = kl_report_problem_in(pr, rq->what ? rq->what : "the request", rq->origin, rq->origin_ctx,
				      url ? url : rq->path, &text);
	free(url);
	if (pr->status == 401 && a->token_origin)
		kl_buf_appendf(&text, "the refused token came from %s\n", a->token_origin);
	while (text.len && text.data[text.len - 1] == '\n')
		text.data[--text.len] = '\0';
	if (rc == KL_EOSERR || !text.data)
		rc = kl_err_oom(err);
	else if (rc == KL_OK) /* a status kl_report calls fine, e.g. 1xx or 3xx */
		rc = kl_err_set(err, KL_EPROTOCOL, "Kommo answered %s %s with HTTP %ld", rq->method, rq->path, pr->status);
	else
		kl_err_set(err, rc, "%s", text.data);
	kl_buf_free(&text);
	return rc;
}

static bool is_read(const struct kl_api_req *rq)
{
	return strcmp(rq->method, "GET") == 0;
}

/* Waits until the limit lets the next request start and counts it as
 * started; false when a signal stopped the wait (nothing may be sent).
 * Once stopped nothing that changes Kommo starts, and after a second
 * signal nothing at all; a read may still settle what the request in
 * flight did. */
static bool pace(struct kl_api *a, const struct kl_api_req *rq)
{
	double wait;
	if (stopped(a) && (!is_read(rq) || *a->stop >= KL_HTTP_STOP_NOW))
		return false;
	while ((wait = kl_limiter_take(&a->limit)) > 0) {
		kl_rate_sleep(wait, a->stop);
		if (stopped(a))
			return false;
	}
	a->requests++;
	return true;
}

/* The verdict on one exchange: what Kommo's answer (or its absence) says it
 * did. rc is kl_http_request's. */
static enum kl_api_outcome judge(int rc, const struct kl_http_reply *reply)
{
	long st = reply->status;
	if (rc == KL_ETLS || rc == KL_ECONFIG || (rc && !reply->maybe_sent))
		return KL_API_NOT_SENT;
	if (rc)
		return KL_API_UNKNOWN;
	if (st >= 200 && st < 300)
		return KL_API_DONE; /* until its reply proves unreadable */
	if ((st >= 400 && st < 500) || st == 503)
		return KL_API_REFUSED;
	return KL_API_UNKNOWN;
}

/* Whether the policy sends the request again; http_rc is kl_http_request's. */
static bool retry_after(const struct kl_api_req *rq, enum kl_api_outcome out, int http_rc, long st)
{
	if (st == 429)
		return true;
	if (is_read(rq))
		return http_rc ? http_rc == KL_ETEMPFAIL || http_rc == KL_EUNAVAILABLE
			       : st == 502 || st == 503 || st == 504;
	if (rq->retry == KL_API_RETRY_BATCH)
		return st == 503 || (out == KL_API_NOT_SENT && http_rc == KL_EUNAVAILABLE);
	return false;
}

/* How long to wait before sending again: for a 429 what Kommo asks
 * (Retry-After, from the header or the body), else a backoff with jitter. */
static double retry_wait(struct kl_api *a, int attempt, const struct kl_api_res *res)
{
	if (res->status != 429)
		return kl_rate_backoff(&a->seed, attempt, -1, false);
	return kl_rate_backoff(&a->seed, attempt, res->problem.retry_after, true);
}

static int parse_json(void *ctx, const char *body, size_t len, struct kl_err *err)
{
	struct kl_api_res *res = ctx;
	(void)err;
	res->json = len > 0 ? kl_reply_json(body, len) : NULL;
	return len > 0 && !res->json ? KL_EPROTOCOL : KL_OK;
}

/* Reads the reply of one exchange into res and err; returns the exit status. */
static int read_reply(struct kl_api *a, const struct kl_api_req *rq, int rc, const struct kl_http_reply *reply,
		      struct kl_api_res *res, struct kl_err *err)
{
	long st = reply->status;
	res->status = st;
	res->outcome = judge(rc, reply);
	if (rc) {
		if (st >= 200 && st < 300) /* the status came, the rest did not: too large, too slow, cut short */
			res->outcome = KL_API_UNKNOWN;
		return rc;
	}
	if (st >= 200 && st < 300) {
		if (st == 204 || (!rq->parse && reply->body.len == 0))
			return KL_OK;
		int prc = rq->parse ? rq->parse(rq->parse_ctx, reply->body.data, reply->body.len, err)
				    : parse_json(res, reply->body.data, reply->body.len, err);
		if (prc == KL_EPROTOCOL && !rq->parse)
			kl_err_set(err, KL_EPROTOCOL, "Kommo answered %s %s with %ld, but the reply %s (%zu bytes)", rq->method,
				   rq->path, st, kl_reply_json_problem(reply->body.data, reply->body.len), reply->body.len);
		if (prc) /* Kommo acted, but what it made cannot be told */
			res->outcome = KL_API_UNKNOWN;
		return prc;
	}
	if ((rc = kl_reply_parse_problem(st, reply->content_type, reply->body.data, reply->body.len,
					 reply->retry_after, &res->problem, err)))
		return rc;
	return explain(a, rq, &res->problem, err);
}

int kl_api_send(struct kl_api *a, const struct kl_api_req *rq, struct kl_api_res *res, struct kl_err *err)
{
	int own = 0, *attempt = rq->attempt ? rq->attempt : &own;
	memset(res, 0, sizeof *res);
	for (int tries = 0;; tries++) {
		struct kl_http_reply reply = {0};
		kl_api_res_free(res);
		if (!pace(a, rq)) {
			res->outcome = KL_API_NOT_SENT;
			res->interrupted = true;
			return kl_err_set(err, KL_ETEMPFAIL, "interrupted before %s %s", rq->method, rq->path);
		}
		int rc = rq->before_send ? rq->before_send(rq->before_ctx, tries > 0, err) : KL_OK;
		if (rc) {
			res->outcome = KL_API_NOT_SENT;
			return rc;
		}
		double left = kl_rate_now();
		kl_http_set_stop(a->http, a->stop);
		if (a->in_flight)
			*a->in_flight = 1;
		int http_rc = kl_http_request(a->http, rq->method, rq->path, rq->body, rq->body ? strlen(rq->body) : 0,
					      &reply, err);
		if (a->in_flight)
			*a->in_flight = 0;
		/* Kommo counts arrivals: the journal's sync and a new connection's
		 * set-up delay this one's */
		kl_limiter_sent(&a->limit, left + reply.pretransfer);
		rc = read_reply(a, rq, http_rc, &reply, res, err);
		res->seconds = reply.seconds;
		res->interrupted = reply.interrupted;
		kl_http_reply_free(&reply);
		if (res->outcome == KL_API_DONE || rc == KL_EOSERR || *attempt >= a->max_retries || stopped(a) ||
		    !retry_after(rq, res->outcome, http_rc, res->status))
			return rc;
		double wait = retry_wait(a, *attempt, res);
		if (res->status == 429) /* every process on the account waits as Kommo asked */
			kl_limiter_hold_off(&a->limit, wait);
		if (res->status && rq->resend)
			say(a, "HTTP %ld: %s in %.1f s", res->status, rq->resend, wait);
		else if (res->status)
			say(a, "HTTP %ld on %s %s: retrying in %.1f s", res->status, rq->method, rq->path, wait);
		else
			say(a, "%s: retrying in %.1f s", err->msg, wait);
		kl_rate_sleep(wait, a->stop);
		if (stopped(a)) {
			res->interrupted = true;
			return kl_err_set(err, KL_ETEMPFAIL, "interrupted while waiting to retry %s %s", rq->method, rq->path);
		}
		(*attempt)++;
		a->retries++;
	}
}

int kl_api_call(struct kl_api *a, const char *method, const char *path, const char *body,
		const char *what, kl_origin_fn origin, const void *origin_ctx, cJSON **out,
		long *status, enum kl_api_outcome *outcome, struct kl_err *err)
{
	struct kl_api_req rq = {.method = method, .path = path, .body = body, .what = what,
				.origin = origin, .origin_ctx = origin_ctx};
	struct kl_api_res res;
	int rc = kl_api_send(a, &rq, &res, err);
	*out = rc == KL_OK ? res.json : NULL;
	if (rc == KL_OK)
		res.json = NULL;
	if (status)
		*status = res.status;
	if (outcome)
		*outcome = res.outcome;
	kl_api_res_free(&res);
	return rc;
}

bool kl_api_backoff(struct kl_api *a, int attempt, const char *why)
{
	double wait = kl_rate_backoff(&a->seed, attempt, -1, false);
	if (why)
		say(a, "%s in %.1f s", why, wait);
	kl_rate_sleep(wait, a->stop);
	if (stopped(a))
		return false;
	a->retries++;
	return true;
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
		char num[2][24], *p0, *p;
		snprintf(num[0], sizeof num[0], "%d", page);
		snprintf(num[1], sizeof num[1], "%zu", limit);
		p0 = kl_url_path_query(path, "page", num[0]);
		p = p0 ? kl_url_path_query(p0, "limit", num[1]) : NULL;
		free(p0);
		if (!p) {
			cJSON_Delete(*items);
			*items = NULL;
			return kl_err_oom(err);
		}
		rc = kl_api_call(a, "GET", p, NULL, "the request", NULL, NULL, &reply, NULL, NULL, err);
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
			else if (rc == KL_OK && more && n >= KL_API_MAX_ITEMS)
				rc = kl_err_set(err, KL_EPROTOCOL,
						"Kommo's list at %s goes on past %d entries; stopping (kommo-lead keeps no more in memory)",
						path, KL_API_MAX_ITEMS);
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
