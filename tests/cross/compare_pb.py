#!/usr/bin/python3
"""compare_pb.py EXPECTED.pb GOT.pb — ONNX TensorProto files equal by ONNX's rule: same dtype and
shape; |got - expected| <= 1e-7 + 1e-3 * |expected|; NaN equals NaN; integers exact."""
import sys

import numpy as np
import onnx
from onnx import numpy_helper


def load(path):
    t = onnx.TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return numpy_helper.to_array(t)


e, g = load(sys.argv[1]), load(sys.argv[2])
if e.dtype != g.dtype or e.shape != g.shape:
    sys.exit(f"dtype/shape differ: {e.dtype}{e.shape} vs {g.dtype}{g.shape}")
if np.issubdtype(e.dtype, np.floating):
    bad = ~((np.abs(g - e) <= 1e-7 + 1e-3 * np.abs(e)) | (np.isnan(e) & np.isnan(g)))
    if bad.any():
        sys.exit(f"{int(bad.sum())} values differ; max abs diff {np.nanmax(np.abs(g - e)):.3g}")
elif not np.array_equal(e, g):
    sys.exit("values differ")
print("match")
