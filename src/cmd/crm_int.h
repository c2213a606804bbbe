/*
 * The leads and contacts commands' parts (src/cmd/crm.c: searches, the
 * contact search of --skip-existing, the dispatch; crm_change.c: create and
 * update).
 */
#ifndef KL_CRM_INT_H
#define KL_CRM_INT_H

#include "cmd/kl_crm.h"

#define LEADS_PATH "/api/v4/leads"
#define CONTACTS_PATH "/api/v4/contacts"

/* leads create, leads update, contacts create. */
int crm_change(const struct kl_opts *o, const struct kl_io *io, const struct kl_config *cfg,
	       const struct kl_account *acct, struct kl_err *err);

#endif
