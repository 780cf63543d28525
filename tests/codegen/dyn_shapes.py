#!/usr/bin/python3
"""dyn_shapes.py — data-dependent shapes in generated code (issue 17). A model made with onnx.helper
at test time: NonZero of a run-time mask, element-wise ops on its output (Cast, Add), TopK with a
run-time K and Compress with a run-time condition, every output's extent found at run time. It is
compiled (--kernels ref and xnnpack), built with -Wall -Wextra -Werror, run through the driver and
compared with numpy (shapes of the output files included); `edgecc eval` likewise. A main of the
test's own runs one context three times with different extents (small, larger, small again: the
bound must be restored before every run, not the last run's extent). A reader that is not
element-wise (Transpose) is one error line naming the node, exit 1. Range with run-time start,
limit and delta: --max-extent gives its bound (missing: exit 1 naming the flag; a bad value or an
unknown tensor: exit 2), a longer range a run-time error naming the node. A data-dependent shape
inside an If branch is one error line naming the If, exit 1 (branches and bodies stay static).

usage: dyn_shapes.py --edgecc PATH --build-dir DIR --src DIR --work DIR [--kernels ref,xnnpack]"""
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "unit"))
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402
import onnx  # noqa: E402
from onnx import TensorProto as TP, helper, numpy_helper  # noqa: E402

import control_codegen as cc  # noqa: E402
import edgecc_run  # noqa: E402


def vi(name, dt, shape):
    return helper.make_tensor_value_info(name, dt, shape)


def save(work, name, g):
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    path = os.path.join(work, name + ".onnx")
    onnx.save(m, path)
    return path


def dyn_model(work):
    """x [3,4] float, k [1] int64, keep [4] bool ->
    idx = NonZero(x > 0) [2, <=12], y = float(idx) + 1 [2, <=12],
    (vals, ind) = TopK(x, k, axis 1) [3, <=4], picked = Compress(x, keep, axis 1) [3, <=4]."""
    nodes = [helper.make_node("Greater", ["x", "zero"], ["mask"], name="positive"),
             helper.make_node("NonZero", ["mask"], ["idx"], name="where_positive"),
             helper.make_node("Cast", ["idx"], ["idx_f"], name="as_float", to=TP.FLOAT),
             helper.make_node("Add", ["idx_f", "one"], ["y"], name="plus_one"),
             helper.make_node("TopK", ["x", "k"], ["vals", "ind"], name="top", axis=1),
             helper.make_node("Compress", ["x", "keep"], ["picked"], name="pick", axis=1)]
    g = helper.make_graph(nodes, "dyn", [vi("x", TP.FLOAT, [3, 4]), vi("k", TP.INT64, [1]), vi("keep", TP.BOOL, [4])],
                          [vi("idx", TP.INT64, [2, None]), vi("y", TP.FLOAT, [2, None]),
                           vi("vals", TP.FLOAT, [3, None]), vi("ind", TP.INT64, [3, None]),
                           vi("picked", TP.FLOAT, [3, None])],
                          initializer=[numpy_helper.from_array(np.array(0, np.float32), "zero"),
                                       numpy_helper.from_array(np.array(1, np.float32), "one")])
    return save(work, "dyn", g)


def reference(x, k, keep):
    idx = np.array(np.nonzero(x > 0), np.int64).reshape(2, -1)
    order = np.argsort(-x, axis=1, kind="stable")[:, :int(k[0])]
    return [idx, idx.astype(np.float32) + 1, np.take_along_axis(x, order, 1), order.astype(np.int64),
            x[:, keep]]


def range_model(work):
    """r = Range(start, limit, delta) float, y = r * 2: both [<=N]."""
    g = helper.make_graph([helper.make_node("Range", ["start", "limit", "delta"], ["r"], name="steps"),
                           helper.make_node("Mul", ["r", "two"], ["y"], name="twice")],
                          "rng", [vi("start", TP.FLOAT, []), vi("limit", TP.FLOAT, []), vi("delta", TP.FLOAT, [])],
                          [vi("r", TP.FLOAT, [None]), vi("y", TP.FLOAT, [None])],
                          initializer=[numpy_helper.from_array(np.array(2, np.float32), "two")])
    return save(work, "rng", g)


def if_nonzero_model(work):
    """If whose then branch is NonZero of the outer x: refused (subgraphs stay static)."""
    then_g = helper.make_graph([helper.make_node("NonZero", ["x"], ["nz"], name="nz_in_branch")], "with_nonzero",
                               [], [vi("nz", TP.INT64, [1, None])])
    else_g = helper.make_graph([helper.make_node("Cast", ["x"], ["xi"], name="cast_in_branch", to=TP.INT64),
                                helper.make_node("Unsqueeze", ["xi", "axes"], ["u"], name="u")], "plain",
                               [], [vi("u", TP.INT64, [1, 4])])
    g = helper.make_graph([helper.make_node("If", ["c"], ["y"], name="choose", then_branch=then_g,
                                            else_branch=else_g)],
                          "ifnz", [vi("c", TP.BOOL, []), vi("x", TP.FLOAT, [4])], [vi("y", TP.INT64, [1, None])],
                          initializer=[numpy_helper.from_array(np.array([0], np.int64), "axes")])
    return save(work, "if_nonzero", g)


