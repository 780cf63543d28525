#!/usr/bin/python3
"""Train the Fashion-MNIST example CNN and write the model, its accuracy, samples and a calibration set.

The data are Debian's dataset-fashion-mnist (70,000 real 28x28 greyscale images, 10 classes).
The network is a stride-2 stem convolution, four residual blocks of depthwise-separable
convolutions (depthwise 3x3 + pointwise 1x1, BatchNorm, ReLU) with one depthwise-separable
downsampling layer between the pairs, global average pooling and a Linear head. Accuracy is measured on the
10,000 held-out test images only. Seeded; torch runs on CPU with few threads, because the
machine it was written on is shared.
Run with Debian's interpreter: nice /usr/bin/python3 examples/fashion/train.py
"""

import argparse
import gzip
import hashlib
import json
import os
import sys
import time

import numpy as np
import onnx
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from example_files import record_accuracy, write_pb, write_samples  # noqa: E402  (examples/example_files.py)
DATA = "/usr/share/datasets/fashion-mnist"
SEED = 0
EPOCHS = 5
BATCH = 128
LR = 5e-3
NUM_SAMPLES = 8          # test images whose torch logits are committed (samples/)
NUM_CALIB = 500          # training images for calibration (calib/), 50 per class
CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
# The one normalisation, here and in every consumer: x = float32(pixel) / 255.0f, one float32
# division, so x is in [0, 1] and C code gets bit-identical inputs from the same bytes.
SCALE = 255.0


