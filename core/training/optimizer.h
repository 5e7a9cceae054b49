// PyTorch's SGD (momentum, no dampening), Adam and AdamW update rules for tensors with
// a leading model dimension, each model with its own learning rate. The updates are
// elementwise, so model g moves exactly as it would alone; torch::optim cannot be used
// because it takes one learning rate per parameter group.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace igpg {

enum class OptimizerKind { Sgd, Adam, AdamW };

const char* optimizerName(OptimizerKind kind);         // "sgd", "adam", "adamw"
OptimizerKind parseOptimizer(const std::string& name);  // Error(Config) naming "optimizer"

struct OptimizerOptions {
  OptimizerKind kind = OptimizerKind::Adam;
  double learningRate = 1e-3;
  double momentum = 0.9;   // SGD
  double weightDecay = 0;  // L2 for SGD and Adam, decoupled for AdamW
  double beta1 = 0.9;      // Adam, AdamW
  double beta2 = 0.999;
  double epsilon = 1e-8;
};

// Throws Error(Config) naming the option for rates, betas or decays out of range.
void checkOptimizerOptions(const OptimizerOptions& options);

class StackOptimizer {
 public:
  // params: (G, ...) tensors; learningRates: one per model, or empty for options.learningRate.
  StackOptimizer(std::vector<torch::Tensor> params, const OptimizerOptions& options,
                 const std::vector<double>& learningRates, int64_t models);

  void zeroGrad();  // drops the gradients (PyTorch's set_to_none)
  // One update with every model's learning rate multiplied by lrScale (a schedule's
  // factor, the same for all models: they take their steps in lockstep).
  void step(double lrScale = 1.0);

 private:
  std::vector<torch::Tensor> params_;
  std::vector<torch::Tensor> lr_;       // (G, 1, ..., 1) per parameter, broadcasting over it
  std::vector<torch::Tensor> first_;    // momentum buffer (SGD) or first moment (Adam)
  std::vector<torch::Tensor> second_;   // Adam's second moment
  OptimizerOptions options_;
  int64_t steps_ = 0;
};

}  // namespace igpg
