/* plan.h — the planner's orchestration: cost model per node and device, split points, the
 * partition DP, and the resulting partitions (ec_part: nodes, cut inputs and outputs) that
 * lowering and codegen carry out. The planner decides and emits nothing: the files that describe
 * a plan for people (README.md, plan.dot) are codegen's (codegen.h); this header never includes
 * a codegen header (the build refuses it: docs/architecture.md).
 *
 * How a command uses it:
 *
 *   ec_plan_opts po = {.objective = EC_OBJ_LATENCY, .klib = EC_KLIB_REF};
 *   ec_plan plan;
 *   ec_plan_build(g, &devs, &po, &plan, &d);        // errors name the device or the tensor
 *   for (int k = 0; k < plan.n_parts; k++)          // partition k runs on device plan.parts[k].device
 *     ec_codegen_partition(g, &plan.parts[k].part, ...);
 *   ec_plan_table(g, &devs, &plan, &buf);           // `edgecc plan`
 *   ec_plan_free(&plan);
 *
 * Figures are predictions of compile/plan/cost.h in milliseconds and bytes. The same graph,
 * devices and options always give the same plan (docs/planner.md, "Ties"). */
#ifndef EC_PLAN_H
#define EC_PLAN_H

#include "cost.h"
#include "profile.h"
#include "target.h"

/* Objectives: the values of partition.h's ec_objective (that header's ec_part_* and ec_dp_link
 * are the DP's own small problem, so users of this header do not include it). */
#define EC_PLAN_LATENCY 0
#define EC_PLAN_THROUGHPUT 1

/* One partition to lower and compile: the nodes it runs and the values crossing its boundary. */
typedef struct ec_part {
  int index;                     /* k of <name>_p<k> */
  int *nodes, n_nodes;           /* schedule: node indices in the order they run */
  int *inputs, n_inputs;         /* tensors the caller provides, in argument order */
  int *outputs, n_outputs;       /* tensors the partition returns, in argument order */
} ec_part;

/* The whole graph as partition 0: every live node, graph inputs and outputs. */
ec_status ec_part_whole(const ec_graph *g, ec_part *p);
void ec_part_free(ec_part *p);

typedef struct ec_plan_opts {
  int objective;               /* EC_PLAN_LATENCY or EC_PLAN_THROUGHPUT */
  int n_parts;                 /* --partitions N; 0: the planner chooses */
  const char *const *split_at; /* --split-at tensor names */
  int n_split_at;
  const ec_link_set *links;    /* --link overrides (may be NULL) */
  unsigned klib;               /* kernel library the code will use: EC_KLIB_REF or EC_KLIB_XNNPACK */
  int threads;                 /* threads per program (0: each target's cores) */
  /* Measured profiles (--profile DEVICE=FILE), one pointer per device of the list (NULL: none);
   * the array may be NULL. A node the profile has costs its measured median instead of the
   * model's prediction. The plan keeps the pointers: they must outlive it. */
  const ec_profile *const *profiles;
  /* Every --profile given (may be NULL): a device may have one per thread count, and the
   * clustering takes each node's time on 1..threads threads from them (cluster.c). */
  const ec_profile_set *profile_set;
  bool no_alternatives;        /* do not plan the alternatives of ec_plan.alts */
  int parallel;                /* --parallel: EC_PAR_AUTO (the default), EC_PAR_INTRA, EC_PAR_INTER */
  /* --mix a=0.5,b=0.3,c=0.2 (several models): per model of g->model_names, its share of the
   * requests, summing to 1; NULL: the joint plan weighs a request to every model. */
  const double *mix;
  /* Which nodes oneDNN will run (ec_pipeline_opts.onednn's ec_onednn_use: 0 none, 1 every op
   * it has on a device listing it, 2 the target's default order), and the target of the
   * --tuning file (NULL: none; its nodes' ec_node.tuned then decide): clustering costs a oneDNN
   * step on its own OpenMP team, not on the shared pool (cluster.c). */
  int onednn;
  const char *tuning_target;
} ec_plan_opts;

/* --parallel (cluster.h): how a partition uses its threads. intra: one cluster, every thread in
 * the kernels' pools (every node split across them); inter: clusters of independent branches,
 * one thread each; auto: whichever split of the threads between clusters and pools the cost
 * model predicts fastest, one cluster unless clusters gain at least EC_PAR_MIN_GAIN. */
#define EC_PAR_AUTO 0
#define EC_PAR_INTRA 1
#define EC_PAR_INTER 2
#define EC_PAR_MIN_GAIN 0.05
/* "auto", "intra", "inter"; and back (-1: unknown). */
const char *ec_parallel_name(int parallel);
int ec_parallel_from_name(const char *s);

/* Staging slots per received tensor: ecrt_serve.c lands a request in one slot while the
 * partition computes on the other (its SLOTS). */
#define EC_PLAN_STAGING_SLOTS 2

/* Default port of partition k's endpoint in plan.json and the READMEs (tcp://127.0.0.1:PORT). */
#define EC_PLAN_PORT_BASE 7600

