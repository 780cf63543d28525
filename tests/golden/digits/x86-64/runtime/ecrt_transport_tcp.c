/* ecrt_transport_tcp.c — the tcp://HOST:PORT transport: IPv4/IPv6 through getaddrinfo, Nagle
 * off (frames are written whole and a reply waits on them), loopback when HOST is empty. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ecrt_transport.h"

typedef struct tcp_listener {
  ecrt_listener base;
  int fd;
} tcp_listener;

/* Splits "HOST:PORT" or "[V6]:PORT"; an empty host means 127.0.0.1. */
static int split(const char *addr, char *host, size_t hlen, char *port, size_t plen, char *err,
                 size_t err_len) {
  const char *colon = strrchr(addr, ':');
  const char *h = addr;
  size_t n;
  char *end;
  long p;
  if (!colon || !colon[1]) {
    snprintf(err, err_len, "tcp://%s: expected tcp://HOST:PORT", addr);
    return 0;
  }
  p = strtol(colon + 1, &end, 10);
  if (*end || p < 0 || p > 65535) {
    snprintf(err, err_len, "tcp://%s: bad port '%s'", addr, colon + 1);
    return 0;
  }
  n = (size_t)(colon - addr);
  if (n >= 2 && h[0] == '[' && h[n - 1] == ']') h++, n -= 2;
  if (n == 0) h = "127.0.0.1", n = 9;
  if (n >= hlen) {
    snprintf(err, err_len, "tcp://%s: host name too long", addr);
    return 0;
  }
  memcpy(host, h, n);
  host[n] = 0;
  snprintf(port, plen, "%ld", p);
  return 1;
}

static int resolve(const char *addr, int passive, struct addrinfo **res, char *err, size_t err_len) {
  char host[256], port[16];
  struct addrinfo hints;
  int r;
  if (!split(addr, host, sizeof host, port, sizeof port, err, err_len)) return 0;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = passive ? AI_PASSIVE : 0;
  r = getaddrinfo(host, port, &hints, res);
  if (r != 0) {
    snprintf(err, err_len, "tcp://%s: cannot resolve '%s': %s", addr, host, gai_strerror(r));
    return 0;
  }
  return 1;
}

static ecrt_net_status tcp_accept(ecrt_listener *l, ecrt_conn **out, int timeout_ms, char *err,
                                  size_t err_len) {
  return ecrt_sock_accept(((tcp_listener *)l)->fd, 1, out, timeout_ms, err, err_len);
}

static void tcp_listener_close(ecrt_listener *l) {
  close(((tcp_listener *)l)->fd);
  free(l);
}

static const ecrt_listener_ops tcp_listener_ops = {tcp_accept, tcp_listener_close};

ecrt_net_status ecrt_tcp_listen(const char *addr, ecrt_listener **out, char *err, size_t err_len) {
  struct addrinfo *res, *ai;
  tcp_listener *l;
  int fd = -1, one = 1, e = 0;
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  *out = NULL;
  if (!resolve(addr, 1, &res, err, err_len)) return ECRT_NET_ERR;
  for (ai = res; ai; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd < 0) continue;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 64) == 0) break;
    e = errno;
    close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd < 0) {
    snprintf(err, err_len, "tcp://%s: cannot listen: %s", addr, strerror(e ? e : EADDRNOTAVAIL));
    return ECRT_NET_ERR;
  }
  l = calloc(1, sizeof *l);
  if (!l) {
    close(fd);
    snprintf(err, err_len, "out of memory");
    return ECRT_NET_ERR;
  }
  l->base.ops = &tcp_listener_ops;
  l->fd = fd;
  if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
    ecrt_sock_name(&ss, sl, l->base.endpoint, sizeof l->base.endpoint);
  *out = &l->base;
  return ECRT_NET_OK;
}

ecrt_net_status ecrt_tcp_connect(const char *addr, ecrt_conn **out, int timeout_ms, char *err,
                                 size_t err_len) {
  struct addrinfo *res, *ai;
  ecrt_net_status st = ECRT_NET_ERR;
  char why[160] = "no address";
  int fd = -1, one = 1;
  *out = NULL;
  if (!resolve(addr, 0, &res, err, err_len)) return ECRT_NET_ERR;
  for (ai = res; ai; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd < 0) continue;
    st = ecrt_sock_connect(fd, ai->ai_addr, (unsigned)ai->ai_addrlen, timeout_ms, why, sizeof why);
    if (st == ECRT_NET_OK) break;
    close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd < 0) {
    snprintf(err, err_len, "cannot connect to tcp://%s: %s", addr, why);
    return st == ECRT_NET_TIMEOUT ? ECRT_NET_TIMEOUT : ECRT_NET_ERR;
  }
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  {
    char peer[160];
    snprintf(peer, sizeof peer, "tcp://%s", addr);
    *out = ecrt_sock_conn(fd, peer);
  }
  if (!*out) {
    snprintf(err, err_len, "out of memory");
    return ECRT_NET_ERR;
  }
  return ECRT_NET_OK;
}
