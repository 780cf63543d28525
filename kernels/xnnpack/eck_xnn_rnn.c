/* eck_xnn_rnn.c — LSTM, GRU and RNN for the fast path (eck_xnn_rnn, eck_xnn.h): float32, every
 * attribute the reference kernel takes (directions, layouts, sequence_lens, initial states,
 * peepholes, clip, activations, GRU's linear_before_reset, LSTM's input_forget), in float where the
 * reference kernel reads each element through a double.
 *
 * Per direction and batch row: the input projection of all steps at once (gx[t] = x_t·Wᵀ + Wb,
 * one matrix-vector product per step before the recurrence starts), then per step the recurrent
 * product gh = h·Rᵀ + Rb and the gates' elementwise part as whole-array loops (adds, peepholes, clip,
 * activations, state update), which the compiler vectorizes: sigmoid and tanh through an exp with
 * no libm call and no branch. The products read W and R in ONNX's [rows, k] order: dot products of
 * contiguous rows, four rows at a time, with LANES partial sums each, so that the loop vectorizes
 * without reassociating one sum. Nothing is allocated: the state and gates live in the scratch the
 * compiler planned (ECK_XNN_RNN_SCRATCH floats). Plain C99 (no XNNPACK needed). */
#include <math.h>
#include <string.h>

#include "eck_ref.h"
#include "eck_xnn.h"

#define LANES 16

/* y[j] = dot(w row j, x) + bias[j] (bias may be NULL) for j < n; rows of k floats, ldw apart. */
ECK_VEC_INLINE void gemv_body(const float *w, size_t ldw, const float *x, const float *bias, float *y, size_t n,
                              size_t k) {
  size_t j = 0;
  for (; j + 4 <= n; j += 4) {
    const float *w0 = w + j * ldw, *w1 = w0 + ldw, *w2 = w1 + ldw, *w3 = w2 + ldw;
    float a0[LANES] = {0}, a1[LANES] = {0}, a2[LANES] = {0}, a3[LANES] = {0};
    size_t i = 0;
    for (; i + LANES <= k; i += LANES)
      for (size_t l = 0; l < LANES; l++) {
        float v = x[i + l];
        a0[l] += w0[i + l] * v;
        a1[l] += w1[i + l] * v;
        a2[l] += w2[i + l] * v;
        a3[l] += w3[i + l] * v;
      }
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (size_t l = 0; l < LANES; l++) {
      s0 += a0[l];
      s1 += a1[l];
      s2 += a2[l];
      s3 += a3[l];
    }
    for (; i < k; i++) {
      s0 += w0[i] * x[i];
      s1 += w1[i] * x[i];
      s2 += w2[i] * x[i];
      s3 += w3[i] * x[i];
    }
    y[j] = s0 + (bias ? bias[j] : 0);
    y[j + 1] = s1 + (bias ? bias[j + 1] : 0);
    y[j + 2] = s2 + (bias ? bias[j + 2] : 0);
    y[j + 3] = s3 + (bias ? bias[j + 3] : 0);
  }
  for (; j < n; j++) {
    const float *w0 = w + j * ldw;
    float a0[LANES] = {0}, s0 = 0;
    size_t i = 0;
    for (; i + LANES <= k; i += LANES)
      for (size_t l = 0; l < LANES; l++) a0[l] += w0[i + l] * x[i + l];
    for (size_t l = 0; l < LANES; l++) s0 += a0[l];
    for (; i < k; i++) s0 += w0[i] * x[i];
    y[j] = s0 + (bias ? bias[j] : 0);
  }
}

/* e^x for x clamped to [-87, 88]: x = k ln2 + r (k rounded by adding and taking away 1.5 * 2^23),
 * e^r by its Taylor polynomial of degree 6 (|r| <= ln2 / 2: within 2e-7), 2^k from the exponent
 * bits. No branch and no libm call, so loops over it vectorize. */
