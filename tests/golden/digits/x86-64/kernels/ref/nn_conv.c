/* nn_conv.c — reference convolutions: Conv and ConvTranspose (float, double), ConvInteger and
 * QLinearConv (8-bit). Spatial dims are handled as 3-D (depth, height, width) with leading 1s. */
#include <math.h>

#include "eck_ref.h"

/* Spatial sizes of t (dims from 2 on) as 3-D, leading 1s. */
static void sp3(const eck_tensor *t, int nsp, int64_t *s) {
  for (int k = 0; k < ECK_SP; k++) s[k] = 1;
  for (int k = 0; k < nsp; k++) s[ECK_SP - nsp + k] = t->dims[2 + k];
}

/* First and one-past-last output position o with 0 <= o*s + off < in. */
static void out_range(int64_t off, int64_t s, int64_t in, int64_t out, int64_t *lo, int64_t *hi) {
  int64_t l = off >= 0 ? 0 : (-off + s - 1) / s;
  int64_t h = in - off <= 0 ? 0 : (in - 1 - off) / s + 1;
  if (h > out) h = out;
  if (l > h) l = h;
  *lo = l;
  *hi = h;
}

/* The output plane of one channel accumulates weight x shifted input rows, so the innermost
 * loop is a contiguous multiply-add over a row (vectorisable for stride 1) and no index is
 * recomputed per element. */
#define DEFINE_CONV(NAME, T)                                                                    \
  static void NAME(const eck_conv_params *p, const eck_tensor *x, const eck_tensor *w,         \
                   const eck_tensor *b, eck_tensor *y) {                                       \
    int64_t is[ECK_SP], os[ECK_SP];                                                             \
    sp3(x, p->nsp, is);                                                                         \
    sp3(y, p->nsp, os);                                                                         \
    const int64_t N = x->dims[0], C = x->dims[1], M = y->dims[1], G = p->group;                \
    const int64_t cg = C / G, mg = M / G;                                                      \
    const int64_t isz = is[0] * is[1] * is[2], osz = os[0] * os[1] * os[2];                   \
    const int64_t KD = p->kernel[0], KH = p->kernel[1], KW = p->kernel[2];                     \
    const int64_t ksz = KD * KH * KW;                                                          \
    const T *X = x->data, *W = w->data, *B = b && b->data ? b->data : 0;                       \
    T *Y = y->data;                                                                             \
    for (int64_t n = 0; n < N; n++)                                                            \
      for (int64_t m = 0; m < M; m++) {                                                        \
        T *yo = Y + (n * M + m) * osz;                                                         \
        T bv = B ? B[m] : (T)0;                                                                \
        for (int64_t i = 0; i < osz; i++) yo[i] = bv;                                          \
        int64_t grp = m / mg;                                                                  \
        for (int64_t c = 0; c < cg; c++) {                                                     \
          const T *xi = X + (n * C + grp * cg + c) * isz;                                      \
          const T *wk = W + (m * cg + c) * ksz;                                                \
          for (int64_t kd = 0; kd < KD; kd++) {                                                \
            int64_t dlo, dhi, doff = kd * p->dilations[0] - p->pad_begin[0];                   \
            out_range(doff, p->strides[0], is[0], os[0], &dlo, &dhi);                          \
            for (int64_t kh = 0; kh < KH; kh++) {                                              \
              int64_t hlo, hhi, hoff = kh * p->dilations[1] - p->pad_begin[1];                 \
              out_range(hoff, p->strides[1], is[1], os[1], &hlo, &hhi);                        \
              for (int64_t kw = 0; kw < KW; kw++) {                                            \
                int64_t wlo, whi, woff = kw * p->dilations[2] - p->pad_begin[2];               \
                out_range(woff, p->strides[2], is[2], os[2], &wlo, &whi);                      \
                const T wv = wk[(kd * KH + kh) * KW + kw];                                     \
                const int64_t sw = p->strides[2];                                              \
                /* Whole rows in and out (1x1-like along width): one contiguous run. */     \
                const int full = sw == 1 && woff == 0 && wlo == 0 && whi == os[2] &&           \
                                 os[2] == is[2] && p->strides[1] == 1;                         \
                for (int64_t od = dlo; od < dhi; od++) {                                       \
                  int64_t id = od * p->strides[0] + doff;                                      \
                  if (full) {                                                                  \
                    const T *xs = xi + (id * is[1] + hlo + hoff) * is[2];                      \
                    T *ys = yo + (od * os[1] + hlo) * os[2];                                   \
                    const int64_t run = (hhi - hlo) * os[2];                                   \
                    for (int64_t q = 0; q < run; q++) ys[q] += wv * xs[q];                     \
                    continue;                                                                  \
                  }                                                                            \
                  for (int64_t oh = hlo; oh < hhi; oh++) {                                     \
                    int64_t ih = oh * p->strides[1] + hoff;                                    \
                    const T *xr = xi + (id * is[1] + ih) * is[2];                              \
                    T *yr = yo + (od * os[1] + oh) * os[2];                                    \
                    if (sw == 1) {                                                             \
                      const T *xs = xr + (wlo + woff);                                         \
                      for (int64_t ow = wlo; ow < whi; ow++) yr[ow] += wv * xs[ow - wlo];      \
                    } else {                                                                   \
                      for (int64_t ow = wlo; ow < whi; ow++) yr[ow] += wv * xr[ow * sw + woff]; \
                    }                                                                          \
                  }                                                                            \
                }                                                                              \
              }                                                                                \
            }                                                                                  \
          }                                                                                    \
        }                                                                                      \
      }                                                                                        \
  }

