#include "core/kl_journal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/kl_digest.h"
#include "util/kl_str.h"

#define MAGIC "kommo-lead-state 1\n"
#define MAGIC_LEN (sizeof MAGIC - 1)

/*
 * Memory. Every distinct content among the rows read costs a count slot of
 * 8 bytes (the table at most 3/4 full: 10.7 to 21 bytes), and a content that
 * repeats 16 bytes more in the overflow table. Every row an earlier run
 * recorded costs an entry of 49 bytes (in blocks that never move), 4 bytes
 * of index (at most 3/4 full: 5.3 to 10.7 bytes) and its uid in a string
 * pool (33 bytes for the usual 32 hex digits). While a table doubles, the
 * old one and the new are both held. The state file is read a chunk at a
 * time, never whole.
 */

/* --- what earlier runs recorded ---------------------------------------- */

#define BLOCK 1024 /* entries a block */

struct entry {
	unsigned char key[16]; /* the key's 32 hex digits as bytes */
	struct kl_journal_entry e;
};

struct block {
	struct entry e[BLOCK];
	bool released[BLOCK]; /* Kommo surely did not create it: as if never sent */
};

/* Strings that live as long as the journal, packed end to end. */
#define POOL_BLOCK 60000

struct pool_block {
	struct pool_block *next;
	size_t used, cap;
	char data[];
};

struct table {
	uint32_t *idx;         /* open addressing: 1 + an entry's number; 0: empty */
	size_t cap, n;         /* idx slots (a power of 2), entries */
	struct block **blocks; /* entry i is blocks[i / BLOCK]->e[i % BLOCK] */
	size_t nblocks;
	struct pool_block *uids;
};

static struct entry *entry_at(const struct table *t, size_t i)
{
	return &t->blocks[i / BLOCK]->e[i % BLOCK];
}

/* The key is already a digest: any 64 of its bits are hash enough. */
static size_t key_hash(const unsigned char key[16])
{
	uint64_t h;
	memcpy(&h, key, sizeof h);
	return (size_t)h;
}

/* The number of key's entry, or SIZE_MAX. */
static size_t lookup(const struct table *t, const unsigned char key[16])
{
	if (!t->cap)
		return SIZE_MAX;
	for (size_t i = key_hash(key) & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
		uint32_t v = t->idx[i];
		if (!v)
			return SIZE_MAX;
		if (memcmp(entry_at(t, v - 1)->key, key, 16) == 0)
			return v - 1;
	}
}

static void place(uint32_t *idx, size_t cap, const unsigned char key[16], size_t i)
{
	size_t k = key_hash(key) & (cap - 1);
	while (idx[k])
		k = (k + 1) & (cap - 1);
	idx[k] = (uint32_t)(i + 1);
}

/* The number of key's entry, a new one if need be; SIZE_MAX when out of memory. */
static size_t insert(struct table *t, const unsigned char key[16])
{
	size_t found = lookup(t, key);
	if (found != SIZE_MAX)
		return found;
	if (t->n >= UINT32_MAX - 1)
		return SIZE_MAX;
	if ((t->n + 1) * 4 > t->cap * 3) {
		size_t cap = t->cap ? t->cap * 2 : 1024;
		uint32_t *idx = calloc(cap, sizeof *idx);
		if (!idx)
			return SIZE_MAX;
		for (size_t i = 0; i < t->n; i++)
			place(idx, cap, entry_at(t, i)->key, i);
		free(t->idx);
		t->idx = idx;
		t->cap = cap;
	}
	if (t->n / BLOCK == t->nblocks) {
		struct block **bs = realloc(t->blocks, (t->nblocks + 1) * sizeof *bs);
		if (!bs)
			return SIZE_MAX;
		t->blocks = bs;
		if (!(bs[t->nblocks] = malloc(sizeof **bs)))
			return SIZE_MAX;
		t->nblocks++;
	}
	size_t i = t->n++;
	struct entry *e = entry_at(t, i);
	memcpy(e->key, key, 16);
	e->e = (struct kl_journal_entry){0};
	t->blocks[i / BLOCK]->released[i % BLOCK] = false;
	place(t->idx, t->cap, key, i);
	return i;
}

