/* nn_norm.c — reference normalisations: Softmax/LogSoftmax/Hardmax, BatchNormalization
 * (inference and training statistics), Instance/Layer/MeanVariance normalisation, LRN.
 * Statistics are accumulated in double. */
#include <math.h>

#include "eck_ref.h"

int eck_ref_softmax(const void *params, const eck_tensor *in, int n_in, eck_tensor *out,
                    int n_out, void *scratch) {
  (void)n_in; (void)n_out; (void)scratch;
  const eck_softmax_params *p = params;
  const eck_tensor *x = &in[0];
  int64_t outer = 1, len = 1, inner = 1;
  for (int k = 0; k < x->rank; k++) {
    if (k < p->axis)
      outer *= x->dims[k];
    else if (k == p->axis || p->flatten)
      len *= x->dims[k];
    else
      inner *= x->dims[k];
  }
  const int32_t dt = x->dtype;
  for (int64_t o = 0; o < outer; o++)
    for (int64_t i = 0; i < inner; i++) {
      int64_t base = o * len * inner + i;
      double mx = -INFINITY;
      int64_t arg = 0;
      for (int64_t j = 0; j < len; j++) {
        double v = eck_load_f64(x->data, dt, base + j * inner);
        if (j == 0 || v > mx) {
          mx = v;
          arg = j;
        }
      }
      if (p->fn == ECK_HARDMAX) {
        for (int64_t j = 0; j < len; j++)
          eck_store_f64(out[0].data, dt, base + j * inner, j == arg ? 1.0 : 0.0);
        continue;
      }
      double sum = 0;
      for (int64_t j = 0; j < len; j++) sum += exp(eck_load_f64(x->data, dt, base + j * inner) - mx);
      double ls = log(sum);
      for (int64_t j = 0; j < len; j++) {
        double v = eck_load_f64(x->data, dt, base + j * inner) - mx;
        eck_store_f64(out[0].data, dt, base + j * inner, p->fn == ECK_LOGSOFTMAX ? v - ls : exp(v) / sum);
      }
    }
  return ECK_OK;
}

/* Stats of size S (C, or C x spatial for the old spatial=0 form): element j of a sample
 * uses stat j / (sample size / S). */
int eck_ref_batchnorm(const void *params, const eck_tensor *in, int n_in, eck_tensor *out,
                      int n_out, void *scratch) {
  (void)n_in; (void)scratch;
  const eck_batchnorm_params *p = params;
  const eck_tensor *x = &in[0], *sc = &in[1], *bi = &in[2], *mean = &in[3], *var = &in[4];
  const int64_t N = x->dims[0], S = eck_numel(sc);
  int64_t sample = 1;
  for (int k = 1; k < x->rank; k++) sample *= x->dims[k];
  if (S <= 0 || sample % S) return ECK_ERR_ARG;
  const int64_t inner = sample / S;
  const int32_t dt = x->dtype;
  for (int64_t s = 0; s < S; s++) {
    double m = eck_load_f64(mean->data, mean->dtype, s), v = eck_load_f64(var->data, var->dtype, s);
    if (p->training) {
      double sum = 0, sq = 0;
      for (int64_t n = 0; n < N; n++)
        for (int64_t i = 0; i < inner; i++) sum += eck_load_f64(x->data, dt, n * sample + s * inner + i);
      double bm = sum / (double)(N * inner);
      for (int64_t n = 0; n < N; n++)
        for (int64_t i = 0; i < inner; i++) {
          double d = eck_load_f64(x->data, dt, n * sample + s * inner + i) - bm;
          sq += d * d;
        }
      double bv = sq / (double)(N * inner);
      if (n_out > 1 && out[1].data)
        eck_store_f64(out[1].data, out[1].dtype, s, m * p->momentum + bm * (1 - p->momentum));
      if (n_out > 2 && out[2].data)
        eck_store_f64(out[2].data, out[2].dtype, s, v * p->momentum + bv * (1 - p->momentum));
      m = bm;
      v = bv;
    }
    double a = eck_load_f64(sc->data, sc->dtype, s) / sqrt(v + p->epsilon);
    double b = eck_load_f64(bi->data, bi->dtype, s) - m * a;
    if (dt == ECK_FLOAT) {
      float af = (float)a, bf = (float)b;
      for (int64_t n = 0; n < N; n++) {
        const float *xf = (const float *)x->data + n * sample + s * inner;
        float *yf = (float *)out[0].data + n * sample + s * inner;
        for (int64_t i = 0; i < inner; i++) yf[i] = xf[i] * af + bf;
      }
    } else {
      for (int64_t n = 0; n < N; n++)
        for (int64_t i = 0; i < inner; i++) {
          int64_t e = n * sample + s * inner + i;
          eck_store_f64(out[0].data, dt, e, eck_load_f64(x->data, dt, e) * a + b);
        }
    }
  }
  return ECK_OK;
}

