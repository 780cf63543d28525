#!/usr/bin/python3
"""bench_int8.py — edgecc's int8 programs against its fp32 ones and against ONNX Runtime's int8
(issue 14), on a per-channel QDQ ResNet-50, ResNet-18, MobileNetV2 and the Fashion-MNIST example.

For each model: the fp32 ONNX file (the zoo's seeded export, or examples/fashion/fashion.onnx)
and its QDQ form as ONNX Runtime's static quantizer writes it (tests/quant/make_qdq_resnet50.py
--model M: S8S8, weights per channel, calibrated by ORT on 4 inputs), then five programs timed in
R alternating rounds, each round once per thread count (1 thread pinned with `taskset -c 0`, 2
threads unpinned):
- edgecc fp32: `edgecc FP32.onnx --targets host`;
- edgecc int8 (QDQ): `edgecc QDQ.onnx --targets host` (the qdq pass; on x86-64 the default order
  runs its int8 convolutions and matmuls on oneDNN, the other int8 ops on XNNPACK);
- edgecc int8 (--calib): `edgecc FP32.onnx --targets host --calib DIR` (every candidate int8;
  DIR: the Fashion-MNIST calibration set's first 64 images, or 4 seeded random inputs);
- ONNX Runtime fp32 and int8 (the QDQ file): npm onnxruntime-node, sequential, all graph
  optimisations (bench/zoo/ort_bench.js).
Each edgecc folder is built by its own CMakeLists in Release mode; each program reports the median
of N runs after a warm-up, the table the median over rounds. Writes the section between the
bench/int8 markers of docs/benchmarks.md unless --no-doc.

usage: bench/int8/bench_int8.py --edgecc BUILD/edgecc [--models resnet50,resnet18,mobilenet_v2,fashion]
       [--rounds 5] [--runs 20] [--threads 1,2] [--work DIR] [--no-doc] [--no-calib] [--cpu]
Not yet timed on a quiet machine: an estimated 10 to 15 minutes on 2 cores with the defaults, most
of it the npm install, the ResNet-50 export and ORT calibration, and the 9 folder builds (a second
run reuses the exports, installs and models). --models fashion --rounds 1 --runs 3 ran end to end
once, at a load of 18.
"""
import argparse
import datetime
import json
import os
import resource
import statistics
import subprocess
import sys

import numpy as np
import onnx
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
PY = "/usr/bin/python3"
MODELS = ["resnet50", "resnet18", "mobilenet_v2", "fashion"]
PROGS = ["edgecc fp32", "edgecc int8 (QDQ)", "edgecc int8 (--calib)", "ORT fp32", "ORT int8 (QDQ)"]
BEGIN, END = "<!-- bench/int8: begin -->", "<!-- bench/int8: end -->"
sys.path.insert(0, os.path.join(ROOT, "bench", "zoo"))
sys.path.insert(0, os.path.join(ROOT, "bench", "plan"))
from bench_zoo import cpu_line, input_raw, time_edgecc  # noqa: E402
from common import build_folder, replace_section, run  # noqa: E402
sys.path.insert(0, os.path.join(ROOT, "tests"))
from ort_install import ensure_ort  # noqa: E402


def ort_dir(work):
    return ensure_ort(os.path.join(work, "ort"))


def models_of(model, work, ortdir):
    """(fp32 .onnx, QDQ .onnx, input .pb, calibration folder) of MODEL, made once in WORK."""
    d = os.path.join(work, model)
    qdq = os.path.join(d, model + "_qdq.onnx")
    if not os.path.exists(qdq):
        run([PY, os.path.join(ROOT, "tests", "quant", "make_qdq_resnet50.py"), "--ort", ortdir, "--model", model, d])
    calib = os.path.join(d, "calib")
    if model == "fashion":
        calib = os.path.join(ROOT, "examples", "fashion", "calib")
    elif not os.path.isdir(calib):
        os.makedirs(calib)
        x = numpy_helper.to_array(onnx.load_tensor(os.path.join(d, model + "_qdq_input_0.pb")))
        rng = np.random.default_rng(14)
        for k in range(4):
            with open(os.path.join(calib, "input_%d.pb" % k), "wb") as f:
                f.write(numpy_helper.from_array(rng.standard_normal(x.shape).astype(np.float32), "input")
                        .SerializeToString())
    return os.path.join(d, model + "_float.onnx"), qdq, os.path.join(d, model + "_qdq_input_0.pb"), calib


def edgecc_prog(a, onnx_path, out, extra=()):
    run([a.edgecc, onnx_path, "--targets", "host", "-o", out + "/src", "--force", *extra],
        env=dict(os.environ, EDGECC_CACHE_DIR=os.path.join(a.work, "cache")))
    bdir = build_folder(os.path.join(out, "src", "host"), os.path.join(out, "build"))
    return os.path.join(bdir, json.load(open(os.path.join(out, "src", "plan.json")))["partitions"][0]["program"])


