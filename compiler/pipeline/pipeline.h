/* pipeline.h — the order every compile follows (DESIGN 2): a graph the frontend loaded and the
 * graph passes cleaned (ec_cli_load) -> the planner -> lowering for each device's kernel library
 * -> a graph and a plan that codegen only reads. `edgecc compile`, `edgecc plan`, the fast-kernel
 * test driver (tests/fast/fastc.c) and the cost-model bench (bench/plan/node_costs.c) all come
 * through here: nothing else calls ec_lower or ec_plan_build (tests/unit/one_pipeline.sh).
 *
 *   ec_pipeline_opts o = {.plan = po, .lower_off = mo.lower_off, .n_lower_off = mo.n_lower_off};
 *   ec_plan plan;
 *   st = ec_pipeline_run(g, &devs, &o, &plan, &d);
 *   for (int k = 0; !st && k < plan.n_parts; k++)   // each with its device's kernel library
 *     st = ec_codegen_partition(g, &plan.parts[k].part, ...);
 *   ec_plan_free(&plan);
 *
 * Uses the frontend (compiler/onnx), the graph passes (compiler/passes), the planner
 * (compiler/plan: ec_plan_build, ec_plan_record, ec_plan_identify, target.h), lowering
 * (compiler/lower: ec_lower, ec_lower_cut_tensor) and the IR; no codegen. */
#ifndef EC_PIPELINE_H
#define EC_PIPELINE_H

#include "ir.h"
#include "merge.h"
#include "onnx_load.h"
#include "passes.h"
#include "plan.h"
#include "quantize.h"
#include "target.h"
#include "tuning.h"

typedef enum ec_onednn_use { EC_ONEDNN_NONE = 0, EC_ONEDNN_ALL, EC_ONEDNN_DEFAULT } ec_onednn_use;

typedef struct ec_pipeline_opts {
  /* Planner options: objective, --partitions, --split-at, --link, --threads, --profile, and
   * plan.klib, the kernel library asked for (EC_KLIB_XNNPACK or EC_KLIB_REF). */
  ec_plan_opts plan;
  const char *const *lower_off; /* lowering steps switched off (--no-pass NAME, `all`) */
  int n_lower_off;
  /* oneDNN with plan.klib EC_KLIB_XNNPACK (the plan costs oneDNN's nodes as XNNPACK's).
   * EC_ONEDNN_ALL (--kernels onednn): the nodes of a device whose description lists onednn get
   * family EC_KF_ONEDNN: oneDNN where it has the op, XNNPACK for the rest. EC_ONEDNN_DEFAULT (no
   * --kernels): those of a device whose description lists onednn first (ec_target_onednn_default)
   * get EC_KF_ONEDNN_DEFAULT: oneDNN for the ops its default order gives it. */
  ec_onednn_use onednn;
  /* --tuning FILE (NULL: none): on the devices of the file's target whose kernels are fast, each
   * node the file has an entry for runs on the family it measured fastest (tuning.h); the
   * others keep the target's default order. Its SHA-256 is mixed into the plan's id. */
  const ec_tuning *tuning;
} ec_pipeline_opts;

/* Loads the model at `path` (ec_onnx_load with lo) and runs the graph passes. With const-fold
 * off (passes), the loader builds the graph without inference and shapes are inferred here,
 * folding only what static shapes need. With no_infer the graph is returned as built (no
 * inference, no passes: `edgecc inspect`). On failure *g is NULL and d says why. */
ec_status ec_pipeline_load(const char *path, const ec_load_opts *lo, const ec_pass_opts *passes,
                           bool no_infer, ec_graph **g, ec_diag *d);

/* The kernel library device dv runs: klib where its description lists it, else the reference
 * kernels (a device without XNNPACK among fast ones: `mixed`). */
unsigned ec_pipeline_device_klib(const ec_device *dv, unsigned klib);

