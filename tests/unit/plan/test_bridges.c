/* test_bridges.c — split points on hand-made graphs with known answers, on seeded random DAGs
 * against brute force, and on a 10,000-node chain (no recursion, linear time). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bridges.h"
#include "plan_testlib.h"

/* Runs the search, checks it against brute force, and compares the split points and cuts
 * with the expected names (space-separated). */
static void expect(ec_graph *g, const char *splits, const char *cuts, ec_bridges *out) {
  ec_diag d = {0};
  ec_bridges b;
  assert_int_equal(ec_bridges_find(g, &b, &d), EC_OK);
  assert_true(tl_check_bridges(g, &b));
  char got[1024] = "";
  for (int k = 0; k < b.n_split; k++)
    snprintf(got + strlen(got), sizeof got - strlen(got), "%s%s", k ? " " : "",
             g->tensors[b.split[k]].name);
  assert_string_equal(got, splits);
  got[0] = 0;
  for (int k = 0; k < b.n_cuts; k++)
    snprintf(got + strlen(got), sizeof got - strlen(got), "%s%s", k ? " " : "",
             g->tensors[b.cut[k]].name);
  assert_string_equal(got, cuts);
  if (out)
    *out = b;
  else
    ec_bridges_free(&b);
}

static int block_of(const ec_graph *g, const ec_bridges *b, const char *out_name) {
  int t = ec_graph_find(g, out_name);
  assert_true(t >= 0);
  return b->node_block[g->tensors[t].producer];
}

static void why_not(const ec_graph *g, const ec_bridges *b, const char *name, const char *part) {
  char buf[2048];
  assert_true(ec_bridges_why_not(g, b, ec_graph_find(g, name), buf, sizeof buf));
  if (!strstr(buf, part)) fail_msg("why_not('%s') = \"%s\", expected \"%s\" in it", name, buf, part);
}

static void test_chain(void **state) {
  ec_graph *g = ec_graph_new();
  int x = tl_input(g, "x");
  int a = tl_op1(g, "Relu", "a", x);
  int b = tl_op1(g, "Relu", "b", a);
  tl_output(g, tl_op1(g, "Relu", "y", b));
  tl_finish(g);
  ec_bridges br;
  expect(g, "x a b y", "a b", &br);
  assert_int_equal(br.n_blocks, 3);
  assert_int_equal(block_of(g, &br, "a"), 0);
  assert_int_equal(block_of(g, &br, "b"), 1);
  assert_int_equal(block_of(g, &br, "y"), 2);
  char buf[256];
  assert_false(ec_bridges_why_not(g, &br, a, buf, sizeof buf));
  why_not(g, &br, "x", "graph input");
  why_not(g, &br, "y", "graph output");
  ec_bridges_free(&br);
  ec_graph_free(g);
}

static void test_diamond(void **state) {
  ec_graph *g = ec_graph_new();
  int x = tl_input(g, "x");
  int a = tl_op1(g, "Relu", "a", x);
  int b = tl_op1(g, "Relu", "b", a);
  int c = tl_op1(g, "Relu", "c", a);
  int s = tl_op2(g, "Add", "s", b, c);
  tl_output(g, tl_op1(g, "Relu", "y", s));
  tl_finish(g);
  ec_bridges br;
  expect(g, "x a s y", "a s", &br);
  why_not(g, &br, "b", "node 's' (Add) reads 'c', which does not come through 'b'");
  ec_bridges_free(&br);
  ec_graph_free(g);
}

