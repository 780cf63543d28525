/* ecrt_serve.c — a partition as a server: one reader thread per client connection (frames
 * checked, inputs staged per connection), one compute thread (a partition runs one request at a
 * time), and with --next a downstream link whose reader relays replies to the asking connection.
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

typedef struct pending {
  uint64_t id;                   /* the id used on the downstream link */
  up_conn *u;
  uint64_t req;                  /* the id the upstream connection used */
  uint64_t deadline_ns;
} pending;

struct server {
  const ecrt_program *p;
  void *ctx;
  ecrt_serve_opts o;
  uint64_t plan;
  int n_in, n_out;
  ecrt_wire_tensor want[ECRT_WIRE_MAX_TENSORS]; /* the inputs a request must carry */
  ecrt_wire_tensor outs[ECRT_WIRE_MAX_TENSORS]; /* the outputs, data -> out buffers */
  uint32_t all_models;           /* the sets a request may name: bits of the program's models */
  char names[ECRT_WIRE_ERROR_TEXT_MAX]; /* the models' names, one per line (ping replies) */
  void *out[ECRT_WIRE_MAX_TENSORS];
  pthread_mutex_t mu;
  pthread_cond_t cv;
  job q[MAX_CONNS * SLOTS];
  int q_head, q_n, n_conns;
  /* downstream */
  ecrt_conn *down;
  int down_want, down_writing, down_broken;
  uint64_t down_gen, next_id;
  char down_err[256];
  pending *pend;
  int n_pend, cap_pend;
  unsigned char down_hdr[ECRT_WIRE_HEADER_MAX];
  unsigned char *relay;
  size_t relay_cap;
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

/* ---- downstream --------------------------------------------------------------------------------- */

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

static void fail_all(server *s, pending *list, int n, ecrt_wire_err code, const char *why) {
  int i;
  for (i = 0; i < n; i++) {
    reply_error(s, list[i].u, list[i].req, code, "%s", why);
    pthread_mutex_lock(&s->mu);
    unref(s, list[i].u);
    pthread_mutex_unlock(&s->mu);
  }
}

static void expire_pending(server *s) {
  uint64_t now = now_ns();
  pending *late = NULL;
  int n = 0, i, j;
  char why[300];
  pthread_mutex_lock(&s->mu);
  for (i = 0; i < s->n_pend; i++)
    if (s->pend[i].deadline_ns <= now) n++;
  if (n && (late = malloc(sizeof(pending) * (size_t)n)) != NULL) {
    for (i = j = n = 0; i < s->n_pend; i++) {
      if (s->pend[i].deadline_ns <= now) late[n++] = s->pend[i];
      else s->pend[j++] = s->pend[i];
    }
    s->n_pend = j;
  } else {
    n = 0;
  }
  pthread_mutex_unlock(&s->mu);
  if (!n) return;
  snprintf(why, sizeof why, "no reply from the next partition (%s) within %d ms", s->o.next,
           s->o.timeout_ms);
  fail_all(s, late, n, ECRT_WIRE_TIMEOUT, why);
  free(late);
}

/* The downstream link is gone: fail every request waiting on it, drop the connection. */
static void lose_down(server *s, ecrt_conn *c, const char *reason) {
  pending *list;
  int n;
  char why[400];
  pthread_mutex_lock(&s->mu);
  s->down_broken = 1;
  c->ops->shutdown(c);
  while (s->down_writing) timed_wait(s, SLICE_MS);
  list = s->pend;
  n = s->n_pend;
  s->pend = NULL;
  s->n_pend = s->cap_pend = 0;
  s->down = NULL;
  s->down_broken = 0;
  pthread_mutex_unlock(&s->mu);
  c->ops->close(c);
  logf_(s, "lost the next partition %s: %s; failing %d request(s) in flight", s->o.next, reason, n);
  snprintf(why, sizeof why, "the next partition (%s) was lost with the request in flight: %s",
           s->o.next, reason);
  fail_all(s, list, n, ECRT_WIRE_NEXT_LOST, why);
  free(list);
}

static void relay_reply(server *s, ecrt_conn *c, const ecrt_wire_msg *m) {
  pending pe;
  ecrt_iov iov[2];
  int found;
  pthread_mutex_lock(&s->mu);
  found = take_pending(s, m->request_id, &pe);
  pthread_mutex_unlock(&s->mu);
  if (!found) {
    logf_(s, "dropped a late reply from %s (request %llu already answered)", c->peer,
          (unsigned long long)m->request_id);
    return;
  }
  ecrt_wire_restamp(s->down_hdr, m->header_bytes, pe.req);
  iov[0].base = s->down_hdr;
  iov[0].len = m->header_bytes;
  iov[1].base = s->relay;
  iov[1].len = (size_t)m->payload_bytes + 4;
  pthread_mutex_lock(&pe.u->wmu);
  if (pe.u->c->ops->sendv(pe.u->c, iov, 2, s->o.timeout_ms)) pe.u->c->ops->shutdown(pe.u->c);
  pthread_mutex_unlock(&pe.u->wmu);
  pthread_mutex_lock(&s->mu);
  unref(s, pe.u);
  pthread_mutex_unlock(&s->mu);
}

static void *down_main(void *arg) {
  server *s = arg;
  for (;;) {
    ecrt_conn *c;
    ecrt_wire_msg m;
    ecrt_wire_err e;
    ecrt_net_status net;
    char why[300];
    int broken;
    pthread_mutex_lock(&s->mu);
    while (!s->down && !s->down_want && !stop_flag) timed_wait(s, SLICE_MS);
    if (stop_flag) {
      pthread_mutex_unlock(&s->mu);
      return NULL;
    }
    if (!s->down) {
      char err[256] = "";
      pthread_mutex_unlock(&s->mu);
      c = NULL;
      ecrt_connect(s->o.next, &c, s->o.timeout_ms, err, sizeof err);
      pthread_mutex_lock(&s->mu);
      s->down = c;
      s->down_want = 0;
      s->down_gen++;
      snprintf(s->down_err, sizeof s->down_err, "%s", err);
      pthread_cond_broadcast(&s->cv);
      pthread_mutex_unlock(&s->mu);
      if (c) logf_(s, "connected to the next partition %s", s->o.next);
      else logf_(s, "%s", err);
      continue;
    }
    c = s->down;
    pthread_mutex_unlock(&s->mu);
    net = c->ops->wait_readable(c, SLICE_MS);
    pthread_mutex_lock(&s->mu);
    broken = s->down_broken;
    pthread_mutex_unlock(&s->mu);
    if (broken) {
      lose_down(s, c, "sending to it failed");
      continue;
    }
    if (net == ECRT_NET_TIMEOUT) {
      expire_pending(s);
      continue;
    }
    if (net) {
      lose_down(s, c, "connection closed");
      continue;
    }
    e = ecrt_wire_recv_header(c, s->down_hdr, &m, s->o.max_bytes, s->o.timeout_ms, &net);
    if (e == ECRT_WIRE_IO) {
      lose_down(s, c, ecrt_net_status_str(net));
      continue;
    }
    if (e) {
      snprintf(why, sizeof why, "it sent a bad frame (%s)", ecrt_wire_err_str(e));
      lose_down(s, c, why);
      continue;
    }
    if (m.payload_bytes + 4 > s->relay_cap) {
      unsigned char *b = realloc(s->relay, (size_t)m.payload_bytes + 4);
      if (!b) {
        lose_down(s, c, "out of memory for its reply");
        continue;
      }
      s->relay = b;
      s->relay_cap = (size_t)m.payload_bytes + 4;
    }
    {
      /* The payload lands contiguous in the relay buffer, its CRC after it: relayed as read. */
      void *dst[ECRT_WIRE_MAX_TENSORS];
      size_t at = 0;
      uint32_t i, crc = 0;
      for (i = 0; i < m.n_tensors; i++) {
        dst[i] = s->relay + at;
        at += (size_t)m.t[i].bytes;
      }
      e = ecrt_wire_recv_payload(c, &m, dst, &crc, s->o.timeout_ms, &net);
      if (e == ECRT_WIRE_IO) {
        lose_down(s, c, ecrt_net_status_str(net));
        continue;
      }
      for (i = 0; i < 4; i++) s->relay[at + i] = (unsigned char)(crc >> (8 * i));
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
    relay_reply(s, c, &m);
  }
}

static void forward(server *s, up_conn *u, uint64_t req, uint32_t models) {
  ecrt_conn *c;
  ecrt_net_status net;
  uint64_t id;
  pthread_mutex_lock(&s->mu);
  if (!s->down) {
    uint64_t gen = s->down_gen, deadline = now_ns() + (uint64_t)(s->o.timeout_ms + 500) * 1000000u;
    s->down_want = 1;
    pthread_cond_broadcast(&s->cv);
    while (s->down_gen == gen && !stop_flag && now_ns() < deadline) timed_wait(s, SLICE_MS);
    if (!s->down) {
      char err[256];
      snprintf(err, sizeof err, "%s", s->down_err[0] ? s->down_err : "no connection");
      pthread_mutex_unlock(&s->mu);
      reply_error(s, u, req, ECRT_WIRE_NEXT_UNAVAILABLE, "the next partition (%s) is unavailable: %s",
                  s->o.next, err);
      return;
    }
  }
  if (s->n_pend >= MAX_PENDING) {
    pthread_mutex_unlock(&s->mu);
    reply_error(s, u, req, ECRT_WIRE_BUSY, "%d requests already wait on the next partition",
                MAX_PENDING);
    return;
  }
  if (s->n_pend == s->cap_pend) {
    int cap = s->cap_pend ? 2 * s->cap_pend : 64;
    pending *np = realloc(s->pend, sizeof(pending) * (size_t)cap);
    if (!np) {
      pthread_mutex_unlock(&s->mu);
      reply_error(s, u, req, ECRT_WIRE_INTERNAL, "out of memory");
      return;
    }
    s->pend = np;
    s->cap_pend = cap;
  }
  id = ++s->next_id;
  s->pend[s->n_pend].id = id;
  s->pend[s->n_pend].u = u;
  s->pend[s->n_pend].req = req;
  s->pend[s->n_pend].deadline_ns = now_ns() + (uint64_t)s->o.timeout_ms * 1000000u;
  s->n_pend++;
  u->refs++;
  c = s->down;
  s->down_writing++;
  pthread_mutex_unlock(&s->mu);
  /* The next partition gets every output of this one (its inputs) and the same model set. */
  net = ecrt_wire_send_set(c, ECRT_MSG_REQUEST, s->plan, id, models, s->outs, (uint32_t)s->n_out,
                           s->o.timeout_ms);
  pthread_mutex_lock(&s->mu);
  s->down_writing--;
  if (net) {
    /* The downstream reader notices, fails everything pending (this request too), reconnects
     * on the next request. */
    s->down_broken = 1;
    c->ops->shutdown(c);
  }
  pthread_cond_broadcast(&s->cv);
  pthread_mutex_unlock(&s->mu);
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
    } else if (s->o.next) {
      forward(s, j.u, j.req, j.models);
    } else {
      /* Only the wanted models' outputs, each under its index among the program's outputs. */
      ecrt_wire_tensor outs[ECRT_WIRE_MAX_TENSORS];
      uint32_t n = 0;
      int k;
      for (k = 0; k < s->n_out; k++)
        if (!s->o.models || !j.models || (s->o.models->output_models[k] & j.models)) outs[n++] = s->outs[k];
      pthread_mutex_lock(&j.u->wmu);
      if (ecrt_wire_send_set(j.u->c, ECRT_MSG_RESPONSE, s->plan, j.req, j.models, outs, n,
                             s->o.timeout_ms))
        j.u->c->ops->shutdown(j.u->c);
      pthread_mutex_unlock(&j.u->wmu);
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
static void shut_down(server *s, pthread_t compute, pthread_t down) {
  pending *list;
  int n, left;
  uint64_t deadline = now_ns() + ((uint64_t)s->o.timeout_ms + 2000u) * 1000000u;
  pthread_join(compute, NULL);
  if (s->o.next) pthread_join(down, NULL);
  pthread_mutex_lock(&s->mu);
  list = s->pend;
  n = s->n_pend;
  s->pend = NULL;
  s->n_pend = s->cap_pend = 0;
  pthread_mutex_unlock(&s->mu);
  fail_all(s, list, n, ECRT_WIRE_BUSY, "the partition stopped before the next one replied");
  free(list);
  if (s->down) s->down->ops->close(s->down);
  s->down = NULL;
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
  free(s->relay);
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
  pthread_t compute, down;
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
  /* Joinable, unlike the connections' readers: shut_down waits for them. */
  memset(&down, 0, sizeof down);
  if (pthread_create(&compute, NULL, compute_main, s) != 0) {
    fprintf(stderr, "%s: error: cannot start threads\n", p->name);
    l->ops->close(l);
    free_outputs(s);
    return 1;
  }
  if (o->next && pthread_create(&down, NULL, down_main, s) != 0) {
    fprintf(stderr, "%s: error: cannot start threads\n", p->name);
    l->ops->close(l);
    stop_flag = 1;
    pthread_join(compute, NULL);
    free_outputs(s);
    return 1;
  }
  if (o->next) {
    /* Connect early so a misconfigured chain shows at startup; a failure is retried later. */
    pthread_mutex_lock(&s->mu);
    s->down_want = 1;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
  }
  printf("%s: listening on %s (plan %016llx)%s%s\n", p->name, l->endpoint,
         (unsigned long long)s->plan, o->next ? ", next " : "", o->next ? o->next : "");
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
  shut_down(s, compute, down);
  fprintf(stderr, "%s: stopped\n", p->name); /* s is cleared by now */
  return 0;
}
