/* test_onednn.c — kernels/onednn against the reference kernels (kernels/ref) on seeded random
 * cases: convolution (groups, depthwise, dilation, strides, asymmetric pads, bias, clamp, residual
 * sum, pixel strides), inner product, max/average pooling (ceil-mode outputs, included padding),
 * broadcasting add/mul. Prints the worst error per primitive and fails on any case over tolerance.
 *
 * Errors are relative to the magnitude of the sums behind each output (the same reference kernel
 * run on |x| and |w|), so a long dot product may differ by its rounding and no more.
 * usage: test_onednn [SEED] [CASES_PER_PRIMITIVE] */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eck_dnnl.h"
#include "eck_ref.h"

/* fp32 accumulation over sums of up to a few thousand terms stays well inside this. */
#define TOL_DOT 1e-5
#define SENTINEL 12345.0f

static uint64_t rng;
static uint32_t rnd(void) { /* xorshift64* */
  rng ^= rng >> 12, rng ^= rng << 25, rng ^= rng >> 27;
  return (uint32_t)((rng * 2685821657736338717ull) >> 32);
}
static int pick(int lo, int hi) { return lo + (int)(rnd() % (uint32_t)(hi - lo + 1)); }
static float unit(void) { return (float)rnd() / 4294967296.0f * 2.0f - 1.0f; }
static float *randv(size_t n) {
  float *v = malloc((n ? n : 1) * sizeof *v);
  for (size_t i = 0; i < n; i++) v[i] = unit();
  return v;
}
static float *absv(const float *v, size_t n) {
  float *a = malloc((n ? n : 1) * sizeof *a);
  for (size_t i = 0; i < n; i++) a[i] = fabsf(v[i]);
  return a;
}
static eck_tensor tens(int rank, const int64_t *dims, void *data) {
  eck_tensor t;
  memset(&t, 0, sizeof t);
  t.dtype = ECK_FLOAT;
  t.rank = rank;
  for (int i = 0; i < rank; i++) t.dims[i] = dims[i];
  t.data = data;
  return t;
}

/* NCHW [n, c, hw] to NHWC pixels `stride` elements apart; the slack between gets `fill`. */
static float *to_nhwc(const float *x, size_t n, size_t c, size_t hw, size_t stride, float fill) {
  float *y = malloc((n * hw * stride + 1) * sizeof *y);
  for (size_t i = 0; i < n * hw * stride; i++) y[i] = fill;
  for (size_t b = 0; b < n; b++)
    for (size_t ch = 0; ch < c; ch++)
      for (size_t p = 0; p < hw; p++) y[(b * hw + p) * stride + ch] = x[(b * c + ch) * hw + p];
  return y;
}

typedef struct worst {
  const char *name;
  double err;   /* largest |got - want| / magnitude */
  int cases, failed;
  char where[160];
  int n_impl;                   /* the implementations oneDNN picked, with their counts */
  char impl[12][48];
  int impl_count[12];
} worst;

static void count_impl(worst *w, const char *name) {
  for (int i = 0; i < w->n_impl; i++)
    if (strcmp(w->impl[i], name) == 0) {
      w->impl_count[i]++;
      return;
    }
  if (w->n_impl < 12) {
    snprintf(w->impl[w->n_impl], sizeof w->impl[0], "%s", name);
    w->impl_count[w->n_impl++] = 1;
  }
}

/* Compares got (NHWC, pixel stride `stride`) with want (NCHW), scaled by mag (NCHW). The slack of
 * got must still hold SENTINEL. Returns 1 when the case is within tol. */
