#include "core/kl_csv.h"

#include <csv.h>
#include <errno.h>
#include <fcntl.h>
#include <iconv.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/kl_encoding.h"
#include "util/kl_str.h"

#define CHUNK (64 * 1024)

struct record {
	struct kl_csv_record pub;
	size_t cap;
	size_t bytes;
};

struct kl_csv {
	FILE *in;
	char *name;
	struct csv_parser parser;
	bool parser_ready;
	char delimiter;
	iconv_t cd; /* (iconv_t)-1 when the input is UTF-8 */
	enum kl_csv_encoding enc; /* AUTO until a chunk past ASCII decides */
	bool enc_checked;         /* CP1251 asked for: the first such chunk was looked at */
	unsigned long long lines; /* line ends before the chunk being read */
	unsigned char *raw;  /* one chunk as read */
	size_t raw_len;
	bool first_chunk, eof, finished;
	unsigned long long offset;
	long row;

	struct record cur;      /* being filled by the parser */
	struct record *pending; /* complete records not yet handed out */
	size_t npending, head, cap_pending;
	bool too_big;
	bool oom;
	int last_term; /* what ended the last record: '\r', '\n', or -1 */
	struct kl_err failed; /* an error met after records still to hand out */
};

static void record_clear(struct record *r)
{
	for (size_t i = 0; i < r->pub.nfields; i++)
		free(r->pub.field[i]);
	r->pub.nfields = 0;
	r->bytes = 0;
}

static void record_free(struct record *r)
{
	record_clear(r);
	free(r->pub.field);
	free(r->pub.len);
	memset(r, 0, sizeof *r);
}

static void on_field(void *s, size_t len, void *ctx)
{
	struct kl_csv *r = ctx;
	struct record *c = &r->cur;
	if (r->oom || r->too_big)
		return;
	c->bytes += len;
	if (c->bytes > KL_CSV_MAX_RECORD) {
		r->too_big = true;
		return;
	}
	if (c->pub.nfields == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		char **f = realloc(c->pub.field, cap * sizeof *f);
		if (f)
			c->pub.field = f;
		size_t *l = realloc(c->pub.len, cap * sizeof *l);
		if (l)
			c->pub.len = l;
		if (!f || !l) {
			r->oom = true;
			return;
		}
		c->cap = cap;
	}
	/* every byte of the field, a NUL among them too (strndup would stop
	 * there): the row is refused for it later, by name */
	size_t n = s ? len : 0;
	char *copy = malloc(n + 1);
	if (copy) {
		if (n)
			memcpy(copy, s, n);
		copy[n] = '\0';
	}
	if (!copy) {
		r->oom = true;
		return;
	}
	c->pub.field[c->pub.nfields] = copy;
	c->pub.len[c->pub.nfields] = s ? len : 0;
	c->pub.nfields++;
}

static void on_record(int term, void *ctx)
{
	struct kl_csv *r = ctx;
	struct record *c = &r->cur;
	int prev = r->last_term;
	r->last_term = term;
	if (r->oom || r->too_big)
		return;
	/* a blank line counts as a row, as in a spreadsheet, but the LF of a
	 * CRLF that ended a record is not a line of its own */
	if (c->pub.nfields == 0 && term == '\n' && prev == '\r')
		return;
	r->row++;
	bool blank = true;
	for (size_t i = 0; i < c->pub.nfields && blank; i++)
		blank = c->pub.len[i] == 0;
	if (blank) {
		record_clear(c);
		return;
	}
	if (r->npending == r->cap_pending) {
		size_t cap = r->cap_pending ? r->cap_pending * 2 : 64;
		struct record *p = realloc(r->pending, cap * sizeof *p);
		if (!p) {
			r->oom = true;
			return;
		}
		r->pending = p;
		r->cap_pending = cap;
	}
	c->pub.row = r->row;
	c->pub.line_end = term != -1; /* -1: ended by csv_fini, at the end of input */
	r->pending[r->npending++] = *c; /* the pending slot takes the arrays */
	memset(c, 0, sizeof *c);
}

static int no_space(unsigned char c)
{
	(void)c;
	return 0; /* keep fields as written; the lead checks trim what needs it */
}

/* The delimiter of the first line: the most frequent of , ; and TAB outside quotes. */
static char guess_delimiter(const unsigned char *p, size_t n)
{
	size_t comma = 0, semi = 0, tab = 0;
	bool quoted = false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = p[i];
		if (c == '"')
			quoted = !quoted;
		else if (quoted)
			continue;
		else if (c == '\n' || c == '\r')
			break;
		else if (c == ',')
			comma++;
		else if (c == ';')
			semi++;
		else if (c == '\t')
			tab++;
	}
	if (semi > comma && semi >= tab)
		return ';';
	if (tab > comma && tab > semi)
		return '\t';
	return ',';
}

