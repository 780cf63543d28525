/* cost.c — predicted node and transfer times. A node takes its arithmetic at a class-specific
 * fraction of the target's per-core peak, plus its bytes at a fraction of the memory bandwidth,
 * plus a fixed cost per call; the fractions depend on the kernel library that runs the node. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cost.h"
#include "lower.h"
#include "op.h"

_Static_assert(EC_OPC_COUNT == EC_EFF_CLASSES, "target.h's efficiency classes follow ec_op_class");

/* Default efficiencies per kernel library (index 0 ref, 1 XNNPACK) and class, fitted by
 * bench/plan/calibrate.py to every node of resnet50, googlenet and mobilenet_v2 timed with
 * --profile on one pinned core of the project's x86 machine, quiet (load 1.2-1.5), on 2026-11-22
 * (docs/planner.md, "Cost model", says how; the compute term is bounded by the core's peak).
 * Compute is a fraction of the per-core fp32 peak, memory of the description's mem_gbps (a single-thread read of DRAM: nodes whose data stays in cache beat it,
 * hence fractions above what DRAM alone allows). A description's "efficiency" object replaces
 * any of these for its device. */
static const ec_class_eff default_eff[EC_EFF_LIBS][EC_OPC_COUNT] = {
    /* ref: plain C loops. Their speed follows the length of the innermost loop (a row of the
     * output), not the FLOPs: ResNet-50's 7x7 layers run 10x slower per FLOP than its 56x56 ones. */
    {[EC_OPC_GEMM] = {.compute = 1.0, .memory = 0.0583, .row_ns = 5.12},
     [EC_OPC_DWCONV] = {.compute = 1.0, .memory = 0.279, .row_ns = 2.73, .overhead_ms = 0.0373},
     [EC_OPC_MEMORY] = {.compute = 0.00138}},
    /* XNNPACK: convolutions at the FMA peak, slowed by the weights they stream (layer4). */
    {[EC_OPC_GEMM] = {.compute = 1.0, .memory = 0.788, .row_ns = 0.016},
     [EC_OPC_DWCONV] = {.compute = 0.271, .memory = 34.3},
     [EC_OPC_MEMORY] = {.compute = 0.0896, .memory = 3.48}},
};
/* Fraction of linear speed-up per extra thread (compute only: bandwidth is shared). */
#define EC_THREAD_EFF 0.85

/* The op table's class, a grouped convolution apart. */
ec_op_class ec_node_class(const ec_graph *g, const ec_node *n) {
  (void)g;
  switch (n->op >= 0 ? ec_ops[n->op].cls : EC_OPCLS_MEMORY) {
    case EC_OPCLS_CONV: {
      int64_t group = 1;
      for (int i = 0; i < n->n_attrs; i++)
        if (strcmp(n->attrs[i].name, "group") == 0 && n->attrs[i].type == EC_ATTR_INT)
          group = n->attrs[i].i;
      return group > 1 ? EC_OPC_DWCONV : EC_OPC_GEMM;
    }
    case EC_OPCLS_GEMM: return EC_OPC_GEMM;
    case EC_OPCLS_MEMORY: break;
  }
  return EC_OPC_MEMORY;
}

/* The efficiencies that apply: the description's calibration where it gives a field, else the
 * default. */
static ec_class_eff class_eff(const ec_target *t, int lib, ec_op_class cls) {
  ec_class_eff e = default_eff[lib][cls];
  const ec_class_eff *o = &t->eff[lib][cls];
  if (o->set & EC_EFF_COMPUTE) e.compute = o->compute;
  if (o->set & EC_EFF_MEMORY) e.memory = o->memory;
  if (o->set & EC_EFF_OVERHEAD) e.overhead_ms = o->overhead_ms;
  if (o->set & EC_EFF_ROW) e.row_ns = o->row_ns;
  return e;
}

ec_node_cost ec_cost_node(const ec_graph *g, const ec_node *n, const ec_target *t, int threads,
                          unsigned klib) {
  ec_node_cost r;
  memset(&r, 0, sizeof r);
  ec_cost c = {0};
  if (n->op >= 0 && ec_ops[n->op].cost)
    ec_ops[n->op].cost(g, n, &c);
  else
    ec_cost_elementwise(g, n, &c);
  r.cls = ec_node_class(g, n);
  r.flops = c.macs > 0 ? 2 * c.macs : c.flops;
  r.bytes = c.bytes;
  int32_t dtype = ECK_FLOAT;
  if (n->n_outputs && n->outputs[0] >= 0) dtype = g->tensors[n->outputs[0]].dtype;
  int cores = t->cores > 0 ? t->cores : 1;
  if (threads <= 0 || threads > cores) threads = cores;
  double per_core = ec_target_peak_gflops(t, dtype) / cores * 1e9;
  /* With the fast kernels, a node lowering leaves on a reference kernel runs at ref speed: asked
   * of lowering through a pure query, before lowering (the plan comes first) or after. */
  int lib = 0;
  if (klib == EC_KLIB_XNNPACK) lib = ec_lower_runs_fast(g, (int)(n - g->nodes));
  /* The reference kernels run on one thread whatever the program's thread count. */
  double par = lib ? 1 + (threads - 1) * EC_THREAD_EFF : 1;
  int64_t row = 1;
  if (n->n_outputs && n->outputs[0] >= 0) {
    const ec_tensor *o = &g->tensors[n->outputs[0]];
    if (o->rank > 0 && o->dims[o->rank - 1] > 0) row = o->dims[o->rank - 1];
  }
  r.rows = (c.macs > 0 ? c.macs : r.flops) / (double)row;
  ec_class_eff e = class_eff(t, lib, r.cls);
  /* A zero fraction leaves its term out: the fit found no time to explain by it. */
  double compute_s = e.compute > 0 ? r.flops / (per_core * par * e.compute) : 0;
  double memory_s = e.memory > 0 ? r.bytes / (t->mem_gbps * 1e9 * e.memory) : 0;
  r.ms = (compute_s + memory_s + r.rows * e.row_ns * 1e-9 / par) * 1e3 + e.overhead_ms;
  /* A Relu or Clip that lowering folds into its producer's fast kernel costs what it will cost
   * there: nothing (the producer's clamp), as its profile step includes it. */
  if (klib == EC_KLIB_XNNPACK && ec_lower_fused_act(g, (int)(n - g->nodes))) r.ms = 0;
  return r;
}

