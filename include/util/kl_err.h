/*
 * kl_err: how every fallible function in kommo-lead reports failure.
 *
 * A function that can fail returns an exit status from sysexits.h (0 on
 * success) and, on failure, fills a struct kl_err with a sentence a user can
 * act on. Only main.c exits. Only the commands (src/cmd) and main.c print,
 * and only through kl_io (shared/kl_io.h): results to stdout, messages to
 * stderr; the layers below them return what happened and never print.
 */
#ifndef KL_ERR_H
#define KL_ERR_H

#include <stddef.h>
#include <sysexits.h>

/* Exit statuses used by the tool; every one is documented in kommo-lead(1). */
enum {
	KL_OK = 0,
	KL_ENOMATCH = 1,                  /* search --first found nothing (as grep's 1) */
	KL_EUSAGE = EX_USAGE,             /* 64: bad command line */
	KL_EDATA = EX_DATAERR,            /* 65: invalid lead data, or Kommo refused it */
	KL_ENOINPUT = EX_NOINPUT,         /* 66: the file to import cannot be opened */
	KL_ETLS = EX_NOHOST,              /* 68: Kommo's certificate could not be verified */
	KL_EUNAVAILABLE = EX_UNAVAILABLE, /* 69: Kommo unreachable or answered 5xx */
	KL_ESOFTWARE = EX_SOFTWARE,       /* 70: internal error */
	KL_EOSERR = EX_OSERR,             /* 71: out of memory or a system call failed */
	KL_EIO = EX_IOERR,                /* 74: writing the result failed */
	KL_ETEMPFAIL = EX_TEMPFAIL,       /* 75: try again later: 429, timeout */
	KL_EPROTOCOL = EX_PROTOCOL,       /* 76: Kommo's reply could not be understood */
	KL_ENOPERM = EX_NOPERM,           /* 77: 401, 402, 403 */
	KL_ECONFIG = EX_CONFIG            /* 78: configuration error */
};

struct kl_err {
	int status;
	char msg[1024];
};

/* Sets err (which may be NULL) and returns status, so callers can write
 * `return kl_err_set(err, KL_EDATA, "...", ...);`. */
int kl_err_set(struct kl_err *err, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Keeps err's message and gives it another status; returns status. */
int kl_err_as(struct kl_err *err, int status);

/* The out-of-memory error, used everywhere an allocation fails. */
int kl_err_oom(struct kl_err *err);

#endif
