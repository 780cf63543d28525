/* test_ir.c — unit tests of the IR: tensor lookup, nodes, linking, topological order, cycle
 * detection, compaction, diagnostics and the checked helpers. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "unit_test.h"

static void tensor_lookup(void **state) {
  ec_graph *g = ec_graph_new();
  assert_non_null(g);
  assert_int_equal(ec_graph_find(g, "a"), -1);
  int a = ec_graph_tensor(g, "a");
  assert_int_equal(a, 0);
  assert_int_equal(ec_graph_tensor(g, "a"), a); /* finds, does not duplicate */
  assert_int_equal(g->n_tensors, 1);
  assert_int_equal(g->tensors[a].rank, -1);
  assert_int_equal(g->tensors[a].producer, -1);
  /* Enough names to force several rehashes; each must still be found at its index. */
  char name[32];
  for (int i = 0; i < 5000; i++) {
    snprintf(name, sizeof name, "t%d", i);
    assert_int_equal(ec_graph_tensor(g, name), i + 1);
  }
  for (int i = 0; i < 5000; i++) {
    snprintf(name, sizeof name, "t%d", i);
    int t = ec_graph_find(g, name);
    if (t != i + 1) fail_msg("expected '%s' at %d, found at %d", name, i + 1, t);
  }
  assert_int_equal(ec_graph_find(g, "t5000"), -1);
  assert_int_equal(ec_graph_find(g, ""), -1);
  assert_int_equal(ec_graph_tensor(g, ""), 5001); /* the empty name is a name like any other */
  ec_graph_free(g);
}

static void add_node_and_link(void **state) {
  ec_graph *g = ec_graph_new();
  int64_t d[2] = {2, 3};
  ut_input(g, "x", 2, d);
  int n0 = ut_node(g, "Relu", "r", UT_NAMES("x"), UT_NAMES("t"));
  int n1 = ut_node(g, "Add", "", UT_NAMES("t", "x"), UT_NAMES("y"));
  assert_int_equal(n0, 0);
  assert_int_equal(n1, 1);
  assert_string_equal(g->nodes[n0].op_type, "Relu");
  assert_string_equal(g->nodes[n0].name, "r");
  assert_string_equal(g->nodes[n1].name, "");
  assert_string_equal(g->nodes[n1].domain, "");
  assert_int_equal(g->nodes[n1].op, -1);
  assert_int_equal(ec_graph_link(g), EC_OK);
  int x = ec_graph_find(g, "x"), t = ec_graph_find(g, "t"), y = ec_graph_find(g, "y");
  assert_int_equal(g->tensors[t].producer, n0);
  assert_int_equal(g->tensors[y].producer, n1);
  assert_int_equal(g->tensors[x].producer, -1);
  assert_int_equal(g->tensors[x].n_consumers, 2);
  assert_int_equal(g->tensors[t].n_consumers, 1);
  assert_int_equal(g->tensors[t].consumers[0], n1);
  /* Relinking recomputes instead of appending. */
  assert_int_equal(ec_graph_link(g), EC_OK);
  assert_int_equal(g->tensors[x].n_consumers, 2);
  char buf[128];
  ec_node_describe(g, &g->nodes[n0], buf, sizeof buf);
  assert_string_equal(buf, "node 'r' (Relu)");
  ec_node_describe(g, &g->nodes[n1], buf, sizeof buf);
  assert_string_equal(buf, "node #1 (output 'y') (Add)");
  ec_graph_free(g);
}

/* Nodes given in reverse dependency order come out producers first; independent nodes keep
 * their file order. */
