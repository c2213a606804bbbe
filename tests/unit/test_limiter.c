/* The account-wide limiter: limiters in one process stand for processes
 * (each has its own descriptor and lock) on a simulated clock; forked
 * children show real processes racing, and being killed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kommo/kl_limiter.h"

#define K KL_LIMITER_ACCOUNT_RATE
#define WINDOW (1.0 + KL_LIMITER_MARGIN)
#define EPS 1e-9

/* cmocka's assert_float_equal compares floats: too coarse for times near 100 s */
static void assert_near(double got, double want, double eps)
{
	if (!(got >= want - eps && got <= want + eps))
		fail_msg("%.12f is not %.12f", got, want);
}

static const char *URL = "https://acme.kommo.com";

/* The environment the limiter sees: set per test. */
static struct {
	char runtime[512], cache[512], home[512];
} env;

static const char *fake_getenv(const char *name)
{
	const char *v = strcmp(name, "XDG_RUNTIME_DIR") == 0 ? env.runtime
			: strcmp(name, "XDG_CACHE_HOME") == 0 ? env.cache
			: strcmp(name, "HOME") == 0 ? env.home : "";
	return v[0] ? v : NULL;
}

static double fake_clock(void *ctx)
{
	return *(double *)ctx;
}

static struct {
	int calls;
	char last[1024];
} logged;

static char tmpdir[sizeof env.runtime];

