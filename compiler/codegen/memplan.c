/* memplan.c — arena offsets by greedy best-fit over lifetimes (largest buffers first, each into
 * the tightest gap left by the buffers it is live with), in-place reuse, and the verifier. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emit_control.h"
#include "lower.h"
#include "memplan.h"
#include "op.h"

size_t ec_mp_padded(size_t bytes) {
  size_t n = bytes + EC_MP_SLACK;
  return (n + EC_MP_ALIGN - 1) / EC_MP_ALIGN * EC_MP_ALIGN;
}

/* Scratch bytes of node n's kernel: what its op's reference kernel asks for, when lowering recorded
 * that kernel (or recorded nothing: graphs built by hand in tests); the fast kernels take none
 * from the arena but the recurrent layers' and StridedMatMul's (the choice's `scratch`) and a oneDNN step writing into
 * a Concat's channels (its stage, eck_dnnl_stage_bytes). */
static size_t kernel_scratch(const ec_graph *g, const ec_node *n) {
  if (n->n_subgraphs) return ec_ctl_scratch(g, n); /* its branches' or body's tensors */
  if (n->kernel && (n->kernel->kind == EC_K_RNN || n->kernel->kind == EC_K_BLAS_MATMUL)) return n->kernel->scratch;
  if (n->kernel && n->kernel->kind == EC_K_DNNL) return eck_dnnl_stage_bytes(&n->kernel->dp);
  bool ref = !n->kernel || n->kernel->kind == EC_K_REF;
  return ref && ec_ops[n->op].scratch ? ec_ops[n->op].scratch(g, n) : 0;
}

/* The input whose bytes node n's output 0 may take over (-1: none): input 0 of an op that runs in
 * place, or the residual of a oneDNN convolution with a fused sum, which adds into its output
 * (eck_dnnl.h): on the residual's bytes, nothing is copied. */
static int inplace_input(const ec_node *n) {
  const ec_kernel_choice *k = n->kernel;
  if (k && k->kind == EC_K_DNNL && (k->dp.flags & ECK_DNNL_SUM) && n->n_inputs > EC_SUM_INPUT &&
      n->inputs[EC_SUM_INPUT] == k->b)
    return EC_SUM_INPUT;
  return (ec_ops[n->op].flags & EC_OPF_INPLACE) && n->n_inputs > 0 ? 0 : -1;
}

static size_t tensor_bytes(const ec_tensor *t) {
  int64_t n = ec_tensor_numel(t);
  return n < 0 ? 0 : (size_t)n * ec_dtype_size(t->dtype);
}

void ec_memplan_free(ec_memplan *mp) {
  free(mp->where);
  free(mp->buf);
  free(mp->first);
  free(mp->last);
  free(mp->inplace_of);
  free(mp->view_root);
  free(mp->view_off);
  free(mp->bufs);
  free(mp->scratch_buf);
  free(mp->scratch_bytes);
  memset(mp, 0, sizeof *mp);
}

/* Where each tensor lives and the steps of its first write and last read. Shared by the planner
 * and the verifier, which recomputes it rather than trusting the plan. */
static ec_status classify(const ec_graph *g, const int *nodes, int n_nodes, const int *inputs,
                          int n_inputs, const int *outputs, int n_outputs, ec_mp_where *where,
                          int *first, int *last, ec_diag *d) {
  for (int t = 0; t < g->n_tensors; t++) {
    where[t] = EC_MP_NONE;
    first[t] = last[t] = -1;
  }
  for (int i = 0; i < n_inputs; i++) where[inputs[i]] = EC_MP_CALLER;
  for (int i = 0; i < n_outputs; i++) {
    int t = outputs[i];
    where[t] = ec_tensor_is_const(&g->tensors[t]) ? EC_MP_WEIGHTS : EC_MP_CALLER;
  }
  for (int s = 0; s < n_nodes; s++) {
    const ec_node *n = &g->nodes[nodes[s]];
    for (int k = 0; k < n->n_inputs; k++) {
      int t = n->inputs[k];
      if (t < 0) continue;
      const ec_tensor *tt = &g->tensors[t];
      if (where[t] == EC_MP_NONE) {
        if (ec_tensor_is_const(tt)) {
          where[t] = EC_MP_WEIGHTS;
        } else {
          return ec_fail_node(d, g, n, "input '%s' is read before any step of the partition "
                              "writes it, and is not a partition input", tt->name);
        }
      }
      if (where[t] == EC_MP_ARENA && first[t] < 0)
        return ec_fail_node(d, g, n, "input '%s' is read before it is written", tt->name);
      if (s > last[t]) last[t] = s;
    }
    for (int k = 0; k < n->n_outputs; k++) {
      int t = n->outputs[k];
      if (t < 0) continue;
      if (where[t] == EC_MP_NONE) where[t] = EC_MP_ARENA;
      if (first[t] >= 0)
        return ec_fail_node(d, g, n, "output '%s' is written twice", g->tensors[t].name);
      first[t] = s;
      if (last[t] < s) last[t] = s;
    }
  }
  return EC_OK;
}

