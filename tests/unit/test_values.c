/* Values as people type them into forms and spreadsheets: phones, numbers,
 * moments, emails, text (src/core/check_values.c, src/core/phone.cc). */
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
#include "core/kl_lead.h"
#include "core/kl_phone.h"

/* A check's result, or "!" and the message. */
static char got[1200];

/* got for a check that returned rc and gave out (owned) or err. */
static const char *result(int rc, char *out, const struct kl_err *err)
{
	if (rc == KL_OK) {
		snprintf(got, sizeof got, "%s", out);
		free(out);
	} else {
		assert_null(out);
		snprintf(got, sizeof got, "!%s", err->msg);
	}
	return got;
}

static const char *phone(const char *v, const char *region)
{
	struct kl_err err = {0};
	char *out = NULL;
	int rc = kl_check_phone("--phone", v, region, &out, &err);
	return result(rc, out, &err);
}

static void phone_national_numbers_become_international_in_the_region(void **state)
{
	(void)state;
	assert_string_equal(phone("8 (999) 123-45-67", "RU"), "+79991234567");
	assert_string_equal(phone("8-999-000-00-03", "RU"), "+79990000003");
	assert_string_equal(phone("999 123 45 67", "RU"), "+79991234567");
	assert_string_equal(phone("+7 (999) 123-45.67", "RU"), "+79991234567");
	/* 00 is the international prefix, whatever the region */
	assert_string_equal(phone("0049 151 23456789", "RU"), "+4915123456789");
	assert_string_equal(phone("0049 151 23456789", NULL), "+4915123456789");
	assert_string_equal(phone("030 1234567", "DE"), "+49301234567");
}

static void phone_any_dash_or_space_separates(void **state)
{
	(void)state;
	assert_string_equal(phone("+7 999 000\xe2\x80\x93" "00\xe2\x80\x93" "02", "RU"), "+79990000002"); /* en dash */
	assert_string_equal(phone("+7 999 000\xe2\x80\x94" "00\xe2\x88\x92" "02", NULL), "+79990000002"); /* em dash, minus */
	assert_string_equal(phone("+7\xc2\xa0" "999\xc2\xa0" "000 00 02", NULL), "+79990000002"); /* no-break space */
	assert_string_equal(phone("+7 999 000\xe2\x80\x90" "00\xe2\x80\x91" "02", NULL), "+79990000002"); /* hyphens */
}

static void phone_extension_is_kept_as_written(void **state)
{
	(void)state;
	assert_string_equal(phone("8-999-000-00-03 доб. 12", "RU"), "+79990000003 доб. 12");
	assert_string_equal(phone("+7 999 000-00-03 ext. 12", NULL), "+79990000003 ext. 12");
	assert_string_equal(phone("+7 999 000-00-03 x89", NULL), "+79990000003 x89");
	assert_string_equal(phone("+7 999 000-00-03x89", NULL), "+79990000003 x89");
	assert_string_equal(phone("+7 999 000-00-03 ext 7", NULL), "+79990000003 ext 7");
	/* an extension with no digits, or text after it, is not one */
	assert_string_equal(phone("+7 999 000-00-03 доб.", NULL),
			    "!--phone: \"+7 999 000-00-03 доб.\" is not a phone number: \"д\" (character 18) is not allowed; "
			    "use digits, a leading +, spaces, dashes, . or ( ) between them, and an extension after them, "
			    "e.g. +7 (999) 123-45-67 доб. 12");
	assert_string_equal(phone("+7 999 000-00-03 x12 y", NULL)[0] == '!' ? "!" : got, "!");
	/* no number before it */
	assert_string_equal(phone("x89", NULL)[0] == '!' ? "!" : got, "!");
}

