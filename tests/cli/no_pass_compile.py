#!/usr/bin/python3
"""no_pass_compile.py EDGECC WORK — `--no-pass` reaches compile: a graph pass switched off stays
off in the generated code (a BatchNormalization step remains; with const-fold off, a Transpose and
a Mul of initializers remain), a lowering step is accepted with --kernels xnnpack, and an unknown
name is a usage error naming the known ones."""
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

# A weight computed from an initializer (Transpose) and a bias from two (Mul): folded by
# const-fold, run as steps without it.
w0 = numpy_helper.from_array(rng.standard_normal((3, 4, 3, 3)).astype(np.float32), "w0")
s1 = numpy_helper.from_array(rng.standard_normal(4).astype(np.float32), "s1")
s2 = numpy_helper.from_array(rng.standard_normal(4).astype(np.float32), "s2")
nodes = [helper.make_node("Transpose", ["w0"], ["wt"], name="transpose_w", perm=[1, 0, 2, 3]),
         helper.make_node("Mul", ["s1", "s2"], ["b"], name="mul_bias"),
         helper.make_node("Conv", ["x", "wt", "b"], ["y"], name="conv", pads=[1, 1, 1, 1])]
g = helper.make_graph(nodes, "fold", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 8, 8])], [w0, s1, s2])
fold_model = os.path.join(work, "fold.onnx")
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), fold_model)


def compile_(out, *flags, path=None):
    p = subprocess.run([edgecc, path or model, "--targets", "host", "-o", os.path.join(work, out), *flags],
                       capture_output=True, text=True)
    return p


def source(out, stem="convbn"):
    with open(os.path.join(work, out, "host", stem + "_p0.c")) as f:
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
p = compile_("fold", path=fold_model)
if p.returncode != 0 or "'transpose_w'" in source("fold", "fold") or "'mul_bias'" in source("fold", "fold"):
    failures.append("with every pass, the Transpose and Mul of initializers should be folded (exit %d)" % p.returncode)
for kernels in ("ref", "xnnpack"):
    p = compile_("nofold_" + kernels, "--kernels", kernels, "--no-pass", "const-fold", path=fold_model)
    src = source("nofold_" + kernels, "fold") if p.returncode == 0 else ""
    if p.returncode != 0 or "'transpose_w' (Transpose)" not in src or "'mul_bias' (Mul)" not in src:
        failures.append("--no-pass const-fold --kernels %s: the Transpose and Mul should remain as steps "
                        "(exit %d: %s)" % (kernels, p.returncode, p.stderr))
p = compile_("bad", "--no-pass", "no-such-step")
if p.returncode != 2 or "bn-fold" not in p.stderr or "const-fold" not in p.stderr or "nhwc" not in p.stderr:
    failures.append("--no-pass no-such-step: want exit 2 naming the known passes and steps, got %d: %s" % (p.returncode, p.stderr))
for f in failures:
    print("FAILED:", f)
if failures:
    sys.exit(1)
print("--no-pass reaches compile: passes and lowering steps switch off, unknown names refused")
shutil.rmtree(work, ignore_errors=True)
