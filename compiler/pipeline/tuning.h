/* tuning.h — tuning files (docs/tuning.md): per node signature, the measured median time of each
 * kernel family on one target, written by the program `edgecc tune` generates and read by
 * `--tuning FILE` at compile time. Compiling never measures: the file is an input like the model.
 *
 * A node's signature is its op (domain and type), its ONNX attributes (name order) and the dtype
 * and dims of every input and output (a constant input marked as such), as the graph passes
 * left the graph, before planning and lowering: the same text for the same node in every
 * compile of the same model with the same flags, and for alike nodes of other models. Its key is
 * the first 16 hex digits of the text's SHA-256. */
#ifndef EC_TUNING_H
#define EC_TUNING_H

#include "ir.h"
#include "target.h"

#define EC_TUNING_FORMAT "edgecc-tuning"
#define EC_TUNING_VERSION 1

/* The kernel families a tuning file times, in the order they are tried and written. */
typedef enum ec_tune_family { EC_TUNE_ONEDNN = 0, EC_TUNE_XNNPACK, EC_TUNE_REF, EC_TUNE_COUNT } ec_tune_family;
extern const char *const ec_tune_family_names[EC_TUNE_COUNT]; /* "onednn", "xnnpack", "ref" */
/* The families target t can run, as bits (1 << ec_tune_family). */
unsigned ec_tune_families(const ec_target *t);

typedef struct ec_tuning_entry {
  char key[17];
  double ms[EC_TUNE_COUNT]; /* median per family; < 0: not measured */
} ec_tuning_entry;

typedef struct ec_tuning {
  char path[1024];
  char target[EC_TARGET_NAME_MAX]; /* the resolved target name it was measured on ("x86-64") */
  uint8_t sha256[32];              /* of the file's bytes: hashed into plan_id, named in plan.json */
  ec_tuning_entry *entries;
  int n;
} ec_tuning;

/* The signature text of node n (appended to text, may be NULL) and its key. */
void ec_tune_signature(const ec_graph *g, const ec_node *n, ec_buf *text, char key[17]);

/* Reads a tuning file. A missing, unreadable or malformed file, another format or version:
 * EC_ERR_USAGE with d saying which and why. */
ec_status ec_tuning_load(const char *path, ec_tuning *t, ec_diag *d);
void ec_tuning_free(ec_tuning *t);

/* The family the file picks for key among the families in `allowed` (bits): the fastest
 * recorded, the first in ec_tune_family order on a tie; -1 when the file has no entry for key or
 * none of its times is for an allowed family. */
int ec_tuning_pick(const ec_tuning *t, const char *key, unsigned allowed);

/* Sets n->tuned on every live node of g from the file, EC_KF_UNSET where it has no entry: the
 * fastest of the target's fast families the file has, or the reference kernels (EC_KF_REF) where
 * they cost less counting the layout conversions around the node (NCHW among NHWC neighbours, or
 * the other way; each conversion costed by ec_cost_layout_ms), in graph order, a greedy pass
 * (docs/tuning.md). A pure function of the graph, the file and the target. Returns how many
 * nodes it set, -1 when out of memory. */
int ec_tuning_apply(ec_graph *g, const ec_tuning *t, const ec_target *target);

#endif
