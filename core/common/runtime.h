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

}  // namespace igpg