static void phone_invalid_for_its_country_is_refused_with_the_reason(void **state)
{
	(void)state;
	assert_string_equal(phone("+7 999 123 45 6", NULL),
			    "!--phone: \"+7 999 123 45 6\" is too short for RU +7: a digit is missing?");
	/* read as the national 899 912 34 56, which no Russian number is */
	assert_string_equal(phone("8 999 123 45 6", "RU"),
			    "!--phone: \"8 999 123 45 6\" is not a valid phone number for RU +7: no such area or mobile code "
			    "(check the digits and the country code)");
	assert_string_equal(phone("+7 999 123 45 678", NULL),
			    "!--phone: \"+7 999 123 45 678\" has a wrong number of digits for RU +7");
	/* a possible length, but no German number starts so */
	assert_string_equal(phone("+49 151 2345678", NULL),
			    "!--phone: \"+49 151 2345678\" is not a valid phone number for DE +49: no such area or mobile code "
			    "(check the digits and the country code)");
	assert_non_null(strstr(phone("+999 1234567", NULL), "no country has the calling code"));
	/* a national number is read in the region: 1234567 is no Russian number */
	assert_int_equal(phone("1234567", "RU")[0], '!');
	assert_non_null(strstr(got, "RU +7"));
}

static void phone_without_region_needs_its_country_code_to_be_read(void **state)
{
	(void)state;
	/* no country to read them in: the digits go as written, as before */
	assert_string_equal(phone("8 999 123 45 67", NULL), "89991234567");
	assert_string_equal(phone("1234567", NULL), "1234567");
	assert_string_equal(phone("", NULL), "!--phone: \"\" has 0 digits; a phone number has 7 to 15, e.g. +79991234567");
	assert_string_equal(phone("123456", NULL), "!--phone: \"123456\" has 6 digits; a phone number has 7 to 15, e.g. +79991234567");
	assert_int_equal(phone("+1234567890123456", NULL)[0], '!');
	assert_non_null(strstr(got, "16 digits"));
	/* was accepted as 15 digits; no NANP number is so long */
	assert_int_equal(phone("+123456789012345", NULL)[0], '!');
	assert_non_null(strstr(got, "too long"));
}

static void phone_names_the_character_that_does_not_belong(void **state)
{
	(void)state;
	assert_string_equal(phone("12ab", NULL),
			    "!--phone: \"12ab\" is not a phone number: \"a\" (character 3) is not allowed; "
			    "use digits, a leading +, spaces, dashes, . or ( ) between them, and an extension after them, "
			    "e.g. +7 (999) 123-45-67 доб. 12");
	/* a + inside the number is not a leading + */
	assert_non_null(strstr(phone("7999+1234567", NULL), "\"+\" (character 5)"));
	assert_non_null(strstr(phone("+7 999 123\xe2\x80\xa6", NULL), "\"\xe2\x80\xa6\" (character 11)"));
	/* one line: a line break or tab is no separator */
	assert_int_equal(phone("+7 999\n123 45 67", NULL)[0], '!');
	assert_int_equal(phone("+7 999\t123 45 67", NULL)[0], '!');
}

static void phone_region_codes_are_libphonenumbers(void **state)
{
	(void)state;
	assert_true(kl_phone_region_known("RU"));
	assert_true(kl_phone_region_known("DE"));
	assert_false(kl_phone_region_known("ZZ"));
	assert_false(kl_phone_region_known("XX"));
	assert_false(kl_phone_region_known(""));
	char e[KL_PHONE_E164_SIZE], country[16];
	assert_int_equal(kl_phone_e164("89991234567", "RU", e, country), KL_PHONE_OK);
	assert_string_equal(e, "+79991234567");
	assert_string_equal(country, "RU +7");
	assert_int_equal(kl_phone_e164("89991234567", NULL, e, country), KL_PHONE_COUNTRY);
}

/* kl_check_number's result (see result). */
static const char *number(const char *v)
{
	struct kl_err err = {0};
	char *out = NULL;
	int rc = kl_check_number("--income", v, &out, &err);
	return result(rc, out, &err);
}

