/* The bash completion's and the man page's option lists, held to the
 * command line's option table (kl_cli_option), so that none of them can
 * gain or lose an option alone.
 *
 *   test_option_lists COMPLETION_FILE MAN_PAGE
 *
 * The completion's lists are asked of bash itself (its functions sourced),
 * not read from the file's text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/kl_cli.h"

static const char *completion_file, *man_page;

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The words of text ("--a --b\n--c"), sorted and deduplicated, joined by
 * spaces into out. */
static void sorted_words(const char *text, char *out, size_t size)
{
	char *copy = strdup(text), *words[512], *save = NULL;
	size_t n = 0;
	assert_non_null(copy);
	for (char *w = strtok_r(copy, " \t\n", &save); w && n < 512; w = strtok_r(NULL, " \t\n", &save))
		words[n++] = w;
	qsort(words, n, sizeof words[0], cmp_str);
	out[0] = '\0';
	for (size_t i = 0; i < n; i++)
		if (i == 0 || strcmp(words[i], words[i - 1]) != 0)
			snprintf(out + strlen(out), size - strlen(out), "%s%s", out[0] ? " " : "", words[i]);
	free(copy);
}

/* What a bash snippet prints with the completion sourced; $KL_ARG is arg. */
static void bash_words(const char *snippet, const char *arg, char *out, size_t size)
{
	char cmd[1024], text[16384];
	size_t len = 0, got;
	assert_int_equal(setenv("KL_COMP", completion_file, 1), 0);
	assert_int_equal(setenv("KL_ARG", arg, 1), 0);
	snprintf(cmd, sizeof cmd, "bash -c 'source \"$KL_COMP\" && %s'", snippet);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	while ((got = fread(text + len, 1, sizeof text - 1 - len, p)) > 0)
		len += got;
	text[len] = '\0';
	int status = pclose(p);
	if (status != 0)
		fail_msg("bash -c '%s' with %s sourced: status %d", snippet, completion_file, status);
	sorted_words(text, out, size);
}

/* The long options of the table that command c takes (c < 0: every one;
 * want_arg >= 0: only those that take a value (1) or none (0)). */
static void table_words(int c, int want_arg, char *out, size_t size)
{
	char text[16384] = "";
	struct kl_cli_option o;
	for (size_t i = 0; kl_cli_option(i, &o); i++) {
		if (c >= 0 && o.cmds && !(o.cmds & (1u << c)))
			continue;
		if (want_arg >= 0 && o.has_arg != (want_arg == 1))
			continue;
		snprintf(text + strlen(text), sizeof text - strlen(text), " --%s", o.name);
	}
	sorted_words(text, out, size);
}

static void completion_offers_each_command_exactly_its_options(void **state)
{
	(void)state;
	static const enum kl_cmd cmds[] = {KL_CMD_SUBMIT,        KL_CMD_IMPORT,          KL_CMD_CHECK,
					   KL_CMD_FIELDS,        KL_CMD_LEADS_SEARCH,    KL_CMD_LEADS_CREATE,
					   KL_CMD_LEADS_UPDATE,  KL_CMD_CONTACTS_SEARCH, KL_CMD_CONTACTS_CREATE,
					   KL_CMD_CONFIG};
	char want[8192], got[8192];
	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
		table_words((int)cmds[i], -1, want, sizeof want);
		bash_words("_kommo_lead_options \"$KL_ARG\"", kl_opts_command_name(cmds[i]), got, sizeof got);
		if (strcmp(want, got) != 0)
			fail_msg("%s: the completion offers\n  %s\nthe option table has\n  %s",
				 kl_opts_command_name(cmds[i]), got, want);
	}
	/* leads or contacts without a subcommand take nothing but --help */
	bash_words("_kommo_lead_options \"$KL_ARG\"", "leads", got, sizeof got);
	assert_string_equal(got, "--help");
}

static void completion_knows_which_options_take_a_value(void **state)
{
	(void)state;
	char want[8192], got[8192];
	table_words(-1, 1, want, sizeof want);
	/* the options its case statement lists, as bash reads the function */
	bash_words("declare -f _kommo_lead_takes_value | grep -oE -- \"--[a-z][-a-z]*\"", "", got, sizeof got);
	assert_string_equal(got, want);
	/* and the function says yes to each of them, no to the others */
	bash_words("for o in $(_kommo_lead_options submit) $(_kommo_lead_options import) "
		   "$(_kommo_lead_options \"leads create\") $(_kommo_lead_options \"contacts create\") "
		   "$(_kommo_lead_options \"leads search\") $(_kommo_lead_options fields); do "
		   "_kommo_lead_takes_value $o && echo $o; done; true",
		   "", got, sizeof got);
	assert_string_equal(got, want);
}

