// Runs one fixed-shape step many times. On a CUDA device (with a LibTorch built for CUDA)
// the step is recorded once as a CUDA graph and replayed: a decoding step of the prior is
// a few hundred small kernels, and at batch 1 launching them one by one costs more than
// running them. Elsewhere, or when recording is off, each run() calls the step.
//
// The step must read and write only tensors that outlive the StepGraph, at the same
// addresses every time, and must not synchronize with the host (no .item(), no copies to
// the CPU): a replay repeats the recorded kernels on the recorded memory.
#pragma once

#include <torch/types.h>

#include <functional>
#include <memory>

namespace igpg {

class StepGraph {
 public:
  StepGraph(std::function<void()> step, torch::Device device, bool record);
  ~StepGraph();
  StepGraph(const StepGraph&) = delete;
  StepGraph& operator=(const StepGraph&) = delete;

  // The first call runs the step eagerly (it also warms up the libraries the step uses),
  // the second records it and replays the recording, later ones replay.
  void run();
  bool recorded() const;
  // Whether run() records and replays (CUDA with recording on), decided at construction.
  bool records() const;

  // Whether this build can record CUDA graphs at all.
  static bool available();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace igpg
