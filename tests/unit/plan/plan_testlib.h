/* plan_testlib.h — helpers shared by the planner's unit tests: building small graphs through the
 * IR API, and the brute-force split-point search the bridges are checked against. */
#ifndef PLAN_TESTLIB_H
#define PLAN_TESTLIB_H

#include <stdbool.h>
#include <stdint.h>

#include "bridges.h"
#include "ir.h"

/* A graph input (float [1,4]), listed in g->inputs. */
int tl_input(ec_graph *g, const char *name);
/* A constant (float [1,4], data owned by the graph). */
int tl_const(ec_graph *g, const char *name);
/* A node `op` reading tensors `in` (NULL-free) and writing new tensors named by `outs`
 * (n_out names); returns the first output tensor. Its op index comes from ec_op_find. */
int tl_node(ec_graph *g, const char *op, const char *name, const int *in, int n_in,
            const char *const *outs, int n_out);
/* One-output shorthand. */
int tl_op1(ec_graph *g, const char *op, const char *out, int a);
int tl_op2(ec_graph *g, const char *op, const char *out, int a, int b);
void tl_output(ec_graph *g, int t);
/* Links and sorts; aborts the test program on failure (test code, not user input). */
void tl_finish(ec_graph *g);

/* Brute force: split[t] = 1 when removing tensor t (all its edges) leaves no directed path from
 * a graph input to a graph output, while one existed before. Only tensors reachable from an input
 * are candidates. Returns the number of split points. */
int tl_brute_splits(const ec_graph *g, uint8_t *split);

/* Checks bridges against brute force and the block invariants (every tensor read across a block
 * boundary is the cut between them; live nodes' blocks never decrease). Prints the first
 * difference to stderr and returns false on a mismatch. */
bool tl_check_bridges(const ec_graph *g, const ec_bridges *b);

double tl_now(void); /* seconds, monotonic */

#endif
