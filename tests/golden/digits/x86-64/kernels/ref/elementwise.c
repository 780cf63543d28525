/* elementwise.c — reference kernels of the unary element-wise ops: Identity, maths and
 * activations, IsInf/IsNaN, Clip. float32 computes in float as numpy does; integers exactly. */
#include <math.h>
#include <string.h>

#include "eck_ref.h"

int eck_ref_identity(const void *p, const eck_tensor *in, int n_in, eck_tensor *out, int n_out,
                     void *scratch) {
  (void)p; (void)n_in; (void)n_out; (void)scratch;
  size_t bytes = (size_t)eck_numel(&in[0]) * eck_dtype_size(in[0].dtype);
  if (out[0].data != in[0].data && bytes) memmove(out[0].data, in[0].data, bytes);
  return ECK_OK;
}

/* One body for float and double: F(name) picks expf or exp. Formulas follow the ONNX
 * reference implementations so that rounding matches numpy's. */
#define EW_F_f(name) name##f
#define EW_F_d(name) name
#define EW_DEFINE_UNARY(NAME, T, F)                                                        \
  static T NAME(int fn, T x, const eck_unary_params *p) {                                  \
    const T a = (T)p->alpha, b = (T)p->beta, g = (T)p->gamma, zero = 0, one = 1;          \
    switch (fn) {                                                                          \
      case ECK_UNARY_RELU: return x > zero ? x : (x == x ? zero : x);                      \
      case ECK_UNARY_ABS: return F(fabs)(x);                                               \
      case ECK_UNARY_NEG: return -x;                                                       \
      case ECK_UNARY_SIGN: return x > zero ? one : (x < zero ? -one : x);                  \
      case ECK_UNARY_CEIL: return F(ceil)(x);                                              \
      case ECK_UNARY_FLOOR: return F(floor)(x);                                            \
      case ECK_UNARY_ROUND: return F(rint)(x); /* half to even */                          \
      case ECK_UNARY_RECIPROCAL: return one / x;                                           \
      case ECK_UNARY_SQRT: return F(sqrt)(x);                                              \
      case ECK_UNARY_EXP: return F(exp)(x);                                                \
      case ECK_UNARY_LOG: return F(log)(x);                                                \
      case ECK_UNARY_ERF: return F(erf)(x);                                                \
      case ECK_UNARY_SIN: return F(sin)(x);                                                \
      case ECK_UNARY_COS: return F(cos)(x);                                                \
      case ECK_UNARY_TAN: return F(tan)(x);                                                \
      case ECK_UNARY_ASIN: return F(asin)(x);                                              \
      case ECK_UNARY_ACOS: return F(acos)(x);                                              \
      case ECK_UNARY_ATAN: return F(atan)(x);                                              \
      case ECK_UNARY_SINH: return F(sinh)(x);                                              \
      case ECK_UNARY_COSH: return F(cosh)(x);                                              \
      case ECK_UNARY_TANH: return F(tanh)(x);                                              \
      case ECK_UNARY_ASINH: return F(asinh)(x);                                            \
      case ECK_UNARY_ACOSH: return F(acosh)(x);                                            \
      case ECK_UNARY_ATANH: return F(atanh)(x);                                            \
      case ECK_UNARY_SIGMOID: return one / (one + F(exp)(-x));                             \
      case ECK_UNARY_SOFTPLUS: return F(log)(F(exp)(x) + one);                             \
      case ECK_UNARY_SOFTSIGN: return x / (one + F(fabs)(x));                              \
      case ECK_UNARY_LEAKY_RELU: return x >= zero ? x : x * a;                             \
      case ECK_UNARY_ELU: return x > zero ? x : (F(exp)(x) - one) * a;                     \
      case ECK_UNARY_SELU: return x > zero ? x * g : (F(exp)(x) - one) * a * g;            \
      case ECK_UNARY_CELU: {                                                               \
        T neg = a * (F(exp)(x / a) - one);                                                 \
        return (x > zero ? x : zero) + (neg < zero ? neg : zero);                          \
      }                                                                                    \
      case ECK_UNARY_HARD_SIGMOID: {                                                       \
        T v = a * x + b;                                                                   \
        return v > one ? one : (v < zero ? zero : v);                                      \
      }                                                                                    \
      case ECK_UNARY_HARD_SWISH: {                                                         \
        T v = a * x + b;                                                                   \
        return x * (v > one ? one : (v < zero ? zero : v));                                \
      }                                                                                    \
      case ECK_UNARY_THRESHOLDED_RELU: return x > a ? x : zero;                            \
      case ECK_UNARY_SHRINK: return x < -a ? x + b : (x > a ? x - b : zero);               \
      case ECK_UNARY_NOT: return x == zero ? one : zero;                                   \
      default: return x;                                                                   \
    }                                                                                      \
  }
