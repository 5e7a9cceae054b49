// The sampler's decoding step as a few fused CUDA kernels of our own
// (fused_step_kernels.h) instead of LibTorch's: it draws the token, embeds it, runs every
// layer and writes the next logits in 5 kernels per layer and 2 more, where LibTorch needs
// about 135 for the 8-layer benchmark prior. The step stays graph-safe: fixed addresses,
// no host synchronization, lengths read on the device.
//
// It applies to float32 priors on CUDA, batches of up to fused::kMaxBatch rows and heads
// of up to fused::kAttentionThreads values, in builds with the kernels (a LibTorch with
// CUDA and a CUDA compiler at configure time); create() returns null elsewhere and the
// sampler uses LibTorch's kernels.
#pragma once

#include "prior/fused_step_kernels.h"
#include "prior/gpt.h"
#include "prior/sampler.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace igpg {

// The kernels' arguments for a prior and the sampler's buffers: weight pointers, shapes
// and scratch. Built on any device, so that a test can run the kernels on the CPU
// (tests/support/cuda_host_emulation.h) where no GPU exists.
struct FusedStepPlan {
  fused::StepShapes shapes{};
  std::vector<fused::LayerWeights> layers;
  fused::StepBuffers io{};  // weights and scratch; prepare() adds the step's buffers
  SamplingOptions options;
  bool filtered = false;  // top-k or top-p: sampleNext draws the token, the kernels take it
  torch::Tensor hidden, qkv, attention, mlp, partials, arrivals, chosen;  // the scratch io points to

  // The arguments of the next step over b; with a filter, draws its token first.
  fused::StepBuffers prepare(DecodeBuffers& b);
  bool greedy() const { return options.temperature <= 0; }
  // As LibTorch divides by a scalar: multiplies by its float reciprocal.
  float inverseTemperature() const { return greedy() ? 1.f : 1.f / float(options.temperature); }
};

// Null, with the reason in *why (if given), when the kernels cannot take this step's shapes
// or types: float32, batch up to fused::kMaxBatch, heads of a multiple of 4 values up to
// fused::kAttentionThreads, width a multiple of 4, contiguous 16-byte-aligned weights.
std::optional<FusedStepPlan> planFusedStep(GPT& gpt, const DecodeBuffers& buffers, const SamplingOptions& options,
                                           std::string* why = nullptr);

class FusedDecodeStep {
 public:
  // Null, with the reason in *why (if given), when the kernels cannot run this step: not
  // on CUDA, a build without them, or no plan (planFusedStep).
  static std::unique_ptr<FusedDecodeStep> create(GPT& gpt, const DecodeBuffers& buffers,
                                                 const SamplingOptions& options, std::string* why = nullptr);
  // Whether this build has the kernels at all.
  static bool available();

  ~FusedDecodeStep();
  FusedDecodeStep(const FusedDecodeStep&) = delete;
  FusedDecodeStep& operator=(const FusedDecodeStep&) = delete;

  // Draws token t from buffers.logits, writes it, feeds it and leaves the logits of token
  // t + 1 in buffers.logits, as the LibTorch step of the sampler does.
  void run(DecodeBuffers& buffers);

 private:
  explicit FusedDecodeStep(FusedStepPlan plan);
  FusedStepPlan plan_;
};

}  // namespace igpg
