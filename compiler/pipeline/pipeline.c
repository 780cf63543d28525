/* pipeline.c — ec_pipeline_load: the frontend, then the graph passes. ec_pipeline_merge: several
 * models' graphs into one (compiler/merge). ec_pipeline_run: the
 * planner, then lowering for each device's kernel library and
 * the cut tensors pinned, then each partition's schedule taken again from the lowered graph. */
#include <stdlib.h>
#include <string.h>

#include "cutq.h"
#include "lower.h"
#include "op.h"
#include "pipeline.h"

ec_status ec_pipeline_load(const char *path, const ec_load_opts *lo, const ec_pass_opts *passes,
                           bool no_infer, ec_graph **g, ec_diag *d) {
  /* The loader folds every constant computation while it infers shapes; with const-fold off,
   * load without inference and infer here, folding only what static shapes need. */
  bool fold_all = ec_pass_fold_all(passes);
  ec_load_opts o = *lo;
  o.no_infer = no_infer || !fold_all;
  *g = NULL;
  ec_status st = ec_onnx_load(path, &o, g, d);
  if (!st && !fold_all && !no_infer) {
    (*g)->fold_shapes_only = true;
    st = ec_infer_graph(*g, d);
    if (!st) st = ec_onnx_check_declared(*g, d);
    if (!st) st = ec_graph_compact(*g);
  } else if (!st && !fold_all) {
    (*g)->fold_shapes_only = true;
  }
  if (!st && !no_infer) st = ec_run_passes(*g, passes, d);
  if (st && *g) {
    ec_graph_free(*g);
    *g = NULL;
  }
  return st;
}

ec_status ec_pipeline_merge(ec_merge_model *models, int n, const ec_merge_opts *o, ec_graph **g,
                            ec_merge_report *r, ec_diag *d) {
  ec_status st = ec_merge(models, n, o, g, r, d);
  /* The planner and lowering read node order and consumers: the merged graph is linked and in
   * topological order by construction; the check costs one pass. */
  if (!st) st = ec_graph_toposort(*g, d);
  return st;
}

