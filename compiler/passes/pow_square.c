/* pow_square.c — Pow with a constant exponent of 2 or 0.5 becomes Mul(x, x) or Sqrt(x): PyTorch
 * writes the x² of every decomposed LayerNorm and variance as Pow, which libm's powf runs far
 * slower than a multiplication, and which no fast kernel family offers. */
#include "op.h"
#include "passes.h"

static bool float_dtype(int32_t dt) {
  return dt == ECK_FLOAT || dt == ECK_DOUBLE || dt == ECK_FLOAT16 || dt == ECK_BFLOAT16;
}

ec_status ec_pass_pow_square(ec_graph *g, int *count, ec_diag *d) {
  for (int i = 0; i < g->n_nodes; i++) {
    const ec_node *n = &g->nodes[i];
    if (n->dead || n->op != EC_OP_Pow || n->n_inputs != 2 || n->inputs[0] < 0) continue;
    int x = n->inputs[0];
    /* Float data only (an integer Pow rounds differently). The exponent is input 1, exactly 2 or
     * 0.5, and must not broadcast the output past x's shape (a [1, 1] exponent of a [3] x). */
    if (!float_dtype(g->tensors[x].dtype)) continue;
    bool square = ec_pass_binary_with_scalar(g, n, 2.0, 0) == 0;
    bool root = !square && ec_pass_binary_with_scalar(g, n, 0.5, 0) == 0;
    if (!square && !root) continue;
    int ins[2] = {x, x};
    ec_status st = ec_pass_retype(g, i, square ? "Mul" : "Sqrt", "", ins, square ? 2 : 1);
    if (!st) st = ec_infer_node(g, i, d);
    if (st) return st;
    (*count)++;
  }
  return ec_graph_link(g);
}
