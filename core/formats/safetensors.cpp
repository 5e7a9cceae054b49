#include "formats/safetensors.h"

#include "common/error.h"
#include "common/files.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>

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

// The validated table of contents: entries in data order, covering the buffer exactly.
struct Layout {
  std::vector<Entry> entries;
  std::map<std::string, std::string> metadata;
};

// Reads the little-endian header length and checks it against the limit and the file.
uint64_t headerLength(const uint8_t* first8, uint64_t fileSize, const std::string& source) {
  if (fileSize < 8) fail(ErrorKind::Format, source, "not a safetensors file: shorter than its 8-byte header length");
  uint64_t headerLen = 0;
  for (int i = 7; i >= 0; --i) headerLen = (headerLen << 8) | first8[i];
  if (headerLen > kSafetensorsMaxHeader)
    fail(ErrorKind::Format, source,
         "header length " + std::to_string(headerLen) + " exceeds the limit of " +
             std::to_string(kSafetensorsMaxHeader) + " bytes");
  if (headerLen > fileSize - 8)
    fail(ErrorKind::Format, source, "truncated: header claims " + std::to_string(headerLen) + " bytes, file has " +
                                        std::to_string(fileSize - 8) + " after the length");
  return headerLen;
}

Layout parseHeader(const char* headerText, uint64_t headerLen, uint64_t bufferSize, const std::string& source) {
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(headerText, headerText + headerLen);
  } catch (const nlohmann::json::exception& e) {
    fail(ErrorKind::Format, source, std::string("header is not valid JSON: ") + e.what());
  }
  if (!header.is_object()) fail(ErrorKind::Format, source, "header is not a JSON object");

  Layout layout;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    const auto& v = it.value();
    if (name == "__metadata__") {
      if (!v.is_object()) fail(ErrorKind::Format, source, "__metadata__ is not an object");
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string())
          fail(ErrorKind::Format, source, "__metadata__." + m.key() + " is not a string");
        layout.metadata[m.key()] = m.value().get<std::string>();
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
    layout.entries.push_back(std::move(e));
  }
  // The header (a JSON object) keeps no order, the data does: the reference writer sorts
  // tensors by dtype and name, saveSafetensors keeps the state dict's order.
  std::sort(layout.entries.begin(), layout.entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t cursor = 0;
  for (const auto& e : layout.entries) {
    if (e.begin < cursor) fail(ErrorKind::Format, source + ": tensor " + e.name, "data overlaps another tensor");
    if (e.begin > cursor) fail(ErrorKind::Format, source + ": tensor " + e.name, "data buffer has a hole before it");
    cursor = e.end;
  }
  if (cursor != bufferSize)
    fail(ErrorKind::Format, source, std::to_string(bufferSize - cursor) + " bytes of data belong to no tensor");
  return layout;
}

// One tensor per entry, filled by `read(tensorData, begin, bytes)` in data order.
template <typename Read>
StateDict materialize(const Layout& layout, Read&& read) {
  StateDict out;
  out.metadata = layout.metadata;
  for (const auto& e : layout.entries) {
    auto t = torch::empty(e.shape, torch::TensorOptions().dtype(e.dtype->type));
    if (e.end > e.begin) read(t.data_ptr(), e.begin, e.end - e.begin);
    out.add(e.name, t);
  }
  return out;
}

// The length-prefixed header and the tensors (contiguous, CPU) whose data follows it.
struct Encoded {
  std::string header;
  std::vector<torch::Tensor> data;
};

size_t byteSize(const torch::Tensor& t) { return size_t(t.numel()) * t.element_size(); }