/* conv - relu - conv + skip: the block's output `s` has one consumer, its input `a` two. */
static void test_residual(void **state) {
  ec_graph *g = ec_graph_new();
  int x = tl_input(g, "x");
  int w1 = tl_const(g, "w1"), w2 = tl_const(g, "w2");
  int a = tl_op2(g, "Mul", "a", x, w1);
  int r = tl_op1(g, "Relu", "r", a);
  int c = tl_op2(g, "Mul", "c", r, w2);
  int s = tl_op2(g, "Add", "s", c, a);
  int a2 = tl_op1(g, "Relu", "a2", s);
  int r2 = tl_op1(g, "Relu", "r2", a2);
  int s2 = tl_op2(g, "Add", "s2", r2, a2);
  tl_output(g, tl_op1(g, "Relu", "y", s2));
  tl_finish(g);
  ec_bridges br;
  expect(g, "x a s a2 s2 y", "a s a2 s2", &br);
  why_not(g, &br, "w1", "constant");
  why_not(g, &br, "r", "node 's' (Add) reads 'a'");
  /* --split-at: sorted cut indices, or an error saying why. */
  const char *names[3] = {"s2", "a", "s"};
  int cuts[3];
  ec_diag d = {0};
  assert_int_equal(ec_bridges_resolve_cuts(g, &br, names, 3, cuts, &d), EC_OK);
  assert_int_equal(cuts[0], 0);
  assert_int_equal(cuts[1], 1);
  assert_int_equal(cuts[2], 3);
  names[1] = "r";
  assert_int_equal(ec_bridges_resolve_cuts(g, &br, names, 3, cuts, &d), EC_ERR_USAGE);
  assert_non_null(strstr(d.msg, "--split-at: 'r' is not a split point"));
  names[1] = "nope";
  assert_int_equal(ec_bridges_resolve_cuts(g, &br, names, 3, cuts, &d), EC_ERR_USAGE);
  assert_non_null(strstr(d.msg, "no tensor named 'nope'"));
  names[1] = "s2";
  assert_int_equal(ec_bridges_resolve_cuts(g, &br, names, 3, cuts, &d), EC_ERR_USAGE);
  assert_non_null(strstr(d.msg, "given twice"));
  ec_bridges_free(&br);
  ec_graph_free(g);
}

/* A tensor read by three branches joined by a Concat: operator-only vertices would miss `t`. */
static void test_several_consumers(void **state) {
  ec_graph *g = ec_graph_new();
  int x = tl_input(g, "x");
  int t = tl_op1(g, "Relu", "t", x);
  int p = tl_op1(g, "Relu", "p", t);
  int q = tl_op1(g, "Sigmoid", "q", t);
  int r = tl_op1(g, "Tanh", "r", t);
  const char *outs[1] = {"u"};
  int in[3] = {p, q, r};
  int u = tl_node(g, "Concat", "u", in, 3, outs, 1);
  tl_output(g, tl_op1(g, "Relu", "y", u));
  tl_finish(g);
  expect(g, "x t u y", "t u", NULL);
  ec_graph_free(g);
}

static void test_multi_io(void **state) {
  ec_graph *g = ec_graph_new();
  int x1 = tl_input(g, "x1"), x2 = tl_input(g, "x2");
  int a = tl_op1(g, "Relu", "a", x1);
  int b = tl_op1(g, "Relu", "b", x2);
  int c = tl_op2(g, "Add", "c", a, b);
  int d = tl_op1(g, "Relu", "d", c);
  tl_output(g, tl_op1(g, "Relu", "y1", d));
  tl_output(g, tl_op1(g, "Sigmoid", "y2", d));
  tl_finish(g);
  ec_bridges br;
  expect(g, "c d", "c d", &br);
  assert_int_equal(block_of(g, &br, "a"), 0);
  assert_int_equal(block_of(g, &br, "b"), 0);
  assert_int_equal(block_of(g, &br, "c"), 0);
  assert_int_equal(block_of(g, &br, "d"), 1);
  assert_int_equal(block_of(g, &br, "y1"), 2);
  assert_int_equal(block_of(g, &br, "y2"), 2);
  why_not(g, &br, "a", "reads 'b', which does not come through 'a'");
  why_not(g, &br, "y1", "graph output 'y2' does not depend on 'y1'");
  ec_bridges_free(&br);
  ec_graph_free(g);
}

