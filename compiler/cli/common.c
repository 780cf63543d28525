/* common.c — option parsing and model loading shared by edgecc's subcommands. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "lower.h"
#include "op.h"
#include "pipeline.h"

int ec_usage_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "edgecc: error: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  return EC_ERR_USAGE;
}

/* Splits "NAME=VALUE" (VALUE after the last '='? no: the first '=' after a non-empty name). */
static bool split_eq(char *arg, char **name, char **value) {
  char *eq = strchr(arg, '=');
  if (!eq || eq == arg || !eq[1]) return false;
  *eq = 0;
  *name = arg;
  *value = eq + 1;
  return true;
}

/* "channel-shuffle, fold-pad, ..." */
static const char *lower_step_names(void) {
  static char names[256];
  if (!names[0])
    for (int k = 0; k < ec_n_lower_steps; k++)
      snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", k ? ", " : "",
               ec_lower_steps[k]);
  return names;
}

/* `--input-shape NAME=1x576[,NAME=...]`, the convention of trtexec --shapes and tvmc: all dims of
 * one input. An entry's dims run from its '=' to the next ',' ('x' between them), so a name may
 * hold ',' or ':' (TensorFlow's `input:0`) but not '='. Names point into argv. */
static bool parse_input_shapes(ec_model_opts *mo, char *v) {
  const char *whole = v;
  char copy[512];
  snprintf(copy, sizeof copy, "%s", whole); /* for messages: v is cut up below */
  for (char *p = v; *p;) {
    char *eq = strchr(p, '=');
    if (!eq || eq == p) {
      ec_usage_error("--input-shape %s: each entry is NAME=D0xD1x... (e.g. input=1x576)", copy);
      return false;
    }
    *eq = 0;
    if (mo->n_shapes >= EC_MAX_OPTS) {
      ec_usage_error("--input-shape: too many inputs (at most %d)", EC_MAX_OPTS);
      return false;
    }
    ec_input_shape *s = &mo->shapes[mo->n_shapes];
    memset(s, 0, sizeof *s);
    s->name = p;
    char *q = eq + 1;
    for (;;) {
      char *end;
      errno = 0;
      long long n = (*q >= '0' && *q <= '9') ? strtoll(q, &end, 10) : -1;
      if (n < 0 || errno || (*end && *end != 'x' && *end != ',')) {
        ec_usage_error("--input-shape %s: '%s' needs its dims as non-negative integers joined by 'x' (e.g. %s=1x576)",
                       copy, p, p);
        return false;
      }
      if (s->rank >= EC_MAX_RANK) {
        ec_usage_error("--input-shape %s: input '%s' has more than %d dims", copy, p, EC_MAX_RANK);
        return false;
      }
      s->dims[s->rank++] = n;
      q = end;
      if (*q == 'x') {
        q++;
        continue;
      }
      break;
    }
    for (int k = 0; k < mo->n_shapes; k++)
      if (strcmp(mo->shapes[k].name, s->name) == 0) {
        ec_usage_error("--input-shape: input '%s' is given twice", s->name);
        return false;
      }
    mo->n_shapes++;
    if (*q == ',') {
      *q++ = 0;
      if (!*q) {
        ec_usage_error("--input-shape %s: nothing after the last ','", copy);
        return false;
      }
    }
    p = q;
  }
  return true;
}

/* FLAG NAME=N, a bound: N a whole number from 0 to 2^40 (not a count to allocate by now); `form`
 * says what NAME=N stands for; `count`: the options of this flag so far (at most EC_MAX_OPTS).
 * 0, or -1 after a usage error. */
static int parse_bound(const char *flag, const char *form, char *v, int count, char **name, long long *n) {
  char *value, *end;
  if (!v || !split_eq(v, name, &value) || !(*name)[0]) {
    ec_usage_error("%s takes %s, got '%s'", flag, form, v ? v : "");
    return -1;
  }
  errno = 0;
  *n = strtoll(value, &end, 10);
  if (errno || *end || !value[0] || *n < 0 || *n > (1LL << 40)) {
    ec_usage_error("%s %s=%s: N must be a whole number from 0 to %lld", flag, *name, value, 1LL << 40);
    return -1;
  }
  if (count >= EC_MAX_OPTS) {
    ec_usage_error("too many %s options", flag);
    return -1;
  }
  return 0;
}

