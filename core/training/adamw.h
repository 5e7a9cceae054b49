// AdamW (Loshchilov & Hutter) whose state is plain named tensors, so that training
// checkpoints are safetensors files that resume bit-for-bit on LibTorch 1.13 and 2.x
// alike (torch::optim's state is keyed by tensor addresses and serialized through
// TorchScript archives, which differ between versions and execute on load).
#pragma once

#include "formats/state_dict.h"

#include <torch/types.h>

#include <string>
#include <vector>

namespace igpg {

struct AdamWOptions {
  double learningRate = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weightDecay = 0.01;
};

class AdamW {
 public:
  // `decay[i]` says whether parameter i gets weight decay (biases, norms, embeddings often do not).
  AdamW(std::vector<torch::Tensor> parameters, AdamWOptions options, std::vector<bool> decay = {});

  void zeroGrad();
  void step();
  void setLearningRate(double lr) { options_.learningRate = lr; }
  double learningRate() const { return options_.learningRate; }
  int64_t steps() const { return step_; }

  StateDict state() const;
  void loadState(const StateDict& state, const std::string& source);

 private:
  std::vector<torch::Tensor> params_;
  std::vector<torch::Tensor> m_, v_;
  std::vector<bool> decay_;
  AdamWOptions options_;
  int64_t step_ = 0;
};

}  // namespace igpg
