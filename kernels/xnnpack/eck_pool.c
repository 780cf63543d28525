/* eck_pool.c — the thread pool XNNPACK runs on: pthreadpool's interface (the functions Debian's
 * XNNPACK calls), implemented so that the calling thread never waits for a worker that has not
 * started. Generated programs link this file, so XNNPACK's calls bind to it, not to libpthreadpool.
 *
 * Why: libpthreadpool splits each operator's tiles among all threads up front, and the caller
 * then waits until every worker has signalled; on a busy machine a worker that is not scheduled
 * holds up every operator for a time slice (2-thread runs were 5-10x slower than 1 thread here).
 * Here each tile is claimed one at a time from one atomic word (generation | count | next): the
 * caller claims tiles too, and once none is left waits only for workers inside a tile. A worker
 * that wakes late finds the generation moved or no tile left and goes back to waiting. C99 with
 * the GCC/Clang __atomic builtins and POSIX threads.
 *
 * A pool shared by clusters (eck_pool_create_shared, runtime/ecrt_cluster.h): each cluster's
 * thread owns a slot (eck_pool_enter) and publishes its operators' tiles there; the pool's own
 * workers (the threads the clusters leave over) and the cluster threads that wait for a hand-off
 * or have finished (eck_pool_help) claim tiles of any slot; a publish calls back the clusters
 * (eck_pool_watch), which wakes cluster threads asleep in a wait to help. So the trunk between
 * branches runs on every thread and the branches side by side, and no more threads run than the
 * pool was given.
 * edgecc-link: pthreadpool */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <pthreadpool.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eck_xnn.h"

#define MAX_WORKERS 63
#define MAX_SLOTS 64     /* threads that publish operators into one pool (clusters) */
#define SPIN_WAIT 20000  /* polls before a worker sleeps (about 0.5 ms): operators come back to back */
#define SPIN_YIELD 2000  /* polls before the waiting caller starts yielding its core */
#define BITS 24          /* tile count and next tile in the state word; generation in the top 16 */
#define MASK ((UINT64_C(1) << BITS) - 1)

enum { K_1D, K_1D_T1, K_2D, K_2D_T1, K_2D_T2, K_3D, K_3D_T2, K_4D, K_4D_T2, K_5D, K_5D_T2, K_6D_T2 };

typedef struct job {
  int kind;
  void (*fn)(void);
  void *ctx;
  int dims;
  size_t range[6], tile[6], count[6];
} job;

/* One publishing thread's operator: its tiles and who is inside them. */
typedef struct slot {
  uint64_t state;                /* atomic: generation << 48 | tiles << 24 | next tile */
  uint32_t active;               /* atomic: threads inside claim_tiles */
  job j;                         /* written by the owner before the generation is published */
  pthread_mutex_t run_mu;        /* one parallelize call at a time */
} slot;

struct pthreadpool {
  size_t threads;                /* every thread that may run tiles: workers + the owners */
  pthread_t tid[MAX_WORKERS];
  size_t started;
  int n_slots;                   /* 1, or the clusters sharing the pool */
  uint32_t wake;                 /* atomic: generation the workers are woken for */
  uint32_t sleepers;             /* atomic */
  int stop;                      /* atomic */
  pthread_mutex_t mu;
  pthread_cond_t cv;
  /* Called after each publish of a shared pool's slot (eck_pool_watch): the cluster threads
   * asleep in a wait are woken to help (runtime/ecrt_cluster.h). */
  void (*published)(void *);
  void *published_arg;
  slot slots[MAX_SLOTS];
};

/* The slot the calling thread publishes into (eck_pool_enter); 0 on every thread by default. */
static __thread int my_slot;

typedef void (*f1)(void *, size_t);
typedef void (*f2)(void *, size_t, size_t);
typedef void (*f3)(void *, size_t, size_t, size_t);
typedef void (*f4)(void *, size_t, size_t, size_t, size_t);
typedef void (*f5)(void *, size_t, size_t, size_t, size_t, size_t);
typedef void (*f6)(void *, size_t, size_t, size_t, size_t, size_t, size_t);
typedef void (*f7)(void *, size_t, size_t, size_t, size_t, size_t, size_t, size_t);
typedef void (*f8)(void *, size_t, size_t, size_t, size_t, size_t, size_t, size_t, size_t);

/* Runs tile t: its grid position decoded (last dimension fastest), tiled dimensions passed as
 * start and size. */
