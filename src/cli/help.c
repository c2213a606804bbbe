/* The --help texts. The lead flags' lines come from the attribute table
 * (kl_attr_info), so a flag and its help are written once. */
#include <stdio.h>
#include <string.h>

#include "cli_int.h"

static const char main_head[] =
	"Usage: kommo-lead [submit] [OPTIONS]\n"
	"       kommo-lead import [OPTIONS] [FILE]\n"
	"       kommo-lead check | fields | leads ... | contacts ... | config [OPTIONS]\n"
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
	"  config                      the configuration in force and where each value\n"
	"                              came from (the token only as set or unset)\n"
	"  help [COMMAND]              this text, or a command's (as COMMAND --help)\n"
	"\n";

static const char main_fields[] =
	"      --field lead:ID=VALUE   any other lead custom field (repeatable)\n"
	"      --field contact:ID=VALUE\n"
	"                              any other contact custom field (repeatable)\n"
	"      --field lead:ID:number=VALUE\n"
	"                              the same for a numeric field: VALUE is sent as a number\n";

static const char main_import_and_form[] =
	"\n"
	"  With import, lead options give defaults for every row; a row's own value wins\n"
	"  (a row's tags add to --tag's).\n"
	"\n"
	"Import (kommo-lead import [OPTIONS] [FILE]; FILE '-' or none: standard input):\n"
	"      --format F              csv, jsonl (one JSON object a line) or auto (the\n"
	"                              default: jsonl for a .jsonl or .ndjson FILE, else csv)\n"
	"      --delimiter D           ',', ';', '\\t' or auto (default: from the header line)\n"
	"      --encoding E            auto (the default: UTF-8 if the file is valid UTF-8,\n"
	"                              else Windows-1251 Cyrillic), utf-8 or cp1251\n"
	"      --columns LIST          the input has no header: its columns, e.g.\n"
	"                              name,last_name,phone,email\n"
	"      --map COLUMN=FIELD      read COLUMN as FIELD, e.g. --map Телефон=phone\n"
	"                              (repeatable)\n"
	"      --ignore-unknown-columns\n"
	"                              skip columns that name no field (default: refuse)\n"
	"      --batch-size N|auto     leads per request, 1 to 250; auto (the default):\n"
	"                              from 50, as many as Kommo takes quickly\n"
	"      --rate R                requests per second, never exceeded (default 7;\n"
	"                              0: no limit); the account's 7 are shared with\n"
	"                              every kommo-lead process on this machine\n"
	"      --max-retries N         retries of a request after 429, 5xx or a lost\n"
	"                              connection (default 5)\n"
	"      --rejects FILE          write rejected, failed and not sent rows there (CSV or\n"
	"                              JSON Lines, as the input), with an error column, to\n"
	"                              fix and import again (with --state: only rejected\n"
	"                              rows); replaced at the end\n"
	"      --results FILE          write every row's outcome there (row, status, lead_id,\n"
	"                              contact_id, source_uid, possibly_duplicated, error),\n"
	"                              created ones too, in the input's format; replaced at\n"
	"                              the end\n"

	"      --state FILE            journal of what was sent, kept on disk: a rerun skips\n"
	"                              rows already created, and a row whose outcome was\n"
	"                              lost goes again with its own source_uid; one run at\n"
	"                              a time (a second one exits 75)\n"
	"      --progress, --no-progress\n"
	"                              force the progress line on stderr on or off (default:\n"
	"                              on when stderr is a terminal)\n"
	"  Columns: name, last_name (lastName, surname), phone, email, telegram, career,\n"
	"  education, income, utm_source (source), utm_medium, utm_campaign, utm_content,\n"
	"  utm_term, utm_referrer, price, lead_name, source_uid, referer, created_at\n"
	"  (21.11.2026 10:30, 21.11.2026, 2026-11-21 10:30, ISO 8601 with a zone, or Unix\n"
	"  seconds; no zone: local time), lead:ID, contact:ID, lead:ID:number. Case, '_', '-' and\n"
	"  spaces in names do not matter. Russian headers work too: Имя, Фамилия,\n"
	"  Телефон, Почта, Телеграм, Профессия, Образование, Доход.\n"
	"\n"
	"Form metadata (defaults from the configuration):\n"
	"      --source-name NAME      KOMMO_SOURCE_NAME (default kommo-lead)\n"
	"      --form-id ID            KOMMO_FORM_ID (default kommo-lead)\n"
	"      --form-name NAME        KOMMO_FORM_NAME (default: the source name)\n"
	"      --form-page URL         KOMMO_FORM_PAGE\n";

