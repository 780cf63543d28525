/* wire_pair.h — bytes fed to the runtime's streaming frame reader (ecrt_wire_recv_header, then
 * ecrt_wire_recv_payload or ecrt_wire_recv_error_text) through a socketpair, read the way servers
 * and edgecc-client read them. Shared by test_wire.c and tests/fuzz/fuzz_wire.c; include it first
 * (it asks for POSIX). */
#ifndef WIRE_PAIR_H
#define WIRE_PAIR_H

#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ecrt_transport.h"
#include "ecrt_wire.h"

/* The largest byte string wp_conn takes: what one socketpair buffers without a reader. */
#define WP_MAX_BYTES (96 * 1024)

/* A connection whose peer sent `bytes` and closed: the reader gets them, then end of stream.
 * NULL when the socketpair cannot be made or len is over WP_MAX_BYTES. */
static ecrt_conn *wp_conn(const void *bytes, size_t len) {
  int sv[2], sz = 2 * WP_MAX_BYTES;
  size_t off = 0;
  if (len > WP_MAX_BYTES || socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) return NULL;
  setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
  setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
  while (off < len) {
    ssize_t w = write(sv[1], (const char *)bytes + off, len - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      close(sv[0]);
      close(sv[1]);
      return NULL;
    }
    off += (size_t)w;
  }
  close(sv[1]);
  return ecrt_sock_conn(sv[0], "socketpair");
}

/* One frame as read: header, tensors' bytes (each in a buffer of exactly its announced size, so
 * that a sanitizer sees any write past it), an error frame's text, and a guard after the text
 * that shows a write past it without a sanitizer. */
typedef struct wp_frame {
  ecrt_wire_msg m;
  void *data[ECRT_WIRE_MAX_TENSORS];
  char text[ECRT_WIRE_ERROR_TEXT_MAX + 1];
  unsigned char guard[4096];
} wp_frame;

static void wp_free(wp_frame *f) {
  int i;
  for (i = 0; i < ECRT_WIRE_MAX_TENSORS; i++) free(f->data[i]);
  memset(f->data, 0, sizeof f->data);
}

/* Reads the next frame from c as a server does; `discard` reads the payload without keeping it
 * (a refused request, a ping). ECRT_WIRE_IO: the stream ended or broke. */
static ecrt_wire_err wp_read(ecrt_conn *c, wp_frame *f, uint64_t max_payload, int discard) {
  unsigned char hdr[ECRT_WIRE_HEADER_MAX];
  ecrt_net_status net;
  ecrt_wire_err e;
  uint32_t i;
  memset(f->data, 0, sizeof f->data);
  memset(f->text, '#', sizeof f->text); /* a text the reader does not terminate shows */
  e = ecrt_wire_recv_header(c, hdr, &f->m, max_payload, 1000, &net);
  if (e) return e;
  if (f->m.type == ECRT_MSG_ERROR) {
    size_t i;
    memset(f->guard, 0x5a, sizeof f->guard);
    e = ecrt_wire_recv_error_text(c, &f->m, f->text, sizeof f->text, 1000, &net);
    for (i = 0; i < sizeof f->guard; i++)
      if (f->guard[i] != 0x5a) return ECRT_WIRE_INTERNAL; /* the reader wrote past the text */
    return e;
  }
  if (discard) return ecrt_wire_recv_payload(c, &f->m, NULL, NULL, 1000, &net);
  for (i = 0; i < f->m.n_tensors; i++) {
    f->data[i] = malloc(f->m.t[i].bytes ? (size_t)f->m.t[i].bytes : 1);
    if (!f->data[i]) return ECRT_WIRE_INTERNAL;
  }
  return ecrt_wire_recv_payload(c, &f->m, f->data, NULL, 1000, &net);
}

#endif
