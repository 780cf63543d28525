/* tensor_shape.c — inference for the ops that only move elements: Shape, Size, Reshape, Flatten,
 * Squeeze, Unsqueeze, Transpose, Concat, Split, Slice, Expand, Tile, Pad. */
#include <stdlib.h>
#include <string.h>

#include "tensor.h"

ec_status ec_infer_shape(ec_ctx *cx, ec_node *n) {
  ec_status st = ec_check_arity(cx, n, 1, 1, 1, 1);
  if (st) return st;
  const ec_tensor *x = ec_in(cx, n, 0);
  int64_t r = x->rank, start, end;
  if ((st = ec_attr_int(cx, n, "start", 0, &start)) || (st = ec_attr_int(cx, n, "end", r, &end)))
    return st;
  if (start < 0) start += r;
  if (end < 0) end += r;
  start = start < 0 ? 0 : start > r ? r : start;
  end = end < 0 ? 0 : end > r ? r : end;
  int64_t len = end > start ? end - start : 0;
  eck_shape_params *p = ec_params(cx, n, sizeof *p);
  if (!p) return EC_ERR_INTERNAL;
  p->start = (int32_t)start;
  /* EC_OPF_SHAPE_ONLY: the driver folds the output to a constant right after this, which is
   * what lets PyTorch's Shape→Gather→Concat→Reshape chains fold. */
  return ec_set_output(cx, n, 0, ECK_INT64, 1, &len);
}

ec_status ec_infer_size(ec_ctx *cx, ec_node *n) {
  ec_status st = ec_check_arity(cx, n, 1, 1, 1, 1);
  if (st) return st;
  return ec_set_output(cx, n, 0, ECK_INT64, 0, NULL);
}

void ec_print_shape(ec_buf *b, const ec_node *n) {
  const eck_shape_params *p = n->params;
  ec_buf_printf(b, "{ .start = %d }", (int)p->start);
}

ec_status ec_infer_reshape(ec_ctx *cx, ec_node *n) {
  ec_status st = ec_check_arity(cx, n, cx->opset < 5 ? 1 : 2, cx->opset < 5 ? 1 : 2, 1, 1);
  if (st) return st;
  const ec_tensor *x = ec_in(cx, n, 0);
  int64_t allowzero, *shape = NULL, count;
  if ((st = ec_attr_int(cx, n, "allowzero", 0, &allowzero))) return st;
  if (cx->opset < 5) {
    const int64_t *a;
    int c;
    if ((st = ec_attr_require(cx, n, "shape")) || (st = ec_attr_ints(cx, n, "shape", &a, &c)))
      return st;
    count = c;
    shape = malloc(sizeof(int64_t) * (size_t)(c ? c : 1));
    if (!shape) return EC_ERR_INTERNAL;
    if (c) memcpy(shape, a, sizeof(int64_t) * (size_t)c);
  } else if ((st = ec_in_const_ints(cx, n, 1, &shape, &count))) {
    return st;
  }
  int64_t dims[EC_MAX_RANK], known = 1;
  int infer_at = -1;
  if (count > EC_MAX_RANK) {
    free(shape);
    return ec_fail(cx, n, "target shape has rank %lld (edgecc supports up to %d)",
                   (long long)count, EC_MAX_RANK);
  }
  for (int k = 0; k < count; k++) {
    int64_t v = shape[k];
    if (v == 0 && !allowzero) {
      if (k >= x->rank) {
        free(shape);
        return ec_fail(cx, n, "shape[%d] is 0 (copy) but the input has rank %d", k, x->rank);
      }
      v = x->dims[k];
    } else if (v == -1) {
      if (infer_at >= 0) {
        free(shape);
        return ec_fail(cx, n, "shape has more than one -1");
      }
      infer_at = k;
      dims[k] = 1;
      continue;
    } else if (v < 0) {
      free(shape);
      return ec_fail(cx, n, "shape[%d] is %lld", k, (long long)v);
    }
    dims[k] = v;
    if (!ec_mul_overflow_i64(known, v, &known)) {
      free(shape);
      return ec_fail(cx, n, "target shape is too large");
    }
  }
  free(shape);
  int64_t total = ec_tensor_numel(x);
  if (infer_at >= 0) {
    if (known == 0 || total % known)
      return ec_fail(cx, n, "cannot infer the -1 dimension: %lld elements into blocks of %lld",
                     (long long)total, (long long)known);
    dims[infer_at] = total / known;
  } else if (known != total) {
    return ec_fail(cx, n, "cannot reshape %lld elements into a shape of %lld", (long long)total,
                   (long long)known);
  }
  return ec_set_output(cx, n, 0, x->dtype, (int)count, dims);
}