static const char *pool_dup(struct pool_block **pool, const char *s)
{
	size_t n = strlen(s) + 1;
	struct pool_block *b = *pool;
	if (!b || b->cap - b->used < n) {
		size_t cap = n > POOL_BLOCK / 4 ? n : POOL_BLOCK; /* a long one: a block of its own */
		if (!(b = malloc(sizeof *b + cap)))
			return NULL;
		b->used = 0;
		b->cap = cap;
		if (cap == n && *pool) { /* the current block keeps taking short ones */
			b->next = (*pool)->next;
			(*pool)->next = b;
		} else {
			b->next = *pool;
			*pool = b;
		}
	}
	char *d = b->data + b->used;
	memcpy(d, s, n);
	b->used += n;
	return d;
}

static void table_free(struct table *t)
{
	for (size_t i = 0; i < t->nblocks; i++)
		free(t->blocks[i]);
	free(t->blocks);
	free(t->idx);
	for (struct pool_block *b = t->uids, *next; b; b = next) {
		next = b->next;
		free(b);
	}
	memset(t, 0, sizeof *t);
}

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

struct counts {
	uint64_t *s; /* tag | MORE */
	size_t cap, n;
	struct big_count *big;
	size_t bigcap, bign;
};

static size_t tag_home(uint64_t tag, size_t cap)
{
	return (size_t)(tag >> 1) & (cap - 1);
}

static struct big_count *big_find(struct counts *c, uint64_t tag, bool add)
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
static int count_row(struct counts *c, uint64_t h, uint64_t *before)
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

static void counts_free(struct counts *c)
{
	free(c->s);
	free(c->big);
	memset(c, 0, sizeof *c);
}

struct kl_journal {
	int fd;
	char *path;
	struct table entries; /* what earlier runs recorded */
	struct counts counts; /* content -> identical rows seen so far */
	struct kl_buf out;    /* lines waiting to be written */
};

