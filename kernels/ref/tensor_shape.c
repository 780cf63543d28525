/* tensor_shape.c — reference kernels that move elements without arithmetic: Shape, Size,
 * Reshape, Transpose, Concat, Split, Slice, Expand, Tile, Pad. Byte copies, so every dtype. */
#include <string.h>

#include "eck_ref.h"

/* Row-major element strides of `t`. */
static void strides_of(const eck_tensor *t, int64_t *s) {
  int64_t acc = 1;
  for (int k = t->rank - 1; k >= 0; k--) {
    s[k] = acc;
    acc *= t->dims[k];
  }
}

/* Writes the output contiguously from src element (base + sum idx_k * st_k). A contiguous
 * innermost dimension is copied as one block: Slice, Concat-like and Expand rows stay memcpy.
 * A strided one (a Transpose that swaps the last axes: attention's Kᵀ) is walked element by
 * element, 4-byte elements by a copy of constant size (one move), not a memcpy call each. */
static void gather_strided(void *dst, const void *src, size_t size, int rank, const int64_t *dims,
                           const int64_t *st, int64_t base) {
  int64_t n = 1, idx[ECK_MAX_RANK] = {0}, off = base;
  for (int k = 0; k < rank; k++) n *= dims[k];
  if (n == 0) return;
  int64_t run = 1, inner = 1, step = 0;
  if (rank > 0 && st[rank - 1] == 1) {
    run = dims[rank - 1];
    rank--;
  } else if (rank > 0) {
    inner = dims[rank - 1];
    step = st[rank - 1];
    rank--;
  }
  size_t bytes = (size_t)run * size;
  char *o = dst;
  for (int64_t i = 0; i < n; i += run * inner) {
    if (inner > 1 && size == 4) { /* a constant size: the compiler makes each copy one move */
      for (int64_t j = 0; j < inner; j++, o += 4) memcpy(o, (const char *)src + (size_t)(off + j * step) * 4, 4);
    } else {
      for (int64_t j = 0; j < inner; j++, o += bytes)
        memcpy(o, (const char *)src + (size_t)(off + j * step) * size, bytes);
    }
    for (int k = rank - 1; k >= 0; k--) {
      off += st[k];
      if (++idx[k] < dims[k]) break;
      off -= st[k] * idx[k];
      idx[k] = 0;
    }
  }
}

int eck_ref_shape(const void *params, const eck_tensor *in, int n_in, eck_tensor *out, int n_out,
                  void *scratch) {
  (void)n_in; (void)n_out; (void)scratch;
  const eck_shape_params *p = params;
  int64_t *o = out[0].data;
  for (int64_t k = 0; k < out[0].dims[0]; k++) o[k] = in[0].dims[p->start + k];
  return ECK_OK;
}

int eck_ref_size(const void *params, const eck_tensor *in, int n_in, eck_tensor *out, int n_out,
                 void *scratch) {
  (void)params; (void)n_in; (void)n_out; (void)scratch;
  *(int64_t *)out[0].data = eck_numel(&in[0]);
  return ECK_OK;
}

int eck_ref_reshape(const void *params, const eck_tensor *in, int n_in, eck_tensor *out,
                    int n_out, void *scratch) {
  (void)params; (void)n_in; (void)n_out; (void)scratch;
  size_t bytes = (size_t)eck_numel(&out[0]) * eck_dtype_size(out[0].dtype);
  if (bytes && out[0].data != in[0].data) memmove(out[0].data, in[0].data, bytes);
  return ECK_OK;
}

int eck_ref_transpose(const void *params, const eck_tensor *in, int n_in, eck_tensor *out,
                      int n_out, void *scratch) {
  (void)n_in; (void)n_out; (void)scratch;
  const eck_transpose_params *p = params;
  int64_t is[ECK_MAX_RANK], st[ECK_MAX_RANK];
  strides_of(&in[0], is);
  for (int k = 0; k < out[0].rank; k++) st[k] = is[p->perm[k]];
  gather_strided(out[0].data, in[0].data, eck_dtype_size(in[0].dtype), out[0].rank, out[0].dims,
                 st, 0);
  return ECK_OK;
}

