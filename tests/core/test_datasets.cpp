// Datasets and tasks: the real Fashion-MNIST and digits files, derived tasks and their
// names, splits and samples, and IDX/CSV imports with every kind of bad input.
#include "igpg_test.h"
#include "test_util.h"

#include "common/error.h"
#include "common/files.h"
#include "data/dataset.h"
#include "data/dataset_sources.h"
#include "data/image_files.h"
#include "data/sampling.h"
#include "data/task.h"

#include <torch/torch.h>
#include <zlib.h>

#include <map>
#include <optional>
#include <set>
#include <thread>

namespace {

using igpg::ErrorKind;

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// Empty when `body` throws an igpg::Error of `kind` whose where() contains `whereHas`
// and whose message contains `messageHas`; otherwise what happened instead.
template <typename F>
std::string errorProblem(F&& body, ErrorKind kind, const std::string& whereHas, const std::string& messageHas) {
  try {
    body();
  } catch (const igpg::Error& e) {
    if (e.kind() != kind) return std::string("wrong kind ") + igpg::errorKindName(e.kind()) + ": " + e.what();
    if (!contains(e.where(), whereHas)) return "where() lacks '" + whereHas + "': " + e.what();
    if (!contains(e.message(), messageHas)) return "message lacks '" + messageHas + "': " + e.what();
    return {};
  } catch (const std::exception& e) {
    return std::string("not an igpg::Error: ") + e.what();
  }
  return "no exception";
}

#define EXPECT_ERROR(kind, whereHas, messageHas, ...)                                                \
  do {                                                                                               \
    const std::string igpg_problem = errorProblem([&] { __VA_ARGS__; }, kind, whereHas, messageHas); \
    QVERIFY2(igpg_problem.empty(), igpg_problem.c_str());                                            \
  } while (0)

std::string bigEndian(uint32_t v) {
  return {char(v >> 24), char((v >> 16) & 0xff), char((v >> 8) & 0xff), char(v & 0xff)};
}

std::string idxFile(uint8_t type, const std::vector<uint32_t>& dims, const std::string& data) {
  std::string out = {0, 0, char(type), char(dims.size())};
  for (uint32_t d : dims) out += bigEndian(d);
  return out + data;
}

void writeGzip(const std::string& path, const std::string& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  if (!f || gzwrite(f, bytes.data(), unsigned(bytes.size())) != int(bytes.size()) || gzclose(f) != Z_OK)
    throw std::runtime_error("cannot write " + path);
}

// A small 3-class set whose pixels tell the image apart: image i of 4x5 has pixel
// (r, c) = (40 * label + 3 * i + r * 5 + c) % 256.
struct Synthetic {
  std::string pixels, labels;
  int64_t count = 0;
};
Synthetic synthetic(int64_t count, int64_t offset) {
  Synthetic s;
  s.count = count;
  for (int64_t i = 0; i < count; ++i) {
    const int label = int((i + offset) % 3);
    s.labels += char(label);
    for (int p = 0; p < 20; ++p) s.pixels += char((40 * label + 3 * (i + offset) + p) % 256);
  }
  return s;
}

// Writes `s` as the IDX pair dir/images, dir/labels and imports it as `name`.
igpg::DatasetSummary importSynthetic(const igpg_test::ScratchDir& dir, const std::string& name, const Synthetic& s) {
  igpg_test::writeBytes(dir.file("images"), idxFile(0x08, {uint32_t(s.count), 4, 5}, s.pixels));
  igpg_test::writeBytes(dir.file("labels"), idxFile(0x08, {uint32_t(s.count)}, s.labels));
  igpg::IdxImportOptions options;
  options.trainImages = dir.file("images");
  options.trainLabels = dir.file("labels");
  return igpg::importIdxDataset(name, options);
}

std::string csvOf(const Synthetic& s, bool labelLast, const std::string& lineEnd) {
  std::string text;
  for (int64_t i = 0; i < s.count; ++i) {
    std::string pixels;
    for (int p = 0; p < 20; ++p) pixels += (p ? "," : "") + std::to_string(uint8_t(s.pixels[size_t(i * 20 + p)]));
    const std::string label = std::to_string(int(s.labels[size_t(i)]));
    text += (labelLast ? pixels + "," + label : label + ", " + pixels) + lineEnd;
  }
  return text;
}

// A resolver over imported definitions, as the catalogue provides one.
struct Imports {
  std::map<std::string, nlohmann::json> definitions;
  void add(const igpg::DatasetSummary& s) { definitions[s.name] = s.definition; }
  igpg::DatasetResolver resolver() const {
    return [this](const std::string& base) -> std::optional<nlohmann::json> {
      auto it = definitions.find(base);
      if (it == definitions.end()) return std::nullopt;
      return it->second;
    };
  }
};

bool fashionMnistPresent() {
  return igpg::fileExists(igpg::builtinDefinition("fashion-mnist")["test"]["labels"].get<std::string>());
}

bool digitsPresent() { return igpg::fileExists(igpg::builtinDefinition("digits")["train"]["csv"].get<std::string>()); }

}  // namespace

