/*
 * kl_reply: what Kommo answered, read from the reply's body.
 *
 * kl_reply_parse_unsorted reads a 200 from unsorted/forms;
 * kl_reply_parse_problem reads any error reply, JSON or not, and never
 * fails for the body's sake: what cannot be read is left empty.
 * Structs own their strings; the _free functions accept NULL.
 */
#ifndef KL_REPLY_H
#define KL_REPLY_H

#include <stdbool.h>
#include <stddef.h>

#include "util/kl_err.h"

struct kl_created {
	char *request_id; /* as sent; NULL if Kommo did not echo it */
	char *uid;        /* the Incoming leads entry */
	long long lead_id;
	long long contact_id; /* 0 when Kommo created no contact */
};

struct kl_created_list {
	struct kl_created *items;
	size_t n;
};

/* Fails with KL_EPROTOCOL, naming what is missing, when the body is not the
 * documented success shape. */
int kl_reply_parse_unsorted(const char *body, size_t len, struct kl_created_list *out,
			    struct kl_err *err);
void kl_created_list_free(struct kl_created_list *l);

/* Which sent item each created item answers: cl->items[i] answers
 * sent[at[i]] (sent: the request_ids sent, n of them; at: n slots). By
 * request_id when every item echoes one and together they are exactly the
 * ids sent, each once; by position when no item carries one and there are
 * n of them. Any other reply is KL_EPROTOCOL, err saying how it differs:
 * an id is never guessed. */
int kl_reply_match(const struct kl_created_list *cl, const char *const *sent, size_t n, size_t *at,
		   struct kl_err *err);

struct kl_verror {
	char *request_id, *code, *path, *detail;
};

struct kl_problem {
	long status;
	char *title;     /* "Bad Request" */
	char *detail;    /* "Request validation failed" */
	char *trace_id;  /* on 500s */
	long retry_after; /* seconds from the body or the header; -1 when absent */
	bool json;        /* the body was a JSON object */
	bool html;        /* the body looked like an HTML page */
	struct kl_verror *errors;
	size_t nerrors;
};

/* retry_after_header is the Retry-After header's seconds or -1. Returns
 * KL_OK, or KL_EOSERR when memory ran out. */
int kl_reply_parse_problem(long status, const char *content_type, const char *body, size_t len,
			   long retry_after_header, struct kl_problem *out, struct kl_err *err);
void kl_problem_free(struct kl_problem *p);

/* --- reading any JSON reply ------------------------------------------------ */

struct cJSON;

/* Parses a reply body; NULL when it is empty, not JSON, or nested deeper
 * than any reply of Kommo's (a cap that keeps the parser's stack small). */
struct cJSON *kl_reply_json(const char *body, size_t len);

/* Why kl_reply_json gave NULL, to follow "Kommo's reply": "is empty", "is
 * nested more than 64 levels deep" or "is not JSON". */
const char *kl_reply_json_problem(const char *body, size_t len);

/* A positive integer id from a JSON number or a string of digits; 0 when v
 * is neither (missing, null, a fraction, too large for a double's integers). */
long long kl_reply_id(const struct cJSON *v);

/* NULL when kl_reply_id(v) is an id; else what v is instead, to follow
 * "the id is": "missing", "null", "a string that is not a number", ... */
const char *kl_reply_id_problem(const struct cJSON *v);

/* obj's member key when it is a string, else NULL (the text as Kommo sent it:
 * make it printable before it reaches a terminal). */
const char *kl_reply_str(const struct cJSON *obj, const char *key);

/* kl_reply_id of obj's member key. */
long long kl_reply_key_id(const struct cJSON *obj, const char *key);

/* The first object of list whose "id" is id, or NULL. */
const struct cJSON *kl_reply_find_id(const struct cJSON *list, long long id);

/* obj's member key when it is an array, else NULL (a hostile reply's object
 * in place of an array must not be walked as one). */
const struct cJSON *kl_reply_array(const struct cJSON *obj, const char *key);

/* v's text fit for a terminal (kl_str_printable) when v is a string; a number
 * as digits; NULL otherwise. */
char *kl_reply_text(const struct cJSON *v);

#endif
