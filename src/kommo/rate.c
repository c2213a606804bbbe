#include "kommo/kl_rate.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

int kl_rate_init(struct kl_rate *r, double per_second, struct kl_err *err)
{
	memset(r, 0, sizeof *r);
	if (per_second <= 0)
		return KL_OK;
	/* never more than floor(R) in any second; below 1, one per 1/R seconds */
	r->k = per_second >= 1 ? (size_t)per_second : 1;
	r->window = (per_second >= 1 ? 1.0 : 1.0 / per_second) + KL_RATE_MARGIN;
	if (!(r->starts = calloc(r->k, sizeof *r->starts)))
		return kl_err_oom(err);
	return KL_OK;
}

void kl_rate_free(struct kl_rate *r)
{
	free(r->starts);
	memset(r, 0, sizeof *r);
}

double kl_rate_wait(const struct kl_rate *r, double now)
{
	if (r->window == 0 || r->count < r->k)
		return 0;
	/* the oldest of the last k starts must have left the window */
	double oldest = r->starts[r->head];
	double wait = oldest + r->window - now;
	return wait > 0 ? wait : 0;
}

void kl_rate_started(struct kl_rate *r, double now)
{
	if (r->window == 0)
		return;
	r->starts[r->head] = now;
	r->head = (r->head + 1) % r->k;
	if (r->count < r->k)
		r->count++;
}

double kl_rate_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double kl_rate_backoff(unsigned *seed, int attempt, long retry_after, bool rate_limited)
{
	if (retry_after >= 0)
		return retry_after > KL_RATE_MAX_WAIT ? KL_RATE_MAX_WAIT : (double)retry_after;
	double base = 0.5 * (double)(1u << (attempt < 6 ? attempt : 6));
	if (rate_limited && base < 1.0)
		base = 1.0; /* Kommo counts per second: sooner is wasted */
	if (base > 30)
		base = 30;
	return base * (0.5 + (double)rand_r(seed) / RAND_MAX); /* jitter: no herd */
}

void kl_rate_sleep(double secs, const volatile sig_atomic_t *stop)
{
	while (secs > 0 && !(stop && *stop)) {
		double s = secs > 0.1 ? 0.1 : secs;
		struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
		nanosleep(&ts, NULL);
		secs -= s;
	}
}
