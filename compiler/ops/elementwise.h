/* elementwise.h — infer/cost/print functions of the element-wise family (ops_elementwise.def). */
#ifndef EC_OPS_ELEMENTWISE_H
#define EC_OPS_ELEMENTWISE_H
#include "op.h"

ec_status ec_infer_identity(ec_ctx *cx, ec_node *n);
ec_status ec_infer_unary(ec_ctx *cx, ec_node *n);
ec_status ec_infer_binary(ec_ctx *cx, ec_node *n);
void ec_print_unary(ec_buf *b, const ec_node *n);
void ec_print_binary(ec_buf *b, const ec_node *n);

#endif
