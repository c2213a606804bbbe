/* kommo-lead check: the configuration against what the account holds. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inspect_int.h"
#include "kommo/kl_reply.h"
#include "shared/kl_session.h"
#include "util/kl_str.h"
#include "util/kl_table.h"

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
	const cJSON *main = ins_main_pipeline(a->pipelines);
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
		const cJSON *in = ins_incoming_status(p);
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
		const cJSON *f = ai->code ? ins_find_by_code(a->fields[e], ai->code) : NULL;
		if (ai->code && f) {
			what = ins_describe_field(e, f);
			detail = kl_str_printf("not set: %s is sent by field_code %s, to %s %lld", ai->flag, ai->code,
					       what ? what : "?", kl_reply_key_id(f, "id"));
		} else if (ai->code) {
			detail = kl_str_printf("not set, and the account has no %s field with code %s: set it (kommo-lead fields --env)",
					       ins_entity_word(e), ai->code);
			r = RES_PROBLEM;
		} else {
			detail = kl_str_printf("not set: %s cannot be used (kommo-lead fields --env finds the id)", ai->flag);
			r = RES_UNSET;
		}
	} else {
		const cJSON *f = kl_reply_find_id(a->fields[e], (long long)id);
		const cJSON *elsewhere = f ? NULL : kl_reply_find_id(a->fields[other], (long long)id);
		const cJSON *coded = ai->code ? ins_find_by_code(a->fields[e], ai->code) : NULL;
		if (f && coded && coded != f) {
			/* the account has the field for this (by its code), and it is another */
			char *right = ins_describe_field(e, coded);
			what = ins_describe_field(e, f);
			detail = kl_str_printf("this id is %s, not the account's %s %lld", what ? what : "?",
					       right ? right : "?", kl_reply_key_id(coded, "id"));
			free(right);
			r = RES_PROBLEM;
		} else if (f) {
			what = ins_describe_field(e, f);
			if (ins_type_fits(attr, kl_reply_str(f, "type"))) {
				detail = kl_str_printf("%s", what ? what : "?");
			} else {
				detail = kl_str_printf("%s: %s needs %s", what ? what : "?", ai->flag, ins_type_wanted(attr));
				r = RES_PROBLEM;
			}
		} else if (elsewhere) {
			what = ins_describe_field(other, elsewhere);
			detail = kl_str_printf("this id is a %s, but %s goes into a %s field", what ? what : "?", ai->flag,
					       ins_entity_word(e));
			r = RES_PROBLEM;
		} else {
			detail = kl_str_printf("the account has no %s field with this id (see kommo-lead fields)",
					       ins_entity_word(e));
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
	    (rc = ins_read_account(&api, true, &a, &err)))
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
	ins_account_free(&a);
	kl_api_close(&api);
	kl_account_free(&acct);
	kl_config_free(&cfg);
	return rc;
}
