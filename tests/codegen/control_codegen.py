#!/usr/bin/python3
"""control_codegen.py — If, Loop and Scan in generated code (issue 17). Models made with
onnx.helper at test time (tests/unit/control_flow.py's If on a run-time condition, recurrent Loop
and reversed Scan, plus a Loop whose trip count is a graph input and whose body holds an If) are
compiled (--kernels ref and xnnpack), built with -Wall -Wextra -Werror against the runtime,
run, and compared with numpy reimplementations written from the ONNX spec. --max-trip-count: a
missing bound is one error line naming the node and the flag (exit 1), a bad value a usage error
(exit 2), a trip count above the bound a run-time error naming the node. An unnamed Loop with a
run-time trip count, an early exit and scan outputs sized by --max-trip-count (named by an
output): program and edgecc eval against numpy at several trip counts, and over the bound.

usage: control_codegen.py --edgecc PATH --build-dir DIR --src DIR --work DIR [--kernels ref,xnnpack]"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "unit"))

import numpy as np  # noqa: E402
import onnx  # noqa: E402
from onnx import helper, numpy_helper  # noqa: E402

import control_flow as cf  # noqa: E402
import edgecc_run  # noqa: E402

F, I64, B = cf.F, cf.I64, cf.B


def dyn_loop_model(work):
    """Loop 'dyn' whose trip count M is a graph input, carrying acc [2]; its body holds an If on
    i < 2 (a run-time condition inside the body): acc + x in the first two iterations, acc * 2
    after. x is read from the outer scope by the branch, through the body."""
    then_g = cf.branch("early", [helper.make_node("Add", ["acc_in", "x"], ["a1"])], [cf.vi("a1", F, [2])])
    else_g = cf.branch("late", [helper.make_node("Mul", ["acc_in", "two"], ["a2"])], [cf.vi("a2", F, [2])])
    body = helper.make_graph(
        [helper.make_node("Less", ["i", "lim"], ["early_i"]),
         helper.make_node("If", ["early_i"], ["acc_out"], name="phase", then_branch=then_g, else_branch=else_g),
         helper.make_node("Identity", ["c_in"], ["c_out"])],
        "dyn_step", [cf.vi("i", I64, []), cf.vi("c_in", B, []), cf.vi("acc_in", F, [2])],
        [cf.vi("c_out", B, []), cf.vi("acc_out", F, [2])])
    g = helper.make_graph(
        [helper.make_node("Loop", ["M", "", "acc0"], ["acc"], name="dyn", body=body)],
        "dyn_loop", [cf.vi("M", I64, []), cf.vi("x", F, [2]), cf.vi("acc0", F, [2])], [cf.vi("acc", F, [2])],
        initializer=[numpy_helper.from_array(np.array(2, np.int64), "lim"),
                     numpy_helper.from_array(np.array(2, np.float32), "two")])
    return cf.save(work, "dyn_loop", g)


def dyn_reference(M, x, acc0):
    acc = acc0.copy()
    for i in range(max(int(M), 0)):
        acc = acc + x if i < 2 else acc * 2
    return acc


def scan_loop_model(work):
    """An unnamed Loop whose trip count M is a graph input and whose condition (first: the constant
    go) the body computes (i < stop, stop a graph input), with two scan outputs: ys (acc after each iteration, [T,2]) and
    iters (the iteration number as float, [T]); Neg reads ys outside the loop. T is the iterations
    run, min(M, stop + 1): --max-trip-count sizes ys and iters, the program returns T."""
    body = helper.make_graph(
        [helper.make_node("Less", ["i", "stop"], ["c_out"]),
         helper.make_node("Cast", ["i"], ["i_f"], to=F),
         helper.make_node("Mul", ["acc_in", "half"], ["a0"]),
         helper.make_node("Mul", ["x", "i_f"], ["a1"]),
         helper.make_node("Add", ["a0", "a1"], ["acc_out"]),
         helper.make_node("Identity", ["acc_out"], ["y_s"]),
         helper.make_node("Identity", ["i_f"], ["i_s"])],
        "scan_step", [cf.vi("i", I64, []), cf.vi("c_in", B, []), cf.vi("acc_in", F, [2])],
        [cf.vi("c_out", B, []), cf.vi("acc_out", F, [2]), cf.vi("y_s", F, [2]), cf.vi("i_s", F, [])])
    g = helper.make_graph(
        [helper.make_node("Loop", ["M", "go", "acc0"], ["acc", "ys", "iters"], body=body),
         helper.make_node("Neg", ["ys"], ["neg_ys"])],
        "scan_loop", [cf.vi("M", I64, []), cf.vi("stop", I64, []), cf.vi("x", F, [2]), cf.vi("acc0", F, [2])],
        [cf.vi("acc", F, [2]), cf.vi("ys", F, ["T", 2]), cf.vi("iters", F, ["T"]), cf.vi("neg_ys", F, ["T", 2])],
        initializer=[numpy_helper.from_array(np.array(0.5, np.float32), "half"),
                     numpy_helper.from_array(np.array(True), "go")])
    return cf.save(work, "scan_loop", g)


def scan_loop_reference(M, stop, x, acc0):
    """numpy, from the ONNX Loop spec: iteration i runs while i < M and the last condition holds."""
    acc, ys, iters, cond, i = acc0.copy(), [], [], True, 0
    while i < M and cond:
        acc = (acc * np.float32(0.5) + x * np.float32(i)).astype(np.float32)
        ys.append(acc)
        iters.append(np.float32(i))
        cond = i < stop
        i += 1
    ys = np.array(ys, np.float32).reshape(len(ys), 2)
    return [acc, ys, np.array(iters, np.float32), -ys]


def check_scan_loop(cx, work, kernels):
    """A Loop with a run-time trip count and scan outputs, bounded by --max-trip-count given by
    an output's name: the program (and edgecc eval) against numpy at several trip counts and
    early exits, and one over the bound stopping with the run-time error."""
    path = scan_loop_model(work)
    xs, a0 = np.array([1.0, -2.0], np.float32), np.array([0.5, 4.0], np.float32)
    cases = [(0, 100), (1, 100), (3, 100), (6, 100), (6, 2), (9, 2)]  # (M, stop): 0, 1, 3, 6, 3, 3 iterations
    feed = lambda M, stop: [("M", np.array(M, np.int64)), ("stop", np.array(stop, np.int64)), ("x", xs), ("acc0", a0)]
    bound = ["--max-trip-count", "ys=6"]
    exe = compiled(cx, "scan_loop", path, kernels, bound)
    if exe:
        for M, stop in cases:
            run_and_check(cx, exe, "scan loop M=%d stop=%d %s" % (M, stop, kernels), feed(M, stop),
                          scan_loop_reference(M, stop, xs, a0))
        got, rc, err = run_prog(exe, feed(7, 100), 4, "scan_over")
        if got is not None or "(Loop) failed: the trip count exceeds its bound, --max-trip-count ys=6" not in err:
            cx.fail("scan loop M=7 above the bound 6 (%s): exit %d, stderr %r" % (kernels, rc, err))
        else:
            cx.ok()
    if kernels != "ref":
        return
    for M, stop in cases[2:5]:
        got, r = cf.run_eval(cx.edgecc, path, feed(M, stop), 4, work, "scan_eval_%d_%d" % (M, stop), bound)
        if got is None:
            cx.fail("eval scan loop M=%d: %s" % (M, r.describe()))
        else:
            check(cx, "eval scan loop M=%d stop=%d" % (M, stop), got, scan_loop_reference(M, stop, xs, a0))
    got, r = cf.run_eval(cx.edgecc, path, feed(7, 100), 4, work, "scan_eval_over", bound)
    if got is not None or "the trip count exceeds its bound, --max-trip-count ys=6" not in r.err:
        cx.fail("eval scan loop M=7 above the bound 6: %s" % r.describe())
    else:
        cx.ok()
    r = edgecc_run.run(cx.edgecc, ["inspect", path] + bound)
    if r.rc != 0 or not re.search(r"ys\s+float32\s+\[<=6,2\]", r.out):
        cx.fail("inspect scan loop: want ys [<=6,2], got %s %r" % (r.describe(), r.out[:600]))
    else:
        cx.ok()
    # No bound: inference names the flag and the Loop by its first output (it has no node name).
    r = compile_model(cx, path, os.path.join(work, "scan_nobound"), "ref")
    one_line_error(cx, "scan loop without a bound", r, 1,
                   ["(Loop)", "it sizes the scan outputs: give its bound with --max-trip-count acc=N"])


class Ctx:
    def __init__(self, a):
        self.edgecc = os.path.abspath(a.edgecc)
        self.build_dir = os.path.abspath(a.build_dir)
        self.src = os.path.abspath(a.src)
        self.work = os.path.abspath(a.work)
        self.failures, self.passed = [], 0

    def fail(self, what):
        self.failures.append(what)

    def ok(self):
        self.passed += 1


def parser(kernels="ref,xnnpack"):
    """The arguments every generated-code test of this folder takes; a test adds its own."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--edgecc", required=True)
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--src", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--kernels", default=kernels)
    return ap


