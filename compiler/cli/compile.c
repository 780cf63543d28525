/* compile.c — `edgecc [compile] MODEL --targets DEVICES -o OUT`: loads and infers the model,
 * generates one device folder per device (the whole model as partition 0 until the planner
 * splits it), writes plan.json, and puts it all under OUT under the manifest rules. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "codegen.h"
#include "op.h"
#include "target.h"

static const char compile_help[] =
    "usage: edgecc [compile] MODEL --targets DEVICES -o OUT [--name NAME] [--kernels ref]\n"
    "              [--force] [--embed-weights] [--target-file FILE] [--dim NAME=N]\n"
    "              [--freeze-input NAME=FILE.pb]\n"
    "\n"
    "Compiles MODEL into C: OUT/plan.json, and per device OUT/<device>/ with <name>_p0.c/.h,\n"
    "its weights <name>_p0.bin, the driver main_p0.c, CMakeLists.txt, README.md and the runtime\n"
    "and kernel sources it needs. Build with `cmake -S OUT/<device> -B BUILD && cmake --build BUILD`.\n"
    "\n"
    "  --targets DEVICES   `host`, `pi5,orin-nano` or `a=host,b=pi5` (see edgecc targets)\n"
    "  -o, --output OUT    output folder: new, empty, or an earlier edgecc output with --force\n"
    "  --name NAME         C name of the programs (default: the model file's stem)\n"
    "  --kernels ref       kernel library (ref: portable C99, the only one so far)\n"
    "  --force             replace the files an earlier run listed in OUT/" EC_MANIFEST "\n"
    "  --embed-weights     weights as a C array instead of a .bin file (small models)\n";

/* The model file's stem ("models/My-Net.v2.onnx" -> "My-Net.v2"), as the default name. */
static void stem(const char *path, char *out, size_t len) {
  const char *b = strrchr(path, '/');
  b = b ? b + 1 : path;
  snprintf(out, len, "%s", b);
  char *dot = strrchr(out, '.');
  if (dot && dot != out) *dot = 0;
}

