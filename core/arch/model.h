// LibTorch modules interpreting a Program: one model (Model) or a stack of G models of
// the same architecture trained at once (ModelStack). Both run the same interpreter
// (a single model is the stack with G = 1) and register their tensors under PyTorch's
// dotted state_dict names: LibTorch forbids '.' in a registered name, so each name
// component is a nested holder module ("layer1" -> "0" -> "conv1" -> "weight").
#pragma once

#include "arch/program.h"
#include "formats/state_dict.h"

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <optional>
#include <vector>

namespace igpg::arch {

// PyTorch's default initialization of one model: kaiming_uniform(a=sqrt(5)) weights and
// uniform(+-1/sqrt(fan_in)) biases for convolutions and linears, batch norm weight 1,
// bias 0, running mean 0, var 1. Drawn in layout order from a CPU generator seeded with
// `seed`, so a model's initial weights depend on its seed alone, on every device.
std::vector<torch::Tensor> initialTensors(const Program& program, uint64_t seed);

// Shared by Model and ModelStack: the program, its tensors in layout order (with a
// leading model dimension in a stack), the holder modules, and the state dict checks.
class ProgramModule : public torch::nn::Module {
 public:
  const Program& program() const { return program_; }
  // Trainable tensors in layout order (what an optimizer steps).
  std::vector<torch::Tensor> trainableTensors() const;
  // Every layout tensor, buffers included, in layout order.
  const std::vector<torch::Tensor>& tensors() const { return tensors_; }
  // Momentum of the BatchNorm running statistics in training mode (PyTorch's 0.1 by
  // default); none: their cumulative average, what a calibration pass over data wants.
  void setBatchNormMomentum(std::optional<double> momentum) { batchNormMomentum_ = momentum; }

 protected:
  ProgramModule(Program program, int64_t models);  // models == 0: no model dimension
  // Runs the program on x (G, N, C, H, W) with the tensors viewed as (G, ...).
  torch::Tensor run(const torch::Tensor& x);
  void checkInput(const torch::Tensor& x, int64_t modelDims) const;
  StateDict exportModel(int64_t model) const;          // model < 0: no model dimension
  void importModel(int64_t model, const StateDict& weights);

  Program program_;
  int64_t models_;
  std::vector<torch::Tensor> tensors_;
  std::optional<double> batchNormMomentum_ = 0.1;
};

class ModelImpl : public ProgramModule {
 public:
  explicit ModelImpl(Program program);  // initialized as initialize(0) does
  // x (N, C, H, W) -> logits (N, classes)
  torch::Tensor forward(const torch::Tensor& x);
  void initialize(uint64_t seed);
  StateDict stateDict() const;  // CPU copies, PyTorch names and order
  // Checks names, shapes and dtypes against the program (Error Mismatch naming the
  // tensor); a missing num_batches_tracked (pre-0.4.1 PyTorch checkpoints) reads as 0.
  void loadStateDict(const StateDict& weights);
};
TORCH_MODULE(Model);

class ModelStackImpl : public ProgramModule {
 public:
  ModelStackImpl(Program program, int64_t models);  // model g initialized from seed g
  // x (G, N, C, H, W), model g's minibatch in x[g] -> logits (G, N, classes)
  torch::Tensor forward(const torch::Tensor& x);
  int64_t size() const { return models_; }
  void initialize(const std::vector<uint64_t>& seeds);  // one seed per model
  StateDict stateDict(int64_t model) const;              // CPU copies, PyTorch names and order
  std::vector<StateDict> stateDicts() const;
  void loadStateDict(int64_t model, const StateDict& weights);
};
TORCH_MODULE(ModelStack);

// Checks a labelled split fits `program`: images (N, C, H, W) float32 of the program's
// input shape, labels (N) int64 in [0, classes), N >= 1. Error(Mismatch) at `where`.
void checkClassificationData(const Program& program, const torch::Tensor& images, const torch::Tensor& labels,
                             const std::string& where);

// A stack holding the given models' weights (each checked as Model::loadStateDict does).
ModelStack stackFromStateDicts(const Program& program, const std::vector<StateDict>& models);

}  // namespace igpg::arch
