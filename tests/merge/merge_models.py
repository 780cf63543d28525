#!/usr/bin/python3
"""merge_models.py — seeded torch models for the merge tests (issue 15), exported at test time.

usage: merge_models.py OUT_DIR [--family cnn|resnet50|wide] [--only a,b,c]

Writes OUT_DIR/{a,b,c,d,e}.onnx, each with OUT_DIR/<name>_input_0.pb (one input shared by all,
seeded) and OUT_DIR/<name>_output_0.pb (torch's output):
- a, b, c: one backbone (the same weights, bytes for bytes), each with its own final layer
  (c's has another number of classes): head-only fine-tunes as CoMPI's test models are;
- d: the same backbone but its last stage ("layer4") drawn again, and its own final layer;
- e: an unrelated MobileNetV2 (torchvision, width 0.25 for the small family).
The cnn family is a small residual CNN (stem, layer1..layer4, pool, fc) on 1x3x32x32; resnet50 is
torchvision's ResNet-50 on 1x3x224x224 (heavy: label slow). BatchNorm statistics come from one
train-mode pass over a seeded batch (docs: FACTS.md), then eval().
The wide family is a, b, c only: a stand-in for the head-only ResNet-50 variants whose weights are
megabytes, as device memory (ram_mb, at least 16 MB) is counted, but which compute in milliseconds:
a conv stem and three fully-connected layers (16 MiB of weights) shared, heads of 1000, 1000 and
500 classes (3.9, 3.9 and 2.0 MiB).
"""
import argparse
import copy
import os

import numpy as np
import onnx
import torch
import torchvision
from onnx import numpy_helper


class Block(torch.nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = torch.nn.BatchNorm2d(cout)
        self.conv2 = torch.nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = torch.nn.BatchNorm2d(cout)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = torch.nn.Sequential(torch.nn.Conv2d(cin, cout, 1, stride, bias=False), torch.nn.BatchNorm2d(cout))

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return torch.relu(y + (self.down(x) if self.down is not None else x))


class SmallNet(torch.nn.Module):
    def __init__(self, classes=10):
        super().__init__()
        self.stem = torch.nn.Sequential(torch.nn.Conv2d(3, 16, 3, 1, 1, bias=False), torch.nn.BatchNorm2d(16),
                                        torch.nn.ReLU())
        self.layer1 = Block(16, 16, 1)
        self.layer2 = Block(16, 32, 2)
        self.layer3 = Block(32, 64, 2)
        self.layer4 = Block(64, 64, 2)
        self.pool = torch.nn.AdaptiveAvgPool2d(1)
        self.fc = torch.nn.Linear(64, classes)

    def forward(self, x):
        x = self.layer4(self.layer3(self.layer2(self.layer1(self.stem(x)))))
        return self.fc(torch.flatten(self.pool(x), 1))


class WideNet(torch.nn.Module):
    def __init__(self, classes=1000):
        super().__init__()
        self.stem = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, 2, 1, bias=False), torch.nn.BatchNorm2d(8),
                                        torch.nn.ReLU())
        self.trunk = torch.nn.Sequential(torch.nn.Linear(2048, 1024), torch.nn.ReLU(), torch.nn.Linear(1024, 1024),
                                         torch.nn.ReLU(), torch.nn.Linear(1024, 1024), torch.nn.ReLU())
        self.fc = torch.nn.Linear(1024, classes)

    def forward(self, x):
        return self.fc(self.trunk(torch.flatten(self.stem(x), 1)))


def calibrate_bn(model, seed, shape):
    """BatchNorm scale/shift drawn from a seeded generator, statistics from one train-mode pass."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for bn in [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]:
            bn.weight.copy_(torch.rand(bn.weight.shape, generator=gen) * 0.5 + 0.75)
            bn.bias.copy_(torch.randn(bn.bias.shape, generator=gen) * 0.1)
            bn.reset_running_stats()
            bn.momentum = None
        model.train()
        model(torch.randn((8,) + shape[1:], generator=gen))
    model.eval()


def redraw(module, seed):
    """New seeded weights for one submodule (a head, or a stage), keeping its BatchNorm statistics'
    calibration for later."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * (1.0 / max(1, p[0].numel()) ** 0.5))


def export(model, x, path):
    torch.onnx.export(model, x, path, opset_version=13, input_names=["input"], output_names=["logits"],
                      do_constant_folding=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--family", choices=["cnn", "resnet50", "wide"], default="cnn")
    ap.add_argument("--only", default="", help="export only these models (the others are still drawn: same bytes)")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    torch.manual_seed(15)
    heads = (("a", 10, 100), ("b", 10, 101), ("c", 7, 102))
    if a.family == "wide":
        shape = (1, 3, 32, 32)
        base = WideNet()
        make_head = lambda n: torch.nn.Linear(1024, n)  # noqa: E731
        heads = (("a", 1000, 100), ("b", 1000, 101), ("c", 500, 102))
        unrelated = None
    elif a.family == "cnn":
        shape = (1, 3, 32, 32)
        base = SmallNet()
        make_head = lambda n: torch.nn.Linear(64, n)  # noqa: E731
        unrelated = torchvision.models.mobilenet_v2(weights=None, width_mult=0.25, num_classes=10)
    else:
        shape = (1, 3, 224, 224)
        base = torchvision.models.resnet50(weights=None)
        make_head = lambda n: torch.nn.Linear(2048, n)  # noqa: E731
        unrelated = torchvision.models.mobilenet_v2(weights=None)
    calibrate_bn(base, 1, shape)
    if unrelated is not None:
        calibrate_bn(unrelated, 2, shape)
    models = {}
    for name, classes, seed in heads:
        m = copy.deepcopy(base)
        m.fc = make_head(classes)
        redraw(m.fc, seed)
        models[name] = m
    if unrelated is not None:
        add_d_e(models, base, make_head, unrelated, shape)
    x = torch.randn(shape, generator=torch.Generator().manual_seed(7))
    if a.only:
        models = {k: v for k, v in models.items() if k in a.only.split(",")}
    for name, m in models.items():
        m.eval()
        path = os.path.join(a.out, name + ".onnx")
        export(m, x, path)
        with torch.no_grad():
            y = m(x).numpy()
        onnx.save_tensor(numpy_helper.from_array(x.numpy(), "input"), os.path.join(a.out, name + "_input_0.pb"))
        onnx.save_tensor(numpy_helper.from_array(y, "logits"), os.path.join(a.out, name + "_output_0.pb"))
    print("wrote %s: %s" % (a.out, ", ".join(sorted(models))))


def add_d_e(models, base, make_head, unrelated, shape):
    """d: the backbone with its layer4 drawn again (BatchNorms calibrated again); e: unrelated."""
    d = copy.deepcopy(base)
    redraw(d.layer4, 103)
    gen = torch.Generator().manual_seed(104)  # layer4's BatchNorms calibrated again, the trunk's kept
    with torch.no_grad():
        for bn in [m for m in d.layer4.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]:
            bn.reset_running_stats()
            bn.momentum = None
        d.eval()
        d.layer4.train()
        d(torch.randn((8,) + shape[1:], generator=gen))
    d.eval()
    d.fc = make_head(10)
    redraw(d.fc, 105)
    models["d"] = d
    models["e"] = unrelated


if __name__ == "__main__":
    np.random.seed(15)
    main()