ec_status ec_infer_flatten(ec_ctx *cx, ec_node *n) {
  ec_status st = ec_check_arity(cx, n, 1, 1, 1, 1);
  if (st) return st;
  const ec_tensor *x = ec_in(cx, n, 0);
  int64_t axis;
  if ((st = ec_attr_int(cx, n, "axis", 1, &axis))) return st;
  if (axis < -x->rank || axis > x->rank)
    return ec_fail(cx, n, "axis %lld is out of range for rank %d", (long long)axis, x->rank);
  if (axis < 0) axis += x->rank;
  int64_t dims[2] = {1, 1};
  for (int k = 0; k < x->rank; k++) dims[k >= axis] *= x->dims[k];
  return ec_set_output(cx, n, 0, x->dtype, 2, dims);
}

/* Axes of Squeeze/Unsqueeze: an attribute before opset 13, an input from 13. *count = -1 when
 * absent. */
static ec_status read_axes(ec_ctx *cx, ec_node *n, int64_t opset_input, int64_t **axes,
                           int64_t *count) {
  *axes = NULL;
  *count = -1;
  if (cx->opset >= opset_input || n->n_inputs > 1) {
    if (!ec_in(cx, n, 1)) return EC_OK;
    return ec_in_const_ints(cx, n, 1, axes, count);
  }
  const int64_t *a;
  int c;
  ec_status st = ec_attr_ints(cx, n, "axes", &a, &c);
  if (st || c < 0) return st;
  *axes = malloc(sizeof(int64_t) * (size_t)(c ? c : 1));
  if (!*axes) return EC_ERR_INTERNAL;
  if (c) memcpy(*axes, a, sizeof(int64_t) * (size_t)c);
  *count = c;
  return EC_OK;
}

/* Normalises a list of axes against rank into a bit mask; fails on range or duplicates. */
static ec_status axes_mask(ec_ctx *cx, ec_node *n, const int64_t *axes, int64_t count, int rank,
                           uint32_t *mask) {
  *mask = 0;
  for (int64_t k = 0; k < count; k++) {
    int a;
    ec_status st = ec_norm_axis(cx, n, axes[k], rank, &a);
    if (st) return st;
    if (*mask & (1u << a)) return ec_fail(cx, n, "axis %lld is repeated", (long long)axes[k]);
    *mask |= 1u << a;
  }
  return EC_OK;
}

ec_status ec_infer_squeeze(ec_ctx *cx, ec_node *n) {
  ec_status st = ec_check_arity(cx, n, 1, 2, 1, 1);
  if (st) return st;
  const ec_tensor *x = ec_in(cx, n, 0);
  int64_t *axes, count;
  if ((st = read_axes(cx, n, 13, &axes, &count))) return st;
  uint32_t mask = 0;
  if (count < 0) {
    for (int k = 0; k < x->rank; k++)
      if (x->dims[k] == 1) mask |= 1u << k;
  } else {
    st = axes_mask(cx, n, axes, count, x->rank, &mask);
  }
  free(axes);
  if (st) return st;
  int64_t dims[EC_MAX_RANK];
  int r = 0;
  for (int k = 0; k < x->rank; k++) {
    if (!(mask & (1u << k))) {
      dims[r++] = x->dims[k];
    } else if (x->dims[k] != 1) {
      return ec_fail(cx, n, "cannot squeeze axis %d of size %lld", k, (long long)x->dims[k]);
    }
  }
  return ec_set_output(cx, n, 0, x->dtype, r, dims);
}

