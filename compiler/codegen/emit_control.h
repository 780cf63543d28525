/* emit_control.h — If, Loop and Scan in generated code (emit_control.c): what the memory plan and
 * the partition emitter (emit.c) ask of it. */
#ifndef EC_EMIT_CONTROL_H
#define EC_EMIT_CONTROL_H

#include "codegen.h"

/* Arena bytes a control-flow node uses while its step runs: its branches' tensors (the two
 * branches of an If share them: they never run together), or its body's, plus the
 * double-buffered loop-carried values, the iteration number and condition, and scan slices. The
 * memory plan reserves them as the node's scratch. 0 when a subgraph cannot be planned
 * (ec_ctl_build then says why). */
size_t ec_ctl_scratch(const ec_graph *g, const ec_node *n);

/* The subgraphs of a partition's control-flow steps (nested ones too), planned and named. */
typedef struct ec_ctl ec_ctl;

/* Plans the subgraphs of the steps nodes[0..n_nodes) of g, whose memory plan is mp. Their tensors
 * become values numbered after the partition's n_top ones, named uniquely among top_names; the
 * partition's value of tensor t is top_val[t]. Branch, body and step functions are named after
 * the owner's step function (step_names, by step) and the graph's nodes. Fails on an op or dtype generated code cannot run
 * inside a subgraph, and on a Loop whose trip count is only known at run time and has no
 * --max-trip-count bound in o. *out is NULL when no step has subgraphs. */
ec_status ec_ctl_build(const ec_graph *g, const int *nodes, int n_nodes, const ec_memplan *mp,
                       char *const *top_names, const int *top_val, int n_top, char *const *step_names,
                       const ec_codegen_opts *o, ec_ctl **out, ec_diag *d);
int ec_ctl_n_values(const ec_ctl *c);
/* Gives the subgraphs' constants offsets in the weights payload, from *payload on (aligned), a
 * captured constant the offset of the enclosing one (top_woff: the partition's values'); then
 * copies their bytes into the payload. */
void ec_ctl_place_weights(ec_ctl *c, const uint64_t *top_woff, size_t *payload);
void ec_ctl_copy_weights(const ec_ctl *c, unsigned char *payload);
/* The subgraphs' entries of the value enum and of the ecrt_value table. */
void ec_ctl_emit_enum(const ec_ctl *c, ec_buf *b);
void ec_ctl_emit_values(const ec_ctl *c, ec_buf *b);
/* The step function `fname` of the control-flow node at step s, preceded by one function per
 * branch or body and their steps. prog: the context type. */
ec_status ec_ctl_emit_step(const ec_ctl *c, ec_buf *b, int s, const char *fname, const char *prog,
                           ec_diag *d);
void ec_ctl_free(ec_ctl *c);

/* emit.c's step body for node n of g with a data-dependent output (ec_tensor.dyn): the call of
 * ref_fn on in[] and out[] (already declared), its extents written back to ctx->v[V_<out_vals[k]>]. */
void ec_emit_bounded_call(ec_buf *b, const ec_graph *g, const ec_node *n, const char *ref_fn, const char *parg,
                          const char *sarg, const char *const *out_vals);

/* emit.c's name of a dtype's ECK_* macro, NULL for one generated code does not support. */
const char *ec_emit_dtype_macro(int32_t dt);

#endif
