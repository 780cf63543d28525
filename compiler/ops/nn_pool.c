/* nn_pool.c — shape inference, cost and params of pooling: MaxPool (optional Indices),
 * AveragePool, LpPool, GlobalMax/Average/LpPool and MaxUnpool. */
#include <stdlib.h>
#include <string.h>

#include "nn.h"

static const int32_t dt_pool[] = {ECK_FLOAT, ECK_DOUBLE, ECK_FLOAT16, ECK_BFLOAT16, 0};
static const int32_t dt_maxpool[] = {ECK_FLOAT, ECK_DOUBLE, ECK_FLOAT16, ECK_BFLOAT16,
                                     ECK_INT8,  ECK_UINT8,  0};

static ec_status pool_common(ec_ctx *cx, ec_node *n, int kind, const int32_t *dts) {
  ec_status st = ec_check_arity(cx, n, 1, 1, 1, kind == ECK_POOL_MAX ? 2 : 1);
  if (!st) st = ec_check_input(cx, n, 0, dts);
  if (st) return st;
  const ec_tensor *x = ec_in(cx, n, 0);
  int nsp;
  if ((st = ec_nn_check_spatial(cx, n, x, &nsp))) return st;
  ec_window w;
  if ((st = ec_nn_window(cx, n, nsp, NULL, kind != ECK_POOL_LP, &w))) return st;
  int64_t ceil_mode = 0, cip = 0, so = 0, pnorm = 2;
  if (kind != ECK_POOL_LP && (st = ec_attr_int(cx, n, "ceil_mode", 0, &ceil_mode))) return st;
  if (kind == ECK_POOL_AVG && (st = ec_attr_int(cx, n, "count_include_pad", 0, &cip))) return st;
  if (kind == ECK_POOL_MAX && (st = ec_attr_int(cx, n, "storage_order", 0, &so))) return st;
  if (kind == ECK_POOL_LP) {
    ec_attr *a = ec_attr_get(n, "p");
    if (a && a->type == EC_ATTR_INT)
      pnorm = a->i;
    else if (a && a->type == EC_ATTR_FLOAT) /* LpPool-1 had a float p */
      pnorm = (int64_t)a->f;
    else if (a)
      return ec_fail(cx, n, "attribute 'p' must be an int");
    if (pnorm < 1) return ec_fail(cx, n, "attribute 'p' = %lld must be >= 1", (long long)pnorm);
  }
  if (so != 0 && so != 1)
    return ec_fail(cx, n, "attribute 'storage_order' must be 0 or 1, is %lld", (long long)so);
  int64_t od[EC_MAX_RANK];
  od[0] = x->dims[0];
  od[1] = x->dims[1];
  if ((st = ec_nn_window_out(cx, n, &w, x->dims + 2, ceil_mode != 0, od + 2))) return st;
  eck_pool_params *p = ec_params(cx, n, sizeof *p);
  if (!p) return EC_ERR_INTERNAL;
  ec_nn_pool_params(&w, p);
  p->kind = kind;
  p->count_include_pad = cip != 0;
  p->storage_order = (int32_t)so;
  p->p = (int32_t)pnorm;
  if ((st = ec_set_output(cx, n, 0, x->dtype, x->rank, od))) return st;
  return ec_set_output(cx, n, 1, ECK_INT64, x->rank, od);
}

ec_status ec_infer_maxpool(ec_ctx *cx, ec_node *n) {
  return pool_common(cx, n, ECK_POOL_MAX, dt_maxpool);
}
ec_status ec_infer_avgpool(ec_ctx *cx, ec_node *n) {
  return pool_common(cx, n, ECK_POOL_AVG, dt_pool);
}
ec_status ec_infer_lppool(ec_ctx *cx, ec_node *n) {
  return pool_common(cx, n, ECK_POOL_LP, dt_pool);
}

