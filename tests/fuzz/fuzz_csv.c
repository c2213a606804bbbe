/* libFuzzer target: the CSV reader, the header mapping and the rejects
 * writer on any bytes, in both encodings. Built with -DKL_FUZZ=ON and clang. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kl_columns.h"
#include "kl_csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	/* the first byte picks the dialect, the rest is the file */
	struct kl_csv_opts o = {"\0,;\t"[data[0] & 3], (data[0] & 4) ? KL_CSV_CP1251 : KL_CSV_UTF8};
	FILE *f = fmemopen((void *)(data + 1), size - 1 ? size - 1 : 1, "r");
	if (!f)
		return 0;
	struct kl_csv *r = NULL;
	struct kl_err err = {0};
	if (kl_csv_open(&r, f, "fuzz", &o, &err) == KL_OK) {
		const struct kl_csv_record *rec;
		long last = 0;
		bool header = true;
		while (kl_csv_next(r, &rec, &err) == 1) {
			if (rec->row <= last) /* rows only go forward */
				abort();
			last = rec->row;
			for (size_t i = 0; i < rec->nfields; i++)
				if (rec->field[i][rec->len[i]] != '\0')
					abort();
			if (header) {
				struct kl_columns c;
				if (kl_columns_map(&c, (const char *const *)rec->field, rec->nfields, NULL, 0, true,
						   &err) == KL_OK)
					kl_columns_free(&c);
				header = false;
			}
		}
		kl_csv_free(r);
	}
	fclose(f);
	return 0;
}
