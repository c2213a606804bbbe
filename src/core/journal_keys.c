/* Row keys for the --state journal: a row's content and how many identical
 * rows came before it. The recipe is that of every earlier version, so that
 * the state files they wrote keep matching. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "journal_int.h"
#include "util/kl_digest.h"
#include "util/kl_str.h"

/* --- identical rows in this run -------------------------------------------
 *
 * A slot is 8 bytes: 63 bits of the content's MD5 (the tag; never 0, which
 * marks an empty slot) and one bit saying the content came more than once:
 * then its count is in the overflow table, 16 bytes a slot, one for each
 * content that repeats. Inputs without repeated rows need no more.
 *
 * Two different contents with the same tag (for a million distinct rows,
 * odds of about 1 in 18,000,000 that any pair does) share a count, as they
 * did when the slot held the count itself: the numbering is the same as it
 * was, and state files written before read the same. Their keys still
 * differ (a key holds the whole MD5 of its content), and come out the same
 * in every run over the same input in the same order. Only if the input
 * changes the order of the two, or drops one, are keys numbered differently
 * from the earlier run's: then a row is not found in the journal and is
 * sent again. A row that was not sent is never skipped: a key found means a
 * row with that content was sent, and no two rows of a run get the same key,
 * so no more rows with a content are skipped than were created before.
 */

#define MORE ((uint64_t)1) /* the content came more than once */

struct big_count {
	uint64_t tag, n; /* tag 0: empty */
};

struct kl_journal_counts {
	uint64_t *s; /* tag | MORE */
	size_t cap, n;
	struct big_count *big;
	size_t bigcap, bign;
};

static size_t tag_home(uint64_t tag, size_t cap)
{
	return (size_t)(tag >> 1) & (cap - 1);
}

static struct big_count *big_find(struct kl_journal_counts *c, uint64_t tag, bool add)
{
	if (add && (c->bign + 1) * 4 > c->bigcap * 3) {
		size_t cap = c->bigcap ? c->bigcap * 2 : 64;
		struct big_count *s = calloc(cap, sizeof *s);
		if (!s)
			return NULL;
		for (size_t i = 0; i < c->bigcap; i++) {
			if (!c->big[i].tag)
				continue;
			size_t k = tag_home(c->big[i].tag, cap);
			while (s[k].tag)
				k = (k + 1) & (cap - 1);
			s[k] = c->big[i];
		}
		free(c->big);
		c->big = s;
		c->bigcap = cap;
	}
	if (!c->bigcap)
		return NULL;
	size_t k = tag_home(tag, c->bigcap);
	while (c->big[k].tag && c->big[k].tag != tag)
		k = (k + 1) & (c->bigcap - 1);
	if (!c->big[k].tag) {
		if (!add)
			return NULL;
		c->big[k].tag = tag;
		c->big[k].n = 0;
		c->bign++;
	}
	return &c->big[k];
}

/* Sets *before to the number of rows with this content hash seen before, and
 * counts this one. -1: out of memory, nothing counted. */
static int count_row(struct kl_journal_counts *c, uint64_t h, uint64_t *before)
{
	uint64_t tag = h & ~MORE;
	if (!tag) /* one hash in 2^63 */
		tag = 2;
	if ((c->n + 1) * 4 > c->cap * 3) {
		size_t cap = c->cap ? c->cap * 2 : 4096;
		uint64_t *s = calloc(cap, sizeof *s);
		if (!s)
			return -1;
		for (size_t i = 0; i < c->cap; i++) {
			if (!c->s[i])
				continue;
			size_t k = tag_home(c->s[i], cap);
			while (s[k])
				k = (k + 1) & (cap - 1);
			s[k] = c->s[i];
		}
		free(c->s);
		c->s = s;
		c->cap = cap;
	}
	size_t i = tag_home(tag, c->cap);
	while (c->s[i] && (c->s[i] & ~MORE) != tag)
		i = (i + 1) & (c->cap - 1);
	if (!c->s[i]) {
		c->s[i] = tag;
		c->n++;
		*before = 0;
		return 0;
	}
	bool first_repeat = !(c->s[i] & MORE);
	struct big_count *b = big_find(c, tag, first_repeat);
	if (!b)
		return -1; /* out of memory (a MORE without its count cannot happen) */
	if (first_repeat) {
		b->n = 1;
		c->s[i] |= MORE;
	}
	*before = b->n++;
	return 0;
}

static void counts_free(struct kl_journal_counts *c)
{
	free(c->s);
	free(c->big);
	memset(c, 0, sizeof *c);
}

static int hex_digit(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

bool kl_journal_key_parse(const char *s, unsigned char key[16])
{
	for (int i = 0; i < 16; i++) {
		int hi = hex_digit(s[2 * i]), lo = hi < 0 ? -1 : hex_digit(s[2 * i + 1]);
		if (lo < 0)
			return false;
		key[i] = (unsigned char)(hi << 4 | lo);
	}
	return s[32] == '\0';
}

void kl_journal_key_hex(const unsigned char key[16], char hex[KL_JOURNAL_KEY])
{
	static const char digits[] = "0123456789abcdef";
	for (int i = 0; i < 16; i++) {
		hex[2 * i] = digits[key[i] >> 4];
		hex[2 * i + 1] = digits[key[i] & 15];
	}
	hex[32] = '\0';
}

/* The first 64 bits of a hex digest. */
static uint64_t hash64(const char *hex)
{
	uint64_t h = 0;
	for (int i = 0; i < 16; i++)
		h = h * 16 + (uint64_t)hex_digit(hex[i]);
	return h;
}

void kl_journal_keys_free(struct kl_journal_counts *c)
{
	if (!c)
		return;
	counts_free(c);
	free(c);
}

int kl_journal_keys_make(struct kl_journal_counts **c, const char *const *fields,
			 const size_t *lens, size_t n, char key[KL_JOURNAL_KEY], struct kl_err *err)
{
	struct kl_buf b = {0};
	char content[KL_JOURNAL_KEY];
	int fail = 0;
	if (!*c && !(*c = calloc(1, sizeof **c)))
		return kl_err_oom(err);
	for (size_t i = 0; i < n; i++) {
		fail |= kl_buf_appendf(&b, "%zu:", lens[i]); /* lengths: no two rows alike by accident */
		fail |= kl_buf_append(&b, fields[i], lens[i]);
	}
	if (fail || kl_digest_md5_hex(b.data ? b.data : "", b.len, content)) {
		kl_buf_free(&b);
		return fail ? kl_err_oom(err) : kl_err_set(err, KL_ESOFTWARE, "MD5 from libcrypto failed");
	}
	uint64_t nth;
	if (count_row(*c, hash64(content), &nth)) {
		kl_buf_free(&b);
		return kl_err_oom(err);
	}
	b.len = 0;
	fail = kl_buf_appendf(&b, "%s#%llu", content, (unsigned long long)nth);
	if (fail || kl_digest_md5_hex(b.data, b.len, key)) {
		kl_buf_free(&b);
		return fail ? kl_err_oom(err) : kl_err_set(err, KL_ESOFTWARE, "MD5 from libcrypto failed");
	}
	kl_buf_free(&b);
	return KL_OK;
}
