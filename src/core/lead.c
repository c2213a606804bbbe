#include "core/kl_lead.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/kl_check.h"
#include "util/kl_digest.h"
#include "util/kl_str.h"

#define C KL_ENTITY_CONTACT
#define L KL_ENTITY_LEAD
#define N KL_ENTITY_NONE

/* Help lines are --help's "Lead:" section (continuations indented by the
 * command line); the alias, when there is one, is a second flag and "(alias
 * --surname)" in that line. */
static const struct kl_attr_info attrs[KL_ATTR_COUNT] = {
	[KL_ATTR_NAME] = {"name", "--name", KL_KIND_NAME, N, -1, NULL, NULL, "NAME", "first name (required)"},
	[KL_ATTR_LAST_NAME] = {"last_name", "--last-name", KL_KIND_NAME, N, -1, NULL, "--surname", "NAME", "last name"},
	[KL_ATTR_PHONE] = {"phone", "--phone", KL_KIND_PHONE, C, KL_CFG_PHONE_FIELD_ID, "PHONE", NULL, "PHONE",
			   "phone, international (+7 999 123-45-67) or, with\n"
			   "--phone-region, national (8 (999) 123-45-67); an\n"
			   "extension (доб. 12, ext. 12) is kept after it"},
	[KL_ATTR_EMAIL] = {"email", "--email", KL_KIND_EMAIL, C, KL_CFG_EMAIL_FIELD_ID, "EMAIL", NULL, "EMAIL",
			   "email (a phone or an email is required)"},
	[KL_ATTR_TELEGRAM] = {"telegram", "--telegram", KL_KIND_NAME, C, KL_CFG_TELEGRAM_FIELD_ID, NULL, NULL, "HANDLE",
			      "Telegram (needs KOMMO_TELEGRAM_FIELD_ID)"},
	[KL_ATTR_CAREER] = {"career", "--career", KL_KIND_TEXT, L, KL_CFG_CAREER_FIELD_ID, NULL, NULL, "TEXT",
			    "career/profession (needs KOMMO_CAREER_FIELD_ID)"},
	[KL_ATTR_EDUCATION] = {"education", "--education", KL_KIND_TEXT, L, KL_CFG_EDUCATION_FIELD_ID, NULL, NULL, "TEXT",
			       "education (needs KOMMO_EDUCATION_FIELD_ID)"},
	[KL_ATTR_INCOME] = {"income", "--income", KL_KIND_NUMBER, L, KL_CFG_INCOME_FIELD_ID, NULL, NULL, "NUMBER",
			    "income: 250000, 250 000 or 1 500,50 (needs\n"
			    "KOMMO_INCOME_FIELD_ID); 250,000 is refused as ambiguous"},
	[KL_ATTR_UTM_SOURCE] = {"utm_source", "--utm-source", KL_KIND_TEXT, L, KL_CFG_UTM_SOURCE_FIELD_ID, "UTM_SOURCE",
				"--source", "TEXT", "utm_source"},
	[KL_ATTR_UTM_MEDIUM] = {"utm_medium", "--utm-medium", KL_KIND_TEXT, L, KL_CFG_UTM_MEDIUM_FIELD_ID, "UTM_MEDIUM",
				NULL, "TEXT", "utm_medium"},
	[KL_ATTR_UTM_CAMPAIGN] = {"utm_campaign", "--utm-campaign", KL_KIND_TEXT, L, KL_CFG_UTM_CAMPAIGN_FIELD_ID,
				  "UTM_CAMPAIGN", NULL, "TEXT", "utm_campaign"},
	[KL_ATTR_UTM_CONTENT] = {"utm_content", "--utm-content", KL_KIND_TEXT, L, KL_CFG_UTM_CONTENT_FIELD_ID,
				 "UTM_CONTENT", NULL, "TEXT", "utm_content"},
	[KL_ATTR_UTM_TERM] = {"utm_term", "--utm-term", KL_KIND_TEXT, L, KL_CFG_UTM_TERM_FIELD_ID, "UTM_TERM", NULL,
			      "TEXT", "utm_term"},
	[KL_ATTR_UTM_REFERRER] = {"utm_referrer", "--utm-referrer", KL_KIND_TEXT, L, KL_CFG_UTM_REFERRER_FIELD_ID,
				  "UTM_REFERRER", NULL, "TEXT", "utm_referrer"},
	[KL_ATTR_PRICE] = {"price", "--price", KL_KIND_PRICE, N, -1, NULL, NULL, "N",
			   "the lead's price, a whole number (default 0)"},
	[KL_ATTR_LEAD_NAME] = {"lead_name", "--lead-name", KL_KIND_TEXT, N, -1, NULL, NULL, "TEXT",
			       "the lead's title (default \"Заявка: NAME LAST-NAME\")"},
	[KL_ATTR_TAGS] = {"tags", "--tag", KL_KIND_TAGS, N, -1, NULL, NULL, "NAME",
			  "a tag on the lead (repeatable; a,b gives two); a\n"
			  "row's tags column adds to these"},
	[KL_ATTR_SOURCE_UID] = {"source_uid", "--source-uid", KL_KIND_NAME, N, -1, NULL, NULL, "UID",
				"the lead's id in an upstream system; kommo-lead finds\n"
				"a lead whose answer was lost by it (Kommo does not\n"
				"refuse a second one: it is no guard) (default: MD5 of\n"
				"\"<email or phone>-<unix milliseconds>\")"},
	[KL_ATTR_REFERER] = {"referer", "--referer", KL_KIND_NAME, N, -1, NULL, NULL, "URL",
			     "the page the person came from"},
};

