#include "cli/kl_cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/kl_check.h"
#include "util/kl_str.h"

enum opt_id {
	O_ATTR, /* a lead attribute: see struct opt.attr */
	O_BATCH_SIZE,
	O_CACERT,
	O_COLUMNS,
	O_CONFIG,
	O_CREATED_BY,
	O_DELIMITER,
	O_DRY_RUN,
	O_ENCODING,
	O_ENV,
	O_FIELD,
	O_FIRST_NAME,
	O_FORM_ID,
	O_FORM_NAME,
	O_FORM_PAGE,
	O_HELP,
	O_IGNORE_UNKNOWN,
	O_JSON,
	O_LIMIT,
	O_MAP,
	O_MAX_RETRIES,
	O_NO_CONFIG,
	O_NO_PROGRESS,
	O_PIPELINE,
	O_PROGRESS,
	O_RATE,
	O_REJECTS,
	O_RESPONSIBLE,
	O_SKIP_EXISTING,
	O_SOURCE_NAME,
	O_STATE,
	O_STATUS,
	O_TIMEOUT,
	O_TOKEN_FILE,
	O_VERBOSE,
	O_VERSION
};

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

struct opt {
	const char *name; /* without "--" */
	char short_name;
	bool has_arg;
	enum opt_id id;
	int attr;      /* for O_ATTR */
	unsigned cmds; /* ANY (0) means every command */
};

/* Sorted by name; aliases are rows of their own. */
static const struct opt opts[] = {
	{"batch-size", 0, true, O_BATCH_SIZE, 0, I},
	{"cacert", 0, true, O_CACERT, 0, ANY},
	{"career", 0, true, O_ATTR, KL_ATTR_CAREER, A},
	{"columns", 0, true, O_COLUMNS, 0, I},
	{"config", 0, true, O_CONFIG, 0, ANY},
	{"created-by", 0, true, O_CREATED_BY, 0, CC},
	{"delimiter", 0, true, O_DELIMITER, 0, I},
	{"dry-run", 0, false, O_DRY_RUN, 0, A | ENT},
	{"education", 0, true, O_ATTR, KL_ATTR_EDUCATION, A},
	{"email", 0, true, O_ATTR, KL_ATTR_EMAIL, A | CC},
	{"encoding", 0, true, O_ENCODING, 0, I},
	{"env", 0, false, O_ENV, 0, F},
	{"field", 0, true, O_FIELD, 0, A | LC | LU},
	{"first-name", 0, true, O_FIRST_NAME, 0, CC},
	{"form-id", 0, true, O_FORM_ID, 0, A},
	{"form-name", 0, true, O_FORM_NAME, 0, A},
	{"form-page", 0, true, O_FORM_PAGE, 0, A},
	{"help", 'h', false, O_HELP, 0, ANY},
	{"ignore-unknown-columns", 0, false, O_IGNORE_UNKNOWN, 0, I},
	{"income", 0, true, O_ATTR, KL_ATTR_INCOME, A},
	{"json", 0, false, O_JSON, 0, ANY},
	{"last-name", 0, true, O_ATTR, KL_ATTR_LAST_NAME, A | CC},
	{"lead-name", 0, true, O_ATTR, KL_ATTR_LEAD_NAME, A},
	{"limit", 0, true, O_LIMIT, 0, LS | CS},
	{"map", 0, true, O_MAP, 0, I},
	{"max-retries", 0, true, O_MAX_RETRIES, 0, I},
	{"name", 0, true, O_ATTR, KL_ATTR_NAME, A | ENT},
	{"no-config", 0, false, O_NO_CONFIG, 0, ANY},
	{"no-progress", 0, false, O_NO_PROGRESS, 0, I},
	{"phone", 0, true, O_ATTR, KL_ATTR_PHONE, A | CC},
	{"pipeline", 0, true, O_PIPELINE, 0, A | K | LC | LU},
	{"price", 0, true, O_ATTR, KL_ATTR_PRICE, A | LC | LU},
	{"progress", 0, false, O_PROGRESS, 0, I},
	{"rate", 0, true, O_RATE, 0, I},
	{"referer", 0, true, O_ATTR, KL_ATTR_REFERER, A},
	{"rejects", 0, true, O_REJECTS, 0, I},
	{"responsible", 0, true, O_RESPONSIBLE, 0, ENT},
	{"skip-existing", 0, false, O_SKIP_EXISTING, 0, A},
	{"source", 0, true, O_ATTR, KL_ATTR_UTM_SOURCE, A},
	{"source-name", 0, true, O_SOURCE_NAME, 0, A},
	{"source-uid", 0, true, O_ATTR, KL_ATTR_SOURCE_UID, S},
	{"state", 0, true, O_STATE, 0, I},
	{"status", 0, true, O_STATUS, 0, LC | LU},
	{"surname", 0, true, O_ATTR, KL_ATTR_LAST_NAME, A | CC},
	{"telegram", 0, true, O_ATTR, KL_ATTR_TELEGRAM, A},
	{"timeout", 0, true, O_TIMEOUT, 0, ANY},
	{"token-file", 0, true, O_TOKEN_FILE, 0, ANY},
	{"utm-campaign", 0, true, O_ATTR, KL_ATTR_UTM_CAMPAIGN, A},
	{"utm-content", 0, true, O_ATTR, KL_ATTR_UTM_CONTENT, A},
	{"utm-medium", 0, true, O_ATTR, KL_ATTR_UTM_MEDIUM, A},
	{"utm-referrer", 0, true, O_ATTR, KL_ATTR_UTM_REFERRER, A},
	{"utm-source", 0, true, O_ATTR, KL_ATTR_UTM_SOURCE, A},
	{"utm-term", 0, true, O_ATTR, KL_ATTR_UTM_TERM, A},
	{"verbose", 'v', false, O_VERBOSE, 0, ANY},
	{"version", 'V', false, O_VERSION, 0, ANY},
};

