#include "kommo/kl_http.h"

#include <curl/curl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/kl_check.h"
#include "util/kl_url.h"
#include "util/kl_version.h"

struct kl_http {
	CURL *curl;
	struct curl_slist *headers;
	char *base_url;
	char *token;     /* to redact from replies; wiped on free */
	char *host;      /* "intermigro.kommo.com", "127.0.0.1:8443": for messages */
	char *ca_bundle; /* NULL: the system's CA certificates */
	kl_log_fn log;
	void *log_ctx;
	bool log_bodies;
	/* the request under way */
	struct kl_http_reply *reply;
	bool too_large; /* the body went past KL_HTTP_MAX_REPLY */
	bool oom;       /* the body could not be stored */
	char peer[64];  /* set when the peer of a plain http request was not loopback */
	const char *body; /* the request body still to be handed to libcurl */
	size_t left;
	bool rewind_refused; /* libcurl wanted to send the body a second time */
	bool handed;         /* a byte of the body was handed to libcurl (never reset
				* within a transfer: a quiet reconnect restarts its counters) */
	const volatile sig_atomic_t *stop; /* KL_HTTP_STOP_NOW and above: abort the transfer */
	bool stopped;        /* the transfer was aborted for it */
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
	kl_str_free_secret(h->token);
	free(h->host);
	free(h->ca_bundle);
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

/* Called once the connection is made (or reused), before a byte of the
 * request is sent. kl_check_base_url lets plain http through for a loopback
 * host name only; this checks where the name actually led, so that no
 * resolver, hosts file or spelling kl_check_is_loopback misjudged can carry
 * the token in the clear off the machine. */
static int on_connected(void *ctx, char *peer_ip, char *local_ip, int peer_port, int local_port)
{
	struct kl_http *h = ctx;
	(void)local_ip;
	(void)peer_port;
	(void)local_port;
	if (peer_ip && kl_check_is_loopback_addr(peer_ip))
		return CURL_PREREQFUNC_OK;
	snprintf(h->peer, sizeof h->peer, "%s", peer_ip && *peer_ip ? peer_ip : "an unknown address");
	return CURL_PREREQFUNC_ABORT;
}

/* libcurl calls it often during a transfer, waiting included: a second
 * Ctrl-C stops the program without waiting for Kommo's answer. */
static int on_progress(void *ctx, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	struct kl_http *h = ctx;
	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	if (h->stop && *h->stop >= KL_HTTP_STOP_NOW)
		h->stopped = true;
	return h->stopped; /* non-zero: CURLE_ABORTED_BY_CALLBACK */
}

void kl_http_set_stop(struct kl_http *h, const volatile sig_atomic_t *stop)
{
	h->stop = stop;
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
	h->log_bodies = o->log_bodies;
	h->base_url = strdup(o->base_url);
	h->host = kl_url_authority(o->base_url);
	h->ca_bundle = o->ca_bundle ? strdup(o->ca_bundle) : NULL;
	h->curl = curl_easy_init();
	if (!h->base_url || !h->host || (o->ca_bundle && !h->ca_bundle) || !h->curl) {
		rc = kl_err_oom(err);
		goto out;
	}
	if (o->token) {
		if (!(h->token = strdup(o->token))) {
			rc = kl_err_oom(err);
			goto out;
		}
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
	/* Verification is on whatever the environment says: libcurl reads no
	 * CURL_CA_BUNDLE (only the curl tool does), and because it always hands
	 * OpenSSL its own CA file and directory, SSL_CERT_FILE and SSL_CERT_DIR
	 * are never consulted either. */
	if (!e) e = curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	if (!e) e = curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (!e) e = curl_easy_setopt(c, CURLOPT_PROXY_SSL_VERIFYPEER, 1L);
	if (!e) e = curl_easy_setopt(c, CURLOPT_PROXY_SSL_VERIFYHOST, 2L);
	if (!e && o->ca_bundle) {
		/* instead of the system's, as documented: not the system's
		 * certificate directory as well */
		e = curl_easy_setopt(c, CURLOPT_CAINFO, o->ca_bundle);
		if (!e) e = curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
	}
	if (!e) e = curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (!e) e = curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	if (!e) e = curl_easy_setopt(c, CURLOPT_XFERINFODATA, h);
	if (!e) e = curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	/* a Content-Length past the cap is refused before the body is read */
	if (!e) e = curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)KL_HTTP_MAX_REPLY);
	if (!e) e = curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout);
	if (!e) e = curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout < 10000 ? timeout : 10000L);
	if (!e) e = curl_easy_setopt(c, CURLOPT_USERAGENT, "kommo-lead/" KL_VERSION);
	if (!e) e = curl_easy_setopt(c, CURLOPT_HTTPHEADER, h->headers);
	if (!e) e = curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
	/* plain http is loopback only; a proxy there would carry the token in the
	 * clear, and so would a host name that does not lead to loopback
	 * (on_connected). https is left alone: TLS verifies the peer. */
	if (!e && strncmp(o->base_url, "http://", 7) == 0) {
		e = curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
		if (!e) e = curl_easy_setopt(c, CURLOPT_PREREQFUNCTION, on_connected);
		if (!e) e = curl_easy_setopt(c, CURLOPT_PREREQDATA, h);
	}
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
	struct kl_http *h = ctx;
	struct kl_http_reply *r = h->reply;
	size_t len = size * n;
	/* the cap counts decoded bytes: a small compressed body cannot get past it */
	if (len > KL_HTTP_MAX_REPLY - r->body.len) {
		h->too_large = true;
		return 0; /* makes libcurl stop with CURLE_WRITE_ERROR */
	}
	if (kl_buf_append(&r->body, p, len)) {
		h->oom = true;
		return 0;
	}
	return len;
}

