#include "kommo/kl_reply.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/kl_str.h"

/* Replies nest a few levels; anything deeper is not Kommo's. */
#define MAX_DEPTH 64

static int depth_of(const char *body, size_t len)
{
	int depth = 0, max = 0;
	bool in_str = false;
	for (size_t i = 0; i < len; i++) {
		char c = body[i];
		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = false;
		} else if (c == '"') {
			in_str = true;
		} else if (c == '{' || c == '[') {
			if (++depth > max)
				max = depth;
		} else if (c == '}' || c == ']') {
			depth--;
		}
	}
	return max;
}

cJSON *kl_reply_json(const char *body, size_t len)
{
	if (!body || len == 0 || depth_of(body, len) > MAX_DEPTH)
		return NULL;
	return cJSON_ParseWithLength(body, len);
}

#define STR_(x) #x
#define STR(x) STR_(x)

const char *kl_reply_json_problem(const char *body, size_t len)
{
	if (!body || len == 0)
		return "is empty";
	if (depth_of(body, len) > MAX_DEPTH)
		return "is nested more than " STR(MAX_DEPTH) " levels deep";
	return "is not JSON";
}

/* A JSON string, or a number written as text (ids are sometimes either). */
char *kl_reply_text(const cJSON *v)
{
	if (cJSON_IsString(v)) /* Kommo's text goes to a terminal: no escape sequences */
		return kl_str_printable(v->valuestring);
	if (cJSON_IsNumber(v))
		return fabs(v->valuedouble) < 9007199254740992.0 && v->valuedouble == (double)(long long)v->valuedouble
			       ? kl_str_printf("%.0f", v->valuedouble)
			       : kl_str_printf("%.15g", v->valuedouble);
	return NULL;
}

const char *kl_reply_str(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

long long kl_reply_key_id(const cJSON *obj, const char *key)
{
	return kl_reply_id(cJSON_GetObjectItemCaseSensitive(obj, key));
}

const cJSON *kl_reply_find_id(const cJSON *list, long long id)
{
	const cJSON *o;
	cJSON_ArrayForEach(o, list)
	{
		if (cJSON_IsObject(o) && kl_reply_key_id(o, "id") == id)
			return o;
	}
	return NULL;
}

const cJSON *kl_reply_array(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	return cJSON_IsArray(v) ? v : NULL;
}

/* A positive integer id, from a number or a string of digits; 0 if neither. */
long long kl_reply_id(const cJSON *v)
{
	if (cJSON_IsNumber(v) && v->valuedouble >= 1 && v->valuedouble <= 9007199254740991.0 &&
	    v->valuedouble == (double)(long long)v->valuedouble)
		return (long long)v->valuedouble;
	if (cJSON_IsString(v) && v->valuestring[0] && strlen(v->valuestring) < 17 &&
	    strspn(v->valuestring, "0123456789") == strlen(v->valuestring)) {
		/* the same range as a number: an id is one whatever way it is written */
		long long id = atoll(v->valuestring);
		return id >= 1 && id <= 9007199254740991LL ? id : 0;
	}
	return 0;
}

const char *kl_reply_id_problem(const cJSON *v)
{
	if (kl_reply_id(v))
		return NULL;
	if (!v)
		return "missing";
	if (cJSON_IsNull(v))
		return "null";
	if (cJSON_IsString(v))
		return "a string that is not a number";
	if (cJSON_IsNumber(v))
		return "a number that is not a whole number from 1 to 2^53";
	if (cJSON_IsObject(v))
		return "an object";
	if (cJSON_IsArray(v))
		return "an array";
	return "true or false";
}

static long long first_id(const cJSON *embedded, const char *key)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(embedded, key);
	const cJSON *first = cJSON_IsArray(arr) ? cJSON_GetArrayItem(arr, 0) : NULL;
	return first ? kl_reply_id(cJSON_GetObjectItemCaseSensitive(first, "id")) : 0;
}

void kl_created_list_free(struct kl_created_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++) {
		free(l->items[i].request_id);
		free(l->items[i].uid);
	}
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

int kl_reply_parse_unsorted(const char *body, size_t len, struct kl_created_list *out,
			    struct kl_err *err)
{
	int rc = KL_OK;
	memset(out, 0, sizeof *out);
	cJSON *root = kl_reply_json(body, len);
	if (!root || !cJSON_IsObject(root)) {
		rc = kl_err_set(err, KL_EPROTOCOL, "Kommo's reply %s (%zu bytes)",
				root ? "is not a JSON object" : kl_reply_json_problem(body, len), len);
		goto out;
	}
	const cJSON *emb = cJSON_GetObjectItemCaseSensitive(root, "_embedded");
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(emb, "unsorted");
	if (!cJSON_IsArray(list) || cJSON_GetArraySize(list) == 0) {
		rc = kl_err_set(err, KL_EPROTOCOL, "Kommo's reply has no _embedded.unsorted entries");
		goto out;
	}
	size_t n = (size_t)cJSON_GetArraySize(list);
	if (!(out->items = calloc(n, sizeof *out->items))) {
		rc = kl_err_oom(err);
		goto out;
	}
	const cJSON *u;
	cJSON_ArrayForEach(u, list)
	{
		struct kl_created *c = &out->items[out->n];
		const cJSON *ue = cJSON_GetObjectItemCaseSensitive(u, "_embedded");
		const cJSON *rid = cJSON_GetObjectItemCaseSensitive(u, "request_id");
		const cJSON *uid = cJSON_GetObjectItemCaseSensitive(u, "uid");
		out->n++;
		c->lead_id = first_id(ue, "leads");
		c->contact_id = first_id(ue, "contacts");
		bool want_rid = cJSON_IsString(rid) || cJSON_IsNumber(rid);
		if ((want_rid && !(c->request_id = kl_reply_text(rid))) ||
		    (cJSON_IsString(uid) && !(c->uid = kl_str_printable(uid->valuestring)))) {
			rc = kl_err_oom(err);
			goto out;
		}
		if (c->lead_id == 0) {
			rc = kl_err_set(err, KL_EPROTOCOL,
					"Kommo's reply has no lead id in _embedded.unsorted[%zu]", out->n - 1);
			goto out;
		}
	}
out:
	cJSON_Delete(root);
	if (rc)
		kl_created_list_free(out);
	return rc;
}

