#!/usr/bin/env python3
"""An example trainer for `nasbo search --evaluator command` (plain Python 3 and NumPy).

Trains a multilayer perceptron on the 8×8 digits ($NASBO_DATA/digits, IDX files) whose shape
and learning rate come from the architecture nasbo hands it, in the text form of the declared
space examples/command-trainer/mlp.toml: `width=64,depth=2,activation=relu,lr=0.1`. It prints
one line per few epochs and, last, the result nasbo reads:

    {"objective": <validation accuracy, %>, "reported": {"test_acc": ..., "params": ...}}

The split follows nasbo's own trainer: the last sixth of the images is the test set, and 20%
of the rest (a fixed, seeded subset) is held out for validation; the seed (`--seed`) sets the
weights and the order of the batches. With `--out DIR` it also writes DIR/result.json.

    python3 train.py --arch 'width=64,depth=2,activation=relu,lr=0.1' --seed 0
"""

import argparse
import gzip
import json
import os
import sys
import time

import numpy as np

DECISIONS = {
    "width": int,
    "depth": int,
    "activation": str,
    "lr": float,
}


def parse_arch(text):
    """`width=64,depth=2,...` as a dict of typed values; every decision required."""
    arch = {}
    for part in text.split(","):
        name, sep, value = part.partition("=")
        name = name.strip()
        if not sep or name not in DECISIONS:
            sys.exit(f"train.py: cannot read architecture {text!r}: unknown part {part!r} "
                     f"(expected {', '.join(k + '=...' for k in DECISIONS)})")
        arch[name] = DECISIONS[name](value.strip())
    missing = [k for k in DECISIONS if k not in arch]
    if missing:
        sys.exit(f"train.py: architecture {text!r} lacks {', '.join(missing)}")
    if arch["activation"] not in ("relu", "tanh", "sigmoid"):
        sys.exit(f"train.py: unknown activation {arch['activation']!r}")
    return arch


def read_idx(path):
    """An IDX file (gzipped or plain) as a NumPy array."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def find(folder, stem):
    for name in (stem + ".gz", stem):
        path = os.path.join(folder, name)
        if os.path.exists(path):
            return path
    sys.exit(f"train.py: {stem}(.gz) not found in {folder}: set NASBO_DATA to the folder that "
             f"holds digits/, or pass --data")


def load_digits(folder):
    x = read_idx(find(folder, "digits-images-idx3-ubyte")).astype(np.float64) / 16.0
    y = read_idx(find(folder, "digits-labels-idx1-ubyte")).astype(np.int64)
    x = x.reshape(len(x), -1)
    n_test = len(x) // 6
    n_train = len(x) - n_test
    order = np.random.default_rng(0).permutation(n_train)
    n_valid = int(round(0.2 * n_train))
    valid, train = order[:n_valid], order[n_valid:]
    return (x[train], y[train]), (x[valid], y[valid]), (x[n_train:], y[n_train:])


ACTIVATIONS = {
    "relu": (lambda z: np.maximum(z, 0.0), lambda a: (a > 0).astype(a.dtype)),
    "tanh": (np.tanh, lambda a: 1.0 - a * a),
    "sigmoid": (lambda z: 1.0 / (1.0 + np.exp(-z)), lambda a: a * (1.0 - a)),
}


class Mlp:
    def __init__(self, sizes, activation, rng):
        self.weights = [rng.normal(0.0, np.sqrt(2.0 / m), (m, n)) for m, n in zip(sizes, sizes[1:])]
        self.biases = [np.zeros(n) for n in sizes[1:]]
        self.act, self.dact = ACTIVATIONS[activation]

    def params(self):
        return sum(w.size + b.size for w, b in zip(self.weights, self.biases))

    def forward(self, x):
        outs = [x]
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            z = outs[-1] @ w + b
            outs.append(z if i == len(self.weights) - 1 else self.act(z))
        return outs

    def predict(self, x):
        return self.forward(x)[-1].argmax(axis=1)

    def step(self, x, y, lr, velocity, momentum=0.9):
        outs = self.forward(x)
        logits = outs[-1] - outs[-1].max(axis=1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        loss = -np.log(p[np.arange(len(y)), y] + 1e-12).mean()
        grad = p
        grad[np.arange(len(y)), y] -= 1.0
        grad /= len(y)
        for i in reversed(range(len(self.weights))):
            gw, gb = outs[i].T @ grad, grad.sum(axis=0)
            if i > 0:
                grad = (grad @ self.weights[i].T) * self.dact(outs[i])
            for j, g in ((2 * i, gw), (2 * i + 1, gb)):
                velocity[j] = momentum * velocity[j] - lr * g
            self.weights[i] += velocity[2 * i]
            self.biases[i] += velocity[2 * i + 1]
        return loss


def accuracy(net, x, y):
    return 100.0 * float((net.predict(x) == y).mean())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", required=True, help="width=..,depth=..,activation=..,lr=..")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", help="a folder for result.json (nasbo's {trial_dir})")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--data", help="the folder with the digits' IDX files "
                        "(default: $NASBO_DATA/digits)")
    args = parser.parse_args()

    arch = parse_arch(args.arch)
    folder = args.data or os.path.join(os.environ.get("NASBO_DATA", ""), "digits")
    if not args.data and not os.environ.get("NASBO_DATA"):
        sys.exit("train.py: set NASBO_DATA to the folder that holds digits/, or pass --data")
    (xt, yt), (xv, yv), (xs, ys) = load_digits(folder)

    started = time.time()
    rng = np.random.default_rng(args.seed % 2**63)
    sizes = [xt.shape[1]] + [arch["width"]] * arch["depth"] + [10]
    net = Mlp(sizes, arch["activation"], rng)
    velocity = [np.zeros_like(p) for w, b in zip(net.weights, net.biases) for p in (w, b)]
    for epoch in range(args.epochs):
        order = rng.permutation(len(xt))
        losses = [net.step(xt[b], yt[b], arch["lr"], velocity)
                  for b in np.array_split(order, max(1, len(order) // args.batch_size))]
        loss = float(np.mean(losses))
        if not np.isfinite(loss):
            # Diverged: say so on stderr and fail the trial (nasbo records it as failed).
            print(f"train.py: the loss diverged at epoch {epoch + 1} (lr {arch['lr']})",
                  file=sys.stderr)
            sys.exit(1)
        if (epoch + 1) % 10 == 0 or epoch + 1 == args.epochs:
            print(f"epoch {epoch + 1}/{args.epochs}: loss {loss:.4f}, "
                  f"valid {accuracy(net, xv, yv):.2f}%", flush=True)

    result = {
        "objective": accuracy(net, xv, yv),
        "reported": {
            "test_acc": accuracy(net, xs, ys),
            "params": float(net.params()),
            "train_s": time.time() - started,
        },
    }
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "result.json"), "w") as f:
            json.dump({"arch": args.arch, "seed": args.seed, **result}, f)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
