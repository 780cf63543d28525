/* elementwise_cast.c — reference kernels that change dtypes or pass data through: Cast and
 * CastLike, inference-mode Dropout, QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear. */
#include <math.h>
#include <string.h>

#include "eck_ref.h"

/* float -> bfloat16 by dropping the low half, as the ONNX reference (and its test data) does;
 * NaN stays a quiet NaN. */
static uint16_t bf16_trunc(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  if (isnan(f)) return (uint16_t)((u >> 16) | 0x7fc0);
  return (uint16_t)(u >> 16);
}

int eck_ref_cast(const void *params, const eck_tensor *in, int n_in, eck_tensor *out, int n_out,
                 void *scratch) {
  (void)params; (void)n_in; (void)n_out; (void)scratch;
  const int32_t from = in[0].dtype, to = out[0].dtype;
  const int64_t n = eck_numel(&in[0]);
  if (from == to || (eck_dtype_size(from) == eck_dtype_size(to) &&
                     eck_ew_class(from) >= ECK_EW_I64 && eck_ew_class(to) >= ECK_EW_I64 &&
                     from != ECK_BOOL && to != ECK_BOOL)) {
    /* same bits: identical dtype, or integers of one width (two's complement reinterpretation) */
    size_t bytes = (size_t)n * eck_dtype_size(from);
    if (out[0].data != in[0].data && bytes) memmove(out[0].data, in[0].data, bytes);
    return ECK_OK;
  }
  if (to == ECK_BFLOAT16) {
    uint16_t *y = out[0].data;
    for (int64_t i = 0; i < n; i++) y[i] = bf16_trunc(eck_ew_ld_f32(in[0].data, from, i));
    return ECK_OK;
  }
  switch (eck_ew_class(from)) {
    case ECK_EW_F32:
    case ECK_EW_F64:
      /* every float type widens to double exactly; the store rounds once into `to` */
      for (int64_t i = 0; i < n; i++)
        eck_ew_st_f64(out[0].data, to, i, eck_ew_ld_f64(in[0].data, from, i));
      return ECK_OK;
    case ECK_EW_I64:
      for (int64_t i = 0; i < n; i++)
        eck_ew_st_i64(out[0].data, to, i, eck_ew_ld_i64(in[0].data, from, i));
      return ECK_OK;
    case ECK_EW_U64:
      for (int64_t i = 0; i < n; i++)
        eck_ew_st_u64(out[0].data, to, i, eck_ew_ld_u64(in[0].data, from, i));
      return ECK_OK;
    default: return ECK_ERR_DTYPE;
  }
}

int eck_ref_dropout(const void *params, const eck_tensor *in, int n_in, eck_tensor *out,
                    int n_out, void *scratch) {
  (void)params; (void)n_in; (void)n_out; (void)scratch;
  const eck_dropout_params *p = params;
  float ratio = p->ratio;
  if (n_in > 1 && in[1].data && eck_numel(&in[1]) > 0)
    ratio = eck_ew_ld_f32(in[1].data, in[1].dtype, 0);
  int training = n_in > 2 && in[2].data && eck_numel(&in[2]) > 0 && ((uint8_t *)in[2].data)[0];
  /* Training mode draws a random mask: no way to reproduce another runtime's generator. */
  if (training && ratio > 0) return ECK_ERR_UNSUPPORTED;
  const int64_t n = eck_numel(&in[0]);
  size_t bytes = (size_t)n * eck_dtype_size(in[0].dtype);
  if (out[0].data != in[0].data && bytes) memmove(out[0].data, in[0].data, bytes);
  if (n_out > 1 && out[1].data)
    for (int64_t i = 0; i < n; i++) eck_ew_st_u64(out[1].data, out[1].dtype, i, 1);
  return ECK_OK;
}

static void quant_range(int32_t dtype, int64_t *lo, int64_t *hi) {
  switch (dtype) {
    case ECK_INT8: *lo = -128, *hi = 127; break;
    case ECK_UINT16: *lo = 0, *hi = 65535; break;
    case ECK_INT16: *lo = -32768, *hi = 32767; break;
    case ECK_INT32: *lo = INT32_MIN, *hi = INT32_MAX; break;
    default: *lo = 0, *hi = 255; break;
  }
}

/* Saturating store of an already rounded value. */
static void quant_store(void *data, int32_t dtype, int64_t i, float v, int64_t zp, int64_t lo,
                        int64_t hi) {
  double r = (double)v + (double)zp;
  int64_t q = isnan(r) ? zp : r <= (double)lo ? lo : r >= (double)hi ? hi : (int64_t)r;
  eck_ew_st_i64(data, dtype, i, q);
}

/* Channel of element i for per-axis parameters (0 when per tensor). */
static int64_t quant_channel(const eck_tensor *x, int32_t axis, int64_t count, int64_t i) {
  if (axis < 0 || count <= 1) return 0;
  int64_t inner = 1;
  for (int k = axis + 1; k < x->rank; k++) inner *= x->dims[k];
  return (i / inner) % x->dims[axis];
}

