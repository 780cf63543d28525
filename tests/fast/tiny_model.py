#!/usr/bin/python3
"""tiny_model.py OUT_DIR: a small float model touching every fast-kernel family (Conv with fused
Relu, max and average pooling, channel Concat, BatchNormalization, channel Slice, residual Add,
global pooling, Gemm) and a seeded input, as tiny.onnx and tiny_input_0.pb."""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(7)


def w(name, *shape):
    return numpy_helper.from_array(rng.standard_normal(shape).astype(np.float32) * 0.3, name)


inits = [w("w1", 8, 3, 3, 3), w("b1", 8), w("w2", 4, 8, 1, 1), w("w3", 6, 8, 3, 3), w("b3", 6),
         numpy_helper.from_array(rng.uniform(0.5, 1.5, 10).astype(np.float32), "bn_s"), w("bn_b", 10),
         w("bn_m", 10), numpy_helper.from_array(rng.uniform(0.5, 2, 10).astype(np.float32), "bn_v"),
         w("w4", 5, 10, 1, 1), w("w5", 5, 4, 3, 3), w("fc_w", 7, 5), w("fc_b", 7),
         numpy_helper.from_array(np.array([2], np.int64), "s_start"),
         numpy_helper.from_array(np.array([6], np.int64), "s_end"),
         numpy_helper.from_array(np.array([1], np.int64), "s_axis")]
nodes = [
    helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
    helper.make_node("Relu", ["c1"], ["r1"]),
    helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
    helper.make_node("Conv", ["p1", "w2"], ["c2"]),
    helper.make_node("Conv", ["p1", "w3", "b3"], ["c3"], pads=[1, 1, 1, 1]),
    helper.make_node("Relu", ["c3"], ["r3"]),
    helper.make_node("Concat", ["c2", "r3"], ["cat"], axis=1),
    helper.make_node("BatchNormalization", ["cat", "bn_s", "bn_b", "bn_m", "bn_v"], ["bn"]),
    helper.make_node("Relu", ["bn"], ["r4"]),
    helper.make_node("Conv", ["r4", "w4"], ["c4"]),
    helper.make_node("Slice", ["cat", "s_start", "s_end", "s_axis"], ["sl"]),
    helper.make_node("Conv", ["sl", "w5"], ["c5"], pads=[1, 1, 1, 1]),
    helper.make_node("Add", ["c4", "c5"], ["sum"]),
    helper.make_node("AveragePool", ["sum"], ["ap"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1]),
    helper.make_node("GlobalAveragePool", ["ap"], ["gap"]),
    helper.make_node("Flatten", ["gap"], ["flat"]),
    helper.make_node("Gemm", ["flat", "fc_w", "fc_b"], ["y"], transB=1),
]
g = helper.make_graph(nodes, "tiny", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 12, 12])],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 7]),
                       helper.make_tensor_value_info("sum", TensorProto.FLOAT, [1, 5, 6, 6])], inits)
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
onnx.checker.check_model(m)
onnx.save(m, os.path.join(out, "tiny.onnx"))
x = numpy_helper.from_array(rng.standard_normal((1, 3, 12, 12)).astype(np.float32), "x")
with open(os.path.join(out, "tiny_input_0.pb"), "wb") as f:
    f.write(x.SerializeToString())
