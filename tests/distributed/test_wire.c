/* test_wire.c — the wire format through the runtime's streaming frame reader, the one servers
 * and edgecc-client use (ecrt_wire_recv_header + ecrt_wire_recv_payload / _recv_error_text), fed
 * over a socketpair: round trips, every single-bit flip and every truncation of a frame refused
 * (a flipped payload as bad-payload-crc with the stream still in step for the next frame), the
 * named errors, the expectations check, and seeded random frames — random bytes never accepted,
 * random well-formed frames read back exactly, with a payload CRC computed here bit by bit. */
#include "wire_pair.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ecrt_crc32c.h"

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
 * ecrt_crc32c is checked against, and what the random frames' payload CRCs are made with. */
static uint32_t crc_bitwise(uint32_t crc, const void *data, size_t n) {
  const unsigned char *p = data;
  crc = ~crc;
  while (n--) {
    crc ^= *p++;
    for (int k = 0; k < 8; k++) crc = (crc & 1) ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
  }
  return ~crc;
}

static void put32(unsigned char *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

/* Builds a frame in memory the way ecrt_wire_send lays it out; *hdr_len gets the header's size. */
static size_t build(unsigned char *buf, size_t cap, int type, uint64_t plan, uint64_t req,
                    const ecrt_wire_tensor *t, uint32_t n, size_t *hdr_len) {
  size_t len = ecrt_wire_encode_header(buf, cap, type, plan, req, 0, t, n);
  uint32_t crc = 0, i;
  if (!len) return 0;
  if (hdr_len) *hdr_len = len;
  for (i = 0; i < n; i++) {
    memcpy(buf + len, t[i].data, (size_t)t[i].bytes);
    crc = crc_bitwise(crc, t[i].data, (size_t)t[i].bytes);
    len += (size_t)t[i].bytes;
  }
  put32(buf + len, crc);
  return len + 4;
}

/* The verdict of reading one frame out of `bytes` (then end of stream); *next gets the verdict
 * of reading a second frame after it (NULL: not read). */
static ecrt_wire_err read_one(const unsigned char *bytes, size_t len, wp_frame *f, uint64_t max,
                              int discard, ecrt_wire_err *next) {
  ecrt_conn *c = wp_conn(bytes, len);
  ecrt_wire_err e;
  if (!c) {
    fprintf(stderr, "cannot make a socketpair for %zu bytes\n", len);
    exit(1);
  }
  e = wp_read(c, f, max, discard);
  if (next) {
    wp_frame g;
    *next = wp_read(c, &g, max, 0);
    wp_free(&g);
  }
  c->ops->close(c);
  return e;
}

static unsigned long long rng = 12345;
static uint32_t rnd(void) {
  rng = rng * 6364136223846793005ull + 1442695040888963407ull;
  return (uint32_t)(rng >> 33);
}

/* Random well-formed frames (ranks 0-8, zero-sized dims, every dtype size, tensors up to 40 KB so
 * that the discarding path crosses its scratch buffer), half with a wrong payload CRC: each is read
 * back exactly, or refused as bad-payload-crc exactly when its CRC is wrong, with the stream in
 * step for the ping sent after it. */
static void random_valid_frames(int count) {
  static unsigned char frame[WP_MAX_BYTES], data[ECRT_WIRE_MAX_TENSORS][4096];
  static const int dtypes[] = {ECK_FLOAT, ECK_UINT8, ECK_INT8, ECK_INT64, ECK_FLOAT16, ECK_DOUBLE, ECK_BOOL, ECK_COMPLEX128};
  ecrt_wire_tensor t[ECRT_WIRE_MAX_TENSORS];
  static unsigned char big[40000];
  for (int k = 0; k < count; k++) {
    uint32_t n = rnd() % 5, i;
    size_t len, hdr_len, total = 0;
    int bad = rnd() % 2, discard = rnd() % 3 == 0, type = rnd() % 2 ? ECRT_MSG_REQUEST : ECRT_MSG_RESPONSE;
    memset(t, 0, sizeof t);
    for (i = 0; i < n; i++) {
      int64_t numel = 1;
      t[i].id = rnd();
      t[i].dtype = dtypes[rnd() % 8];
      t[i].rank = (int32_t)(rnd() % 9);
      for (int d = 0; d < t[i].rank; d++) {
        t[i].dims[d] = numel > 64 ? 1 : (int64_t)(rnd() % 4);
        numel *= t[i].dims[d];
      }
      t[i].scale = (float)(rnd() % 3), t[i].zero_point = (int32_t)rnd();
      t[i].bytes = (uint64_t)numel * ecrt_dtype_size(t[i].dtype);
      for (size_t j = 0; j < t[i].bytes; j++) data[i][j] = (unsigned char)rnd();
      t[i].data = data[i];
    }
    if (k % 50 == 0 && n < ECRT_WIRE_MAX_TENSORS) { /* one large tensor */
      t[n].dtype = ECK_UINT8, t[n].rank = 1, t[n].dims[0] = (int64_t)sizeof big, t[n].bytes = sizeof big;
      for (size_t j = 0; j < sizeof big; j++) big[j] = (unsigned char)rnd();
      t[n++].data = big;
    }
    len = build(frame, sizeof frame, type, rnd(), rnd(), t, n, &hdr_len);
    for (i = 0; i < n; i++) total += (size_t)t[i].bytes;
    if (bad) frame[len - 1 - rnd() % 4] ^= (unsigned char)(1u << (rnd() % 8));
    /* A ping after it: read correctly only if the first frame's bytes were consumed exactly. */
    size_t plen = build(frame + len, sizeof frame - len, ECRT_MSG_PING, 7, 8, NULL, 0, NULL);
    wp_frame f;
    ecrt_wire_err next, e = read_one(frame, len + plen, &f, 1 << 20, discard, &next);
    CHECK(e == (bad ? ECRT_WIRE_BAD_PAYLOAD_CRC : ECRT_WIRE_OK), "random frame %d (%u tensors, %zu bytes, %s): %s",
          k, n, total, bad ? "bad CRC" : "good", ecrt_wire_err_name(e));
    CHECK(next == ECRT_WIRE_OK, "random frame %d: the ping after it: %s", k, ecrt_wire_err_name(next));
    CHECK(f.m.n_tensors == n && f.m.payload_bytes == total && f.m.header_bytes == hdr_len,
          "random frame %d: header fields", k);
    for (i = 0; !bad && !discard && i < n && i < f.m.n_tensors; i++) {
      int same = f.m.t[i].id == t[i].id && f.m.t[i].dtype == t[i].dtype && f.m.t[i].rank == t[i].rank &&
                 f.m.t[i].bytes == t[i].bytes && f.m.t[i].zero_point == t[i].zero_point &&
                 f.m.t[i].scale == t[i].scale && memcmp(f.data[i], t[i].data, (size_t)t[i].bytes) == 0;
      for (int d = 0; same && d < t[i].rank; d++) same = f.m.t[i].dims[d] == t[i].dims[d];
      CHECK(same, "random frame %d: tensor %u read back differently", k, i);
    }
    wp_free(&f);
  }
}

int main(void) {
  static unsigned char frame[WP_MAX_BYTES], copy[WP_MAX_BYTES];
  float a[2 * 3 * 4];
  int64_t b[5];
  ecrt_wire_tensor t[2], want[2];
  wp_frame f;
  ecrt_wire_err e, next;
  size_t len, hlen, i, bit, plen;
  char msg[256];
  long k;
  /* The fast CRC equals the bitwise one at every alignment and length. */
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

  /* Round trip: a request, then a ping and an error frame on the same stream, then its end. */
  len = build(frame, sizeof frame, ECRT_MSG_REQUEST, 0x1122334455667788ull, 42, t, 2, &hlen);
  CHECK(len == ecrt_wire_header_size(t, 2) + sizeof a + sizeof b + 4, "frame size %zu", len);
  CHECK(memcmp(frame, "ECT1", 4) == 0, "magic bytes");
  {
    ecrt_wire_tensor et;
    const char *text = "a_p0: [run-failed] the node 'x' failed";
    size_t n = len;
    memset(&et, 0, sizeof et);
    et.id = ECRT_WIRE_RUN_FAILED, et.dtype = ECK_UINT8, et.rank = 1, et.dims[0] = (int64_t)strlen(text);
    et.bytes = strlen(text), et.data = text;
    n += build(frame + n, sizeof frame - n, ECRT_MSG_PING, 5, 6, NULL, 0, NULL);
    n += build(frame + n, sizeof frame - n, ECRT_MSG_ERROR, 5, 7, &et, 1, NULL);
    ecrt_conn *c = wp_conn(frame, n);
    CHECK(c != NULL, "socketpair");
    e = wp_read(c, &f, 1 << 20, 0);
    CHECK(e == ECRT_WIRE_OK, "round trip: %s", ecrt_wire_err_str(e));
    CHECK(f.m.plan_id == 0x1122334455667788ull && f.m.request_id == 42 && f.m.n_tensors == 2, "header fields");
    CHECK(f.m.t[0].rank == 3 && f.m.t[0].dims[2] == 4 && f.m.t[1].dtype == ECK_INT64, "descriptors");
    CHECK(memcmp(f.data[0], a, sizeof a) == 0 && memcmp(f.data[1], b, sizeof b) == 0, "payload");
    wp_free(&f);
    e = wp_read(c, &f, 1 << 20, 0);
    CHECK(e == ECRT_WIRE_OK && f.m.type == ECRT_MSG_PING && f.m.request_id == 6, "ping after it: %s", ecrt_wire_err_name(e));
    e = wp_read(c, &f, 1 << 20, 0);
    CHECK(e == ECRT_WIRE_OK && f.m.type == ECRT_MSG_ERROR && f.m.t[0].id == ECRT_WIRE_RUN_FAILED &&
              strcmp(f.text, text) == 0, "error frame: %s '%s'", ecrt_wire_err_name(e), f.text);
    e = wp_read(c, &f, 1 << 20, 0);
    CHECK(e == ECRT_WIRE_IO, "end of stream: %s", ecrt_wire_err_name(e));
    c->ops->close(c);
    /* An error text longer than the reader's buffer is cut, and the stream stays in step. */
    static char longtext[3000];
    memset(longtext, 'x', sizeof longtext);
    et.dims[0] = (int64_t)sizeof longtext, et.bytes = sizeof longtext, et.data = longtext;
    n = build(copy, sizeof copy, ECRT_MSG_ERROR, 5, 7, &et, 1, NULL);
    n += build(copy + n, sizeof copy - n, ECRT_MSG_PING, 5, 8, NULL, 0, NULL);
    e = read_one(copy, n, &f, 1 << 20, 0, &next);
    CHECK(e == ECRT_WIRE_OK && strlen(f.text) == ECRT_WIRE_ERROR_TEXT_MAX && next == ECRT_WIRE_OK,
          "long error text: %s, %zu bytes kept, then %s", ecrt_wire_err_name(e), strlen(f.text), ecrt_wire_err_name(next));
  }

  /* Every single-bit flip anywhere is refused. In the header it stops the reader there; in the
   * payload or its CRC it is bad-payload-crc exactly and the stream stays in step (the ping after
   * it is read). Both as kept and as discarded, and as an error frame's text. */
  plen = build(frame + len, sizeof frame - len, ECRT_MSG_PING, 1, 2, NULL, 0, NULL);
  for (i = 0; i < len; i++)
    for (bit = 0; bit < 8; bit++) {
      memcpy(copy, frame, len + plen);
      copy[i] ^= (unsigned char)(1u << bit);
      e = read_one(copy, len + plen, &f, 1 << 20, (int)(bit & 1), &next);
      if (i < hlen)
        CHECK(e != ECRT_WIRE_OK && e != ECRT_WIRE_BAD_PAYLOAD_CRC, "flip of header byte %zu bit %zu: %s", i, bit,
              ecrt_wire_err_name(e));
      else
        CHECK(e == ECRT_WIRE_BAD_PAYLOAD_CRC && next == ECRT_WIRE_OK, "flip of payload byte %zu bit %zu: %s, then %s",
              i, bit, ecrt_wire_err_name(e), ecrt_wire_err_name(next));
      wp_free(&f);
    }
  {
    ecrt_wire_tensor et;
    const char *text = "a_p0: [bad-inputs] input 0 must be float32 [1,1,8,8]";
    size_t n, eh;
    memset(&et, 0, sizeof et);
    et.id = ECRT_WIRE_BAD_INPUTS, et.dtype = ECK_UINT8, et.rank = 1, et.dims[0] = (int64_t)strlen(text);
    et.bytes = strlen(text), et.data = text;
    n = build(copy, sizeof copy, ECRT_MSG_ERROR, 3, 4, &et, 1, &eh);
    for (i = eh; i < n; i++) {
      copy[i] ^= 4;
      e = read_one(copy, n, &f, 1 << 20, 0, NULL);
      CHECK(e == ECRT_WIRE_BAD_PAYLOAD_CRC, "flip of error text byte %zu: %s", i, ecrt_wire_err_name(e));
      copy[i] ^= 4;
    }
  }
  /* Every truncation is refused: the stream ends inside the frame. */
  for (i = 0; i < len; i++) {
    e = read_one(frame, i, &f, 1 << 20, (int)(i & 1), NULL);
    CHECK(e == ECRT_WIRE_IO, "truncated to %zu: %s", i, ecrt_wire_err_name(e));
    wp_free(&f);
  }
  /* Named errors for the cases servers distinguish. */
  memcpy(copy, frame, len);
  copy[0] = 'X';
  CHECK(read_one(copy, len, &f, 1 << 20, 0, NULL) == ECRT_WIRE_BAD_MAGIC, "bad magic");
  memcpy(copy, frame, len);
  copy[4] = 1; /* version 1 frames (no model set) are refused, not misread */
  CHECK(read_one(copy, len, &f, 1 << 20, 0, NULL) == ECRT_WIRE_BAD_VERSION, "old version");
  copy[4] = 3;
  CHECK(read_one(copy, len, &f, 1 << 20, 0, NULL) == ECRT_WIRE_BAD_VERSION, "bad version");
  memcpy(copy, frame, len);
  copy[6] = 9;
  CHECK(read_one(copy, len, &f, 1 << 20, 0, NULL) == ECRT_WIRE_BAD_TYPE, "bad type");
  memcpy(copy, frame, len);
  copy[30] ^= 1;
  CHECK(read_one(copy, len, &f, 1 << 20, 0, NULL) == ECRT_WIRE_BAD_HEADER_CRC, "bad header CRC");
  memcpy(copy, frame, len);
  copy[len - 10] ^= 1;
  CHECK(read_one(copy, len, &f, 1 << 20, 0, NULL) == ECRT_WIRE_BAD_PAYLOAD_CRC, "bad payload CRC");
  wp_free(&f);
  CHECK(read_one(frame, len, &f, 64, 0, NULL) == ECRT_WIRE_TOO_LARGE, "maximum payload");
  memcpy(copy, frame, len);
  copy[24] = ECRT_WIRE_MAX_TENSORS + 1;
  CHECK(read_one(copy, len, &f, 1 << 20, 0, NULL) == ECRT_WIRE_TOO_LARGE, "too many tensors");
  memcpy(copy, frame, len);
  copy[ECRT_WIRE_FIXED + 5] = ECRT_MAX_RANK + 1;
  CHECK(read_one(copy, len, &f, 1 << 20, 0, NULL) == ECRT_WIRE_BAD_TENSORS, "rank over the maximum");
  /* With a valid header CRC: a byte length that does not match the dims, an unknown dtype, a
   * negative dim, dims whose product overflows (too large, not a wrap-around). */
  t[1].bytes = 39;
  len = build(frame, sizeof frame, ECRT_MSG_REQUEST, 1, 1, t, 2, NULL);
  CHECK(read_one(frame, len, &f, 1 << 20, 0, NULL) == ECRT_WIRE_BAD_TENSORS, "length vs dims");
  t[1].bytes = sizeof b;
  t[1].dtype = 99;
  len = build(frame, sizeof frame, ECRT_MSG_REQUEST, 1, 1, t, 2, NULL);
  CHECK(read_one(frame, len, &f, 1 << 20, 0, NULL) == ECRT_WIRE_BAD_TENSORS, "unknown dtype");
  t[1].dtype = ECK_INT64;
  t[1].dims[0] = -5;
  len = build(frame, sizeof frame, ECRT_MSG_REQUEST, 1, 1, t, 2, NULL);
  CHECK(read_one(frame, len, &f, 1 << 20, 0, NULL) == ECRT_WIRE_BAD_TENSORS, "negative dim");
  t[1].dims[0] = (int64_t)1 << 62;
  len = build(frame, sizeof frame, ECRT_MSG_REQUEST, 1, 1, t, 2, NULL);
  CHECK(read_one(frame, len, &f, (uint64_t)1 << 40, 0, NULL) == ECRT_WIRE_TOO_LARGE, "overflowing dims");
  t[1].dims[0] = 5;

  /* Expectations: count, ids, dtype, shape. */
  memcpy(want, t, sizeof want);
  len = build(frame, sizeof frame, ECRT_MSG_REQUEST, 1, 1, t, 2, NULL);
  read_one(frame, len, &f, 1 << 20, 1, NULL);
  CHECK(ecrt_wire_check_tensors(&f.m, want, 2, msg, sizeof msg) == ECRT_WIRE_OK, "expected tensors: %s", msg);
  CHECK(ecrt_wire_check_tensors(&f.m, want, 1, msg, sizeof msg) == ECRT_WIRE_BAD_INPUTS, "count");
  want[0].dims[1] = 4;
  CHECK(ecrt_wire_check_tensors(&f.m, want, 2, msg, sizeof msg) == ECRT_WIRE_BAD_INPUTS &&
            strstr(msg, "float32 [2,4,4]") && strstr(msg, "[2,3,4]"),
        "shape message: %s", msg);
  want[0].dims[1] = 3;
  t[1].id = 0;
  len = build(frame, sizeof frame, ECRT_MSG_REQUEST, 1, 1, t, 2, NULL);
  read_one(frame, len, &f, 1 << 20, 1, NULL);
  CHECK(ecrt_wire_check_tensors(&f.m, want, 2, msg, sizeof msg) == ECRT_WIRE_BAD_INPUTS, "repeated id");
  t[1].id = 1;

  /* Restamping keeps the frame valid. */
  len = build(frame, sizeof frame, ECRT_MSG_RESPONSE, 9, 1, t, 2, &hlen);
  ecrt_wire_restamp(frame, hlen, 777);
  CHECK(read_one(frame, len, &f, 1 << 20, 0, NULL) == ECRT_WIRE_OK && f.m.request_id == 777, "restamp");
  wp_free(&f);

  /* Random bytes behind a valid fixed header start are never accepted and never crash the reader. */
  for (k = 0; k < 20000; k++) {
    size_t n = 32 + (size_t)(rnd() % 200), j;
    for (j = 0; j < n; j++) copy[j] = (unsigned char)rnd();
    memcpy(copy, "ECT1\1\0\1\0", 8);
    copy[24] = (unsigned char)(copy[24] & 3), copy[25] = copy[26] = copy[27] = 0;
    e = read_one(copy, n, &f, 1 << 20, (int)(k & 1), NULL);
    CHECK(e != ECRT_WIRE_OK, "random frame %ld accepted", k);
    wp_free(&f);
  }
  random_valid_frames(3000);
  if (failures) {
    fprintf(stderr, "%d failure(s)\n", failures);
    return 1;
  }
  printf("wire format: ok\n");
  return 0;
}
