// Statistics behind the plots and the plot builders: every derived number checked
// against a value computed by hand, and the CSV checked to carry the exact doubles.
#include "igpg_test.h"

#include "common/error.h"
#include "evaluation/plot_spec.h"
#include "evaluation/statistics.h"

#include <cmath>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

namespace {

bool near(double a, double b, double tolerance = 1e-12) { return std::fabs(a - b) <= tolerance; }

double metric(const igpg::PlotSpec& spec, const std::string& name) {
  for (const auto& m : spec.metrics)
    if (m.name == name) return m.value;
  return std::nan("");
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// The data rows of plotSpecToCsv for one series, parsed back: (x, y, y_error).
struct CsvRow {
  double x, y, error;
  std::string label;
};
std::vector<CsvRow> csvRows(const std::string& csv, const std::string& series) {
  std::vector<CsvRow> rows;
  std::istringstream in(csv);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(series + ",", 0) != 0) continue;
    std::vector<std::string> fields;
    std::string field;
    std::istringstream cells(line.substr(series.size() + 1));
    while (std::getline(cells, field, ',')) fields.push_back(field);
    while (fields.size() < 4) fields.push_back("");
    rows.push_back({std::strtod(fields[0].c_str(), nullptr), std::strtod(fields[1].c_str(), nullptr),
                    fields[2].empty() ? std::nan("") : std::strtod(fields[2].c_str(), nullptr), fields[3]});
  }
  return rows;
}

}  // namespace

class StatisticsTest : public QObject {
  Q_OBJECT
 private slots:
  void meanAndSampleStd();
  void pearsonHandComputed();
  void pearsonUndefinedOrMismatched();
  void linearFitSlopeAndIntercept();
  void perplexityAndDeadCodes();
  void movingAverageIsBiasCorrected();
  void histogramCountsEdges();
  void trainingCurvesKeepRawAndSmooth();
  void accuracyScatterFitsAndCorrelates();
  void histogramBuilderSharesBinsAndNormalises();
  void codebookUsageReportsPerplexity();
  void fineTuningCurvesMeanAndStd();
  void csvHoldsExactNumbers();
  void inconsistentSpecIsRejected();
};

void StatisticsTest::meanAndSampleStd() {
  QVERIFY(near(igpg::stats::mean({2, 4, 4, 4, 5, 5, 7, 9}), 5.0));
  // Sum of squared deviations 32 over n - 1 = 7.
  QVERIFY(near(igpg::stats::standardDeviation({2, 4, 4, 4, 5, 5, 7, 9}), std::sqrt(32.0 / 7.0)));
  QCOMPARE(igpg::stats::standardDeviation({3.5}), 0.0);
  QVERIFY(near(igpg::stats::standardError({2, 4, 4, 4, 5, 5, 7, 9}, 5), std::sqrt(32.0 / 7.0 / 5.0)));
  QCOMPARE(igpg::stats::standardError({3.5}, 5), 0.0);
  QVERIFY(std::isnan(igpg::stats::standardError({1, 2}, 0)));
  QVERIFY(std::isnan(igpg::stats::mean({})));
}

void StatisticsTest::pearsonHandComputed() {
  // dx = -2..2, dy = (-2, 0, 1, 0, 1): Sxy = 6, Sxx = 10, Syy = 6, r = 6 / sqrt(60).
  const std::vector<double> x{1, 2, 3, 4, 5}, y{2, 4, 5, 4, 5};
  QVERIFY(near(igpg::stats::pearson(x, y), 6.0 / std::sqrt(60.0)));
  QVERIFY(near(igpg::stats::pearson(x, {10, 8, 6, 4, 2}), -1.0));
  // Far from zero with a tiny spread, where one-pass sums lose every digit.
  const std::vector<double> bx{1e9 + 1, 1e9 + 2, 1e9 + 3, 1e9 + 4, 1e9 + 5};
  QVERIFY(near(igpg::stats::pearson(bx, y), 6.0 / std::sqrt(60.0), 1e-9));
}

void StatisticsTest::pearsonUndefinedOrMismatched() {
  QVERIFY(std::isnan(igpg::stats::pearson({1, 2, 3}, {4, 4, 4})));
  QVERIFY(std::isnan(igpg::stats::pearson({1}, {2})));
  QVERIFY_THROWS_EXCEPTION(igpg::Error, igpg::stats::pearson({1, 2, 3}, {1, 2}));
}

