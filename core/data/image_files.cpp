#include "data/image_files.h"

#include "common/error.h"
#include "common/files.h"

#include <torch/torch.h>
#include <zlib.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace igpg {

namespace {

bool isGzip(const std::vector<uint8_t>& bytes) { return bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b; }

class Inflater {
 public:
  explicit Inflater(const std::string& path) : path_(path) {
    if (inflateInit2(&stream_, 15 + 16) != Z_OK)  // 15-bit window, gzip wrapper
      fail(ErrorKind::Internal, path, "zlib could not start");
  }
  ~Inflater() { inflateEnd(&stream_); }
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;

  std::vector<uint8_t> run(const std::vector<uint8_t>& in, uint64_t maxBytes) {
    // A gzip member ends with its uncompressed size mod 2^32: a good first guess, but only
    // a guess (a cut file ends with anything), so never beyond deflate's best ratio (~1032:1).
    uint64_t guess = 0;
    for (int i = 0; i < 4; ++i) guess |= uint64_t(in[in.size() - 4 + size_t(i)]) << (8 * i);
    guess = std::min({std::max<uint64_t>(guess, 1024), uint64_t(in.size()) * 1032, maxBytes});
    std::vector<uint8_t> out(static_cast<size_t>(guess));
    uint64_t produced = 0;
    size_t consumed = 0;
    for (;;) {
      if (stream_.avail_in == 0 && consumed < in.size()) {
        const size_t chunk = std::min<size_t>(in.size() - consumed, size_t(1) << 30);
        stream_.next_in = const_cast<Bytef*>(in.data() + consumed);
        stream_.avail_in = uInt(chunk);
        consumed += chunk;
      }
      if (produced == out.size()) {
        if (out.size() >= maxBytes)
          fail(ErrorKind::Format, path_, "inflates to more than " + std::to_string(maxBytes) + " bytes; refused");
        out.resize(size_t(std::min<uint64_t>(uint64_t(out.size()) * 2, maxBytes)));
      }
      const size_t room = std::min<size_t>(out.size() - size_t(produced), size_t(1) << 30);
      stream_.next_out = out.data() + produced;
      stream_.avail_out = uInt(room);
      const int rc = inflate(&stream_, Z_NO_FLUSH);
      produced += room - stream_.avail_out;
      const size_t unread = stream_.avail_in + (in.size() - consumed);
      if (rc == Z_STREAM_END) {
        if (unread == 0) break;
        const size_t next = in.size() - unread;
        if (unread >= 2 && in[next] == 0x1f && in[next + 1] == 0x8b) {  // another member
          inflateReset(&stream_);
          continue;
        }
        if (std::all_of(in.begin() + long(next), in.end(), [](uint8_t b) { return b == 0; })) break;  // padding
        fail(ErrorKind::Format, path_, std::to_string(unread) + " bytes of garbage after the gzip data");
      }
      if (rc == Z_BUF_ERROR && unread == 0)
        fail(ErrorKind::Format, path_, "truncated gzip data (the stream ends early)");
      if (rc != Z_OK && rc != Z_BUF_ERROR)
        fail(ErrorKind::Format, path_, std::string("corrupt gzip data: ") + (stream_.msg ? stream_.msg : zError(rc)));
    }
    out.resize(size_t(produced));
    return out;
  }

