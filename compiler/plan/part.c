/* part.c — ec_part, the planner's unit of work handed to lowering and codegen: the whole graph as
 * one partition (one device, or a test), and freeing one. Partitions of a plan come from plan.c. */
#include <stdlib.h>
#include <string.h>

#include "plan.h"

ec_status ec_part_whole(const ec_graph *g, ec_part *p) {
  memset(p, 0, sizeof *p);
  p->nodes = ec_alloc(sizeof(int) * (size_t)(g->n_nodes + 1));
  p->inputs = ec_alloc(sizeof(int) * (size_t)(g->n_inputs + 1));
  p->outputs = ec_alloc(sizeof(int) * (size_t)(g->n_outputs + 1));
  if (!p->nodes || !p->inputs || !p->outputs) {
    ec_part_free(p);
    return EC_ERR_INTERNAL;
  }
  for (int i = 0; i < g->n_nodes; i++)
    if (!g->nodes[i].dead) p->nodes[p->n_nodes++] = i;
  for (int i = 0; i < g->n_inputs; i++) p->inputs[p->n_inputs++] = g->inputs[i];
  for (int i = 0; i < g->n_outputs; i++) p->outputs[p->n_outputs++] = g->outputs[i];
  return EC_OK;
}

void ec_part_free(ec_part *p) {
  free(p->nodes);
  free(p->inputs);
  free(p->outputs);
  memset(p, 0, sizeof *p);
}
