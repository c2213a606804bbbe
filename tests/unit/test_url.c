/* URLs as libcurl reads them: the base URL, the authority for messages,
 * query strings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/kl_url.h"
#include "util/kl_str.h"

static void base_url_host_is_kept_as_written(void **state)
{
	(void)state;
	static const struct {
		const char *url, *host;
		bool https;
	} good[] = {{"https://Acme.Kommo.com", "Acme.Kommo.com", true},
		    {"https://acme.kommo.com:443/", "acme.kommo.com", true},
		    {"http://127.0.0.1:08080/k/v", "127.0.0.1", false},
		    {"http://[::1]:65535", "[::1]", false},
		    /* libcurl connects to 127.0.0.1 here: the loopback check reads
		     * "127.1" and refuses it for plain http */
		    {"http://127.1:9", "127.1", false},
		    {"https://127.-0.-0.1:9", "127.-0.-0.1", true}};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		struct kl_url u;
		if (kl_url_parse_base(good[i].url, &u) != KL_URL_OK)
			fail_msg("%s should be read", good[i].url);
		assert_string_equal(u.host, good[i].host);
		assert_int_equal(u.https, good[i].https);
		kl_url_free(&u);
		assert_null(u.host);
	}
	kl_url_free(NULL);
}

static void base_url_scheme_is_http_or_https_as_written(void **state)
{
	(void)state;
	/* libcurl itself takes the upper-case and one-slash spellings */
	static const char *const bad[] = {"ftp://127.0.0.1", "HTTPS://acme.kommo.com", "http:/acme.kommo.com",
					  "acme.kommo.com", "", "https:acme.kommo.com", " https://acme.kommo.com"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct kl_url u;
		if (kl_url_parse_base(bad[i], &u) != KL_URL_SCHEME)
			fail_msg("\"%s\" should be refused for its scheme", bad[i]);
		assert_null(u.host);
		kl_url_free(&u);
	}
}

static void base_url_refuses_users_queries_fragments_and_bad_ports(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"http:///acme.kommo.com", "https://u:p@acme.kommo.com", "https://@acme.kommo.com",
		"https://acme.kommo.com/a@b", "https://acme.kommo.com?", "https://acme.kommo.com/x?a=1",
		"https://acme.kommo.com#", "https://acme.kommo.com/#x", "https://acme.kommo.com:",
		"https://acme.kommo.com:/x", "https://acme.kommo.com:0", "https://acme.kommo.com:65536",
		"https://acme.kommo.com:x", "https://acme.kommo.com:+80", "https://acme.kommo.com:80:90",
		"http://[::1].evil.com/", "http://[::1]evil.com:9", "https://[::1", "https://acme.kommo.com/a b",
		"https://", "https://:443"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct kl_url u;
		enum kl_url_fault f = kl_url_parse_base(bad[i], &u);
		if (f != KL_URL_SHAPE)
			fail_msg("\"%s\" should be refused for its shape, got %d", bad[i], (int)f);
		kl_url_free(&u);
	}
}

static void base_url_host_libcurl_cannot_read_is_named(void **state)
{
	(void)state;
	static const char *const bad[] = {"http://127.+0.0.1:9", "https://ac;me.kommo.com/x", "https://[fe80::1_]/",
					  "https://acme+.kommo.com"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct kl_url u;
		if (kl_url_parse_base(bad[i], &u) != KL_URL_HOST)
			fail_msg("\"%s\" should be refused for its host", bad[i]);
		assert_non_null(u.host);
		kl_url_free(&u);
	}
	struct kl_url u;
	assert_int_equal(kl_url_parse_base("http://127.+0.0.1:9/x", &u), KL_URL_HOST);
	assert_string_equal(u.host, "127.+0.0.1");
	kl_url_free(&u);
	/* a wrong port as well is a wrong shape, whichever libcurl saw first */
	assert_int_equal(kl_url_parse_base("http://127.+0.0.1:/x", &u), KL_URL_SHAPE);
	kl_url_free(&u);
	assert_int_equal(kl_url_parse_base("http://127.+0.0.1:0", &u), KL_URL_SHAPE);
	kl_url_free(&u);
	assert_int_equal(kl_url_parse_base("http://127.+0.0.1:99999", &u), KL_URL_SHAPE);
	kl_url_free(&u);
}

static void authority_is_host_and_port_as_libcurl_reads_them(void **state)
{
	(void)state;
	static const char *const cases[][2] = {
		{"https://intermigro.kommo.com", "intermigro.kommo.com"},
		/* the scheme's own port says nothing */
		{"https://intermigro.kommo.com:443/x", "intermigro.kommo.com"},
		{"https://intermigro.kommo.com:8443/x", "intermigro.kommo.com:8443"},
		{"http://127.0.0.1:8443", "127.0.0.1:8443"},
		{"http://[::1]:9/api", "[::1]:9"},
		{"not a url", "not a url"}};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *a = kl_url_authority(cases[i][0]);
		assert_non_null(a);
		assert_string_equal(a, cases[i][1]);
		free(a);
	}
}

static void path_query_appends_an_encoded_value(void **state)
{
	(void)state;
	char *p = kl_url_path_query("/api/v4/contacts", "query", "+7 999&a=b/Ан~._-");
	assert_string_equal(p, "/api/v4/contacts?query=%2B7%20999%26a%3Db%2F%D0%90%D0%BD~._-");
	free(p);
	/* after a query, '&'; page and limit one after the other */
	p = kl_url_path_query("/api/v4/leads/pipelines", "page", "2");
	char *q = kl_url_path_query(p, "limit", "250");
	assert_string_equal(q, "/api/v4/leads/pipelines?page=2&limit=250");
	free(p);
	free(q);
	p = kl_url_path_query("/api/v4/leads?with=contacts", "query", "");
	assert_string_equal(p, "/api/v4/leads?with=contacts&query=");
	free(p);
}

static void path_query_encodes_every_byte_but_the_unreserved_as_upper_hex(void **state)
{
	(void)state;
	/* the requests stay what they were byte for byte: RFC 3986's unreserved
	 * bytes as they are, every other one %XX in upper case, a space too */
	char all[256], want[4 + 3 * 255 + 1];
	size_t k = 0;
	k += (size_t)sprintf(want, "/p?q=");
	for (int i = 1; i < 256; i++) {
		all[i - 1] = (char)i;
		if ((i >= 'A' && i <= 'Z') || (i >= 'a' && i <= 'z') || (i >= '0' && i <= '9') || i == '-' ||
		    i == '.' || i == '_' || i == '~')
			want[k++] = (char)i;
		else
			k += (size_t)sprintf(want + k, "%%%02X", i);
	}
	all[255] = '\0';
	char *p = kl_url_path_query("/p", "q", all);
	assert_string_equal(p, want);
	free(p);
	p = kl_url_path_query("/api/v4/contacts", "query", "+7 999&a=b/Ан~._-");
	assert_string_equal(p, "/api/v4/contacts?query=%2B7%20999%26a%3Db%2F%D0%90%D0%BD~._-");
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(base_url_host_is_kept_as_written),
		cmocka_unit_test(base_url_scheme_is_http_or_https_as_written),
		cmocka_unit_test(base_url_refuses_users_queries_fragments_and_bad_ports),
		cmocka_unit_test(base_url_host_libcurl_cannot_read_is_named),
		cmocka_unit_test(authority_is_host_and_port_as_libcurl_reads_them),
		cmocka_unit_test(path_query_appends_an_encoded_value),
		cmocka_unit_test(path_query_encodes_every_byte_but_the_unreserved_as_upper_hex),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