static int compare(worst *w, const char *desc, const float *got, const float *want, const float *mag,
                   size_t n, size_t c, size_t hw, size_t stride, double tol) {
  double e = 0;
  int bad_slack = 0;
  for (size_t b = 0; b < n; b++)
    for (size_t p = 0; p < hw; p++) {
      for (size_t ch = 0; ch < c; ch++) {
        size_t i = (b * c + ch) * hw + p;
        double g = got[(b * hw + p) * stride + ch], d = fabs(g - want[i]) / (mag[i] + 1e-30);
        if (want[i] == g) d = 0; /* equal infinities */
        if (!(d <= e)) e = isnan(d) ? INFINITY : d;
      }
      for (size_t ch = c; ch < stride; ch++)
        if (got[(b * hw + p) * stride + ch] != SENTINEL) bad_slack = 1;
    }
  w->cases++;
  if (bad_slack) e = INFINITY;
  if (e > w->err || w->cases == 1) {
    if (e >= w->err) {
      w->err = e;
      snprintf(w->where, sizeof w->where, "%s%s", desc, bad_slack ? " (wrote past its channels)" : "");
    }
  }
  if (e > tol) {
    w->failed++;
    if (w->failed <= 5)
      fprintf(stderr, "FAILED %s: %s: error %.3g (tolerance %.3g)%s\n", w->name, desc, e, tol,
              bad_slack ? ", wrote into the pixel slack" : "");
    return 0;
  }
  return 1;
}

static eck_dnnl_ctx ctx;

/* Runs the oneDNN node; a failing create/run is a failed case naming the call. */
static int run_dnnl(worst *w, const char *desc, const eck_dnnl_params *p, const float *wt, const float *bias,
                    const float *a, const float *b, float *y) {
  eck_dnnl_node s;
  /* A channel slice runs on dense copies in a stage buffer; NaN in it must never reach an output. */
  size_t sb = eck_dnnl_stage_bytes(p);
  float *stage = sb ? malloc(sb) : NULL;
  for (size_t i = 0; i < sb / sizeof(float); i++) stage[i] = NAN;
  int rc = eck_dnnl_create(&s, &ctx, p, wt, bias);
  if (rc == ECK_OK) count_impl(w, eck_dnnl_impl(&s));
  if (rc == ECK_OK) rc = eck_dnnl_stage(&s, p, stage);
  if (rc == ECK_OK) rc = eck_dnnl_setup(&s, p, a, b, y);
  if (rc == ECK_OK) rc = eck_dnnl_run(&s, &ctx, p, a, b, y);
  if (rc != ECK_OK) {
    w->cases++;
    w->failed++;
    fprintf(stderr, "FAILED %s: %s: %s: %s\n", w->name, desc, s.err.call ? s.err.call : "?",
            s.err.status ? s.err.status : "?");
  }
  eck_dnnl_delete(&s);
  free(stage);
  return rc == ECK_OK;
}

/* The clamp a case fuses: none, Relu, Relu6, or a random Clip. */
static void pick_clamp(float *lo, float *hi, const char **name) {
  switch (pick(0, 3)) {
    case 0: *lo = -ECK_DNNL_INF, *hi = ECK_DNNL_INF, *name = "none"; break;
    case 1: *lo = 0, *hi = ECK_DNNL_INF, *name = "relu"; break;
    case 2: *lo = 0, *hi = 6, *name = "relu6"; break;
    default: {
      float a = unit(), b = unit();
      *lo = a < b ? a : b, *hi = a < b ? b : a, *name = "clip";
    }
  }
}
/* A pixel stride of c channels: dense, or (one case in four) a channel slice of a wider tensor. */
static size_t with_slack(size_t c, int most) { return c + (pick(0, 3) == 0 ? (size_t)pick(1, most) : 0); }
static float clampf(float v, float lo, float hi) { return v < lo ? lo : v > hi ? hi : v; }

