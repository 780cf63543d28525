/* test_cluster.c — task clustering (compiler/plan/cluster.h) on hand-made DAGs whose answers are
 * worked out by hand: distance-to-end, linear clustering, merging under the budget, clusters
 * that do not pay for their hand-offs, a chain; and on seeded random DAGs: the budget is never
 * exceeded, the reported makespan is the clustering's, and the same problem gives the same
 * clusters; oneDNN-family tasks (a fixed OpenMP team) on hand-made DAGs and the teams' thread
 * budget against a brute-force partial order on random ones. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cluster.h"

static ec_cluster_problem problem(int n, const double *w, int ne, const int *src, const int *dst,
                                  const double *cost, int budget, double gain) {
  ec_cluster_problem p = {n, w, ne, src, dst, cost, budget, gain, 0, NULL};
  return p;
}

/* 0 -> 1 -> 3, 0 -> 2 -> 3; weights 1 5 2 1, every edge 1. */
static void test_dte_diamond(void **state) {
  (void)state;
  const double w[] = {1, 5, 2, 1}, c[] = {1, 1, 1, 1};
  const int s[] = {0, 0, 1, 2}, d[] = {1, 2, 3, 3};
  ec_cluster_problem p = problem(4, w, 4, s, d, c, 4, 0);
  double dte[4];
  ec_cluster_dte(&p, dte);
  /* dte(3) = 1; dte(1) = 5 + 1 + 1; dte(2) = 2 + 1 + 1; dte(0) = 1 + max(1 + 7, 1 + 4). */
  assert_true(dte[3] == 1 && dte[1] == 7 && dte[2] == 4 && dte[0] == 9);
  ec_cluster_result r;
  assert_int_equal(ec_cluster_solve(&p, &r), EC_OK);
  for (int v = 0; v < 4; v++) assert_true(r.dte[v] == dte[v]);
  /* The critical path 0-1-3 first, then 2 alone. */
  assert_int_equal(r.n_linear, 2);
  const int lin[] = {0, 0, 1, 0};
  for (int v = 0; v < 4; v++) assert_int_equal(r.linear[v], lin[v]);
  ec_cluster_result_free(&r);
}

/* Fork-join: 0 -> {1, 2, 3} -> 4, branches of 10, 8 and 6 ms, hand-offs 0.1 ms. */
static const double fj_w[] = {1, 10, 8, 6, 1}, fj_c[] = {0.1, 0.1, 0.1, 0.1, 0.1, 0.1};
static const int fj_s[] = {0, 0, 0, 1, 2, 3}, fj_d[] = {1, 2, 3, 4, 4, 4};

static void test_linear_fork_join(void **state) {
  (void)state;
  ec_cluster_problem p = problem(5, fj_w, 6, fj_s, fj_d, fj_c, 8, 0);
  ec_cluster_result r;
  assert_int_equal(ec_cluster_solve(&p, &r), EC_OK);
  /* The heaviest branch with the fork and the join, then each other branch on its own. */
  assert_int_equal(r.n_linear, 3);
  const int lin[] = {0, 0, 1, 2, 0};
  for (int v = 0; v < 5; v++) assert_int_equal(r.linear[v], lin[v]);
  /* With 8 threads nothing needs merging: the three branches side by side. The join runs after
   * the critical branch on its thread (1 + 10 + 1); the others hand over by 1.1 + 8 + 0.1. */
  assert_int_equal(r.n_clusters, 3);
  assert_true(fabs(r.makespan_ms - 12) < 1e-9);
  assert_true(r.serial_ms == 26);
  ec_cluster_result_free(&r);
}

