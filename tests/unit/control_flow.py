#!/usr/bin/python3
"""control_flow.py — subgraphs (If, Loop, Scan) made with onnx.helper at test time:
scoping errors end in one `edgecc: error: FILE: node ...: WHAT` line with exit status 1; a Loop
carrying a small recurrent state, an If on a run-time condition and an If whose condition folds
evaluate (`edgecc eval`) equal to numpy reimplementations written here from the ONNX spec.

usage: control_flow.py --edgecc PATH --work DIR"""
import argparse
import os
import re
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402
import onnx  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

import edgecc_run  # noqa: E402

F, I64, B = TensorProto.FLOAT, TensorProto.INT64, TensorProto.BOOL


def vi(name, dt, shape):
    return helper.make_tensor_value_info(name, dt, shape)


def save(work, name, graph, opset=13):
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    path = os.path.join(work, name + ".onnx")
    onnx.save(m, path)
    return path


def const(name, arr):
    return helper.make_node("Constant", [], [name], value=numpy_helper.from_array(np.asarray(arr), name))


def branch(name, nodes, outputs, inputs=()):
    return helper.make_graph(nodes, name, list(inputs), outputs)


# ---- models -------------------------------------------------------------------------------------

def if_model(work, name, then_nodes, then_out, else_nodes, else_out, out_vi, cond_init=None, inits=()):
    nodes = [helper.make_node("If", ["c"], ["y"], name="pick",
                              then_branch=branch("then_g", then_nodes, [then_out]),
                              else_branch=branch("else_g", else_nodes, [else_out]))]
    inits = list(inits)
    inputs = [vi("x", F, [3])]
    if cond_init is None:
        inputs.append(vi("c", B, []))
    else:
        inits.append(numpy_helper.from_array(np.array(cond_init), "c"))
    return save(work, name, helper.make_graph(nodes, name, inputs, [out_vi], initializer=inits))


def rnn_loop_model(work):
    """h_{t+1} = tanh(W h_t + U x_t + b), x_t = X[t] read from the outer scope with Gather;
    the loop carries h and emits every h as a scan output. W, U, b are outer initializers."""
    rng = np.random.default_rng(17)
    W = (rng.standard_normal((4, 4)) * 0.5).astype(np.float32)
    U = (rng.standard_normal((4, 3)) * 0.5).astype(np.float32)
    b = (rng.standard_normal(4) * 0.1).astype(np.float32)
    body = helper.make_graph(
        [helper.make_node("Gather", ["X", "i"], ["xt"], axis=0),
         helper.make_node("MatMul", ["W", "h_in"], ["wh"]),
         helper.make_node("MatMul", ["U", "xt"], ["ux"]),
         helper.make_node("Add", ["wh", "ux"], ["s1"]),
         helper.make_node("Add", ["s1", "b"], ["s2"]),
         helper.make_node("Tanh", ["s2"], ["h_out"]),
         helper.make_node("Identity", ["c_in"], ["c_out"]),
         helper.make_node("Identity", ["h_out"], ["h_scan"])],
        "rnn_step", [vi("i", I64, []), vi("c_in", B, []), vi("h_in", F, [4])],
        [vi("c_out", B, []), vi("h_out", F, [4]), vi("h_scan", F, [4])])
    g = helper.make_graph(
        [helper.make_node("Loop", ["M", "", "h0"], ["h_last", "hs"], name="rnn", body=body)],
        "rnn_loop", [vi("X", F, [5, 3]), vi("h0", F, [4])],
        [vi("h_last", F, [4]), vi("hs", F, [5, 4])],
        initializer=[numpy_helper.from_array(W, "W"), numpy_helper.from_array(U, "U"),
                     numpy_helper.from_array(b, "b"), numpy_helper.from_array(np.array(5, np.int64), "M")])
    return save(work, "rnn_loop", g), (W, U, b)


