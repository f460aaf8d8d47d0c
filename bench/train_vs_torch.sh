#!/bin/sh
# Trains the book's model A for one epoch (batch 32, SGD 1e-3) with xfer
# (1 and 2 threads) and with PyTorch (Debian python3-torch, 2 threads,
# OPENBLAS_NUM_THREADS=1) in the same run and prints samples/s and ratios.
# Usage: bench/train_vs_torch.sh
set -eu
cd "$(dirname "$0")/.."
go build -o /tmp/xfer-trainepoch ./bench/trainepoch
x1=$(/tmp/xfer-trainepoch -threads 1)
x2=$(/tmp/xfer-trainepoch -threads 2)
t=$(OPENBLAS_NUM_THREADS=1 TORCH_THREADS=2 /usr/bin/python3 bench/train_vs_torch.py)
for out in "$x1" "$x2" "$t"; do echo "$out" | grep -v SAMPLES_PER_SECOND; done
sps() { echo "$1" | sed -n 's/^SAMPLES_PER_SECOND //p'; }
ts=$(sps "$t")
echo "ratio xfer/torch: 1 thread $(echo "$(sps "$x1") $ts" | awk '{printf "%.2f", $1/$2}'), 2 threads $(echo "$(sps "$x2") $ts" | awk '{printf "%.2f", $1/$2}')"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) (figures are only comparable on an idle machine)"
