#!/usr/bin/python3
"""zoo_cache.py — the build folder's cache of zoo exports, and the zoo tests' export fixture.

As a program (ctest `zoo_export`, FIXTURES_SETUP ec_zoo; every test that reads the cache requires it):
    /usr/bin/python3 tests/models/zoo_cache.py --cache DIR [-j N] [--bn MODEL,...] MODEL...
exports each MODEL with export_zoo.py (and each --bn MODEL with BatchNormalizations kept, through
tests/unit/passes/make_models.py --zoo) unless the cache already holds an export made by the same
exporter, checks that every file is there, and exits 1 naming the model if any export fails: a
failed export fails the fixture, and so every test that needs it; it never makes them skip.

Files of a stem (MODEL, or MODEL_bn): STEM.onnx, STEM_input_0.pb, and for a plain export
STEM_output_0.pb (torch's output; the _bn export shares the plain one's). STEM.key records a hash
of the exporter's sources, so a change to export_zoo.py re-exports instead of testing stale files.
Exports go through a temporary folder and a rename, the model last, so a reader never sees half a
file. As a module: export(MODEL, DIR) exports on demand (the benchmarks use it); require(MODEL,
DIR) is what tests call: the path of a complete export, or a failure that names the fixture.
"""

import argparse
import concurrent.futures
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
EXPORT_ZOO = os.path.join(HERE, "export_zoo.py")
MAKE_BN = os.path.join(HERE, "..", "unit", "passes", "make_models.py")
PYTHON = "/usr/bin/python3"  # Debian's, with torch, torchvision and onnx


def files(stem, bn):
    """The files an export of STEM leaves in the cache, the model last (it marks completion)."""
    return [stem + "_input_0.pb"] + ([] if bn else [stem + "_output_0.pb"]) + [stem + ".onnx"]


def key(bn):
    """A hash of the sources that make an export: changing them makes the cached files stale."""
    h = hashlib.sha256()
    for p in [EXPORT_ZOO] + ([MAKE_BN] if bn else []):
        with open(p, "rb") as f:
            h.update(f.read())
    return h.hexdigest()[:16]


def missing(model, cache, bn=False):
    stem = model + ("_bn" if bn else "")
    return [f for f in files(stem, bn) if not os.path.isfile(os.path.join(cache, f))]


def fresh(model, cache, bn=False):
    stem = model + ("_bn" if bn else "")
    try:
        with open(os.path.join(cache, stem + ".key")) as f:
            stamp = f.read().strip()
    except OSError:
        return False
    return stamp == key(bn) and not missing(model, cache, bn)


def export(model, cache, bn=False):
    """Exports MODEL (MODEL_bn with bn) into CACHE unless a fresh export is there; returns the
    .onnx path. Raises RuntimeError with the exporter's output when it fails."""
    stem = model + ("_bn" if bn else "")
    path = os.path.join(cache, stem + ".onnx")
    if fresh(model, cache, bn):
        return path
    os.makedirs(cache, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".export-%s-" % stem, dir=cache)
    try:
        cmd = [PYTHON, MAKE_BN, "--zoo", model, tmp] if bn else [PYTHON, EXPORT_ZOO, model, tmp]
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        text = p.stdout.decode("utf-8", "replace").strip()
        if p.returncode != 0:
            raise RuntimeError("exporting %s failed (%s exit %d):\n%s"
                               % (stem, os.path.basename(cmd[1]), p.returncode, text[-3000:]))
        lost = [f for f in files(stem, bn) if not os.path.isfile(os.path.join(tmp, f))]
        if lost:
            raise RuntimeError("exporting %s wrote no %s:\n%s" % (stem, ", ".join(lost), text[-3000:]))
        for f in files(stem, bn):
            os.replace(os.path.join(tmp, f), os.path.join(cache, f))
        with open(os.path.join(tmp, "key"), "w") as f:
            f.write(key(bn) + "\n")
        os.replace(os.path.join(tmp, "key"), os.path.join(cache, stem + ".key"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return path


def require(model, cache, bn=False):
    """The .onnx path of a complete export in CACHE; exits with a failure naming the fixture when
    a file is missing (a test must fail, not skip or export on its own, when its model is not there)."""
    lost = missing(model, cache, bn)
    if lost:
        raise SystemExit("FAILED: the zoo cache %s has no %s: the ctest fixture zoo_export "
                         "(tests/models/zoo_cache.py) makes it, and every zoo test requires that fixture"
                         % (cache, ", ".join(lost)))
    return os.path.join(cache, model + ("_bn" if bn else "") + ".onnx")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cache", required=True)
    ap.add_argument("-j", "--jobs", type=int, default=2)
    ap.add_argument("--bn", default="", help="comma-separated models also exported with BatchNorms kept")
    ap.add_argument("models", nargs="+")
    a = ap.parse_args()
    todo = [(m, False) for m in a.models] + [(m, True) for m in a.bn.split(",") if m]

    def one(job):
        m, bn = job
        stem = m + ("_bn" if bn else "")
        if fresh(m, a.cache, bn):
            return stem, "cached", None
        start = time.monotonic()
        try:
            export(m, a.cache, bn)
        except RuntimeError as e:
            return stem, None, str(e)
        return stem, "exported in %.1f s" % (time.monotonic() - start), None

    failed = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, a.jobs)) as pool:
        for stem, how, err in pool.map(one, todo):
            if err:
                failed += 1
                print("FAIL: %s" % err)
            else:
                print("%s: %s" % (stem, how))
    if failed:
        print("FAIL: %d of %d zoo exports failed; the tests that need them do not run" % (failed, len(todo)))
        return 1
    print("zoo cache %s: %d exports ready" % (a.cache, len(todo)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
