#include "core/kl_encoding.h"

#include "util/kl_str.h"

/* The length of the UTF-8 sequence a lead byte starts, 0 for a byte that
 * starts none. */
static size_t seq_len(unsigned char c)
{
	return c < 0x80 ? 1 : c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
}

/* The offset of the first byte that is not UTF-8; n when none. */
static size_t first_bad(const unsigned char *p, size_t n, bool *wide)
{
	*wide = false;
	for (size_t i = 0; i < n;) {
		size_t k = seq_len(p[i]);
		if (k == 1) {
			i++;
			continue;
		}
		*wide = true;
		if (k == 0)
			return i;
		if (i + k > n) { /* cut off by the end: the next chunk holds the rest */
			for (size_t j = i + 1; j < n; j++)
				if ((p[j] & 0xC0) != 0x80)
					return i;
			return n;
		}
		if (!kl_str_utf8_valid((const char *)p + i, k))
			return i;
		i += k;
	}
	return n;
}

/* Windows-1251's letters: А-я, Ё, ё. */
static bool cp1251_letter(unsigned char c)
{
	return c >= 0xC0 || c == 0xA8 || c == 0xB8;
}

enum kl_encoding_guess kl_encoding_guess(const unsigned char *p, size_t n, size_t *bad)
{
	bool wide;
	*bad = first_bad(p, n, &wide);
	if (*bad == n)
		return wide ? KL_ENCODING_UTF8 : KL_ENCODING_ASCII;
	size_t high = 0, letters = 0, in_words = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < 0x80)
			continue;
		if (p[i] == 0x98) /* the one byte Windows-1251 leaves empty */
			return KL_ENCODING_UNKNOWN;
		high++;
		if (!cp1251_letter(p[i]))
			continue;
		letters++;
		in_words += (i > 0 && cp1251_letter(p[i - 1])) || (i + 1 < n && cp1251_letter(p[i + 1]));
	}
	/* Russian text is words of such letters, with some dashes, quotes and
	 * no-break spaces; Latin-1's accented letters (the same bytes) stand
	 * alone among ASCII ones: José, Müller */
	return letters * 4 >= high * 3 && in_words * 2 >= letters ? KL_ENCODING_CP1251 : KL_ENCODING_UNKNOWN;
}

bool kl_encoding_utf8_cyrillic(const unsigned char *p, size_t n)
{
	bool wide;
	if (first_bad(p, n, &wide) != n || !wide)
		return false;
	/* U+0400 to U+04FF: lead bytes 0xD0 to 0xD3 */
	for (size_t i = 0; i + 1 < n; i++)
		if (p[i] >= 0xD0 && p[i] <= 0xD3 && (p[i + 1] & 0xC0) == 0x80)
			return true;
	return false;
}