static void run_tile(const job *j, size_t t) {
  size_t s[6], z[6];
  for (int d = j->dims - 1; d >= 0; d--) {
    size_t q = t % j->count[d];
    t /= j->count[d];
    s[d] = q * j->tile[d];
    z[d] = j->range[d] - s[d] < j->tile[d] ? j->range[d] - s[d] : j->tile[d];
  }
  void *c = j->ctx;
  switch (j->kind) {
    case K_1D: ((f1)j->fn)(c, s[0]); break;
    case K_1D_T1: ((f2)j->fn)(c, s[0], z[0]); break;
    case K_2D: ((f2)j->fn)(c, s[0], s[1]); break;
    case K_2D_T1: ((f3)j->fn)(c, s[0], s[1], z[1]); break;
    case K_2D_T2: ((f4)j->fn)(c, s[0], s[1], z[0], z[1]); break;
    case K_3D: ((f3)j->fn)(c, s[0], s[1], s[2]); break;
    case K_3D_T2: ((f5)j->fn)(c, s[0], s[1], s[2], z[1], z[2]); break;
    case K_4D: ((f4)j->fn)(c, s[0], s[1], s[2], s[3]); break;
    case K_4D_T2: ((f6)j->fn)(c, s[0], s[1], s[2], s[3], z[2], z[3]); break;
    case K_5D: ((f5)j->fn)(c, s[0], s[1], s[2], s[3], s[4]); break;
    case K_5D_T2: ((f7)j->fn)(c, s[0], s[1], s[2], s[3], s[4], z[3], z[4]); break;
    default: ((f8)j->fn)(c, s[0], s[1], s[2], s[3], s[4], s[5], z[4], z[5]); break;
  }
}

/* Claims and runs tiles of the slot's job until none is left; returns how many it ran. The job
 * is read only after a successful claim: the owner publishes a job (release) after writing it,
 * and cannot publish the next one while this thread is counted active, so the claimed tile and
 * q->j belong together (and the state word cannot come back to an old value between the load
 * and the swap). */
static int claim_tiles(slot *q) {
  int ran = 0;
  __atomic_fetch_add(&q->active, 1, __ATOMIC_SEQ_CST);
  for (;;) {
    uint64_t s = __atomic_load_n(&q->state, __ATOMIC_ACQUIRE);
    if ((s & MASK) >= ((s >> BITS) & MASK)) break;
    if (!__atomic_compare_exchange_n(&q->state, &s, s + 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) continue;
    run_tile(&q->j, (size_t)(s & MASK));
    ran++;
  }
  __atomic_fetch_sub(&q->active, 1, __ATOMIC_SEQ_CST);
  return ran;
}

/* Tiles of any slot that has some left (a look at the state word first: a thread that only
 * looks does not touch the owner's active count). */
static int help_slots(struct pthreadpool *p) {
  int ran = 0;
  for (int i = 0; i < p->n_slots; i++) {
    uint64_t s = __atomic_load_n(&p->slots[i].state, __ATOMIC_ACQUIRE);
    if ((s & MASK) < ((s >> BITS) & MASK)) ran += claim_tiles(&p->slots[i]);
  }
  return ran;
}

static void *worker(void *arg) {
  struct pthreadpool *p = arg;
  uint32_t seen = 0;
  for (;;) {
    uint32_t w = seen;
    for (int i = 0; i < SPIN_WAIT && (w = __atomic_load_n(&p->wake, __ATOMIC_ACQUIRE)) == seen &&
                    !__atomic_load_n(&p->stop, __ATOMIC_ACQUIRE);
         i++)
      eck_cpu_relax();
    if (w == seen && !__atomic_load_n(&p->stop, __ATOMIC_ACQUIRE)) {
      pthread_mutex_lock(&p->mu);
      __atomic_fetch_add(&p->sleepers, 1, __ATOMIC_SEQ_CST);
      while ((w = __atomic_load_n(&p->wake, __ATOMIC_SEQ_CST)) == seen &&
             !__atomic_load_n(&p->stop, __ATOMIC_SEQ_CST))
        pthread_cond_wait(&p->cv, &p->mu);
      __atomic_fetch_sub(&p->sleepers, 1, __ATOMIC_SEQ_CST);
      pthread_mutex_unlock(&p->mu);
    }
    if (__atomic_load_n(&p->stop, __ATOMIC_ACQUIRE)) return NULL;
    seen = w;
    help_slots(p);
  }
}

/* threads: every thread that runs tiles; owners of them publish (the rest are started here). */
static struct pthreadpool *pool_make(size_t threads, int owners) {
  struct pthreadpool *p;
  if (threads > MAX_WORKERS + 1) threads = MAX_WORKERS + 1;
  if (owners < 1) owners = 1;
  if (owners > MAX_SLOTS || (size_t)owners > threads) return NULL;
  p = calloc(1, sizeof *p);
  if (!p) return NULL;
  p->n_slots = owners;
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->cv, NULL);
  for (int i = 0; i < owners; i++) pthread_mutex_init(&p->slots[i].run_mu, NULL);
  for (size_t i = 0; i + (size_t)owners < threads; i++) {
    if (pthread_create(&p->tid[i], NULL, worker, p) != 0) break;
    p->started++;
  }
  p->threads = p->started + (size_t)owners;
  return p;
}

