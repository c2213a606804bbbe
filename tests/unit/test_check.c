/* Validation and normalisation of outside values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/kl_check.h"

static void email_accepts_plausible_and_trims(void **state)
{
	(void)state;
	struct kl_err err = {0};
	char *out = NULL;
	assert_int_equal(kl_check_email("--email", " ivan.petrov+x@mail.example.ru ", &out, &err), KL_OK);
	assert_string_equal(out, "ivan.petrov+x@mail.example.ru");
	free(out);
	assert_int_equal(kl_check_email("--email", "иван@почта.рф", &out, &err), KL_OK);
	free(out);
}

static void email_refuses_implausible(void **state)
{
	(void)state;
	static const char *const bad[] = {"ivan", "ivan@", "@example.com", "ivan@example",
					  "ivan@@example.com", "ivan@example.c", "iv an@example.com",
					  "ivan@exa..mple.com", "ivan@-example.com", "ivan@example.com."};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct kl_err err = {0};
		char *out = NULL;
		assert_int_equal(kl_check_email("--email", bad[i], &out, &err), KL_EDATA);
		assert_null(out);
		assert_non_null(strstr(err.msg, "name@domain.tld"));
	}
}

static void number_is_spelled_as_json(void **state)
{
	(void)state;
	struct kl_err err = {0};
	char *out = NULL;
	assert_int_equal(kl_check_number("--income", "007", &out, &err), KL_OK);
	assert_string_equal(out, "7");
	free(out);
	assert_int_equal(kl_check_number("--income", "2500,50", &out, &err), KL_OK);
	assert_string_equal(out, "2500.50");
	free(out);
	assert_int_equal(kl_check_number("--income", "0", &out, &err), KL_OK);
	assert_string_equal(out, "0");
	free(out);
	static const char *const bad[] = {"", "-5", "1e5", "12abc", "1.", ".5", "1.2.3", "1,2,3", "0x10"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(kl_check_number("--income", bad[i], &out, &err), KL_EDATA);
}

static void ids_are_positive_integers(void **state)
{
	(void)state;
	struct kl_err err = {0};
	unsigned long long id = 0;
	assert_int_equal(kl_check_id("KOMMO_PIPELINE_ID", "12984871", "1", &id, &err), KL_OK);
	assert_int_equal(id, 12984871);
	assert_int_equal(kl_check_id("KOMMO_PIPELINE_ID", "0", "12984871", &id, &err), KL_EDATA);
	assert_int_equal(kl_check_id("KOMMO_PIPELINE_ID", "-1", "12984871", &id, &err), KL_EDATA);
	assert_int_equal(kl_check_id("KOMMO_PIPELINE_ID", "12a", "12984871", &id, &err), KL_EDATA);
	assert_string_equal(err.msg, "KOMMO_PIPELINE_ID: \"12a\" is not an id: expected a positive whole number, e.g. 12984871");
	assert_int_equal(kl_check_id("X", "99999999999999999999", "1", &id, &err), KL_EDATA);
}

static void text_refuses_invalid_utf8_and_controls(void **state)
{
	(void)state;
	struct kl_err err = {0};
	assert_int_equal(kl_check_text("--name", "Иван", &err), KL_OK);
	assert_int_equal(kl_check_text("--name", "\xD0", &err), KL_EDATA);
	assert_non_null(strstr(err.msg, "UTF-8"));
	assert_int_equal(kl_check_text("--name", "\xC0\xAF", &err), KL_EDATA); /* overlong */
	assert_int_equal(kl_check_text("--name", "\xED\xA0\x80", &err), KL_EDATA); /* surrogate */
	/* free text keeps line breaks and tabs; a one-line value refuses them */
	assert_int_equal(kl_check_text("--career", "Iv\nan\t1", &err), KL_OK);
	assert_int_equal(kl_check_line("--name", "Iv\nan", &err), KL_EDATA);
	assert_non_null(strstr(err.msg, "\\n")); /* the value is shown escaped */
	assert_int_equal(kl_check_text("--name", "Iv\x7F", &err), KL_EDATA);
	assert_int_equal(kl_check_text("--name", "Iv\xC2\x85", &err), KL_EDATA); /* C1 NEL */
}

