// Importing weight files (all or none, labels created on demand, duplicates reported,
// the architecture's conform hook, cancellation) and the per-tensor statistics of `zoo show`.
#include "igpg_test.h"
#include "test_util.h"

#include "catalogue/import.h"
#include "common/error.h"
#include "common/files.h"
#include "formats/safetensors.h"
#include "formats/tensor_stats.h"
#include "formats/weights_file.h"

#include <torch/torch.h>

#include <cmath>
#include <filesystem>

namespace {

using igpg::Catalogue;

igpg::ImportOptions labels() {
  igpg::ImportOptions o;
  o.architecture.name = "tinycnn";
  o.dataset.name = "fashion-mnist";
  return o;
}

int64_t countBlobFiles(const Catalogue& c) { return int64_t(igpg::BlobStore(c.blobDirectory()).files().size()); }

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// A few small files with distinct weights.
std::vector<std::string> writeFiles(const igpg_test::ScratchDir& dir, int n) {
  std::vector<std::string> files;
  for (int i = 0; i < n; ++i) {
    igpg::StateDict w;
    w.add("layer.weight", torch::full({3, 2}, float(i)));
    files.push_back(dir.file("m" + std::to_string(i) + ".safetensors"));
    igpg::saveSafetensors(files.back(), w);
  }
  return files;
}

}  // namespace

class CatalogueImportTest : public QObject {
  Q_OBJECT
 private slots:
  void importsFileAndCreatesLabels();
  void keepsExistingLabelsAndReportsDuplicates();
  void badFileImportsNothing();
  void conformRejectsOrRewritesFiles();
  void cancelImportsNothing();
  void importsPyTorchFile();
  void familyFromLabel();
  void tensorStatsMatchTorch();
};

void CatalogueImportTest::importsFileAndCreatesLabels() {
  igpg_test::ScratchDir dir;
  auto c = Catalogue::open(dir.file("c.db"));
  igpg::ImportOptions o = labels();
  o.seed = 1;
  o.epoch = 3;
  std::vector<igpg::ProgressEvent> events;
  igpg::JobControl job;
  job.progress = [&](const igpg::ProgressEvent& e) { events.push_back(e); };
  const std::string fixture = igpg_test::fixture("tinycnn_fmnist.safetensors");
  const auto imported = igpg::importWeightFiles(*c, {fixture}, o, job);
  QCOMPARE(int(imported.size()), 1);
  QCOMPARE(imported[0].numParams, int64_t(2464));  // tests/fixtures/reference.json
  QCOMPARE(imported[0].tensors, int64_t(10));
  QVERIFY(imported[0].sameWeightsAs.empty());
  QVERIFY(!events.empty() && events.back().finished && events.back().total == 1);

  const auto m = c->model(imported[0].id);
  QVERIFY(m.has_value());
  QCOMPARE(m->architecture, std::string("tinycnn"));
  QCOMPARE(m->family, std::string("tinycnn"));
  QCOMPARE(m->dataset, std::string("fashion-mnist"));
  QCOMPARE(m->source, std::string("import"));
  QCOMPARE(m->seed, int64_t(1));
  QCOMPARE(m->epoch, int64_t(3));
  QVERIFY(std::isnan(m->top1));
  QCOMPARE(m->metadata["imported_from"].get<std::string>(),
           std::filesystem::absolute(fixture).lexically_normal().string());
  QCOMPARE(m->metadata["file_format"].get<std::string>(), std::string("safetensors"));
  // The file's own metadata moves to the row; the blob holds the tensors only.
  const igpg::StateDict original = igpg::loadWeightsFile(fixture);
  QCOMPARE(int(m->metadata["file_metadata"].size()), int(original.metadata.size()));
  const igpg::StateDict stored = c->loadWeights(*m);
  QVERIFY(stored.metadata.empty());
  QCOMPARE(stored.size(), original.size());
  for (const auto& e : original.entries()) QVERIFY2(torch::equal(stored.at(e.name), e.tensor), e.name.c_str());
  QVERIFY(c->findArchitecture("tinycnn").has_value());
  QVERIFY(c->findDataset("fashion-mnist").has_value());
  QVERIFY(c->integrityCheck(true).ok());
}