#define NOPTS (sizeof opts / sizeof opts[0])

static const char help_text[] =
	"Usage: kommo-lead [submit] [OPTIONS]\n"
	"       kommo-lead import [OPTIONS] [FILE]\n"
	"       kommo-lead check | fields | leads ... | contacts ... [OPTIONS]\n"
	"Submit one lead, or one lead per CSV row, to Kommo's Incoming leads\n"
	"(POST /api/v4/leads/unsorted/forms) and print the lead and contact ids.\n"
	"\n"
	"Commands (kommo-lead COMMAND --help for each):\n"
	"  submit                      one lead from options (the default command)\n"
	"  import                      one lead per CSV row\n"
	"  check                       is the token good, and do the configured pipeline\n"
	"                              and field ids exist in the account?\n"
	"  fields                      the account's custom fields and pipelines (--env:\n"
	"                              as config lines)\n"
	"  leads search|create|update  look up, create or change leads directly\n"
	"  contacts search|create      look up or create contacts directly\n"
	"  help [COMMAND]              this text, or a command's (as COMMAND --help)\n"
	"\n"
	"Lead:\n"
	"      --name NAME             first name (required)\n"
	"      --last-name NAME        last name (alias --surname)\n"
	"      --phone PHONE           phone; spaces, dashes, dots and parentheses are\n"
	"                              removed, 7 to 15 digits with an optional leading +\n"
	"      --email EMAIL           email (a phone or an email is required)\n"
	"      --telegram HANDLE       Telegram (needs KOMMO_TELEGRAM_FIELD_ID)\n"
	"      --career TEXT           career/profession (needs KOMMO_CAREER_FIELD_ID)\n"
	"      --education TEXT        education (needs KOMMO_EDUCATION_FIELD_ID)\n"
	"      --income NUMBER         income (needs KOMMO_INCOME_FIELD_ID)\n"
	"      --utm-source TEXT       utm_source (alias --source)\n"
	"      --utm-medium TEXT       utm_medium\n"
	"      --utm-campaign TEXT     utm_campaign\n"
	"      --utm-content TEXT      utm_content\n"
	"      --utm-term TEXT         utm_term\n"
	"      --utm-referrer TEXT     utm_referrer\n"
	"      --price N               the lead's price, a whole number (default 0)\n"
	"      --lead-name TEXT        the lead's title (default \"Заявка: NAME LAST-NAME\")\n"
	"      --field lead:ID=VALUE   any other lead custom field (repeatable)\n"
	"      --field contact:ID=VALUE\n"
	"                              any other contact custom field (repeatable)\n"
	"      --field lead:ID:number=VALUE\n"
	"                              the same for a numeric field: VALUE is sent as a number\n"
	"      --source-uid UID        idempotency key from an upstream system (default:\n"
	"                              MD5 of \"<email or phone>-<unix milliseconds>\")\n"
	"\n"
	"  With import, lead options give defaults for every row; a row's own value wins.\n"
	"\n"
	"Import (kommo-lead import [OPTIONS] [FILE]; FILE '-' or none: standard input):\n"
	"      --delimiter D           ',', ';', '\\t' or auto (default: from the header line)\n"
	"      --encoding E            utf-8 (default) or cp1251 (Excel on Russian Windows)\n"
	"      --columns LIST          the input has no header: its columns, e.g.\n"
	"                              name,last_name,phone,email\n"
	"      --map COLUMN=FIELD      read COLUMN as FIELD, e.g. --map Телефон=phone\n"
	"                              (repeatable)\n"
	"      --ignore-unknown-columns\n"
	"                              skip columns that name no field (default: refuse)\n"
	"      --batch-size N          leads per request, 1 to 250 (default 50)\n"
	"      --rate R                requests per second, never exceeded (default 7;\n"
	"                              0: no limit)\n"
	"      --max-retries N         retries of a request after 429, 5xx or a lost\n"
	"                              connection (default 5)\n"
	"      --rejects FILE          write rejected and failed rows there as CSV, with an\n"
	"                              error column, to fix and import again\n"

	"      --state FILE            journal of what was sent, kept on disk: a rerun skips\n"
	"                              rows already created, and a row whose outcome was\n"
	"                              lost goes again with its own source_uid; one run at\n"
	"                              a time (a second one exits 75)\n"
	"      --progress, --no-progress\n"
	"                              force the progress line on stderr on or off (default:\n"
	"                              on when stderr is a terminal)\n"
	"  Columns: name, last_name (lastName, surname), phone, email, telegram, career,\n"
	"  education, income, utm_source (source), utm_medium, utm_campaign, utm_content,\n"
	"  utm_term, utm_referrer, price, lead_name, source_uid, referer, created_at (ISO\n"
	"  8601 or Unix seconds), lead:ID, contact:ID, lead:ID:number. Case, '_', '-' and\n"
	"  spaces in names do not matter. Russian headers work too: Имя, Фамилия,\n"
	"  Телефон, Почта, Телеграм, Профессия, Образование, Доход.\n"
	"\n"
	"Form metadata (defaults from the configuration):\n"
	"      --source-name NAME      KOMMO_SOURCE_NAME (default kommo-lead)\n"
	"      --form-id ID            KOMMO_FORM_ID (default kommo-lead)\n"
	"      --form-name NAME        KOMMO_FORM_NAME (default: the source name)\n"
	"      --form-page URL         KOMMO_FORM_PAGE\n"
	"      --referer URL           the page the person came from\n"
	"      --pipeline ID           target pipeline (KOMMO_PIPELINE_ID)\n"
	"\n"
	"Configuration:\n"
	"      --config FILE           dotenv config file (default $KOMMO_LEAD_CONFIG, else\n"
	"                              $XDG_CONFIG_HOME/kommo-lead/config.env, else\n"
	"                              ~/.config/kommo-lead/config.env)\n"
	"      --no-config             read no config file\n"
	"      --token-file FILE       read the API token from FILE (there is no flag that\n"
	"                              takes the token itself)\n"
	"      --cacert FILE           trust the CA certificates in FILE (PEM) instead of\n"
	"                              the system's (KOMMO_CA_BUNDLE); certificates are\n"
	"                              always verified\n"
	"  Precedence: flags > environment > config file. Keys: see config.example.env.\n"
	"\n"
	"Behaviour:\n"
	"      --dry-run               print the exact JSON that would be sent; send nothing\n"
	"      --json                  print the result as one JSON object (import: one per\n"
	"                              row)\n"
	"      --skip-existing         first search Kommo's contacts for the phone, then\n"
	"                              the email; if one matches, send nothing and print\n"
	"                              skipped contact_id=<id> (import: per row)\n"
	"  -v, --verbose               log the request, status and timing to stderr\n"
	"                              (the token is never shown)\n"
	"      --timeout SECONDS       give up on Kommo after SECONDS (default 30)\n"
	"  -h, --help                  print this help and exit\n"
	"  -V, --version               print the version and exit\n"
	"\n"
	"Output: lead_id=<id> contact_id=<id> on stdout. Import: one line per row, in\n"
	"input order: row=<n> lead_id=<id> contact_id=<id>, row=<n> rejected: <reason>,\n"
	"row=<n> failed: <reason> or row=<n> skipped lead_id=<id> contact_id=<id>\n"
	"(done in an earlier run with --state) or row=<n> skipped contact_id=<id>\n"
	"(--skip-existing) (--json: one object per row); a summary on stderr.\n"
	"Exit status: 0 created or skipped (import: every row created or skipped); 64 usage;\n"
	"65 invalid lead data or refused by Kommo (import: some rows rejected);\n"
	"66 the file to import cannot be opened; 68 Kommo's TLS certificate could not be\n"
	"verified (a private CA: --cacert);\n"
	"69 Kommo unreachable or 5xx; 70 internal error; 71 out of memory; 74 cannot write\n"
	"output; 75 try again later (429, timeout; import: some rows failed, or\n"
	"interrupted); 76 Kommo's reply unreadable;\n"
	"77 401/402/403 (token, payment, blocked); 78 configuration error.\n"
	"\n"
	"Examples:\n"
	"  kommo-lead --name Ivan --last-name Petrov --phone +79991234567 --source referral\n"
	"  kommo-lead --name 'Анна' --email anna@example.com --career 'Инженер' --dry-run\n"
	"  kommo-lead import --source partner-x --rejects bad.csv leads.csv\n"
	"  export.sh | kommo-lead import --state /var/lib/kommo-lead/export.state -\n"
	"\n"
	"See kommo-lead(1) for the configuration keys and where the field ids come from.\n";

