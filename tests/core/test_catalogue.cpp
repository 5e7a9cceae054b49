// The catalogue: schema migrations, every table's reads and writes, the blob store's
// deduplication and reference counting, failure atomicity, integrity checks, orphan
// cleanup, and several connections writing at once.
#include "igpg_test.h"
#include "test_util.h"

#include "catalogue/catalogue.h"
#include "common/error.h"
#include "common/files.h"
#include "common/sha256.h"

#include <sqlite3.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <thread>

namespace {

namespace fs = std::filesystem;
using igpg::Catalogue;

// Distinct weights for each seed, without the global RNG (the threads test calls this concurrently).
igpg::StateDict makeWeights(int64_t seed) {
  igpg::StateDict w;
  w.add("fc1.weight", torch::arange(12, torch::kFloat32).reshape({4, 3}) * 0.01 + double(seed));
  w.add("fc1.bias", torch::full({4}, -double(seed), torch::kFloat32));
  return w;
}

bool sameWeights(const igpg::StateDict& a, const igpg::StateDict& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a.entries()[i].name != b.entries()[i].name || !torch::equal(a.entries()[i].tensor, b.entries()[i].tensor))
      return false;
  return true;
}

void addLabels(Catalogue& c, const std::string& architecture, const std::string& family, const std::string& dataset) {
  igpg::ArchitectureRecord a;
  a.name = architecture;
  a.family = family;
  c.upsertArchitecture(a);
  igpg::DatasetRecord d;
  d.name = dataset;
  c.upsertDataset(d);
}

// A fresh catalogue with the two names every model row of these tests needs.
std::unique_ptr<Catalogue> openWithLabels(const std::string& path) {
  auto c = Catalogue::open(path);
  addLabels(*c, "mlp-4", "mlp", "digits");
  return c;
}

igpg::ModelRecord makeRecord(int64_t seed) {
  igpg::ModelRecord m;
  m.architecture = "mlp-4";
  m.dataset = "digits";
  m.source = "test";
  m.seed = seed;
  return m;
}

int64_t countBlobFiles(const Catalogue& c) {
  int64_t n = 0;
  for (const auto& f : igpg::BlobStore(c.blobDirectory()).files()) n += f.sha256.empty() ? 0 : 1;
  return n;
}

// A statement on the test's own connection, for looking underneath the API.
int64_t rawInt(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr);
  const int64_t v = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
  sqlite3_finalize(s);
  sqlite3_close(db);
  return v;
}

void rawExec(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
  sqlite3_close(db);
}

