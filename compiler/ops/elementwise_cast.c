/* elementwise_cast.c — shape inference of the ops that change dtypes or pass data through:
 * Cast, CastLike, Dropout (inference only), QuantizeLinear, DequantizeLinear,
 * DynamicQuantizeLinear. */
#include <stdlib.h>
#include <strings.h>

#include "elementwise.h"

static const int32_t dt_q8[] = {ECK_UINT8, ECK_INT8, 0};
static const int32_t dt_dq[] = {ECK_UINT8, ECK_INT8, ECK_INT32, 0};
static const int32_t dt_qin[] = {ECK_FLOAT, ECK_INT32, 0};
static const int32_t dt_f32[] = {ECK_FLOAT, 0};

/* Cast-1 names the target type as a string ("FLOAT"); later opsets use the enum value. */
static int32_t dtype_from_name(const char *s) {
  static const struct {
    const char *name;
    int32_t dtype;
  } names[] = {{"FLOAT", ECK_FLOAT},   {"UINT8", ECK_UINT8},       {"INT8", ECK_INT8},
               {"UINT16", ECK_UINT16}, {"INT16", ECK_INT16},       {"INT32", ECK_INT32},
               {"INT64", ECK_INT64},   {"STRING", ECK_STRING},     {"BOOL", ECK_BOOL},
               {"FLOAT16", ECK_FLOAT16}, {"DOUBLE", ECK_DOUBLE},   {"UINT32", ECK_UINT32},
               {"UINT64", ECK_UINT64}, {"BFLOAT16", ECK_BFLOAT16}};
  for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
    if (strcasecmp(s, names[k].name) == 0) return names[k].dtype;
  return -1;
}

ec_status ec_infer_cast(ec_ctx *cx, ec_node *n) {
  const bool like = n->op == EC_OP_CastLike;
  ec_status st = ec_check_arity(cx, n, like ? 2 : 1, like ? 2 : 1, 1, 1);
  if (!st) st = ec_check_input(cx, n, 0, ec_dt_all);
  if (st) return st;
  int32_t to;
  if (like) {
    st = ec_check_input(cx, n, 1, ec_dt_all);
    if (st) return st;
    to = ec_in(cx, n, 1)->dtype;
  } else {
    st = ec_attr_require(cx, n, "to");
    if (st) return st;
    ec_attr *a = ec_attr_get(n, "to");
    if (a->type == EC_ATTR_STRING) {
      to = dtype_from_name(a->s);
      if (to < 0) return ec_fail(cx, n, "attribute 'to' names no known type (\"%s\")", a->s);
    } else {
      int64_t v;
      st = ec_attr_int(cx, n, "to", 0, &v);
      if (st) return st;
      if (v < 1 || v > 16 || !ec_dtype_valid((int32_t)v))
        return ec_fail(cx, n, "attribute 'to' is not a valid dtype (%lld)", (long long)v);
      to = (int32_t)v;
    }
  }
  if (!ec_dtype_in(to, ec_dt_all))
    return ec_fail(cx, n, "casting to %s is not supported", ec_dtype_name(to));
  /* the kernel reads the target dtype from its output tensor: no params */
  const ec_tensor *x = ec_in(cx, n, 0);
  return ec_set_output(cx, n, 0, to, x->rank, x->dims);
}

/* Dropout is the identity at inference. Opsets 1-6 say so with `is_test`, 7-11 always, 12+
 * with the `training_mode` input (false by default). A random mask cannot be reproduced, so
 * training mode with a non-zero ratio is refused: here when both are constants, by the kernel at
 * run time when either is fed. */
