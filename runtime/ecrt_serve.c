/* ecrt_serve.c — a partition as a server: one reader thread per client connection (frames
 * checked, inputs staged per connection), one compute thread (a partition runs one request at a
 * time), and with --next one or several downstream links (a chain, or a tree's branches) whose
 * readers relay replies to the asking connection (several: merged into one reply).
 *
 * Threads and what they own: the accept loop (main thread) creates connections; a connection's
 * reader fills its staging slots and queues jobs; the compute thread runs jobs in arrival order
 * and answers, or forwards to the next partition with a new id recorded as pending; the
 * downstream reader connects (when asked), relays replies by id, fails pending requests when the
 * link is lost and expires those past the timeout. One mutex (s->mu) guards the queue, slots,
 * reference counts and the downstream state; each connection's writes are serialised by its wmu.
 * Nothing here touches the partition's arena: requests land in the connection's staging slots,
 * which are the run function's input buffers. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ecrt_platform.h"
#include "ecrt_serve.h"
#include "ecrt_wire.h"

#define SLOTS 2                  /* staging slots per connection: receive r+1 while r runs */
#define MAX_CONNS 64
#define MAX_PENDING 65536
#define SLICE_MS 100             /* how often idle waits look at the stop flag and timeouts */

typedef struct server server;

typedef struct up_conn {
  server *s;
  ecrt_conn *c;
  int refs;                      /* the reader, queued jobs, pending requests (under s->mu) */
  int busy[SLOTS];               /* under s->mu */
  void *in[SLOTS][ECRT_WIRE_MAX_TENSORS];
  pthread_mutex_t wmu;           /* one frame at a time on this connection */
  unsigned char hdr[ECRT_WIRE_HEADER_MAX];
} up_conn;

typedef struct job {
  up_conn *u;
  int slot;
  uint64_t req;
  uint32_t models;               /* the request's model set, 0 = all */
} job;

typedef struct gather gather;

typedef struct pending {
  uint64_t id;                   /* the id used on the child's link */
  int child;                     /* which next partition */
  gather *g;                     /* the upstream request it belongs to */
  uint64_t deadline_ns;
} pending;

/* A next partition (--next [MODELS@]ENDPOINT): its link and the models it answers. */
typedef struct child {
  server *s;
  int k;
  const char *ep;
  uint32_t set;                  /* the models it answers (a chain's one child: every model) */
  ecrt_conn *down;
  int want, writing, broken;     /* under s->mu */
  uint64_t gen;
  char err[256];
  unsigned char hdr[ECRT_WIRE_HEADER_MAX];
  unsigned char *relay;          /* its reply's payload and CRC, as read */
  size_t relay_cap;
  pthread_t th;
} child;

struct server {
  const ecrt_program *p;
  void *ctx;
  ecrt_serve_opts o;
  uint64_t plan;
  int n_in, n_out;
  ecrt_wire_tensor want[ECRT_WIRE_MAX_TENSORS]; /* the inputs a request must carry */
  ecrt_wire_tensor outs[ECRT_WIRE_MAX_TENSORS]; /* the outputs, data -> out buffers */
  ecrt_wire_tensor fwd[ECRT_WIRE_MAX_TENSORS];  /* those sent to the next partitions, ids 0.. */
  int n_fwd;
  uint32_t all_models;           /* the sets a request may name: bits of the program's models */
  char names[ECRT_WIRE_ERROR_TEXT_MAX]; /* the models' names, one per line (ping replies) */
  void *out[ECRT_WIRE_MAX_TENSORS];
  pthread_mutex_t mu;
  pthread_cond_t cv;
  job q[MAX_CONNS * SLOTS];
  int q_head, q_n, n_conns;
  /* downstream: the next partitions, requests waiting on them */
  child child[ECRT_SERVE_MAX_NEXT];
  int n_child;
  uint64_t next_id;
  pending *pend;
  int n_pend, cap_pend;
};

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig) {
  (void)sig;
  stop_flag = 1;
}

uint64_t ecrt_program_plan_id(const ecrt_program *p) {
  uint64_t h = 0;
  int i, side;
  for (side = 0; side < 2; side++) {
    int n = side ? p->n_outputs : p->n_inputs;
    const ecrt_io_desc *d = side ? p->outputs : p->inputs;
    h = ecrt_wire_hash(h, side ? "->" : "in", 2);
    for (i = 0; i < n; i++) {
      unsigned char b[8 + 8 * ECRT_MAX_RANK];
      int k;
      memset(b, 0, sizeof b);
      b[0] = (unsigned char)d[i].dtype;
      b[1] = (unsigned char)d[i].rank;
      for (k = 0; k < d[i].rank && k < ECRT_MAX_RANK; k++) memcpy(b + 8 + 8 * k, &d[i].dims[k], 8);
      h = ecrt_wire_hash(h, b, sizeof b);
    }
  }
  return h ? h : 1;
}

static void logf_(const server *s, const char *fmt, ...) {
  va_list ap;
  char line[600];
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  fprintf(stderr, "%s: %s\n", s->p->name, line);
}

static uint64_t now_ns(void) { return ecrt_now_ns(); }

static void timed_wait(server *s, int ms) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_sec += ms / 1000;
  ts.tv_nsec += (long)(ms % 1000) * 1000000L;
  if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
  pthread_cond_timedwait(&s->cv, &s->mu, &ts);
}

/* Under s->mu. */
static void unref(server *s, up_conn *u) {
  int i, k;
  if (--u->refs > 0) return;
  u->c->ops->close(u->c);
  for (i = 0; i < SLOTS; i++)
    for (k = 0; k < s->n_in; k++) ecrt_free(u->in[i][k]);
  pthread_mutex_destroy(&u->wmu);
  free(u);
  s->n_conns--;
}

