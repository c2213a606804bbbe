/* libFuzzer target: the command line. The input is argv[1..] separated by
 * NUL bytes ("leads\0search\0Анна" is kommo-lead leads search Анна), so a
 * seed file is a command line as a shell would pass it. Built with
 * -DKL_FUZZ=ON and clang; tests/fuzz/replay.c replays the corpus. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/kl_cli.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ARGS 128

static void check_parsed(const struct kl_opts *o)
{
	if (o->cmd > KL_CMD_VERSION || o->command > KL_CMD_VERSION)
		abort();
	if (!kl_cli_help(o->command) || !kl_opts_command_name(o->command))
		abort();
	if (o->cmd == KL_CMD_HELP || o->cmd == KL_CMD_VERSION)
		return;
	if (o->cmd != o->command)
		abort();
	/* "leads" or "contacts" alone is only good for --help */
	if (o->command == KL_CMD_LEADS || o->command == KL_CMD_CONTACTS)
		abort();
	if (o->batch_size > 250) /* 0: auto */
		abort();
	if (!(o->rate >= 0 && o->rate <= 1000)) /* also refuses NaN */
		abort();
	if (o->max_retries < 0 || o->max_retries > 100)
		abort();
	if (o->timeout_ms < 0 || o->timeout_ms > 3600 * 1000)
		abort();
	if (o->progress < -1 || o->progress > 1)
		abort();
	if (o->delimiter && !strchr(",;\t", o->delimiter))
		abort();
	if (o->no_config && o->config_path)
		abort();
	if (o->ent.limit > 1000000)
		abort();
	if ((o->command == KL_CMD_LEADS_SEARCH || o->command == KL_CMD_CONTACTS_SEARCH) && !o->ent.query)
		abort();
	if (o->command == KL_CMD_LEADS_UPDATE && !o->ent.id)
		abort();
	if (o->command != KL_CMD_IMPORT && o->input)
		abort();
	for (size_t i = 0; i < o->nmaps; i++)
		if (!o->maps[i].column[0] || !o->maps[i].field[0])
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1), *copy = malloc(size + 1);
	char *argv[MAX_ARGS + 2];
	int argc = 0;
	if (!buf || !copy)
		goto out;
	memcpy(buf, data, size);
	buf[size] = '\0';
	memcpy(copy, buf, size + 1);

	argv[argc++] = "kommo-lead";
	if (size > 0) {
		/* a final NUL ends the last argument; it does not start an empty one */
		size_t n = buf[size - 1] == '\0' ? size - 1 : size;
		for (char *p = buf; argc <= MAX_ARGS;) {
			argv[argc++] = p;
			char *nul = memchr(p, '\0', n - (size_t)(p - buf) + 1);
			if ((size_t)(nul - buf) >= n)
				break;
			p = nul + 1;
		}
	}
	argv[argc] = NULL;

	struct kl_opts o;
	struct kl_err err = {0};
	int rc = kl_cli_parse(&o, argc, argv, &err);
	if (rc == KL_OK)
		check_parsed(&o);
	else if ((rc != KL_EUSAGE && rc != KL_EOSERR) || err.status != rc || !err.msg[0])
		abort(); /* a bad command line is a usage error, never an internal one */
	/* main() frees the options whether parsing succeeded or not */
	kl_opts_free(&o);
	if (memcmp(buf, copy, size + 1) != 0)
		abort(); /* argv is the caller's: read, never written */
out:
	free(buf);
	free(copy);
	return 0;
}
