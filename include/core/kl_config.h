/*
 * kl_config: the configuration keys, where they come from, and what they
 * resolve to.
 *
 * A struct kl_config is one layer of values: the dotenv file, the
 * environment, or the command line. Layers are laid over one another with
 * kl_config_merge (flags > environment > file) and the result is checked
 * and turned into a struct kl_account by kl_config_resolve.
 *
 * Every string a struct owns is freed by its _free function; the token is
 * wiped first.
 */
#ifndef KL_CONFIG_H
#define KL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "util/kl_err.h"

enum kl_cfg_key {
	KL_CFG_SUBDOMAIN,
	KL_CFG_DOMAIN,
	KL_CFG_BASE_URL,
	KL_CFG_API_TOKEN,
	KL_CFG_PIPELINE_ID,
	KL_CFG_PHONE_FIELD_ID,
	KL_CFG_EMAIL_FIELD_ID,
	KL_CFG_TELEGRAM_FIELD_ID,
	KL_CFG_CAREER_FIELD_ID,
	KL_CFG_EDUCATION_FIELD_ID,
	KL_CFG_INCOME_FIELD_ID,
	KL_CFG_UTM_SOURCE_FIELD_ID,
	KL_CFG_UTM_MEDIUM_FIELD_ID,
	KL_CFG_UTM_CAMPAIGN_FIELD_ID,
	KL_CFG_UTM_CONTENT_FIELD_ID,
	KL_CFG_UTM_TERM_FIELD_ID,
	KL_CFG_UTM_REFERRER_FIELD_ID,
	KL_CFG_SOURCE_NAME,
	KL_CFG_FORM_ID,
	KL_CFG_FORM_NAME,
	KL_CFG_FORM_PAGE,
	KL_CFG_CA_BUNDLE,
	KL_CFG_PHONE_REGION,
	KL_CFG_COUNT
};

/* "KOMMO_PIPELINE_ID" for KL_CFG_PIPELINE_ID. */
const char *kl_config_key_name(enum kl_cfg_key key);
/* The key named name, or -1. */
int kl_config_key_lookup(const char *name);
/* True for the keys holding custom field ids. */
bool kl_config_key_is_field_id(enum kl_cfg_key key);

struct kl_config {
	char *value[KL_CFG_COUNT];  /* NULL when not set in this layer */
	char *origin[KL_CFG_COUNT]; /* "environment", "FILE:LINE", "--pipeline" */
};

typedef const char *(*kl_getenv_fn)(const char *name);
typedef void (*kl_warn_fn)(void *ctx, const char *message);

void kl_config_free(struct kl_config *cfg); /* leaves cfg empty; accepts NULL */

/* Sets one value (copied) with the place it came from. */
int kl_config_set(struct kl_config *cfg, enum kl_cfg_key key, const char *value,
		  const char *origin, struct kl_err *err);

/* Lays every value set in top over dst. */
int kl_config_merge(struct kl_config *dst, const struct kl_config *top, struct kl_err *err);

/* Parses dotenv text: KEY=value lines, '#' comments, optional `export `,
 * single or double quotes. Keys not starting with KOMMO_ belong to other
 * programs and are ignored; unknown KOMMO_ keys are warned about. An empty
 * value counts as not set. name is used in messages ("FILE:LINE"). */
int kl_config_parse_dotenv(struct kl_config *cfg, const char *text, size_t len,
			   const char *name, kl_warn_fn warn, void *warn_ctx, struct kl_err *err);

/* Reads a dotenv file. A missing file is an error only when required. Warns
 * when the file holds a token and others may read it. */
int kl_config_load_file(struct kl_config *cfg, const char *path, bool required,
			kl_warn_fn warn, void *warn_ctx, struct kl_err *err);

/* Takes every key set (non-empty) in the environment. */
int kl_config_load_env(struct kl_config *cfg, kl_getenv_fn get, struct kl_err *err);

/* Reads the token from a file (its first line; trailing CR/LF dropped);
 * path "-" is standard input. */
int kl_config_load_token_file(struct kl_config *cfg, const char *path,
			      kl_warn_fn warn, void *warn_ctx, struct kl_err *err);

/* Runs cmd with /bin/sh -c and takes the first line it prints as the token
 * (as msmtp's passwordeval): KL_ECONFIG naming the command, never its
 * output, when it fails, prints nothing or an empty first line. origin
 * ("--token-command") is what the token's origin becomes. */
int kl_config_load_token_command(struct kl_config *cfg, const char *cmd, const char *origin,
				 struct kl_err *err);

/* The config file to read when --config is not given: $KOMMO_LEAD_CONFIG
 * (required = true), else $XDG_CONFIG_HOME/kommo-lead/config.env or
 * ~/.config/kommo-lead/config.env (required = false). NULL when no home is
 * known. */
char *kl_config_default_path(kl_getenv_fn get, bool *required);

/* What the configuration resolves to, checked. */
struct kl_account {
	char *base_url;                     /* no trailing '/'; NULL if not needed */
	char *token;                        /* NULL when not needed */
	unsigned long long pipeline_id;     /* 0: not configured */
	unsigned long long id[KL_CFG_COUNT]; /* field ids by key; 0: not configured */
	char *source_name, *form_id, *form_name, *form_page;
	char *ca_bundle; /* KOMMO_CA_BUNDLE / --cacert: CA certificates to trust; NULL: the system's */
	char phone_region[3]; /* KOMMO_PHONE_REGION / --phone-region ("RU"); "": none */
};

/* KOMMO_PHONE_REGION, checked, in upper case into region ("" when not set):
 * the country whose national numbers (8 999 ..., 999 ...) phones are read as. */
int kl_config_phone_region(const struct kl_config *cfg, char region[3], struct kl_err *err);

/* Checks every value in cfg and fills acct. With need_remote, an address and
 * a token are required. */
int kl_config_resolve(const struct kl_config *cfg, bool need_remote,
		      struct kl_account *acct, struct kl_err *err);
void kl_account_free(struct kl_account *acct); /* accepts NULL */

#endif
