/* nn_conv.c — shape inference, cost and params of the convolutions: Conv, ConvTranspose,
 * ConvInteger and QLinearConv (1-D to 3-D, groups, dilations, auto_pad). */
#include <string.h>

#include "nn.h"

static const int32_t dt_conv[] = {ECK_FLOAT, ECK_DOUBLE, 0};
static const int32_t dt_q8[] = {ECK_UINT8, ECK_INT8, 0};

/* Checks X [N, C, sp...] against W [M, C/group, k...] (transpose: W [C, M/group, k...]) and
 * the optional bias, reads the window, and sets the output shape. */
static ec_status conv_common(ec_ctx *cx, ec_node *n, int xi, int wi, int bi, bool transpose,
                             int32_t out_dtype) {
  const ec_tensor *x = ec_in(cx, n, xi), *w = ec_in(cx, n, wi);
  int nsp;
  ec_status st = ec_nn_check_spatial(cx, n, x, &nsp);
  if (st) return st;
  if (w->rank != x->rank)
    return ec_fail(cx, n, "weights '%s' have rank %d, input '%s' has rank %d", w->name, w->rank,
                   x->name, x->rank);
  int64_t group;
  if ((st = ec_attr_int(cx, n, "group", 1, &group))) return st;
  if (group < 1 || group > x->dims[1] || x->dims[1] % group)
    return ec_fail(cx, n, "group = %lld does not divide the %lld input channels",
                   (long long)group, (long long)x->dims[1]);
  int64_t M;
  if (!transpose) {
    M = w->dims[0];
    if (w->dims[1] * group != x->dims[1])
      return ec_fail(cx, n, "weights '%s' have %lld input channels per group, input '%s' has "
                     "%lld channels in %lld group(s)", w->name, (long long)w->dims[1], x->name,
                     (long long)x->dims[1], (long long)group);
    if (M % group)
      return ec_fail(cx, n, "group = %lld does not divide the %lld output channels",
                     (long long)group, (long long)M);
  } else {
    if (w->dims[0] != x->dims[1])
      return ec_fail(cx, n, "weights '%s' have %lld input channels, input '%s' has %lld",
                     w->name, (long long)w->dims[0], x->name, (long long)x->dims[1]);
    M = w->dims[1] * group;
  }
  if (bi >= 0 && ec_in(cx, n, bi)) {
    const ec_tensor *b = ec_in(cx, n, bi);
    if (b->rank != 1 || b->dims[0] != M)
      return ec_fail(cx, n, "bias '%s' must have shape [%lld]", b->name, (long long)M);
  }
  ec_window win;
  if ((st = ec_nn_window(cx, n, nsp, w->dims + 2, true, &win))) return st;
  int64_t od[EC_MAX_RANK];
  od[0] = x->dims[0];
  od[1] = M;
  if (!transpose) {
    if ((st = ec_nn_window_out(cx, n, &win, x->dims + 2, false, od + 2))) return st;
  } else {
    int64_t opad[ECK_SP] = {0}, oshape[EC_MAX_RANK];
    const int64_t *v;
    int c;
    if ((st = ec_attr_ints(cx, n, "output_padding", &v, &c))) return st;
    if (c >= 0 && c != nsp)
      return ec_fail(cx, n, "attribute 'output_padding' has %d values, expected %d", c, nsp);
    for (int k = 0; k < c; k++) {
      if (v[k] < 0 || (v[k] >= win.strides[k] && v[k] >= win.dilations[k]))
        return ec_fail(cx, n, "output_padding[%d] = %lld must be smaller than the stride or the "
                       "dilation", k, (long long)v[k]);
      opad[k] = v[k];
    }
    if ((st = ec_attr_ints(cx, n, "output_shape", &v, &c))) return st;
    if (c >= 0 && c != nsp && c != nsp + 2)
      return ec_fail(cx, n, "attribute 'output_shape' has %d values, expected %d", c, nsp);
    for (int k = 0; k < nsp; k++) {
      const int64_t in = x->dims[2 + k], s = win.strides[k];
      const int64_t ek = (win.kernel[k] - 1) * win.dilations[k] + 1;
      const int64_t full = s * (in - 1) + opad[k] + ek;
      if (c >= 0 || win.auto_pad == EC_PAD_SAME_UPPER || win.auto_pad == EC_PAD_SAME_LOWER) {
        oshape[k] = c >= 0 ? v[c - nsp + k] : in * s;
        int64_t total = full - oshape[k];
        /* An output_shape past the full size grows the end, as output_padding would. */
        if (total < 0) {
          win.pad_begin[k] = 0;
          win.pad_end[k] = total;
          od[2 + k] = oshape[k];
          continue;
        }
        int64_t half = total / 2;
        /* SAME_UPPER puts the odd pad at the end; otherwise it goes first. */
        win.pad_begin[k] = win.auto_pad == EC_PAD_SAME_UPPER ? half : total - half;
        win.pad_end[k] = total - win.pad_begin[k];
      } else if (win.auto_pad == EC_PAD_VALID) {
        win.pad_begin[k] = win.pad_end[k] = 0;
      }
      od[2 + k] = full - win.pad_begin[k] - win.pad_end[k];
      if (od[2 + k] <= 0)
        return ec_fail(cx, n, "output spatial dim %d would be empty (%lld)", k,
                       (long long)od[2 + k]);
    }
  }
  eck_conv_params *p = ec_params(cx, n, sizeof *p);
  if (!p) return EC_ERR_INTERNAL;
  ec_nn_conv_params(&win, (int32_t)group, p);
  return ec_set_output(cx, n, 0, out_dtype, x->rank, od);
}

