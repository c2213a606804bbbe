/* libFuzzer target: Kommo's replies. The input is a reply body, read as a
 * 200 from unsorted/forms, as an error reply (the status and Content-Type
 * taken from the body's length, so a seed file is a real body and nothing
 * else), and as any JSON reply, with every value of it read as an id and as
 * text. Built with -DKL_FUZZ=ON and clang; tests/fuzz/replay.c replays the
 * corpus. */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kommo/kl_reply.h"
#include "util/kl_str.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ID 9007199254740991LL /* 2^53 - 1: the largest id a double holds exactly */

/* Text from Kommo goes to a terminal: UTF-8 without control characters. */
static void check_printable(const char *s)
{
	if (s && (!kl_str_utf8_valid(s, strlen(s)) || kl_str_has_control(s)))
		abort();
}

static void check_value(const cJSON *v)
{
	long long id = kl_reply_id(v);
	if (id < 0 || id > MAX_ID)
		abort();
	if (cJSON_IsString(v)) {
		/* a string of digits is an id when a double can carry it too:
		 * --json prints ids as JSON numbers */
		size_t n = strlen(v->valuestring);
		bool digits = n > 0 && n < 17 && strspn(v->valuestring, "0123456789") == n;
		if (digits && atoll(v->valuestring) <= MAX_ID ? id != atoll(v->valuestring) : id != 0)
			abort();
	} else if (!cJSON_IsNumber(v) && id != 0) {
		abort();
	}
	char *text = kl_reply_text(v);
	if ((text != NULL) != (cJSON_IsString(v) || cJSON_IsNumber(v)))
		abort();
	check_printable(text);
	if (text && id > 0 && cJSON_IsNumber(v) && atoll(text) != id)
		abort(); /* an id shown is the id used */
	free(text);
}

/* Walks the tree; kl_reply_json promises at most 64 nested objects and
 * arrays, so a value is at most 65 levels down. */
static void walk(const cJSON *v, int depth)
{
	if (depth > 65)
		abort();
	check_value(v);
	for (const cJSON *c = v->child; c; c = c->next)
		walk(c, depth + 1);
}

static void fuzz_unsorted(const char *body, size_t len)
{
	struct kl_created_list l;
	struct kl_err err = {0};
	int rc = kl_reply_parse_unsorted(body, len, &l, &err);
	if (rc != KL_OK) {
		if ((rc != KL_EPROTOCOL && rc != KL_EOSERR) || !err.msg[0] || l.items || l.n)
			abort();
		return;
	}
	if (l.n == 0)
		abort();
	for (size_t i = 0; i < l.n; i++) {
		if (l.items[i].lead_id < 1 || l.items[i].lead_id > MAX_ID)
			abort();
		if (l.items[i].contact_id < 0 || l.items[i].contact_id > MAX_ID)
			abort();
		check_printable(l.items[i].uid);
		check_printable(l.items[i].request_id);
	}
	kl_created_list_free(&l);
	if (l.items || l.n)
		abort();
}

static void fuzz_problem(const char *body, size_t len)
{
	static const long statuses[] = {400, 401, 402, 403, 404, 405, 413, 422, 429, 500, 502, 503, 504};
	static const char *const types[] = {"application/problem+json", "text/html; charset=UTF-8", NULL};
	const size_t ns = sizeof statuses / sizeof statuses[0];
	long status = statuses[len % ns];
	const char *ctype = types[(len / ns) % 3];
	long header = (len & 1) ? -1 : 7;
	struct kl_problem p;
	struct kl_err err = {0};

	int rc = kl_reply_parse_problem(status, ctype, body, len, header, &p, &err);
	if (rc == KL_EOSERR)
		return;
	if (rc != KL_OK || p.status != status)
		abort();
	if (p.retry_after != header && (p.retry_after < 0 || p.retry_after >= 86400 || !p.json))
		abort();
	if (p.json && p.html)
		abort();
	if (!p.json && (p.title || p.detail || p.trace_id || p.nerrors))
		abort();
	check_printable(p.title);
	check_printable(p.detail);
	check_printable(p.trace_id);
	for (size_t i = 0; i < p.nerrors; i++) {
		check_printable(p.errors[i].request_id);
		check_printable(p.errors[i].code);
		check_printable(p.errors[i].path);
		check_printable(p.errors[i].detail);
	}
	kl_problem_free(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;

	fuzz_unsorted(body, size);
	fuzz_problem(body, size);
	cJSON *root = kl_reply_json(body, size);
	if (root) {
		walk(root, 1);
		cJSON_Delete(root);
	}
	/* no body at all is what a 204 or a cut connection leaves */
	if (size == 0) {
		fuzz_unsorted(NULL, 0);
		fuzz_problem(NULL, 0);
		if (kl_reply_json(NULL, 0))
			abort();
	}
	return 0;
}
