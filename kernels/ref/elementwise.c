/* elementwise.c — reference kernels for element-wise ops, every numeric dtype. */
#include <string.h>

#include "eck_ref.h"

int eck_ref_identity(const void *p, const eck_tensor *in, int n_in, eck_tensor *out, int n_out,
                     void *scratch) {
  size_t bytes = (size_t)eck_numel(&in[0]) * eck_dtype_size(in[0].dtype);
  if (out[0].data != in[0].data && bytes) memmove(out[0].data, in[0].data, bytes);
  return ECK_OK;
}

int eck_ref_unary(const void *params, const eck_tensor *in, int n_in, eck_tensor *out, int n_out,
                  void *scratch) {
  const eck_unary_params *p = params;
  int64_t n = eck_numel(&in[0]);
  for (int64_t i = 0; i < n; i++) {
    double x = eck_load_f64(in[0].data, in[0].dtype, i), y;
    switch (p->fn) {
      case ECK_UNARY_RELU: y = x > 0 ? x : 0; break;
      default: return ECK_ERR_ARG;
    }
    eck_store_f64(out[0].data, out[0].dtype, i, y);
  }
  return ECK_OK;
}

int eck_ref_binary(const void *params, const eck_tensor *in, int n_in, eck_tensor *out,
                   int n_out, void *scratch) {
  const eck_binary_params *p = params;
  int r = out[0].rank;
  int64_t sa[ECK_MAX_RANK], sb[ECK_MAX_RANK], idx[ECK_MAX_RANK] = {0};
  eck_broadcast_strides(&in[0], r, out[0].dims, sa);
  eck_broadcast_strides(&in[1], r, out[0].dims, sb);
  int64_t n = eck_numel(&out[0]), ia = 0, ib = 0;
  for (int64_t i = 0; i < n; i++) {
    double a = eck_load_f64(in[0].data, in[0].dtype, ia);
    double b = eck_load_f64(in[1].data, in[1].dtype, ib), y;
    switch (p->fn) {
      case ECK_BINARY_ADD: y = a + b; break;
      default: return ECK_ERR_ARG;
    }
    eck_store_f64(out[0].data, out[0].dtype, i, y);
    for (int k = r - 1; k >= 0; k--) {
      ia += sa[k], ib += sb[k];
      if (++idx[k] < out[0].dims[k]) break;
      ia -= sa[k] * idx[k], ib -= sb[k] * idx[k];
      idx[k] = 0;
    }
  }
  return ECK_OK;
}
