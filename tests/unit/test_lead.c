/* The lead: setting, checking (alone and against the account), default source_uid. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/kl_digest.h"
#include "core/kl_lead.h"

static void check_requires_name_and_phone_or_email(void **state)
{
	(void)state;
	struct kl_lead l = {0};
	struct kl_err err = {0};
	assert_int_equal(kl_lead_set(&l, KL_ATTR_PHONE, "+79991234567", "--phone", &err), KL_OK);
	assert_int_equal(kl_lead_check(&l, NULL, NULL, &err), KL_EDATA);
	assert_string_equal(err.msg, "--name is required: the contact's first name");
	kl_lead_free(&l);
	assert_int_equal(kl_lead_set(&l, KL_ATTR_NAME, "Ivan", "--name", &err), KL_OK);
	assert_int_equal(kl_lead_check(&l, NULL, NULL, &err), KL_EDATA);
	assert_non_null(strstr(err.msg, "--phone or --email is required"));
	kl_lead_free(&l);
}

static void tags_add_up_trimmed_without_empties_or_repeats(void **state)
{
	(void)state;
	struct kl_lead l = {0};
	struct kl_err err = {0};
	assert_int_equal(kl_lead_set(&l, KL_ATTR_TAGS, " vip ,,ads", "--tag", &err), KL_OK);
	assert_int_equal(kl_lead_set(&l, KL_ATTR_TAGS, "ads, Выставка ,", "--tag", &err), KL_OK);
	assert_string_equal(l.v[KL_ATTR_TAGS], "vip,ads,ads,Выставка");
	assert_int_equal(kl_lead_set(&l, KL_ATTR_NAME, "Ivan", "--name", &err), KL_OK);
	assert_int_equal(kl_lead_set(&l, KL_ATTR_PHONE, "+79991234567", "--phone", &err), KL_OK);
	assert_int_equal(kl_lead_check(&l, NULL, NULL, &err), KL_OK);
	assert_string_equal(l.v[KL_ATTR_TAGS], "vip,ads,Выставка");
	/* a tag with a control character is refused, naming where it came from */
	assert_int_equal(kl_lead_set(&l, KL_ATTR_TAGS, "ok,b\001d", "row 3, column \"tags\"", &err), KL_EDATA);
	assert_string_equal(err.msg, "row 3, column \"tags\": \"b\\x01d\" contains a control character (remove it)");
	assert_string_equal(l.v[KL_ATTR_TAGS], "vip,ads,Выставка");
	/* only empty names: no tags at all */
	free(l.v[KL_ATTR_TAGS]);
	l.v[KL_ATTR_TAGS] = strdup(" , ");
	assert_int_equal(kl_lead_check(&l, NULL, NULL, &err), KL_OK);
	assert_null(l.v[KL_ATTR_TAGS]);
	kl_lead_free(&l);
}

static void check_normalises_values_in_place(void **state)
{
	(void)state;
	struct kl_lead l = {0};
	struct kl_err err = {0};
	kl_lead_set(&l, KL_ATTR_NAME, "  Иван ", "--name", &err);
	kl_lead_set(&l, KL_ATTR_PHONE, "+7 (999) 123-45-67", "--phone", &err);
	kl_lead_set(&l, KL_ATTR_INCOME, "0150000,5", "--income", &err);
	kl_lead_set(&l, KL_ATTR_PRICE, "0042", "--price", &err);
	assert_int_equal(kl_lead_add_field_spec(&l, "lead:1709500= Германия ", "--field", &err), KL_OK);
	assert_int_equal(kl_lead_check(&l, NULL, NULL, &err), KL_OK);
	assert_string_equal(l.v[KL_ATTR_NAME], "Иван");
	assert_string_equal(l.v[KL_ATTR_PHONE], "+79991234567");
	assert_string_equal(l.v[KL_ATTR_INCOME], "150000.5");
	assert_string_equal(l.v[KL_ATTR_PRICE], "42");
	assert_string_equal(l.custom[0].value, "Германия");
	kl_lead_free(&l);
}

