/* cluster.c — task clustering of one partition (cluster.h): distance-to-end, linear clustering
 * along critical paths, merging under the thread budget, the makespan of a clustering; and the
 * planner's side, which builds that problem per partition from the graph and the cost model. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "cost.h"
#include "plan.h"

/* Incoming and outgoing edges per task, as index lists (CSR). */
typedef struct adj {
  int *in_off, *in_e, *out_off, *out_e;
} adj;

static void adj_free(adj *a) {
  free(a->in_off), free(a->in_e), free(a->out_off), free(a->out_e);
  memset(a, 0, sizeof *a);
}

static bool adj_make(const ec_cluster_problem *p, adj *a) {
  memset(a, 0, sizeof *a);
  a->in_off = ec_alloc(sizeof(int) * (size_t)(p->n + 2));
  a->out_off = ec_alloc(sizeof(int) * (size_t)(p->n + 2));
  a->in_e = ec_alloc(sizeof(int) * (size_t)(p->n_edges + 1));
  a->out_e = ec_alloc(sizeof(int) * (size_t)(p->n_edges + 1));
  if (!a->in_off || !a->out_off || !a->in_e || !a->out_e) {
    adj_free(a);
    return false;
  }
  for (int e = 0; e < p->n_edges; e++) a->in_off[p->dst[e] + 1]++, a->out_off[p->src[e] + 1]++;
  for (int v = 0; v < p->n; v++) a->in_off[v + 1] += a->in_off[v], a->out_off[v + 1] += a->out_off[v];
  int *fi = ec_alloc(sizeof(int) * (size_t)(p->n + 1)), *fo = ec_alloc(sizeof(int) * (size_t)(p->n + 1));
  if (!fi || !fo) {
    free(fi), free(fo);
    adj_free(a);
    return false;
  }
  /* Edges in input order within each list: the ties below depend on nothing else. */
  for (int e = 0; e < p->n_edges; e++) {
    a->in_e[a->in_off[p->dst[e]] + fi[p->dst[e]]++] = e;
    a->out_e[a->out_off[p->src[e]] + fo[p->src[e]]++] = e;
  }
  free(fi), free(fo);
  return true;
}

static void dte_with(const ec_cluster_problem *p, const adj *a, double *out) {
  for (int v = p->n - 1; v >= 0; v--) {
    double best = 0;
    for (int k = a->out_off[v]; k < a->out_off[v + 1]; k++) {
      int e = a->out_e[k];
      double x = p->cost[e] + out[p->dst[e]];
      if (x > best) best = x;
    }
    out[v] = p->weight[v] + best;
  }
}

void ec_cluster_dte(const ec_cluster_problem *p, double *out) {
  adj a;
  if (!adj_make(p, &a)) {
    for (int v = 0; v < p->n; v++) out[v] = NAN;
    return;
  }
  dte_with(p, &a, out);
  adj_free(&a);
}

/* The makespan with scratch given: finish (n) and free_at (one per label, labels < n). */
static double makespan_with(const ec_cluster_problem *p, const adj *a, const int *cl, double *finish,
                            double *free_at) {
  for (int v = 0; v < p->n; v++) free_at[cl[v]] = 0;
  double end = 0;
  for (int v = 0; v < p->n; v++) {
    double start = free_at[cl[v]];
    for (int k = a->in_off[v]; k < a->in_off[v + 1]; k++) {
      int e = a->in_e[k], u = p->src[e];
      double ready = finish[u] + (cl[u] != cl[v] ? p->cost[e] : 0);
      if (ready > start) start = ready;
    }
    finish[v] = start + p->weight[v];
    free_at[cl[v]] = finish[v];
    if (finish[v] > end) end = finish[v];
  }
  return end;
}

double ec_cluster_makespan(const ec_cluster_problem *p, const int *cluster) {
  adj a;
  double *finish = ec_alloc(sizeof(double) * (size_t)(p->n + 1));
  double *free_at = ec_alloc(sizeof(double) * (size_t)(p->n + 1));
  double r = -1;
  if (finish && free_at && adj_make(p, &a)) {
    r = makespan_with(p, &a, cluster, finish, free_at);
    adj_free(&a);
  }
  free(finish), free(free_at);
  return r;
}

/* The next task of cluster c after task v (n: none left). */
static int next_of(const int *cl, int n, int c, int v) {
  for (v++; v < n && cl[v] != c; v++) {
  }
  return v;
}