static void reply_error(server *s, up_conn *u, uint64_t req, ecrt_wire_err code, const char *fmt,
                        ...) {
  char text[ECRT_WIRE_ERROR_TEXT_MAX];
  int n;
  va_list ap;
  n = snprintf(text, sizeof text, "%s: [%s] ", s->p->name, ecrt_wire_err_name(code));
  va_start(ap, fmt);
  vsnprintf(text + n, sizeof text - (size_t)n, fmt, ap);
  va_end(ap);
  logf_(s, "request %llu from %s: %s", (unsigned long long)req, u->c->peer, text + strlen(s->p->name) + 2);
  pthread_mutex_lock(&u->wmu);
  if (ecrt_wire_send_error(u->c, s->plan, req, code, text, s->o.timeout_ms))
    u->c->ops->shutdown(u->c);
  pthread_mutex_unlock(&u->wmu);
}

/* Is output k one of the compile's outputs (returned upstream, not sent on)? Only a partition with
 * next ones asks: the last partition of a chain returns all its outputs. */
static int is_returned(const server *s, int k) {
  return s->o.models && s->o.models->output_ids && s->o.models->output_ids[k] >= 0;
}

/* The outputs this partition itself returns for the model set (0: all), under their ids among the
 * compile's outputs: all its outputs when it is last, its graph outputs when it feeds others. */
static uint32_t own_outputs(const server *s, uint32_t models, ecrt_wire_tensor *outs) {
  uint32_t n = 0;
  int k;
  for (k = 0; k < s->n_out; k++) {
    if (s->n_child && !is_returned(s, k)) continue;
    if (s->o.models && models && !(s->o.models->output_models[k] & models)) continue;
    outs[n] = s->outs[k];
    if (is_returned(s, k)) outs[n].id = (uint32_t)s->o.models->output_ids[k];
    n++;
  }
  return n;
}

/* ---- downstream --------------------------------------------------------------------------------- */

/* A request forwarded to one or more next partitions: one reply goes back upstream, the relayed
 * one (one child) or the children's outputs merged in id order (several); the first error wins. */
struct gather {
  up_conn *u;
  uint64_t req;
  uint32_t models;
  int fan, left;                 /* children asked, children yet to answer or fail (under s->mu) */
  int done;                      /* answered (an error relayed or sent): later replies are dropped */
  int merge;                     /* several children, or outputs of this partition: one reply made
                                    of them all (else the one child's reply is relayed as read) */
  uint32_t n;                    /* outputs collected from the children (several) */
  ecrt_wire_tensor t[ECRT_WIRE_MAX_TENSORS];
};

/* Removes and returns the pending entry of id (found: 1). Under s->mu. */
static int take_pending(server *s, uint64_t id, pending *out) {
  int i;
  for (i = 0; i < s->n_pend; i++)
    if (s->pend[i].id == id) {
      *out = s->pend[i];
      memmove(&s->pend[i], &s->pend[i + 1], sizeof(pending) * (size_t)(s->n_pend - i - 1));
      s->n_pend--;
      return 1;
    }
  return 0;
}

/* One child has answered or failed pe's request: the last one sends the merged reply (unless an
 * error went first), drops the connection's reference and frees the gather. */
static void pend_done(server *s, const pending *pe) {
  gather *g = pe->g;
  int last, i, j;
  pthread_mutex_lock(&s->mu);
  last = --g->left == 0;
  pthread_mutex_unlock(&s->mu);
  if (!last) return;
  if (!g->done) {
    /* Several children: their outputs in id order (each id is an output of the program). */
    for (i = 1; i < (int)g->n; i++)
      for (j = i; j > 0 && g->t[j - 1].id > g->t[j].id; j--) {
        ecrt_wire_tensor x = g->t[j];
        g->t[j] = g->t[j - 1];
        g->t[j - 1] = x;
      }
    for (i = 1; i < (int)g->n && g->t[i - 1].id != g->t[i].id; i++) continue;
    if (g->n > 1 && i < (int)g->n) {
      reply_error(s, g->u, g->req, ECRT_WIRE_INTERNAL, "two next partitions returned output %u (their model sets "
                  "overlap: check each --next MODELS@)", (unsigned)g->t[i].id);
    } else {
      pthread_mutex_lock(&g->u->wmu);
      if (ecrt_wire_send_set(g->u->c, ECRT_MSG_RESPONSE, s->plan, g->req, g->models, g->t, g->n, s->o.timeout_ms))
        g->u->c->ops->shutdown(g->u->c);
      pthread_mutex_unlock(&g->u->wmu);
    }
  }
  for (i = 0; i < (int)g->n; i++) free((void *)g->t[i].data);
  pthread_mutex_lock(&s->mu);
  unref(s, g->u);
  pthread_mutex_unlock(&s->mu);
  free(g);
}

/* Claims the right to answer pe's request (1), unless an answer went already. */
static int claim(server *s, const pending *pe) {
  int mine;
  pthread_mutex_lock(&s->mu);
  mine = !pe->g->done;
  pe->g->done = 1;
  pthread_mutex_unlock(&s->mu);
  return mine;
}

static void fail_all(server *s, pending *list, int n, ecrt_wire_err code, const char *why) {
  int i;
  for (i = 0; i < n; i++) {
    if (claim(s, &list[i])) reply_error(s, list[i].g->u, list[i].g->req, code, "%s", why);
    pend_done(s, &list[i]);
  }
}

