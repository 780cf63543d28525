/* ecrt_driver.c — the command-line driver of generated programs: reads inputs from TensorProto
 * files, checks them against the partition, runs it (optionally N times), writes the outputs;
 * or, with --listen, hands the initialised partition to the server (ecrt_serve.c). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ecrt_driver.h"
#include "ecrt_pb.h"
#include "ecrt_platform.h"
#include "ecrt_serve.h"
#include "ecrt_transport.h"

#define MAX_FILES 256

static int usage(const ecrt_program *p, const char *msg, const char *arg) {
  fprintf(stderr, "%s: error: %s%s%s\n", p->name, msg, arg ? " " : "", arg ? arg : "");
  fprintf(stderr,
          "usage: %s --input FILE.pb ... [--output FILE.pb ...] [--weights PATH] [--bench N]\n"
          "       [--profile] [--profile-json FILE] [--threads N] [--model NAME[,NAME]]\n"
          "       %s --listen ENDPOINT [--next [MODELS@]ENDPOINT ...] [--plan-id HEX] [--timeout MS]\n"
          "       [--max-bytes N] [--weights PATH] [--threads N]\n",
          p->name, p->name);
  return 2;
}

static void shape_str(char *buf, size_t len, int32_t rank, const int64_t *dims) {
  size_t used = 0;
  int i;
  buf[0] = 0;
  used += (size_t)snprintf(buf, len, "[");
  for (i = 0; i < rank && used < len; i++)
    used += (size_t)snprintf(buf + used, len - used, "%s%lld", i ? "," : "", (long long)dims[i]);
  if (used < len) snprintf(buf + used, len - used, "]");
}

static int parse_count(const char *s, long *out) {
  char *end;
  long v = strtol(s, &end, 10);
  if (!*s || *end || v < 1 || v > 100000000L) return 0;
  *out = v;
  return 1;
}

static int parse_hex(const char *s, uint64_t *out) {
  char *end;
  unsigned long long v;
  if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s += 2;
  if (!*s || strlen(s) > 16) return 0;
  v = strtoull(s, &end, 16);
  if (*end || v == 0) return 0;
  *out = (uint64_t)v;
  return 1;
}

/* In-place heap sort: glibc's qsort may allocate, and the benchmark loop must not. */
static void sift(uint64_t *a, long root, long n) {
  for (;;) {
    long c = 2 * root + 1;
    uint64_t t;
    if (c >= n) return;
    if (c + 1 < n && a[c + 1] > a[c]) c++;
    if (a[root] >= a[c]) return;
    t = a[root];
    a[root] = a[c];
    a[c] = t;
    root = c;
  }
}

static void sort_u64(uint64_t *a, long n) {
  long i;
  for (i = n / 2 - 1; i >= 0; i--) sift(a, i, n);
  for (i = n - 1; i > 0; i--) {
    uint64_t t = a[0];
    a[0] = a[i];
    a[i] = t;
    sift(a, 0, i);
  }
}

/* Median of n samples in milliseconds; sorts them. */
static double median_ms(uint64_t *a, long n) {
  sort_u64(a, n);
  return (n & 1 ? (double)a[n / 2] : ((double)a[n / 2 - 1] + (double)a[n / 2]) / 2) / 1e6;
}

/* Text built in a caller's buffer: a first pass with cap 0 only measures the length. */
typedef struct text_buf {
  char *p;
  size_t cap, len;
} text_buf;

static void tb_put(text_buf *b, const char *s, size_t n) {
  if (b->len + n < b->cap) memcpy(b->p + b->len, s, n);
  b->len += n;
}

/* Numbers and keys only (names go through tb_json_str): 256 characters are enough. */
static void tb_printf(text_buf *b, const char *fmt, ...) {
  char tmp[256];
  int n;
  va_list ap;
  va_start(ap, fmt);
  n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n > 0) tb_put(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static void tb_json_str(text_buf *b, const char *s) {
  tb_put(b, "\"", 1);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') {
      char e[2];
      e[0] = '\\';
      e[1] = (char)c;
      tb_put(b, e, 2);
    } else if (c < 0x20) {
      tb_printf(b, "\\u%04x", (unsigned)c);
    } else {
      tb_put(b, s, 1);
    }
  }
  tb_put(b, "\"", 1);
}

