/* ecrt_transport_shm.c — the shm://NAME transport for partitions on one board: a byte stream
 * through two ring buffers in POSIX shared memory, process-shared semaphores to wake waiters.
 *
 * The listener owns `/ecrt-NAME`, a control segment with a few connect slots. A client creates
 * its own connection segment (two 1 MiB rings), posts its name in a free slot and waits for the
 * listener to map it; both then drop the name, so the memory goes away with the last process.
 * Semaphores cannot tell that a peer died, so every wait is sliced (50 ms) and checks the peer's
 * pid and closed flag: a killed peer is noticed within a slice, never waited on forever. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ecrt_platform.h"
#include "ecrt_transport.h"

#define CTL_MAGIC 0x4c544345u  /* "ECTL" */
#define SEG_MAGIC 0x47455345u  /* "ESEG" */
#define N_SLOTS 16
#define RING_BYTES ((uint64_t)1 << 20)
#define SLICE_MS 50

typedef struct ctl_seg {
  uint32_t magic;
  int32_t owner;                 /* the listener's pid */
  sem_t req;                     /* posted when a slot is filled */
  struct {
    int32_t state;               /* 0 free, 1 being filled, 2 ready for the listener */
    int32_t pid;                 /* the client filling it */
    char name[64];               /* its connection segment */
  } slot[N_SLOTS];
} ctl_seg;

typedef struct ring {
  uint64_t head, tail;           /* bytes written / read so far (atomics) */
  sem_t data, space;             /* posted after a write / a read */
} ring;

typedef struct conn_seg {
  uint32_t magic;
  int32_t pid[2];                /* [0] the client, [1] the server */
  int32_t closed[2];             /* set by a side that closes */
  sem_t accepted;
  ring r[2];                     /* r[0] client -> server, r[1] server -> client */
  unsigned char buf[2][RING_BYTES];
} conn_seg;

typedef struct shm_conn {
  ecrt_conn base;
  conn_seg *seg;
  int side;                      /* 0 client, 1 server */
  volatile int down;
} shm_conn;

typedef struct shm_listener {
  ecrt_listener base;
  ctl_seg *ctl;
  char name[80];
} shm_listener;

static int alive(int32_t pid) { return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM); }

