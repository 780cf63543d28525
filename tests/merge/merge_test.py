#!/usr/bin/python3
"""merge_test.py — several models in one compile (issue 15), checked against each model compiled
alone and against torch.

usage: merge_test.py --edgecc E --build-dir B --work W [--family cnn|resnet50] [--kernels ref,xnnpack,default]
                     [--usage]

Makes the models with merge_models.py (seeded torch, at test time): a, b, c share a backbone and
differ in their final layer, d also in its layer4, e (MobileNetV2) is unrelated. Then, per kernel set
(ref, xnnpack, and `default`: no --kernels, the targets' own choice, oneDNN first on x86-64):
- each model compiled alone, built (tests/codegen/build_generated.sh) and run on the shared input:
  its output within 1e-4 of the largest of torch's (the check outside edgecc);
- the five compiled together (`edgecc a.onnx ... e.onnx`), built and run once: each model's output
  bit for bit its separate program's; run for subsets of the models (`--model b`, `--model d,a`...):
  the same outputs, and the steps only other models need are skipped (they take 0 ns in the profile);
- plan.json's merge ranges: the shared ranges are exactly those found by comparing the ONNX files
  node by node here (op, attributes, initializer bytes, producers): a,b,c,d from the first node
  to the last one a and d have alike, a,b,c up to the node before the final Gemm; e shares nothing;
- a, b, c compiled together: the merged weights file is at most 0.4x the three separate ones.
--usage also checks the usage errors (two models with one stem, --share-input naming a missing
input, an input of another shape, an unknown model, one model on both sides, one model only),
that --share-input shares an input at another position, and that a weight two models' unmerged
convolutions share is stored once with XNNPACK as with the reference kernels.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
MODELS = ["a", "b", "c", "d", "e"]


def run(argv, want=0, **kw):
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
    if p.returncode != want:
        raise SystemExit("FAILED: %s\nexit %d (wanted %d)\n%s%s" % (" ".join(argv), p.returncode, want,
                                                                   p.stdout[-3000:], p.stderr[-3000:]))
    return p


def usage_error(edgecc, args, needle):
    p = run([edgecc, "plan"] + args + ["--targets", "host"], want=2)
    lines = p.stderr.strip().splitlines()
    if len(lines) != 1 or needle not in lines[0]:
        raise SystemExit("FAILED: edgecc plan %s: wanted one line with %r, got:\n%s" % (" ".join(args), needle, p.stderr))
    print("usage error as wanted: %s" % lines[0])


def tiny_model(path, inputs):
    """A Relu of the last input, outputs 'z' (inputs: [(name, shape)])."""
    ins = [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs]
    out = helper.make_tensor_value_info("z", TensorProto.FLOAT, inputs[-1][1])
    node = helper.make_node("Relu", [inputs[-1][0]], ["z"], name="relu")
    g = helper.make_graph([node], "tiny", ins, [out])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), path)


def check_usage(edgecc, models, work):
    a = os.path.join(models, "a.onnx")
    other = os.path.join(work, "other")
    os.makedirs(other, exist_ok=True)
    shutil.copy(a, os.path.join(other, "a.onnx"))
    usage_error(edgecc, [a, os.path.join(other, "a.onnx")], "are both named 'a'")
    b = os.path.join(models, "b.onnx")
    usage_error(edgecc, [a, b, "--share-input", "b.onnx:nope=a.onnx:input"], "model 'b' has no graph input 'nope'")
    small = os.path.join(work, "small.onnx")
    tiny_model(small, [("x", [1, 3, 16, 16])])
    usage_error(edgecc, [a, small, "--share-input", "small:x=a:input"], "a shared input needs one dtype and shape")
    usage_error(edgecc, [a, b, "--share-input", "z.onnx:x=a.onnx:input"], "takes MODEL:INPUT=MODEL:INPUT")
    usage_error(edgecc, [a, b, "--share-input", "a:input=a.onnx:input"], "both sides name model 'a'")
    usage_error(edgecc, [a, "--share-input", "a:input=a:input"], "--share-input needs several models")
    usage_error(edgecc, [a, b, "--share-input", "b:input=a:input", "--share-input", "b.onnx:input=a:input"],
                "is shared twice")
    # x sits at position 1 of two: by position it is not a's input; --share-input says it is.
    two = os.path.join(work, "two.onnx")
    tiny_model(two, [("y", [1, 7]), ("x", [1, 3, 32, 32])])
    p = run([edgecc, "plan", a, two, "--targets", "host"])
    if "input shared" in p.stdout:
        raise SystemExit("FAILED: two's inputs were shared by position:\n" + p.stdout)
    p = run([edgecc, "plan", a, two, "--targets", "host", "--share-input", "two:x=a:input"])
    if "two: 1 input shared with an earlier model" not in p.stdout:
        raise SystemExit("FAILED: --share-input two:x=a:input did not share it:\n" + p.stdout)
    print("--share-input shares an input at another position")

    # Attributes and outputs: p and r alike, q's LeakyRelu has another alpha (same shapes).
    for name, alpha in (("p", 0.1), ("q", 0.2), ("r", 0.1)):
        leaky_model(os.path.join(work, name + ".onnx"), alpha)
    p = run([edgecc, "plan"] + [os.path.join(work, n + ".onnx") for n in "pqr"] + ["--targets", "host"])
    got = [l.split() for l in p.stdout.splitlines() if l.startswith("  shared ") or l.startswith("  own ")]
    want = [["shared", "p,q,r", "1", "'relu1'", "..", "'relu1'"], ["shared", "p,r", "1", "'leaky'", "..", "'leaky'"],
            ["own", "p", "1", "'relu2'", "..", "'relu2'"], ["own", "q", "2", "'leaky'", "..", "'relu2'"],
            ["own", "r", "1", "'relu2'", "..", "'relu2'"]]
    if got != want:
        raise SystemExit("FAILED: p,q,r merged as\n%s\nwanted\n%s" % (got, want))
    print("attributes that differ keep nodes apart; each model keeps its own output node")


def leaky_model(path, alpha):
    """x -> Relu -> LeakyRelu(alpha) -> Relu -> y."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8])
    nodes = [helper.make_node("Relu", ["x"], ["a"], name="relu1"),
             helper.make_node("LeakyRelu", ["a"], ["b"], name="leaky", alpha=alpha),
             helper.make_node("Relu", ["b"], ["y"], name="relu2")]
    g = helper.make_graph(nodes, "leaky", [x], [y])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), path)


