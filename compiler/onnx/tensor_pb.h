/* tensor_pb.h — TensorProto conversion shared by the loader and the .pb file reader. */
#ifndef EC_TENSOR_PB_H
#define EC_TENSOR_PB_H

#include "onnx_load.h"

/* Converts a TensorProto to dense bytes. With raw_data, out->data points into the message
 * (*borrowed = true); otherwise it is malloc'd. External data is read relative to dir. */
ec_status ec_tensor_from_pb(const Onnx__TensorProto *tp, const char *dir, ec_const *out,
                            bool *borrowed, char *err, size_t errlen);

#endif
