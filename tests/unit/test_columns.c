/* Mapping CSV columns to lead fields. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "core/kl_columns.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void guide_flag_and_attribute_spellings_all_match(void **state)
{
	(void)state;
	assert_int_equal(kl_columns_lookup("lastName"), KL_ATTR_LAST_NAME);
	assert_int_equal(kl_columns_lookup("last_name"), KL_ATTR_LAST_NAME);
	assert_int_equal(kl_columns_lookup("--last-name"), KL_ATTR_LAST_NAME);
	assert_int_equal(kl_columns_lookup(" Surname "), KL_ATTR_LAST_NAME);
	assert_int_equal(kl_columns_lookup("source"), KL_ATTR_UTM_SOURCE);
	assert_int_equal(kl_columns_lookup("UTM_Source"), KL_ATTR_UTM_SOURCE);
	assert_int_equal(kl_columns_lookup("E-mail"), KL_ATTR_EMAIL);
	assert_int_equal(kl_columns_lookup("created_at"), -2);
	assert_int_equal(kl_columns_lookup("lead:1709500"), -3);
	assert_int_equal(kl_columns_lookup("nickname"), -1);
	assert_int_equal(kl_columns_lookup("error"), -4);
}

static void header_maps_each_column(void **state)
{
	(void)state;
	const char *h[] = {"Name", "lastName", "phone", "lead:1709444:number", "created_at", "Email"};
	struct kl_columns c;
	struct kl_err err = {0};
	assert_int_equal(kl_columns_map(&c, h, N(h), NULL, 0, false, &err), KL_OK);
	assert_int_equal(c.n, 6);
	assert_int_equal(c.col[0].kind, KL_COL_ATTR);
	assert_int_equal(c.col[0].attr, KL_ATTR_NAME);
	assert_int_equal(c.col[1].attr, KL_ATTR_LAST_NAME);
	assert_int_equal(c.col[3].kind, KL_COL_CUSTOM);
	assert_string_equal(c.col[3].spec, "lead:1709444:number");
	assert_int_equal(c.col[4].kind, KL_COL_CREATED_AT);
	assert_int_equal(c.col[5].attr, KL_ATTR_EMAIL);
	assert_string_equal(c.col[5].name, "Email");
	kl_columns_free(&c);
}

static void unknown_columns_stop_the_run_naming_all_of_them(void **state)
{
	(void)state;
	const char *h[] = {"name", "phone", "Город", "notes"};
	struct kl_columns c;
	struct kl_err err = {0};
	assert_int_equal(kl_columns_map(&c, h, N(h), NULL, 0, false, &err), KL_EDATA);
	assert_non_null(strstr(err.msg, "unknown columns \"Город\", \"notes\""));
	assert_non_null(strstr(err.msg, "--ignore-unknown-columns"));
	assert_int_equal(kl_columns_map(&c, h, N(h), NULL, 0, true, &err), KL_OK);
	assert_int_equal(c.col[2].kind, KL_COL_IGNORED);
	kl_columns_free(&c);
}

/* A cp1251 header read as UTF-8 (Excel on Russian Windows, no --encoding)
 * says which option reads it; a UTF-8 header does not. */
static void a_header_that_is_not_utf8_suggests_cp1251(void **state)
{
	(void)state;
	const char *h[] = {"\xC8\xEC\xFF", "phone"}; /* "Имя" in cp1251 */
	struct kl_colmap m[] = {{"Имя", "name"}};
	struct kl_columns c;
	struct kl_err err = {0};
	assert_int_equal(kl_columns_map(&c, h, N(h), NULL, 0, false, &err), KL_EDATA);
	assert_non_null(strstr(err.msg, "the header is not UTF-8 text: a file saved by Excel on Russian Windows needs --encoding cp1251"));
	assert_int_equal(kl_columns_map(&c, h, N(h), m, N(m), false, &err), KL_EUSAGE);
	assert_non_null(strstr(err.msg, "there is no column \"Имя\"; the header is not UTF-8 text"));
	const char *u[] = {"name", "Город"};
	assert_int_equal(kl_columns_map(&c, u, N(u), NULL, 0, false, &err), KL_EDATA);
	assert_null(strstr(err.msg, "cp1251"));
}

