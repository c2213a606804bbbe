/* The --state journal: records, reloads, torn lines, identical rows, the lock,
 * hash collisions, big journals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/kl_digest.h"
#include "core/kl_journal.h"

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

/* The key the n-th row (from 0) with fields a, b gets: the recipe state files
 * were written with from the start, so that they keep reading the same. */
static void expected_key(const char *a, const char *b, unsigned n, char key[KL_JOURNAL_KEY])
{
	char content[300], hex[KL_JOURNAL_KEY], nth[64];
	snprintf(content, sizeof content, "%zu:%s%zu:%s", strlen(a), a, strlen(b), b);
	assert_int_equal(kl_digest_md5_hex(content, strlen(content), hex), 0);
	snprintf(nth, sizeof nth, "%s#%u", hex, n);
	assert_int_equal(kl_digest_md5_hex(nth, strlen(nth), key), 0);
}

static void keys_are_those_earlier_versions_wrote(void **state)
{
	(void)state;
	struct kl_journal *j;
	struct kl_err err = {0};
	char k[KL_JOURNAL_KEY];
	assert_int_equal(kl_journal_open(&j, path, &err), KL_OK);
	key_of(j, "Ivan", "+7999", k);
	assert_string_equal(k, "3ddda10e578dc655da99bc2f22e1f8b8");
	key_of(j, "Ivan", "+7999", k);
	assert_string_equal(k, "2ff955118e625baf6d0e7227b02ca87c");
	kl_journal_close(j);
}

/* Counts of repeated rows live apart from the 8-byte slots: no limit. */
static void many_identical_rows_are_numbered_without_a_limit(void **state)
{
	(void)state;
	struct kl_journal *j;
	struct kl_err err = {0};
	char k[KL_JOURNAL_KEY], want[KL_JOURNAL_KEY], other[32];
	enum { SAME = 70000 };
	for (int run = 0; run < 2; run++) {
		assert_int_equal(kl_journal_open(&j, path, &err), KL_OK);
		for (unsigned i = 0; i < SAME; i++) {
			key_of(j, "Ivan", "+7999", k);
			if (i % 997 == 0 || i + 3 > SAME) {
				expected_key("Ivan", "+7999", i, want);
				assert_string_equal(k, want);
			}
			if (i % 7 == 0) { /* other rows between, some repeated a few times */
				snprintf(other, sizeof other, "+7%u", i / 21);
				key_of(j, "Anna", other, k);
				expected_key("Anna", other, i / 7 % 3, want);
				assert_string_equal(k, want);
			}
		}
		kl_journal_close(j);
	}
}

static void record(struct kl_journal *j, const char *key, const char *uid, long long lead)
{
	struct kl_err err = {0};
	const char *keys[] = {key}, *uids[] = {uid};
	assert_int_equal(kl_journal_sending(j, keys, uids, 1, &err), KL_OK);
	if (lead)
		assert_int_equal(kl_journal_created(j, key, lead, lead + 1, &err), KL_OK);
	assert_int_equal(kl_journal_sync(j, &err), KL_OK);
}

/* Two rows ("Ivan", COLLIDE_A) and ("Ivan", COLLIDE_B) whose contents' MD5s
 * agree in their first 63 bits (fb78518c5f646048 and ...49: found by a
 * search), the bits identical rows are counted by: they share a count, as
 * they always did. */
#define COLLIDE_A "57e37916a7e2588d"
#define COLLIDE_B "7251d170f6f51cc8"

