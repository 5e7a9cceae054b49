// Where base datasets come from: the built-ins' files and imported IDX or CSV files,
// described by a definition (JSON) that a catalogue row stores and a resolver hands back.
//
//   {
//     "kind": "builtin" | "idx" | "csv",
//     "builtin": "digits",                          built-ins only
//     "format": "idx" | "csv",                      how the files are read
//     "train": {"images": PATH, "labels": PATH}     idx
//              | {"csv": PATH},                     csv
//     "test":  the same form as "train"; without it a seeded stratified "test_fraction"
//              of the train files becomes the test split
//     "csv": {"label_column": 0, "header": false, "pixel_max": 255},      csv only
//     "shape": [C, H, W],          csv: how a line's pixels fold (channel-major); idx: 1xHxW
//     "resize": [H, W],            optional, bilinear (align_corners=false)
//     "num_classes": K,            labels are 0..K-1 and every class has train images
//     "class_names": [...],        optional, K names
//     "normalization": {"mean": [...], "std": [...]},  optional; else the train split's own
//     "validation_fraction": 0.1,  "split_seed": 20240607,
//     "content_hash": "..."        imports: the hash at import time; a file that decodes
//                                  to anything else is refused as changed
//   }
//
// Paths in imported definitions are absolute. Pixels are integer levels 0..white
// (255 for IDX, pixel_max for CSV), scaled to [0, 1] before normalization.
#pragma once

#include "data/dataset.h"
#include "data/image_files.h"

#include <nlohmann/json.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace igpg {

constexpr double kDefaultValidationFraction = 0.1;
constexpr double kDefaultTestFraction = 0.2;
constexpr uint64_t kDefaultSplitSeed = 20240607;

// A built-in's definition with its files resolved on this machine; Error(NotFound) for
// names that are not built-ins.
nlohmann::json builtinDefinition(const std::string& name);

// Decodes, validates and prepares a base dataset from its definition, without the cache
// (openDataset caches). `name` is the dataset's name, used in errors.
std::shared_ptr<const Dataset> loadBaseDataset(const std::string& name, const nlohmann::json& definition);

// What imports have in common.
struct DatasetImportOptions {
  double testFraction = kDefaultTestFraction;  // used when no test files are given
  int64_t numClasses = 0;                      // 0: the largest label + 1
  std::vector<std::string> classNames;         // optional, one per class
};

struct IdxImportOptions : DatasetImportOptions {
  std::string trainImages, trainLabels;
  std::string testImages, testLabels;  // both or neither
};

struct CsvImportOptions : DatasetImportOptions {
  std::string trainCsv;
  std::string testCsv;  // optional
  CsvImageOptions csv;
  // How a line's pixels fold into an image; by default P pixels are 1xSxS when P = S*S and
  // 3xSxS when P = 3*S*S (channel-major), the only two readings of a square image.
  std::optional<ImageShape> shape;
};

// Reads and validates the files completely, then returns the summary whose definition
// (with absolute paths and the content hash) the caller stores, e.g. as a catalogue row.
// The name must be a valid base name (task.h) and not a built-in's.
DatasetSummary importIdxDataset(const std::string& name, const IdxImportOptions& options);
DatasetSummary importCsvDataset(const std::string& name, const CsvImportOptions& options);

// "3x32x32" -> ImageShape; Error(Usage) naming `where` otherwise.
ImageShape parseImageShape(const std::string& text, const std::string& where);

}  // namespace igpg
