#!/usr/bin/python3
"""dot_test.py — plan.dot renders: `dot -Tsvg` of a compile's plan.dot draws every node's and cut
tensor's real name (names with quotes, backslashes, `&`, `<`, a line break and non-ASCII letters,
and the digits example's), and `edgecc plan --svg FILE` writes the same picture, or says how to get
Graphviz when `dot` is not on PATH (exit 1, one line).

usage: dot_test.py EDGECC DIGITS.onnx WORKDIR"""
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

edgecc, digits, work = sys.argv[1:4]
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
failures = []


def run(cmd, rc=0, env=None):
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode != rc:
        raise SystemExit("FAILED: %s: exit %d, expected %d\n%s%s" % (" ".join(cmd), p.returncode, rc, p.stdout,
                                                                   p.stderr))
    return p


def svg_lines(svg_path):
    """The text lines Graphviz drew, in document order."""
    ns = "{http://www.w3.org/2000/svg}"
    return [t.text or "" for t in ET.parse(svg_path).getroot().iter(ns + "text")]


def check(label, ok):
    if not ok:
        failures.append(label)


DOT = shutil.which("dot")
if not DOT:
    raise SystemExit("FAILED: Graphviz's dot is not installed (apt-get install graphviz): the test needs it")

# A chain whose names hold everything a DOT or JSON escape could mangle.
names = ['conv "one"', "back\\slash\\N", "amp&amp; <lt>", "two\nlines", "gr\u00fc\u00dfe/\u03b1"]
tensors = ["t \"q\"", "t\\back", "t&amp;<x>", "t\nnl", "y"]
w = numpy_helper.from_array(np.eye(4, dtype=np.float32), "w")
nodes, prev = [], "x"
for i, (n, t) in enumerate(zip(names, tensors)):
    op = ("MatMul", "Relu", "Sigmoid", "Tanh", "Relu")[i]
    nodes.append(helper.make_node(op, [prev, "w"] if op == "MatMul" else [prev], [t], name=n))
    prev = t
g = helper.make_graph(nodes, "names", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])], [w])
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
m.ir_version = 8
model = os.path.join(work, "names.onnx")
onnx.save(m, model)

for what, path, args, want_nodes, want_edges in (
        ("names", model, ["--split-at", tensors[1]], names, [tensors[1]]),
        ("digits", digits, ["--split-at", "/pool_1/MaxPool_output_0"], ["/conv1/Conv", "/fc/Gemm"],
         ["/pool_1/MaxPool_output_0"])):
    out = os.path.join(work, "out-" + what)
    run([edgecc, path, "--targets", "a=host,b=host", "--kernels", "ref", "-o", out] + args)
    svg = os.path.join(work, what + ".svg")
    run([DOT, "-Tsvg", os.path.join(out, "plan.dot"), "-o", svg])
    lines = svg_lines(svg)
    text = "\n".join(lines)
    for n in want_nodes:
        # A node's label is its name, then its op: each line of the name is one <text>.
        for part in n.split("\n"):
            check("%s: node name %r drawn (got %r)" % (what, part, lines), part in lines)
    for t in want_edges:
        check("%s: cut tensor %r drawn" % (what, t), any(l.startswith(t + " (") for l in lines))
    check("%s: no JSON escape drawn" % what, "u000a" not in text)
    check("%s: partition labels" % what, "p0 on a (host)" in " ".join(lines) and "p1 on b (host)" in " ".join(lines))

    # edgecc plan --svg draws the same labels.
    psvg = os.path.join(work, what + "-plan.svg")
    run([edgecc, "plan", path, "--targets", "a=host,b=host", "--kernels", "ref", "--svg", psvg] + args)
    plines = svg_lines(psvg)
    for n in want_nodes:
        for part in n.split("\n"):
            check("%s: plan --svg draws %r" % (what, part), part in plines)

# Without dot on PATH: exit 1, one line naming the package, and no file.
empty = os.path.join(work, "empty-path")
os.makedirs(empty)
nosvg = os.path.join(work, "none.svg")
p = run([os.path.abspath(edgecc), "plan", digits, "--targets", "host", "--svg", nosvg], rc=1,
        env=dict(os.environ, PATH=empty))
err = [l for l in p.stderr.splitlines() if l.strip()]
check("no dot: one line naming graphviz (got %r)" % p.stderr,
      len(err) == 1 and err[0].startswith("edgecc: error: ") and "apt-get install graphviz" in err[0])
check("no dot: no file written", not os.path.exists(nosvg))
# --svg is edgecc plan's: compile refuses it as a usage error.
run([edgecc, digits, "--targets", "host", "-o", os.path.join(work, "x"), "--svg", nosvg], rc=2)
run([edgecc, "plan", digits, "--targets", "host", "--svg"], rc=2)

for f in failures:
    print("FAIL:", f)
if failures:
    sys.exit(1)
print("plan.dot renders with the real names")
