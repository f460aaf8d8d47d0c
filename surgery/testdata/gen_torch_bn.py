#!/usr/bin/python3
"""Generate the PyTorch Conv/BatchNorm fixture for surgery's fold-bn tests.

Run with Debian's interpreter (python3-torch, python3-onnx, python3-numpy):

    /usr/bin/python3 surgery/testdata/gen_torch_bn.py

It writes, next to this script:

  torch_conv_bn.onnx  Conv2d(3, 8, 3, bias=False) > BatchNorm2d(8) > ReLU >
                      Conv2d(8, 6, 3) > BatchNorm2d(6) > ReLU > Flatten >
                      Linear(6*6*6, 12) > BatchNorm1d(12) > ReLU > Linear(12, 4),
                      on [N, 3, 10, 10] inputs (NCHW), exported by
                      torch.onnx.export in eval mode with do_constant_folding
                      off, so the BatchNormalization nodes stay in the graph
                      (torch's exporter would otherwise fold them itself).
                      Conv weights are OIHW, Linear weights [out, in] feeding
                      Gemm with transB=1.
  torch_conv_bn_x.npy reference input, float32 [5, 3, 10, 10], uniform [0, 1).
  torch_conv_bn_y.npy PyTorch's output for it, float32 [5, 4].

BatchNorm running statistics and affine params are set to random values
(not the initial 0/1) so that folding has something to do. The seed is fixed;
the files are committed and checked against, not rebuilt by the tests.
"""

import os

import numpy as np
import onnx
import torch
from torch import nn

SEED = 7
OPSET = 14  # torch 1.13's default export opset
HERE = os.path.dirname(os.path.abspath(__file__))


def build():
    m = nn.Sequential(
        nn.Conv2d(3, 8, 3, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
        nn.Conv2d(8, 6, 3), nn.BatchNorm2d(6), nn.ReLU(),
        nn.Flatten(),
        nn.Linear(6 * 6 * 6, 12), nn.BatchNorm1d(12), nn.ReLU(),
        nn.Linear(12, 4),
    )
    with torch.no_grad():
        for mod in m:
            if isinstance(mod, (nn.BatchNorm1d, nn.BatchNorm2d)):
                c = mod.num_features
                mod.weight.copy_(torch.rand(c) + 0.5)
                mod.bias.copy_(torch.rand(c) - 0.5)
                mod.running_mean.copy_(torch.rand(c) - 0.5)
                mod.running_var.copy_(torch.rand(c) * 1.5 + 0.3)
    return m.eval()


def main():
    torch.manual_seed(SEED)
    m = build()
    rng = np.random.default_rng(SEED)
    x = rng.random((5, 3, 10, 10), dtype=np.float32)
    with torch.no_grad():
        y = m(torch.from_numpy(x)).numpy().astype(np.float32)
    path = os.path.join(HERE, "torch_conv_bn.onnx")
    # torch's exporter fuses Conv + BatchNorm itself in eval mode (its
    # "eval peephole" pass), which would leave nothing to fold: skip that
    # one pass so that the graph keeps the BatchNormalization nodes, as
    # other exporters (and training-time graphs) do.
    torch._C._jit_pass_onnx_eval_peephole = lambda graph, params: params
    torch.onnx.export(
        m, torch.from_numpy(x), path,
        opset_version=OPSET, input_names=["input"], output_names=["output"],
        dynamic_axes={"input": {0: "N"}, "output": {0: "N"}},
        training=torch.onnx.TrainingMode.EVAL, do_constant_folding=False,
    )
    ops = [n.op_type for n in onnx.load(path).graph.node]
    assert ops.count("BatchNormalization") == 3, ops
    np.save(os.path.join(HERE, "torch_conv_bn_x.npy"), x)
    np.save(os.path.join(HERE, "torch_conv_bn_y.npy"), y)
    print("ops:", ops)


if __name__ == "__main__":
    main()