static int open_cp1251(struct kl_csv *r, struct kl_err *err)
{
	r->cd = iconv_open("UTF-8", "CP1251");
	if (r->cd == (iconv_t)-1)
		return kl_err_set(err, KL_ESOFTWARE, "this system's iconv cannot convert from CP1251");
	return KL_OK;
}

int kl_csv_open(struct kl_csv **out, FILE *in, const char *name, const struct kl_csv_opts *o,
		struct kl_err *err)
{
	struct kl_csv *r = calloc(1, sizeof *r);
	if (!r)
		return kl_err_oom(err);
	r->in = in;
	r->cd = (iconv_t)-1;
	r->first_chunk = true;
	r->last_term = -1;
	r->delimiter = o->delimiter;
	r->name = strdup(name);
	r->raw = malloc(CHUNK);
	if (!r->name || !r->raw) {
		kl_csv_free(r);
		return kl_err_oom(err);
	}
	r->enc = o->encoding;
	if (o->encoding == KL_CSV_CP1251 && open_cp1251(r, err)) {
		kl_csv_free(r);
		return KL_ESOFTWARE;
	}
	if (csv_init(&r->parser, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL | CSV_REPALL_NL) != 0) {
		kl_csv_free(r);
		return kl_err_oom(err);
	}
	r->parser_ready = true;
	csv_set_space_func(&r->parser, no_space);
	*out = r;
	return KL_OK;
}

void kl_csv_free(struct kl_csv *r)
{
	if (!r)
		return;
	if (r->parser_ready)
		csv_free(&r->parser);
	if (r->cd != (iconv_t)-1)
		iconv_close(r->cd);
	record_free(&r->cur);
	for (size_t i = r->head; i < r->npending; i++)
		record_free(&r->pending[i]);
	if (r->head > 0) /* the record handed out last */
		record_free(&r->pending[r->head - 1]);
	free(r->pending);
	free(r->raw);
	free(r->name);
	free(r);
}

enum kl_csv_encoding kl_csv_encoding(const struct kl_csv *r)
{
	return r->enc;
}

/* The line of the byte at offset at of the chunk p, from 1. */
static unsigned long long line_of(const struct kl_csv *r, const unsigned char *p, size_t at)
{
	unsigned long long line = r->lines + 1;
	for (size_t i = 0; i < at; i++)
		line += p[i] == '\n';
	return line;
}

/* Before a chunk is converted: --encoding auto decides on the first one
 * past ASCII; cp1251 refuses UTF-8 Cyrillic, which it would turn into
 * mojibake. */
static int settle_encoding(struct kl_csv *r, const unsigned char *p, size_t n, struct kl_err *err)
{
	size_t bad;
	if (r->enc == KL_CSV_UTF8 || (r->enc == KL_CSV_CP1251 && r->enc_checked))
		return KL_OK;
	enum kl_encoding_guess g = kl_encoding_guess(p, n, &bad);
	if (g == KL_ENCODING_ASCII) {
		r->lines = line_of(r, p, n) - 1;
		return KL_OK;
	}
	if (r->enc == KL_CSV_CP1251) {
		r->enc_checked = true;
		size_t wide = 0;
		while (wide < n && p[wide] < 0x80)
			wide++;
		if (g == KL_ENCODING_UTF8 && kl_encoding_utf8_cyrillic(p, n))
			return kl_err_set(err, KL_EDATA,
					  "%s: --encoding cp1251, but the file is UTF-8 (Cyrillic in UTF-8 on line %llu): drop --encoding cp1251, or give --encoding auto or utf-8",
					  r->name, line_of(r, p, wide));
		return KL_OK;
	}
	if (g == KL_ENCODING_UTF8) {
		r->enc = KL_CSV_UTF8;
		return KL_OK;
	}
	if (g == KL_ENCODING_CP1251) {
		r->enc = KL_CSV_CP1251;
		return open_cp1251(r, err);
	}
	return kl_err_set(err, KL_EDATA,
			  "%s: line %llu is neither UTF-8 nor Windows-1251 Cyrillic text (byte 0x%02X): save the file as UTF-8 (or give --encoding cp1251 or utf-8)",
			  r->name, line_of(r, p, bad), p[bad]);
}