/* Teams with the adjacency given (ec_cluster_teams). */
static bool teams_with(const ec_cluster_problem *p, const adj *a, const int *cl, int threads, const double *wt,
                       int *team) {
  int n = p->n, k = 0;
  if (!p->team) {
    for (int v = 0; v < n; v++) team[v] = 0;
    return true;
  }
  for (int v = 0; v < n; v++)
    if (cl[v] + 1 > k) k = cl[v] + 1;
  size_t nk = (size_t)n * (size_t)k + 1;
  /* pos: a task's place in its cluster's order; bef[v * k + c]: the last task of cluster c that
   * happens before v (-1: none), aft: the first that v happens before (len[c]: none). The order:
   * the hand-offs' edges and each cluster's program order. */
  int *pos = ec_alloc(sizeof(int) * (size_t)(n + 1)), *len = ec_alloc(sizeof(int) * (size_t)(k + 1));
  int *prev = ec_alloc(sizeof(int) * (size_t)(n + 1)), *next = ec_alloc(sizeof(int) * (size_t)(n + 1));
  int *last = ec_alloc(sizeof(int) * (size_t)(k + 1));
  int *bef = ec_alloc(sizeof(int) * nk), *aft = ec_alloc(sizeof(int) * nk);
  bool ok = pos && len && prev && next && last && bef && aft;
  for (int c = 0; ok && c < k; c++) len[c] = 0, last[c] = -1;
  for (int v = 0; ok && v < n; v++) {
    int c = cl[v];
    pos[v] = len[c]++;
    prev[v] = last[c];
    next[v] = -1;
    if (last[c] >= 0) next[last[c]] = v;
    last[c] = v;
  }
  for (int v = 0; ok && v < n; v++) {
    int *b = bef + (size_t)v * (size_t)k;
    for (int c = 0; c < k; c++) b[c] = -1;
    for (int j = a->in_off[v]; j <= a->in_off[v + 1]; j++) {
      int u = j < a->in_off[v + 1] ? p->src[a->in_e[j]] : prev[v];
      if (u < 0) continue;
      const int *bu = bef + (size_t)u * (size_t)k;
      for (int c = 0; c < k; c++)
        if (bu[c] > b[c]) b[c] = bu[c];
      if (pos[u] > b[cl[u]]) b[cl[u]] = pos[u];
    }
  }
  for (int v = n - 1; ok && v >= 0; v--) {
    int *f = aft + (size_t)v * (size_t)k;
    for (int c = 0; c < k; c++) f[c] = len[c];
    for (int j = a->out_off[v]; j <= a->out_off[v + 1]; j++) {
      int w = j < a->out_off[v + 1] ? p->dst[a->out_e[j]] : next[v];
      if (w < 0) continue;
      const int *fw = aft + (size_t)w * (size_t)k;
      for (int c = 0; c < k; c++)
        if (fw[c] < f[c]) f[c] = fw[c];
      if (pos[w] < f[cl[w]]) f[cl[w]] = pos[w];
    }
  }
  for (int v = 0; ok && v < n; v++) {
    team[v] = 0;
    if (!p->team || !p->team[v]) continue;
    /* Clusters with a task neither before nor after v: they may run beside it. */
    int r = 1;
    for (int c = 0; c < k; c++)
      r += c != cl[v] && aft[(size_t)v * (size_t)k + (size_t)c] - bef[(size_t)v * (size_t)k + (size_t)c] > 1;
    int cap = threads / r > 1 ? threads / r : 1, best = cap;
    /* The fastest team up to the cap, the fewest threads among equals. */
    for (int t = cap - 1; wt && t >= 1; t--)
      if (wt[(size_t)(t - 1) * (size_t)n + (size_t)v] <= wt[(size_t)(best - 1) * (size_t)n + (size_t)v]) best = t;
    team[v] = best;
  }
  free(pos), free(len), free(prev), free(next), free(last), free(bef), free(aft);
  return ok;
}

int ec_cluster_teams(const ec_cluster_problem *p, const int *cluster, int threads, const double *wt, int *team) {
  adj a;
  if (threads < 1) threads = 1;
  if (!adj_make(p, &a)) return -1;
  bool ok = teams_with(p, &a, cluster, threads, wt, team);
  adj_free(&a);
  return ok ? 0 : -1;
}

double ec_cluster_makespan_pool(const ec_cluster_problem *p, const int *cl, int threads, const double *wt) {
  int n = p->n, k = 0;
  if (n == 0) return 0;
  if (threads < 1) threads = 1;
  for (int v = 0; v < n; v++)
    if (cl[v] + 1 > k) k = cl[v] + 1;
  adj a;
  double *finish = ec_alloc(sizeof(double) * (size_t)n), *rem = ec_alloc(sizeof(double) * (size_t)k);
  int *cur = ec_alloc(sizeof(int) * (size_t)k), *run = ec_alloc(sizeof(int) * (size_t)k);
  int *th = ec_alloc(sizeof(int) * (size_t)k), *team = ec_alloc(sizeof(int) * (size_t)n);
  uint8_t *started = ec_alloc((size_t)k);
  double now = -1;
  if (!finish || !rem || !cur || !run || !th || !team || !started || !adj_make(p, &a)) goto out;
  if (!teams_with(p, &a, cl, threads, wt, team)) {
    adj_free(&a);
    goto out;
  }
  now = 0;
  for (int v = 0; v < n; v++) finish[v] = -1;
  for (int c = 0; c < k; c++) cur[c] = next_of(cl, n, c, -1), rem[c] = 1, started[c] = 0;
  for (int left = n; left > 0;) {
    /* Which clusters run a task now; when the next waiting one may start. */
    int nrun = 0;
    double next_ready = INFINITY;
    for (int c = 0; c < k; c++) {
      int v = cur[c];
      if (v >= n) continue;
      if (!started[c]) {
        double r = 0;
        bool ok = true;
        for (int j = a.in_off[v]; ok && j < a.in_off[v + 1]; j++) {
          int e = a.in_e[j], u = p->src[e];
          if (finish[u] < 0) ok = false;
          else if (finish[u] + (cl[u] != c ? p->cost[e] : 0) > r) r = finish[u] + (cl[u] != c ? p->cost[e] : 0);
        }
        if (!ok) continue;
        if (r > now) {
          if (r < next_ready) next_ready = r;
          continue;
        }
        started[c] = 1;
      }
      run[nrun++] = c;
    }
    if (nrun == 0) {
      now = next_ready; /* finite: a task only waits for tasks of lower index */
      continue;
    }
    /* Each running task has its cluster's thread, a task on a fixed team (oneDNN's OpenMP) the
     * team's threads; the others go one at a time where they save the most time (none to a task
     * that cannot use them, nor to a fixed team: the pool cannot lend it threads). */
    int extra = threads;
    for (int i = 0; i < nrun; i++) th[run[i]] = team[cur[run[i]]] > 0 ? team[cur[run[i]]] : 1, extra -= th[run[i]];
    for (; extra > 0; extra--) {
      int pick = -1;
      double gain = 0;
      for (int i = 0; i < nrun; i++) {
        int c = run[i], v = cur[c];
        if (th[c] >= threads || team[v] > 0) continue;
        double d = rem[c] * (wt[(size_t)(th[c] - 1) * (size_t)n + (size_t)v] - wt[(size_t)th[c] * (size_t)n + (size_t)v]);
        if (d > gain) gain = d, pick = c;
      }
      if (pick < 0) break;
      th[pick]++;
    }
    double dt = next_ready - now;
    for (int i = 0; i < nrun; i++) {
      int c = run[i];
      double d = rem[c] * wt[(size_t)(th[c] - 1) * (size_t)n + (size_t)cur[c]];
      if (d < dt) dt = d;
    }
    now += dt;
    for (int i = 0; i < nrun; i++) {
      int c = run[i], v = cur[c];
      double w = wt[(size_t)(th[c] - 1) * (size_t)n + (size_t)v];
      rem[c] = w > 0 ? rem[c] - dt / w : 0;
      if (rem[c] > 1e-9) continue;
      finish[v] = now;
      started[c] = 0;
      rem[c] = 1;
      cur[c] = next_of(cl, n, c, v);
      left--;
    }
  }
  adj_free(&a);
out:
  free(finish), free(rem), free(cur), free(run), free(th), free(team), free(started);
  return now;
}

