#!/usr/bin/python3
"""Runs pass_check on one zoo model from the zoo cache (filled by the ctest fixture zoo_export).

Usage: /usr/bin/python3 tests/unit/passes/run_zoo.py --pass-check PATH --cache DIR [--bn] MODEL
       [pass_check options...]
Without --bn: the export of tests/models/export_zoo.py (torch already folded its BatchNorms).
With --bn: the same model exported with its BatchNormalizations kept (make_models.py --zoo),
so that bn-fold has work. A model missing from the cache fails the test (never a skip).
"""

import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "models"))
import zoo_cache  # noqa: E402


def main():
    pc = cache = None
    bn = False
    rest = []
    args = iter(sys.argv[1:])
    for a in args:
        if a == "--pass-check":
            pc = next(args, None)
        elif a == "--cache":
            cache = next(args, None)
        elif a == "--bn":
            bn = True
        else:
            rest.append(a)
    if not pc or not cache or not rest:
        sys.exit(__doc__)
    model, extra = rest[0], rest[1:]
    stem = os.path.basename(zoo_cache.require(model, cache, bn))[:-len(".onnx")]
    cmd = [pc, os.path.join(cache, stem + ".onnx"), "--input", os.path.join(cache, stem + "_input_0.pb")]
    return subprocess.run(cmd + extra).returncode


if __name__ == "__main__":
    sys.exit(main())
