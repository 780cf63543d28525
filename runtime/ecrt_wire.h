/* ecrt_wire.h — the frames partitions and clients exchange (docs/wire-format.md): encoding, strict
 * decoding, and sending/receiving them over an ecrt_conn. C99.
 *
 * A frame, little-endian: a 36-byte fixed header (magic "ECT1", u16 version, u16 type, u64 plan
 * id, u64 request id, u32 tensor count, u32 model set, u32 header CRC32C), one descriptor per tensor (u32 id,
 * u8 dtype, u8 rank, i64 dims[rank], f32 scale, i32 zero point, u64 byte length), the payload
 * (the tensors' bytes, in descriptor order, unpadded), then the payload's CRC32C (u32). The
 * header CRC covers the fixed header's first 32 bytes and every descriptor. A receiver checks
 * the header completely (magic, version, type, count, ranks, lengths against the dims and a
 * maximum, the header CRC) before it reads a payload byte, and reads payloads only into buffers
 * it chose for exactly that many bytes. */
#ifndef ECRT_WIRE_H
#define ECRT_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "ecrt.h"
#include "ecrt_transport.h"

#define ECRT_WIRE_MAGIC 0x31544345u /* "ECT1" as a little-endian u32 */
/* Version 2 added the model set (u32 at offset 28; the header CRC moved to 32). A receiver
 * refuses every other version (bad-version), naming both. */
#define ECRT_WIRE_VERSION 2
#define ECRT_WIRE_FIXED 36
/* Bytes of the fixed header that every version has (magic .. tensor count, 28, plus 4): what a
 * receiver reads before it knows the version. */
#define ECRT_WIRE_FIXED_V1 32
#define ECRT_WIRE_MAX_TENSORS 64
#define ECRT_WIRE_DESC_MAX (22 + 8 * ECRT_MAX_RANK)
#define ECRT_WIRE_HEADER_MAX (ECRT_WIRE_FIXED + ECRT_WIRE_MAX_TENSORS * ECRT_WIRE_DESC_MAX)
/* Error messages travel as one uint8 tensor; longer ones are cut. */
#define ECRT_WIRE_ERROR_TEXT_MAX 512

enum { ECRT_MSG_REQUEST = 1, ECRT_MSG_RESPONSE = 2, ECRT_MSG_ERROR = 3, ECRT_MSG_PING = 4 };

/* What went wrong with a frame or a request: the id of the tensor an error frame carries. */
typedef enum ecrt_wire_err {
  ECRT_WIRE_OK = 0,
  ECRT_WIRE_BAD_MAGIC = 1,
  ECRT_WIRE_BAD_VERSION = 2,
  ECRT_WIRE_BAD_TYPE = 3,
  ECRT_WIRE_BAD_HEADER_CRC = 4,
  ECRT_WIRE_BAD_PAYLOAD_CRC = 5,
  ECRT_WIRE_PLAN_MISMATCH = 6,
  ECRT_WIRE_TOO_LARGE = 7,       /* tensor count or payload over the limits */
  ECRT_WIRE_BAD_TENSORS = 8,     /* rank, dims, or a byte length that does not match dims */
  ECRT_WIRE_BAD_INPUTS = 9,      /* not the partition's inputs: count, ids, dtype, shape */
  ECRT_WIRE_RUN_FAILED = 10,
  ECRT_WIRE_NEXT_UNAVAILABLE = 11, /* the next partition cannot be reached */
  ECRT_WIRE_NEXT_LOST = 12,      /* the next partition went away with the request in flight */
  ECRT_WIRE_TIMEOUT = 13,        /* no reply from the next partition within the timeout */
  ECRT_WIRE_BUSY = 14,           /* too many connections or requests in flight */
  ECRT_WIRE_INTERNAL = 15,
  ECRT_WIRE_IO = 100             /* local only: the connection failed (see the ecrt_net_status) */
} ecrt_wire_err;

typedef struct ecrt_wire_tensor {
  uint32_t id;                   /* index among the partition's inputs (requests) or outputs */
  int32_t dtype;                 /* ECK_* */
  int32_t rank;
  int64_t dims[ECRT_MAX_RANK];
  float scale;                   /* 0 and zero point 0: not quantized */
  int32_t zero_point;
  uint64_t bytes;
  const void *data;              /* for sending */
} ecrt_wire_tensor;

typedef struct ecrt_wire_msg {
  uint16_t version, type;
  uint64_t plan_id, request_id;
  uint32_t n_tensors;
  uint32_t models;               /* requests and responses: the model set, bit k the program's
                                    k-th model; 0 = every model */
  uint64_t payload_bytes;        /* sum of the tensors' bytes */
  size_t header_bytes;           /* fixed header + descriptors */
  ecrt_wire_tensor t[ECRT_WIRE_MAX_TENSORS];
} ecrt_wire_msg;

