#!/usr/bin/python3
"""test_codegen.py — end-to-end tests of `edgecc compile`: generated folders build (own CMake and
the fast path), run, match `edgecc eval` / the sample outputs, are deterministic, allocate nothing
per run, compile under gcc and clang with -Werror, and the output-folder manifest rules hold.

usage: test_codegen.py TEST --edgecc PATH --build-dir DIR --src DIR
"""
import argparse
import os
import random
import shutil
import re
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

A = None  # parsed arguments


def run(cmd, ok=True, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if ok and p.returncode != 0:
        raise SystemExit("FAILED (%d): %s\n%s%s" % (p.returncode, " ".join(map(str, cmd)), p.stdout, p.stderr))
    return p


def edgecc(*args, ok=True, cwd=None):
    """These tests check the portable code (build_generated.sh links the reference kernels), so a
    compile gets `--kernels ref` unless it names its kernels; the fast kernels have their own tests."""
    args = [str(a) for a in args]
    if "--targets" in args and "--kernels" not in args:
        args += ["--kernels", "ref"]
    return run([A.edgecc, *args], ok=ok, cwd=cwd)


def save_tensor(path, arr, name="x"):
    with open(path, "wb") as f:
        f.write(numpy_helper.from_array(arr, name).SerializeToString())


def load_tensor(path):
    return numpy_helper.to_array(onnx.load_tensor(path))


def tiny_model(path, seed=0):
    """Two inputs, an initializer, Add/Relu/Identity with fan-out: exercises caller buffers,
    weights, in-place Relu/Identity and an output that another node also reads."""
    rng = np.random.default_rng(seed)
    w = numpy_helper.from_array(rng.standard_normal((2, 3, 4)).astype(np.float32), "w.0")
    nodes = [
        helper.make_node("Add", ["x", "w.0"], ["s"], name="add/1"),
        helper.make_node("Relu", ["s"], ["r"], name="relu 1"),
        helper.make_node("Add", ["r", "y"], ["t"], name=""),
        helper.make_node("Identity", ["t"], ["int"], name="id"),
        helper.make_node("Relu", ["int"], ["out"], name="relu2"),
        helper.make_node("Add", ["out", "s"], ["out2"], name="add3"),
    ]
    g = helper.make_graph(nodes, "tiny",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 4]),
                           helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
                          [helper.make_tensor_value_info("out", TensorProto.FLOAT, [2, 3, 4]),
                           helper.make_tensor_value_info("out2", TensorProto.FLOAT, [2, 3, 4])],
                          [w])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), path)
    inputs = [rng.standard_normal((2, 3, 4)).astype(np.float32), rng.standard_normal((1, 4)).astype(np.float32)]
    return inputs


def random_dag(path, seed):
    """A random DAG of Add/Relu/Identity over one input, for the memory planner."""
    rng = random.Random(seed)
    shape = [rng.choice([1, 3, 8]), rng.choice([4, 16, 33])]
    names, nodes = ["x"], []
    for i in range(rng.randint(3, 30)):
        op = rng.choice(["Add", "Relu", "Identity", "Add"])
        ins = [rng.choice(names[-6:]) for _ in range(2 if op == "Add" else 1)]
        nodes.append(helper.make_node(op, ins, ["v%d" % i], name="n%d" % i))
        names.append("v%d" % i)
    outs = sorted(set([names[-1]] + rng.sample(names[1:], min(2, len(names) - 1))))
    g = helper.make_graph(nodes, "dag", [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
                          [helper.make_tensor_value_info(o, TensorProto.FLOAT, shape) for o in outs])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), path)
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32), len(outs)


def cmake_build(dev, bdir, extra=()):
    run(["cmake", "-S", dev, "-B", bdir, "-G", "Ninja", *extra])
    run(["cmake", "--build", bdir])


def compare(got, want, what, rtol=1e-5, atol=1e-6):
    if got.dtype != want.dtype or got.shape != want.shape:
        raise SystemExit("FAILED: %s: %s%s != %s%s" % (what, got.dtype, got.shape, want.dtype, want.shape))
    if not np.allclose(got, want, rtol=rtol, atol=atol):
        raise SystemExit("FAILED: %s: max error %g" % (what, np.abs(got - want).max()))