ECK_VEC_INLINE float vexp(float x) {
  x = fminf(fmaxf(x, -87.0f), 88.0f);
  float k = x * 1.44269504088896341f + 12582912.0f;
  k -= 12582912.0f;
  float r = x - k * 0.693145751953125f - k * 1.42860682030941723e-6f;
  float p = 1.0f + r * (1.0f + r * (0.5f + r * (1.6666667e-1f + r * (4.1666668e-2f + r * (8.3333338e-3f + r * 1.3888889e-3f)))));
  int32_t e = ((int32_t)k + 127) << 23;
  float s;
  memcpy(&s, &e, sizeof s);
  return p * s;
}

/* The activation fn (ECK_ACT_*) of n floats in place, with its alpha and beta. */
ECK_VEC_INLINE void act_body(int fn, float a, float b, float *v, size_t n) {
  size_t i;
  switch (fn) {
    case ECK_ACT_SIGMOID:
      for (i = 0; i < n; i++) v[i] = 1.0f / (1.0f + vexp(-v[i]));
      break;
    case ECK_ACT_TANH: /* 1 - 2 / (e^2x + 1) */
      for (i = 0; i < n; i++) v[i] = 1.0f - 2.0f / (vexp(2.0f * v[i]) + 1.0f);
      break;
    case ECK_ACT_RELU:
      for (i = 0; i < n; i++) v[i] = fmaxf(v[i], 0.0f);
      break;
    case ECK_ACT_AFFINE:
      for (i = 0; i < n; i++) v[i] = a * v[i] + b;
      break;
    case ECK_ACT_LEAKYRELU:
      for (i = 0; i < n; i++) v[i] = v[i] >= 0 ? v[i] : a * v[i];
      break;
    case ECK_ACT_THRESHOLDEDRELU:
      for (i = 0; i < n; i++) v[i] = v[i] > a ? v[i] : 0.0f;
      break;
    case ECK_ACT_SCALEDTANH:
      for (i = 0; i < n; i++) v[i] = a * (1.0f - 2.0f / (vexp(2.0f * b * v[i]) + 1.0f));
      break;
    case ECK_ACT_HARDSIGMOID:
      for (i = 0; i < n; i++) v[i] = fminf(fmaxf(a * v[i] + b, 0.0f), 1.0f);
      break;
    case ECK_ACT_ELU:
      for (i = 0; i < n; i++) v[i] = v[i] >= 0 ? v[i] : a * (vexp(v[i]) - 1.0f);
      break;
    case ECK_ACT_SOFTSIGN:
      for (i = 0; i < n; i++) v[i] = v[i] / (1.0f + fabsf(v[i]));
      break;
    case ECK_ACT_SOFTPLUS: /* rare: libm; x itself past 15, where e^x overflows float long before
                              the reference kernel's double (log1p(e^x) - x < 4e-7 there) */
      for (i = 0; i < n; i++) v[i] = v[i] > 15.0f ? v[i] : log1pf(expf(v[i]));
      break;
    default: break;
  }
}

/* One step's elementwise part, after the products: g holds the G gate blocks' pre-activations
 * (input projection and bias) and gh the recurrent products with their bias; h, c the state
 * (updated), tmp H floats. fa/al/be: the direction's activations; P its peepholes or NULL. */
