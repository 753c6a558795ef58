#!/usr/bin/env python3
"""PyTorch peer of `pnpm bench speed`: the same models, batch, optimizer (Adam 1e-3) and thread count.

Optional: the bench runs it when `python3` can import torch and prints a skipped row otherwise.
Prints one JSON object: {"torch", "device", "threads", "rows": [{model, stepMs, cpuMs, peakBytes, peakKind}]}.
Usage: torch_speed.py --models resnet20,vgg11 [--batch 128] [--steps 10] [--warmup 2] [--threads 2] [--device cpu|cuda]
"""
import argparse
import json
import resource
import statistics
import sys
import time

import torch
from torch import nn
import torch.nn.functional as F


def divisible(v, by=8):
    out = max(by, int((v + by / 2) // by) * by)
    return out + by if out < 0.9 * v else out


def cbr(cin, cout, k=3, s=1, relu=True, bias=False, bn=True):
    layers = [nn.Conv2d(cin, cout, k, s, padding=k // 2, bias=bias)]
    if bn:
        layers.append(nn.BatchNorm2d(cout, momentum=0.1))
    if relu:
        layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class SmallCnn(nn.Module):
    """conv32-pool-conv64-pool-dense128-dense10 on 28x28x1 (speed.ts buildSmallCnn)."""

    def __init__(self):
        super().__init__()
        self.c1 = cbr(1, 32, bias=True, bn=False)
        self.c2 = cbr(32, 64, bias=True, bn=False)
        self.fc1 = nn.Linear(64 * 7 * 7, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = F.max_pool2d(self.c1(x), 2)
        x = F.max_pool2d(self.c2(x), 2)
        return self.fc2(F.relu(self.fc1(torch.flatten(x, 1))))


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.a = cbr(cin, cout, s=stride)
        self.b = cbr(cout, cout, relu=False)
        self.proj = cbr(cin, cout, k=1, s=stride, relu=False) if stride != 1 or cin != cout else None

    def forward(self, x):
        y = self.b(self.a(x))
        return F.relu(y + (x if self.proj is None else self.proj(x)))


class ResNet(nn.Module):
    """CIFAR ResNet-(6n+2), width 16, 1x1 projection shortcuts (speed.ts buildResnet20, bench resnet())."""

    def __init__(self, depth):
        super().__init__()
        n = (depth - 2) // 6
        self.stem = cbr(3, 16)
        blocks, cin = [], 16
        for stage, width in enumerate([16, 32, 64]):
            for b in range(n):
                blocks.append(Block(cin, width, 2 if stage > 0 and b == 0 else 1))
                cin = width
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        return self.fc(self.blocks(self.stem(x)).mean((2, 3)))


class Vgg11(nn.Module):
    """VGG-11 (config A) x0.5, conv-BN-ReLU, 5 max-pools, global average pool, dense (bench vgg())."""

    def __init__(self, mult=0.5):
        super().__init__()
        layers, cin = [], 3
        for c in [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"]:
            if c == "M":
                layers.append(nn.MaxPool2d(2))
            else:
                cout = max(1, round(c * mult))
                layers.append(cbr(cin, cout))
                cin = cout
        self.features = nn.Sequential(*layers)
        self.fc = nn.Linear(cin, 10)

    def forward(self, x):
        return self.fc(self.features(x).mean((2, 3)))


class Inverted(nn.Module):
    def __init__(self, cin, t, cout, stride):
        super().__init__()
        mid = cin * t
        layers = [cbr(cin, mid, k=1)] if t != 1 else []
        layers += [nn.Conv2d(mid, mid, 3, stride, 1, groups=mid, bias=False), nn.BatchNorm2d(mid), nn.ReLU6()]
        layers.append(cbr(mid, cout, k=1, relu=False))
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        y = self.body(x)
        return x + y if self.residual else y


class MobileNetV2(nn.Module):
    """MobileNetV2 alpha 0.25, CIFAR strides (stem and stage 2 stride 1) (bench mobileNetV2())."""

    def __init__(self, alpha=0.25):
        super().__init__()
        cfg = [(1, 16, 1, 1), (6, 24, 2, 1), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]
        cin = divisible(32 * alpha)
        layers = [cbr(3, cin)]
        for t, c, n, s in cfg:
            for k in range(n):
                cout = divisible(c * alpha)
                layers.append(Inverted(cin, t, cout, s if k == 0 else 1))
                cin = cout
        last = max(divisible(1280 * alpha), 64)
        layers.append(cbr(cin, last, k=1))
        self.features = nn.Sequential(*layers)
        self.fc = nn.Linear(last, 10)

    def forward(self, x):
        return self.fc(self.features(x).mean((2, 3)))


MODELS = {
    "smallCnn": (lambda: SmallCnn(), (1, 28, 28)),
    "resnet20": (lambda: ResNet(20), (3, 32, 32)),
    "resnet56": (lambda: ResNet(56), (3, 32, 32)),
    "vgg11": (lambda: Vgg11(), (3, 32, 32)),
    "mobilenetv2": (lambda: MobileNetV2(), (3, 32, 32)),
}


def peak_rss_bytes():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def measure(name, batch, steps, warmup, device):
    build, shape = MODELS[name]
    torch.manual_seed(1)
    net = build().to(device)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    x = torch.randn(batch, *shape, device=device)
    y = torch.randint(0, 10, (batch,), device=device)
    cuda = device.startswith("cuda")

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(net(x), y)
        loss.backward()
        opt.step()
        loss.item()

    if cuda:
        torch.cuda.reset_peak_memory_stats()
    rss0 = peak_rss_bytes()
    for _ in range(warmup):
        step()
    wall, cpu = [], []
    for _ in range(steps):
        if cuda:
            torch.cuda.synchronize()
        t0, c0 = time.perf_counter(), time.process_time()
        step()
        if cuda:
            torch.cuda.synchronize()
        wall.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
    if cuda:
        peak, kind = torch.cuda.max_memory_allocated(), "cuda max_memory_allocated"
    else:
        peak, kind = peak_rss_bytes() - rss0, "peak RSS growth"
    return {"model": name, "stepMs": statistics.median(wall), "cpuMs": statistics.median(cpu), "peakBytes": peak, "peakKind": kind}


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--models", default="smallCnn,resnet20")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0: PyTorch's default)")
    p.add_argument("--device", default="cpu")
    a = p.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    unknown = [m for m in a.models.split(",") if m not in MODELS]
    if unknown:
        sys.exit(f"unknown model(s) {unknown}; known: {sorted(MODELS)}")
    rows = [measure(m, a.batch, a.steps, a.warmup, a.device) for m in a.models.split(",") if m]
    print(json.dumps({"torch": torch.__version__, "device": a.device, "threads": torch.get_num_threads(), "rows": rows}))


if __name__ == "__main__":
    main()
