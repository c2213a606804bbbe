/*
 * kl_config_cmd: kommo-lead config, the configuration in force and where
 * each value came from, as git config --show-origin shows it.
 */
#ifndef KL_CONFIG_CMD_H
#define KL_CONFIG_CMD_H

#include "shared/kl_io.h"
#include "shared/kl_opts.h"

/* Prints one line per key set or defaulted ("ORIGIN\tKEY=VALUE"; --json:
 * one object per key) on io->out; the token only as set or unset. Runs no
 * token command and sends nothing. */
int kl_config_cmd_run(const struct kl_opts *o, const struct kl_io *io);

#endif