static ec_status global_common(ec_ctx *cx, ec_node *n, int kind) {
  ec_status st = ec_check_arity(cx, n, 1, 1, 1, 1);
  if (!st) st = ec_check_input(cx, n, 0, dt_pool);
  if (st) return st;
  const ec_tensor *x = ec_in(cx, n, 0);
  if (x->rank < 3)
    return ec_fail(cx, n, "input '%s' has rank %d, expected N x C x spatial dims (rank >= 3)",
                   x->name, x->rank);
  int64_t pnorm = 2;
  if (kind == ECK_POOL_LP) {
    ec_attr *a = ec_attr_get(n, "p");
    if (a && a->type == EC_ATTR_INT)
      pnorm = a->i;
    else if (a && a->type == EC_ATTR_FLOAT)
      pnorm = (int64_t)a->f;
    else if (a)
      return ec_fail(cx, n, "attribute 'p' must be an int");
    if (pnorm < 1) return ec_fail(cx, n, "attribute 'p' = %lld must be >= 1", (long long)pnorm);
  }
  int64_t od[EC_MAX_RANK];
  for (int k = 0; k < x->rank; k++) od[k] = k < 2 ? x->dims[k] : 1;
  eck_pool_params *p = ec_params(cx, n, sizeof *p);
  if (!p) return EC_ERR_INTERNAL;
  p->kind = kind;
  p->nsp = x->rank - 2;
  p->p = (int32_t)pnorm;
  return ec_set_output(cx, n, 0, x->dtype, x->rank, od);
}

ec_status ec_infer_global_maxpool(ec_ctx *cx, ec_node *n) {
  return global_common(cx, n, ECK_POOL_MAX);
}
ec_status ec_infer_global_avgpool(ec_ctx *cx, ec_node *n) {
  return global_common(cx, n, ECK_POOL_AVG);
}
ec_status ec_infer_global_lppool(ec_ctx *cx, ec_node *n) {
  return global_common(cx, n, ECK_POOL_LP);
}

ec_status ec_infer_maxunpool(ec_ctx *cx, ec_node *n) {
  ec_status st = ec_check_arity(cx, n, 2, 3, 1, 1);
  if (!st) st = ec_check_input(cx, n, 0, dt_pool);
  if (!st) st = ec_check_input(cx, n, 1, (const int32_t[]){ECK_INT64, 0});
  if (st) return st;
  const ec_tensor *x = ec_in(cx, n, 0), *ind = ec_in(cx, n, 1);
  int nsp;
  if ((st = ec_nn_check_spatial(cx, n, x, &nsp))) return st;
  if (ind->rank != x->rank)
    return ec_fail(cx, n, "indices '%s' must have the shape of input '%s'", ind->name, x->name);
  for (int k = 0; k < x->rank; k++)
    if (ind->dims[k] != x->dims[k])
      return ec_fail(cx, n, "indices '%s' must have the shape of input '%s'", ind->name,
                     x->name);
  ec_window w;
  if ((st = ec_nn_window(cx, n, nsp, NULL, false, &w))) return st;
  if (w.auto_pad != EC_PAD_NOTSET) return ec_fail(cx, n, "MaxUnpool takes no 'auto_pad'");
  int64_t od[EC_MAX_RANK] = {0}, dflt[EC_MAX_RANK] = {0};
  od[0] = dflt[0] = x->dims[0];
  od[1] = dflt[1] = x->dims[1];
  for (int k = 0; k < nsp; k++) {
    dflt[2 + k] = (x->dims[2 + k] - 1) * w.strides[k] + w.kernel[k] - w.pad_begin[k] - w.pad_end[k];
    if (dflt[2 + k] <= 0) return ec_fail(cx, n, "output spatial dim %d would be empty", k);
  }
  if (ec_in(cx, n, 2)) {
    int64_t *v, c;
    if ((st = ec_in_const_ints(cx, n, 2, &v, &c))) return st;
    if (c != x->rank) {
      free(v);
      return ec_fail(cx, n, "output_shape has %lld values, expected %d", (long long)c, x->rank);
    }
    for (int k = 0; k < x->rank; k++) od[k] = v[k];
    free(v);
    if (od[0] != x->dims[0] || od[1] != x->dims[1])
      return ec_fail(cx, n, "output_shape must keep the batch and channel dims of the input");
    for (int k = 2; k < x->rank; k++)
      if (od[k] < dflt[k])
        return ec_fail(cx, n, "output_shape[%d] = %lld is smaller than the unpooled size %lld",
                       k, (long long)od[k], (long long)dflt[k]);
  } else {
    for (int k = 2; k < x->rank; k++) od[k] = dflt[k];
  }
  eck_maxunpool_params *p = ec_params(cx, n, sizeof *p);
  if (!p) return EC_ERR_INTERNAL;
  p->rank = x->rank;
  for (int k = 0; k < x->rank; k++) p->index_dims[k] = dflt[k];
  return ec_set_output(cx, n, 0, x->dtype, x->rank, od);
}

