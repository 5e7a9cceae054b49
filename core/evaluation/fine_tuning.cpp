#include "evaluation/fine_tuning.h"

#include "common/error.h"
#include "evaluation/classifier_eval.h"
#include "evaluation/statistics.h"
#include "training/trainer.h"

#include <torch/torch.h>

namespace igpg {

FineTuneCurves fineTuneCurves(const arch::Program& program, const std::vector<StateDict>& starts,
                              const Dataset& dataset, const FineTuneOptions& options, const JobControl& job) {
  if (starts.empty()) fail(ErrorKind::Config, "fine-tuning", "no weights to fine-tune");
  if (options.epochs < 0) fail(ErrorKind::Config, "epochs", "must not be negative");
  arch::ModelStack stack = arch::stackFromStateDicts(program, starts);
  stack->to(options.device);
  const TensorSplit test = dataset.test().to(options.device);
  FineTuneCurves curves;
  curves.top1.resize(starts.size());
  auto record = [&](int64_t epoch) {
    curves.epochs.push_back(epoch);
    const auto metrics = evaluateClassifiers(stack, test.images, test.labels, {}, {});
    for (size_t g = 0; g < metrics.size(); ++g) curves.top1[g].push_back(metrics[g].top1);
  };
  record(0);
  if (options.epochs == 0) return curves;
  const TensorSplit train = trainingSubset(dataset, options.trainSamples);
  TrainOptions trainOptions;
  trainOptions.optimizer = options.optimizer;
  trainOptions.batchSize = options.batchSize;
  trainOptions.epochs = options.epochs;
  trainOptions.device = options.device;
  trainOptions.seeds.clear();
  for (size_t g = 0; g < starts.size(); ++g) trainOptions.seeds.push_back(options.seed + g);
  trainStack(stack, train.images, train.labels, trainOptions,
             [&](const EpochStats& stats, arch::ModelStack&) { record(stats.epoch); }, job);
  return curves;
}

std::vector<double> meanCurve(const FineTuneCurves& curves) {
  std::vector<double> means(curves.epochs.size(), 0.0);
  for (const auto& curve : curves.top1)
    for (size_t e = 0; e < curve.size() && e < means.size(); ++e) means[e] += curve[e] / double(curves.top1.size());
  return means;
}

std::vector<double> stdCurve(const FineTuneCurves& curves) {
  std::vector<double> stds;
  for (size_t e = 0; e < curves.epochs.size(); ++e) {
    std::vector<double> atEpoch;
    for (const auto& curve : curves.top1) atEpoch.push_back(curve.at(e));
    stds.push_back(stats::standardDeviation(atEpoch));
  }
  return stds;
}

std::vector<StateDict> scratchStarts(const arch::Program& program, int64_t count, uint64_t seed) {
  std::vector<StateDict> starts;
  for (int64_t i = 0; i < count; ++i) {
    arch::Model model(program);
    model->initialize(seed + uint64_t(i));
    starts.push_back(model->stateDict());
  }
  return starts;
}

}  // namespace igpg
