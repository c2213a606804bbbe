/* Validation errors' paths, in every form Kommo writes them, read against
 * the item that was sent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "kommo/kl_errpath.h"
#include "kommo/kl_reply.h"

/* An Incoming lead as unsorted/forms gets it: the lead's custom field 0 is
 * an unknown id, the contact's field 0 goes by code, its field 1 by id. */
static const char ITEM[] =
	"{\"source_uid\":\"u\",\"source_name\":\"s\",\"pipeline_id\":5,\"created_at\":1700000000,"
	"\"request_id\":\"10\",\"metadata\":{\"form_id\":\"f\",\"form_sent_at\":1700000000},"
	"\"_embedded\":{\"leads\":[{\"name\":\"L\",\"price\":0,\"custom_fields_values\":["
	"{\"field_id\":999999,\"values\":[{\"value\":\"x\"}]},"
	"{\"field_id\":488804,\"values\":[{\"value\":\"LONG\"}]}],"
	"\"_embedded\":{\"tags\":[{\"name\":\"vip\"}]}}],"
	"\"contacts\":[{\"name\":\"C\",\"first_name\":\"C\",\"custom_fields_values\":["
	"{\"field_code\":\"PHONE\",\"values\":[{\"value\":\"+79991234567\"}]},"
	"{\"field_id\":1709360,\"values\":[{\"value\":\"@c\"}]}]}]}}";

static cJSON *item(void)
{
	char *text = malloc(sizeof ITEM + 400);
	const char *at = strstr(ITEM, "LONG");
	assert_non_null(text);
	/* a 300-character career in the lead's field 1 */
	memcpy(text, ITEM, (size_t)(at - ITEM));
	memset(text + (at - ITEM), 'a', 300);
	strcpy(text + (at - ITEM) + 300, at + 4);
	cJSON *j = cJSON_Parse(text);
	free(text);
	assert_non_null(j);
	return j;
}

/* Labels as a payload notes them: lead field 0 is --field lead:999999. */
static char *label(const void *ctx, const char *path)
{
	static const char *const notes[][2] = {
		{"pipeline_id", "--pipeline"},
		{"_embedded.leads.0.custom_fields_values.0", "--field lead:999999"},
		{"_embedded.leads.0.custom_fields_values.1", "--career (field 488804)"},
		{"_embedded.contacts.0.custom_fields_values.0", "--phone (field code PHONE)"},
		{"_embedded.contacts.0.custom_fields_values.1", "--telegram (field 1709360)"},
		{"_embedded.contacts.0.first_name", "--name"}};
	(void)ctx;
	for (size_t i = 0; i < sizeof notes / sizeof *notes; i++)
		if (kl_errpath_starts(path, notes[i][0]))
			return strdup(notes[i][1]);
	return NULL;
}

static char *named(const cJSON *it, size_t index, const char *code, const char *path, const char *detail,
		   kl_errpath_label_fn fn)
{
	struct kl_verror e = {(char *)"10", (char *)code, (char *)path, (char *)detail};
	char *s = kl_errpath_name(it, index, &e, "the request", fn, NULL);
	assert_non_null(s);
	return s;
}

/* What a NotSupportedChoice on an id adds: what the account lacks, and
 * where to look. */
#define LEAD_999999 "the account has no lead field 999999; kommo-lead fields lists them"
#define NO_PIPELINE_5 "the account has no pipeline 5; kommo-lead fields lists the pipelines"

#define ASSERT_NAMED(want, it, index, code, path, detail, fn)                                      \
	do {                                                                                      \
		char *s_ = named(it, index, code, path, detail, fn);                              \
		assert_string_equal(s_, want);                                                    \
		free(s_);                                                                         \
	} while (0)

/* The four forms of the issue, each with the path relative to the item and
 * to the entity: all name the same flag. The item sits at position 8. */
