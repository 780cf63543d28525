/* elementwise_gelu.c — shape inference of edgecc's own Gelu (domain com.edgecc), the op the graph
 * pass `gelu` folds PyTorch's exported GELU into: the output keeps the input's shape. */
#include <string.h>

#include "elementwise.h"

ec_status ec_infer_gelu(ec_ctx *cx, ec_node *n) {
  ec_status st = ec_check_arity(cx, n, 1, 1, 1, 1);
  if (!st) st = ec_check_input(cx, n, 0, ec_dt_float);
  if (st) return st;
  const char *approx;
  if ((st = ec_attr_string(cx, n, "approximate", "none", &approx))) return st;
  eck_gelu_params *p = ec_params(cx, n, sizeof *p);
  if (!p) return EC_ERR_INTERNAL;
  if (strcmp(approx, "none") == 0) p->approximate = ECK_GELU_NONE;
  else if (strcmp(approx, "tanh") == 0) p->approximate = ECK_GELU_TANH;
  else return ec_fail(cx, n, "attribute 'approximate' is '%s', not 'none' or 'tanh'", approx);
  return ec_set_output_like(cx, n, 0, ec_in(cx, n, 0));
}

void ec_print_gelu(ec_buf *b, const ec_node *n) {
  const eck_gelu_params *p = n->params;
  ec_buf_printf(b, "{ .approximate = %s }",
                p->approximate == ECK_GELU_TANH ? "ECK_GELU_TANH" : "ECK_GELU_NONE");
}