static void price_must_be_a_whole_number(void **state)
{
	(void)state;
	struct kl_lead l = {0};
	struct kl_err err = {0};
	kl_lead_set(&l, KL_ATTR_NAME, "Ivan", "--name", &err);
	kl_lead_set(&l, KL_ATTR_EMAIL, "i@example.com", "--email", &err);
	kl_lead_set(&l, KL_ATTR_PRICE, "10.5", "--price", &err);
	assert_int_equal(kl_lead_check(&l, NULL, NULL, &err), KL_EDATA);
	assert_non_null(strstr(err.msg, "--price: \"10.5\" is not a whole number"));
	kl_lead_free(&l);
}

static void setting_twice_is_refused(void **state)
{
	(void)state;
	struct kl_lead l = {0};
	struct kl_err err = {0};
	assert_int_equal(kl_lead_set(&l, KL_ATTR_PHONE, "1234567", "--phone", &err), KL_OK);
	assert_int_equal(kl_lead_set(&l, KL_ATTR_PHONE, "7654321", "--phone", &err), KL_EUSAGE);
	assert_string_equal(l.v[KL_ATTR_PHONE], "1234567");
	kl_lead_free(&l);
}

static void field_spec_needs_entity_id_and_value(void **state)
{
	(void)state;
	struct kl_lead l = {0};
	struct kl_err err = {0};
	assert_int_equal(kl_lead_add_field_spec(&l, "deal:1=x", "--field", &err), KL_EUSAGE);
	assert_non_null(strstr(err.msg, "lead:ID=VALUE or contact:ID=VALUE"));
	assert_int_equal(kl_lead_add_field_spec(&l, "lead:12", "--field", &err), KL_EUSAGE);
	assert_non_null(strstr(err.msg, "missing =VALUE"));
	assert_int_equal(kl_lead_add_field_spec(&l, "lead:0=x", "--field", &err), KL_EDATA);
	assert_non_null(strstr(err.msg, "--field lead:0"));
	assert_int_equal(kl_lead_add_field_spec(&l, "contact:77=a=b", "--field", &err), KL_OK);
	assert_int_equal(l.ncustom, 1);
	assert_int_equal(l.custom[0].entity, KL_ENTITY_CONTACT);
	assert_int_equal(l.custom[0].id, 77);
	assert_string_equal(l.custom[0].value, "a=b");
	assert_string_equal(l.custom[0].label, "--field contact:77");
	assert_false(l.custom[0].numeric);
	assert_int_equal(kl_lead_add_field_spec(&l, "lead:1709444:number=007,5", "--field", &err), KL_OK);
	assert_true(l.custom[1].numeric);
	assert_int_equal(l.custom[1].id, 1709444);
	assert_int_equal(kl_lead_add_field_spec(&l, "lead:1:numeric=1", "--field", &err), KL_EUSAGE);
	kl_lead_set(&l, KL_ATTR_NAME, "A", "--name", &err);
	kl_lead_set(&l, KL_ATTR_PHONE, "1234567", "--phone", &err);
	assert_int_equal(kl_lead_check(&l, NULL, NULL, &err), KL_OK);
	assert_string_equal(l.custom[1].value, "7.5");
	assert_int_equal(kl_lead_add_field_spec(&l, "lead:2:number=12abc", "--field", &err), KL_OK);
	assert_int_equal(kl_lead_check(&l, NULL, NULL, &err), KL_EDATA);
	assert_non_null(strstr(err.msg, "--field lead:2:number: \"12abc\" is not a number"));
	kl_lead_free(&l);
}

static void default_uid_is_md5_of_email_else_phone_and_millis(void **state)
{
	(void)state;
	struct kl_lead l = {0};
	struct kl_err err = {0};
	char want[33];
	kl_lead_set(&l, KL_ATTR_PHONE, "+79991234567", "--phone", &err);
	kl_lead_set(&l, KL_ATTR_EMAIL, "ivan@example.com", "--email", &err);
	assert_int_equal(kl_lead_default_uid(&l, 1732180000123LL, NULL, &err), KL_OK);
	const char *seed = "ivan@example.com-1732180000123";
	kl_digest_md5_hex(seed, strlen(seed), want);
	assert_string_equal(l.v[KL_ATTR_SOURCE_UID], want);
	kl_lead_free(&l);

	kl_lead_set(&l, KL_ATTR_PHONE, "+79991234567", "--phone", &err);
	assert_int_equal(kl_lead_default_uid(&l, 5, "row-2", &err), KL_OK);
	kl_digest_md5_hex("+79991234567-5-row-2", 20, want);
	assert_string_equal(l.v[KL_ATTR_SOURCE_UID], want);
	kl_lead_free(&l);
}

