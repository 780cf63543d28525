/* nn_gemm.c — reference matrix products: Gemm, MatMul (numpy batching), MatMulInteger,
 * QLinearMatMul and Einsum. float/double have direct loops; other dtypes go through double
 * (half floats) or int64 (integers, exact with wrap-around). */
#include <math.h>

#include "eck_ref.h"

/* ---- Gemm ------------------------------------------------------------------------------- */

#define DEFINE_GEMM(NAME, T)                                                                    \
  static void NAME(const eck_gemm_params *p, const T *A, const T *B, const eck_tensor *c,      \
                   T *Y, int64_t M, int64_t N, int64_t K) {                                    \
    int64_t cs[2] = {0, 0};                                                                    \
    if (c) eck_broadcast_strides(c, 2, 0, cs);                                                 \
    const T *C = c ? c->data : 0;                                                              \
    for (int64_t m = 0; m < M; m++) {                                                          \
      T *yr = Y + m * N;                                                                       \
      if (!p->trans_b) {                                                                       \
        for (int64_t n = 0; n < N; n++) yr[n] = 0;                                             \
        for (int64_t k = 0; k < K; k++) {                                                      \
          const T a = p->trans_a ? A[k * M + m] : A[m * K + k];                                \
          const T *br = B + k * N;                                                             \
          for (int64_t n = 0; n < N; n++) yr[n] += a * br[n];                                  \
        }                                                                                      \
      } else {                                                                                 \
        for (int64_t n = 0; n < N; n++) {                                                      \
          const T *br = B + n * K;                                                             \
          T acc = 0;                                                                           \
          if (p->trans_a)                                                                      \
            for (int64_t k = 0; k < K; k++) acc += A[k * M + m] * br[k];                       \
          else                                                                                 \
            for (int64_t k = 0; k < K; k++) acc += A[m * K + k] * br[k];                       \
          yr[n] = acc;                                                                         \
        }                                                                                      \
      }                                                                                        \
      for (int64_t n = 0; n < N; n++) {                                                        \
        T v = yr[n];                                                                           \
        if (p->alpha != 1.0f) v = (T)(p->alpha * v);                                           \
        if (C) v += (T)(p->beta * C[m * cs[0] + n * cs[1]]);                                   \
        yr[n] = v;                                                                             \
      }                                                                                        \
    }                                                                                          \
  }

DEFINE_GEMM(gemm_f32, float)
DEFINE_GEMM(gemm_f64, double)

int eck_ref_gemm(const void *params, const eck_tensor *in, int n_in, eck_tensor *out, int n_out,
                 void *scratch) {
  (void)n_out; (void)scratch;
  const eck_gemm_params *p = params;
  const eck_tensor *a = &in[0], *b = &in[1], *c = n_in > 2 && in[2].data ? &in[2] : 0;
  int64_t M = p->trans_a ? a->dims[1] : a->dims[0], K = p->trans_a ? a->dims[0] : a->dims[1];
  int64_t N = p->trans_b ? b->dims[0] : b->dims[1];
  switch (a->dtype) {
    case ECK_FLOAT: gemm_f32(p, a->data, b->data, c, out[0].data, M, N, K); return ECK_OK;
    case ECK_DOUBLE: gemm_f64(p, a->data, b->data, c, out[0].data, M, N, K); return ECK_OK;
    default: break;
  }
  int64_t cs[2] = {0, 0};
  if (c) eck_broadcast_strides(c, 2, 0, cs);
  int isf = eck_dtype_is_float(a->dtype);
  for (int64_t m = 0; m < M; m++)
    for (int64_t n = 0; n < N; n++) {
      double accf = 0;
      uint64_t acci = 0;
      for (int64_t k = 0; k < K; k++) {
        int64_t ia = p->trans_a ? k * M + m : m * K + k, ib = p->trans_b ? n * K + k : k * N + n;
        if (isf)
          accf += eck_load_f64(a->data, a->dtype, ia) * eck_load_f64(b->data, b->dtype, ib);
        else
          acci += (uint64_t)eck_load_i64(a->data, a->dtype, ia) *
                  (uint64_t)eck_load_i64(b->data, b->dtype, ib);
      }
      int64_t ic = m * cs[0] + n * cs[1], iy = m * N + n;
      if (isf) {
        double v = p->alpha * accf;
        if (c) v += p->beta * eck_load_f64(c->data, c->dtype, ic);
        eck_store_f64(out[0].data, out[0].dtype, iy, v);
      } else {
        if (p->alpha != 1.0f) acci = (uint64_t)(int64_t)((double)(int64_t)acci * p->alpha);
        if (c) {
          int64_t cv = eck_load_i64(c->data, c->dtype, ic);
          acci += p->beta == 1.0f ? (uint64_t)cv : (uint64_t)(int64_t)((double)cv * p->beta);
        }
        eck_store_i64(out[0].data, out[0].dtype, iy, (int64_t)acci);
      }
    }
  return ECK_OK;
}

