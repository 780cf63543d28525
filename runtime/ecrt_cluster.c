/* ecrt_cluster.c — clusters on persistent worker threads with ready flags per hand-off
 * (ecrt_cluster.h says who owns what). */
#define _POSIX_C_SOURCE 200809L
#include "ecrt_cluster.h"

#include <string.h>

#include "ecrt_platform.h"

/* Polls (since the last tile a thread ran for another cluster) before sleeping on a hand-off or
 * at the end of its cluster: a branch usually hands over within that, and sleeping costs a
 * wake-up of several microseconds. Bounded, so no thread spins after a run. */
#define SPINS 4000

/* One poll's work while waiting: tiles of other clusters' operators. 1 when it ran any. */
static int help_once(ecrt_clusters *k) {
  if (k->help && k->help(k->pool) > 0) return 1;
  eck_cpu_relax();
  return 0;
}

/* What a waiting thread waits for: hand-off h raised (h >= 0), or every cluster of the run
 * finished (h < 0); a failure anywhere ends either wait. */
static int waited(ecrt_clusters *k, int h) {
  if (__atomic_load_n(&k->failed, __ATOMIC_SEQ_CST)) return 1;
  if (h >= 0) return __atomic_load_n(&k->ready[h], __ATOMIC_SEQ_CST) != 0;
  return __atomic_load_n(&k->live, __ATOMIC_SEQ_CST) == 0;
}

/* Waits for h (waited), running the tiles other clusters publish in the pool meanwhile: polls
 * until SPINS polls in a row found none, then sleeps on hand_cv until h, or until tiles are
 * published (ecrt_clusters_published bumps `tiles`), and polls again. Without the second
 * wake-up a thread that fell asleep during a step with nothing to split (a reference kernel, a
 * Transpose before the stem) slept through every operator until its hand-off: inception_v3's
 * stem (20 ms) ran on one thread of two in most runs. */