/* The profile as JSON (docs/generated-code.md): samples[run * n_steps + step] in ns, times[run]
 * the whole runs; col is scratch for one step's samples. timeline (NULL: none): per run and step
 * its start and cluster (ecrt_ctx.prof_timeline), a cluster of UINT64_MAX where no cluster's
 * thread ran it. Sorts times and col. */
static void profile_json(const ecrt_program *p, text_buf *b, long threads, long runs,
                         const uint64_t *samples, uint64_t *col, uint64_t *times, const uint64_t *timeline) {
  int i;
  long r;
  tb_printf(b, "{\n  \"format\": \"edgecc-profile\",\n  \"format_version\": 1,\n  \"program\": ");
  tb_json_str(b, p->name);
  tb_printf(b, ",\n  \"kernels\": ");
  tb_json_str(b, p->kernels ? p->kernels : "");
  tb_printf(b, ",\n  \"threads\": %ld,\n  \"runs\": %ld,\n", threads, runs);
  tb_printf(b, "  \"run_median_ms\": %.6f,\n  \"steps\": [", median_ms(times, runs));
  for (i = 0; i < p->n_steps; i++) {
    double sum = 0;
    for (r = 0; r < runs; r++) {
      col[r] = samples[(size_t)r * (size_t)p->n_steps + (size_t)i];
      sum += (double)col[r];
    }
    tb_printf(b, "%s\n    {\"index\": %d, \"node\": ", i ? "," : "", i);
    tb_json_str(b, p->steps[i].name);
    tb_printf(b, ", \"op\": ");
    tb_json_str(b, p->steps[i].op);
    tb_printf(b, ", \"median_ms\": %.6f", median_ms(col, runs));
    tb_printf(b, ", \"mean_ms\": %.6f", sum / (double)runs / 1e6);
    /* A clustered run: which cluster's thread ran the step (the same in every run) and when it
     * started, the median over the runs. */
    if (timeline && timeline[2 * (size_t)i + 1] != UINT64_MAX) {
      for (r = 0; r < runs; r++) col[r] = timeline[((size_t)r * (size_t)p->n_steps + (size_t)i) * 2];
      tb_printf(b, ", \"cluster\": %d, \"start_ms\": %.6f", (int)timeline[2 * (size_t)i + 1], median_ms(col, runs));
    }
    tb_printf(b, "}");
  }
  tb_printf(b, "%s]\n}\n", p->n_steps ? "\n  " : "");
}

/* Reads input file i into a buffer of the partition's dtype and shape (with slack). */
static int load_input(const ecrt_program *p, int i, const char *path, void **out) {
  const ecrt_io_desc *d = &p->inputs[i];
  unsigned char *buf;
  size_t len, bytes;
  ecrt_pb_tensor t;
  const char *err = "";
  int k, ok;
  char want[160], got[160];
  ecrt_status st = ecrt_read_file(path, &buf, &len);
  if (st) {
    fprintf(stderr, "%s: error: %s: cannot read input '%s'\n", p->name, path, d->name);
    return 1;
  }
  st = ecrt_pb_parse(buf, len, &t, &err);
  if (st) {
    fprintf(stderr, "%s: error: %s: not a valid TensorProto file: %s\n", p->name, path, err);
    ecrt_free(buf);
    return 1;
  }
  ok = t.dtype == d->dtype && t.rank == d->rank;
  for (k = 0; ok && k < d->rank; k++) ok = t.dims[k] == d->dims[k];
  if (!ok) {
    shape_str(want, sizeof want, d->rank, d->dims);
    shape_str(got, sizeof got, t.rank, t.dims);
    fprintf(stderr, "%s: error: %s: input %d '%s' must be %s %s, the file holds %s %s\n", p->name,
            path, i, d->name, ecrt_dtype_name(d->dtype), want, ecrt_dtype_name(t.dtype), got);
    ecrt_free(buf);
    return 1;
  }
  bytes = (size_t)t.numel * ecrt_dtype_size(t.dtype);
  *out = ecrt_alloc(bytes + ECRT_SLACK, ECRT_ALIGN);
  if (!*out) {
    ecrt_free(buf);
    fprintf(stderr, "%s: error: out of memory\n", p->name);
    return 1;
  }
  memset((unsigned char *)*out + bytes, 0, ECRT_SLACK);
  st = ecrt_pb_decode(&t, *out, bytes);
  ecrt_free(buf);
  if (st) {
    fprintf(stderr, "%s: error: %s: malformed tensor data\n", p->name, path);
    return 1;
  }
  return 0;
}

