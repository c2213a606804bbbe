/* The check and fields commands: what the account holds, against the configuration. */
#include "cmd/kl_inspect.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/kl_lead.h"
#include "kommo/kl_reply.h"
#include "shared/kl_session.h"
#include "util/kl_str.h"
#include "util/kl_table.h"

#define ACCOUNT_PATH "/api/v4/account"
#define PIPELINES_PATH "/api/v4/leads/pipelines"
#define LEAD_FIELDS_PATH "/api/v4/leads/custom_fields"
#define CONTACT_FIELDS_PATH "/api/v4/contacts/custom_fields"

/* What the account holds, as Kommo sent it. */
struct account {
	cJSON *account;   /* GET /api/v4/account */
	cJSON *pipelines; /* array */
	cJSON *fields[3]; /* arrays, by enum kl_entity */
};

static void account_free(struct account *a)
{
	cJSON_Delete(a->account);
	cJSON_Delete(a->pipelines);
	for (int i = 0; i < 3; i++)
		cJSON_Delete(a->fields[i]);
	memset(a, 0, sizeof *a);
}


static const char *entity_word(enum kl_entity e)
{
	return e == KL_ENTITY_CONTACT ? "contact" : "lead";
}

static const cJSON *statuses_of(const cJSON *pipeline);

/* Pipeline and status ids are shown and compared with the configuration: a
 * reply with one that is not an id is not Kommo's. */
static int check_pipeline_ids(const cJSON *pipelines, struct kl_err *err)
{
	size_t i = 0;
	const cJSON *p;
	cJSON_ArrayForEach(p, pipelines)
	{
		const char *bad = cJSON_IsObject(p) ? kl_reply_id_problem(cJSON_GetObjectItemCaseSensitive(p, "id")) : NULL;
		if (bad)
			return kl_err_set(err, KL_EPROTOCOL, "Kommo's reply to GET %s has an entry without a usable id: _embedded.pipelines[%zu].id is %s",
					  PIPELINES_PATH, i, bad);
		size_t j = 0;
		const cJSON *s;
		cJSON_ArrayForEach(s, statuses_of(p))
		{
			if (cJSON_IsObject(s) && (bad = kl_reply_id_problem(cJSON_GetObjectItemCaseSensitive(s, "id"))))
				return kl_err_set(err, KL_EPROTOCOL, "Kommo's reply to GET %s has an entry without a usable id: _embedded.pipelines[%zu]._embedded.statuses[%zu].id is %s",
						  PIPELINES_PATH, i, j, bad);
			j++;
		}
		i++;
	}
	return KL_OK;
}

static int read_pipelines(struct kl_api *api, struct account *a, struct kl_err *err)
{
	cJSON *reply = NULL;
	int rc = kl_api_call(api, "GET", PIPELINES_PATH, NULL, "the request", NULL, NULL, &reply, NULL, NULL, err);
	if (rc)
		return rc;
	cJSON *emb = cJSON_GetObjectItemCaseSensitive(reply, "_embedded");
	cJSON *list = cJSON_GetObjectItemCaseSensitive(emb, "pipelines");
	if (reply && !cJSON_IsArray(list)) {
		cJSON_Delete(reply);
		return kl_err_set(err, KL_EPROTOCOL, "Kommo's reply to GET %s has no _embedded.pipelines list", PIPELINES_PATH);
	}
	/* a 204 is an account without pipelines */
	a->pipelines = list ? cJSON_DetachItemViaPointer(emb, list) : cJSON_CreateArray();
	cJSON_Delete(reply);
	return a->pipelines ? check_pipeline_ids(a->pipelines, err) : kl_err_oom(err);
}