int ec_cmd_compile(int argc, char **argv) {
  ec_model_opts mo;
  memset(&mo, 0, sizeof mo);
  const char *path = NULL, *out = NULL, *targets = NULL, *name = NULL, *kernels = "ref";
  const char *tfiles[EC_MAX_OPTS];
  int n_tfiles = 0;
  bool force = false, embed = false;
  for (int i = 0; i < argc; i++) {
    int r = ec_parse_model_opt(&mo, argc, argv, &i);
    if (r < 0) return EC_ERR_USAGE;
    if (r > 0) continue;
    const char *a = argv[i];
    const char **slot = NULL;
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      fputs(compile_help, stdout);
      return 0;
    } else if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) {
      slot = &out;
    } else if (strcmp(a, "--targets") == 0) {
      slot = &targets;
    } else if (strcmp(a, "--name") == 0) {
      slot = &name;
    } else if (strcmp(a, "--kernels") == 0) {
      slot = &kernels;
    } else if (strcmp(a, "--target-file") == 0) {
      if (i + 1 >= argc) return ec_usage_error("--target-file needs a file");
      if (n_tfiles >= EC_MAX_OPTS) return ec_usage_error("too many --target-file options");
      tfiles[n_tfiles++] = argv[++i];
      continue;
    } else if (strcmp(a, "--force") == 0) {
      force = true;
      continue;
    } else if (strcmp(a, "--embed-weights") == 0) {
      embed = true;
      continue;
    } else if (a[0] == '-' && a[1]) {
      return ec_usage_error("unknown option '%s' (see edgecc compile --help)", a);
    } else if (path) {
      return ec_usage_error("one model at a time (got '%s' and '%s')", path, a);
    } else {
      path = a;
      continue;
    }
    if (i + 1 >= argc) return ec_usage_error("%s needs a value", a);
    *slot = argv[++i];
  }
  if (!path) return ec_usage_error("no model given (see edgecc compile --help)");
  if (!out) return ec_usage_error("no output folder given (-o OUT)");
  if (!targets) return ec_usage_error("no devices given (--targets host, or see edgecc targets)");
  if (strcmp(kernels, "ref") != 0)
    return ec_usage_error("--kernels %s: unknown kernel library (available: ref)", kernels);

  char cname[256], stembuf[256];
  stem(path, stembuf, sizeof stembuf);
  char *nm = ec_cname(name ? name : stembuf, NULL, 0);
  if (!nm) return EC_ERR_INTERNAL;
  if (name && strcmp(nm, name) != 0) {
    int rc = ec_usage_error("--name %s is not a C identifier (try %s)", name, nm);
    free(nm);
    return rc;
  }
  snprintf(cname, sizeof cname, "%s", nm);
  free(nm);

  ec_diag d;
  memset(&d, 0, sizeof d);
  ec_target_set ts;
  memset(&ts, 0, sizeof ts);
  ec_device_list devs;
  memset(&devs, 0, sizeof devs);
  ec_status st = ec_targets_init(&ts, &d);
  for (int i = 0; !st && i < n_tfiles; i++) st = ec_targets_add_file(&ts, tfiles[i], &d);
  if (!st) st = ec_devices_parse(&ts, targets, &devs, &d);
  if (st) {
    ec_diag_print(&d);
    ec_targets_free(&ts);
    return st;
  }

  ec_graph *g;
  int rc = ec_cli_load(path, &mo, false, &g);
  if (rc) {
    ec_targets_free(&ts);
    return rc;
  }
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  ec_fileset fs = {0};
  ec_part part;
  ec_part_report *reps = ec_alloc(sizeof(ec_part_report) * (size_t)(devs.n + 1));
  ec_buf plan = {0};
  st = reps ? ec_part_whole(g, &part) : EC_ERR_INTERNAL;
  bool have_part = !st;
  /* Until the planner splits models, every device runs the whole model as partition 0. */
  for (int i = 0; !st && i < devs.n; i++) {
    ec_codegen_opts o = {cname, devs.items[i].name, devs.items[i].target_name, kernels, base, embed};
    st = ec_codegen_partition(g, &part, &o, &fs, &reps[i], &d);
    if (!st) st = ec_codegen_device(g, &o, &reps[i], 1, &fs, &d);
  }
  if (!st) {
    /* plan.json: one entry per device, each with its partition. */
    ec_codegen_opts o = {cname, devs.items[0].name, devs.items[0].target_name, kernels, base, embed};
    ec_part *parts = ec_alloc(sizeof(ec_part) * (size_t)devs.n);
    for (int i = 0; parts && i < devs.n; i++) parts[i] = part;
    st = parts ? ec_plan_json(g, &o, parts, reps, devs.n, &plan) : EC_ERR_INTERNAL;
    free(parts);
    if (!st) st = ec_fileset_add_buf(&fs, "plan.json", &plan);
  }
  if (!st) {
    ec_fileset_sort(&fs);
    st = ec_output_write(out, &fs, force, &d);
  }
  if (!st) {
    for (int i = 0; i < devs.n; i++)
      printf("edgecc: %s/%s/%s: %d steps, arena %zu bytes (lower bound %zu), weights %zu bytes\n", out,
             reps[i].device, reps[i].program, reps[i].n_steps, reps[i].arena_bytes,
             reps[i].lower_bound, reps[i].weights_bytes);
  } else {
    if (st == EC_ERR_INTERNAL && !d.msg[0]) ec_diag_set(&d, path, "", "internal error");
    ec_diag_print(&d);
  }
  ec_buf_free(&plan);
  if (have_part) ec_part_free(&part);
  free(reps);
  ec_fileset_free(&fs);
  ec_graph_free(g);
  ec_targets_free(&ts);
  return st;
}
