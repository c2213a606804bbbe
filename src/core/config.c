#include "core/kl_config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/kl_check.h"
#include "core/kl_phone.h"
#include "util/kl_str.h"

#define KL_CONFIG_MAX_FILE (1024 * 1024)

static const char *const key_names[KL_CFG_COUNT] = {
	[KL_CFG_SUBDOMAIN] = "KOMMO_SUBDOMAIN",
	[KL_CFG_DOMAIN] = "KOMMO_DOMAIN",
	[KL_CFG_BASE_URL] = "KOMMO_BASE_URL",
	[KL_CFG_API_TOKEN] = "KOMMO_API_TOKEN",
	[KL_CFG_PIPELINE_ID] = "KOMMO_PIPELINE_ID",
	[KL_CFG_PHONE_FIELD_ID] = "KOMMO_PHONE_FIELD_ID",
	[KL_CFG_EMAIL_FIELD_ID] = "KOMMO_EMAIL_FIELD_ID",
	[KL_CFG_TELEGRAM_FIELD_ID] = "KOMMO_TELEGRAM_FIELD_ID",
	[KL_CFG_CAREER_FIELD_ID] = "KOMMO_CAREER_FIELD_ID",
	[KL_CFG_EDUCATION_FIELD_ID] = "KOMMO_EDUCATION_FIELD_ID",
	[KL_CFG_INCOME_FIELD_ID] = "KOMMO_INCOME_FIELD_ID",
	[KL_CFG_UTM_SOURCE_FIELD_ID] = "KOMMO_UTM_SOURCE_FIELD_ID",
	[KL_CFG_UTM_MEDIUM_FIELD_ID] = "KOMMO_UTM_MEDIUM_FIELD_ID",
	[KL_CFG_UTM_CAMPAIGN_FIELD_ID] = "KOMMO_UTM_CAMPAIGN_FIELD_ID",
	[KL_CFG_UTM_CONTENT_FIELD_ID] = "KOMMO_UTM_CONTENT_FIELD_ID",
	[KL_CFG_UTM_TERM_FIELD_ID] = "KOMMO_UTM_TERM_FIELD_ID",
	[KL_CFG_UTM_REFERRER_FIELD_ID] = "KOMMO_UTM_REFERRER_FIELD_ID",
	[KL_CFG_SOURCE_NAME] = "KOMMO_SOURCE_NAME",
	[KL_CFG_FORM_ID] = "KOMMO_FORM_ID",
	[KL_CFG_FORM_NAME] = "KOMMO_FORM_NAME",
	[KL_CFG_FORM_PAGE] = "KOMMO_FORM_PAGE",
	[KL_CFG_CA_BUNDLE] = "KOMMO_CA_BUNDLE",
	[KL_CFG_PHONE_REGION] = "KOMMO_PHONE_REGION",
};

const char *kl_config_key_name(enum kl_cfg_key key)
{
	return key_names[key];
}

int kl_config_key_lookup(const char *name)
{
	for (int k = 0; k < KL_CFG_COUNT; k++)
		if (strcmp(key_names[k], name) == 0)
			return k;
	return -1;
}

bool kl_config_key_is_field_id(enum kl_cfg_key key)
{
	return key >= KL_CFG_PHONE_FIELD_ID && key <= KL_CFG_UTM_REFERRER_FIELD_ID;
}

static void clear_key(struct kl_config *cfg, int k)
{
	if (k == KL_CFG_API_TOKEN)
		kl_str_free_secret(cfg->value[k]);
	else
		free(cfg->value[k]);
	free(cfg->origin[k]);
	cfg->value[k] = cfg->origin[k] = NULL;
}

void kl_config_free(struct kl_config *cfg)
{
	if (!cfg)
		return;
	for (int k = 0; k < KL_CFG_COUNT; k++)
		clear_key(cfg, k);
}