static void given_source_uid_is_kept(void **state)
{
	(void)state;
	struct kl_lead l = {0};
	struct kl_err err = {0};
	kl_lead_set(&l, KL_ATTR_SOURCE_UID, "crm-42", "--source-uid", &err);
	assert_int_equal(kl_lead_default_uid(&l, 1, NULL, &err), KL_OK);
	assert_string_equal(l.v[KL_ATTR_SOURCE_UID], "crm-42");
	kl_lead_free(&l);
}

static void md5_matches_known_vector(void **state)
{
	(void)state;
	char hex[33];
	assert_int_equal(kl_digest_md5_hex("", 0, hex), 0);
	assert_string_equal(hex, "d41d8cd98f00b204e9800998ecf8427e");
	assert_int_equal(kl_digest_md5_hex("abc", 3, hex), 0);
	assert_string_equal(hex, "900150983cd24fb0d6963f7d28e17f72");
}

static void row_label(void *ctx, enum kl_attr a, char *buf, size_t size)
{
	snprintf(buf, size, "row %d, column \"%s\"", *(int *)ctx, kl_attr_info(a)->name);
}

static void check_uses_caller_labels(void **state)
{
	(void)state;
	struct kl_lead l = {0};
	struct kl_err err = {0};
	int row = 12;
	kl_lead_set(&l, KL_ATTR_NAME, "Ivan", "name", &err);
	kl_lead_set(&l, KL_ATTR_PHONE, "12ab", "phone", &err);
	assert_int_equal(kl_lead_check(&l, row_label, &row, &err), KL_EDATA);
	assert_non_null(strstr(err.msg, "row 12, column \"phone\": \"12ab\" is not a phone number"));
	kl_lead_free(&l);
}

/* Phone and email go by field code when no id is set; telegram and career have no code. */
static void account_with(struct kl_account *a, unsigned long long telegram, unsigned long long career)
{
	memset(a, 0, sizeof *a);
	a->id[KL_CFG_TELEGRAM_FIELD_ID] = telegram;
	a->id[KL_CFG_CAREER_FIELD_ID] = career;
}

static void base_lead(struct kl_lead *l)
{
	struct kl_err err = {0};
	memset(l, 0, sizeof *l);
	assert_int_equal(kl_lead_set(l, KL_ATTR_NAME, "Ivan", "--name", &err), KL_OK);
	assert_int_equal(kl_lead_set(l, KL_ATTR_PHONE, "+7 999 123-45-67", "--phone", &err), KL_OK);
}

static void needs_id_only_for_custom_fields_without_code_or_id(void **state)
{
	(void)state;
	struct kl_account a;
	account_with(&a, 0, 488804);
	assert_true(kl_attr_needs_id(&a, KL_ATTR_TELEGRAM));
	assert_false(kl_attr_needs_id(&a, KL_ATTR_CAREER));  /* configured */
	assert_false(kl_attr_needs_id(&a, KL_ATTR_PHONE));   /* by code PHONE */
	assert_false(kl_attr_needs_id(&a, KL_ATTR_NAME));    /* not a custom field */
	assert_true(kl_attr_needs_id(&a, KL_ATTR_EDUCATION));
}

static void check_account_names_the_field_id_to_configure(void **state)
{
	(void)state;
	struct kl_account a;
	struct kl_lead l;
	struct kl_err err = {0};
	int row = 7;
	account_with(&a, 0, 488804);
	base_lead(&l);
	assert_int_equal(kl_lead_set(&l, KL_ATTR_TELEGRAM, "@ivan", "--telegram", &err), KL_OK);
	assert_int_equal(kl_lead_check_account(&l, &a, NULL, NULL, &err), KL_ECONFIG);
	assert_string_equal(err.msg,
		"--telegram needs the id of its Kommo field: set KOMMO_TELEGRAM_FIELD_ID in the config file or the environment (kommo-lead.1 tells where to find it)");
	assert_int_equal(kl_lead_fits_account(&l, &a, row_label, &row, &err), KL_ECONFIG);
	assert_non_null(strstr(err.msg, "row 7, column \"telegram\" needs the id"));
	a.id[KL_CFG_TELEGRAM_FIELD_ID] = 1709360;
	assert_int_equal(kl_lead_check_account(&l, &a, NULL, NULL, &err), KL_OK);
	kl_lead_free(&l);
}

