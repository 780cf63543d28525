/* test_prescan.c — unit tests of the frontend's wire-format prescan and of loading from memory:
 * deep nesting and lengths past the buffer are rejected before protobuf-c sees them, every
 * truncation of a valid model fails cleanly, and a valid model loads. */
#include <stdio.h>
#include <stdlib.h>

#include "onnx_load.h"
#include "unit_test.h"

static size_t put_varint(uint8_t *p, uint64_t v) {
  size_t n = 0;
  do {
    p[n] = (uint8_t)(v & 0x7f);
    v >>= 7;
    if (v) p[n] |= 0x80;
    n++;
  } while (v);
  return n;
}

/* A model with one Relu (x[2,3] -> y) packed by protobuf-c itself. */
static uint8_t *pack_relu_model(size_t *len) {
  Onnx__ModelProto m = ONNX__MODEL_PROTO__INIT;
  Onnx__GraphProto g = ONNX__GRAPH_PROTO__INIT;
  Onnx__NodeProto n = ONNX__NODE_PROTO__INIT;
  Onnx__OperatorSetIdProto op = ONNX__OPERATOR_SET_ID_PROTO__INIT;
  Onnx__ValueInfoProto vx = ONNX__VALUE_INFO_PROTO__INIT, vy = ONNX__VALUE_INFO_PROTO__INIT;
  Onnx__TypeProto tx = ONNX__TYPE_PROTO__INIT, ty = ONNX__TYPE_PROTO__INIT;
  Onnx__TypeProto__Tensor ttx = ONNX__TYPE_PROTO__TENSOR__INIT, tty = ONNX__TYPE_PROTO__TENSOR__INIT;
  Onnx__TensorShapeProto sx = ONNX__TENSOR_SHAPE_PROTO__INIT;
  Onnx__TensorShapeProto__Dimension d0 = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__INIT,
                                    d1 = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__INIT;
  d0.value_case = d1.value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
  d0.dim_value = 2, d1.dim_value = 3;
  Onnx__TensorShapeProto__Dimension *dims[2] = {&d0, &d1};
  sx.n_dim = 2, sx.dim = dims;
  ttx.has_elem_type = tty.has_elem_type = 1;
  ttx.elem_type = tty.elem_type = ECK_FLOAT;
  ttx.shape = tty.shape = &sx; /* graph outputs must declare their shape */
  tx.value_case = ty.value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
  tx.tensor_type = &ttx, ty.tensor_type = &tty;
  vx.name = "x", vx.type = &tx;
  vy.name = "y", vy.type = &ty;
  char *in[1] = {"x"}, *out[1] = {"y"};
  n.n_input = 1, n.input = in, n.n_output = 1, n.output = out;
  n.op_type = "Relu", n.name = "relu";
  Onnx__NodeProto *nodes[1] = {&n};
  Onnx__ValueInfoProto *gi[1] = {&vx}, *go[1] = {&vy};
  g.n_node = 1, g.node = nodes, g.name = "g";
  g.n_input = 1, g.input = gi, g.n_output = 1, g.output = go;
  op.has_version = 1, op.version = 13, op.domain = "";
  Onnx__OperatorSetIdProto *ops[1] = {&op};
  m.has_ir_version = 1, m.ir_version = 8;
  m.graph = &g;
  m.n_opset_import = 1, m.opset_import = ops;
  *len = onnx__model_proto__get_packed_size(&m);
  uint8_t *buf = malloc(*len);
  assert_int_equal(onnx__model_proto__pack(&m, buf), *len);
  return buf;
}

/* graph -> node -> attribute.g -> graph ... `depth` levels, built the way
 * tests/fixtures/make_deep_nesting.py does: prefixes outside-in, lengths inside-out. */