void kl_problem_free(struct kl_problem *p)
{
	if (!p)
		return;
	free(p->title);
	free(p->detail);
	free(p->trace_id);
	for (size_t i = 0; i < p->nerrors; i++) {
		free(p->errors[i].request_id);
		free(p->errors[i].code);
		free(p->errors[i].path);
		free(p->errors[i].detail);
	}
	free(p->errors);
	memset(p, 0, sizeof *p);
}

static bool looks_html(const char *ctype, const char *body, size_t len)
{
	if (ctype && strncasecmp(ctype, "text/html", 9) == 0)
		return true;
	size_t i = 0;
	while (i < len && isspace((unsigned char)body[i]))
		i++;
	return i < len && body[i] == '<';
}

static char *dup_string(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	return cJSON_IsString(v) ? kl_str_printable(v->valuestring) : NULL;
}

static int add_errors(struct kl_problem *p, const cJSON *ve)
{
	const cJSON *group;
	cJSON_ArrayForEach(group, ve)
	{
		const cJSON *rid = cJSON_GetObjectItemCaseSensitive(group, "request_id");
		const cJSON *errs = cJSON_GetObjectItemCaseSensitive(group, "errors");
		const cJSON *e;
		if (!cJSON_IsArray(errs))
			continue;
		cJSON_ArrayForEach(e, errs)
		{
			struct kl_verror *grown = realloc(p->errors, (p->nerrors + 1) * sizeof *grown);
			if (!grown)
				return -1;
			p->errors = grown;
			struct kl_verror *v = &p->errors[p->nerrors++];
			v->request_id = kl_reply_text(rid);
			v->code = dup_string(e, "code");
			v->path = dup_string(e, "path");
			v->detail = dup_string(e, "detail");
		}
	}
	return 0;
}

int kl_reply_parse_problem(long status, const char *content_type, const char *body, size_t len,
			   long retry_after_header, struct kl_problem *p, struct kl_err *err)
{
	memset(p, 0, sizeof *p);
	p->status = status;
	p->retry_after = retry_after_header;
	if (!body)
		len = 0;
	cJSON *root = kl_reply_json(body, len);
	if (!root || !cJSON_IsObject(root)) {
		p->html = len > 0 && looks_html(content_type, body, len);
		cJSON_Delete(root);
		return KL_OK;
	}
	p->json = true;
	p->title = dup_string(root, "title");
	p->detail = dup_string(root, "detail");
	p->trace_id = kl_reply_text(cJSON_GetObjectItemCaseSensitive(root, "trace_id"));
	const cJSON *ra = cJSON_GetObjectItemCaseSensitive(root, "retry_after");
	if (cJSON_IsNumber(ra) && ra->valuedouble >= 0 && ra->valuedouble < 86400)
		p->retry_after = (long)ra->valuedouble;
	const cJSON *ve = cJSON_GetObjectItemCaseSensitive(root, "validation-errors");
	int bad = cJSON_IsArray(ve) ? add_errors(p, ve) : 0;
	cJSON_Delete(root);
	if (bad) {
		kl_problem_free(p);
		return kl_err_oom(err);
	}
	return KL_OK;
}

int kl_reply_match(const struct kl_created_list *cl, const char *const *sent, size_t n, size_t *at,
		   struct kl_err *err)
{
	size_t echoed = 0;
	for (size_t i = 0; i < cl->n; i++)
		echoed += cl->items[i].request_id != NULL;
	if (cl->n != n)
		return kl_err_set(err, KL_EPROTOCOL, "Kommo's reply lists %zu leads for the %zu sent", cl->n, n);
	if (echoed == 0) { /* Kommo keeps the order */
		for (size_t i = 0; i < n; i++)
			at[i] = i;
		return KL_OK;
	}
	if (echoed != n)
		return kl_err_set(err, KL_EPROTOCOL, "Kommo's reply gives a request_id for %zu of its %zu leads", echoed, n);
	for (size_t i = 0; i < n; i++)
		at[i] = n;
	for (size_t i = 0; i < n; i++) {
		size_t k = 0;
		while (k < n && strcmp(sent[k], cl->items[i].request_id) != 0)
			k++;
		if (k == n)
			return kl_err_set(err, KL_EPROTOCOL, "Kommo's reply names request_id %.40s, which was not sent",
					  cl->items[i].request_id);
		for (size_t j = 0; j < i; j++)
			if (at[j] == k)
				return kl_err_set(err, KL_EPROTOCOL, "Kommo's reply names request_id %.40s twice",
						  cl->items[i].request_id);
		at[i] = k;
	}
	return KL_OK;
}
