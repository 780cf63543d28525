#!/usr/bin/python3
"""input_shape_test.py — `--input-shape NAME=1x576[,NAME=...]`: a model whose input is declared
['?', '?'] (made here with python3-onnx) compiles with --input-shape input=1x576, and its program's
output equals `edgecc eval`'s bit for bit and numpy's relu(x @ W + b) within 1e-5; the error for a
missing pin shows the flag to add with the declared shape; fixed dims, ranks and conflicting pins
(--dim, another --input-shape, --freeze-input) are errors naming the input, the dim and both
values; bad syntax is exit 2 with one line on every command that loads a model; inspect reports
dynamic dims and the flag that pins them (text and --json).

usage: input_shape_test.py EDGECC SRC BUILD WORKDIR"""
import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

edgecc, src, build, work = [os.path.abspath(a) for a in sys.argv[1:5]]
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
failures, checks = [], 0


def check(what, ok, detail=""):
    global checks
    checks += 1
    if not ok:
        failures.append("%s%s" % (what, ": " + detail if detail else ""))


def ec(*args):
    p = subprocess.run([edgecc] + [str(a) for a in args], capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout, p.stderr


def one_error(err):
    lines = [l for l in err.splitlines() if l.strip() and not l.startswith("edgecc: warning: ")]
    return lines[0] if len(lines) == 1 and lines[0].startswith("edgecc: error: ") else None


def expect_error(what, args, rc, *needles):
    r, out, err = ec(*args)
    line = one_error(err)
    check("%s: exit %d" % (what, rc), r == rc, "got %d: %s" % (r, err.strip()))
    check("%s: one error line" % what, line is not None, repr(err))
    for n in needles:
        check("%s: message has %r" % (what, n), line is not None and n in line, repr(err.strip()))
    return line


rng = np.random.default_rng(12)
W = rng.standard_normal((576, 10)).astype(np.float32)
B = rng.standard_normal((10,)).astype(np.float32)


def mlp(path, dims, out_dims=("?", 10)):
    """relu(input @ W + b) with the input declared as `dims` (ints, names, '?' or None)."""
    nodes = [helper.make_node("MatMul", ["input", "w"], ["m"], name="mm"),
             helper.make_node("Add", ["m", "b"], ["a"], name="add"),
             helper.make_node("Relu", ["a"], ["out"], name="relu")]
    g = helper.make_graph(nodes, "dyn", [helper.make_tensor_value_info("input", TensorProto.FLOAT, list(dims))],
                          [helper.make_tensor_value_info("out", TensorProto.FLOAT, list(out_dims))],
                          [numpy_helper.from_array(W, "w"), numpy_helper.from_array(B, "b")])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], ir_version=8), path)
    return path


q = mlp(os.path.join(work, "q.onnx"), ["?", "?"])
m = onnx.load(q)
check("fixture: input declared ['?', '?']",
      [d.dim_param for d in m.graph.input[0].type.tensor_type.shape.dim] == ["?", "?"])

# ---- compile with --input-shape; program == edgecc eval == numpy ---------------------------------
x = rng.standard_normal((1, 576)).astype(np.float32)
xin = os.path.join(work, "x.pb")
with open(xin, "wb") as f:
    f.write(numpy_helper.from_array(x, "input").SerializeToString())
out = os.path.join(work, "out")
r, o, e = ec(q, "--targets", "host", "--kernels", "ref", "-o", out, "--input-shape", "input=1x576")
check("compile --input-shape input=1x576", r == 0, e)
exe = os.path.join(work, "bin", "q_p0")
p = subprocess.run([os.path.join(src, "tests/codegen/build_generated.sh"), os.path.join(out, "host"), build, exe],
                   capture_output=True, text=True)