def eval_reference(model, in_files, n_out, tmp):
    outs = [os.path.join(tmp, "ref%d.pb" % i) for i in range(n_out)]
    args = [model]
    for f in in_files:
        args += ["--input", f]
    for f in outs:
        args += ["--output", f]
    edgecc("eval", *args)
    return [load_tensor(f) for f in outs]


def run_program(exe, in_files, n_out, tmp, extra=(), ok=True):
    outs = [os.path.join(tmp, "got%d.pb" % i) for i in range(n_out)]
    cmd = [exe, "--input", *in_files, "--output", *outs, *extra]
    p = run(cmd, ok=ok)
    return p, ([load_tensor(f) for f in outs] if p.returncode == 0 else None)


def tiny_setup(tmp):
    model = os.path.join(tmp, "tiny-net.onnx")
    ins = tiny_model(model)
    files = []
    for i, a in enumerate(ins):
        files.append(os.path.join(tmp, "in%d.pb" % i))
        save_tensor(files[-1], a, "xy"[i])
    return model, files


# ---- tests --------------------------------------------------------------------------------------

def t_tiny(tmp):
    """Own CMake build of a tiny model; outputs equal edgecc eval's, bit for bit."""
    model, files = tiny_setup(tmp)
    out = os.path.join(tmp, "out")
    edgecc(model, "--targets", "host", "-o", out)
    assert os.path.exists(os.path.join(out, "host", "tiny_net_p0.c")), "default name from the stem"
    cmake_build(os.path.join(out, "host"), os.path.join(tmp, "b"))
    ref = eval_reference(model, files, 2, tmp)
    _, got = run_program(os.path.join(tmp, "b", "tiny_net_p0"), files, 2, tmp)
    for i in range(2):
        compare(got[i], ref[i], "output %d" % i, rtol=0, atol=0)
    p = run([os.path.join(tmp, "b", "tiny_net_p0"), "--input", *files, "--bench", "5", "--profile"])
    last = p.stdout.strip().splitlines()[-1]
    assert last.startswith("median_ms: "), last
    float(last.split()[1])
    assert "relu 1" in p.stdout and "Relu" in p.stdout, p.stdout


def t_embed(tmp):
    """--embed-weights: the program runs without a .bin file."""
    model, files = tiny_setup(tmp)
    out = os.path.join(tmp, "out")
    edgecc(model, "--targets", "host", "-o", out, "--embed-weights", "--name", "tiny")
    dev = os.path.join(out, "host")
    assert not os.path.exists(os.path.join(dev, "tiny_p0.bin"))
    run([os.path.join(A.src, "tests/codegen/build_generated.sh"), dev, A.build_dir, os.path.join(tmp, "e", "tiny_p0")])
    ref = eval_reference(model, files, 2, tmp)
    _, got = run_program(os.path.join(tmp, "e", "tiny_p0"), files, 2, tmp)
    compare(got[0], ref[0], "output 0", rtol=0, atol=0)


def t_fast_build(tmp):
    """build_generated.sh against libecrt.a/libeck_ref.a; random DAGs through the planner."""
    script = os.path.join(A.src, "tests/codegen/build_generated.sh")
    for seed in range(6):
        model = os.path.join(tmp, "dag%d.onnx" % seed)
        x, n_out = random_dag(model, seed)
        xf = os.path.join(tmp, "x%d.pb" % seed)
        save_tensor(xf, x)
        out = os.path.join(tmp, "o%d" % seed)
        edgecc(model, "--targets", "host", "-o", out)  # the memory-plan verifier runs inside
        exe = os.path.join(tmp, "fb%d" % seed, "dag%d_p0" % seed)
        run([script, os.path.join(out, "host"), A.build_dir, exe])
        ref = eval_reference(model, [xf], n_out, tmp)
        _, got = run_program(exe, [xf], n_out, tmp)
        for i in range(n_out):
            compare(got[i], ref[i], "dag %d output %d" % (seed, i), rtol=0, atol=0)


