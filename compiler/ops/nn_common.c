/* nn_common.c — what the neural-network ops share: reading and resolving the spatial window
 * attributes (kernel_shape, strides, dilations, pads, auto_pad) and small print/cost helpers. */
#include <string.h>

#include "nn.h"

static ec_status read_ints(ec_ctx *cx, ec_node *n, const char *name, int nsp, int64_t min,
                           int64_t dflt, int64_t *out, bool *present) {
  const int64_t *v;
  int c;
  ec_status st = ec_attr_ints(cx, n, name, &v, &c);
  if (st) return st;
  if (present) *present = c >= 0;
  for (int k = 0; k < nsp; k++) out[k] = dflt;
  if (c < 0) return EC_OK;
  if (c != nsp)
    return ec_fail(cx, n, "attribute '%s' has %d values, expected %d (one per spatial dim)", name,
                   c, nsp);
  for (int k = 0; k < nsp; k++) {
    if (v[k] < min)
      return ec_fail(cx, n, "attribute '%s' has value %lld, must be >= %lld", name,
                     (long long)v[k], (long long)min);
    out[k] = v[k];
  }
  return EC_OK;
}

ec_status ec_nn_check_spatial(ec_ctx *cx, const ec_node *n, const ec_tensor *x, int *nsp) {
  if (x->rank < 3)
    return ec_fail(cx, n, "input '%s' has rank %d, expected N x C x spatial dims (rank >= 3)",
                   x->name, x->rank);
  if (x->rank - 2 > ECK_SP)
    return ec_fail(cx, n, "input '%s' has %d spatial dims; edgecc supports 1 to %d", x->name,
                   x->rank - 2, ECK_SP);
  *nsp = x->rank - 2;
  return EC_OK;
}

ec_status ec_nn_window(ec_ctx *cx, ec_node *n, int nsp, const int64_t *kernel,
                       bool has_dilations, ec_window *w) {
  memset(w, 0, sizeof *w);
  w->nsp = nsp;
  bool have_k;
  ec_status st = read_ints(cx, n, "kernel_shape", nsp, 1, 1, w->kernel, &have_k);
  if (st) return st;
  if (!have_k) {
    if (!kernel) return ec_fail(cx, n, "required attribute 'kernel_shape' is missing");
    for (int k = 0; k < nsp; k++) w->kernel[k] = kernel[k];
  } else if (kernel) {
    for (int k = 0; k < nsp; k++)
      if (kernel[k] != w->kernel[k])
        return ec_fail(cx, n, "kernel_shape[%d] = %lld does not match the weights (%lld)", k,
                       (long long)w->kernel[k], (long long)kernel[k]);
  }
  if ((st = read_ints(cx, n, "strides", nsp, 1, 1, w->strides, NULL))) return st;
  if (has_dilations) {
    if ((st = read_ints(cx, n, "dilations", nsp, 1, 1, w->dilations, NULL))) return st;
  } else {
    for (int k = 0; k < nsp; k++) w->dilations[k] = 1;
  }
  const int64_t *pads;
  int np;
  if ((st = ec_attr_ints(cx, n, "pads", &pads, &np))) return st;
  if (np >= 0) {
    if (np != 2 * nsp)
      return ec_fail(cx, n, "attribute 'pads' has %d values, expected %d (begin and end per "
                     "spatial dim)", np, 2 * nsp);
    for (int k = 0; k < 2 * nsp; k++)
      if (pads[k] < 0) return ec_fail(cx, n, "attribute 'pads' has a negative value");
    for (int k = 0; k < nsp; k++) {
      w->pad_begin[k] = pads[k];
      w->pad_end[k] = pads[nsp + k];
    }
  }
  const char *ap;
  if ((st = ec_attr_string(cx, n, "auto_pad", "NOTSET", &ap))) return st;
  if (strcmp(ap, "NOTSET") == 0 || ap[0] == 0)
    w->auto_pad = EC_PAD_NOTSET;
  else if (strcmp(ap, "SAME_UPPER") == 0)
    w->auto_pad = EC_PAD_SAME_UPPER;
  else if (strcmp(ap, "SAME_LOWER") == 0)
    w->auto_pad = EC_PAD_SAME_LOWER;
  else if (strcmp(ap, "VALID") == 0)
    w->auto_pad = EC_PAD_VALID;
  else
    return ec_fail(cx, n, "attribute 'auto_pad' has unknown value '%s' (expected NOTSET, "
                   "SAME_UPPER, SAME_LOWER or VALID)", ap);
  if (w->auto_pad != EC_PAD_NOTSET && np > 0) {
    /* ONNX forbids both; exporters still write zero pads next to auto_pad, so accept those. */
    for (int k = 0; k < 2 * nsp; k++)
      if (pads[k] != 0)
        return ec_fail(cx, n, "attributes 'pads' and 'auto_pad' = %s cannot both be set", ap);
  }
  return EC_OK;
}

