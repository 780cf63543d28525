/* merge.h — several models in one compile (DESIGN 2.4, Merge; issue 15): the models' graphs,
 * each loaded and cleaned by the graph passes on its own, become one graph in which a node that
 * every model would compute alike is computed once.
 *
 * Exact merging, from the shared inputs forward: a node of a later model is the node of an earlier
 * one when both have the same op, domain and attributes and the same inputs of the merged graph,
 * which for a weight means byte-identical data (hashed with xxHash, confirmed with memcmp). So the
 * graph has a shared trunk and per-model heads. Identical weights of nodes that are not merged are
 * one tensor of the merged graph too (stored once). Every tensor and node keeps its model's name
 * before its own ("a/conv1", or "a/layer1/Conv" for "/layer1/Conv"); a shared one carries the name
 * of the first model that has it.
 *
 *   ec_merge_model ms[] = {{"a", ga}, {"b", gb}};          // graphs from ec_cli_load
 *   ec_merge_report rep;
 *   st = ec_merge(ms, 2, &opts, &merged, &rep, &d);          // ga, gb now belong to merged
 *   ... ec_pipeline_run(merged, ...) ...
 *   ec_merge_report_free(&rep); ec_graph_free(merged);
 *
 * Not merged: nodes with subgraphs, random ops, and a node whose output is a graph output of its
 * model (each model's outputs stay its own tensors). Models must share one opset. */
#ifndef EC_MERGE_H
#define EC_MERGE_H

#include "ir.h"

#define EC_MERGE_MAX_MODELS 32

typedef struct ec_merge_model {
  const char *name; /* the model's name: its file stem, unique among the models */
  ec_graph *g;      /* inferred and cleaned by the passes; ec_merge takes it over, even on failure */
} ec_merge_model;

/* Graph input `input` of model `model` is graph input `to_input` of model `to_model`, an earlier
 * one (--share-input). Indices are positions in the models' lists and in g->inputs. */
typedef struct ec_merge_share {
  int model, input, to_model, to_input;
} ec_merge_share;

typedef struct ec_merge_opts {
  const ec_merge_share *shares; /* checked by the caller: dtype and shape agree */
  int n_shares;
  /* Tests only (tests/merge/test_merge.c): hash weights by dtype and shape alone and nodes by op
   * alone, so that every weight of one shape and every node of one op collide and only the
   * comparisons (bytes, inputs, attributes) tell them apart. */
  bool weak_hash;
} ec_merge_opts;

/* Consecutive nodes of the merged graph used by the same set of models. */
typedef struct ec_merge_range {
  uint32_t models;   /* bit i: model i computes these nodes */
  int n_nodes;
  char *first, *last; /* names of the first and last node as in their model (no prefix) */
  double macs, flops;  /* of one run of the range */
} ec_merge_range;

/* What approximate merging did (filled by the pipeline, ec_pipeline_merge_budget). */
typedef struct ec_merge_approx {
  bool on;                                 /* --merge-budget given */
  double budget_pp;                        /* --merge-budget PP */
  int samples;                             /* calibration samples each model ran */
  int allowed;                             /* disagreeing samples the budget allows: floor(PP * samples / 100) */
  int candidates[EC_MERGE_MAX_MODELS];     /* aligned nodes whose weights differ from the first model's */
  int taken[EC_MERGE_MAX_MODELS];          /* of those, how many now use the first model's weights */
  uint64_t bytes[EC_MERGE_MAX_MODELS];     /* bytes of the weights replaced */
  int agree[EC_MERGE_MAX_MODELS];          /* samples whose top-1 is the model's own unmerged top-1 */
  char stop[EC_MERGE_MAX_MODELS][160];     /* the node the greedy stopped at and why, or "" */
} ec_merge_approx;

typedef struct ec_merge_report {
  int n_models;
  const char *names[EC_MERGE_MAX_MODELS]; /* point into the caller's ec_merge_model names */
  char *files[EC_MERGE_MAX_MODELS];       /* the models' paths as given */
  uint8_t sha256[EC_MERGE_MAX_MODELS][32];
  int nodes[EC_MERGE_MAX_MODELS];         /* nodes of each model */
  int shared_inputs[EC_MERGE_MAX_MODELS]; /* of each model's inputs, how many an earlier model's */
  int nodes_separate, nodes_merged;
  ec_merge_range *ranges; /* in the merged graph's order, every node in exactly one */
  int n_ranges;
  /* Bytes of the weights the nodes read: each model's own sum, and once in the merged graph. */
  uint64_t weight_bytes_separate, weight_bytes_merged;
  /* Of the merged graph's weights, how many (and their bytes) serve nodes of several models that
   * were not merged: identical weights stored once although computed twice. */
  int dedup_weights;
  uint64_t dedup_weight_bytes;
  /* Compute for one request to every model: the models run separately, and the merged graph. */
  double macs_separate, macs_merged, flops_separate, flops_merged;
  ec_merge_approx approx; /* set by the caller after ec_merge (zero: no --merge-budget) */
} ec_merge_report;

/* Merges the models into *out (a new graph: inputs shared as described above, then each model's
 * outputs in model order), fills the report. Errors: EC_ERR_MODEL for models that cannot be
 * merged (different opsets, two models whose outputs are one tensor), EC_ERR_INTERNAL for out of
 * memory. The models' graphs belong to *out afterwards (and are freed on failure). */
ec_status ec_merge(ec_merge_model *models, int n, const ec_merge_opts *o, ec_graph **out, ec_merge_report *r,
                   ec_diag *d);
void ec_merge_report_free(ec_merge_report *r);

/* How many models a mask of ec_merge_range.models holds. */
static inline int ec_merge_n_models(uint32_t mask) {
  int c = 0;
  for (; mask; mask &= mask - 1) c++;
  return c;
}

/* "a,b,c" for the models in mask (names as in the report). */
void ec_merge_models_str(const ec_merge_report *r, uint32_t mask, ec_buf *b);

/* Approximate merging (--merge-budget): node pairs of model g and the first model g0, from the
 * inputs forward, that ec_merge would unify if g's weights were g0's bytes: same op, domain and
 * attributes, inputs alike (the graph inputs by position, activations of earlier pairs, weights of
 * one dtype and shape whatever their bytes), neither a graph output. Nodes are taken in graph
 * order, dead ones skipped; the first that differs ends the list. Fills pair[k] (node of g) and
 * pair0[k] (its twin in g0) for at most max pairs; returns how many, -1 out of memory. */
int ec_merge_align(const ec_graph *g0, const ec_graph *g, int *pair0, int *pair, int max);

/* Figures of the programs compiled separately and merged, which only codegen knows (compile). */
typedef struct ec_merge_programs {
  uint64_t arena_separate, arena_merged;     /* arena bytes, summed over partitions */
  uint64_t weights_separate, weights_merged; /* bytes of the weights files */
} ec_merge_programs;

/* The report for people (`edgecc plan`): the scheme as models x node ranges, then weights and
 * compute saved. */
void ec_merge_report_text(const ec_merge_report *r, ec_buf *b);
/* plan.json's "merge" object (docs/plan-json.md), indented for its place in plan.json; progs may
 * be NULL (edgecc plan). */
void ec_merge_report_json(const ec_merge_report *r, const ec_merge_programs *progs, ec_buf *b);

#endif
