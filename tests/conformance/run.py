#!/usr/bin/python3
"""run.py — the one table-driven ONNX conformance harness: runs edgecc over the test suites of
Debian's libonnx-testdata, writes a report, and compares each test's status with the expected list.

Usage: /usr/bin/python3 tests/conformance/run.py --edgecc PATH --mode shapes|eval|compile \
           [--out DIR] [-j N] [--suites node,...] [--filter REGEX] [--update [--force]] \
           [--min-load SUITE=FRACTION] [--min-pass SUITE=FRACTION] [--require-correct-shapes] \
           [--build-dir BUILD] [--build-hook SCRIPT] [--cmake-build REGEX] [--kernels ref|xnnpack|onednn] \
           [--min-fast-tests KIND=N,...]

Per test: the graph inputs that feed shape operands (`edgecc inspect --shape-inputs`: a Reshape's
shape, a Slice's starts outside a Loop body (inside one they are read at run time), a Resize's sizes...)
are frozen with the test's own input files, and with
--freeze-weights the weight operands too (the report marks the test "frozen" and says which inputs
and why); every other input is fed at run time, those of data-dependent shapes (NonZero, Compress,
Unique, NonMaxSuppression, TopK's K, Range's operands with --max-extent OUT=RANGE_BOUND, a Loop's
trip count with --max-trip-count OUT=LOOP_BOUND) included:
the inferred shape is then a bound the data must fit (`bounded_dims` of inspect --json) and the
program writes the shape it found. Then
  shapes   `edgecc inspect --json` must load the model and infer the dtypes and shapes of output_*.pb;
  eval     additionally `edgecc eval` runs every test_data_set_* and the values are compared by
           ONNX's rule: |got - exp| <= 1e-7 + 1e-3 * |exp| elementwise, exact for integers and bool,
           NaN equals NaN, dtype and shape must match;
  compile  additionally `edgecc compile MODEL --targets host -o OUT` writes C, the build hook
           (--build-hook, default tests/codegen/build_generated.sh) compiles it against the runtime
           and kernel libraries built once in --build-dir (tests matching --cmake-build go through
           the generated CMakeLists.txt instead), and the program runs every data set with
           --input/--output; values compared as in eval. plan.json must record that edgecc's
           verifier proved the memory plan (no two live tensors share arena bytes).
           --kernels xnnpack compiles with the fast kernels instead (build hook
           tests/codegen/build_generated.sh as for ref; expected list expected_compile_xnnpack.txt, where --update
           marks each test that passes in expected_compile.txt but not here "xnnpack regression");
           --kernels onednn likewise (expected_compile_onednn.txt; oneDNN's primitives count as
           dnnl_conv, dnnl_fc, ... for --min-fast-tests).
Statuses: pass; fail (loads, wrong dtype/shape/values); unsupported (exit 1 with an
`edgecc: error:` line — the model is rejected with a diagnostic); crash (a signal, an exit status
other than 0 and 1, or exit 1 without a diagnostic); timeout (an edgecc call ran past --timeout).
Each non-pass also has a reason class (CLASS_RULES: `unsupported: op Loop`, `fail: values`,
`crash: signal`, `excused`...). The expected list records `STATUS[: CLASS]` per test and a run fails
when either differs; --update rewrites the list but refuses, unless --force, when a test the list
says passes no longer does. --min-fast-tests (fast kernels) requires at least N tests to run a step
of each named XNNPACK operator kind, read from the generated code, so that a lowering that falls
back to the reference kernels everywhere fails the run.
"""

import argparse
import concurrent.futures
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
DEFAULT_DATA = "/usr/share/libonnx-testdata/data"
SUITES = ["node", "pytorch-converted", "pytorch-operator", "simple"]
STATUSES = ["pass", "fail", "unsupported", "crash", "timeout"]
FAILING = {"fail", "crash", "timeout"}
RTOL, ATOL = 1e-3, 1e-7

# edgecc's dtype names (compiler/ir/ir.c), indexed by TensorProto.DataType.
DTYPE_NAMES = {
    0: "undefined", 1: "float32", 2: "uint8", 3: "int8", 4: "uint16", 5: "int16", 6: "int32",
    7: "int64", 8: "string", 9: "bool", 10: "float16", 11: "float64", 12: "uint32", 13: "uint64",
    14: "complex64", 15: "complex128", 16: "bfloat16",
}
FLOAT_TYPES = {1, 10, 11, 14, 15, 16}
UINT16, BFLOAT16 = 4, 16

# Tests the suites themselves make impossible to pass. --update writes these reasons into the
# expected list for a test that does not pass (a test with a string input or output is excused
# without a rule). An excuse written by hand into the list ("excused: ...") is kept as well.
EXCUSE_RULES = [
    (re.compile(r"^node/test_training_dropout(_default|_mask|_default_mask)?$"),
     "excused: training-mode Dropout reproduces numpy's random generator"),
    (re.compile(r"^node/test_(strnorm|string|regex|cast_.*STRING|castlike_.*STRING|label_encoder)"),
     "excused: string tensors"),
    (re.compile(r"^simple/test_strnorm"), "excused: string tensors"),
    (re.compile(r"^node/test_identity_(opt|sequence)$"),
     "excused: optional and sequence values, not tensors (outside what edgecc compiles, like strings)"),
    (re.compile(r"^node/test_bernoulli"), "excused: random output that reproduces numpy's random generator"),
    (re.compile(r"^node/test_castlike_(BFLOAT16_to_FLOAT|FLOAT_to_BFLOAT16)(_expanded)?$"),
     "excused: test data contradicts the model: input 'like' is [1] in input_1.pb, [3,4] in the model"),
]


# ---- one test --------------------------------------------------------------------------------

# compile --fast-only: the status of a test whose generated code calls no fast kernel (dropped from
# the run's results, as if --filter had left it out).
NOT_FAST = "not-fast"


def value_kind(type_proto):
    """'tensor', 'sequence', 'map', 'optional' or 'sparse' for a graph input/output type."""
    which = type_proto.WhichOneof("value")
    return {"tensor_type": "tensor", "sequence_type": "sequence", "map_type": "map",
            "optional_type": "optional", "sparse_tensor_type": "sparse"}.get(which, str(which))


def read_value(path, kind):
    """An expected/actual value file: a TensorProto, or the proto of a non-tensor value."""
    with open(path, "rb") as f:
        data = f.read()
    proto = {"tensor": onnx.TensorProto, "sequence": onnx.SequenceProto,
             "map": onnx.MapProto, "optional": onnx.OptionalProto}.get(kind, onnx.TensorProto)()
    proto.ParseFromString(data)
    return proto


def describe(kind, proto):
    if kind != "tensor":
        return kind
    return "%s%s" % (DTYPE_NAMES.get(proto.data_type, "?"), list(proto.dims))


def elem_type(type_proto):
    return type_proto.tensor_type.elem_type if type_proto.WhichOneof("value") == "tensor_type" else None