void CatalogueImportTest::keepsExistingLabelsAndReportsDuplicates() {
  igpg_test::ScratchDir dir;
  auto c = Catalogue::open(dir.file("c.db"));
  igpg::ArchitectureRecord a;
  a.name = "tinycnn";
  a.family = "cnn";
  a.description = "three convolutions, two linear layers";
  c->upsertArchitecture(a);
  const std::string fixture = igpg_test::fixture("tinycnn_fmnist.safetensors");
  const auto first = igpg::importWeightFiles(*c, {fixture}, labels());
  const auto again = igpg::importWeightFiles(*c, {fixture, fixture}, labels());
  QCOMPARE(int(again.size()), 2);
  QVERIFY(again[0].sameWeightsAs == std::vector<int64_t>({first[0].id, again[1].id}));
  QVERIFY(again[1].sameWeightsAs == std::vector<int64_t>({first[0].id, again[0].id}));
  QCOMPARE(c->countModels(), int64_t(3));
  QCOMPARE(countBlobFiles(*c), int64_t(1));
  QCOMPARE(c->findArchitecture("tinycnn")->family, std::string("cnn"));  // not overwritten
  QCOMPARE(c->findArchitecture("tinycnn")->description, a.description);
}

void CatalogueImportTest::badFileImportsNothing() {
  igpg_test::ScratchDir dir;
  auto c = Catalogue::open(dir.file("c.db"));
  auto files = writeFiles(dir, 3);
  const std::string truncated = dir.file("truncated.safetensors");
  const std::string bytes = igpg_test::readBytes(files[2]);
  igpg_test::writeBytes(truncated, bytes.substr(0, bytes.size() / 2));
  for (const std::string& bad : {truncated, dir.file("missing.safetensors"), dir.path()}) {
    try {
      igpg::importWeightFiles(*c, {files[0], files[1], bad, files[2]}, labels());
      QFAIL(("imported " + bad).c_str());
    } catch (const igpg::Error& e) {
      QVERIFY2(contains(e.what(), bad), e.what());
    }
    QCOMPARE(c->countModels(), int64_t(0));
    QCOMPARE(countBlobFiles(*c), int64_t(0));  // the good files' blobs were taken back
    QVERIFY(!c->findArchitecture("tinycnn").has_value());
  }
  try {
    igpg::importWeightFiles(*c, {truncated}, labels());
  } catch (const igpg::Error& e) {
    QVERIFY2(contains(e.what(), "truncated"), e.what());
  }
}

void CatalogueImportTest::conformRejectsOrRewritesFiles() {
  igpg_test::ScratchDir dir;
  auto c = Catalogue::open(dir.file("c.db"));
  const auto files = writeFiles(dir, 3);
  igpg::ImportOptions o = labels();
  std::vector<std::string> seen;
  o.conform = [&](igpg::StateDict& w, const std::string& file) {
    seen.push_back(file);
    if (w.at("layer.weight")[0][0].item<float>() == 1.0f)
      igpg::fail(igpg::ErrorKind::Mismatch, "tensor layer.weight", "shape does not fit tinycnn");
  };
  try {
    igpg::importWeightFiles(*c, files, o);
    QFAIL("conform did not stop the import");
  } catch (const igpg::Error& e) {
    QVERIFY(e.kind() == igpg::ErrorKind::Mismatch);
    QCOMPARE(std::string(e.what()), files[1] + ": tensor layer.weight: shape does not fit tinycnn");
  }
  QCOMPARE(int(seen.size()), 2);
  QCOMPARE(c->countModels(), int64_t(0));
  QCOMPARE(countBlobFiles(*c), int64_t(0));

  // What conform leaves is what is stored: here, names in the architecture's layout.
  o.conform = [](igpg::StateDict& w, const std::string&) {
    igpg::StateDict renamed;
    for (const auto& e : w.entries()) renamed.add("features.0." + e.name, e.tensor);
    w = renamed;
  };
  const auto imported = igpg::importWeightFiles(*c, {files[2]}, o);
  const igpg::StateDict stored = c->loadWeights(*c->model(imported[0].id));
  QVERIFY(stored.contains("features.0.layer.weight"));
  QVERIFY(torch::equal(stored.at("features.0.layer.weight"), torch::full({3, 2}, 2.0f)));
}

void CatalogueImportTest::cancelImportsNothing() {
  igpg_test::ScratchDir dir;
  auto c = Catalogue::open(dir.file("c.db"));
  const auto files = writeFiles(dir, 5);
  igpg::JobControl job;
  job.progress = [&](const igpg::ProgressEvent& e) {
    if (e.done >= 1 && !e.finished) job.cancel.cancel();  // as Ctrl-C or the Cancel button would
  };
  try {
    igpg::importWeightFiles(*c, files, labels(), job);
    QFAIL("not cancelled");
  } catch (const igpg::Error& e) {
    QVERIFY(e.kind() == igpg::ErrorKind::Cancelled);
    QVERIFY2(contains(e.what(), "nothing was imported"), e.what());
  }
  QCOMPARE(c->countModels(), int64_t(0));
  QCOMPARE(countBlobFiles(*c), int64_t(0));
  QCOMPARE(int(igpg::importWeightFiles(*c, files, labels()).size()), 5);
}

