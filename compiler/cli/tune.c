/* tune.c — `edgecc tune MODEL --targets DEVICE -o OUT` (docs/tuning.md): the tuning folder (the
 * model compiled once per kernel family the target has, each a device folder, and a tuning
 * program that runs them and writes the tuning file), and on the machine at hand (OUT ending in
 * .json) its build and run. edgecc itself never times a kernel: the generated programs do. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "codegen.h"
#include "target.h"
#include "tuning.h"

extern char **environ;

static const char tune_help[] =
    "usage: edgecc tune MODEL --targets DEVICE -o OUT [--runs N] [--threads N] [--target-file FILE]\n"
    "                   [--signatures] [--input-shape NAME=D0xD1...] [--dim NAME=N]\n"
    "                   [--freeze-input NAME=FILE.pb] [--max-extent TENSOR=N] [--no-pass NAME]\n"
    "                   [--max-trip-count LOOP=N]\n"
    "\n"
    "Measures, for every node of MODEL, each kernel family DEVICE's target can run it on (onednn\n"
    "where the target lists it, xnnpack, ref), and writes a tuning file for compiling with\n"
    "`edgecc compile MODEL --targets DEVICE --tuning FILE`, which runs each node on its fastest\n"
    "family, layout conversions counted (docs/tuning.md). The model is compiled once per family (edgecc compile --kernels F)\n"
    "into a tuning folder with a tuning program that runs those programs (one warm-up run, then N\n"
    "timed, each step's median) and writes the file.\n"
    "\n"
    "  -o OUT.json         tune on this machine (DEVICE's target must be this machine's): build the\n"
    "                      folder in a temporary directory, run it, write OUT.json; progress per\n"
    "                      node on stderr\n"
    "  -o DIR              write the tuning folder only (a board): it cross-builds like a device\n"
    "                      folder (cmake -S DIR -B B --toolchain DIR/toolchain.cmake); on the board\n"
    "                      B/tune_<name> --output tuning.json writes the file\n"
    "  --runs N            timed runs per family (default 30)\n"
    "  --threads N         threads of the programs (default: the target's cores)\n"
    "  --signatures        print each node's signature key and text, tune nothing\n";

/* snprintf for paths and names: a too long one is cut, as the system would refuse it anyway. */
static void pj(char *buf, size_t cap, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, cap, fmt, ap);
  va_end(ap);
}

static bool ends_with(const char *s, const char *suf) {
  size_t n = strlen(s), m = strlen(suf);
  return n >= m && strcmp(s + n - m, suf) == 0;
}

/* Runs argv with stdout to `log` (NULL: /dev/null) and stderr inherited; its exit status. */
static int run_cmd(char *const *argv, const char *log) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, log ? log : "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0644);
  pid_t pid;
  int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc) {
    fprintf(stderr, "edgecc: error: cannot run %s: %s\n", argv[0], strerror(rc));
    return -1;
  }
  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* Writes b to dir/rel and frees it. */
static int write_text(const char *dir, const char *rel, ec_buf *b) {
  char path[PATH_MAX];
  pj(path, sizeof path, "%s/%s", dir, rel);
  FILE *f = fopen(path, "wb");
  bool ok = f && (!b->len || fwrite(b->data, 1, b->len, f) == b->len);
  if (f && fclose(f) != 0) ok = false;
  if (!ok) fprintf(stderr, "edgecc: error: %s: cannot write: %s\n", path, strerror(errno));
  ec_buf_free(b);
  return ok ? 0 : EC_ERR_MODEL;
}

/* The bytes of a file into b; false when it cannot be read. */
static bool read_text(const char *path, ec_buf *b) {
  FILE *f = fopen(path, "rb");
  char chunk[65536];
  size_t got;
  if (!f) return false;
  while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) ec_buf_append(b, chunk, got);
  fclose(f);
  return !b->oom;
}

/* A C string literal of s. */
static void c_str(ec_buf *b, const char *s) {
  ec_buf_printf(b, "\"");
  for (; s && *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') ec_buf_printf(b, "\\%c", c);
    else if (c < 0x20 || c >= 0x7f) ec_buf_printf(b, "\\%03o", c);
    else ec_buf_printf(b, "%c", c);
  }
  ec_buf_printf(b, "\"");
}

