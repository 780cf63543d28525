/* tensor_index.c — inference for indexing ops: Gather, GatherElements, GatherND, Scatter,
 * ScatterElements, ScatterND, OneHot, TopK, Compress, NonZero, Unique, ReverseSequence. */
#include <stdlib.h>
#include <string.h>

#include "tensor.h"

/* Constant indices are checked at compile time, so the error names the node instead of
 * surfacing as a kernel failure at run time. */
static ec_status check_const_indices(ec_ctx *cx, ec_node *n, int i, int64_t d) {
  if (!ec_in_is_const(cx, n, i)) return EC_OK;
  int64_t *v, c;
  ec_status st = ec_in_const_ints(cx, n, i, &v, &c);
  if (st) return st;
  for (int64_t k = 0; k < c && !st; k++)
    if (v[k] < -d || v[k] >= d)
      st = ec_fail(cx, n, "index %lld is out of range for an axis of size %lld", (long long)v[k],
                   (long long)d);
  free(v);
  return st;
}

ec_status ec_infer_gather(ec_ctx *cx, ec_node *n) {
  ec_status st = ec_check_arity(cx, n, 2, 2, 1, 1);
  if (!st) st = ec_check_input(cx, n, 1, ec_dt_index);
  if (st) return st;
  const ec_tensor *x = ec_in(cx, n, 0), *ind = ec_in(cx, n, 1);
  int64_t axis;
  int a;
  if ((st = ec_attr_int(cx, n, "axis", 0, &axis))) return st;
  if (x->rank == 0) return ec_fail(cx, n, "cannot gather from a scalar");
  if ((st = ec_norm_axis(cx, n, axis, x->rank, &a)) ||
      (st = check_const_indices(cx, n, 1, x->dims[a])))
    return st;
  int r = x->rank - 1 + ind->rank;
  if (r > EC_MAX_RANK) return ec_fail(cx, n, "output would have rank %d", r);
  int64_t dims[EC_MAX_RANK];
  int k = 0;
  for (int j = 0; j < a; j++) dims[k++] = x->dims[j];
  for (int j = 0; j < ind->rank; j++) dims[k++] = ind->dims[j];
  for (int j = a + 1; j < x->rank; j++) dims[k++] = x->dims[j];
  eck_axis_params *p = ec_params(cx, n, sizeof *p);
  if (!p) return EC_ERR_INTERNAL;
  p->axis = a;
  return ec_set_output(cx, n, 0, x->dtype, r, dims);
}

ec_status ec_infer_gather_elements(ec_ctx *cx, ec_node *n) {
  ec_status st = ec_check_arity(cx, n, 2, 2, 1, 1);
  if (!st) st = ec_check_input(cx, n, 1, ec_dt_index);
  if (st) return st;
  const ec_tensor *x = ec_in(cx, n, 0), *ind = ec_in(cx, n, 1);
  int64_t axis;
  int a;
  if ((st = ec_attr_int(cx, n, "axis", 0, &axis)) || (st = ec_norm_axis(cx, n, axis, x->rank, &a)))
    return st;
  if (ind->rank != x->rank)
    return ec_fail(cx, n, "indices have rank %d, data rank %d", ind->rank, x->rank);
  if ((st = check_const_indices(cx, n, 1, x->dims[a]))) return st;
  eck_axis_params *p = ec_params(cx, n, sizeof *p);
  if (!p) return EC_ERR_INTERNAL;
  p->axis = a;
  return ec_set_output(cx, n, 0, x->dtype, ind->rank, ind->dims);
}

ec_status ec_infer_gather_nd(ec_ctx *cx, ec_node *n) {
  ec_status st = ec_check_arity(cx, n, 2, 2, 1, 1);
  if (!st) st = ec_check_input(cx, n, 1, ec_dt_index);
  if (st) return st;
  const ec_tensor *x = ec_in(cx, n, 0), *ind = ec_in(cx, n, 1);
  int64_t b;
  if ((st = ec_attr_int(cx, n, "batch_dims", 0, &b))) return st;
  int q = ind->rank, r = x->rank;
  if (q < 1 || r < 1) return ec_fail(cx, n, "data and indices must have rank >= 1");
  if (b < 0 || b >= q || b >= r) return ec_fail(cx, n, "batch_dims %lld is out of range", (long long)b);
  int64_t m = ind->dims[q - 1];
  if (m < 1 || m > r - b)
    return ec_fail(cx, n, "indices' last dimension %lld must be in [1, %lld]", (long long)m,
                   (long long)(r - b));
  for (int k = 0; k < b; k++)
    if (x->dims[k] != ind->dims[k])
      return ec_fail(cx, n, "batch dimension %d differs between data and indices", k);
  int64_t dims[EC_MAX_RANK];
  int k = 0;
  for (int j = 0; j < q - 1; j++) dims[k++] = ind->dims[j];
  for (int j = (int)(b + m); j < r; j++) {
    if (k == EC_MAX_RANK) return ec_fail(cx, n, "output rank is too large");
    dims[k++] = x->dims[j];
  }
  eck_gathernd_params *p = ec_params(cx, n, sizeof *p);
  if (!p) return EC_ERR_INTERNAL;
  p->batch_dims = (int32_t)b;
  return ec_set_output(cx, n, 0, x->dtype, k, dims);
}

