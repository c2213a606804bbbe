/*
 * kl_http: one HTTP exchange with Kommo, under the transport path (kl_api,
 * its only caller). With util/url.c, the only code that includes libcurl.
 *
 * One struct kl_http is one connection cache with the account's address and
 * token; requests on it reuse the connection. TLS verification is always
 * on and cannot be turned off: no option, config key or environment
 * variable does it (libcurl reads no CURL_CA_BUNDLE, and SSL_CERT_FILE /
 * SSL_CERT_DIR are never consulted because libcurl hands OpenSSL its own CA
 * locations). Plain http is refused by kl_check_base_url before a
 * transport is made unless the host is loopback, and again once connected
 * unless the peer's address is (127.0.0.0/8, ::1): a name that led
 * elsewhere gets no request. The token is copied into the Authorization
 * header only, never logged, and wiped when the transport is freed.
 */
#ifndef KL_HTTP_H
#define KL_HTTP_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "util/kl_err.h"
#include "util/kl_str.h"

/* Receives one line of the verbose log (no newline). */
typedef void (*kl_log_fn)(void *ctx, const char *line);

struct kl_http_opts {
	const char *base_url;   /* "https://intermigro.kommo.com" */
	const char *token;
	long timeout_ms;        /* the whole request; 0: 30 s */
	const char *ca_bundle;  /* PEM file of CA certificates to trust instead of the
				   system's (file and directory); NULL: the system's */
	kl_log_fn log;          /* NULL: no verbose log */
	void *log_ctx;
	bool log_bodies;        /* -v -v: the log shows request and reply bodies too */
};

struct kl_http_reply {
	long status;          /* 0 when no reply came; also set when a failure cut
				 the reply short after its status line */
	struct kl_buf body;
	char *content_type;   /* NULL when absent */
	long retry_after;     /* the Retry-After header in seconds, or -1 */
	double seconds;       /* how long the exchange took */
	double pretransfer;   /* of which before the request began to go out (connecting, TLS) */
	bool maybe_sent;      /* the request may have reached Kommo */
	bool interrupted;     /* the transfer was aborted: *stop reached KL_HTTP_STOP_NOW */
};

struct kl_http;

int kl_http_global_init(struct kl_err *err);
void kl_http_global_cleanup(void);

int kl_http_new(struct kl_http **out, const struct kl_http_opts *opts, struct kl_err *err);
void kl_http_free(struct kl_http *h); /* accepts NULL */

/* Once *stop (set by a signal handler; NULL: never) reaches
 * KL_HTTP_STOP_NOW, a request in flight is aborted: KL_ETEMPFAIL with
 * reply->interrupted, and reply->maybe_sent when a byte of the body (or a
 * status line) had gone past. */
#define KL_HTTP_STOP_NOW 2
void kl_http_set_stop(struct kl_http *h, const volatile sig_atomic_t *stop);

/* Sends one request; path starts with '/'. Any HTTP status is KL_OK (read
 * reply->status). A failure without a complete reply returns
 *   KL_ETLS          the certificate could not be verified, or no TLS
 *                    handshake: nothing was sent; retrying cannot help;
 *   KL_EUNAVAILABLE  could not connect (nothing was sent);
 *   KL_ETEMPFAIL     timeout, connection lost;
 *   KL_EPROTOCOL     a reply larger than KL_HTTP_MAX_REPLY, not HTTP, or
 *                    with a body that cannot be decoded;
 *   KL_ECONFIG       a plain http base URL led to a peer that is not
 *                    loopback: nothing was sent; retrying cannot help;
 *   KL_EOSERR        out of memory.
 * When the status line came before the failure (a reply too large, too
 * slow, cut short or undecodable), reply->status holds it and
 * reply->maybe_sent is true: a 2xx there means Kommo acted on the request although its reply
 * cannot be read. */
int kl_http_request(struct kl_http *h, const char *method, const char *path, const char *body,
		    size_t len, struct kl_http_reply *reply, struct kl_err *err);
void kl_http_reply_free(struct kl_http_reply *r); /* accepts NULL */

/* The largest reply body read, in bytes, counted decoded (a gzipped reply
 * counts as it expands); a Content-Length above it is refused before the
 * body is read. */
#define KL_HTTP_MAX_REPLY (16u * 1024u * 1024u)

#endif
