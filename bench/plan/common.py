"""common.py — shared pieces of bench/plan: running commands, compiling and building device
folders, pinned --bench/--profile runs, the node_costs helper, and the zoo cache."""
import os
import re
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))


def run(cmd, timeout=1800, ok=True, env=None):
    p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout, env=env)
    if ok and p.returncode != 0:
        raise SystemExit("FAILED (%d): %s\n%s%s" % (p.returncode, " ".join(map(str, cmd)), p.stdout[-3000:],
                                                    p.stderr[-3000:]))
    return p


def load():
    return os.getloadavg()[0]


def zoo(cache, model):
    m = os.path.join(cache, model + ".onnx")
    if not os.path.exists(m):
        os.makedirs(cache, exist_ok=True)
        run(["/usr/bin/python3", os.path.join(SRC, "tests/models/export_zoo.py"), model, cache], timeout=1800)
    return m, os.path.join(cache, model + "_input_0.pb")


def detect(edgecc, work, name="here"):
    """`edgecc targets --detect` once per work folder (the description the bench plans with)."""
    path = os.path.join(work, "detected-%s.json" % name)
    if not os.path.exists(path):
        run([edgecc, "targets", "--detect", "--name", name, "-o", path])
    return path


def compile_model(edgecc, model, out, target_file, targets, kernels, extra=()):
    run([edgecc, model, "--target-file", target_file, "--targets", targets, "--kernels", kernels,
         "--threads", "1", "-o", out, "--force", *extra], timeout=1800)


def build_folder(dev_dir, bdir):
    """cmake build of one device folder (again when a file of the folder is newer than the last
    build: a recompile with --force rewrites them); returns the build folder."""
    mark = os.path.join(bdir, ".built")
    newest = max(os.path.getmtime(os.path.join(r, f)) for r, _, fs in os.walk(dev_dir) for f in fs)
    if not os.path.exists(mark) or os.path.getmtime(mark) < newest:
        run(["cmake", "-S", dev_dir, "-B", bdir, "-DCMAKE_BUILD_TYPE=Release"], timeout=600)
        run(["cmake", "--build", bdir, "-j", "2"], timeout=3600)
        open(os.path.join(bdir, ".built"), "w").close()
    return bdir


MEDIAN = re.compile(r"^median_ms: ([0-9.]+)", re.M)
STEP = re.compile(r"^(\d+)\s+(\S+)\s+(.+?)\s+([0-9.]+)\s+([0-9.]+)$", re.M)


def bench(exe, inputs, runs, cpu="0", threads=1, profile=False):
    """One pinned `--bench runs` invocation: (median_ms, {step name: mean ms} or None)."""
    cmd = ["taskset", "-c", cpu, exe, "--threads", str(threads), "--bench", str(runs)]
    for i in inputs:
        cmd += ["--input", i]
    if profile:
        cmd.append("--profile")
    p = run(cmd, timeout=3600)
    med = float(MEDIAN.search(p.stdout).group(1))
    steps = None
    if profile:
        steps = {}
        for m in STEP.finditer(p.stdout):
            steps[m.group(3).strip()] = float(m.group(4))
    return med, steps


def median(xs):
    return statistics.median(xs)


def node_costs_tool(build, work):
    """Builds bench/plan/node_costs.c against the build folder's compiler libraries (one per stage)."""
    exe = os.path.join(work, "node_costs")
    stages = ["cli", "pipeline", "codegen", "plan", "lower", "passes", "onnx", "ops", "ir"]
    libs = [os.path.join(build, "libec_%s.a" % s) for s in stages if os.path.exists(os.path.join(build, "libec_%s.a" % s))]
    if os.path.exists(exe) and all(os.path.getmtime(exe) > os.path.getmtime(l) for l in libs):
        return exe
    incs = ["compiler/ir", "compiler/ops", "compiler/onnx", "compiler/passes", "compiler/plan", "compiler/codegen",
            "compiler/cli", "compiler/lower", "compiler/pipeline", "kernels/xnnpack", "kernels/ref", "runtime"]
    cmd = ["cc", "-O1", "-std=c11", '-DEC_VERSION="bench"']
    cmd += ["-I" + os.path.join(SRC, d) for d in incs]
    cmd += ["-I" + os.path.join(build, "onnx_pb")]
    cmd += [os.path.join(HERE, "node_costs.c"), "-Wl,--start-group"] + libs + ["-Wl,--end-group",
            os.path.join(build, "libec_onnx_pb.a"), os.path.join(build, "libeck_ref.a"), "-lcjson", "-lprotobuf-c",
            "-lm", "-o", exe]
    run(cmd)
    return exe


def node_costs(tool, model, target_file, target, kernels):
    p = run([tool, model, target_file, target, kernels, "1"])
    lines = p.stdout.strip().split("\n")
    head = lines[0].split("\t")
    rows = []
    for ln in lines[1:]:
        r = dict(zip(head, ln.split("\t")))
        for k in ("flops", "bytes", "rows", "ms"):
            r[k] = float(r[k])
        rows.append(r)
    return rows


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def replace_section(doc, begin, end, section):
    """Writes `section` (starting with `begin`, ending with `end`) into the file `doc` in place of
    the text between those markers, or appends it when they are absent."""
    text = open(doc).read() if os.path.exists(doc) else "# Benchmarks\n"
    if begin in text and end in text:
        text = text[:text.index(begin)] + section + text[text.index(end) + len(end):]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    with open(doc, "w") as f:
        f.write(text)


def refuse_under_load(bench, loads, max_load, doc):
    """Stops a --write-docs run whose 1-minute load average went above max_load at its start or
    end: a timing taken while others build measures contention, not the programs."""
    if max(loads) > max_load:
        raise SystemExit("%s: load average above %.1f: not written to %s (measured under load)" % (bench, max_load, doc))