/* Reads what the commands need: the account (check only), pipelines, fields. */
static int read_account(struct kl_api *api, bool with_account, struct account *a, struct kl_err *err)
{
	int rc;
	if (with_account) {
		if ((rc = kl_api_call(api, "GET", ACCOUNT_PATH, NULL, "the request", NULL, NULL, &a->account, NULL, NULL, err)))
			return rc;
		if (!cJSON_IsObject(a->account) || kl_reply_key_id(a->account, "id") == 0)
			return kl_err_set(err, KL_EPROTOCOL, "Kommo's reply to GET %s has no account id", ACCOUNT_PATH);
	}
	if ((rc = read_pipelines(api, a, err)) ||
	    (rc = kl_api_list(api, LEAD_FIELDS_PATH, "custom_fields", 0, &a->fields[KL_ENTITY_LEAD], NULL, err)) ||
	    (rc = kl_api_list(api, CONTACT_FIELDS_PATH, "custom_fields", 0, &a->fields[KL_ENTITY_CONTACT], NULL, err)))
		return rc;
	return KL_OK;
}

static const cJSON *find_by_code(const cJSON *list, const char *code)
{
	const cJSON *f;
	cJSON_ArrayForEach(f, list)
	{
		if (!cJSON_IsObject(f))
			continue;
		const char *c = kl_reply_str(f, "code");
		if (c && strcmp(c, code) == 0)
			return f;
	}
	return NULL;
}

static const cJSON *main_pipeline(const cJSON *pipelines)
{
	const cJSON *p;
	cJSON_ArrayForEach(p, pipelines)
	{
		if (!cJSON_IsObject(p))
			continue;
		if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "is_main")))
			return p;
	}
	return NULL;
}

static const cJSON *statuses_of(const cJSON *pipeline)
{
	return kl_reply_array(cJSON_GetObjectItemCaseSensitive(pipeline, "_embedded"), "statuses");
}

/* The Incoming leads stage of a pipeline (status type 1), or NULL. */
static const cJSON *incoming_status(const cJSON *pipeline)
{
	const cJSON *s;
	cJSON_ArrayForEach(s, statuses_of(pipeline))
	{
		if (!cJSON_IsObject(s))
			continue;
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(s, "type");
		if (cJSON_IsNumber(t) && t->valuedouble == 1)
			return s;
	}
	return NULL;
}

/* Whether a field of this Kommo type can take what kommo-lead sends for a. */
static bool type_fits(enum kl_attr a, const char *type)
{
	if (!type)
		return false;
	switch (kl_attr_info(a)->kind) {
	case KL_KIND_NUMBER:
		return strcmp(type, "numeric") == 0;
	case KL_KIND_PHONE:
	case KL_KIND_EMAIL:
		return strcmp(type, "multitext") == 0 || strcmp(type, "text") == 0;
	default:
		return strcmp(type, "text") == 0 || strcmp(type, "textarea") == 0 ||
		       strcmp(type, "tracking_data") == 0;
	}
}

static const char *type_wanted(enum kl_attr a)
{
	switch (kl_attr_info(a)->kind) {
	case KL_KIND_NUMBER:
		return "a numeric field";
	case KL_KIND_PHONE:
	case KL_KIND_EMAIL:
		return "a multitext or text field";
	default:
		return "a text, textarea or tracking_data field";
	}
}

/* "contact field "Phone" (multitext, code PHONE)" */
static char *describe_field(enum kl_entity e, const cJSON *f)
{
	const char *name = kl_reply_str(f, "name"), *type = kl_reply_str(f, "type"), *code = kl_reply_str(f, "code");
	char *pn = kl_str_printable(name ? name : "?");
	char *out = pn ? kl_str_printf("%s field \"%s\" (%s%s%s)", entity_word(e), pn, type ? type : "no type",
				       code ? ", code " : "", code ? code : "")
		       : NULL;
	free(pn);
	return out;
}

/* --- check ---------------------------------------------------------------- */

enum result { RES_OK, RES_UNSET, RES_PROBLEM };

struct checks {
	struct kl_table table;
	cJSON *json; /* array */
	const struct kl_config *cfg;
	size_t problems;
	struct kl_buf problem_text; /* one line per problem, for stderr */
	bool oom;
};