/* ---- convolution ------------------------------------------------------------------------------ */
static void conv_case(worst *w) {
  int n = pick(1, 2), mode = pick(0, 3), g, cg, mg;
  if (mode == 0) g = 1, cg = pick(1, 3) == 1 ? 16 * pick(1, 3) : pick(1, 9), mg = pick(1, 2) == 1 ? 16 * pick(1, 2) : pick(1, 9);
  else if (mode == 1) g = pick(2, 4), cg = pick(1, 8), mg = pick(1, 8);
  else g = pick(2, 33), cg = 1, mg = pick(1, 2); /* depthwise, multiplier 1 or 2 */
  int kh = pick(1, 5), kw = pick(1, 5), sh = pick(1, 3), sw = pick(1, 3);
  int dh = pick(1, 4) == 1 ? pick(2, 3) : 1, dw = pick(1, 4) == 1 ? pick(2, 3) : 1;
  int eh = (kh - 1) * dh + 1, ew = (kw - 1) * dw + 1;
  int pt = pick(0, eh - 1), pb = pick(0, eh - 1), pl = pick(0, ew - 1), pr = pick(0, ew - 1);
  int h = pick(eh - pt - pb > 1 ? eh - pt - pb : 1, eh + 12), wd = pick(ew - pl - pr > 1 ? ew - pl - pr : 1, ew + 12);
  int has_bias = pick(0, 1), post = pick(0, 2); /* 0 clamp only, 1 sum then clamp, 2 clamp then sum */
  /* Half the cases give the weights as lowering re-orders them, OHWI (ECK_DNNL_W_OHWI); derived,
   * not drawn, so the cases drawn stay those of earlier runs. */
  int ohwi = (h + wd) & 1;
  size_t C = (size_t)g * cg, M = (size_t)g * mg;
  size_t oh = (size_t)(h + pt + pb - eh) / sh + 1, ow = (size_t)(wd + pl + pr - ew) / sw + 1;
  size_t is = with_slack(C, 5), os = with_slack(M, 5);
  float lo, hi;
  const char *cname;
  char desc[160];
  pick_clamp(&lo, &hi, &cname);
  snprintf(desc, sizeof desc, "n%d c%zu->%zu g%d %dx%d s%d,%d d%d,%d pad t%d l%d b%d r%d in %dx%d bias%d%s %s %s",
           n, C, M, g, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, h, wd, has_bias, ohwi ? " ohwi" : "",
           post == 0 ? "" : post == 1 ? "sum-then" : "then-sum", cname);

  size_t xn = (size_t)n * C * h * wd, wn = M * cg * kh * kw, yn = (size_t)n * M * oh * ow;
  float *x = randv(xn), *wt = randv(wn), *bias = has_bias ? randv(M) : NULL, *res = randv(yn);
  float *ax = absv(x, xn), *aw = absv(wt, wn), *ab = has_bias ? absv(bias, M) : NULL;
  float *want = malloc(yn * sizeof *want), *mag = malloc(yn * sizeof *mag);
  eck_conv_params cp = {2, g, {1, kh, kw}, {1, sh, sw}, {1, dh, dw}, {0, pt, pl}, {0, pb, pr}};
  int64_t xd[4] = {n, (int64_t)C, h, wd}, wdims[4] = {(int64_t)M, cg, kh, kw}, bd[1] = {(int64_t)M};
  int64_t yd[4] = {n, (int64_t)M, (int64_t)oh, (int64_t)ow};
  eck_tensor in[3] = {tens(4, xd, x), tens(4, wdims, wt), tens(1, bd, bias)}, out = tens(4, yd, want);
  eck_tensor ain[3] = {tens(4, xd, ax), tens(4, wdims, aw), tens(1, bd, ab)}, aout = tens(4, yd, mag);
  eck_ref_conv(&cp, in, has_bias ? 3 : 2, &out, 1, NULL);
  eck_ref_conv(&cp, ain, has_bias ? 3 : 2, &aout, 1, NULL);
  for (size_t i = 0; i < yn; i++) {
    if (post == 0) want[i] = clampf(want[i], lo, hi);
    else if (post == 1) want[i] = clampf(want[i] + res[i], lo, hi), mag[i] += fabsf(res[i]);
    else want[i] = clampf(want[i], lo, hi) + res[i], mag[i] += fabsf(res[i]);
  }

  eck_dnnl_params p;
  memset(&p, 0, sizeof p);
  p.kind = ECK_DNNL_CONV;
  p.flags = post == 1 ? ECK_DNNL_SUM : post == 2 ? ECK_DNNL_SUM | ECK_DNNL_CLAMP_FIRST : 0;
  if (ohwi) p.flags |= ECK_DNNL_W_OHWI;
  p.pad[0] = pt, p.pad[1] = pr, p.pad[2] = pb, p.pad[3] = pl;
  p.kernel[0] = kh, p.kernel[1] = kw, p.stride[0] = sh, p.stride[1] = sw, p.dilation[0] = dh, p.dilation[1] = dw;
  p.groups = g, p.channels_in = cg, p.channels_out = mg, p.in_stride = is, p.out_stride = os;
  p.batch = n, p.height = h, p.width = wd, p.out_min = lo, p.out_max = hi;
  /* Input slack is NaN: reading it would show in every output it reached. */
  float *xh = to_nhwc(x, n, C, (size_t)h * wd, is, NAN);
  float *yh = to_nhwc(res, n, M, oh * ow, os, SENTINEL);
  if (!post)
    for (size_t i = 0; i < (size_t)n * oh * ow; i++)
      for (size_t ch = 0; ch < M; ch++) yh[i * os + ch] = NAN; /* must be overwritten */
  /* [M, cg, kh, kw] -> [M, kh, kw, cg] */
  float *wo = malloc(wn * sizeof *wo);
  for (size_t o = 0; o < M; o++)
    for (int c = 0; c < cg; c++)
      for (int k = 0; k < kh * kw; k++) wo[(o * kh * kw + k) * cg + c] = wt[(o * cg + c) * kh * kw + k];
  /* A dense sum half the time takes its residual from a buffer of its own (run copies it into y,
   * as generated code does where the memory plan could not put y on the residual's bytes). */
  float *rh = NULL;
  if (post && os == M && pick(0, 1)) {
    size_t yb = (size_t)n * oh * ow * M;
    rh = malloc(yb * sizeof *rh);
    memcpy(rh, yh, yb * sizeof *rh);
    for (size_t i = 0; i < yb; i++) yh[i] = NAN;
  }
  if (run_dnnl(w, desc, &p, ohwi ? wo : wt, bias, xh, rh, yh))
    compare(w, desc, yh, want, mag, n, M, oh * ow, os, TOL_DOT);
  free(rh);
  free(x), free(wt), free(wo), free(bias), free(res), free(ax), free(aw), free(ab), free(want), free(mag);
  free(xh), free(yh);
}

