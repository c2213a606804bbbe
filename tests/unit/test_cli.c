/* The command line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/kl_csv.h"
#include "cli/kl_cli.h"

#define ARGV(...) ((char *[]){"kommo-lead", __VA_ARGS__, NULL})
#define ARGC(...) ((int)(sizeof((char *[]){"kommo-lead", __VA_ARGS__}) / sizeof(char *)))
#define PARSE(o, err, ...) kl_cli_parse(o, ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), err)

static void submit_is_the_default_command(void **state)
{
	(void)state;
	struct kl_opts o;
	struct kl_err err = {0};
	assert_int_equal(PARSE(&o, &err, "--name", "Ivan", "--phone=+79991234567"), KL_OK);
	assert_int_equal(o.cmd, KL_CMD_SUBMIT);
	assert_string_equal(o.lead.v[KL_ATTR_NAME], "Ivan");
	assert_string_equal(o.lead.v[KL_ATTR_PHONE], "+79991234567");
	kl_opts_free(&o);
	assert_int_equal(PARSE(&o, &err, "submit", "--name", "Ivan"), KL_OK);
	assert_string_equal(o.lead.v[KL_ATTR_NAME], "Ivan");
	kl_opts_free(&o);
}

static void aliases_fill_the_same_field(void **state)
{
	(void)state;
	struct kl_opts o;
	struct kl_err err = {0};
	assert_int_equal(PARSE(&o, &err, "--surname", "Petrov", "--source", "referral"), KL_OK);
	assert_string_equal(o.lead.v[KL_ATTR_LAST_NAME], "Petrov");
	assert_string_equal(o.lead.v[KL_ATTR_UTM_SOURCE], "referral");
	kl_opts_free(&o);
	assert_int_equal(PARSE(&o, &err, "--source", "a", "--utm-source", "b"), KL_EUSAGE);
	assert_string_equal(err.msg, "--utm-source given twice (counting its alias); a lead takes one");
	kl_opts_free(&o);
}

static void config_flags_go_to_the_flag_layer(void **state)
{
	(void)state;
	struct kl_opts o;
	struct kl_err err = {0};
	assert_int_equal(PARSE(&o, &err, "--pipeline", "42", "--form-name", "F", "--source-name", "S",
			       "--form-id", "I", "--form-page", "P", "--token-file", "/t", "--config", "/c",
			       "--timeout", "2.5", "--dry-run", "--json", "-v"), KL_OK);
	assert_string_equal(o.flags.value[KL_CFG_PIPELINE_ID], "42");
	assert_string_equal(o.flags.origin[KL_CFG_PIPELINE_ID], "--pipeline");
	assert_string_equal(o.flags.value[KL_CFG_FORM_NAME], "F");
	assert_string_equal(o.flags.value[KL_CFG_SOURCE_NAME], "S");
	assert_string_equal(o.flags.value[KL_CFG_FORM_ID], "I");
	assert_string_equal(o.flags.value[KL_CFG_FORM_PAGE], "P");
	assert_string_equal(o.token_file, "/t");
	assert_string_equal(o.config_path, "/c");
	assert_int_equal(o.timeout_ms, 2500);
	assert_true(o.dry_run && o.json && o.verbose);
	kl_opts_free(&o);
	assert_int_equal(PARSE(&o, &err, "--no-config"), KL_OK);
	assert_true(o.no_config);
	kl_opts_free(&o);
	assert_int_equal(PARSE(&o, &err, "--no-config", "--config", "/c"), KL_EUSAGE);
	assert_non_null(strstr(err.msg, "contradict"));
	kl_opts_free(&o);
}

static void repeated_field_flags_accumulate(void **state)
{
	(void)state;
	struct kl_opts o;
	struct kl_err err = {0};
	assert_int_equal(PARSE(&o, &err, "--field", "lead:1=a", "--field", "contact:2=b"), KL_OK);
	assert_int_equal(o.lead.ncustom, 2);
	assert_int_equal(o.lead.custom[1].id, 2);
	kl_opts_free(&o);
}

static void unknown_option_suggests_the_nearest(void **state)
{
	(void)state;
	struct kl_opts o;
	struct kl_err err = {0};
	assert_int_equal(PARSE(&o, &err, "--name", "x", "--phon", "1"), KL_EUSAGE);
	assert_string_equal(err.msg, "unknown option \"--phon\" (did you mean --phone?)");
	kl_opts_free(&o);
	assert_int_equal(PARSE(&o, &err, "--zzzzzzzz"), KL_EUSAGE);
	assert_non_null(strstr(err.msg, "--help"));
	kl_opts_free(&o);
}

static void usage_errors_name_the_argument(void **state)
{
	(void)state;
	struct kl_opts o;
	struct kl_err err = {0};
	assert_int_equal(PARSE(&o, &err, "--name"), KL_EUSAGE);
	assert_string_equal(err.msg, "--name needs a value");
	kl_opts_free(&o);
	assert_int_equal(PARSE(&o, &err, "--json=yes"), KL_EUSAGE);
	kl_opts_free(&o);
	assert_int_equal(PARSE(&o, &err, "--phone", "1234567", "--name", "Иван", "Петров"), KL_EUSAGE);
	assert_string_equal(err.msg, "unexpected argument \"Петров\": a value with spaces must be quoted, e.g. --name \"Иван Петров\"");
	kl_opts_free(&o);
	assert_int_equal(PARSE(&o, &err, "stray"), KL_EUSAGE);
	assert_non_null(strstr(err.msg, "unknown command \"stray\""));
	kl_opts_free(&o);
	assert_int_equal(PARSE(&o, &err, "--json", "stray"), KL_EUSAGE);
	assert_non_null(strstr(err.msg, "unexpected argument \"stray\": submit takes only options"));
	kl_opts_free(&o);
	assert_int_equal(PARSE(&o, &err, "-vV"), KL_EUSAGE);
	assert_non_null(strstr(err.msg, "short options cannot be combined"));
	kl_opts_free(&o);
	assert_int_equal(PARSE(&o, &err, "--timeout", "1", "--timeout", "2"), KL_EUSAGE);
	assert_string_equal(err.msg, "--timeout given twice");
	kl_opts_free(&o);
	assert_int_equal(PARSE(&o, &err, "frobnicate"), KL_EUSAGE);
	assert_non_null(strstr(err.msg, "unknown command \"frobnicate\" (commands: submit, import, check, fields, leads, contacts, config, help;"));
	kl_opts_free(&o);
	assert_int_equal(PARSE(&o, &err, "--timeout", "0"), KL_EUSAGE);
	kl_opts_free(&o);
	assert_int_equal(PARSE(&o, &err, "--timeout", "soon"), KL_EUSAGE);
	kl_opts_free(&o);
	assert_int_equal(PARSE(&o, &err, "--field", "lead:x=1"), KL_EUSAGE);
	kl_opts_free(&o);
	assert_int_equal(PARSE(&o, &err, "--pipeline", "1", "--pipeline", "2"), KL_EUSAGE);
	kl_opts_free(&o);
}

static void a_missing_value_never_swallows_the_next_option(void **state)
{
	(void)state;
	struct kl_opts o;
	struct kl_err err = {0};
	/* --utm-term with no value must not eat --dry-run and send a real lead */
	assert_int_equal(PARSE(&o, &err, "--name", "A", "--utm-term", "--dry-run"), KL_EUSAGE);
	assert_string_equal(err.msg, "--utm-term needs a value, but the next argument is the option --dry-run "
				     "(for that text itself write --utm-term=--dry-run)");
	assert_false(o.dry_run);
	kl_opts_free(&o);
	assert_int_equal(PARSE(&o, &err, "--career", "-v"), KL_EUSAGE);
	kl_opts_free(&o);
	/* values that merely start with '-' are still values */
	assert_int_equal(PARSE(&o, &err, "--utm-term", "-скидка"), KL_OK);
	assert_string_equal(o.lead.v[KL_ATTR_UTM_TERM], "-скидка");
	kl_opts_free(&o);
	assert_int_equal(PARSE(&o, &err, "--utm-term=--dry-run"), KL_OK);
	assert_false(o.dry_run);
	kl_opts_free(&o);
}

