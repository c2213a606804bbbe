/*
 * kl_api: the one transport path to Kommo. Every request of every command
 * goes through kl_api_send, which paces it (kl_rate), sends it (kl_http),
 * retries what is safe to retry, and gives the one verdict on its outcome
 * that the rest of the tool acts on: did Kommo act on this request?
 *
 *   KL_API_DONE      Kommo answered 2xx and the reply was read: it acted.
 *   KL_API_REFUSED   Kommo answered that it did nothing (4xx, and 503,
 *                    which Kommo gives before it touches a request).
 *   KL_API_NOT_SENT  the request never left: no connection, TLS refused,
 *                    plain http led off this machine, interrupted before
 *                    sending, or the caller's before_send hook failed.
 *   KL_API_UNKNOWN   it may have reached Kommo and nobody can tell from
 *                    here whether Kommo acted: no reply, a 5xx other than
 *                    503, a 2xx whose reply cannot be read, a connection
 *                    that died while the body was being sent (libcurl is not
 *                    allowed to send it again on its own).
 *
 * Retries: a 429 is waited out (Retry-After) and sent again for every
 * method, since Kommo did nothing. A GET is also sent again after 502, 503,
 * 504 and lost connections (it changes nothing). A single create or update
 * goes once more only after a 429. An import's batch (KL_API_RETRY_BATCH)
 * also goes again after a 503 and after a connection that never got
 * through. Anything else comes back to the caller with its verdict: what to
 * do about an unknown outcome is the caller's decision, since only it knows
 * how to look for what it sent.
 *
 * Error replies are explained in err in the words of kl_report, one line
 * per '\n', with the exit status they call for.
 */
#ifndef KL_API_H
#define KL_API_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "kommo/kl_http.h"
#include "kommo/kl_limiter.h"
#include "kommo/kl_rate.h"
#include "kommo/kl_reply.h"
#include "kommo/kl_report.h"
#include "util/kl_err.h"

struct cJSON;

struct kl_api {
	struct kl_http *http;
	struct kl_limiter limit;            /* every request takes its start from it */
	const char *base_url;               /* for messages */
	const char *token_origin;           /* named when Kommo refuses the token; may be NULL */
	int max_retries;                    /* of one request, or of a batch's attempts */
	/* set by a signal (may be NULL): 1 stops every wait and every new write
	 * (a read may still settle what the request in flight did); from
	 * KL_HTTP_STOP_NOW (2) nothing new starts and the request in flight is
	 * aborted, its outcome unknown when it may have reached Kommo */
	const volatile sig_atomic_t *stop;
	/* set to 1 while a request is on the wire, else 0 (may be NULL): a
	 * signal handler reads it to say truly what it stops */
	volatile sig_atomic_t *in_flight;
	kl_log_fn log;                      /* retries are told here; may be NULL */
	void *log_ctx;
	unsigned seed;                      /* backoff jitter */
	unsigned long long requests, retries;
};

/* Makes a client with its own transport and a limit of rate requests a
 * second (0: none), shared with every process on the account (kl_limiter:
 * get finds its directory, warn says when it cannot be shared);
 * max_retries as above. */
int kl_api_open(struct kl_api *a, const struct kl_http_opts *ho, double rate, int max_retries,
		kl_getenv_fn get, kl_log_fn warn, void *warn_ctx, struct kl_err *err);
void kl_api_close(struct kl_api *a); /* accepts a zeroed client */

enum kl_api_outcome { KL_API_DONE, KL_API_REFUSED, KL_API_NOT_SENT, KL_API_UNKNOWN };

enum kl_api_retry {
	KL_API_RETRY_DEFAULT, /* by method: a GET as a read, anything else as a write */
	KL_API_RETRY_BATCH    /* a write that may also go again after 503 or no connection */
};

/* Reads a 2xx reply's body into what the caller needs; a failure makes the
 * outcome KL_API_UNKNOWN (Kommo acted, but what it made cannot be told). */
typedef int (*kl_api_parse_fn)(void *ctx, const char *body, size_t len, struct kl_err *err);

struct kl_api_req {
	const char *method;          /* "GET", "POST", "PATCH" */
	const char *path;            /* from '/', may carry a query */
	const char *body;            /* JSON text, or NULL */
	const char *what;            /* names what was sent in messages: "the lead" */
	kl_origin_fn origin;         /* names validation errors' paths; may be NULL */
	const void *origin_ctx;
	enum kl_api_retry retry;
	const char *resend;          /* -v's words for a retry ("retrying rows 2-4"); NULL: "on METHOD PATH: retrying" */
	kl_api_parse_fn parse;       /* NULL: the body must be JSON (kept in res->json) */
	void *parse_ctx;
	/* called once the pace allows the request and just before it goes (the
	 * journal is written there); resend: an earlier try in this call was
	 * refused or never sent, so Kommo surely did nothing with it. A failure
	 * sends nothing (KL_API_NOT_SENT). */
	int (*before_send)(void *ctx, bool resend, struct kl_err *err);
	void *before_ctx;
	int *attempt;                /* retries so far, carried across calls; NULL: this call's own */
};

struct kl_api_res {
	enum kl_api_outcome outcome;
	long status;               /* of the last reply; 0: none came */
	double seconds;            /* how long the last exchange took */
	struct cJSON *json;        /* KL_API_DONE without parse: the reply; NULL for 204 or no body */
	struct kl_problem problem; /* an error reply (status >= 300), as read */
	bool interrupted;          /* a signal stopped it before, while waiting to retry, or in flight */
};

void kl_api_res_free(struct kl_api_res *r); /* accepts NULL */

/* Sends one request with the policy above. Returns KL_OK when the outcome is
 * KL_API_DONE; otherwise the exit status it calls for, with err explaining. */
int kl_api_send(struct kl_api *a, const struct kl_api_req *rq, struct kl_api_res *res,
		struct kl_err *err);

/* kl_api_send for the simple case: on KL_OK *out is the parsed reply, or
 * NULL for 204 and an empty body. *status, when not NULL, gets the HTTP
 * status (0: no reply); *outcome, when not NULL, the verdict. */
int kl_api_call(struct kl_api *a, const char *method, const char *path, const char *body,
		const char *what, kl_origin_fn origin, const void *origin_ctx, struct cJSON **out,
		long *status, enum kl_api_outcome *outcome, struct kl_err *err);

/* Waits before attempt number attempt of something whose outcome was unknown
 * (backoff with jitter), and counts it as a retry; false when a signal
 * stopped the wait. */
bool kl_api_backoff(struct kl_api *a, int attempt, const char *why);

/* GETs a list page by page (page=1,2,... with limit at most 250) while
 * Kommo's reply has _links.next, appending the items of _embedded.KEY to
 * *items (a new array, owned by the caller). max > 0 stops after max items;
 * *more (may be NULL) then tells whether Kommo had more. path may carry a
 * query. A 204 ends the list. */
int kl_api_list(struct kl_api *a, const char *path, const char *key, size_t max,
		struct cJSON **items, bool *more, struct kl_err *err);

/* The most pages kl_api_list reads, and the most entries it keeps: a list
 * whose next never ends is not Kommo's, and memory stays bounded (an
 * account's custom fields and pipelines are counted in hundreds). */
#define KL_API_MAX_PAGES 400
#define KL_API_MAX_ITEMS 10000

#endif
