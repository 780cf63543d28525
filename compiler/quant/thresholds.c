/* thresholds.c — the arithmetic of calibration: histogram bins, the percentile and entropy
 * thresholds, and int8 parameters of a range. Pure functions over numbers, defined exactly in
 * docs/quantization.md so that tests/quant/ can reimplement them in numpy and agree bit for bit. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "calib.h"

int ec_calib_abs_bin(float x, double amax) {
  /* Written as one product then one quotient, in double: numpy's reimplementation does the same
   * two roundings, so a value on a bin edge lands in the same bin in both. */
  double v = fabs((double)x) * (double)EC_CALIB_BINS / amax;
  int k = v < (double)EC_CALIB_BINS ? (int)v : EC_CALIB_BINS - 1;
  return k < 0 ? 0 : k;
}

int ec_calib_signed_bin(float x, double amax) {
  double v = ((double)x + amax) * (double)(EC_CALIB_BINS / 2) / amax;
  if (!(v > 0)) return 0;
  return v < (double)EC_CALIB_BINS ? (int)v : EC_CALIB_BINS - 1;
}

double ec_calib_percentile(const uint64_t *hist, double amax) {
  unsigned __int128 total = 0;
  for (int k = 0; k < EC_CALIB_BINS; k++) total += hist[k];
  if (!total) return 0;
  /* The first bin whose cumulative count reaches 99.999% of all values, compared in integers so
   * no rounding of a cumulative fraction decides it; its upper edge is the threshold (ONNX
   * Runtime takes the lower edge, which is 0 when nearly all of a sparse tensor is in bin 0). */
  unsigned __int128 cum = 0;
  int k = 0;
  for (; k < EC_CALIB_BINS - 1; k++) {
    cum += hist[k];
    if (cum * EC_CALIB_PCT_DEN >= total * EC_CALIB_PCT_NUM) break;
  }
  return amax * (double)(k + 1) / (double)EC_CALIB_BINS;
}

/* Smooths v[0..n) in place so that no bin is zero: each zero bin gets EPS and the non-zero bins
 * give the same total back in proportion to their size, so the sum is kept and no bin turns
 * negative (ONNX Runtime subtracts one amount from every non-zero bin, which can). False when
 * every bin is zero. */
#define EC_CALIB_EPS 1e-4
static bool smooth(double *v, int n, double *sum) {
  int zeros = 0;
  double s = 0;
  for (int j = 0; j < n; j++) {
    if (v[j] == 0) zeros++;
    s += v[j];
  }
  if (zeros == n) return false;
  double keep = 1.0 - EC_CALIB_EPS * zeros / s;
  for (int j = 0; j < n; j++) v[j] = v[j] == 0 ? EC_CALIB_EPS : v[j] * keep;
  *sum = s;
  return true;
}

double ec_calib_entropy(const uint64_t *hist, double amax) {
  enum { HALF = EC_CALIB_BINS / 2, QHALF = EC_CALIB_LEVELS / 2 };
  double p[EC_CALIB_BINS], q[EC_CALIB_BINS];
  uint64_t prefix[EC_CALIB_BINS + 1];
  prefix[0] = 0;
  for (int k = 0; k < EC_CALIB_BINS; k++) prefix[k + 1] = prefix[k] + hist[k];
  double best = INFINITY;
  int best_i = HALF;
  /* Candidate i keeps the 2i bins around zero, [-i, i) bin widths: the values outside go into
   * the outermost kept bins (p, the reference), and the kept bins merged into 128 levels and
   * spread back over their non-zero bins (q, what int8 would keep). The i whose q is closest to
   * p in KL divergence wins; the first on a tie. */
  for (int i = QHALF; i <= HALF; i++) {
    int start = HALF - i, n = 2 * i;
    for (int j = 0; j < n; j++) p[j] = (double)hist[start + j];
    p[0] += (double)prefix[start];
    p[n - 1] += (double)(prefix[EC_CALIB_BINS] - prefix[start + n]);
    int per = n / EC_CALIB_LEVELS;
    for (int lv = 0; lv < EC_CALIB_LEVELS; lv++) {
      /* The last level also takes the bins left over when n is not a multiple of 128. */
      int a = lv * per, b = lv == EC_CALIB_LEVELS - 1 ? n : a + per;
      uint64_t sum = prefix[start + b] - prefix[start + a];
      int nz = 0;
      for (int j = a; j < b; j++) nz += p[j] != 0;
      for (int j = a; j < b; j++) q[j] = p[j] != 0 ? (double)sum / nz : 0;
    }
    double ps, qs;
    if (!smooth(p, n, &ps) || !smooth(q, n, &qs)) continue;
    double kl = 0;
    for (int j = 0; j < n; j++) {
      double pj = p[j] / ps, qj = q[j] / qs;
      kl += pj * log(pj / qj);
    }
    if (kl < best) {
      best = kl;
      best_i = i;
    }
  }
  return amax * (double)best_i / (double)HALF;
}

void ec_calib_qparams(float lo, float hi, float *scale, int32_t *zero_point) {
  /* The range must hold 0 exactly: zero padding and ReLU's zeros are then exact in int8. */
  double l = lo < 0 ? lo : 0, h = hi > 0 ? hi : 0;
  float s = (float)((h - l) / 255.0);
  if (!(s > 0)) { /* an all-zero tensor (or a range too small for a float scale) */
    *scale = 1.0f;
    *zero_point = 0;
    return;
  }
  double z = nearbyint(-128.0 - l / (double)s); /* ties to even, as numpy's round */
  *scale = s;
  *zero_point = z < -128 ? -128 : z > 127 ? 127 : (int32_t)z;
}
