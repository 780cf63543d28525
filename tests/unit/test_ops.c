/* test_ops.c — unit tests of the op table (every entry complete, lookup, count), of the helpers
 * infer functions share (broadcast, axis normalisation, attribute getters) and of shape
 * inference and constant folding on small graphs built in C. */
#include <stdlib.h>
#include <string.h>

#include "cost.h"
#include "op.h"
#include "unit_test.h"

static void op_table(void **state) {
  assert_true(EC_OP_COUNT > 0);
  for (int i = 0; i < EC_OP_COUNT; i++) {
    const ec_op_def *op = &ec_ops[i];
    if (!op->name || !op->name[0]) fail_msg("op table entry %d has no name", i);
    if (!op->domain) fail_msg("op '%s' has a NULL domain (use \"\")", op->name);
    if (!op->infer) fail_msg("op '%s' has no infer function", op->name);
    if (op->ref && !op->ref_name) fail_msg("op '%s' has a kernel but no kernel name", op->name);
    /* Lookup finds each entry at its own index: no duplicates shadow it. */
    int k = ec_op_find(op->name, op->domain);
    if (k != i) fail_msg("ec_op_find(\"%s\", \"%s\") gives %d, expected %d", op->name, op->domain, k, i);
    if (!op->domain[0] && ec_op_find(op->name, "ai.onnx") != i)
      fail_msg("ec_op_find(\"%s\", \"ai.onnx\") does not find entry %d", op->name, i);
    if (!op->domain[0] && ec_op_find(op->name, NULL) != i)
      fail_msg("ec_op_find(\"%s\", NULL) does not find entry %d", op->name, i);
    /* The params column names a type exactly where the kernel takes params codegen prints. */
    bool none = strcmp(op->params_type, "ec_no_params") == 0;
    if (!op->print_params != none)
      fail_msg("op '%s': params column %s but %s params printer", op->name, op->params_type,
               op->print_params ? "a" : "no");
    if (!none && strncmp(op->params_type, "eck_", 4) != 0)
      fail_msg("op '%s': params type %s is not a kernel's (eck_*)", op->name, op->params_type);
  }
  assert_int_equal(ec_op_find("NoSuchOp", ""), -1);
  assert_int_equal(ec_op_find("Relu", "com.example"), -1);
  assert_int_equal(ec_op_find("relu", ""), -1); /* op types are case-sensitive */
  assert_int_equal(ec_op_find("", ""), -1);
  assert_int_equal(ec_op_find("Relu", ""), EC_OP_Relu);
  assert_int_equal(ec_op_find("Add", ""), EC_OP_Add);
}

/* The cost model's class comes from the op table's class column: convolutions (the integer ones
 * too: they were classed by op_type strings once, which missed them) by their group. */
static void node_class(void **state) {
  ec_graph *g = ec_graph_new();
  static const struct {
    const char *op;
    int64_t group;
    ec_op_class want;
  } cases[] = {{"Conv", 1, EC_OPC_GEMM},         {"Conv", 32, EC_OPC_DWCONV},
               {"ConvTranspose", 1, EC_OPC_GEMM}, {"ConvInteger", 1, EC_OPC_GEMM},
               {"QLinearConv", 8, EC_OPC_DWCONV}, {"Gemm", 0, EC_OPC_GEMM},
               {"MatMul", 0, EC_OPC_GEMM},        {"MatMulInteger", 0, EC_OPC_GEMM},
               {"Einsum", 0, EC_OPC_GEMM},        {"Relu", 0, EC_OPC_MEMORY},
               {"MaxPool", 0, EC_OPC_MEMORY},     {"NoSuchOp", 0, EC_OPC_MEMORY}};
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    int i = ec_graph_add_node(g, cases[k].op, "", "n");
    ec_node *n = &g->nodes[i];
    n->op = ec_op_find(cases[k].op, "");
    if (cases[k].group) {
      n->attrs = calloc(1, sizeof *n->attrs);
      n->attrs[0].name = ec_strdup("group");
      n->attrs[0].type = EC_ATTR_INT;
      n->attrs[0].i = cases[k].group;
      n->n_attrs = 1;
    }
    if (ec_node_class(g, n) != cases[k].want)
      fail_msg("%s (group %lld): class %d, expected %d", cases[k].op, (long long)cases[k].group,
               (int)ec_node_class(g, n), (int)cases[k].want);
  }
  ec_graph_free(g);
  (void)state;
}

