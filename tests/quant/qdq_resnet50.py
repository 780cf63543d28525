#!/usr/bin/python3
"""qdq_resnet50.py — the per-channel QDQ ResNet-50 of make_qdq_resnet50.py compiled by edgecc with
the fast kernels, against ONNX Runtime (npm onnxruntime-node, installed into WORK/ort when missing,
as qdq_ort.py does).

- Once per fast kernel family of --kernels (xnnpack, onednn; both in the zoo test).
- Every Conv runs as an int8 layer (the qdq pass's QLinearConv) on XNNPACK's per-channel qc8
  (--kernels onednn: on oneDNN's int8 convolution with one output scale per channel)
  convolution: no float Conv step is left (no dequantize-compute-quantize in float), and each
  of those steps is XNNPACK's with per-channel scales (`.w_scales`); the MaxPool pools int8
  values, the 16 residual Adds run as QLinearAdd on XNNPACK's qs8 add, and the only float steps
  are the head's (global average pooling and the fully connected layer).
- Accuracy, against the QDQ semantics computed in float64 by numpy (qdq_ref.py; neither ONNX
  Runtime nor edgecc) on the zoo's seeded input and INPUTS - 1 more seeded inputs: ONNX Runtime's
  unoptimised session (QDQ simulated in float32, the reference the ONNX semantics are usually
  checked with) is the yardstick. Its float32 sums put values near a rounding boundary one step
  off, and those steps spread through the 50 layers below; edgecc's int8 layers sum exactly, so
  it must be at least as close to the semantics: mean and largest |edgecc - float64| over all the
  inputs' logits within the unoptimised session's own mean and largest |ORT - float64| (margin
  1.0; measured session 8 over 4 inputs and two builds of the model, see docs/quantization.md:
  edgecc's about 0.7x ORT's). Then, by the triangle inequality, edgecc is within twice that of
  ORT's unoptimised session itself, checked too. The reference is checked first: its mean
  difference from ORT's unoptimised session within 0.15x the logits' standard deviation
  (measured 0.06x; a reference that rounds QuantizeLinear down instead of to nearest is 0.37x).
  Same top-1 as float64 on every input whose
  top-1 leads by more than the unoptimised session's largest error.
- ORT's optimised session is printed, not checked: it is no int8 reference (it keeps 20 of the
  53 Convs, the 16 Adds and the MaxPool in float, where a Conv's int8 input has two readers).

usage: qdq_resnet50.py --edgecc PATH --build-dir BUILD --work DIR [--kernels xnnpack,onednn]"""
import glob
import os
import re
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import qdq_ort  # noqa: E402  (ORT and edgecc runners, the int8-layer check)
import qdq_ref  # noqa: E402  (the QDQ semantics in float64)
from onnx import numpy_helper  # noqa: E402
from qdq_ort import check  # noqa: E402

REFS = {}           # input index -> (float64 QDQ reference, ORT unoptimised), shared by the families
INPUTS = 4          # the zoo's seeded input and 3 more
SEED_INPUTS = 60    # their generator's (numpy's PCG64, the same on every machine)


def main():
    args = qdq_ort.parse_args()
    work = args.work
    os.makedirs(work, exist_ok=True)
    ortdir = qdq_ort.ensure_ort(work)
    t0 = time.monotonic()
    qdq_ort.run([sys.executable, os.path.join(HERE, "make_qdq_resnet50.py"), "--ort", ortdir, work])
    print("made the QDQ model in %.0f s" % (time.monotonic() - t0))
    model = os.path.join(work, "resnet50_qdq.onnx")
    inp = os.path.join(work, "resnet50_qdq_input_0.pb")
    x = qdq_ort.load_pb(inp)
    families = args.kernels.split(",")
    firsts = {}
    for k in families:
        lib = {"xnnpack": ("XNNPACK", "XNN"), "onednn": ("oneDNN", "DNNL")}.get(k)
        check(lib is not None, "--kernels: %s is xnnpack or onednn" % k)
        if lib is None:
            continue
        # each family's program in a folder of its own: the weights file is copied beside it
        got, labels, ops = qdq_ort.edgecc_run(args, model, inp, work, k, "out_" + k, os.path.join("bin_" + k, "prog"))
        firsts[k] = got
        qdq_ort.ran_int8("resnet50_qdq", model, labels, ops, lib[0])
        src = "".join(open(f).read() for f in glob.glob(os.path.join(work, "out_" + k, "host", "*_p0.c")))
        # XNNPACK's qc8, or oneDNN's int8 convolution with one output scale per channel
        n_qc8 = len(re.findall(r"\.kind = ECK_%s_QCONV,(?:(?!\};).)*\.w_scales = " % lib[1], src, re.S))
        check(n_qc8 == 53, "resnet50_qdq (%s): %d of its 53 convolutions on %s with per-channel scales"
              % (k, n_qc8, lib[0]))
        # the residual Adds (with their Relu) become QLinearAdd on XNNPACK's qs8 add (oneDNN's sum
        # post-op would skip the rounding of the convolution's output: not fused); the MaxPool
        # pools int8 values; the only float compute left is the head
        n_add = len(re.findall(r"^\s*\.kind = ECK_XNN_QADD,", src, re.M))
        check(n_add == 16, "resnet50_qdq (%s): %d of its 16 residual Adds run on XNNPACK's int8 add" % (k, n_add))
        float_steps = sorted(set(re.findall(r"^\s*\.kind = ECK_(?:XNN|DNNL)_(CONV|ADD|MAXPOOL|FC|GAVGPOOL),", src,
                                            re.M)))
        check(float_steps == ["FC", "GAVGPOOL"], "resnet50_qdq (%s): float steps only in the head (%s)"
              % (k, float_steps))
    # more seeded inputs, the zoo input's distribution (standard normal)
    rng = np.random.default_rng(SEED_INPUTS)
    xs = [x] + [rng.standard_normal(x.shape).astype(np.float32) for _ in range(INPUTS - 1)]
    for fam in firsts:
        print("== --kernels %s" % fam)
        check_family(args, work, model, ortdir, fam, firsts[fam], xs)
    return qdq_ort.verdict()


