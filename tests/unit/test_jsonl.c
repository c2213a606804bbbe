/* The JSON Lines reader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/kl_jsonl.h"

struct reader {
	FILE *f;
	struct kl_jsonl *j;
	struct kl_err err;
};

static struct reader open_text(const char *text)
{
	struct reader r = {0};
	r.f = fmemopen((void *)text, strlen(text), "r");
	assert_non_null(r.f);
	assert_int_equal(kl_jsonl_open(&r.j, r.f, "in.jsonl", &r.err), KL_OK);
	return r;
}

static void close_reader(struct reader *r)
{
	kl_jsonl_free(r->j);
	fclose(r->f);
}

static const struct kl_csv_record *next(struct reader *r)
{
	const struct kl_csv_record *rec = NULL;
	int rc = kl_jsonl_next(r->j, &rec, &r->err);
	return rc == 1 ? rec : NULL;
}

static void assert_fields(const struct kl_csv_record *rec, const char *const *want, size_t n)
{
	assert_non_null(rec);
	assert_int_equal(rec->nfields, n);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(rec->field[i], want[i]);
		assert_int_equal(rec->len[i], strlen(want[i]));
	}
}

static void jsonl_first_keys_are_the_header_and_later_keys_map_by_name(void **state)
{
	(void)state;
	struct reader r = open_text("\xEF\xBB\xBF{\"name\":\"Иван\",\"phone\":\"+79990000001\",\"note\":\"a\"}\r\n"
				    "\n"
				    "{\"phone\":\"+79990000002\",\"name\":\"Анна\"}\n");
	const struct kl_csv_record *rec = next(&r);
	assert_fields(rec, (const char *[]){"name", "phone", "note"}, 3);
	assert_int_equal(rec->row, 1);
	rec = next(&r);
	assert_fields(rec, (const char *[]){"Иван", "+79990000001", "a"}, 3);
	assert_int_equal(rec->row, 1);
	assert_null(rec->error);
	rec = next(&r);
	/* the blank line counts: rows are line numbers */
	assert_int_equal(rec->row, 3);
	assert_fields(rec, (const char *[]){"Анна", "+79990000002", ""}, 3);
	assert_true(rec->line_end);
	assert_null(next(&r));
	assert_int_equal(r.err.status, 0);
	close_reader(&r);
}

static void jsonl_numbers_are_their_value_and_null_is_empty(void **state)
{
	(void)state;
	struct reader r = open_text("{\"a\":79161234567,\"b\":1e3,\"c\":0.10,\"d\":null,\"e\":-2.5}\n");
	next(&r);
	assert_fields(next(&r), (const char *[]){"79161234567", "1000", "0.1", "", "-2.5"}, 5);
	close_reader(&r);
}

static void jsonl_refused_lines_are_rows_with_an_error(void **state)
{
	(void)state;
	struct reader r = open_text("{\"name\":\"A\",\"phone\":\"1\"}\n"
				    "[1,2]\n"
				    "{\"name\":\"B\",\"email\":\"b@x\"}\n"
				    "{\"name\":true}\n"
				    "{\"name\":{\"x\":1}}\n"
				    "{\"name\":\"C\"} tail\n"
				    "{\"phone\":12345678901234567890}\n"
				    "{\"name\":\"D\",\"name\":\"E\"}\n"
				    "{\"name\":\"\xff\"}\n"
				    "{\"name\":\"F\"}");
	next(&r);
	next(&r);
	const struct kl_csv_record *rec = next(&r);
	assert_non_null(rec);
	assert_int_equal(rec->row, 2);
	assert_string_equal(rec->error, "line 2: not a JSON object");
	/* the whole line goes to the first column, for --rejects */
	assert_fields(rec, (const char *[]){"[1,2]", ""}, 2);
	rec = next(&r);
	assert_string_equal(rec->error, "line 3: key \"email\" is not among the columns (the keys of line 1)");
	rec = next(&r);
	assert_string_equal(rec->error,
			    "line 4, key \"name\": the value is true or false, which is no cell value: give it as a string");
	rec = next(&r);
	assert_string_equal(rec->error, "line 5, key \"name\": the value is an object: values are strings or numbers");
	rec = next(&r);
	assert_string_equal(rec->error, "line 6: not a JSON object");
	rec = next(&r);
	assert_string_equal(rec->error,
			    "line 7, key \"phone\": the value is too long a number to be read exactly: give it as a string");
	rec = next(&r);
	assert_string_equal(rec->error, "line 8: key \"name\" given twice");
	rec = next(&r);
	assert_string_equal(rec->error, "line 9: not UTF-8 (byte 10)");
	rec = next(&r);
	assert_null(rec->error);
	assert_fields(rec, (const char *[]){"F", ""}, 2);
	assert_false(rec->line_end); /* the input ends without a line end */
	assert_null(next(&r));
	close_reader(&r);
}

