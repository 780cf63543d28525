/* test_wire.c — the wire format without a network: encode/parse round trips, every single-bit
 * flip and every truncation of a frame refused, the expectations check, random bytes never
 * accepted or crashing the parser. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ecrt_crc32c.h"
#include "ecrt_wire.h"

static int failures;
#define CHECK(c, ...)                                   \
  do {                                                  \
    if (!(c)) {                                         \
      failures++;                                       \
      fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);   \
      fprintf(stderr, __VA_ARGS__);                     \
      fprintf(stderr, "\n");                            \
    }                                                   \
  } while (0)

/* CRC32C one bit at a time, straight from the polynomial: the reference the table-driven
 * ecrt_crc32c is checked against. */
static uint32_t crc_bitwise(uint32_t crc, const void *data, size_t n) {
  const unsigned char *p = data;
  crc = ~crc;
  while (n--) {
    crc ^= *p++;
    for (int k = 0; k < 8; k++) crc = (crc & 1) ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
  }
  return ~crc;
}

/* Builds a frame in memory the way ecrt_wire_send lays it out. */
static size_t build(unsigned char *buf, size_t cap, int type, uint64_t plan, uint64_t req,
                    const ecrt_wire_tensor *t, uint32_t n) {
  size_t len = ecrt_wire_encode_header(buf, cap, type, plan, req, t, n);
  uint32_t crc = 0, i;
  if (!len) return 0;
  for (i = 0; i < n; i++) {
    memcpy(buf + len, t[i].data, (size_t)t[i].bytes);
    crc = ecrt_crc32c(crc, t[i].data, (size_t)t[i].bytes);
    len += (size_t)t[i].bytes;
  }
  buf[len] = (unsigned char)crc;
  buf[len + 1] = (unsigned char)(crc >> 8);
  buf[len + 2] = (unsigned char)(crc >> 16);
  buf[len + 3] = (unsigned char)(crc >> 24);
  return len + 4;
}