/* A context over a scratch graph whose messages go to `dg`. */
typedef struct {
  ec_graph *g;
  ec_diag dg;
  ec_ctx cx;
} fixture;

static fixture *fx_new(void) {
  fixture *f = calloc(1, sizeof *f);
  f->g = ec_graph_new();
  f->g->source_path = ec_strdup("t.onnx");
  f->g->opset = 13;
  f->cx.g = f->g;
  f->cx.diag = &f->dg;
  f->cx.opset = 13;
  return f;
}

static void fx_free(fixture *f) {
  ec_graph_free(f->g);
  free(f);
}

static ec_tensor *shaped(ec_graph *g, const char *name, int rank, const int64_t *dims) {
  int t = ec_graph_tensor(g, name);
  ec_tensor *tt = &g->tensors[t];
  tt->dtype = ECK_FLOAT;
  tt->rank = rank;
  for (int i = 0; i < rank; i++) tt->dims[i] = dims[i];
  return tt;
}

static void broadcast(void **state) {
  fixture *f = fx_new();
  int k = ut_node(f->g, "Add", "n", UT_NAMES("a", "b"), UT_NAMES("y"));
  int64_t da[3] = {2, 1, 4}, db[2] = {3, 1}, dc[2] = {3, 5}, out[EC_MAX_RANK];
  int rank;
  ec_tensor *a = shaped(f->g, "a", 3, da);
  ec_tensor *b = shaped(f->g, "b", 2, db);
  const ec_tensor *ts[2] = {a, b};
  assert_int_equal(ec_broadcast(&f->cx, &f->g->nodes[k], ts, 2, &rank, out), EC_OK);
  assert_int_equal(rank, 3);
  assert_int_equal(out[0], 2);
  assert_int_equal(out[1], 3);
  assert_int_equal(out[2], 4);
  /* A scalar broadcasts to anything. */
  ec_tensor *s = shaped(f->g, "s", 0, NULL);
  const ec_tensor *ts2[2] = {s, a};
  assert_int_equal(ec_broadcast(&f->cx, &f->g->nodes[k], ts2, 2, &rank, out), EC_OK);
  assert_int_equal(rank, 3);
  assert_int_equal(out[1], 1);
  /* 4 vs 5 in the last dim cannot. */
  ec_tensor *c = shaped(f->g, "c", 2, dc);
  const ec_tensor *ts3[2] = {a, c};
  assert_int_equal(ec_broadcast(&f->cx, &f->g->nodes[k], ts3, 2, &rank, out), EC_ERR_MODEL);
  assert_string_equal(f->dg.file, "t.onnx");
  assert_string_equal(f->dg.where, "node 'n' (Add)");
  assert_contains(f->dg.msg, "broadcast");
  /* Zero-sized dims broadcast against 1 only. */
  int64_t dz[1] = {0}, d1[1] = {1}, d3[1] = {3};
  ec_tensor *z = shaped(f->g, "z", 1, dz), *o = shaped(f->g, "o", 1, d1),
            *t3 = shaped(f->g, "t3", 1, d3);
  const ec_tensor *ts4[2] = {z, o}, *ts5[2] = {z, t3};
  assert_int_equal(ec_broadcast(&f->cx, &f->g->nodes[k], ts4, 2, &rank, out), EC_OK);
  assert_int_equal(out[0], 0);
  assert_int_equal(ec_broadcast(&f->cx, &f->g->nodes[k], ts5, 2, &rank, out), EC_ERR_MODEL);
  /* A tensor of unknown shape is an error, not garbage. */
  ec_tensor *u = &f->g->tensors[ec_graph_tensor(f->g, "u")];
  const ec_tensor *ts6[2] = {a, u};
  assert_int_equal(ec_broadcast(&f->cx, &f->g->nodes[k], ts6, 2, &rank, out), EC_ERR_MODEL);
  fx_free(f);
}