/* Offset of element j of a group whose dims are `rd` (count nr) with strides `rs`. */
static int64_t group_off(int64_t j, int nr, const int64_t *rd, const int64_t *rs) {
  int64_t off = 0;
  for (int k = nr - 1; k >= 0; k--) {
    off += (j % rd[k]) * rs[k];
    j /= rd[k];
  }
  return off;
}

/* True when LayerNormalization's scale or bias t (may be absent) is float32 with one value or
 * one per element of a group (then laid out like the group: it broadcasts to the trailing dims). */
static int per_group_f32(const eck_tensor *t, int64_t gsize) {
  if (!t) return 1;
  int64_t n = eck_numel(t);
  return t->dtype == ECK_FLOAT && (n == 1 || n == gsize);
}

/* LayerNormalization of float32 data, the transformers' case (the graph pass layernorm makes
 * one per block): its groups are contiguous rows of the trailing dims, so the generic loop's
 * per-element index arithmetic and dtype dispatch (25x slower on vit_b_32) are not needed.
 * Sums in double, as the generic loop. */
static void layernorm_f32(const eck_norm_params *p, const eck_tensor *x, const eck_tensor *sc,
                          const eck_tensor *bi, eck_tensor *out, int64_t groups, int64_t gsize) {
  const float *xd = x->data, *sd = sc ? sc->data : 0, *bd = bi ? bi->data : 0;
  float *yd = out->data;
  const int64_t ss = sc && eck_numel(sc) > 1, bs = bi && eck_numel(bi) > 1;
  for (int64_t g = 0; g < groups; g++) {
    const float *r = xd + g * gsize;
    float *y = yd + g * gsize;
    double sum = 0, sq = 0;
    for (int64_t j = 0; j < gsize; j++) sum += r[j];
    double mean = sum / (double)gsize;
    for (int64_t j = 0; j < gsize; j++) sq += (r[j] - mean) * (r[j] - mean);
    double inv = 1.0 / sqrt(sq / (double)gsize + p->epsilon);
    for (int64_t j = 0; j < gsize; j++) {
      double v = (r[j] - mean) * inv;
      if (sd) v *= sd[j * ss];
      if (bd) v += bd[j * bs];
      y[j] = (float)v;
    }
  }
}

/* Normalises groups of elements: the dims in the reduced set vary inside a group, the others
 * pick the group. Instance: dims 2..; Layer: dims axis..; MVN: the axes mask. */