check("build the program", p.returncode == 0, p.stderr)
got, ref = os.path.join(work, "got.pb"), os.path.join(work, "eval.pb")
p = subprocess.run([exe, "--input", xin, "--output", got], capture_output=True, text=True)
check("run the program", p.returncode == 0, p.stderr)
r, o, e = ec("eval", q, "--input-shape", "input=1x576", "--input", xin, "--output", ref)
check("eval --input-shape input=1x576", r == 0, e)
if not failures:
    a = numpy_helper.to_array(onnx.load_tensor(got))
    b = numpy_helper.to_array(onnx.load_tensor(ref))
    want = np.maximum(x.astype(np.float64) @ W.astype(np.float64) + B, 0)
    check("program output shape", a.shape == (1, 10), str(a.shape))
    check("program == edgecc eval bit for bit", a.tobytes() == b.tobytes(), "max diff %g" % np.abs(a - b).max())
    check("program == numpy within 1e-5 of the largest output",
          np.abs(a - want).max() <= 1e-5 * max(1.0, np.abs(want).max()), "max diff %g" % np.abs(a - want).max())
    print("input [?,?] with --input-shape input=1x576: program == edgecc eval bit for bit, max |diff| to numpy %.3g"
          % np.abs(a - want).max())
# The same compile with a batch of 3: the leading '?' takes the flag's value too.
r, o, e = ec("inspect", q, "--json", "--input-shape", "input=3x576")
j = json.loads(o) if r == 0 else {}
check("inspect --input-shape input=3x576: output [3,10]",
      [t["shape"] for t in j.get("outputs", [])] == [[3, 10]], o + e)

# ---- the error for a missing pin shows the flag, with the declared shape ----------------------------
expect_error("missing pin (compile)", [q, "--targets", "host", "-o", os.path.join(work, "o2")], 1,
             "input 'input' [?,?] (dim 1)", "add --input-shape input=1xN")
expect_error("missing pin (eval)", ["eval", q, "--input", xin], 1, "--input-shape input=1xN")
expect_error("missing pin (plan)", ["plan", q, "--targets", "host"], 1, "--input-shape input=1xN")
named = mlp(os.path.join(work, "named.onnx"), ["batch", "p2o.DynamicDimension.1"])
expect_error("missing pin, named dims", ["plan", named, "--targets", "host"], 1,
             "input 'input' [batch,p2o.DynamicDimension.1] (dim 1)", "--input-shape input=1xN")
r, o, e = ec("plan", named, "--targets", "host", "--input-shape", "input=2x576")
check("p2o.DynamicDimension.N pinned by --input-shape", r == 0, e)
r, o, e = ec("plan", named, "--targets", "host", "--input-shape", "input=2x576", "--dim", "batch=2")
check("--input-shape composes with an agreeing --dim", r == 0, e)

# ---- checked against the declaration --------------------------------------------------------------
fixed = mlp(os.path.join(work, "fixed.onnx"), [None, 576])
expect_error("fixed dim differs", ["inspect", fixed, "--input-shape", "input=1x577"], 1,
             "--input-shape input=1x577", "dim 1 of input 'input'", "fixed at 576", "says 577")
expect_error("rank differs", ["compile", q, "--targets", "host", "-o", os.path.join(work, "o3"),
                              "--input-shape", "input=1x576x1"], 1, "input 'input' has rank 2", "[?,?]", "3 dims")
expect_error("no such input", ["eval", q, "--input-shape", "inputs=1x576", "--input", xin], 1,
             "no graph input 'inputs'", "'input'")

# ---- conflicting pins ------------------------------------------------------------------------------
expect_error("conflict with --dim", ["plan", named, "--targets", "host", "--input-shape", "input=2x576",
                                     "--dim", "batch=3"], 1, "dim 0 of input 'input' is 'batch'", "--dim batch=3",
             "says 2")
two = os.path.join(work, "two.onnx")
g = helper.make_graph([helper.make_node("Add", ["a", "b"], ["y"], name="add")], "two",
                      [helper.make_tensor_value_info("a", TensorProto.FLOAT, ["batch", 4]),
                       helper.make_tensor_value_info("b", TensorProto.FLOAT, ["batch", 4])],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 4])])
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], ir_version=8), two)
expect_error("conflict between two inputs", ["inspect", two, "--input-shape", "a=2x4,b=3x4"], 1,
             "dimension 'batch'", "a=2x4", "b=3x4")
r, o, e = ec("inspect", two, "--json", "--input-shape", "a=3x4")
j = json.loads(o) if r == 0 else {}
check("a named dim pinned by --input-shape on one input pins it in the other",
      [t["shape"] for t in j.get("inputs", [])] == [[3, 4], [3, 4]] and
      [d["pinned_by"] for d in j.get("dynamic_dims", [])] == ["--input-shape", "--input-shape"], o + e)
