/* test_lower_query.c — the planner asks lowering what-if questions before lowering (cost.c,
 * plan.c): which nodes will run fast, which Relus fuse into their producer, which tensors go.
 * On the digits model (Conv-Relu-MaxPool twice, Flatten, Gemm) the answers must be those the
 * pipeline's lowering then carries out, and asking must not change one byte of the graph (the query once set tensor
 * layouts and put them back). usage: test_lower_query DIGITS.onnx */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "lower.h"
#include "op.h"
#include "pipeline.h"
#include "unit_test.h"

static const char *model;

/* What a query could write: per tensor its layout, output flag, producer and consumers; per
 * node its liveness, inputs and outputs. */
static char *snapshot(const ec_graph *g, size_t *len) {
  ec_buf b = {0};
  for (int t = 0; t < g->n_tensors; t++) {
    const ec_tensor *x = &g->tensors[t];
    ec_buf_printf(&b, "t%d %d %d %d %d:", t, x->layout, x->is_output, x->producer, x->n_consumers);
    for (int k = 0; k < x->n_consumers; k++) ec_buf_printf(&b, " %d", x->consumers[k]);
    ec_buf_printf(&b, "\n");
  }
  for (int i = 0; i < g->n_nodes; i++) {
    const ec_node *n = &g->nodes[i];
    ec_buf_printf(&b, "n%d %d %d:", i, n->dead, n->n_attrs);
    for (int k = 0; k < n->n_inputs; k++) ec_buf_printf(&b, " %d", n->inputs[k]);
    ec_buf_printf(&b, " ->");
    for (int k = 0; k < n->n_outputs; k++) ec_buf_printf(&b, " %d", n->outputs[k]);
    ec_buf_printf(&b, "\n");
  }
  assert_false(b.oom);
  *len = b.len;
  return b.data;
}

static void queries_are_pure_and_right(void **state) {
  (void)state;
  ec_model_opts mo;
  memset(&mo, 0, sizeof mo);
  ec_graph *g;
  assert_int_equal(ec_cli_load(model, &mo, false, &g), 0);
  size_t n0, n1;
  char *before = snapshot(g, &n0);
  int fast = 0, fused = 0, removed = 0;
  for (int i = 0; i < g->n_nodes; i++) {
    const ec_node *n = &g->nodes[i];
    bool f = ec_lower_runs_fast(g, i), a = ec_lower_fused_act(g, i);
    /* Convolutions and poolings run fast once laid out NHWC; Flatten stays a reference kernel. */
    if (n->op == EC_OP_Conv || n->op == EC_OP_MaxPool) assert_true(f);
    if (n->op == EC_OP_Flatten) assert_false(f);
    /* Both Relus follow a convolution and fold into it; nothing else is a fused activation. */
    assert_int_equal(a, n->op == EC_OP_Relu);
    fast += f;
    fused += a;
  }
  for (int t = 0; t < g->n_tensors; t++) {
    bool r = ec_lower_removes_tensor(g, t);
    /* Exactly the convolutions' outputs go: their Relus write the producers' outputs. */
    int p = g->tensors[t].producer;
    assert_int_equal(r, p >= 0 && g->nodes[p].op == EC_OP_Conv);
    removed += r;
  }
  assert_int_equal(fused, 2);
  assert_int_equal(removed, 2);
  char *after = snapshot(g, &n1);
  assert_int_equal(n0, n1);
  assert_memory_equal(before, after, n0);
  free(before);
  free(after);
  /* The pipeline carries the answers out: the Relus are gone, the convolutions clamp. */
  static ec_diag d;
  static ec_target_set ts;
  static ec_device_list devs;
  assert_int_equal(ec_targets_init(&ts, &d), EC_OK);
  assert_int_equal(ec_devices_parse(&ts, "host", &devs, &d), EC_OK);
  ec_pipeline_opts po = {.plan = {.klib = EC_KLIB_XNNPACK}};
  ec_plan plan;
  assert_int_equal(ec_pipeline_run(g, &devs, &po, &plan, &d), EC_OK);
  ec_plan_free(&plan);
  ec_targets_free(&ts);
  int relus = 0;
  for (int i = 0; i < g->n_nodes; i++) relus += !g->nodes[i].dead && g->nodes[i].op == EC_OP_Relu;
  assert_int_equal(relus, 0);
  ec_graph_free(g);
  printf("lowering's what-if queries: %d fast nodes, %d fused Relus, %d tensors removed, graph unchanged\n", fast,
         fused, removed);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: test_lower_query DIGITS.onnx\n");
    return 2;
  }
  model = argv[1];
  const struct CMUnitTest tests[] = {cmocka_unit_test(queries_are_pure_and_right)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