static void name_is_trimmed_and_not_empty(void **state)
{
	(void)state;
	struct kl_err err = {0};
	char *out = NULL;
	assert_int_equal(kl_check_name("--name", "  Анна ", &out, &err), KL_OK);
	assert_string_equal(out, "Анна");
	free(out);
	out = NULL;
	assert_int_equal(kl_check_name("--name", "   ", &out, &err), KL_EDATA);
	assert_null(out);
	assert_non_null(strstr(err.msg, "empty"));
}

static void subdomain_and_domain_shapes(void **state)
{
	(void)state;
	struct kl_err err = {0};
	assert_int_equal(kl_check_subdomain("KOMMO_SUBDOMAIN", "intermigro", &err), KL_OK);
	assert_int_equal(kl_check_subdomain("KOMMO_SUBDOMAIN", "my-co2", &err), KL_OK);
	assert_int_equal(kl_check_subdomain("KOMMO_SUBDOMAIN", "Intermigro", &err), KL_ECONFIG);
	assert_int_equal(kl_check_subdomain("KOMMO_SUBDOMAIN", "a.b", &err), KL_ECONFIG);
	assert_int_equal(kl_check_subdomain("KOMMO_SUBDOMAIN", "x\r\nHost: evil", &err), KL_ECONFIG);
	assert_int_equal(kl_check_domain("KOMMO_DOMAIN", "acme.amocrm.ru", &err), KL_OK);
	assert_int_equal(kl_check_domain("KOMMO_DOMAIN", "https://acme.amocrm.ru", &err), KL_ECONFIG);
	assert_int_equal(kl_check_domain("KOMMO_DOMAIN", "acme..ru", &err), KL_ECONFIG);
}

static void base_url_allows_http_only_for_loopback(void **state)
{
	(void)state;
	struct kl_err err = {0};
	char *out = NULL;
	assert_int_equal(kl_check_base_url("KOMMO_BASE_URL", "http://127.0.0.1:8080/", &out, &err), KL_OK);
	assert_string_equal(out, "http://127.0.0.1:8080");
	free(out);
	assert_int_equal(kl_check_base_url("KOMMO_BASE_URL", "http://localhost", &out, &err), KL_OK);
	free(out);
	assert_int_equal(kl_check_base_url("KOMMO_BASE_URL", "http://[::1]:9/", &out, &err), KL_OK);
	free(out);
	assert_int_equal(kl_check_base_url("KOMMO_BASE_URL", "https://acme.kommo.com", &out, &err), KL_OK);
	free(out);
	out = NULL;
	assert_int_equal(kl_check_base_url("KOMMO_BASE_URL", "http://acme.kommo.com", &out, &err), KL_ECONFIG);
	assert_non_null(strstr(err.msg, "https"));
	assert_int_equal(kl_check_base_url("KOMMO_BASE_URL", "http://127.0.0.1.evil.com", &out, &err), KL_ECONFIG);
	assert_int_equal(kl_check_base_url("KOMMO_BASE_URL", "ftp://127.0.0.1", &out, &err), KL_ECONFIG);
	assert_int_equal(kl_check_base_url("KOMMO_BASE_URL", "https://u:p@acme.kommo.com", &out, &err), KL_ECONFIG);
	assert_int_equal(kl_check_base_url("KOMMO_BASE_URL", "http://127.0.0.1:99999", &out, &err), KL_ECONFIG);
	assert_null(out);
}

static void loopback_host_is_spelled_strictly(void **state)
{
	(void)state;
	static const char *const good[] = {"127.0.0.1", "127.0.0.0", "127.255.255.255", "127.1.20.254",
					   "localhost", "LocalHost", "LOCALHOST", "::1", "[::1]"};
	/* every one of these libcurl would hand to the resolver as a name (or
	 * read as another number), or is not loopback at all */
	static const char *const bad[] = {
		"127.-0.-0.1", "127.+0.0.1", "127.0.0.1x", "127.0.0", "127.0.0.1.5", " 127.0.0.1",
		"0x7f.0.0.1", "127.0.0.256", "2130706433", "+127.0.0.1", "127.0.0.1 ", "127.0.0.1.",
		"127.1", "127..0.1", ".127.0.0.1", "127.0.0.01", "127.00.0.1", "0127.0.0.1", "0177.0.0.1",
		"127.0.0.08", "1270.0.0.1", "127.0.0.1000", "128.0.0.1", "126.255.255.255", "0.0.0.0",
		"127.0x0.0.1", "127.0.0.-1", "127.0.0.1:80", "localhost.", "localhost.localdomain",
		"localhost.evil.com", "xlocalhost", "[::1]x", "[::1", "::1]", "::", "[::2]",
		"::ffff:127.0.0.1", "", "127.0.0.1/8"};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		if (!kl_check_is_loopback(good[i]))
			fail_msg("\"%s\" should be loopback", good[i]);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (kl_check_is_loopback(bad[i]))
			fail_msg("\"%s\" should not be loopback", bad[i]);
	}
}