/* --max-extent TENSOR=N (elements). 1, or -1 after a usage error. */
static int parse_max_extent(ec_model_opts *mo, char *v) {
  char *name;
  long long n;
  if (parse_bound("--max-extent", "TENSOR=N (a Range output and its most elements)", v, mo->n_extents, &name, &n))
    return -1;
  mo->extents[mo->n_extents].tensor = name;
  mo->extents[mo->n_extents++].max = n;
  return 1;
}

/* --max-trip-count LOOP=N (iterations). 1, or -1 after a usage error. */
static int parse_max_trip_count(ec_model_opts *mo, char *v) {
  char *name;
  long long n;
  if (parse_bound("--max-trip-count", "LOOP=N (a Loop node's name or one of its outputs, and its most iterations)",
                  v, mo->n_trips, &name, &n))
    return -1;
  mo->trips[mo->n_trips].node = name;
  mo->trips[mo->n_trips++].max = n;
  return 1;
}

/* Whether g or one of its subgraphs has a Loop named `name` or with an output of that name. */
static bool has_loop(const ec_graph *g, const char *name) {
  for (int i = 0; i < g->n_nodes; i++) {
    const ec_node *n = &g->nodes[i];
    if (n->op == EC_OP_Loop && n->name && strcmp(n->name, name) == 0) return true;
    for (int k = 0; n->op == EC_OP_Loop && k < n->n_outputs; k++)
      if (n->outputs[k] >= 0 && strcmp(g->tensors[n->outputs[k]].name, name) == 0) return true;
    for (int k = 0; k < n->n_subgraphs; k++)
      if (has_loop(n->subgraphs[k], name)) return true;
  }
  return false;
}

int ec_parse_model_opt(ec_model_opts *mo, int argc, char **argv, int *i) {
  const char *a = argv[*i];
  if (strcmp(a, "--no-pass") == 0) {
    if (*i + 1 >= argc) {
      ec_buf b = {0};
      ec_pass_names(&b);
      ec_usage_error("--no-pass needs a graph pass (%s), a lowering step (%s), or all",
                     b.data ? b.data : "", lower_step_names());
      ec_buf_free(&b);
      return -1;
    }
    const char *name = argv[++*i];
    bool all = strcmp(name, "all") == 0, step = ec_lower_is_step(name);
    if ((all || step) && mo->n_lower_off < EC_MAX_OPTS) mo->lower_off[mo->n_lower_off++] = name;
    if (step) return 1;
    ec_diag d;
    memset(&d, 0, sizeof d);
    if (ec_pass_disable(&mo->passes, name, &d)) {
      ec_buf b = {0};
      ec_pass_names(&b);
      ec_usage_error("--no-pass %s: not a graph pass (%s) nor a lowering step (%s)", name,
                     b.data ? b.data : "", lower_step_names());
      ec_buf_free(&b);
      return -1;
    }
    return 1;
  }
  if (strcmp(a, "--input-shape") == 0) {
    if (*i + 1 >= argc) {
      ec_usage_error("--input-shape needs a value (NAME=D0xD1x...[,NAME=...], e.g. input=1x576)");
      return -1;
    }
    return parse_input_shapes(mo, argv[++*i]) ? 1 : -1;
  }
  if (strcmp(a, "--max-extent") == 0) return parse_max_extent(mo, *i + 1 < argc ? argv[++*i] : NULL);
  if (strcmp(a, "--max-trip-count") == 0) return parse_max_trip_count(mo, *i + 1 < argc ? argv[++*i] : NULL);
  bool is_dim = strcmp(a, "--dim") == 0, is_freeze = strcmp(a, "--freeze-input") == 0;
  if (!is_dim && !is_freeze) return 0;
  if (*i + 1 >= argc) {
    ec_usage_error("%s needs a value (%s)", a, is_dim ? "NAME=N" : "NAME=FILE.pb");
    return -1;
  }
  char *v = argv[++*i], *name, *value;
  if (!split_eq(v, &name, &value)) {
    ec_usage_error("%s takes %s, got '%s'", a, is_dim ? "NAME=N" : "NAME=FILE.pb", v);
    return -1;
  }
  if (is_dim) {
    if (mo->n_dims >= EC_MAX_OPTS) {
      ec_usage_error("too many --dim options");
      return -1;
    }
    char *end;
    errno = 0;
    long long n = strtoll(value, &end, 10);
    if (errno || *end || n < 0) {
      ec_usage_error("--dim %s=%s: the value must be a non-negative integer", name, value);
      return -1;
    }
    mo->dims[mo->n_dims].name = name;
    mo->dims[mo->n_dims++].value = n;
  } else {
    if (mo->n_freezes >= EC_MAX_OPTS) {
      ec_usage_error("too many --freeze-input options");
      return -1;
    }
    mo->freezes[mo->n_freezes].name = name;
    mo->freezes[mo->n_freezes++].path = value;
  }
  return 1;
}

