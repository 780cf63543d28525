/* passes.h — the target-independent graph passes (DESIGN 2.3) and the pass manager that runs
 * them in a fixed order after loading and shape inference, before planning and codegen.
 *
 * Every pass is one file under compiler/passes/ with one entry point of type ec_pass_fn, and one
 * row in the table in passes.c. A pass rewrites the graph in place: it marks removed nodes dead
 * and may add constants; the manager compacts the graph (ec_graph_compact) after each pass, so
 * every pass starts from a linked graph in topological order without dead nodes. A pass must
 * not change the model's results (bn-fold: up to float rounding), its inputs or the names of
 * its outputs. Constant folding is the exception: ec_infer_graph folds while it infers shapes,
 * so its row (`const-fold`) has no function, and the loader reads its bit: with const-fold off,
 * it sets g->fold_shapes_only before inference (ec_cli_load does).
 *
 * How to add a pass: write `ec_status ec_pass_NAME(ec_graph *g, int *count, ec_diag *d)` in
 * compiler/passes/NAME.c, declare it below, add a row to the table in passes.c (the order of
 * the table is the order passes run in), and a case to tests/unit/passes/. */
#ifndef EC_PASSES_H
#define EC_PASSES_H

#include <stdint.h>

#include "ir.h"

/* Runs one pass over g. *count receives how many rewrites it made (nodes removed or folded). */
typedef ec_status (*ec_pass_fn)(ec_graph *g, int *count, ec_diag *d);

typedef struct ec_pass_def {
  const char *name;        /* as `--no-pass NAME` spells it */
  ec_pass_fn run;          /* NULL for const-fold, which runs during shape inference */
  const char *description; /* one line, for --help and docs */
} ec_pass_def;

extern const ec_pass_def ec_passes[];
extern const int ec_n_passes;

/* What the command line chose: a bit per row of ec_passes, set = `--no-pass NAME` given. */
typedef struct ec_pass_opts {
  uint32_t disabled;
} ec_pass_opts;

/* Handles one `--no-pass NAME` (NAME may be `all`). An unknown name is EC_ERR_USAGE with `d`
 * saying which names are known. */
ec_status ec_pass_disable(ec_pass_opts *o, const char *name, ec_diag *d);
/* Index of the pass called name in ec_passes, -1 if none. */
int ec_pass_find(const char *name);
bool ec_pass_enabled(const ec_pass_opts *o, int pass);
/* False with `--no-pass const-fold`: then load with g->fold_shapes_only (see infer.c). */
bool ec_pass_fold_all(const ec_pass_opts *o);
/* Appends the known pass names, comma separated ("const-fold, dce, identity, bn-fold"). */
void ec_pass_names(ec_buf *b);

/* Runs the enabled passes in table order. o may be NULL (all enabled). On return the graph is
 * compacted, linked and in topological order. */
ec_status ec_run_passes(ec_graph *g, const ec_pass_opts *o, ec_diag *d);
/* Same; counts (may be NULL) receives ec_n_passes entries, the rewrites each pass made (0 for
 * disabled passes). */
ec_status ec_run_passes_counted(ec_graph *g, const ec_pass_opts *o, int *counts, ec_diag *d);

/* The passes (one file each). */
ec_status ec_pass_dce(ec_graph *g, int *count, ec_diag *d);      /* dce.c */
ec_status ec_pass_identity(ec_graph *g, int *count, ec_diag *d); /* identity.c */
ec_status ec_pass_bn_fold(ec_graph *g, int *count, ec_diag *d);  /* bn_fold.c */
ec_status ec_pass_layernorm(ec_graph *g, int *count, ec_diag *d); /* layernorm.c */
ec_status ec_pass_gelu(ec_graph *g, int *count, ec_diag *d);      /* gelu.c */
ec_status ec_pass_pow_square(ec_graph *g, int *count, ec_diag *d); /* pow_square.c */
ec_status ec_pass_qdq(ec_graph *g, int *count, ec_diag *d);        /* qdq.c */
ec_status ec_pass_transpose_opt(ec_graph *g, int *count, ec_diag *d); /* transpose_opt.c */
ec_status ec_pass_matmul_bias(ec_graph *g, int *count, ec_diag *d); /* matmul_bias.c */
ec_status ec_pass_matmul_transpose(ec_graph *g, int *count, ec_diag *d); /* matmul_transpose.c */

