/* nn_loss.c — reference losses (NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss with its
 * optional log_prob output) and NonMaxSuppression (greedy, per batch and class). */
#include <math.h>

#include "eck_ref.h"

/* Inputs: scores/log-probs [N, C, d...], target [N, d...], weight [C] (optional).
 * Outputs: loss ([N, d...] for reduction none, else a scalar), SCE: log_prob like input. */
int eck_ref_loss(const void *params, const eck_tensor *in, int n_in, eck_tensor *out, int n_out,
                 void *scratch) {
  (void)scratch;
  const eck_loss_params *p = params;
  const eck_tensor *x = &in[0], *t = &in[1];
  const eck_tensor *w = n_in > 2 && in[2].data ? &in[2] : 0;
  const eck_tensor *lp = p->softmax && n_out > 1 && out[1].data ? &out[1] : 0;
  const int64_t N = x->dims[0], C = x->dims[1];
  int64_t D = 1;
  for (int k = 2; k < x->rank; k++) D *= x->dims[k];
  double sum = 0, wsum = 0;
  for (int64_t n = 0; n < N; n++)
    for (int64_t d = 0; d < D; d++) {
      int64_t base = n * C * D + d;
      double mx = -INFINITY, se = 0;
      if (p->softmax) {
        for (int64_t c = 0; c < C; c++) {
          double v = eck_load_f64(x->data, x->dtype, base + c * D);
          mx = v > mx ? v : mx;
        }
        for (int64_t c = 0; c < C; c++) se += exp(eck_load_f64(x->data, x->dtype, base + c * D) - mx);
        if (lp)
          for (int64_t c = 0; c < C; c++)
            eck_store_f64(lp->data, lp->dtype, base + c * D,
                          eck_load_f64(x->data, x->dtype, base + c * D) - mx - log(se));
      }
      int64_t tg = eck_load_i64(t->data, t->dtype, n * D + d);
      double loss = 0, wt = 0;
      if (!(p->has_ignore && tg == p->ignore_index)) {
        if (tg < 0 || tg >= C) return ECK_ERR_INDEX;
        double v = eck_load_f64(x->data, x->dtype, base + tg * D);
        if (p->softmax) v = v - mx - log(se);
        wt = w ? eck_load_f64(w->data, w->dtype, tg) : 1;
        loss = -v * wt;
      }
      if (p->reduction == ECK_RED_NONE) eck_store_f64(out[0].data, out[0].dtype, n * D + d, loss);
      sum += loss;
      wsum += wt;
    }
  if (p->reduction == ECK_RED_SUM) eck_store_f64(out[0].data, out[0].dtype, 0, sum);
  if (p->reduction == ECK_RED_MEAN)
    eck_store_f64(out[0].data, out[0].dtype, 0, wsum != 0 ? sum / wsum : (sum == 0 ? 0 : NAN));
  return ECK_OK;
}

/* Box corners (y1, x1, y2, x2) ordered, from either encoding. */
static void corners(const eck_tensor *b, int64_t i, int center, double *c) {
  double v[4];
  for (int k = 0; k < 4; k++) v[k] = eck_load_f64(b->data, b->dtype, i * 4 + k);
  if (center) {
    c[0] = v[1] - v[3] / 2, c[2] = v[1] + v[3] / 2;
    c[1] = v[0] - v[2] / 2, c[3] = v[0] + v[2] / 2;
  } else {
    c[0] = v[0] < v[2] ? v[0] : v[2], c[2] = v[0] < v[2] ? v[2] : v[0];
    c[1] = v[1] < v[3] ? v[1] : v[3], c[3] = v[1] < v[3] ? v[3] : v[1];
  }
}

static double iou(const double *a, const double *b) {
  double y1 = a[0] > b[0] ? a[0] : b[0], x1 = a[1] > b[1] ? a[1] : b[1];
  double y2 = a[2] < b[2] ? a[2] : b[2], x2 = a[3] < b[3] ? a[3] : b[3];
  if (y2 <= y1 || x2 <= x1) return 0;
  double inter = (y2 - y1) * (x2 - x1);
  double ua = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
  return ua > 0 ? inter / ua : 0;
}

/* Inputs: boxes [B, S, 4], scores [B, K, S], max_output_boxes_per_class, iou_threshold,
 * score_threshold (the last three optional scalars). Candidates are visited by decreasing
 * score (ties: lower index first) without a sort buffer; each is kept unless it overlaps a
 * kept box of its class by more than the threshold. */
int64_t eck_nms_run(const eck_nms_params *p, const eck_tensor *in, int n_in, int64_t *sel,
                    int64_t cap) {
  const eck_tensor *bx = &in[0], *sc = &in[1];
  int64_t maxk = n_in > 2 && in[2].data && eck_numel(&in[2]) ? eck_load_i64(in[2].data, in[2].dtype, 0) : 0;
  double thr = n_in > 3 && in[3].data && eck_numel(&in[3]) ? eck_load_f64(in[3].data, in[3].dtype, 0) : 0;
  int has_st = n_in > 4 && in[4].data && eck_numel(&in[4]);
  double sthr = has_st ? eck_load_f64(in[4].data, in[4].dtype, 0) : 0;
  const int64_t NB = sc->dims[0], K = sc->dims[1], S = sc->dims[2];
  int64_t count = 0;
  for (int64_t b = 0; b < NB; b++)
    for (int64_t k = 0; k < K; k++) {
      int64_t first = count, kept = 0;
      double last = INFINITY;
      int64_t last_i = -1;
      while (kept < maxk) {
        /* Next candidate after (last, last_i) in (score desc, index asc) order. */
        int64_t best = -1;
        double bs = 0;
        for (int64_t i = 0; i < S; i++) {
          double s = eck_load_f64(sc->data, sc->dtype, (b * K + k) * S + i);
          if (has_st && !(s > sthr)) continue;
          if (!(s < last || (s == last && i > last_i))) continue;
          if (best < 0 || s > bs) best = i, bs = s;
        }
        if (best < 0) break;
        last = bs;
        last_i = best;
        double cb[4];
        corners(bx, b * S + best, p->center_point_box, cb);
        int ok = 1;
        for (int64_t q = first; q < count && ok; q++) {
          double cq[4];
          corners(bx, b * S + sel[q * 3 + 2], p->center_point_box, cq);
          if (iou(cb, cq) > thr) ok = 0;
        }
        if (!ok) continue;
        if (count < cap) {
          sel[count * 3] = b, sel[count * 3 + 1] = k, sel[count * 3 + 2] = best;
        } else {
          return -1;
        }
        count++;
        kept++;
      }
    }
  return count;
}

int eck_ref_nms(const void *params, const eck_tensor *in, int n_in, eck_tensor *out, int n_out,
                void *scratch) {
  (void)n_out; (void)scratch;
  /* out[0].dims[0] holds the bound: every box of every class. */
  int64_t n = eck_nms_run(params, in, n_in, out[0].data, out[0].dims[0]);
  if (n < 0) return ECK_ERR_BOUND;
  out[0].dims[0] = n;
  return ECK_OK;
}