static void unknown_option_with_value_or_underscore_still_gets_a_suggestion(void **state)
{
	(void)state;
	struct kl_opts o;
	struct kl_err err = {0};
	assert_int_equal(PARSE(&o, &err, "--nmae=x"), KL_EUSAGE);
	assert_non_null(strstr(err.msg, "did you mean --name?"));
	kl_opts_free(&o);
	assert_int_equal(PARSE(&o, &err, "--utm_source=x"), KL_EUSAGE);
	assert_non_null(strstr(err.msg, "did you mean --utm-source?"));
	kl_opts_free(&o);
}

static void a_token_given_as_an_option_is_never_echoed(void **state)
{
	(void)state;
	struct kl_opts o;
	struct kl_err err = {0};
	assert_int_equal(PARSE(&o, &err, "--token=s3cr3t-value", "--name", "A"), KL_EUSAGE);
	assert_null(strstr(err.msg, "s3cr3t"));
	assert_non_null(strstr(err.msg, "--token-file"));
	kl_opts_free(&o);
	assert_int_equal(PARSE(&o, &err, "--tokn=s3cr3t-value"), KL_EUSAGE);
	assert_null(strstr(err.msg, "s3cr3t"));
	kl_opts_free(&o);
}

static void import_takes_one_file_and_its_own_options(void **state)
{
	(void)state;
	struct kl_opts o;
	struct kl_err err = {0};
	assert_int_equal(PARSE(&o, &err, "import", "--delimiter", ";", "--encoding", "cp1251", "--batch-size",
			       "100", "--rate", "2.5", "--max-retries", "0", "--map", "Телефон=phone",
			       "--source", "web", "leads.csv"), KL_OK);
	assert_int_equal(o.cmd, KL_CMD_IMPORT);
	assert_string_equal(o.input, "leads.csv");
	assert_int_equal(o.delimiter, ';');
	assert_int_equal(o.encoding, KL_CSV_CP1251);
	assert_int_equal(o.batch_size, 100);
	assert_true(o.rate == 2.5);
	assert_int_equal(o.max_retries, 0);
	assert_int_equal(o.nmaps, 1);
	assert_string_equal(o.maps[0].column, "Телефон");
	assert_string_equal(o.maps[0].field, "phone");
	assert_string_equal(o.lead.v[KL_ATTR_UTM_SOURCE], "web"); /* a default for every row */
	kl_opts_free(&o);
	/* defaults when nothing is said; stdin as "-" */
	assert_int_equal(PARSE(&o, &err, "import", "-"), KL_OK);
	assert_int_equal(o.batch_size, 0); /* auto */
	assert_true(o.rate == 7);
	assert_int_equal(o.max_retries, 5);
	assert_int_equal(o.progress, -1);
	assert_string_equal(o.input, "-");
	kl_opts_free(&o);
	char *argv[] = {"kommo-lead", "import", NULL};
	assert_int_equal(kl_cli_parse(&o, 2, argv, &err), KL_OK);
	assert_null(o.input);
	kl_opts_free(&o);
}