DEFINE_CONV(conv_f32, float)
DEFINE_CONV(conv_f64, double)

int eck_ref_conv(const void *params, const eck_tensor *in, int n_in, eck_tensor *out, int n_out,
                 void *scratch) {
  (void)n_out; (void)scratch;
  const eck_conv_params *p = params;
  const eck_tensor *b = n_in > 2 && in[2].data ? &in[2] : 0;
  if (p->group <= 0 || in[0].dims[1] % p->group || out[0].dims[1] % p->group) return ECK_ERR_ARG;
  switch (in[0].dtype) {
    case ECK_FLOAT: conv_f32(p, &in[0], &in[1], b, &out[0]); return ECK_OK;
    case ECK_DOUBLE: conv_f64(p, &in[0], &in[1], b, &out[0]); return ECK_OK;
    default: return ECK_ERR_DTYPE;
  }
}

/* ConvTranspose scatters each input row, times one weight, into an output row. W is
 * [C, M/group, k...]. */
#define DEFINE_CONVT(NAME, T)                                                                   \
  static void NAME(const eck_conv_params *p, const eck_tensor *x, const eck_tensor *w,         \
                   const eck_tensor *b, eck_tensor *y) {                                       \
    int64_t is[ECK_SP], os[ECK_SP];                                                             \
    sp3(x, p->nsp, is);                                                                         \
    sp3(y, p->nsp, os);                                                                         \
    const int64_t N = x->dims[0], C = x->dims[1], M = y->dims[1], G = p->group;                \
    const int64_t cg = C / G, mg = M / G;                                                      \
    const int64_t isz = is[0] * is[1] * is[2], osz = os[0] * os[1] * os[2];                   \
    const int64_t KD = p->kernel[0], KH = p->kernel[1], KW = p->kernel[2];                     \
    const int64_t ksz = KD * KH * KW;                                                          \
    const T *X = x->data, *W = w->data, *B = b && b->data ? b->data : 0;                       \
    T *Y = y->data;                                                                             \
    for (int64_t n = 0; n < N; n++) {                                                          \
      for (int64_t m = 0; m < M; m++) {                                                        \
        T *yo = Y + (n * M + m) * osz;                                                         \
        T bv = B ? B[m] : (T)0;                                                                \
        for (int64_t i = 0; i < osz; i++) yo[i] = bv;                                          \
      }                                                                                        \
      for (int64_t c = 0; c < C; c++) {                                                        \
        int64_t grp = c / cg;                                                                  \
        const T *xi = X + (n * C + c) * isz;                                                   \
        for (int64_t mm = 0; mm < mg; mm++) {                                                  \
          T *yo = Y + (n * M + grp * mg + mm) * osz;                                           \
          const T *wk = W + (c * mg + mm) * ksz;                                               \
          for (int64_t kd = 0; kd < KD; kd++) {                                                \
            int64_t dlo, dhi, doff = kd * p->dilations[0] - p->pad_begin[0];                   \
            out_range(doff, p->strides[0], os[0], is[0], &dlo, &dhi);                          \
            for (int64_t kh = 0; kh < KH; kh++) {                                              \
              int64_t hlo, hhi, hoff = kh * p->dilations[1] - p->pad_begin[1];                 \
              out_range(hoff, p->strides[1], os[1], is[1], &hlo, &hhi);                        \
              for (int64_t kw = 0; kw < KW; kw++) {                                            \
                int64_t wlo, whi, woff = kw * p->dilations[2] - p->pad_begin[2];               \
                out_range(woff, p->strides[2], os[2], is[2], &wlo, &whi);                      \
                const T wv = wk[(kd * KH + kh) * KW + kw];                                     \
                const int64_t sw = p->strides[2];                                              \
                for (int64_t id = dlo; id < dhi; id++) {                                       \
                  int64_t od = id * p->strides[0] + doff;                                      \
                  for (int64_t ih = hlo; ih < hhi; ih++) {                                     \
                    int64_t oh = ih * p->strides[1] + hoff;                                    \
                    const T *xr = xi + (id * is[1] + ih) * is[2];                              \
                    T *yr = yo + (od * os[1] + oh) * os[2];                                    \
                    for (int64_t iw = wlo; iw < whi; iw++) yr[iw * sw + woff] += wv * xr[iw];  \
                  }                                                                            \
                }                                                                              \
              }                                                                                \
            }                                                                                  \
          }                                                                                    \
        }                                                                                      \
      }                                                                                        \
    }                                                                                          \
  }

