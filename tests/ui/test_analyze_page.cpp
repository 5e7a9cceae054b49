// The Analyze page over a catalogue built here: every figure holds the data it was given
// (codebook usage of a tokenizer run, one layer's pooled weights generated vs pretrained,
// one scatter point per architecture and dataset, fine-tuning means over seeds from runs
// and from a CSV), and each exports its numbers.
#include "igpg_test.h"
#include "test_util.h"

#include "analyze/analyze_page.h"
#include "app/studio_context.h"
#include "catalogue/catalogue.h"
#include "evaluation/plot_spec.h"
#include "plots/plot_scene.h"
#include "plots/plot_view.h"

#include <qcustomplot.h>

#include <QComboBox>
#include <QSignalSpy>
#include <QtTest/QtTest>

#include <torch/torch.h>

using igpg::ui::AnalyzePage;

namespace {

igpg::StateDict smallNet(double scale, uint64_t seed) {
  torch::manual_seed(seed);
  igpg::StateDict w;
  w.add("fc.weight", torch::randn({10, 8}) * scale);
  w.add("fc.bias", torch::randn({10}) * scale);
  return w;
}

std::vector<float> values(const torch::Tensor& t) {
  const torch::Tensor f = t.to(torch::kFloat).contiguous().reshape({-1});
  return std::vector<float>(f.data_ptr<float>(), f.data_ptr<float>() + f.numel());
}

}  // namespace

class AnalyzePageTest : public QObject {
  Q_OBJECT
 private slots:
  void initTestCase();
  void cleanupTestCase();
  void codebookHoldsTheRunsUsage();
  void scatterHoldsOnePointPerPair();
  void distributionHoldsPooledLayerValues();
  void fineTuningFromRunsAndFromCsv();

 private:
  void showPage();
  igpg_test::ScratchDir* dir_ = nullptr;
  std::unique_ptr<igpg::ui::StudioContext> context_;
  std::unique_ptr<AnalyzePage> page_;
  std::vector<igpg::StateDict> pretrained_, generated_;  // of tinycnn on digits
};

void AnalyzePageTest::initTestCase() {
  dir_ = new igpg_test::ScratchDir("analyze");
  auto c = igpg::Catalogue::open(dir_->file("catalogue.db"));
  for (const char* arch : {"tinycnn", "mlp"}) {
    igpg::ArchitectureRecord a;
    a.name = arch;
    c->upsertArchitecture(a);
  }
  igpg::DatasetRecord d;
  d.name = "digits";
  c->upsertDataset(d);
  auto addModel = [&](const std::string& arch, double top1, const igpg::StateDict& w) {
    igpg::ModelRecord m;
    m.architecture = arch;
    m.dataset = "digits";
    m.source = "zoo build";
    m.top1 = top1;
    c->addModel(m, w);
  };
  for (int i = 0; i < 3; ++i) {
    pretrained_.push_back(smallNet(1.0, 10 + i));
    addModel("tinycnn", 0.80 + 0.05 * i, pretrained_.back());
  }
  addModel("mlp", 0.60, smallNet(1.0, 20));
  addModel("mlp", 0.70, smallNet(1.0, 21));

  igpg::RunRecord prior;
  prior.kind = "prior";
  prior.name = "prior";
  const int64_t priorId = c->createRun(prior);
  c->finishRun(priorId, "finished");
  auto addSample = [&](const std::string& arch, double top1, const igpg::StateDict& w) {
    igpg::SampleRecord s;
    s.runId = priorId;
    s.architecture = arch;
    s.dataset = "digits";
    s.top1 = top1;
    c->addSample(s, w);
  };
  for (int i = 0; i < 2; ++i) {
    generated_.push_back(smallNet(0.5, 30 + i));
    addSample("tinycnn", 0.70 + 0.08 * i, generated_.back());
  }
  addSample("mlp", 0.50, smallNet(0.5, 40));

  igpg::RunRecord tokenizer;
  tokenizer.kind = "tokenizer";
  tokenizer.name = "tok";
  const int64_t tokId = c->createRun(tokenizer);
  c->finishRun(tokId, "finished", {{"codebook", {{"usage", {5, 0, 3, 2}}, {"perplexity", 2.8}, {"dead_codes", 1}}}});

  // Runs recorded by generation name their pair and prior and are plotted on their own.
  for (const char* method : {"generated", "scratch"}) {
    igpg::RunRecord ft;
    ft.kind = "finetune";
    ft.config = {{"method", method}, {"seed", 0}, {"architecture", "tinycnn"}, {"dataset", "digits"}, {"prior_run", 7}};
    const int64_t id = c->createRun(ft);
    c->addMetrics(id, {{0, "top1", std::string(method) == "generated" ? 0.9 : 0.1}, {1, "top1", 0.95}});
    c->finishRun(id, "finished");
  }
  for (const char* method : {"generated", "scratch"})
    for (int seed = 0; seed < 2; ++seed) {
      igpg::RunRecord ft;
      ft.kind = "finetune";
      ft.config = {{"method", method}, {"seed", seed}};
      const int64_t id = c->createRun(ft);
      std::vector<igpg::MetricPoint> points;
      for (int epoch = 1; epoch <= 3; ++epoch)
        points.push_back({epoch, "test_top1", (std::string(method) == "generated" ? 0.8 : 0.3) + 0.01 * epoch + 0.02 * seed});
      c->addMetrics(id, points);
      c->finishRun(id, "finished");
    }
  c.reset();
  showPage();
}

