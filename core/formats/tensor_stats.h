// Per-tensor summary statistics: the layer table of `igpg zoo show` and `igpg inspect`,
// and the studio's layer view. Computed in float64 whatever the stored dtype.
#pragma once

#include "formats/state_dict.h"

#include <cstdint>
#include <string>
#include <vector>

namespace igpg {

struct TensorStats {
  std::string name;
  std::string dtype;           // LibTorch's name, e.g. "Float"
  std::vector<int64_t> shape;
  int64_t numel = 0;
  // Over all elements, so a NaN or Inf in the tensor shows up here. std is the sample
  // standard deviation, as torch.Tensor.std() gives it (NaN for a single element).
  // All four are NaN for an empty tensor.
  double mean = 0, std = 0, min = 0, max = 0;
  int64_t nonFinite = 0;       // NaN and +-Inf elements
};

// One entry per tensor, in the state dict's order.
std::vector<TensorStats> tensorStats(const StateDict& tensors);

}  // namespace igpg