def digits_compile(tmp, *extra):
    model = os.path.join(A.src, "examples/digits/digits.onnx")
    out = os.path.join(tmp, "digits")
    # The bundled example must always compile: a failure here fails the test, never skips it.
    p = edgecc(model, "--targets", "host", "-o", out, *extra, ok=False)
    if p.returncode != 0:
        raise SystemExit("FAILED: the bundled digits example does not compile: %s" % p.stderr)
    return model, out


def t_digits(tmp):
    """The digits example: own CMake build, 8 samples against the exported outputs and labels."""
    _, out = digits_compile(tmp)
    cmake_build(os.path.join(out, "host"), os.path.join(tmp, "b"))
    samples = os.path.join(A.src, "examples/digits/samples")
    labels = [int(l.split()[-1]) for l in open(os.path.join(samples, "labels.txt")) if l.strip()]
    for i in range(8):
        _, got = run_program(os.path.join(tmp, "b", "digits_p0"), [os.path.join(samples, "input_%d.pb" % i)], 1, tmp)
        want = load_tensor(os.path.join(samples, "output_%d.pb" % i))
        compare(got[0], want, "sample %d" % i, rtol=1e-4, atol=1e-4 * float(np.abs(want).max()))
        print("sample %d: predicted %d, true %d" % (i, got[0].argmax(), labels[i]))


def t_werror(tmp):
    """Every generated and copied .c compiles with -std=c99 -Wall -Wextra -Werror, gcc and clang."""
    model, _ = tiny_setup(tmp)
    folders = [os.path.join(tmp, "t")]
    edgecc(model, "--targets", "host", "-o", folders[0], "--embed-weights")
    p = edgecc(os.path.join(A.src, "examples/digits/digits.onnx"), "--targets", "host", "-o", os.path.join(tmp, "d"), ok=False)
    if p.returncode == 0:
        folders.append(os.path.join(tmp, "d"))
    # Every file of the folder (generated code, runtime, kernels) gets the full flags.
    for cc in ("gcc", "clang"):
        if not shutil.which(cc):
            raise SystemExit("FAILED: %s not installed" % cc)
        for f in folders:
            dev = os.path.join(f, "host")
            srcs = sorted(os.path.join(r, n) for r, _, ns in os.walk(dev) for n in ns if n.endswith(".c"))
            objs = []
            for i, src in enumerate(srcs):
                objs.append(os.path.join(tmp, "o%d.o" % i))
                run([cc, "-std=c99", "-Wall", "-Wextra", "-Werror", "-O1", "-I" + dev, "-I" + dev + "/runtime",
                     "-I" + dev + "/kernels/ref", "-c", src, "-o", objs[-1]])
            run([cc, *objs, "-lm", "-o", os.path.join(tmp, "w.out")])


def t_determinism(tmp):
    """Two compiles from different working directories into different paths: identical trees."""
    model, _ = tiny_setup(tmp)
    digits = os.path.join(A.src, "examples/digits/digits.onnx")
    trees = []
    for k, cwd in enumerate([tmp, "/"]):
        os.makedirs(os.path.join(tmp, "run%d" % k, "deep"), exist_ok=True)
        out = os.path.join(tmp, "run%d" % k, "deep" if k else "", "o")
        m = shutil.copy(model, os.path.join(tmp, "run%d" % k, "tiny-net.onnx"))
        edgecc(m if k else os.path.relpath(m, cwd), "--targets", "host", "-o", out if k else os.path.relpath(out, cwd), cwd=cwd)
        p = edgecc(digits, "--targets", "host", "-o", out + "_digits", ok=False, cwd=cwd)
        tree = {}
        for base in (out, out + "_digits"):
            for r, _, ns in os.walk(base):
                for n in ns:
                    rel = os.path.relpath(os.path.join(r, n), base)
                    tree[(base.endswith("_digits"), rel)] = open(os.path.join(r, n), "rb").read()
        trees.append(tree)
        for data in tree.values():
            assert tmp.encode() not in data, "an absolute path leaked into the output"
    if trees[0] != trees[1]:
        diff = [k for k in set(trees[0]) | set(trees[1]) if trees[0].get(k) != trees[1].get(k)]
        raise SystemExit("FAILED: outputs differ: %s" % diff)