static const char main_tail[] =
	"      --pipeline ID           target pipeline (KOMMO_PIPELINE_ID)\n"
	"\n"
	"Configuration:\n"
	"      --config FILE           dotenv config file (default $KOMMO_LEAD_CONFIG, else\n"
	"                              $XDG_CONFIG_HOME/kommo-lead/config.env, else\n"
	"                              ~/.config/kommo-lead/config.env)\n"
	"      --no-config             read no config file\n"
	"      --token-file FILE       read the API token from FILE, '-' for standard input\n"
	"                              (there is no flag that takes the token itself)\n"
	"      --token-command CMD     take the token from the first line CMD prints, run\n"
	"                              by /bin/sh -c, e.g. 'pass show kommo'\n"
	"                              (KOMMO_TOKEN_COMMAND)\n"
	"      --cacert FILE           trust the CA certificates in FILE (PEM) instead of\n"
	"                              the system's (KOMMO_CA_BUNDLE); certificates are\n"
	"                              always verified\n"
	"      --phone-region CC       read phones written without their country code as\n"
	"                              numbers of CC (KOMMO_PHONE_REGION), e.g. RU:\n"
	"                              8 (999) 123-45-67 is sent as +79991234567\n"
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
	"                              (the token is never shown); twice (-v -v): the\n"
	"                              request and reply bodies too\n"
	"      --timeout SECONDS       give up on Kommo after SECONDS (default 30)\n"
	"  -h, --help                  print this help and exit\n"
	"  -V, --version               print the version and exit\n";

static const char main_end[] =
	"\n"
	"Output: lead_id=<id> contact_id=<id> on stdout. Import: one line per row, in\n"
	"input order: row=<n> lead_id=<id> contact_id=<id> (then possibly_duplicated\n"
	"when sent again after a lost answer), row=<n> rejected: <reason>,\n"
	"row=<n> failed: <reason>, row=<n> not sent: <reason> (the import stopped first)\n"
	"or row=<n> skipped lead_id=<id> contact_id=<id>\n"
	"(done in an earlier run with --state) or row=<n> skipped contact_id=<id>\n"
	"(--skip-existing) (--json: one object per row, then one object with\n"
	"\"summary\": true and the counts); a summary on stderr.\n"
	"Exit status: 0 created or skipped (import: every row created or skipped); 64 usage;\n"
	"65 invalid lead data or refused by Kommo (import: some rows rejected);\n"
	"66 the file to import cannot be opened; 68 Kommo's TLS certificate could not be\n"
	"verified (a private CA: --cacert);\n"
	"69 Kommo unreachable or 5xx; 70 internal error; 71 out of memory; 74 cannot write\n"
	"output; 75 try again later (429, timeout; import: some rows failed, or\n"
	"interrupted); 76 Kommo's reply unreadable;\n"
	"77 401/402/403 (token, payment, blocked); 78 configuration error.\n"
	"Ctrl-C once: the request in flight is finished, then the run stops (75, unless\n"
	"that request did all there was to do); twice: it stops without waiting for\n"
	"the answer (the lead may exist; --state looks).\n"
	"\n"
	"Examples:\n"
	"  kommo-lead --name Ivan --last-name Petrov --phone +79991234567 --source referral\n"
	"  kommo-lead --name 'Анна' --email anna@example.com --career 'Инженер' --dry-run\n"
	"  kommo-lead import --source partner-x --rejects bad.csv leads.csv\n"
	"  export.sh | kommo-lead import --state /var/lib/kommo-lead/export.state -\n"
	"\n"
	"See kommo-lead(1) for the configuration keys and where the field ids come from.\n";

