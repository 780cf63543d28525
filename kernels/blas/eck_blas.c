/* eck_blas.c — eck_blas_matmul: C = A·B per output matrix, batch dims broadcast (MatMul of two
 * run-time tensors; a MatMul with constant weights goes to XNNPACK's fully-connected instead).
 *
 * Small products (M·N·K <= 1e6: attention's Q·Kᵀ and ·V, 50x50x64 in vit_b_32) run on the
 * register-blocked kernel below on x86-64 with AVX2+FMA or AVX-512, larger ones on OpenBLAS.
 * Why not OpenBLAS for all: OpenBLAS 0.3.21 sends products of that size to its "small matrix"
 * kernels on AVX-512 cores (SkylakeX/Cooperlake builds, the core type it picks on both the Zen 4/5
 * and the Xeon machines), and those malloc a packing buffer on every call; a generated program
 * must not allocate per run. Elsewhere (ARM boards, older x86) OpenBLAS has no such path and is
 * called for every size.
 * Generated code links OpenBLAS when it calls this.
 * edgecc-link: openblas */
#include <cblas.h>
#include <stdint.h>
#include <string.h>

#include "eck_blas.h"
#include "eck_ref_nn.h"

void openblas_set_num_threads(int num_threads);

/* Products up to this many multiply-adds use the own kernel (OpenBLAS's small-matrix bound). */
#define ECK_SMALL_GEMM_MNK 1000000.0

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define ECK_GEMM_X86 1

/* Row-major C[m×n] = A[m×k]·B[k×n] (leading dimensions k, n, n). A block of 6 rows × 2 vectors
 * of C stays in 12 registers while k streams: each step loads two vectors of one row of B and
 * broadcasts one element of each of the 6 rows of A. Fewer than 6 rows left: the missing rows
 * repeat the last one and are not stored. A column tail uses masked loads and stores, so nothing
 * is read or written past a row. Each element sums p = 0..k-1 in order, whatever the blocking. */
#define ECK_MR 6
#define ECK_ROWS(a, lda, mr)                                                                       \
  const float *a0 = (a), *a1 = a0 + ((mr) > 1 ? (lda) : 0), *a2 = a1 + ((mr) > 2 ? (lda) : 0),       \
              *a3 = a2 + ((mr) > 3 ? (lda) : 0), *a4 = a3 + ((mr) > 4 ? (lda) : 0),                  \
              *a5 = a4 + ((mr) > 5 ? (lda) : 0)
#define ECK_STEP(SET1, FMA, x, row, p, acc0, acc1)                                            \
  x = SET1(row[p]);                                                                               \
  acc0 = FMA(x, b0, acc0);                                                                        \
  acc1 = FMA(x, b1, acc1)

