#include "data/sampling.h"

#include "common/error.h"
#include "data/dataset.h"

#include <torch/torch.h>

#include <cmath>
#include <numeric>

namespace igpg {

namespace {
uint64_t finalize(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
}  // namespace

uint64_t SeededRandom::next() { return finalize(state_ += 0x9e3779b97f4a7c15ULL); }

uint64_t SeededRandom::below(uint64_t bound) {
  unsigned __int128 m = static_cast<unsigned __int128>(next()) * bound;
  if (uint64_t(m) < bound) {
    const uint64_t threshold = (0 - bound) % bound;
    while (uint64_t(m) < threshold) m = static_cast<unsigned __int128>(next()) * bound;
  }
  return uint64_t(m >> 64);
}

uint64_t mixSeed(uint64_t a, uint64_t b) { return finalize(finalize(a) ^ (b + 0x632be59bd9b4e019ULL)); }

std::vector<int64_t> seededPermutation(int64_t n, uint64_t seed) {
  std::vector<int64_t> order(size_t(std::max<int64_t>(n, 0)));
  std::iota(order.begin(), order.end(), int64_t(0));
  SeededRandom random(seed);
  for (int64_t i = n - 1; i > 0; --i) std::swap(order[size_t(i)], order[size_t(random.below(uint64_t(i) + 1))]);
  return order;
}

Holdout stratifiedHoldout(const torch::Tensor& labels, int64_t numClasses, double fraction, uint64_t seed) {
  if (!(fraction >= 0 && fraction < 1))
    fail(ErrorKind::Config, "holdout fraction", "must be in [0, 1), got " + std::to_string(fraction));
  const torch::Tensor cpu = labels.to(torch::kCPU, torch::kInt64).contiguous();
  const int64_t* label = cpu.data_ptr<int64_t>();
  const int64_t n = cpu.numel();
  std::vector<std::vector<int64_t>> byClass(static_cast<size_t>(numClasses));
  for (int64_t i = 0; i < n; ++i) {
    if (label[i] < 0 || label[i] >= numClasses)
      fail(ErrorKind::Internal, "stratifiedHoldout",
           "label " + std::to_string(label[i]) + " outside [0, " + std::to_string(numClasses) + ")");
    byClass[size_t(label[i])].push_back(i);
  }
  std::vector<char> held(size_t(n), 0);
  for (int64_t c = 0; c < numClasses; ++c) {
    const auto& members = byClass[size_t(c)];
    const int64_t count = std::llround(fraction * double(members.size()));
    const std::vector<int64_t> order = seededPermutation(int64_t(members.size()), mixSeed(seed, uint64_t(c)));
    for (int64_t k = 0; k < count; ++k) held[size_t(members[size_t(order[size_t(k)])])] = 1;
  }
  Holdout out;
  for (int64_t i = 0; i < n; ++i) (held[size_t(i)] ? out.heldOut : out.kept).push_back(i);
  return out;
}

BatchIterator::BatchIterator(const TensorSplit& split, const BatchOptions& options, int64_t epoch)
    : images_(split.images), labels_(split.labels), batchSize_(options.batchSize) {
  if (options.batchSize <= 0)
    fail(ErrorKind::Config, "batch size", "must be positive, got " + std::to_string(options.batchSize));
  const int64_t n = split.size();
  const auto onDevice = torch::TensorOptions().dtype(torch::kInt64).device(labels_.device());
  if (options.shuffle) {
    const std::vector<int64_t> order = seededPermutation(n, mixSeed(options.seed, uint64_t(epoch)));
    order_ = torch::tensor(order, torch::kInt64).to(labels_.device());
  } else {
    order_ = torch::arange(n, onDevice);
  }
  end_ = options.dropLast ? n / batchSize_ * batchSize_ : n;
}

int64_t BatchIterator::batchCount() const { return (end_ + batchSize_ - 1) / batchSize_; }

bool BatchIterator::next(TensorSplit& batch) {
  if (position_ >= end_) return false;
  const torch::Tensor index = order_.narrow(0, position_, std::min(batchSize_, end_ - position_));
  batch.images = images_.index_select(0, index);  // (B, C, H, W)
  batch.labels = labels_.index_select(0, index);  // (B)
  position_ += index.size(0);
  return true;
}

}  // namespace igpg