static void test_merge_to_budget(void **state) {
  (void)state;
  ec_cluster_problem p = problem(5, fj_w, 6, fj_s, fj_d, fj_c, 2, 0.05);
  ec_cluster_result r;
  assert_int_equal(ec_cluster_solve(&p, &r), EC_OK);
  /* Merging: the lightest branch (6) joins the 8 ms one (makespan 16.2, against 18 with the
   * critical path); then moving the fork and the join to that thread leaves the long branch
   * alone on the other: 1 + 8 + 6 + 1 = 16, the optimum (the two short branches, fork and join
   * take 16 ms on one thread whatever the other does). */
  assert_int_equal(r.n_clusters, 2);
  assert_int_equal(r.cluster[0], r.cluster[2]);
  assert_int_equal(r.cluster[2], r.cluster[3]);
  assert_int_equal(r.cluster[3], r.cluster[4]);
  assert_int_not_equal(r.cluster[1], r.cluster[0]);
  assert_true(fabs(r.makespan_ms - 16) < 1e-9);
  assert_true(fabs(ec_cluster_makespan(&p, r.cluster) - 16) < 1e-9);
  assert_true(fabs(r.cluster_ms[0] - 16) < 1e-9 && fabs(r.cluster_ms[1] - 10) < 1e-9);
  ec_cluster_result_free(&r);
  /* One thread: one cluster. */
  p.max_clusters = 1;
  assert_int_equal(ec_cluster_solve(&p, &r), EC_OK);
  assert_int_equal(r.n_clusters, 1);
  assert_true(r.makespan_ms == 26);
  ec_cluster_result_free(&r);
}

/* A branch of 0.01 ms that costs two hand-offs of 1 ms is merged away, though the makespan with
 * it (12) is below the serial 12.01 and no gain threshold applies. */
static void test_handoffs_must_pay(void **state) {
  (void)state;
  const double w[] = {1, 10, 0.01, 1}, c[] = {1, 1, 1, 1};
  const int s[] = {0, 0, 1, 2}, d[] = {1, 2, 3, 3};
  ec_cluster_problem p = problem(4, w, 4, s, d, c, 4, 0);
  ec_cluster_result r;
  assert_int_equal(ec_cluster_solve(&p, &r), EC_OK);
  assert_int_equal(r.n_linear, 2);
  assert_int_equal(r.n_clusters, 1);
  for (int v = 0; v < 4; v++) assert_int_equal(r.cluster[v], 0);
  ec_cluster_result_free(&r);
}

/* A chain has nothing to run side by side: one linear cluster, one cluster. */
static void test_chain_one_cluster(void **state) {
  (void)state;
  double w[10], c[9];
  int s[9], d[9];
  for (int i = 0; i < 10; i++) w[i] = 1 + i;
  for (int i = 0; i < 9; i++) s[i] = i, d[i] = i + 1, c[i] = 0.001;
  ec_cluster_problem p = problem(10, w, 9, s, d, c, 4, 0);
  ec_cluster_result r;
  assert_int_equal(ec_cluster_solve(&p, &r), EC_OK);
  assert_int_equal(r.n_linear, 1);
  assert_int_equal(r.n_clusters, 1);
  assert_true(r.makespan_ms == 55);
  ec_cluster_result_free(&r);
}

/* Below the gain threshold, one cluster: a 4.2% gain with min_gain 5%, kept with 4%. */
static void test_small_gain_one_cluster(void **state) {
  (void)state;
  /* 0 -> {1: 10, 2: 0.5} -> 3 with no hand-off cost: clustered 1 + 10 + 1 = 12, serial 12.5. */
  const double w[] = {1, 10, 0.5, 1}, c[] = {0, 0, 0, 0};
  const int s[] = {0, 0, 1, 2}, d[] = {1, 2, 3, 3};
  ec_cluster_problem p = problem(4, w, 4, s, d, c, 2, 0.05);
  ec_cluster_result r;
  assert_int_equal(ec_cluster_solve(&p, &r), EC_OK);
  assert_int_equal(r.n_clusters, 1);
  assert_true(fabs(r.clustered_ms - 12) < 1e-9);
  ec_cluster_result_free(&r);
  p.min_gain = 0.04;
  assert_int_equal(ec_cluster_solve(&p, &r), EC_OK);
  assert_int_equal(r.n_clusters, 2);
  ec_cluster_result_free(&r);
}

static uint64_t rng = 12345;
static uint32_t rnd(uint32_t n) {
  rng = rng * 6364136223846793005ull + 1442695040888963407ull;
  return (uint32_t)(rng >> 33) % n;
}

/* Seeded random DAGs: never more clusters than the budget, the makespan reported is the
 * clustering's, a clustering is kept only with its gain, and solving again gives the same. */
