// The Generate page: sampling options show the CLI's defaults; the results table lists
// the samples of the chosen architecture and dataset with their gap to the pretrained
// models' mean; a generation started from the page stores samples that then appear; a
// sample exports to a weight file.
#include "igpg_test.h"
#include "test_util.h"

#include "app/studio_context.h"
#include "catalogue/catalogue.h"
#include "formats/safetensors.h"
#include "generate/generate_page.h"
#include "plots/plot_view.h"
#include "train/option_form.h"

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QLabel>
#include <QMessageBox>
#include <QPushButton>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTableWidget>
#include <QtTest/QtTest>

#include <torch/torch.h>

using igpg::ui::GeneratePage;
using igpg::ui::GenerateRequest;

namespace {

igpg::StateDict smallNet(uint64_t seed) {
  torch::manual_seed(seed);
  igpg::StateDict w;
  w.add("fc.weight", torch::randn({4, 3}));
  return w;
}

}  // namespace

class GeneratePageTest : public QObject {
  Q_OBJECT
 private slots:
  void initTestCase();
  void cleanupTestCase();
  void samplingShowsTheDefaults();
  void resultsListTheSamplesOfThePair();
  void generateStoresSamples();
  void exportWritesTheSample();

 private:
  igpg_test::ScratchDir* dir_ = nullptr;
  std::string path_;
  int64_t priorRun_ = 0;
};

void GeneratePageTest::initTestCase() {
  QLocale::setDefault(QLocale(QLocale::English, QLocale::UnitedStates));
  dir_ = new igpg_test::ScratchDir("generate");
  path_ = dir_->file("catalogue.db");
  auto c = igpg::Catalogue::open(path_);
  igpg::ArchitectureRecord a;
  a.name = "tinycnn";
  a.family = "cnn";
  a.description = "tinycnn channels: [8, 16], in_channels: 1, num_classes: 10";
  a.numParams = 12345;
  c->upsertArchitecture(a);
  igpg::DatasetRecord d;
  d.name = "digits";
  c->upsertDataset(d);
  for (double top1 : {0.80, 0.90}) {
    igpg::ModelRecord m;
    m.architecture = "tinycnn";
    m.dataset = "digits";
    m.top1 = top1;
    c->addModel(m, smallNet(1));
  }
  igpg::RunRecord prior;
  prior.kind = "prior";
  prior.name = "prior on digits";
  priorRun_ = c->createRun(prior);
  c->finishRun(priorRun_, "finished");
  igpg::SampleRecord s;
  s.runId = priorRun_;
  s.architecture = "tinycnn";
  s.dataset = "digits";
  s.seed = 7;
  s.top1 = 0.83;
  s.top5 = 0.99;
  s.novelty = {{"nearest_distance", 3.5}, {"relative_distance", 1.25}, {"nearest_model", 1}, {"agreement", 0.875}};
  c->addSample(s, smallNet(2));
}

void GeneratePageTest::cleanupTestCase() { delete dir_; }

void GeneratePageTest::samplingShowsTheDefaults() {
  igpg::ui::StudioContext context;
  context.openCatalogue(QString::fromStdString(path_));
  GeneratePage page(context);
  const igpg::SamplingOptions defaults;
  QCOMPARE(page.findChild<QDoubleSpinBox*>("temperature")->value(), defaults.temperature);
  QCOMPARE(int64_t(page.findChild<QSpinBox*>("topK")->value()), defaults.topK);
  QCOMPARE(page.findChild<QDoubleSpinBox*>("topP")->value(), defaults.topP);
  QCOMPARE(uint64_t(page.findChild<QSpinBox*>("seed")->value()), defaults.seed);
  page.findChild<QDoubleSpinBox*>("temperature")->setValue(0.7);
  page.findChild<QSpinBox*>("topK")->setValue(20);
  page.findChild<QSpinBox*>("samples")->setValue(3);
  const GenerateRequest r = page.request();
  QCOMPARE(r.sampling.temperature, 0.7);
  QCOMPARE(r.sampling.topK, int64_t(20));
  QCOMPARE(r.samples, int64_t(3));
  QCOMPARE(r.architecture, std::string("tinycnn"));
  QCOMPARE(r.dataset, std::string("digits"));
  QCOMPARE(r.priorRunId, priorRun_);
  QVERIFY(page.findChild<QLabel*>("architectureDescription")->text().contains("12,345"));
  QVERIFY(!page.generateButton()->isEnabled());  // no generation pipeline yet
}

