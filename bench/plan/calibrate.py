#!/usr/bin/python3
"""calibrate.py — fits the cost model's per-class efficiencies to this machine: every node of
resnet50, googlenet and mobilenet_v2 (one partition, --kernels xnnpack and ref) timed with the
generated programs' --profile on one pinned core, joined with the cost model's FLOPs and bytes
for that node (node_costs.c), and fitted per (kernel library, op class) by non-negative least
squares on  ms = flops / F + bytes / M + overhead  (relative errors, so small nodes count).

Prints the fit, a leave-one-model-out check, and writes the result as the "efficiency" object of
a target description (docs/targets.md) to --out.

usage: calibrate.py --build BUILD [--work DIR] [--runs N] [--rounds R] [--out FILE]
"""
import argparse
import json
import os

import numpy as np

from common import (bench, build_folder, compile_model, detect, load, log, median, node_costs,
                    node_costs_tool, zoo)

MODELS = ("resnet50", "googlenet", "mobilenet_v2")
CLASSES = ("gemm", "dwconv", "memory")


def profile_model(a, target_file, tool, model, kernels):
    m, inp = zoo(a.cache, model)
    cached = os.path.join(a.work, "profile-%s-%s.json" % (model, kernels))
    if a.reuse and os.path.exists(cached):
        per_step = json.load(open(cached))
        return join(tool, m, target_file, model, kernels, per_step)
    out = os.path.join(a.work, "cal-%s-%s" % (model, kernels))
    if not os.path.exists(os.path.join(out, "plan.json")):
        compile_model(a.edgecc, m, out, target_file, "here", kernels)
    b = build_folder(os.path.join(out, "here"), out + "-build")
    exe = os.path.join(b, model + "_p0")
    runs = a.runs if kernels == "xnnpack" else max(2, a.runs // 5)
    per_step, meds = {}, []
    for r in range(a.rounds):
        med, steps = bench(exe, [inp], runs, profile=True)
        meds.append(med)
        for k, v in steps.items():
            per_step.setdefault(k, []).append(v)
    json.dump(per_step, open(cached, "w"))
    log("%s %s: median run %.2f ms (load %.1f)" % (model, kernels, median(meds), load()))
    return join(tool, m, target_file, model, kernels, per_step)


def join(tool, m, target_file, model, kernels, per_step):
    costs = node_costs(tool, m, target_file, "here", kernels)
    rows = []
    for c in costs:
        if c["name"] in per_step:
            c = dict(c, measured=median(per_step[c["name"]]), model=model, lib=kernels)
            rows.append(c)
    return rows


FEATURES = ("flops", "bytes", "rows")


def predict(x, r):
    return sum(x[i] * r[f] for i, f in enumerate(FEATURES)) + x[-1]


def fit(rows, min_ms_per_flop=0.0):
    """Non-negative least squares on absolute times (ms = flops*a + bytes*b + rows*c + d, all >= 0):
    partitions are sums of nodes, so the nodes that take the time must weigh the most.
    a >= min_ms_per_flop (the core's peak: no class computes faster than that)."""
    A = np.array([[r[f] for f in FEATURES] + [1.0] for r in rows])
    y = np.array([r["measured"] for r in rows])
    x = nnls(A, y)
    if x[0] < min_ms_per_flop:
        # Bounded: the FLOP term at the peak, the other terms fitted to what is left.
        x = nnls(A[:, 1:], y - A[:, 0] * min_ms_per_flop)
        x = np.concatenate([[min_ms_per_flop], x])
    return x


def nnls(A, y):
    from itertools import combinations
    scale = A.max(axis=0)
    scale[scale == 0] = 1
    W = A / scale
    nc = W.shape[1]
    best = None
    # Tiny active-set NNLS: every subset of the columns, the best non-negative solution.
    for k in range(nc, 0, -1):
        for cols in combinations(range(nc), k):
            x, *_ = np.linalg.lstsq(W[:, cols], y, rcond=None)
            if (x < 0).any():
                continue
            full = np.zeros(nc)
            full[list(cols)] = x
            err = ((W @ full - y) ** 2).sum()
            if best is None or err < best[0] - 1e-12:
                best = (err, full)
    return best[1] / scale


def to_eff(x, peak_core_gflops, mem_gbps):
    """(ms per flop, ms per byte, ms per row, ms) -> fractions of the description's peaks,
    ns per row and the overhead in ms."""
    a, b, c, d = x
    comp = 1.0 / (a * 1e-3 * peak_core_gflops * 1e9) if a > 0 else None
    mem = 1.0 / (b * 1e-3 * mem_gbps * 1e9) if b > 0 else None
    return comp, mem, c * 1e6, d


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", required=True, help="build folder (edgecc, libec_compiler.a)")
    ap.add_argument("--work", default="/tmp/edgecc-bench-plan")
    ap.add_argument("--cache", default=None, help="zoo cache (default BUILD/zoo-cache)")
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--out", default=None, help="write the fitted efficiencies as JSON here")
    ap.add_argument("--reuse", action="store_true", help="refit the profiles kept in --work, no runs")
    a = ap.parse_args()
    a.edgecc = os.path.join(a.build, "edgecc")
    a.cache = a.cache or os.path.join(a.build, "zoo-cache")
    os.makedirs(a.work, exist_ok=True)
    target_file = detect(a.edgecc, a.work)
    desc = json.load(open(target_file))
    peak_core = desc["peak_gflops"]["f32"] / desc["cores"]
    tool = node_costs_tool(a.build, a.work)
    models = a.models.split(",")
    rows = []
    for kernels in ("xnnpack", "ref"):
        for model in models:
            rows += profile_model(a, target_file, tool, model, kernels)
    json.dump(rows, open(os.path.join(a.work, "calibration-rows.json"), "w"), indent=0)
    result = {}
    print("| kernels | class | nodes | measured ms | compute eff | memory eff | row ns | overhead ms | error of the class total per model | leave-one-model-out |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for kernels in ("xnnpack", "ref"):
        for cls in CLASSES:
            # XNNPACK mode: nodes that still run a reference kernel belong to the ref fit.
            sel = [r for r in rows if r["class"] == cls and
                   ((r["lib"] == kernels and (kernels == "ref" or r["kernel"] != "ref")) or
                    (kernels == "ref" and r["lib"] == "xnnpack" and r["kernel"] == "ref"))]
            if len(sel) < 3:
                continue
            peak_ms_per_flop = 1.0 / (peak_core * 1e9) * 1e3
            x = fit(sel, peak_ms_per_flop)
            comp, mem, row, ovh = to_eff(x, peak_core, desc["mem_gbps"])

            def total_err(xx, rs):
                out = []
                for m in models:
                    mr = [r for r in rs if r["model"] == m]
                    if mr:
                        out.append("%s %+.0f%%" % (m, 100 * (sum(predict(xx, r) for r in mr) /
                                                              sum(r["measured"] for r in mr) - 1)))
                return ", ".join(out)
            loo = []
            for m in models:
                train = [r for r in sel if r["model"] != m]
                test = [r for r in sel if r["model"] == m]
                if len(train) >= 3 and test:
                    loo.append(total_err(fit(train, peak_ms_per_flop), test))
            e = {}
            if comp:
                e["compute"] = float("%.3g" % min(comp, 1.0))
            if mem:
                e["memory"] = float("%.3g" % mem)
            if row > 0:
                e["row_ns"] = float("%.3g" % row)
            e["overhead_ms"] = float("%.3g" % ovh)
            result.setdefault(kernels, {})[cls] = e
            print("| %s | %s | %d | %.1f | %s | %s | %.2f | %.4f | %s | %s |" % (
                kernels, cls, len(sel), sum(r["measured"] for r in sel), "%.3f" % comp if comp else "-",
                "%.3f" % mem if mem else "-", row, ovh, total_err(x, sel), "; ".join(loo) or "-"))
    print("\nload average %.1f; description: %s" % (load(), target_file))
    if a.out:
        json.dump(result, open(a.out, "w"), indent=2)
        print("wrote", a.out)


if __name__ == "__main__":
    main()
