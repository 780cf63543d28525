/* ecrt_pb.c — TensorProto wire-format reader and writer (see ecrt_pb.h). The reader trusts
 * nothing: every varint is bounded to 10 bytes, every length is checked against what is left. */
#include <string.h>

#include "ecrt_pb.h"

typedef struct rd {
  const unsigned char *p, *end;
} rd;

static int get_varint(rd *r, uint64_t *v) {
  uint64_t x = 0;
  int shift;
  for (shift = 0; shift < 70; shift += 7) {
    unsigned char b;
    if (r->p >= r->end) return 0;
    b = *r->p++;
    if (shift == 63 && b > 1) return 0;
    x |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *v = x;
      return 1;
    }
  }
  return 0;
}

static int get_bytes(rd *r, size_t n, const unsigned char **out) {
  if ((size_t)(r->end - r->p) < n) return 0;
  *out = r->p;
  r->p += n;
  return 1;
}

/* Skips a field's value of the given wire type; groups (3, 4) are refused. */
static int skip(rd *r, unsigned wt) {
  uint64_t v;
  const unsigned char *q;
  switch (wt) {
    case 0: return get_varint(r, &v);
    case 1: return get_bytes(r, 8, &q);
    case 2: return get_varint(r, &v) && v <= (uint64_t)(r->end - r->p) && get_bytes(r, (size_t)v, &q);
    case 5: return get_bytes(r, 4, &q);
    default: return 0;
  }
}

/* Which repeated field carries the elements of each dtype. */
static int field_for_dtype(int32_t dt) {
  switch (dt) {
    case ECK_FLOAT: case ECK_COMPLEX64: return 4;
    case ECK_INT32: case ECK_INT16: case ECK_INT8: case ECK_UINT16: case ECK_UINT8:
    case ECK_BOOL: case ECK_FLOAT16: case ECK_BFLOAT16: return 5;
    case ECK_INT64: return 7;
    case ECK_DOUBLE: case ECK_COMPLEX128: return 10;
    case ECK_UINT32: case ECK_UINT64: return 11;
    default: return 0;
  }
}

/* Elements per value in a typed field: complex numbers take two. */
static uint64_t per_elem(int32_t dt) { return dt == ECK_COMPLEX64 || dt == ECK_COMPLEX128 ? 2 : 1; }

/* Walks the elements of field f (packed or not): calls put(i, raw value) for each. Counting
 * mode when dst is NULL. Returns the element count, or -1 on malformed data. */
static int64_t walk(const ecrt_pb_tensor *t, int f, unsigned char *dst, size_t esize, int32_t dt,
                    uint64_t cap) {
  rd r;
  int64_t count = 0;
  r.p = t->buf;
  r.end = t->buf + t->len;
  while (r.p < r.end) {
    uint64_t key, len;
    unsigned wt;
    rd sub;
    int packed;
    if (!get_varint(&r, &key)) return -1;
    wt = (unsigned)(key & 7);
    if ((key >> 3) != (uint64_t)f) {
      if (!skip(&r, wt)) return -1;
      continue;
    }
    packed = wt == 2;
    if (packed) {
      const unsigned char *q;
      if (!get_varint(&r, &len) || len > (uint64_t)(r.end - r.p) || !get_bytes(&r, (size_t)len, &q))
        return -1;
      sub.p = q;
      sub.end = q + len;
    } else {
      sub = r;
    }
    do {
      uint64_t v = 0;
      const unsigned char *q;
      unsigned ewt = packed ? (f == 4 ? 5u : f == 10 ? 1u : 0u) : wt;
      if (ewt == 0) {
        if (f == 4 || f == 10 || !get_varint(&sub, &v)) return -1;
      } else if (ewt == 5) {
        if (f != 4 || !get_bytes(&sub, 4, &q)) return -1;
        v = (uint64_t)q[0] | (uint64_t)q[1] << 8 | (uint64_t)q[2] << 16 | (uint64_t)q[3] << 24;
      } else if (ewt == 1) {
        int k;
        if (f != 10 || !get_bytes(&sub, 8, &q)) return -1;
        for (k = 7; k >= 0; k--) v = v << 8 | q[k];
      } else {
        return -1;
      }
      if (dst) {
        if ((uint64_t)count >= cap) return -1;
        /* Narrow types keep their low bytes (little-endian host, as ONNX's raw_data). */
        if (dt == ECK_FLOAT16 || dt == ECK_BFLOAT16 || dt == ECK_INT16 || dt == ECK_UINT16) {
          uint16_t h = (uint16_t)v;
          memcpy(dst + (size_t)count * 2, &h, 2);
        } else if (dt == ECK_INT8 || dt == ECK_UINT8) {
          dst[count] = (unsigned char)v;
        } else if (dt == ECK_BOOL) {
          dst[count] = v != 0;
        } else if (dt == ECK_FLOAT || dt == ECK_COMPLEX64 || dt == ECK_INT32 || dt == ECK_UINT32) {
          uint32_t w = (uint32_t)v;
          memcpy(dst + (size_t)count * 4, &w, 4);
        } else {
          memcpy(dst + (size_t)count * 8, &v, 8);
        }
        (void)esize;
      }
      count++;
    } while (packed && sub.p < sub.end);
    if (!packed) r = sub;
  }
  return count;
}