void AnalyzePageTest::showPage() {
  context_ = std::make_unique<igpg::ui::StudioContext>();
  context_->openCatalogue(QString::fromStdString(dir_->file("catalogue.db")));
  page_ = std::make_unique<AnalyzePage>(*context_);
  QSignalSpy overview(page_.get(), &AnalyzePage::overviewShown);
  QSignalSpy distribution(page_.get(), &AnalyzePage::distributionShown);
  page_->resize(1300, 850);
  page_->show();  // the catalogue is read when the page is first shown
  QVERIFY(overview.count() || overview.wait(10000));
  QVERIFY(distribution.count() || distribution.wait(10000));
}

void AnalyzePageTest::cleanupTestCase() {
  page_.reset();
  context_.reset();
  delete dir_;
}

void AnalyzePageTest::codebookHoldsTheRunsUsage() {
  const igpg::PlotSpec& spec = page_->codebookView()->spec();
  QCOMPARE(spec.series.size(), size_t(1));
  QVERIFY(spec.series[0].y == (std::vector<double>{0.5, 0.0, 0.3, 0.2}));
  QVERIFY(spec.annotations.front().find("dead codes 1") != std::string::npos);
  auto* bars = page_->codebookView()->scene()->seriesPlottables()[0];
  QCOMPARE(bars->interface1D()->dataCount(), 4);
  QCOMPARE(bars->interface1D()->dataMainValue(2), 0.3);
}

void AnalyzePageTest::scatterHoldsOnePointPerPair() {
  const igpg::PlotSpec& spec = page_->scatterView()->spec();
  QCOMPARE(spec.series.size(), size_t(1));
  const auto& points = spec.series[0];
  QCOMPARE(points.x.size(), size_t(2));  // mlp / digits and tinycnn / digits
  QVERIFY(std::fabs(points.x[0] - 0.65) < 1e-12);
  QVERIFY(std::fabs(points.y[0] - 0.50) < 1e-12);
  QVERIFY(std::fabs(points.x[1] - 0.85) < 1e-12);
  QVERIFY(std::fabs(points.y[1] - 0.74) < 1e-12);
  QVERIFY(points.pointLabels[1].find("tinycnn / digits") == 0);
  QCOMPARE(page_->scatterView()->scene()->seriesPlottables()[0]->interface1D()->dataCount(), 2);
  QCOMPARE(page_->scatterView()->scene()->referenceGraphs().size(), size_t(2));  // y = x and the fit

  igpg_test::ScratchDir out("analyze_out");
  page_->scatterView()->exportCsv(QString::fromStdString(out.file("scatter.csv")));
  QVERIFY(igpg_test::readBytes(out.file("scatter.csv")).find("# metric pearson_r: ") != std::string::npos);
}

