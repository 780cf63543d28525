/* tensor_reduce.c — reference kernels of reductions (Reduce*), ArgMax/ArgMin and CumSum.
 * Floats accumulate in double; integers in 64-bit two's complement, exact for every width. */
#include <math.h>
#include <string.h>

#include "eck_ref.h"

static void strides_of(const eck_tensor *t, int64_t *s) {
  int64_t acc = 1;
  for (int k = t->rank - 1; k >= 0; k--) {
    s[k] = acc;
    acc *= t->dims[k];
  }
}

/* Iterates the offsets of a sub-grid (dims, strides): *off follows, returns 0 at the end. */
static int step(int64_t *idx, const int64_t *dims, const int64_t *st, int r, int64_t *off) {
  for (int k = r - 1; k >= 0; k--) {
    *off += st[k];
    if (++idx[k] < dims[k]) return 1;
    *off -= st[k] * idx[k];
    idx[k] = 0;
  }
  return 0;
}

static double reduce_float(const eck_tensor *x, int fn, int64_t base, int nr, const int64_t *rd,
                           const int64_t *rs, int64_t count) {
  int64_t idx[ECK_MAX_RANK] = {0}, off = base;
  double acc = (fn == ECK_REDUCE_PROD) ? 1.0 : 0.0, m = -INFINITY;
  if (fn == ECK_REDUCE_MAX) acc = -INFINITY;
  if (fn == ECK_REDUCE_MIN) acc = INFINITY;
  if (count == 0) return fn == ECK_REDUCE_LOGSUM || fn == ECK_REDUCE_LOGSUMEXP ? -INFINITY : acc;
  if (fn == ECK_REDUCE_LOGSUMEXP) {
    do {
      double v = eck_load_f64(x->data, x->dtype, off);
      if (v > m || isnan(v)) m = v;
    } while (step(idx, rd, rs, nr, &off));
    if (isinf(m)) m = 0;
    off = base;
  }
  do {
    double v = eck_load_f64(x->data, x->dtype, off);
    switch (fn) {
      case ECK_REDUCE_SUM: case ECK_REDUCE_MEAN: case ECK_REDUCE_LOGSUM: acc += v; break;
      case ECK_REDUCE_MAX: if (v > acc || isnan(v)) acc = isnan(acc) ? acc : v; break;
      case ECK_REDUCE_MIN: if (v < acc || isnan(v)) acc = isnan(acc) ? acc : v; break;
      case ECK_REDUCE_PROD: acc *= v; break;
      case ECK_REDUCE_L1: acc += fabs(v); break;
      case ECK_REDUCE_L2: case ECK_REDUCE_SUMSQUARE: acc += v * v; break;
      case ECK_REDUCE_LOGSUMEXP: acc += exp(v - m); break;
      default: break;
    }
  } while (step(idx, rd, rs, nr, &off));
  switch (fn) {
    case ECK_REDUCE_MEAN: return acc / (double)count;
    case ECK_REDUCE_L2: return sqrt(acc);
    case ECK_REDUCE_LOGSUM: return log(acc);
    case ECK_REDUCE_LOGSUMEXP: return log(acc) + m;
    default: return acc;
  }
}

static int reduce_int(const eck_tensor *x, eck_tensor *y, int64_t o, int fn, int64_t base, int nr,
                      const int64_t *rd, const int64_t *rs, int64_t count) {
  int64_t idx[ECK_MAX_RANK] = {0}, off = base, best = base;
  int uns = eck_dtype_is_unsigned(x->dtype);
  uint64_t acc = fn == ECK_REDUCE_PROD ? 1 : 0;
  if (fn == ECK_REDUCE_L2 || fn == ECK_REDUCE_LOGSUM || fn == ECK_REDUCE_LOGSUMEXP) {
    eck_store_f64(y->data, y->dtype, o, reduce_float(x, fn, base, nr, rd, rs, count));
    return ECK_OK;
  }
  if (count == 0) {
    if (fn == ECK_REDUCE_MAX || fn == ECK_REDUCE_MIN) return ECK_ERR_ARG;
    eck_store_i64(y->data, y->dtype, o, (int64_t)acc);
    return ECK_OK;
  }
  do {
    int64_t v = eck_load_i64(x->data, x->dtype, off);
    switch (fn) {
      case ECK_REDUCE_SUM: case ECK_REDUCE_MEAN: acc += (uint64_t)v; break;
      case ECK_REDUCE_PROD: acc *= (uint64_t)v; break;
      case ECK_REDUCE_L1: acc += (uint64_t)(!uns && v < 0 ? -(uint64_t)v : (uint64_t)v); break;
      case ECK_REDUCE_SUMSQUARE: acc += (uint64_t)v * (uint64_t)v; break;
      case ECK_REDUCE_MAX:
        if (eck_cmp_elem(x->data, off, x->data, best, x->dtype) > 0) best = off;
        break;
      case ECK_REDUCE_MIN:
        if (eck_cmp_elem(x->data, off, x->data, best, x->dtype) < 0) best = off;
        break;
      default: return ECK_ERR_ARG;
    }
  } while (step(idx, rd, rs, nr, &off));
  if (fn == ECK_REDUCE_MAX || fn == ECK_REDUCE_MIN) {
    eck_copy_elem(y->data, o, x->data, best, eck_dtype_size(x->dtype));
    return ECK_OK;
  }
  if (fn == ECK_REDUCE_MEAN)
    acc = uns ? acc / (uint64_t)count : (uint64_t)((int64_t)acc / count);
  eck_store_i64(y->data, y->dtype, o, (int64_t)acc);
  return ECK_OK;
}

