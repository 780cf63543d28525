/* eck_blas.c — eck_blas_matmul: one cblas_sgemm per output matrix, batch dims broadcast.
 * Generated code links OpenBLAS when it calls this.
 * edgecc-link: openblas */
#include <cblas.h>

#include "eck_blas.h"

void openblas_set_num_threads(int num_threads);

int eck_blas_matmul(const void *params, const eck_tensor *in, int n_in, eck_tensor *out, int n_out,
                    void *scratch) {
  static int one_thread;
  const eck_tensor *a = &in[0], *b = &in[1];
  int64_t m, k, n, batch = 1, sa[ECK_MAX_RANK], sb[ECK_MAX_RANK], idx[ECK_MAX_RANK];
  int r = out->rank, br = r - 2;
  (void)params, (void)scratch;
  if (n_in != 2 || n_out != 1 || a->dtype != ECK_FLOAT || b->dtype != ECK_FLOAT || a->rank < 2 ||
      b->rank < 2 || r < 2)
    return ECK_ERR_ARG;
  if (!one_thread) {
    openblas_set_num_threads(1);
    one_thread = 1;
  }
  m = a->dims[a->rank - 2];
  k = a->dims[a->rank - 1];
  n = b->dims[b->rank - 1];
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
    for (int i = 0; i < br; i++) oa += idx[i] * sa[i], ob += idx[i] * sb[i];
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)n, (int)k, 1.0f,
                (const float *)a->data + oa, (int)k, (const float *)b->data + ob, (int)n, 0.0f,
                (float *)out->data + t * m * n, (int)n);
    for (int i = br - 1; i >= 0; i--) {
      if (++idx[i] < out->dims[i]) break;
      idx[i] = 0;
    }
  }
  return ECK_OK;
}
