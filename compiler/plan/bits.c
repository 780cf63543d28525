/* bits.c — fp32 or int8 per node under a degradation budget: a 0/1 knapsack whose values are the
 * predicted time saved and whose weights are the predicted degradation, solved exactly because
 * both the budget and the degradations are whole numbers of calibration samples. */
#include <stdlib.h>
#include <string.h>

#include "bits.h"

int ec_bits_choose(const ec_bits_item *it, int n, int budget, bool *int8) {
  if (budget < 0) budget = 0;
  size_t cols = (size_t)budget + 1;
  /* best[i][u]: most time saved by nodes i.. with at most u units. */
  double *best = calloc((size_t)(n + 1) * cols, sizeof *best);
  if (!best) return -1;
  for (int i = n - 1; i >= 0; i--) {
    double save = it[i].ms_fp32 - it[i].ms_int8;
    int c = it[i].cost > 0 ? it[i].cost : 0;
    for (size_t u = 0; u < cols; u++) {
      double skip = best[(size_t)(i + 1) * cols + u], v = skip;
      if (!it[i].banned && save > 0 && (size_t)c <= u) {
        double take = save + best[(size_t)(i + 1) * cols + u - (size_t)c];
        if (take > v) v = take;
      }
      best[(size_t)i * cols + u] = v;
    }
  }
  /* The fewest units reaching the best saving, then walk forward taking a node whenever taking
   * it still reaches the optimum (earlier nodes first). */
  size_t u = 0;
  while (u < (size_t)budget && best[u] < best[(size_t)budget]) u++;
  int spent = 0;
  for (int i = 0; i < n; i++) {
    double save = it[i].ms_fp32 - it[i].ms_int8;
    int c = it[i].cost > 0 ? it[i].cost : 0;
    int8[i] = false;
    if (!it[i].banned && save > 0 && (size_t)c <= u &&
        save + best[(size_t)(i + 1) * cols + u - (size_t)c] >= best[(size_t)i * cols + u]) {
      int8[i] = true;
      u -= (size_t)c;
      spent += c;
    }
  }
  free(best);
  return spent;
}
