// Checkpoints of trained modules (tokenizer, prior): one safetensors file holding the
// module's tensors under "model.", optional training state (optimizer moments) under
// "training.", and JSON sections in the metadata (config, statistics, provenance), with
// a kind and a format version checked on load. Loading is data only: the caller builds
// the module from the config section and copies tensors in by name.
#pragma once

#include "formats/state_dict.h"

#include <nlohmann/json.hpp>
#include <torch/nn/module.h>

#include <map>
#include <string>

namespace igpg {

struct CheckpointWrite {
  std::string kind;  // e.g. "igpg-tokenizer"
  int version = 1;
  std::map<std::string, nlohmann::json> sections;
  nlohmann::json extra;             // free-form (training step, ...)
  const StateDict* training = nullptr;
};

void saveCheckpoint(const std::string& path, const torch::nn::Module& module, const CheckpointWrite& write);

class CheckpointRead {
 public:
  // Throws Error(Format) naming the file for another kind, another version or corruption.
  CheckpointRead(const std::string& path, const std::string& kind, int version);

  const nlohmann::json& section(const std::string& name) const;
  const nlohmann::json& extra() const { return extra_; }
  void loadModule(torch::nn::Module& module) const;
  StateDict training() const;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  StateDict state_;
  std::map<std::string, nlohmann::json> sections_;
  nlohmann::json extra_;
};

}  // namespace igpg
