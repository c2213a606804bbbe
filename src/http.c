#include "kl_http.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "kl_version.h"

struct kl_http {
	CURL *curl;
	struct curl_slist *headers;
	char *base_url;
	kl_log_fn log;
	void *log_ctx;
};

int kl_http_global_init(struct kl_err *err)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return kl_err_set(err, KL_EOSERR, "libcurl failed to initialise");
	return KL_OK;
}

void kl_http_global_cleanup(void)
{
	curl_global_cleanup();
}

static void wipe_headers(struct curl_slist *l)
{
	for (struct curl_slist *i = l; i; i = i->next)
		explicit_bzero(i->data, strlen(i->data));
	curl_slist_free_all(l);
}

void kl_http_free(struct kl_http *h)
{
	if (!h)
		return;
	if (h->curl)
		curl_easy_cleanup(h->curl);
	wipe_headers(h->headers);
	free(h->base_url);
	free(h);
}

static struct curl_slist *append(struct curl_slist *l, const char *s, bool *ok)
{
	struct curl_slist *n = curl_slist_append(l, s);
	if (!n) {
		*ok = false;
		return l;
	}
	return n;
}

int kl_http_new(struct kl_http **out, const struct kl_http_opts *o, struct kl_err *err)
{
	struct kl_http *h = calloc(1, sizeof *h);
	char *auth = NULL;
	bool ok = true;
	long timeout = o->timeout_ms > 0 ? o->timeout_ms : 30000;
	int rc = KL_OK;

	if (!h)
		return kl_err_oom(err);
	h->log = o->log;
	h->log_ctx = o->log_ctx;
	h->base_url = kl_str_dup(o->base_url);
	h->curl = curl_easy_init();
	if (!h->base_url || !h->curl) {
		rc = kl_err_oom(err);
		goto out;
	}
	if (o->token) {
		if (!(auth = kl_str_printf("Authorization: Bearer %s", o->token))) {
			rc = kl_err_oom(err);
			goto out;
		}
		h->headers = append(h->headers, auth, &ok);
	}
	h->headers = append(h->headers, "Content-Type: application/json", &ok);
	h->headers = append(h->headers, "Accept: application/json", &ok);
	/* no 100-continue round trip: the body is small and Kommo answers fast */
	h->headers = append(h->headers, "Expect:", &ok);
	if (!ok) {
		rc = kl_err_oom(err);
		goto out;
	}
	CURL *c = h->curl;
	CURLcode e = CURLE_OK;
	/* only http(s), never a redirect: a 3xx is reported, the token never follows it */
	if (!e) e = curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	if (!e) e = curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	if (!e) e = curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	if (!e) e = curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (!e && o->ca_bundle) e = curl_easy_setopt(c, CURLOPT_CAINFO, o->ca_bundle);
	if (!e) e = curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (!e) e = curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout);
	if (!e) e = curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout < 10000 ? timeout : 10000L);
	if (!e) e = curl_easy_setopt(c, CURLOPT_USERAGENT, "kommo-lead/" KL_VERSION);
	if (!e) e = curl_easy_setopt(c, CURLOPT_HTTPHEADER, h->headers);
	if (!e) e = curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
	/* plain http is loopback only; a proxy there would carry the token in the clear */
	if (!e && strncmp(o->base_url, "http://", 7) == 0)
		e = curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	if (e) {
		rc = kl_err_set(err, KL_ESOFTWARE, "libcurl refused an option: %s", curl_easy_strerror(e));
		goto out;
	}
	*out = h;
	h = NULL;
out:
	kl_str_free_secret(auth);
	kl_http_free(h);
	return rc;
}

void kl_http_reply_free(struct kl_http_reply *r)
{
	if (!r)
		return;
	kl_buf_free(&r->body);
	free(r->content_type);
	memset(r, 0, sizeof *r);
}

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
	struct kl_http_reply *r = ctx;
	size_t len = size * n;
	if (r->body.len + len > KL_HTTP_MAX_REPLY || kl_buf_append(&r->body, p, len))
		return 0; /* makes libcurl stop with CURLE_WRITE_ERROR */
	return len;
}

