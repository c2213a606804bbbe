#include "shared/kl_io.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void kl_io_say(const struct kl_io *io, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("kommo-lead: ", io->msg);
	vfprintf(io->msg, fmt, ap);
	fputc('\n', io->msg);
	va_end(ap);
}

void kl_io_warn(void *ctx, const char *message)
{
	kl_io_say(ctx, "warning: %s", message);
}

void kl_io_log(void *ctx, const char *line)
{
	kl_io_say(ctx, "%s", line);
}

void kl_io_say_lines(const struct kl_io *io, const char *text)
{
	while (text && *text) {
		size_t n = strcspn(text, "\n");
		kl_io_say(io, "%.*s", (int)n, text);
		text += n + (text[n] == '\n');
	}
}

int kl_io_write(const struct kl_io *io, const char *text, size_t len, struct kl_err *err)
{
	if (fwrite(text, 1, len, io->out) != len || fflush(io->out) != 0)
		return kl_err_set(err, KL_EIO, "cannot write the result to standard output");
	return KL_OK;
}

int kl_io_json(const struct kl_io *io, const cJSON *v, struct kl_err *err)
{
	char *text = cJSON_PrintUnformatted(v);
	if (!text)
		return kl_err_oom(err);
	int rc = kl_io_write(io, text, strlen(text), err);
	free(text);
	return rc ? rc : kl_io_write(io, "\n", 1, err);
}
