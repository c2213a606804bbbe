/* The command grammar: kommo-lead [COMMAND [SUBCOMMAND]] [OPTIONS]
 * [ARGUMENTS], and help [COMMAND [SUBCOMMAND]]. Options are looked up in
 * options.c, which also converts their values. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_int.h"
#include "core/kl_check.h"
#include "util/kl_str.h"

static const struct {
	const char *name;
	enum kl_cmd cmd;
} commands[] = {{"submit", KL_CMD_SUBMIT}, {"import", KL_CMD_IMPORT}, {"check", KL_CMD_CHECK},
		{"fields", KL_CMD_FIELDS},   {"leads", KL_CMD_LEADS},   {"contacts", KL_CMD_CONTACTS},
		{"lead", KL_CMD_LEADS},      {"contact", KL_CMD_CONTACTS}, {"config", KL_CMD_CONFIG},
		{"help", KL_CMD_HELP}};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

/* The index of the command called arg, or NCOMMANDS. */
static size_t command_index(const char *arg)
{
	size_t k = 0;
	while (k < NCOMMANDS && strcmp(arg, commands[k].name) != 0)
		k++;
	return k;
}

static bool is_command(const char *arg)
{
	return command_index(arg) < NCOMMANDS;
}

/* The command arg is a typo of, or NULL. */
static const char *nearest_command(const char *arg)
{
	for (size_t c = 0; c < NCOMMANDS; c++)
		if (kl_str_distance(arg, commands[c].name) <= 2)
			return commands[c].name;
	return NULL;
}

static int unknown_command(const char *arg, struct kl_err *err)
{
	char qbuf[128];
	const char *best = nearest_command(arg);
	if (best)
		return kl_err_set(err, KL_EUSAGE, "unknown command %s (did you mean %s?)",
				  kl_str_quote(arg, qbuf, sizeof qbuf), best);
	return kl_err_set(err, KL_EUSAGE, "unknown command %s (commands: submit, import, check, fields, leads, contacts, config, help; see kommo-lead --help)",
			  kl_str_quote(arg, qbuf, sizeof qbuf));
}