DEFINE_CONVT(convt_f32, float)
DEFINE_CONVT(convt_f64, double)

int eck_ref_conv_transpose(const void *params, const eck_tensor *in, int n_in, eck_tensor *out,
                           int n_out, void *scratch) {
  (void)n_out; (void)scratch;
  const eck_conv_params *p = params;
  const eck_tensor *b = n_in > 2 && in[2].data ? &in[2] : 0;
  if (p->group <= 0 || in[0].dims[1] % p->group || out[0].dims[1] % p->group) return ECK_ERR_ARG;
  switch (in[0].dtype) {
    case ECK_FLOAT: convt_f32(p, &in[0], &in[1], b, &out[0]); return ECK_OK;
    case ECK_DOUBLE: convt_f64(p, &in[0], &in[1], b, &out[0]); return ECK_OK;
    default: return ECK_ERR_DTYPE;
  }
}

/* 8-bit convolution with zero points, one output element at a time (int32 accumulators).
 * Padding contributes nothing: a padded input equals its zero point. w_zp may be per output
 * channel. Calls `emit` with each accumulator. */
typedef struct qconv_args {
  const eck_tensor *x, *w, *y;
  int32_t xzp;
  const eck_tensor *wzp; /* NULL: 0 */
} qconv_args;

static int32_t ld8(const eck_tensor *t, int64_t i) {
  return t->dtype == ECK_INT8 ? ((const int8_t *)t->data)[i] : ((const uint8_t *)t->data)[i];
}

static int32_t zp_of(const eck_tensor *t, int64_t i) {
  if (!t || !t->data) return 0;
  return ld8(t, eck_numel(t) == 1 ? 0 : i);
}

