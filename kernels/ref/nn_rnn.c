/* nn_rnn.c — reference recurrent layers: RNN, GRU and LSTM (forward, reverse, bidirectional,
 * sequence_lens, initial states, peepholes, clip, custom activations, both layouts). State
 * and gates live in the scratch buffer (doubles). */
#include <math.h>

#include "eck_ref.h"

static double act(int fn, double a, double b, double x) {
  switch (fn) {
    case ECK_ACT_SIGMOID: return 1.0 / (1.0 + exp(-x));
    case ECK_ACT_TANH: return tanh(x);
    case ECK_ACT_RELU: return x > 0 ? x : 0;
    case ECK_ACT_AFFINE: return a * x + b;
    case ECK_ACT_LEAKYRELU: return x >= 0 ? x : a * x;
    case ECK_ACT_THRESHOLDEDRELU: return x > a ? x : 0;
    case ECK_ACT_SCALEDTANH: return a * tanh(b * x);
    case ECK_ACT_HARDSIGMOID: {
      double v = a * x + b;
      return v < 0 ? 0 : v > 1 ? 1 : v;
    }
    case ECK_ACT_ELU: return x >= 0 ? x : a * (exp(x) - 1);
    case ECK_ACT_SOFTSIGN: return x / (1 + fabs(x));
    case ECK_ACT_SOFTPLUS: return log1p(exp(x));
    default: return x;
  }
}

static double ld(const eck_tensor *t, int64_t i) { return eck_load_f64(t->data, t->dtype, i); }

/* Inputs: X, W, R, B, sequence_lens, initial_h, [initial_c, P] (LSTM).
 * Outputs: Y, Y_h, [Y_c]. */
