/* The option table and the conversion of each option's value into struct
 * kl_opts; what each command needs beyond single options. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli_int.h"
#include "core/kl_check.h"
#include "core/kl_csv.h"
#include "util/kl_str.h"


/* Which commands take an option. */
enum {
	S = 1 << KL_CMD_SUBMIT,
	I = 1 << KL_CMD_IMPORT,
	K = 1 << KL_CMD_CHECK,
	F = 1 << KL_CMD_FIELDS,
	LS = 1 << KL_CMD_LEADS_SEARCH,
	LC = 1 << KL_CMD_LEADS_CREATE,
	LU = 1 << KL_CMD_LEADS_UPDATE,
	CS = 1 << KL_CMD_CONTACTS_SEARCH,
	CC = 1 << KL_CMD_CONTACTS_CREATE,
	A = S | I,             /* a lead for Incoming leads */
	ENT = LC | LU | CC,    /* an entity made or changed directly */
	ANY = 0
};

/* Sorted by name. The lead attributes' flags are in kl_attr_info. */
static const struct opt opts[] = {
	{"batch-size", 0, true, O_BATCH_SIZE, 0, I},
	{"cacert", 0, true, O_CACERT, 0, ANY},
	{"columns", 0, true, O_COLUMNS, 0, I},
	{"config", 0, true, O_CONFIG, 0, ANY},
	{"contact", 0, true, O_CONTACT, 0, LC},
	{"created-by", 0, true, O_CREATED_BY, 0, CC},
	{"delimiter", 0, true, O_DELIMITER, 0, I},
	{"dry-run", 0, false, O_DRY_RUN, 0, A | ENT},
	{"encoding", 0, true, O_ENCODING, 0, I},
	{"env", 0, false, O_ENV, 0, F},
	{"field", 0, true, O_FIELD, 0, A | LC | LU},
	{"first", 0, false, O_FIRST, 0, LS | CS},
	{"first-name", 0, true, O_FIRST_NAME, 0, CC},
	{"form-id", 0, true, O_FORM_ID, 0, A},
	{"form-name", 0, true, O_FORM_NAME, 0, A},
	{"form-page", 0, true, O_FORM_PAGE, 0, A},
	{"format", 0, true, O_FORMAT, 0, I},
	{"help", 'h', false, O_HELP, 0, ANY},
	{"ignore-unknown-columns", 0, false, O_IGNORE_UNKNOWN, 0, I},
	{"json", 0, false, O_JSON, 0, ANY},
	{"limit", 0, true, O_LIMIT, 0, LS | CS},
	{"map", 0, true, O_MAP, 0, I},
	{"max-retries", 0, true, O_MAX_RETRIES, 0, I},
	{"no-config", 0, false, O_NO_CONFIG, 0, ANY},
	{"no-progress", 0, false, O_NO_PROGRESS, 0, I},
	{"phone-region", 0, true, O_PHONE_REGION, 0, A | CC},
	{"pipeline", 0, true, O_PIPELINE, 0, A | K | LC | LU},
	{"progress", 0, false, O_PROGRESS, 0, I},
	{"rate", 0, true, O_RATE, 0, I},
	{"rejects", 0, true, O_REJECTS, 0, I},
	{"responsible", 0, true, O_RESPONSIBLE, 0, ENT},
	{"results", 0, true, O_RESULTS, 0, I},
	{"skip-existing", 0, false, O_SKIP_EXISTING, 0, A},
	{"source-name", 0, true, O_SOURCE_NAME, 0, A},
	{"state", 0, true, O_STATE, 0, I},
	{"status", 0, true, O_STATUS, 0, LC | LU},
	{"timeout", 0, true, O_TIMEOUT, 0, ANY},
	{"token-command", 0, true, O_TOKEN_COMMAND, 0, ANY},
	{"token-file", 0, true, O_TOKEN_FILE, 0, ANY},
	{"verbose", 'v', false, O_VERBOSE, 0, ANY},
	{"version", 'V', false, O_VERSION, 0, ANY},
};