static void add_check(struct checks *c, const char *name, const char *value, enum result r,
		      const char *detail, int cfg_key)
{
	static const char *const words[] = {"ok", "unset", "PROBLEM"};
	static const char *const json_words[] = {"ok", "unset", "problem"};
	const char *cells[] = {name, value ? value : "-", words[r], detail};
	const char *origin = cfg_key >= 0 ? c->cfg->origin[cfg_key] : NULL;
	cJSON *o = cJSON_CreateObject();
	if (kl_table_add(&c->table, cells) || !o || !cJSON_AddStringToObject(o, "check", name) ||
	    !kl_report_add_text(o, "value", value) ||
	    !cJSON_AddStringToObject(o, "result", json_words[r]) ||
	    !cJSON_AddStringToObject(o, "detail", detail ? detail : "") ||
	    !kl_report_add_text(o, "origin", origin) ||
	    !cJSON_AddItemToArray(c->json, o)) {
		cJSON_Delete(o);
		c->oom = true;
		return;
	}
	if (r == RES_PROBLEM) {
		c->problems++;
		if (kl_buf_appendf(&c->problem_text, "problem: %s%s%s%s%s%s: %s\n", name, value ? "=" : "",
				   value ? value : "", origin ? " (from " : "", origin ? origin : "",
				   origin ? ")" : "", detail))
			c->oom = true;
	}
}

static void check_pipeline(struct checks *c, const struct account *a, const struct kl_account *acct)
{
	char value[32], *detail = NULL;
	enum result r = RES_OK;
	const cJSON *main = main_pipeline(a->pipelines);
	const cJSON *p = acct->pipeline_id ? kl_reply_find_id(a->pipelines, (long long)acct->pipeline_id) : main;
	snprintf(value, sizeof value, "%llu", acct->pipeline_id);
	if (!p && acct->pipeline_id) {
		struct kl_buf known = {0};
		const cJSON *q;
		cJSON_ArrayForEach(q, a->pipelines)
		{
			if (!cJSON_IsObject(q))
				continue;
			const char *n = kl_reply_str(q, "name");
			kl_buf_appendf(&known, "%s%lld \"%s\"", known.len ? ", " : "", kl_reply_key_id(q, "id"), n ? n : "?");
		}
		detail = kl_str_printf("the account has no pipeline with this id (it has %s); see kommo-lead fields",
				       known.data ? known.data : "none");
		kl_buf_free(&known);
		r = RES_PROBLEM;
	} else if (!p) {
		detail = kl_str_printf("not set, and the account has no main pipeline");
		r = RES_PROBLEM;
	} else {
		const char *name = kl_reply_str(p, "name");
		const cJSON *in = incoming_status(p);
		if (!in) {
			detail = kl_str_printf("%spipeline \"%s\" has no Incoming leads stage (status type 1): submitted leads have nowhere to land",
					       acct->pipeline_id ? "" : "not set: the main ", name ? name : "?");
			r = RES_PROBLEM;
		} else {
			const char *sn = kl_reply_str(in, "name");
			detail = acct->pipeline_id
					 ? kl_str_printf("pipeline \"%s\"%s, Incoming leads stage \"%s\" (%lld)", name ? name : "?",
							 p == main ? " (main)" : "", sn ? sn : "?", kl_reply_key_id(in, "id"))
					 : kl_str_printf("not set: leads go to the main pipeline \"%s\" (%lld), Incoming leads stage \"%s\" (%lld)",
							 name ? name : "?", kl_reply_key_id(p, "id"), sn ? sn : "?", kl_reply_key_id(in, "id"));
		}
	}
	char *pd = detail ? kl_str_printable(detail) : NULL;
	if (!pd)
		c->oom = true;
	else
		add_check(c, "KOMMO_PIPELINE_ID", acct->pipeline_id ? value : NULL, r, pd, KL_CFG_PIPELINE_ID);
	free(pd);
	free(detail);
}

static void check_field(struct checks *c, const struct account *a, const struct kl_account *acct,
			enum kl_attr attr)
{
	const struct kl_attr_info *ai = kl_attr_info(attr);
	enum kl_entity e = ai->entity;
	enum kl_entity other = e == KL_ENTITY_LEAD ? KL_ENTITY_CONTACT : KL_ENTITY_LEAD;
	unsigned long long id = acct->id[ai->cfg_key];
	const char *key = kl_config_key_name((enum kl_cfg_key)ai->cfg_key);
	char value[32], *detail = NULL, *what = NULL;
	enum result r = RES_OK;
	snprintf(value, sizeof value, "%llu", id);

