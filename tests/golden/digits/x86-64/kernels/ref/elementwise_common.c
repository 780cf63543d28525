/* elementwise_common.c — what the element-wise kernels share: loading and storing elements of
 * any dtype in one of four compute types, exact float <-> int conversions, broadcast walking. */
#include <math.h>
#include <string.h>

#include "eck_ref.h"

int eck_ew_class(int32_t dtype) {
  switch (dtype) {
    case ECK_FLOAT: case ECK_FLOAT16: case ECK_BFLOAT16: return ECK_EW_F32;
    case ECK_DOUBLE: return ECK_EW_F64;
    case ECK_INT8: case ECK_INT16: case ECK_INT32: case ECK_INT64: return ECK_EW_I64;
    case ECK_UINT8: case ECK_UINT16: case ECK_UINT32: case ECK_UINT64: case ECK_BOOL:
      return ECK_EW_U64;
    default: return ECK_EW_BAD;
  }
}

int64_t eck_ew_f64_to_i64(double v) {
  /* C leaves out-of-range conversions undefined; x86 gives INT64_MIN, so do we. */
  if (!(v >= -9223372036854775808.0 && v < 9223372036854775808.0)) return INT64_MIN;
  return (int64_t)v;
}

uint64_t eck_ew_f64_to_u64(double v) {
  if (v >= 9223372036854775808.0 && v < 18446744073709551616.0) return (uint64_t)v;
  return (uint64_t)eck_ew_f64_to_i64(v); /* negative values wrap, as numpy's casts do */
}

uint16_t eck_ew_f64_to_f16(double v) {
  /* Round to odd into float, then to nearest even into half: float keeps more than two extra
   * bits, so the result is the correctly rounded one. */
  float f = (float)v;
  if (isnan(v) || isinf(f) || (double)f == v) return eck_f32_to_f16(f);
  if (fabs((double)f) > fabs(v)) f = nextafterf(f, 0.0f);
  uint32_t u;
  memcpy(&u, &f, 4);
  u |= 1;
  memcpy(&f, &u, 4);
  return eck_f32_to_f16(f);
}

float eck_ew_ld_f32(const void *data, int32_t dtype, int64_t i) {
  switch (dtype) {
    case ECK_FLOAT: return ((const float *)data)[i];
    case ECK_FLOAT16: return eck_f16_to_f32(((const uint16_t *)data)[i]);
    case ECK_BFLOAT16: return eck_bf16_to_f32(((const uint16_t *)data)[i]);
    case ECK_DOUBLE: return (float)((const double *)data)[i];
    case ECK_INT8: case ECK_INT16: case ECK_INT32: case ECK_INT64:
      return (float)eck_ew_ld_i64(data, dtype, i);
    default: return (float)eck_ew_ld_u64(data, dtype, i);
  }
}

double eck_ew_ld_f64(const void *data, int32_t dtype, int64_t i) {
  switch (dtype) {
    case ECK_DOUBLE: return ((const double *)data)[i];
    case ECK_FLOAT: case ECK_FLOAT16: case ECK_BFLOAT16: return eck_ew_ld_f32(data, dtype, i);
    case ECK_INT8: case ECK_INT16: case ECK_INT32: case ECK_INT64:
      return (double)eck_ew_ld_i64(data, dtype, i);
    default: return (double)eck_ew_ld_u64(data, dtype, i);
  }
}

int64_t eck_ew_ld_i64(const void *data, int32_t dtype, int64_t i) {
  switch (dtype) {
    case ECK_INT8: return ((const int8_t *)data)[i];
    case ECK_INT16: return ((const int16_t *)data)[i];
    case ECK_INT32: return ((const int32_t *)data)[i];
    case ECK_INT64: return ((const int64_t *)data)[i];
    case ECK_FLOAT: case ECK_FLOAT16: case ECK_BFLOAT16: case ECK_DOUBLE:
      return eck_ew_f64_to_i64(eck_ew_ld_f64(data, dtype, i));
    default: return (int64_t)eck_ew_ld_u64(data, dtype, i);
  }
}

uint64_t eck_ew_ld_u64(const void *data, int32_t dtype, int64_t i) {
  switch (dtype) {
    case ECK_UINT8: return ((const uint8_t *)data)[i];
    case ECK_BOOL: return ((const uint8_t *)data)[i] != 0;
    case ECK_UINT16: return ((const uint16_t *)data)[i];
    case ECK_UINT32: return ((const uint32_t *)data)[i];
    case ECK_UINT64: return ((const uint64_t *)data)[i];
    case ECK_FLOAT: case ECK_FLOAT16: case ECK_BFLOAT16: case ECK_DOUBLE:
      return eck_ew_f64_to_u64(eck_ew_ld_f64(data, dtype, i));
    default: return (uint64_t)eck_ew_ld_i64(data, dtype, i);
  }
}