int eck_ref_reduce(const void *params, const eck_tensor *in, int n_in, eck_tensor *out,
                   int n_out, void *scratch) {
  (void)n_in; (void)n_out; (void)scratch;
  const eck_reduce_params *p = params;
  const eck_tensor *x = &in[0];
  int64_t xs[ECK_MAX_RANK], kd[ECK_MAX_RANK], ks[ECK_MAX_RANK], rd[ECK_MAX_RANK], rs[ECK_MAX_RANK];
  int nk = 0, nr = 0;
  int64_t count = 1, nout = 1;
  strides_of(x, xs);
  for (int k = 0; k < x->rank; k++) {
    if (p->axes & (1u << k)) {
      rd[nr] = x->dims[k];
      rs[nr++] = xs[k];
      count *= x->dims[k];
    } else {
      kd[nk] = x->dims[k];
      ks[nk++] = xs[k];
      nout *= x->dims[k];
    }
  }
  if (nout == 0) return ECK_OK;
  int64_t idx[ECK_MAX_RANK] = {0}, base = 0, o = 0;
  int fl = eck_dtype_is_float(x->dtype);
  do {
    if (fl) {
      eck_store_f64(out[0].data, out[0].dtype, o, reduce_float(x, p->fn, base, nr, rd, rs, count));
    } else {
      int rc = reduce_int(x, &out[0], o, p->fn, base, nr, rd, rs, count);
      if (rc) return rc;
    }
    o++;
  } while (step(idx, kd, ks, nk, &base));
  return ECK_OK;
}

int eck_ref_arg(const void *params, const eck_tensor *in, int n_in, eck_tensor *out, int n_out,
                void *scratch) {
  (void)n_in; (void)n_out; (void)scratch;
  const eck_arg_params *p = params;
  const eck_tensor *x = &in[0];
  int64_t outer = 1, inner = 1, d = x->dims[p->axis];
  for (int k = 0; k < p->axis; k++) outer *= x->dims[k];
  for (int k = p->axis + 1; k < x->rank; k++) inner *= x->dims[k];
  if (d == 0) return (outer > 0 && inner > 0) ? ECK_ERR_ARG : ECK_OK;
  int64_t *o = out[0].data;
  int fl = eck_dtype_is_float(x->dtype);
  for (int64_t a = 0; a < outer; a++)
    for (int64_t c = 0; c < inner; c++) {
      int64_t base = a * d * inner + c, best = 0;
      for (int64_t j = 1; j < d; j++) {
        if (fl && isnan(eck_load_f64(x->data, x->dtype, base + best * inner))) break;
        if (fl && isnan(eck_load_f64(x->data, x->dtype, base + j * inner))) {
          best = j;
          break;
        }
        int cmp = eck_cmp_elem(x->data, base + j * inner, x->data, base + best * inner, x->dtype);
        if (p->is_min) cmp = -cmp;
        if (cmp > 0 || (cmp == 0 && p->select_last)) best = j;
      }
      o[a * inner + c] = best;
    }
  return ECK_OK;
}

int eck_ref_cumsum(const void *params, const eck_tensor *in, int n_in, eck_tensor *out,
                   int n_out, void *scratch) {
  (void)n_out; (void)scratch;
  const eck_cumsum_params *p = params;
  const eck_tensor *x = &in[0];
  int64_t axis = p->axis;
  if (axis == ECK_AXIS_AT_RUN_TIME) {
    if (n_in < 2 || !in[1].data || eck_numel(&in[1]) != 1) return ECK_ERR_ARG;
    axis = eck_load_i64(in[1].data, in[1].dtype, 0);
    if (axis < 0) axis += x->rank;
    if (axis < 0 || axis >= (x->rank ? x->rank : 1)) return ECK_ERR_INDEX;
  }
  int64_t outer = 1, inner = 1, d = x->rank ? x->dims[axis] : 1;
  for (int k = 0; k < axis; k++) outer *= x->dims[k];
  for (int k = (int)axis + 1; k < x->rank; k++) inner *= x->dims[k];
  int fl = eck_dtype_is_float(x->dtype);
  for (int64_t a = 0; a < outer; a++)
    for (int64_t c = 0; c < inner; c++) {
      double fs = 0;
      uint64_t is = 0;
      for (int64_t t = 0; t < d; t++) {
        int64_t j = p->reverse ? d - 1 - t : t, i = (a * d + j) * inner + c;
        if (fl) {
          double v = eck_load_f64(x->data, x->dtype, i);
          if (!p->exclusive) fs += v;
          eck_store_f64(out[0].data, out[0].dtype, i, fs);
          if (p->exclusive) fs += v;
        } else {
          uint64_t v = (uint64_t)eck_load_i64(x->data, x->dtype, i);
          if (!p->exclusive) is += v;
          eck_store_i64(out[0].data, out[0].dtype, i, (int64_t)is);
          if (p->exclusive) is += v;
        }
      }
    }
  return ECK_OK;
}
