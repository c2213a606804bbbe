/*
 * kl_errpath: what a validation error's path points at in what was sent.
 *
 * Kommo does not write its paths one way (kommo-api.md, "Validation-error
 * paths are not written one way"): relative to the item
 * ("_embedded.leads.0.name"), relative to the entity embedded in it
 * ("custom_fields_values.0.field_id"), with a leading "data." (the request's
 * body), with the item's position in the request ("8._embedded..."), or both
 * ("data.8._embedded..."). A path is read each of these ways against the
 * item that was sent, and the readings that land on something sent are kept;
 * of those, the ones the error fits (a value of another type than an
 * InvalidType asks for, one longer than an InvalidLength allows, a key that
 * is absent for a FieldMissing) when any does. Nothing is guessed: a leading
 * index other than the item's own position is no reading of it.
 *
 * Every function is the one place its rule is written: the payload of
 * unsorted/forms and the crm commands' bodies both name their errors here.
 */
#ifndef KL_ERRPATH_H
#define KL_ERRPATH_H

#include <stdbool.h>
#include <stddef.h>

struct cJSON;
struct kl_verror;

/* Which of n items sent error e is about: by_rid, the position of the item
 * whose request_id e carries (-1: none carries it), else the position its
 * path leads with ("8." or "data.8."), else the only item when e carries no
 * request_id; -1 when none of these names an item sent, never another
 * item's: a request_id that no item sent carries, a leading index past the
 * last item, or a leading index other than the request_id's item. */
long kl_errpath_item(const struct kl_verror *e, size_t n, long by_rid);

/* The name of what an item-relative path came from ("--phone (field
 * 467700)"), as a new string, or NULL when the caller cannot tell. */
typedef char *(*kl_errpath_label_fn)(const void *ctx, const char *path);

/* Names what error e points at in item, sent at position index of the
 * request: the labels of its readings joined by " or ", each reading with
 * no label told by what was found there ("field_id 999999 in the lead's
 * custom fields", see kl_errpath_describe); "nothing sent is at this path"
 * when no reading lands. item_name names the item itself ("the lead").
 * A new string; NULL only when memory ran out. */
char *kl_errpath_name(const struct cJSON *item, size_t index, const struct kl_verror *e,
		      const char *item_name, kl_errpath_label_fn label, const void *ctx);

/* What is at an item-relative path of item, in words: "field_id 999999 in
 * the lead's custom fields", "value \"...\" (300 characters) of field 488804
 * in the lead's custom fields", "no form_sent_at in the request's metadata".
 * A new string; NULL when memory ran out. */
char *kl_errpath_describe(const struct cJSON *item, const char *path, const char *item_name);

/* True when path is prefix or goes on below it ("a.b" starts "a", not "ab"). */
bool kl_errpath_starts(const char *path, const char *prefix);

#endif