EW_DEFINE_UNARY(unary_f32, float, EW_F_f)
EW_DEFINE_UNARY(unary_f64, double, EW_F_d)

/* Integer versions of the functions ONNX allows on integers; the others (never accepted by
 * shape inference for integer inputs) fall back to double. */
static int64_t unary_i64(int fn, int64_t x, const eck_unary_params *p) {
  switch (fn) {
    case ECK_UNARY_RELU: return x > 0 ? x : 0;
    case ECK_UNARY_ABS: return x < 0 ? (int64_t)(0 - (uint64_t)x) : x;
    case ECK_UNARY_NEG: return (int64_t)(0 - (uint64_t)x);
    case ECK_UNARY_SIGN: return x > 0 ? 1 : (x < 0 ? -1 : 0);
    case ECK_UNARY_NOT: return !x;
    case ECK_UNARY_CEIL: case ECK_UNARY_FLOOR: case ECK_UNARY_ROUND: return x;
    case ECK_UNARY_SHRINK:
      if ((double)x < -(double)p->alpha) return x + (int64_t)p->beta;
      if ((double)x > (double)p->alpha) return x - (int64_t)p->beta;
      return 0;
    default: return eck_ew_f64_to_i64(unary_f64(fn, (double)x, p));
  }
}

static uint64_t unary_u64(int fn, uint64_t x, const eck_unary_params *p) {
  switch (fn) {
    case ECK_UNARY_RELU: case ECK_UNARY_ABS: case ECK_UNARY_CEIL: case ECK_UNARY_FLOOR:
    case ECK_UNARY_ROUND:
      return x;
    case ECK_UNARY_NEG: return 0 - x;
    case ECK_UNARY_SIGN: return x != 0;
    case ECK_UNARY_NOT: return !x;
    case ECK_UNARY_SHRINK:
      if ((double)x > (double)p->alpha) return x - (uint64_t)(int64_t)p->beta;
      return (double)x < -(double)p->alpha ? x + (uint64_t)(int64_t)p->beta : 0;
    default: return eck_ew_f64_to_u64(unary_f64(fn, (double)x, p));
  }
}

int eck_ref_unary(const void *params, const eck_tensor *in, int n_in, eck_tensor *out, int n_out,
                  void *scratch) {
  (void)params; (void)n_in; (void)n_out; (void)scratch;
  const eck_unary_params *p = params;
  const int32_t dt = in[0].dtype;
  const int64_t n = eck_numel(&in[0]);
  switch (eck_ew_class(dt)) {
    case ECK_EW_F32:
      if (dt == ECK_FLOAT) {
        const float *x = in[0].data;
        float *y = out[0].data;
        for (int64_t i = 0; i < n; i++) y[i] = unary_f32(p->fn, x[i], p);
      } else {
        for (int64_t i = 0; i < n; i++)
          eck_ew_st_f32(out[0].data, dt, i, unary_f32(p->fn, eck_ew_ld_f32(in[0].data, dt, i), p));
      }
      return ECK_OK;
    case ECK_EW_F64: {
      const double *x = in[0].data;
      double *y = out[0].data;
      for (int64_t i = 0; i < n; i++) y[i] = unary_f64(p->fn, x[i], p);
      return ECK_OK;
    }
    case ECK_EW_I64:
      for (int64_t i = 0; i < n; i++)
        eck_ew_st_i64(out[0].data, dt, i, unary_i64(p->fn, eck_ew_ld_i64(in[0].data, dt, i), p));
      return ECK_OK;
    case ECK_EW_U64:
      for (int64_t i = 0; i < n; i++)
        eck_ew_st_u64(out[0].data, dt, i, unary_u64(p->fn, eck_ew_ld_u64(in[0].data, dt, i), p));
      return ECK_OK;
    default: return ECK_ERR_DTYPE;
  }
}

