/*
 * kl_rate: a client-side limit on requests per second that is never
 * exceeded, retries included.
 *
 * At most floor(rate) requests start in any window of one second (for a
 * rate below 1: one in 1/rate seconds), plus a small margin for network
 * jitter, since Kommo counts arrivals, not departures. Time is passed in, so the limiter is exact and
 * testable; callers use kl_rate_now().
 */
#ifndef KL_RATE_H
#define KL_RATE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "util/kl_err.h"

/* Seconds added to every window: requests that leave a window apart may
 * arrive closer together, the more so when several processes share the
 * account's limit (scheduling, new connections): 7 starts in any 1.1 s,
 * 91% of Kommo's limit, never over it. */
#define KL_RATE_MARGIN 0.1

struct kl_rate {
	double window;  /* seconds; 0: no limit */
	size_t k;       /* requests per window */
	double *starts; /* ring of the last k start times */
	size_t head, count;
};

/* per_second <= 0 means no limit. */
int kl_rate_init(struct kl_rate *r, double per_second, struct kl_err *err);
void kl_rate_free(struct kl_rate *r);

/* Seconds to wait, at time now, before the next request may start (0: go). */
double kl_rate_wait(const struct kl_rate *r, double now);

/* Notes that a request started at now. */
void kl_rate_started(struct kl_rate *r, double now);

/* A monotonic clock in seconds. */
double kl_rate_now(void);

/* The longest wait before a retry: longer means Kommo is not coming back
 * soon, and a cron job should not sleep for hours. */
#define KL_RATE_MAX_WAIT 120.0

/* Seconds to wait before retry number attempt (0 first): Retry-After when
 * Kommo gave one (at most KL_RATE_MAX_WAIT), else exponential backoff with
 * jitter from seed, at least 1 s after a 429 (Kommo counts per second). */
double kl_rate_backoff(unsigned *seed, int attempt, long retry_after, bool rate_limited);

/* Sleeps up to secs in slices of 0.1 s, returning early once *stop is set
 * (by a signal handler); stop may be NULL. */
void kl_rate_sleep(double secs, const volatile sig_atomic_t *stop);

#endif
