#!/usr/bin/python3
"""if_lstm.py — issue 17's streaming model: examples/control/make_if_lstm.py's CNN + LSTM inside an
If on an int64 sample rate, state in and out, run for --steps steps (20) carrying the state through
the files: the generated program's own output files of step s are its state inputs of step s+1.
Every step's outputs must equal `edgecc eval`'s (its own chain, state through its files) and ONNX
Runtime's (npm onnxruntime-node, its own chain in one session; installed into --ort-dir with
ONNXRUNTIME_NODE_INSTALL=skip when missing) within 1e-4 of the largest value of that output.
The stream takes both branches. --device host builds each kernel family's program against the
build's libraries; --device pi5 builds the whole device folder with its toolchain.cmake and the
sysroot, and runs dist/ from a copy under qemu-aarch64 with the board's CPU. With the fast kernels
every LSTM must run on eck_xnn_rnn (its `kernel:` comment in the generated C).

usage: if_lstm.py --edgecc PATH --build-dir DIR --src DIR --work DIR [--kernels default,ref]
                  [--device host|pi5 --sysroot DIR] [--ort-dir DIR] [--steps N]"""
import json
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "unit"))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, ".."))

import numpy as np  # noqa: E402
import onnx  # noqa: E402
from onnx import numpy_helper  # noqa: E402

import control_codegen as cc  # noqa: E402
import edgecc_run  # noqa: E402
import ort_install  # noqa: E402

TOL = 1e-4  # of the largest value of each output: the zoo's rule
RNN_KERNEL = "recurrent layer (vectorized C)"  # fast_kernels.def's label of eck_xnn_rnn
DTYPES = {np.dtype(np.float32): "float32", np.dtype(np.int64): "int64"}


def arguments():
    ap = cc.parser("default,ref")  # 'default' compiles without --kernels
    ap.add_argument("--device", default="host", choices=("host", "pi5"))
    ap.add_argument("--sysroot", help="aarch64 sysroot (targets/make-sysroot.sh) for --device pi5")
    ap.add_argument("--ort-dir", help="folder holding node_modules/onnxruntime-node (default WORK/ort)")
    ap.add_argument("--steps", type=int, default=20)
    return ap.parse_args()


def sh(argv, **kw):
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=900, **kw)
    if p.returncode != 0:
        raise SystemExit("FAIL %s exited %d:\n%s" % (" ".join(argv[:4]), p.returncode,
                                                      p.stdout.decode("utf-8", "replace")[-3000:]))
    return p.stdout.decode("utf-8", "replace")


def write_pb(path, arr, name):
    with open(path, "wb") as f:
        f.write(numpy_helper.from_array(arr, name).SerializeToString())
    return path


def load_pb(path):
    return numpy_helper.to_array(onnx.load_tensor(path))


class Stream:
    """The stream's files: per step the fed inputs as .pb (for edgecc) and raw (for ORT), and the
    first step's state."""

    def __init__(self, mk, work, n):
        self.dir = os.path.join(work, "stream")
        os.makedirs(self.dir)
        self.n = n
        self.steps = mk.steps(n)
        self.state0 = mk.initial_state()
        self.pb, self.raw = [], []
        for s, arrs in enumerate(self.steps):
            self.pb.append([write_pb(os.path.join(self.dir, "s%d_%s.pb" % (s, nm)), a, nm)
                            for nm, a in zip(mk.STEP_INPUTS, arrs)])
            raw = []
            for nm, a in zip(mk.STEP_INPUTS, arrs):
                raw.append(os.path.join(self.dir, "s%d_%s.bin" % (s, nm)))
                a.tofile(raw[-1])
            self.raw.append(raw)
        self.state_pb = [write_pb(os.path.join(self.dir, "state0_%s.pb" % nm), a, nm)
                         for (nm, _), a in zip(mk.STATE, self.state0)]


