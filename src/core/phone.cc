/* The one file that sees libphonenumber: C++ here, C everywhere else, so no
 * exception may leave it. */
#include "core/kl_phone.h"

#include <cstdio>
#include <cstring>
#include <new>
#include <string>

#include <phonenumbers/logger.h>
#include <phonenumbers/phonenumberutil.h>

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

static PhoneNumberUtil *util()
{
	/* its default logger writes to stdout; nothing below main.c may print */
	static PhoneNumberUtil *u = [] {
		PhoneNumberUtil *p = PhoneNumberUtil::GetInstance();
		p->SetLogger(new i18n::phonenumbers::NullLogger());
		return p;
	}();
	return u;
}

static void name_country(PhoneNumberUtil *u, const PhoneNumber &n, char country[16])
{
	std::string r;
	u->GetRegionCodeForNumber(n, &r);
	if (r.empty() || r == "ZZ")
		u->GetRegionCodeForCountryCode(n.country_code(), &r);
	if (r == "ZZ")
		r.clear();
	std::snprintf(country, 16, "%s%s+%d", r.c_str(), r.empty() ? "" : " ", n.country_code());
}

static enum kl_phone_fault length_fault(PhoneNumberUtil::ValidationResult v)
{
	switch (v) {
	case PhoneNumberUtil::INVALID_COUNTRY_CODE:
		return KL_PHONE_COUNTRY;
	case PhoneNumberUtil::TOO_SHORT:
		return KL_PHONE_TOO_SHORT;
	case PhoneNumberUtil::TOO_LONG:
		return KL_PHONE_TOO_LONG;
	case PhoneNumberUtil::INVALID_LENGTH:
		return KL_PHONE_LENGTH;
	default:
		return KL_PHONE_INVALID;
	}
}

static enum kl_phone_fault e164(const char *number, const char *region, char out[KL_PHONE_E164_SIZE],
				char country[16])
{
	PhoneNumberUtil *u = util();
	PhoneNumber n;
	country[0] = '\0';
	/* "ZZ" (no region) takes only numbers with their country code */
	std::string reg = region && *region ? region : "ZZ";
	switch (u->Parse(number, reg, &n)) {
	case PhoneNumberUtil::NO_PARSING_ERROR:
		break;
	case PhoneNumberUtil::INVALID_COUNTRY_CODE_ERROR:
		return KL_PHONE_COUNTRY;
	case PhoneNumberUtil::TOO_SHORT_NSN:
	case PhoneNumberUtil::TOO_SHORT_AFTER_IDD:
		return KL_PHONE_TOO_SHORT;
	case PhoneNumberUtil::TOO_LONG_NSN:
		return KL_PHONE_TOO_LONG;
	default:
		return KL_PHONE_NOT_A_NUMBER;
	}
	name_country(u, n, country);
	PhoneNumberUtil::ValidationResult v = u->IsPossibleNumberWithReason(n);
	if (v != PhoneNumberUtil::IS_POSSIBLE)
		return length_fault(v);
	if (!u->IsValidNumber(n))
		return KL_PHONE_INVALID;
	std::string s;
	u->Format(n, PhoneNumberUtil::E164, &s);
	if (s.size() >= KL_PHONE_E164_SIZE)
		return KL_PHONE_TOO_LONG;
	std::memcpy(out, s.c_str(), s.size() + 1);
	return KL_PHONE_OK;
}

extern "C" enum kl_phone_fault kl_phone_e164(const char *number, const char *region,
					     char out[KL_PHONE_E164_SIZE], char country[16])
{
	try {
		return e164(number, region, out, country);
	} catch (const std::bad_alloc &) {
		return KL_PHONE_NOMEM;
	} catch (...) {
		return KL_PHONE_NOT_A_NUMBER;
	}
}

extern "C" bool kl_phone_region_known(const char *region)
{
	try {
		/* 0 for a region it does not know, "ZZ" (unknown) among them */
		return region && util()->GetCountryCodeForRegion(region) != 0;
	} catch (...) {
		return false;
	}
}
