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

/* Helpers the passes share (passes.c). */
/* True when tensor t is a graph output. */
bool ec_pass_is_output(const ec_graph *g, int t);
/* A new constant tensor named after `base` plus `suffix`, made unique; takes ownership of data
 * (freed on failure). Returns its index or -1 on out of memory. Invalidates tensor pointers. */
int ec_pass_new_const(ec_graph *g, const char *base, const char *suffix, int32_t dtype, int rank,
                      const int64_t *dims, void *data, size_t nbytes);

#endif
