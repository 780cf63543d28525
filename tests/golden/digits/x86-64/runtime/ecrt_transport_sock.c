/* ecrt_transport_sock.c — what TCP and Unix-domain sockets share: a connection over a
 * non-blocking stream socket, every wait a poll() bounded by the caller's timeout. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "ecrt_platform.h"
#include "ecrt_transport.h"

typedef struct sock_conn {
  ecrt_conn base;
  int fd;
  volatile int down;             /* shutdown called: fail fast instead of waiting */
} sock_conn;

/* Waits for events on fd up to ms (negative: 0). 1 ready, 0 timeout, -1 error. */
static int wait_fd(int fd, short events, int ms) {
  struct pollfd p;
  int r;
  p.fd = fd;
  p.events = events;
  p.revents = 0;
  do r = poll(&p, 1, ms < 0 ? 0 : ms);
  while (r < 0 && errno == EINTR);
  return r < 0 ? -1 : r;
}

static ecrt_net_status sock_sendv(ecrt_conn *c, const ecrt_iov *iov, int n, int timeout_ms) {
  sock_conn *s = (sock_conn *)c;
  uint64_t deadline = ecrt_now_ns() + (uint64_t)timeout_ms * 1000000u;
  struct iovec v[16];
  int i = 0;
  size_t off = 0;                /* bytes of iov[i] already sent */
  while (i < n) {
    struct msghdr m;
    int k, cnt = 0;
    ssize_t w;
    if (s->down) return ECRT_NET_CLOSED;
    for (k = i; k < n && cnt < 16; k++) {
      v[cnt].iov_base = (char *)iov[k].base + (k == i ? off : 0);
      v[cnt].iov_len = iov[k].len - (k == i ? off : 0);
      cnt++;
    }
    memset(&m, 0, sizeof m);
    m.msg_iov = v;
    m.msg_iovlen = (size_t)cnt;
    w = sendmsg(s->fd, &m, MSG_NOSIGNAL);
    if (w < 0) {
      int r;
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) return ECRT_NET_CLOSED;
      r = wait_fd(s->fd, POLLOUT, ecrt_ms_left(deadline));
      if (r < 0) return ECRT_NET_CLOSED;
      if (r == 0) return ECRT_NET_TIMEOUT;
      continue;
    }
    while (i < n && (size_t)w >= iov[i].len - off) {
      w -= (ssize_t)(iov[i].len - off);
      off = 0;
      i++;
    }
    off += (size_t)w;
  }
  return ECRT_NET_OK;
}

static ecrt_net_status sock_recv(ecrt_conn *c, void *buf, size_t len, int timeout_ms) {
  sock_conn *s = (sock_conn *)c;
  uint64_t deadline = ecrt_now_ns() + (uint64_t)timeout_ms * 1000000u;
  size_t got = 0;
  while (got < len) {
    ssize_t r;
    if (s->down) return ECRT_NET_CLOSED;
    r = recv(s->fd, (char *)buf + got, len - got, 0);
    if (r == 0) return ECRT_NET_CLOSED;
    if (r < 0) {
      int w;
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) return ECRT_NET_CLOSED;
      w = wait_fd(s->fd, POLLIN, ecrt_ms_left(deadline));
      if (w < 0) return ECRT_NET_CLOSED;
      if (w == 0) return ECRT_NET_TIMEOUT;
      continue;
    }
    got += (size_t)r;
  }
  return ECRT_NET_OK;
}

static ecrt_net_status sock_wait_readable(ecrt_conn *c, int timeout_ms) {
  sock_conn *s = (sock_conn *)c;
  int r;
  if (s->down) return ECRT_NET_CLOSED;
  r = wait_fd(s->fd, POLLIN, timeout_ms);
  if (r < 0 || s->down) return ECRT_NET_CLOSED;
  if (r) {
    /* Readable may mean end of stream: tell a clean close from the start of a frame. */
    char b;
    ssize_t n;
    do n = recv(s->fd, &b, 1, MSG_PEEK);
    while (n < 0 && errno == EINTR);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) return ECRT_NET_CLOSED;
    return n > 0 ? ECRT_NET_OK : ECRT_NET_TIMEOUT;
  }
  return ECRT_NET_TIMEOUT;
}