int eck_ref_quantize_linear(const void *params, const eck_tensor *in, int n_in, eck_tensor *out,
                            int n_out, void *scratch) {
  (void)params; (void)n_in; (void)n_out; (void)scratch;
  const eck_quant_params *p = params;
  const eck_tensor *x = &in[0], *s = &in[1];
  const eck_tensor *z = n_in > 2 && in[2].data ? &in[2] : NULL;
  const int64_t n = eck_numel(x), count = eck_numel(s);
  int64_t lo, hi;
  quant_range(out[0].dtype, &lo, &hi);
  for (int64_t i = 0; i < n; i++) {
    int64_t c = quant_channel(x, p->axis, count, i);
    float scale = eck_ew_ld_f32(s->data, s->dtype, c);
    int64_t zp = z ? eck_ew_ld_i64(z->data, z->dtype, c) : 0;
    float v = rintf(eck_ew_ld_f32(x->data, x->dtype, i) / scale);
    quant_store(out[0].data, out[0].dtype, i, v, zp, lo, hi);
  }
  return ECK_OK;
}

int eck_ref_dequantize_linear(const void *params, const eck_tensor *in, int n_in, eck_tensor *out,
                              int n_out, void *scratch) {
  (void)params; (void)n_in; (void)n_out; (void)scratch;
  const eck_quant_params *p = params;
  const eck_tensor *x = &in[0], *s = &in[1];
  const eck_tensor *z = n_in > 2 && in[2].data ? &in[2] : NULL;
  const int64_t n = eck_numel(x), count = eck_numel(s);
  for (int64_t i = 0; i < n; i++) {
    int64_t c = quant_channel(x, p->axis, count, i);
    int64_t zp = z ? eck_ew_ld_i64(z->data, z->dtype, c) : 0;
    float scale = eck_ew_ld_f32(s->data, s->dtype, c);
    float v = (float)(eck_ew_ld_i64(x->data, x->dtype, i) - zp) * scale;
    eck_ew_st_f32(out[0].data, out[0].dtype, i, v);
  }
  return ECK_OK;
}

/* QLinearAdd (mul 0) and QLinearMul (mul 1): C = saturate(round(f / C_scale) + C_zp), f the sum or
 * product of the dequantized operands, as ONNX Runtime defines its contrib ops. */
static int qlinear_binary(const eck_tensor *in, int n_in, eck_tensor *out, int mul) {
  const eck_tensor *a = &in[0], *b = &in[3], *y = &out[0];
  const eck_tensor *ops[2] = {a, b};
  float as = eck_ew_ld_f32(in[1].data, in[1].dtype, 0), bs = eck_ew_ld_f32(in[4].data, in[4].dtype, 0);
  float ys = eck_ew_ld_f32(in[6].data, in[6].dtype, 0);
  int64_t az = in[2].data ? eck_ew_ld_i64(in[2].data, in[2].dtype, 0) : 0;
  int64_t bz = in[5].data ? eck_ew_ld_i64(in[5].data, in[5].dtype, 0) : 0;
  int64_t yz = n_in > 7 && in[7].data ? eck_ew_ld_i64(in[7].data, in[7].dtype, 0) : 0;
  float lo = y->dtype == ECK_INT8 ? -128.f : 0.f, hi = y->dtype == ECK_INT8 ? 127.f : 255.f;
  eck_ew_iter it;
  eck_ew_iter_init(&it, y, ops, 2);
  const int64_t n = eck_numel(y);
  for (int64_t i = 0; i < n; i++, eck_ew_iter_next(&it)) {
    float fa = (float)(eck_ew_ld_i64(a->data, a->dtype, it.off[0]) - az) * as;
    float fb = (float)(eck_ew_ld_i64(b->data, b->dtype, it.off[1]) - bz) * bs;
    float v = nearbyintf((mul ? fa * fb : fa + fb) / ys) + (float)yz;
    v = v < lo ? lo : v > hi ? hi : v;
    eck_ew_st_i64(y->data, y->dtype, i, (int64_t)v);
  }
  return ECK_OK;
}

int eck_ref_qlinear_add(const void *params, const eck_tensor *in, int n_in, eck_tensor *out, int n_out,
                        void *scratch) {
  (void)params, (void)n_out, (void)scratch;
  return qlinear_binary(in, n_in, out, 0);
}

int eck_ref_qlinear_mul(const void *params, const eck_tensor *in, int n_in, eck_tensor *out, int n_out,
                        void *scratch) {
  (void)params, (void)n_out, (void)scratch;
  return qlinear_binary(in, n_in, out, 1);
}

int eck_ref_dynamic_quantize_linear(const void *params, const eck_tensor *in, int n_in,
                                    eck_tensor *out, int n_out, void *scratch) {
  (void)params; (void)n_in; (void)n_out; (void)scratch;
  const eck_tensor *x = &in[0];
  const int64_t n = eck_numel(x);
  /* The range always includes 0 so that 0 is exactly representable. */
  float mn = 0, mx = 0;
  for (int64_t i = 0; i < n; i++) {
    float v = eck_ew_ld_f32(x->data, x->dtype, i);
    if (v < mn) mn = v;
    if (v > mx) mx = v;
  }
  float scale = (mx - mn) / 255.0f;
  int64_t zp = 0;
  if (scale != 0) {
    float z = rintf(0 - mn / scale);
    zp = z <= 0 ? 0 : z >= 255 ? 255 : (int64_t)z;
  }
  for (int64_t i = 0; i < n; i++) {
    float v = scale != 0 ? rintf(eck_ew_ld_f32(x->data, x->dtype, i) / scale) : 0;
    quant_store(out[0].data, ECK_UINT8, i, v, zp, 0, 255);
  }
  if (n_out > 1 && out[1].data) eck_ew_st_f32(out[1].data, out[1].dtype, 0, scale);
  if (n_out > 2 && out[2].data) ((uint8_t *)out[2].data)[0] = (uint8_t)zp;
  return ECK_OK;
}
