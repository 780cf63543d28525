/* test_partition.c — the partition DP against brute force on random small problems (B <= 7,
 * D <= 4, both objectives, forced counts, forced cuts, memory limits with staging buffers), its
 * error messages, and its speed on a 10,000-block chain. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "partition.h"
#include "plan_testlib.h"

static uint64_t rng_state;
static uint32_t rnd(uint32_t n) {
  rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
  return (uint32_t)(rng_state >> 33) % n;
}
static double rndf(void) { return (double)rnd(1u << 30) / (double)(1u << 30); }

/* ---- brute force: every non-decreasing device sequence ----------------------------------- */

typedef struct brute_result {
  bool found;
  double latency, bottleneck;
} brute_result;

/* Evaluates one placement directly (no prefix sums); returns false if it breaks a constraint. */
static bool brute_eval(const ec_part_problem *p, const int *bd, double *lat, double *bot) {
  int B = p->n_blocks, D = p->n_devices, parts = 0;
  *lat = *bot = 0;
  bool boundary[16] = {0};
  for (int b = 0; b < B;) {
    int e = b;
    while (e < B && bd[e] == bd[b]) e++;
    parts++;
    double c = 0, w = 0, a = 0;
    for (int x = b; x < e; x++) {
      c += p->compute[x * D + bd[b]];
      if (p->block_weight_bytes) w += p->block_weight_bytes[x];
      if (p->block_arena_bytes && p->block_arena_bytes[x] > a) a = p->block_arena_bytes[x];
    }
    if (isinf(c)) return false;
    double stage = (p->recv_bytes ? p->recv_bytes[b] : 0) + (p->send_bytes ? p->send_bytes[e - 1] : 0);
    if (p->device_capacity && p->device_capacity[bd[b]] > 0 && w + a + stage > p->device_capacity[bd[b]])
      return false;
    *lat += c;
    if (c > *bot) *bot = c;
    if (e < B) {
      ec_dp_link l = p->links[bd[b] * D + bd[e]];
      double x = l.latency + p->cut_bytes[e - 1] / l.bytes_per_time;
      *lat += x;
      if (x > *bot) *bot = x;
      boundary[e - 1] = true;
    }
    b = e;
  }
  if (p->n_parts > 0 && parts != p->n_parts) return false;
  if (p->n_forced_cuts) {
    bool forced[16] = {0};
    for (int k = 0; k < p->n_forced_cuts; k++) forced[p->forced_cuts[k]] = true;
    for (int c = 0; c + 1 < B; c++)
      if (forced[c] != boundary[c]) return false;
  }
  return true;
}

static bool better(const ec_part_problem *p, double lat, double bot, const brute_result *r) {
  if (!r->found) return true;
  const double eps = 1e-9;
  if (p->objective == EC_OBJ_LATENCY) return lat < r->latency * (1 - eps);
  if (bot < r->bottleneck * (1 - eps)) return true;
  return bot <= r->bottleneck * (1 + eps) && lat < r->latency * (1 - eps);
}

static brute_result brute(const ec_part_problem *p) {
  brute_result r = {0};
  int B = p->n_blocks, D = p->n_devices, bd[16] = {0};
  for (;;) {
    double lat, bot;
    if (brute_eval(p, bd, &lat, &bot) && better(p, lat, bot, &r)) {
      r.found = true, r.latency = lat, r.bottleneck = bot;
    }
    /* Next non-decreasing sequence. */
    int k = B - 1;
    while (k >= 0 && bd[k] == D - 1) k--;
    if (k < 0) break;
    bd[k]++;
    for (int j = k + 1; j < B; j++) bd[j] = bd[k];
  }
  return r;
}

static bool close_to(double a, double b) { return fabs(a - b) <= 1e-9 * fmax(1, fmax(fabs(a), fabs(b))); }

/* ---- random problems ---------------------------------------------------------------------- */

typedef struct problem_store {
  double compute[7 * 4], cut_bytes[6], weight[7], arena[7], cap[4], recv[7], send[7];
  ec_dp_link links[16];
  int forced[6];
} problem_store;

