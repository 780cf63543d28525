#!/usr/bin/python3
"""make_qdq_resnet50.py — a per-channel QDQ ResNet-50 as ONNX Runtime's static quantizer writes it
(QuantizeLinear -> DequantizeLinear after every quantized activation, DequantizeLinear on the
weights), from torchvision's resnet50 seeded as the zoo's (tests/models/export_zoo.py).

- Calibration (minmax, as ORT's MinMax calibrator): the float model with every node output made a
  graph output runs on CALIB seeded random inputs in ONNX Runtime (npm onnxruntime-node, the
  folder given); the ranges are taken in numpy.
- Activations: int8, asymmetric, per tensor (S8S8, ORT's recommended QDQ setting; XNNPACK's
  per-channel qc8 convolution needs int8 data): scale = (max - min) / 255 over a range widened to
  hold 0, zero point round(-128 - min / scale). Quantized: the graph input, the output of every
  Relu and of every Conv and Add not followed by a Relu (Conv+Relu and Add+Relu quantize after
  the Relu, as ORT fuses them), MaxPool's output with its input's parameters.
- Weights: int8, symmetric, per output channel (axis 0): scale = max |w_c| / 127 (make_qdq.py's
  weight_q), zero point 0;
  biases int32 of scale x_scale * w_scale_c.
- Left float, as here decided: the head (GlobalAveragePool, Flatten, Gemm) after the last DequantizeLinear.
- The same model in any environment: OpenBLAS's kernel is pinned (pin_openblas).

--model resnet18 and mobilenet_v2 (the zoo's) and --model fashion (examples/fashion, calibrated on the first 4
images of its calibration set instead of random inputs) are written the same way for bench/int8;
a Clip (ReLU6) is quantized after, as a Relu.

usage: make_qdq_resnet50.py --ort ORT_DIR [--model resnet50|resnet18|mobilenet_v2|fashion] OUT_DIR
writes OUT_DIR/MODEL_qdq.onnx, MODEL_qdq_input_0.pb (the zoo's seeded input, or the example's first
sample), MODEL_float.onnx"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import warnings


def pin_openblas():
    """The made model must not depend on the environment. export_zoo sets the BatchNorm statistics
    with a forward pass whose convolutions run on OpenBLAS's GEMM, and OpenBLAS picks its kernel
    from OPENBLAS_CORETYPE or else from the CPU: kernels sum in different orders, so 101 of the
    float model's 108 initializers moved by an ulp or so (session 8: this host's CI environment sets
    Haswell, an empty one let OpenBLAS choose), and the calibration ranges with them. On an x86-64
    CPU with AVX2 and FMA (what the Haswell kernel needs) the kernel is pinned to Haswell, before
    numpy or torch load OpenBLAS; elsewhere OpenBLAS's choice stands (the model may then differ
    slightly: qdq_resnet50.py's checks do not depend on which)."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((ln.split(":", 1)[1].split() for ln in f if ln.startswith("flags")), [])
    except OSError:
        flags = []
    if "avx2" in flags and "fma" in flags:
        os.environ["OPENBLAS_CORETYPE"] = "Haswell"


pin_openblas()
import numpy as np  # noqa: E402  (after pin_openblas)
import onnx  # noqa: E402
import torch  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "models"))
sys.path.insert(0, HERE)
import export_zoo  # noqa: E402  (the zoo's seeded models)
import make_qdq  # noqa: E402  (weight_q: ORT's symmetric int8 weights)

CALIB = 4            # calibration inputs
SEED_CALIB = 50      # their generator's seed (export_zoo's seeds are 0-4)


def ort_outputs(ortdir, model, x, prefix):
    """Every output of `model` on input x, by ONNX Runtime (tests/quant/ort_run.js)."""
    x.tofile(prefix + "in.bin")
    out = subprocess.run(["node", os.path.join(HERE, "ort_run.js"), ortdir, model, "disabled", "input", "float32",
                          ",".join(map(str, x.shape)), prefix + "in.bin", prefix],
                         capture_output=True, text=True, check=True).stdout
    info = json.loads(out.strip().splitlines()[-1])
    return {o["name"]: np.fromfile(prefix + "%d.bin" % k, np.float32) for k, o in enumerate(info)}


def calibrate(ortdir, model, work, inputs):
    """{tensor: (min, max)} over the inputs, every node output of the float model."""
    m = onnx.load(model)
    outs = {o.name for o in m.graph.output}
    names = [o for n in m.graph.node for o in n.output if o not in outs]
    for o in names:
        m.graph.output.append(helper.make_tensor_value_info(o, TensorProto.FLOAT, None))
    aug = os.path.join(work, "calib_all_outputs.onnx")
    onnx.save(m, aug)
    ranges = {}
    for x in inputs:
        outs = ort_outputs(ortdir, aug, x, os.path.join(work, "calib_"))
        outs["input"] = x.ravel()
        for name, v in outs.items():
            lo, hi = float(v.min()), float(v.max())
            if name in ranges:
                lo, hi = min(lo, ranges[name][0]), max(hi, ranges[name][1])
            ranges[name] = (lo, hi)
    for f in os.listdir(work):
        if f.startswith("calib_"):
            os.remove(os.path.join(work, f))
    return ranges