ec_status ec_infer_dropout(ec_ctx *cx, ec_node *n) {
  const bool inputs = cx->opset >= 12;
  ec_status st = ec_check_arity(cx, n, 1, inputs ? 3 : 1, 1, 2);
  if (!st) st = ec_check_input(cx, n, 0, ec_dt_float);
  if (!st) st = ec_ew_legacy_attrs(cx, n);
  if (st) return st;
  eck_dropout_params *p = ec_params(cx, n, sizeof *p);
  if (!p) return EC_ERR_INTERNAL;
  p->ratio = 0.5f;
  if (cx->opset < 7) {
    /* Old exporters leave is_test at 0 in inference graphs; every runtime runs them as the
     * identity, and so does edgecc. */
    int64_t is_test;
    st = ec_attr_int(cx, n, "is_test", 0, &is_test);
    if (st) return st;
  }
  if (!inputs) {
    st = ec_attr_float(cx, n, "ratio", 0.5f, &p->ratio);
    if (st) return st;
  } else {
    int64_t seed;
    st = ec_attr_int(cx, n, "seed", 0, &seed);
    if (st) return st;
    const ec_tensor *r = ec_in(cx, n, 1), *t = ec_in(cx, n, 2);
    if (r && (!ec_dtype_in(r->dtype, ec_dt_float) || ec_tensor_numel(r) != 1))
      return ec_fail(cx, n, "ratio '%s' must be a floating-point scalar", r->name);
    if (t && (t->dtype != ECK_BOOL || ec_tensor_numel(t) != 1))
      return ec_fail(cx, n, "training_mode '%s' must be a bool scalar", t->name);
    /* Known true with a known ratio above 0: refused here. Either one fed at run time: the kernel
     * decides on every run (the identity, or an error when training with a ratio above 0), so
     * neither is a value the compiler must know. */
    if (t && ec_in_is_const(cx, n, 2) && ((const uint8_t *)t->data)[0] != 0 &&
        (!r || ec_in_is_const(cx, n, 1))) {
      double ratio = 0.5;
      if (r) {
        double *v;
        int64_t c;
        if ((st = ec_in_const_floats(cx, n, 1, &v, &c))) return st;
        ratio = v[0];
        free(v);
      }
      if (ratio > 0) return ec_fail(cx, n, "training-mode Dropout is not supported");
    }
  }
  if (p->ratio < 0 || p->ratio >= 1)
    return ec_fail(cx, n, "ratio %g is outside [0, 1)", (double)p->ratio);
  const ec_tensor *x = ec_in(cx, n, 0);
  st = ec_set_output_like(cx, n, 0, x);
  if (!st) st = ec_set_output(cx, n, 1, cx->opset >= 10 ? ECK_BOOL : x->dtype, x->rank, x->dims);
  return st;
}

/* Checks scale and zero point of a (de)quantize node: scalars, or (opset 13+) 1-D along axis. */
static ec_status quant_params(ec_ctx *cx, ec_node *n, const int32_t *zp_dtypes) {
  const ec_tensor *x = ec_in(cx, n, 0), *s = ec_in(cx, n, 1), *z = ec_in(cx, n, 2);
  ec_status st = ec_check_input(cx, n, 1, dt_f32);
  if (!st && z) st = ec_check_input(cx, n, 2, zp_dtypes);
  if (st) return st;
  eck_quant_params *p = ec_params(cx, n, sizeof *p);
  if (!p) return EC_ERR_INTERNAL;
  p->axis = -1;
  int64_t axis = 1;
  if (cx->opset >= 13) {
    st = ec_attr_int(cx, n, "axis", 1, &axis);
    if (st) return st;
  }
  bool per_axis = s->rank == 1 && s->dims[0] != 1;
  if (!per_axis && ec_tensor_numel(s) != 1)
    return ec_fail(cx, n, "scale '%s' must be a scalar%s", s->name,
                   cx->opset >= 13 ? " or a 1-D tensor along 'axis'" : "");
  if (per_axis) {
    if (cx->opset < 13)
      return ec_fail(cx, n, "per-axis scale '%s' needs opset 13 (model has %lld)", s->name,
                     (long long)cx->opset);
    int ax;
    st = ec_norm_axis(cx, n, axis, x->rank, &ax);
    if (st) return st;
    if (x->dims[ax] != s->dims[0])
      return ec_fail(cx, n, "scale '%s' has %lld values but axis %d of the input has %lld",
                     s->name, (long long)s->dims[0], ax, (long long)x->dims[ax]);
    p->axis = ax;
  }
  if (z) {
    bool same = z->rank == s->rank || (ec_tensor_numel(z) == 1 && ec_tensor_numel(s) == 1);
    for (int k = 0; same && k < z->rank && z->rank == s->rank; k++)
      same = z->dims[k] == s->dims[k];
    if (!same)
      return ec_fail(cx, n, "zero point '%s' and scale '%s' have different shapes", z->name,
                     s->name);
  }
  return EC_OK;
}

ec_status ec_infer_quantize_linear(ec_ctx *cx, ec_node *n) {
  ec_status st = ec_check_arity(cx, n, 2, 3, 1, 1);
  if (!st) st = ec_check_input(cx, n, 0, dt_qin);
  if (!st) st = quant_params(cx, n, dt_q8);
  if (st) return st;
  const ec_tensor *x = ec_in(cx, n, 0), *z = ec_in(cx, n, 2);
  return ec_set_output(cx, n, 0, z ? z->dtype : ECK_UINT8, x->rank, x->dims);
}