class DatasetsTest : public QObject {
  Q_OBJECT
 private slots:
  void fashionMnistCountsAndLabels();
  void fashionMnistNormalization();
  void digitsSplits();
  void derivedTaskRelabels();
  void transformsFollowTheirLaws();
  void canonicalNamesAndHashes();
  void badTaskNames();
  void balancedSample();
  void batchIterator();
  void idxImportRoundTrip();
  void csvImportRoundTrip();
  void badIdxFiles();
  void badCsvFiles();
  void changedFilesAreDetected();
  void concurrentOpensShareOneLoad();
};

void DatasetsTest::fashionMnistCountsAndLabels() {
  if (!fashionMnistPresent()) QSKIP("Fashion-MNIST files are not installed (dataset-fashion-mnist)");
  auto ds = igpg::openDataset("fashion-mnist");
  QCOMPARE(ds->name(), std::string("fashion-mnist"));
  QCOMPARE(ds->numClasses(), int64_t(10));
  QVERIFY(ds->shape() == (igpg::ImageShape{1, 28, 28}));
  QCOMPARE(ds->train().size() + ds->validation().size(), int64_t(60000));
  QCOMPARE(ds->validation().size(), int64_t(6000));
  QCOMPARE(ds->test().size(), int64_t(10000));
  QCOMPARE(ds->test().labels[0].item<int64_t>(), int64_t(9));
  QCOMPARE(ds->classNames()[9], std::string("Ankle boot"));
  // Validation is stratified: 600 of each class's 6,000.
  QVERIFY(torch::equal(ds->validation().classCounts(10), torch::full({10}, 600, torch::kInt64)));
  QVERIFY(ds->train().images.scalar_type() == torch::kFloat32);
  QCOMPARE(ds->contentHash().size(), size_t(64));
}

void DatasetsTest::fashionMnistNormalization() {
  if (!fashionMnistPresent()) QSKIP("Fashion-MNIST files are not installed (dataset-fashion-mnist)");
  auto ds = igpg::openDataset("fashion-mnist");
  const double mean = ds->train().images.mean().item<double>(), std = ds->train().images.std().item<double>();
  QVERIFY2(std::abs(mean) < 0.01, std::to_string(mean).c_str());
  QVERIFY2(std::abs(std - 1.0) < 0.01, std::to_string(std).c_str());
  // The test images are exactly (byte / 255 - 0.2860) / 0.3530 of the file's bytes.
  const auto def = igpg::builtinDefinition("fashion-mnist");
  const torch::Tensor raw = igpg::readIdxImages(def["test"]["images"].get<std::string>());
  const torch::Tensor expected = (raw.to(torch::kFloat32) / 255.0f - 0.2860f) / 0.3530f;
  QVERIFY(torch::allclose(ds->test().images, expected, 1e-6, 1e-6));
}

void DatasetsTest::digitsSplits() {
  if (!digitsPresent()) QSKIP("digits.csv.gz is not installed (python3-sklearn)");
  auto ds = igpg::openDataset("digits");
  const int64_t train = ds->train().size(), val = ds->validation().size(), test = ds->test().size();
  QCOMPARE(train + val + test, int64_t(1797));
  QVERIFY2(test >= 355 && test <= 365, std::to_string(test).c_str());  // 20%, rounded per class
  QVERIFY2(val * 10 >= (train + val) - 60 && val * 10 <= (train + val) + 60,
           std::to_string(val).c_str());  // 10% of train
  QVERIFY(ds->shape() == (igpg::ImageShape{1, 28, 28}));
  for (igpg::Split s : {igpg::Split::Train, igpg::Split::Validation, igpg::Split::Test})
    QVERIFY(ds->split(s).classCounts(10).min().item<int64_t>() > 0);
  // Normalized with its own train statistics.
  QVERIFY(std::abs(ds->train().images.mean().item<double>()) < 1e-4);
  QVERIFY(std::abs(ds->train().images.std(false).item<double>() - 1.0) < 1e-4);
  QVERIFY(ds->normalization().mean[0] > 0.1 && ds->normalization().mean[0] < 0.5);
  // The split is a function of the seed, not of the run: a fresh load gives the same tensors.
  auto again = igpg::loadBaseDataset("digits", igpg::builtinDefinition("digits"));
  QVERIFY(torch::equal(again->test().labels, ds->test().labels));
  QVERIFY(torch::equal(again->validation().images, ds->validation().images));
  QCOMPARE(again->contentHash(), ds->contentHash());
}

