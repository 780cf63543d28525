/* ecrt_tune.h — the tuning program `edgecc tune` generates (docs/tuning.md): it runs the model's
 * program of each kernel family (built beside it, each a device folder of its own) with
 * --bench and --profile-json, and writes the tuning file: per node signature, the median time
 * of each family. POSIX (fork, exec); C99. Self-contained: it needs none of the runtime. */
#ifndef ECRT_TUNE_H
#define ECRT_TUNE_H

#include <stdint.h>

/* A node of the model as the graph passes left it: its name, op, signature key and, for people,
 * its input and output shapes. */
typedef struct ecrt_tune_node {
  const char *name, *op, *key, *shapes;
} ecrt_tune_node;

/* The program of one kernel family: "<family>/<program>" beside the tuning program, and per node
 * the kernel its step runs on and the step's name there (NULL: the node is no step there, fused
 * into another). */
typedef struct ecrt_tune_family {
  const char *family, *program;
  const char *const *kernels, *const *steps;
} ecrt_tune_family;

/* A graph input: the tuning program writes a seeded one (TensorProto) for the runs. */
typedef struct ecrt_tune_input {
  const char *name;
  int32_t dtype, rank;
  int64_t dims[8];
} ecrt_tune_input;

typedef struct ecrt_tune_desc {
  const char *model, *model_sha256, *target, *triple;
  int n_nodes;
  const ecrt_tune_node *nodes;
  int n_families;
  const ecrt_tune_family *families;
  int n_inputs;
  const ecrt_tune_input *inputs;
} ecrt_tune_desc;

/* `tune_<name> --output FILE [--runs N] [--threads N] [--runner CMD]`: returns the exit status
 * (0, 1 when a program failed, 2 for usage errors). */
int ecrt_tune_main(const ecrt_tune_desc *d, int argc, char **argv);

#endif
