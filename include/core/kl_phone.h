/*
 * kl_phone: phone numbers as libphonenumber reads them (the only user of
 * libphonenumber; C++ behind this C interface).
 *
 * It knows numbers, not text: the caller (kl_check_phone) takes the
 * separators and an extension off what the person typed and hands over the
 * digits, with a leading '+' when the number is international.
 */
#ifndef KL_PHONE_H
#define KL_PHONE_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

enum kl_phone_fault {
	KL_PHONE_OK,
	KL_PHONE_NOMEM,
	KL_PHONE_NOT_A_NUMBER, /* libphonenumber cannot read it at all */
	KL_PHONE_COUNTRY,      /* no country has the calling code written */
	KL_PHONE_TOO_SHORT,
	KL_PHONE_TOO_LONG,
	KL_PHONE_LENGTH,       /* between lengths the country uses */
	KL_PHONE_INVALID       /* a possible length, but no such area or mobile code */
};

/* Room for "+" and 15 digits, and a NUL. */
#define KL_PHONE_E164_SIZE 17

/* number: "+" and digits, or digits alone, which are a national number of
 * region (an ISO 3166 code such as "RU"). On KL_PHONE_OK, e164 holds the
 * international form ("+79991234567"). country gets, whenever the country is
 * known, its region and calling code ("RU +7"), for messages. */
enum kl_phone_fault kl_phone_e164(const char *number, const char *region, char e164[KL_PHONE_E164_SIZE],
				  char country[16]);

/* True when libphonenumber knows region ("RU", "DE"; upper case). */
bool kl_phone_region_known(const char *region);

#ifdef __cplusplus
}
#endif

#endif
