#!/usr/bin/python3
"""qdq_resnet50.py — the per-channel QDQ ResNet-50 of make_qdq_resnet50.py compiled by edgecc with
the fast kernels, against ONNX Runtime (npm onnxruntime-node, installed into WORK/ort when missing,
as qdq_ort.py does).

- Every Conv runs as an int8 layer (the qdq pass's QLinearConv) on XNNPACK's per-channel qc8
  convolution: no float Conv step is left (no dequantize-compute-quantize in float), and each
  of those steps is XNNPACK's with per-channel scales (`.w_scales`); the MaxPool pools int8
  values, the 16 residual Adds run as QLinearAdd on XNNPACK's qs8 add, and the only float steps
  are the head's (global average pooling and the fully connected layer).
- Same top-1 as ORT's optimised (fused int8) session, and a largest difference from it within
  1.5x the difference between ORT's own optimised and unoptimised (QDQ simulated in float)
  sessions.

usage: qdq_resnet50.py --edgecc PATH --build-dir BUILD --work DIR"""
import glob
import os
import re
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import qdq_ort  # noqa: E402  (ORT and edgecc runners, the int8-layer check)
from qdq_ort import check  # noqa: E402


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
    got, labels, ops = qdq_ort.edgecc_run(args, model, inp, work)
    qdq_ort.ran_int8("resnet50_qdq", model, labels, ops)
    src = "".join(open(f).read() for f in glob.glob(os.path.join(work, "out", "host", "*_p0.c")))
    n_qc8 = len(re.findall(r"\.kind = ECK_XNN_QCONV,(?:(?!\};).)*\.w_scales = ", src, re.S))
    check(n_qc8 == 53, "resnet50_qdq: %d of its 53 convolutions have per-channel scales (qc8)" % n_qc8)
    # the residual Adds (with their Relu) become QLinearAdd on XNNPACK's qs8 add; the MaxPool
    # pools int8 values; the only float compute left is the head
    n_add = len(re.findall(r"^\s*\.kind = ECK_XNN_QADD,", src, re.M))
    check(n_add == 16, "resnet50_qdq: %d of its 16 residual Adds run on XNNPACK's int8 add" % n_add)
    float_steps = sorted(set(re.findall(r"^\s*\.kind = ECK_XNN_(CONV|ADD|MAXPOOL|FC|GAVGPOOL),", src, re.M)))
    check(float_steps == ["FC", "GAVGPOOL"], "resnet50_qdq: float steps only in the head (%s)" % float_steps)
    fused = qdq_ort.ort_run(ortdir, model, x, "all", os.path.join(work, "ort_all_"))[0]
    plain = qdq_ort.ort_run(ortdir, model, x, "disabled", os.path.join(work, "ort_plain_"))[0]
    err = float(np.max(np.abs(got.astype(np.float64) - fused)))
    own = float(np.max(np.abs(plain.astype(np.float64) - fused)))
    big = float(np.max(np.abs(fused)))
    check(err <= 1.5 * own, "resnet50_qdq: largest difference from ORT's fused session %.4g <= 1.5x ORT's "
          "fused vs unoptimised %.4g; largest output %.3g" % (err, own, big))
    check(int(np.argmax(got)) == int(np.argmax(fused)), "resnet50_qdq: same top-1 as ORT (%d, %d)"
          % (int(np.argmax(got)), int(np.argmax(fused))))
    return qdq_ort.verdict()


if __name__ == "__main__":
    sys.exit(main())