/* The text of file between the lines ".SH from" and the next ".SH". */
static char *man_section(const char *from)
{
	FILE *f = fopen(man_page, "r");
	char line[4096], head[128];
	size_t cap = 1 << 20, len = 0;
	char *text = calloc(1, cap);
	bool in = false;
	assert_non_null(f);
	assert_non_null(text);
	snprintf(head, sizeof head, ".SH %s\n", from);
	while (fgets(line, sizeof line, f)) {
		if (strncmp(line, ".SH ", 4) == 0)
			in = strcmp(line, head) == 0;
		else if (in && len + strlen(line) < cap)
			len += (size_t)snprintf(text + len, cap - len, "%s", line);
	}
	fclose(f);
	return text;
}

/* The long options roff text names ("\-\-last\-name" is --last-name). */
static void roff_options(const char *text, char *out, size_t size)
{
	char words[16384] = "";
	for (const char *p = strstr(text, "\\-\\-"); p; p = strstr(p + 1, "\\-\\-")) {
		char word[64] = "--";
		size_t n = 2;
		const char *q = p + 4;
		while (n + 1 < sizeof word) {
			if (*q >= 'a' && *q <= 'z')
				word[n++] = *q++;
			else if (q[0] == '\\' && q[1] == '-' && q[2] >= 'a' && q[2] <= 'z')
				word[n++] = '-', q += 2;
			else
				break;
		}
		word[n] = '\0';
		if (n > 2)
			snprintf(words + strlen(words), sizeof words - strlen(words), " %s", word);
	}
	sorted_words(words, out, size);
}

static void man_page_documents_exactly_the_options_of_the_table(void **state)
{
	(void)state;
	char want[8192], got[8192];
	char *options = man_section("OPTIONS"), *synopsis = man_section("SYNOPSIS");
	table_words(-1, -1, want, sizeof want);
	roff_options(options, got, sizeof got);
	assert_string_equal(got, want);
	/* the synopsis names no option the table does not have */
	char syn[8192], both[16384];
	roff_options(synopsis, syn, sizeof syn);
	snprintf(both, sizeof both, "%s %s", want, syn);
	sorted_words(both, got, sizeof got);
	assert_string_equal(got, want);
	/* and the short options, as "\-v" */
	struct kl_cli_option o;
	for (size_t i = 0; kl_cli_option(i, &o); i++) {
		char s[8];
		snprintf(s, sizeof s, "\\-%c ", o.short_name);
		if (o.short_name && !strstr(options, s))
			fail_msg("the man page's OPTIONS do not name -%c", o.short_name);
	}
	free(options);
	free(synopsis);
}

/* The options the completion skips before the command are the ones every
 * command takes (but --help and --version), as the parser has it: an option
 * some command refuses (--dry-run) cannot come first. */
static void completion_skips_exactly_the_options_every_command_takes(void **state)
{
	(void)state;
	char want[4096] = "", all[8192], got[4096];
	struct kl_cli_option o;
	for (size_t i = 0; kl_cli_option(i, &o); i++)
		if (!o.cmds && strcmp(o.name, "help") != 0 && strcmp(o.name, "version") != 0)
			snprintf(want + strlen(want), sizeof want - strlen(want), " --%s", o.name);
	sorted_words(want, want, sizeof want);
	table_words(-1, -1, all, sizeof all);
	bash_words("for o in $KL_ARG; do _kommo_lead_shared $o && echo $o; done; true", all, got, sizeof got);
	assert_string_equal(got, want);
}

/* The man page's examples: groff's \t escape there moves to no tab stop, so
 * "environment\tKOMMO_PIPELINE_ID=1" renders as one word. */
static void man_page_examples_have_no_tab_escape(void **state)
{
	(void)state;
	FILE *f = fopen(man_page, "r");
	char line[4096];
	int n = 0;
	assert_non_null(f);
	while (fgets(line, sizeof line, f)) {
		n++;
		for (const char *p = strchr(line, '\\'); p; p = strchr(p + 2, '\\')) {
			if (p[1] == 't')
				fail_msg("%s:%d: \\t renders as nothing; write spaces: %s", man_page, n, line);
			if (!p[1])
				break;
		}
	}
	fclose(f);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: test_option_lists COMPLETION_FILE MAN_PAGE\n");
		return 2;
	}
	completion_file = argv[1];
	man_page = argv[2];
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(completion_offers_each_command_exactly_its_options),
		cmocka_unit_test(completion_knows_which_options_take_a_value),
		cmocka_unit_test(man_page_documents_exactly_the_options_of_the_table),
		cmocka_unit_test(completion_skips_exactly_the_options_every_command_takes),
		cmocka_unit_test(man_page_examples_have_no_tab_escape),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