/* Labels renumbered 0..k-1 by their first task; returns k. */
static int renumber(int n, int *cl, int *map) {
  for (int v = 0; v < n; v++) map[v] = -1;
  int k = 0;
  for (int v = 0; v < n; v++) {
    if (map[cl[v]] < 0) map[cl[v]] = k++;
    cl[v] = map[cl[v]];
  }
  return k;
}

void ec_cluster_result_free(ec_cluster_result *r) {
  free(r->cluster), free(r->dte), free(r->cluster_ms), free(r->linear);
  memset(r, 0, sizeof *r);
}

ec_status ec_cluster_solve(const ec_cluster_problem *p, ec_cluster_result *r) {
  memset(r, 0, sizeof *r);
  for (int e = 0; e < p->n_edges; e++)
    if (p->src[e] < 0 || p->dst[e] >= p->n || p->src[e] >= p->dst[e]) return EC_ERR_USAGE;
  int n = p->n;
  size_t sz = (size_t)(n + 1);
  r->cluster = ec_alloc(sizeof(int) * sz);
  r->dte = ec_alloc(sizeof(double) * sz);
  r->cluster_ms = ec_alloc(sizeof(double) * sz);
  r->linear = ec_alloc(sizeof(int) * sz);
  int *cl = ec_alloc(sizeof(int) * sz), *best = ec_alloc(sizeof(int) * sz), *map = ec_alloc(sizeof(int) * sz);
  double *work = ec_alloc(sizeof(double) * sz), *hand = ec_alloc(sizeof(double) * sz);
  double *finish = ec_alloc(sizeof(double) * sz), *free_at = ec_alloc(sizeof(double) * sz);
  adj a;
  memset(&a, 0, sizeof a);
  ec_status st = EC_OK;
  if (!r->cluster || !r->dte || !r->cluster_ms || !r->linear || !cl || !best || !map || !work || !hand || !finish || !free_at ||
      !adj_make(p, &a)) {
    st = EC_ERR_INTERNAL;
    goto done;
  }
  for (int v = 0; v < n; v++) r->serial_ms += p->weight[v];
  r->baseline_ms = p->baseline_ms > 0 ? p->baseline_ms : r->serial_ms;
  dte_with(p, &a, r->dte);

  /* Linear clustering: each path follows the critical successor among the unclustered tasks. */
  for (int v = 0; v < n; v++) cl[v] = -1;
  int k = 0;
  for (;;) {
    int s = -1;
    for (int v = 0; v < n; v++)
      if (cl[v] < 0 && (s < 0 || r->dte[v] > r->dte[s])) s = v;
    if (s < 0) break;
    for (int v = s; v >= 0;) {
      cl[v] = k;
      int next = -1;
      double nb = -1;
      for (int j = a.out_off[v]; j < a.out_off[v + 1]; j++) {
        int e = a.out_e[j], w = p->dst[e];
        double x = p->cost[e] + r->dte[w];
        if (cl[w] < 0 && (x > nb || (x == nb && w < next))) next = w, nb = x;
      }
      v = next;
    }
    k++;
  }
  r->n_linear = k;
  memcpy(r->linear, cl, sizeof(int) * (size_t)n);
  k = renumber(n, cl, map);

  /* Merging: clusters over the budget, or whose work is less than the hand-offs they pay, go
   * into the cluster that keeps the makespan shortest. */
  int budget = p->max_clusters > 0 ? p->max_clusters : 1;
  for (;;) {
    for (int c = 0; c < k; c++) work[c] = hand[c] = 0;
    for (int v = 0; v < n; v++) work[cl[v]] += p->weight[v];
    for (int e = 0; e < p->n_edges; e++)
      if (cl[p->src[e]] != cl[p->dst[e]]) hand[cl[p->src[e]]] += p->cost[e], hand[cl[p->dst[e]]] += p->cost[e];
    int pick = -1;
    bool unpaid = false;
    for (int c = 0; k > 1 && c < k; c++) {
      bool u = work[c] < hand[c];
      if (u && (!unpaid || work[c] < work[pick])) pick = c, unpaid = true;
      else if (!unpaid && k > budget && (pick < 0 || work[c] < work[pick])) pick = c;
    }
    if (pick < 0) break;
    int into = -1;
    double bm = INFINITY;
    for (int c = 0; c < k; c++) {
      if (c == pick) continue;
      for (int v = 0; v < n; v++) best[v] = cl[v] == pick ? c : cl[v];
      double m = makespan_with(p, &a, best, finish, free_at);
      if (m < bm) bm = m, into = c;
    }
    for (int v = 0; v < n; v++)
      if (cl[v] == pick) cl[v] = into;
    k = renumber(n, cl, map);
  }
  /* Then any merge of two clusters that shortens the makespan (few clusters are left). */
  double ms = makespan_with(p, &a, cl, finish, free_at);
  for (bool again = k > 1; again;) {
    again = false;
    int bi = -1, bj = -1;
    double bm = ms;
    for (int i = 0; i < k; i++)
      for (int j = i + 1; j < k; j++) {
        for (int v = 0; v < n; v++) best[v] = cl[v] == j ? i : cl[v];
        double m = makespan_with(p, &a, best, finish, free_at);
        if (m < bm) bm = m, bi = i, bj = j;
      }
    if (bi >= 0) {
      for (int v = 0; v < n; v++)
        if (cl[v] == bj) cl[v] = bi;
      k = renumber(n, cl, map);
      ms = bm;
      again = k > 1;
    }
  }
  /* Then single tasks moved to another cluster while that shortens the makespan: linear
   * clustering keeps the heaviest branch of every block on the critical path's cluster, and
   * moving its nodes off balances the threads. Best move first, ties to the lowest task. */
  for (int it = 0; k > 1 && it < 4 * n; it++) {
    int bv = -1, bc = -1;
    double bm = ms;
    for (int v = 0; v < n; v++) {
      int own = cl[v];
      for (int c = 0; c < k; c++) {
        if (c == own) continue;
        cl[v] = c;
        double m = makespan_with(p, &a, cl, finish, free_at);
        if (m < bm - 1e-12) bm = m, bv = v, bc = c;
      }
      cl[v] = own;
    }
    if (bv < 0) break;
    cl[bv] = bc;
    ms = bm;
    k = renumber(n, cl, map);
    if (k < 2) break;
  }
  r->clustered_ms = k > 1 ? ms : 0;
  /* Clustering must never make the model slower: a small predicted gain is not worth it. */
  if (k > 1 && ms * (1 + p->min_gain) > r->baseline_ms) {
    for (int v = 0; v < n; v++) cl[v] = 0;
    k = 1;
  }
  r->n_clusters = n ? k : 1;
  r->makespan_ms = k > 1 ? ms : r->serial_ms;
  memcpy(r->cluster, cl, sizeof(int) * (size_t)n);
  for (int v = 0; v < n; v++) r->cluster_ms[cl[v]] += p->weight[v];
done:
  adj_free(&a);
  free(cl), free(best), free(map), free(work), free(hand), free(finish), free(free_at);
  if (st) ec_cluster_result_free(r);
  return st;
}