static void toposort_order(void **state) {
  ec_graph *g = ec_graph_new();
  int64_t d[1] = {4};
  ut_input(g, "x", 1, d);
  ut_node(g, "Relu", "c", UT_NAMES("b"), UT_NAMES("y"));
  ut_node(g, "Relu", "b", UT_NAMES("a"), UT_NAMES("b"));
  ut_node(g, "Relu", "a", UT_NAMES("x"), UT_NAMES("a"));
  ut_node(g, "Relu", "p", UT_NAMES("x"), UT_NAMES("p"));
  ut_node(g, "Relu", "q", UT_NAMES("x"), UT_NAMES("q"));
  ec_diag dg = {0};
  assert_int_equal(ec_graph_toposort(g, &dg), EC_OK);
  const char *want[] = {"a", "b", "c", "p", "q"};
  for (int i = 0; i < 5; i++)
    if (strcmp(g->nodes[i].name, want[i]) != 0)
      fail_msg("position %d: expected node '%s', got '%s'", i, want[i], g->nodes[i].name);
  /* Links follow the new order. */
  assert_int_equal(g->tensors[ec_graph_find(g, "a")].producer, 0);
  assert_int_equal(g->tensors[ec_graph_find(g, "y")].producer, 2);
  /* Sorting a sorted graph changes nothing. */
  assert_int_equal(ec_graph_toposort(g, &dg), EC_OK);
  for (int i = 0; i < 5; i++) assert_string_equal(g->nodes[i].name, want[i]);
  ec_graph_free(g);
}

/* A pass replaced a node: the new producer of `y` comes after y's consumer in the array and the
 * old one is dead. Sorting drops the dead node and puts the consumer after the new producer. */
static void toposort_drops_dead(void **state) {
  ec_graph *g = ec_graph_new();
  int64_t d[1] = {4};
  ut_input(g, "x", 1, d);
  int old = ut_node(g, "Relu", "old", UT_NAMES("x"), UT_NAMES("y"));
  ut_node(g, "Relu", "c", UT_NAMES("y"), UT_NAMES("z"));
  g->nodes[old].dead = true;
  ut_node(g, "Sigmoid", "new", UT_NAMES("x"), UT_NAMES("y"));
  ec_diag dg = {0};
  assert_int_equal(ec_graph_toposort(g, &dg), EC_OK);
  assert_int_equal(g->n_nodes, 2);
  assert_string_equal(g->nodes[0].name, "new");
  assert_string_equal(g->nodes[1].name, "c");
  assert_int_equal(g->tensors[ec_graph_find(g, "y")].producer, 0);
  ec_graph_free(g);
}

static void toposort_cycle(void **state) {
  ec_graph *g = ec_graph_new();
  g->source_path = ec_strdup("m.onnx");
  int64_t d[1] = {4};
  ut_input(g, "x", 1, d);
  ut_node(g, "Relu", "ok", UT_NAMES("x"), UT_NAMES("t"));
  ut_node(g, "Add", "n1", UT_NAMES("t", "b"), UT_NAMES("a"));
  ut_node(g, "Add", "n2", UT_NAMES("t", "a"), UT_NAMES("b"));
  ec_diag dg = {0};
  assert_int_equal(ec_graph_toposort(g, &dg), EC_ERR_MODEL);
  assert_string_equal(dg.file, "m.onnx");
  assert_contains(dg.where, "(Add)");
  assert_contains(dg.msg, "cycle");
  ec_graph_free(g);

  g = ec_graph_new(); /* a node reading its own output */
  ut_input(g, "x", 1, d);
  ut_node(g, "Add", "self", UT_NAMES("x", "y"), UT_NAMES("y"));
  memset(&dg, 0, sizeof dg);
  assert_int_equal(ec_graph_toposort(g, &dg), EC_ERR_MODEL);
  assert_string_equal(dg.where, "node 'self' (Add)");
  ec_graph_free(g);
}

static void compact(void **state) {
  ec_graph *g = ec_graph_new();
  int64_t d[1] = {4};
  ut_input(g, "x", 1, d);
  ut_node(g, "Relu", "a", UT_NAMES("x"), UT_NAMES("a"));
  ut_node(g, "Relu", "b", UT_NAMES("a"), UT_NAMES("b"));
  ut_node(g, "Relu", "c", UT_NAMES("a"), UT_NAMES("c"));
  assert_int_equal(ec_graph_link(g), EC_OK);
  g->nodes[1].dead = true;
  assert_int_equal(ec_graph_compact(g), EC_OK);
  assert_int_equal(g->n_nodes, 2);
  assert_string_equal(g->nodes[0].name, "a");
  assert_string_equal(g->nodes[1].name, "c");
  int a = ec_graph_find(g, "a");
  assert_int_equal(g->tensors[a].n_consumers, 1);
  assert_int_equal(g->tensors[a].consumers[0], 1);
  assert_int_equal(g->tensors[ec_graph_find(g, "c")].producer, 1);
  assert_int_equal(g->tensors[ec_graph_find(g, "b")].producer, -1);
  g->nodes[0].dead = g->nodes[1].dead = true;
  assert_int_equal(ec_graph_compact(g), EC_OK);
  assert_int_equal(g->n_nodes, 0);
  ec_graph_free(g);
}

