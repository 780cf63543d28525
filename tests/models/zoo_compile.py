#!/usr/bin/python3
"""zoo_compile.py — a zoo model compiled by edgecc, built, run, and checked against torch.

usage: zoo_compile.py --edgecc E --build-dir B --cache DIR --work DIR --kernels ref|xnnpack|default
                      --malloc-count LIB [--arena-ratio R] [--max-transposes N] MODEL

Reads MODEL from the zoo cache (the zoo_export fixture fills it; a missing file fails), then:
- `edgecc MODEL.onnx --targets host --kernels K -o WORK/out` (default: no --kernels, the x86-64
  order: oneDNN first, XNNPACK and OpenBLAS for the rest);
- plan.json: the memory plan was verified, and the arena is at most 1.1x its lower bound (or the
  --arena-ratio given);
- with --max-transposes, the generated C runs at most N Transpose steps (layout conversions, a
  model's own permutes; a Transpose that moves no byte has no step): what is left of them;
- builds the program (ref: against the runtime and kernel libraries of the main build, through
  tests/codegen/build_generated.sh; xnnpack: the folder's own CMakeLists.txt);
- runs it on MODEL_input_0.pb: max |got - torch| <= 1e-4 * max |torch|;
- with the malloc counter preloaded, `--bench 1` and `--bench 4` make the same number of
  allocations: the run function allocates nothing after warm-up.
The work folder is deleted when the test passes.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import onnx
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from zoo_cache import require  # noqa: E402


def run(argv, **kw):
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
    if p.returncode != 0:
        raise SystemExit("FAILED: %s\nexit %d\n%s%s" % (" ".join(argv), p.returncode, p.stdout[-2000:], p.stderr[-2000:]))
    return p


def malloc_count(argv, lib):
    # Without OPENBLAS_CORETYPE (CI sets it), as on a user's machine: OpenBLAS then picks its
    # core type itself, and on AVX-512 cores its small-matrix kernels malloc on every call.
    env = dict(os.environ, LD_PRELOAD=lib)
    env.pop("OPENBLAS_CORETYPE", None)
    p = run(argv, env=env)
    lines = [l for l in p.stderr.splitlines() if l.startswith("malloc_count:")]
    if not lines:
        raise SystemExit("FAILED: the malloc counter printed nothing for %s" % " ".join(argv))
    return int(lines[-1].split()[1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--edgecc", required=True)
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--cache", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--kernels", required=True, choices=["ref", "xnnpack", "default"],
                    help="default: no --kernels, the target's own order (x86-64: oneDNN first)")
    ap.add_argument("--malloc-count", required=True)
    ap.add_argument("--arena-ratio", type=float, default=1.1, help="largest arena / lower bound allowed")
    ap.add_argument("--max-transposes", type=int, help="most Transpose steps the generated C may run")
    ap.add_argument("model")
    a = ap.parse_args()

    onnx_path = require(a.model, a.cache)
    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)
    out = os.path.join(a.work, "out")
    kflags = [] if a.kernels == "default" else ["--kernels", a.kernels]
    run([a.edgecc, onnx_path, "--targets", "host"] + kflags + ["-o", out, "--name", "model"])

    with open(os.path.join(out, "plan.json")) as f:
        plan = json.load(f)
    for part in plan["partitions"]:
        if part.get("arena_verified") is not True:
            raise SystemExit("FAILED: plan.json does not record a verified memory plan")
        arena, bound = part["arena_bytes"], part["arena_lower_bound_bytes"]
        if arena > a.arena_ratio * bound:
            raise SystemExit("FAILED: arena %d bytes is more than %gx its lower bound %d" % (arena, a.arena_ratio, bound))

    host = os.path.join(out, "host")
    # Each step's comment opens "/* node 'NAME' (OP):"; a step that is no step (an aliased copy)
    # has none.
    with open(os.path.join(host, "model_p0.c")) as f:
        transposes = sum(1 for line in f if line.startswith("/* node '") and line.rstrip().endswith("(Transpose):"))
    if a.max_transposes is not None and transposes > a.max_transposes:
        raise SystemExit("FAILED: %d Transpose steps left in the generated code, at most %d expected"
                         % (transposes, a.max_transposes))
    if a.kernels == "ref":
        exe = os.path.join(a.work, "bin", "model_p0")
        run([os.path.join(REPO, "tests/codegen/build_generated.sh"), host, a.build_dir, exe],
            env=dict(os.environ, CFLAGS="-O2"))
    else:
        b = os.path.join(a.work, "build")
        run(["cmake", "-S", host, "-B", b, "-G", "Ninja", "-DCMAKE_BUILD_TYPE=Release"])
        run(["cmake", "--build", b])
        exe = os.path.join(b, "model_p0")

    got_pb = os.path.join(a.work, "got.pb")
    inp = os.path.join(a.cache, a.model + "_input_0.pb")
    run([exe, "--input", inp, "--output", got_pb])
    got = numpy_helper.to_array(onnx.load_tensor(got_pb))
    exp = numpy_helper.to_array(onnx.load_tensor(os.path.join(a.cache, a.model + "_output_0.pb")))
    if got.shape != exp.shape:
        raise SystemExit("FAILED: output shape %s, torch %s" % (got.shape, exp.shape))
    scale = float(np.abs(exp).max())
    err = float(np.abs(got.astype(np.float64) - exp).max())
    if not err <= 1e-4 * scale:
        raise SystemExit("FAILED: max error %.3g is more than 1e-4 of the largest output %.3g" % (err, scale))

    counts = [malloc_count([exe, "--input", inp, "--bench", str(n)], a.malloc_count) for n in (1, 4)]
    per_run = (counts[1] - counts[0]) / 3.0
    if counts[0] != counts[1] and a.kernels != "default":
        raise SystemExit("FAILED: the run allocates: %d allocations with --bench 1, %d with --bench 4" % tuple(counts))
    # default: oneDNN's primitive execute builds its argument map on the heap at every call (oneDNN
    # 2.6's C API has no way around it), so those programs are not held to none per run; the count
    # is printed.

    print("%s --kernels %s: max error %.2e of %.3g; arena %d bytes (lower bound %d); %d allocations, %g per run; "
          "%d Transpose steps" % (a.model, a.kernels, err, scale, arena, bound, counts[0], per_run, transposes))
    shutil.rmtree(a.work, ignore_errors=True)


if __name__ == "__main__":
    main()
