/* State files of the text format kommo-lead wrote before its journal moved
 * to SQLite: "kommo-lead-state 1", then a line a record, "S key uid", "C key
 * lead_id contact_id", "N key". Read once, to be converted; nothing writes
 * this format any more. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "journal_int.h"
#include "util/kl_str.h"

/* A whole number as written, or false. */
static bool parse_id(const char *s, long long *out)
{
	char *end;
	errno = 0;
	*out = strtoll(s, &end, 10);
	return *s && !*end && !errno;
}

/* Applies one line; *bad when it does not parse (a line we did not write). */
static int apply_line(char *line, size_t len, kl_journal_legacy_fn *fn, void *ctx, bool *bad,
		      struct kl_err *err)
{
	char *f[5];
	size_t n = 0;
	unsigned char key[16];
	long long lead, contact;
	*bad = false;
	if (memchr(line, '\0', len))
		return *bad = true, KL_OK;
	for (char *save = NULL, *t = strtok_r(line, "\t", &save); t && n < 5; t = strtok_r(NULL, "\t", &save))
		f[n++] = t;
	if (n < 2 || !kl_journal_key_parse(f[1], key))
		return *bad = true, KL_OK;
	if (n == 3 && strcmp(f[0], "S") == 0)
		return fn(ctx, 'S', key, f[2], 0, 0, err);
	if (n == 2 && strcmp(f[0], "N") == 0)
		return fn(ctx, 'N', key, NULL, 0, 0, err);
	if (n == 4 && strcmp(f[0], "C") == 0 && parse_id(f[2], &lead) && parse_id(f[3], &contact))
		return fn(ctx, 'C', key, NULL, lead, contact, err);
	return *bad = true, KL_OK;
}

int kl_journal_legacy_read(int fd, const char *path, kl_journal_legacy_fn *fn, void *ctx,
			   struct kl_journal_legacy_stats *st, struct kl_err *err)
{
	struct kl_buf text = {0}; /* the part of a line the last chunk ended in, and a chunk */
	char chunk[65536];
	long line = 1; /* the magic line */
	int rc = KL_OK;
	*st = (struct kl_journal_legacy_stats){0};
	for (;;) {
		ssize_t got = read(fd, chunk, sizeof chunk);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			rc = kl_err_set(err, KL_EIO, "--state %s: cannot read: %s", path, strerror(errno));
			break;
		}
		if (got == 0)
			break; /* what is left is a line cut short by a crash: never acted on */
		if (kl_buf_append(&text, chunk, (size_t)got)) {
			rc = kl_err_oom(err);
			break;
		}
		char *p = text.data, *end = text.data + text.len, *nl;
		while (rc == KL_OK && (nl = memchr(p, '\n', (size_t)(end - p)))) {
			*nl = '\0';
			line++;
			bool bad;
			rc = apply_line(p, (size_t)(nl - p), fn, ctx, &bad, err);
			if (bad && !st->bad_lines++)
				st->first_bad = line;
			p = nl + 1;
		}
		if (rc)
			break;
		memmove(text.data, p, (size_t)(end - p));
		text.len = (size_t)(end - p);
	}
	kl_buf_free(&text);
	return rc;
}
