#!/usr/bin/python3
"""Peer check for finetune's TestOpsAgainstPyTorch: evaluates a small ONNX
graph (the nodes xfer lowers) with PyTorch in float64 on the same inputs
and params, takes softmax cross-entropy on its logits output against the
labels (mean over the batch, as xfer's sparse categorical cross-entropy
from the Softmax head's input), and writes the gradient of every param.

Usage: torch_grads.py DIR... Each DIR/spec.json holds {"nodes": [{"op", "inputs",
"outputs", "attrs"}], "input": name, "output": name, "params": [names],
"consts": [names]}; DIR/<name>.npy the input x, every param and const, and
y.npy the labels; results go to DIR/grad_<name>.npy and DIR/loss.npy.
Each op follows the ONNX spec for the attributes the tests use."""
import json, math, os, sys
import numpy as np
import torch
import torch.nn.functional as F

torch.set_num_threads(1)
d, spec, env = None, None, None

def load(name):
    return torch.tensor(np.load(os.path.join(d, name.replace("/", "_") + ".npy")).astype(np.float64))


def ints(a, k, default=None):
    return list(a.get(k, default)) if a.get(k, default) is not None else None


def pad_for(x, a, k):
    """Explicit ONNX pads (begin..., end...) as F.pad's last-dim-first list."""
    r = len(k)
    pads = ints(a, "pads", [0] * (2 * r))
    auto = a.get("auto_pad", "NOTSET")
    strides = ints(a, "strides", [1] * r)
    dil = ints(a, "dilations", [1] * r)
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        pads = [0] * (2 * r)
        for i in range(r):
            n = x.shape[2 + i]
            o = (n + strides[i] - 1) // strides[i]
            tot = max(0, (o - 1) * strides[i] + (k[i] - 1) * dil[i] + 1 - n)
            small = tot // 2
            pads[i], pads[i + r] = (small, tot - small) if auto == "SAME_UPPER" else (tot - small, small)
    elif auto == "VALID":
        pads = [0] * (2 * r)
    flat = []
    for i in reversed(range(r)):
        flat += [pads[i], pads[i + r]]
    return flat, pads


def conv(x, w, b, a):
    k = list(w.shape[2:])
    flat, _ = pad_for(x, a, k)
    x = F.pad(x, flat)
    f = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[len(k)]
    return f(x, w, b, stride=ints(a, "strides", [1] * len(k)), dilation=ints(a, "dilations", [1] * len(k)), groups=a.get("group", 1))


def pool(x, a, is_max):
    k = ints(a, "kernel_shape")
    r = len(k)
    strides = ints(a, "strides", [1] * r)
    flat, pads = pad_for(x, a, k)
    ceil = bool(a.get("ceil_mode", 0))
    if is_max:
        f = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}[r]
        xp = F.pad(x, flat, value=-math.inf)
        return f(xp, k, strides, 0, ints(a, "dilations", [1] * r), ceil_mode=ceil)
    # Average: sum of the taps inside the input divided by their count (or
    # by the taps inside the padded input with count_include_pad).
    f = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}[r]
    xs = F.pad(x, flat)
    ones = F.pad(torch.ones_like(x), flat, value=1.0 if a.get("count_include_pad", 0) else 0.0)
    s = f(xs, k, strides, 0, ceil_mode=ceil, count_include_pad=True, divisor_override=1)
    n = f(ones, k, strides, 0, ceil_mode=ceil, count_include_pad=True, divisor_override=1)
    return s / n


def resize(x, a, scales):
    mode = a.get("mode", "nearest")
    ct = a.get("coordinate_transformation_mode", "half_pixel")
    size = [int(math.floor(x.shape[2 + i] * float(scales[2 + i]))) for i in range(x.dim() - 2)]
    if mode == "nearest":
        if ct == "asymmetric" and a.get("nearest_mode", "round_prefer_floor") == "floor":
            return F.interpolate(x, size=size, mode="nearest")
        raise SystemExit("resize: nearest only with asymmetric/floor here")
    m = {1: "linear", 2: "bilinear", 3: "trilinear"}[x.dim() - 2]
    if ct == "half_pixel" or ct == "pytorch_half_pixel":
        return F.interpolate(x, size=size, mode=m, align_corners=False)
    if ct == "align_corners":
        return F.interpolate(x, size=size, mode=m, align_corners=True)
    raise SystemExit("resize: linear with %s" % ct)


