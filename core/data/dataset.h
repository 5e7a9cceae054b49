// Image classification datasets and the tasks derived from them, as tensors.
//
// Built-ins:
//   fashion-mnist  Fashion-MNIST from /usr/share/datasets/fashion-mnist (Debian's
//                  dataset-fashion-mnist; $IGPG_FASHION_MNIST_DIR overrides): 60,000 train
//                  and 10,000 test images, 1x28x28, pixels/255 normalized with the fixed
//                  mean 0.2860 and std 0.3530 that the shared fixtures also use.
//   digits         scikit-learn's 1,797 8x8 handwritten digits (digits.csv.gz from Debian's
//                  python3-sklearn; $IGPG_DIGITS_CSV overrides), pixels/16, resized to
//                  1x28x28 so the same image architectures apply. Bilinear resizing
//                  (align_corners=false) because nearest neighbour would turn each source
//                  pixel into an uneven 3- or 4-pixel block; the strokes stay smooth.
//                  Test: a seeded stratified 20% of the rows; splits 1,293 train, 145
//                  validation, 359 test. Mean and std are computed from the train split
//                  after resizing (mean 0.3054, std 0.3251 with these splits;
//                  Dataset::normalization(), and `igpg datasets show digits` prints them).
//
// Every dataset has train, validation and test splits. Validation is a seeded stratified
// 10% of the source train split (round(0.1 * n) of each class); test is the source's test
// split. Within a split, images keep their order in the source files. Derived tasks are
// filtered from their base's splits, so no base test image ever reaches a task's train
// split. Normalization statistics and splits are definition fields (validation_fraction,
// split_seed, test_fraction, normalization), so changing one changes the content hash.
//
// Data live on the CPU as images (N, C, H, W) float32, normalized, and labels (N) int64 in
// [0, numClasses). A Dataset is immutable and shared between threads: never modify its
// tensors in place.
//
// Loading is lazy and cached per process, thread-safe: openDataset() of the same name
// from several threads decodes once. Base datasets stay cached for the process's life;
// derived tasks stay while someone holds them (they are cheap to rebuild from the base).
// Task names: see task.h.
#pragma once

#include "data/task.h"

#include <nlohmann/json.hpp>
#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace igpg {

struct ImageShape {
  int64_t channels = 0;
  int64_t height = 0;
  int64_t width = 0;
  int64_t numel() const { return channels * height * width; }
  std::string toString() const;  // "1x28x28"
  bool operator==(const ImageShape& o) const {
    return channels == o.channels && height == o.height && width == o.width;
  }
  bool operator!=(const ImageShape& o) const { return !(*this == o); }
};

struct TensorSplit {
  torch::Tensor images;  // (N, C, H, W) float32, normalized
  torch::Tensor labels;  // (N) int64
  int64_t size() const { return labels.defined() ? labels.size(0) : 0; }
  TensorSplit to(const torch::Device& device) const;
  // Images per class, (numClasses) int64.
  torch::Tensor classCounts(int64_t numClasses) const;
};

enum class Split { Train, Validation, Test };
const char* splitName(Split split);

// Per-channel statistics applied as (pixel - mean) / std, pixels in [0, 1].
struct Normalization {
  std::vector<double> mean;
  std::vector<double> std;
};

// Everything about a dataset except its tensors.
struct DatasetInfo {
  std::string name;  // canonical name
  std::string kind;  // "builtin" | "idx" | "csv" | "derived"
  // What the dataset is made of: for a base dataset the definition its resolver gave (see
  // dataset_sources.h); for a derived task {"base", "classes", "transforms",
  // "base_definition"}.
  nlohmann::json definition;
  int64_t numClasses = 0;
  ImageShape shape;
  std::vector<std::string> classNames;  // numClasses entries
  Normalization normalization;
  // SHA-256 over the decoded labels and pixels and every setting that shapes the tensors
  // (splits, resizing, normalization); a derived task hashes its base's hash with its
  // canonical modifiers. Equal hashes mean equal tensors.
  std::string contentHash;
};

class Dataset {
 public:
  // Checks that the splits agree with `info` (shapes, dtypes, label range).
  Dataset(DatasetInfo info, TensorSplit train, TensorSplit validation, TensorSplit test);

  const std::string& name() const { return info_.name; }
  const std::string& kind() const { return info_.kind; }
  const DatasetInfo& info() const { return info_; }
  int64_t numClasses() const { return info_.numClasses; }
  ImageShape shape() const { return info_.shape; }
  const std::vector<std::string>& classNames() const { return info_.classNames; }
  const Normalization& normalization() const { return info_.normalization; }
  const std::string& contentHash() const { return info_.contentHash; }

  const TensorSplit& train() const { return train_; }
  const TensorSplit& validation() const { return validation_; }
  const TensorSplit& test() const { return test_; }
  const TensorSplit& split(Split which) const;

  // Exactly `perClass` images of every class drawn from `from` with `seed`, grouped by
  // class (class 0 first), the same for the same seed. Error(Mismatch) when a class has
  // fewer images than that.
  TensorSplit balancedSample(int64_t perClass, uint64_t seed, Split from = Split::Train) const;

 private:
  DatasetInfo info_;
  TensorSplit train_, validation_, test_;
};

// Maps a base name that is not a built-in (an imported dataset) to its definition, or
// nullopt when unknown. The catalogue wiring provides one over its `datasets` table.
using DatasetResolver = std::function<std::optional<nlohmann::json>(const std::string& baseName)>;

// Opens a dataset or task by name, e.g. "fashion-mnist", "digits[classes=0,1,2;rot90]",
// "my-import[invert]". Throws Error(Usage) for a malformed name, Error(NotFound) for an
// unknown base (naming the known ones), and the loaders' errors for bad files.
std::shared_ptr<const Dataset> openDataset(const std::string& name, const DatasetResolver& resolver = {});

std::vector<std::string> builtinDatasetNames();
bool isBuiltinDataset(const std::string& baseName);

// The plain facts a catalogue record holds; the catalogue wiring converts it. The three
// counts are disjoint: the source train split, as users know it (60,000 for
// Fashion-MNIST), is trainCount + validationCount.
struct DatasetSummary {
  std::string name;
  std::string kind;
  nlohmann::json definition;
  int64_t numClasses = 0;
  ImageShape shape;
  int64_t trainCount = 0;
  int64_t validationCount = 0;
  int64_t testCount = 0;
  std::string contentHash;
};
DatasetSummary summarizeDataset(const Dataset& dataset);

// The train split, or a fixed seeded subset of `samples` of it (samples <= 0: all), the
// same subset every time: zoo recipes train on it and fine-tuning compares on it.
TensorSplit trainingSubset(const Dataset& dataset, int64_t samples);

}  // namespace igpg