/* ---- inner product ---------------------------------------------------------------------------- */
static void fc_case(worst *w) {
  int rows = pick(1, 4), in_f = pick(0, 2) == 0 ? pick(1, 300) : 16 * pick(1, 20), out_f = pick(1, 100);
  int has_bias = pick(0, 1), in_out = pick(0, 1);
  size_t is = with_slack((size_t)in_f, 7), os = with_slack((size_t)out_f, 7);
  float lo, hi;
  const char *cname;
  char desc[160];
  pick_clamp(&lo, &hi, &cname);
  snprintf(desc, sizeof desc, "rows %d in %d out %d bias%d w[%s] strides %zu,%zu %s", rows, in_f, out_f, has_bias,
           in_out ? "in,out" : "out,in", is, os, cname);
  size_t an = (size_t)rows * in_f, wn = (size_t)in_f * out_f, yn = (size_t)rows * out_f;
  float *a = randv(an), *wt = randv(wn), *bias = has_bias ? randv(out_f) : NULL;
  float *aa = absv(a, an), *aw = absv(wt, wn), *ab = has_bias ? absv(bias, out_f) : NULL;
  float *want = malloc(yn * sizeof *want), *mag = malloc(yn * sizeof *mag);
  eck_gemm_params gp = {1.0f, 1.0f, 0, !in_out};
  int64_t ad[2] = {rows, in_f}, wd[2] = {in_out ? in_f : out_f, in_out ? out_f : in_f}, bd[1] = {out_f};
  int64_t yd[2] = {rows, out_f};
  eck_tensor in[3] = {tens(2, ad, a), tens(2, wd, wt), tens(1, bd, bias)}, out = tens(2, yd, want);
  eck_tensor ain[3] = {tens(2, ad, aa), tens(2, wd, aw), tens(1, bd, ab)}, aout = tens(2, yd, mag);
  eck_ref_gemm(&gp, in, has_bias ? 3 : 2, &out, 1, NULL);
  eck_ref_gemm(&gp, ain, has_bias ? 3 : 2, &aout, 1, NULL);
  for (size_t i = 0; i < yn; i++) want[i] = clampf(want[i], lo, hi);

  eck_dnnl_params p;
  memset(&p, 0, sizeof p);
  p.kind = ECK_DNNL_FC;
  p.flags = in_out ? ECK_DNNL_W_IN_OUT : 0;
  p.channels_in = in_f, p.channels_out = out_f, p.in_stride = is, p.out_stride = os, p.batch = rows;
  p.out_min = lo, p.out_max = hi;
  float *ah = to_nhwc(a, rows, in_f, 1, is, NAN), *yh = to_nhwc(want, rows, out_f, 1, os, SENTINEL);
  for (size_t r = 0; r < (size_t)rows; r++)
    for (size_t c = 0; c < (size_t)out_f; c++) yh[r * os + c] = NAN;
  if (run_dnnl(w, desc, &p, wt, bias, ah, NULL, yh)) compare(w, desc, yh, want, mag, rows, out_f, 1, os, TOL_DOT);
  free(a), free(wt), free(bias), free(aa), free(aw), free(ab), free(want), free(mag), free(ah), free(yh);
}

