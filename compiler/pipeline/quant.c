/* quant.c — ec_pipeline_quantize: calibration -> sensitivity -> the planner's bit widths ->
 * a check of the chosen plan on the calibration set -> the int8 rewrite, before the plan is made.
 *
 * Every measurement runs a fresh load of the model with some nodes made int8 (ec_quant_apply),
 * in-process with the reference kernels, so the numbers are those of the graph compile would
 * generate, not of a simulation. The sensitivity cache stores exactly what a run measures
 * (integers and the SQNR's bits), so a cached compile writes the same files. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bits.h"
#include "cost.h"
#include "op.h"
#include "pipeline.h"
#include "sha256.h"

typedef struct qctx {
  const char *path;
  const ec_load_opts *lo;
  const ec_pass_opts *passes;
  const ec_pipeline_quant_opts *o;
  ec_calib_result r;
  ec_calib_set set;
  float *ref;       /* the fp32 model's outputs */
  int64_t per;
  int *labels;      /* NULL without --calib-labels */
  int fp32_correct;
  int *cands;       /* candidate node indices in the loaded graph */
  int n_cands;
} qctx;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void calib_progress(void *ctx, int pass, int n_passes, int done, int total) {
  const ec_pipeline_quant_opts *o = ctx;
  (void)pass, (void)n_passes;
  if (o->progress) o->progress(o->progress_ctx, n_passes > 1 && pass == 1 ? "calibrating (ranges)" : "calibrating",
                               done, total, "samples");
}

/* A fresh load with the candidates marked in take[] (by candidate position) made int8. */
static ec_status load_int8(const qctx *c, const bool *take, ec_graph **g, ec_diag *d) {
  ec_status st = ec_pipeline_load(c->path, c->lo, c->passes, false, g, d);
  for (int k = 0; !st && k < c->n_cands; k++)
    if (take[k]) (*g)->nodes[c->cands[k]].bits = 8;
  if (!st) st = ec_quant_apply(*g, &c->r, &c->o->q, d);
  return st;
}

/* Runs the plan take[] on the set and scores it against the fp32 outputs. */
static ec_status measure(const qctx *c, const bool *take, ec_quant_score *sc, ec_diag *d) {
  ec_graph *g = NULL;
  ec_status st = load_int8(c, take, &g, d);
  float *out = NULL;
  int64_t per = 0;
  if (!st) st = ec_quant_run(g, &c->set, NULL, NULL, &out, &per, d);
  if (!st) *sc = ec_quant_compare(c->ref, out, c->set.n_samples, per, c->labels);
  free(out);
  ec_graph_free(g);
  return st;
}

static int degradation(const qctx *c, const ec_quant_score *s) {
  return c->labels ? c->fp32_correct - s->correct : c->set.n_samples - s->agree;
}

/* ---- the sensitivity cache ------------------------------------------------------------------- */

static void hex(const uint8_t *h, int n, char *out) {
  for (int i = 0; i < n; i++) snprintf(out + 2 * i, 3, "%02x", h[i]);
}

/* The cache file's path, and the key line its first line must equal. */
static bool cache_names(const qctx *c, const ec_graph *g, char *path, size_t plen, char *key, size_t klen) {
  const char *dir = c->o->cache_dir ? c->o->cache_dir : getenv("EDGECC_CACHE_DIR");
  char base[4096];
  if (!dir || !*dir) {
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    if (xdg && *xdg) snprintf(base, sizeof base, "%s/edgecc", xdg);
    else if (home && *home) snprintf(base, sizeof base, "%s/.cache/edgecc", home);
    else return false;
    dir = base;
  }
  char ms[65], cs[65], ls[65] = "-";
  hex(g->sha256, 32, ms);
  hex(c->r.sha256, 32, cs);
  if (c->labels) {
    ec_sha256 h;
    uint8_t dg[32];
    ec_sha256_init(&h);
    ec_sha256_update(&h, c->labels, sizeof(int) * (size_t)c->set.n_samples);
    ec_sha256_final(&h, dg);
    hex(dg, 32, ls);
  }
  snprintf(path, plen, "%s/sensitivity-%.16s-%.16s.txt", dir, ms, cs);
  snprintf(key, klen, "edgecc-sensitivity 1 %s model=%s calib=%s labels=%s per_channel=%d nodes=%d candidates=%d",
           EC_VERSION, ms, cs, ls, c->o->q.per_channel, g->n_nodes, c->n_cands);
  return true;
}

