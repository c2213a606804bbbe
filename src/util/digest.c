#include "util/kl_digest.h"

#include <openssl/evp.h>

int kl_digest_md5_hex(const void *data, size_t len, char hex[33])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	/* MD5 here is an identifier recipe from the integration guide, not
	 * security: ask for an implementation outside FIPS mode too */
	static EVP_MD *md5;
	static EVP_MD_CTX *ctx;
	if (!md5)
		md5 = EVP_MD_fetch(NULL, "MD5", "-fips");
	if (!ctx)
		ctx = EVP_MD_CTX_new();
	int ok = md5 && ctx && EVP_DigestInit_ex2(ctx, md5, NULL) == 1 && EVP_DigestUpdate(ctx, data, len) == 1 &&
		 EVP_DigestFinal_ex(ctx, md, &n) == 1 && n == 16;
	if (!ok)
		return -1;
	for (unsigned i = 0; i < n; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[32] = '\0';
	return 0;
}
