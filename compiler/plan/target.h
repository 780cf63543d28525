/* target.h — device descriptions (targets/NAME.json, built into edgecc, or --target-file) and the
 * device list of `--targets`: loading, validating, looking up, and writing them back as JSON.
 *
 * How a command uses it:
 *
 *   ec_target_set ts;  ec_diag d = {0};
 *   ec_targets_init(&ts, &d);                        // the built-ins (embedded at build time)
 *   ec_targets_add_file(&ts, "my.json", &d);         // each --target-file, in order
 *   ec_device_list devs;
 *   ec_devices_parse(&ts, "pi5,orin", &devs, &d);    // --targets; "a=pi5,b=pi5" names devices
 *   for (int i = 0; i < devs.n; i++)                 // one output folder per device
 *     emit(devs.items[i].name, devs.items[i].target);  // OUT/<name>/ for target->triple...
 *   ec_targets_free(&ts);                            // devices point into ts: free it last
 *
 * Every function that can fail on user input returns EC_ERR_MODEL or EC_ERR_USAGE with a
 * diagnostic naming the file (or "--targets") and the field. edgecc never probes the machine
 * while compiling: `host` is an alias fixed when edgecc itself was compiled (x86-64 on x86-64
 * builds, generic-aarch64 on aarch64 builds). Only `edgecc targets --detect` looks at the machine
 * (compiler/cli/detect.c, outside the planner). */
#ifndef EC_TARGET_H
#define EC_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ir.h"

#define EC_TARGET_NAME_MAX 64
#define EC_TARGET_MAX_CFLAGS 16
#define EC_TARGET_FLAG_MAX 96
#define EC_MAX_DEVICES 64
/* Default hand-off cost between threads, microseconds (docs/targets.md says where it comes from). */
#define EC_TARGET_SYNC_US 5.0

/* Kernel libraries a target can run (`"kernels"`); --kernels picks among them. */
typedef enum ec_kernel_lib {
  EC_KLIB_REF = 1u << 0,      /* kernels/ref: portable C99, needs only libc and libm */
  EC_KLIB_XNNPACK = 1u << 1,  /* XNNPACK (+ pthreadpool, cpuinfo) */
  EC_KLIB_OPENBLAS = 1u << 2, /* OpenBLAS cblas_sgemm */
  EC_KLIB_ONEDNN = 1u << 3    /* oneDNN 2.6 (libdnnl, OpenMP): x86-64; XNNPACK runs the ops it lacks */
} ec_kernel_lib;

/* CPU features a description may list (`"features"`); unknown names are an error. */
#define EC_TARGET_FEATURES(X)                                                          \
  X(NEON, "neon") X(FP16, "fp16") X(DOTPROD, "dotprod") X(I8MM, "i8mm") X(BF16, "bf16") \
  X(SVE, "sve") X(SVE2, "sve2")                                                         \
  X(SSE2, "sse2") X(SSE41, "sse4.1") X(SSE42, "sse4.2") X(AVX, "avx") X(AVX2, "avx2")   \
  X(FMA, "fma") X(F16C, "f16c") X(AVX512F, "avx512f") X(AVX512BW, "avx512bw")           \
  X(AVX512DQ, "avx512dq") X(AVX512VL, "avx512vl") X(AVX512VNNI, "avx512vnni")           \
  X(AVX512BF16, "avx512bf16") X(AVXVNNI, "avxvnni")
enum {
#define EC_TF_BIT_(id, s) EC_TFB_##id,
  EC_TARGET_FEATURES(EC_TF_BIT_)
#undef EC_TF_BIT_
  EC_TF_COUNT
};
#define EC_TF(id) (UINT64_C(1) << EC_TFB_##id)
const char *ec_target_feature_name(int bit); /* NULL past the end */

/* Measured efficiencies of one op class with one kernel library (`"efficiency"` in a description,
 * docs/targets.md): fractions of the description's per-core peak and of its memory bandwidth, and
 * a fixed cost per node. Fields not given keep the cost model's defaults (compiler/plan/cost.c). */
