/* The leads and contacts commands, and the search behind --skip-existing. */
#include "cmd/kl_crm.h"
#include "crm_int.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/kl_check.h"
#include "kommo/kl_reply.h"
#include "shared/kl_session.h"
#include "util/kl_str.h"
#include "util/kl_table.h"
#include "util/kl_url.h"

#define PIPELINES_PATH "/api/v4/leads/pipelines"
#define DEFAULT_LIMIT 50


/* --- values of a contact's multitext fields --------------------------------------- */

/* Whether a custom_fields_values entry is the field for code (PHONE, EMAIL),
 * by its code or by the configured id. */
static bool is_field(const cJSON *entry, const char *code, unsigned long long id)
{
	const char *c = kl_reply_str(entry, "field_code");
	return (c && strcmp(c, code) == 0) || (id && kl_reply_key_id(entry, "field_id") == (long long)id);
}

/* Calls fn for every value of the contact's field for code. */
static void each_value(const cJSON *contact, const char *code, unsigned long long id,
		       void (*fn)(void *ctx, const char *value), void *ctx)
{
	const cJSON *e;
	cJSON_ArrayForEach(e, kl_reply_array(contact, "custom_fields_values"))
	{
		if (!cJSON_IsObject(e))
			continue;
		const cJSON *v;
		if (!is_field(e, code, id))
			continue;
		cJSON_ArrayForEach(v, kl_reply_array(e, "values"))
		{
			if (!cJSON_IsObject(v))
				continue;
			const cJSON *val = cJSON_GetObjectItemCaseSensitive(v, "value");
			if (cJSON_IsString(val))
				fn(ctx, val->valuestring);
		}
	}
}

struct joined {
	struct kl_buf text; /* "a, b" */
	cJSON *arr;         /* ["a", "b"] */
	bool oom;
};

static void join_value(void *ctx, const char *value)
{
	struct joined *j = ctx;
	if (kl_buf_appendf(&j->text, "%s%s", j->text.len ? ", " : "", value) ||
	    (j->arr && !cJSON_AddItemToArray(j->arr, cJSON_CreateString(value))))
		j->oom = true;
}

/* The digits of a phone, with the international prefix 00 dropped and
 * 8XXXXXXXXXX as 7XXXXXXXXXX (a Russian number written the domestic way). */
static void phone_digits(const char *s, char *out, size_t size)
{
	size_t n = 0;
	for (; *s && n + 1 < size; s++)
		if (isdigit((unsigned char)*s))
			out[n++] = *s;
	out[n] = '\0';
	if (n > 2 && out[0] == '0' && out[1] == '0')
		memmove(out, out + 2, (n -= 2) + 1);
	if (n == 11 && out[0] == '8')
		out[0] = '7';
}

/* Two phones' digits (phone_digits) are one number: equal, or one is the
 * other's last ten digits (written without the country code). */
static bool same_phone(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);
	if (na > nb) {
		const char *t = a;
		a = b, b = t;
		size_t tn = na;
		na = nb, nb = tn;
	}
	return na > 0 && (strcmp(a, b) == 0 || (na == 10 && strcmp(a, b + nb - 10) == 0));
}

/* Whether a search QUERY is a phone number: only digits and + - ( ) . and
 * spaces, at least seven digits. */
static bool looks_like_phone(const char *q)
{
	size_t digits = 0;
	for (; *q; q++) {
		if (isdigit((unsigned char)*q))
			digits++;
		else if (!strchr("+-(). ", *q))
			return false;
	}
	return digits >= 7;
}

/* What to ask Kommo for a phone: its last ten digits, which +7 999...,
 * 8 999... and 999... all hold (Kommo keeps numbers as they were typed). */
static const char *phone_query(const char *phone, char *digits, size_t size)
{
	phone_digits(phone, digits, size);
	size_t n = strlen(digits);
	return digits + (n > 10 ? n - 10 : 0);
}

/* A phone in the form every spelling of one number shares: libphonenumber's
 * E.164, read in the account's phone region, without an extension (the
 * contact is reached at the number); phone_digits when it cannot be read. */