/* Takes out the pending entries of child k (all: -1) due by before_ns. Under s->mu. */
static pending *take_pendings(server *s, int k, uint64_t before_ns, int *n_out) {
  pending *list;
  int n = 0, i, j;
  for (i = 0; i < s->n_pend; i++)
    if ((k < 0 || s->pend[i].child == k) && s->pend[i].deadline_ns <= before_ns) n++;
  *n_out = 0;
  if (!n || (list = malloc(sizeof(pending) * (size_t)n)) == NULL) return NULL;
  for (i = j = n = 0; i < s->n_pend; i++) {
    if ((k < 0 || s->pend[i].child == k) && s->pend[i].deadline_ns <= before_ns) list[n++] = s->pend[i];
    else s->pend[j++] = s->pend[i];
  }
  s->n_pend = j;
  *n_out = n;
  return list;
}

static void expire_pending(server *s, child *ch) {
  pending *late;
  int n;
  char why[300];
  pthread_mutex_lock(&s->mu);
  late = take_pendings(s, ch->k, now_ns(), &n);
  pthread_mutex_unlock(&s->mu);
  if (!n) return;
  snprintf(why, sizeof why, "no reply from the next partition (%s) within %d ms", ch->ep, s->o.timeout_ms);
  fail_all(s, late, n, ECRT_WIRE_TIMEOUT, why);
  free(late);
}

/* A child's link is gone: fail every request waiting on it, drop the connection. */
static void lose_down(server *s, child *ch, ecrt_conn *c, const char *reason) {
  pending *list;
  int n;
  char why[400];
  pthread_mutex_lock(&s->mu);
  ch->broken = 1;
  c->ops->shutdown(c);
  while (ch->writing) timed_wait(s, SLICE_MS);
  list = take_pendings(s, ch->k, UINT64_MAX, &n);
  ch->down = NULL;
  ch->broken = 0;
  pthread_mutex_unlock(&s->mu);
  c->ops->close(c);
  logf_(s, "lost the next partition %s: %s; failing %d request(s) in flight", ch->ep, reason, n);
  snprintf(why, sizeof why, "the next partition (%s) was lost with the request in flight: %s", ch->ep, reason);
  fail_all(s, list, n, ECRT_WIRE_NEXT_LOST, why);
  free(list);
}

/* A child's reply (response or error, read whole into ch->relay, CRC checked). One child asked
 * and nothing of this partition's own to add: relayed as read, the id restamped. Else an error is
 * relayed and ends the request; a response's outputs are kept for the merged reply. */
static void child_reply(server *s, child *ch, const ecrt_wire_msg *m) {
  pending pe;
  ecrt_iov iov[2];
  int found;
  pthread_mutex_lock(&s->mu);
  found = take_pending(s, m->request_id, &pe);
  pthread_mutex_unlock(&s->mu);
  if (!found) {
    logf_(s, "dropped a late reply from %s (request %llu already answered)", ch->ep,
          (unsigned long long)m->request_id);
    return;
  }
  if (pe.g->merge && m->type == ECRT_MSG_RESPONSE) {
    uint32_t i;
    size_t at = 0;
    int oom = 0;
    pthread_mutex_lock(&s->mu);
    for (i = 0; i < m->n_tensors && !pe.g->done; i++) {
      ecrt_wire_tensor t = m->t[i];
      void *d = pe.g->n < ECRT_WIRE_MAX_TENSORS ? malloc(t.bytes ? (size_t)t.bytes : 1) : NULL;
      if (!d) {
        oom = 1;
        break;
      }
      memcpy(d, ch->relay + at, (size_t)t.bytes);
      at += (size_t)t.bytes;
      t.data = d;
      pe.g->t[pe.g->n++] = t;
    }
    pthread_mutex_unlock(&s->mu);
    if (oom && claim(s, &pe))
      reply_error(s, pe.g->u, pe.g->req, ECRT_WIRE_INTERNAL, "out of memory (or over %d outputs) merging the next "
                  "partitions' replies", ECRT_WIRE_MAX_TENSORS);
    pend_done(s, &pe);
    return;
  }
  if (claim(s, &pe)) {
    ecrt_wire_restamp(ch->hdr, m->header_bytes, pe.g->req);
    iov[0].base = ch->hdr;
    iov[0].len = m->header_bytes;
    iov[1].base = ch->relay;
    iov[1].len = (size_t)m->payload_bytes + 4;
    pthread_mutex_lock(&pe.g->u->wmu);
    if (pe.g->u->c->ops->sendv(pe.g->u->c, iov, 2, s->o.timeout_ms)) pe.g->u->c->ops->shutdown(pe.g->u->c);
    pthread_mutex_unlock(&pe.g->u->wmu);
  }
  pend_done(s, &pe);
}

