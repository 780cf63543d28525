#!/usr/bin/env python3
"""vectorized.py — the plain-C kernels of the transformer blocks (kernels/xnnpack/eck_xnn_transformer.c,
eck_xnn_dwconv.c) and of the recurrent layers (eck_xnn_rnn.c) compile to vector code. They are only fast when the C compiler vectorizes their
loops: a clamp and a sign test in the GELU once left it scalar with a data-dependent branch (8 ns
per element against 0.3), which no output comparison can see. With the x86-64 target's flags
(targets/x86-64.json), GCC must report a loop vectorized inside each kernel's body once per
version it is compiled into (the baseline and the AVX2 and AVX-512 variants of ECK_VEC_VARIANTS,
which must exist; GCC's report does not say which version, so they are counted).

usage: vectorized.py REPO [CC]   (exit 0 pass, 1 fail; 77 skip: not GCC on x86-64)"""
import json, os, platform, re, subprocess, sys, tempfile

# file -> the bodies (ECK_VEC_VARIANTS' first argument) of the kernels it defines
KERNELS = {"eck_xnn_transformer.c": ["gelu", "gelu_tanh", "layernorm"], "eck_xnn_dwconv.c": ["dwconv"],
           "eck_xnn_rnn.c": ["direction"]}
VERSIONS = ["avx512", "avx2"]  # the variants besides the baseline


def span(lines, name):
    """The lines of an ECK_VEC_INLINE function: its definition to the closing brace in column 0."""
    a = next(i for i, l in enumerate(lines, 1) if re.match(r"^ECK_VEC_INLINE .*\b%s\(" % name, l))
    return a, next(i for i in range(a, len(lines) + 1) if lines[i - 1].startswith("}"))


def check_file(repo, cc, cflags, fname, bodies, tmp):
    src = os.path.join(repo, "kernels/xnnpack", fname)
    lines = open(src).read().split("\n")
    obj = os.path.join(tmp, fname + ".o")
    r = subprocess.run([cc, "-std=c99", *cflags, "-fopt-info-vec-optimized", "-c", src, "-o", obj,
                        "-I" + os.path.join(repo, "kernels/xnnpack"), "-I" + os.path.join(repo, "kernels/ref")],
                       capture_output=True, text=True)
    if r.returncode:
        print(r.stderr)
        return len(bodies)
    vec = [int(m.group(1)) for m in re.finditer(re.escape(fname) + r":(\d+):\d+: optimized: loop vectorized", r.stderr)]
    syms = subprocess.run(["nm", obj], capture_output=True, text=True).stdout
    bad = 0
    for body in bodies:
        # The body's lines (from its definition to the closing brace in column 0) and those of the
        # ECK_VEC_INLINE helpers it calls: GCC reports an inlined loop at its own line.
        a, b = span(lines, body + "_body")
        text = "\n".join(lines[a - 1:b])
        spans = [(a, b)] + [span(lines, h) for h in re.findall(r"^ECK_VEC_INLINE \w+ (\w+)\(", "\n".join(lines), re.M)
                            if h != body + "_body" and h + "(" in text]
        hits = [v for v in vec if any(s <= v <= e for s, e in spans)]
        variants = [v for v in VERSIONS if re.search(r"\b%s_%s\b" % (body, v), syms)]
        ok = len(variants) == len(VERSIONS) and len(hits) >= 1 + len(variants)
        print("%s %s_body and helpers: %d loops vectorized (at lines %s), variants %s: %s"
              % (fname, body, len(hits), ",".join(map(str, sorted(set(hits)))) or "-",
                 ",".join(variants) or "none", "ok" if ok else "FAIL"))
        bad += not ok
    return bad


def main():
    repo = sys.argv[1]
    cc = sys.argv[2] if len(sys.argv) > 2 else "gcc"
    ver = subprocess.run([cc, "--version"], capture_output=True, text=True).stdout
    if platform.machine() != "x86_64" or "Free Software Foundation" not in ver:
        print("SKIP: needs GCC on x86-64 (its -fopt-info report and the variants are GCC's)")
        return 77
    cflags = json.load(open(os.path.join(repo, "targets/x86-64.json")))["cflags"]
    with tempfile.TemporaryDirectory() as tmp:
        bad = sum(check_file(repo, cc, cflags, f, b, tmp) for f, b in KERNELS.items())
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