	if (!id) {
		const cJSON *f = ai->code ? find_by_code(a->fields[e], ai->code) : NULL;
		if (ai->code && f) {
			what = describe_field(e, f);
			detail = kl_str_printf("not set: %s is sent by field_code %s, to %s %lld", ai->flag, ai->code,
					       what ? what : "?", kl_reply_key_id(f, "id"));
		} else if (ai->code) {
			detail = kl_str_printf("not set, and the account has no %s field with code %s: set it (kommo-lead fields --env)",
					       entity_word(e), ai->code);
			r = RES_PROBLEM;
		} else {
			detail = kl_str_printf("not set: %s cannot be used (kommo-lead fields --env finds the id)", ai->flag);
			r = RES_UNSET;
		}
	} else {
		const cJSON *f = kl_reply_find_id(a->fields[e], (long long)id);
		const cJSON *elsewhere = f ? NULL : kl_reply_find_id(a->fields[other], (long long)id);
		const cJSON *coded = ai->code ? find_by_code(a->fields[e], ai->code) : NULL;
		if (f && coded && coded != f) {
			/* the account has the field for this (by its code), and it is another */
			char *right = describe_field(e, coded);
			what = describe_field(e, f);
			detail = kl_str_printf("this id is %s, not the account's %s %lld", what ? what : "?",
					       right ? right : "?", kl_reply_key_id(coded, "id"));
			free(right);
			r = RES_PROBLEM;
		} else if (f) {
			what = describe_field(e, f);
			if (type_fits(attr, kl_reply_str(f, "type"))) {
				detail = kl_str_printf("%s", what ? what : "?");
			} else {
				detail = kl_str_printf("%s: %s needs %s", what ? what : "?", ai->flag, type_wanted(attr));
				r = RES_PROBLEM;
			}
		} else if (elsewhere) {
			what = describe_field(other, elsewhere);
			detail = kl_str_printf("this id is a %s, but %s goes into a %s field", what ? what : "?", ai->flag,
					       entity_word(e));
			r = RES_PROBLEM;
		} else {
			detail = kl_str_printf("the account has no %s field with this id (see kommo-lead fields)",
					       entity_word(e));
			r = RES_PROBLEM;
		}
	}
	if (!detail)
		c->oom = true;
	else
		add_check(c, key, id ? value : NULL, r, detail, ai->cfg_key);
	free(detail);
	free(what);
}