#define NOPTS (sizeof opts / sizeof opts[0])

/* Which commands take a lead attribute's flag (and its alias). */
static unsigned attr_cmds(enum kl_attr a)
{
	switch (a) {
	case KL_ATTR_NAME:
		return A | ENT;
	case KL_ATTR_LAST_NAME:
	case KL_ATTR_PHONE:
	case KL_ATTR_EMAIL:
		return A | CC;
	case KL_ATTR_PRICE:
	case KL_ATTR_CAREER: /* the lead's own fields: what leads create and update change */
	case KL_ATTR_EDUCATION:
	case KL_ATTR_INCOME:
	case KL_ATTR_UTM_SOURCE:
	case KL_ATTR_UTM_MEDIUM:
	case KL_ATTR_UTM_CAMPAIGN:
	case KL_ATTR_UTM_CONTENT:
	case KL_ATTR_UTM_TERM:
	case KL_ATTR_UTM_REFERRER:
		return A | LC | LU;
	case KL_ATTR_SOURCE_UID:
		return S;
	default:
		return A;
	}
}

static struct opt attr_opt(enum kl_attr a, const char *flag)
{
	return (struct opt){flag + 2, 0, true, O_ATTR, (int)a, attr_cmds(a)};
}

bool cli_opt_at(size_t i, struct opt *out)
{
	if (i < NOPTS) {
		*out = opts[i];
		return true;
	}
	i -= NOPTS;
	for (int a = 0; a < KL_ATTR_COUNT; a++) {
		const struct kl_attr_info *ai = kl_attr_info(a);
		if (i == 0) {
			*out = attr_opt(a, ai->flag);
			return true;
		}
		i--;
		if (ai->alias && i == 0) {
			*out = attr_opt(a, ai->alias);
			return true;
		}
		if (ai->alias)
			i--;
	}
	return false;
}

bool kl_cli_option(size_t i, struct kl_cli_option *out)
{
	struct opt d;
	if (!cli_opt_at(i, &d))
		return false;
	*out = (struct kl_cli_option){d.name, d.short_name, d.has_arg, d.cmds};
	return true;
}

static int cmp_opt(const void *key, const void *elem)
{
	return strcmp(key, ((const struct opt *)elem)->name);
}

bool cli_find_long(const char *name, struct opt *out)
{
	const struct opt *d = bsearch(name, opts, NOPTS, sizeof opts[0], cmp_opt);
	if (d) {
		*out = *d;
		return true;
	}
	for (int a = 0; a < KL_ATTR_COUNT; a++) {
		const struct kl_attr_info *ai = kl_attr_info(a);
		if (strcmp(name, ai->flag + 2) == 0 || (ai->alias && strcmp(name, ai->alias + 2) == 0)) {
			*out = attr_opt(a, strcmp(name, ai->flag + 2) == 0 ? ai->flag : ai->alias);
			return true;
		}
	}
	return false;
}

bool cli_find_short(char c, struct opt *out)
{
	for (size_t k = 0; k < NOPTS; k++)
		if (opts[k].short_name == c) {
			*out = opts[k];
			return true;
		}
	return false;
}

bool cli_is_option(const char *arg)
{
	struct opt d;
	if (arg[0] != '-')
		return false;
	if (arg[1] != '-')
		return arg[1] && !arg[2] && cli_find_short(arg[1], &d);
	char name[64];
	snprintf(name, sizeof name, "%.*s", (int)strcspn(arg + 2, "="), arg + 2);
	return cli_find_long(name, &d);
}

