/* tree.c — the joint plan's DP over a tree of blocks (tree.h): per block and device, the Pareto
 * set of its subtree's placements, joined child by child, pruned by dominance and capacity. */
#include "tree.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A state vector: [0] latency; [1 + d] weights and staging on d; [1 + D + d] largest arena on d;
 * throughput only: [1 + 2D + d] compute load on d, then one load per link (e < d). */
typedef struct layout {
  int D, K;
  bool loads;
} layout;

static int at_add(const layout *l, int d) { return (void)l, 1 + d; }
static int at_arena(const layout *l, int d) { return 1 + l->D + d; }
static int at_load(const layout *l, int d) { return 1 + 2 * l->D + d; }
static int at_link(const layout *l, int e, int d) {
  /* pairs e < d in row order */
  return 1 + 3 * l->D + e * l->D - e * (e + 1) / 2 + (d - e - 1);
}

typedef struct set {
  int n, cap;
  double *v;  /* n x K */
  int *back;  /* n x 3 */
} set;

typedef struct run {
  const ec_tree_problem *p;
  layout L;
  int leaf_dev;       /* leaves_together: the leaves' device, else -1 */
  int *nch, **ch;     /* children per block */
  set **lv;           /* per (b, d): nch[b] + 1 levels */
  long states;
  bool oom, too_big;
} run;

static bool set_push(set *s, int K, const double *v, int b0, int b1, int b2) {
  if (s->n == s->cap) {
    int nc = s->cap ? 2 * s->cap : 16;
    double *nv = realloc(s->v, sizeof(double) * (size_t)nc * K);
    if (!nv) return false;
    s->v = nv;
    int *nb = realloc(s->back, sizeof(int) * (size_t)nc * 3);
    if (!nb) return false;
    s->back = nb, s->cap = nc;
  }
  memcpy(s->v + (size_t)s->n * K, v, sizeof(double) * K);
  s->back[s->n * 3] = b0, s->back[s->n * 3 + 1] = b1, s->back[s->n * 3 + 2] = b2;
  s->n++;
  return true;
}

static void set_free(set *s) {
  free(s->v), free(s->back);
  memset(s, 0, sizeof *s);
}

static double cap_of(const ec_tree_problem *p, int d) {
  return p->capacity && p->capacity[d] > 0 ? p->capacity[d] : INFINITY;
}

static bool fits(const run *r, const double *v) {
  for (int d = 0; d < r->L.D; d++)
    if (v[at_add(&r->L, d)] + v[at_arena(&r->L, d)] > cap_of(r->p, d)) return false;
  return true;
}

static bool dominates(const double *a, const double *b, int K) {
  for (int i = 0; i < K; i++)
    if (a[i] > b[i]) return false;
  return true;
}

/* Drops states over a capacity and states another dominates (of equal ones the first stays),
 * keeping the order of the survivors. */
static void prune(run *r, set *s) {
  int K = r->L.K, n = 0;
  for (int i = 0; i < s->n; i++) {
    const double *v = s->v + (size_t)i * K;
    if (!fits(r, v)) continue;
    bool dom = false;
    for (int j = 0; j < n && !dom; j++) dom = dominates(s->v + (size_t)j * K, v, K);
    if (dom) continue;
    int m = 0;
    for (int j = 0; j < n; j++) {
      if (dominates(v, s->v + (size_t)j * K, K)) continue;
      if (m != j) {
        memmove(s->v + (size_t)m * K, s->v + (size_t)j * K, sizeof(double) * K);
        memcpy(s->back + m * 3, s->back + j * 3, sizeof(int) * 3);
      }
      m++;
    }
    n = m;
    if (n != i) {
      memmove(s->v + (size_t)n * K, v, sizeof(double) * K);
      memmove(s->back + n * 3, s->back + i * 3, sizeof(int) * 3);
    }
    n++;
  }
  s->n = n;
  if (n > EC_TREE_MAX_STATES) r->too_big = true;
}

static double val(const double *a, int i) { return a ? a[i] : 0; }

/* Joins two vectors: sums, except the arenas, which take the larger. */
static void join(const layout *l, const double *a, const double *b, double *out) {
  for (int i = 0; i < l->K; i++) out[i] = a[i] + b[i];
  for (int d = 0; d < l->D; d++) {
    double x = a[at_arena(l, d)], y = b[at_arena(l, d)];
    out[at_arena(l, d)] = x > y ? x : y;
  }
}

static double need_of(const ec_tree_problem *p, int b) { return p->need ? p->need[b] : 1.0; }