static void norm_axis(void **state) {
  fixture *f = fx_new();
  int k = ut_node(f->g, "Relu", "", UT_NAMES("x"), UT_NAMES("y"));
  ec_node *n = &f->g->nodes[k];
  int ax = 99;
  assert_int_equal(ec_norm_axis(&f->cx, n, 0, 4, &ax), EC_OK);
  assert_int_equal(ax, 0);
  assert_int_equal(ec_norm_axis(&f->cx, n, 3, 4, &ax), EC_OK);
  assert_int_equal(ax, 3);
  assert_int_equal(ec_norm_axis(&f->cx, n, -1, 4, &ax), EC_OK);
  assert_int_equal(ax, 3);
  assert_int_equal(ec_norm_axis(&f->cx, n, -4, 4, &ax), EC_OK);
  assert_int_equal(ax, 0);
  assert_int_equal(ec_norm_axis(&f->cx, n, 4, 4, &ax), EC_ERR_MODEL);
  assert_contains(f->dg.msg, "axis 4");
  assert_string_equal(f->dg.where, "node #0 (output 'y') (Relu)");
  assert_int_equal(ec_norm_axis(&f->cx, n, -5, 4, &ax), EC_ERR_MODEL);
  assert_int_equal(ec_norm_axis(&f->cx, n, INT64_MIN, 4, &ax), EC_ERR_MODEL);
  assert_int_equal(ec_norm_axis(&f->cx, n, INT64_MAX, 4, &ax), EC_ERR_MODEL);
  assert_int_equal(ec_norm_axis(&f->cx, n, (int64_t)1 << 33, 4, &ax), EC_ERR_MODEL);
  fx_free(f);
}