static void test_random_budget(void **state) {
  (void)state;
  enum { N = 40, E = 120 };
  for (int trial = 0; trial < 300; trial++) {
    int n = 2 + (int)rnd(N - 1), ne = 0;
    double w[N], c[E];
    int s[E], d[E];
    for (int v = 0; v < n; v++) w[v] = (double)rnd(1000) / 100.0;
    for (int e = 0; e < E && e < 3 * n; e++) {
      int a = (int)rnd((uint32_t)n), b = (int)rnd((uint32_t)n);
      if (a == b) continue;
      s[ne] = a < b ? a : b, d[ne] = a < b ? b : a, c[ne++] = (double)rnd(100) / 100.0;
    }
    int budget = 1 + (int)rnd(4);
    ec_cluster_problem p = problem(n, w, ne, s, d, c, budget, 0.05);
    ec_cluster_result r, r2;
    assert_int_equal(ec_cluster_solve(&p, &r), EC_OK);
    assert_true(r.n_clusters >= 1 && r.n_clusters <= budget);
    for (int v = 0; v < n; v++) assert_true(r.cluster[v] >= 0 && r.cluster[v] < r.n_clusters);
    double m = ec_cluster_makespan(&p, r.cluster);
    assert_true(fabs(m - r.makespan_ms) < 1e-9);
    if (r.n_clusters > 1) assert_true(r.makespan_ms * 1.05 <= r.serial_ms + 1e-9);
    else assert_true(r.makespan_ms == r.serial_ms);
    assert_int_equal(ec_cluster_solve(&p, &r2), EC_OK);
    assert_int_equal(r2.n_clusters, r.n_clusters);
    assert_memory_equal(r.cluster, r2.cluster, sizeof(int) * (size_t)n);
    ec_cluster_result_free(&r);
    ec_cluster_result_free(&r2);
  }
}

static void test_bad_edge(void **state) {
  (void)state;
  const double w[] = {1, 1}, c[] = {0};
  const int s[] = {1}, d[] = {0};
  ec_cluster_problem p = problem(2, w, 1, s, d, c, 2, 0);
  ec_cluster_result r;
  assert_int_equal(ec_cluster_solve(&p, &r), EC_ERR_USAGE);
}

/* The diamond 0 -> {1, 2} -> 3 on 2 threads sharing one pool, clusters {0, 1, 3} and {2}: task 0
 * on both threads (2), then 1 and 2 side by side (1 thread each; 2 ends at 4 with 1 two-thirds
 * left), then 1 on both (2/3 * 3.5), then 3 on both (2): 8 1/3. With hand-offs of 0.5, 1 starts
 * alone on both threads for 0.5 and 2 ends at 4.5; 3 waits for 1 (6 1/3): 8 1/3 again. One
 * cluster is the sum of the two-thread times; a task whose time does not fall with threads (a
 * reference kernel) gets no second thread, so it ends when its own thread's time says. */
static void test_makespan_pool(void **state) {
  (void)state;
  const double wt[] = {4, 6, 2, 4, /* 2 threads: */ 2, 3.5, 1.2, 2};
  const double c0[] = {0, 0, 0, 0}, c5[] = {0.5, 0.5, 0.5, 0.5};
  const int s[] = {0, 0, 1, 2}, d[] = {1, 2, 3, 3};
  const int two[] = {0, 0, 1, 0}, one[] = {0, 0, 0, 0};
  ec_cluster_problem p = problem(4, wt, 4, s, d, c0, 2, 0);
  assert_true(fabs(ec_cluster_makespan_pool(&p, two, 2, wt) - 25.0 / 3) < 1e-9);
  assert_true(fabs(ec_cluster_makespan_pool(&p, one, 2, wt) - 8.7) < 1e-9);
  assert_true(fabs(ec_cluster_makespan_pool(&p, one, 1, wt) - 16) < 1e-9);
  p.cost = c5;
  assert_true(fabs(ec_cluster_makespan_pool(&p, two, 2, wt) - 25.0 / 3) < 1e-9);
  /* Task 1 on a reference kernel (6 ms on any count): 0 (2), then 1 and 2 side by side; 2 ends
   * at 4, 1 at 8 on its one thread; 3 (2) ends at 10. */
  const double wref[] = {4, 6, 2, 4, 2, 6, 1.2, 2};
  p.cost = c0;
  assert_true(fabs(ec_cluster_makespan_pool(&p, two, 2, wref) - 10) < 1e-9);
}

