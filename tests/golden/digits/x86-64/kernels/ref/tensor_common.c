/* tensor_common.c — dtype helpers of the tensor-family kernels: exact integer loads and stores
 * (64-bit ints never go through double) and single-element copies. */
#include <string.h>

#include "eck_ref.h"

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
