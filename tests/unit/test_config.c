/* Dotenv parsing, layering precedence, files and resolution. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/kl_config.h"

struct warnings {
	int n;
	char last[512];
};

static void collect(void *ctx, const char *msg)
{
	struct warnings *w = ctx;
	w->n++;
	snprintf(w->last, sizeof w->last, "%s", msg);
}

static int parse(struct kl_config *cfg, const char *text, struct warnings *w, struct kl_err *err)
{
	return kl_config_parse_dotenv(cfg, text, strlen(text), "test.env", collect, w, err);
}

static void dotenv_reads_comments_quotes_and_export(void **state)
{
	(void)state;
	struct kl_config cfg = {0};
	struct warnings w = {0};
	struct kl_err err = {0};
	const char *text = "\xEF\xBB\xBF# a comment\r\n"
			   "\n"
			   "KOMMO_SUBDOMAIN=intermigro   # trailing comment\r\n"
			   "export KOMMO_PIPELINE_ID = 12984871\n"
			   "KOMMO_FORM_NAME=\"Заявка с сайта # not a comment\"\n"
			   "KOMMO_FORM_PAGE='https://x.example/#anchor'\n"
			   "KOMMO_SOURCE_NAME=\"say \\\"hi\\\"\"\n"
			   "KOMMO_FORM_ID=site#1\n"
			   "NODE_ENV=production\n";
	assert_int_equal(parse(&cfg, text, &w, &err), KL_OK);
	assert_string_equal(cfg.value[KL_CFG_SUBDOMAIN], "intermigro");
	assert_string_equal(cfg.origin[KL_CFG_SUBDOMAIN], "test.env:3");
	assert_string_equal(cfg.value[KL_CFG_PIPELINE_ID], "12984871");
	assert_string_equal(cfg.value[KL_CFG_FORM_NAME], "Заявка с сайта # not a comment");
	assert_string_equal(cfg.value[KL_CFG_FORM_PAGE], "https://x.example/#anchor");
	assert_string_equal(cfg.value[KL_CFG_SOURCE_NAME], "say \"hi\"");
	assert_string_equal(cfg.value[KL_CFG_FORM_ID], "site#1");
	assert_int_equal(w.n, 0); /* other programs' keys are not ours to warn about */
	kl_config_free(&cfg);
}

static void dotenv_empty_value_unsets_and_last_wins(void **state)
{
	(void)state;
	struct kl_config cfg = {0};
	struct kl_err err = {0};
	assert_int_equal(parse(&cfg, "KOMMO_FORM_ID=a\nKOMMO_FORM_ID=b\nKOMMO_FORM_NAME=x\nKOMMO_FORM_NAME=\n", NULL, &err), KL_OK);
	assert_string_equal(cfg.value[KL_CFG_FORM_ID], "b");
	assert_null(cfg.value[KL_CFG_FORM_NAME]);
	kl_config_free(&cfg);
}

static void dotenv_errors_name_file_and_line(void **state)
{
	(void)state;
	struct kl_config cfg = {0};
	struct kl_err err = {0};
	assert_int_equal(parse(&cfg, "# ok\nKOMMO_SUBDOMAIN intermigro\n", NULL, &err), KL_ECONFIG);
	assert_string_equal(err.msg, "test.env:2: expected KEY=value (e.g. KOMMO_SUBDOMAIN=intermigro)");
	kl_config_free(&cfg);
	assert_int_equal(parse(&cfg, "KOMMO_FORM_NAME=\"open\n", NULL, &err), KL_ECONFIG);
	assert_non_null(strstr(err.msg, "test.env:1: the double quote is not closed"));
	kl_config_free(&cfg);
	assert_int_equal(parse(&cfg, "KOMMO_FORM_NAME='a' b\n", NULL, &err), KL_ECONFIG);
	assert_non_null(strstr(err.msg, "after the closing quote"));
	kl_config_free(&cfg);
}

static void dotenv_warns_about_misspelt_kommo_keys(void **state)
{
	(void)state;
	struct kl_config cfg = {0};
	struct warnings w = {0};
	struct kl_err err = {0};
	assert_int_equal(parse(&cfg, "KOMMO_PHONE_FIELD=467700\n", &w, &err), KL_OK);
	assert_int_equal(w.n, 1);
	assert_string_equal(w.last, "test.env:1: unknown key KOMMO_PHONE_FIELD ignored (did you mean KOMMO_PHONE_FIELD_ID?)");
	kl_config_free(&cfg);
}