static void random_problem(ec_part_problem *p, problem_store *s) {
  memset(p, 0, sizeof *p);
  int B = 1 + (int)rnd(7), D = 1 + (int)rnd(4);
  bool integers = rnd(2); /* integer times make exact ties, random reals make none */
  p->n_blocks = B, p->n_devices = D;
  for (int k = 0; k < B * D; k++) {
    s->compute[k] = integers ? (double)rnd(6) : rndf() * 10;
    if (rnd(20) == 0) s->compute[k] = INFINITY;
  }
  for (int c = 0; c + 1 < B; c++) s->cut_bytes[c] = integers ? (double)rnd(4) * 1000 : rndf() * 5000;
  for (int k = 0; k < D * D; k++)
    s->links[k] = (ec_dp_link){integers ? (double)rnd(3) : rndf(), integers ? 1000.0 * (1 + rnd(2)) : 500 + rndf() * 2000};
  p->compute = s->compute, p->cut_bytes = s->cut_bytes, p->links = s->links;
  if (rnd(3) == 0) {
    for (int b = 0; b < B; b++) s->weight[b] = rnd(10), s->arena[b] = rnd(10);
    for (int d = 0; d < D; d++) s->cap[d] = rnd(5) == 0 ? 0 : 5 + rnd(40);
    p->block_weight_bytes = s->weight, p->block_arena_bytes = s->arena, p->device_capacity = s->cap;
    /* Staging: a start or an end may carry a large buffer a longer range avoids. */
    if (rnd(2)) {
      for (int b = 0; b < B; b++) s->recv[b] = rnd(3) ? rnd(4) : rnd(30), s->send[b] = rnd(3) ? rnd(4) : rnd(30);
      p->recv_bytes = s->recv, p->send_bytes = s->send;
    }
  }
  p->objective = rnd(2) ? EC_OBJ_THROUGHPUT : EC_OBJ_LATENCY;
  if (rnd(3) == 0) p->n_parts = 1 + (int)rnd((uint32_t)D);
  if (B > 1 && rnd(5) == 0) {
    int n = 0;
    for (int c = 0; c + 1 < B; c++)
      if (rnd(3) == 0) s->forced[n++] = c;
    if (n) p->forced_cuts = s->forced, p->n_forced_cuts = n, p->n_parts = rnd(3) ? 0 : n + 1;
  }
}

static void dump(const ec_part_problem *p, const ec_part_plan *plan) {
  int B = p->n_blocks, D = p->n_devices;
  fprintf(stderr, "B=%d D=%d objective=%d n_parts=%d forced=", B, D, p->objective, p->n_parts);
  for (int k = 0; k < p->n_forced_cuts; k++) fprintf(stderr, "%d ", p->forced_cuts[k]);
  fprintf(stderr, "\n");
  for (int b = 0; b < B; b++) {
    fprintf(stderr, "  block %d:", b);
    for (int d = 0; d < D; d++) fprintf(stderr, " %g", p->compute[b * D + d]);
    if (p->block_weight_bytes)
      fprintf(stderr, "  w %g a %g", p->block_weight_bytes[b], p->block_arena_bytes[b]);
    if (p->recv_bytes) fprintf(stderr, "  recv %g send %g", p->recv_bytes[b], p->send_bytes[b]);
    fprintf(stderr, "  -> device %d\n", plan ? plan->block_device[b] : -1);
  }
  if (p->device_capacity)
    for (int d = 0; d < D; d++) fprintf(stderr, "  cap %d: %g\n", d, p->device_capacity[d]);
}

/* Checks the DP's plan is valid, consistent with ec_partition_eval, and optimal. */
static void check_problem(const ec_part_problem *p, int seed, int *n_feasible) {
  brute_result r = brute(p);
  ec_part_plan plan;
  ec_diag d = {0};
  ec_status st = ec_partition_plan(p, &plan, &d);
  if (!r.found) {
    if (st == EC_OK) fail_msg("seed %d: DP found a plan, brute force none", seed);
    assert_true(d.msg[0]);
    return;
  }
  if (st != EC_OK) fail_msg("seed %d: DP failed (%s), brute force found a plan", seed, d.msg);
  (*n_feasible)++;
  double lat, bot;
  if (!brute_eval(p, plan.block_device, &lat, &bot)) {
    dump(p, &plan);
    fail_msg("seed %d: the DP's plan breaks a constraint", seed);
  }
  if (!close_to(lat, plan.latency) || !close_to(bot, plan.bottleneck))
    fail_msg("seed %d: plan figures %g/%g, recomputed %g/%g", seed, plan.latency, plan.bottleneck,
             lat, bot);
  if (p->objective == EC_OBJ_LATENCY) {
    if (!close_to(lat, r.latency))
      fail_msg("seed %d: latency DP %.17g, brute force %.17g", seed, lat, r.latency);
  } else {
    if (!close_to(bot, r.bottleneck))
      fail_msg("seed %d: bottleneck DP %.17g, brute force %.17g", seed, bot, r.bottleneck);
    if (!close_to(lat, r.latency))
      fail_msg("seed %d: latency at the best bottleneck: DP %.17g, brute force %.17g", seed, lat,
               r.latency);
  }
  int sum = 0;
  for (int k = 0; k < plan.n_parts; k++) {
    sum += plan.parts[k].end_block - plan.parts[k].first_block;
    if (k) assert_true(plan.parts[k].device > plan.parts[k - 1].device);
  }
  assert_int_equal(sum, p->n_blocks);
  /* Deterministic: the same problem gives the same plan. */
  ec_part_plan again;
  assert_int_equal(ec_partition_plan(p, &again, &d), EC_OK);
  assert_memory_equal(plan.block_device, again.block_device, sizeof(int) * (size_t)p->n_blocks);
  ec_part_plan_free(&again);
  ec_part_plan_free(&plan);
}

