/*
 * kl_inspect: the check and fields commands, which read the account's
 * setup (GET account, pipelines, lead and contact custom fields) and hold
 * it against the configuration.
 */
#ifndef KL_INSPECT_H
#define KL_INSPECT_H

#include "shared/kl_opts.h"
#include "shared/kl_io.h"

/* check: exit 0 only when every configured id and setting fits the account. */
int kl_inspect_check(const struct kl_opts *o, const struct kl_io *io);

/* fields: every custom field and pipeline; --env: config lines. */
int kl_inspect_fields(const struct kl_opts *o, const struct kl_io *io);

#endif
