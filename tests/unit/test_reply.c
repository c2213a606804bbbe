/* Reading Kommo's replies: successes and every kind of error body. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "kommo/kl_reply.h"

#define S(x) x, strlen(x)

static void success_gives_lead_contact_uid_and_request_id(void **state)
{
	(void)state;
	struct kl_created_list l;
	struct kl_err err = {0};
	const char *body =
		"{\"_total_items\":1,\"_embedded\":{\"unsorted\":[{\"uid\":\"a1b2c3\",\"account_id\":31000001,"
		"\"request_id\":\"0\",\"_embedded\":{\"leads\":[{\"id\":8876820,\"_links\":{}}],"
		"\"contacts\":[{\"id\":7654321,\"_links\":{}}],\"companies\":[]},\"_links\":{}}]}}";
	assert_int_equal(kl_reply_parse_unsorted(S(body), &l, &err), KL_OK);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.items[0].lead_id, 8876820);
	assert_int_equal(l.items[0].contact_id, 7654321);
	assert_string_equal(l.items[0].uid, "a1b2c3");
	assert_string_equal(l.items[0].request_id, "0");
	kl_created_list_free(&l);
}

static void success_with_several_items_and_numeric_request_ids(void **state)
{
	(void)state;
	struct kl_created_list l;
	struct kl_err err = {0};
	const char *body = "{\"_embedded\":{\"unsorted\":["
			   "{\"uid\":\"u1\",\"request_id\":2,\"_embedded\":{\"leads\":[{\"id\":\"11\"}],\"contacts\":[]}},"
			   "{\"uid\":\"u2\",\"request_id\":\"3\",\"_embedded\":{\"leads\":[{\"id\":12}],\"contacts\":[{\"id\":21}]}}]}}";
	assert_int_equal(kl_reply_parse_unsorted(S(body), &l, &err), KL_OK);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.items[0].request_id, "2");
	assert_int_equal(l.items[0].lead_id, 11);
	assert_int_equal(l.items[0].contact_id, 0);
	assert_int_equal(l.items[1].contact_id, 21);
	kl_created_list_free(&l);
}

static void unreadable_success_is_a_protocol_error(void **state)
{
	(void)state;
	struct kl_created_list l;
	struct kl_err err = {0};
	assert_int_equal(kl_reply_parse_unsorted(S("{\"_embedded\":{\"unsor"), &l, &err), KL_EPROTOCOL);
	assert_non_null(strstr(err.msg, "not JSON"));
	assert_int_equal(kl_reply_parse_unsorted(S("{\"_embedded\":{\"unsorted\":[]}}"), &l, &err), KL_EPROTOCOL);
	assert_int_equal(kl_reply_parse_unsorted(S("{\"_embedded\":{\"unsorted\":[{\"_embedded\":{\"leads\":[{\"id\":-4}]}}]}}"), &l, &err), KL_EPROTOCOL);
	assert_non_null(strstr(err.msg, "no lead id"));
	assert_int_equal(kl_reply_parse_unsorted(S("{\"_embedded\":{\"unsorted\":[{\"_embedded\":{\"leads\":[{\"id\":true}]}}]}}"), &l, &err), KL_EPROTOCOL);
	assert_int_equal(kl_reply_parse_unsorted(NULL, 0, &l, &err), KL_EPROTOCOL);
}

static void deeply_nested_reply_is_refused_not_recursed(void **state)
{
	(void)state;
	struct kl_created_list l;
	struct kl_err err = {0};
	size_t depth = 100000;
	char *body = malloc(depth * 2 + 1);
	memset(body, '[', depth);
	memset(body + depth, ']', depth);
	body[depth * 2] = '\0';
	assert_int_equal(kl_reply_parse_unsorted(body, depth * 2, &l, &err), KL_EPROTOCOL);
	struct kl_problem p;
	assert_int_equal(kl_reply_parse_problem(500, "application/json", body, depth * 2, -1, &p, &err), KL_OK);
	assert_false(p.json);
	kl_problem_free(&p);
	free(body);
}

static void validation_errors_are_read_with_request_ids(void **state)
{
	(void)state;
	struct kl_problem p;
	struct kl_err err = {0};
	const char *body =
		"{\"validation-errors\":[{\"request_id\":\"0\",\"errors\":["
		"{\"code\":\"NotSupportedChoice\",\"path\":\"custom_fields_values.0.field_id\",\"detail\":\"The value you selected is not a valid choice.\"},"
		"{\"code\":\"FieldMissing\",\"path\":\"source_uid\",\"detail\":\"This field is missing.\"}]},"
		"{\"request_id\":\"7\",\"errors\":[{\"code\":\"InvalidType\",\"path\":\"price\",\"detail\":\"x\"}]}],"
		"\"title\":\"Bad Request\",\"type\":\"https://httpstatus.es/400\",\"status\":400,\"detail\":\"Request validation failed\"}";
	assert_int_equal(kl_reply_parse_problem(400, "application/problem+json", S(body), -1, &p, &err), KL_OK);
	assert_true(p.json);
	assert_string_equal(p.title, "Bad Request");
	assert_string_equal(p.detail, "Request validation failed");
	assert_int_equal(p.nerrors, 3);
	assert_string_equal(p.errors[0].code, "NotSupportedChoice");
	assert_string_equal(p.errors[0].path, "custom_fields_values.0.field_id");
	assert_string_equal(p.errors[1].request_id, "0");
	assert_string_equal(p.errors[2].request_id, "7");
	assert_string_equal(p.errors[2].path, "price");
	kl_problem_free(&p);
}

static void html_403_is_recognised_as_html(void **state)
{
	(void)state;
	struct kl_problem p;
	struct kl_err err = {0};
	const char *body = "<html>\r\n<head><title>403 Forbidden</title></head>\r\n<body><center><h1>403 Forbidden</h1></center><hr><center>nginx</center></body></html>";
	assert_int_equal(kl_reply_parse_problem(403, "text/html", S(body), -1, &p, &err), KL_OK);
	assert_true(p.html);
	assert_false(p.json);
	assert_null(p.detail);
	kl_problem_free(&p);
	/* no content type, but the body starts like a page */
	assert_int_equal(kl_reply_parse_problem(403, NULL, S("  <!DOCTYPE html><p>x"), -1, &p, &err), KL_OK);
	assert_true(p.html);
	kl_problem_free(&p);
}