static void test_random_vs_brute(void **state) {
  int n = 0, feasible = 0, counts[2] = {0};
  for (int seed = 1; seed <= 4000; seed++) {
    rng_state = (uint64_t)seed * 0x9E3779B97F4A7C15ull + 7;
    ec_part_problem p;
    problem_store s;
    random_problem(&p, &s);
    check_problem(&p, seed, &feasible);
    counts[p.objective]++;
    n++;
  }
  print_message("%d random problems (%d latency, %d throughput), %d feasible: DP == brute force\n",
                n, counts[0], counts[1], feasible);
  assert_true(feasible > n / 2);
}

/* Every (B, D) with both objectives and every forced count, on the same random numbers. */
static void test_exhaustive_sizes(void **state) {
  int feasible = 0;
  for (int B = 1; B <= 7; B++)
    for (int D = 1; D <= 4; D++)
      for (int obj = 0; obj < 2; obj++)
        for (int np = 0; np <= D; np++) {
          rng_state = (uint64_t)(B * 100 + D * 10 + obj) * 31 + (uint64_t)np;
          problem_store s;
          ec_part_problem p = {0};
          p.n_blocks = B, p.n_devices = D;
          for (int k = 0; k < B * D; k++) s.compute[k] = rndf() * 10;
          for (int c = 0; c + 1 < B; c++) s.cut_bytes[c] = rndf() * 4000;
          for (int k = 0; k < D * D; k++) s.links[k] = (ec_dp_link){rndf(), 1000 + rndf() * 1000};
          p.compute = s.compute, p.cut_bytes = s.cut_bytes, p.links = s.links;
          p.objective = (ec_objective)obj;
          p.n_parts = np;
          check_problem(&p, B * 1000 + D * 100 + obj * 10 + np, &feasible);
        }
  assert_true(feasible > 0);
}

/* The example from docs/planner.md: a fast device and a slow one. */
static void test_known_plan(void **state) {
  /* 4 blocks; device 0 is twice as slow as device 1; links cost 1 + bytes/1000. */
  double compute[8] = {2, 1, 2, 1, 2, 1, 2, 1};
  double bytes[3] = {1000, 9000, 1000};
  ec_dp_link links[4] = {{0, 1}, {1, 1000}, {1, 1000}, {0, 1}};
  ec_part_problem p = {.n_blocks = 4, .n_devices = 2, .compute = compute, .cut_bytes = bytes,
                       .links = links};
  ec_part_plan plan;
  ec_diag d = {0};
  assert_int_equal(ec_partition_plan(&p, &plan, &d), EC_OK);
  /* Latency: everything on the fast device (4) beats any split (>= 2 + 2 + 2). */
  assert_int_equal(plan.n_parts, 1);
  assert_int_equal(plan.parts[0].device, 1);
  assert_true(plan.latency == 4);
  ec_part_plan_free(&plan);
  p.objective = EC_OBJ_THROUGHPUT;
  assert_int_equal(ec_partition_plan(&p, &plan, &d), EC_OK);
  /* Throughput: [0,1) on device 0 (2), transfer 2, [1,4) on device 1 (3): slowest stage 3... or
   * [0,2) on 0 (4) is worse; [0,1)/[1,4) wins with 3, and latency 7. */
  assert_int_equal(plan.n_parts, 2);
  assert_true(plan.bottleneck == 3);
  assert_true(plan.latency == 7);
  ec_part_plan_free(&plan);
}