/* Helpers the passes share (passes.c). */
/* True when tensor t is a graph output. */
bool ec_pass_is_output(const ec_graph *g, int t);
/* A new constant tensor named after `base` plus `suffix`, made unique; takes ownership of data
 * (freed on failure). Returns its index or -1 on out of memory. Invalidates tensor pointers. */
int ec_pass_new_const(ec_graph *g, const char *base, const char *suffix, int32_t dtype, int rank,
                      const int64_t *dims, void *data, size_t nbytes);

/* Pattern matching, for the passes that fold an exporter's decomposed block into one op. */
/* The node producing t when it is a live node of op `op` (EC_OP_*), else -1. */
int ec_pass_producer(const ec_graph *g, int t, int op);
/* The one node reading t (every use of t is by that node, which may read it twice) when t is
 * not a graph output, else -1. */
int ec_pass_sole_reader(const ec_graph *g, int t);
/* True when t is a constant of one element (a scalar, [1], [1, 1]...) of a float or integer
 * dtype; its value in *v. */
bool ec_pass_scalar(const ec_graph *g, int t, double *v);
/* True when t is a constant of one element (a scalar, [1], [1, 1]...), of a float or integer
 * dtype, whose value is within tol * |want| of want (tol 0: exactly want). */
bool ec_pass_scalar_near(const ec_graph *g, int t, double want, double tol);
/* The float tolerance of ec_pass_scalar_near for constants an exporter rounded from a real
 * number (sqrt(2), 0.044715...): 2^-22, two float32 ulps of a value in [1, 2). */
#define EC_PASS_CONST_TOL (1.0 / 4194304.0)
/* True when node ni is a live binary node of op `op` (EC_OP_Add...) with numpy broadcasting (not
 * the opset < 7 kind, b_trailing_ones). False for ni < 0. */
bool ec_pass_is_binary(const ec_graph *g, int ni, int op);
/* For a binary node (Add, Mul...) with a constant scalar operand near `want`: the index (0 or 1)
 * of its other input, else -1. Opset < 7 broadcasting (b_trailing_ones) never matches. */
int ec_pass_binary_with_scalar(const ec_graph *g, const ec_node *n, double want, double tol);
/* True when the nodes in `nodes` (count of them, indices; the last one writes the block's
 * output) form a closed block: every output of every node but the last is read only by nodes of
 * the block and is not a graph output. */
bool ec_pass_block_closed(const ec_graph *g, const int *nodes, int count);
/* Turns node `ni` into op `op_type` of `domain` reading `ins`, without attributes (add them with
 * ec_pass_set_attr_*), keeping its name and outputs. Call ec_infer_node after. */
ec_status ec_pass_retype(ec_graph *g, int ni, const char *op_type, const char *domain,
                         const int *ins, int n_ins);
/* The same, keeping the node's attributes (an op that reads the same ones: Conv -> QLinearConv). */
ec_status ec_pass_retype_keep_attrs(ec_graph *g, int ni, const char *op_type, const char *domain,
                                    const int *ins, int n_ins);
ec_status ec_pass_set_attr_float(ec_graph *g, int ni, const char *name, float v);
ec_status ec_pass_set_attr_int(ec_graph *g, int ni, const char *name, int64_t v);
ec_status ec_pass_set_attr_string(ec_graph *g, int ni, const char *name, const char *v);
ec_status ec_pass_set_attr_ints(ec_graph *g, int ni, const char *name, const int64_t *v, int count);
/* Names the fused node `ni` after the nodes it replaces: their common scope plus op_type
 * ("/encoder/ln_1/" + "LayerNormalization") when they share a '/'-scope, else
 * "FIRST..LAST" of the block's first and last node names; unchanged when those are empty. */
ec_status ec_pass_name_fused(ec_graph *g, int ni, const int *nodes, int count, const char *op_type);
/* Records on node `ni` the nodes it replaces (ec_node.fused_from, for the generated code's
 * comment): "SCOPE{A, B, ...}" with the names' common '/'-scope and the rest of each name, or
 * "A, B, ..." when they share none. ec_pass_name_fused calls it before renaming. */
ec_status ec_pass_record_fused(ec_graph *g, int ni, const int *nodes, int count);

#endif
