#include "tokenizer/chunking.h"

#include "common/error.h"

#include <torch/torch.h>

namespace igpg {

const char* vectorizationName(Vectorization v) {
  return v == Vectorization::ArchitectureWise ? "architecture" : "layer";
}

Vectorization parseVectorization(const std::string& text) {
  if (text == "architecture" || text == "architecture-wise") return Vectorization::ArchitectureWise;
  if (text == "layer" || text == "layer-wise") return Vectorization::LayerWise;
  fail(ErrorKind::Config, "vectorization", "expected 'architecture' or 'layer', got '" + text + "'");
}

ChunkPlan::ChunkPlan(const WeightLayout& layout, Vectorization mode, int64_t chunkSize)
    : chunkSize_(chunkSize), numel_(layout.numel) {
  if (chunkSize <= 0) fail(ErrorKind::Config, "chunk", "chunk size must be positive");
  // Segments: lists of value positions [begin, end) in the architecture-wise vector.
  struct Segment { int64_t begin, end, index; };
  std::vector<Segment> segments;
  if (mode == Vectorization::ArchitectureWise) {
    segments.push_back({0, layout.numel, 0});
  } else {
    for (const auto& e : layout.entries) {
      if (segments.empty() || segments.back().index != e.layerIndex)
        segments.push_back({e.offset, e.offset + e.numel, e.layerIndex});
      else
        segments.back().end = e.offset + e.numel;
    }
  }
  // Per-value role and layer, for origins.
  std::vector<int64_t> roleOf(size_t(layout.numel)), layerOf(size_t(layout.numel));
  std::vector<int64_t> layerStart(size_t(layout.numLayers), -1), layerEnd(size_t(layout.numLayers), 0);
  for (const auto& e : layout.entries) {
    for (int64_t i = e.offset; i < e.offset + e.numel; ++i) {
      roleOf[size_t(i)] = int64_t(e.role);
      layerOf[size_t(i)] = e.layerIndex;
    }
    auto& start = layerStart[size_t(e.layerIndex)];
    if (start < 0) start = e.offset;
    layerEnd[size_t(e.layerIndex)] = e.offset + e.numel;
  }
  std::vector<int64_t> gather, roles;
  for (const auto& s : segments) {
    const int64_t length = s.end - s.begin;
    const int64_t padded = (length + chunkSize - 1) / chunkSize * chunkSize;
    for (int64_t c = 0; c < padded; c += chunkSize) {
      const int64_t first = s.begin + c;
      ChunkOrigin o;
      o.segment = s.index;
      o.layerIndex = layerOf[size_t(first)];
      o.role = ParamRole(roleOf[size_t(first)]);
      o.offsetInLayer = first - layerStart[size_t(o.layerIndex)];
      o.layerNumel = layerEnd[size_t(o.layerIndex)] - layerStart[size_t(o.layerIndex)];
      origins_.push_back(o);
      for (int64_t k = 0; k < chunkSize; ++k) {
        const int64_t pos = first + k;
        const bool real = c + k < length;
        gather.push_back(real ? pos : -1);
        roles.push_back(real ? roleOf[size_t(pos)] : int64_t(ParamRole::Padding));
      }
    }
  }
  gather_ = torch::tensor(gather, torch::kInt64);
  roles_ = torch::tensor(roles, torch::kInt64).reshape({numChunks(), chunkSize});
}

ChunkedWeights ChunkPlan::skeleton() const {
  ChunkedWeights out;
  out.roles = roles_.clone();
  out.mask = (gather_ >= 0).to(torch::kFloat32).reshape({numChunks(), chunkSize_});
  out.values = torch::zeros({numChunks(), chunkSize_});
  out.origins = origins_;
  return out;
}

ChunkedWeights ChunkPlan::chunk(const torch::Tensor& vector) const {
  TORCH_CHECK(vector.dim() == 1 && vector.size(0) == numel_, "ChunkPlan::chunk: expected ", numel_,
              " values, got ", vector.sizes());
  ChunkedWeights out = skeleton();
  auto v = vector.to(torch::kCPU, torch::kFloat32);
  auto index = gather_.clamp_min(0);
  out.values = (v.index_select(0, index) * (gather_ >= 0).to(torch::kFloat32)).reshape({numChunks(), chunkSize_});
  return out;
}

torch::Tensor ChunkPlan::unchunk(const torch::Tensor& chunks) const {
  TORCH_CHECK(chunks.dim() == 2 && chunks.size(0) == numChunks() && chunks.size(1) == chunkSize_,
              "ChunkPlan::unchunk: expected (", numChunks(), ", ", chunkSize_, "), got ", chunks.sizes());
  auto flat = chunks.reshape({-1});
  auto real = (gather_ >= 0).to(flat.device());
  auto out = torch::zeros({numel_}, flat.options());
  out.index_copy_(0, gather_.to(flat.device()).masked_select(real), flat.masked_select(real));
  return out;
}

}  // namespace igpg
