/* fuzz_wire.c — libFuzzer target: any bytes as what arrives on a connection, read by the runtime's
 * streaming frame reader the way servers and edgecc-client read it (ecrt_wire_recv_header, then
 * the payload into buffers of exactly the announced sizes, or discarded, or an error frame's
 * text), frame after frame over a socketpair until the stream ends or a refused header makes it
 * untrustworthy. An accepted frame must be consistent with what its header promised.
 *
 * The first input byte chooses the mode: even, the rest is sent as it is; odd, its frames get
 * correct CRCs first, since a fuzzer does not find CRC32C values by itself and would otherwise
 * rarely get past the header check. */
#include "wire_pair.h"

#include <stdint.h>

#include "ecrt_crc32c.h"

static uint32_t rd32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static void wr32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* Walks frames by the layout of docs/wire-format.md alone — 36-byte header, descriptors sized by
 * their rank byte, a payload the descriptors' byte lengths add up to — and writes both CRCs of
 * each. Checks nothing else: what is wrong is the reader's to find. */
static void fix_crcs(uint8_t *p, size_t n) {
  size_t off = 0;
  while (n - off >= ECRT_WIRE_FIXED) {
    uint32_t nt = rd32(p + off + 24), i;
    size_t h = off + ECRT_WIRE_FIXED;
    uint64_t pay = 0;
    for (i = 0; i < nt && i < ECRT_WIRE_MAX_TENSORS; i++) {
      size_t d;
      if (n - h < 6 || n - h < (d = 22 + 8 * (size_t)p[h + 5])) return;
      pay += rd32(p + h + d - 8) | (uint64_t)rd32(p + h + d - 4) << 32;
      h += d;
    }
    wr32(p + off + 32, ecrt_crc32c(ecrt_crc32c(0, p + off, 32), p + off + ECRT_WIRE_FIXED, h - off - ECRT_WIRE_FIXED));
    if (pay > n - h || n - h - pay < 4) return;
    wr32(p + h + pay, ecrt_crc32c(0, p + h, (size_t)pay));
    off = h + (size_t)pay + 4;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint8_t *bytes;
  ecrt_conn *c;
  int k;
  if (size < 1 || size - 1 > WP_MAX_BYTES) return 0;
  bytes = malloc(size);
  if (!bytes) return 0;
  memcpy(bytes, data + 1, size - 1);
  if (data[0] & 1) fix_crcs(bytes, size - 1);
  c = wp_conn(bytes, size - 1);
  free(bytes);
  if (!c) return 0; /* out of file descriptors: not the reader's fault */
  for (k = 0; k < 64; k++) {
    wp_frame f;
    ecrt_wire_err e = wp_read(c, &f, 1 << 20, k & 1);
    if (e == ECRT_WIRE_OK) {
      uint64_t sum = 0;
      uint32_t i;
      if (f.m.header_bytes != ecrt_wire_header_size(f.m.t, f.m.n_tensors) || f.m.payload_bytes > (1 << 20))
        __builtin_trap();
      for (i = 0; i < f.m.n_tensors; i++) {
        uint64_t n = ecrt_dtype_size(f.m.t[i].dtype);
        int d;
        for (d = 0; d < f.m.t[i].rank; d++) n *= (uint64_t)f.m.t[i].dims[d];
        if (n != f.m.t[i].bytes) __builtin_trap();
        sum += f.m.t[i].bytes;
        if (f.data[i]) { /* every byte was written: reading them all is defined */
          volatile uint8_t sink = 0;
          uint64_t j;
          for (j = 0; j < f.m.t[i].bytes; j++) sink ^= ((const uint8_t *)f.data[i])[j];
          (void)sink;
        }
      }
      if (sum != f.m.payload_bytes) __builtin_trap();
      if (f.m.type == ECRT_MSG_ERROR && strlen(f.text) > ECRT_WIRE_ERROR_TEXT_MAX) __builtin_trap();
    }
    wp_free(&f);
    /* A refused header leaves the stream out of step: servers close the connection there. */
    if (e != ECRT_WIRE_OK && e != ECRT_WIRE_BAD_PAYLOAD_CRC) break;
  }
  c->ops->close(c);
  return 0;
}
