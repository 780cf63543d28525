/* tensor_gen.c — reference kernels that make values: ConstantOfShape, Range, EyeLike, Trilu,
 * window functions, seeded random generators, Det, DFT, STFT, MelWeightMatrix. */
#include <math.h>
#include <string.h>

#include "eck_ref.h"

#define ECK_PI 3.14159265358979323846

int eck_ref_constant_of_shape(const void *params, const eck_tensor *in, int n_in, eck_tensor *out,
                              int n_out, void *scratch) {
  (void)in; (void)n_in; (void)n_out; (void)scratch;
  const eck_const_params *p = params;
  size_t size = eck_dtype_size(out[0].dtype);
  int64_t n = eck_numel(&out[0]);
  for (int64_t i = 0; i < n; i++) memcpy((char *)out[0].data + (size_t)i * size, &p->bits, size);
  return ECK_OK;
}

int eck_ref_range(const void *params, const eck_tensor *in, int n_in, eck_tensor *out, int n_out,
                  void *scratch) {
  (void)params; (void)n_in; (void)n_out; (void)scratch;
  int64_t n;
  int32_t dt = out[0].dtype;
  /* max(ceil((limit - start) / delta), 0) elements; out[0].dims[0] holds the bound. */
  if (eck_dtype_is_float(dt)) {
    double s = eck_load_f64(in[0].data, dt, 0), l = eck_load_f64(in[1].data, dt, 0), d = eck_load_f64(in[2].data, dt, 0);
    double c = d == 0 ? -1 : ceil((l - s) / d);
    if (!(c <= (double)out[0].dims[0])) return d == 0 ? ECK_ERR_ARG : ECK_ERR_BOUND;
    n = c > 0 ? (int64_t)c : 0;
    for (int64_t i = 0; i < n; i++) eck_store_f64(out[0].data, dt, i, s + (double)i * d);
  } else {
    int64_t s = eck_load_i64(in[0].data, dt, 0), l = eck_load_i64(in[1].data, dt, 0), d = eck_load_i64(in[2].data, dt, 0);
    if (d == 0) return ECK_ERR_ARG;
    /* ceil of a quotient whose operands fit int32/int16 (or int64 that does not overflow) */
    int64_t diff = l - s, q = diff / d;
    if (q * d != diff && ((diff > 0) == (d > 0))) q++;
    n = q > 0 ? q : 0;
    if (n > out[0].dims[0]) return ECK_ERR_BOUND;
    for (int64_t i = 0; i < n; i++) eck_store_i64(out[0].data, dt, i, (int64_t)((uint64_t)s + (uint64_t)i * (uint64_t)d));
  }
  out[0].dims[0] = n;
  return ECK_OK;
}

int eck_ref_eyelike(const void *params, const eck_tensor *in, int n_in, eck_tensor *out, int n_out,
                    void *scratch) {
  (void)in; (void)n_in; (void)n_out; (void)scratch;
  const eck_eyelike_params *p = params;
  int64_t rows = out[0].dims[0], cols = out[0].dims[1];
  size_t size = eck_dtype_size(out[0].dtype);
  memset(out[0].data, 0, (size_t)(rows * cols) * size);
  for (int64_t i = 0; i < rows; i++) {
    int64_t j = i + p->k;
    if (j >= 0 && j < cols) eck_store_i64(out[0].data, out[0].dtype, i * cols + j, 1);
  }
  return ECK_OK;
}

int eck_ref_trilu(const void *params, const eck_tensor *in, int n_in, eck_tensor *out, int n_out,
                  void *scratch) {
  (void)n_out; (void)scratch;
  const eck_trilu_params *p = params;
  const eck_tensor *x = &in[0];
  int64_t k = 0;
  if (n_in > 1 && in[1].data && eck_numel(&in[1]) > 0) k = eck_load_i64(in[1].data, in[1].dtype, 0);
  int64_t rows = x->dims[x->rank - 2], cols = x->dims[x->rank - 1], n = eck_numel(x);
  size_t size = eck_dtype_size(x->dtype);
  for (int64_t i = 0; i < n; i++) {
    int64_t c = i % cols, r = (i / cols) % rows;
    int keep = p->upper ? c - r >= k : c - r <= k;
    if (keep) eck_copy_elem(out[0].data, i, x->data, i, size);
    else memset((char *)out[0].data + (size_t)i * size, 0, size);
  }
  return ECK_OK;
}