/* Root of task v in the union-find `up` (path halving). */
static int find_root(int *up, int v) {
  while (up[v] != v) v = up[v] = up[up[v]];
  return v;
}

double ec_cluster_refine_pool(const ec_cluster_problem *p, int *cl, int threads, const double *wt) {
  int n = p->n;
  size_t sz = (size_t)(n + 1);
  int *up = ec_alloc(sizeof(int) * sz), *map = ec_alloc(sizeof(int) * sz), *tmp = ec_alloc(sizeof(int) * sz);
  double best = -1;
  if (!up || !map || !tmp) goto out;
  best = ec_cluster_makespan_pool(p, cl, threads, wt);
  for (int it = 0; best >= 0 && it < n; it++) {
    int k = 0;
    for (int v = 0; v < n; v++) {
      up[v] = v;
      if (cl[v] + 1 > k) k = cl[v] + 1;
    }
    if (k < 2) break;
    /* Groups: tasks of one cluster joined by an edge inside it; the root is the lowest task. */
    for (int e = 0; e < p->n_edges; e++)
      if (cl[p->src[e]] == cl[p->dst[e]]) {
        int a = find_root(up, p->src[e]), b = find_root(up, p->dst[e]);
        if (a != b) up[a > b ? a : b] = a < b ? a : b;
      }
    int bg = -1, bc = -1;
    double bm = best;
    for (int g = 0; g < n; g++) {
      if (find_root(up, g) != g) continue;
      for (int c = 0; c < k; c++) {
        if (c == cl[g]) continue;
        for (int v = 0; v < n; v++) tmp[v] = find_root(up, v) == g ? c : cl[v];
        double m = ec_cluster_makespan_pool(p, tmp, threads, wt);
        if (m < 0) {
          best = -1;
          goto out;
        }
        if (m < bm - 1e-9 * bm) bm = m, bg = g, bc = c;
      }
    }
    if (bg < 0) break;
    for (int v = 0; v < n; v++)
      if (find_root(up, v) == bg) cl[v] = bc;
    renumber(n, cl, map);
    best = bm;
  }
out:
  free(up), free(map), free(tmp);
  return best;
}

/* ---- the planner's side ---------------------------------------------------------------------- */

const char *ec_parallel_name(int parallel) {
  return parallel == EC_PAR_INTRA ? "intra" : parallel == EC_PAR_INTER ? "inter" : "auto";
}

int ec_parallel_from_name(const char *s) {
  if (strcmp(s, "auto") == 0) return EC_PAR_AUTO;
  if (strcmp(s, "intra") == 0) return EC_PAR_INTRA;
  if (strcmp(s, "inter") == 0) return EC_PAR_INTER;
  return -1;
}

static double value_bytes(const ec_tensor *t) {
  int64_t n = ec_tensor_numel(t);
  return n < 0 ? 0 : (double)n * (double)ec_dtype_size(t->dtype);
}

/* The partition as a clustering problem: its nodes in schedule (topological) order, an edge per
 * activation a node reads from another node of the partition, costing a hand-off: the target's
 * synchronisation plus a cache-cold read of the tensor at the memory bandwidth (no target: the
 * edges only, costing nothing). */