def conv_model(path, seed):
    """x -> Conv(W1, own per seed) -> Relu -> Conv(W2, the same in every model) -> y: the second
    convolutions cannot merge (their inputs differ) but their weight is stored once."""
    rng = np.random.default_rng(seed)
    w1 = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    w2 = np.random.default_rng(99).standard_normal((4, 4, 3, 3)).astype(np.float32)
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 8, 8])
    nodes = [helper.make_node("Conv", ["x", "w1"], ["h"], name="conv1", pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["h"], ["r"], name="relu"),
             helper.make_node("Conv", ["r", "w2"], ["y"], name="conv2", pads=[1, 1, 1, 1])]
    g = helper.make_graph(nodes, "conv", [x], [y], [numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(w2, "w2")])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), path)


def check_shared_reorder(a, work):
    """A weight two models' unmerged convolutions share is stored once with the fast kernels too:
    lowering re-lays it out (OIHW -> OHWI) once, not per convolution, so the XNNPACK program's
    weights file is as large as the reference one's but for alignment padding; each model's output is its own program's."""
    paths = []
    for name, seed in (("s1", 1), ("s2", 2)):
        paths.append(os.path.join(work, name + ".onnx"))
        conv_model(paths[-1], seed)
    inp = os.path.join(work, "s_x.pb")
    onnx.save_tensor(numpy_helper.from_array(np.random.default_rng(5).standard_normal((1, 3, 8, 8)).astype(np.float32), "x"), inp)
    sizes = {}
    for kernels in ("ref", "xnnpack"):
        out = os.path.join(work, "s_" + kernels)
        run([a.edgecc] + paths + ["--targets", "host", "--kernels", kernels, "-o", out, "--name", "s"])
        with open(os.path.join(out, "plan.json")) as f:
            once = json.load(f)["merge"]["weights_stored_once"]["count"]
        if once != 1:
            raise SystemExit("FAILED: s1,s2 (--kernels %s): %d weights stored once, wanted 1" % (kernels, once))
        sizes[kernels] = bin_bytes(out)
    # The files may differ by alignment padding: the XNNPACK program places the weights its creates
    # copy last (one copy in memory), in another order, each at a multiple of 64 bytes. A second copy
    # of the shared weight would add its 576 bytes.
    shared = 4 * 4 * 3 * 3 * 4
    if sizes["xnnpack"] >= sizes["ref"] + shared:
        raise SystemExit("FAILED: the shared weight is stored more than once with XNNPACK: weights files %s" % sizes)
    out = os.path.join(work, "s_xnnpack")
    exe = os.path.join(work, "bin_s", "s_p0")
    build(a.edgecc, a.build_dir, out, exe)
    got = [os.path.join(work, "s_%d.pb" % i) for i in (1, 2)]
    run([exe, "--input", inp, "--output"] + got)
    for i, pth in enumerate(paths):
        alone = os.path.join(work, "alone_%d" % i)
        run([a.edgecc, pth, "--targets", "host", "--kernels", "xnnpack", "-o", alone])
        exe1 = os.path.join(work, "bin_alone_%d" % i, "s%d_p0" % (i + 1))
        build(a.edgecc, a.build_dir, alone, exe1)
        want = os.path.join(work, "alone_%d.pb" % i)
        run([exe1, "--input", inp, "--output", want])
        if load(want).tobytes() != load(got[i]).tobytes():
            raise SystemExit("FAILED: s%d's output in the merged XNNPACK program differs from its own" % (i + 1))
    print("a weight shared by unmerged convolutions: one copy with XNNPACK too (%d bytes, as ref)" % sizes["xnnpack"])


