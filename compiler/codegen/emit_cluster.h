/* emit_cluster.h — the C that runs a partition's clusters on threads (emit_cluster.c): the
 * planner recorded each node's cluster on the IR (ec_node.cluster); emit.c calls these hooks when
 * a partition has more than one. */
#ifndef EC_EMIT_CLUSTER_H
#define EC_EMIT_CLUSTER_H

#include "codegen.h"

/* Clusters of partition p as recorded on its nodes (1 when none has a cluster above 0). */
int ec_emit_n_clusters(const ec_graph *g, const ec_part *p);
/* Tensors one cluster of p writes and another reads: one ready flag each. */
int ec_emit_n_handoffs(const ec_graph *g, const ec_part *p);
/* The hand-off enum, one function per cluster (its steps in schedule order, each wait before
 * the first step that reads another cluster's tensor, each flag raised after the step that
 * writes it) and `<prog>_clusters[]`. prog names the steps table `<prog>_steps`; sname[s] is step
 * s's C name (its index is S_<name>), and a step with aliased[s] runs nothing (its output shares
 * its input's bytes: no entry in the table), so its cluster only passes its hand-offs on. */
ec_status ec_emit_clusters(const ec_graph *g, const ec_part *p, const char *prog, const char *PROG,
                           const char *const *sname, const bool *aliased, ec_buf *b);

#endif
