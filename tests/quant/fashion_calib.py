#!/usr/bin/python3
"""fashion_calib.py — `edgecc calibrate` on examples/fashion against calib_ref.py (numpy, written
from docs/quantization.md), for minmax, percentile and entropy, on activations edgecc did not
compute:

1. torch: the network of examples/fashion/train.py (its FashionNet module), with every
   convolution and the Linear layer loaded from fashion.onnx's initializers (the exporter folded
   BatchNorm into the convolutions, so the BatchNorm modules become identities and the convolutions
   take the folded biases), run by torch; each intermediate tensor is recorded by a torch.fx
   interpreter and matched to its ONNX tensor (the k-th Conv, Relu, Add... of each). Kernels,
   summation order and rounding are torch's, so values differ from edgecc's in the last bits: the
   check is within tolerances stated below, in histogram bins.
2. `edgecc eval` (the reference kernels alone, no calibration code) on a copy of the model whose
   intermediate tensors are graph outputs: the same float32 values edgecc calibrate sees, so the
   numpy reimplementation must agree with it bit for bit — min, max, threshold, lo, hi, scale,
   zero point — which checks the histogram and threshold arithmetic exactly.

Weights' per-channel scales are checked exactly against the ONNX initializers, and the set's
SHA-256 against hashlib. Also: torch's logits equal the ONNX model's (edgecc eval) within 1e-4,
which checks that the module really is the model.

usage: fashion_calib.py --edgecc PATH --root REPO --work DIR"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper, shape_inference

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import calib_ref  # noqa: E402

N_SAMPLES = 64
failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
        print("FAIL:", what)


def calibrate(edgecc, model, calib, method, out):
    r = subprocess.run([edgecc, "calibrate", model, "--calib", calib, "--calib-method", method,
                        "-o", out], capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        raise SystemExit("edgecc calibrate --calib-method %s failed (%d): %s" % (method, r.returncode, r.stderr))
    with open(out) as f:
        return json.load(f)


def load_pb(path):
    t = onnx.TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return numpy_helper.to_array(t)


def eval_activations(edgecc, model_path, files, work):
    """Every float tensor of the model for each sample, by edgecc eval on a copy whose node
    outputs are all graph outputs."""
    m = shape_inference.infer_shapes(onnx.load(model_path))
    known = {vi.name: vi for vi in list(m.graph.value_info) + list(m.graph.output)}
    names = [o for n in m.graph.node for o in n.output]
    outs = [o.name for o in m.graph.output]
    for name in names:
        if name not in outs:
            m.graph.output.append(known[name])
            outs.append(name)
    copy = os.path.join(work, "all_outputs.onnx")
    onnx.save(m, copy)
    acts = {n: [] for n in outs}
    acts["input"] = []
    for k, f in enumerate(files):
        paths = [os.path.join(work, "out_%d.pb" % i) for i in range(len(outs))]
        cmd = [edgecc, "eval", copy, "--input", f]
        for p in paths:
            cmd += ["--output", p]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            raise SystemExit("edgecc eval failed on %s: %s" % (f, r.stderr))
        for name, p in zip(outs, paths):
            acts[name].append(load_pb(p))
        acts["input"].append(load_pb(f))
    return acts


def fashion_net(root, m):
    """train.py's FashionNet holding the weights of the ONNX model m (its BatchNorms folded into
    the convolutions, as the exporter folded them: each BatchNorm an Identity)."""
    import torch
    sys.path.insert(0, os.path.join(root, "examples", "fashion"))
    import train  # examples/fashion/train.py: the module definitions (main() does not run)

    inits = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}
    net = train.FashionNet()
    net.eval()

    def submodule(path):
        mod = net
        for part in path:
            mod = getattr(mod, part) if not part.isdigit() else mod[int(part)]
        return mod

    def set_module(path, new):
        parent = submodule(path[:-1])
        if path[-1].isdigit():
            parent[int(path[-1])] = new
        else:
            setattr(parent, path[-1], new)

    # The BatchNorm after each convolution, in the exporter's naming of the convolution's node.
    bn_after = {"dw": "bn1", "pw": "bn2", "0": "1"}
    for node in m.graph.node:
        if node.op_type == "Conv":
            # "/block1/body/dw/Conv" -> block1.body.dw; "/stem/stem.0/Conv" -> stem.0
            parts = [p.split(".")[-1] if p.count(".") else p for p in node.name.strip("/").split("/")[:-1]]
            path = parts
            old = submodule(path)
            w, b = inits[node.input[1]], inits[node.input[2]]
            conv = torch.nn.Conv2d(old.in_channels, old.out_channels, old.kernel_size, old.stride,
                                   old.padding, groups=old.groups, bias=True)
            conv.weight.data = torch.from_numpy(w.copy())
            conv.bias.data = torch.from_numpy(b.copy())
            set_module(path, conv)
            set_module(path[:-1] + [bn_after[path[-1]]], torch.nn.Identity())
        elif node.op_type == "Gemm":
            net.fc.weight.data = torch.from_numpy(inits[node.input[1]].copy())
            net.fc.bias.data = torch.from_numpy(inits[node.input[2]].copy())
    return net


def torch_activations(root, model_path, x):
    """Every ONNX float tensor computed by torch running train.py's FashionNet with the ONNX
    weights, for the batch x."""
    import torch
    import torch.fx
    m = onnx.load(model_path)
    net = fashion_net(root, m)

    # torch.fx: every operation of the forward, in order; the k-th of each kind is the k-th
    # ONNX node of the matching op type (both follow the same forward).
    gm = torch.fx.symbolic_trace(net)
    kind_of = {torch.relu: "Relu", torch.flatten: "Flatten",
               torch.nn.functional.adaptive_avg_pool2d: "GlobalAveragePool"}
    import operator
    kind_of[operator.add] = "Add"
    recorded = {}

    class Rec(torch.fx.Interpreter):
        counts = {}

        def run_node(self, n):
            out = super().run_node(n)
            kind = None
            if n.op == "call_module":
                mod = self.module.get_submodule(n.target)
                kind = {torch.nn.Conv2d: "Conv", torch.nn.ReLU: "Relu", torch.nn.Linear: "Gemm"}.get(type(mod))
            elif n.op == "call_function":
                kind = kind_of.get(n.target)
            if kind:
                k = self.counts.get(kind, 0)
                self.counts[kind] = k + 1
                recorded.setdefault(kind, []).append(out.detach().numpy().copy())
            return out

    with torch.no_grad():
        Rec(gm).run(torch.from_numpy(x))
    acts = {"input": [x[i:i + 1] for i in range(len(x))]}
    seen = {}
    for node in m.graph.node:
        k = seen.get(node.op_type, 0)
        seen[node.op_type] = k + 1
        batch = recorded[node.op_type][k]
        acts[node.output[0]] = [batch[i:i + 1] for i in range(len(batch))]
    return acts


def compare_exact(method, got, want, name):
    for key in ("min", "max", "threshold", "lo", "hi", "scale"):
        check(got[key + "_bits"] == calib_ref.bits(want[key]),
              "%s %s: %s = %r (%s), numpy on edgecc eval's values says %r (%s)"
              % (method, name, key, got[key], got[key + "_bits"], want[key], calib_ref.bits(want[key])))
    check(got["zero_point"] == want["zero_point"],
          "%s %s: zero_point %d, numpy says %d" % (method, name, got["zero_point"], want["zero_point"]))
    check(got["count"] == want["count"], "%s %s: count %d, numpy says %d" % (method, name, got["count"], want["count"]))


def compare_torch(method, got, want, name, A):
    """Within tolerances: min and max within 1e-5 of A (float32 rounding of two summation orders);
    the threshold within 2 bins of A/1024 for the histogram methods (a value near a bin edge may
    land in the neighbouring bin, moving a percentile or the KL minimum by a bin); zero point within 1."""
    bin_w = A / 1024.0
    tol = {"min": 1e-5 * A, "max": 1e-5 * A}
    t_tol = 1e-5 * A + (2 * bin_w if method != "minmax" else 0)
    for key in ("lo", "hi", "threshold"):
        tol[key] = t_tol
    for key, t in tol.items():
        check(abs(got[key] - want[key]) <= t,
              "%s %s: %s = %r, torch's values say %r (tolerance %g)" % (method, name, key, got[key], want[key], t))
    check(abs(got["scale"] - want["scale"]) <= 2 * t_tol / 255 + 1e-9,
          "%s %s: scale %r, torch's values say %r" % (method, name, got["scale"], want["scale"]))
    check(abs(got["zero_point"] - want["zero_point"]) <= 1,
          "%s %s: zero_point %d, torch's values say %d" % (method, name, got["zero_point"], want["zero_point"]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--edgecc", required=True)
    ap.add_argument("--root", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--methods", default="minmax,percentile,entropy")
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    model = os.path.join(args.root, "examples", "fashion", "fashion.onnx")
    calib = os.path.join(args.root, "examples", "fashion", "calib")
    files = sorted(f for f in os.listdir(calib) if f.endswith(".pb"))
    if len(files) != 500:
        raise SystemExit("%s: %d .pb files, the example has 500" % (calib, len(files)))
    files = files[:N_SAMPLES]
    paths = [os.path.join(calib, f) for f in files]

    ev = eval_activations(args.edgecc, model, paths, args.work)
    x = np.concatenate(ev["input"])
    th = torch_activations(args.root, model, x)
    check(set(th) == set(ev), "torch gives tensors %s, the model has %s" % (sorted(th), sorted(ev)))
    for name in ev:
        a, b = np.stack(ev[name]), np.stack(th[name])
        scale = max(float(np.abs(a).max()), 1e-30)
        check(a.shape == b.shape and float(np.abs(a - b).max()) <= 1e-4 * scale,
              "%s: torch and edgecc eval differ by %g of its largest value" % (name, float(np.abs(a - b).max()) / scale))

    stats_ev = {n: calib_ref.Stats(v) for n, v in ev.items()}
    stats_th = {n: calib_ref.Stats(v) for n, v in th.items()}
    for method in args.methods.split(","):
        got = calibrate(args.edgecc, model, calib, method, os.path.join(args.work, method + ".json"))
        check(got["method"] == method and got["samples"] == N_SAMPLES and got["calib_max"] == 64,
              "%s: header %s" % (method, {k: got[k] for k in ("method", "samples", "calib_max")}))
        want_hash = calib_ref.set_hash(calib, files, method, 64)
        check(got["calib_sha256"] == want_hash, "%s: calib_sha256 %s, hashlib says %s" % (method, got["calib_sha256"], want_hash))
        names = [a["name"] for a in got["activations"]]
        check(names == sorted(names, key=lambda s: s.encode()), "%s: activations not sorted by name" % method)
        check(set(names) == set(ev), "%s: calibrated %s, the model's float tensors are %s" % (method, sorted(names), sorted(ev)))
        worst = 0
        for a in got["activations"]:
            if a["name"] not in ev:
                continue
            compare_exact(method, a, calib_ref.expected(stats_ev[a["name"]], method), a["name"])
            st = stats_th[a["name"]]
            want = calib_ref.expected(st, method)
            compare_torch(method, a, want, a["name"], st.A)
            worst = max(worst, abs(a["threshold"] - want["threshold"]) / (st.A / 1024.0))
        print("%s: %d activations, edgecc = numpy(edgecc eval) bit for bit; threshold within %.2f bins of numpy(torch)"
              % (method, len(names), worst))
        # Weights, exactly, from the initializers.
        m = onnx.load(model)
        inits = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}
        want_w = {}
        for node in m.graph.node:
            if node.op_type == "Conv":
                want_w[node.input[1]] = (0, node.name)
            if node.op_type == "Gemm":
                tb = [a.i for a in node.attribute if a.name == "transB"]
                want_w[node.input[1]] = (0 if tb and tb[0] else 1, node.name)
        check(sorted(w["name"] for w in got["weights"]) == sorted(want_w),
              "%s: weights %s, expected %s" % (method, sorted(w["name"] for w in got["weights"]), sorted(want_w)))
        for w in got["weights"]:
            axis, node = want_w.get(w["name"], (None, None))
            absmax, scale = calib_ref.weight_scales(inits[w["name"]], axis)
            check(w["axis"] == axis and w["nodes"] == [node] and w["channels"] == len(scale),
                  "%s weight %s: axis %d nodes %s" % (method, w["name"], w["axis"], w["nodes"]))
            check(w["scale_bits"] == [calib_ref.bits(s) for s in scale] and
                  w["absmax_bits"] == [calib_ref.bits(a) for a in absmax],
                  "%s weight %s: per-channel scales differ from numpy's" % (method, w["name"]))
    if failures:
        print("fashion_calib: %d failures" % len(failures))
        return 1
    print("fashion_calib: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