/* The options every command takes; they may also come before the command. */
#define COMMON_OPTIONS \
	"Common options (every command takes them; all but -h also before the command):\n" \
	"      --json                  print the result as JSON on stdout\n" \
	COMMON_OPTIONS_BUT_JSON

#define COMMON_OPTIONS_BUT_JSON \
	"      --config FILE, --no-config, --token-file FILE, --token-command CMD,\n" \
	"      --cacert FILE\n" \
	"                              the configuration, as for submit (kommo-lead --help)\n" \
	"      --timeout SECONDS       give up on a request after SECONDS (default 30)\n" \
	"  -v, --verbose               log each request, status and timing to stderr\n" \
	"  -h, --help                  print this help and exit\n"

#define EXIT_STATUS(extra) \
	"Exit status: 0 done; 64 usage; " extra "68 Kommo's certificate not verified;\n" \
	"69 Kommo unreachable or 5xx; 70 internal error; 71 out of memory; 74 cannot\n" \
	"write output; 75 try again later (429, timeout); 76 Kommo's reply unreadable;\n" \
	"77 401/402/403 (token, payment, blocked); 78 configuration error.\n"

static const char config_help[] =
	"Usage: kommo-lead config [OPTIONS]\n"
	"Print the configuration in force, one line per setting, and where each value\n"
	"came from, as git config --show-origin does:\n"
	"  ORIGIN<TAB>KEY=VALUE\n"
	"ORIGIN is flag:--OPTION (e.g. flag:--token-file), environment, file:PATH:LINE\n"
	"or default. The token is shown only as (set) or (unset), with its source; a\n"
	"token command (--token-command, KOMMO_TOKEN_COMMAND) is not run: it is shown\n"
	"as (set: from the command's output; not run). On stderr: the config file\n"
	"read, and the address a command would use, with the key it comes from\n"
	"(KOMMO_BASE_URL, else KOMMO_DOMAIN, else KOMMO_SUBDOMAIN). Nothing is sent.\n"
	"\n"
	"Common options (every command takes them; all but -h also before the command):\n"
	"      --json                  one JSON object per setting: key, value, origin\n"
	COMMON_OPTIONS_BUT_JSON
	"\n"
	"Exit status: 0 done; 64 usage; 74 cannot write output; 78 configuration error\n"
	"(a config file that cannot be read).\n"
	"\n"
	"Examples:\n"
	"  kommo-lead config\n"
	"  kommo-lead --config /etc/kommo-lead/config.env config | grep PIPELINE\n";

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
	"Usage: kommo-lead leads search QUERY [--limit N | --first] [OPTIONS]\n"
	"       kommo-lead leads create --name NAME [--contact ID ...] [--price N]\n"
	"                  [--pipeline ID] [--status ID] [--responsible USER_ID]\n"
	"                  [--career TEXT ...] [--field ID=VALUE ...]\n"
	"       kommo-lead leads update ID [--name NAME] [--price N] [--pipeline ID]\n"
	"                  [--status ID] [--responsible USER_ID] [--career TEXT ...]\n"
	"                  [--field ID=VALUE ...]\n"
	"One help for the three: leads search|create|update --help all print this.\n"
	"\n"
	"search: GET /api/v4/leads?with=contacts&query=QUERY, the leads whose name or\n"
	"  fields hold QUERY (several words are one query); prints id, name, price,\n"
	"  pipeline, status and the linked contacts' ids. Nothing found: nothing\n"
	"  printed ([] with --json), exit 0.\n"
	"      --limit N               at most N leads (default 50), reading as many\n"
	"                              pages as that takes\n"
	"      --first                 print only the id of the lead whose name equals\n"
	"                              QUERY (case and spacing aside); none: exit 1 (as\n"
	"                              grep), and a line on stderr; two or more: exit 65\n"
	"  With --json: [{\"id\",\"name\",\"price\",\"pipeline_id\",\"pipeline\",\"status_id\",\n"
	"  \"status\",\"responsible_user_id\",\"contacts\":[{\"id\",\"is_main\"}]}].\n"
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
	"      --contact ID            link the lead to this existing contact, in the\n"
	"                              creating request (repeatable; the first is the\n"
	"                              main one)\n"
	"      --career TEXT, --education TEXT, --income NUMBER, --utm-source TEXT\n"
	"      (alias --source), --utm-medium TEXT, --utm-campaign TEXT,\n"
	"      --utm-content TEXT, --utm-term TEXT, --utm-referrer TEXT\n"
	"                              the lead's fields, checked and sent as submit\n"
	"                              sends them (each needs its field id configured,\n"
	"                              but the UTM ones, sent by field code without one)\n"
	"      --field ID=VALUE        a lead custom field (repeatable); ID:number=VALUE\n"
	"                              sends VALUE as a number\n"
	"      --dry-run               print the JSON that would be sent; send nothing\n"
	"\n"
	"update: PATCH /api/v4/leads/ID with the values given (at least one; the\n"
	"  options of create but --contact). Prints lead_id=<id> updated_at=<unix\n"
	"  seconds>.\n"
	"  WARNING: updating a lead fires Kommo's automations (digital pipeline,\n"
	"  Salesbot, webhooks), which may move it to another stage. Never update a lead\n"
	"  right after submit created it: give everything to submit instead.\n"
	"\n"
	COMMON_OPTIONS
	"\n"
	EXIT_STATUS("1 --first found nothing;\n"
		    "65 Kommo refused a value (an unknown --contact too), or has no lead ID;\n")
	"\n"
	"Examples:\n"
	"  kommo-lead leads search +79991234567\n"
	"  kommo-lead leads search 'Петров' --limit 200 --json\n"
	"  kommo-lead leads create --name 'Партнёрская сделка' --price 50000 --status 72000002\n"
	"  id=$(kommo-lead contacts search --first +79991234567) &&\n"
	"    kommo-lead leads create --name 'Консультация' --contact \"$id\"\n"
	"  kommo-lead leads update 8876820 --status 142 --career 'Инженер'\n"
	"  (scripts/examples/qualify.sh and inquiry.sh: two whole workflows)\n";

