/* elementwise.c — shape inference and attribute parsing of the unary element-wise ops
 * (Identity, maths, activations, IsInf/IsNaN, Clip): the output keeps the input's shape. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "elementwise.h"

static const int32_t dt_bool[] = {ECK_BOOL, 0};

/* An attribute read as a float parameter. */
typedef struct {
  const char *name; /* NULL: not an attribute, `dflt` is fixed */
  float dflt;
} unary_attr;

typedef struct {
  int op;
  int32_t fn;
  const int32_t *dtypes;
  unary_attr alpha, beta, gamma;
} unary_def;

static const unary_def unary_defs[] = {
    {EC_OP_Relu, ECK_UNARY_RELU, ec_dt_numeric, {0}, {0}, {0}},
    {EC_OP_Abs, ECK_UNARY_ABS, ec_dt_numeric, {0}, {0}, {0}},
    {EC_OP_Neg, ECK_UNARY_NEG, ec_dt_numeric, {0}, {0}, {0}},
    {EC_OP_Sign, ECK_UNARY_SIGN, ec_dt_numeric, {0}, {0}, {0}},
    {EC_OP_Ceil, ECK_UNARY_CEIL, ec_dt_float, {0}, {0}, {0}},
    {EC_OP_Floor, ECK_UNARY_FLOOR, ec_dt_float, {0}, {0}, {0}},
    {EC_OP_Round, ECK_UNARY_ROUND, ec_dt_float, {0}, {0}, {0}},
    {EC_OP_Reciprocal, ECK_UNARY_RECIPROCAL, ec_dt_float, {0}, {0}, {0}},
    {EC_OP_Sqrt, ECK_UNARY_SQRT, ec_dt_float, {0}, {0}, {0}},
    {EC_OP_Exp, ECK_UNARY_EXP, ec_dt_float, {0}, {0}, {0}},
    {EC_OP_Log, ECK_UNARY_LOG, ec_dt_float, {0}, {0}, {0}},
    {EC_OP_Erf, ECK_UNARY_ERF, ec_dt_float, {0}, {0}, {0}},
    {EC_OP_Sin, ECK_UNARY_SIN, ec_dt_float, {0}, {0}, {0}},
    {EC_OP_Cos, ECK_UNARY_COS, ec_dt_float, {0}, {0}, {0}},
    {EC_OP_Tan, ECK_UNARY_TAN, ec_dt_float, {0}, {0}, {0}},
    {EC_OP_Asin, ECK_UNARY_ASIN, ec_dt_float, {0}, {0}, {0}},
    {EC_OP_Acos, ECK_UNARY_ACOS, ec_dt_float, {0}, {0}, {0}},
    {EC_OP_Atan, ECK_UNARY_ATAN, ec_dt_float, {0}, {0}, {0}},
    {EC_OP_Sinh, ECK_UNARY_SINH, ec_dt_float, {0}, {0}, {0}},
    {EC_OP_Cosh, ECK_UNARY_COSH, ec_dt_float, {0}, {0}, {0}},
    {EC_OP_Tanh, ECK_UNARY_TANH, ec_dt_float, {0}, {0}, {0}},
    {EC_OP_Asinh, ECK_UNARY_ASINH, ec_dt_float, {0}, {0}, {0}},
    {EC_OP_Acosh, ECK_UNARY_ACOSH, ec_dt_float, {0}, {0}, {0}},
    {EC_OP_Atanh, ECK_UNARY_ATANH, ec_dt_float, {0}, {0}, {0}},
    {EC_OP_Sigmoid, ECK_UNARY_SIGMOID, ec_dt_float, {0}, {0}, {0}},
    {EC_OP_Softplus, ECK_UNARY_SOFTPLUS, ec_dt_float, {0}, {0}, {0}},
    {EC_OP_Softsign, ECK_UNARY_SOFTSIGN, ec_dt_float, {0}, {0}, {0}},
    {EC_OP_LeakyRelu, ECK_UNARY_LEAKY_RELU, ec_dt_float, {"alpha", 0.01f}, {0}, {0}},
    {EC_OP_Elu, ECK_UNARY_ELU, ec_dt_float, {"alpha", 1.0f}, {0}, {0}},
    {EC_OP_Selu, ECK_UNARY_SELU, ec_dt_float, {"alpha", 1.67326319217681884765625f}, {0},
     {"gamma", 1.05070102214813232421875f}},
    {EC_OP_Celu, ECK_UNARY_CELU, ec_dt_float, {"alpha", 1.0f}, {0}, {0}},
    {EC_OP_HardSigmoid, ECK_UNARY_HARD_SIGMOID, ec_dt_float, {"alpha", 0.2f}, {"beta", 0.5f}, {0}},
    {EC_OP_HardSwish, ECK_UNARY_HARD_SWISH, ec_dt_float, {NULL, 1.0f / 6}, {NULL, 0.5f}, {0}},
    {EC_OP_ThresholdedRelu, ECK_UNARY_THRESHOLDED_RELU, ec_dt_float, {"alpha", 1.0f}, {0}, {0}},
    {EC_OP_Shrink, ECK_UNARY_SHRINK, ec_dt_numeric, {"lambd", 0.5f}, {"bias", 0.0f}, {0}},
    {EC_OP_Not, ECK_UNARY_NOT, dt_bool, {0}, {0}, {0}},
};

