// PlotView and the offscreen renderer: every plot kind drawn into the widget holds
// exactly the data of its spec, the controls change what they should and nothing else,
// and the PNGs the report gets are real images of the requested size. The example PNGs
// stay in build/tests/plots for a look.
#include "igpg_test.h"
#include "test_util.h"

#include "common/error.h"
#include "evaluation/plot_spec.h"
#include "evaluation/statistics.h"
#include "plots/plot_render.h"
#include "plots/plot_scene.h"
#include "plots/plot_view.h"

#include <qcustomplot.h>

#include <QCheckBox>
#include <QDir>
#include <QFileInfo>
#include <QImage>
#include <QSet>
#include <QSlider>
#include <QThread>
#include <QtTest/QtTest>

#include <cmath>
#include <random>

using igpg::PlotSpec;
using igpg::ui::PlotView;

namespace {

constexpr unsigned kSeed = 20240611;

QVector<double> keysOf(QCPAbstractPlottable* p) {
  QVector<double> keys;
  for (int i = 0; i < p->interface1D()->dataCount(); ++i) keys << p->interface1D()->dataMainKey(i);
  return keys;
}
QVector<double> valuesOf(QCPAbstractPlottable* p) {
  QVector<double> values;
  for (int i = 0; i < p->interface1D()->dataCount(); ++i) values << p->interface1D()->dataMainValue(i);
  return values;
}
QVector<double> q(const std::vector<double>& v) { return QVector<double>(v.begin(), v.end()); }

// Exact comparison, NaN equal to NaN (a gap in a curve is data too).
bool sameData(const QVector<double>& a, const QVector<double>& b) {
  if (a.size() != b.size()) return false;
  for (int i = 0; i < a.size(); ++i)
    if (!(a[i] == b[i] || (std::isnan(a[i]) && std::isnan(b[i])))) return false;
  return true;
}

// The plottables of a spec's series hold exactly the series' points, in order.
bool holdsSpecData(const igpg::ui::PlotScene& scene) {
  const auto& plottables = scene.seriesPlottables();
  if (plottables.size() != scene.spec().series.size()) return false;
  for (size_t i = 0; i < plottables.size(); ++i) {
    const auto& s = scene.spec().series[i];
    if (plottables[i]->name() != QString::fromStdString(s.name)) return false;
    if (!sameData(keysOf(plottables[i]), q(s.x)) || !sameData(valuesOf(plottables[i]), q(s.y))) return false;
  }
  return true;
}

// Entries of the legend; its grid may hold empty cells after wrapping.
int legendEntries(QCustomPlot* plot) {
  int entries = 0;
  for (int i = 0; i < plot->legend->itemCount(); ++i) entries += plot->legend->item(i) != nullptr;
  return entries;
}

QCPErrorBars* errorBarsOf(QCustomPlot* plot, QCPAbstractPlottable* data) {
  for (int i = 0; i < plot->plottableCount(); ++i)
    if (auto* errors = qobject_cast<QCPErrorBars*>(plot->plottable(i)))
      if (errors->dataPlottable() == data) return errors;
  return nullptr;
}

// Training of a tokenizer: noisy decaying losses, a NaN step included.
PlotSpec exampleTrainingCurves() {
  std::mt19937 rng(kSeed);
  std::normal_distribution<double> noise(0.0, 1.0);
  igpg::CurveData train{"train loss", {}, {}}, val{"validation loss", {}, {}};
  for (int step = 0; step < 600; ++step) {
    const double base = 0.08 + 1.6 * std::exp(-step / 120.0);
    train.x.push_back(step);
    train.y.push_back(base * (1.0 + 0.18 * noise(rng)));
    val.x.push_back(step);
    val.y.push_back((base + 0.03) * (1.0 + 0.05 * noise(rng)));
  }
  train.y[300] = std::nan("");
  return igpg::trainingCurves("VQ-VAE tokenizer training", "Step", "Reconstruction loss", {train, val}, 0.6);
}

PlotSpec exampleScatter() {
  std::mt19937 rng(kSeed + 1);
  std::uniform_real_distribution<double> accuracy(55.0, 95.0);
  std::normal_distribution<double> noise(0.0, 0.6);
  std::vector<double> pretrained, generated;
  std::vector<std::string> names;
  for (int i = 0; i < 19; ++i) {
    pretrained.push_back(accuracy(rng));
    generated.push_back(pretrained.back() - 0.4 + noise(rng));
    names.push_back("model " + std::to_string(i));
  }
  PlotSpec spec = igpg::accuracyScatter("CIFAR-10: generated vs pretrained", pretrained, generated, names);
  spec.xLabel = "Pretrained accuracy (%)";
  spec.yLabel = "Generated accuracy (%)";
  return spec;
}

PlotSpec exampleHistogram() {
  std::mt19937 rng(kSeed + 2);
  std::normal_distribution<float> pretrained(0.0f, 0.05f), generated(0.003f, 0.056f);
  igpg::ValueSet a{"pretrained", {}}, b{"generated", {}};
  for (int i = 0; i < 20000; ++i) a.values.push_back(pretrained(rng));
  for (int i = 0; i < 20000; ++i) b.values.push_back(generated(rng));
  return igpg::histogram("layer3.conv1.weight", "Parameter value", {a, b}, igpg::HistogramOptions{60, true});
}

PlotSpec exampleCodebook() {
  std::mt19937 rng(kSeed + 3);
  std::vector<double> counts(256);
  for (size_t i = 0; i < counts.size(); ++i) counts[i] = std::floor(40000.0 / std::pow(double(i + 1), 0.8));
  std::shuffle(counts.begin(), counts.end(), rng);
  for (size_t i : {7u, 91u, 130u, 200u, 255u}) counts[i] = 0;
  return igpg::codebookUsage("Codebook usage (256 codes)", counts);
}

PlotSpec exampleFineTuning() {
  std::mt19937 rng(kSeed + 4);
  std::normal_distribution<double> noise(0.0, 1.0);
  std::vector<double> epochs;
  for (int e = 0; e <= 10; ++e) epochs.push_back(e);
  igpg::RepeatedRuns igpg{"IGPG initialisation", {}}, random{"random initialisation", {}};
  for (int seed = 0; seed < 5; ++seed) {
    std::vector<double> a, b;
    for (double e : epochs) {
      a.push_back(62.0 + 20.0 * (1 - std::exp(-e / 2.5)) + 1.0 * noise(rng));
      b.push_back(10.0 + 62.0 * (1 - std::exp(-e / 4.0)) + 1.5 * noise(rng));
    }
    igpg.runs.push_back(a);
    random.runs.push_back(b);
  }
  return igpg::fineTuningCurves("Fine-tuning on CIFAR-10", "Test accuracy (%)", epochs, {igpg, random});
}

struct ImageCheck {
  bool ok = false;
  QString why;
};
// A rendered plot: the requested size, mostly white paper, some ink, and in colour.
ImageCheck checkPlotImage(const QString& path, int width, int height) {
  QImage image(path);
  if (image.isNull()) return {false, "cannot load"};
  if (image.width() != width || image.height() != height)
    return {false, QString("size %1x%2").arg(image.width()).arg(image.height())};
  QSet<QRgb> colors;
  qint64 ink = 0, coloured = 0;
  qint64 inkPerThird[3] = {0, 0, 0};  // the plot fills the canvas, not one corner of it
  for (int y = 0; y < image.height(); y += 2) {
    for (int x = 0; x < image.width(); x += 2) {
      const QColor c = image.pixelColor(x, y);
      colors.insert(c.rgb());
      if (c.rgb() != qRgb(255, 255, 255)) {
        ++ink;
        ++inkPerThird[3 * x / image.width()];
      }
      if (c.hsvSaturation() > 80) ++coloured;
    }
  }
  const qint64 sampled = qint64(image.width() / 2) * (image.height() / 2);
  if (ink < sampled / 100) return {false, "blank"};
  for (qint64 third : inkPerThird)
    if (third < ink / 100) return {false, "drawn into part of the image only"};
  if (ink > sampled * 9 / 10) return {false, "no white background"};
  if (coloured < 50) return {false, "no coloured data"};
  if (colors.size() < 20) return {false, "too few colours"};
  return {true, {}};
}

}  // namespace