def t_manifest(tmp):
    """Refuse a non-empty folder without a manifest; --force replaces only the listed files."""
    model, _ = tiny_setup(tmp)
    out = os.path.join(tmp, "o")
    os.makedirs(out)
    open(os.path.join(out, "mine.txt"), "w").write("user data")
    p = edgecc(model, "--targets", "host", "-o", out, ok=False)
    assert p.returncode == 1 and "not written by edgecc" in p.stderr, p.stderr
    p = edgecc(model, "--targets", "host", "-o", out, "--force", ok=False)
    assert p.returncode == 1, "--force must not write into a folder edgecc did not make"
    out2 = os.path.join(tmp, "o2")
    edgecc(model, "--targets", "host", "-o", out2, "--name", "first")
    p = edgecc(model, "--targets", "host", "-o", out2, "--name", "second", ok=False)
    assert p.returncode == 1 and "--force" in p.stderr, p.stderr
    open(os.path.join(out2, "host", "notes.md"), "w").write("keep me")
    edgecc(model, "--targets", "host", "-o", out2, "--name", "second", "--force")
    host = os.listdir(os.path.join(out2, "host"))
    assert "notes.md" in host, "a user file was removed"
    assert "first_p0.c" not in host and "second_p0.c" in host, host
    # A user file where edgecc wants to write is never clobbered.
    open(os.path.join(out2, "host", "first_p0.c"), "w").write("user's")
    p = edgecc(model, "--targets", "host", "-o", out2, "--name", "first", "--force", ok=False)
    assert p.returncode == 1 and "not listed" in p.stderr, p.stderr
    assert open(os.path.join(out2, "host", "first_p0.c")).read() == "user's"


def t_malloc(tmp):
    """No allocation inside run after warm-up: 1 and 300 benchmark runs allocate equally often."""
    lib = os.path.join(tmp, "malloc_count.so")
    run(["cc", "-shared", "-fPIC", "-O2", "-o", lib, os.path.join(A.src, "tests/codegen/malloc_count.c")])
    model, files = tiny_setup(tmp)
    cases = [(model, files, "tiny_net_p0")]
    digits = os.path.join(A.src, "examples/digits/digits.onnx")
    if edgecc(digits, "--targets", "host", "-o", os.path.join(tmp, "d"), ok=False).returncode == 0:
        cases.append((None, [os.path.join(A.src, "examples/digits/samples/input_0.pb")], "digits_p0"))
    edgecc(model, "--targets", "host", "-o", os.path.join(tmp, "t"))
    for m, ins, prog in cases:
        dev = os.path.join(tmp, "t" if m else "d", "host")
        exe = os.path.join(tmp, "x_" + prog, prog)
        run([os.path.join(A.src, "tests/codegen/build_generated.sh"), dev, A.build_dir, exe])
        counts = []
        for n in ("1", "300"):
            p = run([exe, "--input", *ins, "--bench", n], env=dict(os.environ, LD_PRELOAD=lib))
            counts.append([l for l in p.stderr.splitlines() if l.startswith("malloc_count:")][-1])
        if counts[0] != counts[1]:
            raise SystemExit("FAILED: %s allocates in the run path: %s" % (prog, counts))
        print(prog, counts)


