/* The import's own parts that a unit test reaches: how a row's values are
 * named in messages (imp_row_label), by where each came from. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/cmd/import/import_int.h"
#include "kommo/kl_payload.h"
#include "kommo/kl_reply.h"

static struct kl_column cols_of[] = {
	{(char *)"Name", KL_COL_ATTR, KL_ATTR_NAME, NULL},
	{(char *)"Phone", KL_COL_ATTR, KL_ATTR_PHONE, NULL},
};
static const struct kl_columns cols = {cols_of, 2};

static const char *label(const struct kl_lead *defaults, enum kl_attr a)
{
	static char buf[300];
	struct label_ctx l = {&cols, defaults, 7};
	imp_row_label(&l, a, buf, sizeof buf);
	return buf;
}

static void a_label_names_where_the_value_came_from(void **state)
{
	(void)state;
	struct kl_lead none = {0}, given = {0};
	given.v[KL_ATTR_EMAIL] = (char *)"a@example.com";
	given.v[KL_ATTR_LEAD_NAME] = (char *)"Deal";
	assert_string_equal(label(&none, KL_ATTR_PHONE), "row 7, column \"Phone\"");
	/* neither a column nor a flag gave it: no flag is named as if given */
	assert_string_equal(label(&none, KL_ATTR_EMAIL),
			    "row 7, email (the input has no such column, and --email was not given)");
	assert_string_equal(label(&given, KL_ATTR_EMAIL), "row 7, --email (the default given on the command line)");
	/* the payload makes the lead's name of the contact's */
	assert_string_equal(label(&none, KL_ATTR_LEAD_NAME), "row 7, the lead's name (made from column \"Name\")");
	assert_string_equal(label(&given, KL_ATTR_LEAD_NAME),
			    "row 7, --lead-name (the default given on the command line)");
	assert_string_equal(label(&none, KL_ATTR_SOURCE_UID), "row 7, the source_uid kommo-lead made for it");
}

/* Kommo's error about the lead's name, in a request built as the import
 * builds it, names the column the name came from. */
static void kommos_error_about_a_made_lead_name_names_its_column(void **state)
{
	(void)state;
	struct kl_account acct = {0};
	acct.pipeline_id = 1;
	acct.id[KL_CFG_PHONE_FIELD_ID] = 467700;
	acct.source_name = "site";
	acct.form_id = "form";
	acct.form_name = "Form";
	acct.form_page = "https://example.com/";
	struct kl_lead lead = {0}, none = {0};
	struct kl_err err = {0};
	lead.v[KL_ATTR_NAME] = (char *)"Anna";
	lead.v[KL_ATTR_PHONE] = (char *)"+79990000001";
	lead.v[KL_ATTR_SOURCE_UID] = (char *)"u1";
	struct label_ctx l = {&cols, &none, 7};
	struct kl_payload *p = kl_payload_new();
	assert_non_null(p);
	int rc = kl_payload_add(p, &lead, &acct, "7", 1700000000, imp_row_label, &l, &err);
	if (rc)
		fail_msg("%s", err.msg);
	struct kl_verror e = {(char *)"7", (char *)"InvalidLength", (char *)"_embedded.leads.0.name", NULL};
	char *o = kl_payload_origin(p, &e);
	assert_non_null(o);
	assert_non_null(strstr(o, "row 7, the lead's name (made from column \"Name\")"));
	assert_null(strstr(o, "--lead-name"));
	free(o);
	kl_payload_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_label_names_where_the_value_came_from),
		cmocka_unit_test(kommos_error_about_a_made_lead_name_names_its_column),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