static void phone_key(const char *s, const char *region, char *out, size_t size)
{
	char *n = NULL;
	if (kl_check_phone("", s, region, &n, NULL) == KL_OK && n[0] == '+') {
		n[strcspn(n, " ")] = '\0';
		snprintf(out, size, "%s", n);
	} else {
		phone_digits(s, out, size);
	}
	free(n);
}

/* Two phone_keys are one number: equal E.164 forms; when one could not be
 * read (a number stored without its country code), same_phone's digits. */
static bool same_phone_key(const char *a, const char *b)
{
	if (a[0] == '+' && b[0] == '+')
		return strcmp(a, b) == 0;
	return same_phone(a + (a[0] == '+'), b + (b[0] == '+'));
}

struct match {
	const char *want; /* the phone's phone_key, or the email */
	const char *region;
	bool phone;
	bool hit;
};

static void match_value(void *ctx, const char *value)
{
	struct match *m = ctx;
	if (m->phone) {
		char d[64];
		phone_key(value, m->region, d, sizeof d);
		m->hit |= same_phone_key(d, m->want);
	} else {
		char *t = kl_str_trimmed(value);
		m->hit |= t && strcasecmp(t, m->want) == 0;
		free(t);
	}
}

/* Searches contacts for value; *id: the first that really holds it, and
 * *other (when not NULL) another one that does too, else 0. */
static int find_by(struct kl_api *api, const struct kl_account *acct, const char *value, bool phone,
		   long long *id, long long *other, struct kl_err *err)
{
	char digits[64], qd[64];
	if (phone)
		phone_key(value, acct->phone_region, digits, sizeof digits);
	const char *what = phone ? phone_query(digits, qd, sizeof qd) : value;
	char *path = kl_url_path_query(CONTACTS_PATH, "query", what);
	cJSON *items = NULL;
	if (!path)
		return kl_err_oom(err);
	/* one page of Kommo's largest: the loose search may find others first */
	int rc = kl_api_list(api, path, "contacts", 250, &items, NULL, err);
	free(path);
	if (rc)
		return rc;
	/* Kommo's search is loose (any field, parts of words): only an equal value counts */
	struct match m = {phone ? digits : value, acct->phone_region, phone, false};
	const cJSON *c;
	cJSON_ArrayForEach(c, items)
	{
		if (!cJSON_IsObject(c))
			continue;
		m.hit = false;
		each_value(c, phone ? "PHONE" : "EMAIL",
			   acct->id[phone ? KL_CFG_PHONE_FIELD_ID : KL_CFG_EMAIL_FIELD_ID], match_value, &m);
		long long cid = m.hit ? kl_reply_key_id(c, "id") : 0;
		if (cid && !*id)
			*id = cid;
		else if (cid && cid != *id && other)
			*other = cid;
		if (*id && (!other || *other))
			break;
	}
	cJSON_Delete(items);
	return KL_OK;
}

int kl_crm_find_contact(struct kl_api *api, const struct kl_account *acct, const char *phone,
			const char *email, long long *contact_id, const char **matched, struct kl_err *err)
{
	int rc = KL_OK;
	*contact_id = 0;
	*matched = NULL;
	if (phone && (rc = find_by(api, acct, phone, true, contact_id, NULL, err)) == KL_OK && *contact_id)
		*matched = "phone";
	if (rc == KL_OK && !*contact_id && email &&
	    (rc = find_by(api, acct, email, false, contact_id, NULL, err)) == KL_OK && *contact_id)
		*matched = "email";
	return rc;
}

/* --- search --------------------------------------------------------------------- */

static const char *status_name(const cJSON *pipeline, long long id)
{
	const cJSON *s;
	cJSON_ArrayForEach(s, kl_reply_array(cJSON_GetObjectItemCaseSensitive(pipeline, "_embedded"), "statuses"))
	{
		if (!cJSON_IsObject(s))
			continue;
		if (kl_reply_key_id(s, "id") == id)
			return kl_reply_str(s, "name");
	}
	return NULL;
}

/* A lead's linked contacts (GET ?with=contacts): into arr as {"id", "is_main"}
 * when arr is given, and as "7654321, 7654322" into text. */
