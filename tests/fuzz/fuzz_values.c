/* libFuzzer target: the checks of values people type (phones by
 * libphonenumber, numbers, moments, emails, text) and the encoding guess of
 * --encoding auto. The first byte picks the check, the rest is the value.
 * What a check accepts, it must accept again unchanged: a normal form is a
 * fixed point. Built with -DKL_FUZZ=ON and clang; tests/fuzz/replay.c
 * replays the corpus. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/kl_check.h"
#include "core/kl_encoding.h"
#include "util/kl_str.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef int (*check_fn)(const char *v, char **out, struct kl_err *err);

static int phone_ru(const char *v, char **out, struct kl_err *err)
{
	return kl_check_phone("--phone", v, "RU", out, err);
}

static int phone_none(const char *v, char **out, struct kl_err *err)
{
	return kl_check_phone("--phone", v, NULL, out, err);
}

static int number(const char *v, char **out, struct kl_err *err)
{
	return kl_check_number("--income", v, out, err);
}

static int email(const char *v, char **out, struct kl_err *err)
{
	return kl_check_email("--email", v, out, err);
}

static int free_text(const char *v, char **out, struct kl_err *err)
{
	return kl_check_free_text("--career", v, out, err);
}

static int name(const char *v, char **out, struct kl_err *err)
{
	return kl_check_name("--name", v, out, err);
}

/* A JSON number as kl_check_number spells it: digits without a leading
 * zero, an optional '.' and digits. */
static bool json_number(const char *s)
{
	size_t w = strspn(s, "0123456789");
	if (w == 0 || (w > 1 && s[0] == '0'))
		return false;
	if (s[w] == '\0')
		return true;
	return s[w] == '.' && s[w + 1] && s[w + 1 + strspn(s + w + 1, "0123456789")] == '\0';
}

static void fixed_point(check_fn check, const char *v)
{
	struct kl_err err = {0};
	char *out = NULL, *again = NULL;
	int rc = check(v, &out, &err);
	if (rc != KL_OK) {
		if (out || !err.msg[0] || rc != KL_EDATA)
			abort();
		return;
	}
	if (!out)
		abort();
	if (check == number) {
		/* JSON's "1.930" is one number, but to a person it could be two:
		 * only a whole number reads back as itself */
		if (!json_number(out) || strlen(out) > 16)
			abort();
		if (strchr(out, '.')) {
			free(out);
			return;
		}
	}
	if (check(out, &again, &err) != KL_OK || strcmp(out, again) != 0)
		abort();
	if ((check == phone_ru || check == name) && strpbrk(out, "\n\r\t"))
		abort();
	free(out);
	free(again);
}

static void moment(const char *v)
{
	struct kl_err err = {0};
	long long t = -5;
	int rc = kl_check_time("created_at", v, &t, &err);
	if (rc == KL_OK ? t < 1 || t > KL_CHECK_TIME_MAX : t != -5 || !err.msg[0])
		abort();
}

static void encoding(const uint8_t *p, size_t n)
{
	size_t bad = n + 1;
	enum kl_encoding_guess g = kl_encoding_guess(p, n, &bad);
	if (bad > n || ((g == KL_ENCODING_ASCII || g == KL_ENCODING_UTF8) != (bad == n)))
		abort();
	if (g == KL_ENCODING_ASCII)
		for (size_t i = 0; i < n; i++)
			if (p[i] >= 0x80)
				abort();
	if (kl_encoding_utf8_cyrillic(p, n) && g != KL_ENCODING_UTF8)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const check_fn checks[] = {phone_ru, phone_none, number, email, free_text, name};
	if (size < 1 || size > 4096)
		return 0;
	unsigned pick = data[0] % 8;
	char *v = malloc(size);
	if (!v)
		return 0;
	memcpy(v, data + 1, size - 1);
	v[size - 1] = '\0';
	if (pick < 6)
		fixed_point(checks[pick], v);
	else if (pick == 6)
		moment(v);
	else
		encoding(data + 1, size - 1);
	free(v);
	return 0;
}