void StatisticsTest::linearFitSlopeAndIntercept() {
  // Same data: slope = Sxy / Sxx = 0.6, intercept = 4 - 0.6 * 3 = 2.2.
  const auto fit = igpg::stats::linearFit({1, 2, 3, 4, 5}, {2, 4, 5, 4, 5});
  QVERIFY(near(fit.slope, 0.6));
  QVERIFY(near(fit.intercept, 2.2));
  QVERIFY(near(fit.r, 6.0 / std::sqrt(60.0)));
  QCOMPARE(fit.count, size_t(5));
  const auto exact = igpg::stats::linearFit({0, 1, 2, 3}, {-1, 1, 3, 5});
  QVERIFY(near(exact.slope, 2.0));
  QVERIFY(near(exact.intercept, -1.0));
  QVERIFY_THROWS_EXCEPTION(igpg::Error, igpg::stats::linearFit({2, 2, 2}, {1, 2, 3}));
  QVERIFY_THROWS_EXCEPTION(igpg::Error, igpg::stats::linearFit({1}, {1}));
}

void StatisticsTest::perplexityAndDeadCodes() {
  QVERIFY(near(igpg::stats::perplexity(std::vector<double>(512, 7.0)), 512.0, 1e-9));
  QVERIFY(near(igpg::stats::perplexity({0, 0, 40, 0}), 1.0));
  QCOMPARE(igpg::stats::deadCodes({0, 0, 40, 0}), size_t(3));
  // p = (1/4, 1/4, 1/2): H = 1.5 ln 2, exp(H) = 2 sqrt 2.
  QVERIFY(near(igpg::stats::perplexity({1, 1, 2, 0}), 2.0 * std::sqrt(2.0)));
  QCOMPARE(igpg::stats::deadCodes({1, 1, 2, 0}), size_t(1));
  QVERIFY(std::isnan(igpg::stats::perplexity({0, 0})));
  QVERIFY_THROWS_EXCEPTION(igpg::Error, igpg::stats::perplexity({1, -1}));
}

void StatisticsTest::movingAverageIsBiasCorrected() {
  // Weight 0.5: weights (1), (0.5, 1), (0.25, 0.5, 1) normalised.
  const auto s = igpg::stats::exponentialMovingAverage({1, 2, 3}, 0.5);
  QCOMPARE(s.size(), size_t(3));
  QVERIFY(near(s[0], 1.0));
  QVERIFY(near(s[1], 2.5 / 1.5));
  QVERIFY(near(s[2], 4.25 / 1.75));
  QVERIFY(igpg::stats::exponentialMovingAverage({1, 5, 2}, 0.0) == std::vector<double>({1, 5, 2}));
  // A NaN step stays visible and does not poison what follows.
  const auto gap = igpg::stats::exponentialMovingAverage({1, std::nan(""), 3}, 0.5);
  QVERIFY(std::isnan(gap[1]));
  QVERIFY(near(gap[2], (0.5 * 1 + 3) / 1.5));
  QVERIFY_THROWS_EXCEPTION(igpg::Error, igpg::stats::exponentialMovingAverage({1, 2}, 1.0));
}

void StatisticsTest::histogramCountsEdges() {
  const igpg::stats::HistogramBins bins{0.0, 1.0, 2};
  const auto h = igpg::stats::histogramCounts({0.0f, 0.1f, 0.5f, 0.99f, 1.0f, 1.5f, NAN}, bins);
  QVERIFY(h.counts == std::vector<double>({2, 3}));  // 0.5 opens the second bin, 1.0 closes it
  QCOMPARE(h.outside, size_t(1));
  QCOMPARE(h.nonFinite, size_t(1));
  const std::vector<float> a{-2.0f, 0.0f}, b{1.0f, 3.0f, INFINITY};
  const auto common = igpg::stats::commonBins({&a, &b}, 5);
  QCOMPARE(common.lo, -2.0);
  QCOMPARE(common.hi, 3.0);
  QCOMPARE(common.width(), 1.0);
  const std::vector<float> constant{0.25f, 0.25f};
  const auto widened = igpg::stats::commonBins({&constant}, 3);
  QVERIFY(widened.lo < 0.25 && widened.hi > 0.25);
}

void StatisticsTest::trainingCurvesKeepRawAndSmooth() {
  const igpg::CurveData loss{"train loss", {0, 1, 2}, {1, 2, 3}};
  igpg::PlotSpec spec = igpg::trainingCurves("VQ-VAE", "Step", "Loss", {loss}, 0.5);
  QCOMPARE(spec.series.size(), size_t(2));
  const igpg::PlotSeries& raw = spec.series[0];
  const igpg::PlotSeries& smooth = spec.series[1];
  QVERIFY(raw.faded && raw.y == loss.y && raw.x == loss.x);
  QCOMPARE(smooth.smoothedFrom, 0);
  QCOMPARE(smooth.color, raw.color);
  QVERIFY(smooth.y == igpg::stats::exponentialMovingAverage(loss.y, 0.5));
  igpg::setSmoothing(spec, 0.0);
  QVERIFY(spec.series[1].y == loss.y);
  QVERIFY(spec.series[0].y == loss.y);
  QCOMPARE(spec.smoothing, 0.0);
}

