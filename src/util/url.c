#include "util/kl_url.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include "util/kl_str.h"

void kl_url_free(struct kl_url *u)
{
	if (!u)
		return;
	free(u->host);
	u->host = NULL;
}

/* The length of the host at h, just after "scheme://": "[...]" whole, or up
 * to a port, path, query or fragment; 0 for a '[' never closed. */
static size_t host_len(const char *h)
{
	if (*h == '[') {
		const char *close = strchr(h, ']');
		return close ? (size_t)(close - h) + 1 : 0;
	}
	return strcspn(h, ":/?#");
}

/* libcurl takes an empty port ("host:/") and port 0; neither names a server. */
static bool port_given(CURLU *u)
{
	char *port = NULL;
	bool ok = curl_url_get(u, CURLUPART_PORT, &port, 0) == CURLUE_OK &&
		  strcmp(port, "0") != 0;
	curl_free(port);
	return ok;
}

/* libcurl's reading of text, where rest is the text after the host. */
static enum kl_url_fault curl_verdict(const char *text, const char *rest)
{
	CURLU *u = curl_url();
	if (!u)
		return KL_URL_NOMEM;
	CURLUcode e = curl_url_set(u, CURLUPART_URL, text, 0);
	enum kl_url_fault f = KL_URL_OK;
	if (e == CURLUE_OUT_OF_MEMORY)
		f = KL_URL_NOMEM;
	else if (e == CURLUE_BAD_HOSTNAME || e == CURLUE_BAD_IPV6)
		f = KL_URL_HOST;
	else if (e != CURLUE_OK || (*rest == ':' && !port_given(u)))
		f = KL_URL_SHAPE;
	curl_url_cleanup(u);
	return f;
}

enum kl_url_fault kl_url_parse_base(const char *text, struct kl_url *out)
{
	memset(out, 0, sizeof *out);
	/* as written, in lower case: libcurl would also take "HTTPS://" and
	 * "http:/host", and read "http:///host" as host */
	out->https = strncmp(text, "https://", 8) == 0;
	if (!out->https && strncmp(text, "http://", 7) != 0)
		return KL_URL_SCHEME;
	const char *h = text + (out->https ? 8 : 7);
	size_t hl = host_len(h);
	const char *rest = h + hl;
	/* The API path is appended to the base URL as text: after a '?' or '#'
	 * anywhere it would be a query or fragment. '@' starts a user name.
	 * After the host only a port or the path: "[::1].evil.com" is not ::1. */
	if (hl == 0 || strpbrk(text, " @?#") || (*rest != '\0' && *rest != ':' && *rest != '/'))
		return KL_URL_SHAPE;
	if (!(out->host = strndup(h, hl)))
		return KL_URL_NOMEM;
	enum kl_url_fault f = curl_verdict(text, rest);
	if (f == KL_URL_HOST) {
		/* the host alone is wrong only if the port and path are right, and
		 * libcurl stops at the host before it looks at an empty port */
		char *other = kl_str_printf("http://localhost%s", rest);
		f = !other ? KL_URL_NOMEM : curl_verdict(other, rest) == KL_URL_OK ? KL_URL_HOST : KL_URL_SHAPE;
		free(other);
	}
	return f;
}

char *kl_url_authority(const char *url)
{
	CURLU *u = curl_url();
	char *host = NULL, *port = NULL, *out = NULL;
	if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
		if (curl_url_get(u, CURLUPART_PORT, &port, CURLU_NO_DEFAULT_PORT) == CURLUE_OK)
			out = kl_str_printf("%s:%s", host, port);
		else
			out = strdup(host);
	} else {
		out = strdup(url);
	}
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return out;
}

char *kl_url_path_query(const char *path, const char *key, const char *value)
{
	/* curl_easy_escape, not CURLU_URLENCODE: that one writes a space as '+'
	 * and hex digits in lower case, where the requests kommo-lead has always
	 * sent have %20 and upper case */
	char *v = curl_easy_escape(NULL, value, 0);
	if (!v)
		return NULL;
	char *r = kl_str_printf("%s%c%s=%s", path, strchr(path, '?') ? '&' : '?', key, v);
	curl_free(v);
	return r;
}