def t_driver_errors(tmp):
    """Wrong input count, dtype or shape, a damaged weights file or .pb file: exit 1 and a message."""
    model, files = tiny_setup(tmp)
    out = os.path.join(tmp, "o")
    edgecc(model, "--targets", "host", "-o", out)
    exe = os.path.join(tmp, "b", "tiny_net_p0")
    run([os.path.join(A.src, "tests/codegen/build_generated.sh"), os.path.join(out, "host"), A.build_dir, exe])
    bad_dtype = os.path.join(tmp, "bd.pb")
    save_tensor(bad_dtype, np.zeros((2, 3, 4), np.float64))
    bad_shape = os.path.join(tmp, "bs.pb")
    save_tensor(bad_shape, np.zeros((2, 3, 5), np.float32))
    junk = os.path.join(tmp, "junk.pb")
    open(junk, "wb").write(b"\x0a\xff\xff\xff\xff\x0f")
    w = open(os.path.join(tmp, "b", "tiny_net_p0.bin"), "rb").read()
    bad_w = os.path.join(tmp, "bad.bin")
    open(bad_w, "wb").write(w[:-1] + bytes([w[-1] ^ 1]))
    cases = [
        ([files[0]], [], "takes 2 input"),
        ([bad_dtype, files[1]], [], "must be float32"),
        ([bad_shape, files[1]], [], "must be float32 [2,3,4]"),
        ([junk, files[1]], [], "not a valid TensorProto"),
        (files, ["--weights", bad_w], "bad weights"),
        (files, ["--weights", os.path.join(tmp, "nope.bin")], "cannot read the weights"),
    ]
    for ins, extra, msg in cases:
        p = run([exe, "--input", *ins, *extra], ok=False)
        if p.returncode != 1 or msg not in p.stderr:
            raise SystemExit("FAILED: %s %s: exit %d, %r" % (ins, extra, p.returncode, p.stderr))
    p = run([exe, "--bogus"], ok=False)
    assert p.returncode == 2, p.returncode


def t_plan_json(tmp):
    """plan.json: version, model hash, arena figures within the lower bound's reach."""
    import hashlib
    import json
    model, _ = tiny_setup(tmp)
    out = os.path.join(tmp, "o")
    edgecc(model, "--targets", "host", "-o", out)
    plan = json.load(open(os.path.join(out, "plan.json")))
    assert plan["model_sha256"] == hashlib.sha256(open(model, "rb").read()).hexdigest()
    part = plan["partitions"][0]
    assert part["arena_lower_bound_bytes"] <= part["arena_bytes"], part
    assert part["arena_verified"] is True
    hdr = open(os.path.join(out, "host", "tiny_net_p0.h")).read()
    assert plan["model_sha256"] in hdr and plan["edgecc_version"] in hdr


def two_conv_model(path, sigmoid):
    """conv -> Relu (unnamed) -> [Sigmoid 'act'] -> conv -> Flatten -> Gemm (unnamed): the model of
    t_stable_names, with or without the inserted Sigmoid (which no pass fuses away). Both
    convolutions are named '/conv/Conv' and two tensors ('c.1', 'c_1') make the same C name:
    collisions must be settled from names, not positions."""
    rng = np.random.default_rng(3)
    def w(name, *shape):
        return numpy_helper.from_array(rng.standard_normal(shape).astype(np.float32), name)
    inits = [w("conv1.weight", 8, 3, 3, 3), w("conv1.bias", 8), w("conv2.weight", 8, 8, 3, 3),
             w("conv2.bias", 8), w("fc.weight", 4, 8 * 6 * 6), w("fc.bias", 4)]
    nodes = [helper.make_node("Conv", ["x", "conv1.weight", "conv1.bias"], ["c.1"], name="/conv/Conv",
                              pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c.1"], ["c_1"], name="")]
    mid = "c_1"
    if sigmoid:
        nodes.append(helper.make_node("Sigmoid", ["c_1"], ["s1"], name="/act/Sigmoid"))
        mid = "s1"
    nodes += [helper.make_node("Conv", [mid, "conv2.weight", "conv2.bias"], ["c2"], name="/conv/Conv"),
              helper.make_node("Flatten", ["c2"], ["f"], name="/Flatten"),
              helper.make_node("Gemm", ["f", "fc.weight", "fc.bias"], ["y"], name="", transB=1)]
    g = helper.make_graph(nodes, "two_conv", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])], inits)
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), path)


def c_identifiers(text):
    """The identifiers of C source text, comments, string literals and numbers left out."""
    import re
    text = re.sub(r"/\*.*?\*/|//[^\n]*", " ", text, flags=re.S)
    text = re.sub(r'"(\\.|[^"\\])*"', " ", text)
    return set(re.findall(r"\b[A-Za-z_][A-Za-z0-9_]*\b", text))