ec_status ec_infer_conv(ec_ctx *cx, ec_node *n) {
  ec_status st = ec_check_arity(cx, n, 2, 3, 1, 1);
  if (!st) st = ec_check_input(cx, n, 0, dt_conv);
  if (!st) st = ec_check_input(cx, n, 1, dt_conv);
  if (!st && ec_in(cx, n, 2)) st = ec_check_input(cx, n, 2, dt_conv);
  if (st) return st;
  const ec_tensor *x = ec_in(cx, n, 0), *w = ec_in(cx, n, 1), *b = ec_in(cx, n, 2);
  if (w->dtype != x->dtype || (b && b->dtype != x->dtype))
    return ec_fail(cx, n, "inputs must share one dtype (input %s, weights %s)",
                   ec_dtype_name(x->dtype), ec_dtype_name(w->dtype));
  return conv_common(cx, n, 0, 1, 2, false, x->dtype);
}

ec_status ec_infer_conv_transpose(ec_ctx *cx, ec_node *n) {
  ec_status st = ec_check_arity(cx, n, 2, 3, 1, 1);
  if (!st) st = ec_check_input(cx, n, 0, dt_conv);
  if (!st) st = ec_check_input(cx, n, 1, dt_conv);
  if (!st && ec_in(cx, n, 2)) st = ec_check_input(cx, n, 2, dt_conv);
  if (st) return st;
  const ec_tensor *x = ec_in(cx, n, 0), *w = ec_in(cx, n, 1), *b = ec_in(cx, n, 2);
  if (w->dtype != x->dtype || (b && b->dtype != x->dtype))
    return ec_fail(cx, n, "inputs must share one dtype (input %s, weights %s)",
                   ec_dtype_name(x->dtype), ec_dtype_name(w->dtype));
  return conv_common(cx, n, 0, 1, 2, true, x->dtype);
}

/* A zero point (or scale) must be a scalar or a 1-D tensor of `count` values. */
static ec_status check_quant(ec_ctx *cx, const ec_node *n, int i, const int32_t *dts,
                             int64_t count, const char *what) {
  const ec_tensor *t = ec_in(cx, n, i);
  if (!t) return EC_OK;
  ec_status st = ec_check_input(cx, n, i, dts);
  if (st) return st;
  int64_t e = ec_tensor_numel(t);
  if (t->rank > 1 || (e != 1 && e != count))
    return ec_fail(cx, n, "%s '%s' must be a scalar or have %lld values", what, t->name,
                   (long long)count);
  return EC_OK;
}

