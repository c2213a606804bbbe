#include "core/kl_columns.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/kl_check.h"
#include "util/kl_str.h"

#define CREATED_AT (-2)
#define CUSTOM (-3)
#define REJECT_REASON (-4) /* the "error" column of a --rejects file */

/* Every spelling of a lead field, folded as kl_str_fold folds (lower case,
 * letters and digits only): the attribute's name and flag, the integration
 * guide's names, and the names people give such a column or such a custom
 * field in Russian. CSV headers and fields --env (matching an account's
 * field names) both read this one list. */
static const struct {
	const char *name;
	int field;
} spellings[] = {
	{"name", KL_ATTR_NAME},
	{"firstname", KL_ATTR_NAME},
	{"имя", KL_ATTR_NAME},
	{"lastname", KL_ATTR_LAST_NAME},
	{"surname", KL_ATTR_LAST_NAME},
	{"фамилия", KL_ATTR_LAST_NAME},
	{"phone", KL_ATTR_PHONE},
	{"mobile", KL_ATTR_PHONE},
	{"телефон", KL_ATTR_PHONE},
	{"тел", KL_ATTR_PHONE},
	{"мобильный", KL_ATTR_PHONE},
	{"рабочийтелефон", KL_ATTR_PHONE},
	{"email", KL_ATTR_EMAIL},
	{"mail", KL_ATTR_EMAIL},
	{"почта", KL_ATTR_EMAIL},
	{"электроннаяпочта", KL_ATTR_EMAIL},
	{"емейл", KL_ATTR_EMAIL},
	{"имейл", KL_ATTR_EMAIL},
	{"telegram", KL_ATTR_TELEGRAM},
	{"tg", KL_ATTR_TELEGRAM},
	{"телеграм", KL_ATTR_TELEGRAM},
	{"телеграмм", KL_ATTR_TELEGRAM},
	{"тг", KL_ATTR_TELEGRAM},
	{"career", KL_ATTR_CAREER},
	{"profession", KL_ATTR_CAREER},
	{"careerprofession", KL_ATTR_CAREER},
	{"карьера", KL_ATTR_CAREER},
	{"профессия", KL_ATTR_CAREER},
	{"специальность", KL_ATTR_CAREER},
	{"родзанятий", KL_ATTR_CAREER},
	{"education", KL_ATTR_EDUCATION},
	{"образование", KL_ATTR_EDUCATION},
	{"income", KL_ATTR_INCOME},
	{"доход", KL_ATTR_INCOME},
	{"доходы", KL_ATTR_INCOME},
	{"заработок", KL_ATTR_INCOME},
	{"зарплата", KL_ATTR_INCOME},
	{"utmsource", KL_ATTR_UTM_SOURCE},
	{"source", KL_ATTR_UTM_SOURCE},
	{"utmmedium", KL_ATTR_UTM_MEDIUM},
	{"utmcampaign", KL_ATTR_UTM_CAMPAIGN},
	{"utmcontent", KL_ATTR_UTM_CONTENT},
	{"utmterm", KL_ATTR_UTM_TERM},
	{"utmreferrer", KL_ATTR_UTM_REFERRER},
	{"price", KL_ATTR_PRICE},
	{"leadname", KL_ATTR_LEAD_NAME},
	{"tags", KL_ATTR_TAGS},
	{"tag", KL_ATTR_TAGS},
	{"теги", KL_ATTR_TAGS},
	{"sourceuid", KL_ATTR_SOURCE_UID},
	{"referer", KL_ATTR_REFERER},
	{"createdat", CREATED_AT},
	{"датасоздания", CREATED_AT},
	{"дата", CREATED_AT},
	{"error", REJECT_REASON},
};

#define NSPELLINGS (sizeof spellings / sizeof spellings[0])

const char *kl_columns_spelling(enum kl_attr a, size_t i)
{
	for (size_t k = 0; k < NSPELLINGS; k++)
		if (spellings[k].field == (int)a && i-- == 0)
			return spellings[k].name;
	return NULL;
}

int kl_columns_lookup(const char *name)
{
	char *t = kl_str_trimmed(name);
	if (!t)
		return -1;
	if (strncmp(t, "lead:", 5) == 0 || strncmp(t, "contact:", 8) == 0) {
		free(t);
		return CUSTOM;
	}
	char *f = kl_str_fold(t);
	int field = -1;
	for (size_t i = 0; f && i < NSPELLINGS && field == -1; i++)
		if (strcmp(f, spellings[i].name) == 0)
			field = spellings[i].field;
	free(f);
	free(t);
	return field;
}

