/* fuzz_load.c — libFuzzer target: any bytes as an ONNX model through the whole frontend
 * (prescan, unpack, conversion, local functions, shape inference, constant folding). */
#include <stdint.h>
#include <string.h>

#include "onnx_load.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ec_graph *g = NULL;
  ec_diag d;
  memset(&d, 0, sizeof d);
  ec_load_opts opts;
  memset(&opts, 0, sizeof opts);
  /* dir NULL: external data is refused, so the fuzzer never reads files. */
  ec_status st = ec_onnx_load_buffer(data, size, "fuzz.onnx", NULL, &opts, &g, &d);
  if (st == EC_OK) {
    ec_graph_free(g);
  } else if (g) {
    __builtin_trap(); /* a failed load must not hand out a graph */
  } else if (st == EC_ERR_MODEL && !d.msg[0]) {
    __builtin_trap(); /* every model error carries a message */
  }
  return 0;
}
