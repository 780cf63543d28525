/* ecrt_transport.h — byte-stream connections between partitions and clients, one transport per
 * file (ecrt_transport_tcp.c, _unix.c, _shm.c), chosen by the scheme of an endpoint. C99, POSIX.
 *
 * Endpoints: `tcp://HOST:PORT` (HOST empty = 127.0.0.1; PORT 0 = an ephemeral port),
 * `unix://PATH`, `shm://NAME` (POSIX shared memory, same machine). Every blocking call takes a
 * timeout in milliseconds; a connection is a reliable, ordered byte stream whatever the
 * transport, so the wire format (ecrt_wire.h) is the same over all of them. A connection may be
 * used by one sending and one receiving thread at once; `shutdown` may be called from any
 * thread and makes blocked calls on it return ECRT_NET_CLOSED. */
#ifndef ECRT_TRANSPORT_H
#define ECRT_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

typedef enum ecrt_net_status {
  ECRT_NET_OK = 0,
  ECRT_NET_TIMEOUT = 1,  /* nothing happened within the timeout; the connection is still usable */
  ECRT_NET_CLOSED = 2,   /* the peer closed or died, or shutdown was called */
  ECRT_NET_ERR = 3       /* anything else (bad endpoint, no server, system error): see the message */
} ecrt_net_status;

typedef struct ecrt_iov {
  const void *base;
  size_t len;
} ecrt_iov;

typedef struct ecrt_conn ecrt_conn;
typedef struct ecrt_conn_ops {
  /* Sends every byte of the n buffers, in order, within timeout_ms. */
  ecrt_net_status (*sendv)(ecrt_conn *c, const ecrt_iov *iov, int n, int timeout_ms);
  /* Receives exactly len bytes within timeout_ms (TIMEOUT then means the stream is broken
   * mid-message: callers treat it as a lost peer). */
  ecrt_net_status (*recv)(ecrt_conn *c, void *buf, size_t len, int timeout_ms);
  /* Waits until a byte can be read (or the peer closed): OK, or TIMEOUT when idle. */
  ecrt_net_status (*wait_readable)(ecrt_conn *c, int timeout_ms);
  void (*shutdown)(ecrt_conn *c);
  void (*close)(ecrt_conn *c); /* also frees c */
} ecrt_conn_ops;

struct ecrt_conn {
  const ecrt_conn_ops *ops;
  char peer[128];                /* for messages: "tcp://127.0.0.1:5001", "shm://x (pid 12)" */
};

typedef struct ecrt_listener ecrt_listener;
typedef struct ecrt_listener_ops {
  /* Waits up to timeout_ms for a connection: OK with *out set, or TIMEOUT. */
  ecrt_net_status (*accept)(ecrt_listener *l, ecrt_conn **out, int timeout_ms, char *err,
                            size_t err_len);
  void (*close)(ecrt_listener *l); /* removes the socket file / shared memory name; frees l */
} ecrt_listener_ops;

struct ecrt_listener {
  const ecrt_listener_ops *ops;
  char endpoint[160];            /* the bound endpoint, ephemeral port resolved */
};

/* One row per scheme: the table ecrt_listen/ecrt_connect dispatch on. */
typedef struct ecrt_transport {
  const char *scheme;            /* "tcp", "unix", "shm" */
  ecrt_net_status (*listen)(const char *addr, ecrt_listener **out, char *err, size_t err_len);
  ecrt_net_status (*connect)(const char *addr, ecrt_conn **out, int timeout_ms, char *err,
                             size_t err_len);
} ecrt_transport;

/* Listens on / connects to an endpoint (`scheme://address`); err gets a one-line reason. */
ecrt_net_status ecrt_listen(const char *endpoint, ecrt_listener **out, char *err, size_t err_len);
ecrt_net_status ecrt_connect(const char *endpoint, ecrt_conn **out, int timeout_ms, char *err,
                             size_t err_len);
/* Checks an endpoint's syntax without opening anything. */
int ecrt_endpoint_valid(const char *endpoint, char *err, size_t err_len);

ecrt_net_status ecrt_conn_send(ecrt_conn *c, const void *buf, size_t len, int timeout_ms);
const char *ecrt_net_status_str(ecrt_net_status st);

/* The transports (one file each). */
ecrt_net_status ecrt_tcp_listen(const char *addr, ecrt_listener **out, char *err, size_t err_len);
ecrt_net_status ecrt_tcp_connect(const char *addr, ecrt_conn **out, int timeout_ms, char *err,
                                 size_t err_len);
ecrt_net_status ecrt_unix_listen(const char *addr, ecrt_listener **out, char *err, size_t err_len);
ecrt_net_status ecrt_unix_connect(const char *addr, ecrt_conn **out, int timeout_ms, char *err,
                                  size_t err_len);
ecrt_net_status ecrt_shm_listen(const char *addr, ecrt_listener **out, char *err, size_t err_len);
ecrt_net_status ecrt_shm_connect(const char *addr, ecrt_conn **out, int timeout_ms, char *err,
                                 size_t err_len);

/* Shared by the socket transports (ecrt_transport_sock.c): a connection over a stream fd. */
ecrt_conn *ecrt_sock_conn(int fd, const char *peer);
/* Accepts on a listening socket; tcp: Nagle off and the peer's address as its name. */
ecrt_net_status ecrt_sock_accept(int lfd, int tcp, ecrt_conn **out, int timeout_ms, char *err,
                                 size_t err_len);
/* "tcp://ADDR:PORT" of a socket address (a struct sockaddr_storage). */
void ecrt_sock_name(const void *sa, unsigned len, char *buf, size_t n);
ecrt_net_status ecrt_sock_connect(int fd, const void *addr, unsigned addr_len, int timeout_ms,
                                  char *err, size_t err_len);

/* A monotonic deadline helper: milliseconds left until deadline_ns (0 when past). */
int ecrt_ms_left(uint64_t deadline_ns);

#endif