def arguments():
    return parser().parse_args()


def finish(cx):
    """Prints the failures and the count line; the exit status."""
    for f in cx.failures:
        print("FAIL", f)
    print("%d passed, %d failed" % (cx.passed, len(cx.failures)))
    return 1 if cx.failures else 0


def one_line_error(cx, what, r, rc, needles):
    """r (an edgecc_run result) must end with exit rc and one stderr line holding every needle."""
    lines = [ln for ln in r.err.splitlines() if ln.strip()]
    if r.rc != rc or len(lines) != 1 or not all(s in lines[0] for s in needles):
        cx.fail("%s: want exit %d and one line with %r, got %s" % (what, rc, needles, r.describe()))
    else:
        cx.ok()


def expect_run_error(cx, what, got, rc, err, needles):
    """A program run (run_prog's result) that must fail with stderr holding the needle (or each
    of a list of needles)."""
    needles = [needles] if isinstance(needles, str) else needles
    if got is not None or rc == 0 or not all(s in err for s in needles):
        cx.fail("%s: want a run-time error with %r, got exit %s, stderr %r" % (what, needles, rc, err.strip()[-400:]))
    else:
        cx.ok()


def compile_model(cx, model, out, kernels, extra=()):
    shutil.rmtree(out, ignore_errors=True)
    return edgecc_run.run(cx.edgecc, [model, "--targets", "host", "--kernels", kernels, "-o", out] + list(extra),
                          timeout=60)