/* Views of zero-copy concats: root and byte offset of every arena tensor that lives in another
 * one's bytes. Both must be this partition's arena tensors (a concat split across partitions
 * cannot be in place). */
static ec_status find_views(const ec_graph *g, ec_memplan *mp, ec_diag *d) {
  for (int t = 0; t < g->n_tensors; t++) {
    mp->view_root[t] = -1;
    mp->view_off[t] = 0;
    if (mp->where[t] != EC_MP_ARENA) continue;
    int64_t off;
    int r = ec_view_root(g, t, &off);
    if (r == t) continue;
    if (mp->where[r] != EC_MP_ARENA) {
      ec_diag_set(d, g->source_path ? g->source_path : "", "memory plan",
                  "'%s' is written into '%s', which this partition does not hold (compile with "
                  "--no-pass concat-in-place)", g->tensors[t].name, g->tensors[r].name);
      return EC_ERR_INTERNAL;
    }
    mp->view_root[t] = r;
    mp->view_off[t] = (size_t)off * ec_dtype_size(g->tensors[t].dtype);
  }
  return EC_OK;
}

/* t is a view or the root of one. */
static bool in_view_group(const ec_memplan *mp, int t) {
  if (mp->view_root[t] >= 0) return true;
  for (int u = 0; u < mp->n_tensors; u++)
    if (mp->view_root[u] == t) return true;
  return false;
}

/* ---- happens-before of a clustered schedule ---------------------------------------------------
 * When the planner put the partition's nodes in several clusters (ec_node.cluster), each cluster
 * runs its steps in schedule order on a thread of its own and waits, through a ready flag, for
 * every tensor another cluster writes for it. Step x happens before step s when a chain of
 * program order (same cluster) and data edges (s reads what x wrote) leads from x to s. Two
 * tensors may share bytes only if every access of one happens before the other's first write.
 * Without clusters the order is the schedule's and nothing here changes the plan. */
typedef struct mp_hb {
  int n, words;
  uint64_t *before; /* n x words: bit x of row s set when x happens before s; NULL: sequential */
  int *pos;         /* node index -> step, -1 outside the partition */
} mp_hb;

static void hb_free(mp_hb *h) {
  free(h->before), free(h->pos);
  memset(h, 0, sizeof *h);
}

static int node_cluster(const ec_node *n) { return n->cluster > 0 ? n->cluster : 0; }

static ec_status hb_make(const ec_graph *g, const int *nodes, int n_nodes, mp_hb *h) {
  memset(h, 0, sizeof *h);
  h->n = n_nodes;
  h->pos = ec_alloc(sizeof(int) * (size_t)(g->n_nodes + 1));
  if (!h->pos) return EC_ERR_INTERNAL;
  for (int i = 0; i < g->n_nodes; i++) h->pos[i] = -1;
  bool clustered = false;
  for (int s = 0; s < n_nodes; s++) {
    h->pos[nodes[s]] = s;
    clustered |= node_cluster(&g->nodes[nodes[s]]) != 0;
  }
  if (!clustered) return EC_OK;
  h->words = (n_nodes + 63) / 64;
  h->before = ec_alloc(sizeof(uint64_t) * (size_t)n_nodes * (size_t)h->words + 8);
  int *prev = ec_alloc(sizeof(int) * (size_t)(n_nodes + 1)); /* per cluster: its last step so far */
  if (!h->before || !prev) {
    free(prev);
    hb_free(h);
    return EC_ERR_INTERNAL;
  }
  for (int c = 0; c <= n_nodes; c++) prev[c] = -1;
  for (int s = 0; s < n_nodes; s++) {
    const ec_node *n = &g->nodes[nodes[s]];
    uint64_t *row = &h->before[(size_t)s * (size_t)h->words];
    int c = node_cluster(n);
    if (c > n_nodes) c = n_nodes;
    for (int k = -1; k < n->n_inputs; k++) {
      int x;
      if (k < 0) {
        x = prev[c];
      } else {
        int t = n->inputs[k], pr = t >= 0 ? g->tensors[t].producer : -1;
        x = pr >= 0 ? h->pos[pr] : -1;
      }
      if (x < 0 || x >= s) continue;
      const uint64_t *px = &h->before[(size_t)x * (size_t)h->words];
      for (int w = 0; w < h->words; w++) row[w] |= px[w];
      row[x / 64] |= (uint64_t)1 << (x % 64);
    }
    prev[c] = s;
  }
  free(prev);
  return EC_OK;
}

/* Step x happens before step s (strictly). */
static bool hb_lt(const mp_hb *h, int x, int s) {
  if (x < 0 || s < 0) return false;
  if (!h->before) return x < s;
  return (h->before[(size_t)s * (size_t)h->words + (size_t)(x / 64)] >> (x % 64)) & 1;
}

