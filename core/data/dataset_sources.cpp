#include "data/dataset_sources.h"

#include "common/error.h"
#include "common/sha256.h"
#include "data/sampling.h"

#include <torch/torch.h>

#include <array>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <future>

namespace igpg {

namespace {

using json = nlohmann::json;

const std::vector<std::string>& fashionMnistClassNames() {
  static const std::vector<std::string> names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                 "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  return names;
}

std::string envOr(const char* variable, const std::string& fallback) {
  const char* value = std::getenv(variable);
  return value && *value ? std::string(value) : fallback;
}

std::string absolutePath(const std::string& path) {
  return std::filesystem::absolute(path).lexically_normal().string();
}

// Typed access to a definition, with errors that name the dataset and the field.
class Fields {
 public:
  Fields(const json& object, std::string where) : object_(object), where_(std::move(where)) {
    if (!object_.is_object()) fail(ErrorKind::Config, where_, "must be a JSON object, got " + object_.dump());
  }
  bool has(const std::string& key) const { return object_.contains(key); }
  const json& raw(const std::string& key) const {
    if (!has(key)) fail(ErrorKind::Config, where_, "missing field '" + key + "'");
    return object_.at(key);
  }
  template <typename T>
  T get(const std::string& key) const {
    try {
      return raw(key).get<T>();
    } catch (const json::exception&) {
      fail(ErrorKind::Config, where_, "field '" + key + "' has the wrong type: " + raw(key).dump());
    }
  }
  template <typename T>
  T getOr(const std::string& key, T fallback) const {
    return has(key) ? get<T>(key) : fallback;
  }
  Fields sub(const std::string& key) const { return Fields(raw(key), where_ + ", field '" + key + "'"); }
  const std::string& where() const { return where_; }

