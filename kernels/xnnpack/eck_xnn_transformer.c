/* eck_xnn_transformer.c — LayerNorm, GELU (Erf and tanh forms) and HardSigmoid for the fast path: XNNPACK 2022 has none
 * of them, and the reference kernels spend most of their time in libm's erff and in double sums
 * (HardSigmoid: in the NCHW layout conversions around a reference step). Plain C99 whose
 * inner loops the compiler vectorizes (no libm call, no data-dependent branch). */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "eck_xnn.h"

/* erf by Abramowitz and Stegun 7.1.28: 1 - 1/(1 + a1 t + ... + a6 t^6)^16 for t >= 0, within
 * 3e-7 of erf; float rounding of the 16th power adds about 3e-6 relative to its reciprocal. For
 * large t the power overflows to infinity and 1/p to 0, so erf is exactly 1 there with no clamp.
 * The loop has no branch (fabsf, copysignf): a clamp or a sign test made GCC keep it scalar with
 * a data-dependent branch, 8 ns per element instead of 0.3 with AVX-512. */
#define ERF_A1 0.0705230784f
#define ERF_A2 0.0422820123f
#define ERF_A3 0.0092705272f
#define ERF_A4 0.0001520143f
#define ERF_A5 0.0002765672f
#define ERF_A6 0.0000430638f

ECK_VEC_INLINE void gelu_body(const float *x, float *y, size_t n) {
  for (size_t i = 0; i < n; i++) {
    float v = x[i];
    float t = fabsf(v) * 0.70710678118654752f;
    float p = 1.0f + t * (ERF_A1 + t * (ERF_A2 + t * (ERF_A3 + t * (ERF_A4 + t * (ERF_A5 + t * ERF_A6)))));
    p *= p;
    p *= p;
    p *= p;
    p *= p;
    float e = 1.0f - 1.0f / p;
    y[i] = 0.5f * v * (1.0f + copysignf(e, v));
  }
}
ECK_VEC_VARIANTS(gelu, (const float *x, float *y, size_t n), (x, y, n))

void eck_xnn_gelu(const float *x, float *y, size_t n) {
  ECK_VEC_CALL(gelu, (x, y, n));
}

/* GELU, tanh form: x/2 (1 + tanh(u)) = x sigmoid(2u) = x / (1 + exp(-2u)), u = sqrt(2/pi) (x +
 * 0.044715 x^3). exp(z) as 2^j e^r: j = z log2(e) rounded (adding and taking away 1.5 * 2^23 rounds
 * to nearest without a libm call), r = z - j ln 2 in two parts (|r| <= ln(2)/2), e^r by its Taylor
 * series to r^7 (within 2e-8 relative), 2^j built in the exponent bits. z is clamped to
 * [-87, 88] first (in a loop of its own over a block of 256: GCC if-converts the blend only as a
 * loop's last expression), so that 2^j stays a normal float: past them x / (1 + e^z) is x or -0
 * within a float anyway. No branch, no libm call: GCC vectorizes both loops. */
#define EXP_ROUND 12582912.0f /* 1.5 * 2^23 */

ECK_VEC_INLINE void gelu_tanh_body(const float *x, float *y, size_t n) {
  float zb[256]; /* -2u clamped: a blend GCC vectorizes only as a loop's last expression */
  for (size_t o = 0; o < n; o += 256) {
    size_t m = n - o < 256 ? n - o : 256;
    const float *xo = x + o;
    for (size_t i = 0; i < m; i++) {
      float v = xo[i];
      float z = -1.5957691216057308f * (v + 0.044715f * v * v * v);
      zb[i] = z > 88.0f ? 88.0f : (z < -87.0f ? -87.0f : z);
    }
    for (size_t i = 0; i < m; i++) {
      float v = xo[i], z = zb[i];
      float j = (z * 1.4426950408889634f + EXP_ROUND) - EXP_ROUND;
      float r = (z - j * 0.693145751953125f) - j * 1.428606765330187e-06f;
      float e = 1.0f + r * (1.0f + r * (0.5f + r * (1.6666667e-1f + r * (4.1666667e-2f + r * (8.3333333e-3f +
                                         r * (1.3888889e-3f + r * 1.9841270e-4f))))));
      int32_t bits = ((int32_t)j + 127) << 23;
      float s;
      memcpy(&s, &bits, sizeof s);
      y[o + i] = v / (1.0f + e * s);
    }
  }
}
ECK_VEC_VARIANTS(gelu_tanh, (const float *x, float *y, size_t n), (x, y, n))

