/*
 * kl_submit: the submit command, from parsed options to printed ids.
 *
 * Options and config -> lead -> payload -> transport -> reply -> report.
 * Results go to out, messages for people to msg; the return value is the
 * exit status. It never exits.
 */
#ifndef KL_SUBMIT_H
#define KL_SUBMIT_H

#include <stdio.h>

#include "kommo/kl_api.h"
#include "cli/kl_cli.h"
#include "core/kl_config.h"

struct kl_io {
	FILE *out;          /* results */
	FILE *msg;          /* messages for people, each line "kommo-lead: ..." */
	kl_getenv_fn getenv;
};

int kl_submit_run(const struct kl_opts *o, const struct kl_io *io);

/* Prints one message line to io->msg with the program's prefix. */
void kl_io_say(const struct kl_io *io, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Callbacks that print a warning, or a verbose log line; ctx is the io. */
void kl_io_warn(void *io, const char *message);
void kl_io_log(void *io, const char *line);

/* Writes results to io->out and flushes; KL_EIO when that fails. */
int kl_io_write(const struct kl_io *io, const char *text, size_t len, struct kl_err *err);

/* Prints text of one or more lines ('\n'), each as a message. */
void kl_io_say_lines(const struct kl_io *io, const char *text);

/* Prints v as one line of compact JSON on io->out. */
int kl_io_json(const struct kl_io *io, const struct cJSON *v, struct kl_err *err);

/* Unix time in milliseconds. */
long long kl_now_ms(void);

/* Builds the layered configuration for any command: config file (unless
 * --no-config), then the environment, then --token-file, then the flags. */
int kl_submit_load_config(const struct kl_opts *o, const struct kl_io *io, struct kl_config *cfg,
			  struct kl_err *err);

/* For the commands that talk to Kommo beyond submit: loads and resolves the
 * configuration (an address and a token required) and opens a client on it,
 * at most 7 requests a second, GETs retried twice. */
int kl_submit_connect(const struct kl_opts *o, const struct kl_io *io, struct kl_config *cfg,
		      struct kl_account *acct, struct kl_api *api, struct kl_err *err);

/* The client alone, on a configuration already resolved. */
int kl_submit_open_api(const struct kl_opts *o, const struct kl_io *io, const struct kl_config *cfg,
		       const struct kl_account *acct, struct kl_api *api, struct kl_err *err);

#endif
