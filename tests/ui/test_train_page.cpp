// The Train page: its forms show the command line's defaults (read from the option
// structs) and edit those structs; a training started from the page runs without
// blocking the event loop, draws its loss live, and is cancelled from the page; the run
// history shows a run's configuration, summary and metric curves from the catalogue.
#include "igpg_test.h"
#include "test_util.h"
#include "widget_lookup.h"

#include "app/log_panel.h"
#include "app/studio_context.h"
#include "catalogue/catalogue.h"
#include "common/error.h"
#include "plots/plot_view.h"
#include "train/option_form.h"
#include "train/train_page.h"

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTableWidget>
#include <QTimer>
#include <QtTest/QtTest>

#include <chrono>
#include <thread>

using igpg_test::child;
using igpg::ui::TrainPage;
using igpg::ui::TrainRequest;

namespace {

// Stands in for the training pipeline: a run in the catalogue, a decreasing loss
// reported every couple of milliseconds (and logged to the run every 50 steps), until
// the steps are done or the job is cancelled.
void fakeTraining(const TrainRequest& request, const igpg::JobControl& job) {
  auto catalogue = igpg::Catalogue::open(request.cataloguePath);
  igpg::RunRecord run;
  run.kind = request.kind == TrainRequest::Prior ? "prior" : "tokenizer";
  run.name = "fake";
  run.config = {{"steps", request.tokenizer.steps}, {"learning_rate", request.tokenizer.learningRate}};
  const int64_t id = catalogue->createRun(run);
  igpg::ProgressReporter progress(job, "train tokenizer", request.tokenizer.steps, 0.0);
  std::vector<igpg::MetricPoint> pending;
  try {
    for (int64_t step = 1; step <= request.tokenizer.steps; ++step) {
      job.cancel.throwIfCancelled("train tokenizer");
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      const double loss = 2.0 / double(step);
      pending.push_back({step, "loss", loss});
      if (pending.size() == 50) {
        catalogue->addMetrics(id, pending);
        pending.clear();
      }
      progress.update(step, {{"loss", loss}, {"perplexity", 10.0 + double(step % 7)}});
    }
  } catch (const igpg::Error& e) {
    catalogue->addMetrics(id, pending);
    catalogue->finishRun(id, e.kind() == igpg::ErrorKind::Cancelled ? "cancelled" : "failed");
    throw;
  }
  catalogue->finishRun(id, "finished", {{"final_loss", 2.0 / double(request.tokenizer.steps)}});
  progress.finish();
}

}  // namespace

class TrainPageTest : public QObject {
  Q_OBJECT
 private slots:
  void initTestCase();
  void formsShowTheDefaults();
  void formsEditTheOptions();
  void startAndCancelWithoutBlocking();
  void historyShowsConfigSummaryAndCurves();
  void priorNeedsATokenizerRun();

 private:
  void openFresh(igpg::ui::StudioContext& context, igpg_test::ScratchDir& dir);
};

void TrainPageTest::initTestCase() { QLocale::setDefault(QLocale(QLocale::English, QLocale::UnitedStates)); }

void TrainPageTest::openFresh(igpg::ui::StudioContext& context, igpg_test::ScratchDir& dir) {
  context.openCatalogue(QString::fromStdString(dir.file("catalogue.db")));
}

