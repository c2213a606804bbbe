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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(guide_flag_and_attribute_spellings_all_match),
		cmocka_unit_test(header_maps_each_column),
		cmocka_unit_test(unknown_columns_stop_the_run_naming_all_of_them),
		cmocka_unit_test(a_header_that_is_not_utf8_suggests_cp1251),
		cmocka_unit_test(map_renames_before_matching),
		cmocka_unit_test(two_columns_for_one_field_are_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
