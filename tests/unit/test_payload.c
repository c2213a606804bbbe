/* The unsorted/forms body, byte for byte, and mapping error paths back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "kommo/kl_payload.h"
#include "kommo/kl_reply.h"
#include "util/kl_str.h"

/* kl_payload_origin for an error at path in item rid (a code that says nothing checkable) */
static char *origin(const struct kl_payload *p, const char *rid, const char *path)
{
	struct kl_verror e = {(char *)rid, (char *)"NotSupportedChoice", (char *)path, NULL};
	return kl_payload_origin(p, &e);
}

static void intermigro(struct kl_account *a)
{
	memset(a, 0, sizeof *a);
	a->pipeline_id = 12984871;
	a->id[KL_CFG_PHONE_FIELD_ID] = 467700;
	a->id[KL_CFG_EMAIL_FIELD_ID] = 467702;
	a->id[KL_CFG_TELEGRAM_FIELD_ID] = 1709360;
	a->id[KL_CFG_CAREER_FIELD_ID] = 488804;
	a->id[KL_CFG_EDUCATION_FIELD_ID] = 1711074;
	a->id[KL_CFG_INCOME_FIELD_ID] = 1709444;
	a->id[KL_CFG_UTM_SOURCE_FIELD_ID] = 467714;
	a->id[KL_CFG_UTM_MEDIUM_FIELD_ID] = 467710;
	a->id[KL_CFG_UTM_CAMPAIGN_FIELD_ID] = 467712;
	a->id[KL_CFG_UTM_CONTENT_FIELD_ID] = 467708;
	a->id[KL_CFG_UTM_TERM_FIELD_ID] = 467716;
	a->id[KL_CFG_UTM_REFERRER_FIELD_ID] = 467718;
	a->source_name = "Сайт intermigro";
	a->form_id = "main-form";
	a->form_name = "Заявка с сайта";
	a->form_page = "https://intermigro.com/";
}

static void set(struct kl_lead *l, enum kl_attr a, const char *v)
{
	struct kl_err err = {0};
	assert_int_equal(kl_lead_set(l, a, v, kl_attr_info(a)->flag, &err), KL_OK);
}

static char *build(struct kl_lead *l, const struct kl_account *a, struct kl_payload **out)
{
	struct kl_err err = {0};
	struct kl_payload *p = kl_payload_new();
	assert_int_equal(kl_lead_check(l, NULL, NULL, &err), KL_OK);
	assert_int_equal(kl_payload_add(p, l, a, "0", 1732180000, NULL, NULL, &err), KL_OK);
	char *json = kl_payload_render(p);
	if (out)
		*out = p;
	else
		kl_payload_free(p);
	return json;
}

static void full_lead_renders_every_field_with_ids(void **state)
{
	(void)state;
	struct kl_account a;
	struct kl_lead l = {0};
	intermigro(&a);
	set(&l, KL_ATTR_NAME, "Иван");
	set(&l, KL_ATTR_LAST_NAME, "Петров");
	set(&l, KL_ATTR_PHONE, "+7 999 123-45-67");
	set(&l, KL_ATTR_EMAIL, "ivan@example.com");
	set(&l, KL_ATTR_TELEGRAM, "@ivan_petrov");
	set(&l, KL_ATTR_CAREER, "Инженер");
	set(&l, KL_ATTR_EDUCATION, "Высшее");
	set(&l, KL_ATTR_INCOME, "150000");
	set(&l, KL_ATTR_UTM_SOURCE, "google");
	set(&l, KL_ATTR_UTM_MEDIUM, "cpc");
	set(&l, KL_ATTR_UTM_CAMPAIGN, "spring");
	set(&l, KL_ATTR_UTM_CONTENT, "banner");
	set(&l, KL_ATTR_UTM_TERM, "visa");
	set(&l, KL_ATTR_UTM_REFERRER, "https://google.com/");
	set(&l, KL_ATTR_PRICE, "5000");
	set(&l, KL_ATTR_SOURCE_UID, "uid-1");
	set(&l, KL_ATTR_REFERER, "https://google.com/search");
	char *json = build(&l, &a, NULL);
	assert_string_equal(json,
		"[{\"source_uid\":\"uid-1\",\"source_name\":\"Сайт intermigro\",\"pipeline_id\":12984871,"
		"\"created_at\":1732180000,\"request_id\":\"0\","
		"\"metadata\":{\"form_id\":\"main-form\",\"form_name\":\"Заявка с сайта\","
		"\"form_page\":\"https://intermigro.com/\",\"form_sent_at\":1732180000,"
		"\"referer\":\"https://google.com/search\"},"
		"\"_embedded\":{\"leads\":[{\"name\":\"Заявка: Иван Петров\",\"price\":5000,\"custom_fields_values\":["
		"{\"field_id\":488804,\"values\":[{\"value\":\"Инженер\"}]},"
		"{\"field_id\":1711074,\"values\":[{\"value\":\"Высшее\"}]},"
		"{\"field_id\":1709444,\"values\":[{\"value\":150000}]},"
		"{\"field_id\":467714,\"values\":[{\"value\":\"google\"}]},"
		"{\"field_id\":467710,\"values\":[{\"value\":\"cpc\"}]},"
		"{\"field_id\":467712,\"values\":[{\"value\":\"spring\"}]},"
		"{\"field_id\":467708,\"values\":[{\"value\":\"banner\"}]},"
		"{\"field_id\":467716,\"values\":[{\"value\":\"visa\"}]},"
		"{\"field_id\":467718,\"values\":[{\"value\":\"https://google.com/\"}]}]}],"
		"\"contacts\":[{\"name\":\"Иван Петров\",\"first_name\":\"Иван\",\"last_name\":\"Петров\","
		"\"custom_fields_values\":["
		"{\"field_id\":467700,\"values\":[{\"value\":\"+79991234567\"}]},"
		"{\"field_id\":467702,\"values\":[{\"value\":\"ivan@example.com\"}]},"
		"{\"field_id\":1709360,\"values\":[{\"value\":\"@ivan_petrov\"}]}]}]}}]");
	free(json);
	kl_lead_free(&l);
}

