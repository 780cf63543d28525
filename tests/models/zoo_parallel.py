#!/usr/bin/python3
"""zoo_parallel.py — a zoo model compiled with each --parallel mode gives the same output, bit
for bit, on the threads its clusters run on.

usage: zoo_parallel.py --edgecc E --cache DIR --work DIR [--threads N] [--tsan] [--need-clusters]
                       [--kernels xnnpack|default] MODEL

Reads MODEL from the zoo cache (a missing file fails). For intra, inter and auto:
`edgecc MODEL.onnx --targets host --threads N --parallel MODE` (--kernels xnnpack, the default
here: XNNPACK's pool shared by the clusters; --kernels default: no --kernels, x86-64's default
order, so oneDNN's steps run on the OpenMP teams the plan gives them, plan.json's onednn_teams,
and at least one of inter's must have every thread), plan.json's clusters read, the
folder built with its own CMakeLists.txt (with --tsan: -fsanitize=thread, and any ThreadSanitizer
report fails), run on MODEL_input_0.pb with --threads N, with --threads 1 (the clusters' steps
in one valid order on one thread) and with --threads N+1 (a worker of the pool the clusters share
beside their threads). Every output must equal intra's byte for byte, and intra's must
be within 1e-4 of the largest of torch's. --need-clusters: inter must have made more than one
cluster (a model with branches), so the test cannot pass without running clusters on threads.
A mode whose generated folder is byte for byte one an earlier mode built (a model without
branches gets one cluster in every mode; plan.json and the README aside) reuses that build and
its outputs: the same bytes compile to the same program, and CI time goes to the folders that
differ. The work folder is deleted when the test passes.
"""

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import onnx
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from zoo_cache import require  # noqa: E402


def run(argv, env=None):
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    if p.returncode != 0:
        raise SystemExit("FAILED: %s\nexit %d\n%s%s" % (" ".join(argv), p.returncode, p.stdout[-2000:], p.stderr[-3000:]))
    return p


def folder_digest(path):
    """SHA-256 over the device folder's file names and bytes, README.md left out (it quotes the plan)."""
    h = hashlib.sha256()
    for root, dirs, files in sorted(os.walk(path)):
        dirs.sort()
        for name in sorted(files):
            if name == "README.md":
                continue
            full = os.path.join(root, name)
            h.update(os.path.relpath(full, path).encode() + b"\0")
            with open(full, "rb") as f:
                h.update(f.read())
    return h.hexdigest()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--edgecc", required=True)
    ap.add_argument("--cache", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--tsan", action="store_true", help="build with -fsanitize=thread")
    ap.add_argument("--need-clusters", action="store_true", help="inter must make more than one cluster")
    ap.add_argument("--kernels", choices=("xnnpack", "default"), default="xnnpack")
    ap.add_argument("model")
    a = ap.parse_args()

    onnx_path = require(a.model, a.cache)
    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)
    inp = os.path.join(a.cache, a.model + "_input_0.pb")
    env = dict(os.environ)
    if a.tsan:
        # Reports go to stderr, which run() shows; exit code 66 marks a run that had one.
        env["TSAN_OPTIONS"] = "exitcode=66 halt_on_error=1 second_deadlock_stack=1"
    outputs, clusters, built, teams = {}, {}, {}, {}
    # One thread (the steps in order), the compiled count, and one more: a worker of the kernel
    # pool the clusters share, beside their own threads.
    run_threads = sorted({1, a.threads, a.threads + 1})
    for mode in ("intra", "inter", "auto"):
        out = os.path.join(a.work, mode)
        # XNNPACK's pool shared by the clusters, or x86-64's default order (oneDNN's teams).
        kernels = ["--kernels", "xnnpack"] if a.kernels == "xnnpack" else []
        run([a.edgecc, onnx_path, "--targets", "host", *kernels, "--threads", str(a.threads),
             "--parallel", mode, "-o", out, "--name", "model"])
        with open(os.path.join(out, "plan.json")) as f:
            part = json.load(f)["partitions"][0]
        clusters[mode] = len(part["clusters"])
        teams[mode] = [t for c in part["clusters"] for t in c.get("onednn_teams", {}).values()]
        if part["parallel"] != mode:
            raise SystemExit("FAILED: plan.json says parallel %s, compiled with %s" % (part["parallel"], mode))
        digest = folder_digest(os.path.join(out, "host"))
        if digest in built:
            for threads in run_threads:
                outputs[(mode, threads)] = outputs[(built[digest], threads)]
            print("%s: generated folder identical to %s's: its build and outputs reused" % (mode, built[digest]))
            continue
        built[digest] = mode
        b = os.path.join(a.work, mode + "-build")
        flags = ["-DCMAKE_C_FLAGS=-fsanitize=thread -g", "-DCMAKE_EXE_LINKER_FLAGS=-fsanitize=thread"] if a.tsan else []
        run(["cmake", "-S", os.path.join(out, "host"), "-B", b, "-G", "Ninja", "-DCMAKE_BUILD_TYPE=Release"] + flags)
        run(["cmake", "--build", b])
        for threads in run_threads:
            got = os.path.join(a.work, "%s-%d.pb" % (mode, threads))
            run([os.path.join(b, "model_p0"), "--input", inp, "--output", got, "--threads", str(threads)], env=env)
            with open(got, "rb") as f:
                outputs[(mode, threads)] = f.read()
    if a.need_clusters and clusters["inter"] < 2:
        raise SystemExit("FAILED: --parallel inter made %d cluster(s); the test needs a model it clusters"
                         % clusters["inter"])
    if a.kernels == "default" and a.need_clusters and a.threads > 1 and a.threads not in teams["inter"]:
        raise SystemExit("FAILED: no oneDNN step of inter's clusters has a team of %d threads (teams %s): the stem "
                         "runs beside no other cluster" % (a.threads, sorted(set(teams["inter"]))))
    ref = outputs[("intra", a.threads)]
    for key, data in sorted(outputs.items()):
        if data != ref:
            raise SystemExit("FAILED: --parallel %s at %d thread(s) differs from intra at %d" % (key[0], key[1], a.threads))
    got = numpy_helper.to_array(onnx.load_tensor(os.path.join(a.work, "intra-%d.pb" % a.threads)))
    exp = numpy_helper.to_array(onnx.load_tensor(os.path.join(a.cache, a.model + "_output_0.pb")))
    scale = float(np.abs(exp).max())
    err = float(np.abs(got.astype(np.float64) - exp).max())
    if got.shape != exp.shape or not err <= 1e-4 * scale:
        raise SystemExit("FAILED: intra's output is off torch's by %.3g (largest %.3g)" % (err, scale))
    print("%s (%s kernels): clusters intra %d, inter %d, auto %d; inter's oneDNN teams %s; outputs identical at %s "
          "threads%s; max error %.2e of %.3g"
          % (a.model, a.kernels, clusters["intra"], clusters["inter"], clusters["auto"],
             sorted(set(teams["inter"])) or "none", ", ".join(map(str, run_threads)),
             " under ThreadSanitizer" if a.tsan else "", err, scale))
    shutil.rmtree(a.work, ignore_errors=True)


if __name__ == "__main__":
    main()
