#include "prior/structure.h"

#include <torch/torch.h>

#include <cmath>

namespace igpg {

namespace {
// Sinusoidal features of a scalar at geometric frequencies: nearby values get nearby
// features, which is what lets an unseen depth or offset land between seen ones.
void sinusoidal(float* out, double value, int64_t count, double minPeriod, double maxPeriod) {
  for (int64_t i = 0; i < count / 2; ++i) {
    const double period = minPeriod * std::pow(maxPeriod / minPeriod, double(i) / double(std::max<int64_t>(1, count / 2 - 1)));
    const double angle = 2.0 * M_PI * value / period;
    out[2 * i] = float(std::sin(angle));
    out[2 * i + 1] = float(std::cos(angle));
  }
}
}  // namespace

TokenStructure tokenStructure(const ChunkPlan& plan, int64_t tokensPerChunk, int64_t numLayers) {
  const int64_t n = plan.numChunks(), L = n * tokensPerChunk;
  auto features = torch::zeros({1, L, kStructureFeatures});
  auto roles = torch::zeros({1, L}, torch::kInt64);
  auto inChunk = torch::zeros({1, L}, torch::kInt64);
  float* f = features.data_ptr<float>();
  int64_t* r = roles.data_ptr<int64_t>();
  int64_t* c = inChunk.data_ptr<int64_t>();
  const double chunkSize = double(plan.chunkSize());
  for (int64_t i = 0; i < n; ++i) {
    const ChunkOrigin& o = plan.origins()[size_t(i)];
    for (int64_t j = 0; j < tokensPerChunk; ++j) {
      const int64_t t = i * tokensPerChunk + j;
      float* row = f + t * kStructureFeatures;
      // Offset (in values) of this token's patch inside its layer, as a fraction and absolutely.
      const double offset = double(o.offsetInLayer) + chunkSize * double(j) / double(tokensPerChunk);
      const double fraction = o.layerNumel > 0 ? offset / double(o.layerNumel) : 0.0;
      const double depth = numLayers > 1 ? double(o.layerIndex) / double(numLayers - 1) : 0.0;
      sinusoidal(row, double(t), 16, 4.0, 65536.0);                // absolute token position
      sinusoidal(row + 16, double(o.layerIndex), 12, 2.0, 512.0);  // layer index
      sinusoidal(row + 28, depth, 8, 0.5, 8.0);                    // relative depth
      sinusoidal(row + 36, fraction, 12, 0.05, 4.0);               // where in the layer
      sinusoidal(row + 48, std::log1p(offset), 8, 0.5, 32.0);      // absolute offset in the layer
      sinusoidal(row + 56, std::log1p(double(o.layerNumel)), 8, 0.5, 32.0);  // layer size
      r[t] = int64_t(o.role);
      c[t] = j;
    }
  }
  return {features, roles, inChunk};
}

TokenStructure sliceStructure(const TokenStructure& s, int64_t begin, int64_t length) {
  return {s.features.narrow(1, begin, length), s.roles.narrow(1, begin, length), s.inChunk.narrow(1, begin, length)};
}

TokenStructure expandStructure(const TokenStructure& s, int64_t batch) {
  return {s.features.expand({batch, s.features.size(1), s.features.size(2)}),
          s.roles.expand({batch, s.roles.size(1)}), s.inChunk.expand({batch, s.inChunk.size(1)})};
}

TokenStructure splitStructure(const TokenStructure& s, int64_t batch, int64_t parts, int64_t length) {
  auto split = [&](const torch::Tensor& t) {
    const int64_t L = t.size(1);
    TORCH_CHECK(L <= parts * length, "splitStructure: ", L, " tokens do not fit ", parts, " x ", length);
    std::vector<int64_t> padSizes = t.sizes().vec();
    padSizes[1] = parts * length - L;
    auto padded = torch::cat({t, t.narrow(1, L - 1, 1).expand(padSizes)}, 1);  // (b, parts * length, ...)
    std::vector<int64_t> pieces = {batch, parts, length};
    pieces.insert(pieces.end(), t.sizes().begin() + 2, t.sizes().end());
    std::vector<int64_t> rows = {batch * parts, length};
    rows.insert(rows.end(), t.sizes().begin() + 2, t.sizes().end());
    pieces[0] = t.size(0);
    auto cut = padded.reshape(pieces);  // (b, parts, length, ...)
    pieces[0] = batch;
    return cut.expand(pieces).reshape(rows);
  };
  return {split(s.features), split(s.roles), split(s.inChunk)};
}

TokenStructure catStructures(const std::vector<TokenStructure>& parts) {
  std::vector<torch::Tensor> f, r, c;
  for (const auto& p : parts) {
    f.push_back(p.features);
    r.push_back(p.roles);
    c.push_back(p.inChunk);
  }
  return {torch::cat(f), torch::cat(r), torch::cat(c)};
}

TokenStructure structureTo(const TokenStructure& s, torch::Device device) {
  return {s.features.to(device), s.roles.to(device), s.inChunk.to(device)};
}

}  // namespace igpg
