#!/bin/sh
# Trains the book's model A for one epoch (batch 32, SGD 1e-3) with xfer and
# with PyTorch (Debian python3-torch, 2 threads, OPENBLAS_NUM_THREADS=1) in
# the same run and prints both samples/s and their ratio.
# Usage: bench/train_vs_torch.sh [xfer-threads (default 2)]
set -eu
cd "$(dirname "$0")/.."
threads="${1:-2}"
go build -o /tmp/xfer-trainepoch ./bench/trainepoch
xfer_out=$(/tmp/xfer-trainepoch -threads "$threads")
torch_out=$(OPENBLAS_NUM_THREADS=1 TORCH_THREADS=2 /usr/bin/python3 bench/train_vs_torch.py)
echo "$xfer_out" | grep -v SAMPLES_PER_SECOND
echo "$torch_out" | grep -v SAMPLES_PER_SECOND
x=$(echo "$xfer_out" | sed -n 's/^SAMPLES_PER_SECOND //p')
t=$(echo "$torch_out" | sed -n 's/^SAMPLES_PER_SECOND //p')
echo "ratio xfer/torch: $(echo "$x $t" | awk '{printf "%.2f", $1/$2}')"