void ec_print_gather_nd(ec_buf *b, const ec_node *n) {
  const eck_gathernd_params *p = n->params;
  ec_buf_printf(b, "{ .batch_dims = %d }", (int)p->batch_dims);
}

static ec_status reduction_attr(ec_ctx *cx, ec_node *n, int32_t *red) {
  const char *s;
  ec_status st = ec_attr_string(cx, n, "reduction", "none", &s);
  if (st) return st;
  static const char *names[] = {"none", "add", "mul", "max", "min"};
  for (int k = 0; k < 5; k++)
    if (strcmp(s, names[k]) == 0) {
      *red = k;
      return EC_OK;
    }
  return ec_fail(cx, n, "reduction '%s' is not supported (none, add, mul, max, min)", s);
}

ec_status ec_infer_scatter_elements(ec_ctx *cx, ec_node *n) {
  ec_status st = ec_check_arity(cx, n, 3, 3, 1, 1);
  if (!st) st = ec_check_input(cx, n, 1, ec_dt_index);
  if (st) return st;
  const ec_tensor *x = ec_in(cx, n, 0), *ind = ec_in(cx, n, 1), *u = ec_in(cx, n, 2);
  int64_t axis;
  int a;
  if ((st = ec_attr_int(cx, n, "axis", 0, &axis)) || (st = ec_norm_axis(cx, n, axis, x->rank, &a)))
    return st;
  eck_scatter_params *p = ec_params(cx, n, sizeof *p);
  if (!p) return EC_ERR_INTERNAL;
  p->axis = a;
  if ((st = reduction_attr(cx, n, &p->reduction))) return st;
  if (ind->rank != x->rank) return ec_fail(cx, n, "indices have rank %d, data rank %d", ind->rank, x->rank);
  if ((st = check_const_indices(cx, n, 1, x->dims[a]))) return st;
  if (u->dtype != x->dtype) return ec_fail(cx, n, "updates and data have different dtypes");
  if (u->rank != ind->rank || memcmp(u->dims, ind->dims, sizeof(int64_t) * (size_t)u->rank))
    return ec_fail(cx, n, "updates and indices have different shapes");
  return ec_set_output_like(cx, n, 0, x);
}

ec_status ec_infer_scatter_nd(ec_ctx *cx, ec_node *n) {
  ec_status st = ec_check_arity(cx, n, 3, 3, 1, 1);
  if (!st) st = ec_check_input(cx, n, 1, ec_dt_index);
  if (st) return st;
  const ec_tensor *x = ec_in(cx, n, 0), *ind = ec_in(cx, n, 1), *u = ec_in(cx, n, 2);
  eck_scatter_params *p = ec_params(cx, n, sizeof *p);
  if (!p) return EC_ERR_INTERNAL;
  if ((st = reduction_attr(cx, n, &p->reduction))) return st;
  int q = ind->rank, r = x->rank;
  if (q < 1 || r < 1) return ec_fail(cx, n, "data and indices must have rank >= 1");
  int64_t m = ind->dims[q - 1];
  if (m < 1 || m > r) return ec_fail(cx, n, "indices' last dimension %lld exceeds the data rank %d", (long long)m, r);
  bool ok = u->dtype == x->dtype && u->rank == q - 1 + r - m;
  for (int k = 0; ok && k < q - 1; k++) ok = u->dims[k] == ind->dims[k];
  for (int k = 0; ok && k < r - m; k++) ok = u->dims[q - 1 + k] == x->dims[m + k];
  if (!ok) return ec_fail(cx, n, "updates must be %s with shape indices[:-1] + data[%lld:]",
                          ec_dtype_name(x->dtype), (long long)m);
  return ec_set_output_like(cx, n, 0, x);
}