static const char contacts_help[] =
	"Usage: kommo-lead contacts search QUERY [--limit N | --first] [OPTIONS]\n"
	"       kommo-lead contacts create --name NAME [--first-name NAME]\n"
	"                  [--last-name NAME] [--phone PHONE] [--email EMAIL]\n"
	"                  [--responsible USER_ID] [--created-by USER_ID]\n"
	"One help for the two: contacts search|create --help both print this.\n"
	"\n"
	"search: GET /api/v4/contacts?query=QUERY, the contacts whose name, phone,\n"
	"  email or other field holds QUERY; prints id, name, phones and emails.\n"
	"  Nothing found: nothing printed ([] with --json), exit 0.\n"
	"      --limit N               at most N contacts (default 50), reading as many\n"
	"                              pages as that takes\n"
	"      --first                 print only the id of the contact that holds QUERY:\n"
	"                              that email, that phone (a whole number: 12345 is\n"
	"                              refused, exit 64), else that name or first and\n"
	"                              last name (case and spacing aside); none: exit 1\n"
	"                              (as grep), and a line on stderr; two or more of\n"
	"                              the name: exit 65: id=$(kommo-lead contacts\n"
	"                              search --first \"$phone\")\n"
	"  With --json: [{\"id\",\"name\",\"first_name\",\"last_name\",\"phones\":[...],\n"
	"  \"emails\":[...]}].\n"
	"\n"
	"create: POST /api/v4/contacts: a contact linked to no lead (a person who asks\n"
	"  for something is a lead: use kommo-lead submit). Prints contact_id=<id>.\n"
	"      --name NAME             the full name (default: FIRST-NAME LAST-NAME)\n"
	"      --first-name NAME       first name\n"
	"      --last-name NAME        last name (alias --surname)\n"
	"      --phone PHONE           phone, checked as for submit\n"
	"      --phone-region CC       read a phone without its country code as a number\n"
	"                              of CC, e.g. RU (KOMMO_PHONE_REGION)\n"
	"      --email EMAIL           email\n"
	"      --responsible USER_ID   the responsible user\n"
	"      --created-by USER_ID    the user shown as its author\n"
	"      --dry-run               print the JSON that would be sent; send nothing\n"
	"\n"
	COMMON_OPTIONS
	"\n"
	EXIT_STATUS("1 --first found nothing;\n65 Kommo refused a value; ")
	"\n"
	"Examples:\n"
	"  kommo-lead contacts search +79991234567\n"
	"  kommo-lead contacts search anna@example.com --json\n"
	"  kommo-lead contacts create --first-name Анна --last-name Петрова --phone +79991234567\n";