int cli_unknown_option(const char *arg, struct kl_err *err)
{
	char qbuf[256];
	char name[64];
	char shown[80];
	/* only the name is shown: the value may be a secret (--token=...) */
	snprintf(shown, sizeof shown, "%.*s", (int)strcspn(arg, "="), arg);
	if (strcmp(shown, "--token") == 0 || strcmp(shown, "--api-token") == 0)
		return kl_err_set(err, KL_EUSAGE,
				  "there is no option that takes the token itself (it would show in the process list): use --token-file FILE, --token-command CMD, KOMMO_API_TOKEN in the environment, or the config file");
	arg = shown;
	const char *start = arg + strspn(arg, "-");
	snprintf(name, sizeof name, "%.*s", (int)strcspn(start, "="), start);
	for (char *c = name; *c; c++)
		if (*c == '_')
			*c = '-';
	/* the nearest; among as near ones the first by name, whichever table it is in */
	const char *best = NULL;
	size_t bd = 3;
	struct opt d;
	for (size_t i = 0; cli_opt_at(i, &d); i++) {
		size_t dist = kl_str_distance(name, d.name);
		if (dist < bd || (dist == bd && best && strcmp(d.name, best) < 0))
			bd = dist, best = d.name;
	}
	if (best)
		return kl_err_set(err, KL_EUSAGE, "unknown option %s (did you mean --%s?)",
				  kl_str_quote(arg, qbuf, sizeof qbuf), best);
	return kl_err_set(err, KL_EUSAGE, "unknown option %s (see kommo-lead --help)",
			  kl_str_quote(arg, qbuf, sizeof qbuf));
}

static int set_flag_config(struct kl_opts *o, enum kl_cfg_key key, const char *flag,
			   const char *value, struct kl_err *err)
{
	if (o->flags.value[key])
		return kl_err_set(err, KL_EUSAGE, "%s given twice", flag);
	return kl_config_set(&o->flags, key, value, flag, err);
}

static int set_path(char **dst, const char *flag, const char *value, struct kl_err *err)
{
	if (*dst)
		return kl_err_set(err, KL_EUSAGE, "%s given twice", flag);
	if (!*value)
		return kl_err_set(err, KL_EUSAGE, "%s needs a file name", flag);
	return (*dst = strdup(value)) ? KL_OK : kl_err_oom(err);
}

static int parse_timeout(struct kl_opts *o, const char *v, struct kl_err *err)
{
	char qbuf[256];
	char *num = NULL;
	if (o->timeout_ms)
		return kl_err_set(err, KL_EUSAGE, "--timeout given twice");
	if (kl_check_number("--timeout", v, &num, NULL))
		return kl_err_set(err, KL_EUSAGE, "--timeout: %s is not a number of seconds, e.g. 30 or 2.5",
				  kl_str_quote(v, qbuf, sizeof qbuf));
	double secs = strtod(num, NULL);
	free(num);
	if (secs < 0.001 || secs > 3600) {
		return kl_err_set(err, KL_EUSAGE, "--timeout: %s is out of range: give 0.001 to 3600 seconds",
				  kl_str_quote(v, qbuf, sizeof qbuf));
	}
	o->timeout_ms = (long)(secs * 1000 + 0.5);
	return KL_OK;
}

static bool is_entity_cmd(enum kl_cmd c)
{
	return c == KL_CMD_LEADS_CREATE || c == KL_CMD_LEADS_UPDATE || c == KL_CMD_CONTACTS_CREATE;
}

static int set_id(unsigned long long *dst, const char *flag, const char *v, const char *example,
		  struct kl_err *err)
{
	if (*dst)
		return kl_err_set(err, KL_EUSAGE, "%s given twice", flag);
	return kl_check_id(flag, v, example, dst, err) ? kl_err_as(err, KL_EUSAGE) : KL_OK;
}

/* A lead attribute's value into lead. */
static int set_attr(struct kl_lead *lead, const struct opt *d, const char *flag, const char *v,
		    struct kl_err *err)
{
	/* --source and --utm-source are one field, as are --surname and --last-name */
	bool aliased = kl_attr_info(d->attr)->alias != NULL;
	int rc = kl_lead_set(lead, d->attr, v, flag, err);
	if (rc == KL_EUSAGE && aliased)
		return kl_err_set(err, KL_EUSAGE, "%s given twice (counting its alias); a lead takes one",
				  kl_attr_info(d->attr)->flag);
	return rc;
}

