/* kommo-lead: submit leads to Kommo CRM's Incoming leads. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "kl_cli.h"
#include "kl_crm.h"
#include "kl_http.h"
#include "kl_import.h"
#include "kl_inspect.h"
#include "kl_submit.h"
#include "kl_version.h"

static const char *env_get(const char *name)
{
	return getenv(name);
}

int main(int argc, char **argv)
{
	struct kl_opts opts;
	struct kl_err err = {0};
	struct kl_io io = {stdout, stderr, env_get};
	/* a closed stdout must not kill us silently after a lead was created */
	signal(SIGPIPE, SIG_IGN);
	int rc = kl_cli_parse(&opts, argc, argv, &err);

	if (rc) {
		kl_io_say(&io, "%s", err.msg);
		goto out;
	}
	switch (opts.cmd) {
	case KL_CMD_HELP:
		if (fputs(kl_cli_help(opts.command), stdout) == EOF)
			rc = KL_EIO;
		break;
	case KL_CMD_VERSION:
		if (printf("kommo-lead %s\n", KL_VERSION) < 0)
			rc = KL_EIO;
		break;
	default:
		if ((rc = kl_http_global_init(&err))) {
			kl_io_say(&io, "%s", err.msg);
			break;
		}
		switch (opts.cmd) {
		case KL_CMD_SUBMIT:
			rc = kl_submit_run(&opts, &io);
			break;
		case KL_CMD_IMPORT:
			rc = kl_import_run(&opts, &io);
			break;
		case KL_CMD_CHECK:
			rc = kl_inspect_check(&opts, &io);
			break;
		case KL_CMD_FIELDS:
			rc = kl_inspect_fields(&opts, &io);
			break;
		default:
			rc = kl_crm_run(&opts, &io);
		}
		kl_http_global_cleanup();
		break;
	}
out:
	if (fflush(stdout) != 0 && rc == KL_OK) {
		kl_io_say(&io, "cannot write to standard output");
		rc = KL_EIO;
	}
	kl_opts_free(&opts);
	return rc;
}
