#include "util/kl_table.h"

#include <stdlib.h>
#include <string.h>

void kl_table_init(struct kl_table *t, size_t ncols)
{
	memset(t, 0, sizeof *t);
	t->ncols = ncols;
}

void kl_table_free(struct kl_table *t)
{
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	kl_table_init(t, t->ncols);
}

int kl_table_add(struct kl_table *t, const char *const *cells)
{
	if (t->nrows == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		char **grown = realloc(t->cells, cap * t->ncols * sizeof *grown);
		if (!grown)
			return -1;
		t->cells = grown;
		t->cap = cap;
	}
	char **row = t->cells + t->nrows * t->ncols;
	for (size_t c = 0; c < t->ncols; c++) {
		if (!(row[c] = kl_str_printable(cells[c] ? cells[c] : ""))) {
			while (c--)
				free(row[c]);
			return -1;
		}
	}
	t->nrows++;
	return 0;
}

int kl_table_render(const struct kl_table *t, struct kl_buf *out)
{
	size_t *width = calloc(t->ncols ? t->ncols : 1, sizeof *width);
	int fail = !width;
	for (size_t r = 0; !fail && r < t->nrows; r++)
		for (size_t c = 0; c < t->ncols; c++) {
			size_t w = kl_str_width(t->cells[r * t->ncols + c]);
			if (w > width[c])
				width[c] = w;
		}
	for (size_t r = 0; !fail && r < t->nrows; r++) {
		char **row = t->cells + r * t->ncols;
		size_t last = t->ncols;
		while (last > 1 && !row[last - 1][0])
			last--; /* no trailing blanks */
		for (size_t c = 0; c < last; c++) {
			fail |= kl_buf_append(out, row[c], strlen(row[c]));
			if (c + 1 < last)
				for (size_t pad = kl_str_width(row[c]); pad < width[c] + 2; pad++)
					fail |= kl_buf_append(out, " ", 1);
		}
		fail |= kl_buf_append(out, "\n", 1);
	}
	free(width);
	return fail ? -1 : 0;
}