static void attributes(void **state) {
  fixture *f = fx_new();
  int k = ut_node(f->g, "Relu", "r", UT_NAMES("x"), UT_NAMES("y"));
  ec_node *n = &f->g->nodes[k];
  n->attrs = calloc(6, sizeof(ec_attr));
  n->n_attrs = 6;
  ec_attr *a = n->attrs;
  a[0].name = ec_strdup("i"), a[0].type = EC_ATTR_INT, a[0].i = 7;
  a[1].name = ec_strdup("f"), a[1].type = EC_ATTR_FLOAT, a[1].f = 0.5f;
  a[2].name = ec_strdup("s"), a[2].type = EC_ATTR_STRING, a[2].s = ec_strdup("hi"), a[2].s_len = 2;
  a[3].name = ec_strdup("is"), a[3].type = EC_ATTR_INTS, a[3].n = 2;
  a[3].ints = calloc(2, sizeof(int64_t));
  a[3].ints[0] = 1, a[3].ints[1] = -1;
  a[4].name = ec_strdup("fs"), a[4].type = EC_ATTR_FLOATS, a[4].n = 0, a[4].floats = calloc(1, 4);
  a[5].name = ec_strdup("g"), a[5].type = EC_ATTR_GRAPH;

  int64_t iv;
  float fv;
  const char *sv;
  const int64_t *ints;
  const float *floats;
  const ec_const *tv;
  int cnt;
  /* Right types. */
  assert_int_equal(ec_attr_int(&f->cx, n, "i", 3, &iv), EC_OK);
  assert_int_equal(iv, 7);
  assert_true(a[0].used);
  assert_int_equal(ec_attr_float(&f->cx, n, "f", 1, &fv), EC_OK);
  assert_true(fv == 0.5f);
  assert_int_equal(ec_attr_string(&f->cx, n, "s", "d", &sv), EC_OK);
  assert_string_equal(sv, "hi");
  assert_int_equal(ec_attr_ints(&f->cx, n, "is", &ints, &cnt), EC_OK);
  assert_int_equal(cnt, 2);
  assert_int_equal(ints[1], -1);
  assert_int_equal(ec_attr_floats(&f->cx, n, "fs", &floats, &cnt), EC_OK);
  assert_int_equal(cnt, 0);
  /* Absent: the default, and no error. */
  assert_int_equal(ec_attr_int(&f->cx, n, "nope", 3, &iv), EC_OK);
  assert_int_equal(iv, 3);
  assert_int_equal(ec_attr_ints(&f->cx, n, "nope", &ints, &cnt), EC_OK);
  assert_int_equal(cnt, -1);
  assert_null(ints);
  assert_int_equal(ec_attr_string(&f->cx, n, "nope", "dflt", &sv), EC_OK);
  assert_string_equal(sv, "dflt");
  assert_int_equal(ec_attr_tensor(&f->cx, n, "nope", &tv), EC_OK);
  assert_null(tv);
  /* Wrong types: an error naming the attribute and the node, never a garbage value. */
  struct {
    ec_status st;
    const char *attr;
  } wrong[] = {
      {ec_attr_int(&f->cx, n, "f", 0, &iv), "f"},
      {ec_attr_int(&f->cx, n, "is", 0, &iv), "is"},
      {ec_attr_float(&f->cx, n, "i", 0, &fv), "i"},
      {ec_attr_float(&f->cx, n, "s", 0, &fv), "s"},
      {ec_attr_string(&f->cx, n, "i", "", &sv), "i"},
      {ec_attr_ints(&f->cx, n, "i", &ints, &cnt), "i"},
      {ec_attr_ints(&f->cx, n, "fs", &ints, &cnt), "fs"},
      {ec_attr_floats(&f->cx, n, "is", &floats, &cnt), "is"},
      {ec_attr_tensor(&f->cx, n, "g", &tv), "g"},
  };
  for (size_t w = 0; w < sizeof wrong / sizeof wrong[0]; w++) {
    if (wrong[w].st != EC_ERR_MODEL)
      fail_msg("getter %zu on attribute '%s' of the wrong type: expected EC_ERR_MODEL, got %d", w,
               wrong[w].attr, (int)wrong[w].st);
  }
  assert_string_equal(f->dg.where, "node 'r' (Relu)");
  assert_contains(f->dg.msg, "'g'");
  assert_int_equal(ec_attr_require(&f->cx, n, "i"), EC_OK);
  assert_int_equal(ec_attr_require(&f->cx, n, "missing"), EC_ERR_MODEL);
  assert_contains(f->dg.msg, "'missing'");
  fx_free(f);
}

