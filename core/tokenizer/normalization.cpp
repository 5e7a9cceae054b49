#include "tokenizer/normalization.h"

#include "common/error.h"

#include <torch/torch.h>

#include <cmath>
#include <sstream>

namespace igpg {

namespace {
// Statistics of constant tensors (e.g. BatchNorm weights that never moved) have std 0;
// a floor keeps the transform invertible without amplifying float noise.
constexpr double kMinStd = 1e-6;

struct Accumulator {
  double sum = 0, sumSq = 0;
  int64_t count = 0;
  void add(const torch::Tensor& values) {
    auto v = values.to(torch::kFloat64);
    sum += v.sum().item<double>();
    sumSq += v.pow(2).sum().item<double>();
    count += v.numel();
  }
  MeanStd result() const {
    MeanStd m;
    if (count == 0) return m;
    m.mean = sum / double(count);
    m.std = std::sqrt(std::max(0.0, sumSq / double(count) - m.mean * m.mean));
    m.std = std::max(m.std, kMinStd);
    return m;
  }
};
}  // namespace

std::string WeightNormalizer::keyOf(const LayoutEntry& e) {
  std::ostringstream s;
  s << paramRoleName(e.role) << "|";
  for (size_t i = 0; i < e.shape.size(); ++i) s << (i ? "x" : "") << e.shape[i];
  return s.str();
}

void WeightNormalizer::fit(const std::vector<std::pair<const WeightLayout*, torch::Tensor>>& vectors) {
  std::map<std::string, Accumulator> byKey;
  std::map<int64_t, Accumulator> byRole;
  for (const auto& [layout, vector] : vectors) {
    for (const auto& e : layout->entries) {
      auto values = vector.narrow(0, e.offset, e.numel);
      byKey[keyOf(e)].add(values);
      byRole[int64_t(e.role)].add(values * std::sqrt(double(e.fanIn)));
    }
  }
  byKey_.clear();
  byRoleScaled_.clear();
  for (const auto& [k, acc] : byKey) byKey_[k] = acc.result();
  for (const auto& [r, acc] : byRole) byRoleScaled_[r] = acc.result();
}

MeanStd WeightNormalizer::lookup(const LayoutEntry& e) const {
  if (auto it = byKey_.find(keyOf(e)); it != byKey_.end()) return it->second;
  auto it = byRoleScaled_.find(int64_t(e.role));
  if (it == byRoleScaled_.end())
    fail(ErrorKind::Mismatch, "tensor " + e.name,
         std::string("the tokenizer was trained without any tensor of role ") + paramRoleName(e.role));
  const double scale = 1.0 / std::sqrt(double(e.fanIn));
  return {it->second.mean * scale, std::max(it->second.std * scale, kMinStd)};
}

bool WeightNormalizer::knowsExactly(const WeightLayout& layout) const {
  for (const auto& e : layout.entries)
    if (!byKey_.count(keyOf(e))) return false;
  return true;
}

std::pair<torch::Tensor, torch::Tensor> WeightNormalizer::statistics(const WeightLayout& layout) const {
  auto mean = torch::empty({layout.numel});
  auto std = torch::empty({layout.numel});
  for (const auto& e : layout.entries) {
    const MeanStd m = lookup(e);
    mean.narrow(0, e.offset, e.numel).fill_(m.mean);
    std.narrow(0, e.offset, e.numel).fill_(m.std);
  }
  return {mean, std};
}

torch::Tensor WeightNormalizer::normalize(const torch::Tensor& vector, const WeightLayout& layout) const {
  auto [mean, std] = statistics(layout);
  return (vector - mean.to(vector.device())) / std.to(vector.device());
}

torch::Tensor WeightNormalizer::denormalize(const torch::Tensor& normalized, const WeightLayout& layout) const {
  auto [mean, std] = statistics(layout);
  return normalized * std.to(normalized.device()) + mean.to(normalized.device());
}

nlohmann::json WeightNormalizer::toJson() const {
  nlohmann::json keys = nlohmann::json::object(), roles = nlohmann::json::object();
  for (const auto& [k, m] : byKey_) keys[k] = {m.mean, m.std};
  for (const auto& [r, m] : byRoleScaled_) roles[paramRoleName(ParamRole(r))] = {r, m.mean, m.std};
  return {{"by_key", keys}, {"by_role_fan_in_scaled", roles}};
}

WeightNormalizer WeightNormalizer::fromJson(const nlohmann::json& j) {
  WeightNormalizer n;
  try {
    for (auto it = j.at("by_key").begin(); it != j.at("by_key").end(); ++it)
      n.byKey_[it.key()] = {it.value().at(0).get<double>(), it.value().at(1).get<double>()};
    for (const auto& v : j.at("by_role_fan_in_scaled"))
      n.byRoleScaled_[v.at(0).get<int64_t>()] = {v.at(1).get<double>(), v.at(2).get<double>()};
  } catch (const nlohmann::json::exception& e) {
    fail(ErrorKind::Format, "normalization", std::string("malformed statistics: ") + e.what());
  }
  return n;
}

}  // namespace igpg
