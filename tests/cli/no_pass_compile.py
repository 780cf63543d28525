#!/usr/bin/python3
"""no_pass_compile.py EDGECC WORK — `--no-pass` reaches compile: a graph pass switched off stays
off in the generated code (a BatchNormalization step remains), a lowering step is accepted with
--kernels xnnpack, and an unknown name is a usage error naming the known ones."""
import os
import shutil
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

edgecc, work = sys.argv[1], sys.argv[2]
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
rng = np.random.default_rng(7)
inits = [numpy_helper.from_array(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), "w")]
for name in ("scale", "bias", "mean"):
    inits.append(numpy_helper.from_array(rng.standard_normal(4).astype(np.float32), name))
inits.append(numpy_helper.from_array((rng.random(4) + 0.5).astype(np.float32), "var"))
nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="conv", pads=[1, 1, 1, 1]),
         helper.make_node("BatchNormalization", ["c", "scale", "bias", "mean", "var"], ["y"], name="bn")]
g = helper.make_graph(nodes, "convbn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 8, 8])], inits)
model = os.path.join(work, "convbn.onnx")
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), model)


def compile_(out, *flags):
    p = subprocess.run([edgecc, model, "--targets", "host", "-o", os.path.join(work, out), *flags],
                       capture_output=True, text=True)
    return p


def source(out):
    with open(os.path.join(work, out, "host", "convbn_p0.c")) as f:
        return f.read()


failures = []
p = compile_("folded")
if p.returncode != 0 or "BatchNormalization" in source("folded"):
    failures.append("with every pass, the BatchNormalization should be folded away (exit %d)" % p.returncode)
p = compile_("kept", "--no-pass", "bn-fold")
if p.returncode != 0 or "BatchNormalization" not in source("kept"):
    failures.append("--no-pass bn-fold: the BatchNormalization step should remain (exit %d: %s)" % (p.returncode, p.stderr))
p = compile_("fast", "--kernels", "xnnpack", "--no-pass", "nhwc", "--no-pass", "fuse-act")
if p.returncode != 0:
    failures.append("--no-pass nhwc with --kernels xnnpack: exit %d: %s" % (p.returncode, p.stderr))
p = compile_("bad", "--no-pass", "no-such-step")
if p.returncode != 2 or "bn-fold" not in p.stderr or "nhwc" not in p.stderr:
    failures.append("--no-pass no-such-step: want exit 2 naming the known passes and steps, got %d: %s" % (p.returncode, p.stderr))
for f in failures:
    print("FAILED:", f)
if failures:
    sys.exit(1)
print("--no-pass reaches compile: passes and lowering steps switch off, unknown names refused")
shutil.rmtree(work, ignore_errors=True)