static int hex_digit(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* A key as written (32 lower-case hex digits) as bytes; false if s is none. */
static bool parse_key(const char *s, unsigned char key[16])
{
	for (int i = 0; i < 16; i++) {
		int hi = hex_digit(s[2 * i]), lo = hi < 0 ? -1 : hex_digit(s[2 * i + 1]);
		if (lo < 0)
			return false;
		key[i] = (unsigned char)(hi << 4 | lo);
	}
	return s[32] == '\0';
}

/* The first 64 bits of a hex digest. */
static uint64_t hash64(const char *hex)
{
	uint64_t h = 0;
	for (int i = 0; i < 16; i++)
		h = h * 16 + (uint64_t)hex_digit(hex[i]);
	return h;
}

/* Applies one line; a line that does not parse (torn by a crash) is skipped. */
static int apply_line(struct kl_journal *j, char *line, size_t len)
{
	char *f[4];
	size_t n = 0;
	unsigned char key[16];
	if (memchr(line, '\0', len))
		return 0; /* not a line we wrote */
	for (char *save = NULL, *t = strtok_r(line, "\t", &save); t && n < 4; t = strtok_r(NULL, "\t", &save))
		f[n++] = t;
	if (n < 2 || !parse_key(f[1], key))
		return 0;
	struct table *t = &j->entries;
	if (n == 3 && strcmp(f[0], "S") == 0) {
		size_t i = insert(t, key);
		if (i == SIZE_MAX)
			return -1;
		struct entry *e = entry_at(t, i);
		/* sent again: mostly with the same uid, which is kept */
		if (!e->e.uid || strcmp(e->e.uid, f[2]) != 0) {
			const char *uid = pool_dup(&t->uids, f[2]);
			if (!uid)
				return -1;
			e->e.uid = uid;
		}
		t->blocks[i / BLOCK]->released[i % BLOCK] = false;
	} else if (n == 2 && strcmp(f[0], "N") == 0) {
		size_t i = lookup(t, key);
		if (i != SIZE_MAX && !entry_at(t, i)->e.created)
			t->blocks[i / BLOCK]->released[i % BLOCK] = true;
	} else if (n == 4 && strcmp(f[0], "C") == 0) {
		size_t i = lookup(t, key);
		if (i != SIZE_MAX) { /* a C without its S is a torn file: ignored */
			struct entry *e = entry_at(t, i);
			e->e.created = true;
			e->e.lead_id = atoll(f[2]);
			e->e.contact_id = atoll(f[3]);
		}
	}
	return 0;
}

/* Reads the file a chunk at a time: memory for the longest line, not the file. */
static int read_all(struct kl_journal *j, struct kl_err *err)
{
	struct kl_buf text = {0}; /* the part of a line the last chunk ended in, and a chunk */
	char chunk[65536];
	size_t good = 0; /* bytes of the file up to the end of its last whole line */
	bool header = false, eof = false;
	int rc = KL_OK;
	while (!eof) {
		ssize_t got = read(j->fd, chunk, sizeof chunk);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			rc = kl_err_set(err, KL_EIO, "--state %s: cannot read: %s", j->path, strerror(errno));
			goto out;
		}
		if (got == 0)
			eof = true;
		else if (kl_buf_append(&text, chunk, (size_t)got)) {
			rc = kl_err_oom(err);
			goto out;
		}
		size_t from = 0;
		if (!header) {
			if (text.len < MAGIC_LEN && !eof)
				continue;
			if (text.len == 0)
				goto out;
			if (text.len < MAGIC_LEN && memcmp(text.data, MAGIC, text.len) == 0) {
				/* the very first write was cut short: nothing was recorded yet */
				if (ftruncate(j->fd, 0) != 0)
					rc = kl_err_set(err, KL_EIO, "--state %s: cannot repair: %s", j->path,
							strerror(errno));
				goto out;
			}
			if (text.len < MAGIC_LEN || memcmp(text.data, MAGIC, MAGIC_LEN) != 0) {
				rc = kl_err_set(err, KL_EDATA, "--state %s: not a kommo-lead state file; give a new file name or the one an earlier import made",
						j->path);
				goto out;
			}
			header = true;
			from = good = MAGIC_LEN;
		}
		char *p = text.data + from, *end = text.data + text.len, *nl;
		while ((nl = memchr(p, '\n', (size_t)(end - p)))) {
			*nl = '\0';
			if (apply_line(j, p, (size_t)(nl - p))) {
				rc = kl_err_oom(err);
				goto out;
			}
			good += (size_t)(nl + 1 - p);
			p = nl + 1;
		}
		/* the start of a line the next chunk ends, or at the end a line cut short */
		memmove(text.data, p, (size_t)(end - p));
		text.len = (size_t)(end - p);
	}
	/* a torn tail is cut off, so that the next line starts on a line of its own */
	if (text.len > 0 && ftruncate(j->fd, (off_t)good) != 0)
		rc = kl_err_set(err, KL_EIO, "--state %s: cannot repair the torn last line: %s", j->path,
				strerror(errno));
out:
	kl_buf_free(&text);
	return rc;
}

int kl_journal_open(struct kl_journal **out, const char *path, struct kl_err *err)
{
	struct kl_journal *j = calloc(1, sizeof *j);
	int rc;
	if (!j || !(j->path = kl_str_dup(path))) {
		free(j);
		return kl_err_oom(err);
	}
	j->fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (j->fd < 0) {
		rc = kl_err_set(err, KL_EIO, "--state %s: cannot open: %s", path, strerror(errno));
		goto fail;
	}
	if (flock(j->fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno == EWOULDBLOCK)
			rc = kl_err_set(err, KL_ETEMPFAIL,
					"--state %s: another kommo-lead import is using this state file (an overlapping cron run?); try again when it has finished",
					path);
		else
			rc = kl_err_set(err, KL_EIO, "--state %s: cannot lock: %s", path, strerror(errno));
		goto fail;
	}
	if ((rc = read_all(j, err)))
		goto fail;
	struct stat st;
	if (fstat(j->fd, &st) == 0 && st.st_size == 0) {
		if (kl_buf_append(&j->out, MAGIC, sizeof MAGIC - 1) || (rc = kl_journal_sync(j, err))) {
			rc = rc ? rc : kl_err_oom(err);
			goto fail;
		}
	}
	*out = j;
	return KL_OK;
fail:
	kl_journal_close(j);
	return rc;
}

