/*
 * kl_session: what every command that talks to Kommo does first: build the
 * layered configuration and open a client (kl_api) on it.
 */
#ifndef KL_SESSION_H
#define KL_SESSION_H

#include "shared/kl_opts.h"
#include "core/kl_config.h"
#include "kommo/kl_api.h"
#include "shared/kl_io.h"

/* Builds the layered configuration for any command: config file (unless
 * --no-config), then the environment, then the token's own source
 * (--token-file, --token-command or KOMMO_TOKEN_COMMAND), then the flags. */
int kl_session_load_config(const struct kl_opts *o, const struct kl_io *io, struct kl_config *cfg,
			   struct kl_err *err);

/* As kl_session_load_config; without run_token_command the token's command
 * is not run (kommo-lead config only says where the token would come from). */
int kl_session_load_layers(const struct kl_opts *o, const struct kl_io *io, bool run_token_command,
			   struct kl_config *cfg, struct kl_err *err);

/* The command the token is to be taken from (--token-command, else
 * KOMMO_TOKEN_COMMAND unless --token-file is given) and *origin naming
 * which; NULL when none. */
const char *kl_session_token_command(const struct kl_opts *o, const struct kl_io *io,
				     const char **origin);

/* A client on a configuration already resolved: rate requests a second at
 * most (0: none), max_retries as kl_api_open; the verbose log goes to io
 * with -v, and a refused token names the origin of cfg's token. */
int kl_session_open(const struct kl_opts *o, const struct kl_io *io, const struct kl_config *cfg,
		    const struct kl_account *acct, double rate, int max_retries, struct kl_api *api,
		    struct kl_err *err);

/* The configuration, already loaded, resolved for sending (an address and a
 * token required) into remote, and a client on it as kl_session_connect
 * opens one; remote must outlive api. */
int kl_session_open_remote(const struct kl_opts *o, const struct kl_io *io, const struct kl_config *cfg,
			   struct kl_account *remote, struct kl_api *api, struct kl_err *err);

/* Loads and resolves the configuration (an address and a token required)
 * and opens a client on it: 7 requests a second, GETs retried twice. */
int kl_session_connect(const struct kl_opts *o, const struct kl_io *io, struct kl_config *cfg,
		       struct kl_account *acct, struct kl_api *api, struct kl_err *err);

#endif