def same_prefix(m1, m2):
    """How many leading nodes of two ONNX graphs compute alike: op, attributes, initializer bytes,
    and the same producers (node index and output position) or graph input positions."""
    def where(m):
        inits = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
        ins = {v.name: k for k, v in enumerate(m.graph.input)}
        prod = {}
        for i, n in enumerate(m.graph.node):
            for k, o in enumerate(n.output):
                prod[o] = (i, k)
        return inits, ins, prod

    w1, w2 = where(m1), where(m2)

    def same_input(x1, x2):
        if x1 in w1[0] or x2 in w2[0]:
            return x1 in w1[0] and x2 in w2[0] and w1[0][x1].dtype == w2[0][x2].dtype and \
                w1[0][x1].shape == w2[0][x2].shape and w1[0][x1].tobytes() == w2[0][x2].tobytes()
        if x1 in w1[1] or x2 in w2[1]:
            return w1[1].get(x1) == w2[1].get(x2)
        return w1[2].get(x1) == w2[2].get(x2)

    k = 0
    for n1, n2 in zip(m1.graph.node, m2.graph.node):
        if n1.op_type != n2.op_type or list(n1.attribute) != list(n2.attribute) or len(n1.input) != len(n2.input):
            break
        if not all(same_input(x1, x2) for x1, x2 in zip(n1.input, n2.input)):
            break
        k += 1
    return k


def expected_ranges(models):
    m = {n: onnx.load(os.path.join(models, n + ".onnx")) for n in "abcd"}
    names = [n.name for n in m["a"].graph.node]
    p_ad = same_prefix(m["a"], m["d"])
    p_abc = min(same_prefix(m["a"], m["b"]), same_prefix(m["a"], m["c"]))
    if not 0 < p_ad < p_abc < len(names):
        raise SystemExit("FAILED: the test models are not what the test needs (prefixes a-d %d, a-b/c %d of %d)"
                         % (p_ad, p_abc, len(names)))
    return [(["a", "b", "c", "d"], p_ad, names[0], names[p_ad - 1]),
            (["a", "b", "c"], p_abc - p_ad, names[p_ad], names[p_abc - 1])]


