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

#include "core/kl_columns.h"
#include "core/kl_jsonl.h"
#include "util/kl_str.h"

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

static void assert_columns(struct reader *r, const char *const *want, size_t n)
{
	size_t got;
	const char *const *names = kl_jsonl_columns(r->j, &got);
	assert_int_equal(got, n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(names[i], want[i]);
}

static void jsonl_any_line_gives_any_key_and_a_key_not_given_is_empty(void **state)
{
	(void)state;
	struct reader r = open_text("\xEF\xBB\xBF{\"name\":\"Иван\",\"phone\":\"+79990000001\",\"note\":\"a\"}\r\n"
				    "\n"
				    "{\"phone\":\"+79990000002\",\"name\":\"Анна\"}\n"
				    "{\"email\":\"b@x\",\"name\":\"Борис\"}\n"
				    "{\"name\":\"Вера\"}\n");
	const struct kl_csv_record *rec = next(&r);
	/* the header: no key is a column before a line gives it (no --map) */
	assert_non_null(rec);
	assert_int_equal(rec->nfields, 0);
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
	/* a key line 1 lacks is a column from the line that gives it on */
	assert_fields(next(&r), (const char *[]){"Борис", "", "", "b@x"}, 4);
	assert_fields(next(&r), (const char *[]){"Вера", "", "", ""}, 4);
	assert_columns(&r, (const char *[]){"name", "phone", "note", "email"}, 4);
	assert_null(next(&r));
	assert_int_equal(r.err.status, 0);
	close_reader(&r);
}

static int check_key(void *ctx, const char *key, char *field, size_t size, struct kl_err *err)
{
	const struct kl_colmap *map = ctx;
	return kl_columns_field(key, map, 1, false, field, size, err);
}

static void jsonl_keys_are_checked_on_every_line_with_maps_first(void **state)
{
	(void)state;
	struct kl_colmap map = {"Work phone", "phone"};
	struct reader r = open_text("{\"name\":\"A\",\"emial\":\"a@x\"}\n"
				    "{\"phone\":\"1\",\"Телефон\":\"2\"}\n"
				    "{\"Work phone\":\"3\",\"lead:12\":\"x\",\"name\":\"B\",\"error\":\"old\"}\n"
				    "{\"phone\":\"\",\"lead:abc\":\"y\"}\n"
				    "{\"name\":\"C\",\"emial\":\"\"}\n");
	assert_int_equal(kl_jsonl_keys(r.j, (const char *[]){"Work phone"}, 1, check_key, &map, &r.err), KL_OK);
	const struct kl_csv_record *rec = next(&r);
	assert_fields(rec, (const char *[]){"Work phone"}, 1); /* the header: --map's keys */
	rec = next(&r);
	/* an unknown key refuses its line, keeping what the line says */
	assert_string_equal(rec->error,
			    "line 1: key \"emial\" is not a column (did you mean \"email\"?): name lead fields as in kommo-lead(1) (name, last_name, phone, email, ..., lead:ID, contact:ID), rename with --map KEY=FIELD, or pass --ignore-unknown-columns");
	assert_fields(rec, (const char *[]){"", "A", "a@x"}, 3);
	rec = next(&r);
	assert_string_equal(rec->error, "line 2: keys \"phone\" and \"Телефон\" fill the same field (phone): keep one");
	assert_fields(rec, (const char *[]){"", "", "", "1", "2"}, 5);
	rec = next(&r);
	/* a --map key, a custom field key, a rejects file's error: all known */
	assert_null(rec->error);
	assert_fields(rec, (const char *[]){"3", "B", "", "", "", "x", "old"}, 7);
	rec = next(&r);
	assert_non_null(strstr(rec->error, "line 4: key \"lead:abc\": "));
	rec = next(&r);
	/* refused whatever its value: a misspelt key means values go astray */
	assert_non_null(strstr(rec->error, "line 5: key \"emial\" is not a column"));
	assert_fields(rec, (const char *[]){"", "C", "", "", "", "", "", ""}, 8);
	assert_null(next(&r));
	assert_int_equal(r.err.status, 0);
	close_reader(&r);
}

static void jsonl_more_keys_than_the_most_refuse_the_line(void **state)
{
	(void)state;
	struct kl_buf b = {0};
	kl_buf_appendf(&b, "{\"name\":\"A\"}\n{");
	for (int i = 0; i < KL_JSONL_MAX_KEYS; i++)
		kl_buf_appendf(&b, "%s\"k%d\":\"v\"", i ? "," : "", i);
	kl_buf_appendf(&b, "}\n{\"name\":\"B\",\"k0\":\"w\"}\n");
	struct reader r = open_text(b.data);
	next(&r);
	next(&r);
	const struct kl_csv_record *rec = next(&r);
	assert_string_equal(rec->error, "line 2: key \"k999\": more than 1000 different keys in the input");
	/* the line goes whole into the first cell */
	const char *line = strchr(b.data, '\n') + 1;
	assert_int_equal(rec->len[0], (size_t)(strchr(line, '\n') - line));
	assert_memory_equal(rec->field[0], line, rec->len[0]);
	rec = next(&r);
	assert_null(rec->error); /* the keys already taken still are */
	assert_string_equal(rec->field[0], "B");
	assert_string_equal(rec->field[1], "w");
	close_reader(&r);
	kl_buf_free(&b);
}

static void jsonl_numbers_are_their_value_and_null_is_empty(void **state)
{
	(void)state;
	struct reader r = open_text("{\"a\":79161234567,\"b\":1e3,\"c\":0.10,\"d\":null,\"e\":-2.5}\n");
	assert_int_equal(next(&r)->nfields, 0);
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
	assert_null(rec->error); /* a key line 1 lacks */
	assert_fields(rec, (const char *[]){"B", "", "b@x"}, 3);
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
	assert_fields(rec, (const char *[]){"F", "", ""}, 3);
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

static void jsonl_first_line_not_an_object_is_a_row_like_any(void **state)
{
	(void)state;
	struct reader r = open_text("\n\"name\"\n{\"name\":\"A\"}\n");
	assert_int_equal(next(&r)->nfields, 0);
	const struct kl_csv_record *rec = next(&r);
	assert_string_equal(rec->error, "line 2: not a JSON object");
	assert_fields(rec, (const char *[]){"\"name\""}, 1); /* kept whole, before any column */
	rec = next(&r);
	assert_null(rec->error);
	assert_fields(rec, (const char *[]){"A"}, 1);
	assert_null(next(&r));
	assert_int_equal(r.err.status, 0);
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
		cmocka_unit_test(jsonl_any_line_gives_any_key_and_a_key_not_given_is_empty),
		cmocka_unit_test(jsonl_keys_are_checked_on_every_line_with_maps_first),
		cmocka_unit_test(jsonl_more_keys_than_the_most_refuse_the_line),
		cmocka_unit_test(jsonl_numbers_are_their_value_and_null_is_empty),
		cmocka_unit_test(jsonl_refused_lines_are_rows_with_an_error),
		cmocka_unit_test(jsonl_nul_byte_is_refused_not_cut_at),
		cmocka_unit_test(jsonl_first_line_not_an_object_is_a_row_like_any),
		cmocka_unit_test(jsonl_over_long_line_is_an_error_naming_it),
		cmocka_unit_test(jsonl_buffered_gives_only_the_first_values),
		cmocka_unit_test(jsonl_put_text_replaces_a_key_and_makes_text_utf8),
		cmocka_unit_test(jsonl_write_puts_one_object_a_line_that_reads_back),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
