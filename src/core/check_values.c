/* The values people type into forms and spreadsheets: phones, emails,
 * numbers and moments, read as they are written (kl_check.h). */
#include "core/kl_check.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/kl_phone.h"
#include "util/kl_str.h"

#define Q(v) kl_str_quote((v), qbuf, sizeof qbuf)

/* The number of UTF-8 characters in the first n bytes of s. */
static size_t char_count(const char *s, size_t n)
{
	size_t c = 0;
	for (size_t i = 0; i < n; i++)
		c += ((unsigned char)s[i] & 0xC0) != 0x80;
	return c;
}

/* The length of a separator at s: a space (also no-break and thin ones),
 * a dash (also the Unicode dashes and minus), '.', '(' or ')'; 0 for none. */
static size_t phone_separator(const char *s)
{
	static const char *const wide[] = {
		"\xc2\xa0",                                         /* no-break space */
		"\xe2\x80\x87", "\xe2\x80\x89", "\xe2\x80\xaf",     /* figure, thin, narrow no-break space */
		"\xe2\x80\x90", "\xe2\x80\x91", "\xe2\x80\x92",     /* hyphen, non-breaking hyphen, figure dash */
		"\xe2\x80\x93", "\xe2\x80\x94", "\xe2\x80\x95",     /* en dash, em dash, horizontal bar */
		"\xe2\x88\x92",                                     /* minus */
	};
	if (strchr(" -.()", *s) && *s)
		return 1;
	for (size_t i = 0; i < sizeof wide / sizeof wide[0]; i++)
		if (strncmp(s, wide[i], strlen(wide[i])) == 0)
			return strlen(wide[i]);
	return 0;
}

/* An extension as people write it after the number: "доб. 12", "ext. 12",
 * "ext 12", "x89", "#12"; the length of its marker, 0 when s is not one. */
static size_t extension(const char *s)
{
	static const char *const markers[] = {"доб", "Доб", "ДОБ", "ext", "EXT", "Ext", "x", "X", "#"};
	for (size_t i = 0; i < sizeof markers / sizeof markers[0]; i++) {
		size_t m = strlen(markers[i]);
		if (strncmp(s, markers[i], m) != 0)
			continue;
		const char *p = s + m;
		if (*p == '.')
			p++;
		p += strspn(p, " ");
		size_t d = strspn(p, "0123456789");
		return d >= 1 && d <= 7 && p[d] == '\0' ? m : 0;
	}
	return 0;
}

/* The message for a character that does not belong in a phone number. */
static int phone_bad_char(const char *what, const char *v, size_t i, struct kl_err *err)
{
	char qbuf[256], cbuf[32], ch[8];
	size_t n = strlen(v), len = 1;
	while (i + len < n && len < 4 && ((unsigned char)v[i + len] & 0xC0) == 0x80)
		len++;
	memcpy(ch, v + i, len);
	ch[len] = '\0';
	return kl_err_set(err, KL_EDATA,
			  "%s: %s is not a phone number: %s (character %zu) is not allowed; use digits, a leading +, spaces, dashes, . or ( ) between them, and an extension after them, e.g. +7 (999) 123-45-67 доб. 12",
			  what, Q(v), kl_str_quote(ch, cbuf, sizeof cbuf), char_count(v, i) + 1);
}

