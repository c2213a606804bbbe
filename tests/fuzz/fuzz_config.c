/* libFuzzer target: the dotenv config reader on any bytes, and the check of
 * what it read (kl_config_resolve), with and without a remote account.
 * Built with -DKL_FUZZ=ON and clang; tests/fuzz/replay.c replays the corpus. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/kl_config.h"
#include "util/kl_str.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct warned {
	unsigned n;
};

static void on_warn(void *ctx, const char *message)
{
	/* a warning names the file and line it is about */
	if (strncmp(message, "fuzz.env:", 9) != 0)
		abort();
	((struct warned *)ctx)->n++;
}

/* The token with its letters and digits rotated: every check takes the
 * same path with it (spaces, controls and other bytes stay), but a message
 * that quotes any of it comes out different. A leading "Bearer " stays as
 * it is: the check that refuses it reads those letters. */
static char *rotated(const char *tok)
{
	char *r = strdup(tok);
	size_t keep = r && strncasecmp(r, "Bearer ", 7) == 0 ? 7 : 0;
	for (char *c = r ? r + keep : NULL; c && *c; c++) {
		if (*c >= 'a' && *c <= 'z')
			*c = (char)('a' + (*c - 'a' + 13) % 26);
		else if (*c >= 'A' && *c <= 'Z')
			*c = (char)('A' + (*c - 'A' + 13) % 26);
		else if (*c >= '0' && *c <= '9')
			*c = (char)('0' + (*c - '0' + 5) % 10);
	}
	return r;
}

/* What resolve says must not depend on what the token is. */
static void check_token_not_shown(struct kl_config *cfg, bool remote, int rc, const char *msg)
{
	char *tok = cfg->value[KL_CFG_API_TOKEN], *other = tok ? rotated(tok) : NULL;
	if (!other)
		return;
	struct kl_account acct;
	struct kl_err err = {0};
	cfg->value[KL_CFG_API_TOKEN] = other;
	int rc2 = kl_config_resolve(cfg, remote, &acct, &err);
	cfg->value[KL_CFG_API_TOKEN] = tok;
	free(other);
	if (rc2 == KL_OK)
		kl_account_free(&acct);
	if (rc2 != rc || (rc && strcmp(err.msg, msg) != 0))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kl_config cfg = {0};
	struct kl_err err = {0};
	struct warned w = {0};

	/* the reader takes a length and must not need a terminating NUL */
	int rc = kl_config_parse_dotenv(&cfg, (const char *)data, size, "fuzz.env", on_warn, &w, &err);
	if (rc != KL_OK) {
		if ((rc != KL_ECONFIG && rc != KL_EOSERR) || err.status != rc || !err.msg[0])
			abort();
		if (strncmp(err.msg, "fuzz.env:", 9) != 0)
			abort();
		kl_config_free(&cfg);
		return 0;
	}
	for (int k = 0; k < KL_CFG_COUNT; k++) {
		if (!cfg.value[k])
			continue;
		/* KEY= is "not set": a value kept is never empty, and came from a line */
		if (!cfg.value[k][0] || !cfg.origin[k] || strncmp(cfg.origin[k], "fuzz.env:", 9) != 0)
			abort();
	}
	/* resolve reads the CA bundle's file: keep the fuzzer off the filesystem */
	free(cfg.value[KL_CFG_CA_BUNDLE]);
	free(cfg.origin[KL_CFG_CA_BUNDLE]);
	cfg.value[KL_CFG_CA_BUNDLE] = cfg.origin[KL_CFG_CA_BUNDLE] = NULL;

	for (int remote = 0; remote <= 1; remote++) {
		struct kl_account acct;
		memset(&err, 0, sizeof err);
		rc = kl_config_resolve(&cfg, remote, &acct, &err);
		if (rc == KL_OK) {
			if (remote && (!acct.base_url || !acct.token))
				abort();
			if (acct.base_url && strncmp(acct.base_url, "http", 4) != 0)
				abort();
			/* the token goes into an HTTP header: no CR, LF or other control */
			if (acct.token && (!acct.token[0] || kl_str_has_control(acct.token) ||
					   strpbrk(acct.token, " \r\n")))
				abort();
			/* paths are appended to it: "https://x.kommo.com" + "/api/v4/..." */
			if (acct.base_url && (kl_str_has_control(acct.base_url) || strpbrk(acct.base_url, " ?#") ||
					      acct.base_url[strlen(acct.base_url) - 1] == '/'))
				abort();
			if (!acct.source_name || !acct.form_id || !acct.form_name)
				abort();
			if (cfg.value[KL_CFG_PIPELINE_ID] && acct.pipeline_id == 0)
				abort();
			kl_account_free(&acct);
		} else {
			if (rc != KL_ECONFIG && rc != KL_EOSERR)
				abort();
			if (!err.msg[0])
				abort();
		}
		check_token_not_shown(&cfg, remote, rc, err.msg);
	}
	kl_config_free(&cfg);
	return 0;
}