/* ---- batched matrix products ------------------------------------------------------------ */

/* Shapes of a numpy matmul: 1-D operands are promoted (A to [1, K], B to [K, 1]); the batch
 * dims broadcast. */
typedef struct mm_shape {
  int64_t M, N, K, batches;
  int nb;                           /* batch rank of the output */
  int64_t bdims[ECK_MAX_RANK], sa[ECK_MAX_RANK], sb[ECK_MAX_RANK];
} mm_shape;

static void mm_shape_of(const eck_tensor *a, const eck_tensor *b, mm_shape *s) {
  int ra = a->rank, rb = b->rank;
  s->M = ra == 1 ? 1 : a->dims[ra - 2];
  s->K = a->dims[ra - 1];
  s->N = rb == 1 ? 1 : b->dims[rb - 1];
  int na = ra > 2 ? ra - 2 : 0, nbb = rb > 2 ? rb - 2 : 0;
  s->nb = na > nbb ? na : nbb;
  int64_t ma = s->M * s->K, mb = s->K * s->N;
  /* Element strides of each operand's batch dims (0 where broadcast). */
  int64_t stra = ma, strb = mb;
  for (int k = s->nb - 1; k >= 0; k--) {
    int ja = k - (s->nb - na), jb = k - (s->nb - nbb);
    int64_t da = ja >= 0 ? a->dims[ja] : 1, db = jb >= 0 ? b->dims[jb] : 1;
    s->bdims[k] = da > db ? da : db;
    s->sa[k] = da == 1 ? 0 : stra;
    s->sb[k] = db == 1 ? 0 : strb;
    stra *= da;
    strb *= db;
  }
  s->batches = 1;
  for (int k = 0; k < s->nb; k++) s->batches *= s->bdims[k];
}

static void mm_offsets(const mm_shape *s, int64_t bi, int64_t *oa, int64_t *ob) {
  int64_t a = 0, b = 0;
  for (int k = s->nb - 1; k >= 0; k--) {
    int64_t i = bi % s->bdims[k];
    bi /= s->bdims[k];
    a += i * s->sa[k];
    b += i * s->sb[k];
  }
  *oa = a;
  *ob = b;
}

#define DEFINE_MATMUL(NAME, T)                                                                  \
  static void NAME(const mm_shape *s, const T *A, const T *B, T *Y) {                          \
    const int64_t M = s->M, N = s->N, K = s->K;                                                \
    for (int64_t bi = 0; bi < s->batches; bi++) {                                              \
      int64_t oa, ob;                                                                          \
      mm_offsets(s, bi, &oa, &ob);                                                             \
      const T *a = A + oa, *b = B + ob;                                                        \
      T *y = Y + bi * M * N;                                                                   \
      for (int64_t m = 0; m < M; m++) {                                                        \
        T *yr = y + m * N;                                                                     \
        for (int64_t n = 0; n < N; n++) yr[n] = 0;                                             \
        for (int64_t k = 0; k < K; k++) {                                                      \
          const T av = a[m * K + k];                                                           \
          const T *br = b + k * N;                                                             \
          for (int64_t n = 0; n < N; n++) yr[n] += av * br[n];                                 \
        }                                                                                      \
      }                                                                                        \
    }                                                                                          \
  }

DEFINE_MATMUL(matmul_f32, float)
DEFINE_MATMUL(matmul_f64, double)