def ort_chain(mk, model, st, ortdir, work):
    """ONNX Runtime's outputs of every step, its state carried in its own session."""
    spec = {"steps": st.n,
            "feed": [{"name": nm, "dtype": DTYPES[a.dtype], "dims": list(a.shape),
                      "files": [st.raw[s][k] for s in range(st.n)]}
                     for k, (nm, a) in enumerate(zip(mk.STEP_INPUTS, st.steps[0]))],
            "state": []}
    for (nm, out), a in zip(mk.STATE, st.state0):
        f = os.path.join(st.dir, "state0_%s.bin" % nm)
        a.tofile(f)
        spec["state"].append({"name": nm, "from": out, "dtype": DTYPES[a.dtype], "dims": list(a.shape), "file": f})
    d = os.path.join(work, "ort_out")
    os.makedirs(d)
    with open(os.path.join(d, "spec.json"), "w") as f:
        json.dump(spec, f)
    info = json.loads(sh(["node", os.path.join(HERE, "ort_steps.js"), ortdir, model, os.path.join(d, "spec.json"),
                          os.path.join(d, "s")]).strip().splitlines()[-1])
    dts = {"float32": np.float32, "int64": np.int64}
    return [[np.fromfile(os.path.join(d, "s%d_%d.bin" % (s, k)), dts[o["type"]]).reshape(o["dims"])
             for k, o in enumerate(info)] for s in range(st.n)], [o["name"] for o in info]


def chain(mk, st, out_names, d, run_one):
    """Runs the stream through run_one(inputs, outputs) (paths), the state inputs of step s+1 being
    the output files of step s; returns every step's outputs."""
    os.makedirs(d, exist_ok=True)
    state = list(st.state_pb)
    got = []
    for s in range(st.n):
        outs = [os.path.join(d, "s%d_%s.pb" % (s, nm)) for nm in out_names]
        run_one(st.pb[s] + state, outs)
        got.append([load_pb(p) for p in outs])
        state = [outs[out_names.index(out)] for _, out in mk.STATE]
    return got


def compare(cx, what, got, want, names):
    """Every step's every output within TOL of that output's largest value."""
    worst = 0.0
    for s, (g_s, w_s) in enumerate(zip(got, want)):
        for nm, g, w in zip(names, g_s, w_s):
            scale = max(float(np.max(np.abs(w))), 1e-30)
            if g.shape != w.shape or g.dtype != w.dtype:
                cx.fail("%s step %d output %s: %s%s vs %s%s" % (what, s, nm, g.dtype, g.shape, w.dtype, w.shape))
                return
            rel = float(np.max(np.abs(g.astype(np.float64) - w))) / scale
            worst = max(worst, rel)
            if not rel <= TOL:
                cx.fail("%s step %d output %s: max |diff| %.3g of the largest value (allowed %g)" % (what, s, nm, rel,
                                                                                                    TOL))
                return
    print("ok:   %s: %d steps, largest |diff| %.2g of the largest value" % (what, len(got), worst))
    cx.ok()


def compile_for(cx, model, device, kernels):
    """Compiles for DEVICE (host or pi5); the output folder, or None (failure recorded)."""
    out = os.path.join(cx.work, "%s_%s" % (device, kernels))
    extra = [] if kernels == "default" else ["--kernels", kernels]
    shutil.rmtree(out, ignore_errors=True)
    r = edgecc_run.run(cx.edgecc, [model, "--targets", device, "-o", out] + extra, timeout=120)
    if r.rc != 0:
        cx.fail("compile for %s (--kernels %s): %s" % (device, kernels, r.describe()))
        return None
    return out


def host_program(cx, model, kernels):
    """Builds the host folder against the build's libraries; the program's path and the folder."""
    out = compile_for(cx, model, "host", kernels)
    if not out:
        return None, None
    exe = os.path.join(out, "bin", "if_lstm_p0")
    rc, log = cc.build(cx, out, exe)
    if rc != 0:
        cx.fail("build (--kernels %s):\n%s" % (kernels, log[-3000:]))
        return None, None
    return exe, os.path.join(out, "host")


def pi5_program(cx, model, kernels, sysroot):
    """Builds the pi5 folder with its own CMake and toolchain file and copies dist/ as onto a
    board; the program's path there and the folder."""
    out = compile_for(cx, model, "pi5", kernels)
    if not out:
        return None, None
    dev = os.path.join(out, "pi5")
    b = os.path.join(out, "build")
    sh(["cmake", "-S", dev, "-B", b, "--toolchain", os.path.join(dev, "toolchain.cmake"),
        "-DEC_SYSROOT=" + sysroot])
    sh(["cmake", "--build", b, "-j", "2"])
    board = os.path.join(out, "board")
    shutil.copytree(os.path.join(b, "dist"), board)
    shutil.rmtree(b)
    return os.path.join(board, "if_lstm_p0"), dev


