#include "kommo/kl_payload.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kommo/kl_errpath.h"
#include "kommo/kl_reply.h"
#include "util/kl_str.h"

/* What the payload keeps of an item once added: nothing of the caller's. */
struct item {
	char *request_id;      /* NULL when none */
	struct kl_buf origins; /* "path\0label\0" pairs, in the order built */
};

/* Each item is printed when added and kept as raw JSON in the array: the
 * tree that printed it may then borrow the lead's strings instead of copying
 * them, and lives only as long as kl_payload_add. */
struct kl_payload {
	cJSON *array;
	struct item *items;
	size_t nitems, cap;
};

struct kl_payload *kl_payload_new(void)
{
	struct kl_payload *p = calloc(1, sizeof *p);
	if (p && !(p->array = cJSON_CreateArray())) {
		free(p);
		return NULL;
	}
	return p;
}

void kl_payload_free(struct kl_payload *p)
{
	if (!p)
		return;
	cJSON_Delete(p->array);
	for (size_t i = 0; i < p->nitems; i++) {
		free(p->items[i].request_id);
		kl_buf_free(&p->items[i].origins);
	}
	free(p->items);
	free(p);
}

size_t kl_payload_count(const struct kl_payload *p)
{
	return p->nitems;
}

char *kl_payload_render(const struct kl_payload *p)
{
	return cJSON_PrintUnformatted(p->array);
}

/* Builds one item's tree, and notes where each part came from: the same code
 * builds the item and tells its origins, so the two cannot drift apart. Any
 * failed step is out of memory, found once at the end: cJSON's add functions
 * take a NULL parent and fail, so a lost object does not need a check of its
 * own. */
struct build {
	struct kl_buf *notes;
	const struct kl_lead *lead;
	const struct kl_account *acct;
	kl_label_fn label;
	void *ctx;
	bool oom;
	const char *missing; /* a string that should have been there */
};

static void label_of(const struct build *b, enum kl_attr a, char *buf, size_t size)
{
	if (b->label)
		b->label(b->ctx, a, buf, size);
	else
		snprintf(buf, size, "%s", kl_attr_info(a)->flag);
}

static void note(struct build *b, const char *path, const char *label)
{
	if (kl_buf_append(b->notes, path, strlen(path) + 1) ||
	    kl_buf_append(b->notes, label, strlen(label) + 1))
		b->oom = true;
}

static void note_attr(struct build *b, const char *path, enum kl_attr a)
{
	char l[256];
	label_of(b, a, l, sizeof l);
	note(b, path, l);
}

static void note_config(struct build *b, const char *path, enum kl_cfg_key key, const char *flag)
{
	char l[128];
	snprintf(l, sizeof l, "%s or %s", flag, kl_config_key_name(key));
	note(b, path, l);
}

/* key is always a literal: cJSON keeps it without a copy */
static void add(struct build *b, cJSON *o, const char *key, cJSON *v)
{
	if (!v || !cJSON_AddItemToObjectCS(o, key, v)) {
		cJSON_Delete(v);
		b->oom = true;
	}
}

/* The tree lives only until it is printed, so it borrows v. */
static void add_string(struct build *b, cJSON *o, const char *key, const char *v)
{
	if (!v)
		b->missing = key;
	else
		add(b, o, key, cJSON_CreateStringReference(v));
}

/* A number as checked digits, never through a double: cJSON would print
 * 1000000000000000 as 1e+15. */
static void add_digits(struct build *b, cJSON *o, const char *key, const char *digits)
{
	add(b, o, key, cJSON_CreateRaw(digits));
}

static void add_uint(struct build *b, cJSON *o, const char *key, unsigned long long v)
{
	char d[24], *q = d + sizeof d - 1;
	*q = '\0';
	do /* by hand: snprintf was a tenth of a row's cost */
		*--q = (char)('0' + v % 10);
	while (v /= 10);
	add_digits(b, o, key, q);
}

