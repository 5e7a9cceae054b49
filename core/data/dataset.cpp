#include "data/dataset.h"

#include "common/error.h"
#include "common/sha256.h"
#include "data/dataset_sources.h"
#include "data/sampling.h"

#include <torch/torch.h>

#include <map>
#include <mutex>

namespace igpg {

std::string ImageShape::toString() const {
  return std::to_string(channels) + "x" + std::to_string(height) + "x" + std::to_string(width);
}

TensorSplit TensorSplit::to(const torch::Device& device) const { return {images.to(device), labels.to(device)}; }

torch::Tensor TensorSplit::classCounts(int64_t numClasses) const {
  return torch::bincount(labels.to(torch::kCPU), {}, numClasses);
}

const char* splitName(Split split) {
  switch (split) {
    case Split::Train:
      return "train";
    case Split::Validation:
      return "validation";
    case Split::Test:
      return "test";
  }
  return "?";
}

Dataset::Dataset(DatasetInfo info, TensorSplit train, TensorSplit validation, TensorSplit test)
    : info_(std::move(info)), train_(std::move(train)), validation_(std::move(validation)), test_(std::move(test)) {
  const auto bad = [&](const std::string& message) {
    fail(ErrorKind::Internal, "dataset '" + info_.name + "'", message);
  };
  if (info_.numClasses < 2 || int64_t(info_.classNames.size()) != info_.numClasses)
    bad("class names do not match the class count");
  if (int64_t(info_.normalization.mean.size()) != info_.shape.channels ||
      int64_t(info_.normalization.std.size()) != info_.shape.channels)
    bad("normalization does not match the channel count");
  for (Split which : {Split::Train, Split::Validation, Split::Test}) {
    const TensorSplit& s = split(which);
    const std::string name = splitName(which);
    if (!s.images.defined() || !s.labels.defined()) bad(name + " split is missing");
    if (s.images.scalar_type() != torch::kFloat32 || s.labels.scalar_type() != torch::kInt64)
      bad(name + " split has the wrong dtypes");
    if (s.images.dim() != 4 || s.labels.dim() != 1 || s.images.size(0) != s.labels.size(0) ||
        ImageShape{s.images.size(1), s.images.size(2), s.images.size(3)} != info_.shape)
      bad(name + " split has the wrong shape: images " + torch::str(s.images.sizes()) + ", labels " +
          torch::str(s.labels.sizes()));
    if (s.size() > 0 && (s.labels.min().item<int64_t>() < 0 || s.labels.max().item<int64_t>() >= info_.numClasses))
      bad(name + " split has labels outside 0.." + std::to_string(info_.numClasses - 1));
  }
}

const TensorSplit& Dataset::split(Split which) const {
  switch (which) {
    case Split::Train:
      return train_;
    case Split::Validation:
      return validation_;
    case Split::Test:
      return test_;
  }
  return train_;
}

TensorSplit Dataset::balancedSample(int64_t perClass, uint64_t seed, Split from) const {
  if (perClass < 1)
    fail(ErrorKind::Config, "balanced sample", "images per class must be at least 1, got " + std::to_string(perClass));
  const TensorSplit& source = split(from);
  const torch::Tensor labels = source.labels.to(torch::kCPU).contiguous();
  const int64_t* label = labels.data_ptr<int64_t>();
  std::vector<std::vector<int64_t>> byClass(static_cast<size_t>(info_.numClasses));
  for (int64_t i = 0; i < labels.numel(); ++i) byClass[size_t(label[i])].push_back(i);
  std::vector<int64_t> rows;
  for (int64_t c = 0; c < info_.numClasses; ++c) {
    const auto& members = byClass[size_t(c)];
    if (int64_t(members.size()) < perClass)
      fail(ErrorKind::Mismatch, "dataset '" + info_.name + "'",
           "class " + std::to_string(c) + " ('" + info_.classNames[size_t(c)] + "') has " +
               std::to_string(members.size()) + " images in the " + splitName(from) + " split, fewer than the " +
               std::to_string(perClass) + " asked for");
    const std::vector<int64_t> order = seededPermutation(int64_t(members.size()), mixSeed(seed, uint64_t(c)));
    for (int64_t k = 0; k < perClass; ++k) rows.push_back(members[size_t(order[size_t(k)])]);
  }
  const torch::Tensor index = torch::tensor(rows, torch::kInt64).to(source.labels.device());
  return {source.images.index_select(0, index),
          source.labels.index_select(0, index)};  // (K*perClass, C, H, W), (K*perClass)
}

namespace {

// One entry per key; its own mutex makes concurrent openers of the same key wait for a
// single load, while different datasets load in parallel.
struct CacheEntry {
  std::mutex mutex;
  std::shared_ptr<const Dataset> pinned;  // base datasets: kept for the process's life
  std::weak_ptr<const Dataset> held;      // derived tasks: kept while someone uses them
};

std::shared_ptr<const Dataset> cached(const std::string& key, bool pin,
                                      const std::function<std::shared_ptr<const Dataset>()>& load) {
  static std::mutex mapMutex;
  static std::map<std::string, std::shared_ptr<CacheEntry>> entries;
  std::shared_ptr<CacheEntry> entry;
  {
    std::lock_guard<std::mutex> lock(mapMutex);
    auto& slot = entries[key];
    if (!slot) slot = std::make_shared<CacheEntry>();
    entry = slot;
  }
  std::lock_guard<std::mutex> lock(entry->mutex);
  if (entry->pinned) return entry->pinned;
  if (auto alive = entry->held.lock()) return alive;
  std::shared_ptr<const Dataset> dataset = load();  // a throw leaves the entry empty: the next open retries
  if (pin) entry->pinned = dataset;
  entry->held = dataset;
  return dataset;
}

std::shared_ptr<const Dataset> deriveDataset(const Dataset& base, const TaskSpec& spec) {
  const std::string name = spec.canonicalName();
  for (int64_t c : spec.classes)
    if (c >= base.numClasses())
      fail(ErrorKind::Usage, "dataset name '" + name + "'",
           "class " + std::to_string(c) + " is out of range: " + base.name() + " has classes 0.." +
               std::to_string(base.numClasses() - 1));

  DatasetInfo info;
  info.name = name;
  info.kind = "derived";
  info.numClasses = spec.classes.empty() ? base.numClasses() : int64_t(spec.classes.size());
  const bool sideways = spec.quarterTurns % 2 == 1;
  info.shape = {base.shape().channels, sideways ? base.shape().width : base.shape().height,
                sideways ? base.shape().height : base.shape().width};
  if (spec.classes.empty()) info.classNames = base.classNames();
  for (int64_t c : spec.classes) info.classNames.push_back(base.classNames()[size_t(c)]);
  info.normalization = base.normalization();
  info.contentHash = sha256Hex("igpg-derived\n" + base.contentHash() + "\n" + spec.canonicalModifiers());
  info.definition = {{"base", base.name()},
                     {"classes", spec.classes},
                     {"transforms", spec.transformNames()},
                     {"base_definition", base.info().definition}};

  // Base label -> task label, -1 for classes the task leaves out.
  torch::Tensor relabel = torch::arange(base.numClasses(), torch::kInt64);
  if (!spec.classes.empty()) {
    relabel = torch::full({base.numClasses()}, -1, torch::kInt64);
    for (size_t i = 0; i < spec.classes.size(); ++i) relabel[spec.classes[i]] = int64_t(i);
  }
  TensorSplit splits[3];
  for (Split which : {Split::Train, Split::Validation, Split::Test}) {
    const TensorSplit& from = base.split(which);
    TensorSplit& to = splits[int(which)];
    to = from;
    if (!spec.classes.empty()) {
      const torch::Tensor labels = relabel.index_select(0, from.labels);
      const torch::Tensor keep = (labels >= 0).nonzero().squeeze(1);
      to = {from.images.index_select(0, keep), labels.index_select(0, keep)};
    }
    to.images = applyTaskTransforms(to.images, spec, info.normalization.mean, info.normalization.std);
  }
  return std::make_shared<const Dataset>(std::move(info), std::move(splits[0]), std::move(splits[1]),
                                         std::move(splits[2]));
}

}  // namespace

std::vector<std::string> builtinDatasetNames() { return {"fashion-mnist", "digits"}; }

bool isBuiltinDataset(const std::string& baseName) {
  const auto names = builtinDatasetNames();
  return std::find(names.begin(), names.end(), baseName) != names.end();
}

std::shared_ptr<const Dataset> openDataset(const std::string& name, const DatasetResolver& resolver) {
  const TaskSpec spec = parseTaskName(name);
  std::optional<nlohmann::json> definition;
  if (isBuiltinDataset(spec.base))
    definition = builtinDefinition(spec.base);
  else if (resolver)
    definition = resolver(spec.base);
  if (!definition) {
    std::string known;
    for (const auto& b : builtinDatasetNames()) known += (known.empty() ? "" : ", ") + b;
    fail(ErrorKind::NotFound, "dataset '" + spec.base + "'",
         "unknown dataset; the built-ins are " + known +
             (resolver ? "; 'igpg datasets list' shows the imported ones" : "; imported datasets need the catalogue"));
  }
  // The definition is part of the key: a dataset imported again under the same name, or a
  // built-in pointed at other files, is a different dataset.
  const std::string definitionKey = definition->dump();
  auto base = cached(spec.base + "\n" + definitionKey, true, [&] { return loadBaseDataset(spec.base, *definition); });
  if (!spec.derived()) return base;
  return cached(spec.canonicalName() + "\n" + definitionKey, false, [&] { return deriveDataset(*base, spec); });
}

DatasetSummary summarizeDataset(const Dataset& dataset) {
  DatasetSummary s;
  s.name = dataset.name();
  s.kind = dataset.kind();
  s.definition = dataset.info().definition;
  s.numClasses = dataset.numClasses();
  s.shape = dataset.shape();
  s.trainCount = dataset.train().size();
  s.validationCount = dataset.validation().size();
  s.testCount = dataset.test().size();
  s.contentHash = dataset.contentHash();
  return s;
}

TensorSplit trainingSubset(const Dataset& dataset, int64_t samples) {
  const TensorSplit& train = dataset.train();
  if (samples <= 0 || samples >= train.size()) return train;
  auto order = seededPermutation(train.size(), 0x5eed2007ULL);
  order.resize(size_t(samples));
  auto index = torch::tensor(order, torch::kInt64);
  return {train.images.index_select(0, index), train.labels.index_select(0, index)};
}

}  // namespace igpg