/* Every access of tensor t in the partition (the step writing it, each step reading it) other
 * than step `except` happens before step s. */
static bool accesses_before(const ec_graph *g, const mp_hb *h, int t, int t_first, int except, int s) {
  if (t_first >= 0 && t_first != except && !hb_lt(h, t_first, s)) return false;
  const ec_tensor *tt = &g->tensors[t];
  for (int c = 0; c < tt->n_consumers; c++) {
    int x = h->pos[tt->consumers[c]];
    if (x >= 0 && x != except && !hb_lt(h, x, s)) return false;
  }
  return true;
}

/* The last step that does not happen after every access of t: with clusters, a tensor stays
 * live until every later step of the schedule is ordered after all its accesses, so that
 * intervals that do not meet are ordered by happens-before. Without clusters: last. */
static int hb_last(const ec_graph *g, const mp_hb *h, int t, int first, int last) {
  if (!h->before) return last;
  for (int s = h->n - 1; s > last; s--)
    if (!accesses_before(g, h, t, first, -1, s)) return s;
  return last;
}

/* The same for a step's scratch buffer (its only access is the step). */
static int hb_last_step(const mp_hb *h, int step) {
  if (!h->before) return step;
  for (int s = h->n - 1; s > step; s--)
    if (!hb_lt(h, step, s)) return s;
  return step;
}

/* Extra placement orders tried for graphs with at most this many buffers (each costs O(n^2)). */
#define EC_MP_PERTURB_MAX_BUFS 3000
#define EC_MP_PERTURBED_ORDERS 32

static size_t *g_sort_bytes; /* qsort has no context argument; planning is single-threaded */
static int *g_sort_first;

static int cmp_bufs(const void *a, const void *b) {
  int x = *(const int *)a, y = *(const int *)b;
  if (g_sort_bytes[x] != g_sort_bytes[y]) return g_sort_bytes[x] > g_sort_bytes[y] ? -1 : 1;
  if (g_sort_first[x] != g_sort_first[y]) return g_sort_first[x] < g_sort_first[y] ? -1 : 1;
  return x < y ? -1 : x > y;
}

static const ec_mp_buf *g_place_bufs;
static int cmp_offset(const void *a, const void *b) {
  size_t x = g_place_bufs[*(const int *)a].offset, y = g_place_bufs[*(const int *)b].offset;
  return x < y ? -1 : x > y;
}

static bool live_together(const ec_mp_buf *a, const ec_mp_buf *b) {
  return !(a->last < b->first || b->last < a->first);
}