static void every_form_names_the_same_flag(void **state)
{
	(void)state;
	cJSON *it = item();
	static const char *const prefixes[] = {"", "data.", "8.", "data.8."};
	static const char *const paths[] = {"_embedded.leads.0.custom_fields_values.0.field_id",
					    "custom_fields_values.0.field_id"};
	for (size_t i = 0; i < 4; i++)
		for (size_t k = 0; k < 2; k++) {
			char path[200];
			snprintf(path, sizeof path, "%s%s", prefixes[i], paths[k]);
			/* the contact's field 0 goes by code: only the lead has a field_id there */
			ASSERT_NAMED("--field lead:999999: " LEAD_999999, it, 8, "NotSupportedChoice", path,
				     "The value you selected is not a valid choice.", label);
			snprintf(path, sizeof path, "%spipeline_id", prefixes[i]);
			ASSERT_NAMED("--pipeline: " NO_PIPELINE_5, it, 8, "NotSupportedChoice", path, NULL, label);
		}
	cJSON_Delete(it);
}

/* A leading index that is not the item's position is no reading of it. */
static void another_items_index_is_nothing_sent(void **state)
{
	(void)state;
	cJSON *it = item();
	ASSERT_NAMED("nothing sent is at this path", it, 8, "NotSupportedChoice", "3.pipeline_id", NULL, label);
	ASSERT_NAMED("nothing sent is at this path", it, 8, "NotSupportedChoice",
		     "data.7.custom_fields_values.0.field_id", NULL, label);
	ASSERT_NAMED("--pipeline: " NO_PIPELINE_5, it, 3, "NotSupportedChoice", "3.pipeline_id", NULL, label);
	cJSON_Delete(it);
}

/* An entity-relative path fits the lead and the contact alike: the error
 * itself tells them apart where it can. */
static void the_error_tells_lead_from_contact(void **state)
{
	(void)state;
	cJSON *it = item();
	/* both have a field_id at 1: the choice error cannot tell */
	ASSERT_NAMED("--career (field 488804) or --telegram (field 1709360): the account has no lead field 488804 "
		     "or no contact field 1709360; kommo-lead fields lists them",
		     it, 0, "NotSupportedChoice", "custom_fields_values.1.field_id", NULL, label);
	/* a path from the item says which: one is named, in every form */
	ASSERT_NAMED("--telegram (field 1709360): the account has no contact field 1709360; kommo-lead fields lists them",
		     it, 0, "NotSupportedChoice",
		     "_embedded.contacts.0.custom_fields_values.1.field_id", NULL, label);
	ASSERT_NAMED("--career (field 488804): the account has no lead field 488804; kommo-lead fields lists them", it,
		     0, "NotSupportedChoice",
		     "data.0._embedded.leads.0.custom_fields_values.1.field_id", NULL, label);
	ASSERT_NAMED("--career (field 488804)", it, 0, "InvalidType",
		     "0._embedded.leads.0.custom_fields_values.1.values.0.value", "This value should be of type number.",
		     label);
	/* too long: only the career's 300 characters are over 256 */
	ASSERT_NAMED("--career (field 488804)", it, 0, "InvalidLength", "data.0.custom_fields_values.1.values.0.value",
		     "This value is too long. It should have 256 characters or less.", label);
	/* both values are strings: both fit "should be of type number" */
	ASSERT_NAMED("--career (field 488804) or --telegram (field 1709360)", it, 0, "InvalidType",
		     "custom_fields_values.1.values.0.value", "This value should be of type number.", label);
	/* of type string: only the lead's price (a number) can be refused so */
	ASSERT_NAMED("price 0 in the lead", it, 0, "InvalidType", "price", "This value should be of type string.",
		     label);
	cJSON_Delete(it);
}

