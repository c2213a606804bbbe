/*
 * kl_check: validation and normalisation of values from outside.
 *
 * `what` names where the value came from ("--phone", "KOMMO_PIPELINE_ID",
 * later "row 12, column \"phone\"") and starts every error message, so the
 * user sees the place, the value and what would be right. Functions that
 * hand back a normalised value store a new string in *out, owned by the
 * caller; *out is untouched on failure.
 */
#ifndef KL_CHECK_H
#define KL_CHECK_H

#include <stdbool.h>

#include "util/kl_err.h"

/* Free text: valid UTF-8, no control characters but line breaks and tabs,
 * which the person wrote (a multi-line cell). */
int kl_check_text(const char *what, const char *v, struct kl_err *err);

/* One line of text: valid UTF-8, no control characters at all. */
int kl_check_line(const char *what, const char *v, struct kl_err *err);

/* A one-line value (a name, a handle, an id): kl_check_line, then trimmed;
 * empty after trimming is an error. */
int kl_check_name(const char *what, const char *v, char **out, struct kl_err *err);

/* Free text (career, a UTM value, a custom text field): kl_check_text, then
 * trimmed; empty after trimming is an error. */
int kl_check_free_text(const char *what, const char *v, char **out, struct kl_err *err);

/* A phone number as people write it: digits, a leading + (or 00), spaces,
 * dashes of any kind, dots and parentheses between them, and an extension
 * after them ("доб. 12", "ext. 12", "x89", "#12"). A number with its
 * country code, or any number when region (ISO 3166, "RU") is given, is
 * read by libphonenumber and must be valid for its country: *out is its
 * E.164 form ("+79991234567"). Without a region, a number without a
 * country code keeps its 7 to 15 digits as written. An extension follows
 * after a space as it was written ("+79990000003 доб. 12"). */
int kl_check_phone(const char *what, const char *v, const char *region, char **out,
		   struct kl_err *err);

/* A plausible local@domain.tld, trimmed: no mailto: prefix, no spaces, no
 * dot at either end of the local part or two in a row; the domain may be
 * an international (UTF-8) one. */
int kl_check_email(const char *what, const char *v, char **out, struct kl_err *err);

/* A non-negative decimal number (income): digits with an optional fraction
 * after '.' or ','. *out is its JSON spelling: no leading zeros, '.' as the
 * separator. */
int kl_check_number(const char *what, const char *v, char **out, struct kl_err *err);

/* A whole number from min to max, digits only. */
int kl_check_uint(const char *what, const char *v, unsigned long long min,
		  unsigned long long max, unsigned long long *out, struct kl_err *err);

/* A Kommo entity id (field, pipeline, user): a positive integer. example
 * is shown in the message ("467700"). */
int kl_check_id(const char *what, const char *v, const char *example, unsigned long long *out,
		struct kl_err *err);

/* A moment: Unix seconds, DD.MM.YYYY[ HH:MM[:SS]] as Russian Excel writes
 * it (21.11.2026 10:30), or ISO 8601 (2026-11-21, 2026-11-21 10:30,
 * 2026-11-21T10:30:00Z, ...+03:00); without a zone, local time ($TZ).
 * Milliseconds are refused as such; so is a zone offset outside -12:00 to
 * +14:00, and a moment at or before 1970-01-01T00:00:00Z or after
 * 2100-01-01T00:00:00Z (KL_CHECK_TIME_MAX; Kommo takes a larger number for
 * milliseconds): *out is always from 1 to KL_CHECK_TIME_MAX, never 0, which
 * callers take for "not given". */
#define KL_CHECK_TIME_MAX 4102444800LL
int kl_check_time(const char *what, const char *v, long long *out, struct kl_err *err);

/* [a-z0-9-], not starting or ending with '-'. */
int kl_check_subdomain(const char *what, const char *v, struct kl_err *err);

/* A host name such as acme.amocrm.ru: letters, digits, '-' and '.'. */
int kl_check_domain(const char *what, const char *v, struct kl_err *err);

/* http(s)://host[:port][/path]; plain http only when host is loopback.
 * *out is the URL without a trailing '/'. */
int kl_check_base_url(const char *what, const char *v, char **out, struct kl_err *err);

/* True for localhost (any case; not "localhost."), ::1 (bracketed or not)
 * and 127.0.0.0/8 written strictly as four decimal numbers 0-255 without
 * signs or leading zeros: any other spelling (127.-0.-0.1, 0x7f.0.0.1,
 * 2130706433, 127.1) would be resolved as a name. */
bool kl_check_is_loopback(const char *host);

/* True when url (a base URL as kl_check_base_url gives it) names a loopback
 * host as kl_check_is_loopback takes it: the sandbox. */
bool kl_check_url_is_loopback(const char *url);

/* True when ip, a numeric address as the socket reports it ("127.0.0.1",
 * "::1", "::ffff:127.0.0.1"), is in 127.0.0.0/8 or is ::1. */
bool kl_check_is_loopback_addr(const char *ip);

/* A bearer token: printable ASCII, no white space. The value itself is
 * never put in the message. */
int kl_check_token(const char *what, const char *v, struct kl_err *err);

#endif