def main_op(tdir, model):
    """The op a node test is about: the one op type of its model (Constant aside) or, for an
    `_expanded` test, of the test it expands; None when that is not a single op."""
    if tdir.endswith("_expanded") and os.path.exists(tdir[:-len("_expanded")] + "/model.onnx"):
        model = onnx.load(tdir[:-len("_expanded")] + "/model.onnx", load_external_data=False)
    ops = {n.op_type for n in model.graph.node if n.op_type != "Constant"}
    return ops.pop() if len(ops) == 1 else None


# The operands the fast kernels need constant (weights, biases, statistics), by op.
WEIGHT_OPERANDS = {"Conv": (1, 2), "ConvTranspose": (1, 2), "Gemm": (1, 2), "MatMul": (1,),
                   "BatchNormalization": (1, 2, 3, 4), "PRelu": (1,),
                   # int8: weights, scales and zero points (XNNPACK fixes them at create)
                   "QLinearConv": (1, 2, 3, 4, 5, 6, 7, 8), "QLinearMatMul": (1, 2, 3, 4, 5, 6, 7),
                   "QuantizeLinear": (1, 2), "DequantizeLinear": (1, 2)}


def weight_inputs(model):
    """Graph inputs that feed a weight operand (WEIGHT_OPERANDS), in graph-input order."""
    inits = {t.name for t in model.graph.initializer}
    want = set()
    for n in model.graph.node:
        for k in WEIGHT_OPERANDS.get(n.op_type, ()):
            if k < len(n.input) and n.input[k]:
                want.add(n.input[k])
    return [vi.name for vi in model.graph.input if vi.name in want and vi.name not in inits]


# Range's length depends on its operands' values and nothing in the input shapes bounds it: the
# runner gives each Range output of the graph this bound (--max-extent), as a user would; the
# suites' ranges are far shorter.
RANGE_BOUND = 4096


def range_bounds(model):
    """--max-extent arguments for the Range outputs of the model's graph."""
    args = []
    for n in model.graph.node:
        if n.op_type == "Range" and n.output and n.output[0]:
            args += ["--max-extent", "%s=%d" % (n.output[0], RANGE_BOUND)]
    return args


# A Loop whose trip count (or first condition) is a run-time value sizes its scan outputs by a
# bound (--max-trip-count): the runner gives each such Loop of the graph this one, naming the Loop
# by its first output since the suites' Loops (and those functions expand to) have no node name.
LOOP_BOUND = 4096


def loop_bounds(model, frozen):
    """--max-trip-count arguments for the Loops of the model's graph whose trip count or
    condition depends on a graph input fed at run time (the others fold or unroll away)."""
    inits = {t.name for t in model.graph.initializer}
    fed = {vi.name for vi in model.graph.input if vi.name not in inits and vi.name not in frozen}
    producer = {o: n for n in model.graph.node for o in n.output if o}

    def reaches_fed(name, seen):
        if name in fed:
            return True
        if name in seen or name not in producer:
            return False
        seen.add(name)
        return any(reaches_fed(i, seen) for i in producer[name].input if i)

    args = []
    for n in model.graph.node:
        if n.op_type == "Loop" and n.output and n.output[0] and \
                any(reaches_fed(i, set()) for i in n.input[:2] if i):
            args += ["--max-trip-count", "%s=%d" % (n.output[0], LOOP_BOUND)]
    return args


def has_strings(model):
    for vi in list(model.graph.input) + list(model.graph.output):
        if vi.type.WhichOneof("value") == "tensor_type" and vi.type.tensor_type.elem_type == 8:
            return True
    return False


