/* pipeline.c — ec_pipeline_run: the planner, then lowering for each device's kernel library and
 * the cut tensors pinned, then each partition's schedule taken again from the lowered graph. */
#include <stdlib.h>
#include <string.h>

#include "lower.h"
#include "pipeline.h"

unsigned ec_pipeline_device_klib(const ec_device *dv, unsigned klib) {
  return ec_target_has_kernels(dv->target, klib) ? klib : EC_KLIB_REF;
}

static const char *klib_name(unsigned klib) { return klib == EC_KLIB_XNNPACK ? "xnnpack" : "ref"; }

static ec_status lower(ec_graph *g, const ec_pipeline_opts *o, ec_diag *d) {
  ec_lower_opts lo = {"xnnpack", o->lower_off, o->n_lower_off};
  return ec_lower(g, &lo, d);
}

/* Partition p's schedule from the graph as it is now: every node its outputs need, walking back
 * to its inputs (constant-only nodes included, as the planner includes them), in graph order. */
static ec_status part_reslice(const ec_graph *g, ec_part *p) {
  uint8_t *need = ec_alloc((size_t)g->n_nodes + 1), *stop = ec_alloc((size_t)g->n_tensors + 1);
  int *nodes = ec_alloc(sizeof(int) * (size_t)(g->n_nodes + 1));
  if (!need || !stop || !nodes) {
    free(need), free(stop), free(nodes);
    return EC_ERR_INTERNAL;
  }
  for (int j = 0; j < p->n_inputs; j++) stop[p->inputs[j]] = 1;
  for (int j = 0; j < p->n_outputs; j++) {
    int pr = g->tensors[p->outputs[j]].producer;
    if (pr >= 0 && !stop[p->outputs[j]]) need[pr] = 1;
  }
  for (int i = g->n_nodes - 1; i >= 0; i--) { /* topological order: consumers come later */
    if (!need[i]) continue;
    const ec_node *n = &g->nodes[i];
    for (int c = 0; c < n->n_inputs; c++) {
      int t = n->inputs[c];
      if (t < 0 || stop[t]) continue;
      int pr = g->tensors[t].producer;
      if (pr >= 0) need[pr] = 1;
    }
  }
  int n = 0;
  for (int i = 0; i < g->n_nodes; i++)
    if (need[i]) nodes[n++] = i;
  free(p->nodes);
  p->nodes = nodes;
  p->n_nodes = n;
  free(need), free(stop);
  return EC_OK;
}

/* After planning, with the fast kernels. The tensors crossing cuts count as graph outputs
 * meanwhile: they live in the partitions' send and receive buffers, so no in-place Concat may
 * write through one (ec_lower_pin), and one lowering left NHWC travels as NCHW
 * (ec_lower_cut_tensor). Devices with different kernel libraries (a description without XNNPACK
 * among them) are lowered here, after the plan: the nodes of reference-kernel partitions are
 * marked so that no lowering step touches them, and the marked cut tensors are neither fused
 * away nor left NHWC, so each partition is lowered for its own device's kernels. Then every
 * partition's schedule is taken again from the sorted graph. */