/* outer = product of dims before axis, inner = after it (in elements). */
static void split_dims(const eck_tensor *t, int axis, int64_t *outer, int64_t *inner) {
  *outer = 1;
  *inner = 1;
  for (int k = 0; k < axis; k++) *outer *= t->dims[k];
  for (int k = axis + 1; k < t->rank; k++) *inner *= t->dims[k];
}

int eck_ref_concat(const void *params, const eck_tensor *in, int n_in, eck_tensor *out,
                   int n_out, void *scratch) {
  (void)n_out; (void)scratch;
  const eck_axis_params *p = params;
  size_t size = eck_dtype_size(out[0].dtype);
  int64_t outer, inner;
  split_dims(&out[0], p->axis, &outer, &inner);
  size_t row = (size_t)(out[0].dims[p->axis] * inner) * size;
  size_t at = 0;
  for (int j = 0; j < n_in; j++) {
    if (!in[j].data || in[j].rank == 0) continue;
    size_t chunk = (size_t)(in[j].dims[p->axis] * inner) * size;
    if (!chunk) continue;
    for (int64_t o = 0; o < outer; o++)
      memcpy((char *)out[0].data + (size_t)o * row + at, (const char *)in[j].data + (size_t)o * chunk,
             chunk);
    at += chunk;
  }
  return ECK_OK;
}

int eck_ref_split(const void *params, const eck_tensor *in, int n_in, eck_tensor *out, int n_out,
                  void *scratch) {
  (void)n_in; (void)scratch;
  const eck_axis_params *p = params;
  size_t size = eck_dtype_size(in[0].dtype);
  int64_t outer, inner;
  split_dims(&in[0], p->axis, &outer, &inner);
  size_t row = (size_t)(in[0].dims[p->axis] * inner) * size;
  size_t at = 0;
  for (int j = 0; j < n_out; j++) {
    if (out[j].rank == 0 && !out[j].data) continue;
    size_t chunk = (size_t)(out[j].dims[p->axis] * inner) * size;
    if (out[j].data && chunk)
      for (int64_t o = 0; o < outer; o++)
        memcpy((char *)out[j].data + (size_t)o * chunk, (const char *)in[0].data + (size_t)o * row + at,
               chunk);
    at += chunk;
  }
  return ECK_OK;
}

int64_t eck_slice_range(int64_t d, int64_t *start, int64_t end, int64_t step) {
  int64_t s = *start, e = end, len;
  if (s < 0) s += d;
  if (e < 0) e += d;
  if (step > 0) {
    s = s < 0 ? 0 : s > d ? d : s;
    e = e < 0 ? 0 : e > d ? d : e;
    len = e > s ? (e - s + step - 1) / step : 0;
  } else {
    s = s < 0 ? -1 : s > d - 1 ? d - 1 : s;
    e = e < -1 ? -1 : e > d - 1 ? d - 1 : e;
    len = s > e ? (s - e + (-step) - 1) / (-step) : 0;
  }
  *start = len ? s : 0;
  return len;
}

/* Entry j of an int32 or int64 operand. */
static int64_t int_at(const eck_tensor *t, int64_t j) {
  if (t->dtype == ECK_INT32) return ((const int32_t *)t->data)[j];
  return ((const int64_t *)t->data)[j];
}

int eck_ref_slice(const void *params, const eck_tensor *in, int n_in, eck_tensor *out, int n_out,
                  void *scratch) {
  (void)n_out; (void)scratch;
  const eck_slice_params *p = params;
  int64_t is[ECK_MAX_RANK], st[ECK_MAX_RANK], base = 0, starts[ECK_MAX_RANK];
  memcpy(starts, p->starts, sizeof starts);
  if (p->n_run > 0) { /* starts and ends known only now: the extent is found here */
    if (n_in < 3 || eck_numel(&in[1]) != p->n_run || eck_numel(&in[2]) != p->n_run ||
        (in[1].dtype != ECK_INT32 && in[1].dtype != ECK_INT64) ||
        (in[2].dtype != ECK_INT32 && in[2].dtype != ECK_INT64))
      return ECK_ERR_ARG;
    for (int32_t j = 0; j < p->n_run; j++) {
      int a = p->axes[j];
      int64_t s = int_at(&in[1], j);
      int64_t len = eck_slice_range(in[0].dims[a], &s, int_at(&in[2], j), p->steps[a]);
      if (len > out[0].dims[a]) return ECK_ERR_BOUND;
      out[0].dims[a] = len;
      starts[a] = s;
    }
  }
  strides_of(&in[0], is);
  for (int k = 0; k < in[0].rank; k++) {
    st[k] = p->steps[k] * is[k];
    base += starts[k] * is[k];
  }
  if (eck_numel(&out[0]) == 0) return ECK_OK;
  gather_strided(out[0].data, in[0].data, eck_dtype_size(in[0].dtype), out[0].rank, out[0].dims,
                 st, base);
  return ECK_OK;
}