class Runner:
    def __init__(self, args):
        self.args = args

    def edgecc(self, argv, cwd=None):
        """(returncode, stdout, stderr); returncode None on timeout."""
        try:
            p = subprocess.run([self.args.edgecc] + argv, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=self.args.timeout, cwd=cwd)
            return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")
        except subprocess.TimeoutExpired:
            return None, "", ""

    def failure(self, what, rc, err, model):
        """Status and reason for an edgecc call that did not exit 0."""
        if rc is None:
            return "timeout", "%s: no answer within %d s" % (what, self.args.timeout)
        diag = [l for l in err.splitlines() if l.startswith("edgecc: error:")]
        if rc < 0:
            try:
                sig = signal.Signals(-rc).name
            except ValueError:
                sig = "signal %d" % -rc
            return "crash", "%s: killed by %s" % (what, sig)
        if rc != 1:
            first = diag[0] if diag else (err.strip().splitlines() or [""])[-1]
            return "crash", "%s: exit status %d: %s" % (what, rc, first[:200])
        if not diag:
            return "crash", "%s: exit status 1 without an 'edgecc: error:' line" % what
        msg = diag[0][len("edgecc: error:"):].strip()
        if msg.startswith(model + ": "):
            msg = msg[len(model) + 2:]
        return "unsupported", msg

    def run_test(self, suite, name, tdir):
        res = {"id": "%s/%s" % (suite, name), "suite": suite, "name": name,
               "status": "pass", "reason": "", "frozen": []}
        start = time.monotonic()
        try:
            self.check(res, tdir)
        except Exception as e:  # a harness bug must show up as such, not as a model failure
            res["status"], res["reason"] = "crash", "harness: %s: %s" % (type(e).__name__, e)
        res["seconds"] = round(time.monotonic() - start, 3)
        # Reasons name files relative to the test, so the report and the list stay stable.
        res["reason"] = re.sub(re.escape(self.args.work) + r"/t_[^/]*/", "", res["reason"].replace(tdir + "/", ""))
        return res

    def check(self, res, tdir):
        work = tempfile.mkdtemp(prefix="t_", dir=self.args.work)
        try:
            self.check_in(res, tdir, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def check_in(self, res, tdir, work):
        args = self.args
        model_path = os.path.join(tdir, "model.onnx")
        model = onnx.load(model_path, load_external_data=False)
        graph_inputs = list(model.graph.input)
        out_kinds = [value_kind(o.type) for o in model.graph.output]
        out_bf16 = [elem_type(o.type) == BFLOAT16 for o in model.graph.output]
        datasets = sorted(d for d in os.listdir(tdir) if d.startswith("test_data_set_"))
        datasets = [os.path.join(tdir, d) for d in datasets]
        res["strings"] = has_strings(model)
        res["op"] = main_op(tdir, model)
        if not datasets:
            res["status"], res["reason"] = "crash", "harness: the test has no test_data_set_*"
            return

        def input_file(ds, k):
            """input_K.pb of a data set, relabelled as bfloat16 where the suite stored it as uint16."""
            f = os.path.join(ds, "input_%d.pb" % k)
            if k < len(graph_inputs) and elem_type(graph_inputs[k].type) == BFLOAT16:
                t = read_value(f, "tensor")
                if t.data_type == UINT16:
                    t.data_type = BFLOAT16
                    f = os.path.join(work, "%s_input_%d.pb" % (os.path.basename(ds), k))
                    with open(f, "wb") as fh:
                        fh.write(t.SerializeToString())
            return f

        rc, out, err = self.edgecc(["inspect", model_path, "--shape-inputs"])
        if rc != 0:
            res["status"], res["reason"] = self.failure("inspect --shape-inputs", rc, err, model_path)
            return
        frozen = [l for l in out.splitlines() if l]
        # Why each is frozen, for the report: every other input is fed at run time.
        why = {n: "shape operand" for n in frozen}
        if args.freeze_weights:
            for n in weight_inputs(model):
                if n not in frozen:
                    frozen.append(n)
                    why[n] = "weight operand of a fast kernel"
        res["frozen_why"] = why
        index = {vi.name: i for i, vi in enumerate(graph_inputs)}
        for n in frozen:
            if n not in index:
                res["status"], res["reason"] = "crash", "--shape-inputs named '%s', not a graph input" % n
                return
        res["frozen"] = frozen

        built = {}
        for ds in datasets:
            freeze = range_bounds(model) + loop_bounds(model, frozen)
            for n in frozen:
                if not os.path.exists(os.path.join(ds, "input_%d.pb" % index[n])):
                    res["status"], res["reason"] = "unsupported", (
                        "input '%s' feeds a shape operand and %s has no value for it" % (n, os.path.basename(ds)))
                    return
                freeze += ["--freeze-input", "%s=%s" % (n, input_file(ds, index[n]))]
            n_exp = len([f for f in os.listdir(ds) if re.match(r"output_\d+\.pb$", f)])
            kinds = [out_kinds[k] if k < len(out_kinds) else "tensor" for k in range(n_exp)]
            expected = [read_value(os.path.join(ds, "output_%d.pb" % k), kinds[k]) for k in range(n_exp)]
            for k, e in enumerate(expected):
                # numpy has no bfloat16: the suite stores bfloat16 outputs as uint16 bit patterns.
                if k < len(out_bf16) and out_bf16[k] and kinds[k] == "tensor" and e.data_type == UINT16:
                    e.data_type = BFLOAT16

            # Shapes: inspect once, or once per data set when frozen values may change them.
            if ds == datasets[0] or frozen:
                rc, out, err = self.edgecc(["inspect", model_path, "--json"] + freeze)
                if rc != 0:
                    res["status"], res["reason"] = self.failure("inspect", rc, err, model_path)
                    return
                if "\ufffd" in out:
                    res["status"], res["reason"] = "fail", "inspect --json printed bytes that are not UTF-8"
                    return
                try:
                    info = json.loads(out)
                except ValueError as e:
                    res["status"], res["reason"] = "crash", "inspect --json printed invalid JSON: %s" % e
                    return
                res["loads"] = True
            bad = self.compare_shapes(info, expected, kinds)
            if bad:
                res["status"], res["reason"] = "fail", bad
                return
            if args.mode == "shapes":
                continue

            n_in = len([f for f in os.listdir(ds) if re.match(r"input_\d+\.pb$", f)])
            ins = [input_file(ds, k) for k in range(n_in)
                   if k >= len(graph_inputs) or graph_inputs[k].name not in frozen]
            outs = [os.path.join(work, "got_%d.pb" % k) for k in range(n_exp)]
            for f in outs:
                if os.path.exists(f):
                    os.remove(f)
            if args.mode == "eval":
                argv = ["eval", model_path] + freeze
                for f in ins:
                    argv += ["--input", f]
                for f in outs:
                    argv += ["--output", f]
                rc, out, err = self.edgecc(argv)
                if rc != 0:
                    res["status"], res["reason"] = self.failure("eval", rc, err, model_path)
                    return
            else:
                st = self.compile_and_run(res, model_path, freeze, ins, outs, work, built)
                if st:
                    res["status"], res["reason"] = st
                    return
            for k in range(n_exp):
                if not os.path.exists(outs[k]):
                    res["status"], res["reason"] = "fail", "output %d was not written" % k
                    return
                bad = compare_values(read_value(outs[k], kinds[k]), expected[k], kinds[k])
                if bad:
                    res["status"], res["reason"] = "fail", "output %d (%s): %s" % (
                        k, os.path.basename(ds), bad)
                    return

    def compare_shapes(self, info, expected, kinds):
        got = info.get("outputs", [])
        if len(got) != len(expected):
            return "%d outputs inferred, the test has %d" % (len(got), len(expected))
        for k, (g, e, kind) in enumerate(zip(got, expected, kinds)):
            want = describe(kind, e)
            shape = list(g.get("shape") or [])
            # A data-dependent extent: the inferred dim is its bound, the data's must fit in it.
            for d in g.get("bounded_dims", []):
                if kind == "tensor" and d < len(e.dims) and d < len(shape) and e.dims[d] <= shape[d]:
                    shape[d] = e.dims[d]
            have = "%s%s" % (g.get("dtype"), shape if "shape" in g else None)
            if want != have:
                return "output %d '%s': inferred %s, expected %s" % (k, g.get("name"), have, want)
        return None

    def compile_and_run(self, res, model_path, freeze, ins, outs, work, built):
        """Generated code: compile (once per set of frozen values), build, run.
        (status, reason) or None. `built` maps the freeze arguments to the program."""
        key = tuple(freeze)
        if key not in built:
            d = os.path.join(work, "p%d" % len(built))
            os.makedirs(d)
            st = self.build(res, model_path, freeze, d)
            if isinstance(st, tuple):
                return st
            built[key] = st
        argv = [built[key]]
        for f in ins:
            argv += ["--input", f]
        for f in outs:
            argv += ["--output", f]
        try:
            p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               timeout=self.args.timeout)
        except subprocess.TimeoutExpired:
            return "timeout", "generated program: no answer within %d s" % self.args.timeout
        if p.returncode != 0:
            err = p.stderr.decode("utf-8", "replace").strip().splitlines()
            if p.returncode < 0:
                try:
                    sig = signal.Signals(-p.returncode).name
                except ValueError:
                    sig = "signal %d" % -p.returncode
                return "crash", "generated program killed by %s" % sig
            return "fail", "generated program exit %d: %s" % (p.returncode, err[-1] if err else "")
        return None

    def build(self, res, model_path, freeze, d):
        """edgecc writes d/gen, then the build hook (or, for --cmake-build tests, the folder's own
        CMake build) makes the program. Its path, or (status, reason)."""
        gen = os.path.join(d, "gen")
        kernels = ["--kernels", self.args.kernels]
        rc, out, err = self.edgecc(["compile", model_path, "--targets", "host", "-o", gen,
                                    "--name", "model"] + kernels + freeze)
        if rc != 0:
            return self.failure("compile", rc, err, model_path)
        # edgecc's verifier proves no two live tensors overlap in the arena; plan.json says it ran.
        try:
            with open(os.path.join(gen, "plan.json")) as f:
                parts = json.load(f).get("partitions", [])
        except (OSError, ValueError) as e:
            return "fail", "compile wrote no readable plan.json: %s" % e
        if not parts or not all(p.get("arena_verified") is True for p in parts):
            return "fail", "plan.json does not record a verified memory plan for every partition"
        host = os.path.join(gen, "host")
        if self.args.kernels != "ref":
            # The fast kernels the code calls: codegen heads each such step with "/* kernel: KIND */"
            # (kernels/xnnpack is copied in any case, for its thread pool).
            # XNNPACK steps also carry their operator kind in their parameters (".kind = ECK_XNN_CONV"):
            # --min-fast-tests counts the tests per kind, so that a lowering that falls back to the
            # reference kernels for some kind everywhere fails the run.
            kinds, ops = set(res.get("fast", [])), set(res.get("xnn_ops", []))
            for f in os.listdir(host):
                if re.match(r".*_p\d+\.c$", f) and not f.startswith("main_"):
                    with open(os.path.join(host, f), errors="replace") as fh:
                        text = fh.read()
                    kinds |= set(re.findall(r"^/\* kernel: (.*) \*/$", text, re.M)) - {"reference"}
                    ops |= {k.lower() for k in re.findall(r"^\s*\.kind = ECK_XNN_([A-Z0-9_]+),", text, re.M)}
                    # oneDNN's primitives (--kernels onednn) as dnnl_conv, dnnl_fc, ...
                    ops |= {"dnnl_" + k.lower() for k in re.findall(r"^\s*\.kind = ECK_DNNL_([A-Z0-9_]+)", text, re.M)}
            # The own plain-C kernels that stand for a whole op count as a kind of their own too.
            ops |= {OWN_KINDS[k] for k in kinds if k in OWN_KINDS}
            res["fast"], res["xnn_ops"] = sorted(kinds), sorted(ops)
            if self.args.fast_only and not kinds and not ops:
                # Nothing here runs on a fast kernel: the program would be the reference kernels'
                # (conformance_compile builds and runs those); --fast-only leaves it out of the run.
                return NOT_FAST, "no fast kernel in the generated code"
        if self.args.cmake_build and re.search(self.args.cmake_build, res["id"]):
            res["cmake_build"] = True
            b = os.path.join(d, "build")
            steps = [["cmake", "-S", host, "-B", b, "-G", "Ninja"], ["cmake", "--build", b]]
            exe = os.path.join(b, "model_p0")
        else:
            exe = os.path.join(d, "bin", "model_p0")
            steps = [[self.args.build_hook, host, self.args.build_dir, exe]]
        # The kernels and runtime come optimised from --build-dir; the generated glue builds
        # faster unoptimised (CFLAGS in the environment overrides).
        env = dict(os.environ, CFLAGS=os.environ.get("CFLAGS", "-O0"))
        for argv in steps:
            try:
                p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   timeout=max(self.args.timeout, 300), env=env)
            except subprocess.TimeoutExpired:
                return "timeout", "building the generated code ran past its time limit"
            if p.returncode != 0:
                text = p.stdout.decode("utf-8", "replace").strip().splitlines()
                errs = [l for l in text if "error" in l] or text
                return "fail", "generated code does not build: %s" % (errs[0][:300] if errs else "exit %d" % p.returncode)
        if not os.access(exe, os.X_OK):
            return "fail", "the build made no program %s" % os.path.basename(exe)
        return exe


