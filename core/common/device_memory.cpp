#include "common/device_memory.h"

#include <fstream>
#include <string>

#ifdef IGPG_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#endif

namespace igpg {

namespace {
#ifdef IGPG_WITH_CUDA
c10::DeviceIndex cudaIndex(torch::Device device) {
  return device.has_index() ? device.index() : c10::cuda::current_device();
}
#endif
}  // namespace

void resetPeakMemory(torch::Device device) {
#ifdef IGPG_WITH_CUDA
  if (device.is_cuda()) {
    c10::cuda::CUDACachingAllocator::resetPeakStats(cudaIndex(device));
    return;
  }
#endif
  // Linux resets the peak resident set (VmHWM) when "5" is written here.
  std::ofstream("/proc/self/clear_refs") << "5";
}

int64_t peakMemoryBytes(torch::Device device) {
#ifdef IGPG_WITH_CUDA
  if (device.is_cuda()) return c10::cuda::CUDACachingAllocator::getDeviceStats(cudaIndex(device)).allocated_bytes[0].peak;
#endif
  if (!device.is_cpu()) return -1;
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6)) * 1024;  // "VmHWM:   1234 kB"
  return -1;
}

}  // namespace igpg