static void rows_whose_hashes_collide_keep_their_identity_and_are_at_worst_sent_again(void **state)
{
	(void)state;
	struct kl_journal *j;
	struct kl_err err = {0};
	char a[KL_JOURNAL_KEY], b[KL_JOURNAL_KEY], want[KL_JOURNAL_KEY];
	char ha[KL_JOURNAL_KEY], hb[KL_JOURNAL_KEY];
	assert_int_equal(kl_digest_md5_hex("4:Ivan16:" COLLIDE_A, 25, ha), 0);
	assert_int_equal(kl_digest_md5_hex("4:Ivan16:" COLLIDE_B, 25, hb), 0);
	assert_string_equal(ha, "fb78518c5f64604831a8b7d0529bfce1");
	assert_string_equal(hb, "fb78518c5f6460495d2db0d1fe279e2d");

	/* the first run: A, then B, numbered as one content's first and second */
	assert_int_equal(kl_journal_open(&j, path, &err), KL_OK);
	key_of(j, "Ivan", COLLIDE_A, a);
	key_of(j, "Ivan", COLLIDE_B, b);
	expected_key("Ivan", COLLIDE_A, 0, want);
	assert_string_equal(a, want);
	expected_key("Ivan", COLLIDE_B, 1, want);
	assert_string_equal(b, want);
	assert_string_not_equal(a, b);
	record(j, a, "ua", 100);
	record(j, b, "ub", 200);
	kl_journal_close(j);

	/* the same input again: both found, each its own */
	assert_int_equal(kl_journal_open(&j, path, &err), KL_OK);
	key_of(j, "Ivan", COLLIDE_A, a);
	key_of(j, "Ivan", COLLIDE_B, b);
	assert_int_equal(kl_journal_find(j, a)->lead_id, 100);
	assert_string_equal(kl_journal_find(j, a)->uid, "ua");
	assert_int_equal(kl_journal_find(j, b)->lead_id, 200);
	assert_string_equal(kl_journal_find(j, b)->uid, "ub");
	kl_journal_close(j);

	/* B alone, or before A: B's key is not the one recorded, so B would be
	 * sent again (a duplicate), and A too when it comes second; never is
	 * either taken for the other, nor skipped */
	assert_int_equal(kl_journal_open(&j, path, &err), KL_OK);
	key_of(j, "Ivan", COLLIDE_B, b);
	key_of(j, "Ivan", COLLIDE_A, a);
	assert_null(kl_journal_find(j, b));
	assert_null(kl_journal_find(j, a));
	kl_journal_close(j);

	/* A, B, B sent; then B, B: one B found, one sent again; never fewer Bs
	 * in Kommo than the input has */
	unlink(path);
	char b2[KL_JOURNAL_KEY];
	assert_int_equal(kl_journal_open(&j, path, &err), KL_OK);
	key_of(j, "Ivan", COLLIDE_A, a);
	key_of(j, "Ivan", COLLIDE_B, b);
	key_of(j, "Ivan", COLLIDE_B, b2);
	record(j, a, "ua", 100);
	record(j, b, "ub", 200);
	record(j, b2, "ub2", 300);
	kl_journal_close(j);
	assert_int_equal(kl_journal_open(&j, path, &err), KL_OK);
	key_of(j, "Ivan", COLLIDE_B, b);
	key_of(j, "Ivan", COLLIDE_B, b2);
	assert_null(kl_journal_find(j, b));
	assert_int_equal(kl_journal_find(j, b2)->lead_id, 200);
	kl_journal_close(j);
}

/* Thousands of entries: the table grows, lines straddle the chunks the file
 * is read in, and a uid longer than a chunk. */
static void a_big_journal_reads_back_whole(void **state)
{
	(void)state;
	struct kl_journal *j;
	struct kl_err err = {0};
	enum { N = 5000 };
	static char keys[N][KL_JOURNAL_KEY];
	char uid[64], phone[32];
	size_t long_len = 200000;
	char *long_uid = malloc(long_len + 1);
	assert_non_null(long_uid);
	for (size_t i = 0; i < long_len; i++)
		long_uid[i] = (char)('a' + i % 26);
	long_uid[long_len] = '\0';

	static char uids[N][16];
	assert_int_equal(kl_journal_open(&j, path, &err), KL_OK);
	for (int i = 0; i < N; i += 50) { /* in batches, as an import writes them */
		const char *bk[50], *bu[50];
		for (int k = 0; k < 50; k++) {
			snprintf(phone, sizeof phone, "+7999%07d", i + k);
			key_of(j, "Ivan", phone, keys[i + k]);
			snprintf(uids[i + k], sizeof uids[i + k], "uid-%d", i + k);
			bk[k] = keys[i + k];
			bu[k] = i + k == N / 2 ? long_uid : uids[i + k];
		}
		assert_int_equal(kl_journal_sending(j, bk, bu, 50, &err), KL_OK);
		for (int k = i; k < i + 50; k++)
			if (k % 3)
				assert_int_equal(kl_journal_created(j, keys[k], k + 1, k + 2, &err), KL_OK);
		assert_int_equal(kl_journal_sync(j, &err), KL_OK);
	}
	kl_journal_close(j);

	assert_int_equal(kl_journal_open(&j, path, &err), KL_OK);
	const struct kl_journal_entry *first = kl_journal_find(j, keys[0]);
	for (int i = 0; i < N; i++) {
		const struct kl_journal_entry *e = kl_journal_find(j, keys[i]);
		assert_non_null(e);
		snprintf(uid, sizeof uid, "uid-%d", i);
		assert_string_equal(e->uid, i == N / 2 ? long_uid : uid);
		assert_int_equal(e->created, i % 3 != 0);
		if (i % 3) {
			assert_int_equal(e->lead_id, i + 1);
			assert_int_equal(e->contact_id, i + 2);
		}
	}
	assert_ptr_equal(kl_journal_find(j, keys[0]), first);
	char k[KL_JOURNAL_KEY];
	key_of(j, "Ivan", "+79990000000", k);
	assert_string_equal(k, keys[0]);
	key_of(j, "Ivan", "+79990000000", k); /* a second such row: not recorded */
	assert_null(kl_journal_find(j, k));
	assert_null(kl_journal_find(j, "not a key"));
	kl_journal_close(j);
	free(long_uid);
}