static cJSON *add_object(struct build *b, cJSON *parent, const char *key)
{
	cJSON *o = cJSON_CreateObject();
	if (key)
		add(b, parent, key, o);
	else if (!o || !cJSON_AddItemToArray(parent, o)) {
		cJSON_Delete(o);
		b->oom = true;
	}
	return b->oom ? NULL : o;
}

static cJSON *add_array(struct build *b, cJSON *parent, const char *key)
{
	cJSON *a = cJSON_CreateArray();
	add(b, parent, key, a);
	return b->oom ? NULL : a;
}

/* One custom_fields_values entry, the list made at the first: by id when
 * configured, else by code. Its path under prefix is noted with label. */
static void cf_entry(struct build *b, cJSON *entity, cJSON **list, const char *prefix, int *n,
		     unsigned long long id, const char *code, const char *value, bool numeric,
		     const char *label)
{
	char path[128];
	if (!*list)
		*list = add_array(b, entity, "custom_fields_values");
	cJSON *e = add_object(b, *list, NULL);
	if (id)
		add_uint(b, e, "field_id", id);
	else
		add_string(b, e, "field_code", code);
	cJSON *v = add_object(b, add_array(b, e, "values"), NULL);
	if (numeric)
		add_digits(b, v, "value", value);
	else
		add_string(b, v, "value", value);
	snprintf(path, sizeof path, "%scustom_fields_values.%d", prefix, (*n)++);
	note(b, path, label);
}

/* The custom fields of one entity, if any; prefix is the entity's path in
 * the item, "" or ending in '.'. The lead fits the account
 * (kl_lead_fits_account): every field has an id or a code. */
static void add_custom_fields(struct build *b, cJSON *entity, enum kl_entity which, const char *prefix)
{
	char label[400], l[256];
	cJSON *list = NULL;
	int n = 0;
	for (int a = 0; a < KL_ATTR_COUNT; a++) {
		const struct kl_attr_info *ai = kl_attr_info(a);
		const char *v = b->lead->v[a];
		if (!v || ai->entity != which)
			continue;
		unsigned long long id = b->acct->id[ai->cfg_key];
		label_of(b, a, l, sizeof l);
		if (id)
			snprintf(label, sizeof label, "%s (field %llu)", l, id);
		else
			snprintf(label, sizeof label, "%s (field code %s)", l, ai->code);
		cf_entry(b, entity, &list, prefix, &n, id, ai->code, v, ai->kind == KL_KIND_NUMBER, label);
	}
	for (size_t i = 0; i < b->lead->ncustom; i++) {
		const struct kl_custom *c = &b->lead->custom[i];
		if (c->entity == which)
			cf_entry(b, entity, &list, prefix, &n, c->id, NULL, c->value, c->numeric, c->label);
	}
}

int kl_payload_custom_fields(struct cJSON *entity, const struct kl_lead *lead, enum kl_entity which,
			     const struct kl_account *acct, struct kl_buf *notes, struct kl_err *err)
{
	struct build b = {notes, lead, acct, NULL, NULL, false, NULL};
	add_custom_fields(&b, entity, which, "");
	if (b.missing)
		return kl_err_set(err, KL_ESOFTWARE, "internal error: a custom field has no %s", b.missing);
	return b.oom ? kl_err_oom(err) : KL_OK;
}

char *kl_payload_noted(const struct kl_buf *notes, const char *path)
{
	for (const char *o = notes->data, *end = o + notes->len; o && o < end;) {
		const char *label = o + strlen(o) + 1;
		if (kl_errpath_starts(path, o))
			return strdup(label);
		o = label + strlen(label) + 1;
	}
	return NULL;
}

/* The lead's tags, as Kommo documents them: _embedded.tags[] of the lead,
 * each {"name": ...}. The names are checked and joined by ',' (KL_KIND_TAGS);
 * each is copied, as the list holds no piece of them as a string of its own. */
