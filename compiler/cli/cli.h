/* cli.h — edgecc's subcommands and the option parsing they share. */
#ifndef EC_CLI_H
#define EC_CLI_H

#include "onnx_load.h"
#include "passes.h"
#include "target.h"

#define EC_MAX_OPTS 64

/* Options every command that loads a model accepts: --dim, --input-shape, --freeze-input,
 * --max-extent, --no-pass. */
typedef struct ec_model_opts {
  ec_pass_opts passes;                 /* graph passes switched off by --no-pass */
  const char *lower_off[EC_MAX_OPTS];  /* lowering steps switched off (`all` stands for all) */
  int n_lower_off;
  ec_dim_pin dims[EC_MAX_OPTS];
  int n_dims;
  ec_freeze freezes[EC_MAX_OPTS];
  int n_freezes;
  ec_input_shape shapes[EC_MAX_OPTS];
  int n_shapes;
  bool allow_unpinned; /* set by inspect: report dynamic dims nothing pins instead of failing */
  ec_extent_bound extents[EC_MAX_OPTS]; /* --max-extent TENSOR=N */
  int n_extents;
} ec_model_opts;

/* Tries to consume argv[*i] (and its value) as a model option. `--no-pass NAME` takes a graph
 * pass, a lowering step or `all`. Returns 1 if consumed, 0 if
 * not a model option, -1 on a usage error (message printed). */
int ec_parse_model_opt(ec_model_opts *mo, int argc, char **argv, int *i);
/* Loads the model with the options and (unless no_infer) runs the graph passes; prints
 * warnings and, on failure, the diagnostic. Returns the exit status. */
int ec_cli_load(const char *path, const ec_model_opts *mo, bool no_infer, ec_graph **g);
void ec_print_warnings(const ec_graph *g);
/* Prints `edgecc: error: MSG` for usage errors and returns 2. */
int ec_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Progress on stderr, "calibrating: 12/64 samples": rewritten in place on a terminal, else a line
 * every 10%. open_line: a terminal line without its newline yet (an error must start a new one). */
typedef struct ec_cli_progress {
  bool tty, open_line;
  int last_decile;
} ec_cli_progress;
void ec_cli_progress_show(ec_cli_progress *p, const char *what, int done, int total, const char *unit,
                          const char *extra);

/* The built-in targets, then each --target-file, then the --targets list parsed into devs. */
ec_status ec_cli_devices(const char *const *tfiles, int n_tfiles, const char *targets, ec_target_set *ts,
                         ec_device_list *devs, ec_diag *d);

/* A count option's value: a whole number from 1 to max into *out. Returns -1 to go on, else the
 * usage error's status (message printed). */
int ec_cli_parse_count(const char *opt, const char *v, int max, int *out);

int ec_cmd_inspect(int argc, char **argv);
int ec_cmd_eval(int argc, char **argv);

/* Graph inputs that feed shape operands (directly or through other nodes), NUL-separated
 * names appended to `b`; returns their count. Works on a graph loaded without inference. */
int ec_shape_inputs(const ec_graph *g, ec_buf *b);

/* Graphviz's `dot` on PATH: its path into `path`; false when it is not installed. */
bool ec_find_dot(char *path, size_t len);
/* Runs `dot -Tsvg -o out` on the DOT text in `src` (edgecc plan --svg). */
ec_status ec_render_svg(const char *dot, const ec_buf *src, const char *out, ec_diag *d);

#endif