int kl_config_set(struct kl_config *cfg, enum kl_cfg_key key, const char *value,
		  const char *origin, struct kl_err *err)
{
	char *v = strdup(value), *o = strdup(origin);
	if (!v || !o) {
		kl_str_free_secret(v);
		free(o);
		return kl_err_oom(err);
	}
	clear_key(cfg, key);
	cfg->value[key] = v;
	cfg->origin[key] = o;
	return KL_OK;
}

int kl_config_merge(struct kl_config *dst, const struct kl_config *top, struct kl_err *err)
{
	/* The three address keys are one setting: a layer that names an address
	 * replaces the lower layers' address whatever key either used, so an
	 * environment KOMMO_SUBDOMAIN is not overruled by a file's KOMMO_BASE_URL. */
	if (top->value[KL_CFG_SUBDOMAIN] || top->value[KL_CFG_DOMAIN] || top->value[KL_CFG_BASE_URL]) {
		clear_key(dst, KL_CFG_SUBDOMAIN);
		clear_key(dst, KL_CFG_DOMAIN);
		clear_key(dst, KL_CFG_BASE_URL);
	}
	for (int k = 0; k < KL_CFG_COUNT; k++) {
		if (!top->value[k])
			continue;
		int rc = kl_config_set(dst, k, top->value[k], top->origin[k], err);
		if (rc)
			return rc;
	}
	return KL_OK;
}