int kl_inspect_check(const struct kl_opts *o, const struct kl_io *io)
{
	struct kl_err err = {0};
	struct kl_config cfg = {0};
	struct kl_account acct = {0};
	struct kl_api api = {0};
	struct account a = {0};
	struct checks c = {.json = cJSON_CreateArray(), .cfg = &cfg};
	struct kl_buf out = {0};
	cJSON *doc = NULL;
	int rc;

	kl_table_init(&c.table, 4);
	const char *head[] = {"CHECK", "VALUE", "RESULT", "DETAIL"};
	if (!c.json || kl_table_add(&c.table, head)) {
		rc = kl_err_oom(&err);
		goto out;
	}
	if ((rc = kl_session_connect(o, io, &cfg, &acct, &api, &err)) ||
	    (rc = read_account(&api, true, &a, &err)))
		goto out;

	const char *name = kl_reply_str(a.account, "name"), *sub = kl_reply_str(a.account, "subdomain");
	char idtext[32], *detail;
	snprintf(idtext, sizeof idtext, "%lld", kl_reply_key_id(a.account, "id"));
	detail = kl_str_printf("token accepted: account \"%s\", subdomain %s, id %s", name ? name : "?",
			       sub ? sub : "?", idtext);
	add_check(&c, "account", name ? name : idtext, RES_OK, detail ? detail : "", KL_CFG_API_TOKEN);
	free(detail);
	const cJSON *on = cJSON_GetObjectItemCaseSensitive(a.account, "is_unsorted_on");
	if (cJSON_IsFalse(on))
		add_check(&c, "incoming leads", "off", RES_PROBLEM,
			  "Incoming leads are off in this account: turn them on (Leads, pipeline settings), or submit and import cannot place leads in НЕРАЗОБРАННОЕ",
			  -1);
	else
		add_check(&c, "incoming leads", cJSON_IsTrue(on) ? "on" : "?", RES_OK,
			  cJSON_IsTrue(on) ? "Incoming leads are on" : "Kommo did not say (no is_unsorted_on)", -1);
	check_pipeline(&c, &a, &acct);
	for (int attr = 0; attr < KL_ATTR_COUNT; attr++)
		if (kl_attr_info(attr)->cfg_key >= 0)
			check_field(&c, &a, &acct, attr);
	if (c.oom) {
		rc = kl_err_oom(&err);
		goto out;
	}

	if (o->json) {
		cJSON *acc = NULL;
		if (!(doc = cJSON_CreateObject()) || !cJSON_AddBoolToObject(doc, "ok", c.problems == 0) ||
		    !(acc = cJSON_AddObjectToObject(doc, "account")) ||
		    !cJSON_AddNumberToObject(acc, "id", (double)kl_reply_key_id(a.account, "id")) ||
		    !kl_report_add_text(acc, "name", name) ||
		    !kl_report_add_text(acc, "subdomain", sub) ||
		    !(cJSON_IsBool(on) ? cJSON_AddBoolToObject(acc, "is_unsorted_on", cJSON_IsTrue(on))
				       : cJSON_AddNullToObject(acc, "is_unsorted_on"))) {
			rc = kl_err_oom(&err);
			goto out;
		}
		if (!cJSON_AddItemToObject(doc, "checks", c.json)) {
			rc = kl_err_oom(&err);
			goto out;
		}
		c.json = NULL;
		rc = kl_io_json(io, doc, &err);
	} else {
		rc = kl_table_render(&c.table, &out) ? kl_err_oom(&err) : kl_io_write(io, out.data, out.len, &err);
	}
	if (rc)
		goto out;
	if (c.problems) {
		kl_io_say_lines(io, c.problem_text.data);
		rc = kl_err_set(&err, KL_ECONFIG, "%zu problem%s: fix the configuration (kommo-lead fields --env prints the account's ids)%s",
				c.problems, c.problems == 1 ? "" : "s",
				cJSON_IsFalse(on) ? " and turn Incoming leads on in the account" : "");
	}
out:
	if (rc && err.msg[0])
		kl_io_say_lines(io, err.msg);
	cJSON_Delete(doc);
	cJSON_Delete(c.json);
	kl_table_free(&c.table);
	kl_buf_free(&c.problem_text);
	kl_buf_free(&out);
	account_free(&a);
	kl_api_close(&api);
	kl_account_free(&acct);
	kl_config_free(&cfg);
	return rc;
}

/* --- fields ----------------------------------------------------------------- */

/* The fields as JSON for --json: id, code, type, name, enums. */
static cJSON *fields_json(const cJSON *list)
{
	cJSON *arr = cJSON_CreateArray();
	const cJSON *f;
	cJSON_ArrayForEach(f, list)
	{
		if (!cJSON_IsObject(f))
			continue;
		cJSON *o = cJSON_CreateObject(), *enums = NULL;
		const char *code = kl_reply_str(f, "code"), *type = kl_reply_str(f, "type"), *name = kl_reply_str(f, "name");
		const cJSON *ev = kl_reply_array(f, "enums");
		if (!arr || !o || !cJSON_AddItemToArray(arr, o)) {
			cJSON_Delete(o);
			cJSON_Delete(arr);
			return NULL;
		}
		if (!cJSON_AddNumberToObject(o, "id", (double)kl_reply_key_id(f, "id")) ||
		    !kl_report_add_text(o, "code", code) ||
		    !kl_report_add_text(o, "type", type) ||
		    !kl_report_add_text(o, "name", name) ||
		    !(cJSON_IsArray(ev) ? (enums = cJSON_AddArrayToObject(o, "enums")) != NULL
					: cJSON_AddNullToObject(o, "enums") != NULL)) {
			cJSON_Delete(arr);
			return NULL;
		}
		const cJSON *e;
		const cJSON *from = enums ? ev : NULL;
		cJSON_ArrayForEach(e, from)
		{
			if (!cJSON_IsObject(e))
				continue;
			const char *v = kl_reply_str(e, "value");
			cJSON *eo = cJSON_CreateObject();
			if (!eo || !cJSON_AddItemToArray(enums, eo) ||
			    !cJSON_AddNumberToObject(eo, "id", (double)kl_reply_key_id(e, "id")) ||
			    !kl_report_add_text(eo, "value", v)) {
				cJSON_Delete(arr);
				return NULL;
			}
		}
	}
	return arr;
}