void DatasetsTest::derivedTaskRelabels() {
  if (!digitsPresent()) QSKIP("digits.csv.gz is not installed (python3-sklearn)");
  auto base = igpg::openDataset("digits");
  auto task = igpg::openDataset("digits[classes=4,0,2]");
  QCOMPARE(task->numClasses(), int64_t(3));
  QCOMPARE(task->classNames(), (std::vector<std::string>{"4", "0", "2"}));
  QCOMPARE(task->kind(), std::string("derived"));
  for (igpg::Split s : {igpg::Split::Train, igpg::Split::Validation, igpg::Split::Test}) {
    const auto& t = task->split(s);
    const auto& b = base->split(s);
    QCOMPARE(t.labels.min().item<int64_t>(), int64_t(0));
    QCOMPARE(t.labels.max().item<int64_t>(), int64_t(2));
    const torch::Tensor baseCounts = b.classCounts(10);
    const torch::Tensor counts = t.classCounts(3);
    QCOMPARE(counts.sum().item<int64_t>(), t.size());
    QCOMPARE(counts[0].item<int64_t>(), baseCounts[4].item<int64_t>());
    QCOMPARE(counts[1].item<int64_t>(), baseCounts[0].item<int64_t>());
    QCOMPARE(counts[2].item<int64_t>(), baseCounts[2].item<int64_t>());
    // The same images, in base order: the task's class-0 images are the base's class-4 images.
    QVERIFY(torch::equal(t.images.index({t.labels == 0}), b.images.index({b.labels == 4})));
  }
  if (!fashionMnistPresent()) return;
  auto fm = igpg::openDataset("fashion-mnist[classes=0,2,4,6,8]");
  QCOMPARE(fm->numClasses(), int64_t(5));
  QCOMPARE(fm->classNames()[1], std::string("Pullover"));
  QVERIFY(torch::equal(fm->test().classCounts(5), torch::full({5}, 1000, torch::kInt64)));
  QCOMPARE(fm->train().size() + fm->validation().size(), int64_t(30000));
}

void DatasetsTest::transformsFollowTheirLaws() {
  torch::manual_seed(7);
  const torch::Tensor x = torch::randn({3, 2, 5, 7});  // non-square, two channels
  const std::vector<double> mean = {0.25, 0.5}, std = {0.4, 0.2};
  auto apply = [&](const torch::Tensor& images, const std::string& modifiers) {
    return igpg::applyTaskTransforms(images, igpg::parseTaskName("t[" + modifiers + "]"), mean, std);
  };
  torch::Tensor y = x;
  for (int i = 0; i < 4; ++i) y = apply(y, "rot90");
  QVERIFY(torch::equal(y, x));
  QVERIFY(torch::equal(apply(apply(x, "hflip"), "hflip"), x));
  QVERIFY(torch::allclose(apply(apply(x, "invert"), "invert"), x, 1e-5, 1e-5));
  // Invert works in pixel space: x = z * s + m becomes 1 - x, normalized again.
  const torch::Tensor m = torch::tensor({0.25f, 0.5f}).view({1, 2, 1, 1}),
                      s = torch::tensor({0.4f, 0.2f}).view({1, 2, 1, 1});
  QVERIFY(torch::allclose(apply(x, "invert"), (1 - (x * s + m) - m) / s, 1e-5, 1e-5));
  // Directions: rot90 turns counter-clockwise as displayed, hflip mirrors left-right.
  const torch::Tensor img = torch::tensor({1.f, 2.f, 3.f, 4.f, 5.f, 6.f}).view({1, 1, 2, 3});
  QVERIFY(torch::equal(apply(img, "rot90"), torch::tensor({3.f, 6.f, 2.f, 5.f, 1.f, 4.f}).view({1, 1, 3, 2})));
  QVERIFY(torch::equal(apply(img, "hflip"), torch::tensor({3.f, 2.f, 1.f, 6.f, 5.f, 4.f}).view({1, 1, 2, 3})));
  // A reduced spec does what its steps do one after the other.
  for (const std::string seq : {"rot90;hflip", "hflip;rot90", "rot270;hflip;rot90;invert", "hflip;rot180;hflip;rot90",
                                "invert;rot180;hflip;invert;hflip", "rot90;rot90;hflip;rot270"}) {
    torch::Tensor stepwise = x;
    size_t start = 0;
    for (size_t i = 0; i <= seq.size(); ++i)
      if (i == seq.size() || seq[i] == ';') {
        stepwise = apply(stepwise, seq.substr(start, i - start));
        start = i + 1;
      }
    const igpg::TaskSpec spec = igpg::parseTaskName("t[" + seq + "]");
    const torch::Tensor reduced = spec.derived() ? apply(x, spec.canonicalModifiers()) : x;
    QVERIFY2(reduced.sizes() == stepwise.sizes() && torch::allclose(reduced, stepwise, 1e-5, 1e-5), seq.c_str());
  }
}

