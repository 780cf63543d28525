/* ecrt_tune.c — the tuning program's body (ecrt_tune.h, docs/tuning.md). */
#define _POSIX_C_SOURCE 200809L
#include "ecrt_tune.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define TUNE_MAX_ARGS 64

static int tune_usage(const char *prog, const char *why) {
  if (why) fprintf(stderr, "%s: error: %s\n", prog, why);
  fprintf(stderr, "usage: %s --output FILE [--runs N] [--threads N] [--runner CMD]\n", prog);
  return 2;
}

static size_t dtype_size(int32_t dt) {
  switch (dt) {
    case 1: case 6: case 12: return 4;   /* float, int32, uint32 */
    case 7: case 11: case 13: return 8;  /* int64, double, uint64 */
    case 5: case 4: case 10: case 16: return 2; /* int16, uint16, float16, bfloat16 */
    default: return 1;                   /* uint8, int8, bool */
  }
}

static void put_varint(FILE *f, uint64_t v) {
  while (v >= 0x80) {
    fputc((int)(v & 0x7f) | 0x80, f);
    v >>= 7;
  }
  fputc((int)v, f);
}

/* A TensorProto: dims (1), data_type (2), name (8), raw_data (9); floats seeded in [-1, 1), the
 * other dtypes zero (indices, masks: the first entry of every table). */
static int write_input(const char *path, const ecrt_tune_input *in, uint32_t seed) {
  FILE *f = fopen(path, "wb");
  size_t n = 1, bytes, i;
  int k;
  if (!f) return 1;
  for (k = 0; k < in->rank; k++) n *= (size_t)in->dims[k];
  bytes = n * dtype_size(in->dtype);
  for (k = 0; k < in->rank; k++) {
    fputc(1 << 3 | 0, f);
    put_varint(f, (uint64_t)in->dims[k]);
  }
  fputc(2 << 3 | 0, f);
  put_varint(f, (uint64_t)in->dtype);
  fputc(8 << 3 | 2, f);
  put_varint(f, strlen(in->name));
  fputs(in->name, f);
  fputc(9 << 3 | 2, f);
  put_varint(f, bytes);
  for (i = 0; i < n; i++) {
    if (in->dtype == 1) {
      float v;
      unsigned char b[4];
      seed = seed * 1664525u + 1013904223u;
      v = (float)((seed >> 8) * (1.0 / 8388608.0) - 1.0);
      memcpy(b, &v, 4); /* little-endian hosts and boards */
      fwrite(b, 1, 4, f);
    } else {
      size_t z;
      for (z = 0; z < dtype_size(in->dtype); z++) fputc(0, f);
    }
  }
  return fclose(f) != 0;
}