void ec_print_warnings(const ec_graph *g) {
  for (int i = 0; i < g->n_warnings; i++) fprintf(stderr, "edgecc: warning: %s\n", g->warnings[i]);
}

int ec_cli_load(const char *path, const ec_model_opts *mo, bool no_infer, ec_graph **g) {
  ec_load_opts lo = {mo->dims,   mo->n_dims,   mo->freezes,       mo->n_freezes, no_infer,
                     mo->shapes, mo->n_shapes, mo->allow_unpinned, mo->extents, mo->n_extents,
                     mo->trips, mo->n_trips};
  ec_diag d;
  memset(&d, 0, sizeof d);
  ec_status st = ec_pipeline_load(path, &lo, &mo->passes, no_infer, g, &d);
  if (st) {
    if (st == EC_ERR_INTERNAL && !d.msg[0]) ec_diag_set(&d, path, "", "internal error");
    ec_diag_print(&d);
    return st;
  }
  for (int i = 0; i < mo->n_extents; i++)
    if (ec_graph_find(*g, mo->extents[i].tensor) < 0) {
      ec_graph_free(*g);
      *g = NULL;
      return ec_usage_error("--max-extent %s=%lld: %s has no tensor '%s'", mo->extents[i].tensor,
                            (long long)mo->extents[i].max, path, mo->extents[i].tensor);
    }
  /* A bound for a Loop the model does not have (a typo, or a loop folded or unrolled away) would
   * be ignored silently. */
  for (int i = 0; i < mo->n_trips; i++)
    if (!has_loop(*g, mo->trips[i].node)) {
      ec_graph_free(*g);
      *g = NULL;
      return ec_usage_error("--max-trip-count %s=%lld: %s has no Loop named '%s' nor one with that output "
                            "(left after folding and unrolling)", mo->trips[i].node,
                            (long long)mo->trips[i].max, path, mo->trips[i].node);
    }
  ec_print_warnings(*g);
  return 0;
}

/* Marks in need[] the tensors of g whose values shape operands read, directly or through the
 * nodes between; a subgraph's shape operands reach the owner's inputs through its formal inputs
 * (a Loop's iteration number: its trip count and condition) and its captures. In a Loop body
 * (loop_body) a Slice's starts and ends are not shape operands: fed, they give a run-time extent
 * bounded by the sliced input, which the Loop carries and stacks (ec_infer_slice). */
