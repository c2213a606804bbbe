/* Validation and normalisation of outside values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "kl_check.h"

static void phone_is_normalised_to_plus_and_digits(void **state)
{
	(void)state;
	struct kl_err err = {0};
	char *out = NULL;
	assert_int_equal(kl_check_phone("--phone", "+7 (999) 123-45.67", &out, &err), KL_OK);
	assert_string_equal(out, "+79991234567");
	free(out);
	assert_int_equal(kl_check_phone("--phone", "8 999 123 45 67", &out, &err), KL_OK);
	assert_string_equal(out, "89991234567");
	free(out);
}

static void phone_with_letters_names_flag_value_and_example(void **state)
{
	(void)state;
	struct kl_err err = {0};
	char *out = NULL;
	assert_int_equal(kl_check_phone("--phone", "12ab", &out, &err), KL_EDATA);
	assert_null(out);
	assert_non_null(strstr(err.msg, "--phone"));
	assert_string_equal(err.msg, "--phone: \"12ab\" is not a phone number: \"a\" (character 3) is not allowed; "
				   "use digits, a leading +, and spaces, -, . or ( ) between them, e.g. +7 (999) 123-45-67");
	/* a pasted en dash is named whole, by character position */
	assert_int_equal(kl_check_phone("--phone", "+7 999 123–45", &out, &err), KL_EDATA);
	assert_non_null(strstr(err.msg, "\"–\" (character 11)"));
}

static void phone_digit_count_must_be_7_to_15(void **state)
{
	(void)state;
	struct kl_err err = {0};
	char *out = NULL;
	assert_int_equal(kl_check_phone("--phone", "123456", &out, &err), KL_EDATA);
	assert_non_null(strstr(err.msg, "6 digits"));
	assert_int_equal(kl_check_phone("--phone", "+1234567890123456", &out, &err), KL_EDATA);
	assert_int_equal(kl_check_phone("--phone", "1234567", &out, &err), KL_OK);
	free(out);
	assert_int_equal(kl_check_phone("--phone", "+123456789012345", &out, &err), KL_OK);
	free(out);
	/* a + inside the number is not a leading + */
	assert_int_equal(kl_check_phone("--phone", "7999+1234567", &out, &err), KL_EDATA);
}

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
	assert_int_equal(kl_check_text("--name", "Iv\nan", &err), KL_EDATA);
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
	assert_int_equal(kl_check_time("created_at", "21.11.2024", &t, &err), KL_EDATA);
	assert_non_null(strstr(err.msg, "ISO 8601"));
	assert_int_equal(kl_check_time("created_at", "2024-02-30", &t, &err), KL_EDATA);
	assert_int_equal(kl_check_time("created_at", "2024-11-21Tx", &t, &err), KL_EDATA);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(phone_is_normalised_to_plus_and_digits),
		cmocka_unit_test(phone_with_letters_names_flag_value_and_example),
		cmocka_unit_test(phone_digit_count_must_be_7_to_15),
		cmocka_unit_test(email_accepts_plausible_and_trims),
		cmocka_unit_test(email_refuses_implausible),
		cmocka_unit_test(number_is_spelled_as_json),
		cmocka_unit_test(ids_are_positive_integers),
		cmocka_unit_test(text_refuses_invalid_utf8_and_controls),
		cmocka_unit_test(name_is_trimmed_and_not_empty),
		cmocka_unit_test(subdomain_and_domain_shapes),
		cmocka_unit_test(base_url_allows_http_only_for_loopback),
		cmocka_unit_test(token_with_whitespace_or_controls_is_refused_without_echo),
		cmocka_unit_test(time_takes_iso_8601_and_unix_seconds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
