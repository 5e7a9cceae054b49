// The studio end to end over the real core, as a user clicks through it: the main window
// with the jobs igpg-studio installs builds a zoo from a recipe, trains a tokenizer (one
// training cancelled part-way first), trains a prior, generates evaluated samples for a
// pair, and the Analyze page plots them. No stand-ins: every job is the core pipeline the
// igpg command line runs, and the command line works on the same catalogue meanwhile.
#include "igpg_test.h"
#include "test_util.h"
#include "widget_lookup.h"

#include "app/core_jobs.h"
#include "app/main_window.h"
#include "app/studio_context.h"
#include "analyze/analyze_page.h"
#include "catalogue/catalogue.h"
#include "generate/generate_page.h"
#include "jobs/job_runner.h"
#include "plots/plot_view.h"
#include "train/option_form.h"
#include "train/train_page.h"
#include "zoo/zoo_page.h"

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QLabel>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTableWidget>
#include <QTimer>
#include <QtTest/QtTest>

#include <torch/torch.h>

using igpg_test::child;
using igpg::ui::JobOutcome;
using igpg::ui::MainWindow;

namespace {

// Waits for the runner's next finished job and returns its outcome.
JobOutcome nextOutcome(igpg::ui::JobRunner* jobs, int timeoutMs) {
  QSignalSpy finished(jobs, &igpg::ui::JobRunner::finished);
  if (!finished.wait(timeoutMs)) throw std::runtime_error("the job did not finish in time");
  return finished.first().at(0).value<JobOutcome>();
}

}  // namespace

class StudioWorkflowTest : public QObject {
  Q_OBJECT
 private slots:
  void initTestCase();
  void cleanupTestCase();
  void buildTrainGenerateAnalyze();

 private:
  igpg_test::ScratchDir* dir_ = nullptr;
};

void StudioWorkflowTest::initTestCase() {
  QLocale::setDefault(QLocale(QLocale::English, QLocale::UnitedStates));
  torch::set_num_threads(2);
  dir_ = new igpg_test::ScratchDir("studio_workflow");
  QSettings::setDefaultFormat(QSettings::IniFormat);
  QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, QString::fromStdString(dir_->file("settings")));
  QCoreApplication::setOrganizationName("IGPG-test");
  QCoreApplication::setApplicationName("studio-workflow-test");
}

void StudioWorkflowTest::cleanupTestCase() { delete dir_; }

