/*
 * kl_encoding: which encoding a piece of a file is in, for --encoding auto.
 *
 * A file saved by Excel on Russian Windows is Windows-1251; anything else
 * worth reading is UTF-8. Valid UTF-8 is taken for UTF-8 (Windows-1251
 * Cyrillic text never is: its letters are all bytes that cannot follow one
 * another in UTF-8), and the rest for Windows-1251 only when its bytes
 * past ASCII are mostly Cyrillic letters.
 */
#ifndef KL_ENCODING_H
#define KL_ENCODING_H

#include <stdbool.h>
#include <stddef.h>

enum kl_encoding_guess {
	KL_ENCODING_ASCII,   /* nothing past ASCII: either reads it */
	KL_ENCODING_UTF8,
	KL_ENCODING_CP1251,
	KL_ENCODING_UNKNOWN  /* neither */
};

/* What the n bytes at p are. A UTF-8 sequence cut off by the end of the
 * bytes counts as UTF-8 (a chunk of a longer file). *bad is the offset of
 * the first byte that is not UTF-8, n when there is none. */
enum kl_encoding_guess kl_encoding_guess(const unsigned char *p, size_t n, size_t *bad);

/* True when the bytes are valid UTF-8 holding Cyrillic letters: a file
 * that --encoding cp1251 would turn into mojibake. */
bool kl_encoding_utf8_cyrillic(const unsigned char *p, size_t n);

#endif
