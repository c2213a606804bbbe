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
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
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
	char wal[600];
	snprintf(wal, sizeof wal, "%s-wal", path);
	unlink(wal);
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

/* The text format earlier versions wrote: read, converted, created rows kept. */
static void a_text_state_file_of_earlier_versions_is_converted(void **state)
{
	(void)state;
	struct kl_journal *j;
	struct kl_err err = {0};
	struct kl_journal_health h;
	char k1[KL_JOURNAL_KEY], k2[KL_JOURNAL_KEY], k3[KL_JOURNAL_KEY], k4[KL_JOURNAL_KEY];
	expected_key("Ivan", "1", 0, k1);
	expected_key("Anna", "2", 0, k2);
	expected_key("Oleg", "3", 0, k3);
	expected_key("Olga", "4", 0, k4);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "kommo-lead-state 1\nS\t%s\tu1\nS\t%s\tu2\nS\t%s\tu3\n", k1, k2, k3);
	fprintf(f, "C\t%s\t11\t12\n", k1);
	fprintf(f, "C\t%s\t5x\t6\n", k2); /* not a line it wrote: k2 stays unanswered */
	fprintf(f, "N\t%s\n", k3);
	fprintf(f, "S\t%s\tu4\nC\t%s\t9", k4, k4); /* killed mid-write */
	fclose(f);
	assert_int_equal(kl_journal_open(&j, path, &err), KL_OK);
	kl_journal_health(j, &h);
	assert_true(h.converted);
	assert_int_equal(h.legacy_bad_lines, 1);
	assert_int_equal(h.first_bad_line, 6);
	assert_int_equal(h.records, 4);
	assert_int_equal(h.unanswered, 2);
	const struct kl_journal_entry *e = kl_journal_find(j, k1);
	assert_non_null(e);
	assert_true(e->created);
	assert_int_equal(e->lead_id, 11);
	assert_int_equal(e->contact_id, 12);
	assert_string_equal(e->uid, "u1");
	e = kl_journal_find(j, k2);
	assert_int_equal(e->state, KL_JOURNAL_UNANSWERED);
	assert_string_equal(e->uid, "u2");
	assert_null(kl_journal_find(j, k3));
	assert_int_equal(kl_journal_find(j, k4)->state, KL_JOURNAL_UNANSWERED);
	kl_journal_close(j);
	/* now a database, and the next open converts nothing */
	f = fopen(path, "r");
	char head[16] = {0};
	assert_int_equal(fread(head, 1, 15, f), 15);
	fclose(f);
	assert_string_equal(head, "SQLite format 3");
	assert_int_equal(kl_journal_open(&j, path, &err), KL_OK);
	kl_journal_health(j, &h);
	assert_false(h.converted);
	assert_int_equal(kl_journal_find(j, k1)->lead_id, 11);
	kl_journal_close(j);
}