int main(void) {
  static unsigned char frame[1 << 16], copy[1 << 16];
  float a[2 * 3 * 4];
  int64_t b[5];
  ecrt_wire_tensor t[2], want[2];
  ecrt_wire_msg m;
  ecrt_wire_err e;
  size_t len, i, bit;
  char msg[256];
  unsigned long long seed = 12345;
  long k;
  /* The fast CRC equals the bytewise one of ecrt.c at every alignment and length. */
  CHECK(ecrt_crc32c(0, "123456789", 9) == 0xE3069283u, "CRC32C check value");
  for (i = 0; i < 4096; i++) frame[i] = (unsigned char)(i * 131u + (i >> 5));
  for (i = 0; i < 16; i++)
    for (bit = 0; bit < 300; bit += 7)
      CHECK(ecrt_crc32c(5, frame + i, bit) == crc_bitwise(5, frame + i, bit), "CRC at %zu+%zu", i, bit);
  for (i = 0; i < 24; i++) a[i] = (float)i * 0.5f - 3.0f;
  for (i = 0; i < 5; i++) b[i] = (int64_t)i * 1000000007LL;
  memset(t, 0, sizeof t);
  t[0].id = 0, t[0].dtype = ECK_FLOAT, t[0].rank = 3, t[0].dims[0] = 2, t[0].dims[1] = 3, t[0].dims[2] = 4;
  t[0].bytes = sizeof a, t[0].data = a;
  t[1].id = 1, t[1].dtype = ECK_INT64, t[1].rank = 1, t[1].dims[0] = 5, t[1].bytes = sizeof b, t[1].data = b;

  /* Round trip. */
  len = build(frame, sizeof frame, ECRT_MSG_REQUEST, 0x1122334455667788ull, 42, t, 2);
  CHECK(len == ecrt_wire_header_size(t, 2) + sizeof a + sizeof b + 4, "frame size %zu", len);
  CHECK(memcmp(frame, "ECT1", 4) == 0, "magic bytes");
  e = ecrt_wire_parse(frame, len, &m, 1 << 20);
  CHECK(e == ECRT_WIRE_OK, "round trip: %s", ecrt_wire_err_str(e));
  CHECK(m.plan_id == 0x1122334455667788ull && m.request_id == 42 && m.n_tensors == 2, "header fields");
  CHECK(m.t[0].rank == 3 && m.t[0].dims[2] == 4 && m.t[1].dtype == ECK_INT64, "descriptors");
  CHECK(memcmp(m.t[0].data, a, sizeof a) == 0 && memcmp(m.t[1].data, b, sizeof b) == 0, "payload");

  /* Every single-bit flip anywhere is refused (magic, header CRC or payload CRC). */
  for (i = 0; i < len; i++)
    for (bit = 0; bit < 8; bit++) {
      memcpy(copy, frame, len);
      copy[i] ^= (unsigned char)(1u << bit);
      e = ecrt_wire_parse(copy, len, &m, 1 << 20);
      CHECK(e != ECRT_WIRE_OK, "flip of byte %zu bit %zu accepted", i, bit);
    }
  /* Every truncation is refused. */
  for (i = 0; i < len; i++) CHECK(ecrt_wire_parse(frame, i, &m, 1 << 20) != ECRT_WIRE_OK, "truncated to %zu accepted", i);
  /* Named errors for the cases servers distinguish. */
  memcpy(copy, frame, len);
  copy[0] = 'X';
  CHECK(ecrt_wire_parse(copy, len, &m, 1 << 20) == ECRT_WIRE_BAD_MAGIC, "bad magic");
  memcpy(copy, frame, len);
  copy[4] = 2;
  CHECK(ecrt_wire_parse(copy, len, &m, 1 << 20) == ECRT_WIRE_BAD_VERSION, "bad version");
  memcpy(copy, frame, len);
  copy[30] ^= 1;
  CHECK(ecrt_wire_parse(copy, len, &m, 1 << 20) == ECRT_WIRE_BAD_HEADER_CRC, "bad header CRC");
  memcpy(copy, frame, len);
  copy[len - 10] ^= 1;
  CHECK(ecrt_wire_parse(copy, len, &m, 1 << 20) == ECRT_WIRE_BAD_PAYLOAD_CRC, "bad payload CRC");
  CHECK(ecrt_wire_parse(frame, len, &m, 64) == ECRT_WIRE_TOO_LARGE, "maximum payload");
  /* A byte length that does not match the dims (with a valid CRC). */
  t[1].bytes = 39;
  len = build(frame, sizeof frame, ECRT_MSG_REQUEST, 1, 1, t, 2);
  CHECK(ecrt_wire_parse(frame, len, &m, 1 << 20) == ECRT_WIRE_BAD_TENSORS, "length vs dims");
  t[1].bytes = sizeof b;
  /* Dims whose product overflows are too large, not a wrap-around. */
  t[1].dims[0] = (int64_t)1 << 62;
  len = ecrt_wire_encode_header(frame, sizeof frame, ECRT_MSG_REQUEST, 1, 1, t, 2);
  CHECK(ecrt_wire_parse_fixed(frame, &m) == ECRT_WIRE_OK, "fixed");
  {
    size_t off = ECRT_WIRE_FIXED, used;
    uint32_t j;
    for (j = 0; j < 2; j++) {
      ecrt_wire_parse_desc(frame + off, len - off, &m.t[j], &used);
      off += used;
    }
    CHECK(ecrt_wire_check_header(frame, off, &m, (uint64_t)1 << 40) == ECRT_WIRE_TOO_LARGE, "overflowing dims");
  }
  t[1].dims[0] = 5;

  /* Expectations: count, ids, dtype, shape. */
  memcpy(want, t, sizeof want);
  len = build(frame, sizeof frame, ECRT_MSG_REQUEST, 1, 1, t, 2);
  ecrt_wire_parse(frame, len, &m, 1 << 20);
  CHECK(ecrt_wire_check_tensors(&m, want, 2, msg, sizeof msg) == ECRT_WIRE_OK, "expected tensors: %s", msg);
  CHECK(ecrt_wire_check_tensors(&m, want, 1, msg, sizeof msg) == ECRT_WIRE_BAD_INPUTS, "count");
  want[0].dims[1] = 4;
  CHECK(ecrt_wire_check_tensors(&m, want, 2, msg, sizeof msg) == ECRT_WIRE_BAD_INPUTS &&
            strstr(msg, "float32 [2,4,4]") && strstr(msg, "[2,3,4]"),
        "shape message: %s", msg);
  want[0].dims[1] = 3;
  t[1].id = 0;
  len = build(frame, sizeof frame, ECRT_MSG_REQUEST, 1, 1, t, 2);
  ecrt_wire_parse(frame, len, &m, 1 << 20);
  CHECK(ecrt_wire_check_tensors(&m, want, 2, msg, sizeof msg) == ECRT_WIRE_BAD_INPUTS, "repeated id");
  t[1].id = 1;

  /* Restamping keeps the frame valid. */
  len = build(frame, sizeof frame, ECRT_MSG_RESPONSE, 9, 1, t, 2);
  ecrt_wire_parse(frame, len, &m, 1 << 20);
  ecrt_wire_restamp(frame, m.header_bytes, 777);
  CHECK(ecrt_wire_parse(frame, len, &m, 1 << 20) == ECRT_WIRE_OK && m.request_id == 777, "restamp");

  /* Random bytes with a valid magic are never accepted and never crash the parser. */
  for (k = 0; k < 200000; k++) {
    size_t n = 32 + (size_t)(seed % 200), j;
    for (j = 0; j < n; j++) {
      seed = seed * 6364136223846793005ull + 1442695040888963407ull;
      copy[j] = (unsigned char)(seed >> 56);
    }
    memcpy(copy, "ECT1\1\0\1\0", 8);
    copy[24] = (unsigned char)(copy[24] & 3), copy[25] = copy[26] = copy[27] = 0;
    CHECK(ecrt_wire_parse(copy, n, &m, 1 << 20) != ECRT_WIRE_OK, "random frame %ld accepted", k);
  }
  if (failures) {
    fprintf(stderr, "%d failure(s)\n", failures);
    return 1;
  }
  printf("wire format: ok\n");
  return 0;
}
