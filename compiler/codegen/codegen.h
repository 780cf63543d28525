/* codegen.h — from an inferred graph to device folders: per partition `<name>_p<k>.c/.h`, its
 * weights and driver; per device the build files and a copy of the runtime and kernel sources.
 *
 * Codegen only reads the graph and the plan (plan.h: codegen consumes the planner's decisions;
 * the planner never sees this header). It fills an ec_fileset (paths relative to the output folder,
 * contents in memory), which ec_output_write puts on disk under the manifest rules. Several
 * partitions may land in one device folder: call ec_codegen_partition for each, then
 * ec_codegen_device once per device. */
#ifndef EC_CODEGEN_H
#define EC_CODEGEN_H

#include "ir.h"
#include "memplan.h"
#include "plan.h"

/* ---- files to write ------------------------------------------------------------------------ */
typedef struct ec_file {
  char *path;          /* relative to the output folder, '/'-separated */
  unsigned char *data;
  size_t len;
} ec_file;

typedef struct ec_fileset {
  ec_file *files;
  int n, cap;
} ec_fileset;

/* Adds a copy of data under path (replacing an earlier file of the same path). */
ec_status ec_fileset_add(ec_fileset *fs, const char *path, const void *data, size_t len);
/* Adds the buffer's bytes and frees the buffer. */
ec_status ec_fileset_add_buf(ec_fileset *fs, const char *path, ec_buf *b);
const ec_file *ec_fileset_find(const ec_fileset *fs, const char *path);
void ec_fileset_sort(ec_fileset *fs);
void ec_fileset_free(ec_fileset *fs);

#define EC_MANIFEST "edgecc-manifest.txt"
/* Writes fs under out_dir. An absent or empty out_dir is created/filled; a non-empty one must
 * hold an edgecc manifest and `force`, and then only the files the old manifest lists are
 * removed; a new file may not overwrite one the old manifest does not list. */
ec_status ec_output_write(const char *out_dir, const ec_fileset *fs, bool force, ec_diag *d);

/* ---- what to compile -------------------------------------------------------------------------- */
/* --max-trip-count NODE=N: the most iterations a Loop whose trip count is only known at run time
 * may run; more is a run-time error. */
typedef struct ec_trip_bound {
  const char *node;              /* the Loop's ONNX node name */
  int64_t max;
} ec_trip_bound;

typedef struct ec_codegen_opts {
  const char *name;              /* C identifier; programs are <name>_p<k> */
  const char *device;            /* device folder name ("host") */
  const char *target;            /* target description the device uses ("host") */
  const char *kernels;           /* "ref" */
  const char *model_file;        /* file name of the model (no directory), for comments */
  bool embed_weights;            /* weights as a C array instead of a .bin file */
  int threads;                   /* default worker threads of fast code (compile --threads);
                                    0: the target's cores */
  int cores;                     /* the device's target's cores, the default of `threads`
                                    (the caller knows the target; 0: one thread) */
  const char *const *device_kernels; /* plan.json: each device's kernels (NULL: `kernels`) */
  uint64_t plan_id;              /* plan.json's plan_id, compiled into main_p<k>.c so that the
                                    programs of one compile serve each other with no --plan-id;
                                    0: none (the runtime hashes the program's signature) */
  const ec_trip_bound *trip_bounds; /* --max-trip-count, n_trip_bounds of them */
  int n_trip_bounds;
  /* plan.json: the --tuning file lowering chose kernels by (NULL: none), its SHA-256 and target. */
  const char *tuning_file;
  const uint8_t *tuning_sha256;
  const char *tuning_target;
} ec_codegen_opts;

/* Refuse --embed-weights above this (the C array is ~5 bytes of source per weight byte). */
#define EC_EMBED_WEIGHTS_MAX ((size_t)16 << 20)

/* Figures codegen reports for plan.json. */
typedef struct ec_part_report {
  char program[160];             /* "<name>_p<k>" */
  char device[64];
  char target[64];
  int index;
  int n_steps;
  size_t arena_bytes, lower_bound, weights_bytes; /* weights: whole file, header included */
  uint32_t weights_crc;
  bool embedded;
} ec_part_report;

/* Writes <device>/<name>_p<k>.c/.h, its weights (.bin, or _weights.c when embedded) and
 * main_p<k>.c into fs. Plans and verifies the arena. */
ec_status ec_codegen_partition(const ec_graph *g, const ec_part *p, const ec_codegen_opts *o,
                               ec_fileset *fs, ec_part_report *r, ec_diag *d);