/* The sets of block b on device d, its children's already made. */
static void make_block(run *r, int b, int d) {
  const ec_tree_problem *p = r->p;
  const layout *l = &r->L;
  int K = l->K, D = l->D;
  set *lv = r->lv[(size_t)b * D + d];
  double c = p->compute[(size_t)b * D + d];
  if (isinf(c)) return;
  if (r->leaf_dev >= 0 && r->nch[b] == 0 && d != r->leaf_dev) return;
  double *own = calloc((size_t)K * 3, sizeof(double));
  if (!own) {
    r->oom = true;
    return;
  }
  double *opt = own + K, *tmp = own + 2 * K;
  own[0] = need_of(p, b) * c;
  own[at_add(l, d)] = val(p->weight_bytes, b) + val(p->out_bytes, b) + (p->parent[b] < 0 ? val(p->recv_bytes, b) : 0);
  own[at_arena(l, d)] = val(p->arena_bytes, b);
  if (l->loads) own[at_load(l, d)] = need_of(p, b) * c;
  if (!set_push(&lv[0], K, own, -1, -1, -1)) r->oom = true;
  prune(r, &lv[0]);
  for (int i = 0; i < r->nch[b] && !r->oom && !r->too_big; i++) {
    int cb = r->ch[b][i];
    set q = {0};
    for (int e = d; e < D && !r->oom; e++) {
      const set *cs = &r->lv[(size_t)cb * D + e][r->nch[cb]];
      for (int k = 0; k < cs->n; k++) {
        memcpy(opt, cs->v + (size_t)k * K, sizeof(double) * K);
        if (e != d) {
          double x = p->edge_ms[((size_t)cb * D + d) * D + e] * need_of(p, cb);
          opt[0] += x;
          opt[at_add(l, d)] += val(p->send_bytes, cb);
          opt[at_add(l, e)] += val(p->recv_bytes, cb);
          if (l->loads) opt[at_link(l, d, e)] += x;
        }
        if (!set_push(&q, K, opt, -1, e, k)) r->oom = true;
      }
    }
    prune(r, &q);
    const set *prev = &lv[i];
    if ((double)prev->n * q.n > 8.0 * EC_TREE_MAX_STATES) r->too_big = true;
    for (int a = 0; a < prev->n && !r->oom && !r->too_big; a++)
      for (int k = 0; k < q.n; k++) {
        join(l, prev->v + (size_t)a * K, q.v + (size_t)k * K, tmp);
        if (!set_push(&lv[i + 1], K, tmp, a, q.back[k * 3 + 1], q.back[k * 3 + 2])) r->oom = true;
      }
    prune(r, &lv[i + 1]);
    set_free(&q);
  }
  r->states += lv[r->nch[b]].n;
  free(own);
}

static void trace(const run *r, int b, int d, int idx, int *bdev) {
  bdev[b] = d;
  const set *lv = r->lv[(size_t)b * r->L.D + d];
  for (int i = r->nch[b]; i >= 1; i--) {
    const int *bk = lv[i].back + idx * 3;
    trace(r, r->ch[b][i - 1], bk[1], bk[2], bdev);
    idx = bk[0];
  }
}

static double bottleneck_of(const layout *l, const double *v) {
  double m = 0;
  if (!l->loads) return 0;
  for (int i = at_load(l, 0); i < l->K; i++)
    if (v[i] > m) m = v[i];
  return m;
}