/* One weight read by two nodes: counting weights as vertices would close a cycle and hide `a`. */
static void test_shared_initializer(void **state) {
  ec_graph *g = ec_graph_new();
  int x = tl_input(g, "x");
  int w = tl_const(g, "w");
  int a = tl_op2(g, "Mul", "a", x, w);
  tl_output(g, tl_op2(g, "Mul", "y", a, w));
  tl_finish(g);
  expect(g, "x a y", "a", NULL);
  ec_graph_free(g);
}

/* Identity on a weight is not folded here: its output is not an activation, and the node is
 * placed with its first consumer. */
static void test_identity_on_weight(void **state) {
  ec_graph *g = ec_graph_new();
  int x = tl_input(g, "x");
  int w = tl_const(g, "w");
  int wi = tl_op1(g, "Identity", "wi", w);
  int wii = tl_op1(g, "Identity", "wii", wi);
  int a = tl_op2(g, "Add", "a", x, wi);
  int b = tl_op1(g, "Relu", "b", a);
  tl_output(g, tl_op2(g, "Add", "y", b, wii));
  tl_finish(g);
  ec_bridges br;
  expect(g, "x a b y", "a b", &br);
  assert_int_equal(br.n_const_nodes, 2);
  assert_int_equal(block_of(g, &br, "wi"), 0);
  assert_int_equal(block_of(g, &br, "wii"), 2);
  why_not(g, &br, "wi", "computed from constants only");
  double wts[3];
  ec_bridges_block_weights(g, &br, wts);
  /* Blocks 0 and 2 both need w, through the Identities (lowering replicates constant-only
   * nodes, see docs/planner.md). */
  assert_true(wts[0] == 16 && wts[1] == 0 && wts[2] == 16);
  ec_bridges_free(&br);
  ec_graph_free(g);
}

/* A node reading one tensor twice makes parallel edges; the producer edge stays a bridge. */
static void test_same_input_twice(void **state) {
  ec_graph *g = ec_graph_new();
  int x = tl_input(g, "x");
  int a = tl_op1(g, "Relu", "a", x);
  int b = tl_op2(g, "Mul", "b", a, a);
  int c = tl_op2(g, "Add", "c", b, a);
  tl_output(g, tl_op2(g, "Add", "y", c, c));
  tl_finish(g);
  expect(g, "x a c y", "a c", NULL);
  ec_graph_free(g);
}

/* A graph output that other nodes read is a cut; the last output is not a split point, since a
 * path to T leaves through the first one. */
static void test_output_consumed(void **state) {
  ec_graph *g = ec_graph_new();
  int x = tl_input(g, "x");
  int y1 = tl_op1(g, "Relu", "y1", x);
  tl_output(g, y1);
  tl_output(g, tl_op1(g, "Relu", "y2", y1));
  tl_finish(g);
  expect(g, "x y1", "y1", NULL);
  ec_graph_free(g);
}

/* A dead node reading from before and after `t` would close an undirected cycle that no data
 * flows along; only live vertices take part, so `t` stays a split point (as brute force says). */
static void test_dead_branch(void **state) {
  ec_graph *g = ec_graph_new();
  int x = tl_input(g, "x");
  int a = tl_op1(g, "Relu", "a", x);
  int t = tl_op1(g, "Relu", "t", a);
  tl_output(g, tl_op1(g, "Relu", "y", t));
  int q = tl_op1(g, "Sigmoid", "q", t);
  tl_op2(g, "Add", "z", x, q); /* dead: z is not an output */
  tl_finish(g);
  ec_bridges br;
  expect(g, "x a t y", "a t", &br);
  assert_int_equal(br.n_dead_nodes, 2);
  assert_int_equal(block_of(g, &br, "z"), 2);
  why_not(g, &br, "q", "does not lead to any graph output");
  ec_bridges_free(&br);
  ec_graph_free(g);
}