const struct kl_attr_info *kl_attr_info(enum kl_attr a)
{
	return &attrs[a];
}

void kl_lead_free(struct kl_lead *lead)
{
	if (!lead)
		return;
	for (int a = 0; a < KL_ATTR_COUNT; a++)
		free(lead->v[a]);
	for (size_t i = 0; i < lead->ncustom; i++) {
		free(lead->custom[i].value);
		free(lead->custom[i].label);
	}
	free(lead->custom);
	memset(lead, 0, sizeof *lead);
}

int kl_lead_copy(struct kl_lead *dst, const struct kl_lead *src, struct kl_err *err)
{
	memset(dst, 0, sizeof *dst);
	dst->created_at = src->created_at;
	memcpy(dst->region, src->region, sizeof dst->region);
	for (int a = 0; a < KL_ATTR_COUNT; a++)
		if (src->v[a] && !(dst->v[a] = strdup(src->v[a])))
			goto oom;
	if (src->ncustom && !(dst->custom = calloc(src->ncustom, sizeof *dst->custom)))
		goto oom;
	for (size_t i = 0; i < src->ncustom; i++) {
		struct kl_custom *c = &dst->custom[i];
		*c = src->custom[i];
		c->value = strdup(src->custom[i].value);
		c->label = strdup(src->custom[i].label);
		dst->ncustom++;
		if (!c->value || !c->label)
			goto oom;
	}
	return KL_OK;
oom:
	kl_lead_free(dst);
	return kl_err_oom(err);
}

/* Tags: names joined by ','; each piece trimmed, one line; empty pieces and
 * repeats dropped. *out is NULL when none is left. */
