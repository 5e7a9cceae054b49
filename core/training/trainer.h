// Trains a stack of G classifiers of one architecture at once: different seeds,
// optionally different learning rates, each model on its own minibatches. A model
// trained in a stack ends where it would end trained alone with the same seed (up to
// float rounding), so a zoo is built G models at a time.
#pragma once

#include "arch/model.h"
#include "jobs/progress.h"
#include "training/lr_schedule.h"
#include "training/optimizer.h"

#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <vector>

namespace igpg {

struct TrainOptions {
  OptimizerOptions optimizer;
  std::vector<double> learningRates;  // one per model; empty: optimizer.learningRate for all
  LrSchedule schedule = LrSchedule::Constant;  // over the epochs of this call
  int64_t batchSize = 64;             // the last minibatch of an epoch may be smaller
  int64_t epochs = 10;
  // One per model. Model g starts from the weights seeds[g] draws (arch::initialTensors)
  // and sees the training samples in the orders a generator seeded from seeds[g] draws.
  std::vector<uint64_t> seeds = {0};
  torch::Device device = torch::kCPU;
};

struct EpochStats {
  int64_t epoch = 0;               // 1-based
  std::vector<double> loss;        // per model: mean training loss over the epoch
  std::vector<double> accuracy;    // per model: training accuracy over the epoch (train mode)
  double seconds = 0;
};

// Called after every epoch with the stack in its state at the end of that epoch, e.g. to
// keep checkpoints (stack->stateDicts()) of chosen epochs or to evaluate.
using EpochCallback = std::function<void(const EpochStats& stats, arch::ModelStack& stack)>;

// Initializes a stack from options.seeds and trains it on (images (N, C, H, W) float32,
// labels (N) int64). Progress: phase "train", one unit per step; cancellation is checked
// between steps (Error Cancelled).
arch::ModelStack trainModels(const arch::Program& program, const torch::Tensor& images, const torch::Tensor& labels,
                             const TrainOptions& options, const EpochCallback& onEpoch = {},
                             const JobControl& job = {});

// Trains an existing stack further (e.g. loaded or generated weights) in place, model g
// with options.seeds[g] deciding its data order; the stack is moved to options.device.
// Returns the epochs' statistics.
std::vector<EpochStats> trainStack(arch::ModelStack& stack, const torch::Tensor& images, const torch::Tensor& labels,
                                   const TrainOptions& options, const EpochCallback& onEpoch = {},
                                   const JobControl& job = {});

}  // namespace igpg