/* Why libphonenumber refused a number, in words. */
static int phone_fault(const char *what, const char *v, enum kl_phone_fault f, const char *country,
		       const char *region, struct kl_err *err)
{
	char qbuf[256];
	char where[64] = "";
	if (*country)
		snprintf(where, sizeof where, " for %s", country);
	else if (region && *region)
		snprintf(where, sizeof where, " for %s (the phone region)", region);
	switch (f) {
	case KL_PHONE_NOMEM:
		return kl_err_oom(err);
	case KL_PHONE_COUNTRY:
		return kl_err_set(err, KL_EDATA,
				  "%s: %s is not a phone number: no country has the calling code it starts with; give the country code after the +, e.g. +7 999 123-45-67",
				  what, Q(v));
	case KL_PHONE_TOO_SHORT:
		return kl_err_set(err, KL_EDATA, "%s: %s is too short%s: a digit is missing?", what, Q(v), where);
	case KL_PHONE_TOO_LONG:
		return kl_err_set(err, KL_EDATA, "%s: %s is too long%s: a digit too many?", what, Q(v), where);
	case KL_PHONE_LENGTH:
		return kl_err_set(err, KL_EDATA, "%s: %s has a wrong number of digits%s", what, Q(v), where);
	case KL_PHONE_INVALID:
		return kl_err_set(err, KL_EDATA,
				  "%s: %s is not a valid phone number%s: no such area or mobile code (check the digits and the country code)",
				  what, Q(v), where);
	default:
		return kl_err_set(err, KL_EDATA,
				  "%s: %s is not a phone number: expected e.g. +7 (999) 123-45-67", what, Q(v));
	}
}

/* The number's digits (with a leading '+', 00 read as one) into num, and
 * where an extension starts in v into *ext (NULL: none); *digits counts
 * them. Fails with the character that does not belong. */
static int phone_digits(const char *what, const char *v, char *num, size_t *digits, const char **ext,
			struct kl_err *err)
{
	size_t o = 0;
	*digits = 0;
	*ext = NULL;
	for (size_t i = 0; v[i];) {
		size_t sep = phone_separator(v + i);
		if (sep) {
			i += sep;
		} else if ((v[i] == '+' && o == 0) || (v[i] >= '0' && v[i] <= '9')) {
			if (*digits < 32)
				num[o++] = v[i];
			*digits += v[i] != '+';
			i++;
		} else if (*digits && extension(v + i)) {
			*ext = v + i;
			break;
		} else {
			return phone_bad_char(what, v, i, err);
		}
	}
	num[o] = '\0';
	/* the international prefix most of the world dials */
	if (num[0] == '0' && num[1] == '0') {
		num[0] = '+';
		memmove(num + 1, num + 2, o - 1);
		*digits -= 2;
	}
	return KL_OK;
}

int kl_check_phone(const char *what, const char *v, const char *region, char **out, struct kl_err *err)
{
	char qbuf[256], num[40], e164[KL_PHONE_E164_SIZE], country[16];
	int rc = kl_check_line(what, v, err);
	if (rc)
		return rc;
	char *t = kl_str_trimmed(v);
	if (!t)
		return kl_err_oom(err);
	size_t digits;
	const char *ext;
	if ((rc = phone_digits(what, t, num, &digits, &ext, err)))
		goto out;
	if (digits < 7 || digits > 15) {
		rc = kl_err_set(err, KL_EDATA, "%s: %s has %zu digits; a phone number has 7 to 15, e.g. +79991234567",
				what, Q(v), digits);
		goto out;
	}
	/* without a region only an international number can be read; other
	 * digits go as they were written (there is no country to read them in) */
	const char *number = num;
	if (num[0] == '+' || (region && *region)) {
		enum kl_phone_fault f = kl_phone_e164(num, region, e164, country);
		if (f) {
			rc = phone_fault(what, v, f, country, region, err);
			goto out;
		}
		number = e164;
	}
	char *r = ext ? kl_str_printf("%s %s", number, ext) : strdup(number);
	if (!r) {
		rc = kl_err_oom(err);
		goto out;
	}
	*out = r;
out:
	free(t);
	return rc;
}

static bool domain_char(unsigned char c)
{
	/* Bytes >= 0x80 are parts of internationalised (UTF-8) labels. */
	return isalnum(c) || c == '-' || c >= 0x80;
}

