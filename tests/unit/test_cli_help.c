/* The command line's messages and help texts, as a new user meets them
 * (test_cli.c holds the grammar itself). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli/kl_cli.h"

/* kommo-lead ARGS... (at most 6) must be a usage error whose message holds msg. */
static void refused_with(const char *const args[7], const char *msg)
{
	struct kl_opts o;
	struct kl_err err = {0};
	char *argv[8] = {"kommo-lead"};
	int argc = 1;
	for (int k = 0; k < 7 && args[k]; k++)
		argv[argc++] = (char *)args[k];
	assert_int_equal(kl_cli_parse(&o, argc, argv, &err), KL_EUSAGE);
	if (!strstr(err.msg, msg))
		fail_msg("kommo-lead %s %s ...: \"%s\", expected it to hold \"%s\"", args[0], args[1] ? args[1] : "",
			 err.msg, msg);
	kl_opts_free(&o);
}

static void a_mistyped_command_after_shared_options_is_named_as_without_them(void **state)
{
	(void)state;
	static const char *const cases[][7] = {
		{"chek"},
		{"--config", "x.env", "chek"},
		{"--config=x.env", "chek"},
		{"--timeout", "5", "chek"},
		{"--json", "chek"},
		{"-v", "chek"},
		{"--no-config", "--token-file", "t", "-v", "chek"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		refused_with(cases[i], "unknown command \"chek\" (did you mean check?)");
	/* a word near no command keeps its own message: a value not quoted */
	refused_with((const char *const[7]){"--config", "my", "file.env"}, "a value with spaces must be quoted");
	refused_with((const char *const[7]){"--json", "Ivan"}, "submit takes only options");
	/* after submit's own options, as before */
	refused_with((const char *const[7]){"--name", "Ivan", "Petrov"}, "--name \"Ivan Petrov\"");
}

static void only_the_options_every_command_takes_may_come_first(void **state)
{
	(void)state;
	static const char *const commands[][2] = {{"submit"}, {"import"}, {"check"}, {"fields"}, {"config"},
						  {"leads", "search"}, {"leads", "create"},
						  {"contacts", "search"}, {"contacts", "create"}};
	static const char *const shared[][2] = {{"--config", "x.env"}, {"--no-config"}, {"--token-file", "t"},
						{"--token-command", "c"}, {"--timeout", "5"}, {"--cacert", "ca.pem"},
						{"-v"}, {"--verbose"}, {"--json"}};
	for (size_t c = 0; c < sizeof commands / sizeof commands[0]; c++)
		for (size_t s = 0; s < sizeof shared / sizeof shared[0]; s++) {
			struct kl_opts o;
			struct kl_err err = {0};
			char *argv[8] = {"kommo-lead"};
			int argc = 1;
			for (int k = 0; k < 2 && shared[s][k]; k++)
				argv[argc++] = (char *)shared[s][k];
			for (int k = 0; k < 2 && commands[c][k]; k++)
				argv[argc++] = (char *)commands[c][k];
			argv[argc++] = "--help";
			if (kl_cli_parse(&o, argc, argv, &err) != KL_OK)
				fail_msg("kommo-lead %s %s %s --help: %s", shared[s][0], commands[c][0],
					 commands[c][1] ? commands[c][1] : "", err.msg);
			kl_opts_free(&o);
		}
	/* --dry-run is not check's, so it is no shared option, before any command */
	refused_with((const char *const[7]){"--dry-run", "check"}, "the command comes first: kommo-lead check");
	refused_with((const char *const[7]){"--dry-run", "import", "rows.csv"}, "the command comes first");
	/* and the message lists exactly the shared ones */
	refused_with((const char *const[7]){"--name", "A", "check"},
		     "only the options every command takes: --cacert, --config, --json, --no-config, --timeout, "
		     "--token-command, --token-file, --verbose (-v); others are taken as submit's");
}

static void config_help_names_json_once_and_the_origins(void **state)
{
	(void)state;
	const char *h = kl_cli_help(KL_CMD_CONFIG);
	const char *first = strstr(h, "--json");
	assert_non_null(first);
	assert_null(strstr(first + 1, "--json"));
	assert_non_null(strstr(h, "one JSON object per setting"));
	assert_non_null(strstr(h, "flag:--OPTION (e.g. flag:--token-file), environment, file:PATH:LINE\nor default"));
	assert_non_null(strstr(h, "address"));
}

static void import_help_names_every_outcome_and_results_column(void **state)
{
	(void)state;
	const char *imp = kl_cli_help(KL_CMD_IMPORT), *all = kl_cli_help(KL_CMD_HELP);
	static const char *const outcomes[] = {"lead_id=<id> contact_id=<id>", "possibly_duplicated",
					       "rejected: <reason>", "failed: <reason>", "not sent: <reason>",
					       "skipped lead_id=<id>", "skipped contact_id=<id>"};
	const char *out = strstr(imp, "\nOutput: ");
	assert_non_null(out);
	for (size_t i = 0; i < sizeof outcomes / sizeof outcomes[0]; i++)
		if (!strstr(out, outcomes[i]))
			fail_msg("import --help's Output leaves out %s", outcomes[i]);
	assert_non_null(strstr(strstr(all, "\nOutput: "), "row=<n> not sent: <reason>"));
	/* the --results file's columns (src/cmd/import/results.c), in order */
	static const char cols[] = "(row, status, lead_id,\n"
				   "                              contact_id, source_uid, possibly_duplicated, error)";
	assert_non_null(strstr(imp, cols));
	assert_non_null(strstr(all, cols));
}

static void subcommand_help_says_it_is_shared(void **state)
{
	(void)state;
	assert_non_null(strstr(kl_cli_help(KL_CMD_LEADS_CREATE), "leads search|create|update --help all print this"));
	assert_non_null(strstr(kl_cli_help(KL_CMD_CONTACTS_CREATE), "contacts search|create --help both print this"));
	refused_with((const char *const[7]){"contacts", "search", "x", "--limit", "5", "--first"},
		     "--first prints one id, --limit N bounds a list: give one");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_mistyped_command_after_shared_options_is_named_as_without_them),
		cmocka_unit_test(only_the_options_every_command_takes_may_come_first),
		cmocka_unit_test(config_help_names_json_once_and_the_origins),
		cmocka_unit_test(import_help_names_every_outcome_and_results_column),
		cmocka_unit_test(subcommand_help_says_it_is_shared),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