#define FAIL(msg)             \
  do {                        \
    if (err) *err = (msg);    \
    return ECRT_ERR_FORMAT;   \
  } while (0)

ecrt_status ecrt_pb_parse(const void *buf, size_t len, ecrt_pb_tensor *t, const char **err) {
  rd r;
  uint64_t numel = 1;
  int seen_fields = 0; /* bit per data field number */
  int has_raw = 0;
  size_t raw_len = 0;
  int i;
  memset(t, 0, sizeof *t);
  if (err) *err = "";
  if (!buf && len) FAIL("no data");
  t->buf = buf;
  t->len = len;
  r.p = buf;
  r.end = r.p + len;
  while (r.p < r.end) {
    uint64_t key, v;
    unsigned wt, f;
    const unsigned char *q;
    if (!get_varint(&r, &key)) FAIL("truncated field key");
    wt = (unsigned)(key & 7);
    f = (unsigned)(key >> 3);
    if (key >> 3 > 0x1fffffff || f == 0) FAIL("bad field number");
    switch (f) {
      case 1: /* dims: varints, packed or not */
        if (wt == 0) {
          if (!get_varint(&r, &v)) FAIL("truncated dims");
          if (t->rank >= ECRT_MAX_RANK) FAIL("rank above the supported maximum");
          t->dims[t->rank++] = (int64_t)v;
        } else if (wt == 2) {
          rd sub;
          if (!get_varint(&r, &v) || v > (uint64_t)(r.end - r.p) || !get_bytes(&r, (size_t)v, &q))
            FAIL("truncated dims");
          sub.p = q;
          sub.end = q + v;
          while (sub.p < sub.end) {
            if (!get_varint(&sub, &v)) FAIL("truncated dims");
            if (t->rank >= ECRT_MAX_RANK) FAIL("rank above the supported maximum");
            t->dims[t->rank++] = (int64_t)v;
          }
        } else {
          FAIL("bad wire type for dims");
        }
        break;
      case 2:
        if (wt != 0 || !get_varint(&r, &v)) FAIL("bad data_type");
        if (v > 64) FAIL("unknown data_type");
        t->dtype = (int32_t)v;
        break;
      case 6: FAIL("string tensors are not supported");
      case 8:
        if (wt != 2 || !get_varint(&r, &v) || v > (uint64_t)(r.end - r.p) || !get_bytes(&r, (size_t)v, &q))
          FAIL("bad name");
        t->name = (const char *)q;
        t->name_len = (size_t)v;
        break;
      case 9:
        if (wt != 2 || !get_varint(&r, &v) || v > (uint64_t)(r.end - r.p) || !get_bytes(&r, (size_t)v, &q))
          FAIL("bad raw_data");
        /* A repeated raw_data is not valid protobuf for a bytes field: the last one wins. */
        has_raw = 1;
        raw_len = (size_t)v;
        t->buf = buf;
        break;
      case 13: FAIL("external data is not supported");
      case 14:
        if (wt != 0 || !get_varint(&r, &v)) FAIL("bad data_location");
        if (v != 0) FAIL("external data is not supported");
        break;
      case 4: case 5: case 7: case 10: case 11:
        seen_fields |= 1 << f;
        if (!skip(&r, wt)) FAIL("truncated data field");
        break;
      default:
        if (!skip(&r, wt)) FAIL("truncated or unsupported field");
        break;
    }
  }
  for (i = 0; i < t->rank; i++) {
    if (t->dims[i] < 0) FAIL("negative dimension");
    if (t->dims[i] && numel > UINT64_MAX / 2 / (uint64_t)t->dims[i]) FAIL("too many elements");
    numel *= (uint64_t)t->dims[i];
  }
  t->numel = numel;
  if (t->dtype == ECK_STRING) FAIL("string tensors are not supported");
  if (!ecrt_dtype_size(t->dtype)) FAIL("unsupported or missing data_type");
  if (numel > (uint64_t)SIZE_MAX / ecrt_dtype_size(t->dtype)) FAIL("too many elements");
  if (has_raw) {
    if (seen_fields) FAIL("both raw_data and a typed data field");
    /* Find the (last) raw_data field again to keep its position for decode. */
    if ((uint64_t)raw_len != numel * ecrt_dtype_size(t->dtype))
      FAIL("raw_data size does not match the shape");
    t->data_field = 9;
    return ECRT_OK;
  }
  if (seen_fields) {
    int f = field_for_dtype(t->dtype);
    int64_t count;
    if (seen_fields != (1 << f)) FAIL("data field does not match data_type");
    count = walk(t, f, NULL, 0, t->dtype, 0);
    if (count < 0) FAIL("malformed data field");
    if ((uint64_t)count != numel * per_elem(t->dtype)) FAIL("element count does not match the shape");
    t->data_field = f;
    return ECRT_OK;
  }
  if (numel != 0) FAIL("no data");
  return ECRT_OK;
}