ec_status ec_infer_unsqueeze(ec_ctx *cx, ec_node *n) {
  ec_status st = ec_check_arity(cx, n, cx->opset >= 13 ? 2 : 1, 2, 1, 1);
  if (st) return st;
  const ec_tensor *x = ec_in(cx, n, 0);
  int64_t *axes, count;
  if ((st = read_axes(cx, n, 13, &axes, &count))) return st;
  if (count < 0) return ec_fail(cx, n, "required attribute 'axes' is missing");
  int r = x->rank + (int)count;
  uint32_t mask = 0;
  if (r > EC_MAX_RANK)
    st = ec_fail(cx, n, "output would have rank %d (edgecc supports up to %d)", r, EC_MAX_RANK);
  else
    st = axes_mask(cx, n, axes, count, r, &mask);
  free(axes);
  if (st) return st;
  int64_t dims[EC_MAX_RANK];
  for (int k = 0, j = 0; k < r; k++) dims[k] = (mask & (1u << k)) ? 1 : x->dims[j++];
  return ec_set_output(cx, n, 0, x->dtype, r, dims);
}

ec_status ec_infer_transpose(ec_ctx *cx, ec_node *n) {
  ec_status st = ec_check_arity(cx, n, 1, 1, 1, 1);
  if (st) return st;
  const ec_tensor *x = ec_in(cx, n, 0);
  const int64_t *perm;
  int c;
  if ((st = ec_attr_ints(cx, n, "perm", &perm, &c))) return st;
  eck_transpose_params *p = ec_params(cx, n, sizeof *p);
  if (!p) return EC_ERR_INTERNAL;
  if (c >= 0 && c != x->rank)
    return ec_fail(cx, n, "perm has %d entries for an input of rank %d", c, x->rank);
  uint32_t seen = 0;
  int64_t dims[EC_MAX_RANK];
  for (int k = 0; k < x->rank; k++) {
    int64_t a = c < 0 ? x->rank - 1 - k : perm[k];
    if (a < 0 || a >= x->rank || (seen & (1u << a)))
      return ec_fail(cx, n, "perm is not a permutation of 0..%d", x->rank - 1);
    seen |= 1u << a;
    p->perm[k] = (int32_t)a;
    dims[k] = x->dims[a];
  }
  return ec_set_output(cx, n, 0, x->dtype, x->rank, dims);
}

void ec_print_transpose(ec_buf *b, const ec_node *n) {
  const eck_transpose_params *p = n->params;
  ec_buf_printf(b, "{ .perm = {");
  for (int k = 0; k < EC_MAX_RANK; k++) ec_buf_printf(b, "%s%d", k ? ", " : " ", (int)p->perm[k]);
  ec_buf_printf(b, " } }");
}

void ec_print_axis(ec_buf *b, const ec_node *n) {
  const eck_axis_params *p = n->params;
  ec_buf_printf(b, "{ .axis = %d }", (int)p->axis);
}

ec_status ec_infer_concat(ec_ctx *cx, ec_node *n) {
  ec_status st = ec_check_arity(cx, n, 1, 1 << 16, 1, 1);
  if (st) return st;
  const ec_tensor *x = ec_in(cx, n, 0);
  int64_t axis;
  if (cx->opset >= 4 && (st = ec_attr_require(cx, n, "axis"))) return st;
  if ((st = ec_attr_int(cx, n, "axis", 1, &axis))) return st;
  int a;
  if (x->rank == 0) return ec_fail(cx, n, "cannot concatenate scalars");
  if ((st = ec_norm_axis(cx, n, axis, x->rank, &a))) return st;
  int64_t dims[EC_MAX_RANK];
  memcpy(dims, x->dims, sizeof dims);
  dims[a] = 0;
  for (int j = 0; j < n->n_inputs; j++) {
    const ec_tensor *t = ec_in(cx, n, j);
    if (!t) return ec_fail(cx, n, "input %d is missing", j);
    if (t->dtype != x->dtype)
      return ec_fail(cx, n, "input '%s' is %s, input '%s' is %s", t->name,
                     ec_dtype_name(t->dtype), x->name, ec_dtype_name(x->dtype));
    if (t->rank != x->rank)
      return ec_fail(cx, n, "input '%s' has rank %d, input '%s' rank %d", t->name, t->rank,
                     x->name, x->rank);
    for (int k = 0; k < x->rank; k++)
      if (k != a && t->dims[k] != x->dims[k])
        return ec_fail(cx, n, "input '%s' has size %lld on axis %d, input '%s' %lld", t->name,
                       (long long)t->dims[k], k, x->name, (long long)x->dims[k]);
    dims[a] += t->dims[a];
  }
  eck_axis_params *p = ec_params(cx, n, sizeof *p);
  if (!p) return EC_ERR_INTERNAL;
  p->axis = a;
  return ec_set_output(cx, n, 0, x->dtype, x->rank, dims);
}

