/*
 * kl_api: Kommo's JSON endpoints for the commands that look things up or
 * create and update entities (check, fields, leads, contacts, and the
 * searches of --skip-existing).
 *
 * A struct kl_api sends through a kl_http transport and a kl_rate limiter,
 * its own or borrowed (import shares its own, so searches count against the
 * same limit as batches). A 429 is waited out and retried for every method
 * (Kommo did nothing); GETs are also retried after 502, 503, 504 and lost
 * connections (they change nothing), POST and PATCH never, since Kommo may
 * have acted on them. Error replies are explained in err in the
 * words of kl_report, one line per '\n', with the exit status they call for.
 */
#ifndef KL_API_H
#define KL_API_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "util/kl_err.h"
#include "kommo/kl_http.h"
#include "kommo/kl_rate.h"
#include "kommo/kl_report.h"

struct cJSON;

struct kl_api {
	struct kl_http *http;               /* used for every request */
	struct kl_rate *rate;               /* NULL: no limit */
	const char *base_url;               /* for messages */
	const char *token_origin;           /* named when Kommo refuses the token; may be NULL */
	int max_retries;                    /* of a GET, and of anything after a 429 */
	const volatile sig_atomic_t *stop;  /* set by a signal: stop waiting; may be NULL */
	kl_log_fn log;                      /* retries are told here; may be NULL */
	void *log_ctx;
	unsigned seed;                      /* backoff jitter */
	unsigned long long requests, retries;
	bool maybe_sent; /* the last request failed without a reply after it may have reached Kommo */

	/* owned when made by kl_api_open */
	struct kl_http *own_http;
	struct kl_rate own_rate;
};

/* Makes a client with its own transport and a limit of rate requests a
 * second (0: none). */
int kl_api_open(struct kl_api *a, const struct kl_http_opts *ho, double rate, int max_retries,
		struct kl_err *err);
void kl_api_close(struct kl_api *a); /* only what kl_api_open made */

/* Waits until the limit lets the next request start and counts it as
 * started; false when a signal stopped the wait (nothing may be sent). Every
 * request sent on a's transport goes through here. */
bool kl_api_pace(struct kl_api *a);

/* How long to wait before sending again after reply (attempt: retries so
 * far): for a 429 what Kommo asks (Retry-After, in the header or the body),
 * else a backoff with jitter. */
double kl_api_retry_wait(struct kl_api *a, int attempt, const struct kl_http_reply *reply);

/* Sends one request (body: JSON text or NULL). On a 2xx, *out is the parsed
 * reply, or NULL for 204 and an empty body; a 2xx that is not JSON is
 * KL_EPROTOCOL. Otherwise err explains Kommo's answer and the exit status
 * is returned; what names what was sent ("the lead"), origin (may be NULL)
 * names validation errors' paths. *status, when not NULL, gets the HTTP
 * status (0: no reply). */
int kl_api_call(struct kl_api *a, const char *method, const char *path, const char *body,
		const char *what, kl_origin_fn origin, const void *origin_ctx, struct cJSON **out,
		long *status, struct kl_err *err);

/* GETs a list page by page (page=1,2,... with limit at most 250) while
 * Kommo's reply has _links.next, appending the items of _embedded.KEY to
 * *items (a new array, owned by the caller). max > 0 stops after max items;
 * *more (may be NULL) then tells whether Kommo had more. path may carry a
 * query. A 204 ends the list. */
int kl_api_list(struct kl_api *a, const char *path, const char *key, size_t max,
		struct cJSON **items, bool *more, struct kl_err *err);

/* The most pages kl_api_list reads: a reply whose next never ends is not Kommo. */
#define KL_API_MAX_PAGES 10000

#endif