/* dtype[dims] of the node's non-constant inputs, then of its outputs, for people. */
static void shapes_text(const ec_graph *g, const ec_node *n, ec_buf *b) {
  int first = 1;
  for (int side = 0; side < 2; side++) {
    if (side) ec_buf_printf(b, " ->");
    first = 1;
    int cnt = side ? n->n_outputs : n->n_inputs;
    for (int i = 0; i < cnt; i++) {
      int t = side ? n->outputs[i] : n->inputs[i];
      if (t < 0 || (!side && g->tensors[t].kind == EC_TK_CONSTANT)) continue;
      const ec_tensor *x = &g->tensors[t];
      ec_buf_printf(b, "%s%s[", first && !side ? "" : " ", ec_dtype_name(x->dtype));
      for (int k = 0; k < x->rank; k++) ec_buf_printf(b, "%s%lld", k ? "," : "", (long long)x->dims[k]);
      ec_buf_printf(b, "]");
      first = 0;
    }
  }
}

/* Per node of the graph, the kernel label plan.json gives its step in family folder `dir` and
 * the step's name (NULL: no step), and the program's name. */
static int read_plan(const char *dir, const ec_graph *g, char **labels, char **steps, char *program, size_t plen) {
  char path[PATH_MAX];
  pj(path, sizeof path, "%s/plan.json", dir);
  ec_buf text = {0};
  if (!read_text(path, &text)) {
    fprintf(stderr, "edgecc: error: %s: missing\n", path);
    ec_buf_free(&text);
    return EC_ERR_INTERNAL;
  }
  cJSON *root = text.data ? cJSON_ParseWithLength(text.data, text.len) : NULL;
  ec_buf_free(&text);
  const cJSON *parts = cJSON_GetObjectItemCaseSensitive(root, "partitions");
  const cJSON *p0 = cJSON_GetArrayItem(parts, 0);
  const cJSON *prog = cJSON_GetObjectItemCaseSensitive(p0, "program");
  const cJSON *nk = cJSON_GetObjectItemCaseSensitive(p0, "node_kernels");
  if (!cJSON_IsArray(parts) || cJSON_GetArraySize(parts) != 1 || !cJSON_IsString(prog) || !cJSON_IsArray(nk)) {
    fprintf(stderr, "edgecc: error: %s: not one partition with node_kernels\n", path);
    cJSON_Delete(root);
    return EC_ERR_INTERNAL;
  }
  snprintf(program, plen, "%s", prog->valuestring);
  const cJSON *e;
  cJSON_ArrayForEach(e, nk) {
    const cJSON *nm = cJSON_GetObjectItemCaseSensitive(e, "node"), *k = cJSON_GetObjectItemCaseSensitive(e, "kernel");
    const cJSON *ix = cJSON_GetObjectItemCaseSensitive(e, "index");
    if (!cJSON_IsString(nm) || !cJSON_IsString(k) || !cJSON_IsNumber(ix) || ix->valueint < 0) continue;
    /* By the node's place in the model file: its step's name may differ between families (an
     * unnamed node is named after its output, which a fused Relu replaces). */
    for (int i = 0; i < g->n_nodes; i++)
      if (!labels[i] && g->nodes[i].index == ix->valueint) {
        labels[i] = strdup(k->valuestring);
        steps[i] = strdup(nm->valuestring);
        break;
      }
  }
  cJSON_Delete(root);
  return 0;
}

static bool dir_empty_or_new(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return errno == ENOENT;
  struct dirent *e;
  bool empty = true;
  while ((e = readdir(d)) != NULL)
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) empty = false;
  closedir(d);
  return empty;
}

static int rm_tree(const char *path) {
  char *argv[] = {"rm", "-rf", (char *)path, NULL};
  return run_cmd(argv, NULL);
}

typedef struct tune_args {
  const char *path, *targets, *out, *runs, *threads;
  const char *tfiles[EC_MAX_OPTS];
  int n_tfiles;
  char *fwd[4 * EC_MAX_OPTS]; /* the model options, as given, for the per-family compiles */
  int n_fwd;
  bool signatures;
} tune_args;