#define COMMON_OPTIONS \
	"Common options:\n" \
	"      --json                  print the result as JSON on stdout\n" \
	"      --config FILE, --no-config, --token-file FILE, --cacert FILE\n" \
	"                              the configuration, as for submit (kommo-lead --help)\n" \
	"      --timeout SECONDS       give up on a request after SECONDS (default 30)\n" \
	"  -v, --verbose               log each request, status and timing to stderr\n" \
	"  -h, --help                  print this help and exit\n"

#define EXIT_STATUS(extra) \
	"Exit status: 0 done; 64 usage; " extra "68 Kommo's certificate not verified;\n" \
	"69 Kommo unreachable or 5xx; 70 internal error; 71 out of memory; 74 cannot\n" \
	"write output; 75 try again later (429, timeout); 76 Kommo's reply unreadable;\n" \
	"77 401/402/403 (token, payment, blocked); 78 configuration error.\n"

static const char check_help[] =
	"Usage: kommo-lead check [OPTIONS]\n"
	"Check the configuration against the Kommo account: the token (GET\n"
	"/api/v4/account), whether Incoming leads are on, and whether the configured\n"
	"pipeline and every configured field id exist in the account, on the right\n"
	"entity, with a type kommo-lead can fill. One line per check: ok, unset (the\n"
	"option that needs it cannot be used) or PROBLEM, with what is wrong. Each\n"
	"problem is also named on stderr, with where the value came from.\n"
	"\n"
	"Options:\n"
	"      --pipeline ID           check this pipeline instead of KOMMO_PIPELINE_ID\n"
	COMMON_OPTIONS
	"\n"
	EXIT_STATUS("")
	"Exit 0 only when every check is ok or unset; 78 when a configured id or\n"
	"setting is wrong.\n"
	"\n"
	"Examples:\n"
	"  kommo-lead check\n"
	"  kommo-lead check --json | jq '.checks[] | select(.result == \"problem\")'\n"
	"  kommo-lead check && kommo-lead import --state leads.state leads.csv\n";