ec_status ec_infer_split(ec_ctx *cx, ec_node *n) {
  ec_status st = ec_check_arity(cx, n, 1, 2, 1, 1 << 16);
  if (st) return st;
  const ec_tensor *x = ec_in(cx, n, 0);
  int64_t axis, num_outputs, *split = NULL, count = -1;
  int a;
  if ((st = ec_attr_int(cx, n, "axis", 0, &axis)) ||
      (st = ec_attr_int(cx, n, "num_outputs", 0, &num_outputs)) ||
      (st = ec_norm_axis(cx, n, axis, x->rank, &a)))
    return st;
  if (ec_in(cx, n, 1)) {
    if ((st = ec_in_const_ints(cx, n, 1, &split, &count))) return st;
  } else {
    const int64_t *s;
    int c;
    if ((st = ec_attr_ints(cx, n, "split", &s, &c))) return st;
    if (c >= 0) {
      split = malloc(sizeof(int64_t) * (size_t)(c ? c : 1));
      if (!split) return EC_ERR_INTERNAL;
      if (c) memcpy(split, s, sizeof(int64_t) * (size_t)c);
      count = c;
    }
  }
  int m = n->n_outputs;
  int64_t d = x->dims[a], sizes_sum = 0;
  if (count >= 0) {
    if (count != m) {
      free(split);
      return ec_fail(cx, n, "split has %lld entries for %d outputs", (long long)count, m);
    }
    for (int k = 0; k < m; k++) {
      if (split[k] < 0) {
        free(split);
        return ec_fail(cx, n, "split[%d] is negative", k);
      }
      sizes_sum += split[k];
    }
    if (sizes_sum != d) {
      free(split);
      return ec_fail(cx, n, "split sizes add up to %lld, axis %d has %lld", (long long)sizes_sum,
                     a, (long long)d);
    }
  } else {
    if (num_outputs && num_outputs != m)
      return ec_fail(cx, n, "num_outputs is %lld but the node has %d outputs",
                     (long long)num_outputs, m);
    int64_t chunk = num_outputs ? (d + m - 1) / m : d / m;
    if (!num_outputs && d % m)
      return ec_fail(cx, n, "axis %d of size %lld does not split evenly into %d outputs", a,
                     (long long)d, m);
    split = malloc(sizeof(int64_t) * (size_t)m);
    if (!split) return EC_ERR_INTERNAL;
    for (int k = 0; k < m; k++) {
      split[k] = d - sizes_sum < chunk ? d - sizes_sum : chunk;
      sizes_sum += split[k];
    }
  }
  eck_axis_params *p = ec_params(cx, n, sizeof *p);
  if (!p) {
    free(split);
    return EC_ERR_INTERNAL;
  }
  p->axis = a;
  int64_t dims[EC_MAX_RANK];
  memcpy(dims, x->dims, sizeof dims);
  for (int k = 0; k < m && !st; k++) {
    dims[a] = split[k];
    st = ec_set_output(cx, n, k, x->dtype, x->rank, dims);
  }
  free(split);
  return st;
}