/* submit's and import's own help: a head, then the main help's option
 * sections cut down to the options the command takes (command_options),
 * then an end. */
static const char submit_head[] =
	"Usage: kommo-lead [submit] [OPTIONS]\n"
	"Submit one lead to Kommo's Incoming leads (POST /api/v4/leads/unsorted/forms)\n"
	"and print its lead and contact ids. submit is the default command: the word\n"
	"itself may be left out. kommo-lead --help: every command.\n"
	"\n";

static const char submit_end[] =
	"\n"
	"Output: lead_id=<id> contact_id=<id> on stdout, or skipped contact_id=<id>\n"
	"(--skip-existing); with --json one JSON object, a failure's too.\n"
	EXIT_STATUS("65 invalid lead data or refused by Kommo;\n")
	"\n"
	"Examples:\n"
	"  kommo-lead --name Ivan --last-name Petrov --phone +79991234567 --source referral\n"
	"  kommo-lead submit --name 'Анна' --email anna@example.com --tag web --dry-run\n"
	"  kommo-lead --config /etc/kommo-lead/config.env submit --name Ivan --phone +79991234567\n"
	"\n"
	"See kommo-lead(1) for the configuration keys and where the field ids come from.\n";

static const char import_head[] =
	"Usage: kommo-lead import [OPTIONS] [FILE]\n"
	"Submit one lead per row of FILE (CSV, or JSON Lines: --format) to Kommo's\n"
	"Incoming leads, in batches (POST /api/v4/leads/unsorted/forms), and print each\n"
	"row's outcome. FILE '-' or none: standard input. kommo-lead --help: every\n"
	"command.\n"
	"\n";

static const char import_end[] =
	"\n"
	"Output: one line per row, in input order: row=<n> lead_id=<id> contact_id=<id>\n"
	"(then possibly_duplicated when sent again after a lost answer), row=<n>\n"
	"rejected: <reason>, row=<n> failed: <reason>, row=<n> not sent: <reason> (the\n"
	"import stopped, or was interrupted, before the row),\n"
	"row=<n> skipped lead_id=<id> contact_id=<id> (done in an earlier run with\n"
	"--state) or row=<n> skipped contact_id=<id> (--skip-existing) (--json: one\n"
	"object per row, then one object with \"summary\": true and the counts); a\n"
	"summary on stderr.\n"
	EXIT_STATUS("65 some rows rejected; 66 FILE cannot be opened;\n")
	"Exit 0 only when every row was created or skipped; 75 also when some rows\n"
	"failed or were not sent (interrupted): import again (with --state, the rows\n"
	"already created are skipped).\n"
	"\n"
	"Examples:\n"
	"  kommo-lead import --source partner-x --rejects bad.csv leads.csv\n"
	"  export.sh | kommo-lead import --state /var/lib/kommo-lead/export.state -\n"
	"  jq -c '.[]' leads.json | kommo-lead import --format jsonl --results out.jsonl -\n"
	"\n"
	"See kommo-lead(1) for the configuration keys and where the field ids come from.\n";

