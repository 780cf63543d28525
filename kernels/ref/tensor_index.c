/* tensor_index.c — reference kernels that read or write through index tensors: Gather,
 * GatherElements, GatherND, ScatterElements, ScatterND, OneHot, TopK, Compress, NonZero, Unique,
 * ReverseSequence. Indices may be negative (counted from the end); out of range is an error. */
#include <string.h>

#include "eck_ref.h"

static void strides_of(const eck_tensor *t, int64_t *s) {
  int64_t acc = 1;
  for (int k = t->rank - 1; k >= 0; k--) {
    s[k] = acc;
    acc *= t->dims[k];
  }
}

/* Advances a row-major multi-index over dims; returns 0 after the last element. */
static int next_index(int64_t *idx, const int64_t *dims, int rank) {
  for (int k = rank - 1; k >= 0; k--) {
    if (++idx[k] < dims[k]) return 1;
    idx[k] = 0;
  }
  return 0;
}

int eck_ref_gather(const void *params, const eck_tensor *in, int n_in, eck_tensor *out,
                   int n_out, void *scratch) {
  (void)n_in; (void)n_out; (void)scratch;
  const eck_axis_params *p = params;
  const eck_tensor *x = &in[0], *ind = &in[1];
  size_t size = eck_dtype_size(x->dtype);
  int64_t outer = 1, inner = 1, d = x->dims[p->axis], m = eck_numel(ind);
  for (int k = 0; k < p->axis; k++) outer *= x->dims[k];
  for (int k = p->axis + 1; k < x->rank; k++) inner *= x->dims[k];
  size_t block = (size_t)inner * size;
  char *o = out[0].data;
  for (int64_t a = 0; a < outer; a++)
    for (int64_t j = 0; j < m; j++) {
      int64_t v;
      if (eck_load_index(ind, j, d, &v)) return ECK_ERR_INDEX;
      if (block) memcpy(o, (const char *)x->data + (size_t)(a * d + v) * block, block);
      o += block;
    }
  return ECK_OK;
}

int eck_ref_gather_elements(const void *params, const eck_tensor *in, int n_in, eck_tensor *out,
                            int n_out, void *scratch) {
  (void)n_in; (void)n_out; (void)scratch;
  const eck_axis_params *p = params;
  const eck_tensor *x = &in[0], *ind = &in[1];
  size_t size = eck_dtype_size(x->dtype);
  int64_t xs[ECK_MAX_RANK], idx[ECK_MAX_RANK] = {0}, n = eck_numel(ind);
  strides_of(x, xs);
  for (int64_t i = 0; i < n; i++) {
    int64_t v, off = 0;
    if (eck_load_index(ind, i, x->dims[p->axis], &v)) return ECK_ERR_INDEX;
    for (int k = 0; k < x->rank; k++) off += (k == p->axis ? v : idx[k]) * xs[k];
    eck_copy_elem(out[0].data, i, x->data, off, size);
    next_index(idx, ind->dims, ind->rank);
  }
  return ECK_OK;
}

/* Shared walk of GatherND/ScatterND: for each index tuple, the data offset of its block. */
static int nd_offset(const eck_tensor *x, const eck_tensor *ind, int batch_dims, int64_t t,
                     int64_t batch, const int64_t *xs, int64_t *off) {
  int m = (int)ind->dims[ind->rank - 1];
  int64_t o = batch;
  for (int k = 0; k < m; k++) {
    int64_t v;
    if (eck_load_index(ind, t * m + k, x->dims[batch_dims + k], &v)) return ECK_ERR_INDEX;
    o += v * xs[batch_dims + k];
  }
  *off = o;
  return ECK_OK;
}

int eck_ref_gather_nd(const void *params, const eck_tensor *in, int n_in, eck_tensor *out,
                      int n_out, void *scratch) {
  (void)n_in; (void)n_out; (void)scratch;
  const eck_gathernd_params *p = params;
  const eck_tensor *x = &in[0], *ind = &in[1];
  int b = p->batch_dims, q = ind->rank, m = (int)ind->dims[q - 1];
  size_t size = eck_dtype_size(x->dtype);
  int64_t xs[ECK_MAX_RANK], nb = 1, per = 1, block = 1;
  strides_of(x, xs);
  for (int k = 0; k < b; k++) nb *= x->dims[k];
  for (int k = b; k < q - 1; k++) per *= ind->dims[k];
  for (int k = b + m; k < x->rank; k++) block *= x->dims[k];
  int64_t batch_stride = b ? xs[b - 1] : 0;
  char *o = out[0].data;
  size_t bytes = (size_t)block * size;
  for (int64_t bi = 0; bi < nb; bi++)
    for (int64_t t = 0; t < per; t++) {
      int64_t off;
      if (nd_offset(x, ind, b, bi * per + t, bi * batch_stride, xs, &off)) return ECK_ERR_INDEX;
      if (bytes) memcpy(o, (const char *)x->data + (size_t)off * size, bytes);
      o += bytes;
    }
  return ECK_OK;
}

