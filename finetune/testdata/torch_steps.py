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
acts = cfg["activations"]
layers = []
for i in range(len(acts)):
    w = np.load(os.path.join(d, f"w{i}.npy")).astype(np.float64)
    b = np.load(os.path.join(d, f"b{i}.npy")).astype(np.float64)
    lin = torch.nn.Linear(w.shape[0], w.shape[1]).double()
    with torch.no_grad():
        lin.weight.copy_(torch.tensor(w.T))
        lin.bias.copy_(torch.tensor(b))
    layers.append(lin)
# Optional BatchNorm1d after the first Dense (before its activation), Keras
# momentum 0.99 = PyTorch momentum 0.01.
bn = None
if cfg.get("bn"):
    g = np.load(os.path.join(d, "gamma.npy")).astype(np.float64)
    bn = torch.nn.BatchNorm1d(len(g), eps=1e-3, momentum=0.01).double()
    with torch.no_grad():
        bn.weight.copy_(torch.tensor(g))
        bn.bias.copy_(torch.tensor(np.load(os.path.join(d, "beta.npy")).astype(np.float64)))
        bn.running_mean.copy_(torch.tensor(np.load(os.path.join(d, "mean.npy")).astype(np.float64)))
        bn.running_var.copy_(torch.tensor(np.load(os.path.join(d, "var.npy")).astype(np.float64)))
params = [p for l in layers for p in (l.weight, l.bias)]
if bn is not None:
    params += [bn.weight, bn.bias]
opt = torch.optim.SGD(params, lr=cfg["lr"], momentum=cfg.get("momentum", 0), nesterov=cfg.get("nesterov", False))
bs = cfg["batch"]
kvar = bn.running_var.clone() if bn is not None else None
for s in range(0, len(y), bs):
    h = x[s:s + bs]
    for i, (l, a) in enumerate(zip(layers, acts)):
        h = l(h)
        if i == 0 and bn is not None:
            kvar = 0.99 * kvar + 0.01 * h.detach().var(0, unbiased=False)
            h = bn(h)
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
if bn is not None:
    np.save(os.path.join(d, "out_gamma.npy"), bn.weight.detach().numpy().astype(np.float32))
    np.save(os.path.join(d, "out_beta.npy"), bn.bias.detach().numpy().astype(np.float32))
    np.save(os.path.join(d, "out_mean.npy"), bn.running_mean.numpy().astype(np.float32))
    # PyTorch's running variance takes the unbiased batch variance, Keras's
    # (after Dense) the biased one, tracked here alongside.
    np.save(os.path.join(d, "out_var.npy"), kvar.numpy().astype(np.float32))
