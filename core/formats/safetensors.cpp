#include "formats/safetensors.h"

#include "common/error.h"
#include "common/files.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <cstring>

namespace igpg {

namespace {

struct DtypeInfo {
  const char* name;
  torch::ScalarType type;
  int64_t size;
};

const DtypeInfo kDtypes[] = {
    {"F64", torch::kFloat64, 8}, {"F32", torch::kFloat32, 4}, {"F16", torch::kFloat16, 2},
    {"BF16", torch::kBFloat16, 2}, {"I64", torch::kInt64, 8}, {"I32", torch::kInt32, 4},
    {"I16", torch::kInt16, 2},  {"I8", torch::kInt8, 1},       {"U8", torch::kUInt8, 1},
    {"BOOL", torch::kBool, 1},
};

const DtypeInfo* dtypeByName(const std::string& name) {
  for (const auto& d : kDtypes)
    if (name == d.name) return &d;
  return nullptr;
}

const DtypeInfo& dtypeByType(torch::ScalarType type) {
  for (const auto& d : kDtypes)
    if (d.type == type) return d;
  fail(ErrorKind::Format, "", std::string("dtype ") + c10::toString(type) + " cannot be stored in safetensors");
}

struct Entry {
  std::string name;
  const DtypeInfo* dtype;
  std::vector<int64_t> shape;
  uint64_t begin, end;
};

uint64_t checkedMul(uint64_t a, uint64_t b, const std::string& where) {
  if (a != 0 && b > UINT64_MAX / a) fail(ErrorKind::Format, where, "shape overflows");
  return a * b;
}

}  // namespace

std::string safetensorsDtypeName(torch::ScalarType type) { return dtypeByType(type).name; }

StateDict decodeSafetensors(const uint8_t* data, size_t size, const std::string& source) {
  if (size < 8) fail(ErrorKind::Format, source, "not a safetensors file: shorter than its 8-byte header length");
  uint64_t headerLen = 0;
  for (int i = 7; i >= 0; --i) headerLen = (headerLen << 8) | data[i];
  if (headerLen > kSafetensorsMaxHeader)
    fail(ErrorKind::Format, source, "header length " + std::to_string(headerLen) + " exceeds the 100 MiB limit");
  if (headerLen > size - 8)
    fail(ErrorKind::Format, source, "truncated: header claims " + std::to_string(headerLen) + " bytes, file has " +
                                        std::to_string(size - 8) + " after the length");
  const char* headerText = reinterpret_cast<const char*>(data + 8);
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(headerText, headerText + headerLen);
  } catch (const nlohmann::json::exception& e) {
    fail(ErrorKind::Format, source, std::string("header is not valid JSON: ") + e.what());
  }
  if (!header.is_object()) fail(ErrorKind::Format, source, "header is not a JSON object");

