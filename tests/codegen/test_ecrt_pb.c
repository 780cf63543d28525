/* test_ecrt_pb.c — the runtime's TensorProto reader and writer: round trips, typed data fields,
 * and thousands of corrupted and truncated files that must be refused without crashing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ecrt_pb.h"

static int failures;
#define CHECK(c)                                                      \
  do {                                                                \
    if (!(c)) {                                                       \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); \
      failures++;                                                     \
    }                                                                 \
  } while (0)

int main(void) {
  unsigned char buf[4096], copy[4096];
  float data[24], back[24];
  int64_t dims[3] = {2, 3, 4};
  size_t n;
  ecrt_pb_tensor t;
  const char *err;
  int i, k;
  for (i = 0; i < 24; i++) data[i] = (float)i * 0.5f - 3.0f;
  CHECK(ecrt_pb_encode(buf, sizeof buf, &n, "x", ECK_FLOAT, 3, dims, data, sizeof data) == ECRT_OK);
  CHECK(n == ecrt_pb_encoded_size("x", 3, dims, sizeof data));
  CHECK(ecrt_pb_parse(buf, n, &t, &err) == ECRT_OK);
  CHECK(t.dtype == ECK_FLOAT && t.rank == 3 && t.dims[2] == 4 && t.numel == 24);
  CHECK(t.name_len == 1 && t.name[0] == 'x');
  CHECK(ecrt_pb_decode(&t, back, sizeof back) == ECRT_OK && memcmp(back, data, sizeof data) == 0);
  CHECK(ecrt_pb_decode(&t, back, sizeof back - 1) == ECRT_ERR_ARG);

  /* int64_data, packed: dims [3], data_type 7, int64_data {1, -2, 300}. */
  {
    static const unsigned char m[] = {0x08, 0x03, 0x10, 0x07, 0x3a, 0x0c, 0x01, 0xfe, 0xff, 0xff, 0xff,
                                      0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0xac, 0x02};
    int64_t v[3];
    /* the packed payload above is 1 + 10 + 2 = 13 bytes: fix the length byte */
    unsigned char mm[sizeof m];
    memcpy(mm, m, sizeof m);
    mm[5] = 13;
    CHECK(ecrt_pb_parse(mm, sizeof mm, &t, &err) == ECRT_OK);
    CHECK(ecrt_pb_decode(&t, v, sizeof v) == ECRT_OK && v[0] == 1 && v[1] == -2 && v[2] == 300);
  }
  /* float_data not packed, and a scalar (no dims). */
  {
    static const unsigned char m[] = {0x10, 0x01, 0x25, 0x00, 0x00, 0x80, 0x3f};
    float v;
    CHECK(ecrt_pb_parse(m, sizeof m, &t, &err) == ECRT_OK && t.rank == 0 && t.numel == 1);
    CHECK(ecrt_pb_decode(&t, &v, sizeof v) == ECRT_OK && v == 1.0f);
  }
  /* Refusals: wrong element count, unknown dtype, strings, external data, too many dims. */
  {
    static const unsigned char count[] = {0x08, 0x02, 0x10, 0x01, 0x25, 0x00, 0x00, 0x80, 0x3f};
    static const unsigned char str[] = {0x08, 0x01, 0x10, 0x08, 0x32, 0x01, 0x61};
    static const unsigned char ext[] = {0x10, 0x01, 0x70, 0x01};
    static const unsigned char nodt[] = {0x08, 0x00};
    unsigned char deep[64];
    CHECK(ecrt_pb_parse(count, sizeof count, &t, &err) == ECRT_ERR_FORMAT);
    CHECK(ecrt_pb_parse(str, sizeof str, &t, &err) == ECRT_ERR_FORMAT);
    CHECK(ecrt_pb_parse(ext, sizeof ext, &t, &err) == ECRT_ERR_FORMAT);
    CHECK(ecrt_pb_parse(nodt, sizeof nodt, &t, &err) == ECRT_ERR_FORMAT);
    for (i = 0; i < 9; i++) deep[2 * i] = 0x08, deep[2 * i + 1] = 0x01;
    deep[18] = 0x10, deep[19] = 0x01;
    CHECK(ecrt_pb_parse(deep, 20, &t, &err) == ECRT_ERR_FORMAT);
  }
  /* Every truncation of a valid file, and random byte flips, are handled without a crash;
   * whatever parses decodes within its own size. */
  for (k = 0; k < (int)n; k++) {
    if (ecrt_pb_parse(buf, (size_t)k, &t, &err) == ECRT_OK) CHECK(t.numel * 4 <= (uint64_t)k);
  }
  srand(1);
  for (k = 0; k < 200000; k++) {
    size_t len = n;
    memcpy(copy, buf, n);
    for (i = 0; i < 1 + k % 4; i++) copy[(size_t)rand() % len] = (unsigned char)rand();
    if (k % 3 == 0) len = (size_t)rand() % (n + 1);
    if (ecrt_pb_parse(copy, len, &t, &err) == ECRT_OK) {
      uint64_t bytes = t.numel * ecrt_dtype_size(t.dtype);
      if (bytes <= sizeof back) CHECK(ecrt_pb_decode(&t, back, sizeof back) == ECRT_OK);
    }
  }
  if (failures) return 1;
  printf("ok: ecrt_pb\n");
  return 0;
}