void ec_cost_pool(const ec_graph *g, const ec_node *n, ec_cost *c) {
  const eck_pool_params *p = n->params;
  const ec_tensor *x = &g->tensors[n->inputs[0]], *y = &g->tensors[n->outputs[0]];
  double win = 1;
  if (strncmp(n->op_type, "Global", 6) == 0) {
    int64_t nc = x->dims[0] * x->dims[1];
    win = nc > 0 ? (double)ec_tensor_numel(x) / (double)nc : 0;
  } else {
    for (int k = 0; k < ECK_SP; k++) win *= (double)p->kernel[k];
  }
  c->flops = (double)ec_tensor_numel(y) * win;
  c->macs = 0;
  c->bytes = ec_nn_bytes(g, n);
}

/* Only the fields of the pool's kind (codegen leaves out the zero ones): count_include_pad is
 * AveragePool's, storage_order MaxPool's, p LpPool's; dilations only when one is not 1 (the
 * kernel reads a zero dilation as 1). */
void ec_print_pool(ec_buf *b, const ec_node *n) {
  static const char *const kinds[] = {"ECK_POOL_MAX", "ECK_POOL_AVG", "ECK_POOL_LP"};
  const eck_pool_params *p = n->params;
  ec_buf_printf(b, "{ .kind = %s, .nsp = %d", p->kind >= 0 && p->kind <= 2 ? kinds[p->kind] : "0",
                (int)p->nsp);
  if (p->kind == ECK_POOL_AVG) ec_buf_printf(b, ", .count_include_pad = %d", (int)p->count_include_pad);
  if (p->kind == ECK_POOL_MAX) ec_buf_printf(b, ", .storage_order = %d", (int)p->storage_order);
  if (p->kind == ECK_POOL_LP) ec_buf_printf(b, ", .p = %d", (int)p->p);
  ec_buf_printf(b, ", .kernel = ");
  ec_nn_print_i64s(b, p->kernel, ECK_SP);
  ec_buf_printf(b, ", .strides = ");
  ec_nn_print_i64s(b, p->strides, ECK_SP);
  if (p->dilations[0] != 1 || p->dilations[1] != 1 || p->dilations[2] != 1) {
    ec_buf_printf(b, ", .dilations = ");
    ec_nn_print_i64s(b, p->dilations, ECK_SP);
  }
  ec_buf_printf(b, ", .pad_begin = ");
  ec_nn_print_i64s(b, p->pad_begin, ECK_SP);
  ec_buf_printf(b, ", .pad_end = ");
  ec_nn_print_i64s(b, p->pad_end, ECK_SP);
  ec_buf_printf(b, " }");
}

void ec_print_maxunpool(ec_buf *b, const ec_node *n) {
  const eck_maxunpool_params *p = n->params;
  ec_buf_printf(b, "{ .rank = %d, .index_dims = ", (int)p->rank);
  ec_nn_print_i64s(b, p->index_dims, p->rank);
  ec_buf_printf(b, " }");
}
