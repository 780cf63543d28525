/* ecrt_driver.h — the command-line driver every generated main_p<k>.c hands over to: file in,
 * file out, benchmark loop and per-node profile, around one partition described by a table. */
#ifndef ECRT_DRIVER_H
#define ECRT_DRIVER_H

#include "ecrt.h"

typedef struct ecrt_io_desc {
  const char *name;              /* ONNX tensor name */
  int32_t dtype;
  int32_t rank;
  int64_t dims[ECRT_MAX_RANK];
  /* An 8-bit tensor crossing a cut: the scale and zero point it travels with on the wire (the
   * planner's, plan.json's); 0 and 0 for any other tensor. */
  float scale;
  int32_t zero_point;
} ecrt_io_desc;

/* A partition as the driver sees it; main_p<k>.c fills one from the generated header. */
typedef struct ecrt_program {
  const char *name;              /* "<name>_p<k>" */
  const char *weights_file;      /* "<name>_p<k>.bin" (looked up beside the program) */
  const unsigned char *embedded_weights; /* non-NULL when compiled with --embed-weights */
  size_t embedded_weights_len;
  size_t ctx_bytes, arena_bytes;
  int n_inputs, n_outputs;
  const ecrt_io_desc *inputs, *outputs;
  const ecrt_step *steps;
  int n_steps;
  /* Typed entry points wrapped generically by main_p<k>.c; ctx starts with an ecrt_ctx. */
  ecrt_status (*init)(void *ctx, const void *weights, size_t weights_len, void *arena,
                      size_t arena_len, int threads);
  ecrt_status (*run)(void *ctx, const void *const *inputs, void *const *outputs);
  /* Frees what a successful init made (XNNPACK operators, thread pool); the driver calls it on
   * every exit after init, before it frees the arena and weights. */
  void (*release)(void *ctx);
  const char *kernels;           /* the kernel library compiled in: "xnnpack" or "ref" */
  /* NULL, or (outputs with a data-dependent shape) every output's shape as the last run found
   * it, which the files written then have; io_desc's dims are the bounds. */
  int64_t (*out_dims)[ECRT_MAX_RANK];
  /* NULL, or init for weights the caller gives (<prog>_init_release): as each create has copied
   * the last weights it reads, init releases their pages, so that the file's copy and the
   * libraries' copies are never both resident. The driver uses it for a weights file it read. */
  ecrt_status (*init_release)(void *ctx, void *weights, size_t weights_len, void *arena,
                              size_t arena_len, int threads);
} ecrt_program;

/* Several models compiled into one program (edgecc a.onnx b.onnx ...): their names, per input
 * and per output the models that read or write it (bit k: names[k]), and the run function that
 * takes the set of models a request wants (the steps only other models need are skipped; their
 * inputs and outputs may be NULL). */
typedef struct ecrt_models {
  int n;
  const char *const *names;
  const uint32_t *input_models, *output_models;
  ecrt_status (*run)(void *ctx, uint32_t models, const void *const *inputs, void *const *outputs);
  /* Per output: its index among the outputs of the compile (all its models), -1 for a tensor
   * sent on to another partition; a served response carries it as the tensor's id, so that the
   * branches of a tree answer under distinct ids. NULL: the output's own index. */
  const int32_t *output_ids;
} ecrt_models;

/* "a,c" -> the mask of those models. Returns 0 and names the bad one in err (an unknown or
 * repeated name, an empty list). */
int ecrt_models_parse(const ecrt_models *m, const char *list, uint32_t *mask, char *err, size_t err_len);

/* `PROG --input F.pb... --output F.pb... [--weights PATH] [--bench N] [--profile]
 * [--profile-json FILE] [--threads N]` (the JSON profile: docs/generated-code.md),
 * or serving: `PROG --listen ENDPOINT [--next [MODELS@]ENDPOINT ...] [--plan-id HEX] [--timeout MS]
 * [--max-bytes N]` (ecrt_serve.h). Returns the process exit status: 0, 1 for bad input or a
 * failed run, 2 for usage errors. */
int ecrt_driver_main(const ecrt_program *p, int argc, char **argv);

/* The same, for a program that knows the plan it belongs to: plan_id is the hash of plan.json
 * that codegen computed, so that partitions of different compiles refuse each other's frames.
 * ecrt_driver_main passes 0, and serving then uses a hash of the program's input and output
 * signature (ecrt_program_plan_id in ecrt_serve.h); `--plan-id HEX` overrides either. */
int ecrt_driver_main_plan(const ecrt_program *p, uint64_t plan_id, int argc, char **argv);

/* The same for a program of several models (m: its ecrt_models): `--model NAME[,NAME]` runs the
 * nodes those models need, and --input/--output then take the files of their inputs and outputs
 * only, in graph order. Without --model every model runs. */
int ecrt_driver_main_models(const ecrt_program *p, const ecrt_models *m, uint64_t plan_id, int argc,
                            char **argv);

#endif
