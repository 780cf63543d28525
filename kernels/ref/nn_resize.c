/* nn_resize.c — reference resampling: Resize/Upsample (nearest, linear, cubic over any dims,
 * every coordinate transformation), DepthToSpace/SpaceToDepth, GridSample and RoiAlign. */
#include <math.h>

#include "eck_ref.h"

/* Source coordinate of output index x along one dim. */
static double src_coord(const eck_resize_params *p, int k, int rank, double x, int64_t in,
                        int64_t out) {
  /* The resized length is in * scale before flooring, as ONNX defines it. */
  double s = p->scales[k], len = (double)in * s;
  switch (p->coord) {
    case ECK_COORD_ASYMMETRIC: return x / s;
    case ECK_COORD_PYTORCH_HALF_PIXEL: return len > 1 ? (x + 0.5) / s - 0.5 : 0;
    case ECK_COORD_TF_HALF_PIXEL_FOR_NN: return (x + 0.5) / s;
    case ECK_COORD_ALIGN_CORNERS:
      return out == 1 || len == 1 ? 0 : x * (double)(in - 1) / (len - 1);
    case ECK_COORD_TF_CROP_AND_RESIZE: {
      double a = p->roi[k], b = p->roi[rank + k];
      return len > 1 ? a * (double)(in - 1) + x * (b - a) * (double)(in - 1) / (len - 1)
                     : 0.5 * (a + b) * (double)(in - 1);
    }
    default: return (x + 0.5) / s - 0.5;
  }
}

static int64_t clampi(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : v > hi ? hi : v; }

static void cubic_coeffs(double t, double A, double *c) {
  double t1 = t + 1, t2 = 1 - t, t3 = 2 - t;
  c[0] = ((A * t1 - 5 * A) * t1 + 8 * A) * t1 - 4 * A;
  c[1] = ((A + 2) * t - (A + 3)) * t * t + 1;
  c[2] = ((A + 2) * t2 - (A + 3)) * t2 * t2 + 1;
  c[3] = ((A * t3 - 5 * A) * t3 + 8 * A) * t3 - 4 * A;
}

/* Taps (input index, weight) of one output coordinate along one dim; returns their count, or
 * -1 when the coordinate is outside the crop (tf_crop_and_resize extrapolates). */
static int taps(const eck_resize_params *p, int k, int rank, int64_t x, int64_t in, int64_t out,
                int64_t *idx, double *w) {
  double c = src_coord(p, k, rank, (double)x, in, out);
  if (p->coord == ECK_COORD_TF_CROP_AND_RESIZE && (c < 0 || c > (double)(in - 1))) return -1;
  if (p->mode == ECK_RESIZE_NEAREST) {
    double f = floor(c), fr = c - f;
    int64_t i;
    switch (p->nearest) {
      case ECK_NEAREST_ROUND_PREFER_CEIL: i = (int64_t)(fr == 0.5 ? f + 1 : floor(c + 0.5)); break;
      case ECK_NEAREST_FLOOR:
      case ECK_NEAREST_LEGACY: i = (int64_t)f; break;
      case ECK_NEAREST_CEIL: i = (int64_t)ceil(c); break;
      default: i = (int64_t)(fr == 0.5 ? f : floor(c + 0.5)); break;
    }
    idx[0] = clampi(i, 0, in - 1);
    w[0] = 1;
    return 1;
  }
  if (p->mode == ECK_RESIZE_LINEAR) {
    double f = floor(c), t = c - f;
    idx[0] = clampi((int64_t)f, 0, in - 1);
    idx[1] = clampi((int64_t)f + 1, 0, in - 1);
    w[0] = 1 - t;
    w[1] = t;
    return 2;
  }
  double f = floor(c), cc[4], sum = 0;
  cubic_coeffs(c - f, p->cubic_a, cc);
  for (int j = 0; j < 4; j++) {
    int64_t i = (int64_t)f - 1 + j;
    w[j] = cc[j];
    if (p->exclude_outside && (i < 0 || i >= in)) w[j] = 0;
    sum += w[j];
    idx[j] = clampi(i, 0, in - 1);
  }
  if (p->exclude_outside && sum != 0)
    for (int j = 0; j < 4; j++) w[j] /= sum;
  return 4;
}