int kl_check_email(const char *what, const char *v, char **out, struct kl_err *err)
{
	char qbuf[256];
	char *t = NULL;
	int rc = kl_check_name(what, v, &t, err);
	if (rc)
		return rc;
	const char *at = strchr(t, '@');
	const char *why = NULL;
	if (strncasecmp(t, "mailto:", 7) == 0)
		why = "a mailto: link, not an address: give the address alone";
	else if (strpbrk(t, " \t") || strstr(t, "\xc2\xa0"))
		why = "it has a space in it";
	else if (at && at != t && (t[0] == '.' || at[-1] == '.' || memmem(t, (size_t)(at - t), "..", 2)))
		why = "the part before @ has a dot at its start or end, or two dots in a row";
	if (why) {
		free(t);
		return kl_err_set(err, KL_EDATA, "%s: %s is not an email address: %s; expected name@domain.tld, e.g. ivan.petrov@example.com",
				  what, Q(v), why);
	}
	bool ok = at && at != t && !strchr(at + 1, '@') && strlen(t) <= 254;
	for (const char *c = t; ok && c < at; c++)
		if (*c == ' ' || *c == '"' || *c == ',' || *c == ';' || *c == '<' || *c == '>')
			ok = false;
	if (ok) {
		/* domain: labels of domain_char separated by single dots, at least
		 * two labels, the last one at least two characters long */
		const char *d = at + 1, *label = d;
		size_t labels = 0;
		for (const char *c = d;; c++) {
			if (*c == '.' || *c == '\0') {
				size_t len = (size_t)(c - label);
				if (len == 0 || label[0] == '-' || label[len - 1] == '-') {
					ok = false;
					break;
				}
				labels++;
				if (*c == '\0') {
					if (labels < 2 || len < 2)
						ok = false;
					break;
				}
				label = c + 1;
			} else if (!domain_char((unsigned char)*c)) {
				ok = false;
				break;
			}
		}
	}
	if (!ok) {
		free(t);
		return kl_err_set(err, KL_EDATA,
				  "%s: %s is not an email address: expected name@domain.tld, e.g. ivan@example.com",
				  what, Q(v));
	}
	*out = t;
	return KL_OK;
}

/* A number as written: runs of digits and the marks between them. */
enum mark { M_GROUP, M_COMMA, M_POINT };

struct written {
	const char *run[24]; /* the digit runs */
	size_t len[24];
	enum mark mark[24]; /* mark[i] follows run[i] */
	size_t n;           /* runs */
};

/* The length of a thousands separator at s: a space (also no-break, thin
 * and narrow no-break), an apostrophe (also the typographic one); 0 for
 * none. */
static size_t group_mark(const char *s)
{
	static const char *const marks[] = {" ", "'", "\xc2\xa0", "\xe2\x80\x89", "\xe2\x80\xaf", "\xe2\x80\x99"};
	for (size_t i = 0; i < sizeof marks / sizeof marks[0]; i++)
		if (strncmp(s, marks[i], strlen(marks[i])) == 0)
			return strlen(marks[i]);
	return 0;
}

/* Splits s into runs of digits and single marks between them; false when
 * anything else is there, or a mark is not between two runs. */
static bool split_number(const char *s, struct written *w)
{
	w->n = 0;
	for (;;) {
		size_t d = strspn(s, "0123456789");
		if (d == 0 || w->n == sizeof w->run / sizeof w->run[0])
			return false;
		w->run[w->n] = s;
		w->len[w->n] = d;
		s += d;
		size_t g = group_mark(s);
		if (*s == '\0') {
			w->n++;
			return true;
		}
		w->mark[w->n++] = g ? M_GROUP : *s == ',' ? M_COMMA : *s == '.' ? M_POINT : M_GROUP;
		if (!g && *s != ',' && *s != '.')
			return false;
		s += g ? g : 1;
	}
}

/* Which run starts the fraction (w->n when none); -1 when the marks leave
 * it open, -2 when they make no number. */