static uint8_t *deep_model(int depth, size_t *len) {
  static const uint8_t node_head[] = {0x22, 2, 'I', 'f'};                   /* op_type */
  static const uint8_t attr_head[] = {0x0a, 1, 'g', 0xa0, 0x01, 5};         /* name, type=GRAPH */
  static const uint8_t inner[] = {0x12, 1, 'z'};                            /* GraphProto.name */
  size_t *glen = calloc((size_t)depth + 1, sizeof(size_t));
  glen[depth] = sizeof inner;
  uint8_t tmp[16];
  for (int l = depth - 1; l >= 0; l--) {
    size_t g = glen[l + 1];
    size_t a = sizeof attr_head + 1 + put_varint(tmp, g) + g;
    size_t nl = sizeof node_head + 1 + put_varint(tmp, a) + a;
    glen[l] = 1 + put_varint(tmp, nl) + nl;
  }
  uint8_t *buf = malloc(glen[0] + 64), *p = buf;
  *p++ = 0x08, *p++ = 8;                                 /* ir_version */
  *p++ = 0x42, *p++ = 2, *p++ = 0x10, *p++ = 13;         /* opset_import { version 13 } */
  *p++ = 0x3a, p += put_varint(p, glen[0]);              /* graph */
  for (int l = 0; l < depth; l++) {
    size_t g = glen[l + 1];
    size_t a = sizeof attr_head + 1 + put_varint(tmp, g) + g;
    size_t nl = sizeof node_head + 1 + put_varint(tmp, a) + a;
    *p++ = 0x0a, p += put_varint(p, nl);
    memcpy(p, node_head, sizeof node_head), p += sizeof node_head;
    *p++ = 0x2a, p += put_varint(p, a);
    memcpy(p, attr_head, sizeof attr_head), p += sizeof attr_head;
    *p++ = 0x32, p += put_varint(p, g);
  }
  memcpy(p, inner, sizeof inner), p += sizeof inner;
  *len = (size_t)(p - buf);
  free(glen);
  return buf;
}

static ec_status prescan(const uint8_t *b, size_t n, char *err) {
  return ec_onnx_prescan(b, n, &onnx__model_proto__descriptor, err, 256);
}

static void valid_model(void **state) {
  size_t len;
  uint8_t *buf = pack_relu_model(&len);
  char err[256] = "";
  if (prescan(buf, len, err)) fail_msg("expected the prescan to accept a valid model, got: %s", err);
  ec_graph *g = NULL;
  ec_diag dg = {0};
  ec_status st = ec_onnx_load_buffer(buf, len, "mem", NULL, NULL, &g, &dg);
  if (st) fail_msg("expected the model to load, got %d: %s: %s", (int)st, dg.where, dg.msg);
  assert_int_equal(g->n_nodes, 1);
  assert_int_equal(g->n_inputs, 1);
  assert_int_equal(g->n_outputs, 1);
  ec_tensor *y = &g->tensors[g->outputs[0]];
  assert_int_equal(y->rank, 2);
  assert_int_equal(y->dims[1], 3);
  assert_int_equal(g->opset, 13);
  ec_graph_free(g);
  free(buf);
}

/* Every prefix of a valid model is rejected with a message, and nothing reads past it. */
static void every_truncation(void **state) {
  size_t len;
  uint8_t *buf = pack_relu_model(&len);
  for (size_t cut = 0; cut < len; cut++) {
    uint8_t *copy = malloc(cut ? cut : 1); /* exact size, so ASan sees any overread */
    memcpy(copy, buf, cut);
    ec_graph *g = NULL;
    ec_diag dg = {0};
    ec_status st = ec_onnx_load_buffer(copy, cut, "mem", NULL, NULL, &g, &dg);
    if (st != EC_ERR_MODEL) fail_msg("truncated to %zu of %zu bytes: expected EC_ERR_MODEL, got %d", cut, len, (int)st);
    if (!dg.msg[0]) fail_msg("truncated to %zu bytes: expected a message, got none", cut);
    assert_null(g);
    free(copy);
  }
  free(buf);
}

static void deep_nesting(void **state) {
  char err[256] = "";
  size_t len;
  uint8_t *buf = deep_model(10, &len); /* 30 message levels: fine */
  if (prescan(buf, len, err)) fail_msg("depth 10: expected the prescan to accept, got: %s", err);
  free(buf);
  buf = deep_model(200000, &len);
  assert_int_equal(prescan(buf, len, err), EC_ERR_MODEL);
  assert_contains(err, "nested");
  ec_graph *g = NULL;
  ec_diag dg = {0};
  assert_int_equal(ec_onnx_load_buffer(buf, len, "deep", NULL, NULL, &g, &dg), EC_ERR_MODEL);
  assert_string_equal(dg.file, "deep");
  assert_string_equal(dg.where, "");
  assert_contains(dg.msg, "nested");
  free(buf);
}