static void tags_go_in_the_leads_embedded_as_kommo_documents(void **state)
{
	(void)state;
	struct kl_account a = {0};
	struct kl_lead l = {0};
	struct kl_payload *p = NULL;
	a.source_name = "s";
	a.form_id = "f";
	a.form_name = "n";
	set(&l, KL_ATTR_NAME, "A");
	set(&l, KL_ATTR_PHONE, "+79991234567");
	set(&l, KL_ATTR_SOURCE_UID, "u");
	set(&l, KL_ATTR_TAGS, "vip");
	set(&l, KL_ATTR_TAGS, "\"quoted\", ads");
	char *json = build(&l, &a, &p);
	assert_non_null(strstr(json, "\"leads\":[{\"name\":\"Заявка: A\",\"price\":0,"
				     "\"_embedded\":{\"tags\":[{\"name\":\"vip\"},{\"name\":\"\\\"quoted\\\"\"},"
				     "{\"name\":\"ads\"}]}}]"));
	char *o = origin(p, "0", "_embedded.leads.0._embedded.tags.1.name");
	assert_string_equal(o, "--tag");
	free(o);
	free(json);
	kl_payload_free(p);
	kl_lead_free(&l);
}

static void without_ids_phone_email_and_utm_go_by_field_code(void **state)
{
	(void)state;
	struct kl_account a = {0};
	struct kl_lead l = {0};
	a.source_name = "kommo-lead";
	a.form_id = "kommo-lead";
	a.form_name = "kommo-lead";
	set(&l, KL_ATTR_NAME, "Ivan");
	set(&l, KL_ATTR_PHONE, "+79991234567");
	set(&l, KL_ATTR_EMAIL, "ivan@example.com");
	set(&l, KL_ATTR_UTM_SOURCE, "referral");
	set(&l, KL_ATTR_SOURCE_UID, "u");
	char *json = build(&l, &a, NULL);
	assert_string_equal(json,
		"[{\"source_uid\":\"u\",\"source_name\":\"kommo-lead\",\"created_at\":1732180000,\"request_id\":\"0\","
		"\"metadata\":{\"form_id\":\"kommo-lead\",\"form_name\":\"kommo-lead\",\"form_sent_at\":1732180000},"
		"\"_embedded\":{\"leads\":[{\"name\":\"Заявка: Ivan\",\"price\":0,\"custom_fields_values\":["
		"{\"field_code\":\"UTM_SOURCE\",\"values\":[{\"value\":\"referral\"}]}]}],"
		"\"contacts\":[{\"name\":\"Ivan\",\"first_name\":\"Ivan\",\"custom_fields_values\":["
		"{\"field_code\":\"PHONE\",\"values\":[{\"value\":\"+79991234567\"}]},"
		"{\"field_code\":\"EMAIL\",\"values\":[{\"value\":\"ivan@example.com\"}]}]}]}}]");
	free(json);
	kl_lead_free(&l);
}

/* kl_lead_check_account refuses these first (tests/unit/test_lead.c); the
 * payload still refuses them, with the same message, when a caller skips it. */
