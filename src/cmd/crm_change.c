/* leads create, leads update, contacts create: every value checked, then
 * the body built, sent through the transport, and the new id printed. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/kl_check.h"
#include "crm_int.h"
#include "kommo/kl_errpath.h"
#include "kommo/kl_payload.h"
#include "kommo/kl_reply.h"
#include "shared/kl_session.h"
#include "util/kl_str.h"

/* --- create and update ------------------------------------------------------------ */

/* What was sent, to name validation errors' paths in the user's terms. */
struct sent {
	const char *what;                 /* "the lead" or "the contact" */
	const struct kl_entity_opts *ent; /* the contacts a lead create links */
	struct kl_buf notes;              /* its custom fields' labels (kl_payload_custom_fields) */
	const cJSON *item;                /* the lead or contact sent */
};

/* The flag that gave the part of the item an item-relative path is in:
 * _embedded.contacts.K is the K-th --contact. */
static char *label_of(const void *ctx, const char *path)
{
	static const struct {
		const char *key, *flag;
	} keys[] = {{"name", "--name"},
		    {"first_name", "--first-name"},
		    {"last_name", "--last-name"},
		    {"price", "--price"},
		    {"pipeline_id", "--pipeline"},
		    {"status_id", "--status"},
		    {"responsible_user_id", "--responsible"},
		    {"created_by", "--created-by"}};
	static const char links[] = "_embedded.contacts.";
	const struct sent *s = ctx;
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (kl_errpath_starts(path, keys[i].key))
			return strdup(keys[i].flag);
	if (strncmp(path, links, sizeof links - 1) == 0) {
		char *end;
		unsigned long k = strtoul(path + sizeof links - 1, &end, 10);
		if (end != path + sizeof links - 1 && k < s->ent->ncontacts)
			return kl_str_printf("--contact %llu", s->ent->contacts[k]);
	}
	return kl_payload_noted(&s->notes, path);
}

/* The path read in any of Kommo's forms (kl_errpath) against the one item
 * sent: whatever request_id Kommo gives, it is about that item, which it
 * numbers 0 as no request_id was sent. ctx is a struct sent. */
static char *origin_of(const void *ctx, const struct kl_verror *e)
{
	const struct sent *s = ctx;
	return kl_errpath_name(s->item, 0, e, s->what, label_of, s);
}

/* What leads create, leads update and contacts create send, every value
 * checked before a body is built (so building can fail only for memory). */
struct checked {
	char *name, *first_name, *last_name; /* trimmed, or NULL */
	/* what goes in custom fields, normalised (a --field number as its
	 * digits): the lead's (--career, --field) or the contact's (--phone, --email) */
	struct kl_lead fields;
	unsigned long long pipeline; /* 0: none */
};

static void checked_free(struct checked *c)
{
	free(c->name);
	free(c->first_name);
	free(c->last_name);
	kl_lead_free(&c->fields);
	memset(c, 0, sizeof *c);
}

/* A name option, checked and trimmed into *out (NULL when not given). */
static int check_name(const char *flag, const char *v, char **out, struct kl_err *err)
{
	if (v && kl_check_name(flag, v, out, err))
		return kl_err_as(err, KL_EDATA);
	return KL_OK;
}

/* The lead's fields (a copy of --career, --field, ...), each checked and
 * replaced with its normalised form: a --field not empty, text or a number
 * as it says, a number by its digits. */
static int check_fields(struct kl_lead *fields, const struct kl_account *acct, struct kl_err *err)
{
	int rc;
	for (int a = 0; a < KL_ATTR_COUNT; a++) {
		char *out = NULL;
		if (!fields->v[a])
			continue;
		if ((rc = kl_attr_check(a, kl_attr_info(a)->flag, fields->v[a], acct->phone_region, &out, err)))
			return rc == KL_EOSERR ? rc : kl_err_as(err, KL_EDATA);
		free(fields->v[a]);
		fields->v[a] = out;
	}
	for (size_t i = 0; i < fields->ncustom; i++) {
		struct kl_custom *f = &fields->custom[i];
		char *digits = NULL;
		if (!f->value[0])
			return kl_err_set(err, KL_EDATA, "%s: the value is empty; give one, e.g. --field %llu=text", f->label,
					  f->id);
		if (f->numeric ? kl_check_number(f->label, f->value, &digits, err) : kl_check_text(f->label, f->value, err))
			return kl_err_as(err, KL_EDATA);
		if (digits) {
			free(f->value);
			f->value = digits;
		}
	}
	return KL_OK;
}

/* A contact's name: --name, or --first-name and --last-name joined. */
static int check_contact_name(const struct kl_entity_opts *e, struct checked *c, struct kl_err *err)
{
	if (e->name)
		return check_name("--name", e->name, &c->name, err);
	char *joined = kl_str_printf("%s%s%s", e->first_name ? e->first_name : "",
				     e->first_name && e->last_name ? " " : "", e->last_name ? e->last_name : "");
	if (!joined)
		return kl_err_oom(err);
	int rc = kl_check_name("--first-name and --last-name", joined, &c->name, err);
	free(joined);
	return rc ? kl_err_as(err, KL_EDATA) : KL_OK;
}

