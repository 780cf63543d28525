/* tensor.h — infer/cost/print/scratch functions of the tensor family (ops_tensor.def):
 * tensor_shape.c, tensor_index.c, tensor_reduce.c, tensor_gen.c. */
#ifndef EC_OPS_TENSOR_H
#define EC_OPS_TENSOR_H
#include "op.h"

/* tensor_shape.c */
ec_status ec_infer_shape(ec_ctx *cx, ec_node *n);
ec_status ec_infer_size(ec_ctx *cx, ec_node *n);
ec_status ec_infer_reshape(ec_ctx *cx, ec_node *n);
ec_status ec_infer_flatten(ec_ctx *cx, ec_node *n);
ec_status ec_infer_squeeze(ec_ctx *cx, ec_node *n);
ec_status ec_infer_unsqueeze(ec_ctx *cx, ec_node *n);
ec_status ec_infer_transpose(ec_ctx *cx, ec_node *n);
ec_status ec_infer_concat(ec_ctx *cx, ec_node *n);
ec_status ec_infer_split(ec_ctx *cx, ec_node *n);
ec_status ec_infer_slice(ec_ctx *cx, ec_node *n);
ec_status ec_infer_expand(ec_ctx *cx, ec_node *n);
ec_status ec_infer_tile(ec_ctx *cx, ec_node *n);
ec_status ec_infer_pad(ec_ctx *cx, ec_node *n);
void ec_print_shape(ec_buf *b, const ec_node *n);
void ec_print_transpose(ec_buf *b, const ec_node *n);
void ec_print_axis(ec_buf *b, const ec_node *n);
void ec_print_slice(ec_buf *b, const ec_node *n);
void ec_print_pad(ec_buf *b, const ec_node *n);

/* tensor_index.c */
ec_status ec_infer_gather(ec_ctx *cx, ec_node *n);
ec_status ec_infer_gather_elements(ec_ctx *cx, ec_node *n);
ec_status ec_infer_gather_nd(ec_ctx *cx, ec_node *n);
ec_status ec_infer_scatter_elements(ec_ctx *cx, ec_node *n);
ec_status ec_infer_scatter_nd(ec_ctx *cx, ec_node *n);
ec_status ec_infer_onehot(ec_ctx *cx, ec_node *n);
ec_status ec_infer_topk(ec_ctx *cx, ec_node *n);
ec_status ec_infer_compress(ec_ctx *cx, ec_node *n);
ec_status ec_infer_nonzero(ec_ctx *cx, ec_node *n);
ec_status ec_infer_unique(ec_ctx *cx, ec_node *n);
ec_status ec_infer_reverse_sequence(ec_ctx *cx, ec_node *n);
void ec_print_gather_nd(ec_buf *b, const ec_node *n);
void ec_print_scatter(ec_buf *b, const ec_node *n);
void ec_print_onehot(ec_buf *b, const ec_node *n);
void ec_print_topk(ec_buf *b, const ec_node *n);
void ec_print_compress(ec_buf *b, const ec_node *n);
void ec_print_unique(ec_buf *b, const ec_node *n);
void ec_print_reverse_sequence(ec_buf *b, const ec_node *n);
size_t ec_scratch_topk(const ec_graph *g, const ec_node *n);

/* tensor_reduce.c */
ec_status ec_infer_reduce(ec_ctx *cx, ec_node *n);
ec_status ec_infer_arg(ec_ctx *cx, ec_node *n);
ec_status ec_infer_cumsum(ec_ctx *cx, ec_node *n);
void ec_cost_reduce(const ec_graph *g, const ec_node *n, ec_cost *c);
void ec_print_reduce(ec_buf *b, const ec_node *n);
void ec_print_arg(ec_buf *b, const ec_node *n);
void ec_print_cumsum(ec_buf *b, const ec_node *n);

/* tensor_gen.c */
ec_status ec_infer_constant_of_shape(ec_ctx *cx, ec_node *n);
ec_status ec_infer_range(ec_ctx *cx, ec_node *n);
ec_status ec_infer_eyelike(ec_ctx *cx, ec_node *n);
ec_status ec_infer_trilu(ec_ctx *cx, ec_node *n);
ec_status ec_infer_window(ec_ctx *cx, ec_node *n);
ec_status ec_infer_random(ec_ctx *cx, ec_node *n);
ec_status ec_infer_det(ec_ctx *cx, ec_node *n);
ec_status ec_infer_dft(ec_ctx *cx, ec_node *n);
ec_status ec_infer_stft(ec_ctx *cx, ec_node *n);
ec_status ec_infer_mel(ec_ctx *cx, ec_node *n);
void ec_print_constant_of_shape(ec_buf *b, const ec_node *n);
void ec_print_eyelike(ec_buf *b, const ec_node *n);
void ec_print_trilu(ec_buf *b, const ec_node *n);
void ec_print_window(ec_buf *b, const ec_node *n);
void ec_print_random(ec_buf *b, const ec_node *n);
void ec_print_dft(ec_buf *b, const ec_node *n);
void ec_print_stft(ec_buf *b, const ec_node *n);
void ec_print_mel(ec_buf *b, const ec_node *n);
size_t ec_scratch_det(const ec_graph *g, const ec_node *n);

#endif
