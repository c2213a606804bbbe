#include "core/kl_check.h"

#include <ctype.h>
#include <stdbool.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <arpa/inet.h>

#include "util/kl_url.h"
#include "util/kl_str.h"

#define Q(v) kl_str_quote((v), qbuf, sizeof qbuf)

static int utf8_only(const char *what, const char *v, struct kl_err *err)
{
	char qbuf[256];
	if (!kl_str_utf8_valid(v, strlen(v)))
		return kl_err_set(err, KL_EDATA,
				  "%s: %s is not valid UTF-8 (convert the input to UTF-8)", what, Q(v));
	return KL_OK;
}

int kl_check_text(const char *what, const char *v, struct kl_err *err)
{
	char qbuf[256];
	int rc = utf8_only(what, v, err);
	if (rc)
		return rc;
	/* a cell typed with Alt+Enter, a pasted list: the person wrote them */
	char *c = strdup(v);
	if (!c)
		return kl_err_oom(err);
	for (char *p = c; (p = strpbrk(p, "\n\r\t")) != NULL; p++)
		*p = ' ';
	bool bad = kl_str_has_control(c);
	free(c);
	if (bad)
		return kl_err_set(err, KL_EDATA,
				  "%s: %s contains a control character (remove it; only line breaks and tabs are kept)",
				  what, Q(v));
	return KL_OK;
}

int kl_check_line(const char *what, const char *v, struct kl_err *err)
{
	char qbuf[256];
	int rc = utf8_only(what, v, err);
	if (rc || !kl_str_has_control(v))
		return rc;
	if (strpbrk(v, "\n\r\t") && kl_check_text(what, v, NULL) == KL_OK)
		return kl_err_set(err, KL_EDATA,
				  "%s: %s has a line break or a tab: this value is one line (remove them)", what, Q(v));
	return kl_err_set(err, KL_EDATA, "%s: %s contains a control character (remove it)", what, Q(v));
}

/* v trimmed into *out; empty after trimming is an error. */
static int trimmed(const char *what, const char *v, char **out, struct kl_err *err)
{
	char *t = kl_str_trimmed(v);
	if (!t)
		return kl_err_oom(err);
	if (!*t) {
		free(t);
		return kl_err_set(err, KL_EDATA, "%s: must not be empty", what);
	}
	*out = t;
	return KL_OK;
}

int kl_check_name(const char *what, const char *v, char **out, struct kl_err *err)
{
	int rc = kl_check_line(what, v, err);
	return rc ? rc : trimmed(what, v, out, err);
}

int kl_check_free_text(const char *what, const char *v, char **out, struct kl_err *err)
{
	int rc = kl_check_text(what, v, err);
	return rc ? rc : trimmed(what, v, out, err);
}

/* The number of UTF-8 characters in the first n bytes of s. */
static size_t char_count(const char *s, size_t n)
{
	size_t c = 0;
	for (size_t i = 0; i < n; i++)
		c += ((unsigned char)s[i] & 0xC0) != 0x80;
	return c;
}

int kl_check_uint(const char *what, const char *v, unsigned long long min,
		  unsigned long long max, unsigned long long *out, struct kl_err *err)
{
	char qbuf[256];
	bool ok = *v != '\0' && strlen(v) <= 20;
	for (const char *c = v; ok && *c; c++)
		if (*c < '0' || *c > '9')
			ok = false;
	unsigned long long x = 0;
	if (ok) {
		errno = 0;
		x = strtoull(v, NULL, 10);
		ok = errno == 0 && x >= min && x <= max;
	}
	if (!ok)
		return kl_err_set(err, KL_EDATA, "%s: %s is not a whole number from %llu to %llu",
				  what, Q(v), min, max);
	*out = x;
	return KL_OK;
}

int kl_check_id(const char *what, const char *v, const char *example, unsigned long long *out,
		struct kl_err *err)
{
	char qbuf[256];
	/* Kommo ids are JSON numbers: keep them within what a double holds exactly */
	int rc = kl_check_uint(what, v, 1, 9007199254740991ULL, out, NULL);
	if (rc)
		return kl_err_set(err, KL_EDATA, "%s: %s is not an id: expected a positive whole number, e.g. %s",
				  what, Q(v), example);
	return KL_OK;
}

int kl_check_subdomain(const char *what, const char *v, struct kl_err *err)
{
	char qbuf[256];
	size_t n = strlen(v);
	bool ok = n > 0 && n <= 63 && v[0] != '-' && v[n - 1] != '-';
	for (size_t i = 0; ok && i < n; i++)
		ok = (v[i] >= 'a' && v[i] <= 'z') || (v[i] >= '0' && v[i] <= '9') || v[i] == '-';
	if (!ok && strchr(v, '.') && kl_check_domain(what, v, NULL) == KL_OK)
		return kl_err_set(err, KL_ECONFIG,
				  "%s: %s is a whole host name: give only the subdomain (e.g. intermigro for intermigro.kommo.com), or set KOMMO_DOMAIN=%s instead",
				  what, Q(v), v);
	if (!ok)
		return kl_err_set(err, KL_ECONFIG,
				  "%s: %s is not a Kommo subdomain: use lower-case letters, digits and '-', e.g. intermigro for intermigro.kommo.com",
				  what, Q(v));
	return KL_OK;
}