static bool mark_shape_operands(const ec_graph *g, bool loop_body, bool *need) {
  for (int i = g->n_nodes - 1; i >= 0; i--) {
    const ec_node *n = &g->nodes[i];
    bool out_needed = false;
    for (int k = 0; k < n->n_outputs; k++)
      if (n->outputs[k] >= 0 && need[n->outputs[k]]) out_needed = true;
    uint32_t mask = n->op >= 0 ? ec_ops[n->op].shape_inputs : 0;
    if (loop_body && n->op == EC_OP_Slice && g->opset >= 10) mask &= ~(uint32_t)0x6;
    for (int k = 0; k < n->n_inputs; k++) {
      if (n->inputs[k] < 0) continue;
      /* Shape and Size read their input's shape, never its values. */
      if (out_needed && n->op >= 0 && (ec_ops[n->op].flags & EC_OPF_SHAPE_ONLY)) continue;
      if (out_needed || (k < 32 && (mask >> k) & 1)) need[n->inputs[k]] = true;
    }
    int base = ec_node_n_explicit_inputs(n);
    for (int s = 0; s < n->n_subgraphs; s++) {
      const ec_graph *sg = n->subgraphs[s];
      bool *sn = ec_alloc(sizeof(bool) * (size_t)(sg->n_tensors + 1));
      if (!sn || !mark_shape_operands(sg, n->op == EC_OP_Loop, sn)) {
        free(sn);
        return false;
      }
      /* Formal input f is the node's input f (Loop, Scan), after Scan-8's sequence_lens. */
      int first = n->op == EC_OP_Scan && g->opset < 9 ? 1 : 0;
      for (int f = 0; n->op != EC_OP_If && f < sg->n_inputs; f++) {
        int k = n->op == EC_OP_Loop && f < 2 ? -1 : first + f;
        if (!sn[sg->inputs[f]]) continue;
        if (k < 0) { /* the iteration number or condition: what the trip count and condition give */
          for (int q = 0; q < 2; q++)
            if (n->inputs[q] >= 0) need[n->inputs[q]] = true;
        } else if (k < base && n->inputs[k] >= 0) {
          need[n->inputs[k]] = true;
        }
      }
      for (int c = 0; c < sg->n_captures; c++)
        if (sn[sg->captures[c]] && n->inputs[base + c] >= 0) need[n->inputs[base + c]] = true;
      base += sg->n_captures;
      free(sn);
    }
  }
  return true;
}

int ec_shape_inputs(const ec_graph *g, ec_buf *b) {
  bool *need = ec_alloc(sizeof(bool) * (size_t)(g->n_tensors + 1));
  if (!need) return 0;
  if (!mark_shape_operands(g, false, need)) {
    free(need);
    return 0;
  }
  int count = 0;
  for (int i = 0; i < g->n_inputs; i++)
    if (need[g->inputs[i]]) {
      ec_buf_append(b, g->tensors[g->inputs[i]].name, strlen(g->tensors[g->inputs[i]].name) + 1);
      count++;
    }
  free(need);
  return count;
}

void ec_cli_progress_show(ec_cli_progress *p, const char *what, int done, int total, const char *unit,
                          const char *extra) {
  if (p->tty) {
    fprintf(stderr, "\r%s: %d/%d %s%s", what, done, total, unit, extra);
    if (done == total) fputc('\n', stderr);
    p->open_line = done != total;
    fflush(stderr);
    return;
  }
  int decile = done * 10 / total;
  if (done == 1) p->last_decile = 0;
  if (decile > p->last_decile || done == total) {
    p->last_decile = decile;
    fprintf(stderr, "%s: %d/%d %s%s\n", what, done, total, unit, extra);
  }
}

ec_status ec_cli_devices(const char *const *tfiles, int n_tfiles, const char *targets, ec_target_set *ts,
                         ec_device_list *devs, ec_diag *d) {
  ec_status st = ec_targets_init(ts, d);
  for (int i = 0; !st && i < n_tfiles; i++) st = ec_targets_add_file(ts, tfiles[i], d);
  if (!st) st = ec_devices_parse(ts, targets, devs, d);
  return st;
}

int ec_cli_parse_count(const char *opt, const char *v, int max, int *out) {
  char *end;
  errno = 0;
  long n = strtol(v, &end, 10);
  if (errno || end == v || *end || n < 1 || n > max)
    return ec_usage_error("%s %s: must be a whole number from 1 to %d", opt, v, max);
  *out = (int)n;
  return -1;
}
