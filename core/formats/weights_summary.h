// What a weight file holds, tensor by tensor: the numbers `igpg inspect` prints and the
// studio's file view shows, computed once here.
#pragma once

#include "formats/state_dict.h"
#include "formats/weights_file.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace igpg {

struct TensorSummary {
  std::string name;
  std::string dtype;  // PyTorch's name: "float32", "bfloat16", "int64", ...
  std::vector<int64_t> shape;
  int64_t numel = 0;
  // Over the finite values, in float64; empty when there are none (std: fewer than two).
  // std is Bessel-corrected, as torch.std.
  std::optional<double> mean, std, min, max;
  int64_t nonFinite = 0;  // NaN and infinite values, left out of the statistics
};

struct WeightsFileSummary {
  std::string path;
  WeightsFormat format = WeightsFormat::Unknown;
  std::vector<TensorSummary> tensors;  // in the file's order
  std::map<std::string, std::string> metadata;
  int64_t numel = 0;
};

// "float32" etc., or LibTorch's own name for dtypes without a PyTorch-style one here.
std::string dtypeName(torch::ScalarType type);

TensorSummary summarizeTensor(const std::string& name, const torch::Tensor& tensor);
WeightsFileSummary summarizeWeightsFile(const std::string& path);

}  // namespace igpg
