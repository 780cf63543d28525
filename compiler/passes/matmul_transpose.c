/* matmul_transpose.c — a MatMul of two activations absorbs the Transposes around it: a Transpose
 * read only by the MatMul (attention's Kᵀ, the head split of Q, K and V) becomes a permuted read
 * of that operand, a Transpose that alone reads the product (the heads merged back) a permuted
 * write; the node becomes edgecc's StridedMatMul (com.edgecc, perm_a, perm_b, perm_y), whose
 * kernels read and write through strides (the reference kernel; eck_blas_strided_matmul on the
 * fast families). A MatMul with a constant operand is left alone (its fast kernel is a fully
 * connected layer over packed weights). */
#include <string.h>

#include "op.h"
#include "passes.h"

static bool float_dtype(int32_t dt) {
  return dt == ECK_FLOAT || dt == ECK_DOUBLE || dt == ECK_FLOAT16 || dt == ECK_BFLOAT16;
}

/* The Transpose feeding input k of MatMul ni and read by nothing else, -1 if none. */
static int folded_input(const ec_graph *g, int ni, int k) {
  int t = g->nodes[ni].inputs[k];
  int tp = ec_pass_producer(g, t, EC_OP_Transpose);
  if (tp < 0 || ec_pass_sole_reader(g, t) != ni || !g->nodes[tp].params || g->nodes[tp].inputs[0] < 0 ||
      g->tensors[g->nodes[tp].inputs[0]].rank < 2)
    return -1;
  return tp;
}

static void perm_ints(const ec_graph *g, int tp, int r, int64_t *v) {
  for (int k = 0; k < r; k++)
    v[k] = tp < 0 ? k : ((const eck_transpose_params *)g->nodes[tp].params)->perm[k];
}

ec_status ec_pass_matmul_transpose(ec_graph *g, int *count, ec_diag *d) {
  for (int i = 0; i < g->n_nodes; i++) {
    const ec_node *n = &g->nodes[i];
    if (n->dead || n->op != EC_OP_MatMul || n->n_inputs != 2 || n->inputs[0] < 0 || n->inputs[1] < 0 ||
        n->outputs[0] < 0)
      continue;
    const ec_tensor *a = &g->tensors[n->inputs[0]], *b = &g->tensors[n->inputs[1]], *y = &g->tensors[n->outputs[0]];
    if (a->kind == EC_TK_CONSTANT || b->kind == EC_TK_CONSTANT || a->rank < 2 || b->rank < 2 ||
        !float_dtype(a->dtype) || a->dyn || b->dyn || y->dyn)
      continue;
    int ta = folded_input(g, i, 0), tb = folded_input(g, i, 1);
    int ry = ec_pass_sole_reader(g, n->outputs[0]);
    int ty = ry >= 0 && g->nodes[ry].op == EC_OP_Transpose && g->nodes[ry].params &&
                     g->nodes[ry].outputs[0] >= 0 && !g->tensors[g->nodes[ry].outputs[0]].dyn
                 ? ry
                 : -1;
    if (ta < 0 && tb < 0 && ty < 0) continue;
    int64_t pa[EC_MAX_RANK], pb[EC_MAX_RANK], py[EC_MAX_RANK];
    int ins[2] = {ta >= 0 ? g->nodes[ta].inputs[0] : n->inputs[0], tb >= 0 ? g->nodes[tb].inputs[0] : n->inputs[1]};
    int ra = g->tensors[ins[0]].rank, rb = g->tensors[ins[1]].rank, r = y->rank;
    perm_ints(g, ta, ra, pa);
    perm_ints(g, tb, rb, pb);
    perm_ints(g, ty, r, py);
    /* The block in graph order, for the fused node's name and comment. */
    int block[4], nb = 0;
    if (ta >= 0) block[nb++] = ta;
    if (tb >= 0) block[nb++] = tb;
    block[nb++] = i;
    if (ty >= 0) block[nb++] = ty;
    ec_status st = ec_pass_name_fused(g, i, block, nb, "StridedMatMul");
    if (!st) st = ec_pass_retype(g, i, "StridedMatMul", "com.edgecc", ins, 2);
    if (!st) st = ec_pass_set_attr_ints(g, i, "perm_a", pa, ra);
    if (!st) st = ec_pass_set_attr_ints(g, i, "perm_b", pb, rb);
    if (!st) st = ec_pass_set_attr_ints(g, i, "perm_y", py, r);
    if (!st && ty >= 0) {
      int outs[1] = {g->nodes[ty].outputs[0]};
      g->nodes[ty].dead = true;
      st = ec_node_set_outputs(g, i, outs, 1);
    }
    if (!st) st = ec_graph_link(g);
    if (!st) st = ec_infer_node(g, i, d);
    if (st) return st;
    if (ta >= 0) g->nodes[ta].dead = true;
    if (tb >= 0) g->nodes[tb].dead = true;
    (*count)++;
  }
  return ec_graph_link(g);
}