int eck_ref_resize(const void *params, const eck_tensor *in, int n_in, eck_tensor *out,
                   int n_out, void *scratch) {
  (void)n_in; (void)n_out; (void)scratch;
  const eck_resize_params *p = params;
  const eck_tensor *x = &in[0], *y = &out[0];
  const int r = x->rank;
  int64_t xs[ECK_MAX_RANK], s = 1;
  for (int k = r - 1; k >= 0; k--) {
    xs[k] = s;
    s *= x->dims[k];
  }
  int64_t ny = eck_numel(y);
  for (int64_t o = 0; o < ny; o++) {
    int64_t idx[ECK_MAX_RANK][4], rem = o;
    double w[ECK_MAX_RANK][4];
    int nt[ECK_MAX_RANK], outside = 0;
    for (int k = r - 1; k >= 0; k--) {
      int64_t c = rem % y->dims[k];
      rem /= y->dims[k];
      nt[k] = taps(p, k, r, c, x->dims[k], y->dims[k], idx[k], w[k]);
      if (nt[k] < 0) outside = 1;
    }
    if (outside) {
      eck_store_f64(y->data, y->dtype, o, p->extrapolation);
      continue;
    }
    /* Sum over the product of every dim's taps (an odometer over tap numbers). */
    int t[ECK_MAX_RANK] = {0};
    double acc = 0;
    for (;;) {
      double wt = 1;
      int64_t off = 0;
      for (int k = 0; k < r; k++) {
        wt *= w[k][t[k]];
        off += idx[k][t[k]] * xs[k];
      }
      if (wt != 0) acc += wt * eck_load_f64(x->data, x->dtype, off);
      int k = r - 1;
      while (k >= 0 && ++t[k] == nt[k]) t[k--] = 0;
      if (k < 0) break;
    }
    if (!eck_dtype_is_float(y->dtype)) acc = nearbyint(acc);
    eck_store_f64(y->data, y->dtype, o, acc);
  }
  return ECK_OK;
}

/* DepthToSpace (DCR or CRD) and SpaceToDepth: a pure permutation of elements. */
int eck_ref_depth_space(const void *params, const eck_tensor *in, int n_in, eck_tensor *out,
                        int n_out, void *scratch) {
  (void)n_in; (void)n_out; (void)scratch;
  const eck_d2s_params *p = params;
  const eck_tensor *x = &in[0], *y = &out[0];
  const int64_t b = p->blocksize;
  const size_t es = eck_dtype_size(x->dtype);
  /* Work in terms of the deep tensor D [N, C*b*b, H, W] and the wide one S [N, C, H*b, W*b]. */
  const eck_tensor *deep = p->to_depth ? y : x;
  const int64_t N = deep->dims[0], C = deep->dims[1] / (b * b), H = deep->dims[2],
                W = deep->dims[3];
  const unsigned char *src = x->data;
  unsigned char *dst = y->data;
  for (int64_t n = 0; n < N; n++)
    for (int64_t c = 0; c < C; c++)
      for (int64_t h = 0; h < H; h++)
        for (int64_t i = 0; i < b; i++)
          for (int64_t w = 0; w < W; w++)
            for (int64_t j = 0; j < b; j++) {
              int64_t dc = p->crd ? c * b * b + i * b + j : (i * b + j) * C + c;
              int64_t di = ((n * C * b * b + dc) * H + h) * W + w;
              int64_t si = ((n * C + c) * H * b + h * b + i) * W * b + w * b + j;
              int64_t from = p->to_depth ? si : di, to = p->to_depth ? di : si;
              for (size_t e = 0; e < es; e++) dst[(size_t)to * es + e] = src[(size_t)from * es + e];
            }
  return ECK_OK;
}

/* ---- GridSample (as ONNX Runtime: padding applied per fetched pixel) ---------------------- */

static double reflect(double v, double lo, double hi) {
  double range = hi - lo;
  if (range <= 0) return lo;
  if (v < lo) {
    double d = lo - v;
    int64_t n = (int64_t)(d / range);
    double r = d - (double)n * range;
    return n % 2 == 0 ? lo + r : hi - r;
  }
  if (v > hi) {
    double d = v - hi;
    int64_t n = (int64_t)(d / range);
    double r = d - (double)n * range;
    return n % 2 == 0 ? hi - r : lo + r;
  }
  return v;
}