static void check_account_refuses_a_field_set_twice(void **state)
{
	(void)state;
	struct kl_account a;
	struct kl_lead l;
	struct kl_err err = {0};
	account_with(&a, 1709360, 488804);
	base_lead(&l);
	assert_int_equal(kl_lead_set(&l, KL_ATTR_CAREER, "x", "--career", &err), KL_OK);
	assert_int_equal(kl_lead_add_field_spec(&l, "lead:488804=y", "--field", &err), KL_OK);
	assert_int_equal(kl_lead_check_account(&l, &a, NULL, NULL, &err), KL_EDATA);
	assert_string_equal(err.msg, "--field lead:488804 sets field 488804, which --career already sets");
	kl_lead_free(&l);

	/* the same id on the other entity is another field */
	base_lead(&l);
	assert_int_equal(kl_lead_add_field_spec(&l, "contact:1709500=a", "--field", &err), KL_OK);
	assert_int_equal(kl_lead_add_field_spec(&l, "lead:1709500=b", "--field", &err), KL_OK);
	assert_int_equal(kl_lead_check_account(&l, &a, NULL, NULL, &err), KL_OK);
	assert_int_equal(kl_lead_add_field_spec(&l, "lead:1709500:number=5", "--field", &err), KL_OK);
	assert_int_equal(kl_lead_check_account(&l, &a, NULL, NULL, &err), KL_EDATA);
	assert_string_equal(err.msg, "--field lead:1709500:number is given twice");
	kl_lead_free(&l);
}

/* Values first, as kl_lead_check has them; then the lead's custom fields
 * before the contact's, the order the body is built in. */
static void check_account_checks_values_then_fields_in_build_order(void **state)
{
	(void)state;
	struct kl_account a;
	struct kl_lead l;
	struct kl_err err = {0};
	account_with(&a, 0, 0);
	base_lead(&l);
	assert_int_equal(kl_lead_set(&l, KL_ATTR_TELEGRAM, "@ivan", "--telegram", &err), KL_OK);
	assert_int_equal(kl_lead_set(&l, KL_ATTR_CAREER, "x", "--career", &err), KL_OK);
	assert_int_equal(kl_lead_set(&l, KL_ATTR_EMAIL, "not an email", "--email", &err), KL_OK);
	assert_int_equal(kl_lead_check_account(&l, &a, NULL, NULL, &err), KL_EDATA);
	assert_non_null(strstr(err.msg, "--email"));
	free(l.v[KL_ATTR_EMAIL]);
	l.v[KL_ATTR_EMAIL] = NULL;
	assert_int_equal(kl_lead_check_account(&l, &a, NULL, NULL, &err), KL_ECONFIG);
	assert_non_null(strstr(err.msg, "--career needs the id"));
	assert_string_equal(l.v[KL_ATTR_PHONE], "+79991234567"); /* normalised on the way */
	kl_lead_free(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(check_requires_name_and_phone_or_email),
		cmocka_unit_test(check_normalises_values_in_place),
		cmocka_unit_test(price_must_be_a_whole_number),
		cmocka_unit_test(setting_twice_is_refused),
		cmocka_unit_test(field_spec_needs_entity_id_and_value),
		cmocka_unit_test(default_uid_is_md5_of_email_else_phone_and_millis),
		cmocka_unit_test(given_source_uid_is_kept),
		cmocka_unit_test(tags_add_up_trimmed_without_empties_or_repeats),
		cmocka_unit_test(md5_matches_known_vector),
		cmocka_unit_test(check_uses_caller_labels),
		cmocka_unit_test(needs_id_only_for_custom_fields_without_code_or_id),
		cmocka_unit_test(check_account_names_the_field_id_to_configure),
		cmocka_unit_test(check_account_refuses_a_field_set_twice),
		cmocka_unit_test(check_account_checks_values_then_fields_in_build_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
