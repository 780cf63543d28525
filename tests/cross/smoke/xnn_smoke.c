/* xnn_smoke.c — the cross-build smoke test: a 3x3 convolution through XNNPACK's operator API and an
 * sgemm through OpenBLAS, each checked against plain loops, outputs printed for a host/board diff. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <cblas.h>
#include <pthreadpool.h>
#include <xnnpack.h>

enum { H = 8, W = 8, CI = 3, CO = 4, K = 3 };

/* Exactly representable inputs (multiples of 1/64) so every machine sees the same operands. */
static float val(int i, int mul) { return (float)(((i * mul) % 37) - 18) / 64.0f; }

int main(void) {
  static float in[H * W * CI + 16], wt[CO * K * K * CI], bias[CO], out[H * W * CO];
  for (int i = 0; i < H * W * CI; i++) in[i] = val(i, 7);
  for (int i = 0; i < CO * K * K * CI; i++) wt[i] = val(i, 11);
  for (int i = 0; i < CO; i++) bias[i] = val(i, 5);

  if (xnn_initialize(NULL) != xnn_status_success) return fprintf(stderr, "xnn_initialize failed\n"), 1;
  pthreadpool_t pool = pthreadpool_create(2);
  xnn_operator_t op = NULL;
  if (xnn_create_convolution2d_nhwc_f32(1, 1, 1, 1, K, K, 1, 1, 1, 1, 1, CI, CO, CI, CO, wt, bias,
                                        -INFINITY, INFINITY, 0, &op) != xnn_status_success ||
      xnn_setup_convolution2d_nhwc_f32(op, 1, H, W, in, out, pool) != xnn_status_success ||
      xnn_run_operator(op, pool) != xnn_status_success)
    return fprintf(stderr, "XNNPACK convolution failed\n"), 1;

  double max_err = 0;
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++)
      for (int o = 0; o < CO; o++) {
        double s = bias[o];
        for (int ky = 0; ky < K; ky++)
          for (int kx = 0; kx < K; kx++)
            for (int c = 0; c < CI; c++) {
              int iy = y + ky - 1, ix = x + kx - 1;
              if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
              s += (double)in[(iy * W + ix) * CI + c] * wt[((o * K + ky) * K + kx) * CI + c];
            }
        double e = fabs(s - out[(y * W + x) * CO + o]);
        if (e > max_err) max_err = e;
      }
  printf("conv max_err %.3g\n", max_err);
  for (int i = 0; i < H * W * CO; i += 13) printf("conv[%d] %.9g\n", i, out[i]);

  enum { M = 5, N = 6, KK = 7 };
  float a[M * KK], b[KK * N], c[M * N];
  for (int i = 0; i < M * KK; i++) a[i] = val(i, 3);
  for (int i = 0; i < KK * N; i++) b[i] = val(i, 13);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, KK, 1.0f, a, KK, b, N, 0.0f, c, N);
  for (int i = 0; i < M * N; i += 4) printf("gemm[%d] %.9g\n", i, c[i]);

  xnn_delete_operator(op);
  pthreadpool_destroy(pool);
  if (max_err > 1e-4) return fprintf(stderr, "convolution differs from the loops\n"), 1;
  return 0;
}