def compare_values(got, exp, kind):
    """None if equal by ONNX's rule, else what differs."""
    if kind != "tensor":
        return None if got.SerializeToString() == exp.SerializeToString() else "%s values differ" % kind
    if got.data_type != exp.data_type:
        return "dtype %s, expected %s" % (DTYPE_NAMES.get(got.data_type), DTYPE_NAMES.get(exp.data_type))
    if list(got.dims) != list(exp.dims):
        return "shape %s, expected %s" % (list(got.dims), list(exp.dims))
    g, e = numpy_helper.to_array(got), numpy_helper.to_array(exp)
    if exp.data_type in FLOAT_TYPES:
        g64 = g.astype(np.complex128 if exp.data_type in (14, 15) else np.float64)
        e64 = e.astype(g64.dtype)
        ok = np.isclose(g64, e64, rtol=RTOL, atol=ATOL, equal_nan=True)
        if ok.all():
            return None
        with np.errstate(invalid="ignore"):
            diff = np.abs(g64 - e64)
        bad = ~ok
        worst = np.nanmax(np.where(bad, diff, 0)) if np.isfinite(diff[bad]).any() else float("nan")
        i = np.unravel_index(np.argmax(np.where(bad, np.nan_to_num(diff, nan=np.inf), -1)), ok.shape) if ok.ndim else ()
        return "%d of %d elements differ, max abs error %.3g (at %s: got %r, expected %r)" % (
            bad.sum(), ok.size, worst, list(i), g64[i].item(), e64[i].item())
    if np.array_equal(g, e):
        return None
    bad = g != e
    i = np.unravel_index(np.argmax(bad), bad.shape) if bad.ndim else ()
    return "%d of %d elements differ (at %s: got %r, expected %r)" % (
        bad.sum(), bad.size, list(i), g[i].item(), e[i].item())


# ---- expected list ---------------------------------------------------------------------------

def read_expected(path):
    """{test id: (status, class, comment)} from an expected list. A line is
    `suite/test STATUS[: CLASS]  # reason`; CLASS is "" for a pass (and for an old list without one)."""
    exp = {}
    if not os.path.exists(path):
        return exp
    with open(path) as f:
        for line in f:
            text, _, comment = line.partition("#")
            parts = text.split(None, 1)
            if not parts:
                continue
            rest = parts[1].strip() if len(parts) > 1 else "?"
            status, _, cls = rest.partition(":")
            exp[parts[0]] = (status.strip(), cls.strip(), comment.strip())
    return exp


def outcome(status, cls):
    """What a list line and a run are compared by: the status with its reason class."""
    return "%s: %s" % (status, cls) if cls else status


def excuse_for(test_id, res, old_comment):
    if old_comment.startswith("excused:"):
        return old_comment
    if res.get("strings"):
        return "excused: string tensors"
    for rule, reason in EXCUSE_RULES:
        if rule.search(test_id):
            return reason
    return None