/* Runs argv (NULL-terminated) with stdout on /dev/null; returns its exit status (-1: no start). */
static int run(char *const *argv) {
  pid_t pid = fork();
  int status;
  if (pid < 0) return -1;
  if (pid == 0) {
    int fd = open("/dev/null", O_WRONLY);
    if (fd >= 0) dup2(fd, 1);
    execvp(argv[0], argv);
    fprintf(stderr, "tune: cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static char *read_all(const char *path) {
  FILE *f = fopen(path, "rb");
  char *buf = NULL;
  size_t len = 0, cap = 0, got;
  if (!f) return NULL;
  for (;;) {
    if (cap - len < 65536) {
      char *nb = realloc(buf, cap * 2 + 65536 + 1);
      if (!nb) break;
      buf = nb;
      cap = cap * 2 + 65536;
    }
    got = fread(buf + len, 1, cap - len, f);
    if (!got) break;
    len += got;
  }
  fclose(f);
  if (buf) buf[len] = 0;
  return buf;
}

/* A JSON string at p (after its opening quote) into out; returns the text after its closing quote. */
static const char *json_str(const char *p, char *out, size_t cap) {
  size_t n = 0;
  while (*p && *p != '"') {
    char c = *p++;
    if (c == '\\' && *p) {
      c = *p++;
      if (c == 'n') c = '\n';
      else if (c == 't') c = '\t';
      else if (c == 'r') c = '\r';
      else if (c == 'b') c = '\b';
      else if (c == 'f') c = '\f';
      else if (c == 'u') {
        unsigned v = (unsigned)strtoul((char[5]){p[0], p[1], p[2], p[3], 0}, NULL, 16);
        p += 4;
        c = v < 0x80 ? (char)v : '?';
      }
    }
    if (n + 1 < cap) out[n++] = c;
  }
  out[n] = 0;
  return *p ? p + 1 : p;
}

static void put_json_str(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
    else if (c < 0x20) fprintf(f, "\\u%04x", c);
    else fputc(c, f);
  }
  fputc('"', f);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* The --profile-json file of family fam: each step's median into ms[node] (by the step's name).
 * Returns the steps matched, -1 when the file is unreadable. */
static int read_profile(const ecrt_tune_desc *d, const ecrt_tune_family *fam, const char *path, double *ms) {
  char *text = read_all(path), name[4096];
  const char *p;
  int matched = 0, i;
  if (!text) return -1;
  for (p = strstr(text, "\"steps\""); p && (p = strstr(p, "\"node\": \"")) != NULL;) {
    const char *m;
    p = json_str(p + 9, name, sizeof name);
    m = strstr(p, "\"median_ms\": ");
    if (!m) break;
    for (i = 0; i < d->n_nodes; i++)
      if (fam->steps[i] && strcmp(fam->steps[i], name) == 0) {
        ms[i] = strtod(m + 13, NULL);
        matched++;
        break;
      }
    p = m + 13;
  }
  free(text);
  return matched;
}

int ecrt_tune_main(const ecrt_tune_desc *d, int argc, char **argv) {
  const char *out = NULL, *threads = NULL, *runs = "30", *prog = argv[0];
  char *runner[TUNE_MAX_ARGS / 2], runner_buf[1024], dir[4096], path[4096 + 256];
  int n_runner = 0, i, f, k, rc = 0;
  double *ms;
  FILE *o;
  for (i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      printf("usage: %s --output FILE [--runs N] [--threads N] [--runner CMD]\n"
             "Times every node of %s on each kernel family (the programs beside this one, each with\n"
             "--bench N --profile-json: one warm-up run, then N, the median per step) and writes the\n"
             "tuning file `edgecc --tuning FILE` reads. --runner CMD: start the programs through CMD\n"
             "(\"qemu-aarch64 -L /usr/aarch64-linux-gnu\" where no binfmt handler runs them).\n",
             prog, d->model);
      return 0;
    }
    if (i + 1 >= argc) return tune_usage(prog, "an option needs a value");
    if (strcmp(a, "--output") == 0) out = argv[++i];
    else if (strcmp(a, "--runs") == 0) runs = argv[++i];
    else if (strcmp(a, "--threads") == 0) threads = argv[++i];
    else if (strcmp(a, "--runner") == 0) {
      char *tok;
      snprintf(runner_buf, sizeof runner_buf, "%s", argv[++i]);
      for (tok = strtok(runner_buf, " "); tok && n_runner < TUNE_MAX_ARGS / 2 - 1; tok = strtok(NULL, " "))
        runner[n_runner++] = tok;
    } else {
      return tune_usage(prog, "unknown option");
    }
  }
  if (!out) return tune_usage(prog, "no output file (--output FILE)");
  if (atol(runs) < 1 || atol(runs) > 100000) return tune_usage(prog, "--runs needs a count from 1 to 100000");
  if (threads && (atol(threads) < 1 || atol(threads) > 1024)) return tune_usage(prog, "--threads needs 1 to 1024");
  snprintf(dir, sizeof dir, "%s", prog);
  {
    char *slash = strrchr(dir, '/');
    if (slash) *slash = 0;
    else snprintf(dir, sizeof dir, ".");
  }
  ms = malloc(sizeof(double) * (size_t)(d->n_families * d->n_nodes + 1));
  if (!ms) return 1;
  for (i = 0; i < d->n_families * d->n_nodes; i++) ms[i] = -1;
  /* The inputs, seeded: every family runs on the same bytes. */
  for (k = 0; k < d->n_inputs; k++) {
    snprintf(path, sizeof path, "%s/tune_input_%d.pb", dir, k);
    if (write_input(path, &d->inputs[k], 12345u + (uint32_t)k)) {
      fprintf(stderr, "%s: error: cannot write %s\n", prog, path);
      free(ms);
      return 1;
    }
  }
  for (f = 0; f < d->n_families && !rc; f++) {
    char *args[TUNE_MAX_ARGS + 2 * 16];
    char exe[4096 + 256], prof[4096 + 256], ins[16][4096 + 64];
    int n = 0, matched;
    /* dist/ (each device folder's build fills it: the program, its weights, the shared libraries
     * it needs, RPATH $ORIGIN/lib) runs on a board and under qemu alike. */
    snprintf(exe, sizeof exe, "%s/%s/dist/%s", dir, d->families[f].family, d->families[f].program);
    if (access(exe, X_OK) != 0)
      snprintf(exe, sizeof exe, "%s/%s/%s", dir, d->families[f].family, d->families[f].program);
    snprintf(prof, sizeof prof, "%s/tune_%s.json", dir, d->families[f].family);
    for (k = 0; k < n_runner; k++) args[n++] = runner[k];
    args[n++] = exe;
    for (k = 0; k < d->n_inputs && k < 16; k++) {
      snprintf(ins[k], sizeof ins[k], "%s/tune_input_%d.pb", dir, k);
      args[n++] = "--input";
      args[n++] = ins[k];
    }
    args[n++] = "--bench";
    args[n++] = (char *)runs;
    args[n++] = "--profile-json";
    args[n++] = prof;
    if (threads) {
      args[n++] = "--threads";
      args[n++] = (char *)threads;
    }
    args[n] = NULL;
    fprintf(stderr, "tune: %s: %s, 1 warm-up run and %s timed\n", d->families[f].family, exe, runs);
    remove(prof);
    k = run(args);
    if (k != 0) {
      fprintf(stderr, "%s: error: %s failed (exit status %d)\n", prog, exe, k);
      rc = 1;
      break;
    }
    matched = read_profile(d, &d->families[f], prof, ms + (size_t)f * (size_t)d->n_nodes);
    if (matched < 0) {
      fprintf(stderr, "%s: error: %s wrote no profile %s\n", prog, exe, prof);
      rc = 1;
    }
  }
  /* A node with a step in some family but none in another was absorbed there by lowering (a
   * Relu fused into its producer, a Concat its inputs write into): 0 ms of its own. */
  for (i = 0; i < d->n_nodes && !rc; i++) {
    int any = 0;
    for (f = 0; f < d->n_families; f++) any |= ms[(size_t)f * (size_t)d->n_nodes + (size_t)i] >= 0;
    for (f = 0; any && f < d->n_families; f++)
      if (ms[(size_t)f * (size_t)d->n_nodes + (size_t)i] < 0) ms[(size_t)f * (size_t)d->n_nodes + (size_t)i] = 0;
  }
  /* Per node, its times on every family. */
  for (i = 0; i < d->n_nodes && !rc; i++) {
    fprintf(stderr, "tune: [%d/%d] %s (%s):", i + 1, d->n_nodes, d->nodes[i].name, d->nodes[i].op);
    for (f = 0; f < d->n_families; f++) {
      double v = ms[(size_t)f * (size_t)d->n_nodes + (size_t)i];
      if (v >= 0) fprintf(stderr, " %s %.4f ms", d->families[f].family, v);
      else fprintf(stderr, " %s -", d->families[f].family);
    }
    fputc('\n', stderr);
  }
  o = rc ? NULL : fopen(out, "wb");
  if (!rc && !o) {
    fprintf(stderr, "%s: error: cannot write %s\n", prog, out);
    rc = 1;
  }
  if (o) {
    double *col = malloc(sizeof(double) * (size_t)(d->n_nodes + 1));
    char *seen = calloc((size_t)d->n_nodes + 1, 1);
    int first = 1;
    fprintf(o, "{\n  \"format\": \"edgecc-tuning\",\n  \"format_version\": 1,\n  \"target\": ");
    put_json_str(o, d->target);
    fprintf(o, ",\n  \"triple\": ");
    put_json_str(o, d->triple);
    fprintf(o, ",\n  \"model\": ");
    put_json_str(o, d->model);
    fprintf(o, ",\n  \"model_sha256\": \"%s\",\n  \"threads\": %s,\n  \"runs\": %ld,\n  \"families\": [",
            d->model_sha256, threads ? threads : "null", atol(runs));
    for (f = 0; f < d->n_families; f++) fprintf(o, "%s\"%s\"", f ? ", " : "", d->families[f].family);
    fprintf(o, "],\n  \"nodes\": [");
    /* One entry per signature: the median over its nodes of their step medians, per family. */
    for (i = 0; col && seen && i < d->n_nodes; i++) {
      int count = 0, any = 0, j;
      if (seen[i]) continue;
      for (j = i; j < d->n_nodes; j++)
        if (strcmp(d->nodes[j].key, d->nodes[i].key) == 0) seen[j] = 1, count++;
      for (f = 0; f < d->n_families; f++) {
        int n = 0;
        for (j = i; j < d->n_nodes; j++)
          if (strcmp(d->nodes[j].key, d->nodes[i].key) == 0 && ms[(size_t)f * (size_t)d->n_nodes + (size_t)j] >= 0)
            n++;
        any |= n > 0;
      }
      if (!any) continue; /* no step of its own anywhere (a Relu fused into its producer) */
      fprintf(o, "%s\n    {\"key\": \"%s\", \"op\": ", first ? "" : ",", d->nodes[i].key);
      first = 0;
      put_json_str(o, d->nodes[i].op);
      fprintf(o, ", \"shapes\": ");
      put_json_str(o, d->nodes[i].shapes);
      fprintf(o, ", \"count\": %d,\n     \"median_ms\": {", count);
      for (f = 0, k = 0; f < d->n_families; f++) {
        int n = 0;
        for (j = i; j < d->n_nodes; j++)
          if (strcmp(d->nodes[j].key, d->nodes[i].key) == 0 && ms[(size_t)f * (size_t)d->n_nodes + (size_t)j] >= 0)
            col[n++] = ms[(size_t)f * (size_t)d->n_nodes + (size_t)j];
        if (!n) continue;
        qsort(col, (size_t)n, sizeof *col, cmp_double);
        fprintf(o, "%s\"%s\": %.6f", k++ ? ", " : "", d->families[f].family,
                n % 2 ? col[n / 2] : (col[n / 2 - 1] + col[n / 2]) / 2);
      }
      fprintf(o, "},\n     \"kernels\": {");
      for (f = 0, k = 0; f < d->n_families; f++) {
        fprintf(o, "%s\"%s\": ", k++ ? ", " : "", d->families[f].family);
        put_json_str(o, d->families[f].kernels[i] ? d->families[f].kernels[i] : "fused (no step)");
      }
      fprintf(o, "}}");
    }
    fprintf(o, "%s]\n}\n", first ? "" : "\n  ");
    free(col);
    free(seen);
    if (fclose(o) != 0) {
      fprintf(stderr, "%s: error: cannot write %s\n", prog, out);
      rc = 1;
    } else {
      fprintf(stderr, "tune: wrote %s\n", out);
    }
  }
  free(ms);
  return rc;
}
