/* The --state journal: records, reloads, torn lines, identical rows, the lock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kl_journal.h"

static char path[512];

static int setup(void **state)
{
	(void)state;
	const char *dir = getenv("KL_TEST_TMP");
	snprintf(path, sizeof path, "%s/journal.%d", dir ? dir : "/tmp", (int)getpid());
	unlink(path);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	return 0;
}

static void key_of(struct kl_journal *j, const char *a, const char *b, char key[KL_JOURNAL_KEY])
{
	const char *f[] = {a, b};
	size_t l[] = {strlen(a), strlen(b)};
	struct kl_err err = {0};
	assert_int_equal(kl_journal_row_key(j, f, l, 2, key, &err), KL_OK);
}

static void what_was_recorded_is_found_after_reopening(void **state)
{
	(void)state;
	struct kl_journal *j;
	struct kl_err err = {0};
	char k1[KL_JOURNAL_KEY], k2[KL_JOURNAL_KEY], k3[KL_JOURNAL_KEY];
	assert_int_equal(kl_journal_open(&j, path, &err), KL_OK);
	key_of(j, "Ivan", "+79990000001", k1);
	key_of(j, "Anna", "+79990000002", k2);
	key_of(j, "Oleg", "+79990000003", k3);
	const char *keys[] = {k1, k2, k3}, *uids[] = {"u1", "u2", "u3"};
	assert_int_equal(kl_journal_sending(j, keys, uids, 3, &err), KL_OK);
	assert_int_equal(kl_journal_created(j, k1, 11, 21, &err), KL_OK);
	assert_int_equal(kl_journal_not_created(j, k3, &err), KL_OK);
	assert_int_equal(kl_journal_sync(j, &err), KL_OK);
	kl_journal_close(j);

	assert_int_equal(kl_journal_open(&j, path, &err), KL_OK);
	const struct kl_journal_entry *e = kl_journal_find(j, k1);
	assert_non_null(e);
	assert_true(e->created);
	assert_int_equal(e->lead_id, 11);
	assert_int_equal(e->contact_id, 21);
	assert_string_equal(e->uid, "u1");
	e = kl_journal_find(j, k2); /* sent, outcome unknown */
	assert_non_null(e);
	assert_false(e->created);
	assert_string_equal(e->uid, "u2");
	assert_null(kl_journal_find(j, k3)); /* surely not created: as if never sent */
	kl_journal_close(j);
}

static void identical_rows_get_different_keys_in_the_same_order_every_run(void **state)
{
	(void)state;
	struct kl_journal *j;
	struct kl_err err = {0};
	char a1[KL_JOURNAL_KEY], a2[KL_JOURNAL_KEY], b1[KL_JOURNAL_KEY], b2[KL_JOURNAL_KEY];
	assert_int_equal(kl_journal_open(&j, path, &err), KL_OK);
	key_of(j, "Ivan", "+7999", a1);
	key_of(j, "Ivan", "+7999", a2);
	assert_string_not_equal(a1, a2);
	kl_journal_close(j);
	assert_int_equal(kl_journal_open(&j, path, &err), KL_OK);
	key_of(j, "Ivan", "+7999", b1);
	key_of(j, "Ivan", "+7999", b2);
	assert_string_equal(a1, b1);
	assert_string_equal(a2, b2);
	/* field boundaries count: "ab","c" is not "a","bc" */
	char x[KL_JOURNAL_KEY], y[KL_JOURNAL_KEY];
	key_of(j, "ab", "c", x);
	key_of(j, "a", "bc", y);
	assert_string_not_equal(x, y);
	kl_journal_close(j);
}

static void a_torn_last_line_is_ignored_and_cut(void **state)
{
	(void)state;
	struct kl_journal *j;
	struct kl_err err = {0};
	char k1[KL_JOURNAL_KEY];
	assert_int_equal(kl_journal_open(&j, path, &err), KL_OK);
	key_of(j, "Ivan", "1", k1);
	const char *keys[] = {k1}, *uids[] = {"u1"};
	assert_int_equal(kl_journal_sending(j, keys, uids, 1, &err), KL_OK);
	kl_journal_close(j);
	FILE *f = fopen(path, "a");
	fprintf(f, "C\t%s\t99", k1); /* killed mid-write: no newline */
	fclose(f);
	assert_int_equal(kl_journal_open(&j, path, &err), KL_OK);
	const struct kl_journal_entry *e = kl_journal_find(j, k1);
	assert_non_null(e);
	assert_false(e->created);
	/* and the next record starts on a line of its own */
	assert_int_equal(kl_journal_created(j, k1, 5, 6, &err), KL_OK);
	assert_int_equal(kl_journal_sync(j, &err), KL_OK);
	kl_journal_close(j);
	assert_int_equal(kl_journal_open(&j, path, &err), KL_OK);
	assert_true(kl_journal_find(j, k1)->created);
	assert_int_equal(kl_journal_find(j, k1)->lead_id, 5);
	kl_journal_close(j);
}

static void a_header_cut_short_by_a_crash_is_an_empty_journal(void **state)
{
	(void)state;
	struct kl_journal *j;
	struct kl_err err = {0};
	FILE *f = fopen(path, "w");
	fputs("kommo-lead-st", f);
	fclose(f);
	assert_int_equal(kl_journal_open(&j, path, &err), KL_OK);
	char k[KL_JOURNAL_KEY];
	key_of(j, "A", "1", k);
	const char *keys[] = {k}, *uids[] = {"u"};
	assert_int_equal(kl_journal_sending(j, keys, uids, 1, &err), KL_OK);
	kl_journal_close(j);
	assert_int_equal(kl_journal_open(&j, path, &err), KL_OK);
	assert_non_null(kl_journal_find(j, k));
	kl_journal_close(j);
}

static void a_second_opener_is_refused_while_the_first_holds_it(void **state)
{
	(void)state;
	struct kl_journal *a, *b;
	struct kl_err err = {0};
	assert_int_equal(kl_journal_open(&a, path, &err), KL_OK);
	assert_int_equal(kl_journal_open(&b, path, &err), KL_ETEMPFAIL);
	assert_non_null(strstr(err.msg, "another kommo-lead import"));
	kl_journal_close(a);
	assert_int_equal(kl_journal_open(&b, path, &err), KL_OK);
	kl_journal_close(b);
}

static void a_file_that_is_not_a_journal_is_refused(void **state)
{
	(void)state;
	struct kl_journal *j;
	struct kl_err err = {0};
	FILE *f = fopen(path, "w");
	fputs("name,phone\n", f);
	fclose(f);
	assert_int_equal(kl_journal_open(&j, path, &err), KL_EDATA);
	assert_non_null(strstr(err.msg, "not a kommo-lead state file"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(what_was_recorded_is_found_after_reopening, setup, teardown),
		cmocka_unit_test_setup_teardown(identical_rows_get_different_keys_in_the_same_order_every_run, setup, teardown),
		cmocka_unit_test_setup_teardown(a_torn_last_line_is_ignored_and_cut, setup, teardown),
		cmocka_unit_test_setup_teardown(a_header_cut_short_by_a_crash_is_an_empty_journal, setup, teardown),
		cmocka_unit_test_setup_teardown(a_second_opener_is_refused_while_the_first_holds_it, setup, teardown),
		cmocka_unit_test_setup_teardown(a_file_that_is_not_a_journal_is_refused, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
