/*
 * kl_crm: the leads and contacts commands (search, create, update), which
 * work on Kommo's entities directly, and the contact search behind
 * --skip-existing.
 */
#ifndef KL_CRM_H
#define KL_CRM_H

#include "kommo/kl_api.h"
#include "shared/kl_opts.h"
#include "core/kl_config.h"
#include "shared/kl_io.h"

/* leads search|create|update, contacts search|create. */
int kl_crm_run(const struct kl_opts *o, const struct kl_io *io);

/* Searches Kommo's contacts for phone (normalised), then for email (either
 * may be NULL). *contact_id is the first contact that holds an equal value
 * (Kommo's search is looser: it matches parts of any field), 0 when none;
 * *matched is then "phone" or "email". */
int kl_crm_find_contact(struct kl_api *api, const struct kl_account *acct, const char *phone,
			const char *email, long long *contact_id, const char **matched, struct kl_err *err);

#endif