 private:
  const json& object_;
  std::string where_;
};

// One train or test part as read from its files.
struct RawPart {
  torch::Tensor pixels;  // (N, C, H, W) uint8 levels 0..white
  torch::Tensor labels;  // (N) int64
  std::string source;    // the file the labels came from, for messages
};

// Everything a definition says, checked.
struct Settings {
  std::string format;
  int64_t white = 255;
  CsvImageOptions csv;
  std::optional<ImageShape> shape;
  std::optional<std::vector<int64_t>> resize;  // {H, W}
  std::optional<int64_t> numClasses;
  std::vector<std::string> classNames;
  std::optional<Normalization> normalization;
  bool hasTest = false;
  double testFraction = 0;
  double validationFraction = kDefaultValidationFraction;
  uint64_t splitSeed = kDefaultSplitSeed;
  std::string recordedHash;
};

ImageShape shapeFromJson(const Fields& f, const std::string& key) {
  const auto dims = f.get<std::vector<int64_t>>(key);
  if (dims.size() != 3 || dims[0] < 1 || dims[1] < 1 || dims[2] < 1)
    fail(ErrorKind::Config, f.where(), "field '" + key + "' must be [channels, height, width] with positive sizes");
  return {dims[0], dims[1], dims[2]};
}

json shapeToJson(const ImageShape& s) { return json::array({s.channels, s.height, s.width}); }

Settings readSettings(const Fields& def) {
  Settings s;
  s.format = def.get<std::string>("format");
  if (s.format != "idx" && s.format != "csv")
    fail(ErrorKind::Config, def.where(), "field 'format' must be \"idx\" or \"csv\", got \"" + s.format + "\"");
  def.sub("train");  // must be an object; read in readPart
  s.hasTest = def.has("test");
  if (s.hasTest) def.sub("test");
  s.testFraction = s.hasTest ? 0.0 : def.getOr<double>("test_fraction", kDefaultTestFraction);
  s.validationFraction = def.getOr<double>("validation_fraction", kDefaultValidationFraction);
  for (auto [key, value] : {std::pair<const char*, double>{"test_fraction", s.testFraction},
                            std::pair<const char*, double>{"validation_fraction", s.validationFraction}})
    if (!(value >= 0 && value < 1))
      fail(ErrorKind::Config, def.where(),
           std::string("field '") + key + "' must be in [0, 1), got " + std::to_string(value));
  s.splitSeed = def.getOr<uint64_t>("split_seed", kDefaultSplitSeed);
  if (s.format == "csv") {
    const Fields csv = def.sub("csv");
    s.csv.labelColumn = csv.getOr<int64_t>("label_column", 0);
    s.csv.header = csv.getOr<bool>("header", false);
    s.csv.pixelMax = csv.getOr<int64_t>("pixel_max", 255);
    s.white = s.csv.pixelMax;
  }
  if (def.has("shape")) s.shape = shapeFromJson(def, "shape");
  if (def.has("resize")) {
    s.resize = def.get<std::vector<int64_t>>("resize");
    if (s.resize->size() != 2 || (*s.resize)[0] < 1 || (*s.resize)[1] < 1 || (*s.resize)[0] > 4096 ||
        (*s.resize)[1] > 4096)
      fail(ErrorKind::Config, def.where(), "field 'resize' must be [height, width] in 1..4096");
  }
  if (def.has("num_classes")) {
    s.numClasses = def.get<int64_t>("num_classes");
    if (*s.numClasses < 2) fail(ErrorKind::Config, def.where(), "field 'num_classes' must be at least 2");
  }
  s.classNames = def.getOr<std::vector<std::string>>("class_names", {});
  if (def.has("normalization")) {
    const Fields n = def.sub("normalization");
    s.normalization = Normalization{n.get<std::vector<double>>("mean"), n.get<std::vector<double>>("std")};
    for (double sd : s.normalization->std)
      if (!(sd > 0)) fail(ErrorKind::Config, n.where(), "std values must be positive");
  }
  s.recordedHash = def.getOr<std::string>("content_hash", "");
  return s;
}

RawPart readPart(const Fields& part, const Settings& s) {
  RawPart out;
  if (s.format == "idx") {
    const std::string imagesPath = part.get<std::string>("images");
    out.source = part.get<std::string>("labels");
    out.pixels = readIdxImages(imagesPath);
    out.labels = readIdxLabels(out.source);
    if (out.labels.size(0) != out.pixels.size(0))
      fail(ErrorKind::Format, out.source,
           std::to_string(out.labels.size(0)) + " labels, but " + imagesPath + " holds " +
               std::to_string(out.pixels.size(0)) + " images");
    return out;
  }
  out.source = part.get<std::string>("csv");
  CsvImages csv = readCsvImages(out.source, s.csv);
  const int64_t perLine = csv.pixels.size(1);
  ImageShape shape;
  if (s.shape) {
    shape = *s.shape;
  } else {
    for (int64_t channels : {1, 3}) {
      const auto side = int64_t(std::llround(std::sqrt(double(perLine / channels))));
      if (side * side * channels == perLine) {
        shape = {channels, side, side};
        break;
      }
    }
    if (shape.numel() == 0)
      fail(ErrorKind::Format, out.source,
           std::to_string(perLine) + " pixels per line are neither SxS nor 3xSxS; give the image shape");
  }
  if (shape.numel() != perLine)
    fail(ErrorKind::Format, out.source,
         std::to_string(perLine) + " pixels per line, but the shape " + shape.toString() + " needs " +
             std::to_string(shape.numel()));
  out.pixels = csv.pixels.view({csv.pixels.size(0), shape.channels, shape.height, shape.width});  // (N, C, H, W)
  out.labels = csv.labels;
  return out;
}

ImageShape shapeOf(const RawPart& part) { return {part.pixels.size(1), part.pixels.size(2), part.pixels.size(3)}; }

// Feeds the SHA-256s of the 1 MiB chunks of `data` to `hash`, so that the chunks hash in
// parallel; the chunk size is fixed, so the digest does not depend on the thread count.
void updateChunked(Sha256& hash, const uint8_t* data, size_t size) {
  constexpr size_t kChunk = size_t(1) << 20;
  std::vector<std::string> digests((size + kChunk - 1) / kChunk);
  at::parallel_for(0, int64_t(digests.size()), 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i)
      digests[size_t(i)] = sha256Hex(data + size_t(i) * kChunk, std::min(kChunk, size - size_t(i) * kChunk));
  });
  for (const std::string& d : digests) hash.update(d);
}