void StudioWorkflowTest::buildTrainGenerateAnalyze() {
  const std::string recipe = dir_->file("two.json");
  igpg_test::writeBytes(recipe, R"({
      "name": "two",
      "training": {"optimizer": "adam", "learning_rate": 0.005, "batch_size": 64, "epochs": 8, "keep_epochs": [8]},
      "groups": [{"architectures": ["tinycnn"], "datasets": ["digits", "digits[rot90]"], "seeds": [0]}]})");
  MainWindow window(QString::fromStdString(dir_->file("catalogue.db")));
  igpg::ui::installCoreJobs(window);
  window.resize(1300, 850);
  window.show();

  // Zoo: the recipe builds two trained checkpoints, and the table shows them.
  igpg::ui::ZooPage* zoo = window.zooPage();
  window.showPage(MainWindow::Zoo);
  zoo->startBuildZoo(QString::fromStdString(recipe));
  QVERIFY(zoo->jobs()->isRunning());
  const JobOutcome built = nextOutcome(zoo->jobs(), 120000);
  QVERIFY2(built.ok(), built.message.toUtf8().constData());
  QTRY_COMPARE_WITH_TIMEOUT(child<QLabel>(zoo, "zooCount")->text(), QString("2 models"), 5000);
  for (const auto& m : window.context().catalogue().listModels()) QVERIFY(m.top1 > 0.8);

  // Train: a long tokenizer training started and cancelled from the page leaves a
  // cancelled run while the event loop keeps turning.
  igpg::ui::TrainPage* train = window.trainPage();
  window.showPage(MainWindow::Train);
  train->setKind(igpg::ui::TrainRequest::Tokenizer);
  QWidget* tf = train->tokenizerForm();
  child<QSpinBox>(tf, "codebookSize")->setValue(256);
  child<QSpinBox>(tf, "hidden")->setValue(32);
  child<QSpinBox>(tf, "denseHidden")->setValue(256);
  child<QSpinBox>(tf, "batchSize")->setValue(32);
  child<QSpinBox>(tf, "steps")->setValue(100000);
  QVERIFY(train->startButton()->isEnabled());
  int ticks = 0;
  QTimer timer;
  connect(&timer, &QTimer::timeout, [&] { ++ticks; });
  timer.start(5);
  train->startButton()->click();
  QVERIFY(train->jobs()->isRunning());
  QTRY_VERIFY_WITH_TIMEOUT(!train->liveCurves()->spec().series.empty() && train->liveCurves()->spec().series[0].x.size() >= 5,
                           60000);
  QVERIFY(ticks >= 10);
  // The command line works on the same catalogue meanwhile: it reads the zoo and adds a
  // dataset, which the studio's own connection then sees.
  {
    const std::string catalogue = window.context().cataloguePathStd();
    const auto listed = igpg_test::runProcess({igpg_test::binary("igpg"), "--catalogue", catalogue, "--json", "zoo", "list"});
    QVERIFY2(listed.exitCode == 0, listed.err.c_str());
    QCOMPARE(int(nlohmann::json::parse(listed.out).size()), 2);
    std::string csv;
    for (int i = 0; i < 20; ++i) csv += std::to_string(i % 2) + ",0,255,255,0\n";
    igpg_test::writeBytes(dir_->file("pixels.csv"), csv);
    const auto added = igpg_test::runProcess(
        {igpg_test::binary("igpg"), "--catalogue", catalogue, "datasets", "add", "pixels", "--csv", dir_->file("pixels.csv")});
    QVERIFY2(added.exitCode == 0, added.err.c_str());
    QVERIFY(train->jobs()->isRunning());
    bool seen = false;
    for (const auto& d : window.context().catalogue().listDatasets()) seen = seen || d.name == "pixels";
    QVERIFY(seen);
  }
  {
    QSignalSpy finished(train->jobs(), &igpg::ui::JobRunner::finished);
    train->cancelButton()->click();
    QVERIFY(finished.wait(30000));
    QCOMPARE(finished.first().at(0).value<JobOutcome>().status, JobOutcome::Cancelled);
  }
  {
    const auto runs = window.context().catalogue().listRuns();
    QCOMPARE(int(runs.size()), 1);
    QCOMPARE(runs[0].status, std::string("cancelled"));
  }

  // The same form, now with a finite budget, trains the tokenizer to the end.
  child<QSpinBox>(tf, "steps")->setValue(400);
  train->startButton()->click();
  const JobOutcome tokenizer = nextOutcome(train->jobs(), 120000);
  QVERIFY2(tokenizer.ok(), tokenizer.message.toUtf8().constData());

  // The prior trains on the finished tokenizer run the page offers.
  train->setKind(igpg::ui::TrainRequest::Prior);
  QComboBox* tokenizerRun = child<QComboBox>(train, "tokenizerRun");
  QCOMPARE(tokenizerRun->count(), 1);  // the cancelled run is not offered
  const int64_t tokenizerRunId = tokenizerRun->currentData().toLongLong();
  QWidget* pf = train->priorForm();
  child<QSpinBox>(pf, "width")->setValue(64);
  child<QSpinBox>(pf, "layers")->setValue(2);
  child<QSpinBox>(pf, "heads")->setValue(2);
  child<QSpinBox>(pf, "contextLength")->setValue(8);
  child<QSpinBox>(pf, "steps")->setValue(200);
  child<QSpinBox>(pf, "batchSize")->setValue(8);
  child<QDoubleSpinBox>(pf, "learningRate")->setValue(3e-3);
  QVERIFY(train->startButton()->isEnabled());
  train->startButton()->click();
  const JobOutcome prior = nextOutcome(train->jobs(), 120000);
  QVERIFY2(prior.ok(), prior.message.toUtf8().constData());
  const auto priorRun = window.context().catalogue().listRuns({"prior"});
  QCOMPARE(int(priorRun.size()), 1);
  QCOMPARE(priorRun[0].status, std::string("finished"));
  QCOMPARE(priorRun[0].config["tokenizer_run"].get<int64_t>(), tokenizerRunId);
  QCOMPARE(train->runsTable()->rowCount(), 3);

  // Generate: two evaluated samples for tinycnn on digits, stored and listed with their
  // gap to the pretrained checkpoint.
  igpg::ui::GeneratePage* generate = window.generatePage();
  window.showPage(MainWindow::Generate);
  generate->setArchitecture("tinycnn");
  generate->setDataset("digits");
  child<QSpinBox>(generate, "samples")->setValue(2);
  child<QDoubleSpinBox>(generate, "temperature")->setValue(0.3);
  QCOMPARE(generate->request().priorRunId, priorRun[0].id);
  QVERIFY(generate->generateButton()->isEnabled());
  generate->generateButton()->click();
  const JobOutcome generated = nextOutcome(generate->jobs(), 120000);
  QVERIFY2(generated.ok(), generated.message.toUtf8().constData());
  QTRY_COMPARE_WITH_TIMEOUT(generate->resultsTable()->rowCount(), 2, 5000);
  const auto samples = window.context().catalogue().samples();
  QCOMPARE(int(samples.size()), 2);
  double pretrained = 0;
  for (const auto& m : window.context().catalogue().listModels())
    if (m.dataset == "digits") pretrained = m.top1;
  for (int row = 0; row < 2; ++row) {
    const auto& s = samples[size_t(row)];
    QCOMPARE(s.runId, priorRun[0].id);
    // Generated weights that work: far above the 10% of chance on ten digit classes.
    QVERIFY2(s.top1 > 0.5, std::to_string(s.top1).c_str());
    QVERIFY(s.novelty.contains("relative_distance") && s.novelty["relative_distance"].get<double>() >= 0);
  }
  // Each row's gap is its top-1 minus the pretrained checkpoint's, in points.
  for (int row = 0; row < 2; ++row) {
    const double top1 = generate->resultsTable()->item(row, 3)->text().toDouble();
    const double gap = generate->resultsTable()->item(row, 5)->text().toDouble();
    QVERIFY2(std::fabs(gap - (top1 - 100 * pretrained)) < 0.011, qPrintable(QString("gap %1, top-1 %2").arg(gap).arg(top1)));
    QVERIFY(generate->resultsTable()->item(row, 6)->text().contains("nearest #"));
  }

  // Analyze: the pair is one scatter point at (pretrained, mean generated).
  igpg::ui::AnalyzePage* analyze = window.analyzePage();
  QSignalSpy overview(analyze, &igpg::ui::AnalyzePage::overviewShown);
  window.showPage(MainWindow::Analyze);
  QVERIFY(overview.count() > 0 || overview.wait(20000));
  const igpg::PlotSpec& scatter = analyze->scatterView()->spec();
  QCOMPARE(scatter.series.size(), size_t(1));
  QCOMPARE(scatter.series[0].x.size(), size_t(1));
  QVERIFY(std::fabs(scatter.series[0].x[0] - pretrained) < 1e-9);
  QVERIFY(std::fabs(scatter.series[0].y[0] - 0.5 * (samples[0].top1 + samples[1].top1)) < 1e-9);
  QVERIFY(!window.jobsRunning());
}

QTEST_MAIN(StudioWorkflowTest)
#include "test_studio_workflow.moc"