int eck_ref_expand(const void *params, const eck_tensor *in, int n_in, eck_tensor *out,
                   int n_out, void *scratch) {
  (void)params; (void)n_in; (void)n_out; (void)scratch;
  int64_t st[ECK_MAX_RANK];
  eck_broadcast_strides(&in[0], out[0].rank, out[0].dims, st);
  gather_strided(out[0].data, in[0].data, eck_dtype_size(in[0].dtype), out[0].rank, out[0].dims,
                 st, 0);
  return ECK_OK;
}

int eck_ref_tile(const void *params, const eck_tensor *in, int n_in, eck_tensor *out, int n_out,
                 void *scratch) {
  (void)params; (void)n_in; (void)n_out; (void)scratch;
  int r = out[0].rank;
  size_t size = eck_dtype_size(in[0].dtype);
  int64_t is[ECK_MAX_RANK], idx[ECK_MAX_RANK] = {0}, off = 0, n = eck_numel(&out[0]);
  strides_of(&in[0], is);
  for (int64_t i = 0; i < n; i++) {
    eck_copy_elem(out[0].data, i, in[0].data, off, size);
    for (int k = r - 1; k >= 0; k--) {
      idx[k]++;
      off += is[k];
      if (idx[k] % in[0].dims[k] == 0) off -= is[k] * in[0].dims[k];
      if (idx[k] < out[0].dims[k]) break;
      idx[k] = 0;
    }
  }
  return ECK_OK;
}

/* Source index along one dim for output index i, or -1 for the constant. */
static int64_t pad_src(int mode, int64_t i, int64_t begin, int64_t d) {
  int64_t j = i - begin;
  if (j >= 0 && j < d) return j;
  if (mode == ECK_PAD_CONSTANT || d == 0) return -1;
  if (mode == ECK_PAD_EDGE) return j < 0 ? 0 : d - 1;
  if (d == 1) return 0;
  int64_t period = 2 * (d - 1);
  j %= period;
  if (j < 0) j += period;
  return j < d ? j : period - j;
}

int eck_ref_pad(const void *params, const eck_tensor *in, int n_in, eck_tensor *out, int n_out,
                void *scratch) {
  (void)n_out; (void)scratch;
  const eck_pad_params *p = params;
  int r = out[0].rank;
  size_t size = eck_dtype_size(out[0].dtype);
  unsigned char value[16] = {0};
  if (p->has_value_input && n_in > 2 && in[2].data && eck_numel(&in[2]) > 0)
    memcpy(value, in[2].data, size);
  else if (!p->has_value_input)
    eck_store_f64(value, out[0].dtype, 0, p->value);
  int64_t is[ECK_MAX_RANK], idx[ECK_MAX_RANK] = {0}, n = eck_numel(&out[0]);
  strides_of(&in[0], is);
  for (int64_t i = 0; i < n; i++) {
    int64_t off = 0;
    int k;
    for (k = 0; k < r; k++) {
      int64_t j = pad_src(p->mode, idx[k], p->pads[k], in[0].dims[k]);
      if (j < 0) break;
      off += j * is[k];
    }
    if (k < r)
      memcpy((char *)out[0].data + (size_t)i * size, value, size);
    else
      eck_copy_elem(out[0].data, i, in[0].data, off, size);
    for (k = r - 1; k >= 0; k--) {
      if (++idx[k] < out[0].dims[k]) break;
      idx[k] = 0;
    }
  }
  return ECK_OK;
}