static void retry_after_comes_from_body_else_header(void **state)
{
	(void)state;
	struct kl_problem p;
	struct kl_err err = {0};
	const char *body = "{\"title\":\"Too Many Requests\",\"status\":429,\"detail\":\"slow down\",\"retry_after\":3}";
	assert_int_equal(kl_reply_parse_problem(429, "application/problem+json", S(body), 9, &p, &err), KL_OK);
	assert_int_equal(p.retry_after, 3);
	kl_problem_free(&p);
	assert_int_equal(kl_reply_parse_problem(429, "text/html", S("<html>429</html>"), 9, &p, &err), KL_OK);
	assert_int_equal(p.retry_after, 9);
	kl_problem_free(&p);
	assert_int_equal(kl_reply_parse_problem(429, NULL, "", 0, -1, &p, &err), KL_OK);
	assert_int_equal(p.retry_after, -1);
	kl_problem_free(&p);
}

static void kommos_text_reaches_the_terminal_without_control_characters(void **state)
{
	(void)state;
	struct kl_problem p;
	struct kl_err err = {0};
	const char *body = "{\"title\":\"Bad\\u001b[2J\",\"detail\":\"line\\rover\\u0085x \u041e\u043a\"}";
	assert_int_equal(kl_reply_parse_problem(400, "application/problem+json", S(body), -1, &p, &err), KL_OK);
	assert_string_equal(p.title, "Bad?[2J");
	assert_string_equal(p.detail, "line?over?x Ок");
	kl_problem_free(&p);
}

static void trace_id_and_wrong_types_are_tolerated(void **state)
{
	(void)state;
	struct kl_problem p;
	struct kl_err err = {0};
	const char *body = "{\"title\":5,\"detail\":[1],\"trace_id\":\"abc123\",\"validation-errors\":{\"x\":1}}";
	assert_int_equal(kl_reply_parse_problem(500, "application/problem+json", S(body), -1, &p, &err), KL_OK);
	assert_null(p.title);
	assert_null(p.detail);
	assert_string_equal(p.trace_id, "abc123");
	assert_int_equal(p.nerrors, 0);
	kl_problem_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(success_gives_lead_contact_uid_and_request_id),
		cmocka_unit_test(success_with_several_items_and_numeric_request_ids),
		cmocka_unit_test(unreadable_success_is_a_protocol_error),
		cmocka_unit_test(deeply_nested_reply_is_refused_not_recursed),
		cmocka_unit_test(validation_errors_are_read_with_request_ids),
		cmocka_unit_test(html_403_is_recognised_as_html),
		cmocka_unit_test(retry_after_comes_from_body_else_header),
		cmocka_unit_test(kommos_text_reaches_the_terminal_without_control_characters),
		cmocka_unit_test(trace_id_and_wrong_types_are_tolerated),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
