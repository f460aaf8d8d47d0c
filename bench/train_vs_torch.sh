#!/bin/sh
# Trains the book's model A for one epoch (batch 32, SGD 1e-3) with xfer
# (1 and 2 threads) and with PyTorch (Debian python3-torch,
# OPENBLAS_NUM_THREADS=1; 2 threads as the issue asks, and 1 thread) in the
# same run and prints samples/s and the ratios. Both sides run with the
# OPENBLAS_CORETYPE fastest for PyTorch (bench/torch_core.sh).
# Usage: bench/train_vs_torch.sh
set -eu
cd "$(dirname "$0")/.."
go build -o /tmp/xfer-trainepoch ./bench/trainepoch
sh bench/idle.sh
. bench/torch_core.sh
x1=$(/tmp/xfer-trainepoch -threads 1)
x2=$(/tmp/xfer-trainepoch -threads 2)
t2=$(OPENBLAS_NUM_THREADS=1 TORCH_THREADS=2 /usr/bin/python3 bench/train_vs_torch.py)
t1=$(OPENBLAS_NUM_THREADS=1 TORCH_THREADS=1 /usr/bin/python3 bench/train_vs_torch.py)
for out in "$x1" "$x2" "$t2" "$t1"; do echo "$out" | grep -v SAMPLES_PER_SECOND; done
sps() { echo "$1" | sed -n 's/^SAMPLES_PER_SECOND //p'; }
ratio() { echo "$(sps "$1") $(sps "$2")" | awk '{printf "%.2f", $1/$2}'; }
best=$x1
if [ "$(echo "$(sps "$x2") $(sps "$x1")" | awk '{print ($1 > $2)}')" = 1 ]; then best=$x2; fi
echo "ratio xfer (best of 1 and 2 threads) / torch 2 threads: $(ratio "$best" "$t2")"
echo "ratio xfer (best of 1 and 2 threads) / torch 1 thread:  $(ratio "$best" "$t1")"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) (figures are only comparable on an idle machine)"
