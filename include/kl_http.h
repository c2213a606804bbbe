/*
 * kl_http: the HTTPS transport to Kommo (the only user of libcurl).
 *
 * One struct kl_http is one connection cache with the account's address and
 * token; requests on it reuse the connection. TLS verification is always
 * on and cannot be turned off; plain http is refused by kl_check_base_url
 * before a transport is made. The token is copied into the Authorization
 * header only, never logged, and wiped when the transport is freed.
 */
#ifndef KL_HTTP_H
#define KL_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "kl_err.h"
#include "kl_str.h"

/* Receives one line of the verbose log (no newline). */
typedef void (*kl_log_fn)(void *ctx, const char *line);

struct kl_http_opts {
	const char *base_url;   /* "https://intermigro.kommo.com" */
	const char *token;
	long timeout_ms;        /* the whole request; 0: 30 s */
	const char *ca_bundle;  /* PEM file of CA certificates to trust; NULL: the system's */
	kl_log_fn log;          /* NULL: no verbose log */
	void *log_ctx;
};

struct kl_http_reply {
	long status;          /* 0 when no reply came */
	struct kl_buf body;
	char *content_type;   /* NULL when absent */
	long retry_after;     /* the Retry-After header in seconds, or -1 */
	double seconds;       /* how long the exchange took */
	bool maybe_sent;      /* the request may have reached Kommo */
};

struct kl_http;

int kl_http_global_init(struct kl_err *err);
void kl_http_global_cleanup(void);

int kl_http_new(struct kl_http **out, const struct kl_http_opts *opts, struct kl_err *err);
void kl_http_free(struct kl_http *h); /* accepts NULL */

/* Sends one request; path starts with '/'. Any HTTP status is KL_OK (read
 * reply->status). A failure without a reply returns KL_EUNAVAILABLE (could
 * not connect, TLS), KL_ETEMPFAIL (timeout, connection lost) or
 * KL_EPROTOCOL (a reply larger than the cap). */
int kl_http_request(struct kl_http *h, const char *method, const char *path, const char *body,
		    size_t len, struct kl_http_reply *reply, struct kl_err *err);
void kl_http_reply_free(struct kl_http_reply *r); /* accepts NULL */

/* The largest reply body read, in bytes. */
#define KL_HTTP_MAX_REPLY (16u * 1024u * 1024u)

#endif
