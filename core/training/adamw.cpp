#include "training/adamw.h"

#include "common/error.h"

#include <torch/torch.h>

#include <cmath>

namespace igpg {

AdamW::AdamW(std::vector<torch::Tensor> parameters, AdamWOptions options, std::vector<bool> decay)
    : params_(std::move(parameters)), decay_(std::move(decay)), options_(options) {
  if (decay_.empty()) decay_.assign(params_.size(), true);
  TORCH_CHECK(decay_.size() == params_.size(), "AdamW: one decay flag per parameter");
  for (const auto& p : params_) {
    m_.push_back(torch::zeros_like(p));
    v_.push_back(torch::zeros_like(p));
  }
}

void AdamW::zeroGrad() {
  for (auto& p : params_)
    if (p.grad().defined()) p.mutable_grad().zero_();
}

void AdamW::step() {
  torch::NoGradGuard noGrad;
  ++step_;
  const double bc1 = 1.0 - std::pow(options_.beta1, double(step_));
  const double bc2 = 1.0 - std::pow(options_.beta2, double(step_));
  const double lr = options_.learningRate;
  for (size_t i = 0; i < params_.size(); ++i) {
    auto& p = params_[i];
    if (!p.grad().defined()) continue;
    const auto& g = p.grad();
    if (decay_[i] && options_.weightDecay > 0) p.mul_(1.0 - lr * options_.weightDecay);
    m_[i].mul_(options_.beta1).add_(g, 1.0 - options_.beta1);
    v_[i].mul_(options_.beta2).addcmul_(g, g, 1.0 - options_.beta2);
    auto denom = (v_[i] / bc2).sqrt_().add_(options_.eps);
    p.addcdiv_(m_[i], denom, -lr / bc1);
  }
}

StateDict AdamW::state() const {
  StateDict s;
  for (size_t i = 0; i < params_.size(); ++i) {
    s.add("adamw.m." + std::to_string(i), m_[i].detach().to(torch::kCPU).clone());
    s.add("adamw.v." + std::to_string(i), v_[i].detach().to(torch::kCPU).clone());
  }
  s.add("adamw.step", torch::tensor({step_}, torch::kInt64));
  return s;
}

void AdamW::loadState(const StateDict& state, const std::string& source) {
  torch::NoGradGuard noGrad;
  for (size_t i = 0; i < params_.size(); ++i) {
    for (auto* pair : {&m_, &v_}) {
      const std::string key = std::string("adamw.") + (pair == &m_ ? "m." : "v.") + std::to_string(i);
      const torch::Tensor* t = state.find(key);
      if (!t || t->sizes() != (*pair)[i].sizes())
        fail(ErrorKind::Format, source + ": tensor " + key, "missing or of the wrong shape for this optimizer");
      (*pair)[i].copy_(t->to((*pair)[i].device()));
    }
  }
  const torch::Tensor* step = state.find("adamw.step");
  if (!step || step->numel() != 1) fail(ErrorKind::Format, source + ": tensor adamw.step", "missing");
  step_ = step->to(torch::kInt64).item<int64_t>();
}

}  // namespace igpg
