#include "kommo/kl_errpath.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kommo/kl_reply.h"
#include "util/kl_str.h"

bool kl_errpath_starts(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);
	return strncmp(path, prefix, n) == 0 && (n == 0 || path[n] == '\0' || path[n] == '.');
}

/* The rest of p after a leading "data" (the request's body), or NULL. */
static const char *after_data(const char *p)
{
	return kl_errpath_starts(p, "data") ? p + 4 + (p[4] == '.') : NULL;
}

/* A leading item index of p ("8" or "8.rest"): true with *idx and *rest. */
static bool leading_index(const char *p, unsigned long *idx, const char **rest)
{
	char *end;
	if (!isdigit((unsigned char)*p))
		return false;
	*idx = strtoul(p, &end, 10);
	if (*end != '\0' && *end != '.')
		return false;
	*rest = end + (*end == '.');
	return true;
}

long kl_errpath_item(const struct kl_verror *e, size_t n, long by_rid)
{
	const char *path = e->path ? e->path : "", *d = after_data(path), *rest;
	unsigned long idx;
	bool indexed = leading_index(d ? d : path, &idx, &rest); /* "8." or "data.8." */
	if (e->request_id && by_rid < 0)
		return -1; /* a request_id not sent names no item, whatever the path says */
	if (by_rid >= 0)
		return indexed && idx != (unsigned long)by_rid ? -1 : by_rid; /* two items named: neither */
	if (indexed)
		return idx < n ? (long)idx : -1;
	return n == 1 ? 0 : -1;
}

/* The child of node that one segment (seg, len bytes) names: a key of an
 * object, an index of an array; NULL when there is none. */
static const cJSON *child(const cJSON *node, const char *seg, size_t len)
{
	char key[128];
	if (len >= sizeof key)
		return NULL;
	memcpy(key, seg, len);
	key[len] = '\0';
	if (cJSON_IsObject(node))
		return cJSON_GetObjectItemCaseSensitive(node, key);
	if (cJSON_IsArray(node) && len > 0 && len < 9 && strspn(key, "0123456789") == len)
		return cJSON_GetArrayItem(node, atoi(key));
	return NULL;
}

/* How far path goes into node: returns the number of its segments that
 * land, *segs its number of segments, *at the deepest node reached. */
static size_t walk(const cJSON *node, const char *path, size_t *segs, const cJSON **at)
{
	size_t landed = 0;
	*segs = 0;
	*at = node;
	if (!*path)
		return 0; /* the item itself */
	for (const char *p = path;; p++) {
		size_t len = strcspn(p, ".");
		const cJSON *next = node ? child(node, p, len) : NULL;
		++*segs;
		if (next) {
			landed++;
			*at = next;
		}
		node = next;
		p += len;
		if (!*p)
			return landed;
	}
}

/* A number of characters or elements in a detail, and which way it bounds:
 * Symfony's "It should have 256 characters or less.", "This collection
 * should contain 1 element or more."; false when the detail gives none. */
static bool detail_bound(const char *d, unsigned long *limit, int *way)
{
	const char *s = strstr(d, "should have ");
	if (!s)
		s = strstr(d, "should contain ");
	if (!s)
		return false;
	s = strchr(s, ' ') + 1;
	s = strchr(s, ' ') + 1;
	if (!isdigit((unsigned char)*s))
		return false;
	*limit = strtoul(s, NULL, 10);
	*way = strstr(s, "or less") ? 1 : strstr(s, "or more") ? -1 : 0;
	return true;
}

/* True when v is of the type an InvalidType detail names ("This value
 * should be of type int."); true as well for a type not known here. */
static bool of_type(const cJSON *v, const char *t)
{
	size_t n = strspn(t, "abcdefghijklmnopqrstuvwxyz");
#define IS(name) (n == sizeof name - 1 && strncmp(t, name, n) == 0)
	if (IS("string"))
		return cJSON_IsString(v);
	if (IS("int") || IS("integer"))
		return cJSON_IsNumber(v) && v->valuedouble == (double)(long long)v->valuedouble;
	if (IS("number") || IS("numeric") || IS("float") || IS("double"))
		return cJSON_IsNumber(v);
	if (IS("bool") || IS("boolean"))
		return cJSON_IsBool(v);
	if (IS("array"))
		return cJSON_IsArray(v);
	if (IS("object"))
		return cJSON_IsObject(v);
#undef IS
	return false;
}

/* Whether what was sent (v; NULL when absent) can be what e refuses: an
 * error that says nothing checkable fits anything present. */
