/* nn_loss.c — shape inference and params of NegativeLogLikelihoodLoss,
 * SoftmaxCrossEntropyLoss and NonMaxSuppression (whose output size depends on its values, so
 * its inputs must be constant). */
#include <stdlib.h>
#include <string.h>

#include "nn.h"

static const int32_t dt_f[] = {ECK_FLOAT, ECK_DOUBLE, ECK_FLOAT16, ECK_BFLOAT16, 0};

static ec_status loss_common(ec_ctx *cx, ec_node *n, bool softmax) {
  ec_status st = ec_check_arity(cx, n, 2, 3, 1, softmax ? 2 : 1);
  if (!st) st = ec_check_input(cx, n, 0, dt_f);
  if (!st) st = ec_check_input(cx, n, 1, ec_dt_index);
  if (!st && ec_in(cx, n, 2)) st = ec_check_input(cx, n, 2, dt_f);
  if (st) return st;
  const ec_tensor *x = ec_in(cx, n, 0), *t = ec_in(cx, n, 1), *w = ec_in(cx, n, 2);
  const char *red;
  if ((st = ec_attr_string(cx, n, "reduction", "mean", &red))) return st;
  ec_attr *ii = ec_attr_get(n, "ignore_index");
  if (ii && ii->type != EC_ATTR_INT) return ec_fail(cx, n, "attribute 'ignore_index' must be an int");
  if (x->rank < 2) return ec_fail(cx, n, "input '%s' must be [N, C, ...]", x->name);
  bool ok = t->rank == x->rank - 1 && t->dims[0] == x->dims[0];
  for (int k = 2; ok && k < x->rank; k++) ok = t->dims[k - 1] == x->dims[k];
  if (!ok) return ec_fail(cx, n, "target '%s' must have the shape of the input without dim 1", t->name);
  if (w && (w->rank != 1 || w->dims[0] != x->dims[1]))
    return ec_fail(cx, n, "weight '%s' must have shape [%lld]", w->name, (long long)x->dims[1]);
  eck_loss_params *p = ec_params(cx, n, sizeof *p);
  if (!p) return EC_ERR_INTERNAL;
  if (strcmp(red, "none") == 0)
    p->reduction = ECK_RED_NONE;
  else if (strcmp(red, "sum") == 0)
    p->reduction = ECK_RED_SUM;
  else if (strcmp(red, "mean") == 0)
    p->reduction = ECK_RED_MEAN;
  else
    return ec_fail(cx, n, "attribute 'reduction' must be none, sum or mean, is '%s'", red);
  p->has_ignore = ii != NULL;
  p->ignore_index = ii ? ii->i : 0;
  p->softmax = softmax;
  if (p->reduction == ECK_RED_NONE)
    st = ec_set_output(cx, n, 0, x->dtype, t->rank, t->dims);
  else
    st = ec_set_output(cx, n, 0, x->dtype, 0, NULL);
  if (st) return st;
  return softmax ? ec_set_output_like(cx, n, 1, x) : EC_OK;
}

ec_status ec_infer_nllloss(ec_ctx *cx, ec_node *n) { return loss_common(cx, n, false); }
ec_status ec_infer_sce_loss(ec_ctx *cx, ec_node *n) { return loss_common(cx, n, true); }