xpb = os.path.join(work, "frozen.pb")
with open(xpb, "wb") as f:
    f.write(numpy_helper.from_array(np.zeros((1, 576), np.float32), "input").SerializeToString())
expect_error("conflict with --freeze-input", ["inspect", q, "--input-shape", "input=1x576", "--freeze-input",
                                              "input=" + xpb], 1, "also frozen")

# ---- bad syntax: exit 2, one line, on every command that loads a model ------------------------------
for cmd in (["inspect", q], ["eval", q, "--input", xin], ["plan", q, "--targets", "host"],
            [q, "--targets", "host", "-o", os.path.join(work, "o4")]):
    for bad, needle in (("input=1xa", "--input-shape input=1xa"), ("input=", "--input-shape input="),
                        ("=1x2", "NAME=D0xD1"), ("input", "NAME=D0xD1"), ("input=1x2,", "nothing after"),
                        ("input=1x2,input=1x2", "given twice"), ("input=-1x2", "non-negative"),
                        ("input=1x99999999999999999999", "non-negative"), ("input=1x2x3x4x5x6x7x8x9", "more than")):
        expect_error("%s --input-shape %s" % (cmd[0], bad), cmd + ["--input-shape", bad], 2, needle)
    expect_error("%s --input-shape (no value)" % cmd[0], cmd + ["--input-shape"], 2, "--input-shape needs a value")
    r, o, e = ec(*(cmd[:1] + ["--help"] if cmd[0] in ("inspect", "eval", "plan") else ["compile", "--help"]))
    check("%s --help shows --input-shape" % cmd[0], r == 0 and "--input-shape" in o, o)

# ---- inspect reports dynamic dims and the flag ----------------------------------------------------------
r, o, e = ec("inspect", q)
check("inspect of [?,?]: exit 0", r == 0, e)
check("inspect lists the dynamic dims", re.search(r"dynamic +input 'input' declared \[\?,\?\]: dim 0 1 .*dim 1 not "
                                                   r"pinned", o) is not None, o)
check("inspect shows the flag", "pin with: --input-shape input=1xN" in o, o)
r, o, e = ec("inspect", q, "--json")
j = json.loads(o) if r == 0 else {}
check("inspect --json: pin_flag", j.get("pin_flag") == "--input-shape input=1xN", o)
check("inspect --json: dynamic_dims",
      [(d["input"], d["dim"], d["declared"], d["value"], d["pinned_by"]) for d in j.get("dynamic_dims", [])] ==
      [("input", 0, "[?,?]", 1, "default"), ("input", 1, "[?,?]", None, None)], o)
check("inspect --json: the input's shape has null for the unpinned dim",
      [t["shape"] for t in j.get("inputs", [])] == [[1, None]] and j.get("flops") is None, o)
r, o, e = ec("inspect", named, "--json", "--input-shape", "input=1x576")
j = json.loads(o) if r == 0 else {}
check("inspect --json with the flag: pinned, flops known",
      j.get("pin_flag") == "--input-shape input=1x576" and j.get("macs") == 5760 and
      [d["name"] for d in j.get("dynamic_dims", [])] == ["batch", "p2o.DynamicDimension.1"], o + e)
# Costs read what inference parses (a pool's kernel): with a dim left open inspect skips both
# (it crashed in MaxPool's cost before).
pool = os.path.join(work, "pool.onnx")
g = helper.make_graph([helper.make_node("MaxPool", ["x"], ["y"], name="pool", kernel_shape=[2, 2])], "pool",
                      [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["?", 3, "h", 8])],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["?", 3, "h2", 4])])
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], ir_version=8), pool)
for args in ([], ["--json"]):
    r, o, e = ec("inspect", pool, *args)
    check("inspect %s of a MaxPool with an open dim: exit 0" % " ".join(args), r == 0, "exit %d: %s" % (r, e))
    check("inspect %s: the flag" % " ".join(args), "--input-shape x=1x3xNx8" in o, o)
r, o, e = ec("inspect", os.path.join(src, "examples/digits/digits.onnx"), "--json")
j = json.loads(o) if r == 0 else {}
check("a static model has no dynamic dims", j.get("dynamic_dims") == [] and j.get("pin_flag") == "", o)

for f in failures:
    print("FAIL:", f)
print("input-shape: %d checks, %d failed" % (checks, len(failures)))
sys.exit(1 if failures else 0)
