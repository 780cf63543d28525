#!/usr/bin/python3
"""The int8 digits program against numpy's emulation of docs/quantization.md's int8 graph.

Compiles examples/digits with `--calib examples/digits/calib --calib-max 300` (every candidate
int8, minmax ranges) for the fast and the reference kernels, and runs 40 test images through
each program. numpy computes, from the ONNX file alone: the fp32 forward pass of the calibration
images (Conv, Relu, MaxPool, Gemm), each tensor's min and max, the int8 parameters as the page
defines them (activations per tensor asymmetric; Conv weights symmetric with one scale per output
channel, Gemm's per tensor; int32 biases in units of x_scale * w_scale of their channel), and
then the int8 graph the page describes: QuantizeLinear -> QLinearConv (Relu fused) ->
DequantizeLinear -> MaxPool -> QuantizeLinear -> QLinearConv -> DequantizeLinear -> MaxPool ->
QuantizeLinear -> QLinearMatMul (the product's range widened by the bias) -> DequantizeLinear ->
+ bias. The programs' logits must equal the emulation within 1 step of the product's scale
(measured: equal, 0 steps, with both kernel sets).
"""

import argparse
import os
import shutil
import subprocess
import sys

import numpy as np
import onnx
from onnx import numpy_helper

N_TEST = 40
TOL_STEPS = 1


def fail(msg):
    sys.exit("FAILED: " + msg)


def run(cmd):
    res = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if res.returncode != 0:
        fail("%s exited %d:\n%s" % (" ".join(cmd), res.returncode, res.stdout[-3000:]))
    return res.stdout


def conv(x, w, b):
    """x [C,H,W], w [M,C,3,3], pad 1, stride 1 (the digits model's convolutions)."""
    c, h, wd = x.shape
    xp = np.pad(x, ((0, 0), (1, 1), (1, 1)))
    out = np.zeros((w.shape[0], h, wd), dtype=np.float64)
    for i in range(3):
        for j in range(3):
            out += np.einsum("mc,chw->mhw", w[:, :, i, j], xp[:, i:i + h, j:j + wd])
    return out + b[:, None, None]