def t_stable_names(tmp):
    """A Sigmoid inserted between two convolutions renames no C identifier of the generated code
    (names come from the graph, not from positions), with the reference and the fast kernels."""
    for kernels in ("ref", "xnnpack"):
        ids = []
        for k, sig in enumerate((False, True)):
            d = os.path.join(tmp, "%s%d" % (kernels, k))
            os.makedirs(d)
            model = os.path.join(d, "two_conv.onnx")
            two_conv_model(model, sig)
            out = os.path.join(d, "o")
            edgecc(model, "--targets", "host", "--kernels", kernels, "-o", out)
            names = set()
            for f in ("two_conv_p0.c", "two_conv_p0.h", "main_p0.c"):
                names |= c_identifiers(open(os.path.join(out, "host", f)).read())
            # The steps table's labels (error messages, profiles) too: an unnamed node's is
            # "Op -> output", not its position.
            labels = re.findall(r'^\s*\[S_\w+\] = \{"((?:[^"\\]|\\.)*)"',
                                open(os.path.join(out, "host", "two_conv_p0.c")).read(), re.M)
            names |= {"label:" + l for l in labels}
            ids.append(names)
            # The names settled from a collision are valid, warning-free C.
            dev = os.path.join(out, "host")
            inc = ["-I" + dev, "-I" + dev + "/runtime", "-I" + dev + "/kernels/ref"]
            if kernels == "xnnpack":
                inc += ["-I" + dev + "/kernels/xnnpack", "-I/usr/include"]
            for f in ("two_conv_p0.c", "main_p0.c"):
                run(["cc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-fsyntax-only", *inc, os.path.join(dev, f)])
        gone = sorted(ids[0] - ids[1])
        if gone:
            raise SystemExit("FAILED: --kernels %s: inserting a node renamed or dropped %s" % (kernels, gone))
        if not any("Sigmoid" in n for n in ids[1] - ids[0]):
            raise SystemExit("FAILED: --kernels %s: no identifier names the inserted Sigmoid: %s"
                             % (kernels, sorted(ids[1] - ids[0])))
        print("--kernels %s: %d identifiers kept, %d new: %s" % (kernels, len(ids[0]), len(ids[1] - ids[0]),
                                                                 sorted(ids[1] - ids[0])))


def t_refit_same_c(tmp):
    """Cost-model figures live in plan.json, not in the C: two compiles for one target whose
    description differs only in its fitted efficiencies and peaks give byte-identical C sources
    (and different predictions in plan.json, so the refit did reach the cost model)."""
    import json
    model = os.path.join(tmp, "two_conv.onnx")
    two_conv_model(model, True)
    base = json.load(open(os.path.join(A.src, "targets", "x86-64.json")))
    base["name"] = "refit"
    trees, preds = [], []
    for k, (eff, peak) in enumerate(((0.9, 384.0), (0.05, 40.0))):
        desc = dict(base, peak_gflops={"f32": peak, "i8": 2 * peak},
                    efficiency={lib: {c: {"compute": eff, "memory": eff, "row_ns": 1.0 / eff}
                                      for c in ("gemm", "dwconv", "memory")} for lib in ("ref", "xnnpack")})
        tf = os.path.join(tmp, "refit%d.json" % k)
        json.dump(desc, open(tf, "w"))
        for kernels in ("ref", "xnnpack"):
            out = os.path.join(tmp, "o%d%s" % (k, kernels))
            edgecc(model, "--targets", "refit", "--target-file", tf, "--kernels", kernels, "-o", out)
            dev = os.path.join(out, "refit")
            trees.append({(kernels, n): open(os.path.join(dev, n), "rb").read()
                          for n in sorted(os.listdir(dev)) if n.endswith((".c", ".h"))})
            preds.append(json.load(open(os.path.join(out, "plan.json")))["predicted"])
    for i in range(2):
        if trees[i] != trees[i + 2]:
            diff = [n for n in trees[i] if trees[i][n] != trees[i + 2].get(n)]
            raise SystemExit("FAILED: refitting the cost model changed generated C: %s" % diff)
        if preds[i] == preds[i + 2]:
            raise SystemExit("FAILED: the refit did not change plan.json's predictions: %s" % preds[i])
    print("C identical across refits (%d files); predictions %s vs %s" % (len(trees[0]) + len(trees[1]), preds[0], preds[2]))