def write_expected(path, mode, results, old, kernels="ref", ref_expected=None, selected=None):
    """Rewrites the list from `results`. The old lines of the tests this run did not select
    (`selected(id)` false: another suite, or outside --filter) stay as they were."""
    how = mode if kernels == "ref" else "%s --kernels %s" % (mode, kernels)
    lines = ["# Expected outcome of every conformance test in %s mode: `suite/test STATUS[: CLASS]  [# reason]`." % how,
             "# CLASS is the reason class (run.py's CLASS_RULES: `op X`, `values`, `signal`, `excused`...).",
             "# A run fails when a test's status or class differs, improvements too: after a deliberate change,",
             "# regenerate with `tests/conformance/run.py --mode %s --update ...` and review the diff;" % how,
             "# --update refuses to turn a pass into anything else unless --force is given too.",
             "# Lines whose reason starts with 'excused:' keep it across updates."]
    if ref_expected is not None:
        lines.append("# '%s regression:' marks a test that passes with the reference kernels "
                     "(expected_%s.txt) but not here." % (kernels, mode))
    entries = {}
    for tid, (st, cls, comment) in old.items():
        if selected is not None and not selected(tid):
            entries[tid] = "%s %s%s" % (tid, outcome(st, cls), ("  # " + comment) if comment else "")
    for r in results:
        comment = ""
        if r["status"] != "pass":
            comment = r.get("excused") or short_reason(r["reason"])
            if (ref_expected is not None and not r.get("excused")
                    and ref_expected.get(r["id"], ("", "", ""))[0] == "pass"):
                comment = "%s regression: %s" % (kernels, comment)
        entries[r["id"]] = "%s %s%s" % (r["id"], outcome(r["status"], r["class"]),
                                        ("  # " + comment) if comment else "")
    lines += [entries[k] for k in sorted(entries)]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def lost_passes(expected, results, selected):
    """[(id, new outcome)] of the tests the list says pass that no longer do, or that this run
    selected (`selected(id)`) but did not find: what --update refuses without --force."""
    got = {r["id"]: outcome(r["status"], r["class"]) for r in results}
    lost = []
    for tid, (st, _cls, _c) in sorted(expected.items()):
        if st != "pass":
            continue
        if tid in got and got[tid] != "pass":
            lost.append((tid, got[tid]))
        elif tid not in got and selected(tid):
            lost.append((tid, "(missing)"))
    return lost


def short_reason(reason):
    reason = reason.replace("\n", " ")
    return reason if len(reason) <= 140 else reason[:137] + "..."


# The reason class a list records beside the status (first match wins): coarse enough to stay put
# when a message's wording or a node name changes, fine enough that a test which fails for a new
# reason (its values, where it used to be a missing op) changes its line.
CLASS_RULES = [
    ("unsupported", re.compile(r"unknown op '([^']+)'"), lambda m: "op " + m.group(1)),
    ("unsupported", re.compile(r"not (declared as )?a tensor \(sequences"), lambda m: "non-tensor value"),
    ("unsupported", re.compile(r"feeds a shape operand and .* has no value"), lambda m: "shape operand without a value"),
    ("unsupported", re.compile(r"unsupported dtype|dtype .* is not supported", re.I), lambda m: "dtype"),
    ("unsupported", re.compile(r""), lambda m: "diagnostic"),
    ("fail", re.compile(r"elements differ|values differ"), lambda m: "values"),
    ("fail", re.compile(r"^(output \d+ .*)?(dtype |shape |inferred )|outputs inferred, the test has"), lambda m: "dtype or shape"),
    ("fail", re.compile(r"was not written"), lambda m: "output not written"),
    ("fail", re.compile(r"does not build|the build made no program"), lambda m: "build"),
    ("fail", re.compile(r"plan\.json"), lambda m: "memory plan"),
    ("fail", re.compile(r"generated program exit"), lambda m: "program exit status"),
    ("fail", re.compile(r"not UTF-8"), lambda m: "output encoding"),
    ("fail", re.compile(r""), lambda m: "other"),
    ("crash", re.compile(r"^harness:"), lambda m: "harness"),
    ("crash", re.compile(r"killed by"), lambda m: "signal"),
    ("crash", re.compile(r"without an 'edgecc: error:' line"), lambda m: "no diagnostic"),
    ("crash", re.compile(r"exit status \d+"), lambda m: "exit status"),
    ("crash", re.compile(r""), lambda m: "other"),
    ("timeout", re.compile(r"building"), lambda m: "build"),
    ("timeout", re.compile(r""), lambda m: "time limit"),
]


def list_class(status, reason, excused=None):
    """The reason class of a result for the expected list: "" for a pass, "excused" for a test the
    suites make impossible, else the first CLASS_RULES entry that matches (e.g. "op Loop", "values")."""
    if status == "pass":
        return ""
    if excused:
        return "excused"
    for st, rule, name in CLASS_RULES:
        if st == status:
            m = rule.search(reason)
            if m:
                return name(m)
    return "other"


def reason_class(reason):
    """Groups diagnostics by what went wrong: the op and the message, without node names."""
    r = re.sub(r"node ('[^']*'|#\d+ \(output '[^']*'\)) ", "", reason)
    r = re.sub(r"(max abs error) [-+.\deEinfa]+", r"\1", r)
    r = re.sub(r"\d+ of \d+ elements", "some elements", r)
    r = re.sub(r" \(at .*", "", r)
    r = re.sub(r"output \d+ '[^']*'", "output", r)
    r = re.sub(r"graph input '[^']*'", "a graph input", r)
    r = re.sub(r"graph output '[^']*'", "a graph output", r)
    r = re.sub(r"inferred \S+, expected \S+", "wrong dtype or shape", r)
    r = re.sub(r"\(test_data_set_\d+\)", "", r)
    return r[:100]


# ---- report ----------------------------------------------------------------------------------

def summarize(results, suites):
    table = {}
    for s in suites:
        rs = [r for r in results if r["suite"] == s]
        row = {"tests": len(rs)}
        for st in STATUSES:
            row[st] = sum(r["status"] == st for r in rs)
        row["loads"] = sum(bool(r.get("loads")) for r in rs)
        row["frozen"] = sum(bool(r["frozen"]) for r in rs)
        row["excused"] = sum(bool(r.get("excused")) for r in rs)
        row["pass_rate"] = row["pass"] / len(rs) if rs else 0.0
        row["load_rate"] = row["loads"] / len(rs) if rs else 0.0
        table[s] = row
    return table