static void jsonl_nul_byte_is_refused_not_cut_at(void **state)
{
	(void)state;
	static const char text[] = "{\"name\":\"A\"}\n{\"name\":\"B\"}\0x\n{\"name\":\"C\\u0000D\"}\n"
				   "{\"name\":\"\\\\u0000\"}\n";
	struct reader r = {0};
	r.f = fmemopen((void *)text, sizeof text - 1, "r");
	assert_non_null(r.f);
	assert_int_equal(kl_jsonl_open(&r.j, r.f, "in.jsonl", &r.err), KL_OK);
	next(&r);
	next(&r);
	const struct kl_csv_record *rec = next(&r);
	assert_string_equal(rec->error, "line 2: contains a NUL byte");
	assert_int_equal(rec->len[0], 14); /* the whole line, NUL and all, for --rejects */
	assert_memory_equal(rec->field[0], "{\"name\":\"B\"}\0x", 15); /* and its terminator */
	rec = next(&r);
	assert_string_equal(rec->error, "line 3: contains a NUL byte");
	rec = next(&r);
	assert_null(rec->error); /* an escaped backslash before u0000 is no NUL */
	assert_string_equal(rec->field[0], "\\u0000");
	close_reader(&r);
}

static void jsonl_first_line_not_an_object_ends_the_input(void **state)
{
	(void)state;
	struct reader r = open_text("\n\"name\"\n{\"name\":\"A\"}\n");
	assert_null(next(&r));
	assert_int_equal(r.err.status, KL_EDATA);
	assert_string_equal(r.err.msg, "in.jsonl: line 2: not a JSON object: the first line's keys are the columns");
	close_reader(&r);
}

static void jsonl_over_long_line_is_an_error_naming_it(void **state)
{
	(void)state;
	size_t n = KL_JSONL_MAX_LINE + 16;
	char *text = malloc(n + 1);
	assert_non_null(text);
	memset(text, ' ', n);
	memcpy(text, "{\"name\":\"A\"}\n{", 14);
	text[n] = '\0';
	struct reader r = open_text(text);
	next(&r);
	next(&r);
	assert_null(next(&r));
	assert_int_equal(r.err.status, KL_EDATA);
	assert_string_equal(r.err.msg, "in.jsonl: line 2 is longer than 1048576 bytes");
	close_reader(&r);
	free(text);
}

static void jsonl_buffered_gives_only_the_first_values(void **state)
{
	(void)state;
	struct reader r = open_text("{\"name\":\"A\"}\n{\"name\":\"B\"}\n");
	const struct kl_csv_record *rec;
	next(&r); /* the header */
	assert_int_equal(kl_jsonl_next_buffered(r.j, &rec), 1);
	assert_string_equal(rec->field[0], "A");
	assert_int_equal(kl_jsonl_next_buffered(r.j, &rec), 0);
	assert_int_equal(kl_jsonl_offset(r.j), 13);
	close_reader(&r);
}

static void jsonl_put_text_replaces_a_key_and_makes_text_utf8(void **state)
{
	(void)state;
	cJSON *o = cJSON_CreateObject();
	assert_true(kl_jsonl_put_text(o, "name", "\xD0\x98\xD0\xB2\"\\"));
	assert_true(kl_jsonl_put_text(o, "error", "old"));
	assert_true(kl_jsonl_put_text(o, "bad", "a\xFF\xC8" "b"));
	assert_true(kl_jsonl_put_text(o, "none", NULL));
	assert_true(kl_jsonl_put_text(o, "error", "new")); /* in its place, once */
	char *text = cJSON_PrintUnformatted(o);
	assert_string_equal(text, "{\"name\":\"\xD0\x98\xD0\xB2\\\"\\\\\",\"error\":\"new\",\"bad\":\"a??b\",\"none\":null}");
	cJSON_free(text);
	cJSON_Delete(o);
}

static void jsonl_write_puts_one_object_a_line_that_reads_back(void **state)
{
	(void)state;
	char path[] = "/tmp/kl-test-jsonl-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	struct kl_err err = {0};
	struct kl_csv_writer *w = NULL;
	assert_int_equal(kl_csv_writer_open(&w, path, ',', KL_CSV_UTF8, &err), KL_OK);
	cJSON *o = cJSON_CreateObject();
	assert_true(kl_jsonl_put_text(o, "name", "A\nB"));
	assert_true(kl_jsonl_put_text(o, "error", "why"));
	assert_int_equal(kl_jsonl_write(w, o), 0);
	assert_int_equal(kl_jsonl_write(w, NULL), -1); /* memory ran out making it */
	assert_int_equal(errno, ENOMEM);
	cJSON_Delete(o);
	assert_int_equal(kl_csv_writer_close(w), 0);
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	char buf[128] = "";
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	assert_int_equal(n, strlen("{\"name\":\"A\\nB\",\"error\":\"why\"}\n"));
	assert_string_equal(buf, "{\"name\":\"A\\nB\",\"error\":\"why\"}\n");
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(jsonl_first_keys_are_the_header_and_later_keys_map_by_name),
		cmocka_unit_test(jsonl_numbers_are_their_value_and_null_is_empty),
		cmocka_unit_test(jsonl_refused_lines_are_rows_with_an_error),
		cmocka_unit_test(jsonl_nul_byte_is_refused_not_cut_at),
		cmocka_unit_test(jsonl_first_line_not_an_object_ends_the_input),
		cmocka_unit_test(jsonl_over_long_line_is_an_error_naming_it),
		cmocka_unit_test(jsonl_buffered_gives_only_the_first_values),
		cmocka_unit_test(jsonl_put_text_replaces_a_key_and_makes_text_utf8),
		cmocka_unit_test(jsonl_write_puts_one_object_a_line_that_reads_back),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
