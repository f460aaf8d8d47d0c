#!/usr/bin/python3
"""Peer check for finetune's TestTorchCNNOneEpoch: one epoch of fine-tuning
a torchvision CNN with its last block(s) unfrozen, BatchNorm in inference
mode (model.eval()), plain SGD with momentum, the data in file order.

Usage: torch_cnn.py DIR MODEL N BATCH
  MODEL: small (a 32x32 network of torchvision's own ResNet BasicBlocks and
  a MobileNetV2 InvertedResidual; the last two blocks and the classifier
  train), resnet18 (layer4 and fc train) or mobilenet_v2 (features.16-18
  and the classifier train), both at 224x224.

Writes into DIR, in one run:
  model.onnx      the float32 model before training (opset 13, BatchNorm
                  kept as its own node, initializers named as state_dict);
  x.npy, y.npy    N images and their labels (float32 class indices);
  trainable.json  the names of the parameters that train;
  want/NAME.npy   every trainable parameter after one epoch of PyTorch
                  training in float64 (lr 0.01, momentum 0.9, batch BATCH,
                  cross-entropy on logits), stored as float32;
  want32/NAME.npy the same epoch trained in float32.
"""
import copy
import json
import os
import sys

import numpy as np
import torch
import torchvision
from torchvision.models.mobilenetv2 import InvertedResidual
from torchvision.models.resnet import BasicBlock

SEED = 12  # issue 12


class Small(torch.nn.Module):
    """A ResNet/MobileNetV2 hybrid small enough for the default test suite:
    a strided stem with a ceil_mode max pool, a BasicBlock, an inverted
    residual (depthwise conv, ReLU6), a strided BasicBlock with its 1x1
    downsample, global average pooling and a Linear classifier."""

    def __init__(self):
        super().__init__()
        self.stem = torch.nn.Sequential(
            torch.nn.Conv2d(3, 8, 3, stride=2, padding=1, bias=False), torch.nn.BatchNorm2d(8),
            torch.nn.ReLU(inplace=True), torch.nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True))
        self.layer1 = BasicBlock(8, 8)
        self.layer2 = InvertedResidual(8, 8, stride=1, expand_ratio=2)
        self.layer3 = BasicBlock(8, 16, stride=2, downsample=torch.nn.Sequential(
            torch.nn.Conv2d(8, 16, 1, stride=2, bias=False), torch.nn.BatchNorm2d(16)))
        self.pool = torch.nn.AdaptiveAvgPool2d(1)
        self.fc = torch.nn.Linear(16, 10)

    def forward(self, x):
        x = self.layer3(self.layer2(self.layer1(self.stem(x))))
        return self.fc(torch.flatten(self.pool(x), 1))


def build(name):
    torch.manual_seed(SEED)
    if name == "small":
        return Small(), 32
    return getattr(torchvision.models, name)(num_classes=10), 224


def trainable(name, pname):
    if name == "small":
        return pname.split(".")[0] in ("layer2", "layer3", "fc")
    if name == "resnet18":
        return pname.startswith("layer4.") or pname.startswith("fc.")
    return pname.startswith("classifier.") or any(pname.startswith("features.%d." % i) for i in (16, 17, 18))


def main(d, name, n, batch):
    torch.set_num_threads(1)
    m, size = build(name)
    # Running statistics from one batch of random images (momentum None: a
    # plain average), so that inference-mode BatchNorm is not the identity;
    # gamma and beta random too.
    for mod in m.modules():
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.momentum = None
            mod.reset_running_stats()
            with torch.no_grad():
                mod.weight.uniform_(0.5, 1.5)
                mod.bias.uniform_(-0.2, 0.2)
    m.train()
    with torch.no_grad():
        m(torch.randn(16, 3, size, size, generator=torch.Generator().manual_seed(SEED)))
    m.eval()
    torch.onnx.export(m, torch.randn(1, 3, size, size), os.path.join(d, "model.onnx"), opset_version=13,
                      input_names=["input"], output_names=["output"],
                      dynamic_axes={"input": {0: "N"}, "output": {0: "N"}},
                      do_constant_folding=False, training=torch.onnx.TrainingMode.PRESERVE)
    rng = np.random.default_rng(SEED)
    x = rng.standard_normal((n, 3, size, size), dtype=np.float32)
    y = rng.integers(0, 10, n)
    np.save(os.path.join(d, "x.npy"), x)
    np.save(os.path.join(d, "y.npy"), y.astype(np.float32))

    # The same epoch in float64 (the reference) and in float32 (how far
    # float32 arithmetic alone moves the result, for the test's bound).
    for dtype, sub in ((torch.float64, "want"), (torch.float32, "want32")):
        mm = copy.deepcopy(m).to(dtype)
        params, names = [], []
        for pname, p in mm.named_parameters():
            p.requires_grad = trainable(name, pname)
            if p.requires_grad:
                params.append(p)
                names.append(pname)
        mm.eval()  # BatchNorm on its running statistics, xfer's default when fine-tuning
        opt = torch.optim.SGD(params, lr=0.01, momentum=0.9)
        loss_fn = torch.nn.CrossEntropyLoss()
        xt, yt = torch.from_numpy(x).to(dtype), torch.from_numpy(y)
        for i in range(0, n, batch):
            opt.zero_grad()
            loss_fn(mm(xt[i:i + batch]), yt[i:i + batch]).backward()
            opt.step()
        os.makedirs(os.path.join(d, sub), exist_ok=True)
        for pname, p in mm.named_parameters():
            if p.requires_grad:
                np.save(os.path.join(d, sub, pname + ".npy"), p.detach().numpy().astype(np.float32))
    with open(os.path.join(d, "trainable.json"), "w") as f:
        json.dump(names, f)

if __name__ == "__main__":
    if len(sys.argv) != 5:
        raise SystemExit(__doc__)
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
