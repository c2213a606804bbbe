/*
 * The check and fields commands' shared part (src/cmd/inspect.c): reading
 * what the account holds, and naming its fields and pipelines.
 *   inspect_check.c   kl_inspect_check: the configuration against the account
 *   inspect_fields.c  kl_inspect_fields: the account's fields and pipelines
 */
#ifndef KL_INSPECT_INT_H
#define KL_INSPECT_INT_H

#include <stdbool.h>

#include "cmd/kl_inspect.h"
#include "core/kl_lead.h"
#include "kommo/kl_api.h"

struct cJSON;

#define ACCOUNT_PATH "/api/v4/account"
#define PIPELINES_PATH "/api/v4/leads/pipelines"
#define LEAD_FIELDS_PATH "/api/v4/leads/custom_fields"
#define CONTACT_FIELDS_PATH "/api/v4/contacts/custom_fields"

/* What the account holds, as Kommo sent it. */
struct account {
	struct cJSON *account;   /* GET /api/v4/account */
	struct cJSON *pipelines; /* array */
	struct cJSON *fields[3]; /* arrays, by enum kl_entity */
};

void ins_account_free(struct account *a);
const char *ins_entity_word(enum kl_entity e);
const struct cJSON *ins_statuses_of(const struct cJSON *pipeline);
int ins_read_account(struct kl_api *api, bool with_account, struct account *a, struct kl_err *err);
const struct cJSON *ins_find_by_code(const struct cJSON *list, const char *code);
const struct cJSON *ins_main_pipeline(const struct cJSON *pipelines);
const struct cJSON *ins_incoming_status(const struct cJSON *pipeline);
bool ins_type_fits(enum kl_attr a, const char *type);
const char *ins_type_wanted(enum kl_attr a);
char *ins_describe_field(enum kl_entity e, const struct cJSON *f);

#endif