def read_idx(path):
    """A gzipped IDX file as a numpy array (big-endian header: magic, then one u32 per dim)."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    if data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise SystemExit("%s: not an unsigned-byte IDX file" % path)
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    body = np.frombuffer(data, np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(dims)):
        raise SystemExit("%s: %d bytes of data for dims %s" % (path, body.size, dims))
    return body.reshape(dims)


def sha256_file(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def normalise(pixels):
    """uint8 [N,28,28] -> float32 [N,1,28,28] as the model expects."""
    return (torch.from_numpy(pixels.astype(np.float32)) / torch.tensor(SCALE, dtype=torch.float32))[:, None]


class SepConv(torch.nn.Module):
    """Depthwise 3x3 (stride s) -> BN -> ReLU -> pointwise 1x1 -> BN; ReLU left to the caller."""

    def __init__(self, cin, cout, stride=1):
        super().__init__()
        self.dw = torch.nn.Conv2d(cin, cin, 3, stride=stride, padding=1, groups=cin, bias=False)
        self.bn1 = torch.nn.BatchNorm2d(cin)
        self.pw = torch.nn.Conv2d(cin, cout, 1, bias=False)
        self.bn2 = torch.nn.BatchNorm2d(cout)

    def forward(self, x):
        return self.bn2(self.pw(torch.relu(self.bn1(self.dw(x)))))


class ResBlock(torch.nn.Module):
    """relu(x + SepConv(x)): a residual block of one depthwise-separable convolution."""

    def __init__(self, c):
        super().__init__()
        self.body = SepConv(c, c)

    def forward(self, x):
        return torch.relu(x + self.body(x))


class FashionNet(torch.nn.Module):
    """[1,1,28,28] -> stem 3x3/2 (C1) -> res(C1) x2 -> down (C2) -> res(C2) x2
    -> global average pool -> linear(10)."""

    def __init__(self, c1=32, c2=64):
        super().__init__()
        # A stride-2 stem: 14x14 keeps what the classes need and makes training 3x cheaper.
        self.stem = torch.nn.Sequential(torch.nn.Conv2d(1, c1, 3, stride=2, padding=1, bias=False),
                                        torch.nn.BatchNorm2d(c1), torch.nn.ReLU())
        self.block1 = ResBlock(c1)
        self.block2 = ResBlock(c1)
        self.down = SepConv(c1, c2, stride=2)
        self.block3 = ResBlock(c2)
        self.block4 = ResBlock(c2)
        self.fc = torch.nn.Linear(c2, 10)

    def forward(self, x):
        x = self.block2(self.block1(self.stem(x)))
        x = self.block4(self.block3(torch.relu(self.down(x))))
        return self.fc(torch.flatten(torch.nn.functional.adaptive_avg_pool2d(x, 1), 1))


def make_deterministic(threads):
    torch.manual_seed(SEED)
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)


def train(model, x, y, epochs):
    gen = torch.Generator().manual_seed(SEED)
    opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=1e-4)
    steps = epochs * ((len(x) + BATCH - 1) // BATCH)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=LR, total_steps=steps)
    loss_fn = torch.nn.CrossEntropyLoss()
    model.train()
    for epoch in range(epochs):
        t0 = time.time()
        order = torch.randperm(len(x), generator=gen)
        total = 0.0
        for i in range(0, len(x), BATCH):
            idx = order[i:i + BATCH]
            xb = x[idx]
            # Horizontal flips of half the batch: clothes are left-right symmetric classes.
            flip = torch.rand(len(idx), generator=gen) < 0.5
            xb = torch.where(flip[:, None, None, None], xb.flip(3), xb)
            opt.zero_grad()
            loss = loss_fn(model(xb), y[idx])
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss) * len(idx)
        print("epoch %d/%d: loss %.4f, %.0f s" % (epoch + 1, epochs, total / len(x), time.time() - t0),
              flush=True)
    model.eval()


def predict(model, x):
    with torch.no_grad():
        return torch.cat([model(x[i:i + 500]) for i in range(0, len(x), 500)])


def export(model, path):
    torch.onnx.export(model, torch.zeros(1, 1, 28, 28), path, opset_version=13,
                      input_names=["input"], output_names=["logits"])
    onnx.checker.check_model(onnx.load(path))


def pick_calibration(y_train):
    """NUM_CALIB training indices, the same number per class, seeded, in ascending order."""
    rng = np.random.default_rng(SEED)
    per_class = NUM_CALIB // len(CLASSES)
    picked = [rng.choice(np.flatnonzero(y_train == c), per_class, replace=False) for c in range(len(CLASSES))]
    return np.sort(np.concatenate(picked))


def write_calibration(x_train, y_train, indices, outdir):
    """calib/input_NNN.pb (zero-padded, so name order is file order) and labels.txt, one label
    per line in that order; indices.txt says which training images they are."""
    os.makedirs(outdir, exist_ok=True)
    for old in os.listdir(outdir):
        if old.endswith(".pb"):
            os.remove(os.path.join(outdir, old))
    for k, i in enumerate(indices):
        write_pb(os.path.join(outdir, "input_%03d.pb" % k), x_train[i:i + 1].numpy(), "input")
    with open(os.path.join(outdir, "labels.txt"), "w") as f:
        f.writelines("%d\n" % int(y_train[i]) for i in indices)
    with open(os.path.join(outdir, "indices.txt"), "w") as f:
        f.writelines("%d\n" % int(i) for i in indices)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1: the machine is shared)")
    ap.add_argument("--epochs", type=int, default=EPOCHS)
    ap.add_argument("--out", default=HERE, help="where to write (default: beside this script)")
    args = ap.parse_args()
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    make_deterministic(args.threads)

    files = {k: os.path.join(DATA, "%s-%s-idx%d-ubyte.gz" % (p, w, 3 if w == "images" else 1))
             for k, p, w in [("train_images", "train", "images"), ("train_labels", "train", "labels"),
                             ("test_images", "t10k", "images"), ("test_labels", "t10k", "labels")]}
    for path in files.values():
        if not os.path.exists(path):
            raise SystemExit("%s missing: apt-get install dataset-fashion-mnist" % path)
    x_train = normalise(read_idx(files["train_images"]))
    y_train_np = read_idx(files["train_labels"]).astype(np.int64)
    x_test = normalise(read_idx(files["test_images"]))
    y_test_np = read_idx(files["test_labels"]).astype(np.int64)
    y_train = torch.from_numpy(y_train_np)

    model = FashionNet()
    t0 = time.time()
    train(model, x_train, y_train, args.epochs)
    train_seconds = time.time() - t0

    pred = predict(model, x_test).argmax(1).numpy()
    correct, total = int((pred == y_test_np).sum()), len(y_test_np)

    os.makedirs(args.out, exist_ok=True)
    model_path = os.path.join(args.out, "fashion.onnx")
    export(model, model_path)
    # The first test images with torch's logits, to check compiled code number for number.
    with torch.no_grad():
        write_samples(lambda x: model(torch.from_numpy(x)).numpy(), x_test.numpy(), y_test_np,
                      os.path.join(args.out, "samples"), NUM_SAMPLES)
    calib = pick_calibration(y_train_np)
    write_calibration(x_train, y_train_np, calib, os.path.join(args.out, "calib"))

    params = sum(p.numel() for p in model.parameters())
    info = {
        "model": "fashion.onnx",
        "model_sha256": sha256_file(model_path),
        "input": {"name": "input", "shape": [1, 1, 28, 28], "dtype": "float32"},
        "output": {"name": "logits", "shape": [1, 10], "dtype": "float32"},
        "normalisation": "x = float32(pixel) / 255.0f: one float32 division of the IDX byte, no mean or std; x in [0, 1]",
        "classes": CLASSES,
        "test_accuracy": {"correct": correct, "total": total, "percent": round(100.0 * correct / total, 2),
                          "data": "t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz (the 10,000 held-out images)",
                          "computed_by": "torch %s, fp32, eval mode" % torch.__version__},
        "training": {"seed": SEED, "epochs": args.epochs, "batch": BATCH, "optimizer": "AdamW, one-cycle lr %g" % LR,
                     "augmentation": "random horizontal flip", "torch_threads": args.threads,
                     "seconds": round(train_seconds, 1), "images": int(len(x_train))},
        "parameters": int(params),
        "calibration": {"dir": "calib", "count": int(len(calib)), "files": "input_000.pb .. input_%03d.pb" % (len(calib) - 1),
                        "labels": "calib/labels.txt (one label per line, in file-name order)",
                        "source": "training images, %d per class, indices in calib/indices.txt" % (NUM_CALIB // len(CLASSES))},
        "data_sha256": {os.path.basename(p): sha256_file(p) for p in files.values()},
    }
    with open(os.path.join(args.out, "fashion.json"), "w") as f:
        json.dump(info, f, indent=2)
        f.write("\n")
    if args.out == HERE:
        record_accuracy(os.path.join(HERE, "README.md"), correct, total)
    print("fashion: test accuracy %.2f%% (%d/%d), %d parameters, trained %d epochs in %.0f s"
          % (100.0 * correct / total, correct, total, params, args.epochs, train_seconds))


if __name__ == "__main__":
    main()
