/* eck_ref_nn.h — reference kernels of the neural-network family. */
#ifndef ECK_REF_NN_H
#define ECK_REF_NN_H
#include "eck_tensor.h"
#endif