char kl_csv_delimiter(const struct kl_csv *r)
{
	return r->delimiter ? r->delimiter : ',';
}

unsigned long long kl_csv_offset(const struct kl_csv *r)
{
	return r->offset;
}

size_t kl_csv_buffered(const struct kl_csv *r)
{
	return r->npending - r->head;
}

/* Converts a CP1251 chunk to UTF-8 (every byte is one character, so chunks
 * convert on their own). */
static int to_utf8(struct kl_csv *r, const unsigned char *in, size_t n, unsigned char **out,
		   size_t *outn, struct kl_err *err)
{
	size_t cap = n * 3 + 1;
	unsigned char *buf = malloc(cap);
	if (!buf)
		return kl_err_oom(err);
	char *ip = (char *)in, *op = (char *)buf;
	size_t il = n, ol = cap;
	while (il > 0) {
		if (iconv(r->cd, &ip, &il, &op, &ol) == (size_t)-1) {
			if (errno == EILSEQ) {
				/* 0x98 has no character in CP1251: kept as the byte it is, so
				 * the row it is in fails the UTF-8 check, and only that row */
				*op++ = *ip++;
				ol--;
				il--;
				continue;
			}
			free(buf);
			return kl_err_set(err, KL_ESOFTWARE, "%s: iconv failed: %s", r->name, strerror(errno));
		}
	}
	*out = buf;
	*outn = cap - ol;
	return KL_OK;
}

static int parse_error(struct kl_csv *r, struct kl_err *err)
{
	if (r->oom)
		return kl_err_oom(err);
	if (r->too_big)
		return kl_err_set(err, KL_EDATA,
				  "%s: row %ld is longer than %d bytes: most likely a quote (\") that is never closed",
				  r->name, r->row + 1, KL_CSV_MAX_RECORD);
	return kl_err_set(err, KL_EDATA,
			  "%s: row %ld is not valid CSV: a quote (\") inside a quoted field must be doubled (\"\"), and a quoted field must end at a delimiter or line end",
			  r->name, r->row + 1);
}

/* Reads and parses one more chunk; sets eof at the end. */
static int feed(struct kl_csv *r, struct kl_err *err)
{
	size_t n = fread(r->raw, 1, CHUNK, r->in);
	/* the bytes read before an error (a signal cutting short the wait on a
	 * terminal: fread gathers until CHUNK) are rows all the same: they are
	 * parsed first, and the error comes after them */
	int read_errno = n < CHUNK && ferror(r->in) ? (errno ? errno : EIO) : 0;
	const unsigned char *p = r->raw;
	if (r->first_chunk) {
		r->first_chunk = false;
		if (n >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) {
			p += 3;
			n -= 3;
			r->offset += 3;
		}
		if (!r->delimiter)
			r->delimiter = guess_delimiter(p, n);
		csv_set_delim(&r->parser, (unsigned char)r->delimiter);
	}
	unsigned char *conv = NULL;
	size_t consumed = n;
	int erc = n > 0 ? settle_encoding(r, p, n, err) : KL_OK;
	if (erc)
		return erc;
	if (n > 0 && r->cd != (iconv_t)-1) {
		size_t cn = 0;
		int rc = to_utf8(r, p, n, &conv, &cn, err);
		if (rc)
			return rc;
		p = conv;
		n = cn;
	}
	if (n > 0 && csv_parse(&r->parser, p, n, on_field, on_record, r) != n) {
		free(conv);
		return parse_error(r, err);
	}
	free(conv);
	r->offset += consumed;
	/* a field still open (an unclosed quote) grows inside libcsv, unseen by on_field */
	if (csv_get_buffer_size(&r->parser) > KL_CSV_MAX_RECORD)
		r->too_big = true;
	if (r->oom || r->too_big)
		return parse_error(r, err);
	if (read_errno)
		return kl_err_set(err, KL_EIO, "%s: read error: %s", r->name, strerror(read_errno));
	if (feof(r->in)) {
		r->eof = true;
		if (csv_fini(&r->parser, on_field, on_record, r) != 0) {
			if (r->oom || r->too_big)
				return parse_error(r, err);
			return kl_err_set(err, KL_EDATA,
					  "%s: the input ends inside a quoted field that began on row %ld: a closing quote (\") is missing",
					  r->name, r->row + 1);
		}
		if (r->oom || r->too_big)
			return parse_error(r, err);
	}
	return KL_OK;
}

struct kl_csv_writer {
	FILE *f;
	char delim;
	iconv_t cd;
	struct kl_buf line;
	char *path; /* where the file goes */
	char *tmp;  /* the new file beside it, renamed over it at the end; NULL: in place */
	int late;   /* errno of a failed write after a row, told at the close */
};

