// The studio's zoo table over 100,000 models: every page it asks for (sorted, filtered,
// deep offsets) must come back in milliseconds, and be the right rows.
#include "igpg_test.h"
#include "test_util.h"

#include "catalogue/catalogue.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>

namespace {

using igpg::Catalogue;

constexpr int64_t kModels = 100000;
// Generous next to what it measures (0.2 to 8 ms a page on a loaded 2-core machine), yet
// a page that scans, joins and sorts the whole table (about 500 ms there before the
// indexes and the two-step page query) fails it.
constexpr double kPageBoundMs = 60;

const char* const kFamilies[] = {"mlp", "cnn", "resnet", "vit", "lenet"};

struct Row {
  int64_t id;
  std::string architecture, family, dataset;
  double top1;
  int64_t epoch;
};

// Milliseconds of the fastest of a few runs: the machine is shared, and the best run is
// the one that measures the query rather than the neighbours.
template <typename F>
double bestMs(F&& f) {
  double best = 1e9;
  for (int i = 0; i < 5; ++i) {
    const auto start = std::chrono::steady_clock::now();
    f();
    best = std::min(best, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  return best;
}

}  // namespace

class CataloguePagingTest : public QObject {
  Q_OBJECT
 private slots:
  void initTestCase();
  void cleanupTestCase();
  void pagesSortedByAccuracy();
  void pagesFilteredAndSorted();
  void pagesSortedWithoutAnIndex();
  void countsAreFast();

 private:
  void checkTime(const char* what, double ms);
  igpg_test::ScratchDir* dir_ = nullptr;
  std::unique_ptr<Catalogue> catalogue_;
  std::vector<Row> rows_;
};

void CataloguePagingTest::initTestCase() {
  dir_ = new igpg_test::ScratchDir("paging");
  catalogue_ = Catalogue::open(dir_->file("c.db"));
  for (int a = 0; a < 20; ++a) {
    igpg::ArchitectureRecord r;
    r.name = std::string(kFamilies[a % 5]) + "-" + std::to_string(a);
    r.family = kFamilies[a % 5];
    catalogue_->upsertArchitecture(r);
  }
  for (int d = 0; d < 10; ++d) {
    igpg::DatasetRecord r;
    r.name = "dataset-" + std::to_string(d);
    catalogue_->upsertDataset(r);
  }
  // One shared blob: the rows are what is measured here.
  igpg::StateDict w;
  w.add("w", torch::ones({2}));
  Catalogue::BlobBatch blobs(*catalogue_);
  const std::string sha = blobs.store(w);
  std::vector<igpg::ModelRecord> records;
  records.reserve(size_t(kModels));
  uint64_t state = 12345;  // fixed LCG: the same zoo on every run
  auto next = [&] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return state >> 33;
  };
  for (int64_t i = 0; i < kModels; ++i) {
    const int a = int(next() % 20), d = int(next() % 10);
    igpg::ModelRecord m;
    m.architecture = std::string(kFamilies[a % 5]) + "-" + std::to_string(a);
    m.dataset = "dataset-" + std::to_string(d);
    m.source = i % 3 ? "zoo build" : "import";
    m.seed = int64_t(next() % 1000);
    m.epoch = int64_t(next() % 50);
    m.top1 = double(next() % 100000) / 100000.0;
    m.top5 = std::min(1.0, m.top1 + 0.1);
    m.loss = 1.0 - m.top1;
    m.numParams = 1000 + a;
    m.blobSha256 = sha;
    records.push_back(m);
    rows_.push_back({i + 1, m.architecture, kFamilies[a % 5], m.dataset, m.top1, m.epoch});
  }
  const auto start = std::chrono::steady_clock::now();
  const std::clock_t cpuStart = std::clock();
  const auto ids = catalogue_->addModelRecords(records);
  std::printf("inserted %lld models in one transaction in %.0f ms (%.0f ms of CPU)\n", (long long)kModels,
              std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count(),
              1000.0 * double(std::clock() - cpuStart) / CLOCKS_PER_SEC);
  blobs.keep();
  QCOMPARE(ids.front(), int64_t(1));
  QCOMPARE(ids.back(), kModels);
}

void CataloguePagingTest::cleanupTestCase() {
  catalogue_.reset();
  delete dir_;
}

void CataloguePagingTest::checkTime(const char* what, double ms) {
  std::printf("%-44s %7.2f ms\n", what, ms);
  QVERIFY2(ms < kPageBoundMs, (std::string(what) + " took " + std::to_string(ms) + " ms").c_str());
}

void CataloguePagingTest::pagesSortedByAccuracy() {
  std::vector<Row> sorted = rows_;
  std::sort(sorted.begin(), sorted.end(), [](const Row& a, const Row& b) {
    return a.top1 != b.top1 ? a.top1 > b.top1 : a.id > b.id;
  });
  igpg::ModelFilter f;
  f.orderBy = "top1";
  f.descending = true;
  f.limit = 50;
  for (int64_t offset : {int64_t(0), int64_t(50000), kModels - 50}) {
    f.offset = offset;
    std::vector<igpg::ModelRecord> page;
    checkTime(("top1 desc, offset " + std::to_string(offset)).c_str(),
              bestMs([&] { page = catalogue_->listModels(f); }));
    QCOMPARE(int(page.size()), 50);
    for (size_t i = 0; i < page.size(); ++i) QCOMPARE(page[i].id, sorted[size_t(offset) + i].id);
  }
  igpg::ModelFilter byId;
  byId.limit = 50;
  byId.offset = 70000;
  std::vector<igpg::ModelRecord> page;
  checkTime("id, offset 70000", bestMs([&] { page = catalogue_->listModels(byId); }));
  QCOMPARE(page.front().id, int64_t(70001));
}

void CataloguePagingTest::pagesFilteredAndSorted() {
  // One dataset, best first: the studio's default view of a dataset.
  igpg::ModelFilter f;
  f.dataset = "dataset-3";
  f.orderBy = "top1";
  f.descending = true;
  f.limit = 50;
  std::vector<igpg::ModelRecord> page;
  checkTime("dataset, top1 desc", bestMs([&] { page = catalogue_->listModels(f); }));
  std::vector<Row> expected;
  for (const auto& r : rows_)
    if (r.dataset == "dataset-3") expected.push_back(r);
  std::sort(expected.begin(), expected.end(), [](const Row& a, const Row& b) {
    return a.top1 != b.top1 ? a.top1 > b.top1 : a.id > b.id;
  });
  QCOMPARE(int(page.size()), 50);
  for (size_t i = 0; i < page.size(); ++i) QCOMPARE(page[i].id, expected[i].id);

  igpg::ModelFilter g;
  g.family = "resnet";
  g.minTop1 = 0.9;
  g.orderBy = "top5";
  g.limit = 50;
  g.offset = 100;
  checkTime("family + min top1, top5, offset 100", bestMs([&] { page = catalogue_->listModels(g); }));
  QCOMPARE(int(page.size()), 50);
  for (const auto& m : page) QVERIFY(m.family == "resnet" && m.top1 >= 0.9);
  for (size_t i = 1; i < page.size(); ++i) QVERIFY(page[i - 1].top5 <= page[i].top5);

  igpg::ModelFilter s;
  s.search = "vit";
  s.orderBy = "loss";
  s.limit = 50;
  checkTime("search, loss", bestMs([&] { page = catalogue_->listModels(s); }));
  QCOMPARE(int(page.size()), 50);
  for (const auto& m : page) QCOMPARE(m.family, std::string("vit"));
}

void CataloguePagingTest::pagesSortedWithoutAnIndex() {
  igpg::ModelFilter f;
  f.orderBy = "architecture";
  f.limit = 50;
  f.offset = 1000;
  std::vector<igpg::ModelRecord> page;
  checkTime("architecture name, offset 1000", bestMs([&] { page = catalogue_->listModels(f); }));
  QCOMPARE(int(page.size()), 50);
  for (const auto& m : page) QCOMPARE(m.architecture, std::string("cnn-1"));  // alphabetically first, ~5000 rows
  igpg::ModelFilter e;
  e.orderBy = "epoch";
  e.descending = true;
  e.limit = 50;
  checkTime("epoch desc", bestMs([&] { page = catalogue_->listModels(e); }));
  for (const auto& m : page) QCOMPARE(m.epoch, int64_t(49));
}

void CataloguePagingTest::countsAreFast() {
  int64_t n = 0;
  checkTime("count all", bestMs([&] { n = catalogue_->countModels(); }));
  QCOMPARE(n, kModels);
  igpg::ModelFilter f;
  f.dataset = "dataset-7";
  f.minTop1 = 0.5;
  checkTime("count dataset + min top1", bestMs([&] { n = catalogue_->countModels(f); }));
  int64_t expected = 0;
  for (const auto& r : rows_) expected += r.dataset == "dataset-7" && r.top1 >= 0.5;
  QCOMPARE(n, expected);
  igpg::ModelFilter fam;
  fam.family = "cnn";
  checkTime("count family", bestMs([&] { n = catalogue_->countModels(fam); }));
  expected = 0;
  for (const auto& r : rows_) expected += r.family == "cnn";
  QCOMPARE(n, expected);
}

IGPG_TEST_MAIN(CataloguePagingTest)
#include "test_catalogue_paging.moc"
