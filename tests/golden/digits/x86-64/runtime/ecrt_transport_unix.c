/* ecrt_transport_unix.c — the unix://PATH transport (Unix-domain stream sockets). A stale
 * socket file left by a dead server is replaced; a live server's is refused. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ecrt_transport.h"

typedef struct unix_listener {
  ecrt_listener base;
  int fd;
  char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
} unix_listener;

static int make_addr(const char *path, struct sockaddr_un *sa, char *err, size_t err_len) {
  memset(sa, 0, sizeof *sa);
  sa->sun_family = AF_UNIX;
  if (!*path || strlen(path) >= sizeof sa->sun_path) {
    snprintf(err, err_len, "unix://%s: the path must be 1 to %u characters", path,
             (unsigned)sizeof sa->sun_path - 1);
    return 0;
  }
  memcpy(sa->sun_path, path, strlen(path) + 1);
  return 1;
}

static ecrt_net_status unix_accept(ecrt_listener *l, ecrt_conn **out, int timeout_ms, char *err,
                                   size_t err_len) {
  return ecrt_sock_accept(((unix_listener *)l)->fd, 0, out, timeout_ms, err, err_len);
}

static void unix_listener_close(ecrt_listener *l) {
  unix_listener *u = (unix_listener *)l;
  close(u->fd);
  unlink(u->path);
  free(u);
}

static const ecrt_listener_ops unix_listener_ops = {unix_accept, unix_listener_close};

ecrt_net_status ecrt_unix_listen(const char *addr, ecrt_listener **out, char *err, size_t err_len) {
  struct sockaddr_un sa;
  unix_listener *l;
  int fd;
  *out = NULL;
  if (!make_addr(addr, &sa, err, err_len)) return ECRT_NET_ERR;
  fd = socket(AF_UNIX, SOCK_STREAM, 0);
  if (fd < 0) {
    snprintf(err, err_len, "unix://%s: socket: %s", addr, strerror(errno));
    return ECRT_NET_ERR;
  }
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
    /* Only a file nobody answers on may be replaced. */
    int live;
    if (errno != EADDRINUSE) goto fail;
    int probe = socket(AF_UNIX, SOCK_STREAM, 0);
    live = probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof sa) == 0;
    if (probe >= 0) close(probe);
    if (live) {
      close(fd);
      snprintf(err, err_len, "unix://%s: another server is listening there", addr);
      return ECRT_NET_ERR;
    }
    unlink(addr);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) goto fail;
  }
  if (listen(fd, 64) != 0) goto fail;
  l = calloc(1, sizeof *l);
  if (!l) {
    close(fd);
    snprintf(err, err_len, "out of memory");
    return ECRT_NET_ERR;
  }
  l->base.ops = &unix_listener_ops;
  l->fd = fd;
  memcpy(l->path, sa.sun_path, sizeof l->path);
  snprintf(l->base.endpoint, sizeof l->base.endpoint, "unix://%s", addr);
  *out = &l->base;
  return ECRT_NET_OK;
fail:
  snprintf(err, err_len, "unix://%s: cannot listen: %s", addr, strerror(errno));
  close(fd);
  return ECRT_NET_ERR;
}

ecrt_net_status ecrt_unix_connect(const char *addr, ecrt_conn **out, int timeout_ms, char *err,
                                  size_t err_len) {
  struct sockaddr_un sa;
  char why[160], peer[160];
  ecrt_net_status st;
  int fd;
  *out = NULL;
  if (!make_addr(addr, &sa, err, err_len)) return ECRT_NET_ERR;
  fd = socket(AF_UNIX, SOCK_STREAM, 0);
  if (fd < 0) {
    snprintf(err, err_len, "unix://%s: socket: %s", addr, strerror(errno));
    return ECRT_NET_ERR;
  }
  st = ecrt_sock_connect(fd, &sa, (unsigned)sizeof sa, timeout_ms, why, sizeof why);
  if (st != ECRT_NET_OK) {
    close(fd);
    snprintf(err, err_len, "cannot connect to unix://%s: %s", addr, why);
    return st;
  }
  snprintf(peer, sizeof peer, "unix://%s", addr);
  *out = ecrt_sock_conn(fd, peer);
  if (!*out) {
    snprintf(err, err_len, "out of memory");
    return ECRT_NET_ERR;
  }
  return ECRT_NET_OK;
}