/* The request body is handed over through a read callback, never as
 * POSTFIELDS: when a reused keep-alive connection dies after the request
 * went out, libcurl would quietly send POSTFIELDS again on a new connection,
 * and Kommo could create the same leads twice with nobody told. Asked to
 * rewind, on_seek refuses, so the request fails (CURLE_SEND_FAIL_REWIND) and
 * its outcome is reported unknown: sending again is the caller's decision. */
static size_t on_read(char *buf, size_t size, size_t n, void *ctx)
{
	struct kl_http *h = ctx;
	size_t len = size * n < h->left ? size * n : h->left;
	memcpy(buf, h->body, len);
	h->handed |= len > 0;
	h->body += len;
	h->left -= len;
	return len;
}

static int on_seek(void *ctx, curl_off_t offset, int origin)
{
	struct kl_http *h = ctx;
	(void)offset;
	(void)origin;
	h->rewind_refused = true;
	return CURL_SEEKFUNC_CANTSEEK;
}

/* A reply that quotes the token back (a proxy's error page, an echo service at
 * a wrong KOMMO_BASE_URL) must not carry it into messages, cron mail and
 * journals: every copy in the body becomes [redacted], in place. */
static void redact_token(struct kl_buf *b, const char *token)
{
	static const char mask[] = "[redacted]";
	size_t tl = token ? strlen(token) : 0;
	size_t ml = tl < sizeof mask - 1 ? tl : sizeof mask - 1; /* never longer than the token */
	if (!tl || !b->data || b->len < tl)
		return;
	char *w = b->data, *rd = b->data, *end = b->data + b->len, *hit;
	while ((hit = memmem(rd, (size_t)(end - rd), token, tl))) {
		memmove(w, rd, (size_t)(hit - rd));
		w += hit - rd;
		memcpy(w, mask, ml);
		w += ml;
		rd = hit + tl;
	}
	if (rd == b->data)
		return;
	memmove(w, rd, (size_t)(end - rd));
	w += end - rd;
	explicit_bzero(w, b->len - (size_t)(w - b->data)); /* the tail held the token's bytes */
	b->len = (size_t)(w - b->data);
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

/* A body in the log, line by line after mark ("> " sent, "< " received), as
 * curl -v shows it; the token redacted, control characters shown as '?' so
 * that a reply cannot drive the terminal. */
static void log_body(struct kl_http *h, const char *mark, const char *data, size_t len)
{
	if (!h->log || !h->log_bodies || !data || !len)
		return;
	struct kl_buf copy = {.secret = true};
	if (kl_buf_append(&copy, data, len)) {
		logf_(h, "%s[the body could not be shown: out of memory]", mark);
		return;
	}
	redact_token(&copy, h->token);
	char line[1024];
	size_t n = 0, ml = strlen(mark);
	for (size_t i = 0; i <= copy.len; i++) {
		bool end = i == copy.len || copy.data[i] == '\n';
		if (!end) {
			unsigned char ch = (unsigned char)copy.data[i];
			line[ml + n++] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
		}
		if ((end && (n || i < copy.len)) || ml + n == sizeof line - 1) {
			memcpy(line, mark, ml);
			line[ml + n] = '\0';
			h->log(h->log_ctx, line);
			n = 0;
		}
	}
	explicit_bzero(line, sizeof line);
	kl_buf_free(&copy);
}

/* TLS could not be set up. Never worth a retry: the same certificate comes
 * back. Never a reason to go on unverified. */
static bool tls_failure(CURLcode e)
{
	switch (e) {
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_CLIENTCERT:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_USE_SSL_FAILED:
		return true;
	default:
		return false;
	}
}

#define NEVER_OFF "kommo-lead never turns certificate verification off"

static int tls_error(const struct kl_http *h, CURLcode e, const char *detail, struct kl_err *err)
{
	if (e == CURLE_SSL_CACERT_BADFILE) {
		if (h->ca_bundle)
			return kl_err_set(err, KL_ETLS,
					  "cannot load the CA certificates in %s to verify the TLS certificate of %s (%s): "
					  "--cacert and KOMMO_CA_BUNDLE take a file of PEM certificates; nothing was sent; " NEVER_OFF,
					  h->ca_bundle, h->host, detail);
		return kl_err_set(err, KL_ETLS,
				  "cannot load the system's CA certificates to verify the TLS certificate of %s (%s): "
				  "install the ca-certificates package, or name a PEM file with --cacert FILE or KOMMO_CA_BUNDLE=FILE; "
				  "nothing was sent; " NEVER_OFF,
				  h->host, detail);
	}
	if (e == CURLE_SSL_CONNECT_ERROR || e == CURLE_SSL_CIPHER || e == CURLE_USE_SSL_FAILED)
		return kl_err_set(err, KL_ETLS,
				  "the TLS handshake with %s failed, so its certificate could not be verified (%s): "
				  "check that KOMMO_BASE_URL names an https server; nothing was sent; " NEVER_OFF,
				  h->host, detail);
	return kl_err_set(err, KL_ETLS,
			  "the TLS certificate of %s could not be verified against %s%s (%s): nothing was sent; "
			  "if a private CA signs it (a proxy that inspects TLS, a test server), trust that CA with "
			  "--cacert FILE or KOMMO_CA_BUNDLE=FILE; " NEVER_OFF,
			  h->host, h->ca_bundle ? "the CA certificates in " : "the system's CA certificates",
			  h->ca_bundle ? h->ca_bundle : "", detail);
}

/* A request that failed (e, libcurl's error text in ebuf) without a complete
 * reply: whether it may have reached Kommo (r->maybe_sent), and err. */
static int failed(struct kl_http *h, CURLcode e, const char *ebuf, curl_off_t upload, struct kl_http_reply *r,
		  struct kl_err *err)
{
	int rc;
	/* No reply, or only its start. Whether the request may have got through:
	 * a status line means it did, and Kommo acted on it if that was a 2xx. */
	bool answered = r->status > 0;
	/* something came back that is not HTTP, or not decodable: a reply all the
	 * same (HTTP/0.9 is refused with CURLE_UNSUPPORTED_PROTOCOL; the URL's
	 * scheme was checked before) */
	bool unreadable = e == CURLE_WEIRD_SERVER_REPLY || e == CURLE_BAD_CONTENT_ENCODING ||
			  e == CURLE_UNSUPPORTED_PROTOCOL;
	r->maybe_sent = answered || unreadable || upload > 0 || e == CURLE_GOT_NOTHING ||
			e == CURLE_RECV_ERROR || e == CURLE_PARTIAL_FILE || e == CURLE_SEND_FAIL_REWIND ||
			h->rewind_refused || h->handed;
	const char *detail = ebuf[0] ? ebuf : curl_easy_strerror(e);
	if (e == CURLE_ABORTED_BY_CALLBACK && h->peer[0]) {
		r->maybe_sent = false; /* stopped before the request was written */
		rc = kl_err_set(err, KL_ECONFIG,
				"%s led to %s, which is not a loopback address: plain http is allowed only within this machine, "
				"where the token cannot be overheard, so nothing was sent; use https, or a loopback address such as 127.0.0.1",
				h->base_url, h->peer);
	} else if (e == CURLE_ABORTED_BY_CALLBACK && h->stopped) {
		r->interrupted = true;
		if (r->maybe_sent)
			rc = kl_err_set(err, KL_ETEMPFAIL,
					"interrupted while waiting for Kommo's answer: the request may have reached Kommo");
		else
			rc = kl_err_set(err, KL_ETEMPFAIL, "interrupted before the request was sent");
	} else if (tls_failure(e)) {
		rc = tls_error(h, e, detail, err);
	} else if ((e == CURLE_WRITE_ERROR && h->too_large) || e == CURLE_FILESIZE_EXCEEDED) {
		if (answered)
			rc = kl_err_set(err, KL_EPROTOCOL, "Kommo answered HTTP %ld with a reply larger than %u MiB; refusing to read it",
					r->status, KL_HTTP_MAX_REPLY / (1024 * 1024));
		else
			rc = kl_err_set(err, KL_EPROTOCOL, "Kommo's reply is larger than %u MiB; refusing to read it",
					KL_HTTP_MAX_REPLY / (1024 * 1024));
	} else if (unreadable) {
		if (answered)
			rc = kl_err_set(err, KL_EPROTOCOL, "Kommo answered HTTP %ld, but its reply cannot be read: %s",
					r->status, detail);
		else
			rc = kl_err_set(err, KL_EPROTOCOL, "Kommo's reply is not HTTP: %s", detail);
	} else if (e == CURLE_WRITE_ERROR && h->oom) {
		rc = kl_err_set(err, KL_EOSERR, "out of memory while reading Kommo's reply (HTTP %ld)", r->status);
	} else if (e == CURLE_OPERATION_TIMEDOUT) {
		if (answered)
			rc = kl_err_set(err, KL_ETEMPFAIL, "Kommo answered HTTP %ld, but the rest of its reply did not come within the timeout (%s)",
					r->status, detail);
		else
			rc = kl_err_set(err, KL_ETEMPFAIL, "no reply from %s within the timeout (%s)", h->base_url, detail);
	} else if (e == CURLE_COULDNT_RESOLVE_HOST || e == CURLE_COULDNT_RESOLVE_PROXY) {
		rc = kl_err_set(err, KL_EUNAVAILABLE, "cannot find %s: %s (check KOMMO_SUBDOMAIN, KOMMO_DOMAIN or KOMMO_BASE_URL)",
				h->base_url, detail);
	} else if (e == CURLE_SEND_FAIL_REWIND || h->rewind_refused) {
		rc = kl_err_set(err, KL_ETEMPFAIL,
				"the connection to %s broke after the request was sent, before a reply: it may have reached Kommo, so it was not sent again",
				h->base_url);
	} else if (e == CURLE_GOT_NOTHING || e == CURLE_RECV_ERROR || e == CURLE_SEND_ERROR ||
		   e == CURLE_PARTIAL_FILE) {
		if (answered)
			rc = kl_err_set(err, KL_ETEMPFAIL, "Kommo answered HTTP %ld, but the connection to %s broke before the end of its reply: %s",
					r->status, h->base_url, detail);
		else
			rc = kl_err_set(err, r->maybe_sent ? KL_ETEMPFAIL : KL_EUNAVAILABLE,
					"the connection to %s broke before a reply: %s", h->base_url, detail);
	} else {
		rc = kl_err_set(err, KL_EUNAVAILABLE, "cannot reach %s: %s", h->base_url, detail);
	}
	if (answered)
		logf_(h, "< %ld, then no complete reply after %.3f s: %s", r->status, r->seconds, detail);
	else
		logf_(h, "< no reply after %.3f s: %s", r->seconds, detail);
	return rc;
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
	h->reply = r;
	h->too_large = h->oom = h->stopped = false;
	h->peer[0] = '\0';
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, h);
	h->rewind_refused = false;
	h->handed = false;
	if (strcmp(method, "GET") == 0) {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, NULL); /* an earlier PATCH must not stick */
	} else {
		h->body = body ? body : "";
		h->left = body ? len : 0;
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(c, CURLOPT_READDATA, h);
		curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, on_seek);
		curl_easy_setopt(c, CURLOPT_SEEKDATA, h);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)h->left);
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, strcmp(method, "POST") ? method : NULL);
	}
	logf_(h, "> %s %s (%zu bytes)", method, url, body ? len : 0);
	logf_(h, "> Authorization: Bearer [redacted]");
	log_body(h, "> ", body, body ? len : 0);

	CURLcode e = curl_easy_perform(c);
	redact_token(&r->body, h->token);

	curl_off_t total = 0, upload = 0;
	char *ctype = NULL;
	curl_off_t pre = 0;
	curl_easy_getinfo(c, CURLINFO_PRETRANSFER_TIME_T, &pre);
	r->pretransfer = (double)pre / 1e6;
	curl_easy_getinfo(c, CURLINFO_TOTAL_TIME_T, &total);
	curl_easy_getinfo(c, CURLINFO_SIZE_UPLOAD_T, &upload);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ctype);
	/* libcurl reads Retry-After (seconds or an HTTP date) and gives 0 alike
	 * for none, one it cannot read and "now": each gets our own backoff. A
	 * day at most: a larger wait is a broken header, not advice. */
	curl_off_t wait = 0;
	if (curl_easy_getinfo(c, CURLINFO_RETRY_AFTER, &wait) == CURLE_OK && wait > 0)
		r->retry_after = wait > 86400 ? 86400 : (long)wait;
	r->seconds = (double)total / 1e6;
	if (ctype && !(r->content_type = strdup(ctype))) {
		rc = kl_err_oom(err);
		goto out;
	}

	if (e == CURLE_OK) {
		logf_(h, "< %ld in %.3f s (%zu bytes%s%s)", r->status, r->seconds, r->body.len,
		      ctype ? ", " : "", ctype ? ctype : "");
		log_body(h, "< ", r->body.data, r->body.len);
		goto out;
	}
	rc = failed(h, e, ebuf, upload, r, err);
out:
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
	free(url);
	return rc;
}