int eck_ref_matmul(const void *params, const eck_tensor *in, int n_in, eck_tensor *out,
                   int n_out, void *scratch) {
  (void)params; (void)n_in; (void)n_out; (void)scratch;
  const eck_tensor *a = &in[0], *b = &in[1];
  mm_shape s;
  mm_shape_of(a, b, &s);
  switch (a->dtype) {
    case ECK_FLOAT: matmul_f32(&s, a->data, b->data, out[0].data); return ECK_OK;
    case ECK_DOUBLE: matmul_f64(&s, a->data, b->data, out[0].data); return ECK_OK;
    default: break;
  }
  int isf = eck_dtype_is_float(a->dtype);
  for (int64_t bi = 0; bi < s.batches; bi++) {
    int64_t oa, ob;
    mm_offsets(&s, bi, &oa, &ob);
    for (int64_t m = 0; m < s.M; m++)
      for (int64_t n = 0; n < s.N; n++) {
        double accf = 0;
        uint64_t acci = 0;
        for (int64_t k = 0; k < s.K; k++) {
          int64_t ia = oa + m * s.K + k, ib = ob + k * s.N + n;
          if (isf)
            accf += eck_load_f64(a->data, a->dtype, ia) * eck_load_f64(b->data, b->dtype, ib);
          else
            acci += (uint64_t)eck_load_i64(a->data, a->dtype, ia) *
                    (uint64_t)eck_load_i64(b->data, b->dtype, ib);
        }
        int64_t iy = (bi * s.M + m) * s.N + n;
        if (isf)
          eck_store_f64(out[0].data, out[0].dtype, iy, accf);
        else
          eck_store_i64(out[0].data, out[0].dtype, iy, (int64_t)acci);
      }
  }
  return ECK_OK;
}

/* ---- StridedMatMul: MatMul through permuted views of its operands and result ---------------- */

/* Row-major element strides of a stored tensor. */
static void dense_strides(const eck_tensor *t, int64_t *st) {
  int64_t s = 1;
  for (int i = t->rank - 1; i >= 0; i--) {
    st[i] = s;
    s *= t->dims[i];
  }
}

/* The dims and strides of Transpose(t, perm) read in place; false when perm is not one. */
static int permuted_view(const eck_tensor *t, const int32_t *perm, int64_t *dims, int64_t *st) {
  int64_t ts[ECK_MAX_RANK];
  int seen = 0;
  dense_strides(t, ts);
  for (int i = 0; i < t->rank; i++) {
    if (perm[i] < 0 || perm[i] >= t->rank || (seen >> perm[i]) & 1) return 0;
    seen |= 1 << perm[i];
    dims[i] = t->dims[perm[i]];
    st[i] = ts[perm[i]];
  }
  return 1;
}

int eck_smm_geometry_of(const eck_strided_matmul_params *p, const eck_tensor *a, const eck_tensor *b,
                        const eck_tensor *y, eck_smm_geometry *g) {
  int64_t da[ECK_MAX_RANK], db[ECK_MAX_RANK], dy[ECK_MAX_RANK], xa[ECK_MAX_RANK], xb[ECK_MAX_RANK],
      xy[ECK_MAX_RANK], ys[ECK_MAX_RANK];
  int ra = a->rank, rb = b->rank, ry = y->rank;
  if (ra < 2 || rb < 2 || ry != (ra > rb ? ra : rb) || !permuted_view(a, p->perm_a, da, xa) ||
      !permuted_view(b, p->perm_b, db, xb))
    return ECK_ERR_ARG;
  /* The product's dim perm_y[j] is Y's stored dim j. */
  dense_strides(y, ys);
  int seen = 0;
  for (int j = 0; j < ry; j++) {
    int i = p->perm_y[j];
    if (i < 0 || i >= ry || (seen >> i) & 1) return ECK_ERR_ARG;
    seen |= 1 << i;
    dy[i] = y->dims[j];
    xy[i] = ys[j];
  }
  g->M = da[ra - 2];
  g->K = da[ra - 1];
  g->N = db[rb - 1];
  if (db[rb - 2] != g->K || dy[ry - 2] != g->M || dy[ry - 1] != g->N) return ECK_ERR_ARG;
  g->sam = xa[ra - 2], g->sak = xa[ra - 1];
  g->sbk = xb[rb - 2], g->sbn = xb[rb - 1];
  g->sym = xy[ry - 2], g->syn = xy[ry - 1];
  g->nb = ry - 2;
  g->batches = 1;
  for (int k = 0; k < g->nb; k++) {
    int ia = k - (g->nb - (ra - 2)), ib = k - (g->nb - (rb - 2));
    int64_t na = ia >= 0 ? da[ia] : 1, nbd = ib >= 0 ? db[ib] : 1;
    if ((na != dy[k] && na != 1) || (nbd != dy[k] && nbd != 1)) return ECK_ERR_ARG;
    g->bdims[k] = dy[k];
    g->sa[k] = na == 1 ? 0 : xa[ia];
    g->sb[k] = nbd == 1 ? 0 : xb[ib];
    g->sy[k] = xy[k];
    g->batches *= dy[k];
  }
  return ECK_OK;
}

