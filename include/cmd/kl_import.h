/*
 * kl_import: the import command, CSV rows to leads in Kommo.
 *
 * Rows are streamed: read, checked, gathered into batches of --batch-size
 * valid leads, sent under the rate limit, and reported one line per row in
 * input order. Results go to io->out, messages to io->msg; the return
 * value is the exit status. It never exits.
 */
#ifndef KL_IMPORT_H
#define KL_IMPORT_H

#include "shared/kl_opts.h"
#include "shared/kl_io.h"
#include "kommo/kl_api.h"

int kl_import_run(const struct kl_opts *o, const struct kl_io *io);

#endif
