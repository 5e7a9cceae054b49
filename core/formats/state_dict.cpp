#include "formats/state_dict.h"

#include "common/error.h"

namespace igpg {

void StateDict::add(const std::string& name, torch::Tensor tensor) {
  if (index_.count(name)) fail(ErrorKind::Format, "tensor " + name, "appears twice");
  index_[name] = entries_.size();
  entries_.push_back({name, std::move(tensor)});
}

void StateDict::set(const std::string& name, torch::Tensor tensor) {
  auto it = index_.find(name);
  if (it == index_.end()) add(name, std::move(tensor));
  else entries_[it->second].tensor = std::move(tensor);
}

const torch::Tensor* StateDict::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &entries_[it->second].tensor;
}

const torch::Tensor& StateDict::at(const std::string& name) const {
  const torch::Tensor* t = find(name);
  if (!t) fail(ErrorKind::NotFound, "tensor " + name, "not in the state dict");
  return *t;
}

int64_t StateDict::numel() const {
  int64_t n = 0;
  for (const auto& e : entries_) n += e.tensor.numel();
  return n;
}

}  // namespace igpg