// SHA-256 over the settings that shape the tensors, then every part's labels (int64,
// little-endian) and pixels (the uint8 levels), chunk by chunk. File paths and class
// names do not enter: moving or renaming files keeps the hash.
std::string contentHash(const Settings& s, const ImageShape& shape, int64_t numClasses,
                        const std::vector<std::pair<std::string, const RawPart*>>& parts) {
  json header = {{"version", 1},
                 {"shape", shapeToJson(shape)},
                 {"white", s.white},
                 {"num_classes", numClasses},
                 {"validation_fraction", s.validationFraction},
                 {"split_seed", s.splitSeed}};
  if (!s.hasTest) header["test_fraction"] = s.testFraction;
  if (s.resize) header["resize"] = *s.resize;
  if (s.normalization) header["normalization"] = {{"mean", s.normalization->mean}, {"std", s.normalization->std}};
  Sha256 hash;
  hash.update("igpg-dataset\n" + header.dump() + "\n");
  for (const auto& [name, part] : parts) {
    const int64_t n = part->labels.size(0);
    hash.update(name + " " + std::to_string(n) + "\n");
    const int64_t* labels = part->labels.data_ptr<int64_t>();
    std::vector<uint8_t> bytes(size_t(n) * 8);
    for (int64_t i = 0; i < n; ++i)
      for (int b = 0; b < 8; ++b) bytes[size_t(i) * 8 + size_t(b)] = uint8_t(uint64_t(labels[i]) >> (8 * b));
    updateChunked(hash, bytes.data(), bytes.size());
    const torch::Tensor pixels = part->pixels.contiguous();
    updateChunked(hash, pixels.data_ptr<uint8_t>(), size_t(pixels.numel()));
  }
  return hash.hexDigest();
}

int64_t largestLabel(const RawPart& part) { return part.labels.numel() ? part.labels.max().item<int64_t>() : -1; }

TensorSplit selectRows(const RawPart& part, const std::vector<int64_t>& rows) {
  const torch::Tensor index = torch::tensor(rows, torch::kInt64);
  return {part.pixels.index_select(0, index), part.labels.index_select(0, index)};
}

using LevelTables = std::vector<std::array<float, 256>>;

// Per channel, the float32 value of each uint8 level: level / white, then normalized when
// `n` is given. Converting through these tables is one pass over the pixels instead of a
// cast and three arithmetic passes.
LevelTables levelTables(int64_t channels, int64_t white, const Normalization* n) {
  LevelTables tables(static_cast<size_t>(channels));
  for (size_t c = 0; c < tables.size(); ++c)
    for (int level = 0; level < 256; ++level) {
      float x = float(level) / float(white);
      if (n) x = (x - float(n->mean[c])) / float(n->std[c]);
      tables[c][size_t(level)] = x;
    }
  return tables;
}

// (N, C, H, W) uint8 -> (N, C, H, W) float32.
torch::Tensor lookUpLevels(const torch::Tensor& levels, const LevelTables& tables) {
  const torch::Tensor in = levels.contiguous();
  torch::Tensor out = torch::empty(in.sizes(), torch::kFloat32);
  const int64_t channels = in.size(1), plane = in.size(2) * in.size(3);
  const uint8_t* src = in.data_ptr<uint8_t>();
  float* dst = out.data_ptr<float>();
  at::parallel_for(0, in.size(0) * channels, 256, [&](int64_t begin, int64_t end) {
    for (int64_t image = begin; image < end; ++image) {
      const float* table = tables[size_t(image % channels)].data();
      for (int64_t p = image * plane; p < (image + 1) * plane; ++p) dst[p] = table[src[p]];
    }
  });
  return out;
}

torch::Tensor resized(const torch::Tensor& images, const std::vector<int64_t>& size) {
  if (images.size(0) == 0) return torch::empty({0, images.size(1), size[0], size[1]}, images.options());
  namespace F = torch::nn::functional;
  return F::interpolate(images, F::InterpolateFuncOptions().size(size).mode(torch::kBilinear).align_corners(false))
      .contiguous();  // (N, C, size[0], size[1])
}

void checkSpread(const Normalization& n, const std::string& name) {
  for (size_t c = 0; c < n.std.size(); ++c)
    if (!(n.std[c] > 0))
      fail(ErrorKind::Format, "dataset '" + name + "'",
           "channel " + std::to_string(c) + " has the same value in every train pixel");
}

