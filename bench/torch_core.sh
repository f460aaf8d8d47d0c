# Sourced by the bench/ scripts that compare with PyTorch: picks the
# OPENBLAS_CORETYPE that is fastest for PyTorch (Debian's python3-torch 1.13
# does its float32 products in OpenBLAS) among the kernel families this CPU
# runs (SkylakeX only with AVX-512), by a short probe of a head-sized
# product (batch 32, 512 -> 1000), prints the probe and exports
# OPENBLAS_CORETYPE for both sides, with OPENBLAS_NUM_THREADS=1 (each side
# sets its own thread count).
best_core=""
best_sps=0
cores="Haswell Zen"
grep -q avx512f /proc/cpuinfo && cores="$cores SkylakeX"
for core in $cores; do
  sps=$(OPENBLAS_CORETYPE=$core OPENBLAS_NUM_THREADS=1 /usr/bin/python3 -c '
import time, torch
torch.set_num_threads(2)
a, b = torch.randn(32, 512), torch.randn(512, 1000)
t = time.perf_counter()
for _ in range(2000): a @ b
print(2000 / (time.perf_counter() - t))' 2>/dev/null) || continue
  echo "probe: PyTorch head products with OPENBLAS_CORETYPE=$core: $(printf %.0f "$sps")/s"
  if [ "$(echo "$sps $best_sps" | awk '{print ($1 > $2)}')" = 1 ]; then best_core=$core; best_sps=$sps; fi
done
export OPENBLAS_CORETYPE=$best_core OPENBLAS_NUM_THREADS=1
echo "both sides run with OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE (PyTorch's fastest)"
