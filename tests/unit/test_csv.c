/* The streaming CSV reader. */
#include <setjmp.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/kl_csv.h"

struct reader {
	FILE *f;
	struct kl_csv *csv;
};

static struct reader open_text(const char *text, size_t len, char delim, enum kl_csv_encoding enc)
{
	struct reader r;
	struct kl_err err = {0};
	struct kl_csv_opts o = {delim, enc};
	r.f = fmemopen((void *)text, len, "r");
	assert_non_null(r.f);
	assert_int_equal(kl_csv_open(&r.csv, r.f, "test.csv", &o, &err), KL_OK);
	return r;
}

static void close_reader(struct reader *r)
{
	kl_csv_free(r->csv);
	fclose(r->f);
}

static const struct kl_csv_record *next(struct reader *r)
{
	const struct kl_csv_record *rec = NULL;
	struct kl_err err = {0};
	int rc = kl_csv_next(r->csv, &rec, &err);
	if (rc != 1)
		return NULL;
	return rec;
}

#define S(x) x, sizeof(x) - 1

static void csv_keeps_quotes_commas_and_newlines_inside_quotes(void **state)
{
	(void)state;
	struct reader r = open_text(S("name,comment\r\n"
				      "\"Petrov, Ivan\",\"He said \"\"hi\"\"\r\nand left\"\r\n"
				      "Anna,plain\n"), 0, KL_CSV_UTF8);
	const struct kl_csv_record *rec = next(&r);
	assert_non_null(rec);
	assert_int_equal(rec->row, 1);
	assert_int_equal(rec->nfields, 2);
	assert_string_equal(rec->field[1], "comment");
	rec = next(&r);
	assert_int_equal(rec->row, 2);
	assert_string_equal(rec->field[0], "Petrov, Ivan");
	assert_string_equal(rec->field[1], "He said \"hi\"\r\nand left");
	rec = next(&r);
	assert_int_equal(rec->row, 3);
	assert_string_equal(rec->field[0], "Anna");
	assert_string_equal(rec->field[1], "plain");
	assert_null(next(&r));
	close_reader(&r);
}

static void csv_skips_bom_and_blank_lines(void **state)
{
	(void)state;
	struct reader r = open_text(S("\xEF\xBB\xBFname;phone\n\n;\n  \n\nИван;+79991234567"), 0, KL_CSV_UTF8);
	const struct kl_csv_record *rec = next(&r);
	assert_string_equal(rec->field[0], "name");
	assert_int_equal(kl_csv_delimiter(r.csv), ';');
	rec = next(&r);
	/* "  " is a field of spaces, not a blank line: kept as written */
	assert_string_equal(rec->field[0], "  ");
	rec = next(&r);
	assert_string_equal(rec->field[0], "Иван");
	assert_string_equal(rec->field[1], "+79991234567");
	assert_int_equal(rec->row, 6); /* header, blank, ";", "  ", blank, Иван */
	assert_null(next(&r));
	close_reader(&r);
}

static void csv_guesses_tab_and_honours_a_given_delimiter(void **state)
{
	(void)state;
	struct reader r = open_text(S("name\tphone\tnote\nA\t1\tx, y; z\n"), 0, KL_CSV_UTF8);
	next(&r);
	const struct kl_csv_record *rec = next(&r);
	assert_int_equal(rec->nfields, 3);
	assert_string_equal(rec->field[2], "x, y; z");
	close_reader(&r);
	/* a comma inside a quoted header does not count */
	r = open_text(S("\"a,b\";c\n1;2\n"), 0, KL_CSV_UTF8);
	next(&r);
	assert_int_equal(kl_csv_delimiter(r.csv), ';');
	close_reader(&r);
	r = open_text(S("a;b,c\n"), ',', KL_CSV_UTF8);
	rec = next(&r);
	assert_int_equal(rec->nfields, 2);
	assert_string_equal(rec->field[0], "a;b");
	close_reader(&r);
}

