#!/usr/bin/python3
"""zoo_inspect.py — checks `edgecc inspect --json` on one torchvision zoo model against the ONNX
file itself and against count_macs.py, the independent counter.

Usage: /usr/bin/python3 tests/models/zoo_inspect.py --edgecc PATH --cache DIR MODEL
Reads MODEL from the zoo cache DIR (filled by the zoo_export fixture, tests/models/zoo_cache.py;
a missing file fails the test), then checks:
graph input and output dtypes and shapes equal the model's declared ones; `params` equals
count_macs.py's params exactly; Conv+Gemm+MatMul of `macs_by_op` is within 1% of its conv_gemm_macs.
Exit 0 pass, 1 fail (each mismatch printed).
"""

import argparse
import json
import os
import subprocess
import sys

import onnx

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from zoo_cache import export, require  # noqa: E402,F401  (export: the benchmarks import it from here)
DTYPE_NAMES = {1: "float32", 2: "uint8", 3: "int8", 6: "int32", 7: "int64", 9: "bool",
               10: "float16", 11: "float64"}
MAC_OPS = ("Conv", "Gemm", "MatMul")


def counts(path):
    """count_macs.py's figures, cached beside the model (keyed by its size and mtime)."""
    st = os.stat(path)
    key = "%d-%d" % (st.st_size, st.st_mtime_ns)
    cache = path + ".counts.json"
    if os.path.exists(cache):
        with open(cache) as f:
            c = json.load(f)
        if c.get("key") == key:
            return c
    out = subprocess.run([sys.executable, os.path.join(HERE, "count_macs.py"), path],
                         stdout=subprocess.PIPE, check=True).stdout
    c = json.loads(out)
    c["key"] = key
    with open(cache + ".tmp", "w") as f:
        json.dump(c, f)
    os.replace(cache + ".tmp", cache)
    return c


def declared(model, which):
    """[(name, dtype, shape)] of the graph's inputs (initializers excluded) or outputs."""
    inits = {t.name for t in model.graph.initializer}
    vis = model.graph.input if which == "inputs" else model.graph.output
    res = []
    for vi in vis:
        if vi.name in inits:
            continue
        t = vi.type.tensor_type
        res.append((vi.name, DTYPE_NAMES.get(t.elem_type, str(t.elem_type)),
                    [d.dim_value if d.HasField("dim_value") else d.dim_param for d in t.shape.dim]))
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--edgecc", required=True)
    ap.add_argument("--cache", required=True, help="the zoo cache (the zoo_export fixture fills it)")
    ap.add_argument("model")
    args = ap.parse_args()

    path = require(args.model, args.cache)
    want = counts(path)
    p = subprocess.run([args.edgecc, "inspect", path, "--json"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=120)
    err = p.stderr.decode("utf-8", "replace").strip()
    if p.returncode != 0:
        print("FAIL: edgecc inspect %s exited %d:\n%s" % (path, p.returncode, err))
        if p.returncode == 1 and "unknown op" in err:
            print("(the zoo test needs every op of %s; edgecc does not know one of them yet)" % args.model)
        return 1
    try:
        got = json.loads(p.stdout.decode("utf-8"))
    except ValueError as e:  # UnicodeDecodeError is a ValueError
        print("FAIL: edgecc inspect --json printed something that is not JSON in UTF-8: %s" % e)
        print(p.stdout[:2000].decode("utf-8", "replace"))
        return 1
    model = onnx.load(path, load_external_data=False)

    problems = []
    for which in ("inputs", "outputs"):
        exp = declared(model, which)
        have = [(t["name"], t["dtype"], t["shape"]) for t in got[which]]
        if have != exp:
            problems.append("%s: edgecc %s, the model declares %s" % (which, have, exp))
    if got["params"] != want["params"]:
        problems.append("params: edgecc %d, count_macs.py %d (diff %+d)"
                        % (got["params"], want["params"], got["params"] - want["params"]))
    macs = sum(got.get("macs_by_op", {}).get(op, 0) for op in MAC_OPS)
    ref = want["conv_gemm_macs"]
    rel = abs(macs - ref) / ref if ref else float(macs != 0)
    if rel > 0.01:
        problems.append("Conv+Gemm+MatMul multiply-adds: edgecc %.0f, count_macs.py %d (%.2f%% off, 1%% allowed)"
                        % (macs, ref, 100 * rel))
    if got.get("unsupported_ops"):
        print("note: ops edgecc cannot compile yet: %s" % got["unsupported_ops"])
    print("%s: inputs %s, outputs %s, params %d (count_macs %d), conv+gemm+matmul MACs %.0f "
          "(count_macs %d, %.3f%% off), total MACs %.0f"
          % (args.model, [t["shape"] for t in got["inputs"]], [t["shape"] for t in got["outputs"]],
             got["params"], want["params"], macs, ref, 100 * rel, got.get("macs", 0)))
    for pr in problems:
        print("FAIL: " + pr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
