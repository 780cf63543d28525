/* elementwise.h — infer/cost/print functions of the element-wise family (ops_elementwise.def):
 * unary maths and activations, broadcasting binary and variadic ops, Where, Cast, Dropout, and
 * the (de)quantization ops. */
#ifndef EC_OPS_ELEMENTWISE_H
#define EC_OPS_ELEMENTWISE_H
#include "op.h"

/* elementwise.c */
ec_status ec_infer_identity(ec_ctx *cx, ec_node *n);
ec_status ec_infer_unary(ec_ctx *cx, ec_node *n);
ec_status ec_infer_classify(ec_ctx *cx, ec_node *n);
ec_status ec_infer_clip(ec_ctx *cx, ec_node *n);
void ec_print_unary(ec_buf *b, const ec_node *n);
void ec_print_classify(ec_buf *b, const ec_node *n);
void ec_print_clip(ec_buf *b, const ec_node *n);
/* Reads the opset-1 `consumed_inputs` attribute, which only told old runtimes about in-place
 * updates and means nothing to edgecc. */
ec_status ec_ew_legacy_attrs(ec_ctx *cx, ec_node *n);
/* Appends `.field = VALUE` + sep, VALUE exact (hex float, INFINITY or NAN). */
void ec_ew_print_float(ec_buf *b, const char *field, float v, const char *sep);

/* elementwise_gelu.c: edgecc's own Gelu (com.edgecc), made by the graph pass gelu */
ec_status ec_infer_gelu(ec_ctx *cx, ec_node *n);
void ec_print_gelu(ec_buf *b, const ec_node *n);

/* elementwise_binary.c */
ec_status ec_infer_binary(ec_ctx *cx, ec_node *n);
ec_status ec_infer_variadic(ec_ctx *cx, ec_node *n);
ec_status ec_infer_where(ec_ctx *cx, ec_node *n);
void ec_cost_variadic(const ec_graph *g, const ec_node *n, ec_cost *c);
void ec_print_binary(ec_buf *b, const ec_node *n);
void ec_print_variadic(ec_buf *b, const ec_node *n);

/* elementwise_cast.c */
ec_status ec_infer_cast(ec_ctx *cx, ec_node *n);
ec_status ec_infer_dropout(ec_ctx *cx, ec_node *n);
ec_status ec_infer_quantize_linear(ec_ctx *cx, ec_node *n);
ec_status ec_infer_dequantize_linear(ec_ctx *cx, ec_node *n);
/* QLinearAdd, QLinearMul (com.microsoft): A, A_scale, A_zp, B, B_scale, B_zp, C_scale[, C_zp]. */
ec_status ec_infer_qlinear_binary(ec_ctx *cx, ec_node *n);
ec_status ec_infer_dynamic_quantize_linear(ec_ctx *cx, ec_node *n);
void ec_cost_quantize(const ec_graph *g, const ec_node *n, ec_cost *c);
void ec_print_dropout(ec_buf *b, const ec_node *n);
void ec_print_quant(ec_buf *b, const ec_node *n);

#endif
