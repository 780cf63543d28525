#!/usr/bin/python3
"""make_control.py — writes control.onnx, a small model with one If and one Loop (the golden
example of control flow in generated code, tests/golden/control), and test_control/, the same
model laid out as an ONNX node test (model.onnx and two data sets, one per branch) whose expected
outputs numpy computes here from the ONNX spec, not edgecc.

The model: y = If(use_a, Relu(x Wa), Sigmoid(x Wb)); then Loop 'refine' 3 times: h = tanh(h Wr + br),
h0 = y, every h a scan output. Seeded weights; the file is byte-identical run to run.

usage: /usr/bin/python3 examples/control/make_control.py  (Debian's python3-onnx, numpy)"""
import os
import shutil

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))

F, I64, B = TensorProto.FLOAT, TensorProto.INT64, TensorProto.BOOL
C = 8


def write_pb(path, array, name):
    """One array as a TensorProto file (0-d arrays stay 0-d: use_a is a scalar)."""
    with open(path, "wb") as f:
        f.write(numpy_helper.from_array(array, name).SerializeToString())


def vi(name, dt, shape):
    return helper.make_tensor_value_info(name, dt, shape)


def weights():
    rng = np.random.default_rng(2026)
    wa, wb, wr = ((rng.standard_normal((C, C)) * 0.4).astype(np.float32) for _ in range(3))
    br = (rng.standard_normal(C) * 0.1).astype(np.float32)
    return wa, wb, wr, br


def model():
    wa, wb, wr, br = weights()
    then_g = helper.make_graph([helper.make_node("MatMul", ["x", "Wa"], ["ta"], name="a_proj"),
                                helper.make_node("Relu", ["ta"], ["ya"], name="a_relu")],
                               "branch_a", [], [vi("ya", F, [1, C])])
    else_g = helper.make_graph([helper.make_node("MatMul", ["x", "Wb"], ["tb"], name="b_proj"),
                                helper.make_node("Sigmoid", ["tb"], ["yb"], name="b_sigmoid")],
                               "branch_b", [], [vi("yb", F, [1, C])])
    body = helper.make_graph([helper.make_node("MatMul", ["h_in", "Wr"], ["hw"], name="r_proj"),
                              helper.make_node("Add", ["hw", "br"], ["hb"], name="r_bias"),
                              helper.make_node("Tanh", ["hb"], ["h_out"], name="r_tanh"),
                              helper.make_node("Identity", ["c_in"], ["c_out"], name="r_keep_going"),
                              helper.make_node("Identity", ["h_out"], ["h_scan"], name="r_emit")],
                             "refine_step", [vi("i", I64, []), vi("c_in", B, []), vi("h_in", F, [1, C])],
                             [vi("c_out", B, []), vi("h_out", F, [1, C]), vi("h_scan", F, [1, C])])
    nodes = [helper.make_node("If", ["use_a"], ["y"], name="pick", then_branch=then_g, else_branch=else_g),
             helper.make_node("Loop", ["trips", "", "y"], ["h", "hs"], name="refine", body=body)]
    g = helper.make_graph(nodes, "control", [vi("x", F, [1, C]), vi("use_a", B, [])],
                          [vi("h", F, [1, C]), vi("hs", F, [3, 1, C])],
                          initializer=[numpy_helper.from_array(wa, "Wa"), numpy_helper.from_array(wb, "Wb"),
                                       numpy_helper.from_array(wr, "Wr"), numpy_helper.from_array(br, "br"),
                                       numpy_helper.from_array(np.array(3, np.int64), "trips")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="make_control.py")
    m.ir_version = 8
    onnx.checker.check_model(m)
    return m


def reference(x, use_a):
    wa, wb, wr, br = weights()
    y = np.maximum(x @ wa, 0) if use_a else 1 / (1 + np.exp(-(x @ wb)))
    h, hs = y.astype(np.float32), []
    for _ in range(3):
        h = np.tanh(h @ wr + br).astype(np.float32)
        hs.append(h)
    return h, np.stack(hs)


def main():
    m = model()
    onnx.save(m, os.path.join(HERE, "control.onnx"))
    case = os.path.join(HERE, "test_control")
    shutil.rmtree(case, ignore_errors=True)
    os.makedirs(case)
    onnx.save(m, os.path.join(case, "model.onnx"))
    x = np.random.default_rng(7).standard_normal((1, C)).astype(np.float32)
    for k, use_a in enumerate((True, False)):
        d = os.path.join(case, "test_data_set_%d" % k)
        os.makedirs(d)
        write_pb(os.path.join(d, "input_0.pb"), x, "x")
        write_pb(os.path.join(d, "input_1.pb"), np.array(use_a), "use_a")
        h, hs = reference(x, use_a)
        write_pb(os.path.join(d, "output_0.pb"), h, "h")
        write_pb(os.path.join(d, "output_1.pb"), hs, "hs")
    print("make_control.py: wrote control.onnx and test_control/ (2 data sets)")


if __name__ == "__main__":
    main()
