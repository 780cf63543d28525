/* partition.c — dynamic program placing a chain of blocks on ordered devices (contiguous
 * ranges, device order kept, devices may stay unused) for latency or throughput, with memory. */
#include "partition.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Everything the DP reads, precomputed once. */
typedef struct prep {
  const ec_part_problem *p;
  int B, D, K;          /* K: the largest partition count considered */
  double *pre;          /* D x (B+1): prefix sums of finite compute */
  int *ninf;            /* D x (B+1): prefix counts of INFINITY compute */
  double *wpre;         /* B+1: prefix sums of weights */
  double *amax;         /* sparse table of arena maxima: LOG x B */
  double stage_max;     /* largest recv_bytes + largest send_bytes */
  int logn;
  double *xfer;         /* (B-1) x D x D transfer times */
  uint8_t *boundary;    /* B+1: position may start/end a partition (forced cuts) */
  int *forced_inside;   /* B+1: prefix count of forced positions */
  bool forced;
} prep;

static const char *dev_name(const ec_part_problem *p, int d, char *buf, size_t len) {
  if (p->device_names && p->device_names[d]) return p->device_names[d];
  snprintf(buf, len, "device #%d", d);
  return buf;
}

static double range_compute(const prep *q, int d, int i, int j) {
  const int *ni = q->ninf + (size_t)d * (q->B + 1);
  if (ni[j] - ni[i]) return INFINITY;
  const double *pr = q->pre + (size_t)d * (q->B + 1);
  return pr[j] - pr[i];
}

static double range_arena(const prep *q, int i, int j) {
  if (!q->amax) return 0;
  int len = j - i, lg = 0;
  while ((2 << lg) <= len) lg++;
  double a = q->amax[(size_t)lg * q->B + i], b = q->amax[(size_t)lg * q->B + j - (1 << lg)];
  return a > b ? a : b;
}

/* Weights and arena: grows when the range does, unlike the staging at its ends. */
static double range_memory(const prep *q, int i, int j) {
  return (q->wpre[j] - q->wpre[i]) + range_arena(q, i, j);
}

static double range_staging(const prep *q, int i, int j) {
  return (q->p->recv_bytes ? q->p->recv_bytes[i] : 0) + (q->p->send_bytes ? q->p->send_bytes[j - 1] : 0);
}

static double full_memory(const prep *q, int i, int j) {
  return range_memory(q, i, j) + range_staging(q, i, j);
}

static double capacity(const ec_part_problem *p, int d) {
  if (!p->device_capacity || !(p->device_capacity[d] > 0)) return INFINITY;
  return p->device_capacity[d];
}

static double xfer(const prep *q, int cut, int a, int b) {
  return q->xfer[((size_t)cut * q->D + a) * q->D + b];
}

static void prep_free(prep *q) {
  free(q->pre), free(q->ninf), free(q->wpre), free(q->amax), free(q->xfer);
  free(q->boundary), free(q->forced_inside);
}