def run(n):
    op, a = n["op"], n.get("attrs", {})
    ins = [env[i] if i else None for i in n["inputs"]]
    x = ins[0]
    if op in ("Add", "Sub", "Mul", "Div"):
        return {"Add": torch.add, "Sub": torch.sub, "Mul": torch.mul, "Div": torch.div}[op](ins[0], ins[1])
    if op == "Conv":
        return conv(x, ins[1], ins[2] if len(ins) > 2 else None, a)
    if op in ("MaxPool", "AveragePool"):
        return pool(x, a, op == "MaxPool")
    if op == "GlobalAveragePool":
        return x.mean(dim=tuple(range(2, x.dim())), keepdim=True)
    if op == "GlobalMaxPool":
        return x.amax(dim=tuple(range(2, x.dim())), keepdim=True)
    if op == "Flatten":
        ax = a.get("axis", 1)
        return x.reshape(int(np.prod(x.shape[:ax])), -1)
    if op == "MatMul":
        return torch.matmul(ins[0], ins[1])
    if op == "Concat":
        return torch.cat(ins, dim=a.get("axis"))
    if op == "Relu":
        return F.relu(x)
    if op == "Sigmoid":
        return torch.sigmoid(x)
    if op == "HardSigmoid":
        return torch.clamp(a.get("alpha", 0.2) * x + a.get("beta", 0.5), 0, 1)
    if op == "HardSwish":
        return F.hardswish(x)
    if op == "Clip":
        lo = float(ins[1]) if len(ins) > 1 and ins[1] is not None else -math.inf
        hi = float(ins[2]) if len(ins) > 2 and ins[2] is not None else math.inf
        return torch.clamp(x, lo, hi)
    if op == "Resize":
        return resize(x, a, ins[2].tolist())
    if op == "LayerNormalization":
        axis = a.get("axis", -1)
        axis = axis if axis >= 0 else x.dim() + axis
        shape = x.shape[axis:]
        return F.layer_norm(x, shape, ins[1].expand(shape), ins[2].expand(shape) if len(ins) > 2 else None, a.get("epsilon", 1e-5))
    if op == "BatchNormalization":
        return F.batch_norm(x, ins[3].clone(), ins[4].clone(), ins[1], ins[2], spec.get("bn_training", False), 0.0, a.get("epsilon", 1e-5))
    if op == "Softmax":
        return torch.softmax(x, dim=a.get("axis", -1))
    if op == "Transpose":
        return x.permute(*a["perm"])
    if op == "Reshape":
        return x.reshape(*[int(v) if v != 0 else x.shape[i] for i, v in enumerate(ins[1].tolist())])
    if op == "Squeeze":
        axes = ins[1].tolist() if len(ins) > 1 else a["axes"]
        for ax in sorted([v % x.dim() for v in axes], reverse=True):
            x = x.squeeze(ax)
        return x
    if op == "Unsqueeze":
        axes = ins[1].tolist() if len(ins) > 1 else a["axes"]
        for ax in sorted(axes):
            x = x.unsqueeze(ax)
        return x
    if op == "ReduceMean":
        return x.mean(dim=tuple(a["axes"]), keepdim=bool(a.get("keepdims", 1)))
    if op == "Pow":
        return torch.pow(ins[0], ins[1])
    raise SystemExit("torch_grads.py: op %s is not in the table" % op)


def case(dir_):
    global d, spec, env
    d = dir_
    spec = json.load(open(os.path.join(d, "spec.json")))
    env = {spec["input"]: load(spec["input"])}
    params = {}
    for p in spec["params"] or []:
        params[p] = load(p).requires_grad_(True)
        env[p] = params[p]
    for c in spec["consts"] or []:
        v = np.load(os.path.join(d, c.replace("/", "_") + ".npy"))
        env[c] = torch.tensor(v.astype(np.float64) if v.dtype.kind == "f" else v)
    for n in spec["nodes"]:
        env[n["outputs"][0]] = run(n)
    logits = env[spec["output"]]
    y = torch.tensor(np.load(os.path.join(d, "y.npy")).astype(np.int64))
    loss = F.cross_entropy(logits.reshape(logits.shape[0], -1), y)
    loss.backward()
    np.save(os.path.join(d, "loss.npy"), np.array([loss.item()]))
    for name, p in params.items():
        np.save(os.path.join(d, "grad_" + name.replace("/", "_") + ".npy"), p.grad.numpy())


for dir_ in sys.argv[1:]:
    case(dir_)
