#!/usr/bin/python3
"""bench_zoo.py — edgecc's fast generated code vs ONNX Runtime vs torch on the zoo models.

For each model: export (tests/models/export_zoo.py, cached), compile with the `edgecc` binary for
`--targets host --threads N` (N: the most threads of --threads, at most the machine's cores: the
plan's clusters and oneDNN teams are for the threads the program runs with, not the generic host
description's 4) with its default kernels (x86-64: oneDNN first, XNNPACK for the rest) and build the generated folder with its own
CMakeLists.txt in Release mode, as README command 1 does (the user's path, no test driver), then in R alternating rounds run each program once per thread count (1 thread pinned with
`taskset -c 0`, 2 threads unpinned): the edgecc binary's own --bench, ONNX Runtime (npm
onnxruntime-node, installed here with ONNXRUNTIME_NODE_INSTALL=skip; sequential, all graph
optimisations, timed around session.run) and torch (OPENBLAS_NUM_THREADS=1). Each program
reports the median of N runs after a warm-up; the table shows the median over rounds. Memory is
the growth of RSS from before the model is loaded to after the runs. Writes the section between
the bench/zoo markers of docs/benchmarks.md (other sections are kept).

usage: bench/zoo/bench_zoo.py --edgecc BUILD/edgecc [--models a,b] [--runs 20] [--rounds 3]
       [--threads 1,2] [--no-torch] [--no-doc [--rss]] [--kernels LIB,LIB...]
(--threads, --no-torch and --no-doc are for quick comparisons while working; the table in
docs/benchmarks.md comes from a run without them. --no-doc skips the memory runs unless --rss.)
--kernels xnnpack,onednn compiles each model once per kernel library (`edgecc --kernels LIB`) and
times every program in the same alternating rounds as ONNX Runtime (and torch); the table then goes
between the bench/zoo kernels markers of docs/benchmarks.md, with the CPU's model name and the flags
that decide oneDNN's kernels (avx512f, avx512_vnni, amx_int8), and leaves the default-kernel table
alone.
"""
import argparse
import datetime
import json
import os
import platform
import re
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
PY = "/usr/bin/python3"
# The 8 zoo models, and mobilenet_v3_large (issue 16: HardSwish, squeeze-and-excitation, residuals;
# export_zoo.py makes it like the others; with --kernels onednn its 10 residual Adds fuse).
MODELS = ["squeezenet1_1", "mobilenet_v2", "resnet18", "resnet50", "googlenet", "inception_v3",
          "densenet121", "shufflenet_v2_x1_0", "mobilenet_v3_large"]
# Issue 18's transformers and modern CNN, with goals of their own (written under the table).
XFORM = ["swin_t", "vit_b_32", "convnext_small"]
BEGIN, END = "<!-- bench/zoo: begin -->", "<!-- bench/zoo: end -->"
KBEGIN, KEND = "<!-- bench/zoo kernels: begin -->", "<!-- bench/zoo kernels: end -->"
# Session 1's figures on the AMD EPYC (docs/benchmarks.md at 8fad4b4: commit 26bca2f, XNNPACK, 2026-11-22):
# edgecc/ORT at 1 and 2 threads, beside today's for comparison (issue 16).
SESSION1_AMD = {"squeezenet1_1": (0.98, 0.99), "mobilenet_v2": (0.95, 1.01), "resnet18": (1.06, 1.02),
                "resnet50": (0.95, 1.08), "googlenet": (1.00, 0.90), "inception_v3": (1.02, 1.05),
                "densenet121": (1.03, 1.09), "shufflenet_v2_x1_0": (0.75, 1.07)}
# Issue 16's goals over the zoo models (not the transformers): geometric mean edgecc/ORT at most 0.95 at
# 1 thread and 1.0 at 2, no model above 1.1.
GOAL_GEO = {1: 0.95, 2: 1.0}
GOAL_EACH = 1.1
sys.path.insert(0, os.path.join(HERE, "..", "plan"))
from common import build_folder, replace_section, run  # noqa: E402  (bench/plan's helpers)
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests"))
from ort_install import ensure_ort  # noqa: E402  (one npm install, marked complete)