void kl_journal_close(struct kl_journal *j)
{
	if (!j)
		return;
	if (j->fd >= 0)
		close(j->fd); /* releases the lock */
	table_free(&j->entries);
	counts_free(&j->counts);
	kl_buf_free(&j->out);
	free(j->path);
	free(j);
}

int kl_journal_row_key(struct kl_journal *j, const char *const *fields, const size_t *lens,
		       size_t n, char key[KL_JOURNAL_KEY], struct kl_err *err)
{
	struct kl_buf b = {0};
	char content[KL_JOURNAL_KEY];
	int fail = 0;
	for (size_t i = 0; i < n; i++) {
		fail |= kl_buf_appendf(&b, "%zu:", lens[i]); /* lengths: no two rows alike by accident */
		fail |= kl_buf_append(&b, fields[i], lens[i]);
	}
	if (fail || kl_digest_md5_hex(b.data ? b.data : "", b.len, content)) {
		kl_buf_free(&b);
		return fail ? kl_err_oom(err) : kl_err_set(err, KL_ESOFTWARE, "MD5 from libcrypto failed");
	}
	uint64_t nth;
	if (count_row(&j->counts, hash64(content), &nth)) {
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

const struct kl_journal_entry *kl_journal_find(const struct kl_journal *j, const char *key)
{
	unsigned char k[16];
	size_t i;
	if (!parse_key(key, k) || (i = lookup(&j->entries, k)) == SIZE_MAX ||
	    j->entries.blocks[i / BLOCK]->released[i % BLOCK] || !entry_at(&j->entries, i)->e.uid)
		return NULL;
	return &entry_at(&j->entries, i)->e;
}

int kl_journal_sending(struct kl_journal *j, const char *const *keys, const char *const *uids,
		       size_t n, struct kl_err *err)
{
	for (size_t i = 0; i < n; i++)
		if (kl_buf_appendf(&j->out, "S\t%s\t%s\n", keys[i], uids[i]))
			return kl_err_oom(err);
	return kl_journal_sync(j, err);
}

int kl_journal_created(struct kl_journal *j, const char *key, long long lead_id,
		       long long contact_id, struct kl_err *err)
{
	if (kl_buf_appendf(&j->out, "C\t%s\t%lld\t%lld\n", key, lead_id, contact_id))
		return kl_err_oom(err);
	return KL_OK;
}

int kl_journal_not_created(struct kl_journal *j, const char *key, struct kl_err *err)
{
	if (kl_buf_appendf(&j->out, "N\t%s\n", key))
		return kl_err_oom(err);
	return KL_OK;
}

int kl_journal_sync(struct kl_journal *j, struct kl_err *err)
{
	size_t off = 0;
	while (off < j->out.len) {
		ssize_t w = write(j->fd, j->out.data + off, j->out.len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			/* keep only what is not on disk yet, so a later sync does not repeat it */
			int e = errno;
			memmove(j->out.data, j->out.data + off, j->out.len - off);
			j->out.len -= off;
			return kl_err_set(err, KL_EIO, "--state %s: cannot write: %s", j->path, strerror(e));
		}
		off += (size_t)w;
	}
	j->out.len = 0;
	/* on disk before the request goes, or before the next one does */
	if (fdatasync(j->fd) != 0)
		return kl_err_set(err, KL_EIO, "--state %s: cannot sync: %s", j->path, strerror(errno));
	return KL_OK;
}
