/* tensor_common.c — dtype helpers of the tensor-family kernels: exact integer loads and stores
 * (64-bit ints never go through double) and single-element copies. */
#include <string.h>

#include "eck_ref.h"

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

void eck_copy_elem(void *dst, int64_t i, const void *src, int64_t j, size_t size) {
  memcpy((char *)dst + (size_t)i * size, (const char *)src + (size_t)j * size, size);
}

int eck_cmp_elem(const void *a, int64_t i, const void *b, int64_t j, int32_t dtype) {
  if (eck_dtype_is_float(dtype)) {
    double x = eck_load_f64(a, dtype, i), y = eck_load_f64(b, dtype, j);
    return (x > y) - (x < y);
  }
  if (dtype == ECK_UINT64) {
    uint64_t x = ((const uint64_t *)a)[i], y = ((const uint64_t *)b)[j];
    return (x > y) - (x < y);
  }
  int64_t x = eck_load_i64(a, dtype, i), y = eck_load_i64(b, dtype, j);
  return (x > y) - (x < y);
}

void eck_combine_elem(void *dst, int64_t i, const void *src, int64_t j, int32_t dtype, int red) {
  size_t size = eck_dtype_size(dtype);
  switch (red) {
    case ECK_SCATTER_NONE: eck_copy_elem(dst, i, src, j, size); return;
    case ECK_SCATTER_MAX:
      if (eck_cmp_elem(src, j, dst, i, dtype) > 0) eck_copy_elem(dst, i, src, j, size);
      return;
    case ECK_SCATTER_MIN:
      if (eck_cmp_elem(src, j, dst, i, dtype) < 0) eck_copy_elem(dst, i, src, j, size);
      return;
    default: break;
  }
  if (eck_dtype_is_float(dtype)) {
    double x = eck_load_f64(dst, dtype, i), y = eck_load_f64(src, dtype, j);
    eck_store_f64(dst, dtype, i, red == ECK_SCATTER_ADD ? x + y : x * y);
  } else {
    /* two's-complement wrap-around is the same for signed and unsigned */
    uint64_t x = (uint64_t)eck_load_i64(dst, dtype, i), y = (uint64_t)eck_load_i64(src, dtype, j);
    eck_store_i64(dst, dtype, i, (int64_t)(red == ECK_SCATTER_ADD ? x + y : x * y));
  }
}

int eck_load_index(const eck_tensor *t, int64_t i, int64_t dim, int64_t *out) {
  int64_t v = eck_dtype_is_float(t->dtype) ? (int64_t)eck_load_f64(t->data, t->dtype, i)
                                           : eck_load_i64(t->data, t->dtype, i);
  if (v < 0) v += dim;
  if (v < 0 || v >= dim) return ECK_ERR_INDEX;
  *out = v;
  return ECK_OK;
}