static void field_without_code_or_id_is_a_config_error_naming_the_key(void **state)
{
	(void)state;
	struct kl_account a = {0};
	struct kl_lead l = {0};
	struct kl_err err = {0};
	a.source_name = a.form_id = a.form_name = "x";
	set(&l, KL_ATTR_NAME, "Ivan");
	set(&l, KL_ATTR_PHONE, "+79991234567");
	set(&l, KL_ATTR_EDUCATION, "Высшее");
	set(&l, KL_ATTR_SOURCE_UID, "u");
	struct kl_payload *p = kl_payload_new();
	assert_int_equal(kl_payload_add(p, &l, &a, "0", 1, NULL, NULL, &err), KL_ECONFIG);
	assert_non_null(strstr(err.msg, "--education needs the id of its Kommo field: set KOMMO_EDUCATION_FIELD_ID"));
	assert_int_equal(kl_payload_count(p), 0);
	kl_payload_free(p);
	kl_lead_free(&l);
}

static void custom_field_clashing_with_a_known_one_is_refused(void **state)
{
	(void)state;
	struct kl_account a;
	struct kl_lead l = {0};
	struct kl_err err = {0};
	intermigro(&a);
	set(&l, KL_ATTR_NAME, "Ivan");
	set(&l, KL_ATTR_PHONE, "+79991234567");
	set(&l, KL_ATTR_CAREER, "x");
	set(&l, KL_ATTR_SOURCE_UID, "u");
	kl_lead_add_field_spec(&l, "lead:488804=y", "--field", &err);
	struct kl_payload *p = kl_payload_new();
	assert_int_equal(kl_payload_add(p, &l, &a, "0", 1, NULL, NULL, &err), KL_EDATA);
	assert_string_equal(err.msg, "--field lead:488804 sets field 488804, which --career already sets");
	kl_payload_free(p);
	kl_lead_free(&l);
}

static void error_paths_map_back_to_flags(void **state)
{
	(void)state;
	struct kl_account a;
	struct kl_lead l = {0};
	struct kl_payload *p;
	struct kl_err err = {0};
	intermigro(&a);
	set(&l, KL_ATTR_NAME, "Ivan");
	set(&l, KL_ATTR_PHONE, "+79991234567");
	set(&l, KL_ATTR_TELEGRAM, "@ivan");
	set(&l, KL_ATTR_INCOME, "5");
	set(&l, KL_ATTR_SOURCE_UID, "u");
	kl_lead_add_field_spec(&l, "contact:99=z", "--field", &err);
	free(build(&l, &a, &p));
	char *o;
	/* entity-relative path: index 0 is income in the lead and the phone in the contact */
	o = origin(p, "0", "custom_fields_values.0.field_id");
	assert_string_equal(o, "--income (field 1709444) or --phone (field 467700): the account has no lead field "
			       "1709444 or no contact field 467700; kommo-lead fields lists them");
	free(o);
	/* only the contact has indexes 1 and 2 */
	o = origin(p, "0", "custom_fields_values.1.field_id");
	assert_string_equal(o, "--telegram (field 1709360): the account has no contact field 1709360; "
			       "kommo-lead fields lists them");
	free(o);
	o = origin(p, "0", "custom_fields_values.2.values.0.value");
	assert_string_equal(o, "--field contact:99");
	free(o);
	o = origin(p, "0", "_embedded.contacts.0.custom_fields_values.1.field_id");
	assert_string_equal(o, "--telegram (field 1709360): the account has no contact field 1709360; "
			       "kommo-lead fields lists them");
	free(o);
	o = origin(p, "0", "pipeline_id");
	assert_string_equal(o, "--pipeline or KOMMO_PIPELINE_ID: the account has no pipeline 12984871; "
			       "kommo-lead fields lists the pipelines");
	free(o);
	o = origin(p, "0", "_embedded.contacts.0.first_name");
	assert_string_equal(o, "--name");
	free(o);
	o = origin(p, "1", "pipeline_id"); /* another item */
	assert_string_equal(o, "no lead sent carries the request_id \"1\" Kommo names");
	free(o);
	o = origin(p, "0", "pipeline"); /* not at a '.' boundary */
	assert_string_equal(o, "no pipeline in the request");
	free(o);
	kl_payload_free(p);
	kl_lead_free(&l);
}

/* Checks lead l, adds it to p as request_id row, labelled by label (NULL:
 * flags) with ctx, and frees it. */
static void add_row(struct kl_payload *p, const struct kl_account *a, struct kl_lead *l, int row,
		    void (*label)(void *, enum kl_attr, char *, size_t), void *ctx)
{
	struct kl_err err = {0};
	char rid[12];
	assert_int_equal(kl_lead_check(l, NULL, NULL, &err), KL_OK);
	snprintf(rid, sizeof rid, "%d", row);
	assert_int_equal(kl_payload_add(p, l, a, rid, 1, label, ctx, &err), KL_OK);
	kl_lead_free(l);
}