/* ---- pooling ---------------------------------------------------------------------------------- */
static void pool_case(worst *w) {
  int n = pick(1, 2), c = pick(0, 2) == 0 ? 16 * pick(1, 3) : pick(1, 20), maxp = pick(0, 1);
  int kh = pick(1, 4), kw = pick(1, 4), sh = pick(1, 3), sw = pick(1, 3);
  int dh = maxp && pick(0, 3) == 0 ? 2 : 1, dw = maxp && pick(0, 3) == 0 ? 2 : 1;
  int eh = (kh - 1) * dh + 1, ew = (kw - 1) * dw + 1;
  /* ONNX: pads smaller than the kernel. */
  int pt = pick(0, kh - 1), pb = pick(0, kh - 1), pl = pick(0, kw - 1), pr = pick(0, kw - 1);
  int h = pick(eh > 1 ? eh : 1, eh + 10), wd = pick(ew > 1 ? ew : 1, ew + 10);
  int ceil_mode = pick(0, 2) == 0, incl = !maxp && pick(0, 2) == 0;
  size_t oh = (size_t)(h + pt + pb - eh) / sh + 1, ow = (size_t)(wd + pl + pr - ew) / sw + 1;
  if (ceil_mode) {
    /* ONNX/torch: round up, but a last window starting in the right padding is dropped. */
    size_t ch = (size_t)(h + pt + pb - eh + sh - 1) / sh + 1, cw = (size_t)(wd + pl + pr - ew + sw - 1) / sw + 1;
    if ((ch - 1) * sh >= (size_t)(h + pt)) ch--;
    if ((cw - 1) * sw >= (size_t)(wd + pl)) cw--;
    if (incl && (ch != oh || cw != ow)) incl = 0; /* refused by the wrapper: tested apart */
    oh = ch, ow = cw;
  }
  size_t is = with_slack((size_t)c, 5), os = with_slack((size_t)c, 5);
  float lo, hi;
  const char *cname;
  char desc[160];
  pick_clamp(&lo, &hi, &cname);
  snprintf(desc, sizeof desc, "%s n%d c%d %dx%d s%d,%d d%d,%d pad t%d l%d b%d r%d in %dx%d out %zux%zu%s%s %s",
           maxp ? "max" : "avg", n, c, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, h, wd, oh, ow,
           ceil_mode ? " ceil" : "", incl ? " include-pad" : "", cname);
  size_t xn = (size_t)n * c * h * wd, yn = (size_t)n * c * oh * ow;
  float *x = randv(xn), *ax = absv(x, xn), *want = malloc(yn * sizeof *want), *mag = malloc(yn * sizeof *mag);
  eck_pool_params pp = {maxp ? ECK_POOL_MAX : ECK_POOL_AVG, 2, incl, 0, 0, {1, kh, kw}, {1, sh, sw}, {1, dh, dw},
                        {0, pt, pl}, {0, pb, pr}};
  int64_t xd[4] = {n, c, h, wd}, yd[4] = {n, c, (int64_t)oh, (int64_t)ow};
  eck_tensor in = tens(4, xd, x), out = tens(4, yd, want), ain = tens(4, xd, ax), aout = tens(4, yd, mag);
  eck_ref_pool(&pp, &in, 1, &out, 1, NULL);
  eck_ref_pool(&pp, &ain, 1, &aout, 1, NULL);
  for (size_t i = 0; i < yn; i++) want[i] = clampf(want[i], lo, hi);
  if (maxp)
    for (size_t i = 0; i < yn; i++) mag[i] = 1; /* a max is exact: absolute error */

  eck_dnnl_params p;
  memset(&p, 0, sizeof p);
  p.kind = maxp ? ECK_DNNL_MAXPOOL : ECK_DNNL_AVGPOOL;
  p.flags = incl ? ECK_DNNL_AVG_INCLUDE_PAD : 0;
  p.pad[0] = pt, p.pad[1] = pr, p.pad[2] = pb, p.pad[3] = pl;
  p.kernel[0] = kh, p.kernel[1] = kw, p.stride[0] = sh, p.stride[1] = sw, p.dilation[0] = dh, p.dilation[1] = dw;
  p.channels_in = c, p.in_stride = is, p.out_stride = os, p.batch = n, p.height = h, p.width = wd;
  p.out_height = ceil_mode ? oh : 0, p.out_width = ceil_mode ? ow : 0, p.out_min = lo, p.out_max = hi;
  float *xh = to_nhwc(x, n, c, (size_t)h * wd, is, NAN), *yh = to_nhwc(want, n, c, oh * ow, os, SENTINEL);
  for (size_t i = 0; i < (size_t)n * oh * ow; i++)
    for (size_t ch = 0; ch < (size_t)c; ch++) yh[i * os + ch] = NAN;
  if (run_dnnl(w, desc, &p, NULL, NULL, xh, NULL, yh))
    compare(w, desc, yh, want, mag, n, c, oh * ow, os, maxp ? 0.0 : TOL_DOT);
  free(x), free(ax), free(want), free(mag), free(xh), free(yh);
}

