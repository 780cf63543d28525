/* edgecc_client.c — `edgecc-client`: sends TensorProto inputs to a served partition and writes
 * the replies, or drives it with a load (fixed, uniform, Poisson or Gamma-burst arrivals, or a
 * closed-loop burst) and reports
 * throughput and latency percentiles, checking that no request is lost or answered twice. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ecrt_pb.h"
#include "ecrt_platform.h"
#include "ecrt_transport.h"
#include "ecrt_wire.h"

#define MAX_FILES ECRT_WIRE_MAX_TENSORS

static const char *usage_text =
    "usage: edgecc-client ENDPOINT --input FILE.pb ... [--output FILE.pb ...]\n"
    "                     [--models NAME[,NAME]] [--plan-id HEX] [--timeout MS] [--max-bytes N]\n"
    "       edgecc-client ENDPOINT --input FILE.pb ... --requests N --rate R\n"
    "                     [--arrivals fixed|uniform|poisson|gamma|burst] [--gamma-shape K]\n"
    "                     [--concurrency C] [--seed S] [--output FILE.pb ...]\n"
    "ENDPOINT: tcp://HOST:PORT, unix://PATH or shm://NAME (a served partition, the first of a chain).\n"
    "Without --plan-id the client asks the server for its plan id (a ping) and uses it.\n"
    "--models: of a program compiled from several models, run only these (names as the server's\n"
    "ping reply lists them; the reply then holds their outputs only, --output files in order).\n"
    "Load mode sends the same inputs N times at R requests/s (0: as fast as possible), then\n"
    "(gamma: Gamma gaps of shape K, default 0.25, mean 1/R; burst: closed loop, C requests\n"
    "outstanding, a new one per reply, R unused)\n"
    "prints throughput and p50/p95/p99 latency; it fails when a request is lost, answered twice,\n"
    "answered with an error or a corrupted payload, or answered with outputs that differ from the\n"
    "first reply's, and when the server sends a reply to no request it made.\n"
    "Exit status: 0 all requests answered, 1 a request failed, 2 usage error.\n";

typedef struct opts {
  const char *endpoint;
  const char *in[MAX_FILES], *out[MAX_FILES];
  int n_in, n_out;
  uint64_t plan_id;
  const char *model_list;        /* --models, NULL: every model */
  uint32_t models;               /* its set, from the names the server's ping reply gives */
  int timeout_ms;
  uint64_t max_bytes;
  long requests;
  double rate;
  int arrivals;                  /* A_FIXED ... A_BURST */
  double shape;                  /* Gamma arrivals: the gaps' shape (CV 1/sqrt(shape)) */
  long concurrency;              /* closed-loop burst: requests outstanding */
  unsigned long long seed;
} opts;

enum { A_FIXED = 0, A_UNIFORM = 1, A_POISSON = 2, A_GAMMA = 3, A_BURST = 4 };
static const char *const arrival_names[] = {"fixed", "uniform", "poisson", "gamma", "burst"};

/* Per request of the load: state and times. R_BAD: answered with a corrupted payload. */
enum { R_UNSENT = 0, R_SENT = 1, R_OK = 2, R_ERR = 3, R_BAD = 4 };

/* After the last answer, how long the load still reads replies (duplicates, forged ids). */
#define DRAIN_MS 100

typedef struct load {
  opts *o;
  ecrt_conn *c;
  ecrt_wire_tensor t[MAX_FILES];
  int n_t;
  unsigned char *state;
  uint64_t *sent_ns, *lat_ns;
  long n_sent, n_done, n_ok, n_err, n_dup, n_unknown, n_mismatch, max_in_flight;
  int sender_done, failed;
  uint64_t first_crc;
  int have_first;
  char first_error[600];
  double gap_sum, gap_sq;        /* the offered gaps (seconds), for their mean and CV */
  long n_gaps;
  pthread_mutex_t mu;
  pthread_cond_t answered;       /* a request was answered (closed-loop burst) */
} load;