static void map_renames_before_matching(void **state)
{
	(void)state;
	const char *h[] = {"Имя", "Телефон", "Город"};
	struct kl_colmap m[] = {{"Имя", "name"}, {"Телефон", "phone"}, {"Город", "lead:1709500"}};
	struct kl_columns c;
	struct kl_err err = {0};
	assert_int_equal(kl_columns_map(&c, h, N(h), m, N(m), false, &err), KL_OK);
	assert_int_equal(c.col[0].attr, KL_ATTR_NAME);
	assert_int_equal(c.col[1].attr, KL_ATTR_PHONE);
	assert_string_equal(c.col[2].spec, "lead:1709500");
	assert_string_equal(c.col[2].name, "Город"); /* messages use the column's own name */
	kl_columns_free(&c);
	struct kl_colmap bad[] = {{"City", "lead:1"}};
	assert_int_equal(kl_columns_map(&c, h, N(h), bad, N(bad), true, &err), KL_EUSAGE);
	assert_non_null(strstr(err.msg, "there is no column \"City\""));
}

static void two_columns_for_one_field_are_refused(void **state)
{
	(void)state;
	const char *h[] = {"surname", "last_name", "phone"};
	struct kl_columns c;
	struct kl_err err = {0};
	assert_int_equal(kl_columns_map(&c, h, N(h), NULL, 0, false, &err), KL_EDATA);
	assert_non_null(strstr(err.msg, "columns \"surname\" and \"last_name\" fill the same field"));
	const char *bad_spec[] = {"name", "lead:abc"};
	assert_int_equal(kl_columns_map(&c, bad_spec, N(bad_spec), NULL, 0, false, &err), KL_EDATA);
	assert_non_null(strstr(err.msg, "column \"lead:abc\""));
}

static void every_spelling_columns_or_fields_env_took_still_names_its_field(void **state)
{
	(void)state;
	/* the two lists there were (CSV headers; fields --env's account field
	 * names), as written in a header or an account */
	static const struct {
		const char *name;
		enum kl_attr attr;
	} known[] = {
		{"Имя", KL_ATTR_NAME},         {"First Name", KL_ATTR_NAME},
		{"Фамилия", KL_ATTR_LAST_NAME},
		{"Телефон", KL_ATTR_PHONE},    {"Мобильный", KL_ATTR_PHONE},
		{"Тел", KL_ATTR_PHONE},        {"Mobile", KL_ATTR_PHONE},
		{"Рабочий телефон", KL_ATTR_PHONE},
		{"Почта", KL_ATTR_EMAIL},      {"Электронная почта", KL_ATTR_EMAIL},
		{"Емейл", KL_ATTR_EMAIL},      {"Имейл", KL_ATTR_EMAIL},
		{"Mail", KL_ATTR_EMAIL},
		{"Телеграм", KL_ATTR_TELEGRAM}, {"Телеграмм", KL_ATTR_TELEGRAM},
		{"TG", KL_ATTR_TELEGRAM},      {"Тг", KL_ATTR_TELEGRAM},
		{"Профессия", KL_ATTR_CAREER}, {"Карьера", KL_ATTR_CAREER},
		{"Profession", KL_ATTR_CAREER}, {"Career/Profession", KL_ATTR_CAREER},
		{"Специальность", KL_ATTR_CAREER}, {"Род занятий", KL_ATTR_CAREER},
		{"Образование", KL_ATTR_EDUCATION},
		{"Доход", KL_ATTR_INCOME},     {"Доходы", KL_ATTR_INCOME},
		{"Заработок", KL_ATTR_INCOME}, {"Зарплата", KL_ATTR_INCOME},
		{"utm_referrer", KL_ATTR_UTM_REFERRER}, {"Lead Name", KL_ATTR_LEAD_NAME},
		{"source_uid", KL_ATTR_SOURCE_UID}, {"Referer", KL_ATTR_REFERER},
	};
	for (size_t i = 0; i < N(known); i++) {
		int got = kl_columns_lookup(known[i].name);
		if (got != (int)known[i].attr)
			fail_msg("%s names %d, not %d", known[i].name, got, (int)known[i].attr);
	}
}

static void the_spellings_fields_env_reads_are_the_columns_spellings(void **state)
{
	(void)state;
	size_t total = 0;
	for (int a = 0; a < KL_ATTR_COUNT; a++) {
		const char *s;
		size_t n = 0;
		for (; (s = kl_columns_spelling(a, n)); n++)
			assert_int_equal(kl_columns_lookup(s), a);
		assert_true(n >= 1); /* at least the attribute's own name */
		total += n;
	}
	assert_string_equal(kl_columns_spelling(KL_ATTR_PHONE, 0), "phone");
	assert_null(kl_columns_spelling(KL_ATTR_EDUCATION, 2));
	assert_true(total > KL_ATTR_COUNT * 2);
}

