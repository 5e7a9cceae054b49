#include "training/optimizer.h"

#include "common/error.h"

#include <torch/torch.h>

#include <cmath>

namespace igpg {

const char* optimizerName(OptimizerKind kind) {
  switch (kind) {
    case OptimizerKind::Sgd: return "sgd";
    case OptimizerKind::Adam: return "adam";
    case OptimizerKind::AdamW: return "adamw";
  }
  return "?";
}

OptimizerKind parseOptimizer(const std::string& name) {
  for (OptimizerKind k : {OptimizerKind::Sgd, OptimizerKind::Adam, OptimizerKind::AdamW})
    if (name == optimizerName(k)) return k;
  fail(ErrorKind::Config, "optimizer", "expected sgd, adam or adamw, got '" + name + "'");
}

void checkOptimizerOptions(const OptimizerOptions& o) {
  auto require = [](bool ok, const char* where, const std::string& what) {
    if (!ok) fail(ErrorKind::Config, where, what);
  };
  require(std::isfinite(o.learningRate) && o.learningRate > 0, "learning_rate", "must be positive");
  require(o.momentum >= 0 && o.momentum < 1, "momentum", "must be in [0, 1)");
  require(std::isfinite(o.weightDecay) && o.weightDecay >= 0, "weight_decay", "must be >= 0");
  require(o.beta1 >= 0 && o.beta1 < 1, "beta1", "must be in [0, 1)");
  require(o.beta2 >= 0 && o.beta2 < 1, "beta2", "must be in [0, 1)");
  require(o.epsilon > 0, "epsilon", "must be positive");
}

StackOptimizer::StackOptimizer(std::vector<torch::Tensor> params, const OptimizerOptions& options,
                               const std::vector<double>& learningRates, int64_t models)
    : params_(std::move(params)), options_(options) {
  checkOptimizerOptions(options);
  std::vector<double> rates = learningRates;
  if (rates.empty()) rates.assign(size_t(models), options.learningRate);
  if (int64_t(rates.size()) != models)
    fail(ErrorKind::Config, "learning_rates", std::to_string(rates.size()) + " rates for " + std::to_string(models) + " models");
  for (double r : rates)
    if (!std::isfinite(r) || r <= 0) fail(ErrorKind::Config, "learning_rates", "every rate must be positive");
  for (const auto& p : params_) {
    if (p.dim() < 1 || p.size(0) != models) fail(ErrorKind::Internal, "optimizer", "parameter without a model dimension");
    std::vector<int64_t> shape(size_t(p.dim()), 1);
    shape[0] = models;
    lr_.push_back(torch::tensor(rates, torch::TensorOptions().dtype(p.scalar_type()).device(p.device())).view(shape));
    first_.emplace_back();
    second_.emplace_back();
  }
}

void StackOptimizer::zeroGrad() {
  for (auto& p : params_) p.mutable_grad() = torch::Tensor();
}

void StackOptimizer::step(double lrScale) {
  torch::NoGradGuard noGrad;
  ++steps_;
  const OptimizerOptions& o = options_;
  for (size_t i = 0; i < params_.size(); ++i) {
    torch::Tensor& p = params_[i];
    torch::Tensor g = p.grad();
    if (!g.defined()) continue;
    const torch::Tensor& lr = lr_[i];
    if (o.kind == OptimizerKind::Sgd) {
      if (o.weightDecay != 0) g = g.add(p, o.weightDecay);
      if (o.momentum != 0) {
        if (!first_[i].defined()) first_[i] = g.clone();
        else first_[i].mul_(o.momentum).add_(g);
        g = first_[i];
      }
      p.addcmul_(g, lr, -lrScale);
      continue;
    }
    if (o.kind == OptimizerKind::AdamW) p.mul_(1 - lr * (lrScale * o.weightDecay));
    else if (o.weightDecay != 0) g = g.add(p, o.weightDecay);
    if (!first_[i].defined()) {
      first_[i] = torch::zeros_like(p);
      second_[i] = torch::zeros_like(p);
    }
    first_[i].mul_(o.beta1).add_(g, 1 - o.beta1);
    second_[i].mul_(o.beta2).addcmul_(g, g, 1 - o.beta2);
    const double correction1 = 1 - std::pow(o.beta1, double(steps_));
    const double correction2 = 1 - std::pow(o.beta2, double(steps_));
    const torch::Tensor denom = (second_[i].sqrt() / std::sqrt(correction2)).add_(o.epsilon);
    p.addcmul_(first_[i] / denom, lr, -lrScale / correction1);
  }
}

}  // namespace igpg