static void set_output_checks(void **state) {
  fixture *f = fx_new();
  int k = ut_node(f->g, "Relu", "r", UT_NAMES("x"), UT_NAMES("y"));
  ec_node *n = &f->g->nodes[k];
  int64_t ok[2] = {2, 3}, neg[2] = {2, -1}, huge[3] = {1 << 30, 1 << 30, 1 << 30};
  assert_int_equal(ec_set_output(&f->cx, n, 0, ECK_FLOAT, 2, ok), EC_OK);
  ec_tensor *y = &f->g->tensors[ec_graph_find(f->g, "y")];
  assert_int_equal(y->rank, 2);
  assert_int_equal(y->dims[1], 3);
  assert_int_equal(ec_set_output(&f->cx, n, 0, ECK_FLOAT, 2, neg), EC_ERR_MODEL);
  assert_contains(f->dg.msg, "negative");
  assert_int_equal(ec_set_output(&f->cx, n, 0, ECK_FLOAT, 3, huge), EC_ERR_MODEL);
  assert_int_equal(ec_set_output(&f->cx, n, 0, ECK_FLOAT, EC_MAX_RANK + 1, ok), EC_ERR_MODEL);
  assert_int_equal(ec_set_output(&f->cx, n, 0, ECK_STRING, 2, ok), EC_ERR_MODEL);
  assert_int_equal(ec_set_output(&f->cx, n, 0, 1234, 2, ok), EC_ERR_MODEL);
  assert_int_equal(ec_set_output(&f->cx, n, 5, ECK_FLOAT, 2, ok), EC_OK); /* absent output */
  assert_int_equal(y->rank, 2); /* failed calls left it alone */
  assert_int_equal(ec_check_arity(&f->cx, n, 2, 2, 1, 1), EC_ERR_MODEL);
  assert_contains(f->dg.msg, "2 inputs");
  assert_int_equal(ec_check_arity(&f->cx, n, 1, 1, 1, 1), EC_OK);
  fx_free(f);
}

/* x[2,3] + b[3] -> Relu -> Identity: shapes flow through; file order kept. */
static void infer_small_graph(void **state) {
  ec_graph *g = ec_graph_new();
  g->opset = 13; /* numpy broadcasting (opset 1 needs the `broadcast` attribute) */
  g->source_path = ec_strdup("g.onnx");
  int64_t dx[2] = {2, 3}, db[1] = {3};
  ut_input(g, "x", 2, dx);
  int b = ut_input(g, "b", 1, db);
  g->tensors[b].kind = EC_TK_INPUT;
  int n0 = ut_node(g, "Add", "add", UT_NAMES("x", "b"), UT_NAMES("s"));
  int n1 = ut_node(g, "Relu", "relu", UT_NAMES("s"), UT_NAMES("r"));
  int n2 = ut_node(g, "Identity", "id", UT_NAMES("r"), UT_NAMES("y"));
  g->nodes[n0].op = EC_OP_Add, g->nodes[n1].op = EC_OP_Relu, g->nodes[n2].op = EC_OP_Identity;
  ec_diag dg = {0};
  assert_int_equal(ec_graph_toposort(g, &dg), EC_OK);
  ec_status st = ec_infer_graph(g, &dg);
  if (st) fail_msg("expected inference to succeed, got %d: %s: %s", (int)st, dg.where, dg.msg);
  for (int i = 0; i < 3; i++) {
    const char *names[] = {"s", "r", "y"};
    ec_tensor *t = &g->tensors[ec_graph_find(g, names[i])];
    if (t->rank != 2 || t->dims[0] != 2 || t->dims[1] != 3 || t->dtype != ECK_FLOAT)
      fail_msg("tensor '%s': expected float32 [2,3], got %s rank %d [%lld,%lld]", names[i],
               ec_dtype_name(t->dtype), t->rank, (long long)t->dims[0], (long long)t->dims[1]);
  }
  ec_graph_free(g);
}

