/* kommo-lead config: what each setting is and where it came from. The layers
 * are loaded as every other command loads them (kl_session), so what this
 * shows is what a send would use. */
#include "cmd/kl_config_cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "shared/kl_session.h"
#include "util/kl_str.h"

/* Where a value came from, in git config --show-origin's manner, one of the
 * documented four: "flag:--pipeline", "environment", "file:PATH:LINE",
 * "default". The token file's path ("--token-file PATH") is the user's own
 * argument; a token command from the environment is "environment" (its
 * value says it is a command's output). */
static char *origin_label(const char *origin)
{
	if (!origin)
		return strdup("default");
	if (strcmp(origin, "environment") == 0 || strcmp(origin, "KOMMO_TOKEN_COMMAND") == 0)
		return strdup("environment");
	if (origin[0] == '-')
		return kl_str_printf("flag:%.*s", (int)strcspn(origin, " "), origin);
	return kl_str_printf("file:%s", origin);
}

/* The value a key takes when no layer sets it, or NULL (as kl_config_resolve). */
static const char *default_value(const struct kl_config *cfg, int k)
{
	switch (k) {
	case KL_CFG_SOURCE_NAME:
	case KL_CFG_FORM_ID:
		return "kommo-lead";
	case KL_CFG_FORM_NAME:
		return cfg->value[KL_CFG_SOURCE_NAME] ? cfg->value[KL_CFG_SOURCE_NAME] : "kommo-lead";
	default:
		return NULL;
	}
}

static int emit(const struct kl_opts *o, const struct kl_io *io, const char *key, const char *value,
		const char *origin, struct kl_err *err)
{
	char *label = origin_label(origin);
	int rc = KL_OK;
	if (!label)
		return kl_err_oom(err);
	if (o->json) {
		cJSON *obj = cJSON_CreateObject();
		if (!obj || !cJSON_AddStringToObject(obj, "key", key) ||
		    !cJSON_AddStringToObject(obj, "value", value) || !cJSON_AddStringToObject(obj, "origin", label))
			rc = kl_err_oom(err);
		else
			rc = kl_io_json(io, obj, err);
		cJSON_Delete(obj);
	} else if (fprintf(io->out, "%s\t%s=%s\n", label, key, value) < 0) {
		rc = kl_err_set(err, KL_EIO, "cannot write to standard output");
	}
	free(label);
	return rc;
}

/* The token: never its value; whether one is set and by what. */
static int emit_token(const struct kl_opts *o, const struct kl_io *io, const struct kl_config *cfg,
		      struct kl_err *err)
{
	const char *cmd_origin;
	const char *key = kl_config_key_name(KL_CFG_API_TOKEN);
	/* the command is not run here: it may prompt, and only its place matters */
	if (kl_session_token_command(o, io, &cmd_origin))
		return emit(o, io, key, "(set: from the command's output; not run)", cmd_origin, err);
	if (cfg->value[KL_CFG_API_TOKEN])
		return emit(o, io, key, "(set)", cfg->origin[KL_CFG_API_TOKEN], err);
	return emit(o, io, key, "(unset)", NULL, err);
}

/* The address a command would use, and the key it comes from: the three
 * address keys may all be set, and only one counts (kl_config_resolve). */
static void say_address(const struct kl_io *io, const struct kl_config *cfg)
{
	static const int keys[] = {KL_CFG_BASE_URL, KL_CFG_DOMAIN, KL_CFG_SUBDOMAIN};
	struct kl_account acct = {0};
	struct kl_err err = {0};
	size_t k = 0;
	while (k < sizeof keys / sizeof keys[0] && !cfg->value[keys[k]])
		k++;
	if (k == sizeof keys / sizeof keys[0]) {
		kl_io_say(io, "address: none (set KOMMO_SUBDOMAIN, KOMMO_DOMAIN or KOMMO_BASE_URL)");
		return;
	}
	if (kl_config_resolve(cfg, false, &acct, &err) == KL_OK && acct.base_url)
		kl_io_say(io, "address: %s (from %s)", acct.base_url, kl_config_key_name(keys[k]));
	else /* a bad value of some key: check and every send say which */
		kl_io_say(io, "address: from %s", kl_config_key_name(keys[k]));
	kl_account_free(&acct);
}

/* Which config file was read; on stderr, since it is no setting. */
static void say_file(const struct kl_opts *o, const struct kl_io *io)
{
	bool required = true;
	if (o->no_config) {
		kl_io_say(io, "config file: none (--no-config)");
		return;
	}
	char *path = o->config_path ? strdup(o->config_path) : kl_config_default_path(io->getenv, &required);
	if (path)
		kl_io_say(io, "config file: %s%s", path, required ? "" : " (if it exists)");
	free(path);
}

int kl_config_cmd_run(const struct kl_opts *o, const struct kl_io *io)
{
	struct kl_config cfg;
	struct kl_err err = {0};
	int rc = kl_session_load_layers(o, io, false, &cfg, &err);
	if (rc)
		goto out;
	say_file(o, io);
	say_address(io, &cfg);
	for (int k = 0; k < KL_CFG_COUNT && rc == KL_OK; k++) {
		if (k == KL_CFG_API_TOKEN)
			rc = emit_token(o, io, &cfg, &err);
		else if (cfg.value[k])
			rc = emit(o, io, kl_config_key_name(k), cfg.value[k], cfg.origin[k], &err);
		else if (default_value(&cfg, k))
			rc = emit(o, io, kl_config_key_name(k), default_value(&cfg, k), NULL, &err);
	}
	kl_config_free(&cfg);
out:
	if (rc)
		kl_io_say(io, "%s", err.msg);
	return rc;
}