def qemu_runner(edgecc):
    """argv prefix that runs an aarch64 program as pi5 (qemu-aarch64 with the board's CPU)."""
    cpu = json.loads(sh([edgecc, "targets", "pi5"]))["qemu_cpu"]
    libc = os.path.realpath(sh(["aarch64-linux-gnu-gcc", "-print-file-name=libc.so.6"]).strip())
    return ["env", "QEMU_CPU=" + cpu, "qemu-aarch64", "-L", os.path.dirname(os.path.dirname(libc))]


def count_ops(graph, op):
    """Nodes of type op in graph and its subgraphs."""
    n = 0
    for node in graph.node:
        n += node.op_type == op
        for at in node.attribute:
            if at.type == onnx.AttributeProto.GRAPH:
                n += count_ops(at.g, op)
    return n


def main():
    a = arguments()
    cx = cc.Ctx(a)
    shutil.rmtree(cx.work, ignore_errors=True)
    os.makedirs(cx.work)
    if a.device == "pi5" and not a.sysroot:
        raise SystemExit("FAIL --device pi5 needs --sysroot (targets/make-sysroot.sh makes it)")
    sys.path.insert(0, os.path.join(cx.src, "examples", "control"))
    import make_if_lstm as mk
    model = os.path.join(cx.work, "if_lstm.onnx")
    onnx.save(mk.model(), model)
    st = Stream(mk, cx.work, a.steps)
    n_lstm = count_ops(onnx.load(model).graph, "LSTM")
    rates = {int(r) for _, r in st.steps}
    if len(rates) < 2:
        raise SystemExit("FAIL the stream takes one branch only (rates %s)" % sorted(rates))

    ortdir = os.path.abspath(a.ort_dir or os.path.join(cx.work, "ort"))
    ort_install.ensure_ort(ortdir)
    ort, names = ort_chain(mk, model, st, ortdir, cx.work)

    def eval_one(ins, outs):
        args = ["eval", model]
        for f in ins:
            args += ["--input", f]
        for f in outs:
            args += ["--output", f]
        r = edgecc_run.run(cx.edgecc, args, timeout=60)
        if r.rc != 0:
            raise SystemExit("FAIL edgecc eval: %s" % r.describe())
    ev = chain(mk, st, names, os.path.join(cx.work, "eval_out"), eval_one)
    compare(cx, "edgecc eval vs ONNX Runtime", ev, ort, names)

    prefix = qemu_runner(cx.edgecc) if a.device == "pi5" else []
    for kernels in a.kernels.split(","):
        if a.device == "pi5":
            exe, dev = pi5_program(cx, model, kernels, a.sysroot)
        else:
            exe, dev = host_program(cx, model, kernels)
        if not exe:
            continue
        with open(os.path.join(dev, "if_lstm_p0.c")) as f:
            src = f.read()
        # The branches are functions of the program, not folded or flattened away.
        if "by_rate_then" not in src or "by_rate_else" not in src:
            cx.fail("--kernels %s: no by_rate_then/by_rate_else functions in the generated C" % kernels)
        # Every LSTM (one per branch) runs on the fast recurrent kernel unless --kernels ref.
        fast = src.count("/* kernel: %s */" % RNN_KERNEL)
        want = 0 if kernels == "ref" else n_lstm
        if fast != want:
            cx.fail("--kernels %s: %d of the %d LSTM steps run on '%s', %d should"
                    % (kernels, fast, n_lstm, RNN_KERNEL, want))

        def prog_one(ins, outs, exe=exe):
            p = subprocess.run(prefix + [exe, "--input"] + ins + ["--output"] + outs, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=120, cwd=os.path.dirname(exe))
            if p.returncode != 0:
                raise SystemExit("FAIL %s exited %d: %s" % (exe, p.returncode, p.stderr.decode()[-1000:]))
        what = "%s program (--kernels %s)" % (a.device, kernels)
        got = chain(mk, st, names, os.path.join(os.path.dirname(exe), "steps"), prog_one)
        compare(cx, what + " vs edgecc eval", got, ev, names)
        compare(cx, what + " vs ONNX Runtime", got, ort, names)
    return cc.finish(cx)


if __name__ == "__main__":
    sys.exit(main())