static cJSON *pipelines_json(const cJSON *list)
{
	cJSON *arr = cJSON_CreateArray();
	const cJSON *p;
	cJSON_ArrayForEach(p, list)
	{
		if (!cJSON_IsObject(p))
			continue;
		cJSON *o = cJSON_CreateObject(), *st = NULL;
		const char *name = kl_reply_str(p, "name");
		if (!arr || !o || !cJSON_AddItemToArray(arr, o)) {
			cJSON_Delete(o);
			cJSON_Delete(arr);
			return NULL;
		}
		if (!cJSON_AddNumberToObject(o, "id", (double)kl_reply_key_id(p, "id")) ||
		    !kl_report_add_text(o, "name", name) ||
		    !cJSON_AddBoolToObject(o, "is_main", cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "is_main"))) ||
		    !(st = cJSON_AddArrayToObject(o, "statuses"))) {
			cJSON_Delete(arr);
			return NULL;
		}
		const cJSON *s;
		cJSON_ArrayForEach(s, statuses_of(p))
		{
			if (!cJSON_IsObject(s))
				continue;
			const char *sn = kl_reply_str(s, "name");
			const cJSON *t = cJSON_GetObjectItemCaseSensitive(s, "type");
			cJSON *so = cJSON_CreateObject();
			if (!so || !cJSON_AddItemToArray(st, so) ||
			    !cJSON_AddNumberToObject(so, "id", (double)kl_reply_key_id(s, "id")) ||
			    !kl_report_add_text(so, "name", sn) ||
			    !cJSON_AddNumberToObject(so, "type", cJSON_IsNumber(t) ? t->valuedouble : 0)) {
				cJSON_Delete(arr);
				return NULL;
			}
		}
	}
	return arr;
}

static const char *status_kind(const cJSON *s)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(s, "type");
	double v = cJSON_IsNumber(t) ? t->valuedouble : 0;
	long long id = kl_reply_key_id(s, "id");
	if (v == 1)
		return "incoming";
	if (id == 142)
		return "won";
	if (id == 143)
		return "lost";
	return "status";
}

static int render_fields(struct kl_buf *out, const char *title, const cJSON *list)
{
	struct kl_table t;
	const char *head[] = {"ID", "CODE", "TYPE", "NAME"};
	int fail = kl_buf_appendf(out, "%s\n", title);
	const cJSON *f;
	kl_table_init(&t, 4);
	fail |= kl_table_add(&t, head);
	cJSON_ArrayForEach(f, list)
	{
		if (!cJSON_IsObject(f))
			continue;
		char id[32];
		snprintf(id, sizeof id, "%lld", kl_reply_key_id(f, "id"));
		const char *row[] = {id, kl_reply_str(f, "code"), kl_reply_str(f, "type"), kl_reply_str(f, "name")};
		fail |= kl_table_add(&t, row);
		const cJSON *e;
		cJSON_ArrayForEach(e, kl_reply_array(f, "enums"))
		{
			if (!cJSON_IsObject(e))
				continue;
			char eid[40];
			snprintf(eid, sizeof eid, "  %lld", kl_reply_key_id(e, "id"));
			const char *v = kl_reply_str(e, "value");
			char *ind = kl_str_printf("  %s", v ? v : "");
			const char *er[] = {eid, NULL, "enum", ind};
			fail |= !ind || kl_table_add(&t, er);
			free(ind);
		}
	}
	fail |= kl_table_render(&t, out);
	kl_table_free(&t);
	return fail;
}

