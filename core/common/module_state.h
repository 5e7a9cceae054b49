// Module parameters and buffers to and from a StateDict, for checkpoints stored as
// safetensors: loading copies tensors by name into a module built from its config, so a
// checkpoint is data only, never code.
#pragma once

#include "formats/state_dict.h"

#include <torch/nn/module.h>

#include <string>

namespace igpg {

StateDict moduleState(const torch::nn::Module& module, const std::string& prefix = "");

// Every parameter and buffer of `module` must be present in `state` (under `prefix`) with
// the same shape; extra entries under the prefix are an error too. `source` names the file.
void loadModuleState(torch::nn::Module& module, const StateDict& state, const std::string& source,
                     const std::string& prefix = "");

}  // namespace igpg
