/* eck_ref_tensor.h — reference kernels of the tensor family: shape manipulation, indexing,
 * reductions and generators. Shapes come from the eck_tensor views; params hold the rest. */
#ifndef ECK_REF_TENSOR_H
#define ECK_REF_TENSOR_H
#include "eck_tensor.h"

/* ---- dtype helpers shared by the tensor kernels (tensor_common.c) ---------------------------- */
/* Copies element src[j] into dst[i] (same dtype, `size` bytes each). */
void eck_copy_elem(void *dst, int64_t i, const void *src, int64_t j, size_t size);
/* Compares a[i] with b[j] exactly for the dtype: -1, 0 or 1 (NaN compares equal). */
int eck_cmp_elem(const void *a, int64_t i, const void *b, int64_t j, int32_t dtype);
/* dst[i] = reduce(dst[i], src[j]) with an eck_scatter_red (NONE copies). */
void eck_combine_elem(void *dst, int64_t i, const void *src, int64_t j, int32_t dtype, int red);
/* Index t[i] (any int or float dtype) made non-negative against dim; ECK_ERR_INDEX if outside. */
int eck_load_index(const eck_tensor *t, int64_t i, int64_t dim, int64_t *out);

/* ---- shape ops (tensor_shape.c) ------------------------------------------------------------- */
typedef struct eck_shape_params {
  int32_t start; /* first dimension reported (already clamped to [0, rank]) */
} eck_shape_params;

typedef struct eck_transpose_params {
  int32_t perm[ECK_MAX_RANK]; /* output dim k is input dim perm[k] */
} eck_transpose_params;

typedef struct eck_axis_params {
  int32_t axis; /* normalised to [0, rank) */
} eck_axis_params;

/* Slice, normalised per input dimension: output element (i0..) reads input
 * (starts[k] + i_k * steps[k]); the output's dims give the counts. With n_run > 0 the starts and
 * ends are read at run time from in[1] and in[2] (int32 or int64, entry j on dimension axes[j]):
 * out[0].dims holds the bound on entry and receives the extent found (ECK_ERR_BOUND past it). */
typedef struct eck_slice_params {
  int64_t starts[ECK_MAX_RANK];
  int64_t steps[ECK_MAX_RANK];
  int32_t n_run;
  int32_t axes[ECK_MAX_RANK];
} eck_slice_params;

/* Slice's range on one dimension of extent d, as ONNX clamps it: *start (normalised, in range)
 * and the element count, which the caller returns. */
int64_t eck_slice_range(int64_t d, int64_t *start, int64_t end, int64_t step);

typedef enum eck_pad_mode { ECK_PAD_CONSTANT = 0, ECK_PAD_REFLECT = 1, ECK_PAD_EDGE = 2 } eck_pad_mode;
typedef struct eck_pad_params {
  int32_t mode;                    /* eck_pad_mode */
  int64_t pads[2 * ECK_MAX_RANK];  /* begin of each dim, then end of each dim (may be < 0) */
  int32_t has_value_input;         /* the constant comes from input 2 (else value below) */
  double value;                    /* constant for opsets before 11 */
} eck_pad_params;

typedef struct eck_gathernd_params {
  int32_t batch_dims;
} eck_gathernd_params;

typedef struct eck_const_params {
  uint64_t bits; /* the fill value's bytes (little-endian, output dtype's size) */
} eck_const_params;

/* ---- reductions (tensor_reduce.c) ----------------------------------------------------------- */
typedef enum eck_reduce_fn {
  ECK_REDUCE_SUM = 0,
  ECK_REDUCE_MEAN,
  ECK_REDUCE_MAX,
  ECK_REDUCE_MIN,
  ECK_REDUCE_PROD,
  ECK_REDUCE_L1,
  ECK_REDUCE_L2,
  ECK_REDUCE_LOGSUM,
  ECK_REDUCE_LOGSUMEXP,
  ECK_REDUCE_SUMSQUARE
} eck_reduce_fn;

typedef struct eck_reduce_params {
  int32_t fn;         /* eck_reduce_fn */
  uint32_t axes;      /* bit k: input dim k is reduced */
} eck_reduce_params;

typedef struct eck_arg_params {
  int32_t axis;
  int32_t is_min;
  int32_t select_last;
} eck_arg_params;

/* CumSum's axis, normalised, or ECK_AXIS_AT_RUN_TIME: read from input 1 on every run (an axis
 * out of range is then ECK_ERR_INDEX). */
#define ECK_AXIS_AT_RUN_TIME (-1)
typedef struct eck_cumsum_params {
  int32_t axis;
  int32_t exclusive;
  int32_t reverse;
} eck_cumsum_params;