static void the_possibly_duplicated_flag_survives_reopening(void **state)
{
	(void)state;
	struct kl_journal *j;
	struct kl_err err = {0};
	struct kl_journal_entry e;
	char k1[KL_JOURNAL_KEY], k2[KL_JOURNAL_KEY], k3[KL_JOURNAL_KEY];
	assert_int_equal(kl_journal_open(&j, path, &err), KL_OK);
	key_of(j, "Ivan", "1", k1);
	key_of(j, "Anna", "2", k2);
	key_of(j, "Oleg", "3", k3);
	record(j, k1, "u1", 0);
	record(j, k2, "u2", 0);
	record(j, k3, "u3", 0);
	kl_journal_close(j); /* killed before any answer */

	assert_int_equal(kl_journal_open(&j, path, &err), KL_OK);
	assert_int_equal(kl_journal_lookup(j, k1, &e, &err), KL_OK);
	assert_int_equal(e.state, KL_JOURNAL_UNANSWERED);
	assert_false(e.maybe_dup);
	record(j, k1, "u1", 0); /* sent again: both requests may land */
	assert_int_equal(kl_journal_not_created(j, k1, &err), KL_OK); /* the second got a 429 */
	assert_int_equal(kl_journal_mark_dup(j, k2, &err), KL_OK);
	assert_int_equal(kl_journal_created(j, k2, 20, 21, &err), KL_OK);
	assert_int_equal(kl_journal_not_created(j, k3, &err), KL_OK);
	assert_int_equal(kl_journal_sync(j, &err), KL_OK);
	kl_journal_close(j);

	assert_int_equal(kl_journal_open(&j, path, &err), KL_OK);
	assert_int_equal(kl_journal_lookup(j, k1, &e, &err), KL_OK);
	assert_int_equal(e.state, KL_JOURNAL_UNANSWERED); /* the first may have landed */
	assert_true(e.maybe_dup);
	assert_string_equal(e.uid, "u1");
	assert_int_equal(kl_journal_lookup(j, k2, &e, &err), KL_OK);
	assert_int_equal(e.state, KL_JOURNAL_CREATED);
	assert_true(e.maybe_dup);
	assert_int_equal(e.lead_id, 20);
	assert_int_equal(kl_journal_lookup(j, k3, &e, &err), KL_OK);
	assert_int_equal(e.state, KL_JOURNAL_NOT_CREATED);
	assert_false(e.maybe_dup);
	assert_int_equal(kl_journal_created(j, k1, 10, 11, &err), KL_OK); /* looked up in Kommo */
	assert_int_equal(kl_journal_sync(j, &err), KL_OK);
	kl_journal_close(j);

	assert_int_equal(kl_journal_open(&j, path, &err), KL_OK);
	assert_int_equal(kl_journal_lookup(j, k1, &e, &err), KL_OK);
	assert_true(e.created);
	assert_true(e.maybe_dup); /* created, and still flagged */
	kl_journal_close(j);
}

/* Replaces the only occurrence (which: 0 the first, 1 the second) of n
 * bytes at from in the state file by to. */
static void damage(const void *from, const void *to, size_t n, int which)
{
	FILE *f = fopen(path, "r+b");
	assert_non_null(f);
	static unsigned char buf[1 << 20];
	size_t len = fread(buf, 1, sizeof buf, f);
	unsigned char *p = buf, *hit = NULL;
	for (int i = 0; i <= which; i++, p = hit + 1)
		assert_non_null(hit = memmem(p, len - (size_t)(p - buf), from, n));
	assert_int_equal(fseek(f, hit - buf, SEEK_SET), 0);
	assert_int_equal(fwrite(to, 1, n, f), n);
	fclose(f);
}

#define LEAD 0x1122334455667788ll /* bytes easy to find in the file */

