/*
 * kl_opts: what the command line asked for, as the commands read it. The
 * command line (cli) fills it; the commands below it read it: it lives in
 * the shared layer so that neither reaches into the other's. A struct
 * kl_opts owns every string in it; kl_opts_free releases them.
 */
#ifndef KL_OPTS_H
#define KL_OPTS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/kl_columns.h"
#include "core/kl_config.h"
#include "core/kl_lead.h"

enum kl_cmd {
	KL_CMD_SUBMIT,
	KL_CMD_IMPORT,
	KL_CMD_CHECK,
	KL_CMD_FIELDS,
	KL_CMD_LEADS,           /* "leads" without a subcommand: only with --help */
	KL_CMD_LEADS_SEARCH,
	KL_CMD_LEADS_CREATE,
	KL_CMD_LEADS_UPDATE,
	KL_CMD_CONTACTS,        /* "contacts" without a subcommand: only with --help */
	KL_CMD_CONTACTS_SEARCH,
	KL_CMD_CONTACTS_CREATE,
	KL_CMD_CONFIG,          /* the configuration in force, and each value's origin */
	KL_CMD_HELP,
	KL_CMD_VERSION
};

/* "leads create" for KL_CMD_LEADS_CREATE. */
const char *kl_opts_command_name(enum kl_cmd c);

/* What leads, contacts, check and fields were given. */
struct kl_entity_opts {
	char *name, *first_name, *last_name, *phone, *email; /* as given */
	bool has_price;
	unsigned long long price;
	unsigned long long status, responsible, created_by; /* 0: not given */
	unsigned long long id;  /* leads update ID */
	struct kl_lead fields;  /* --field: only .custom is used */
	char *query;            /* search QUERY (its words joined by spaces) */
	unsigned long limit;    /* search --limit; 0: the default */
	bool first;             /* search --first: only the first match's id */
	unsigned long long *contacts; /* leads create --contact, in the order given */
	size_t ncontacts;
	bool env;               /* fields --env */
};

struct kl_opts {
	enum kl_cmd cmd;     /* what to do: a command, or help or version */
	enum kl_cmd command; /* the command named */
	struct kl_entity_opts ent;
	bool skip_existing;  /* submit, import: --skip-existing */
	struct kl_lead lead; /* submit: the lead; import: defaults for every row */
	struct kl_config flags; /* --pipeline, --source-name, --form-* */
	char *config_path;      /* --config */
	bool no_config;
	char *token_file;       /* "-": standard input */
	char *token_command;    /* --token-command: run by /bin/sh -c */
	bool dry_run, json;
	int verbose;            /* -v given how many times: 2 shows bodies */
	long timeout_ms; /* 0: the default */

	/* import */
	char *input;            /* FILE; NULL or "-": standard input */
	int format;             /* enum kl_input_format: --format */
	char delimiter;         /* 0: guessed */
	int encoding;           /* enum kl_csv_encoding: --encoding; 0: auto */
	char *columns;          /* --columns, for input without a header */
	struct kl_colmap *maps; /* --map COLUMN=FIELD; strings owned */
	size_t nmaps;
	bool ignore_unknown;
	unsigned batch_size;    /* 1 to 250; 0: auto (the default) */
	double rate;            /* requests per second; default 7; 0: no limit */
	int max_retries;        /* default 5 */
	char *rejects;          /* --rejects FILE */
	char *results;          /* --results FILE */
	char *state;            /* --state FILE */
	int progress;           /* -1: when stderr is a terminal; 0 off; 1 on */
};

/* import --format; auto: JSON Lines for a .jsonl or .ndjson FILE, else CSV */
enum kl_input_format { KL_FORMAT_AUTO, KL_FORMAT_CSV, KL_FORMAT_JSONL };

void kl_opts_free(struct kl_opts *o); /* accepts NULL */

#endif