/* Slice's operands: attributes before opset 10, inputs from 10. */
static ec_status slice_operand(ec_ctx *cx, ec_node *n, int input, const char *attr,
                               int64_t **v, int64_t *count) {
  *v = NULL;
  *count = -1;
  if (cx->opset >= 10) {
    if (!ec_in(cx, n, input)) return EC_OK;
    return ec_in_const_ints(cx, n, input, v, count);
  }
  const int64_t *a;
  int c;
  ec_status st = ec_attr_ints(cx, n, attr, &a, &c);
  if (st || c < 0) return st;
  *v = malloc(sizeof(int64_t) * (size_t)(c ? c : 1));
  if (!*v) return EC_ERR_INTERNAL;
  if (c) memcpy(*v, a, sizeof(int64_t) * (size_t)c);
  *count = c;
  return EC_OK;
}

/* Whether Slice n takes its starts and ends at run time: inside a subgraph (a Loop body slicing
 * at the iteration number), where they are not constants, its output extent is found per run,
 * bounded by its input. In the model's graph they stay shape operands (frozen or folded), so a
 * static shape is never given up there. */
static bool slice_at_run_time(ec_ctx *cx, ec_node *n) {
  return cx->opset >= 10 && cx->g->parent && ec_in(cx, n, 1) && ec_in(cx, n, 2) &&
         (!ec_in_is_const(cx, n, 1) || !ec_in_is_const(cx, n, 2));
}

/* The entry count of a run-time starts or ends operand: a 1-D int32 or int64 tensor. */
static ec_status slice_run_count(ec_ctx *cx, ec_node *n, int i, int64_t *count) {
  const ec_tensor *t = ec_in(cx, n, i);
  if (t->dtype != ECK_INT64 && t->dtype != ECK_INT32)
    return ec_fail(cx, n, "input '%s' must be int32 or int64, is %s", t->name, ec_dtype_name(t->dtype));
  if (t->rank != 1) return ec_fail(cx, n, "input '%s' must be 1-D (it has rank %d)", t->name, t->rank);
  *count = t->dims[0];
  return EC_OK;
}

ec_status ec_infer_slice(ec_ctx *cx, ec_node *n) {
  bool old = cx->opset < 10;
  ec_status st = ec_check_arity(cx, n, old ? 1 : 3, old ? 1 : 5, 1, 1);
  if (st) return st;
  if (old && ((st = ec_attr_require(cx, n, "starts")) || (st = ec_attr_require(cx, n, "ends"))))
    return st;
  const ec_tensor *x = ec_in(cx, n, 0);
  bool run = slice_at_run_time(cx, n);
  int64_t *v[4] = {NULL, NULL, NULL, NULL}, c[4];
  static const char *names[4] = {"starts", "ends", "axes", "steps"};
  for (int k = 0; k < 4 && !st; k++)
    st = run && k < 2 ? slice_run_count(cx, n, k + 1, &c[k]) : slice_operand(cx, n, k + 1, names[k], &v[k], &c[k]);
  eck_slice_params *p = st ? NULL : ec_params(cx, n, sizeof *p);
  int64_t dims[EC_MAX_RANK];
  uint8_t dyn = 0;
  if (!st && !p) st = EC_ERR_INTERNAL;
  if (!st && c[0] != c[1])
    st = ec_fail(cx, n, "starts has %lld entries, ends %lld", (long long)c[0], (long long)c[1]);
  for (int k = 2; k < 4 && !st; k++)
    if (c[k] >= 0 && c[k] != c[0])
      st = ec_fail(cx, n, "%s has %lld entries, starts %lld", names[k], (long long)c[k],
                   (long long)c[0]);
  if (!st) {
    for (int k = 0; k < x->rank; k++) {
      p->starts[k] = 0;
      p->steps[k] = 1;
      dims[k] = x->dims[k];
    }
    uint32_t seen = 0;
    for (int64_t j = 0; j < c[0] && !st; j++) {
      int a;
      if ((st = ec_norm_axis(cx, n, c[2] >= 0 ? v[2][j] : j, x->rank, &a))) break;
      if (seen & (1u << a)) {
        st = ec_fail(cx, n, "axis %d is repeated", a);
        break;
      }
      seen |= 1u << a;
      int64_t d = x->dims[a], step = c[3] >= 0 ? v[3][j] : 1;
      if (step == 0) {
        st = ec_fail(cx, n, "steps[%lld] is 0", (long long)j);
        break;
      }
      p->steps[a] = step;
      if (run) { /* at most every step-th element of the dimension; the kernel finds how many */
        int64_t mag = step < 0 ? -step : step;
        p->axes[j] = a;
        dims[a] = (d + mag - 1) / mag;
        dyn |= (uint8_t)(1u << a);
        continue;
      }
      int64_t s = v[0][j];
      dims[a] = eck_slice_range(d, &s, v[1][j], step);
      p->starts[a] = s;
    }
  }
  for (int k = 0; k < 4; k++) free(v[k]);
  if (st) return st;
  if (!run) return ec_set_output(cx, n, 0, x->dtype, x->rank, dims);
  p->n_run = (int32_t)c[0];
  n->own_extent = true;
  return ec_set_output_bound(cx, n, 0, x->dtype, x->rank, dims, dyn);
}