static void base_url_refuses_tricky_loopback_spellings_for_http(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"http://127.-0.-0.1:9", "http://127.+0.0.1:9", "http://127.0.0.1x:9", "http://127.0.0:9",
		"http://127.0.0.1.5:9", "http://0x7f.0.0.1:9", "http://127.0.0.256:9", "http://2130706433:9",
		"http://127.1:9", "http://127.0.0.01:9", "http://127.0.0.08/", "http://localhost.:9",
		"http://[::1].evil.com/", "http://[::1]evil.com:9"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct kl_err err = {0};
		char *out = NULL;
		if (kl_check_base_url("KOMMO_BASE_URL", bad[i], &out, &err) != KL_ECONFIG)
			fail_msg("%s should be refused", bad[i]);
		assert_null(out);
		assert_non_null(strstr(err.msg, "KOMMO_BASE_URL: "));
	}
	/* the message says why, naming the host as it was read */
	struct kl_err err = {0};
	char *out = NULL;
	assert_int_equal(kl_check_base_url("KOMMO_BASE_URL", "http://127.-0.-0.1:9/x", &out, &err), KL_ECONFIG);
	assert_string_equal(err.msg, "KOMMO_BASE_URL: \"http://127.-0.-0.1:9/x\" uses plain http, and its host "
				     "\"127.-0.-0.1\" is not a loopback address as written: write it as four decimal "
				     "numbers from 0 to 255 without signs or leading zeros, e.g. http://127.0.0.1:8080 "
				     "(or use https)");
	assert_int_equal(kl_check_base_url("KOMMO_BASE_URL", "http://localhost.:9", &out, &err), KL_ECONFIG);
	assert_non_null(strstr(err.msg, "uses plain http: Kommo must be reached over https"));
	/* a well-written address elsewhere, or a name of hex letters, is just not loopback */
	static const char *const plain[] = {"http://192.168.1.10:9", "http://3dcafe.be/", "http://10.0.0.1"};
	for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++) {
		assert_int_equal(kl_check_base_url("KOMMO_BASE_URL", plain[i], &out, &err), KL_ECONFIG);
		assert_non_null(strstr(err.msg, "uses plain http: Kommo must be reached over https"));
		assert_null(strstr(err.msg, "as written"));
	}
	/* the same spellings are only names over https: TLS checks the peer */
	assert_int_equal(kl_check_base_url("KOMMO_BASE_URL", "https://127.-0.-0.1:9", &out, &err), KL_OK);
	free(out);
	/* and the strict spellings pass, in any case for localhost */
	static const char *const good[] = {"http://127.0.0.1:9", "http://127.10.0.200/k", "http://LOCALHOST:9",
					   "http://[::1]", "http://[::1]/x"};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		out = NULL;
		if (kl_check_base_url("KOMMO_BASE_URL", good[i], &out, &err) != KL_OK)
			fail_msg("%s should be accepted: %s", good[i], err.msg);
		free(out);
	}
}

static void url_is_loopback_by_its_host(void **state)
{
	(void)state;
	assert_true(kl_check_url_is_loopback("http://127.0.0.1:8080"));
	assert_true(kl_check_url_is_loopback("https://[::1]:9/api"));
	assert_true(kl_check_url_is_loopback("http://localhost"));
	assert_false(kl_check_url_is_loopback("https://intermigro.kommo.com"));
	assert_false(kl_check_url_is_loopback("https://127.0.0.1.evil.com/"));
	assert_false(kl_check_url_is_loopback("127.0.0.1"));
	assert_false(kl_check_url_is_loopback(NULL));
}

static void loopback_addr_is_what_the_socket_reports(void **state)
{
	(void)state;
	static const char *const good[] = {"127.0.0.1", "127.9.8.7", "127.255.255.255", "::1",
					   "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1", "::ffff:127.1.2.3"};
	static const char *const bad[] = {"10.0.0.1", "0.0.0.0", "128.0.0.1", "126.0.0.1", "::", "::2",
					  "::ffff:10.0.0.1", "::ffff:128.0.0.1", "::127.0.0.1", "fe80::1",
					  "localhost", "", "127.0.0.1x", "127.-0.-0.1", "2130706433"};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		if (!kl_check_is_loopback_addr(good[i]))
			fail_msg("%s should be loopback", good[i]);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (kl_check_is_loopback_addr(bad[i]))
			fail_msg("\"%s\" should not be loopback", bad[i]);
	}
}