def plan_threads(args):
    """The thread count programs are compiled for: the most they are run with (--threads), at most
    the machine's cores. `host` describes a generic 4-core machine, so without --threads edgecc
    would plan (clusters, oneDNN teams) for threads the runs never have."""
    return min(max(int(x) for x in args.threads.split(",")), os.cpu_count() or 1)


def edgecc_prog(args, model, zoo, work, kernels=""):
    """`edgecc MODEL --targets host --threads N -o OUT [--kernels K]` (N: plan_threads), then the
    generated folder's CMake build (Release)."""
    out = os.path.join(work, model + ("-" + kernels if kernels else ""))
    run([args.edgecc, os.path.join(zoo, model + ".onnx"), "--targets", "host", "--threads", str(plan_threads(args)),
         "-o", out + "/src", "--force"] + (["--kernels", kernels] if kernels else []))
    bdir = build_folder(os.path.join(out, "src", "host"), os.path.join(out, "build"))
    # The program's name as edgecc derives it from the file (swin_t is no C identifier: swin_t_).
    return os.path.join(bdir, json.load(open(os.path.join(out, "src", "plan.json")))["partitions"][0]["program"])


def time_edgecc(exe, inp, threads, runs):
    cmd = [exe, "--input", inp, "--bench", str(runs), "--threads", str(threads)]
    if threads == 1:
        cmd = ["taskset", "-c", "0"] + cmd
    p = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return float(re.findall(r"median_ms:\s*([0-9.]+)", p.stdout)[-1])


def rss_edgecc(exe, inp, threads, runs):
    """The program's peak RSS with the model minus its peak without (--help loads the libraries)."""
    def peak(cmd):
        p = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, capture_output=True, text=True)
        return int(p.stderr.strip().splitlines()[-1]) / 1e3
    full = peak([exe, "--input", inp, "--bench", str(runs), "--threads", str(threads)])
    base = peak([exe, "--help"])
    return full - base


def input_raw(inp, work, model):
    from onnx import TensorProto, numpy_helper
    t = TensorProto()
    with open(inp, "rb") as f:
        t.ParseFromString(f.read())
    a = numpy_helper.to_array(t)
    raw = os.path.join(work, model + "_input.bin")
    a.astype("float32").tofile(raw)
    return raw, t.name or "input", ",".join(str(d) for d in a.shape)


def macs(zoo, model):
    """Conv/Gemm/MatMul multiply-adds, or None where count_macs.py cannot infer the shapes (swin_t's
    attention)."""
    p = subprocess.run([PY, os.path.join(ROOT, "tests", "models", "count_macs.py"), os.path.join(zoo, model + ".onnx")],
                       capture_output=True, text=True)
    if p.returncode != 0:
        return None
    return json.loads(p.stdout.strip().splitlines()[-1])["conv_gemm_macs"]


def transpose_steps(exe):
    """Transpose steps the program runs (layout conversions, a model's own permutes), counted in its
    generated C: each step's comment opens "/* node 'NAME' (OP):"."""
    src = os.path.join(os.path.dirname(os.path.dirname(exe)), "src", "host", os.path.basename(exe) + ".c")
    with open(src) as f:
        return sum(1 for line in f if line.startswith("/* node '") and line.rstrip().endswith("(Transpose):"))