static bool lead_contacts(const cJSON *lead, cJSON *arr, struct kl_buf *text)
{
	const cJSON *c;
	cJSON_ArrayForEach(c, kl_reply_array(cJSON_GetObjectItemCaseSensitive(lead, "_embedded"), "contacts"))
	{
		long long id = kl_reply_key_id(c, "id");
		if (!id)
			continue;
		cJSON *o = arr ? cJSON_CreateObject() : NULL;
		if (arr && (!o || !cJSON_AddItemToArray(arr, o) || !kl_report_add_id(o, "id", id) ||
			    !cJSON_AddBoolToObject(o, "is_main", cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "is_main")))))
			return false;
		if (kl_buf_appendf(text, "%s%lld", text->len ? ", " : "", id))
			return false;
	}
	return true;
}

/* The leads found, as the table or the JSON array. */
static int show_leads(const cJSON *items, const cJSON *pipelines, bool json, struct kl_buf *out)
{
	struct kl_table t;
	cJSON *arr = json ? cJSON_CreateArray() : NULL;
	const char *head[] = {"ID", "NAME", "PRICE", "PIPELINE", "STATUS", "CONTACTS"};
	int fail = 0;
	if (json && !arr)
		return -1;
	const cJSON *l;
	kl_table_init(&t, 6);
	fail |= kl_table_add(&t, head);
	cJSON_ArrayForEach(l, items)
	{
		if (!cJSON_IsObject(l))
			continue;
		long long pid = kl_reply_key_id(l, "pipeline_id"), sid = kl_reply_key_id(l, "status_id");
		const cJSON *p = kl_reply_find_id(pipelines, pid);
		const char *pname = kl_reply_str(p, "name"), *sname = status_name(p, sid), *name = kl_reply_str(l, "name");
		const cJSON *price = cJSON_GetObjectItemCaseSensitive(l, "price");
		char *ptext = kl_reply_text(price);
		struct kl_buf contacts = {0};
		cJSON *links;
		if (json) {
			cJSON *o = cJSON_CreateObject();
			fail |= !o || !cJSON_AddItemToArray(arr, o) || !kl_report_add_id(o, "id", kl_reply_key_id(l, "id")) ||
				!kl_report_add_text(o, "name", name) ||
				!(cJSON_IsNumber(price) ? cJSON_AddNumberToObject(o, "price", price->valuedouble) != NULL
							: cJSON_AddNullToObject(o, "price") != NULL) ||
				!kl_report_add_id(o, "pipeline_id", pid) || !kl_report_add_text(o, "pipeline", pname) ||
				!kl_report_add_id(o, "status_id", sid) || !kl_report_add_text(o, "status", sname) ||
				!kl_report_add_id(o, "responsible_user_id", kl_reply_key_id(l, "responsible_user_id")) ||
				!(links = cJSON_AddArrayToObject(o, "contacts")) || !lead_contacts(l, links, &contacts);
		} else {
			char id[32], pbuf[32], sbuf[32];
			snprintf(id, sizeof id, "%lld", kl_reply_key_id(l, "id"));
			snprintf(pbuf, sizeof pbuf, "%lld", pid);
			snprintf(sbuf, sizeof sbuf, "%lld", sid);
			fail |= !lead_contacts(l, NULL, &contacts);
			const char *row[] = {id, name, ptext, pname ? pname : pbuf, sname ? sname : sbuf, contacts.data};
			fail |= kl_table_add(&t, row);
		}
		kl_buf_free(&contacts);
		free(ptext);
	}
	if (json) {
		char *text = arr ? cJSON_PrintUnformatted(arr) : NULL;
		fail |= !text || kl_buf_appendf(out, "%s\n", text);
		free(text);
	} else if (t.nrows > 1) {
		fail |= kl_table_render(&t, out);
	}
	cJSON_Delete(arr);
	kl_table_free(&t);
	return fail;
}

