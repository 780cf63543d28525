/* identity.c — removes Identity and inference-mode Dropout (an identity once shape inference has
 * refused training mode): their consumers read the input instead. Graph outputs keep their names. */
#include <stdlib.h>

#include "op.h"
#include "passes.h"

/* The tensor that t currently stands for, following the substitutions made so far. Chains are
 * short and acyclic: a graph output is never substituted (see below). */
static int resolve(const int *subst, int t) {
  while (t >= 0 && subst[t] >= 0) t = subst[t];
  return t;
}

/* A Dropout is removable when its mask (output 1) is absent or unused (a mask someone reads
 * would have to be made as a constant, which is not worth a pass for) and it is known to be the
 * identity: a training_mode fed at run time (input 2), or known true with a ratio fed at run time,
 * leaves the kernel to decide, and to fail. */
static bool removable(const ec_graph *g, const ec_node *n) {
  if (n->op == EC_OP_Identity) return n->n_inputs == 1 && n->n_outputs == 1;
  if (n->op != EC_OP_Dropout || n->n_inputs < 1 || n->inputs[0] < 0 || n->n_outputs < 1) return false;
  if (n->n_inputs > 2 && n->inputs[2] >= 0) {
    const ec_tensor *t = &g->tensors[n->inputs[2]];
    if (!ec_tensor_is_const(t)) return false;
    /* Training mode is the identity only with a ratio of 0 (inference refused a known other one). */
    const ec_tensor *r = n->n_inputs > 1 && n->inputs[1] >= 0 ? &g->tensors[n->inputs[1]] : NULL;
    if (((const uint8_t *)t->data)[0] && (!r || !ec_tensor_is_const(r))) return false;
  }
  for (int k = 1; k < n->n_outputs; k++) {
    int t = n->outputs[k];
    if (t >= 0 && (g->tensors[t].n_consumers > 0 || ec_pass_is_output(g, t))) return false;
  }
  return true;
}

ec_status ec_pass_identity(ec_graph *g, int *count, ec_diag *d) {
  (void)d;
  /* subst[t] = u: every use of t becomes a use of u (and a producer of t now writes u). */
  int *subst = malloc(sizeof(int) * (size_t)(g->n_tensors + 1));
  if (!subst) return EC_ERR_INTERNAL;
  for (int t = 0; t < g->n_tensors; t++) subst[t] = -1;
  for (int i = 0; i < g->n_nodes; i++) {
    ec_node *n = &g->nodes[i];
    if (n->dead || n->op < 0 || !removable(g, n) || n->inputs[0] < 0 || n->outputs[0] < 0) continue;
    int x = resolve(subst, n->inputs[0]), y = n->outputs[0];
    const ec_tensor *tx = &g->tensors[x];
    if (!ec_pass_is_output(g, y)) {
      subst[y] = x;
    } else if (tx->kind == EC_TK_ACTIVATION && tx->producer >= 0 && !ec_pass_is_output(g, x)) {
      /* y is a graph output: its name must stay. Let x's producer write y directly and x's
       * other readers read y. x is never a graph input, a constant or a graph output here. */
      subst[x] = y;
    } else {
      /* y is a graph output copied from a graph input, a constant or another graph output:
       * the copy is the node's whole job. Keep it, reading the resolved input. */
      n->inputs[0] = x;
      continue;
    }
    n->dead = true;
    (*count)++;
  }
  for (int i = 0; i < g->n_nodes; i++) {
    ec_node *n = &g->nodes[i];
    if (n->dead) continue;
    for (int k = 0; k < n->n_inputs; k++) n->inputs[k] = resolve(subst, n->inputs[k]);
    for (int k = 0; k < n->n_outputs; k++) n->outputs[k] = resolve(subst, n->outputs[k]);
  }
  free(subst);
  return ec_graph_link(g);
}