def build(edgecc, build_dir, out, exe):
    run([os.path.join(REPO, "tests/codegen/build_generated.sh"), os.path.join(out, "host"), build_dir, exe],
        env=dict(os.environ, CFLAGS="-O2"))


def load(pb):
    return numpy_helper.to_array(onnx.load_tensor(pb))


def bin_bytes(out):
    host = os.path.join(out, "host")
    return sum(os.path.getsize(os.path.join(host, f)) for f in os.listdir(host) if f.endswith(".bin"))


def kflag(kernels):
    """--kernels KERNELS, or no flag for `default` (the targets' own choice: oneDNN first on x86-64)."""
    return [] if kernels == "default" else ["--kernels", kernels]


def check_kernels(a, models, kernels, want_ranges):
    work = os.path.join(a.work, kernels)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    inp = os.path.join(models, "a_input_0.pb")
    separate, sep_bytes = {}, {}
    for m in MODELS:
        out = os.path.join(work, "sep_" + m)
        run([a.edgecc, os.path.join(models, m + ".onnx"), "--targets", "host", *kflag(kernels), "-o", out])
        exe = os.path.join(work, "bin_" + m, m + "_p0")
        build(a.edgecc, a.build_dir, out, exe)
        got = os.path.join(work, m + "_sep.pb")
        run([exe, "--input", inp, "--output", got])
        separate[m] = load(got)
        sep_bytes[m] = bin_bytes(out)
        torch_y = load(os.path.join(models, m + "_output_0.pb"))
        err = float(np.abs(separate[m].astype(np.float64) - torch_y).max())
        if not err <= 1e-4 * float(np.abs(torch_y).max()):
            raise SystemExit("FAILED: %s alone (--kernels %s): max error %.3g against torch" % (m, kernels, err))

    out = os.path.join(work, "merged")
    p = run([a.edgecc] + [os.path.join(models, m + ".onnx") for m in MODELS] +
            ["--targets", "host", *kflag(kernels), "-o", out, "--name", "merged"])
    print(p.stdout.strip().splitlines()[-1])
    exe = os.path.join(work, "bin_merged", "merged_p0")
    build(a.edgecc, a.build_dir, out, exe)
    outs = [os.path.join(work, m + "_merged.pb") for m in MODELS]
    run([exe, "--input", inp, "--output"] + outs)
    for m, f in zip(MODELS, outs):
        got = load(f)
        if got.dtype != separate[m].dtype or got.shape != separate[m].shape or got.tobytes() != separate[m].tobytes():
            raise SystemExit("FAILED: --kernels %s: %s's output in the merged program differs from its own program "
                             "(max difference %.3g)" % (kernels, m, float(np.abs(got - separate[m]).max())))
    print("--kernels %s: each of %s bit for bit its separate program's output" % (kernels, ",".join(MODELS)))
    check_subsets(exe, inp, separate, kernels, work)
    # auto may run the heads as clusters on threads (ecrt_cluster_step skips there); intra runs
    # the steps in order (ecrt_run_steps_for skips there): both paths.
    out1 = os.path.join(work, "merged_intra")
    run([a.edgecc] + [os.path.join(models, m + ".onnx") for m in MODELS] +
        ["--targets", "host", *kflag(kernels), "-o", out1, "--name", "merged", "--parallel", "intra"])
    exe1 = os.path.join(work, "bin_merged_intra", "merged_p0")
    build(a.edgecc, a.build_dir, out1, exe1)
    check_subsets(exe1, inp, separate, kernels + " --parallel intra", work)

    with open(os.path.join(out, "plan.json")) as f:
        merge = json.load(f)["merge"]
    shared = [(r["models"], r["nodes"], r["first"], r["last"]) for r in merge["ranges"] if r["shared"]]
    want = [tuple(r) for r in want_ranges]
    if shared != want:
        raise SystemExit("FAILED: shared ranges %s, wanted %s" % (shared, want))
    own_e = [r for r in merge["ranges"] if "e" in r["models"]]
    if len(own_e) != 1 or own_e[0]["models"] != ["e"]:
        raise SystemExit("FAILED: the unrelated model e shares something: %s" % own_e)
    if merge["weight_bytes"]["merged"] >= merge["weight_bytes"]["separate"]:
        raise SystemExit("FAILED: merging saved no weight bytes: %s" % merge["weight_bytes"])
    progs = merge["programs"]
    if progs["weights_file_bytes"]["merged"] != bin_bytes(out):
        raise SystemExit("FAILED: plan.json's merged weights file bytes %s, the files hold %d"
                         % (progs["weights_file_bytes"], bin_bytes(out)))
    print("shared ranges as the ONNX files say: %s; e shares nothing" % shared)

    out3 = os.path.join(work, "abc")
    run([a.edgecc] + [os.path.join(models, m + ".onnx") for m in "abc"] +
        ["--targets", "host", *kflag(kernels), "-o", out3])
    merged3, sep3 = bin_bytes(out3), sum(sep_bytes[m] for m in "abc")
    ratio = merged3 / sep3
    print("a,b,c merged: weights files %d bytes against %d separately (%.3fx)" % (merged3, sep3, ratio))
    if ratio > 0.4:
        raise SystemExit("FAILED: the merged weights of three head-only variants are %.3fx the separate ones" % ratio)
    shutil.rmtree(work, ignore_errors=True)