static long decimal_run(const struct written *w)
{
	size_t commas = 0, points = 0, groups = 0;
	for (size_t i = 0; i + 1 < w->n; i++) {
		commas += w->mark[i] == M_COMMA;
		points += w->mark[i] == M_POINT;
		groups += w->mark[i] == M_GROUP;
	}
	if (w->n == 1)
		return 1;
	enum mark last = w->mark[w->n - 2];
	if (last == M_GROUP)
		return (long)w->n; /* spaces or apostrophes only: a whole number */
	size_t last_count = last == M_COMMA ? commas : points;
	if (commas && points)
		return last_count == 1 ? (long)w->n - 1 : -2; /* 1,234.56 or 1.234,56 */
	if (last_count > 1)
		return groups ? -2 : (long)w->n; /* 1,234,567 */
	/* one comma or point at the end */
	if (groups || w->len[w->n - 1] != 3 || w->len[0] > 3 || w->run[0][0] == '0' || w->n > 2)
		return (long)w->n - 1;
	return -1; /* 250,000: thousands or a decimal comma */
}

/* Thousands go in threes, the first run 1 to 3 digits, the others 3, with
 * one kind of mark between them. */
static bool grouped(const struct written *w, size_t whole)
{
	if (whole < 2)
		return true;
	if (w->len[0] > 3)
		return false;
	for (size_t i = 1; i < whole; i++)
		if (w->len[i] != 3 || w->mark[i - 1] != w->mark[0])
			return false;
	return true;
}

/* The JSON spelling of a checked number: no thousands separators, no
 * leading zeros, '.' as the decimal mark; NULL when out of memory. */
static char *spell_number(const struct written *w, size_t whole, size_t *digits)
{
	char buf[160];
	size_t o = 0;
	for (size_t i = 0; i < whole; i++)
		for (size_t j = 0; j < w->len[i] && o < 64; j++)
			if (o > 0 || w->run[i][j] != '0')
				buf[o++] = w->run[i][j];
	if (o == 0)
		buf[o++] = '0';
	*digits = o;
	if (whole < w->n) {
		size_t f = w->len[whole];
		if (f < 64) {
			buf[o++] = '.';
			memcpy(buf + o, w->run[whole], f);
			o += f;
			*digits += f;
		}
		*digits += f >= 64 ? 64 : 0;
	}
	return strndup(buf, o);
}

int kl_check_number(const char *what, const char *v, char **out, struct kl_err *err)
{
	char qbuf[256];
	struct written w;
	char *t = kl_str_trimmed(v);
	if (!t)
		return kl_err_oom(err);
	bool ok = split_number(t, &w);
	long dec = ok ? decimal_run(&w) : -2;
	int rc = KL_OK;
	if (dec == -1) {
		size_t l0 = w.len[0];
		char mark = w.mark[0] == M_COMMA ? ',' : '.';
		rc = kl_err_set(err, KL_EDATA,
				"%s: %s could be read two ways: as %.*s%.3s ('%c' between thousands) or as %.*s.%.3s ('%c' as the decimal mark); write %.*s%.3s or %.*s %.3s for the first, %.*s.%.3s0 for the second",
				what, Q(v), (int)l0, w.run[0], w.run[1], mark, (int)l0, w.run[0], w.run[1], mark,
				(int)l0, w.run[0], w.run[1], (int)l0, w.run[0], w.run[1], (int)l0, w.run[0], w.run[1]);
		goto out;
	}
	if (dec < 0 || !grouped(&w, (size_t)dec)) {
		rc = kl_err_set(err, KL_EDATA,
				"%s: %s is not a number: use digits, with spaces or ' between thousands (in threes) and a decimal comma or point, e.g. 150000, 150 000 or 2 500,50",
				what, Q(v));
		goto out;
	}
	size_t digits;
	char *r = spell_number(&w, (size_t)dec, &digits);
	if (!r) {
		rc = kl_err_oom(err);
		goto out;
	}
	/* Kommo keeps a number as a double: more digits would be changed */
	if (digits > 15) {
		free(r);
		rc = kl_err_set(err, KL_EDATA,
				"%s: %s has more digits than Kommo stores exactly (15 at most, e.g. 999999999999999 or 1234567890.12345)",
				what, Q(v));
		goto out;
	}
	*out = r;
out:
	free(t);
	return rc;
}

