/* ops.c — the op table built from ops.def, and lookup by name. */
#include <string.h>

#include "op.h"
#include "ops_decl.h"

const ec_op_def ec_ops[] = {
#define EC_OP(name, domain, infer, cost, cls, ref, print, params, scratch, flags, shape_inputs) \
  {#name, domain, infer, cost, EC_OPCLS_##cls, ref, #ref, print, #params, sizeof(params), scratch, flags, shape_inputs},
#include "ops.def"
#undef EC_OP
};

/* The table and the enum come from the same list; this catches a hand edit of either. */
_Static_assert(sizeof ec_ops / sizeof ec_ops[0] == EC_OP_COUNT, "op table out of step");

int ec_op_find(const char *op_type, const char *domain) {
  if (!domain || strcmp(domain, "ai.onnx") == 0) domain = "";
  for (int i = 0; i < EC_OP_COUNT; i++)
    if (strcmp(ec_ops[i].name, op_type) == 0 && strcmp(ec_ops[i].domain, domain) == 0) return i;
  return -1;
}