ecrt_status ecrt_pb_decode(const ecrt_pb_tensor *t, void *dst, size_t dst_bytes) {
  size_t need = (size_t)t->numel * ecrt_dtype_size(t->dtype);
  if (dst_bytes < need) return ECRT_ERR_ARG;
  if (t->data_field == 0) return need == 0 ? ECRT_OK : ECRT_ERR_FORMAT;
  if (t->data_field == 9) {
    /* The last raw_data field in the message. */
    rd r;
    const unsigned char *data = NULL;
    size_t dlen = 0;
    r.p = t->buf;
    r.end = t->buf + t->len;
    while (r.p < r.end) {
      uint64_t key, v;
      const unsigned char *q;
      if (!get_varint(&r, &key)) return ECRT_ERR_FORMAT;
      if ((key >> 3) == 9 && (key & 7) == 2) {
        if (!get_varint(&r, &v) || v > (uint64_t)(r.end - r.p) || !get_bytes(&r, (size_t)v, &q))
          return ECRT_ERR_FORMAT;
        data = q;
        dlen = (size_t)v;
      } else if (!skip(&r, (unsigned)(key & 7))) {
        return ECRT_ERR_FORMAT;
      }
    }
    if (dlen != need) return ECRT_ERR_FORMAT;
    if (need) memcpy(dst, data, need);
    return ECRT_OK;
  }
  {
    uint64_t cap = t->numel * per_elem(t->dtype);
    int64_t n = walk(t, t->data_field, dst, ecrt_dtype_size(t->dtype), t->dtype, cap);
    return n >= 0 && (uint64_t)n == cap ? ECRT_OK : ECRT_ERR_FORMAT;
  }
}

static size_t varint_len(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    n++;
  }
  return n;
}

static unsigned char *put_varint(unsigned char *p, uint64_t v) {
  while (v >= 0x80) {
    *p++ = (unsigned char)(v | 0x80);
    v >>= 7;
  }
  *p++ = (unsigned char)v;
  return p;
}

size_t ecrt_pb_encoded_size(const char *name, int32_t rank, const int64_t *dims, size_t nbytes) {
  size_t n = 0, nl = name ? strlen(name) : 0;
  int i;
  for (i = 0; i < rank; i++) n += 1 + varint_len((uint64_t)dims[i]);
  n += 1 + varint_len(64); /* data_type */
  if (nl) n += 1 + varint_len(nl) + nl;
  n += 1 + varint_len(nbytes) + nbytes;
  return n;
}

ecrt_status ecrt_pb_encode(void *dst, size_t cap, size_t *written, const char *name,
                           int32_t dtype, int32_t rank, const int64_t *dims, const void *data,
                           size_t nbytes) {
  unsigned char *p = dst, *start = dst;
  size_t nl = name ? strlen(name) : 0;
  int i;
  if (dtype <= 0 || dtype > 64 || rank < 0 || rank > ECRT_MAX_RANK || ecrt_pb_encoded_size(name, rank, dims, nbytes) > cap)
    return ECRT_ERR_ARG;
  for (i = 0; i < rank; i++) {
    *p++ = 0x08;
    p = put_varint(p, (uint64_t)dims[i]);
  }
  *p++ = 0x10;
  p = put_varint(p, (uint64_t)dtype);
  if (nl) {
    *p++ = 0x42;
    p = put_varint(p, nl);
    memcpy(p, name, nl);
    p += nl;
  }
  *p++ = 0x4a;
  p = put_varint(p, nbytes);
  if (nbytes) memcpy(p, data, nbytes);
  p += nbytes;
  *written = (size_t)(p - start);
  return ECRT_OK;
}