static int render_pipelines(struct kl_buf *out, const cJSON *list)
{
	struct kl_table t;
	const char *head[] = {"ID", "TYPE", "NAME"};
	int fail = kl_buf_appendf(out, "Pipelines\n");
	const cJSON *p;
	kl_table_init(&t, 3);
	fail |= kl_table_add(&t, head);
	cJSON_ArrayForEach(p, list)
	{
		if (!cJSON_IsObject(p))
			continue;
		char id[32];
		snprintf(id, sizeof id, "%lld", kl_reply_key_id(p, "id"));
		bool is_main = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "is_main"));
		const char *row[] = {id, is_main ? "pipeline (main)" : "pipeline", kl_reply_str(p, "name")};
		fail |= kl_table_add(&t, row);
		const cJSON *s;
		cJSON_ArrayForEach(s, statuses_of(p))
		{
			if (!cJSON_IsObject(s))
				continue;
			char sid[40];
			snprintf(sid, sizeof sid, "  %lld", kl_reply_key_id(s, "id"));
			const char *sn = kl_reply_str(s, "name");
			char *ind = kl_str_printf("  %s", sn ? sn : "");
			const char *sr[] = {sid, status_kind(s), ind};
			fail |= !ind || kl_table_add(&t, sr);
			free(ind);
		}
	}
	fail |= kl_table_render(&t, out);
	kl_table_free(&t);
	return fail;
}

/* --- fields --env ------------------------------------------------------------- */

/* Whether a field's name is a known name of a, or with prefix starts with
 * one (of four letters or more). */
static bool same_or_prefix(const char *folded, const char *known, bool prefix)
{
	size_t n = strlen(known);
	return prefix ? kl_str_width(known) >= 4 && strncmp(folded, known, n) == 0 : strcmp(folded, known) == 0;
}

static bool name_matches(enum kl_attr a, const char *name, bool prefix)
{
	char *folded = name ? kl_str_fold(name) : NULL;
	bool hit = false;
	/* the names a CSV column may have are the names such a field has */
	const char *known;
	for (size_t i = 0; folded && !hit && (known = kl_columns_spelling(a, i)); i++)
		hit = same_or_prefix(folded, known, prefix);
	free(folded);
	return hit;
}

static int env_line(struct kl_buf *out, const struct account *a, enum kl_attr attr)
{
	const struct kl_attr_info *ai = kl_attr_info(attr);
	const char *key = kl_config_key_name((enum kl_cfg_key)ai->cfg_key);
	const char *word = entity_word(ai->entity);
	const cJSON *list = a->fields[ai->entity];
	const cJSON *hit = ai->code ? find_by_code(list, ai->code) : NULL, *f;
	const char *how = "code";
	size_t n = 0;
	struct kl_buf names = {0};
	int fail = 0;

	/* by name: an exact known name, then one starting with it ("Доход (руб.)");
	 * among several, those of a type that fits */
	for (int pass = 0; !hit && pass < 4; pass++) {
		bool prefix = pass >= 2, fits_only = pass % 2 == 0;
		how = prefix ? "the start of its name" : "name";
		n = 0;
		names.len = 0;
		cJSON_ArrayForEach(f, list)
		{
			if (!cJSON_IsObject(f) || !name_matches(attr, kl_reply_str(f, "name"), prefix) ||
			    (fits_only && !type_fits(attr, kl_reply_str(f, "type"))))
				continue;
			char *pn = kl_str_printable(kl_reply_str(f, "name"));
			fail |= !pn || kl_buf_appendf(&names, "%s%lld \"%s\"", n ? ", " : "", kl_reply_key_id(f, "id"), pn);
			free(pn);
			if (!n++)
				hit = f;
		}
	}
	if (hit && n > 1) {
		fail |= kl_buf_appendf(out, "# several %s fields are named like %s: %s; pick one\n#%s=\n", word,
				       ai->name, names.data, key);
	} else if (hit && !type_fits(attr, kl_reply_str(hit, "type"))) {
		char *what = describe_field(ai->entity, hit);
		fail |= !what || kl_buf_appendf(out, "# %s matches by %s, but %s needs %s\n#%s=\n",
						what, how, ai->flag, type_wanted(attr), key);
		free(what);
	} else if (hit) {
		char *what = describe_field(ai->entity, hit);
		fail |= !what || kl_buf_appendf(out, "# %s, matched by %s\n%s=%lld\n", what, how, key,
						kl_reply_key_id(hit, "id"));
		free(what);
	} else {
		fail |= kl_buf_appendf(out, "# no %s field %s%s%s: find its id with kommo-lead fields%s\n#%s=\n",
				       word, ai->code ? "has code " : "is named like ", ai->code ? ai->code : ai->name,
				       ai->code ? " or a known name" : "", ai->code ? " (without it the field code is sent)" : "",
				       key);
	}
	kl_buf_free(&names);
	return fail;
}