void eck_smm_offsets(const eck_smm_geometry *g, int64_t bi, int64_t *oa, int64_t *ob, int64_t *oy) {
  int64_t a = 0, b = 0, y = 0;
  for (int k = g->nb - 1; k >= 0; k--) {
    int64_t i = bi % g->bdims[k];
    bi /= g->bdims[k];
    a += i * g->sa[k];
    b += i * g->sb[k];
    y += i * g->sy[k];
  }
  *oa = a, *ob = b, *oy = y;
}

/* The sums in MatMul's reference order (k ascending, in the data's type for float and double), so
 * that the fused node gives what the Transposes and MatMul it replaced gave. */
#define DEFINE_SMM(NAME, T)                                                                     \
  static void NAME(const eck_smm_geometry *g, const T *A, const T *B, T *Y) {                   \
    for (int64_t bi = 0; bi < g->batches; bi++) {                                              \
      int64_t oa, ob, oy;                                                                      \
      eck_smm_offsets(g, bi, &oa, &ob, &oy);                                                   \
      for (int64_t m = 0; m < g->M; m++)                                                       \
        for (int64_t n = 0; n < g->N; n++) {                                                   \
          T acc = 0;                                                                           \
          for (int64_t k = 0; k < g->K; k++)                                                   \
            acc += A[oa + m * g->sam + k * g->sak] * B[ob + k * g->sbk + n * g->sbn];          \
          Y[oy + m * g->sym + n * g->syn] = acc;                                               \
        }                                                                                      \
    }                                                                                          \
  }

DEFINE_SMM(smm_f32, float)
DEFINE_SMM(smm_f64, double)

int eck_ref_strided_matmul(const void *params, const eck_tensor *in, int n_in, eck_tensor *out, int n_out,
                           void *scratch) {
  (void)n_in, (void)n_out, (void)scratch;
  eck_smm_geometry g;
  if (eck_smm_geometry_of(params, &in[0], &in[1], &out[0], &g) != ECK_OK) return ECK_ERR_ARG;
  switch (in[0].dtype) {
    case ECK_FLOAT: smm_f32(&g, in[0].data, in[1].data, out[0].data); return ECK_OK;
    case ECK_DOUBLE: smm_f64(&g, in[0].data, in[1].data, out[0].data); return ECK_OK;
    default: break;
  }
  for (int64_t bi = 0; bi < g.batches; bi++) {
    int64_t oa, ob, oy;
    eck_smm_offsets(&g, bi, &oa, &ob, &oy);
    for (int64_t m = 0; m < g.M; m++)
      for (int64_t n = 0; n < g.N; n++) {
        double acc = 0;
        for (int64_t k = 0; k < g.K; k++)
          acc += eck_load_f64(in[0].data, in[0].dtype, oa + m * g.sam + k * g.sak) *
                 eck_load_f64(in[1].data, in[1].dtype, ob + k * g.sbk + n * g.sbn);
        eck_store_f64(out[0].data, out[0].dtype, oy + m * g.sym + n * g.syn, acc);
      }
  }
  return ECK_OK;
}

/* Zero point or scale k of a per-tensor (1 element) or per-row/column operand. */
static int64_t q_at(const eck_tensor *t, int64_t k) {
  if (!t || !t->data) return 0;
  return eck_load_i64(t->data, t->dtype, eck_numel(t) == 1 ? 0 : k);
}

static double s_at(const eck_tensor *t, int64_t k) {
  return eck_load_f64(t->data, t->dtype, eck_numel(t) == 1 ? 0 : k);
}

/* Integer matrix product with zero points: a_zp per row (M) and b_zp per column (N) or
 * per tensor. Calls emit with each int32 accumulator. */
static void qmatmul(const eck_tensor *a, const eck_tensor *b, const eck_tensor *azp,
                    const eck_tensor *bzp,
                    void (*emit)(void *ctx, int64_t iy, int64_t m, int64_t n, int32_t acc),
                    void *ctx) {
  mm_shape s;
  mm_shape_of(a, b, &s);
  for (int64_t bi = 0; bi < s.batches; bi++) {
    int64_t oa, ob;
    mm_offsets(&s, bi, &oa, &ob);
    for (int64_t m = 0; m < s.M; m++) {
      int32_t za = (int32_t)q_at(azp, m);
      for (int64_t n = 0; n < s.N; n++) {
        int32_t zb = (int32_t)q_at(bzp, n), acc = 0;
        for (int64_t k = 0; k < s.K; k++)
          acc += ((int32_t)eck_load_i64(a->data, a->dtype, oa + m * s.K + k) - za) *
                 ((int32_t)eck_load_i64(b->data, b->dtype, ob + k * s.N + n) - zb);
        emit(ctx, (bi * s.M + m) * s.N + n, m, n, acc);
      }
    }
  }
}