static void infer_errors(void **state) {
  ec_graph *g = ec_graph_new();
  g->opset = 13; /* numpy broadcasting (opset 1 needs the `broadcast` attribute) */
  g->source_path = ec_strdup("g.onnx");
  int64_t dx[2] = {2, 3}, dz[2] = {4, 3};
  ut_input(g, "x", 2, dx);
  ut_input(g, "z", 2, dz);
  int n0 = ut_node(g, "Add", "", UT_NAMES("x", "z"), UT_NAMES("s"));
  g->nodes[n0].op = EC_OP_Add;
  ec_diag dg = {0};
  assert_int_equal(ec_graph_toposort(g, &dg), EC_OK);
  assert_int_equal(ec_infer_graph(g, &dg), EC_ERR_MODEL);
  assert_string_equal(dg.file, "g.onnx");
  assert_string_equal(dg.where, "node #0 (output 's') (Add)");
  assert_contains(dg.msg, "broadcast");
  ec_graph_free(g);

  g = ec_graph_new(); /* an op the table does not know */
  g->opset = 13;
  ut_input(g, "x", 2, dx);
  ut_node(g, "Frobnicate", "f", UT_NAMES("x"), UT_NAMES("y"));
  memset(&dg, 0, sizeof dg);
  assert_int_equal(ec_infer_graph(g, &dg), EC_ERR_MODEL);
  assert_contains(dg.msg, "unknown op 'Frobnicate'");
  ec_graph_free(g);

  g = ec_graph_new(); /* an attribute no infer function reads */
  g->opset = 13;
  ut_input(g, "x", 2, dx);
  int k = ut_node(g, "Relu", "r", UT_NAMES("x"), UT_NAMES("y"));
  g->nodes[k].op = EC_OP_Relu;
  g->nodes[k].attrs = calloc(1, sizeof(ec_attr));
  g->nodes[k].n_attrs = 1;
  g->nodes[k].attrs[0].name = ec_strdup("frob");
  g->nodes[k].attrs[0].type = EC_ATTR_INT;
  memset(&dg, 0, sizeof dg);
  assert_int_equal(ec_infer_graph(g, &dg), EC_ERR_MODEL);
  assert_string_equal(dg.where, "node 'r' (Relu)");
  assert_contains(dg.msg, "unknown attribute 'frob'");
  ec_graph_free(g);
}

/* A node whose inputs are constants is evaluated at compile time and dropped. */
static void constant_folding(void **state) {
  ec_graph *g = ec_graph_new();
  g->opset = 13;
  int64_t d[1] = {3};
  float av[3] = {1, -2, 3}, bv[3] = {-4, 1, 0.5f};
  int a = ut_input(g, "a", 1, d), b = ut_input(g, "b", 1, d);
  assert_int_equal(ec_tensor_set_data(&g->tensors[a], av, sizeof av, false), EC_OK);
  assert_int_equal(ec_tensor_set_data(&g->tensors[b], bv, sizeof bv, false), EC_OK);
  int x = ut_input(g, "x", 1, d);
  (void)x;
  int n0 = ut_node(g, "Add", "fold", UT_NAMES("a", "b"), UT_NAMES("c"));
  int n1 = ut_node(g, "Add", "keep", UT_NAMES("c", "x"), UT_NAMES("y"));
  g->nodes[n0].op = g->nodes[n1].op = EC_OP_Add;
  ec_diag dg = {0};
  assert_int_equal(ec_graph_toposort(g, &dg), EC_OK);
  ec_status st = ec_infer_graph(g, &dg);
  if (st) fail_msg("expected inference to succeed, got %d: %s", (int)st, dg.msg);
  assert_int_equal(ec_graph_compact(g), EC_OK);
  assert_int_equal(g->n_nodes, 1);
  assert_string_equal(g->nodes[0].name, "keep");
  ec_tensor *c = &g->tensors[ec_graph_find(g, "c")];
  assert_int_equal(c->kind, EC_TK_CONSTANT);
  assert_non_null(c->data);
  assert_int_equal(c->nbytes, sizeof av);
  float want[3] = {-3, -1, 3.5f}, got[3];
  memcpy(got, c->data, sizeof got);
  for (int i = 0; i < 3; i++)
    if (got[i] != want[i]) fail_msg("folded c[%d]: expected %g, got %g", i, want[i], got[i]);
  ec_graph_free(g);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(op_table),          cmocka_unit_test(node_class),
      cmocka_unit_test(broadcast),
      cmocka_unit_test(norm_axis),         cmocka_unit_test(attributes),
      cmocka_unit_test(set_output_checks), cmocka_unit_test(infer_small_graph),
      cmocka_unit_test(infer_errors),      cmocka_unit_test(constant_folding),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
