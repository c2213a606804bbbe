#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "util/kl_table.h"

static void columns_align_by_code_points_not_bytes(void **state)
{
	(void)state;
	struct kl_table t;
	struct kl_buf b = {0};
	const char *r1[] = {"ID", "NAME", "PHONES"};
	const char *r2[] = {"7654321", "Анна", "+79991234567"};
	const char *r3[] = {"1", "Ivan Petrov", NULL};
	kl_table_init(&t, 3);
	assert_int_equal(kl_table_add(&t, r1), 0);
	assert_int_equal(kl_table_add(&t, r2), 0);
	assert_int_equal(kl_table_add(&t, r3), 0);
	assert_int_equal(kl_table_render(&t, &b), 0);
	assert_string_equal(b.data, "ID       NAME         PHONES\n"
				    "7654321  Анна         +79991234567\n"
				    "1        Ivan Petrov\n");
	kl_buf_free(&b);
	kl_table_free(&t);
}

static void cells_are_made_printable(void **state)
{
	(void)state;
	struct kl_table t;
	struct kl_buf b = {0};
	const char *r[] = {"a\nb", "\x1b[31mred"};
	kl_table_init(&t, 2);
	assert_int_equal(kl_table_add(&t, r), 0);
	assert_int_equal(kl_table_render(&t, &b), 0);
	assert_string_equal(b.data, "a?b  ?[31mred\n");
	kl_buf_free(&b);
	kl_table_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(columns_align_by_code_points_not_bytes),
		cmocka_unit_test(cells_are_made_printable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