static void emit_i32(void *ctx, int64_t iy, int64_t m, int64_t n, int32_t acc) {
  (void)m; (void)n;
  ((int32_t *)ctx)[iy] = acc;
}

int eck_ref_matmul_integer(const void *params, const eck_tensor *in, int n_in, eck_tensor *out,
                           int n_out, void *scratch) {
  (void)params; (void)n_out; (void)scratch;
  qmatmul(&in[0], &in[1], n_in > 2 ? &in[2] : 0, n_in > 3 ? &in[3] : 0, emit_i32, out[0].data);
  return ECK_OK;
}

typedef struct qlm_ctx {
  const eck_tensor *as, *bs, *ys, *yzp, *y;
} qlm_ctx;

static void emit_qlm(void *vctx, int64_t iy, int64_t m, int64_t n, int32_t acc) {
  const qlm_ctx *c = vctx;
  float mult = (float)s_at(c->as, m) * (float)s_at(c->bs, n) / (float)s_at(c->ys, 0);
  float v = nearbyintf((float)acc * mult) + (float)q_at(c->yzp, 0);
  float lo = c->y->dtype == ECK_INT8 ? -128.f : 0.f, hi = c->y->dtype == ECK_INT8 ? 127.f : 255.f;
  v = v < lo ? lo : v > hi ? hi : v;
  eck_store_i64(c->y->data, c->y->dtype, iy, (int64_t)v);
}

int eck_ref_qlinear_matmul(const void *params, const eck_tensor *in, int n_in, eck_tensor *out,
                           int n_out, void *scratch) {
  (void)params; (void)n_in; (void)n_out; (void)scratch;
  /* a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp */
  qlm_ctx c = {&in[1], &in[4], &in[6], &in[7], &out[0]};
  qmatmul(&in[0], &in[3], &in[2], &in[5], emit_qlm, &c);
  return ECK_OK;
}

/* ---- Einsum ----------------------------------------------------------------------------- */

int eck_ref_einsum(const void *params, const eck_tensor *in, int n_in, eck_tensor *out,
                   int n_out, void *scratch) {
  (void)n_in; (void)n_out; (void)scratch;
  const eck_einsum_params *p = params;
  int64_t stride[ECK_EINSUM_MAX_IN][ECK_EINSUM_MAX_LABELS] = {{0}};
  for (int i = 0; i < p->n_in; i++) {
    int64_t s = 1;
    for (int k = p->in_rank[i] - 1; k >= 0; k--) {
      /* A repeated label walks the diagonal; a dim of 1 broadcasts. */
      if (in[i].dims[k] != 1) stride[i][p->in_labels[i][k]] += s;
      s *= in[i].dims[k];
    }
  }
  int64_t n_outer = 1, n_inner = 1;
  for (int l = 0; l < p->n_out_labels; l++) n_outer *= p->label_dim[l];
  for (int l = p->n_out_labels; l < p->n_labels; l++) n_inner *= p->label_dim[l];
  int isf = eck_dtype_is_float(out[0].dtype);
  for (int64_t o = 0; o < n_outer; o++) {
    int64_t base[ECK_EINSUM_MAX_IN] = {0};
    int64_t r = o;
    for (int l = p->n_out_labels - 1; l >= 0; l--) {
      int64_t i = r % p->label_dim[l];
      r /= p->label_dim[l];
      for (int t = 0; t < p->n_in; t++) base[t] += i * stride[t][l];
    }
    double accf = 0;
    uint64_t acci = 0;
    for (int64_t q = 0; q < n_inner; q++) {
      int64_t off[ECK_EINSUM_MAX_IN];
      for (int t = 0; t < p->n_in; t++) off[t] = base[t];
      r = q;
      for (int l = p->n_labels - 1; l >= p->n_out_labels; l--) {
        int64_t i = r % p->label_dim[l];
        r /= p->label_dim[l];
        for (int t = 0; t < p->n_in; t++) off[t] += i * stride[t][l];
      }
      double pf = 1;
      uint64_t pi = 1;
      for (int t = 0; t < p->n_in; t++) {
        if (isf)
          pf *= eck_load_f64(in[t].data, in[t].dtype, off[t]);
        else
          pi *= (uint64_t)eck_load_i64(in[t].data, in[t].dtype, off[t]);
      }
      accf += pf;
      acci += pi;
    }
    if (isf)
      eck_store_f64(out[0].data, out[0].dtype, o, accf);
    else
      eck_store_i64(out[0].data, out[0].dtype, o, (int64_t)acci);
  }
  return ECK_OK;
}
