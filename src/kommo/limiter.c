#include "kommo/kl_limiter.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/kl_str.h"

/* At most KL_LIMITER_ACCOUNT_RATE starts in any WINDOW seconds: Kommo's
 * second, plus kl_rate's margin, as Kommo counts arrivals, not departures. */
#define WINDOW (1.0 + KL_LIMITER_MARGIN)

/* A wait is never shorter: a slot that rounding kept busy is not worth a
 * loop of wake-ups. */
#define MIN_WAIT 1e-3

/* The shared file: one fixed-size record, rewritten in place under the
 * lock. A torn or foreign record fails the magic, the size or the sum. The
 * layout's version is in the file's name, so a kommo-lead with another
 * layout uses another file instead of taking this one for garbage. */
struct record {
	char magic[8];
	char boot[40];      /* the writer's boot: times from another boot mean nothing */
	double hold_until;  /* nobody starts before, after a 429 */
	double starts[KL_LIMITER_ACCOUNT_RATE]; /* 0: free */
	uint64_t sum;       /* FNV-1a of everything above */
};
_Static_assert(sizeof(struct record) == 56 + 8 * KL_LIMITER_ACCOUNT_RATE + 8, "a record has no padding");

static const char MAGIC[8] = "KLLIMIT";

enum rec_state { REC_OK, REC_EMPTY, REC_BAD, REC_ERR };

static uint64_t fnv1a(uint64_t h, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

#define FNV_BASIS 0xcbf29ce484222325ULL

static uint64_t record_sum(const struct record *r)
{
	return fnv1a(FNV_BASIS, (const unsigned char *)r, offsetof(struct record, sum));
}

static double default_clock(void *ctx)
{
	(void)ctx;
	return kl_rate_now();
}

/* XDG: a relative path in these variables is to be ignored. */
static const char *absolute(kl_getenv_fn get, const char *name)
{
	const char *v = get ? get(name) : NULL;
	return v && v[0] == '/' ? v : NULL;
}

static char *limit_dir(kl_getenv_fn get)
{
	const char *v;
	if ((v = absolute(get, "XDG_RUNTIME_DIR")))
		return kl_str_printf("%s/kommo-lead", v);
	if ((v = absolute(get, "XDG_CACHE_HOME")))
		return kl_str_printf("%s/kommo-lead", v);
	if ((v = absolute(get, "HOME")))
		return kl_str_printf("%s/.cache/kommo-lead", v);
	return NULL;
}

char *kl_limiter_path(const char *base_url, kl_getenv_fn get)
{
	char *dir = limit_dir(get);
	if (!dir)
		return NULL;
	/* one account, however its URL is spelt: the host's case and a
	 * trailing slash do not make another account */
	size_t n = strlen(base_url);
	while (n && base_url[n - 1] == '/')
		n--;
	uint64_t h = FNV_BASIS;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)tolower((unsigned char)base_url[i]);
		h = fnv1a(h, &c, 1);
	}
	char *path = kl_str_printf("%s/account-v1-%016llx", dir, (unsigned long long)h);
	free(dir);
	return path;
}

/* mkdir of path, and of its parent when that is missing too (~/.cache). */
static int make_dir(const char *path)
{
	if (mkdir(path, 0700) == 0 || errno == EEXIST)
		return 0;
	if (errno != ENOENT)
		return -1;
	char *parent = strdup(path);
	char *slash = parent ? strrchr(parent, '/') : NULL;
	int rc = -1;
	if (slash && slash != parent) {
		*slash = '\0';
		if (mkdir(parent, 0700) == 0 || errno == EEXIST)
			rc = mkdir(path, 0700) == 0 || errno == EEXIST ? 0 : -1;
	}
	int saved = errno;
	free(parent);
	errno = saved;
	return rc;
}

static int lock(int fd, int op)
{
	while (flock(fd, op) == -1)
		if (errno != EINTR)
			return -1;
	return 0;
}

/* Tells the log why the file is not used and paces this process alone
 * from now on (own is at most the account's rate). */
static void fall_back(struct kl_limiter *l, const char *doing, int errnum)
{
	if (l->log) {
		char line[1024];
		snprintf(line, sizeof line,
			 "cannot %s %s (%s): pacing this process alone at %d requests a second; "
			 "other kommo-lead processes on the same account are not counted",
			 doing, l->path ? l->path : "a rate-limit file", strerror(errnum), KL_LIMITER_ACCOUNT_RATE);
		l->log(l->log_ctx, line);
	}
	if (l->shared)
		close(l->fd);
	l->shared = false;
	l->fd = -1;
}