void eck_xnn_gelu_tanh(const float *x, float *y, size_t n) {
  ECK_VEC_CALL(gelu_tanh, (x, y, n));
}

/* The reference kernel's comparisons, so that NaN stays NaN; GCC vectorizes them as blends. */
ECK_VEC_INLINE void hardsigmoid_body(const float *x, float *y, size_t n, float alpha, float beta) {
  for (size_t i = 0; i < n; i++) {
    float v = alpha * x[i] + beta;
    y[i] = v > 1.0f ? 1.0f : (v < 0.0f ? 0.0f : v);
  }
}
ECK_VEC_VARIANTS(hardsigmoid, (const float *x, float *y, size_t n, float alpha, float beta), (x, y, n, alpha, beta))

void eck_xnn_hardsigmoid(const float *x, float *y, size_t n, float alpha, float beta) {
  ECK_VEC_CALL(hardsigmoid, (x, y, n, alpha, beta));
}

/* Eight partial sums, so that the loop vectorizes without reassociating a single sum. */
#define LANES 8

ECK_VEC_INLINE float row_sum(const float *x, size_t n, float shift) {
  float acc[LANES] = {0};
  size_t i = 0;
  for (; i + LANES <= n; i += LANES)
    for (int k = 0; k < LANES; k++) acc[k] += x[i + k] - shift;
  float s = 0;
  for (; i < n; i++) s += x[i] - shift;
  for (int k = 0; k < LANES; k++) s += acc[k];
  return s;
}

ECK_VEC_INLINE float row_sq_sum(const float *x, size_t n, float mean) {
  float acc[LANES] = {0};
  size_t i = 0;
  for (; i + LANES <= n; i += LANES)
    for (int k = 0; k < LANES; k++) {
      float d = x[i + k] - mean;
      acc[k] += d * d;
    }
  float s = 0;
  for (; i < n; i++) s += (x[i] - mean) * (x[i] - mean);
  for (int k = 0; k < LANES; k++) s += acc[k];
  return s;
}

ECK_VEC_INLINE void layernorm_body(const float *x, float *y, const float *scale, const float *bias, size_t rows,
                                   size_t n, size_t scale_step, size_t bias_step, float eps) {
  for (size_t r = 0; r < rows; r++) {
    const float *xr = x + r * n;
    float *yr = y + r * n;
    /* The mean of x - x[0], then x[0] added back: a row far from zero loses no digits to the
     * offset (the variance pass subtracts the mean first for the same reason). */
    float mean = xr[0] + row_sum(xr, n, xr[0]) / (float)n;
    float rstd = 1.0f / sqrtf(row_sq_sum(xr, n, mean) / (float)n + eps);
    if (scale_step && bias_step) {
      for (size_t i = 0; i < n; i++) yr[i] = (xr[i] - mean) * rstd * scale[i] + bias[i];
    } else {
      for (size_t i = 0; i < n; i++)
        yr[i] = (xr[i] - mean) * rstd * scale[i * scale_step] + (bias ? bias[i * bias_step] : 0.0f);
    }
  }
}
ECK_VEC_VARIANTS(layernorm,
                 (const float *x, float *y, const float *scale, const float *bias, size_t rows, size_t n,
                  size_t scale_step, size_t bias_step, float eps),
                 (x, y, scale, bias, rows, n, scale_step, bias_step, eps))

void eck_xnn_layernorm(const float *x, float *y, const float *scale, const float *bias, size_t rows, size_t n,
                       size_t scale_step, size_t bias_step, float eps) {
  ECK_VEC_CALL(layernorm, (x, y, scale, bias, rows, n, scale_step, bias_step, eps));
}