static size_t on_header(char *p, size_t size, size_t n, void *ctx)
{
	struct kl_http_reply *r = ctx;
	size_t len = size * n;
	static const char name[] = "retry-after:";
	if (len > sizeof name - 1 && strncasecmp(p, name, sizeof name - 1) == 0) {
		char v[64];
		size_t vl = len - (sizeof name - 1);
		if (vl >= sizeof v)
			vl = sizeof v - 1;
		memcpy(v, p + sizeof name - 1, vl);
		v[vl] = '\0';
		v[strcspn(v, "\r\n")] = '\0';
		char *s = v + strspn(v, " \t"), *end;
		errno = 0;
		long secs = strtol(s, &end, 10);
		if (end != s && *end == '\0' && secs >= 0) {
			/* a day at most: a larger wait is a broken header, not advice */
			r->retry_after = errno == ERANGE || secs > 86400 ? 86400 : secs;
		} else { /* an HTTP date */
			time_t when = curl_getdate(s, NULL);
			time_t now = time(NULL);
			if (when != -1)
				r->retry_after = when <= now ? 0 : when - now > 86400 ? 86400 : (long)(when - now);
		}
	}
	return len;
}

static void logf_(struct kl_http *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(struct kl_http *h, const char *fmt, ...)
{
	if (!h->log)
		return;
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	h->log(h->log_ctx, line);
}

int kl_http_request(struct kl_http *h, const char *method, const char *path, const char *body,
		    size_t len, struct kl_http_reply *r, struct kl_err *err)
{
	CURL *c = h->curl;
	char *url = kl_str_printf("%s%s", h->base_url, path);
	char ebuf[CURL_ERROR_SIZE] = "";
	int rc = KL_OK;

	memset(r, 0, sizeof *r);
	r->retry_after = -1;
	if (!url)
		return kl_err_oom(err);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	if (strcmp(method, "GET") == 0) {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, NULL); /* an earlier PATCH must not stick */
	} else {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? len : 0));
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, strcmp(method, "POST") ? method : NULL);
	}
	logf_(h, "> %s %s (%zu bytes)", method, url, body ? len : 0);
	logf_(h, "> Authorization: Bearer [redacted]");

	CURLcode e = curl_easy_perform(c);

	curl_off_t total = 0, upload = 0;
	char *ctype = NULL;
	curl_easy_getinfo(c, CURLINFO_TOTAL_TIME_T, &total);
	curl_easy_getinfo(c, CURLINFO_SIZE_UPLOAD_T, &upload);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ctype);
	r->seconds = (double)total / 1e6;
	if (ctype && !(r->content_type = kl_str_dup(ctype))) {
		rc = kl_err_oom(err);
		goto out;
	}

	if (e == CURLE_OK) {
		logf_(h, "< %ld in %.3f s (%zu bytes%s%s)", r->status, r->seconds, r->body.len,
		      ctype ? ", " : "", ctype ? ctype : "");
		goto out;
	}
	/* no reply: say whether the request may have got through */
	r->maybe_sent = upload > 0 || e == CURLE_GOT_NOTHING || e == CURLE_RECV_ERROR ||
			e == CURLE_PARTIAL_FILE;
	const char *detail = ebuf[0] ? ebuf : curl_easy_strerror(e);
	switch (e) {
	case CURLE_WRITE_ERROR:
		rc = kl_err_set(err, KL_EPROTOCOL, "Kommo's reply is larger than %u MiB; refusing to read it",
				KL_HTTP_MAX_REPLY / (1024 * 1024));
		break;
	case CURLE_OPERATION_TIMEDOUT:
		rc = kl_err_set(err, KL_ETEMPFAIL, "no reply from %s within the timeout (%s)", h->base_url,
				detail);
		break;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		rc = kl_err_set(err, KL_EUNAVAILABLE, "cannot find %s: %s (check KOMMO_SUBDOMAIN, KOMMO_DOMAIN or KOMMO_BASE_URL)",
				h->base_url, detail);
		break;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
		rc = kl_err_set(err, KL_EUNAVAILABLE,
				"TLS with %s failed: %s (the certificate must verify; kommo-lead never turns that off)",
				h->base_url, detail);
		break;
	case CURLE_GOT_NOTHING:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_PARTIAL_FILE:
		rc = kl_err_set(err, r->maybe_sent ? KL_ETEMPFAIL : KL_EUNAVAILABLE,
				"the connection to %s broke before a reply: %s", h->base_url, detail);
		break;
	default:
		rc = kl_err_set(err, KL_EUNAVAILABLE, "cannot reach %s: %s", h->base_url, detail);
	}
	logf_(h, "< no reply after %.3f s: %s", r->seconds, detail);
out:
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
	free(url);
	return rc;
}
