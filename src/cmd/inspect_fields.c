/* kommo-lead fields: the account's custom fields and pipelines, and --env. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inspect_int.h"
#include "kommo/kl_reply.h"
#include "shared/kl_session.h"
#include "util/kl_str.h"
#include "util/kl_table.h"

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
		cJSON_ArrayForEach(s, ins_statuses_of(p))
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
		cJSON_ArrayForEach(s, ins_statuses_of(p))
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
	const char *word = ins_entity_word(ai->entity);
	const cJSON *list = a->fields[ai->entity];
	const cJSON *hit = ai->code ? ins_find_by_code(list, ai->code) : NULL, *f;
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
			    (fits_only && !ins_type_fits(attr, kl_reply_str(f, "type"))))
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
	} else if (hit && !ins_type_fits(attr, kl_reply_str(hit, "type"))) {
		char *what = ins_describe_field(ai->entity, hit);
		fail |= !what || kl_buf_appendf(out, "# %s matches by %s, but %s needs %s\n#%s=\n",
						what, how, ai->flag, ins_type_wanted(attr), key);
		free(what);
	} else if (hit) {
		char *what = ins_describe_field(ai->entity, hit);
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
	const cJSON *p = ins_main_pipeline(a->pipelines);
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
	    (rc = ins_read_account(&api, false, &a, &err)))
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
	ins_account_free(&a);
	kl_api_close(&api);
	kl_account_free(&acct);
	kl_config_free(&cfg);
	return rc;
}