static const char *fake_env(const char *name)
{
	if (strcmp(name, "KOMMO_PIPELINE_ID") == 0)
		return "222";
	if (strcmp(name, "KOMMO_FORM_ID") == 0)
		return "from-env";
	if (strcmp(name, "KOMMO_FORM_NAME") == 0)
		return ""; /* empty: not set */
	return NULL;
}

static void flags_beat_environment_beat_file(void **state)
{
	(void)state;
	struct kl_config file = {0}, env = {0}, flags = {0};
	struct kl_err err = {0};
	assert_int_equal(parse(&file, "KOMMO_PIPELINE_ID=111\nKOMMO_FORM_ID=from-file\n"
				      "KOMMO_FORM_NAME=file-name\nKOMMO_SOURCE_NAME=file-src\n", NULL, &err), KL_OK);
	assert_int_equal(kl_config_load_env(&env, fake_env, &err), KL_OK);
	assert_int_equal(kl_config_set(&flags, KL_CFG_PIPELINE_ID, "333", "--pipeline", &err), KL_OK);
	assert_int_equal(kl_config_merge(&file, &env, &err), KL_OK);
	assert_int_equal(kl_config_merge(&file, &flags, &err), KL_OK);
	assert_string_equal(file.value[KL_CFG_PIPELINE_ID], "333");
	assert_string_equal(file.origin[KL_CFG_PIPELINE_ID], "--pipeline");
	assert_string_equal(file.value[KL_CFG_FORM_ID], "from-env");
	assert_string_equal(file.origin[KL_CFG_FORM_ID], "environment");
	assert_string_equal(file.value[KL_CFG_FORM_NAME], "file-name");
	assert_string_equal(file.value[KL_CFG_SOURCE_NAME], "file-src");
	kl_config_free(&file);
	kl_config_free(&env);
	kl_config_free(&flags);
}

static void an_address_from_a_higher_layer_replaces_any_address_below(void **state)
{
	(void)state;
	struct kl_config file = {0}, env = {0};
	struct kl_account a;
	struct kl_err err = {0};
	/* the file points at a test server; the environment names the real account */
	assert_int_equal(parse(&file, "KOMMO_BASE_URL=http://127.0.0.1:9\nKOMMO_DOMAIN=old.amocrm.ru\n", NULL, &err), KL_OK);
	assert_int_equal(kl_config_set(&env, KL_CFG_SUBDOMAIN, "realacct", "environment", &err), KL_OK);
	assert_int_equal(kl_config_merge(&file, &env, &err), KL_OK);
	assert_null(file.value[KL_CFG_BASE_URL]);
	assert_null(file.value[KL_CFG_DOMAIN]);
	assert_int_equal(kl_config_resolve(&file, false, &a, &err), KL_OK);
	assert_string_equal(a.base_url, "https://realacct.kommo.com");
	kl_account_free(&a);
	kl_config_free(&file);
	kl_config_free(&env);
}

static void resolve_builds_address_url_beats_domain_beats_subdomain(void **state)
{
	(void)state;
	struct kl_config cfg = {0};
	struct kl_account a;
	struct kl_err err = {0};
	assert_int_equal(parse(&cfg, "KOMMO_SUBDOMAIN=intermigro\nKOMMO_API_TOKEN=tok\n", NULL, &err), KL_OK);
	assert_int_equal(kl_config_resolve(&cfg, true, &a, &err), KL_OK);
	assert_string_equal(a.base_url, "https://intermigro.kommo.com");
	assert_string_equal(a.token, "tok");
	assert_string_equal(a.source_name, "kommo-lead");
	assert_string_equal(a.form_name, "kommo-lead"); /* defaults to the source name */
	assert_null(a.form_page);
	kl_account_free(&a);
	assert_int_equal(parse(&cfg, "KOMMO_DOMAIN=acme.amocrm.ru\n", NULL, &err), KL_OK);
	assert_int_equal(kl_config_resolve(&cfg, true, &a, &err), KL_OK);
	assert_string_equal(a.base_url, "https://acme.amocrm.ru");
	kl_account_free(&a);
	assert_int_equal(parse(&cfg, "KOMMO_BASE_URL=http://127.0.0.1:8080/\n", NULL, &err), KL_OK);
	assert_int_equal(kl_config_resolve(&cfg, true, &a, &err), KL_OK);
	assert_string_equal(a.base_url, "http://127.0.0.1:8080");
	kl_account_free(&a);
	kl_config_free(&cfg);
}

