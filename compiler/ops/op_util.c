/* op_util.c — the helpers infer functions share: attribute getters, input checks, output
 * shapes, broadcasting, reading constant operands. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "op.h"

const int32_t ec_dt_float[] = {ECK_FLOAT, ECK_DOUBLE, ECK_FLOAT16, ECK_BFLOAT16, 0};
const int32_t ec_dt_int[] = {ECK_INT8,  ECK_INT16,  ECK_INT32,  ECK_INT64,
                             ECK_UINT8, ECK_UINT16, ECK_UINT32, ECK_UINT64, 0};
const int32_t ec_dt_numeric[] = {ECK_FLOAT,  ECK_DOUBLE, ECK_FLOAT16, ECK_BFLOAT16,
                                 ECK_INT8,   ECK_INT16,  ECK_INT32,   ECK_INT64,
                                 ECK_UINT8,  ECK_UINT16, ECK_UINT32,  ECK_UINT64, 0};
const int32_t ec_dt_index[] = {ECK_INT32, ECK_INT64, 0};
const int32_t ec_dt_all[] = {ECK_FLOAT, ECK_DOUBLE, ECK_FLOAT16, ECK_BFLOAT16, ECK_INT8,
                             ECK_INT16, ECK_INT32,  ECK_INT64,   ECK_UINT8,    ECK_UINT16,
                             ECK_UINT32, ECK_UINT64, ECK_BOOL,   0};

bool ec_dtype_in(int32_t dt, const int32_t *set) {
  if (!set) return true;
  for (; *set; set++)
    if (*set == dt) return true;
  return false;
}

ec_status ec_fail(ec_ctx *cx, const ec_node *n, const char *fmt, ...) {
  char where[512] = "";
  if (n) ec_node_describe(cx->g, n, where, sizeof where);
  va_list ap;
  va_start(ap, fmt);
  ec_diag_vset(cx->diag, cx->g->source_path, where, fmt, ap);
  va_end(ap);
  return EC_ERR_MODEL;
}

ec_status ec_check_arity(ec_ctx *cx, const ec_node *n, int min_in, int max_in, int min_out,
                         int max_out) {
  if (n->n_inputs < min_in || n->n_inputs > max_in) {
    if (min_in == max_in) return ec_fail(cx, n, "expects %d inputs, has %d", min_in, n->n_inputs);
    return ec_fail(cx, n, "expects %d to %d inputs, has %d", min_in, max_in, n->n_inputs);
  }
  for (int i = 0; i < min_in; i++)
    if (n->inputs[i] < 0) return ec_fail(cx, n, "required input %d is missing", i);
  if (n->n_outputs < min_out || n->n_outputs > max_out) {
    if (min_out == max_out)
      return ec_fail(cx, n, "expects %d outputs, has %d", min_out, n->n_outputs);
    return ec_fail(cx, n, "expects %d to %d outputs, has %d", min_out, max_out, n->n_outputs);
  }
  return EC_OK;
}

ec_tensor *ec_in(ec_ctx *cx, const ec_node *n, int i) {
  if (i < 0 || i >= n->n_inputs || n->inputs[i] < 0) return NULL;
  return &cx->g->tensors[n->inputs[i]];
}

ec_tensor *ec_out(ec_ctx *cx, const ec_node *n, int i) {
  if (i < 0 || i >= n->n_outputs || n->outputs[i] < 0) return NULL;
  return &cx->g->tensors[n->outputs[i]];
}

bool ec_in_is_const(ec_ctx *cx, const ec_node *n, int i) {
  ec_tensor *t = ec_in(cx, n, i);
  return t && t->kind == EC_TK_CONSTANT && (t->data || t->nbytes == 0);
}

ec_status ec_check_input(ec_ctx *cx, const ec_node *n, int i, const int32_t *dtypes) {
  ec_tensor *t = ec_in(cx, n, i);
  if (!t) return ec_fail(cx, n, "input %d is missing", i);
  if (t->rank < 0) return ec_fail(cx, n, "input '%s' has no known shape", t->name);
  if (!ec_dtype_in(t->dtype, dtypes))
    return ec_fail(cx, n, "input '%s' has unsupported dtype %s", t->name, ec_dtype_name(t->dtype));
  return EC_OK;
}

static ec_status not_const(ec_ctx *cx, const ec_node *n, int i) {
  ec_tensor *t = ec_in(cx, n, i);
  if (!t) return ec_fail(cx, n, "input %d is missing", i);
  if (t->kind == EC_TK_INPUT)
    return ec_fail(cx, n,
                   "input '%s' is a shape operand and must be constant; freeze it with "
                   "--freeze-input %s=FILE.pb",
                   t->name, t->name);
  return ec_fail(cx, n,
                 "input '%s' is a shape operand and must be constant, but it is computed at "
                 "run time",
                 t->name);
}

ec_status ec_in_const_ints(ec_ctx *cx, const ec_node *n, int i, int64_t **vals, int64_t *count) {
  *vals = NULL;
  *count = 0;
  if (!ec_in_is_const(cx, n, i)) return not_const(cx, n, i);
  ec_tensor *t = ec_in(cx, n, i);
  if (t->dtype != ECK_INT64 && t->dtype != ECK_INT32)
    return ec_fail(cx, n, "input '%s' must be int32 or int64, is %s", t->name,
                   ec_dtype_name(t->dtype));
  int64_t c = ec_tensor_numel(t);
  if (c < 0) return ec_fail(cx, n, "input '%s' has no known shape", t->name);
  int64_t *v = malloc(sizeof(int64_t) * (size_t)(c ? c : 1));
  if (!v) return EC_ERR_INTERNAL;
  for (int64_t k = 0; k < c; k++) {
    if (t->dtype == ECK_INT64) {
      memcpy(&v[k], (const char *)t->data + 8 * k, 8);
    } else {
      int32_t x;
      memcpy(&x, (const char *)t->data + 4 * k, 4);
      v[k] = x;
    }
  }
  *vals = v;
  *count = c;
  return EC_OK;
}

ec_status ec_in_const_floats(ec_ctx *cx, const ec_node *n, int i, double **vals,
                             int64_t *count) {
  *vals = NULL;
  *count = 0;
  if (!ec_in_is_const(cx, n, i)) return not_const(cx, n, i);
  ec_tensor *t = ec_in(cx, n, i);
  int64_t c = ec_tensor_numel(t);
  if (c < 0) return ec_fail(cx, n, "input '%s' has no known shape", t->name);
  double *v = malloc(sizeof(double) * (size_t)(c ? c : 1));
  if (!v) return EC_ERR_INTERNAL;
  for (int64_t k = 0; k < c; k++) {
    const char *p = (const char *)t->data;
    switch (t->dtype) {
      case ECK_FLOAT: {
        float x;
        memcpy(&x, p + 4 * k, 4);
        v[k] = x;
        break;
      }
      case ECK_DOUBLE: memcpy(&v[k], p + 8 * k, 8); break;
      case ECK_FLOAT16: {
        uint16_t h;
        memcpy(&h, p + 2 * k, 2);
        v[k] = eck_f16_to_f32(h);
        break;
      }
      case ECK_BFLOAT16: {
        uint16_t h;
        memcpy(&h, p + 2 * k, 2);
        v[k] = eck_bf16_to_f32(h);
        break;
      }
      default:
        free(v);
        return ec_fail(cx, n, "input '%s' must be a floating-point tensor, is %s", t->name,
                       ec_dtype_name(t->dtype));
    }
  }
  *vals = v;
  *count = c;
  return EC_OK;
}

ec_attr *ec_attr_get(ec_node *n, const char *name) {
  for (int i = 0; i < n->n_attrs; i++)
    if (strcmp(n->attrs[i].name, name) == 0) {
      n->attrs[i].used = true;
      return &n->attrs[i];
    }
  return NULL;
}

static ec_status bad_type(ec_ctx *cx, ec_node *n, const char *name, const char *want) {
  return ec_fail(cx, n, "attribute '%s' must be %s", name, want);
}

ec_status ec_attr_int(ec_ctx *cx, ec_node *n, const char *name, int64_t dflt, int64_t *out) {
  ec_attr *a = ec_attr_get(n, name);
  *out = dflt;
  if (!a) return EC_OK;
  if (a->type != EC_ATTR_INT) return bad_type(cx, n, name, "an int");
  *out = a->i;
  return EC_OK;
}

ec_status ec_attr_bool(ec_ctx *cx, ec_node *n, const char *name, int64_t dflt, int64_t *out) {
  ec_status st = ec_attr_int(cx, n, name, dflt, out);
  if (!st && *out != 0 && *out != 1)
    return ec_fail(cx, n, "attribute '%s' must be 0 or 1, is %lld", name, (long long)*out);
  return st;
}

ec_status ec_attr_float(ec_ctx *cx, ec_node *n, const char *name, float dflt, float *out) {
  ec_attr *a = ec_attr_get(n, name);
  *out = dflt;
  if (!a) return EC_OK;
  if (a->type != EC_ATTR_FLOAT) return bad_type(cx, n, name, "a float");
  *out = a->f;
  return EC_OK;
}

ec_status ec_attr_ints(ec_ctx *cx, ec_node *n, const char *name, const int64_t **out,
                       int *count) {
  ec_attr *a = ec_attr_get(n, name);
  *out = NULL;
  *count = -1;
  if (!a) return EC_OK;
  if (a->type != EC_ATTR_INTS) return bad_type(cx, n, name, "a list of ints");
  *out = a->ints;
  *count = a->n;
  return EC_OK;
}

ec_status ec_attr_floats(ec_ctx *cx, ec_node *n, const char *name, const float **out,
                         int *count) {
  ec_attr *a = ec_attr_get(n, name);
  *out = NULL;
  *count = -1;
  if (!a) return EC_OK;
  if (a->type != EC_ATTR_FLOATS) return bad_type(cx, n, name, "a list of floats");
  *out = a->floats;
  *count = a->n;
  return EC_OK;
}

ec_status ec_attr_string(ec_ctx *cx, ec_node *n, const char *name, const char *dflt,
                         const char **out) {
  ec_attr *a = ec_attr_get(n, name);
  *out = dflt;
  if (!a) return EC_OK;
  if (a->type != EC_ATTR_STRING) return bad_type(cx, n, name, "a string");
  *out = a->s;
  return EC_OK;
}

ec_status ec_attr_tensor(ec_ctx *cx, ec_node *n, const char *name, const ec_const **out) {
  ec_attr *a = ec_attr_get(n, name);
  *out = NULL;
  if (!a) return EC_OK;
  if (a->type != EC_ATTR_TENSOR || !a->t) return bad_type(cx, n, name, "a tensor");
  *out = a->t;
  return EC_OK;
}

ec_status ec_attr_require(ec_ctx *cx, ec_node *n, const char *name) {
  for (int i = 0; i < n->n_attrs; i++)
    if (strcmp(n->attrs[i].name, name) == 0) return EC_OK;
  return ec_fail(cx, n, "required attribute '%s' is missing", name);
}

ec_status ec_set_output(ec_ctx *cx, ec_node *n, int i, int32_t dtype, int rank,
                        const int64_t *dims) {
  ec_tensor *t = ec_out(cx, n, i);
  if (!t) return EC_OK;
  if (rank < 0 || rank > EC_MAX_RANK)
    return ec_fail(cx, n, "output '%s' would have rank %d (edgecc supports up to %d)", t->name,
                   rank, EC_MAX_RANK);
  if (!ec_dtype_valid(dtype) || dtype == ECK_STRING || dtype == ECK_COMPLEX64 ||
      dtype == ECK_COMPLEX128)
    return ec_fail(cx, n, "output '%s' would have unsupported dtype %s", t->name,
                   ec_dtype_name(dtype));
  int64_t bytes = (int64_t)ec_dtype_size(dtype);
  for (int k = 0; k < rank; k++) {
    if (dims[k] < 0)
      return ec_fail(cx, n, "output '%s' would have a negative dimension (%lld)", t->name,
                     (long long)dims[k]);
    if (!ec_mul_overflow_i64(bytes, dims[k], &bytes) || bytes > ((int64_t)1 << 40))
      return ec_fail(cx, n, "output '%s' would be too large", t->name);
  }
  t->dtype = dtype;
  t->rank = rank;
  t->dyn = 0; /* a bound only where ec_set_output_bound or ec_infer_node says so */
  for (int k = 0; k < rank; k++) t->dims[k] = dims[k];
  return EC_OK;
}