def pool(x):
    c, h, w = x.shape
    return x.reshape(c, h // 2, 2, w // 2, 2).max(axis=(2, 4))


def qparams(lo, hi):
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    if lo == 0 and hi == 0:
        return 1.0, 0
    s = float(np.float32((hi - lo) / 255.0))
    return s, int(np.clip(np.round(-128 - lo / s), -128, 127))


def quant(x, s, z):
    return np.clip(np.round(x / s) + z, -128, 127)


def wquant(w):
    m = float(np.abs(w).max())
    s = float(np.float32(m / 127.0)) if m > 0 else 1.0
    return np.clip(np.round(w / s), -127, 127), s


def wquant_channels(w):
    """Per output channel (axis 0), as --calib quantizes Conv weights for XNNPACK's qc8: the
    scales as a vector broadcast over the channel axis of a [M, ...] weight."""
    m = np.abs(w.reshape(w.shape[0], -1)).max(axis=1)
    s = np.array([float(np.float32(v / 127.0)) if v > 0 else 1.0 for v in m])
    return np.clip(np.round(w / s.reshape((-1,) + (1,) * (w.ndim - 1))), -127, 127), s


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--edgecc", required=True)
    ap.add_argument("--src", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    ex = os.path.join(args.src, "examples", "digits")
    model = os.path.join(ex, "digits.onnx")
    calib = os.path.join(ex, "calib")
    if not os.path.isdir(calib):
        fail(calib + " missing")
    init = {t.name: numpy_helper.to_array(t).astype(np.float64) for t in onnx.load(model).graph.initializer}
    convs = [n for n in onnx.load(model).graph.node if n.op_type == "Conv"]
    gemm = [n for n in onnx.load(model).graph.node if n.op_type == "Gemm"][0]
    (w1, b1), (w2, b2) = [(init[n.input[1]], init[n.input[2]]) for n in convs]
    wf, bf = init[gemm.input[1]], init[gemm.input[2]]  # transB = 1: [10, 128]

    def fp32(x):
        t = {"in": x}
        t["c1"] = conv(x, w1, b1)
        t["r1"] = np.maximum(t["c1"], 0)
        t["p1"] = pool(t["r1"])
        t["c2"] = conv(t["p1"], w2, b2)
        t["r2"] = np.maximum(t["c2"], 0)
        t["p2"] = pool(t["r2"]).reshape(-1)
        t["y"] = wf @ t["p2"] + bf
        return t

    files = sorted(f for f in os.listdir(calib) if f.endswith(".pb"))[:300]
    lo, hi = {}, {}
    for f in files:
        x = numpy_helper.to_array(onnx.load_tensor(os.path.join(calib, f))).astype(np.float64)[0]
        for k, v in fp32(np.float32(x).astype(np.float64)).items():
            lo[k] = min(lo.get(k, np.inf), float(np.float32(v.min())))
            hi[k] = max(hi.get(k, -np.inf), float(np.float32(v.max())))
    qp = {k: qparams(lo[k], hi[k]) for k in ("in", "r1", "p1", "r2", "p2")}
    qp["prod"] = qparams(lo["y"] - float(bf.max()), hi["y"] - float(bf.min()))
    q1, s1 = wquant_channels(w1)
    q2, s2 = wquant_channels(w2)
    qf, sf = wquant(wf)

    def qconv(xq, xs, xz, wq, ws, b, ys, yz):
        acc = conv(xq - xz, wq, np.round(b / (xs * ws)))
        return np.clip(np.round(acc * (xs * ws / ys)[:, None, None]) + yz, -128, 127)

    def int8(x):
        s, z = qp["in"]
        a = qconv(quant(x, s, z), s, z, q1, s1, b1, *qp["r1"])
        a = pool((a - qp["r1"][1]) * qp["r1"][0])
        s, z = qp["p1"]
        a = qconv(quant(a, s, z), s, z, q2, s2, b2, *qp["r2"])
        a = pool((a - qp["r2"][1]) * qp["r2"][0]).reshape(-1)
        s, z = qp["p2"]
        a = quant(a, s, z)
        ps, pz = qp["prod"]
        acc = qf @ (a - z)
        p = np.clip(np.round(acc * (s * sf / ps)) + pz, -128, 127)
        return (p - pz) * ps + bf

    sys.path.insert(0, ex)
    from train import load_split
    _, x_test, _, _ = load_split()
    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(args.work)
    for kernels in ("xnnpack", "ref"):
        out = os.path.join(args.work, kernels)
        run([args.edgecc, model, "--targets", "host", "--kernels", kernels, "-o", out, "--calib", calib,
             "--calib-max", "300"])
        build = os.path.join(args.work, "build-" + kernels)
        run(["cmake", "-S", os.path.join(out, "host"), "-B", build, "-G", "Ninja", "-DCMAKE_BUILD_TYPE=Release"])
        run(["cmake", "--build", build])
        worst = 0.0
        for k in range(N_TEST):
            inp, res = os.path.join(args.work, "in.pb"), os.path.join(args.work, "out.pb")
            with open(inp, "wb") as f:
                f.write(numpy_helper.from_array(x_test[k:k + 1], "input").SerializeToString())
            run([os.path.join(build, "digits_p0"), "--input", inp, "--output", res])
            got = numpy_helper.to_array(onnx.load_tensor(res)).reshape(-1).astype(np.float64)
            want = int8(x_test[k].astype(np.float64))
            worst = max(worst, float(np.abs(got - want).max()) / qp["prod"][0])
        print("%s: %d test images, largest difference from numpy's int8 emulation %.2f steps of the "
              "product's scale (tolerance %d)" % (kernels, N_TEST, worst, TOL_STEPS))
        if worst > TOL_STEPS:
            fail("%s kernels: the int8 program differs from the emulation by %.2f steps" % (kernels, worst))
    shutil.rmtree(args.work, ignore_errors=True)


if __name__ == "__main__":
    main()