static void sock_shutdown(ecrt_conn *c) {
  sock_conn *s = (sock_conn *)c;
  s->down = 1;
  shutdown(s->fd, SHUT_RDWR);
}

static void sock_close(ecrt_conn *c) {
  sock_conn *s = (sock_conn *)c;
  close(s->fd);
  free(s);
}

static const ecrt_conn_ops sock_ops = {sock_sendv, sock_recv, sock_wait_readable, sock_shutdown,
                                       sock_close};

ecrt_conn *ecrt_sock_conn(int fd, const char *peer) {
  sock_conn *s = calloc(1, sizeof *s);
  int fl = fcntl(fd, F_GETFL);
  if (!s || fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
    free(s);
    close(fd);
    return NULL;
  }
  fcntl(fd, F_SETFD, FD_CLOEXEC);
  s->base.ops = &sock_ops;
  snprintf(s->base.peer, sizeof s->base.peer, "%.120s", peer);
  s->fd = fd;
  return &s->base;
}

void ecrt_sock_name(const void *sa, unsigned len, char *buf, size_t n) {
  char h[64], p[16];
  if (getnameinfo((const struct sockaddr *)sa, (socklen_t)len, h, sizeof h, p, sizeof p,
                  NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
    snprintf(buf, n, "tcp://?");
    return;
  }
  snprintf(buf, n, strchr(h, ':') ? "tcp://[%s]:%s" : "tcp://%s:%s", h, p);
}

ecrt_net_status ecrt_sock_accept(int lfd, int tcp, ecrt_conn **out, int timeout_ms, char *err,
                                 size_t err_len) {
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  char peer[128] = "unix client";
  int r = wait_fd(lfd, POLLIN, timeout_ms), fd, one = 1;
  *out = NULL;
  if (r == 0) return ECRT_NET_TIMEOUT;
  if (r < 0) {
    snprintf(err, err_len, "poll: %s", strerror(errno));
    return ECRT_NET_ERR;
  }
  fd = accept(lfd, (struct sockaddr *)&ss, &sl);
  if (fd < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == ECONNABORTED)
      return ECRT_NET_TIMEOUT;
    snprintf(err, err_len, "accept: %s", strerror(errno));
    return ECRT_NET_ERR;
  }
  if (tcp) {
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ecrt_sock_name(&ss, (unsigned)sl, peer, sizeof peer);
  }
  *out = ecrt_sock_conn(fd, peer);
  if (!*out) {
    snprintf(err, err_len, "out of memory");
    return ECRT_NET_ERR;
  }
  return ECRT_NET_OK;
}

ecrt_net_status ecrt_sock_connect(int fd, const void *addr, unsigned addr_len, int timeout_ms,
                                  char *err, size_t err_len) {
  int fl = fcntl(fd, F_GETFL), r, e = 0;
  socklen_t el = sizeof e;
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
    snprintf(err, err_len, "fcntl: %s", strerror(errno));
    return ECRT_NET_ERR;
  }
  if (connect(fd, (const struct sockaddr *)addr, (socklen_t)addr_len) == 0) return ECRT_NET_OK;
  if (errno != EINPROGRESS && errno != EAGAIN) {
    snprintf(err, err_len, "%s", strerror(errno));
    return ECRT_NET_ERR;
  }
  r = wait_fd(fd, POLLOUT, timeout_ms);
  if (r == 0) {
    snprintf(err, err_len, "no answer within %d ms", timeout_ms);
    return ECRT_NET_TIMEOUT;
  }
  if (r < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0 || e != 0) {
    snprintf(err, err_len, "%s", strerror(e ? e : errno));
    return ECRT_NET_ERR;
  }
  return ECRT_NET_OK;
}