static void csv_row_numbers_match_the_spreadsheet_with_crlf(void **state)
{
	(void)state;
	struct reader r = open_text(S("h\r\n\"a\r\nb\"\r\n\r\nc\r\n"), 0, KL_CSV_UTF8);
	assert_int_equal(next(&r)->row, 1);
	assert_int_equal(next(&r)->row, 2); /* spans two lines, one row */
	assert_int_equal(next(&r)->row, 4); /* after a blank row 3 */
	assert_null(next(&r));
	close_reader(&r);
}

static void csv_converts_cp1251_to_utf8(void **state)
{
	(void)state;
	/* "Иван;Петров" in CP1251 */
	struct reader r = open_text(S("\xC8\xE2\xE0\xED;\xCF\xE5\xF2\xF0\xEE\xE2\r\n"), 0, KL_CSV_CP1251);
	const struct kl_csv_record *rec = next(&r);
	assert_non_null(rec);
	assert_string_equal(rec->field[0], "Иван");
	assert_string_equal(rec->field[1], "Петров");
	close_reader(&r);
	/* 0x98 is no CP1251 character: it stays a lone byte, for the row's check to refuse */
	r = open_text(S("a;b\r\nx\x98y;z\r\n\xC0;b\r\n"), 0, KL_CSV_CP1251);
	next(&r);
	rec = next(&r);
	assert_int_equal(rec->len[0], 3);
	assert_int_equal((unsigned char)rec->field[0][1], 0x98);
	rec = next(&r);
	assert_string_equal(rec->field[0], "А");
	close_reader(&r);
}

static void csv_reports_unclosed_quote_with_its_row(void **state)
{
	(void)state;
	struct reader r = open_text(S("name\nA\n\"B\n"), 0, KL_CSV_UTF8);
	const struct kl_csv_record *rec;
	struct kl_err err = {0};
	next(&r);
	next(&r);
	assert_int_equal(kl_csv_next(r.csv, &rec, &err), KL_EDATA);
	assert_non_null(strstr(err.msg, "test.csv: the input ends inside a quoted field that began on row 3"));
	close_reader(&r);
}

static void csv_reports_a_stray_quote(void **state)
{
	(void)state;
	struct reader r = open_text(S("name\n\"Ivan\"x\n"), 0, KL_CSV_UTF8);
	const struct kl_csv_record *rec;
	struct kl_err err = {0};
	next(&r);
	assert_int_equal(kl_csv_next(r.csv, &rec, &err), KL_EDATA);
	assert_non_null(strstr(err.msg, "row 2 is not valid CSV"));
	close_reader(&r);
}

static void csv_stops_an_unclosed_quote_before_it_eats_all_memory(void **state)
{
	(void)state;
	size_t n = 3 * 1024 * 1024;
	char *text = malloc(n);
	memcpy(text, "name\n\"", 6);
	memset(text + 6, 'x', n - 6);
	struct reader r = open_text(text, n, 0, KL_CSV_UTF8);
	const struct kl_csv_record *rec;
	struct kl_err err = {0};
	next(&r);
	assert_int_equal(kl_csv_next(r.csv, &rec, &err), KL_EDATA);
	assert_non_null(strstr(err.msg, "never closed"));
	assert_true(kl_csv_offset(r.csv) < n); /* stopped before the end */
	close_reader(&r);
	free(text);
}

static void csv_streams_across_chunks(void **state)
{
	(void)state;
	/* 20000 rows of about 30 bytes: several 64 KiB chunks, records cut across them */
	size_t cap = 20000 * 40 + 64, n = 0;
	char *text = malloc(cap);
	n += (size_t)sprintf(text + n, "name,phone\n");
	for (int i = 0; i < 20000; i++)
		n += (size_t)sprintf(text + n, "\"Row %d\nname\",+7999%07d\r\n", i, i);
	struct reader r = open_text(text, n, 0, KL_CSV_UTF8);
	next(&r);
	int count = 0;
	const struct kl_csv_record *rec;
	while ((rec = next(&r))) {
		char want[32];
		snprintf(want, sizeof want, "+7999%07d", count);
		assert_string_equal(rec->field[1], want);
		assert_int_equal(rec->row, count + 2);
		count++;
	}
	assert_int_equal(count, 20000);
	close_reader(&r);
	free(text);
}