/* One DP over the forest; fills bdev and returns true when some placement fits. */
static bool dp_once(run *r, int *bdev, double *best_key, double *best_lat, bool have_best) {
  const ec_tree_problem *p = r->p;
  int B = p->n_blocks, D = r->L.D, K = r->L.K;
  for (int b = B - 1; b >= 0 && !r->oom && !r->too_big; b--)
    for (int d = 0; d < D && !r->oom && !r->too_big; d++) make_block(r, b, d);
  if (r->oom || r->too_big) return false;
  /* The roots, one after another: F holds (previous F state, root device, root state). */
  int nroots = 0;
  for (int b = 0; b < B; b++) nroots += p->parent[b] < 0;
  set *F = calloc((size_t)nroots + 1, sizeof(set));
  int *roots = malloc(sizeof(int) * ((size_t)nroots + 1));
  double *zero = calloc((size_t)K, sizeof(double)), *tmp = calloc((size_t)K, sizeof(double));
  bool found = false;
  if (!F || !roots || !zero || !tmp) {
    r->oom = true;
    goto out;
  }
  if (!set_push(&F[0], K, zero, -1, -1, -1)) r->oom = true;
  int ri = 0;
  for (int b = 0; b < B && !r->oom && !r->too_big; b++) {
    if (p->parent[b] >= 0) continue;
    roots[ri] = b;
    set q = {0};
    for (int d = 0; d < D; d++) {
      const set *cs = &r->lv[(size_t)b * D + d][r->nch[b]];
      for (int k = 0; k < cs->n; k++)
        if (!set_push(&q, K, cs->v + (size_t)k * K, -1, d, k)) r->oom = true;
    }
    prune(r, &q);
    for (int a = 0; a < F[ri].n && !r->oom; a++)
      for (int k = 0; k < q.n; k++) {
        join(&r->L, F[ri].v + (size_t)a * K, q.v + (size_t)k * K, tmp);
        if (!set_push(&F[ri + 1], K, tmp, a, q.back[k * 3 + 1], q.back[k * 3 + 2])) r->oom = true;
      }
    prune(r, &F[ri + 1]);
    set_free(&q);
    ri++;
  }
  if (r->oom || r->too_big) goto out;
  int arg = -1;
  const set *fin = &F[nroots];
  for (int k = 0; k < fin->n; k++) {
    const double *v = fin->v + (size_t)k * K;
    double key = r->L.loads ? bottleneck_of(&r->L, v) : v[0];
    if (have_best && !(key < *best_key || (key == *best_key && v[0] < *best_lat))) continue;
    *best_key = key, *best_lat = v[0], have_best = true, arg = k;
  }
  if (arg >= 0) {
    found = true;
    int idx = arg;
    for (int i = nroots; i >= 1; i--) {
      const int *bk = F[i].back + idx * 3;
      trace(r, roots[i - 1], bk[1], bk[2], bdev);
      idx = bk[0];
    }
  }
out:
  for (int i = 0; F && i <= nroots; i++) set_free(&F[i]);
  free(F), free(roots), free(zero), free(tmp);
  return found;
}

static void run_clear(run *r) {
  int B = r->p->n_blocks, D = r->L.D;
  for (int x = 0; r->lv && x < B * D; x++) {
    if (!r->lv[x]) continue;
    for (int i = 0; i <= r->nch[x / D]; i++) set_free(&r->lv[x][i]);
    free(r->lv[x]);
    r->lv[x] = NULL;
  }
}

static ec_status check(const ec_tree_problem *p, ec_diag *d) {
  if (p->n_blocks < 1 || p->n_devices < 1 || p->n_devices > 16 || !p->parent || !p->compute ||
      (p->n_devices > 1 && !p->edge_ms)) {
    ec_diag_set(d, "", "", "joint plan: no blocks, no devices or more than 16, or no costs");
    return EC_ERR_USAGE;
  }
  for (int b = 0; b < p->n_blocks; b++) {
    if (p->parent[b] >= b || p->parent[b] < -1) {
      ec_diag_set(d, "", "", "joint plan: block %d has parent %d (parents come first)", b, p->parent[b]);
      return EC_ERR_USAGE;
    }
    for (int v = 0; v < p->n_devices; v++) {
      double c = p->compute[(size_t)b * p->n_devices + v];
      if (isnan(c) || c < 0) {
        ec_diag_set(d, "", "", "joint plan: block %d has an invalid compute time on device %d", b, v);
        return EC_ERR_USAGE;
      }
    }
  }
  return EC_OK;
}

