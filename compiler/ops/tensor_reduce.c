/* tensor_reduce.c — inference for reductions (ReduceSum, ReduceMean, ... ReduceLogSumExp),
 * ArgMax/ArgMin and CumSum. */
#include <stdlib.h>
#include <string.h>

#include "tensor.h"

static const struct {
  const char *name;
  int fn;
} reduce_ops[] = {
    {"ReduceSum", ECK_REDUCE_SUM},       {"ReduceMean", ECK_REDUCE_MEAN},
    {"ReduceMax", ECK_REDUCE_MAX},       {"ReduceMin", ECK_REDUCE_MIN},
    {"ReduceProd", ECK_REDUCE_PROD},     {"ReduceL1", ECK_REDUCE_L1},
    {"ReduceL2", ECK_REDUCE_L2},         {"ReduceLogSum", ECK_REDUCE_LOGSUM},
    {"ReduceLogSumExp", ECK_REDUCE_LOGSUMEXP}, {"ReduceSumSquare", ECK_REDUCE_SUMSQUARE},
};

ec_status ec_infer_reduce(ec_ctx *cx, ec_node *n) {
  int fn = -1;
  for (size_t k = 0; k < sizeof reduce_ops / sizeof reduce_ops[0]; k++)
    if (strcmp(n->op_type, reduce_ops[k].name) == 0) fn = reduce_ops[k].fn;
  if (fn < 0) return ec_fail(cx, n, "internal error: not a reduction");
  /* axes became an input in opset 13 for ReduceSum, in opset 18 for the others */
  bool axes_input = cx->opset >= (fn == ECK_REDUCE_SUM ? 13 : 18);
  ec_status st = ec_check_arity(cx, n, 1, axes_input ? 2 : 1, 1, 1);
  if (!st) st = ec_check_input(cx, n, 0, ec_dt_numeric);
  if (st) return st;
  const ec_tensor *x = ec_in(cx, n, 0);
  int64_t keepdims, noop, *axes = NULL, count = -1;
  if ((st = ec_attr_bool(cx, n, "keepdims", 1, &keepdims)) ||
      (st = ec_attr_bool(cx, n, "noop_with_empty_axes", 0, &noop)))
    return st;
  if (axes_input) {
    if (ec_in(cx, n, 1) && (st = ec_in_const_ints(cx, n, 1, &axes, &count))) return st;
  } else {
    const int64_t *a;
    int c;
    if ((st = ec_attr_ints(cx, n, "axes", &a, &c))) return st;
    if (c >= 0) {
      axes = malloc(sizeof(int64_t) * (size_t)(c ? c : 1));
      if (!axes) return EC_ERR_INTERNAL;
      if (c) memcpy(axes, a, sizeof(int64_t) * (size_t)c);
      count = c;
    }
  }
  uint32_t mask = 0;
  if (count <= 0) {
    if (!noop) mask = x->rank ? (uint32_t)((1u << x->rank) - 1) : 0;
  } else {
    for (int64_t k = 0; k < count && !st; k++) {
      int a;
      if (!(st = ec_norm_axis(cx, n, axes[k], x->rank, &a))) mask |= 1u << a;
    }
  }
  free(axes);
  if (st) return st;
  eck_reduce_params *p = ec_params(cx, n, sizeof *p);
  if (!p) return EC_ERR_INTERNAL;
  p->fn = fn;
  p->axes = mask;
  int64_t dims[EC_MAX_RANK];
  int r = 0;
  for (int k = 0; k < x->rank; k++) {
    if (!(mask & (1u << k))) dims[r++] = x->dims[k];
    else if (keepdims) dims[r++] = 1;
    if ((mask & (1u << k)) && x->dims[k] == 0 && (fn == ECK_REDUCE_MAX || fn == ECK_REDUCE_MIN) &&
        !ec_dtype_in(x->dtype, ec_dt_float))
      return ec_fail(cx, n, "cannot take the %s of an empty axis of integers",
                     fn == ECK_REDUCE_MAX ? "maximum" : "minimum");
  }
  return ec_set_output(cx, n, 0, x->dtype, r, dims);
}

void ec_cost_reduce(const ec_graph *g, const ec_node *n, ec_cost *c) {
  ec_cost_elementwise(g, n, c);
  c->flops = (double)ec_tensor_numel(&g->tensors[n->inputs[0]]);
}

