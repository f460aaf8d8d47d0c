#!/usr/bin/python3
"""Peer check for finetune's TestAgainstPyTorch: trains the same Dense
network from the same weights on the same batches with PyTorch and writes
the resulting weights. Usage: torch_steps.py DIR CONFIG_JSON
DIR holds x.npy, y.npy and w{i}.npy / b{i}.npy (Keras layout [in, out]);
results go to DIR/out_w{i}.npy, DIR/out_b{i}.npy."""
import json, os, sys
import numpy as np
import torch

torch.set_num_threads(1)
d, cfg = sys.argv[1], json.loads(sys.argv[2])
x = torch.tensor(np.load(os.path.join(d, "x.npy")), dtype=torch.float64)
y = np.load(os.path.join(d, "y.npy"))
layers, acts = [], cfg["activations"]
for i in range(len(acts)):
    w = np.load(os.path.join(d, f"w{i}.npy")).astype(np.float64)
    b = np.load(os.path.join(d, f"b{i}.npy")).astype(np.float64)
    lin = torch.nn.Linear(w.shape[0], w.shape[1]).double()
    with torch.no_grad():
        lin.weight.copy_(torch.tensor(w.T))
        lin.bias.copy_(torch.tensor(b))
    layers.append(lin)
params = [p for l in layers for p in (l.weight, l.bias)]
opt = torch.optim.SGD(params, lr=cfg["lr"], momentum=cfg.get("momentum", 0), nesterov=cfg.get("nesterov", False))
bs = cfg["batch"]
for s in range(0, len(y), bs):
    h = x[s:s + bs]
    for l, a in zip(layers, acts):
        h = l(h)
        if a == "selu":
            h = torch.selu(h)
        elif a == "tanh":
            h = torch.tanh(h)
    if cfg["loss"] == "sce":
        loss = torch.nn.functional.cross_entropy(h, torch.tensor(y[s:s + bs], dtype=torch.long))
    else:
        loss = torch.nn.functional.binary_cross_entropy_with_logits(h[:, 0], torch.tensor(y[s:s + bs], dtype=torch.float64))
    opt.zero_grad()
    loss.backward()
    if cfg.get("clip_value"):
        torch.nn.utils.clip_grad_value_(params, cfg["clip_value"])
    if cfg.get("clip_norm"):  # Keras clipnorm: each tensor on its own
        for p in params:
            torch.nn.utils.clip_grad_norm_([p], cfg["clip_norm"])
    if cfg.get("global_clip_norm"):
        torch.nn.utils.clip_grad_norm_(params, cfg["global_clip_norm"])
    opt.step()
for i, l in enumerate(layers):
    np.save(os.path.join(d, f"out_w{i}.npy"), np.ascontiguousarray(l.weight.detach().numpy().T, dtype=np.float32))
    np.save(os.path.join(d, f"out_b{i}.npy"), l.bias.detach().numpy().astype(np.float32))
