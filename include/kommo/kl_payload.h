/*
 * kl_payload: the body of POST /api/v4/leads/unsorted/forms.
 *
 * A payload is a JSON array with one item per lead, built and printed by
 * cJSON. It can tell which input each part of an item came from, so that a
 * validation error's path from Kommo can be named in the user's terms
 * ("--telegram (field 1709360)"): it notes the origins while it builds the
 * item. It owns everything it keeps; nothing passed to kl_payload_add is
 * read after it returns.
 */
#ifndef KL_PAYLOAD_H
#define KL_PAYLOAD_H

#include <stdbool.h>
#include <stddef.h>

#include "core/kl_config.h"
#include "util/kl_err.h"
#include "core/kl_lead.h"

struct kl_payload;

struct kl_payload *kl_payload_new(void); /* NULL when out of memory */
void kl_payload_free(struct kl_payload *p); /* accepts NULL */

/* Appends the item for a lead checked against acct (kl_lead_check_account,
 * then kl_lead_default_uid). request_id is echoed by Kommo in replies and
 * errors; now is Unix seconds, used for created_at and form_sent_at when the
 * lead has no created_at. label names the lead's values as in kl_lead_check
 * (NULL: flags); the names are kept for kl_payload_origin, so the caller may
 * free lead and label_ctx as soon as this returns.
 * For a checked lead it fails only for memory. It still refuses a lead that
 * does not fit acct, with kl_lead_fits_account's status and message, but
 * such a refusal is a programming error: the caller skipped the check. */
int kl_payload_add(struct kl_payload *p, const struct kl_lead *lead, const struct kl_account *acct,
		   const char *request_id, long long now, kl_label_fn label, void *label_ctx,
		   struct kl_err *err);

size_t kl_payload_count(const struct kl_payload *p);

/* The array as compact JSON text, owned by the caller; NULL when out of memory. */
char *kl_payload_render(const struct kl_payload *p);

struct kl_verror;

/* Which item of the payload a validation error is about, by its position
 * (kl_errpath_item: by request_id, else by the index its path leads with);
 * -1 when it names none of them. */
long kl_payload_error_item(const struct kl_payload *p, const struct kl_verror *e);

/* What in the input a validation error's path came from, as a new string
 * ("--phone (field 467700)"), or what was sent at it when no flag or
 * column gave it ("created_at 1700000000 in the request"): the path is
 * read in any of Kommo's forms (kl_errpath). payload is a struct
 * kl_payload; the signature is kl_origin_fn's. NULL when memory ran out. */
char *kl_payload_origin(const void *payload, const struct kl_verror *e);

struct cJSON;
struct kl_buf;

/* The custom_fields_values of a lead's or contact's body (leads create,
 * leads update, contacts create), built as an Incoming lead's are: the
 * values of lead whose attribute or --field belongs to entity which, each by
 * its field id in acct, else by its field code, a number as its digits; no
 * key when there are none. lead is checked and fits acct
 * (kl_lead_fits_account). For entry N, appends to notes the pair
 * "custom_fields_values.N\0LABEL\0", LABEL naming where the value came from
 * as kl_payload_origin does ("--career (field 488804)", "--field
 * lead:1709500"). entity borrows lead's strings: free lead after entity.
 * Fails only for memory. */
int kl_payload_custom_fields(struct cJSON *entity, const struct kl_lead *lead, enum kl_entity which,
			     const struct kl_account *acct, struct kl_buf *notes, struct kl_err *err);

/* The label notes (kl_payload_custom_fields) give the part an item-relative
 * path is in, as a new string; NULL when none does or memory ran out. */
char *kl_payload_noted(const struct kl_buf *notes, const char *path);

#endif
