#include "formats/tensor_stats.h"

#include <torch/torch.h>

#include <cmath>
#include <limits>

namespace igpg {

std::vector<TensorStats> tensorStats(const StateDict& tensors) {
  std::vector<TensorStats> out;
  out.reserve(tensors.size());
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  for (const auto& e : tensors.entries()) {
    TensorStats s;
    s.name = e.name;
    s.dtype = c10::toString(e.tensor.scalar_type());
    s.shape = e.tensor.sizes().vec();
    s.numel = e.tensor.numel();
    if (s.numel == 0) {
      s.mean = s.std = s.min = s.max = kNaN;
    } else {
      const auto t = e.tensor.detach().to(torch::kCPU, torch::kFloat64).reshape({-1});
      s.mean = t.mean().item<double>();
      s.std = s.numel > 1 ? t.std().item<double>() : kNaN;
      s.min = t.min().item<double>();
      s.max = t.max().item<double>();
      s.nonFinite = s.numel - torch::isfinite(t).sum().item<int64_t>();
    }
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace igpg
