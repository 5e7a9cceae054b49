// Screenshots of every page of the studio over a small, plausible catalogue, written to
// build/screenshots/{zoo,train,generate,analyze}.png for a person to look at (under
// xvfb-run when CTest finds it, offscreen otherwise). The test checks that each page
// drew real content: an image of the window's size that is not one flat colour.
#include "igpg_test.h"
#include "test_util.h"

#include "analyze/analyze_page.h"
#include "app/core_jobs.h"
#include "app/icons.h"
#include "app/main_window.h"
#include "app/studio_context.h"
#include "catalogue/catalogue.h"
#include "generate/generate_page.h"
#include "train/train_page.h"
#include "zoo/zoo_page.h"

#include <QDir>
#include <QImage>
#include <QSettings>
#include <QSignalSpy>
#include <QTabWidget>
#include <QtTest/QtTest>

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <random>
#include <thread>

using igpg::ui::MainWindow;

namespace {

constexpr unsigned kSeed = 1234;

igpg::StateDict tinyCnn(std::mt19937& rng, double scale) {
  torch::manual_seed(rng());
  igpg::StateDict w;
  w.add("conv1.weight", torch::randn({8, 1, 3, 3}) * (0.47 * scale));
  w.add("conv1.bias", torch::randn({8}) * (0.05 * scale));
  w.add("conv2.weight", torch::randn({16, 8, 3, 3}) * (0.17 * scale));
  w.add("conv2.bias", torch::randn({16}) * (0.05 * scale));
  w.add("fc.weight", torch::randn({10, 784}) * (0.05 * scale));
  w.add("fc.bias", torch::randn({10}) * (0.02 * scale));
  return w;
}

igpg::StateDict mlp(std::mt19937& rng, double scale) {
  torch::manual_seed(rng());
  igpg::StateDict w;
  w.add("fc1.weight", torch::randn({64, 784}) * (0.05 * scale));
  w.add("fc1.bias", torch::randn({64}) * (0.02 * scale));
  w.add("fc2.weight", torch::randn({10, 64}) * (0.18 * scale));
  w.add("fc2.bias", torch::randn({10}) * (0.02 * scale));
  return w;
}

// A noisy, decaying training curve.
std::vector<igpg::MetricPoint> curve(const std::string& name, int64_t steps, double start, double end, double noise,
                                     std::mt19937& rng) {
  std::normal_distribution<double> n(0, 1);
  std::vector<igpg::MetricPoint> points;
  for (int64_t s = 1; s <= steps; s += 5) {
    const double t = double(s) / double(steps);
    points.push_back({s, name, (end + (start - end) * std::exp(-6 * t)) * (1 + noise * n(rng))});
  }
  return points;
}

void buildCatalogue(const std::string& path) {
  std::mt19937 rng(kSeed);
  std::normal_distribution<double> jitter(0, 1);
  auto c = igpg::Catalogue::open(path);
  struct Arch {
    const char* name;
    const char* family;
    const char* description;
    igpg::StateDict (*make)(std::mt19937&, double);
  };
  const Arch archs[] = {
      {"tinycnn", "cnn", "tinycnn channels: [8, 16], kernel: 3, in_channels: 1, num_classes: 10", tinyCnn},
      {"mlp_64", "mlp", "mlp hidden: [64], activation: relu, in_features: 784, num_classes: 10", mlp}};
  for (const Arch& a : archs) {
    igpg::ArchitectureRecord r;
    r.name = a.name;
    r.family = a.family;
    r.description = a.description;
    r.numParams = a.make(rng, 1).numel();
    c->upsertArchitecture(r);
  }
  const std::pair<const char*, double> datasets[] = {{"digits", 0.95}, {"fashion-mnist", 0.88}};
  for (const auto& [name, accuracy] : datasets) {
    igpg::DatasetRecord d;
    d.name = name;
    d.kind = "builtin";
    c->upsertDataset(d);
  }
  for (const Arch& a : archs)
    for (const auto& [dataset, accuracy] : datasets)
      for (int seed = 0; seed < 5; ++seed)
        for (int epoch : {10, 20}) {
          igpg::ModelRecord m;
          m.architecture = a.name;
          m.dataset = dataset;
          m.source = "zoo build";
          m.seed = seed;
          m.epoch = epoch;
          m.top1 = accuracy - (std::string(a.family) == "mlp" ? 0.03 : 0) - (epoch == 10 ? 0.015 : 0) +
                   0.006 * jitter(rng);
          m.top5 = std::min(1.0, m.top1 + 0.04);
          m.loss = 1.2 * (1 - m.top1);
          c->addModel(m, a.make(rng, 1.0));
        }

  igpg::RunRecord tokenizer;
  tokenizer.kind = "tokenizer";
  tokenizer.name = "zoo of 40 models";
  tokenizer.config = {{"codebook_size", 256}, {"chunk_size", 64}, {"tokens_per_chunk", 32}, {"steps", 4000}};
  const int64_t tokId = c->createRun(tokenizer);
  c->addMetrics(tokId, curve("loss", 4000, 1.2, 0.08, 0.08, rng));
  c->addMetrics(tokId, curve("reconstruction", 4000, 1.0, 0.05, 0.08, rng));
  std::vector<int64_t> usage;
  for (int k = 0; k < 256; ++k) usage.push_back(k % 37 == 5 ? 0 : int64_t(4000.0 / std::pow(1 + k, 0.45) * (0.8 + 0.4 * std::abs(jitter(rng)))));
  c->finishRun(tokId, "finished",
               {{"final_reconstruction", 0.052}, {"codebook", {{"usage", usage}, {"perplexity", 180.2}, {"dead_codes", 7}}}});

  igpg::RunRecord prior;
  prior.kind = "prior";
  prior.name = "GPT over tokenizer #1";
  prior.parentRunId = tokId;
  prior.config = {{"layers", 4}, {"heads", 4}, {"width", 128}, {"context_length", 512}};
  const int64_t priorId = c->createRun(prior);
  c->addMetrics(priorId, curve("loss", 2000, 5.5, 1.1, 0.05, rng));
  c->finishRun(priorId, "finished", {{"final_loss", 1.1}, {"token_accuracy", 0.71}});

  for (const Arch& a : archs)
    for (const auto& [dataset, accuracy] : datasets)
      for (int i = 0; i < 4; ++i) {
        igpg::SampleRecord s;
        s.runId = priorId;
        s.architecture = a.name;
        s.dataset = dataset;
        s.seed = i;
        s.top1 = accuracy - (std::string(a.family) == "mlp" ? 0.05 : 0.02) + 0.01 * jitter(rng);
        s.top5 = std::min(1.0, s.top1 + 0.05);
        s.sampling = {{"temperature", 1.0}, {"top_k", 0}};
        const double nearest = 3.0 + std::abs(jitter(rng));
        s.novelty = {{"nearest_model", 1 + i}, {"nearest_distance", nearest}, {"typical_distance", 6.0},
                     {"relative_distance", nearest / 6.0}, {"agreement", 0.9 + 0.02 * jitter(rng)}};
        c->addSample(s, a.make(rng, 0.9));
      }

  for (const char* method : {"generated", "scratch"})
    for (int seed = 0; seed < 3; ++seed) {
      igpg::RunRecord ft;
      ft.kind = "finetune";
      ft.name = std::string(method) + " seed " + std::to_string(seed);
      ft.config = {{"method", method}, {"seed", seed}};
      const int64_t id = c->createRun(ft);
      std::vector<igpg::MetricPoint> points;
      for (int epoch = 0; epoch <= 10; ++epoch) {
        const double base = std::string(method) == "generated" ? 0.90 + 0.05 * (1 - std::exp(-0.5 * epoch))
                                                               : 0.10 + 0.83 * (1 - std::exp(-0.35 * epoch));
        points.push_back({epoch, "test_top1", base + 0.004 * jitter(rng)});
      }
      c->addMetrics(id, points);
      c->finishRun(id, "finished");
    }
}

// Stands in for the training pipeline so that the Train page shows a live run.
void fakeTraining(const igpg::ui::TrainRequest&, const igpg::JobControl& job) {
  std::mt19937 rng(kSeed);
  std::normal_distribution<double> n(0, 1);
  const int64_t steps = 600;
  igpg::ProgressReporter progress(job, "train tokenizer", steps, 0.0);
  for (int64_t s = 1; s <= steps; ++s) {
    job.cancel.throwIfCancelled();
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    if (s % 100 == 0) progress.log("checkpoint at step " + std::to_string(s));
    const double loss = (0.1 + 1.1 * std::exp(-6.0 * double(s) / double(steps))) * (1 + 0.08 * n(rng));
    progress.update(s, {{"loss", loss}, {"perplexity", 60 + 100 * double(s) / double(steps)}});
  }
  progress.finish();
}

bool hasContent(const QImage& image) {
  const QRgb first = image.pixel(0, 0);
  int different = 0;
  for (int y = 0; y < image.height(); y += 7)
    for (int x = 0; x < image.width(); x += 7) different += image.pixel(x, y) != first;
  return different > 200;
}

}  // namespace

