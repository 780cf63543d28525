#!/usr/bin/python3
"""loop_extents.py — data-dependent extents inside a Loop body (issue 17, test_loop11's case): a
Slice whose starts and ends come from the iteration number gets an extent found per iteration,
bounded by the sliced input; a carried value is checked against its static shape, a scan output
stacks the extent iteration 0 found (every iteration must repeat it). Models made with onnx.helper
at test time, the trip count (and the window) fed at run time; the program (--kernels ref and
xnnpack) and edgecc eval against numpy reimplementations written from the ONNX spec:
  window: y += X[i:i+1] carried, every y scanned (test_loop11 on a [6,2] X); past X's rows the
          slice is empty and the carried value's check stops the run;
  span:   X[i:i+w] * 2 scanned, w a graph input: rows of w elements stacked at the bound's stride
          and packed to the extent found; where i+w runs past X the extent shrinks and the run
          stops (a scan output changing shape);
  grow:   X[0:i+1] scanned: the extent grows per iteration; one iteration runs, two stop.

usage: loop_extents.py --edgecc PATH --build-dir DIR --src DIR --work DIR [--kernels ref,xnnpack]"""
import os
import re
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "unit"))

import numpy as np  # noqa: E402
from onnx import helper, numpy_helper  # noqa: E402

import control_codegen as cc  # noqa: E402
import control_flow as cf  # noqa: E402
import edgecc_run  # noqa: E402

F, I64, B = cf.F, cf.I64, cf.B
BOUND = ["--max-trip-count", "ys=8"]


def int_init(name, v):
    return numpy_helper.from_array(np.array(v, np.int64), name)


def window_model(work):
    """Loop 'window' (trip count M fed): y_out = y_in + X[i:i+1] ([1,2] carried), scanned as ys."""
    body = helper.make_graph(
        [helper.make_node("Unsqueeze", ["i", "ax"], ["start"]),
         helper.make_node("Add", ["start", "one"], ["end"]),
         helper.make_node("Slice", ["X", "start", "end"], ["xi"]),
         helper.make_node("Add", ["y_in", "xi"], ["y_out"]),
         helper.make_node("Identity", ["y_out"], ["y_s"]),
         helper.make_node("Identity", ["c_in"], ["c_out"])],
        "window_step", [cf.vi("i", I64, []), cf.vi("c_in", B, []), cf.vi("y_in", F, [1, 2])],
        [cf.vi("c_out", B, []), cf.vi("y_out", F, [1, 2]), cf.vi("y_s", F, [1, 2])])
    g = helper.make_graph(
        [helper.make_node("Loop", ["M", "", "y0"], ["y", "ys"], name="window", body=body)],
        "window_loop", [cf.vi("M", I64, []), cf.vi("X", F, [6, 2]), cf.vi("y0", F, [1, 2])],
        [cf.vi("y", F, [1, 2]), cf.vi("ys", F, ["T", 1, 2])],
        initializer=[int_init("one", [1]), int_init("ax", [0])])
    return cf.save(work, "window_loop", g)


def window_reference(M, X, y0):
    y, ys = y0.copy(), []
    for i in range(M):
        y = y + X[i:i + 1]
        ys.append(y)
    # No iteration ran: the extent the body would have found is unknown, and reported as 0.
    return [y, np.array(ys, np.float32).reshape(M, 1 if M else 0, 2)]


def span_model(work):
    """Loop 'span' (trip count M and width w fed): ys[i] = X[i:i+w] * 2 along axis 0 of X [6,3]."""
    body = helper.make_graph(
        [helper.make_node("Unsqueeze", ["i", "ax"], ["start"]),
         helper.make_node("Add", ["start", "w"], ["end"]),
         helper.make_node("Slice", ["X", "start", "end", "ax"], ["xs"]),
         helper.make_node("Mul", ["xs", "two"], ["y_s"]),
         helper.make_node("Identity", ["c_in"], ["c_out"])],
        "span_step", [cf.vi("i", I64, []), cf.vi("c_in", B, [])],
        [cf.vi("c_out", B, []), cf.vi("y_s", F, ["W", 3])])
    g = helper.make_graph(
        [helper.make_node("Loop", ["M", ""], ["ys"], name="span", body=body)],
        "span_loop", [cf.vi("M", I64, []), cf.vi("w", I64, [1]), cf.vi("X", F, [6, 3])],
        [cf.vi("ys", F, ["T", "W", 3])],
        initializer=[int_init("ax", [0]), numpy_helper.from_array(np.array(2, np.float32), "two")])
    return cf.save(work, "span_loop", g)


def grow_model(work):
    """Loop 'grow' (trip count M fed): ys[i] = X[0:i+1] of X [5]."""
    body = helper.make_graph(
        [helper.make_node("Unsqueeze", ["i", "ax"], ["i1"]),
         helper.make_node("Add", ["i1", "one"], ["end"]),
         helper.make_node("Slice", ["X", "zero", "end"], ["y_s"]),
         helper.make_node("Identity", ["c_in"], ["c_out"])],
        "grow_step", [cf.vi("i", I64, []), cf.vi("c_in", B, [])],
        [cf.vi("c_out", B, []), cf.vi("y_s", F, ["W"])])
    g = helper.make_graph(
        [helper.make_node("Loop", ["M", ""], ["ys"], name="grow", body=body)],
        "grow_loop", [cf.vi("M", I64, []), cf.vi("X", F, [5])], [cf.vi("ys", F, ["T", "W"])],
        initializer=[int_init("one", [1]), int_init("zero", [0]), int_init("ax", [0])])
    return cf.save(work, "grow_loop", g)


