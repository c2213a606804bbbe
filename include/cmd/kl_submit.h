/*
 * kl_submit: the submit command, from parsed options to printed ids.
 *
 * Options and config -> lead -> payload -> transport -> reply -> report.
 * Results go to io->out, messages for people to io->msg; the return value
 * is the exit status. It never exits.
 */
#ifndef KL_SUBMIT_H
#define KL_SUBMIT_H

#include "shared/kl_opts.h"
#include "shared/kl_io.h"

int kl_submit_run(const struct kl_opts *o, const struct kl_io *io);

#endif