// Per-channel mean and std of level / white, exactly, from a histogram of the levels.
Normalization levelStatistics(const torch::Tensor& levels, int64_t white, const std::string& name) {
  const torch::Tensor in = levels.contiguous();
  const int64_t channels = in.size(1), plane = in.size(2) * in.size(3);
  std::vector<std::array<uint64_t, 256>> counts(static_cast<size_t>(channels));
  for (auto& c : counts) c.fill(0);
  const uint8_t* src = in.data_ptr<uint8_t>();
  for (int64_t image = 0; image < in.size(0) * channels; ++image)
    for (int64_t p = image * plane; p < (image + 1) * plane; ++p) ++counts[size_t(image % channels)][src[p]];
  Normalization n;
  for (const auto& histogram : counts) {
    uint64_t total = 0, sum = 0, squares = 0;
    for (uint64_t level = 0; level < 256; ++level) {
      total += histogram[level];
      sum += histogram[level] * level;
      squares += histogram[level] * level * level;
    }
    const double mean = double(sum) / double(total) / double(white);
    const double meanSquare = double(squares) / double(total) / double(white) / double(white);
    n.mean.push_back(mean);
    n.std.push_back(std::sqrt(std::max(meanSquare - mean * mean, 0.0)));
  }
  checkSpread(n, name);
  return n;
}

Normalization trainStatistics(const torch::Tensor& train, const std::string& name) {
  const int64_t channels = train.size(1);
  const torch::Tensor perChannel = train.transpose(0, 1).reshape({channels, -1}).to(torch::kFloat64);  // (C, N*H*W)
  const torch::Tensor mean = perChannel.mean(1);
  const torch::Tensor std = perChannel.std(1, /*unbiased=*/false);
  Normalization n;
  for (int64_t c = 0; c < channels; ++c) {
    n.mean.push_back(mean[c].item<double>());
    n.std.push_back(std[c].item<double>());
  }
  checkSpread(n, name);
  return n;
}

void normalizeInPlace(torch::Tensor& images, const Normalization& n) {
  const int64_t channels = images.size(1);
  const auto mean = torch::tensor(std::vector<float>(n.mean.begin(), n.mean.end())).view({1, channels, 1, 1});
  const auto std = torch::tensor(std::vector<float>(n.std.begin(), n.std.end())).view({1, channels, 1, 1});
  images.sub_(mean).div_(std);
}

void checkImportName(const std::string& name) {
  if (!isValidBaseName(name))
    fail(ErrorKind::Usage, "dataset name '" + name + "'",
         "a dataset name starts with a letter or digit and holds only letters, digits, '.', '_' and '-'");
  if (isBuiltinDataset(name)) fail(ErrorKind::Usage, "dataset name '" + name + "'", "is a built-in dataset's name");
}

void addCommonImportFields(json& def, const DatasetImportOptions& options, bool hasTest) {
  if (!hasTest) def["test_fraction"] = options.testFraction;
  if (options.numClasses != 0) def["num_classes"] = options.numClasses;
  if (!options.classNames.empty()) def["class_names"] = options.classNames;
  def["validation_fraction"] = kDefaultValidationFraction;
  def["split_seed"] = kDefaultSplitSeed;
}

}  // namespace

json builtinDefinition(const std::string& name) {
  if (name == "fashion-mnist") {
    const std::string dir = envOr("IGPG_FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist");
    return {
        {"kind", "builtin"},
        {"builtin", name},
        {"format", "idx"},
        {"train", {{"images", dir + "/train-images-idx3-ubyte.gz"}, {"labels", dir + "/train-labels-idx1-ubyte.gz"}}},
        {"test", {{"images", dir + "/t10k-images-idx3-ubyte.gz"}, {"labels", dir + "/t10k-labels-idx1-ubyte.gz"}}},
        {"num_classes", 10},
        {"class_names", fashionMnistClassNames()},
        {"normalization", {{"mean", {0.2860}}, {"std", {0.3530}}}},
        {"validation_fraction", kDefaultValidationFraction},
        {"split_seed", kDefaultSplitSeed}};
  }
  if (name == "digits") {
    std::vector<std::string> names;
    for (int d = 0; d < 10; ++d) names.push_back(std::to_string(d));
    return {{"kind", "builtin"},
            {"builtin", name},
            {"format", "csv"},
            {"train",
             {{"csv", envOr("IGPG_DIGITS_CSV", "/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz")}}},
            {"test_fraction", kDefaultTestFraction},
            {"csv", {{"label_column", -1}, {"header", false}, {"pixel_max", 16}}},
            {"shape", {1, 8, 8}},
            {"resize", {28, 28}},
            {"num_classes", 10},
            {"class_names", names},
            {"validation_fraction", kDefaultValidationFraction},
            {"split_seed", kDefaultSplitSeed}};
  }
  fail(ErrorKind::NotFound, "dataset '" + name + "'", "not a built-in dataset");
}

