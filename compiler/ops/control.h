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
  int in_axis[EC_CONTROL_MAX_SCAN], out_axis[EC_CONTROL_MAX_SCAN]; /* in the body's slices */
  bool in_rev[EC_CONTROL_MAX_SCAN], out_rev[EC_CONTROL_MAX_SCAN];
} ec_control_params;

ec_status ec_infer_if(ec_ctx *cx, ec_node *n);
ec_status ec_infer_loop(ec_ctx *cx, ec_node *n);
ec_status ec_infer_scan(ec_ctx *cx, ec_node *n);

/* Evaluates a node with subgraphs (ec_eval_node's contract: values NULL folds it). */
ec_status ec_eval_control(ec_graph *g, int node, void **values, ec_diag *d);

#endif