static void *down_main(void *arg) {
  child *ch = arg;
  server *s = ch->s;
  for (;;) {
    ecrt_conn *c;
    ecrt_wire_msg m;
    ecrt_wire_err e;
    ecrt_net_status net;
    char why[300];
    int broken;
    pthread_mutex_lock(&s->mu);
    while (!ch->down && !ch->want && !stop_flag) timed_wait(s, SLICE_MS);
    if (stop_flag) {
      pthread_mutex_unlock(&s->mu);
      return NULL;
    }
    if (!ch->down) {
      char err[256] = "";
      pthread_mutex_unlock(&s->mu);
      c = NULL;
      ecrt_connect(ch->ep, &c, s->o.timeout_ms, err, sizeof err);
      pthread_mutex_lock(&s->mu);
      ch->down = c;
      ch->want = 0;
      ch->gen++;
      snprintf(ch->err, sizeof ch->err, "%s", err);
      pthread_cond_broadcast(&s->cv);
      pthread_mutex_unlock(&s->mu);
      if (c) logf_(s, "connected to the next partition %s", ch->ep);
      else logf_(s, "%s", err);
      continue;
    }
    c = ch->down;
    pthread_mutex_unlock(&s->mu);
    net = c->ops->wait_readable(c, SLICE_MS);
    pthread_mutex_lock(&s->mu);
    broken = ch->broken;
    pthread_mutex_unlock(&s->mu);
    if (broken) {
      lose_down(s, ch, c, "sending to it failed");
      continue;
    }
    if (net == ECRT_NET_TIMEOUT) {
      expire_pending(s, ch);
      continue;
    }
    if (net) {
      lose_down(s, ch, c, "connection closed");
      continue;
    }
    e = ecrt_wire_recv_header(c, ch->hdr, &m, s->o.max_bytes, s->o.timeout_ms, &net);
    if (e == ECRT_WIRE_IO) {
      lose_down(s, ch, c, ecrt_net_status_str(net));
      continue;
    }
    if (e) {
      snprintf(why, sizeof why, "it sent a bad frame (%s)", ecrt_wire_err_str(e));
      lose_down(s, ch, c, why);
      continue;
    }
    if (m.payload_bytes + 4 > ch->relay_cap) {
      unsigned char *b = realloc(ch->relay, (size_t)m.payload_bytes + 4);
      if (!b) {
        lose_down(s, ch, c, "out of memory for its reply");
        continue;
      }
      ch->relay = b;
      ch->relay_cap = (size_t)m.payload_bytes + 4;
    }
    {
      /* The payload lands contiguous in the relay buffer, its CRC after it: relayed as read. */
      void *dst[ECRT_WIRE_MAX_TENSORS];
      size_t at = 0;
      uint32_t i, crc = 0;
      for (i = 0; i < m.n_tensors; i++) {
        dst[i] = ch->relay + at;
        at += (size_t)m.t[i].bytes;
      }
      e = ecrt_wire_recv_payload(c, &m, dst, &crc, s->o.timeout_ms, &net);
      if (e == ECRT_WIRE_IO) {
        lose_down(s, ch, c, ecrt_net_status_str(net));
        continue;
      }
      for (i = 0; i < 4; i++) ch->relay[at + i] = (unsigned char)(crc >> (8 * i));
      if (e != ECRT_WIRE_OK || m.plan_id != s->plan || m.type == ECRT_MSG_REQUEST) {
        pending pe;
        int found;
        char why[160];
        pthread_mutex_lock(&s->mu);
        found = take_pending(s, m.request_id, &pe);
        pthread_mutex_unlock(&s->mu);
        /* Both ids: the user finds the two compiles by the plan_id of their plan.json. */
        if (m.plan_id != s->plan)
          snprintf(why, sizeof why, "the next partition serves plan %016llx, this partition plan %016llx "
                   "(programs of two compiles)", (unsigned long long)m.plan_id, (unsigned long long)s->plan);
        else
          snprintf(why, sizeof why, "corrupted reply from the next partition");
        if (found) fail_all(s, &pe, 1, m.plan_id != s->plan ? ECRT_WIRE_PLAN_MISMATCH : ECRT_WIRE_BAD_PAYLOAD_CRC,
                            why);
        continue;
      }
    }
    if (m.type == ECRT_MSG_PING) continue;
    child_reply(s, ch, &m);
  }
}

/* Sends this partition's outputs to child ch under the pending entry pe (registered already);
 * fails that entry when the child cannot be reached. */
static void send_to_child(server *s, child *ch, const pending *pe, uint32_t models) {
  ecrt_conn *c;
  ecrt_net_status net;
  pending mine;
  pthread_mutex_lock(&s->mu);
  if (!ch->down) {
    uint64_t gen = ch->gen, deadline = now_ns() + (uint64_t)(s->o.timeout_ms + 500) * 1000000u;
    ch->want = 1;
    pthread_cond_broadcast(&s->cv);
    while (ch->gen == gen && !stop_flag && now_ns() < deadline) timed_wait(s, SLICE_MS);
    if (!ch->down) {
      char err[256];
      int found = take_pending(s, pe->id, &mine);
      snprintf(err, sizeof err, "%s", ch->err[0] ? ch->err : "no connection");
      pthread_mutex_unlock(&s->mu);
      if (!found) return; /* answered already */
      if (claim(s, &mine))
        reply_error(s, mine.g->u, mine.g->req, ECRT_WIRE_NEXT_UNAVAILABLE, "the next partition (%s) is unavailable: %s",
                    ch->ep, err);
      pend_done(s, &mine);
      return;
    }
  }
  c = ch->down;
  ch->writing++;
  pthread_mutex_unlock(&s->mu);
  /* The next partition gets every output of this one (its inputs) and the model set. */
  net = ecrt_wire_send_set(c, ECRT_MSG_REQUEST, s->plan, pe->id, models, s->fwd, (uint32_t)s->n_fwd,
                           s->o.timeout_ms);
  pthread_mutex_lock(&s->mu);
  ch->writing--;
  if (net) {
    /* The child's reader notices, fails everything pending on it (this request too), reconnects
     * on the next request. */
    ch->broken = 1;
    c->ops->shutdown(c);
  }
  pthread_cond_broadcast(&s->cv);
  pthread_mutex_unlock(&s->mu);
}

/* Sends the outputs this partition returns itself as the reply (a last partition, or a tree's
 * partition none of whose branches the set needs). */