int eck_ref_classify(const void *params, const eck_tensor *in, int n_in, eck_tensor *out,
                     int n_out, void *scratch) {
  (void)params; (void)n_in; (void)n_out; (void)scratch;
  const eck_classify_params *p = params;
  const int64_t n = eck_numel(&in[0]);
  uint8_t *y = out[0].data;
  if (eck_ew_class(in[0].dtype) > ECK_EW_F64) {
    memset(y, 0, (size_t)n); /* integers are never infinite or NaN */
    return ECK_OK;
  }
  for (int64_t i = 0; i < n; i++) {
    double x = eck_ew_ld_f64(in[0].data, in[0].dtype, i);
    if (p->is_nan)
      y[i] = isnan(x) != 0;
    else
      y[i] = isinf(x) && (x > 0 ? p->detect_positive : p->detect_negative);
  }
  return ECK_OK;
}

int eck_ref_clip(const void *params, const eck_tensor *in, int n_in, eck_tensor *out, int n_out,
                 void *scratch) {
  (void)params; (void)n_in; (void)n_out; (void)scratch;
  const eck_clip_params *p = params;
  const int32_t dt = in[0].dtype;
  const int64_t n = eck_numel(&in[0]);
  const int has_lo = n_in > 1 && in[1].data && eck_numel(&in[1]) > 0;
  const int has_hi = n_in > 2 && in[2].data && eck_numel(&in[2]) > 0;
  /* numpy.clip: max(x, lo) then min(., hi); NaN stays NaN. */
  switch (eck_ew_class(dt)) {
    case ECK_EW_F32: case ECK_EW_F64: {
      double lo = p->use_attrs ? p->min : has_lo ? eck_ew_ld_f64(in[1].data, dt, 0) : -INFINITY;
      double hi = p->use_attrs ? p->max : has_hi ? eck_ew_ld_f64(in[2].data, dt, 0) : INFINITY;
      if (dt == ECK_DOUBLE) {
        const double *x = in[0].data;
        double *y = out[0].data;
        for (int64_t i = 0; i < n; i++) {
          double v = x[i] < lo ? lo : x[i];
          y[i] = v > hi ? hi : v;
        }
      } else {
        /* float bounds: every float type converts to float exactly */
        float flo = (float)lo, fhi = (float)hi;
        for (int64_t i = 0; i < n; i++) {
          float v = eck_ew_ld_f32(in[0].data, dt, i);
          v = v < flo ? flo : v;
          eck_ew_st_f32(out[0].data, dt, i, v > fhi ? fhi : v);
        }
      }
      return ECK_OK;
    }
    case ECK_EW_I64: {
      int64_t lo = has_lo ? eck_ew_ld_i64(in[1].data, dt, 0) : INT64_MIN;
      int64_t hi = has_hi ? eck_ew_ld_i64(in[2].data, dt, 0) : INT64_MAX;
      for (int64_t i = 0; i < n; i++) {
        int64_t v = eck_ew_ld_i64(in[0].data, dt, i);
        v = v < lo ? lo : v;
        eck_ew_st_i64(out[0].data, dt, i, v > hi ? hi : v);
      }
      return ECK_OK;
    }
    case ECK_EW_U64: {
      uint64_t lo = has_lo ? eck_ew_ld_u64(in[1].data, dt, 0) : 0;
      uint64_t hi = has_hi ? eck_ew_ld_u64(in[2].data, dt, 0) : UINT64_MAX;
      for (int64_t i = 0; i < n; i++) {
        uint64_t v = eck_ew_ld_u64(in[0].data, dt, i);
        v = v < lo ? lo : v;
        eck_ew_st_u64(out[0].data, dt, i, v > hi ? hi : v);
      }
      return ECK_OK;
    }
    default: return ECK_ERR_DTYPE;
  }
}
