/* ecrt_cluster.h — a partition's clusters (the planner's task clustering, docs/planner.md) on
 * threads of their own. C99 with POSIX threads; the hand-offs use the compiler's __atomic
 * builtins (C11's memory model: release to publish a tensor, acquire to read it).
 *
 * Threads and what they own: init starts n_clusters - 1 persistent workers (cluster 0 runs on
 * the caller), none per run. A run resets every ready flag, wakes the workers (a generation
 * count under mu), runs cluster 0, and returns once every cluster has finished; between runs the
 * workers sleep on a condition variable (none spins after a run). A cluster function runs its
 * steps in schedule order; before a step that reads another cluster's tensor it waits for that
 * tensor's ready flag (spinning briefly, then sleeping on hand_cv), after a step that writes
 * one it raises the flag. A failing cluster records its step and raises `failed`, which ends
 * every wait, so the error reaches the caller and no thread hangs. With fewer threads than
 * clusters nothing is started and a run walks the steps in schedule order on the caller (a valid
 * order of every cluster's steps). The generated context owns the ecrt_clusters and the flags.
 *
 * Intra-op threads: with a kernel pool shared by the clusters (kernels/xnnpack/eck_pool.c), each
 * thread enters its cluster's slot of the pool (enter), and a thread that waits for a hand-off or
 * has finished its cluster runs tiles other clusters published there (help) until the run ends,
 * so no thread idles while another cluster has work the pool can split. Both waits are bounded
 * spins (polls since the last tile it ran), then sleep until what they wait for, or until the
 * pool publishes tiles (the pool calls ecrt_clusters_published, registered through watch), when
 * they help again: a thread asleep through a step with nothing to split still helps with the
 * operators after it. No thread spins after a run. */
#ifndef ECRT_CLUSTER_H
#define ECRT_CLUSTER_H

#include <pthread.h>

#include "ecrt.h"

#define ECRT_MAX_CLUSTERS 64

typedef struct ecrt_clusters ecrt_clusters;

/* What a worker thread is started with: its context and the cluster it runs. */
typedef struct ecrt_cluster_worker {
  ecrt_clusters *k;
  int index;
} ecrt_cluster_worker;

/* A cluster: runs its steps, returns 0, or an ECK_* status after ecrt_cluster_failed. */
typedef int (*ecrt_cluster_fn)(ecrt_clusters *k, void *ctx);

struct ecrt_clusters {
  const ecrt_cluster_fn *fns;
  int n_clusters;
  int started;                   /* workers running: the run is clustered */
  int *ready;                    /* one flag per hand-off, reset per run */
  int n_ready;
  void *ctx;
  const ecrt_step *steps;
  /* Several models (ecrt_run_steps_for): per step the models that need it, NULL for one model;
   * the models of this run, set before ecrt_clusters_run. */
  const uint32_t *step_models;
  uint32_t models;
  uint64_t *prof_ns;             /* the run's per-step profile (NULL: none) */
  uint64_t *timeline;            /* the run's ecrt_ctx.prof_timeline (NULL: none) */
  uint64_t t0;                   /* when the run began (ns), with a timeline */
  void (*enter)(int cluster);    /* the calling thread runs this cluster (NULL: no pool) */
  int (*help)(void *pool);       /* runs tiles published in pool, returns how many (NULL: none) */
  void *pool;
  int live;                      /* atomic: clusters of this run not finished */
  int failed;                    /* atomic: some cluster failed in this run */
  int failed_step;               /* under mu */
  int failed_rc;                 /* under mu: the kernel status of failed_step */
  int sleepers;                  /* atomic: threads asleep on hand_cv */
  unsigned tiles;                /* atomic, raised under mu: tiles published while some slept */
  void (*watch)(void *pool, void (*published)(void *), void *clusters); /* NULL: not watching */
  pthread_mutex_t mu;
  pthread_cond_t go_cv, done_cv, hand_cv;
  unsigned gen;                  /* under mu: run number the workers follow */
  int running;                   /* under mu: workers still in this run */
  int stop;                      /* under mu */
  pthread_t workers[ECRT_MAX_CLUSTERS];
  ecrt_cluster_worker wargs[ECRT_MAX_CLUSTERS];
  int n_workers;
};

/* Starts the workers when threads >= n_clusters > 1 (else the runs are sequential). ready holds
 * n_ready ints the context keeps. enter, help and pool: the kernels' pool shared by the clusters
 * (all NULL without one); watch(pool, fn, k) has the pool call fn(k) after it publishes tiles
 * (fn NULL: no more calls; watch NULL: threads asleep are not woken for tiles). ECRT_ERR_NOMEM
 * when a thread cannot be made (the ones made are stopped). */
ecrt_status ecrt_clusters_start(ecrt_clusters *k, const ecrt_cluster_fn *fns, int n_clusters, int *ready,
                                int n_ready, const ecrt_step *steps, void *ctx, int threads,
                                void (*enter)(int cluster), int (*help)(void *pool), void *pool,
                                void (*watch)(void *pool, void (*published)(void *), void *clusters));
/* What the pool calls (on the publishing thread) after it published tiles: wakes the threads
 * asleep in a wait, so they help. Cheap when none sleeps (a fence and a load). */
void ecrt_clusters_published(void *clusters);
/* Joins the workers; a second call does nothing. */
void ecrt_clusters_stop(ecrt_clusters *k);
/* One run: the clusters side by side, or the n steps in order when not started. ECRT_ERR_KERNEL
 * with *failed set to the step that failed (the first one recorded). */
ecrt_status ecrt_clusters_run(ecrt_clusters *k, int n, uint64_t *prof_ns, int *failed);

/* Inside a cluster function: wait for hand-off h (0 when the run failed elsewhere), run step s
 * (0 on success, else failure recorded), raise hand-off h. */
int ecrt_cluster_wait(ecrt_clusters *k, int h);
int ecrt_cluster_step(ecrt_clusters *k, int s);
void ecrt_cluster_ready(ecrt_clusters *k, int h);

#endif