std::shared_ptr<const Dataset> loadBaseDataset(const std::string& name, const json& definition) {
  const Fields def(definition, "dataset '" + name + "' definition");
  const Settings s = readSettings(def);
  const std::string kind = def.get<std::string>("kind");
  if (kind != "builtin" && kind != s.format)
    fail(ErrorKind::Config, def.where(),
         "field 'kind' is \"" + kind + "\", expected \"builtin\" or \"" + s.format + "\"");

  // The test files decode on another thread while the (larger) train files do.
  std::future<RawPart> testRead;
  if (s.hasTest) testRead = std::async(std::launch::async, [&] { return readPart(def.sub("test"), s); });
  RawPart train = readPart(def.sub("train"), s);
  std::optional<RawPart> test;
  if (s.hasTest) test = testRead.get();
  const ImageShape sourceShape = shapeOf(train);
  if (s.shape && *s.shape != sourceShape)
    fail(ErrorKind::Mismatch, train.source,
         "images are " + sourceShape.toString() + ", the definition says " + s.shape->toString());
  if (s.normalization && (int64_t(s.normalization->mean.size()) != sourceShape.channels ||
                          int64_t(s.normalization->std.size()) != sourceShape.channels))
    fail(ErrorKind::Config, def.where(),
         "normalization needs one mean and one std per channel (" + std::to_string(sourceShape.channels) + ")");
  if (test && shapeOf(*test) != sourceShape)
    fail(ErrorKind::Format, test->source,
         "test images are " + shapeOf(*test).toString() + ", the train images " + sourceShape.toString());

  const int64_t largest = std::max(largestLabel(train), test ? largestLabel(*test) : -1);
  const int64_t numClasses = s.numClasses.value_or(largest + 1);
  if (numClasses < 2)
    fail(ErrorKind::Format, train.source,
         "every label is 0: a classification task needs at least two classes (is the label column right?)");
  for (const RawPart* part : {&train, test ? &*test : nullptr}) {
    if (part && largestLabel(*part) >= numClasses)
      fail(ErrorKind::Format, part->source,
           "label " + std::to_string(largestLabel(*part)) + " is out of range: the dataset has " +
               std::to_string(numClasses) + " classes (0.." + std::to_string(numClasses - 1) + ")");
  }
  const torch::Tensor trainCounts = torch::bincount(train.labels, {}, numClasses);
  for (int64_t c = 0; c < numClasses; ++c)
    if (trainCounts[c].item<int64_t>() == 0)
      fail(ErrorKind::Format, train.source,
           "class " + std::to_string(c) + " of 0.." + std::to_string(numClasses - 1) +
               " has no train images (is the label column right?)");
  if (!s.classNames.empty() && int64_t(s.classNames.size()) != numClasses)
    fail(ErrorKind::Config, def.where(),
         std::to_string(s.classNames.size()) + " class names for " + std::to_string(numClasses) + " classes");

  std::vector<std::pair<std::string, const RawPart*>> parts = {{"train", &train}};
  if (test) parts.emplace_back("test", &*test);
  const std::string hash = contentHash(s, sourceShape, numClasses, parts);
  if (!s.recordedHash.empty() && s.recordedHash != hash)
    fail(ErrorKind::Mismatch, "dataset '" + name + "'",
         "its files changed since they were imported (content hash " + hash.substr(0, 12) + ", recorded " +
             s.recordedHash.substr(0, 12) + "); import them again to accept the new content");

  // Carve the splits on the uint8 levels (cheap), then convert each once.
  TensorSplit testLevels;
  RawPart trainPool = train;
  if (test) {
    testLevels = {test->pixels, test->labels};
  } else {
    const Holdout h = stratifiedHoldout(train.labels, numClasses, s.testFraction, mixSeed(s.splitSeed, 1));
    testLevels = selectRows(train, h.heldOut);
    const TensorSplit kept = selectRows(train, h.kept);
    trainPool.pixels = kept.images;
    trainPool.labels = kept.labels;
  }
  const Holdout v = stratifiedHoldout(trainPool.labels, numClasses, s.validationFraction, mixSeed(s.splitSeed, 2));
  TensorSplit splits[3] = {selectRows(trainPool, v.kept), selectRows(trainPool, v.heldOut), testLevels};
  const torch::Tensor keptCounts = splits[0].classCounts(numClasses);
  for (int64_t c = 0; c < numClasses; ++c)
    if (keptCounts[c].item<int64_t>() == 0)
      fail(ErrorKind::Config, def.where(),
           "class " + std::to_string(c) + " keeps no train images once the test and validation images are held out");
  // Without resizing, the levels map straight to normalized values (statistics from the
  // train split's histogram); with it, normalization follows the interpolation.
  Normalization normalization;
  if (!s.resize) {
    normalization = s.normalization ? *s.normalization : levelStatistics(splits[0].images, s.white, name);
    const LevelTables tables = levelTables(sourceShape.channels, s.white, &normalization);
    for (TensorSplit& split : splits) split.images = lookUpLevels(split.images, tables);
  } else {
    const LevelTables tables = levelTables(sourceShape.channels, s.white, nullptr);
    for (TensorSplit& split : splits) split.images = resized(lookUpLevels(split.images, tables), *s.resize);
    normalization = s.normalization ? *s.normalization : trainStatistics(splits[0].images, name);
    for (TensorSplit& split : splits) normalizeInPlace(split.images, normalization);
  }

  DatasetInfo info;
  info.name = name;
  info.kind = kind;
  info.numClasses = numClasses;
  info.shape = {sourceShape.channels, splits[0].images.size(2), splits[0].images.size(3)};
  info.classNames = s.classNames;
  for (int64_t c = int64_t(info.classNames.size()); c < numClasses; ++c) info.classNames.push_back(std::to_string(c));
  info.normalization = normalization;
  info.contentHash = hash;
  info.definition = definition;
  info.definition["num_classes"] = numClasses;
  info.definition["shape"] = shapeToJson(sourceShape);
  if (info.kind != "builtin") info.definition["content_hash"] = hash;
  return std::make_shared<const Dataset>(std::move(info), std::move(splits[0]), std::move(splits[1]),
                                         std::move(splits[2]));
}