/* auto's refinement (ec_cluster_refine_pool) on a fork-join 0 -> {1, 2} -> 3 starting from the
 * linear clusters {0, 1, 3} and {2}. Small branches that split poorly (4 ms on one thread, 3.5 on
 * two) stay side by side: 0 on both threads (0.5); 1 on both until 2 may start after its 0.1
 * hand-off (1/35 of it done), then each on one thread until 1 ends (136/35 later), then the rest
 * of 2 (1/35) on both (0.1), 3 after 2's hand-off on both (0.5): 363/70 (5.19), against 8 as one
 * stretch. */
static void test_refine_keeps_small_branches(void **state) {
  (void)state;
  const double wt[] = {1, 4, 4, 1, /* 2 threads: */ 0.5, 3.5, 3.5, 0.5};
  const double c[] = {0.1, 0.1, 0.1, 0.1};
  const int s[] = {0, 0, 1, 2}, d[] = {1, 2, 3, 3};
  ec_cluster_problem p = problem(4, wt, 4, s, d, c, 2, 0);
  int cl[] = {0, 0, 1, 0};
  double m = ec_cluster_refine_pool(&p, cl, 2, wt);
  assert_true(fabs(m - 363.0 / 70) < 1e-9);
  const int want[] = {0, 0, 1, 0};
  for (int v = 0; v < 4; v++) assert_int_equal(cl[v], want[v]);
}

/* The same fork-join with branches that split perfectly (4 ms, 2 on two threads) and dear
 * hand-offs (1 ms): side by side it is 6 (node 1 on both threads until 2 may start at 1.5, both
 * on one thread until 1 ends at 3.5, then 2 on both until 4.5, 3 starts after the hand-off at
 * 5.5); as one stretch on both threads 0.5 + 2 + 2 + 0.5 = 5, so the branch {2} joins the trunk
 * and one cluster is left. */
static void test_refine_joins_big_branches(void **state) {
  (void)state;
  const double wt[] = {1, 4, 4, 1, /* 2 threads: */ 0.5, 2, 2, 0.5};
  const double c[] = {1, 1, 1, 1};
  const int s[] = {0, 0, 1, 2}, d[] = {1, 2, 3, 3};
  ec_cluster_problem p = problem(4, wt, 4, s, d, c, 2, 0);
  int cl[] = {0, 0, 1, 0};
  assert_true(fabs(ec_cluster_makespan_pool(&p, cl, 2, wt) - 6) < 1e-9);
  assert_true(fabs(ec_cluster_refine_pool(&p, cl, 2, wt) - 5) < 1e-9);
  for (int v = 0; v < 4; v++) assert_int_equal(cl[v], 0);
}

/* Both blocks in one graph, 0 -> {1, 2} -> 3 -> {4, 5} -> 6: the first block's small branches
 * (edges 0.1) stay side by side, the second block's big ones (edges 1) become a stretch on both
 * threads: the mix per block that inter's clustering ({2, 5} on their own thread) does not make.
 * First block as above (3 ends at 363/70), then 4 and 5 as one stretch (2 + 2) and 6 (0.5); the
 * split second block would take 1 ms more (as in the test above). */
static void test_refine_mixes_per_block(void **state) {
  (void)state;
  const double wt[] = {1, 4, 4, 1, 4, 4, 1, /* 2 threads: */ 0.5, 3.5, 3.5, 0.5, 2, 2, 0.5};
  const double c[] = {0.1, 0.1, 0.1, 0.1, 1, 1, 1, 1};
  const int s[] = {0, 0, 1, 2, 3, 3, 4, 5}, d[] = {1, 2, 3, 3, 4, 5, 6, 6};
  ec_cluster_problem p = problem(7, wt, 8, s, d, c, 2, 0);
  int cl[] = {0, 0, 1, 0, 0, 1, 0};
  double split = ec_cluster_makespan_pool(&p, cl, 2, wt);
  double m = ec_cluster_refine_pool(&p, cl, 2, wt);
  assert_true(fabs(m - (363.0 / 70 + 4.5)) < 1e-9 && fabs(split - (363.0 / 70 + 5.5)) < 1e-9);
  const int want[] = {0, 0, 1, 0, 0, 0, 0};
  for (int v = 0; v < 7; v++) assert_int_equal(cl[v], want[v]);
}