/* A new file in path's directory, mode 600 (mkstemp's); -1 with errno set. */
static int open_beside(struct kl_csv_writer *w, const char *path)
{
	char *copy = strdup(path);
	if (!copy)
		return -1;
	char *base = strdup(basename(copy));
	strcpy(copy, path);
	const char *dir = dirname(copy);
	w->tmp = base ? kl_str_printf("%s/.%s.XXXXXX", dir, base) : NULL;
	free(base);
	free(copy);
	if (!w->tmp) {
		errno = ENOMEM;
		return -1;
	}
	int fd = mkostemp(w->tmp, O_CLOEXEC);
	if (fd < 0) {
		free(w->tmp);
		w->tmp = NULL;
	}
	return fd;
}

/* The descriptor path names when it is the process's standard output or
 * error (/dev/stdout, /dev/stderr), else -1: such a name is written through
 * that descriptor, never renamed over (as root, renaming over /dev/stdout
 * would replace the system's symlink). /dev/fd/N and /proc/self/fd/N live
 * where no new file can be made, so they are opened in place. */
static int own_descriptor(const char *path)
{
	if (strcmp(path, "/dev/stdout") == 0)
		return 1;
	if (strcmp(path, "/dev/stderr") == 0)
		return 2;
	return -1;
}

/* The descriptor rows go to: beside path when path may be renamed over. */
static int open_target(struct kl_csv_writer *w, const char *path)
{
	struct stat st, to;
	int own = own_descriptor(path);
	if (own >= 0)
		return fcntl(own, F_DUPFD_CLOEXEC, 3);
	bool exists = lstat(path, &st) == 0;
	/* a symlink to a device or a FIFO is written through, as the device is */
	bool special_link = exists && S_ISLNK(st.st_mode) && stat(path, &to) == 0 && !S_ISREG(to.st_mode);
	if (!exists || S_ISREG(st.st_mode) || (S_ISLNK(st.st_mode) && !special_link)) {
		int fd = open_beside(w, path);
		if (fd >= 0 || errno == ENOMEM)
			return fd;
	}
	/* a device (/dev/full), a FIFO, or a directory that takes no new file:
	 * there is nothing to rename over, so it is written as it is */
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid())
		fchmod(fd, 0600); /* an older file's wider mode would show the rows to others */
	return fd;
}

static void writer_free(struct kl_csv_writer *w)
{
	if (w->cd != (iconv_t)-1)
		iconv_close(w->cd);
	kl_buf_free(&w->line);
	free(w->path);
	free(w->tmp);
	free(w);
}

int kl_csv_writer_open(struct kl_csv_writer **out, const char *path, char delimiter,
		       enum kl_csv_encoding encoding, struct kl_err *err)
{
	struct kl_csv_writer *w = calloc(1, sizeof *w);
	if (!w)
		return kl_err_oom(err);
	w->delim = delimiter;
	w->cd = (iconv_t)-1;
	if (!(w->path = strdup(path))) {
		writer_free(w);
		return kl_err_oom(err);
	}
	if (encoding == KL_CSV_CP1251 && (w->cd = iconv_open("CP1251//TRANSLIT", "UTF-8")) == (iconv_t)-1) {
		writer_free(w);
		return kl_err_set(err, KL_ESOFTWARE, "this system's iconv cannot convert to CP1251");
	}
	int fd = open_target(w, path);
	if (fd < 0 || !(w->f = fdopen(fd, "wb"))) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		if (w->tmp)
			unlink(w->tmp);
		writer_free(w);
		return kl_err_set(err, KL_EIO, "%s: cannot create: %s", path, strerror(e));
	}
	*out = w;
	return KL_OK;
}

static int put_field(struct kl_buf *b, const char *v, char delim)
{
	size_t n = strlen(v);
	bool quote = memchr(v, delim, n) || strpbrk(v, "\"\r\n") || (n && (v[0] == ' ' || v[n - 1] == ' '));
	if (!quote)
		return kl_buf_append(b, v, n);
	int fail = kl_buf_append(b, "\"", 1);
	for (const char *q; !fail && (q = strchr(v, '"')); v = q + 1)
		fail = kl_buf_append(b, v, (size_t)(q - v + 1)) || kl_buf_append(b, "\"", 1);
	return fail || kl_buf_append(b, v, strlen(v)) || kl_buf_append(b, "\"", 1) ? -1 : 0;
}

