/* ecrt_transport.c — endpoint parsing and the table of transports: `scheme://address` picks the
 * row whose listen/connect functions (one file per transport) do the work. */
#include <stdio.h>
#include <string.h>

#include "ecrt_platform.h"
#include "ecrt_transport.h"

static const ecrt_transport transports[] = {
    {"tcp", ecrt_tcp_listen, ecrt_tcp_connect},
    {"unix", ecrt_unix_listen, ecrt_unix_connect},
    {"shm", ecrt_shm_listen, ecrt_shm_connect},
};

static const ecrt_transport *find(const char *endpoint, const char **addr, char *err,
                                  size_t err_len) {
  const char *sep = endpoint ? strstr(endpoint, "://") : NULL;
  size_t i;
  if (!sep) {
    snprintf(err, err_len, "endpoint '%s' must look like tcp://HOST:PORT, unix://PATH or shm://NAME",
             endpoint ? endpoint : "");
    return NULL;
  }
  for (i = 0; i < sizeof transports / sizeof transports[0]; i++)
    if (strlen(transports[i].scheme) == (size_t)(sep - endpoint) &&
        strncmp(transports[i].scheme, endpoint, (size_t)(sep - endpoint)) == 0) {
      *addr = sep + 3;
      return &transports[i];
    }
  snprintf(err, err_len, "endpoint '%s': unknown transport (tcp://, unix:// or shm://)", endpoint);
  return NULL;
}

ecrt_net_status ecrt_listen(const char *endpoint, ecrt_listener **out, char *err, size_t err_len) {
  const char *addr;
  const ecrt_transport *t = find(endpoint, &addr, err, err_len);
  *out = NULL;
  return t ? t->listen(addr, out, err, err_len) : ECRT_NET_ERR;
}

ecrt_net_status ecrt_connect(const char *endpoint, ecrt_conn **out, int timeout_ms, char *err,
                             size_t err_len) {
  const char *addr;
  const ecrt_transport *t = find(endpoint, &addr, err, err_len);
  *out = NULL;
  return t ? t->connect(addr, out, timeout_ms, err, err_len) : ECRT_NET_ERR;
}

int ecrt_endpoint_valid(const char *endpoint, char *err, size_t err_len) {
  const char *addr;
  if (!find(endpoint, &addr, err, err_len)) return 0;
  if (!*addr) {
    snprintf(err, err_len, "endpoint '%s' has no address", endpoint);
    return 0;
  }
  return 1;
}

ecrt_net_status ecrt_conn_send(ecrt_conn *c, const void *buf, size_t len, int timeout_ms) {
  ecrt_iov v;
  v.base = buf;
  v.len = len;
  return c->ops->sendv(c, &v, 1, timeout_ms);
}

const char *ecrt_net_status_str(ecrt_net_status st) {
  switch (st) {
    case ECRT_NET_OK: return "ok";
    case ECRT_NET_TIMEOUT: return "timed out";
    case ECRT_NET_CLOSED: return "connection closed by the peer";
    default: return "error";
  }
}

int ecrt_ms_left(uint64_t deadline_ns) {
  uint64_t now = ecrt_now_ns();
  uint64_t left;
  if (now >= deadline_ns) return 0;
  left = (deadline_ns - now + 999999u) / 1000000u;
  return left > 0x7fffffff ? 0x7fffffff : (int)left;
}