/* oneDNN-family tasks (p.team): their OpenMP team is fixed, a waiting cluster's thread cannot
 * help them. Fork-join 0 -> {1, 2} -> 3, clusters {0, 1, 3} and {2}: 0 and 3 have no task of the
 * other cluster beside them (every one before or after) and take both threads; 1 and 2 may run
 * side by side, one each. Where a second thread does not pay (3: 1 ms on 1 or 2), one. */
static void test_teams_fork_join(void **state) {
  (void)state;
  const double wt[] = {1, 4, 4, 1, /* 2 threads: */ 0.5, 3.5, 3.5, 1};
  const double c[] = {0.1, 0.1, 0.1, 0.1};
  const int s[] = {0, 0, 1, 2}, d[] = {1, 2, 3, 3};
  const uint8_t fixed[] = {1, 1, 1, 1};
  ec_cluster_problem p = problem(4, wt, 4, s, d, c, 2, 0);
  p.team = fixed;
  const int two[] = {0, 0, 1, 0}, one[] = {0, 0, 0, 0};
  int team[4];
  assert_int_equal(ec_cluster_teams(&p, two, 2, wt, team), 0);
  const int want[] = {2, 1, 1, 1};
  for (int v = 0; v < 4; v++) assert_int_equal(team[v], want[v]);
  assert_int_equal(ec_cluster_teams(&p, two, 2, NULL, team), 0); /* no times: the cap */
  const int cap[] = {2, 1, 1, 2};
  for (int v = 0; v < 4; v++) assert_int_equal(team[v], cap[v]);
  assert_int_equal(ec_cluster_teams(&p, one, 2, NULL, team), 0);
  for (int v = 0; v < 4; v++) assert_int_equal(team[v], 2);
  /* Side by side: 0 on both (0.5), 1 and 2 on one each (4, 2 from 0.6), 3 after 2's hand-off
   * (4.7) on one (1): 5.7. */
  assert_true(fabs(ec_cluster_makespan_pool(&p, two, 2, wt) - 5.7) < 1e-9);
}

/* The trunk dominates: fork-join 0 -> {1, 2} -> 3 with a heavy branch 1 (8 ms, 4.2 on two
 * threads) and a light one 2 (2 ms, 1.1). On a shared pool (XNNPACK) 2's thread joins 1 once 2
 * ends, and the split {2} alone predicts a gain over one stretch (6.4 ms); on oneDNN's fixed teams
 * 1 keeps one thread for its 8 ms beside 2 (0.55 + 8 + 0.55 = 9.1), so auto's refinement puts 2
 * back and one cluster is left at 6.4. Known answer: one cluster. */
static void test_teams_trunk_dominates(void **state) {
  (void)state;
  const double wt[] = {1, 8, 2, 1, /* 2 threads: */ 0.55, 4.2, 1.1, 0.55};
  const double c[] = {0.01, 0.01, 0.01, 0.01};
  const int s[] = {0, 0, 1, 2}, d[] = {1, 2, 3, 3};
  const uint8_t fixed[] = {1, 1, 1, 1};
  ec_cluster_problem p = problem(4, wt, 4, s, d, c, 2, 0);
  int cl[] = {0, 0, 1, 0};
  const int one[] = {0, 0, 0, 0};
  double pool_split = ec_cluster_makespan_pool(&p, cl, 2, wt), pool_one = ec_cluster_makespan_pool(&p, one, 2, wt);
  assert_true(fabs(pool_one - 6.4) < 1e-9 && pool_split < pool_one);
  p.team = fixed;
  assert_true(fabs(ec_cluster_makespan_pool(&p, cl, 2, wt) - 9.1) < 1e-9);
  assert_true(fabs(ec_cluster_makespan_pool(&p, one, 2, wt) - 6.4) < 1e-9);
  assert_true(fabs(ec_cluster_refine_pool(&p, cl, 2, wt) - 6.4) < 1e-9);
  for (int v = 0; v < 4; v++) assert_int_equal(cl[v], 0);
  /* Balanced branches that split poorly (4 ms, 3.5 on two) still pay side by side on teams:
   * 2 starts after its hand-off (0.51), ends at 4.51, 3 after the hand-off back: 5.02 against
   * 8 as one stretch. */
  const double wb[] = {1, 4, 4, 1, 0.5, 3.5, 3.5, 0.5};
  p.weight = wb;
  int cb[] = {0, 0, 1, 0};
  assert_true(fabs(ec_cluster_refine_pool(&p, cb, 2, wb) - 5.02) < 1e-9);
  assert_int_equal(cb[2], 1);
}

