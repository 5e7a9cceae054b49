// Readers for the files image datasets come in: IDX (the MNIST format) and CSV, each
// gzip-compressed or not (recognised by the gzip magic bytes, not by the extension).
// Everything is validated before it is trusted; errors are Error(Format) naming the file,
// and for CSV the line and column.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace igpg {

// The file's bytes, inflated when it is gzip (several concatenated members are allowed).
// Output beyond `maxBytes` is refused so that a tiny crafted file cannot exhaust memory.
std::vector<uint8_t> readMaybeGzip(const std::string& path, uint64_t maxBytes = uint64_t(8) << 30);

// IDX: a big-endian magic 0x0000TTDD (TT the element type, DD the number of dimensions),
// DD big-endian uint32 sizes, then the elements. Only unsigned bytes (TT = 0x08) are
// image data; anything else is refused with the type named.
// Images: 3 dimensions (N, rows, cols) -> (N, 1, rows, cols) uint8.
torch::Tensor readIdxImages(const std::string& path);
// Labels: 1 dimension (N) -> (N) int64.
torch::Tensor readIdxLabels(const std::string& path);

// CSV: one image per line, one label cell and the pixels in (C, H, W) order. Cells are
// separated by commas; spaces around a cell and CRLF line ends are accepted, blank lines
// are skipped. Pixel cells are integers in [0, pixelMax] ("3" or "3.0"); labels are
// integers >= 0.
struct CsvImageOptions {
  int64_t labelColumn = 0;  // 0-based; negative counts from the end (-1: the last column)
  bool header = false;      // the first line names the columns and is skipped
  int64_t pixelMax = 255;   // the white level; at most 255
};

struct CsvImages {
  torch::Tensor pixels;  // (N, P) uint8, P pixel cells per line
  torch::Tensor labels;  // (N) int64
};

CsvImages readCsvImages(const std::string& path, const CsvImageOptions& options);

}  // namespace igpg
