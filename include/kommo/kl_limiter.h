/*
 * kl_limiter: Kommo's per-account limit of 7 request starts a second,
 * shared by every kommo-lead process of the user on this machine.
 *
 * The budget lives in one small file per account (base URL) under
 * $XDG_RUNTIME_DIR/kommo-lead/ (else $XDG_CACHE_HOME/kommo-lead/, else
 * ~/.cache/kommo-lead/): the account's last 7 start times and a "nobody
 * sends before" time set after a 429. Every take locks it, so racing
 * processes never exceed the limit together; a holder killed by kill -9
 * loses its lock with its life, and its starts expire by time, so a run
 * restarted at once still waits for the starts of the one it replaced.
 * Processes on other machines, or of other users, are not covered.
 *
 * The process's own --rate is kept in-process on top of it (it can only
 * lower the process's share). With --rate 0 (no limit: a sandbox with its
 * limit off) the file is not touched at all. If the file cannot be made or
 * locked, the limiter says so once through its log and paces the process
 * alone at the account's rate: a limit is never a reason to fail a command.
 *
 * Times are CLOCK_MONOTONIC seconds (kl_rate_now): on Linux one clock for
 * every process since boot, never stepped by NTP or an administrator. A
 * stepped CLOCK_REALTIME would make recorded starts look older than they
 * are (going over the limit) or lie in the future (stalling everyone).
 */
#ifndef KL_LIMITER_H
#define KL_LIMITER_H

#include <stdbool.h>

#include "core/kl_config.h"
#include "kommo/kl_http.h"
#include "kommo/kl_rate.h"
#include "util/kl_err.h"

/* Kommo's limit for one account, whatever --rate says. */
#define KL_LIMITER_ACCOUNT_RATE 7

/* Seconds added to the account's window of 1 s: as a process's own. */
#define KL_LIMITER_MARGIN KL_RATE_MARGIN

/* A clock in seconds; tests pass a simulated one. */
typedef double (*kl_limiter_clock_fn)(void *ctx);

struct kl_limiter {
	struct kl_rate own;     /* --rate, at most the account's rate */
	bool shared;            /* the shared file is in use (fd is open) */
	int fd;
	char *path;             /* the shared file's path, for messages; NULL when none */
	double hold_until;      /* this process's own hold after a 429 */
	double taken_at;        /* when the last slot was taken */
	char boot[40];          /* this boot's id: a file from another boot holds nothing */
	kl_limiter_clock_fn clock; /* kl_rate_now unless replaced (tests) */
	void *clock_ctx;
	kl_log_fn log;          /* the fallback's warning; may be NULL */
	void *log_ctx;
};

/* Opens the limiter of the account at base_url for a process allowed
 * per_second requests (<= 0: no limit, and no shared file). get finds
 * XDG_RUNTIME_DIR, XDG_CACHE_HOME and HOME. Fails only when out of memory;
 * a shared file that cannot be used is told to log (may be NULL). */
int kl_limiter_open(struct kl_limiter *l, const char *base_url, double per_second, kl_getenv_fn get,
		    kl_log_fn log, void *log_ctx, struct kl_err *err);
void kl_limiter_close(struct kl_limiter *l); /* accepts a zeroed limiter */

/* Takes the next request's slot: 0 when taken (the request may start now),
 * else the seconds to wait before asking again. The process's own rate is
 * asked first, so a process never holds a shared slot while it waits on
 * its own. The transport's pacing is:
 *     while ((w = kl_limiter_take(l)) > 0) sleep w (or stop on a signal) */
double kl_limiter_take(struct kl_limiter *l);

/* The last slot's request left at sent_at (e.g. taken_at plus libcurl's
 * CURLINFO_PRETRANSFER_TIME: connecting, TLS): its start is moved there,
 * since Kommo counts arrivals and a new connection can take longer than
 * KL_RATE_MARGIN. Without it a process's first request on a fresh
 * connection can arrive in the next process's second. */
void kl_limiter_sent(struct kl_limiter *l, double sent_at);

/* After a 429: nobody on this account, in any process, takes a slot for
 * seconds from now (what Kommo asked for). */
void kl_limiter_hold_off(struct kl_limiter *l, double seconds);

/* Whether the shared file is in use (false: no limit, or fallen back). */
bool kl_limiter_shared(const struct kl_limiter *l);

/* The shared file's path for base_url in a malloc'd string, or NULL when
 * no directory is known (or out of memory). */
char *kl_limiter_path(const char *base_url, kl_getenv_fn get);

#endif