static void leads_are_appended_as_array_items(void **state)
{
	(void)state;
	struct kl_account a;
	intermigro(&a);
	struct kl_payload *p = kl_payload_new();
	for (int i = 0; i < 3; i++) {
		struct kl_lead l = {0};
		set(&l, KL_ATTR_NAME, "N");
		set(&l, KL_ATTR_EMAIL, "n@example.com");
		set(&l, KL_ATTR_SOURCE_UID, "u");
		add_row(p, &a, &l, i + 2, NULL, NULL);
	}
	assert_int_equal(kl_payload_count(p), 3);
	char *json = kl_payload_render(p);
	assert_non_null(strstr(json, "\"request_id\":\"4\""));
	free(json);
	kl_payload_free(p);
}

static void row_label(void *ctx, enum kl_attr a, char *buf, size_t size)
{
	snprintf(buf, size, "row %d %s", *(const int *)ctx, kl_attr_info(a)->name);
}

/* Origins are told from each item's own lead and label context as they were
 * when it was added: the payload keeps nothing of them, so the caller frees
 * the lead and reuses the context at once. A failed add leaves nothing behind. */
static void origins_name_the_item_asked_about(void **state)
{
	(void)state;
	struct kl_account a;
	struct kl_err err = {0};
	struct kl_lead l[3];
	memset(l, 0, sizeof l);
	int rows[3] = {2, 3, 4};
	intermigro(&a);
	struct kl_payload *p = kl_payload_new();
	for (int i = 0; i < 3; i++) {
		char rid[8];
		set(&l[i], KL_ATTR_NAME, "N");
		set(&l[i], KL_ATTR_SOURCE_UID, "u");
		if (i != 1)
			set(&l[i], KL_ATTR_EMAIL, "n@example.com");
		else
			set(&l[i], KL_ATTR_PHONE, "+79991234567");
		assert_int_equal(kl_lead_check(&l[i], NULL, NULL, &err), KL_OK);
		snprintf(rid, sizeof rid, "%d", rows[i]);
		assert_int_equal(kl_payload_add(p, &l[i], &a, rid, 1, row_label, &rows[i], &err), KL_OK);
		kl_lead_free(&l[i]);
		rows[i] = 99;
	}
	a.id[KL_CFG_PHONE_FIELD_ID] = 1; /* the account is the caller's too */
	/* a lead needing an id that is not configured is refused and not kept */
	struct kl_account bare = a;
	bare.id[KL_CFG_TELEGRAM_FIELD_ID] = 0;
	rows[0] = 2;
	struct kl_lead t = {0};
	set(&t, KL_ATTR_NAME, "T");
	set(&t, KL_ATTR_EMAIL, "t@example.com");
	set(&t, KL_ATTR_TELEGRAM, "@t");
	set(&t, KL_ATTR_SOURCE_UID, "u");
	assert_int_equal(kl_payload_add(p, &t, &bare, "5", 1, row_label, &rows[0], &err), KL_ECONFIG);
	assert_int_equal(kl_payload_count(p), 3);
	char *o = origin(p, "5", "source_uid");
	assert_string_equal(o, "no lead sent carries the request_id \"5\" Kommo names");
	free(o);

	o = origin(p, "3", "_embedded.contacts.0.custom_fields_values.0.values.0.value");
	assert_string_equal(o, "row 3 phone (field 467700)");
	free(o);
	o = origin(p, "4", "custom_fields_values.0");
	assert_string_equal(o, "row 4 email (field 467702)");
	free(o);
	o = origin(p, "2", "_embedded.contacts.0.name");
	assert_string_equal(o, "row 2 name");
	free(o);
	o = origin(p, NULL, "source_uid"); /* no request_id, and three leads */
	assert_string_equal(o, "no lead sent is at this path");
	free(o);
	kl_payload_free(p);
	kl_lead_free(&t);
}

/* A batch of three leads (request_ids 10, 11, 12), the second with a
 * 300-character career: Kommo's path in each of its forms names the career
 * of the item it is about, found by request_id or else by the path's
 * leading index; an index past the batch names no lead, never another's. */