static bool digits_at(const char *s, int n)
{
	for (int i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static int num_at(const char *s, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

/* strptime also reads fewer digits ("2024-1-5") and spaces before a
 * number: what it read must be one of the fixed-width forms. */
static bool fixed_width(const char *s, size_t n)
{
	static const char form[] = "0000-00-00T00:00:00";
	if (n != 10 && n != 16 && n != 19)
		return false;
	for (size_t i = 0; i < n; i++) {
		bool ok = form[i] == '0' ? isdigit((unsigned char)s[i])
			: form[i] == 'T' ? s[i] == 'T' || s[i] == ' '
			: s[i] == form[i];
		if (!ok)
			return false;
	}
	return true;
}

/* YYYY-MM-DD[(T| )HH:MM[:SS[.fff]]] at s into tm, each field in its range
 * (not yet the days of the month); the end of what was read, NULL when s
 * does not start with one. */
static const char *read_date_time(const char *s, struct tm *tm)
{
	const char *p = strptime(s, "%Y-%m-%d", tm);
	if (p && (*p == 'T' || *p == ' ')) {
		p = strptime(p + 1, "%H:%M", tm);
		if (p && *p == ':')
			p = strptime(p + 1, "%S", tm);
	}
	/* glibc's %S takes 61 */
	if (!p || !fixed_width(s, (size_t)(p - s)) || tm->tm_sec > 60)
		return NULL;
	/* a fraction of the last second, dropped */
	if (p - s == 19 && (*p == '.' || *p == ','))
		p += 1 + strspn(p + 1, "0123456789");
	return p;
}

/* HH:MM[:SS] at s into tm; the end of what was read, NULL when s does not
 * start with one or a field is out of its range. */
static const char *read_clock(const char *s, struct tm *tm)
{
	if (!digits_at(s, 2) || s[2] != ':' || !digits_at(s + 3, 2))
		return NULL;
	tm->tm_hour = num_at(s, 2);
	tm->tm_min = num_at(s + 3, 2);
	const char *p = s + 5;
	if (*p == ':' && digits_at(p + 1, 2)) {
		tm->tm_sec = num_at(p + 1, 2);
		p += 3;
	}
	return tm->tm_hour < 24 && tm->tm_min < 60 && tm->tm_sec <= 60 ? p : NULL;
}

/* DD.MM.YYYY[ HH:MM[:SS]], as Russian Excel writes dates, at s into tm;
 * the end of what was read, NULL when s does not start with one. */
static const char *read_dotted(const char *s, struct tm *tm)
{
	if (!digits_at(s, 2) || s[2] != '.' || !digits_at(s + 3, 2) || s[5] != '.' || !digits_at(s + 6, 4) ||
	    (s[10] >= '0' && s[10] <= '9'))
		return NULL;
	tm->tm_mday = num_at(s, 2);
	tm->tm_mon = num_at(s + 3, 2) - 1;
	tm->tm_year = num_at(s + 6, 4) - 1900;
	if (tm->tm_mday < 1 || tm->tm_mday > 31 || tm->tm_mon < 0 || tm->tm_mon > 11)
		return NULL;
	if (s[10] == ' ' && s[11])
		return read_clock(s + 11, tm);
	return s + 10;
}

/* Z, or an offset +HH, +HHMM or +HH:MM (or -) into *offset and, as written,
 * into name: strptime's %z would take a space before it and refuse minutes
 * past 59 without a word, where the message names the offset. Returns the
 * end of the zone, s when there is none. */
static const char *read_zone(const char *s, bool *zone, long *offset, int *mm, char name[8])
{
	if (*s == 'Z') {
		*zone = true;
		return s + 1;
	}
	if ((*s != '+' && *s != '-') || !digits_at(s + 1, 2))
		return s;
	int hh = num_at(s + 1, 2);
	const char *p = s + 3;
	if (*p == ':')
		p++;
	if (digits_at(p, 2)) {
		*mm = num_at(p, 2);
		p += 2;
	}
	*zone = true;
	*offset = (*s == '-' ? -1 : 1) * (hh * 3600L + *mm * 60L);
	snprintf(name, 8, "%c%02d:%02d", *s, hh, *mm);
	return p;
}

int kl_check_time(const char *what, const char *v, long long *out, struct kl_err *err)
{
	char qbuf[256], zone_name[8] = "";
	char *t = kl_str_trimmed(v);
	if (!t)
		return kl_err_oom(err);
	size_t n = strlen(t);
	int rc = KL_OK;
	long long x;
	if (n > 0 && n <= 11 && strspn(t, "0123456789") == n) {
		x = atoll(t);
		goto range;
	}
	if (n >= 12 && n <= 14 && strspn(t, "0123456789") == n) {
		rc = kl_err_set(err, KL_EDATA, "%s: %s looks like Unix milliseconds: Kommo takes seconds (drop the last three digits)",
				what, Q(v));
		goto out;
	}
	struct tm tm = {0};
	bool zone = false;
	long offset = 0;
	int mm = 0;
	const char *p = read_dotted(t, &tm);
	if (!p)
		p = read_date_time(t, &tm);
	if (p)
		p = read_zone(p, &zone, &offset, &mm, zone_name);
	if (!p || *p) {
		rc = kl_err_set(err, KL_EDATA,
				"%s: %s is not a date: use 21.11.2026 10:30, 21.11.2026, 2026-11-21 10:30, ISO 8601 with a zone (2026-11-21T10:30:00+03:00) or Unix seconds",
				what, Q(v));
		goto out;
	}
	/* the zones in use run from -12:00 to +14:00: "+99:00" is a typo that
	 * would move the moment by four days */
	if (mm >= 60 || offset < -12 * 3600L || offset > 14 * 3600L) {
		rc = kl_err_set(err, KL_EDATA,
				"%s: %s has the time-zone offset %s: an offset runs from -12:00 to +14:00, with minutes below 60, e.g. 2026-11-21T10:30:00+03:00",
				what, Q(v), zone_name);
		goto out;
	}
	int mday = tm.tm_mday;
	if (zone) {
		x = (long long)timegm(&tm) - offset;
	} else {
		tm.tm_isdst = -1;
		x = (long long)mktime(&tm); /* -1 when it cannot: refused below */
	}
	if (tm.tm_mday != mday) { /* 2026-02-30 rolled over */
		rc = kl_err_set(err, KL_EDATA, "%s: %s is not a calendar date", what, Q(v));
		goto out;
	}
range:
	/* 0 means "not given" to the callers (created_at: the time of sending),
	 * so a moment that comes to 0 or before would vanish without a word */
	if (x <= 0)
		rc = kl_err_set(err, KL_EDATA,
				"%s: %s is at or before 1970-01-01T00:00:00Z (Unix time 0): give a later moment, e.g. 2026-11-21 10:30 or 1795257000",
				what, Q(v));
	else if (x > KL_CHECK_TIME_MAX)
		rc = kl_err_set(err, KL_EDATA,
				"%s: %s is after 2100-01-01T00:00:00Z, where Kommo takes a number for milliseconds: give a moment before it, e.g. 2026-11-21 10:30 or 1795257000",
				what, Q(v));
	else
		*out = x;
out:
	free(t);
	return rc;
}

