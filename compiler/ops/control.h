/* control.h — the control-flow ops (If, Loop, Scan: ops_control.def, control.c): nodes that own
 * subgraphs. Shape inference infers the subgraphs too; evaluation runs them in-process. */
#ifndef EC_OPS_CONTROL_H
#define EC_OPS_CONTROL_H
#include "op.h"

#define EC_CONTROL_MAX_SCAN 32

/* What inference worked out for evaluation (n->params). */
typedef struct ec_control_params {
  int first_state;   /* index of the first loop-carried / state input among the node's inputs */
  int n_state;       /* Loop: carried values; Scan: state variables */
  int n_scan_in;     /* Scan: scanned inputs */
  int n_scan_out;    /* Loop and Scan: scan outputs */
  bool batched;      /* Scan opset 8: every input and output has a leading batch dim */
  int64_t trips;     /* Loop: the trip count static shapes were sized for, -1 when unknown */
  /* Loop: its --max-trip-count (the root graph's trip_bounds[bound_opt]), or -1 and -1. With a
   * run-time trip count, scan outputs are sized by it and their dims[0] found by running. */
  int64_t bound;
  int bound_opt;
  int in_axis[EC_CONTROL_MAX_SCAN], out_axis[EC_CONTROL_MAX_SCAN]; /* in the body's slices */
  bool in_rev[EC_CONTROL_MAX_SCAN], out_rev[EC_CONTROL_MAX_SCAN];
} ec_control_params;

ec_status ec_infer_if(ec_ctx *cx, ec_node *n);
/* The name of Loop n of g for --max-trip-count: the one its bound was given by, else its node
 * name, else its first output's. */
const char *ec_loop_bound_name(const ec_graph *g, const ec_node *n);
ec_status ec_infer_loop(ec_ctx *cx, ec_node *n);
ec_status ec_infer_scan(ec_ctx *cx, ec_node *n);

/* Part of constant folding (ec_infer_graph): an If whose condition is a constant is replaced by
 * the taken branch's nodes; *spliced is set when it was (the caller reorders and re-infers). */
ec_status ec_if_fold(ec_graph *g, int node, bool *spliced);
/* When a Loop's body cannot be inferred (`failed`, ec_infer_node's status) because its shapes
 * need the iteration number (a Slice at i whose extent reaches an op that cannot read a
 * data-dependent one), and the trip count is a small constant: the body is
 * copied once per iteration with the iteration number a constant, and the node replaced.
 * Returns `failed` (the diagnostic kept) when the loop cannot be unrolled. */
ec_status ec_loop_unroll(ec_graph *g, int node, bool *spliced, ec_status failed);

/* Evaluates a node with subgraphs (ec_eval_node's contract: values NULL folds it). */
ec_status ec_eval_control(ec_graph *g, int node, void **values, ec_diag *d);

#endif