/* Plans g over the devices, then lowers each partition for its device's kernel library: the
 * plan is made on the graph as the passes left it, recorded on the IR (each node's partition,
 * device and kernel family), and the tensors crossing cuts are pinned while lowering runs, so
 * that none is fused away or left NHWC. The same order for one device or many, one kernel
 * library or mixed. On success `plan` holds the partitions, each with its schedule on the
 * lowered graph; its figures are the planner's predictions. The caller frees it with
 * ec_plan_free. Errors are the planner's (EC_ERR_USAGE for --split-at / --partitions values,
 * EC_ERR_MODEL for plans that cannot be met) and lowering's (EC_ERR_INTERNAL). */
ec_status ec_pipeline_run(ec_graph *g, const ec_device_list *devs, const ec_pipeline_opts *o,
                          ec_plan *plan, ec_diag *d);

/* Several models (edgecc a.onnx b.onnx ...): the merge stage (compiler/merge, ec_merge) makes
 * one graph of the models' graphs, each already cleaned by the graph passes on its own (so that
 * each model's part is the graph its separate compile would plan), before the planner sees it.
 * The models' graphs belong to *g afterwards. */
ec_status ec_pipeline_merge(ec_merge_model *models, int n, const ec_merge_opts *o, ec_graph **g,
                            ec_merge_report *r, ec_diag *d);

/* Approximate merging (--merge-budget PP with --calib DIR; docs/merging.md). */
typedef struct ec_pipeline_merge_budget_opts {
  const char *calib_dir; /* --calib DIR: samples of the models' (shared) inputs */
  int max_samples;       /* --calib-max */
  double budget_pp;      /* --merge-budget PP: percentage points of top-1 agreement each model may lose */
  /* Progress: which model, runs done of total. */
  void (*progress)(void *ctx, const char *what, int done, int total, const char *unit);
  void *progress_ctx;
} ec_pipeline_merge_budget_opts;

/* Before ec_pipeline_merge: each model after the first takes the first model's weights for the
 * nodes ec_merge_align pairs, one node at a time from the inputs forward, each kept only while
 * the model's top-1 agreement with its own unmerged outputs (first output) on the set stays
 * within the budget; the first node that breaks it ends that model's trials. Weights taken point
 * at the first model's bytes, so ec_merge then unifies those nodes. ap says what was tried and
 * measured. Usage errors (a bad folder, inputs the set does not match) are EC_ERR_USAGE. */
ec_status ec_pipeline_merge_budget(ec_merge_model *models, int n, const ec_pipeline_merge_budget_opts *o,
                                   ec_merge_approx *ap, ec_diag *d);

/* Quantization (DESIGN 2.4): --calib, --accuracy-budget. */
typedef struct ec_pipeline_quant_opts {
  const char *calib_dir;       /* --calib DIR */
  ec_calib_method method;      /* --calib-method */
  int max_samples;             /* --calib-max */
  const char *labels_path;     /* --calib-labels FILE, or NULL (degradation in top-1 agreement) */
  double budget_pp;            /* --accuracy-budget PP; < 0: every candidate int8 */
  ec_quant_opts q;
  const ec_target *target;     /* the predicted times: the first device's target, threads, klib */
  int threads;
  unsigned klib;
  const char *cache_dir;       /* the sensitivity cache; NULL: $EDGECC_CACHE_DIR, $XDG_CACHE_HOME/edgecc
                                  or ~/.cache/edgecc */
  /* Progress: what ("calibrating", "sensitivity", "checking"), done of total, unit. */
  void (*progress)(void *ctx, const char *what, int done, int total, const char *unit);
  void *progress_ctx;
} ec_pipeline_quant_opts;

/* Makes g (loaded from path with lo and passes, not yet planned) int8 where the calibration set
 * allows: calibrates, and with a budget measures each candidate's sensitivity (a fresh load of
 * the model per candidate, only that node int8, run in-process on the set; cached in a file
 * keyed by the model's and the set's SHA-256), lets the planner choose the widths
 * (ec_bits_choose), measures the plan on the set and tightens while it exceeds the budget; then
 * rewrites g (ec_quant_apply). rep says what was chosen and why. Usage errors (a bad folder or
 * labels file) are EC_ERR_USAGE. */
ec_status ec_pipeline_quantize(const char *path, const ec_load_opts *lo, const ec_pass_opts *passes, ec_graph *g,
                               const ec_pipeline_quant_opts *o, ec_quant_report *rep, ec_diag *d);

#endif