static bool is_help_flag(const char *arg)
{
	return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

/* True when argv[from..] asks for help. */
static bool is_help(int argc, char **argv, int from)
{
	for (int i = from; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (is_help_flag(argv[i]))
			return true;
	return false;
}

/* kommo-lead help [COMMAND [SUBCOMMAND]]; i is the index of "help". */
static int parse_help_command(struct kl_opts *o, int argc, char **argv, int i, struct kl_err *err)
{
	char qbuf[256];
	o->cmd = o->command = KL_CMD_HELP; /* no command named: the main help */
	/* -h and --help after it ask for the same thing */
	int n = i + 1;
	while (n < argc && is_help_flag(argv[n]))
		n++;
	if (n >= argc)
		return KL_OK;
	size_t c = command_index(argv[n]);
	if (c == NCOMMANDS)
		return unknown_command(argv[n], err);
	o->command = commands[c].cmd;
	bool leads = o->command == KL_CMD_LEADS, contacts = o->command == KL_CMD_CONTACTS;
	int extra = n + 1;
	if ((leads || contacts) && extra < argc &&
	    (strcmp(argv[extra], "search") == 0 || strcmp(argv[extra], "create") == 0 ||
	     (leads && strcmp(argv[extra], "update") == 0)))
		extra++;
	while (extra < argc && is_help_flag(argv[extra]))
		extra++;
	if (extra < argc)
		return kl_err_set(err, KL_EUSAGE, "help: unexpected %s (kommo-lead help [COMMAND])",
				  kl_str_quote(argv[extra], qbuf, sizeof qbuf));
	return KL_OK;
}

/* The subcommand of leads or contacts at argv[*i]; alone, they only take --help. */
static int parse_subcommand(struct kl_opts *o, int argc, char **argv, int *i, struct kl_err *err)
{
	char qbuf[256];
	bool leads = o->command == KL_CMD_LEADS;
	const char *sub = *i < argc ? argv[*i] : "";
	if (strcmp(sub, "search") == 0)
		o->command = leads ? KL_CMD_LEADS_SEARCH : KL_CMD_CONTACTS_SEARCH;
	else if (strcmp(sub, "create") == 0)
		o->command = leads ? KL_CMD_LEADS_CREATE : KL_CMD_CONTACTS_CREATE;
	else if (strcmp(sub, "update") == 0 && leads)
		o->command = KL_CMD_LEADS_UPDATE;
	else if (sub[0] != '-' || !is_help(argc, argv, *i))
		return kl_err_set(err, KL_EUSAGE, "%s %s: expected %s (see kommo-lead %s --help)",
				  leads ? "leads" : "contacts",
				  sub[0] ? kl_str_quote(sub, qbuf, sizeof qbuf) : "needs a subcommand",
				  leads ? "search, create or update" : "search or create",
				  leads ? "leads" : "contacts");
	if (o->command != KL_CMD_LEADS && o->command != KL_CMD_CONTACTS)
		(*i)++;
	o->cmd = o->command;
	return KL_OK;
}

/* The command and subcommand that start argv; *i is left at what follows. */
static int parse_command(struct kl_opts *o, int argc, char **argv, int *i, bool *done,
			 struct kl_err *err)
{
	if (*i >= argc || argv[*i][0] == '-')
		return KL_OK;
	size_t k = command_index(argv[*i]);
	if (k == NCOMMANDS)
		return unknown_command(argv[*i], err);
	if (commands[k].cmd == KL_CMD_HELP) {
		*done = true;
		return parse_help_command(o, argc, argv, *i, err);
	}
	o->cmd = o->command = commands[k].cmd;
	(*i)++;
	if (o->command == KL_CMD_LEADS || o->command == KL_CMD_CONTACTS)
		return parse_subcommand(o, argc, argv, i, err);
	return KL_OK;
}

/* A command's own arguments: import's FILE, a search's QUERY words, the ID
 * of leads update. *taken is false when arg is none of them. */
static int positional(struct kl_opts *o, const char *arg, bool only_positionals, bool *taken,
		      struct kl_err *err)
{
	char qbuf[256];
	*taken = true;
	if (o->command == KL_CMD_IMPORT && (only_positionals || arg[0] != '-' || strcmp(arg, "-") == 0)) {
		if (o->input)
			return kl_err_set(err, KL_EUSAGE, "import reads one file; %s is one too many (to import several, run import once per file, or cat them)",
					  kl_str_quote(arg, qbuf, sizeof qbuf));
		return (o->input = strdup(arg)) ? KL_OK : kl_err_oom(err);
	}
	if ((o->command == KL_CMD_LEADS_SEARCH || o->command == KL_CMD_CONTACTS_SEARCH) &&
	    (only_positionals || arg[0] != '-' || !arg[1])) {
		/* the words of a query: kommo-lead contacts search Анна Петрова */
		char *q = o->ent.query ? kl_str_printf("%s %s", o->ent.query, arg) : strdup(arg);
		if (!q)
			return kl_err_oom(err);
		free(o->ent.query);
		o->ent.query = q;
		return KL_OK;
	}
	if (o->command == KL_CMD_LEADS_UPDATE && !o->ent.id && (only_positionals || arg[0] != '-')) {
		if (kl_check_id("leads update ID", arg, "8876820", &o->ent.id, err))
			return kl_err_as(err, KL_EUSAGE);
		return KL_OK;
	}
	*taken = false;
	return KL_OK;
}

/* The options every command takes, which may come before the command as
 * git's and curl's do: kommo-lead --config x.env check. Only those: one
 * that some command refuses (--dry-run) would be refused there too, after
 * the user was told it may come first. --help and --version end the run. */
static bool is_shared(const struct opt *d)
{
	return !d->cmds && d->id != O_HELP && d->id != O_VERSION;
}

/* "--cacert, --config, ..., -v": the shared options, for a message. */
static void shared_list(char *buf, size_t size)
{
	struct opt d;
	buf[0] = '\0';
	for (size_t k = 0; cli_opt_at(k, &d); k++) {
		if (!is_shared(&d))
			continue;
		snprintf(buf + strlen(buf), size - strlen(buf), "%s--%s", buf[0] ? ", " : "", d.name);
		if (d.short_name)
			snprintf(buf + strlen(buf), size - strlen(buf), " (-%c)", d.short_name);
	}
}

/* Why argv[i], which is no option, is out of place. */
static int stray_argument(const struct kl_opts *o, int i, char **argv, struct kl_err *err)
{
	char qbuf[256];
	const char *arg = argv[i];
	if (o->command == KL_CMD_SUBMIT && is_command(arg)) {
		char shared[256];
		shared_list(shared, sizeof shared);
		return kl_err_set(err, KL_EUSAGE, "the command comes first: kommo-lead %s [OPTIONS] (before it, only the options every command takes: %s; others are taken as submit's)",
				  arg, shared);
	}
	if (i >= 2 && cli_is_option(argv[i - 2]) && !strchr(argv[i - 2], '=') && argv[i - 1][0] != '-') {
		/* most often a value with a space that was not quoted */
		char q2[256];
		char *joined = kl_str_printf("%s %s", argv[i - 1], arg);
		if (!joined)
			return kl_err_oom(err);
		kl_str_quote(joined, q2, sizeof q2);
		free(joined);
		return kl_err_set(err, KL_EUSAGE,
				  "unexpected argument %s: a value with spaces must be quoted, e.g. %s %s",
				  kl_str_quote(arg, qbuf, sizeof qbuf), argv[i - 2], q2);
	}
	return kl_err_set(err, KL_EUSAGE, "unexpected argument %s: %s takes %s (see kommo-lead%s%s --help)",
			  kl_str_quote(arg, qbuf, sizeof qbuf), kl_opts_command_name(o->command),
			  o->command == KL_CMD_LEADS_UPDATE ? "one lead id and options" : "only options",
			  o->command == KL_CMD_SUBMIT ? "" : " ",
			  o->command == KL_CMD_SUBMIT ? "" : kl_opts_command_name(o->command));
}

/* The option argv[i] names, and its value when written --opt=value. */
static int read_option(const struct kl_opts *o, int i, char **argv, struct opt *d, const char **value,
		       struct kl_err *err)
{
	char qbuf[256];
	const char *arg = argv[i];
	*value = NULL;
	if (arg[0] == '-' && arg[1] == '-' && arg[2]) {
		const char *eq = strchr(arg + 2, '=');
		size_t nl = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
		char name[64];
		bool found = false;
		if (nl < sizeof name - 2) {
			memcpy(name, arg + 2, nl);
			name[nl] = '\0';
			found = cli_find_long(name, d);
		}
		if (!found)
			return cli_unknown_option(arg, err);
		*value = eq ? eq + 1 : NULL;
		if (*value && !d->has_arg)
			return kl_err_set(err, KL_EUSAGE, "--%s takes no value", d->name);
		return KL_OK;
	}
	if (arg[0] == '-' && arg[1] && !arg[2])
		return cli_find_short(arg[1], d) ? KL_OK : cli_unknown_option(arg, err);
	if (arg[0] == '-' && arg[1] != '-' && arg[1])
		return kl_err_set(err, KL_EUSAGE, "%s: short options cannot be combined; write them apart, e.g. -v -V",
				  kl_str_quote(arg, qbuf, sizeof qbuf));
	return stray_argument(o, i, argv, err);
}

/* KL_EUSAGE when the command does not take option d. */
static int check_taken(const struct kl_opts *o, const struct opt *d, const char *flag, struct kl_err *err)
{
	if (!d->cmds || (d->cmds & (1u << o->command)) || d->id == O_HELP || o->command == KL_CMD_LEADS ||
	    o->command == KL_CMD_CONTACTS)
		return KL_OK;
	if (d->id == O_ATTR && d->attr == KL_ATTR_SOURCE_UID && o->command == KL_CMD_IMPORT)
		return kl_err_set(err, KL_EUSAGE,
				  "--source-uid is for one lead; in an import each row needs its own: put them in a source_uid column");
	char list[256] = "";
	for (int c = 0; c < KL_CMD_HELP; c++)
		if (d->cmds & (1u << c))
			snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", list[0] ? ", " : "",
				 kl_opts_command_name((enum kl_cmd)c));
	return kl_err_set(err, KL_EUSAGE, "%s is not an option of %s (it is one of: %s)", flag,
			  kl_opts_command_name(o->command), list);
}

/* The option or argument at argv[*i] (and its value at argv[*i + 1]). */
static int parse_argument(struct kl_opts *o, int argc, char **argv, int *i, bool only_positionals,
			  struct kl_err *err)
{
	char qbuf[256];
	const char *arg = argv[*i];
	struct opt d;
	const char *value;
	char flag[64];
	bool taken;
	int rc = positional(o, arg, only_positionals, &taken, err);
	if (rc || taken)
		return rc;
	if (only_positionals)
		return kl_err_set(err, KL_EUSAGE, "unexpected argument %s: %s takes no more arguments",
				  kl_str_quote(arg, qbuf, sizeof qbuf), kl_opts_command_name(o->command));
	if ((rc = read_option(o, *i, argv, &d, &value, err)))
		return rc;
	snprintf(flag, sizeof flag, "--%s", d.name);
	if ((rc = check_taken(o, &d, flag, err)))
		return rc;
	if (d.has_arg && !value) {
		if (*i + 1 >= argc)
			return kl_err_set(err, KL_EUSAGE, "%s needs a value", flag);
		if (cli_is_option(argv[*i + 1]))
			return kl_err_set(err, KL_EUSAGE,
					  "%s needs a value, but the next argument is the option %s (for that text itself write %s=%s)",
					  flag, argv[*i + 1], flag, argv[*i + 1]);
		value = argv[++*i];
	}
	rc = cli_apply(o, &d, flag, value, err);
	return rc == KL_EDATA ? kl_err_as(err, KL_EUSAGE) : rc;
}


/* The index past the shared options (and their values) that start argv. */
static int skip_shared_options(int argc, char **argv)
{
	int i = 1;
	while (i < argc && argv[i][0] == '-' && argv[i][1]) {
		struct opt d;
		const char *a = argv[i];
		char name[64];
		if (a[1] == '-') {
			snprintf(name, sizeof name, "%.*s", (int)strcspn(a + 2, "="), a + 2);
			if (!cli_find_long(name, &d))
				break;
		} else if (a[2] || !cli_find_short(a[1], &d)) {
			break;
		}
		if (!is_shared(&d))
			break;
		i += d.has_arg && !strchr(a, '=') ? 2 : 1;
	}
	return i;
}

/* argv[1..end): the shared options given before the command, applied now
 * that the command is known (so that one it does not take is refused). */
static int parse_leading(struct kl_opts *o, int end, char **argv, struct kl_err *err)
{
	for (int i = 1; i < end; i++) {
		int rc = parse_argument(o, end, argv, &i, false, err);
		if (rc)
			return rc;
	}
	return KL_OK;
}

int kl_cli_parse(struct kl_opts *o, int argc, char **argv, struct kl_err *err)
{
	int i = 1;
	bool done = false, only_positionals = false;
	memset(o, 0, sizeof *o);
	o->cmd = o->command = KL_CMD_SUBMIT;
	o->batch_size = 0; /* auto */
	o->rate = 7;
	o->max_retries = 5;
	o->progress = -1;

	/* options before a command are the shared ones; before none, submit's */
	int lead_end = skip_shared_options(argc, argv);
	if (lead_end > 1 && lead_end < argc && is_command(argv[lead_end]))
		i = lead_end;
	else if (lead_end > 1 && lead_end < argc && argv[lead_end][0] != '-' && nearest_command(argv[lead_end]))
		/* kommo-lead --config x.env chek: a command mistyped, as without the options */
		return unknown_command(argv[lead_end], err);
	int command_at = i;
	int rc = parse_command(o, argc, argv, &i, &done, err);
	bool named = i > command_at;
	if (!rc && i > lead_end && !done)
		rc = parse_leading(o, lead_end, argv, err);
	if (rc || done)
		return rc;
	if (i == argc && o->command == KL_CMD_SUBMIT)
		return kl_err_set(err, KL_EUSAGE,
				  "no lead given: try kommo-lead --name Ivan --phone +79991234567 (see kommo-lead --help)");
	for (; i < argc; i++) {
		if (!only_positionals && strcmp(argv[i], "--") == 0) {
			only_positionals = true;
			continue;
		}
		if ((rc = parse_argument(o, argc, argv, &i, only_positionals, err)))
			return rc;
	}
	if (o->no_config && o->config_path)
		return kl_err_set(err, KL_EUSAGE, "--config and --no-config contradict each other: give one");
	if (o->cmd == KL_CMD_HELP && !named)
		o->command = KL_CMD_HELP; /* kommo-lead --help: every command's, not submit's alone */
	if (o->cmd == KL_CMD_HELP || o->cmd == KL_CMD_VERSION)
		return KL_OK;
	return cli_check_command(o, err);
}
