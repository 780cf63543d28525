/* nn.h — infer/cost/print functions of the neural-network family (ops_nn.def). */
#ifndef EC_OPS_NN_H
#define EC_OPS_NN_H
#include "op.h"
#endif