/* leads create --contact ID: repeatable, each contact once. */
static int add_contact(struct kl_entity_opts *e, const char *flag, const char *v, struct kl_err *err)
{
	unsigned long long id;
	if (kl_check_id(flag, v, "7654321", &id, err))
		return kl_err_as(err, KL_EUSAGE);
	for (size_t i = 0; i < e->ncontacts; i++)
		if (e->contacts[i] == id)
			return kl_err_set(err, KL_EUSAGE, "--contact %llu given twice", id);
	unsigned long long *c = realloc(e->contacts, (e->ncontacts + 1) * sizeof *c);
	if (!c)
		return kl_err_oom(err);
	e->contacts = c;
	c[e->ncontacts++] = id;
	return KL_OK;
}

/* A lead attribute's flag given to leads create/update or contacts create. */
static int apply_entity(struct kl_opts *o, const struct opt *d, const char *flag, const char *v,
			struct kl_err *err)
{
	struct kl_entity_opts *e = &o->ent;
	char **dst = NULL;
	if (d->id == O_FIELD) {
		char qbuf[256];
		if (strncmp(v, "contact:", 8) == 0)
			return kl_err_set(err, KL_EUSAGE, "--field %s: %s takes lead fields only",
					  kl_str_quote(v, qbuf, sizeof qbuf), kl_opts_command_name(o->command));
		char *spec = strncmp(v, "lead:", 5) == 0 ? strdup(v) : kl_str_printf("lead:%s", v);
		if (!spec)
			return kl_err_oom(err);
		int rc = kl_lead_add_field_spec(&e->fields, spec, "--field", err);
		free(spec);
		if (rc == KL_EUSAGE || rc == KL_EDATA)
			return kl_err_set(err, KL_EUSAGE, "--field %s: expected ID=VALUE (or ID:number=VALUE), e.g. --field 488804=Инженер",
					  kl_str_quote(v, qbuf, sizeof qbuf));
		return rc;
	}
	switch (d->attr) {
	case KL_ATTR_NAME:
		dst = &e->name;
		break;
	case KL_ATTR_LAST_NAME:
		dst = &e->last_name;
		break;
	case KL_ATTR_PHONE:
		dst = &e->phone;
		break;
	case KL_ATTR_EMAIL:
		dst = &e->email;
		break;
	case KL_ATTR_PRICE:
		if (e->has_price)
			return kl_err_set(err, KL_EUSAGE, "--price given twice");
		if (kl_check_uint(flag, v, 0, 9007199254740991ULL, &e->price, err))
			return kl_err_as(err, KL_EUSAGE);
		e->has_price = true;
		return KL_OK;
	default:
		/* the lead's custom fields (career, income, UTM): checked and sent as submit's */
		if (kl_attr_info(d->attr)->entity == KL_ENTITY_LEAD)
			return set_attr(&e->fields, d, flag, v, err);
		return kl_err_set(err, KL_ESOFTWARE, "option %s has no handler for %s", flag,
				  kl_opts_command_name(o->command));
	}
	if (*dst)
		return kl_err_set(err, KL_EUSAGE, "%s given twice (counting its alias)", flag);
	return (*dst = strdup(v)) ? KL_OK : kl_err_oom(err);
}