def write_report(args, results, table, diffs, elapsed):
    os.makedirs(args.out, exist_ok=True)
    how = args.mode if args.kernels == "ref" else "%s --kernels %s" % (args.mode, args.kernels)
    meta = {"mode": args.mode, "kernels": args.kernels, "fast_only": bool(args.fast_only),
            "suites": args.suites, "seconds": round(elapsed, 1),
            "command": "tests/conformance/run.py --mode %s" % how,
            "commit": git_commit()}
    with open(os.path.join(args.out, "report.json"), "w") as f:
        json.dump({"meta": meta, "summary": table, "differences": diffs,
                   "tests": sorted(results, key=lambda r: r["id"])}, f, indent=1)
    L = []
    what = {"shapes": "load the model and infer output dtypes and shapes (`edgecc inspect --json`)",
            "eval": "load, infer shapes and run every data set with the reference kernels (`edgecc eval`), "
                    "compare values by ONNX's rule",
            "compile": "compile to C (`edgecc compile MODEL --targets host`), build against the runtime and "
                       "kernel libraries, run every data set, compare values by ONNX's rule"}[args.mode]
    if args.kernels != "ref":
        what = what.replace("--targets host`", "--targets host --kernels %s`" % args.kernels)
    L.append("## Mode `%s`" % how)
    L.append("")
    L.append("Each test must %s. Made by `tests/conformance/run.py --mode %s` at commit %s in %.0f s."
             % (what, how, meta["commit"], elapsed))
    if args.fast_only:
        L.append("With `--fast-only`: only the tests whose generated code calls a fast kernel were built "
                 "and run, and the table counts only them (the reference-kernel compile run covers the rest).")
    L.append("Rates are over all the tests of a suite; *frozen* tests had graph inputs that feed shape "
             "operands (or, with the fast kernels, weight operands) turned into constants with "
             "`--freeze-input`; each test's row names them and why. Every other input is fed at run time, "
             "the data inputs of NonZero, Compress, Unique, NonMaxSuppression and TopK's K, Range's operands "
             "(each Range output bounded with `--max-extent OUT=%d`) and a Loop's trip count (each such Loop "
             "bounded with `--max-trip-count OUT=%d`) included: data-dependent shapes." % (RANGE_BOUND, LOOP_BOUND))
    L.append("")
    cols = ["tests", "pass", "fail", "unsupported", "crash", "timeout", "frozen", "excused"]
    head = "| suite | " + " | ".join(cols) + (" | loads" if args.mode == "shapes" else "") + " | pass rate |"
    L.append(head)
    L.append("|" + "---|" * (head.count("|") - 1))
    total = {c: 0 for c in cols + ["loads"]}
    for s in args.suites:
        row = table[s]
        for c in total:
            total[c] += row[c]
        L.append("| %s | " % s + " | ".join(str(row[c]) for c in cols)
                 + (" | %d (%.1f%%)" % (row["loads"], 100 * row["load_rate"]) if args.mode == "shapes" else "")
                 + " | %.1f%% |" % (100 * row["pass_rate"]))
    n = total["tests"] or 1
    L.append("| **all** | " + " | ".join(str(total[c]) for c in cols)
             + (" | %d (%.1f%%)" % (total["loads"], 100 * total["loads"] / n) if args.mode == "shapes" else "")
             + " | %.1f%% |" % (100 * total["pass"] / n))
    L.append("")
    if args.kernels != "ref":
        L.append(fast_summary(results, args.kernels))
        L.append("")
        L.append(int8_summary(results))
        L.append("")
    ops = args.report_ops or args.require_ops_pass
    if ops:
        need = set(ops.split(","))
        req = [r for r in results if r["suite"] == "node" and r.get("op") in need]
        bad = [r for r in req if r["status"] != "pass" and not r.get("excused")]
        L.append("Node tests of the %d ops that must pass (`_expanded` variants included): %d, of which %d pass "
                 "and %d are excused%s."
                 % (len(need), len(req), sum(r["status"] == "pass" for r in req),
                    sum(r["status"] != "pass" and bool(r.get("excused")) for r in req),
                    "; not passing: " + ", ".join("`%s`" % r["name"] for r in bad) if bad else ""))
        L.append("")
    classes = {}
    for r in results:
        if r["status"] != "pass":
            classes.setdefault((r["status"], reason_class(r["reason"])), []).append(r["id"])
    if classes:
        L.append("### Why tests do not pass (most frequent first)")
        L.append("")
        L.append("| tests | status | reason |")
        L.append("|---|---|---|")
        for (st, why), ids in sorted(classes.items(), key=lambda kv: (-len(kv[1]), kv[0])):
            L.append("| %d | %s | %s |" % (len(ids), st, md(why)))
        L.append("")
    exc = [r for r in results if r.get("excused")]
    if exc:
        L.append("### Excused tests")
        L.append("")
        for r in sorted(exc, key=lambda r: r["id"]):
            L.append("- `%s` (%s): %s" % (r["id"], r["status"], r["excused"][len("excused:"):].strip()))
        L.append("")
    L.append("### Every test")
    L.append("")
    for s in args.suites:
        rs = sorted((r for r in results if r["suite"] == s), key=lambda r: r["name"])
        L.append("<details><summary>%s: %d tests, %d pass</summary>" % (s, len(rs), table[s]["pass"]))
        L.append("")
        L.append("| test | status | reason |")
        L.append("|---|---|---|")
        for r in rs:
            note = short_reason(r["reason"])
            if r["frozen"]:
                why = r.get("frozen_why", {})
                note = ("frozen: %s. " % ", ".join(
                    "%s (%s)" % (n, why[n]) if n in why else n for n in r["frozen"])) + note
            L.append("| %s | %s | %s |" % (r["name"], r["status"], md(note)))
        L.append("")
        L.append("</details>")
        L.append("")
    with open(os.path.join(args.out, "report.md"), "w") as f:
        f.write("\n".join(L))


# Labels of the project's own fast kernels (fast_kernels.def) -> their --min-fast-tests kind.
OWN_KINDS = {"recurrent layer (vectorized C)": "rnn"}


def count_xnn_ops(results):
    """{XNNPACK operator kind: number of tests with at least one step of it}."""
    ops = {}
    for r in results:
        for k in r.get("xnn_ops", []):
            ops[k] = ops.get(k, 0) + 1
    return ops


# Quantized ops (issue 14), and the XNNPACK operator kinds that compute on 8-bit data.
QUANT_OPS = {"QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear", "QLinearConv", "QLinearMatMul",
             "ConvInteger", "MatMulInteger"}
INT8_KINDS = {"qconv", "qfc", "quant", "dequant", "maxpool8", "clamp8", "qadd", "qmul"}


def int8_summary(results):
    """Which node tests ran a step on XNNPACK's 8-bit operators (and which kinds), the quantized-op
    tests first; and the quantized-op tests that did not."""
    ran = [r for r in results if INT8_KINDS & set(r.get("xnn_ops", []))]
    quant = sorted((r for r in ran if r.get("op") in QUANT_OPS), key=lambda r: r["name"])
    other = sorted((r for r in ran if r.get("op") not in QUANT_OPS), key=lambda r: r["name"])
    left = sorted((r for r in results if r.get("op") in QUANT_OPS and r not in ran), key=lambda r: r["name"])

    def names(rs):
        return ", ".join("`%s` (%s, %s)" % (r["name"], "/".join(sorted(INT8_KINDS & set(r["xnn_ops"]))), r["status"])
                         for r in rs) or "none"
    return ("Quantized-op tests on XNNPACK's 8-bit operators: %d: %s. Other tests of 8-bit data on them: %d: %s. "
            "Quantized-op tests without such a step (reference int8 kernels): %d: %s."
            % (len(quant), names(quant), len(other), names(other), len(left),
               ", ".join("`%s` (%s)" % (r["name"], r["status"]) for r in left) or "none"))


