/*
 * kl_url: URLs as libcurl reads them.
 *
 * The one place besides the HTTP transport (kommo/http.c) that includes
 * libcurl: a utility, so that core's configuration checks can use the same
 * parser as the transport without reaching up a layer.
 * The base URL is checked by the parser that later sends the request
 * (libcurl's curl_url), so the check and the request cannot read it two
 * ways. Query strings are built here too, with libcurl's escaping.
 * Functions returning char * return a new string owned by the caller, to
 * be released with free(), or NULL when memory ran out.
 */
#ifndef KL_URL_H
#define KL_URL_H

#include <stdbool.h>

/* What kl_url_parse_base found wrong. */
enum kl_url_fault {
	KL_URL_OK,
	KL_URL_SCHEME, /* does not start with http:// or https:// */
	KL_URL_SHAPE,  /* not HOST[:PORT][/PATH] after the scheme: a user, query
			  or fragment, no host, a port outside 1-65535, or text
			  libcurl cannot read */
	KL_URL_HOST,   /* the shape is right, but libcurl cannot read the host
			  (127.+0.0.1); host is set */
	KL_URL_NOMEM
};

struct kl_url {
	bool https;
	char *host; /* as written, between "://" and the port or path: "[::1]",
		       "Example.com", "127.1" (libcurl would connect to
		       127.0.0.1); what a check of the raw text reads */
};

/* Reads text as a base URL: http(s)://HOST[:PORT][/PATH], no user, query
 * or fragment anywhere (the API path is appended to it as text). out is
 * filled as far as the text was read, also on a fault: free it with
 * kl_url_free either way. */
enum kl_url_fault kl_url_parse_base(const char *text, struct kl_url *out);
void kl_url_free(struct kl_url *u); /* frees the members; accepts NULL */

/* "host" or "host:port" of url as libcurl reads it, for messages; url
 * itself when libcurl cannot read it. */
char *kl_url_authority(const char *url);

/* path with key=value appended to its query, after '?' or, when path has a
 * query already, '&'. value is percent-encoded (every byte but A-Z a-z 0-9
 * - . _ ~, as %XX); key is written as it is, so it must be a name from the
 * code (query, page, filter[id][]), never data. */
char *kl_url_path_query(const char *path, const char *key, const char *value);

#endif