ec_status ec_tree_solve(const ec_tree_problem *p, ec_tree_plan *out, ec_diag *d) {
  memset(out, 0, sizeof *out);
  ec_status st = check(p, d);
  if (st) return st;
  int B = p->n_blocks, D = p->n_devices;
  run r;
  memset(&r, 0, sizeof r);
  r.p = p;
  r.L.D = D;
  r.L.loads = p->objective == EC_OBJ_THROUGHPUT;
  r.L.K = 1 + 2 * D + (r.L.loads ? D + D * (D - 1) / 2 : 0);
  r.nch = calloc((size_t)B, sizeof(int));
  r.ch = calloc((size_t)B, sizeof(int *));
  r.lv = calloc((size_t)B * D, sizeof(set *));
  int *cur = malloc(sizeof(int) * (size_t)B);
  out->block_device = malloc(sizeof(int) * (size_t)B);
  bool ok = r.nch && r.ch && r.lv && cur && out->block_device;
  for (int b = 0; ok && b < B; b++)
    if (p->parent[b] >= 0) r.nch[p->parent[b]]++;
  for (int b = 0; ok && b < B; b++) {
    r.ch[b] = malloc(sizeof(int) * ((size_t)r.nch[b] + 1));
    ok = r.ch[b] != NULL;
    r.nch[b] = 0;
  }
  for (int b = 0; ok && b < B; b++)
    if (p->parent[b] >= 0) r.ch[p->parent[b]][r.nch[p->parent[b]]++] = b;
  bool found = false, have = false;
  double key = 0, lat = 0;
  for (int L = p->leaves_together ? 0 : -1; ok && L < (p->leaves_together ? D : 0); L++) {
    r.leaf_dev = L;
    for (int x = 0; x < B * D && ok; x++) {
      r.lv[x] = calloc((size_t)r.nch[x / D] + 1, sizeof(set));
      ok = r.lv[x] != NULL;
    }
    if (!ok) break;
    if (dp_once(&r, cur, &key, &lat, have)) {
      memcpy(out->block_device, cur, sizeof(int) * (size_t)B);
      found = have = true;
    }
    run_clear(&r);
    if (r.oom || r.too_big) break;
  }
  out->states = r.states;
  for (int b = 0; r.ch && b < B; b++) free(r.ch[b]);
  if (r.lv) run_clear(&r);
  free(r.ch), free(r.nch), free(r.lv), free(cur);
  if (!ok || r.oom) {
    ec_tree_plan_free(out);
    ec_diag_set(d, "", "", "out of memory in the joint plan");
    return EC_ERR_INTERNAL;
  }
  if (r.too_big) {
    ec_tree_plan_free(out);
    ec_diag_set(d, "", "", "joint plan: more than %d Pareto states", EC_TREE_MAX_STATES);
    return EC_ERR_MODEL;
  }
  if (!found) {
    ec_tree_plan_free(out);
    ec_diag_set(d, "", "", "joint plan: no placement of the %d blocks fits the devices' memory", B);
    return EC_ERR_MODEL;
  }
  long states = out->states;
  bool feasible;
  int *bdev = out->block_device;
  out->block_device = NULL;
  st = ec_tree_eval(p, bdev, out, &feasible);
  free(bdev);
  out->states = states;
  if (!st && !feasible) {
    ec_tree_plan_free(out);
    ec_diag_set(d, "", "", "internal: the joint plan's placement does not fit");
    return EC_ERR_INTERNAL;
  }
  return st;
}

ec_status ec_tree_eval(const ec_tree_problem *p, const int *bdev, ec_tree_plan *out, bool *feasible) {
  memset(out, 0, sizeof *out);
  int B = p->n_blocks, D = p->n_devices;
  out->block_device = malloc(sizeof(int) * (size_t)B);
  double *load = calloc((size_t)D * (D + 1), sizeof(double)), *arena = calloc((size_t)D, sizeof(double));
  int *nch = calloc((size_t)B, sizeof(int));
  if (!out->block_device || !load || !arena || !nch) {
    free(load), free(arena), free(nch);
    ec_tree_plan_free(out);
    return EC_ERR_INTERNAL;
  }
  memcpy(out->block_device, bdev, sizeof(int) * (size_t)B);
  *feasible = true;
  for (int b = 0; b < B; b++)
    if (p->parent[b] >= 0) nch[p->parent[b]]++;
  int leaf_dev = -1;
  for (int b = 0; b < B; b++) {
    int d = bdev[b], pa = p->parent[b];
    if (d < 0 || d >= D) {
      *feasible = false;
      continue;
    }
    double c = p->compute[(size_t)b * D + d], n = need_of(p, b);
    if (isinf(c)) *feasible = false;
    out->latency += n * c;
    load[d] += n * c;
    out->memory[d] += val(p->weight_bytes, b) + val(p->out_bytes, b);
    if (val(p->arena_bytes, b) > arena[d]) arena[d] = val(p->arena_bytes, b);
    if (pa < 0) out->memory[d] += val(p->recv_bytes, b);
    else if (bdev[pa] != d) {
      int e = bdev[pa];
      if (e > d) *feasible = false;
      if (e >= 0 && e < D) {
        double x = n * p->edge_ms[((size_t)b * D + e) * D + d];
        out->latency += x;
        load[D + e * D + d] += x;
        out->memory[e] += val(p->send_bytes, b);
      }
      out->memory[d] += val(p->recv_bytes, b);
    }
    if (nch[b] == 0 && p->leaves_together) {
      if (leaf_dev >= 0 && leaf_dev != d) *feasible = false;
      leaf_dev = d;
    }
  }
  for (int d = 0; d < D; d++) {
    out->memory[d] += arena[d];
    if (out->memory[d] > cap_of(p, d)) *feasible = false;
  }
  for (int i = 0; i < D * (D + 1); i++)
      if (load[i] > out->bottleneck) out->bottleneck = load[i];
  free(load), free(arena), free(nch);
  return EC_OK;
}

void ec_tree_plan_free(ec_tree_plan *p) {
  free(p->block_device);
  memset(p, 0, sizeof *p);
}