void ec_print_scatter(ec_buf *b, const ec_node *n) {
  const eck_scatter_params *p = n->params;
  static const char *const reds[] = {"ECK_SCATTER_NONE", "ECK_SCATTER_ADD", "ECK_SCATTER_MUL", "ECK_SCATTER_MAX",
                                     "ECK_SCATTER_MIN"};
  ec_buf_printf(b, "{ .axis = %d, .reduction = %s }", (int)p->axis,
                p->reduction >= 0 && p->reduction <= ECK_SCATTER_MIN ? reds[p->reduction] : "0");
}

ec_status ec_infer_onehot(ec_ctx *cx, ec_node *n) {
  ec_status st = ec_check_arity(cx, n, 3, 3, 1, 1);
  if (!st) st = ec_check_input(cx, n, 0, ec_dt_numeric);
  if (st) return st;
  const ec_tensor *ind = ec_in(cx, n, 0), *dt = ec_in(cx, n, 1), *v = ec_in(cx, n, 2);
  int64_t axis, depth;
  int a;
  if ((st = ec_attr_int(cx, n, "axis", -1, &axis))) return st;
  if (ec_dtype_in(dt->dtype, ec_dt_float)) {
    double *d;
    int64_t c;
    if ((st = ec_in_const_floats(cx, n, 1, &d, &c))) return st;
    depth = c == 1 ? (int64_t)d[0] : -1;
    free(d);
  } else {
    int64_t *d, c;
    if ((st = ec_in_const_ints(cx, n, 1, &d, &c))) return st;
    depth = c == 1 ? d[0] : -1;
    free(d);
  }
  if (depth < 1) return ec_fail(cx, n, "depth must be one positive value");
  if (ec_tensor_numel(v) != 2) return ec_fail(cx, n, "values must hold 2 elements (off, on)");
  if (ind->rank + 1 > EC_MAX_RANK) return ec_fail(cx, n, "output rank is too large");
  if ((st = ec_norm_axis(cx, n, axis, ind->rank + 1, &a))) return st;
  int64_t dims[EC_MAX_RANK];
  for (int k = 0, j = 0; k <= ind->rank; k++) dims[k] = k == a ? depth : ind->dims[j++];
  eck_onehot_params *p = ec_params(cx, n, sizeof *p);
  if (!p) return EC_ERR_INTERNAL;
  p->axis = a;
  return ec_set_output(cx, n, 0, v->dtype, ind->rank + 1, dims);
}

ec_status ec_infer_topk(ec_ctx *cx, ec_node *n) {
  bool old = cx->opset < 10;
  ec_status st = ec_check_arity(cx, n, old ? 1 : 2, old ? 1 : 2, 2, 2);
  if (!st) st = ec_check_input(cx, n, 0, ec_dt_numeric);
  if (st) return st;
  const ec_tensor *x = ec_in(cx, n, 0);
  int64_t axis, largest, sorted, k;
  int a;
  if ((st = ec_attr_int(cx, n, "axis", -1, &axis)) ||
      (st = ec_attr_int(cx, n, "largest", 1, &largest)) ||
      (st = ec_attr_int(cx, n, "sorted", 1, &sorted)) || (st = ec_norm_axis(cx, n, axis, x->rank, &a)))
    return st;
  if (old) {
    if ((st = ec_attr_require(cx, n, "k")) || (st = ec_attr_int(cx, n, "k", 0, &k))) return st;
  } else if (ec_in_is_const(cx, n, 1)) {
    int64_t *v, c;
    if ((st = ec_in_const_ints(cx, n, 1, &v, &c))) return st;
    k = c == 1 ? v[0] : -1;
    free(v);
    if (c != 1) return ec_fail(cx, n, "K must hold one value");
  } else {
    /* K known at run time: the outputs are sized for all of the axis, the extent is K. */
    if ((st = ec_check_input(cx, n, 1, (const int32_t[]){ECK_INT64, 0}))) return st;
    if (ec_tensor_numel(ec_in(cx, n, 1)) != 1) return ec_fail(cx, n, "K must hold one value");
    k = -1;
  }
  if (k != -1 && (k < 0 || k > x->dims[a]))
    return ec_fail(cx, n, "K = %lld is out of range for axis %d of size %lld", (long long)k, a,
                   (long long)x->dims[a]);
  eck_topk_params *p = ec_params(cx, n, sizeof *p);
  if (!p) return EC_ERR_INTERNAL;
  p->axis = a;
  p->largest = largest != 0;
  p->sorted = sorted != 0;
  int64_t dims[EC_MAX_RANK];
  memcpy(dims, x->dims, sizeof dims);
  dims[a] = k < 0 ? x->dims[a] : k;
  uint8_t dyn = k < 0 ? (uint8_t)(1u << a) : 0;
  if ((st = ec_set_output_bound(cx, n, 0, x->dtype, x->rank, dims, dyn))) return st;
  return ec_set_output_bound(cx, n, 1, ECK_INT64, x->rank, dims, dyn);
}