template <typename F>
std::string errorOf(F&& f, igpg::ErrorKind expected) {
  try {
    f();
  } catch (const igpg::Error& e) {
    if (e.kind() != expected) return std::string("wrong kind: ") + igpg::errorKindName(e.kind()) + ": " + e.what();
    return e.what();
  }
  return "no error";
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

class CatalogueTest : public QObject {
  Q_OBJECT
 private slots:
  void migratesFromEmptyFileAndReopens();
  void refusesNewerSchemaAndForeignFiles();
  void datasetsAndArchitectures();
  void modelsRoundTrip();
  void filtersSortsAndPages();
  void blobsAreSharedAndRefcounted();
  void removalInsideTransactionWaitsForCommit();
  void failedBatchLeavesNothing();
  void blobDeletedMeanwhileIsRestored();
  void corruptedAndMissingBlobsAreReported();
  void orphanCleanupSparesYoungAndReferencedBlobs();
  void runsAndMetrics();
  void samplesAndLinks();
  void embeddingCache();
  void readOnlyModeNeverWrites();
  void lockedCatalogueFailsClearly();
  void threadsWriteConcurrently();
};

void CatalogueTest::migratesFromEmptyFileAndReopens() {
  igpg_test::ScratchDir dir;
  const std::string path = dir.file("sub/folder/catalogue.db");
  {
    auto c = Catalogue::open(path);
    QCOMPARE(c->schemaVersion(), Catalogue::latestSchemaVersion());
    QVERIFY(Catalogue::latestSchemaVersion() >= 1);
    QCOMPARE(c->blobDirectory(), dir.file("sub/folder/blobs"));
    igpg::DatasetRecord d;
    d.name = "digits";
    c->upsertDataset(d);
  }
  QCOMPARE(rawInt(path, "PRAGMA user_version"), int64_t(Catalogue::latestSchemaVersion()));
  QCOMPARE(rawInt(path, "PRAGMA application_id"), int64_t(1229410375));
  for (const char* table : {"datasets", "architectures", "models", "runs", "run_metrics", "samples", "embeddings"})
    QCOMPARE(
        rawInt(path, std::string("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '") + table + "'"),
        int64_t(1));
  QCOMPARE(rawInt(path, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name LIKE 'models_%'"),
           int64_t(13));
  // WAL is a property of the file, so a fresh connection sees it.
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s, nullptr);
  sqlite3_step(s);
  QCOMPARE(std::string(reinterpret_cast<const char*>(sqlite3_column_text(s, 0))), std::string("wal"));
  sqlite3_finalize(s);
  sqlite3_close(db);

  // Re-opening applies nothing and keeps the data.
  const int64_t schemaCookie = rawInt(path, "PRAGMA schema_version");
  for (int i = 0; i < 2; ++i) {
    auto again = Catalogue::open(path);
    QCOMPARE(again->schemaVersion(), Catalogue::latestSchemaVersion());
    QCOMPARE(int(again->listDatasets().size()), 1);
  }
  QCOMPARE(rawInt(path, "PRAGMA schema_version"), schemaCookie);
}

void CatalogueTest::refusesNewerSchemaAndForeignFiles() {
  igpg_test::ScratchDir dir;
  const std::string path = dir.file("catalogue.db");
  Catalogue::open(path);
  rawExec(path, "PRAGMA user_version = " + std::to_string(Catalogue::latestSchemaVersion() + 1));
  std::string e = errorOf([&] { Catalogue::open(path); }, igpg::ErrorKind::Catalogue);
  QVERIFY2(contains(e, "newer than this igpg") && contains(e, path), e.c_str());
  e = errorOf([&] { Catalogue::open(path, Catalogue::ReadOnly); }, igpg::ErrorKind::Catalogue);
  QVERIFY2(contains(e, "newer than this igpg"), e.c_str());

  const std::string foreign = dir.file("other.db");
  rawExec(foreign, "CREATE TABLE notes(text TEXT); INSERT INTO notes VALUES('keep me')");
  e = errorOf([&] { Catalogue::open(foreign); }, igpg::ErrorKind::Catalogue);
  QVERIFY2(contains(e, "not an IGPG catalogue"), e.c_str());
  QCOMPARE(rawInt(foreign, "SELECT COUNT(*) FROM sqlite_master"), int64_t(1));  // untouched

  const std::string text = dir.file("weights.txt");
  igpg_test::writeBytes(text, std::string(4096, 'x'));
  e = errorOf([&] { Catalogue::open(text); }, igpg::ErrorKind::Catalogue);
  QVERIFY2(contains(e, "not an SQLite database") && contains(e, text), e.c_str());
  QCOMPARE(igpg_test::readBytes(text), std::string(4096, 'x'));

  e = errorOf([&] { Catalogue::open(dir.path()); }, igpg::ErrorKind::Catalogue);
  QVERIFY2(contains(e, "is a folder"), e.c_str());
  e = errorOf([&] { Catalogue::open(dir.file("absent.db"), Catalogue::ReadOnly); }, igpg::ErrorKind::NotFound);
  QVERIFY2(contains(e, "no catalogue here"), e.c_str());
  QVERIFY(!igpg::fileExists(dir.file("absent.db")));
}

void CatalogueTest::datasetsAndArchitectures() {
  igpg_test::ScratchDir dir;
  auto c = Catalogue::open(dir.file("c.db"));
  igpg::DatasetRecord d;
  d.name = "fashion-mnist";
  d.kind = "image";
  d.definition = {{"source", "/usr/share/datasets/fashion-mnist"}, {"normalize", {0.286, 0.353}}};
  d.numClasses = 10;
  d.channels = 1;
  d.height = d.width = 28;
  d.trainCount = 60000;
  d.testCount = 10000;
  d.contentHash = "abc";
  const int64_t id = c->upsertDataset(d);
  QVERIFY(id > 0);
  auto got = c->findDataset("fashion-mnist");
  QVERIFY(got.has_value());
  QCOMPARE(got->id, id);
  QVERIFY(got->definition == d.definition);
  QCOMPARE(got->numClasses, int64_t(10));
  QCOMPARE(got->width, int64_t(28));
  QCOMPARE(got->testCount, int64_t(10000));
  QCOMPARE(got->contentHash, std::string("abc"));
  QCOMPARE(got->createdAt.size(), size_t(20));  // 2025-01-31T12:00:00Z
  d.testCount = 5000;
  QCOMPARE(c->upsertDataset(d), id);  // same row, updated
  QCOMPARE(c->findDataset("fashion-mnist")->testCount, int64_t(5000));
  d.name = "digits";
  c->upsertDataset(d);
  const auto all = c->listDatasets();
  QCOMPARE(int(all.size()), 2);
  QCOMPARE(all[0].name, std::string("digits"));
  QVERIFY(!c->findDataset("cifar10").has_value());

  igpg::ArchitectureRecord a;
  a.name = "resnet18";
  a.family = "resnet";
  a.spec = {{"blocks", {2, 2, 2, 2}}};
  a.description = "ResNet-18";
  a.numParams = 11689512;
  const int64_t aid = c->upsertArchitecture(a);
  auto ga = c->findArchitecture("resnet18");
  QVERIFY(ga.has_value());
  QCOMPARE(ga->id, aid);
  QCOMPARE(ga->family, std::string("resnet"));
  QVERIFY(ga->spec == a.spec);
  QCOMPARE(ga->description, a.description);
  QCOMPARE(ga->numParams, a.numParams);
  a.description = "ResNet-18, CIFAR stem";
  QCOMPARE(c->upsertArchitecture(a), aid);
  QCOMPARE(c->findArchitecture("resnet18")->description, a.description);
  QCOMPARE(int(c->listArchitectures().size()), 1);
  QVERIFY_THROWS_EXCEPTION(igpg::Error, c->upsertArchitecture(igpg::ArchitectureRecord{}));
}

void CatalogueTest::modelsRoundTrip() {
  igpg_test::ScratchDir dir;
  auto c = openWithLabels(dir.file("c.db"));
  igpg::ModelRecord m = makeRecord(7);
  m.epoch = 12;
  m.top1 = 0.8465;
  m.loss = 0.41;
  m.metadata = {{"optimizer", "adam"}, {"lr", 0.001}};
  const igpg::StateDict w = makeWeights(7);
  const int64_t id = c->addModel(m, w);
  auto got = c->model(id);
  QVERIFY(got.has_value());
  QCOMPARE(got->architecture, std::string("mlp-4"));
  QCOMPARE(got->family, std::string("mlp"));
  QCOMPARE(got->dataset, std::string("digits"));
  QCOMPARE(got->source, std::string("test"));
  QCOMPARE(got->seed, int64_t(7));
  QCOMPARE(got->epoch, int64_t(12));
  QCOMPARE(got->top1, 0.8465);
  QVERIFY(std::isnan(got->top5));  // unknown stays unknown
  QCOMPARE(got->loss, 0.41);
  QCOMPARE(got->numParams, int64_t(16));  // counted from the weights
  QVERIFY(got->metadata == m.metadata);
  QVERIFY(igpg::BlobStore::isSha256(got->blobSha256));
  QVERIFY(sameWeights(c->loadWeights(*got), w));
  // The blob is named by the SHA-256 of its bytes.
  const std::string blob = igpg::BlobStore(c->blobDirectory()).pathFor(got->blobSha256);
  QCOMPARE(igpg::sha256Hex(igpg_test::readBytes(blob)), got->blobSha256);

  igpg::ModelRecord unknown = makeRecord(-1);
  const int64_t id2 = c->addModel(unknown, makeWeights(8));
  QCOMPARE(c->model(id2)->seed, int64_t(-1));
  QCOMPARE(c->model(id2)->epoch, int64_t(-1));

  QCOMPARE(c->countModels(), int64_t(2));
  c->removeModel(id);
  QVERIFY(!c->model(id).has_value());
  QCOMPARE(c->countModels(), int64_t(1));
  QVERIFY(!igpg::fileExists(blob));
  const std::string e = errorOf([&] { c->removeModel(id); }, igpg::ErrorKind::NotFound);
  QVERIFY2(contains(e, "model " + std::to_string(id)), e.c_str());

  igpg::ModelRecord bad = makeRecord(1);
  bad.dataset = "imagenet";
  const std::string e2 = errorOf([&] { c->addModel(bad, makeWeights(9)); }, igpg::ErrorKind::NotFound);
  QVERIFY2(contains(e2, "dataset 'imagenet' is not in the catalogue"), e2.c_str());
  QCOMPARE(c->countModels(), int64_t(1));
  QCOMPARE(countBlobFiles(*c), int64_t(1));  // the rejected model's blob was taken back
}

void CatalogueTest::filtersSortsAndPages() {
  igpg_test::ScratchDir dir;
  auto c = openWithLabels(dir.file("c.db"));
  addLabels(*c, "resnet18", "resnet", "fashion-mnist");
  const igpg::StateDict w = makeWeights(1);
  std::vector<igpg::ModelWeights> batch;
  for (int i = 0; i < 20; ++i) {
    igpg::ModelRecord m = makeRecord(i);
    m.architecture = i % 2 ? "resnet18" : "mlp-4";
    m.dataset = i % 4 < 2 ? "digits" : "fashion-mnist";
    m.source = i < 10 ? "zoo 100%_a" : "import";
    m.top1 = (i * 7 % 20) / 20.0;  // a permutation of 0, 0.05, ..., 0.95
    m.epoch = i;
    batch.push_back({m, w});
  }
  const auto ids = c->addModels(batch);
  QCOMPARE(int(ids.size()), 20);
  QCOMPARE(countBlobFiles(*c), int64_t(1));

  igpg::ModelFilter f;
  f.orderBy = "top1";
  f.descending = true;
  f.limit = 5;
  auto page = c->listModels(f);
  QCOMPARE(int(page.size()), 5);
  QCOMPARE(page[0].top1, 0.95);
  for (size_t i = 1; i < page.size(); ++i) QVERIFY(page[i - 1].top1 > page[i].top1);
  f.offset = 5;
  QCOMPARE(c->listModels(f)[0].top1, 0.70);

  igpg::ModelFilter family;
  family.family = "resnet";
  QCOMPARE(c->countModels(family), int64_t(10));
  for (const auto& m : c->listModels(family)) QCOMPARE(m.architecture, std::string("resnet18"));
  igpg::ModelFilter both;
  both.architecture = "mlp-4";
  both.dataset = "digits";
  both.minTop1 = 0.3;
  int64_t expected = 0;
  for (const auto& b : batch)
    expected += b.record.architecture == "mlp-4" && b.record.dataset == "digits" && b.record.top1 >= 0.3;
  QCOMPARE(c->countModels(both), expected);
  QCOMPARE(int64_t(c->listModels(both).size()), expected);
  igpg::ModelFilter range;
  range.minTop1 = 0.2;
  range.maxTop1 = 0.4;
  QCOMPARE(c->countModels(range), int64_t(5));
  igpg::ModelFilter search;
  search.search = "100%_";  // LIKE wildcards are matched literally
  QCOMPARE(c->countModels(search), int64_t(10));
  for (const char* literal : {"1%", "o_1"}) {  // would match as LIKE patterns
    search.search = literal;
    QCOMPARE(c->countModels(search), int64_t(0));
  }
  search.search = "FASHION";
  QCOMPARE(c->countModels(search), int64_t(10));
  igpg::ModelFilter some;
  some.ids = {ids[3], ids[5], 999999};
  QCOMPARE(c->countModels(some), int64_t(2));
  igpg::ModelFilter byArch;
  byArch.orderBy = "architecture";
  const auto sorted = c->listModels(byArch);
  QCOMPARE(sorted.front().architecture, std::string("mlp-4"));
  QCOMPARE(sorted.back().architecture, std::string("resnet18"));
  QVERIFY(sorted[0].id < sorted[1].id);  // ties broken by id
  igpg::ModelFilter badOrder;
  badOrder.orderBy = "top1; DROP TABLE models";
  QVERIFY_THROWS_EXCEPTION(igpg::Error, c->listModels(badOrder));
  QCOMPARE(c->countModels(), int64_t(20));
}

void CatalogueTest::blobsAreSharedAndRefcounted() {
  igpg_test::ScratchDir dir;
  auto c = openWithLabels(dir.file("c.db"));
  const igpg::StateDict shared = makeWeights(1);
  const int64_t a = c->addModel(makeRecord(1), shared);
  const int64_t b = c->addModel(makeRecord(2), shared);
  const int64_t other = c->addModel(makeRecord(3), makeWeights(2));
  QCOMPARE(c->model(a)->blobSha256, c->model(b)->blobSha256);
  QCOMPARE(countBlobFiles(*c), int64_t(2));
  igpg::SampleRecord s;
  s.architecture = "mlp-4";
  s.dataset = "digits";
  c->addSample(s, shared);
  QCOMPARE(countBlobFiles(*c), int64_t(2));

  const std::string sharedBlob = igpg::BlobStore(c->blobDirectory()).pathFor(c->model(a)->blobSha256);
  const std::string otherBlob = igpg::BlobStore(c->blobDirectory()).pathFor(c->model(other)->blobSha256);
  c->removeModel(a);
  QVERIFY(igpg::fileExists(sharedBlob));  // model b still uses it
  c->removeModel(b);
  QVERIFY(igpg::fileExists(sharedBlob));  // the sample still uses it
  c->removeModel(other);
  QVERIFY(!igpg::fileExists(otherBlob));
  QVERIFY(c->integrityCheck(true).ok());
}

void CatalogueTest::removalInsideTransactionWaitsForCommit() {
  igpg_test::ScratchDir dir;
  auto c = openWithLabels(dir.file("c.db"));
  const int64_t a = c->addModel(makeRecord(1), makeWeights(1));
  const int64_t b = c->addModel(makeRecord(2), makeWeights(2));
  const std::string blobA = igpg::BlobStore(c->blobDirectory()).pathFor(c->model(a)->blobSha256);
  const std::string blobB = igpg::BlobStore(c->blobDirectory()).pathFor(c->model(b)->blobSha256);
  {
    Catalogue::WriteTransaction tx(*c);
    c->removeModel(a);
    QVERIFY(igpg::fileExists(blobA));  // not before the removal is committed
    // rolled back: the row is back and its blob never went
  }
  QVERIFY(c->model(a).has_value());
  QVERIFY(igpg::fileExists(blobA));
  {
    Catalogue::WriteTransaction tx(*c);
    c->removeModel(a);
    c->removeModel(b);
    QVERIFY_THROWS_EXCEPTION(igpg::Error, c->removeModel(999));
    tx.commit();
  }
  QCOMPARE(c->countModels(), int64_t(0));
  QVERIFY(!igpg::fileExists(blobA));
  QVERIFY(!igpg::fileExists(blobB));
}

void CatalogueTest::failedBatchLeavesNothing() {
  igpg_test::ScratchDir dir;
  auto c = openWithLabels(dir.file("c.db"));
  c->addModel(makeRecord(0), makeWeights(0));
  std::vector<igpg::ModelWeights> batch;
  for (int i = 1; i <= 5; ++i) batch.push_back({makeRecord(i), makeWeights(i)});
  batch[3].record.architecture = "transformer";
  const std::string e = errorOf([&] { c->addModels(batch); }, igpg::ErrorKind::NotFound);
  QVERIFY2(contains(e, "model 4 of 5") && contains(e, "architecture 'transformer'"), e.c_str());
  QCOMPARE(c->countModels(), int64_t(1));
  QCOMPARE(countBlobFiles(*c), int64_t(1));
  QCOMPARE(c->integrityCheck().orphanBlobs, int64_t(0));
}

void CatalogueTest::blobDeletedMeanwhileIsRestored() {
  igpg_test::ScratchDir dir;
  auto c = openWithLabels(dir.file("c.db"));
  const igpg::StateDict w = makeWeights(3);
  igpg::ModelRecord r = makeRecord(3);
  {
    Catalogue::BlobBatch blobs(*c);
    r.blobSha256 = blobs.store(w);
    // As if another process removed the last model using these weights, or cleaned orphans.
    fs::remove(igpg::BlobStore(c->blobDirectory()).pathFor(r.blobSha256));
    const std::string e = errorOf([&] { c->addModelRecords({r}); }, igpg::ErrorKind::Catalogue);
    QVERIFY2(contains(e, "deleted before its row was written"), e.c_str());
    QCOMPARE(c->countModels(), int64_t(0));
    int reloads = 0;
    const auto ids = c->addModelRecords({r}, [&](size_t) {
      ++reloads;
      return w;
    });
    blobs.keep();
    QCOMPARE(reloads, 1);
    QVERIFY(sameWeights(c->loadWeights(*c->model(ids[0])), w));
  }
  QVERIFY(c->integrityCheck(true).ok());
  // A reload that does not give the same weights is refused.
  igpg::ModelRecord r2 = makeRecord(4);
  Catalogue::BlobBatch blobs(*c);
  r2.blobSha256 = blobs.store(makeWeights(4));
  fs::remove(igpg::BlobStore(c->blobDirectory()).pathFor(r2.blobSha256));
  const std::string e = errorOf([&] { c->addModelRecords({r2}, [&](size_t) { return makeWeights(5); }); },
                                igpg::ErrorKind::Mismatch);
  QVERIFY2(contains(e, "changed"), e.c_str());
  QCOMPARE(c->countModels(), int64_t(1));
}

void CatalogueTest::corruptedAndMissingBlobsAreReported() {
  igpg_test::ScratchDir dir;
  auto c = openWithLabels(dir.file("c.db"));
  const int64_t id = c->addModel(makeRecord(1), makeWeights(1));
  const igpg::ModelRecord m = *c->model(id);
  const std::string blob = igpg::BlobStore(c->blobDirectory()).pathFor(m.blobSha256);
  std::string bytes = igpg_test::readBytes(blob);
  bytes[bytes.size() - 1] ^= 0x55;
  igpg_test::writeBytes(blob, bytes);
  std::string e = errorOf([&] { c->loadWeights(m); }, igpg::ErrorKind::Catalogue);
  QVERIFY2(contains(e, "corrupted") && contains(e, "model " + std::to_string(id)), e.c_str());
  QVERIFY(c->integrityCheck(false).ok());  // present; only re-hashing sees the damage
  auto report = c->integrityCheck(true);
  QCOMPARE(int(report.problems.size()), 1);
  QVERIFY2(contains(report.problems[0], "model " + std::to_string(id)) && contains(report.problems[0], "corrupted"),
           report.problems[0].c_str());
  fs::remove(blob);
  report = c->integrityCheck(false);
  QCOMPARE(int(report.problems.size()), 1);
  QVERIFY2(contains(report.problems[0], "missing"), report.problems[0].c_str());
  e = errorOf([&] { c->loadWeights(m); }, igpg::ErrorKind::NotFound);
  QVERIFY2(contains(e, "missing"), e.c_str());
}

void CatalogueTest::orphanCleanupSparesYoungAndReferencedBlobs() {
  igpg_test::ScratchDir dir;
  auto c = openWithLabels(dir.file("c.db"));
  const int64_t kept = c->addModel(makeRecord(1), makeWeights(1));
  // An orphan (a crash between blob and row) and an interrupted write's temporary.
  const igpg::BlobStore store(c->blobDirectory());
  const auto orphan = store.store(makeWeights(2));
  const std::string temporary = store.pathFor(orphan.sha256) + ".tmp-123-0-abc";
  igpg_test::writeBytes(temporary, "half a file");
  auto report = c->integrityCheck();
  QVERIFY(report.ok());
  QCOMPARE(report.orphanBlobs, int64_t(2));
  QCOMPARE(c->cleanupOrphanBlobs(std::chrono::minutes(10)).filesRemoved, int64_t(0));  // too young
  const auto cleaned = c->cleanupOrphanBlobs(std::chrono::seconds(0));
  QCOMPARE(cleaned.filesRemoved, int64_t(2));
  QVERIFY(cleaned.bytesRemoved > 11);
  QVERIFY(!store.exists(orphan.sha256));
  QVERIFY(!igpg::fileExists(temporary));
  QVERIFY(store.exists(c->model(kept)->blobSha256));
  QVERIFY(c->integrityCheck(true).ok());
  QCOMPARE(c->integrityCheck().orphanBlobs, int64_t(0));
}

void CatalogueTest::runsAndMetrics() {
  igpg_test::ScratchDir dir;
  auto c = Catalogue::open(dir.file("c.db"));
  igpg::RunRecord tok;
  tok.kind = "tokenizer";
  tok.name = "vq-512";
  tok.config = {{"codebook", 512}, {"chunk", 64}};
  const int64_t t = c->createRun(tok);
  igpg::RunRecord prior;
  prior.kind = "prior";
  prior.parentRunId = t;
  const int64_t p = c->createRun(prior);
  auto got = c->run(t);
  QVERIFY(got.has_value());
  QCOMPARE(got->status, std::string("running"));
  QVERIFY(got->config == tok.config);
  QVERIFY(got->finishedAt.empty());
  QCOMPARE(c->run(p)->parentRunId, t);

  c->setRunCheckpoint(t, "/runs/vq.ckpt");
  c->updateRunStatus(t, "failed");
  QVERIFY(!c->run(t)->finishedAt.empty());
  c->updateRunStatus(t, "running");  // resumed
  QVERIFY(c->run(t)->finishedAt.empty());
  c->finishRun(t, "finished", {{"val_loss", 0.12}});
  got = c->run(t);
  QCOMPARE(got->status, std::string("finished"));
  QCOMPARE(got->checkpointPath, std::string("/runs/vq.ckpt"));
  QCOMPARE(got->summary["val_loss"].get<double>(), 0.12);
  QVERIFY(!got->finishedAt.empty());
  QCOMPARE(int(c->listRuns().size()), 2);
  QCOMPARE(int(c->listRuns("prior").size()), 1);
  QCOMPARE(c->listRuns("prior")[0].id, p);
  QVERIFY_THROWS_EXCEPTION(igpg::Error, c->updateRunStatus(t, "paused"));
  QVERIFY_THROWS_EXCEPTION(igpg::Error, c->finishRun(t, "running"));
  QVERIFY_THROWS_EXCEPTION(igpg::Error, c->updateRunStatus(999, "failed"));
  igpg::RunRecord orphan;
  orphan.kind = "prior";
  orphan.parentRunId = 999;
  QVERIFY_THROWS_EXCEPTION(igpg::Error, c->createRun(orphan));

  // 20,000 points in one call: the bulk path a training loop uses.
  std::vector<igpg::MetricPoint> points;
  for (int64_t step = 0; step < 10000; ++step) {
    points.push_back({step, "loss", 1.0 / double(step + 1)});
    points.push_back({step, "lr", 1e-3});
  }
  const auto start = std::chrono::steady_clock::now();
  c->addMetrics(p, points);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  std::printf("addMetrics: 20000 points in %.1f ms\n", ms);
  QVERIFY2(ms < 2000, std::to_string(ms).c_str());
  c->addMetrics(p, {{5, "loss", 42.0}, {10000, "loss", NAN}});  // replaces step 5; NaN is kept as unknown
  const auto loss = c->metrics(p, "loss");
  QCOMPARE(int(loss.size()), 10001);
  QCOMPARE(loss[5].value, 42.0);
  QCOMPARE(loss[9].value, 0.1);
  QVERIFY(std::isnan(loss.back().value));
  for (size_t i = 1; i < loss.size(); ++i) QVERIFY(loss[i].step == loss[i - 1].step + 1);
  QCOMPARE(int(c->metrics(p).size()), 20001);
  QCOMPARE(c->metrics(p)[0].name, std::string("loss"));
  QVERIFY(c->metrics(t).empty());
  QVERIFY_THROWS_EXCEPTION(igpg::Error, c->addMetrics(999, {{0, "loss", 1.0}}));
}

void CatalogueTest::samplesAndLinks() {
  igpg_test::ScratchDir dir;
  auto c = openWithLabels(dir.file("c.db"));
  igpg::RunRecord prior;
  prior.kind = "prior";
  const int64_t run = c->createRun(prior);
  igpg::SampleRecord s;
  s.runId = run;
  s.architecture = "mlp-4";
  s.dataset = "digits";
  s.seed = 42;
  s.sampling = {{"temperature", 0.8}, {"top_k", 50}};
  s.conditioning = {{"text", "mlp with 4 hidden units"}};
  s.novelty = {{"nearest_model", 3}, {"cosine", 0.91}};
  s.top1 = 0.9;
  const igpg::StateDict w = makeWeights(11);
  const int64_t id = c->addSample(s, w);
  c->addSample(igpg::SampleRecord{0, 0, "mlp-4", "digits"}, makeWeights(12));
  const auto got = c->sample(id);
  QVERIFY(got.has_value());
  QCOMPARE(got->runId, run);
  QCOMPARE(got->seed, int64_t(42));
  QVERIFY(got->sampling == s.sampling);
  QVERIFY(got->conditioning == s.conditioning);
  QVERIFY(got->novelty == s.novelty);
  QCOMPARE(got->top1, 0.9);
  QVERIFY(std::isnan(got->top5));
  QCOMPARE(got->modelId, int64_t(0));
  QVERIFY(sameWeights(c->loadWeights(*got), w));
  QCOMPARE(int(c->samples(run).size()), 1);
  QCOMPARE(int(c->samples().size()), 2);

  const int64_t model = c->addModel(makeRecord(42), w);
  c->linkSampleToModel(id, model);
  QCOMPARE(c->sample(id)->modelId, model);
  QVERIFY_THROWS_EXCEPTION(igpg::Error, c->linkSampleToModel(id, 999));
  QVERIFY_THROWS_EXCEPTION(igpg::Error, c->linkSampleToModel(999, model));
  c->removeModel(model);
  QCOMPARE(c->sample(id)->modelId, int64_t(0));  // the sample outlives the saved model
  QVERIFY(c->integrityCheck(true).ok());          // and keeps the shared blob alive
  igpg::SampleRecord bad = s;
  bad.runId = 999;
  QVERIFY_THROWS_EXCEPTION(igpg::Error, c->addSample(bad, w));
  QCOMPARE(int(c->samples().size()), 2);
}

void CatalogueTest::embeddingCache() {
  igpg_test::ScratchDir dir;
  auto c = Catalogue::open(dir.file("c.db"));
  QVERIFY(!c->cachedEmbedding("dataset", "digits", "set-encoder-v1").has_value());
  const std::vector<float> v = {0.5f, -1.25f, 3.0f, 1e-8f};
  c->storeEmbedding("dataset", "digits", "set-encoder-v1", v);
  auto got = c->cachedEmbedding("dataset", "digits", "set-encoder-v1");
  QVERIFY(got.has_value());
  QVERIFY(*got == v);
  QVERIFY(!c->cachedEmbedding("dataset", "digits", "set-encoder-v2").has_value());
  QVERIFY(!c->cachedEmbedding("architecture", "digits", "set-encoder-v1").has_value());
  c->storeEmbedding("dataset", "digits", "set-encoder-v1", {1.0f});
  QVERIFY(*c->cachedEmbedding("dataset", "digits", "set-encoder-v1") == std::vector<float>{1.0f});
  c->storeEmbedding("architecture", "empty", "e", {});
  QVERIFY(c->cachedEmbedding("architecture", "empty", "e")->empty());
}

void CatalogueTest::readOnlyModeNeverWrites() {
  igpg_test::ScratchDir dir;
  const std::string path = dir.file("c.db");
  const int64_t id = openWithLabels(path)->addModel(makeRecord(1), makeWeights(1));
  auto ro = Catalogue::open(path, Catalogue::ReadOnly);
  QCOMPARE(ro->countModels(), int64_t(1));
  QVERIFY(sameWeights(ro->loadWeights(*ro->model(id)), makeWeights(1)));
  QVERIFY(ro->integrityCheck(true).ok());
  std::string e = errorOf([&] { ro->addModel(makeRecord(2), makeWeights(2)); }, igpg::ErrorKind::Catalogue);
  QVERIFY2(contains(e, "read-only") && contains(e, path), e.c_str());
  e = errorOf([&] { ro->removeModel(id); }, igpg::ErrorKind::Catalogue);
  QVERIFY2(contains(e, "read-only"), e.c_str());
  e = errorOf([&] { ro->storeEmbedding("a", "b", "c", {1.0f}); }, igpg::ErrorKind::Catalogue);
  QVERIFY2(contains(e, "read-only"), e.c_str());
  QCOMPARE(ro->countModels(), int64_t(1));
  QCOMPARE(countBlobFiles(*ro), int64_t(1));
}

void CatalogueTest::lockedCatalogueFailsClearly() {
  igpg_test::ScratchDir dir;
  const std::string path = dir.file("c.db");
  auto writer = openWithLabels(path);
  auto blocked = Catalogue::open(path);
  blocked->setBusyTimeout(150);
  {
    Catalogue::WriteTransaction hold(*writer);
    writer->addModel(makeRecord(1), makeWeights(1));
    const auto start = std::chrono::steady_clock::now();
    const std::string e =
        errorOf([&] { blocked->addModel(makeRecord(2), makeWeights(2)); }, igpg::ErrorKind::Catalogue);
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    QVERIFY2(contains(e, "locked by another writer") && contains(e, path) && contains(e, "IGPG_BUSY_TIMEOUT_MS"),
             e.c_str());
    QVERIFY2(ms >= 140 && ms < 3000, std::to_string(ms).c_str());
    QCOMPARE(blocked->countModels(), int64_t(0));  // WAL: readers are not blocked, and see no half-written rows
    hold.commit();
  }
  QCOMPARE(blocked->countModels(), int64_t(1));
  blocked->addModel(makeRecord(2), makeWeights(2));
  QCOMPARE(writer->countModels(), int64_t(2));
  // The failed add's blob could not be taken back under the lock; it is an orphan, not a row.
  QVERIFY(writer->integrityCheck(true).ok());
  QCOMPARE(writer->cleanupOrphanBlobs(std::chrono::seconds(0)).filesRemoved, writer->integrityCheck().orphanBlobs);
}

void CatalogueTest::threadsWriteConcurrently() {
  igpg_test::ScratchDir dir;
  const std::string path = dir.file("c.db");
  openWithLabels(path);
  constexpr int kThreads = 3, kEach = 30;
  std::vector<std::string> errors(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      try {
        auto c = Catalogue::open(path);  // one connection per thread
        for (int i = 0; i < kEach; ++i) {
          c->addModel(makeRecord(t * 1000 + i), makeWeights(t * 1000 + i));
          if (i % 10 == 9) c->countModels();
        }
      } catch (const std::exception& e) {
        errors[size_t(t)] = e.what();
      }
    });
  }
  for (auto& th : threads) th.join();
  for (const auto& e : errors) QVERIFY2(e.empty(), e.c_str());
  auto c = Catalogue::open(path);
  QCOMPARE(c->countModels(), int64_t(kThreads * kEach));
  QCOMPARE(countBlobFiles(*c), int64_t(kThreads * kEach));
  QVERIFY(c->integrityCheck(true).ok());
}

IGPG_TEST_MAIN(CatalogueTest)
#include "test_catalogue.moc"
