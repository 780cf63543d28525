/* eck_ref_elementwise.h — reference kernels of the element-wise family: unary maths and
 * activations, broadcasting binary and variadic ops, Where, Cast, Dropout and (de)quantization. */
#ifndef ECK_REF_ELEMENTWISE_H
#define ECK_REF_ELEMENTWISE_H
#include <math.h> /* INFINITY and NAN in generated parameter initializers */

#include "eck_tensor.h"

/* Functions of eck_ref_unary (output dtype = input dtype). alpha/beta/gamma as each names. */
#define ECK_UNARY_FNS(X)                                                                  \
  X(RELU) X(ABS) X(NEG) X(SIGN) X(CEIL) X(FLOOR) X(ROUND) X(RECIPROCAL) X(SQRT) X(EXP)     \
  X(LOG) X(ERF) X(SIN) X(COS) X(TAN) X(ASIN) X(ACOS) X(ATAN) X(SINH) X(COSH) X(TANH)       \
  X(ASINH) X(ACOSH) X(ATANH) X(SIGMOID) X(SOFTPLUS) X(SOFTSIGN)                            \
  X(LEAKY_RELU)       /* alpha: slope */                                                   \
  X(ELU)              /* alpha */                                                          \
  X(SELU)             /* alpha, gamma */                                                   \
  X(CELU)             /* alpha */                                                          \
  X(HARD_SIGMOID)     /* alpha, beta */                                                    \
  X(HARD_SWISH)                                                                            \
  X(THRESHOLDED_RELU) /* alpha: threshold */                                               \
  X(SHRINK)           /* alpha: lambd, beta: bias */                                       \
  X(NOT)

#define ECK_X_ENUM_UNARY(name) ECK_UNARY_##name,
typedef enum eck_unary_fn { ECK_UNARY_FNS(ECK_X_ENUM_UNARY) ECK_UNARY_COUNT } eck_unary_fn;
#undef ECK_X_ENUM_UNARY

typedef struct eck_unary_params {
  int32_t fn;      /* eck_unary_fn */
  float alpha, beta, gamma;
} eck_unary_params;

/* IsInf / IsNaN: float input, bool output. */
typedef struct eck_classify_params {
  int32_t is_nan;            /* 1: IsNaN, 0: IsInf */
  int32_t detect_positive;   /* IsInf only */
  int32_t detect_negative;
} eck_classify_params;

/* Functions of eck_ref_binary. Comparisons write bool; the others the dtype of input 0. */
#define ECK_BINARY_FNS(X)                                                                  \
  X(ADD) X(SUB) X(MUL) X(DIV) X(POW) X(MOD) X(FMOD) X(PRELU) X(AND) X(OR) X(XOR)           \
  X(SHIFT_LEFT) X(SHIFT_RIGHT) X(EQUAL) X(GREATER) X(LESS) X(GREATER_EQUAL) X(LESS_EQUAL)  \
  X(MAX) X(MIN)

#define ECK_X_ENUM_BINARY(name) ECK_BINARY_##name,
typedef enum eck_binary_fn { ECK_BINARY_FNS(ECK_X_ENUM_BINARY) ECK_BINARY_COUNT } eck_binary_fn;
#undef ECK_X_ENUM_BINARY

typedef struct eck_binary_params {
  int32_t fn;           /* eck_binary_fn */
  /* Opsets before 7 align B to A starting at `axis`: B's shape gets this many trailing 1s
   * before numpy broadcasting. 0 otherwise. */
  int32_t b_trailing_ones;
} eck_binary_params;

/* Max, Min, Sum, Mean over any number of broadcast inputs. */
typedef enum eck_variadic_fn {
  ECK_VARIADIC_MAX = 0,
  ECK_VARIADIC_MIN,
  ECK_VARIADIC_SUM,
  ECK_VARIADIC_MEAN
} eck_variadic_fn;
typedef struct eck_variadic_params {
  int32_t fn;   /* eck_variadic_fn */
} eck_variadic_params;

/* Clip: bounds from inputs 1 and 2 when present (opset >= 11), else from min/max here. */
typedef struct eck_clip_params {
  int32_t use_attrs;   /* opset < 11 */
  float min, max;
} eck_clip_params;

/* Dropout at inference: output = input, mask all true. ratio is used when input 1 is absent;
 * training mode with a ratio above 0 cannot be reproduced and fails. */
typedef struct eck_dropout_params {
  float ratio;
} eck_dropout_params;

/* QuantizeLinear / DequantizeLinear: per tensor, or per `axis` when the scale is 1-D. */
typedef struct eck_quant_params {
  int32_t axis;   /* normalised; -1: per tensor */
} eck_quant_params;

/* Gelu (edgecc's own op, domain com.edgecc, made by the graph pass `gelu`; ONNX has Gelu only
 * from opset 20): y = x/2 (1 + erf(x/sqrt 2)), or with tanh, x/2 (1 + tanh(sqrt(2/pi) (x +
 * 0.044715 x^3))). */