ec_status ec_set_output_like(ec_ctx *cx, ec_node *n, int i, const ec_tensor *t) {
  return ec_set_output(cx, n, i, t->dtype, t->rank, t->dims);
}

ec_status ec_set_output_bound(ec_ctx *cx, ec_node *n, int i, int32_t dtype, int rank,
                              const int64_t *dims, uint8_t dyn) {
  ec_status st = ec_set_output(cx, n, i, dtype, rank, dims);
  ec_tensor *t = ec_out(cx, n, i);
  if (!st && t) t->dyn = (uint8_t)(dyn & ((1u << rank) - 1));
  return st;
}

ec_status ec_broadcast(ec_ctx *cx, const ec_node *n, const ec_tensor *const *ts, int count,
                       int *rank, int64_t *dims) {
  int r = 0;
  for (int i = 0; i < count; i++) {
    if (ts[i]->rank < 0) return ec_fail(cx, n, "input '%s' has no known shape", ts[i]->name);
    if (ts[i]->rank > r) r = ts[i]->rank;
  }
  for (int k = 0; k < r; k++) dims[k] = 1;
  for (int i = 0; i < count; i++) {
    int off = r - ts[i]->rank;
    for (int k = 0; k < ts[i]->rank; k++) {
      int64_t d = ts[i]->dims[k], *o = &dims[off + k];
      if (d == *o || d == 1) continue;
      if (*o == 1) {
        *o = d;
        continue;
      }
      return ec_fail(cx, n, "shapes cannot be broadcast (dimension %d: %lld vs %lld)", off + k,
                     (long long)*o, (long long)d);
    }
  }
  *rank = r;
  return EC_OK;
}

