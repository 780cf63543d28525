/* eck_ref_nn.h — reference kernels of the neural-network family: convolution, pooling,
 * Gemm/MatMul, normalisation, softmax, resize, recurrent nets, losses. Params hold attributes
 * already resolved by the compiler (pads computed, axes normalised); shapes come from the views. */
#ifndef ECK_REF_NN_H
#define ECK_REF_NN_H
#include <math.h>
#include <stddef.h>

#include "eck_tensor.h"

/* Spatial attributes of Conv-like and pooling ops, always stored as 3-D (depth, height,
 * width): an op with fewer spatial dims has leading entries kernel 1, stride 1, dilation 1,
 * pads 0. */
#define ECK_SP 3
typedef struct eck_conv_params {
  int32_t nsp;                  /* spatial dims of the op (1..3) */
  int32_t group;
  int64_t kernel[ECK_SP], strides[ECK_SP], dilations[ECK_SP];
  int64_t pad_begin[ECK_SP], pad_end[ECK_SP];
} eck_conv_params;

typedef enum eck_pool_kind { ECK_POOL_MAX = 0, ECK_POOL_AVG = 1, ECK_POOL_LP = 2 } eck_pool_kind;
typedef struct eck_pool_params {
  int32_t kind;                 /* eck_pool_kind */
  int32_t nsp;
  int32_t count_include_pad;    /* AveragePool */
  int32_t storage_order;        /* MaxPool Indices: 0 row-major, 1 column-major */
  int32_t p;                    /* LpPool norm */
  int64_t kernel[ECK_SP], strides[ECK_SP], dilations[ECK_SP];
  int64_t pad_begin[ECK_SP], pad_end[ECK_SP];
} eck_pool_params;

typedef struct eck_gemm_params {
  float alpha, beta;
  int32_t trans_a, trans_b;
} eck_gemm_params;

/* StridedMatMul (edgecc's own op, domain com.edgecc, made by the graph pass `matmul-transpose`):
 * Y = Transpose(MatMul(Transpose(A, perm_a), Transpose(B, perm_b)), perm_y), each operand read and
 * the result written through the permutation (no copy): perm_a has A's rank, perm_b B's, perm_y
 * Y's, each the identity where no Transpose was folded. Operands of rank >= 2. */
typedef struct eck_strided_matmul_params {
  int32_t perm_a[ECK_MAX_RANK], perm_b[ECK_MAX_RANK], perm_y[ECK_MAX_RANK];
} eck_strided_matmul_params;

/* A StridedMatMul's geometry in element strides: the batch dims of the product (numpy-broadcast,
 * stride 0 where an operand has 1), and per matrix the strides of A's rows and columns (M x K),
 * B's (K x N) and Y's (M x N). */
typedef struct eck_smm_geometry {
  int nb;
  int64_t batches, M, N, K;
  int64_t bdims[ECK_MAX_RANK], sa[ECK_MAX_RANK], sb[ECK_MAX_RANK], sy[ECK_MAX_RANK];
  int64_t sam, sak, sbk, sbn, sym, syn;
} eck_smm_geometry;
/* Fills g from the stored tensors a, b, y; ECK_ERR_ARG when the shapes do not agree. */
int eck_smm_geometry_of(const eck_strided_matmul_params *p, const eck_tensor *a, const eck_tensor *b,
                        const eck_tensor *y, eck_smm_geometry *g);
/* Element offsets of batch bi (0 .. batches - 1) in A, B and Y. */
void eck_smm_offsets(const eck_smm_geometry *g, int64_t bi, int64_t *oa, int64_t *ob, int64_t *oy);

/* Softmax, LogSoftmax, Hardmax. flatten: opsets < 13 normalise over all dims from `axis` on;
 * later opsets over the single dim `axis`. */
typedef enum eck_softmax_fn { ECK_SOFTMAX = 0, ECK_LOGSOFTMAX = 1, ECK_HARDMAX = 2 } eck_softmax_fn;
typedef struct eck_softmax_params {
  int32_t fn;
  int32_t axis;
  int32_t flatten;
} eck_softmax_params;

typedef struct eck_batchnorm_params {
  float epsilon, momentum;
  int32_t training;             /* use batch statistics; outputs 1, 2 get running stats */
} eck_batchnorm_params;

/* Inference BatchNormalization of channels c0 .. c0 + nc - 1 folded into y = x * a[k] + b[k]
 * (a = scale / sqrt(var + eps), b = bias - mean * a, in double as eck_ref_batchnorm computes, then
 * float): the fast NHWC kernels' per-channel factors (eck_xnn_batchnorm_nhwc, eck_dnnl_batchnorm_nhwc). */
