#include "util/kl_str.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *kl_str_printf(const char *fmt, ...)
{
	char *s;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	return n < 0 ? NULL : s;
}

static bool is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

char *kl_str_trimmed(const char *s)
{
	size_t n = strlen(s);
	while (n && is_space((unsigned char)s[n - 1]))
		n--;
	while (n && is_space((unsigned char)*s)) {
		s++;
		n--;
	}
	return strndup(s, n);
}

/* Length of the well-formed UTF-8 sequence at p (at most n bytes), or 0. */
static size_t utf8_seq(const unsigned char *p, size_t n, uint32_t *cp)
{
	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	size_t len;
	uint32_t c, min;
	if ((p[0] & 0xE0) == 0xC0) {
		len = 2, c = p[0] & 0x1F, min = 0x80;
	} else if ((p[0] & 0xF0) == 0xE0) {
		len = 3, c = p[0] & 0x0F, min = 0x800;
	} else if ((p[0] & 0xF8) == 0xF0) {
		len = 4, c = p[0] & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		c = (c << 6) | (p[i] & 0x3F);
	}
	if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
		return 0;
	*cp = c;
	return len;
}

bool kl_str_utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t cp;
	while (n) {
		size_t k = utf8_seq(p, n, &cp);
		if (!k)
			return false;
		p += k;
		n -= k;
	}
	return true;
}

static bool is_control(uint32_t cp)
{
	return cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F);
}

bool kl_str_has_control(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);
	uint32_t cp;
	while (n) {
		size_t k = utf8_seq(p, n, &cp);
		if (!k) { /* not UTF-8: judge the byte alone */
			k = 1;
			cp = *p;
		}
		if (is_control(cp))
			return true;
		p += k;
		n -= k;
	}
	return false;
}

char *kl_str_quote(const char *s, char *buf, size_t size)
{
	const size_t limit = 60; /* characters shown before cutting */
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), o = 0, shown = 0;
	uint32_t cp;

	if (size < 8) {
		if (size)
			buf[0] = '\0';
		return buf;
	}
	buf[o++] = '"';
	while (n) {
		size_t k = utf8_seq(p, n, &cp);
		char tmp[8];
		size_t tl;
		if (shown == limit) {
			if (o + 4 < size)
				memcpy(buf + o, "...", 3), o += 3;
			break;
		}
		if (!k || is_control(cp) || cp == '"' || cp == '\\') {
			if (k && (cp == '"' || cp == '\\'))
				tl = (size_t)snprintf(tmp, sizeof tmp, "\\%c", (char)cp);
			else if (k && cp == '\n')
				tl = (size_t)snprintf(tmp, sizeof tmp, "\\n");
			else if (k && cp == '\t')
				tl = (size_t)snprintf(tmp, sizeof tmp, "\\t");
			else if (k && cp == '\r')
				tl = (size_t)snprintf(tmp, sizeof tmp, "\\r");
			else
				tl = (size_t)snprintf(tmp, sizeof tmp, "\\x%02X", *p);
			if (!k || cp > 0x7F) /* an invalid byte or a C1 control: one byte at a time */
				k = 1;
		} else {
			memcpy(tmp, p, k);
			tl = k;
		}
		if (o + tl + 2 > size)
			break;
		memcpy(buf + o, tmp, tl);
		o += tl;
		p += k;
		n -= k;
		shown++;
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

size_t kl_str_distance(const char *a, const char *b)
{
	/* optimal string alignment: a swap of two neighbours ("nmae") is one edit */
	size_t la = strlen(a), lb = strlen(b);
	if (la > 40 || lb > 40)
		return 99;
	size_t d[41][41];
	for (size_t i = 0; i <= la; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= la; i++) {
		for (size_t j = 1; j <= lb; j++) {
			size_t best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
			if (d[i - 1][j] + 1 < best)
				best = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < best)
				best = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    d[i - 2][j - 2] + 1 < best)
				best = d[i - 2][j - 2] + 1;
			d[i][j] = best;
		}
	}
	return d[la][lb];
}

char *kl_str_printable(const char *s)
{
	size_t n = strlen(s);
	char *d = malloc(n + 1), *o = d;
	const unsigned char *p = (const unsigned char *)s;
	uint32_t cp;
	if (!d)
		return NULL;
	while (n) {
		size_t k = utf8_seq(p, n, &cp);
		if (!k || is_control(cp)) {
			*o++ = '?';
			k = k ? k : 1;
		} else {
			memcpy(o, p, k);
			o += k;
		}
		p += k;
		n -= k;
	}
	*o = '\0';
	return d;
}

/* Appends code point cp to o as UTF-8 (cp < 0x800 here); returns the end. */
static char *put_utf8(char *o, uint32_t cp)
{
	if (cp < 0x80) {
		*o++ = (char)cp;
	} else {
		*o++ = (char)(0xC0 | (cp >> 6));
		*o++ = (char)(0x80 | (cp & 0x3F));
	}
	return o;
}

char *kl_str_fold(const char *s)
{
	size_t n = strlen(s);
	char *d = malloc(n + 1), *o = d;
	const unsigned char *p = (const unsigned char *)s;
	uint32_t cp;
	if (!d)
		return NULL;
	while (n) {
		size_t k = utf8_seq(p, n, &cp);
		if (!k) {
			k = 1;
			cp = '?';
		}
		if (cp >= 'A' && cp <= 'Z')
			cp += 32;
		else if (cp >= 0x410 && cp <= 0x42F) /* А..Я */
			cp += 0x20;
		else if (cp == 0x401 || cp == 0x451) /* Ё ё */
			cp = 0x435;
		if ((cp >= 'a' && cp <= 'z') || (cp >= '0' && cp <= '9') || (cp >= 0x430 && cp <= 0x44F))
			o = put_utf8(o, cp);
		p += k;
		n -= k;
	}
	*o = '\0';
	return d;
}

size_t kl_str_width(const char *s)
{
	size_t w = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		w += (*p & 0xC0) != 0x80;
	return w;
}

void kl_str_free_secret(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

int kl_buf_append(struct kl_buf *b, const void *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *d;
		if (b->secret) { /* realloc could leave the old block unwiped */
			if (!(d = malloc(cap)))
				return -1;
			if (b->data) {
				memcpy(d, b->data, b->len);
				explicit_bzero(b->data, b->cap);
				free(b->data);
			}
		} else if (!(d = realloc(b->data, cap))) {
			return -1;
		}
		b->data = d;
		b->cap = cap;
	}
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int kl_buf_appendf(struct kl_buf *b, const char *fmt, ...)
{
	char small[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof small, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	if ((size_t)n < sizeof small)
		return kl_buf_append(b, small, (size_t)n);
	char *big = malloc((size_t)n + 1);
	if (!big)
		return -1;
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	int rc = kl_buf_append(b, big, (size_t)n);
	free(big);
	return rc;
}

void kl_buf_free(struct kl_buf *b)
{
	if (b->secret && b->data)
		explicit_bzero(b->data, b->cap);
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}