void CatalogueImportTest::importsPyTorchFile() {
  const std::string pt = igpg_test::fixture("tinycnn_fmnist.pt");
  igpg::StateDict direct;
  try {
    direct = igpg::loadWeightsFile(pt);
  } catch (const igpg::Error& e) {
    QSKIP(("loadWeightsFile cannot read PyTorch files in this build yet: " + std::string(e.what())).c_str());
  }
  igpg_test::ScratchDir dir;
  auto c = Catalogue::open(dir.file("c.db"));
  const auto imported = igpg::importWeightFiles(*c, {pt}, labels());
  const auto m = c->model(imported[0].id);
  QCOMPARE(m->numParams, int64_t(2464));
  QCOMPARE(m->metadata["file_format"].get<std::string>(),
           std::string(igpg::weightsFormatName(igpg::detectWeightsFormat(pt))));
  const igpg::StateDict stored = c->loadWeights(*m);
  const igpg::StateDict reference = igpg::loadSafetensors(igpg_test::fixture("tinycnn_fmnist.safetensors"));
  QCOMPARE(stored.size(), reference.size());
  for (const auto& e : reference.entries()) QVERIFY2(torch::equal(stored.at(e.name), e.tensor), e.name.c_str());
}

void CatalogueImportTest::familyFromLabel() {
  QCOMPARE(igpg::architectureFamilyFromLabel("resnet18"), std::string("resnet"));
  QCOMPARE(igpg::architectureFamilyFromLabel("mlp-64-32"), std::string("mlp"));
  QCOMPARE(igpg::architectureFamilyFromLabel("ViT_B16"), std::string("vit"));
  QCOMPARE(igpg::architectureFamilyFromLabel("tinycnn"), std::string("tinycnn"));
  QCOMPARE(igpg::architectureFamilyFromLabel("3layer"), std::string("3layer"));
}

void CatalogueImportTest::tensorStatsMatchTorch() {
  igpg::StateDict w;
  w.add("a", torch::tensor({1.0f, 2.0f, 3.0f, 4.0f}).reshape({2, 2}));
  w.add("ints", torch::tensor({-3, 5}, torch::kInt64));
  w.add("nan", torch::tensor({1.0f, NAN, INFINITY}));
  w.add("empty", torch::zeros({0, 3}));
  w.add("scalar", torch::tensor(2.5));
  const auto s = igpg::tensorStats(w);
  QCOMPARE(int(s.size()), 5);
  QCOMPARE(s[0].name, std::string("a"));
  QVERIFY(s[0].shape == std::vector<int64_t>({2, 2}));
  QCOMPARE(s[0].numel, int64_t(4));
  QCOMPARE(s[0].mean, 2.5);
  QCOMPARE(s[0].std, std::sqrt(5.0 / 3.0));  // sample std, as torch.Tensor.std()
  QCOMPARE(s[0].min, 1.0);
  QCOMPARE(s[0].max, 4.0);
  QCOMPARE(s[0].nonFinite, int64_t(0));
  QCOMPARE(s[0].dtype, std::string("Float"));
  QCOMPARE(s[1].mean, 1.0);
  QCOMPARE(s[1].min, -3.0);
  QCOMPARE(s[1].dtype, std::string("Long"));
  QCOMPARE(s[2].nonFinite, int64_t(2));
  QVERIFY(std::isnan(s[2].mean));
  QCOMPARE(s[3].numel, int64_t(0));
  QVERIFY(std::isnan(s[3].mean) && std::isnan(s[3].std) && std::isnan(s[3].min) && std::isnan(s[3].max));
  QVERIFY(s[4].shape.empty());
  QCOMPARE(s[4].mean, 2.5);
  QVERIFY(std::isnan(s[4].std));

  const igpg::StateDict fixture = igpg::loadWeightsFile(igpg_test::fixture("tinycnn_fmnist.safetensors"));
  for (const auto& st : igpg::tensorStats(fixture)) {
    const auto t = fixture.at(st.name).to(torch::kFloat64);
    QCOMPARE(st.numel, t.numel());
    QVERIFY(std::fabs(st.mean - t.mean().item<double>()) < 1e-12);
    QVERIFY(std::fabs(st.std - t.std().item<double>()) < 1e-12);
    QCOMPARE(st.max, t.max().item<double>());
  }
}

IGPG_TEST_MAIN(CatalogueImportTest)
#include "test_catalogue_import.moc"