static void number_thousands_separators_as_written(void **state)
{
	(void)state;
	assert_string_equal(number("250 000"), "250000");
	assert_string_equal(number("250\xc2\xa0" "000"), "250000");     /* Excel's no-break space */
	assert_string_equal(number("1\xe2\x80\xaf" "250\xe2\x80\xaf" "000"), "1250000"); /* narrow no-break */
	assert_string_equal(number("1'250'000"), "1250000");
	assert_string_equal(number("1\xe2\x80\x99" "250"), "1250");
	assert_string_equal(number("1,234,567"), "1234567");
	assert_string_equal(number("1.234.567"), "1234567");
	assert_string_equal(number(" 007 "), "7");
}

static void number_decimal_comma_or_point(void **state)
{
	(void)state;
	assert_string_equal(number("1 500,50"), "1500.50");
	assert_string_equal(number("2500.5"), "2500.5");
	assert_string_equal(number("2500,05"), "2500.05");
	assert_string_equal(number("1,234.56"), "1234.56");
	assert_string_equal(number("1.234,56"), "1234.56");
	assert_string_equal(number("1 234 567,891"), "1234567.891");
	/* no thousands grouping starts with 0 or has four digits before the mark */
	assert_string_equal(number("0,250"), "0.250");
	assert_string_equal(number("1234,567"), "1234.567");
	assert_string_equal(number("10,00"), "10.00");
}

static void number_that_could_mean_two_is_refused_with_both(void **state)
{
	(void)state;
	assert_string_equal(number("250,000"),
			    "!--income: \"250,000\" could be read two ways: as 250000 (',' between thousands) or as "
			    "250.000 (',' as the decimal mark); write 250000 or 250 000 for the first, 250.0000 for the second");
	assert_non_null(strstr(number("2.500"), "as 2500 ('.' between thousands) or as 2.500 ('.' as the decimal mark)"));
	assert_non_null(strstr(number("1,234"), "as 1234 (',' between thousands) or as 1.234"));
}