void kl_columns_free(struct kl_columns *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++) {
		free(c->col[i].name);
		free(c->col[i].spec);
	}
	free(c->col);
	c->col = NULL;
	c->n = 0;
}

/* Checks "lead:ID[:number]" and stores it trimmed. */
static int custom_spec(struct kl_column *col, const char *field, const char *noun, struct kl_err *err)
{
	struct kl_lead probe = {0};
	char *spec = kl_str_trimmed(field);
	char *with_value = spec ? kl_str_printf("%s=x", spec) : NULL;
	char label[300];
	int rc;
	if (!with_value) {
		free(spec);
		return kl_err_oom(err);
	}
	snprintf(label, sizeof label, "%s \"%s\":", noun, col->name);
	rc = kl_lead_add_field_spec(&probe, with_value, label, err);
	kl_lead_free(&probe);
	free(with_value);
	if (rc) {
		free(spec);
		return kl_err_as(err, KL_EDATA);
	}
	col->spec = spec;
	return KL_OK;
}

static const char *mapped(const char *name, const struct kl_colmap *maps, size_t nmaps)
{
	for (size_t i = 0; i < nmaps; i++)
		if (strcmp(maps[i].column, name) == 0)
			return maps[i].field;
	return name;
}

/* What to say of a header that is not UTF-8: most likely Excel's cp1251. */
static const char *encoding_hint(const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!kl_str_utf8_valid(names[i], strlen(names[i])))
			return "; the header is not UTF-8 text: a file saved by Excel on Russian Windows needs --encoding cp1251";
	return "";
}

/* Maps one column: *unknown when its name (after --map) is no field. noun
 * ("column", "key") names it in a message. */
static int map_one(struct kl_column *col, const char *name, const struct kl_colmap *maps, size_t nmaps,
		   const char *noun, bool *unknown, struct kl_err *err)
{
	const char *field = mapped(name, maps, nmaps);
	*unknown = false;
	if (!(col->name = strdup(name)))
		return kl_err_oom(err);
	int what = kl_columns_lookup(field);
	col->kind = KL_COL_IGNORED;
	if (what == CUSTOM) {
		col->kind = KL_COL_CUSTOM;
		return custom_spec(col, field, noun, err);
	}
	if (what == CREATED_AT) {
		col->kind = KL_COL_CREATED_AT;
	} else if (what >= 0) {
		col->kind = KL_COL_ATTR;
		col->attr = what;
	} else if (what != REJECT_REASON) { /* a rejects file imports again as it is */
		*unknown = true;
	}
	return KL_OK;
}

/* one field, one column: two would have to pick a value at random */
static bool same_field(const struct kl_column *o, const struct kl_column *col)
{
	return o->kind == col->kind && col->kind != KL_COL_IGNORED &&
	       ((col->kind == KL_COL_ATTR && o->attr == col->attr) || col->kind == KL_COL_CREATED_AT ||
		(col->kind == KL_COL_CUSTOM && strcmp(o->spec, col->spec) == 0));
}

#define NAME_FIELDS "name lead fields as in kommo-lead(1) (name, last_name, phone, email, ..., lead:ID, contact:ID)"