  const uint8_t* buffer = data + 8 + headerLen;
  const uint64_t bufferSize = size - 8 - headerLen;
  StateDict out;
  std::vector<Entry> entries;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    const auto& v = it.value();
    if (name == "__metadata__") {
      if (!v.is_object()) fail(ErrorKind::Format, source, "__metadata__ is not an object");
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string())
          fail(ErrorKind::Format, source, "__metadata__." + m.key() + " is not a string");
        out.metadata[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    const std::string where = source + ": tensor " + name;
    if (!v.is_object()) fail(ErrorKind::Format, where, "entry is not an object");
    if (!v.contains("dtype") || !v["dtype"].is_string()) fail(ErrorKind::Format, where, "missing dtype");
    if (!v.contains("shape") || !v["shape"].is_array()) fail(ErrorKind::Format, where, "missing shape");
    if (!v.contains("data_offsets") || !v["data_offsets"].is_array() || v["data_offsets"].size() != 2)
      fail(ErrorKind::Format, where, "data_offsets must be [begin, end]");
    Entry e;
    e.name = name;
    e.dtype = dtypeByName(v["dtype"].get<std::string>());
    if (!e.dtype) fail(ErrorKind::Format, where, "unsupported dtype " + v["dtype"].get<std::string>());
    uint64_t count = 1;
    for (const auto& d : v["shape"]) {
      if (!d.is_number_unsigned()) fail(ErrorKind::Format, where, "shape has a non-integer or negative dimension");
      const uint64_t dim = d.get<uint64_t>();
      if (dim > uint64_t(INT64_MAX)) fail(ErrorKind::Format, where, "shape dimension too large");
      e.shape.push_back(int64_t(dim));
      count = checkedMul(count, dim, where);
    }
    for (const auto& o : v["data_offsets"])
      if (!o.is_number_unsigned()) fail(ErrorKind::Format, where, "data_offsets must be non-negative integers");
    e.begin = v["data_offsets"][0].get<uint64_t>();
    e.end = v["data_offsets"][1].get<uint64_t>();
    if (e.begin > e.end) fail(ErrorKind::Format, where, "data_offsets begin after they end");
    if (e.end > bufferSize)
      fail(ErrorKind::Format, where, "data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) +
                                         ") point past the end of the data (" + std::to_string(bufferSize) + " bytes)");
    const uint64_t bytes = checkedMul(count, uint64_t(e.dtype->size), where);
    if (bytes != e.end - e.begin)
      fail(ErrorKind::Format, where, "shape x dtype is " + std::to_string(bytes) + " bytes but data_offsets span " +
                                         std::to_string(e.end - e.begin));
    entries.push_back(std::move(e));
  }
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t cursor = 0;
  for (const auto& e : entries) {
    if (e.begin < cursor) fail(ErrorKind::Format, source + ": tensor " + e.name, "data overlaps another tensor");
    if (e.begin > cursor) fail(ErrorKind::Format, source + ": tensor " + e.name, "data buffer has a hole before it");
    cursor = e.end;
  }
  if (cursor != bufferSize)
    fail(ErrorKind::Format, source, std::to_string(bufferSize - cursor) + " bytes of data belong to no tensor");

  for (const auto& e : entries) {
    auto t = torch::empty(e.shape, torch::TensorOptions().dtype(e.dtype->type));
    if (e.end > e.begin) std::memcpy(t.data_ptr(), buffer + e.begin, e.end - e.begin);
    out.add(e.name, t);
  }
  return out;
}

StateDict loadSafetensors(const std::string& path) {
  const auto bytes = readFileBytes(path);
  return decodeSafetensors(bytes.data(), bytes.size(), path);
}

std::vector<uint8_t> encodeSafetensors(const StateDict& tensors) {
  nlohmann::json header = nlohmann::json::object();
  std::vector<torch::Tensor> data;
  uint64_t offset = 0;
  for (const auto& e : tensors.entries()) {
    const DtypeInfo* d = nullptr;
    try {
      d = &dtypeByType(e.tensor.scalar_type());
    } catch (const Error& err) {
      rethrowWithContext(err, "tensor " + e.name);
    }
    auto t = e.tensor.detach().to(torch::kCPU).contiguous();
    const uint64_t bytes = uint64_t(t.numel()) * uint64_t(d->size);
    header[e.name] = {{"dtype", d->name}, {"shape", t.sizes().vec()}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    data.push_back(t);
  }
  if (!tensors.metadata.empty()) header["__metadata__"] = tensors.metadata;
  std::string text = header.dump();
  // Pad with spaces so the data buffer starts 8-byte aligned, as the reference writer does.
  while ((text.size() + 8) % 8 != 0) text.push_back(' ');
  std::vector<uint8_t> out(8 + text.size() + offset);
  const uint64_t n = text.size();
  for (int i = 0; i < 8; ++i) out[size_t(i)] = uint8_t(n >> (8 * i));
  std::memcpy(out.data() + 8, text.data(), text.size());
  uint8_t* cursor = out.data() + 8 + text.size();
  for (const auto& t : data) {
    const size_t bytes = size_t(t.numel()) * t.element_size();
    if (bytes) std::memcpy(cursor, t.data_ptr(), bytes);
    cursor += bytes;
  }
  return out;
}

void saveSafetensors(const std::string& path, const StateDict& tensors) {
  const auto bytes = encodeSafetensors(tensors);
  writeFileAtomic(path, bytes.data(), bytes.size());
}

}  // namespace igpg