void TrainPageTest::formsShowTheDefaults() {
  igpg_test::ScratchDir dir("train_defaults");
  igpg::ui::StudioContext context;
  openFresh(context, dir);
  TrainPage page(context);
  const igpg::TokenizerTrainOptions t;
  const igpg::PriorTrainOptions p;
  QWidget* tf = page.tokenizerForm();
  QWidget* pf = page.priorForm();
  QCOMPARE(int64_t(child<QSpinBox>(tf, "steps")->value()), t.steps);
  QCOMPARE(int64_t(child<QSpinBox>(tf, "batchSize")->value()), t.batchSize);
  QCOMPARE(int64_t(child<QSpinBox>(tf, "codebookSize")->value()), t.config.vq.codebookSize);
  QCOMPARE(int64_t(child<QSpinBox>(tf, "chunkSize")->value()), t.config.vq.chunkSize);
  QCOMPARE(int64_t(child<QSpinBox>(tf, "restartEvery")->value()), t.restartEvery);
  QCOMPARE(child<QDoubleSpinBox>(tf, "learningRate")->value(), t.learningRate);
  QCOMPARE(child<QDoubleSpinBox>(tf, "tauMin")->value(), t.tauMin);
  QCOMPARE(child<QDoubleSpinBox>(tf, "gamma")->value(), t.gamma);
  QCOMPARE(child<QComboBox>(tf, "vectorization")->currentData().toInt(), int(t.config.vectorization));
  QCOMPARE(int64_t(child<QSpinBox>(pf, "steps")->value()), p.steps);
  QCOMPARE(int64_t(child<QSpinBox>(pf, "contextLength")->value()), p.gpt.contextLength);
  QCOMPARE(int64_t(child<QSpinBox>(pf, "layers")->value()), p.gpt.layers);
  QCOMPARE(int64_t(child<QSpinBox>(pf, "warmupSteps")->value()), p.warmupSteps);
  QCOMPARE(int64_t(child<QSpinBox>(pf, "contextOverlap")->value()), p.contextOverlap);
  QCOMPARE(child<QDoubleSpinBox>(pf, "finalLearningRate")->value(), p.finalLearningRate);
  // Small rates are written as the CLI prints them, not rounded away.
  QCOMPARE(child<QDoubleSpinBox>(tf, "tauMin")->text(), QString::number(t.tauMin, 'g', 6));
  QVERIFY(child<QDoubleSpinBox>(tf, "learningRate")->toolTip().contains(QString::number(t.learningRate, 'g', 6)));
}

void TrainPageTest::formsEditTheOptions() {
  igpg_test::ScratchDir dir("train_edit");
  igpg::ui::StudioContext context;
  openFresh(context, dir);
  TrainPage page(context);
  child<QSpinBox>(page.tokenizerForm(), "steps")->setValue(123);
  child<QDoubleSpinBox>(page.tokenizerForm(), "learningRate")->setValue(5e-4);
  child<QComboBox>(page.tokenizerForm(), "vectorization")->setCurrentIndex(1);
  child<QSpinBox>(page.priorForm(), "layers")->setValue(2);
  const TrainRequest r = page.request();
  QCOMPARE(r.tokenizer.steps, int64_t(123));
  QCOMPARE(r.tokenizer.learningRate, 5e-4);
  QVERIFY(r.tokenizer.config.vectorization == igpg::Vectorization::LayerWise);
  QCOMPARE(r.prior.gpt.layers, int64_t(2));
  QCOMPARE(r.cataloguePath, dir.file("catalogue.db"));
  QVERIFY(r.tokenizer.device == torch::Device(torch::kCPU));
  page.resetToDefaults();
  QCOMPARE(page.tokenizerOptions().steps, igpg::TokenizerTrainOptions{}.steps);
  QCOMPARE(child<QSpinBox>(page.tokenizerForm(), "steps")->value(), int(igpg::TokenizerTrainOptions{}.steps));
  QCOMPARE(child<QSpinBox>(page.priorForm(), "layers")->value(), int(igpg::PriorTrainOptions{}.gpt.layers));
}

void TrainPageTest::startAndCancelWithoutBlocking() {
  igpg_test::ScratchDir dir("train_cancel");
  igpg::ui::StudioContext context;
  openFresh(context, dir);
  TrainPage page(context);
  page.resize(1300, 800);
  page.show();
  QVERIFY(!page.startButton()->isEnabled());  // no trainer yet: says why instead
  QVERIFY(page.startButton()->toolTip().contains("pipeline"));
  page.setTrainer(fakeTraining);
  child<QSpinBox>(page.tokenizerForm(), "steps")->setValue(1000000);
  QVERIFY(page.startButton()->isEnabled());
  QVERIFY(!page.cancelButton()->isEnabled());

  QSignalSpy finished(page.jobs(), &igpg::ui::JobRunner::finished);
  page.startButton()->click();
  QVERIFY(page.jobs()->isRunning());
  QVERIFY(!page.startButton()->isEnabled());
  QVERIFY(page.cancelButton()->isEnabled());
  int ticks = 0;
  QTimer timer;
  connect(&timer, &QTimer::timeout, [&] { ++ticks; });
  timer.start(5);
  // The loss curve fills while the event loop keeps turning.
  QTRY_VERIFY_WITH_TIMEOUT(page.liveCurves()->spec().series.size() == 2 && page.liveCurves()->spec().series[0].x.size() >= 20,
                           10000);
  QVERIFY(ticks >= 10);
  const igpg::PlotSeries raw = page.liveCurves()->spec().series[0];
  QCOMPARE(page.liveCurves()->spec().yLabel, std::string("loss"));
  for (size_t i = 0; i < raw.x.size(); ++i) QCOMPARE(raw.y[i], 2.0 / raw.x[i]);  // exactly what was reported
  QVERIFY(page.liveCurves()->spec().series[1].smoothedFrom == 0);

  page.cancelButton()->click();
  QVERIFY(!page.cancelButton()->isEnabled());
  QVERIFY(finished.wait(5000));
  QCOMPARE(finished.first().at(0).value<igpg::ui::JobOutcome>().status, igpg::ui::JobOutcome::Cancelled);
  QVERIFY(page.startButton()->isEnabled());
  QVERIFY(page.log()->toPlainText().contains("cancelled"));
  QTableWidget* runs = page.runsTable();
  QCOMPARE(runs->rowCount(), 1);  // the history refreshed after the job
  QCOMPARE(runs->item(0, 3)->text(), QString("cancelled"));
}

