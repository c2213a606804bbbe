#include "util/kl_err.h"

#include <stdarg.h>
#include <stdio.h>

int kl_err_set(struct kl_err *err, int status, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof err->msg, fmt, ap);
		va_end(ap);
		err->status = status;
	}
	return status;
}

int kl_err_oom(struct kl_err *err)
{
	return kl_err_set(err, KL_EOSERR, "out of memory");
}

int kl_err_as(struct kl_err *err, int status)
{
	if (err)
		err->status = status;
	return status;
}