/* A fresh directory for XDG_RUNTIME_DIR. */
static int setup(void **state)
{
	(void)state;
	const char *tmp = getenv("KL_TEST_TMP");
	memset(&env, 0, sizeof env);
	memset(&logged, 0, sizeof logged);
	snprintf(tmpdir, sizeof tmpdir, "%s/limiter-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(tmpdir))
		return -1;
	memcpy(env.runtime, tmpdir, sizeof tmpdir);
	return 0;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static int teardown(void **state)
{
	(void)state;
	return nftw(tmpdir, remove_one, 8, FTW_DEPTH | FTW_PHYS);
}

static void log_line(void *ctx, const char *line)
{
	(void)ctx;
	logged.calls++;
	snprintf(logged.last, sizeof logged.last, "%s", line);
}

/* A limiter for url at rate per_second on the clock *now. */
static void open_at(struct kl_limiter *l, const char *url, double per_second, double *now)
{
	struct kl_err err = {0};
	assert_int_equal(kl_limiter_open(l, url, per_second, fake_getenv, log_line, NULL, &err), KL_OK);
	l->clock = fake_clock;
	l->clock_ctx = now;
}

static void seven_slots_a_window_then_a_wait_until_the_oldest_leaves(void **state)
{
	(void)state;
	double now = 100;
	struct kl_limiter l;
	open_at(&l, URL, 7, &now);
	assert_true(kl_limiter_shared(&l));
	for (int i = 0; i < K; i++, now += 0.01)
		assert_true(kl_limiter_take(&l) == 0);
	now = 100.5;
	assert_near(kl_limiter_take(&l), 100 + WINDOW - 100.5, EPS);
	now = 100 + WINDOW + 1e-6;
	assert_true(kl_limiter_take(&l) == 0);
	assert_near(l.taken_at, now, EPS);
	kl_limiter_close(&l);
}

static void two_processes_on_one_account_share_seven(void **state)
{
	(void)state;
	double now = 100;
	struct kl_limiter a, b;
	open_at(&a, URL, 7, &now);
	open_at(&b, URL, 7, &now);
	for (int i = 0; i < 4; i++)
		assert_true(kl_limiter_take(&a) == 0);
	for (int i = 0; i < 3; i++)
		assert_true(kl_limiter_take(&b) == 0);
	assert_true(kl_limiter_take(&b) > 0);
	assert_true(kl_limiter_take(&a) > 0);
	kl_limiter_close(&a);
	kl_limiter_close(&b);
}

static void another_account_has_its_own_budget_however_urls_are_spelt(void **state)
{
	(void)state;
	double now = 100;
	struct kl_limiter a, b, c;
	open_at(&a, URL, 7, &now);
	open_at(&b, "https://other.kommo.com", 7, &now);
	open_at(&c, "HTTPS://ACME.kommo.com/", 7, &now);
	for (int i = 0; i < K; i++)
		assert_true(kl_limiter_take(&a) == 0);
	assert_true(kl_limiter_take(&b) == 0);
	assert_true(kl_limiter_take(&c) > 0);
	assert_string_equal(a.path, c.path);
	assert_string_not_equal(a.path, b.path);
	kl_limiter_close(&a);
	kl_limiter_close(&b);
	kl_limiter_close(&c);
}

static void a_slow_own_rate_does_not_hold_a_shared_slot_while_it_waits(void **state)
{
	(void)state;
	double now = 100;
	struct kl_limiter slow, fast;
	open_at(&slow, URL, 1, &now);
	open_at(&fast, URL, 7, &now);
	assert_true(kl_limiter_take(&slow) == 0);
	assert_near(kl_limiter_take(&slow), WINDOW, EPS);
	assert_near(kl_limiter_take(&slow), WINDOW, EPS);
	for (int i = 0; i < K - 1; i++)
		assert_true(kl_limiter_take(&fast) == 0);
	assert_true(kl_limiter_take(&fast) > 0);
	kl_limiter_close(&slow);
	kl_limiter_close(&fast);
}

static void a_slot_moves_to_when_its_request_left(void **state)
{
	(void)state;
	double now = 100;
	struct kl_limiter a, b;
	open_at(&a, URL, 7, &now);
	open_at(&b, URL, 7, &now);
	assert_true(kl_limiter_take(&a) == 0);
	now = 100.3;
	kl_limiter_sent(&a, 100.2); /* a slow connect */
	for (int i = 0; i < K - 1; i++)
		assert_true(kl_limiter_take(&b) == 0);
	now = 101.1; /* a's take has left the window, its request has not */
	assert_near(kl_limiter_take(&b), 100.2 + WINDOW - 101.1, EPS);
	now = 100.2 + WINDOW + 1e-6;
	assert_true(kl_limiter_take(&b) == 0);
	kl_limiter_close(&a);
	kl_limiter_close(&b);
}

static void a_rate_above_the_accounts_does_not_raise_it(void **state)
{
	(void)state;
	double now = 100;
	struct kl_limiter l;
	open_at(&l, URL, 1000, &now);
	for (int i = 0; i < K; i++)
		assert_true(kl_limiter_take(&l) == 0);
	assert_true(kl_limiter_take(&l) > 0);
	kl_limiter_close(&l);
}

static void a_429_seen_by_one_holds_off_every_taker(void **state)
{
	(void)state;
	double now = 100;
	struct kl_limiter a, b;
	open_at(&a, URL, 7, &now);
	open_at(&b, URL, 7, &now);
	kl_limiter_hold_off(&a, 5);
	now = 101;
	assert_near(kl_limiter_take(&b), 4, EPS);
	assert_near(kl_limiter_take(&a), 4, EPS);
	now = 105;
	assert_true(kl_limiter_take(&b) == 0);
	assert_true(kl_limiter_take(&a) == 0);
	/* a shorter hold does not shorten a longer one */
	kl_limiter_hold_off(&a, 10);
	kl_limiter_hold_off(&b, 2);
	now = 110;
	assert_near(kl_limiter_take(&b), 5, EPS);
	kl_limiter_close(&a);
	kl_limiter_close(&b);
}

static void a_hold_off_is_at_most_the_longest_wait(void **state)
{
	(void)state;
	double now = 100;
	struct kl_limiter a, b;
	open_at(&a, URL, 7, &now);
	open_at(&b, URL, 7, &now);
	kl_limiter_hold_off(&a, 1e6);
	assert_near(kl_limiter_take(&b), KL_RATE_MAX_WAIT, EPS);
	kl_limiter_close(&a);
	kl_limiter_close(&b);
}

static void overwrite(const char *path, off_t at, const void *data, size_t len, bool truncate_after)
{
	int fd = open(path, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, data, len, at), (ssize_t)len);
	if (truncate_after)
		assert_int_equal(ftruncate(fd, at + (off_t)len), 0);
	close(fd);
}

/* After garbage, b waits one full window, then has the account's seven. */
static void expect_one_full_window(struct kl_limiter *b, double *now)
{
	double t0 = *now;
	assert_near(kl_limiter_take(b), WINDOW, EPS);
	*now = t0 + WINDOW + 1e-6;
	for (int i = 0; i < K; i++)
		assert_true(kl_limiter_take(b) == 0);
	assert_true(kl_limiter_take(b) > 0);
}

static void garbage_in_the_file_costs_one_full_window_then_the_file_heals(void **state)
{
	(void)state;
	double now = 100;
	struct kl_limiter b;
	open_at(&b, URL, 7, &now);
	overwrite(b.path, 0, "not a record\n", 13, true);
	expect_one_full_window(&b, &now);
	kl_limiter_close(&b);
}

static void a_record_cut_short_or_changed_reads_as_garbage(void **state)
{
	(void)state;
	double now = 100;
	struct kl_limiter a, b;
	open_at(&a, URL, 7, &now);
	open_at(&b, URL, 7, &now);
	assert_true(kl_limiter_take(&a) == 0);
	struct stat st;
	assert_int_equal(stat(a.path, &st), 0);
	overwrite(a.path, st.st_size / 2, "", 0, true); /* a writer killed halfway */
	expect_one_full_window(&b, &now);
	now += 10;
	assert_true(kl_limiter_take(&a) == 0);
	overwrite(a.path, 60, "\x01", 1, false); /* one start changed: the sum tells */
	expect_one_full_window(&b, &now);
	kl_limiter_close(&a);
	kl_limiter_close(&b);
}

static void times_from_a_future_no_clock_reaches_read_as_garbage(void **state)
{
	(void)state;
	double now = 1000, then = 100;
	struct kl_limiter a, b;
	open_at(&a, URL, 7, &now);
	open_at(&b, URL, 7, &then);
	assert_true(kl_limiter_take(&a) == 0);
	expect_one_full_window(&b, &then);
	kl_limiter_close(&a);
	kl_limiter_close(&b);
}

static void a_file_from_another_boot_holds_nothing(void **state)
{
	(void)state;
	double now = 100;
	struct kl_limiter a, b;
	open_at(&a, URL, 7, &now);
	open_at(&b, URL, 7, &now);
	snprintf(a.boot, sizeof a.boot, "the boot before");
	for (int i = 0; i < K; i++)
		assert_true(kl_limiter_take(&a) == 0);
	kl_limiter_hold_off(&a, 60);
	assert_true(kl_limiter_take(&b) == 0);
	kl_limiter_close(&a);
	kl_limiter_close(&b);
}

static void no_limit_touches_no_file(void **state)
{
	(void)state;
	double now = 100;
	struct kl_limiter l;
	struct stat st;
	open_at(&l, URL, 0, &now);
	assert_false(kl_limiter_shared(&l));
	for (int i = 0; i < 100; i++)
		assert_true(kl_limiter_take(&l) == 0);
	kl_limiter_hold_off(&l, 5); /* no limit: a sandbox with its limit off */
	char *path = kl_limiter_path(URL, fake_getenv);
	assert_non_null(path);
	assert_int_equal(stat(path, &st), -1);
	*strrchr(path, '/') = '\0';
	assert_int_equal(stat(path, &st), -1);
	free(path);
	assert_int_equal(logged.calls, 0);
	kl_limiter_close(&l);
}

static void the_directory_is_private_and_so_is_the_file(void **state)
{
	(void)state;
	double now = 100;
	struct kl_limiter l;
	struct stat st;
	open_at(&l, URL, 7, &now);
	assert_int_equal(stat(l.path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	*strrchr(l.path, '/') = '\0';
	assert_int_equal(stat(l.path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_true(strncmp(l.path, env.runtime, strlen(env.runtime)) == 0);
	kl_limiter_close(&l);
}

static void the_file_lives_in_the_runtime_dir_else_the_cache(void **state)
{
	(void)state;
	char want[1200], *path;
	snprintf(env.cache, sizeof env.cache, "/c");
	snprintf(env.home, sizeof env.home, "/h");
	path = kl_limiter_path(URL, fake_getenv);
	snprintf(want, sizeof want, "%s/kommo-lead/", env.runtime);
	assert_true(strncmp(path, want, strlen(want)) == 0);
	free(path);
	snprintf(env.runtime, sizeof env.runtime, "relative/run"); /* XDG: ignored */
	path = kl_limiter_path(URL, fake_getenv);
	assert_true(strncmp(path, "/c/kommo-lead/", 14) == 0);
	free(path);
	env.cache[0] = '\0';
	path = kl_limiter_path(URL, fake_getenv);
	assert_true(strncmp(path, "/h/.cache/kommo-lead/", 21) == 0);
	free(path);
	env.home[0] = '\0';
	env.runtime[0] = '\0';
	assert_null(kl_limiter_path(URL, fake_getenv));
}

static void a_cache_dir_that_is_missing_is_made(void **state)
{
	(void)state;
	double now = 100;
	struct kl_limiter l;
	snprintf(env.home, sizeof env.home, "%s", env.runtime);
	env.runtime[0] = '\0';
	open_at(&l, URL, 7, &now);
	assert_true(kl_limiter_shared(&l));
	assert_non_null(strstr(l.path, "/.cache/kommo-lead/account-"));
	kl_limiter_close(&l);
}

static void an_unusable_directory_falls_back_to_pacing_alone_with_a_warning(void **state)
{
	(void)state;
	double now = 100;
	struct kl_limiter l;
	char file[sizeof env.runtime];
	assert_true(strlen(env.runtime) < sizeof file - 11);
	memcpy(file, env.runtime, strlen(env.runtime));
	strcpy(file + strlen(env.runtime), "/not-a-dir");
	overwrite(file, 0, "x", 1, true);
	snprintf(env.runtime, sizeof env.runtime, "%s", file);
	logged.calls = 0;
	open_at(&l, URL, 1000, &now); /* alone, the account's rate still binds */
	assert_false(kl_limiter_shared(&l));
	assert_int_equal(logged.calls, 1);
	assert_non_null(strstr(logged.last, "pacing this process alone at 7 requests a second"));
	assert_non_null(strstr(logged.last, "not-a-dir"));
	for (int i = 0; i < K; i++)
		assert_true(kl_limiter_take(&l) == 0);
	assert_near(kl_limiter_take(&l), WINDOW, EPS);
	kl_limiter_hold_off(&l, 30);
	now = 110;
	assert_near(kl_limiter_take(&l), 20, EPS);
	assert_int_equal(logged.calls, 1);
	kl_limiter_close(&l);
}

/* Reads exactly len bytes from fd; false at end of file. */
static bool read_all(int fd, void *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = read(fd, (char *)buf + got, len - got);
		if (n <= 0)
			return false;
		got += (size_t)n;
	}
	return true;
}

/* In a child: takes n slots at the real clock's pace, writing each start to
 * fd. Exits, never returns to cmocka. */
static void child_takes(int fd, int n)
{
	struct kl_limiter l;
	struct kl_err err = {0};
	if (kl_limiter_open(&l, URL, 7, fake_getenv, NULL, NULL, &err) || !kl_limiter_shared(&l))
		_exit(2);
	for (int i = 0; i < n; i++) {
		double w;
		while ((w = kl_limiter_take(&l)) > 0)
			kl_rate_sleep(w, NULL);
		if (write(fd, &l.taken_at, sizeof l.taken_at) != sizeof l.taken_at)
			_exit(3);
	}
	kl_limiter_close(&l);
	_exit(0);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static void processes_racing_never_start_more_than_seven_in_a_window(void **state)
{
	(void)state;
	enum { N = 4, EACH = 6 };
	int p[2];
	pid_t pid[N];
	double t[N * EACH];
	assert_int_equal(pipe(p), 0);
	for (int i = 0; i < N; i++) {
		pid[i] = fork();
		assert_true(pid[i] >= 0);
		if (pid[i] == 0) {
			close(p[0]);
			child_takes(p[1], EACH);
		}
	}
	close(p[1]);
	for (int i = 0; i < N * EACH; i++)
		assert_true(read_all(p[0], &t[i], sizeof t[i]));
	close(p[0]);
	for (int i = 0; i < N; i++) {
		int status;
		assert_int_equal(waitpid(pid[i], &status, 0), pid[i]);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	qsort(t, N * EACH, sizeof t[0], cmp_double);
	for (int i = K; i < N * EACH; i++)
		assert_true(t[i] - t[i - K] >= WINDOW - EPS);
}

/* Forks a child that runs body on the simulated clock at 100, tells the
 * parent it is done, and waits to be killed; the parent kills it with
 * SIGKILL once told. */
static void run_and_kill(void (*body)(struct kl_limiter *))
{
	int p[2];
	char done;
	assert_int_equal(pipe(p), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		double now = 100;
		struct kl_limiter l;
		struct kl_err err = {0};
		close(p[0]);
		if (kl_limiter_open(&l, URL, 7, fake_getenv, NULL, NULL, &err))
			_exit(2);
		l.clock = fake_clock;
		l.clock_ctx = &now;
		body(&l);
		if (write(p[1], "x", 1) != 1)
			_exit(3);
		for (;;)
			pause();
	}
	close(p[1]);
	assert_true(read_all(p[0], &done, 1));
	close(p[0]);
	int status;
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

static void take_seven(struct kl_limiter *l)
{
	double *now = l->clock_ctx;
	for (int i = 0; i < K; i++, *now += 0.001)
		if (kl_limiter_take(l) != 0)
			_exit(4);
}

static void a_run_killed_and_restarted_at_once_waits_for_the_killed_runs_starts(void **state)
{
	(void)state;
	double now = 100.5;
	struct kl_limiter l;
	run_and_kill(take_seven);
	open_at(&l, URL, 7, &now);
	for (int i = 0; i < K; i++) {
		double w;
		while ((w = kl_limiter_take(&l)) > 0)
			now += w;
		/* the killed run's i-th start, one window on */
		assert_true(l.taken_at >= 100 + 0.001 * i + WINDOW - EPS);
	}
	kl_limiter_close(&l);
}

/* Dies holding the lock, halfway through rewriting a start. */
static void die_mid_write(struct kl_limiter *l)
{
	take_seven(l);
	if (flock(l->fd, LOCK_EX) || pwrite(l->fd, "\xff\xff\xff\xff", 4, 60) != 4)
		_exit(5);
}

static void a_holder_killed_mid_write_leaves_no_lock_and_a_safe_file(void **state)
{
	(void)state;
	double now = 100.5;
	struct kl_limiter l;
	run_and_kill(die_mid_write);
	open_at(&l, URL, 7, &now);
	expect_one_full_window(&l, &now);
	kl_limiter_close(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(seven_slots_a_window_then_a_wait_until_the_oldest_leaves, setup, teardown),
		cmocka_unit_test_setup_teardown(two_processes_on_one_account_share_seven, setup, teardown),
		cmocka_unit_test_setup_teardown(another_account_has_its_own_budget_however_urls_are_spelt, setup, teardown),
		cmocka_unit_test_setup_teardown(a_slow_own_rate_does_not_hold_a_shared_slot_while_it_waits, setup, teardown),
		cmocka_unit_test_setup_teardown(a_slot_moves_to_when_its_request_left, setup, teardown),
		cmocka_unit_test_setup_teardown(a_rate_above_the_accounts_does_not_raise_it, setup, teardown),
		cmocka_unit_test_setup_teardown(a_429_seen_by_one_holds_off_every_taker, setup, teardown),
		cmocka_unit_test_setup_teardown(a_hold_off_is_at_most_the_longest_wait, setup, teardown),
		cmocka_unit_test_setup_teardown(garbage_in_the_file_costs_one_full_window_then_the_file_heals, setup, teardown),
		cmocka_unit_test_setup_teardown(a_record_cut_short_or_changed_reads_as_garbage, setup, teardown),
		cmocka_unit_test_setup_teardown(times_from_a_future_no_clock_reaches_read_as_garbage, setup, teardown),
		cmocka_unit_test_setup_teardown(a_file_from_another_boot_holds_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(no_limit_touches_no_file, setup, teardown),
		cmocka_unit_test_setup_teardown(the_directory_is_private_and_so_is_the_file, setup, teardown),
		cmocka_unit_test_setup_teardown(the_file_lives_in_the_runtime_dir_else_the_cache, setup, teardown),
		cmocka_unit_test_setup_teardown(a_cache_dir_that_is_missing_is_made, setup, teardown),
		cmocka_unit_test_setup_teardown(an_unusable_directory_falls_back_to_pacing_alone_with_a_warning, setup, teardown),
		cmocka_unit_test_setup_teardown(processes_racing_never_start_more_than_seven_in_a_window, setup, teardown),
		cmocka_unit_test_setup_teardown(a_run_killed_and_restarted_at_once_waits_for_the_killed_runs_starts, setup, teardown),
		cmocka_unit_test_setup_teardown(a_holder_killed_mid_write_leaves_no_lock_and_a_safe_file, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
