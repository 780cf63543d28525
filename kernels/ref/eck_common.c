/* eck_common.c — helpers shared by the reference kernels: element counts, dtype sizes and the
 * half-precision conversions (round to nearest even, as numpy does). */
#include <string.h>

#include "eck_tensor.h"

int64_t eck_numel(const eck_tensor *t) {
  int64_t n = 1;
  for (int i = 0; i < t->rank; i++) n *= t->dims[i];
  return n;
}

int eck_extent_broadcast(const eck_tensor *in, int n_in, eck_tensor *out) {
  for (int k = 0; k < out->rank; k++) out->dims[k] = 1;
  for (int i = 0; i < n_in; i++) {
    if (!in[i].dtype) continue;
    if (in[i].rank > out->rank) return ECK_ERR_ARG;
    int off = out->rank - in[i].rank;
    for (int k = 0; k < in[i].rank; k++) {
      int64_t d = in[i].dims[k], *o = &out->dims[off + k];
      if (d == *o || d == 1) continue;
      if (*o != 1) return ECK_ERR_ARG;
      *o = d;
    }
  }
  return ECK_OK;
}

static uint32_t f32_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
}

static float bits_f32(uint32_t u) {
  float f;
  memcpy(&f, &u, 4);
  return f;
}

float eck_f16_to_f32(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ff;
  if (exp == 0x1f) return bits_f32(sign | 0x7f800000u | (man << 13));
  if (exp == 0) {
    if (man == 0) return bits_f32(sign);
    /* subnormal: value = man * 2^-24 */
    float v = (float)man * (1.0f / 16777216.0f);
    return sign ? -v : v;
  }
  return bits_f32(sign | ((exp + 112) << 23) | (man << 13));
}

uint16_t eck_f32_to_f16(float f) {
  uint32_t u = f32_bits(f);
  uint16_t sign = (uint16_t)((u >> 16) & 0x8000);
  uint32_t exp = (u >> 23) & 0xff, man = u & 0x7fffff;
  if (exp == 0xff) return (uint16_t)(sign | 0x7c00 | (man ? 0x200 | (man >> 13) : 0));
  int e = (int)exp - 127 + 15;
  if (e >= 0x1f) return (uint16_t)(sign | 0x7c00);
  if (e <= 0) {
    if (e < -10) return sign;
    man |= 0x800000;
    int shift = 14 - e;
    uint32_t half = man >> shift, rem = man & ((1u << shift) - 1), mid = 1u << (shift - 1);
    if (rem > mid || (rem == mid && (half & 1))) half++;
    return (uint16_t)(sign | half);
  }
  uint32_t half = ((uint32_t)e << 10) | (man >> 13), rem = man & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (half & 1))) half++;
  return (uint16_t)(sign | half);
}

float eck_bf16_to_f32(uint16_t h) { return bits_f32((uint32_t)h << 16); }

uint16_t eck_f32_to_bf16(float f) {
  uint32_t u = f32_bits(f);
  if ((u & 0x7fffffff) > 0x7f800000) return (uint16_t)((u >> 16) | 0x40);
  u += 0x7fff + ((u >> 16) & 1);
  return (uint16_t)(u >> 16);
}

void eck_broadcast_strides(const eck_tensor *t, int rank, const int64_t *dims, int64_t *strides) {
  int off = rank - t->rank;
  int64_t s = 1;
  for (int k = rank - 1; k >= 0; k--) {
    int j = k - off;
    if (j < 0 || t->dims[j] == 1) {
      strides[k] = 0;
    } else {
      strides[k] = s;
    }
    if (j >= 0) s *= t->dims[j];
    (void)dims;
  }
}

double eck_load_f64(const void *data, int32_t dtype, int64_t i) {
  switch (dtype) {
    case ECK_FLOAT: return ((const float *)data)[i];
    case ECK_DOUBLE: return ((const double *)data)[i];
    case ECK_FLOAT16: return eck_f16_to_f32(((const uint16_t *)data)[i]);
    case ECK_BFLOAT16: return eck_bf16_to_f32(((const uint16_t *)data)[i]);
    case ECK_INT8: return ((const int8_t *)data)[i];
    case ECK_INT16: return ((const int16_t *)data)[i];
    case ECK_INT32: return ((const int32_t *)data)[i];
    case ECK_INT64: return (double)((const int64_t *)data)[i];
    case ECK_UINT8: return ((const uint8_t *)data)[i];
    case ECK_UINT16: return ((const uint16_t *)data)[i];
    case ECK_UINT32: return ((const uint32_t *)data)[i];
    case ECK_UINT64: return (double)((const uint64_t *)data)[i];
    case ECK_BOOL: return ((const uint8_t *)data)[i] != 0;
    default: return 0;
  }
}