static bool key_start(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool key_char(char c)
{
	return key_start(c) || (c >= '0' && c <= '9');
}

static const char *skip_blanks(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

/* Parses the value part of one line [p, end) into a new string in *out.
 * Returns NULL on success or a description of what is wrong. */
static const char *parse_value(const char *p, const char *end, struct kl_buf *out)
{
	p = skip_blanks(p, end);
	if (p < end && (*p == '"' || *p == '\'')) {
		char q = *p++;
		bool closed = false;
		while (p < end) {
			char c = *p++;
			if (c == q) {
				closed = true;
				break;
			}
			if (q == '"' && c == '\\' && p < end) {
				char e = *p++;
				c = e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e;
				if (e != 'n' && e != 't' && e != 'r' && e != '"' && e != '\\' && e != '$') {
					if (kl_buf_append(out, "\\", 1))
						return "out of memory";
				}
			}
			if (kl_buf_append(out, &c, 1))
				return "out of memory";
		}
		if (!closed)
			return q == '"' ? "the double quote is not closed on this line"
					: "the single quote is not closed on this line";
		p = skip_blanks(p, end);
		if (p < end && *p != '#')
			return "unexpected text after the closing quote";
		return NULL;
	}
	/* unquoted: up to a comment that follows white space, trimmed */
	const char *s = p, *e = p;
	while (e < end && !(*e == '#' && (e == s || e[-1] == ' ' || e[-1] == '\t')))
		e++;
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	if (kl_buf_append(out, s, (size_t)(e - s)))
		return "out of memory";
	return NULL;
}

static int suggest_key(const char *name)
{
	/* the known key sharing the longest prefix, for a "did you mean" */
	int best = -1;
	size_t best_len = 6; /* more than "KOMMO_" */
	for (int k = 0; k < KL_CFG_COUNT; k++) {
		size_t i = 0;
		while (name[i] && name[i] == key_names[k][i])
			i++;
		if (i > best_len) {
			best_len = i;
			best = k;
		}
	}
	return best;
}

/* The known key that a foreign-looking name most likely meant (wrong case,
 * a typo in the prefix), or -1: other programs' keys are left alone. */
static int near_key(const char *name)
{
	char upper[64];
	size_t n = strlen(name);
	if (n >= sizeof upper)
		return -1;
	for (size_t i = 0; i <= n; i++)
		upper[i] = (char)((name[i] >= 'a' && name[i] <= 'z') ? name[i] - 32 : name[i]);
	for (int k = 0; k < KL_CFG_COUNT; k++)
		if (strcmp(upper, key_names[k]) == 0 || kl_str_distance(upper, key_names[k]) <= 2)
			return k;
	return -1;
}

int kl_config_parse_dotenv(struct kl_config *cfg, const char *text, size_t len,
			   const char *name, kl_warn_fn warn, void *warn_ctx, struct kl_err *err)
{
	const char *p = text, *end = text + len;
	int line = 0;
	struct kl_buf val = {.secret = true};
	int rc = KL_OK;

	if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
		p += 3;
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *le = eol ? eol : end;
		const char *next = eol ? eol + 1 : end;
		line++;
		if (le > p && le[-1] == '\r')
			le--;
		const char *s = skip_blanks(p, le);
		p = next;
		if (s == le || *s == '#')
			continue;
		if ((size_t)(le - s) > 7 && memcmp(s, "export", 6) == 0 && (s[6] == ' ' || s[6] == '\t'))
			s = skip_blanks(s + 7, le);
		const char *k = s;
		if (s < le && key_start(*s))
			while (s < le && key_char(*s))
				s++;
		const char *ke = s;
		s = skip_blanks(s, le);
		if (ke == k || s == le || *s != '=') {
			rc = kl_err_set(err, KL_ECONFIG,
					"%s:%d: expected KEY=value (e.g. KOMMO_SUBDOMAIN=intermigro)", name, line);
			goto out;
		}
		val.len = 0;
		const char *why = parse_value(s + 1, le, &val);
		if (why) {
			rc = kl_err_set(err, KL_ECONFIG, "%s:%d: %s", name, line, why);
			goto out;
		}
		char *key = strndup(k, (size_t)(ke - k));
		if (!key) {
			rc = kl_err_oom(err);
			goto out;
		}
		int idx = kl_config_key_lookup(key);
		int near = idx < 0 && strncmp(key, "KOMMO_", 6) != 0 ? near_key(key) : -1;
		if (near >= 0 && warn) {
			char msg[256];
			snprintf(msg, sizeof msg, "%s:%d: %s ignored: did you mean %s?", name, line, key,
				 key_names[near]);
			warn(warn_ctx, msg);
		}
		if (idx < 0 && strncmp(key, "KOMMO_", 6) == 0 && warn && strcmp(key, "KOMMO_LEAD_CONFIG") != 0) {
			int sug = suggest_key(key);
			char msg[256];
			snprintf(msg, sizeof msg, "%s:%d: unknown key %s ignored%s%s%s", name, line, key,
				 sug >= 0 ? " (did you mean " : "", sug >= 0 ? key_names[sug] : "",
				 sug >= 0 ? "?)" : "");
			warn(warn_ctx, msg);
		}
		free(key);
		if (idx < 0)
			continue;
		if (val.len == 0) { /* KEY= means not set */
			clear_key(cfg, idx);
			continue;
		}
		if (strlen(val.data) != val.len) {
			rc = kl_err_set(err, KL_ECONFIG, "%s:%d: the value of %s contains a NUL byte", name,
					line, key_names[idx]);
			goto out;
		}
		char origin[512];
		snprintf(origin, sizeof origin, "%s:%d", name, line);
		rc = kl_config_set(cfg, idx, val.data, origin, err);
		if (rc)
			goto out;
	}
out:
	kl_buf_free(&val);
	return rc;
}

/* Reads a whole small file; "-" is standard input (left open). A missing
 * file gives KL_OK with *out NULL. */
static int read_small_file(const char *path, struct kl_buf *out, struct stat *st,
			   struct kl_err *err)
{
	bool is_stdin = strcmp(path, "-") == 0;
	int fd = is_stdin ? 0 : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return KL_OK;
		return kl_err_set(err, KL_ECONFIG, "%s: cannot open: %s", path, strerror(errno));
	}
	int rc = KL_OK;
	if (fstat(fd, st) != 0 || S_ISDIR(st->st_mode)) {
		rc = kl_err_set(err, KL_ECONFIG, "%s: is a directory, not a file", path);
		goto out;
	}
	for (;;) {
		char chunk[4096];
		ssize_t n = read(fd, chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = kl_err_set(err, KL_ECONFIG, "%s: cannot read: %s", path, strerror(errno));
			break;
		}
		if (n == 0)
			break;
		if (out->len + (size_t)n > KL_CONFIG_MAX_FILE) {
			rc = kl_err_set(err, KL_ECONFIG, "%s: larger than 1 MiB; is this the right file?", path);
			break;
		}
		if (kl_buf_append(out, chunk, (size_t)n)) {
			rc = kl_err_oom(err);
			break;
		}
		explicit_bzero(chunk, sizeof chunk);
	}
	if (rc == KL_OK && out->len == 0 && kl_buf_append(out, "", 0))
		rc = kl_err_oom(err);
out:
	if (!is_stdin)
		close(fd);
	return rc;
}