class PlotsTest : public QObject {
  Q_OBJECT
 private slots:
  void initTestCase();
  void trainingCurvesHoldRawAndSmoothed();
  void smoothingSliderChangesOnlySmoothedCurves();
  void logToggleSwitchesScale();
  void scatterHoldsModelsAndReferenceLines();
  void histogramHoldsCommonBins();
  void codebookUsageIsBars();
  void fineTuningHasErrorBars();
  void inconsistentSpecKeepsPlot();
  void examplePngsRender();
  void viewExportsWhatItShows();
  void rendererWorksFromWorkerThread();
  void renderErrorsAreReported();

 private:
  QString outputDir_;
};

void PlotsTest::initTestCase() {
  outputDir_ = QDir::cleanPath(QString(igpg_test::kScratchDir) + "/../plots");
  QVERIFY(QDir().mkpath(outputDir_));
  qInfo("example data seed %u; PNGs in %s", kSeed, qPrintable(outputDir_));
}

void PlotsTest::trainingCurvesHoldRawAndSmoothed() {
  PlotView view;
  const PlotSpec spec = exampleTrainingCurves();
  view.setSpec(spec);
  const auto& plottables = view.scene()->seriesPlottables();
  QCOMPARE(plottables.size(), size_t(4));  // two raw, two smoothed
  for (auto* p : plottables) QVERIFY(qobject_cast<QCPGraph*>(p));
  QVERIFY(holdsSpecData(*view.scene()));
  QVERIFY(sameData(valuesOf(plottables[0]), q(spec.series[0].y)));
  QVERIFY(sameData(valuesOf(plottables[2]), q(igpg::stats::exponentialMovingAverage(spec.series[0].y, 0.6))));
  QCOMPARE(legendEntries(view.plot()), 2);  // raw curves are not listed twice
  QCOMPARE(view.plot()->graphCount(), 4);         // nothing else drawn
}