static void damaged_records_are_reported_and_never_trusted(void **state)
{
	(void)state;
	struct kl_journal *j;
	struct kl_err err = {0};
	struct kl_journal_health h;
	struct kl_journal_entry e;
	char k[4][KL_JOURNAL_KEY];
	assert_int_equal(kl_journal_open(&j, path, &err), KL_OK);
	const char *uids[] = {"uid-flip-me", "uid-two", "uid-three", "uid-four"};
	for (int i = 0; i < 4; i++) {
		char phone[8];
		snprintf(phone, sizeof phone, "%d", i);
		key_of(j, "Ivan", phone, k[i]);
		record(j, k[i], uids[i], i == 1 ? LEAD : 0);
		assert_int_equal(kl_journal_created(j, k[i], i == 1 ? LEAD : 100 + i, 7, &err), KL_OK);
	}
	assert_int_equal(kl_journal_sync(j, &err), KL_OK);
	kl_journal_close(j);

	damage("uid-flip-me", "uid-flip-ME", 11, 0);   /* a byte of a uid */
	long long changed = LEAD ^ 0x100;                 /* a digit of a lead id */
	unsigned char was[8], now[8];
	for (int i = 0; i < 8; i++) {
		was[i] = (unsigned char)((unsigned long long)LEAD >> (56 - 8 * i));
		now[i] = (unsigned char)((unsigned long long)changed >> (56 - 8 * i));
	}
	damage(was, now, 8, 0);
	unsigned char key2[16], bad[16];
	for (int i = 0; i < 16; i++)
		sscanf(k[2] + 2 * i, "%2hhx", &key2[i]);
	memcpy(bad, key2, 16);
	bad[15] ^= 0x40;
	damage(key2, bad, 16, 0); /* a byte of the key: the copy still knows it */

	assert_int_equal(kl_journal_open(&j, path, &err), KL_OK);
	kl_journal_health(j, &h);
	assert_int_equal(h.records, 4);
	assert_int_equal(h.damaged, 2);
	assert_int_equal(h.damaged_uid_lost, 1);
	assert_int_equal(h.unanswered, 2);
	assert_true(strcmp(h.first_damaged, k[0]) == 0 || strcmp(h.first_damaged, k[1]) == 0);
	/* the uid is not to be trusted: may have been sent, uid unknown */
	assert_int_equal(kl_journal_lookup(j, k[0], &e, &err), KL_OK);
	assert_int_equal(e.state, KL_JOURNAL_DAMAGED);
	assert_null(e.uid);
	assert_true(e.maybe_dup);
	assert_non_null(kl_journal_find(j, k[0])); /* never "send as new" */
	/* the ids are not to be trusted, the uid is: look it up */
	assert_int_equal(kl_journal_lookup(j, k[1], &e, &err), KL_OK);
	assert_int_equal(e.state, KL_JOURNAL_UNANSWERED);
	assert_false(e.created);
	assert_string_equal(e.uid, "uid-two");
	assert_true(e.maybe_dup);
	assert_int_equal(kl_journal_lookup(j, k[2], &e, &err), KL_OK);
	assert_true(e.created);
	assert_int_equal(e.lead_id, 102);
	assert_int_equal(kl_journal_lookup(j, k[3], &e, &err), KL_OK);
	assert_int_equal(e.lead_id, 103);
	kl_journal_close(j);

	/* settled on disk: the next open finds nothing damaged, and the same */
	assert_int_equal(kl_journal_open(&j, path, &err), KL_OK);
	kl_journal_health(j, &h);
	assert_int_equal(h.damaged, 0);
	assert_int_equal(h.unanswered, 2);
	assert_int_equal(kl_journal_lookup(j, k[0], &e, &err), KL_OK);
	assert_int_equal(e.state, KL_JOURNAL_DAMAGED);
	assert_int_equal(kl_journal_lookup(j, k[1], &e, &err), KL_OK);
	assert_string_equal(e.uid, "uid-two");
	kl_journal_close(j);
}

struct seen {
	int n;
	char key[4][KL_JOURNAL_KEY], uid[4][16];
	bool dup[4];
};

static int collect(void *ctx, const char *key, const char *uid, bool maybe_dup, struct kl_err *err)
{
	struct seen *s = ctx;
	(void)err;
	assert_true(s->n < 4);
	snprintf(s->key[s->n], KL_JOURNAL_KEY, "%s", key);
	snprintf(s->uid[s->n], 16, "%s", uid ? uid : "(none)");
	s->dup[s->n++] = maybe_dup;
	return 0;
}

static void the_rows_sent_without_an_answer_are_listed(void **state)
{
	(void)state;
	struct kl_journal *j;
	struct kl_err err = {0};
	char k[5][KL_JOURNAL_KEY];
	assert_int_equal(kl_journal_open(&j, path, &err), KL_OK);
	for (int i = 0; i < 5; i++) {
		char phone[8], uid[8];
		snprintf(phone, sizeof phone, "%d", i);
		snprintf(uid, sizeof uid, "u%d", i);
		key_of(j, "Ivan", phone, k[i]);
		record(j, k[i], uid, i == 1 ? 50 : 0);
	}
	assert_int_equal(kl_journal_not_created(j, k[2], &err), KL_OK);
	record(j, k[3], "u3", 0); /* twice */
	assert_int_equal(kl_journal_sync(j, &err), KL_OK);
	kl_journal_close(j);
	assert_int_equal(kl_journal_open(&j, path, &err), KL_OK);
	struct seen s = {0};
	assert_int_equal(kl_journal_unanswered(j, collect, &s, &err), KL_OK);
	assert_int_equal(s.n, 3); /* 0, 3, 4: not the created, not the refused */
	for (int i = 0; i < s.n; i++) {
		int row = strcmp(s.key[i], k[0]) == 0 ? 0 : strcmp(s.key[i], k[3]) == 0 ? 3 : 4;
		assert_string_equal(s.key[i], k[row]);
		assert_int_equal(s.uid[i][1] - '0', row);
		assert_int_equal(s.dup[i], row == 3);
		if (i)
			assert_true(strcmp(s.key[i - 1], s.key[i]) < 0);
	}
	kl_journal_close(j);
}

