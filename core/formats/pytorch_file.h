// PyTorch zip archives: state dicts written by Python's torch.save (PyTorch >= 1.6) and
// TorchScript modules written by torch.jit.save / torch::jit::Module::save. The zip is
// read and written with LibTorch's caffe2::serialize stream reader and writer; their
// errors become igpg::Error naming the file.
#pragma once

#include "formats/state_dict.h"

#include <string>
#include <vector>

namespace igpg {

// The archive's record names without its top folder ("data.pkl", "data/0", "code/...").
std::vector<std::string> pytorchArchiveRecords(const std::string& path);

// TorchScript archives carry code (code/, constants.pkl); torch.save archives do not.
bool isTorchScriptArchive(const std::vector<std::string>& records);

// A torch.save state dict, read through the restricted unpickler (pytorch_pickle.h):
// nothing in the file is executed, anything but tensors in a dict is refused.
StateDict loadPyTorchFile(const std::string& path);

struct ArchiveRecord {
  std::string name;  // without the top folder: "data.pkl", "data/0"
  const void* data;
  size_t size;
};

// Writes a zip archive as torch.save does: records under "archive/", their data 64-byte
// aligned, LibTorch's version record at the end. Atomic: temp file + rename.
void writePyTorchArchive(const std::string& path, const std::vector<ArchiveRecord>& records);

// Writes what torch.save(state_dict) writes, so that Python's
// torch.load(path, weights_only=True) reads it. Atomic: temp file + rename.
// StateDict::metadata is not stored (torch.save state dicts have no place for it).
void savePyTorchFile(const std::string& path, const StateDict& tensors);

// A TorchScript module's parameters and buffers, named and ordered as Python's
// module.state_dict() names them. Unlike loadPyTorchFile this is not code-free:
// torch::jit::load compiles the archive's TorchScript code and runs any __setstate__
// methods in LibTorch's interpreter (never Python), so a TorchScript file deserves the
// trust a program does.
StateDict loadTorchScriptFile(const std::string& path);

}  // namespace igpg
