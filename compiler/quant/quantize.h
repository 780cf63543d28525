/* quantize.h — a calibrated model made int8 in the IR (DESIGN 2.4, Quantize): the nodes the
 * planner marked with bits == 8 become QLinearConv / QLinearMatMul with int8 weights, int8
 * activations from the calibration ranges, and QuantizeLinear / DequantizeLinear where int8 and
 * fp32 nodes meet; and the in-process runs that measure what that costs in accuracy.
 *
 * Use: ec_calib_run (calib.h) -> mark nodes (node->bits = 8, ec_quant_candidate says which may)
 * -> ec_quant_apply -> the planner and lowering as for any graph. ec_quant_run runs a graph over
 * a calibration set and keeps its first output per sample; ec_quant_compare scores one run
 * against another (top-1 agreement, SQNR) or against labels. docs/quantization.md defines both. */
#ifndef EC_QUANTIZE_H
#define EC_QUANTIZE_H

#include <stdbool.h>
#include <stdint.h>

#include "calib.h"
#include "ir.h"

typedef struct ec_quant_opts {
  /* Conv weights: a scale per output channel (XNNPACK's qc8 kernels), or one per tensor (qs8).
   * Gemm/MatMul weights are always per tensor (XNNPACK has no per-channel fully connected). */
  bool per_channel;
} ec_quant_opts;

/* Whether node ni of g can run int8: a Conv with a constant float 4-D weight (and a constant
 * bias or none), a MatMul with a constant float 2-D right operand, or a Gemm (alpha = beta = 1,
 * no transA, constant 2-D B, constant bias or none) on a float input of rank 2, its float input
 * and output calibrated in r (ranges by tensor index of this graph). */
bool ec_quant_candidate(const ec_graph *g, int ni, const ec_calib_result *r);

/* Rewrites g: every candidate node with bits == 8 becomes int8 (see the top of this file). A
 * Relu that is the sole reader of such a node's output is fused (the output's range starts at
 * zero). g's tensors keep their names and meaning: the float outputs are DequantizeLinear's,
 * so fp32 readers and graph outputs are untouched. Ends inferred, linked and in topological
 * order; nodes left without readers are dead (compacted). r must come from this graph as loaded
 * (tensor indices). */
ec_status ec_quant_apply(ec_graph *g, const ec_calib_result *r, const ec_quant_opts *o, ec_diag *d);

/* Multiply-adds of node ni (the op table's cost), for the int8 share of a model. */
double ec_quant_node_macs(const ec_graph *g, int ni);

/* Runs every sample of set through g (reference kernels, in-process) and keeps the values of
 * g's first output: out[s * *per + i]. *out is malloc'd. progress may be NULL. */
ec_status ec_quant_run(ec_graph *g, const ec_calib_set *set, ec_calib_progress_fn progress, void *ctx,
                       float **out, int64_t *per, ec_diag *d);

/* How a run compares with the fp32 run (ref) or with labels. */
typedef struct ec_quant_score {
  int agree;      /* samples whose arg max equals ref's */
  int correct;    /* samples whose arg max equals their label (labels given), else 0 */
  double sqnr_db; /* 10 log10(sum ref^2 / sum (ref - got)^2) over all values; 200 when equal */
} ec_quant_score;

ec_quant_score ec_quant_compare(const float *ref, const float *got, int n_samples, int64_t per,
                                const int *labels);

/* Labels of a calibration set: one integer per line in sample order, or `NAME LABEL` lines
 * naming each sample (a sample may not be missing). EC_ERR_USAGE naming the file otherwise. */
ec_status ec_quant_read_labels(const char *path, const ec_calib_set *set, int **labels, ec_diag *d);

#endif

/* ---- the report (plan.json's "quant") ------------------------------------------------------ */

/* Why a node runs in the width it does. */
typedef enum ec_quant_why {
  EC_QWHY_ALL = 0,   /* --calib without --accuracy-budget: every candidate int8 */
  EC_QWHY_CHOSEN,    /* the budget's choice */
  EC_QWHY_BUDGET,    /* left fp32: its degradation did not fit the budget */
  EC_QWHY_NO_GAIN,   /* left fp32: int8 is not predicted faster */
  EC_QWHY_TIGHTENED, /* left fp32 by a tightening round (the measured plan exceeded the budget) */
  EC_QWHY_COUNT
} ec_quant_why;
const char *ec_quant_why_text(ec_quant_why w);

typedef struct ec_quant_node_report {
  char *name;        /* the node's name in the loaded graph */
  const char *op;    /* its op before quantization */
  double macs;
  bool measured;     /* sensitivity measured (--accuracy-budget) */
  int agree, correct; /* with only this node int8: samples agreeing with fp32, correct (labels) */
  double sqnr_db;
  int cost;          /* predicted degradation, samples */
  double ms_fp32, ms_int8; /* the cost model's prediction in each width */
  bool int8;
  ec_quant_why why;
} ec_quant_node_report;

typedef struct ec_quant_report {
  ec_calib_method method;
  int max_samples, n_samples;
  uint8_t calib_sha256[32];
  bool per_channel;
  bool labels;          /* degradation in accuracy (--calib-labels), else in agreement */
  int fp32_correct;     /* labels: the fp32 model's correct samples */
  double budget_pp;     /* < 0: no budget (every candidate int8) */
  int budget_units;     /* the budget in samples */
  int rounds;           /* plans measured (1 + tightenings) */
  int agree, correct;   /* the plan chosen, measured on the set */
  double sqnr_db;
  double macs_int8, macs_total;
  ec_quant_node_report *nodes; /* the candidates, in graph order */
  int n_nodes;
  /* Not in plan.json (it must not depend on the cache or the clock): */
  double sensitivity_s; /* seconds of the sensitivity runs (0 when cached) */
  bool cached;
} ec_quant_report;

void ec_quant_report_json(const ec_quant_report *r, ec_buf *b);
void ec_quant_report_free(ec_quant_report *r);
