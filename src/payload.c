#include "kl_payload.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kl_str.h"

/* What an item was built from: enough to build it again. */
struct item {
	char *request_id; /* NULL when none */
	const struct kl_lead *lead;
	const struct kl_account *acct;
	long long now;
	kl_label_fn label;
	void *label_ctx;
};

/* Where one part of an item came from. */
struct origin {
	char *path;  /* from the item: "_embedded.contacts.0.custom_fields_values.1" */
	char *label; /* "--email (field code EMAIL)" */
};

struct origins {
	struct origin *o;
	size_t n, cap;
};

struct kl_payload {
	cJSON *array;
	struct item *items;
	size_t nitems, cap;
};

struct kl_payload *kl_payload_new(void)
{
	struct kl_payload *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	if (!(p->array = cJSON_CreateArray())) {
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
	for (size_t i = 0; i < p->nitems; i++)
		free(p->items[i].request_id);
	free(p->items);
	free(p);
}

bool kl_payload_needs_id(const struct kl_account *acct, enum kl_attr a)
{
	const struct kl_attr_info *ai = kl_attr_info(a);
	return ai->entity != KL_ENTITY_NONE && !ai->code && !acct->id[ai->cfg_key];
}

size_t kl_payload_count(const struct kl_payload *p)
{
	return p->nitems;
}

char *kl_payload_render(const struct kl_payload *p)
{
	return cJSON_PrintUnformatted(p->array);
}

static void origins_free(struct origins *os)
{
	for (size_t i = 0; i < os->n; i++) {
		free(os->o[i].path);
		free(os->o[i].label);
	}
	free(os->o);
}

static int remember(struct origins *os, const char *path, const char *label)
{
	if (os->n == os->cap) {
		size_t cap = os->cap ? os->cap * 2 : 32;
		struct origin *o = realloc(os->o, cap * sizeof *o);
		if (!o)
			return -1;
		os->o = o;
		os->cap = cap;
	}
	struct origin *o = &os->o[os->n];
	o->path = kl_str_dup(path);
	o->label = kl_str_dup(label);
	if (!o->path || !o->label) {
		free(o->path);
		free(o->label);
		return -1;
	}
	os->n++;
	return 0;
}

/* Builds one item; any NULL from cJSON is out of memory, found at the end.
 * With notes, it also records where each part came from: the same code
 * builds the item and tells its origins, so the two cannot drift apart. */
struct build {
	struct origins *notes; /* NULL: not recorded (the usual case) */
	const struct kl_lead *lead;
	const struct kl_account *acct;
	kl_label_fn label;
	void *ctx;
	bool oom;
	struct kl_err *err;
};

static void label_of(struct build *b, enum kl_attr a, char *buf, size_t size)
{
	if (b->label)
		b->label(b->ctx, a, buf, size);
	else
		snprintf(buf, size, "%s", kl_attr_info(a)->flag);
}

static void note(struct build *b, const char *path, const char *label)
{
	if (b->notes && remember(b->notes, path, label))
		b->oom = true;
}

static void note_attr(struct build *b, const char *path, enum kl_attr a)
{
	char l[256];
	if (!b->notes)
		return;
	label_of(b, a, l, sizeof l);
	note(b, path, l);
}

static cJSON *add_string(struct build *b, cJSON *obj, const char *key, const char *v)
{
	cJSON *s = cJSON_AddStringToObject(obj, key, v);
	if (!s)
		b->oom = true;
	return s;
}

static void add_raw_number(struct build *b, cJSON *obj, const char *key, const char *digits)
{
	/* raw, so the number goes out exactly as checked, never through a double */
	if (!cJSON_AddRawToObject(obj, key, digits))
		b->oom = true;
}

static void add_int(struct build *b, cJSON *obj, const char *key, unsigned long long v)
{
	char d[32];
	snprintf(d, sizeof d, "%llu", v);
	add_raw_number(b, obj, key, d);
}

/* One custom_fields_values entry: by id when configured, else by code. */
static cJSON *cf_entry(struct build *b, cJSON *list, unsigned long long id, const char *code,
		       const char *value, bool numeric)
{
	cJSON *e = cJSON_CreateObject();
	if (!e || !cJSON_AddItemToArray(list, e)) {
		cJSON_Delete(e);
		b->oom = true;
		return NULL;
	}
	if (id)
		add_int(b, e, "field_id", id);
	else
		add_string(b, e, "field_code", code);
	cJSON *values = cJSON_AddArrayToObject(e, "values");
	cJSON *v = cJSON_CreateObject();
	if (!values || !v || !cJSON_AddItemToArray(values, v)) {
		cJSON_Delete(v);
		b->oom = true;
		return NULL;
	}
	if (numeric)
		add_raw_number(b, v, "value", value);
	else
		add_string(b, v, "value", value);
	return e;
}

/* Adds the custom fields of one entity; returns the status. */
static int add_custom_fields(struct build *b, cJSON *entity, enum kl_entity which,
			     const char *prefix)
{
	cJSON *list = cJSON_CreateArray();
	char path[128], label[400], l[256];
	int n = 0;
	if (!list) {
		b->oom = true;
		return KL_OK;
	}
	for (int a = 0; a < KL_ATTR_COUNT; a++) {
		const struct kl_attr_info *ai = kl_attr_info(a);
		const char *v = b->lead->v[a];
		if (!v || ai->entity != which)
			continue;
		unsigned long long id = b->acct->id[ai->cfg_key];
		if (kl_payload_needs_id(b->acct, a)) {
			label_of(b, a, l, sizeof l);
			cJSON_Delete(list);
			return kl_err_set(b->err, KL_ECONFIG,
					  "%s needs the id of its Kommo field: set %s in the config file or the environment (kommo-lead.1 tells where to find it)",
					  l, kl_config_key_name(ai->cfg_key));
		}
		cf_entry(b, list, id, ai->code, v, ai->kind == KL_KIND_NUMBER);
		if (b->notes) {
			snprintf(path, sizeof path, "%s.custom_fields_values.%d", prefix, n);
			label_of(b, a, l, sizeof l);
			if (id)
				snprintf(label, sizeof label, "%s (field %llu)", l, id);
			else
				snprintf(label, sizeof label, "%s (field code %s)", l, ai->code);
			note(b, path, label);
		}
		n++;
	}
	for (size_t i = 0; i < b->lead->ncustom; i++) {
		const struct kl_custom *c = &b->lead->custom[i];
		if (c->entity != which)
			continue;
		/* a field sent twice would make Kommo keep one value at random */
		for (int a = 0; a < KL_ATTR_COUNT; a++) {
			const struct kl_attr_info *ai = kl_attr_info(a);
			if (b->lead->v[a] && ai->entity == which && b->acct->id[ai->cfg_key] == c->id) {
				label_of(b, a, l, sizeof l);
				cJSON_Delete(list);
				return kl_err_set(b->err, KL_EDATA, "%s sets field %llu, which %s already sets",
						  c->label, c->id, l);
			}
		}
		for (size_t j = 0; j < i; j++)
			if (b->lead->custom[j].entity == which && b->lead->custom[j].id == c->id) {
				cJSON_Delete(list);
				return kl_err_set(b->err, KL_EDATA, "%s is given twice", c->label);
			}
		cf_entry(b, list, c->id, NULL, c->value, c->numeric);
		if (b->notes) {
			snprintf(path, sizeof path, "%s.custom_fields_values.%d", prefix, n);
			note(b, path, c->label);
		}
		n++;
	}
	if (n == 0)
		cJSON_Delete(list);
	else if (!cJSON_AddItemToObject(entity, "custom_fields_values", list)) {
		cJSON_Delete(list);
		b->oom = true;
	}
	return KL_OK;
}

static cJSON *add_entity(struct build *b, cJSON *embedded, const char *key)
{
	cJSON *arr = cJSON_AddArrayToObject(embedded, key);
	cJSON *e = cJSON_CreateObject();
	if (!arr || !e || !cJSON_AddItemToArray(arr, e)) {
		cJSON_Delete(e);
		b->oom = true;
		return NULL;
	}
	return e;
}

static void note_config(struct build *b, const char *path, enum kl_cfg_key key, const char *flag)
{
	char l[128];
	if (!b->notes)
		return;
	snprintf(l, sizeof l, "%s or %s", flag, kl_config_key_name(key));
	note(b, path, l);
}

/* Builds the item it describes into *out (the caller's), recording its
 * origins in notes when not NULL. */
static int build_item(const struct item *it, struct origins *notes, cJSON **out,
		      struct kl_err *err)
{
	const struct kl_lead *lead = it->lead;
	const struct kl_account *acct = it->acct;
	const char *request_id = it->request_id;
	struct build b = {notes, lead, acct, it->label, it->label_ctx, false, err};
	const char *const *v = (const char *const *)lead->v;
	long long when = lead->created_at ? lead->created_at : it->now;
	int rc = KL_OK;
	char *contact_name = NULL, *lead_name = NULL;