__attribute__((target("avx512f"))) static void block512(int mr, int64_t k, const float *a, int64_t lda,
                                                       const float *b, int64_t ldb, float *c, int64_t ldc,
                                                       __mmask16 m0, __mmask16 m1) {
  ECK_ROWS(a, lda, mr);
  __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00,
         c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00, x;
  for (int64_t p = 0; p < k; p++, b += ldb) {
    __m512 b0 = _mm512_maskz_loadu_ps(m0, b), b1 = _mm512_maskz_loadu_ps(m1, b + 16);
    ECK_STEP(_mm512_set1_ps, _mm512_fmadd_ps, x, a0, p, c00, c01);
    ECK_STEP(_mm512_set1_ps, _mm512_fmadd_ps, x, a1, p, c10, c11);
    ECK_STEP(_mm512_set1_ps, _mm512_fmadd_ps, x, a2, p, c20, c21);
    ECK_STEP(_mm512_set1_ps, _mm512_fmadd_ps, x, a3, p, c30, c31);
    ECK_STEP(_mm512_set1_ps, _mm512_fmadd_ps, x, a4, p, c40, c41);
    ECK_STEP(_mm512_set1_ps, _mm512_fmadd_ps, x, a5, p, c50, c51);
  }
  __m512 rows[ECK_MR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
  for (int r = 0; r < mr; r++) {
    _mm512_mask_storeu_ps(c + r * ldc, m0, rows[r][0]);
    _mm512_mask_storeu_ps(c + r * ldc + 16, m1, rows[r][1]);
  }
}

__attribute__((target("avx512f"))) static void gemm512(int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
                                                      const float *b, int64_t ldb, float *c, int64_t ldc) {
  for (int64_t j = 0; j < n; j += 32) {
    int64_t nr = n - j < 32 ? n - j : 32;
    __mmask16 m0 = (__mmask16)(nr >= 16 ? 0xffff : (1u << nr) - 1);
    __mmask16 m1 = (__mmask16)(nr >= 32 ? 0xffff : nr > 16 ? (1u << (nr - 16)) - 1 : 0);
    for (int64_t i = 0; i < m; i += ECK_MR)
      block512(m - i < ECK_MR ? (int)(m - i) : ECK_MR, k, a + i * lda, lda, b + j, ldb, c + i * ldc + j, ldc, m0, m1);
  }
}

/* The same with 256-bit vectors: 6 rows × 16 columns, 12 of the 16 registers. */
__attribute__((target("avx2,fma"))) static void block256(int mr, int64_t k, const float *a, int64_t lda,
                                                        const float *b, int64_t ldb, float *c, int64_t ldc,
                                                        __m256i m0, __m256i m1) {
  ECK_ROWS(a, lda, mr);
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00,
         c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00, x;
  for (int64_t p = 0; p < k; p++, b += ldb) {
    __m256 b0 = _mm256_maskload_ps(b, m0), b1 = _mm256_maskload_ps(b + 8, m1);
    ECK_STEP(_mm256_set1_ps, _mm256_fmadd_ps, x, a0, p, c00, c01);
    ECK_STEP(_mm256_set1_ps, _mm256_fmadd_ps, x, a1, p, c10, c11);
    ECK_STEP(_mm256_set1_ps, _mm256_fmadd_ps, x, a2, p, c20, c21);
    ECK_STEP(_mm256_set1_ps, _mm256_fmadd_ps, x, a3, p, c30, c31);
    ECK_STEP(_mm256_set1_ps, _mm256_fmadd_ps, x, a4, p, c40, c41);
    ECK_STEP(_mm256_set1_ps, _mm256_fmadd_ps, x, a5, p, c50, c51);
  }
  __m256 rows[ECK_MR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
  for (int r = 0; r < mr; r++) {
    _mm256_maskstore_ps(c + r * ldc, m0, rows[r][0]);
    _mm256_maskstore_ps(c + r * ldc + 8, m1, rows[r][1]);
  }
}

__attribute__((target("avx2,fma"))) static void gemm256(int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
                                                       const float *b, int64_t ldb, float *c, int64_t ldc) {
  for (int64_t j = 0; j < n; j += 16) {
    int nr = (int)(n - j < 16 ? n - j : 16);
    /* Lane l of the masks is on (all ones) when column j + l exists. */
    __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    __m256i m0 = _mm256_cmpgt_epi32(_mm256_set1_epi32(nr), lanes);
    __m256i m1 = _mm256_cmpgt_epi32(_mm256_set1_epi32(nr - 8), lanes);
    for (int64_t i = 0; i < m; i += ECK_MR)
      block256(m - i < ECK_MR ? (int)(m - i) : ECK_MR, k, a + i * lda, lda, b + j, ldb, c + i * ldc + j, ldc, m0, m1);
  }
}
#endif

/* The widest small-product kernel this CPU runs: 0 none (OpenBLAS), 1 AVX2+FMA, 2 AVX-512. */
static int small_kernel(void) {
  int k = 0;
#ifdef ECK_GEMM_X86
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) k = 1;
  if (__builtin_cpu_supports("avx512f")) k = 2;
#endif
  return k;
}

static int kernel_cap = 2;

int eck_blas_limit_kernel(int widest) {
  int have = small_kernel();
  kernel_cap = widest < 0 ? 0 : widest;
  return kernel_cap < have ? kernel_cap : have;
}

/* OpenBLAS held to one thread, once (the program's init runs every step once before serving);
 * returns small_kernel(). */
static int first_call_setup(void) {
  static int ready, kernel;
  if (!ready) {
    openblas_set_num_threads(1);
    kernel = small_kernel();
    ready = 1;
  }
  return kernel;
}

/* One row-major product C = op(A)·op(B) with leading dimensions: on the own kernel `use` (1 AVX2,
 * 2 AVX-512; untransposed operands only), else OpenBLAS (ta, tb: the operand is stored
 * transposed). */
static void gemm(int use, int ta, int tb, int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
                 const float *b, int64_t ldb, float *c, int64_t ldc) {
#ifdef ECK_GEMM_X86
  if (use == 2)
    gemm512(m, n, k, a, lda, b, ldb, c, ldc);
  else if (use == 1)
    gemm256(m, n, k, a, lda, b, ldb, c, ldc);
  else
#endif
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)m, (int)n,
                (int)k, 1.0f, a, (int)lda, b, (int)ldb, 0.0f, c, (int)ldc);
#ifndef ECK_GEMM_X86
  (void)use;
#endif
}

