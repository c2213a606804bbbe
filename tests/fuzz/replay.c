/* Replays files through a fuzz target's LLVMFuzzerTestOneInput without
 * libFuzzer, so the seed corpus and every crash once found and fixed run in
 * each ordinary and sanitizer build under ctest.
 *
 *   replay_TARGET DIR... [--optional DIR...]
 *
 * Feeds every regular file of each DIR (sorted by name) to the target, which
 * aborts when an input breaks one of its rules; ASan and UBSan builds also
 * stop on memory errors. A DIR after --optional may be missing. Exits 1 when
 * a required DIR cannot be read or nothing at all was replayed. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	size_t cap = 4096, len = 0;
	uint8_t *data = malloc(cap);
	int rc = 0;
	for (;;) {
		if (!data) {
			fprintf(stderr, "replay: out of memory\n");
			rc = -1;
			break;
		}
		len += fread(data + len, 1, cap - len, f);
		if (len < cap)
			break;
		uint8_t *grown = realloc(data, cap * 2);
		if (!grown)
			free(data);
		data = grown;
		cap *= 2;
	}
	if (rc == 0 && ferror(f)) {
		fprintf(stderr, "replay: %s: read error\n", path);
		rc = -1;
	}
	fclose(f);
	if (rc == 0) {
		/* an exact-size copy: ASan sees a read one byte past the input */
		uint8_t *exact = malloc(len ? len : 1);
		if (!exact) {
			rc = -1;
		} else {
			memcpy(exact, data, len);
			fprintf(stderr, "replay: %s (%zu bytes)\n", path, len);
			LLVMFuzzerTestOneInput(exact, len);
			free(exact);
		}
	}
	free(data);
	return rc;
}

/* The number of files replayed from dir, or -1. */
static long replay_dir(const char *dir, int optional)
{
	struct dirent **names;
	int n = scandir(dir, &names, NULL, by_name);
	if (n < 0) {
		if (optional && errno == ENOENT)
			return 0;
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	long done = 0;
	for (int i = 0; i < n; i++) {
		char path[4096];
		struct stat st;
		snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
		if (names[i]->d_name[0] != '.' && stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			if (done >= 0 && replay_file(path) == 0)
				done++;
			else
				done = -1;
		}
		free(names[i]);
	}
	free(names);
	return done;
}

int main(int argc, char **argv)
{
	long total = 0;
	int optional = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--optional") == 0) {
			optional = 1;
			continue;
		}
		long n = replay_dir(argv[i], optional);
		if (n < 0)
			return 1;
		printf("%s: %ld inputs\n", argv[i], n);
		total += n;
	}
	if (total == 0) {
		fprintf(stderr, "replay: no inputs found\n");
		return 1;
	}
	printf("replayed %ld inputs\n", total);
	return 0;
}