int eck_ref_scatter_elements(const void *params, const eck_tensor *in, int n_in, eck_tensor *out,
                             int n_out, void *scratch) {
  (void)n_in; (void)n_out; (void)scratch;
  const eck_scatter_params *p = params;
  const eck_tensor *x = &in[0], *ind = &in[1], *upd = &in[2];
  size_t size = eck_dtype_size(x->dtype);
  if (out[0].data != x->data) memmove(out[0].data, x->data, (size_t)eck_numel(x) * size);
  int64_t xs[ECK_MAX_RANK], idx[ECK_MAX_RANK] = {0}, n = eck_numel(ind);
  strides_of(x, xs);
  for (int64_t i = 0; i < n; i++) {
    int64_t v, off = 0;
    if (eck_load_index(ind, i, x->dims[p->axis], &v)) return ECK_ERR_INDEX;
    for (int k = 0; k < x->rank; k++) off += (k == p->axis ? v : idx[k]) * xs[k];
    eck_combine_elem(out[0].data, off, upd->data, i, x->dtype, p->reduction);
    next_index(idx, ind->dims, ind->rank);
  }
  return ECK_OK;
}

int eck_ref_scatter_nd(const void *params, const eck_tensor *in, int n_in, eck_tensor *out,
                       int n_out, void *scratch) {
  (void)n_in; (void)n_out; (void)scratch;
  const eck_scatter_params *p = params;
  const eck_tensor *x = &in[0], *ind = &in[1], *upd = &in[2];
  int q = ind->rank, m = (int)ind->dims[q - 1];
  size_t size = eck_dtype_size(x->dtype);
  if (out[0].data != x->data) memmove(out[0].data, x->data, (size_t)eck_numel(x) * size);
  int64_t xs[ECK_MAX_RANK], per = 1, block = 1;
  strides_of(x, xs);
  for (int k = 0; k < q - 1; k++) per *= ind->dims[k];
  for (int k = m; k < x->rank; k++) block *= x->dims[k];
  for (int64_t t = 0; t < per; t++) {
    int64_t off;
    if (nd_offset(x, ind, 0, t, 0, xs, &off)) return ECK_ERR_INDEX;
    for (int64_t e = 0; e < block; e++)
      eck_combine_elem(out[0].data, off + e, upd->data, t * block + e, x->dtype, p->reduction);
  }
  return ECK_OK;
}

int eck_ref_onehot(const void *params, const eck_tensor *in, int n_in, eck_tensor *out,
                   int n_out, void *scratch) {
  (void)n_in; (void)n_out; (void)scratch;
  const eck_onehot_params *p = params;
  const eck_tensor *ind = &in[0], *val = &in[2];
  size_t size = eck_dtype_size(out[0].dtype);
  int64_t depth = out[0].dims[p->axis], outer = 1, inner = 1;
  for (int k = 0; k < p->axis; k++) outer *= out[0].dims[k];
  for (int k = p->axis + 1; k < out[0].rank; k++) inner *= out[0].dims[k];
  int64_t i = 0;
  for (int64_t a = 0; a < outer; a++)
    for (int64_t d = 0; d < depth; d++)
      for (int64_t c = 0; c < inner; c++, i++) {
        int64_t v, hit = eck_load_index(ind, a * inner + c, depth, &v) == ECK_OK && v == d;
        eck_copy_elem(out[0].data, i, val->data, hit, size);
      }
  return ECK_OK;
}

/* a before b in TopK order (ties: smaller index first). */
static int topk_before(const eck_tensor *x, int64_t a, int64_t b, int largest) {
  int c = eck_cmp_elem(x->data, a, x->data, b, x->dtype);
  if (c == 0) return a < b;
  return largest ? c > 0 : c < 0;
}

