#include "kl_journal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kl_digest.h"
#include "kl_str.h"

#define MAGIC "kommo-lead-state 1\n"

/* An open-addressing table from a 32-hex key to a value. */
struct slot {
	char key[KL_JOURNAL_KEY];
	bool used;
	struct kl_journal_entry e;
	bool released;      /* Kommo surely did not create it: as if never sent */
};

struct table {
	struct slot *s;
	size_t cap, n;
};

/* Rows seen per content, 16 bytes a slot: every row of the input has one. */
struct count_slot {
	uint64_t h; /* 64 bits of the content's MD5; 0: empty */
	uint64_t n;
};

struct counts {
	struct count_slot *s;
	size_t cap, n;
};

struct kl_journal {
	int fd;
	char *path;
	struct table entries; /* what earlier runs recorded */
	struct counts counts; /* content -> identical rows seen so far */
	struct kl_buf out;    /* lines waiting to be written */
};

/* Returns the number of identical rows seen before, and counts this one. */
static int count_row(struct counts *c, uint64_t h, uint64_t *before)
{
	h |= 1; /* never 0, the empty mark */
	if ((c->n + 1) * 2 > c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 4096;
		struct count_slot *s = calloc(cap, sizeof *s);
		if (!s)
			return -1;
		for (size_t i = 0; i < c->cap; i++) {
			if (!c->s[i].h)
				continue;
			size_t j = c->s[i].h & (cap - 1);
			while (s[j].h)
				j = (j + 1) & (cap - 1);
			s[j] = c->s[i];
		}
		free(c->s);
		c->s = s;
		c->cap = cap;
	}
	size_t i = h & (c->cap - 1);
	while (c->s[i].h && c->s[i].h != h)
		i = (i + 1) & (c->cap - 1);
	if (!c->s[i].h) {
		c->s[i].h = h;
		c->n++;
	}
	*before = c->s[i].n++;
	return 0;
}

/* The first 64 bits of a hex digest. */
static uint64_t hash64(const char *hex)
{
	uint64_t h = 0;
	for (int i = 0; i < 16; i++)
		h = h * 16 + (uint64_t)(hex[i] <= '9' ? hex[i] - '0' : hex[i] - 'a' + 10);
	return h;
}

static size_t hash(const char *key)
{
	/* the key is already a digest: its first hex digits are hash enough */
	size_t h = 0;
	for (int i = 0; i < 15; i++)
		h = h * 16 + (size_t)(key[i] <= '9' ? key[i] - '0' : key[i] - 'a' + 10);
	return h;
}

static struct slot *lookup(const struct table *t, const char *key)
{
	if (!t->cap)
		return NULL;
	for (size_t i = hash(key) & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
		if (!t->s[i].used)
			return NULL;
		if (strcmp(t->s[i].key, key) == 0)
			return &t->s[i];
	}
}

static struct slot *insert(struct table *t, const char *key)
{
	struct slot *found = lookup(t, key);
	if (found)
		return found;
	if ((t->n + 1) * 2 > t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 1024;
		struct slot *s = calloc(cap, sizeof *s);
		if (!s)
			return NULL;
		for (size_t i = 0; i < t->cap; i++) {
			if (!t->s[i].used)
				continue;
			size_t j = hash(t->s[i].key) & (cap - 1);
			while (s[j].used)
				j = (j + 1) & (cap - 1);
			s[j] = t->s[i];
		}
		free(t->s);
		t->s = s;
		t->cap = cap;
	}
	size_t i = hash(key) & (t->cap - 1);
	while (t->s[i].used)
		i = (i + 1) & (t->cap - 1);
	memcpy(t->s[i].key, key, KL_JOURNAL_KEY);
	t->s[i].used = true;
	t->n++;
	return &t->s[i];
}

static void table_free(struct table *t)
{
	for (size_t i = 0; i < t->cap; i++)
		if (t->s[i].used)
			free((char *)t->s[i].e.uid);
	free(t->s);
	memset(t, 0, sizeof *t);
}

static bool is_key(const char *s)
{
	return strlen(s) == 32 && strspn(s, "0123456789abcdef") == 32;
}

/* Applies one line; a line that does not parse (torn by a crash) is skipped. */
static int apply_line(struct kl_journal *j, char *line)
{
	char *f[4];
	size_t n = 0;
	for (char *save = NULL, *t = strtok_r(line, "\t", &save); t && n < 4; t = strtok_r(NULL, "\t", &save))
		f[n++] = t;
	if (n == 3 && strcmp(f[0], "S") == 0 && is_key(f[1])) {
		struct slot *s = insert(&j->entries, f[1]);
		char *uid = kl_str_dup(f[2]);
		if (!s || !uid) {
			free(uid);
			return -1;
		}
		free((char *)s->e.uid);
		s->e.uid = uid;
		s->released = false;
	} else if (n == 2 && strcmp(f[0], "N") == 0 && is_key(f[1])) {
		struct slot *s = lookup(&j->entries, f[1]);
		if (s && !s->e.created)
			s->released = true;
	} else if (n == 4 && strcmp(f[0], "C") == 0 && is_key(f[1])) {
		struct slot *s = lookup(&j->entries, f[1]);
		if (s) { /* a C without its S is a torn file: ignored */
			s->e.created = true;
			s->e.lead_id = atoll(f[2]);
			s->e.contact_id = atoll(f[3]);
		}
	}
	return 0;
}

static int read_all(struct kl_journal *j, struct kl_err *err)
{
	struct kl_buf text = {0};
	char chunk[65536];
	ssize_t got;
	int rc = KL_OK;
	while ((got = read(j->fd, chunk, sizeof chunk)) != 0) {
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0 || kl_buf_append(&text, chunk, (size_t)got)) {
			rc = got < 0 ? kl_err_set(err, KL_EIO, "--state %s: cannot read: %s", j->path, strerror(errno))
				     : kl_err_oom(err);
			goto out;
		}
	}
	if (text.len == 0)
		goto out;
	if (text.len < sizeof MAGIC - 1 && memcmp(text.data, MAGIC, text.len) == 0) {
		/* the very first write was cut short: nothing was recorded yet */
		if (ftruncate(j->fd, 0) != 0)
			rc = kl_err_set(err, KL_EIO, "--state %s: cannot repair: %s", j->path, strerror(errno));
		goto out;
	}
	if (text.len < sizeof MAGIC - 1 || memcmp(text.data, MAGIC, sizeof MAGIC - 1) != 0) {
		rc = kl_err_set(err, KL_EDATA, "--state %s: not a kommo-lead state file; give a new file name or the one an earlier import made",
				j->path);
		goto out;
	}
	char *p = text.data + sizeof MAGIC - 1;
	for (;;) {
		char *nl = strchr(p, '\n');
		if (!nl) /* the last line without its newline was cut short: ignore it */
			break;
		*nl = '\0';
		if (apply_line(j, p)) {
			rc = kl_err_oom(err);
			goto out;
		}
		p = nl + 1;
	}
	/* a torn tail is cut off, so that the next line starts on a line of its own */
	size_t good = (size_t)(p - text.data);
	if (good < text.len && ftruncate(j->fd, (off_t)good) != 0)
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
	free(j->counts.s);
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
		return kl_err_oom(err);
	}
	kl_buf_free(&b);
	return KL_OK;
}

const struct kl_journal_entry *kl_journal_find(const struct kl_journal *j, const char *key)
{
	const struct slot *s = lookup(&j->entries, key);
	return s && !s->released ? &s->e : NULL;
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