static bool fits(const struct kl_verror *e, const cJSON *v)
{
	const char *code = e->code ? e->code : "", *d = e->detail ? e->detail : "", *t;
	unsigned long limit;
	int way;
	if (strcmp(code, "FieldMissing") == 0) {
		if (!v || cJSON_IsNull(v))
			return true;
		if (!cJSON_IsString(v))
			return false;
		for (t = v->valuestring; *t && isspace((unsigned char)*t); t++)
			;
		return *t == '\0';
	}
	if (!v)
		return false;
	if (strcmp(code, "InvalidType") == 0 && (t = strstr(d, "of type ")))
		return !of_type(v, t + 8);
	if (strcmp(code, "InvalidLength") == 0 && detail_bound(d, &limit, &way)) {
		unsigned long len;
		if (cJSON_IsString(v))
			len = (unsigned long)kl_str_width(v->valuestring);
		else if (cJSON_IsArray(v))
			len = (unsigned long)cJSON_GetArraySize(v);
		else
			return true;
		return way > 0 ? len > limit : way < 0 ? len < limit : len != limit;
	}
	return true;
}

#define MAX_READINGS 12 /* 4 ways to strip a prefix, from the item and from 2 entities */

struct readings {
	size_t n;
	char *path[MAX_READINGS]; /* relative to the item */
	int score[MAX_READINGS];
	bool entity[MAX_READINGS]; /* read inside an embedded entity */
};

static void readings_free(struct readings *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->path[i]);
	r->n = 0;
}

/* Scores one reading (anchor + base): 3 when it lands on something the
 * error fits, or names an absent key a FieldMissing fits; 2 when it lands
 * on something the error does not fit; 1 when only its last key is absent;
 * 0 when it does not land. */
static int score_of(const cJSON *item, const struct kl_verror *e, const char *full, size_t anchor_segs)
{
	size_t segs;
	const cJSON *at;
	size_t landed = walk(item, full, &segs, &at);
	if (landed == segs)
		return fits(e, at) ? 3 : 2;
	if (landed + 1 == segs && landed >= anchor_segs && (cJSON_IsObject(at) || cJSON_IsArray(at)))
		return fits(e, NULL) ? 3 : 1;
	return 0;
}

/* Adds the reading of base from anchor (an entity's path, "" for the item). */
static int add_reading(struct readings *r, const cJSON *item, const struct kl_verror *e, const char *anchor,
		       const char *base)
{
	size_t anchor_segs = *anchor != '\0';
	for (const char *c = anchor; *c; c++)
		anchor_segs += *c == '.';
	if (*anchor && !*base)
		return 0; /* the entity itself is no reading of a path to the item */
	char *full = *anchor ? kl_str_printf("%s.%s", anchor, base) : strdup(base);
	if (!full)
		return -1;
	int score = score_of(item, e, full, anchor_segs);
	for (size_t i = 0; score && i < r->n; i++)
		if (strcmp(r->path[i], full) == 0)
			score = 0; /* read so already */
	if (!score || r->n == MAX_READINGS) {
		free(full);
		return 0;
	}
	r->path[r->n] = full;
	r->score[r->n] = score;
	r->entity[r->n++] = *anchor != '\0';
	return 0;
}

/* Every reading of e's path against item (sent at position index), the
 * best kept: the highest score, and of those the item's own readings when
 * there are any. -1 when memory ran out. */
static int read_path(const cJSON *item, size_t index, const struct kl_verror *e, struct readings *r)
{
	static const char *const anchors[] = {"", "_embedded.leads.0", "_embedded.contacts.0"};
	const char *base[4], *rest, *path = e->path ? e->path : "";
	size_t nbase = 0;
	unsigned long idx;
	base[nbase++] = path;
	const char *d = after_data(path);
	if (d)
		base[nbase++] = d;
	if (leading_index(path, &idx, &rest) && idx == index)
		base[nbase++] = rest;
	if (d && leading_index(d, &idx, &rest) && idx == index)
		base[nbase++] = rest;
	r->n = 0;
	for (size_t a = 0; a < sizeof anchors / sizeof *anchors; a++)
		for (size_t b = 0; b < nbase; b++)
			if (add_reading(r, item, e, anchors[a], base[b])) {
				readings_free(r);
				return -1;
			}
	int best = 0;
	bool own = false;
	for (size_t i = 0; i < r->n; i++)
		best = r->score[i] > best ? r->score[i] : best;
	for (size_t i = 0; i < r->n; i++)
		own = own || (r->score[i] == best && !r->entity[i]);
	size_t k = 0;
	for (size_t i = 0; i < r->n; i++) {
		if (r->score[i] == best && (!own || !r->entity[i])) {
			r->path[k] = r->path[i];
			r->score[k] = r->score[i];
			r->entity[k++] = r->entity[i];
		} else {
			free(r->path[i]);
		}
	}
	r->n = k;
	return 0;
}

/* A value as the message shows it: a string quoted (and its length when
 * cut), anything else as compact JSON, cut past 60 bytes. */
