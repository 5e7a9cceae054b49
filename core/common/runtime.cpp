#include "common/runtime.h"

#include "common/error.h"

#include <torch/torch.h>

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>

#include <thread>

namespace igpg {

bool cudaAvailable() { return torch::cuda::is_available(); }

torch::Device resolveDevice(const std::string& name) {
  if (name.empty() || name == "cpu") return torch::Device(torch::kCPU);
  if (name.rfind("cuda", 0) == 0) {
    if (!cudaAvailable())
      fail(ErrorKind::Device, "--device " + name,
           "CUDA was asked for, but this LibTorch (" + torchVersion() +
               ") has no CUDA support or no GPU is visible; use --device cpu");
    int index = 0;
    if (name.size() > 4) {
      if (name[4] != ':') fail(ErrorKind::Usage, "--device", "expected cuda or cuda:N, got '" + name + "'");
      try {
        index = std::stoi(name.substr(5));
      } catch (const std::exception&) {
        fail(ErrorKind::Usage, "--device", "expected cuda or cuda:N, got '" + name + "'");
      }
      if (index < 0 || index >= static_cast<int>(torch::cuda::device_count()))
        fail(ErrorKind::Device, "--device " + name,
             "no such GPU (" + std::to_string(torch::cuda::device_count()) + " visible)");
    }
    return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
  }
  fail(ErrorKind::Usage, "--device", "expected cpu, cuda or cuda:N, got '" + name + "'");
}

void setThreads(int threads) {
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  torch::set_num_threads(threads);
}

void seedEverything(uint64_t seed) {
  torch::manual_seed(seed);
  if (cudaAvailable()) torch::cuda::manual_seed_all(seed);
}

std::string igpgVersion() { return IGPG_VERSION; }

std::string torchVersion() {
  return std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
         std::to_string(TORCH_VERSION_PATCH);
}

std::string blasBackend() {
  // Looked up rather than linked: LibTorch may carry MKL or another BLAS instead.
  using ConfigFn = char* (*)();
  using ParallelFn = int (*)();
  auto config = reinterpret_cast<ConfigFn>(dlsym(RTLD_DEFAULT, "openblas_get_config"));
  if (!config) return "not OpenBLAS";
  auto parallel = reinterpret_cast<ParallelFn>(dlsym(RTLD_DEFAULT, "openblas_get_parallel"));
  std::string text = config();
  const auto cut = text.find(' ', text.find(' ') + 1);  // "OpenBLAS 0.3.21 DYNAMIC_ARCH ..." -> name and version
  text = text.substr(0, cut);
  const int mode = parallel ? parallel() : -1;
  text += mode == 0 ? " (sequential)" : mode == 1 ? " (pthreads)" : mode == 2 ? " (OpenMP)" : "";
  return text;
}

void reexecWithPassiveOpenMP(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY")) return;
  if (setenv("OMP_WAIT_POLICY", "passive", 1) != 0) return;
  execv("/proc/self/exe", argv);
  unsetenv("OMP_WAIT_POLICY");  // exec failed: go on as loaded
}

}  // namespace igpg
