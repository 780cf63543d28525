/* fuzz_tensor.c — libFuzzer target: any bytes as an ONNX TensorProto file (the reader behind
 * --freeze-input and `edgecc eval --input`). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "onnx_load.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ec_const c;
  char *name = NULL;
  ec_diag d;
  memset(&d, 0, sizeof d);
  ec_status st = ec_onnx_parse_tensor(data, size, "fuzz.pb", &c, &name, &d);
  if (st == EC_OK) {
    /* The bytes must be exactly what the shape and dtype say: touch them all. */
    volatile uint8_t sink = 0;
    for (size_t i = 0; i < c.nbytes; i++) sink ^= ((const uint8_t *)c.data)[i];
    (void)sink;
    free(c.data);
    free(name);
  } else if (st == EC_ERR_MODEL && !d.msg[0]) {
    __builtin_trap();
  }
  return 0;
}