def fast_summary(results, kernels):
    fast = [r for r in results if r.get("fast")]
    kinds = {}
    for r in fast:
        for k in r["fast"]:
            kinds[k] = kinds.get(k, 0) + 1
    ops = count_xnn_ops(results)
    return ("With `--kernels %s`, %d tests compiled to code with at least one step on a fast kernel "
            "(the others fell back to the reference kernels wholly): %d pass, %d do not. Steps by kind "
            "(tests): %s." % (kernels, len(fast), sum(r["status"] == "pass" for r in fast),
                             sum(r["status"] != "pass" for r in fast),
                             ", ".join("%s %d" % kv for kv in sorted(kinds.items(), key=lambda kv: -kv[1])))
            + " XNNPACK operators by kind (tests): %s."
            % (", ".join("%s %d" % kv for kv in sorted(ops.items(), key=lambda kv: (-kv[1], kv[0]))) or "none"))


def md(s):
    return s.replace("|", "\\|").replace("\n", " ")


def git_commit():
    try:
        return subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL).stdout.decode().strip() or "?"
    except OSError:
        return "?"


# ---- main ------------------------------------------------------------------------------------

def requirements(args, results, table, min_load, min_pass):
    """The checks beyond the expected list; prints each shortfall, returns whether all hold."""
    ok = True
    for s, need in min_load.items():
        if s in table and table[s]["load_rate"] < need:
            print("FAIL: %.1f%% of the %s tests load, at least %.1f%% must"
                  % (100 * table[s]["load_rate"], s, 100 * need))
            ok = False
    for s, need in min_pass.items():
        if s in table and table[s]["pass_rate"] < need:
            print("FAIL: %.1f%% of the %s tests pass, at least %.1f%% must"
                  % (100 * table[s]["pass_rate"], s, 100 * need))
            ok = False
    crashes = [r for r in results if r["status"] in ("crash", "timeout") and not r.get("excused")]
    for r in crashes:
        print("CRASH: %s: %s" % (r["id"], r["reason"]))
    if args.require_correct_shapes:
        wrong = [r for r in results if r["status"] == "fail" and not r.get("excused")]
        for r in wrong:
            print("WRONG SHAPE: %s: %s" % (r["id"], r["reason"]))
        ok = ok and not wrong
    if crashes:
        ok = False
    if getattr(args, "min_fast", None):
        ops = count_xnn_ops(results)
        for kind, need in sorted(args.min_fast.items()):
            if ops.get(kind, 0) < need:
                print("FAIL: %d test(s) ran an XNNPACK %s step, at least %d must (has lowering fallen back "
                      "to the reference kernels?)" % (ops.get(kind, 0), kind, need))
                ok = False
        print("XNNPACK operators by kind (tests, minimum): %s" % ", ".join(
            "%s %d (%d)" % (k, ops.get(k, 0), n) for k, n in sorted(args.min_fast.items())))
    if args.require_ops_pass:
        need = set(args.require_ops_pass.split(","))
        short = [r for r in results if r["suite"] == "node" and r.get("op") in need
                 and r["status"] != "pass" and not r.get("excused")]
        for r in short:
            print("REQUIRED OP: %s (%s) %s: %s" % (r["id"], r["op"], r["status"], short_reason(r["reason"])))
        print("required ops: %d node tests of %d ops, %d do not pass"
              % (sum(r["suite"] == "node" and r.get("op") in need for r in results), len(need), len(short)))
        ok = ok and not short
    return ok


def parse_rates(items, what):
    rates = {}
    for it in items or []:
        s, _, v = it.partition("=")
        try:
            rates[s] = float(v)
        except ValueError:
            sys.exit("run.py: %s takes SUITE=FRACTION, got '%s'" % (what, it))
    return rates


