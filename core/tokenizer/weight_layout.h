// What the tokenizer needs to know about a network's tensors: their order, shapes and
// roles. Roles are read off PyTorch's naming conventions (weight/bias, BatchNorm
// running statistics), so any state dict gets a layout, including imported ones.
// Integer buffers (num_batches_tracked) are not weights: they are skipped here and
// restored as zeros by the decoder.
#pragma once

#include "formats/state_dict.h"

#include <cstdint>
#include <string>
#include <vector>

namespace igpg {

// Values are stable: they are stored in tokenizer checkpoints and index embeddings.
enum class ParamRole : int64_t {
  Padding = 0,
  ConvWeight = 1,
  LinearWeight = 2,
  Bias = 3,
  NormWeight = 4,
  NormBias = 5,
  RunningMean = 6,
  RunningVar = 7,
};
constexpr int64_t kNumParamRoles = 8;
const char* paramRoleName(ParamRole role);

struct LayoutEntry {
  std::string name;
  std::vector<int64_t> shape;
  ParamRole role = ParamRole::Bias;
  int64_t layerIndex = 0;  // index of the module (name prefix) in layout order
  int64_t numel = 0;
  int64_t offset = 0;      // position in the architecture-wise vector
  int64_t fanIn = 1;       // product of all but the first dimension (1 for vectors)
};

struct WeightLayout {
  std::vector<LayoutEntry> entries;  // floating-point tensors in state-dict order
  // Integer buffers (not tokenized) and where they stand: the state dict order of all
  // tensors is kept so that decoded weights list like the originals.
  struct IntegerBuffer {
    std::string name;
    std::vector<int64_t> shape;
    size_t before = 0;  // index into entries of the float tensor it precedes (entries.size() = at the end)
  };
  std::vector<IntegerBuffer> integerBuffers;
  int64_t numel = 0;
  int64_t numLayers = 0;

  // Roles inferred from names and shapes. Order is the given order.
  static WeightLayout fromShapes(const std::vector<std::pair<std::string, std::vector<int64_t>>>& tensors,
                                 std::vector<IntegerBuffer> integerBuffers = {});
  static WeightLayout fromStateDict(const StateDict& weights);

  // A stable text of names and shapes: two layouts with the same signature are the same.
  std::string signature() const;
};

// Flattens the layout's tensors of `weights` into one float32 vector (architecture-wise
// order). Throws Error(Mismatch) naming the tensor when a tensor is missing or its shape
// differs from the layout.
torch::Tensor flattenWeights(const StateDict& weights, const WeightLayout& layout);
// The inverse: a vector of layout.numel values back to named tensors (integer buffers zero).
StateDict unflattenWeights(const torch::Tensor& vector, const WeightLayout& layout);

}  // namespace igpg
