#!/usr/bin/python3
"""arena_report.py — the arena of every zoo model against its lower bound (the largest set of
tensors live at once), with the reference and the fast kernels; writes its section of
docs/benchmarks.md.

usage: bench/memplan/arena_report.py --edgecc BUILD/edgecc --cache BUILD/zoo-cache [--work DIR]
Models missing from the cache are exported with tests/models/export_zoo.py.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "models"))
from zoo_inspect import export  # noqa: E402

MODELS = ["squeezenet1_1", "mobilenet_v2", "resnet18", "resnet50", "googlenet", "inception_v3",
          "densenet121", "shufflenet_v2_x1_0"]
BEGIN, END = "<!-- bench/memplan: begin -->", "<!-- bench/memplan: end -->"


def arena(edgecc, model_path, kernels, work):
    out = os.path.join(work, kernels)
    shutil.rmtree(out, ignore_errors=True)
    subprocess.run([edgecc, model_path, "--targets", "host", "--kernels", kernels, "-o", out],
                   check=True, stdout=subprocess.DEVNULL)
    with open(os.path.join(out, "plan.json")) as f:
        p = json.load(f)["partitions"][0]
    return p["arena_bytes"], p["arena_lower_bound_bytes"], p["weights_bytes"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--edgecc", required=True)
    ap.add_argument("--cache", required=True)
    ap.add_argument("--work")
    a = ap.parse_args()
    work = a.work or tempfile.mkdtemp(prefix="edgecc-arena-")
    rows = []
    for m in MODELS:
        path = export(m, a.cache)
        cells = [m]
        for k in ("ref", "xnnpack"):
            ar, lb, w = arena(a.edgecc, path, k, os.path.join(work, m))
            cells += ["%.2f" % (ar / 1e6), "%.2f" % (lb / 1e6), "%.3f" % (ar / lb)]
        rows.append(cells)
        print(" ".join(cells))
    shutil.rmtree(work, ignore_errors=True)
    commit = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    L = [BEGIN, "## Memory plan: arena against its lower bound", "",
         "The arena edgecc plans for each zoo model (one partition on `host`), against the lower "
         "bound: the largest total size of tensors live at the same step of the schedule. Graph "
         "inputs and outputs are the caller's buffers and count in neither. Goal (issue 3): at most "
         "1.1x. Commit %s." % commit, "",
         "| model | ref arena MB | ref bound MB | ref ratio | xnnpack arena MB | xnnpack bound MB | xnnpack ratio |",
         "|---|---|---|---|---|---|---|"]
    L += ["| " + " | ".join(r) + " |" for r in rows]
    L += ["", "Command: `/usr/bin/python3 bench/memplan/arena_report.py --edgecc build/edgecc "
          "--cache build/zoo-cache`", END]
    doc = os.path.join(REPO, "docs", "benchmarks.md")
    text = open(doc).read() if os.path.exists(doc) else "# Benchmarks\n"
    section = "\n".join(L)
    if BEGIN in text:
        text = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: section, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    with open(doc, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
