#include "formats/weights_file.h"

#include "common/error.h"
#include "common/files.h"
#include "formats/safetensors.h"

#include <fstream>

namespace igpg {

const char* weightsFormatName(WeightsFormat format) {
  switch (format) {
    case WeightsFormat::Safetensors: return "safetensors";
    case WeightsFormat::PyTorchZip: return "pytorch";
    case WeightsFormat::TorchScript: return "torchscript";
    case WeightsFormat::LegacyPickle: return "legacy-pickle";
    case WeightsFormat::Unknown: return "unknown";
  }
  return "unknown";
}

WeightsFormat detectWeightsFormat(const std::string& path) {
  if (!fileExists(path)) fail(ErrorKind::NotFound, path, "no such file");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(ErrorKind::Io, path, "cannot open for reading");
  unsigned char head[9] = {0};
  in.read(reinterpret_cast<char*>(head), sizeof head);
  const auto got = in.gcount();
  if (got >= 2 && head[0] == 'P' && head[1] == 'K') return WeightsFormat::PyTorchZip;
  if (got >= 2 && head[0] == 0x80 && head[1] <= 5) return WeightsFormat::LegacyPickle;
  if (got >= 9 && head[8] == '{') return WeightsFormat::Safetensors;
  return WeightsFormat::Unknown;
}

StateDict loadWeightsFile(const std::string& path) {
  switch (detectWeightsFormat(path)) {
    case WeightsFormat::Safetensors: return loadSafetensors(path);
    default: fail(ErrorKind::Format, path, "not a safetensors, PyTorch or TorchScript file");
  }
}

void saveWeightsFile(const std::string& path, const StateDict& tensors) {
  const std::string ext = fileExtensionLower(path);
  if (ext == ".safetensors") return saveSafetensors(path, tensors);
  fail(ErrorKind::Usage, path, "unknown weight file extension '" + ext + "' (use .safetensors, .pt or .pth)");
}

}  // namespace igpg