void AnalyzePageTest::distributionHoldsPooledLayerValues() {
  QSignalSpy shown(page_.get(), &AnalyzePage::distributionShown);
  page_->selectPair("tinycnn", "digits");
  QVERIFY(shown.count() || shown.wait(10000));
  page_->selectLayer("fc.weight");
  std::vector<float> pretrained, generated;
  for (const auto& w : pretrained_) {
    const auto v = values(w.at("fc.weight"));
    pretrained.insert(pretrained.end(), v.begin(), v.end());
  }
  for (const auto& w : generated_) {
    const auto v = values(w.at("fc.weight"));
    generated.insert(generated.end(), v.begin(), v.end());
  }
  const igpg::PlotSpec expected =
      igpg::histogram("x", "weight value", {{"pretrained", pretrained}, {"generated", generated}});
  const igpg::PlotSpec& spec = page_->distributionView()->spec();
  QCOMPARE(spec.series.size(), size_t(2));
  QVERIFY(spec.series[0].name.find("pretrained (3 models)") == 0);
  QVERIFY(spec.series[1].name.find("generated (2 samples)") == 0);
  for (size_t i = 0; i < 2; ++i) {
    QVERIFY(spec.series[i].x == expected.series[i].x);
    QVERIFY(spec.series[i].y == expected.series[i].y);
  }
  QVERIFY(spec.title.find("fc.weight") == 0);
}

void AnalyzePageTest::fineTuningFromRunsAndFromCsv() {
  const igpg::PlotSpec& fromRuns = page_->fineTuningView()->spec();
  QCOMPARE(fromRuns.series.size(), size_t(2));
  QCOMPARE(fromRuns.series[0].name, std::string("generated"));
  QVERIFY(fromRuns.series[0].x == (std::vector<double>{1, 2, 3}));
  QVERIFY(std::fabs(fromRuns.series[0].y[0] - 0.82) < 1e-12);  // mean of seeds 0 and 1
  QVERIFY(std::fabs(fromRuns.series[1].y[2] - 0.34) < 1e-12);
  QCOMPARE(fromRuns.yLabel, std::string("test_top1"));
  auto* source = page_->findChild<QComboBox*>("fineTuningSource");
  QCOMPARE(source->count(), 2);
  QCOMPARE(source->itemText(1), QString("tinycnn / digits, prior run 7 (2 runs)"));
  source->setCurrentIndex(1);
  const igpg::PlotSpec& grouped = page_->fineTuningView()->spec();
  QCOMPARE(grouped.yLabel, std::string("top1"));  // the metric those runs logged
  QCOMPARE(grouped.series.size(), size_t(2));
  QVERIFY(grouped.series[0].x == (std::vector<double>{0, 1}));
  QCOMPARE(grouped.series[0].y[0], 0.9);
  QCOMPARE(grouped.series[1].y[0], 0.1);
  source->setCurrentIndex(0);

  igpg_test::ScratchDir dir("analyze_csv");
  igpg_test::writeBytes(dir.file("ft.csv"), "method,seed,epoch,value\nigpg,0,1,0.5\nigpg,1,1,0.7\nrandom,0,1,0.1\n");
  page_->loadFineTuningCsv(QString::fromStdString(dir.file("ft.csv")));
  const igpg::PlotSpec& fromCsv = page_->fineTuningView()->spec();
  QCOMPARE(fromCsv.series.size(), size_t(2));
  QCOMPARE(fromCsv.series[0].name, std::string("igpg"));
  QVERIFY(std::fabs(fromCsv.series[0].y[0] - 0.6) < 1e-12);
  QCOMPARE(page_->findChild<QComboBox*>("fineTuningSource")->currentText(), QString("ft.csv"));
}

QTEST_MAIN(AnalyzePageTest)
#include "test_analyze_page.moc"