/* JSON Lines keys: what each fills, checked one at a time on the line that gives it. */
static void a_key_names_its_field_or_the_nearest_known_name(void **state)
{
	(void)state;
	struct kl_colmap map = {"Work mail", "email"};
	struct kl_err err = {0};
	char field[64];
	assert_int_equal(kl_columns_field("Телефон", &map, 1, false, field, sizeof field, &err), KL_OK);
	assert_string_equal(field, "phone");
	assert_int_equal(kl_columns_field("Work mail", &map, 1, false, field, sizeof field, &err), KL_OK);
	assert_string_equal(field, "email");
	assert_int_equal(kl_columns_field("lead:17 ", &map, 1, false, field, sizeof field, &err), KL_OK);
	assert_string_equal(field, "lead:17");
	assert_int_equal(kl_columns_field("error", &map, 1, false, field, sizeof field, &err), KL_OK);
	assert_string_equal(field, ""); /* a rejects file's: read as nothing */
	assert_int_equal(kl_columns_field("Фамилия ", &map, 1, false, field, sizeof field, &err), KL_OK);
	assert_string_equal(field, "last_name");
	assert_int_equal(kl_columns_field("lastnmae", &map, 1, false, field, sizeof field, &err), KL_EDATA);
	assert_non_null(strstr(err.msg, "key \"lastnmae\" is not a column (did you mean \"last_name\"?): "));
	assert_int_equal(kl_columns_field("Work mial", &map, 1, false, field, sizeof field, &err), KL_EDATA);
	assert_non_null(strstr(err.msg, "(did you mean \"Work mail\"?)"));
	assert_int_equal(kl_columns_field("zzzzzz", &map, 1, false, field, sizeof field, &err), KL_EDATA);
	assert_null(strstr(err.msg, "did you mean"));
	assert_int_equal(kl_columns_field("zzzzzz", &map, 1, true, field, sizeof field, &err), KL_OK);
	assert_string_equal(field, "");
	assert_int_equal(kl_columns_field("lead:abc", &map, 1, true, field, sizeof field, &err), KL_EDATA);
	assert_non_null(strstr(err.msg, "key \"lead:abc\":"));
}

static void an_added_key_is_a_column_and_a_refused_one_is_ignored(void **state)
{
	(void)state;
	struct kl_columns c = {0};
	struct kl_err err = {0};
	assert_int_equal(kl_columns_map(&c, NULL, 0, NULL, 0, false, &err), KL_OK);
	assert_int_equal(kl_columns_add(&c, "phone", NULL, 0, &err), KL_OK);
	assert_int_equal(kl_columns_add(&c, "Телефон", NULL, 0, &err), KL_OK); /* one line may not give both */
	assert_int_equal(kl_columns_add(&c, "lead:abc", NULL, 0, &err), KL_OK);
	assert_int_equal(kl_columns_add(&c, "nosuch", NULL, 0, &err), KL_OK);
	assert_int_equal(c.n, 4);
	assert_int_equal(c.col[0].kind, KL_COL_ATTR);
	assert_int_equal(c.col[1].attr, KL_ATTR_PHONE);
	assert_int_equal(c.col[2].kind, KL_COL_IGNORED);
	assert_null(c.col[2].spec);
	assert_string_equal(c.col[3].name, "nosuch");
	assert_int_equal(c.col[3].kind, KL_COL_IGNORED);
	kl_columns_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(guide_flag_and_attribute_spellings_all_match),
		cmocka_unit_test(header_maps_each_column),
		cmocka_unit_test(unknown_columns_stop_the_run_naming_all_of_them),
		cmocka_unit_test(a_header_that_is_not_utf8_suggests_cp1251),
		cmocka_unit_test(map_renames_before_matching),
		cmocka_unit_test(two_columns_for_one_field_are_refused),
		cmocka_unit_test(every_spelling_columns_or_fields_env_took_still_names_its_field),
		cmocka_unit_test(the_spellings_fields_env_reads_are_the_columns_spellings),
		cmocka_unit_test(a_key_names_its_field_or_the_nearest_known_name),
		cmocka_unit_test(an_added_key_is_a_column_and_a_refused_one_is_ignored),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