/* Reads every candidate's measurement; false when the file is missing or is not for this key. */
static bool cache_read(const qctx *c, const ec_graph *g, const char *path, const char *key, ec_quant_node_report *nr) {
  FILE *f = fopen(path, "r");
  if (!f) return false;
  char line[8192];
  bool ok = fgets(line, sizeof line, f) && strcspn(line, "\n") == strlen(key) && strncmp(line, key, strlen(key)) == 0;
  for (int k = 0; ok && k < c->n_cands; k++) {
    int idx, agree, correct, used = 0;
    unsigned long long bits;
    ok = fgets(line, sizeof line, f) && sscanf(line, "%d %d %d %llx %n", &idx, &agree, &correct, &bits, &used) == 4 &&
         idx == k && used > 0;
    if (ok) {
      line[strcspn(line, "\n")] = 0;
      ok = strcmp(line + used, g->nodes[c->cands[k]].name) == 0;
    }
    if (ok) {
      double v;
      memcpy(&v, &bits, sizeof v);
      nr[k].agree = agree, nr[k].correct = correct, nr[k].sqnr_db = v;
    }
  }
  fclose(f);
  return ok;
}

static void mkdirs(const char *path) {
  char p[4200];
  snprintf(p, sizeof p, "%s", path);
  for (char *s = p + 1; *s; s++)
    if (*s == '/') {
      *s = 0;
      mkdir(p, 0777);
      *s = '/';
    }
}

/* Written to a temporary name and renamed, so a concurrent compile never reads half a file. */
static void cache_write(const qctx *c, const ec_graph *g, const char *path, const char *key,
                        const ec_quant_node_report *nr) {
  mkdirs(path);
  char tmp[4240];
  snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
  FILE *f = fopen(tmp, "w");
  if (!f) {
    fprintf(stderr, "edgecc: warning: %s: cannot write the sensitivity cache: %s\n", path, strerror(errno));
    return;
  }
  fprintf(f, "%s\n", key);
  for (int k = 0; k < c->n_cands; k++) {
    unsigned long long bits;
    memcpy(&bits, &nr[k].sqnr_db, sizeof bits);
    fprintf(f, "%d %d %d %llx %s\n", k, nr[k].agree, nr[k].correct, bits, g->nodes[c->cands[k]].name);
  }
  if (fclose(f) != 0 || rename(tmp, path) != 0) remove(tmp);
}

/* ---- the decision -------------------------------------------------------------------------- */

/* Per candidate, with only it int8. */
static ec_status sensitivity(qctx *c, const ec_graph *g, ec_quant_report *rep, ec_diag *d) {
  char path[4200], key[512];
  bool named = cache_names(c, g, path, sizeof path, key, sizeof key);
  if (named && cache_read(c, g, path, key, rep->nodes)) {
    rep->cached = true;
    return EC_OK;
  }
  double t0 = now_s();
  bool *take = calloc((size_t)c->n_cands + 1, 1);
  if (!take) return EC_ERR_INTERNAL;
  ec_status st = EC_OK;
  for (int k = 0; !st && k < c->n_cands; k++) {
    take[k] = true;
    ec_quant_score s;
    st = measure(c, take, &s, d);
    take[k] = false;
    if (!st) rep->nodes[k].agree = s.agree, rep->nodes[k].correct = s.correct, rep->nodes[k].sqnr_db = s.sqnr_db;
    if (c->o->progress) c->o->progress(c->o->progress_ctx, "sensitivity", k + 1, c->n_cands, "nodes");
  }
  free(take);
  rep->sensitivity_s = now_s() - t0;
  if (!st && named) cache_write(c, g, path, key, rep->nodes);
  return st;
}

