/*
 * kl_cli: the command line, parsed into what the commands need.
 *
 * Parsing never prints and never exits: it returns KL_EUSAGE with a message
 * naming the argument. Lead values are kept as given (checked later by
 * kl_lead_check); values that override configuration go into a
 * struct kl_config layer that is laid over the file and the environment.
 */
#ifndef KL_CLI_H
#define KL_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "shared/kl_opts.h"
#include "util/kl_err.h"

int kl_cli_parse(struct kl_opts *o, int argc, char **argv, struct kl_err *err);

/* One option the command line takes, as documentation and its tests need it. */
struct kl_cli_option {
	const char *name; /* "last-name": without "--" */
	char short_name;  /* 'v', or 0 */
	bool has_arg;
	unsigned cmds;    /* a bit (1u << enum kl_cmd) per command taking it; 0: every command */
};

/* The i-th option (from 0, in no particular order; an alias is an option of
 * its own); false past the last. */
bool kl_cli_option(size_t i, struct kl_cli_option *out);

/* The text of --help for a command; KL_CMD_HELP (kommo-lead --help, no
 * command named): the main help, of every command. submit's and import's
 * own list the options the option table gives them. */
const char *kl_cli_help(enum kl_cmd c);

#endif