static void tensors_and_helpers(void **state) {
  ec_graph *g = ec_graph_new();
  int t = ec_graph_tensor(g, "c");
  ec_tensor *tt = &g->tensors[t];
  assert_int_equal(ec_tensor_numel(tt), -1);
  tt->rank = 3;
  tt->dims[0] = 2, tt->dims[1] = 3, tt->dims[2] = 4;
  tt->dtype = ECK_FLOAT;
  assert_int_equal(ec_tensor_numel(tt), 24);
  float v[24] = {1.5f};
  assert_int_equal(ec_tensor_set_data(tt, v, sizeof v, false), EC_OK);
  assert_true(ec_tensor_is_const(tt));
  assert_true(tt->owned);
  assert_ptr_not_equal(tt->data, v);
  assert_memory_equal(tt->data, v, sizeof v);
  tt->rank = 0;
  assert_int_equal(ec_tensor_numel(tt), 1);
  ec_graph_free(g);

  int64_t r;
  assert_true(ec_mul_overflow_i64(1 << 20, 1 << 20, &r));
  assert_int_equal(r, (int64_t)1 << 40);
  assert_false(ec_mul_overflow_i64(INT64_MAX / 2, 3, &r));
  assert_null(ec_realloc_array(NULL, SIZE_MAX / 2, 4));
  assert_int_equal(ec_dtype_size(ECK_FLOAT), 4);
  assert_int_equal(ec_dtype_size(ECK_BFLOAT16), 2);
  assert_int_equal(ec_dtype_size(ECK_STRING), 0);
  assert_int_equal(ec_dtype_size(99), 0);
  assert_int_equal(ec_dtype_size(-5), 0);
  assert_string_equal(ec_dtype_name(ECK_INT64), "int64");
  assert_string_equal(ec_dtype_name(1000), "?");
  assert_false(ec_dtype_valid(0));
  assert_false(ec_dtype_valid(17));
  assert_true(ec_dtype_valid(ECK_BFLOAT16));
}

static void buffers(void **state) {
  ec_buf b = {0};
  ec_buf_printf(&b, "%d-%s", 12, "x");
  assert_string_equal(b.data, "12-x");
  char big[1000];
  memset(big, 'q', sizeof big - 1);
  big[sizeof big - 1] = 0;
  ec_buf_printf(&b, "%s", big); /* longer than the printf fast path */
  assert_int_equal(b.len, 4 + 999);
  ec_buf_free(&b);
  ec_buf_json_str(&b, "a\"b\\c\n\x01");
  assert_string_equal(b.data, "\"a\\\"b\\\\c\\u000a\\u0001\"");
  ec_buf_free(&b);
}

/* Names from a corrupt file may hold newlines; the diagnostic must still be one line. */
static void diag_one_line(void **state) {
  char path[] = "/tmp/ec_test_diag_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  fflush(stderr);
  int saved = dup(2);
  dup2(fd, 2);
  ec_diag dg;
  ec_diag_set(&dg, "a\nb.onnx", "node 'x\ny' (Relu)", "input 'p\rq\x0b' is %s", "bad\n");
  ec_diag_print(&dg);
  fflush(stderr);
  dup2(saved, 2);
  close(saved);
  char out[512] = "";
  FILE *f = fopen(path, "r");
  size_t n = fread(out, 1, sizeof out - 1, f);
  fclose(f);
  close(fd);
  unlink(path);
  out[n] = 0;
  assert_string_equal(out, "edgecc: error: a\\x0ab.onnx: node 'x\\x0ay' (Relu): input "
                           "'p\\x0dq\\x0b' is bad\\x0a\n");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(tensor_lookup), cmocka_unit_test(add_node_and_link),
      cmocka_unit_test(toposort_order), cmocka_unit_test(toposort_cycle),
      cmocka_unit_test(toposort_drops_dead),
      cmocka_unit_test(compact),       cmocka_unit_test(tensors_and_helpers),
      cmocka_unit_test(buffers),       cmocka_unit_test(diag_one_line),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