static const char *const unary_names[] = {
#define EC_X_NAME(name) "ECK_UNARY_" #name,
    ECK_UNARY_FNS(EC_X_NAME)
#undef EC_X_NAME
};
_Static_assert(sizeof unary_names / sizeof unary_names[0] == ECK_UNARY_COUNT,
               "unary names out of step with eck_unary_fn");

ec_status ec_ew_legacy_attrs(ec_ctx *cx, ec_node *n) {
  if (cx->opset >= 6) return EC_OK;
  const int64_t *v;
  int count;
  return ec_attr_ints(cx, n, "consumed_inputs", &v, &count);
}

ec_status ec_infer_identity(ec_ctx *cx, ec_node *n) {
  ec_status st = ec_check_arity(cx, n, 1, 1, 1, 1);
  if (!st) st = ec_check_input(cx, n, 0, ec_dt_all);
  if (st) return st;
  return ec_set_output_like(cx, n, 0, ec_in(cx, n, 0));
}

static ec_status read_attr(ec_ctx *cx, ec_node *n, const unary_attr *a, float *out) {
  *out = a->dflt;
  if (!a->name) return EC_OK;
  return ec_attr_float(cx, n, a->name, a->dflt, out);
}

ec_status ec_infer_unary(ec_ctx *cx, ec_node *n) {
  const unary_def *d = NULL;
  for (size_t k = 0; k < sizeof unary_defs / sizeof unary_defs[0]; k++)
    if (unary_defs[k].op == n->op) d = &unary_defs[k];
  if (!d) return ec_fail(cx, n, "internal error: %s is not a unary op", n->op_type);
  ec_status st = ec_check_arity(cx, n, 1, 1, 1, 1);
  if (!st) st = ec_check_input(cx, n, 0, d->dtypes);
  if (!st) st = ec_ew_legacy_attrs(cx, n);
  if (st) return st;
  eck_unary_params *p = ec_params(cx, n, sizeof *p);
  if (!p) return EC_ERR_INTERNAL;
  p->fn = d->fn;
  st = read_attr(cx, n, &d->alpha, &p->alpha);
  if (!st) st = read_attr(cx, n, &d->beta, &p->beta);
  if (!st) st = read_attr(cx, n, &d->gamma, &p->gamma);
  if (st) return st;
  if (d->fn == ECK_UNARY_CELU && p->alpha == 0)
    return ec_fail(cx, n, "attribute 'alpha' must not be 0");
  return ec_set_output_like(cx, n, 0, ec_in(cx, n, 0));
}