int kl_columns_map(struct kl_columns *c, const char *const *names, size_t n,
		   const struct kl_colmap *maps, size_t nmaps, bool ignore_unknown, struct kl_err *err)
{
	char qbuf[256];
	struct kl_buf unknown = {0};
	int rc = KL_OK;
	size_t nunknown = 0;

	memset(c, 0, sizeof *c);
	if (!(c->col = calloc(n ? n : 1, sizeof *c->col)))
		return kl_err_oom(err);
	for (size_t i = 0; i < nmaps; i++) {
		bool used = false;
		for (size_t j = 0; j < n && !used; j++)
			used = strcmp(names[j], maps[i].column) == 0;
		if (!used) {
			rc = kl_err_set(err, KL_EUSAGE, "--map %s=%s: there is no column %s%s",
					maps[i].column, maps[i].field,
					kl_str_quote(maps[i].column, qbuf, sizeof qbuf), encoding_hint(names, n));
			goto out;
		}
	}
	for (size_t i = 0; i < n; i++) {
		struct kl_column *col = &c->col[i];
		bool is_unknown;
		c->n++;
		if ((rc = map_one(col, names[i], maps, nmaps, "column", &is_unknown, err)))
			goto out;
		if (is_unknown && !ignore_unknown &&
		    kl_buf_appendf(&unknown, "%s%s", nunknown++ ? ", " : "", kl_str_quote(names[i], qbuf, sizeof qbuf))) {
			rc = kl_err_oom(err);
			goto out;
		}
		for (size_t j = 0; j < i; j++) {
			if (same_field(&c->col[j], col)) {
				rc = kl_err_set(err, KL_EDATA, "columns \"%s\" and \"%s\" fill the same field; keep one (or --map one elsewhere)",
						c->col[j].name, col->name);
				goto out;
			}
		}
	}
	if (nunknown) {
		rc = kl_err_set(err, KL_EDATA,
				"unknown column%s %s: " NAME_FIELDS ", rename with --map COLUMN=FIELD, or pass --ignore-unknown-columns%s",
				nunknown > 1 ? "s" : "", unknown.data, encoding_hint(names, n));
		goto out;
	}
out:
	kl_buf_free(&unknown);
	if (rc)
		kl_columns_free(c);
	return rc;
}

/* The known name nearest a mistyped one (folded), or NULL: a spelling of a
 * field (shown as the field's name), or a name --map gives. */
static const char *suggest(const char *name, const struct kl_colmap *maps, size_t nmaps)
{
	char *f = kl_str_fold(name);
	const char *best = NULL;
	size_t best_d = 3; /* more edits than two is another word */
	for (size_t i = 0; f && *f && i < NSPELLINGS; i++) {
		size_t d = kl_str_distance(f, spellings[i].name);
		if (d < best_d && d < strlen(f) && spellings[i].field != REJECT_REASON) {
			best_d = d;
			best = spellings[i].field >= 0 ? kl_attr_info(spellings[i].field)->name : "created_at";
		}
	}
	for (size_t i = 0; i < nmaps; i++)
		if (kl_str_distance(name, maps[i].column) < best_d)
			best = maps[i].column, best_d = kl_str_distance(name, maps[i].column);
	free(f);
	return best;
}

int kl_columns_field(const char *name, const struct kl_colmap *maps, size_t nmaps, bool ignore_unknown,
		     char *field, size_t size, struct kl_err *err)
{
	struct kl_column col = {0};
	bool unknown;
	char qbuf[256];
	int rc = map_one(&col, name, maps, nmaps, "key", &unknown, err);
	*field = '\0';
	if (rc == KL_OK && unknown && !ignore_unknown) {
		const char *near = suggest(name, maps, nmaps);
		rc = kl_err_set(err, KL_EDATA, "key %s is not a column%s%s%s: " NAME_FIELDS ", rename with --map KEY=FIELD, or pass --ignore-unknown-columns",
				kl_str_quote(name, qbuf, sizeof qbuf), near ? " (did you mean \"" : "", near ? near : "",
				near ? "\"?)" : "");
	} else if (rc == KL_OK && col.kind == KL_COL_ATTR) {
		snprintf(field, size, "%s", kl_attr_info(col.attr)->name);
	} else if (rc == KL_OK && col.kind != KL_COL_IGNORED) {
		snprintf(field, size, "%s", col.kind == KL_COL_CUSTOM ? col.spec : "created_at");
	}
	free(col.name);
	free(col.spec);
	return rc;
}

int kl_columns_add(struct kl_columns *c, const char *name, const struct kl_colmap *maps, size_t nmaps,
		   struct kl_err *err)
{
	struct kl_column *col = realloc(c->col, (c->n + 1) * sizeof *col);
	bool unknown;
	if (!col)
		return kl_err_oom(err);
	c->col = col;
	col = &c->col[c->n];
	*col = (struct kl_column){0};
	int rc = map_one(col, name, maps, nmaps, "key", &unknown, err);
	if (rc == KL_EDATA) { /* a custom field key refused on its lines: nothing of it is read */
		free(col->spec);
		*col = (struct kl_column){.name = col->name, .kind = KL_COL_IGNORED};
		rc = col->name ? KL_OK : kl_err_oom(err);
	}
	if (rc) {
		free(col->name);
		return rc;
	}
	c->n++;
	return KL_OK;
}