static void token_with_whitespace_or_controls_is_refused_without_echo(void **state)
{
	(void)state;
	struct kl_err err = {0};
	assert_int_equal(kl_check_token("KOMMO_API_TOKEN", "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.abc-_", &err), KL_OK);
	assert_int_equal(kl_check_token("KOMMO_API_TOKEN", "secretpart\r\nX-Evil: 1", &err), KL_ECONFIG);
	assert_null(strstr(err.msg, "secretpart"));
	assert_non_null(strstr(err.msg, "position 11"));
	assert_int_equal(kl_check_token("KOMMO_API_TOKEN", "abc def", &err), KL_ECONFIG);
	assert_int_equal(kl_check_token("KOMMO_API_TOKEN", "", &err), KL_ECONFIG);
	/* the usual copy-and-paste slips get their own words, never the token's */
	assert_int_equal(kl_check_token("KOMMO_API_TOKEN", "Bearer eyJsecret", &err), KL_ECONFIG);
	assert_non_null(strstr(err.msg, "starts with \"Bearer \": give the token alone"));
	assert_null(strstr(err.msg, "eyJsecret"));
	assert_int_equal(kl_check_token("KOMMO_API_TOKEN", "eyJsecret\"", &err), KL_ECONFIG);
	assert_non_null(strstr(err.msg, "quote character at position 10"));
	assert_null(strstr(err.msg, "eyJsecret"));
	assert_int_equal(kl_check_token("KOMMO_API_TOKEN", "'eyJsecret", &err), KL_ECONFIG);
	assert_non_null(strstr(err.msg, "quote character at position 1"));
}

static void time_takes_iso_8601_and_unix_seconds(void **state)
{
	(void)state;
	struct kl_err err = {0};
	long long t = 0;
	assert_int_equal(kl_check_time("created_at", "1732180000", &t, &err), KL_OK);
	assert_int_equal(t, 1732180000);
	assert_int_equal(kl_check_time("created_at", "2024-11-21T09:06:40Z", &t, &err), KL_OK);
	assert_int_equal(t, 1732180000);
	assert_int_equal(kl_check_time("created_at", "2024-11-21T12:06:40+03:00", &t, &err), KL_OK);
	assert_int_equal(t, 1732180000);
	assert_int_equal(kl_check_time("created_at", "2024-11-21 12:06:40.123+0300", &t, &err), KL_OK);
	assert_int_equal(t, 1732180000);
	assert_int_equal(kl_check_time("created_at", "1732180000123", &t, &err), KL_EDATA);
	assert_non_null(strstr(err.msg, "milliseconds"));
	/* the Russian spelling is taken too (tests/unit/test_values.c) */
	assert_int_equal(kl_check_time("created_at", "21/11/2024", &t, &err), KL_EDATA);
	assert_non_null(strstr(err.msg, "ISO 8601"));
	assert_int_equal(kl_check_time("created_at", "2024-02-30", &t, &err), KL_EDATA);
	assert_int_equal(kl_check_time("created_at", "2024-11-21Tx", &t, &err), KL_EDATA);
}

static void time_zone_offsets_run_from_minus_12_to_plus_14(void **state)
{
	(void)state;
	struct kl_err err = {0};
	long long t = 0;
	assert_int_equal(kl_check_time("created_at", "2024-11-21T23:06:40+14:00", &t, &err), KL_OK);
	assert_int_equal(t, 1732180000);
	assert_int_equal(kl_check_time("created_at", "2024-11-20T21:06:40-12:00", &t, &err), KL_OK);
	assert_int_equal(t, 1732180000);
	assert_int_equal(kl_check_time("created_at", "2024-11-21T14:51:40+0545", &t, &err), KL_OK);
	assert_int_equal(t, 1732180000);
	assert_int_equal(kl_check_time("created_at", "2024-11-21T09:06:40-00", &t, &err), KL_OK);
	assert_int_equal(t, 1732180000);
	static const char *const bad[][2] = {
		{"2024-11-21T12:06:40+99:00", "+99:00"}, {"2024-11-21T12:06:40+14:01", "+14:01"},
		{"2024-11-21T12:06:40+15", "+15:00"},    {"2024-11-21T12:06:40-12:30", "-12:30"},
		{"2024-11-21T12:06:40-13:00", "-13:00"}, {"2024-11-21T12:06:40+03:60", "+03:60"},
		{"2024-11-21T12:06:40+0399", "+03:99"},  {"2024-11-21+99", "+99:00"}};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		t = 7;
		if (kl_check_time("created_at", bad[i][0], &t, &err) != KL_EDATA)
			fail_msg("%s should be refused", bad[i][0]);
		assert_int_equal(t, 7); /* untouched */
		char want[200];
		snprintf(want, sizeof want,
			 "created_at: \"%s\" has the time-zone offset %s: an offset runs from -12:00 to +14:00, "
			 "with minutes below 60, e.g. 2026-11-21T10:30:00+03:00", bad[i][0], bad[i][1]);
		assert_string_equal(err.msg, want);
	}
}