def parse_min_fast(items, kernels):
    """--min-fast-tests KIND=N,... into {kind: N}; a bad value is a usage error (exit 2)."""
    need = {}
    for it in items or []:
        for part in it.split(","):
            kind, _, n = part.partition("=")
            if not re.fullmatch(r"[a-z0-9_]+", kind) or not re.fullmatch(r"[0-9]+", n):
                print("run.py: --min-fast-tests takes KIND=N[,KIND=N...] (KIND an XNNPACK operator kind "
                      "such as conv, N a count), got '%s'" % part, file=sys.stderr)
                sys.exit(2)
            need[kind] = int(n)
    if need and kernels == "ref":
        print("run.py: --min-fast-tests needs --kernels xnnpack", file=sys.stderr)
        sys.exit(2)
    return need


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[2],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--edgecc", required=True, help="the edgecc binary")
    ap.add_argument("--mode", choices=["shapes", "eval", "compile"], default="shapes")
    ap.add_argument("--data", default=DEFAULT_DATA, help="folder holding the suites")
    ap.add_argument("--suites", default=",".join(SUITES))
    ap.add_argument("--filter", help="only tests whose suite/name matches this regular expression")
    ap.add_argument("--out", help="report folder (default ./conformance-MODE)")
    ap.add_argument("--expected", help="expected-results list (default tests/conformance/expected_MODE.txt)")
    ap.add_argument("--update", action="store_true",
                    help="rewrite the expected list from this run (refused when a listed pass no longer passes)")
    ap.add_argument("--force", action="store_true",
                    help="with --update: write the list even though tests listed as passing no longer pass")
    ap.add_argument("-j", "--jobs", type=int, default=2)
    ap.add_argument("--timeout", type=int, default=60, help="seconds per edgecc call")
    ap.add_argument("--kernels", choices=["ref", "xnnpack", "onednn"], default="ref",
                    help="compile mode: the kernel library `edgecc compile` uses (default ref); with xnnpack "
                         "the default build hook, expected list and report folder change accordingly")
    ap.add_argument("--freeze-weights", action="store_true",
                    help="also freeze the graph inputs that feed weight operands (Conv/ConvTranspose/Gemm "
                         "W and B, MatMul B, BatchNormalization statistics, PRelu slope, the QLinear ops' "
                         "weights, scales and zero points, Quantize/DequantizeLinear's scale and zero point) with the data set's "
                         "values: the suites pass weights as inputs, and the fast kernels need them constant")
    ap.add_argument("--fast-only", action="store_true",
                    help="with --kernels xnnpack|onednn: build and run only the tests whose generated code "
                         "calls a fast kernel; the others (reference kernels only, which the ref compile run "
                         "covers) are compiled, then left out of the results and the expected-list check")
    ap.add_argument("--build-hook", default=None,
                    help="compile mode: `HOOK DEVICE_DIR BUILD_DIR EXE` builds the generated folder into EXE "
                         "against the runtime and kernel libraries of BUILD_DIR")
    ap.add_argument("--build-dir", help="compile mode: the edgecc build folder (libecrt.a, libeck_ref.a)")
    ap.add_argument("--cmake-build", help="compile mode: tests matching this regular expression build "
                                          "through the generated folder's own CMakeLists.txt instead")
    ap.add_argument("--min-load", action="append", help="SUITE=FRACTION of tests that must load (shapes)")
    ap.add_argument("--min-pass", action="append", help="SUITE=FRACTION of tests that must pass")
    ap.add_argument("--require-ops-pass", help="comma-separated ops: every node test of one of them "
                    "(its `_expanded` variant included) must pass, excused tests aside")
    ap.add_argument("--report-ops", help="comma-separated ops whose node tests the report counts "
                    "(as --require-ops-pass does, without failing the run)")
    ap.add_argument("--from-report", help="check the requirements against an earlier run's report.json "
                    "instead of running anything (the expected list is not compared)")
    ap.add_argument("--min-fast-tests", action="append", metavar="KIND=N[,KIND=N...]",
                    help="with --kernels xnnpack: at least N tests must run a step of each XNNPACK operator "
                         "kind (conv, fc, maxpool, avgpool, gavgpool, add, mul, clamp, sigmoid, softmax, resize...; "
                         "read from the generated code)")
    ap.add_argument("--require-correct-shapes", action="store_true",
                    help="fail if a model that loads has a wrong output dtype or shape (excused tests aside)")
    args = ap.parse_args()
    args.suites = [s for s in args.suites.split(",") if s]
    if args.fast_only and args.kernels == "ref":
        print("run.py: --fast-only needs --kernels xnnpack or onednn", file=sys.stderr)
        return 2
    if args.kernels != "ref" and args.mode != "compile":
        sys.exit("run.py: --kernels %s needs --mode compile (shapes and eval use no kernels of the build)" % args.kernels)
    fast = "" if args.kernels == "ref" else "_" + args.kernels
    args.build_hook = args.build_hook or os.path.join(REPO, "tests", "codegen", "build_generated.sh")
    args.out = os.path.abspath(args.out or "conformance-%s%s" % (args.mode, fast.replace("_", "-")))
    args.expected = args.expected or os.path.join(HERE, "expected_%s%s.txt" % (args.mode, fast))
    args.edgecc = os.path.abspath(args.edgecc)
    min_load, min_pass = parse_rates(args.min_load, "--min-load"), parse_rates(args.min_pass, "--min-pass")
    args.min_fast = parse_min_fast(args.min_fast_tests, args.kernels)
    if args.force and not args.update:
        print("run.py: --force only goes with --update", file=sys.stderr)
        return 2
    if args.from_report:
        with open(args.from_report) as f:
            rep = json.load(f)
        results = rep["tests"]
        args.suites = [s for s in args.suites if any(r["suite"] == s for r in results)]
        ok = requirements(args, results, summarize(results, args.suites), min_load, min_pass)
        print("%s: %s" % (args.from_report, "every requirement holds" if ok else "requirements not met"))
        return 0 if ok else 1
    if args.mode == "compile" and not (os.access(args.build_hook, os.X_OK) and args.build_dir):
        print("run.py: compile mode needs --build-dir and the build hook %s" % args.build_hook)
        return 2

    tests = []
    for s in args.suites:
        sdir = os.path.join(args.data, s)
        if not os.path.isdir(sdir):
            print("run.py: no suite folder %s (Debian package libonnx-testdata)" % sdir)
            return 1
        for name in sorted(os.listdir(sdir)):
            tid = "%s/%s" % (s, name)
            if args.filter and not re.search(args.filter, tid):
                continue
            if os.path.exists(os.path.join(sdir, name, "model.onnx")):
                tests.append((s, name, os.path.join(sdir, name)))

    os.makedirs(args.out, exist_ok=True)
    args.work = tempfile.mkdtemp(prefix="work_", dir=args.out)
    runner = Runner(args)
    start = time.monotonic()
    results = []
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            for r in pool.map(lambda t: runner.run_test(*t), tests):
                results.append(r)
    finally:
        shutil.rmtree(args.work, ignore_errors=True)
    elapsed = time.monotonic() - start
    not_fast = {r["id"] for r in results if r["status"] == NOT_FAST}
    results = [r for r in results if r["status"] != NOT_FAST]

    expected = read_expected(args.expected)
    for r in results:
        old = expected.get(r["id"], ("", "", ""))[2]
        exc = excuse_for(r["id"], r, old) if (r["status"] != "pass" or old.startswith("excused:")) else None
        if exc and (r["status"] != "pass"):
            r["excused"] = exc
        r["class"] = list_class(r["status"], r["reason"], r.get("excused"))
    diffs = []
    seen = {r["id"] for r in results}
    for r in results:
        want = outcome(*expected[r["id"]][:2]) if r["id"] in expected else "(not listed)"
        got = outcome(r["status"], r["class"])
        if want != got:
            diffs.append({"id": r["id"], "expected": want, "got": got, "reason": r["reason"]})
    if not args.filter:
        for tid, (want, cls, _) in sorted(expected.items()):
            if tid.split("/")[0] in args.suites and tid not in seen and tid not in not_fast:
                diffs.append({"id": tid, "expected": outcome(want, cls), "got": "(missing)", "reason": ""})

    table = summarize(results, args.suites)
    write_report(args, results, table, diffs, elapsed)

    ok = True
    for s in args.suites:
        row = table[s]
        print("%-18s %4d tests: %4d pass, %3d fail, %4d unsupported, %d crash, %d timeout; %d frozen; "
              "loads %.1f%%, passes %.1f%%" % (s, row["tests"], row["pass"], row["fail"], row["unsupported"],
                                               row["crash"], row["timeout"], row["frozen"],
                                               100 * row["load_rate"], 100 * row["pass_rate"]))
    print("%d tests in %.1f s; report: %s/report.md" % (len(results), elapsed, args.out))
    if args.fast_only:
        print("--fast-only: %d more test(s) compiled and left out: no fast kernel in their generated code"
              % len(not_fast))
    if args.kernels != "ref":
        print(fast_summary(results, args.kernels).replace("`", ""))
    ok = requirements(args, results, table, min_load, min_pass) and ok
    def selected(tid):
        return (tid.split("/")[0] in args.suites and not (args.filter and not re.search(args.filter, tid))
                and tid not in not_fast)
    lost = lost_passes(expected, results, selected) if args.update else []
    if lost and not args.force:
        print("--update refused: %d test(s) that %s lists as passing would no longer pass:"
              % (len(lost), os.path.relpath(args.expected, REPO)))
        for tid, got in lost:
            print("  %-60s now %s" % (tid, got))
        print("Fix the regression, or rerun with --update --force if losing these passes is intended.")
        ok = False
    elif args.update:
        ref_list = None
        if args.kernels != "ref":
            ref_list = read_expected(os.path.join(HERE, "expected_%s.txt" % args.mode))
        write_expected(args.expected, args.mode, results, expected, args.kernels, ref_list, selected)
        print("wrote %s%s" % (args.expected, " (%d pass(es) given up, --force)" % len(lost) if lost else ""))
    elif diffs:
        print("%d test(s) changed status or reason class against %s:"
              % (len(diffs), os.path.relpath(args.expected, REPO)))
        for d in diffs:
            print("  %-60s expected %-20s got %-20s %s" % (d["id"], d["expected"], d["got"],
                                                         short_reason(d["reason"])))
        print("If the change is intended, rerun with --update and commit the list.")
        ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
