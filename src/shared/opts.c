#include "shared/kl_opts.h"

#include <stdlib.h>
#include <string.h>

/* Each command as the user writes it. */
const char *kl_opts_command_name(enum kl_cmd c)
{
	static const char *const names[] = {
		[KL_CMD_SUBMIT] = "submit",
		[KL_CMD_IMPORT] = "import",
		[KL_CMD_CHECK] = "check",
		[KL_CMD_FIELDS] = "fields",
		[KL_CMD_LEADS] = "leads",
		[KL_CMD_LEADS_SEARCH] = "leads search",
		[KL_CMD_LEADS_CREATE] = "leads create",
		[KL_CMD_LEADS_UPDATE] = "leads update",
		[KL_CMD_CONTACTS] = "contacts",
		[KL_CMD_CONTACTS_SEARCH] = "contacts search",
		[KL_CMD_CONTACTS_CREATE] = "contacts create",
		[KL_CMD_CONFIG] = "config",
		[KL_CMD_HELP] = "help",
		[KL_CMD_VERSION] = "version",
	};
	return names[c];
}

void kl_opts_free(struct kl_opts *o)
{
	if (!o)
		return;
	kl_lead_free(&o->lead);
	kl_config_free(&o->flags);
	free(o->ent.name);
	free(o->ent.first_name);
	free(o->ent.last_name);
	free(o->ent.phone);
	free(o->ent.email);
	free(o->ent.query);
	free(o->ent.contacts);
	kl_lead_free(&o->ent.fields);
	free(o->config_path);
	free(o->token_command);
	free(o->token_file);
	free(o->input);
	free(o->columns);
	for (size_t i = 0; i < o->nmaps; i++) {
		free((char *)o->maps[i].column);
		free((char *)o->maps[i].field);
	}
	free(o->maps);
	free(o->rejects);
	free(o->results);
	free(o->state);
	memset(o, 0, sizeof *o);
}
