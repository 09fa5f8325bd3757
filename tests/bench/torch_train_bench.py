#!/usr/bin/env python3
"""PyTorch baseline for `tessera train` throughput: the same model, batch,
optimiser, noise and ACET attack as training/ (Adam with weight decay 5e-4,
noise = half permuted pixels + half uniform, Gaussian low-pass, per-image
rescaling, PGD on log max p in an l-inf ball), one epoch over the first N
MNIST training images without augmentation. Prints images per second of the
training loop (data already in memory), like log.json's images_per_second.

  torch_train_bench.py DATA_DIR MODEL METHOD N THREADS ACET_STEPS
"""
import gzip, math, struct, sys, time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(784, 256), nn.Linear(256, 256), nn.Linear(256, 10)

    def forward(self, x):
        x = x.flatten(1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(1, 32, 5, padding=2), nn.Conv2d(32, 64, 5, padding=2)
        self.fc1, self.fc2 = nn.Linear(3136, 1024), nn.Linear(1024, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc2(F.relu(self.fc1(x.flatten(1))))


def log_max_conf(logits):
    return F.log_softmax(logits, 1).max(1)[0]


def blur(x, sigma):
    r = min(int(math.ceil(3 * sigma)), x.shape[2] - 1)
    t = torch.arange(-r, r + 1, dtype=x.dtype)
    k = torch.exp(-t * t / (2 * sigma * sigma))
    k = k / k.sum()
    x = F.pad(x, (r, r, r, r), mode="reflect")
    x = F.conv2d(x, k.view(1, 1, -1, 1))
    return F.conv2d(x, k.view(1, 1, 1, -1))


def noise_batch(pool, n):
    half = n // 2 + n % 2
    pick = pool[torch.randint(0, pool.shape[0], (half,))].flatten(1)
    perm = pick.gather(1, torch.rand_like(pick).argsort(1)).view(half, 1, 28, 28)
    x = torch.cat([perm, torch.rand(n - half, 1, 28, 28)])
    x = blur(x, 1 + 1.5 * torch.rand(1).item())
    flat = x.flatten(1)
    lo, hi = flat.min(1, keepdim=True)[0], flat.max(1, keepdim=True)[0]
    return ((flat - lo) / (hi - lo).clamp_min(1e-12)).view_as(x).clamp(0, 1)


def pgd(model, x0, eps, steps):
    step = eps / steps
    lower, upper = (x0 - eps).clamp_min(0), (x0 + eps).clamp_max(1)
    x = torch.max(torch.min(x0 + (torch.rand_like(x0) * 2 - 1) * eps, upper), lower)
    best, best_v = x.clone(), None
    for k in range(steps + 1):
        x.requires_grad_(True)
        v = log_max_conf(model(x))
        g = torch.autograd.grad(v.sum(), x)[0] if k < steps else None
        with torch.no_grad():
            v = v.detach()
            if best_v is None:
                best_v = v.clone()
            else:
                better = v > best_v
                best_v = torch.where(better, v, best_v)
                best = torch.where(better.view(-1, 1, 1, 1), x.detach(), best)
            if k == steps:
                break
            x = torch.max(torch.min(x.detach() + step * g.sign(), upper), lower)
    return best.detach()


def main():
    data_dir, model_name, method, n, threads, steps = sys.argv[1:7]
    n, threads, steps = int(n), int(threads), int(steps)
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    images = torch.from_numpy(read_idx(f"{data_dir}/train-images-idx3-ubyte.gz")[:n].astype(np.float32) / 255).view(-1, 1, 28, 28)
    labels = torch.from_numpy(read_idx(f"{data_dir}/train-labels-idx1-ubyte.gz")[:n].astype(np.int64))
    model = Mlp() if model_name == "mlp" else LeNet()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=5e-4)
    order = torch.randperm(n)
    model.train()
    start = time.perf_counter()
    for b in range(0, n, 128):
        idx = order[b:b + 128]
        x, y = images[idx], labels[idx]
        noise = None
        if method != "plain":
            noise = noise_batch(images, len(idx))
            if method == "acet":
                model.eval()
                noise = pgd(model, noise, 0.3, steps)
                model.train()
        opt.zero_grad()
        logits = model(x)
        loss = F.cross_entropy(logits, y)
        if noise is not None:
            loss = loss + log_max_conf(model(noise)).mean()
        loss.backward()
        opt.step()
        loss.item()
    seconds = time.perf_counter() - start
    print(f"{n / seconds:.1f}")


if __name__ == "__main__":
    main()
