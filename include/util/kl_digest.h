/* kl_digest: message digests (the only user of libcrypto). */
#ifndef KL_DIGEST_H
#define KL_DIGEST_H

#include <stddef.h>

/* Writes the MD5 of data as 32 lower-case hex digits and a NUL to hex.
 * Returns 0, or -1 if libcrypto failed. */
int kl_digest_md5_hex(const void *data, size_t len, char hex[33]);

#endif