unsigned ec_pipeline_device_klib(const ec_device *dv, unsigned klib) {
  return ec_target_has_kernels(dv->target, klib) ? klib : EC_KLIB_REF;
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

/* The plan on the IR: each node's partition and device (the planner's), and the kernel family
 * of that device, which lowering reads. A constant-only node that partitions on devices of both
 * families compute each for themselves stays on the reference kernels, which both have. Nodes
 * lowering added (layout conversions) take the family of the partition they landed in. */
static void record(ec_graph *g, const ec_device_list *devs, const ec_plan *plan, unsigned klib,
                   ec_onednn_use onednn, const ec_tuning *tuning) {
  ec_plan_record(g, plan);
  for (int i = 0; i < g->n_nodes; i++) g->nodes[i].family = EC_KF_UNSET;
  for (int k = 0; k < plan->n_parts; k++) {
    const ec_device *dv = &devs->items[plan->parts[k].device];
    bool fast = ec_pipeline_device_klib(dv, klib) == EC_KLIB_XNNPACK;
    ec_kernel_family fam = EC_KF_XNNPACK;
    if (onednn == EC_ONEDNN_ALL && ec_target_has_kernels(dv->target, EC_KLIB_ONEDNN)) fam = EC_KF_ONEDNN;
    if (onednn == EC_ONEDNN_DEFAULT && ec_target_onednn_default(dv->target)) fam = EC_KF_ONEDNN_DEFAULT;
    /* --tuning: the family the file picked, on a device of its target. */
    bool tuned = fast && tuning && strcmp(dv->target->name, tuning->target) == 0;
    for (int s = 0; s < plan->parts[k].part.n_nodes; s++) {
      ec_node *n = &g->nodes[plan->parts[k].part.nodes[s]];
      n->family = fast && n->family != EC_KF_REF ? (tuned && n->tuned != EC_KF_UNSET ? n->tuned : fam) : EC_KF_REF;
    }
  }
}

ec_status ec_pipeline_run(ec_graph *g, const ec_device_list *devs, const ec_pipeline_opts *o,
                          ec_plan *plan, ec_diag *d) {
  memset(plan, 0, sizeof *plan);
  /* --tuning: each node's pick, from its signature on the graph as the passes left it. */
  for (int v = 0; o->tuning && v < devs->n; v++)
    if (strcmp(devs->items[v].target->name, o->tuning->target) == 0) {
      ec_tuning_apply(g, o->tuning, devs->items[v].target);
      break;
    }
  /* The planner decides on the graph as the passes left it; its costs ask lowering what each
   * node will run on (cost.h, ec_lower_runs_fast), without lowering. */
  ec_plan_opts po = o->plan; /* clustering asks which nodes oneDNN will run */
  po.onednn = (int)o->onednn;
  po.tuning_target = o->tuning ? o->tuning->target : NULL;
  ec_status st = ec_plan_build(g, devs, &po, plan, d);
  if (!st && ec_plan_record_cut_quant(g, plan)) { /* 8-bit cuts travel with their scale */
    ec_diag_set(d, g->source_path, "", "out of memory at the cuts");
    st = EC_ERR_INTERNAL;
  }
  if (st) return st;
  record(g, devs, plan, o->plan.klib, o->onednn, o->tuning);
  ec_plan_record_clusters(g, plan);
  bool fast = false;
  for (int v = 0; v < devs->n; v++)
    fast |= ec_pipeline_device_klib(&devs->items[v], o->plan.klib) == EC_KLIB_XNNPACK;
  if (!fast) return ec_lower_record(g, "ref"); /* the reference kernels take the graph as it is */
  /* The tensors crossing cuts (the --split-at ones among them) count as graph outputs while
   * lowering runs: they live in the partitions' send and receive buffers, so no step fuses them
   * away or lets an in-place Concat write through one. Then one lowering left NHWC travels as
   * NCHW (ec_lower_cut_tensor). */
  int nt0 = g->n_tensors;
  bool *marked = ec_alloc(sizeof(bool) * (size_t)(nt0 + 1));
  if (!marked) st = EC_ERR_INTERNAL;
  for (int k = 0; !st && k + 1 < plan->n_parts; k++)
    for (int j = 0; j < plan->parts[k].part.n_outputs; j++) {
      int t = plan->parts[k].part.outputs[j];
      marked[t] = !g->tensors[t].is_output;
      g->tensors[t].is_output = true;
    }
  ec_lower_opts lo = {"xnnpack", o->lower_off, o->n_lower_off};
  if (!st) st = ec_lower(g, &lo, d);
  for (int k = 0; !st && k + 1 < plan->n_parts; k++)
    for (int j = 0; !st && j < plan->parts[k].part.n_outputs; j++)
      st = ec_lower_cut_tensor(g, plan->parts[k].part.outputs[j]);
  for (int t = 0; marked && t < nt0; t++)
    if (marked[t]) g->tensors[t].is_output = false;
  free(marked);
  if (!st) st = ec_graph_compact(g);
  if (!st) st = ec_graph_toposort(g, d);
  /* Lowering renumbered nodes and added some: each partition's schedule again, from its cut. */
  for (int k = 0; !st && k < plan->n_parts; k++) {
    ec_part *p = &plan->parts[k].part;
    st = part_reslice(g, p);
    /* A reference-kernel device must get no fast step (its folder links no XNNPACK). */
    bool ref = ec_pipeline_device_klib(&devs->items[plan->parts[k].device], o->plan.klib) == EC_KLIB_REF;
    for (int s = 0; !st && ref && s < p->n_nodes; s++) {
      const ec_node *n = &g->nodes[p->nodes[s]];
      if (n->family != EC_KF_REF) {
        ec_diag_set(d, g->source_path, "", "internal: node '%s' of partition %d (reference kernels) was lowered",
                    n->name, k);
        st = EC_ERR_INTERNAL;
      }
    }
  }
  if (!st) record(g, devs, plan, o->plan.klib, o->onednn, o->tuning);
  /* Nodes lowering added (layout conversions) join a neighbour's cluster. */
  if (!st) ec_plan_settle_clusters(g, plan);
  /* The kernel of every node, the cut conversions' too, once their device's family is set. */
  if (!st) st = ec_lower_record(g, "xnnpack");
  if (!st) ec_plan_identify(g, devs, plan);
  /* Another tuning file may choose other kernels: programs of the two compiles are not alike. */
  for (int i = 0; !st && o->tuning && i < 32; i++) plan->id = (plan->id ^ o->tuning->sha256[i]) * 0x100000001b3ull;
  if (!st && !plan->id) plan->id = 1;
  if (st == EC_ERR_INTERNAL && !d->msg[0]) ec_diag_set(d, g->source_path, "", "out of memory at the cuts");
  return st;
}