int eck_ref_norm(const void *params, const eck_tensor *in, int n_in, eck_tensor *out, int n_out,
                 void *scratch) {
  (void)scratch;
  const eck_norm_params *p = params;
  const eck_tensor *x = &in[0];
  const eck_tensor *sc = !p->mvn && n_in > 1 ? &in[1] : 0;
  const eck_tensor *bi = !p->mvn && n_in > 2 && in[2].data ? &in[2] : 0;
  if (!p->mvn && !p->instance && x->dtype == ECK_FLOAT && out[0].dtype == ECK_FLOAT &&
      (n_out < 2 || !out[1].data) && (n_out < 3 || !out[2].data)) {
    int64_t groups = 1, gsize = 1;
    for (int k = 0; k < x->rank; k++) {
      if (k < p->axis) groups *= x->dims[k];
      else gsize *= x->dims[k];
    }
    if (gsize > 0 && per_group_f32(sc, gsize) && per_group_f32(bi, gsize)) {
      layernorm_f32(p, x, sc, bi, &out[0], groups, gsize);
      return ECK_OK;
    }
  }
  int r = x->rank, nk = 0, nr = 0;
  int64_t kd[ECK_MAX_RANK], ks[ECK_MAX_RANK], rd[ECK_MAX_RANK], rs[ECK_MAX_RANK];
  int64_t st[ECK_MAX_RANK], s = 1;
  for (int k = r - 1; k >= 0; k--) {
    st[k] = s;
    s *= x->dims[k];
  }
  for (int k = 0; k < r; k++) {
    int red = p->mvn ? (int)((p->axes >> k) & 1u) : k >= p->axis;
    if (red) {
      rd[nr] = x->dims[k];
      rs[nr++] = st[k];
    } else {
      kd[nk] = x->dims[k];
      ks[nk++] = st[k];
    }
  }
  int64_t groups = 1, gsize = 1;
  for (int k = 0; k < nk; k++) groups *= kd[k];
  for (int k = 0; k < nr; k++) gsize *= rd[k];
  /* LayerNormalization's scale and bias broadcast against the normalised dims. */
  int64_t ss[ECK_MAX_RANK] = {0}, bs[ECK_MAX_RANK] = {0};
  if (!p->instance && sc) eck_broadcast_strides(sc, nr, rd, ss);
  if (!p->instance && bi) eck_broadcast_strides(bi, nr, rd, bs);
  const int32_t dt = x->dtype;
  for (int64_t g = 0; g < groups; g++) {
    int64_t base = group_off(g, nk, kd, ks);
    double sum = 0, sq = 0;
    for (int64_t j = 0; j < gsize; j++) sum += eck_load_f64(x->data, dt, base + group_off(j, nr, rd, rs));
    double mean = gsize ? sum / (double)gsize : 0;
    for (int64_t j = 0; j < gsize; j++) {
      double d = eck_load_f64(x->data, dt, base + group_off(j, nr, rd, rs)) - mean;
      sq += d * d;
    }
    double var = gsize ? sq / (double)gsize : 0;
    double inv = p->mvn ? 1.0 / (sqrt(var) + p->epsilon) : 1.0 / sqrt(var + p->epsilon);
    if (n_out > 1 && out[1].data) eck_store_f64(out[1].data, out[1].dtype, g, mean);
    if (n_out > 2 && out[2].data) eck_store_f64(out[2].data, out[2].dtype, g, inv);
    int64_t ch = p->instance ? g % x->dims[1] : 0;
    for (int64_t j = 0; j < gsize; j++) {
      int64_t e = base + group_off(j, nr, rd, rs);
      double y = (eck_load_f64(x->data, dt, e) - mean) * inv;
      if (p->instance) {
        y = y * eck_load_f64(sc->data, sc->dtype, ch) + eck_load_f64(bi->data, bi->dtype, ch);
      } else if (sc) {
        y *= eck_load_f64(sc->data, sc->dtype, group_off(j, nr, rd, ss));
        if (bi) y += eck_load_f64(bi->data, bi->dtype, group_off(j, nr, rd, bs));
      }
      eck_store_f64(out[0].data, out[0].dtype, e, y);
    }
  }
  return ECK_OK;
}

int eck_ref_lrn(const void *params, const eck_tensor *in, int n_in, eck_tensor *out, int n_out,
                void *scratch) {
  (void)n_in; (void)n_out; (void)scratch;
  const eck_lrn_params *p = params;
  const eck_tensor *x = &in[0];
  const int64_t N = x->dims[0], C = x->dims[1];
  int64_t sp = 1;
  for (int k = 2; k < x->rank; k++) sp *= x->dims[k];
  const int64_t lo = (p->size - 1) / 2, hi = p->size - 1 - lo;
  for (int64_t n = 0; n < N; n++)
    for (int64_t c = 0; c < C; c++)
      for (int64_t i = 0; i < sp; i++) {
        double sq = 0;
        for (int64_t cc = c - lo; cc <= c + hi; cc++) {
          if (cc < 0 || cc >= C) continue;
          double v = eck_load_f64(x->data, x->dtype, (n * C + cc) * sp + i);
          sq += v * v;
        }
        int64_t e = (n * C + c) * sp + i;
        double y = eck_load_f64(x->data, x->dtype, e) /
                   pow(p->bias + p->alpha / p->size * sq, p->beta);
        eck_store_f64(out[0].data, out[0].dtype, e, y);
      }
  return ECK_OK;
}
