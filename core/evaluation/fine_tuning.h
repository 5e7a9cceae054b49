// Fine-tuning curves (the paper's Table 1 protocol): several starting points of one
// architecture (generated weights, random initializations, pretrained checkpoints) are
// trained further on one dataset, all at once as a stack, and each one's test top-1 is
// measured before training and after every epoch.
#pragma once

#include "arch/model.h"
#include "data/dataset.h"
#include "formats/state_dict.h"
#include "jobs/progress.h"
#include "training/optimizer.h"

#include <cstdint>
#include <vector>

namespace igpg {

struct FineTuneOptions {
  int64_t epochs = 5;
  OptimizerOptions optimizer;  // Adam, 1e-3
  int64_t batchSize = 64;
  int64_t trainSamples = 0;    // a fixed subset of the train split (trainingSubset); 0: all of it
  uint64_t seed = 0;           // start g sees the data in the order seed + g draws
  torch::Device device = torch::kCPU;
};

struct FineTuneCurves {
  std::vector<int64_t> epochs;            // 0, 1, ..., options.epochs
  std::vector<std::vector<double>> top1;  // [start][epoch]: test top-1 as a fraction
};

FineTuneCurves fineTuneCurves(const arch::Program& program, const std::vector<StateDict>& starts,
                              const Dataset& dataset, const FineTuneOptions& options, const JobControl& job = {});

// Mean over the starts at each epoch, (epochs.size()) fractions.
std::vector<double> meanCurve(const FineTuneCurves& curves);
// Sample standard deviation over the starts at each epoch (0 for one start).
std::vector<double> stdCurve(const FineTuneCurves& curves);

// `count` random initializations (PyTorch's default, arch::initialTensors) from seeds
// seed, seed + 1, ...: the training-from-scratch baseline.
std::vector<StateDict> scratchStarts(const arch::Program& program, int64_t count, uint64_t seed);

}  // namespace igpg
