/* ecrt_wire.c — frames of the transports: encoding, step-by-step strict decoding (every length
 * checked before it is used), and sending/receiving them over a connection. */
#include <stdio.h>
#include <string.h>

#include "ecrt_crc32c.h"
#include "ecrt_wire.h"

static void w16(unsigned char *p, uint16_t v) {
  p[0] = (unsigned char)v;
  p[1] = (unsigned char)(v >> 8);
}
static void w32(unsigned char *p, uint32_t v) {
  w16(p, (uint16_t)v);
  w16(p + 2, (uint16_t)(v >> 16));
}
static void w64(unsigned char *p, uint64_t v) {
  w32(p, (uint32_t)v);
  w32(p + 4, (uint32_t)(v >> 32));
}
static uint16_t r16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t r32(const unsigned char *p) { return (uint32_t)r16(p) | (uint32_t)r16(p + 2) << 16; }
static uint64_t r64(const unsigned char *p) { return r32(p) | (uint64_t)r32(p + 4) << 32; }

const char *ecrt_wire_err_name(ecrt_wire_err e) {
  switch (e) {
    case ECRT_WIRE_OK: return "ok";
    case ECRT_WIRE_BAD_MAGIC: return "bad-magic";
    case ECRT_WIRE_BAD_VERSION: return "bad-version";
    case ECRT_WIRE_BAD_TYPE: return "bad-type";
    case ECRT_WIRE_BAD_HEADER_CRC: return "bad-header-crc";
    case ECRT_WIRE_BAD_PAYLOAD_CRC: return "bad-payload-crc";
    case ECRT_WIRE_PLAN_MISMATCH: return "plan-mismatch";
    case ECRT_WIRE_TOO_LARGE: return "too-large";
    case ECRT_WIRE_BAD_TENSORS: return "bad-tensors";
    case ECRT_WIRE_BAD_INPUTS: return "bad-inputs";
    case ECRT_WIRE_RUN_FAILED: return "run-failed";
    case ECRT_WIRE_NEXT_UNAVAILABLE: return "next-unavailable";
    case ECRT_WIRE_NEXT_LOST: return "next-lost";
    case ECRT_WIRE_TIMEOUT: return "timeout";
    case ECRT_WIRE_BUSY: return "busy";
    case ECRT_WIRE_INTERNAL: return "internal";
    case ECRT_WIRE_IO: return "io";
  }
  return "unknown";
}

const char *ecrt_wire_err_str(ecrt_wire_err e) {
  switch (e) {
    case ECRT_WIRE_OK: return "ok";
    case ECRT_WIRE_BAD_MAGIC: return "not an edgecc frame (bad magic)";
    case ECRT_WIRE_BAD_VERSION: return "unsupported wire format version";
    case ECRT_WIRE_BAD_TYPE: return "unknown message type";
    case ECRT_WIRE_BAD_HEADER_CRC: return "header CRC32C mismatch";
    case ECRT_WIRE_BAD_PAYLOAD_CRC: return "payload CRC32C mismatch";
    case ECRT_WIRE_PLAN_MISMATCH: return "frame from a different plan";
    case ECRT_WIRE_TOO_LARGE: return "frame larger than allowed";
    case ECRT_WIRE_BAD_TENSORS: return "malformed tensor descriptor";
    case ECRT_WIRE_BAD_INPUTS: return "not the inputs this partition takes";
    case ECRT_WIRE_RUN_FAILED: return "the partition failed to run";
    case ECRT_WIRE_NEXT_UNAVAILABLE: return "the next partition is unavailable";
    case ECRT_WIRE_NEXT_LOST: return "the next partition was lost";
    case ECRT_WIRE_TIMEOUT: return "timed out";
    case ECRT_WIRE_BUSY: return "server busy";
    case ECRT_WIRE_INTERNAL: return "internal error";
    case ECRT_WIRE_IO: return "connection failed";
  }
  return "unknown error";
}

