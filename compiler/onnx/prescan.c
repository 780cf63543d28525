/* prescan.c — an iterative walk of the protobuf wire format, checked against the ONNX message
 * descriptors, before protobuf-c unpacks anything. protobuf-c recurses once per nested message,
 * so a file nesting graph → node → attribute → graph thousands deep would overflow the stack;
 * this walk rejects such nesting, and any length that runs past its enclosing message. */
#include <stdio.h>

#include "onnx_load.h"

#define EC_MAX_NESTING 96

typedef struct {
  const ProtobufCMessageDescriptor *desc;
  size_t end;
} frame;

static bool read_varint(const uint8_t *buf, size_t end, size_t *pos, uint64_t *v) {
  uint64_t x = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (*pos >= end) return false;
    uint8_t b = buf[(*pos)++];
    x |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *v = x;
      return true;
    }
  }
  return false;
}

ec_status ec_onnx_prescan(const uint8_t *buf, size_t len, const ProtobufCMessageDescriptor *root,
                          char *err, size_t errlen) {
  frame stack[EC_MAX_NESTING + 1];
  int depth = 0;
  stack[0].desc = root;
  stack[0].end = len;
  size_t pos = 0;
  for (;;) {
    while (depth >= 0 && pos == stack[depth].end) depth--;
    if (depth < 0) break;
    size_t end = stack[depth].end;
    size_t at = pos;
    uint64_t tag, v;
    if (!read_varint(buf, end, &pos, &tag)) {
      snprintf(err, errlen, "truncated or corrupt protobuf (bad field tag at byte %zu)", at);
      return EC_ERR_MODEL;
    }
    uint32_t field = (uint32_t)(tag >> 3), wire = (uint32_t)(tag & 7);
    if (field == 0 || tag >> 32) {
      snprintf(err, errlen, "corrupt protobuf (invalid field number at byte %zu)", at);
      return EC_ERR_MODEL;
    }
    switch (wire) {
      case 0:
        if (!read_varint(buf, end, &pos, &v)) {
          snprintf(err, errlen, "truncated or corrupt protobuf (bad varint at byte %zu)", at);
          return EC_ERR_MODEL;
        }
        break;
      case 1:
      case 5: {
        size_t w = wire == 1 ? 8 : 4;
        if (end - pos < w) {
          snprintf(err, errlen, "truncated protobuf (field at byte %zu runs past its end)", at);
          return EC_ERR_MODEL;
        }
        pos += w;
        break;
      }
      case 2: {
        if (!read_varint(buf, end, &pos, &v) || v > end - pos) {
          snprintf(err, errlen,
                   "truncated or corrupt protobuf (length at byte %zu runs past the end of its "
                   "message)",
                   at);
          return EC_ERR_MODEL;
        }
        const ProtobufCFieldDescriptor *f =
            stack[depth].desc ? protobuf_c_message_descriptor_get_field(stack[depth].desc, field)
                              : NULL;
        if (f && f->type == PROTOBUF_C_TYPE_MESSAGE) {
          if (depth + 1 > EC_MAX_NESTING) {
            snprintf(err, errlen,
                     "messages nested deeper than %d levels (at byte %zu); refusing to unpack",
                     EC_MAX_NESTING, at);
            return EC_ERR_MODEL;
          }
          depth++;
          stack[depth].desc = f->descriptor;
          stack[depth].end = pos + (size_t)v;
        } else {
          pos += (size_t)v;
        }
        break;
      }
      default:
        snprintf(err, errlen, "corrupt protobuf (unsupported wire type %u at byte %zu)", wire, at);
        return EC_ERR_MODEL;
    }
  }
  return EC_OK;
}
