#!/usr/bin/python3
"""--calib on compile and plan: usage errors, the set's hash, progress, the check and tightening.

  - every bad value of --calib, --calib-method, --calib-max, --calib-labels and --accuracy-budget
    is a usage error: exit 2 and one line;
  - examples/fashion with --calib-max 48 --accuracy-budget 0 (top-1 agreement, so not one sample
    may change its answer): plan.json's calib_sha256 equals the hash docs/quantization.md defines,
    computed here with hashlib; progress for calibration, sensitivity and the check goes to
    stderr; the summed sensitivities let through a plan that changes answers, so the check must
    tighten (rounds 2, a node kept fp32 "tightened") and the plan finally measured agrees on all
    48 samples; plan.json's int8 nodes are the generated code's QLinearConv/QLinearMatMul and
    its fp32 ones still Conv/Gemm;
  - two compiles with empty sensitivity caches write byte-identical folders; `edgecc plan` takes
    the same options.
"""

import argparse
import filecmp
import hashlib
import json
import os
import re
import shutil
import struct
import subprocess
import sys


def fail(msg):
    sys.exit("FAILED: " + msg)


def edgecc(args, exe, env=None):
    return subprocess.run([exe] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def set_hash(calib, n, method):
    h = hashlib.sha256()
    for name in sorted(f for f in os.listdir(calib) if f.endswith(".pb") and not f.startswith("."))[:n]:
        with open(os.path.join(calib, name), "rb") as f:
            data = f.read()
        h.update(name.encode() + b"\0" + struct.pack("<Q", len(data)) + data)
    h.update(("method=%s\nmax=%d\n" % (method, n)).encode())
    return h.hexdigest()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--edgecc", required=True)
    ap.add_argument("--root", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    model = os.path.join(args.root, "examples", "fashion", "fashion.onnx")
    calib = os.path.join(args.root, "examples", "fashion", "calib")
    digits = os.path.join(args.root, "examples", "digits", "digits.onnx")
    for p in (model, calib, digits):
        if not os.path.exists(p):
            fail(p + " missing")
    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(args.work)
    env = dict(os.environ, EDGECC_CACHE_DIR=os.path.join(args.work, "cache0"))

    bad_labels = os.path.join(args.work, "bad_labels.txt")
    with open(bad_labels, "w") as f:
        f.write("3\nseven\n")
    short_labels = os.path.join(args.work, "short_labels.txt")
    with open(short_labels, "w") as f:
        f.write("3\n")
    base = [model, "--targets", "host", "-o", os.path.join(args.work, "bad")]
    usage = [
        ["--calib", calib, "--calib-method", "median"],
        ["--calib", calib, "--calib-max", "0"],
        ["--calib", calib, "--calib-max", "1.5"],
        ["--calib", calib, "--accuracy-budget", "-1"],
        ["--calib", calib, "--accuracy-budget", "101"],
        ["--calib", calib, "--accuracy-budget", "one"],
        ["--calib", calib, "--accuracy-budget", "nan"],
        ["--accuracy-budget", "1"],
        ["--calib-labels", short_labels],
        ["--calib-method", "entropy"],
        ["--calib", os.path.join(args.work, "no_such_folder")],
        ["--calib", calib, "--calib-max", "2", "--accuracy-budget", "1", "--calib-labels",
         os.path.join(args.work, "no_such_file")],
        ["--calib", calib, "--calib-max", "2", "--accuracy-budget", "1", "--calib-labels", bad_labels],
        ["--calib", calib, "--calib-max", "2", "--accuracy-budget", "1", "--calib-labels", short_labels],
        [digits, "--calib", calib],
    ]
    for extra in usage:
        r = edgecc(base + extra, args.edgecc, env)
        lines = [l for l in r.stderr.splitlines() if not re.match(r"(calibrating|sensitivity|checking)", l)]
        if r.returncode != 2 or len(lines) != 1 or "error" not in lines[0]:
            fail("%s: expected exit 2 and one error line, got %d:\n%s" % (" ".join(extra), r.returncode, r.stderr))
    print("%d bad flag values: exit 2, one line each" % len(usage))

    outs = []
    for k in (1, 2):
        out = os.path.join(args.work, "out%d" % k)
        r = edgecc([model, "--targets", "host", "-o", out, "--calib", calib, "--calib-max", "48",
                    "--accuracy-budget", "0"], args.edgecc,
                   dict(os.environ, EDGECC_CACHE_DIR=os.path.join(args.work, "cache%d" % k)))
        if r.returncode != 0:
            fail("compile exited %d:\n%s" % (r.returncode, r.stderr))
        for what in ("calibrating: 48/48 samples", "sensitivity: 12/12 nodes", "checking the plan:"):
            if what not in r.stderr:
                fail("no progress line '%s' on stderr:\n%s" % (what, r.stderr))
        if "sensitivity measured in" not in r.stderr:
            fail("the sensitivity time is not reported:\n" + r.stderr)
        outs.append(out)
    cmp = filecmp.dircmp(outs[0], outs[1])
    if cmp.diff_files or cmp.left_only or cmp.right_only:
        fail("two compiles differ: %s" % (cmp.diff_files + cmp.left_only + cmp.right_only))

    with open(os.path.join(outs[0], "plan.json")) as f:
        q = json.load(f)["quant"]
    want = set_hash(calib, 48, "minmax")
    if q["calib_sha256"] != want:
        fail("plan.json calib_sha256 %s, hashlib %s" % (q["calib_sha256"], want))
    whys = [n["why"] for n in q["nodes"]]
    print("rounds %d, measured agreement %d/%d, int8 %d of %d nodes (%.1f%% of MACs); why: %s"
          % (q["rounds"], q["measured"]["agree"], q["samples"], sum(n["bits"] == 8 for n in q["nodes"]),
             len(q["nodes"]), 100 * q["int8_mac_share"], sorted(set(whys))))
    if q["rounds"] < 2 or not any("tightened" in w for w in whys):
        fail("the plan was not tightened (rounds %d, why %s): the check is not running" % (q["rounds"], whys))
    if q["measured"]["agree"] != 48 or q["budget_samples"] != 0:
        fail("the final plan changes %d answers with a budget of 0" % (48 - q["measured"]["agree"]))
    with open(os.path.join(outs[0], "host", "fashion_p0.c")) as f:
        code = f.read()
    for n in q["nodes"]:
        op = ("QLinearConv" if n["op"] == "Conv" else "QLinearMatMul") if n["bits"] == 8 else n["op"]
        if "node '%s' (%s)" % (n["name"], op) not in code:
            fail("plan.json says %s runs %d bits, the code has no %s step for it" % (n["name"], n["bits"], op))

    r = edgecc(["plan", model, "--targets", "host", "--calib", calib, "--calib-max", "48", "--accuracy-budget",
                "0"], args.edgecc, dict(os.environ, EDGECC_CACHE_DIR=os.path.join(args.work, "cache1")))
    if r.returncode != 0 or "sensitivity from the cache" not in r.stderr or "p0" not in r.stdout:
        fail("edgecc plan --calib exited %d:\n%s%s" % (r.returncode, r.stdout, r.stderr))
    shutil.rmtree(args.work, ignore_errors=True)


if __name__ == "__main__":
    main()
