// One entry point for every weight file the project reads or writes. The format is
// chosen by content (safetensors header, zip archive, legacy pickle) rather than by
// extension alone, so a misnamed file still gets a precise error.
#pragma once

#include "formats/state_dict.h"

#include <string>

namespace igpg {

enum class WeightsFormat { Safetensors, PyTorchZip, TorchScript, LegacyPickle, Unknown };

const char* weightsFormatName(WeightsFormat format);

// Looks at the first bytes (and, for zip archives, the records inside).
WeightsFormat detectWeightsFormat(const std::string& path);

// Reads safetensors, PyTorch .pt/.pth state dicts (zip format, restricted unpickler) and
// TorchScript modules (named parameters and buffers). Throws igpg::Error naming the file.
StateDict loadWeightsFile(const std::string& path);

// Writes by extension: .safetensors, or .pt/.pth (a zip that Python's
// torch.load(path, weights_only=True) accepts). Atomic: temp file + rename.
void saveWeightsFile(const std::string& path, const StateDict& tensors);

}  // namespace igpg
