/* eck_ref_tensor.h — reference kernels of the tensor family. */
#ifndef ECK_REF_TENSOR_H
#define ECK_REF_TENSOR_H
#include "eck_tensor.h"
#endif