static void every_path_form_names_the_column_of_its_own_row(void **state)
{
	(void)state;
	struct kl_account a;
	int rows[3] = {10, 11, 12};
	char career[301];
	memset(career, 'a', 300);
	career[300] = '\0';
	intermigro(&a);
	struct kl_payload *p = kl_payload_new();
	for (int i = 0; i < 3; i++) {
		struct kl_lead l = {0};
		set(&l, KL_ATTR_NAME, "N");
		set(&l, KL_ATTR_SOURCE_UID, "u");
		set(&l, KL_ATTR_PHONE, "+79991234567");
		set(&l, KL_ATTR_CAREER, i == 1 ? career : "short");
		add_row(p, &a, &l, rows[i], row_label, &rows[i]);
	}
	static const char *const forms[][2] = {{"", "11"}, {"data.", "11"}, {"1.", NULL}, {"data.1.", NULL},
					       {"1.", "11"}, {"data.1.", "11"}};
	for (size_t i = 0; i < sizeof forms / sizeof *forms; i++) {
		char path[128];
		snprintf(path, sizeof path, "%scustom_fields_values.0.values.0.value", forms[i][0]);
		struct kl_verror e = {(char *)forms[i][1], (char *)"InvalidLength", path,
				      (char *)"This value is too long. It should have 256 characters or less."};
		assert_int_equal(kl_payload_error_item(p, &e), 1);
		/* the contact's phone, at the same entity-relative path, is not too long */
		char *o = kl_payload_origin(p, &e);
		assert_string_equal(o, "row 11 career (field 488804)");
		free(o);
	}
	struct kl_verror past = {NULL, (char *)"InvalidLength", (char *)"data.3.custom_fields_values.0", NULL};
	assert_int_equal(kl_payload_error_item(p, &past), -1);
	char *o = kl_payload_origin(p, &past);
	assert_string_equal(o, "no lead sent is at this path");
	free(o);
	/* row 12's request_id with row 11's index: neither row is blamed */
	struct kl_verror mixed = {(char *)"12", (char *)"NotSupportedChoice", (char *)"1.pipeline_id", NULL};
	assert_int_equal(kl_payload_error_item(p, &mixed), -1);
	o = kl_payload_origin(p, &mixed);
	assert_string_equal(o, "the request_id \"12\" and the path's index name two different leads");
	free(o);
	/* no flag or column gave created_at: what was sent is told */
	struct kl_verror when = {(char *)"10", (char *)"InvalidType", (char *)"data.0.created_at", NULL};
	o = kl_payload_origin(p, &when);
	assert_string_equal(o, "created_at 1 in the request");
	free(o);
	kl_payload_free(p);
}

static void put_value(struct kl_lead *l, enum kl_attr a, const char *v)
{
	free(l->v[a]);
	l->v[a] = strdup(v);
	assert_non_null(l->v[a]);
}

/* cJSON reading the body back and printing it again gives the same bytes and
 * the same values, whatever the values hold: every byte from 1 to 255,
 * quotes, backslashes, an empty string. Each lead is scribbled over and freed
 * as soon as it is added: the body must not read it later. */
static void payload_bytes_are_what_cjson_prints(void **state)
{
	(void)state;
	struct kl_account a;
	struct kl_err err = {0};
	char every[256];
	for (int i = 1; i < 256; i++)
		every[i - 1] = (char)i;
	every[255] = '\0';
	const char *odd[] = {every, "\"\\/\b\f\n\r\t\x7f\x1f", "", "Иван \"Ваня\" Петров\\"};
	intermigro(&a);
	struct kl_payload *p = kl_payload_new();
	for (size_t i = 0; i < 4; i++) {
		struct kl_lead lead = {0}, *l = &lead;
		set(l, KL_ATTR_NAME, "N");
		set(l, KL_ATTR_PHONE, "+79991234567");
		set(l, KL_ATTR_SOURCE_UID, "u");
		if (i != 2)
			set(l, KL_ATTR_INCOME, "150000");
		assert_int_equal(kl_lead_check(l, NULL, NULL, &err), KL_OK);
		put_value(l, KL_ATTR_NAME, odd[i]);
		put_value(l, KL_ATTR_LAST_NAME, odd[(i + 1) % 4]);
		put_value(l, KL_ATTR_CAREER, odd[(i + 2) % 4]);
		put_value(l, KL_ATTR_REFERER, odd[(i + 3) % 4]);
		assert_int_equal(kl_payload_add(p, l, &a, odd[i], 1732180000, NULL, NULL, &err), KL_OK);
		for (int v = 0; v < KL_ATTR_COUNT; v++)
			if (l->v[v])
				memset(l->v[v], 'X', strlen(l->v[v]));
		kl_lead_free(l);
	}
	char *json = kl_payload_render(p);
	cJSON *tree = cJSON_Parse(json);
	assert_non_null(tree);
	char *again = cJSON_PrintUnformatted(tree);
	assert_string_equal(json, again);
	assert_int_equal(cJSON_GetArraySize(tree), 4);
	for (int i = 0; i < 4; i++) {
		cJSON *item = cJSON_GetArrayItem(tree, i);
		cJSON *contact = cJSON_GetArrayItem(
			cJSON_GetObjectItem(cJSON_GetObjectItem(item, "_embedded"), "contacts"), 0);
		assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(contact, "first_name")), odd[i]);
		assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(item, "request_id")), odd[i]);
		assert_string_equal(
			cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(item, "metadata"), "referer")),
			odd[(i + 3) % 4]);
	}
	free(again);
	cJSON_Delete(tree);
	free(json);
	kl_payload_free(p);
}

