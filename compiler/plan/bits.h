/* bits.h — the planner's bit-width decision (DESIGN 2.4, Quantize): which nodes run int8 under
 * an accuracy budget. A pure function over a small problem, as partition.h is: the measurements
 * (sensitivity, predicted times) come in, the choice goes out; nothing here runs a model. */
#ifndef EC_BITS_H
#define EC_BITS_H

#include <stdbool.h>

/* One node that can run int8. */
typedef struct ec_bits_item {
  double ms_fp32, ms_int8; /* predicted time in each width */
  int cost;                /* predicted degradation in budget units (samples that change their
                              answer when only this node runs int8); below 0 counts as 0 */
  bool banned;             /* kept fp32 whatever it saves (the budget was tightened past it) */
} ec_bits_item;

/* Chooses int8[i] to minimise the predicted time, sum(int8 ? ms_int8 : ms_fp32), subject to the
 * summed cost of the int8 nodes staying within budget (units, >= 0). Exact (0/1 knapsack by
 * dynamic programming over the budget's units); a node that saves no time stays fp32; among
 * equally fast choices the one spending fewer units, then the one taking earlier nodes. Returns
 * the units spent, or -1 out of memory. */
int ec_bits_choose(const ec_bits_item *items, int n, int budget, bool *int8);

#endif
