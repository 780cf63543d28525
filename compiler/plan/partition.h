/* partition.h — placement of a chain of blocks onto an ordered list of devices: contiguous
 * ranges, one per used device, in device order, minimising latency or the slowest stage.
 *
 * The planner's caller (cost model, CLI) supplies the numbers; this file is pure arithmetic:
 * - compute[b * n_devices + d]: predicted time of block b on device d (any unit, used
 *   consistently; INFINITY: block b cannot run on d);
 * - the transfer time of cut c (the tensor crossing from block c to block c + 1) from device a
 *   to device b: latency + bytes / bandwidth from a link matrix, or a caller's function;
 * - optionally each block's weight and arena bytes and each device's capacity.
 * Objectives (docs/planner.md):
 * - EC_OBJ_LATENCY: sum of the used devices' compute and of the transfers between them;
 * - EC_OBJ_THROUGHPUT: the slowest pipeline stage, where each partition's compute is a stage
 *   and each transfer is a stage of its own (the link is a separate resource: the sender hands
 *   the frame to the kernel and the receiver lands it in a staging buffer while computing).
 *   Among plans with the same slowest stage, the lowest latency wins.
 * Memory: a partition holding blocks [i, j) needs the sum of their weights plus the largest of
 * their arenas (consecutive blocks reuse the arena; the cut tensor between them is inside both
 * blocks' arenas), plus the buffers outside the arena at its two ends: what it receives into
 * (recv_bytes[i]) and what it sends from (send_bytes[j-1]). It must not exceed the device's
 * capacity.
 * Ties: the same inputs always give the same plan (see docs/planner.md for the order). */
#ifndef EC_PARTITION_H
#define EC_PARTITION_H

#include "ir.h"

typedef enum ec_objective { EC_OBJ_LATENCY = 0, EC_OBJ_THROUGHPUT = 1 } ec_objective;

/* One direction of a link: time = latency + bytes / bytes_per_time. */
typedef struct ec_dp_link {
  double latency;
  double bytes_per_time; /* > 0 */
} ec_dp_link;

/* Transfer time of cut `cut` from device `from` to device `to` (from < to). */
typedef double (*ec_transfer_fn)(void *ctx, int cut, int from, int to);

typedef struct ec_part_problem {
  int n_blocks;                /* B >= 1 */
  int n_devices;               /* D >= 1 */
  const double *compute;       /* B x D, row-major by block, >= 0 or INFINITY */
  /* Transfers: `transfer` when set, else latency + cut_bytes[c] / bandwidth from links. */
  const double *cut_bytes;     /* B - 1 entries */
  const ec_dp_link *links;        /* D x D, [from * D + to] */
  ec_transfer_fn transfer;
  void *transfer_ctx;
  /* Memory (all optional: NULL means zero / unlimited). */
  const double *block_weight_bytes; /* B */
  const double *block_arena_bytes;  /* B */
  /* Staging buffers (optional, NULL: none): a partition whose first block is b receives into
   * recv_bytes[b] bytes (b = 0: the graph inputs), one whose last block is b sends from
   * send_bytes[b] bytes (b = B-1: the graph outputs). */
  const double *recv_bytes;         /* B */
  const double *send_bytes;         /* B */
  const double *device_capacity;    /* D; <= 0 means unlimited */
  const char *const *device_names;  /* D, for messages; NULL: "device #k" */
  const char *const *cut_names;     /* B - 1, for messages (tensor names); may be NULL */
  ec_objective objective;
  int n_parts;                 /* 0: free choice; else exactly this many partitions */
  /* Forced cuts (--split-at): the partitions end exactly at these cut indices (0..B-2), and
   * nowhere else. NULL / 0: free choice. */
  const int *forced_cuts;
  int n_forced_cuts;
} ec_part_problem;

typedef struct ec_dp_part {
  int device;
  int first_block, end_block;  /* blocks [first_block, end_block) */
  double compute;              /* sum of the blocks' compute on the device */
  double transfer_out;         /* time to send the cut after it to the next partition (0: last) */
  double memory;               /* weights + largest arena + staging, bytes */
  double staging;              /* recv_bytes of its first block + send_bytes of its last */
} ec_dp_part;

typedef struct ec_part_plan {
  ec_dp_part *parts;
  int n_parts;
  int *block_device;           /* B entries */
  double latency;              /* sum of compute and transfers */
  double bottleneck;           /* slowest stage (compute or transfer) */
} ec_part_plan;

/* Finds the best plan. Errors (EC_ERR_MODEL with a message): inconsistent forced cuts or
 * partition count, more partitions than devices or blocks, and plans that do not fit in
 * memory (naming the device that overflows in the best plan without the memory limit, or the
 * block that fits on no device). Invalid arguments (negative times, NaN, bad sizes) are
 * EC_ERR_USAGE. */
ec_status ec_partition_plan(const ec_part_problem *p, ec_part_plan *out, ec_diag *d);
void ec_part_plan_free(ec_part_plan *plan);

/* Evaluates a given placement (block_device: B entries, non-decreasing over used devices,
 * contiguous per device) into `out` without any constraint check other than the shape. Used
 * for reporting a manual plan and by the tests. */
ec_status ec_partition_eval(const ec_part_problem *p, const int *block_device,
                            ec_part_plan *out, ec_diag *d);

#endif
