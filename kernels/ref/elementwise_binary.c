/* elementwise_binary.c — reference kernels of the broadcasting ops: binary arithmetic, logic,
 * comparisons and shifts, the variadic Max/Min/Sum/Mean, and Where. Integers are exact. */
#include <math.h>
#include <string.h>

#include "eck_ref.h"

/* numpy's float semantics: maximum/minimum propagate NaN, mod takes the divisor's sign. */
#define EW_DEFINE_BINARY(NAME, T, F)                                                      \
  static T NAME(int fn, T a, T b) {                                                       \
    switch (fn) {                                                                         \
      case ECK_BINARY_ADD: return a + b;                                                  \
      case ECK_BINARY_SUB: return a - b;                                                  \
      case ECK_BINARY_MUL: return a * b;                                                  \
      case ECK_BINARY_DIV: return a / b;                                                  \
      case ECK_BINARY_POW: return F(pow)(a, b);                                           \
      case ECK_BINARY_FMOD: return F(fmod)(a, b);                                         \
      case ECK_BINARY_MOD: {                                                              \
        T r = F(fmod)(a, b);                                                              \
        return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;                              \
      }                                                                                   \
      case ECK_BINARY_PRELU: return a < 0 ? a * b : a;                                    \
      case ECK_BINARY_AND: return (T)(a != 0 && b != 0);                                  \
      case ECK_BINARY_OR: return (T)(a != 0 || b != 0);                                   \
      case ECK_BINARY_XOR: return (T)((a != 0) != (b != 0));                              \
      case ECK_BINARY_EQUAL: return (T)(a == b);                                          \
      case ECK_BINARY_GREATER: return (T)(a > b);                                         \
      case ECK_BINARY_LESS: return (T)(a < b);                                            \
      case ECK_BINARY_GREATER_EQUAL: return (T)(a >= b);                                  \
      case ECK_BINARY_LESS_EQUAL: return (T)(a <= b);                                     \
      case ECK_BINARY_MAX: return (a >= b || a != a) ? a : b;                             \
      case ECK_BINARY_MIN: return (a <= b || a != a) ? a : b;                             \
      default: return 0;                                                                  \
    }                                                                                     \
  }
#define EW_F_f(name) name##f
#define EW_F_d(name) name
EW_DEFINE_BINARY(binary_f32, float, EW_F_f)
EW_DEFINE_BINARY(binary_f64, double, EW_F_d)

static uint64_t ipow_u64(uint64_t base, uint64_t e) {
  uint64_t r = 1;
  for (; e; e >>= 1) {
    if (e & 1) r *= base;
    base *= base;
  }
  return r;
}

static int64_t ipow_i64(int64_t base, int64_t e) {
  if (e < 0) return base == 1 ? 1 : base == -1 ? ((e & 1) ? -1 : 1) : 0;
  return (int64_t)ipow_u64((uint64_t)base, (uint64_t)e); /* wraps like numpy */
}

/* Signed integers: +, -, * wrap (done in uint64 to stay defined); / truncates toward zero as
 * C and the ONNX tests do; division by zero gives 0 instead of trapping. */
static int64_t binary_i64(int fn, int64_t a, int64_t b) {
  switch (fn) {
    case ECK_BINARY_ADD: return (int64_t)((uint64_t)a + (uint64_t)b);
    case ECK_BINARY_SUB: return (int64_t)((uint64_t)a - (uint64_t)b);
    case ECK_BINARY_MUL: return (int64_t)((uint64_t)a * (uint64_t)b);
    case ECK_BINARY_DIV:
      if (b == 0) return 0;
      if (b == -1) return (int64_t)(0 - (uint64_t)a);
      return a / b;
    case ECK_BINARY_POW: return ipow_i64(a, b);
    case ECK_BINARY_FMOD: return (b == 0 || b == -1) ? 0 : a % b;
    case ECK_BINARY_MOD: {
      if (b == 0 || b == -1) return 0;
      int64_t r = a % b;
      return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
    }
    case ECK_BINARY_PRELU: return a < 0 ? (int64_t)((uint64_t)a * (uint64_t)b) : a;
    case ECK_BINARY_AND: return a && b;
    case ECK_BINARY_OR: return a || b;
    case ECK_BINARY_XOR: return !a != !b;
    case ECK_BINARY_EQUAL: return a == b;
    case ECK_BINARY_GREATER: return a > b;
    case ECK_BINARY_LESS: return a < b;
    case ECK_BINARY_GREATER_EQUAL: return a >= b;
    case ECK_BINARY_LESS_EQUAL: return a <= b;
    case ECK_BINARY_MAX: return a > b ? a : b;
    case ECK_BINARY_MIN: return a < b ? a : b;
    case ECK_BINARY_SHIFT_LEFT: return (b < 0 || b >= 64) ? 0 : (int64_t)((uint64_t)a << b);
    case ECK_BINARY_SHIFT_RIGHT: return (b < 0 || b >= 64) ? (a < 0 ? -1 : 0) : a >> b;
    default: return 0;
  }
}