static ec_status finish_cuts(ec_graph *g, const ec_device_list *devs, const ec_pipeline_opts *o, bool mixed,
                             ec_plan *plan, ec_diag *d) {
  if (plan->n_parts < 2 && !mixed) return EC_OK;
  for (int k = 0; mixed && k < plan->n_parts; k++) {
    const ec_part *p = &plan->parts[k].part;
    if (ec_pipeline_device_klib(&devs->items[plan->parts[k].device], o->plan.klib) == EC_KLIB_REF)
      for (int s = 0; s < p->n_nodes; s++) g->nodes[p->nodes[s]].ref_kernels = true;
  }
  int nt0 = g->n_tensors;
  bool *marked = ec_alloc(sizeof(bool) * (size_t)(nt0 + 1));
  if (!marked) return EC_ERR_INTERNAL;
  for (int k = 0; k + 1 < plan->n_parts; k++)
    for (int j = 0; j < plan->parts[k].part.n_outputs; j++) {
      int t = plan->parts[k].part.outputs[j];
      marked[t] = !g->tensors[t].is_output;
      g->tensors[t].is_output = true;
    }
  ec_status st = EC_OK;
  if (mixed) {
    st = lower(g, o, d);
  } else {
    ec_lower_pin(g, klib_name(o->plan.klib));
  }
  for (int k = 0; !st && k + 1 < plan->n_parts; k++)
    for (int j = 0; !st && j < plan->parts[k].part.n_outputs; j++)
      st = ec_lower_cut_tensor(g, plan->parts[k].part.outputs[j]);
  for (int t = 0; t < nt0; t++)
    if (marked[t]) g->tensors[t].is_output = false;
  free(marked);
  if (!st) st = ec_graph_compact(g);
  if (!st) st = ec_graph_toposort(g, d);
  for (int k = 0; !st && k < plan->n_parts; k++) {
    ec_part *p = &plan->parts[k].part;
    st = part_reslice(g, p);
    /* A reference-kernel device must get no fast step (its folder links no XNNPACK). */
    bool ref = ec_pipeline_device_klib(&devs->items[plan->parts[k].device], o->plan.klib) == EC_KLIB_REF;
    for (int s = 0; !st && mixed && ref && s < p->n_nodes; s++) {
      const ec_node *n = &g->nodes[p->nodes[s]];
      if (!n->ref_kernels) {
        ec_diag_set(d, g->source_path, "", "internal: node '%s' of partition %d (reference kernels) was lowered",
                    n->name, k);
        st = EC_ERR_INTERNAL;
      }
    }
  }
  if (st == EC_ERR_INTERNAL && !d->msg[0]) ec_diag_set(d, g->source_path, "", "out of memory at the cuts");
  return st;
}

ec_status ec_pipeline_run(ec_graph *g, const ec_device_list *devs, const ec_pipeline_opts *o,
                          ec_plan *plan, ec_diag *d) {
  memset(plan, 0, sizeof *plan);
  const ec_plan_opts *po = &o->plan;
  bool fast = po->klib == EC_KLIB_XNNPACK, mixed = false;
  for (int v = 0; fast && v < devs->n; v++) mixed |= ec_pipeline_device_klib(&devs->items[v], po->klib) != po->klib;
  ec_status st = EC_OK;
  /* One kernel library for the whole graph: lowered first, then planned over the lowered
   * graph's split points. */
  if (fast && !mixed) {
    /* A tensor named by --split-at must outlive lowering: fuse-act would hand a Conv's output
     * to the Relu after it, and the cut would name a tensor nothing writes. Such tensors count
     * as graph outputs meanwhile, as finish_cuts does with the planned cuts. */
    bool *named = ec_alloc(sizeof(bool) * (size_t)(po->n_split_at + 1));
    if (!named) st = EC_ERR_INTERNAL;
    for (int k = 0; !st && k < po->n_split_at; k++) {
      int t = ec_graph_find(g, po->split_at[k]);
      named[k] = t >= 0 && !g->tensors[t].is_output;
      if (named[k]) g->tensors[t].is_output = true;
    }
    if (!st) st = lower(g, o, d);
    for (int k = 0; named && k < po->n_split_at; k++) {
      int t = ec_graph_find(g, po->split_at[k]); /* lowering renumbers tensors */
      if (named[k] && t >= 0) g->tensors[t].is_output = false;
    }
    free(named);
  }
  if (!st) st = ec_plan_build(g, devs, po, plan, d);
  /* The cuts (and, for devices with different kernels, lowering itself) after the plan. */
  if (!st && fast && !o->plan_only) st = finish_cuts(g, devs, o, mixed, plan, d);
  return st;
}