/* Every value, in the order the body is built. */
static int check_values(const struct kl_opts *o, const struct kl_account *acct, bool contact, struct checked *c,
			struct kl_err *err)
{
	const struct kl_entity_opts *e = &o->ent;
	int rc;
	if (contact) {
		if ((rc = check_contact_name(e, c, err)) || (rc = check_name("--first-name", e->first_name, &c->first_name, err)) ||
		    (rc = check_name("--last-name", e->last_name, &c->last_name, err)))
			return rc;
		if ((e->phone && kl_check_phone("--phone", e->phone, acct->phone_region, &c->fields.v[KL_ATTR_PHONE], err)) ||
		    (e->email && kl_check_email("--email", e->email, &c->fields.v[KL_ATTR_EMAIL], err)))
			return kl_err_as(err, KL_EDATA);
		return KL_OK;
	}
	/* update changes only what was given: the configured pipeline is for create */
	c->pipeline = acct->pipeline_id;
	if (o->command == KL_CMD_LEADS_UPDATE) {
		c->pipeline = 0;
		if (o->flags.value[KL_CFG_PIPELINE_ID] &&
		    kl_check_id("--pipeline", o->flags.value[KL_CFG_PIPELINE_ID], "12984871", &c->pipeline, err))
			return kl_err_as(err, KL_EUSAGE);
	}
	if ((rc = check_name("--name", e->name, &c->name, err)) || (rc = kl_lead_copy(&c->fields, &e->fields, err)) ||
	    (rc = check_fields(&c->fields, acct, err)))
		return rc;
	/* each field has an id (or a code) in this account, and none is set twice */
	return kl_lead_fits_account(&c->fields, acct, NULL, NULL, err);
}

/* Adds key: v, when given; false when memory ran out. */
static bool add_text(cJSON *o, const char *key, const char *v)
{
	return !v || cJSON_AddStringToObject(o, key, v);
}

static bool add_num(cJSON *o, const char *key, unsigned long long v)
{
	return !v || cJSON_AddNumberToObject(o, key, (double)v);
}

/* leads create --contact: _embedded.contacts[] of the lead, each {"id": N},
 * as Kommo's "Add leads" links a new lead to existing contacts. */
static bool add_links(const struct kl_entity_opts *e, cJSON *lead)
{
	cJSON *list = NULL, *emb = e->ncontacts ? cJSON_AddObjectToObject(lead, "_embedded") : NULL;
	if (e->ncontacts && !(emb && (list = cJSON_AddArrayToObject(emb, "contacts"))))
		return false;
	for (size_t i = 0; i < e->ncontacts; i++) {
		cJSON *c = cJSON_CreateObject();
		if (!c || !cJSON_AddItemToArray(list, c) || !add_num(c, "id", e->contacts[i]))
			return false;
	}
	return true;
}

/* The lead of leads create or leads update; fails only for memory. */
static int build_lead(const struct kl_opts *o, const struct kl_account *acct, const struct checked *c, cJSON *lead,
		      struct sent *sent, struct kl_err *err)
{
	const struct kl_entity_opts *e = &o->ent;
	int rc;
	if (!(add_text(lead, "name", c->name) && (!e->has_price || cJSON_AddNumberToObject(lead, "price", (double)e->price)) &&
	      add_num(lead, "pipeline_id", c->pipeline) && add_num(lead, "status_id", e->status) &&
	      add_num(lead, "responsible_user_id", e->responsible)))
		return kl_err_oom(err);
	if ((rc = kl_payload_custom_fields(lead, &c->fields, KL_ENTITY_LEAD, acct, &sent->notes, err)))
		return rc;
	return add_links(e, lead) ? KL_OK : kl_err_oom(err);
}

/* The contact of contacts create, its custom fields' labels noted in sent.
 * Fails only for memory. */
static int build_contact(const struct kl_opts *o, const struct kl_account *acct, const struct checked *c,
			 cJSON *contact, struct sent *sent, struct kl_err *err)
{
	const struct kl_entity_opts *e = &o->ent;
	bool ok = add_text(contact, "name", c->name) && add_text(contact, "first_name", c->first_name) &&
		  add_text(contact, "last_name", c->last_name) && add_num(contact, "responsible_user_id", e->responsible) &&
		  add_num(contact, "created_by", e->created_by);
	return ok ? kl_payload_custom_fields(contact, &c->fields, KL_ENTITY_CONTACT, acct, &sent->notes, err)
		  : kl_err_oom(err);
}

/* The id in the reply to a create: _embedded.KEY[0].id. */
static long long created_id(const cJSON *reply, const char *key)
{
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(reply, "_embedded"), key);
	return kl_reply_key_id(cJSON_GetArrayItem(list, 0), "id");
}