static void time_at_or_before_1970_or_after_2100_is_refused(void **state)
{
	(void)state;
	struct kl_err err = {0};
	long long t = 0;
	/* created_at 0 means "not given": none of these may come to 0 and vanish */
	static const char *const early[] = {"0", "00000000000", "1970-01-01", "1970-01-01T00:00:00Z",
					    "1970-01-01T00:00:00.999Z", "1970-01-01T03:00:00+03:00",
					    "1970-01-01 00:00", "1969-12-31T23:59:59Z", "1970-01-01T10:00:00+14:00",
					    "0000-01-01T00:00:00Z", "1900-02-28"};
	setenv("TZ", "UTC", 1);
	tzset();
	for (size_t i = 0; i < sizeof early / sizeof early[0]; i++) {
		t = 7;
		if (kl_check_time("row 2, column \"created_at\"", early[i], &t, &err) != KL_EDATA)
			fail_msg("%s should be refused", early[i]);
		assert_int_equal(t, 7);
		char want[300];
		snprintf(want, sizeof want,
			 "row 2, column \"created_at\": \"%s\" is at or before 1970-01-01T00:00:00Z (Unix time 0): "
			 "give a later moment, e.g. 2026-11-21 10:30 or 1795257000", early[i]);
		assert_string_equal(err.msg, want);
	}
	/* east of UTC, local midnight of 1970-01-01 is before the epoch */
	setenv("TZ", "Europe/Moscow", 1);
	tzset();
	assert_int_equal(kl_check_time("created_at", "1970-01-01", &t, &err), KL_EDATA);
	assert_non_null(strstr(err.msg, "at or before 1970-01-01T00:00:00Z"));
	setenv("TZ", "UTC", 1);
	tzset();
	/* the first second after is a moment like any other */
	assert_int_equal(kl_check_time("created_at", "1", &t, &err), KL_OK);
	assert_int_equal(t, 1);
	assert_int_equal(kl_check_time("created_at", "1970-01-01T00:00:01Z", &t, &err), KL_OK);
	assert_int_equal(t, 1);
	assert_int_equal(kl_check_time("created_at", "1970-01-01T03:00:01+03:00", &t, &err), KL_OK);
	assert_int_equal(t, 1);
	/* 2100-01-01T00:00:00Z is the latest: Kommo reads a larger number as milliseconds */
	assert_int_equal(kl_check_time("created_at", "2100-01-01T00:00:00Z", &t, &err), KL_OK);
	assert_int_equal(t, KL_CHECK_TIME_MAX);
	assert_int_equal(kl_check_time("created_at", "2100-01-01", &t, &err), KL_OK);
	assert_int_equal(t, KL_CHECK_TIME_MAX);
	assert_int_equal(kl_check_time("created_at", "4102444800", &t, &err), KL_OK);
	assert_int_equal(t, 4102444800LL);
	static const char *const late[] = {"2100-01-01T00:00:00-00:01", "2099-12-31T20:00:00-12:00",
					   "4102444801", "99999999999", "10000000000", "9999-12-31T23:59:59Z"};
	for (size_t i = 0; i < sizeof late / sizeof late[0]; i++) {
		t = 7;
		if (kl_check_time("created_at", late[i], &t, &err) != KL_EDATA)
			fail_msg("%s should be refused", late[i]);
		assert_int_equal(t, 7);
		char want[300];
		snprintf(want, sizeof want,
			 "created_at: \"%s\" is after 2100-01-01T00:00:00Z, where Kommo takes a number for milliseconds: "
			 "give a moment before it, e.g. 2026-11-21 10:30 or 1795257000", late[i]);
		assert_string_equal(err.msg, want);
	}
	/* 12 digits (253402300799 included) stay milliseconds, not a year past 5000 */
	assert_int_equal(kl_check_time("created_at", "253402300799", &t, &err), KL_EDATA);
	assert_non_null(strstr(err.msg, "milliseconds"));
	unsetenv("TZ");
	tzset();
}