int eck_ref_window(const void *params, const eck_tensor *in, int n_in, eck_tensor *out, int n_out,
                   void *scratch) {
  (void)in; (void)n_in; (void)n_out; (void)scratch;
  const eck_window_params *p = params;
  int64_t n = out[0].dims[0];
  double den = (double)(p->periodic ? n : n - 1);
  for (int64_t i = 0; i < n; i++) {
    double t = den > 0 ? 2 * ECK_PI * (double)i / den : 0, v;
    switch (p->fn) {
      case ECK_WIN_HANN: v = 0.5 - 0.5 * cos(t); break;
      case ECK_WIN_HAMMING: v = 25.0 / 46.0 - (21.0 / 46.0) * cos(t); break;
      default: v = 0.42 - 0.5 * cos(t) + 0.08 * cos(2 * t); break;
    }
    eck_store_f64(out[0].data, out[0].dtype, i, v);
  }
  return ECK_OK;
}

/* splitmix64: small, seedable and the same on every board. */
static uint64_t mix(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static double uniform01(uint64_t *s) { return (double)(mix(s) >> 11) * (1.0 / 9007199254740992.0); }

int eck_ref_random(const void *params, const eck_tensor *in, int n_in, eck_tensor *out, int n_out,
                   void *scratch) {
  (void)n_in; (void)n_out; (void)scratch;
  const eck_random_params *p = params;
  uint64_t s = p->seed;
  int64_t n = eck_numel(&out[0]);
  for (int64_t i = 0; i < n; i++) {
    double v;
    if (p->fn == 0) {
      v = p->a + (p->b - p->a) * uniform01(&s);
    } else if (p->fn == 1) {
      double u1 = uniform01(&s), u2 = uniform01(&s);
      v = p->a + p->b * sqrt(-2.0 * log(1.0 - u1)) * cos(2 * ECK_PI * u2);
    } else {
      v = uniform01(&s) < eck_load_f64(in[0].data, in[0].dtype, i);
    }
    eck_store_f64(out[0].data, out[0].dtype, i, v);
  }
  return ECK_OK;
}

int eck_ref_det(const void *params, const eck_tensor *in, int n_in, eck_tensor *out, int n_out,
                void *scratch) {
  (void)params; (void)n_in; (void)n_out;
  const eck_tensor *x = &in[0];
  int64_t m = x->dims[x->rank - 1], batch = eck_numel(&out[0]);
  double *a = scratch;
  for (int64_t b = 0; b < batch; b++) {
    for (int64_t i = 0; i < m * m; i++) a[i] = eck_load_f64(x->data, x->dtype, b * m * m + i);
    double det = 1;
    for (int64_t c = 0; c < m; c++) {
      int64_t piv = c;
      for (int64_t r = c + 1; r < m; r++)
        if (fabs(a[r * m + c]) > fabs(a[piv * m + c])) piv = r;
      if (a[piv * m + c] == 0) {
        det = 0;
        break;
      }
      if (piv != c) {
        for (int64_t j = 0; j < m; j++) {
          double t = a[c * m + j];
          a[c * m + j] = a[piv * m + j];
          a[piv * m + j] = t;
        }
        det = -det;
      }
      det *= a[c * m + c];
      for (int64_t r = c + 1; r < m; r++) {
        double f = a[r * m + c] / a[c * m + c];
        for (int64_t j = c; j < m; j++) a[r * m + j] -= f * a[c * m + j];
      }
    }
    eck_store_f64(out[0].data, out[0].dtype, b, det);
  }
  return ECK_OK;
}

/* One DFT line: n_in samples (re, im at stride `st` complex elements; im absent when cplx == 0),
 * zero-padded or cut to `len`, `bins` outputs written at stride `ost`. */
static void dft_line(const eck_tensor *x, int64_t base, int64_t st, int64_t n_in, int cplx,
                     const eck_tensor *win, eck_tensor *y, int64_t obase, int64_t ost, int64_t len,
                     int64_t bins, int inverse) {
  for (int64_t k = 0; k < bins; k++) {
    double re = 0, im = 0;
    for (int64_t t = 0; t < len && t < n_in; t++) {
      int64_t e = base + t * st * (cplx ? 2 : 1);
      double xr = eck_load_f64(x->data, x->dtype, e), xi = cplx ? eck_load_f64(x->data, x->dtype, e + 1) : 0;
      if (win) {
        double w = eck_load_f64(win->data, win->dtype, t);
        xr *= w;
        xi *= w;
      }
      double ang = (inverse ? 2 : -2) * ECK_PI * (double)((k * t) % len) / (double)len;
      double c = cos(ang), s = sin(ang);
      re += xr * c - xi * s;
      im += xr * s + xi * c;
    }
    if (inverse) {
      re /= (double)len;
      im /= (double)len;
    }
    eck_store_f64(y->data, y->dtype, obase + k * ost * 2, re);
    eck_store_f64(y->data, y->dtype, obase + k * ost * 2 + 1, im);
  }
}

int eck_ref_dft(const void *params, const eck_tensor *in, int n_in, eck_tensor *out, int n_out,
                void *scratch) {
  (void)n_in; (void)n_out; (void)scratch;
  const eck_dft_params *p = params;
  const eck_tensor *x = &in[0];
  int cplx = x->dims[x->rank - 1] == 2;
  int64_t outer = 1, inner = 1, d = x->dims[p->axis], bins = out[0].dims[p->axis];
  for (int k = 0; k < p->axis; k++) outer *= x->dims[k];
  for (int k = p->axis + 1; k < x->rank - 1; k++) inner *= x->dims[k];
  int w = cplx ? 2 : 1;
  for (int64_t a = 0; a < outer; a++)
    for (int64_t c = 0; c < inner; c++)
      dft_line(x, (a * d * inner + c) * w, inner, d, cplx, NULL, &out[0],
               (a * bins * inner + c) * 2, inner, p->length, bins, p->inverse);
  return ECK_OK;
}

int eck_ref_stft(const void *params, const eck_tensor *in, int n_in, eck_tensor *out, int n_out,
                 void *scratch) {
  (void)n_out; (void)scratch;
  const eck_stft_params *p = params;
  const eck_tensor *x = &in[0];
  const eck_tensor *win = n_in > 2 && in[2].data && in[2].rank == 1 ? &in[2] : NULL;
  int cplx = x->rank > 2 && x->dims[2] == 2;
  int64_t batch = x->dims[0], len = x->dims[1], frames = out[0].dims[1], bins = out[0].dims[2];
  for (int64_t b = 0; b < batch; b++)
    for (int64_t f = 0; f < frames; f++)
      dft_line(x, (b * len + f * p->step) * (cplx ? 2 : 1), 1, p->frame, cplx, win, &out[0],
               (b * frames + f) * bins * 2, 1, p->frame, bins, 0);
  return ECK_OK;
}

int eck_ref_mel(const void *params, const eck_tensor *in, int n_in, eck_tensor *out, int n_out,
                void *scratch) {
  (void)in; (void)n_in; (void)n_out; (void)scratch;
  const eck_mel_params *p = params;
  int64_t nb = p->num_mel_bins, rows = p->dft_length / 2 + 1;
  double lo = 2595 * log10(1 + p->lower_hz / 700), hi = 2595 * log10(1 + p->upper_hz / 700);
  double stepm = (hi - lo) / (double)(nb + 2);
  for (int64_t i = 0; i < rows * nb; i++) eck_store_f64(out[0].data, out[0].dtype, i, 0);
  int64_t f[3];
  for (int64_t i = 0; i < nb; i++) {
    for (int k = 0; k < 3; k++) {
      double hz = 700 * (pow(10, ((double)(i + k) * stepm + lo) / 2595) - 1);
      f[k] = (int64_t)floor((double)(p->dft_length + 1) * hz / (double)p->sample_rate);
      if (f[k] < 0 || f[k] >= rows + (k == 2)) return ECK_ERR_INDEX;
    }
    int64_t lc = f[1] - f[0], ch = f[2] - f[1];
    if (lc == 0) {
      eck_store_f64(out[0].data, out[0].dtype, f[1] * nb + i, 1);
    } else {
      for (int64_t j = f[0]; j <= f[1]; j++)
        eck_store_f64(out[0].data, out[0].dtype, j * nb + i, (double)(j - f[0]) / (double)lc);
    }
    for (int64_t j = f[1]; ch > 0 && j < f[2]; j++)
      eck_store_f64(out[0].data, out[0].dtype, j * nb + i, (double)(f[2] - j) / (double)ch);
  }
  return ECK_OK;
}
