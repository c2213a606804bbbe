/*
 * kl_str: small string helpers shared by every module.
 *
 * Functions returning char * return a new string owned by the caller, to be
 * released with free(), or NULL when memory ran out.
 */
#ifndef KL_STR_H
#define KL_STR_H

#include <stdbool.h>
#include <stddef.h>

/* asprintf, as an expression: the new string, or NULL when memory ran out
 * (libc's strdup and strndup serve for plain copies). */
char *kl_str_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The string without leading and trailing ASCII white space, as a new string. */
char *kl_str_trimmed(const char *s);

/* True when the n bytes at s are well-formed UTF-8 (no overlongs, no
 * surrogates, nothing above U+10FFFF). */
bool kl_str_utf8_valid(const char *s, size_t n);

/* True when s holds a control character: C0, DEL, or C1 (U+0080..U+009F). */
bool kl_str_has_control(const char *s);

/* Renders s for an error message: in double quotes, control characters and
 * invalid bytes escaped as \xNN, cut with "..." past about 60 characters.
 * Always NUL-terminates buf. Returns buf. */
char *kl_str_quote(const char *s, char *buf, size_t size);

/* Edit distance between two short strings, for "did you mean"; strings over
 * 40 bytes count as far apart. */
size_t kl_str_distance(const char *a, const char *b);

/* A copy of s fit for a terminal: control characters and bytes that are not
 * UTF-8 become '?'. NULL when memory ran out. */
char *kl_str_printable(const char *s);

/* A key for loose name matching: ASCII and Cyrillic letters lowercased
 * (Ё as Е), digits kept, everything else dropped ("E-mail" -> "email",
 * "Телефон" -> "телефон"). */
char *kl_str_fold(const char *s);

/* How many terminal columns s takes: one per code point (UTF-8). */
size_t kl_str_width(const char *s);

/* Wipes and frees a string that held a secret. Accepts NULL. */
void kl_str_free_secret(char *s);

/* A growable byte buffer, always NUL-terminated when non-empty. */
struct kl_buf {
	char *data;
	size_t len;
	size_t cap;
	bool secret; /* wipe every block given up, and the last one on free */
};

int kl_buf_append(struct kl_buf *b, const void *p, size_t n); /* 0 or -1 */
int kl_buf_appendf(struct kl_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void kl_buf_free(struct kl_buf *b);

#endif
