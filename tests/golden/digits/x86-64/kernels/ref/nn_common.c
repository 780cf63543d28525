/* nn_common.c — helpers shared by the neural-network reference kernels: exact integer
 * element access for every integer width, and dtype classes. */
#include "eck_ref.h"

int64_t eck_nn_load_i64(const void *data, int32_t dtype, int64_t i) {
  switch (dtype) {
    case ECK_INT8: return ((const int8_t *)data)[i];
    case ECK_INT16: return ((const int16_t *)data)[i];
    case ECK_INT32: return ((const int32_t *)data)[i];
    case ECK_INT64: return ((const int64_t *)data)[i];
    case ECK_UINT8: return ((const uint8_t *)data)[i];
    case ECK_UINT16: return ((const uint16_t *)data)[i];
    case ECK_UINT32: return ((const uint32_t *)data)[i];
    case ECK_UINT64: return (int64_t)((const uint64_t *)data)[i];
    case ECK_BOOL: return ((const uint8_t *)data)[i] != 0;
    default: return (int64_t)eck_load_f64(data, dtype, i);
  }
}

void eck_nn_store_i64(void *data, int32_t dtype, int64_t i, int64_t v) {
  switch (dtype) {
    case ECK_INT8: ((int8_t *)data)[i] = (int8_t)v; break;
    case ECK_INT16: ((int16_t *)data)[i] = (int16_t)v; break;
    case ECK_INT32: ((int32_t *)data)[i] = (int32_t)v; break;
    case ECK_INT64: ((int64_t *)data)[i] = v; break;
    case ECK_UINT8: ((uint8_t *)data)[i] = (uint8_t)v; break;
    case ECK_UINT16: ((uint16_t *)data)[i] = (uint16_t)v; break;
    case ECK_UINT32: ((uint32_t *)data)[i] = (uint32_t)v; break;
    case ECK_UINT64: ((uint64_t *)data)[i] = (uint64_t)v; break;
    case ECK_BOOL: ((uint8_t *)data)[i] = v != 0; break;
    default: eck_store_f64(data, dtype, i, (double)v); break;
  }
}

int eck_nn_is_float(int32_t dtype) {
  return dtype == ECK_FLOAT || dtype == ECK_DOUBLE || dtype == ECK_FLOAT16 ||
         dtype == ECK_BFLOAT16;
}

int eck_nn_is_unsigned(int32_t dtype) {
  return dtype == ECK_UINT8 || dtype == ECK_UINT16 || dtype == ECK_UINT32 ||
         dtype == ECK_UINT64 || dtype == ECK_BOOL;
}