/* Where no flag or column gave a part, what was sent there is told. */
static void unlabelled_parts_are_described(void **state)
{
	(void)state;
	cJSON *it = item();
	ASSERT_NAMED("field_id 999999 in the lead's custom fields: " LEAD_999999, it, 8, "NotSupportedChoice",
		     "data.8._embedded.leads.0.custom_fields_values.0.field_id", NULL, NULL);
	ASSERT_NAMED("value \"x\" of field 999999 in the lead's custom fields", it, 8, "InvalidType",
		     "8._embedded.leads.0.custom_fields_values.0.values.0.value", "This value should be of type int.", NULL);
	ASSERT_NAMED("field code \"PHONE\" in the contact's custom fields", it, 0, "NotSupportedChoice",
		     "_embedded.contacts.0.custom_fields_values.0", NULL, NULL);
	ASSERT_NAMED("form_sent_at 1700000000 in the request's metadata", it, 0, "InvalidType",
		     "data.metadata.form_sent_at", "This value looks like milliseconds.", label);
	ASSERT_NAMED("name \"vip\" in the lead's tags", it, 0, "InvalidType",
		     "_embedded.leads.0._embedded.tags.0.name", NULL, NULL);
	ASSERT_NAMED("created_at 1700000000 in the request", it, 0, "InvalidType", "created_at", NULL, label);
	ASSERT_NAMED("the contact", it, 0, "InvalidType", "_embedded.contacts.0", NULL, NULL);
	ASSERT_NAMED("the request", it, 4, "InvalidType", "data.4", "This value should be of type array.", NULL);
	char *d = kl_errpath_describe(it, "_embedded.leads.0.custom_fields_values.1.values.0.value", "the request");
	assert_string_equal(d, "value \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...\" (300 characters) "
			       "of field 488804 in the lead's custom fields");
	free(d);
	cJSON_Delete(it);
}

/* A key that was not sent: FieldMissing reads it as absent, where it would be. */
static void a_missing_key_is_read_where_it_would_be(void **state)
{
	(void)state;
	cJSON *it = item();
	ASSERT_NAMED("no form_name in the request's metadata", it, 2, "FieldMissing", "data.2.metadata.form_name",
		     "This field is missing.", label);
	/* absent from the item and from both entities: the item's own reading is taken */
	ASSERT_NAMED("no last_name in the request", it, 0, "FieldMissing", "last_name", "This field is missing.", label);
	ASSERT_NAMED("no last_name in the contact", it, 0, "FieldMissing", "_embedded.contacts.0.last_name",
		     "This field is missing.", label);
	/* a FieldMissing does not fit the names sent (neither is blank); an absent key does */
	ASSERT_NAMED("no name in the request", it, 0, "FieldMissing", "name", "This value should not be blank.", NULL);
	/* a choice refused where nothing was sent: the absent key is still told */
	ASSERT_NAMED("no status_id in the request", it, 0, "NotSupportedChoice", "status_id", NULL, NULL);
	ASSERT_NAMED("nothing sent is at this path", it, 0, "FieldMissing", "metadata.nope.deeper", NULL, label);
	cJSON_Delete(it);
}

static void the_item_is_found_by_request_id_then_index(void **state)
{
	(void)state;
	struct kl_verror e = {NULL, NULL, (char *)"data.2.name", NULL};
	assert_int_equal(kl_errpath_item(&e, 5, 2), 2); /* request_id and index agree */
	assert_int_equal(kl_errpath_item(&e, 5, 4), -1); /* they name two items: neither */
	assert_int_equal(kl_errpath_item(&e, 5, -1), 2);
	e.request_id = (char *)"999";
	assert_int_equal(kl_errpath_item(&e, 5, -1), -1); /* a request_id not sent: no item */
	e.request_id = NULL;
	assert_int_equal(kl_errpath_item(&e, 2, -1), -1); /* no item 2 in a batch of 2 */
	e.path = (char *)"2";
	assert_int_equal(kl_errpath_item(&e, 3, -1), 2);
	e.path = (char *)"name";
	assert_int_equal(kl_errpath_item(&e, 1, -1), 0); /* the only item */
	assert_int_equal(kl_errpath_item(&e, 2, -1), -1);
	e.request_id = (char *)"r7";
	assert_int_equal(kl_errpath_item(&e, 1, -1), -1); /* it names an item not sent */
	assert_true(kl_errpath_starts("a.b", "a"));
	assert_true(kl_errpath_starts("a", "a"));
	assert_false(kl_errpath_starts("ab", "a"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_form_names_the_same_flag),
		cmocka_unit_test(another_items_index_is_nothing_sent),
		cmocka_unit_test(the_error_tells_lead_from_contact),
		cmocka_unit_test(unlabelled_parts_are_described),
		cmocka_unit_test(a_missing_key_is_read_where_it_would_be),
		cmocka_unit_test(the_item_is_found_by_request_id_then_index),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