def bad_reader_model(work):
    g = helper.make_graph([helper.make_node("NonZero", ["x"], ["idx"], name="nz"),
                           helper.make_node("Transpose", ["idx"], ["t"], name="flip")],
                          "bad", [vi("x", TP.FLOAT, [4])], [vi("t", TP.INT64, [None, 1])])
    return save(work, "bad_reader", g)


TWICE_MAIN = r"""#include "dyn_p0.h"

#include <stdio.h>
#include <stdlib.h>

#include "ecrt_platform.h"

/* Three runs of one context: the extents change from run to run. */
int main(void) {
  static const float xs[3][12] = {
    {1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 2},
    {1, 2, 3, -1, 4, 5, 6, -1, 7, 8, 9, 10},
    {-1, -1, 3, -1, -1, -1, -1, -1, -1, -1, -1, -1}};
  static const int64_t ks[3] = {1, 4, 2};
  static const uint8_t keeps[3][4] = {{1, 0, 0, 0}, {1, 1, 1, 1}, {0, 1, 0, 1}};
  static dyn_p0 ctx;
  static int64_t idx[24 + 8], ind[12 + 8];
  static float y[24 + 8], vals[12 + 8], picked[12 + 8], x[12 + 8];
  int64_t dims[5][ECRT_MAX_RANK];
  unsigned char *w = malloc(1 << 20), *arena = ecrt_alloc(DYN_P0_ARENA_BYTES + ECRT_ALIGN, ECRT_ALIGN);
  FILE *f = fopen("dyn_p0.bin", "rb");
  size_t wn = f ? fread(w, 1, 1 << 20, f) : 0;
  int r, i, j;
  if (f) fclose(f);
  if (dyn_p0_init(&ctx, w, wn, arena, DYN_P0_ARENA_BYTES + ECRT_ALIGN, 1) != ECRT_OK) return 3;
  for (r = 0; r < 3; r++) {
    for (i = 0; i < 12; i++) x[i] = xs[r][i];
    if (dyn_p0_run(&ctx, x, &ks[r], keeps[r], idx, y, vals, ind, picked, dims) != ECRT_OK) {
      printf("run %d failed at step %d\n", r, ctx.base.failed_step);
      return 4;
    }
    printf("run %d", r);
    for (j = 0; j < 5; j++) printf(" | %lld %lld", (long long)dims[j][0], (long long)dims[j][1]);
    printf(" | idx");
    for (i = 0; i < 2 * dims[0][1]; i++) printf(" %lld", (long long)idx[i]);
    printf(" | y");
    for (i = 0; i < 2 * dims[1][1]; i++) printf(" %g", y[i]);
    printf(" | vals");
    for (i = 0; i < 3 * dims[2][1]; i++) printf(" %g", vals[i]);
    printf(" | picked");
    for (i = 0; i < 3 * dims[4][1]; i++) printf(" %g", picked[i]);
    printf("\n");
  }
  dyn_p0_release(&ctx);
  free(w);
  ecrt_free(arena);
  return 0;
}
"""

TWICE_XS = [np.array(v, np.float32).reshape(3, 4) for v in (
    [1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 2], [1, 2, 3, -1, 4, 5, 6, -1, 7, 8, 9, 10],
    [-1, -1, 3, -1, -1, -1, -1, -1, -1, -1, -1, -1])]
TWICE_KS = [1, 4, 2]
TWICE_KEEPS = [np.array(v, bool) for v in ([1, 0, 0, 0], [1, 1, 1, 1], [0, 1, 0, 1])]


def twice_expected():
    lines = []
    for r in range(3):
        want = reference(TWICE_XS[r], [TWICE_KS[r]], TWICE_KEEPS[r])
        s = "run %d" % r + "".join(" | %d %d" % (w.shape[0], w.shape[1]) for w in want)
        s += " | idx" + "".join(" %d" % v for v in want[0].ravel())
        s += " | y" + "".join(" %g" % v for v in want[1].ravel())
        s += " | vals" + "".join(" %g" % v for v in want[2].ravel())
        s += " | picked" + "".join(" %g" % v for v in want[4].ravel())
        lines.append(s)
    return "\n".join(lines) + "\n"


def check(cx, what, got, want):
    """Shapes first (a wrong extent must read as one, not as a broadcasting error), then values."""
    shapes = [g.shape for g in got] if got is not None else None
    if shapes is not None and shapes != [np.asarray(w).shape for w in want]:
        cx.fail("%s: shapes %s, expected %s" % (what, shapes, [np.asarray(w).shape for w in want]))
        return
    cc.check(cx, what, got, want)