static int parse(int argc, char **argv, tune_args *a, ec_model_opts *mo) {
  for (int i = 0; i < argc; i++) {
    int i0 = i;
    int r = ec_parse_model_opt(mo, argc, argv, &i);
    if (r < 0) return EC_ERR_USAGE;
    if (r > 0) {
      for (int j = i0; j <= i && a->n_fwd < 4 * EC_MAX_OPTS; j++) a->fwd[a->n_fwd++] = argv[j];
      continue;
    }
    const char *s = argv[i];
    const char **slot = NULL;
    if (strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0) {
      fputs(tune_help, stdout);
      return 0;
    } else if (strcmp(s, "--signatures") == 0) {
      a->signatures = true;
      continue;
    } else if (strcmp(s, "-o") == 0 || strcmp(s, "--output") == 0) {
      slot = &a->out;
    } else if (strcmp(s, "--targets") == 0) {
      slot = &a->targets;
    } else if (strcmp(s, "--runs") == 0) {
      slot = &a->runs;
    } else if (strcmp(s, "--threads") == 0) {
      slot = &a->threads;
    } else if (strcmp(s, "--target-file") == 0) {
      if (i + 1 >= argc) return ec_usage_error("tune: %s needs a value", s);
      if (a->n_tfiles >= EC_MAX_OPTS) return ec_usage_error("tune: too many --target-file options");
      a->tfiles[a->n_tfiles++] = argv[++i];
      continue;
    } else if (s[0] == '-' && s[1]) {
      return ec_usage_error("tune: unknown option '%s' (see edgecc tune --help)", s);
    } else if (a->path) {
      return ec_usage_error("tune: one model at a time");
    } else {
      a->path = s;
      continue;
    }
    if (i + 1 >= argc) return ec_usage_error("tune: %s needs a value", s);
    *slot = argv[++i];
  }
  if (!a->path) return ec_usage_error("tune: no model given (see edgecc tune --help)");
  if (!a->targets) return ec_usage_error("tune: no device given (--targets host, or a board such as pi5)");
  if (!a->out && !a->signatures) return ec_usage_error("tune: no output given (-o tuning.json on this machine, -o DIR for a board)");
  int n, rc = -1;
  if (a->runs) rc = ec_cli_parse_count("--runs", a->runs, 100000, &n);
  if (rc < 0 && a->threads) rc = ec_cli_parse_count("--threads", a->threads, 1024, &n);
  return rc;
}

static const ec_embedded_file *embedded(const char *path) {
  for (int i = 0; i < ec_embedded_count; i++)
    if (strcmp(ec_embedded_files[i].path, path) == 0) return &ec_embedded_files[i];
  return NULL;
}

/* The tuning folder's own files: the tuning program (tables + runtime/ecrt_tune.c), its
 * CMakeLists.txt building every family's device folder as an external project, README.md and,
 * for a cross target, the family folders' toolchain.cmake. */