void ec_print_slice(ec_buf *b, const ec_node *n) {
  const eck_slice_params *p = n->params;
  ec_buf_printf(b, "{ .starts = {");
  for (int k = 0; k < EC_MAX_RANK; k++)
    ec_buf_printf(b, "%s%lld", k ? ", " : " ", (long long)p->starts[k]);
  ec_buf_printf(b, " }, .steps = {");
  for (int k = 0; k < EC_MAX_RANK; k++)
    ec_buf_printf(b, "%s%lld", k ? ", " : " ", (long long)p->steps[k]);
  ec_buf_printf(b, " }");
  if (p->n_run) { /* starts and ends read at run time */
    ec_buf_printf(b, ", .n_run = %d, .axes = {", (int)p->n_run);
    for (int k = 0; k < p->n_run; k++) ec_buf_printf(b, "%s%d", k ? ", " : " ", (int)p->axes[k]);
    ec_buf_printf(b, " }");
  }
  ec_buf_printf(b, " }");
}

ec_status ec_infer_expand(ec_ctx *cx, ec_node *n) {
  ec_status st = ec_check_arity(cx, n, 2, 2, 1, 1);
  if (st) return st;
  const ec_tensor *x = ec_in(cx, n, 0);
  int64_t *shape, count;
  if ((st = ec_in_const_ints(cx, n, 1, &shape, &count))) return st;
  if (count > EC_MAX_RANK) {
    free(shape);
    return ec_fail(cx, n, "shape has rank %lld (edgecc supports up to %d)", (long long)count,
                   EC_MAX_RANK);
  }
  ec_tensor t;
  memset(&t, 0, sizeof t);
  t.name = "shape";
  t.rank = (int)count;
  for (int k = 0; k < count; k++) {
    if (shape[k] < 0) {
      free(shape);
      return ec_fail(cx, n, "shape[%d] is negative", k);
    }
    t.dims[k] = shape[k];
  }
  free(shape);
  const ec_tensor *ts[2] = {x, &t};
  int64_t dims[EC_MAX_RANK];
  int r;
  if ((st = ec_broadcast(cx, n, ts, 2, &r, dims))) return st;
  return ec_set_output(cx, n, 0, x->dtype, r, dims);
}

ec_status ec_infer_tile(ec_ctx *cx, ec_node *n) {
  ec_status st = ec_check_arity(cx, n, 2, 2, 1, 1);
  if (st) return st;
  const ec_tensor *x = ec_in(cx, n, 0);
  int64_t *rep, count, dims[EC_MAX_RANK];
  if ((st = ec_in_const_ints(cx, n, 1, &rep, &count))) return st;
  if (count != x->rank) st = ec_fail(cx, n, "repeats has %lld entries for an input of rank %d",
                                     (long long)count, x->rank);
  for (int k = 0; k < x->rank && !st; k++) {
    if (rep[k] < 0) st = ec_fail(cx, n, "repeats[%d] is negative", k);
    else if (!ec_mul_overflow_i64(x->dims[k], rep[k], &dims[k]))
      st = ec_fail(cx, n, "output is too large");
  }
  free(rep);
  if (st) return st;
  return ec_set_output(cx, n, 0, x->dtype, x->rank, dims);
}