static char *value_text(const cJSON *v)
{
	if (cJSON_IsString(v)) {
		char q[512];
		size_t w = kl_str_width(v->valuestring);
		kl_str_quote(v->valuestring, q, sizeof q);
		return w > 60 ? kl_str_printf("%s (%zu characters)", q, w) : strdup(q);
	}
	char *t = cJSON_PrintUnformatted(v);
	size_t n = t ? strlen(t) : 0;
	if (n > 60) {
		n = 60;
		while (n && ((unsigned char)t[n] & 0xC0) == 0x80)
			n--; /* not inside a UTF-8 sequence */
		memcpy(t + n, "...", 4);
	}
	return t;
}

/* "field 488804", "field code PHONE": the custom field an entry is. */
static void field_text(const cJSON *entry, char *buf, size_t size)
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(entry, "field_id");
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(entry, "field_code");
	char q[128];
	if (cJSON_IsNumber(id))
		snprintf(buf, size, "field %.0f", id->valuedouble);
	else if (cJSON_IsString(code))
		snprintf(buf, size, "field code %s", kl_str_quote(code->valuestring, q, sizeof q));
	else
		snprintf(buf, size, "a field");
}

/* Where a walk through an item stands, in words. */
struct place {
	const char *owner;  /* the item's name, "the lead" or "the contact" */
	const char *part;   /* "custom fields", "metadata", "tags"; NULL: the owner itself */
	const cJSON *field; /* the custom field entry walked into */
	bool in_values;     /* below that field's values */
};

enum last_step { AT_ITEM, AT_OWNER, AT_PART, AT_FIELD, AT_ELEMENT, AT_KEY, AT_MISSING };

/* One step from node (an array reached by key, or an object) to next by seg. */
static enum last_step step(struct place *pl, const cJSON *node, const char *key, const char *seg,
			   const cJSON *next)
{
	static const char *const parts[][2] = {
		{"custom_fields_values", "custom fields"}, {"metadata", "metadata"}, {"tags", "tags"}};
	if (cJSON_IsArray(node)) {
		if (strcmp(key, "leads") == 0 || strcmp(key, "contacts") == 0) {
			*pl = (struct place){key[0] == 'l' ? "the lead" : "the contact", NULL, NULL, false};
			return AT_OWNER;
		}
		if (strcmp(key, "custom_fields_values") == 0) {
			pl->field = next;
			pl->in_values = false;
			return AT_FIELD;
		}
		return AT_ELEMENT;
	}
	for (size_t i = 0; i < sizeof parts / sizeof *parts; i++)
		if (strcmp(seg, parts[i][0]) == 0) {
			pl->part = parts[i][1];
			pl->field = NULL;
			return AT_PART;
		}
	pl->in_values = pl->in_values || (pl->field && strcmp(seg, "values") == 0);
	return AT_KEY;
}

char *kl_errpath_describe(const cJSON *item, const char *path, const char *item_name)
{
	struct place pl = {item_name, NULL, NULL, false};
	enum last_step last = AT_ITEM;
	const cJSON *node = item;
	char key[128] = "", seg[128] = "", where[160], field[160] = "", *v = NULL, *out;
	for (const char *p = path; *p; p += strcspn(p, ".") + (p[strcspn(p, ".")] == '.')) {
		size_t len = strcspn(p, ".");
		snprintf(seg, sizeof seg, "%.*s", (int)len, p);
		const cJSON *next = child(node, p, len);
		if (!next) {
			last = AT_MISSING;
			break;
		}
		last = step(&pl, node, key, seg, next);
		if (!cJSON_IsArray(node))
			snprintf(key, sizeof key, "%s", seg); /* the name of the array next may be */
		node = next;
	}
	if (pl.part)
		snprintf(where, sizeof where, "%s's %s", pl.owner, pl.part);
	else
		snprintf(where, sizeof where, "%s", pl.owner);
	if (pl.field) {
		char f[128];
		field_text(pl.field, f, sizeof f);
		snprintf(field, sizeof field, " of %s", f);
	}
	if (last == AT_ITEM || last == AT_OWNER || last == AT_PART)
		return strdup(last == AT_ITEM ? item_name : last == AT_OWNER ? pl.owner : where);
	if (last == AT_FIELD)
		return kl_str_printf("%s in %s", field + 4, where);
	if (last == AT_MISSING)
		return kl_str_printf("no %s%s in %s", seg, field, where);
	if (!(v = value_text(node)))
		return NULL;
	if (last == AT_ELEMENT)
		out = kl_str_printf("%s%s in %s", v, field, where);
	else
		out = kl_str_printf("%s %s%s in %s", seg, v, pl.in_values ? field : "", where);
	free(v);
	return out;
}

/* What is missing when Kommo refuses an id the account does not have (its
 * NotSupportedChoice on it), by the key it was sent under, and *tail, what
 * lists the ids to choose from: the one place these hints are written, for
 * the crm commands and the unsorted payload alike. NULL when path is no
 * such id or memory ran out. */