static void bad_lengths(void **state) {
  char err[256];
  /* graph (field 7), length 100, 3 bytes present. */
  const uint8_t past[] = {0x3a, 100, 0x0a, 0x01, 0x00};
  assert_int_equal(prescan(past, sizeof past, err), EC_ERR_MODEL);
  /* A length of 2^63: must not wrap around. */
  uint8_t huge[16] = {0x3a};
  size_t n = 1 + put_varint(huge + 1, (uint64_t)1 << 63);
  assert_int_equal(prescan(huge, n, err), EC_ERR_MODEL);
  /* A nested length that fits the file but not its parent message. */
  const uint8_t parent[] = {0x3a, 4, 0x0a, 6, 0x22, 1, 'R', 0, 0, 0, 0};
  assert_int_equal(prescan(parent, sizeof parent, err), EC_ERR_MODEL);
  /* An endless varint. */
  uint8_t cont[12];
  memset(cont, 0xff, sizeof cont);
  assert_int_equal(prescan(cont, sizeof cont, err), EC_ERR_MODEL);
  /* Field number 0, fixed64 past the end, groups. */
  const uint8_t zero[] = {0x02, 0};
  assert_int_equal(prescan(zero, sizeof zero, err), EC_ERR_MODEL);
  const uint8_t f64[] = {0x09, 1, 2, 3};
  assert_int_equal(prescan(f64, sizeof f64, err), EC_ERR_MODEL);
  const uint8_t group[] = {0x0b, 0x0c};
  assert_int_equal(prescan(group, sizeof group, err), EC_ERR_MODEL);
  /* The empty buffer is a valid (empty) message for the prescan; the loader refuses it. */
  assert_int_equal(prescan((const uint8_t *)"", 0, err), EC_OK);
  ec_graph *g = NULL;
  ec_diag dg = {0};
  assert_int_equal(ec_onnx_load_buffer((const uint8_t *)"", 0, "e", NULL, NULL, &g, &dg), EC_ERR_MODEL);
  assert_contains(dg.msg, "empty");
}

static void tensor_files(void **state) {
  Onnx__TensorProto tp = ONNX__TENSOR_PROTO__INIT;
  int64_t dims[2] = {2, 2};
  float v[4] = {1, 2, 3, 4};
  tp.n_dims = 2, tp.dims = dims;
  tp.has_data_type = 1, tp.data_type = ECK_FLOAT;
  tp.name = "t";
  tp.has_raw_data = 1, tp.raw_data.len = sizeof v, tp.raw_data.data = (uint8_t *)v;
  size_t len = onnx__tensor_proto__get_packed_size(&tp);
  uint8_t *buf = malloc(len);
  onnx__tensor_proto__pack(&tp, buf);
  ec_const c;
  char *name = NULL;
  ec_diag dg = {0};
  ec_status st = ec_onnx_parse_tensor(buf, len, "t.pb", &c, &name, &dg);
  if (st) fail_msg("expected the tensor to parse, got %d: %s", (int)st, dg.msg);
  assert_string_equal(name, "t");
  assert_int_equal(c.rank, 2);
  assert_int_equal(c.nbytes, sizeof v);
  assert_memory_equal(c.data, v, sizeof v);
  free(c.data), free(name);
  for (size_t cut = 0; cut < len; cut++) {
    uint8_t *copy = malloc(cut ? cut : 1);
    memcpy(copy, buf, cut);
    st = ec_onnx_parse_tensor(copy, cut, "t.pb", &c, NULL, &dg);
    /* A prefix may be a valid smaller tensor (cut after whole fields); it must never be the
     * full tensor with fewer bytes. */
    if (st == EC_OK) {
      if (c.nbytes == sizeof v) fail_msg("truncated to %zu bytes: parsed as the full tensor", cut);
      free(c.data);
    } else if (st != EC_ERR_MODEL) {
      fail_msg("truncated to %zu bytes: expected EC_OK or EC_ERR_MODEL, got %d", cut, (int)st);
    }
    free(copy);
  }
  free(buf);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(valid_model),  cmocka_unit_test(every_truncation),
      cmocka_unit_test(deep_nesting), cmocka_unit_test(bad_lengths),
      cmocka_unit_test(tensor_files),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