static void reply_own(server *s, up_conn *u, uint64_t req, uint32_t models) {
  ecrt_wire_tensor outs[ECRT_WIRE_MAX_TENSORS];
  uint32_t n = own_outputs(s, models, outs);
  pthread_mutex_lock(&u->wmu);
  if (ecrt_wire_send_set(u->c, ECRT_MSG_RESPONSE, s->plan, req, models, outs, n, s->o.timeout_ms))
    u->c->ops->shutdown(u->c);
  pthread_mutex_unlock(&u->wmu);
}

/* Forwards a computed request to the children its model set needs (all of them for set 0; the
 * one child of a chain whatever the set), each with the set's models it answers; the outputs this
 * partition returns itself wait in the gather for the children's. */
static void forward(server *s, up_conn *u, uint64_t req, uint32_t models) {
  uint32_t want = models ? models : s->all_models, n_own, i;
  pending pe[ECRT_SERVE_MAX_NEXT];
  uint32_t sets[ECRT_SERVE_MAX_NEXT];
  ecrt_wire_tensor own[ECRT_WIRE_MAX_TENSORS];
  int to[ECRT_SERVE_MAX_NEXT], n = 0, k;
  gather *g;
  for (k = 0; k < s->n_child; k++) {
    if (s->child[k].set == s->all_models) sets[n] = models; /* a chain: the set as it came */
    else if (want & s->child[k].set) sets[n] = want & s->child[k].set;
    else continue;
    to[n++] = k;
  }
  n_own = own_outputs(s, models, own);
  if (!n) {
    if (n_own) reply_own(s, u, req, models);
    else reply_error(s, u, req, ECRT_WIRE_BAD_INPUTS, "no next partition answers the model set 0x%x", (unsigned)want);
    return;
  }
  g = calloc(1, sizeof *g);
  for (i = 0; g && i < n_own; i++) {
    void *d = malloc(own[i].bytes ? (size_t)own[i].bytes : 1);
    if (!d) {
      while (i-- > 0) free((void *)g->t[i].data);
      free(g);
      g = NULL;
      break;
    }
    memcpy(d, own[i].data, (size_t)own[i].bytes);
    g->t[i] = own[i];
    g->t[i].data = d;
    g->n = i + 1;
  }
  pthread_mutex_lock(&s->mu);
  if (!g || s->n_pend + n > MAX_PENDING) {
    pthread_mutex_unlock(&s->mu);
    if (g) reply_error(s, u, req, ECRT_WIRE_BUSY, "%d requests already wait on the next partition", MAX_PENDING);
    else reply_error(s, u, req, ECRT_WIRE_INTERNAL, "out of memory");
    for (i = 0; g && i < g->n; i++) free((void *)g->t[i].data);
    free(g);
    return;
  }
  while (s->n_pend + n > s->cap_pend) {
    int cap = s->cap_pend ? 2 * s->cap_pend : 64;
    pending *np = realloc(s->pend, sizeof(pending) * (size_t)cap);
    if (!np) {
      pthread_mutex_unlock(&s->mu);
      reply_error(s, u, req, ECRT_WIRE_INTERNAL, "out of memory");
      for (i = 0; i < g->n; i++) free((void *)g->t[i].data);
      free(g);
      return;
    }
    s->pend = np;
    s->cap_pend = cap;
  }
  g->u = u;
  g->req = req;
  g->models = models;
  g->fan = g->left = n;
  g->merge = n > 1 || n_own > 0;
  u->refs++;
  for (k = 0; k < n; k++) {
    pe[k].id = ++s->next_id;
    pe[k].child = to[k];
    pe[k].g = g;
    pe[k].deadline_ns = now_ns() + (uint64_t)s->o.timeout_ms * 1000000u;
    s->pend[s->n_pend++] = pe[k];
  }
  pthread_mutex_unlock(&s->mu);
  for (k = 0; k < n; k++) send_to_child(s, &s->child[to[k]], &pe[k], sets[k]);
}

/* ---- compute ------------------------------------------------------------------------------------ */

static void *compute_main(void *arg) {
  server *s = arg;
  for (;;) {
    job j;
    ecrt_status st;
    pthread_mutex_lock(&s->mu);
    while (!s->q_n && !stop_flag) timed_wait(s, SLICE_MS);
    if (!s->q_n) {
      pthread_mutex_unlock(&s->mu);
      return NULL;
    }
    j = s->q[s->q_head];
    s->q_head = (s->q_head + 1) % (MAX_CONNS * SLOTS);
    s->q_n--;
    pthread_mutex_unlock(&s->mu);
    ((ecrt_ctx *)s->ctx)->failed_step = -1;
    ((ecrt_ctx *)s->ctx)->failed_why = NULL;
    if (s->o.models && j.models && j.models != s->all_models)
      st = s->o.models->run(s->ctx, j.models, (const void *const *)j.u->in[j.slot], s->out);
    else
      st = s->p->run(s->ctx, (const void *const *)j.u->in[j.slot], s->out);
    pthread_mutex_lock(&s->mu);
    j.u->busy[j.slot] = 0;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    if (st) {
      int f = ((ecrt_ctx *)s->ctx)->failed_step;
      const char *why = ((ecrt_ctx *)s->ctx)->failed_why;
      if (st == ECRT_ERR_KERNEL && f >= 0 && f < s->p->n_steps)
        reply_error(s, j.u, j.req, ECRT_WIRE_RUN_FAILED, "node '%s' (%s) failed: %s", s->p->steps[f].name,
                    s->p->steps[f].op, why ? why : "bad input values?");
      else
        reply_error(s, j.u, j.req, ECRT_WIRE_RUN_FAILED, "run failed: %s", ecrt_status_str(st));
    } else if (s->n_child) {
      forward(s, j.u, j.req, j.models);
    } else {
      /* Only the wanted models' outputs, each under its index among the compile's outputs. */
      reply_own(s, j.u, j.req, j.models);
    }
    pthread_mutex_lock(&s->mu);
    unref(s, j.u);
    pthread_mutex_unlock(&s->mu);
  }
}

