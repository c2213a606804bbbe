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

/* The configuration checked for sending (an address and a token), and a
 * client on it; remote must outlive api. */
int crm_open_remote(const struct kl_opts *o, const struct kl_io *io, const struct kl_config *cfg,
		    struct kl_account *remote, struct kl_api *api, struct kl_err *err);

/* leads create, leads update, contacts create. */
int crm_change(const struct kl_opts *o, const struct kl_io *io, const struct kl_config *cfg,
	       const struct kl_account *acct, struct kl_err *err);

#endif