static void test_errors(void **state) {
  double compute[6] = {1, 1, 1, 1, 1, 1};
  double bytes[2] = {10, 10};
  ec_dp_link links[4] = {{0, 1}, {0, 1}, {0, 1}, {0, 1}};
  double weight[3] = {40e6, 30e6, 30e6}, arena[3] = {10e6, 10e6, 10e6};
  double cap[2] = {64 * 1048576.0, 64 * 1048576.0};
  const char *names[2] = {"pi5", "orin-nano"};
  const char *cut_names[2] = {"t1", "t2"};
  ec_part_problem p = {.n_blocks = 3, .n_devices = 2, .compute = compute, .cut_bytes = bytes,
                       .links = links, .device_names = names, .cut_names = cut_names};
  ec_part_plan plan;
  ec_diag d = {0};
  p.n_parts = 3;
  assert_int_equal(ec_partition_plan(&p, &plan, &d), EC_ERR_USAGE);
  assert_non_null(strstr(d.msg, "3 partitions need 3 devices, but only 2 are given"));
  p.n_parts = 0;
  int forced[2] = {0, 0};
  p.forced_cuts = forced, p.n_forced_cuts = 2;
  assert_int_equal(ec_partition_plan(&p, &plan, &d), EC_ERR_USAGE);
  assert_non_null(strstr(d.msg, "'t1' is given twice"));
  forced[1] = 1;
  p.n_parts = 2;
  assert_int_equal(ec_partition_plan(&p, &plan, &d), EC_ERR_USAGE);
  assert_non_null(strstr(d.msg, "contradicts"));
  p.forced_cuts = NULL, p.n_forced_cuts = 0, p.n_parts = 0;
  /* Memory: 100 MB of weights over two 64 MB devices: 50 + 30 MB does not fit, 40+10 and
   * 60+10 neither; no plan fits, and the message names a device. */
  p.block_weight_bytes = weight, p.block_arena_bytes = arena, p.device_capacity = cap;
  assert_int_equal(ec_partition_plan(&p, &plan, &d), EC_ERR_MODEL);
  assert_non_null(strstr(d.msg, "device '"));
  assert_non_null(strstr(d.msg, "MB"));
  /* One device with 64 MB: the message names it. */
  p.n_devices = 1;
  assert_int_equal(ec_partition_plan(&p, &plan, &d), EC_ERR_MODEL);
  assert_non_null(strstr(d.msg, "device 'pi5'"));
  /* A block too large for every device. */
  weight[0] = 200e6;
  p.n_devices = 2;
  assert_int_equal(ec_partition_plan(&p, &plan, &d), EC_ERR_MODEL);
  assert_non_null(strstr(d.msg, "block 0 alone"));
  /* With enough memory on the second device it fits. */
  weight[0] = 40e6;
  cap[1] = 128 * 1048576.0;
  assert_int_equal(ec_partition_plan(&p, &plan, &d), EC_OK);
  ec_part_plan_free(&plan);
  /* Invalid numbers are usage errors, not crashes. */
  compute[0] = NAN;
  assert_int_equal(ec_partition_plan(&p, &plan, &d), EC_ERR_USAGE);
  compute[0] = -1;
  assert_int_equal(ec_partition_plan(&p, &plan, &d), EC_ERR_USAGE);
}

/* The staging buffers count: a partition that receives a large tensor no longer fits where its
 * weights and arena alone would, the plan moves the cut, and without a placement the message
 * names the device and the three figures. */