/* The options of import alone. */
/* How the import reads its input: --delimiter, --encoding, --format. */
static int apply_dialect(struct kl_opts *o, const struct opt *d, const char *v, struct kl_err *err)
{
	switch (d->id) {
	case O_DELIMITER:
		if (strcmp(v, ",") == 0 || strcmp(v, ";") == 0)
			o->delimiter = v[0];
		else if (strcmp(v, "\t") == 0 || strcmp(v, "\\t") == 0 || strcmp(v, "tab") == 0)
			o->delimiter = '\t';
		else if (strcmp(v, "auto") == 0)
			o->delimiter = 0;
		else {
			char qbuf[256];
			return kl_err_set(err, KL_EUSAGE, "--delimiter: %s: use ',', ';', '\\t' (or tab) or auto",
					  kl_str_quote(v, qbuf, sizeof qbuf));
		}
		return KL_OK;
	case O_ENCODING:
		if (strcasecmp(v, "auto") == 0)
			o->encoding = KL_CSV_AUTO;
		else if (strcasecmp(v, "utf-8") == 0 || strcasecmp(v, "utf8") == 0)
			o->encoding = KL_CSV_UTF8;
		else if (strcasecmp(v, "cp1251") == 0 || strcasecmp(v, "windows-1251") == 0)
			o->encoding = KL_CSV_CP1251;
		else {
			char qbuf[256];
			return kl_err_set(err, KL_EUSAGE, "--encoding: %s: use auto (the default), utf-8 or cp1251",
					  kl_str_quote(v, qbuf, sizeof qbuf));
		}
		return KL_OK;
	case O_FORMAT:
		if (strcmp(v, "auto") == 0)
			o->format = KL_FORMAT_AUTO;
		else if (strcmp(v, "csv") == 0)
			o->format = KL_FORMAT_CSV;
		else if (strcmp(v, "jsonl") == 0 || strcmp(v, "ndjson") == 0)
			o->format = KL_FORMAT_JSONL;
		else {
			char qbuf[256];
			return kl_err_set(err, KL_EUSAGE, "--format: %s: use auto (the default), csv or jsonl",
					  kl_str_quote(v, qbuf, sizeof qbuf));
		}
		return KL_OK;
	default:
		return kl_err_set(err, KL_ESOFTWARE, "option --%s has no handler", d->name);
	}
}

static int apply_import(struct kl_opts *o, const struct opt *d, const char *flag, const char *v,
			struct kl_err *err)
{
	switch (d->id) {
	case O_BATCH_SIZE: {
		unsigned long long n;
		if (strcmp(v, "auto") == 0) {
			o->batch_size = 0;
			return KL_OK;
		}
		if (kl_check_uint(flag, v, 1, 250, &n, err)) {
			char m[sizeof err->msg];
			snprintf(m, sizeof m, "%s", err->msg);
			return kl_err_set(err, KL_EUSAGE, "%.900s, or auto", m);
		}
		o->batch_size = (unsigned)n;
		return KL_OK;
	}
	case O_MAX_RETRIES: {
		unsigned long long n;
		if (kl_check_uint(flag, v, 0, 100, &n, err))
			return kl_err_as(err, KL_EUSAGE);
		o->max_retries = (int)n;
		return KL_OK;
	}
	case O_RATE: {
		char *num = NULL;
		char qbuf[256];
		if (kl_check_number(flag, v, &num, NULL))
			return kl_err_set(err, KL_EUSAGE, "--rate: %s is not a number of requests per second, e.g. 7 or 0.5 (0: no limit)",
					  kl_str_quote(v, qbuf, sizeof qbuf));
		o->rate = strtod(num, NULL);
		free(num);
		if (o->rate > 1000)
			return kl_err_set(err, KL_EUSAGE, "--rate: at most 1000 requests per second (Kommo allows 7)");
		return KL_OK;
	}
	case O_DELIMITER:
	case O_ENCODING:
	case O_FORMAT:
		return apply_dialect(o, d, v, err);
	case O_COLUMNS:
		return set_path(&o->columns, flag, v, err);
	case O_REJECTS:
		return set_path(&o->rejects, flag, v, err);
	case O_RESULTS:
		return set_path(&o->results, flag, v, err);
	case O_STATE:
		return set_path(&o->state, flag, v, err);
	case O_IGNORE_UNKNOWN:
		o->ignore_unknown = true;
		return KL_OK;
	case O_PROGRESS:
		o->progress = 1;
		return KL_OK;
	case O_NO_PROGRESS:
		o->progress = 0;
		return KL_OK;
	case O_MAP: {
		char qbuf[256];
		const char *eq = strchr(v, '=');
		if (!eq || eq == v || !eq[1])
			return kl_err_set(err, KL_EUSAGE, "--map %s: expected COLUMN=FIELD, e.g. --map Телефон=phone",
					  kl_str_quote(v, qbuf, sizeof qbuf));
		struct kl_colmap *m = realloc(o->maps, (o->nmaps + 1) * sizeof *m);
		if (!m)
			return kl_err_oom(err);
		o->maps = m;
		m[o->nmaps].column = strndup(v, (size_t)(eq - v));
		m[o->nmaps].field = strdup(eq + 1);
		o->nmaps++;
		if (!m[o->nmaps - 1].column || !m[o->nmaps - 1].field)
			return kl_err_oom(err);
		return KL_OK;
	}
	default:
		return kl_err_set(err, KL_ESOFTWARE, "option %s has no handler", flag);
	}
}

