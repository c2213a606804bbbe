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

#include "kl_columns.h"
#include "kl_config.h"
#include "kl_err.h"
#include "kl_lead.h"

enum kl_cmd { KL_CMD_SUBMIT, KL_CMD_IMPORT, KL_CMD_HELP, KL_CMD_VERSION };

struct kl_opts {
	enum kl_cmd cmd;     /* what to do: a command, or help or version */
	enum kl_cmd command; /* the command named (submit or import) */
	struct kl_lead lead; /* submit: the lead; import: defaults for every row */
	struct kl_config flags; /* --pipeline, --source-name, --form-* */
	char *config_path;      /* --config */
	bool no_config;
	char *token_file;
	bool dry_run, json, verbose;
	long timeout_ms; /* 0: the default */

	/* import */
	char *input;            /* FILE; NULL or "-": standard input */
	char delimiter;         /* 0: guessed */
	bool cp1251;            /* --encoding cp1251 */
	char *columns;          /* --columns, for input without a header */
	struct kl_colmap *maps; /* --map COLUMN=FIELD; strings owned */
	size_t nmaps;
	bool ignore_unknown;
	unsigned batch_size;    /* default 50, at most 250 */
	double rate;            /* requests per second; default 7; 0: no limit */
	int max_retries;        /* default 5 */
	char *rejects;          /* --rejects FILE */
	char *state;            /* --state FILE */
	int progress;           /* -1: when stderr is a terminal; 0 off; 1 on */
};

int kl_cli_parse(struct kl_opts *o, int argc, char **argv, struct kl_err *err);
void kl_opts_free(struct kl_opts *o); /* accepts NULL */

/* The text of --help. */
const char *kl_cli_help(void);

#endif
