#include "formats/weights_file.h"

#include "common/error.h"
#include "common/files.h"
#include "formats/pytorch_file.h"
#include "formats/safetensors.h"

#include <cstring>
#include <filesystem>

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
  std::ifstream in = openForReading(path);
  unsigned char head[9] = {0};
  in.read(reinterpret_cast<char*>(head), sizeof head);
  const auto got = in.gcount();
  // safetensors first: its header length may begin like another format (a 640-byte
  // header starts 80 02, as a protocol-2 pickle does), while neither a zip's local header
  // nor torch's legacy pickle (its magic number) has a '{' at byte 8.
  if (got >= 9 && head[8] == '{') return WeightsFormat::Safetensors;
  if (got >= 4 && std::memcmp(head, "PK\x03\x04", 4) == 0)
    return isTorchScriptArchive(pytorchArchiveRecords(path)) ? WeightsFormat::TorchScript : WeightsFormat::PyTorchZip;
  if (got >= 2 && head[0] == 0x80 && head[1] >= 2 && head[1] <= 5) return WeightsFormat::LegacyPickle;
  return WeightsFormat::Unknown;
}

StateDict loadWeightsFile(const std::string& path) {
  switch (detectWeightsFormat(path)) {
    case WeightsFormat::Safetensors: return loadSafetensors(path);
    case WeightsFormat::PyTorchZip: return loadPyTorchFile(path);
    case WeightsFormat::TorchScript: return loadTorchScriptFile(path);
    case WeightsFormat::LegacyPickle:
      fail(ErrorKind::Format, path,
           "a bare pickle (PyTorch's format before 1.6, or torch.save with _use_new_zipfile_serialization=False), "
           "which cannot be read without running it; re-save it with torch.save in PyTorch >= 1.6 (default "
           "settings), or export it to .safetensors");
    case WeightsFormat::Unknown: break;
  }
  std::error_code ec;
  fail(ErrorKind::Format, path,
       std::filesystem::file_size(path, ec) == 0 ? "empty file"
                                                 : "not a safetensors, PyTorch (.pt/.pth) or TorchScript file");
}

void saveWeightsFile(const std::string& path, const StateDict& tensors) {
  const std::string ext = fileExtensionLower(path);
  if (ext == ".safetensors") return saveSafetensors(path, tensors);
  if (ext == ".pt" || ext == ".pth") return savePyTorchFile(path, tensors);
  fail(ErrorKind::Usage, path, "unknown weight file extension '" + ext + "' (use .safetensors, .pt or .pth)");
}

}  // namespace igpg
