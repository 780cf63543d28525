#!/usr/bin/python3
"""merge_budget.py — approximate merging (issue 15, --merge-budget PP with --calib DIR) on two
independently fine-tuned copies of examples/fashion, against figures edgecc did not compute.

usage: merge_budget.py --edgecc E --build-dir B --src S --work W

- Fine-tunes examples/fashion/fashion.onnx twice with torch at test time (train.py's network with
  the ONNX weights, its BatchNorms folded; seeded, 40 SGD steps each on its own 2,560 training
  images of Debian's dataset-fashion-mnist): fa.onnx and fb.onnx, every weight different.
- `edgecc fa.onnx fb.onnx --calib examples/fashion/calib --calib-max 300 --merge-budget 1`:
  progress on stderr; plan.json's merge.approximate says how many of fb's nodes take fa's weights
  (`taken`), fb's agreement with itself within the budget, and the weights saved are exactly the
  bytes taken.
- The merged program (built, run on 8 test images) gives fa's torch output and, for fb, the output
  of the hybrid made here: fb.onnx with the initializers of its first `taken` Conv nodes (graph
  order, the order edgecc's greedy walks) replaced by fa's, run by torch (within 1e-4 of the
  largest logit). The hybrid's accuracy over the 10,000 test images (torch) is within 1 percentage
  point of fb's own.
- --merge-budget 0 keeps only nodes that change no sample's top-1; bad values, --merge-budget
  without --calib or with one model, and quantization options beside it are usage errors (exit 2,
  one line).
A missing data set is a failure, never a skip.
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np
import onnx
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "quant"))
from fashion_calib import fashion_net  # noqa: E402

DATA = "/usr/share/datasets/fashion-mnist"


def run(argv, want=0):
    p = subprocess.run([str(x) for x in argv], capture_output=True, text=True)
    if p.returncode != want:
        raise SystemExit("FAILED: %s\nexit %d (wanted %d)\n%s%s" % (" ".join(map(str, argv)), p.returncode, want,
                                                                   p.stdout[-3000:], p.stderr[-3000:]))
    return p


def fine_tune(src, base, xs, ys, seed, path):
    import torch
    sys.path.insert(0, os.path.join(src, "examples", "fashion"))
    import train
    net = fashion_net(src, base)
    gen = torch.Generator().manual_seed(seed)
    idx = torch.randperm(len(xs), generator=gen)[:2560]
    opt = torch.optim.SGD(net.parameters(), lr=0.001, momentum=0.9)
    net.train()
    for step in range(40):
        b = idx[(step * 64) % len(idx):][:64]
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(xs[b]), ys[b]).backward()
        opt.step()
    net.eval()
    train.export(net, path)


def accuracy(src, model, x, y):
    sys.path.insert(0, os.path.join(src, "examples", "fashion"))
    import train
    return int((train.predict(fashion_net(src, model), x).argmax(1) == y).sum())


def usage(edgecc, args, needle):
    p = run([edgecc, "plan", *args, "--targets", "host"], want=2)
    lines = p.stderr.strip().splitlines()
    if len(lines) != 1 or needle not in lines[0]:
        raise SystemExit("FAILED: edgecc plan %s: wanted one line with %r, got:\n%s" % (" ".join(args), needle, p.stderr))
    print("usage error as wanted: %s" % lines[0])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--edgecc", required=True)
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--src", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    import torch
    torch.set_num_threads(1)
    sys.path.insert(0, os.path.join(a.src, "examples", "fashion"))
    import train
    for f in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
              "t10k-labels-idx1-ubyte.gz"):
        if not os.path.exists(os.path.join(DATA, f)):
            raise SystemExit("FAILED: %s/%s missing (apt-get install dataset-fashion-mnist)" % (DATA, f))
    os.makedirs(a.work, exist_ok=True)
    xs = train.normalise(train.read_idx(os.path.join(DATA, "train-images-idx3-ubyte.gz")))
    ys = torch.from_numpy(train.read_idx(os.path.join(DATA, "train-labels-idx1-ubyte.gz")).astype(np.int64))
    xt = train.normalise(train.read_idx(os.path.join(DATA, "t10k-images-idx3-ubyte.gz")))
    yt = torch.from_numpy(train.read_idx(os.path.join(DATA, "t10k-labels-idx1-ubyte.gz")).astype(np.int64))
    base = onnx.load(os.path.join(a.src, "examples", "fashion", "fashion.onnx"))
    fa, fb = os.path.join(a.work, "fa.onnx"), os.path.join(a.work, "fb.onnx")
    fine_tune(a.src, base, xs, ys, 1, fa)
    fine_tune(a.src, base, xs, ys, 2, fb)
    ma, mb = onnx.load(fa), onnx.load(fb)
    ia = {i.name: numpy_helper.to_array(i) for i in ma.graph.initializer}
    ib = {i.name: numpy_helper.to_array(i) for i in mb.graph.initializer}
    convs_a = [n for n in ma.graph.node if n.op_type == "Conv"]
    convs_b = [n for n in mb.graph.node if n.op_type == "Conv"]
    if len(convs_a) != 11 or any(np.array_equal(ia[x.input[1]], ib[y.input[1]]) for x, y in zip(convs_a, convs_b)):
        raise SystemExit("FAILED: the fine-tuned copies should differ in each of their 11 convolutions")
    calib = os.path.join(a.src, "examples", "fashion", "calib")

    usage(a.edgecc, [fa, fb, "--merge-budget", "1"], "--merge-budget needs --calib DIR")
    for bad in ("x", "-1", "101", "nan"):
        usage(a.edgecc, [fa, fb, "--calib", calib, "--merge-budget", bad], "--merge-budget %s: percentage points" % bad)
    usage(a.edgecc, [fa, "--calib", calib, "--merge-budget", "1"], "--merge-budget needs several models")
    usage(a.edgecc, [fa, fb, "--calib", calib, "--merge-budget", "1", "--accuracy-budget", "1"],
          "--accuracy-budget: several models are not quantized yet")
    usage(a.edgecc, [fa, fb, "--calib", calib], "--calib: one model at a time")

    figures = {}
    for budget in ("1", "0"):
        out = os.path.join(a.work, "out" + budget)
        p = run([a.edgecc, fa, fb, "--targets", "host", "--kernels", "ref", "--calib", calib, "--calib-max", "300",
                 "--merge-budget", budget, "-o", out, "--force"])
        if "merge budget, fb" not in p.stderr or "runs" not in p.stderr:
            raise SystemExit("FAILED: no progress on stderr:\n%s" % p.stderr)
        merge = json.load(open(os.path.join(out, "plan.json")))["merge"]
        ap_ = merge["approximate"]
        m = ap_["models"][0]
        print("budget %s pp: fb takes fa's weights in %d of %d nodes (%d bytes), agrees on %d of %d; %s" % (
            budget, m["taken"], m["candidates"], m["bytes"], m["agree"], ap_["samples"], m["stop"]))
        # Candidates: the 11 convolutions (all differ); the Gemm writes the output, which is never merged.
        if ap_["samples"] != 300 or ap_["allowed"] != int(float(budget) * 3) or m["candidates"] != 11:
            raise SystemExit("FAILED: approximate: %r" % (ap_,))
        if m["agree"] < 300 - ap_["allowed"]:
            raise SystemExit("FAILED: fb agrees with itself on %d of 300 only" % m["agree"])
        if merge["weight_bytes"]["saved"] != m["bytes"]:
            raise SystemExit("FAILED: weights saved %d, the bytes taken %d" % (merge["weight_bytes"]["saved"], m["bytes"]))
        figures[budget] = (out, m)
    if figures["0"][1]["taken"] > figures["1"][1]["taken"]:
        raise SystemExit("FAILED: budget 0 took more nodes than budget 1")
    out, m = figures["1"]
    if m["taken"] < 1:
        raise SystemExit("FAILED: budget 1 shares nothing: no test of the merged program")

    # The hybrid: fb with its first `taken` convolutions' weights (and biases) fa's.
    hyb = onnx.load(fb)
    inits = {i.name: i for i in hyb.graph.initializer}
    for x, y in list(zip(convs_a, convs_b))[:m["taken"]]:
        for k in (1, 2):
            inits[y.input[k]].CopyFrom(numpy_helper.from_array(ia[x.input[k]], y.input[k]))
    prog = os.path.join(a.work, "bin", "fa_fb_p0")
    run([os.path.join(a.src, "tests/codegen/build_generated.sh"), os.path.join(out, "host"), a.build_dir, prog])
    net_a, net_h = fashion_net(a.src, ma), fashion_net(a.src, hyb)
    for i in range(8):
        x = xt[i:i + 1]
        inp = os.path.join(a.work, "x%d.pb" % i)
        onnx.save_tensor(numpy_helper.from_array(x.numpy(), "input"), inp)
        got = [os.path.join(a.work, "got_%s_%d.pb" % (n, i)) for n in ("fa", "fb")]
        run([prog, "--input", inp, "--output", *got])
        with torch.no_grad():
            want = [net_a(x).numpy(), net_h(x).numpy()]
        for g, w, n in zip(got, want, ("fa", "fb (hybrid)")):
            y = numpy_helper.to_array(onnx.load_tensor(g))
            err = float(np.abs(y - w).max())
            if err > 1e-4 * float(np.abs(w).max()):
                raise SystemExit("FAILED: image %d, %s: the merged program differs from torch by %g" % (i, n, err))
    own, hybrid, acc_a = accuracy(a.src, mb, xt, yt), accuracy(a.src, hyb, xt, yt), accuracy(a.src, ma, xt, yt)
    print("test accuracy: fa %.2f%% (unchanged), fb %.2f%% alone, %.2f%% merged (fa's weights in %d convolutions)" % (
        acc_a / 100, own / 100, hybrid / 100, m["taken"]))
    if abs(own - hybrid) > 100:
        raise SystemExit("FAILED: fb's test accuracy moved by %.2f pp (budget 1)" % ((hybrid - own) / 100))
    print("ok")


if __name__ == "__main__":
    main()