static int write_folder(const char *dir, const char *dev, const char *name, const ec_graph *g, const ec_target *t,
                        int n_fam, const int *fams, char **labels, char **steps, char programs[][200]) {
  char path[PATH_MAX];
  pj(path, sizeof path, "%s/tune", dir);
  if (mkdir(path, 0755) && errno != EEXIST) {
    fprintf(stderr, "edgecc: error: %s: cannot create: %s\n", path, strerror(errno));
    return EC_ERR_MODEL;
  }
  const char *files[] = {"runtime/ecrt_tune.c", "runtime/ecrt_tune.h"};
  for (int k = 0; k < 2; k++) {
    const ec_embedded_file *f = embedded(files[k]);
    if (!f) {
      fprintf(stderr, "edgecc: error: internal: %s is not embedded\n", files[k]);
      return EC_ERR_INTERNAL;
    }
    ec_buf b = {0};
    ec_buf_append(&b, f->data, f->len);
    pj(path, sizeof path, "tune/%s", strrchr(files[k], '/') + 1);
    int rc = write_text(dir, path, &b);
    if (rc) return rc;
  }
  char sha[65];
  for (int i = 0; i < 32; i++) sprintf(sha + 2 * i, "%02x", g->sha256[i]);
  const char *base = strrchr(g->source_path, '/');
  base = base ? base + 1 : g->source_path;
  ec_buf b = {0};
  ec_buf_printf(&b, "/* tune_main.c — the tuning program of %s for target %s (docs/tuning.md).\n"
                " * Generated by edgecc tune. Do not edit: tune the model again. */\n"
                "#include \"ecrt_tune.h\"\n\n", base, t->name);
  ec_buf_printf(&b, "/* Every node as the graph passes left it: name, op, signature key, shapes. */\n"
                "static const ecrt_tune_node nodes[] = {\n");
  int nn = 0;
  for (int i = 0; i < g->n_nodes; i++) {
    const ec_node *n = &g->nodes[i];
    if (n->dead) continue;
    char key[17];
    ec_tune_signature(g, n, NULL, key);
    ec_buf sh = {0};
    shapes_text(g, n, &sh);
    char label[512];
    ec_node_label(g, n, label, sizeof label);
    ec_buf_printf(&b, "  {");
    c_str(&b, label);
    ec_buf_printf(&b, ", ");
    c_str(&b, n->op_type);
    ec_buf_printf(&b, ", \"%s\", ", key);
    c_str(&b, sh.data ? sh.data : "");
    ec_buf_printf(&b, "},\n");
    ec_buf_free(&sh);
    nn++;
  }
  ec_buf_printf(&b, "  {0, 0, 0, 0}\n};\n\n");
  for (int f = 0; f < n_fam; f++) {
    for (int side = 0; side < 2; side++) {
      const char *fam = ec_tune_family_names[fams[f]];
      if (side) ec_buf_printf(&b, "/* Its step's name in that program (0: no step). */\nstatic const char *const steps_%s[] = {\n", fam);
      else ec_buf_printf(&b, "/* The kernel each node's step runs on with --kernels %s (0: no step). */\n"
                         "static const char *const kernels_%s[] = {\n", fam, fam);
      for (int i = 0; i < g->n_nodes; i++) {
        if (g->nodes[i].dead) continue;
        const char *l = (side ? steps : labels)[(size_t)f * (size_t)g->n_nodes + (size_t)i];
        ec_buf_printf(&b, "  ");
        if (l) c_str(&b, l);
        else ec_buf_printf(&b, "0");
        ec_buf_printf(&b, ",\n");
      }
      ec_buf_printf(&b, "  0\n};\n\n");
    }
  }
  ec_buf_printf(&b, "static const ecrt_tune_family families[] = {\n");
  for (int f = 0; f < n_fam; f++)
    ec_buf_printf(&b, "  {\"%s\", \"%s\", kernels_%s, steps_%s},\n", ec_tune_family_names[fams[f]], programs[f],
                  ec_tune_family_names[fams[f]], ec_tune_family_names[fams[f]]);
  ec_buf_printf(&b, "};\n\nstatic const ecrt_tune_input inputs[] = {\n");
  for (int i = 0; i < g->n_inputs; i++) {
    const ec_tensor *x = &g->tensors[g->inputs[i]];
    ec_buf_printf(&b, "  {");
    c_str(&b, x->name);
    ec_buf_printf(&b, ", %d, %d, {", (int)x->dtype, x->rank);
    for (int k = 0; k < x->rank; k++) ec_buf_printf(&b, "%s%lld", k ? ", " : "", (long long)x->dims[k]);
    ec_buf_printf(&b, "}},\n");
  }
  ec_buf_printf(&b, "  {0, 0, 0, {0}}\n};\n\n");
  ec_buf_printf(&b, "int main(int argc, char **argv) {\n  static const ecrt_tune_desc d = {\n      ");
  c_str(&b, base);
  ec_buf_printf(&b, ", \"%s\", \"%s\", \"%s\",\n      %d, nodes, %d, families, %d, inputs};\n"
                "  return ecrt_tune_main(&d, argc, argv);\n}\n", sha, t->name, t->triple, nn, n_fam, g->n_inputs);
  int rc = write_text(dir, "tune/tune_main.c", &b);
  if (rc) return rc;

  /* toolchain.cmake: a cross target's family folders have one (all the same). */
  char tc[PATH_MAX];
  pj(tc, sizeof tc, "%s/%s/%s/toolchain.cmake", dir, ec_tune_family_names[fams[0]], dev);
  ec_buf tb = {0};
  bool cross = read_text(tc, &tb);
  rc = cross ? write_text(dir, "toolchain.cmake", &tb) : 0;
  ec_buf_free(&tb);
  if (rc) return rc;
  ec_buf_printf(&b, "# CMakeLists.txt — the tuning folder of %s for target %s, generated by edgecc tune: each\n"
                "# kernel family's device folder (edgecc compile --kernels F) built as a project of its own,\n"
                "# and tune_%s, which runs them and writes the tuning file (docs/tuning.md).\n"
                "cmake_minimum_required(VERSION 3.21)\nproject(%s_tune C)\n\n"
                "if(NOT CMAKE_BUILD_TYPE AND NOT CMAKE_CONFIGURATION_TYPES)\n"
                "  set(CMAKE_BUILD_TYPE Release CACHE STRING \"\" FORCE)\nendif()\n"
                "set(CMAKE_C_STANDARD 99)\n\ninclude(ExternalProject)\n"
                "set(EC_TUNE_ARGS -DCMAKE_BUILD_TYPE=${CMAKE_BUILD_TYPE})\n"
                "if(CMAKE_TOOLCHAIN_FILE)\n  get_filename_component(_ec_tc \"${CMAKE_TOOLCHAIN_FILE}\" ABSOLUTE)\n"
                "  list(APPEND EC_TUNE_ARGS -DCMAKE_TOOLCHAIN_FILE=${_ec_tc})\nendif()\n"
                "if(EC_SYSROOT)\n  list(APPEND EC_TUNE_ARGS -DEC_SYSROOT=${EC_SYSROOT})\nendif()\n",
                base, t->name, name, name);
  for (int f = 0; f < n_fam; f++)
    ec_buf_printf(&b, "ExternalProject_Add(%s_%s SOURCE_DIR ${CMAKE_CURRENT_SOURCE_DIR}/%s/%s\n"
                  "  BINARY_DIR ${CMAKE_BINARY_DIR}/%s CMAKE_ARGS ${EC_TUNE_ARGS} INSTALL_COMMAND \"\" BUILD_ALWAYS ON)\n",
                  name, ec_tune_family_names[fams[f]], ec_tune_family_names[fams[f]], dev,
                  ec_tune_family_names[fams[f]]);
  ec_buf_printf(&b, "\nadd_executable(tune_%s tune/tune_main.c tune/ecrt_tune.c)\n", name);
  ec_buf_printf(&b, "target_include_directories(tune_%s PRIVATE tune)\n", name);
  for (int f = 0; f < n_fam; f++) ec_buf_printf(&b, "add_dependencies(tune_%s %s_%s)\n", name, name,
                                                ec_tune_family_names[fams[f]]);
  rc = write_text(dir, "CMakeLists.txt", &b);
  if (rc) return rc;
  ec_buf_printf(&b, "# Tuning folder: %s on target %s\n\n"
                "Generated by `edgecc tune`. Each folder below is the model compiled with one kernel family\n"
                "(`edgecc compile --kernels F`):", base, t->name);
  for (int f = 0; f < n_fam; f++) ec_buf_printf(&b, " `%s/`", ec_tune_family_names[fams[f]]);
  ec_buf_printf(&b, ". `tune_%s` runs each program (one warm-up run, then `--runs N` timed; each\n"
                "step's median) and writes the tuning file for `edgecc compile --tuning FILE`.\n\n```\n"
                "cmake -S . -B build%s\ncmake --build build\n"
                "build/tune_%s --output tuning.json [--runs 30] [--threads N]\n```\n\n"
                "Progress goes to stderr, one line per node. See docs/tuning.md of edgecc.\n",
                name, cross ? " --toolchain toolchain.cmake -DEC_SYSROOT=$HOME/edgecc-sysroot   # or natively on the board, without both" : "",
                name);
  return write_text(dir, "README.md", &b);
}