def main():
    a = cc.arguments()
    cx = cc.Ctx(a)
    shutil.rmtree(cx.work, ignore_errors=True)
    os.makedirs(cx.work)
    path = dyn_model(cx.work)
    rng = np.random.default_rng(17)
    cases = [(rng.standard_normal((3, 4)).astype(np.float32), np.array([k], np.int64),
              rng.standard_normal(4) > 0) for k in (0, 2, 4)]
    cases.append((np.full((3, 4), -1, np.float32), np.array([3], np.int64), np.zeros(4, bool)))

    def inputs(c):
        return [("x", c[0]), ("k", c[1]), ("keep", c[2])]

    # edgecc eval: the reference kernels in-process.
    for n, c in enumerate(cases):
        d = os.path.join(cx.work, "eval%d" % n)
        os.makedirs(d)
        args = ["eval", path]
        for j, (name, arr) in enumerate(inputs(c)):
            p = os.path.join(d, "in%d.pb" % j)
            with open(p, "wb") as f:
                f.write(numpy_helper.from_array(arr, name).SerializeToString())
            args += ["--input", p]
        outs = [os.path.join(d, "out%d.pb" % j) for j in range(5)]
        for p in outs:
            args += ["--output", p]
        r = edgecc_run.run(cx.edgecc, args, timeout=60)
        if r.rc != 0:
            cx.fail("eval case %d: %s" % (n, r.describe()))
            continue
        check(cx, "eval case %d" % n, [numpy_helper.to_array(onnx.load_tensor(p)) for p in outs], reference(*c))

    for kernels in a.kernels.split(","):
        exe = cc.compiled(cx, "dyn", path, kernels)
        if not exe:
            continue
        for n, c in enumerate(cases):
            what = "case %d %s" % (n, kernels)
            got, rc, err = cc.run_prog(exe, inputs(c), 5, what.replace(" ", "_"))
            if got is None:
                cx.fail("%s: program exit %d: %s" % (what, rc, err.strip()[-500:]))
            else:
                check(cx, what, got, reference(*c))
        # One context, three runs whose extents differ.
        host = os.path.join(cx.work, "dyn_%s" % kernels, "host")
        with open(os.path.join(host, "main_p0.c"), "w") as f:
            f.write(TWICE_MAIN)
        twice = os.path.join(os.path.dirname(exe), "twice")
        rc, log = cc.build(cx, os.path.join(cx.work, "dyn_%s" % kernels), twice)
        if rc != 0:
            cx.fail("twice main (%s) does not build:\n%s" % (kernels, log[-3000:]))
            continue
        shutil.copy(os.path.join(host, "dyn_p0.bin"), os.path.dirname(twice))
        p = subprocess.run([twice], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60,
                           cwd=os.path.dirname(twice))
        got = p.stdout.decode("utf-8", "replace")
        if p.returncode != 0 or got != twice_expected():
            cx.fail("three runs of one context (%s): exit %d\n got:\n%s want:\n%s" % (kernels, p.returncode, got,
                                                                                      twice_expected()))
        else:
            cx.ok()

    rpath = range_model(cx.work)
    for kernels in a.kernels.split(","):
        exe = cc.compiled(cx, "rng", rpath, kernels, ["--max-extent", "r=10"])
        if not exe:
            continue
        for s, l, d in ((0, 5, 1), (1, 0, -0.25), (0, 10, 1), (3, 3, 1)):
            args = [("start", np.array(s, np.float32)), ("limit", np.array(l, np.float32)),
                    ("delta", np.array(d, np.float32))]
            want = np.arange(s, l, d, dtype=np.float32)
            what = "range %g %g %g %s" % (s, l, d, kernels)
            got, rc, err = cc.run_prog(exe, args, 2, what.replace(" ", "_"))
            if got is None:
                cx.fail("%s: program exit %d: %s" % (what, rc, err.strip()[-500:]))
            else:
                check(cx, what, got, [want, want * 2])
        got, rc, err = cc.run_prog(exe, [("start", np.array(0, np.float32)), ("limit", np.array(11, np.float32)),
                                         ("delta", np.array(1, np.float32))], 2, "range_over")
        if got is not None or "node 'steps' (Range) failed: a data-dependent extent is larger than its bound" not in err:
            cx.fail("range of 11 above the bound 10 (%s): exit %d, stderr %r" % (kernels, rc, err))
        else:
            cx.ok()
    for extra, want_rc, want_text in (([], 1, "give the most with --max-extent r=N"),
                                      (["--max-extent", "r=ten"], 2, "--max-extent r=ten: N must be a whole number"),
                                      (["--max-extent", "r=10", "--max-extent", "nope=3"], 2, "has no tensor 'nope'")):
        r = edgecc_run.run(cx.edgecc, [rpath, "--targets", "host", "-o", os.path.join(cx.work, "rng_bad")] + extra)
        cc.one_line_error(cx, "range with %s" % extra, r, want_rc, [want_text])
    for name, model, needles in (
            ("a Transpose of NonZero's output", bad_reader_model(cx.work),
             ["node 'flip' (Transpose)", "data-dependent shape"]),
            ("NonZero inside an If branch", if_nonzero_model(cx.work),
             ["node 'choose' (If)", "data-dependent shape", "inside a subgraph"])):
        r = edgecc_run.run(cx.edgecc, [model, "--targets", "host", "-o", os.path.join(cx.work, "refused")])
        cc.one_line_error(cx, name, r, 1, needles)
    return cc.finish(cx)


if __name__ == "__main__":
    sys.exit(main())