static void number_not_as_written_is_refused(void **state)
{
	(void)state;
	static const char *const bad[] = {"", "-5", "1e5", "12abc", "1.", ".5", "1.2.3", "1,2,3", "0x10", "1 23",
					  "12 3456", "1,234 567", "1  000", "1.234,567.8", "1 000 000.000.1", "много"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (number(bad[i])[0] != '!')
			fail_msg("%s was taken as %s", bad[i], got);
	assert_string_equal(number("1 23"),
			    "!--income: \"1 23\" is not a number: use digits, with spaces or ' between thousands (in "
			    "threes) and a decimal comma or point, e.g. 150000, 150 000 or 2 500,50");
}

static void number_beyond_what_kommo_stores_is_refused(void **state)
{
	(void)state;
	assert_string_equal(number("999999999999999"), "999999999999999");
	assert_string_equal(number("1234567890,12345"), "1234567890.12345");
	assert_string_equal(number("99999999999999999999"),
			    "!--income: \"99999999999999999999\" has more digits than Kommo stores exactly (15 at most, "
			    "e.g. 999999999999999 or 1234567890.12345)");
	assert_int_equal(number("1234567890,123456")[0], '!');
	assert_int_equal(number("1 000 000 000 000 000")[0], '!');
}

static long long moment(const char *v)
{
	struct kl_err err = {0};
	long long t = -1;
	if (kl_check_time("row 2, column \"created_at\"", v, &t, &err) != KL_OK) {
		snprintf(got, sizeof got, "%s", err.msg);
		return -1;
	}
	return t;
}

static void date_as_russian_excel_writes_it(void **state)
{
	(void)state;
	setenv("TZ", "UTC", 1);
	tzset();
	assert_int_equal(moment("21.11.2026 10:30"), 1795257000LL);
	assert_int_equal(moment("21.11.2026 10:30:15"), 1795257015LL);
	assert_int_equal(moment("21.11.2026"), 1795219200LL);
	assert_int_equal(moment(" 21.11.2026 "), 1795219200LL);
	assert_int_equal(moment("2026-11-21 10:30"), 1795257000LL);
	assert_int_equal(moment("2026-11-21T10:30:00+03:00"), 1795257000LL - 3 * 3600);
	assert_int_equal(moment("1795257000"), 1795257000LL);
	/* no zone: local time, as for ISO 8601 */
	setenv("TZ", "Europe/Moscow", 1);
	tzset();
	assert_int_equal(moment("21.11.2026 10:30"), 1795257000LL - 3 * 3600);
	assert_int_equal(moment("21.11.2026 10:30"), moment("2026-11-21 10:30"));
	setenv("TZ", "UTC", 1);
	tzset();
}

static void date_not_as_written_is_refused(void **state)
{
	(void)state;
	static const char *const bad[] = {"32.11.2026", "21.13.2026", "00.11.2026", "21.11.26", "1.11.2026",
					  "21.11.2026 25:00", "21.11.2026 10:60", "21.11.2026 10", "21.11.2026  10:30",
					  "21.11.20261", "21/11/2026", "21.11.2026 10:30:61", "11/21/2026"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (moment(bad[i]) != -1)
			fail_msg("%s was taken", bad[i]);
		if (!strstr(got, "is not a date: use 21.11.2026 10:30, 21.11.2026, 2026-11-21 10:30"))
			fail_msg("%s: %s", bad[i], got);
	}
	assert_int_equal(moment("30.02.2026"), -1);
	assert_string_equal(got, "row 2, column \"created_at\": \"30.02.2026\" is not a calendar date");
}

static const char *email(const char *v)
{
	struct kl_err err = {0};
	char *out = NULL;
	int rc = kl_check_email("row 3, column \"email\"", v, &out, &err);
	return result(rc, out, &err);
}

static void email_refuses_what_is_no_address(void **state)
{
	(void)state;
	assert_string_equal(email("mailto:ivan@example.com"),
			    "!row 3, column \"email\": \"mailto:ivan@example.com\" is not an email address: a mailto: "
			    "link, not an address: give the address alone; expected name@domain.tld, e.g. ivan.petrov@example.com");
	assert_non_null(strstr(email("MAILTO:ivan@example.com"), "mailto:"));
	static const char *const dots[] = {"ivan..petrov@example.com", ".ivan@example.com", "ivan.@example.com"};
	for (size_t i = 0; i < sizeof dots / sizeof dots[0]; i++)
		if (!strstr(email(dots[i]), "has a dot at its start or end, or two dots in a row"))
			fail_msg("%s: %s", dots[i], got);
	static const char *const spaces[] = {"ivan petrov@example.com", "ivan@exa mple.com", "ivan@example.com\xc2\xa0x"};
	for (size_t i = 0; i < sizeof spaces / sizeof spaces[0]; i++)
		if (!strstr(email(spaces[i]), "it has a space in it"))
			fail_msg("%s: %s", spaces[i], got);
	assert_int_equal(email("ivan\t@example.com")[0], '!');
	assert_int_equal(email("ivan@example..com")[0], '!');
	assert_int_equal(email("ivan@@example.com")[0], '!');
}

static void email_takes_international_domains_and_trims(void **state)
{
	(void)state;
	assert_string_equal(email(" ivan.petrov+x@mail.example.ru "), "ivan.petrov+x@mail.example.ru");
	assert_string_equal(email("иван@почта.рф"), "иван@почта.рф");
	assert_string_equal(email("ivan@xn--80a1acny.xn--p1ai"), "ivan@xn--80a1acny.xn--p1ai");
	assert_string_equal(email("i.v.a.n@example.com"), "i.v.a.n@example.com");
}

static void text_keeps_line_breaks_and_tabs_where_people_write_them(void **state)
{
	(void)state;
	struct kl_lead l = {0};
	struct kl_err err = {0};
	static const enum kl_attr text[] = {KL_ATTR_CAREER, KL_ATTR_EDUCATION, KL_ATTR_LEAD_NAME,
					    KL_ATTR_UTM_SOURCE, KL_ATTR_UTM_CONTENT, KL_ATTR_UTM_REFERRER};
	assert_int_equal(kl_lead_set(&l, KL_ATTR_NAME, "Анна", "--name", &err), KL_OK);
	assert_int_equal(kl_lead_set(&l, KL_ATTR_PHONE, "+79991234567", "--phone", &err), KL_OK);
	for (size_t i = 0; i < sizeof text / sizeof text[0]; i++)
		assert_int_equal(kl_lead_set(&l, text[i], " Инженер\r\nпрограммист\tведущий ", "x", &err), KL_OK);
	assert_int_equal(kl_lead_add_field_spec(&l, "lead:1709500=строка 1\nстрока 2", "--field", &err), KL_OK);
	assert_int_equal(kl_lead_check(&l, NULL, NULL, &err), KL_OK);
	for (size_t i = 0; i < sizeof text / sizeof text[0]; i++)
		assert_string_equal(l.v[text[i]], "Инженер\r\nпрограммист\tведущий");
	assert_string_equal(l.custom[0].value, "строка 1\nстрока 2");
	kl_lead_free(&l);
}

static void text_one_line_values_refuse_line_breaks(void **state)
{
	(void)state;
	static const enum kl_attr line[] = {KL_ATTR_NAME, KL_ATTR_LAST_NAME, KL_ATTR_PHONE, KL_ATTR_EMAIL,
					    KL_ATTR_TELEGRAM, KL_ATTR_SOURCE_UID, KL_ATTR_INCOME, KL_ATTR_PRICE};
	static const char *const good[] = {"Анна", "Петрова", "+79991234567", "a@example.com", "@anna", "uid-1", "5", "5"};
	for (size_t i = 0; i < sizeof line / sizeof line[0]; i++) {
		struct kl_lead l = {0};
		struct kl_err err = {0};
		for (size_t j = 0; j < sizeof line / sizeof line[0]; j++) {
			char v[64];
			snprintf(v, sizeof v, "%s%s", good[j], i == j ? "\n1" : "");
			assert_int_equal(kl_lead_set(&l, line[j], v, "x", &err), KL_OK);
		}
		assert_int_equal(kl_lead_check(&l, NULL, NULL, &err), KL_EDATA);
		if (!strstr(err.msg, kl_attr_info(line[i])->flag) || !strstr(err.msg, "\\n"))
			fail_msg("%s: %s", kl_attr_info(line[i])->flag, err.msg);
		kl_lead_free(&l);
	}
	struct kl_err err = {0};
	assert_int_equal(kl_check_name("--name", "Ан\nна", NULL, &err), KL_EDATA);
	assert_string_equal(err.msg, "--name: \"Ан\\nна\" has a line break or a tab: this value is one line (remove them)");
	/* other control characters are refused in free text too */
	assert_int_equal(kl_check_free_text("--career", "a\x01", NULL, &err), KL_EDATA);
	assert_non_null(strstr(err.msg, "control character"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(phone_national_numbers_become_international_in_the_region),
		cmocka_unit_test(phone_any_dash_or_space_separates),
		cmocka_unit_test(phone_extension_is_kept_as_written),
		cmocka_unit_test(phone_invalid_for_its_country_is_refused_with_the_reason),
		cmocka_unit_test(phone_without_region_needs_its_country_code_to_be_read),
		cmocka_unit_test(phone_names_the_character_that_does_not_belong),
		cmocka_unit_test(phone_region_codes_are_libphonenumbers),
		cmocka_unit_test(number_thousands_separators_as_written),
		cmocka_unit_test(number_decimal_comma_or_point),
		cmocka_unit_test(number_that_could_mean_two_is_refused_with_both),
		cmocka_unit_test(number_not_as_written_is_refused),
		cmocka_unit_test(number_beyond_what_kommo_stores_is_refused),
		cmocka_unit_test(date_as_russian_excel_writes_it),
		cmocka_unit_test(date_not_as_written_is_refused),
		cmocka_unit_test(email_refuses_what_is_no_address),
		cmocka_unit_test(email_takes_international_domains_and_trims),
		cmocka_unit_test(text_keeps_line_breaks_and_tabs_where_people_write_them),
		cmocka_unit_test(text_one_line_values_refuse_line_breaks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