/* Appends "      --name NAME             first name (required)" and its
 * continuation lines to buf at *len; false when buf is too small. */
static bool attr_lines(char *buf, size_t size, size_t *len, enum kl_attr from, enum kl_attr to)
{
	for (int a = from; a <= (int)to; a++) {
		const struct kl_attr_info *ai = kl_attr_info(a);
		char left[64];
		snprintf(left, sizeof left, "%s %s", ai->flag, ai->arg);
		const char *text = ai->help;
		bool first = true;
		while (*text || first) {
			size_t n = strcspn(text, "\n");
			bool last = !text[n];
			int w = snprintf(buf + *len, size - *len, "      %-24s%.*s%s%s%s\n", first ? left : "",
					 (int)n, text, last && ai->alias ? " (alias " : "",
					 last && ai->alias ? ai->alias : "", last && ai->alias ? ")" : "");
			if (w < 0 || (size_t)w >= size - *len)
				return false;
			*len += (size_t)w;
			text += n + !last;
			first = false;
		}
	}
	return true;
}

/* Appends the n bytes of text at buf + *len. */
static bool append_n(char *buf, size_t size, size_t *len, const char *text, size_t n)
{
	if (n >= size - *len)
		return false;
	memcpy(buf + *len, text, n);
	*len += n;
	buf[*len] = '\0';
	return true;
}

static bool append(char *buf, size_t size, size_t *len, const char *text)
{
	return append_n(buf, size, len, text, strlen(text));
}

/* The option sections of the main help: "Lead:" to "-V, --version". */
static bool option_sections(char *buf, size_t size, size_t *len)
{
	return append(buf, size, len, "Lead:\n") &&
	       attr_lines(buf, size, len, KL_ATTR_NAME, KL_ATTR_TAGS) &&
	       append(buf, size, len, main_fields) &&
	       attr_lines(buf, size, len, KL_ATTR_SOURCE_UID, KL_ATTR_SOURCE_UID) &&
	       append(buf, size, len, main_import_and_form) &&
	       attr_lines(buf, size, len, KL_ATTR_REFERER, KL_ATTR_REFERER) &&
	       append(buf, size, len, main_tail);
}

/* The main help, put together once: the texts are constant, so the first
 * call's result serves every later one. */
static const char *main_help(void)
{
	static char buf[16384];
	static bool built;
	size_t len = 0;
	if (built)
		return buf;
	built = append(buf, sizeof buf, &len, main_head) && option_sections(buf, sizeof buf, &len) &&
		append(buf, sizeof buf, &len, main_end);
	return built ? buf : "kommo-lead: the help text does not fit its buffer\n";
}

/* The lines of the option sections: a section's header ("Lead:"), an
 * option's first line ("      --name NAME ..." or "  -v, --verbose ..."),
 * the further lines of its description (indented deeper), and notes
 * ("  Columns: ...", two spaces in). */
enum line_kind { LINE_BLANK, LINE_HEADER, LINE_OPTION, LINE_MORE, LINE_NOTE };

static enum line_kind line_kind(const char *line)
{
	size_t indent = strspn(line, " ");
	if (line[indent] == '\n' || !line[indent])
		return LINE_BLANK;
	if (indent == 0)
		return LINE_HEADER;
	if (indent > 6)
		return LINE_MORE;
	return line[indent] == '-' ? LINE_OPTION : LINE_NOTE;
}

/* Whether command c takes an option that an option's first line names
 * before its description ("      --progress, --no-progress"): the table's
 * command masks decide, so no second list can miss an option. */