def main():
    a = cc.arguments()
    cx = cc.Ctx(a)
    shutil.rmtree(cx.work, ignore_errors=True)
    os.makedirs(cx.work)
    work = cx.work
    rng = np.random.default_rng(11)
    X6 = rng.standard_normal((6, 2)).astype(np.float32)
    y0 = np.array([[0.5, -1.0]], np.float32)
    S = rng.standard_normal((6, 3)).astype(np.float32)
    G = np.arange(1, 6, dtype=np.float32)
    window, span, grow = window_model(work), span_model(work), grow_model(work)
    wfeed = lambda M: [("M", np.array(M, np.int64)), ("X", X6), ("y0", y0)]
    sfeed = lambda M, w: [("M", np.array(M, np.int64)), ("w", np.array([w], np.int64)), ("X", S)]
    gfeed = lambda M: [("M", np.array(M, np.int64)), ("X", G)]
    span_cases = [(0, 2), (1, 1), (3, 2), (4, 2), (2, 5), (1, 6)]  # M + w - 1 <= 6: every row w long
    span_ref = lambda M, w: [np.array([S[i:i + w] * 2 for i in range(M)], np.float32).reshape(M, w if M else 0, 3)]

    for kernels in a.kernels.split(","):
        exe = cc.compiled(cx, "window_loop", window, kernels, BOUND)
        if exe:
            for M in (0, 1, 3, 6):
                cc.run_and_check(cx, exe, "window M=%d %s" % (M, kernels), wfeed(M), window_reference(M, X6, y0))
            got, rc, err = cc.run_prog(exe, wfeed(7), 2, "window_past")
            cc.expect_run_error(cx, "window M=7 (X[6:7] is empty) %s" % kernels, got, rc, err,
                    ["node 'window' (Loop) failed", "loop-carried value 'y_out' leaves the body with another shape"])
        exe = cc.compiled(cx, "span_loop", span, kernels, BOUND)
        if exe:
            for M, w in span_cases:
                cc.run_and_check(cx, exe, "span M=%d w=%d %s" % (M, w, kernels), sfeed(M, w), span_ref(M, w))
            got, rc, err = cc.run_prog(exe, sfeed(4, 4), 1, "span_short")
            cc.expect_run_error(cx, "span M=4 w=4 (X[3:7] has 3 rows) %s" % kernels, got, rc, err,
                    ["node 'span' (Loop) failed", "scan output 'y_s' changes shape between iterations"])
        exe = cc.compiled(cx, "grow_loop", grow, kernels, BOUND)
        if exe:
            cc.run_and_check(cx, exe, "grow M=1 %s" % kernels, gfeed(1), [G[:1].reshape(1, 1)])
            got, rc, err = cc.run_prog(exe, gfeed(2), 1, "grow_2")
            cc.expect_run_error(cx, "grow M=2 %s" % kernels, got, rc, err,
                    ["node 'grow' (Loop) failed", "scan output 'y_s' changes shape between iterations"])

    # edgecc eval: the same values, and the same stops (with the iteration that broke the rule).
    def ev(path, feed, n_out, tag):
        return cf.run_eval(cx.edgecc, path, feed, n_out, work, tag, BOUND)

    for M in (0, 1, 3, 6):
        got, r = ev(window, wfeed(M), 2, "eval_window_%d" % M)
        if got is None:
            cx.fail("eval window M=%d: %s" % (M, r.describe()))
        else:
            cc.check(cx, "eval window M=%d" % M, got, window_reference(M, X6, y0))
    for M, w in span_cases:
        got, r = ev(span, sfeed(M, w), 1, "eval_span_%d_%d" % (M, w))
        if got is None:
            cx.fail("eval span M=%d w=%d: %s" % (M, w, r.describe()))
        else:
            cc.check(cx, "eval span M=%d w=%d" % (M, w), got, span_ref(M, w))
    got, r = ev(window, wfeed(7), 2, "eval_window_past")
    cc.expect_run_error(cx, "eval window M=7", got, r.rc, r.err,
            ["loop-carried value 'y_out' has shape [0,2] in iteration 6, but enters the body [1,2]"])
    got, r = ev(span, sfeed(4, 4), 1, "eval_span_short")
    cc.expect_run_error(cx, "eval span M=4 w=4", got, r.rc, r.err,
            ["scan output 'y_s' has shape [3,3] in iteration 3, but has in iteration 0 [4,3]"])
    got, r = ev(grow, gfeed(1), 1, "eval_grow_1")
    if got is None:
        cx.fail("eval grow M=1: %s" % r.describe())
    else:
        cc.check(cx, "eval grow M=1", got, [G[:1].reshape(1, 1)])
    got, r = ev(grow, gfeed(2), 1, "eval_grow_2")
    cc.expect_run_error(cx, "eval grow M=2", got, r.rc, r.err, ["scan output 'y_s' has shape [2] in iteration 1, but has in iteration 0 [1]"])

    # inspect: the bounds (the trip count's and the slice's), and the Slice is not a shape operand
    # of the graph (its inputs are fed, not frozen).
    r = edgecc_run.run(cx.edgecc, ["inspect", span] + BOUND)
    if r.rc != 0 or not re.search(r"ys\s+float32\s+\[<=8,<=6,3\]", r.out):
        cx.fail("inspect span: want ys [<=8,<=6,3], got %s %r" % (r.describe(), r.out[:800]))
    else:
        cx.ok()
    r = edgecc_run.run(cx.edgecc, ["inspect", span, "--shape-inputs"] + BOUND)
    if r.rc != 0 or r.out.strip():
        cx.fail("inspect span --shape-inputs: want none, got %s %r" % (r.describe(), r.out))
    else:
        cx.ok()
    return cc.finish(cx)


if __name__ == "__main__":
    sys.exit(main())