ec_status ec_memplan_build(const ec_graph *g, const int *nodes, int n_nodes, const int *inputs,
                           int n_inputs, const int *outputs, int n_outputs, ec_memplan *mp,
                           ec_diag *d) {
  memset(mp, 0, sizeof *mp);
  int nt = g->n_tensors;
  mp->n_tensors = nt;
  mp->n_steps = n_nodes;
  mp->where = ec_alloc(sizeof(ec_mp_where) * (size_t)(nt + 1));
  mp->buf = ec_alloc(sizeof(int) * (size_t)(nt + 1));
  mp->first = ec_alloc(sizeof(int) * (size_t)(nt + 1));
  mp->last = ec_alloc(sizeof(int) * (size_t)(nt + 1));
  mp->inplace_of = ec_alloc(sizeof(int) * (size_t)(nt + 1));
  mp->view_root = ec_alloc(sizeof(int) * (size_t)(nt + 1));
  mp->view_off = ec_alloc(sizeof(size_t) * (size_t)(nt + 1));
  mp->bufs = ec_alloc(sizeof(ec_mp_buf) * (size_t)(nt + n_nodes + 1));
  mp->scratch_buf = ec_alloc(sizeof(int) * (size_t)(n_nodes + 1));
  mp->scratch_bytes = ec_alloc(sizeof(size_t) * (size_t)(n_nodes + 1));
  int *order = ec_alloc(sizeof(int) * (size_t)(nt + n_nodes + 1));
  int *live = ec_alloc(sizeof(int) * (size_t)(nt + n_nodes + 1));
  size_t *sbytes = ec_alloc(sizeof(size_t) * (size_t)(nt + n_nodes + 1));
  int *sfirst = ec_alloc(sizeof(int) * (size_t)(nt + n_nodes + 1));
  size_t *key_bytes = ec_alloc(sizeof(size_t) * (size_t)(nt + n_nodes + 1));
  ec_status st = EC_OK;
  mp_hb hb;
  memset(&hb, 0, sizeof hb);
  if (!mp->where || !mp->buf || !mp->first || !mp->last || !mp->inplace_of || !mp->view_root ||
      !mp->view_off || !mp->bufs ||
      !mp->scratch_buf || !mp->scratch_bytes || !order || !live || !sbytes || !sfirst || !key_bytes) {
    st = EC_ERR_INTERNAL;
    goto done;
  }
  st = classify(g, nodes, n_nodes, inputs, n_inputs, outputs, n_outputs, mp->where, mp->first,
                mp->last, d);
  if (!st) st = hb_make(g, nodes, n_nodes, &hb);
  if (st) goto done;
  /* With clusters, each lifetime reaches the last step not ordered after it (hb_last). */
  for (int t = 0; t < nt; t++)
    if (mp->where[t] == EC_MP_ARENA && mp->first[t] >= 0)
      mp->last[t] = hb_last(g, &hb, t, mp->first[t], mp->last[t]);
  for (int t = 0; t < nt; t++) mp->buf[t] = mp->inplace_of[t] = -1;
  st = find_views(g, mp, d);
  if (st) goto done;

  /* Buffers in step order: each output either joins its input's buffer in place or opens one. */
  for (int s = 0; s < n_nodes; s++) {
    const ec_node *n = &g->nodes[nodes[s]];
    for (int k = 0; k < n->n_outputs; k++) {
      int t = n->outputs[k];
      if (t < 0 || mp->where[t] != EC_MP_ARENA || mp->view_root[t] >= 0) continue;
      size_t bytes = tensor_bytes(&g->tensors[t]);
      int ki = inplace_input(n), src = ki >= 0 ? n->inputs[ki] : -1;
      bool inplace = k == 0 && src >= 0 && mp->where[src] == EC_MP_ARENA &&
                     tensor_bytes(&g->tensors[src]) >= bytes && !in_view_group(mp, src) &&
                     !in_view_group(mp, t);
      /* No other input may be read from those bytes while they are written; a convolution reads
       * its input 0 whole, so over its residual no other input may even share the buffer. */
      for (int j = 0; inplace && j < n->n_inputs; j++) {
        int u = n->inputs[j];
        if (j == ki || u < 0) continue;
        if (u == src || (ki > 0 && mp->where[u] == EC_MP_ARENA && mp->buf[u] == mp->buf[src])) inplace = false;
      }
      /* src dies here: every other access of it (a reader in another cluster too) is done
       * before this step overwrites it (without clusters: s is its last reader). */
      if (inplace) inplace = accesses_before(g, &hb, src, mp->first[src], s, s);
      if (inplace) {
        int b = mp->buf[src];
        mp->buf[t] = b;
        mp->inplace_of[t] = src;
        if (mp->bufs[b].last < mp->last[t]) mp->bufs[b].last = mp->last[t];
        continue;
      }
      ec_mp_buf *b = &mp->bufs[mp->n_bufs];
      b->bytes = bytes;
      b->first = mp->first[t];
      b->last = mp->last[t];
      b->scratch_step = -1;
      mp->buf[t] = mp->n_bufs++;
    }
    size_t sc = kernel_scratch(g, n);
    mp->scratch_bytes[s] = sc;
    mp->scratch_buf[s] = -1;
    if (sc) {
      ec_mp_buf *b = &mp->bufs[mp->n_bufs];
      b->bytes = sc;
      b->first = s;
      b->last = hb_last_step(&hb, s);
      b->scratch_step = s;
      mp->scratch_buf[s] = mp->n_bufs++;
    }
  }

  /* A view shares its root's buffer, which lives from the first write of any of them to the
   * last read. */
  for (int t = 0; t < nt; t++) {
    int r = mp->view_root[t];
    if (r < 0) continue;
    int b = mp->buf[r];
    mp->buf[t] = b;
    if (mp->first[t] < mp->bufs[b].first) mp->bufs[b].first = mp->first[t];
    if (mp->last[t] > mp->bufs[b].last) mp->bufs[b].last = mp->last[t];
  }

  /* Greedy best-fit: each buffer goes into the smallest gap between the buffers already placed
   * that are live at the same time, or above the highest of them. The order matters; three
   * orders are tried (largest first, longest-lived-times-size first, earliest first), then, for
   * graphs small enough that it costs little, sizes perturbed by a fixed-seed generator (the
   * output stays reproducible), and the smallest arena kept. */
  int nb = mp->n_bufs;
  size_t *best_off = ec_alloc(sizeof(size_t) * (size_t)(nb + 1));
  size_t best_arena = (size_t)-1;
  if (!best_off) {
    st = EC_ERR_INTERNAL;
    goto done;
  }
  for (int i = 0; i < nb; i++) sbytes[i] = ec_mp_padded(mp->bufs[i].bytes);
  int n_strategies = 3 + (nb <= EC_MP_PERTURB_MAX_BUFS ? EC_MP_PERTURBED_ORDERS : 0);
  uint64_t rng = 0x9e3779b97f4a7c15ull;
  for (int strategy = 0; strategy < n_strategies; strategy++) {
    for (int i = 0; i < nb; i++) {
      order[i] = i;
      size_t life = (size_t)(mp->bufs[i].last - mp->bufs[i].first + 1);
      if (strategy < 3) {
        key_bytes[i] = strategy == 0 ? sbytes[i] : strategy == 1 ? sbytes[i] * life : (size_t)(nb - mp->bufs[i].first);
      } else { /* size scaled by a factor in [0.5, 1.5) */
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        key_bytes[i] = (size_t)((double)sbytes[i] * (0.5 + (double)(rng >> 11) / 9007199254740992.0));
      }
      sfirst[i] = mp->bufs[i].first;
    }
    g_sort_bytes = key_bytes;
    g_sort_first = sfirst;
    qsort(order, (size_t)nb, sizeof(int), cmp_bufs);
    g_place_bufs = mp->bufs;
    size_t arena = 0;
    for (int i = 0; i < nb; i++) {
      ec_mp_buf *b = &mp->bufs[order[i]];
      size_t need = sbytes[order[i]];
      int nl = 0;
      for (int j = 0; j < i; j++)
        if (live_together(b, &mp->bufs[order[j]])) live[nl++] = order[j];
      qsort(live, (size_t)nl, sizeof(int), cmp_offset);
      size_t end = 0, best = (size_t)-1, best_gap = (size_t)-1;
      for (int j = 0; j < nl; j++) {
        const ec_mp_buf *o = &mp->bufs[live[j]];
        if (o->offset > end && o->offset - end >= need && o->offset - end < best_gap) {
          best_gap = o->offset - end;
          best = end;
        }
        size_t oend = o->offset + sbytes[live[j]];
        if (oend > end) end = oend;
      }
      b->offset = best != (size_t)-1 ? best : end;
      if (b->offset + need > arena) arena = b->offset + need;
    }
    if (arena < best_arena) {
      best_arena = arena;
      for (int i = 0; i < nb; i++) best_off[i] = mp->bufs[i].offset;
    }
  }
  for (int i = 0; i < nb; i++) mp->bufs[i].offset = best_off[i];
  mp->arena_bytes = nb ? best_arena : 0;
  free(best_off);
  for (int s = 0; s < n_nodes; s++) {
    size_t sum = 0;
    for (int i = 0; i < nb; i++)
      if (mp->bufs[i].first <= s && s <= mp->bufs[i].last) sum += sbytes[i];
    if (sum > mp->lower_bound) mp->lower_bound = sum;
  }
done:
  hb_free(&hb);
  free(order);
  free(live);
  free(sbytes);
  free(sfirst);
  free(key_bytes);
  if (st) ec_memplan_free(mp);
  return st;
}