	cJSON *item = cJSON_CreateObject();
	if (!item)
		return kl_err_oom(err);

	if (v[KL_ATTR_LAST_NAME])
		contact_name = kl_str_printf("%s %s", v[KL_ATTR_NAME], v[KL_ATTR_LAST_NAME]);
	else
		contact_name = kl_str_dup(v[KL_ATTR_NAME]);
	lead_name = v[KL_ATTR_LEAD_NAME] ? kl_str_dup(v[KL_ATTR_LEAD_NAME])
					 : kl_str_printf("Заявка: %s", contact_name ? contact_name : "");
	if (!contact_name || !lead_name) {
		rc = kl_err_oom(err);
		goto out;
	}

	add_string(&b, item, "source_uid", v[KL_ATTR_SOURCE_UID]);
	note_attr(&b, "source_uid", KL_ATTR_SOURCE_UID);
	add_string(&b, item, "source_name", acct->source_name);
	note_config(&b, "source_name", KL_CFG_SOURCE_NAME, "--source-name");
	if (acct->pipeline_id) {
		add_int(&b, item, "pipeline_id", acct->pipeline_id);
		note_config(&b, "pipeline_id", KL_CFG_PIPELINE_ID, "--pipeline");
	}
	add_int(&b, item, "created_at", (unsigned long long)when);
	if (request_id)
		add_string(&b, item, "request_id", request_id);

