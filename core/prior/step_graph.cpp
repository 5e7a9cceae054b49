#include "prior/step_graph.h"

#ifdef IGPG_WITH_CUDA
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace igpg {

struct StepGraph::Impl {
  std::function<void()> step;
  bool record = false;
  int64_t runs = 0;
#ifdef IGPG_WITH_CUDA
  std::unique_ptr<at::cuda::CUDAGraph> graph;
  c10::DeviceIndex device = 0;
#endif
};

StepGraph::StepGraph(std::function<void()> step, torch::Device device, bool record) : impl_(std::make_unique<Impl>()) {
  impl_->step = std::move(step);
  impl_->record = record && device.is_cuda() && available();
#ifdef IGPG_WITH_CUDA
  if (impl_->record) impl_->device = device.has_index() ? device.index() : c10::cuda::current_device();
#endif
}

StepGraph::~StepGraph() = default;

bool StepGraph::available() {
#ifdef IGPG_WITH_CUDA
  return true;
#else
  return false;
#endif
}

bool StepGraph::records() const { return impl_->record; }

bool StepGraph::recorded() const {
#ifdef IGPG_WITH_CUDA
  return impl_->graph != nullptr;
#else
  return false;
#endif
}

void StepGraph::run() {
  Impl& s = *impl_;
  ++s.runs;
#ifdef IGPG_WITH_CUDA
  if (s.record && s.runs <= 2) {
    // Recording (and the eager warm-up before it, which creates the cuBLAS workspace the
    // recording will use) happens on a side stream, as CUDA requires; replays then run on
    // the current stream, ordered with the eager work around them.
    c10::cuda::CUDAGuard deviceGuard(s.device);
    auto current = c10::cuda::getCurrentCUDAStream(s.device);
    auto side = c10::cuda::getStreamFromPool(false, s.device);
    current.synchronize();
    {
      c10::cuda::CUDAStreamGuard streamGuard(side);
      if (s.runs == 1) {
        s.step();
      } else {
        s.graph = std::make_unique<at::cuda::CUDAGraph>();
        s.graph->capture_begin();
        s.step();
        s.graph->capture_end();
      }
    }
    side.synchronize();
    if (s.runs == 1) return;
  }
  if (s.graph) {
    s.graph->replay();
    return;
  }
#endif
  s.step();
}

}  // namespace igpg
