// Peak memory of a device, for the benchmarks: the CUDA caching allocator's peak of
// allocated bytes on a CUDA device, the process's peak resident set on the CPU.
#pragma once

#include <torch/types.h>

#include <cstdint>

namespace igpg {

void resetPeakMemory(torch::Device device);
int64_t peakMemoryBytes(torch::Device device);  // -1 when it cannot be read

}  // namespace igpg
