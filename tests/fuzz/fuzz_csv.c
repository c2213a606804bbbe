/* libFuzzer target: the CSV reader, the header mapping and the rejects
 * writer on any bytes, in both encodings. Every record read is written back
 * through kl_csv_writer_* in the dialect read (as --rejects writes rows), and
 * reading what was written must give the same records again, up to what the
 * writer is known to lose (see expected()). Built with -DKL_FUZZ=ON and
 * clang; tests/fuzz/replay.c replays the corpus. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/kl_columns.h"
#include "core/kl_csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One record as read: copies, since the reader's are valid until its next call. */
struct rec {
	size_t n;
	char **field; /* NUL-terminated */
	size_t *len;
};

struct recs {
	size_t n, cap;
	struct rec *r;
};

static void recs_free(struct recs *rs)
{
	for (size_t i = 0; i < rs->n; i++) {
		for (size_t j = 0; j < rs->r[i].n; j++)
			free(rs->r[i].field[j]);
		free(rs->r[i].field);
		free(rs->r[i].len);
	}
	free(rs->r);
	memset(rs, 0, sizeof *rs);
}

static struct rec *recs_add(struct recs *rs, size_t nfields)
{
	if (rs->n == rs->cap) {
		rs->cap = rs->cap ? rs->cap * 2 : 16;
		if (!(rs->r = realloc(rs->r, rs->cap * sizeof *rs->r)))
			abort();
	}
	struct rec *r = &rs->r[rs->n++];
	r->n = nfields;
	r->field = calloc(nfields ? nfields : 1, sizeof *r->field);
	r->len = calloc(nfields ? nfields : 1, sizeof *r->len);
	if (!r->field || !r->len)
		abort();
	return r;
}

static void rec_set(struct rec *r, size_t i, const char *v, size_t len)
{
	if (!(r->field[i] = malloc(len + 1)))
		abort();
	memcpy(r->field[i], v, len);
	r->field[i][len] = '\0';
	r->len[i] = len;
}

/* Bytes in a valid UTF-8 sequence at p (at most n), or 0 when p starts none
 * (good enough here: what the CP1251 reader hands out is iconv's UTF-8 plus
 * the bytes CP1251 has no character for). */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
	size_t k = p[0] < 0x80 ? 1 : p[0] >= 0xC2 && p[0] <= 0xDF ? 2 : p[0] >= 0xE0 && p[0] <= 0xEF ? 3
		: p[0] >= 0xF0 && p[0] <= 0xF4 ? 4 : 0;
	if (k == 0 || k > n)
		return 0;
	for (size_t i = 1; i < k; i++)
		if ((p[i] & 0xC0) != 0x80)
			return 0;
	return k;
}

/* What reading the writer's output gives back for field v, in the reader's
 * UTF-8: the writer takes fields as C strings (a NUL byte ends one), and its
 * CP1251 output has one '?' for each byte that is not UTF-8 with the
 * continuation bytes after it (in CP1251 input, 0x98, which CP1251 has no
 * character for, so a run of them is one '?'). */
static void expected(struct rec *out, size_t i, const char *v, enum kl_csv_encoding enc)
{
	size_t n = strlen(v);
	if (enc == KL_CSV_UTF8) {
		rec_set(out, i, v, n);
		return;
	}
	char *e = malloc(n + 1);
	if (!e)
		abort();
	const unsigned char *p = (const unsigned char *)v;
	size_t k = 0;
	for (size_t at = 0; at < n;) {
		size_t s = utf8_seq(p + at, n - at);
		if (s) {
			memcpy(e + k, p + at, s);
			k += s;
			at += s;
			continue;
		}
		e[k++] = '?';
		for (at++; at < n && (p[at] & 0xC0) == 0x80; at++)
			;
	}
	rec_set(out, i, e, k);
	free(e);
}

static bool blank(const struct rec *r)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->len[i])
			return false;
	return true;
}

static char tmp_name[4096];

static void remove_tmp(void)
{
	unlink(tmp_name);
}

/* The file the rows are written to. Unlinked at once and used through
 * /proc/self/fd where there is one, so that a crash leaves no file behind;
 * else removed at exit. */
static const char *tmp_path(void)
{
	static char proc[64];
	static const char *path;
	if (path)
		return path;
	const char *dir = getenv("TMPDIR");
	snprintf(tmp_name, sizeof tmp_name, "%s/kl-fuzz-csv-XXXXXX", dir && *dir ? dir : "/tmp");
	int fd = mkstemp(tmp_name);
	if (fd < 0) {
		perror("fuzz_csv: mkstemp");
		abort();
	}
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
	if (access(proc, R_OK | W_OK) == 0 && unlink(tmp_name) == 0)
		return path = proc; /* fd stays open: it keeps the file */
	close(fd);
	atexit(remove_tmp);
	return path = tmp_name;
}

/* Writes the records through the rejects writer, reads the file back and
 * aborts unless it gives the records written. pad: the length of a field of
 * 'x's put before each row's fields (0: none), so that short inputs make
 * lines that cross the writer's 4 KiB conversion buffer anywhere. */