ECK_VEC_INLINE void gates_body(const eck_rnn_params *p, const int *fa, const float *al, const float *be,
                               float *g, const float *gh, const float *P, float *h, float *c, float *tmp,
                               size_t H) {
  const float clip = p->clip;
  size_t k;
  if (p->kind == ECK_LSTM) { /* blocks i, o, f, c */
    float *gi = g, *go = g + H, *gf = g + 2 * H, *gc = g + 3 * H;
    for (k = 0; k < 4 * H; k++) g[k] += gh[k];
    if (P)
      for (k = 0; k < H; k++) {
        gi[k] += P[k] * c[k];
        gf[k] += P[2 * H + k] * c[k];
      }
    if (clip > 0) {
      for (k = 0; k < H; k++) gi[k] = fminf(fmaxf(gi[k], -clip), clip);
      for (k = 0; k < 2 * H; k++) gf[k] = fminf(fmaxf(gf[k], -clip), clip); /* f and c */
    }
    act_body(fa[0], al[0], be[0], gi, H);
    if (p->input_forget)
      for (k = 0; k < H; k++) gf[k] = 1.0f - gi[k];
    else
      act_body(fa[0], al[0], be[0], gf, H);
    act_body(fa[1], al[1], be[1], gc, H);
    for (k = 0; k < H; k++) c[k] = gf[k] * c[k] + gi[k] * gc[k];
    if (P)
      for (k = 0; k < H; k++) go[k] += P[H + k] * c[k];
    if (clip > 0)
      for (k = 0; k < H; k++) go[k] = fminf(fmaxf(go[k], -clip), clip);
    act_body(fa[0], al[0], be[0], go, H);
    for (k = 0; k < H; k++) tmp[k] = c[k];
    act_body(fa[2], al[2], be[2], tmp, H);
    for (k = 0; k < H; k++) h[k] = go[k] * tmp[k];
  } else if (p->kind == ECK_GRU) { /* blocks z, r, h; gh's h block is done by the caller */
    float *gz = g, *gr = g + H, *gn = g + 2 * H;
    for (k = 0; k < 2 * H; k++) g[k] += gh[k];
    if (clip > 0)
      for (k = 0; k < 2 * H; k++) g[k] = fminf(fmaxf(g[k], -clip), clip);
    act_body(fa[0], al[0], be[0], g, 2 * H);
    if (p->linear_before_reset)
      for (k = 0; k < H; k++) gn[k] += gr[k] * gh[2 * H + k];
    else
      for (k = 0; k < H; k++) gn[k] += gh[2 * H + k];
    if (clip > 0)
      for (k = 0; k < H; k++) gn[k] = fminf(fmaxf(gn[k], -clip), clip);
    act_body(fa[1], al[1], be[1], gn, H);
    for (k = 0; k < H; k++) h[k] = (1.0f - gz[k]) * gn[k] + gz[k] * h[k];
  } else {
    for (k = 0; k < H; k++) g[k] += gh[k];
    if (clip > 0)
      for (k = 0; k < H; k++) g[k] = fminf(fmaxf(g[k], -clip), clip);
    act_body(fa[0], al[0], be[0], g, H);
    for (k = 0; k < H; k++) h[k] = g[k];
  }
}

/* One direction d of batch row b: the projections of its steps, then the recurrence. *st gets
 * ECK_ERR_INDEX for a sequence length outside 0..S. */