 private:
  std::string path_;
  z_stream stream_{};
};

uint32_t bigEndian32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

const char* idxTypeName(uint8_t type) {
  switch (type) {
    case 0x08:
      return "0x08 (unsigned byte)";
    case 0x09:
      return "0x09 (signed byte)";
    case 0x0B:
      return "0x0B (int16)";
    case 0x0C:
      return "0x0C (int32)";
    case 0x0D:
      return "0x0D (float32)";
    case 0x0E:
      return "0x0E (float64)";
    default:
      return "(unknown)";
  }
}

// Checks an IDX file's header and size; returns its dimensions. The data follow the header.
std::vector<int64_t> checkIdx(const std::vector<uint8_t>& bytes, const std::string& path, size_t wantDims,
                              const char* layout) {
  char magic[16];
  if (bytes.size() < 4)
    fail(ErrorKind::Format, path, "too short for an IDX file (" + std::to_string(bytes.size()) + " bytes)");
  std::snprintf(magic, sizeof magic, "0x%08X", bigEndian32(bytes.data()));
  if (bytes[0] != 0 || bytes[1] != 0)
    fail(ErrorKind::Format, path,
         std::string("not an IDX file: magic ") + magic + " (IDX files start with two zero bytes)");
  if (bytes[2] != 0x08)
    fail(ErrorKind::Format, path,
         std::string("magic ") + magic + ": IDX element type " + idxTypeName(bytes[2]) +
             " is not supported; images and labels are unsigned bytes (type 0x08)");
  const size_t dims = bytes[3];
  if (dims != wantDims)
    fail(ErrorKind::Format, path,
         std::string("magic ") + magic + ": " + std::to_string(dims) + " dimension(s), expected " +
             std::to_string(wantDims) + " " + layout);
  const size_t headerSize = 4 + 4 * dims;
  if (bytes.size() < headerSize)
    fail(ErrorKind::Format, path,
         "truncated IDX header: " + std::to_string(bytes.size()) + " bytes, the " + std::to_string(dims) +
             " sizes need " + std::to_string(headerSize));
  std::vector<int64_t> sizes;
  uint64_t elements = 1;
  for (size_t d = 0; d < dims; ++d) {
    const uint32_t n = bigEndian32(bytes.data() + 4 + 4 * d);
    if (n == 0) fail(ErrorKind::Format, path, "dimension " + std::to_string(d) + " has size 0");
    if (d > 0 && n > 4096)
      fail(ErrorKind::Format, path,
           "dimension " + std::to_string(d) + " has size " + std::to_string(n) + " (more than 4096)");
    sizes.push_back(int64_t(n));
    elements *= n;  // at most 2^32 * 4096^2: fits in 64 bits
  }
  const uint64_t present = bytes.size() - headerSize;
  if (present < elements)
    fail(ErrorKind::Format, path,
         "truncated: the header promises " + std::to_string(elements) + " bytes of data " + layout +
             ", the file holds " + std::to_string(present));
  if (present > elements)
    fail(ErrorKind::Format, path,
         std::to_string(present - elements) + " unexpected bytes after the " + std::to_string(elements) +
             " bytes of data the header promises");
  return sizes;
}

// Numbers in CSV cells: a fast path for plain decimals, strtod for the rest.
enum class CellValue { Ok, NotANumber };

CellValue parseCell(const char* begin, const char* end, double& value) {
  while (begin < end && (*begin == ' ' || *begin == '\t')) ++begin;
  while (end > begin && (end[-1] == ' ' || end[-1] == '\t')) --end;
  if (begin == end) return CellValue::NotANumber;
  const char* p = begin;
  const bool negative = *p == '-';
  if (negative) ++p;
  int64_t whole = 0;
  const char* digits = p;
  while (p < end && *p >= '0' && *p <= '9' && p - digits < 15) whole = whole * 10 + (*p++ - '0');
  bool plain = p > digits;
  if (plain && p < end && *p == '.') {
    ++p;
    while (p < end && *p == '0') ++p;  // "3.0" and "3.": the integer 3
  }
  if (plain && p == end) {
    value = negative ? -double(whole) : double(whole);
    return CellValue::Ok;
  }
  const std::string copy(begin, end);
  char* stop = nullptr;
  value = std::strtod(copy.c_str(), &stop);
  return stop == copy.c_str() + copy.size() && std::isfinite(value) ? CellValue::Ok : CellValue::NotANumber;
}

}  // namespace

std::vector<uint8_t> readMaybeGzip(const std::string& path, uint64_t maxBytes) {
  std::vector<uint8_t> bytes = readFileBytes(path);
  if (!isGzip(bytes)) return bytes;
  if (bytes.size() < 18)
    fail(ErrorKind::Format, path, "truncated gzip data (" + std::to_string(bytes.size()) + " bytes)");
  return Inflater(path).run(bytes, maxBytes);
}

torch::Tensor readIdxImages(const std::string& path) {
  const std::vector<uint8_t> bytes = readMaybeGzip(path);
  const std::vector<int64_t> dims = checkIdx(bytes, path, 3, "(images: count, rows, columns)");
  torch::Tensor pixels = torch::empty({dims[0], 1, dims[1], dims[2]}, torch::kUInt8);  // (N, 1, H, W)
  std::memcpy(pixels.data_ptr<uint8_t>(), bytes.data() + 16, size_t(pixels.numel()));
  return pixels;
}

torch::Tensor readIdxLabels(const std::string& path) {
  const std::vector<uint8_t> bytes = readMaybeGzip(path);
  const std::vector<int64_t> dims = checkIdx(bytes, path, 1, "(labels: count)");
  torch::Tensor raw = torch::from_blob(const_cast<uint8_t*>(bytes.data() + 8), {dims[0]}, torch::kUInt8);
  return raw.to(torch::kInt64);  // copies out of `bytes`
}

