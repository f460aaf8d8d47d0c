#!/usr/bin/python3
"""PyTorch's side of bench/finetune_vs_torch.sh (Debian's python3-torch 1.13
and python3-torchvision 0.14; run with /usr/bin/python3).

  prepare DIR MODEL N   build torchvision MODEL with a 10-class head from a
                        fixed seed, calibrate its BatchNorm statistics on 16
                        random images (so that activations stay O(1) through
                        the random network), and write DIR/MODEL.onnx (eval
                        mode, BatchNormalization nodes kept, batch dynamic),
                        DIR/MODEL.pt (the same weights), DIR/x.npy (N images
                        3x224x224 from N(0, 1)) and DIR/y.npy (labels 0..9).
  train DIR MODEL WHAT EPOCHS
                        train as xfer does: WHAT is "head" (every layer but
                        the classifier frozen) or "block" (resnet18: layer4
                        and the head; mobilenet_v2: features.16-18 and the
                        head), BatchNorm in inference mode (model.eval(), as
                        xfer's default when fine-tuning), SGD lr 0.01
                        momentum 0.9, batch 32, the data in file order.
                        Prints the training loop's seconds and samples/s and
                        writes DIR/MODEL-WHAT-torch.pt.
  compare DIR MODEL WHAT XFER.onnx [XFER_PRED.npy]
                        the largest difference between torch's trained
                        weights and xfer's, relative to each tensor's
                        largest magnitude and to the largest trained weight;
                        with xfer's predictions of DIR/x16.npy, the largest
                        difference from the torch model's, relative to
                        their largest magnitude.
"""
import os
import sys
import time

import numpy as np
import torch
import torchvision

SEED = 12  # issue 12
BATCH = 32


def build(name):
    torch.manual_seed(SEED)
    return getattr(torchvision.models, name)(num_classes=10)


def prepare(d, name, n):
    m = build(name)
    # Calibrate: batch statistics of 16 random images become the running
    # statistics (momentum None: a plain average over the one batch).
    for mod in m.modules():
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.momentum = None
            mod.reset_running_stats()
    m.train()
    with torch.no_grad():
        m(torch.randn(16, 3, 224, 224, generator=torch.Generator().manual_seed(SEED)))
    m.eval()
    torch.save(m.state_dict(), os.path.join(d, name + ".pt"))
    torch.onnx.export(m, torch.randn(1, 3, 224, 224), os.path.join(d, name + ".onnx"), opset_version=13,
                      input_names=["input"], output_names=["output"], dynamic_axes={"input": {0: "N"}, "output": {0: "N"}},
                      do_constant_folding=False, training=torch.onnx.TrainingMode.PRESERVE)
    if not os.path.exists(os.path.join(d, "x.npy")):
        rng = np.random.default_rng(SEED)
        np.save(os.path.join(d, "x.npy"), rng.standard_normal((n, 3, 224, 224), dtype=np.float32))
        np.save(os.path.join(d, "y.npy"), rng.integers(0, 10, n).astype(np.int64))
        np.save(os.path.join(d, "x16.npy"), np.load(os.path.join(d, "x.npy"), mmap_mode="r")[:16].copy())


def trainable(name, what, pname):
    if pname.startswith("fc.") or pname.startswith("classifier."):
        return True
    if what == "head":
        return False
    if name == "resnet18":
        return pname.startswith("layer4.")
    return any(pname.startswith("features.%d." % i) for i in (16, 17, 18))


