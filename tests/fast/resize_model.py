#!/usr/bin/python3
"""resize_model.py OUT_DIR: a small U-Net-like float model whose linear Resizes cover every
coordinate mode XNNPACK's bilinear resize runs (half_pixel, align_corners, asymmetric,
pytorch_half_pixel; scales and sizes; up and down; one feeding a channel Concat) and one it must
not (scale 0.6, which floors), as resize.onnx (opset 13) and resize_input_0.pb. Also
upsample.onnx (opset 9: Upsample, bilinear) and resize10.onnx (opset 10: Resize, linear), both
asymmetric, with one-channel inputs, and their inputs upsample_input_0.pb, resize10_input_0.pb."""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(11)


def w(name, *shape):
    return numpy_helper.from_array(rng.standard_normal(shape).astype(np.float32) * 0.3, name)


def floats(name, *v):
    return numpy_helper.from_array(np.array(v, np.float32), name)


def ints(name, *v):
    return numpy_helper.from_array(np.array(v, np.int64), name)


def resize(x, y, coord, scales="", sizes=""):
    return helper.make_node("Resize", [x, "", scales, sizes] if sizes else [x, "", scales], [y],
                            mode="linear", coordinate_transformation_mode=coord, name=y)


inits = [w("w1", 6, 3, 3, 3), w("b1", 6), w("w2", 8, 6, 3, 3), w("w3", 4, 14, 1, 1),
         floats("s2", 1, 1, 2, 2), ints("z_cat", 1, 14, 11, 13), floats("s23", 1, 1, 2, 3),
         ints("z_pt", 1, 8, 3, 5), floats("s06", 1, 1, 0.6, 0.6)]
nodes = [
    helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
    helper.make_node("Relu", ["c1"], ["a"]),
    helper.make_node("MaxPool", ["a"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
    helper.make_node("Conv", ["p", "w2"], ["c"], pads=[1, 1, 1, 1]),
    resize("c", "up_half_pixel", "half_pixel", scales="s2"),
    helper.make_node("Concat", ["up_half_pixel", "a"], ["cat"], axis=1),
    resize("cat", "up_align_corners", "align_corners", sizes="z_cat"),
    helper.make_node("Conv", ["up_align_corners", "w3"], ["y1"]),
    resize("c", "y2", "asymmetric", scales="s23"),
    resize("c", "y3", "pytorch_half_pixel", sizes="z_pt"),
    resize("c", "y4", "half_pixel", scales="s06"),
]
outs = [("y1", [1, 4, 11, 13]), ("y2", [1, 8, 8, 12]), ("y3", [1, 8, 3, 5]), ("y4", [1, 8, 2, 2])]
g = helper.make_graph(nodes, "resize", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                      [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in outs], inits)
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
onnx.checker.check_model(m)
onnx.save(m, os.path.join(out, "resize.onnx"))


def save_input(name, shape):
    x = numpy_helper.from_array(rng.standard_normal(shape).astype(np.float32), "x")
    with open(os.path.join(out, name + "_input_0.pb"), "wb") as f:
        f.write(x.SerializeToString())


save_input("resize", (1, 3, 8, 8))

# Older spellings of the same asymmetric resize: Upsample-9 and Resize-10 take scales only.
for name, op, opset in (("upsample", "Upsample", 9), ("resize10", "Resize", 10)):
    node = helper.make_node(op, ["x", "s"], ["y"], mode="linear", name=name)
    g = helper.make_graph([node], name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 1, 3, 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 1, 6, 10])],
                          [floats("s", 1, 1, 2, 2.5)])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    onnx.checker.check_model(m)
    onnx.save(m, os.path.join(out, name + ".onnx"))
    save_input(name, (2, 1, 3, 4))