def rnn_reference(X, h0, W, U, b):
    h, hs = h0.astype(np.float32), []
    for t in range(X.shape[0]):
        h = np.tanh(W @ h + U @ X[t] + b).astype(np.float32)
        hs.append(h)
    return h, np.stack(hs)


def scan_model(work):
    """Scan (opset 11) along axis 1 of x [3,4], backwards, with its scan output stacked along axis 1
    and written backwards too: s += x[:, t]; y_t = 2 s."""
    body = helper.make_graph(
        [helper.make_node("Add", ["s_in", "xt"], ["s_out"]),
         helper.make_node("Add", ["s_out", "s_out"], ["y"])],
        "scan_step", [vi("s_in", F, [3]), vi("xt", F, [3])], [vi("s_out", F, [3]), vi("y", F, [3])])
    g = helper.make_graph(
        [helper.make_node("Scan", ["s0", "x"], ["s_last", "ys"], name="acc", body=body, num_scan_inputs=1,
                          scan_input_axes=[1], scan_input_directions=[1], scan_output_axes=[-1],
                          scan_output_directions=[1])],
        "scan_rev", [vi("s0", F, [3]), vi("x", F, [3, 4])], [vi("s_last", F, [3]), vi("ys", F, [3, 4])])
    return save(work, "scan_rev", g, opset=11)


def scan_reference(s0, x):
    s, L = s0.copy(), x.shape[1]
    ys = np.zeros_like(x)
    for t in range(L):
        s = s + x[:, L - 1 - t]      # scan_input_directions=1: the last slice first
        ys[:, L - 1 - t] = 2 * s     # scan_output_directions=1: each value prepended
    return s, ys


def slice_loop_model(work, reduce=False):
    """A body whose shapes need the iteration number (Slice X[i:i+1], as test_loop11): the
    slice's extent is found per iteration (the carried y checked against [1,2]). y += X[i:i+1];
    every y is scanned. With reduce, y += ReduceSum(X[i:i+1], axis 0): a reader that cannot take
    a data-dependent extent, so the loop (trip count a constant) is unrolled instead."""
    one = numpy_helper.from_array(np.array([1], np.int64), "one")
    add_in = "xr" if reduce else "xi"
    nodes = [helper.make_node("Unsqueeze", ["i", "ax"], ["start"]),
             helper.make_node("Add", ["start", "one"], ["end"]),
             helper.make_node("Slice", ["X", "start", "end"], ["xi"])]
    if reduce:
        nodes.append(helper.make_node("ReduceSum", ["xi", "ax"], ["xr"], keepdims=1))
    nodes += [helper.make_node("Add", ["y_in", add_in], ["y_out"]),
              helper.make_node("Identity", ["y_out"], ["y_scan"])]
    body = helper.make_graph(
        nodes, "slice_step", [vi("i", I64, []), vi("c_in", B, []), vi("y_in", F, [1, 2])],
        [vi("c_in", B, []), vi("y_out", F, [1, 2]), vi("y_scan", F, [1, 2])])
    name = "slice_reduce_loop" if reduce else "slice_loop"
    g = helper.make_graph(
        [helper.make_node("Loop", ["M", "", "y0"], ["y_last", "ys"], name="cumsum", body=body)],
        name, [vi("X", F, [4, 2]), vi("y0", F, [1, 2])],
        [vi("y_last", F, [1, 2]), vi("ys", F, [3, 1, 2])],
        initializer=[numpy_helper.from_array(np.array(3, np.int64), "M"), one,
                     numpy_helper.from_array(np.array([0], np.int64), "ax")])
    return save(work, name, g)


def nested(depth):
    """If inside If inside ... depth levels (then branches nest; else branches are a constant, so
    the file stays small), the innermost branch yielding a constant."""
    g = branch("level%d" % depth, [const("v%d" % depth, np.float32(1))], [vi("v%d" % depth, F, [])])
    for d in range(depth - 1, -1, -1):
        leaf = branch("leaf%d" % d, [const("w%d" % d, np.float32(0))], [vi("w%d" % d, F, [])])
        node = helper.make_node("If", ["c"], ["v%d" % d], then_branch=g, else_branch=leaf)
        g = branch("level%d" % d, [node], [vi("v%d" % d, F, [])])
    return g