typedef struct part_graph {
  int n, n_edges;
  int *src, *dst;
  double *cost, *w;
} part_graph;

static void part_graph_free(part_graph *pg) {
  free(pg->src), free(pg->dst), free(pg->cost), free(pg->w);
  memset(pg, 0, sizeof *pg);
}

static ec_status part_graph_make(const ec_graph *g, const ec_part *part, const ec_target *t, part_graph *pg) {
  memset(pg, 0, sizeof *pg);
  int *pos = ec_alloc(sizeof(int) * (size_t)(g->n_nodes + 1));
  int ne = 0;
  for (int s = 0; s < part->n_nodes; s++) ne += g->nodes[part->nodes[s]].n_inputs;
  pg->src = ec_alloc(sizeof(int) * (size_t)(ne + 1));
  pg->dst = ec_alloc(sizeof(int) * (size_t)(ne + 1));
  pg->cost = ec_alloc(sizeof(double) * (size_t)(ne + 1));
  pg->w = ec_alloc(sizeof(double) * (size_t)(part->n_nodes + 1));
  if (!pos || !pg->src || !pg->dst || !pg->cost || !pg->w) {
    free(pos);
    part_graph_free(pg);
    return EC_ERR_INTERNAL;
  }
  for (int i = 0; i < g->n_nodes; i++) pos[i] = -1;
  for (int s = 0; s < part->n_nodes; s++) pos[part->nodes[s]] = s;
  pg->n = part->n_nodes;
  double sync_ms = t ? t->sync_us * 1e-3 : 0, bw = t && t->mem_gbps > 0 ? t->mem_gbps * 1e9 : 1e12;
  for (int s = 0; s < part->n_nodes; s++) {
    const ec_node *n = &g->nodes[part->nodes[s]];
    for (int c = 0; c < n->n_inputs; c++) {
      int tt = n->inputs[c];
      if (tt < 0 || g->tensors[tt].kind == EC_TK_CONSTANT) continue;
      int pr = g->tensors[tt].producer;
      if (pr < 0 || pos[pr] < 0 || pos[pr] >= s) continue;
      pg->src[pg->n_edges] = pos[pr];
      pg->dst[pg->n_edges] = s;
      pg->cost[pg->n_edges++] = sync_ms + value_bytes(&g->tensors[tt]) / bw * 1e3;
    }
  }
  free(pos);
  return EC_OK;
}

/* The profiles of device `dev` matched with the graph (at most EC_MAX_DEVICES): every profile of
 * the set for that device, else the device's one in o->profiles. */
typedef struct dev_profiles {
  ec_profile_match m[EC_MAX_DEVICES];
  int threads[EC_MAX_DEVICES];
  int n;
} dev_profiles;

static void dev_profiles_free(dev_profiles *dp) {
  for (int i = 0; i < dp->n; i++) ec_profile_match_free(&dp->m[i]);
  dp->n = 0;
}

static ec_status dev_profiles_make(const ec_graph *g, const ec_device_list *devs, const ec_plan_opts *o, int v,
                                   int cores, dev_profiles *dp) {
  memset(dp, 0, sizeof *dp);
  const ec_profile *list[EC_MAX_DEVICES];
  int n = 0;
  for (int i = 0; o->profile_set && i < o->profile_set->n; i++)
    if (strcmp(o->profile_set->items[i].device, devs->items[v].name) == 0) list[n++] = &o->profile_set->items[i];
  if (!n && o->profiles && o->profiles[v]) list[n++] = o->profiles[v];
  for (int i = 0; i < n; i++) {
    ec_status st = ec_profile_match_graph(list[i], g, &dp->m[dp->n]);
    if (st) {
      dev_profiles_free(dp);
      return st;
    }
    /* A profile that did not record its threads ran the program's default: the target's cores. */
    dp->threads[dp->n++] = list[i]->threads > 0 ? list[i]->threads : cores;
  }
  return EC_OK;
}

/* The model's time of a node on k threads: the cost model's, plus, when the node splits across
 * the pool (it is faster on k threads than on one), one synchronisation of the pool per operator
 * (the target's sync_us): small operators split poorly, which is where branches side by side pay. */
static double model_ms(const ec_graph *g, const ec_node *n, const ec_target *t, int k, unsigned klib) {
  double ms = ec_cost_node(g, n, t, k, klib).ms;
  if (k > 1 && ms < ec_cost_node(g, n, t, 1, klib).ms) ms += t->sync_us * 1e-3;
  return ms;
}

/* wt[(k - 1) * n + s]: node s's time on k threads (k = 1..tt). A node measured at k threads (a
 * profile of that thread count) takes its measured time; measured at other thread counts only,
 * the first such measurement scaled by the model's ratio between the two; never measured, the
 * model's (model_ms). plain (n): the time on tt threads as the partition DP costs it (measured at
 * the plan's thread count, else the cost model's), so the clusters' prediction can replace it. */
static void node_weights(const ec_graph *g, const ec_part *part, const ec_target *t, int tt, unsigned klib,
                         const dev_profiles *dp, double *wt, double *plain) {
  int n = part->n_nodes;
  for (int s = 0; s < n; s++) {
    int i = part->nodes[s];
    const ec_node *nd = &g->nodes[i];
    int any = -1;
    for (int j = 0; j < dp->n; j++)
      if (dp->m[j].node_ms && dp->m[j].node_ms[i] >= 0 && any < 0) any = j;
    for (int k = 1; k <= tt; k++) {
      double m = model_ms(g, nd, t, k, klib), x = m;
      int at = -1;
      for (int j = 0; j < dp->n; j++)
        if (at < 0 && dp->threads[j] == k && dp->m[j].node_ms && dp->m[j].node_ms[i] >= 0) at = j;
      if (at >= 0)
        x = dp->m[at].node_ms[i];
      else if (any >= 0) {
        double mj = model_ms(g, nd, t, dp->threads[any], klib);
        x = mj > 0 ? dp->m[any].node_ms[i] * m / mj : m;
      }
      wt[(size_t)(k - 1) * (size_t)n + (size_t)s] = x;
    }
    plain[s] = ec_cost_node(g, nd, t, tt, klib).ms;
    for (int j = 0; j < dp->n; j++)
      if (dp->threads[j] == tt && dp->m[j].node_ms && dp->m[j].node_ms[i] >= 0) {
        plain[s] = dp->m[j].node_ms[i];
        break;
      }
  }
}