static const char fields_help[] =
	"Usage: kommo-lead fields [--env] [OPTIONS]\n"
	"List the account's lead and contact custom fields (id, code, type, name, and\n"
	"the values of select fields) and its pipelines with their statuses, reading\n"
	"every page.\n"
	"\n"
	"Options:\n"
	"      --env                   print config lines (KOMMO_PIPELINE_ID=...,\n"
	"                              KOMMO_PHONE_FIELD_ID=...) for the fields kommo-lead\n"
	"                              fills, matched by field code and by name (Phone,\n"
	"                              Телефон, Email, Telegram, ...), ready to paste into\n"
	"                              the config file; a comment for each it could not\n"
	"                              match\n"
	COMMON_OPTIONS
	"  With --json: {\"lead_fields\":[...],\"contact_fields\":[...],\"pipelines\":[...]}.\n"
	"\n"
	EXIT_STATUS("")
	"\n"
	"Examples:\n"
	"  kommo-lead fields\n"
	"  kommo-lead fields --env >> ~/.config/kommo-lead/config.env\n"
	"  kommo-lead fields --json | jq '.lead_fields[] | select(.type == \"select\")'\n";

static const char leads_help[] =
	"Usage: kommo-lead leads search QUERY [--limit N] [OPTIONS]\n"
	"       kommo-lead leads create --name NAME [--price N] [--pipeline ID]\n"
	"                  [--status ID] [--responsible USER_ID] [--field ID=VALUE ...]\n"
	"       kommo-lead leads update ID [--name NAME] [--price N] [--pipeline ID]\n"
	"                  [--status ID] [--responsible USER_ID] [--field ID=VALUE ...]\n"
	"\n"
	"search: GET /api/v4/leads?query=QUERY, the leads whose name or fields hold\n"
	"  QUERY (several words are one query); prints id, name, price, pipeline and\n"
	"  status. Nothing found: nothing printed ([] with --json), exit 0.\n"
	"      --limit N               at most N leads (default 50), reading as many\n"
	"                              pages as that takes\n"
	"\n"
	"create: POST /api/v4/leads. This BYPASSES the Incoming leads stage\n"
	"  (НЕРАЗОБРАННОЕ): for a lead from a form, a person or a file use\n"
	"  kommo-lead submit or import instead. Prints lead_id=<id>.\n"
	"      --name NAME             the lead's name (required)\n"
	"      --price N               price, a whole number\n"
	"      --pipeline ID           pipeline (default KOMMO_PIPELINE_ID, else Kommo's\n"
	"                              main pipeline)\n"
	"      --status ID             status (stage) within that pipeline\n"
	"      --responsible USER_ID   the responsible user\n"
	"      --field ID=VALUE        a lead custom field (repeatable); ID:number=VALUE\n"
	"                              sends VALUE as a number\n"
	"      --dry-run               print the JSON that would be sent; send nothing\n"
	"\n"
	"update: PATCH /api/v4/leads/ID with the values given (at least one; the same\n"
	"  options as create). Prints lead_id=<id> updated_at=<unix seconds>.\n"
	"  WARNING: updating a lead fires Kommo's automations (digital pipeline,\n"
	"  Salesbot, webhooks), which may move it to another stage. Never update a lead\n"
	"  right after submit created it: give everything to submit instead.\n"
	"\n"
	COMMON_OPTIONS
	"\n"
	EXIT_STATUS("65 Kommo refused a value, or has no lead ID;\n")
	"\n"
	"Examples:\n"
	"  kommo-lead leads search +79991234567\n"
	"  kommo-lead leads search 'Петров' --limit 200 --json\n"
	"  kommo-lead leads create --name 'Партнёрская сделка' --price 50000 --status 72000002\n"
	"  kommo-lead leads update 8876820 --status 142\n";

static const char contacts_help[] =
	"Usage: kommo-lead contacts search QUERY [--limit N] [OPTIONS]\n"
	"       kommo-lead contacts create --name NAME [--first-name NAME]\n"
	"                  [--last-name NAME] [--phone PHONE] [--email EMAIL]\n"
	"                  [--responsible USER_ID] [--created-by USER_ID]\n"
	"\n"
	"search: GET /api/v4/contacts?query=QUERY, the contacts whose name, phone,\n"
	"  email or other field holds QUERY; prints id, name, phones and emails.\n"
	"  Nothing found: nothing printed ([] with --json), exit 0.\n"
	"      --limit N               at most N contacts (default 50), reading as many\n"
	"                              pages as that takes\n"
	"\n"
	"create: POST /api/v4/contacts: a contact linked to no lead (a person who asks\n"
	"  for something is a lead: use kommo-lead submit). Prints contact_id=<id>.\n"
	"      --name NAME             the full name (default: FIRST-NAME LAST-NAME)\n"
	"      --first-name NAME       first name\n"
	"      --last-name NAME        last name (alias --surname)\n"
	"      --phone PHONE           phone, checked as for submit\n"
	"      --email EMAIL           email\n"
	"      --responsible USER_ID   the responsible user\n"
	"      --created-by USER_ID    the user shown as its author\n"
	"      --dry-run               print the JSON that would be sent; send nothing\n"
	"\n"
	COMMON_OPTIONS
	"\n"
	EXIT_STATUS("65 Kommo refused a value;\n")
	"\n"
	"Examples:\n"
	"  kommo-lead contacts search +79991234567\n"
	"  kommo-lead contacts search anna@example.com --json\n"
	"  kommo-lead contacts create --first-name Анна --last-name Петрова --phone +79991234567\n";