/* Chooses the widths under the budget, measures the plan, and tightens while it exceeds it. */
static ec_status choose(qctx *c, ec_quant_report *rep, bool *take, ec_quant_score *final, ec_diag *d) {
  int n = c->n_cands;
  ec_bits_item *items = calloc((size_t)n + 1, sizeof *items);
  bool *prev = calloc((size_t)n + 1, 1);
  if (!items || !prev) {
    free(items), free(prev);
    return EC_ERR_INTERNAL;
  }
  for (int k = 0; k < n; k++) {
    ec_quant_node_report *nr = &rep->nodes[k];
    nr->measured = true;
    ec_quant_score s = {nr->agree, nr->correct, nr->sqnr_db};
    nr->cost = degradation(c, &s);
    items[k] = (ec_bits_item){nr->ms_fp32, nr->ms_int8, nr->cost, false};
  }
  int units = rep->budget_units, allowed = units;
  ec_status st = EC_OK;
  for (rep->rounds = 1;; rep->rounds++) {
    if (ec_bits_choose(items, n, allowed, take) < 0) {
      st = EC_ERR_INTERNAL;
      break;
    }
    if (c->o->progress) c->o->progress(c->o->progress_ctx, "checking the plan", rep->rounds, rep->rounds, "rounds");
    if ((st = measure(c, take, final, d))) break;
    int got = degradation(c, final);
    bool any = false;
    for (int k = 0; k < n; k++) any |= take[k];
    if (got <= units || !any) break;
    if (rep->rounds > n + units + 1) { /* each round spends fewer units or bans a node */
      ec_diag_set(d, c->path, "", "internal error: the bit-width plan did not settle in %d rounds", rep->rounds);
      st = EC_ERR_INTERNAL;
      break;
    }
    /* Tighten by the excess; when that changes nothing (the nodes chosen cost no units on their
     * own: the degradation comes from their sum), the chosen node with the lowest SQNR goes. */
    allowed = allowed - (got - units) > 0 ? allowed - (got - units) : 0;
    memcpy(prev, take, (size_t)n);
    if (ec_bits_choose(items, n, allowed, take) < 0) {
      st = EC_ERR_INTERNAL;
      break;
    }
    if (memcmp(prev, take, (size_t)n) == 0) {
      int worst = -1;
      for (int k = 0; k < n; k++)
        if (take[k] && (worst < 0 || rep->nodes[k].sqnr_db < rep->nodes[worst].sqnr_db)) worst = k;
      items[worst].banned = true;
    }
  }
  for (int k = 0; k < n; k++) {
    ec_quant_node_report *nr = &rep->nodes[k];
    nr->why = take[k] ? EC_QWHY_CHOSEN : items[k].banned ? EC_QWHY_TIGHTENED
              : !(nr->ms_fp32 > nr->ms_int8) ? EC_QWHY_NO_GAIN : EC_QWHY_BUDGET;
  }
  free(items);
  free(prev);
  return st;
}