def kernel_steps(exe):
    """Steps per kernel family in the program's generated C ("oneDNN 52, XNNPACK 3, other 2"): which
    families the default order gave the model (x86-64: oneDNN first)."""
    src = os.path.join(os.path.dirname(os.path.dirname(exe)), "src", "host", os.path.basename(exe) + ".c")
    n = {"oneDNN": 0, "XNNPACK": 0, "OpenBLAS": 0, "other": 0}
    with open(src) as f:
        for line in f:
            if line.startswith("/* kernel: "):
                k = line[len("/* kernel: "):].split()[0]
                n[k if k in n else "other"] += 1
    return ", ".join(f"{k} {v}" for k, v in n.items() if v)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--edgecc", required=True, help="the edgecc binary (BUILD/edgecc)")
    ap.add_argument("--models", default=",".join(MODELS + XFORM))
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--work", default=os.path.join(ROOT, "build-bench-zoo"))
    ap.add_argument("--doc", default=os.path.join(ROOT, "docs", "benchmarks.md"))
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument("--no-doc", action="store_true")
    ap.add_argument("--rss", action="store_true",
                    help="with --no-doc: still measure edgecc's peak RSS growth (printed beside ORT's)")
    ap.add_argument("--kernels", default="",
                    help="kernel libraries to compare, comma-separated (xnnpack, onednn, ref); default: edgecc's "
                         "default kernels only")
    a = ap.parse_args()
    fams = a.kernels.split(",") if a.kernels else [""]
    a.work = os.path.abspath(a.work)
    zoo = os.path.join(a.work, "zoo-cache")
    ortdir = os.path.join(a.work, "ort")
    os.makedirs(zoo, exist_ok=True)
    ensure_ort(ortdir)
    ort_ver = json.load(open(os.path.join(ortdir, "node_modules", "onnxruntime-node", "package.json")))["version"]
    torch_ver = subprocess.run([PY, "-c", "import torch; print(torch.__version__)"], capture_output=True,
                               text=True).stdout.strip()
    rows = []
    for model in a.models.split(","):
        if not os.path.exists(os.path.join(zoo, model + ".onnx")):
            subprocess.run([PY, os.path.join(ROOT, "tests", "models", "export_zoo.py"), model, zoo], check=True,
                           stdout=subprocess.DEVNULL)
        inp = os.path.join(zoo, model + "_input_0.pb")
        exes = {label(k): edgecc_prog(a, model, zoo, a.work, k) for k in fams}
        raw, iname, dims = input_raw(inp, a.work, model)
        res = {}
        for rnd in range(a.rounds):
            for th in [int(x) for x in a.threads.split(",")]:
                pin = ["taskset", "-c", "0"] if th == 1 else []
                for lab, exe in exes.items():
                    res.setdefault((lab, th), []).append(time_edgecc(exe, inp, th, a.runs))
                p = subprocess.run(pin + ["node", os.path.join(HERE, "ort_bench.js"), ortdir,
                                          os.path.join(zoo, model + ".onnx"), iname, raw, dims, str(th), str(a.runs)],
                                   capture_output=True, text=True, check=True)
                o = json.loads(p.stdout.strip().splitlines()[-1])
                res.setdefault(("ort", th), []).append(o["median_ms"])
                res.setdefault(("ort_rss", th), []).append(o["rss_growth_mb"])
                if a.no_torch:
                    continue
                p = subprocess.run(pin + [PY, os.path.join(HERE, "torch_bench.py"), model, str(th), str(a.runs)],
                                   capture_output=True, text=True, check=True,
                                   env=dict(os.environ, OPENBLAS_NUM_THREADS="1"))
                o = json.loads(p.stdout.strip().splitlines()[-1])
                res.setdefault(("torch", th), []).append(o["median_ms"])
                res.setdefault(("torch_rss", th), []).append(o["rss_growth_mb"])
        measure = not a.no_doc or a.rss
        th0 = int(a.threads.split(",")[0])  # ORT's growth at the first thread count (the table's: 1)
        rss = {lab: rss_edgecc(exe, inp, 1, a.runs) if measure else 0.0 for lab, exe in exes.items()}
        med = {k: statistics.median(v) for k, v in res.items()}
        mc = macs(zoo, model)
        med["transposes"] = transpose_steps(exes[label(fams[0])])
        med["kernels"] = kernel_steps(exes[label(fams[0])])
        rows.append((model, med, rss, mc))
        ratios = {f"{k[0]}/ort_{k[1]}T": round(med[k] / med[("ort", k[1])], 3)
                  for k in med if isinstance(k, tuple) and k[0].startswith("edgecc")}
        print(model, json.dumps({f"{k[0]}_{k[1]}T": round(v, 2) for k, v in med.items() if isinstance(k, tuple)}),
              json.dumps(ratios), "transpose_steps %d" % med["transposes"], "steps: " + med["kernels"],
              # --no-doc skips the RSS runs: say so rather than print 0.0
              " ".join(f"rss_{k} {v:.1f}" for k, v in rss.items()) + " rss_ort %.1f" % med[("ort_rss", th0)]
              if measure else "rss not measured (--no-doc)",
              f"load {os.getloadavg()[0]:.1f}", flush=True)
    if not a.no_doc and fams == [""]:
        write_doc(a, [(m, med, rss["edgecc"], mc) for m, med, rss, mc in rows], ort_ver, torch_ver)
    elif not a.no_doc:
        write_kernels_doc(a, fams, rows, ort_ver)


