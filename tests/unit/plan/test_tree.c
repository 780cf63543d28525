/* test_tree.c — the joint plan's tree DP (compiler/plan/tree.c) against brute force on generated
 * small trees and forests (B <= 8 blocks, D <= 3 devices; both objectives; with and without
 * --mix-style needs; leaves together or free; memory limits tight enough that the subtrees
 * compete for a device), and a case where the mix flips the placement. The brute force evaluates
 * every device assignment with its own arithmetic (not ec_tree_eval). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tree.h"

static uint64_t rng_state;
static uint32_t rnd(uint32_t n) {
  rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
  return (uint32_t)(rng_state >> 33) % n;
}
/* Multiples of 1/16 (and needs of 1/8): every sum below is exact in doubles, so a tie is a tie
 * whatever order the DP and the brute force add in. */
static double rndf(void) { return (double)rnd(16) / 16.0; }

#define MAXB 8
#define MAXD 3

typedef struct gen {
  int B, D;
  int parent[MAXB];
  double compute[MAXB * MAXD], need[MAXB], edge[MAXB * MAXD * MAXD];
  double w[MAXB], a[MAXB], rv[MAXB], sd[MAXB], ob[MAXB], cap[MAXD];
  ec_tree_problem p;
} gen;

/* One placement's figures by direct definition; false when it breaks a constraint. */
static bool brute_eval(const ec_tree_problem *p, const int *bd, double *lat, double *bot) {
  int B = p->n_blocks, D = p->n_devices;
  double mem[MAXD] = {0}, arena[MAXD] = {0}, dev[MAXD] = {0}, link[MAXD][MAXD] = {{0}};
  bool leaf[MAXB];
  int leafdev = -1;
  *lat = 0;
  for (int b = 0; b < B; b++) leaf[b] = true;
  for (int b = 0; b < B; b++)
    if (p->parent[b] >= 0) leaf[p->parent[b]] = false;
  for (int b = 0; b < B; b++) {
    int d = bd[b], pa = p->parent[b];
    double n = p->need ? p->need[b] : 1;
    double c = p->compute[b * D + d];
    if (isinf(c)) return false;
    *lat += n * c;
    dev[d] += n * c;
    mem[d] += (p->weight_bytes ? p->weight_bytes[b] : 0) + (p->out_bytes ? p->out_bytes[b] : 0);
    double ar = p->arena_bytes ? p->arena_bytes[b] : 0;
    if (ar > arena[d]) arena[d] = ar;
    if (pa < 0) {
      mem[d] += p->recv_bytes ? p->recv_bytes[b] : 0;
    } else if (bd[pa] != d) {
      if (bd[pa] > d) return false;
      double x = n * p->edge_ms[(b * D + bd[pa]) * D + d];
      *lat += x;
      link[bd[pa]][d] += x;
      mem[bd[pa]] += p->send_bytes ? p->send_bytes[b] : 0;
      mem[d] += p->recv_bytes ? p->recv_bytes[b] : 0;
    }
    if (leaf[b] && p->leaves_together) {
      if (leafdev >= 0 && leafdev != d) return false;
      leafdev = d;
    }
  }
  *bot = 0;
  for (int d = 0; d < D; d++) {
    double cap = p->capacity && p->capacity[d] > 0 ? p->capacity[d] : INFINITY;
    if (mem[d] + arena[d] > cap) return false;
    if (dev[d] > *bot) *bot = dev[d];
    for (int e = 0; e < D; e++)
      if (link[d][e] > *bot) *bot = link[d][e];
  }
  return true;
}

typedef struct brute_result {
  bool found;
  double latency, bottleneck;
  long feasible;
} brute_result;