ec_status ec_infer_nms(ec_ctx *cx, ec_node *n) {
  ec_status st = ec_check_arity(cx, n, 2, 5, 1, 1);
  if (!st) st = ec_check_input(cx, n, 0, dt_f);
  if (!st) st = ec_check_input(cx, n, 1, dt_f);
  if (!st && ec_in(cx, n, 2)) st = ec_check_input(cx, n, 2, (const int32_t[]){ECK_INT64, 0});
  if (!st && ec_in(cx, n, 3)) st = ec_check_input(cx, n, 3, dt_f);
  if (!st && ec_in(cx, n, 4)) st = ec_check_input(cx, n, 4, dt_f);
  if (st) return st;
  const ec_tensor *b = ec_in(cx, n, 0), *s = ec_in(cx, n, 1);
  int64_t cpb;
  if ((st = ec_attr_int(cx, n, "center_point_box", 0, &cpb))) return st;
  if (cpb != 0 && cpb != 1) return ec_fail(cx, n, "attribute 'center_point_box' must be 0 or 1");
  if (b->rank != 3 || b->dims[2] != 4)
    return ec_fail(cx, n, "boxes '%s' must be [batch, boxes, 4]", b->name);
  if (s->rank != 3 || s->dims[0] != b->dims[0] || s->dims[2] != b->dims[1])
    return ec_fail(cx, n, "scores '%s' must be [batch, classes, boxes]", s->name);
  for (int i = 2; i < n->n_inputs; i++) {
    const ec_tensor *t = ec_in(cx, n, i);
    if (t && ec_tensor_numel(t) > 1)
      return ec_fail(cx, n, "input '%s' must be a scalar", t->name);
  }
  eck_nms_params *p = ec_params(cx, n, sizeof *p);
  if (!p) return EC_ERR_INTERNAL;
  p->center_point_box = (int32_t)cpb;
  /* The number of selected boxes is only known from the values: with every input constant it
   * is counted here, else the output is sized for the most boxes that can be selected (every box
   * of every class, or max_output_boxes_per_class of them when that is a constant) and the kernel
   * finds the count at run time. */
  eck_tensor in[5];
  memset(in, 0, sizeof in);
  bool known = true;
  for (int i = 0; i < n->n_inputs; i++) {
    if (!ec_in(cx, n, i)) continue;
    if (!ec_in_is_const(cx, n, i)) known = false;
    ec_tensor_view(ec_in(cx, n, i), &in[i]);
  }
  int64_t cap = s->dims[0] * s->dims[1] * s->dims[2];
  if (!known) {
    int64_t per = s->dims[2];
    if (n->n_inputs > 2 && ec_in(cx, n, 2) && ec_in_is_const(cx, n, 2)) {
      const ec_tensor *m = ec_in(cx, n, 2);
      int64_t maxk = ec_tensor_numel(m) ? eck_load_i64(m->data, m->dtype, 0) : 0;
      if (maxk < per) per = maxk > 0 ? maxk : 0;
    }
    return ec_set_output_bound(cx, n, 0, ECK_INT64, 2, (int64_t[]){s->dims[0] * s->dims[1] * per, 3}, 1);
  }
  int64_t *sel = malloc(sizeof(int64_t) * 3 * (size_t)(cap > 0 ? cap : 1));
  if (!sel) return ec_fail(cx, n, "out of memory");
  int64_t count = eck_nms_run(p, in, n->n_inputs, sel, cap);
  free(sel);
  if (count < 0) return ec_fail(cx, n, "internal error: NonMaxSuppression overflowed");
  return ec_set_output(cx, n, 0, ECK_INT64, 2, (int64_t[]){count, 3});
}

void ec_print_loss(ec_buf *b, const ec_node *n) {
  const eck_loss_params *p = n->params;
  static const char *const reds[] = {"ECK_RED_NONE", "ECK_RED_SUM", "ECK_RED_MEAN"};
  ec_buf_printf(b, "{ .reduction = %s, .has_ignore = %d", p->reduction >= 0 && p->reduction <= 2 ? reds[p->reduction] : "0",
                (int)p->has_ignore);
  if (p->has_ignore) ec_buf_printf(b, ", .ignore_index = %lld", (long long)p->ignore_index);
  ec_buf_printf(b, ", .softmax = %d }", (int)p->softmax);
}

void ec_print_nms(ec_buf *b, const ec_node *n) {
  const eck_nms_params *p = n->params;
  ec_buf_printf(b, "{ .center_point_box = %d }", (int)p->center_point_box);
}