void PlotsTest::smoothingSliderChangesOnlySmoothedCurves() {
  PlotView view;
  view.setSpec(exampleTrainingCurves());
  auto* slider = view.findChild<QSlider*>("smoothing");
  QVERIFY(slider);
  QVERIFY(slider->isVisibleTo(&view));
  QCOMPARE(slider->value(), 60);
  const auto& plottables = view.scene()->seriesPlottables();
  const QVector<double> raw = valuesOf(plottables[0]), smoothedBefore = valuesOf(plottables[2]);
  const QCPRange xRange = view.plot()->xAxis->range();
  slider->setValue(95);
  QCOMPARE(view.spec().smoothing, 0.95);
  QVERIFY(sameData(valuesOf(plottables[0]), raw));
  QVERIFY(!sameData(valuesOf(plottables[2]), smoothedBefore));
  QVERIFY(sameData(valuesOf(plottables[2]), q(igpg::stats::exponentialMovingAverage(view.spec().series[0].y, 0.95))));
  QCOMPARE(view.plot()->xAxis->range(), xRange);  // the view does not jump
  slider->setValue(0);
  QVERIFY(sameData(valuesOf(plottables[2]), raw));  // no smoothing: the raw curve

  // Plots without smoothed curves have no slider.
  view.setSpec(exampleScatter());
  QVERIFY(!view.findChild<QSlider*>("smoothing")->isVisibleTo(&view));
}

void PlotsTest::logToggleSwitchesScale() {
  PlotView view;
  view.setSpec(exampleCodebook());
  QCOMPARE(view.plot()->yAxis->scaleType(), QCPAxis::stLinear);
  auto* box = view.findChild<QCheckBox*>("logY");
  QVERIFY(box);
  box->setChecked(true);
  QCOMPARE(view.plot()->yAxis->scaleType(), QCPAxis::stLogarithmic);
  QVERIFY(view.spec().logY);
  QVERIFY(view.plot()->yAxis->range().lower > 0);
  QVERIFY(holdsSpecData(*view.scene()));  // the data do not change with the scale
  view.grab();                            // draws without complaint on a log axis
  box->setChecked(false);
  QCOMPARE(view.plot()->yAxis->scaleType(), QCPAxis::stLinear);
  QCOMPARE(view.plot()->yAxis->range().lower, 0.0);  // usage shares start at zero
  QVERIFY(!view.spec().logY);
}