static void add_tags(struct build *b, cJSON *lead)
{
	const char *v = b->lead->v[KL_ATTR_TAGS];
	if (!v)
		return;
	cJSON *tags = add_array(b, add_object(b, lead, "_embedded"), "tags");
	note_attr(b, "_embedded.leads.0._embedded.tags", KL_ATTR_TAGS);
	for (const char *p = v; *p && !b->oom; p += *p == ',') {
		size_t n = strcspn(p, ",");
		char *name = strndup(p, n);
		cJSON *tag = add_object(b, tags, NULL);
		if (!name)
			b->oom = true;
		else
			add(b, tag, "name", cJSON_CreateString(name));
		free(name);
		p += n;
	}
}

/* The top of the item and its metadata; when is created_at and form_sent_at. */
static void add_head(struct build *b, cJSON *item, const char *request_id, long long when)
{
	const struct kl_account *acct = b->acct;
	const char *const *v = (const char *const *)b->lead->v;

	add_string(b, item, "source_uid", v[KL_ATTR_SOURCE_UID]);
	note_attr(b, "source_uid", KL_ATTR_SOURCE_UID);
	add_string(b, item, "source_name", acct->source_name);
	note_config(b, "source_name", KL_CFG_SOURCE_NAME, "--source-name");
	if (acct->pipeline_id) {
		add_uint(b, item, "pipeline_id", acct->pipeline_id);
		note_config(b, "pipeline_id", KL_CFG_PIPELINE_ID, "--pipeline");
	}
	add_uint(b, item, "created_at", (unsigned long long)when);
	if (request_id)
		add_string(b, item, "request_id", request_id);

	cJSON *meta = add_object(b, item, "metadata");
	add_string(b, meta, "form_id", acct->form_id);
	note_config(b, "metadata.form_id", KL_CFG_FORM_ID, "--form-id");
	add_string(b, meta, "form_name", acct->form_name);
	note_config(b, "metadata.form_name", KL_CFG_FORM_NAME, "--form-name");
	if (acct->form_page) {
		add_string(b, meta, "form_page", acct->form_page);
		note_config(b, "metadata.form_page", KL_CFG_FORM_PAGE, "--form-page");
	}
	add_uint(b, meta, "form_sent_at", (unsigned long long)when);
	if (v[KL_ATTR_REFERER]) {
		add_string(b, meta, "referer", v[KL_ATTR_REFERER]);
		note_attr(b, "metadata.referer", KL_ATTR_REFERER);
	}
}

/* The embedded lead and contact; the names are the caller's until printed. */
static void add_embedded(struct build *b, cJSON *item, const char *lead_name, const char *contact_name)
{
	const char *const *v = (const char *const *)b->lead->v;
	cJSON *embedded = add_object(b, item, "_embedded");

	cJSON *lead = add_object(b, add_array(b, embedded, "leads"), NULL);
	add_string(b, lead, "name", lead_name);
	note_attr(b, "_embedded.leads.0.name", KL_ATTR_LEAD_NAME);
	add_digits(b, lead, "price", v[KL_ATTR_PRICE] ? v[KL_ATTR_PRICE] : "0");
	note_attr(b, "_embedded.leads.0.price", KL_ATTR_PRICE);
	add_custom_fields(b, lead, KL_ENTITY_LEAD, "_embedded.leads.0.");
	add_tags(b, lead);

	cJSON *contact = add_object(b, add_array(b, embedded, "contacts"), NULL);
	add_string(b, contact, "name", contact_name);
	note_attr(b, "_embedded.contacts.0.name", KL_ATTR_NAME);
	add_string(b, contact, "first_name", v[KL_ATTR_NAME]);
	note_attr(b, "_embedded.contacts.0.first_name", KL_ATTR_NAME);
	if (v[KL_ATTR_LAST_NAME]) {
		add_string(b, contact, "last_name", v[KL_ATTR_LAST_NAME]);
		note_attr(b, "_embedded.contacts.0.last_name", KL_ATTR_LAST_NAME);
	}
	add_custom_fields(b, contact, KL_ENTITY_CONTACT, "_embedded.contacts.0.");
}

/* The item as compact JSON text, its origins noted in b->notes. */
static int print_item(struct build *b, const char *request_id, long long now, char **text,
		      struct kl_err *err)
{
	const char *const *v = (const char *const *)b->lead->v;
	long long when = b->lead->created_at ? b->lead->created_at : now;
	char *contact_name, *lead_name = NULL;
	cJSON *item = NULL;
	int rc = KL_OK;