/* Options whose empty value means "not given", as an empty cell or an
 * empty config value does: a script fills --last-name "$LAST" whether or
 * not it has one. */
static bool blank_is_unset(enum opt_id id, const char *v)
{
	static const enum opt_id ids[] = {O_ATTR,      O_FIRST_NAME, O_PIPELINE,  O_PHONE_REGION,
					  O_SOURCE_NAME, O_FORM_ID,  O_FORM_NAME, O_FORM_PAGE};
	if (v[strspn(v, " \t")] != '\0')
		return false;
	for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
		if (ids[i] == id)
			return true;
	return false;
}

int cli_apply(struct kl_opts *o, const struct opt *d, const char *flag, const char *v,
	      struct kl_err *err)
{
	if (d->has_arg && blank_is_unset(d->id, v))
		return KL_OK;
	if ((d->id == O_ATTR || d->id == O_FIELD) && is_entity_cmd(o->command))
		return apply_entity(o, d, flag, v, err);
	switch (d->id) {
	case O_FIRST_NAME:
		if (o->ent.first_name)
			return kl_err_set(err, KL_EUSAGE, "--first-name given twice");
		return (o->ent.first_name = strdup(v)) ? KL_OK : kl_err_oom(err);
	case O_STATUS:
		return set_id(&o->ent.status, flag, v, "72000002", err);
	case O_RESPONSIBLE:
		return set_id(&o->ent.responsible, flag, v, "11000001", err);
	case O_CREATED_BY:
		return set_id(&o->ent.created_by, flag, v, "11000001", err);
	case O_LIMIT: {
		unsigned long long n;
		if (kl_check_uint(flag, v, 1, 1000000, &n, err))
			return kl_err_as(err, KL_EUSAGE);
		o->ent.limit = (unsigned long)n;
		return KL_OK;
	}
	case O_ENV:
		o->ent.env = true;
		return KL_OK;
	case O_SKIP_EXISTING:
		o->skip_existing = true;
		return KL_OK;
	case O_ATTR:
		return set_attr(&o->lead, d, flag, v, err);
	case O_CONTACT:
		return add_contact(&o->ent, flag, v, err);
	case O_FIRST:
		o->ent.first = true;
		return KL_OK;
	case O_FIELD:
		return kl_lead_add_field_spec(&o->lead, v, "--field", err);
	case O_CONFIG:
		return set_path(&o->config_path, flag, v, err);
	case O_TOKEN_FILE:
		if (o->token_command)
			return kl_err_set(err, KL_EUSAGE, "--token-file and --token-command are two sources of the token: give one");
		return set_path(&o->token_file, flag, v, err);
	case O_TOKEN_COMMAND:
		if (o->token_file)
			return kl_err_set(err, KL_EUSAGE, "--token-file and --token-command are two sources of the token: give one");
		if (o->token_command)
			return kl_err_set(err, KL_EUSAGE, "--token-command given twice");
		if (!*v)
			return kl_err_set(err, KL_EUSAGE, "--token-command needs a command, e.g. --token-command 'pass show kommo'");
		return (o->token_command = strdup(v)) ? KL_OK : kl_err_oom(err);
	case O_NO_CONFIG:
		o->no_config = true;
		return KL_OK;
	case O_DRY_RUN:
		o->dry_run = true;
		return KL_OK;
	case O_JSON:
		o->json = true;
		return KL_OK;
	case O_VERBOSE:
		o->verbose++;
		return KL_OK;
	case O_HELP:
		o->cmd = KL_CMD_HELP;
		return KL_OK;
	case O_VERSION:
		if (o->cmd != KL_CMD_HELP)
			o->cmd = KL_CMD_VERSION;
		return KL_OK;
	case O_TIMEOUT:
		return parse_timeout(o, v, err);
	case O_PIPELINE:
		return set_flag_config(o, KL_CFG_PIPELINE_ID, "--pipeline", v, err);
	case O_CACERT:
		return set_flag_config(o, KL_CFG_CA_BUNDLE, "--cacert", v, err);
	case O_PHONE_REGION:
		return set_flag_config(o, KL_CFG_PHONE_REGION, "--phone-region", v, err);
	case O_SOURCE_NAME:
		return set_flag_config(o, KL_CFG_SOURCE_NAME, "--source-name", v, err);
	case O_FORM_ID:
		return set_flag_config(o, KL_CFG_FORM_ID, "--form-id", v, err);
	case O_FORM_NAME:
		return set_flag_config(o, KL_CFG_FORM_NAME, "--form-name", v, err);
	case O_FORM_PAGE:
		return set_flag_config(o, KL_CFG_FORM_PAGE, "--form-page", v, err);
	default:
		return apply_import(o, d, flag, v, err);
	}
}