void PlotsTest::scatterHoldsModelsAndReferenceLines() {
  PlotView view;
  const PlotSpec spec = exampleScatter();
  view.setSpec(spec);
  const auto& plottables = view.scene()->seriesPlottables();
  QCOMPARE(plottables.size(), size_t(1));
  QVERIFY(qobject_cast<QCPCurve*>(plottables[0]));
  QCOMPARE(plottables[0]->interface1D()->dataCount(), 19);
  QVERIFY(holdsSpecData(*view.scene()));  // in model order, not sorted by x
  const auto& lines = view.scene()->referenceGraphs();
  QCOMPARE(lines.size(), size_t(2));
  QCOMPARE(legendEntries(view.plot()), 3);
  for (size_t i = 0; i < lines.size(); ++i) {
    QCOMPARE(lines[i]->name(), QString::fromStdString(spec.lines[i].label));
    for (int j = 0; j < lines[i]->dataCount(); ++j) {
      const double x = lines[i]->data()->at(j)->key;
      QVERIFY(std::fabs(lines[i]->data()->at(j)->value - (spec.lines[i].slope * x + spec.lines[i].intercept)) < 1e-9);
    }
  }
  // The lines span whatever is visible, also after a pan.
  view.plot()->xAxis->moveRange(10);
  QCOMPARE(lines[0]->data()->at(lines[0]->dataCount() - 1)->key, view.plot()->xAxis->range().upper);
  view.resetView();
  QCOMPARE(view.plot()->xAxis->range(), view.plot()->yAxis->range());  // y = x is the diagonal
}

void PlotsTest::histogramHoldsCommonBins() {
  PlotView view;
  const PlotSpec spec = exampleHistogram();
  view.setSpec(spec);
  const auto& plottables = view.scene()->seriesPlottables();
  QCOMPARE(plottables.size(), size_t(2));
  for (auto* p : plottables) QCOMPARE(p->interface1D()->dataCount(), 60);
  QVERIFY(holdsSpecData(*view.scene()));
  QVERIFY(sameData(keysOf(plottables[0]), keysOf(plottables[1])));
  // The view covers the outer bin edges, not just the centres.
  const double lo = spec.series[0].x.front() - spec.barWidth / 2, hi = spec.series[0].x.back() + spec.barWidth / 2;
  QVERIFY(view.plot()->xAxis->range().lower <= lo + 1e-12);
  QVERIFY(view.plot()->xAxis->range().upper >= hi - 1e-12);
}

void PlotsTest::codebookUsageIsBars() {
  PlotView view;
  const PlotSpec spec = exampleCodebook();
  view.setSpec(spec);
  const auto& plottables = view.scene()->seriesPlottables();
  QCOMPARE(plottables.size(), size_t(1));
  QVERIFY(qobject_cast<QCPBars*>(plottables[0]));
  QCOMPARE(plottables[0]->interface1D()->dataCount(), 256);
  QVERIFY(holdsSpecData(*view.scene()));
  QVERIFY(!view.plot()->legend->visible());  // a single series needs no legend
}

void PlotsTest::fineTuningHasErrorBars() {
  PlotView view;
  const PlotSpec spec = exampleFineTuning();
  view.setSpec(spec);
  const auto& plottables = view.scene()->seriesPlottables();
  QCOMPARE(plottables.size(), size_t(2));
  QVERIFY(holdsSpecData(*view.scene()));
  for (size_t i = 0; i < plottables.size(); ++i) {
    QCPErrorBars* errors = errorBarsOf(view.plot(), plottables[i]);
    QVERIFY(errors);
    QCOMPARE(errors->dataCount(), 11);
    for (int j = 0; j < errors->dataCount(); ++j) {
      QCOMPARE(errors->data()->at(j).errorPlus, spec.series[i].yError[size_t(j)]);
      QCOMPARE(errors->data()->at(j).errorMinus, spec.series[i].yError[size_t(j)]);
    }
  }
  QCOMPARE(view.plot()->plottableCount(), 4);  // two curves, two sets of error bars
}

void PlotsTest::inconsistentSpecKeepsPlot() {
  PlotView view;
  view.setSpec(exampleScatter());
  QCustomPlot* shown = view.plot();
  PlotSpec broken = exampleScatter();
  broken.series[0].y.pop_back();
  QVERIFY_THROWS_EXCEPTION(igpg::Error, view.setSpec(broken));
  QCOMPARE(view.plot(), shown);
  QVERIFY(holdsSpecData(*view.scene()));
}

