#!/usr/bin/python3
"""qdq_ort.py — QDQ models (make_qdq.py) compiled by edgecc with the fast kernels against ONNX
Runtime (npm onnxruntime-node, installed into WORK/ort with ONNXRUNTIME_NODE_INSTALL=skip when
missing; the test fails when it cannot be installed).

- Every Conv and MatMul between DequantizeLinear and QuantizeLinear must have become an int8
  layer (the qdq pass) running on an XNNPACK int8 operator: no float Conv or MatMul step is left,
  and each QLinearConv/QLinearMatMul step's kernel is XNNPACK.
- Single layers (int8 in, int8 out): within 1 LSB of ONNX Runtime's optimised (fused int8)
  session.
- The CNN (float in, float out): same top-1 as ORT's fused session, and a largest difference
  from it within 1.5x the difference between ORT's own fused and unoptimised (QDQ simulated in
  float) sessions, or within one step of the output's quantization, whichever is larger.

usage: qdq_ort.py --edgecc PATH --build-dir BUILD --work DIR"""
import argparse
import glob
import json
import re
import os
import shutil
import subprocess
import sys

import numpy as np
import onnx
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "diff"))
import diff  # noqa: E402  (kernels_of: which kernel each generated step runs on)
sys.path.insert(0, os.path.join(REPO, "tests"))
import ort_install  # noqa: E402

failures = []


def check(ok, what):
    print(("ok:   " if ok else "FAIL: ") + what)
    if not ok:
        failures.append(what)


def run(argv, **kw):
    p = subprocess.run(argv, capture_output=True, text=True, timeout=600, **kw)
    if p.returncode != 0:
        raise SystemExit("%s failed (%d): %s%s" % (" ".join(argv[:3]), p.returncode, p.stderr[-2000:], p.stdout[-500:]))
    return p.stdout


def ensure_ort(work):
    return ort_install.ensure_ort(os.path.join(work, "ort"))


def load_pb(path):
    t = onnx.TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return numpy_helper.to_array(t)


def ort_run(ortdir, model, x, level, prefix):
    bin_in = prefix + "in.bin"
    x.tofile(bin_in)
    m = onnx.load(model)
    name = m.graph.input[0].name
    out = run(["node", os.path.join(HERE, "ort_run.js"), ortdir, model, level, name,
               {np.float32: "float32", np.uint8: "uint8", np.int8: "int8"}[x.dtype.type],
               ",".join(str(d) for d in x.shape), bin_in, prefix])
    info = json.loads(out.strip().splitlines()[-1])
    dts = {"float32": np.float32, "uint8": np.uint8, "int8": np.int8}
    return [np.fromfile(prefix + "%d.bin" % k, dts[o["type"]]).reshape(o["dims"]) for k, o in enumerate(info)]


def edgecc_run(args, model, inp, d, kernels="xnnpack", out_name="out", prog="prog"):
    out = os.path.join(d, out_name)
    shutil.rmtree(out, ignore_errors=True)
    run([args.edgecc, "compile", model, "--targets", "host", "--kernels", kernels, "-o", out])
    exe = os.path.join(d, prog)
    run(["sh", os.path.join(REPO, "tests", "codegen", "build_generated.sh"), os.path.join(out, "host"),
         args.build_dir, exe], env=dict(os.environ, CFLAGS="-O1"))
    res = os.path.join(d, "y.pb")
    run([exe, "--input", inp, "--output", res, "--threads", "1"])
    return load_pb(res), diff.kernels_of(out), steps_of(out)


NODE_RE = re.compile(r"^/\* node '([^']*)' \((\w+)\)")
KIND_RE = re.compile(r"^\s*\.kind = ECK_(?:XNN|DNNL)_([A-Z0-9_]+)")


def steps_of(folder):
    """Node name -> op of each generated step (the node comment heading it); an XNNPACK step's
    op is followed by its operator kind ("MaxPool/MAXPOOL8")."""
    ops = {}
    for f in glob.glob(os.path.join(folder, "host", "*_p0.c")):
        with open(f) as fh:
            node = None
            for line in fh:
                m = NODE_RE.match(line)
                if m:
                    node = m.group(1)
                    ops[node] = m.group(2)
                k = KIND_RE.match(line)
                if k and node and "/" not in ops[node]:
                    ops[node] += "/" + k.group(1)
    return ops


