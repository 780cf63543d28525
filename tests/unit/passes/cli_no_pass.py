#!/usr/bin/python3
"""`edgecc eval --no-pass NAME` end to end: outputs with each pass off equal those with all passes
on (bit-exact unless bn-fold is involved, else within 1e-5 of the largest value), and an unknown
pass name is a usage error (exit 2) that lists the known passes.

Usage: /usr/bin/python3 tests/unit/passes/cli_no_pass.py --edgecc PATH --work DIR MODEL...
"""

import argparse
import os
import subprocess
import sys

import numpy as np
from onnx import TensorProto, load, numpy_helper

PASSES = ["const-fold", "dce", "identity", "bn-fold", "layernorm", "gelu", "pow-square", "qdq", "matmul-bias"]


def run(cmd):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def input_files(model_path, work):
    """Seeded inputs for the model's graph inputs (initializers excluded)."""
    m = load(model_path)
    inits = {t.name for t in m.graph.initializer}
    rng = np.random.default_rng(11)
    files = []
    for i, vi in enumerate(x for x in m.graph.input if x.name not in inits):
        tt = vi.type.tensor_type
        shape = [d.dim_value if d.dim_value > 0 else 1 for d in tt.shape.dim]
        assert tt.elem_type == TensorProto.FLOAT, "float inputs only"
        arr = rng.uniform(-1, 1, shape).astype(np.float32)
        path = os.path.join(work, "in_%d.pb" % i)
        with open(path, "wb") as f:
            f.write(numpy_helper.from_array(arr, vi.name).SerializeToString())
        files.append(path)
    return files, len(m.graph.output)


def evaluate(edgecc, model, ins, n_out, work, tag, extra):
    outs = [os.path.join(work, "%s_out_%d.pb" % (tag, i)) for i in range(n_out)]
    cmd = [edgecc, "eval", model] + extra
    for f in ins:
        cmd += ["--input", f]
    for f in outs:
        cmd += ["--output", f]
    p = run(cmd)
    if p.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(cmd), p.returncode, p.stderr.strip()))
    res = []
    for f in outs:
        t = numpy_helper.to_array(load_tensor(f))
        res.append(t)
    return res


def load_tensor(path):
    t = TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--edgecc", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("models", nargs="+")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)

    p = run([a.edgecc, "eval", a.models[0], "--no-pass", "no-such-pass"])
    failures = 0
    if p.returncode != 2 or not all(n in p.stderr for n in PASSES):
        print("FAIL --no-pass no-such-pass: exit %d, stderr %r" % (p.returncode, p.stderr))
        failures += 1

    for model in a.models:
        stem = os.path.splitext(os.path.basename(model))[0]
        work = os.path.join(a.work, stem)
        os.makedirs(work, exist_ok=True)
        ins, n_out = input_files(model, work)
        ref = evaluate(a.edgecc, model, ins, n_out, work, "none", ["--no-pass", "all"])
        configs = [("all", [])] + [("no-" + n, ["--no-pass", n]) for n in PASSES]
        for tag, extra in configs:
            got = evaluate(a.edgecc, model, ins, n_out, work, tag, extra)
            exact = tag == "no-bn-fold"
            for r, g in zip(ref, got):
                if exact:
                    ok = r.shape == g.shape and r.tobytes() == g.tobytes()
                else:
                    big = float(np.abs(r).max()) if r.size else 0.0
                    ok = r.shape == g.shape and float(np.abs(r - g).max() if r.size else 0) <= 1e-5 * max(big, 1e-30)
                if not ok:
                    print("FAIL %s %s: outputs differ" % (stem, tag))
                    failures += 1
        print("%s: %d configurations compared" % (stem, len(configs)))
    print("FAILED" if failures else "ok")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