enum { ECK_GELU_NONE = 0, ECK_GELU_TANH = 1 };
typedef struct eck_gelu_params {
  int32_t approximate; /* ECK_GELU_NONE or ECK_GELU_TANH */
} eck_gelu_params;

int eck_ref_identity(const void *p, const eck_tensor *in, int n_in, eck_tensor *out, int n_out, void *scratch);
int eck_ref_unary(const void *p, const eck_tensor *in, int n_in, eck_tensor *out, int n_out, void *scratch);
int eck_ref_classify(const void *p, const eck_tensor *in, int n_in, eck_tensor *out, int n_out, void *scratch);
int eck_ref_binary(const void *p, const eck_tensor *in, int n_in, eck_tensor *out, int n_out, void *scratch);
int eck_ref_variadic(const void *p, const eck_tensor *in, int n_in, eck_tensor *out, int n_out, void *scratch);
int eck_ref_clip(const void *p, const eck_tensor *in, int n_in, eck_tensor *out, int n_out, void *scratch);
int eck_ref_where(const void *p, const eck_tensor *in, int n_in, eck_tensor *out, int n_out, void *scratch);
/* Cast / CastLike: no params, the output tensor's dtype is the target. */
int eck_ref_cast(const void *p, const eck_tensor *in, int n_in, eck_tensor *out, int n_out, void *scratch);
int eck_ref_dropout(const void *p, const eck_tensor *in, int n_in, eck_tensor *out, int n_out, void *scratch);
int eck_ref_quantize_linear(const void *p, const eck_tensor *in, int n_in, eck_tensor *out, int n_out, void *scratch);
int eck_ref_dequantize_linear(const void *p, const eck_tensor *in, int n_in, eck_tensor *out, int n_out, void *scratch);
/* QLinearAdd, QLinearMul (com.microsoft): dequantize A and B, add or multiply, requantize (in float,
 * round half to even, saturate), with numpy broadcasting. */
int eck_ref_qlinear_add(const void *p, const eck_tensor *in, int n_in, eck_tensor *out, int n_out, void *scratch);
int eck_ref_qlinear_mul(const void *p, const eck_tensor *in, int n_in, eck_tensor *out, int n_out, void *scratch);
int eck_ref_gelu(const void *p, const eck_tensor *in, int n_in, eck_tensor *out, int n_out, void *scratch);
int eck_ref_dynamic_quantize_linear(const void *p, const eck_tensor *in, int n_in, eck_tensor *out, int n_out, void *scratch);

/* ---- helpers shared by the element-wise kernel files (elementwise_common.c) ------------------ */
/* How a dtype computes: float (float, float16, bfloat16), double, signed or unsigned 64-bit. */
enum { ECK_EW_F32 = 0, ECK_EW_F64, ECK_EW_I64, ECK_EW_U64, ECK_EW_BAD };
int eck_ew_class(int32_t dtype);
/* Element i converted to the compute type (C conversion rules; float -> int truncates). */
float eck_ew_ld_f32(const void *data, int32_t dtype, int64_t i);
double eck_ew_ld_f64(const void *data, int32_t dtype, int64_t i);
int64_t eck_ew_ld_i64(const void *data, int32_t dtype, int64_t i);
uint64_t eck_ew_ld_u64(const void *data, int32_t dtype, int64_t i);
/* Stores v into element i, wrapping integers to their width; bool stores v != 0. */
void eck_ew_st_f32(void *data, int32_t dtype, int64_t i, float v);
void eck_ew_st_f64(void *data, int32_t dtype, int64_t i, double v);
void eck_ew_st_i64(void *data, int32_t dtype, int64_t i, int64_t v);
void eck_ew_st_u64(void *data, int32_t dtype, int64_t i, uint64_t v);
/* Float to integer, truncating; NaN and values out of the 64-bit range give INT64_MIN. */
int64_t eck_ew_f64_to_i64(double v);
uint64_t eck_ew_f64_to_u64(double v);
/* Correctly rounded double -> float16 (no double rounding through float). */
uint16_t eck_ew_f64_to_f16(double v);

/* Walks the elements of a broadcast output, keeping each input's element offset. */
typedef struct eck_ew_iter {
  int rank, n;
  int64_t dims[ECK_MAX_RANK], idx[ECK_MAX_RANK];
  int64_t strides[4][ECK_MAX_RANK];
  int64_t off[4];
} eck_ew_iter;
/* n <= 4 inputs (in[k] may have fewer dims: numpy broadcasting). */
void eck_ew_iter_init(eck_ew_iter *it, const eck_tensor *out, const eck_tensor *const *in, int n);
void eck_ew_iter_next(eck_ew_iter *it);

#endif
