/* elementwise.c — shape inference for element-wise ops: unary functions keep their input's
 * shape, binary ops broadcast numpy-style. */
#include "elementwise.h"

ec_status ec_infer_identity(ec_ctx *cx, ec_node *n) {
  ec_status st = ec_check_arity(cx, n, 1, 1, 1, 1);
  if (st) return st;
  return ec_set_output_like(cx, n, 0, ec_in(cx, n, 0));
}

ec_status ec_infer_unary(ec_ctx *cx, ec_node *n) {
  ec_status st = ec_check_arity(cx, n, 1, 1, 1, 1);
  if (!st) st = ec_check_input(cx, n, 0, ec_dt_numeric);
  if (st) return st;
  eck_unary_params *p = ec_params(cx, n, sizeof *p);
  if (!p) return EC_ERR_INTERNAL;
  p->fn = ECK_UNARY_RELU;
  return ec_set_output_like(cx, n, 0, ec_in(cx, n, 0));
}

ec_status ec_infer_binary(ec_ctx *cx, ec_node *n) {
  ec_status st = ec_check_arity(cx, n, 2, 2, 1, 1);
  if (!st) st = ec_check_input(cx, n, 0, ec_dt_numeric);
  if (!st) st = ec_check_input(cx, n, 1, ec_dt_numeric);
  if (st) return st;
  const ec_tensor *ts[2] = {ec_in(cx, n, 0), ec_in(cx, n, 1)};
  if (ts[0]->dtype != ts[1]->dtype)
    return ec_fail(cx, n, "inputs have different dtypes (%s and %s)", ec_dtype_name(ts[0]->dtype),
                   ec_dtype_name(ts[1]->dtype));
  int rank;
  int64_t dims[EC_MAX_RANK];
  st = ec_broadcast(cx, n, ts, 2, &rank, dims);
  if (st) return st;
  eck_binary_params *p = ec_params(cx, n, sizeof *p);
  if (!p) return EC_ERR_INTERNAL;
  p->fn = ECK_BINARY_ADD;
  return ec_set_output(cx, n, 0, ts[0]->dtype, rank, dims);
}

void ec_print_unary(ec_buf *b, const ec_node *n) {
  const eck_unary_params *p = n->params;
  ec_buf_printf(b, "{ .fn = %d, .alpha = %a, .beta = %a }", (int)p->fn, p->alpha, p->beta);
}

void ec_print_binary(ec_buf *b, const ec_node *n) {
  const eck_binary_params *p = n->params;
  ec_buf_printf(b, "{ .fn = %d }", (int)p->fn);
}
