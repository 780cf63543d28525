#!/usr/bin/python3
"""compare.py GOT.pb WANT.pb [TOL]: max |got - want| relative to max |want|; exit 1 above TOL (1e-4)."""
import sys

import numpy as np
from onnx import TensorProto, numpy_helper


def load(path):
    t = TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return numpy_helper.to_array(t).astype(np.float64)


got, want = load(sys.argv[1]), load(sys.argv[2])
tol = float(sys.argv[3]) if len(sys.argv) > 3 else 1e-4
if got.shape != want.shape:
    print(f"shape {got.shape} != {want.shape}")
    sys.exit(1)
err = float(np.max(np.abs(got - want)) / max(np.max(np.abs(want)), 1e-30))
print(f"rel_err {err:.3g} (tol {tol:g})")
sys.exit(0 if err <= tol else 1)