CsvImages readCsvImages(const std::string& path, const CsvImageOptions& options) {
  if (options.pixelMax < 1 || options.pixelMax > 255)
    fail(ErrorKind::Config, "pixel_max", "must be in 1..255, got " + std::to_string(options.pixelMax));
  const std::vector<uint8_t> bytes = readMaybeGzip(path);
  const char* text = reinterpret_cast<const char*>(bytes.data());
  const char* const textEnd = text + bytes.size();
  if (bytes.size() >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF)
    text += 3;  // spreadsheets' UTF-8 mark

  std::vector<uint8_t> pixels;
  std::vector<int64_t> labels;
  int64_t columns = 0, labelColumn = 0, lineNumber = 0, firstDataLine = 0;
  bool headerPending = options.header;
  std::vector<const char*> cellStarts;
  for (const char* line = text; line < textEnd;) {
    const char* lineEnd = static_cast<const char*>(std::memchr(line, '\n', size_t(textEnd - line)));
    if (!lineEnd) lineEnd = textEnd;
    const char* next = lineEnd < textEnd ? lineEnd + 1 : textEnd;
    if (lineEnd > line && lineEnd[-1] == '\r') --lineEnd;
    ++lineNumber;
    const bool blank = std::all_of(line, lineEnd, [](char c) { return c == ' ' || c == '\t'; });
    if (blank || headerPending) {
      headerPending = headerPending && blank;
      line = next;
      continue;
    }
    const std::string where = path + ":" + std::to_string(lineNumber);
    cellStarts.clear();
    cellStarts.push_back(line);
    for (const char* p = line; p < lineEnd; ++p)
      if (*p == ',') cellStarts.push_back(p + 1);
    const int64_t cells = int64_t(cellStarts.size());
    if (columns == 0) {
      columns = cells;
      firstDataLine = lineNumber;
      if (columns < 2)
        fail(ErrorKind::Format, where,
             "a line needs a label and at least one pixel, found 1 cell (are the cells comma-separated?)");
      labelColumn = options.labelColumn < 0 ? columns + options.labelColumn : options.labelColumn;
      if (labelColumn < 0 || labelColumn >= columns)
        fail(ErrorKind::Config, where,
             "label column " + std::to_string(options.labelColumn) + " does not exist: the line has " +
                 std::to_string(columns) + " cells (columns 0.." + std::to_string(columns - 1) +
                 ", or -1 for the last)");
      pixels.reserve(size_t(columns - 1) * size_t(bytes.size() / (size_t(columns) * 2 + 1) + 1));
    } else if (cells != columns) {
      fail(ErrorKind::Format, where,
           std::to_string(cells) + " cells, expected " + std::to_string(columns) + " like line " +
               std::to_string(firstDataLine));
    }
    for (int64_t c = 0; c < cells; ++c) {
      const char* cellEnd = c + 1 < cells ? cellStarts[size_t(c + 1)] - 1 : lineEnd;
      double value = 0;
      if (parseCell(cellStarts[size_t(c)], cellEnd, value) != CellValue::Ok) {
        const std::string hint = lineNumber == firstDataLine && !options.header
                                     ? " (if the first line names the columns, read it as a header)"
                                     : "";
        fail(ErrorKind::Format, where,
             "column " + std::to_string(c) + " (0-based): '" + std::string(cellStarts[size_t(c)], cellEnd) +
                 "' is not a number" + hint);
      }
      if (c == labelColumn) {
        if (value != std::floor(value) || value < 0 || value > 65535)
          fail(ErrorKind::Format, where,
               "label " + std::string(cellStarts[size_t(c)], cellEnd) + " in column " + std::to_string(c) +
                   " is out of range: labels are integers 0..65535");
        labels.push_back(int64_t(value));
      } else {
        if (value != std::floor(value) || value < 0 || value > double(options.pixelMax))
          fail(ErrorKind::Format, where,
               "pixel " + std::string(cellStarts[size_t(c)], cellEnd) + " in column " + std::to_string(c) +
                   " is out of range: pixels are integers 0.." + std::to_string(options.pixelMax));
        pixels.push_back(uint8_t(value));
      }
    }
    line = next;
  }
  if (labels.empty()) fail(ErrorKind::Format, path, "no data lines");

  CsvImages out;
  const int64_t n = int64_t(labels.size());
  out.pixels = torch::empty({n, columns - 1}, torch::kUInt8);  // (N, P)
  std::memcpy(out.pixels.data_ptr<uint8_t>(), pixels.data(), pixels.size());
  out.labels = torch::tensor(labels, torch::kInt64);
  return out;
}

}  // namespace igpg
