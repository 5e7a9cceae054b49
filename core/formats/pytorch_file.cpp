#include "formats/pytorch_file.h"

#include "common/error.h"
#include "common/files.h"
#include "formats/pytorch_pickle.h"

#include <caffe2/serialize/inline_container.h>
#include <torch/script.h>
#include <torch/torch.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>

namespace igpg {

namespace {

constexpr bool kHostLittleEndian = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__;

// LibTorch's messages may run over several lines; an error is one line.
std::string firstLine(const std::string& text) { return text.substr(0, text.find('\n')); }

// Runs a LibTorch call and turns whatever it throws into an Error naming the file.
template <typename F>
auto torchCall(const std::string& path, ErrorKind kind, const std::string& doing, F&& call) -> decltype(call()) {
  try {
    return call();
  } catch (const Error&) {
    throw;
  } catch (const c10::Error& e) {
    fail(kind, path, doing + ": " + firstLine(e.what_without_backtrace()));
  } catch (const std::bad_alloc&) {
    fail(kind, path, doing + ": a record claims more memory than can be allocated");
  } catch (const std::exception& e) {
    fail(kind, path, doing + ": " + firstLine(e.what()));
  }
}

// The reader keeps reading from the stream, so both live together.
struct Archive {
  std::ifstream file;
  std::unique_ptr<caffe2::serialize::PyTorchStreamReader> reader;
};

std::unique_ptr<Archive> openArchive(const std::string& path) {
  auto archive = std::make_unique<Archive>();
  archive->file = openForReading(path);
  archive->reader = torchCall(path, ErrorKind::Format, "not a readable PyTorch zip archive", [&] {
    return std::make_unique<caffe2::serialize::PyTorchStreamReader>(&archive->file);
  });
  return archive;
}

std::tuple<at::DataPtr, size_t> readRecord(Archive& archive, const std::string& path, const std::string& name) {
  return torchCall(path, ErrorKind::Format, "cannot read record " + name,
                   [&] { return archive.reader->getRecord(name); });
}

bool hasRecord(Archive& archive, const std::string& path, const std::string& name) {
  return torchCall(path, ErrorKind::Format, "cannot read the archive", [&] { return archive.reader->hasRecord(name); });
}

// Storage keys are record names under data/; torch.save numbers them.
bool plainRecordKey(const std::string& key) {
  return !key.empty() && key.size() <= 64 &&
         std::all_of(key.begin(), key.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

torch::Tensor loadStorageRecord(Archive& archive, const std::string& path, const std::string& key,
                                torch::ScalarType dtype, int64_t numel, bool swapBytes) {
  if (!plainRecordKey(key)) fail(ErrorKind::Format, path, "data.pkl names a storage key that is not a record name");
  const std::string name = "data/" + key;
  if (!hasRecord(archive, path, name))
    fail(ErrorKind::Format, path, "data.pkl refers to storage record " + name + ", which the archive lacks");
  auto [data, size] = readRecord(archive, path, name);
  const int64_t element = int64_t(c10::elementSize(dtype));
  int64_t expected = 0;
  if (__builtin_mul_overflow(numel, element, &expected) || uint64_t(expected) != size)
    fail(ErrorKind::Format, path,
         "storage record " + name + " holds " + std::to_string(size) + " bytes, but data.pkl describes " +
             std::to_string(numel) + " elements of " + c10::toString(dtype) + " (" +
             (expected > 0 || numel == 0 ? std::to_string(expected) : std::string("too many")) + " bytes)");
  if (numel == 0) return torch::empty({0}, torch::TensorOptions().dtype(dtype));
  auto* bytes = static_cast<uint8_t*>(data.get());
  if (swapBytes)
    for (int64_t i = 0; i < expected; i += element) std::reverse(bytes + i, bytes + i + element);
  // The tensor takes over the record's memory rather than copying it.
  auto owner = std::make_shared<at::DataPtr>(std::move(data));
  return torch::from_blob(
      bytes, {numel}, [owner](void*) mutable { owner.reset(); }, torch::TensorOptions().dtype(dtype));
}

void collectModule(const torch::jit::Module& module, const std::string& prefix, StateDict& out) {
  // Python's state_dict order: a module's parameters, its buffers, then its children.
  for (const auto& p : module.named_parameters(/*recurse=*/false)) out.add(prefix + p.name, p.value.detach());
  for (const auto& b : module.named_buffers(/*recurse=*/false)) out.add(prefix + b.name, b.value.detach());
  for (const auto& child : module.named_children()) collectModule(child.value, prefix + child.name + ".", out);
}

}  // namespace

std::vector<std::string> pytorchArchiveRecords(const std::string& path) {
  auto archive = openArchive(path);
  return torchCall(path, ErrorKind::Format, "cannot list the archive",
                   [&] { return archive->reader->getAllRecords(); });
}

bool isTorchScriptArchive(const std::vector<std::string>& records) {
  return std::any_of(records.begin(), records.end(),
                     [](const std::string& r) { return r == "constants.pkl" || r.rfind("code/", 0) == 0; });
}

StateDict loadPyTorchFile(const std::string& path) {
  auto archive = openArchive(path);
  if (!hasRecord(*archive, path, "data.pkl"))
    fail(ErrorKind::Format, path, "zip archive without data.pkl: not a state dict written by torch.save");
  // Archives from before the byteorder record (PyTorch < 1.13) were all little-endian.
  bool archiveLittleEndian = true;
  if (hasRecord(*archive, path, "byteorder")) {
    auto [data, size] = readRecord(*archive, path, "byteorder");
    const std::string order(static_cast<const char*>(data.get()), size);
    if (order != "little" && order != "big")
      fail(ErrorKind::Format, path, "byteorder record is neither little nor big");
    archiveLittleEndian = order == "little";
  }
  const bool swapBytes = archiveLittleEndian != kHostLittleEndian;
  auto [pickle, pickleSize] = readRecord(*archive, path, "data.pkl");
  const StorageLoader storages = [&](const std::string& key, torch::ScalarType dtype, int64_t numel) {
    return loadStorageRecord(*archive, path, key, dtype, numel, swapBytes);
  };
  return unpickleStateDict(static_cast<const uint8_t*>(pickle.get()), pickleSize, storages, path + ": data.pkl");
}

void writePyTorchArchive(const std::string& path, const std::vector<ArchiveRecord>& records) {
  TemporaryFile temporary(path);
  std::ofstream out(temporary.path(), std::ios::binary | std::ios::trunc);
  if (!out) fail(ErrorKind::Io, path, std::string("cannot create: ") + std::strerror(errno));
  torchCall(path, ErrorKind::Io, "cannot write the archive", [&] {
    // The stream reports its own failure afterwards: a callback reporting short writes
    // would make LibTorch throw from the writer's destructor.
    caffe2::serialize::PyTorchStreamWriter writer([&out](const void* data, size_t n) -> size_t {
      out.write(static_cast<const char*>(data), std::streamsize(n));
      return n;
    });
    static const char kEmpty = 0;
    for (const auto& r : records) writer.writeRecord(r.name, r.size ? r.data : &kEmpty, r.size);
    writer.writeEndOfFile();
  });
  out.close();
  if (!out) fail(ErrorKind::Io, path, std::string("write failed: ") + std::strerror(errno));
  temporary.commit();
}

void savePyTorchFile(const std::string& path, const StateDict& tensors) {
  const StateDictPickle pickled = pickleStateDict(tensors);
  const std::string byteorder = kHostLittleEndian ? "little" : "big";
  std::vector<std::string> names;
  for (size_t i = 0; i < pickled.storages.size(); ++i) names.push_back("data/" + std::to_string(i));
  // The records, and their order, of Python's torch.save.
  std::vector<ArchiveRecord> records = {{"data.pkl", pickled.pickle.data(), pickled.pickle.size()},
                                        {".format_version", "1", 1},
                                        {".storage_alignment", "64", 2},
                                        {"byteorder", byteorder.data(), byteorder.size()}};
  for (size_t i = 0; i < pickled.storages.size(); ++i) {
    const torch::Tensor& t = pickled.storages[i];
    records.push_back({names[i], t.data_ptr(), size_t(t.numel()) * t.element_size()});
  }
  writePyTorchArchive(path, records);
}

StateDict loadTorchScriptFile(const std::string& path) {
  openForReading(path);  // our NotFound and Io errors rather than LibTorch's wording
  const torch::jit::Module module = torchCall(path, ErrorKind::Format, "cannot load the TorchScript module",
                                              [&] { return torch::jit::load(path, torch::Device(torch::kCPU)); });
  StateDict out;
  try {
    collectModule(module, "", out);
  } catch (const Error& e) {
    rethrowWithContext(e, path);
  }
  return out;
}

}  // namespace igpg