/* ---- binary ----------------------------------------------------------------------------------- */
static void binary_case(worst *w) {
  int rank = pick(1, 5), add = pick(0, 1), swap = pick(0, 3) == 0;
  size_t full[5], sa[5], sb[5];
  int ra = rank, rb = pick(1, rank);
  size_t na = 1, nb = 1;
  for (int i = 0; i < rank; i++) full[i] = (size_t)pick(1, i == rank - 1 ? 40 : 6), na *= full[i];
  for (int i = 0; i < rb; i++) {
    size_t d = full[rank - rb + i];
    sb[i] = pick(0, 2) == 0 ? 1 : d;
    nb *= sb[i];
  }
  memcpy(sa, full, sizeof full);
  float lo, hi;
  const char *cname;
  char desc[160], *q = desc;
  pick_clamp(&lo, &hi, &cname);
  q += sprintf(q, "%s%s [", add ? "add" : "mul", swap ? " (broadcast first)" : "");
  for (int i = 0; i < ra; i++) q += sprintf(q, "%s%zu", i ? "," : "", sa[i]);
  q += sprintf(q, "] [");
  for (int i = 0; i < rb; i++) q += sprintf(q, "%s%zu", i ? "," : "", sb[i]);
  sprintf(q, "] %s", cname);
  float *a = randv(na), *b = randv(nb), *want = malloc(na * sizeof *want), *mag = malloc(na * sizeof *mag);
  int64_t ad[5], bd[5];
  for (int i = 0; i < ra; i++) ad[i] = (int64_t)sa[i];
  for (int i = 0; i < rb; i++) bd[i] = (int64_t)sb[i];
  eck_binary_params bp = {add ? ECK_BINARY_ADD : ECK_BINARY_MUL, 0};
  /* The reference computes a op b with b broadcast; swapped, the wrapper is handed (b, a). */
  eck_tensor in[2] = {tens(ra, ad, a), tens(rb, bd, b)}, out = tens(ra, ad, want);
  eck_ref_binary(&bp, in, 2, &out, 1, NULL);
  for (size_t i = 0; i < na; i++) want[i] = clampf(want[i], lo, hi), mag[i] = 1;

  eck_dnnl_params p;
  memset(&p, 0, sizeof p);
  p.kind = add ? ECK_DNNL_ADD : ECK_DNNL_MUL;
  p.rank_a = swap ? rb : ra, p.rank_b = swap ? ra : rb;
  memcpy(p.shape_a, swap ? sb : sa, sizeof sa);
  memcpy(p.shape_b, swap ? sa : sb, sizeof sa);
  p.out_min = lo, p.out_max = hi;
  float *y = malloc((na + 1) * sizeof *y);
  for (size_t i = 0; i < na; i++) y[i] = NAN;
  y[na] = SENTINEL;
  if (run_dnnl(w, desc, &p, NULL, NULL, swap ? b : a, swap ? a : b, y)) {
    /* One float op per element: exact. */
    compare(w, desc, y, want, mag, 1, na, 1, na, 0.0);
    if (y[na] != SENTINEL) {
      w->failed++;
      fprintf(stderr, "FAILED %s: %s: wrote past the output\n", w->name, desc);
    }
  }
  free(a), free(b), free(want), free(mag), free(y);
}

