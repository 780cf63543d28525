"""ort_install.py — ONNX Runtime from npm for the tests that compare with it: installs
onnxruntime-node into a folder once and marks the install complete, so an install stopped midway
(a killed test, a timeout) is redone rather than taken for a working one."""
import os
import shutil
import subprocess

MARK = "edgecc-ort-installed"


def ensure_ort(folder, timeout=600):
    """Returns `folder`, holding node_modules/onnxruntime-node; raises SystemExit when npm fails."""
    folder = os.path.abspath(folder)
    if os.path.isfile(os.path.join(folder, MARK)):
        return folder
    shutil.rmtree(os.path.join(folder, "node_modules"), ignore_errors=True)
    os.makedirs(folder, exist_ok=True)
    try:
        p = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "onnxruntime-node"], cwd=folder,
                           capture_output=True, text=True, timeout=timeout,
                           env=dict(os.environ, ONNXRUNTIME_NODE_INSTALL="skip"))
    except FileNotFoundError:
        raise SystemExit("FAILED: npm not found (apt-get install nodejs npm, listed in scripts/packages.txt)")
    if p.returncode != 0:
        raise SystemExit("FAILED: npm install onnxruntime-node (%d): %s%s" % (p.returncode, p.stderr[-2000:], p.stdout[-500:]))
    with open(os.path.join(folder, MARK), "w") as f:
        f.write("npm install onnxruntime-node finished\n")
    return folder