int eck_ref_topk(const void *params, const eck_tensor *in, int n_in, eck_tensor *out, int n_out,
                 void *scratch) {
  const eck_topk_params *p = params;
  const eck_tensor *x = &in[0];
  size_t size = eck_dtype_size(x->dtype);
  int64_t outer = 1, inner = 1, d = x->dims[p->axis], k = out[0].dims[p->axis];
  /* K from the input when there is one (opset 10+): out[0].dims holds its bound, d. */
  if (n_in > 1 && in[1].data) {
    k = eck_load_i64(in[1].data, in[1].dtype, 0);
    if (k < 0 || k > d) return ECK_ERR_INDEX;
    if (k > out[0].dims[p->axis]) return ECK_ERR_BOUND;
    for (int o = 0; o < n_out; o++) out[o].dims[p->axis] = k;
  }
  for (int j = 0; j < p->axis; j++) outer *= x->dims[j];
  for (int j = p->axis + 1; j < x->rank; j++) inner *= x->dims[j];
  int64_t *buf = scratch, *tmp = buf + d;
  for (int64_t a = 0; a < outer; a++)
    for (int64_t c = 0; c < inner; c++) {
      int64_t base = a * d * inner + c;
      for (int64_t j = 0; j < d; j++) buf[j] = base + j * inner;
      /* bottom-up merge sort: stable, no allocation */
      for (int64_t w = 1; w < d; w *= 2) {
        for (int64_t lo = 0; lo < d; lo += 2 * w) {
          int64_t mid = lo + w < d ? lo + w : d, hi = lo + 2 * w < d ? lo + 2 * w : d;
          int64_t i = lo, j = mid, o = lo;
          while (i < mid && j < hi) tmp[o++] = topk_before(x, buf[j], buf[i], p->largest) ? buf[j++] : buf[i++];
          while (i < mid) tmp[o++] = buf[i++];
          while (j < hi) tmp[o++] = buf[j++];
        }
        memcpy(buf, tmp, sizeof(int64_t) * (size_t)d);
      }
      for (int64_t j = 0; j < k; j++) {
        int64_t o = a * k * inner + j * inner + c;
        eck_copy_elem(out[0].data, o, x->data, buf[j], size);
        if (n_out > 1 && out[1].data) ((int64_t *)out[1].data)[o] = (buf[j] - base) / inner;
      }
    }
  return ECK_OK;
}

int eck_ref_compress(const void *params, const eck_tensor *in, int n_in, eck_tensor *out,
                     int n_out, void *scratch) {
  (void)n_in; (void)n_out; (void)scratch;
  const eck_compress_params *p = params;
  const eck_tensor *x = &in[0], *cond = &in[1];
  size_t size = eck_dtype_size(x->dtype);
  const uint8_t *c = cond->data;
  int64_t nc = eck_numel(cond), limit = p->axis < 0 ? eck_numel(x) : x->dims[p->axis], kept = 0;
  for (int64_t i = 0; i < limit && i < nc; i++) kept += c[i] != 0;
  /* out[0].dims holds the bound along the selected axis; the extent is the kept count. */
  int oa = p->axis < 0 ? 0 : p->axis;
  if (kept > out[0].dims[oa]) return ECK_ERR_BOUND;
  out[0].dims[oa] = kept;
  if (p->axis < 0) {
    int64_t n = eck_numel(x), o = 0;
    for (int64_t i = 0; i < n && i < nc; i++)
      if (c[i]) eck_copy_elem(out[0].data, o++, x->data, i, size);
    return ECK_OK;
  }
  int64_t outer = 1, inner = 1, d = x->dims[p->axis];
  for (int k = 0; k < p->axis; k++) outer *= x->dims[k];
  for (int k = p->axis + 1; k < x->rank; k++) inner *= x->dims[k];
  char *o = out[0].data;
  size_t block = (size_t)inner * size;
  for (int64_t a = 0; a < outer; a++)
    for (int64_t j = 0; j < d && j < nc; j++)
      if (c[j]) {
        memcpy(o, (const char *)x->data + (size_t)(a * d + j) * block, block);
        o += block;
      }
  return ECK_OK;
}

int eck_ref_nonzero(const void *params, const eck_tensor *in, int n_in, eck_tensor *out,
                    int n_out, void *scratch) {
  (void)params; (void)n_in; (void)n_out; (void)scratch;
  const eck_tensor *x = &in[0];
  int r = x->rank;
  int64_t n = eck_numel(x), nnz = 0, idx[ECK_MAX_RANK] = {0}, j = 0;
  int64_t *o = out[0].data;
  unsigned char zero[16] = {0};
  /* Counted first: the output is [rank, nnz] row-major, so nnz fixes where each row starts.
   * out[0].dims[1] holds the bound (every element of X). */
  for (int64_t i = 0; i < n; i++) nnz += eck_cmp_elem(x->data, i, zero, 0, x->dtype) != 0;
  if (nnz > out[0].dims[1]) return ECK_ERR_BOUND;
  out[0].dims[1] = nnz;
  for (int64_t i = 0; i < n; i++) {
    if (eck_cmp_elem(x->data, i, zero, 0, x->dtype) != 0) {
      for (int k = 0; k < r; k++) o[k * nnz + j] = idx[k];
      if (r == 0) o[j] = 0;
      j++;
    }
    next_index(idx, x->dims, r);
  }
  return ECK_OK;
}