ec_status ec_infer_pad(ec_ctx *cx, ec_node *n) {
  bool old = cx->opset < 11;
  ec_status st = ec_check_arity(cx, n, old ? 1 : 2, old ? 1 : 3, 1, 1);
  if (st) return st;
  const ec_tensor *x = ec_in(cx, n, 0);
  const char *mode;
  if ((st = ec_attr_string(cx, n, "mode", "constant", &mode))) return st;
  eck_pad_params *p = ec_params(cx, n, sizeof *p);
  if (!p) return EC_ERR_INTERNAL;
  if (strcmp(mode, "constant") == 0) p->mode = ECK_PAD_CONSTANT;
  else if (strcmp(mode, "reflect") == 0) p->mode = ECK_PAD_REFLECT;
  else if (strcmp(mode, "edge") == 0) p->mode = ECK_PAD_EDGE;
  else return ec_fail(cx, n, "mode '%s' is not supported (constant, reflect, edge)", mode);
  int64_t *pads = NULL, count;
  if (old) {
    const char *name = cx->opset < 2 ? "paddings" : "pads";
    const int64_t *a;
    int c;
    float value;
    if ((st = ec_attr_require(cx, n, name)) || (st = ec_attr_ints(cx, n, name, &a, &c)) ||
        (st = ec_attr_float(cx, n, "value", 0.0f, &value)))
      return st;
    p->value = value;
    pads = malloc(sizeof(int64_t) * (size_t)(c ? c : 1));
    if (!pads) return EC_ERR_INTERNAL;
    if (c) memcpy(pads, a, sizeof(int64_t) * (size_t)c);
    count = c;
  } else {
    if ((st = ec_in_const_ints(cx, n, 1, &pads, &count))) return st;
    const ec_tensor *v = ec_in(cx, n, 2);
    if (v && v->dtype != x->dtype) {
      free(pads);
      return ec_fail(cx, n, "constant_value is %s, data is %s", ec_dtype_name(v->dtype),
                     ec_dtype_name(x->dtype));
    }
    p->has_value_input = 1;
  }
  int64_t dims[EC_MAX_RANK];
  if (count != 2 * x->rank)
    st = ec_fail(cx, n, "pads has %lld entries for an input of rank %d", (long long)count,
                 x->rank);
  for (int k = 0; k < x->rank && !st; k++) {
    p->pads[k] = pads[k];
    p->pads[EC_MAX_RANK + k] = pads[x->rank + k];
    dims[k] = x->dims[k] + pads[k] + pads[x->rank + k];
    if (dims[k] < 0)
      st = ec_fail(cx, n, "pads make axis %d negative (%lld)", k, (long long)dims[k]);
    else if (p->mode != ECK_PAD_CONSTANT && x->dims[k] == 0 && dims[k] > 0)
      st = ec_fail(cx, n, "cannot %s-pad the empty axis %d", mode, k);
  }
  free(pads);
  if (st) return st;
  return ec_set_output(cx, n, 0, x->dtype, x->rank, dims);
}

void ec_print_pad(ec_buf *b, const ec_node *n) {
  const eck_pad_params *p = n->params;
  static const char *const modes[] = {"ECK_PAD_CONSTANT", "ECK_PAD_REFLECT", "ECK_PAD_EDGE"};
  ec_buf_printf(b, "{ .mode = %s, .pads = {", p->mode >= 0 && p->mode <= 2 ? modes[p->mode] : "0");
  for (int k = 0; k < 2 * EC_MAX_RANK; k++)
    ec_buf_printf(b, "%s%lld", k ? ", " : " ", (long long)p->pads[k]);
  ec_buf_printf(b, " }, .has_value_input = %d, .value = %a }", (int)p->has_value_input, p->value);
}