static double pixel(const eck_gridsample_params *p, const eck_tensor *x, int64_t base, int64_t yy,
                    int64_t xx, int64_t H, int64_t W) {
  if (p->padding == 0) {
    if (yy < 0 || yy >= H || xx < 0 || xx >= W) return 0;
  } else if (p->padding == 1) {
    yy = clampi(yy, 0, H - 1);
    xx = clampi(xx, 0, W - 1);
  } else {
    double lo = p->align_corners ? 0 : -0.5;
    xx = (int64_t)reflect((double)xx, lo, p->align_corners ? (double)(W - 1) : (double)W - 0.5);
    yy = (int64_t)reflect((double)yy, lo, p->align_corners ? (double)(H - 1) : (double)H - 0.5);
    xx = clampi(xx, 0, W - 1);
    yy = clampi(yy, 0, H - 1);
  }
  return eck_load_f64(x->data, x->dtype, base + yy * W + xx);
}

static double cubic1(const double *v, double t) {
  double c[4];
  cubic_coeffs(t, -0.75, c);
  return c[0] * v[0] + c[1] * v[1] + c[2] * v[2] + c[3] * v[3];
}

int eck_ref_gridsample(const void *params, const eck_tensor *in, int n_in, eck_tensor *out,
                       int n_out, void *scratch) {
  (void)n_in; (void)n_out; (void)scratch;
  const eck_gridsample_params *p = params;
  const eck_tensor *x = &in[0], *g = &in[1], *y = &out[0];
  const int64_t N = x->dims[0], C = x->dims[1], H = x->dims[2], W = x->dims[3];
  const int64_t Ho = y->dims[2], Wo = y->dims[3];
  for (int64_t n = 0; n < N; n++)
    for (int64_t i = 0; i < Ho; i++)
      for (int64_t j = 0; j < Wo; j++) {
        int64_t gi = ((n * Ho + i) * Wo + j) * 2;
        double gx = eck_load_f64(g->data, g->dtype, gi), gy = eck_load_f64(g->data, g->dtype, gi + 1);
        double fx = p->align_corners ? (gx + 1) / 2 * (double)(W - 1) : ((gx + 1) * (double)W - 1) / 2;
        double fy = p->align_corners ? (gy + 1) / 2 * (double)(H - 1) : ((gy + 1) * (double)H - 1) / 2;
        if (p->mode == 1) {
          fx = nearbyint(fx);
          fy = nearbyint(fy);
        }
        double xlo = p->align_corners ? 0 : -0.5, ylo = xlo;
        double xhi = p->align_corners ? (double)(W - 1) : (double)W - 0.5;
        double yhi = p->align_corners ? (double)(H - 1) : (double)H - 0.5;
        if (fx < xlo || fx > xhi || fy < ylo || fy > yhi) {
          if (p->padding == 1) {
            fx = fx < 0 ? 0 : fx > (double)(W - 1) ? (double)(W - 1) : fx;
            fy = fy < 0 ? 0 : fy > (double)(H - 1) ? (double)(H - 1) : fy;
          } else if (p->padding == 2) {
            fx = reflect(fx, xlo, xhi);
            fy = reflect(fy, ylo, yhi);
          }
        }
        for (int64_t c = 0; c < C; c++) {
          int64_t base = (n * C + c) * H * W;
          double v;
          if (p->mode == 1) {
            v = pixel(p, x, base, (int64_t)fy, (int64_t)fx, H, W);
          } else if (p->mode == 0) {
            int64_t x0 = (int64_t)floor(fx), y0 = (int64_t)floor(fy);
            double dx = fx - (double)x0, dy = fy - (double)y0;
            v = (1 - dy) * ((1 - dx) * pixel(p, x, base, y0, x0, H, W) +
                            dx * pixel(p, x, base, y0, x0 + 1, H, W)) +
                dy * ((1 - dx) * pixel(p, x, base, y0 + 1, x0, H, W) +
                      dx * pixel(p, x, base, y0 + 1, x0 + 1, H, W));
          } else {
            int64_t x0 = (int64_t)floor(fx) - 1, y0 = (int64_t)floor(fy) - 1;
            double rows[4];
            for (int a = 0; a < 4; a++) {
              double v4[4];
              for (int b = 0; b < 4; b++) v4[b] = pixel(p, x, base, y0 + a, x0 + b, H, W);
              rows[a] = cubic1(v4, fx - (double)x0 - 1);
            }
            v = cubic1(rows, fy - (double)y0 - 1);
          }
          eck_store_f64(y->data, y->dtype, ((n * C + c) * Ho + i) * Wo + j, v);
        }
      }
  return ECK_OK;
}

