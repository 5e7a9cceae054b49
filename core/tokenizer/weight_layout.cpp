#include "tokenizer/weight_layout.h"

#include "common/error.h"

#include <torch/torch.h>

#include <set>
#include <sstream>

namespace igpg {

const char* paramRoleName(ParamRole role) {
  switch (role) {
    case ParamRole::Padding: return "padding";
    case ParamRole::ConvWeight: return "conv_weight";
    case ParamRole::LinearWeight: return "linear_weight";
    case ParamRole::Bias: return "bias";
    case ParamRole::NormWeight: return "norm_weight";
    case ParamRole::NormBias: return "norm_bias";
    case ParamRole::RunningMean: return "running_mean";
    case ParamRole::RunningVar: return "running_var";
  }
  return "unknown";
}

static std::pair<std::string, std::string> splitName(const std::string& name) {
  const auto dot = name.rfind('.');
  if (dot == std::string::npos) return {"", name};
  return {name.substr(0, dot), name.substr(dot + 1)};
}

WeightLayout WeightLayout::fromShapes(const std::vector<std::pair<std::string, std::vector<int64_t>>>& tensors,
                                      std::vector<IntegerBuffer> integerBuffers) {
  std::set<std::string> normModules;
  for (const auto& [name, shape] : tensors) {
    auto [module, leaf] = splitName(name);
    if (leaf == "running_mean" || leaf == "running_var") normModules.insert(module);
  }
  WeightLayout layout;
  layout.integerBuffers = std::move(integerBuffers);
  std::string lastModule;
  int64_t layer = -1;
  for (const auto& [name, shape] : tensors) {
    auto [module, leaf] = splitName(name);
    if (layer < 0 || module != lastModule) {
      ++layer;
      lastModule = module;
    }
    LayoutEntry e;
    e.name = name;
    e.shape = shape;
    e.layerIndex = layer;
    e.numel = 1;
    for (auto d : shape) e.numel *= d;
    for (size_t i = 1; i < shape.size(); ++i) e.fanIn *= shape[i];
    const bool norm = normModules.count(module) > 0;
    if (leaf == "running_mean") e.role = ParamRole::RunningMean;
    else if (leaf == "running_var") e.role = ParamRole::RunningVar;
    else if (norm && leaf == "weight") e.role = ParamRole::NormWeight;
    else if (norm && leaf == "bias") e.role = ParamRole::NormBias;
    else if (shape.size() >= 3) e.role = ParamRole::ConvWeight;
    else if (shape.size() == 2) e.role = ParamRole::LinearWeight;
    else e.role = ParamRole::Bias;
    e.offset = layout.numel;
    layout.numel += e.numel;
    layout.entries.push_back(std::move(e));
  }
  layout.numLayers = layer + 1;
  return layout;
}

WeightLayout WeightLayout::fromStateDict(const StateDict& weights) {
  std::vector<std::pair<std::string, std::vector<int64_t>>> floats;
  std::vector<IntegerBuffer> ints;
  for (const auto& e : weights.entries()) {
    if (e.tensor.is_floating_point()) floats.emplace_back(e.name, e.tensor.sizes().vec());
    else ints.push_back({e.name, e.tensor.sizes().vec(), floats.size()});
  }
  return fromShapes(floats, std::move(ints));
}

std::string WeightLayout::signature() const {
  std::ostringstream s;
  for (const auto& e : entries) {
    s << e.name << "(";
    for (size_t i = 0; i < e.shape.size(); ++i) s << (i ? "," : "") << e.shape[i];
    s << ");";
  }
  return s.str();
}

torch::Tensor flattenWeights(const StateDict& weights, const WeightLayout& layout) {
  std::vector<torch::Tensor> parts;
  parts.reserve(layout.entries.size());
  for (const auto& e : layout.entries) {
    const torch::Tensor* t = weights.find(e.name);
    if (!t) fail(ErrorKind::Mismatch, "tensor " + e.name, "missing from the weights");
    if (t->sizes().vec() != e.shape) {
      std::ostringstream s;
      s << "has shape " << t->sizes() << ", the layout expects " << c10::IntArrayRef(e.shape);
      fail(ErrorKind::Mismatch, "tensor " + e.name, s.str());
    }
    parts.push_back(t->detach().to(torch::kFloat32).reshape({-1}));
  }
  if (parts.empty()) return torch::zeros({0});
  return torch::cat(parts);
}

StateDict unflattenWeights(const torch::Tensor& vector, const WeightLayout& layout) {
  TORCH_CHECK(vector.dim() == 1 && vector.size(0) == layout.numel, "unflattenWeights: expected ", layout.numel,
              " values, got ", vector.sizes());
  StateDict out;
  size_t nextInt = 0;
  auto addIntegersBefore = [&](size_t index) {
    for (; nextInt < layout.integerBuffers.size() && layout.integerBuffers[nextInt].before <= index; ++nextInt)
      out.add(layout.integerBuffers[nextInt].name, torch::zeros(layout.integerBuffers[nextInt].shape, torch::kInt64));
  };
  for (size_t i = 0; i < layout.entries.size(); ++i) {
    addIntegersBefore(i);
    const auto& e = layout.entries[i];
    out.add(e.name, vector.narrow(0, e.offset, e.numel).reshape(e.shape).clone());
  }
  addIntegersBefore(layout.entries.size());
  return out;
}

}  // namespace igpg