void eck_ew_st_u64(void *data, int32_t dtype, int64_t i, uint64_t v) {
  switch (dtype) {
    case ECK_UINT8: case ECK_INT8: ((uint8_t *)data)[i] = (uint8_t)v; break;
    case ECK_BOOL: ((uint8_t *)data)[i] = v != 0; break;
    case ECK_UINT16: case ECK_INT16: ((uint16_t *)data)[i] = (uint16_t)v; break;
    case ECK_UINT32: case ECK_INT32: ((uint32_t *)data)[i] = (uint32_t)v; break;
    case ECK_UINT64: case ECK_INT64: ((uint64_t *)data)[i] = v; break;
    case ECK_FLOAT: ((float *)data)[i] = (float)v; break;
    case ECK_DOUBLE: ((double *)data)[i] = (double)v; break;
    case ECK_FLOAT16: ((uint16_t *)data)[i] = eck_ew_f64_to_f16((double)v); break;
    case ECK_BFLOAT16: ((uint16_t *)data)[i] = eck_f32_to_bf16((float)v); break;
    default: break;
  }
}

void eck_ew_st_i64(void *data, int32_t dtype, int64_t i, int64_t v) {
  switch (dtype) {
    case ECK_FLOAT: ((float *)data)[i] = (float)v; break;
    case ECK_DOUBLE: ((double *)data)[i] = (double)v; break;
    case ECK_FLOAT16: ((uint16_t *)data)[i] = eck_ew_f64_to_f16((double)v); break;
    case ECK_BFLOAT16: ((uint16_t *)data)[i] = eck_f32_to_bf16((float)v); break;
    default: eck_ew_st_u64(data, dtype, i, (uint64_t)v); break;
  }
}

void eck_ew_st_f32(void *data, int32_t dtype, int64_t i, float v) {
  switch (dtype) {
    case ECK_FLOAT: ((float *)data)[i] = v; break;
    case ECK_FLOAT16: ((uint16_t *)data)[i] = eck_f32_to_f16(v); break;
    case ECK_BFLOAT16: ((uint16_t *)data)[i] = eck_f32_to_bf16(v); break;
    case ECK_DOUBLE: ((double *)data)[i] = v; break;
    case ECK_BOOL: ((uint8_t *)data)[i] = v != 0; break;
    case ECK_UINT8: case ECK_UINT16: case ECK_UINT32: case ECK_UINT64:
      eck_ew_st_u64(data, dtype, i, eck_ew_f64_to_u64(v));
      break;
    default: eck_ew_st_i64(data, dtype, i, eck_ew_f64_to_i64(v)); break;
  }
}

void eck_ew_st_f64(void *data, int32_t dtype, int64_t i, double v) {
  switch (dtype) {
    case ECK_DOUBLE: ((double *)data)[i] = v; break;
    case ECK_FLOAT: ((float *)data)[i] = (float)v; break;
    case ECK_FLOAT16: ((uint16_t *)data)[i] = eck_ew_f64_to_f16(v); break;
    case ECK_BFLOAT16: ((uint16_t *)data)[i] = eck_f32_to_bf16((float)v); break;
    case ECK_BOOL: ((uint8_t *)data)[i] = v != 0; break;
    case ECK_UINT8: case ECK_UINT16: case ECK_UINT32: case ECK_UINT64:
      eck_ew_st_u64(data, dtype, i, eck_ew_f64_to_u64(v));
      break;
    default: eck_ew_st_i64(data, dtype, i, eck_ew_f64_to_i64(v)); break;
  }
}

void eck_ew_iter_init(eck_ew_iter *it, const eck_tensor *out, const eck_tensor *const *in, int n) {
  it->rank = out->rank;
  it->n = n;
  for (int k = 0; k < out->rank; k++) {
    it->dims[k] = out->dims[k];
    it->idx[k] = 0;
  }
  for (int j = 0; j < n; j++) {
    eck_broadcast_strides(in[j], out->rank, out->dims, it->strides[j]);
    it->off[j] = 0;
  }
}

void eck_ew_iter_next(eck_ew_iter *it) {
  for (int k = it->rank - 1; k >= 0; k--) {
    for (int j = 0; j < it->n; j++) it->off[j] += it->strides[j][k];
    if (++it->idx[k] < it->dims[k]) return;
    for (int j = 0; j < it->n; j++) it->off[j] -= it->strides[j][k] * it->idx[k];
    it->idx[k] = 0;
  }
}
