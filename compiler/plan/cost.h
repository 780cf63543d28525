/* cost.h — the planner's cost model: predicted time of a node on a target (a roofline with
 * per-op-class efficiencies) and of a tensor crossing a link (latency + bytes / bandwidth). */
#ifndef EC_COST_H
#define EC_COST_H

#include "ir.h"
#include "target.h"

/* Broad classes of ops, each with its own efficiency against the target's peak figures. */
typedef enum ec_op_class {
  EC_OPC_GEMM = 0,   /* dense convolution, Gemm, MatMul: compute bound */
  EC_OPC_DWCONV,     /* depthwise/grouped convolution: between the two */
  EC_OPC_MEMORY,     /* element-wise, pooling, data movement: bandwidth bound */
  EC_OPC_COUNT
} ec_op_class;

/* A link between two devices. */
typedef struct ec_link {
  double mbps;
  double latency_ms;
} ec_link;

/* Overrides of links between named devices, from `--link a:b=MBPS[,LATENCY_MS]`. */
#define EC_MAX_LINKS 64
typedef struct ec_link_set {
  struct {
    char a[EC_TARGET_NAME_MAX], b[EC_TARGET_NAME_MAX];
    ec_link link;
  } items[EC_MAX_LINKS];
  int n;
} ec_link_set;

typedef struct ec_node_cost {
  ec_op_class cls;
  double flops, bytes; /* from the op table's cost function */
  /* Innermost rows: multiply-adds (or element operations) over the length of the output's last
   * dimension. Loop kernels (kernels/ref) pay a fixed cost per row, so short rows run slowly. */
  double rows;
  double ms;           /* predicted time */
} ec_node_cost;

ec_op_class ec_node_class(const ec_graph *g, const ec_node *n);
/* Predicted time of node n on target t with `threads` threads (0: the target's cores), for the
 * kernel library the node will run with (EC_KLIB_XNNPACK or EC_KLIB_REF). */
ec_node_cost ec_cost_node(const ec_graph *g, const ec_node *n, const ec_target *t, int threads,
                          unsigned klib);

/* Predicted time of one layout conversion (NCHW <-> NHWC) of `bytes` bytes on target t: the
 * bytes read and written once at the target's memory bandwidth (a lower bound: no step overhead). */
double ec_cost_layout_ms(const ec_target *t, double bytes);

/* Will lowering for the fast kernels leave no tensor t (a Conv's output a Relu fuses into, the
 * 5-D tensors inside a channel shuffle)? lower.h's pure ec_lower_removes_tensor: the planner asks
 * lowering through the cost model alone (the one planner source that sees lower.h). */
bool ec_cost_lowered_away(const ec_graph *g, int t);
/* Will node i run on a oneDNN primitive once its family is `family` (lower.h's pure
 * ec_lower_runs_dnnl)? Clustering costs such a step on its own OpenMP team (cluster.c). */
bool ec_cost_runs_dnnl(const ec_graph *g, int i, ec_kernel_family family);

/* Parses one `--link a:b=MBPS[,LATENCY_MS]` into the set. EC_ERR_USAGE with a message. */
ec_status ec_links_parse(ec_link_set *ls, const char *spec, ec_diag *d);
/* The link from device a to b: an override (either direction) or the slower of the two
 * targets' default links. Same device: an in-memory hand-off (no cost). */
ec_link ec_link_between(const ec_link_set *ls, const ec_device *a, const ec_device *b);
/* Milliseconds to send `bytes` over the link. */
double ec_transfer_ms(ec_link l, double bytes);

#endif
