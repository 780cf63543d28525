/* joint.h — the planner's own helpers shared by plan.c and joint.c (not for other stages). */
#ifndef EC_JOINT_H
#define EC_JOINT_H

#include "bridges.h"
#include "plan.h"

double ec_plan_tensor_bytes(const ec_tensor *t);
/* Arena estimate per block of br (plan.c). */
void ec_plan_block_arenas(const ec_graph *g, const ec_bridges *br, const uint8_t *gone, double *out);
/* Partition k made of br's blocks [first, end) (plan.c). */
ec_status ec_plan_make_part(const ec_graph *g, const ec_bridges *br, int first, int end, int k, ec_part *p);
/* Drops br's cuts at tensors lowering removes (plan.c). */
void ec_plan_drop_lowered_cuts(const ec_graph *g, const uint8_t *gone, const ec_plan_opts *o, ec_bridges *br);

/* Several models (g->n_models >= 2): builds the tree of blocks, runs the tree DP and records its
 * choice in out->joint; when a chain of partitions can carry the choice out (or the best one with
 * every model's outputs on one device), fills out->parts and the plan's figures and sets *done.
 * node_ms[i * D + v]: node i's time on device v; node_prof likewise, 1 when measured. Only
 * internal errors (out of memory) are returned; a tree that cannot be made or placed leaves *done
 * false and says why in out->joint.why. */
ec_status ec_plan_joint_build(const ec_graph *g, const ec_device_list *devs, const ec_plan_opts *o,
                              const ec_bridges *br, const uint8_t *gone, const double *node_ms,
                              const uint8_t *node_prof, ec_plan *out, bool *done);
void ec_plan_joint_free(ec_plan_joint *j);

#endif
