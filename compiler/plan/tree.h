/* tree.h — placement of a tree of blocks onto an ordered list of devices: the joint plan of
 * several merged models (issue 15, docs/merging.md "Joint plan"). The merged graph's shared trunk
 * is the root's chain, and after each branch point each model's head is its own chain, so the
 * blocks form a tree (a forest when some model shares no input with the others). Each block is
 * placed on one device; along every edge the device index never decreases (the list's order, as
 * the chain DP of partition.h keeps it).
 *
 * Pure arithmetic, like partition.h: the caller supplies the numbers.
 * - compute[b * D + d]: block b on device d (INFINITY: cannot run there);
 * - need[b]: how much of the objective block b carries (NULL: 1 each). With --mix it is the share
 *   of requests that run b (the mix weights of the models whose outputs b leads to), so the
 *   latency objective is the expected latency of one model's request drawn from the mix; without,
 *   1 for every block: the latency of one request to every model (sequential, as a chain runs it);
 * - edge_ms[(b * D + e) * D + d]: sending what block b reads from its parent from device e to d;
 * - memory per device (<= capacity[d]; <= 0: unlimited): the weights of its blocks (each block's
 *   counted once) plus the largest arena of its blocks, plus staging: recv_bytes[b] on b's device
 *   when b is a root or its parent is on another device, send_bytes[b] on the parent's device when
 *   b is on another one, out_bytes[b] (the graph outputs b produces) on b's device.
 * Objectives:
 * - EC_OBJ_LATENCY: the sum over blocks of need * compute, plus need[child] * edge_ms for every
 *   edge whose ends are on two devices;
 * - EC_OBJ_THROUGHPUT: the slowest stage: each device's sum of need * compute, each link's (e, d)
 *   sum of need * edge_ms; among equal ones the lowest latency.
 * With leaves_together every leaf is on one device (which is then the last device used): what a
 * chain of partitions can carry out, its last partition returning every model's outputs.
 *
 * Exactness: a device's memory is shared by the subtrees placed on it, so a DP keeping one best
 * value per (block, device) is not exact. This one keeps, per block and device, the Pareto set of
 * (objective, per-device weights+staging, per-device largest arena[, per-device and per-link
 * load]) vectors of the subtree's placements, pruned by dominance and by capacity; every term only
 * grows (sums) or takes a maximum as subtrees join, so a dominated partial placement never
 * completes better. tests/unit/plan/test_tree.c checks it against brute force. */
#ifndef EC_TREE_H
#define EC_TREE_H

#include "partition.h"

/* Sets larger than this are refused (EC_ERR_MODEL): the caller falls back to a chain plan. */
#define EC_TREE_MAX_STATES 200000

typedef struct ec_tree_problem {
  int n_blocks;                 /* B >= 1 */
  int n_devices;                /* D >= 1, at most 16 */
  const int *parent;            /* B: parent block (< b), -1 for a root */
  const double *compute;        /* B x D */
  const double *need;           /* B, or NULL */
  const double *edge_ms;        /* B x D x D (rows of roots unused) */
  const double *weight_bytes;   /* B, or NULL */
  const double *arena_bytes;    /* B, or NULL */
  const double *recv_bytes;     /* B, or NULL */
  const double *send_bytes;     /* B, or NULL */
  const double *out_bytes;      /* B, or NULL */
  const double *capacity;       /* D, or NULL */
  ec_objective objective;
  bool leaves_together;
} ec_tree_problem;

typedef struct ec_tree_plan {
  int *block_device;            /* B */
  double latency;               /* the latency objective's value */
  double bottleneck;            /* slowest stage (device or link load) */
  double memory[16];            /* bytes used per device */
  long states;                  /* Pareto states kept over the whole DP */
} ec_tree_plan;

/* The best placement. EC_ERR_MODEL (with a message) when none fits, or the Pareto sets grow past
 * EC_TREE_MAX_STATES; EC_ERR_USAGE for a malformed problem. */
ec_status ec_tree_solve(const ec_tree_problem *p, ec_tree_plan *out, ec_diag *d);
/* Figures of a given placement; *feasible: device order along edges, capacities, compute finite
 * and (leaves_together) one leaf device. */
ec_status ec_tree_eval(const ec_tree_problem *p, const int *block_device, ec_tree_plan *out, bool *feasible);
void ec_tree_plan_free(ec_tree_plan *p);

#endif