ec_status ec_pipeline_quantize(const char *path, const ec_load_opts *lo, const ec_pass_opts *passes, ec_graph *g,
                               const ec_pipeline_quant_opts *o, ec_quant_report *rep, ec_diag *d) {
  memset(rep, 0, sizeof *rep);
  qctx c;
  memset(&c, 0, sizeof c);
  c.path = path, c.lo = lo, c.passes = passes, c.o = o;
  rep->method = o->method;
  rep->max_samples = o->max_samples;
  rep->per_channel = o->q.per_channel;
  rep->budget_pp = o->budget_pp;
  ec_status st = ec_calib_list(o->calib_dir, g->n_inputs, o->max_samples, &c.set, d);
  ec_calib_opts co = {o->method, o->max_samples, calib_progress, (void *)o};
  if (!st) st = ec_calib_run(g, &c.set, &co, &c.r, d);
  if (!st && o->labels_path) st = ec_quant_read_labels(o->labels_path, &c.set, &c.labels, d);
  if (!st) st = ec_quant_run(g, &c.set, NULL, NULL, &c.ref, &c.per, d);
  if (!st) {
    memcpy(rep->calib_sha256, c.r.sha256, 32);
    rep->n_samples = c.set.n_samples;
    rep->labels = c.labels != NULL;
    c.fp32_correct = ec_quant_compare(c.ref, c.ref, c.set.n_samples, c.per, c.labels).correct;
    rep->fp32_correct = c.fp32_correct;
    rep->budget_units = o->budget_pp >= 0 ? (int)floor(o->budget_pp * c.set.n_samples / 100.0 + 1e-9) : 0;
    c.cands = calloc((size_t)g->n_nodes + 1, sizeof *c.cands);
    rep->nodes = calloc((size_t)g->n_nodes + 1, sizeof *rep->nodes);
    if (!c.cands || !rep->nodes) st = EC_ERR_INTERNAL;
  }
  for (int i = 0; !st && i < g->n_nodes; i++) {
    if (g->nodes[i].dead || !ec_quant_candidate(g, i, &c.r)) continue;
    ec_quant_node_report *nr = &rep->nodes[c.n_cands];
    c.cands[c.n_cands++] = i;
    rep->n_nodes = c.n_cands;
    nr->name = ec_strdup(g->nodes[i].name);
    nr->op = ec_ops[g->nodes[i].op].name;
    nr->macs = ec_quant_node_macs(g, i);
    nr->ms_fp32 = ec_cost_node(g, &g->nodes[i], o->target, o->threads, o->klib).ms;
    if (!nr->name) st = EC_ERR_INTERNAL;
  }
  for (int i = 0; !st && i < g->n_nodes; i++) rep->macs_total += ec_quant_node_macs(g, i);
  bool *take = calloc((size_t)c.n_cands + 1, 1);
  if (!st && !take) st = EC_ERR_INTERNAL;
  /* The int8 predictions come from the graph with every candidate int8, by node name (the
   * rewrite keeps the names of the nodes it retypes). */
  ec_graph *all = NULL;
  for (int k = 0; !st && k < c.n_cands; k++) take[k] = true;
  if (!st) st = load_int8(&c, take, &all, d);
  for (int k = 0; !st && k < c.n_cands; k++)
    for (int i = 0; i < all->n_nodes; i++)
      if (all->nodes[i].bits == 8 && strcmp(all->nodes[i].name, rep->nodes[k].name) == 0)
        rep->nodes[k].ms_int8 = ec_cost_node(all, &all->nodes[i], o->target, o->threads, o->klib).ms;
  ec_quant_score final = {0, 0, 0};
  if (!st && o->budget_pp < 0) {
    float *out = NULL;
    int64_t per;
    st = ec_quant_run(all, &c.set, NULL, NULL, &out, &per, d);
    if (!st) final = ec_quant_compare(c.ref, out, c.set.n_samples, per, c.labels);
    free(out);
    for (int k = 0; k < c.n_cands; k++) rep->nodes[k].why = EC_QWHY_ALL;
  } else if (!st) {
    st = sensitivity(&c, g, rep, d);
    if (!st) st = choose(&c, rep, take, &final, d);
  }
  ec_graph_free(all);
  rep->agree = final.agree, rep->correct = final.correct, rep->sqnr_db = final.sqnr_db;
  for (int k = 0; !st && k < c.n_cands; k++) {
    rep->nodes[k].int8 = take[k];
    if (take[k]) {
      g->nodes[c.cands[k]].bits = 8;
      rep->macs_int8 += rep->nodes[k].macs;
    }
  }
  if (!st) st = ec_quant_apply(g, &c.r, &o->q, d);
  free(take);
  free(c.cands);
  free(c.ref);
  free(c.labels);
  ec_calib_result_free(&c.r);
  ec_calib_set_free(&c.set);
  if (st == EC_ERR_INTERNAL && !d->msg[0]) ec_diag_set(d, path, "", "out of memory while quantizing");
  return st;
}