static void open_shared(struct kl_limiter *l, const char *base_url, kl_getenv_fn get)
{
	struct stat st;
	if (!(l->path = kl_limiter_path(base_url, get))) {
		fall_back(l, "find a directory (no XDG_RUNTIME_DIR, XDG_CACHE_HOME or HOME) for", ENOENT);
		return;
	}
	char *slash = strrchr(l->path, '/');
	*slash = '\0';
	int rc = make_dir(l->path);
	*slash = '/';
	if (rc) {
		fall_back(l, "make the directory of", errno);
		return;
	}
	l->fd = open(l->path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (l->fd < 0) {
		fall_back(l, "open", errno);
		return;
	}
	l->shared = true;
	if (fstat(l->fd, &st)) {
		fall_back(l, "use", errno);
		return;
	}
	if (!S_ISREG(st.st_mode)) {
		fall_back(l, "use", EINVAL);
		return;
	}
	/* a file system without locks (NFS without lockd) is found now, not
	 * in the middle of a run */
	if (lock(l->fd, LOCK_EX) || lock(l->fd, LOCK_UN))
		fall_back(l, "lock", errno);
}

static void read_boot_id(char boot[40])
{
	memset(boot, 0, 40);
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");
	if (!f)
		return; /* then every file looks like this boot's: times still expire */
	if (!fgets(boot, 40, f))
		boot[0] = '\0';
	boot[strcspn(boot, "\n")] = '\0';
	fclose(f);
}

int kl_limiter_open(struct kl_limiter *l, const char *base_url, double per_second, kl_getenv_fn get,
		    kl_log_fn log, void *log_ctx, struct kl_err *err)
{
	memset(l, 0, sizeof *l);
	l->fd = -1;
	l->clock = default_clock;
	l->log = log;
	l->log_ctx = log_ctx;
	/* the account's limit binds a process alone too, e.g. when it falls back */
	if (per_second > KL_LIMITER_ACCOUNT_RATE)
		per_second = KL_LIMITER_ACCOUNT_RATE;
	int rc = kl_rate_init(&l->own, per_second, err);
	if (rc)
		return rc;
	if (per_second <= 0)
		return KL_OK; /* no limit: a sandbox with its limit off; share nothing */
	read_boot_id(l->boot);
	open_shared(l, base_url ? base_url : "", get);
	return KL_OK;
}

void kl_limiter_close(struct kl_limiter *l)
{
	if (l->shared)
		close(l->fd);
	free(l->path);
	kl_rate_free(&l->own);
	memset(l, 0, sizeof *l);
	l->fd = -1;
}

bool kl_limiter_shared(const struct kl_limiter *l)
{
	return l->shared;
}

static enum rec_state read_record(int fd, struct record *r)
{
	unsigned char buf[sizeof *r + 1];
	ssize_t n;
	while ((n = pread(fd, buf, sizeof buf, 0)) < 0)
		if (errno != EINTR)
			return REC_ERR;
	if (n == 0)
		return REC_EMPTY;
	if ((size_t)n != sizeof *r)
		return REC_BAD;
	memcpy(r, buf, sizeof *r);
	if (memcmp(r->magic, MAGIC, sizeof MAGIC) || r->sum != record_sum(r) || !isfinite(r->hold_until) ||
	    memchr(r->boot, '\0', sizeof r->boot) == NULL)
		return REC_BAD;
	for (size_t i = 0; i < KL_LIMITER_ACCOUNT_RATE; i++)
		if (!isfinite(r->starts[i]) || r->starts[i] < 0)
			return REC_BAD;
	return REC_OK;
}

static int write_record(int fd, struct record *r)
{
	r->sum = record_sum(r);
	ssize_t n;
	while ((n = pwrite(fd, r, sizeof *r, 0)) < 0)
		if (errno != EINTR)
			return -1;
	if ((size_t)n != sizeof *r) {
		errno = ENOSPC;
		return -1;
	}
	return 0;
}

static void fresh_record(struct record *r, const char *boot)
{
	memset(r, 0, sizeof *r);
	memcpy(r->magic, MAGIC, sizeof MAGIC);
	memcpy(r->boot, boot, sizeof r->boot);
}

/* Within one boot every time in the file was read from the same clock,
 * under the lock, before now: one much later is not a time at all. */
static bool plausible(const struct record *r, double now)
{
	if (r->hold_until > now + KL_RATE_MAX_WAIT + WINDOW)
		return false;
	for (size_t i = 0; i < KL_LIMITER_ACCOUNT_RATE; i++)
		if (r->starts[i] > now + WINDOW)
			return false;
	return true;
}

/* Reads the file under the lock into r, made usable: a record of another
 * boot holds nothing; garbage is read as a window full of starts at now,
 * since who started when is unknown (everyone waits one window, once).
 * Returns REC_OK, REC_BAD (r rebuilt: write it) or REC_ERR. */
static enum rec_state load(struct kl_limiter *l, struct record *r, double now)
{
	enum rec_state st = read_record(l->fd, r);
	if (st == REC_ERR)
		return st;
	if (st == REC_OK && strncmp(r->boot, l->boot, sizeof r->boot) != 0)
		st = REC_EMPTY;
	else if (st == REC_OK && !plausible(r, now))
		st = REC_BAD;
	if (st == REC_OK)
		return st;
	fresh_record(r, l->boot);
	if (st == REC_BAD)
		for (size_t i = 0; i < KL_LIMITER_ACCOUNT_RATE; i++)
			r->starts[i] = now;
	return REC_BAD;
}

/* Takes a slot in r at now, or says how long until one frees. */
static double slot_wait(struct record *r, double now)
{
	if (r->hold_until > now)
		return fmax(r->hold_until - now, MIN_WAIT);
	size_t live = 0, free_slot = 0;
	double oldest = INFINITY;
	for (size_t i = 0; i < KL_LIMITER_ACCOUNT_RATE; i++) {
		double s = r->starts[i];
		if (s > 0 && now - s < WINDOW) {
			live++;
			oldest = fmin(oldest, s);
		} else {
			free_slot = i;
		}
	}
	if (live < KL_LIMITER_ACCOUNT_RATE) {
		r->starts[free_slot] = now;
		return 0;
	}
	return fmax(oldest + WINDOW - now, MIN_WAIT);
}

/* The shared half of a take; *now becomes the time read under the lock,
 * so the file's times are in the order the slots were taken. -1: the file
 * failed (and was given up). */
static double take_shared(struct kl_limiter *l, double *now)
{
	struct record r;
	if (lock(l->fd, LOCK_EX)) {
		fall_back(l, "lock", errno);
		return -1;
	}
	*now = l->clock(l->clock_ctx);
	enum rec_state st = load(l, &r, *now);
	double wait = st == REC_ERR ? -1 : slot_wait(&r, *now);
	if ((st == REC_BAD || wait == 0) && write_record(l->fd, &r))
		wait = -1;
	int errnum = st == REC_ERR || wait < 0 ? errno : 0;
	lock(l->fd, LOCK_UN);
	if (wait < 0)
		fall_back(l, st == REC_ERR ? "read" : "write", errnum);
	return wait;
}

double kl_limiter_take(struct kl_limiter *l)
{
	double now = l->clock(l->clock_ctx);
	double wait = kl_rate_wait(&l->own, now);
	if (wait > 0)
		return wait;
	if (l->hold_until > now)
		return l->hold_until - now;
	if (l->shared && (wait = take_shared(l, &now)) > 0)
		return wait;
	/* taken, or the file just failed: the own rate (at most the account's)
	 * said go */
	kl_rate_started(&l->own, now);
	l->taken_at = now;
	return 0;
}

void kl_limiter_sent(struct kl_limiter *l, double sent_at)
{
	if (!l->shared || !(sent_at > l->taken_at))
		return;
	struct record r;
	if (lock(l->fd, LOCK_EX)) {
		fall_back(l, "lock", errno);
		return;
	}
	double now = l->clock(l->clock_ctx);
	int failed = 0;
	if (load(l, &r, now) != REC_OK) {
		failed = -1; /* garbage was just made a full window: nothing to move */
	} else {
		for (size_t i = 0; i < KL_LIMITER_ACCOUNT_RATE; i++)
			if (r.starts[i] == l->taken_at) {
				r.starts[i] = fmin(sent_at, now); /* never in the future */
				failed = write_record(l->fd, &r) ? 1 : 0;
				break;
			}
	}
	int errnum = errno;
	lock(l->fd, LOCK_UN);
	l->taken_at = fmin(sent_at, now);
	if (failed > 0)
		fall_back(l, "write", errnum);
}

void kl_limiter_hold_off(struct kl_limiter *l, double seconds)
{
	if (!(seconds > 0))
		return;
	if (seconds > KL_RATE_MAX_WAIT)
		seconds = KL_RATE_MAX_WAIT; /* what plausible() accepts */
	l->hold_until = fmax(l->hold_until, l->clock(l->clock_ctx) + seconds);
	if (!l->shared)
		return;
	struct record r;
	if (lock(l->fd, LOCK_EX)) {
		fall_back(l, "lock", errno);
		return;
	}
	double now = l->clock(l->clock_ctx);
	enum rec_state st = load(l, &r, now);
	int failed = st == REC_ERR;
	if (!failed) {
		r.hold_until = fmax(r.hold_until, now + seconds);
		failed = write_record(l->fd, &r) ? 2 : 0;
	}
	int errnum = errno;
	lock(l->fd, LOCK_UN);
	if (failed)
		fall_back(l, failed == 1 ? "read" : "write", errnum);
}