ec_status ec_norm_axis(ec_ctx *cx, const ec_node *n, int64_t axis, int rank, int *out) {
  if (axis < -rank || axis >= rank || (rank == 0 && axis != 0))
    return ec_fail(cx, n, "axis %lld is out of range for rank %d", (long long)axis, rank);
  *out = (int)(axis < 0 ? axis + rank : axis);
  return EC_OK;
}

void *ec_params(ec_ctx *cx, ec_node *n, size_t size) {
  free(n->params);
  n->params = ec_alloc(size);
  n->params_size = n->params ? size : 0;
  if (!n->params) ec_fail(cx, n, "out of memory");
  return n->params;
}

void ec_cost_elementwise(const ec_graph *g, const ec_node *n, ec_cost *c) {
  double out = 0, bytes = 0;
  for (int k = 0; k < n->n_outputs; k++) {
    if (n->outputs[k] < 0) continue;
    const ec_tensor *t = &g->tensors[n->outputs[k]];
    double e = (double)ec_tensor_numel(t);
    out += e;
    bytes += e * (double)ec_dtype_size(t->dtype);
  }
  for (int k = 0; k < n->n_inputs; k++) {
    if (n->inputs[k] < 0) continue;
    const ec_tensor *t = &g->tensors[n->inputs[k]];
    bytes += (double)ec_tensor_numel(t) * (double)ec_dtype_size(t->dtype);
  }
  c->flops = out;
  c->macs = 0;
  c->bytes = bytes;
}

void ec_cost_none(const ec_graph *g, const ec_node *n, ec_cost *c) {
  ec_cost_elementwise(g, n, c);
  c->flops = 0;
}