static int show_contacts(const cJSON *items, const struct kl_account *acct, bool json, struct kl_buf *out)
{
	struct kl_table t;
	cJSON *arr = json ? cJSON_CreateArray() : NULL;
	const char *head[] = {"ID", "NAME", "PHONES", "EMAILS"};
	int fail = 0;
	if (json && !arr)
		return -1;
	const cJSON *c;
	kl_table_init(&t, 4);
	fail |= kl_table_add(&t, head);
	cJSON_ArrayForEach(c, items)
	{
		if (!cJSON_IsObject(c))
			continue;
		cJSON *o = json ? cJSON_CreateObject() : NULL;
		struct joined ph = {{0}, NULL, false}, em = {{0}, NULL, false};
		if (json) {
			fail |= !o || !cJSON_AddItemToArray(arr, o) || !kl_report_add_id(o, "id", kl_reply_key_id(c, "id")) ||
				!kl_report_add_text(o, "name", kl_reply_str(c, "name")) ||
				!kl_report_add_text(o, "first_name", kl_reply_str(c, "first_name")) ||
				!kl_report_add_text(o, "last_name", kl_reply_str(c, "last_name")) ||
				!(ph.arr = cJSON_AddArrayToObject(o, "phones")) ||
				!(em.arr = cJSON_AddArrayToObject(o, "emails"));
		}
		if (!fail) {
			each_value(c, "PHONE", acct->id[KL_CFG_PHONE_FIELD_ID], join_value, &ph);
			each_value(c, "EMAIL", acct->id[KL_CFG_EMAIL_FIELD_ID], join_value, &em);
			fail |= ph.oom || em.oom;
		}
		if (!json && !fail) {
			char id[32];
			snprintf(id, sizeof id, "%lld", kl_reply_key_id(c, "id"));
			const char *row[] = {id, kl_reply_str(c, "name"), ph.text.data, em.text.data};
			fail |= kl_table_add(&t, row);
		}
		kl_buf_free(&ph.text);
		kl_buf_free(&em.text);
	}
	if (json) {
		char *text = arr && !fail ? cJSON_PrintUnformatted(arr) : NULL;
		fail |= !text || kl_buf_appendf(out, "%s\n", text);
		free(text);
	} else if (t.nrows > 1) {
		fail |= kl_table_render(&t, out);
	}
	cJSON_Delete(arr);
	kl_table_free(&t);
	return fail;
}

/* Whether a search QUERY is an email address. */
static bool looks_like_email(const char *q)
{
	char *norm = NULL;
	bool yes = strchr(q, '@') && kl_check_email("QUERY", q, &norm, NULL) == KL_OK;
	free(norm);
	return yes;
}

/* s trimmed, each run of white space one space; with fold, ASCII and
 * Cyrillic letters in lower case and Ё as Е too. Folded, a name as --first
 * compares it (kl_str_fold, which drops spaces and other letters, is too
 * loose here); not, what Kommo's search is given, so that "Иван  Петров"
 * finds what "Иван Петров" does. */