static inline void eck_batchnorm_fold(const float *scale, const float *bias, const float *mean, const float *var,
                                      float eps, size_t c0, size_t nc, float *a, float *b) {
  for (size_t k = 0; k < nc; k++) {
    double s = (double)scale[c0 + k] / sqrt((double)var[c0 + k] + (double)eps);
    a[k] = (float)s;
    b[k] = (float)((double)bias[c0 + k] - (double)mean[c0 + k] * s);
  }
}

/* y = clamp(x * a[k] + b[k], lo, hi) for channels 0 .. nc - 1 of `pixels` NHWC pixels (strides in
 * elements; x and y already offset to the first channel): the fast NHWC BatchNormalizations'
 * loop, after eck_batchnorm_fold. */
static inline void eck_batchnorm_rows(const float *x, float *y, const float *a, const float *b, size_t pixels,
                                      size_t nc, size_t x_stride, size_t y_stride, float lo, float hi) {
  for (size_t p = 0; p < pixels; p++) {
    const float *xp = x + p * x_stride;
    float *yp = y + p * y_stride;
    for (size_t k = 0; k < nc; k++) {
      float v = xp[k] * a[k] + b[k];
      v = v < lo ? lo : v;
      yp[k] = v > hi ? hi : v;
    }
  }
}

/* InstanceNormalization (axis = 2: per sample and channel), LayerNormalization (axis),
 * MeanVarianceNormalization (axes mask, no scale/bias). */
typedef struct eck_norm_params {
  int32_t axis;                 /* normalise over dims [axis, rank) */
  uint32_t axes;                /* MVN: bit k set = dim k is reduced (axis unused then) */
  int32_t instance;             /* scale/bias are per channel (dim 1) */
  int32_t mvn;
  float epsilon;
} eck_norm_params;

typedef struct eck_lrn_params {
  float alpha, beta, bias;
  int32_t size;
} eck_lrn_params;

typedef enum eck_resize_mode { ECK_RESIZE_NEAREST = 0, ECK_RESIZE_LINEAR, ECK_RESIZE_CUBIC } eck_resize_mode;
typedef enum eck_resize_coord {
  ECK_COORD_HALF_PIXEL = 0,
  ECK_COORD_ASYMMETRIC,
  ECK_COORD_PYTORCH_HALF_PIXEL,
  ECK_COORD_TF_HALF_PIXEL_FOR_NN,
  ECK_COORD_ALIGN_CORNERS,
  ECK_COORD_TF_CROP_AND_RESIZE
} eck_resize_coord;
typedef enum eck_resize_nearest {
  ECK_NEAREST_ROUND_PREFER_FLOOR = 0,
  ECK_NEAREST_ROUND_PREFER_CEIL,
  ECK_NEAREST_FLOOR,
  ECK_NEAREST_CEIL,
  ECK_NEAREST_LEGACY             /* Upsample and Resize-10: floor of the source coordinate */
} eck_resize_nearest;
typedef struct eck_resize_params {
  int32_t mode, coord, nearest;
  int32_t exclude_outside;
  float cubic_a, extrapolation;
  double scales[ECK_MAX_RANK];
  double roi[2 * ECK_MAX_RANK]; /* tf_crop_and_resize: starts, then ends (normalised) */
} eck_resize_params;

typedef struct eck_d2s_params {
  int32_t blocksize;
  int32_t crd;                  /* DepthToSpace mode CRD (else DCR) */
  int32_t to_depth;             /* SpaceToDepth */
} eck_d2s_params;

/* Einsum: every distinct label gets an index; each operand lists the label of each dim. */
#define ECK_EINSUM_MAX_IN 4
#define ECK_EINSUM_MAX_LABELS 24
typedef struct eck_einsum_params {
  int32_t n_in;
  int32_t n_labels;
  int32_t n_out_labels;         /* output labels are labels 0..n_out_labels-1 in order */
  int32_t in_rank[ECK_EINSUM_MAX_IN];
  int8_t in_labels[ECK_EINSUM_MAX_IN][ECK_MAX_RANK];
  int64_t label_dim[ECK_EINSUM_MAX_LABELS];
} eck_einsum_params;

/* MaxUnpool: indices address a tensor of shape `index_dims` (the unpadded unpool shape);
 * each lands at the same coordinates in the output, which may be larger (output_shape). */
typedef struct eck_maxunpool_params {
  int32_t rank;
  int64_t index_dims[ECK_MAX_RANK];
} eck_maxunpool_params;