/* ---- RoiAlign (Detectron / ONNX Runtime sampling) ----------------------------------------- */

int eck_ref_roialign(const void *params, const eck_tensor *in, int n_in, eck_tensor *out,
                     int n_out, void *scratch) {
  (void)n_in; (void)n_out; (void)scratch;
  const eck_roialign_params *p = params;
  const eck_tensor *x = &in[0], *rois = &in[1], *bi = &in[2], *y = &out[0];
  const int64_t N = x->dims[0], C = x->dims[1], H = x->dims[2], W = x->dims[3];
  const int64_t R = y->dims[0], OH = y->dims[2], OW = y->dims[3];
  const double off = p->half_pixel ? 0.5 : 0;
  for (int64_t r = 0; r < R; r++) {
    int64_t b = eck_load_i64(bi->data, bi->dtype, r);
    if (b < 0 || b >= N) return ECK_ERR_INDEX;
    double x1 = eck_load_f64(rois->data, rois->dtype, r * 4) * p->spatial_scale - off;
    double y1 = eck_load_f64(rois->data, rois->dtype, r * 4 + 1) * p->spatial_scale - off;
    double x2 = eck_load_f64(rois->data, rois->dtype, r * 4 + 2) * p->spatial_scale - off;
    double y2 = eck_load_f64(rois->data, rois->dtype, r * 4 + 3) * p->spatial_scale - off;
    double rw = x2 - x1, rh = y2 - y1;
    if (!p->half_pixel) {
      rw = rw > 1 ? rw : 1;
      rh = rh > 1 ? rh : 1;
    }
    double bh = rh / (double)OH, bw = rw / (double)OW;
    int64_t gh = p->sampling_ratio > 0 ? p->sampling_ratio : (int64_t)ceil(rh / (double)OH);
    int64_t gw = p->sampling_ratio > 0 ? p->sampling_ratio : (int64_t)ceil(rw / (double)OW);
    double count = (double)(gh * gw > 1 ? gh * gw : 1);
    for (int64_t c = 0; c < C; c++) {
      int64_t base = (b * C + c) * H * W;
      for (int64_t ph = 0; ph < OH; ph++)
        for (int64_t pw = 0; pw < OW; pw++) {
          double acc = 0, mx = -INFINITY;
          int any = 0;
          for (int64_t iy = 0; iy < gh; iy++) {
            double yy = y1 + (double)ph * bh + ((double)iy + 0.5) * bh / (double)gh;
            for (int64_t ix = 0; ix < gw; ix++) {
              double xx = x1 + (double)pw * bw + ((double)ix + 0.5) * bw / (double)gw;
              double v[4] = {0, 0, 0, 0}, wt[4] = {0, 0, 0, 0};
              if (!(yy < -1.0 || yy > (double)H || xx < -1.0 || xx > (double)W)) {
                double cy = yy <= 0 ? 0 : yy, cx = xx <= 0 ? 0 : xx;
                int64_t yl = (int64_t)cy, xl = (int64_t)cx, yh, xh;
                if (yl >= H - 1) {
                  yh = yl = H - 1;
                  cy = (double)yl;
                } else {
                  yh = yl + 1;
                }
                if (xl >= W - 1) {
                  xh = xl = W - 1;
                  cx = (double)xl;
                } else {
                  xh = xl + 1;
                }
                double ly = cy - (double)yl, lx = cx - (double)xl, hy = 1 - ly, hx = 1 - lx;
                wt[0] = hy * hx, wt[1] = hy * lx, wt[2] = ly * hx, wt[3] = ly * lx;
                v[0] = eck_load_f64(x->data, x->dtype, base + yl * W + xl);
                v[1] = eck_load_f64(x->data, x->dtype, base + yl * W + xh);
                v[2] = eck_load_f64(x->data, x->dtype, base + yh * W + xl);
                v[3] = eck_load_f64(x->data, x->dtype, base + yh * W + xh);
              }
              for (int q = 0; q < 4; q++) {
                acc += wt[q] * v[q];
                if (!any || wt[q] * v[q] > mx) mx = wt[q] * v[q];
                any = 1;
              }
            }
          }
          double res = p->max_mode ? (any ? mx : 0) : acc / count;
          eck_store_f64(y->data, y->dtype, ((r * C + c) * OH + ph) * OW + pw, res);
        }
    }
  }
  return ECK_OK;
}
