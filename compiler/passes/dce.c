/* dce.c — dead-code elimination: a node none of whose outputs a graph output depends on is
 * removed. Constants only such nodes read are then read by nobody, so codegen stores none. */
#include <stdlib.h>

#include "passes.h"

ec_status ec_pass_dce(ec_graph *g, int *count, ec_diag *d) {
  (void)d;
  bool *needed = ec_alloc(sizeof(bool) * (size_t)(g->n_tensors + 1));
  if (!needed) return EC_ERR_INTERNAL;
  for (int i = 0; i < g->n_outputs; i++) needed[g->outputs[i]] = true;
  /* Reverse topological order: every consumer is decided before its producers. ONNX ops have
   * no side effects, so an unneeded node is dead whatever it computes. */
  for (int i = g->n_nodes - 1; i >= 0; i--) {
    ec_node *n = &g->nodes[i];
    if (n->dead) continue;
    bool live = false;
    for (int k = 0; k < n->n_outputs && !live; k++) live = n->outputs[k] >= 0 && needed[n->outputs[k]];
    if (!live) {
      n->dead = true;
      (*count)++;
      continue;
    }
    for (int k = 0; k < n->n_inputs; k++)
      if (n->inputs[k] >= 0) needed[n->inputs[k]] = true;
  }
  free(needed);
  return EC_OK;
}