/* A file written in place (/dev/stdout, a FIFO, a terminal) may take other
 * writes between rows, the row lines on standard output for one: each row
 * goes out whole once written, never cut by them. */
static int row_done(struct kl_csv_writer *w, int rc)
{
	/* a failure is told at the close, with the rows it cost, as a renamed
	 * file's would be */
	if (rc == 0 && !w->tmp && fflush(w->f) != 0 && !w->late)
		w->late = errno ? errno : EIO;
	return rc;
}

int kl_csv_write_row(struct kl_csv_writer *w, const char *const *fields, size_t n)
{
	w->line.len = 0;
	for (size_t i = 0; i < n; i++)
		if ((i && kl_buf_append(&w->line, &w->delim, 1)) || put_field(&w->line, fields[i], w->delim)) {
			errno = ENOMEM;
			return -1;
		}
	if (kl_buf_append(&w->line, "\r\n", 2)) {
		errno = ENOMEM;
		return -1;
	}
	if (w->cd == (iconv_t)-1)
		return row_done(w, fwrite(w->line.data, 1, w->line.len, w->f) == w->line.len ? 0 : -1);
	char *ip = w->line.data, out[4096];
	size_t il = w->line.len;
	while (il > 0) {
		char *op = out;
		size_t ol = sizeof out - 1; /* room for a '?' after a full buffer */
		if (iconv(w->cd, &ip, &il, &op, &ol) == (size_t)-1 && errno != E2BIG) {
			if (errno != EILSEQ)
				return -1;
			/* no CP1251 form even by transliteration: one '?' for the character */
			*op++ = '?';
			ol--;
			ip++;
			il--;
			while (il > 0 && ((unsigned char)*ip & 0xC0) == 0x80)
				ip++, il--;
		}
		size_t len = (size_t)(op - out);
		if (fwrite(out, 1, len, w->f) != len)
			return -1;
	}
	return row_done(w, 0);
}

int kl_csv_write_text(struct kl_csv_writer *w, const char *text)
{
	size_t n = strlen(text);
	return row_done(w, fwrite(text, 1, n, w->f) == n && putc('\n', w->f) != EOF ? 0 : -1);
}

int kl_csv_writer_close(struct kl_csv_writer *w)
{
	if (!w)
		return 0;
	/* on disk before it replaces anything: a crash leaves the old file or the new */
	int rc = fflush(w->f) == 0 && (!w->tmp || fsync(fileno(w->f)) == 0) ? 0 : -1;
	int e = errno;
	if (w->late) {
		rc = -1;
		e = w->late;
	}
	if (fclose(w->f) != 0 && rc == 0) {
		rc = -1;
		e = errno;
	}
	if (w->tmp && rc == 0 && rename(w->tmp, w->path) != 0) {
		rc = -1;
		e = errno;
	}
	if (w->tmp && rc != 0)
		unlink(w->tmp);
	writer_free(w);
	errno = e;
	return rc;
}

void kl_csv_writer_discard(struct kl_csv_writer *w)
{
	if (!w)
		return;
	fclose(w->f);
	if (w->tmp)
		unlink(w->tmp);
	writer_free(w);
}

int kl_csv_next_buffered(struct kl_csv *r, const struct kl_csv_record **rec)
{
	if (r->head > 0)
		record_free(&r->pending[r->head - 1]);
	if (r->head == r->npending) {
		r->head = r->npending = 0;
		return 0;
	}
	*rec = &r->pending[r->head++].pub;
	return 1;
}

int kl_csv_peek(struct kl_csv *r, struct kl_err *err)
{
	if (!r->first_chunk || r->eof)
		return KL_OK;
	int rc = feed(r, err);
	if (rc && r->npending > 0) { /* told with the rows, as kl_csv_next does */
		r->failed = *err;
		r->eof = true;
		return KL_OK;
	}
	return rc;
}

int kl_csv_next(struct kl_csv *r, const struct kl_csv_record **rec, struct kl_err *err)
{
	if (r->head > 0) { /* release the record handed out last time */
		record_free(&r->pending[r->head - 1]);
	}
	while (r->head == r->npending) {
		r->head = r->npending = 0;
		if (r->failed.status) {
			*err = r->failed;
			return r->failed.status;
		}
		if (r->eof)
			return 0;
		int rc = feed(r, err);
		if (rc && r->npending == 0)
			return rc;
		if (rc) { /* the rows before the bad one come first */
			r->failed = *err;
			r->eof = true;
		}
	}
	*rec = &r->pending[r->head++].pub;
	return 1;
}
