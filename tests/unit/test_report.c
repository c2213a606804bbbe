/* What the user is told, and which exit status follows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "kommo/kl_report.h"

static void statuses_map_to_sysexits(void **state)
{
	(void)state;
	assert_int_equal(kl_report_status_exit(200), 0);
	assert_int_equal(kl_report_status_exit(400), 65);
	assert_int_equal(kl_report_status_exit(422), 65);
	assert_int_equal(kl_report_status_exit(401), 77);
	assert_int_equal(kl_report_status_exit(402), 77);
	assert_int_equal(kl_report_status_exit(403), 77);
	assert_int_equal(kl_report_status_exit(404), 78);
	assert_int_equal(kl_report_status_exit(429), 75);
	assert_int_equal(kl_report_status_exit(500), 69);
	assert_int_equal(kl_report_status_exit(504), 69);
	assert_int_equal(kl_report_status_exit(302), 76);
	assert_int_equal(kl_report_status_exit(418), 76);
}

static void created_line_and_json(void **state)
{
	(void)state;
	struct kl_created c = {.uid = "abc", .lead_id = 8876820, .contact_id = 7654321};
	struct kl_buf b = {0};
	assert_int_equal(kl_report_created(&c, "uid-1", false, false, &b), KL_OK);
	assert_string_equal(b.data, "lead_id=8876820 contact_id=7654321\n");
	b.len = 0;
	assert_int_equal(kl_report_created(&c, "uid-1", true, false, &b), KL_OK);
	assert_string_equal(b.data, "lead_id=8876820 contact_id=7654321 possibly_duplicated\n");
	b.len = 0;
	assert_int_equal(kl_report_created(&c, "uid-\"1", false, true, &b), KL_OK);
	assert_string_equal(b.data, "{\"status\":\"created\",\"lead_id\":8876820,\"contact_id\":7654321,\"uid\":\"abc\",\"source_uid\":\"uid-\\\"1\",\"possibly_duplicated\":false}\n");
	b.len = 0;
	assert_int_equal(kl_report_created(&c, "u", true, true, &b), KL_OK);
	assert_string_equal(b.data, "{\"status\":\"created\",\"lead_id\":8876820,\"contact_id\":7654321,\"uid\":\"abc\",\"source_uid\":\"u\",\"possibly_duplicated\":true}\n");
	kl_buf_free(&b);
}

/* The same bytes import's --json lines had when written by hand. */
static void html_403_says_blocked_by_kommo(void **state)
{
	(void)state;
	struct kl_problem p = {.status = 403, .html = true, .retry_after = -1};
	struct kl_buf b = {0};
	assert_int_equal(kl_report_problem(&p, NULL, "u", &b), 77);
	assert_non_null(strstr(b.data, "blocked by Kommo"));
	assert_non_null(strstr(b.data, "contact Kommo support"));
	assert_null(strstr(b.data, "parse"));
	kl_buf_free(&b);
}

static void validation_errors_list_code_path_detail(void **state)
{
	(void)state;
	struct kl_verror e = {"0", "NotSupportedChoice", "pipeline_id", "not a valid choice"};
	struct kl_problem p = {.status = 400, .title = "Bad Request", .detail = "Request validation failed",
			       .json = true, .errors = &e, .nerrors = 1, .retry_after = -1};
	struct kl_buf b = {0};
	assert_int_equal(kl_report_problem(&p, NULL, "u", &b), 65);
	assert_string_equal(b.data,
		"Kommo refused the lead (HTTP 400 Bad Request): Request validation failed\n"
		"  NotSupportedChoice at pipeline_id: not a valid choice\n");
	kl_buf_free(&b);
}

static void rate_limit_says_when_to_retry(void **state)
{
	(void)state;
	struct kl_problem p = {.status = 429, .retry_after = 4};
	struct kl_buf b = {0};
	assert_int_equal(kl_report_problem(&p, NULL, "u", &b), 75);
	assert_non_null(strstr(b.data, "try again in 4 s"));
	kl_buf_free(&b);
}

static void not_found_names_the_url(void **state)
{
	(void)state;
	struct kl_problem p = {.status = 404, .retry_after = -1};
	struct kl_buf b = {0};
	assert_int_equal(kl_report_problem(&p, NULL, "https://x.kommo.com/api/v4/leads/unsorted/forms", &b), 78);
	assert_non_null(strstr(b.data, "[https://x.kommo.com/api/v4/leads/unsorted/forms]"));
	assert_non_null(strstr(b.data, "KOMMO_SUBDOMAIN"));
	kl_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(statuses_map_to_sysexits),
		cmocka_unit_test(created_line_and_json),
		cmocka_unit_test(html_403_says_blocked_by_kommo),
		cmocka_unit_test(validation_errors_list_code_path_detail),
		cmocka_unit_test(rate_limit_says_when_to_retry),
		cmocka_unit_test(not_found_names_the_url),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