static void test_staging_memory(void **state) {
  const double MiB = 1048576.0;
  /* 3 blocks, 2 devices; device 1 is faster but has 8 MiB, too little for block 0's weights
   * with the rest. The best plan without staging is [0,1) on 0 and [1,3) on 1 (weights 3 +
   * arena 2 = 5 MiB); cut 0 is 4 MiB, and received into two staging slots it tips [1,3) over:
   * the plan must cut after block 1 instead (cut 1 is small). */
  double compute[6] = {1, 1, 10, 1, 10, 1};
  double bytes[2] = {4 * MiB, 1000};
  ec_dp_link links[4] = {{0, 1e9}, {0, 1e9}, {0, 1e9}, {0, 1e9}};
  double weight[3] = {5 * MiB, 1 * MiB, 2 * MiB}, arena[3] = {2 * MiB, 2 * MiB, 2 * MiB};
  double recv[3] = {0.1 * MiB, 8 * MiB, 2000}, send[3] = {4 * MiB, 1000, 0.1 * MiB};
  double cap[2] = {64 * MiB, 8 * MiB};
  const char *names[2] = {"big", "small"};
  ec_part_problem p = {.n_blocks = 3, .n_devices = 2, .compute = compute, .cut_bytes = bytes,
                       .links = links, .block_weight_bytes = weight, .block_arena_bytes = arena,
                       .device_capacity = cap, .device_names = names};
  ec_part_plan plan;
  ec_diag d = {0};
  assert_int_equal(ec_partition_plan(&p, &plan, &d), EC_OK);
  assert_int_equal(plan.n_parts, 2);
  assert_int_equal(plan.parts[1].first_block, 1);
  ec_part_plan_free(&plan);
  p.recv_bytes = recv, p.send_bytes = send;
  assert_int_equal(ec_partition_plan(&p, &plan, &d), EC_OK);
  assert_int_equal(plan.n_parts, 2);
  assert_int_equal(plan.parts[1].first_block, 2);
  assert_true(plan.parts[1].staging == 2000 + 0.1 * MiB);
  assert_true(plan.parts[1].memory == 2 * MiB + 2 * MiB + 2000 + 0.1 * MiB);
  ec_part_plan_free(&plan);
  /* Only the small device: [0,3) fits by weights and arena (4 + 2 MiB) but not with its input
   * and output buffers (0.1 + 2.1 MiB more is over 8). */
  recv[0] = 2 * MiB, weight[0] = 1 * MiB;
  p.n_devices = 1, p.device_names = &names[1], p.device_capacity = &cap[1];
  compute[0] = 1, compute[1] = 1, compute[2] = 1;
  assert_int_equal(ec_partition_plan(&p, &plan, &d), EC_ERR_MODEL);
  assert_non_null(strstr(d.msg, "device 'small': blocks 0..2 need 8.1 MB (weights 4.0 MB + arena 2.0 MB + "
                                "staging 2.1 MB) but the device has 8.0 MB"));
  p.recv_bytes = NULL, p.send_bytes = NULL;
  assert_int_equal(ec_partition_plan(&p, &plan, &d), EC_OK);
  ec_part_plan_free(&plan);
}

/* A plain O(K B^2 D^2) DP written independently of partition.c (no prefix sums, no deques), for
 * sizes brute force cannot reach: min over plans of the latency, or of the slowest stage. */
static double reference_dp(const ec_part_problem *p) {
  enum { MB = 64, MD = 5 };
  int B = p->n_blocks, D = p->n_devices;
  static double f[MD + 1][MB + 1][MD];
  bool thr = p->objective == EC_OBJ_THROUGHPUT;
  for (int k = 0; k <= D; k++)
    for (int j = 0; j <= B; j++)
      for (int d = 0; d < D; d++) f[k][j][d] = INFINITY;
  for (int k = 1; k <= D; k++)
    for (int j = 1; j <= B; j++)
      for (int d = 0; d < D; d++)
        for (int i = 0; i < j; i++) {
          double c = 0, w = 0, a = 0;
          for (int x = i; x < j; x++) {
            c += p->compute[x * D + d];
            if (p->block_weight_bytes) w += p->block_weight_bytes[x];
            if (p->block_arena_bytes && p->block_arena_bytes[x] > a) a = p->block_arena_bytes[x];
          }
          if (isinf(c)) continue;
          double stage = (p->recv_bytes ? p->recv_bytes[i] : 0) + (p->send_bytes ? p->send_bytes[j - 1] : 0);
          if (p->device_capacity && p->device_capacity[d] > 0 && w + a + stage > p->device_capacity[d])
            continue;
          if (k == 1) {
            if (i == 0 && c < f[1][j][d]) f[1][j][d] = c;
            continue;
          }
          if (i == 0) continue;
          for (int e = 0; e < d; e++) {
            if (isinf(f[k - 1][i][e])) continue;
            ec_dp_link l = p->links[e * D + d];
            double x = l.latency + p->cut_bytes[i - 1] / l.bytes_per_time;
            double v = thr ? fmax(f[k - 1][i][e], fmax(x, c)) : f[k - 1][i][e] + x + c;
            if (v < f[k][j][d]) f[k][j][d] = v;
          }
        }
  double best = INFINITY;
  for (int k = 1; k <= D; k++)
    if (!p->n_parts || k == p->n_parts)
      for (int d = 0; d < D; d++) best = fmin(best, f[k][B][d]);
  return best;
}

