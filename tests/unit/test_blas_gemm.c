/* test_blas_gemm.c — eck_blas_matmul (kernels/blas) against a brute-force product in double
 * precision, on every small-product kernel this CPU has (AVX-512, AVX2+FMA, OpenBLAS), over
 * generated shapes: every m, n, k tail of the register blocks, batch broadcasting, and products
 * past the small bound (OpenBLAS). And the run allocates nothing: ctest runs this with
 * OPENBLAS_CORETYPE unset, where OpenBLAS 0.3.21 on an AVX-512 core mallocs in its small-matrix
 * kernels on every call. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eck_blas.h"

/* Every allocation of the process, OpenBLAS's included, goes through these. */
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
static unsigned long n_alloc;
void *malloc(size_t n) { n_alloc++; return __libc_malloc(n); }
void *calloc(size_t a, size_t b) { n_alloc++; return __libc_calloc(a, b); }
void *realloc(void *p, size_t n) { n_alloc++; return __libc_realloc(p, n); }
void *aligned_alloc(size_t a, size_t n) { n_alloc++; return __libc_memalign(a, n); }
int posix_memalign(void **out, size_t a, size_t n) {
  n_alloc++;
  *out = __libc_memalign(a, n);
  return *out ? 0 : 12;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t next(void) {
  rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
  return (uint32_t)(rng >> 11);
}
static float uniform(void) { return (float)(next() % 20001) / 10000.0f - 1.0f; }

static eck_tensor tensor(int rank, const int64_t *dims, float *data) {
  eck_tensor t;
  memset(&t, 0, sizeof t);
  t.dtype = ECK_FLOAT;
  t.rank = rank;
  for (int i = 0; i < rank; i++) t.dims[i] = dims[i];
  t.data = data;
  return t;
}

static int64_t count(int rank, const int64_t *dims) {
  int64_t c = 1;
  for (int i = 0; i < rank; i++) c *= dims[i];
  return c;
}

/* One case: A [ba..., m, k] · B [bb..., k, n] with numpy broadcasting of the batch dims (rank 2
 * or 3, a batch dim of 1 broadcasts). Returns the number of wrong elements. */
static int check(int kernel, int64_t m, int64_t n, int64_t k, int64_t bat, int bcast) {
  int64_t da[3] = {bcast == 1 ? 1 : bat, m, k}, db[3] = {bcast == 2 ? 1 : bat, k, n}, dc[3] = {bat, m, n};
  int64_t na = count(3, da), nb = count(3, db), nc = count(3, dc);
  float *a = malloc((size_t)(na + 1) * sizeof(float)), *b = malloc((size_t)(nb + 1) * sizeof(float));
  /* guard elements after C (6 rows and more) catch a store past the last row or column */
  int64_t guard = 8 * (n + 32);
  float *c = malloc((size_t)(nc + guard) * sizeof(float));
  int bad = 0;
  for (int64_t i = 0; i < na; i++) a[i] = uniform();
  for (int64_t i = 0; i < nb; i++) b[i] = uniform();
  for (int64_t i = 0; i < nc + guard; i++) c[i] = 12345.0f;
  eck_tensor in[2] = {tensor(3, da, a), tensor(3, db, b)}, out = tensor(3, dc, c);
  if (eck_blas_matmul(NULL, in, 2, &out, 1, NULL) != ECK_OK) {
    printf("FAILED: eck_blas_matmul refused %lldx%lldx%lld\n", (long long)m, (long long)n, (long long)k);
    return 1;
  }
  for (int64_t t = 0; t < bat; t++) {
    const float *pa = a + (bcast == 1 ? 0 : t * m * k), *pb = b + (bcast == 2 ? 0 : t * k * n);
    for (int64_t i = 0; i < m; i++)
      for (int64_t j = 0; j < n; j++) {
        double s = 0, mag = 0;
        for (int64_t p = 0; p < k; p++) s += (double)pa[i * k + p] * pb[p * n + j], mag += fabs((double)pa[i * k + p] * pb[p * n + j]);
        double got = c[t * m * n + i * n + j];
        /* float rounding of k products and sums, in any order */
        if (!(fabs(got - s) <= 1e-6 * (double)(k + 2) * mag + 1e-30)) {
          if (bad < 3)
            printf("FAILED: kernel %d, %lldx%lldx%lld batch %lld: C[%lld][%lld][%lld] = %.9g, expected %.9g\n",
                   kernel, (long long)m, (long long)n, (long long)k, (long long)bat, (long long)t,
                   (long long)i, (long long)j, got, s);
          bad++;
        }
      }
  }
  int past = 0;
  for (int64_t i = nc; i < nc + guard; i++) past |= c[i] != 12345.0f;
  if (past) {
    printf("FAILED: kernel %d, %lldx%lldx%lld wrote past the output\n", kernel, (long long)m, (long long)n,
           (long long)k);
    bad++;
  }
  free(a), free(b), free(c);
  return bad;
}

/* Runs of one small product allocate nothing after the first call. */
static int check_no_alloc(int kernel, int64_t m, int64_t n, int64_t k) {
  int64_t da[2] = {m, k}, db[2] = {k, n}, dc[2] = {m, n};
  float *a = calloc((size_t)(m * k), sizeof(float)), *b = calloc((size_t)(k * n), sizeof(float));
  float *c = calloc((size_t)(m * n), sizeof(float));
  eck_tensor in[2] = {tensor(2, da, a), tensor(2, db, b)}, out = tensor(2, dc, c);
  eck_blas_matmul(NULL, in, 2, &out, 1, NULL);
  unsigned long before = n_alloc;
  for (int r = 0; r < 10; r++) eck_blas_matmul(NULL, in, 2, &out, 1, NULL);
  unsigned long grew = n_alloc - before;
  free(a), free(b), free(c);
  printf("kernel %d: %lux%lux%lu: %lu allocations in 10 runs\n", kernel, (unsigned long)m, (unsigned long)n,
         (unsigned long)k, grew);
  return grew != 0;
}

int main(void) {
  int failed = 0, best = eck_blas_limit_kernel(2), cases = 0;
  printf("small-product kernel: %s\n", best == 2 ? "AVX-512" : best == 1 ? "AVX2+FMA" : "none (OpenBLAS)");
  for (int cap = best; cap >= 0; cap--) {
    int kernel = eck_blas_limit_kernel(cap);
    /* every tail of the 6-row and 16/32-column blocks, k from 0 */
    for (int64_t m = 1; m <= 13; m++)
      for (int64_t n = 1; n <= 67; n += (n < 34 ? 1 : 11))
        for (int64_t k = 0; k <= 9; k += 3) failed += check(kernel, m, n, k, 1, 0), cases++;
    /* random shapes with batch broadcasting, some past the small bound (OpenBLAS) */
    for (int r = 0; r < 300; r++) {
      int64_t m = 1 + next() % 80, n = 1 + next() % 80, k = 1 + next() % 90, bat = 1 + next() % 3;
      if (r % 50 == 0) m = 150 + next() % 50, n = 100 + next() % 60, k = 60 + next() % 30; /* > 1e6 MACs */
      failed += check(kernel, m, n, k, bat, (int)(next() % 3)), cases++;
    }
    /* attention's products in vit_b_32 and swin_t */
    failed += check(kernel, 50, 50, 64, 12, 0) + check(kernel, 50, 64, 50, 12, 0) + check(kernel, 49, 49, 32, 3, 0);
    cases += 3;
    if (kernel > 0)
      failed += check_no_alloc(kernel, 50, 50, 64) + check_no_alloc(kernel, 49, 32, 49);
    else /* shown, not checked: whether OpenBLAS allocates depends on the core type it picked */
      (void)check_no_alloc(kernel, 50, 50, 64);
  }
  printf("%d cases on %d kernels: %s\n", cases, best + 1, failed ? "FAILED" : "all equal to the brute force");
  return failed != 0;
}