def build(cx, out, exe):
    env = dict(os.environ, CFLAGS="-O2 -Wall -Wextra -Werror")
    p = subprocess.run([os.path.join(cx.src, "tests/codegen/build_generated.sh"), os.path.join(out, "host"),
                        cx.build_dir, exe], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    return p.returncode, p.stdout.decode("utf-8", "replace")


def run_prog(exe, inputs, n_out, tag):
    """Runs a generated program on named numpy inputs; returns (outputs or None, rc, stderr)."""
    d = os.path.dirname(exe)
    args = [exe]
    for k, (name, arr) in enumerate(inputs):
        p = os.path.join(d, "%s_in%d.pb" % (tag, k))
        with open(p, "wb") as f:
            f.write(numpy_helper.from_array(arr, name).SerializeToString())
        args += ["--input", p]
    outs = [os.path.join(d, "%s_out%d.pb" % (tag, k)) for k in range(n_out)]
    for p in outs:
        if os.path.exists(p):
            os.remove(p)
        args += ["--output", p]
    r = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60, cwd=d)
    err = r.stderr.decode("utf-8", "replace")
    if r.returncode != 0:
        return None, r.returncode, err
    return [numpy_helper.to_array(onnx.load_tensor(p)) for p in outs], 0, err


def compiled(cx, name, model, kernels, extra=()):
    """Compiles and builds; returns the program's path or None (failure recorded)."""
    out = os.path.join(cx.work, "%s_%s" % (name, kernels))
    r = compile_model(cx, model, out, kernels, extra)
    if r.rc != 0:
        cx.fail("%s (--kernels %s): compile: %s" % (name, kernels, r.describe()))
        return None
    exe = os.path.join(out, "bin", name)
    rc, log = build(cx, out, exe)
    if rc != 0:
        cx.fail("%s (--kernels %s): build failed:\n%s" % (name, kernels, log[-3000:]))
        return None
    return exe