def label(kernels):
    return "edgecc-" + kernels if kernels else "edgecc"


def cpu_line():
    """lscpu's model name and the flags that pick oneDNN's and XNNPACK's x86 kernels."""
    p = subprocess.run(["lscpu"], capture_output=True, text=True)
    name, flags = "?", []
    for line in p.stdout.splitlines():
        if line.startswith("Model name:"):
            name = line.split(":", 1)[1].strip()
        elif line.startswith("Flags:"):
            flags = line.split(":", 1)[1].split()
    have = [f for f in ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_int8", "amx_bf16") if f in flags]
    return "%s (%s; no %s)" % (name, ", ".join(have) or "none of avx2/avx512",
                               ", ".join(f for f in ("avx512f", "avx512_vnni", "amx_int8") if f not in flags) or "-")


def write_kernels_doc(a, fams, rows, ort_ver):
    """The --kernels table: each kernel library's latency and its ratio to ORT, per thread count."""
    load = os.getloadavg()[0]
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    ths = [int(x) for x in a.threads.split(",")]
    labs = [label(k) for k in fams]
    L = [KBEGIN, "## Zoo models by kernel library: " + ", ".join(labs) + " vs ONNX Runtime", "",
         f"{datetime.date.today().isoformat()}, commit {commit}, {cpu_line()}, {os.cpu_count()} cores, "
         f"1-minute load average {load:.1f} when the table was written. ONNX Runtime {ort_ver} (npm "
         f"onnxruntime-node, sequential, all graph optimisations). Every program timed in the same alternating "
         f"rounds: median of {a.runs} runs after a warm-up, median over {a.rounds} rounds; 1 thread pinned with "
         "`taskset -c 0`. RSS growth at 1 thread (edgecc: peak RSS minus the program's peak without a model).", ""]
    head = "| model |"
    for th in ths:
        head += "".join(f" {l} {th}T ms |" for l in labs) + f" ORT {th}T ms |" + "".join(f" {l}/ORT {th}T |" for l in labs)
    head += " RSS growth " + " / ".join(labs) + " / ORT MB |"
    L += [head, "|" + "---|" * (head.count("|") - 1)]
    ratios = {(l, th): [] for l in labs for th in ths}
    for model, m, rss, mc in rows:
        line = f"| {model} |"
        for th in ths:
            line += "".join(f" {m[(l, th)]:.1f} |" for l in labs) + f" {m[('ort', th)]:.1f} |"
            for l in labs:
                r = m[(l, th)] / m[("ort", th)]
                ratios[(l, th)].append(r)
                line += f" {r:.2f} |"
        line += " " + " / ".join(f"{rss[l]:.0f}" for l in labs) + f" / {m[('ort_rss', ths[0])]:.0f} |"
        L.append(line)
    L += ["", "Geometric mean over these %d models: %s." % (len(rows), "; ".join(
        f"{l}/ORT {geomean(ratios[(l, th)]):.2f} at {th} thread{'s' if th > 1 else ''}" for th in ths for l in labs)), "",
          f"Command: `/usr/bin/python3 bench/zoo/bench_zoo.py --edgecc BUILD/edgecc --kernels {a.kernels} "
          f"--models {a.models} --runs {a.runs} --rounds {a.rounds}{' --no-torch' if a.no_torch else ''}`", KEND]
    replace_section(a.doc, KBEGIN, KEND, "\n".join(L))


def geomean(xs):
    p = 1.0
    for x in xs:
        p *= x
    return p ** (1.0 / len(xs)) if xs else float("nan")


def write_doc(a, rows, ort_ver, torch_ver):
    load = os.getloadavg()[0]
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    L = [BEGIN, "## Zoo models: edgecc (default kernels) vs ONNX Runtime vs torch", "",
         f"{datetime.date.today().isoformat()}, commit {commit}, {cpu_line()}, {os.cpu_count()} cores, "
         f"1-minute load average {load:.1f} when the table was written (other work shares this machine: "
         f"compare ratios, not absolute times). ONNX Runtime {ort_ver} (npm onnxruntime-node, sequential, "
         f"all graph optimisations), torch {torch_ver} (OpenBLAS held to one thread). Median of {a.runs} runs "
         f"after a warm-up, median over {a.rounds} alternating rounds; 1 thread pinned with `taskset -c 0`. "
         "Memory: RSS growth from before the model is loaded to after the runs (edgecc: the program's peak RSS "
         "minus its peak without a model; ORT: inside node; torch: includes building the model). edgecc "
         f"compiles with `--targets host --threads {plan_threads(a)}` (the most threads a program runs with, at most "
         "the machine's cores; `host` alone plans for a generic 4-core machine) and no `--kernels`: the x86-64 default order (oneDNN for the op kinds "
         "it is faster at, XNNPACK for the rest); the last column counts the steps per kernel family.", "",
         "| model | edgecc 1T ms | ORT 1T ms | torch 1T ms | edgecc/ORT 1T | edgecc/torch 1T | edgecc 2T ms | "
         "ORT 2T ms | torch 2T ms | edgecc/ORT 2T | session 1 (AMD, 26bca2f) edgecc/ORT 1T / 2T | edgecc GFLOP/s 1T | "
         "RSS growth edgecc / ORT / torch MB | Transpose steps | steps by kernel family |",
         "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]

    def cell(v, fmt="{:.1f}"):
        return fmt.format(v) if v is not None else "-"

    r = {1: [], 2: []}
    x1, above = [], []
    for model, m, rss_e, mc in rows:
        e1, o1, t1 = (m.get((k, 1)) for k in ("edgecc", "ort", "torch"))
        e2, o2, t2 = (m.get((k, 2)) for k in ("edgecc", "ort", "torch"))
        q1 = e1 / o1 if e1 and o1 else None
        q2 = e2 / o2 if e2 and o2 else None
        if model in XFORM:
            if q1 is not None:
                x1.append(q1)
        else:
            for th, q in ((1, q1), (2, q2)):
                if q is not None:
                    r[th].append(q)
                    if q > GOAL_EACH:
                        above.append(f"{model} {q:.2f} at {th} thread{'s' if th > 1 else ''}")
        gflops = f"{2 * mc / e1 / 1e6:.1f}" if mc and e1 else "-"
        s1 = SESSION1_AMD.get(model)
        L.append(f"| {model} | {cell(e1)} | {cell(o1)} | {cell(t1)} | {cell(q1, '{:.2f}')} | "
                 f"{cell(e1 / t1 if e1 and t1 else None, '{:.2f}')} | {cell(e2)} | {cell(o2)} | {cell(t2)} | "
                 f"{cell(q2, '{:.2f}')} | {'%.2f / %.2f' % s1 if s1 else '-'} | {gflops} | "
                 f"{rss_e:.0f} / {cell(m.get(('ort_rss', 1)), '{:.0f}')} / {cell(m.get(('torch_rss', 1)), '{:.0f}')} | "
                 f"{m['transposes']} | {m['kernels']} |")
    geo = {th: geomean(v) for th, v in r.items() if v}
    verdict = "; ".join(f"{geo[th]:.2f} at {th} thread{'s' if th > 1 else ''} (goal at most {GOAL_GEO[th]}: "
                        f"{'met' if geo[th] <= GOAL_GEO[th] else 'NOT met'})" for th in sorted(geo))
    L += ["", f"Geometric mean edgecc/ORT over these {len(r[1]) or len(r[2])} models (issue 16): {verdict}; "
          f"no model above {GOAL_EACH}: " + ("met" if not above else "NOT met (" + ", ".join(above) + ")") + "." +
          (f" Over {', '.join(m for m in XFORM if m in a.models.split(','))}: {geomean(x1):.2f} at 1 "
           "thread (goal: each at most 1.1, geometric mean at most 1.0; at 2 threads each at most 1.2)." if x1 else ""),
          "",
          f"Command: `/usr/bin/python3 bench/zoo/bench_zoo.py --edgecc BUILD/edgecc --models {a.models} "
          f"--runs {a.runs} --rounds {a.rounds}{' --threads ' + a.threads if a.threads != '1,2' else ''}"
          f"{' --no-torch' if a.no_torch else ''}`", END]
    replace_section(a.doc, BEGIN, END, "\n".join(L))


if __name__ == "__main__":
    main()
