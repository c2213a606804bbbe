/*
 * kl_report: what the user is told about an exchange with Kommo.
 *
 * Each function turns a result into text (appended to a kl_buf, one line
 * per '\n') and returns the exit status it calls for; the caller prints.
 */
#ifndef KL_REPORT_H
#define KL_REPORT_H

#include <stdbool.h>

#include "kommo/kl_payload.h"
#include "kommo/kl_reply.h"
#include "util/kl_str.h"

/* "lead_id=1 contact_id=2\n", or with json the one-line object
 * {"status":"created","lead_id":1,"contact_id":2,"uid":"...","source_uid":"..."}. */
int kl_report_created(const struct kl_created *c, const char *source_uid, bool maybe_dup, bool json,
		      struct kl_buf *out);

/* Explains an error reply: status, title, detail, each validation error
 * with its path named in the user's terms (via payload), and what to do.
 * Returns the exit status for that reply. */
int kl_report_problem(const struct kl_problem *p, const struct kl_payload *payload,
		      const char *url, struct kl_buf *out);

/* Names what in the user's input a validation error's path came from, as a
 * new string, or NULL (see kl_payload_origin). */
typedef char *(*kl_origin_fn)(const void *ctx, const struct kl_verror *e);

/* One validation error on a line: "NotSupportedChoice at PATH (what origin
 * names it): DETAIL". origin may be NULL. NULL when memory ran out. */
char *kl_report_verror(const struct kl_verror *e, kl_origin_fn origin, const void *origin_ctx);

/* kl_report_problem for any request: what names the thing sent ("the lead",
 * "the contact") and origin, which may be NULL, names the paths. */
int kl_report_problem_in(const struct kl_problem *p, const char *what, kl_origin_fn origin,
			 const void *origin_ctx, const char *url, struct kl_buf *out);

struct cJSON;

/* Adds key to o: v as a string, or null when v is NULL; false when memory ran out. */
bool kl_report_add_text(struct cJSON *o, const char *key, const char *v);

/* Adds key to o: id as a number, or null when id is 0; false when memory ran out. */
bool kl_report_add_id(struct cJSON *o, const char *key, long long id);

/* The exit status an HTTP status calls for (200 is KL_OK). */
int kl_report_status_exit(long status);

#endif