double ec_cost_layout_ms(const ec_target *t, double bytes) {
  return t->mem_gbps > 0 ? 2 * bytes / (t->mem_gbps * 1e9) * 1e3 : 0;
}

bool ec_cost_lowered_away(const ec_graph *g, int t) { return ec_lower_removes_tensor(g, t); }

bool ec_cost_runs_dnnl(const ec_graph *g, int i, ec_kernel_family family) { return ec_lower_runs_dnnl(g, i, family); }

double ec_transfer_ms(ec_link l, double bytes) {
  if (l.mbps <= 0) return l.latency_ms;
  return l.latency_ms + bytes * 8.0 / (l.mbps * 1e6) * 1e3;
}

ec_link ec_link_between(const ec_link_set *ls, const ec_device *a, const ec_device *b) {
  ec_link l = {0, 0};
  if (strcmp(a->name, b->name) == 0) return l;
  for (int i = 0; ls && i < ls->n; i++)
    if ((strcmp(ls->items[i].a, a->name) == 0 && strcmp(ls->items[i].b, b->name) == 0) ||
        (strcmp(ls->items[i].a, b->name) == 0 && strcmp(ls->items[i].b, a->name) == 0))
      return ls->items[i].link;
  const ec_target *ta = a->target, *tb = b->target;
  l.mbps = ta->link_mbps < tb->link_mbps ? ta->link_mbps : tb->link_mbps;
  l.latency_ms = ta->link_latency_ms > tb->link_latency_ms ? ta->link_latency_ms : tb->link_latency_ms;
  return l;
}

ec_status ec_links_parse(ec_link_set *ls, const char *spec, ec_diag *d) {
  char buf[256];
  if (strlen(spec) >= sizeof buf) {
    ec_diag_set(d, "--link", "", "'%s' is too long", spec);
    return EC_ERR_USAGE;
  }
  snprintf(buf, sizeof buf, "%s", spec);
  char *colon = strchr(buf, ':'), *eq = strchr(buf, '=');
  if (!colon || !eq || colon > eq || colon == buf || eq == colon + 1 || !eq[1]) {
    ec_diag_set(d, "--link", "", "'%s' must look like a:b=MBPS[,LATENCY_MS]", spec);
    return EC_ERR_USAGE;
  }
  *colon = 0;
  *eq = 0;
  if (strlen(buf) >= EC_TARGET_NAME_MAX || strlen(colon + 1) >= EC_TARGET_NAME_MAX) {
    ec_diag_set(d, "--link", "", "device name too long in '%s'", spec);
    return EC_ERR_USAGE;
  }
  char *end;
  errno = 0;
  double mbps = strtod(eq + 1, &end), lat = 0;
  if (errno || end == eq + 1 || !(mbps > 0)) {
    ec_diag_set(d, "--link", "", "'%s': the bandwidth must be a positive number of Mbit/s", spec);
    return EC_ERR_USAGE;
  }
  if (*end == ',') {
    char *p = end + 1;
    lat = strtod(p, &end);
    if (errno || end == p || lat < 0) {
      ec_diag_set(d, "--link", "", "'%s': the latency must be a non-negative number of ms", spec);
      return EC_ERR_USAGE;
    }
  }
  if (*end) {
    ec_diag_set(d, "--link", "", "'%s' must look like a:b=MBPS[,LATENCY_MS]", spec);
    return EC_ERR_USAGE;
  }
  if (ls->n >= EC_MAX_LINKS) {
    ec_diag_set(d, "--link", "", "too many --link options");
    return EC_ERR_USAGE;
  }
  snprintf(ls->items[ls->n].a, EC_TARGET_NAME_MAX, "%s", buf);
  snprintf(ls->items[ls->n].b, EC_TARGET_NAME_MAX, "%s", colon + 1);
  ls->items[ls->n].link.mbps = mbps;
  ls->items[ls->n].link.latency_ms = lat;
  ls->n++;
  return EC_OK;
}