const char *ecrt_wire_err_str(ecrt_wire_err e);
/* Stable short names ("bad-payload-crc") used in messages and docs. */
const char *ecrt_wire_err_name(ecrt_wire_err e);

size_t ecrt_wire_header_size(const ecrt_wire_tensor *t, uint32_t n);
/* Writes the fixed header and descriptors (with their CRC) into buf; returns the bytes written,
 * 0 when they do not fit or a tensor is invalid. */
size_t ecrt_wire_encode_header(unsigned char *buf, size_t cap, int type, uint64_t plan_id,
                               uint64_t request_id, uint32_t models, const ecrt_wire_tensor *t,
                               uint32_t n);

/* Decoding, step by step as bytes arrive (ecrt_wire_recv_header is the one caller; tests and the
 * fuzzer drive that over a socket). parse_fixed: magic, version, type, tensor count.
 * parse_desc: one descriptor at p (len bytes available; *used gets its size). check_header:
 * the header CRC over hdr[0..len), and byte lengths against dims and max_payload. */
ecrt_wire_err ecrt_wire_parse_fixed(const unsigned char *p, ecrt_wire_msg *m);
ecrt_wire_err ecrt_wire_parse_desc(const unsigned char *p, size_t len, ecrt_wire_tensor *t,
                                   size_t *used);
ecrt_wire_err ecrt_wire_check_header(const unsigned char *hdr, size_t len, ecrt_wire_msg *m,
                                     uint64_t max_payload);

/* Whether a request's tensors are exactly `want` (count, each id once, dtype, shape, not
 * quantized); msg gets a sentence naming the first difference. */
ecrt_wire_err ecrt_wire_check_tensors(const ecrt_wire_msg *m, const ecrt_wire_tensor *want,
                                      int n_want, char *msg, size_t msg_len);

/* Rewrites the request id of an encoded header (and its CRC): relaying a reply upstream. */
void ecrt_wire_restamp(unsigned char *hdr, size_t len, uint64_t request_id);

/* ---- over a connection -------------------------------------------------------------------- */

/* Sends a frame: header, the tensors' data, payload CRC. */
ecrt_net_status ecrt_wire_send(ecrt_conn *c, int type, uint64_t plan_id, uint64_t request_id,
                               const ecrt_wire_tensor *t, uint32_t n, int timeout_ms);
/* The same with a model set (requests of a program compiled from several models). */
ecrt_net_status ecrt_wire_send_set(ecrt_conn *c, int type, uint64_t plan_id, uint64_t request_id,
                                   uint32_t models, const ecrt_wire_tensor *t, uint32_t n,
                                   int timeout_ms);
/* An error frame: one uint8 tensor holding the text, its id the error code. */
ecrt_net_status ecrt_wire_send_error(ecrt_conn *c, uint64_t plan_id, uint64_t request_id,
                                     ecrt_wire_err code, const char *text, int timeout_ms);
/* Reads and checks a header into hdr (ECRT_WIRE_HEADER_MAX bytes). ECRT_WIRE_IO with *net set
 * when the connection fails. After BAD_MAGIC, BAD_VERSION, BAD_TYPE... with the header
 * unverified, the stream cannot be trusted: callers reply and close. */
ecrt_wire_err ecrt_wire_recv_header(ecrt_conn *c, unsigned char *hdr, ecrt_wire_msg *m,
                                    uint64_t max_payload, int timeout_ms, ecrt_net_status *net);
/* Reads the payload of a checked header: tensor i into dst[i] (dst or dst[i] NULL: discarded),
 * then checks the payload CRC; *crc (when crc is not NULL) gets the CRC of the bytes read.
 * BAD_PAYLOAD_CRC leaves the stream in step. */
ecrt_wire_err ecrt_wire_recv_payload(ecrt_conn *c, const ecrt_wire_msg *m, void *const *dst,
                                     uint32_t *crc, int timeout_ms, ecrt_net_status *net);
/* The text of an error frame's payload: the first len-1 bytes of its first tensor into buf,
 * NUL-terminated, the rest read and discarded, the CRC checked as above. */
ecrt_wire_err ecrt_wire_recv_error_text(ecrt_conn *c, const ecrt_wire_msg *m, char *buf,
                                        size_t len, int timeout_ms, ecrt_net_status *net);

/* A 64-bit FNV-1a hash, for default plan ids. */
uint64_t ecrt_wire_hash(uint64_t h, const void *data, size_t n);

#endif
