/* sha256.h — SHA-256 (FIPS 180-4), for the model hash written into plan.json and headers. */
#ifndef EC_SHA256_H
#define EC_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct ec_sha256 {
  uint32_t h[8];
  uint64_t len;
  uint8_t buf[64];
  size_t nbuf;
  int portable; /* set to 1 to skip the SHA-extension path (tests compare the two) */
} ec_sha256;

void ec_sha256_init(ec_sha256 *s);
void ec_sha256_update(ec_sha256 *s, const void *data, size_t n);
void ec_sha256_final(ec_sha256 *s, uint8_t out[32]);
void ec_sha256_hex(const uint8_t digest[32], char out[65]);

#endif