static int render_env(struct kl_buf *out, const struct account *a)
{
	int fail = kl_buf_appendf(out, "# kommo-lead configuration, from kommo-lead fields --env\n");
	const cJSON *p = main_pipeline(a->pipelines);
	if (p) {
		char *pn = kl_str_printable(kl_reply_str(p, "name") ? kl_reply_str(p, "name") : "?");
		fail |= !pn || kl_buf_appendf(out, "# the main pipeline \"%s\"\nKOMMO_PIPELINE_ID=%lld\n", pn,
					      kl_reply_key_id(p, "id"));
		free(pn);
	} else {
		fail |= kl_buf_appendf(out, "# no main pipeline: pick one with kommo-lead fields\n#KOMMO_PIPELINE_ID=\n");
	}
	for (int attr = 0; attr < KL_ATTR_COUNT; attr++)
		if (kl_attr_info(attr)->cfg_key >= 0)
			fail |= env_line(out, a, attr);
	return fail;
}

int kl_inspect_fields(const struct kl_opts *o, const struct kl_io *io)
{
	struct kl_err err = {0};
	struct kl_config cfg = {0};
	struct kl_account acct = {0};
	struct kl_api api = {0};
	struct account a = {0};
	struct kl_buf out = {0};
	cJSON *doc = NULL;
	int rc;

	if ((rc = kl_session_connect(o, io, &cfg, &acct, &api, &err)) ||
	    (rc = read_account(&api, false, &a, &err)))
		goto out;
	if (o->json) {
		cJSON *lf = fields_json(a.fields[KL_ENTITY_LEAD]), *cf = fields_json(a.fields[KL_ENTITY_CONTACT]);
		cJSON *pl = pipelines_json(a.pipelines);
		if (!(doc = cJSON_CreateObject()) || !lf || !cf || !pl) {
			cJSON_Delete(lf);
			cJSON_Delete(cf);
			cJSON_Delete(pl);
			rc = kl_err_oom(&err);
			goto out;
		}
		/* each is owned by doc once added, and freed here if it could not be */
		bool ok = cJSON_AddItemToObject(doc, "lead_fields", lf) || (cJSON_Delete(lf), false);
		ok = (cJSON_AddItemToObject(doc, "contact_fields", cf) || (cJSON_Delete(cf), false)) && ok;
		ok = (cJSON_AddItemToObject(doc, "pipelines", pl) || (cJSON_Delete(pl), false)) && ok;
		if (!ok) {
			rc = kl_err_oom(&err);
			goto out;
		}
		rc = kl_io_json(io, doc, &err);
		goto out;
	}
	int fail = o->ent.env ? render_env(&out, &a)
			      : render_fields(&out, "Lead fields", a.fields[KL_ENTITY_LEAD]) |
					kl_buf_appendf(&out, "\n") |
					render_fields(&out, "Contact fields", a.fields[KL_ENTITY_CONTACT]) |
					kl_buf_appendf(&out, "\n") | render_pipelines(&out, a.pipelines);
	rc = fail ? kl_err_oom(&err) : kl_io_write(io, out.data, out.len, &err);
out:
	if (rc && err.msg[0])
		kl_io_say_lines(io, err.msg);
	cJSON_Delete(doc);
	kl_buf_free(&out);
	account_free(&a);
	kl_api_close(&api);
	kl_account_free(&acct);
	kl_config_free(&cfg);
	return rc;
}
