// Seeded randomness for everything that picks examples: split carving, balanced samples
// and batch order. It uses its own generator and its own bounded draw, not
// torch::randperm or std::shuffle, whose outputs differ between LibTorch versions and
// standard libraries: a split or a sample must come out the same on every machine, or
// a zoo trained on one box would be evaluated on different images on another.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <vector>

namespace igpg {

struct TensorSplit;

// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, and fully specified.
class SeededRandom {
 public:
  explicit SeededRandom(uint64_t seed) : state_(seed) {}
  uint64_t next();
  // Uniform in [0, bound), unbiased (Lemire's multiply-and-reject). bound > 0.
  uint64_t below(uint64_t bound);

 private:
  uint64_t state_;
};

// Mixes several values into one seed, so that e.g. (seed, class) or (seed, epoch) pairs
// draw independent streams.
uint64_t mixSeed(uint64_t a, uint64_t b);

// A permutation of 0..n-1 (Fisher-Yates).
std::vector<int64_t> seededPermutation(int64_t n, uint64_t seed);

// Holds out round(fraction * n_c) examples of every class c, chosen with `seed`; returns
// {kept, heldOut}, each in ascending index order. labels: (N) int64 in [0, numClasses).
struct Holdout {
  std::vector<int64_t> kept;
  std::vector<int64_t> heldOut;
};
Holdout stratifiedHoldout(const torch::Tensor& labels, int64_t numClasses, double fraction, uint64_t seed);

// Mini-batches over a split for training loops. The order is a seeded permutation that
// changes with the epoch (shuffle) or the split's own order (no shuffle). Batches are
// gathered on the device the split's tensors live on, so a split moved to the GPU once
// is batched there without copies back and forth.
struct BatchOptions {
  int64_t batchSize = 128;
  bool shuffle = true;
  uint64_t seed = 0;
  bool dropLast = false;  // drop a final batch smaller than batchSize
};

class BatchIterator {
 public:
  BatchIterator(const TensorSplit& split, const BatchOptions& options, int64_t epoch = 0);
  int64_t batchCount() const;
  // Fills `batch` with the next images (B, C, H, W) and labels (B); false after the last.
  bool next(TensorSplit& batch);

 private:
  torch::Tensor images_;
  torch::Tensor labels_;
  torch::Tensor order_;  // (N) int64 on the split's device
  int64_t batchSize_;
  int64_t end_;
  int64_t position_ = 0;
};

}  // namespace igpg
