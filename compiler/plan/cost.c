/* cost.c — predicted node and transfer times. A roofline: a node takes the longer of its
 * arithmetic at a class-specific fraction of the target's peak and its bytes at a fraction of
 * the memory bandwidth, plus a fixed dispatch overhead. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cost.h"
#include "op.h"

/* Fractions of peak reached per class and kernel library. XNNPACK runs ResNet-50's convolutions
 * at 82-85% of the fp32 FMA ceiling on this project's x86 machines (FACTS); plain C loops reach a
 * few percent. Depthwise convolutions and element-wise ops are bound by memory. */
static const struct {
  double compute_xnn, compute_ref, memory;
} class_eff[EC_OPC_COUNT] = {
    [EC_OPC_GEMM] = {0.80, 0.03, 0.60},
    [EC_OPC_DWCONV] = {0.20, 0.03, 0.50},
    [EC_OPC_MEMORY] = {0.10, 0.05, 0.40},
};
/* Fraction of linear speed-up per extra thread. */
#define EC_THREAD_EFF 0.85
/* Fixed cost of one kernel call, in ms. */
#define EC_NODE_OVERHEAD_MS 0.002

ec_op_class ec_node_class(const ec_graph *g, const ec_node *n) {
  const char *op = n->op_type;
  if (strcmp(op, "Conv") == 0 || strcmp(op, "ConvTranspose") == 0) {
    int64_t group = 1;
    for (int i = 0; i < n->n_attrs; i++)
      if (strcmp(n->attrs[i].name, "group") == 0 && n->attrs[i].type == EC_ATTR_INT)
        group = n->attrs[i].i;
    return group > 1 ? EC_OPC_DWCONV : EC_OPC_GEMM;
  }
  if (strcmp(op, "Gemm") == 0 || strcmp(op, "MatMul") == 0 || strcmp(op, "Einsum") == 0)
    return EC_OPC_GEMM;
  (void)g;
  return EC_OPC_MEMORY;
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
  double par = 1 + (threads - 1) * EC_THREAD_EFF;
  double per_core = ec_target_peak_gflops(t, dtype) / cores * 1e9;
  double eff = klib == EC_KLIB_XNNPACK ? class_eff[r.cls].compute_xnn : class_eff[r.cls].compute_ref;
  double compute_s = r.flops / (per_core * par * eff);
  double memory_s = r.bytes / (t->mem_gbps * 1e9 * class_eff[r.cls].memory);
  r.ms = (compute_s > memory_s ? compute_s : memory_s) * 1e3 + EC_NODE_OVERHEAD_MS;
  return r;
}

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