static void round_trip(const struct recs *in, size_t pad, char delimiter, enum kl_csv_encoding enc)
{
	const char *path = tmp_path();
	struct kl_err err = {0};
	struct kl_csv_writer *w = NULL;
	if (kl_csv_writer_open(&w, path, delimiter, enc, &err) != KL_OK) {
		fprintf(stderr, "fuzz_csv: %s\n", err.msg);
		abort();
	}
	char *xs = malloc(pad + 1);
	if (!xs)
		abort();
	memset(xs, 'x', pad);
	xs[pad] = '\0';
	size_t extra = pad ? 1 : 0;
	struct recs want = {0};
	for (size_t i = 0; i < in->n; i++) {
		const struct rec *r = &in->r[i];
		const char **f = calloc(r->n + 1, sizeof *f);
		if (!f)
			abort();
		f[0] = xs;
		for (size_t j = 0; j < r->n; j++)
			f[extra + j] = r->field[j];
		if (kl_csv_write_row(w, f, extra + r->n) != 0) {
			perror("fuzz_csv: kl_csv_write_row");
			abort();
		}
		free(f);
		struct rec *e = recs_add(&want, extra + r->n);
		if (extra)
			rec_set(e, 0, xs, pad);
		for (size_t j = 0; j < r->n; j++)
			expected(e, extra + j, r->field[j], enc);
	}
	free(xs);
	if (kl_csv_writer_close(w) != 0) {
		perror("fuzz_csv: kl_csv_writer_close");
		abort();
	}

	FILE *f = fopen(path, "rb");
	if (!f)
		abort();
	/* a first field beginning with the bytes of a byte order mark (a header
	 * after a doubled BOM) is written as it is, and the reader then takes
	 * them for the file's BOM and drops them */
	unsigned char head[3];
	if (fread(head, 1, 3, f) == 3 && memcmp(head, "\xEF\xBB\xBF", 3) == 0) {
		const char *bom = enc == KL_CSV_UTF8 ? "\xEF\xBB\xBF" : "\xD0\xBF\xC2\xBB\xD1\x97"; /* "п»ї" */
		size_t bl = strlen(bom);
		struct rec *first = &want.r[0];
		if (first->n == 0 || first->len[0] < bl || memcmp(first->field[0], bom, bl) != 0)
			abort(); /* the file begins with bytes the first field does not */
		memmove(first->field[0], first->field[0] + bl, first->len[0] - bl + 1);
		first->len[0] -= bl;
	}
	rewind(f);
	struct kl_csv_opts o = {delimiter, enc};
	struct kl_csv *r = NULL;
	if (kl_csv_open(&r, f, "rejects", &o, &err) != KL_OK)
		abort();
	const struct kl_csv_record *rec;
	size_t i = 0;
	int rc;
	while ((rc = kl_csv_next(r, &rec, &err)) == 1) {
		while (i < want.n && blank(&want.r[i])) /* a row of empty fields is skipped */
			i++;
		if (i == want.n || rec->nfields != want.r[i].n)
			abort();
		for (size_t j = 0; j < rec->nfields; j++)
			if (rec->len[j] != want.r[i].len[j] || memcmp(rec->field[j], want.r[i].field[j], rec->len[j]) != 0)
				abort();
		i++;
	}
	if (rc != 0 && enc == KL_CSV_CP1251 && strstr(err.msg, "--encoding cp1251, but the file is UTF-8")) {
		/* CP1251 text whose bytes also read as UTF-8 Cyrillic ("РґР°" and the
		 * like) is refused by --encoding cp1251 on purpose: it is far likelier a
		 * UTF-8 file read with the wrong flag. No round trip to check. */
		kl_csv_free(r);
		fclose(f);
		recs_free(&want);
		return;
	}
	if (rc != 0) { /* what the writer writes is always CSV the reader reads */
		fprintf(stderr, "fuzz_csv: reading the rejects file back: %s\n", err.msg);
		abort();
	}
	while (i < want.n && blank(&want.r[i]))
		i++;
	if (i != want.n) /* a record was lost */
		abort();
	kl_csv_free(r);
	fclose(f);
	recs_free(&want);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	/* the first byte picks the dialect (bits 0-2) and the padding of the rows
	 * written back (bits 3-7, in steps of 128 bytes), the rest is the file */
	struct kl_csv_opts o = {"\0,;\t"[data[0] & 3], (data[0] & 4) ? KL_CSV_CP1251 : KL_CSV_UTF8};
	FILE *f;
	if (size > 1) {
		f = fmemopen((void *)(data + 1), size - 1, "r");
	} else {
		/* an empty file: glibc before 2.22 refuses a 0-byte fmemopen */
		static char none[1];
		if (!(f = fmemopen(none, 0, "r")))
			f = fopen("/dev/null", "r");
	}
	if (!f)
		return 0;
	struct kl_csv *r = NULL;
	struct kl_err err = {0};
	if (kl_csv_open(&r, f, "fuzz", &o, &err) == KL_OK) {
		const struct kl_csv_record *rec;
		struct recs all = {0};
		long last = 0;
		bool header = true;
		while (kl_csv_next(r, &rec, &err) == 1) {
			if (rec->row <= last) /* rows only go forward */
				abort();
			last = rec->row;
			struct rec *copy = recs_add(&all, rec->nfields);
			for (size_t i = 0; i < rec->nfields; i++) {
				if (rec->field[i][rec->len[i]] != '\0')
					abort();
				rec_set(copy, i, rec->field[i], rec->len[i]);
			}
			if (header) {
				struct kl_columns c;
				if (kl_columns_map(&c, (const char *const *)rec->field, rec->nfields, NULL, 0, true,
						   &err) == KL_OK)
					kl_columns_free(&c);
				header = false;
			}
		}
		/* the rows before a bad one are written too, as import does */
		if (all.n > 0)
			round_trip(&all, (size_t)(data[0] >> 3) * 128, kl_csv_delimiter(r), o.encoding);
		recs_free(&all);
		kl_csv_free(r);
	}
	fclose(f);
	return 0;
}