const char *kl_cli_help(enum kl_cmd c)
{
	switch (c) {
	case KL_CMD_CHECK:
		return check_help;
	case KL_CMD_FIELDS:
		return fields_help;
	case KL_CMD_LEADS:
	case KL_CMD_LEADS_SEARCH:
	case KL_CMD_LEADS_CREATE:
	case KL_CMD_LEADS_UPDATE:
		return leads_help;
	case KL_CMD_CONTACTS:
	case KL_CMD_CONTACTS_SEARCH:
	case KL_CMD_CONTACTS_CREATE:
		return contacts_help;
	default:
		return help_text;
	}
}

const char *kl_cli_command_name(enum kl_cmd c)
{
	static const char *const names[] = {
		[KL_CMD_SUBMIT] = "submit",
		[KL_CMD_IMPORT] = "import",
		[KL_CMD_CHECK] = "check",
		[KL_CMD_FIELDS] = "fields",
		[KL_CMD_LEADS] = "leads",
		[KL_CMD_LEADS_SEARCH] = "leads search",
		[KL_CMD_LEADS_CREATE] = "leads create",
		[KL_CMD_LEADS_UPDATE] = "leads update",
		[KL_CMD_CONTACTS] = "contacts",
		[KL_CMD_CONTACTS_SEARCH] = "contacts search",
		[KL_CMD_CONTACTS_CREATE] = "contacts create",
		[KL_CMD_HELP] = "help",
		[KL_CMD_VERSION] = "version",
	};
	return names[c];
}

void kl_opts_free(struct kl_opts *o)
{
	if (!o)
		return;
	kl_lead_free(&o->lead);
	kl_config_free(&o->flags);
	free(o->ent.name);
	free(o->ent.first_name);
	free(o->ent.last_name);
	free(o->ent.phone);
	free(o->ent.email);
	free(o->ent.query);
	kl_lead_free(&o->ent.fields);
	free(o->config_path);
	free(o->token_file);
	free(o->input);
	free(o->columns);
	for (size_t i = 0; i < o->nmaps; i++) {
		free((char *)o->maps[i].column);
		free((char *)o->maps[i].field);
	}
	free(o->maps);
	free(o->rejects);
	free(o->state);
	memset(o, 0, sizeof *o);
}

static int cmp_opt(const void *key, const void *elem)
{
	return strcmp(key, ((const struct opt *)elem)->name);
}

static const struct opt *find_long(const char *name)
{
	return bsearch(name, opts, NOPTS, sizeof opts[0], cmp_opt);
}

/* True when arg is one of our options, so it cannot be the value before it. */
static bool is_option(const char *arg)
{
	if (arg[0] != '-')
		return false;
	if (arg[1] != '-')
		return arg[1] && !arg[2] && strchr("hvV", arg[1]);
	char name[64];
	snprintf(name, sizeof name, "%.*s", (int)strcspn(arg + 2, "="), arg + 2);
	return find_long(name) != NULL;
}

static int unknown_option(const char *arg, struct kl_err *err)
{
	char qbuf[256];
	char name[64];
	char shown[80];
	/* only the name is shown: the value may be a secret (--token=...) */
	snprintf(shown, sizeof shown, "%.*s", (int)strcspn(arg, "="), arg);
	if (strcmp(shown, "--token") == 0 || strcmp(shown, "--api-token") == 0)
		return kl_err_set(err, KL_EUSAGE,
				  "there is no option that takes the token itself (it would show in the process list): use --token-file FILE, KOMMO_API_TOKEN in the environment, or the config file");
	arg = shown;
	const char *start = arg + strspn(arg, "-");
	snprintf(name, sizeof name, "%.*s", (int)strcspn(start, "="), start);
	for (char *c = name; *c; c++)
		if (*c == '_')
			*c = '-';
	const struct opt *best = NULL;
	size_t bd = 3;
	for (size_t i = 0; i < NOPTS; i++) {
		size_t d = kl_str_distance(name, opts[i].name);
		if (d < bd)
			bd = d, best = &opts[i];
	}
	if (best)
		return kl_err_set(err, KL_EUSAGE, "unknown option %s (did you mean --%s?)",
				  kl_str_quote(arg, qbuf, sizeof qbuf), best->name);
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
	return (*dst = kl_str_dup(value)) ? KL_OK : kl_err_oom(err);
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
					  kl_str_quote(v, qbuf, sizeof qbuf), kl_cli_command_name(o->command));
		char *spec = strncmp(v, "lead:", 5) == 0 ? kl_str_dup(v) : kl_str_printf("lead:%s", v);
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
		return kl_err_set(err, KL_ESOFTWARE, "option %s has no handler for %s", flag,
				  kl_cli_command_name(o->command));
	}
	if (*dst)
		return kl_err_set(err, KL_EUSAGE, "%s given twice (counting its alias)", flag);
	return (*dst = kl_str_dup(v)) ? KL_OK : kl_err_oom(err);
}