typedef enum eck_grid_mode { ECK_GRID_BILINEAR = 0, ECK_GRID_NEAREST, ECK_GRID_BICUBIC } eck_grid_mode;
typedef enum eck_grid_padding { ECK_GRID_ZEROS = 0, ECK_GRID_BORDER, ECK_GRID_REFLECTION } eck_grid_padding;
typedef struct eck_gridsample_params {
  int32_t mode;                 /* eck_grid_mode */
  int32_t padding;              /* eck_grid_padding */
  int32_t align_corners;
} eck_gridsample_params;

typedef struct eck_roialign_params {
  int32_t max_mode;
  int32_t half_pixel;
  int32_t sampling_ratio;
  float spatial_scale;
} eck_roialign_params;

/* RNN, GRU, LSTM. Activations: ECK_ACT_* with their alpha/beta, per direction. */
typedef enum eck_act {
  ECK_ACT_SIGMOID = 0,
  ECK_ACT_TANH,
  ECK_ACT_RELU,
  ECK_ACT_AFFINE,
  ECK_ACT_LEAKYRELU,
  ECK_ACT_THRESHOLDEDRELU,
  ECK_ACT_SCALEDTANH,
  ECK_ACT_HARDSIGMOID,
  ECK_ACT_ELU,
  ECK_ACT_SOFTSIGN,
  ECK_ACT_SOFTPLUS
} eck_act;
typedef enum eck_rnn_kind { ECK_RNN = 0, ECK_GRU = 1, ECK_LSTM = 2 } eck_rnn_kind;
typedef enum eck_rnn_dir { ECK_DIR_FORWARD = 0, ECK_DIR_REVERSE, ECK_DIR_BIDIRECTIONAL } eck_rnn_dir;
typedef struct eck_rnn_params {
  int32_t kind;                 /* eck_rnn_kind */
  int32_t direction;            /* eck_rnn_dir */
  int32_t hidden;
  int32_t layout;               /* 1: batch-major inputs and outputs */
  int32_t linear_before_reset;  /* GRU */
  int32_t input_forget;         /* LSTM */
  float clip;                   /* <= 0: none */
  int32_t act[6];               /* per direction: f, g, h (unused slots ignored) */
  float act_alpha[6], act_beta[6];
} eck_rnn_params;

typedef enum eck_reduction { ECK_RED_NONE = 0, ECK_RED_SUM, ECK_RED_MEAN } eck_reduction;
typedef struct eck_loss_params {
  int32_t reduction;            /* eck_reduction */
  int64_t ignore_index;
  int32_t has_ignore;
  int32_t softmax;              /* SoftmaxCrossEntropyLoss (else NegativeLogLikelihoodLoss) */
} eck_loss_params;

typedef struct eck_nms_params {
  int32_t center_point_box;
} eck_nms_params;
/* Runs NonMaxSuppression into sel ([cap, 3] int64 rows); returns the row count, or -1 if it
 * exceeds cap. The compiler calls it to size the output of constant inputs. */
int64_t eck_nms_run(const eck_nms_params *p, const eck_tensor *in, int n_in, int64_t *sel,
                    int64_t cap);

#define ECK_REF_DECL(name) \
  int name(const void *p, const eck_tensor *in, int n_in, eck_tensor *out, int n_out, void *scratch);
ECK_REF_DECL(eck_ref_conv)
ECK_REF_DECL(eck_ref_conv_transpose)
ECK_REF_DECL(eck_ref_conv_integer)
ECK_REF_DECL(eck_ref_qlinear_conv)
ECK_REF_DECL(eck_ref_pool)
ECK_REF_DECL(eck_ref_global_pool)
ECK_REF_DECL(eck_ref_maxunpool)
ECK_REF_DECL(eck_ref_gemm)
ECK_REF_DECL(eck_ref_matmul)
ECK_REF_DECL(eck_ref_strided_matmul)
ECK_REF_DECL(eck_ref_matmul_integer)
ECK_REF_DECL(eck_ref_qlinear_matmul)
ECK_REF_DECL(eck_ref_einsum)
ECK_REF_DECL(eck_ref_softmax)
ECK_REF_DECL(eck_ref_batchnorm)
ECK_REF_DECL(eck_ref_norm)
ECK_REF_DECL(eck_ref_lrn)
ECK_REF_DECL(eck_ref_resize)
ECK_REF_DECL(eck_ref_depth_space)
ECK_REF_DECL(eck_ref_gridsample)
ECK_REF_DECL(eck_ref_roialign)
ECK_REF_DECL(eck_ref_rnn)
ECK_REF_DECL(eck_ref_loss)
ECK_REF_DECL(eck_ref_nms)
#undef ECK_REF_DECL

#endif