static void not_created_then_sent_again_then_created(void **state)
{
	(void)state;
	struct kl_journal *j;
	struct kl_err err = {0};
	char k1[KL_JOURNAL_KEY], k2[KL_JOURNAL_KEY];
	assert_int_equal(kl_journal_open(&j, path, &err), KL_OK);
	key_of(j, "Ivan", "1", k1);
	key_of(j, "Anna", "2", k2);
	record(j, k1, "u1", 0);
	record(j, k2, "u2", 7);
	assert_int_equal(kl_journal_not_created(j, k1, &err), KL_OK); /* a 429 */
	assert_int_equal(kl_journal_not_created(j, k2, &err), KL_OK); /* ignored: it was created */
	assert_int_equal(kl_journal_sync(j, &err), KL_OK);
	kl_journal_close(j);

	assert_int_equal(kl_journal_open(&j, path, &err), KL_OK);
	assert_null(kl_journal_find(j, k1));
	assert_int_equal(kl_journal_find(j, k2)->lead_id, 7);
	record(j, k1, "u1", 0); /* sent again, outcome unknown */
	kl_journal_close(j);

	assert_int_equal(kl_journal_open(&j, path, &err), KL_OK);
	assert_non_null(kl_journal_find(j, k1));
	assert_false(kl_journal_find(j, k1)->created);
	assert_string_equal(kl_journal_find(j, k1)->uid, "u1");
	record(j, k1, "u1-new", 9); /* and a uid of its own this time */
	kl_journal_close(j);

	assert_int_equal(kl_journal_open(&j, path, &err), KL_OK);
	assert_true(kl_journal_find(j, k1)->created);
	assert_int_equal(kl_journal_find(j, k1)->lead_id, 9);
	assert_string_equal(kl_journal_find(j, k1)->uid, "u1-new");
	kl_journal_close(j);
}

static void lines_we_did_not_write_are_skipped_and_the_rest_still_count(void **state)
{
	(void)state;
	struct kl_journal *j;
	struct kl_err err = {0};
	char k1[KL_JOURNAL_KEY], k2[KL_JOURNAL_KEY], k3[KL_JOURNAL_KEY];
	assert_int_equal(kl_journal_open(&j, path, &err), KL_OK);
	key_of(j, "Ivan", "1", k1);
	key_of(j, "Anna", "2", k2);
	key_of(j, "Oleg", "3", k3);
	record(j, k1, "u1", 0);
	kl_journal_close(j);
	FILE *f = fopen(path, "a");
	assert_non_null(f);
	fprintf(f, "C\t%s\t5\t6", k1); /* a NUL in the middle: not a line we wrote */
	fputc('\0', f);
	fprintf(f, "7\n");
	char upper[KL_JOURNAL_KEY];
	for (int i = 0; i < KL_JOURNAL_KEY; i++)
		upper[i] = (char)(k3[i] >= 'a' && k3[i] <= 'f' ? k3[i] - 32 : k3[i]);
	fprintf(f, "S\t%s\tu3\n", upper); /* not a key we write */
	fprintf(f, "S\t%s\n", k3);        /* no uid */
	fprintf(f, "S\t%s\tu2\n", k2);
	fprintf(f, "C\t%s\t8\t9\n", k2);
	fclose(f);
	assert_int_equal(kl_journal_open(&j, path, &err), KL_OK);
	assert_false(kl_journal_find(j, k1)->created);
	assert_null(kl_journal_find(j, k3));
	assert_true(kl_journal_find(j, k2)->created);
	assert_int_equal(kl_journal_find(j, k2)->lead_id, 8);
	kl_journal_close(j);
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
		cmocka_unit_test_setup_teardown(keys_are_those_earlier_versions_wrote, setup, teardown),
		cmocka_unit_test_setup_teardown(many_identical_rows_are_numbered_without_a_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(rows_whose_hashes_collide_keep_their_identity_and_are_at_worst_sent_again, setup, teardown),
		cmocka_unit_test_setup_teardown(a_big_journal_reads_back_whole, setup, teardown),
		cmocka_unit_test_setup_teardown(not_created_then_sent_again_then_created, setup, teardown),
		cmocka_unit_test_setup_teardown(lines_we_did_not_write_are_skipped_and_the_rest_still_count, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
