#!/usr/bin/python3
"""default_order.py — the kernels a compile without --kernels picks: the target's default order.

A description listing onednn before xnnpack (targets/x86-64.json, `host` here) runs the op kinds
oneDNN is faster at on oneDNN and the others on XNNPACK (docs/fast-kernels.md, "The default
order"); the boards (xnnpack only) and a description listing xnnpack first run XNNPACK; --kernels
onednn puts every op oneDNN has on it, --kernels xnnpack none. On a small torch model (convolution,
depthwise convolution, residual Add, max pooling, a squeeze-and-excitation Mul, fully connected):

  - `--targets host`: plan.json says kernels "onednn"; each step's `kernel:` comment is the one
    the order gives its op (EXPECT below); built and run, its output equals torch's within 1e-4
    of the largest value;
  - `--kernels onednn`: the Mul on oneDNN too; `--kernels xnnpack`, `--targets pi5` and a copy of
    x86-64.json listing xnnpack first: no oneDNN step;
  - `edgecc targets` writes onednn before or after xnnpack as the description lists them;
  - an Add whose operand broadcasts over a middle dim (Swin's window mask), which oneDNN 2.6 runs on
    its reference kernel, stays on XNNPACK with and without --kernels onednn.
  - int8: a QLinearConv and a QLinearMatMul run on oneDNN's int8 kernels on host, XNNPACK's on pi5.

usage: default_order.py --edgecc BUILD/edgecc --build-dir BUILD --work DIR
Exit status 0 pass, 1 fail."""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import onnx
import torch
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
BUILD_HOOK = os.path.join(REPO, "tests", "codegen", "build_generated.sh")
# The default order on x86-64 by op (choose.c's dnnl_by_default): the residual Add is fused into
# the convolution before it (fuse-sum), so it has no step of its own.
EXPECT = {"Conv": "oneDNN", "MaxPool": "oneDNN", "Gemm": "oneDNN", "Mul": "XNNPACK"}


def fail(msg):
    print("FAILED: " + msg)
    sys.exit(1)


def run(argv):
    r = subprocess.run(argv, capture_output=True, text=True)
    if r.returncode:
        fail("%s: exit %d\n%s" % (" ".join(argv), r.returncode, (r.stdout + r.stderr)[-2000:]))
    return r.stdout


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(8, 16, 3, padding=1)
        self.dw = torch.nn.Conv2d(16, 16, 3, padding=1, groups=16)
        self.pw = torch.nn.Conv2d(16, 16, 1)
        self.fc = torch.nn.Linear(16, 10)

    def forward(self, x):
        y = torch.relu(self.conv(x))
        y = self.pw(torch.relu(self.dw(y))) + y                   # residual Add
        y = torch.nn.functional.max_pool2d(y, 2)
        y = y * torch.mean(y, dim=(2, 3), keepdim=True)           # squeeze-and-excitation Mul
        return self.fc(torch.flatten(torch.nn.functional.adaptive_avg_pool2d(y, 1), 1))


class Mask(torch.nn.Module):
    """Swin's attention: scores plus a bias per head (batch broadcast), a mask per window (a middle
    dim broadcast), and a Linear's bias row."""
    def __init__(self):
        super().__init__()
        self.bias = torch.nn.Parameter(torch.randn(3, 7, 7))
        self.mask = torch.nn.Parameter(torch.randn(4, 1, 7, 7))
        self.row = torch.nn.Parameter(torch.randn(12))

    def forward(self, s, t):
        s = s + self.bias
        s = (s.view(1, 4, 3, 7, 7) + self.mask.unsqueeze(0)).view(4, 3, 7, 7)
        return torch.relu(s), t + self.row


def steps(out, device):
    """(op, kernel label) of every step in the device's generated C."""
    src = open(os.path.join(out, device, "net_p0.c")).read()
    return re.findall(r"/\* node '[^']*' \((\w+)\):.*?/\* kernel: ([^*]*?) \*/", src, re.S)


