/* unit_test.h — what every cmocka unit test of the compiler includes: cmocka in the order it
 * needs, and small helpers to build graphs in C. */
#ifndef EC_UNIT_TEST_H
#define EC_UNIT_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ir.h"

/* Fails the test with both sides shown when two strings differ, or when `hay` lacks `needle`. */
#define assert_contains(hay, needle)                                                        \
  do {                                                                                      \
    if (!strstr((hay), (needle)))                                                           \
      fail_msg("expected \"%s\" to contain \"%s\"", (hay), (needle));                       \
  } while (0)

/* A graph input `name` of dtype float32 and the given shape. */
static inline int ut_input(ec_graph *g, const char *name, int rank, const int64_t *dims) {
  int t = ec_graph_tensor(g, name);
  assert_true(t >= 0);
  ec_tensor *tt = &g->tensors[t];
  tt->kind = EC_TK_INPUT;
  tt->dtype = ECK_FLOAT;
  tt->rank = rank;
  for (int i = 0; i < rank; i++) tt->dims[i] = dims[i];
  return t;
}

/* A node `op` named `name` reading `ins` and writing `outs` (tensor names, NULL-terminated). */
static inline int ut_node(ec_graph *g, const char *op, const char *name, const char *const *ins,
                          const char *const *outs) {
  int k = ec_graph_add_node(g, op, "", name);
  assert_true(k >= 0);
  int ti[16], to[16], ni = 0, no = 0;
  for (; ins && ins[ni]; ni++) ti[ni] = ins[ni][0] ? ec_graph_tensor(g, ins[ni]) : -1;
  for (; outs && outs[no]; no++) to[no] = ec_graph_tensor(g, outs[no]);
  assert_int_equal(ec_node_set_inputs(g, k, ti, ni), EC_OK);
  assert_int_equal(ec_node_set_outputs(g, k, to, no), EC_OK);
  return k;
}

#define UT_NAMES(...) ((const char *const[]){__VA_ARGS__, NULL})

#endif