static char *name_form(const char *s, bool fold)
{
	static const char space[] = " \t\n\v\f\r";
	char *d = malloc(strlen(s) + 1), *o = d;
	const unsigned char *p = (const unsigned char *)s;
	if (!d)
		return NULL;
	while (*p) {
		if (strchr(space, *p)) {
			while (*p && strchr(space, *p))
				p++;
			if (o != d && *p)
				*o++ = ' ';
		} else if (fold && p[0] == 0xD0 && p[1] >= 0x90 && p[1] <= 0xAF) { /* А..Я */
			*o++ = (char)(p[1] < 0xA0 ? 0xD0 : 0xD1);
			*o++ = (char)(p[1] < 0xA0 ? p[1] + 0x20 : p[1] - 0x20);
			p += 2;
		} else if (fold && ((p[0] == 0xD0 && p[1] == 0x81) || (p[0] == 0xD1 && p[1] == 0x91))) { /* Ё ё */
			*o++ = (char)0xD0;
			*o++ = (char)0xB5;
			p += 2;
		} else {
			*o++ = (char)(fold && *p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
			p++;
		}
	}
	*o = '\0';
	return d;
}

static char *name_key(const char *s)
{
	return name_form(s, true);
}

/* Whether an entity's name is key (a name_key): its name, or for a
 * contact its first and last name as "first last". */
static bool named(const cJSON *x, const char *key, bool contact)
{
	const char *first = kl_reply_str(x, "first_name"), *last = kl_reply_str(x, "last_name");
	char *n = kl_reply_str(x, "name") ? name_key(kl_reply_str(x, "name")) : NULL;
	bool yes = n && strcmp(n, key) == 0;
	free(n);
	if (!yes && contact && first && last) {
		char *both = kl_str_printf("%s %s", first, last);
		n = both ? name_key(both) : NULL;
		yes = n && strcmp(n, key) == 0;
		free(both);
		free(n);
	}
	return yes;
}

/* The one lead or contact named q (named); 0 in *id when none is. Two of
 * that name are an error: a script cannot tell which one it meant. */
static int find_named(struct kl_api *api, const char *q, bool leads, long long *id, struct kl_err *err)
{
	const char *what = leads ? "lead" : "contact";
	char *key = name_key(q), *sent = key ? name_form(q, false) : NULL;
	char *path = sent ? kl_url_path_query(leads ? LEADS_PATH : CONTACTS_PATH, "query", sent) : NULL;
	free(sent);
	cJSON *items = NULL;
	long long other = 0;
	char qbuf[256];
	/* one page of Kommo's largest: its loose search may list others first */
	int rc = path ? kl_api_list(api, path, leads ? "leads" : "contacts", 250, &items, NULL, err) : kl_err_oom(err);
	const cJSON *x;
	cJSON_ArrayForEach(x, items)
	{
		long long xid = cJSON_IsObject(x) && named(x, key, !leads) ? kl_reply_key_id(x, "id") : 0;
		if (xid && !*id)
			*id = xid;
		else if (xid && xid != *id && !other)
			other = xid;
	}
	if (other)
		rc = kl_err_set(err, KL_EDATA, "two or more %ss are named %s (%lld, %lld): %s", what,
				kl_str_quote(q, qbuf, sizeof qbuf), *id, other,
				leads ? "give the lead's id" : "search by the contact's phone or email, or give its id");
	cJSON_Delete(items);
	free(path);
	free(key);
	return rc;
}

/* Whether a contacts QUERY is meant as a phone: only digits and + - ( ) .
 * and spaces, with a digit. */
static bool phone_like(const char *q)
{
	return q[strspn(q, "0123456789+-(). ")] == '\0' && strpbrk(q, "0123456789");
}

/* A contacts search --first QUERY written as a phone that is none
 * ("12345") is refused before anything is sent: no contact holds it, and a
 * name search for digits would only find someone else's number. */
static int first_query_ok(const char *q, const struct kl_account *acct, struct kl_err *err)
{
	struct kl_err why = {0};
	char *norm = NULL;
	if (!phone_like(q) || kl_check_phone("QUERY", q, acct->phone_region, &norm, &why) == KL_OK) {
		free(norm);
		return KL_OK;
	}
	const char *w = why.msg;
	if (strncmp(w, "QUERY: ", 7) == 0)
		w += 7; /* the message names the query itself */
	return kl_err_set(err, KL_EUSAGE,
			  "contacts search --first QUERY is a whole phone number, an email or a contact's full name: %s",
			  w);
}

/* search --first: the id of the one entity that really holds q, or exit 1
 * (as grep's) with a line on stderr: Kommo's own search also matches parts
 * of any field, and a script would link a lead to whoever came first. A
 * contact holds q as an equal email, phone (as --skip-existing's search) or
 * name; a lead, as its name. */
static int first_match(struct kl_api *api, const struct kl_account *acct, const char *q, bool leads,
		       const struct kl_io *io, struct kl_err *err)
{
	char qbuf[256], line[32];
	long long id = 0;
	int rc;
	if (leads) {
		rc = find_named(api, q, true, &id, err);
	} else if (looks_like_email(q) || phone_like(q)) { /* a whole number: first_query_ok */
		long long other = 0;
		bool email = looks_like_email(q);
		rc = find_by(api, acct, q, !email, &id, &other, err);
		if (rc == KL_OK && other) /* a script cannot tell which one it meant */
			rc = kl_err_set(err, KL_EDATA, "two or more contacts hold the %s %s (%lld, %lld): give the contact's id",
					email ? "email" : "phone", kl_str_quote(q, qbuf, sizeof qbuf), id, other);
	} else {
		rc = find_named(api, q, false, &id, err);
	}
	if (rc)
		return rc;
	if (!id)
		return kl_err_set(err, KL_ENOMATCH, "no %s matches %s", leads ? "lead" : "contact",
				  kl_str_quote(q, qbuf, sizeof qbuf));
	int n = snprintf(line, sizeof line, "%lld\n", id);
	return kl_io_write(io, line, (size_t)n, err);
}

static int search(const struct kl_opts *o, const struct kl_io *io, const struct kl_config *cfg,
		  const struct kl_account *acct, bool leads, struct kl_err *err)
{
	char *q = kl_str_trimmed(o->ent.query), *path = NULL;
	cJSON *items = NULL, *pipelines = NULL, *preply = NULL;
	struct kl_buf out = {0};
	struct kl_api api = {0};
	struct kl_account remote = {0};
	int rc;
	if (!q)
		return kl_err_oom(err);
	if (!*q) {
		rc = kl_err_set(err, KL_EUSAGE, "%s: the QUERY is empty", kl_opts_command_name(o->command));
		goto out;
	}
	if ((rc = kl_check_line("QUERY", q, err))) {
		rc = kl_err_as(err, KL_EUSAGE);
		goto out;
	}
	if (o->ent.first && !leads && (rc = first_query_ok(q, acct, err)))
		goto out;
	if ((rc = kl_session_open_remote(o, io, cfg, &remote, &api, err)))
		goto out;
	if (o->ent.first) {
		rc = first_match(&api, acct, q, leads, io, err);
		goto out;
	}
	char qd[64];
	bool more = false;
	/* a phone is looked up however it was typed, here and in Kommo; a lead
	 * comes with its linked contacts */
	if (!(path = kl_url_path_query(leads ? LEADS_PATH "?with=contacts" : CONTACTS_PATH, "query",
				       looks_like_phone(q) ? phone_query(q, qd, sizeof qd) : q))) {
		rc = kl_err_oom(err);
		goto out;
	}
	if ((rc = kl_api_list(&api, path, leads ? "leads" : "contacts", o->ent.limit ? o->ent.limit : DEFAULT_LIMIT,
			      &items, &more, err)))
		goto out;
	if (more)
		kl_io_say(io, "showing the first %d; Kommo has more: raise --limit (now %lu)", cJSON_GetArraySize(items),
			  o->ent.limit ? o->ent.limit : DEFAULT_LIMIT);
	if (leads && cJSON_GetArraySize(items) > 0) {
		/* names for the pipeline and status ids */
		if ((rc = kl_api_call(&api, "GET", PIPELINES_PATH, NULL, "the request", NULL, NULL, &preply, NULL, NULL, err)))
			goto out;
		pipelines = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(preply, "_embedded"),
							     "pipelines");
	}
	int fail = leads ? show_leads(items, pipelines, o->json, &out) : show_contacts(items, acct, o->json, &out);
	if (fail)
		rc = kl_err_oom(err);
	else if (out.len)
		rc = kl_io_write(io, out.data, out.len, err);
out:
	free(q);
	free(path);
	cJSON_Delete(items);
	cJSON_Delete(preply);
	kl_buf_free(&out);
	kl_api_close(&api);
	kl_account_free(&remote);
	return rc;
}

int kl_crm_run(const struct kl_opts *o, const struct kl_io *io)
{
	struct kl_err err = {0};
	struct kl_config cfg = {0};
	struct kl_account acct = {0};
	bool search_cmd = o->command == KL_CMD_LEADS_SEARCH || o->command == KL_CMD_CONTACTS_SEARCH;
	int rc;

	/* what the user typed is checked first; an address and a token only
	 * when something is sent (--dry-run sends nothing) */
	if ((rc = kl_session_load_config(o, io, &cfg, &err)) == KL_OK &&
	    (rc = kl_config_resolve(&cfg, false, &acct, &err)) == KL_OK)
		rc = search_cmd ? search(o, io, &cfg, &acct, o->command == KL_CMD_LEADS_SEARCH, &err)
				: crm_change(o, io, &cfg, &acct, &err);
	if (rc && err.msg[0])
		kl_io_say_lines(io, err.msg);
	kl_account_free(&acct);
	kl_config_free(&cfg);
	return rc;
}
