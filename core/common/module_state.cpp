#include "common/module_state.h"

#include "common/error.h"

#include <torch/torch.h>

#include <set>
#include <sstream>

namespace igpg {

StateDict moduleState(const torch::nn::Module& module, const std::string& prefix) {
  StateDict out;
  for (const auto& p : module.named_parameters(/*recurse=*/true))
    out.add(prefix + p.key(), p.value().detach().to(torch::kCPU).clone());
  for (const auto& b : module.named_buffers(/*recurse=*/true))
    out.add(prefix + b.key(), b.value().detach().to(torch::kCPU).clone());
  return out;
}

void loadModuleState(torch::nn::Module& module, const StateDict& state, const std::string& source,
                     const std::string& prefix) {
  torch::NoGradGuard noGrad;
  std::set<std::string> expected;
  auto copyInto = [&](const std::string& name, torch::Tensor& target) {
    const std::string key = prefix + name;
    expected.insert(key);
    const torch::Tensor* t = state.find(key);
    if (!t) fail(ErrorKind::Format, source + ": tensor " + key, "missing from the checkpoint");
    if (t->sizes() != target.sizes()) {
      std::ostringstream s;
      s << "has shape " << t->sizes() << " but the model built from the checkpoint's config expects "
        << target.sizes();
      fail(ErrorKind::Format, source + ": tensor " + key, s.str());
    }
    target.copy_(t->to(target.device(), target.scalar_type()));
  };
  for (auto& p : module.named_parameters(true)) copyInto(p.key(), p.value());
  for (auto& b : module.named_buffers(true)) copyInto(b.key(), b.value());
  for (const auto& e : state.entries())
    if (e.name.compare(0, prefix.size(), prefix) == 0 && !expected.count(e.name))
      fail(ErrorKind::Format, source + ": tensor " + e.name, "is not part of the model its config describes");
}

}  // namespace igpg
