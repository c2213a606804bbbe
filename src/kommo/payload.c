#include "kommo/kl_payload.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/kl_str.h"

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

/* The items are written straight into one buffer, "[item,item", as cJSON's
 * compact printer would write them (tests/unit/test_payload.c holds the two
 * to the same bytes): a tree of nodes for each lead cost more than the rest
 * of an import's work per row. */
struct kl_payload {
	struct kl_buf json;
	struct item *items;
	size_t nitems, cap;
};

struct kl_payload *kl_payload_new(void)
{
	struct kl_payload *p = calloc(1, sizeof *p);
	if (p && kl_buf_append(&p->json, "[", 1)) {
		free(p);
		return NULL;
	}
	return p;
}

void kl_payload_free(struct kl_payload *p)
{
	if (!p)
		return;
	kl_buf_free(&p->json);
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
	char *s = malloc(p->json.len + 2);
	if (s) {
		memcpy(s, p->json.data, p->json.len);
		memcpy(s + p->json.len, "]", 2);
	}
	return s;
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

/* Writes one item; a failed append is out of memory, found at the end.
 * With notes, it also records where each part came from: the same code
 * writes the item and tells its origins, so the two cannot drift apart. */
struct build {
	struct kl_buf *out;
	struct origins *notes; /* NULL: not recorded (the usual case) */
	const struct kl_lead *lead;
	const struct kl_account *acct;
	kl_label_fn label;
	void *ctx;
	bool oom;
	const char *missing; /* a string that should have been there */
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

static void put(struct build *b, const char *s, size_t n)
{
	if (kl_buf_append(b->out, s, n))
		b->oom = true;
}

#define PUT(b, literal) put((b), (literal), sizeof(literal) - 1)

/* s as a JSON string, escaped exactly as cJSON escapes: '"', '\\' and the
 * C0 controls (\b \f \n \r \t by name, the others as \u00xx); everything
 * else, UTF-8 included, as it is. key names the member for a NULL s. */
static void put_string(struct build *b, const char *key, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	if (!s) {
		b->missing = key;
		return;
	}
	const char *run = s;
	PUT(b, "\"");
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		char e[6] = {'\\', (char)c, '0', '0', hex[c >> 4], hex[c & 15]};
		size_t n = 2;
		switch (c) {
		case '"': case '\\': break;
		case '\b': e[1] = 'b'; break;
		case '\f': e[1] = 'f'; break;
		case '\n': e[1] = 'n'; break;
		case '\r': e[1] = 'r'; break;
		case '\t': e[1] = 't'; break;
		default: e[1] = 'u'; n = 6; break;
		}
		put(b, run, (size_t)(s - run));
		put(b, e, n);
		run = s + 1;
	}
	put(b, run, (size_t)(s - run));
	PUT(b, "\"");
}

/* A member ',"key":' (without the comma when first). */
static void put_key(struct build *b, const char *key, bool first)
{
	if (!first)
		PUT(b, ",");
	PUT(b, "\"");
	put(b, key, strlen(key));
	PUT(b, "\":");
}

static void add_string(struct build *b, const char *key, bool first, const char *v)
{
	put_key(b, key, first);
	put_string(b, key, v);
}

/* digits as checked, never through a double */
static void add_raw_number(struct build *b, const char *key, bool first, const char *digits)
{
	put_key(b, key, first);
	put(b, digits, strlen(digits));
}

static void add_int(struct build *b, const char *key, bool first, unsigned long long v)
{
	char d[24], *e = d + sizeof d, *q = e;
	do /* by hand: snprintf was a tenth of a row's cost */
		*--q = (char)('0' + v % 10);
	while (v /= 10);
	put_key(b, key, first);
	put(b, q, (size_t)(e - q));
}

/* One custom_fields_values entry: by id when configured, else by code. */
static void cf_entry(struct build *b, bool first, unsigned long long id, const char *code,
		     const char *value, bool numeric)
{
	if (!first)
		PUT(b, ",");
	PUT(b, "{");
	if (id)
		add_int(b, "field_id", true, id);
	else
		add_string(b, "field_code", true, code);
	PUT(b, ",\"values\":[{");
	if (numeric)
		add_raw_number(b, "value", true, value);
	else
		add_string(b, "value", true, value);
	PUT(b, "}]}");
}

/* Writes the custom fields of one entity, if any; returns the status. */
static int add_custom_fields(struct build *b, enum kl_entity which, const char *prefix)
{
	char path[128], label[400], l[256];
	int n = 0;
	for (int a = 0; a < KL_ATTR_COUNT; a++) {
		const struct kl_attr_info *ai = kl_attr_info(a);
		const char *v = b->lead->v[a];
		if (!v || ai->entity != which)
			continue;
		unsigned long long id = b->acct->id[ai->cfg_key];
		if (kl_payload_needs_id(b->acct, a)) {
			label_of(b, a, l, sizeof l);
			return kl_err_set(b->err, KL_ECONFIG,
					  "%s needs the id of its Kommo field: set %s in the config file or the environment (kommo-lead.1 tells where to find it)",
					  l, kl_config_key_name(ai->cfg_key));
		}
		if (n == 0)
			PUT(b, ",\"custom_fields_values\":[");
		cf_entry(b, n == 0, id, ai->code, v, ai->kind == KL_KIND_NUMBER);
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
				return kl_err_set(b->err, KL_EDATA, "%s sets field %llu, which %s already sets",
						  c->label, c->id, l);
			}
		}
		for (size_t j = 0; j < i; j++)
			if (b->lead->custom[j].entity == which && b->lead->custom[j].id == c->id)
				return kl_err_set(b->err, KL_EDATA, "%s is given twice", c->label);
		if (n == 0)
			PUT(b, ",\"custom_fields_values\":[");
		cf_entry(b, n == 0, c->id, NULL, c->value, c->numeric);
		if (b->notes) {
			snprintf(path, sizeof path, "%s.custom_fields_values.%d", prefix, n);
			note(b, path, c->label);
		}
		n++;
	}
	if (n)
		PUT(b, "]");
	return KL_OK;
}