pthreadpool_t pthreadpool_create(size_t threads) {
  if (threads == 0) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    threads = n > 0 ? (size_t)n : 1;
  }
  return pool_make(threads, 1);
}

void pthreadpool_destroy(pthreadpool_t p) {
  if (!p) return;
  pthread_mutex_lock(&p->mu);
  __atomic_store_n(&p->stop, 1, __ATOMIC_SEQ_CST);
  pthread_cond_broadcast(&p->cv);
  pthread_mutex_unlock(&p->mu);
  for (size_t i = 0; i < p->started; i++) pthread_join(p->tid[i], NULL);
  pthread_mutex_destroy(&p->mu);
  pthread_cond_destroy(&p->cv);
  for (int i = 0; i < p->n_slots; i++) pthread_mutex_destroy(&p->slots[i].run_mu);
  free(p);
}

size_t pthreadpool_get_threads_count(pthreadpool_t p) { return p ? p->threads : 1; }

/* Runs job j over the pool from the caller's slot, or on the caller alone when there is no
 * pool, one tile, or the caller owns no slot of this pool. */
static void parallelize(struct pthreadpool *p, const job *jin) {
  job j = *jin;
  size_t total = 1;
  for (int d = 0; d < j.dims; d++) {
    if (j.tile[d] == 0) j.tile[d] = 1;
    j.count[d] = (j.range[d] + j.tile[d] - 1) / j.tile[d];
    total *= j.count[d];
  }
  if (total == 0) return;
  if (!p || p->threads <= 1 || total == 1 || total > MASK || my_slot >= p->n_slots) {
    for (size_t t = 0; t < total; t++) run_tile(&j, t);
    return;
  }
  slot *q = &p->slots[my_slot];
  pthread_mutex_lock(&q->run_mu);
  q->j = j;
  uint64_t gen = ((__atomic_load_n(&q->state, __ATOMIC_RELAXED) >> 48) + 1) & 0xffffu;
  __atomic_store_n(&q->state, gen << 48 | (uint64_t)total << BITS, __ATOMIC_RELEASE);
  __atomic_fetch_add(&p->wake, 1, __ATOMIC_SEQ_CST);
  if (__atomic_load_n(&p->sleepers, __ATOMIC_SEQ_CST)) {
    pthread_mutex_lock(&p->mu);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
  }
  if (p->published) p->published(p->published_arg);
  claim_tiles(q);
  for (int i = 0; __atomic_load_n(&q->active, __ATOMIC_ACQUIRE) != 0; i++) {
    if (i < SPIN_YIELD) eck_cpu_relax();
    else sched_yield();
  }
  pthread_mutex_unlock(&q->run_mu);
}

#define JOB(K, D, F)            \
  job j;                        \
  memset(&j, 0, sizeof j);      \
  j.kind = K;                   \
  j.dims = D;                   \
  j.fn = (void (*)(void))(F);   \
  j.ctx = ctx;                  \
  for (int d = 0; d < 6; d++) j.tile[d] = 1

void pthreadpool_parallelize_1d(pthreadpool_t p, pthreadpool_task_1d_t fn, void *ctx, size_t r0,
                                uint32_t flags) {
  JOB(K_1D, 1, fn);
  (void)flags;
  j.range[0] = r0;
  parallelize(p, &j);
}

void pthreadpool_parallelize_1d_tile_1d(pthreadpool_t p, pthreadpool_task_1d_tile_1d_t fn, void *ctx,
                                        size_t r0, size_t t0, uint32_t flags) {
  JOB(K_1D_T1, 1, fn);
  (void)flags;
  j.range[0] = r0, j.tile[0] = t0;
  parallelize(p, &j);
}

void pthreadpool_parallelize_2d(pthreadpool_t p, pthreadpool_task_2d_t fn, void *ctx, size_t r0,
                                size_t r1, uint32_t flags) {
  JOB(K_2D, 2, fn);
  (void)flags;
  j.range[0] = r0, j.range[1] = r1;
  parallelize(p, &j);
}

void pthreadpool_parallelize_2d_tile_1d(pthreadpool_t p, pthreadpool_task_2d_tile_1d_t fn, void *ctx,
                                        size_t r0, size_t r1, size_t t1, uint32_t flags) {
  JOB(K_2D_T1, 2, fn);
  (void)flags;
  j.range[0] = r0, j.range[1] = r1, j.tile[1] = t1;
  parallelize(p, &j);
}

