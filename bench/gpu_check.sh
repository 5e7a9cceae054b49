#!/bin/bash
# The GPU checks of the performance issue in one run, for a machine with CUDA, Python's
# torch and no Qt (the accelerator machine): builds core, CLI, core tests and benchmarks
# against the LibTorch inside Python's torch, then runs, most important first, the
# benchmarks on CUDA, the test suite and `igpg demo --device cuda` (the CPU benchmarks and
# the zoo builder's run on any machine: see README.md).
# Steps share BUDGET seconds: each is cut at what is left, and skipped under 20 s.
#
#   bench/gpu_check.sh OUT_DIR [DATA_DIR] [BUDGET] [DEPS_DIR]
# DATA_DIR holds the Fashion-MNIST IDX files and digits.csv.gz when the Debian packages
# are not installed; DEPS_DIR is a prefix (include/, lib/, share/cmake/) with SQLite,
# zlib and nlohmann/json for a machine without their development files. Each step's log, and all of them in OUT_DIR/gpu_check.log, land in OUT_DIR.
set -u
out=${1:?usage: gpu_check.sh OUT_DIR [DATA_DIR] [BUDGET] [DEPS_DIR]}
data=${2:-}
budget=${3:-480}
deps=${4:-}
mkdir -p "$out"
work=$(mktemp -d)
start=$SECONDS
if [ -n "$data" ]; then
  data=$(realpath "$data")
  export IGPG_FASHION_MNIST_DIR=$data IGPG_DIGITS_CSV=$data/digits.csv.gz
fi
step() {  # step NAME TIMEOUT COMMAND...: runs COMMAND under TIMEOUT into OUT_DIR/NAME.log
  local name=$1 limit=$2
  shift 2
  local left=$(( budget - (SECONDS - start) ))
  if (( left < 20 )); then echo "== $name: skipped (${left} s of the budget left)"; return; fi
  if (( limit > left )); then limit=$left; fi
  echo "== $name ($(( SECONDS - start )) s in)"
  local t0=$SECONDS
  timeout "$limit" "$@" > "$work/$name.log" 2>&1
  echo "== $name: exit $? after $(( SECONDS - t0 )) s"
  tail -n 25 "$work/$name.log"
  { echo "== $name: $*"; cat "$work/$name.log"; } >> "$out/gpu_check.log"
}

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c 'import torch; print("python torch", torch.__version__, "cuda", torch.version.cuda)'
prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
if [ -n "$deps" ]; then
  deps=$(realpath "$deps")
  prefix="$prefix;$deps"
  export LD_LIBRARY_PATH=$deps/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
fi
step configure 120 cmake -S . -B build-gpu -G Ninja -DIGPG_BUILD_GUI=OFF -DCMAKE_PREFIX_PATH="$prefix"
step build 400 cmake --build build-gpu -j "$(nproc)" -- -k 0
grep -E "error|CUDA graph|fused kernels" "$work/build.log" "$work/configure.log" | head -n 40
bin=build-gpu/bin
if [ ! -x $bin/igpg ]; then  # the fused kernels are the likeliest to break a build: retry without
  step configure-plain 60 cmake -S . -B build-gpu -DIGPG_CUDA_KERNELS=OFF
  step build-plain 300 cmake --build build-gpu -j "$(nproc)" -- -k 0
  grep -E "error" "$work/build-plain.log" | head -n 20
fi
[ -x $bin/igpg ] || { echo "== no igpg binary: stopping"; exit 1; }
step sampler-cuda 120 $bin/bench_sampler --device cuda --reference "python3 bench/sampler_reference.py"
step tests 180 ctest --test-dir build-gpu -j 8 --timeout 150 --output-on-failure
# A backtrace of the first failing test, where a debugger exists (cuda-gdb also debugs host code).
failed=$(cut -d: -f2 build-gpu/Testing/Temporary/LastTestsFailed.log 2>/dev/null | head -n 1)
debugger=$(command -v gdb || command -v cuda-gdb)
if [ -n "$failed" ] && [ -n "$debugger" ] && [ -x "build-gpu/tests/$failed" ]; then
  step backtrace 60 "$debugger" -batch -ex run -ex bt "build-gpu/tests/$failed"
fi
step demo-cuda 300 $bin/igpg --catalogue "$work/demo/catalogue.db" --device cuda demo
step generation-cuda 150 $bin/bench_generation --device cuda --streams 64,1 --max-seconds 20
# The fused decoding step's kernels under CUDA's memory checker (out-of-bounds, misaligned).
sanitizer=$(command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer 2>/dev/null)
if [ -n "$sanitizer" ] && [ -x build-gpu/tests/test_prior ]; then
  step memcheck 120 "$sanitizer" --tool memcheck --error-exitcode 3 build-gpu/tests/test_prior
fi
echo "== done after $(( SECONDS - start )) s"
