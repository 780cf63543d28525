/* eck_xnn_dwconv.c — depthwise convolution of NHWC floats with a large window (ConvNeXt's 7x7):
 * XNNPACK 2022's depthwise kernels stop at 25 taps, and past them it runs a GEMM per channel
 * (1.9 GMAC/s on convnext_small; this kernel about 20 with AVX-512, CPU time on a loaded AMD EPYC).
 * Plain C99 vectorized across channels by the compiler. */
#include <string.h>

#include "eck_xnn.h"

/* Channels per block: one AVX-512 vector, four SSE/NEON ones. */
#define CB 16
/* Output pixels of a row computed together in the interior: independent sums that hide the
 * latency of the multiply-adds and share each weight load. */
#define PX 4

/* One output pixel of `nb` channels: the taps [kh0, kh1) x [kw0, kw1) that fall inside the
 * input (the others read padding, zero). xo: the input at the window's top-left tap. */
ECK_VEC_INLINE void dw_pixel(const float *xo, float *yo, const float *wt, const float *b, size_t nb, size_t kw,
                     size_t kh0, size_t kh1, size_t kw0, size_t kw1, size_t drow, size_t dcol, float lo, float hi) {
  float acc[CB];
  for (size_t j = 0; j < nb; j++) acc[j] = b[j];
  for (size_t i = kh0; i < kh1; i++)
    for (size_t k = kw0; k < kw1; k++) {
      const float *xp = xo + i * drow + k * dcol, *wp = wt + (i * kw + k) * CB;
      for (size_t j = 0; j < nb; j++) acc[j] += xp[j] * wp[j];
    }
  for (size_t j = 0; j < nb; j++) {
    float v = acc[j] < lo ? lo : acc[j];
    yo[j] = v > hi ? hi : v;
  }
}

/* PX neighbouring output pixels of a full block of CB channels, every tap inside the input. */
ECK_VEC_INLINE void dw_pixels(const float *xo, float *yo, const float *wt, const float *b, size_t kh, size_t kw,
                              size_t drow, size_t dcol, size_t xstep, size_t ystep, float lo, float hi) {
  float a0[CB], a1[CB], a2[CB], a3[CB];
  for (int j = 0; j < CB; j++) a0[j] = a1[j] = a2[j] = a3[j] = b[j];
  for (size_t i = 0; i < kh; i++) {
    const float *xr = xo + i * drow, *wr = wt + i * kw * CB;
    for (size_t k = 0; k < kw; k++) {
      const float *xp = xr + k * dcol, *wp = wr + k * CB;
      for (int j = 0; j < CB; j++) {
        float wv = wp[j];
        a0[j] += xp[j] * wv;
        a1[j] += xp[xstep + j] * wv;
        a2[j] += xp[2 * xstep + j] * wv;
        a3[j] += xp[3 * xstep + j] * wv;
      }
    }
  }
  for (int j = 0; j < CB; j++) {
    float v0 = a0[j] < lo ? lo : a0[j], v1 = a1[j] < lo ? lo : a1[j];
    float v2 = a2[j] < lo ? lo : a2[j], v3 = a3[j] < lo ? lo : a3[j];
    yo[j] = v0 > hi ? hi : v0;
    yo[ystep + j] = v1 > hi ? hi : v1;
    yo[2 * ystep + j] = v2 > hi ? hi : v2;
    yo[3 * ystep + j] = v3 > hi ? hi : v3;
  }
}

/* The window's taps [t0, t1) along one axis that land inside [0, size) for output o. */
ECK_VEC_INLINE void tap_range(size_t o, size_t stride, size_t dil, size_t pad, size_t taps, size_t size, size_t *t0,
                      size_t *t1) {
  long long start = (long long)(o * stride) - (long long)pad;
  size_t a = 0, e = taps;
  while (a < taps && start + (long long)(a * dil) < 0) a++;
  while (e > a && start + (long long)((e - 1) * dil) >= (long long)size) e--;
  *t0 = a;
  *t1 = e;
}