uint64_t ecrt_wire_hash(uint64_t h, const void *data, size_t n) {
  const unsigned char *p = data;
  size_t i;
  if (!h) h = 0xcbf29ce484222325ull;
  for (i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

size_t ecrt_wire_header_size(const ecrt_wire_tensor *t, uint32_t n) {
  size_t s = ECRT_WIRE_FIXED;
  uint32_t i;
  for (i = 0; i < n; i++) s += 22 + 8 * (size_t)t[i].rank;
  return s;
}

/* The header CRC: fixed bytes 0..31 (everything but the CRC field), then the descriptors. */
static uint32_t header_crc(const unsigned char *hdr, size_t len) {
  uint32_t c = ecrt_crc32c(0, hdr, 32);
  return ecrt_crc32c(c, hdr + ECRT_WIRE_FIXED, len - ECRT_WIRE_FIXED);
}

size_t ecrt_wire_encode_header(unsigned char *buf, size_t cap, int type, uint64_t plan_id,
                               uint64_t request_id, uint32_t models, const ecrt_wire_tensor *t,
                               uint32_t n) {
  size_t len = ECRT_WIRE_FIXED;
  uint32_t i;
  int k;
  if (n > ECRT_WIRE_MAX_TENSORS) return 0;
  for (i = 0; i < n; i++)
    if (t[i].rank < 0 || t[i].rank > ECRT_MAX_RANK || t[i].dtype < 0 || t[i].dtype > 255) return 0;
  if (ecrt_wire_header_size(t, n) > cap) return 0;
  w32(buf, ECRT_WIRE_MAGIC);
  w16(buf + 4, ECRT_WIRE_VERSION);
  w16(buf + 6, (uint16_t)type);
  w64(buf + 8, plan_id);
  w64(buf + 16, request_id);
  w32(buf + 24, n);
  w32(buf + 28, models);
  for (i = 0; i < n; i++) {
    unsigned char *p = buf + len;
    uint32_t sbits;
    w32(p, t[i].id);
    p[4] = (unsigned char)t[i].dtype;
    p[5] = (unsigned char)t[i].rank;
    for (k = 0; k < t[i].rank; k++) w64(p + 6 + 8 * k, (uint64_t)t[i].dims[k]);
    p += 6 + 8 * t[i].rank;
    memcpy(&sbits, &t[i].scale, 4);
    w32(p, sbits);
    w32(p + 4, (uint32_t)t[i].zero_point);
    w64(p + 8, t[i].bytes);
    len += 22 + 8 * (size_t)t[i].rank;
  }
  w32(buf + 32, header_crc(buf, len));
  return len;
}

ecrt_wire_err ecrt_wire_parse_fixed(const unsigned char *p, ecrt_wire_msg *m) {
  memset(m, 0, sizeof *m - sizeof m->t);
  if (r32(p) != ECRT_WIRE_MAGIC) return ECRT_WIRE_BAD_MAGIC;
  m->version = r16(p + 4);
  m->type = r16(p + 6);
  m->plan_id = r64(p + 8);
  m->request_id = r64(p + 16);
  m->n_tensors = r32(p + 24);
  if (m->version != ECRT_WIRE_VERSION) return ECRT_WIRE_BAD_VERSION;
  m->models = r32(p + 28);
  if (m->type < ECRT_MSG_REQUEST || m->type > ECRT_MSG_PING) return ECRT_WIRE_BAD_TYPE;
  if (m->n_tensors > ECRT_WIRE_MAX_TENSORS) return ECRT_WIRE_TOO_LARGE;
  return ECRT_WIRE_OK;
}

ecrt_wire_err ecrt_wire_parse_desc(const unsigned char *p, size_t len, ecrt_wire_tensor *t,
                                   size_t *used) {
  int k;
  uint32_t sbits;
  size_t need;
  if (len < 6) return ECRT_WIRE_BAD_TENSORS;
  memset(t, 0, sizeof *t);
  t->id = r32(p);
  t->dtype = p[4];
  t->rank = p[5];
  if (t->rank > ECRT_MAX_RANK) return ECRT_WIRE_BAD_TENSORS;
  need = 22 + 8 * (size_t)t->rank;
  if (len < need) return ECRT_WIRE_BAD_TENSORS;
  for (k = 0; k < t->rank; k++) t->dims[k] = (int64_t)r64(p + 6 + 8 * k);
  p += 6 + 8 * t->rank;
  sbits = r32(p);
  memcpy(&t->scale, &sbits, 4);
  t->zero_point = (int32_t)r32(p + 4);
  t->bytes = r64(p + 8);
  *used = need;
  return ECRT_WIRE_OK;
}

ecrt_wire_err ecrt_wire_check_header(const unsigned char *hdr, size_t len, ecrt_wire_msg *m,
                                     uint64_t max_payload) {
  uint32_t i;
  int k;
  if (header_crc(hdr, len) != r32(hdr + 32)) return ECRT_WIRE_BAD_HEADER_CRC;
  m->header_bytes = len;
  m->payload_bytes = 0;
  for (i = 0; i < m->n_tensors; i++) {
    const ecrt_wire_tensor *t = &m->t[i];
    uint64_t n = ecrt_dtype_size(t->dtype);
    if (n == 0) return ECRT_WIRE_BAD_TENSORS;
    for (k = 0; k < t->rank; k++) {
      if (t->dims[k] < 0) return ECRT_WIRE_BAD_TENSORS;
      if (t->dims[k] && n > max_payload / (uint64_t)t->dims[k]) return ECRT_WIRE_TOO_LARGE;
      n *= (uint64_t)t->dims[k];
    }
    if (t->bytes > max_payload || m->payload_bytes > max_payload - t->bytes)
      return ECRT_WIRE_TOO_LARGE;
    if (t->bytes != n) return ECRT_WIRE_BAD_TENSORS;
    m->payload_bytes += t->bytes;
  }
  return ECRT_WIRE_OK;
}

static void shape_str(char *buf, size_t len, int32_t dtype, int32_t rank, const int64_t *dims) {
  size_t used = (size_t)snprintf(buf, len, "%s [", ecrt_dtype_name(dtype));
  int i;
  for (i = 0; i < rank && used < len; i++)
    used += (size_t)snprintf(buf + used, len - used, "%s%lld", i ? "," : "", (long long)dims[i]);
  if (used < len) snprintf(buf + used, len - used, "]");
}

ecrt_wire_err ecrt_wire_check_tensors(const ecrt_wire_msg *m, const ecrt_wire_tensor *want,
                                      int n_want, char *msg, size_t msg_len) {
  unsigned seen[ECRT_WIRE_MAX_TENSORS];
  uint32_t i;
  int k;
  char a[200], b[200];
  if (m->n_tensors != (uint32_t)n_want) {
    snprintf(msg, msg_len, "%u tensor(s) sent, the partition takes %d", m->n_tensors, n_want);
    return ECRT_WIRE_BAD_INPUTS;
  }
  memset(seen, 0, sizeof seen);
  for (i = 0; i < m->n_tensors; i++) {
    const ecrt_wire_tensor *t = &m->t[i], *w;
    int same;
    if (t->id >= (uint32_t)n_want || seen[t->id]++) {
      snprintf(msg, msg_len, "tensor id %u is out of range or repeated (inputs are 0..%d)", t->id,
               n_want - 1);
      return ECRT_WIRE_BAD_INPUTS;
    }
    w = &want[t->id];
    same = t->dtype == w->dtype && t->rank == w->rank;
    for (k = 0; same && k < t->rank; k++) same = t->dims[k] == w->dims[k];
    if (!same) {
      shape_str(a, sizeof a, w->dtype, w->rank, w->dims);
      shape_str(b, sizeof b, t->dtype, t->rank, t->dims);
      snprintf(msg, msg_len, "input %u must be %s, got %s", t->id, a, b);
      return ECRT_WIRE_BAD_INPUTS;
    }
    if (t->scale != w->scale || t->zero_point != w->zero_point) {
      snprintf(msg, msg_len, "input %u: quantization (scale %g, zero point %d) differs from (%g, %d)",
               t->id, (double)t->scale, (int)t->zero_point, (double)w->scale, (int)w->zero_point);
      return ECRT_WIRE_BAD_INPUTS;
    }
  }
  return ECRT_WIRE_OK;
}

void ecrt_wire_restamp(unsigned char *hdr, size_t len, uint64_t request_id) {
  w64(hdr + 16, request_id);
  w32(hdr + 32, header_crc(hdr, len));
}

/* ---- over a connection ------------------------------------------------------------------------ */

ecrt_net_status ecrt_wire_send(ecrt_conn *c, int type, uint64_t plan_id, uint64_t request_id,
                               const ecrt_wire_tensor *t, uint32_t n, int timeout_ms) {
  return ecrt_wire_send_set(c, type, plan_id, request_id, 0, t, n, timeout_ms);
}

ecrt_net_status ecrt_wire_send_set(ecrt_conn *c, int type, uint64_t plan_id, uint64_t request_id,
                                   uint32_t models, const ecrt_wire_tensor *t, uint32_t n,
                                   int timeout_ms) {
  unsigned char hdr[ECRT_WIRE_HEADER_MAX], tail[4];
  ecrt_iov iov[ECRT_WIRE_MAX_TENSORS + 2];
  uint32_t crc = 0, i;
  int k = 0;
  size_t len = ecrt_wire_encode_header(hdr, sizeof hdr, type, plan_id, request_id, models, t, n);
  if (!len) return ECRT_NET_ERR;
  iov[k].base = hdr;
  iov[k++].len = len;
  for (i = 0; i < n; i++) {
    crc = ecrt_crc32c(crc, t[i].data, (size_t)t[i].bytes);
    iov[k].base = t[i].data;
    iov[k++].len = (size_t)t[i].bytes;
  }
  w32(tail, crc);
  iov[k].base = tail;
  iov[k++].len = 4;
  return c->ops->sendv(c, iov, k, timeout_ms);
}

ecrt_net_status ecrt_wire_send_error(ecrt_conn *c, uint64_t plan_id, uint64_t request_id,
                                     ecrt_wire_err code, const char *text, int timeout_ms) {
  ecrt_wire_tensor t;
  size_t n = strlen(text);
  if (n > ECRT_WIRE_ERROR_TEXT_MAX) n = ECRT_WIRE_ERROR_TEXT_MAX;
  memset(&t, 0, sizeof t);
  t.id = (uint32_t)code;
  t.dtype = ECK_UINT8;
  t.rank = 1;
  t.dims[0] = (int64_t)n;
  t.bytes = n;
  t.data = text;
  return ecrt_wire_send(c, ECRT_MSG_ERROR, plan_id, request_id, &t, 1, timeout_ms);
}

ecrt_wire_err ecrt_wire_recv_header(ecrt_conn *c, unsigned char *hdr, ecrt_wire_msg *m,
                                    uint64_t max_payload, int timeout_ms, ecrt_net_status *net) {
  size_t off = ECRT_WIRE_FIXED, used;
  uint32_t i;
  ecrt_wire_err e;
  /* Every version's fixed header has 32 bytes: read those, then (version known) the rest, so
   * that a frame of another version is refused rather than waited on. */
  *net = c->ops->recv(c, hdr, ECRT_WIRE_FIXED_V1, timeout_ms);
  if (*net) return ECRT_WIRE_IO;
  if (r32(hdr) == ECRT_WIRE_MAGIC && r16(hdr + 4) == ECRT_WIRE_VERSION) {
    *net = c->ops->recv(c, hdr + ECRT_WIRE_FIXED_V1, ECRT_WIRE_FIXED - ECRT_WIRE_FIXED_V1, timeout_ms);
    if (*net) return ECRT_WIRE_IO;
  }
  if ((e = ecrt_wire_parse_fixed(hdr, m)) != ECRT_WIRE_OK) return e;
  for (i = 0; i < m->n_tensors; i++) {
    /* The descriptor's first 6 bytes give its rank, hence its size. */
    *net = c->ops->recv(c, hdr + off, 6, timeout_ms);
    if (*net) return ECRT_WIRE_IO;
    if (hdr[off + 5] > ECRT_MAX_RANK) return ECRT_WIRE_BAD_TENSORS;
    *net = c->ops->recv(c, hdr + off + 6, 16 + 8 * (size_t)hdr[off + 5], timeout_ms);
    if (*net) return ECRT_WIRE_IO;
    if ((e = ecrt_wire_parse_desc(hdr + off, ECRT_WIRE_DESC_MAX, &m->t[i], &used)) != ECRT_WIRE_OK)
      return e;
    off += used;
  }
  return ecrt_wire_check_header(hdr, off, m, max_payload);
}

/* The one payload reader: of tensor i, the first `keep` bytes into dst[i] (dst or dst[i] NULL:
 * none), the rest through a scratch buffer, all of it into the CRC; then the CRC itself. Reads
 * exactly the bytes the checked header announced, so a BAD_PAYLOAD_CRC leaves the stream in step. */
static ecrt_wire_err recv_body(ecrt_conn *c, const ecrt_wire_msg *m, void *const *dst, uint64_t keep,
                               uint32_t *crc_out, int timeout_ms, ecrt_net_status *net) {
  unsigned char scratch[16384], tail[4];
  uint32_t crc = 0, i;
  for (i = 0; i < m->n_tensors; i++) {
    uint64_t left = m->t[i].bytes, kept = 0;
    unsigned char *d = dst ? dst[i] : NULL;
    while (left) {
      int into_dst = d && kept < keep;
      uint64_t want = into_dst ? (left < keep - kept ? left : keep - kept)
                               : (left < sizeof scratch ? left : sizeof scratch);
      size_t k = want > (size_t)-1 ? (size_t)-1 : (size_t)want;
      unsigned char *into = into_dst ? d + kept : scratch;
      *net = c->ops->recv(c, into, k, timeout_ms);
      if (*net) return ECRT_WIRE_IO;
      crc = ecrt_crc32c(crc, into, k);
      left -= k;
      if (into_dst) kept += k;
    }
  }
  *net = c->ops->recv(c, tail, 4, timeout_ms);
  if (*net) return ECRT_WIRE_IO;
  if (crc_out) *crc_out = crc;
  return r32(tail) == crc ? ECRT_WIRE_OK : ECRT_WIRE_BAD_PAYLOAD_CRC;
}

ecrt_wire_err ecrt_wire_recv_payload(ecrt_conn *c, const ecrt_wire_msg *m, void *const *dst,
                                     uint32_t *crc, int timeout_ms, ecrt_net_status *net) {
  return recv_body(c, m, dst, UINT64_MAX, crc, timeout_ms, net);
}

ecrt_wire_err ecrt_wire_recv_error_text(ecrt_conn *c, const ecrt_wire_msg *m, char *buf,
                                        size_t len, int timeout_ms, ecrt_net_status *net) {
  void *dst[ECRT_WIRE_MAX_TENSORS] = {0};
  uint64_t n = m->n_tensors ? m->t[0].bytes : 0;
  ecrt_wire_err e;
  if (!len) return ECRT_WIRE_INTERNAL;
  dst[0] = buf;
  e = recv_body(c, m, dst, len - 1, NULL, timeout_ms, net);
  buf[n < len - 1 ? (size_t)n : len - 1] = 0;
  return e;
}