void DatasetsTest::canonicalNamesAndHashes() {
  QCOMPARE(igpg::canonicalDatasetName("digits[ rot90; classes = 0, 1,2 ; HFLIP ]"),
           std::string("digits[classes=0,1,2;hflip;rot270]"));
  QCOMPARE(igpg::canonicalDatasetName(" digits [hflip;hflip] "), std::string("digits"));
  QCOMPARE(igpg::canonicalDatasetName("digits[rot90;rot90]"), igpg::canonicalDatasetName("digits[rot180]"));
  QCOMPARE(igpg::canonicalDatasetName("digits[classes=007,3]"), std::string("digits[classes=7,3]"));
  QCOMPARE(igpg::canonicalDatasetName("fashion-mnist[invert;invert;invert]"), std::string("fashion-mnist[invert]"));
  if (!digitsPresent()) QSKIP("digits.csv.gz is not installed (python3-sklearn)");
  auto a = igpg::openDataset("digits[classes=0,1,2;rot90]");
  auto b = igpg::openDataset("digits[ ROT90 ;classes=0 ,1, 2]");
  QCOMPARE(a->name(), std::string("digits[classes=0,1,2;rot90]"));
  QVERIFY(a == b);  // one cached object for both spellings
  QCOMPARE(a->contentHash(), b->contentHash());
  std::set<std::string> hashes;
  for (const std::string name :
       {"digits", "digits[classes=0,1,2]", "digits[classes=2,1,0]", "digits[classes=0,1,2;rot90]",
        "digits[classes=0,1,2;rot270]", "digits[hflip]", "digits[invert]"})
    hashes.insert(igpg::openDataset(name)->contentHash());
  QCOMPARE(hashes.size(), size_t(7));
  QCOMPARE(igpg::openDataset("digits[rot90;rot270]")->contentHash(), igpg::openDataset("digits")->contentHash());
}

void DatasetsTest::badTaskNames() {
  EXPECT_ERROR(ErrorKind::Usage, "digits[rot45]", "unknown transform 'rot45'", igpg::parseTaskName("digits[rot45]"));
  EXPECT_ERROR(ErrorKind::Usage, "", "class 2 is listed twice", igpg::parseTaskName("digits[classes=1,2,2]"));
  EXPECT_ERROR(ErrorKind::Usage, "", "'x' is not a non-negative integer", igpg::parseTaskName("digits[classes=1,x]"));
  EXPECT_ERROR(ErrorKind::Usage, "", "'-1' is not a non-negative integer", igpg::parseTaskName("digits[classes=-1,2]"));
  EXPECT_ERROR(ErrorKind::Usage, "", "at least two classes", igpg::parseTaskName("digits[classes=3]"));
  EXPECT_ERROR(ErrorKind::Usage, "", "empty entry", igpg::parseTaskName("digits[classes=1,,2]"));
  EXPECT_ERROR(ErrorKind::Usage, "", "missing ']'", igpg::parseTaskName("digits[rot90"));
  EXPECT_ERROR(ErrorKind::Usage, "", "empty modifier list", igpg::parseTaskName("digits[ ]"));
  EXPECT_ERROR(ErrorKind::Usage, "", "empty modifier", igpg::parseTaskName("digits[rot90;]"));
  EXPECT_ERROR(ErrorKind::Usage, "", "given twice", igpg::parseTaskName("digits[classes=0,1;classes=2,3]"));
  EXPECT_ERROR(ErrorKind::Usage, "", "unknown modifier 'labels=1,2'", igpg::parseTaskName("digits[labels=1,2]"));
  EXPECT_ERROR(ErrorKind::Usage, "", "no base dataset", igpg::parseTaskName("[rot90]"));
  EXPECT_ERROR(ErrorKind::Usage, "", "unexpected '['", igpg::parseTaskName("digits[[rot90]]"));
  EXPECT_ERROR(ErrorKind::Usage, "", "modifiers go in [...]", igpg::parseTaskName("digits rot90"));
  EXPECT_ERROR(ErrorKind::Usage, "", "out of range", igpg::parseTaskName("digits[classes=1,99999999999]"));
  EXPECT_ERROR(ErrorKind::NotFound, "dataset 'cifar10'", "fashion-mnist, digits", igpg::openDataset("cifar10[rot90]"));
  if (!digitsPresent()) QSKIP("digits.csv.gz is not installed (python3-sklearn)");
  EXPECT_ERROR(ErrorKind::Usage, "digits[classes=1,12]", "class 12 is out of range: digits has classes 0..9",
               igpg::openDataset("digits[classes=1,12]"));
}

void DatasetsTest::balancedSample() {
  if (!digitsPresent()) QSKIP("digits.csv.gz is not installed (python3-sklearn)");
  auto ds = igpg::openDataset("digits");
  const igpg::TensorSplit a = ds->balancedSample(5, 42);
  QCOMPARE(a.size(), int64_t(50));
  QVERIFY(torch::equal(a.labels, torch::arange(10, torch::kInt64).repeat_interleave(5)));
  const igpg::TensorSplit again = ds->balancedSample(5, 42);
  QVERIFY(torch::equal(a.images, again.images));
  const igpg::TensorSplit other = ds->balancedSample(5, 43);
  QVERIFY(!torch::equal(a.images, other.images));
  const igpg::TensorSplit test = ds->balancedSample(3, 42, igpg::Split::Test);
  QVERIFY(torch::equal(test.classCounts(10), torch::full({10}, 3, torch::kInt64)));
  auto task = igpg::openDataset("digits[classes=3,7]");
  QVERIFY(torch::equal(task->balancedSample(5, 1).classCounts(2), torch::full({2}, 5, torch::kInt64)));
  EXPECT_ERROR(ErrorKind::Mismatch, "dataset 'digits'", "fewer than the 1000 asked for", ds->balancedSample(1000, 1));
  EXPECT_ERROR(ErrorKind::Config, "", "at least 1", ds->balancedSample(0, 1));
}