static int write_result(const struct kl_io *io, bool json, const char *key, long long id,
			const cJSON *updated_at, struct kl_err *err)
{
	char digits[24], upd_digits[24];
	/* only a whole number is a time: anything else from the reply stays out of the output */
	long long upd = kl_reply_id(updated_at);
	snprintf(digits, sizeof digits, "%lld", id); /* ids never go through a double */
	snprintf(upd_digits, sizeof upd_digits, "%lld", upd);
	if (!json) {
		char text[96];
		int n = upd ? snprintf(text, sizeof text, "%s=%s updated_at=%s\n", key, digits, upd_digits)
			    : snprintf(text, sizeof text, "%s=%s\n", key, digits);
		return kl_io_write(io, text, (size_t)n, err);
	}
	cJSON *o = cJSON_CreateObject();
	int rc = o && cJSON_AddRawToObject(o, key, digits) && (!upd || cJSON_AddRawToObject(o, "updated_at", upd_digits))
			 ? kl_io_json(io, o, err)
			 : kl_err_oom(err);
	cJSON_Delete(o);
	return rc;
}

int crm_change(const struct kl_opts *o, const struct kl_io *io, const struct kl_config *cfg,
		  const struct kl_account *acct, struct kl_err *err)
{
	bool contact = o->command == KL_CMD_CONTACTS_CREATE, update = o->command == KL_CMD_LEADS_UPDATE;
	const char *what = contact ? "the contact" : "the lead";
	struct sent sent = {.what = what, .ent = &o->ent};
	cJSON *entity = cJSON_CreateObject(), *body = NULL, *reply = NULL;
	char *text = NULL, *path = NULL;
	struct kl_api api = {0};
	struct kl_account remote = {0};
	long status = 0;
	enum kl_api_outcome outcome = KL_API_NOT_SENT;
	struct checked vals = {0};
	int rc;

	if (!entity) {
		rc = kl_err_oom(err);
		goto out;
	}
	if ((rc = check_values(o, acct, contact, &vals, err)) ||
	    (rc = contact ? build_contact(o, acct, &vals, entity, &sent, err)
			  : build_lead(o, acct, &vals, entity, &sent, err)))
		goto out;
	if (update) {
		body = entity; /* PATCH /leads/{id} takes one object */
		path = kl_str_printf(LEADS_PATH "/%llu", o->ent.id);
	} else {
		if ((body = cJSON_CreateArray()) && !cJSON_AddItemToArray(body, entity)) {
			cJSON_Delete(body);
			body = NULL;
		}
		path = strdup(contact ? CONTACTS_PATH : LEADS_PATH);
	}
	sent.item = entity;
	if (body)
		entity = NULL; /* owned by body now */
	if (!body || !path || !(text = cJSON_PrintUnformatted(body))) {
		rc = kl_err_oom(err);
		goto out;
	}
	if (o->dry_run) {
		if ((rc = kl_io_write(io, text, strlen(text), err)) == KL_OK)
			rc = kl_io_write(io, "\n", 1, err);
		goto out;
	}
	if ((rc = kl_session_open_remote(o, io, cfg, &remote, &api, err)))
		goto out;
	rc = kl_api_call(&api, update ? "PATCH" : "POST", path, text, what, origin_of, &sent, &reply, &status, &outcome, err);
	if (rc && update && status == 404) {
		/* Kommo's own words (its advice for a wrong address, the URL) would
		 * only tangle the one thing to do; the address gets a plain hint */
		rc = kl_err_set(err, KL_EDATA,
				"Kommo has no lead %llu (HTTP 404): find the lead's id with kommo-lead leads search\n"
				"(if every command gets HTTP 404, check KOMMO_SUBDOMAIN, KOMMO_DOMAIN or KOMMO_BASE_URL)",
				o->ent.id);
		goto out;
	}
	if (rc && outcome == KL_API_UNKNOWN && !(status >= 200 && status < 300)) {
		/* the request may have been acted on */
		char first[sizeof err->msg];
		snprintf(first, sizeof first, "%s", err->msg);
		rc = kl_err_set(err, rc, "%s\n%s may or may not have been %s: look in Kommo before trying again", first,
				what, update ? "updated" : "created");
		goto out;
	}
	if (rc && status >= 200 && status < 300) { /* unreadable, too slow or cut short */
		char first[sizeof err->msg];
		snprintf(first, sizeof first, "%s", err->msg);
		rc = kl_err_set(err, rc, "%s\nKommo answered %ld, so %s was probably %s: look in Kommo before trying again",
				first, status, what, update ? "updated" : "created");
		goto out;
	}
	if (rc)
		goto out;
	long long id = update ? kl_reply_key_id(reply, "id") : created_id(reply, contact ? "contacts" : "leads");
	if (!id) {
		rc = kl_err_set(err, KL_EPROTOCOL, "Kommo answered %ld, so %s was probably %s, but the reply has no id: look in Kommo before trying again",
				status, what, update ? "updated" : "created");
		goto out;
	}
	rc = write_result(io, o->json, contact ? "contact_id" : "lead_id", id,
			  update ? cJSON_GetObjectItemCaseSensitive(reply, "updated_at") : NULL, err);
out:
	cJSON_Delete(entity);
	cJSON_Delete(body);
	checked_free(&vals); /* after the tree, which borrows its strings */
	kl_buf_free(&sent.notes);
	cJSON_Delete(reply);
	free(text);
	free(path);
	kl_api_close(&api);
	kl_account_free(&remote);
	return rc;
}