static void options_of_one_command_are_refused_by_the_other(void **state)
{
	(void)state;
	struct kl_opts o;
	struct kl_err err = {0};
	assert_int_equal(PARSE(&o, &err, "--name", "A", "--batch-size", "5"), KL_EUSAGE);
	assert_string_equal(err.msg, "--batch-size is not an option of submit (it is one of: import)");
	kl_opts_free(&o);
	assert_int_equal(PARSE(&o, &err, "import", "--source-uid", "x"), KL_EUSAGE);
	assert_non_null(strstr(err.msg, "source_uid column"));
	kl_opts_free(&o);
	assert_int_equal(PARSE(&o, &err, "import", "a.csv", "b.csv"), KL_EUSAGE);
	assert_non_null(strstr(err.msg, "one too many"));
	kl_opts_free(&o);
	assert_int_equal(PARSE(&o, &err, "import", "--batch-size", "251"), KL_EUSAGE);
	kl_opts_free(&o);
	assert_int_equal(PARSE(&o, &err, "import", "--delimiter", "|"), KL_EUSAGE);
	kl_opts_free(&o);
	assert_int_equal(PARSE(&o, &err, "import", "--encoding", "koi8-r"), KL_EUSAGE);
	kl_opts_free(&o);
	assert_int_equal(PARSE(&o, &err, "import", "--map", "phone"), KL_EUSAGE);
	assert_non_null(strstr(err.msg, "COLUMN=FIELD"));
	kl_opts_free(&o);
}

static void no_arguments_is_a_usage_error(void **state)
{
	(void)state;
	struct kl_opts o;
	struct kl_err err = {0};
	char *argv[] = {"kommo-lead", NULL};
	assert_int_equal(kl_cli_parse(&o, 1, argv, &err), KL_EUSAGE);
	assert_non_null(strstr(err.msg, "--help"));
	kl_opts_free(&o);
}

static void help_and_version(void **state)
{
	(void)state;
	struct kl_opts o;
	struct kl_err err = {0};
	assert_int_equal(PARSE(&o, &err, "--name", "x", "--help"), KL_OK);
	assert_int_equal(o.cmd, KL_CMD_HELP);
	kl_opts_free(&o);
	assert_int_equal(PARSE(&o, &err, "-V"), KL_OK);
	assert_int_equal(o.cmd, KL_CMD_VERSION);
	kl_opts_free(&o);
	assert_non_null(strstr(kl_cli_help(KL_CMD_SUBMIT), "--token-file"));
	assert_non_null(strstr(kl_cli_help(KL_CMD_HELP), "help [COMMAND]"));
}

/* kommo-lead --help (no command named) is the main help, of every command;
 * submit --help is submit's, however the command is reached. */