void DatasetsTest::batchIterator() {
  igpg::TensorSplit split{torch::arange(10, torch::kFloat32).view({10, 1, 1, 1}), torch::arange(10, torch::kInt64)};
  // The labels seen in order and the batch sizes; a batch whose images and labels parted
  // ways, or a wrong batchCount(), shows as a -1 label.
  auto epochOrder = [&](int64_t epoch, bool shuffle, bool dropLast) {
    igpg::BatchIterator it(split, {4, shuffle, 5, dropLast}, epoch);
    std::vector<int64_t> seen, sizes;
    igpg::TensorSplit batch;
    while (it.next(batch)) {
      sizes.push_back(batch.size());
      const bool paired = torch::equal(batch.images.flatten().to(torch::kInt64), batch.labels);
      for (int64_t i = 0; i < batch.size(); ++i) seen.push_back(paired ? batch.labels[i].item<int64_t>() : -1);
    }
    if (int64_t(sizes.size()) != it.batchCount()) seen.push_back(-1);
    return std::make_pair(seen, sizes);
  };
  const auto plain = epochOrder(0, false, false);
  QCOMPARE(plain.first, (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  QCOMPARE(plain.second, (std::vector<int64_t>{4, 4, 2}));
  const auto shuffled = epochOrder(0, true, false);
  QVERIFY(shuffled.first != plain.first);
  std::vector<int64_t> sorted = shuffled.first;
  std::sort(sorted.begin(), sorted.end());
  QCOMPARE(sorted, plain.first);  // every row once
  QCOMPARE(epochOrder(0, true, false).first, shuffled.first);
  QVERIFY(epochOrder(1, true, false).first != shuffled.first);
  QCOMPARE(epochOrder(0, true, true).second, (std::vector<int64_t>{4, 4}));
  // The permutation itself is fixed by its seed on every machine.
  QCOMPARE(igpg::seededPermutation(6, 1), igpg::seededPermutation(6, 1));
  QVERIFY(igpg::seededPermutation(20, 1) != igpg::seededPermutation(20, 2));
}

void DatasetsTest::idxImportRoundTrip() {
  igpg_test::ScratchDir dir("idx");
  const Synthetic train = synthetic(30, 0), test = synthetic(9, 100);
  igpg_test::writeBytes(dir.file("train-images"), idxFile(0x08, {30, 4, 5}, train.pixels));
  igpg_test::writeBytes(dir.file("train-labels"), idxFile(0x08, {30}, train.labels));
  writeGzip(dir.file("test-images.gz"), idxFile(0x08, {9, 4, 5}, test.pixels));
  // Two gzip members, as `cat a.gz b.gz` makes them.
  const std::string labels = idxFile(0x08, {9}, test.labels);
  writeGzip(dir.file("a.gz"), labels.substr(0, 7));
  writeGzip(dir.file("b.gz"), labels.substr(7));
  igpg_test::writeBytes(dir.file("test-labels.gz"),
                        igpg_test::readBytes(dir.file("a.gz")) + igpg_test::readBytes(dir.file("b.gz")));

  igpg::IdxImportOptions options;
  options.trainImages = dir.file("train-images");
  options.trainLabels = dir.file("train-labels");
  options.testImages = dir.file("test-images.gz");
  options.testLabels = dir.file("test-labels.gz");
  options.classNames = {"a", "b", "c"};
  const igpg::DatasetSummary s = igpg::importIdxDataset("tiny-idx", options);
  QCOMPARE(s.kind, std::string("idx"));
  QCOMPARE(s.numClasses, int64_t(3));
  QVERIFY(s.shape == (igpg::ImageShape{1, 4, 5}));
  QCOMPARE(s.trainCount + s.validationCount, int64_t(30));
  QCOMPARE(s.validationCount, int64_t(3));  // one per class
  QCOMPARE(s.testCount, int64_t(9));
  QCOMPARE(s.definition["content_hash"].get<std::string>(), s.contentHash);
  QCOMPARE(s.definition["train"]["images"].get<std::string>(), options.trainImages);

  Imports imports;
  imports.add(s);
  auto ds = igpg::openDataset("tiny-idx", imports.resolver());
  QCOMPARE(ds->contentHash(), s.contentHash);
  QCOMPARE(ds->classNames()[2], std::string("c"));
  // Pixels come back as (byte / 255 - mean) / std with the train split's own statistics.
  const auto& n = ds->normalization();
  const torch::Tensor raw =
      torch::tensor(std::vector<uint8_t>(test.pixels.begin(), test.pixels.end())).view({9, 1, 4, 5});
  QVERIFY(torch::allclose(ds->test().images, (raw.to(torch::kFloat32) / 255.0f - float(n.mean[0])) / float(n.std[0]),
                          1e-5, 1e-5));
  QVERIFY(torch::equal(ds->test().labels, torch::tensor({1, 2, 0, 1, 2, 0, 1, 2, 0}, torch::kInt64)));
  QVERIFY(std::abs(ds->train().images.mean().item<double>()) < 1e-4);
  // Compression does not change the content: the same data all plain gives the same hash.
  writeGzip(dir.file("train-images.gz"), idxFile(0x08, {30, 4, 5}, train.pixels));
  igpg_test::writeBytes(dir.file("test-labels"), labels);
  options.trainImages = dir.file("train-images.gz");
  options.testLabels = dir.file("test-labels");
  QCOMPARE(igpg::importIdxDataset("tiny-idx-2", options).contentHash, s.contentHash);
  // A derived task of an import.
  auto task = igpg::openDataset("tiny-idx[classes=2,0;rot90]", imports.resolver());
  QVERIFY(task->shape() == (igpg::ImageShape{1, 5, 4}));
  QCOMPARE(task->classNames(), (std::vector<std::string>{"c", "a"}));
  // Without a test pair, a seeded fraction of train becomes the test split.
  options.testImages.clear();
  options.testLabels.clear();
  options.testFraction = 0.2;
  const igpg::DatasetSummary carved = igpg::importIdxDataset("tiny-carved", options);
  QCOMPARE(carved.testCount, int64_t(6));  // round(0.2 * 10) per class
  QCOMPARE(carved.definition["test_fraction"].get<double>(), 0.2);
  options.testFraction = 0.95;
  EXPECT_ERROR(ErrorKind::Config, "dataset 'tiny-carved'", "class 0 keeps no train images",
               igpg::importIdxDataset("tiny-carved", options));

  EXPECT_ERROR(ErrorKind::Usage, "dataset name 'digits'", "built-in", igpg::importIdxDataset("digits", options));
  EXPECT_ERROR(ErrorKind::Usage, "dataset name 'my data'", "letters, digits",
               igpg::importIdxDataset("my data", options));
  options.testImages = dir.file("train-images");
  EXPECT_ERROR(ErrorKind::Usage, "", "in pairs", igpg::importIdxDataset("half-test", options));
}

void DatasetsTest::csvImportRoundTrip() {
  igpg_test::ScratchDir dir("csv");
  const Synthetic train = synthetic(30, 0);
  // Label last, a header line, CRLF ends, a blank line, and floats that are integers.
  std::string text = "p0";
  for (int p = 1; p < 20; ++p) text += ",p" + std::to_string(p);
  std::string body = csvOf(train, true, "\r\n");
  body.insert(body.find("\r\n"), ".0");  // the first label reads "0.0"
  text += ",label\r\n" + body + "\r\n";
  writeGzip(dir.file("train.csv.gz"), text);

  igpg::CsvImportOptions options;
  options.trainCsv = dir.file("train.csv.gz");
  options.csv.labelColumn = -1;
  options.csv.header = true;
  options.shape = igpg::ImageShape{1, 4, 5};
  options.testFraction = 0.2;
  const igpg::DatasetSummary s = igpg::importCsvDataset("tiny-csv", options);
  QCOMPARE(s.kind, std::string("csv"));
  QCOMPARE(s.numClasses, int64_t(3));
  QCOMPARE(s.trainCount + s.validationCount + s.testCount, int64_t(30));
  QCOMPARE(s.testCount, int64_t(6));

  // The same images as IDX files with the same split settings decode to the same content.
  igpg_test::writeBytes(dir.file("images"), idxFile(0x08, {30, 4, 5}, train.pixels));
  igpg_test::writeBytes(dir.file("labels"), idxFile(0x08, {30}, train.labels));
  igpg::IdxImportOptions idx;
  idx.trainImages = dir.file("images");
  idx.trainLabels = dir.file("labels");
  idx.testFraction = 0.2;
  QCOMPARE(igpg::importIdxDataset("tiny-as-idx", idx).contentHash, s.contentHash);

  // Label first, plain file, shape inferred only when square: 20 pixels are not.
  igpg_test::writeBytes(dir.file("plain.csv"), "\xEF\xBB\xBF" + csvOf(train, false, "\n"));  // with a UTF-8 mark
  igpg::CsvImportOptions plain;
  plain.trainCsv = dir.file("plain.csv");
  EXPECT_ERROR(ErrorKind::Format, dir.file("plain.csv"), "neither SxS nor 3xSxS",
               igpg::importCsvDataset("tiny-plain", plain));
  plain.shape = igpg::ImageShape{1, 4, 5};
  plain.testFraction = 0.2;
  QCOMPARE(igpg::importCsvDataset("tiny-plain", plain).contentHash, s.contentHash);
  plain.shape = igpg::ImageShape{1, 2, 2};
  EXPECT_ERROR(ErrorKind::Format, dir.file("plain.csv"), "shape 1x2x2 needs 4",
               igpg::importCsvDataset("tiny-plain", plain));

  // 3 x 2 x 2 = 12 pixels per line: inferred as three channels.
  std::string rgb;
  for (int i = 0; i < 8; ++i) {
    rgb += std::to_string(i % 2);
    for (int p = 0; p < 12; ++p) rgb += "," + std::to_string((i * 12 + p * 7) % 256);
    rgb += "\n";
  }
  igpg_test::writeBytes(dir.file("rgb.csv"), rgb);
  igpg::CsvImportOptions colour;
  colour.trainCsv = dir.file("rgb.csv");
  colour.testCsv = dir.file("rgb.csv");
  const igpg::DatasetSummary c = igpg::importCsvDataset("tiny-rgb", colour);
  QVERIFY(c.shape == (igpg::ImageShape{3, 2, 2}));
  Imports imports;
  imports.add(c);
  QCOMPARE(int64_t(igpg::openDataset("tiny-rgb", imports.resolver())->normalization().mean.size()), int64_t(3));
}

void DatasetsTest::badIdxFiles() {
  igpg_test::ScratchDir dir("badidx");
  const Synthetic s = synthetic(6, 0);
  const std::string images = idxFile(0x08, {6, 4, 5}, s.pixels);
  auto write = [&](const std::string& name, const std::string& bytes) {
    igpg_test::writeBytes(dir.file(name), bytes);
    return dir.file(name);
  };
  EXPECT_ERROR(ErrorKind::Format, "cut", "truncated: the header promises 120 bytes",
               igpg::readIdxImages(write("cut", images.substr(0, images.size() - 1))));
  EXPECT_ERROR(ErrorKind::Format, "long", "1 unexpected bytes", igpg::readIdxImages(write("long", images + "x")));
  EXPECT_ERROR(ErrorKind::Format, "header", "truncated IDX header",
               igpg::readIdxImages(write("header", images.substr(0, 10))));
  EXPECT_ERROR(ErrorKind::Format, "magic", "not an IDX file: magic 0x89504E47",
               igpg::readIdxImages(write("magic", "\x89PNG\r\n\x1a\n" + images)));
  EXPECT_ERROR(ErrorKind::Format, "floats", "0x0D (float32) is not supported",
               igpg::readIdxImages(write("floats", idxFile(0x0D, {1, 1, 1}, "abcd"))));
  EXPECT_ERROR(ErrorKind::Format, "labels-as-images", "1 dimension(s), expected 3",
               igpg::readIdxImages(write("labels-as-images", idxFile(0x08, {6}, s.labels))));
  EXPECT_ERROR(ErrorKind::Format, "images-as-labels", "3 dimension(s), expected 1",
               igpg::readIdxLabels(write("images-as-labels", images)));
  EXPECT_ERROR(ErrorKind::Format, "empty", "too short", igpg::readIdxLabels(write("empty", "")));
  EXPECT_ERROR(ErrorKind::NotFound, "missing", "no such file", igpg::readIdxLabels(dir.file("missing")));
  writeGzip(dir.file("whole.gz"), images);
  const std::string gz = igpg_test::readBytes(dir.file("whole.gz"));
  EXPECT_ERROR(ErrorKind::Format, "cut.gz", "truncated gzip",
               igpg::readIdxImages(write("cut.gz", gz.substr(0, gz.size() - 30))));
  std::string corrupt = gz;
  corrupt[12] = char(corrupt[12] ^ 0x5a);
  corrupt[13] = char(corrupt[13] ^ 0xa5);
  EXPECT_ERROR(ErrorKind::Format, "corrupt.gz", "gzip", igpg::readIdxImages(write("corrupt.gz", corrupt)));
  EXPECT_ERROR(ErrorKind::Format, "whole.gz", "inflates to more than 100 bytes",
               igpg::readMaybeGzip(dir.file("whole.gz"), 100));
  QCOMPARE(igpg::readMaybeGzip(dir.file("whole.gz")).size(), images.size());
  EXPECT_ERROR(ErrorKind::Format, "garbage.gz", "garbage after the gzip data",
               igpg::readIdxImages(write("garbage.gz", gz + "junk")));

  // Pair checks happen at import, naming the labels file.
  write("images", images);
  igpg::IdxImportOptions options;
  options.trainImages = dir.file("images");
  options.trainLabels = write("five-labels", idxFile(0x08, {5}, s.labels.substr(0, 5)));
  EXPECT_ERROR(ErrorKind::Format, "five-labels", "5 labels, but", igpg::importIdxDataset("pair", options));
  std::string gap = s.labels;
  for (char& c : gap) c = c == 1 ? 2 : c;  // classes 0 and 2 only
  options.trainLabels = write("gap-labels", idxFile(0x08, {6}, gap));
  EXPECT_ERROR(ErrorKind::Format, "gap-labels", "class 1 of 0..2 has no train images",
               igpg::importIdxDataset("pair", options));
  options.trainLabels = write("labels", idxFile(0x08, {6}, s.labels));
  options.numClasses = 2;
  EXPECT_ERROR(ErrorKind::Format, "labels", "label 2 is out of range", igpg::importIdxDataset("pair", options));
  options.numClasses = 0;
  options.classNames = {"x", "y"};
  EXPECT_ERROR(ErrorKind::Config, "dataset 'pair'", "2 class names for 3 classes",
               igpg::importIdxDataset("pair", options));
  options.classNames.clear();
  options.testImages = write("wide", idxFile(0x08, {1, 4, 6}, std::string(24, 'x')));
  options.testLabels = write("one-label", idxFile(0x08, {1}, std::string(1, '\0')));
  EXPECT_ERROR(ErrorKind::Format, "one-label", "test images are 1x4x6, the train images 1x4x5",
               igpg::importIdxDataset("pair", options));
}

void DatasetsTest::badCsvFiles() {
  igpg_test::ScratchDir dir("badcsv");
  auto import = [&](const std::string& name, const std::string& text, int64_t labelColumn = 0) {
    igpg_test::writeBytes(dir.file(name), text);
    igpg::CsvImportOptions options;
    options.trainCsv = dir.file(name);
    options.csv.labelColumn = labelColumn;
    options.shape = igpg::ImageShape{1, 1, 2};
    return igpg::importCsvDataset("bad", options);
  };
  EXPECT_ERROR(ErrorKind::Format, "short.csv:3", "2 cells, expected 3 like line 1",
               import("short.csv", "0,1,2\n1,3,4\n0,5\n"));
  EXPECT_ERROR(ErrorKind::Format, "word.csv:2", "column 2 (0-based): 'abc' is not a number",
               import("word.csv", "0,1,2\n1,3,abc\n"));
  EXPECT_ERROR(ErrorKind::Format, "header.csv:1", "read it as a header", import("header.csv", "label,a,b\n0,1,2\n"));
  EXPECT_ERROR(ErrorKind::Format, "neg.csv:2", "label -1 in column 0 is out of range",
               import("neg.csv", "0,1,2\n-1,3,4\n"));
  EXPECT_ERROR(ErrorKind::Format, "half.csv:1", "label 0.5", import("half.csv", "0.5,1,2\n"));
  EXPECT_ERROR(ErrorKind::Format, "bright.csv:2", "pixel 256 in column 1 is out of range: pixels are integers 0..255",
               import("bright.csv", "0,1,2\n1,256,4\n"));
  EXPECT_ERROR(ErrorKind::Format, "frac.csv:1", "pixel 1.5", import("frac.csv", "0,1.5,2\n"));
  EXPECT_ERROR(ErrorKind::Format, "one.csv", "class 1 of 0..2 has no train images",
               import("one.csv", "0,1,2\n2,3,4\n"));
  EXPECT_ERROR(ErrorKind::Format, "empty.csv", "no data lines", import("empty.csv", "\n  \n"));
  EXPECT_ERROR(ErrorKind::Format, "single.csv:1", "found 1 cell", import("single.csv", "0;1;2\n"));
  EXPECT_ERROR(ErrorKind::Config, "col.csv:1", "label column 5 does not exist", import("col.csv", "0,1,2\n", 5));
  EXPECT_ERROR(ErrorKind::Config, "col.csv:1", "label column -4 does not exist", import("col.csv", "0,1,2\n", -4));
  EXPECT_ERROR(ErrorKind::Usage, "--shape", "expected CxHxW", igpg::parseImageShape("28x28", "--shape"));
  EXPECT_ERROR(ErrorKind::Usage, "--shape", "positive sizes", igpg::parseImageShape("1x0x28", "--shape"));
  QVERIFY(igpg::parseImageShape("3x32x30", "--shape") == (igpg::ImageShape{3, 32, 30}));
}

void DatasetsTest::changedFilesAreDetected() {
  igpg_test::ScratchDir dir("changed");
  const Synthetic s = synthetic(12, 0);
  Imports imports;
  imports.add(importSynthetic(dir, "will-change", s));
  std::string pixels = s.pixels;
  pixels[0] = char(pixels[0] + 1);
  igpg_test::writeBytes(dir.file("images"), idxFile(0x08, {12, 4, 5}, pixels));
  EXPECT_ERROR(ErrorKind::Mismatch, "dataset 'will-change'", "changed since they were imported",
               igpg::openDataset("will-change", imports.resolver()));
  EXPECT_ERROR(ErrorKind::NotFound, "dataset 'never-imported'", "unknown dataset",
               igpg::openDataset("never-imported", imports.resolver()));
  nlohmann::json broken = imports.definitions["will-change"];
  broken.erase("train");
  imports.definitions["broken"] = broken;
  EXPECT_ERROR(ErrorKind::Config, "dataset 'broken' definition", "missing field 'train'",
               igpg::openDataset("broken", imports.resolver()));
}

void DatasetsTest::concurrentOpensShareOneLoad() {
  igpg_test::ScratchDir dir("threads");
  Imports imports;
  imports.add(importSynthetic(dir, "shared", synthetic(300, 0)));
  const auto resolver = imports.resolver();
  std::vector<std::shared_ptr<const igpg::Dataset>> bases(4), tasks(4);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      bases[t] = igpg::openDataset("shared", resolver);
      tasks[t] = igpg::openDataset("shared[classes=1,2;hflip]", resolver);
    });
  for (auto& t : threads) t.join();
  for (size_t t = 1; t < 4; ++t) {
    QVERIFY(bases[t] == bases[0]);
    QVERIFY(tasks[t] == tasks[0]);
  }
  QCOMPARE(tasks[0]->numClasses(), int64_t(2));
}

IGPG_TEST_MAIN(DatasetsTest)
#include "test_datasets.moc"