static int fail_usage(const char *msg, const char *arg) {
  fprintf(stderr, "edgecc-client: error: %s%s%s (see edgecc-client --help)\n", msg, arg ? " " : "", arg ? arg : "");
  return 2;
}

static uint64_t rng_next(unsigned long long *s) {
  /* splitmix64: enough for arrival times, and the same on every machine for a seed. */
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static double rng_unit(unsigned long long *s) { return ((double)(rng_next(s) >> 11) + 0.5) / 9007199254740992.0; }

/* A Gamma(shape, 1) sample: Marsaglia and Tsang's method for shape >= 1 (normals by Box-Muller);
 * below 1, Gamma(shape + 1) * U^(1/shape). Its mean is shape. */
static double rng_gamma(unsigned long long *s, double shape) {
  double d, c;
  if (shape < 1) return rng_gamma(s, shape + 1) * pow(rng_unit(s), 1.0 / shape);
  d = shape - 1.0 / 3.0;
  c = 1.0 / sqrt(9.0 * d);
  for (;;) {
    double x = sqrt(-2.0 * log(rng_unit(s))) * cos(6.283185307179586 * rng_unit(s));
    double v = 1 + c * x, u;
    if (v <= 0) continue;
    v = v * v * v;
    u = rng_unit(s);
    if (log(u) < 0.5 * x * x + d - d * v + d * log(v)) return d * v;
  }
}

static int load_inputs(opts *o, ecrt_wire_tensor *t) {
  int i;
  for (i = 0; i < o->n_in; i++) {
    unsigned char *buf;
    size_t len, bytes;
    ecrt_pb_tensor pt;
    const char *err = "";
    void *data;
    int k;
    if (ecrt_read_file(o->in[i], &buf, &len)) {
      fprintf(stderr, "edgecc-client: error: cannot read %s\n", o->in[i]);
      return 0;
    }
    if (ecrt_pb_parse(buf, len, &pt, &err)) {
      fprintf(stderr, "edgecc-client: error: %s: not a valid TensorProto file: %s\n", o->in[i], err);
      ecrt_free(buf);
      return 0;
    }
    bytes = (size_t)pt.numel * ecrt_dtype_size(pt.dtype);
    data = ecrt_alloc(bytes + ECRT_SLACK, ECRT_ALIGN);
    if (!data || ecrt_pb_decode(&pt, data, bytes)) {
      fprintf(stderr, "edgecc-client: error: %s: cannot decode\n", o->in[i]);
      ecrt_free(buf);
      return 0;
    }
    ecrt_free(buf);
    memset(&t[i], 0, sizeof t[i]);
    t[i].id = (uint32_t)i;
    t[i].dtype = pt.dtype;
    t[i].rank = pt.rank;
    for (k = 0; k < pt.rank; k++) t[i].dims[k] = pt.dims[k];
    t[i].bytes = bytes;
    t[i].data = data;
  }
  return 1;
}

/* Reads one frame's header; for errors, the text into msg. -1 when the connection failed. */
static int read_frame(ecrt_conn *c, unsigned char *hdr, ecrt_wire_msg *m, const opts *o, int wait_ms,
                      char *msg, size_t msg_len) {
  ecrt_net_status net = c->ops->wait_readable(c, wait_ms);
  ecrt_wire_err e;
  if (net == ECRT_NET_TIMEOUT) {
    snprintf(msg, msg_len, "no reply within %d ms", wait_ms);
    return -2;
  }
  if (net) {
    snprintf(msg, msg_len, "the server closed the connection");
    return -1;
  }
  e = ecrt_wire_recv_header(c, hdr, m, o->max_bytes, o->timeout_ms, &net);
  if (e == ECRT_WIRE_IO) {
    snprintf(msg, msg_len, "connection lost: %s", ecrt_net_status_str(net));
    return -1;
  }
  if (e) {
    snprintf(msg, msg_len, "bad frame from the server: %s", ecrt_wire_err_str(e));
    return -1;
  }
  if (m->type == ECRT_MSG_ERROR) {
    char text[ECRT_WIRE_ERROR_TEXT_MAX + 1];
    e = ecrt_wire_recv_error_text(c, m, text, sizeof text, o->timeout_ms, &net);
    if (e == ECRT_WIRE_IO) {
      snprintf(msg, msg_len, "connection lost: %s", ecrt_net_status_str(net));
      return -1;
    }
    snprintf(msg, msg_len, "%s", text);
  }
  return 0;
}

static int write_outputs(const opts *o, const ecrt_wire_msg *m, void *const *bufs) {
  int i;
  for (i = 0; i < o->n_out; i++) {
    uint32_t k;
    const ecrt_wire_tensor *t = NULL;
    char name[32];
    size_t cap, w;
    unsigned char *enc;
    ecrt_status st;
    /* With --models the reply holds the wanted models' outputs only (ids: their indices among
     * the program's outputs): the files take them in order. */
    if (o->models) {
      k = (uint32_t)i + 1;
      if (k <= m->n_tensors) t = &m->t[i];
    }
    for (k = o->models ? k : 0; k < m->n_tensors && !t; k++)
      if (m->t[k].id == (uint32_t)i) t = &m->t[k];
    if (!t) {
      fprintf(stderr, "edgecc-client: error: the reply has no output %d for %s\n", i, o->out[i]);
      return 0;
    }
    snprintf(name, sizeof name, "output_%d", i);
    cap = ecrt_pb_encoded_size(name, t->rank, t->dims, (size_t)t->bytes);
    enc = ecrt_alloc(cap, 8);
    if (!enc) return 0;
    st = ecrt_pb_encode(enc, cap, &w, name, t->dtype, t->rank, t->dims, bufs[k - 1], (size_t)t->bytes);
    if (!st) st = ecrt_write_file(o->out[i], enc, w);
    ecrt_free(enc);
    if (st) {
      fprintf(stderr, "edgecc-client: error: cannot write %s\n", o->out[i]);
      return 0;
    }
  }
  return 1;
}

/* Reads a response's payload into freshly allocated buffers (freed by the caller). */
static ecrt_wire_err read_payload(ecrt_conn *c, const ecrt_wire_msg *m, void **bufs, const opts *o,
                                  ecrt_net_status *net) {
  uint32_t i;
  for (i = 0; i < m->n_tensors; i++) {
    bufs[i] = ecrt_alloc((size_t)m->t[i].bytes + 1, ECRT_ALIGN);
    if (!bufs[i]) return ECRT_WIRE_INTERNAL;
  }
  return ecrt_wire_recv_payload(c, m, bufs, NULL, o->timeout_ms, net);
}

/* --models against the server's names (NULL: a program of one model). 0: a usage error, said. */
static int pick_models(opts *o, const char *names) {
  const char *p = o->model_list;
  if (!names) {
    fprintf(stderr, "edgecc-client: error: --models: %s serves a program of one model\n", o->endpoint);
    return 0;
  }
  o->models = 0;
  for (;;) {
    size_t len = strcspn(p, ",");
    const char *q = names;
    int bit = 0, found = -1;
    while (*q) {
      size_t nl = strcspn(q, "\n");
      if (nl == len && len && strncmp(q, p, len) == 0) found = bit;
      q += nl + (q[nl] == '\n');
      bit++;
    }
    if (found < 0 || (o->models >> found & 1u)) {
      char list[ECRT_WIRE_ERROR_TEXT_MAX + 1], *c;
      snprintf(list, sizeof list, "%s", names);
      for (c = list; *c; c++)
        if (*c == '\n') *c = ',';
      fprintf(stderr, "edgecc-client: error: --models: %s model '%.*s' (%s serves %s)\n",
              found < 0 ? "unknown" : "repeated", (int)len, p, o->endpoint, list);
      return 0;
    }
    o->models |= 1u << found;
    if (!p[len]) return 1;
    p += len + 1;
  }
}

/* 1: the plan id (and model set) known; 0: failed; -2: a usage error (--models). */
static int ping(opts *o, ecrt_conn *c) {
  unsigned char hdr[ECRT_WIRE_HEADER_MAX];
  ecrt_wire_msg m;
  char msg[600];
  ecrt_net_status net;
  int r;
  if (ecrt_wire_send(c, ECRT_MSG_PING, 0, 0, NULL, 0, o->timeout_ms)) {
    fprintf(stderr, "edgecc-client: error: %s: cannot send\n", o->endpoint);
    return 0;
  }
  r = read_frame(c, hdr, &m, o, o->timeout_ms, msg, sizeof msg);
  if (r < 0 || m.type != ECRT_MSG_PING) {
    fprintf(stderr, "edgecc-client: error: %s: no answer to a ping: %s\n", o->endpoint,
            r < 0 ? msg : "unexpected reply");
    return 0;
  }
  {
    /* A program of several models names them in its reply, one per line, in bit order. */
    char names[ECRT_WIRE_ERROR_TEXT_MAX + 1];
    if (ecrt_wire_recv_error_text(c, &m, names, sizeof names, o->timeout_ms, &net) != ECRT_WIRE_OK) return 0;
    if (!o->plan_id) o->plan_id = m.plan_id;
    if (o->model_list) return pick_models(o, m.n_tensors ? names : NULL) ? 1 : -2;
  }
  return 1;
}

/* One request with id `id`: after a load, an id the load did not use, so that a late reply to
 * one of the load's requests cannot pass for its answer. */
static int single(opts *o, ecrt_conn *c, ecrt_wire_tensor *t, uint64_t id) {
  unsigned char hdr[ECRT_WIRE_HEADER_MAX];
  ecrt_wire_msg m;
  char msg[600];
  void *bufs[ECRT_WIRE_MAX_TENSORS];
  ecrt_net_status net;
  ecrt_wire_err e;
  int r, ok;
  uint32_t i;
  if (ecrt_wire_send_set(c, ECRT_MSG_REQUEST, o->plan_id, id, o->models, t, (uint32_t)o->n_in, o->timeout_ms)) {
    fprintf(stderr, "edgecc-client: error: %s: cannot send the request\n", o->endpoint);
    return 1;
  }
  r = read_frame(c, hdr, &m, o, o->timeout_ms, msg, sizeof msg);
  if (r < 0) {
    fprintf(stderr, "edgecc-client: error: request %llu: %s\n", (unsigned long long)id, msg);
    return 1;
  }
  if (m.type == ECRT_MSG_ERROR) {
    fprintf(stderr, "edgecc-client: error: request %llu failed: %s\n", (unsigned long long)id, msg);
    return 1;
  }
  if (m.type != ECRT_MSG_RESPONSE || m.request_id != id) {
    fprintf(stderr, "edgecc-client: error: unexpected reply (type %u, request %llu)\n", m.type,
            (unsigned long long)m.request_id);
    return 1;
  }
  memset(bufs, 0, sizeof bufs);
  e = read_payload(c, &m, bufs, o, &net);
  ok = e == ECRT_WIRE_OK;
  if (!ok) fprintf(stderr, "edgecc-client: error: request %llu: %s\n", (unsigned long long)id, ecrt_wire_err_str(e));
  if (ok) ok = write_outputs(o, &m, bufs);
  for (i = 0; i < m.n_tensors; i++)
    if (bufs[i]) ecrt_free(bufs[i]);
  return ok ? 0 : 1;
}

/* ---- load mode ---------------------------------------------------------------------------------- */

static void sleep_until(uint64_t t_ns) {
  for (;;) {
    uint64_t now = ecrt_now_ns();
    struct timespec ts;
    if (now >= t_ns) return;
    ts.tv_sec = (time_t)((t_ns - now) / 1000000000u);
    ts.tv_nsec = (long)((t_ns - now) % 1000000000u);
    nanosleep(&ts, NULL);
  }
}

static void *sender(void *arg) {
  load *L = arg;
  opts *o = L->o;
  unsigned long long seed = o->seed;
  uint64_t t = ecrt_now_ns();
  long i;
  for (i = 0; i < o->requests; i++) {
    uint64_t id = (uint64_t)i + 1;
    if (o->arrivals == A_BURST) {
      /* Closed loop: the next request goes when fewer than C are outstanding; a reply that never
       * comes ends the load after the timeout (the receiver counts it lost). */
      int stalled = 0;
      pthread_mutex_lock(&L->mu);
      while (!stalled && !L->failed && L->n_sent - L->n_done >= o->concurrency) {
        struct timespec dl;
        clock_gettime(CLOCK_REALTIME, &dl);
        dl.tv_sec += o->timeout_ms / 1000;
        dl.tv_nsec += (long)(o->timeout_ms % 1000) * 1000000L;
        if (dl.tv_nsec >= 1000000000L) dl.tv_sec++, dl.tv_nsec -= 1000000000L;
        stalled = pthread_cond_timedwait(&L->answered, &L->mu, &dl) != 0;
      }
      stalled |= L->failed;
      pthread_mutex_unlock(&L->mu);
      if (stalled) break;
    } else if (o->rate > 0) {
      double gap = 1.0 / o->rate;
      if (o->arrivals == A_UNIFORM) gap = 2.0 * gap * rng_unit(&seed);
      else if (o->arrivals == A_POISSON) gap = -log(rng_unit(&seed)) * gap;
      else if (o->arrivals == A_GAMMA) gap = rng_gamma(&seed, o->shape) / o->shape * gap;
      if (i) {
        t += (uint64_t)(gap * 1e9);
        L->gap_sum += gap, L->gap_sq += gap * gap, L->n_gaps++;
      }
      sleep_until(t);
    }
    pthread_mutex_lock(&L->mu);
    L->state[i] = R_SENT;
    L->sent_ns[i] = ecrt_now_ns();
    L->n_sent++;
    if (L->n_sent - L->n_done > L->max_in_flight) L->max_in_flight = L->n_sent - L->n_done;
    pthread_mutex_unlock(&L->mu);
    if (ecrt_wire_send_set(L->c, ECRT_MSG_REQUEST, o->plan_id, id, o->models, L->t, (uint32_t)L->n_t,
                           o->timeout_ms)) {
      fprintf(stderr, "edgecc-client: error: sending request %llu failed\n", (unsigned long long)id);
      pthread_mutex_lock(&L->mu);
      L->failed = 1;
      pthread_mutex_unlock(&L->mu);
      break;
    }
  }
  pthread_mutex_lock(&L->mu);
  L->sender_done = 1;
  pthread_mutex_unlock(&L->mu);
  return NULL;
}

/* Books a reply to request `id`: unknown when no such request was sent, duplicated when it was
 * answered already; otherwise the request takes `state` and 1 is returned (its first answer). */
static int book(load *L, uint64_t id, int state) {
  int first = 0;
  pthread_mutex_lock(&L->mu);
  if (id == 0 || id > (uint64_t)L->o->requests || L->state[id - 1] == R_UNSENT) {
    L->n_unknown++;
  } else if (L->state[id - 1] != R_SENT) {
    L->n_dup++;
  } else {
    L->state[id - 1] = (unsigned char)state;
    L->lat_ns[id - 1] = ecrt_now_ns() - L->sent_ns[id - 1];
    L->n_done++;
    first = 1;
    pthread_cond_broadcast(&L->answered);
  }
  pthread_mutex_unlock(&L->mu);
  return first;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static double pct(const uint64_t *v, long n, double q) {
  long k;
  if (n == 0) return 0;
  k = (long)ceil(q * (double)n) - 1;
  if (k < 0) k = 0;
  if (k >= n) k = n - 1;
  return (double)v[k] / 1e6;
}

static int run_load(opts *o, ecrt_conn *c, ecrt_wire_tensor *t) {
  load L;
  pthread_t th;
  unsigned char hdr[ECRT_WIRE_HEADER_MAX];
  uint64_t start = ecrt_now_ns(), last = 0, drain_end = 0, *lat;
  long i, n_lat = 0, lost;
  int rc, broken = 0;
  memset(&L, 0, sizeof L);
  L.o = o;
  L.c = c;
  L.n_t = o->n_in;
  memcpy(L.t, t, sizeof(ecrt_wire_tensor) * (size_t)o->n_in);
  L.state = calloc((size_t)o->requests, 1);
  L.sent_ns = calloc((size_t)o->requests, sizeof(uint64_t));
  L.lat_ns = calloc((size_t)o->requests, sizeof(uint64_t));
  if (!L.state || !L.sent_ns || !L.lat_ns) {
    fprintf(stderr, "edgecc-client: error: out of memory\n");
    return 1;
  }
  pthread_mutex_init(&L.mu, NULL);
  pthread_cond_init(&L.answered, NULL);
  if (pthread_create(&th, NULL, sender, &L) != 0) {
    fprintf(stderr, "edgecc-client: error: cannot start the sender\n");
    return 1;
  }
  for (;;) {
    ecrt_wire_msg m;
    char msg[600];
    int r, done, idle;
    uint64_t id;
    int wait_ms;
    pthread_mutex_lock(&L.mu);
    done = L.n_done >= o->requests || (L.sender_done && (L.n_done >= L.n_sent || L.failed));
    done = done && L.n_done >= L.n_sent;
    idle = L.sender_done;
    pthread_mutex_unlock(&L.mu);
    if (done) {
      /* Every request is answered; a duplicate or forged reply sent right after the last
       * answer is still read and counted during a short grace period. */
      uint64_t now = ecrt_now_ns();
      if (!drain_end) drain_end = now + (uint64_t)(o->timeout_ms < DRAIN_MS ? o->timeout_ms : DRAIN_MS) * 1000000u;
      if (now >= drain_end) break;
      wait_ms = (int)((drain_end - now + 999999u) / 1000000u);
    } else {
      /* While sending, wait in slices; once all are sent, the timeout bounds the silence. */
      wait_ms = idle ? o->timeout_ms : 100;
    }
    r = read_frame(c, hdr, &m, o, wait_ms, msg, sizeof msg);
    if (r == -2 && (done || !idle)) continue;
    if (r < 0) {
      if (done) break; /* the server hung up after answering everything */
      fprintf(stderr, "edgecc-client: error: %s\n", msg);
      broken = 1;
      break;
    }
    id = m.request_id;
    if (m.type == ECRT_MSG_RESPONSE) {
      ecrt_net_status net;
      uint32_t crc = 0;
      /* Only the payload's CRC is kept: it tells whether the outputs equal the first reply's. */
      ecrt_wire_err e = ecrt_wire_recv_payload(c, &m, NULL, &crc, o->timeout_ms, &net);
      if (e == ECRT_WIRE_IO) {
        fprintf(stderr, "edgecc-client: error: connection lost while reading a reply\n");
        broken = 1;
        break;
      }
      if (e) {
        fprintf(stderr, "edgecc-client: error: reply %llu has a bad payload CRC\n", (unsigned long long)id);
        if (book(&L, id, R_BAD)) L.n_mismatch++, last = ecrt_now_ns();
      } else if (book(&L, id, R_OK)) {
        L.n_ok++;
        last = ecrt_now_ns();
        if (!L.have_first) L.first_crc = crc, L.have_first = 1;
        else if (crc != L.first_crc) L.n_mismatch++;
      }
    } else if (m.type == ECRT_MSG_ERROR) {
      if (book(&L, id, R_ERR)) {
        L.n_err++;
        last = ecrt_now_ns();
        if (!L.first_error[0]) snprintf(L.first_error, sizeof L.first_error, "request %llu: %.560s", (unsigned long long)id, msg);
      }
    } else {
      /* A request or a ping from the server answers nothing the client asked. */
      ecrt_net_status net;
      L.n_unknown++;
      if (ecrt_wire_recv_payload(c, &m, NULL, NULL, o->timeout_ms, &net) == ECRT_WIRE_IO) {
        broken = 1;
        break;
      }
    }
  }
  if (broken) c->ops->shutdown(c); /* unblocks the sender */
  pthread_join(th, NULL);
  lat = malloc(sizeof(uint64_t) * (size_t)(o->requests + 1));
  for (i = 0; lat && i < o->requests; i++)
    if (L.state[i] == R_OK) lat[n_lat++] = L.lat_ns[i];
  if (lat) qsort(lat, (size_t)n_lat, sizeof *lat, cmp_u64);
  lost = L.n_sent - L.n_done;
  printf("requests %ld  sent %ld  ok %ld  errors %ld  lost %ld  duplicated %ld  unknown %ld  mismatched %ld\n",
         o->requests, L.n_sent, L.n_ok, L.n_err, lost, L.n_dup, L.n_unknown, L.n_mismatch);
  if (o->arrivals == A_BURST)
    printf("arrivals burst  concurrency %ld  max_in_flight %ld\n", o->concurrency, L.max_in_flight);
  else
    printf("arrivals %s  rate %.1f/s  max_in_flight %ld\n", arrival_names[o->arrivals], o->rate, L.max_in_flight);
  if (L.n_gaps > 1) {
    /* The gaps offered (not as slept): mean and coefficient of variation, which a test can hold
     * against the distribution's (1 for Poisson, 1/sqrt(K) for Gamma). */
    double mean = L.gap_sum / (double)L.n_gaps, var = L.gap_sq / (double)L.n_gaps - mean * mean;
    printf("gaps_ms mean %.6f cv %.3f\n", mean * 1e3, var > 0 && mean > 0 ? sqrt(var) / mean : 0.0);
  }
  if (last > start)
    printf("throughput %.1f req/s over %.3f s\n", (double)L.n_ok / ((double)(last - start) / 1e9),
           (double)(last - start) / 1e9);
  if (lat)
    printf("latency_ms p50 %.3f p95 %.3f p99 %.3f max %.3f\n", pct(lat, n_lat, 0.5), pct(lat, n_lat, 0.95),
           pct(lat, n_lat, 0.99), n_lat ? (double)lat[n_lat - 1] / 1e6 : 0.0);
  if (L.first_error[0]) fprintf(stderr, "edgecc-client: first error: %s\n", L.first_error);
  fflush(stdout);
  rc = (L.n_ok == o->requests && !L.n_dup && !L.n_unknown && !L.n_mismatch && !broken) ? 0 : 1;
  free(lat);
  free(L.state);
  free(L.sent_ns);
  free(L.lat_ns);
  return rc;
}

int main(int argc, char **argv) {
  opts o;
  ecrt_wire_tensor t[MAX_FILES];
  ecrt_conn *c = NULL;
  char err[300];
  int i, mode = 0, rc;
  memset(&o, 0, sizeof o);
  o.timeout_ms = 10000;
  o.max_bytes = (uint64_t)1 << 30;
  o.arrivals = A_POISSON;
  o.shape = 0.25;
  o.concurrency = 8;
  o.rate = -1;
  o.seed = 1;
  signal(SIGPIPE, SIG_IGN);
  for (i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    char *end = NULL;
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      fputs(usage_text, stdout);
      return 0;
    } else if (strcmp(a, "--input") == 0) {
      mode = 1;
    } else if (strcmp(a, "--output") == 0) {
      mode = 2;
    } else if (strcmp(a, "--plan-id") == 0) {
      if (!v || !*v || (o.plan_id = strtoull(v, &end, 16)) == 0 || *end) return fail_usage("--plan-id needs a non-zero hex number", NULL);
      i++, mode = 0;
    } else if (strcmp(a, "--models") == 0) {
      /* The names are checked against the server's list once the ping has brought it. */
      if (!v || !*v || v[0] == ',' || v[strlen(v) - 1] == ',' || strstr(v, ",,"))
        return fail_usage("--models needs NAME[,NAME...]", NULL);
      o.model_list = v, i++, mode = 0;
    } else if (strcmp(a, "--timeout") == 0) {
      long ms = v ? strtol(v, &end, 10) : 0;
      if (!v || *end || ms < 1 || ms > 3600000) return fail_usage("--timeout needs milliseconds", NULL);
      o.timeout_ms = (int)ms, i++, mode = 0;
    } else if (strcmp(a, "--max-bytes") == 0) {
      if (!v || !*v || (o.max_bytes = strtoull(v, &end, 10)) == 0 || *end) return fail_usage("--max-bytes needs a byte count", NULL);
      i++, mode = 0;
    } else if (strcmp(a, "--requests") == 0) {
      if (!v || (o.requests = strtol(v, &end, 10)) < 1 || *end || o.requests > 100000000L)
        return fail_usage("--requests needs a positive count", NULL);
      i++, mode = 0;
    } else if (strcmp(a, "--rate") == 0) {
      if (!v || (o.rate = strtod(v, &end)) < 0 || *end || !*v) return fail_usage("--rate needs requests per second (0: no pause)", NULL);
      i++, mode = 0;
    } else if (strcmp(a, "--arrivals") == 0) {
      int k;
      if (!v) return fail_usage("--arrivals needs fixed, uniform, poisson, gamma or burst", NULL);
      for (k = 0, o.arrivals = -1; k <= A_BURST; k++)
        if (strcmp(v, arrival_names[k]) == 0) o.arrivals = k;
      if (o.arrivals < 0) return fail_usage("--arrivals needs fixed, uniform, poisson, gamma or burst, not", v);
      i++, mode = 0;
    } else if (strcmp(a, "--gamma-shape") == 0) {
      if (!v || !*v || !((o.shape = strtod(v, &end)) >= 0.01) || o.shape > 1000 || *end)
        return fail_usage("--gamma-shape needs a shape from 0.01 to 1000", NULL);
      i++, mode = 0;
    } else if (strcmp(a, "--concurrency") == 0) {
      if (!v || (o.concurrency = strtol(v, &end, 10)) < 1 || *end || o.concurrency > 100000)
        return fail_usage("--concurrency needs a count from 1 to 100000", NULL);
      i++, mode = 0;
    } else if (strcmp(a, "--seed") == 0) {
      if (!v || !*v) return fail_usage("--seed needs a number", NULL);
      o.seed = strtoull(v, &end, 10);
      if (*end) return fail_usage("--seed needs a number", NULL);
      i++, mode = 0;
    } else if (a[0] == '-' && a[1] == '-') {
      return fail_usage("unknown option", a);
    } else if (mode == 1) {
      if (o.n_in >= MAX_FILES) return fail_usage("too many inputs", NULL);
      o.in[o.n_in++] = a;
    } else if (mode == 2) {
      if (o.n_out >= MAX_FILES) return fail_usage("too many outputs", NULL);
      o.out[o.n_out++] = a;
    } else if (!o.endpoint) {
      o.endpoint = a;
    } else {
      return fail_usage("unexpected argument", a);
    }
  }
  if (!o.endpoint) return fail_usage("an ENDPOINT is needed", NULL);
  if (!ecrt_endpoint_valid(o.endpoint, err, sizeof err)) return fail_usage(err, NULL);
  if (!o.n_in) return fail_usage("--input FILE.pb ... is needed", NULL);
  if (o.requests && o.rate < 0 && o.arrivals != A_BURST) return fail_usage("--requests needs --rate", NULL);
  if (!o.requests && o.rate >= 0) return fail_usage("--rate needs --requests", NULL);
  if (!load_inputs(&o, t)) return 1;
  if (ecrt_connect(o.endpoint, &c, o.timeout_ms, err, sizeof err) != ECRT_NET_OK) {
    fprintf(stderr, "edgecc-client: error: %s\n", err);
    return 1;
  }
  if (!o.plan_id || o.model_list) {
    int r = ping(&o, c);
    if (r <= 0) {
      c->ops->close(c);
      return r < 0 ? 2 : 1;
    }
  }
  if (o.requests) {
    rc = run_load(&o, c, t);
    if (rc == 0 && o.n_out) {
      /* Outputs of one more request, for comparison. */
      rc = single(&o, c, t, (uint64_t)o.requests + 1);
    }
  } else {
    rc = single(&o, c, t, 1);
  }
  c->ops->close(c);
  return rc;
}
