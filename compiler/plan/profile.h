/* profile.h — measured profiles of a device (the JSON a generated program writes with
 * --profile-json, docs/generated-code.md), read for `--profile DEVICE=FILE`: per step its node
 * name and median time, which the planner uses instead of the cost model's prediction. */
#ifndef EC_PROFILE_H
#define EC_PROFILE_H

#include "ir.h"
#include "target.h"

typedef struct ec_profile_step {
  char *node;                 /* ONNX node name, or `#INDEX` (codegen's step names) */
  char *op;
  double ms;                  /* median per run */
} ec_profile_step;

typedef struct ec_profile {
  char device[EC_TARGET_NAME_MAX]; /* the device of --targets it describes */
  char *path;                 /* as given */
  char *program;              /* "<name>_p<k>" that was timed */
  char kernels[16];           /* the kernel library it was compiled with ("" when not recorded) */
  int threads;                /* as the program recorded it: 0 = its default */
  int runs;
  ec_profile_step *steps;
  int n_steps;
} ec_profile;

typedef struct ec_profile_set {
  ec_profile items[EC_MAX_DEVICES];
  int n;
} ec_profile_set;

/* Parses one `--profile DEVICE=FILE` and reads FILE. EC_ERR_USAGE, naming the option or the file,
 * for a bad spec, a device given twice with profiles of one thread count (one per thread count is
 * fine), an unreadable file, or JSON that is not such a profile. */
ec_status ec_profile_add(ec_profile_set *ps, const char *spec, ec_diag *d);
/* The first profile of a device, or NULL. */
const ec_profile *ec_profile_find(const ec_profile_set *ps, const char *device);
void ec_profiles_free(ec_profile_set *ps);

/* Matches a graph's live nodes with a profile's steps by name: the k-th node named X takes the
 * k-th step named X (names are usually unique; unnamed nodes are `#INDEX`). */
typedef struct ec_profile_match {
  double *node_ms;            /* per node: measured ms, or a negative number: not in the profile */
  int n_matched;              /* nodes that found a step */
  int n_unmatched_steps;      /* steps that name no live node of the graph (layout Transposes aside) */
} ec_profile_match;

ec_status ec_profile_match_graph(const ec_profile *p, const ec_graph *g, ec_profile_match *m);
void ec_profile_match_free(ec_profile_match *m);

#endif