static void test_disconnected(void **state) {
  ec_graph *g = ec_graph_new();
  tl_input(g, "x");
  int w = tl_const(g, "w");
  tl_output(g, tl_op1(g, "Identity", "y", w));
  tl_finish(g);
  ec_bridges br;
  expect(g, "", "", &br);
  assert_false(br.connected);
  assert_int_equal(br.n_blocks, 1);
  ec_bridges_free(&br);
  ec_graph_free(g);
}

/* The input is also an output: it is the only split point, and there is nothing to cut. */
static void test_passthrough(void **state) {
  ec_graph *g = ec_graph_new();
  int x = tl_input(g, "x");
  tl_output(g, x);
  tl_output(g, tl_op1(g, "Relu", "y", x));
  tl_finish(g);
  expect(g, "x", "", NULL);
  ec_graph_free(g);
}

/* ---- random DAGs ------------------------------------------------------------------------- */

static uint64_t rng_state;
static uint32_t rnd(uint32_t n) {
  rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
  return (uint32_t)(rng_state >> 33) % n;
}

/* Random graphs shaped like networks: mostly reading recent tensors (so chains and bridges
 * exist), sometimes far back (skips), constants, repeated inputs, constant-only nodes, nodes
 * with two outputs, dead branches, several inputs and outputs. */
static ec_graph *random_dag(int n_nodes) {
  ec_graph *g = ec_graph_new();
  int pool[512], np = 0, consts[8], nc = 0;
  char name[32];
  int n_in = 1 + (int)rnd(3) / 2 + (rnd(8) == 0);
  for (int k = 0; k < n_in; k++) {
    snprintf(name, sizeof name, "in%d", k);
    pool[np++] = tl_input(g, name);
  }
  for (int k = 0; k < 3; k++) {
    snprintf(name, sizeof name, "w%d", k);
    consts[nc++] = tl_const(g, name);
  }
  static const char *ops[] = {"Relu", "Add", "Identity", "Concat", "Mul"};
  for (int i = 0; i < n_nodes; i++) {
    int in[4], ni = rnd(2) ? 1 : 2 + (int)rnd(2);
    for (int k = 0; k < ni; k++) {
      uint32_t r = rnd(20);
      if (r < 2) in[k] = consts[rnd((uint32_t)nc)];
      else if (r < 12) in[k] = pool[np - 1];
      else if (r < 16 || (r < 18 && !k)) in[k] = pool[np - 1 - (int)rnd(np < 3 ? (uint32_t)np : 3)];
      else if (r < 18) in[k] = in[k - 1];
      else in[k] = pool[rnd((uint32_t)np)];
    }
    if (rnd(15) == 0) ni = 1, in[0] = consts[rnd((uint32_t)nc)];
    int no = rnd(6) == 0 ? 2 : 1;
    char o0[32], o1[32];
    snprintf(o0, sizeof o0, "t%d", i);
    snprintf(o1, sizeof o1, "t%db", i);
    const char *outs[2] = {o0, o1};
    snprintf(name, sizeof name, "n%d", i);
    int t = tl_node(g, ops[rnd(5)], name, in, ni, outs, no);
    if (np < 500) pool[np++] = t;
    if (no == 2 && np < 500 && rnd(2)) pool[np++] = ec_graph_find(g, o1);
  }
  tl_output(g, pool[np - 1]);
  int extra = (int)rnd(4) == 0 ? 1 + (int)rnd(2) : 0;
  for (int k = 0; k < extra; k++) {
    int t = pool[rnd((uint32_t)np)];
    bool dup = false;
    for (int j = 0; j < g->n_outputs; j++) dup |= g->outputs[j] == t;
    if (!dup && g->tensors[t].kind != EC_TK_INPUT) tl_output(g, t);
  }
  tl_finish(g);
  return g;
}