ec_status ec_infer_conv_integer(ec_ctx *cx, ec_node *n) {
  ec_status st = ec_check_arity(cx, n, 2, 4, 1, 1);
  if (!st) st = ec_check_input(cx, n, 0, dt_q8);
  if (!st) st = ec_check_input(cx, n, 1, dt_q8);
  if (st) return st;
  const ec_tensor *w = ec_in(cx, n, 1);
  if ((st = check_quant(cx, n, 2, dt_q8, 1, "x_zero_point"))) return st;
  if ((st = check_quant(cx, n, 3, dt_q8, w->dims[0], "w_zero_point"))) return st;
  return conv_common(cx, n, 0, 1, -1, false, ECK_INT32);
}

ec_status ec_infer_qlinear_conv(ec_ctx *cx, ec_node *n) {
  static const int32_t dt_f[] = {ECK_FLOAT, 0}, dt_i32[] = {ECK_INT32, 0};
  ec_status st = ec_check_arity(cx, n, 8, 9, 1, 1);
  if (!st) st = ec_check_input(cx, n, 0, dt_q8);
  if (!st) st = ec_check_input(cx, n, 3, dt_q8);
  if (st) return st;
  const ec_tensor *w = ec_in(cx, n, 3), *yzp = ec_in(cx, n, 7);
  int64_t M = w->dims[0];
  if ((st = check_quant(cx, n, 1, dt_f, 1, "x_scale"))) return st;
  if ((st = check_quant(cx, n, 2, dt_q8, 1, "x_zero_point"))) return st;
  if ((st = check_quant(cx, n, 4, dt_f, M, "w_scale"))) return st;
  if ((st = check_quant(cx, n, 5, dt_q8, M, "w_zero_point"))) return st;
  if ((st = check_quant(cx, n, 6, dt_f, 1, "y_scale"))) return st;
  if ((st = check_quant(cx, n, 7, dt_q8, 1, "y_zero_point"))) return st;
  if (ec_in(cx, n, 8) && (st = ec_check_input(cx, n, 8, dt_i32))) return st;
  return conv_common(cx, n, 0, 3, 8, false, yzp->dtype);
}

/* Multiply-adds: N * M * prod(out spatial) * (C / group) * prod(kernel). */
void ec_cost_conv(const ec_graph *g, const ec_node *n, ec_cost *c) {
  const eck_conv_params *p = n->params;
  int wi = strcmp(n->op_type, "QLinearConv") == 0 ? 3 : 1;
  const ec_tensor *y = &g->tensors[n->outputs[0]], *w = &g->tensors[n->inputs[wi]];
  double per_out = 1;
  for (int k = 1; k < w->rank; k++) per_out *= (double)w->dims[k]; /* C/group x kernel */
  double macs = (double)ec_tensor_numel(y) * per_out;
  (void)p;
  c->macs = macs;
  c->flops = 2 * macs;
  c->bytes = ec_nn_bytes(g, n);
}

/* Every input element meets every weight of its group: N * C * prod(in spatial) * (M/group)
 * * prod(kernel). */
void ec_cost_conv_transpose(const ec_graph *g, const ec_node *n, ec_cost *c) {
  const ec_tensor *x = &g->tensors[n->inputs[0]], *w = &g->tensors[n->inputs[1]];
  double per_in = 1;
  for (int k = 1; k < w->rank; k++) per_in *= (double)w->dims[k];
  c->macs = (double)ec_tensor_numel(x) * per_in;
  c->flops = 2 * c->macs;
  c->bytes = ec_nn_bytes(g, n);
}

void ec_print_conv(ec_buf *b, const ec_node *n) {
  const eck_conv_params *p = n->params;
  ec_buf_printf(b, "{ .nsp = %d, .group = %d, .kernel = ", (int)p->nsp, (int)p->group);
  ec_nn_print_i64s(b, p->kernel, ECK_SP);
  ec_buf_printf(b, ", .strides = ");
  ec_nn_print_i64s(b, p->strides, ECK_SP);
  ec_buf_printf(b, ", .dilations = ");
  ec_nn_print_i64s(b, p->dilations, ECK_SP);
  ec_buf_printf(b, ", .pad_begin = ");
  ec_nn_print_i64s(b, p->pad_begin, ECK_SP);
  ec_buf_printf(b, ", .pad_end = ");
  ec_nn_print_i64s(b, p->pad_end, ECK_SP);
  ec_buf_printf(b, " }");
}
