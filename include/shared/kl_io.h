/*
 * kl_io: where a command's output goes. Results to out (stdout), messages
 * for people to msg (stderr), each line prefixed "kommo-lead: ". Commands
 * write only through these, so tests can hand them other streams.
 */
#ifndef KL_IO_H
#define KL_IO_H

#include <stddef.h>
#include <stdio.h>

#include "core/kl_config.h"
#include "util/kl_err.h"

struct kl_io {
	FILE *out;          /* results */
	FILE *msg;          /* messages for people, each line "kommo-lead: ..." */
	kl_getenv_fn getenv;
};

/* Prints one message line to io->msg with the program's prefix. */
void kl_io_say(const struct kl_io *io, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints text of one or more lines ('\n'), each as a message. */
void kl_io_say_lines(const struct kl_io *io, const char *text);

/* Callbacks that print a warning, or a verbose log line; ctx is the io. */
void kl_io_warn(void *io, const char *message);
void kl_io_log(void *io, const char *line);

/* Writes results to io->out and flushes; KL_EIO when that fails. */
int kl_io_write(const struct kl_io *io, const char *text, size_t len, struct kl_err *err);

struct cJSON;

/* Prints v as one line of compact JSON on io->out. */
int kl_io_json(const struct kl_io *io, const struct cJSON *v, struct kl_err *err);

#endif