class ScreenshotsTest : public QObject {
  Q_OBJECT
 private slots:
  void initTestCase();
  void cleanupTestCase();
  void pages();

 private:
  void save(const QString& name);
  igpg_test::ScratchDir* dir_ = nullptr;
  std::unique_ptr<MainWindow> window_;
  QString out_;
};

void ScreenshotsTest::initTestCase() {
  QLocale::setDefault(QLocale(QLocale::English, QLocale::UnitedStates));
  dir_ = new igpg_test::ScratchDir("screenshots");
  QSettings::setDefaultFormat(QSettings::IniFormat);
  QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, QString::fromStdString(dir_->file("settings")));
  out_ = QString::fromStdString(igpg_test::kBinDir) + "/../screenshots";
  QDir().mkpath(out_);
  buildCatalogue(dir_->file("catalogue.db"));
  std::printf("platform %s; screenshots in %s\n", qPrintable(QGuiApplication::platformName()),
              qPrintable(QDir(out_).absolutePath()));
}

void ScreenshotsTest::cleanupTestCase() {
  window_.reset();
  delete dir_;
}

void ScreenshotsTest::save(const QString& name) {
  QTest::qWait(150);  // queued replots and layouts settle
  const QImage image = window_->grab().toImage();
  QCOMPARE(image.size(), window_->size());
  QVERIFY2(hasContent(image), qPrintable(name + " is blank"));
  QVERIFY(image.save(out_ + "/" + name + ".png"));
}