typedef struct ec_plan_part {
  int device;                  /* index into the device list */
  int first_block, end_block;  /* blocks [first_block, end_block) */
  double compute_ms;           /* predicted compute on its device */
  double bytes_out;            /* bytes of the tensor(s) sent to the next partition (0: last) */
  double transfer_ms;          /* predicted time to send them (0: last) */
  double weights_bytes;        /* weights its nodes read */
  double arena_estimate_bytes; /* the planner's arena estimate (codegen reports the real one) */
  /* Buffers outside the arena: EC_PLAN_STAGING_SLOTS per received tensor plus one per sent
   * tensor, each padded like codegen's (ec_plan_staging_bytes). */
  double staging_bytes;
  int profiled_nodes;          /* nodes whose time came from the device's profile */
  int planned_nodes;           /* part.n_nodes as planned (codegen may add layout steps at cuts) */
  double profiled_ms;          /* their measured time (part of compute_ms) */
  ec_part part;                /* index k, nodes, inputs and outputs of the cut */
  /* The partition it receives from: -1 for the first, k - 1 in a chain; in a tree (plan.tree)
   * any earlier one, and models: the models whose outputs it and the partitions after it
   * return (its parent's --next MODELS@). */
  int parent;
  uint32_t models;
  /* Clusters (cluster.h), decided on the graph as planned; each node's is recorded on the IR
   * (ec_node.cluster, 0..n_clusters-1). */
  int threads;                 /* the thread budget: --threads, else the target's cores */
  int n_clusters;              /* 1: the partition runs as one sequence of nodes */
  int cluster_threads;         /* intra-op threads of each cluster */
  int n_linear;                /* clusters linear clustering found before merging */
  double sequential_ms;        /* predicted: one cluster on one thread */
  double intra_ms;             /* predicted: one cluster, `threads` intra-op threads */
  double clustered_ms;         /* predicted: the chosen clusters side by side (intra_ms for one) */
  double best_clusters_ms;     /* predicted: the best clustering found, chosen or not (0: none) */
  double *cluster_ms;          /* n_clusters: each cluster's predicted work */
  int *node_cluster;           /* per node of the graph as planned, -1 outside (until lowering
                                  renumbers the nodes: ec_plan_settle_clusters drops it) */
  int *node_team;              /* the same for each oneDNN step's OpenMP team (ec_cluster_teams,
                                  0: not a oneDNN step, or one cluster); ec_node.team */
} ec_plan_part;

/* Another plan of the same model and devices, made to say why a device stays unused and which
 * flag would use it: the other objective, or more partitions. */
typedef struct ec_plan_alt {
  int objective;               /* EC_PLAN_LATENCY or EC_PLAN_THROUGHPUT */
  int n_parts;                 /* its partitions (the flag --partitions N when by_parts) */
  bool by_parts;               /* made with --partitions n_parts (else with --objective) */
  double latency_ms, bottleneck_ms, throughput_rps;
  uint64_t used;               /* bit v: device v runs a partition */
} ec_plan_alt;

/* The joint plan of several merged models (joint.c, docs/merging.md "Joint plan"): the merged
 * graph's blocks form a tree (the shared trunk, then each model's head after its branch point),
 * placed by the tree DP (tree.h). What it chose is recorded whether or not the partitions carry it
 * out: the programs are served as a chain, so a placement that a chain cannot run (a model's
 * outputs on another device than the last, a tensor skipping a device) gives way to the best
 * placement with every model's outputs on one device, and that to the chain DP. */
#define EC_JOINT_WHY_MAX 240
typedef struct ec_plan_joint {
  bool tried;                  /* several models, no --split-at / --partitions */
  int n_blocks;                /* tree blocks (0: no tree: why says so) */
  int *parent;                 /* per block: its parent (-1: a root) */
  uint32_t *models;            /* per block: bit m, model m's requests run it */
  int *n_nodes;                /* per block: live nodes */
  char **first, **last;        /* per block: the names of its first and last node (lowering renumbers nodes) */
  int *device_free;            /* per block: the tree DP's choice, free placement (NULL: none fits) */
  int *device;                 /* per block: the placement carried out (NULL: the chain DP's plan) */
  bool leaves_together;        /* the placement carried out keeps every model's outputs on one device */
  double objective_free, objective;          /* the weighted latency (or slowest stage) of each */
  double model_latency_ms[32]; /* per model, the placement carried out (or the free one) */
  long states;                 /* Pareto states the DP kept */
  char why[EC_JOINT_WHY_MAX];  /* why the free choice is not carried out ("" when it is) */
} ec_plan_joint;