def act_params(lo, hi):
    """int8 asymmetric per-tensor parameters of a range, as ORT's MinMax calibration gives them."""
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    scale = np.float32((hi - lo) / 255.0 if hi > lo else 1.0)
    zp = int(np.clip(round(-128 - lo / float(scale)), -128, 127))
    return scale, np.int8(zp)


def quantize(float_model, ranges):
    m = onnx.load(float_model)
    g = m.graph
    inits = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    readers = {}
    for n in g.node:
        for i in n.input:
            readers.setdefault(i, []).append(n)
    new_inits, nodes = [], []

    def const(name, arr):
        new_inits.append(numpy_helper.from_array(np.asarray(arr), name))
        return name

    # which activations get a Q -> DQ pair, and their parameters
    params = {"input": act_params(*ranges["input"])}
    for n in g.node:
        y = n.output[0]
        nxt = readers.get(y, [])
        act = ("Relu", "Clip")
        if n.op_type in act or (n.op_type in ("Conv", "Add") and not (len(nxt) == 1 and nxt[0].op_type in act)):
            params[y] = act_params(*ranges[y])
    for n in g.node:  # MaxPool keeps its input's parameters (a maximum needs no rescaling)
        if n.op_type == "MaxPool" and n.input[0] in params:
            params[n.output[0]] = params[n.input[0]]
    dq_name = {}

    def dq_channels(t, q, s):
        """The constant q (scales s per output channel, zero points 0) dequantized in t's place."""
        const(t + "_quantized", q)
        const(t + "_scale", s)
        const(t + "_zero_point", np.zeros(len(s), q.dtype))
        nodes.append(helper.make_node("DequantizeLinear", [t + "_quantized", t + "_scale", t + "_zero_point"],
                                      [t + "_dequantized"], name=t + "_DequantizeLinear", axis=0))
        return t + "_dequantized"

    def qdq(t):
        """Q -> DQ after activation t; readers then read the DequantizeLinear's output."""
        s, z = params[t]
        sn, zn = const(t + "_scale", s), const(t + "_zero_point", z)
        nodes.append(helper.make_node("QuantizeLinear", [t, sn, zn], [t + "_quantized"], name=t + "_QuantizeLinear"))
        nodes.append(helper.make_node("DequantizeLinear", [t + "_quantized", sn, zn], [t + "_dequantized"],
                                      name=t + "_DequantizeLinear"))
        dq_name[t] = t + "_dequantized"

    if "input" in params:
        qdq("input")
    for n in g.node:
        ins = [dq_name.get(i, i) for i in n.input]
        if n.op_type == "Conv" and n.input[0] in params:
            wq, ws = make_qdq.weight_q(inits[n.input[1]], per_channel=True)
            ins[1] = dq_channels(n.input[1], wq, ws)
            if len(n.input) > 2:
                bs = (params[n.input[0]][0] * ws).astype(np.float32)
                ins[2] = dq_channels(n.input[2], np.round(inits[n.input[2]] / bs).astype(np.int32), bs)
        nodes.append(helper.make_node(n.op_type, ins, list(n.output), name=n.name, **{
            a.name: helper.get_attribute_value(a) for a in n.attribute}))
        if n.output[0] in params:
            qdq(n.output[0])
    used = {i for n in nodes for i in n.input}
    kept = [t for t in g.initializer if t.name in used]
    graph = helper.make_graph(nodes, "resnet50_qdq", list(g.input), list(g.output), kept + new_inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="make_qdq_resnet50")
    onnx.checker.check_model(model)
    return model


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ort", required=True, help="folder whose node_modules holds onnxruntime-node")
    ap.add_argument("--model", default="resnet50", choices=["resnet50", "resnet18", "mobilenet_v2", "fashion"])
    ap.add_argument("out")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    name = args.model
    fl = os.path.join(args.out, name + "_float.onnx")
    if name == "fashion":
        ex = os.path.join(REPO, "examples", "fashion")
        shutil.copyfile(os.path.join(ex, "fashion.onnx"), fl)
        shutil.copyfile(os.path.join(ex, "samples", "input_0.pb"), os.path.join(args.out, name + "_qdq_input_0.pb"))
        inputs = [numpy_helper.to_array(onnx.load_tensor(os.path.join(ex, "calib", "input_%03d.pb" % k)))
                  for k in range(CALIB)]
    else:
        path, _ = export_zoo.export(name, args.out)
        os.replace(path, fl)
        os.replace(os.path.join(args.out, name + "_input_0.pb"), os.path.join(args.out, name + "_qdq_input_0.pb"))
        os.remove(os.path.join(args.out, name + "_output_0.pb"))
        side = export_zoo.MODELS[name][1]
        gen = torch.Generator().manual_seed(SEED_CALIB)
        inputs = [torch.randn(1, 3, side, side, generator=gen).numpy() for _ in range(CALIB)]
    ranges = calibrate(args.ort, fl, args.out, inputs)
    model = quantize(fl, ranges)
    onnx.save(model, os.path.join(args.out, name + "_qdq.onnx"))
    ops = {}
    for n in model.graph.node:
        ops[n.op_type] = ops.get(n.op_type, 0) + 1
    print("%s_qdq.onnx: %s" % (name, ", ".join("%s %d" % kv for kv in sorted(ops.items()))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
