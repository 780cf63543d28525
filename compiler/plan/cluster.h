/* cluster.h — task clustering inside one partition (Das & Rauchwerger, IPDPS'24): independent
 * branches (GoogLeNet's, Inception's) run as clusters on their own threads.
 *
 * The core is pure arithmetic over a small problem, like partition.h: tasks 0..n-1 in a
 * topological order (every edge goes from a lower to a higher index), a weight per task (its
 * predicted time), and per edge the cost of handing its tensor to another thread (paid only when
 * the two ends land in different clusters). ec_cluster_solve:
 *   1. distance-to-end of every task by one reverse topological pass: its weight plus the
 *      largest (edge cost + distance-to-end) among its successors;
 *   2. linear clustering: from the unclustered task with the largest distance-to-end, follow
 *      the unclustered successor with the largest (edge cost + distance-to-end) while one is
 *      left; that path is a cluster; repeat until every task has one;
 *   3. merging: while more clusters than max_clusters remain, or a cluster's work does not pay
 *      for its hand-offs, the lightest such cluster is merged into the one that gives the
 *      shortest predicted makespan; then any merge that shortens the makespan is taken;
 *   4. the schedule: each cluster runs its tasks in index order on one thread, waiting for the
 *      tasks of other clusters it reads (makespan by simulation, ec_cluster_makespan);
 *   5. one cluster when the makespan is not at least min_gain shorter than baseline_ms (the best
 *      single-cluster program; the sum of the weights when baseline_ms is 0).
 * Ties break towards the lowest index: the same problem always gives the same clusters. Any
 * clustering is deadlock-free run that way: a task only waits for tasks of lower index.
 *
 * The planner's side, ec_plan_clusters, builds the problem for a partition from the graph and
 * the cost model (node times on the device, hand-off = the target's sync_us + bytes / mem_gbps)
 * under --parallel intra|inter|auto, predicts each clustering as the generated code runs it (the
 * clusters' threads sharing one kernel pool: ec_cluster_makespan_pool; oneDNN's steps on OpenMP
 * teams of their own, sized by ec_cluster_teams) and records the fastest on ec_plan_part, with
 * each oneDNN step's team. */
#ifndef EC_CLUSTER_H
#define EC_CLUSTER_H

#include "ir.h"

typedef struct ec_cluster_problem {
  int n;                 /* tasks, topologically ordered */
  const double *weight;  /* n, >= 0 */
  int n_edges;
  const int *src, *dst;  /* n_edges, src[e] < dst[e] (duplicates allowed) */
  const double *cost;    /* n_edges: the hand-off cost when src and dst are in different clusters */
  int max_clusters;      /* >= 1: the thread budget */
  double min_gain;       /* e.g. 0.05: fewer than (1 + min_gain) times faster -> one cluster */
  double baseline_ms;    /* the single-cluster program's time; 0: the sum of the weights */
  /* n, or NULL for none: tasks whose kernel fixes its thread team when it is created (oneDNN's
   * primitives on OpenMP): such a task runs on the team ec_cluster_teams gives it, never on the
   * shared pool, and no waiting cluster's thread can help it. */
  const uint8_t *team;
} ec_cluster_problem;

typedef struct ec_cluster_result {
  int n_clusters;
  int *cluster;          /* n: the task's cluster, 0..n_clusters-1, numbered by first task */
  double *dte;           /* n: distance-to-end */
  int n_linear;          /* clusters linear clustering made before merging */
  int *linear;           /* n: the task's linear cluster, numbered in the order they were found */
  double serial_ms;      /* sum of the weights */
  double baseline_ms;    /* what the gain is measured against */
  double makespan_ms;    /* predicted time of the clusters run side by side (the chosen ones) */
  double clustered_ms;   /* the best makespan found with more than one cluster (0: none) */
  double *cluster_ms;    /* n_clusters: the work of each cluster */
} ec_cluster_result;

/* Solves p into r (r is overwritten; free it with ec_cluster_result_free). EC_ERR_INTERNAL on
 * out of memory, EC_ERR_USAGE on a malformed problem (an edge not going forward). */
ec_status ec_cluster_solve(const ec_cluster_problem *p, ec_cluster_result *r);
void ec_cluster_result_free(ec_cluster_result *r);

/* Predicted time of running the tasks with the given clustering on `threads` threads that share
 * one kernel pool, as the generated code does: each cluster's thread runs its tasks in index
 * order, waiting for other clusters' tasks plus the edge's cost; the threads no task is running
 * on (waiting, finished, or left over when threads > clusters) join running tasks, one at a time
 * to the task with the most time left; a fixed-team task (p->team) runs on its team
 * (ec_cluster_teams), which the pool neither joins nor lends to. wt[(t - 1) * n + v] is task v's time on t threads
 * (t = 1..threads). With one cluster it is the sum of the tasks' times on every thread. Returns a
 * negative value on out of memory. */
double ec_cluster_makespan_pool(const ec_cluster_problem *p, const int *cluster, int threads, const double *wt);

/* The team of each fixed-team task (p->team) under a clustering on `threads` threads; 0 for
 * the other tasks. A task that no task of another cluster may run beside (every one happens
 * before or after it: the hand-offs' edges and each cluster's program order) may take every
 * thread; one that r - 1 other clusters may run beside, threads / r (at least 1), so tasks
 * running at the same time never hold more than `threads` between them. Within that cap, the
 * count with the least wt[(t - 1) * n + v] (the fewest threads among equals); wt NULL: the cap.
 * Returns 0, or -1 on out of memory. */
int ec_cluster_teams(const ec_cluster_problem *p, const int *cluster, int threads, const double *wt, int *team);

/* Refines a clustering for the shared pool (auto's own candidate): a group is a set of tasks of
 * one cluster joined by edges inside it (a branch, or the trunk of a block); while moving a whole
 * group into another cluster shortens ec_cluster_makespan_pool(p, cluster, threads, wt), the best
 * such move is made (ties to the lowest group, then the lowest cluster). A group moved into the
 * trunk's cluster turns its block into a stretch run on every thread; one left alone runs side by
 * side with the others. Clusters emptied are dropped and the rest renumbered by first task, so
 * the result may be one cluster. Returns the refined makespan, negative on out of memory. */
double ec_cluster_refine_pool(const ec_cluster_problem *p, int *cluster, int threads, const double *wt);

/* Distance-to-end of every task (out: n entries). */
void ec_cluster_dte(const ec_cluster_problem *p, double *out);
/* Predicted time of running the tasks with the given clustering: each cluster on its own
 * thread, its tasks in index order, waiting for other clusters' tasks plus the edge's cost.
 * Returns a negative value on out of memory. */
double ec_cluster_makespan(const ec_cluster_problem *p, const int *cluster);

#endif