static bool option_taken(const char *line, enum kl_cmd c)
{
	const char *flags = line + strspn(line, " ");
	size_t end = strcspn(flags, "\n");
	const char *gap = strstr(flags, "  ");
	if (gap && (size_t)(gap - flags) < end)
		end = (size_t)(gap - flags);
	for (const char *p = strstr(flags, "--"); p && p < flags + end; p = strstr(p + 2, "--")) {
		char name[64];
		struct opt d;
		snprintf(name, sizeof name, "%.*s", (int)strspn(p + 2, "abcdefghijklmnopqrstuvwxyz-"), p + 2);
		if (cli_find_long(name, &d) && (!d.cmds || (d.cmds & (1u << c))))
			return true;
	}
	return false;
}

/* Whether a note is for command c: those about one command are named
 * here; any other is for every command. */
static bool note_taken(const char *line, enum kl_cmd c)
{
	static const struct {
		const char *start;
		enum kl_cmd cmd;
	} own[] = {{"  With import,", KL_CMD_IMPORT}, {"  Columns:", KL_CMD_IMPORT}};
	for (size_t i = 0; i < sizeof own / sizeof own[0]; i++)
		if (strncmp(line, own[i].start, strlen(own[i].start)) == 0)
			return own[i].cmd == c;
	return true;
}

/* Appends the option sections' lines for command c: the options it takes,
 * the notes for it, and the headers of sections left with either; at most
 * one blank line in a row. */
static bool command_options(char *buf, size_t size, size_t *len, enum kl_cmd c)
{
	char all[16384];
	size_t all_len = 0, start = *len, header_at = *len;
	bool keep = false, section_kept = true;
	enum line_kind prev = LINE_BLANK;
	if (!option_sections(all, sizeof all, &all_len))
		return false;
	for (const char *line = all, *next; *line; line = next) {
		enum line_kind kind = line_kind(line);
		next = line + strcspn(line, "\n");
		next += *next == '\n';
		if (kind == LINE_HEADER) {
			if (!section_kept)
				*len = header_at; /* a section with nothing for c: its header goes */
			header_at = *len;
			section_kept = false;
			keep = true;
		} else if (kind == LINE_OPTION) {
			keep = option_taken(line, c);
		} else if (kind == LINE_NOTE && prev != LINE_NOTE) {
			keep = note_taken(line, c);
		} else if (kind == LINE_BLANK) {
			keep = *len > start + 1 && !(buf[*len - 1] == '\n' && buf[*len - 2] == '\n');
		}
		if (keep && (kind == LINE_OPTION || kind == LINE_NOTE))
			section_kept = true;
		prev = kind;
		if (keep && !append_n(buf, size, len, line, (size_t)(next - line)))
			return false;
	}
	if (!section_kept)
		*len = header_at;
	buf[*len] = '\0';
	return true;
}

/* submit's or import's help, put together once for each. */
static const char *command_help(enum kl_cmd c, const char *head, const char *end)
{
	static char bufs[2][16384];
	static bool built[2];
	int k = c == KL_CMD_IMPORT;
	size_t len = 0;
	if (built[k])
		return bufs[k];
	built[k] = append(bufs[k], sizeof bufs[k], &len, head) &&
		   command_options(bufs[k], sizeof bufs[k], &len, c) &&
		   append(bufs[k], sizeof bufs[k], &len, end);
	return built[k] ? bufs[k] : "kommo-lead: the help text does not fit its buffer\n";
}

const char *kl_cli_help(enum kl_cmd c)
{
	switch (c) {
	case KL_CMD_SUBMIT:
		return command_help(c, submit_head, submit_end);
	case KL_CMD_IMPORT:
		return command_help(c, import_head, import_end);
	case KL_CMD_CHECK:
		return check_help;
	case KL_CMD_FIELDS:
		return fields_help;
	case KL_CMD_CONFIG:
		return config_help;
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
		return main_help();
	}
}