Encoded encode(const StateDict& tensors) {
  nlohmann::json header = nlohmann::json::object();
  Encoded out;
  uint64_t offset = 0;
  for (const auto& e : tensors.entries()) {
    if (e.name == "__metadata__") fail(ErrorKind::Format, "tensor " + e.name, "the name is reserved by safetensors");
    const DtypeInfo* d = nullptr;
    try {
      d = &dtypeByType(e.tensor.scalar_type());
    } catch (const Error& err) {
      rethrowWithContext(err, "tensor " + e.name);
    }
    auto t = e.tensor.detach().to(torch::kCPU).contiguous();
    const uint64_t bytes = byteSize(t);
    header[e.name] = {{"dtype", d->name}, {"shape", t.sizes().vec()}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    out.data.push_back(t);
  }
  if (!tensors.metadata.empty()) header["__metadata__"] = tensors.metadata;
  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::json::exception& e) {
    fail(ErrorKind::Format, "", std::string("tensor names and metadata must be UTF-8: ") + e.what());
  }
  // Pad with spaces so the data buffer starts 8-byte aligned, as the reference writer does.
  while ((text.size() + 8) % 8 != 0) text.push_back(' ');
  const uint64_t n = text.size();
  for (int i = 0; i < 8; ++i) out.header.push_back(char(uint8_t(n >> (8 * i))));
  out.header += text;
  return out;
}

}  // namespace

std::string safetensorsDtypeName(torch::ScalarType type) { return dtypeByType(type).name; }

StateDict decodeSafetensors(const uint8_t* data, size_t size, const std::string& source) {
  const uint64_t headerLen = headerLength(data, size, source);
  const uint8_t* buffer = data + 8 + headerLen;
  const Layout layout = parseHeader(reinterpret_cast<const char*>(data + 8), headerLen, size - 8 - headerLen, source);
  return materialize(layout,
                     [&](void* dst, uint64_t begin, uint64_t bytes) { std::memcpy(dst, buffer + begin, bytes); });
}

StateDict loadSafetensors(const std::string& path) {
  std::ifstream in = openForReading(path);
  in.seekg(0, std::ios::end);
  const uint64_t fileSize = uint64_t(in.tellg());
  in.seekg(0, std::ios::beg);
  uint8_t first8[8] = {0};
  in.read(reinterpret_cast<char*>(first8), std::streamsize(std::min<uint64_t>(8, fileSize)));
  const uint64_t headerLen = headerLength(first8, fileSize, path);
  const auto readExactly = [&](void* dst, uint64_t bytes) {
    if (!in.read(static_cast<char*>(dst), std::streamsize(bytes)))
      fail(ErrorKind::Io, path, std::string("read failed: ") + std::strerror(errno));
  };
  std::string header(size_t(headerLen), ' ');
  readExactly(header.data(), headerLen);
  const Layout layout = parseHeader(header.data(), headerLen, fileSize - 8 - headerLen, path);
  // The entries cover the data buffer in order and without holes: the reads are sequential.
  return materialize(layout, [&](void* dst, uint64_t, uint64_t bytes) { readExactly(dst, bytes); });
}

std::vector<uint8_t> encodeSafetensors(const StateDict& tensors) {
  const Encoded encoded = encode(tensors);
  size_t total = encoded.header.size();
  for (const auto& t : encoded.data) total += byteSize(t);
  std::vector<uint8_t> out;
  out.reserve(total);
  out.insert(out.end(), encoded.header.begin(), encoded.header.end());
  for (const auto& t : encoded.data) {
    const auto* p = static_cast<const uint8_t*>(t.data_ptr());
    out.insert(out.end(), p, p + byteSize(t));
  }
  return out;
}

void saveSafetensors(const std::string& path, const StateDict& tensors) {
  const Encoded encoded = encode(tensors);
  TemporaryFile temporary(path);
  std::ofstream out(temporary.path(), std::ios::binary | std::ios::trunc);
  if (!out) fail(ErrorKind::Io, path, std::string("cannot create: ") + std::strerror(errno));
  out.write(encoded.header.data(), std::streamsize(encoded.header.size()));
  for (const auto& t : encoded.data) out.write(static_cast<const char*>(t.data_ptr()), std::streamsize(byteSize(t)));
  out.close();
  if (!out) fail(ErrorKind::Io, path, std::string("write failed: ") + std::strerror(errno));
  temporary.commit();
}

}  // namespace igpg
