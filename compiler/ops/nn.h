/* nn.h — infer/cost/print functions of the neural-network family (ops_nn.def), and the
 * spatial-window helpers (kernel, strides, dilations, pads, auto_pad) their files share. */
#ifndef EC_OPS_NN_H
#define EC_OPS_NN_H
#include "op.h"

/* ---- nn_common.c: windows of Conv-like and pooling ops ------------------------------------- */
typedef enum ec_auto_pad {
  EC_PAD_NOTSET = 0,
  EC_PAD_SAME_UPPER,
  EC_PAD_SAME_LOWER,
  EC_PAD_VALID
} ec_auto_pad;

typedef struct ec_window {
  int nsp;                                   /* spatial dims (1..3) */
  int auto_pad;                              /* ec_auto_pad */
  int64_t kernel[ECK_SP], strides[ECK_SP], dilations[ECK_SP];
  int64_t pad_begin[ECK_SP], pad_end[ECK_SP];
} ec_window;

/* Reads kernel_shape (or takes `kernel` when the attribute is absent and kernel != NULL),
 * strides, dilations (when has_dilations), pads and auto_pad, checking counts and signs. */
ec_status ec_nn_window(ec_ctx *cx, ec_node *n, int nsp, const int64_t *kernel,
                       bool has_dilations, ec_window *w);
/* Output spatial size of a Conv or pooling window over `in` (resolving SAME pads into w). */
ec_status ec_nn_window_out(ec_ctx *cx, ec_node *n, ec_window *w, const int64_t *in,
                           bool ceil_mode, int64_t *out);
/* Copies a window into 3-D kernel params (leading dims 1/0). */
void ec_nn_conv_params(const ec_window *w, int32_t group, eck_conv_params *p);
void ec_nn_pool_params(const ec_window *w, eck_pool_params *p);
/* Prints an int64 array as `{1, 2, 3}`. */
void ec_nn_print_i64s(ec_buf *b, const int64_t *v, int n);
/* Bytes read and written by a node (every present input and output). */
double ec_nn_bytes(const ec_graph *g, const ec_node *n);
/* Checks the spatial rank of input 0 (rank >= 3, at most 3 spatial dims). */
ec_status ec_nn_check_spatial(ec_ctx *cx, const ec_node *n, const ec_tensor *x, int *nsp);

/* ---- nn_conv.c ---------------------------------------------------------------------------- */
ec_status ec_infer_conv(ec_ctx *cx, ec_node *n);
ec_status ec_infer_conv_transpose(ec_ctx *cx, ec_node *n);
ec_status ec_infer_conv_integer(ec_ctx *cx, ec_node *n);
ec_status ec_infer_qlinear_conv(ec_ctx *cx, ec_node *n);
void ec_cost_conv(const ec_graph *g, const ec_node *n, ec_cost *c);
void ec_cost_conv_transpose(const ec_graph *g, const ec_node *n, ec_cost *c);
void ec_print_conv(ec_buf *b, const ec_node *n);

/* ---- nn_pool.c ---------------------------------------------------------------------------- */
ec_status ec_infer_maxpool(ec_ctx *cx, ec_node *n);
ec_status ec_infer_avgpool(ec_ctx *cx, ec_node *n);
ec_status ec_infer_lppool(ec_ctx *cx, ec_node *n);
ec_status ec_infer_global_maxpool(ec_ctx *cx, ec_node *n);
ec_status ec_infer_global_avgpool(ec_ctx *cx, ec_node *n);
ec_status ec_infer_global_lppool(ec_ctx *cx, ec_node *n);
ec_status ec_infer_maxunpool(ec_ctx *cx, ec_node *n);
void ec_cost_pool(const ec_graph *g, const ec_node *n, ec_cost *c);
void ec_print_pool(ec_buf *b, const ec_node *n);
void ec_print_maxunpool(ec_buf *b, const ec_node *n);

/* ---- nn_gemm.c ---------------------------------------------------------------------------- */
ec_status ec_infer_gemm(ec_ctx *cx, ec_node *n);
ec_status ec_infer_matmul(ec_ctx *cx, ec_node *n);
ec_status ec_infer_strided_matmul(ec_ctx *cx, ec_node *n);
void ec_print_strided_matmul(ec_buf *b, const ec_node *n);
void ec_cost_strided_matmul(const ec_graph *g, const ec_node *n, ec_cost *c);
ec_status ec_infer_matmul_integer(ec_ctx *cx, ec_node *n);
ec_status ec_infer_qlinear_matmul(ec_ctx *cx, ec_node *n);
ec_status ec_infer_einsum(ec_ctx *cx, ec_node *n);
void ec_cost_gemm(const ec_graph *g, const ec_node *n, ec_cost *c);
void ec_cost_matmul(const ec_graph *g, const ec_node *n, ec_cost *c);
void ec_cost_einsum(const ec_graph *g, const ec_node *n, ec_cost *c);
void ec_print_gemm(ec_buf *b, const ec_node *n);
void ec_print_einsum(ec_buf *b, const ec_node *n);

/* ---- nn_norm.c ---------------------------------------------------------------------------- */
ec_status ec_infer_softmax(ec_ctx *cx, ec_node *n);
ec_status ec_infer_batchnorm(ec_ctx *cx, ec_node *n);
ec_status ec_infer_instancenorm(ec_ctx *cx, ec_node *n);
ec_status ec_infer_layernorm(ec_ctx *cx, ec_node *n);
ec_status ec_infer_mvn(ec_ctx *cx, ec_node *n);
ec_status ec_infer_lrn(ec_ctx *cx, ec_node *n);
void ec_print_softmax(ec_buf *b, const ec_node *n);
void ec_print_batchnorm(ec_buf *b, const ec_node *n);
void ec_print_norm(ec_buf *b, const ec_node *n);
void ec_print_lrn(ec_buf *b, const ec_node *n);

/* ---- nn_resize.c -------------------------------------------------------------------------- */
ec_status ec_infer_resize(ec_ctx *cx, ec_node *n);
ec_status ec_infer_upsample(ec_ctx *cx, ec_node *n);
ec_status ec_infer_depth_to_space(ec_ctx *cx, ec_node *n);
ec_status ec_infer_space_to_depth(ec_ctx *cx, ec_node *n);
ec_status ec_infer_gridsample(ec_ctx *cx, ec_node *n);
ec_status ec_infer_roialign(ec_ctx *cx, ec_node *n);
void ec_print_resize(ec_buf *b, const ec_node *n);
void ec_print_depth_space(ec_buf *b, const ec_node *n);
void ec_print_gridsample(ec_buf *b, const ec_node *n);
void ec_print_roialign(ec_buf *b, const ec_node *n);

/* ---- nn_rnn.c ----------------------------------------------------------------------------- */
ec_status ec_infer_rnn(ec_ctx *cx, ec_node *n);
void ec_cost_rnn(const ec_graph *g, const ec_node *n, ec_cost *c);
void ec_print_rnn(ec_buf *b, const ec_node *n);
size_t ec_scratch_rnn(const ec_graph *g, const ec_node *n);

/* ---- nn_loss.c ---------------------------------------------------------------------------- */
ec_status ec_infer_nllloss(ec_ctx *cx, ec_node *n);
ec_status ec_infer_sce_loss(ec_ctx *cx, ec_node *n);
ec_status ec_infer_nms(ec_ctx *cx, ec_node *n);
void ec_print_loss(ec_buf *b, const ec_node *n);
void ec_print_nms(ec_buf *b, const ec_node *n);

#endif