static ec_status usage(ec_diag *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static ec_status usage(ec_diag *d, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  ec_diag_vset(d, "", "", fmt, ap);
  va_end(ap);
  return EC_ERR_USAGE;
}

static ec_status prepare(const ec_part_problem *p, prep *q, ec_diag *d) {
  memset(q, 0, sizeof *q);
  q->p = p;
  int B = q->B = p->n_blocks, D = q->D = p->n_devices;
  if (B < 1 || D < 1 || !p->compute) return usage(d, "partition: no blocks or no devices");
  for (size_t k = 0; k < (size_t)B * D; k++)
    if (isnan(p->compute[k]) || p->compute[k] < 0)
      return usage(d, "partition: block %zu has an invalid compute time on %zu", k / D, k % D);
  q->pre = ec_alloc(sizeof(double) * (size_t)D * (B + 1));
  q->ninf = ec_alloc(sizeof(int) * (size_t)D * (B + 1));
  q->wpre = ec_alloc(sizeof(double) * (size_t)(B + 1));
  q->xfer = ec_alloc(sizeof(double) * ((size_t)(B > 1 ? B - 1 : 1) * D * D));
  q->boundary = ec_alloc((size_t)B + 1);
  q->forced_inside = ec_alloc(sizeof(int) * ((size_t)B + 1));
  if (!q->pre || !q->ninf || !q->wpre || !q->xfer || !q->boundary || !q->forced_inside)
    goto oom;
  for (int dv = 0; dv < D; dv++) {
    double *pr = q->pre + (size_t)dv * (B + 1);
    int *ni = q->ninf + (size_t)dv * (B + 1);
    for (int b = 0; b < B; b++) {
      double c = p->compute[(size_t)b * D + dv];
      pr[b + 1] = pr[b] + (isinf(c) ? 0 : c);
      ni[b + 1] = ni[b] + (isinf(c) ? 1 : 0);
    }
  }
  for (int b = 0; b < B; b++) {
    double w = p->block_weight_bytes ? p->block_weight_bytes[b] : 0;
    if (isnan(w) || w < 0) return prep_free(q), usage(d, "partition: block %d has invalid weight bytes", b);
    q->wpre[b + 1] = q->wpre[b] + w;
  }
  for (int e = 0; e < 2; e++) {
    const double *v = e ? p->send_bytes : p->recv_bytes;
    double mx = 0;
    for (int b = 0; v && b < B; b++) {
      if (isnan(v[b]) || v[b] < 0)
        return prep_free(q), usage(d, "partition: block %d has invalid %s bytes", b, e ? "send" : "receive");
      if (v[b] > mx) mx = v[b];
    }
    q->stage_max += mx;
  }
  if (p->block_arena_bytes) {
    int lg = 1;
    while ((1 << lg) <= B) lg++;
    q->logn = lg;
    q->amax = malloc(sizeof(double) * (size_t)lg * B);
    if (!q->amax) goto oom;
    for (int b = 0; b < B; b++) {
      double a = p->block_arena_bytes[b];
      if (isnan(a) || a < 0) return prep_free(q), usage(d, "partition: block %d has invalid arena bytes", b);
      q->amax[b] = a;
    }
    for (int l = 1; l < lg; l++)
      for (int b = 0; b + (1 << l) <= B; b++) {
        double x = q->amax[(size_t)(l - 1) * B + b];
        double y = q->amax[(size_t)(l - 1) * B + b + (1 << (l - 1))];
        q->amax[(size_t)l * B + b] = x > y ? x : y;
      }
  }
  for (int c = 0; c + 1 < B; c++)
    for (int a = 0; a < D; a++)
      for (int b = a + 1; b < D; b++) {
        double t;
        if (p->transfer) {
          t = p->transfer(p->transfer_ctx, c, a, b);
        } else {
          if (!p->links || !p->cut_bytes)
            return prep_free(q), usage(d, "partition: no link model for the transfers");
          ec_dp_link l = p->links[(size_t)a * D + b];
          if (!(l.bytes_per_time > 0) || isnan(l.latency) || l.latency < 0)
            return prep_free(q), usage(d, "partition: the link from device %d to %d is invalid", a, b);
          t = l.latency + p->cut_bytes[c] / l.bytes_per_time;
        }
        if (isnan(t) || t < 0)
          return prep_free(q), usage(d, "partition: cut %d has an invalid transfer time", c);
        q->xfer[((size_t)c * D + a) * D + b] = t;
      }
  /* Forced cuts: cut c is the boundary at position c + 1. */
  q->boundary[0] = q->boundary[B] = 1;
  q->forced = p->forced_cuts && p->n_forced_cuts > 0;
  for (int pos = 1; pos < B; pos++) q->boundary[pos] = !q->forced;
  if (q->forced) {
    for (int k = 0; k < p->n_forced_cuts; k++) {
      int c = p->forced_cuts[k];
      if (c < 0 || c + 1 >= B)
        return prep_free(q), usage(d, "partition: forced cut %d is out of range (0..%d)", c, B - 2);
      if (q->boundary[c + 1]) {
        const char *nm = p->cut_names ? p->cut_names[c] : NULL;
        prep_free(q);
        ec_diag_set(d, "", "", "--split-at: the cut at '%s' is given twice", nm ? nm : "?");
        return EC_ERR_USAGE;
      }
      q->boundary[c + 1] = 1;
    }
    for (int pos = 1; pos <= B; pos++)
      q->forced_inside[pos] = q->forced_inside[pos - 1] + (pos < B && q->boundary[pos]);
  }
  if (q->forced && p->n_parts > 0 && p->n_parts != p->n_forced_cuts + 1) {
    prep_free(q);
    ec_diag_set(d, "", "", "--partitions %d contradicts --split-at, which makes %d partitions",
                p->n_parts, p->n_forced_cuts + 1);
    return EC_ERR_USAGE;
  }
  q->K = D < B ? D : B;
  if (p->n_parts > 0 && p->n_parts < q->K) q->K = p->n_parts;
  return EC_OK;
oom:
  prep_free(q);
  ec_diag_set(d, "", "", "out of memory while planning partitions");
  return EC_ERR_INTERNAL;
}

/* Is [i, j) allowed on device d with stages at most beta and (if use_mem) with weights, arena
 * and `slack` more bytes within memory? Sub-ranges of an allowed range are allowed. */
static bool range_ok(const prep *q, int d, int i, int j, double beta, bool use_mem, double slack) {
  double c = range_compute(q, d, i, j);
  if (isinf(c) || c > beta) return false;
  if (use_mem && range_memory(q, i, j) + slack > capacity(q->p, d)) return false;
  if (q->forced && j - 1 >= i + 1 && q->forced_inside[j - 1] - q->forced_inside[i] > 0)
    return false;
  return true;
}

/* The DP state and its back-pointers. */
typedef struct dp {
  int B, D, K;
  double *f;     /* (K+1) x (B+1) x D: best latency of blocks [0, j) in k parts, last on d */
  int *fi;       /* start of that last partition */
  double *h;     /* (K+1) x (B+1) x D: best latency of [0, i) in k-1 parts + transfer to d */
  int *hd;       /* previous device of that */
  int *lo;       /* D x (B+1): first start allowed without staging */
  int *lo2;      /* D x (B+1): first start allowed whatever the staging */
  int *dq;       /* deque storage, B+1 */
} dp;

#define AT(x, k, j, d) ((x)[(((size_t)(k) * (s->B + 1)) + (j)) * s->D + (d)])

static void dp_free(dp *s) {
  free(s->f), free(s->fi), free(s->h), free(s->hd), free(s->lo), free(s->lo2), free(s->dq);
}

static bool dp_alloc(dp *s, const prep *q) {
  memset(s, 0, sizeof *s);
  s->B = q->B, s->D = q->D, s->K = q->K;
  size_t n = (size_t)(q->K + 1) * (q->B + 1) * q->D;
  s->f = malloc(sizeof(double) * n);
  s->fi = malloc(sizeof(int) * n);
  s->h = malloc(sizeof(double) * n);
  s->hd = malloc(sizeof(int) * n);
  s->lo = malloc(sizeof(int) * (size_t)q->D * (q->B + 1));
  s->lo2 = malloc(sizeof(int) * (size_t)q->D * (q->B + 1));
  s->dq = malloc(sizeof(int) * ((size_t)q->B + 1) * (q->K + 1) * q->D);
  return s->f && s->fi && s->h && s->hd && s->lo && s->lo2 && s->dq;
}

/* Minimum latency over plans whose stages are all <= beta. Returns the best (k, d) of a full
 * plan through *bk, *bd, or false if none. Sliding-window minimum: for a fixed end j the
 * allowed starts form a window [lo[d][j], j-1] whose left edge never moves back as j grows
 * (sub-ranges of an allowed range are allowed), so each (k, d) keeps a monotone deque of
 * h[k][i][d] - prefix[d][i]. The staging buffers at a range's ends break that (a shorter range
 * may receive a larger tensor), so the deque holds only starts from lo2[d][j], which fit even
 * with the largest staging; the few starts in [lo, lo2), near the memory limit, are checked one
 * by one. */
static bool dp_run(dp *s, const prep *q, double beta, bool use_mem, int *bk, int *bd) {
  int B = q->B, D = q->D, K = q->K;
  size_t n = (size_t)(K + 1) * (B + 1) * D;
  for (size_t x = 0; x < n; x++) s->f[x] = s->h[x] = INFINITY, s->fi[x] = s->hd[x] = -1;
  for (int d = 0; d < D; d++) {
    int *lo = s->lo + (size_t)d * (B + 1), *lo2 = s->lo2 + (size_t)d * (B + 1);
    int i = 0, i2 = 0;
    lo[0] = lo2[0] = 0;
    for (int j = 1; j <= B; j++) {
      while (i < j && !range_ok(q, d, i, j, beta, use_mem, 0)) i++;
      if (i2 < i) i2 = i;
      while (i2 < j && !range_ok(q, d, i2, j, beta, use_mem, q->stage_max)) i2++;
      lo[j] = i, lo2[j] = i2;
    }
  }
  /* Deques: one per (k, d), each a slice of B+1 ints with head/tail indices. */
  int heads[64 * 64], tails[64 * 64];
  int *head = heads, *tail = tails;
  int *hbuf = NULL;
  if ((size_t)(K + 1) * D > 64 * 64) {
    hbuf = malloc(sizeof(int) * 2 * (size_t)(K + 1) * D);
    if (!hbuf) return false;
    head = hbuf, tail = hbuf + (size_t)(K + 1) * D;
  }
  for (int x = 0; x < (K + 1) * D; x++) head[x] = tail[x] = 0;
  for (int j = 1; j <= B; j++) {
    /* h[k][j-1][d]: a partition ended at j-1 on some d' < d, then cut j-2 travels to d. */
    int i = j - 1;
    if (i >= 1 && q->boundary[i]) {
      for (int k = 2; k <= K; k++)
        for (int d = 1; d < D; d++) {
          double best = INFINITY;
          int arg = -1;
          for (int e = 0; e < d; e++) {
            double f = AT(s->f, k - 1, i, e);
            if (isinf(f)) continue;
            double x = xfer(q, i - 1, e, d);
            if (x > beta) continue;
            if (f + x < best) best = f + x, arg = e;
          }
          AT(s->h, k, i, d) = best;
          AT(s->hd, k, i, d) = arg;
          if (isinf(best)) continue;
          /* Push i into deque (k, d), keeping values increasing front to back; on ties the
           * earlier start stays in front. */
          int *dqk = s->dq + ((size_t)k * D + d) * (B + 1);
          const double *pr = q->pre + (size_t)d * (B + 1);
          double v = best - pr[i];
          int *hh = &head[k * D + d], *tt = &tail[k * D + d];
          while (*tt > *hh && AT(s->h, k, dqk[*tt - 1], d) - pr[dqk[*tt - 1]] > v) (*tt)--;
          dqk[(*tt)++] = i;
        }
    }
    if (!q->boundary[j]) continue;
    for (int d = 0; d < D; d++) {
      int lo = s->lo[(size_t)d * (B + 1) + j], lo2 = s->lo2[(size_t)d * (B + 1) + j];
      if (lo >= j) continue;
      const double *pr = q->pre + (size_t)d * (B + 1);
      double cap = use_mem ? capacity(q->p, d) : INFINITY;
      if (lo == 0 && (lo2 == 0 || full_memory(q, 0, j) <= cap)) {
        AT(s->f, 1, j, d) = range_compute(q, d, 0, j);
        AT(s->fi, 1, j, d) = 0;
      }
      for (int k = 2; k <= K; k++) {
        int *dqk = s->dq + ((size_t)k * D + d) * (B + 1);
        int *hh = &head[k * D + d], *tt = &tail[k * D + d];
        while (*tt > *hh && dqk[*hh] < lo2) (*hh)++;
        /* Starts near the memory limit first: on equal latency the earliest start wins. */
        double best = INFINITY;
        int arg = -1;
        for (int i = lo > 1 ? lo : 1; i < lo2; i++) {
          double h = AT(s->h, k, i, d);
          if (isinf(h) || full_memory(q, i, j) > cap) continue;
          double v = h + (pr[j] - pr[i]);
          if (v < best) best = v, arg = i;
        }
        if (*tt > *hh) {
          int st = dqk[*hh];
          double v = AT(s->h, k, st, d) + (pr[j] - pr[st]);
          if (v < best) best = v, arg = st;
        }
        if (arg < 0) continue;
        AT(s->f, k, j, d) = best;
        AT(s->fi, k, j, d) = arg;
      }
    }
  }
  free(hbuf);
  double best = INFINITY;
  *bk = *bd = -1;
  int kmin = q->p->n_parts > 0 ? q->p->n_parts : 1;
  if (q->forced) kmin = q->p->n_forced_cuts + 1;
  int kmax = q->forced ? kmin : K;
  if (kmax > K) return false;
  for (int k = kmin; k <= kmax; k++)
    for (int d = 0; d < D; d++)
      if (AT(s->f, k, B, d) < best) best = AT(s->f, k, B, d), *bk = k, *bd = d;
  return *bk >= 0;
}

/* Walks the back-pointers into block_device. */
static void dp_trace(const dp *s, int k, int d, int *block_device) {
  int j = s->B;
  while (k >= 1) {
    int i = AT(s->fi, k, j, d);
    for (int b = i; b < j; b++) block_device[b] = d;
    if (k == 1) break;
    int e = AT(s->hd, k, i, d);
    j = i, d = e, k--;
  }
}

void ec_part_plan_free(ec_part_plan *plan) {
  free(plan->parts);
  free(plan->block_device);
  memset(plan, 0, sizeof *plan);
}

static ec_status eval_prepped(const prep *q, const int *bdev, ec_part_plan *out, ec_diag *d) {
  const ec_part_problem *p = q->p;
  int B = q->B;
  memset(out, 0, sizeof *out);
  for (int b = 0; b < B; b++) {
    if (bdev[b] < 0 || bdev[b] >= q->D || (b && bdev[b] < bdev[b - 1]))
      return usage(d, "partition: block %d is placed on device %d out of order", b, bdev[b]);
  }
  out->block_device = malloc(sizeof(int) * (size_t)B);
  out->parts = ec_alloc(sizeof(ec_dp_part) * (size_t)B);
  if (!out->block_device || !out->parts) {
    ec_part_plan_free(out);
    ec_diag_set(d, "", "", "out of memory while planning partitions");
    return EC_ERR_INTERNAL;
  }
  memcpy(out->block_device, bdev, sizeof(int) * (size_t)B);
  for (int b = 0; b < B;) {
    int e = b;
    while (e < B && bdev[e] == bdev[b]) e++;
    ec_dp_part *pt = &out->parts[out->n_parts++];
    pt->device = bdev[b];
    pt->first_block = b, pt->end_block = e;
    for (int x = b; x < e; x++) pt->compute += p->compute[(size_t)x * q->D + pt->device];
    pt->staging = range_staging(q, b, e);
    pt->memory = range_memory(q, b, e) + pt->staging;
    if (e < B) pt->transfer_out = xfer(q, e - 1, bdev[b], bdev[e]);
    b = e;
  }
  for (int k = 0; k < out->n_parts; k++) {
    const ec_dp_part *pt = &out->parts[k];
    out->latency += pt->compute + pt->transfer_out;
    if (pt->compute > out->bottleneck) out->bottleneck = pt->compute;
    if (pt->transfer_out > out->bottleneck) out->bottleneck = pt->transfer_out;
  }
  return EC_OK;
}

ec_status ec_partition_eval(const ec_part_problem *p, const int *block_device,
                            ec_part_plan *out, ec_diag *d) {
  prep q;
  ec_status st = prepare(p, &q, d);
  if (st) return st;
  st = eval_prepped(&q, block_device, out, d);
  prep_free(&q);
  return st;
}

/* Explains why no plan exists, trying the simple reasons first. */
static ec_status explain_infeasible(const prep *q, dp *s, ec_diag *d) {
  const ec_part_problem *p = q->p;
  int B = q->B, D = q->D;
  char nb[32], nb2[32];
  int want = q->forced ? p->n_forced_cuts + 1 : p->n_parts;
  if (want > D) {
    ec_diag_set(d, "", "", "%d partitions need %d devices, but only %d %s given", want, want, D,
                D == 1 ? "is" : "are");
    return EC_ERR_USAGE;
  }
  if (want > B) {
    ec_diag_set(d, "", "", "%d partitions need %d blocks, but the model has only %d (%d split "
                "point%s)", want, want, B, B - 1, B == 2 ? "" : "s");
    return EC_ERR_MODEL;
  }
  for (int b = 0; b < B; b++) {
    bool anywhere = false;
    for (int dv = 0; dv < D && !anywhere; dv++) anywhere = !isinf(p->compute[(size_t)b * D + dv]);
    if (!anywhere) {
      ec_diag_set(d, "", "", "block %d can run on none of the devices", b);
      return EC_ERR_MODEL;
    }
  }
  int bk, bd;
  if (!dp_run(s, q, INFINITY, false, &bk, &bd)) {
    ec_diag_set(d, "", "", "no placement of the %d blocks on the %d devices in order satisfies "
                "the constraints (blocks some devices cannot run, forced cuts)", B, D);
    return EC_ERR_MODEL;
  }
  /* Memory is the obstacle. A block whose weights and arena fit nowhere is named first (the
   * staging at a range's ends depends on the range, so it is left out here). */
  for (int b = 0; b < B; b++) {
    double need = range_memory(q, b, b + 1), best = -1;
    int arg = 0;
    for (int dv = 0; dv < D; dv++)
      if (capacity(p, dv) > best) best = capacity(p, dv), arg = dv;
    if (need > best) {
      ec_diag_set(d, "", "", "device '%s': block %d alone needs %.1f MB (weights + arena) but "
                  "the device has %.1f MB, the most of any device", dev_name(p, arg, nb, sizeof nb),
                  b, need / 1048576.0, best / 1048576.0);
      return EC_ERR_MODEL;
    }
  }
  int *bdev = malloc(sizeof(int) * (size_t)B);
  if (!bdev) return EC_ERR_INTERNAL;
  dp_trace(s, bk, bd, bdev);
  for (int b = 0; b < B;) {
    int e = b;
    while (e < B && bdev[e] == bdev[b]) e++;
    double need = full_memory(q, b, e), cap = capacity(p, bdev[b]);
    if (need > cap) {
      ec_diag_set(d, "", "", "device '%s': blocks %d..%d need %.1f MB (weights %.1f MB + arena "
                  "%.1f MB + staging %.1f MB) but the device has %.1f MB, and no other placement fits",
                  dev_name(p, bdev[b], nb2, sizeof nb2), b, e - 1, need / 1048576.0,
                  (q->wpre[e] - q->wpre[b]) / 1048576.0, range_arena(q, b, e) / 1048576.0,
                  range_staging(q, b, e) / 1048576.0, cap / 1048576.0);
      free(bdev);
      return EC_ERR_MODEL;
    }
    b = e;
  }
  free(bdev);
  ec_diag_set(d, "", "", "no placement fits the devices' memory");
  return EC_ERR_MODEL;
}

static uint64_t dbits(double x) {
  uint64_t u;
  memcpy(&u, &x, sizeof u);
  return u;
}
static double bitsd(uint64_t u) {
  double x;
  memcpy(&x, &u, sizeof x);
  return x;
}

ec_status ec_partition_plan(const ec_part_problem *p, ec_part_plan *out, ec_diag *d) {
  memset(out, 0, sizeof *out);
  prep q;
  ec_status st = prepare(p, &q, d);
  if (st) return st;
  if (p->n_parts < 0) {
    prep_free(&q);
    return usage(d, "--partitions must be at least 1");
  }
  dp s;
  if (!dp_alloc(&s, &q)) {
    dp_free(&s), prep_free(&q);
    ec_diag_set(d, "", "", "out of memory while planning partitions");
    return EC_ERR_INTERNAL;
  }
  int bk, bd;
  if (!dp_run(&s, &q, INFINITY, true, &bk, &bd)) {
    st = explain_infeasible(&q, &s, d);
    dp_free(&s), prep_free(&q);
    return st;
  }
  if (p->objective == EC_OBJ_THROUGHPUT) {
    /* The smallest slowest stage is the least beta for which some plan has every stage
     * <= beta; feasibility is monotone in beta, and non-negative doubles order like their
     * bit patterns, so a binary search on the bits finds it exactly in <= 64 DP runs. The
     * last run at that beta is the least-latency plan among the fastest pipelines. */
    int *bdev = malloc(sizeof(int) * (size_t)q.B);
    if (!bdev) {
      dp_free(&s), prep_free(&q);
      return EC_ERR_INTERNAL;
    }
    dp_trace(&s, bk, bd, bdev);
    ec_part_plan first;
    st = eval_prepped(&q, bdev, &first, d);
    free(bdev);
    if (st) {
      dp_free(&s), prep_free(&q);
      return st;
    }
    /* The DP's stage test is range_compute/xfer, exactly what eval sums for a single
     * partition; for the upper end take the plan's own worst stage recomputed the same way. */
    double hi = 0;
    for (int k = 0; k < first.n_parts; k++) {
      const ec_dp_part *pt = &first.parts[k];
      double c = range_compute(&q, pt->device, pt->first_block, pt->end_block);
      if (c > hi) hi = c;
      if (pt->transfer_out > hi) hi = pt->transfer_out;
    }
    ec_part_plan_free(&first);
    uint64_t lo_b = 0, hi_b = dbits(hi);
    if (dp_run(&s, &q, 0.0, true, &bk, &bd)) {
      hi_b = 0;
    } else {
      while (hi_b - lo_b > 1) {
        uint64_t mid = lo_b + (hi_b - lo_b) / 2;
        if (dp_run(&s, &q, bitsd(mid), true, &bk, &bd))
          hi_b = mid;
        else
          lo_b = mid;
      }
    }
    if (!dp_run(&s, &q, bitsd(hi_b), true, &bk, &bd)) {
      dp_free(&s), prep_free(&q);
      ec_diag_set(d, "", "", "internal: the throughput search lost its plan");
      return EC_ERR_INTERNAL;
    }
  }
  int *bdev = malloc(sizeof(int) * (size_t)q.B);
  if (!bdev) {
    dp_free(&s), prep_free(&q);
    return EC_ERR_INTERNAL;
  }
  dp_trace(&s, bk, bd, bdev);
  st = eval_prepped(&q, bdev, out, d);
  free(bdev);
  dp_free(&s), prep_free(&q);
  return st;
}