static void resolve_names_the_bad_key_and_where_it_was_set(void **state)
{
	(void)state;
	struct kl_config cfg = {0};
	struct kl_account a;
	struct kl_err err = {0};
	assert_int_equal(parse(&cfg, "KOMMO_SUBDOMAIN=x\n\nKOMMO_TELEGRAM_FIELD_ID=abc\n", NULL, &err), KL_OK);
	assert_int_equal(kl_config_resolve(&cfg, false, &a, &err), KL_ECONFIG);
	assert_non_null(strstr(err.msg, "KOMMO_TELEGRAM_FIELD_ID (from test.env:3)"));
	assert_non_null(strstr(err.msg, "\"abc\""));
	kl_config_free(&cfg);
}

static void resolve_requires_address_and_token_only_to_send(void **state)
{
	(void)state;
	struct kl_config cfg = {0};
	struct kl_account a;
	struct kl_err err = {0};
	assert_int_equal(kl_config_resolve(&cfg, false, &a, &err), KL_OK);
	assert_null(a.base_url);
	kl_account_free(&a);
	assert_int_equal(kl_config_resolve(&cfg, true, &a, &err), KL_ECONFIG);
	assert_non_null(strstr(err.msg, "KOMMO_SUBDOMAIN"));
	assert_int_equal(parse(&cfg, "KOMMO_SUBDOMAIN=intermigro\n", NULL, &err), KL_OK);
	assert_int_equal(kl_config_resolve(&cfg, true, &a, &err), KL_ECONFIG);
	assert_non_null(strstr(err.msg, "--token-file"));
	assert_int_equal(parse(&cfg, "KOMMO_BASE_URL=http://kommo.example.com\n", NULL, &err), KL_OK);
	assert_int_equal(kl_config_resolve(&cfg, true, &a, &err), KL_ECONFIG);
	assert_non_null(strstr(err.msg, "plain http"));
	kl_config_free(&cfg);
}

static char *temp_path(const char *name)
{
	const char *dir = getenv("KL_TEST_TMP");
	static char buf[4][1024];
	static int i;
	snprintf(buf[i & 3], sizeof buf[0], "%s/%s.%d", dir ? dir : "/tmp", name, (int)getpid());
	return buf[i++ & 3];
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
}

static void file_with_token_readable_by_others_is_warned_about(void **state)
{
	(void)state;
	struct kl_config cfg = {0};
	struct warnings w = {0};
	struct kl_err err = {0};
	char *p = temp_path("cfg");
	write_file(p, "KOMMO_API_TOKEN=s3cret\n", 0644);
	assert_int_equal(kl_config_load_file(&cfg, p, true, collect, &w, &err), KL_OK);
	assert_int_equal(w.n, 1);
	assert_non_null(strstr(w.last, "chmod 600"));
	assert_null(strstr(w.last, "s3cret"));
	kl_config_free(&cfg);
	chmod(p, 0600);
	w.n = 0;
	assert_int_equal(kl_config_load_file(&cfg, p, true, collect, &w, &err), KL_OK);
	assert_int_equal(w.n, 0);
	kl_config_free(&cfg);
	unlink(p);
}

static void missing_file_is_an_error_only_when_required(void **state)
{
	(void)state;
	struct kl_config cfg = {0};
	struct kl_err err = {0};
	assert_int_equal(kl_config_load_file(&cfg, "/nonexistent/kl.env", false, NULL, NULL, &err), KL_OK);
	assert_int_equal(kl_config_load_file(&cfg, "/nonexistent/kl.env", true, NULL, NULL, &err), KL_ECONFIG);
	assert_non_null(strstr(err.msg, "/nonexistent/kl.env"));
}

