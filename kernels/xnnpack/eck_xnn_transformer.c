/* eck_xnn_transformer.c — LayerNorm, GELU and HardSigmoid for the fast path: XNNPACK 2022 has none
 * of them, and the reference kernels spend most of their time in libm's erff and in double sums
 * (HardSigmoid: in the NCHW layout conversions around a reference step). Plain C99 whose
 * inner loops the compiler vectorizes (no libm call, no data-dependent branch). */
#include <math.h>

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