def ran_int8(name, model, labels, ops, library="XNNPACK"):
    """Every Conv/MatMul of the model ran as an int8 layer on XNNPACK (a model named *_float:
    none did); with library "oneDNN", its Convs and MatMuls on oneDNN's int8 kernels, the other
    int8 layers (MaxPool, Add) on XNNPACK."""
    g = onnx.load(model).graph
    dq = {o for n in g.node if n.op_type == "DequantizeLinear" for o in n.output}
    layers = [n.name for n in g.node if n.op_type in ("Conv", "MatMul", "MaxPool") or
              (n.op_type == "Add" and all(i in dq for i in n.input))]
    ops = {k: v.split("/")[0] + ("8" if v.endswith("/MAXPOOL8") else "") for k, v in ops.items()}
    # the qdq pass keeps the Conv's or MatMul's node name on the int8 layer it makes
    if name.endswith("_float"):
        bad = [n for n in layers if ops.get(n) not in ("Conv", "MatMul", "MaxPool", "Add")]
        check(not bad, "%s: %d layers stay float (not: %s)" % (name, len(layers), bad))
        return
    def lib(n):
        return library if ops.get(n) in ("QLinearConv", "QLinearMatMul") else "XNNPACK"
    bad = [n for n in layers if labels.get(n) != lib(n) or ops.get(n) not in ("QLinearConv", "QLinearMatMul",
                                                                              "MaxPool8", "QLinearAdd")]
    check(not bad, "%s: %d layers run as int8 on %s (not: %s)" % (name, len(layers),
                                                                 "XNNPACK" if library == "XNNPACK" else
                                                                 "oneDNN (convolutions, matmuls) and XNNPACK", bad))


def verdict():
    """The exit status of a run of checks, and its last line."""
    if failures:
        print("%d checks failed" % len(failures))
        return 1
    print("all checks passed")
    return 0


def parse_args():
    """--edgecc, --build-dir, --work (absolute paths), for this test and qdq_resnet50.py (and
    --kernels, its alone)."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--edgecc", required=True)
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--kernels", default="xnnpack",
                    help="qdq_resnet50.py: the fast kernel families compiled with, comma-separated "
                    "(xnnpack, onednn; default xnnpack)")
    args = ap.parse_args()
    args.edgecc = os.path.abspath(args.edgecc)
    args.build_dir = os.path.abspath(args.build_dir)
    args.work = os.path.abspath(args.work)
    return args


def main():
    args = parse_args()
    work = args.work
    models = os.path.join(work, "models")
    shutil.rmtree(models, ignore_errors=True)
    run([sys.executable, os.path.join(HERE, "make_qdq.py"), models])
    ortdir = ensure_ort(work)
    for model in sorted(glob.glob(os.path.join(models, "*.onnx"))):
        name = os.path.basename(model)[:-5]
        d = os.path.join(work, name)
        os.makedirs(d, exist_ok=True)
        inp = os.path.join(models, name + "_input_0.pb")
        x = load_pb(inp)
        got, labels, ops = edgecc_run(args, model, inp, d)
        ran_int8(name, model, labels, ops)
        fused = ort_run(ortdir, model, x, "all", os.path.join(d, "ort_all_"))[0]
        check(got.dtype == fused.dtype and got.shape == fused.shape,
              "%s: output %s %s, ORT's %s %s" % (name, got.dtype, list(got.shape), fused.dtype, list(fused.shape)))
        if got.shape != fused.shape:
            continue
        err = float(np.max(np.abs(got.astype(np.float64) - fused.astype(np.float64))))
        if name.startswith("layer_"):
            check(err <= 1, "%s: within 1 LSB of ORT (largest difference %g)" % (name, err))
            continue
        plain = ort_run(ortdir, model, x, "disabled", os.path.join(d, "ort_plain_"))[0]
        own = float(np.max(np.abs(plain.astype(np.float64) - fused.astype(np.float64))))
        # one step of the output's quantization: the scale of the DequantizeLinear before the bias
        g = onnx.load(model).graph
        consts = {t.name: numpy_helper.to_array(t) for t in g.initializer}
        dq = [n for n in g.node if n.op_type == "DequantizeLinear"][-1]
        lsb = float(consts[dq.input[1]])
        bound = 1.5 * max(own, lsb)
        check(err <= bound, "%s: largest difference from ORT's fused session %.4g <= %.4g (1.5x max(ORT fused "
              "vs unoptimised %.4g, 1 LSB %.4g)); largest output %.3g" % (name, err, bound, own, lsb,
                                                                        float(np.max(np.abs(fused)))))
        check(int(np.argmax(got)) == int(np.argmax(fused)), "%s: same top-1 as ORT (%d, %d)" %
              (name, int(np.argmax(got)), int(np.argmax(fused))))
    return verdict()


if __name__ == "__main__":
    sys.exit(main())