/* `bits`: width of the dtype, so that shifting out every bit gives 0 as numpy does. */
static uint64_t binary_u64(int fn, uint64_t a, uint64_t b, int bits) {
  switch (fn) {
    case ECK_BINARY_ADD: return a + b;
    case ECK_BINARY_SUB: return a - b;
    case ECK_BINARY_MUL: return a * b;
    case ECK_BINARY_DIV: return b ? a / b : 0;
    case ECK_BINARY_POW: return ipow_u64(a, b);
    case ECK_BINARY_MOD: case ECK_BINARY_FMOD: return b ? a % b : 0;
    case ECK_BINARY_PRELU: return a;
    case ECK_BINARY_AND: return a && b;
    case ECK_BINARY_OR: return a || b;
    case ECK_BINARY_XOR: return !a != !b;
    case ECK_BINARY_EQUAL: return a == b;
    case ECK_BINARY_GREATER: return a > b;
    case ECK_BINARY_LESS: return a < b;
    case ECK_BINARY_GREATER_EQUAL: return a >= b;
    case ECK_BINARY_LESS_EQUAL: return a <= b;
    case ECK_BINARY_MAX: return a > b ? a : b;
    case ECK_BINARY_MIN: return a < b ? a : b;
    case ECK_BINARY_SHIFT_LEFT: return b >= (uint64_t)bits ? 0 : a << b;
    case ECK_BINARY_SHIFT_RIGHT: return b >= (uint64_t)bits ? 0 : a >> b;
    default: return 0;
  }
}

/* out[i] = fn(a[ia], b[ib]) in a's compute class. b's dtype may differ (Pow's exponent). */
static int binary_elem(int fn, const eck_tensor *a, int64_t ia, const eck_tensor *b, int64_t ib,
                       eck_tensor *out, int64_t i) {
  const int32_t da = a->dtype, db = b->dtype;
  switch (eck_ew_class(da)) {
    case ECK_EW_F32:
      eck_ew_st_f32(out->data, out->dtype, i,
                    binary_f32(fn, eck_ew_ld_f32(a->data, da, ia), eck_ew_ld_f32(b->data, db, ib)));
      return ECK_OK;
    case ECK_EW_F64:
      eck_ew_st_f64(out->data, out->dtype, i,
                    binary_f64(fn, eck_ew_ld_f64(a->data, da, ia), eck_ew_ld_f64(b->data, db, ib)));
      return ECK_OK;
    case ECK_EW_I64:
    case ECK_EW_U64:
      if (fn == ECK_BINARY_POW && eck_ew_class(db) <= ECK_EW_F64) {
        /* integer base, float exponent: numpy computes in double and truncates */
        eck_ew_st_f64(out->data, out->dtype, i,
                      pow(eck_ew_ld_f64(a->data, da, ia), eck_ew_ld_f64(b->data, db, ib)));
      } else if (eck_ew_class(da) == ECK_EW_I64) {
        eck_ew_st_i64(out->data, out->dtype, i,
                      binary_i64(fn, eck_ew_ld_i64(a->data, da, ia), eck_ew_ld_i64(b->data, db, ib)));
      } else {
        eck_ew_st_u64(out->data, out->dtype, i,
                      binary_u64(fn, eck_ew_ld_u64(a->data, da, ia), eck_ew_ld_u64(b->data, db, ib),
                                 (int)eck_dtype_size(da) * 8));
      }
      return ECK_OK;
    default: return ECK_ERR_DTYPE;
  }
}

