#include "shared/kl_session.h"

#include <stdlib.h>
#include <string.h>

const char *kl_session_token_command(const struct kl_opts *o, const struct kl_io *io,
				     const char **origin)
{
	const char *env = io->getenv("KOMMO_TOKEN_COMMAND");
	*origin = NULL;
	if (o->token_command) {
		*origin = "--token-command";
		return o->token_command;
	}
	/* --token-file is a flag: it beats the environment's command */
	if (o->token_file || !env || !*env)
		return NULL;
	*origin = "KOMMO_TOKEN_COMMAND";
	return env;
}

int kl_session_load_config(const struct kl_opts *o, const struct kl_io *io, struct kl_config *cfg,
			   struct kl_err *err)
{
	return kl_session_load_layers(o, io, true, cfg, err);
}

int kl_session_load_layers(const struct kl_opts *o, const struct kl_io *io, bool run_token_command,
			   struct kl_config *cfg, struct kl_err *err)
{
	const char *cmd_origin, *cmd = kl_session_token_command(o, io, &cmd_origin);
	struct kl_config env = {0}, tok = {0};
	char *path = NULL;
	int rc = KL_OK;

	memset(cfg, 0, sizeof *cfg);
	if (!o->no_config) {
		bool required = true;
		path = o->config_path ? strdup(o->config_path) : kl_config_default_path(io->getenv, &required);
		if (path && (rc = kl_config_load_file(cfg, path, required, kl_io_warn, (void *)io, err))) {
			if (!o->config_path && required) {
				char msg[sizeof err->msg];
				memcpy(msg, err->msg, sizeof msg);
				kl_err_set(err, rc, "KOMMO_LEAD_CONFIG (from the environment): %.900s", msg);
			}
			goto out;
		}
	}
	if ((rc = kl_config_load_env(&env, io->getenv, err)) || (rc = kl_config_merge(cfg, &env, err)))
		goto out;
	if (o->token_file &&
	    ((rc = kl_config_load_token_file(&tok, o->token_file, kl_io_warn, (void *)io, err)) ||
	     (rc = kl_config_merge(cfg, &tok, err))))
		goto out;
	if (cmd && run_token_command &&
	    ((rc = kl_config_load_token_command(&tok, cmd, cmd_origin, err)) ||
	     (rc = kl_config_merge(cfg, &tok, err))))
		goto out;
	rc = kl_config_merge(cfg, &o->flags, err);
out:
	free(path);
	kl_config_free(&env);
	kl_config_free(&tok);
	if (rc)
		kl_config_free(cfg);
	return rc;
}

int kl_session_open(const struct kl_opts *o, const struct kl_io *io, const struct kl_config *cfg,
		    const struct kl_account *acct, double rate, int max_retries, struct kl_api *api,
		    struct kl_err *err)
{
	int rc;
	struct kl_http_opts ho = {
		.base_url = acct->base_url,
		.token = acct->token,
		.timeout_ms = o->timeout_ms,
		.ca_bundle = acct->ca_bundle,
		.log = o->verbose ? kl_io_log : NULL,
		.log_bodies = o->verbose >= 2,
		.log_ctx = (void *)io,
	};
	if ((rc = kl_api_open(api, &ho, rate, max_retries, io->getenv, kl_io_warn, (void *)io, err)))
		return rc;
	api->token_origin = cfg->origin[KL_CFG_API_TOKEN];
	return KL_OK;
}

int kl_session_connect(const struct kl_opts *o, const struct kl_io *io, struct kl_config *cfg,
		       struct kl_account *acct, struct kl_api *api, struct kl_err *err)
{
	int rc;
	if ((rc = kl_session_load_config(o, io, cfg, err)) || (rc = kl_config_resolve(cfg, true, acct, err)))
		return rc;
	return kl_session_open(o, io, cfg, acct, 7, 2, api, err);
}

int kl_session_open_remote(const struct kl_opts *o, const struct kl_io *io, const struct kl_config *cfg,
			   struct kl_account *remote, struct kl_api *api, struct kl_err *err)
{
	int rc = kl_config_resolve(cfg, true, remote, err);
	return rc ? rc : kl_session_open(o, io, cfg, remote, 7, 2, api, err);
}