static void help_names_the_command_it_is_for(void **state)
{
	(void)state;
	static const struct {
		const char *args[5];
		enum kl_cmd command;
	} cases[] = {
		{{"--help"}, KL_CMD_HELP},
		{{"-h"}, KL_CMD_HELP},
		{{"--name", "x", "--help"}, KL_CMD_HELP},
		{{"--config", "x.env", "--help"}, KL_CMD_HELP},
		{{"help"}, KL_CMD_HELP},
		{{"submit", "--help"}, KL_CMD_SUBMIT},
		{{"submit", "--name", "x", "-h"}, KL_CMD_SUBMIT},
		{{"help", "submit"}, KL_CMD_SUBMIT},
		{{"import", "--help"}, KL_CMD_IMPORT},
		{{"--config", "x.env", "import", "--help"}, KL_CMD_IMPORT},
		{{"-v", "submit", "--help"}, KL_CMD_SUBMIT},
		{{"check", "--help"}, KL_CMD_CHECK},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct kl_opts o;
		struct kl_err err = {0};
		char *argv[7] = {"kommo-lead"};
		int argc = 1;
		for (int k = 0; k < 5 && cases[i].args[k]; k++)
			argv[argc++] = (char *)cases[i].args[k];
		assert_int_equal(kl_cli_parse(&o, argc, argv, &err), KL_OK);
		assert_int_equal(o.cmd, KL_CMD_HELP);
		if (o.command != cases[i].command)
			fail_msg("case %zu (%s ...): help for %s, expected %s", i, cases[i].args[0],
				 kl_opts_command_name(o.command), kl_opts_command_name(cases[i].command));
		kl_opts_free(&o);
	}
	assert_non_null(strstr(kl_cli_help(KL_CMD_HELP), "Usage: kommo-lead [submit] [OPTIONS]\n       kommo-lead import"));
	assert_non_null(strstr(kl_cli_help(KL_CMD_SUBMIT), "Usage: kommo-lead [submit] [OPTIONS]\nSubmit one lead"));
	assert_non_null(strstr(kl_cli_help(KL_CMD_IMPORT), "Usage: kommo-lead import [OPTIONS] [FILE]\n"));
}

/* help [COMMAND [SUBCOMMAND]]: a command it does not know is a usage error,
 * never the general help with exit 0. */
static void help_command_names_a_known_command(void **state)
{
	(void)state;
	struct kl_opts o;
	struct kl_err err = {0};
	assert_int_equal(PARSE(&o, &err, "help", "leads", "create"), KL_OK);
	assert_int_equal(o.cmd, KL_CMD_HELP);
	assert_int_equal(o.command, KL_CMD_LEADS);
	kl_opts_free(&o);
	assert_int_equal(PARSE(&o, &err, "help", "import"), KL_OK);
	assert_int_equal(o.command, KL_CMD_IMPORT);
	kl_opts_free(&o);
	assert_int_equal(PARSE(&o, &err, "help", "bogus"), KL_EUSAGE);
	assert_non_null(strstr(err.msg, "unknown command \"bogus\""));
	kl_opts_free(&o);
	assert_int_equal(PARSE(&o, &err, "help", "imprt"), KL_EUSAGE);
	assert_non_null(strstr(err.msg, "did you mean import?"));
	kl_opts_free(&o);
	assert_int_equal(PARSE(&o, &err, "help", "contacts", "update"), KL_EUSAGE);
	kl_opts_free(&o);
	assert_int_equal(PARSE(&o, &err, "help", "import", "x"), KL_EUSAGE);
	kl_opts_free(&o);
	/* help --help, help import -h: still help */
	assert_int_equal(PARSE(&o, &err, "help", "--help"), KL_OK);
	assert_int_equal(o.cmd, KL_CMD_HELP);
	assert_int_equal(o.command, KL_CMD_HELP);
	kl_opts_free(&o);
	assert_int_equal(PARSE(&o, &err, "help", "import", "-h"), KL_OK);
	assert_int_equal(o.command, KL_CMD_IMPORT);
	kl_opts_free(&o);
	assert_int_equal(PARSE(&o, &err, "help", "leads", "update", "--help"), KL_OK);
	assert_int_equal(o.command, KL_CMD_LEADS);
	kl_opts_free(&o);
}

/* text names word as a whole word: "--source" does not count for "--source-name" */
static bool names_word(const char *text, const char *word)
{
	size_t n = strlen(word);
	for (const char *h = strstr(text, word); h; h = strstr(h + 1, word))
		if (!(h[n] == '-' || (h[n] >= 'a' && h[n] <= 'z')) && (h == text || h[-1] != '-'))
			return true;
	return false;
}

