#include "formats/weights_summary.h"

#include <torch/torch.h>

namespace igpg {

std::string dtypeName(torch::ScalarType type) {
  switch (type) {
    case torch::kFloat64: return "float64";
    case torch::kFloat32: return "float32";
    case torch::kFloat16: return "float16";
    case torch::kBFloat16: return "bfloat16";
    case torch::kInt64: return "int64";
    case torch::kInt32: return "int32";
    case torch::kInt16: return "int16";
    case torch::kInt8: return "int8";
    case torch::kUInt8: return "uint8";
    case torch::kBool: return "bool";
    default: return c10::toString(type);
  }
}

TensorSummary summarizeTensor(const std::string& name, const torch::Tensor& tensor) {
  TensorSummary s;
  s.name = name;
  s.dtype = dtypeName(tensor.scalar_type());
  s.shape = tensor.sizes().vec();
  s.numel = tensor.numel();
  const torch::Tensor values = tensor.detach().to(torch::kCPU, torch::kFloat64).flatten();
  const torch::Tensor finite = values.masked_select(torch::isfinite(values));
  s.nonFinite = s.numel - finite.numel();
  if (finite.numel() > 0) {
    s.mean = finite.mean().item<double>();
    s.min = finite.min().item<double>();
    s.max = finite.max().item<double>();
  }
  if (finite.numel() > 1) s.std = finite.std().item<double>();
  return s;
}

WeightsFileSummary summarizeWeightsFile(const std::string& path) {
  WeightsFileSummary summary;
  summary.path = path;
  summary.format = detectWeightsFormat(path);
  const StateDict tensors = loadWeightsFile(path);
  for (const auto& e : tensors.entries()) summary.tensors.push_back(summarizeTensor(e.name, e.tensor));
  summary.metadata = tensors.metadata;
  summary.numel = tensors.numel();
  return summary;
}

}  // namespace igpg