	cJSON *meta = cJSON_AddObjectToObject(item, "metadata");
	if (!meta) {
		b.oom = true;
		goto check;
	}
	add_string(&b, meta, "form_id", acct->form_id);
	note_config(&b, "metadata.form_id", KL_CFG_FORM_ID, "--form-id");
	add_string(&b, meta, "form_name", acct->form_name);
	note_config(&b, "metadata.form_name", KL_CFG_FORM_NAME, "--form-name");
	if (acct->form_page) {
		add_string(&b, meta, "form_page", acct->form_page);
		note_config(&b, "metadata.form_page", KL_CFG_FORM_PAGE, "--form-page");
	}
	add_int(&b, meta, "form_sent_at", (unsigned long long)when);
	if (v[KL_ATTR_REFERER]) {
		add_string(&b, meta, "referer", v[KL_ATTR_REFERER]);
		note_attr(&b, "metadata.referer", KL_ATTR_REFERER);
	}

	cJSON *embedded = cJSON_AddObjectToObject(item, "_embedded");
	if (!embedded) {
		b.oom = true;
		goto check;
	}
	cJSON *l = add_entity(&b, embedded, "leads");
	if (l) {
		add_string(&b, l, "name", lead_name);
		note_attr(&b, "_embedded.leads.0.name", KL_ATTR_LEAD_NAME);
		add_raw_number(&b, l, "price", v[KL_ATTR_PRICE] ? v[KL_ATTR_PRICE] : "0");
		note_attr(&b, "_embedded.leads.0.price", KL_ATTR_PRICE);
		if ((rc = add_custom_fields(&b, l, KL_ENTITY_LEAD, "_embedded.leads.0")))
			goto out;
	}
	cJSON *c = add_entity(&b, embedded, "contacts");
	if (c) {
		add_string(&b, c, "name", contact_name);
		note_attr(&b, "_embedded.contacts.0.name", KL_ATTR_NAME);
		add_string(&b, c, "first_name", v[KL_ATTR_NAME]);
		note_attr(&b, "_embedded.contacts.0.first_name", KL_ATTR_NAME);
		if (v[KL_ATTR_LAST_NAME]) {
			add_string(&b, c, "last_name", v[KL_ATTR_LAST_NAME]);
			note_attr(&b, "_embedded.contacts.0.last_name", KL_ATTR_LAST_NAME);
		}
		if ((rc = add_custom_fields(&b, c, KL_ENTITY_CONTACT, "_embedded.contacts.0")))
			goto out;
	}
check:
	if (b.oom) {
		rc = kl_err_oom(err);
		goto out;
	}
	*out = item;
	item = NULL;
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
	struct item it = {NULL, lead, acct, now, label, label_ctx};
	cJSON *item = NULL;
	int rc;
	if (p->nitems == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 64;
		struct item *items = realloc(p->items, cap * sizeof *items);
		if (!items)
			return kl_err_oom(err);
		p->items = items;
		p->cap = cap;
	}
	if (request_id && !(it.request_id = kl_str_dup(request_id)))
		return kl_err_oom(err);
	if ((rc = build_item(&it, NULL, &item, err))) {
		free(it.request_id);
		return rc;
	}
	if (!cJSON_AddItemToArray(p->array, item)) {
		cJSON_Delete(item);
		free(it.request_id);
		return kl_err_oom(err);
	}
	p->items[p->nitems++] = it;
	return KL_OK;
}

/* True when prefix is path itself or path continues it after a '.'. */
static bool path_starts(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);
	return strncmp(path, prefix, n) == 0 && (path[n] == '\0' || path[n] == '.');
}