static void test_random_dags(void **state) {
  int total_splits = 0, total_cuts = 0;
  for (int seed = 1; seed <= 500; seed++) {
    rng_state = (uint64_t)seed * 0x9E3779B97F4A7C15ull;
    ec_graph *g = random_dag(3 + (int)rnd(60));
    ec_diag d = {0};
    ec_bridges b;
    assert_int_equal(ec_bridges_find(g, &b, &d), EC_OK);
    if (!tl_check_bridges(g, &b)) fail_msg("random DAG seed %d: bridges differ from brute force", seed);
    /* Every live tensor that is not a split point has a concrete bypass to show. */
    for (int t = 0; t < g->n_tensors; t++) {
      if ((b.tensor_flags[t] & (EC_BR_LIVE | EC_BR_SPLIT)) != EC_BR_LIVE) continue;
      char why[2048];
      assert_true(ec_bridges_why_not(g, &b, t, why, sizeof why));
      if (!strstr(why, "does not come through") && !strstr(why, "does not depend on"))
        fail_msg("seed %d: no bypass shown for '%s': %s", seed, g->tensors[t].name, why);
    }
    total_splits += b.n_split;
    total_cuts += b.n_cuts;
    ec_bridges_free(&b);
    ec_graph_free(g);
  }
  /* The generator must produce interesting graphs, not just trivial ones. */
  assert_true(total_cuts > 1000);
  print_message("500 random DAGs: %d split points, %d cuts, all equal to brute force\n",
                total_splits, total_cuts);
}

/* 10,000 nodes in a chain: a recursive DFS would be 20,000 frames deep. Also 3,333 residual
 * blocks. Both must be fast (linear). */
static void test_long_chain(void **state) {
  ec_graph *g = ec_graph_new();
  int t = tl_input(g, "x");
  char name[32];
  for (int i = 0; i < 10000; i++) {
    snprintf(name, sizeof name, "c%d", i);
    t = tl_op1(g, "Relu", name, t);
  }
  tl_output(g, t);
  tl_finish(g);
  ec_diag d = {0};
  ec_bridges b;
  double t0 = tl_now();
  assert_int_equal(ec_bridges_find(g, &b, &d), EC_OK);
  double t1 = tl_now();
  assert_int_equal(b.n_split, 10001);
  assert_int_equal(b.n_cuts, 9999);
  assert_int_equal(b.n_blocks, 10000);
  for (int i = 0; i < 10000; i++) assert_int_equal(b.node_block[i], i);
  print_message("10,000-node chain: split points in %.2f ms\n", (t1 - t0) * 1e3);
  ec_bridges_free(&b);
  ec_graph_free(g);

  g = ec_graph_new();
  t = tl_input(g, "x");
  for (int i = 0; i < 3333; i++) {
    snprintf(name, sizeof name, "a%d", i);
    int a = tl_op1(g, "Relu", name, t);
    snprintf(name, sizeof name, "b%d", i);
    int bb = tl_op1(g, "Relu", name, a);
    snprintf(name, sizeof name, "s%d", i);
    t = tl_op2(g, "Add", name, bb, t);
  }
  tl_output(g, t);
  tl_finish(g);
  t0 = tl_now();
  assert_int_equal(ec_bridges_find(g, &b, &d), EC_OK);
  t1 = tl_now();
  assert_int_equal(b.n_cuts, 3332);
  assert_true(tl_check_bridges(g, &b));
  print_message("9,999-node residual chain: split points in %.2f ms\n", (t1 - t0) * 1e3);
  ec_bridges_free(&b);
  ec_graph_free(g);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_chain),
      cmocka_unit_test(test_diamond),
      cmocka_unit_test(test_residual),
      cmocka_unit_test(test_several_consumers),
      cmocka_unit_test(test_multi_io),
      cmocka_unit_test(test_shared_initializer),
      cmocka_unit_test(test_identity_on_weight),
      cmocka_unit_test(test_same_input_twice),
      cmocka_unit_test(test_output_consumed),
      cmocka_unit_test(test_dead_branch),
      cmocka_unit_test(test_disconnected),
      cmocka_unit_test(test_passthrough),
      cmocka_unit_test(test_random_dags),
      cmocka_unit_test(test_long_chain),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
