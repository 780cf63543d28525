/* nn_pool.c — reference pooling: MaxPool (with Indices), AveragePool, LpPool, the Global
 * variants, and MaxUnpool. Values go through double, exact for every dtype pooling accepts. */
#include <math.h>

#include "eck_ref.h"

static void sp3(const eck_tensor *t, int nsp, int64_t *s) {
  for (int k = 0; k < ECK_SP; k++) s[k] = 1;
  for (int k = 0; k < nsp; k++) s[ECK_SP - nsp + k] = t->dims[2 + k];
}

int eck_ref_pool(const void *params, const eck_tensor *in, int n_in, eck_tensor *out, int n_out,
                 void *scratch) {
  (void)n_in; (void)scratch;
  const eck_pool_params *p = params;
  const eck_tensor *x = &in[0], *y = &out[0];
  const eck_tensor *ind = n_out > 1 && out[1].data ? &out[1] : 0;
  int64_t is[ECK_SP], os[ECK_SP];
  sp3(x, p->nsp, is);
  sp3(y, p->nsp, os);
  const int64_t NC = x->dims[0] * x->dims[1];
  const int64_t isz = is[0] * is[1] * is[2], osz = os[0] * os[1] * os[2];
  /* Generated code leaves out dilations that are all 1: zero means 1. */
  const int64_t d[ECK_SP] = {p->dilations[0] ? p->dilations[0] : 1, p->dilations[1] ? p->dilations[1] : 1,
                             p->dilations[2] ? p->dilations[2] : 1};
  const int64_t *k = p->kernel, *s = p->strides, *pb = p->pad_begin;
  const int32_t dt = x->dtype;
  for (int64_t nc = 0; nc < NC; nc++) {
    int64_t xb = nc * isz;
    for (int64_t o = 0; o < osz; o++) {
      int64_t oc[ECK_SP] = {o / (os[1] * os[2]), o / os[2] % os[1], o % os[2]};
      double acc = p->kind == ECK_POOL_MAX ? -INFINITY : 0;
      int64_t best = -1, count = 0, padded = 0;
      for (int64_t a = 0; a < k[0]; a++) {
        int64_t i0 = oc[0] * s[0] + a * d[0] - pb[0];
        for (int64_t b = 0; b < k[1]; b++) {
          int64_t i1 = oc[1] * s[1] + b * d[1] - pb[1];
          for (int64_t c = 0; c < k[2]; c++) {
            int64_t i2 = oc[2] * s[2] + c * d[2] - pb[2];
            int in0 = i0 >= 0 && i0 < is[0], in1 = i1 >= 0 && i1 < is[1];
            int in2 = i2 >= 0 && i2 < is[2];
            /* count_include_pad counts the explicit padding, not what ceil_mode adds. */
            if (i0 >= -pb[0] && i0 < is[0] + p->pad_end[0] && i1 >= -pb[1] &&
                i1 < is[1] + p->pad_end[1] && i2 >= -pb[2] && i2 < is[2] + p->pad_end[2])
              padded++;
            if (!(in0 && in1 && in2)) continue;
            int64_t xi = (i0 * is[1] + i1) * is[2] + i2;
            double v = eck_load_f64(x->data, dt, xb + xi);
            count++;
            if (p->kind == ECK_POOL_MAX) {
              if (best < 0 || v > acc) {
                acc = v;
                best = p->storage_order ? (i2 * is[1] + i1) * is[0] + i0 : xi;
              }
            } else if (p->kind == ECK_POOL_AVG) {
              acc += v;
            } else {
              acc += pow(fabs(v), (double)p->p);
            }
          }
        }
      }
      double r = acc;
      if (p->kind == ECK_POOL_AVG) {
        int64_t div = p->count_include_pad ? padded : count;
        r = div ? acc / (double)div : 0;
      } else if (p->kind == ECK_POOL_LP) {
        r = pow(acc, 1.0 / (double)p->p);
      }
      eck_store_f64(y->data, y->dtype, nc * osz + o, r);
      if (ind) ((int64_t *)ind->data)[nc * osz + o] = best < 0 ? 0 : nc * isz + best;
    }
  }
  return ECK_OK;
}

int eck_ref_global_pool(const void *params, const eck_tensor *in, int n_in, eck_tensor *out,
                        int n_out, void *scratch) {
  (void)n_in; (void)n_out; (void)scratch;
  const eck_pool_params *p = params;
  const eck_tensor *x = &in[0];
  int64_t NC = x->dims[0] * x->dims[1], sz = 1;
  for (int k = 2; k < x->rank; k++) sz *= x->dims[k];
  for (int64_t nc = 0; nc < NC; nc++) {
    double acc = p->kind == ECK_POOL_MAX ? -INFINITY : 0;
    if (x->dtype == ECK_FLOAT && p->kind == ECK_POOL_AVG) {
      const float *xf = (const float *)x->data + nc * sz;
      for (int64_t i = 0; i < sz; i++) acc += xf[i];
    } else {
      for (int64_t i = 0; i < sz; i++) {
        double v = eck_load_f64(x->data, x->dtype, nc * sz + i);
        if (p->kind == ECK_POOL_MAX)
          acc = v > acc ? v : acc;
        else if (p->kind == ECK_POOL_AVG)
          acc += v;
        else
          acc += pow(fabs(v), (double)p->p);
      }
    }
    if (p->kind == ECK_POOL_AVG) acc = sz ? acc / (double)sz : 0;
    if (p->kind == ECK_POOL_LP) acc = pow(acc, 1.0 / (double)p->p);
    eck_store_f64(out[0].data, out[0].dtype, nc, acc);
  }
  return ECK_OK;
}

/* MaxUnpool: zeros, then each value goes to its flat index (as MaxPool's Indices give it). */
int eck_ref_maxunpool(const void *params, const eck_tensor *in, int n_in, eck_tensor *out,
                      int n_out, void *scratch) {
  (void)n_in; (void)n_out; (void)scratch;
  const eck_maxunpool_params *p = params;
  const eck_tensor *x = &in[0], *ind = &in[1], *y = &out[0];
  if (p->rank != y->rank) return ECK_ERR_ARG;
  int64_t ny = eck_numel(y), nx = eck_numel(x);
  size_t es = eck_dtype_size(y->dtype);
  unsigned char *yb = y->data;
  for (int64_t i = 0; i < ny * (int64_t)es; i++) yb[i] = 0;
  for (int64_t i = 0; i < nx; i++) {
    int64_t j = eck_load_i64(ind->data, ind->dtype, i);
    if (j < 0) return ECK_ERR_INDEX;
    int64_t jj = 0, r = j, mul = 1, lim = 1;
    for (int k = p->rank - 1; k >= 0; k--) {
      int64_t c = r % p->index_dims[k];
      r /= p->index_dims[k];
      if (c >= y->dims[k]) return ECK_ERR_INDEX;
      jj += c * mul;
      mul *= y->dims[k];
      lim *= p->index_dims[k];
    }
    if (j >= lim) return ECK_ERR_INDEX;
    j = jj;
    const unsigned char *src = (const unsigned char *)x->data + (size_t)i * es;
    unsigned char *dst = yb + (size_t)j * es;
    for (size_t b = 0; b < es; b++) dst[b] = src[b];
  }
  return ECK_OK;
}
