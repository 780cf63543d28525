/* test_merge.c — unit tests of the merge stage (compiler/merge) on graphs built by hand: weights
 * whose hashes collide are told apart byte for byte, identical weights merge their nodes, a weight
 * of nodes that cannot merge is stored once, and each model keeps its own output node. */
#include <stdio.h>
#include <stdlib.h>

#include "merge.h"
#include "op.h"
#include "unit_test.h"

/* x [1,4] -> (Relu if pre) -> MatMul with W [4,4] -> Relu -> y, inferred. */
static ec_graph *model(const float *w, bool pre) {
  ec_graph *g = ec_graph_new();
  assert_non_null(g);
  int64_t d[2] = {1, 4}, wd[2] = {4, 4};
  int x = ut_input(g, "x", 2, d);
  int wt = ec_graph_tensor(g, "W");
  ec_tensor *t = &g->tensors[wt];
  t->kind = EC_TK_CONSTANT;
  t->dtype = ECK_FLOAT;
  t->rank = 2;
  t->dims[0] = wd[0], t->dims[1] = wd[1];
  assert_int_equal(ec_tensor_set_data(t, (void *)w, 16 * sizeof(float), false), EC_OK);
  if (pre) ut_node(g, "Relu", "pre", UT_NAMES("x"), UT_NAMES("p"));
  ut_node(g, "MatMul", "mm", UT_NAMES(pre ? "p" : "x", "W"), UT_NAMES("h"));
  ut_node(g, "Relu", "out", UT_NAMES("h"), UT_NAMES("y"));
  g->inputs = malloc(sizeof(int));
  g->outputs = malloc(sizeof(int));
  g->inputs[0] = x, g->n_inputs = 1;
  g->outputs[0] = ec_graph_find(g, "y"), g->n_outputs = 1;
  g->tensors[g->outputs[0]].is_output = true;
  g->opset = 13;
  g->source_path = ec_strdup("test.onnx");
  for (int i = 0; i < g->n_nodes; i++) g->nodes[i].op = ec_op_find(g->nodes[i].op_type, "");
  ec_diag dg;
  memset(&dg, 0, sizeof dg);
  assert_int_equal(ec_graph_link(g), EC_OK);
  if (ec_infer_graph(g, &dg)) fail_msg("%s", dg.msg);
  return g;
}

static const float w1[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
static const float w2[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 17}; /* one value differs */

/* Merges two models made by model(); returns the merged graph and fills r. */
static ec_graph *merge2(const float *wa, bool pre_a, const float *wb, bool pre_b, bool weak, ec_merge_report *r) {
  ec_merge_model ms[2] = {{"a", model(wa, pre_a)}, {"b", model(wb, pre_b)}};
  ec_merge_opts o = {NULL, 0, weak};
  ec_graph *m = NULL;
  ec_diag d;
  memset(&d, 0, sizeof d);
  if (ec_merge(ms, 2, &o, &m, r, &d)) fail_msg("%s", d.msg);
  return m;
}

static void range_is(const ec_merge_report *r, int k, uint32_t models, int n, const char *first, const char *last) {
  assert_true(k < r->n_ranges);
  assert_int_equal(r->ranges[k].models, models);
  assert_int_equal(r->ranges[k].n_nodes, n);
  assert_string_equal(r->ranges[k].first, first);
  assert_string_equal(r->ranges[k].last, last);
}

/* With every weight of one shape colliding, only the bytes keep w1 and w2 apart. */
static void collision_told_apart(void **state) {
  (void)state;
  for (int weak = 0; weak < 2; weak++) {
    ec_merge_report r;
    ec_graph *m = merge2(w1, false, w2, false, weak, &r);
    assert_int_equal(r.nodes_merged, 4);
    assert_int_equal(r.n_ranges, 2);
    range_is(&r, 0, 1, 2, "mm", "out");
    range_is(&r, 1, 2, 2, "mm", "out");
    assert_int_equal(r.weight_bytes_merged, 2 * 64);
    assert_int_equal(r.dedup_weights, 0);
    assert_int_equal(m->n_inputs, 1); /* x shared: one dtype and shape at position 0 */
    assert_int_equal(m->n_outputs, 2);
    assert_string_equal(m->tensors[m->outputs[1]].name, "b/y");
    ec_merge_report_free(&r);
    ec_graph_free(m);
  }
}

/* The same weights: MatMul once; each model keeps its output node (not merged, although alike). */
static void identical_weights_merge(void **state) {
  (void)state;
  for (int weak = 0; weak < 2; weak++) {
    ec_merge_report r;
    ec_graph *m = merge2(w1, false, w1, false, weak, &r);
    assert_int_equal(r.nodes_separate, 4);
    assert_int_equal(r.nodes_merged, 3);
    assert_int_equal(r.n_ranges, 3);
    range_is(&r, 0, 3, 1, "mm", "mm");
    range_is(&r, 1, 1, 1, "out", "out");
    range_is(&r, 2, 2, 1, "out", "out");
    assert_int_equal(r.weight_bytes_separate, 128);
    assert_int_equal(r.weight_bytes_merged, 64);
    assert_int_equal(r.dedup_weights, 0);
    assert_true(r.macs_merged * 2 == r.macs_separate && r.macs_merged == 16);
    assert_string_equal(m->nodes[0].name, "a/mm");
    assert_int_equal(m->outputs[0] != m->outputs[1], true);
    ec_merge_report_free(&r);
    ec_graph_free(m);
  }
}

/* b computes MatMul on another tensor: its node cannot merge, its weight is a's all the same. */
static void weight_stored_once(void **state) {
  (void)state;
  ec_merge_report r;
  ec_graph *m = merge2(w1, false, w1, true, false, &r);
  assert_int_equal(r.nodes_merged, 5);
  assert_int_equal(r.dedup_weights, 1);
  assert_int_equal(r.dedup_weight_bytes, 64);
  assert_int_equal(r.weight_bytes_merged, 64);
  assert_int_equal(m->nodes[0].inputs[1], m->nodes[3].inputs[1]); /* a/mm and b/mm read one W */
  ec_merge_report_free(&r);
  ec_graph_free(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(collision_told_apart),
      cmocka_unit_test(identical_weights_merge),
      cmocka_unit_test(weight_stored_once),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