static void warn_if_exposed(const char *path, const struct stat *st, kl_warn_fn warn, void *ctx)
{
	/* a pipe (--token-file <(pass kommo)) is nobody else's to read */
	if (!warn || !S_ISREG(st->st_mode) || !(st->st_mode & (S_IRGRP | S_IROTH)))
		return;
	char msg[600];
	snprintf(msg, sizeof msg,
		 "%s holds the API token and other users can read it; run: chmod 600 '%s'", path, path);
	warn(ctx, msg);
}

int kl_config_load_file(struct kl_config *cfg, const char *path, bool required,
			kl_warn_fn warn, void *warn_ctx, struct kl_err *err)
{
	struct kl_buf text = {.secret = true};
	struct stat st;
	int rc = read_small_file(path, &text, &st, err);
	if (rc)
		goto out;
	if (!text.data) {
		if (required)
			rc = kl_err_set(err, KL_ECONFIG,
					"%s: no such config file (copy config.example.env there, or use --no-config)",
					path);
		goto out;
	}
	rc = kl_config_parse_dotenv(cfg, text.data, text.len, path, warn, warn_ctx, err);
	if (rc == KL_OK && cfg->value[KL_CFG_API_TOKEN])
		warn_if_exposed(path, &st, warn, warn_ctx);
out:
	kl_buf_free(&text);
	return rc;
}

int kl_config_load_env(struct kl_config *cfg, kl_getenv_fn get, struct kl_err *err)
{
	for (int k = 0; k < KL_CFG_COUNT; k++) {
		const char *v = get(key_names[k]);
		if (!v || !*v)
			continue;
		int rc = kl_config_set(cfg, k, v, "environment", err);
		if (rc)
			return rc;
	}
	return KL_OK;
}

int kl_config_load_token_file(struct kl_config *cfg, const char *path,
			      kl_warn_fn warn, void *warn_ctx, struct kl_err *err)
{
	struct kl_buf text = {.secret = true};
	struct stat st;
	char origin[600];
	int rc = read_small_file(path, &text, &st, err);
	bool is_stdin = strcmp(path, "-") == 0;
	if (rc)
		goto out;
	if (is_stdin)
		path = "- (standard input)";
	if (!text.data) {
		rc = kl_err_set(err, KL_ECONFIG, "--token-file %s: no such file", path);
		goto out;
	}
	/* a NUL would cut the token short unseen (a UTF-16 file: "t\0o\0k\0...") */
	if (memchr(text.data, '\0', text.len)) {
		rc = kl_err_set(err, KL_ECONFIG,
				"--token-file %s: the file holds a NUL byte; save the token as plain ASCII text (not UTF-16)",
				path);
		goto out;
	}
	/* the first line is the token; a final newline is the editor's, not the token's */
	size_t n = strcspn(text.data, "\r\n");
	if (text.data[n] != '\0' && text.data[n + strspn(text.data + n, "\r\n")] != '\0') {
		rc = kl_err_set(err, KL_ECONFIG,
				"--token-file %s: the file must hold only the token, on one line", path);
		goto out;
	}
	text.data[n] = '\0';
	if (n == 0) {
		rc = kl_err_set(err, KL_ECONFIG, "--token-file %s: no token in it (it is empty)", path);
		goto out;
	}
	snprintf(origin, sizeof origin, "--token-file %s", path);
	rc = kl_config_set(cfg, KL_CFG_API_TOKEN, text.data, origin, err);
	if (rc == KL_OK)
		warn_if_exposed(path, &st, warn, warn_ctx);
out:
	kl_buf_free(&text);
	return rc;
}