def check_family(args, work, model, ortdir, fam, got, xs):
    """The accuracy checks of the program compiled with --kernels fam (its output on xs[0]: got)."""
    exe = os.path.join(work, "bin_" + fam, "prog")
    dist = {"edgecc": [], "ort": [], "edgecc_ort": [], "ref": []}
    for k, xk in enumerate(xs):
        if k:
            inp = os.path.join(work, "input_%d.pb" % k)
            with open(inp, "wb") as f:
                f.write(numpy_helper.from_array(xk, "input").SerializeToString())
            res = os.path.join(work, "y_%s_%d.pb" % (fam, k))
            qdq_ort.run([exe, "--input", inp, "--output", res, "--threads", "1"])
            got = qdq_ort.load_pb(res)
        e = got.astype(np.float64).ravel()
        if k not in REFS:  # the same for every family: computed once
            REFS[k] = (qdq_ref.run(model, xk)[0].ravel(),
                       qdq_ort.ort_run(ortdir, model, xk, "disabled", os.path.join(work, "ort_plain_"))[0])
        ref, plain = REFS[k]
        plain = plain.astype(np.float64).ravel()
        de, dp = np.abs(e - ref), np.abs(plain - ref)
        dist["edgecc"].append(de)
        dist["ort"].append(dp)
        dist["edgecc_ort"].append(np.abs(e - plain))
        dist["ref"].append(ref)
        line = "input %d: |edgecc - float64| max %.4f mean %.4f; |ORT unoptimised - float64| max %.4f mean %.4f" % (
            k, de.max(), de.mean(), dp.max(), dp.mean())
        if k == 0:
            fused = qdq_ort.ort_run(ortdir, model, xk, "all", os.path.join(work, "ort_all_"))[0]
            df = np.abs(fused.astype(np.float64).ravel() - ref)
            line += "; |ORT optimised - float64| max %.4f mean %.4f (not checked)" % (df.max(), df.mean())
        print(line)
        top = np.argsort(ref)[::-1]
        if ref[top[0]] - ref[top[1]] > dp.max():
            check(int(np.argmax(e)) == int(top[0]),
                  "input %d: same top-1 as float64 (%d, %d)" % (k, int(np.argmax(e)), int(top[0])))
        else:
            print("input %d: top-1 leads by %.4f, within ORT's own error: not compared"
                  % (k, ref[top[0]] - ref[top[1]]))
    de, dp, dep, ref = (np.concatenate(dist[n]) for n in ("edgecc", "ort", "edgecc_ort", "ref"))
    # the reference itself: ORT's unoptimised session computes the same semantics, so the two
    # differ by float32's rounding steps only (measured 0.06 of the logits' spread)
    check(dp.mean() <= 0.15 * ref.std(), "resnet50_qdq: float64 QDQ reference and ORT unoptimised agree: mean "
          "difference %.4f <= 0.15x the logits' standard deviation %.4f" % (dp.mean(), ref.std()))
    check(de.mean() <= dp.mean(), "resnet50_qdq: mean |edgecc - float64 QDQ| %.4f <= ORT unoptimised's %.4f "
          "(%d inputs, ratio %.2f)" % (de.mean(), dp.mean(), len(xs), de.mean() / dp.mean()))
    check(de.max() <= dp.max(), "resnet50_qdq: largest |edgecc - float64 QDQ| %.4f <= ORT unoptimised's %.4f "
          "(ratio %.2f)" % (de.max(), dp.max(), de.max() / dp.max()))
    check(dep.max() <= 2 * dp.max(), "resnet50_qdq: largest |edgecc - ORT unoptimised| %.4f <= 2x ORT unoptimised's "
          "own %.4f" % (dep.max(), dp.max()))


if __name__ == "__main__":
    sys.exit(main())