static void test_medium_vs_reference(void **state) {
  enum { MB = 64, MD = 5 };
  double compute[MB * MD], bytes[MB], weight[MB], arena[MB], cap[MD], recv[MB], send[MB];
  ec_dp_link links[MD * MD];
  int n = 0, feasible = 0;
  for (int seed = 1; seed <= 300; seed++) {
    rng_state = (uint64_t)seed * 0x2545F4914F6CDD1Dull;
    int B = 8 + (int)rnd(MB - 7), D = 1 + (int)rnd(MD);
    for (int k = 0; k < B * D; k++) compute[k] = rnd(30) ? rndf() * 10 : INFINITY;
    for (int c = 0; c + 1 < B; c++) bytes[c] = rndf() * 4000;
    for (int k = 0; k < D * D; k++) links[k] = (ec_dp_link){rndf(), 500 + rndf() * 2000};
    for (int b = 0; b < B; b++) weight[b] = rnd(10), arena[b] = rnd(10);
    for (int d = 0; d < D; d++) cap[d] = rnd(4) ? 20 + rnd(200) : 0;
    ec_part_problem p = {.n_blocks = B, .n_devices = D, .compute = compute, .cut_bytes = bytes,
                         .links = links, .objective = (ec_objective)rnd(2),
                         .n_parts = rnd(3) ? 0 : 1 + (int)rnd((uint32_t)D)};
    if (rnd(2)) p.block_weight_bytes = weight, p.block_arena_bytes = arena, p.device_capacity = cap;
    if (p.device_capacity && rnd(2)) {
      for (int b = 0; b < B; b++) recv[b] = rnd(4) ? rnd(5) : rnd(60), send[b] = rnd(4) ? rnd(5) : rnd(60);
      p.recv_bytes = recv, p.send_bytes = send;
    }
    double ref = reference_dp(&p);
    ec_part_plan plan;
    ec_diag d = {0};
    ec_status st = ec_partition_plan(&p, &plan, &d);
    n++;
    if (isinf(ref)) {
      if (st == EC_OK) fail_msg("seed %d: DP found a plan, the reference none", seed);
      continue;
    }
    if (st) fail_msg("seed %d: DP failed (%s), the reference found %g", seed, d.msg, ref);
    feasible++;
    double got = p.objective == EC_OBJ_THROUGHPUT ? plan.bottleneck : plan.latency;
    if (!close_to(got, ref))
      fail_msg("seed %d (B=%d D=%d obj=%d): DP %.17g, reference %.17g", seed, B, D, p.objective,
               got, ref);
    ec_part_plan_free(&plan);
  }
  print_message("%d problems with 8-64 blocks, %d feasible: DP == reference DP\n", n, feasible);
  assert_true(feasible > n / 2);
}

static double chain_transfer(void *ctx, int cut, int from, int to) {
  return 0.05 + (double)(cut % 7) * 0.01 * (1 + from + to);
}

static void test_large_chain(void **state) {
  enum { B = 10000, D = 4 };
  double *compute = malloc(sizeof(double) * B * D);
  assert_non_null(compute);
  rng_state = 42;
  for (int k = 0; k < B * D; k++) compute[k] = 0.01 + rndf() * (1 + k % D);
  ec_part_problem p = {.n_blocks = B, .n_devices = D, .compute = compute,
                       .transfer = chain_transfer};
  for (int obj = 0; obj < 2; obj++) {
    p.objective = (ec_objective)obj;
    ec_part_plan plan;
    ec_diag d = {0};
    double t0 = tl_now();
    assert_int_equal(ec_partition_plan(&p, &plan, &d), EC_OK);
    double t1 = tl_now();
    print_message("10,000 blocks x 4 devices, %s: %d partitions, latency %.1f, slowest stage "
                  "%.1f, planned in %.1f ms\n", obj ? "throughput" : "latency", plan.n_parts,
                  plan.latency, plan.bottleneck, (t1 - t0) * 1e3);
    ec_part_plan_free(&plan);
  }
  free(compute);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_known_plan),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_staging_memory),
      cmocka_unit_test(test_exhaustive_sizes),
      cmocka_unit_test(test_random_vs_brute),
      cmocka_unit_test(test_medium_vs_reference),
      cmocka_unit_test(test_large_chain),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