static void note_config(struct build *b, const char *path, enum kl_cfg_key key, const char *flag)
{
	char l[128];
	if (!b->notes)
		return;
	snprintf(l, sizeof l, "%s or %s", flag, kl_config_key_name(key));
	note(b, path, l);
}

/* Writes the item it describes at the end of out, noting its origins in
 * notes when not NULL. On failure out may hold part of it: the caller cuts
 * it off. */
static int build_item(const struct item *it, struct kl_buf *out, struct origins *notes,
		      struct kl_err *err)
{
	const struct kl_lead *lead = it->lead;
	const struct kl_account *acct = it->acct;
	struct build b = {out, notes, lead, acct, it->label, it->label_ctx, false, NULL, err};
	const char *const *v = (const char *const *)lead->v;
	long long when = lead->created_at ? lead->created_at : it->now;
	int rc = KL_OK;
	char *contact_name = NULL, *lead_name = NULL;

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

	PUT(&b, "{");
	add_string(&b, "source_uid", true, v[KL_ATTR_SOURCE_UID]);
	note_attr(&b, "source_uid", KL_ATTR_SOURCE_UID);
	add_string(&b, "source_name", false, acct->source_name);
	note_config(&b, "source_name", KL_CFG_SOURCE_NAME, "--source-name");
	if (acct->pipeline_id) {
		add_int(&b, "pipeline_id", false, acct->pipeline_id);
		note_config(&b, "pipeline_id", KL_CFG_PIPELINE_ID, "--pipeline");
	}
	add_int(&b, "created_at", false, (unsigned long long)when);
	if (it->request_id)
		add_string(&b, "request_id", false, it->request_id);

	PUT(&b, ",\"metadata\":{");
	add_string(&b, "form_id", true, acct->form_id);
	note_config(&b, "metadata.form_id", KL_CFG_FORM_ID, "--form-id");
	add_string(&b, "form_name", false, acct->form_name);
	note_config(&b, "metadata.form_name", KL_CFG_FORM_NAME, "--form-name");
	if (acct->form_page) {
		add_string(&b, "form_page", false, acct->form_page);
		note_config(&b, "metadata.form_page", KL_CFG_FORM_PAGE, "--form-page");
	}
	add_int(&b, "form_sent_at", false, (unsigned long long)when);
	if (v[KL_ATTR_REFERER]) {
		add_string(&b, "referer", false, v[KL_ATTR_REFERER]);
		note_attr(&b, "metadata.referer", KL_ATTR_REFERER);
	}

	PUT(&b, "},\"_embedded\":{\"leads\":[{");
	add_string(&b, "name", true, lead_name);
	note_attr(&b, "_embedded.leads.0.name", KL_ATTR_LEAD_NAME);
	add_raw_number(&b, "price", false, v[KL_ATTR_PRICE] ? v[KL_ATTR_PRICE] : "0");
	note_attr(&b, "_embedded.leads.0.price", KL_ATTR_PRICE);
	if ((rc = add_custom_fields(&b, KL_ENTITY_LEAD, "_embedded.leads.0")))
		goto out;

	PUT(&b, "}],\"contacts\":[{");
	add_string(&b, "name", true, contact_name);
	note_attr(&b, "_embedded.contacts.0.name", KL_ATTR_NAME);
	add_string(&b, "first_name", false, v[KL_ATTR_NAME]);
	note_attr(&b, "_embedded.contacts.0.first_name", KL_ATTR_NAME);
	if (v[KL_ATTR_LAST_NAME]) {
		add_string(&b, "last_name", false, v[KL_ATTR_LAST_NAME]);
		note_attr(&b, "_embedded.contacts.0.last_name", KL_ATTR_LAST_NAME);
	}
	if ((rc = add_custom_fields(&b, KL_ENTITY_CONTACT, "_embedded.contacts.0")))
		goto out;
	PUT(&b, "}]}}");

	if (b.missing)
		rc = kl_err_set(err, KL_ESOFTWARE, "internal error: the lead has no %s", b.missing);
	else if (b.oom)
		rc = kl_err_oom(err);
out:
	free(contact_name);
	free(lead_name);
	return rc;
}

int kl_payload_add(struct kl_payload *p, const struct kl_lead *lead, const struct kl_account *acct,
		   const char *request_id, long long now, kl_label_fn label, void *label_ctx,
		   struct kl_err *err)
{
	struct item it = {NULL, lead, acct, now, label, label_ctx};
	size_t len = p->json.len;
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
	if (p->nitems && kl_buf_append(&p->json, ",", 1)) {
		free(it.request_id);
		return kl_err_oom(err);
	}
	if ((rc = build_item(&it, &p->json, NULL, err))) {
		free(it.request_id);
		p->json.len = len; /* the item is cut off whole */
		p->json.data[len] = '\0';
		return rc;
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
		struct kl_buf scratch = {0};
		if (!it->request_id || strcmp(it->request_id, request_id) != 0)
			continue;
		int rc = build_item(it, &scratch, &notes, &err);
		kl_buf_free(&scratch);
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
