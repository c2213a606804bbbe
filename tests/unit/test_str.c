/* String helpers: quoting for messages, printable copies, buffers, distance. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "util/kl_str.h"

static void quote_escapes_controls_quotes_and_invalid_bytes(void **state)
{
	(void)state;
	char buf[256];
	assert_string_equal(kl_str_quote("Иван", buf, sizeof buf), "\"Иван\"");
	assert_string_equal(kl_str_quote("a\"b\\c", buf, sizeof buf), "\"a\\\"b\\\\c\"");
	assert_string_equal(kl_str_quote("a\nb\tc\r\x01", buf, sizeof buf), "\"a\\nb\\tc\\r\\x01\"");
	assert_string_equal(kl_str_quote("\xD0x", buf, sizeof buf), "\"\\xD0x\"");
	/* a C1 control (U+0085) is shown byte by byte */
	assert_string_equal(kl_str_quote("\xC2\x85", buf, sizeof buf), "\"\\xC2\\x85\"");
}

static void quote_cuts_long_values_and_never_overflows(void **state)
{
	(void)state;
	char big[500], buf[256], tiny[12];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	kl_str_quote(big, buf, sizeof buf);
	assert_int_equal(strlen(buf), 1 + 60 + 3 + 1);
	assert_non_null(strstr(buf, "...\""));
	kl_str_quote(big, tiny, sizeof tiny);
	assert_true(strlen(tiny) < sizeof tiny);
	assert_int_equal(tiny[0], '"');
	assert_int_equal(tiny[strlen(tiny) - 1], '"');
}

static void printable_replaces_controls_and_bad_bytes(void **state)
{
	(void)state;
	char *p = kl_str_printable("ok \x1b[31mred\xC2\x9b \xFF Ж");
	assert_string_equal(p, "ok ?[31mred? ? Ж");
	free(p);
}

static void secret_buffer_grows_and_keeps_content(void **state)
{
	(void)state;
	struct kl_buf b = {.secret = true};
	for (int i = 0; i < 1000; i++)
		assert_int_equal(kl_buf_append(&b, "ab", 2), 0);
	assert_int_equal(b.len, 2000);
	assert_int_equal(b.data[1999], 'b');
	assert_int_equal(b.data[2000], '\0');
	assert_int_equal(kl_buf_appendf(&b, "%s-%d", "x", 5), 0);
	assert_string_equal(b.data + 2000, "x-5");
	kl_buf_free(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
}

static void distance_counts_edits(void **state)
{
	(void)state;
	assert_int_equal(kl_str_distance("phone", "phone"), 0);
	assert_int_equal(kl_str_distance("phon", "phone"), 1);
	assert_int_equal(kl_str_distance("nmae", "name"), 1); /* a swap is one edit */
	assert_int_equal(kl_str_distance("", "abc"), 3);
	char longer[64];
	memset(longer, 'a', 63);
	longer[63] = '\0';
	assert_true(kl_str_distance(longer, "a") > 40);
}

static void trimmed_drops_ascii_space_only(void **state)
{
	(void)state;
	char *t = kl_str_trimmed(" \t Анна \r\n");
	assert_string_equal(t, "Анна");
	free(t);
	t = kl_str_trimmed("   ");
	assert_string_equal(t, "");
	free(t);
}

static void fold_lowercases_latin_and_cyrillic_and_drops_the_rest(void **state)
{
	(void)state;
	static const char *const cases[][2] = {
		{"E-mail", "email"}, {"ТЕЛЕФОН", "телефон"}, {"Career/Profession", "careerprofession"},
		{"utm_source", "utmsource"}, {"Ёлка 2", "елка2"}, {"\xff\xfeX", "x"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *f = kl_str_fold(cases[i][0]);
		assert_string_equal(f, cases[i][1]);
		free(f);
	}
	assert_int_equal(kl_str_width("Анна"), 4);
	assert_int_equal(kl_str_width("ab"), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(quote_escapes_controls_quotes_and_invalid_bytes),
		cmocka_unit_test(quote_cuts_long_values_and_never_overflows),
		cmocka_unit_test(printable_replaces_controls_and_bad_bytes),
		cmocka_unit_test(secret_buffer_grows_and_keeps_content),
		cmocka_unit_test(distance_counts_edits),
		cmocka_unit_test(trimmed_drops_ascii_space_only),
		cmocka_unit_test(fold_lowercases_latin_and_cyrillic_and_drops_the_rest),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