/* Seeded random DAGs and clusterings, against the partial order by brute force (transitive
 * closure of the edges and each cluster's program order): a fixed-team task with no task of
 * another cluster beside it may take every thread, one with r - 1 other clusters beside it at
 * most threads / r, so tasks that may run at the same time never hold more than the threads. */
static void test_teams_random_budget(void **state) {
  (void)state;
  enum { N = 30, E = 90 };
  for (int trial = 0; trial < 300; trial++) {
    int n = 2 + (int)rnd(N - 1), ne = 0, threads = 1 + (int)rnd(6), k = 1 + (int)rnd(4);
    double w[N], c[E];
    int s[E], d[E], cl[N], team[N];
    uint8_t fixed[N], reach[N][N];
    for (int v = 0; v < n; v++) w[v] = 1, cl[v] = (int)rnd((uint32_t)k), fixed[v] = rnd(4) != 0;
    for (int e = 0; e < E && e < 2 * n; e++) {
      int a = (int)rnd((uint32_t)n), b = (int)rnd((uint32_t)n);
      if (a == b) continue;
      s[ne] = a < b ? a : b, d[ne] = a < b ? b : a, c[ne++] = 0;
    }
    ec_cluster_problem p = problem(n, w, ne, s, d, c, k, 0);
    p.team = fixed;
    assert_int_equal(ec_cluster_teams(&p, cl, threads, NULL, team), 0);
    memset(reach, 0, sizeof reach);
    for (int e = 0; e < ne; e++) reach[s[e]][d[e]] = 1;
    for (int u = 0; u < n; u++)
      for (int v = u + 1; v < n; v++)
        if (cl[u] == cl[v]) reach[u][v] = 1;
    for (int m = 0; m < n; m++)
      for (int u = 0; u < n; u++)
        for (int v = 0; v < n; v++)
          if (reach[u][m] && reach[m][v]) reach[u][v] = 1;
    for (int v = 0; v < n; v++) {
      if (!fixed[v]) {
        assert_int_equal(team[v], 0);
        continue;
      }
      int beside[4] = {0}, r = 1;
      for (int u = 0; u < n; u++)
        if (cl[u] != cl[v] && !reach[u][v] && !reach[v][u]) beside[cl[u]] = 1;
      for (int x = 0; x < 4; x++) r += beside[x];
      int want = threads / r > 1 ? threads / r : 1;
      assert_int_equal(team[v], want);
    }
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_dte_diamond),       cmocka_unit_test(test_linear_fork_join),
      cmocka_unit_test(test_merge_to_budget),   cmocka_unit_test(test_handoffs_must_pay),
      cmocka_unit_test(test_chain_one_cluster), cmocka_unit_test(test_small_gain_one_cluster),
      cmocka_unit_test(test_random_budget),     cmocka_unit_test(test_bad_edge),
      cmocka_unit_test(test_makespan_pool),     cmocka_unit_test(test_refine_keeps_small_branches),
      cmocka_unit_test(test_refine_joins_big_branches), cmocka_unit_test(test_refine_mixes_per_block),
      cmocka_unit_test(test_teams_fork_join),   cmocka_unit_test(test_teams_trunk_dominates),
      cmocka_unit_test(test_teams_random_budget),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