void StatisticsTest::accuracyScatterFitsAndCorrelates() {
  const std::vector<double> pre{1, 2, 3, 4, 5}, gen{2, 4, 5, 4, 5};
  const auto spec = igpg::accuracyScatter("CIFAR-10", pre, gen, {"a", "b", "c", "d", "e"});
  QVERIFY(near(metric(spec, "pearson_r"), 6.0 / std::sqrt(60.0)));
  QVERIFY(near(metric(spec, "fit_slope"), 0.6));
  QVERIFY(near(metric(spec, "fit_intercept"), 2.2));
  QCOMPARE(spec.lines.size(), size_t(2));
  QVERIFY(spec.lines[0].slope == 1 && spec.lines[0].intercept == 0);
  QVERIFY(near(spec.lines[1].slope, 0.6) && near(spec.lines[1].intercept, 2.2));
  QVERIFY(contains(spec.annotations.at(0), "Pearson r = 0.7746 (n = 5)"));
  QVERIFY(spec.series.at(0).pointLabels.at(2) == "c");
  // Constant pretrained accuracies: no fit, but a plot that says why.
  const auto flat = igpg::accuracyScatter("flat", {0.5, 0.5}, {0.4, 0.6}, {});
  QCOMPARE(flat.lines.size(), size_t(1));
  QVERIFY(std::isnan(metric(flat, "pearson_r")));
  QVERIFY_THROWS_EXCEPTION(igpg::Error, igpg::accuracyScatter("bad", {1, 2}, {1}, {}));
}

void StatisticsTest::histogramBuilderSharesBinsAndNormalises() {
  std::vector<float> pretrained, generated;
  for (int i = 0; i < 1000; ++i) pretrained.push_back(float(i % 100) / 100.0f);
  for (int i = 0; i < 10; ++i) generated.push_back(0.5f + float(i) / 100.0f);
  generated.push_back(NAN);
  const auto spec = igpg::histogram("conv1.weight", "Value", {{"pretrained", pretrained}, {"generated", generated}},
                                    igpg::HistogramOptions{20, true});
  QCOMPARE(spec.series.size(), size_t(2));
  QVERIFY(spec.series[0].x == spec.series[1].x);  // common bins
  QCOMPARE(spec.series[0].x.size(), size_t(20));
  QVERIFY(near(spec.barWidth, 0.99 / 20, 1e-7));
  for (const auto& s : spec.series) {
    double area = 0;
    for (double y : s.y) area += y * spec.barWidth;
    QVERIFY(near(area, 1.0, 1e-9));
  }
  QCOMPARE(metric(spec, "generated non-finite"), 1.0);
  QCOMPARE(metric(spec, "generated values"), 10.0);
  const auto counts = igpg::histogram("c", "Value", {{"pretrained", pretrained}}, igpg::HistogramOptions{20, false});
  double total = 0;
  for (double y : counts.series[0].y) total += y;
  QCOMPARE(total, 1000.0);
  QCOMPARE(counts.yLabel, std::string("Count"));
  // An explicit range: values beyond it are counted and named, not binned.
  igpg::HistogramOptions clipped{4, false, std::make_pair(0.0, 0.5)};
  const auto inner = igpg::histogram("c", "Value", {{"pretrained", pretrained}}, clipped);
  QVERIFY(near(inner.barWidth, 0.125));
  total = 0;
  for (double y : inner.series[0].y) total += y;
  QCOMPARE(total, 510.0);  // 0.00 .. 0.50 of each hundred
  QCOMPARE(metric(inner, "pretrained outside range"), 490.0);
  QVERIFY(contains(inner.annotations.at(0), "pretrained: 490 values outside [0, 0.5] not shown"));
  clipped.range = std::make_pair(1.0, 1.0);
  QVERIFY_THROWS_EXCEPTION(igpg::Error, igpg::histogram("c", "Value", {{"pretrained", pretrained}}, clipped));
}

void StatisticsTest::codebookUsageReportsPerplexity() {
  const auto spec = igpg::codebookUsage("Codebook", {1, 1, 2, 0, 0});
  QVERIFY(near(metric(spec, "perplexity"), 2.0 * std::sqrt(2.0)));
  QCOMPARE(metric(spec, "dead_codes"), 2.0);
  QCOMPARE(metric(spec, "tokens"), 4.0);
  QVERIFY(spec.series.at(0).y == std::vector<double>({0.25, 0.25, 0.5, 0, 0}));
  QVERIFY(spec.series.at(0).x == std::vector<double>({0, 1, 2, 3, 4}));
  QVERIFY(contains(spec.annotations.at(0), "perplexity 2.8 of 5 codes, dead codes 2 (40.0%)"));
}