size_t ec_scratch_topk(const ec_graph *g, const ec_node *n) {
  const eck_topk_params *p = n->params;
  const ec_tensor *x = &g->tensors[n->inputs[0]];
  return 2 * sizeof(int64_t) * (size_t)(x->dims[p->axis] + 1);
}

void ec_print_topk(ec_buf *b, const ec_node *n) {
  const eck_topk_params *p = n->params;
  ec_buf_printf(b, "{ .axis = %d, .largest = %d, .sorted = %d }", (int)p->axis, (int)p->largest,
                (int)p->sorted);
}

void ec_print_onehot(ec_buf *b, const ec_node *n) {
  const eck_onehot_params *p = n->params;
  ec_buf_printf(b, "{ .axis = %d }", (int)p->axis);
}

ec_status ec_infer_compress(ec_ctx *cx, ec_node *n) {
  ec_status st = ec_check_arity(cx, n, 2, 2, 1, 1);
  if (!st) st = ec_check_input(cx, n, 1, (const int32_t[]){ECK_BOOL, 0});
  if (st) return st;
  const ec_tensor *x = ec_in(cx, n, 0), *c = ec_in(cx, n, 1);
  ec_attr *aa = ec_attr_get(n, "axis");
  int64_t axis;
  int a = -1;
  if ((st = ec_attr_int(cx, n, "axis", 0, &axis))) return st;
  if (aa && (st = ec_norm_axis(cx, n, axis, x->rank, &a))) return st;
  if (c->rank != 1) return ec_fail(cx, n, "condition must be 1-D");
  int64_t limit = a >= 0 ? x->dims[a] : ec_tensor_numel(x), cnt = 0;
  /* A run-time condition: as many as it has elements on the axis, at most (the bound). */
  bool known = ec_in_is_const(cx, n, 1);
  for (int64_t i = 0; i < c->dims[0] && i < limit; i++)
    cnt += known ? ((const uint8_t *)c->data)[i] != 0 : 1;
  eck_compress_params *p = ec_params(cx, n, sizeof *p);
  if (!p) return EC_ERR_INTERNAL;
  p->axis = a;
  if (a < 0) return ec_set_output_bound(cx, n, 0, x->dtype, 1, &cnt, known ? 0 : 1);
  int64_t dims[EC_MAX_RANK];
  memcpy(dims, x->dims, sizeof dims);
  dims[a] = cnt;
  return ec_set_output_bound(cx, n, 0, x->dtype, x->rank, dims, known ? 0 : (uint8_t)(1u << a));
}

void ec_print_compress(ec_buf *b, const ec_node *n) {
  const eck_compress_params *p = n->params;
  ec_buf_printf(b, "{ .axis = %d }", (int)p->axis);
}

ec_status ec_infer_nonzero(ec_ctx *cx, ec_node *n) {
  ec_status st = ec_check_arity(cx, n, 1, 1, 1, 1);
  if (st) return st;
  const ec_tensor *x = ec_in(cx, n, 0);
  int64_t cnt = 0, total = ec_tensor_numel(x);
  unsigned char zero[16] = {0};
  /* A run-time X: every element may be non-zero (the bound). */
  bool known = ec_in_is_const(cx, n, 0);
  for (int64_t i = 0; i < total; i++) cnt += known ? eck_cmp_elem(x->data, i, zero, 0, x->dtype) != 0 : 1;
  int64_t dims[2] = {x->rank, cnt};
  return ec_set_output_bound(cx, n, 0, ECK_INT64, 2, dims, known ? 0 : 2);
}

