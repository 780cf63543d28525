#!/usr/bin/python3
"""make_qdq.py — small QDQ models as ONNX Runtime's static quantizer writes them
(QuantizeLinear/DequantizeLinear around float Conv and MatMul; activations uint8 or int8,
asymmetric, per tensor; weights int8, symmetric, per tensor; int32 biases of scale
x_scale * w_scale), made with python3-onnx from a seeded float network whose activation ranges
torch measures on seeded random calibration inputs (minmax).

- layer_<name>.onnx: one layer, int8 in and int8 out (DequantizeLinear -> Conv or MatMul
  (-> Relu or a ReLU6 Clip) -> QuantizeLinear; four convolutions with per-channel weights, _pc;
  DequantizeLinear -> MaxPool -> QuantizeLinear), so a comparison with ONNX Runtime sees that
  layer's rounding alone; three (names ending _float: a Relu of a range not starting at zero, a
  Clip narrower than its QuantizeLinear's range, a rescaling MaxPool) that the qdq pass must leave
  float; DequantizeLinear x2 -> Add
  (-> Relu) -> QuantizeLinear, ORT's QLinearAdd.
- cnn.onnx: float input [1, 3, 16, 16], three convolutions (3x3; depthwise 3x3 stride 2; 1x1)
  with Relu, global average pooling, flatten and a MatMul head, all in QDQ, the head's bias a
  float Add after it: float output [1, 10].

usage: make_qdq.py OUT_DIR   (writes the models and, per model, input_0.pb)"""
import os
import sys

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

SEED = 20261201


class Builder:
    def __init__(self, prefix=""):
        self.nodes, self.inits, self.count = [], [], 0
        self.prefix = prefix

    def name(self, what):
        self.count += 1
        return "%s%s_%d" % (self.prefix, what, self.count)

    def const(self, arr, what="c"):
        n = self.name(what)
        self.inits.append(numpy_helper.from_array(np.asarray(arr), n))
        return n

    def node(self, op, ins, what=None, **attrs):
        out = self.name(what or op.lower())
        self.nodes.append(helper.make_node(op, ins, [out], name=self.name(op), **attrs))
        return out

    def q(self, x, scale, zp):
        return self.node("QuantizeLinear", [x, self.const(np.float32(scale), "scale"), self.const(zp, "zp")])

    def dq(self, x, scale, zp):
        return self.node("DequantizeLinear", [x, self.const(np.float32(scale), "scale"), self.const(zp, "zp")])


def act_params(lo, hi, dt):
    """Asymmetric per-tensor parameters of a range, as ORT's minmax calibration gives them."""
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    qmin, qmax = (0, 255) if dt == np.uint8 else (-128, 127)
    scale = (hi - lo) / (qmax - qmin) if hi > lo else 1.0
    zp = int(np.clip(round(qmin - lo / scale), qmin, qmax))
    return np.float32(scale), np.array(zp, dt)


def weight_q(w, per_channel=False):
    """int8 symmetric weights: one scale, or one per output channel (axis 0)."""
    if not per_channel:
        s = np.float32(max(float(np.abs(w).max()), 1e-8) / 127.0)
        return np.clip(np.round(w / s), -127, 127).astype(np.int8), s
    s = (np.maximum(np.abs(w.reshape(w.shape[0], -1)).max(axis=1), 1e-8) / 127.0).astype(np.float32)
    return np.clip(np.round(w / s.reshape([-1] + [1] * (w.ndim - 1))), -127, 127).astype(np.int8), s


def qconv(b, x, xs, w, bias, ys, yz, relu, per_channel=False, **attrs):
    """DequantizeLinear(weights) -> Conv (-> Relu) -> QuantizeLinear, as ORT writes a layer
    (per_channel: weight scales per output channel, as ORT's per_channel=True)."""
    wq, ws = weight_q(w, per_channel)
    if per_channel:
        wz, bz = np.zeros(len(ws), np.int8), np.zeros(len(ws), np.int32)
        ins = [x, b.node("DequantizeLinear", [b.const(wq, "w"), b.const(ws, "scale"), b.const(wz, "zp")], axis=0)]
    else:
        ins = [x, b.dq(b.const(wq, "w"), ws, np.array(0, np.int8))]
    if bias is not None:
        bs = (xs * ws).astype(np.float32)
        bq = np.round(bias / bs).astype(np.int32)
        if per_channel:
            ins.append(b.node("DequantizeLinear", [b.const(bq, "b"), b.const(bs, "scale"), b.const(bz, "zp")], axis=0))
        else:
            ins.append(b.dq(b.const(bq, "b"), np.float32(bs), np.array(0, np.int32)))
    y = b.node("Conv", ins, **attrs)
    if relu in ("relu6", "narrow"):  # Clip(0, 6) as MobileNetV2's ReLU6, or a Clip(0, 1) that clips
        hi = np.float32(6.0 if relu == "relu6" else 1.0)
        y = b.node("Clip", [y, b.const(np.float32(0), "min"), b.const(hi, "max")])
    elif relu:
        y = b.node("Relu", [y])
    return b.q(y, ys, yz)


