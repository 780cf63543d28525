#!/usr/bin/python3
"""runtime_operands.py — operands that decide what a node computes but not its output's shape are
fed at run time (issue 17: the conformance runner freezes only shape operands). CumSum with its
axis a graph input, and Dropout with training_mode constant true and its ratio a graph input, are
compiled (--kernels ref and xnnpack), built with -Wall -Wextra -Werror, run, and compared with
numpy (and `edgecc eval` with the same): every axis, a negative one, and an axis out of range (a
run-time error naming the node and the kernel's reason); ratio 0 is the identity, ratio 0.5 a
run-time error naming the node and why (a random mask cannot be reproduced), never a silent identity.

usage: runtime_operands.py --edgecc PATH --build-dir DIR --src DIR --work DIR [--kernels ref,xnnpack]"""
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "unit"))
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402
import onnx  # noqa: E402
from onnx import TensorProto as TP, helper, numpy_helper  # noqa: E402

import control_codegen as cc  # noqa: E402
import dyn_shapes as ds  # noqa: E402
import edgecc_run  # noqa: E402


def cumsum_model(work):
    """y = CumSum(x [2,3,4], axis) with axis a graph input; exclusive, reversed."""
    g = helper.make_graph([helper.make_node("CumSum", ["x", "axis"], ["y"], name="running", exclusive=1, reverse=1)],
                          "cumsum_axis", [ds.vi("x", TP.FLOAT, [2, 3, 4]), ds.vi("axis", TP.INT64, [])],
                          [ds.vi("y", TP.FLOAT, [2, 3, 4])])
    return ds.save(work, "cumsum_axis", g)


def cumsum_reference(x, axis):
    r = np.flip(x, axis)
    c = np.cumsum(r, axis) - r  # exclusive
    return np.flip(c, axis)


def dropout_model(work):
    """d = Dropout(x, ratio, training_mode = true) with ratio a graph input, no mask (so only its
    training mode keeps the identity pass from removing it), then y = d + 1."""
    g = helper.make_graph([helper.make_node("Dropout", ["x", "ratio", "train"], ["d"], name="drop"),
                           helper.make_node("Add", ["d", "one"], ["y"], name="plus_one")],
                          "dropout_ratio", [ds.vi("x", TP.FLOAT, [3, 4]), ds.vi("ratio", TP.FLOAT, [])],
                          [ds.vi("y", TP.FLOAT, [3, 4])],
                          initializer=[numpy_helper.from_array(np.array(True), "train"),
                                       numpy_helper.from_array(np.array(1, np.float32), "one")])
    return ds.save(work, "dropout_ratio", g)


def eval_run(cx, model, inputs, n_out, tag):
    """edgecc eval on named numpy inputs: (outputs or None, result)."""
    args = ["eval", model]
    for k, (name, arr) in enumerate(inputs):
        p = os.path.join(cx.work, "%s_in%d.pb" % (tag, k))
        with open(p, "wb") as f:
            f.write(numpy_helper.from_array(arr, name).SerializeToString())
        args += ["--input", p]
    outs = [os.path.join(cx.work, "%s_out%d.pb" % (tag, k)) for k in range(n_out)]
    for p in outs:
        args += ["--output", p]
    r = edgecc_run.run(cx.edgecc, args, timeout=60)
    return ([numpy_helper.to_array(onnx.load_tensor(p)) for p in outs] if r.rc == 0 else None), r


expect_run_error = cc.expect_run_error


def main():
    a = cc.arguments()
    cx = cc.Ctx(a)
    shutil.rmtree(cx.work, ignore_errors=True)
    os.makedirs(cx.work)
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4) - 7.5
    xd = np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4)
    cs, dr = cumsum_model(cx.work), dropout_model(cx.work)

    for axis in (0, 1, 2, -1):
        got, r = eval_run(cx, cs, [("x", x), ("axis", np.array(axis, np.int64))], 1, "eval_cs%d" % axis)
        if got is None:
            cx.fail("eval cumsum axis %d: %s" % (axis, r.describe()))
        else:
            cc.check(cx, "eval cumsum axis %d" % axis, got, [cumsum_reference(x, axis)], tol=1e-4)
    got, r = eval_run(cx, dr, [("x", xd), ("ratio", np.array(0.5, np.float32))], 1, "eval_dr")
    if got is not None or r.rc != 1 or "drop" not in r.err:
        cx.fail("eval dropout ratio 0.5 in training mode: want exit 1 naming the node, got %s" % r.describe())
    else:
        cx.ok()

    for kernels in a.kernels.split(","):
        exe = cc.compiled(cx, "cumsum_axis", cs, kernels)
        if exe:
            for axis in (0, 1, 2, -1, -3):
                cc.run_and_check(cx, exe, "cumsum axis %d %s" % (axis, kernels),
                                 [("x", x), ("axis", np.array(axis, np.int64))], [cumsum_reference(x, axis)], tol=1e-4)
            got, rc, err = cc.run_prog(exe, [("x", x), ("axis", np.array(3, np.int64))], 1, "cs_bad")
            expect_run_error(cx, "cumsum axis 3 of a rank-3 x (%s)" % kernels, got, rc, err,
                             "node 'running' (CumSum) failed: an index read from a tensor is out of range")
        exe = cc.compiled(cx, "dropout_ratio", dr, kernels)
        if exe:
            cc.run_and_check(cx, exe, "dropout ratio 0 %s" % kernels, [("x", xd), ("ratio", np.array(0, np.float32))],
                             [xd + 1])
            got, rc, err = cc.run_prog(exe, [("x", xd), ("ratio", np.array(0.5, np.float32))], 1, "dr_half")
            expect_run_error(cx, "dropout ratio 0.5 in training mode (%s)" % kernels, got, rc, err,
                             "node 'drop' (Dropout) failed: an input value this kernel does not support")
    return cc.finish(cx)


if __name__ == "__main__":
    sys.exit(main())