void PlotsTest::examplePngsRender() {
  const std::vector<std::pair<QString, PlotSpec>> examples = {
      {"training_curves", exampleTrainingCurves()}, {"accuracy_scatter", exampleScatter()},
      {"histogram", exampleHistogram()},           {"codebook_usage", exampleCodebook()},
      {"fine_tuning", exampleFineTuning()},
  };
  for (const auto& [name, spec] : examples) {
    const QString path = outputDir_ + "/" + name + ".png";
    QFile::remove(path);
    igpg::ui::renderPlotSpecToPng(spec, path, 1200, 800);
    QVERIFY2(QFileInfo(path).size() > 0, qPrintable(path));
    const ImageCheck check = checkPlotImage(path, 1200, 800);
    QVERIFY2(check.ok, qPrintable(name + ": " + check.why));
  }
  PlotSpec logCodebook = exampleCodebook();
  logCodebook.logY = true;
  const QString small = outputDir_ + "/codebook_usage_log_small.png";
  igpg::ui::renderPlotSpecToPng(logCodebook, small, 640, 400);
  const ImageCheck check = checkPlotImage(small, 640, 400);
  QVERIFY2(check.ok, qPrintable(check.why));
}

void PlotsTest::viewExportsWhatItShows() {
  igpg_test::ScratchDir dir("plots");
  PlotView view;
  view.resize(900, 600);
  view.setSpec(exampleTrainingCurves());
  view.findChild<QSlider*>("smoothing")->setValue(80);
  const QString csv = QString::fromStdString(dir.file("curves.csv"));
  view.exportCsv(csv);
  QFile file(csv);
  QVERIFY(file.open(QIODevice::ReadOnly));
  const std::string written = file.readAll().toStdString();
  QCOMPARE(written, igpg::plotSpecToCsv(view.spec()));
  QVERIFY(written.find("# smoothing: 0.8\n") != std::string::npos);
  const QString png = QString::fromStdString(dir.file("curves.png"));
  view.exportPng(png, 1000, 640);
  const ImageCheck check = checkPlotImage(png, 1000, 640);
  QVERIFY2(check.ok, qPrintable(check.why));
}

void PlotsTest::rendererWorksFromWorkerThread() {
  igpg_test::ScratchDir dir("plots");
  const igpg::PlotRenderer renderer = igpg::ui::offscreenPlotRenderer();
  const std::string path = dir.file("worker.png");
  std::string error;
  QThread* worker = QThread::create([&] {
    try {
      renderer(exampleFineTuning(), path, 800, 500);
    } catch (const std::exception& e) {
      error = e.what();
    }
  });
  worker->start();
  // The GUI thread keeps its event loop going, as the studio does while a report runs.
  QTRY_VERIFY_WITH_TIMEOUT(worker->isFinished(), 20000);
  delete worker;
  QVERIFY2(error.empty(), error.c_str());
  const ImageCheck check = checkPlotImage(QString::fromStdString(path), 800, 500);
  QVERIFY2(check.ok, qPrintable(check.why));
}

void PlotsTest::renderErrorsAreReported() {
  igpg_test::ScratchDir dir("plots");
  const igpg::PlotRenderer renderer = igpg::ui::offscreenPlotRenderer();
  QVERIFY_THROWS_EXCEPTION(igpg::Error, renderer(exampleScatter(), "/proc/igpg/no/such/dir/plot.png", 800, 500));
  QVERIFY_THROWS_EXCEPTION(igpg::Error, renderer(exampleScatter(), dir.file("tiny.png"), 4, 4));
  PlotSpec broken = exampleHistogram();
  broken.series[1].x.clear();
  QVERIFY_THROWS_EXCEPTION(igpg::Error, renderer(broken, dir.file("broken.png"), 800, 500));
  QVERIFY(!QFileInfo::exists(QString::fromStdString(dir.file("broken.png"))));
  QVERIFY(QDir(QString::fromStdString(dir.path())).entryList(QDir::Files).isEmpty());  // no temporary left
}

QTEST_MAIN(PlotsTest)
#include "test_plots.moc"
