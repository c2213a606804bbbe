/* The rate limiter, on a simulated clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "kommo/kl_rate.h"

/* Sends n requests as fast as the limiter allows from t = 0; returns the
 * start times in t. */
static void drive(struct kl_rate *r, int n, double *t)
{
	double now = 0;
	for (int i = 0; i < n; i++) {
		now += kl_rate_wait(r, now);
		kl_rate_started(r, now);
		t[i] = now;
	}
}

static void seven_per_second_is_never_exceeded_in_any_window(void **state)
{
	(void)state;
	struct kl_rate r;
	struct kl_err err = {0};
	double t[200];
	assert_int_equal(kl_rate_init(&r, 7, &err), KL_OK);
	drive(&r, 200, t);
	/* any 8 consecutive starts span more than one second (plus the margin) */
	for (int i = 7; i < 200; i++)
		assert_true(t[i] - t[i - 7] >= 1.0 + KL_RATE_MARGIN - 1e-9);
	/* and the limiter does not hold back more than it must: 7 per window */
	assert_true(t[199] <= (199 / 7) * (1.0 + KL_RATE_MARGIN) + 1e-9);
	/* the first seven go at once */
	assert_true(t[6] == 0);
	kl_rate_free(&r);
}

static void a_fractional_rate_above_one_never_allows_more_than_its_floor_a_second(void **state)
{
	(void)state;
	struct kl_rate r;
	struct kl_err err = {0};
	double t[100];
	assert_int_equal(kl_rate_init(&r, 7.9, &err), KL_OK);
	drive(&r, 100, t);
	for (int i = 7; i < 100; i++)
		assert_true(t[i] - t[i - 7] >= 1.0);
	kl_rate_free(&r);
}

static void fractional_rates_space_requests_out(void **state)
{
	(void)state;
	struct kl_rate r;
	struct kl_err err = {0};
	double t[5];
	assert_int_equal(kl_rate_init(&r, 0.5, &err), KL_OK);
	drive(&r, 5, t);
	for (int i = 1; i < 5; i++)
		assert_true(t[i] - t[i - 1] >= 2.0 - 1e-9);
	kl_rate_free(&r);
}

static void zero_means_no_limit(void **state)
{
	(void)state;
	struct kl_rate r;
	struct kl_err err = {0};
	double t[100];
	assert_int_equal(kl_rate_init(&r, 0, &err), KL_OK);
	drive(&r, 100, t);
	assert_true(t[99] == 0);
	kl_rate_free(&r);
}

static void waiting_after_a_pause_is_not_needed(void **state)
{
	(void)state;
	struct kl_rate r;
	struct kl_err err = {0};
	assert_int_equal(kl_rate_init(&r, 2, &err), KL_OK);
	kl_rate_started(&r, 0);
	kl_rate_started(&r, 0.1);
	assert_true(kl_rate_wait(&r, 0.5) > 0.5); /* the 3rd waits for the 1st to leave the second */
	assert_true(kl_rate_wait(&r, 5) == 0);
	kl_rate_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(seven_per_second_is_never_exceeded_in_any_window),
		cmocka_unit_test(a_fractional_rate_above_one_never_allows_more_than_its_floor_a_second),
		cmocka_unit_test(fractional_rates_space_requests_out),
		cmocka_unit_test(zero_means_no_limit),
		cmocka_unit_test(waiting_after_a_pause_is_not_needed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