void pthreadpool_parallelize_2d_tile_2d(pthreadpool_t p, pthreadpool_task_2d_tile_2d_t fn, void *ctx,
                                        size_t r0, size_t r1, size_t t0, size_t t1, uint32_t flags) {
  JOB(K_2D_T2, 2, fn);
  (void)flags;
  j.range[0] = r0, j.range[1] = r1, j.tile[0] = t0, j.tile[1] = t1;
  parallelize(p, &j);
}

void pthreadpool_parallelize_3d(pthreadpool_t p, pthreadpool_task_3d_t fn, void *ctx, size_t r0,
                                size_t r1, size_t r2, uint32_t flags) {
  JOB(K_3D, 3, fn);
  (void)flags;
  j.range[0] = r0, j.range[1] = r1, j.range[2] = r2;
  parallelize(p, &j);
}

void pthreadpool_parallelize_3d_tile_2d(pthreadpool_t p, pthreadpool_task_3d_tile_2d_t fn, void *ctx,
                                        size_t r0, size_t r1, size_t r2, size_t t1, size_t t2,
                                        uint32_t flags) {
  JOB(K_3D_T2, 3, fn);
  (void)flags;
  j.range[0] = r0, j.range[1] = r1, j.range[2] = r2, j.tile[1] = t1, j.tile[2] = t2;
  parallelize(p, &j);
}

void pthreadpool_parallelize_4d(pthreadpool_t p, pthreadpool_task_4d_t fn, void *ctx, size_t r0,
                                size_t r1, size_t r2, size_t r3, uint32_t flags) {
  JOB(K_4D, 4, fn);
  (void)flags;
  j.range[0] = r0, j.range[1] = r1, j.range[2] = r2, j.range[3] = r3;
  parallelize(p, &j);
}

void pthreadpool_parallelize_4d_tile_2d(pthreadpool_t p, pthreadpool_task_4d_tile_2d_t fn, void *ctx,
                                        size_t r0, size_t r1, size_t r2, size_t r3, size_t t2, size_t t3,
                                        uint32_t flags) {
  JOB(K_4D_T2, 4, fn);
  (void)flags;
  j.range[0] = r0, j.range[1] = r1, j.range[2] = r2, j.range[3] = r3, j.tile[2] = t2, j.tile[3] = t3;
  parallelize(p, &j);
}

void pthreadpool_parallelize_5d(pthreadpool_t p, pthreadpool_task_5d_t fn, void *ctx, size_t r0,
                                size_t r1, size_t r2, size_t r3, size_t r4, uint32_t flags) {
  JOB(K_5D, 5, fn);
  (void)flags;
  j.range[0] = r0, j.range[1] = r1, j.range[2] = r2, j.range[3] = r3, j.range[4] = r4;
  parallelize(p, &j);
}

void pthreadpool_parallelize_5d_tile_2d(pthreadpool_t p, pthreadpool_task_5d_tile_2d_t fn, void *ctx,
                                        size_t r0, size_t r1, size_t r2, size_t r3, size_t r4, size_t t3,
                                        size_t t4, uint32_t flags) {
  JOB(K_5D_T2, 5, fn);
  (void)flags;
  j.range[0] = r0, j.range[1] = r1, j.range[2] = r2, j.range[3] = r3, j.range[4] = r4;
  j.tile[3] = t3, j.tile[4] = t4;
  parallelize(p, &j);
}

void pthreadpool_parallelize_6d_tile_2d(pthreadpool_t p, pthreadpool_task_6d_tile_2d_t fn, void *ctx,
                                        size_t r0, size_t r1, size_t r2, size_t r3, size_t r4, size_t r5,
                                        size_t t4, size_t t5, uint32_t flags) {
  JOB(K_6D_T2, 6, fn);
  (void)flags;
  j.range[0] = r0, j.range[1] = r1, j.range[2] = r2, j.range[3] = r3, j.range[4] = r4, j.range[5] = r5;
  j.tile[4] = t4, j.tile[5] = t5;
  parallelize(p, &j);
}

void *eck_pool_create(int threads) { return pthreadpool_create(threads > 0 ? (size_t)threads : 0); }

void *eck_pool_create_shared(int threads, int owners) {
  return pool_make(threads > 0 ? (size_t)threads : 1, owners);
}

void eck_pool_enter(int slot) { my_slot = slot >= 0 ? slot : 0; }

void eck_pool_watch(void *pool, void (*published)(void *), void *arg) {
  struct pthreadpool *p = pool;
  if (!p) return;
  p->published = published;
  p->published_arg = arg;
}

int eck_pool_help(void *pool) { return pool ? help_slots((struct pthreadpool *)pool) : 0; }

void eck_pool_destroy(void *pool) { pthreadpool_destroy((pthreadpool_t)pool); }