ec_status ec_infer_unique(ec_ctx *cx, ec_node *n) {
  ec_status st = ec_check_arity(cx, n, 1, 1, 1, 4);
  if (st) return st;
  const ec_tensor *x = ec_in(cx, n, 0);
  ec_attr *aa = ec_attr_get(n, "axis");
  int64_t axis, sorted;
  int a = -1;
  if ((st = ec_attr_int(cx, n, "axis", 0, &axis)) || (st = ec_attr_int(cx, n, "sorted", 1, &sorted)))
    return st;
  if (aa && (st = ec_norm_axis(cx, n, axis, x->rank, &a))) return st;
  int64_t outer = 1, d = ec_tensor_numel(x), inner = 1;
  if (a >= 0) {
    d = x->dims[a];
    for (int k = 0; k < a; k++) outer *= x->dims[k];
    for (int k = a + 1; k < x->rank; k++) inner *= x->dims[k];
  }
  int64_t nu = 0;
  /* A run-time X: every slice may be distinct (the bound). */
  bool known = ec_in_is_const(cx, n, 0);
  if (!known) nu = d;
  for (int64_t s = 0; s < d && known; s++) {
    bool first = true;
    for (int64_t t = 0; t < s && first; t++) {
      bool eq = true;
      for (int64_t o = 0; o < outer && eq; o++)
        for (int64_t c = 0; c < inner && eq; c++)
          eq = eck_cmp_elem(x->data, (o * d + s) * inner + c, x->data, (o * d + t) * inner + c,
                            x->dtype) == 0;
      if (eq) first = false;
    }
    nu += first;
  }
  eck_unique_params *p = ec_params(cx, n, sizeof *p);
  if (!p) return EC_ERR_INTERNAL;
  p->axis = a;
  p->sorted = sorted != 0;
  int64_t dims[EC_MAX_RANK];
  uint8_t dyn0 = known ? 0 : (uint8_t)(1u << (a >= 0 ? a : 0)), dyn = known ? 0 : 1;
  if (a >= 0) {
    memcpy(dims, x->dims, sizeof dims);
    dims[a] = nu;
    st = ec_set_output_bound(cx, n, 0, x->dtype, x->rank, dims, dyn0);
  } else {
    st = ec_set_output_bound(cx, n, 0, x->dtype, 1, &nu, dyn0);
  }
  if (!st) st = ec_set_output_bound(cx, n, 1, ECK_INT64, 1, &nu, dyn);
  if (!st) st = ec_set_output(cx, n, 2, ECK_INT64, 1, &d);
  if (!st) st = ec_set_output_bound(cx, n, 3, ECK_INT64, 1, &nu, dyn);
  return st;
}

void ec_print_unique(ec_buf *b, const ec_node *n) {
  const eck_unique_params *p = n->params;
  ec_buf_printf(b, "{ .axis = %d, .sorted = %d }", (int)p->axis, (int)p->sorted);
}

ec_status ec_infer_reverse_sequence(ec_ctx *cx, ec_node *n) {
  ec_status st = ec_check_arity(cx, n, 2, 2, 1, 1);
  if (!st) st = ec_check_input(cx, n, 1, ec_dt_index);
  if (st) return st;
  const ec_tensor *x = ec_in(cx, n, 0), *l = ec_in(cx, n, 1);
  int64_t ba, ta;
  if ((st = ec_attr_int(cx, n, "batch_axis", 1, &ba)) || (st = ec_attr_int(cx, n, "time_axis", 0, &ta)))
    return st;
  if (x->rank < 2) return ec_fail(cx, n, "input must have rank >= 2");
  if ((ba != 0 && ba != 1) || (ta != 0 && ta != 1) || ba == ta)
    return ec_fail(cx, n, "batch_axis and time_axis must be 0 and 1 in some order");
  if (l->rank != 1 || l->dims[0] != x->dims[ba])
    return ec_fail(cx, n, "sequence_lens must be 1-D of the batch size %lld", (long long)x->dims[ba]);
  eck_revseq_params *p = ec_params(cx, n, sizeof *p);
  if (!p) return EC_ERR_INTERNAL;
  p->batch_axis = (int32_t)ba;
  p->time_axis = (int32_t)ta;
  return ec_set_output_like(cx, n, 0, x);
}

void ec_print_reverse_sequence(ec_buf *b, const ec_node *n) {
  const eck_revseq_params *p = n->params;
  ec_buf_printf(b, "{ .batch_axis = %d, .time_axis = %d }", (int)p->batch_axis, (int)p->time_axis);
}