char *kl_config_default_path(kl_getenv_fn get, bool *required)
{
	const char *v = get("KOMMO_LEAD_CONFIG");
	if (v && *v) {
		*required = true;
		return strdup(v);
	}
	*required = false;
	v = get("XDG_CONFIG_HOME");
	if (v && *v == '/')
		return kl_str_printf("%s/kommo-lead/config.env", v);
	v = get("HOME");
	if (v && *v)
		return kl_str_printf("%s/.config/kommo-lead/config.env", v);
	return NULL;
}

void kl_account_free(struct kl_account *a)
{
	if (!a)
		return;
	free(a->base_url);
	kl_str_free_secret(a->token);
	free(a->source_name);
	free(a->form_id);
	free(a->form_name);
	free(a->form_page);
	free(a->ca_bundle);
	memset(a, 0, sizeof *a);
}

/* "KOMMO_PIPELINE_ID (set in FILE:3)" or "--pipeline": names a value's place. */
static void describe(const struct kl_config *cfg, int k, char *buf, size_t size)
{
	const char *o = cfg->origin[k] ? cfg->origin[k] : "default";
	if (o[0] == '-')
		snprintf(buf, size, "%s", o);
	else
		snprintf(buf, size, "%s (from %s)", key_names[k], o);
}

/* A bad value typed on the command line is a usage error, not configuration. */
static int bad_value(const struct kl_config *cfg, int k, struct kl_err *err)
{
	bool flag = cfg->origin[k] && cfg->origin[k][0] == '-';
	return kl_err_as(err, flag ? KL_EUSAGE : KL_ECONFIG);
}

static int dup_text(const struct kl_config *cfg, int k, const char *fallback, char **out,
		    struct kl_err *err)
{
	char what[600];
	const char *v = cfg->value[k] ? cfg->value[k] : fallback;
	if (!v)
		return KL_OK;
	describe(cfg, k, what, sizeof what);
	if (kl_check_name(what, v, out, err)) /* trimmed; Kommo refuses an empty source name */
		return bad_value(cfg, k, err);
	return KL_OK;
}

int kl_config_phone_region(const struct kl_config *cfg, char region[3], struct kl_err *err)
{
	char what[600], qbuf[64];
	const char *v = cfg->value[KL_CFG_PHONE_REGION];
	region[0] = '\0';
	if (!v)
		return KL_OK;
	char up[3] = "";
	if (strlen(v) == 2)
		for (int i = 0; i < 3; i++)
			up[i] = (char)(v[i] >= 'a' && v[i] <= 'z' ? v[i] - 'a' + 'A' : v[i]);
	if (!kl_phone_region_known(up)) {
		describe(cfg, KL_CFG_PHONE_REGION, what, sizeof what);
		kl_err_set(err, KL_ECONFIG,
			   "%s: %s is not a region phone numbers are read in: give a two-letter country code, e.g. RU (numbers written 8 999 ... or 999 ... are then Russian)",
			   what, kl_str_quote(v, qbuf, sizeof qbuf));
		return bad_value(cfg, KL_CFG_PHONE_REGION, err);
	}
	memcpy(region, up, 3);
	return KL_OK;
}

int kl_config_resolve(const struct kl_config *cfg, bool need_remote,
		      struct kl_account *a, struct kl_err *err)
{
	char what[600];
	int rc;
	memset(a, 0, sizeof *a);