ec_status ec_infer_dequantize_linear(ec_ctx *cx, ec_node *n) {
  ec_status st = ec_check_arity(cx, n, 2, 3, 1, 1);
  if (!st) st = ec_check_input(cx, n, 0, dt_dq);
  if (st) return st;
  const ec_tensor *x = ec_in(cx, n, 0), *z = ec_in(cx, n, 2);
  if (z && z->dtype != x->dtype)
    return ec_fail(cx, n, "zero point '%s' is %s but the input is %s", z->name,
                   ec_dtype_name(z->dtype), ec_dtype_name(x->dtype));
  st = quant_params(cx, n, dt_dq);
  if (st) return st;
  return ec_set_output(cx, n, 0, ECK_FLOAT, x->rank, x->dims);
}

/* QLinearAdd and QLinearMul: numpy broadcasting of A (input 0) and B (input 3), all of one 8-bit
 * type, per-tensor scales and zero points (ORT's contrib ops take no others). */
ec_status ec_infer_qlinear_binary(ec_ctx *cx, ec_node *n) {
  ec_status st = ec_check_arity(cx, n, 7, 8, 1, 1);
  if (!st) st = ec_check_input(cx, n, 0, dt_q8);
  if (!st) st = ec_check_input(cx, n, 3, dt_q8);
  if (st) return st;
  const ec_tensor *a = ec_in(cx, n, 0), *b = ec_in(cx, n, 3);
  if (a->dtype != b->dtype)
    return ec_fail(cx, n, "A is %s but B is %s", ec_dtype_name(a->dtype), ec_dtype_name(b->dtype));
  static const int ks[] = {1, 2, 4, 5, 6, 7};
  for (int k = 0; k < 6; k++) {
    const ec_tensor *t = ec_in(cx, n, ks[k]);
    bool scale = ks[k] == 1 || ks[k] == 4 || ks[k] == 6;
    if (!t) {
      if (scale) return ec_fail(cx, n, "input %d (a scale) is missing", ks[k]);
      continue;
    }
    if (ec_tensor_numel(t) != 1)
      return ec_fail(cx, n, "input %d '%s' must hold one value (per-tensor quantization)", ks[k], t->name);
    if (t->dtype != (scale ? ECK_FLOAT : a->dtype))
      return ec_fail(cx, n, "input %d '%s' is %s, expected %s", ks[k], t->name, ec_dtype_name(t->dtype),
                     ec_dtype_name(scale ? ECK_FLOAT : a->dtype));
  }
  const ec_tensor *ts[2] = {a, b};
  int rank;
  int64_t dims[EC_MAX_RANK];
  if ((st = ec_broadcast(cx, n, ts, 2, &rank, dims))) return st;
  return ec_set_output(cx, n, 0, a->dtype, rank, dims);
}

ec_status ec_infer_dynamic_quantize_linear(ec_ctx *cx, ec_node *n) {
  ec_status st = ec_check_arity(cx, n, 1, 1, 3, 3);
  if (!st) st = ec_check_input(cx, n, 0, dt_f32);
  if (st) return st;
  const ec_tensor *x = ec_in(cx, n, 0);
  st = ec_set_output(cx, n, 0, ECK_UINT8, x->rank, x->dims);
  if (!st) st = ec_set_output(cx, n, 1, ECK_FLOAT, 0, NULL);
  if (!st) st = ec_set_output(cx, n, 2, ECK_UINT8, 0, NULL);
  return st;
}

/* divide, round, add, clamp per element (DynamicQuantizeLinear also scans for min and max) */
void ec_cost_quantize(const ec_graph *g, const ec_node *n, ec_cost *c) {
  ec_cost_elementwise(g, n, c);
  double elems = n->inputs[0] >= 0 ? (double)ec_tensor_numel(&g->tensors[n->inputs[0]]) : 0;
  c->flops = elems * (n->op == EC_OP_DynamicQuantizeLinear ? 6 : n->op == EC_OP_DequantizeLinear ? 2 : 4);
}

void ec_print_dropout(ec_buf *b, const ec_node *n) {
  const eck_dropout_params *p = n->params;
  ec_buf_printf(b, "{ ");
  ec_ew_print_float(b, "ratio", p->ratio, " }");
}

void ec_print_quant(ec_buf *b, const ec_node *n) {
  const eck_quant_params *p = n->params;
  ec_buf_printf(b, "{ .axis = %d }", (int)p->axis);
}
