// A plot as plain data. The builders below turn results (training logs, accuracies,
// weights, codebook counts) into a PlotSpec and compute every derived number themselves
// (fits, correlations, perplexity, smoothing); the studio draws a PlotSpec in a widget
// and the report writer hands it to a PlotRenderer for a PNG and to plotSpecToCsv for
// the numbers, so a figure and its CSV can never disagree. No Qt here: the report is
// written by builds without the GUI too, which keep the CSV and skip the picture.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace igpg {

enum class PlotKind { Curves, Scatter, Histogram, Bars };

enum class SeriesStyle {
  Line,        // connected points, no markers (per-step training curves)
  LinePoints,  // connected markers (per-epoch values)
  Points,      // markers only (one point per model)
  Bars,        // one bar per x, `PlotSpec::barWidth` wide
  Step,        // histogram outline centred on x with a light fill, so several overlay
};

struct PlotSeries {
  std::string name;
  std::vector<double> x;
  std::vector<double> y;
  std::vector<double> yError;            // empty, or a symmetric error bar (e.g. std) per point
  std::vector<std::string> pointLabels;  // empty, or one per point (model names shown on hover)
  SeriesStyle style = SeriesStyle::Line;
  int color = -1;         // palette slot; -1 uses the series' index. A raw curve shares its smoothed curve's slot
  bool faded = false;     // drawn light and behind the others: the raw curve under its smoothed version
  bool inLegend = true;
  int smoothedFrom = -1;  // index of the series whose moving average this one is, see setSmoothing
};

// y = slope * x + intercept across the whole x range (y = x, a fitted regression line).
struct ReferenceLine {
  std::string label;
  double slope = 1;
  double intercept = 0;
  bool dashed = true;
  int color = -1;  // palette slot; -1 draws it in neutral grey
};

// A derived number with a machine-readable name ("pearson_r"), kept exact for the CSV;
// the annotations carry the same numbers rounded for a reader.
struct PlotMetric {
  std::string name;
  double value = 0;
};

struct PlotSpec {
  PlotKind kind = PlotKind::Curves;
  std::string title;
  std::string xLabel;
  std::string yLabel;
  bool logY = false;
  bool sameRangeXY = false;  // x and y share one range so that y = x is the diagonal
  double smoothing = 0;      // moving-average weight of the series with smoothedFrom >= 0
  double barWidth = 0;       // in x units, for Bars and Step series
  std::vector<PlotSeries> series;
  std::vector<ReferenceLine> lines;
  std::vector<PlotMetric> metrics;
  std::vector<std::string> annotations;  // e.g. "Pearson r = 0.9991"
};

// Throws Error(Mismatch) or Error(Config) naming the series or field that is
// inconsistent (lengths, smoothing source, weight range). Renderers call it first.
void validatePlotSpec(const PlotSpec& spec);

// True when some series is the smoothed version of another.
bool hasSmoothedSeries(const PlotSpec& spec);

// Recomputes every smoothed series from its raw source with stats::exponentialMovingAverage
// and records the weight; the raw series are untouched. The studio's smoothing slider and
// trainingCurves share it. Throws Error(Config) for a weight outside [0, 1).
void setSmoothing(PlotSpec& spec, double weight);

// Every number of the plot as one CSV: '#' header lines with the title, axes, metrics,
// reference lines and annotations (pandas: read_csv(path, comment='#')), then one row per
// point: series,x,y,y_error,label. Numbers are written with the fewest digits that read
// back to the same double.
std::string plotSpecToCsv(const PlotSpec& spec);

// Draws a spec into a PNG of the given pixel size, atomically. Supplied by the GUI
// build (ui/plots/plot_render.h); the report writer gets an empty one without it.
using PlotRenderer =
    std::function<void(const PlotSpec& spec, const std::string& pngPath, int width, int height)>;

// ---- Builders for the project's figures ----

struct CurveData {
  std::string name;
  std::vector<double> x;
  std::vector<double> y;
};

// Training curves (loss, accuracy per step). Each curve is kept raw (faded) and drawn
// again smoothed on top with the given moving-average weight.
PlotSpec trainingCurves(const std::string& title, const std::string& xLabel, const std::string& yLabel,
                        const std::vector<CurveData>& curves, double smoothing = 0.6);

// Accuracy of generated weights against the pretrained weights they stand for, one point
// per model (labels: model names). Adds y = x, the least-squares line and Pearson r.
PlotSpec accuracyScatter(const std::string& title, const std::vector<double>& pretrained,
                         const std::vector<double>& generated, const std::vector<std::string>& labels);

struct ValueSet {
  std::string name;
  std::vector<float> values;
};
struct HistogramOptions {
  int bins = 60;
  bool density = true;  // normalise each series to unit area so sets of different sizes compare
  // Common range of the bins; by default every finite value of every set. A narrower one
  // keeps a few outliers from squeezing the bulk; the values left out are counted in a note.
  std::optional<std::pair<double, double>> range;
};
// Overlaid distributions (one layer's parameters: pretrained vs generated, or several
// models) on bins common to every set.
PlotSpec histogram(const std::string& title, const std::string& xLabel, const std::vector<ValueSet>& sets,
                   const HistogramOptions& options = {});

// Share of tokens per code of a codebook, with perplexity and the number of dead codes.
PlotSpec codebookUsage(const std::string& title, const std::vector<double>& counts);

// Repeated runs (one per seed) of each method, e.g. fine-tuning from generated weights vs
// from random initialisation: mean per epoch with +- one standard deviation.
struct RepeatedRuns {
  std::string name;
  std::vector<std::vector<double>> runs;  // runs[seed][epoch]
};
PlotSpec fineTuningCurves(const std::string& title, const std::string& yLabel, const std::vector<double>& epochs,
                          const std::vector<RepeatedRuns>& methods);

}  // namespace igpg