/* kill -9 between a commit and the next: what was committed stays, what
 * was not is gone; a WAL torn in its last frame loses only that commit. */
static void a_kill_at_any_moment_loses_only_what_was_not_committed(void **state)
{
	(void)state;
	struct kl_journal *j;
	struct kl_err err = {0};
	struct kl_journal_entry e;
	char k1[KL_JOURNAL_KEY], k2[KL_JOURNAL_KEY], wal[600];
	snprintf(wal, sizeof wal, "%s-wal", path);
	for (int torn = 0; torn < 2; torn++) {
		unlink(path);
		unlink(wal);
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			if (kl_journal_open(&j, path, &err))
				_exit(1);
			key_of(j, "Ivan", "1", k1);
			key_of(j, "Anna", "2", k2);
			record(j, k1, "u1", 0);
			record(j, k2, "u2", 0);
			kl_journal_created(j, k1, 5, 6, &err); /* not synced */
			raise(SIGKILL);
		}
		int status;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
		struct stat st;
		assert_int_equal(stat(wal, &st), 0);
		if (torn)
			assert_int_equal(truncate(wal, st.st_size - 100), 0);
		assert_int_equal(kl_journal_open(&j, path, &err), KL_OK);
		key_of(j, "Ivan", "1", k1);
		key_of(j, "Anna", "2", k2);
		assert_int_equal(kl_journal_lookup(j, k1, &e, &err), KL_OK);
		assert_int_equal(e.state, KL_JOURNAL_UNANSWERED);
		assert_string_equal(e.uid, "u1");
		assert_int_equal(kl_journal_lookup(j, k2, &e, &err), KL_OK);
		assert_int_equal(e.state, torn ? KL_JOURNAL_NEVER_SENT : KL_JOURNAL_UNANSWERED);
		kl_journal_close(j);
	}
}

static void an_sqlite_file_not_ours_is_refused(void **state)
{
	(void)state;
	struct kl_journal *j;
	struct kl_err err = {0};
	char cmd[700];
	snprintf(cmd, sizeof cmd, "sqlite3 '%s' 'CREATE TABLE t(x)'", path);
	if (system(cmd) != 0)
		skip();
	assert_int_equal(kl_journal_open(&j, path, &err), KL_EDATA);
	assert_non_null(strstr(err.msg, "not a kommo-lead state file"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(what_was_recorded_is_found_after_reopening, setup, teardown),
		cmocka_unit_test_setup_teardown(identical_rows_get_different_keys_in_the_same_order_every_run, setup, teardown),
		cmocka_unit_test_setup_teardown(a_header_cut_short_by_a_crash_is_an_empty_journal, setup, teardown),
		cmocka_unit_test_setup_teardown(a_second_opener_is_refused_while_the_first_holds_it, setup, teardown),
		cmocka_unit_test_setup_teardown(a_file_that_is_not_a_journal_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(keys_are_those_earlier_versions_wrote, setup, teardown),
		cmocka_unit_test_setup_teardown(many_identical_rows_are_numbered_without_a_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(rows_whose_hashes_collide_keep_their_identity_and_are_at_worst_sent_again, setup, teardown),
		cmocka_unit_test_setup_teardown(a_big_journal_reads_back_whole, setup, teardown),
		cmocka_unit_test_setup_teardown(not_created_then_sent_again_then_created, setup, teardown),
		cmocka_unit_test_setup_teardown(a_text_state_file_of_earlier_versions_is_converted, setup, teardown),
		cmocka_unit_test_setup_teardown(the_possibly_duplicated_flag_survives_reopening, setup, teardown),
		cmocka_unit_test_setup_teardown(damaged_records_are_reported_and_never_trusted, setup, teardown),
		cmocka_unit_test_setup_teardown(the_rows_sent_without_an_answer_are_listed, setup, teardown),
		cmocka_unit_test_setup_teardown(a_kill_at_any_moment_loses_only_what_was_not_committed, setup, teardown),
		cmocka_unit_test_setup_teardown(an_sqlite_file_not_ours_is_refused, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