ECK_VEC_INLINE void direction_body(const eck_rnn_params *p, const eck_tensor *in, int n_in, eck_tensor *out,
                                   int n_out, float *scratch, int64_t d, int64_t b, int *st) {
  const eck_tensor *X = &in[0];
  const float *W = in[1].data, *R = in[2].data;
  const float *B = n_in > 3 && in[3].data ? in[3].data : 0;
  const eck_tensor *SL = n_in > 4 && in[4].data ? &in[4] : 0;
  const float *H0 = n_in > 5 && in[5].data ? in[5].data : 0;
  const float *C0 = n_in > 6 && in[6].data ? in[6].data : 0;
  const float *P = n_in > 7 && in[7].data ? (const float *)in[7].data : 0;
  float *Y = n_out > 0 && out[0].data ? out[0].data : 0;
  float *YH = n_out > 1 && out[1].data ? out[1].data : 0;
  float *YC = n_out > 2 && out[2].data ? out[2].data : 0;
  const int G = p->kind == ECK_LSTM ? 4 : p->kind == ECK_GRU ? 3 : 1;
  const int64_t H = p->hidden, D = p->direction == 2 ? 2 : 1;
  const int64_t S = p->layout ? X->dims[1] : X->dims[0];
  const int64_t NB = p->layout ? X->dims[0] : X->dims[1], I = X->dims[2];
  const int64_t GH = G * H;
  float *gx = scratch, *gh = gx + S * GH, *h = gh + GH, *c = h + H, *tmp = c + H;
  const int rev = p->direction == 1 || d == 1;
  const float *Wd = W + d * GH * I, *Rd = R + d * GH * H;
  const float *Wb = B ? B + d * 2 * GH : 0, *Rb = B ? B + d * 2 * GH + GH : 0;
  const float *Pd = P ? P + d * 3 * H : 0;
  /* States are [D, NB, H] (layout 0) or [NB, D, H] (layout 1). */
  const int64_t sb = p->layout ? (b * D + d) * H : (d * NB + b) * H;
  for (int64_t k = 0; k < H; k++) {
    h[k] = H0 ? H0[sb + k] : 0;
    c[k] = C0 ? C0[sb + k] : 0;
  }
  int64_t len = SL ? eck_load_i64(SL->data, SL->dtype, b) : S;
  if (len < 0 || len > S) {
    *st = ECK_ERR_INDEX;
    return;
  }
  const float *x = X->data;
  for (int64_t t = 0; t < len; t++) {
    int64_t xb = p->layout ? (b * S + t) * I : (t * NB + b) * I;
    gemv_body(Wd, (size_t)I, x + xb, Wb, gx + t * GH, (size_t)GH, (size_t)I);
  }
  for (int64_t s = 0; s < len; s++) {
    int64_t t = rev ? len - 1 - s : s;
    float *g = gx + t * GH;
    if (p->kind == ECK_GRU && !p->linear_before_reset) {
      /* z and r first; the candidate's product reads r * h: (r * h)·Rhᵀ + Rbh. */
      gemv_body(Rd, (size_t)H, h, Rb, gh, (size_t)(2 * H), (size_t)H);
      for (int64_t k = 0; k < H; k++) {
        float v = g[H + k] + gh[H + k];
        tmp[k] = p->clip > 0 ? fminf(fmaxf(v, -p->clip), p->clip) : v;
      }
      act_body(p->act[d * 3], p->act_alpha[d * 3], p->act_beta[d * 3], tmp, (size_t)H);
      for (int64_t k = 0; k < H; k++) tmp[k] *= h[k];
      gemv_body(Rd + 2 * H * H, (size_t)H, tmp, Rb ? Rb + 2 * H : 0, gh + 2 * H, (size_t)H, (size_t)H);
    } else {
      gemv_body(Rd, (size_t)H, h, Rb, gh, (size_t)GH, (size_t)H);
    }
    gates_body(p, &p->act[d * 3], &p->act_alpha[d * 3], &p->act_beta[d * 3], g, gh, Pd, h, c, tmp, (size_t)H);
    if (Y) {
      int64_t yb = p->layout ? ((b * S + t) * D + d) * H : ((t * D + d) * NB + b) * H;
      memcpy(Y + yb, h, sizeof(float) * (size_t)H);
    }
  }
  if (YH) memcpy(YH + sb, h, sizeof(float) * (size_t)H);
  if (YC) memcpy(YC + sb, c, sizeof(float) * (size_t)H);
}
ECK_VEC_VARIANTS(direction,
                 (const eck_rnn_params *p, const eck_tensor *in, int n_in, eck_tensor *out, int n_out, float *scratch,
                  int64_t d, int64_t b, int *st),
                 (p, in, n_in, out, n_out, scratch, d, b, st))

int eck_xnn_rnn(const void *params, const eck_tensor *in, int n_in, eck_tensor *out, int n_out, void *scratch) {
  const eck_rnn_params *p = params;
  const eck_tensor *X = &in[0];
  const int64_t D = p->direction == 2 ? 2 : 1, NB = p->layout ? X->dims[0] : X->dims[1];
  if (n_out > 0 && out[0].data && n_in > 4 && in[4].data) /* steps past a row's length stay 0 */
    memset(out[0].data, 0, sizeof(float) * (size_t)eck_numel(&out[0]));
  for (int64_t d = 0; d < D; d++)
    for (int64_t b = 0; b < NB; b++) {
      int st = ECK_OK;
      ECK_VEC_CALL(direction, (p, in, n_in, out, n_out, scratch, d, b, &st));
      if (st) return st;
    }
  return ECK_OK;
}
