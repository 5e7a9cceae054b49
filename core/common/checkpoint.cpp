#include "common/checkpoint.h"

#include "common/error.h"
#include "common/module_state.h"
#include "formats/safetensors.h"

namespace igpg {

namespace {
constexpr const char* kSectionPrefix = "section.";
}

void saveCheckpoint(const std::string& path, const torch::nn::Module& module, const CheckpointWrite& write) {
  StateDict state = moduleState(module, "model.");
  if (write.training)
    for (const auto& e : write.training->entries()) state.add("training." + e.name, e.tensor);
  state.metadata["format"] = write.kind;
  state.metadata["format_version"] = std::to_string(write.version);
  for (const auto& [name, value] : write.sections) state.metadata[kSectionPrefix + name] = value.dump();
  if (!write.extra.is_null()) state.metadata["extra"] = write.extra.dump();
  saveSafetensors(path, state);
}

CheckpointRead::CheckpointRead(const std::string& path, const std::string& kind, int version)
    : path_(path), state_(loadSafetensors(path)) {
  auto it = state_.metadata.find("format");
  if (it == state_.metadata.end() || it->second != kind)
    fail(ErrorKind::Format, path, "not a " + kind + " checkpoint" +
                                      (it == state_.metadata.end() ? "" : " (it is a " + it->second + ")"));
  auto v = state_.metadata.find("format_version");
  if (v == state_.metadata.end() || v->second != std::to_string(version))
    fail(ErrorKind::Format, path,
         "checkpoint format version " + (v == state_.metadata.end() ? std::string("?") : v->second) +
             ", this igpg reads version " + std::to_string(version) + "; retrain it");
  try {
    for (const auto& [key, value] : state_.metadata) {
      if (key.rfind(kSectionPrefix, 0) == 0) sections_[key.substr(8)] = nlohmann::json::parse(value);
      if (key == "extra") extra_ = nlohmann::json::parse(value);
    }
  } catch (const nlohmann::json::exception& e) {
    fail(ErrorKind::Format, path, std::string("corrupted metadata: ") + e.what());
  }
  if (extra_.is_null()) extra_ = nlohmann::json::object();
}

const nlohmann::json& CheckpointRead::section(const std::string& name) const {
  auto it = sections_.find(name);
  if (it == sections_.end()) fail(ErrorKind::Format, path_, "checkpoint has no '" + name + "' section");
  return it->second;
}

void CheckpointRead::loadModule(torch::nn::Module& module) const { loadModuleState(module, state_, path_, "model."); }

StateDict CheckpointRead::training() const {
  StateDict out;
  for (const auto& e : state_.entries())
    if (e.name.rfind("training.", 0) == 0) out.add(e.name.substr(9), e.tensor);
  return out;
}

}  // namespace igpg