static brute_result brute(const ec_tree_problem *p) {
  brute_result r = {0};
  int B = p->n_blocks, D = p->n_devices, bd[MAXB] = {0};
  long total = 1;
  for (int b = 0; b < B; b++) total *= D;
  for (long x = 0; x < total; x++) {
    long y = x;
    for (int b = 0; b < B; b++) bd[b] = (int)(y % D), y /= D;
    double lat, bot;
    if (!brute_eval(p, bd, &lat, &bot)) continue;
    r.feasible++;
    bool better;
    if (!r.found) better = true;
    else if (p->objective == EC_OBJ_THROUGHPUT) better = bot < r.bottleneck || (bot == r.bottleneck && lat < r.latency);
    else better = lat < r.latency;
    if (better) r.found = true, r.latency = lat, r.bottleneck = bot;
  }
  return r;
}

static bool close_to(double a, double b) { return a == b; }

static void generate(gen *g, int seed) {
  memset(g, 0, sizeof *g);
  rng_state = (uint64_t)seed * 0x9e3779b97f4a7c15ull + 7;
  int D = g->D = 1 + (int)rnd(MAXD);
  int B = g->B = 1 + (int)rnd(D == 3 ? 7 : MAXB);
  for (int b = 0; b < B; b++) {
    /* Mostly one tree; sometimes a second root (a model sharing nothing). */
    g->parent[b] = b == 0 || rnd(8) == 0 ? -1 : (int)rnd((uint32_t)b);
    for (int d = 0; d < D; d++) {
      double c = 1 + rnd(20);
      if (rnd(12) == 0) c = INFINITY;
      if (rnd(3) == 0) c += rndf(); /* non-integers too: sums in any order */
      g->compute[b * D + d] = c;
      for (int e = 0; e < D; e++) g->edge[(b * D + d) * D + e] = rnd(6) + (rnd(2) ? rndf() : 0);
    }
    g->need[b] = (1 + rnd(8)) / 8.0;
    g->w[b] = rnd(50);
    g->a[b] = rnd(30);
    g->rv[b] = rnd(6);
    g->sd[b] = rnd(4);
    g->ob[b] = rnd(3);
  }
  double tot = 0;
  for (int b = 0; b < B; b++) tot += g->w[b] + g->a[b] + g->rv[b] + g->ob[b];
  /* Capacities from a quarter of everything to all of it (some unlimited). */
  for (int d = 0; d < D; d++) g->cap[d] = rnd(5) == 0 ? 0 : floor(tot * (0.25 + 0.75 * rndf()));
  ec_tree_problem *p = &g->p;
  p->n_blocks = B, p->n_devices = D, p->parent = g->parent, p->compute = g->compute;
  p->need = rnd(3) ? g->need : NULL;
  p->edge_ms = g->edge;
  p->weight_bytes = g->w, p->arena_bytes = g->a;
  p->recv_bytes = rnd(4) ? g->rv : NULL;
  p->send_bytes = g->sd, p->out_bytes = g->ob;
  p->capacity = rnd(6) ? g->cap : NULL;
  p->objective = rnd(2) ? EC_OBJ_THROUGHPUT : EC_OBJ_LATENCY;
  p->leaves_together = rnd(3) == 0;
}