ec_status ec_nn_window_out(ec_ctx *cx, ec_node *n, ec_window *w, const int64_t *in,
                           bool ceil_mode, int64_t *out) {
  for (int k = 0; k < w->nsp; k++) {
    int64_t ek = (w->kernel[k] - 1) * w->dilations[k] + 1, s = w->strides[k], o;
    if (w->auto_pad == EC_PAD_SAME_UPPER || w->auto_pad == EC_PAD_SAME_LOWER) {
      o = (in[k] + s - 1) / s;
      int64_t total = (o - 1) * s + ek - in[k];
      if (total < 0) total = 0;
      int64_t small = total / 2, big = total - small;
      w->pad_begin[k] = w->auto_pad == EC_PAD_SAME_UPPER ? small : big;
      w->pad_end[k] = total - w->pad_begin[k];
    } else {
      if (w->auto_pad == EC_PAD_VALID) w->pad_begin[k] = w->pad_end[k] = 0;
      int64_t span = in[k] + w->pad_begin[k] + w->pad_end[k] - ek;
      if (span < 0)
        return ec_fail(cx, n, "the window (%lld with dilation %lld) is larger than the padded "
                       "input (%lld) along spatial dim %d", (long long)w->kernel[k],
                       (long long)w->dilations[k],
                       (long long)(in[k] + w->pad_begin[k] + w->pad_end[k]), k);
      o = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
      /* A last window that would start in the end padding is dropped (as PyTorch and ONNX
       * Runtime do). */
      if (ceil_mode && (o - 1) * s >= in[k] + w->pad_begin[k]) o--;
    }
    if (o <= 0) return ec_fail(cx, n, "output spatial dim %d would be empty", k);
    out[k] = o;
  }
  return EC_OK;
}

static void to3(const ec_window *w, int64_t *k, int64_t *s, int64_t *d, int64_t *pb, int64_t *pe) {
  int off = ECK_SP - w->nsp;
  for (int i = 0; i < ECK_SP; i++) {
    int j = i - off;
    k[i] = j < 0 ? 1 : w->kernel[j];
    s[i] = j < 0 ? 1 : w->strides[j];
    d[i] = j < 0 ? 1 : w->dilations[j];
    pb[i] = j < 0 ? 0 : w->pad_begin[j];
    pe[i] = j < 0 ? 0 : w->pad_end[j];
  }
}

void ec_nn_conv_params(const ec_window *w, int32_t group, eck_conv_params *p) {
  p->nsp = w->nsp;
  p->group = group;
  to3(w, p->kernel, p->strides, p->dilations, p->pad_begin, p->pad_end);
}

void ec_nn_pool_params(const ec_window *w, eck_pool_params *p) {
  p->nsp = w->nsp;
  to3(w, p->kernel, p->strides, p->dilations, p->pad_begin, p->pad_end);
}

void ec_nn_print_i64s(ec_buf *b, const int64_t *v, int n) {
  if (n == 0) { /* C99 has no empty initializer */
    ec_buf_printf(b, "{0}");
    return;
  }
  ec_buf_printf(b, "{");
  for (int i = 0; i < n; i++) ec_buf_printf(b, "%s%lld", i ? ", " : "", (long long)v[i]);
  ec_buf_printf(b, "}");
}

double ec_nn_bytes(const ec_graph *g, const ec_node *n) {
  double bytes = 0;
  for (int k = 0; k < n->n_inputs; k++)
    if (n->inputs[k] >= 0) {
      const ec_tensor *t = &g->tensors[n->inputs[k]];
      bytes += (double)ec_tensor_numel(t) * (double)ec_dtype_size(t->dtype);
    }
  for (int k = 0; k < n->n_outputs; k++)
    if (n->outputs[k] >= 0) {
      const ec_tensor *t = &g->tensors[n->outputs[k]];
      bytes += (double)ec_tensor_numel(t) * (double)ec_dtype_size(t->dtype);
    }
  return bytes;
}