/* Whether a lead attribute (--career, --income, ...) was given. */
static bool lead_attr_given(const struct kl_lead *l)
{
	for (int a = 0; a < KL_ATTR_COUNT; a++)
		if (l->v[a])
			return true;
	return false;
}

/* What a command needs beyond single options. */
int cli_check_command(const struct kl_opts *o, struct kl_err *err)
{
	const struct kl_entity_opts *e = &o->ent;
	switch (o->command) {
	case KL_CMD_LEADS_SEARCH:
	case KL_CMD_CONTACTS_SEARCH:
		if (!e->query)
			return kl_err_set(err, KL_EUSAGE, "%s needs a QUERY, e.g. kommo-lead %s +79991234567",
					  kl_opts_command_name(o->command), kl_opts_command_name(o->command));
		if (e->first && o->json)
			return kl_err_set(err, KL_EUSAGE, "%s: --first and --json are two outputs: give one",
					  kl_opts_command_name(o->command));
		if (e->first && e->limit)
			return kl_err_set(err, KL_EUSAGE, "%s: --first prints one id, --limit N bounds a list: give one",
					  kl_opts_command_name(o->command));
		return KL_OK;
	case KL_CMD_LEADS_CREATE:
		if (!e->name)
			return kl_err_set(err, KL_EUSAGE, "leads create needs --name NAME");
		return KL_OK;
	case KL_CMD_LEADS_UPDATE:
		if (!e->id)
			return kl_err_set(err, KL_EUSAGE, "leads update needs the lead's ID, e.g. kommo-lead leads update 8876820 --status 142");
		if (!e->name && !e->has_price && !e->status && !e->responsible && !e->fields.ncustom &&
		    !o->flags.value[KL_CFG_PIPELINE_ID] && !lead_attr_given(&e->fields))
			return kl_err_set(err, KL_EUSAGE, "leads update %llu: nothing to change: give --name, --price, --pipeline, --status, --responsible, a lead field (--career, --income, ...) or --field",
					  e->id);
		return KL_OK;
	case KL_CMD_CONTACTS_CREATE:
		if (!e->name && !e->first_name && !e->last_name)
			return kl_err_set(err, KL_EUSAGE, "contacts create needs a name: --name NAME, or --first-name, --last-name or both");
		return KL_OK;
	case KL_CMD_IMPORT:
		if (o->token_file && strcmp(o->token_file, "-") == 0 && (!o->input || strcmp(o->input, "-") == 0))
			return kl_err_set(err, KL_EUSAGE, "--token-file - and the rows both would come from standard input: give the rows as a FILE, or the token another way");
		return KL_OK;
	case KL_CMD_FIELDS:
		if (e->env && o->json)
			return kl_err_set(err, KL_EUSAGE, "fields: --env and --json are two outputs: give one");
		return KL_OK;
	default:
		return KL_OK;
	}
}