void StatisticsTest::fineTuningCurvesMeanAndStd() {
  const auto spec = igpg::fineTuningCurves("CIFAR-10", "Accuracy", {1, 2, 3},
                                           {{"IGPG", {{1, 2, 3}, {3, 4, 5}}}, {"random init", {{0, 0, 0}}}});
  QCOMPARE(spec.series.size(), size_t(2));
  QVERIFY(spec.series[0].y == std::vector<double>({2, 3, 4}));
  for (double e : spec.series[0].yError) QVERIFY(near(e, std::sqrt(2.0)));
  QVERIFY(spec.series[1].yError == std::vector<double>({0, 0, 0}));
  QCOMPARE(metric(spec, "IGPG final mean"), 4.0);
  // The mean is given to the decimal place of the two significant digits of its std.
  QCOMPARE(spec.annotations.at(0), std::string("IGPG: 4.0 \xC2\xB1 1.4 at epoch 3 (2 runs)"));
  QVERIFY_THROWS_EXCEPTION(igpg::Error, igpg::fineTuningCurves("t", "y", {1, 2}, {{"short", {{1}}}}));
  QVERIFY_THROWS_EXCEPTION(igpg::Error, igpg::fineTuningCurves("t", "y", {1}, {{"none", {}}}));
}

void StatisticsTest::csvHoldsExactNumbers() {
  igpg::PlotSpec spec;
  spec.title = "exact";
  igpg::PlotSeries s;
  s.name = "a, \"quoted\" name";
  s.x = {0.1, 1.0 / 3.0, 1e-300};
  s.y = {2.0 / 3.0, -0.0, 123456789.123456789};
  s.yError = {0.01, 0.02, 0.03};
  spec.series.push_back(s);
  spec.metrics.push_back({"pearson_r", 0.99912345678901234});
  spec.lines.push_back({"y = x", 1, 0, true, -1});
  const std::string csv = igpg::plotSpecToCsv(spec);
  // Shortest round-trip text, as Python's repr(0.99912345678901234).
  QVERIFY(contains(csv, "# metric pearson_r: 0.9991234567890124\n"));
  QVERIFY(contains(csv, "# line y = x: slope 1, intercept 0\n"));
  QVERIFY(contains(csv, "series,x,y,y_error,label\n"));
  // The quoted name holds a comma, so parse the rows after it by hand.
  const auto rows = csvRows(csv, "\"a, \"\"quoted\"\" name\"");
  QCOMPARE(rows.size(), size_t(3));
  for (size_t i = 0; i < 3; ++i) {
    QVERIFY(rows[i].x == s.x[i]);
    QVERIFY(rows[i].y == s.y[i]);
    QVERIFY(rows[i].error == s.yError[i]);
  }
  // Derived numbers of a builder reach the CSV unrounded.
  const auto scatter = igpg::accuracyScatter("s", {0.91, 0.93, 0.95}, {0.905, 0.931, 0.948}, {"m1", "m2", "m3"});
  const std::string scatterCsv = igpg::plotSpecToCsv(scatter);
  const double r = igpg::stats::pearson({0.91, 0.93, 0.95}, {0.905, 0.931, 0.948});
  const auto line = scatterCsv.substr(scatterCsv.find("# metric pearson_r: ") + 20);
  QVERIFY(std::strtod(line.c_str(), nullptr) == r);
  QVERIFY(contains(scatterCsv, "models,0.93,0.931,,m2\n"));
}

void StatisticsTest::inconsistentSpecIsRejected() {
  igpg::PlotSpec spec;
  spec.title = "broken";
  igpg::PlotSeries s;
  s.name = "curve";
  s.x = {1, 2, 3};
  s.y = {1, 2};
  spec.series.push_back(s);
  try {
    igpg::validatePlotSpec(spec);
    QFAIL("no throw");
  } catch (const igpg::Error& e) {
    QVERIFY(e.kind() == igpg::ErrorKind::Mismatch);
    QVERIFY(contains(e.where(), "series 'curve'"));
  }
  spec.series[0].y = {1, 2, 3};
  spec.series[0].smoothedFrom = 0;  // itself
  QVERIFY_THROWS_EXCEPTION(igpg::Error, igpg::validatePlotSpec(spec));
  spec.series[0].smoothedFrom = -1;
  spec.series[0].style = igpg::SeriesStyle::Bars;  // without a bar width
  QVERIFY_THROWS_EXCEPTION(igpg::Error, igpg::validatePlotSpec(spec));
}

IGPG_TEST_MAIN(StatisticsTest)
#include "test_statistics.moc"
