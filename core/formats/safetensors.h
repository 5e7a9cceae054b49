// safetensors (https://github.com/huggingface/safetensors) reading and writing.
// Everything in a file is validated before a byte of tensor data is trusted: header
// length bound, well-formed JSON, known dtypes, every offset inside the data buffer,
// no overlaps or holes, shape x dtype size == byte length.
#pragma once

#include "formats/state_dict.h"

#include <cstdint>
#include <string>
#include <vector>

namespace igpg {

// Largest JSON header accepted, the reference implementation's MAX_HEADER_SIZE.
constexpr uint64_t kSafetensorsMaxHeader = 100'000'000;

// Tensors come in the order of their data in the file; `source` names it in errors.
StateDict decodeSafetensors(const uint8_t* data, size_t size, const std::string& source);
// Reads the header, validates it, then reads each tensor straight into its memory.
StateDict loadSafetensors(const std::string& path);

// Tensors are written contiguous, on the CPU, in the state dict's order; metadata goes
// to __metadata__. Supported dtypes: F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL.
std::vector<uint8_t> encodeSafetensors(const StateDict& tensors);
void saveSafetensors(const std::string& path, const StateDict& tensors);  // atomic

// "F32" etc.; throws Error(Format) for dtypes safetensors cannot hold.
std::string safetensorsDtypeName(torch::ScalarType type);

}  // namespace igpg