/* Unique works on "slices": whole elements when flattened, sub-tensors along axis otherwise.
 * Quadratic and allocation-free: each slice's rank among the distinct slices is counted. */
typedef struct {
  const eck_tensor *x;
  int64_t outer, d, inner;
} slices;

static int cmp_slice(const slices *s, int64_t a, int64_t b) {
  for (int64_t o = 0; o < s->outer; o++)
    for (int64_t c = 0; c < s->inner; c++) {
      int64_t i = (o * s->d + a) * s->inner + c, j = (o * s->d + b) * s->inner + c;
      int r = eck_cmp_elem(s->x->data, i, s->x->data, j, s->x->dtype);
      if (r) return r;
    }
  return 0;
}

static int64_t first_of(const slices *s, int64_t a) {
  for (int64_t j = 0; j < a; j++)
    if (cmp_slice(s, j, a) == 0) return j;
  return a;
}

/* Position of the distinct slice a (a first occurrence) in the output. */
static int64_t unique_rank(const slices *s, int64_t a, int sorted) {
  int64_t r = 0;
  for (int64_t j = 0; j < s->d; j++) {
    if (first_of(s, j) != j) continue;
    if (sorted ? cmp_slice(s, j, a) < 0 : j < a) r++;
  }
  return r;
}

int eck_ref_unique(const void *params, const eck_tensor *in, int n_in, eck_tensor *out,
                   int n_out, void *scratch) {
  (void)n_in; (void)scratch;
  const eck_unique_params *p = params;
  slices s = {&in[0], 1, eck_numel(&in[0]), 1};
  if (p->axis >= 0) {
    s.d = in[0].dims[p->axis];
    for (int k = 0; k < p->axis; k++) s.outer *= in[0].dims[k];
    for (int k = p->axis + 1; k < in[0].rank; k++) s.inner *= in[0].dims[k];
  }
  size_t size = eck_dtype_size(in[0].dtype);
  int ya = p->axis >= 0 ? p->axis : 0;
  int64_t nu = 0;
  /* out[0].dims[ya] (and out[1], out[3]'s only dim) hold the bound: every slice distinct. */
  for (int64_t a = 0; a < s.d; a++) nu += first_of(&s, a) == a;
  if (nu > out[0].dims[ya]) return ECK_ERR_BOUND;
  out[0].dims[ya] = nu;
  if (n_out > 1) out[1].dims[0] = nu;
  if (n_out > 3) out[3].dims[0] = nu;
  for (int64_t a = 0; a < s.d; a++) {
    int64_t f = first_of(&s, a), r = unique_rank(&s, f, p->sorted);
    if (r >= nu) return ECK_ERR_ARG;
    if (n_out > 2 && out[2].data) ((int64_t *)out[2].data)[a] = r;
    if (f != a) {
      if (n_out > 3 && out[3].data) ((int64_t *)out[3].data)[r]++;
      continue;
    }
    if (n_out > 1 && out[1].data) ((int64_t *)out[1].data)[r] = a;
    if (n_out > 3 && out[3].data) ((int64_t *)out[3].data)[r] = 1;
    for (int64_t o = 0; o < s.outer; o++)
      for (int64_t c = 0; c < s.inner; c++)
        eck_copy_elem(out[0].data, (o * nu + r) * s.inner + c, in[0].data,
                      (o * s.d + a) * s.inner + c, size);
  }
  return ECK_OK;
}

int eck_ref_reverse_sequence(const void *params, const eck_tensor *in, int n_in, eck_tensor *out,
                             int n_out, void *scratch) {
  (void)n_in; (void)n_out; (void)scratch;
  const eck_revseq_params *p = params;
  const eck_tensor *x = &in[0];
  size_t size = eck_dtype_size(x->dtype);
  int64_t xs[ECK_MAX_RANK], idx[ECK_MAX_RANK] = {0}, n = eck_numel(x);
  int64_t tmax = x->dims[p->time_axis];
  strides_of(x, xs);
  for (int64_t i = 0; i < n; i++) {
    int64_t len = eck_load_i64(in[1].data, in[1].dtype, idx[p->batch_axis]);
    if (len < 0 || len > tmax) return ECK_ERR_INDEX;
    int64_t t = idx[p->time_axis], src = i;
    if (t < len) src = i + (len - 1 - 2 * t) * xs[p->time_axis];
    eck_copy_elem(out[0].data, i, x->data, src, size);
    next_index(idx, x->dims, x->rank);
  }
  return ECK_OK;
}