/* An empty payload is an empty array; an item refused half-way leaves no
 * trace in the body. */
static void refused_items_leave_the_body_whole(void **state)
{
	(void)state;
	struct kl_account a;
	struct kl_err err = {0};
	intermigro(&a);
	struct kl_payload *p = kl_payload_new();
	char *json = kl_payload_render(p);
	assert_string_equal(json, "[]");
	free(json);
	struct kl_lead l = {0};
	set(&l, KL_ATTR_NAME, "N");
	set(&l, KL_ATTR_EMAIL, "n@example.com");
	set(&l, KL_ATTR_SOURCE_UID, "u");
	assert_int_equal(kl_lead_check(&l, NULL, NULL, &err), KL_OK);
	/* the contact's custom fields come last: the item is nearly written when refused */
	assert_int_equal(kl_lead_add_field_spec(&l, "contact:467702=x", "--field", &err), KL_OK);
	assert_int_equal(kl_payload_add(p, &l, &a, "2", 1, NULL, NULL, &err), KL_EDATA);
	json = kl_payload_render(p);
	assert_string_equal(json, "[]");
	free(json);
	l.ncustom = 0;
	assert_int_equal(kl_payload_add(p, &l, &a, "3", 1, NULL, NULL, &err), KL_OK);
	l.ncustom = 1;
	assert_int_equal(kl_payload_add(p, &l, &a, "4", 1, NULL, NULL, &err), KL_EDATA);
	l.ncustom = 0;
	assert_int_equal(kl_payload_add(p, &l, &a, "5", 1, NULL, NULL, &err), KL_OK);
	l.ncustom = 1;
	json = kl_payload_render(p);
	cJSON *tree = cJSON_Parse(json);
	assert_non_null(tree);
	assert_int_equal(cJSON_GetArraySize(tree), 2);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(tree, 1), "request_id")), "5");
	assert_int_equal(kl_payload_count(p), 2);
	cJSON_Delete(tree);
	free(json);
	kl_payload_free(p);
	kl_lead_free(&l);
}

/* Ids and times are printed as their digits, never through a double:
 * 1000000000000000 as a double prints as 1e+15. */
static void ids_and_times_print_as_their_digits(void **state)
{
	(void)state;
	struct kl_account a = {0};
	struct kl_lead l = {0};
	struct kl_err err = {0};
	a.source_name = a.form_id = a.form_name = "x";
	a.pipeline_id = 9007199254740991ULL;
	a.id[KL_CFG_PHONE_FIELD_ID] = 1000000000000000ULL;
	set(&l, KL_ATTR_NAME, "N");
	set(&l, KL_ATTR_PHONE, "+79991234567");
	set(&l, KL_ATTR_SOURCE_UID, "u");
	set(&l, KL_ATTR_PRICE, "9007199254740991");
	assert_int_equal(kl_lead_add_field_spec(&l, "lead:4294967296:number=0150000,25", "--field", &err), KL_OK);
	assert_int_equal(kl_lead_check(&l, NULL, NULL, &err), KL_OK);
	l.created_at = 4102444800LL; /* 2100: past a 32-bit int */
	struct kl_payload *p = kl_payload_new();
	assert_int_equal(kl_payload_add(p, &l, &a, NULL, 1, NULL, NULL, &err), KL_OK);
	char *json = kl_payload_render(p);
	assert_non_null(strstr(json, "\"pipeline_id\":9007199254740991,\"created_at\":4102444800,\"metadata\""));
	assert_non_null(strstr(json, "\"form_sent_at\":4102444800}"));
	assert_non_null(strstr(json, "\"price\":9007199254740991,"));
	assert_non_null(strstr(json, "{\"field_id\":4294967296,\"values\":[{\"value\":150000.25}]}"));
	assert_non_null(strstr(json, "{\"field_id\":1000000000000000,\"values\":[{\"value\":\"+79991234567\"}]}"));
	assert_null(strstr(json, "request_id"));
	free(json);
	kl_payload_free(p);
	kl_lead_free(&l);
}

/* What kl_lead_check_account lets through, kl_payload_add takes; what it
 * refuses, kl_payload_add refuses the same way: the two checks are one. */