static void option_table_is_documented_in_help(void **state)
{
	(void)state;
	/* every option of submit or import in the main help, and every option
	 * in the help of each command that takes it (one every command takes: in
	 * submit's and import's), and the parser knows it */
	struct kl_cli_option opt;
	size_t n = 0;
	for (size_t i = 0; kl_cli_option(i, &opt); i++, n++) {
		char flag[64];
		snprintf(flag, sizeof flag, "--%s", opt.name);
		if ((!opt.cmds || (opt.cmds & ((1u << KL_CMD_SUBMIT) | (1u << KL_CMD_IMPORT)))) &&
		    !names_word(kl_cli_help(KL_CMD_HELP), flag))
			fail_msg("%s is an option of submit or import, but not in the main help", flag);
		for (int c = 0; c < KL_CMD_HELP; c++)
			if ((opt.cmds ? opt.cmds & (1u << c) : c == KL_CMD_SUBMIT || c == KL_CMD_IMPORT) &&
			    !names_word(kl_cli_help((enum kl_cmd)c), flag))
				fail_msg("%s is an option of %s, but not in its help", flag, kl_opts_command_name((enum kl_cmd)c));
		struct kl_opts o;
		struct kl_err err = {0};
		int rc = PARSE(&o, &err, flag, "lead:1=x");
		assert_true(rc == KL_OK || strstr(err.msg, "unknown option") == NULL);
		kl_opts_free(&o);
	}
	/* the table's own 41, the lead flags from the attribute table and their two aliases */
	assert_int_equal(n, 41 + KL_ATTR_COUNT + 2);
}

/* submit --help and import --help name exactly the options the table
 * gives them: none of the other's alone, none of another command's. */
static void submit_and_import_help_name_exactly_their_options(void **state)
{
	(void)state;
	static const enum kl_cmd cmds[] = {KL_CMD_SUBMIT, KL_CMD_IMPORT};
	for (size_t k = 0; k < 2; k++) {
		const char *h = kl_cli_help(cmds[k]);
		struct kl_cli_option opt;
		size_t named = 0;
		for (size_t i = 0; kl_cli_option(i, &opt); i++) {
			char flag[64], short_flag[8];
			snprintf(flag, sizeof flag, "--%s", opt.name);
			snprintf(short_flag, sizeof short_flag, "  -%c, ", opt.short_name);
			bool takes = !opt.cmds || (opt.cmds & (1u << cmds[k]));
			if (takes != names_word(h, flag))
				fail_msg("%s --help %s %s, which it %s", kl_opts_command_name(cmds[k]),
					 takes ? "does not name" : "names", flag, takes ? "takes" : "does not take");
			if (opt.short_name && !strstr(h, short_flag))
				fail_msg("%s --help does not name -%c", kl_opts_command_name(cmds[k]), opt.short_name);
			named += takes;
		}
		assert_true(named > 30); /* the lead's flags and the shared ones at least */
	}
	/* the notes go with their command: the columns to import, the precedence to both */
	assert_non_null(strstr(kl_cli_help(KL_CMD_IMPORT), "  Columns: name, last_name"));
	assert_non_null(strstr(kl_cli_help(KL_CMD_IMPORT), "  With import, lead options give defaults"));
	assert_null(strstr(kl_cli_help(KL_CMD_SUBMIT), "Columns:"));
	assert_null(strstr(kl_cli_help(KL_CMD_SUBMIT), "With import"));
	assert_null(strstr(kl_cli_help(KL_CMD_SUBMIT), "Import ("));
	assert_non_null(strstr(kl_cli_help(KL_CMD_SUBMIT), "  Precedence: flags > environment"));
	assert_non_null(strstr(kl_cli_help(KL_CMD_IMPORT), "  Precedence: flags > environment"));
	/* a dropped section leaves one blank line, never two */
	assert_null(strstr(kl_cli_help(KL_CMD_SUBMIT), "\n\n\n"));
	assert_null(strstr(kl_cli_help(KL_CMD_IMPORT), "\n\n\n"));
	assert_non_null(strstr(kl_cli_help(KL_CMD_SUBMIT), "(alias --surname)\n"));
}

/* The main help names no option the table does not have: the commands'
 * own help is cut from it by the table, so one missing there would be lost. */
static void every_option_the_main_help_names_is_in_the_table(void **state)
{
	(void)state;
	const char *h = kl_cli_help(KL_CMD_HELP);
	size_t seen = 0;
	for (const char *p = strstr(h, "--"); p; p = strstr(p + 2, "--")) {
		char name[64];
		snprintf(name, sizeof name, "%.*s", (int)strspn(p + 2, "abcdefghijklmnopqrstuvwxyz-"), p + 2);
		struct kl_cli_option opt;
		bool known = false;
		for (size_t i = 0; !known && kl_cli_option(i, &opt); i++)
			known = strcmp(opt.name, name) == 0;
		if (!known)
			fail_msg("the main help names --%s, which is no option", name);
		seen++;
	}
	assert_true(seen > 50);
}