def check(cx, what, got, want, tol=0.0):
    if got is None:
        return
    for k, (g, w) in enumerate(zip(got, want)):
        w = np.asarray(w)
        same = g.shape == w.shape  # checked first: a wrong extent must fail, not raise
        err = float(np.max(np.abs(g.astype(np.float64) - w))) if same and g.size else 0.0
        if not same or g.dtype != w.dtype or err > tol:
            cx.fail("%s output %d: %s %s vs %s %s, max error %g" % (what, k, g.dtype, g.shape, w.dtype, w.shape,
                                                                    err))
            return
    cx.ok()


def run_and_check(cx, exe, what, inputs, want, tol=0.0):
    got, rc, err = run_prog(exe, inputs, len(want), what.replace(" ", "_"))
    if got is None:
        cx.fail("%s: program exit %d: %s" % (what, rc, err.strip()[-500:]))
        return
    check(cx, what, got, want, tol)


def main():
    a = arguments()
    cx = Ctx(a)
    shutil.rmtree(cx.work, ignore_errors=True)
    os.makedirs(cx.work)
    work = cx.work

    if_path = cf.if_model(work, "if_runtime",
                          [helper.make_node("Mul", ["x", "x"], ["t0"]),
                           helper.make_node("Reshape", ["t0", "shape"], ["t"])], cf.vi("t", F, [3]),
                          [helper.make_node("Neg", ["x"], ["e"])], cf.vi("e", F, [3]), cf.vi("y", F, [3]),
                          inits=[numpy_helper.from_array(np.array([3], np.int64), "shape")])
    rnn_path, (W, U, bias) = cf.rnn_loop_model(work)
    scan_path = cf.scan_model(work)
    dyn_path = dyn_loop_model(work)
    rng = np.random.default_rng(5)
    x3 = np.array([1.5, -2.0, 3.0], np.float32)
    X = rng.standard_normal((5, 3)).astype(np.float32)
    h0 = rng.standard_normal(4).astype(np.float32)
    s0 = np.array([1, 2, 3], np.float32)
    xs = np.arange(12, dtype=np.float32).reshape(3, 4)
    xd = np.array([0.5, -1.0], np.float32)
    a0 = np.array([1.0, 2.0], np.float32)

    for kernels in a.kernels.split(","):
        exe = compiled(cx, "if_runtime", if_path, kernels)
        if exe:
            for c in (True, False):
                run_and_check(cx, exe, "if %s %s" % (c, kernels), [("x", x3), ("c", np.array(c))],
                              [x3 * x3 if c else -x3])
        exe = compiled(cx, "rnn_loop", rnn_path, kernels)
        if exe:
            run_and_check(cx, exe, "rnn loop %s" % kernels, [("X", X), ("h0", h0)],
                          list(cf.rnn_reference(X, h0, W, U, bias)), tol=1e-5)
        exe = compiled(cx, "scan_rev", scan_path, kernels)
        if exe:
            run_and_check(cx, exe, "scan %s" % kernels, [("s0", s0), ("x", xs)], list(cf.scan_reference(s0, xs)))
        exe = compiled(cx, "dyn_loop", dyn_path, kernels, ["--max-trip-count", "dyn=4"])
        if exe:
            for M in (0, 1, 3, 4):
                run_and_check(cx, exe, "dyn loop M=%d %s" % (M, kernels),
                              [("M", np.array(M, np.int64)), ("x", xd), ("acc0", a0)], [dyn_reference(M, xd, a0)])
            got, rc, err = run_prog(exe, [("M", np.array(5, np.int64)), ("x", xd), ("acc0", a0)], 1, "dyn_over")
            if got is not None or "node 'dyn' (Loop) failed: the trip count exceeds its bound" not in err \
                    or "--max-trip-count dyn=4" not in err:
                cx.fail("dyn loop M=5 above the bound 4 (%s): exit %d, stderr %r" % (kernels, rc, err))
            else:
                cx.ok()
        check_scan_loop(cx, work, kernels)

    # inspect: If, Loop and Scan compile now (their subgraphs' ops are what counts).
    for path in (if_path, rnn_path, scan_path, dyn_path):
        r = edgecc_run.run(cx.edgecc, ["inspect", path])
        if r.rc != 0 or "every op can be compiled" not in r.out:
            cx.fail("inspect %s: %s, says %r" % (os.path.basename(path), r.describe(), r.out.strip()[-200:]))
        else:
            cx.ok()

    # Names from the graph, not positions (issue 12 in subgraphs): a node inserted at the start of
    # the then branch and a step inserted before the If rename no other function.
    def functions(model, name):
        out = os.path.join(work, name)
        r = compile_model(cx, model, out, "ref")
        if r.rc != 0:
            cx.fail("%s: compile: %s" % (name, r.describe()))
            return set()
        with open(os.path.join(out, "host", name + "_p0.c")) as f:
            return set(re.findall(r"^static int (\w+)\(void \*c\)", f.read(), re.M))

    def named_if(name, extra):
        then_nodes = [helper.make_node("Mul", ["x", "x"], ["t0"], name="square"),
                      helper.make_node("Neg", ["t0"], ["t"], name="flip")]
        if extra:
            then_nodes = [helper.make_node("Abs", ["x"], ["xa"], name="inserted")] + then_nodes
            then_nodes[1] = helper.make_node("Mul", ["xa", "xa"], ["t0"], name="square")
        pre = [helper.make_node("Relu", ["x0"], ["x"], name="pre")] if extra else \
            [helper.make_node("Identity", ["x0"], ["x"], name="pre")]
        g = helper.make_graph(pre + [helper.make_node(
            "If", ["c"], ["y"], name="pick", then_branch=cf.branch("then_g", then_nodes, [cf.vi("t", F, [3])]),
            else_branch=cf.branch("else_g", [helper.make_node("Neg", ["x"], ["e"], name="negate")],
                                  [cf.vi("e", F, [3])]))],
            name, [cf.vi("x0", F, [3]), cf.vi("c", B, [])], [cf.vi("y", F, [3])])
        return cf.save(work, name, g)

    before = functions(named_if("names_a", False), "names_a")
    after = functions(named_if("names_b", True), "names_b")
    want = {"pick", "pick_then_square", "pick_then_flip", "pick_else_negate"}
    if not want <= before or not before - {"pre"} <= after:
        cx.fail("subgraph functions are not named from the graph: before %s, after inserting nodes %s"
                % (sorted(before), sorted(after)))
    else:
        cx.ok()

    # --max-trip-count: missing bound (exit 1, one line naming the node and the flag), bad values
    # (exit 2), a name that is no Loop (exit 2).
    out = os.path.join(work, "dyn_nobound")
    r = compile_model(cx, dyn_path, out, "ref")
    probs = edgecc_run.check_error(r, file=dyn_path, where="node 'dyn' (Loop)",
                                   what=r"the trip count is only known at run time: give its bound with "
                                        r"--max-trip-count dyn=N")
    if r.rc != 1:
        probs.append("exit %s, expected 1" % r.rc)
    if probs:
        cx.fail("missing bound: " + "; ".join(probs))
    else:
        cx.ok()
    for bad, msg in (("dyn", "takes LOOP=N"), ("dyn=-1", "N must be a whole number"),
                     ("dyn=x", "N must be a whole number"), ("=4", "takes LOOP=N"),
                     ("nosuch=4", "has no Loop named 'nosuch' nor one with that output")):
        r = compile_model(cx, dyn_path, out, "ref", ["--max-trip-count", bad])
        lines = [ln for ln in r.err.splitlines() if ln.strip()]
        if r.rc != 2 or len(lines) != 1 or msg not in r.err or "--max-trip-count" not in r.err:
            cx.fail("--max-trip-count %s: exit %s, stderr %r (want exit 2, one line with %r)" % (bad, r.rc, r.err, msg))
        else:
            cx.ok()

    # The bound is in the generated code (its check), so in plan.json's plan_id too, also for a
    # Loop without scan outputs, whose shapes it leaves alone.
    ids = []
    for bound in ("dyn=4", "dyn=5"):
        out = os.path.join(work, "dyn_plan_" + bound.replace("=", "_"))
        r = compile_model(cx, dyn_path, out, "ref", ["--max-trip-count", bound])
        if r.rc != 0:
            ids.append(None)
            continue
        with open(os.path.join(out, "plan.json")) as f:
            ids.append(json.load(f)["plan_id"])
    if None in ids or ids[0] == ids[1]:
        cx.fail("plan_id with --max-trip-count dyn=4 and dyn=5: %s" % ids)
    else:
        cx.ok()

    return finish(cx)


if __name__ == "__main__":
    sys.exit(main())
