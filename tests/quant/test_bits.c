/* test_bits.c — the planner's bit-width choice (compiler/plan/bits.c) against brute force: on
 * seeded random problems every subset of up to 14 nodes is tried, and the choice must reach the
 * least predicted time any subset within the budget reaches, with no fewer units spared; plus the
 * cases where the rule says which of equally good answers to give. */
#include <stdlib.h>
#include <string.h>

#include "bits.h"
#include "unit_test.h"

static unsigned rng = 12345;
static unsigned next(void) {
  rng = rng * 1103515245u + 12345u;
  return (rng >> 8) & 0xffffff;
}

static double saved(const ec_bits_item *it, int n, const bool *take) {
  double s = 0;
  for (int i = 0; i < n; i++)
    if (take[i]) s += it[i].ms_fp32 - it[i].ms_int8;
  return s;
}

static int units(const ec_bits_item *it, int n, const bool *take) {
  int u = 0;
  for (int i = 0; i < n; i++)
    if (take[i]) u += it[i].cost > 0 ? it[i].cost : 0;
  return u;
}

static void against_brute_force(void **state) {
  (void)state;
  for (int round = 0; round < 400; round++) {
    int n = 1 + (int)(next() % 14), budget = (int)(next() % 12);
    ec_bits_item it[14];
    for (int i = 0; i < n; i++) {
      it[i].ms_fp32 = 1 + next() % 100;
      it[i].ms_int8 = next() % 120; /* some are slower in int8 */
      it[i].cost = (int)(next() % 7) - 1;   /* -1: counts as 0 */
      it[i].banned = next() % 9 == 0;
    }
    bool take[14];
    int spent = ec_bits_choose(it, n, budget, take);
    assert_true(spent >= 0);
    assert_int_equal(spent, units(it, n, take));
    assert_true(spent <= budget);
    for (int i = 0; i < n; i++) {
      if (it[i].banned) assert_false(take[i]);
      if (take[i]) assert_true(it[i].ms_fp32 > it[i].ms_int8);
    }
    double best = 0;
    for (unsigned m = 0; m < (1u << n); m++) {
      bool t[14];
      bool ok = true;
      for (int i = 0; i < n; i++) {
        t[i] = (m >> i) & 1;
        ok &= !(t[i] && it[i].banned);
      }
      if (ok && units(it, n, t) <= budget && saved(it, n, t) > best) best = saved(it, n, t);
    }
    assert_true(saved(it, n, take) == best);
  }
}

/* Two nodes each saving 5 ms for 2 units, one saving 9 for 4: a budget of 4 takes the pair. */
static void sum_beats_single(void **state) {
  (void)state;
  ec_bits_item it[3] = {{10, 5, 2, false}, {10, 1, 4, false}, {10, 5, 2, false}};
  bool take[3];
  assert_int_equal(ec_bits_choose(it, 3, 4, take), 4);
  assert_true(take[0] && !take[1] && take[2]);
}

/* Equal savings: the fewer units (node 1 over the earlier node 0), then the earlier node. */
static void ties(void **state) {
  (void)state;
  ec_bits_item it[2] = {{10, 5, 2, false}, {10, 5, 1, false}};
  bool take[3];
  assert_int_equal(ec_bits_choose(it, 2, 2, take), 1);
  assert_true(!take[0] && take[1]);
  ec_bits_item same[3] = {{10, 5, 2, false}, {10, 5, 1, false}, {10, 5, 1, false}};
  assert_int_equal(ec_bits_choose(same, 3, 1, take), 1);
  assert_true(!take[0] && take[1] && !take[2]);
}

/* A budget of nothing still takes the nodes that cost nothing; none is taken that saves nothing. */
static void zero_budget(void **state) {
  (void)state;
  ec_bits_item it[3] = {{10, 5, 0, false}, {10, 5, 1, false}, {10, 10, 0, false}};
  bool take[3];
  assert_int_equal(ec_bits_choose(it, 3, 0, take), 0);
  assert_true(take[0] && !take[1] && !take[2]);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(against_brute_force),
      cmocka_unit_test(sum_beats_single),
      cmocka_unit_test(ties),
      cmocka_unit_test(zero_budget),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
