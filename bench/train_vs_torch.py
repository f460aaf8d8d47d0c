#!/usr/bin/python3
"""Train the book's model A (chapter 11) for one epoch with PyTorch and print
samples per second: Flatten, Linear 300-100-50-50-50 + SELU, Linear 8, cross
entropy on logits, SGD lr 1e-3, batch 32, shuffled, on fashion-mnist:A's
43,986 training images. Run by bench/train_vs_torch.sh."""
import gzip, os, sys, time
import numpy as np
import torch

threads = int(os.environ.get("TORCH_THREADS", "2"))
torch.set_num_threads(threads)
torch.manual_seed(42)
d = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/datasets/fashion-mnist"

def idx(name, off):
    with gzip.open(os.path.join(d, name + ".gz")) as f:
        return np.frombuffer(f.read(), np.uint8, offset=off)

y = idx("train-labels-idx1-ubyte", 8)[5000:]
x = idx("train-images-idx3-ubyte", 16).reshape(-1, 28, 28)[5000:]
keep = (y != 5) & (y != 6)
x = torch.tensor(x[keep] / 255.0, dtype=torch.float32)
y = y[keep].astype(np.int64)
y[y > 6] -= 2
y = torch.tensor(y)

layers = [torch.nn.Flatten()]
n_in = 784
for n in (300, 100, 50, 50, 50):
    layers += [torch.nn.Linear(n_in, n), torch.nn.SELU()]
    n_in = n
layers.append(torch.nn.Linear(n_in, 8))
model = torch.nn.Sequential(*layers)
opt = torch.optim.SGD(model.parameters(), lr=1e-3)
loss_fn = torch.nn.CrossEntropyLoss()

n = len(y)
start = time.perf_counter()
perm = torch.randperm(n)
total = 0.0
for i in range(0, n, 32):
    idx_ = perm[i:i + 32]
    opt.zero_grad()
    loss = loss_fn(model(x[idx_]), y[idx_])
    loss.backward()
    opt.step()
    total += loss.item() * len(idx_)
sec = time.perf_counter() - start
print(f"torch {torch.__version__}: {n} samples in {sec:.2f}s = {n / sec:.0f} samples/s (loss {total / n:.4f}, {threads} threads)")
print(f"SAMPLES_PER_SECOND {n / sec:.1f}")