#define EC_EFF_LIBS 2    /* 0: ref, 1: xnnpack */
#define EC_EFF_CLASSES 3 /* cost.h's ec_op_class order: gemm, dwconv, memory */
enum { EC_EFF_COMPUTE = 1, EC_EFF_MEMORY = 2, EC_EFF_OVERHEAD = 4, EC_EFF_ROW = 8 };
typedef struct ec_class_eff {
  double compute, memory, overhead_ms;
  double row_ns;                   /* per innermost row (see cost.h's ec_node_cost.rows) */
  unsigned set;                    /* EC_EFF_* bits of the fields the description gives */
} ec_class_eff;
const char *ec_eff_lib_name(int lib);     /* "ref", "xnnpack" */
const char *ec_eff_class_name(int cls);   /* "gemm", "dwconv", "memory" */

/* One device description. Plain data (fixed arrays), safe to copy. */
typedef struct ec_target {
  char name[EC_TARGET_NAME_MAX];   /* "pi5": [a-z0-9][a-z0-9._-]* */
  char board[256];                 /* free text for people */
  char triple[EC_TARGET_NAME_MAX]; /* "aarch64-linux-gnu", "x86_64-linux-gnu" */
  char cflags[EC_TARGET_MAX_CFLAGS][EC_TARGET_FLAG_MAX]; /* for the device folder's build */
  int n_cflags;
  int cores;                       /* >= 1 */
  double clock_ghz;                /* 0 when not given */
  int64_t ram_mb;                  /* memory a program may use; the planner checks weights+arena */
  uint64_t features;               /* EC_TF(...) bits */
  /* Peak arithmetic in GFLOP/s (multiply-add = 2) over all cores. f32 is required; the others
   * are 0 when the description leaves them out: use ec_target_peak_gflops(), which falls back. */
  double peak_f32, peak_f16, peak_bf16, peak_i8, peak_f64;
  double mem_gbps;                 /* memory bandwidth, GB/s */
  unsigned kernels;                /* EC_KLIB_* bits; always includes EC_KLIB_REF */
  /* "onednn" listed before "xnnpack": without --kernels, oneDNN runs the ops it is faster at
   * (choose.c's dnnl_by_default) and XNNPACK the rest, as the x86-64 descriptions say. */
  bool onednn_first;
  double link_mbps, link_latency_ms; /* default network link (--link overrides per pair) */
  /* Handing a tensor to another thread of the same program (a ready flag released by one core
   * and acquired by another, the waiter woken): the clusters' edge cost, plus the bytes read
   * cache-cold at mem_gbps (compiler/plan/cluster.h). `"sync_us"`, default EC_TARGET_SYNC_US. */
  double sync_us;
  char qemu_cpu[32];               /* QEMU_CPU that runs its code in tests; "" when native only */
  ec_class_eff eff[EC_EFF_LIBS][EC_EFF_CLASSES]; /* optional calibration ("efficiency") */
  bool estimated;                  /* figures are nominal or guessed (generic, --detect) */
  char notes[512];                 /* where the figures come from */
  char source[512];                /* "built-in targets/pi5.json" or the --target-file path */
  bool builtin;
} ec_target;

/* Built-ins plus --target-file additions, and the aliases between them (orin -> orin-agx,
 * host -> x86-64). */
typedef struct ec_target_alias {
  char name[EC_TARGET_NAME_MAX];
  char target[EC_TARGET_NAME_MAX];
  char source[512];
  bool builtin;
} ec_target_alias;
typedef struct ec_target_set {
  ec_target *items;
  int n, cap;
  ec_target_alias *aliases;
  int n_aliases, cap_aliases;
} ec_target_set;

/* Loads the built-in descriptions embedded in the binary. A failure here is a bug (they are
 * validated by the tests), reported as EC_ERR_INTERNAL. */
ec_status ec_targets_init(ec_target_set *ts, ec_diag *d);
/* Adds a description (or an alias, {"name": N, "alias": T}) from a file. A name given by an
 * earlier --target-file is an error; a name of a built-in is replaced by the file's (so users
 * can correct a board's figures). */