static void token_file_takes_one_line_and_drops_newline(void **state)
{
	(void)state;
	struct kl_config cfg = {0};
	struct kl_err err = {0};
	char *p = temp_path("tok");
	write_file(p, "abc.def-ghi\r\n", 0600);
	assert_int_equal(kl_config_load_token_file(&cfg, p, NULL, NULL, &err), KL_OK);
	assert_string_equal(cfg.value[KL_CFG_API_TOKEN], "abc.def-ghi");
	kl_config_free(&cfg);
	write_file(p, "abc\nsecond line\n", 0600);
	assert_int_equal(kl_config_load_token_file(&cfg, p, NULL, NULL, &err), KL_ECONFIG);
	assert_null(strstr(err.msg, "abc"));
	kl_config_free(&cfg);
	unlink(p);
}

static void token_command_takes_its_first_line_and_fails_without_quoting_it(void **state)
{
	(void)state;
	struct kl_config cfg = {0};
	struct kl_err err = {0};
	assert_int_equal(kl_config_load_token_command(&cfg, "printf 'tok.en\\nrest\\n'", "--token-command", &err), KL_OK);
	assert_string_equal(cfg.value[KL_CFG_API_TOKEN], "tok.en");
	assert_string_equal(cfg.origin[KL_CFG_API_TOKEN], "--token-command");
	kl_config_free(&cfg);
	static const struct {
		const char *cmd, *why;
	} bad[] = {
		{"echo s3cret; exit 2", "exit status 2"},
		{"true", "printed nothing"},
		{"printf '\\ns3cret'", "empty first line"},
		{"kill -TERM $$", "signal 15"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(kl_config_load_token_command(&cfg, bad[i].cmd, "KOMMO_TOKEN_COMMAND", &err), KL_ECONFIG);
		assert_non_null(strstr(err.msg, "KOMMO_TOKEN_COMMAND"));
		assert_non_null(strstr(err.msg, bad[i].why));
		/* the command is named, and s3cret is in it; what it printed is not added */
		const char *first = strstr(err.msg, "s3cret");
		assert_true(!first || !strstr(first + 1, "s3cret"));
		assert_null(cfg.value[KL_CFG_API_TOKEN]);
	}
}

static const char *env_xdg(const char *name)
{
	return strcmp(name, "XDG_CONFIG_HOME") == 0 ? "/x/conf" : strcmp(name, "HOME") == 0 ? "/home/u" : NULL;
}

static const char *env_home(const char *name)
{
	return strcmp(name, "HOME") == 0 ? "/home/u" : NULL;
}

static const char *env_explicit(const char *name)
{
	return strcmp(name, "KOMMO_LEAD_CONFIG") == 0 ? "/etc/kl.env" : NULL;
}

static void default_path_follows_env_then_xdg_then_home(void **state)
{
	(void)state;
	bool req;
	char *p = kl_config_default_path(env_explicit, &req);
	assert_string_equal(p, "/etc/kl.env");
	assert_true(req);
	free(p);
	p = kl_config_default_path(env_xdg, &req);
	assert_string_equal(p, "/x/conf/kommo-lead/config.env");
	assert_false(req);
	free(p);
	p = kl_config_default_path(env_home, &req);
	assert_string_equal(p, "/home/u/.config/kommo-lead/config.env");
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(dotenv_reads_comments_quotes_and_export),
		cmocka_unit_test(dotenv_empty_value_unsets_and_last_wins),
		cmocka_unit_test(dotenv_errors_name_file_and_line),
		cmocka_unit_test(dotenv_warns_about_misspelt_kommo_keys),
		cmocka_unit_test(flags_beat_environment_beat_file),
		cmocka_unit_test(an_address_from_a_higher_layer_replaces_any_address_below),
		cmocka_unit_test(resolve_builds_address_url_beats_domain_beats_subdomain),
		cmocka_unit_test(resolve_names_the_bad_key_and_where_it_was_set),
		cmocka_unit_test(resolve_requires_address_and_token_only_to_send),
		cmocka_unit_test(file_with_token_readable_by_others_is_warned_about),
		cmocka_unit_test(missing_file_is_an_error_only_when_required),
		cmocka_unit_test(token_file_takes_one_line_and_drops_newline),
		cmocka_unit_test(token_command_takes_its_first_line_and_fails_without_quoting_it),
		cmocka_unit_test(default_path_follows_env_then_xdg_then_home),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
