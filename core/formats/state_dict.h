// An ordered set of named tensors: what every weight file holds and what every
// architecture lays out. Order matters (architecture-wise vectorization concatenates
// in layout order), so this is a vector with a name index, not a map.
#pragma once

#include <torch/types.h>

#include <map>
#include <string>
#include <unordered_map>
#include <vector>

namespace igpg {

struct NamedTensor {
  std::string name;
  torch::Tensor tensor;
};

class StateDict {
 public:
  // Throws Error(Format) on a duplicate name.
  void add(const std::string& name, torch::Tensor tensor);
  // Replaces an existing entry's tensor, or adds it.
  void set(const std::string& name, torch::Tensor tensor);

  const std::vector<NamedTensor>& entries() const { return entries_; }
  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  bool contains(const std::string& name) const { return index_.count(name) > 0; }
  const torch::Tensor* find(const std::string& name) const;
  // Throws Error(NotFound) naming the tensor.
  const torch::Tensor& at(const std::string& name) const;

  int64_t numel() const;  // all elements of all tensors

  // Free-form string metadata (safetensors' __metadata__, provenance).
  std::map<std::string, std::string> metadata;

 private:
  std::vector<NamedTensor> entries_;
  std::unordered_map<std::string, size_t> index_;
};

}  // namespace igpg