int kl_check_domain(const char *what, const char *v, struct kl_err *err)
{
	char qbuf[256];
	size_t n = strlen(v);
	bool ok = n > 0 && n <= 253 && strchr(v, '.') && v[0] != '.' && v[0] != '-' && v[n - 1] != '.';
	for (size_t i = 0; ok && i < n; i++)
		ok = isalnum((unsigned char)v[i]) || v[i] == '-' || (v[i] == '.' && v[i + 1] != '.');
	if (!ok)
		return kl_err_set(err, KL_ECONFIG,
				  "%s: %s is not a domain name: expected the account's host, e.g. acme.amocrm.ru (no https://, no path)",
				  what, Q(v));
	return KL_OK;
}

/* v in quotes, every byte past ASCII as \xNN: a pasted zero-width space or
 * Unicode line separator is invisible otherwise. */
static const char *quote_ascii(const char *v, char *buf, size_t size)
{
	size_t o = 0;
	buf[o++] = '"';
	for (const unsigned char *c = (const unsigned char *)v; *c; c++) {
		if (o + 10 > size) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		if (*c >= 0x80)
			o += (size_t)snprintf(buf + o, size - o, "\\x%02x", *c);
		else if (*c == '"' || *c == '\\')
			o += (size_t)snprintf(buf + o, size - o, "\\%c", *c);
		else
			buf[o++] = (char)*c;
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

/* One octet of a dotted quad, strictly: 1 to 3 decimal digits, no leading
 * zero, at most 255. Anything looser is a spelling the resolver may read
 * otherwise: sscanf's %u takes "-0" and "+0"; inet_aton and libcurl read
 * "010" as octal and send "08" to DNS as a name. Returns the characters
 * used, 0 for none. */
static size_t octet(const char *s, unsigned *out)
{
	size_t n = 0;
	unsigned v = 0;
	while (n < 3 && s[n] >= '0' && s[n] <= '9')
		v = v * 10 + (unsigned)(s[n++] - '0');
	if (n == 0 || (n > 1 && s[0] == '0') || v > 255 || (s[n] >= '0' && s[n] <= '9'))
		return 0;
	*out = v;
	return n;
}

/* host is exactly a dotted quad, written as above; *first gets its first number. */
static bool dotted_quad(const char *host, unsigned *first)
{
	const char *p = host;
	for (int i = 0; i < 4; i++) {
		unsigned v;
		size_t n = octet(p, &v);
		if (!n)
			return false;
		if (i == 0)
			*first = v;
		p += n;
		if (i < 3 && *p++ != '.')
			return false;
	}
	return *p == '\0';
}

/* host is exactly a dotted quad in 127.0.0.0/8. */
static bool loopback_quad(const char *host)
{
	unsigned first = 0;
	return dotted_quad(host, &first) && first == 127;
}

bool kl_check_is_loopback(const char *host)
{
	/* "localhost." is not taken: with the dot it is a name for the DNS
	 * (and the hosts file need not list it); localhost is what to write */
	if (strcasecmp(host, "localhost") == 0 || strcmp(host, "::1") == 0 || strcmp(host, "[::1]") == 0)
		return true;
	return loopback_quad(host);
}

bool kl_check_is_loopback_addr(const char *ip)
{
	unsigned char a[16];
	if (inet_pton(AF_INET, ip, a) == 1)
		return a[0] == 127;
	if (inet_pton(AF_INET6, ip, a) != 1)
		return false;
	static const unsigned char one[16] = {[15] = 1};
	static const unsigned char mapped[12] = {[10] = 0xff, [11] = 0xff};
	return memcmp(a, one, 16) == 0 || (memcmp(a, mapped, 12) == 0 && a[12] == 127);
}

/* A host that is an IPv4 address spelled in a way libcurl would not take
 * as one (a sign, hex, octal, fewer than four parts, a part above 255): the
 * message then says how to write one. A well-written address (192.168.1.10)
 * or a name made of hex letters (3dcafe.be) is not one of them. */
static bool odd_ipv4_spelling(const char *host)
{
	unsigned first;
	if (!(isdigit((unsigned char)host[0]) || host[0] == '+' || host[0] == '-') || dotted_quad(host, &first))
		return false;
	if (host[strspn(host, "0123456789.")] == '\0')
		return true; /* 2130706433, 127.1, 127.0.0.01, 127.0.0.256 */
	return host[strspn(host, "0123456789abcdefABCDEFxX.+-")] == '\0' && strpbrk(host, "xX+-") != NULL;
}

bool kl_check_url_is_loopback(const char *url)
{
	struct kl_url u = {0};
	bool loop = url && kl_url_parse_base(url, &u) == KL_URL_OK && kl_check_is_loopback(u.host);
	kl_url_free(&u);
	return loop;
}

int kl_check_base_url(const char *what, const char *v, char **out, struct kl_err *err)
{
	char qbuf[256], hbuf[128];
	if (kl_check_line(what, v, err))
		return kl_err_as(err, KL_ECONFIG);
	/* A URL is ASCII. A pasted zero-width space or Unicode line separator, or a
	 * character RFC 3986 never allows unencoded, would reach Kommo in another
	 * form than the one checked here (libcurl percent-encodes some, passes
	 * others through). */
	for (size_t i = 0; v[i]; i++)
		if ((unsigned char)v[i] >= 0x80 || strchr("\"<>\\^`{|}", v[i]))
			return kl_err_set(err, KL_ECONFIG,
					  "%s: %s has a character a URL cannot hold (character %zu): write the host in ASCII (punycode for an international name) and percent-encode the path",
					  what, quote_ascii(v, qbuf, sizeof qbuf), char_count(v, i) + 1);
	struct kl_url u;
	enum kl_url_fault f = kl_url_parse_base(v, &u);
	/* the loopback test reads the host as written, strictly: libcurl reads
	 * 127.1 as 127.0.0.1, and a resolver may take other spellings as names */
	bool loop = u.host && kl_check_is_loopback(u.host);
	/* a host libcurl cannot read is not loopback either */
	bool plain = (f == KL_URL_OK || f == KL_URL_HOST) && !u.https && !loop;
	int rc = KL_OK;
	if (f == KL_URL_NOMEM)
		rc = kl_err_oom(err);
	else if (f == KL_URL_SCHEME)
		rc = kl_err_set(err, KL_ECONFIG,
				"%s: %s is not a URL: expected https://HOST, e.g. https://intermigro.kommo.com",
				what, Q(v));
	else if (plain && odd_ipv4_spelling(u.host))
		/* libcurl reads some such spellings as 127.0.0.1 (0x7f.0.0.1,
		 * 2130706433), sends others to the resolver as names (127.-0.-0.1),
		 * where the token would follow wherever the name leads, and refuses
		 * the rest (127.+0.0.1): only the strict spelling means the same to
		 * every reader, so that is the one to ask for */
		rc = kl_err_set(err, KL_ECONFIG,
				"%s: %s uses plain http, and its host %s is not a loopback address as written: write it as four decimal numbers from 0 to 255 without signs or leading zeros, e.g. http://127.0.0.1:8080 (or use https)",
				what, Q(v), kl_str_quote(u.host, hbuf, sizeof hbuf));
	else if (plain)
		rc = kl_err_set(err, KL_ECONFIG,
				"%s: %s uses plain http: Kommo must be reached over https (http is allowed only for loopback hosts such as 127.0.0.1)",
				what, Q(v));
	else if (f != KL_URL_OK)
		rc = kl_err_set(err, KL_ECONFIG,
				"%s: %s is not a usable base URL: expected http(s)://HOST[:PORT][/PATH] with no user, query or fragment",
				what, Q(v));
	kl_url_free(&u);
	if (rc)
		return rc;
	size_t n = strlen(v);
	while (n > 0 && v[n - 1] == '/')
		n--;
	if (n >= 7 && strncmp(v + n - 7, "/api/v4", 7) == 0)
		return kl_err_set(err, KL_ECONFIG,
				  "%s: %s ends in /api/v4: leave it out, kommo-lead adds the API path itself (e.g. https://intermigro.kommo.com)",
				  what, Q(v));
	char *r = strndup(v, n);
	if (!r)
		return kl_err_oom(err);
	*out = r;
	return KL_OK;
}

int kl_check_token(const char *what, const char *v, struct kl_err *err)
{
	if (!*v)
		return kl_err_set(err, KL_ECONFIG, "%s: the API token is empty", what);
	if (strncasecmp(v, "Bearer ", 7) == 0)
		return kl_err_set(err, KL_ECONFIG,
				  "%s: the API token starts with \"Bearer \": give the token alone, kommo-lead writes the Authorization header itself",
				  what);
	/* a JWT, as Kommo's long-lived tokens are, is letters, digits, '-', '_' and '.' */
	size_t q = strcspn(v, "\"'`");
	if (v[q])
		return kl_err_set(err, KL_ECONFIG,
				  "%s: the API token has a quote character at position %zu: a stray quote from the config file or the shell? Give the token without quotes, or quote it whole (KOMMO_API_TOKEN=\"...\")",
				  what, q + 1);
	for (const unsigned char *c = (const unsigned char *)v; *c; c++)
		if (*c <= 0x20 || *c >= 0x7F)
			return kl_err_set(err, KL_ECONFIG,
					  "%s: the API token contains white space, a control character or a non-ASCII byte at position %zu; copy it again from Kommo's integration settings",
					  what, (size_t)(c - (const unsigned char *)v) + 1);
	return KL_OK;
}