/* ---- indexing (tensor_index.c) ------------------------------------------------------------- */
typedef enum eck_scatter_red {
  ECK_SCATTER_NONE = 0,
  ECK_SCATTER_ADD,
  ECK_SCATTER_MUL,
  ECK_SCATTER_MAX,
  ECK_SCATTER_MIN
} eck_scatter_red;

typedef struct eck_scatter_params {
  int32_t axis;      /* ScatterElements only */
  int32_t reduction; /* eck_scatter_red */
} eck_scatter_params;

typedef struct eck_topk_params {
  int32_t axis;
  int32_t largest;
  int32_t sorted;
} eck_topk_params;

typedef struct eck_onehot_params {
  int32_t axis;  /* of the output, normalised */
} eck_onehot_params;

typedef struct eck_revseq_params {
  int32_t batch_axis;
  int32_t time_axis;
} eck_revseq_params;

typedef struct eck_compress_params {
  int32_t axis; /* -1: flatten first */
} eck_compress_params;

typedef struct eck_unique_params {
  int32_t axis;   /* -1: flattened */
  int32_t sorted;
} eck_unique_params;

/* ---- generators (tensor_gen.c) -------------------------------------------------------------- */
typedef struct eck_eyelike_params {
  int64_t k;
} eck_eyelike_params;

typedef struct eck_trilu_params {
  int32_t upper;
} eck_trilu_params;

typedef enum eck_window_fn { ECK_WIN_HANN = 0, ECK_WIN_HAMMING, ECK_WIN_BLACKMAN } eck_window_fn;
typedef struct eck_window_params {
  int32_t fn;
  int32_t periodic;
} eck_window_params;

typedef enum eck_random_fn { ECK_RANDOM_UNIFORM = 0, ECK_RANDOM_NORMAL, ECK_RANDOM_BERNOULLI } eck_random_fn;
typedef struct eck_random_params {
  int32_t fn;      /* eck_random_fn */
  float a, b;      /* low/high or mean/scale */
  uint64_t seed;
} eck_random_params;

typedef struct eck_dft_params {
  int32_t axis;     /* of the signal (input without the trailing complex dim) */
  int32_t inverse;
  int32_t onesided;
  int64_t length;   /* transform length (input is cut or zero-padded to it) */
} eck_dft_params;

typedef struct eck_stft_params {
  int32_t onesided;
  int64_t step;
  int64_t frame;    /* frame length */
} eck_stft_params;

typedef struct eck_mel_params {
  int64_t num_mel_bins, dft_length, sample_rate;
  double lower_hz, upper_hz;
} eck_mel_params;

#define ECK_REF_DECL(name) \
  int name(const void *p, const eck_tensor *in, int n_in, eck_tensor *out, int n_out, void *scratch);
ECK_REF_DECL(eck_ref_shape)
ECK_REF_DECL(eck_ref_size)
ECK_REF_DECL(eck_ref_reshape)
ECK_REF_DECL(eck_ref_transpose)
ECK_REF_DECL(eck_ref_concat)
ECK_REF_DECL(eck_ref_split)
ECK_REF_DECL(eck_ref_slice)
ECK_REF_DECL(eck_ref_expand)
ECK_REF_DECL(eck_ref_tile)
ECK_REF_DECL(eck_ref_pad)
ECK_REF_DECL(eck_ref_gather)
ECK_REF_DECL(eck_ref_gather_elements)
ECK_REF_DECL(eck_ref_gather_nd)
ECK_REF_DECL(eck_ref_scatter_elements)
ECK_REF_DECL(eck_ref_scatter_nd)
ECK_REF_DECL(eck_ref_onehot)
ECK_REF_DECL(eck_ref_topk)
ECK_REF_DECL(eck_ref_compress)
ECK_REF_DECL(eck_ref_nonzero)
ECK_REF_DECL(eck_ref_unique)
ECK_REF_DECL(eck_ref_reverse_sequence)
ECK_REF_DECL(eck_ref_reduce)
ECK_REF_DECL(eck_ref_arg)
ECK_REF_DECL(eck_ref_cumsum)
ECK_REF_DECL(eck_ref_constant_of_shape)
ECK_REF_DECL(eck_ref_range)
ECK_REF_DECL(eck_ref_eyelike)
ECK_REF_DECL(eck_ref_trilu)
ECK_REF_DECL(eck_ref_window)
ECK_REF_DECL(eck_ref_random)
ECK_REF_DECL(eck_ref_det)
ECK_REF_DECL(eck_ref_dft)
ECK_REF_DECL(eck_ref_stft)
ECK_REF_DECL(eck_ref_mel)
#undef ECK_REF_DECL

#endif