def time_ort(ortdir, model, raw, iname, dims, th, runs):
    """(median ms of a run, CPU ms per run: every thread of the process)."""
    pin = ["taskset", "-c", "0"] if th == 1 else []
    p = subprocess.run(pin + ["node", os.path.join(ROOT, "bench", "zoo", "ort_bench.js"), ortdir, model, iname, raw,
                              dims, str(th), str(runs)], capture_output=True, text=True, check=True)
    r = json.loads(p.stdout.strip().splitlines()[-1])
    return r["median_ms"], r["cpu_ms"]


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def cpu_edgecc(exe, inp, th, runs):
    """CPU ms per run of an edgecc program (every thread): a run of `--bench runs` less one of
    `--bench 1`, so init (the weight reorders) and the warm-up cancel out."""
    def cpu(n):
        t0 = children_cpu()
        time_edgecc(exe, inp, th, n)
        return children_cpu() - t0
    return max(cpu(runs + 1) - cpu(1), 0.0) * 1e3 / runs


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--edgecc", required=True)
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--work", default=os.path.join(ROOT, "build-bench-int8"))
    ap.add_argument("--doc", default=os.path.join(ROOT, "docs", "benchmarks.md"))
    ap.add_argument("--no-doc", action="store_true")
    ap.add_argument("--cpu", action="store_true",
                    help="also CPU time per run (every thread; edgecc: --bench N+1 less --bench 1), steadier "
                    "than medians on a loaded machine; printed, not written to the doc")
    ap.add_argument("--no-calib", action="store_true",
                    help="skip the --calib program (its compile runs the calibration); its column reads -")
    a = ap.parse_args()
    a.work, a.edgecc = os.path.abspath(a.work), os.path.abspath(a.edgecc)
    os.makedirs(a.work, exist_ok=True)
    ortdir = ort_dir(a.work)
    ort_ver = json.load(open(os.path.join(ortdir, "node_modules", "onnxruntime-node", "package.json")))["version"]
    threads = [int(t) for t in a.threads.split(",")]
    rows, cpu_rows = [], []
    for model in a.models.split(","):
        fp32, qdq, inp, calib = models_of(model, a.work, ortdir)
        base = os.path.join(a.work, model)
        exes = {"edgecc fp32": edgecc_prog(a, fp32, base + "-fp32"),
                "edgecc int8 (QDQ)": edgecc_prog(a, qdq, base + "-qdq")}
        if not a.no_calib:
            exes["edgecc int8 (--calib)"] = edgecc_prog(a, fp32, base + "-calib",
                                                        ["--calib", calib, "--calib-max", "64"])
        raw, iname, dims = input_raw(inp, a.work, model)
        res, cpu = {}, {}
        for _ in range(a.rounds):  # alternating: every program once per round and thread count
            for th in threads:
                for lab, exe in exes.items():
                    res.setdefault((lab, th), []).append(time_edgecc(exe, inp, th, a.runs))
                    if a.cpu:
                        cpu.setdefault((lab, th), []).append(cpu_edgecc(exe, inp, th, a.runs))
                for lab, m in (("ORT fp32", fp32), ("ORT int8 (QDQ)", qdq)):
                    wall, c = time_ort(ortdir, m, raw, iname, dims, th, a.runs)
                    res.setdefault((lab, th), []).append(wall)
                    cpu.setdefault((lab, th), []).append(c)
        med = {k: statistics.median(v) for k, v in res.items()}
        rows.append((model, med))
        print(model, json.dumps({"%s %dT" % k: round(v, 3) for k, v in med.items()}),
              "load %.1f" % os.getloadavg()[0], flush=True)
        if a.cpu:
            cmed = {k: statistics.median(v) for k, v in cpu.items()}
            cpu_rows.append((model, cmed))
            print(model, "CPU ms per run", json.dumps({"%s %dT" % k: round(v, 3) for k, v in cmed.items()}), flush=True)
    table = ["| model | threads | " + " | ".join(p + " ms" for p in PROGS) +
             " | edgecc int8 (QDQ) / fp32 | edgecc int8 (QDQ) / ORT int8 |",
             "|---|---|" + "---|" * (len(PROGS) + 2)]
    for model, med in rows:
        for th in threads:
            t = [med.get((p, th)) for p in PROGS]
            table.append("| %s | %d | %s | %.2fx | %.2fx |" % (
                model, th, " | ".join("-" if v is None else "%.3f" % v for v in t), t[1] / t[0], t[1] / t[4]))
    print("\n".join(table))
    for model, cmed in cpu_rows:
        for th in threads:
            e, o = cmed.get(("edgecc int8 (QDQ)", th)), cmed.get(("ORT int8 (QDQ)", th))
            print("CPU time per run, %s, %d thread(s): edgecc int8 (QDQ) %.3f ms, ORT int8 (QDQ) %.3f ms: %.2fx"
                  % (model, th, e, o, e / o))
    if a.no_doc:
        return
    section = "\n".join([
        BEGIN, "## int8 (bench/int8)", "",
        "`bench/int8/bench_int8.py --edgecc build/edgecc` on %s, %s: median of %d alternating rounds of "
        "%d runs each; 1 thread pinned to one core, 2 threads unpinned; ONNX Runtime %s (npm), "
        "sequential, all graph optimisations. QDQ files written by tests/quant/make_qdq_resnet50.py "
        "(S8S8, per-channel weights). On x86-64 the default order runs the int8 convolutions on oneDNN "
        "(VNNI or AMX where the CPU has them); issue 16's goal: edgecc int8 at most 0.9x ORT's int8 with VNNI "
        "only, 0.5x where AMX exists." % (cpu_line(), datetime.date.today().isoformat(), a.rounds, a.runs, ort_ver),
        "", *table, "", END])
    replace_section(a.doc, BEGIN, END, section)


if __name__ == "__main__":
    main()