/* The part of an item path inside its embedded entity, or NULL. */
static const char *entity_relative(const char *path)
{
	static const char *const pre[] = {"_embedded.leads.0.", "_embedded.contacts.0."};
	for (size_t i = 0; i < 2; i++)
		if (strncmp(path, pre[i], strlen(pre[i])) == 0)
			return path + strlen(pre[i]);
	return NULL;
}

char *kl_payload_origin(const struct kl_payload *p, const char *request_id, const char *path)
{
	struct origins notes = {0};
	struct kl_buf out = {0};
	const char *found[8];
	size_t nfound = 0;

	if (!request_id || !path)
		return NULL;
	/* the items are built again, this time telling where each part came from */
	for (size_t i = 0; i < p->nitems; i++) {
		const struct item *it = &p->items[i];
		struct kl_err err = {0};
		cJSON *item = NULL;
		if (!it->request_id || strcmp(it->request_id, request_id) != 0)
			continue;
		int rc = build_item(it, &notes, &item, &err);
		cJSON_Delete(item);
		if (rc) {
			origins_free(&notes);
			return NULL;
		}
	}
	for (int pass = 0; pass < 2 && nfound == 0; pass++) {
		for (size_t i = 0; i < notes.n && nfound < 8; i++) {
			const struct origin *o = &notes.o[i];
			/* pass 0: paths from the item; pass 1: from inside an entity */
			const char *mine = pass == 0 ? o->path : entity_relative(o->path);
			if (!mine || !path_starts(path, mine))
				continue;
			bool dup = false;
			for (size_t j = 0; j < nfound; j++)
				dup = dup || strcmp(found[j], o->label) == 0;
			if (!dup)
				found[nfound++] = o->label;
		}
	}
	for (size_t j = 0; j < nfound; j++)
		if (kl_buf_appendf(&out, "%s%s", j ? " or " : "", found[j])) {
			kl_buf_free(&out);
			break;
		}
	origins_free(&notes);
	return out.data;
}
