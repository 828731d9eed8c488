"""Training throughput of the NAS-Bench-201 network in PyTorch (images per second).

The same network, recipe and input as nasbo-train's `bench_train` example: the benchmark's best
CIFAR-10 cell (index 6111), C=16, N=5, batch 64 of random 32x32x3 images, SGD with Nesterov
momentum 0.9 and weight decay 5e-4. Written from the NAS-Bench-201 paper's description.
"""

import argparse
import time

import torch
from torch import nn

CELL = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"


def parse_cell(s):
    """Edges (from, to, op) of an NB201 cell string."""
    edges = []
    for to, node in enumerate(s.strip("|").split("|+|"), start=1):
        for item in node.strip("|").split("|"):
            op, frm = item.split("~")
            edges.append((int(frm), to, op))
    return edges


class ReluConvBn(nn.Sequential):
    def __init__(self, c_in, c_out, k, stride):
        super().__init__(
            nn.ReLU(),
            nn.Conv2d(c_in, c_out, k, stride, k // 2, bias=False),
            nn.BatchNorm2d(c_out),
        )


class Zero(nn.Module):
    def forward(self, x):
        return x.mul(0.0)


def make_op(op, c):
    if op == "none":
        return Zero()
    if op == "skip_connect":
        return nn.Identity()
    if op == "nor_conv_1x1":
        return ReluConvBn(c, c, 1, 1)
    if op == "nor_conv_3x3":
        return ReluConvBn(c, c, 3, 1)
    if op == "avg_pool_3x3":
        return nn.AvgPool2d(3, 1, 1, count_include_pad=False)
    raise ValueError(op)


class Cell(nn.Module):
    def __init__(self, edges, c):
        super().__init__()
        self.edges = edges
        self.ops = nn.ModuleList([make_op(op, c) for _, _, op in edges])

    def forward(self, x):
        nodes = [x]
        for j in range(1, 4):
            nodes.append(sum(op(nodes[i]) for (i, t, _), op in zip(self.edges, self.ops) if t == j))
        return nodes[3]


class ResBlock(nn.Module):
    def __init__(self, c_in, c_out):
        super().__init__()
        self.conv_a = ReluConvBn(c_in, c_out, 3, 2)
        self.conv_b = ReluConvBn(c_out, c_out, 3, 1)
        self.shortcut = nn.Sequential(nn.AvgPool2d(2, 2), nn.Conv2d(c_in, c_out, 1, bias=False))

    def forward(self, x):
        return self.conv_b(self.conv_a(x)) + self.shortcut(x)


class Net(nn.Module):
    def __init__(self, cell, c=16, n=5, classes=10, in_ch=3):
        super().__init__()
        edges = parse_cell(cell)
        layers = [nn.Conv2d(in_ch, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)]
        chans = [c, 2 * c, 4 * c]
        for s, ch in enumerate(chans):
            if s > 0:
                layers.append(ResBlock(chans[s - 1], ch))
            layers += [Cell(edges, ch) for _ in range(n)]
        layers += [nn.BatchNorm2d(chans[-1]), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        self.body = nn.Sequential(*layers)
        self.classifier = nn.Linear(chans[-1], classes)

    def forward(self, x):
        return self.classifier(self.body(x))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--device", default="cpu")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--threads", type=int, default=0, help="torch.set_num_threads; 0 keeps the default")
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    dev = torch.device(a.device)
    model = Net(CELL).to(dev)
    params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4)
    x = torch.randn(a.batch, 3, 32, 32, device=dev)
    y = torch.randint(0, 10, (a.batch,), device=dev)
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    t = time.perf_counter()
    for _ in range(a.warmup):
        step()
    warm = time.perf_counter() - t
    t = time.perf_counter()
    for _ in range(a.steps):
        last = step()
    s = time.perf_counter() - t
    print(f"torch {torch.__version__} {dev} ({torch.get_num_threads()} threads): {params} params, batch {a.batch}, "
          f"{a.steps} steps in {s:.2f} s ({a.warmup} warm-up steps {warm:.2f} s), last loss {last:.3f}")
    print(f"images_per_s {a.steps * a.batch / s:.1f}")


if __name__ == "__main__":
    main()