static int check_tags(const char *what, const char *in, char **out, struct kl_err *err)
{
	struct kl_buf b = {0};
	char *list = strdup(in), *save = NULL;
	int rc = KL_OK;
	*out = NULL;
	if (!list)
		return kl_err_oom(err);
	for (char *p = strtok_r(list, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
		char *t = NULL;
		if (p[strspn(p, " ")] == '\0')
			continue; /* "a,,b" or a trailing comma: a spreadsheet's habit, not a tag */
		if ((rc = kl_check_name(what, p, &t, err)))
			break;
		/* a repeat would be a second tag of the same name to Kommo */
		bool seen = false;
		for (const char *q = b.data; q && *q && !seen; q += strcspn(q, ","), q += *q == ',')
			seen = strcspn(q, ",") == strlen(t) && strncmp(q, t, strlen(t)) == 0;
		if (!seen && kl_buf_appendf(&b, "%s%s", b.len ? "," : "", t))
			rc = kl_err_oom(err);
		free(t);
		if (rc)
			break;
	}
	free(list);
	if (rc)
		kl_buf_free(&b);
	else
		*out = b.data;
	return rc;
}

int kl_lead_set(struct kl_lead *lead, enum kl_attr a, const char *value, const char *label,
		struct kl_err *err)
{
	if (attrs[a].kind == KL_KIND_TAGS) {
		char *checked = NULL, *joined;
		int rc = check_tags(label, value, &checked, err);
		if (rc || !checked)
			return rc;
		joined = lead->v[a] ? kl_str_printf("%s,%s", lead->v[a], checked) : checked;
		if (joined != checked)
			free(checked);
		if (!joined)
			return kl_err_oom(err);
		free(lead->v[a]);
		lead->v[a] = joined;
		return KL_OK;
	}
	if (lead->v[a])
		return kl_err_set(err, KL_EUSAGE, "%s given twice; a lead takes one", label);
	if (!(lead->v[a] = strdup(value)))
		return kl_err_oom(err);
	return KL_OK;
}

int kl_lead_add_field_spec(struct kl_lead *lead, const char *spec, const char *label,
			   struct kl_err *err)
{
	char qbuf[256];
	enum kl_entity ent;
	const char *p;
	if (strncmp(spec, "lead:", 5) == 0)
		ent = KL_ENTITY_LEAD, p = spec + 5;
	else if (strncmp(spec, "contact:", 8) == 0)
		ent = KL_ENTITY_CONTACT, p = spec + 8;
	else
		return kl_err_set(err, KL_EUSAGE,
				  "%s %s: expected lead:ID=VALUE or contact:ID=VALUE, e.g. lead:1709500=Germany",
				  label, kl_str_quote(spec, qbuf, sizeof qbuf));
	const char *eq = strchr(p, '=');
	if (!eq)
		return kl_err_set(err, KL_EUSAGE, "%s %s: missing =VALUE, e.g. %s=Germany", label,
				  kl_str_quote(spec, qbuf, sizeof qbuf), spec);
	const char *colon = memchr(p, ':', (size_t)(eq - p));
	bool numeric = false;
	if (colon) {
		if ((size_t)(eq - colon) != 7 || strncmp(colon, ":number", 7) != 0)
			return kl_err_set(err, KL_EUSAGE,
					  "%s %s: after the id only :number may follow (lead:ID:number=5000 sends a number)",
					  label, kl_str_quote(spec, qbuf, sizeof qbuf));
		numeric = true;
	}
	char *ids = strndup(p, (size_t)((colon ? colon : eq) - p));
	char *what = kl_str_printf("%s %.*s", label, (int)(eq - spec), spec);
	unsigned long long id = 0;
	int rc = KL_OK;
	if (!ids || !what) {
		rc = kl_err_oom(err);
		goto out;
	}
	if ((rc = kl_check_id(what, ids, "1709500", &id, err)))
		goto out;
	struct kl_custom *c = realloc(lead->custom, (lead->ncustom + 1) * sizeof *c);
	if (!c) {
		rc = kl_err_oom(err);
		goto out;
	}
	lead->custom = c;
	c = &lead->custom[lead->ncustom];
	c->entity = ent;
	c->id = id;
	c->numeric = numeric;
	c->value = strdup(eq + 1);
	c->label = what;
	if (!c->value) {
		rc = kl_err_oom(err);
		goto out;
	}
	what = NULL;
	lead->ncustom++;
out:
	free(ids);
	free(what);
	return rc;
}

static void flag_label(void *ctx, enum kl_attr a, char *buf, size_t size)
{
	(void)ctx;
	snprintf(buf, size, "%s", attrs[a].flag);
}

int kl_attr_check(enum kl_attr a, const char *what, const char *in, const char *region, char **out,
		  struct kl_err *err)
{
	*out = NULL;
	switch (attrs[a].kind) {
	case KL_KIND_NAME:
		return kl_check_name(what, in, out, err);
	case KL_KIND_TEXT:
		return kl_check_free_text(what, in, out, err);
	case KL_KIND_PHONE:
		return kl_check_phone(what, in, region, out, err);
	case KL_KIND_EMAIL:
		return kl_check_email(what, in, out, err);
	case KL_KIND_NUMBER:
		return kl_check_number(what, in, out, err);
	case KL_KIND_PRICE: {
		unsigned long long price;
		int rc = kl_check_uint(what, in, 0, 9007199254740991ULL, &price, err);
		if (rc == KL_OK && !(*out = kl_str_printf("%llu", price)))
			rc = kl_err_oom(err);
		return rc;
	}
	case KL_KIND_TAGS:
		return check_tags(what, in, out, err);
	default:
		return kl_err_set(err, KL_ESOFTWARE, "%s: unknown kind", what);
	}
}

int kl_lead_check(struct kl_lead *lead, kl_label_fn label, void *ctx, struct kl_err *err)
{
	char what[256], other[256];
	int rc;
	if (!label)
		label = flag_label;

	if (!lead->v[KL_ATTR_NAME]) {
		label(ctx, KL_ATTR_NAME, what, sizeof what);
		return kl_err_set(err, KL_EDATA, "%s is required: the contact's first name", what);
	}
	if (!lead->v[KL_ATTR_PHONE] && !lead->v[KL_ATTR_EMAIL]) {
		label(ctx, KL_ATTR_PHONE, what, sizeof what);
		label(ctx, KL_ATTR_EMAIL, other, sizeof other);
		return kl_err_set(err, KL_EDATA, "%s or %s is required: Kommo needs a way to reach the person",
				  what, other);
	}
	for (int a = 0; a < KL_ATTR_COUNT; a++) {
		char *in = lead->v[a], *out = NULL;
		if (!in)
			continue;
		bool relabel = false;
		snprintf(what, sizeof what, "%s", attrs[a].flag);
	again:
		rc = kl_attr_check(a, what, in, lead->region, &out, err);
		if (rc == KL_OK && attrs[a].kind == KL_KIND_TAGS && !out) {
			free(lead->v[a]); /* only empty names: no tags */
			lead->v[a] = NULL;
		}
		if (rc && rc != KL_EOSERR && !relabel) {
			relabel = true;
			label(ctx, a, what, sizeof what);
			goto again;
		}
		if (rc)
			return rc;
		if (out) {
			free(lead->v[a]);
			lead->v[a] = out;
		}
	}
	for (size_t i = 0; i < lead->ncustom; i++) {
		/* the value is sent as text: Kommo checks it against the field's type */
		char *out = NULL;
		struct kl_custom *c = &lead->custom[i];
		rc = c->numeric ? kl_check_number(c->label, c->value, &out, err)
				: kl_check_free_text(c->label, c->value, &out, err);
		if (rc)
			return rc;
		free(lead->custom[i].value);
		lead->custom[i].value = out;
	}
	return KL_OK;
}

bool kl_attr_needs_id(const struct kl_account *acct, enum kl_attr a)
{
	const struct kl_attr_info *ai = &attrs[a];
	return ai->entity != KL_ENTITY_NONE && !ai->code && !acct->id[ai->cfg_key];
}

/* The checks of one entity, in the order its custom_fields_values are built,
 * so that the first problem named is the one building would have met. */
static int entity_fits(const struct kl_lead *lead, const struct kl_account *acct, enum kl_entity which,
		       kl_label_fn label, void *ctx, struct kl_err *err)
{
	char what[256];
	for (int a = 0; a < KL_ATTR_COUNT; a++) {
		if (!lead->v[a] || attrs[a].entity != which || !kl_attr_needs_id(acct, a))
			continue;
		label(ctx, a, what, sizeof what);
		return kl_err_set(err, KL_ECONFIG,
				  "%s needs the id of its Kommo field: set %s in the config file or the environment (kommo-lead.1 tells where to find it)",
				  what, kl_config_key_name(attrs[a].cfg_key));
	}
	for (size_t i = 0; i < lead->ncustom; i++) {
		const struct kl_custom *c = &lead->custom[i];
		if (c->entity != which)
			continue;
		/* a field sent twice would make Kommo keep one value at random */
		for (int a = 0; a < KL_ATTR_COUNT; a++) {
			if (lead->v[a] && attrs[a].entity == which && acct->id[attrs[a].cfg_key] == c->id) {
				label(ctx, a, what, sizeof what);
				return kl_err_set(err, KL_EDATA, "%s sets field %llu, which %s already sets",
						  c->label, c->id, what);
			}
		}
		for (size_t j = 0; j < i; j++)
			if (lead->custom[j].entity == which && lead->custom[j].id == c->id)
				return kl_err_set(err, KL_EDATA, "%s is given twice", c->label);
	}
	return KL_OK;
}

int kl_lead_fits_account(const struct kl_lead *lead, const struct kl_account *acct,
			 kl_label_fn label, void *ctx, struct kl_err *err)
{
	int rc;
	if (!label)
		label = flag_label;
	/* the lead's custom fields are built before the contact's */
	if ((rc = entity_fits(lead, acct, KL_ENTITY_LEAD, label, ctx, err)))
		return rc;
	return entity_fits(lead, acct, KL_ENTITY_CONTACT, label, ctx, err);
}

int kl_lead_check_account(struct kl_lead *lead, const struct kl_account *acct, kl_label_fn label,
			  void *ctx, struct kl_err *err)
{
	if (!lead->region[0])
		memcpy(lead->region, acct->phone_region, sizeof lead->region);
	int rc = kl_lead_check(lead, label, ctx, err);
	return rc ? rc : kl_lead_fits_account(lead, acct, label, ctx, err);
}

int kl_lead_default_uid(struct kl_lead *lead, long long now_ms, const char *salt,
			struct kl_err *err)
{
	if (lead->v[KL_ATTR_SOURCE_UID])
		return KL_OK;
	const char *who = lead->v[KL_ATTR_EMAIL] ? lead->v[KL_ATTR_EMAIL] : lead->v[KL_ATTR_PHONE];
	char *seed = salt ? kl_str_printf("%s-%lld-%s", who ? who : "", now_ms, salt)
			  : kl_str_printf("%s-%lld", who ? who : "", now_ms);
	char hex[33];
	if (!seed)
		return kl_err_oom(err);
	int bad = kl_digest_md5_hex(seed, strlen(seed), hex);
	free(seed);
	if (bad)
		return kl_err_set(err, KL_ESOFTWARE,
				  "MD5 from libcrypto failed (a FIPS-only system?): give the lead an id with --source-uid");
	if (!(lead->v[KL_ATTR_SOURCE_UID] = strdup(hex)))
		return kl_err_oom(err);
	return KL_OK;
}