ECK_VEC_INLINE void dwconv_body(const float *x, float *y, const eck_xnn_params *p, const float *w,
                                const float *bias) {
  size_t c = p->groups, kh = p->kernel[0], kw = p->kernel[1], sh = p->stride[0], sw = p->stride[1];
  size_t dh = p->dilation[0], dw = p->dilation[1], h = p->height, wd = p->width;
  size_t pt = p->pad[0], pl = p->pad[3];
  size_t oh = (h + pt + p->pad[2] - dh * (kh - 1) - 1) / sh + 1;
  size_t ow = (wd + pl + p->pad[1] - dw * (kw - 1) - 1) / sw + 1;
  size_t taps = kh * kw, drow = dh * wd * p->in_stride, dcol = dw * p->in_stride;
  float wt[ECK_XNN_DW_MAX_TAPS * CB], b[CB];
  if (taps > ECK_XNN_DW_MAX_TAPS) return; /* choose.c never picks this kernel for such a window */
  /* Output columns whose whole window row lies inside the input: [in0, in1). */
  size_t in0 = (pl + sw - 1) / sw, in1 = 0;
  if (wd + pl >= dw * (kw - 1) + 1) in1 = (wd + pl - dw * (kw - 1) - 1) / sw + 1;
  if (in1 > ow) in1 = ow;
  for (size_t c0 = 0; c0 < c; c0 += CB) {
    size_t nb = c - c0 < CB ? c - c0 : CB;
    /* This block's filters tap-major ([tap][channel]), so that a tap's weights are one vector. */
    memset(wt, 0, sizeof wt);
    for (size_t j = 0; j < nb; j++) {
      for (size_t t = 0; t < taps; t++) wt[t * CB + j] = w[(c0 + j) * taps + t];
      b[j] = bias ? bias[c0 + j] : 0.0f;
    }
    for (size_t n = 0; n < p->batch; n++)
      for (size_t r = 0; r < oh; r++) {
        size_t kh0, kh1;
        tap_range(r, sh, dh, pt, kh, h, &kh0, &kh1);
        const float *xrow = x + (n * h * wd) * p->in_stride + c0;
        float *yrow = y + ((n * oh + r) * ow) * p->out_stride + c0;
        long long ih0 = (long long)(r * sh) - (long long)pt; /* input row of tap 0 (may be padding) */
        size_t q = 0;
        while (q < ow) {
          if (nb == CB && kh0 == 0 && kh1 == kh && q >= in0 && q + PX <= in1) {
            const float *xo = xrow + (size_t)((ih0 * (long long)wd + (long long)(q * sw) - (long long)pl) *
                                              (long long)p->in_stride);
            dw_pixels(xo, yrow + q * p->out_stride, wt, b, kh, kw, drow, dcol, sw * p->in_stride, p->out_stride,
                      p->out_min, p->out_max);
            q += PX;
            continue;
          }
          size_t kw0, kw1;
          tap_range(q, sw, dw, pl, kw, wd, &kw0, &kw1);
          /* The tap-0 position, possibly outside the input: only taps inside it are read. */
          const float *xo = xrow + (size_t)((ih0 * (long long)wd + (long long)(q * sw) - (long long)pl) *
                                            (long long)p->in_stride);
          if (nb == CB) /* a constant count: the sums become one vector (or a few) */
            dw_pixel(xo, yrow + q * p->out_stride, wt, b, CB, kw, kh0, kh1, kw0, kw1, drow, dcol, p->out_min,
                     p->out_max);
          else
            dw_pixel(xo, yrow + q * p->out_stride, wt, b, nb, kw, kh0, kh1, kw0, kw1, drow, dcol, p->out_min,
                     p->out_max);
          q++;
        }
      }
  }
}
ECK_VEC_VARIANTS(dwconv, (const float *x, float *y, const eck_xnn_params *p, const float *w, const float *bias),
                 (x, y, p, w, bias))

void eck_xnn_dwconv(const float *x, float *y, const eck_xnn_params *p, const float *w, const float *bias) {
  ECK_VEC_CALL(dwconv, (x, y, p, w, bias));
}
