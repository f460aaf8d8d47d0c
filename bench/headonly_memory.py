#!/usr/bin/python3
"""PyTorch's side of bench/headonly_memory_vs_torch.sh (Debian's
python3-torch 1.13 and python3-torchvision 0.14; run with /usr/bin/python3).

  prepare DIR MODEL N   build torchvision MODEL (random weights, 10 classes;
                        googlenet without its auxiliary heads, vit_b_16 at
                        its own 224x224) and write DIR/MODEL.onnx (eval mode,
                        torch.onnx.export's defaults, batch dynamic, opset
                        17) and, once, DIR/x.npy (N images 3x224x224 from
                        N(0, 1)) and DIR/y.npy (labels 0..9).
  train DIR MODEL EPOCHS
                        fine-tune the head only, the usual way: every
                        parameter frozen but those of the last Linear (or,
                        for squeezenet, the classifier's Conv), model.eval(),
                        SGD lr 0.01 momentum 0.9, batch 32, the data in file
                        order; prints the peak RSS of the process (kB).
"""
import os
import resource
import sys
import time

import numpy as np
import torch
import torchvision

SEED = 12  # issue 12
BATCH = 32
KWARGS = {"googlenet": {"aux_logits": False, "init_weights": True}}


def build(name):
    torch.manual_seed(SEED)
    return getattr(torchvision.models, name)(num_classes=10, **KWARGS.get(name, {}))


def head(m):
    """The last Linear or Conv2d module: what head-only fine-tuning trains."""
    last = None
    for mod in m.modules():
        if isinstance(mod, (torch.nn.Linear, torch.nn.Conv2d)):
            last = mod
    return last


def prepare(d, name, n):
    m = build(name).eval()
    torch.onnx.export(m, torch.randn(1, 3, 224, 224), os.path.join(d, name + ".onnx"), opset_version=17,
                      input_names=["input"], output_names=["output"], dynamic_axes={"input": {0: "N"}, "output": {0: "N"}})
    if not os.path.exists(os.path.join(d, "x.npy")):
        rng = np.random.default_rng(SEED)
        np.save(os.path.join(d, "x.npy"), rng.standard_normal((n, 3, 224, 224), dtype=np.float32))
        np.save(os.path.join(d, "y.npy"), rng.integers(0, 10, n).astype(np.int64))


def train(d, name, epochs):
    torch.set_num_threads(int(os.environ.get("TORCH_THREADS", "2")))
    m = build(name)
    for p in m.parameters():
        p.requires_grad = False
    h = head(m)
    for p in h.parameters():
        p.requires_grad = True
    m.eval()
    x = torch.from_numpy(np.load(os.path.join(d, "x.npy")))
    y = torch.from_numpy(np.load(os.path.join(d, "y.npy")))
    opt = torch.optim.SGD(h.parameters(), lr=0.01, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()
    start = time.perf_counter()
    for _ in range(epochs):
        for i in range(0, len(y), BATCH):
            opt.zero_grad()
            loss = loss_fn(m(x[i:i + BATCH]), y[i:i + BATCH])
            loss.backward()
            opt.step()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print("torch %s: %s head-only, %d epochs of %d: %.1f s, peak RSS %d kB" % (torch.__version__, name, epochs, len(y), time.perf_counter() - start, rss))
    print("RSS %d" % rss)


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "prepare":
        prepare(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif cmd == "train":
        train(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        raise SystemExit(__doc__)