def compile_(args, model, name, extra, device="host"):
    out = os.path.join(args.work, name)
    run([args.edgecc, model, "--name", "net", "-o", out] + extra)
    plan = json.load(open(os.path.join(out, "plan.json")))
    return out, plan, steps(out, device)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--edgecc", required=True)
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(args.work)

    torch.manual_seed(16)
    net = Net().eval()
    x = torch.randn(1, 8, 12, 12)
    with torch.no_grad():
        want = net(x).numpy()
    model = os.path.join(args.work, "net.onnx")
    torch.onnx.export(net, x, model, opset_version=13, input_names=["x"], output_names=["y"])
    inp = os.path.join(args.work, "x.pb")
    with open(inp, "wb") as f:
        f.write(numpy_helper.from_array(x.numpy(), "x").SerializeToString())

    # Without --kernels on host (x86-64: onednn first).
    out, plan, st = compile_(args, model, "host", ["--targets", "host"])
    if plan["kernels"] != "onednn" or plan["devices"][0]["kernels"] != "onednn":
        fail("--targets host without --kernels: plan.json kernels %r, device %r (want onednn)"
             % (plan["kernels"], plan["devices"][0]["kernels"]))
    seen = set()
    for op, label in st:
        if op in EXPECT and label != EXPECT[op]:
            fail("default order on host: %s runs on %s, want %s (steps: %s)" % (op, label, EXPECT[op], st))
        seen.add(op)
    if "Add" in seen:
        fail("the residual Add has a step of its own: fuse-sum did not fuse it (steps: %s)" % st)
    missing = set(EXPECT) - seen
    if missing:
        fail("no step for %s: the model no longer tests them (steps: %s)" % (sorted(missing), st))
    exe = os.path.join(args.work, "bin", "net")
    run(["sh", BUILD_HOOK, os.path.join(out, "host"), args.build_dir, exe])
    got_pb = os.path.join(args.work, "y.pb")
    run([exe, "--input", inp, "--output", got_pb])
    from onnx import TensorProto
    t = TensorProto()
    t.ParseFromString(open(got_pb, "rb").read())
    got = numpy_helper.to_array(t)
    err = float(np.max(np.abs(got - want)))
    if not err <= 1e-4 * float(np.max(np.abs(want))):
        fail("default-order program differs from torch by %g (largest |torch| %g)" % (err, np.max(np.abs(want))))
    print("host default: %s; max |got - torch| %.3g" % (sorted(set(st)), err))

    # --kernels onednn: every op oneDNN has.
    _, _, st = compile_(args, model, "all", ["--targets", "host", "--kernels", "onednn"])
    if ("Mul", "oneDNN") not in st:
        fail("--kernels onednn: the Mul is not on oneDNN (steps: %s)" % st)
    # No oneDNN: --kernels xnnpack, a board, a description listing xnnpack first.
    xfirst = os.path.join(args.work, "xfirst.json")
    d = json.loads(run([args.edgecc, "targets", "x86-64"]))
    if d["kernels"][:2] != ["onednn", "xnnpack"]:
        fail("edgecc targets x86-64: kernels %s, want onednn first" % d["kernels"])
    d.update(name="xfirst", kernels=["xnnpack", "onednn", "openblas", "ref"])
    d.pop("aliases", None)
    json.dump(d, open(xfirst, "w"))
    back = json.loads(run([args.edgecc, "targets", "--target-file", xfirst, "xfirst"]))
    k = back["kernels"]
    if sorted(k) != sorted(d["kernels"]) or k.index("xnnpack") > k.index("onednn"):
        fail("edgecc targets xfirst: kernels %s, want xnnpack before onednn as in the file" % k)
    for name, extra, device, kern in [
            ("xnnpack", ["--targets", "host", "--kernels", "xnnpack"], "host", "xnnpack"),
            ("pi5", ["--targets", "pi5"], "pi5", "xnnpack"),
            ("xfirst", ["--target-file", xfirst, "--targets", "xfirst"], "xfirst", "xnnpack")]:
        _, plan, st = compile_(args, model, name, extra, device)
        if plan["kernels"] != kern or any(label == "oneDNN" for _, label in st):
            fail("%s: plan.json kernels %r, steps %s (want %s, no oneDNN step)" % (" ".join(extra), plan["kernels"],
                                                                                 st, kern))
    print("--kernels onednn: Mul on oneDNN; --kernels xnnpack, pi5, xnnpack-first description: no oneDNN step")

    # Broadcasts oneDNN 2.6 runs on ref:any (choose.c's dnnl_broadcast_jit): Swin's window-mask Add
    # ([1,4,3,7,7] + [1,4,1,7,7], 70x slower there) stays on XNNPACK with and without --kernels; a
    # bias row ([4,7,12] + [12]) and a batch broadcast ([4,3,7,7] + [3,7,7]) go to oneDNN.
    mask = os.path.join(args.work, "mask.onnx")
    torch.onnx.export(Mask(), (torch.randn(4, 3, 7, 7), torch.randn(4, 7, 12)), mask, opset_version=13,
                      input_names=["s", "t"], output_names=["a", "b"])
    for name, extra in [("mask_host", ["--targets", "host"]),
                        ("mask_onednn", ["--targets", "host", "--kernels", "onednn"])]:
        out = os.path.join(args.work, name)
        run([args.edgecc, mask, "--name", "net", "-o", out] + extra)
        src = open(os.path.join(out, "host", "net_p0.c")).read()
        got = dict(re.findall(r"/\* node '([^']*)' \(Add\):.*?/\* kernel: ([^*]*?) \*/", src, re.S))
        want = {"/Add": "oneDNN", "/Add_1": "XNNPACK", "/Add_2": "oneDNN"}
        if got != want:
            fail("%s: Add kernels %s, want %s" % (" ".join(extra), got, want))
    print("window-mask Add on XNNPACK, bias and batch broadcasts on oneDNN")

    # int8 (issue 16): a QLinearConv (int8 data, per-channel int8 weights) and a QLinearMatMul by a
    # constant run on oneDNN's int8 kernels on host without --kernels; a board keeps XNNPACK's.
    q = os.path.join(args.work, "q.onnx")
    onnx.save(int8_model(), q)
    for name, extra, device, want in [("q_host", ["--targets", "host"], "host", "oneDNN"),
                                      ("q_pi5", ["--targets", "pi5"], "pi5", "XNNPACK")]:
        out = os.path.join(args.work, name)
        run([args.edgecc, q, "--name", "net", "-o", out] + extra)
        got = {op: label for op, label in steps(out, device) if op in ("QLinearConv", "QLinearMatMul")}
        if got != {"QLinearConv": want, "QLinearMatMul": want}:
            fail("%s: int8 kernels %s, want both on %s" % (" ".join(extra), got, want))
    print("int8: QLinearConv and QLinearMatMul on oneDNN on host, on XNNPACK on pi5")
    shutil.rmtree(args.work)