ec_status ec_infer_classify(ec_ctx *cx, ec_node *n) {
  ec_status st = ec_check_arity(cx, n, 1, 1, 1, 1);
  if (!st) st = ec_check_input(cx, n, 0, ec_dt_float);
  if (st) return st;
  eck_classify_params *p = ec_params(cx, n, sizeof *p);
  if (!p) return EC_ERR_INTERNAL;
  p->is_nan = n->op == EC_OP_IsNaN;
  if (!p->is_nan) {
    int64_t pos, neg;
    st = ec_attr_int(cx, n, "detect_positive", 1, &pos);
    if (!st) st = ec_attr_int(cx, n, "detect_negative", 1, &neg);
    if (st) return st;
    p->detect_positive = pos != 0;
    p->detect_negative = neg != 0;
  }
  const ec_tensor *x = ec_in(cx, n, 0);
  return ec_set_output(cx, n, 0, ECK_BOOL, x->rank, x->dims);
}

/* Clip's bounds: attributes before opset 11, optional scalar inputs from 11 on. */
ec_status ec_infer_clip(ec_ctx *cx, ec_node *n) {
  const bool attrs = cx->opset < 11;
  ec_status st = ec_check_arity(cx, n, 1, attrs ? 1 : 3, 1, 1);
  if (!st) st = ec_check_input(cx, n, 0, attrs ? ec_dt_float : ec_dt_numeric);
  if (!st) st = ec_ew_legacy_attrs(cx, n);
  if (st) return st;
  const ec_tensor *x = ec_in(cx, n, 0);
  eck_clip_params *p = ec_params(cx, n, sizeof *p);
  if (!p) return EC_ERR_INTERNAL;
  p->use_attrs = attrs;
  if (attrs) {
    st = ec_attr_float(cx, n, "min", -FLT_MAX, &p->min);
    if (!st) st = ec_attr_float(cx, n, "max", FLT_MAX, &p->max);
    if (st) return st;
  } else {
    for (int i = 1; i < 3; i++) {
      const ec_tensor *b = ec_in(cx, n, i);
      if (!b) continue;
      if (b->dtype != x->dtype)
        return ec_fail(cx, n, "bound '%s' is %s but the input is %s", b->name,
                       ec_dtype_name(b->dtype), ec_dtype_name(x->dtype));
      if (ec_tensor_numel(b) > 1)
        return ec_fail(cx, n, "bound '%s' must be a scalar, has %lld elements", b->name,
                       (long long)ec_tensor_numel(b));
    }
  }
  return ec_set_output_like(cx, n, 0, x);
}

void ec_ew_print_float(ec_buf *b, const char *field, float v, const char *sep) {
  /* hex floats are exact; infinities and NaN need math.h's macros (eck_ref_elementwise.h) */
  if (isnan(v))
    ec_buf_printf(b, ".%s = NAN%s", field, sep);
  else if (isinf(v))
    ec_buf_printf(b, ".%s = %sINFINITY%s", field, v < 0 ? "-" : "", sep);
  else
    ec_buf_printf(b, ".%s = %a%s", field, (double)v, sep);
}

void ec_print_unary(ec_buf *b, const ec_node *n) {
  const eck_unary_params *p = n->params;
  const char *name = p->fn >= 0 && p->fn < ECK_UNARY_COUNT ? unary_names[p->fn] : "0";
  ec_buf_printf(b, "{ .fn = %s, ", name);
  ec_ew_print_float(b, "alpha", p->alpha, ", ");
  ec_ew_print_float(b, "beta", p->beta, ", ");
  ec_ew_print_float(b, "gamma", p->gamma, " }");
}

void ec_print_classify(ec_buf *b, const ec_node *n) {
  const eck_classify_params *p = n->params;
  ec_buf_printf(b, "{ .is_nan = %d, .detect_positive = %d, .detect_negative = %d }",
                (int)p->is_nan, (int)p->detect_positive, (int)p->detect_negative);
}

void ec_print_clip(ec_buf *b, const ec_node *n) {
  const eck_clip_params *p = n->params;
  ec_buf_printf(b, "{ .use_attrs = %d, ", (int)p->use_attrs);
  ec_ew_print_float(b, "min", p->min, ", ");
  ec_ew_print_float(b, "max", p->max, " }");
}