static void test_random_vs_brute(void **state) {
  (void)state;
  int n = 0, feasible = 0, infeasible = 0, through = 0, forests = 0, together = 0, branched = 0;
  for (int seed = 1; seed <= 4000; seed++, n++) {
    gen g;
    generate(&g, seed);
    const ec_tree_problem *p = &g.p;
    brute_result br = brute(p);
    ec_tree_plan tp;
    ec_diag d;
    memset(&d, 0, sizeof d);
    ec_status st = ec_tree_solve(p, &tp, &d);
    if (!br.found) {
      if (st != EC_ERR_MODEL) print_error("seed %d: brute force finds no placement, the DP says %d\n", seed, st);
      assert_int_equal(st, EC_ERR_MODEL);
      infeasible++;
      continue;
    }
    if (st) print_error("seed %d: %s\n", seed, d.msg);
    assert_int_equal(st, EC_OK);
    double lat, bot;
    bool ok = brute_eval(p, tp.block_device, &lat, &bot);
    if (!ok || !close_to(lat, br.latency) ||
        (p->objective == EC_OBJ_THROUGHPUT && !close_to(bot, br.bottleneck)))
      print_error("seed %d (B=%d D=%d %s%s): DP %s latency %.9g bottleneck %.9g, brute force %.9g %.9g\n", seed,
                  g.B, g.D, p->objective ? "throughput" : "latency", p->leaves_together ? ", leaves together" : "",
                  ok ? "fits" : "DOES NOT FIT", lat, bot, br.latency, br.bottleneck);
    assert_true(ok);
    assert_true(close_to(lat, br.latency));
    if (p->objective == EC_OBJ_THROUGHPUT) assert_true(close_to(bot, br.bottleneck));
    assert_true(close_to(tp.latency, lat));
    feasible++;
    through += p->objective == EC_OBJ_THROUGHPUT;
    together += p->leaves_together;
    int roots = 0, used = 0;
    for (int b = 0; b < g.B; b++) roots += g.parent[b] < 0, used |= 1 << tp.block_device[b];
    forests += roots > 1;
    branched += used != (used & -used);
    ec_tree_plan_free(&tp);
  }
  print_message("tree DP = brute force on %d generated problems: %d with a placement (%d throughput, %d leaves "
                "together, %d forests, %d using several devices), %d where none fits\n",
                n, feasible, through, together, forests, branched, infeasible);
  assert_true(infeasible > 100 && feasible > 2000 && branched > 300);
}

/* Trunk 0, heads 1 (model x) and 2 (model y), both 5x faster on device 0, which holds the trunk and
 * one head only: the head of the model the mix weighs more stays there. */
static void test_mix_flips(void **state) {
  (void)state;
  int parent[3] = {-1, 0, 0};
  double compute[6] = {1, 1, /* x */ 1, 5, /* y */ 1, 5};
  double edge[3 * 4] = {0};
  for (int i = 0; i < 12; i++) edge[i] = 0.5;
  double w[3] = {10, 10, 10}, cap[2] = {20, 0};
  int want[2][3] = {{0, 0, 1}, {0, 1, 0}};
  for (int k = 0; k < 2; k++) {
    double mx = k ? 0.2 : 0.8;
    double need[3] = {1, mx, 1 - mx};
    ec_tree_problem p = {.n_blocks = 3, .n_devices = 2, .parent = parent, .compute = compute, .need = need,
                         .edge_ms = edge, .weight_bytes = w, .capacity = cap, .objective = EC_OBJ_LATENCY};
    ec_tree_plan tp;
    ec_diag d;
    memset(&d, 0, sizeof d);
    assert_int_equal(ec_tree_solve(&p, &tp, &d), EC_OK);
    for (int b = 0; b < 3; b++) assert_int_equal(tp.block_device[b], want[k][b]);
    ec_tree_plan_free(&tp);
  }
}

/* A subtree too big for any device, and a malformed parent. */
static void test_errors(void **state) {
  (void)state;
  int parent[2] = {-1, 0};
  double compute[2] = {1, 1}, w[2] = {5, 5}, cap[1] = {8};
  ec_tree_problem p = {.n_blocks = 2, .n_devices = 1, .parent = parent, .compute = compute, .weight_bytes = w,
                       .capacity = cap};
  ec_tree_plan tp;
  ec_diag d;
  memset(&d, 0, sizeof d);
  assert_int_equal(ec_tree_solve(&p, &tp, &d), EC_ERR_MODEL);
  assert_non_null(strstr(d.msg, "fits"));
  int bad[2] = {-1, 1};
  p.parent = bad;
  assert_int_equal(ec_tree_solve(&p, &tp, &d), EC_ERR_USAGE);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_random_vs_brute),
      cmocka_unit_test(test_mix_flips),
      cmocka_unit_test(test_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