static ec_status vfail(ec_diag *d, const ec_graph *g, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static ec_status vfail(ec_diag *d, const ec_graph *g, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  ec_diag_vset(d, g->source_path ? g->source_path : "", "memory plan", fmt, ap);
  va_end(ap);
  return EC_ERR_INTERNAL;
}

/* Whether two lifetimes (first write, last read) share a step. A step reads its inputs while it
 * writes its outputs, so a tensor written at the step that last reads another is live with it;
 * one written a step later is not. The verifier's own test, independent of the planner's. */
static bool v_live_together(int f1, int l1, int f2, int l2) { return !(l1 < f2 || l2 < f1); }

/* The bytes the kernel of step s uses as scratch: what its op asks for, whatever the plan says. */
static size_t scratch_want(const ec_graph *g, const int *nodes, int s) {
  const ec_node *n = &g->nodes[nodes[s]];
  return kernel_scratch(g, n);
}

static const char *scratch_label(const ec_graph *g, const int *nodes, int s, char *tmp, size_t len) {
  const ec_node *n = &g->nodes[nodes[s]];
  if (n->name && n->name[0]) snprintf(tmp, len, "the scratch of '%.200s'", n->name);
  else snprintf(tmp, len, "the scratch of step %d (%s)", s, n->op_type);
  return tmp;
}

/* An arena tensor of buffer b live during steps [f, l], else any tensor of b, else -1. */
static int tensor_in(const ec_memplan *mp, const ec_mp_where *where, const int *first,
                     const int *last, int b, int f, int l) {
  int any = -1;
  for (int t = 0; t < mp->n_tensors; t++) {
    if (where[t] != EC_MP_ARENA || mp->buf[t] != b) continue;
    if (v_live_together(first[t], last[t], f, l)) return t;
    if (any < 0) any = t;
  }
  return any;
}

/* Buffer b in messages: its step's scratch, or tensor t of it (quoted). */
static const char *buf_label(const ec_graph *g, const ec_memplan *mp, const int *nodes, int b,
                             int t, char *tmp, size_t len) {
  if (mp->bufs[b].scratch_step >= 0) return scratch_label(g, nodes, mp->bufs[b].scratch_step, tmp, len);
  snprintf(tmp, len, "'%.200s'", t >= 0 ? g->tensors[t].name : "?");
  return tmp;
}

/* A view t of root r at channel voff: same buffer, offset as recomputed, inside the root's
 * channels with the root's N, H, W; and no other tensor written by a step into the same root
 * overlaps its channels (in-place concat outputs, which are unions of views, excepted). */
static ec_status verify_view(const ec_graph *g, const ec_memplan *mp, const ec_mp_where *where,
                             const int *nodes, const int *first, int t, int r, int64_t voff, ec_diag *d) {
  const ec_tensor *x = &g->tensors[t], *rt = &g->tensors[r];
  if (where[r] != EC_MP_ARENA || mp->view_root[t] != r || mp->buf[t] != mp->buf[r] ||
      mp->view_off[t] != (size_t)voff * ec_dtype_size(x->dtype))
    return vfail(d, g, "view '%s' is not planned inside '%s'", x->name, rt->name);
  if (x->rank != 4 || rt->rank != 4 || x->dtype != rt->dtype || voff < 0 || voff + x->dims[1] > rt->dims[1] ||
      x->dims[0] != rt->dims[0] || x->dims[2] != rt->dims[2] || x->dims[3] != rt->dims[3])
    return vfail(d, g, "view '%s' does not fit in '%s'", x->name, rt->name);
  if (first[t] < 0 || g->nodes[nodes[first[t]]].op == EC_OP_Concat) return EC_OK;
  for (int u = 0; u < t; u++) {
    int64_t uoff;
    if (where[u] != EC_MP_ARENA || u == r || first[u] < 0 || g->nodes[nodes[first[u]]].op == EC_OP_Concat ||
        ec_view_root(g, u, &uoff) != r)
      continue;
    if (uoff < voff + x->dims[1] && voff < uoff + g->tensors[u].dims[1])
      return vfail(d, g, "views '%s' and '%s' are written into the same channels", g->tensors[u].name, x->name);
  }
  return EC_OK;
}

/* One side of a byte-sharing pair for verify_concurrent: an arena tensor (t >= 0) or the scratch
 * of step `step`. */
typedef struct mp_item {
  int t, step;
} mp_item;

/* Every access of x happens before y's first write (its step, for a scratch). A tensor written
 * in place over x reads x at that very step, which is then x's last access. */
static bool item_before(const ec_graph *g, const ec_memplan *mp, const mp_hb *h, const int *first, mp_item x,
                        mp_item y) {
  int yw = y.t >= 0 ? first[y.t] : y.step;
  if (x.t < 0) return hb_lt(h, x.step, yw);
  int except = y.t >= 0 && mp->inplace_of[y.t] == x.t ? yw : -1;
  return accesses_before(g, h, x.t, first[x.t], except, yw);
}

static int item_root(const ec_memplan *mp, mp_item x) {
  return x.t < 0 ? -1 : mp->view_root[x.t] >= 0 ? mp->view_root[x.t] : x.t;
}

static int buf_items(const ec_memplan *mp, const ec_mp_where *where, const int *first, int b, mp_item *out) {
  int n = 0;
  if (mp->bufs[b].scratch_step >= 0) out[n++] = (mp_item){-1, mp->bufs[b].scratch_step};
  for (int t = 0; t < mp->n_tensors; t++)
    if (where[t] == EC_MP_ARENA && first[t] >= 0 && mp->buf[t] == b) out[n++] = (mp_item){t, -1};
  return n;
}

/* With clusters (ec_node.cluster): any two tensors or scratch buffers whose bytes meet are
 * ordered by the happens-before of the clustered schedule (hb_make, recomputed from the graph):
 * every access of one before the other's first write. Views of one in-place concat are written
 * side by side into disjoint channels and are checked by verify_view instead. */
static ec_status verify_concurrent(const ec_graph *g, const int *nodes, int n_nodes, const ec_memplan *mp,
                                   const ec_mp_where *where, const int *first, ec_diag *d) {
  mp_hb h;
  ec_status st = hb_make(g, nodes, n_nodes, &h);
  if (st || !h.before) {
    hb_free(&h);
    return st;
  }
  mp_item *xi = ec_alloc(sizeof(mp_item) * (size_t)(mp->n_tensors + 2));
  mp_item *yi = ec_alloc(sizeof(mp_item) * (size_t)(mp->n_tensors + 2));
  if (!xi || !yi) st = EC_ERR_INTERNAL;
  char l1[256], l2[256];
  for (int b = 0; !st && b < mp->n_bufs; b++) {
    size_t b0 = mp->bufs[b].offset, b1 = b0 + ec_mp_padded(mp->bufs[b].bytes);
    int nx = buf_items(mp, where, first, b, xi);
    for (int c = 0; !st && c <= b; c++) {
      size_t c0 = mp->bufs[c].offset, c1 = c0 + ec_mp_padded(mp->bufs[c].bytes);
      if (!(b0 < c1 && c0 < b1)) continue;
      int ny = c == b ? nx : buf_items(mp, where, first, c, yi);
      const mp_item *ys = c == b ? xi : yi;
      for (int i = 0; !st && i < nx; i++)
        for (int j = 0; !st && j < (c == b ? i : ny); j++) {
          mp_item x = xi[i], y = ys[j];
          if (item_root(mp, x) >= 0 && item_root(mp, x) == item_root(mp, y)) continue;
          if (item_before(g, mp, &h, first, x, y) || item_before(g, mp, &h, first, y, x)) continue;
          int sx = x.t >= 0 ? first[x.t] : x.step, sy = y.t >= 0 ? first[y.t] : y.step;
          if (x.t >= 0) snprintf(l1, sizeof l1, "'%.200s'", g->tensors[x.t].name);
          else scratch_label(g, nodes, x.step, l1, sizeof l1);
          if (y.t >= 0) snprintf(l2, sizeof l2, "'%.200s'", g->tensors[y.t].name);
          else scratch_label(g, nodes, y.step, l2, sizeof l2);
          st = vfail(d, g, "%s (cluster %d) and %s (cluster %d) share bytes, but neither is done before the "
                     "other is written", l2, node_cluster(&g->nodes[nodes[sy]]), l1,
                     node_cluster(&g->nodes[nodes[sx]]));
        }
    }
  }
  free(xi), free(yi);
  hb_free(&h);
  return st;
}

ec_status ec_memplan_verify(const ec_graph *g, const int *nodes, int n_nodes, const int *inputs,
                            int n_inputs, const int *outputs, int n_outputs, const ec_memplan *mp,
                            ec_diag *d) {
  int nt = g->n_tensors;
  if (mp->n_tensors != nt || mp->n_steps != n_nodes) return vfail(d, g, "plan made for another graph");
  ec_mp_where *where = ec_alloc(sizeof(ec_mp_where) * (size_t)(nt + 1));
  int *first = ec_alloc(sizeof(int) * (size_t)(nt + 1));
  int *last = ec_alloc(sizeof(int) * (size_t)(nt + 1));
  /* Bytes-and-lifetime extent of each buffer recomputed from the tensors placed in it. */
  int *bfirst = ec_alloc(sizeof(int) * (size_t)(mp->n_bufs + 1));
  int *blast = ec_alloc(sizeof(int) * (size_t)(mp->n_bufs + 1));
  size_t *bbytes = ec_alloc(sizeof(size_t) * (size_t)(mp->n_bufs + 1));
  ec_status st = EC_OK;
  char l1[256], l2[256];
  if (!where || !first || !last || !bfirst || !blast || !bbytes) {
    st = EC_ERR_INTERNAL;
    goto done;
  }
  st = classify(g, nodes, n_nodes, inputs, n_inputs, outputs, n_outputs, where, first, last, d);
  if (st) goto done;
  /* Every step's kernel gets a scratch buffer of its own, as large as the op asks. */
  for (int s = 0; s < n_nodes; s++) {
    size_t want = scratch_want(g, nodes, s);
    int b = mp->scratch_buf[s];
    if (!want && b < 0) continue;
    if (b < 0 || b >= mp->n_bufs || mp->bufs[b].scratch_step != s) {
      st = vfail(d, g, "%s (%zu bytes) has no buffer of its own", scratch_label(g, nodes, s, l1, sizeof l1),
                 want);
      goto done;
    }
    if (mp->bufs[b].bytes < want || mp->scratch_bytes[s] < want) {
      st = vfail(d, g, "%s is smaller than its kernel asks (%zu bytes)", scratch_label(g, nodes, s, l1, sizeof l1),
                 want);
      goto done;
    }
  }
  for (int b = 0; b < mp->n_bufs; b++) {
    bfirst[b] = mp->n_steps;
    blast[b] = -1;
    bbytes[b] = 0;
    int s = mp->bufs[b].scratch_step;
    if (s >= n_nodes || (s >= 0 && mp->scratch_buf[s] != b)) {
      st = vfail(d, g, "buffer %d is the scratch of no step", b);
      goto done;
    }
    if (mp->bufs[b].offset % EC_MP_ALIGN) {
      st = vfail(d, g, "buffer of %s is not aligned",
                 buf_label(g, mp, nodes, b, tensor_in(mp, where, first, last, b, 0, -1), l1, sizeof l1));
      goto done;
    }
    if (s >= 0) {
      bfirst[b] = blast[b] = s;
      bbytes[b] = scratch_want(g, nodes, s);
    }
  }
  for (int t = 0; t < nt; t++) {
    if (where[t] != mp->where[t]) {
      st = vfail(d, g, "tensor '%s' is placed in the wrong memory", g->tensors[t].name);
      goto done;
    }
    if (where[t] != EC_MP_ARENA) continue;
    int b = mp->buf[t];
    if (b < 0 || b >= mp->n_bufs || mp->bufs[b].scratch_step >= 0) {
      st = vfail(d, g, "activation '%s' has no arena buffer", g->tensors[t].name);
      goto done;
    }
    size_t bytes = tensor_bytes(&g->tensors[t]);
    int64_t voff;
    int root = ec_view_root(g, t, &voff);
    if (root != t) {
      st = verify_view(g, mp, where, nodes, first, t, root, voff, d);
      if (st) goto done;
      bytes = 0; /* inside its root's bytes, checked above */
    } else if (mp->view_root[t] >= 0) {
      st = vfail(d, g, "'%s' is planned as a view but is none", g->tensors[t].name);
      goto done;
    }
    if (bytes > bbytes[b]) bbytes[b] = bytes;
    if (first[t] < bfirst[b]) bfirst[b] = first[t];
    if (last[t] > blast[b]) blast[b] = last[t];
    /* Tensors sharing a buffer must follow each other, touching only at an in-place step; views
     * of one root were checked against each other in verify_view. */
    for (int u = 0; u < t; u++) {
      if (where[u] != EC_MP_ARENA || mp->buf[u] != b) continue;
      int64_t uoff;
      if (ec_view_root(g, u, &uoff) == root) continue;
      if (!v_live_together(first[u], last[u], first[t], last[t])) continue;
      int a = mp->inplace_of[t] == u ? u : mp->inplace_of[u] == t ? t : -1;
      int o = a == u ? t : u;
      if (a < 0 || last[a] != first[o]) {
        st = vfail(d, g, "tensors '%s' and '%s' share bytes while both are live",
                   g->tensors[u].name, g->tensors[t].name);
        goto done;
      }
      /* In place: output 0 of an op that allows it over its input 0, never a smaller one (an
       * input broadcast to the output would be overwritten before all of it is read). */
      const ec_node *n = &g->nodes[nodes[first[o]]];
      int ki = inplace_input(n);
      if (ki < 0 || n->n_outputs < 1 || n->outputs[0] != o || n->inputs[ki] != a) {
        st = vfail(d, g, "'%s' reuses the bytes of '%s' but its op may not run in place",
                   g->tensors[o].name, g->tensors[a].name);
        goto done;
      }
      if (tensor_bytes(&g->tensors[a]) < tensor_bytes(&g->tensors[o])) {
        st = vfail(d, g, "'%s' reuses the bytes of '%s', which is smaller: a broadcast may not run in place",
                   g->tensors[o].name, g->tensors[a].name);
        goto done;
      }
    }
  }
  for (int b = 0; b < mp->n_bufs; b++) {
    int tb = tensor_in(mp, where, first, last, b, 0, -1);
    if (bbytes[b] > mp->bufs[b].bytes || bfirst[b] < mp->bufs[b].first || blast[b] > mp->bufs[b].last) {
      st = vfail(d, g, "buffer of %s is smaller or shorter-lived than its tensors",
                 buf_label(g, mp, nodes, b, tb, l1, sizeof l1));
      goto done;
    }
    if (mp->bufs[b].offset + bbytes[b] + EC_MP_SLACK > mp->arena_bytes) {
      st = vfail(d, g, "buffer of %s runs past the arena", buf_label(g, mp, nodes, b, tb, l1, sizeof l1));
      goto done;
    }
    for (int c = 0; c < b; c++) {
      if (!v_live_together(bfirst[b], blast[b], bfirst[c], blast[c])) continue;
      size_t b0 = mp->bufs[b].offset, b1 = b0 + bbytes[b] + EC_MP_SLACK;
      size_t c0 = mp->bufs[c].offset, c1 = c0 + bbytes[c] + EC_MP_SLACK;
      if (b0 < c1 && c0 < b1) {
        /* Name a tensor of each that are live together, not just the buffers' first tensors. */
        int tc = tensor_in(mp, where, first, last, c, bfirst[b], blast[b]);
        int fc = tc >= 0 ? first[tc] : bfirst[c], lc = tc >= 0 ? last[tc] : blast[c];
        st = vfail(d, g, "%s and %s are live at the same time and overlap in the arena",
                   buf_label(g, mp, nodes, c, tc, l1, sizeof l1),
                   buf_label(g, mp, nodes, b, tensor_in(mp, where, first, last, b, fc, lc), l2, sizeof l2));
        goto done;
      }
    }
  }
  if (mp->lower_bound > mp->arena_bytes) st = vfail(d, g, "arena below the lower bound");
  if (!st) st = verify_concurrent(g, nodes, n_nodes, mp, where, first, d);
done:
  if (!where || !first || !last || !bfirst || !blast || !bbytes) st = EC_ERR_INTERNAL;
  free(where);
  free(first);
  free(last);
  free(bfirst);
  free(blast);
  free(bbytes);
  return st;
}