int eck_ref_binary(const void *params, const eck_tensor *in, int n_in, eck_tensor *out,
                   int n_out, void *scratch) {
  (void)params; (void)n_in; (void)n_out; (void)scratch;
  const eck_binary_params *p = params;
  eck_tensor b = in[1];
  if (b.rank + p->b_trailing_ones > ECK_MAX_RANK) return ECK_ERR_ARG;
  for (int k = 0; k < p->b_trailing_ones; k++) b.dims[b.rank++] = 1;
  const eck_tensor *ins[2] = {&in[0], &b};
  eck_ew_iter it;
  eck_ew_iter_init(&it, &out[0], ins, 2);
  const int64_t n = eck_numel(&out[0]);
  if (in[0].dtype == ECK_FLOAT && b.dtype == ECK_FLOAT && out[0].dtype == ECK_FLOAT) {
    const float *x = in[0].data, *y = b.data;
    float *z = out[0].data;
    for (int64_t i = 0; i < n; i++, eck_ew_iter_next(&it))
      z[i] = binary_f32(p->fn, x[it.off[0]], y[it.off[1]]);
    return ECK_OK;
  }
  for (int64_t i = 0; i < n; i++, eck_ew_iter_next(&it)) {
    int rc = binary_elem(p->fn, &in[0], it.off[0], &b, it.off[1], &out[0], i);
    if (rc) return rc;
  }
  return ECK_OK;
}

int eck_ref_variadic(const void *params, const eck_tensor *in, int n_in, eck_tensor *out,
                     int n_out, void *scratch) {
  (void)params; (void)n_in; (void)n_out; (void)scratch;
  const eck_variadic_params *p = params;
  const int64_t n = eck_numel(&out[0]);
  const size_t es = eck_dtype_size(out[0].dtype);
  int fn = p->fn == ECK_VARIADIC_MAX ? ECK_BINARY_MAX
           : p->fn == ECK_VARIADIC_MIN ? ECK_BINARY_MIN
                                       : ECK_BINARY_ADD;
  if (n_in < 1 || in[0].dtype != out[0].dtype) return ECK_ERR_ARG;
  /* out = input 0 broadcast (out may be input 0 itself), then out = fn(out, input k). */
  eck_ew_iter it;
  const eck_tensor *first[1] = {&in[0]};
  eck_ew_iter_init(&it, &out[0], first, 1);
  for (int64_t i = 0; i < n; i++, eck_ew_iter_next(&it))
    if ((char *)out[0].data + i * es != (char *)in[0].data + it.off[0] * es)
      memcpy((char *)out[0].data + i * es, (char *)in[0].data + it.off[0] * es, es);
  for (int k = 1; k < n_in; k++) {
    const eck_tensor *pair[2] = {&out[0], &in[k]};
    eck_ew_iter_init(&it, &out[0], pair, 2);
    if (out[0].dtype == ECK_FLOAT && in[k].dtype == ECK_FLOAT) {
      const float *x = in[k].data;
      float *z = out[0].data;
      for (int64_t i = 0; i < n; i++, eck_ew_iter_next(&it)) z[i] = binary_f32(fn, z[i], x[it.off[1]]);
      continue;
    }
    for (int64_t i = 0; i < n; i++, eck_ew_iter_next(&it)) {
      int rc = binary_elem(fn, &out[0], i, &in[k], it.off[1], &out[0], i);
      if (rc) return rc;
    }
  }
  if (p->fn == ECK_VARIADIC_MEAN && n_in > 1) {
    for (int64_t i = 0; i < n; i++) {
      if (out[0].dtype == ECK_DOUBLE)
        ((double *)out[0].data)[i] /= n_in;
      else if (eck_ew_class(out[0].dtype) == ECK_EW_F32)
        eck_ew_st_f32(out[0].data, out[0].dtype, i,
                      eck_ew_ld_f32(out[0].data, out[0].dtype, i) / (float)n_in);
      else
        return ECK_ERR_DTYPE;
    }
  }
  return ECK_OK;
}

int eck_ref_where(const void *params, const eck_tensor *in, int n_in, eck_tensor *out, int n_out,
                  void *scratch) {
  (void)params; (void)n_in; (void)n_out; (void)scratch;
  const eck_tensor *ins[3] = {&in[0], &in[1], &in[2]};
  const size_t es = eck_dtype_size(out[0].dtype);
  const uint8_t *c = in[0].data;
  eck_ew_iter it;
  eck_ew_iter_init(&it, &out[0], ins, 3);
  const int64_t n = eck_numel(&out[0]);
  for (int64_t i = 0; i < n; i++, eck_ew_iter_next(&it)) {
    const char *src = c[it.off[0]] ? (const char *)in[1].data + it.off[1] * es
                                   : (const char *)in[2].data + it.off[2] * es;
    memmove((char *)out[0].data + i * es, src, es);
  }
  return ECK_OK;
}