void ScreenshotsTest::pages() {
  window_ = std::make_unique<MainWindow>(QString::fromStdString(dir_->file("catalogue.db")));
  igpg::ui::installCoreJobs(*window_);  // the Generate button as a user sees it
  window_->resize(1440, 900);
  window_->show();
  QVERIFY(QTest::qWaitForWindowExposed(window_.get()));

  auto* zoo = window_->zooPage();
  QSignalSpy details(zoo, &igpg::ui::ZooPage::detailsShown);
  zoo->selectRows({0, 2, 4});
  QVERIFY(details.wait(10000));
  zoo->selectLayer("conv2.weight");
  save("zoo");

  window_->showPage(MainWindow::Train);
  auto* train = window_->trainPage();
  train->setTrainer(fakeTraining);
  QSignalSpy trained(train->jobs(), &igpg::ui::JobRunner::finished);
  train->start();
  QVERIFY(trained.wait(20000));
  QTest::qWait(300);
  save("train");
  train->selectRun(1);
  save("train-history");

  window_->showPage(MainWindow::Generate);
  window_->generatePage()->setArchitecture("tinycnn");
  window_->generatePage()->setDataset("digits");
  save("generate");

  auto* analyze = window_->analyzePage();
  QSignalSpy overview(analyze, &igpg::ui::AnalyzePage::overviewShown);
  QSignalSpy distribution(analyze, &igpg::ui::AnalyzePage::distributionShown);
  window_->showPage(MainWindow::Analyze);
  QVERIFY(overview.count() || overview.wait(10000));
  QVERIFY(distribution.count() || distribution.wait(10000));
  analyze->selectLayer("fc.weight");
  save("analyze");

  const QPixmap icon = igpg::ui::studioIcon(igpg::ui::StudioIcon::Application).pixmap(256, 256);
  QCOMPARE(icon.size(), QSize(256, 256));
  QVERIFY(icon.save(out_ + "/igpg-studio-256.png"));
}

QTEST_MAIN(ScreenshotsTest)
#include "test_screenshots.moc"