static double sum(const double *w, int n) {
  double x = 0;
  for (int i = 0; i < n; i++) x += w[i];
  return x;
}

/* Does node i run on oneDNN on target t (its OpenMP team fixed when the primitive is created)?
 * The family the pipeline will record for it (pipeline.c's record: --kernels onednn, the
 * target's default order, a --tuning file of this target), asked of lowering. */
static bool runs_dnnl(const ec_graph *g, int i, const ec_target *t, unsigned klib, const ec_plan_opts *o) {
  if (klib != EC_KLIB_XNNPACK) return false;
  ec_kernel_family fam = EC_KF_XNNPACK;
  if (o->onednn == 1 && ec_target_has_kernels(t, EC_KLIB_ONEDNN)) fam = EC_KF_ONEDNN;
  if (o->onednn == 2 && ec_target_onednn_default(t)) fam = EC_KF_ONEDNN_DEFAULT;
  if (o->tuning_target && strcmp(o->tuning_target, t->name) == 0 && g->nodes[i].tuned != EC_KF_UNSET)
    fam = g->nodes[i].tuned;
  return fam != EC_KF_XNNPACK && fam != EC_KF_REF && ec_cost_runs_dnnl(g, i, fam);
}

/* Threads the planner models a partition on: the runtime's pools and clusters take at most 64. */
#define MAX_THREADS 64

/* Clusters one partition. intra keeps one. inter and auto cluster for k threads' worth of
 * branches (inter: k = threads; auto: every k from 2 to threads), each clustering made by
 * ec_cluster_solve with one-thread weights and with all-thread weights, and predicted as the
 * generated code runs it: every cluster on a thread of its own, all threads sharing one kernel
 * pool, each oneDNN step (runs_dnnl) on its own OpenMP team instead (ec_cluster_makespan_pool,
 * ec_cluster_teams; the teams of the chosen clustering are recorded). auto then refines each
 * for that pool (ec_cluster_refine_pool: per block, branches side by side or the block as a
 * stretch on every thread, whichever the per-node times at 1..threads threads predict
 * faster): its own candidates, which inter does not have. The fastest prediction is kept when it is EC_PAR_MIN_GAIN faster than what the mode
 * competes with: inter the whole partition on one thread, auto the intra-op program with every
 * thread. Returns through *plain_ms the partition's time as the DP costed it. */
static ec_status cluster_part(const ec_graph *g, const ec_target *t, unsigned klib, const ec_plan_opts *o,
                              int threads, const dev_profiles *dp, ec_plan_part *q, double *plain_ms) {
  int mode = o->parallel;
  part_graph pg;
  ec_status st = part_graph_make(g, &q->part, t, &pg);
  if (st) return st;
  int n = pg.n, tt = threads < 1 ? 1 : threads > MAX_THREADS ? MAX_THREADS : threads;
  double *wt = ec_alloc(sizeof(double) * (size_t)n * (size_t)tt + sizeof(double));
  double *plain = ec_alloc(sizeof(double) * (size_t)(n + 1));
  int *chosen = ec_alloc(sizeof(int) * (size_t)(n + 1)), *cand = ec_alloc(sizeof(int) * (size_t)(n + 1));
  int *team = ec_alloc(sizeof(int) * (size_t)(n + 1));
  uint8_t *fixed = ec_alloc((size_t)n + 1);
  bool any_fixed = false;
  q->node_cluster = ec_alloc(sizeof(int) * (size_t)(g->n_nodes + 1));
  q->node_team = ec_alloc(sizeof(int) * (size_t)(g->n_nodes + 1));
  if (!wt || !plain || !chosen || !cand || !team || !fixed || !q->node_cluster || !q->node_team) st = EC_ERR_INTERNAL;
  for (int s = 0; !st && s < n; s++) any_fixed |= fixed[s] = runs_dnnl(g, q->part.nodes[s], t, klib, o);
  q->threads = threads;
  q->n_clusters = 1;
  q->cluster_threads = klib == EC_KLIB_REF ? 1 : threads; /* the reference kernels run on one */
  if (!st) node_weights(g, &q->part, t, tt, klib, dp, wt, plain);
  const double *w1 = wt, *wall = wt + (size_t)(tt - 1) * (size_t)n;
  if (!st) {
    q->sequential_ms = sum(w1, n);
    q->intra_ms = sum(wall, n);
    q->clustered_ms = q->intra_ms;
    *plain_ms = sum(plain, n);
  }
  double base = mode == EC_PAR_INTER ? q->sequential_ms : q->intra_ms, best = INFINITY;
  for (int k = 2; !st && mode != EC_PAR_INTRA && k <= tt; k++) {
    if (mode == EC_PAR_INTER && k < tt) continue;
    for (int wi = 0; !st && wi < (tt > 1 ? 2 : 1); wi++) {
      ec_cluster_problem cp = {n, wi ? wall : w1, pg.n_edges, pg.src, pg.dst, pg.cost, k, 0, INFINITY,
                               any_fixed ? fixed : NULL};
      ec_cluster_result r;
      st = ec_cluster_solve(&cp, &r);
      if (st) break;
      if (!q->n_linear) q->n_linear = r.n_linear;
      for (int pass = 0; !st && r.n_clusters > 1 && pass < (mode == EC_PAR_AUTO ? 2 : 1); pass++) {
        memcpy(cand, r.cluster, sizeof(int) * (size_t)n);
        double m = pass ? ec_cluster_refine_pool(&cp, cand, tt, wt) : ec_cluster_makespan_pool(&cp, cand, tt, wt);
        if (m < 0) st = EC_ERR_INTERNAL;
        int kc = 0;
        for (int s = 0; s < n; s++) kc = cand[s] + 1 > kc ? cand[s] + 1 : kc;
        if (!st && kc > 1 && m < best) {
          best = m;
          q->best_clusters_ms = m;
          q->n_clusters = kc;
          memcpy(chosen, cand, sizeof(int) * (size_t)n);
        }
      }
      ec_cluster_result_free(&r);
    }
  }
  /* Clustering must never make the model slower: a small predicted gain is not worth it. */
  if (!st && q->n_clusters > 1 && best * (1 + EC_PAR_MIN_GAIN) > base) q->n_clusters = 1;
  if (!st && q->n_clusters > 1) {
    q->clustered_ms = best;
    q->cluster_threads = 1;
  } else if (!st) {
    q->n_clusters = 1;
    memset(chosen, 0, sizeof(int) * (size_t)(n + 1));
  }
  free(q->cluster_ms);
  q->cluster_ms = st ? NULL : ec_alloc(sizeof(double) * (size_t)(q->n_clusters + 1));
  if (!st && !q->cluster_ms) st = EC_ERR_INTERNAL;
  if (!st) {
    /* A cluster's work: its nodes' times on one thread (the intra time with one cluster). */
    for (int s = 0; s < n; s++) q->cluster_ms[chosen[s]] += q->n_clusters > 1 ? w1[s] : wall[s];
    for (int i = 0; i < g->n_nodes; i++) q->node_cluster[i] = -1, q->node_team[i] = 0;
    for (int s = 0; s < n; s++) q->node_cluster[q->part.nodes[s]] = chosen[s];
    /* Each oneDNN step's OpenMP team as the prediction ran it (codegen creates and runs the
     * primitive on it). */
    ec_cluster_problem cp = {n, w1, pg.n_edges, pg.src, pg.dst, pg.cost, tt, 0, 0, any_fixed ? fixed : NULL};
    if (q->n_clusters > 1 && ec_cluster_teams(&cp, chosen, tt, wt, team)) st = EC_ERR_INTERNAL;
    for (int s = 0; !st && q->n_clusters > 1 && s < n; s++) q->node_team[q->part.nodes[s]] = team[s];
  }
  free(wt), free(plain), free(chosen), free(cand), free(team), free(fixed);
  part_graph_free(&pg);
  return st;
}

