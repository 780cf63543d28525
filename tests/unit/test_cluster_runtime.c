/* test_cluster_runtime.c — the clusters' runtime (runtime/ecrt_cluster.c) with the shared kernel
 * pool (kernels/xnnpack/eck_pool.c), without a model: a cluster thread that waits for a hand-off,
 * or has finished its cluster, helps with the operators another cluster publishes, even when it
 * fell asleep before they were published (a long step with nothing to split came first); every
 * tile runs exactly once; and no thread burns CPU between runs.
 *
 * The program: cluster 0 runs a step that splits nothing (a busy GAP_MS, as a reference kernel
 * or the Transpose before inception_v3's stem), then a wide operator (TILES tiles of TILE_US each,
 * through pthreadpool_parallelize_1d as XNNPACK calls it), then raises hand-off 0. Cluster 1
 * either waits for hand-off 0 (case "wait") or has one empty step and finishes at once (case
 * "finished"). Cluster 1's thread has long gone to sleep when the wide operator is published; it
 * must wake and run a share of its tiles. Before the fix (ecrt_clusters_published) it ran none. */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <pthreadpool.h>

#include "ecrt_cluster.h"
#include "eck_xnn.h"

#define GAP_MS 20
#define TILES 200
#define TILE_US 100
#define RUNS 3

static __thread int my_cluster = -1;

typedef struct prog {
  void *pool;
  ecrt_clusters k;
  int ready[1];
  unsigned char ran[TILES];      /* times each tile ran in this run */
  int by_cluster[2];             /* tiles each cluster's thread ran, over all runs */
} prog;

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void busy_us(double us) {
  double end = now_ms() + us / 1e3;
  while (now_ms() < end) {
  }
}

static void enter(int cluster) {
  my_cluster = cluster;
  eck_pool_enter(cluster);
}

static void tile(void *ctx, size_t i) {
  prog *p = ctx;
  busy_us(TILE_US);
  __atomic_add_fetch(&p->ran[i], 1, __ATOMIC_RELAXED);
  if (my_cluster == 0 || my_cluster == 1) __atomic_add_fetch(&p->by_cluster[my_cluster], 1, __ATOMIC_RELAXED);
}

static int step_gap(void *ctx) {
  (void)ctx;
  busy_us(GAP_MS * 1e3);
  return ECK_OK;
}

static int step_wide(void *ctx) {
  prog *p = ctx;
  pthreadpool_parallelize_1d((pthreadpool_t)p->pool, tile, p, TILES, 0);
  return ECK_OK;
}

static int step_none(void *ctx) {
  (void)ctx;
  return ECK_OK;
}

static const ecrt_step steps[] = {{"gap", "Gap", step_gap}, {"wide", "Wide", step_wide}, {"c1", "None", step_none}};

static int cluster0(ecrt_clusters *k, void *ctx) {
  (void)ctx;
  if (!ecrt_cluster_step(k, 0)) return 1;
  if (!ecrt_cluster_step(k, 1)) return 1;
  ecrt_cluster_ready(k, 0);
  return 0;
}

static int cluster1_waits(ecrt_clusters *k, void *ctx) {
  (void)ctx;
  if (!ecrt_cluster_wait(k, 0)) return 1;
  return !ecrt_cluster_step(k, 2);
}

static int cluster1_finishes(ecrt_clusters *k, void *ctx) {
  (void)ctx;
  return !ecrt_cluster_step(k, 2);
}

static double cpu_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* RUNS runs of the two clusters on `threads` threads (2: the cluster threads only; 3: one pool
 * worker too); the threads but cluster 0's must run at least a tenth of the wide operator's
 * tiles (at 2 threads, cluster 1's thread alone). */
static void check(ecrt_cluster_fn second, int threads) {
  static prog p;
  const ecrt_cluster_fn fns[2] = {cluster0, second};
  int started, bad_runs = 0, bad_tiles = 0;
  double idle_cpu;
  memset(&p, 0, sizeof p);
  p.pool = eck_pool_create_shared(threads, 2);
  assert_non_null(p.pool);
  assert_int_equal(ecrt_clusters_start(&p.k, fns, 2, p.ready, 1, steps, &p, threads, enter, eck_pool_help, p.pool,
                                       eck_pool_watch),
                   ECRT_OK);
  started = p.k.started;
  for (int r = 0; r < RUNS; r++) {
    int failed = -1;
    memset(p.ran, 0, sizeof p.ran);
    bad_runs += ecrt_clusters_run(&p.k, 3, NULL, &failed) != ECRT_OK;
    for (int i = 0; i < TILES; i++) bad_tiles += p.ran[i] != 1;
  }
  /* Between runs nothing spins: the process's CPU time stands still while it sleeps 200 ms (a pool
   * worker's last polls, about 0.5 ms, may fall inside). */
  idle_cpu = cpu_ms();
  struct timespec nap = {0, 200 * 1000 * 1000};
  nanosleep(&nap, NULL);
  idle_cpu = cpu_ms() - idle_cpu;
  /* Stopped before any assertion: a failed one leaves no thread behind. */
  ecrt_clusters_stop(&p.k);
  eck_pool_destroy(p.pool);
  print_message("threads %d: of %d tiles, cluster 0's thread ran %d, cluster 1's %d; %.1f ms CPU while idle\n",
                threads, RUNS * TILES, p.by_cluster[0], p.by_cluster[1], idle_cpu);
  assert_true(started);
  assert_int_equal(bad_runs, 0);
  assert_int_equal(bad_tiles, 0);
  assert_true((RUNS * TILES - p.by_cluster[0]) * 10 >= RUNS * TILES);
  assert_true(p.by_cluster[1] > 0);
  assert_true(idle_cpu < 20);
}

static void waiting_thread_helps(void **state) {
  (void)state;
  check(cluster1_waits, 2);
}

static void finished_thread_helps(void **state) {
  (void)state;
  check(cluster1_finishes, 2);
}

static void helps_beside_a_pool_worker(void **state) {
  (void)state;
  check(cluster1_waits, 3);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(waiting_thread_helps),
      cmocka_unit_test(finished_thread_helps),
      cmocka_unit_test(helps_beside_a_pool_worker),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
