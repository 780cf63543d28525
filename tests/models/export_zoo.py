#!/usr/bin/python3
"""Export one torchvision model with seeded weights, a seeded input and torch's output on it.

Usage: /usr/bin/python3 tests/models/export_zoo.py MODEL OUTDIR
Writes OUTDIR/MODEL.onnx, OUTDIR/MODEL_input_0.pb and OUTDIR/MODEL_output_0.pb (ONNX TensorProto).
Runs are byte-identical: weights, BatchNorm statistics and the input all come from fixed seeds.
"""

import os
import sys
import time
import warnings

import torch
import torchvision
from onnx import numpy_helper

MODELS = {
    # name: (constructor kwargs, input side)
    "squeezenet1_1": ({}, 224),
    "mobilenet_v2": ({}, 224),
    "resnet18": ({}, 224),
    "resnet50": ({}, 224),
    "googlenet": ({"aux_logits": False, "init_weights": True}, 224),
    "inception_v3": ({"aux_logits": False, "init_weights": True}, 299),
    "densenet121": ({}, 224),
    "shufflenet_v2_x1_0": ({}, 224),
    "mobilenet_v3_large": ({}, 224),
    # transformers (issue 18): LayerNorm and GELU as PyTorch exports them at opset 13
    "vit_b_32": ({}, 224),
    "swin_t": ({}, 224),
    # a modern CNN (issue 18): 7x7 depthwise convolutions, and per block a permute to channels-last,
    # LayerNorm, Linear, GELU, Linear and a permute back
    "convnext_small": ({}, 224),
}

SEED_INIT = 0      # torchvision's own weight init
SEED_BN = 1        # BatchNorm scale and shift
SEED_CALIB = 2     # the batch that sets BatchNorm running statistics
SEED_INPUT = 3     # the test input
SEED_LN = 4        # LayerNorm scale and shift
CALIB_BATCH = 8


def build(name):
    kwargs, side = MODELS[name]
    torch.manual_seed(SEED_INIT)
    model = getattr(torchvision.models, name)(weights=None, **kwargs)

    # Default init leaves BN as identity with running stats (0, 1): deep models then explode
    # in eval mode. Give BN seeded affine parameters, then calibrate its statistics.
    gen = torch.Generator().manual_seed(SEED_BN)
    bns = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    with torch.no_grad():
        for bn in bns:
            bn.weight.copy_(torch.rand(bn.weight.shape, generator=gen) * 0.5 + 0.75)
            bn.bias.copy_(torch.randn(bn.bias.shape, generator=gen) * 0.1)
            bn.reset_running_stats()
            bn.momentum = None  # cumulative average: one pass gives exactly that batch's statistics

    # LayerNorm's default init (scale 1, shift 0) would hide a lost or misplaced gamma or beta:
    # draw them like BatchNorm's, from their own generator (the CNNs' exports do not change).
    gen = torch.Generator().manual_seed(SEED_LN)
    with torch.no_grad():
        for ln in (m for m in model.modules() if isinstance(m, torch.nn.LayerNorm)):
            ln.weight.copy_(torch.rand(ln.weight.shape, generator=gen) * 0.5 + 0.75)
            ln.bias.copy_(torch.randn(ln.bias.shape, generator=gen) * 0.1)
        # ViT's classifier starts at zero (its output would be 0 whatever the model computes).
        for lin in (m for m in model.modules() if isinstance(m, torch.nn.Linear)):
            if not lin.weight.any():
                lin.weight.copy_(torch.randn(lin.weight.shape, generator=gen) / lin.in_features ** 0.5)
        # ConvNeXt scales each block's branch by 1e-6 before the residual Add, so the blocks would
        # hardly count: draw the scales like the affine parameters.
        for blk in (m for m in model.modules() if isinstance(getattr(m, "layer_scale", None), torch.nn.Parameter)):
            blk.layer_scale.copy_(torch.rand(blk.layer_scale.shape, generator=gen) * 0.5 + 0.75)

    calib = torch.randn(CALIB_BATCH, 3, side, side, generator=torch.Generator().manual_seed(SEED_CALIB))
    model.train()
    with torch.no_grad():
        model(calib)
    model.eval()
    return model, side


def export(name, outdir):
    model, side = build(name)
    x = torch.randn(1, 3, side, side, generator=torch.Generator().manual_seed(SEED_INPUT))
    with torch.no_grad():
        y = model(x)
    os.makedirs(outdir, exist_ok=True)
    path = os.path.join(outdir, name + ".onnx")
    torch.onnx.export(model, x, path, opset_version=13,
                      input_names=["input"], output_names=["output"])
    with open(os.path.join(outdir, name + "_input_0.pb"), "wb") as f:
        f.write(numpy_helper.from_array(x.numpy(), "input").SerializeToString())
    with open(os.path.join(outdir, name + "_output_0.pb"), "wb") as f:
        f.write(numpy_helper.from_array(y.numpy(), "output").SerializeToString())
    return path, y


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in MODELS:
        sys.stderr.write("usage: export_zoo.py MODEL OUTDIR\nmodels: %s\n" % " ".join(MODELS))
        return 2
    name, outdir = sys.argv[1], sys.argv[2]
    warnings.filterwarnings("ignore")
    torch.set_num_threads(1)
    start = time.monotonic()
    path, y = export(name, outdir)
    print("%s: wrote %s (%d bytes), output %s max |y| %.4g, %.1f s"
          % (name, path, os.path.getsize(path), "x".join(map(str, y.shape)),
             y.abs().max().item(), time.monotonic() - start))
    return 0


if __name__ == "__main__":
    sys.exit(main())