/* ---- client connections ------------------------------------------------------------------------- */

/* Reads one frame from u and queues it, or answers it. 0: go on; 1: close the connection. */
static int serve_frame(server *s, up_conn *u) {
  ecrt_wire_msg m;
  ecrt_net_status net;
  ecrt_wire_err e;
  char why[400];
  void *dst[ECRT_WIRE_MAX_TENSORS];
  uint32_t i;
  int slot;
  e = ecrt_wire_recv_header(u->c, u->hdr, &m, s->o.max_bytes, s->o.timeout_ms, &net);
  if (e == ECRT_WIRE_IO) {
    logf_(s, "connection from %s lost in the middle of a frame: %s", u->c->peer, ecrt_net_status_str(net));
    return 1;
  }
  if (e == ECRT_WIRE_BAD_VERSION) {
    reply_error(s, u, m.request_id, e, "a frame of wire format version %u; this partition speaks version %d "
                "(client and programs of different edgecc releases?); closing the connection",
                (unsigned)m.version, ECRT_WIRE_VERSION);
    return 1;
  }
  if (e) {
    /* The header is not trustworthy, so neither is where the next frame starts. */
    reply_error(s, u, m.request_id, e, "%s; closing the connection", ecrt_wire_err_str(e));
    return 1;
  }
  if (m.type == ECRT_MSG_PING) {
    /* The reply names the program's models (one uint8 tensor, a name per line) when it has
     * several: clients map the names a user gives to the bits of a request's model set. */
    ecrt_wire_tensor names;
    e = ecrt_wire_recv_payload(u->c, &m, NULL, NULL, s->o.timeout_ms, &net);
    if (e == ECRT_WIRE_IO) return 1;
    memset(&names, 0, sizeof names);
    names.dtype = ECK_UINT8;
    names.rank = 1;
    names.dims[0] = (int64_t)strlen(s->names);
    names.bytes = strlen(s->names);
    names.data = s->names;
    pthread_mutex_lock(&u->wmu);
    net = ecrt_wire_send_set(u->c, ECRT_MSG_PING, s->plan, m.request_id, s->all_models, &names,
                             s->o.models ? 1u : 0u, s->o.timeout_ms);
    pthread_mutex_unlock(&u->wmu);
    return net != ECRT_NET_OK;
  }
  if (m.type != ECRT_MSG_REQUEST) {
    snprintf(why, sizeof why, "expected a request, got a message of type %u", m.type);
    e = ECRT_WIRE_BAD_TYPE;
  } else if (m.plan_id != s->plan) {
    snprintf(why, sizeof why, "the frame is for plan %016llx, this partition serves plan %016llx",
             (unsigned long long)m.plan_id, (unsigned long long)s->plan);
    e = ECRT_WIRE_PLAN_MISMATCH;
  } else if (m.models & ~s->all_models) {
    snprintf(why, sizeof why, "the model set 0x%x names models this program lacks (its models: 0x%x)",
             (unsigned)m.models, (unsigned)s->all_models);
    e = ECRT_WIRE_BAD_INPUTS;
  } else {
    e = ecrt_wire_check_tensors(&m, s->want, s->n_in, why, sizeof why);
  }
  if (e) {
    if (ecrt_wire_recv_payload(u->c, &m, NULL, NULL, s->o.timeout_ms, &net) == ECRT_WIRE_IO) return 1;
    reply_error(s, u, m.request_id, e, "%s", why);
    return 0;
  }
  pthread_mutex_lock(&s->mu);
  for (;;) {
    for (slot = 0; slot < SLOTS && u->busy[slot]; slot++) continue;
    if (slot < SLOTS || stop_flag) break;
    timed_wait(s, SLICE_MS);
  }
  if (slot == SLOTS) {
    pthread_mutex_unlock(&s->mu);
    return 1;
  }
  u->busy[slot] = 1;
  pthread_mutex_unlock(&s->mu);
  for (i = 0; i < m.n_tensors; i++) dst[i] = u->in[slot][m.t[i].id];
  e = ecrt_wire_recv_payload(u->c, &m, dst, NULL, s->o.timeout_ms, &net);
  if (e) {
    pthread_mutex_lock(&s->mu);
    u->busy[slot] = 0;
    pthread_mutex_unlock(&s->mu);
    if (e == ECRT_WIRE_IO) {
      logf_(s, "connection from %s lost in the middle of a frame: %s", u->c->peer, ecrt_net_status_str(net));
      return 1;
    }
    reply_error(s, u, m.request_id, e, "%s; request dropped", ecrt_wire_err_str(e));
    return 0;
  }
  pthread_mutex_lock(&s->mu);
  s->q[(s->q_head + s->q_n) % (MAX_CONNS * SLOTS)].u = u;
  s->q[(s->q_head + s->q_n) % (MAX_CONNS * SLOTS)].slot = slot;
  s->q[(s->q_head + s->q_n) % (MAX_CONNS * SLOTS)].req = m.request_id;
  s->q[(s->q_head + s->q_n) % (MAX_CONNS * SLOTS)].models = m.models;
  s->q_n++;
  u->refs++;
  pthread_cond_broadcast(&s->cv);
  pthread_mutex_unlock(&s->mu);
  return 0;
}