static void csv_keeps_nul_bytes_visible_through_len(void **state)
{
	(void)state;
	struct reader r = open_text("a,b\x00" "c\n", 6, 0, KL_CSV_UTF8);
	const struct kl_csv_record *rec = next(&r);
	assert_int_equal(rec->len[1], 3);
	assert_int_not_equal(strlen(rec->field[1]), rec->len[1]);
	close_reader(&r);
}

static void read_file(const char *path, char *text, size_t size)
{
	memset(text, 0, size);
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	size_t n = fread(text, 1, size - 1, f);
	fclose(f);
	(void)n;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* The rejects file holds names, phones and emails: it is readable by its
 * owner alone, whatever the umask and whatever mode an older file had. What
 * it is given is written back as CSV, quoted where needed. */
static void rejects_file_is_private_and_holds_the_rows(void **state)
{
	(void)state;
	char dir[] = "/tmp/kl-test-csv-XXXXXX", path[64], text[256];
	struct kl_csv_writer *w = NULL;
	struct kl_err err = {0};
	struct stat st;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/rejects.csv", dir);
	mode_t old = umask(022);
	assert_int_equal(kl_csv_writer_open(&w, path, ',', KL_CSV_UTF8, &err), 0);
	const char *row[] = {"Иван", "+7 999", "a,\"b\""};
	assert_int_equal(kl_csv_write_row(w, row, 3), 0);
	assert_int_equal(kl_csv_writer_close(w), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	read_file(path, text, sizeof text);
	assert_string_equal(text, "Иван,+7 999,\"a,\"\"b\"\"\"\r\n");
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(kl_csv_writer_open(&w, path, ',', KL_CSV_UTF8, &err), 0);
	assert_int_equal(kl_csv_writer_close(w), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	umask(old);
	unlink(path);
	rmdir(dir);
}

/* An existing file is replaced only when the new one is complete; a run that
 * discards its file leaves the old one as it was, and nothing beside it. */
static void rejects_file_replaces_the_old_one_only_at_the_end(void **state)
{
	(void)state;
	char dir[] = "/tmp/kl-test-csv-XXXXXX", path[64], text[256];
	struct kl_csv_writer *w = NULL;
	struct kl_err err = {0};
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/rejects.csv", dir);
	write_file(path, "old,rows\r\n");
	assert_int_equal(kl_csv_writer_open(&w, path, ',', KL_CSV_UTF8, &err), 0);
	const char *row[] = {"new", "row"};
	assert_int_equal(kl_csv_write_row(w, row, 2), 0);
	read_file(path, text, sizeof text);
	assert_string_equal(text, "old,rows\r\n");
	kl_csv_writer_discard(w);
	read_file(path, text, sizeof text);
	assert_string_equal(text, "old,rows\r\n");
	assert_int_equal(kl_csv_writer_open(&w, path, ',', KL_CSV_UTF8, &err), 0);
	assert_int_equal(kl_csv_write_row(w, row, 2), 0);
	assert_int_equal(kl_csv_writer_close(w), 0);
	read_file(path, text, sizeof text);
	assert_string_equal(text, "new,row\r\n");
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0); /* no new file left beside it */
}

/* A symlink at the path is replaced by the file; what it pointed to is not touched. */
static void rejects_file_replaces_a_symlink_without_following_it(void **state)
{
	(void)state;
	char dir[] = "/tmp/kl-test-csv-XXXXXX", path[64], target[64], text[256];
	struct kl_csv_writer *w = NULL;
	struct kl_err err = {0};
	struct stat st;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/rejects.csv", dir);
	snprintf(target, sizeof target, "%s/precious", dir);
	write_file(target, "keep me\n");
	assert_int_equal(symlink(target, path), 0);
	assert_int_equal(kl_csv_writer_open(&w, path, ',', KL_CSV_UTF8, &err), 0);
	const char *row[] = {"x"};
	assert_int_equal(kl_csv_write_row(w, row, 1), 0);
	assert_int_equal(kl_csv_writer_close(w), 0);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	read_file(target, text, sizeof text);
	assert_string_equal(text, "keep me\n");
	unlink(path);
	unlink(target);
	rmdir(dir);
}

/* A device cannot be renamed over: it is written in place, and its failure is seen. */
static void rejects_file_on_a_full_device_fails_at_close(void **state)
{
	(void)state;
	struct kl_csv_writer *w = NULL;
	struct kl_err err = {0};
	assert_int_equal(kl_csv_writer_open(&w, "/dev/full", ',', KL_CSV_UTF8, &err), 0);
	const char *row[] = {"x"};
	kl_csv_write_row(w, row, 1); /* buffered: the failure shows when flushed */
	errno = 0;
	assert_int_equal(kl_csv_writer_close(w), -1);
	assert_int_equal(errno, ENOSPC);
}

/* A last record without its line end may be a line another program is still writing. */
static void csv_tells_whether_a_record_ended_with_a_line_end(void **state)
{
	(void)state;
	const char *cases[] = {"a,b\n1,2\n3,4", "a,b\r\n1,2\r\n3,4", "a,b\n1,2\n\"3\",\"4\""};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		struct reader r = open_text(cases[i], strlen(cases[i]), ',', KL_CSV_UTF8);
		assert_true(next(&r)->line_end);
		assert_true(next(&r)->line_end);
		const struct kl_csv_record *rec = next(&r);
		assert_int_equal(rec->row, 3);
		assert_false(rec->line_end);
		close_reader(&r);
	}
	const char *ended[] = {"a\n1\n", "a\r\n1\r\n", "a\n1\r", "a\n\"1\n\"\n"};
	for (size_t i = 0; i < sizeof ended / sizeof *ended; i++) {
		struct reader r = open_text(ended[i], strlen(ended[i]), ',', KL_CSV_UTF8);
		next(&r);
		assert_true(next(&r)->line_end);
		close_reader(&r);
	}
}

/* The first error of reading all of text with enc, KL_OK when none; the
 * first field of its second record in first (when there is one). */
static int read_all(const char *text, size_t len, enum kl_csv_encoding enc, char *first, size_t size,
		    enum kl_csv_encoding *found, struct kl_err *err)
{
	FILE *f = fmemopen((void *)text, len, "r");
	struct kl_csv *csv = NULL;
	struct kl_csv_opts o = {';', enc};
	assert_int_equal(kl_csv_open(&csv, f, "in.csv", &o, err), KL_OK);
	const struct kl_csv_record *rec;
	int rc, n = 0;
	first[0] = '\0';
	while ((rc = kl_csv_next(csv, &rec, err)) == 1)
		if (++n == 2)
			snprintf(first, size, "%s", rec->field[0]);
	*found = kl_csv_encoding(csv);
	kl_csv_free(csv);
	fclose(f);
	return rc;
}

static void csv_encoding_auto_finds_utf8_and_cp1251(void **state)
{
	(void)state;
	char first[64];
	enum kl_csv_encoding found;
	struct kl_err err = {0};
	/* "Имя\r\nСидоров" in CP1251, then in UTF-8 */
	assert_int_equal(read_all(S("\xC8\xEC\xFF\r\n\xD1\xE8\xE4\xEE\xF0\xEE\xE2\r\n"), KL_CSV_AUTO, first,
				  sizeof first, &found, &err), KL_OK);
	assert_string_equal(first, "Сидоров");
	assert_int_equal(found, KL_CSV_CP1251);
	assert_int_equal(read_all(S("Имя\r\nСидоров\r\n"), KL_CSV_AUTO, first, sizeof first, &found, &err), KL_OK);
	assert_string_equal(first, "Сидоров");
	assert_int_equal(found, KL_CSV_UTF8);
	/* "И" is 0xD0 0x98 in UTF-8: no longer a CP1251 hole */
	assert_int_equal(read_all(S("name\nИван\n"), KL_CSV_AUTO, first, sizeof first, &found, &err), KL_OK);
	assert_string_equal(first, "Иван");
	/* ASCII only: nothing to decide */
	assert_int_equal(read_all(S("name\nIvan\n"), KL_CSV_AUTO, first, sizeof first, &found, &err), KL_OK);
	assert_int_equal(found, KL_CSV_AUTO);
}

static void csv_encoding_auto_names_the_line_of_a_bad_byte(void **state)
{
	(void)state;
	char first[64];
	enum kl_csv_encoding found;
	struct kl_err err = {0};
	/* Latin-1 accents are neither UTF-8 nor Cyrillic */
	assert_int_equal(read_all(S("name\nIvan\nJos\xE9 \xE0 \xFC\xB5\x85\x86\n"), KL_CSV_AUTO, first, sizeof first,
				  &found, &err), KL_EDATA);
	assert_string_equal(err.msg, "in.csv: line 3 is neither UTF-8 nor Windows-1251 Cyrillic text (byte 0xE9): save "
				     "the file as UTF-8 (or give --encoding cp1251 or utf-8)");
	/* a lone accented letter is Latin-1, though its byte is a Cyrillic letter in Windows-1251 */
	assert_int_equal(read_all(S("name\nJos\xE9;M\xFCller\n"), KL_CSV_AUTO, first, sizeof first, &found, &err),
			 KL_EDATA);
	assert_non_null(strstr(err.msg, "line 2 is neither UTF-8 nor Windows-1251 Cyrillic text (byte 0xE9)"));
	assert_int_equal(read_all(S("a\nb\x98\n"), KL_CSV_AUTO, first, sizeof first, &found, &err), KL_EDATA);
	assert_non_null(strstr(err.msg, "line 2"));
}

static void csv_cp1251_refuses_a_utf8_cyrillic_file(void **state)
{
	(void)state;
	char first[64];
	enum kl_csv_encoding found;
	struct kl_err err = {0};
	assert_int_equal(read_all(S("name\nСидоров\n"), KL_CSV_CP1251, first, sizeof first, &found, &err), KL_EDATA);
	assert_string_equal(err.msg, "in.csv: --encoding cp1251, but the file is UTF-8 (Cyrillic in UTF-8 on line 2): "
				     "drop --encoding cp1251, or give --encoding auto or utf-8");
	/* utf-8 asked for: taken as it is, the rows' own checks refuse what is not */
	assert_int_equal(read_all(S("a\n\xC8\xEC\xFF\n"), KL_CSV_UTF8, first, sizeof first, &found, &err), KL_OK);
	assert_string_equal(first, "\xC8\xEC\xFF");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rejects_file_is_private_and_holds_the_rows),
		cmocka_unit_test(rejects_file_replaces_the_old_one_only_at_the_end),
		cmocka_unit_test(rejects_file_replaces_a_symlink_without_following_it),
		cmocka_unit_test(rejects_file_on_a_full_device_fails_at_close),
		cmocka_unit_test(csv_tells_whether_a_record_ended_with_a_line_end),
		cmocka_unit_test(csv_keeps_quotes_commas_and_newlines_inside_quotes),
		cmocka_unit_test(csv_skips_bom_and_blank_lines),
		cmocka_unit_test(csv_guesses_tab_and_honours_a_given_delimiter),
		cmocka_unit_test(csv_row_numbers_match_the_spreadsheet_with_crlf),
		cmocka_unit_test(csv_converts_cp1251_to_utf8),
		cmocka_unit_test(csv_encoding_auto_finds_utf8_and_cp1251),
		cmocka_unit_test(csv_encoding_auto_names_the_line_of_a_bad_byte),
		cmocka_unit_test(csv_cp1251_refuses_a_utf8_cyrillic_file),
		cmocka_unit_test(csv_reports_unclosed_quote_with_its_row),
		cmocka_unit_test(csv_reports_a_stray_quote),
		cmocka_unit_test(csv_stops_an_unclosed_quote_before_it_eats_all_memory),
		cmocka_unit_test(csv_streams_across_chunks),
		cmocka_unit_test(csv_keeps_nul_bytes_visible_through_len),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
