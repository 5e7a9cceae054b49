// Process-wide runtime choices shared by the CLI and the studio: device, threads, seeds.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <string>

namespace igpg {

// "cpu", "cuda" or "cuda:N". Asking for CUDA where LibTorch has none is an error that
// says so, rather than a silent fall back to the CPU.
torch::Device resolveDevice(const std::string& name);
bool cudaAvailable();

// Sets LibTorch's intra-op threads; 0 means one per available core.
void setThreads(int threads);

// Seeds LibTorch's CPU and CUDA generators.
void seedEverything(uint64_t seed);

std::string igpgVersion();
std::string torchVersion();

// The BLAS LibTorch's CPU matmuls run on, as loaded in this process, e.g.
// "OpenBLAS 0.3.21 (OpenMP)". OpenBLAS built on pthreads keeps a thread pool of its own
// that spins beside LibTorch's OpenMP threads: on 2 cores that makes BLAS-heavy training
// ~1.7x slower, so benchmarks and reports say which one they ran on.
std::string blasBackend();

// For a process that runs several jobs at once (the studio): unless OMP_WAIT_POLICY is
// set, sets it to passive and re-executes the program with the same arguments, since
// libgomp reads it only when it loads. Idle OpenMP threads then sleep instead of spinning,
// which a single job pays for (the zoo builder's stacked training runs ~15% slower on 2
// cores) but two concurrent jobs need: spinning teams took each other's cores and ran
// 4-8x slower. Returns only when nothing was re-executed.
void reexecWithPassiveOpenMP(char** argv);

}  // namespace igpg
