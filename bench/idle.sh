#!/bin/sh
# Prints how idle the CPUs were over the last 2 seconds (from /proc/stat),
# for the bench/ scripts: figures are only comparable on an idle machine.
# Usage: bench/idle.sh
set -eu
a=$(head -1 /proc/stat)
sleep 2
b=$(head -1 /proc/stat)
echo "$a
$b" | awk '{idle[NR] = $5 + $6; tot[NR] = 0; for (i = 2; i <= NF; i++) tot[NR] += $i}
  END {printf "CPU idle over 2 s before the run: %.0f%% (load average %s)\n", 100 * (idle[2] - idle[1]) / (tot[2] - tot[1]), la}' la="$(cut -d' ' -f1-3 /proc/loadavg)"