def train(d, name, what, epochs):
    threads = int(os.environ.get("TORCH_THREADS", "2"))
    torch.set_num_threads(threads)
    m = build(name)
    m.load_state_dict(torch.load(os.path.join(d, name + ".pt")))
    params = []
    for pname, p in m.named_parameters():
        p.requires_grad = trainable(name, what, pname)
        if p.requires_grad:
            params.append(p)
    m.eval()  # BatchNorm on its running statistics, as xfer's default
    x = torch.from_numpy(np.load(os.path.join(d, "x.npy")))
    y = torch.from_numpy(np.load(os.path.join(d, "y.npy")))
    opt = torch.optim.SGD(params, lr=0.01, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()
    n = len(y)
    start = time.perf_counter()
    for _ in range(epochs):
        total = 0.0
        for i in range(0, n, BATCH):
            opt.zero_grad()
            loss = loss_fn(m(x[i:i + BATCH]), y[i:i + BATCH])
            loss.backward()
            opt.step()
            total += loss.item() * len(y[i:i + BATCH])
    sec = time.perf_counter() - start
    torch.save(m.state_dict(), os.path.join(d, "%s-%s-torch.pt" % (name, what)))
    print("torch %s (%d threads, OPENBLAS_CORETYPE=%s): %s %s, %d epochs of %d: %.2f s, %.1f samples/s, last loss %.4f"
          % (torch.__version__, threads, os.environ.get("OPENBLAS_CORETYPE", ""), name, what, epochs, n, sec,
             epochs * n / sec, total / n))
    print("SECONDS %.3f" % sec)
    print("SAMPLES_PER_SECOND %.2f" % (epochs * n / sec))


def xfer_names(k):
    """The names xfer gives torch's parameter k: ONNX initializer names are
    kept on import, or written layer/role after surgery."""
    base, _, leaf = k.rpartition(".")
    roles = {"weight": ["kernel", "gamma"], "bias": ["bias", "beta"], "running_mean": ["moving_mean"],
             "running_var": ["moving_variance"]}.get(leaf, [leaf])
    return [k] + ["%s/%s" % (base, r) for r in roles]


def compare(d, name, what, onnx_path, pred=None):
    import onnx
    from onnx import numpy_helper
    trained = torch.load(os.path.join(d, "%s-%s-torch.pt" % (name, what)))
    before = torch.load(os.path.join(d, name + ".pt"))
    inits = {t.name: numpy_helper.to_array(t) for t in onnx.load(onnx_path).graph.initializer}
    worst, where, moved, absmax, wmax = 0.0, "", 0, 0.0, 0.0
    for k, v in trained.items():
        if not torch.is_floating_point(v) or not trainable(name, what, k):
            continue
        t = v.numpy()
        x = None
        for c in xfer_names(k):
            if c in inits:
                x = inits[c].reshape(t.shape)
                break
        if x is None:
            raise SystemExit("compare: xfer's %s has no tensor for %s (tried %s)" % (onnx_path, k, xfer_names(k)))
        if not np.array_equal(t, before[k].numpy()):
            moved += 1
        rel = float(np.max(np.abs(x - t)) / max(float(np.max(np.abs(t))), 1e-12))
        absmax, wmax = max(absmax, float(np.max(np.abs(x - t)))), max(wmax, float(np.max(np.abs(t))))
        if rel > worst:
            worst, where = rel, k
    print("weights after training: largest difference xfer vs torch %.2e of the tensor's magnitude (%s); %d trained tensors moved"
          % (worst, where, moved))
    print("weights after training: largest difference %.2e of the largest trained weight" % (absmax / wmax))
    print("REL_DIFF %.3e" % (absmax / wmax))
    if pred:
        m = build(name)
        m.load_state_dict(trained)
        m.eval()
        with torch.no_grad():
            want = m(torch.from_numpy(np.load(os.path.join(d, "x16.npy")))).numpy()
        got = np.load(pred)
        print("predictions of the trained models on 16 images: largest difference %.2e of their largest magnitude"
              % (np.max(np.abs(got - want)) / np.max(np.abs(want))))


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "prepare":
        prepare(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif cmd == "train":
        train(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
    elif cmd == "compare":
        compare(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6] if len(sys.argv) > 6 else None)
    else:
        raise SystemExit("usage: finetune_vs_torch.py prepare|train|compare ...")