DatasetSummary importIdxDataset(const std::string& name, const IdxImportOptions& options) {
  checkImportName(name);
  if (options.trainImages.empty() || options.trainLabels.empty())
    fail(ErrorKind::Usage, "dataset '" + name + "'", "an IDX import needs a train images file and a train labels file");
  const bool hasTest = !options.testImages.empty() || !options.testLabels.empty();
  if (hasTest && (options.testImages.empty() || options.testLabels.empty()))
    fail(ErrorKind::Usage, "dataset '" + name + "'", "test IDX files come in pairs: images and labels");
  json def = {
      {"kind", "idx"},
      {"format", "idx"},
      {"train", {{"images", absolutePath(options.trainImages)}, {"labels", absolutePath(options.trainLabels)}}}};
  if (hasTest)
    def["test"] = {{"images", absolutePath(options.testImages)}, {"labels", absolutePath(options.testLabels)}};
  addCommonImportFields(def, options, hasTest);
  return summarizeDataset(*loadBaseDataset(name, def));
}

DatasetSummary importCsvDataset(const std::string& name, const CsvImportOptions& options) {
  checkImportName(name);
  if (options.trainCsv.empty()) fail(ErrorKind::Usage, "dataset '" + name + "'", "a CSV import needs a train CSV file");
  const bool hasTest = !options.testCsv.empty();
  json def = {{"kind", "csv"},
              {"format", "csv"},
              {"train", {{"csv", absolutePath(options.trainCsv)}}},
              {"csv",
               {{"label_column", options.csv.labelColumn},
                {"header", options.csv.header},
                {"pixel_max", options.csv.pixelMax}}}};
  if (hasTest) def["test"] = {{"csv", absolutePath(options.testCsv)}};
  if (options.shape) def["shape"] = shapeToJson(*options.shape);
  addCommonImportFields(def, options, hasTest);
  return summarizeDataset(*loadBaseDataset(name, def));
}

ImageShape parseImageShape(const std::string& text, const std::string& where) {
  std::vector<int64_t> dims;
  size_t start = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i < text.size() && text[i] != 'x') continue;
    const std::string part = text.substr(start, i - start);
    if (part.empty() || part.size() > 5 || part.find_first_not_of("0123456789") != std::string::npos ||
        std::stoll(part) == 0)
      fail(ErrorKind::Usage, where, "expected CxHxW with positive sizes, e.g. 1x28x28, got '" + text + "'");
    dims.push_back(std::stoll(part));
    start = i + 1;
  }
  if (dims.size() != 3) fail(ErrorKind::Usage, where, "expected CxHxW, e.g. 1x28x28, got '" + text + "'");
  return {dims[0], dims[1], dims[2]};
}

}  // namespace igpg