# ---- checks -------------------------------------------------------------------------------------

def run_eval(edgecc, model, inputs, n_out, work, tag, extra=()):
    args = ["eval", model] + list(extra)
    for k, (name, arr) in enumerate(inputs):
        p = os.path.join(work, "%s_in%d.pb" % (tag, k))
        with open(p, "wb") as f:
            f.write(numpy_helper.from_array(arr, name).SerializeToString())
        args += ["--input", p]
    outs = [os.path.join(work, "%s_out%d.pb" % (tag, k)) for k in range(n_out)]
    for p in outs:
        args += ["--output", p]
        if os.path.exists(p):
            os.remove(p)
    r = edgecc_run.run(edgecc, args)
    if r.rc != 0:
        return None, r
    return [numpy_helper.to_array(onnx.load_tensor(p)) for p in outs], r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--edgecc", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    edgecc = os.path.abspath(a.edgecc)
    work = os.path.abspath(a.work)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    failures, passed = [], 0

    def expect_error(name, path, where, what, cmd="inspect"):
        nonlocal passed
        r = edgecc_run.run(edgecc, [cmd, path] + ([] if cmd == "inspect" else ["--input", path]))
        probs = edgecc_run.check_error(r, file=path, where=where, what=what)
        if r.rc != 1:
            probs.append("exit status %s, expected 1" % r.rc)
        if probs:
            failures.append("%s: %s" % (name, "; ".join(probs)))
        else:
            passed += 1

    # Scoping errors.
    p = if_model(work, "unknown_capture",
                 [helper.make_node("Add", ["x", "nowhere"], ["t"])], vi("t", F, [3]),
                 [helper.make_node("Identity", ["x"], ["e"])], vi("e", F, [3]), vi("y", F, [3]))
    expect_error("unknown captured name", p, "node 'pick' (If)",
                 r"a subgraph reads 'nowhere', which no enclosing scope defines")
    p = save(work, "too_deep", helper.make_graph([nested(17).node[0]], "too_deep", [vi("c", B, [])],
                                                 [vi("v0", F, [])]))
    expect_error("too-deep nesting", p, None, r"subgraphs nested deeper than 16 levels")
    p = if_model(work, "dtype_mismatch",
                 [helper.make_node("Identity", ["x"], ["t"])], vi("t", F, [3]),
                 [const("e", np.array([1, 2, 3], np.int64))], vi("e", I64, [3]), vi("y", F, [3]))
    expect_error("branch dtype mismatch", p, "node 'pick' (If)",
                 r"output 0 is float32 in branch 'then_g' but int64 in branch 'else_g'")
    p = if_model(work, "shape_mismatch",
                 [helper.make_node("Identity", ["x"], ["t"])], vi("t", F, [3]),
                 [const("e", np.zeros((2,), np.float32))], vi("e", F, [2]), vi("y", F, [3]))
    expect_error("branch shape mismatch", p, "node 'pick' (If)",
                 r"output 0 has shape \[3\] in branch 'then_g' but \[2\] in branch 'else_g'")

    # An If on a run-time condition that reads the outer x; both ways. The then branch reshapes
    # with an outer initializer: a shape operand, so folding must carry the constant inside.
    p = if_model(work, "if_runtime",
                 [helper.make_node("Mul", ["x", "x"], ["t0"]),
                  helper.make_node("Reshape", ["t0", "shape"], ["t"])], vi("t", F, [3]),
                 [helper.make_node("Neg", ["x"], ["e"])], vi("e", F, [3]), vi("y", F, [3]),
                 inits=[numpy_helper.from_array(np.array([3], np.int64), "shape")])
    x = np.array([1.5, -2.0, 3.0], np.float32)
    for c in (True, False):
        got, r = run_eval(edgecc, p, [("x", x), ("c", np.array(c))], 1, work, "if%d" % c)
        want = x * x if c else -x
        if got is None or not np.array_equal(got[0], want):
            failures.append("If(%s): got %s, want %s (%s)" % (c, got, want, r.describe()))
        else:
            passed += 1

    # A constant condition: folding keeps only the taken branch (inspect: nothing left to refuse).
    p = if_model(work, "if_const",
                 [helper.make_node("Mul", ["x", "x"], ["t"])], vi("t", F, [3]),
                 [const("e", np.zeros((2,), np.float32))], vi("e", F, [2]), vi("y", F, [3]),
                 cond_init=True)
    r = edgecc_run.run(edgecc, ["inspect", p])
    got, r2 = run_eval(edgecc, p, [("x", x)], 1, work, "ifc")
    if r.rc != 0 or "every op can be compiled" not in r.out or got is None or not np.array_equal(got[0], x * x):
        failures.append("If with a constant condition: inspect %s / eval %s" % (r.describe(), r2.describe()))
    else:
        passed += 1

    # The recurrent Loop against numpy.
    p, (W, U, b) = rnn_loop_model(work)
    rng = np.random.default_rng(3)
    X = rng.standard_normal((5, 3)).astype(np.float32)
    h0 = rng.standard_normal(4).astype(np.float32)
    got, r = run_eval(edgecc, p, [("X", X), ("h0", h0)], 2, work, "rnn")
    want = rnn_reference(X, h0, W, U, b)
    if got is None:
        failures.append("rnn loop: %s" % r.describe())
    else:
        for k in range(2):
            err = float(np.max(np.abs(got[k] - want[k])))
            if got[k].shape != want[k].shape or err > 1e-5:
                failures.append("rnn loop output %d: shape %s vs %s, max error %g"
                                % (k, got[k].shape, want[k].shape, err))
            else:
                passed += 1

    # A Loop whose body slices at the iteration number, against numpy: run as a loop (the slice's
    # extent found per iteration), and unrolled where a ReduceSum reads the slice.
    X = np.arange(8, dtype=np.float32).reshape(4, 2)
    y0 = np.array([[10, 20]], np.float32)
    ys = np.stack([y0 + X[:i + 1].sum(0, keepdims=True) for i in range(3)])
    for reduce, how, loops in ((False, "sliced loop", True), (True, "unrolled loop", False)):
        p = slice_loop_model(work, reduce)
        got, r = run_eval(edgecc, p, [("X", X), ("y0", y0)], 2, work, "slice%d" % reduce)
        ins = edgecc_run.run(edgecc, ["inspect", p])
        if got is None or not np.array_equal(got[0], ys[-1]) or not np.array_equal(got[1], ys):
            failures.append("%s: got %s, want %s, %s (%s)" % (how, got, ys[-1], ys, r.describe()))
        elif ins.rc != 0 or (re.search(r"nodes\s+1 \(1 after constant folding\)", ins.out) is not None) != loops:
            failures.append("%s: inspect should say the Loop %s: %s %r" % (how, "stays" if loops else "is unrolled",
                                                                          ins.describe(), ins.out[-600:]))
        else:
            passed += 1

    # Scan along a non-leading axis, both directions reversed, against numpy.
    p = scan_model(work)
    s0 = np.array([1, 2, 3], np.float32)
    xs = np.arange(12, dtype=np.float32).reshape(3, 4)
    got, r = run_eval(edgecc, p, [("s0", s0), ("x", xs)], 2, work, "scan")
    want = scan_reference(s0, xs)
    if got is None or any(not np.array_equal(got[k], want[k]) for k in range(2)):
        failures.append("scan: got %s, want %s (%s)" % (got, want, r.describe()))
    else:
        passed += 1

    for f in failures:
        print("FAIL", f)
    print("%d passed, %d failed" % (passed, len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