static void add_takes_exactly_what_check_account_lets_through(void **state)
{
	(void)state;
	static const char *const specs[] = {NULL, "lead:488804=x", "contact:467700=x", "lead:1709500=x",
					    "contact:1709500=x"};
	int added = 0, refused = 0;
	struct kl_payload *p = kl_payload_new();
	for (int mask = 0; mask < 64; mask++) {
		for (size_t s1 = 0; s1 < 5; s1++) {
			struct kl_account a;
			struct kl_lead l = {0};
			struct kl_err e1 = {0}, e2 = {0};
			intermigro(&a);
			if (mask & 1)
				a.id[KL_CFG_TELEGRAM_FIELD_ID] = 0;
			if (mask & 2)
				a.id[KL_CFG_PHONE_FIELD_ID] = 0;
			set(&l, KL_ATTR_NAME, "N");
			set(&l, KL_ATTR_PHONE, "+79991234567");
			set(&l, KL_ATTR_SOURCE_UID, "u");
			if (mask & 4)
				set(&l, KL_ATTR_TELEGRAM, "@t");
			if (mask & 8)
				set(&l, KL_ATTR_CAREER, "c");
			if (mask & 16)
				assert_int_equal(kl_lead_add_field_spec(&l, "lead:1709500=y", "--field", &e1), KL_OK);
			if (mask & 32)
				assert_int_equal(kl_lead_add_field_spec(&l, "contact:1709500=y", "--field", &e1), KL_OK);
			if (specs[s1])
				assert_int_equal(kl_lead_add_field_spec(&l, specs[s1], "--field", &e1), KL_OK);
			int rc = kl_lead_check_account(&l, &a, NULL, NULL, &e1);
			assert_int_equal(kl_payload_add(p, &l, &a, "1", 1, NULL, NULL, &e2), rc);
			if (rc)
				assert_string_equal(e1.msg, e2.msg);
			rc ? refused++ : added++;
			kl_lead_free(&l);
		}
	}
	assert_int_equal(kl_payload_count(p), (size_t)added);
	assert_true(added > 0 && refused > 0);
	kl_payload_free(p);
}

/* What kl_payload_custom_fields builds for entity which of l, as compact
 * JSON, its notes in *notes. */
static char *custom_fields(const struct kl_lead *l, enum kl_entity which, const struct kl_account *a,
			   struct kl_buf *notes)
{
	struct kl_err err = {0};
	cJSON *entity = cJSON_CreateObject();
	assert_int_equal(kl_payload_custom_fields(entity, l, which, a, notes, &err), KL_OK);
	char *json = cJSON_PrintUnformatted(entity);
	cJSON_Delete(entity);
	return json;
}

static void assert_noted(const struct kl_buf *notes, const char *path, const char *want)
{
	char *got = kl_payload_noted(notes, path);
	if (want)
		assert_string_equal(got, want);
	else
		assert_null(got);
	free(got);
}

/* The crm commands' custom fields: a lead's or a contact's part of what an
 * Incoming lead carries, by id or code, numbers as digits, each entry noted
 * with the label submit gives it. */
static void custom_fields_of_one_entity_are_built_and_labelled(void **state)
{
	(void)state;
	struct kl_account a;
	struct kl_lead l = {0};
	struct kl_buf lead_notes = {0}, contact_notes = {0};
	struct kl_err err = {0};
	intermigro(&a);
	a.id[KL_CFG_UTM_SOURCE_FIELD_ID] = 0; /* by its code */
	set(&l, KL_ATTR_NAME, "Иван");
	set(&l, KL_ATTR_PHONE, "+7 999 123-45-67");
	set(&l, KL_ATTR_EMAIL, "ivan@example.com");
	set(&l, KL_ATTR_CAREER, "Инженер");
	set(&l, KL_ATTR_INCOME, "1 500,50");
	set(&l, KL_ATTR_UTM_SOURCE, "google");
	assert_int_equal(kl_lead_add_field_spec(&l, "lead:1709500:number=12.50", "--field", &err), KL_OK);
	assert_int_equal(kl_lead_add_field_spec(&l, "contact:1709600=x", "--field", &err), KL_OK);
	assert_int_equal(kl_lead_check(&l, NULL, NULL, &err), KL_OK);

	char *json = custom_fields(&l, KL_ENTITY_LEAD, &a, &lead_notes);
	assert_string_equal(json, "{\"custom_fields_values\":["
				  "{\"field_id\":488804,\"values\":[{\"value\":\"Инженер\"}]},"
				  "{\"field_id\":1709444,\"values\":[{\"value\":1500.50}]},"
				  "{\"field_code\":\"UTM_SOURCE\",\"values\":[{\"value\":\"google\"}]},"
				  "{\"field_id\":1709500,\"values\":[{\"value\":12.50}]}]}");
	free(json);
	assert_noted(&lead_notes, "custom_fields_values.0.values.0.value", "--career (field 488804)");
	assert_noted(&lead_notes, "custom_fields_values.1", "--income (field 1709444)");
	assert_noted(&lead_notes, "custom_fields_values.2.field_code", "--utm-source (field code UTM_SOURCE)");
	assert_noted(&lead_notes, "custom_fields_values.3.values.0.value", "--field lead:1709500:number");
	assert_noted(&lead_notes, "custom_fields_values.30", NULL); /* not entry 3 */
	assert_noted(&lead_notes, "custom_fields_values", NULL);

	json = custom_fields(&l, KL_ENTITY_CONTACT, &a, &contact_notes);
	assert_string_equal(json, "{\"custom_fields_values\":["
				  "{\"field_id\":467700,\"values\":[{\"value\":\"+79991234567\"}]},"
				  "{\"field_id\":467702,\"values\":[{\"value\":\"ivan@example.com\"}]},"
				  "{\"field_id\":1709600,\"values\":[{\"value\":\"x\"}]}]}");
	free(json);
	assert_noted(&contact_notes, "custom_fields_values.0.field_id", "--phone (field 467700)");
	assert_noted(&contact_notes, "custom_fields_values.2.field_id", "--field contact:1709600");
	kl_buf_free(&lead_notes);
	kl_buf_free(&contact_notes);
	kl_lead_free(&l);
}

