/* targets.c — `edgecc targets`: lists the device descriptions (built-in and --target-file), shows
 * one as JSON, or describes the current machine (--detect). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "detect.h"
#include "target.h"

int ec_cmd_targets(int argc, char **argv);

static const char usage[] =
    "usage: edgecc targets [NAME] [--json] [--target-file FILE]...\n"
    "       edgecc targets --detect [--name NAME] [-o FILE]\n"
    "\n"
    "Lists the targets `--targets` accepts (built-in descriptions, aliases, and those added with\n"
    "--target-file), or prints one description as JSON. `host` is the generic description of the\n"
    "machine edgecc was built for; edgecc never looks at the machine while compiling.\n"
    "\n"
    "  NAME                 print this target's description (aliases resolved) as JSON\n"
    "  --json               the whole list as JSON\n"
    "  --devices SPEC       check a --targets value (\"pi5,orin\" or \"a=pi5,b=pi5\") and print\n"
    "                       each device with its target, as edgecc MODEL --targets SPEC would\n"
    "  --target-file FILE   add a description (schema: docs/targets.md); may repeat\n"
    "  --detect             describe this machine from /proc/cpuinfo, /proc/meminfo and a short\n"
    "                       memory-bandwidth run; peak figures are estimates and marked so\n"
    "  --name NAME          name of the detected description (default: detected)\n"
    "  -o FILE              write the detected description to FILE instead of stdout\n";

static int fail(ec_status st, const ec_diag *d) {
  ec_diag_print(d);
  return st;
}

static int write_text(const char *path, const ec_buf *b) {
  FILE *f = path ? fopen(path, "wb") : stdout;
  if (!f) {
    fprintf(stderr, "edgecc: error: %s: cannot write: ", path ? path : "stdout");
    perror(NULL);
    return EC_ERR_MODEL;
  }
  bool ok = fwrite(b->data, 1, b->len, f) == b->len;
  if (path) ok &= fclose(f) == 0;
  else ok &= fflush(f) == 0;
  if (!ok) {
    fprintf(stderr, "edgecc: error: %s: write failed\n", path ? path : "stdout");
    return EC_ERR_MODEL;
  }
  return 0;
}

static void print_table(const ec_target_set *ts) {
  printf("%-16s %-18s %5s %8s %10s %10s  %s\n", "NAME", "TRIPLE", "CORES", "RAM_MB", "F32_GFLOPS",
         "I8_GFLOPS", "BOARD");
  for (int i = 0; i < ts->n; i++) {
    const ec_target *t = &ts->items[i];
    char f32[32], i8[32];
    snprintf(f32, sizeof f32, "%.1f%s", t->peak_f32, t->estimated ? "~" : "");
    snprintf(i8, sizeof i8, "%.1f%s", ec_target_peak_gflops(t, ECK_INT8), t->estimated ? "~" : "");
    printf("%-16s %-18s %5d %8lld %10s %10s  %s%s\n", t->name, t->triple, t->cores,
           (long long)t->ram_mb, f32, i8, t->board, t->builtin ? "" : "  [--target-file]");
  }
  for (int i = 0; i < ts->n_aliases; i++)
    printf("%-16s -> %s\n", ts->aliases[i].name, ts->aliases[i].target);
  printf("\n(~: nominal or estimated figures; `edgecc targets --detect` describes this machine)\n");
}

static void list_json(const ec_target_set *ts, ec_buf *b) {
  ec_buf_printf(b, "{\n  \"host\": ");
  ec_buf_json_str(b, ec_target_host_name());
  ec_buf_printf(b, ",\n  \"aliases\": {");
  for (int i = 0; i < ts->n_aliases; i++) {
    ec_buf_printf(b, "%s", i ? ", " : "");
    ec_buf_json_str(b, ts->aliases[i].name);
    ec_buf_printf(b, ": ");
    ec_buf_json_str(b, ts->aliases[i].target);
  }
  ec_buf_printf(b, "},\n  \"targets\": [");
  for (int i = 0; i < ts->n; i++) {
    ec_buf_printf(b, "%s\n    ", i ? "," : "");
    ec_target_to_json(&ts->items[i], b, 4);
  }
  ec_buf_printf(b, "\n  ]\n}\n");
}

int ec_cmd_targets(int argc, char **argv) {
  const char *files[EC_MAX_OPTS];
  int n_files = 0;
  const char *name = NULL, *out = NULL, *detect_name = "detected", *devices = NULL;
  bool json = false, detect = false;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      fputs(usage, stdout);
      return 0;
    } else if (strcmp(a, "--json") == 0) {
      json = true;
    } else if (strcmp(a, "--detect") == 0) {
      detect = true;
    } else if (strcmp(a, "--target-file") == 0 || strcmp(a, "--name") == 0 || strcmp(a, "-o") == 0 ||
               strcmp(a, "--devices") == 0) {
      if (i + 1 >= argc) return ec_usage_error("%s needs a value", a);
      const char *v = argv[++i];
      if (a[2] == 'd') {
        devices = v;
      } else if (a[2] == 't') {
        if (n_files >= EC_MAX_OPTS) return ec_usage_error("too many --target-file options");
        files[n_files++] = v;
      } else if (a[2] == 'n') {
        detect_name = v;
      } else {
        out = v;
      }
    } else if (a[0] == '-') {
      return ec_usage_error("targets: unknown option '%s' (see edgecc targets --help)", a);
    } else if (!name) {
      name = a;
    } else {
      return ec_usage_error("targets: more than one NAME ('%s' and '%s')", name, a);
    }
  }
  ec_diag d;
  memset(&d, 0, sizeof d);
  ec_status st;
  ec_buf b = {0};

  if (detect) {
    if (name || n_files || json) return ec_usage_error("targets --detect takes only --name and -o");
    ec_target t;
    if ((st = ec_target_detect(detect_name, &t, &d))) return fail(st, &d);
    ec_target_to_json(&t, &b, 0);
    ec_buf_printf(&b, "\n");
    int rc = b.oom ? EC_ERR_INTERNAL : write_text(out, &b);
    ec_buf_free(&b);
    return rc;
  }
  if (out) return ec_usage_error("-o goes with --detect");

  ec_target_set ts;
  if ((st = ec_targets_init(&ts, &d))) return fail(st, &d);
  for (int i = 0; i < n_files; i++) {
    if ((st = ec_targets_add_file(&ts, files[i], &d))) {
      ec_targets_free(&ts);
      return fail(st, &d);
    }
  }
  int rc = 0;
  if (devices) {
    ec_device_list dl;
    if ((st = ec_devices_parse(&ts, devices, &dl, &d))) {
      ec_targets_free(&ts);
      return fail(st, &d);
    }
    for (int i = 0; i < dl.n; i++) {
      const ec_device *dv = &dl.items[i];
      ec_buf_printf(&b, "%s\t%s\t%s%s\n", dv->name, dv->target->name, dv->target->triple,
                    ec_target_is_native(dv->target) ? "\tnative" : "\tcross");
    }
  } else if (name) {
    const ec_target *t = ec_targets_find(&ts, name);
    if (!t) {
      ec_buf known = {0};
      ec_targets_known(&ts, &known);
      fprintf(stderr, "edgecc: error: unknown target '%s' (known: %s)\n", name, known.data ? known.data : "");
      ec_buf_free(&known);
      rc = EC_ERR_USAGE;
    } else {
      ec_target_to_json(t, &b, 0);
      ec_buf_printf(&b, "\n");
    }
  } else if (json) {
    list_json(&ts, &b);
  } else {
    print_table(&ts);
  }
  if (!rc && b.len) rc = b.oom ? EC_ERR_INTERNAL : write_text(NULL, &b);
  ec_buf_free(&b);
  ec_targets_free(&ts);
  return rc;
}
