/*
 * Private to src/cli: the option table (options.c) as the grammar
 * (grammar.c) reads it.
 *
 * Lead attributes are not rows of the table: their flags, aliases and help
 * lines come from the attribute table (kl_attr_info); options.c puts them
 * beside its own rows, so the grammar sees one set of options.
 */
#ifndef KL_CLI_INT_H
#define KL_CLI_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "cli/kl_cli.h"

enum opt_id {
	O_ATTR, /* a lead attribute: see struct opt.attr */
	O_BATCH_SIZE,
	O_CACERT,
	O_COLUMNS,
	O_CONFIG,
	O_CONTACT,
	O_CREATED_BY,
	O_DELIMITER,
	O_DRY_RUN,
	O_ENCODING,
	O_ENV,
	O_FIELD,
	O_FIRST,
	O_FIRST_NAME,
	O_FORM_ID,
	O_FORM_NAME,
	O_FORM_PAGE,
	O_FORMAT,
	O_HELP,
	O_IGNORE_UNKNOWN,
	O_JSON,
	O_LIMIT,
	O_MAP,
	O_MAX_RETRIES,
	O_NO_CONFIG,
	O_NO_PROGRESS,
	O_PHONE_REGION,
	O_PIPELINE,
	O_PROGRESS,
	O_RATE,
	O_REJECTS,
	O_RESPONSIBLE,
	O_RESULTS,
	O_SKIP_EXISTING,
	O_SOURCE_NAME,
	O_STATE,
	O_STATUS,
	O_TIMEOUT,
	O_TOKEN_COMMAND,
	O_TOKEN_FILE,
	O_VERBOSE,
	O_VERSION
};

struct opt {
	const char *name; /* without "--" */
	char short_name;
	bool has_arg;
	enum opt_id id;
	int attr;      /* for O_ATTR */
	unsigned cmds; /* a bit (1u << enum kl_cmd) per command taking it; 0: every command */
};

/* The i-th option, the table's rows sorted by name and then the attributes'
 * flags and aliases; false past the last. */
bool cli_opt_at(size_t i, struct opt *out);

/* The option called --name, or false. */
bool cli_find_long(const char *name, struct opt *out);
bool cli_find_short(char c, struct opt *out);

/* True when arg is one of our options, so it cannot be the value before it. */
bool cli_is_option(const char *arg);

/* KL_EUSAGE for an option we do not know, with the nearest one we do. */
int cli_unknown_option(const char *arg, struct kl_err *err);

/* Converts an option's value (v: NULL for one that takes none) into o. */
int cli_apply(struct kl_opts *o, const struct opt *d, const char *flag, const char *v,
	      struct kl_err *err);

/* What a command needs beyond single options. */
int cli_check_command(const struct kl_opts *o, struct kl_err *err);

#endif
