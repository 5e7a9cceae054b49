// Per-tensor standardization that the decoder can undo. Raw weights of different layers
// differ in scale by orders of magnitude; without it the reconstruction loss is dominated
// by a few layers. Statistics are fitted over the training zoo and stored in the tokenizer
// checkpoint, keyed by role and shape ("conv_weight|16x16x3x3") so that same-shaped
// tensors at other depths (an unseen ResNet block) share them. A key never seen in
// training falls back to its role's statistics of fan-in-scaled values (the 1/sqrt(fan_in)
// law of common initializations), so any architecture can be normalized.
#pragma once

#include "tokenizer/weight_layout.h"

#include <nlohmann/json.hpp>
#include <torch/types.h>

#include <map>
#include <string>

namespace igpg {

struct MeanStd {
  double mean = 0;
  double std = 1;
};

class WeightNormalizer {
 public:
  // Fits statistics over flattened vectors (each laid out by its own layout).
  void fit(const std::vector<std::pair<const WeightLayout*, torch::Tensor>>& vectors);

  // Per-value mean and std for a layout, (numel) each.
  std::pair<torch::Tensor, torch::Tensor> statistics(const WeightLayout& layout) const;
  torch::Tensor normalize(const torch::Tensor& vector, const WeightLayout& layout) const;
  torch::Tensor denormalize(const torch::Tensor& normalized, const WeightLayout& layout) const;

  // True when every tensor of the layout has statistics of its own key.
  bool knowsExactly(const WeightLayout& layout) const;

  nlohmann::json toJson() const;
  static WeightNormalizer fromJson(const nlohmann::json& j);

  static std::string keyOf(const LayoutEntry& entry);

 private:
  MeanStd lookup(const LayoutEntry& entry) const;
  std::map<std::string, MeanStd> byKey_;
  std::map<int64_t, MeanStd> byRoleScaled_;  // statistics of x * sqrt(fan_in) per role
};

}  // namespace igpg