ec_status ec_plan_clusters(const ec_graph *g, const ec_device_list *devs, const ec_plan_opts *o, ec_plan *p) {
  ec_status st = EC_OK;
  p->profile_set = o->profile_set;
  double old_bottleneck = 0;
  for (int k = 0; k < p->n_parts; k++) {
    double b = p->parts[k].compute_ms > p->parts[k].transfer_ms ? p->parts[k].compute_ms : p->parts[k].transfer_ms;
    if (b > old_bottleneck) old_bottleneck = b;
  }
  for (int k = 0; !st && k < p->n_parts; k++) {
    ec_plan_part *q = &p->parts[k];
    const ec_target *t = devs->items[q->device].target;
    unsigned klib = ec_target_has_kernels(t, o->klib) ? o->klib : EC_KLIB_REF;
    int threads = o->threads > 0 ? o->threads : t->cores;
    dev_profiles dp;
    double plain = 0;
    st = dev_profiles_make(g, devs, o, q->device, t->cores > 0 ? t->cores : 1, &dp);
    if (!st) st = cluster_part(g, t, klib, o, threads, &dp, q, &plain);
    dev_profiles_free(&dp);
    /* The partition runs as the clusters' prediction says, not as the DP costed it (the sum of
     * its nodes' times on every thread): the difference moves its compute and the latency. */
    if (!st && q->n_clusters > 1) {
      double d = q->clustered_ms - plain;
      q->compute_ms += d;
      p->latency_ms += d;
    }
  }
  /* The slowest stage, when it was a compute, follows. */
  double nb = 0;
  for (int k = 0; k < p->n_parts; k++) {
    double b = p->parts[k].compute_ms > p->parts[k].transfer_ms ? p->parts[k].compute_ms : p->parts[k].transfer_ms;
    if (b > nb) nb = b;
  }
  if (!st && fabs(old_bottleneck - p->bottleneck_ms) <= 1e-9 * (1 + p->bottleneck_ms) && nb != old_bottleneck) {
    p->bottleneck_ms = nb;
    p->throughput_rps = nb > 0 ? 1000.0 / nb : 0;
  }
  return st;
}

void ec_plan_record_clusters(ec_graph *g, const ec_plan *p) {
  for (int i = 0; i < g->n_nodes; i++) g->nodes[i].cluster = -1, g->nodes[i].team = 0;
  for (int k = 0; k < p->n_parts; k++)
    for (int i = 0; p->parts[k].node_cluster && i < g->n_nodes; i++)
      if (p->parts[k].node_cluster[i] >= 0 && g->nodes[i].partition == k) {
        g->nodes[i].cluster = p->parts[k].node_cluster[i];
        g->nodes[i].team = p->parts[k].node_team ? p->parts[k].node_team[i] : 0;
      }
}

/* Lowering fused nodes (a residual Add into its convolution) and added some, so a oneDNN step
 * may now run beside tasks its planned node did not: each team is capped again on the final
 * graph (ec_cluster_teams without times), so tasks at the same time never hold more than the
 * plan's threads. A node lowering added has no team (0: one thread beside other clusters). */
