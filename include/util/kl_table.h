/*
 * kl_table: rows of text printed as aligned columns, for people.
 *
 * Cells are copied and made fit for a terminal (kl_str_printable); columns
 * are as wide as their widest cell (in code points) and two spaces apart;
 * the last column is not padded.
 */
#ifndef KL_TABLE_H
#define KL_TABLE_H

#include <stddef.h>

#include "util/kl_str.h"

struct kl_table {
	size_t ncols;
	char **cells; /* nrows * ncols */
	size_t nrows, cap;
};

void kl_table_init(struct kl_table *t, size_t ncols);
void kl_table_free(struct kl_table *t); /* leaves it empty */

/* Adds a row of ncols cells; a NULL cell is empty. 0, or -1 when memory ran out. */
int kl_table_add(struct kl_table *t, const char *const *cells);

/* Appends the rows, each ending in '\n'. 0, or -1 when memory ran out. */
int kl_table_render(const struct kl_table *t, struct kl_buf *out);

#endif