int eck_blas_matmul(const void *params, const eck_tensor *in, int n_in, eck_tensor *out, int n_out,
                    void *scratch) {
  int kernel;
  const eck_tensor *a = &in[0], *b = &in[1];
  int64_t m, k, n, batch = 1, sa[ECK_MAX_RANK], sb[ECK_MAX_RANK], idx[ECK_MAX_RANK];
  int r = out->rank, br = r - 2, use;
  (void)params, (void)scratch;
  if (n_in != 2 || n_out != 1 || a->dtype != ECK_FLOAT || b->dtype != ECK_FLOAT || a->rank < 2 ||
      b->rank < 2 || r < 2)
    return ECK_ERR_ARG;
  kernel = first_call_setup();
  m = a->dims[a->rank - 2];
  k = a->dims[a->rank - 1];
  n = b->dims[b->rank - 1];
  use = (double)m * (double)n * (double)k <= ECK_SMALL_GEMM_MNK ? (kernel < kernel_cap ? kernel : kernel_cap) : 0;
  if (k == 0) { /* empty sums; OpenBLAS would refuse a leading dimension of 0 */
    int64_t total = 1;
    for (int i = 0; i < r; i++) total *= out->dims[i];
    memset(out->data, 0, (size_t)total * sizeof(float));
    return ECK_OK;
  }
  /* Element strides of each operand's matrices along the output's batch dims (0: broadcast). */
  {
    int64_t ma = m * k, mb = k * n;
    for (int i = br - 1; i >= 0; i--) {
      int ia = i - (br - (a->rank - 2)), ib = i - (br - (b->rank - 2));
      int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
      sa[i] = da == 1 ? 0 : ma;
      sb[i] = db == 1 ? 0 : mb;
      ma *= da;
      mb *= db;
      batch *= out->dims[i];
      idx[i] = 0;
    }
  }
  for (int64_t t = 0; t < batch; t++) {
    int64_t oa = 0, ob = 0;
    const float *pa, *pb;
    float *pc = (float *)out->data + t * m * n;
    for (int i = 0; i < br; i++) oa += idx[i] * sa[i], ob += idx[i] * sb[i];
    pa = (const float *)a->data + oa;
    pb = (const float *)b->data + ob;
    gemm(use, 0, 0, m, n, k, pa, k, pb, n, pc, n);
    for (int i = br - 1; i >= 0; i--) {
      if (++idx[i] < out->dims[i]) break;
      idx[i] = 0;
    }
  }
  return ECK_OK;
}

/* ---- StridedMatMul: operands and result through permuted views -------------------------------- */

/* Copies the rows x cols matrix at p (strides rs, cs) into dense row-major d. */
static void pack(const float *p, int64_t rows, int64_t cols, int64_t rs, int64_t cs, float *d) {
  for (int64_t r = 0; r < rows; r++)
    for (int64_t c = 0; c < cols; c++) d[r * cols + c] = p[r * rs + c * cs];
}

int eck_blas_strided_matmul(const void *params, const eck_tensor *in, int n_in, eck_tensor *out, int n_out,
                            void *scratch) {
  int kernel;
  eck_smm_geometry g;
  if (n_in != 2 || n_out != 1 || in[0].dtype != ECK_FLOAT || in[1].dtype != ECK_FLOAT ||
      eck_smm_geometry_of(params, &in[0], &in[1], out, &g) != ECK_OK || (!scratch && g.M > 0 && g.N > 0 && g.K > 0))
    return ECK_ERR_ARG;
  kernel = first_call_setup();
  const int64_t M = g.M, N = g.N, K = g.K;
  float *sa = scratch, *sb = sa + M * K, *sc = sb + K * N; /* ECK_BLAS_SMM_SCRATCH floats */
  int use = (double)M * (double)N * (double)K <= ECK_SMALL_GEMM_MNK ? (kernel < kernel_cap ? kernel : kernel_cap) : 0;
  /* How each matrix is read: row-major with a leading dimension (the own kernels and OpenBLAS),
   * or transposed (OpenBLAS only); anything else is packed into the scratch, per batch. A
   * leading dimension must hold a row (BLAS's rule; a dim of 1 may have any stride). */
  int a_rows = g.sak == 1 && g.sam >= K, a_cols = !use && !a_rows && g.sam == 1 && g.sak >= M;
  int b_rows = g.sbn == 1 && g.sbk >= N, b_cols = !use && !b_rows && g.sbk == 1 && g.sbn >= K;
  int c_rows = g.syn == 1 && g.sym >= N;
  if (M == 0 || N == 0) return ECK_OK;
  for (int64_t bi = 0; bi < g.batches; bi++) {
    int64_t oa, ob, oy;
    eck_smm_offsets(&g, bi, &oa, &ob, &oy);
    const float *pa = (const float *)in[0].data + oa, *pb = (const float *)in[1].data + ob;
    float *py = (float *)out->data + oy, *pc = c_rows ? py : sc;
    int64_t lda = a_rows ? g.sam : a_cols ? g.sak : K, ldb = b_rows ? g.sbk : b_cols ? g.sbn : N,
            ldc = c_rows ? g.sym : N;
    if (K == 0) {
      for (int64_t m = 0; m < M; m++)
        for (int64_t n = 0; n < N; n++) py[m * g.sym + n * g.syn] = 0;
      continue;
    }
    if (!a_rows && !a_cols) pack(pa, M, K, g.sam, g.sak, sa), pa = sa;
    if (!b_rows && !b_cols) pack(pb, K, N, g.sbk, g.sbn, sb), pb = sb;
    gemm(use, a_cols, b_cols, M, N, K, pa, lda, pb, ldb, pc, ldc);
    if (!c_rows)
      for (int64_t m = 0; m < M; m++)
        for (int64_t n = 0; n < N; n++) py[m * g.sym + n * g.syn] = sc[m * N + n];
  }
  return ECK_OK;
}