static char *choice_hint(const cJSON *item, const char *path, const char *item_name, const char **tail)
{
	const char *dot = strrchr(path, '.'), *key = dot ? dot + 1 : path;
	char parent[256];
	size_t segs;
	const cJSON *at, *up = item;
	if (walk(item, path, &segs, &at) != segs || !segs || cJSON_IsArray(at) || cJSON_IsObject(at))
		return NULL;
	if (dot && (size_t)(dot - path) < sizeof parent) {
		snprintf(parent, sizeof parent, "%.*s", (int)(dot - path), path);
		if (walk(item, parent, &segs, &up) != segs)
			up = NULL;
	}
	const cJSON *pipeline = cJSON_GetObjectItemCaseSensitive(up, "pipeline_id");
	bool contact = strstr(path, "_embedded.contacts.") ||
		       (!strstr(path, "_embedded.leads.") && item_name && strstr(item_name, "contact"));
	char *v = value_text(at), *hint = NULL;
	*tail = "kommo-lead fields lists them";
	if (!v)
		return NULL;
	if (strcmp(key, "field_id") == 0) {
		hint = kl_str_printf("no %s field %s", contact ? "contact" : "lead", v);
	} else if (strcmp(key, "status_id") == 0) {
		*tail = "kommo-lead fields lists the pipelines and their statuses";
		hint = cJSON_IsNumber(pipeline) ? kl_str_printf("no status %s in pipeline %.0f", v, pipeline->valuedouble)
						: kl_str_printf("no status %s in the lead's pipeline", v);
	} else if (strcmp(key, "pipeline_id") == 0) {
		*tail = "kommo-lead fields lists the pipelines";
		hint = kl_str_printf("no pipeline %s", v);
	} else if (strcmp(key, "responsible_user_id") == 0 || strcmp(key, "created_by") == 0) {
		*tail = "Kommo's account settings list the users";
		hint = kl_str_printf("no user %s", v);
	} else if (strcmp(key, "id") == 0 && contact && !strstr(path, "custom_fields_values")) {
		*tail = "kommo-lead contacts search finds a contact's id";
		hint = kl_str_printf("no contact %s", v);
	}
	free(v);
	return hint;
}

/* Adds what choice_hint says of one reading to hints ("no lead field 1 or
 * no contact field 2") and its tail to tails, once each; -1 when memory ran
 * out. */
static int add_hint(const cJSON *item, const char *path, const char *item_name, struct kl_buf *hints,
		    const char **tails, size_t *ntails)
{
	const char *tail = NULL;
	char *h = choice_hint(item, path, item_name, &tail);
	int fail = h && kl_buf_appendf(hints, "%s%s", hints->len ? " or " : "", h);
	bool seen = false;
	for (size_t i = 0; h && i < *ntails; i++)
		seen = seen || tails[i] == tail;
	if (h && !seen)
		tails[(*ntails)++] = tail;
	free(h);
	return fail ? -1 : 0;
}

char *kl_errpath_name(const cJSON *item, size_t index, const struct kl_verror *e, const char *item_name,
		      kl_errpath_label_fn label, const void *ctx)
{
	struct readings r;
	char *names[MAX_READINGS];
	const char *tails[MAX_READINGS];
	struct kl_buf out = {0}, hints = {0};
	bool oom = false, choice = e->code && strcmp(e->code, "NotSupportedChoice") == 0;
	size_t k = 0, ntails = 0;
	if (read_path(item, index, e, &r))
		return NULL;
	if (r.n == 0)
		return strdup("nothing sent is at this path");
	for (size_t i = 0; i < r.n && !oom; i++) {
		char *s = label ? label(ctx, r.path[i]) : NULL;
		if (!s && !(s = kl_errpath_describe(item, r.path[i], item_name))) {
			oom = true;
			break;
		}
		bool dup = false;
		for (size_t j = 0; j < k; j++)
			dup = dup || strcmp(names[j], s) == 0;
		if (dup) {
			free(s);
			continue;
		}
		names[k++] = s;
		oom = kl_buf_appendf(&out, "%s%s", k > 1 ? " or " : "", s) != 0 ||
		      (choice && add_hint(item, r.path[i], item_name, &hints, tails, &ntails));
	}
	/* a refused id: what the account lacks, then where to look, once */
	if (!oom && hints.len)
		oom = kl_buf_appendf(&out, ": the account has %s", hints.data) != 0;
	for (size_t j = 0; !oom && j < ntails; j++)
		oom = kl_buf_appendf(&out, "; %s", tails[j]) != 0;
	kl_buf_free(&hints);
	for (size_t j = 0; j < k; j++)
		free(names[j]);
	readings_free(&r);
	if (oom)
		kl_buf_free(&out);
	return oom ? NULL : out.data;
}