void TrainPageTest::historyShowsConfigSummaryAndCurves() {
  igpg_test::ScratchDir dir("train_history");
  igpg::ui::StudioContext context;
  openFresh(context, dir);
  igpg::RunRecord run;
  run.kind = "tokenizer";
  run.name = "digits zoo";
  run.config = {{"steps", 300}, {"codebook_size", 64}, {"models", {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13}}};
  const int64_t id = context.catalogue().createRun(run);
  std::vector<igpg::MetricPoint> points;
  for (int64_t s = 1; s <= 300; ++s) {
    points.push_back({s, "loss", 1.0 / double(s)});
    points.push_back({s, "reconstruction", 0.5 / double(s)});
  }
  context.catalogue().addMetrics(id, points);
  context.catalogue().finishRun(
      id, "finished", {{"final_loss", 1.0 / 300}, {"codebook", {{"usage", {1, 2}}, {"perplexity", 1.9}}}});
  TrainPage page(context);
  QTableWidget* runs = page.runsTable();
  QCOMPARE(runs->rowCount(), 1);
  QCOMPARE(runs->item(0, 2)->text(), QString("digits zoo"));
  QVERIFY(runs->item(0, 6)->text().contains("final_loss"));
  page.selectRun(id);
  const QString text = page.findChild<QPlainTextEdit*>("runText")->toPlainText();
  QVERIFY(text.contains("\"codebook_size\": 64"));
  QVERIFY2(text.contains("\"models\": \"1-10, 12-13 (12 values)\""), qPrintable(text));
  QVERIFY(text.contains("\"perplexity\": 1.9"));
  QVERIFY(!text.contains("\"usage\""));  // thousands of counts belong on the Analyze page
  const igpg::PlotSpec& spec = page.historyCurves()->spec();
  QCOMPARE(spec.series.size(), size_t(2));
  QCOMPARE(spec.yLabel, std::string("loss"));
  QCOMPARE(spec.series[0].x.size(), size_t(300));
  QCOMPARE(spec.series[0].y[9], 0.1);
  child<QComboBox>(&page, "historyMetric")->setCurrentText("reconstruction");
  QCOMPARE(page.historyCurves()->spec().series[0].y[9], 0.05);
}

void TrainPageTest::priorNeedsATokenizerRun() {
  igpg_test::ScratchDir dir("train_prior");
  igpg::ui::StudioContext context;
  openFresh(context, dir);
  TrainPage page(context);
  page.setTrainer(fakeTraining);
  page.setKind(TrainRequest::Prior);
  QVERIFY(!page.startButton()->isEnabled());
  QVERIFY(page.startButton()->toolTip().contains("tokenizer"));
  igpg::RunRecord run;
  run.kind = "tokenizer";
  run.name = "tok";
  const int64_t id = context.catalogue().createRun(run);
  context.catalogue().finishRun(id, "finished");
  context.notifyCatalogueChanged();
  QVERIFY(page.startButton()->isEnabled());
  QCOMPARE(page.request().kind, TrainRequest::Prior);
  QCOMPARE(page.request().tokenizerRunId, id);
}

QTEST_MAIN(TrainPageTest)
#include "test_train_page.moc"