	for (int k = KL_CFG_PIPELINE_ID; k <= KL_CFG_UTM_REFERRER_FIELD_ID; k++) {
		if (!cfg->value[k])
			continue;
		describe(cfg, k, what, sizeof what);
		unsigned long long id;
		if (kl_check_id(what, cfg->value[k], k == KL_CFG_PIPELINE_ID ? "12984871" : "467700", &id, err)) {
			rc = bad_value(cfg, k, err);
			goto fail;
		}
		if (k == KL_CFG_PIPELINE_ID)
			a->pipeline_id = id;
		else
			a->id[k] = id;
	}
	if ((rc = dup_text(cfg, KL_CFG_SOURCE_NAME, "kommo-lead", &a->source_name, err)) ||
	    (rc = dup_text(cfg, KL_CFG_FORM_ID, "kommo-lead", &a->form_id, err)) ||
	    (rc = dup_text(cfg, KL_CFG_FORM_NAME, a->source_name, &a->form_name, err)) ||
	    (rc = dup_text(cfg, KL_CFG_FORM_PAGE, NULL, &a->form_page, err)) ||
	    (rc = kl_config_phone_region(cfg, a->phone_region, err)))
		goto fail;
	if (cfg->value[KL_CFG_CA_BUNDLE]) {
		/* read now: a missing file is a configuration error, not a failed handshake */
		describe(cfg, KL_CFG_CA_BUNDLE, what, sizeof what);
		FILE *f = fopen(cfg->value[KL_CFG_CA_BUNDLE], "r");
		if (!f) {
			rc = kl_err_set(err, KL_ECONFIG, "%s: cannot read %s: %s", what, cfg->value[KL_CFG_CA_BUNDLE],
					strerror(errno));
			rc = bad_value(cfg, KL_CFG_CA_BUNDLE, err);
			goto fail;
		}
		fclose(f);
		if (!(a->ca_bundle = strdup(cfg->value[KL_CFG_CA_BUNDLE])))
			goto oom;
	}

	/* the address: a full URL wins over a domain, which wins over a subdomain */
	const char *sub = cfg->value[KL_CFG_SUBDOMAIN], *dom = cfg->value[KL_CFG_DOMAIN];
	const char *url = cfg->value[KL_CFG_BASE_URL];
	if (url) {
		describe(cfg, KL_CFG_BASE_URL, what, sizeof what);
		if ((rc = kl_check_base_url(what, url, &a->base_url, err)))
			goto fail;
	} else if (dom) {
		describe(cfg, KL_CFG_DOMAIN, what, sizeof what);
		if ((rc = kl_check_domain(what, dom, err)))
			goto fail;
		if (!(a->base_url = kl_str_printf("https://%s", dom)))
			goto oom;
	} else if (sub) {
		describe(cfg, KL_CFG_SUBDOMAIN, what, sizeof what);
		if ((rc = kl_check_subdomain(what, sub, err)))
			goto fail;
		if (!(a->base_url = kl_str_printf("https://%s.kommo.com", sub)))
			goto oom;
	} else if (need_remote) {
		rc = kl_err_set(err, KL_ECONFIG,
				"no Kommo account configured: set KOMMO_SUBDOMAIN (e.g. intermigro), KOMMO_DOMAIN (e.g. acme.amocrm.ru) or KOMMO_BASE_URL in the environment or the config file");
		goto fail;
	}

	const char *tok = cfg->value[KL_CFG_API_TOKEN];
	if (tok) {
		describe(cfg, KL_CFG_API_TOKEN, what, sizeof what);
		if ((rc = kl_check_token(what, tok, err)))
			goto fail;
		if (!(a->token = strdup(tok)))
			goto oom;
	} else if (need_remote) {
		rc = kl_err_set(err, KL_ECONFIG,
				"no API token: set KOMMO_API_TOKEN in the config file or the environment, or use --token-file FILE (a long-lived token from Kommo's private integration settings)");
		goto fail;
	}
	return KL_OK;
oom:
	rc = kl_err_oom(err);
fail:
	kl_account_free(a);
	return rc;
}