static int ld32(int32_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static void st32(int32_t *p, int32_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
static uint64_t ld64(uint64_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static void st64(uint64_t *p, uint64_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }

/* Waits on s for up to ms: 1 woken, 0 timed out. */
static int sem_wait_ms(sem_t *s, int ms) {
  struct timespec ts;
  int r;
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_sec += ms / 1000;
  ts.tv_nsec += (long)(ms % 1000) * 1000000L;
  if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
  do r = sem_timedwait(s, &ts);
  while (r != 0 && errno == EINTR);
  return r == 0;
}

/* Posting only an idle semaphore keeps its count small; a positive count already promises the
 * waiter a wake-up, after which it re-reads head and tail. */
static void wake(sem_t *s) {
  int v = 0;
  if (sem_getvalue(s, &v) != 0 || v <= 0) sem_post(s);
}

static int valid_name(const char *n) {
  size_t i, len = strlen(n);
  if (len == 0 || len > 40) return 0;
  for (i = 0; i < len; i++)
    if (!((n[i] >= 'a' && n[i] <= 'z') || (n[i] >= 'A' && n[i] <= 'Z') ||
          (n[i] >= '0' && n[i] <= '9') || n[i] == '_' || n[i] == '-' || n[i] == '.'))
      return 0;
  return 1;
}

static void *map_fd(int fd, size_t len) {
  void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  return p == MAP_FAILED ? NULL : p;
}

/* ---- connections ---------------------------------------------------------------------------- */

static int peer_gone(shm_conn *c) {
  conn_seg *s = c->seg;
  return c->down || ld32(&s->closed[1 - c->side]) || !alive(ld32(&s->pid[1 - c->side]));
}

static ecrt_net_status shm_sendv(ecrt_conn *cc, const ecrt_iov *iov, int n, int timeout_ms) {
  shm_conn *c = (shm_conn *)cc;
  ring *w = &c->seg->r[c->side];
  unsigned char *buf = c->seg->buf[c->side];
  uint64_t deadline = ecrt_now_ns() + (uint64_t)timeout_ms * 1000000u;
  int i;
  for (i = 0; i < n; i++) {
    const unsigned char *p = iov[i].base;
    size_t left = iov[i].len;
    while (left) {
      uint64_t head = w->head, tail = ld64(&w->tail), space = RING_BYTES - (head - tail), at, k;
      if (c->down || ld32(&c->seg->closed[1 - c->side])) return ECRT_NET_CLOSED;
      if (space == 0) {
        int ms = ecrt_ms_left(deadline);
        if (ms == 0) return ECRT_NET_TIMEOUT;
        if (!sem_wait_ms(&w->space, ms < SLICE_MS ? ms : SLICE_MS) && peer_gone(c))
          return ECRT_NET_CLOSED;
        continue;
      }
      k = space < left ? space : left;
      at = head % RING_BYTES;
      if (at + k > RING_BYTES) {
        memcpy(buf + at, p, (size_t)(RING_BYTES - at));
        memcpy(buf, p + (RING_BYTES - at), (size_t)(k - (RING_BYTES - at)));
      } else {
        memcpy(buf + at, p, (size_t)k);
      }
      st64(&w->head, head + k);
      wake(&w->data);
      p += k;
      left -= (size_t)k;
    }
  }
  return ECRT_NET_OK;
}

static ecrt_net_status shm_recv(ecrt_conn *cc, void *out, size_t len, int timeout_ms) {
  shm_conn *c = (shm_conn *)cc;
  ring *r = &c->seg->r[1 - c->side];
  unsigned char *buf = c->seg->buf[1 - c->side], *p = out;
  uint64_t deadline = ecrt_now_ns() + (uint64_t)timeout_ms * 1000000u;
  while (len) {
    uint64_t tail = r->tail, avail = ld64(&r->head) - tail, at, k;
    if (c->down) return ECRT_NET_CLOSED;
    if (avail == 0) {
      int ms = ecrt_ms_left(deadline);
      if (ld32(&c->seg->closed[1 - c->side])) return ECRT_NET_CLOSED;
      if (ms == 0) return ECRT_NET_TIMEOUT;
      if (!sem_wait_ms(&r->data, ms < SLICE_MS ? ms : SLICE_MS) && peer_gone(c))
        return ECRT_NET_CLOSED;
      continue;
    }
    k = avail < len ? avail : len;
    at = tail % RING_BYTES;
    if (at + k > RING_BYTES) {
      memcpy(p, buf + at, (size_t)(RING_BYTES - at));
      memcpy(p + (RING_BYTES - at), buf, (size_t)(k - (RING_BYTES - at)));
    } else {
      memcpy(p, buf + at, (size_t)k);
    }
    st64(&r->tail, tail + k);
    wake(&r->space);
    p += k;
    len -= (size_t)k;
  }
  return ECRT_NET_OK;
}

static ecrt_net_status shm_wait_readable(ecrt_conn *cc, int timeout_ms) {
  shm_conn *c = (shm_conn *)cc;
  ring *r = &c->seg->r[1 - c->side];
  uint64_t deadline = ecrt_now_ns() + (uint64_t)timeout_ms * 1000000u;
  for (;;) {
    int ms;
    if (c->down) return ECRT_NET_CLOSED;
    if (ld64(&r->head) != r->tail) return ECRT_NET_OK;
    if (ld32(&c->seg->closed[1 - c->side])) return ECRT_NET_CLOSED;
    ms = ecrt_ms_left(deadline);
    if (ms == 0) return ECRT_NET_TIMEOUT;
    if (!sem_wait_ms(&r->data, ms < SLICE_MS ? ms : SLICE_MS) && peer_gone(c) &&
        ld64(&r->head) == r->tail)
      return ECRT_NET_CLOSED;
  }
}

static void shm_shutdown(ecrt_conn *cc) {
  shm_conn *c = (shm_conn *)cc;
  c->down = 1;
  st32(&c->seg->closed[c->side], 1);
  sem_post(&c->seg->r[0].data);
  sem_post(&c->seg->r[0].space);
  sem_post(&c->seg->r[1].data);
  sem_post(&c->seg->r[1].space);
}

static void shm_close(ecrt_conn *cc) {
  shm_conn *c = (shm_conn *)cc;
  shm_shutdown(cc);
  munmap(c->seg, sizeof *c->seg);
  free(c);
}

static const ecrt_conn_ops shm_conn_ops = {shm_sendv, shm_recv, shm_wait_readable, shm_shutdown,
                                           shm_close};

static ecrt_conn *wrap(conn_seg *seg, int side, const char *peer) {
  shm_conn *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  c->base.ops = &shm_conn_ops;
  c->seg = seg;
  c->side = side;
  snprintf(c->base.peer, sizeof c->base.peer, "%.120s", peer);
  return &c->base;
}

/* ---- listener ------------------------------------------------------------------------------- */

static ecrt_net_status shm_accept(ecrt_listener *l, ecrt_conn **out, int timeout_ms, char *err,
                                  size_t err_len) {
  shm_listener *sl = (shm_listener *)l;
  ctl_seg *ctl = sl->ctl;
  uint64_t deadline = ecrt_now_ns() + (uint64_t)timeout_ms * 1000000u;
  *out = NULL;
  for (;;) {
    int i, ms;
    for (i = 0; i < N_SLOTS; i++) {
      int32_t st = ld32(&ctl->slot[i].state);
      if (st == 2) {
        char name[64], peer[160];
        conn_seg *seg = NULL;
        int fd;
        memcpy(name, ctl->slot[i].name, sizeof name);
        name[sizeof name - 1] = 0;
        fd = shm_open(name, O_RDWR, 0600);
        if (fd >= 0) seg = map_fd(fd, sizeof(conn_seg));
        st32(&ctl->slot[i].state, 0);
        if (!seg) continue;
        if (seg->magic != SEG_MAGIC) {
          munmap(seg, sizeof *seg);
          continue;
        }
        st32(&seg->pid[1], (int32_t)getpid());
        snprintf(peer, sizeof peer, "%.100s (pid %d)", l->endpoint, (int)seg->pid[0]);
        *out = wrap(seg, 1, peer);
        if (!*out) {
          munmap(seg, sizeof *seg);
          snprintf(err, err_len, "out of memory");
          return ECRT_NET_ERR;
        }
        sem_post(&seg->accepted);
        return ECRT_NET_OK;
      }
      /* A client that died while filling its slot must not hold it forever. */
      if (st == 1 && !alive(ld32(&ctl->slot[i].pid)))
        __atomic_compare_exchange_n(&ctl->slot[i].state, &st, 0, 0, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE);
    }
    ms = ecrt_ms_left(deadline);
    if (ms == 0) return ECRT_NET_TIMEOUT;
    sem_wait_ms(&ctl->req, ms < SLICE_MS ? ms : SLICE_MS);
  }
}

static void shm_listener_close(ecrt_listener *l) {
  shm_listener *sl = (shm_listener *)l;
  if (ld32(&sl->ctl->owner) == (int32_t)getpid()) shm_unlink(sl->name);
  munmap(sl->ctl, sizeof *sl->ctl);
  free(sl);
}

static const ecrt_listener_ops shm_listener_ops = {shm_accept, shm_listener_close};

ecrt_net_status ecrt_shm_listen(const char *addr, ecrt_listener **out, char *err, size_t err_len) {
  shm_listener *l;
  ctl_seg *ctl = NULL;
  char name[80];
  int fd, attempt;
  *out = NULL;
  if (!valid_name(addr)) {
    snprintf(err, err_len, "shm://%s: the name must be 1 to 40 letters, digits, '_', '-' or '.'", addr);
    return ECRT_NET_ERR;
  }
  snprintf(name, sizeof name, "/ecrt-%s", addr);
  for (attempt = 0;; attempt++) {
    fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
    if (fd >= 0) break;
    if (errno != EEXIST || attempt > 0) {
      snprintf(err, err_len, "shm://%s: cannot create %s: %s", addr, name, strerror(errno));
      return ECRT_NET_ERR;
    }
    /* Left behind by a server that was killed? Replace it unless its owner still runs. */
    fd = shm_open(name, O_RDWR, 0600);
    if (fd >= 0) {
      struct stat sb;
      ctl_seg *old = fstat(fd, &sb) == 0 && (size_t)sb.st_size >= sizeof *old ? map_fd(fd, sizeof *old) : (close(fd), NULL);
      int owner = old && old->magic == CTL_MAGIC ? ld32(&old->owner) : 0;
      if (old) munmap(old, sizeof *old);
      if (alive(owner)) {
        snprintf(err, err_len, "shm://%s is in use by process %d", addr, owner);
        return ECRT_NET_ERR;
      }
    }
    shm_unlink(name);
  }
  if (ftruncate(fd, (off_t)sizeof(ctl_seg)) != 0 || !(ctl = map_fd(fd, sizeof(ctl_seg)))) {
    if (ctl == NULL) close(fd);
    shm_unlink(name);
    snprintf(err, err_len, "shm://%s: cannot map shared memory: %s", addr, strerror(errno));
    return ECRT_NET_ERR;
  }
  memset(ctl, 0, sizeof *ctl);
  if (sem_init(&ctl->req, 1, 0) != 0 || !(l = calloc(1, sizeof *l))) {
    munmap(ctl, sizeof *ctl);
    shm_unlink(name);
    snprintf(err, err_len, "shm://%s: cannot set up: %s", addr, strerror(errno));
    return ECRT_NET_ERR;
  }
  ctl->owner = (int32_t)getpid();
  __atomic_store_n(&ctl->magic, CTL_MAGIC, __ATOMIC_RELEASE);
  l->base.ops = &shm_listener_ops;
  l->ctl = ctl;
  snprintf(l->name, sizeof l->name, "%s", name);
  snprintf(l->base.endpoint, sizeof l->base.endpoint, "shm://%s", addr);
  *out = &l->base;
  return ECRT_NET_OK;
}

/* ---- connect -------------------------------------------------------------------------------- */

ecrt_net_status ecrt_shm_connect(const char *addr, ecrt_conn **out, int timeout_ms, char *err,
                                 size_t err_len) {
  static int counter;
  uint64_t deadline = ecrt_now_ns() + (uint64_t)timeout_ms * 1000000u;
  char cname[80], sname[64], peer[160];
  ctl_seg *ctl = NULL;
  conn_seg *seg = NULL;
  struct stat sb;
  int fd, slot = -1, i, ok = 0;
  ecrt_net_status st = ECRT_NET_ERR;
  *out = NULL;
  if (!valid_name(addr)) {
    snprintf(err, err_len, "shm://%s: the name must be 1 to 40 letters, digits, '_', '-' or '.'", addr);
    return ECRT_NET_ERR;
  }
  snprintf(cname, sizeof cname, "/ecrt-%s", addr);
  fd = shm_open(cname, O_RDWR, 0600);
  if (fd >= 0 && fstat(fd, &sb) == 0 && (size_t)sb.st_size >= sizeof *ctl) ctl = map_fd(fd, sizeof *ctl);
  else if (fd >= 0) close(fd);
  if (!ctl || __atomic_load_n(&ctl->magic, __ATOMIC_ACQUIRE) != CTL_MAGIC || !alive(ld32(&ctl->owner))) {
    snprintf(err, err_len, "cannot connect to shm://%s: no server is listening there", addr);
    if (ctl) munmap(ctl, sizeof *ctl);
    return ECRT_NET_ERR;
  }
  snprintf(sname, sizeof sname, "/ecrt-%s-%d-%d", addr, (int)getpid(),
           __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED));
  fd = shm_open(sname, O_RDWR | O_CREAT | O_EXCL, 0600);
  if (fd < 0 || ftruncate(fd, (off_t)sizeof(conn_seg)) != 0 || !(seg = map_fd(fd, sizeof(conn_seg)))) {
    snprintf(err, err_len, "shm://%s: cannot create a connection segment: %s", addr, strerror(errno));
    if (fd >= 0 && !seg) shm_unlink(sname);
    munmap(ctl, sizeof *ctl);
    return ECRT_NET_ERR;
  }
  /* ftruncate zero-fills the segment: only the semaphores need initialising. */
  seg->pid[0] = (int32_t)getpid();
  if (sem_init(&seg->accepted, 1, 0) || sem_init(&seg->r[0].data, 1, 0) ||
      sem_init(&seg->r[0].space, 1, 0) || sem_init(&seg->r[1].data, 1, 0) ||
      sem_init(&seg->r[1].space, 1, 0)) {
    snprintf(err, err_len, "shm://%s: sem_init: %s", addr, strerror(errno));
    goto done;
  }
  seg->magic = SEG_MAGIC;
  while (slot < 0) {
    for (i = 0; i < N_SLOTS && slot < 0; i++) {
      int32_t zero = 0;
      if (__atomic_compare_exchange_n(&ctl->slot[i].state, &zero, 1, 0, __ATOMIC_ACQ_REL,
                                      __ATOMIC_ACQUIRE))
        slot = i;
    }
    if (slot < 0) {
      if (ecrt_ms_left(deadline) == 0) {
        snprintf(err, err_len, "cannot connect to shm://%s: the server accepts no connection", addr);
        st = ECRT_NET_TIMEOUT;
        goto done;
      }
      sem_wait_ms(&seg->accepted, 5); /* nobody posts it yet: a 5 ms sleep */
    }
  }
  ctl->slot[slot].pid = (int32_t)getpid();
  memcpy(ctl->slot[slot].name, sname, strlen(sname) + 1);
  st32(&ctl->slot[slot].state, 2);
  sem_post(&ctl->req);
  for (;;) {
    int ms = ecrt_ms_left(deadline);
    if (sem_wait_ms(&seg->accepted, ms < SLICE_MS ? ms : SLICE_MS)) {
      ok = 1;
      break;
    }
    if (!alive(ld32(&ctl->owner))) {
      snprintf(err, err_len, "cannot connect to shm://%s: the server died", addr);
      break;
    }
    if (ecrt_ms_left(deadline) == 0) {
      snprintf(err, err_len, "cannot connect to shm://%s: no answer within %d ms", addr, timeout_ms);
      st = ECRT_NET_TIMEOUT;
      break;
    }
  }
  if (!ok) {
    int32_t two = 2;
    /* Take the slot back; if the server took it meanwhile, it finds the connection closed. */
    __atomic_compare_exchange_n(&ctl->slot[slot].state, &two, 0, 0, __ATOMIC_ACQ_REL,
                                __ATOMIC_ACQUIRE);
    st32(&seg->closed[0], 1);
  }
done:
  shm_unlink(sname);
  munmap(ctl, sizeof *ctl);
  if (!ok) {
    munmap(seg, sizeof *seg);
    return st;
  }
  snprintf(peer, sizeof peer, "shm://%s", addr);
  *out = wrap(seg, 0, peer);
  if (!*out) {
    munmap(seg, sizeof *seg);
    snprintf(err, err_len, "out of memory");
    return ECRT_NET_ERR;
  }
  return ECRT_NET_OK;
}