void GeneratePageTest::resultsListTheSamplesOfThePair() {
  igpg::ui::StudioContext context;
  context.openCatalogue(QString::fromStdString(path_));
  GeneratePage page(context);
  QTableWidget* table = page.resultsTable();
  QCOMPARE(table->rowCount(), 1);
  QCOMPARE(table->item(0, 2)->text(), QString("7"));
  QCOMPARE(table->item(0, 3)->text(), QString("83.00"));
  QCOMPARE(table->item(0, 4)->text(), QString("99.00"));
  QCOMPARE(table->item(0, 5)->text(), QString("-2.00"));  // 0.83 - mean(0.80, 0.90)
  QCOMPARE(table->item(0, 6)->text(), QString("1.25 (nearest #1, agrees 87.5%)"));
  QVERIFY(page.findChild<QLabel*>("generateSummary")->text().contains("85.00"));
  // The accuracies of both sides, in percent, under the table.
  const igpg::PlotSpec& spec = page.accuracyView()->spec();
  QCOMPARE(spec.series.size(), size_t(2));
  QCOMPARE(spec.series[0].name, std::string("pretrained (2)"));
  QCOMPARE(spec.series[1].name, std::string("generated (1)"));
  page.setDataset("fashion-mnist");
  QCOMPARE(table->rowCount(), 0);
}

void GeneratePageTest::generateStoresSamples() {
  igpg_test::ScratchDir dir("generate_job");
  const std::string path = dir.file("catalogue.db");
  {
    auto c = igpg::Catalogue::open(path);
    igpg::ArchitectureRecord a;
    a.name = "tinycnn";
    c->upsertArchitecture(a);
    igpg::DatasetRecord d;
    d.name = "digits";
    c->upsertDataset(d);
    igpg::RunRecord prior;
    prior.kind = "prior";
    c->finishRun(c->createRun(prior), "finished");
  }
  igpg::ui::StudioContext context;
  context.openCatalogue(QString::fromStdString(path));
  GeneratePage page(context);
  // Stands in for the generation pipeline: stores the requested samples.
  page.setGenerator([](const GenerateRequest& r, const igpg::JobControl& job) {
    auto c = igpg::Catalogue::open(r.cataloguePath);
    igpg::ProgressReporter progress(job, "generate", r.samples);
    for (int64_t i = 0; i < r.samples; ++i) {
      igpg::SampleRecord s;
      s.runId = r.priorRunId;
      s.architecture = r.architecture;
      s.dataset = r.dataset;
      s.seed = int64_t(r.sampling.seed) + i;
      s.top1 = 0.5;
      s.sampling = {{"temperature", r.sampling.temperature}};
      c->addSample(s, smallNet(uint64_t(i)));
      progress.update(i + 1);
    }
  });
  page.setArchitecture("tinycnn");
  page.setDataset("digits");
  page.findChild<QSpinBox*>("samples")->setValue(2);
  QVERIFY(page.generateButton()->isEnabled());
  QSignalSpy shown(&page, &GeneratePage::resultsShown);
  page.generateButton()->click();
  QVERIFY(page.jobs()->isRunning());
  QTRY_COMPARE_WITH_TIMEOUT(page.resultsTable()->rowCount(), 2, 10000);
  QCOMPARE(page.resultsTable()->item(1, 2)->text(), QString("1"));
}

void GeneratePageTest::exportWritesTheSample() {
  igpg::ui::StudioContext context;
  context.openCatalogue(QString::fromStdString(path_));
  GeneratePage page(context);
  igpg_test::ScratchDir dir("generate_export");
  const QString out = QString::fromStdString(dir.file("sample.safetensors"));
  QSignalSpy finished(page.jobs(), &igpg::ui::JobRunner::finished);
  page.startExport(1, out);
  QVERIFY(finished.wait(10000));
  QVERIFY(finished.first().at(0).value<igpg::ui::JobOutcome>().ok());
  for (auto* box : page.findChildren<QMessageBox*>()) delete box;
  const igpg::StateDict exported = igpg::loadSafetensors(out.toStdString());
  QVERIFY(torch::equal(exported.at("fc.weight"), smallNet(2).at("fc.weight")));
}

QTEST_MAIN(GeneratePageTest)
#include "test_generate_page.moc"