/* Submit's label for a field and the crm commands' are one: the same builder
 * notes both. */
static void custom_field_labels_are_submits(void **state)
{
	(void)state;
	struct kl_account a;
	struct kl_lead l = {0};
	struct kl_buf notes = {0};
	struct kl_payload *p;
	intermigro(&a);
	set(&l, KL_ATTR_NAME, "Ivan");
	set(&l, KL_ATTR_PHONE, "+79991234567");
	set(&l, KL_ATTR_CAREER, "Инженер");
	set(&l, KL_ATTR_SOURCE_UID, "u");
	free(build(&l, &a, &p));
	free(custom_fields(&l, KL_ENTITY_LEAD, &a, &notes));
	char *submit = origin(p, "0", "_embedded.leads.0.custom_fields_values.0.values.0.value");
	char *crm = kl_payload_noted(&notes, "custom_fields_values.0.values.0.value");
	assert_string_equal(crm, "--career (field 488804)");
	assert_string_equal(submit, crm);
	free(submit);
	free(crm);
	kl_buf_free(&notes);
	kl_payload_free(p);
	kl_lead_free(&l);
}

/* Nothing of the entity's: no custom_fields_values key and no note. */
static void no_custom_fields_add_no_key(void **state)
{
	(void)state;
	struct kl_account a;
	struct kl_lead l = {0};
	struct kl_buf notes = {0};
	struct kl_err err = {0};
	intermigro(&a);
	set(&l, KL_ATTR_NAME, "Ivan");
	set(&l, KL_ATTR_PHONE, "+79991234567");
	assert_int_equal(kl_lead_check(&l, NULL, NULL, &err), KL_OK);
	char *json = custom_fields(&l, KL_ENTITY_LEAD, &a, &notes);
	assert_string_equal(json, "{}");
	assert_int_equal(notes.len, 0);
	assert_noted(&notes, "custom_fields_values.0", NULL);
	free(json);
	kl_buf_free(&notes);
	kl_lead_free(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(full_lead_renders_every_field_with_ids),
		cmocka_unit_test(without_ids_phone_email_and_utm_go_by_field_code),
		cmocka_unit_test(tags_go_in_the_leads_embedded_as_kommo_documents),
		cmocka_unit_test(field_without_code_or_id_is_a_config_error_naming_the_key),
		cmocka_unit_test(custom_field_clashing_with_a_known_one_is_refused),
		cmocka_unit_test(error_paths_map_back_to_flags),
		cmocka_unit_test(leads_are_appended_as_array_items),
		cmocka_unit_test(origins_name_the_item_asked_about),
		cmocka_unit_test(every_path_form_names_the_column_of_its_own_row),
		cmocka_unit_test(payload_bytes_are_what_cjson_prints),
		cmocka_unit_test(refused_items_leave_the_body_whole),
		cmocka_unit_test(ids_and_times_print_as_their_digits),
		cmocka_unit_test(add_takes_exactly_what_check_account_lets_through),
		cmocka_unit_test(custom_fields_of_one_entity_are_built_and_labelled),
		cmocka_unit_test(custom_field_labels_are_submits),
		cmocka_unit_test(no_custom_fields_add_no_key),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
