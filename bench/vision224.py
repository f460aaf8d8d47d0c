#!/usr/bin/python3
"""Exports torchvision models at 224x224 for the speed benchmark, with the
committed fixture generator (fixtures/torch/vision.py: random weights,
calibrated BatchNorm statistics) at ImageNet's input size instead of its
test size.

    /usr/bin/python3 bench/vision224.py OUTDIR MODEL ...
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "torch"))
import vision  # noqa: E402

if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit("usage: vision224.py OUTDIR MODEL ...")
    for name in sys.argv[2:]:
        kwargs, _ = vision.MODELS[name]
        vision.MODELS[name] = (kwargs, 224)
    vision.OPSETS = (13,)
    vision.main(sys.argv)