/* The refusals: ceil_mode with included padding is not something oneDNN computes as ONNX does. */
static int refusals(void) {
  eck_dnnl_params p;
  eck_dnnl_node s;
  memset(&p, 0, sizeof p);
  p.kind = ECK_DNNL_AVGPOOL, p.flags = ECK_DNNL_AVG_INCLUDE_PAD;
  p.kernel[0] = p.kernel[1] = 2, p.stride[0] = p.stride[1] = 2, p.dilation[0] = p.dilation[1] = 1;
  p.channels_in = 3, p.batch = 1, p.height = p.width = 5, p.out_height = p.out_width = 3;
  p.out_min = -ECK_DNNL_INF, p.out_max = ECK_DNNL_INF;
  if (eck_dnnl_create(&s, &ctx, &p, NULL, NULL) != ECK_ERR_UNSUPPORTED || !s.err.status) {
    fprintf(stderr, "FAILED: ceil_mode with count_include_pad was not refused\n");
    return 1;
  }
  p.kind = ECK_DNNL_CONV, p.groups = 1, p.channels_out = 4;
  if (eck_dnnl_create(&s, &ctx, &p, NULL, NULL) != ECK_ERR_ARG) {
    fprintf(stderr, "FAILED: a convolution without weights was not refused\n");
    return 1;
  }
  return 0;
}

/* Threads of this process (/proc/self/task entries). */
/* ---- BatchNormalization on the OpenMP team (eck_dnnl_batchnorm_nhwc) ------------------------- */

/* Against the formula in double: (x - mean) / sqrt(var + eps) * scale + bias, clamped; pixel
 * strides with slack on both sides (the output's must keep SENTINEL), channel counts across the
 * 512-channel fold blocks, pixel counts on both sides of the one-thread threshold. */