static size_t io_bytes(const ecrt_io_desc *d) {
  size_t n = ecrt_dtype_size(d->dtype);
  int k;
  for (k = 0; k < d->rank; k++) n *= (size_t)d->dims[k];
  return n;
}

/* Says which step of init failed: the weights check (the file is not this program's), a kernel
 * library call (named with its status, and its node when it belongs to one), or the arguments. */
static void init_error(const ecrt_program *p, const ecrt_ctx *c, ecrt_status st, const char *weights) {
  if (st == ECRT_ERR_WEIGHTS)
    fprintf(stderr, "%s: error: %s: %s (not the weights this program was compiled with, or a damaged file)\n",
            p->name, weights, ecrt_status_str(st));
  else if (st == ECRT_ERR_LIBRARY && c->failed_step >= 0 && c->failed_step < p->n_steps)
    fprintf(stderr, "%s: error: init: node '%s' (%s): %s failed (%s)\n", p->name,
            p->steps[c->failed_step].name, p->steps[c->failed_step].op,
            c->failed_call ? c->failed_call : "a kernel library call",
            c->failed_status ? c->failed_status : "no status");
  else if (st == ECRT_ERR_LIBRARY)
    fprintf(stderr, "%s: error: init: %s failed (%s)\n", p->name,
            c->failed_call ? c->failed_call : "a kernel library call",
            c->failed_status ? c->failed_status : "no status");
  else
    fprintf(stderr, "%s: error: init: %s\n", p->name, ecrt_status_str(st));
}

/* The weights file beside the program: the directory of argv[0], else the current one. */
static void default_weights_path(const ecrt_program *p, const char *argv0, char *buf, size_t len) {
  const char *slash = strrchr(argv0, '/');
  if (slash && (size_t)(slash - argv0) + strlen(p->weights_file) + 2 < len)
    snprintf(buf, len, "%.*s/%s", (int)(slash - argv0), argv0, p->weights_file);
  else
    snprintf(buf, len, "%s", p->weights_file);
}

int ecrt_driver_main(const ecrt_program *p, int argc, char **argv) {
  return ecrt_driver_main_plan(p, 0, argc, argv);
}

int ecrt_models_parse(const ecrt_models *m, const char *list, uint32_t *mask, char *err, size_t err_len) {
  const char *s = list;
  *mask = 0;
  for (;;) {
    const char *end = strchr(s, ',');
    size_t len = end ? (size_t)(end - s) : strlen(s);
    int k, found = -1;
    for (k = 0; k < m->n; k++)
      if (strlen(m->names[k]) == len && strncmp(m->names[k], s, len) == 0) found = k;
    if (found < 0 || (*mask >> found & 1u)) {
      size_t j, w = 0;
      char names[200];
      names[0] = 0;
      for (j = 0; j < (size_t)m->n && w < sizeof names; j++)
        w += (size_t)snprintf(names + w, sizeof names - w, "%s%s", j ? ", " : "", m->names[j]);
      snprintf(err, err_len, "%s model '%.*s' in --model %s (the program's models: %s)",
               found < 0 ? "unknown" : "repeated", (int)(len > 64 ? 64 : len), s, list, names);
      return 0;
    }
    *mask |= 1u << found;
    if (!end) return 1;
    s = end + 1;
  }
}