static void settle_teams(ec_graph *g, const ec_plan_part *q) {
  part_graph pg;
  int n = q->part.n_nodes;
  int *cl = ec_alloc(sizeof(int) * (size_t)(n + 1)), *cap = ec_alloc(sizeof(int) * (size_t)(n + 1));
  uint8_t *fixed = ec_alloc((size_t)n + 1);
  bool made = cl && cap && fixed && !part_graph_make(g, &q->part, NULL, &pg), ok = made;
  for (int s = 0; ok && s < n; s++) {
    const ec_node *nd = &g->nodes[q->part.nodes[s]];
    cl[s] = nd->cluster, fixed[s] = nd->team > 0;
  }
  ec_cluster_problem cp = {n, NULL, ok ? pg.n_edges : 0, ok ? pg.src : NULL, ok ? pg.dst : NULL, ok ? pg.cost : NULL,
                           q->threads, 0, 0, fixed};
  if (ok) ok = ec_cluster_teams(&cp, cl, q->threads, NULL, cap) == 0;
  for (int s = 0; s < n; s++) {
    ec_node *nd = &g->nodes[q->part.nodes[s]];
    if (nd->team > 0 && (!ok || cap[s] < nd->team)) nd->team = ok ? cap[s] : 1; /* out of memory: the safe 1 */
  }
  if (made) part_graph_free(&pg);
  free(cl), free(cap), free(fixed);
}

void ec_plan_settle_clusters(ec_graph *g, ec_plan *p) {
  for (int k = 0; k < p->n_parts; k++) {
    ec_plan_part *q = &p->parts[k];
    free(q->node_cluster), free(q->node_team);
    q->node_cluster = q->node_team = NULL;
    const ec_part *pt = &q->part;
    /* Producers come first in the schedule; a conversion of a graph input has none and takes
     * its reader's cluster (a second pass, backwards). */
    for (int back = 0; back < 2; back++)
      for (int s0 = 0; s0 < pt->n_nodes; s0++) {
        int s = back ? pt->n_nodes - 1 - s0 : s0;
        ec_node *n = &g->nodes[pt->nodes[s]];
        if (n->cluster >= 0 && n->cluster < q->n_clusters) continue;
        n->cluster = -1;
        for (int c = 0; !back && n->cluster < 0 && c < n->n_inputs; c++) {
          int t = n->inputs[c], pr = t >= 0 ? g->tensors[t].producer : -1;
          if (pr >= 0 && g->nodes[pr].partition == k && g->nodes[pr].cluster >= 0) n->cluster = g->nodes[pr].cluster;
        }
        for (int o = 0; back && n->cluster < 0 && o < n->n_outputs; o++) {
          int t = n->outputs[o];
          for (int c = 0; t >= 0 && n->cluster < 0 && c < g->tensors[t].n_consumers; c++) {
            const ec_node *u = &g->nodes[g->tensors[t].consumers[c]];
            if (u->partition == k && u->cluster >= 0) n->cluster = u->cluster;
          }
        }
        if (back && n->cluster < 0) n->cluster = 0;
      }
    if (q->n_clusters > 1) settle_teams(g, q);
    for (int s = 0; q->n_clusters <= 1 && s < pt->n_nodes; s++) g->nodes[pt->nodes[s]].team = 0;
  }
}

int ec_plan_cluster_handoffs(const ec_graph *g, const ec_part *part, int c) {
  int count = 0;
  for (int s = 0; s < part->n_nodes; s++) {
    const ec_node *n = &g->nodes[part->nodes[s]];
    if (n->cluster != c) continue;
    for (int o = 0; o < n->n_outputs; o++) {
      int t = n->outputs[o];
      bool handed = false;
      for (int r = 0; t >= 0 && !handed && r < g->tensors[t].n_consumers; r++) {
        const ec_node *u = &g->nodes[g->tensors[t].consumers[r]];
        handed = !u->dead && u->partition == n->partition && u->cluster != c;
      }
      count += handed;
    }
  }
  return count;
}

void ec_plan_cluster_table(const ec_graph *g, const ec_plan *p, ec_buf *b) {
  ec_buf_printf(b, "\nclusters (--parallel %s):\n", ec_parallel_name(p->parallel));
  for (int k = 0; k < p->n_parts; k++) {
    const ec_plan_part *q = &p->parts[k];
    if (q->n_clusters <= 1) {
      ec_buf_printf(b, "p%d: one cluster, %d intra-op thread%s, predicted %.3f ms", k, q->cluster_threads,
                    q->cluster_threads == 1 ? "" : "s", q->intra_ms);
      if (q->best_clusters_ms > 0)
        ec_buf_printf(b, " (the best clusters, %.3f ms, gain less than %.0f%%)", q->best_clusters_ms,
                      EC_PAR_MIN_GAIN * 100);
      ec_buf_printf(b, "\n");
      continue;
    }
    ec_buf_printf(b, "p%d: %d clusters on %d threads sharing one pool, predicted %.3f ms against %.3f ms as one "
                  "cluster (gain %.1f%%; one thread: %.3f ms)\n", k, q->n_clusters, q->threads, q->clustered_ms,
                  q->intra_ms, (q->intra_ms / q->clustered_ms - 1) * 100, q->sequential_ms);
    for (int c = 0; c < q->n_clusters; c++) {
      int nodes = 0;
      for (int s = 0; s < q->part.n_nodes; s++) nodes += g->nodes[q->part.nodes[s]].cluster == c;
      ec_buf_printf(b, "  c%d: %d nodes, work %.3f ms, %d hand-offs\n", c, nodes, q->cluster_ms[c],
                    ec_plan_cluster_handoffs(g, &q->part, c));
    }
  }
}