def t_alias_steps(tmp):
    """No step for a reshape whose output shares its input's bytes, and only then: a Flatten of an
    activation that dies there is no step (the tensor table says it aliases); a Reshape of a graph
    input, a Flatten whose input is read again, and an Unsqueeze into a graph output stay copies.
    The built program's outputs equal numpy's, bit for bit."""
    x = np.random.default_rng(5).standard_normal((2, 3, 4)).astype(np.float32)
    shape = numpy_helper.from_array(np.array([6, 4], np.int64), "shape")
    axes = numpy_helper.from_array(np.array([0], np.int64), "axes")
    nodes = [helper.make_node("Reshape", ["x", "shape"], ["r"], name="reshape_input"),
             helper.make_node("Relu", ["r"], ["b"], name="relu_b"),
             helper.make_node("Flatten", ["b"], ["f"], name="flatten_dies", axis=0),
             helper.make_node("Neg", ["f"], ["y1"], name="neg"),
             helper.make_node("Relu", ["x"], ["a"], name="relu_a"),
             helper.make_node("Flatten", ["a"], ["fa"], name="flatten_read_again", axis=0),
             helper.make_node("Mul", ["a", "a"], ["z"], name="mul"),
             helper.make_node("Neg", ["fa"], ["y2"], name="neg_2"),
             helper.make_node("Unsqueeze", ["z", "axes"], ["y3"], name="unsqueeze_output")]
    g = helper.make_graph(nodes, "alias", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 4])],
                          [helper.make_tensor_value_info("y1", TensorProto.FLOAT, [1, 24]),
                           helper.make_tensor_value_info("y2", TensorProto.FLOAT, [1, 24]),
                           helper.make_tensor_value_info("y3", TensorProto.FLOAT, [1, 2, 3, 4])], [shape, axes])
    model = os.path.join(tmp, "alias.onnx")
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), model)
    out = os.path.join(tmp, "out")
    edgecc(model, "--targets", "host", "-o", out)
    src = open(os.path.join(out, "host", "alias_p0.c")).read()
    if src.count("no step: aliases") != 1 or "[V_f] = " not in src or "Flatten, no step: aliases V_b" not in src:
        raise SystemExit("FAILED: the Flatten should be the one step left out:\n" + src)
    for step in ("reshape_input", "flatten_read_again", "unsqueeze_output"):
        if "static int %s(" % step not in src:
            raise SystemExit("FAILED: %s must stay a step (its output cannot share its input's bytes)" % step)
    assert "#define ALIAS_P0_N_STEPS 8" in open(os.path.join(out, "host", "alias_p0.h")).read()
    xf = os.path.join(tmp, "x.pb")
    save_tensor(xf, x)
    cmake_build(os.path.join(out, "host"), os.path.join(tmp, "b"))
    _, got = run_program(os.path.join(tmp, "b", "alias_p0"), [xf], 3, tmp)
    a = np.maximum(x, 0)
    compare(got[0], -np.maximum(x.reshape(6, 4), 0).reshape(1, 24), "y1", rtol=0, atol=0)
    compare(got[1], -a.reshape(1, 24), "y2", rtol=0, atol=0)
    compare(got[2], (a * a)[None], "y3", rtol=0, atol=0)


TESTS = {n[2:]: f for n, f in globals().items() if n.startswith("t_")}


def main():
    global A
    ap = argparse.ArgumentParser()
    ap.add_argument("test", choices=sorted(TESTS))
    ap.add_argument("--edgecc", required=True)
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--src", required=True)
    A = ap.parse_args()
    A.edgecc = os.path.abspath(A.edgecc)
    with tempfile.TemporaryDirectory(prefix="ec_codegen_") as tmp:
        TESTS[A.test](os.path.realpath(tmp))
    print("ok:", A.test)


if __name__ == "__main__":
    main()