def check_subsets(exe, inp, separate, kernels, work):
    """Per-model entry points: `--model` runs some of the models; each one's output is bit for bit
    its separate program's, and the steps of the models not asked for take no time (the profile
    counts nothing for a skipped step: a step named after another model that is not shared, its
    head, must read 0 ns; a step named after a wanted model must have run)."""
    for subset in (["b"], ["e"], ["d", "a"], ["c", "e"]):
        want = [m for m in MODELS if m in subset]  # outputs come in graph order
        outs = [os.path.join(work, "sub_%s.pb" % m) for m in want]
        prof = os.path.join(work, "sub_prof.json")
        run([exe, "--model", ",".join(subset), "--input", inp, "--output"] + outs + ["--profile-json", prof])
        for m, f in zip(want, outs):
            got = load(f)
            if got.tobytes() != separate[m].tobytes() or got.shape != separate[m].shape:
                raise SystemExit("FAILED: --kernels %s --model %s: %s's output differs from its own program"
                                 % (kernels, ",".join(subset), m))
        with open(prof) as f:
            steps = json.load(f)["steps"]
        ran = {m: 0 for m in MODELS}
        for st in steps:
            m = st["node"].split("/")[0]
            if m in subset:
                ran[m] += st["mean_ms"] > 0
            elif m in ("c", "d", "e") and st["mean_ms"] != 0:
                raise SystemExit("FAILED: --kernels %s --model %s ran step '%s' of model %s"
                                 % (kernels, ",".join(subset), st["node"], m))
        if not all(ran[m] for m in subset):
            raise SystemExit("FAILED: --model %s: no step of some wanted model ran: %s" % (",".join(subset), ran))
        print("--kernels %s --model %s: outputs bit for bit, the other models' heads skipped"
              % (kernels, ",".join(subset)))
    p = run([exe, "--model", "b,nope", "--input", inp], want=2)
    if "unknown model 'nope'" not in p.stderr.splitlines()[0]:
        raise SystemExit("FAILED: --model b,nope: %s" % p.stderr)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--edgecc", required=True)
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--family", choices=["cnn", "resnet50"], default="cnn")
    ap.add_argument("--kernels", default="ref,xnnpack,default")
    ap.add_argument("--usage", action="store_true")
    a = ap.parse_args()
    shutil.rmtree(a.work, ignore_errors=True)
    models = os.path.join(a.work, "models")
    run([sys.executable, os.path.join(HERE, "merge_models.py"), models, "--family", a.family])
    if a.usage:
        check_usage(a.edgecc, models, a.work)
        check_shared_reorder(a, a.work)
    want = expected_ranges(models)
    for kernels in a.kernels.split(","):
        check_kernels(a, models, kernels, want)
    shutil.rmtree(a.work, ignore_errors=True)
    print("merge test passed")


if __name__ == "__main__":
    main()