static void *up_main(void *arg) {
  up_conn *u = arg;
  server *s = u->s;
  for (;;) {
    ecrt_net_status net;
    if (stop_flag) break;
    net = u->c->ops->wait_readable(u->c, SLICE_MS);
    if (net == ECRT_NET_TIMEOUT) continue;
    if (net) break;
    if (serve_frame(s, u)) break;
  }
  u->c->ops->shutdown(u->c);
  logf_(s, "connection from %s closed", u->c->peer);
  pthread_mutex_lock(&s->mu);
  unref(s, u);
  pthread_mutex_unlock(&s->mu);
  return NULL;
}

static up_conn *new_conn(server *s, ecrt_conn *c) {
  up_conn *u = calloc(1, sizeof *u);
  int i, k;
  if (!u) return NULL;
  u->s = s;
  u->c = c;
  u->refs = 1;
  pthread_mutex_init(&u->wmu, NULL);
  for (i = 0; i < SLOTS; i++)
    for (k = 0; k < s->n_in; k++) {
      size_t b = (size_t)s->want[k].bytes;
      u->in[i][k] = ecrt_alloc(b + ECRT_SLACK, ECRT_ALIGN);
      if (!u->in[i][k]) goto fail;
      memset(u->in[i][k], 0, b + ECRT_SLACK);
    }
  return u;
fail:
  for (i = 0; i < SLOTS; i++)
    for (k = 0; k < s->n_in; k++)
      if (u->in[i][k]) ecrt_free(u->in[i][k]);
  pthread_mutex_destroy(&u->wmu);
  free(u);
  return NULL;
}

static int start_thread(void *(*fn)(void *), void *arg) {
  pthread_t t;
  pthread_attr_t a;
  int r;
  pthread_attr_init(&a);
  pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
  r = pthread_create(&t, &a, fn, arg);
  pthread_attr_destroy(&a);
  return r == 0;
}

static void fill_desc(ecrt_wire_tensor *t, const ecrt_io_desc *d, uint32_t id) {
  int k;
  memset(t, 0, sizeof *t);
  t->id = id;
  t->dtype = d->dtype;
  t->rank = d->rank;
  t->scale = d->scale;
  t->zero_point = d->zero_point;
  t->bytes = ecrt_dtype_size(d->dtype);
  for (k = 0; k < d->rank; k++) {
    t->dims[k] = d->dims[k];
    t->bytes *= (uint64_t)d->dims[k];
  }
}

static void free_outputs(server *s) {
  int i;
  for (i = 0; i < s->n_out; i++) {
    if (s->out[i]) ecrt_free(s->out[i]);
    s->out[i] = NULL;
  }
}

/* After a signal: the compute and downstream threads are joined (the compute thread answers
 * what was queued first), requests still waiting on the next partition or queued by a reader
 * since are answered `busy`, and once every connection's reader has seen the stop flag and
 * dropped its connection the server's buffers are freed; the caller then releases the
 * partition, and the process ends with nothing leaked. A reader blocked past the timeout keeps
 * what it uses: nothing is freed under it. */
static void shut_down(server *s, pthread_t compute) {
  pending *list;
  int n, left, k;
  uint64_t deadline = now_ns() + ((uint64_t)s->o.timeout_ms + 2000u) * 1000000u;
  pthread_join(compute, NULL);
  for (k = 0; k < s->n_child; k++) pthread_join(s->child[k].th, NULL);
  pthread_mutex_lock(&s->mu);
  list = take_pendings(s, -1, UINT64_MAX, &n);
  pthread_mutex_unlock(&s->mu);
  fail_all(s, list, n, ECRT_WIRE_BUSY, "the partition stopped before the next one replied");
  free(list);
  free(s->pend);
  s->pend = NULL;
  for (k = 0; k < s->n_child; k++) {
    if (s->child[k].down) s->child[k].down->ops->close(s->child[k].down);
    s->child[k].down = NULL;
  }
  for (;;) {
    job j;
    pthread_mutex_lock(&s->mu);
    if (!s->q_n) {
      if (!s->n_conns || now_ns() >= deadline) break;
      timed_wait(s, SLICE_MS);
      pthread_mutex_unlock(&s->mu);
      continue;
    }
    j = s->q[s->q_head];
    s->q_head = (s->q_head + 1) % (MAX_CONNS * SLOTS);
    s->q_n--;
    j.u->busy[j.slot] = 0;
    pthread_mutex_unlock(&s->mu);
    reply_error(s, j.u, j.req, ECRT_WIRE_BUSY, "the partition is stopping");
    pthread_mutex_lock(&s->mu);
    unref(s, j.u);
    pthread_mutex_unlock(&s->mu);
  }
  left = s->n_conns;
  pthread_mutex_unlock(&s->mu);
  if (left) {
    logf_(s, "%d connection(s) did not close within the timeout; their buffers are not freed", left);
    return;
  }
  free_outputs(s);
  for (k = 0; k < s->n_child; k++) free(s->child[k].relay);
  pthread_cond_destroy(&s->cv);
  pthread_mutex_destroy(&s->mu);
  /* Nothing of the partition stays reachable from here: a caller that forgot to release it
   * leaks, and LeakSanitizer says so. */
  memset(s, 0, sizeof *s);
}