static void wait_helping(ecrt_clusters *k, int h) {
  for (;;) {
    unsigned seen;
    int i;
    for (i = 0; i < SPINS; i++) {
      if (waited(k, h)) return;
      if (help_once(k)) i = 0;
    }
    __atomic_add_fetch(&k->sleepers, 1, __ATOMIC_SEQ_CST);
    /* Counted as a sleeper before this last look (the fence pairs with the publisher's, in
     * ecrt_clusters_published): tiles published before it are found here, tiles published after
     * it bump `tiles` and end the sleep. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    seen = __atomic_load_n(&k->tiles, __ATOMIC_SEQ_CST);
    if (k->help && k->help(k->pool) > 0) {
      __atomic_sub_fetch(&k->sleepers, 1, __ATOMIC_SEQ_CST);
      continue;
    }
    pthread_mutex_lock(&k->mu);
    while (!waited(k, h) && __atomic_load_n(&k->tiles, __ATOMIC_SEQ_CST) == seen)
      pthread_cond_wait(&k->hand_cv, &k->mu);
    pthread_mutex_unlock(&k->mu);
    __atomic_sub_fetch(&k->sleepers, 1, __ATOMIC_SEQ_CST);
  }
}

/* Wakes the threads asleep on hand_cv, if any. A waiter counts itself before its last look at
 * what it waits for: seeing no sleeper here means it will see the change (both sequentially
 * consistent). */
static void wake_sleepers(ecrt_clusters *k) {
  if (__atomic_load_n(&k->sleepers, __ATOMIC_SEQ_CST) > 0) {
    pthread_mutex_lock(&k->mu);
    pthread_cond_broadcast(&k->hand_cv);
    pthread_mutex_unlock(&k->mu);
  }
}

/* A cluster has finished: its thread helps the others until every cluster has (the last one
 * wakes the threads asleep here), then goes on to the end of the run. */
static void finished(ecrt_clusters *k) {
  if (__atomic_sub_fetch(&k->live, 1, __ATOMIC_SEQ_CST) == 0) {
    wake_sleepers(k);
    return;
  }
  if (k->help) wait_helping(k, -1);
}

void ecrt_clusters_published(void *clusters) {
  ecrt_clusters *k = clusters;
  /* Pairs with the waiter's fence (wait_helping): the tiles stored before it, or the sleeper
   * counted before that, is seen. */
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
  if (__atomic_load_n(&k->sleepers, __ATOMIC_SEQ_CST) == 0) return;
  pthread_mutex_lock(&k->mu);
  __atomic_add_fetch(&k->tiles, 1, __ATOMIC_SEQ_CST);
  pthread_cond_broadcast(&k->hand_cv);
  pthread_mutex_unlock(&k->mu);
}

static void fail(ecrt_clusters *k, int step, int rc) {
  pthread_mutex_lock(&k->mu);
  if (!__atomic_load_n(&k->failed, __ATOMIC_RELAXED) || step < k->failed_step) {
    k->failed_step = step;
    k->failed_rc = rc;
  }
  __atomic_store_n(&k->failed, 1, __ATOMIC_SEQ_CST);
  pthread_cond_broadcast(&k->hand_cv);
  pthread_mutex_unlock(&k->mu);
}

/* The cluster the calling thread runs: worker i runs cluster i + 1, the caller cluster 0. Only
 * profiled runs with a timeline ask. */
static int my_cluster(const ecrt_clusters *k) {
  int i;
  pthread_t self = pthread_self();
  for (i = 0; i < k->n_workers; i++)
    if (pthread_equal(self, k->workers[i])) return k->wargs[i + 1].index;
  return 0;
}

int ecrt_cluster_step(ecrt_clusters *k, int s) {
  uint64_t t0;
  int rc;
  /* A step the run's models do not need: its hand-offs are still signalled by the caller. */
  if (k->step_models && !(k->step_models[s] & k->models)) return 1;
  t0 = k->prof_ns || k->timeline ? ecrt_now_ns() : 0;
  if (k->timeline) {
    k->timeline[2 * (size_t)s] = t0 - k->t0;
    k->timeline[2 * (size_t)s + 1] = (uint64_t)my_cluster(k);
  }
  rc = k->steps[s].fn(k->ctx);
  if (k->prof_ns) k->prof_ns[s] += ecrt_now_ns() - t0;
  if (rc != ECK_OK) fail(k, s, rc);
  return rc == ECK_OK;
}

void ecrt_cluster_ready(ecrt_clusters *k, int h) {
  __atomic_store_n(&k->ready[h], 1, __ATOMIC_SEQ_CST);
  wake_sleepers(k);
}

int ecrt_cluster_wait(ecrt_clusters *k, int h) {
  wait_helping(k, h);
  return __atomic_load_n(&k->ready[h], __ATOMIC_ACQUIRE) != 0;
}

static void *worker(void *p) {
  ecrt_clusters *k = ((ecrt_cluster_worker *)p)->k;
  int index = ((ecrt_cluster_worker *)p)->index;
  unsigned seen = 0;
  if (k->enter) k->enter(index);
  for (;;) {
    pthread_mutex_lock(&k->mu);
    while (k->gen == seen && !k->stop) pthread_cond_wait(&k->go_cv, &k->mu);
    if (k->stop) {
      pthread_mutex_unlock(&k->mu);
      return NULL;
    }
    seen = k->gen;
    pthread_mutex_unlock(&k->mu);
    k->fns[index](k, k->ctx);
    finished(k);
    pthread_mutex_lock(&k->mu);
    if (--k->running == 0) pthread_cond_signal(&k->done_cv);
    pthread_mutex_unlock(&k->mu);
  }
}

ecrt_status ecrt_clusters_start(ecrt_clusters *k, const ecrt_cluster_fn *fns, int n_clusters, int *ready,
                                int n_ready, const ecrt_step *steps, void *ctx, int threads,
                                void (*enter)(int cluster), int (*help)(void *pool), void *pool,
                                void (*watch)(void *pool, void (*published)(void *), void *clusters)) {
  int i;
  memset(k, 0, sizeof *k);
  k->enter = enter;
  k->help = help;
  k->pool = pool;
  k->fns = fns;
  k->n_clusters = n_clusters;
  k->ready = ready;
  k->n_ready = n_ready;
  k->steps = steps;
  k->ctx = ctx;
  if (n_clusters < 2 || n_clusters > ECRT_MAX_CLUSTERS || threads < n_clusters) return ECRT_OK;
  if (pthread_mutex_init(&k->mu, NULL)) return ECRT_ERR_NOMEM;
  if (pthread_cond_init(&k->go_cv, NULL) || pthread_cond_init(&k->done_cv, NULL) ||
      pthread_cond_init(&k->hand_cv, NULL))
    return ECRT_ERR_NOMEM; /* a condition variable without resources: nothing to undo on POSIX */
  k->started = 1;
  if (watch && help) {
    k->watch = watch;
    watch(pool, ecrt_clusters_published, k);
  }
  for (i = 1; i < n_clusters; i++) {
    k->wargs[i].k = k;
    k->wargs[i].index = i;
    if (pthread_create(&k->workers[k->n_workers], NULL, worker, &k->wargs[i])) {
      ecrt_clusters_stop(k);
      return ECRT_ERR_NOMEM;
    }
    k->n_workers++;
  }
  return ECRT_OK;
}

void ecrt_clusters_stop(ecrt_clusters *k) {
  int i;
  if (!k->started) return;
  pthread_mutex_lock(&k->mu);
  k->stop = 1;
  pthread_cond_broadcast(&k->go_cv);
  pthread_mutex_unlock(&k->mu);
  for (i = 0; i < k->n_workers; i++) pthread_join(k->workers[i], NULL);
  if (k->watch) k->watch(k->pool, NULL, NULL);
  pthread_cond_destroy(&k->go_cv);
  pthread_cond_destroy(&k->done_cv);
  pthread_cond_destroy(&k->hand_cv);
  pthread_mutex_destroy(&k->mu);
  k->started = 0;
  k->n_workers = 0;
}

ecrt_status ecrt_clusters_run(ecrt_clusters *k, int n, uint64_t *prof_ns, int *failed) {
  int i;
  if (!k->started) return ecrt_run_steps_for(k->steps, k->step_models, k->models, n, k->ctx, prof_ns, failed);
  /* The flags are reset before the workers are woken: the mutex orders the reset before any of
   * their reads. */
  for (i = 0; i < k->n_ready; i++) __atomic_store_n(&k->ready[i], 0, __ATOMIC_RELAXED);
  __atomic_store_n(&k->failed, 0, __ATOMIC_RELAXED);
  __atomic_store_n(&k->live, k->n_clusters, __ATOMIC_RELAXED);
  k->prof_ns = prof_ns;
  /* The context's first member is its ecrt_ctx (ecrt.h); the timeline is for profiles only. */
  k->timeline = prof_ns ? ((ecrt_ctx *)k->ctx)->prof_timeline : NULL;
  k->t0 = k->timeline ? ecrt_now_ns() : 0;
  pthread_mutex_lock(&k->mu);
  k->failed_step = -1;
  k->running = k->n_workers;
  k->gen++;
  pthread_cond_broadcast(&k->go_cv);
  pthread_mutex_unlock(&k->mu);
  if (k->enter) k->enter(0);
  k->fns[0](k, k->ctx);
  finished(k);
  pthread_mutex_lock(&k->mu);
  while (k->running > 0) pthread_cond_wait(&k->done_cv, &k->mu);
  pthread_mutex_unlock(&k->mu);
  if (__atomic_load_n(&k->failed, __ATOMIC_ACQUIRE)) {
    if (failed) *failed = k->failed_step;
    ecrt_note_kernel_failure(k->ctx, k->failed_rc);
    return ECRT_ERR_KERNEL;
  }
  return ECRT_OK;
}
