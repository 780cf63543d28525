/* tensor.h — infer/cost/print functions of the tensor family (ops_tensor.def). */
#ifndef EC_OPS_TENSOR_H
#define EC_OPS_TENSOR_H
#include "op.h"
#endif