/* Writes <device>/CMakeLists.txt, README.md and the runtime and kernel sources the generated
 * files of that device need (found by the symbols they use), for the given programs. */
ec_status ec_codegen_device(const ec_graph *g, const ec_codegen_opts *o,
                            const ec_part_report *parts, int n_parts, ec_fileset *fs,
                            ec_diag *d);

/* ec_codegen_device with the target's build settings: cflags, toolchain.cmake for its triple
 * (when edgecc has one), cmake/ec_dist.cmake and the dist/ step, README with cross/board
 * commands. `plan` (may be NULL) adds the --listen/--next commands of each partition. */
ec_status ec_codegen_device_for(const ec_graph *g, const ec_codegen_opts *o, const ec_target *t,
                                const ec_plan *plan, const ec_part_report *parts, int n_parts,
                                ec_fileset *fs, ec_diag *d);

/* plan.json for the partitions compiled: parts[i] placed as reps[i] says (device, target). */
ec_status ec_plan_json(const ec_graph *g, const ec_codegen_opts *o, const ec_part *parts,
                       const ec_part_report *reps, int n, ec_buf *out);
/* plan.json with the planner's decisions and predictions (plan may be NULL: no predictions). */
ec_status ec_plan_json_for(const ec_graph *g, const ec_codegen_opts *o, const ec_device_list *devs,
                           const ec_plan *plan, const ec_part *parts, const ec_part_report *reps,
                           int n, ec_buf *out);

/* ---- the plan for people (plan_docs.c) ---------------------------------------------------------- */

/* OUT/plan.dot: one box per node, partitions as coloured clusters, cut tensors as labelled edges. */
void ec_plan_dot(const ec_graph *g, const ec_device_list *devs, const ec_plan *p, ec_buf *b);
/* OUT/README.md: the plan table and the commands that start each board, last partition first. */
void ec_plan_readme(const ec_graph *g, const ec_device_list *devs, const ec_plan *p,
                    const char *name, ec_buf *b);
/* OUT/<device>/README.md of a device the plan leaves unused: why, with the predicted figures. */
void ec_plan_unused_readme(const ec_graph *g, const ec_device_list *devs, const ec_plan *p,
                           int device, ec_buf *b);

/* ---- helpers shared by the emitters ------------------------------------------------------------ */

/* Makes `raw` a C identifier (letters, digits, '_'; not starting with a digit; at most
 * EC_CNAME_MAX chars), unique among the `n_taken` names in `taken` and not a C keyword or a
 * name reserved for generated code. Returns a malloc'd string. */
#define EC_CNAME_MAX 40
char *ec_cname(const char *raw, char *const *taken, int n_taken);

/* C names for a set of n things (a partition's tensors, or its steps): out[i] (malloc'd) is
 * raw[i] sanitised and shortened to EC_CNAME_SET_MAX characters (a longer name keeps its start
 * and end). Names that would clash get `_` and 8 hex digits of a hash of key[i] (key NULL: raw),
 * except one whose raw name needs no change; so a name depends on the names, never on
 * positions, and inserting a node renames nothing else. No name starts with the prefixes of
 * the generated enums (V_, S_, X_). bare: the names stand alone at file scope (step functions,
 * run arguments) beside program `prog`'s globals, so they also avoid C library names, `prog`
 * and its prefixed names, and the _params/_xp suffixes of a step's data. */
#define EC_CNAME_SET_MAX 44
ec_status ec_cnames(const char *const *raw, const char *const *key, int n, const char *prog,
                    bool bare, char **out);

/* The sources edgecc carries inside its binary (runtime/ and kernels/), embedded at build time. */
typedef struct ec_embedded_file {
  const char *path;              /* "runtime/ecrt.c", "kernels/ref/nn_conv.c" */
  const unsigned char *data;
  size_t len;
} ec_embedded_file;
extern const ec_embedded_file ec_embedded_files[];
extern const int ec_embedded_count;

/* Adds to fs (under prefix) every embedded source the given generated texts need: the files
 * defining the ecrt_/eck_ functions they call, transitively, and the headers they include.
 * Appends the .c paths (relative to the device folder, sorted) to srcs as NUL-separated names. */
ec_status ec_sources_needed(const char *const *texts, int n_texts, const char *prefix,
                            ec_fileset *fs, ec_buf *srcs, ec_diag *d);

#endif