static void qconv(const eck_conv_params *p, const qconv_args *a,
                  void (*emit)(void *ctx, int64_t idx, int64_t m, int32_t acc), void *ctx) {
  int64_t is[ECK_SP], os[ECK_SP];
  sp3(a->x, p->nsp, is);
  sp3(a->y, p->nsp, os);
  const int64_t N = a->x->dims[0], C = a->x->dims[1], M = a->y->dims[1], G = p->group;
  const int64_t cg = C / G, mg = M / G;
  const int64_t isz = is[0] * is[1] * is[2], osz = os[0] * os[1] * os[2];
  const int64_t KD = p->kernel[0], KH = p->kernel[1], KW = p->kernel[2];
  for (int64_t n = 0; n < N; n++)
    for (int64_t m = 0; m < M; m++) {
      int32_t wzp = zp_of(a->wzp, m);
      int64_t grp = m / mg;
      for (int64_t o = 0; o < osz; o++) {
        int64_t od = o / (os[1] * os[2]), oh = o / os[2] % os[1], ow = o % os[2];
        int32_t acc = 0;
        for (int64_t c = 0; c < cg; c++) {
          int64_t xb = (n * C + grp * cg + c) * isz, wb = (m * cg + c) * KD * KH * KW;
          for (int64_t kd = 0; kd < KD; kd++) {
            int64_t id = od * p->strides[0] + kd * p->dilations[0] - p->pad_begin[0];
            if (id < 0 || id >= is[0]) continue;
            for (int64_t kh = 0; kh < KH; kh++) {
              int64_t ih = oh * p->strides[1] + kh * p->dilations[1] - p->pad_begin[1];
              if (ih < 0 || ih >= is[1]) continue;
              for (int64_t kw = 0; kw < KW; kw++) {
                int64_t iw = ow * p->strides[2] + kw * p->dilations[2] - p->pad_begin[2];
                if (iw < 0 || iw >= is[2]) continue;
                int32_t xv = ld8(a->x, xb + (id * is[1] + ih) * is[2] + iw) - a->xzp;
                int32_t wv = ld8(a->w, wb + (kd * KH + kh) * KW + kw) - wzp;
                acc += xv * wv;
              }
            }
          }
        }
        emit(ctx, (n * M + m) * osz + o, m, acc);
      }
    }
}

static void emit_i32(void *ctx, int64_t idx, int64_t m, int32_t acc) {
  (void)m;
  ((int32_t *)ctx)[idx] = acc;
}

int eck_ref_conv_integer(const void *params, const eck_tensor *in, int n_in, eck_tensor *out,
                         int n_out, void *scratch) {
  (void)n_out; (void)scratch;
  const eck_conv_params *p = params;
  if (p->group <= 0 || in[0].dims[1] % p->group || out[0].dims[1] % p->group) return ECK_ERR_ARG;
  qconv_args a = {&in[0], &in[1], &out[0], 0, NULL};
  if (n_in > 2 && in[2].data) a.xzp = zp_of(&in[2], 0);
  if (n_in > 3 && in[3].data) a.wzp = &in[3];
  qconv(p, &a, emit_i32, out[0].data);
  return ECK_OK;
}

/* Requantisation as ONNX Runtime does it: the multiplier in float, round half to even,
 * saturate. */
typedef struct qlinear_ctx {
  const eck_tensor *wscale, *bias, *y;
  float xs, ys;
  int32_t yzp;
} qlinear_ctx;

static float scale_of(const eck_tensor *t, int64_t i) {
  return (float)eck_load_f64(t->data, t->dtype, eck_numel(t) == 1 ? 0 : i);
}

static void emit_q(void *vctx, int64_t idx, int64_t m, int32_t acc) {
  qlinear_ctx *c = vctx;
  if (c->bias && c->bias->data) acc += ((const int32_t *)c->bias->data)[m];
  float mult = c->xs * scale_of(c->wscale, m) / c->ys;
  float v = nearbyintf((float)acc * mult) + (float)c->yzp;
  float lo = c->y->dtype == ECK_INT8 ? -128.f : 0.f, hi = c->y->dtype == ECK_INT8 ? 127.f : 255.f;
  if (v < lo) v = lo;
  if (v > hi) v = hi;
  if (c->y->dtype == ECK_INT8)
    ((int8_t *)c->y->data)[idx] = (int8_t)v;
  else
    ((uint8_t *)c->y->data)[idx] = (uint8_t)v;
}

int eck_ref_qlinear_conv(const void *params, const eck_tensor *in, int n_in, eck_tensor *out,
                         int n_out, void *scratch) {
  (void)n_out; (void)scratch;
  const eck_conv_params *p = params;
  if (p->group <= 0 || in[0].dims[1] % p->group || out[0].dims[1] % p->group) return ECK_ERR_ARG;
  /* x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, [B] */
  qconv_args a = {&in[0], &in[3], &out[0], zp_of(&in[2], 0), &in[5]};
  qlinear_ctx c = {&in[4], n_in > 8 ? &in[8] : NULL, &out[0], scale_of(&in[1], 0),
                   scale_of(&in[6], 0), zp_of(&in[7], 0)};
  qconv(p, &a, emit_q, &c);
  return ECK_OK;
}