static void time_is_only_the_fixed_width_forms(void **state)
{
	(void)state;
	struct kl_err err = {0};
	long long t = 0;
	setenv("TZ", "UTC", 1);
	tzset();
	/* strptime alone takes fewer digits, spaces before a number, 61 seconds
	 * and a space before the zone */
	static const char *const bad[] = {
		"2024-1-05", "2024-11-5", "024-11-21", "2024-11- 5", "2024- 11-21", "2024-11-21T1:30",
		"2024-11-21T10:3", "2024-11-21T10:30:5", "2024-11-21  10:30", "2024-11-2110:30",
		"2024-11-21T10:30:00 +03:00", "2024-11-21T10:30:61", "2024-13-01", "2024-00-10",
		"2024-11-00", "2024-11-32", "2024-11-21T24:00", "2024-11-21T10:60", "+2024-11-21",
		"2024-11-21T10:30.5", "2024-11-21T", "2024-11-21T10:30:", "2024-11-21+3", "2024-11-21Z1"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		t = 7;
		if (kl_check_time("created_at", bad[i], &t, &err) != KL_EDATA)
			fail_msg("%s should be refused", bad[i]);
		assert_int_equal(t, 7);
		if (!strstr(err.msg, "is not a date: use 21.11.2026 10:30, 21.11.2026, 2026-11-21 10:30, ISO 8601"))
			fail_msg("%s: %s", bad[i], err.msg);
	}
	/* every form that is taken, a comma before the fraction too */
	static const struct {
		const char *v;
		long long t;
	} good[] = {{"2024-11-21", 1732147200},
		    {"2024-11-21 09:06", 1732179960},
		    {"2024-11-21T09:06Z", 1732179960},
		    {"2024-11-21T09:06:40", 1732180000},
		    {"2024-11-21T09:06:40,5Z", 1732180000},
		    {"2024-11-21T12:06:40.123456+03", 1732180000},
		    {"2024-11-21T09:06:60Z", 1732180020},
		    {"  2024-11-21T09:06:40Z  ", 1732180000}};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		t = 0;
		if (kl_check_time("created_at", good[i].v, &t, &err) != KL_OK)
			fail_msg("%s should be taken: %s", good[i].v, err.msg);
		assert_int_equal(t, good[i].t);
	}
	/* a day the month does not have rolls over in timegm: refused by name */
	assert_int_equal(kl_check_time("created_at", "2023-02-29T10:00Z", &t, &err), KL_EDATA);
	assert_string_equal(err.msg, "created_at: \"2023-02-29T10:00Z\" is not a calendar date");
	assert_int_equal(kl_check_time("created_at", "2024-02-29T10:00Z", &t, &err), KL_OK);
	unsetenv("TZ");
	tzset();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(email_accepts_plausible_and_trims),
		cmocka_unit_test(email_refuses_implausible),
		cmocka_unit_test(number_is_spelled_as_json),
		cmocka_unit_test(ids_are_positive_integers),
		cmocka_unit_test(text_refuses_invalid_utf8_and_controls),
		cmocka_unit_test(name_is_trimmed_and_not_empty),
		cmocka_unit_test(subdomain_and_domain_shapes),
		cmocka_unit_test(base_url_allows_http_only_for_loopback),
		cmocka_unit_test(loopback_host_is_spelled_strictly),
		cmocka_unit_test(base_url_refuses_tricky_loopback_spellings_for_http),
		cmocka_unit_test(loopback_addr_is_what_the_socket_reports),
		cmocka_unit_test(url_is_loopback_by_its_host),
		cmocka_unit_test(token_with_whitespace_or_controls_is_refused_without_echo),
		cmocka_unit_test(time_takes_iso_8601_and_unix_seconds),
		cmocka_unit_test(time_zone_offsets_run_from_minus_12_to_plus_14),
		cmocka_unit_test(time_at_or_before_1970_or_after_2100_is_refused),
		cmocka_unit_test(time_is_only_the_fixed_width_forms),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