void ec_print_reduce(ec_buf *b, const ec_node *n) {
  const eck_reduce_params *p = n->params;
  static const char *const fns[] = {"ECK_REDUCE_SUM", "ECK_REDUCE_MEAN", "ECK_REDUCE_MAX", "ECK_REDUCE_MIN",
                                    "ECK_REDUCE_PROD", "ECK_REDUCE_L1", "ECK_REDUCE_L2", "ECK_REDUCE_LOGSUM",
                                    "ECK_REDUCE_LOGSUMEXP", "ECK_REDUCE_SUMSQUARE"};
  ec_buf_printf(b, "{ .fn = %s, .axes = 0x%xu }", p->fn >= 0 && p->fn <= ECK_REDUCE_SUMSQUARE ? fns[p->fn] : "0",
                (unsigned)p->axes);
}

ec_status ec_infer_arg(ec_ctx *cx, ec_node *n) {
  ec_status st = ec_check_arity(cx, n, 1, 1, 1, 1);
  if (!st) st = ec_check_input(cx, n, 0, ec_dt_numeric);
  if (st) return st;
  const ec_tensor *x = ec_in(cx, n, 0);
  int64_t axis, keepdims, last;
  int a;
  if ((st = ec_attr_int(cx, n, "axis", 0, &axis)) ||
      (st = ec_attr_bool(cx, n, "keepdims", 1, &keepdims)) ||
      (st = ec_attr_bool(cx, n, "select_last_index", 0, &last)) ||
      (st = ec_norm_axis(cx, n, axis, x->rank, &a)))
    return st;
  if (x->dims[a] == 0 && ec_tensor_numel(x) == 0 && x->rank > 1)
    return ec_fail(cx, n, "cannot take the arg%s of an empty axis",
                   strcmp(n->op_type, "ArgMin") == 0 ? "min" : "max");
  eck_arg_params *p = ec_params(cx, n, sizeof *p);
  if (!p) return EC_ERR_INTERNAL;
  p->axis = a;
  p->is_min = strcmp(n->op_type, "ArgMin") == 0;
  p->select_last = last != 0;
  int64_t dims[EC_MAX_RANK];
  int r = 0;
  for (int k = 0; k < x->rank; k++)
    if (k != a) dims[r++] = x->dims[k];
    else if (keepdims) dims[r++] = 1;
  return ec_set_output(cx, n, 0, ECK_INT64, r, dims);
}

void ec_print_arg(ec_buf *b, const ec_node *n) {
  const eck_arg_params *p = n->params;
  ec_buf_printf(b, "{ .axis = %d, .is_min = %d, .select_last = %d }", (int)p->axis,
                (int)p->is_min, (int)p->select_last);
}

ec_status ec_infer_cumsum(ec_ctx *cx, ec_node *n) {
  ec_status st = ec_check_arity(cx, n, 2, 2, 1, 1);
  if (!st) st = ec_check_input(cx, n, 0, ec_dt_numeric);
  if (st) return st;
  const ec_tensor *x = ec_in(cx, n, 0), *ax = ec_in(cx, n, 1);
  int64_t exclusive, reverse, *axis, c;
  int a = ECK_AXIS_AT_RUN_TIME;
  if ((st = ec_attr_int(cx, n, "exclusive", 0, &exclusive)) ||
      (st = ec_attr_int(cx, n, "reverse", 0, &reverse)) || (st = ec_check_input(cx, n, 1, ec_dt_index)))
    return st;
  if (ec_tensor_numel(ax) != 1 || ax->rank > 1) return ec_fail(cx, n, "axis must hold one value");
  /* The output is shaped like x whatever the axis: one fed at run time is read by the kernel. */
  if (ec_in_is_const(cx, n, 1)) {
    if ((st = ec_in_const_ints(cx, n, 1, &axis, &c))) return st;
    st = ec_norm_axis(cx, n, axis[0], x->rank, &a);
    free(axis);
    if (st) return st;
  }
  eck_cumsum_params *p = ec_params(cx, n, sizeof *p);
  if (!p) return EC_ERR_INTERNAL;
  p->axis = a;
  p->exclusive = exclusive != 0;
  p->reverse = reverse != 0;
  return ec_set_output_like(cx, n, 0, x);
}

void ec_print_cumsum(ec_buf *b, const ec_node *n) {
  const eck_cumsum_params *p = n->params;
  if (p->axis == ECK_AXIS_AT_RUN_TIME)
    ec_buf_printf(b, "{ .axis = ECK_AXIS_AT_RUN_TIME, .exclusive = %d, .reverse = %d }", (int)p->exclusive,
                  (int)p->reverse);
  else
    ec_buf_printf(b, "{ .axis = %d, .exclusive = %d, .reverse = %d }", (int)p->axis, (int)p->exclusive,
                  (int)p->reverse);
}