int ecrt_serve(const ecrt_program *p, void *ctx, const ecrt_serve_opts *o) {
  static server srv;
  server *s = &srv;
  ecrt_listener *l = NULL;
  char err[300];
  int i;
  struct sigaction sa;
  pthread_t compute;
  if (p->n_inputs > ECRT_WIRE_MAX_TENSORS || p->n_outputs > ECRT_WIRE_MAX_TENSORS) {
    fprintf(stderr, "%s: error: more than %d inputs or outputs cannot be served\n", p->name,
            ECRT_WIRE_MAX_TENSORS);
    return 1;
  }
  memset(s, 0, sizeof *s);
  s->p = p;
  s->ctx = ctx;
  s->o = *o;
  s->plan = o->plan_id;
  s->n_in = p->n_inputs;
  s->n_out = p->n_outputs;
  s->all_models = 1;
  if (o->models) {
    size_t at = 0;
    s->all_models = o->models->n >= 32 ? 0xffffffffu : (1u << o->models->n) - 1u;
    for (i = 0; i < o->models->n; i++)
      at += (size_t)snprintf(s->names + at, at < sizeof s->names ? sizeof s->names - at : 0, "%s%s",
                             i ? "\n" : "", o->models->names[i]);
    if (at >= sizeof s->names) {
      fprintf(stderr, "%s: error: the models' names take more than %d bytes\n", p->name,
              ECRT_WIRE_ERROR_TEXT_MAX - 1);
      return 1;
    }
  }
  for (i = 0; i < s->n_in; i++) fill_desc(&s->want[i], &p->inputs[i], (uint32_t)i);
  for (i = 0; i < s->n_out; i++) {
    fill_desc(&s->outs[i], &p->outputs[i], (uint32_t)i);
    s->out[i] = ecrt_alloc((size_t)s->outs[i].bytes + ECRT_SLACK, ECRT_ALIGN);
    if (!s->out[i]) {
      fprintf(stderr, "%s: error: out of memory\n", p->name);
      free_outputs(s);
      return 1;
    }
    memset(s->out[i], 0, (size_t)s->outs[i].bytes + ECRT_SLACK);
    s->outs[i].data = s->out[i];
  }
  pthread_mutex_init(&s->mu, NULL);
  pthread_cond_init(&s->cv, NULL);
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &sa, NULL);
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  if (ecrt_listen(o->listen, &l, err, sizeof err) != ECRT_NET_OK) {
    fprintf(stderr, "%s: error: %s\n", p->name, err);
    free_outputs(s);
    return 1;
  }
  /* The next partitions: one (a chain, the --next of old) or several, each answering a model set. */
  s->n_child = o->n_next;
  if (!o->n_next && o->next) {
    s->n_child = 1;
    s->child[0].ep = o->next;
  }
  for (i = 0; i < s->n_child; i++) {
    s->child[i].s = s;
    s->child[i].k = i;
    if (o->n_next) s->child[i].ep = o->next_eps[i];
    s->child[i].set = o->n_next && o->next_models[i] ? o->next_models[i] : s->all_models;
  }
  /* What the next partitions receive: the outputs that are not the compile's own outputs. */
  for (i = 0; i < s->n_out; i++)
    if (!is_returned(s, i)) {
      s->fwd[s->n_fwd] = s->outs[i];
      s->fwd[s->n_fwd].id = (uint32_t)s->n_fwd;
      s->n_fwd++;
    }
  /* Joinable, unlike the connections' readers: shut_down waits for them. */
  if (pthread_create(&compute, NULL, compute_main, s) != 0) {
    fprintf(stderr, "%s: error: cannot start threads\n", p->name);
    l->ops->close(l);
    free_outputs(s);
    return 1;
  }
  for (i = 0; i < s->n_child; i++)
    if (pthread_create(&s->child[i].th, NULL, down_main, &s->child[i]) != 0) {
      fprintf(stderr, "%s: error: cannot start threads\n", p->name);
      l->ops->close(l);
      stop_flag = 1;
      pthread_join(compute, NULL);
      while (i-- > 0) pthread_join(s->child[i].th, NULL);
      free_outputs(s);
      return 1;
    }
  if (s->n_child) {
    /* Connect early so a misconfigured chain shows at startup; a failure is retried later. */
    pthread_mutex_lock(&s->mu);
    for (i = 0; i < s->n_child; i++) s->child[i].want = 1;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
  }
  printf("%s: listening on %s (plan %016llx)", p->name, l->endpoint, (unsigned long long)s->plan);
  for (i = 0; i < s->n_child; i++) printf("%s%s", i ? ", " : ", next ", s->child[i].ep);
  printf("\n");
  fflush(stdout);
  while (!stop_flag) {
    ecrt_conn *c = NULL;
    up_conn *u;
    ecrt_net_status st = l->ops->accept(l, &c, 2 * SLICE_MS, err, sizeof err);
    if (st == ECRT_NET_TIMEOUT) continue;
    if (st) {
      logf_(s, "accept failed: %s", err);
      continue;
    }
    pthread_mutex_lock(&s->mu);
    if (s->n_conns >= MAX_CONNS) {
      pthread_mutex_unlock(&s->mu);
      ecrt_wire_send_error(c, s->plan, 0, ECRT_WIRE_BUSY, "too many connections", s->o.timeout_ms);
      c->ops->close(c);
      continue;
    }
    s->n_conns++;
    pthread_mutex_unlock(&s->mu);
    u = new_conn(s, c);
    if (u) logf_(s, "connection from %s", c->peer);
    if (!u || !start_thread(up_main, u)) {
      logf_(s, "cannot take the connection from %s: out of memory", c->peer);
      pthread_mutex_lock(&s->mu);
      if (u) unref(s, u);
      else s->n_conns--, c->ops->close(c);
      pthread_mutex_unlock(&s->mu);
      continue;
    }
  }
  l->ops->close(l);
  shut_down(s, compute);
  fprintf(stderr, "%s: stopped\n", p->name); /* s is cleared by now */
  return 0;
}
