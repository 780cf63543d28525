/* test_thresholds.c — the arithmetic of compiler/quant/thresholds.c on histograms and ranges
 * built by hand, where the answer follows from docs/quantization.md's definitions without running
 * anything: bin edges, the percentile's bin, the entropy search's tie rule, and int8 parameters
 * whose zero point is an exact half (ties go to even). */
#include <math.h>
#include <stdlib.h>

#include "calib.h"
#include "unit_test.h"

static void bins_at_edges(void **state) {
  /* A = 1024: |x| bins are half a unit wide, signed bins one unit. */
  assert_int_equal(ec_calib_abs_bin(0.0f, 1024), 0);
  assert_int_equal(ec_calib_abs_bin(0.4999f, 1024), 0);
  assert_int_equal(ec_calib_abs_bin(0.5f, 1024), 1);       /* a lower edge belongs to its bin */
  assert_int_equal(ec_calib_abs_bin(-0.5f, 1024), 1);      /* |x| */
  assert_int_equal(ec_calib_abs_bin(1023.5f, 1024), 2047);
  assert_int_equal(ec_calib_abs_bin(1024.0f, 1024), 2047); /* A itself: the last bin */
  assert_int_equal(ec_calib_signed_bin(-1024.0f, 1024), 0);
  assert_int_equal(ec_calib_signed_bin(-0.25f, 1024), 1023);
  assert_int_equal(ec_calib_signed_bin(0.0f, 1024), 1024);
  assert_int_equal(ec_calib_signed_bin(1023.0f, 1024), 2047);
  assert_int_equal(ec_calib_signed_bin(1024.0f, 1024), 2047);
}

static void percentile_bin(void **state) {
  uint64_t h[EC_CALIB_BINS] = {0};
  /* 99999 values in bin 5 and one in bin 2047: bin 5 holds exactly 99.999%, t = its upper edge. */
  h[5] = 99999;
  h[2047] = 1;
  assert_true(ec_calib_percentile(h, 2048.0) == 6.0);
  /* One value fewer in bin 5: 99998 of 99999 is below 99.999%, so the last bin: t = A. */
  h[5] = 99998;
  assert_true(ec_calib_percentile(h, 2048.0) == 2048.0);
}

static void entropy_ties_and_uniform(void **state) {
  uint64_t h[EC_CALIB_BINS] = {0};
  /* One non-zero bin: every candidate's q equals its p (KL 0); the first, i = 64, wins: A/16. */
  h[1024] = 10;
  assert_true(ec_calib_entropy(h, 1024.0) == 64.0);
  /* One value per bin: only the whole histogram has no outliers (q = p): t = A. */
  for (int k = 0; k < EC_CALIB_BINS; k++) h[k] = 1;
  assert_true(ec_calib_entropy(h, 1024.0) == 1024.0);
}

static void qparams(void **state) {
  float s;
  int32_t z;
  /* [-257/512, 253/512]: scale (510/512)/255 = 1/256 exactly, zero point -128 + 128.5 = 0.5,
   * which rounds to even: 0 (away from zero would give 1). */
  ec_calib_qparams(-257.0f / 512, 253.0f / 512, &s, &z);
  assert_true(s == 1.0f / 256);
  assert_int_equal(z, 0);
  /* [-255/512, 255/512]: zero point -128 + 127.5 = -0.5 -> 0 (even), not -1. */
  ec_calib_qparams(-255.0f / 512, 255.0f / 512, &s, &z);
  assert_true(s == 1.0f / 256);
  assert_int_equal(z, 0);
  /* A positive range is widened to hold 0: [0, 2.55] -> scale 0.01, zero point -128. */
  ec_calib_qparams(1.0f, 2.55f, &s, &z);
  assert_true(s == (float)(2.55f / 255.0));
  assert_int_equal(z, -128);
  /* All zero: scale 1, zero point 0. */
  ec_calib_qparams(0.0f, 0.0f, &s, &z);
  assert_true(s == 1.0f);
  assert_int_equal(z, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(bins_at_edges),
      cmocka_unit_test(percentile_bin),
      cmocka_unit_test(entropy_ties_and_uniform),
      cmocka_unit_test(qparams),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