int ec_cmd_tune(int argc, char **argv) {
  tune_args a;
  memset(&a, 0, sizeof a);
  ec_model_opts mo;
  memset(&mo, 0, sizeof mo);
  int rc = parse(argc, argv, &a, &mo);
  if (rc >= 0) return rc;

  ec_diag d;
  memset(&d, 0, sizeof d);
  ec_target_set ts;
  memset(&ts, 0, sizeof ts);
  ec_device_list devs;
  memset(&devs, 0, sizeof devs);
  ec_status st = ec_cli_devices(a.tfiles, a.n_tfiles, a.targets, &ts, &devs, &d);
  if (!st && devs.n != 1) {
    ec_diag_set(&d, "--targets", "", "tune measures one device at a time, %d given", devs.n);
    st = EC_ERR_USAGE;
  }
  bool here = a.out && ends_with(a.out, ".json");
  if (!st && here && !a.signatures && strcmp(devs.items[0].target->triple, ec_target_host_triple()) != 0) {
    ec_diag_set(&d, "-o", "", "%s: tuning here needs a target of this machine (%s); target %s is %s: write the "
                "tuning folder (-o DIR), build and run it on the board", a.out, ec_target_host_triple(),
                devs.items[0].target_name, devs.items[0].target->triple);
    st = EC_ERR_USAGE;
  }
  if (!st && a.out && !here && !a.signatures && !dir_empty_or_new(a.out)) {
    ec_diag_set(&d, "-o", "", "%s: the tuning folder must be new or empty", a.out);
    st = EC_ERR_USAGE;
  }
  if (st) {
    ec_diag_print(&d);
    ec_targets_free(&ts);
    return st;
  }
  const ec_device *dv = &devs.items[0];
  ec_graph *g;
  rc = ec_cli_load(a.path, &mo, false, &g);
  if (rc) {
    ec_targets_free(&ts);
    return rc;
  }
  if (a.signatures) {
    for (int i = 0; i < g->n_nodes; i++) {
      if (g->nodes[i].dead) continue;
      ec_buf text = {0};
      char key[17];
      ec_tune_signature(g, &g->nodes[i], &text, key);
      char label[512];
      ec_node_label(g, &g->nodes[i], label, sizeof label);
      printf("%s\t%s\t%s\n", key, label, text.data ? text.data : "");
      ec_buf_free(&text);
    }
    ec_graph_free(g);
    ec_targets_free(&ts);
    return 0;
  }
  /* The C name: the model's stem, as compile's default. */
  const char *base = strrchr(a.path, '/');
  base = base ? base + 1 : a.path;
  char stembuf[200];
  pj(stembuf, sizeof stembuf, "%s", base);
  char *dot = strrchr(stembuf, '.');
  if (dot && dot != stembuf) *dot = 0;
  char *name = ec_cname(stembuf, NULL, 0);
  char dir[PATH_MAX], tmpl[PATH_MAX], self[PATH_MAX];
  ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
  self[sl > 0 ? sl : 0] = 0;
  if (here) {
    const char *tmp = getenv("TMPDIR");
    pj(tmpl, sizeof tmpl, "%s/edgecc-tune-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(tmpl)) {
      fprintf(stderr, "edgecc: error: cannot make a temporary folder %s: %s\n", tmpl, strerror(errno));
      rc = EC_ERR_MODEL;
    }
    pj(dir, sizeof dir, "%s/src", tmpl);
  } else {
    pj(dir, sizeof dir, "%s", a.out);
  }
  if (!rc && mkdir(dir, 0755) && errno != EEXIST) {
    fprintf(stderr, "edgecc: error: %s: cannot create: %s\n", dir, strerror(errno));
    rc = EC_ERR_MODEL;
  }
  unsigned fam_bits = ec_tune_families(dv->target);
  int fams[EC_TUNE_COUNT], n_fam = 0;
  for (int f = 0; f < EC_TUNE_COUNT; f++)
    if (fam_bits & (1u << f)) fams[n_fam++] = f;
  char programs[EC_TUNE_COUNT][200];
  char **labels = calloc((size_t)n_fam * (size_t)g->n_nodes + 1, sizeof(char *));
  char **steps = calloc((size_t)n_fam * (size_t)g->n_nodes + 1, sizeof(char *));
  if (!labels || !steps || !name) rc = EC_ERR_INTERNAL;
  /* The model once per family, with the same model options. */
  for (int f = 0; !rc && f < n_fam; f++) {
    const char *fam = ec_tune_family_names[fams[f]];
    char out[PATH_MAX], nm[256], dev[256];
    pj(out, sizeof out, "%s/%s", dir, fam);
    pj(nm, sizeof nm, "%s_%s", name, fam);
    pj(dev, sizeof dev, "%s=%s", dv->name, dv->target_name);
    char *args[32 + 4 * EC_MAX_OPTS + 2 * EC_MAX_OPTS];
    int n = 0;
    args[n++] = self;
    args[n++] = "compile";
    args[n++] = (char *)a.path;
    args[n++] = "--targets";
    args[n++] = dev;
    args[n++] = "--kernels";
    args[n++] = (char *)fam;
    args[n++] = "--name";
    args[n++] = nm;
    args[n++] = "-o";
    args[n++] = out;
    if (a.threads) args[n++] = "--threads", args[n++] = (char *)a.threads;
    for (int k = 0; k < a.n_tfiles; k++) args[n++] = "--target-file", args[n++] = (char *)a.tfiles[k];
    for (int k = 0; k < a.n_fwd; k++) args[n++] = a.fwd[k];
    args[n] = NULL;
    fprintf(stderr, "edgecc: tune: compiling %s with --kernels %s into %s\n", base, fam, out);
    int r = run_cmd(args, NULL);
    if (r) {
      fprintf(stderr, "edgecc: error: tune: compiling with --kernels %s failed (exit status %d)\n", fam, r);
      rc = r == EC_ERR_USAGE ? EC_ERR_USAGE : EC_ERR_MODEL;
      break;
    }
    rc = read_plan(out, g, labels + (size_t)f * (size_t)g->n_nodes, steps + (size_t)f * (size_t)g->n_nodes,
                   programs[f], sizeof programs[f]);
  }
  if (!rc) rc = write_folder(dir, dv->name, name, g, dv->target, n_fam, fams, labels, steps, programs);
  if (!rc && !here)
    printf("edgecc: %s: tuning folder of %s for target %s (%d families); build it and run build/tune_%s "
           "--output tuning.json there (%s/README.md)\n", a.out, base, dv->target->name, n_fam, name, a.out);
  if (!rc && here) {
    /* Build and run it here. */
    char bdir[PATH_MAX], log[PATH_MAX], prog[PATH_MAX], jobs[16];
    pj(bdir, sizeof bdir, "%s/build", tmpl);
    pj(log, sizeof log, "%s/build.log", tmpl);
    long nproc = sysconf(_SC_NPROCESSORS_ONLN);
    pj(jobs, sizeof jobs, "%ld", nproc > 0 ? nproc : 1);
    fprintf(stderr, "edgecc: tune: building the tuning folder %s (log: %s)\n", dir, log);
    char *cfg[] = {"cmake", "-S", dir, "-B", bdir, "-DCMAKE_BUILD_TYPE=Release", NULL};
    char *bld[] = {"cmake", "--build", bdir, "-j", jobs, NULL};
    int r = run_cmd(cfg, log);
    if (!r) r = run_cmd(bld, log);
    if (r) {
      fprintf(stderr, "edgecc: error: tune: building %s failed (exit status %d): see %s\n", dir, r, log);
      rc = EC_ERR_MODEL;
    } else {
      pj(prog, sizeof prog, "%s/tune_%s", bdir, name);
      char *runargs[12];
      int n = 0;
      runargs[n++] = prog;
      runargs[n++] = "--output";
      runargs[n++] = (char *)a.out;
      if (a.runs) runargs[n++] = "--runs", runargs[n++] = (char *)a.runs;
      if (a.threads) runargs[n++] = "--threads", runargs[n++] = (char *)a.threads;
      runargs[n] = NULL;
      r = run_cmd(runargs, NULL);
      if (r) {
        fprintf(stderr, "edgecc: error: tune: the tuning program failed (exit status %d); its folder: %s\n", r, tmpl);
        rc = EC_ERR_MODEL;
      } else {
        printf("edgecc: %s: tuning file of %s for target %s\n", a.out, base, dv->target->name);
        rm_tree(tmpl);
      }
    }
  }
  for (int i = 0; labels && steps && i < n_fam * g->n_nodes; i++) free(labels[i]), free(steps[i]);
  free(labels);
  free(steps);
  free(name);
  ec_graph_free(g);
  ec_targets_free(&ts);
  return rc;
}