typedef struct ec_plan {
  ec_plan_part *parts;
  int n_parts;
  int n_blocks;                /* chain of blocks between cuts (bridges.h) */
  int n_cuts;
  int objective;
  /* Identifies this plan on the wire (--plan-id): a hash of the model's SHA-256 and of every
   * partition's device, nodes and cut tensors, so programs of different compiles refuse each
   * other. Never 0. */
  uint64_t id;
  double latency_ms;           /* sum of compute and transfers */
  double bottleneck_ms;        /* slowest pipeline stage (compute or transfer) */
  double throughput_rps;       /* 1000 / bottleneck_ms */
  /* Per device (same order as the list): the whole model's predicted compute there, and the
   * partition it runs (-1: unused). */
  double *device_whole_ms;
  int *device_part;
  int n_devices;
  /* Per device: its profile (NULL: none, or the array is NULL), how many live nodes found a
   * step in it, and how many of its steps named no node of the graph. */
  const ec_profile *const *profiles;
  int *profile_matched, *profile_unmatched;
  const ec_profile_set *profile_set; /* every --profile (the options'; the clustering's times) */
  /* When a device stays unused: the plan with the other objective (if the options allow it),
   * then those with n_parts+1 .. n_devices partitions (without --split-at). */
  ec_plan_alt alts[EC_MAX_DEVICES + 1];
  int n_alts;
  int parallel;                /* --parallel the clusters were made under */
  ec_plan_joint joint;         /* several models: the joint plan */
  const double *mix;           /* --mix, as in the options (NULL: none) */
  bool tree;                   /* a partition sends to several (parts[k].parent, .models) */
} ec_plan;

/* Bytes of the buffers outside the arena a partition receiving ins[] and sending outs[] holds
 * while serving (what the planner's memory check counts as staging). */
double ec_plan_staging_bytes(const ec_graph *g, const int *ins, int n_ins, const int *outs, int n_outs);

/* Plans `g` (topologically sorted, shapes inferred) over the devices in order. Errors:
 * EC_ERR_USAGE for bad --split-at / --partitions values, EC_ERR_MODEL for plans that cannot be
 * met (memory over a device's ram_mb, naming the device). */
ec_status ec_plan_build(const ec_graph *g, const ec_device_list *devs, const ec_plan_opts *o,
                        ec_plan *out, ec_diag *d);
void ec_plan_free(ec_plan *p);
/* Records the plan on the IR: each node's partition and device (-1: in none). */
void ec_plan_record(ec_graph *g, const ec_plan *p);
/* Clusters for every partition of p under o->parallel (cluster.c), on the graph as planned. */
ec_status ec_plan_clusters(const ec_graph *g, const ec_device_list *devs, const ec_plan_opts *o, ec_plan *p);
/* The clusters of every partition as text for people (part of ec_plan_table). */
void ec_plan_cluster_table(const ec_graph *g, const ec_plan *p, ec_buf *b);
/* Records each node's cluster on the IR (after ec_plan_record, which sets the partitions). */
void ec_plan_record_clusters(ec_graph *g, const ec_plan *p);
/* After lowering renumbered and added nodes: a node with no cluster (a layout conversion) takes
 * its producer's, else its first reader's, in its partition; the per-node arrays are dropped. */
void ec_plan_settle_clusters(ec_graph *g, ec_plan *p);
/* Tensors that partition part's cluster c hands to another cluster (producer in c, a reader in
 * another cluster of the partition), from the IR's records. */
int ec_plan_cluster_handoffs(const ec_graph *g, const ec_part *part, int c);
/* Sets p->id again from the partitions as they are now (after lowering rescheduled them), so
 * that programs of compiles that lowered differently refuse each other too. */
void ec_plan_identify(const ec_graph *g, const ec_device_list *devs, ec_plan *p);

/* The joint plan of several models for people (part of ec_plan_table), and as plan.json's
 * "joint" object (docs/plan-json.md; nothing for one model). */
void ec_plan_joint_text(const ec_graph *g, const ec_device_list *devs, const ec_plan *p, ec_buf *b);
void ec_plan_joint_json(const ec_graph *g, const ec_device_list *devs, const ec_plan *p, ec_buf *b);

/* The plan as a text table for people (`edgecc plan`). */
void ec_plan_table(const ec_graph *g, const ec_device_list *devs, const ec_plan *p, ec_buf *b);
/* Why device v gets no partition, in one line for people (no trailing newline): the objective,
 * the predicted figures of the plan and of the whole model on v, and the flag that would use v
 * (`--objective throughput`, `--partitions N`) with that plan's figures. */
void ec_plan_unused_why(const ec_device_list *devs, const ec_plan *p, int v, ec_buf *b);
/* "tcp://127.0.0.1:PORT" of partition k. */
void ec_plan_endpoint(int k, char *buf, size_t len);
/* The --next arguments of partition k's program (" --next EP", or in a tree one
 * " --next MODELS@EP" per partition it feeds; "" for a last one), default endpoints. */
void ec_plan_next_args(const ec_graph *g, const ec_plan *p, int k, ec_buf *b);

/* Sizes for people in the plan's texts: "1.2 MB", "340 kB", "12 B". */
void ec_plan_human_bytes(double v, char *buf, size_t len);
/* The tensor partition q sends on ("" for none): the name the texts give its cut. */
const char *ec_plan_cut_name(const ec_graph *g, const ec_plan_part *q);

#endif