static int apply(struct kl_opts *o, const struct opt *d, const char *flag, const char *v,
		 struct kl_err *err)
{
	if ((d->id == O_ATTR || d->id == O_FIELD) && is_entity_cmd(o->command))
		return apply_entity(o, d, flag, v, err);
	switch (d->id) {
	case O_FIRST_NAME:
		if (o->ent.first_name)
			return kl_err_set(err, KL_EUSAGE, "--first-name given twice");
		return (o->ent.first_name = kl_str_dup(v)) ? KL_OK : kl_err_oom(err);
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
	case O_ATTR: {
		/* --source and --utm-source are one field, as are --surname and --last-name */
		bool aliased = d->attr == KL_ATTR_UTM_SOURCE || d->attr == KL_ATTR_LAST_NAME;
		int rc = kl_lead_set(&o->lead, d->attr, v, flag, err);
		if (rc == KL_EUSAGE && aliased)
			return kl_err_set(err, KL_EUSAGE, "%s given twice (counting its alias); a lead takes one",
					  kl_attr_info(d->attr)->flag);
		return rc;
	}
	case O_FIELD:
		return kl_lead_add_field_spec(&o->lead, v, "--field", err);
	case O_CONFIG:
		return set_path(&o->config_path, flag, v, err);
	case O_TOKEN_FILE:
		return set_path(&o->token_file, flag, v, err);
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
		o->verbose = true;
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
	case O_BATCH_SIZE: {
		unsigned long long n;
		if (kl_check_uint(flag, v, 1, 250, &n, err))
			return kl_err_as(err, KL_EUSAGE);
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
		if (strcasecmp(v, "utf-8") == 0 || strcasecmp(v, "utf8") == 0)
			o->cp1251 = false;
		else if (strcasecmp(v, "cp1251") == 0 || strcasecmp(v, "windows-1251") == 0)
			o->cp1251 = true;
		else {
			char qbuf[256];
			return kl_err_set(err, KL_EUSAGE, "--encoding: %s: use utf-8 or cp1251",
					  kl_str_quote(v, qbuf, sizeof qbuf));
		}
		return KL_OK;
	case O_COLUMNS:
		return set_path(&o->columns, flag, v, err);
	case O_REJECTS:
		return set_path(&o->rejects, flag, v, err);
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
		m[o->nmaps].column = kl_str_ndup(v, (size_t)(eq - v));
		m[o->nmaps].field = kl_str_dup(eq + 1);
		o->nmaps++;
		if (!m[o->nmaps - 1].column || !m[o->nmaps - 1].field)
			return kl_err_oom(err);
		return KL_OK;
	}
	case O_SOURCE_NAME:
		return set_flag_config(o, KL_CFG_SOURCE_NAME, "--source-name", v, err);
	case O_FORM_ID:
		return set_flag_config(o, KL_CFG_FORM_ID, "--form-id", v, err);
	case O_FORM_NAME:
		return set_flag_config(o, KL_CFG_FORM_NAME, "--form-name", v, err);
	case O_FORM_PAGE:
		return set_flag_config(o, KL_CFG_FORM_PAGE, "--form-page", v, err);
	}
	return kl_err_set(err, KL_ESOFTWARE, "option %s has no handler", flag);
}

static const struct {
	const char *name;
	enum kl_cmd cmd;
} commands[] = {{"submit", KL_CMD_SUBMIT}, {"import", KL_CMD_IMPORT}, {"check", KL_CMD_CHECK},
		{"fields", KL_CMD_FIELDS},   {"leads", KL_CMD_LEADS},   {"contacts", KL_CMD_CONTACTS},
		{"lead", KL_CMD_LEADS},      {"contact", KL_CMD_CONTACTS}, {"help", KL_CMD_HELP}};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

/* The index of the command called arg, or NCOMMANDS. */
static size_t command_index(const char *arg)
{
	size_t k = 0;
	while (k < NCOMMANDS && strcmp(arg, commands[k].name) != 0)
		k++;
	return k;
}

static bool is_command(const char *arg)
{
	return command_index(arg) < NCOMMANDS;
}

static int unknown_command(const char *arg, struct kl_err *err)
{
	char qbuf[128];
	const char *best = NULL;
	for (size_t c = 0; c < NCOMMANDS && !best; c++)
		if (kl_str_distance(arg, commands[c].name) <= 2)
			best = commands[c].name;
	if (best)
		return kl_err_set(err, KL_EUSAGE, "unknown command %s (did you mean %s?)",
				  kl_str_quote(arg, qbuf, sizeof qbuf), best);
	return kl_err_set(err, KL_EUSAGE, "unknown command %s (commands: submit, import, check, fields, leads, contacts, help; see kommo-lead --help)",
			  kl_str_quote(arg, qbuf, sizeof qbuf));
}