void eck_store_f64(void *data, int32_t dtype, int64_t i, double v) {
  switch (dtype) {
    case ECK_FLOAT: ((float *)data)[i] = (float)v; break;
    case ECK_DOUBLE: ((double *)data)[i] = v; break;
    case ECK_FLOAT16: ((uint16_t *)data)[i] = eck_f32_to_f16((float)v); break;
    case ECK_BFLOAT16: ((uint16_t *)data)[i] = eck_f32_to_bf16((float)v); break;
    case ECK_INT8: ((int8_t *)data)[i] = (int8_t)v; break;
    case ECK_INT16: ((int16_t *)data)[i] = (int16_t)v; break;
    case ECK_INT32: ((int32_t *)data)[i] = (int32_t)v; break;
    case ECK_INT64: ((int64_t *)data)[i] = (int64_t)v; break;
    case ECK_UINT8: ((uint8_t *)data)[i] = (uint8_t)v; break;
    case ECK_UINT16: ((uint16_t *)data)[i] = (uint16_t)v; break;
    case ECK_UINT32: ((uint32_t *)data)[i] = (uint32_t)v; break;
    case ECK_UINT64: ((uint64_t *)data)[i] = (uint64_t)v; break;
    case ECK_BOOL: ((uint8_t *)data)[i] = v != 0; break;
    default: break;
  }
}

/* Dtype classes and exact integer element access (64-bit ints never go through double). */
int eck_dtype_is_float(int32_t dt) {
  return dt == ECK_FLOAT || dt == ECK_DOUBLE || dt == ECK_FLOAT16 || dt == ECK_BFLOAT16;
}

int eck_dtype_is_unsigned(int32_t dt) {
  return dt == ECK_UINT8 || dt == ECK_UINT16 || dt == ECK_UINT32 || dt == ECK_UINT64 ||
         dt == ECK_BOOL;
}

int64_t eck_load_i64(const void *data, int32_t dtype, int64_t i) {
  switch (dtype) {
    case ECK_INT8: return ((const int8_t *)data)[i];
    case ECK_INT16: return ((const int16_t *)data)[i];
    case ECK_INT32: return ((const int32_t *)data)[i];
    case ECK_INT64: return ((const int64_t *)data)[i];
    case ECK_UINT8: return ((const uint8_t *)data)[i];
    case ECK_BOOL: return ((const uint8_t *)data)[i] != 0;
    case ECK_UINT16: return ((const uint16_t *)data)[i];
    case ECK_UINT32: return ((const uint32_t *)data)[i];
    case ECK_UINT64: return (int64_t)((const uint64_t *)data)[i];
    default: return (int64_t)eck_load_f64(data, dtype, i);
  }
}

void eck_store_i64(void *data, int32_t dtype, int64_t i, int64_t v) {
  switch (dtype) {
    case ECK_INT8: ((int8_t *)data)[i] = (int8_t)v; break;
    case ECK_INT16: ((int16_t *)data)[i] = (int16_t)v; break;
    case ECK_INT32: ((int32_t *)data)[i] = (int32_t)v; break;
    case ECK_INT64: ((int64_t *)data)[i] = v; break;
    case ECK_UINT8: ((uint8_t *)data)[i] = (uint8_t)v; break;
    case ECK_BOOL: ((uint8_t *)data)[i] = v != 0; break;
    case ECK_UINT16: ((uint16_t *)data)[i] = (uint16_t)v; break;
    case ECK_UINT32: ((uint32_t *)data)[i] = (uint32_t)v; break;
    case ECK_UINT64: ((uint64_t *)data)[i] = (uint64_t)v; break;
    default: eck_store_f64(data, dtype, i, (double)v); break;
  }
}