def int8_model():
    """x (int8 [1,8,6,6]) -> QLinearConv 3x3 (16 channels, per-channel scales, bias) -> Transpose to
    [1,6,6,16] -> QLinearMatMul by a constant [16,5]."""
    from onnx import TensorProto, helper
    rng = np.random.default_rng(16)

    def c(name, arr):
        return numpy_helper.from_array(np.asarray(arr), name)
    inits = [c("xs", np.float32(0.02)), c("xz", np.int8(-3)),
             c("w", rng.integers(-127, 128, size=(16, 8, 3, 3)).astype(np.int8)),
             c("ws", (0.005 + 0.01 * rng.random(16)).astype(np.float32)), c("wz", np.zeros(16, np.int8)),
             c("ys", np.float32(0.5)), c("yz", np.int8(5)), c("b", rng.integers(-500, 500, 16).astype(np.int32)),
             c("m", rng.integers(-127, 128, size=(16, 5)).astype(np.int8)), c("ms", np.float32(0.01)),
             c("mz", np.int8(0)), c("zs", np.float32(2.0)), c("zz", np.int8(1))]
    nodes = [helper.make_node("QLinearConv", ["x", "xs", "xz", "w", "ws", "wz", "ys", "yz", "b"], ["y"], name="conv",
                              kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             helper.make_node("Transpose", ["y"], ["t"], name="tr", perm=[0, 2, 3, 1]),
             helper.make_node("QLinearMatMul", ["t", "ys", "yz", "m", "ms", "mz", "zs", "zz"], ["z"], name="mm")]
    g = helper.make_graph(nodes, "q", [helper.make_tensor_value_info("x", TensorProto.INT8, [1, 8, 6, 6])],
                          [helper.make_tensor_value_info("z", TensorProto.INT8, [1, 6, 6, 5])], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])


if __name__ == "__main__":
    main()
