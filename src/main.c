/* kommo-lead: submit leads to Kommo CRM's Incoming leads. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "cli/kl_cli.h"
#include "cmd/kl_config_cmd.h"
#include "cmd/kl_crm.h"
#include "kommo/kl_http.h"
#include "cmd/kl_import.h"
#include "cmd/kl_inspect.h"
#include "cmd/kl_submit.h"
#include "util/kl_version.h"

static const char *env_get(const char *name)
{
	return getenv(name);
}

/* Opens /dev/null on standard descriptors that were closed, so that no file
 * or socket opened later takes their number (a result written "to stdout"
 * would go into it); returns whether stdout was closed. */
static bool fill_closed_fds(void)
{
	bool out_closed = false;
	for (int fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
			continue;
		out_closed |= fd == 1;
		int n = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
		if (n >= 0 && n != fd) {
			dup2(n, fd);
			close(n);
		}
	}
	return out_closed;
}

/* Whether what was printed reached stdout, or needed not to: a reader that
 * stopped early (kommo-lead --help | head) lost nothing of a help or a
 * version, as git's does not complain then. A full disk is an error, and so
 * is a closed pipe after a command that acted: its ids are lost. */
static bool wrote_stdout(enum kl_cmd cmd)
{
	if (fflush(stdout) == 0 && !ferror(stdout))
		return true;
	return errno == EPIPE && (cmd == KL_CMD_HELP || cmd == KL_CMD_VERSION);
}

int main(int argc, char **argv)
{
	struct kl_opts opts;
	struct kl_err err = {0};
	struct kl_io io = {stdout, stderr, env_get};
#ifdef __linux__
	/* the token is in memory: no core file of it, no other process reading it
	 * (/proc/PID/environ, mem) or attaching to us, as ssh-agent does */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
#endif
	/* a closed stdout must not kill us silently after a lead was created */
	signal(SIGPIPE, SIG_IGN);
	bool out_closed = fill_closed_fds();
	int rc = kl_cli_parse(&opts, argc, argv, &err);

	if (rc == KL_OK && out_closed) {
		/* the ids of what would be created could not be told: do nothing */
		kl_io_say(&io, "standard output is closed: results would be lost, so nothing was done");
		rc = KL_EIO;
		goto out;
	}

	if (rc) {
		kl_io_say(&io, "%s", err.msg);
		goto out;
	}
	switch (opts.cmd) {
	case KL_CMD_HELP: /* a failed write is told at out: */
		fputs(kl_cli_help(opts.command), stdout);
		break;
	case KL_CMD_VERSION:
		printf("kommo-lead %s\n", KL_VERSION);
		break;
	case KL_CMD_CONFIG:
		/* sends nothing: no HTTP set-up */
		rc = kl_config_cmd_run(&opts, &io);
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
	if (rc == KL_OK && !wrote_stdout(opts.cmd)) {
		kl_io_say(&io, "cannot write to standard output");
		rc = KL_EIO;
	}
	kl_opts_free(&opts);
	return rc;
}