	if (v[KL_ATTR_LAST_NAME])
		contact_name = kl_str_printf("%s %s", v[KL_ATTR_NAME], v[KL_ATTR_LAST_NAME]);
	else
		contact_name = strdup(v[KL_ATTR_NAME]);
	lead_name = v[KL_ATTR_LEAD_NAME] ? strdup(v[KL_ATTR_LEAD_NAME])
					 : kl_str_printf("Заявка: %s", contact_name ? contact_name : "");
	if (!contact_name || !lead_name || !(item = cJSON_CreateObject())) {
		rc = kl_err_oom(err);
		goto out;
	}
	add_head(b, item, request_id, when);
	add_embedded(b, item, lead_name, contact_name);
	if (b->missing)
		rc = kl_err_set(err, KL_ESOFTWARE, "internal error: the lead has no %s", b->missing);
	else if (b->oom || !(*text = cJSON_PrintUnformatted(item)))
		rc = kl_err_oom(err);
out:
	cJSON_Delete(item);
	free(contact_name);
	free(lead_name);
	return rc;
}

int kl_payload_add(struct kl_payload *p, const struct kl_lead *lead, const struct kl_account *acct,
		   const char *request_id, long long now, kl_label_fn label, void *label_ctx,
		   struct kl_err *err)
{
	struct item it = {0};
	struct build b = {&it.origins, lead, acct, label, label_ctx, false, NULL};
	cJSON *raw = NULL;
	char *text = NULL;
	int rc;

	/* the caller's check (kl_lead_check_account) should have refused it */
	if ((rc = kl_lead_fits_account(lead, acct, label, label_ctx, err)))
		return rc;
	if (p->nitems == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 64;
		struct item *items = realloc(p->items, cap * sizeof *items);
		if (!items)
			return kl_err_oom(err);
		p->items = items;
		p->cap = cap;
	}
	if ((rc = print_item(&b, request_id, now, &text, err)))
		goto fail;
	if ((request_id && !(it.request_id = strdup(request_id))) || !(raw = cJSON_CreateRaw(text)) ||
	    !cJSON_AddItemToArray(p->array, raw)) {
		cJSON_Delete(raw);
		rc = kl_err_oom(err);
		goto fail;
	}
	free(text);
	p->items[p->nitems++] = it;
	return KL_OK;
fail:
	free(text);
	free(it.request_id);
	kl_buf_free(&it.origins);
	return rc;
}

/* The label noted for the part of item it that an item-relative path is in. */
static char *noted_label(const void *ctx, const char *path)
{
	return kl_payload_noted(&((const struct item *)ctx)->origins, path);
}

/* The position of the item sent with request_id rid; -1 when none was. */
static long rid_item(const struct kl_payload *p, const char *rid)
{
	for (size_t i = 0; rid && i < p->nitems; i++)
		if (p->items[i].request_id && strcmp(p->items[i].request_id, rid) == 0)
			return (long)i;
	return -1;
}

long kl_payload_error_item(const struct kl_payload *p, const struct kl_verror *e)
{
	return kl_errpath_item(e, p->nitems, rid_item(p, e->request_id));
}

char *kl_payload_origin(const void *payload, const struct kl_verror *e)
{
	const struct kl_payload *p = payload;
	long k = kl_payload_error_item(p, e);
	if (k < 0 && e->request_id)
		return kl_str_printf(rid_item(p, e->request_id) < 0
					     ? "no lead sent carries the request_id \"%s\" Kommo names"
					     : "the request_id \"%s\" and the path's index name two different leads",
				     e->request_id);
	if (k < 0)
		return strdup("no lead sent is at this path");
	/* kept as the text sent: read again only when Kommo refused it */
	cJSON *item = cJSON_Parse(cJSON_GetArrayItem(p->array, (int)k)->valuestring);
	char *name = item ? kl_errpath_name(item, (size_t)k, e, "the request", noted_label, &p->items[k]) : NULL;
	cJSON_Delete(item);
	return name;
}
