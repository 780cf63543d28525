#!/usr/bin/python3
"""Train the bundled digits CNN and export it with sample inputs and expected outputs.

The data are the UCI handwritten digits that scikit-learn bundles (8x8 greyscale, 0..16).
Everything is seeded and runs on one thread, so two runs write byte-identical files.
Run with Debian's interpreter: /usr/bin/python3 examples/digits/train.py
"""

import os
import sys

import numpy as np
import onnx
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from example_files import record_accuracy, write_samples  # noqa: E402  (examples/example_files.py)
SEED = 0
NUM_SAMPLES = 8
EPOCHS = 40
BATCH = 32


class DigitsCNN(torch.nn.Module):
    """[1,1,8,8] -> conv3x3(16) relu pool -> conv3x3(32) relu pool -> flatten -> gemm(10)."""

    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, 16, 3, padding=1)
        self.conv2 = torch.nn.Conv2d(16, 32, 3, padding=1)
        self.pool = torch.nn.MaxPool2d(2)
        self.fc = torch.nn.Linear(32 * 2 * 2, 10)

    def forward(self, x):
        x = self.pool(torch.relu(self.conv1(x)))
        x = self.pool(torch.relu(self.conv2(x)))
        return self.fc(torch.flatten(x, 1))


def make_deterministic():
    torch.manual_seed(SEED)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)


def load_split():
    digits = load_digits()
    # Pixels are 0..16; scale to [0, 1]. The compiled model expects the same scaling.
    x = (digits.images / 16.0).astype(np.float32)[:, None, :, :]
    y = digits.target.astype(np.int64)
    return train_test_split(x, y, test_size=0.2, random_state=SEED, stratify=y)


def train(model, x_train, y_train):
    x = torch.from_numpy(x_train)
    y = torch.from_numpy(y_train)
    gen = torch.Generator().manual_seed(SEED)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    model.train()
    for _ in range(EPOCHS):
        order = torch.randperm(len(x), generator=gen)
        for i in range(0, len(x), BATCH):
            idx = order[i:i + BATCH]
            opt.zero_grad()
            loss_fn(model(x[idx]), y[idx]).backward()
            opt.step()
    model.eval()


def accuracy(model, x_test, y_test):
    with torch.no_grad():
        pred = model(torch.from_numpy(x_test)).argmax(1).numpy()
    return int((pred == y_test).sum()), len(y_test)


def export(model, path):
    dummy = torch.zeros(1, 1, 8, 8)
    torch.onnx.export(model, dummy, path, opset_version=13,
                      input_names=["input"], output_names=["logits"])
    onnx.checker.check_model(onnx.load(path))


def main():
    make_deterministic()
    x_train, x_test, y_train, y_test = load_split()
    model = DigitsCNN()
    train(model, x_train, y_train)
    correct, total = accuracy(model, x_test, y_test)
    export(model, os.path.join(HERE, "digits.onnx"))
    with torch.no_grad():
        write_samples(lambda x: model(torch.from_numpy(x)).numpy(), x_test, y_test,
                      os.path.join(HERE, "samples"), NUM_SAMPLES)
    record_accuracy(os.path.join(HERE, "README.md"), correct, total)
    print("digits: test accuracy %.2f%% (%d/%d), wrote digits.onnx and %d samples"
          % (100.0 * correct / total, correct, total, NUM_SAMPLES))


if __name__ == "__main__":
    main()
