/* The check and fields commands' shared part: what the account holds. */
#include "inspect_int.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/kl_lead.h"
#include "kommo/kl_reply.h"
#include "shared/kl_session.h"
#include "util/kl_str.h"
#include "util/kl_table.h"



void ins_account_free(struct account *a)
{
	cJSON_Delete(a->account);
	cJSON_Delete(a->pipelines);
	for (int i = 0; i < 3; i++)
		cJSON_Delete(a->fields[i]);
	memset(a, 0, sizeof *a);
}


const char *ins_entity_word(enum kl_entity e)
{
	return e == KL_ENTITY_CONTACT ? "contact" : "lead";
}

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
		cJSON_ArrayForEach(s, ins_statuses_of(p))
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
int ins_read_account(struct kl_api *api, bool with_account, struct account *a, struct kl_err *err)
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

const cJSON *ins_find_by_code(const cJSON *list, const char *code)
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

const cJSON *ins_main_pipeline(const cJSON *pipelines)
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

const cJSON *ins_statuses_of(const cJSON *pipeline)
{
	return kl_reply_array(cJSON_GetObjectItemCaseSensitive(pipeline, "_embedded"), "statuses");
}

/* The Incoming leads stage of a pipeline (status type 1), or NULL. */
const cJSON *ins_incoming_status(const cJSON *pipeline)
{
	const cJSON *s;
	cJSON_ArrayForEach(s, ins_statuses_of(pipeline))
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
bool ins_type_fits(enum kl_attr a, const char *type)
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

const char *ins_type_wanted(enum kl_attr a)
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
char *ins_describe_field(enum kl_entity e, const cJSON *f)
{
	const char *name = kl_reply_str(f, "name"), *type = kl_reply_str(f, "type"), *code = kl_reply_str(f, "code");
	char *pn = kl_str_printable(name ? name : "?");
	char *out = pn ? kl_str_printf("%s field \"%s\" (%s%s%s)", ins_entity_word(e), pn, type ? type : "no type",
				       code ? ", code " : "", code ? code : "")
		       : NULL;
	free(pn);
	return out;
}