ec_status ec_targets_add_file(ec_target_set *ts, const char *path, ec_diag *d);
/* Same, from text in memory; `source` names it in messages. */
ec_status ec_targets_add_json(ec_target_set *ts, const char *text, size_t len, const char *source,
                              bool replace_builtin, ec_diag *d);
void ec_targets_free(ec_target_set *ts);

/* Looks a name up, following aliases. NULL when unknown. */
const ec_target *ec_targets_find(const ec_target_set *ts, const char *name);
/* The name `host` stands for in this build of edgecc ("x86-64" here). */
const char *ec_target_host_name(void);
/* Appends the known names (targets and aliases, sorted) as "a, b, c" for error messages. */
void ec_targets_known(const ec_target_set *ts, ec_buf *b);

/* Peak GFLOP/s for an ECK_* dtype: f16/bf16/i8/f64 fall back to f32 figures when not given
 * (f64 to half of f32; integers other than 8-bit and bool count as f32). */
double ec_target_peak_gflops(const ec_target *t, int32_t dtype);
bool ec_target_has_kernels(const ec_target *t, unsigned klibs);
/* Without --kernels, oneDNN (and XNNPACK for the rest) on t: its description lists onednn before
 * xnnpack, and both. */
bool ec_target_onednn_default(const ec_target *t);
/* "ref" -> EC_KLIB_REF, ...; 0 when unknown. */
unsigned ec_kernel_lib_from_name(const char *name);
const char *ec_kernel_lib_name(unsigned klib); /* one bit */

/* True when code for `t` runs on the machine edgecc was built for (same triple): such device
 * folders build with the native compiler and run natively in tests. */
bool ec_target_is_native(const ec_target *t);
/* The CMake toolchain file for a triple, embedded from targets/toolchains/<triple>.cmake, to be
 * written into a device folder as `toolchain.cmake`; NULL when the triple needs none (native)
 * or has none. */
const char *ec_target_toolchain(const char *triple, size_t *len);
/* Any file embedded from targets/ by its path there ("pi5.json", "cmake/ec_dist.cmake",
 * "toolchains/aarch64-linux-gnu.cmake"); NULL when absent. Device folders copy
 * cmake/ec_dist.cmake to make their dist/ folder. */
const char *ec_targets_embedded_file(const char *relpath, size_t *len);

/* Names of targets and devices become folder and file names: [a-z0-9][a-z0-9._-]* (devices may
 * also use upper case and a leading '_'), shorter than EC_TARGET_NAME_MAX. */
bool ec_target_name_valid(const char *s, bool allow_upper);
/* The triple of the machine edgecc itself was built for (`host`'s). */
const char *ec_target_host_triple(void);

/* Writes a description as JSON in the schema of docs/targets.md: fixed key order, floats with
 * up to 6 significant digits, no source path (output must not depend on where files live).
 * `indent` spaces before each line after the first. */
void ec_target_to_json(const ec_target *t, ec_buf *b, int indent);

/* One entry of --targets: a device (folder name) and the target it runs. */
typedef struct ec_device {
  char name[EC_TARGET_NAME_MAX];        /* "pi5", "a": OUT/<name>/ */
  char target_name[EC_TARGET_NAME_MAX]; /* as written: "orin" (an alias) */
  const ec_target *target;              /* resolved; points into the ec_target_set */
} ec_device;
typedef struct ec_device_list {
  ec_device items[EC_MAX_DEVICES];
  int n;
} ec_device_list;

/* Parses "pi5,orin-nano" (each device named after its target) or "a=pi5,b=pi5,c=orin-nano"
 * (named devices; both forms may be mixed). Errors (EC_ERR_USAGE, "--targets" as the file):
 * empty entries, bad device names, duplicate device names (with a hint to name them), unknown
 * targets (listing the known ones), more than EC_MAX_DEVICES. */
ec_status ec_devices_parse(const ec_target_set *ts, const char *spec, ec_device_list *out,
                           ec_diag *d);

#endif