def qmatmul(b, x, xs, w, ys, yz):
    wq, ws = weight_q(w)
    y = b.node("MatMul", [x, b.dq(b.const(wq, "w"), ws, np.array(0, np.int8))])
    return b.q(y, ys, yz)


def model(b, ins, outs, name):
    g = helper.make_graph(b.nodes, name, ins, outs, b.inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 7
    onnx.checker.check_model(m)
    return m


def save(out, name, m, x):
    onnx.save(m, os.path.join(out, name + ".onnx"))
    with open(os.path.join(out, name + "_input_0.pb"), "wb") as f:
        f.write(numpy_helper.from_array(x).SerializeToString())


def layers(out, rng):
    """Single layers: int8 data in, int8 data out."""
    cases = [
        # name, activation dtype, cin, cout, kernel, stride, group, bias, relu (_pc: per-channel
        # weights, XNNPACK's qc8)
        ("conv3x3_s8_pc", np.int8, 8, 12, 3, 1, 1, True, True),
        ("conv_dw_s2_s8_pc", np.int8, 8, 8, 3, 2, 8, True, True),
        ("conv1x1_s8_pc", np.int8, 6, 10, 1, 1, 1, True, False),
        ("conv3x3_u8", np.uint8, 8, 12, 3, 1, 1, True, True),
        ("conv_dw_s2_u8", np.uint8, 8, 8, 3, 2, 8, True, True),
        ("conv1x1_s8", np.int8, 6, 10, 1, 1, 1, True, False),
        ("conv3x3_s8_nobias", np.int8, 4, 5, 3, 1, 1, False, False),
        # a Relu before a QuantizeLinear whose range does not start at zero: it clips, so the
        # layer must stay float (the name's _float says so to qdq_ort.py)
        ("conv_relu_midzp_u8_float", np.uint8, 4, 6, 3, 1, 1, True, "mid"),
        # ReLU6 (Clip 0..6) before a QuantizeLinear of range [0, 6]: it changes nothing the
        # QuantizeLinear keeps, so the layer is int8; a Clip to 1 within that range clips: float
        ("conv3x3_relu6_s8_pc", np.int8, 8, 12, 3, 1, 1, True, "relu6"),
        ("conv_dw_relu6_u8", np.uint8, 8, 8, 3, 2, 8, True, "relu6"),
        ("conv_clip_narrow_s8_float", np.int8, 4, 6, 3, 1, 1, True, "narrow"),
    ]
    elem = {np.uint8: TensorProto.UINT8, np.int8: TensorProto.INT8}
    for name, dt, cin, cout, k, s, grp, has_b, relu in cases:
        b = Builder()
        info = np.iinfo(dt)
        xs, xz = np.float32(0.02), np.array(info.min + 100, dt)
        w = rng.standard_normal([cout, cin // grp, k, k]).astype(np.float32) * 0.3
        bias = rng.standard_normal([cout]).astype(np.float32) * 0.2 if has_b else None
        ys = np.float32(0.02 * 0.3 * 40 * np.sqrt(cin // grp * k * k) / 3)
        if relu in ("relu6", "narrow"):
            ys = np.float32(6.0 / 255)  # [0, 6]: what ORT's calibration gives a ReLU6 output
        yz = np.array(info.min if relu in (True, "relu6", "narrow") else (info.min + info.max + 1) // 2, dt)
        x = b.dq("x", xs, xz)
        y = qconv(b, x, xs, w, bias, ys, yz, relu, name.endswith("_pc"), kernel_shape=[k, k], strides=[s, s],
                  group=grp, pads=[k // 2] * 4)
        h = 9
        oh = (h + 2 * (k // 2) - k) // s + 1
        m = model(b, [helper.make_tensor_value_info("x", elem[dt], [1, cin, h, h])],
                  [helper.make_tensor_value_info(y, elem[dt], [1, cout, oh, oh])], name)
        save(out, "layer_" + name, m, rng.integers(info.min, info.max + 1, size=[1, cin, h, h]).astype(dt))
    # MaxPool between a DequantizeLinear and a QuantizeLinear: of the same parameters it pools the
    # int8 values (XNNPACK's s8 max pooling); rescaled, it must stay float
    for name, rescale in (("maxpool_s8", 1.0), ("maxpool_rescaled_s8_float", 1.5)):
        b = Builder()
        xs, xz = np.float32(0.02), np.array(-20, np.int8)
        y = b.q(b.node("MaxPool", [b.dq("x", xs, xz)], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
                np.float32(xs * rescale), xz)
        m = model(b, [helper.make_tensor_value_info("x", TensorProto.INT8, [1, 5, 9, 9])],
                  [helper.make_tensor_value_info(y, TensorProto.INT8, [1, 5, 5, 5])], name)
        save(out, "layer_" + name, m, rng.integers(-128, 128, size=[1, 5, 9, 9]).astype(np.int8))
    # Add of two DequantizeLinear outputs (a per-channel constant broadcast over x) -> (Relu ->)
    # QuantizeLinear: ORT's QLinearAdd (XNNPACK's qs8 add)
    for name, relu in (("add_s8", False), ("add_relu_s8", True)):
        b = Builder()
        xs, xz = np.float32(0.02), np.array(-20, np.int8)
        cq = rng.integers(-100, 100, size=[1, 5, 1, 1]).astype(np.int8)
        y = b.node("Add", [b.dq("x", xs, xz), b.dq(b.const(cq, "c"), np.float32(0.015), np.array(3, np.int8))])
        if relu:
            y = b.node("Relu", [y])
        y = b.q(y, np.float32(0.03), np.array(-128 if relu else 5, np.int8))
        m = model(b, [helper.make_tensor_value_info("x", TensorProto.INT8, [1, 5, 6, 6])],
                  [helper.make_tensor_value_info(y, TensorProto.INT8, [1, 5, 6, 6])], name)
        save(out, "layer_" + name, m, rng.integers(-128, 128, size=[1, 5, 6, 6]).astype(np.int8))
    # MatMul with a constant right operand, uint8 activations
    b = Builder()
    xs, xz = np.float32(0.03), np.array(110, np.uint8)
    w = rng.standard_normal([32, 10]).astype(np.float32) * 0.2
    ys, yz = np.float32(0.03 * 0.2 * 40 * np.sqrt(32) / 3), np.array(128, np.uint8)
    y = qmatmul(b, b.dq("x", xs, xz), xs, w, ys, yz)
    m = model(b, [helper.make_tensor_value_info("x", TensorProto.UINT8, [3, 32])],
              [helper.make_tensor_value_info(y, TensorProto.UINT8, [3, 10])], "matmul_u8")
    save(out, "layer_matmul_u8", m, rng.integers(0, 256, size=[3, 32]).astype(np.uint8))


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = torch.nn.Conv2d(3, 16, 3, padding=1)
        self.c2 = torch.nn.Conv2d(16, 16, 3, stride=2, padding=1, groups=16)
        self.c3 = torch.nn.Conv2d(16, 24, 1)
        self.fc = torch.nn.Linear(24, 10)

    def forward(self, x):
        a1 = torch.relu(self.c1(x))
        a2 = torch.relu(self.c2(a1))
        a3 = torch.relu(self.c3(a2))
        g = a3.mean(dim=(2, 3))
        return [x, a1, a2, a3, g, self.fc(g)]


def cnn(out, rng):
    torch.manual_seed(SEED)
    net = Net().eval()
    calib = torch.from_numpy(rng.standard_normal([32, 3, 16, 16]).astype(np.float32))
    with torch.no_grad():
        acts = net(calib)
    ranges = [(float(a.min()), float(a.max())) for a in acts]
    p = [act_params(lo, hi, np.uint8) for lo, hi in ranges]
    b = Builder()
    xq = b.q("x", *p[0])
    t = b.dq(xq, *p[0])
    convs = [(net.c1, dict(kernel_shape=[3, 3], pads=[1, 1, 1, 1])),
             (net.c2, dict(kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[2, 2], group=16)),
             (net.c3, dict(kernel_shape=[1, 1]))]
    for i, (c, attrs) in enumerate(convs):
        yq = qconv(b, t, p[i][0], c.weight.detach().numpy(), c.bias.detach().numpy(), *p[i + 1], True, **attrs)
        t = b.dq(yq, *p[i + 1])
    gq = b.q(b.node("GlobalAveragePool", [t]), *p[4])
    # ORT quantizes a Flatten's output with its input's parameters: DQ -> Flatten -> Q -> DQ
    f = b.dq(b.q(b.node("Flatten", [b.dq(gq, *p[4])], axis=1), *p[4]), *p[4])
    with torch.no_grad():  # the MatMul's own range: the head before its bias
        mm = acts[4] @ net.fc.weight.T
    po = act_params(float(mm.min()), float(mm.max()), np.uint8)
    yq = qmatmul(b, f, p[4][0], net.fc.weight.detach().numpy().T.copy(), *po)
    fb = net.fc.bias.detach().numpy()
    y = b.node("Add", [b.dq(yq, *po), b.const(fb, "fc_bias")])
    m = model(b, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 16, 16])],
              [helper.make_tensor_value_info(y, TensorProto.FLOAT, [1, 10])], "qdq_cnn")
    save(out, "cnn", m, rng.standard_normal([1, 3, 16, 16]).astype(np.float32))


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(SEED)
    layers(out, rng)
    cnn(out, rng)
    return 0


if __name__ == "__main__":
    sys.exit(main())
