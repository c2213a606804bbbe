/*
 * kl_lead: one lead as the user gave it, its attributes, and their checks.
 *
 * The attribute table is the single description of every lead field: its
 * name (JSON key, CSV column), its flag with its alias and help line, how it
 * is checked, and which Kommo custom field carries it. The command line takes
 * its lead flags and their --help lines from it, and the payload builder its
 * field ids and codes; the other spellings of a CSV column are in
 * kl_columns.h.
 *
 * A struct kl_lead owns every string in it; kl_lead_free releases them.
 */
#ifndef KL_LEAD_H
#define KL_LEAD_H

#include <stdbool.h>
#include <stddef.h>

#include "core/kl_config.h"
#include "util/kl_err.h"

enum kl_attr {
	KL_ATTR_NAME,
	KL_ATTR_LAST_NAME,
	KL_ATTR_PHONE,
	KL_ATTR_EMAIL,
	KL_ATTR_TELEGRAM,
	KL_ATTR_CAREER,
	KL_ATTR_EDUCATION,
	KL_ATTR_INCOME,
	KL_ATTR_UTM_SOURCE,
	KL_ATTR_UTM_MEDIUM,
	KL_ATTR_UTM_CAMPAIGN,
	KL_ATTR_UTM_CONTENT,
	KL_ATTR_UTM_TERM,
	KL_ATTR_UTM_REFERRER,
	KL_ATTR_PRICE,
	KL_ATTR_LEAD_NAME,
	KL_ATTR_TAGS, /* comma-separated; see KL_KIND_TAGS */
	KL_ATTR_SOURCE_UID,
	KL_ATTR_REFERER,
	KL_ATTR_COUNT
};

enum kl_kind {
	KL_KIND_NAME,   /* one line, trimmed, not empty */
	KL_KIND_TEXT,   /* free text (line breaks and tabs kept), trimmed, not empty */
	KL_KIND_PHONE,  /* E.164 by libphonenumber (kl_check_phone) */
	KL_KIND_EMAIL,
	KL_KIND_NUMBER, /* a decimal number, sent as a JSON number */
	KL_KIND_PRICE,  /* a whole number, sent as a JSON number */
	KL_KIND_TAGS    /* names joined by ','; checked: each trimmed, one line,
			 * empty ones and repeats dropped (none left: unset) */
};

enum kl_entity { KL_ENTITY_NONE, KL_ENTITY_CONTACT, KL_ENTITY_LEAD };

struct kl_attr_info {
	const char *name;      /* "last_name" */
	const char *flag;      /* "--last-name" */
	enum kl_kind kind;
	enum kl_entity entity; /* the entity whose custom field carries it, if any */
	int cfg_key;           /* the config key holding that field's id, or -1 */
	const char *code;      /* field_code sent when no id is configured, or NULL */
	const char *alias;     /* a second flag for the same field ("--surname"), or NULL */
	const char *arg;       /* the value's name in --help ("NAME") */
	const char *help;      /* its --help text; '\n' between lines */
};

const struct kl_attr_info *kl_attr_info(enum kl_attr a);

/* Names a value's place in messages: "--phone", or row and column. */
typedef void (*kl_label_fn)(void *ctx, enum kl_attr a, char *buf, size_t size);

/* Another custom field, by id (--field lead:ID=VALUE). */
struct kl_custom {
	enum kl_entity entity;
	unsigned long long id;
	bool numeric; /* lead:ID:number=VALUE: sent as a JSON number */
	char *value;
	char *label; /* "--field lead:1709500" */
};

struct kl_lead {
	char *v[KL_ATTR_COUNT]; /* NULL when not given */
	struct kl_custom *custom;
	size_t ncustom;
	long long created_at; /* Unix seconds; 0: the time of sending */
	/* the country national phone numbers are read in ("RU"); "": none,
	 * then a phone needs its country code to be read (kl_check_phone) */
	char region[3];
};

void kl_lead_free(struct kl_lead *lead); /* leaves it empty; accepts NULL */

/* Makes dst (empty) a deep copy of src. */
int kl_lead_copy(struct kl_lead *dst, const struct kl_lead *src, struct kl_err *err);

/* Stores a copy of value. Setting an attribute twice is an error, but for
 * tags (KL_KIND_TAGS), which add up: "a" then "b,c" is "a,b,c". A tag with a
 * control character is refused here, naming label. */
int kl_lead_set(struct kl_lead *lead, enum kl_attr a, const char *value, const char *label,
		struct kl_err *err);

/* Parses "lead:ID=VALUE" or "contact:ID=VALUE" and adds the field; with
 * ":number" after the id ("lead:1709444:number=5000") the value is a number. */
int kl_lead_add_field_spec(struct kl_lead *lead, const char *spec, const char *label,
			   struct kl_err *err);

/* Checks one value of attribute a, named what in messages, by its kind;
 * *out: its normalised form, a new string (NULL for tags that are all empty
 * names). region: as kl_lead's, for a phone. */
int kl_attr_check(enum kl_attr a, const char *what, const char *in, const char *region, char **out,
		  struct kl_err *err);

/* Checks every value and replaces it with its normalised form; also
 * requires a name and a phone or an email. label may be NULL (flags). */
int kl_lead_check(struct kl_lead *lead, kl_label_fn label, void *ctx, struct kl_err *err);

/* True when a value for a goes into a custom field that has no field code and
 * whose id acct does not configure: such a value cannot be sent. */
bool kl_attr_needs_id(const struct kl_account *acct, enum kl_attr a);

/* Checks, without changing the lead, what only the account can tell: every
 * value that needs a field id has one (kl_attr_needs_id), and no custom field
 * is set twice, by --field and an attribute or by two --field. Fails with
 * KL_ECONFIG or KL_EDATA; label as in kl_lead_check. */
int kl_lead_fits_account(const struct kl_lead *lead, const struct kl_account *acct,
			 kl_label_fn label, void *ctx, struct kl_err *err);

/* Every check before building: kl_lead_check (phones read in the account's
 * phone region when the lead has none), then kl_lead_fits_account. A
 * lead that passes it (and has its source_uid, kl_lead_default_uid) can be
 * added to a payload, which can then fail only for memory. */
int kl_lead_check_account(struct kl_lead *lead, const struct kl_account *acct, kl_label_fn label,
			  void *ctx, struct kl_err *err);

/* When no source_uid was given: MD5 hex of "<email or phone>-<now_ms>" (the
 * integration guide's recipe); salt, when not NULL, is appended after
 * another '-' so leads made in the same millisecond differ. */
int kl_lead_default_uid(struct kl_lead *lead, long long now_ms, const char *salt,
			struct kl_err *err);

#endif