int eck_ref_rnn(const void *params, const eck_tensor *in, int n_in, eck_tensor *out, int n_out,
                void *scratch) {
  const eck_rnn_params *p = params;
  const eck_tensor *X = &in[0], *W = &in[1], *R = &in[2];
  const eck_tensor *B = n_in > 3 && in[3].data ? &in[3] : 0;
  const eck_tensor *SL = n_in > 4 && in[4].data ? &in[4] : 0;
  const eck_tensor *H0 = n_in > 5 && in[5].data ? &in[5] : 0;
  const eck_tensor *C0 = n_in > 6 && in[6].data ? &in[6] : 0;
  const eck_tensor *P = n_in > 7 && in[7].data ? &in[7] : 0;
  const eck_tensor *Y = n_out > 0 && out[0].data ? &out[0] : 0;
  const eck_tensor *YH = n_out > 1 && out[1].data ? &out[1] : 0;
  const eck_tensor *YC = n_out > 2 && out[2].data ? &out[2] : 0;
  const int G = p->kind == ECK_LSTM ? 4 : p->kind == ECK_GRU ? 3 : 1;
  const int64_t H = p->hidden, D = p->direction == 2 ? 2 : 1;
  const int64_t S = p->layout ? X->dims[1] : X->dims[0];
  const int64_t NB = p->layout ? X->dims[0] : X->dims[1], I = X->dims[2];
  double *h = scratch, *c = h + H, *gates = c + H, *hr = gates + G * H;
  if (Y) {
    int64_t ny = eck_numel(Y);
    for (int64_t i = 0; i < ny; i++) eck_store_f64(Y->data, Y->dtype, i, 0);
  }
  for (int64_t d = 0; d < D; d++) {
    const int rev = p->direction == 1 || d == 1;
    const int *fa = &p->act[d * 3];
    const float *al = &p->act_alpha[d * 3], *be = &p->act_beta[d * 3];
    for (int64_t b = 0; b < NB; b++) {
      /* States are [D, NB, H] (layout 0) or [NB, D, H] (layout 1). */
      int64_t sb = p->layout ? (b * D + d) * H : (d * NB + b) * H;
      for (int64_t k = 0; k < H; k++) {
        h[k] = H0 ? ld(H0, sb + k) : 0;
        c[k] = C0 ? ld(C0, sb + k) : 0;
      }
      int64_t len = SL ? eck_load_i64(SL->data, SL->dtype, b) : S;
      if (len < 0 || len > S) return ECK_ERR_INDEX;
      for (int64_t s = 0; s < len; s++) {
        int64_t t = rev ? len - 1 - s : s;
        int64_t xb = p->layout ? (b * S + t) * I : (t * NB + b) * I;
        for (int64_t j = 0; j < G * H; j++) {
          double acc = 0;
          const int64_t wb = (d * G * H + j) * I, rb = (d * G * H + j) * H;
          for (int64_t i = 0; i < I; i++) acc += ld(X, xb + i) * ld(W, wb + i);
          if (B) acc += ld(B, d * 2 * G * H + j);
          /* GRU's candidate gate applies R after the reset gate: computed below. */
          if (p->kind == ECK_GRU && j >= 2 * H) {
            double racc = 0;
            for (int64_t k = 0; k < H; k++) racc += h[k] * ld(R, rb + k);
            hr[j - 2 * H] = racc + (B ? ld(B, d * 2 * G * H + G * H + j) : 0);
          } else {
            for (int64_t k = 0; k < H; k++) acc += h[k] * ld(R, rb + k);
            if (B) acc += ld(B, d * 2 * G * H + G * H + j);
          }
          gates[j] = acc;
        }
        if (p->kind == ECK_RNN) {
          for (int64_t k = 0; k < H; k++) {
            double v = gates[k];
            if (p->clip > 0) v = v < -p->clip ? -p->clip : v > p->clip ? p->clip : v;
            h[k] = act(fa[0], al[0], be[0], v);
          }
        } else if (p->kind == ECK_GRU) {
          /* zrh; the candidate uses r * (h R) + Rb with linear_before_reset, else (r * h) R. */
          for (int64_t k = 0; k < H; k++) {
            double z = gates[k], r = gates[H + k];
            if (p->clip > 0) {
              z = z < -p->clip ? -p->clip : z > p->clip ? p->clip : z;
              r = r < -p->clip ? -p->clip : r > p->clip ? p->clip : r;
            }
            gates[k] = act(fa[0], al[0], be[0], z);
            gates[H + k] = act(fa[0], al[0], be[0], r);
          }
          for (int64_t k = 0; k < H; k++) {
            double cand = gates[2 * H + k];
            if (p->linear_before_reset) {
              cand += gates[H + k] * hr[k];
            } else {
              double racc = 0;
              const int64_t rb = (d * G * H + 2 * H + k) * H;
              for (int64_t q = 0; q < H; q++) racc += gates[H + q] * h[q] * ld(R, rb + q);
              cand += racc + (B ? ld(B, d * 2 * G * H + G * H + 2 * H + k) : 0);
            }
            if (p->clip > 0) cand = cand < -p->clip ? -p->clip : cand > p->clip ? p->clip : cand;
            hr[k] = act(fa[1], al[1], be[1], cand);
          }
          for (int64_t k = 0; k < H; k++) h[k] = (1 - gates[k]) * hr[k] + gates[k] * h[k];
        } else {
          /* iofc, peepholes iof. */
          for (int64_t k = 0; k < H; k++) {
            double gi = gates[k], go = gates[H + k], gf = gates[2 * H + k], gc = gates[3 * H + k];
            if (P) {
              gi += ld(P, d * 3 * H + k) * c[k];
              gf += ld(P, d * 3 * H + 2 * H + k) * c[k];
            }
            if (p->clip > 0) {
              gi = gi < -p->clip ? -p->clip : gi > p->clip ? p->clip : gi;
              gf = gf < -p->clip ? -p->clip : gf > p->clip ? p->clip : gf;
              gc = gc < -p->clip ? -p->clip : gc > p->clip ? p->clip : gc;
            }
            double it = act(fa[0], al[0], be[0], gi);
            double ft = p->input_forget ? 1 - it : act(fa[0], al[0], be[0], gf);
            double ct = act(fa[1], al[1], be[1], gc);
            c[k] = ft * c[k] + it * ct;
            if (P) go += ld(P, d * 3 * H + H + k) * c[k];
            if (p->clip > 0) go = go < -p->clip ? -p->clip : go > p->clip ? p->clip : go;
            double ot = act(fa[0], al[0], be[0], go);
            h[k] = ot * act(fa[2], al[2], be[2], c[k]);
          }
        }
        if (Y) {
          int64_t yb = p->layout ? ((b * S + t) * D + d) * H : ((t * D + d) * NB + b) * H;
          for (int64_t k = 0; k < H; k++) eck_store_f64(Y->data, Y->dtype, yb + k, h[k]);
        }
      }
      for (int64_t k = 0; k < H; k++) {
        if (YH) eck_store_f64(YH->data, YH->dtype, sb + k, h[k]);
        if (YC) eck_store_f64(YC->data, YC->dtype, sb + k, c[k]);
      }
    }
  }
  return ECK_OK;
}