static void every_column_the_help_names_is_a_column(void **state)
{
	(void)state;
	const char *h = kl_cli_help(KL_CMD_IMPORT);
	const char *from = strstr(h, "  Columns: "), *to = from ? strstr(from, "\n  (21.11.2026") : NULL;
	const char *ru = strstr(h, "Russian headers work too: "), *ru_end = ru ? strstr(ru, ".\n") : NULL;
	assert_non_null(to);
	assert_non_null(ru_end);
	char list[2048];
	size_t words = 0;
	snprintf(list, sizeof list, "%.*s, %.*s", (int)(to - from - 11), from + 11, (int)(ru_end - ru - 26), ru + 26);
	char *save = NULL;
	for (char *w = strtok_r(list, ", ()\n", &save); w; w = strtok_r(NULL, ", ()\n", &save), words++)
		if (kl_columns_lookup(w) == -1)
			fail_msg("the help names a column %s that import does not know", w);
	assert_true(words > 25);
}

static void entity_commands_and_their_arguments(void **state)
{
	(void)state;
	struct kl_opts o;
	struct kl_err err = {0};
	assert_int_equal(PARSE(&o, &err, "contacts", "search", "Анна", "Петрова", "--limit", "300"), KL_OK);
	assert_int_equal(o.cmd, KL_CMD_CONTACTS_SEARCH);
	assert_string_equal(o.ent.query, "Анна Петрова");
	assert_int_equal(o.ent.limit, 300);
	kl_opts_free(&o);
	assert_int_equal(PARSE(&o, &err, "leads", "update", "8876820", "--status", "142", "--price", "5000",
			       "--field", "488804=Инженер", "--name", "N"), KL_OK);
	assert_int_equal(o.cmd, KL_CMD_LEADS_UPDATE);
	assert_int_equal(o.ent.id, 8876820);
	assert_int_equal(o.ent.status, 142);
	assert_true(o.ent.has_price);
	assert_int_equal(o.ent.price, 5000);
	assert_string_equal(o.ent.name, "N");
	assert_int_equal(o.ent.fields.ncustom, 1);
	assert_int_equal(o.ent.fields.custom[0].id, 488804);
	assert_null(o.lead.v[KL_ATTR_NAME]); /* --name of a lead update is not a submit's first name */
	kl_opts_free(&o);
	assert_int_equal(PARSE(&o, &err, "contacts", "create", "--first-name", "A", "--surname", "B",
			       "--phone", "+7 999", "--created-by", "11000002"), KL_OK);
	assert_string_equal(o.ent.first_name, "A");
	assert_string_equal(o.ent.last_name, "B");
	assert_string_equal(o.ent.phone, "+7 999");
	assert_int_equal(o.ent.created_by, 11000002);
	kl_opts_free(&o);
	assert_int_equal(PARSE(&o, &err, "leads", "create", "--name", "N", "--contact", "5", "--contact", "7",
			       "--career", "Инженер", "--source", "google"), KL_OK);
	assert_int_equal(o.ent.ncontacts, 2);
	assert_int_equal(o.ent.contacts[1], 7);
	assert_string_equal(o.ent.fields.v[KL_ATTR_CAREER], "Инженер");
	assert_string_equal(o.ent.fields.v[KL_ATTR_UTM_SOURCE], "google");
	assert_null(o.lead.v[KL_ATTR_CAREER]);
	kl_opts_free(&o);
	/* a lead field alone is something to change */
	assert_int_equal(PARSE(&o, &err, "leads", "update", "5", "--income", "100"), KL_OK);
	assert_string_equal(o.ent.fields.v[KL_ATTR_INCOME], "100");
	kl_opts_free(&o);
	assert_int_equal(PARSE(&o, &err, "contacts", "search", "+79991234567", "--first"), KL_OK);
	assert_true(o.ent.first);
	kl_opts_free(&o);
	assert_int_equal(PARSE(&o, &err, "fields", "--env"), KL_OK);
	assert_true(o.ent.env);
	kl_opts_free(&o);
	assert_int_equal(PARSE(&o, &err, "submit", "--name", "A", "--phone", "1234567", "--skip-existing"), KL_OK);
	assert_true(o.skip_existing);
	kl_opts_free(&o);
	assert_int_equal(PARSE(&o, &err, "contacts", "--help"), KL_OK);
	assert_int_equal(o.cmd, KL_CMD_HELP);
	assert_non_null(strstr(kl_cli_help(o.command), "contacts create"));
	kl_opts_free(&o);
}