/* True when argv[from..] asks for help. */
static bool is_help_flag(const char *arg)
{
	return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

static bool is_help(int argc, char **argv, int from)
{
	for (int i = from; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (is_help_flag(argv[i]))
			return true;
	return false;
}

/* What a command needs beyond single options. */
static int check_command(const struct kl_opts *o, struct kl_err *err)
{
	const struct kl_entity_opts *e = &o->ent;
	switch (o->command) {
	case KL_CMD_LEADS_SEARCH:
	case KL_CMD_CONTACTS_SEARCH:
		if (!e->query)
			return kl_err_set(err, KL_EUSAGE, "%s needs a QUERY, e.g. kommo-lead %s +79991234567",
					  kl_cli_command_name(o->command), kl_cli_command_name(o->command));
		return KL_OK;
	case KL_CMD_LEADS_CREATE:
		if (!e->name)
			return kl_err_set(err, KL_EUSAGE, "leads create needs --name NAME");
		return KL_OK;
	case KL_CMD_LEADS_UPDATE:
		if (!e->id)
			return kl_err_set(err, KL_EUSAGE, "leads update needs the lead's ID, e.g. kommo-lead leads update 8876820 --status 142");
		if (!e->name && !e->has_price && !e->status && !e->responsible && !e->fields.ncustom &&
		    !o->flags.value[KL_CFG_PIPELINE_ID])
			return kl_err_set(err, KL_EUSAGE, "leads update %llu: nothing to change: give --name, --price, --pipeline, --status, --responsible or --field",
					  e->id);
		return KL_OK;
	case KL_CMD_CONTACTS_CREATE:
		if (!e->name && !e->first_name && !e->last_name)
			return kl_err_set(err, KL_EUSAGE, "contacts create needs a name: --name NAME, or --first-name, --last-name or both");
		return KL_OK;
	case KL_CMD_FIELDS:
		if (e->env && o->json)
			return kl_err_set(err, KL_EUSAGE, "fields: --env and --json are two outputs: give one");
		return KL_OK;
	default:
		return KL_OK;
	}
}

int kl_cli_parse(struct kl_opts *o, int argc, char **argv, struct kl_err *err)
{
	char qbuf[256];
	int i = 1;
	memset(o, 0, sizeof *o);
	o->cmd = o->command = KL_CMD_SUBMIT;
	o->batch_size = 50;
	o->rate = 7;
	o->max_retries = 5;
	o->progress = -1;

	if (i < argc && argv[i][0] != '-') {
		size_t k = command_index(argv[i]);
		if (k == NCOMMANDS)
			return unknown_command(argv[i], err);
		if (commands[k].cmd == KL_CMD_HELP) {
			/* kommo-lead help [COMMAND [SUBCOMMAND]] */
			o->cmd = KL_CMD_HELP;
			o->command = KL_CMD_SUBMIT;
			/* -h and --help after it ask for the same thing */
			int n = i + 1;
			while (n < argc && is_help_flag(argv[n]))
				n++;
			if (n >= argc)
				return KL_OK;
			size_t c = command_index(argv[n]);
			if (c == NCOMMANDS)
				return unknown_command(argv[n], err);
			o->command = commands[c].cmd;
			bool leads = o->command == KL_CMD_LEADS, contacts = o->command == KL_CMD_CONTACTS;
			int extra = n + 1;
			if ((leads || contacts) && extra < argc &&
			    (strcmp(argv[extra], "search") == 0 || strcmp(argv[extra], "create") == 0 ||
			     (leads && strcmp(argv[extra], "update") == 0)))
				extra++;
			while (extra < argc && is_help_flag(argv[extra]))
				extra++;
			if (extra < argc)
				return kl_err_set(err, KL_EUSAGE, "help: unexpected %s (kommo-lead help [COMMAND])",
						  kl_str_quote(argv[extra], qbuf, sizeof qbuf));
			return KL_OK;
		}
		o->cmd = o->command = commands[k].cmd;
		i++;
		if (o->command == KL_CMD_LEADS || o->command == KL_CMD_CONTACTS) {
			bool leads = o->command == KL_CMD_LEADS;
			const char *sub = i < argc ? argv[i] : "";
			if (strcmp(sub, "search") == 0)
				o->command = leads ? KL_CMD_LEADS_SEARCH : KL_CMD_CONTACTS_SEARCH;
			else if (strcmp(sub, "create") == 0)
				o->command = leads ? KL_CMD_LEADS_CREATE : KL_CMD_CONTACTS_CREATE;
			else if (strcmp(sub, "update") == 0 && leads)
				o->command = KL_CMD_LEADS_UPDATE;
			else if (sub[0] != '-' || !is_help(argc, argv, i))
				return kl_err_set(err, KL_EUSAGE, "%s %s: expected %s (see kommo-lead %s --help)",
						  leads ? "leads" : "contacts",
						  sub[0] ? kl_str_quote(sub, qbuf, sizeof qbuf) : "needs a subcommand",
						  leads ? "search, create or update" : "search or create",
						  leads ? "leads" : "contacts");
			if (o->command != KL_CMD_LEADS && o->command != KL_CMD_CONTACTS)
				i++;
			o->cmd = o->command;
		}
	}
	if (i == argc && o->command == KL_CMD_SUBMIT)
		return kl_err_set(err, KL_EUSAGE,
				  "no lead given: try kommo-lead --name Ivan --phone +79991234567 (see kommo-lead --help)");
	bool only_positionals = false;
	for (; i < argc; i++) {
		const char *arg = argv[i];
		const struct opt *d = NULL;
		const char *value = NULL;
		char flag[64];

		if (!only_positionals && strcmp(arg, "--") == 0) {
			only_positionals = true;
			continue;
		}
		if (o->command == KL_CMD_IMPORT && (only_positionals || arg[0] != '-' || strcmp(arg, "-") == 0)) {
			if (o->input)
				return kl_err_set(err, KL_EUSAGE, "import reads one file; %s is one too many (to import several, run import once per file, or cat them)",
						  kl_str_quote(arg, qbuf, sizeof qbuf));
			if (!(o->input = kl_str_dup(arg)))
				return kl_err_oom(err);
			continue;
		}
		if ((o->command == KL_CMD_LEADS_SEARCH || o->command == KL_CMD_CONTACTS_SEARCH) &&
		    (only_positionals || arg[0] != '-' || !arg[1])) {
			/* the words of a query: kommo-lead contacts search Анна Петрова */
			char *q = o->ent.query ? kl_str_printf("%s %s", o->ent.query, arg) : kl_str_dup(arg);
			if (!q)
				return kl_err_oom(err);
			free(o->ent.query);
			o->ent.query = q;
			continue;
		}
		if (o->command == KL_CMD_LEADS_UPDATE && !o->ent.id && (only_positionals || arg[0] != '-')) {
			if (kl_check_id("leads update ID", arg, "8876820", &o->ent.id, err))
				return kl_err_as(err, KL_EUSAGE);
			continue;
		}
		if (only_positionals)
			return kl_err_set(err, KL_EUSAGE, "unexpected argument %s: %s takes no more arguments",
					  kl_str_quote(arg, qbuf, sizeof qbuf), kl_cli_command_name(o->command));
		if (arg[0] == '-' && arg[1] == '-' && arg[2]) {
			const char *eq = strchr(arg + 2, '=');
			size_t nl = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
			if (nl < sizeof flag - 2) {
				char name[64];
				memcpy(name, arg + 2, nl);
				name[nl] = '\0';
				d = find_long(name);
			}
			if (!d)
				return unknown_option(arg, err);
			value = eq ? eq + 1 : NULL;
			if (value && !d->has_arg)
				return kl_err_set(err, KL_EUSAGE, "--%s takes no value", d->name);
		} else if (arg[0] == '-' && arg[1] && !arg[2]) {
			for (size_t k = 0; k < NOPTS && !d; k++)
				if (opts[k].short_name == arg[1])
					d = &opts[k];
			if (!d)
				return unknown_option(arg, err);
		} else if (arg[0] == '-' && arg[1] != '-' && arg[1]) {
			return kl_err_set(err, KL_EUSAGE, "%s: short options cannot be combined; write them apart, e.g. -v -V",
					  kl_str_quote(arg, qbuf, sizeof qbuf));
		} else if (o->command == KL_CMD_SUBMIT && is_command(arg)) {
			return kl_err_set(err, KL_EUSAGE, "the command comes first: kommo-lead %s [OPTIONS] (options before it are taken as submit's)",
					  arg);
		} else if (i >= 2 && is_option(argv[i - 2]) && !strchr(argv[i - 2], '=') &&
			   argv[i - 1][0] != '-') {
			/* most often a value with a space that was not quoted */
			char q2[256];
			char *joined = kl_str_printf("%s %s", argv[i - 1], arg);
			if (!joined)
				return kl_err_oom(err);
			kl_str_quote(joined, q2, sizeof q2);
			free(joined);
			return kl_err_set(err, KL_EUSAGE,
					  "unexpected argument %s: a value with spaces must be quoted, e.g. %s %s",
					  kl_str_quote(arg, qbuf, sizeof qbuf), argv[i - 2], q2);
		} else {
			return kl_err_set(err, KL_EUSAGE, "unexpected argument %s: %s takes %s (see kommo-lead%s%s --help)",
					  kl_str_quote(arg, qbuf, sizeof qbuf), kl_cli_command_name(o->command),
					  o->command == KL_CMD_LEADS_UPDATE ? "one lead id and options" : "only options",
					  o->command == KL_CMD_SUBMIT ? "" : " ",
					  o->command == KL_CMD_SUBMIT ? "" : kl_cli_command_name(o->command));
		}
		snprintf(flag, sizeof flag, "--%s", d->name);
		if (d->cmds && !(d->cmds & (1u << o->command)) &&
		    !(d->id == O_HELP || o->command == KL_CMD_LEADS || o->command == KL_CMD_CONTACTS)) {
			if (d->id == O_ATTR && d->attr == KL_ATTR_SOURCE_UID && o->command == KL_CMD_IMPORT)
				return kl_err_set(err, KL_EUSAGE,
						  "--source-uid is for one lead; in an import each row needs its own: put them in a source_uid column");
			char list[256] = "";
			for (int c = 0; c < KL_CMD_HELP; c++)
				if (d->cmds & (1u << c))
					snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s",
						 list[0] ? ", " : "", kl_cli_command_name((enum kl_cmd)c));
			return kl_err_set(err, KL_EUSAGE, "%s is not an option of %s (it is one of: %s)", flag,
					  kl_cli_command_name(o->command), list);
		}
		if (d->has_arg && !value) {
			if (i + 1 >= argc)
				return kl_err_set(err, KL_EUSAGE, "%s needs a value", flag);
			if (is_option(argv[i + 1]))
				return kl_err_set(err, KL_EUSAGE,
						  "%s needs a value, but the next argument is the option %s (for that text itself write %s=%s)",
						  flag, argv[i + 1], flag, argv[i + 1]);
			value = argv[++i];
		}
		int rc = apply(o, d, flag, value, err);
		if (rc)
			return rc == KL_EDATA ? kl_err_as(err, KL_EUSAGE) : rc;
	}
	if (o->no_config && o->config_path)
		return kl_err_set(err, KL_EUSAGE, "--config and --no-config contradict each other: give one");
	if (o->cmd == KL_CMD_HELP || o->cmd == KL_CMD_VERSION)
		return KL_OK;
	return check_command(o, err);
}