static void bn_case(worst *w, int threads) {
  size_t c = (size_t)(pick(0, 3) == 0 ? pick(500, 1100) : pick(1, 96));
  size_t pixels = (size_t)(pick(0, 1) ? pick(1, 64) : pick(1, 3) * (int)(ECK_DNNL_BN_SERIAL / c + 7));
  size_t xs = with_slack(c, 9), ys = with_slack(c, 9);
  float *x = randv(pixels * xs), *y = malloc((pixels * ys + 1) * sizeof *y);
  float *scale = randv(c), *bias = randv(c), *mean = randv(c), *var = randv(c);
  float eps = 1e-5f, lo, hi;
  const char *clamp;
  pick_clamp(&lo, &hi, &clamp);
  for (size_t k = 0; k < c; k++) var[k] = fabsf(var[k]) + 0.01f;
  for (size_t i = 0; i < pixels * ys; i++) y[i] = SENTINEL;
  eck_dnnl_batchnorm_nhwc(x, y, scale, bias, mean, var, eps, pixels, c, xs, ys, lo, hi, threads);
  double e = 0;
  int slack = 0;
  for (size_t p = 0; p < pixels; p++) {
    for (size_t k = 0; k < c; k++) {
      double sk = (double)scale[k] / sqrt((double)var[k] + (double)eps), xv = x[p * xs + k];
      double want = (xv - mean[k]) * sk + bias[k], mag = fabs(xv * sk) + fabs(mean[k] * sk) + fabs(bias[k]);
      want = want < lo ? lo : want > hi ? hi : want;
      double d = fabs(y[p * ys + k] - want) / (mag + 1e-30);
      if (!(d <= e)) e = isnan(d) ? INFINITY : d;
    }
    for (size_t k = c; k < ys; k++) slack |= y[p * ys + k] != SENTINEL;
  }
  if (slack) e = INFINITY;
  w->cases++;
  if (e > w->err || w->cases == 1) {
    w->err = e;
    snprintf(w->where, sizeof w->where, "%zu pixels x %zu channels, strides %zu/%zu, clamp %s, %d threads%s", pixels, c,
             xs, ys, clamp, threads, slack ? " (wrote past its channels)" : "");
  }
  if (e > 1e-5) {
    w->failed++;
    if (w->failed <= 5) fprintf(stderr, "FAILED batchnorm: %s: error %.3g\n", w->where, e);
  }
  free(x), free(y), free(scale), free(bias), free(mean), free(var);
}

static int thread_count(void) {
  DIR *d = opendir("/proc/self/task");
  struct dirent *e;
  int n = 0;
  if (!d) return -1;
  while ((e = readdir(d)))
    if (e->d_name[0] != '.') n++;
  closedir(d);
  return n;
}

int main(int argc, char **argv) {
  unsigned long long seed = argc > 1 ? strtoull(argv[1], NULL, 10) : 20261201ull;
  int cases = argc > 2 ? atoi(argv[2]) : 300, failed = 0;
  eck_dnnl_error err = {0, 0};
  worst ws[4];
  const char *names[4] = {"conv", "inner_product", "pooling", "binary"};
  void (*fns[4])(worst *) = {conv_case, fc_case, pool_case, binary_case};
  if (eck_dnnl_start(&ctx, 1, &err) != ECK_OK) {
    fprintf(stderr, "FAILED: eck_dnnl_start: %s: %s\n", err.call, err.status);
    return 1;
  }
  memset(ws, 0, sizeof ws);
  for (int k = 0; k < 4; k++) {
    ws[k].name = names[k];
    rng = seed * 0x9E3779B97F4A7C15ull + (uint64_t)k + 1;
    for (int i = 0; i < cases; i++) fns[k](&ws[k]);
    printf("%-14s %4d cases, %d failed, worst error %.3g (%s)\n", ws[k].name, ws[k].cases, ws[k].failed,
           ws[k].err, ws[k].where);
    printf("%-14s implementations:", "");
    for (int i = 0; i < ws[k].n_impl; i++) printf(" %s %d%s", ws[k].impl[i], ws[k].impl_count[i], i + 1 < ws[k].n_impl ? "," : "");
    printf("\n");
    failed += ws[k].failed;
  }
  failed += refusals();
  /* One thread asked for: oneDNN must not have started an OpenMP worker. */
  {
    int t = thread_count();
    if (t != 1) {
      fprintf(stderr, "FAILED: %d threads after the runs at 1 thread (want 1)\n", t);
      failed++;
    }
  }
  /* Then the one kernel that runs on OpenMP threads of its own asking: 1, 2 and 3 threads. */
  {
    worst bw;
    memset(&bw, 0, sizeof bw);
    bw.name = "batchnorm";
    rng = seed * 0x9E3779B97F4A7C15ull + 5;
    for (int i = 0; i < cases; i++) bn_case(&bw, 1 + i % 3);
    printf("%-14s %4d cases, %d failed, worst error %.3g (%s)\n", bw.name, bw.cases, bw.failed, bw.err, bw.where);
    failed += bw.failed;
  }
  eck_dnnl_stop(&ctx);
  if (failed) {
    printf("FAILED: %d cases\n", failed);
    return 1;
  }
  printf("all cases within tolerance (seed %llu)\n", seed);
  return 0;
}