static void entity_command_mistakes_are_usage_errors(void **state)
{
	(void)state;
	struct kl_opts o;
	struct kl_err err = {0};
	static const struct {
		const char *args[6];
		const char *msg;
	} cases[] = {
		{{"leads"}, "leads needs a subcommand: expected search, create or update"},
		{{"contacts", "update", "1"}, "contacts \"update\": expected search or create"},
		{{"leads", "search"}, "leads search needs a QUERY"},
		{{"leads", "create"}, "leads create needs --name NAME"},
		{{"leads", "update", "--name", "x"}, "leads update needs the lead's ID"},
		{{"leads", "update", "0", "--name", "x"}, "\"0\" is not an id"},
		{{"leads", "update", "5"}, "nothing to change"},
		{{"leads", "create", "--name", "x", "--status", "abc"}, "--status: \"abc\" is not an id"},
		{{"leads", "create", "--name", "x", "--field", "contact:1=y"}, "takes lead fields only"},
		{{"leads", "create", "--name", "x", "--phone", "1"}, "--phone is not an option of leads create (it is one of: submit, import, contacts create)"},
		{{"contacts", "create"}, "contacts create needs a name"},
		{{"fields", "--env", "--json"}, "--env and --json are two outputs"},
		{{"check", "--dry-run"}, "--dry-run is not an option of check"},
		{{"contacts", "search", "x", "--limit", "0"}, "--limit"},
		{{"leads", "search", "x", "--first", "--json"}, "--first and --json are two outputs"},
		{{"contacts", "search", "x", "--limit", "5", "--first"}, "--first prints one id, --limit N bounds a list"},
		{{"leads", "update", "5", "--contact", "1"}, "--contact is not an option of leads update"},
		{{"leads", "create", "--name", "x", "--contact", "0"}, "--contact: \"0\" is not an id"},
		{{"contacts", "create", "--name", "x", "--career", "y"}, "--career is not an option of contacts create"},
		{{"leads", "update", "5", "--source", "a", "--utm-source"}, "--utm-source"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *argv[8] = {"kommo-lead"};
		int argc = 1;
		for (int k = 0; k < 6 && cases[i].args[k]; k++)
			argv[argc++] = (char *)cases[i].args[k];
		assert_int_equal(kl_cli_parse(&o, argc, argv, &err), KL_EUSAGE);
		if (!strstr(err.msg, cases[i].msg))
			fail_msg("case %zu: %s", i, err.msg);
		kl_opts_free(&o);
	}
}

static void batch_size_is_a_number_or_auto(void **state)
{
	(void)state;
	struct kl_opts o;
	struct kl_err err = {0};
	assert_int_equal(PARSE(&o, &err, "import", "--batch-size", "auto", "-"), KL_OK);
	assert_int_equal(o.batch_size, 0);
	kl_opts_free(&o);
	assert_int_equal(PARSE(&o, &err, "import", "--batch-size", "250", "-"), KL_OK);
	assert_int_equal(o.batch_size, 250);
	kl_opts_free(&o);
	assert_int_equal(PARSE(&o, &err, "import", "--batch-size", "251", "-"), KL_EUSAGE);
	assert_non_null(strstr(err.msg, "from 1 to 250, or auto"));
}

static void an_empty_flag_value_is_not_given(void **state)
{
	(void)state;
	struct kl_opts o;
	struct kl_err err = {0};
	assert_int_equal(PARSE(&o, &err, "--name", "Anna", "--last-name", "", "--phone", " ", "--pipeline", "",
			       "--phone-region", "", "--last-name", "Petrova"),
			 KL_OK);
	/* not given, so the second --last-name is no second one */
	assert_string_equal(o.lead.v[KL_ATTR_LAST_NAME], "Petrova");
	assert_null(o.lead.v[KL_ATTR_PHONE]);
	assert_null(o.flags.value[KL_CFG_PIPELINE_ID]);
	assert_null(o.flags.value[KL_CFG_PHONE_REGION]);
	kl_opts_free(&o);
	assert_int_equal(PARSE(&o, &err, "contacts", "create", "--name", "Anna", "--first-name", "", "--email", ""),
			 KL_OK);
	assert_null(o.ent.first_name);
	assert_null(o.ent.email);
	kl_opts_free(&o);
	/* a path or a spec is no value to leave out */
	assert_int_equal(PARSE(&o, &err, "--name", "Anna", "--field", ""), KL_EUSAGE);
	kl_opts_free(&o);
}

static void the_token_has_one_source_on_the_command_line(void **state)
{
	(void)state;
	struct kl_opts o;
	struct kl_err err = {0};
	assert_int_equal(PARSE(&o, &err, "check", "--token-command", "pass show kommo"), KL_OK);
	assert_string_equal(o.token_command, "pass show kommo");
	kl_opts_free(&o);
	assert_int_equal(PARSE(&o, &err, "check", "--token-file", "-", "--token-command", "x"), KL_EUSAGE);
	assert_non_null(strstr(err.msg, "give one"));
	kl_opts_free(&o);
	/* the rows and the token cannot both come from standard input */
	assert_int_equal(PARSE(&o, &err, "import", "--token-file", "-", "-"), KL_EUSAGE);
	assert_non_null(strstr(err.msg, "standard input"));
	kl_opts_free(&o);
	assert_int_equal(PARSE(&o, &err, "import", "--token-file", "-", "rows.csv"), KL_OK);
	kl_opts_free(&o);
	assert_int_equal(PARSE(&o, &err, "check", "-v", "-v"), KL_OK);
	assert_int_equal(o.verbose, 2);
	kl_opts_free(&o);
}

static void shared_options_may_come_before_the_command(void **state)
{
	(void)state;
	struct kl_opts o;
	struct kl_err err = {0};
	assert_int_equal(PARSE(&o, &err, "--config", "x.env", "-v", "--timeout=5", "check", "-v", "--json"), KL_OK);
	assert_int_equal(o.cmd, KL_CMD_CHECK);
	assert_string_equal(o.config_path, "x.env");
	assert_int_equal(o.verbose, 2);
	assert_int_equal(o.timeout_ms, 5000);
	assert_true(o.json);
	kl_opts_free(&o);
	assert_int_equal(PARSE(&o, &err, "--no-config", "--token-file", "-", "leads", "search", "Anna"), KL_OK);
	assert_int_equal(o.cmd, KL_CMD_LEADS_SEARCH);
	assert_true(o.no_config);
	assert_string_equal(o.token_file, "-");
	assert_string_equal(o.ent.query, "Anna");
	kl_opts_free(&o);
	/* only an option every command takes is shared: not --dry-run, which check refuses */
	assert_int_equal(PARSE(&o, &err, "--dry-run", "import", "rows.csv"), KL_EUSAGE);
	assert_non_null(strstr(err.msg, "the command comes first: kommo-lead import"));
	assert_null(strstr(err.msg, "--dry-run"));
	kl_opts_free(&o);
	/* given twice is still twice */
	assert_int_equal(PARSE(&o, &err, "--config", "a.env", "check", "--config", "b.env"), KL_EUSAGE);
	assert_non_null(strstr(err.msg, "given twice"));
	kl_opts_free(&o);
	/* an option of submit's own before a command is not a shared one */
	assert_int_equal(PARSE(&o, &err, "--name", "A", "check"), KL_EUSAGE);
	assert_non_null(strstr(err.msg, "the command comes first"));
	kl_opts_free(&o);
	/* before no command, options are submit's as ever */
	assert_int_equal(PARSE(&o, &err, "--config", "x.env", "--name", "A", "--phone", "1234567"), KL_OK);
	assert_int_equal(o.cmd, KL_CMD_SUBMIT);
	kl_opts_free(&o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(an_empty_flag_value_is_not_given),
		cmocka_unit_test(batch_size_is_a_number_or_auto),
		cmocka_unit_test(submit_is_the_default_command),
		cmocka_unit_test(aliases_fill_the_same_field),
		cmocka_unit_test(config_flags_go_to_the_flag_layer),
		cmocka_unit_test(repeated_field_flags_accumulate),
		cmocka_unit_test(unknown_option_suggests_the_nearest),
		cmocka_unit_test(usage_errors_name_the_argument),
		cmocka_unit_test(a_missing_value_never_swallows_the_next_option),
		cmocka_unit_test(unknown_option_with_value_or_underscore_still_gets_a_suggestion),
		cmocka_unit_test(a_token_given_as_an_option_is_never_echoed),
		cmocka_unit_test(import_takes_one_file_and_its_own_options),
		cmocka_unit_test(options_of_one_command_are_refused_by_the_other),
		cmocka_unit_test(no_arguments_is_a_usage_error),
		cmocka_unit_test(help_and_version),
		cmocka_unit_test(help_command_names_a_known_command),
		cmocka_unit_test(help_names_the_command_it_is_for),
		cmocka_unit_test(submit_and_import_help_name_exactly_their_options),
		cmocka_unit_test(every_option_the_main_help_names_is_in_the_table),
		cmocka_unit_test(option_table_is_documented_in_help),
		cmocka_unit_test(every_column_the_help_names_is_a_column),
		cmocka_unit_test(entity_commands_and_their_arguments),
		cmocka_unit_test(entity_command_mistakes_are_usage_errors),
		cmocka_unit_test(the_token_has_one_source_on_the_command_line),
		cmocka_unit_test(shared_options_may_come_before_the_command),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
