// Accuracy of classifiers on a labelled split: top-1, top-5 and mean cross-entropy, in
// eval mode (batch norm uses its running statistics), without gradients, in batches, on
// the device asked for. A whole stack is evaluated in one pass over the data.
#pragma once

#include "arch/model.h"
#include "jobs/progress.h"

#include <torch/types.h>

#include <cstdint>
#include <optional>
#include <vector>

namespace igpg {

struct ClassifierMetrics {
  double top1 = 0;   // fraction of samples whose highest logit is the label
  double top5 = 0;   // label among the 5 highest logits (all classes when there are <= 5)
  double loss = 0;   // mean cross-entropy, natural log
  int64_t samples = 0;
  torch::Tensor predictions;  // (N) int64 on the CPU, the top-1 class of each sample; with keepPredictions
};

struct EvalOptions {
  int64_t batchSize = 1000;
  // Where to evaluate; the model is moved there. Default: where its weights are, so an
  // epoch callback can evaluate a stack that is training on a GPU without moving it.
  std::optional<torch::Device> device;
  // Also return every sample's predicted class (agreement between two networks needs them,
  // and a second pass over the data would cost as much as the evaluation).
  bool keepPredictions = false;
};

// images (N, C, H, W) float32, labels (N) int64. Progress phase "evaluate", one unit per
// sample; cancellation between batches. The module's train/eval mode is restored.
ClassifierMetrics evaluateClassifier(arch::Model& model, const torch::Tensor& images, const torch::Tensor& labels,
                                     const EvalOptions& options = {}, const JobControl& job = {});

// One entry per model of the stack; every model sees every sample.
std::vector<ClassifierMetrics> evaluateClassifiers(arch::ModelStack& stack, const torch::Tensor& images,
                                                   const torch::Tensor& labels, const EvalOptions& options = {},
                                                   const JobControl& job = {});

}  // namespace igpg