int ecrt_driver_main_plan(const ecrt_program *p, uint64_t plan_id, int argc, char **argv) {
  return ecrt_driver_main_models(p, NULL, plan_id, argc, argv);
}

int ecrt_driver_main_models(const ecrt_program *p, const ecrt_models *m, uint64_t plan_id, int argc,
                            char **argv) {
  const char *in_files[MAX_FILES], *out_files[MAX_FILES], *weights_path = NULL, *prof_json = NULL;
  int n_in = 0, n_out = 0, profile = 0, rc = 1, i, mode = 0, inited = 0;
  long bench = 0, threads = 0, n_timed;
  void *ins[MAX_FILES], *outs[MAX_FILES];
  unsigned char *wbuf = NULL, *arena = NULL;
  void *ctx = NULL;
  uint64_t *prof = NULL, *times = NULL, *col = NULL, *timeline = NULL;
  char *json = NULL;
  const void *wdata;
  size_t wlen;
  char wpath[4096];
  ecrt_status st;
  ecrt_serve_opts serve;
  /* The models this run wants (every one without --model), and which of the program's inputs
   * and outputs are theirs: the files given map to those, in graph order. */
  uint32_t want = m ? (m->n >= 32 ? 0xffffffffu : (1u << m->n) - 1u) : 0;
  int want_in[MAX_FILES], want_out[MAX_FILES], n_want_in = 0, n_want_out = 0, by_model = 0;
  memset(ins, 0, sizeof ins);
  memset(outs, 0, sizeof outs);
  memset(&serve, 0, sizeof serve);
  serve.timeout_ms = 5000;
  serve.max_bytes = (uint64_t)256 << 20;
  serve.models = m;
  for (i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--input") == 0) {
      mode = 1;
      if (i + 1 >= argc) return usage(p, "--input needs a file", NULL);
    } else if (strcmp(a, "--output") == 0) {
      mode = 2;
      if (i + 1 >= argc) return usage(p, "--output needs a file", NULL);
    } else if (strcmp(a, "--weights") == 0) {
      if (i + 1 >= argc) return usage(p, "--weights needs a path", NULL);
      weights_path = argv[++i];
      mode = 0;
    } else if (strcmp(a, "--bench") == 0) {
      if (i + 1 >= argc || !parse_count(argv[i + 1], &bench))
        return usage(p, "--bench needs a positive count", NULL);
      i++;
      mode = 0;
    } else if (strcmp(a, "--threads") == 0) {
      if (i + 1 >= argc || !parse_count(argv[i + 1], &threads) || threads > 1024)
        return usage(p, "--threads needs a positive count", NULL);
      i++;
      mode = 0;
    } else if (strcmp(a, "--listen") == 0 || strcmp(a, "--next") == 0) {
      char err[400];
      const char *ep = i + 1 < argc ? argv[i + 1] : NULL, *at = NULL, *scheme;
      uint32_t set = 0;
      if (ep && a[2] == 'n' && (scheme = strstr(ep, "://")) != NULL) {
        /* --next MODELS@ENDPOINT: the models that next partition answers (a tree's branch). */
        const char *q;
        for (q = ep; q < scheme; q++)
          if (*q == '@') at = q;
      }
      if (at) {
        char list[400];
        size_t len = (size_t)(at - ep);
        if (!m) return usage(p, "--next MODELS@ENDPOINT: this program holds one model", NULL);
        if (len >= sizeof list) return usage(p, "--next: the model list is too long", NULL);
        memcpy(list, ep, len);
        list[len] = 0;
        if (!ecrt_models_parse(m, list, &set, err, sizeof err)) return usage(p, err, NULL);
        ep = at + 1;
      }
      if (!ep || !ecrt_endpoint_valid(ep, err, sizeof err))
        return usage(p, !ep ? "an endpoint is needed after" : err, !ep ? a : NULL);
      i++;
      if (a[2] == 'l') {
        serve.listen = ep;
      } else {
        if (serve.n_next == ECRT_SERVE_MAX_NEXT) return usage(p, "more than 8 --next partitions", NULL);
        serve.next_eps[serve.n_next] = ep;
        serve.next_models[serve.n_next++] = set;
        serve.next = serve.next_eps[0];
      }
      mode = 0;
    } else if (strcmp(a, "--plan-id") == 0) {
      if (i + 1 >= argc || !parse_hex(argv[i + 1], &serve.plan_id))
        return usage(p, "--plan-id needs a non-zero hexadecimal number", NULL);
      i++;
      mode = 0;
    } else if (strcmp(a, "--timeout") == 0) {
      long ms;
      if (i + 1 >= argc || !parse_count(argv[i + 1], &ms) || ms > 3600000L)
        return usage(p, "--timeout needs milliseconds (1 to 3600000)", NULL);
      serve.timeout_ms = (int)ms;
      i++;
      mode = 0;
    } else if (strcmp(a, "--max-bytes") == 0) {
      long mb;
      if (i + 1 >= argc || !parse_count(argv[i + 1], &mb))
        return usage(p, "--max-bytes needs a positive byte count", NULL);
      serve.max_bytes = (uint64_t)mb;
      i++;
      mode = 0;
    } else if (strcmp(a, "--model") == 0) {
      char err[400];
      if (i + 1 >= argc) return usage(p, "--model needs NAME[,NAME]", NULL);
      if (!m) return usage(p, "--model: this program holds one model (compile several to choose)", NULL);
      if (!ecrt_models_parse(m, argv[i + 1], &want, err, sizeof err)) return usage(p, err, NULL);
      by_model = 1;
      i++;
      mode = 0;
    } else if (strcmp(a, "--profile") == 0) {
      profile = 1;
      mode = 0;
    } else if (strcmp(a, "--profile-json") == 0) {
      if (i + 1 >= argc) return usage(p, "--profile-json needs a file", NULL);
      prof_json = argv[++i];
      mode = 0;
    } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      printf("usage: %s --input FILE.pb ... [--output FILE.pb ...] [--weights PATH] [--bench N]\n"
             "       [--profile] [--profile-json FILE] [--threads N] [--model NAME[,NAME]]\n"
             "       %s --listen ENDPOINT [--next [MODELS@]ENDPOINT ...] [--plan-id HEX] [--timeout MS]\n"
             "       [--max-bytes N] [--weights PATH] [--threads N]\n"
             "Inputs and outputs are ONNX TensorProto files in graph order (%d in, %d out).\n"
             "--model runs only the named models of a program compiled from several (the\n"
             "nodes they share once); --input and --output then take their files only.\n"
             "--profile prints each step's mean time per run; --profile-json FILE writes each\n"
             "step's median and mean (edgecc compile --profile DEVICE=FILE reads it).\n"
             "Endpoints: tcp://HOST:PORT (port 0: any free one), unix://PATH, shm://NAME.\n"
             "--next MODELS@ENDPOINT (repeated, a program of several models): a tree's\n"
             "branches; each request goes on to those whose models it asks for, and its\n"
             "reply merges their outputs.\n"
             "--plan-id HEX overrides the plan id compiled in (plan_id in plan.json).\n"
             "Serving is unauthenticated; listen on loopback unless the network is trusted.\n",
             p->name, p->name, p->n_inputs, p->n_outputs);
      return 0;
    } else if (a[0] == '-' && a[1] == '-') {
      return usage(p, "unknown option", a);
    } else if (mode == 1) {
      if (n_in >= MAX_FILES) return usage(p, "too many inputs", NULL);
      in_files[n_in++] = a;
    } else if (mode == 2) {
      if (n_out >= MAX_FILES) return usage(p, "too many outputs", NULL);
      out_files[n_out++] = a;
    } else {
      return usage(p, "unexpected argument", a);
    }
  }
  if (serve.next && !serve.listen) return usage(p, "--next needs --listen", NULL);
  if (serve.n_next > 1 || (serve.n_next == 1 && serve.next_models[0])) {
    /* A tree: every --next names its models, each model goes to exactly one of them. */
    uint32_t seen = 0, all = m->n >= 32 ? 0xffffffffu : (1u << m->n) - 1u;
    /* The models whose outputs this partition returns itself count as answered here. */
    for (i = 0; m->output_ids && i < p->n_outputs; i++)
      if (m->output_ids[i] >= 0) seen |= m->output_models[i];
    for (i = 0; i < serve.n_next; i++) {
      if (!serve.next_models[i])
        return usage(p, "several --next partitions: each needs its models (--next MODELS@ENDPOINT)", serve.next_eps[i]);
      if (seen & serve.next_models[i])
        return usage(p, "two --next partitions (or this one) answer the same model (each model goes to one)",
                     serve.next_eps[i]);
      seen |= serve.next_models[i];
    }
    if (seen != all) {
      char msg[512];
      int n_missing = 0;
      size_t at = (size_t)snprintf(msg, sizeof msg, "no --next partition answers model(s) ");
      for (i = 0; i < m->n && at < sizeof msg; i++)
        if (!(seen >> i & 1))
          at += (size_t)snprintf(msg + at, sizeof msg - at, "%s%s", n_missing++ ? "," : "", m->names[i]);
      if (at < sizeof msg) snprintf(msg + at, sizeof msg - at, " (each model goes to one)");
      return usage(p, msg, NULL);
    }
  }
  if (serve.listen && (n_in || n_out || bench || profile || prof_json))
    return usage(p, "--listen takes its inputs from requests: no --input, --output, --bench or --profile", NULL);
  if (!serve.listen && (serve.plan_id || serve.timeout_ms != 5000))
    return usage(p, "--plan-id and --timeout only apply with --listen", NULL);
  if (!serve.plan_id) serve.plan_id = plan_id ? plan_id : ecrt_program_plan_id(p);
  if (serve.listen && by_model) return usage(p, "--model applies to file runs: requests carry their models", NULL);
  for (i = 0; i < p->n_inputs && i < MAX_FILES; i++)
    if (!m || (m->input_models[i] & want)) want_in[n_want_in++] = i;
  for (i = 0; i < p->n_outputs && i < MAX_FILES; i++)
    if (!m || (m->output_models[i] & want)) want_out[n_want_out++] = i;
  if (serve.listen) n_in = n_want_in; /* no files: the count check below is for file mode */
  if (n_in != n_want_in) {
    fprintf(stderr, "%s: error: the model%s takes %d input(s), %d given (--input FILE.pb ...)\n",
            p->name, by_model ? "s named by --model" : "", n_want_in, n_in);
    return 1;
  }
  if (n_out > n_want_out) {
    fprintf(stderr, "%s: error: the model%s %d output(s), %d output files given\n", p->name,
            by_model ? "s named by --model have" : " has", n_want_out, n_out);
    return 1;
  }
  /* Weights: a file (given, or beside the program), or the array compiled in. */
  if (weights_path || !p->embedded_weights) {
    if (!weights_path) {
      default_weights_path(p, argv[0], wpath, sizeof wpath);
      weights_path = wpath;
    }
    st = ecrt_read_file(weights_path, &wbuf, &wlen);
    if (st) {
      fprintf(stderr, "%s: error: cannot read the weights file %s (--weights PATH)\n", p->name,
              weights_path);
      return 1;
    }
    wdata = wbuf;
  } else {
    wdata = p->embedded_weights;
    wlen = p->embedded_weights_len;
  }
  ctx = ecrt_alloc(p->ctx_bytes, ECRT_ALIGN);
  arena = ecrt_alloc(p->arena_bytes + ECRT_SLACK, ECRT_ALIGN);
  if (!ctx || !arena) {
    fprintf(stderr, "%s: error: out of memory (arena of %lu bytes)\n", p->name,
            (unsigned long)p->arena_bytes);
    goto done;
  }
  memset(ctx, 0, p->ctx_bytes);
  /* 0 when --threads is not given: the program's default (the target's cores). A file read
   * here is the driver's to give: init releases what it copied as it goes. */
  if (wbuf && p->init_release)
    st = p->init_release(ctx, wbuf, wlen, arena, p->arena_bytes, (int)threads);
  else
    st = p->init(ctx, wdata, wlen, arena, p->arena_bytes, (int)threads);
  if (st) {
    /* A failed init has released what it made. */
    init_error(p, (const ecrt_ctx *)ctx, st, weights_path ? weights_path : "embedded weights");
    goto done;
  }
  inited = 1;
  /* One copy of the weights: what init copied into the kernels' own memory leaves the file's. */
  {
    size_t keep = ((const ecrt_ctx *)ctx)->weights_keep;
    if (wbuf && keep && keep < wlen) ecrt_release_pages(wbuf + keep, wlen - keep);
  }
  if (serve.listen) {
    /* Until a signal; the server frees its own buffers and joins its threads, then the partition
     * is released below like after a file run. */
    rc = ecrt_serve(p, ctx, &serve);
    goto done;
  }
  for (i = 0; i < n_in; i++)
    if (load_input(p, want_in[i], in_files[i], &ins[want_in[i]])) goto done;
  for (i = 0; i < p->n_outputs; i++) {
    size_t b = io_bytes(&p->outputs[i]);
    if (m && !(m->output_models[i] & want)) continue; /* another model's: the run leaves it */
    outs[i] = ecrt_alloc(b + ECRT_SLACK, ECRT_ALIGN);
    if (!outs[i]) {
      fprintf(stderr, "%s: error: out of memory\n", p->name);
      goto done;
    }
    memset(outs[i], 0, b + ECRT_SLACK);
  }
  /* Profiles keep every timed run's step times (one row per run, all allocated here, none in
   * the loop) so that --profile-json can give each step's median. */
  if (prof_json) profile = 1;
  n_timed = bench ? bench : profile;
  if (profile) {
    size_t cells = (size_t)p->n_steps + 1;
    if ((size_t)n_timed > ((size_t)-1) / sizeof(uint64_t) / cells) goto oom;
    prof = ecrt_alloc(sizeof(uint64_t) * cells * (size_t)n_timed, 8);
    col = ecrt_alloc(sizeof(uint64_t) * (size_t)n_timed, 8);
    if (!prof || !col) goto oom;
    memset(prof, 0, sizeof(uint64_t) * cells * (size_t)n_timed);
  }
  /* --profile-json of a clustered program: each step's start and cluster, per run (all ones:
   * not filled, a run in order). */
  if (prof_json) {
    size_t cells = 2 * ((size_t)p->n_steps + 1);
    if ((size_t)n_timed > ((size_t)-1) / sizeof(uint64_t) / cells) goto oom;
    timeline = ecrt_alloc(sizeof(uint64_t) * cells * (size_t)n_timed, 8);
    if (!timeline) goto oom;
    memset(timeline, 0xff, sizeof(uint64_t) * cells * (size_t)n_timed);
  }
  if (n_timed) {
    times = ecrt_alloc(sizeof(uint64_t) * (size_t)n_timed, 8);
    if (!times) goto oom;
  }
  /* The first run is the warm-up for --bench and --profile; its outputs are the ones written. */
  ((ecrt_ctx *)ctx)->failed_why = NULL;
  st = m ? m->run(ctx, want, (const void *const *)ins, outs) : p->run(ctx, (const void *const *)ins, outs);
  for (i = 0; !st && i < n_timed; i++) {
    uint64_t t0;
    if (prof) ((ecrt_ctx *)ctx)->prof_ns = prof + (size_t)i * (size_t)p->n_steps;
    if (timeline) ((ecrt_ctx *)ctx)->prof_timeline = timeline + 2 * (size_t)i * (size_t)p->n_steps;
    t0 = ecrt_now_ns();
    st = m ? m->run(ctx, want, (const void *const *)ins, outs) : p->run(ctx, (const void *const *)ins, outs);
    times[i] = ecrt_now_ns() - t0;
  }
  ((ecrt_ctx *)ctx)->prof_ns = NULL;
  ((ecrt_ctx *)ctx)->prof_timeline = NULL;
  if (st) {
    int f = ((ecrt_ctx *)ctx)->failed_step;
    const char *why = ((ecrt_ctx *)ctx)->failed_why;
    if (st == ECRT_ERR_KERNEL && f >= 0 && f < p->n_steps && why)
      fprintf(stderr, "%s: error: node '%s' (%s) failed: %s\n", p->name, p->steps[f].name, p->steps[f].op, why);
    else if (st == ECRT_ERR_KERNEL && f >= 0 && f < p->n_steps)
      fprintf(stderr, "%s: error: node '%s' (%s) failed (an index out of range, or bad input values)\n",
              p->name, p->steps[f].name, p->steps[f].op);
    else
      fprintf(stderr, "%s: error: run failed: %s\n", p->name, ecrt_status_str(st));
    goto done;
  }
  for (i = 0; i < n_out; i++) {
    int k = want_out[i];
    ecrt_io_desc d = p->outputs[k];
    size_t b, cap, w;
    unsigned char *enc;
    if (p->out_dims) memcpy(d.dims, p->out_dims[k], sizeof d.dims); /* data-dependent shapes */
    b = io_bytes(&d);
    cap = ecrt_pb_encoded_size(d.name, d.rank, d.dims, b);
    enc = ecrt_alloc(cap, 8);
    if (!enc) goto done;
    st = ecrt_pb_encode(enc, cap, &w, d.name, d.dtype, d.rank, d.dims, outs[k], b);
    if (!st) st = ecrt_write_file(out_files[i], enc, w);
    ecrt_free(enc);
    if (st) {
      fprintf(stderr, "%s: error: cannot write %s\n", p->name, out_files[i]);
      goto done;
    }
  }
  if (prof) {
    double total = 0;
    long r;
    printf("%-6s %-24s %-32s %10s %6s\n", "step", "op", "node", "ms", "%");
    for (i = 0; i < p->n_steps; i++)
      for (r = 0; r < n_timed; r++) total += (double)prof[(size_t)r * (size_t)p->n_steps + (size_t)i];
    for (i = 0; i < p->n_steps; i++) {
      double step = 0;
      for (r = 0; r < n_timed; r++) step += (double)prof[(size_t)r * (size_t)p->n_steps + (size_t)i];
      printf("%-6d %-24s %-32s %10.4f %6.1f\n", i, p->steps[i].op, p->steps[i].name,
             step / (double)n_timed / 1e6, total > 0 ? 100.0 * step / total : 0.0);
    }
    printf("total_ms: %.4f\n", total / (double)n_timed / 1e6);
  }
  if (prof_json) {
    text_buf tb;
    long thr = ((ecrt_ctx *)ctx)->threads > 0 ? (long)((ecrt_ctx *)ctx)->threads : threads;
    memset(&tb, 0, sizeof tb);
    profile_json(p, &tb, thr, n_timed, prof, col, times, timeline);
    json = ecrt_alloc(tb.len + 1, 8);
    if (!json) goto oom;
    tb.p = json;
    tb.cap = tb.len + 1;
    tb.len = 0;
    /* times and col were sorted by the first pass: the medians are the same. */
    profile_json(p, &tb, thr, n_timed, prof, col, times, timeline);
    if (ecrt_write_file(prof_json, json, tb.len)) {
      fprintf(stderr, "%s: error: cannot write %s\n", p->name, prof_json);
      goto done;
    }
  }
  if (bench) printf("median_ms: %.4f\n", median_ms(times, bench));
  rc = 0;
  goto done;
oom:
  fprintf(stderr, "%s: error: out of memory\n", p->name);
done:
  if (inited) p->release(ctx);
  for (i = 0; i < MAX_FILES; i++) {
    if (ins[i]) ecrt_free(ins[i]);
    if (outs[i]) ecrt_free(outs[i]);
  }
  if (prof) ecrt_free(prof);
  if (col) ecrt_free(col);
  if (timeline) ecrt_free(timeline);
  if (json) ecrt_free(json);
  if (times) ecrt_free(times);
  if (ctx) ecrt_free(ctx);
  if (arena) ecrt_free(arena);
  if (wbuf) ecrt_free(wbuf);
  return rc;
}
