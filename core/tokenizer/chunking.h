// Fixed-size chunking (paper section 2.2): a vector of D values is padded to a multiple
// of K and split into n = ceil(D/K) chunks, with a mask of the padding. In the
// architecture-wise setting the whole model is one segment; in the layer-wise setting each
// layer (its weight, bias and norm statistics) is a segment padded on its own. Every chunk
// records where it came from, so later stages can condition on it.
#pragma once

#include "tokenizer/weight_layout.h"

#include <torch/types.h>

#include <string>
#include <vector>

namespace igpg {

enum class Vectorization { ArchitectureWise, LayerWise };
const char* vectorizationName(Vectorization v);
Vectorization parseVectorization(const std::string& text);  // "architecture" | "layer"

struct ChunkOrigin {
  int64_t segment = 0;      // 0 architecture-wise; the layer index layer-wise
  int64_t layerIndex = 0;   // layer of the chunk's first value
  ParamRole role = ParamRole::Padding;  // role of the chunk's first value
  int64_t offsetInLayer = 0;  // offset of the first value inside its layer's values
  int64_t layerNumel = 0;     // number of values of that layer
};

struct ChunkedWeights {
  torch::Tensor values;  // (n, K) float32, padding zero
  torch::Tensor roles;   // (n, K) int64 ParamRole ids, Padding where masked
  torch::Tensor mask;    // (n, K) float32, 1 for real values
  std::vector<ChunkOrigin> origins;  // n entries
};

class ChunkPlan {
 public:
  ChunkPlan(const WeightLayout& layout, Vectorization mode, int64_t chunkSize);

  int64_t numChunks() const { return int64_t(origins_.size()); }
  int64_t chunkSize() const { return chunkSize_; }
  const std::vector<ChunkOrigin>& origins() const { return origins_; }

  // vector (D) -> chunks; D must equal the layout's numel.
  ChunkedWeights chunk(const torch::Tensor& vector) const;
  // chunks (n, K) -> vector (D), dropping the padding.
  torch::Tensor unchunk(const torch::Tensor& chunks) const;
  // The roles/mask of this plan without values (for decoding generated tokens).
  ChunkedWeights skeleton() const;

 private:
  int64_t chunkSize_;
  int64_t numel_;
  std::vector<ChunkOrigin> origins_;
  torch::Tensor gather_;  // (n*K) index into the vector, -1 for padding
  torch::Tensor roles_;   // (n, K)
};

}  // namespace igpg
